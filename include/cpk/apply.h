/*
 * Applying a role: the rendered files of a node, installed under a root
 * directory (/ on a real node, a scratch directory in tests).
 *
 * Lifecycle:
 *   1. struct cpk_apply_plan p = CPK_APPLY_PLAN_INIT;
 *   2. cpk_apply_plan(model, role, node, root, &opts, &p) renders the role's
 *      files, gives each its target path, owner and mode, and compares it
 *      with what is under ROOT: p.items[0..n) each UNCHANGED, NEW, CHANGED
 *      (apply wrote it before: the manifest has its sha256) or FOREIGN (a
 *      file apply did not write, or one edited since: backed up first).
 *      Nothing is written.  A symlink or non-directory where a directory
 *      of a target path should be, or a symlink or non-regular file at a
 *      target, is refused here (CPK_ERR_PERM / CPK_ERR_INVALID).
 *   3. cpk_apply_diff(&p, &buf) appends a unified diff of every change
 *      (secrets are named, never shown) for --dry-run.
 *   4. cpk_apply_install(&p) writes every item that is not UNCHANGED,
 *      each atomically, then the manifest; item->backup tells where a
 *      FOREIGN file went.  On failure it stops at once: every file is
 *      whole (old or new), the items written so far are recorded.
 *   5. cpk_apply_plan_release(&p).
 *
 * Target paths (Debian):
 *   slurm.conf gres.conf cgroup.conf plugstack.conf   slurm.config_dir/ 0644
 *   /etc/hosts (the whole file: loopback lines + the cluster)       0644
 *   /etc/exports (the filesystems the node serves)                  0644
 *   /etc/clusterpack/fstab (the NFS lines to mount; /etc/fstab itself is
 *                           not rewritten)                          0644
 *   /etc/sssd/sssd.conf (dir 0711)                                  0600
 *   /etc/ldap/ldap.conf                                             0644
 *   /etc/ssh/sshd_config.d/clusterpack.conf (keys from sssd, PAM)   0644
 *   /etc/nsswitch.conf (the node's, with `sss` added to passwd,
 *                       group and shadow; Debian's when missing)    0644
 *   munge.key (compute, when opts.munge_key_data is given)    0400 munge
 * and, for the control role when the description has an ldap section, the
 * LDAP server (docs/internals/apply.md "The control role's slapd"):
 *   /etc/default/slapd, /etc/ldap/slapd.conf,
 *   /etc/ldap/schema/openssh-lpk.schema                             0644
 *   /etc/ldap/slapd-rootpw.conf (secret: the rootpw hash)   0640 :openldap
 *   ldap.bind_password_file (kept, or generated: note)       0600 secret
 *   ldap.tls_cert (default /etc/ldap/tls/slapd.crt)                 0644
 *   ldap.tls_key (default .../slapd.key; generated with the
 *                 certificate when neither is named nor there) 0600 openldap
 *   /var/lib/ldap, a directory made 0700 openldap when missing
 *   (plan.ldap_db_missing; counted in n_changes)
 * All owned by root (when apply runs as root), directories created 0755
 * unless said.  The manifest is ROOT/var/lib/clusterpack/apply.manifest:
 * one line per file apply wrote, "SHA256 PATH".
 *
 * Everything under ROOT is treated as hostile: directories are reached a
 * component at a time from an fd of ROOT with O_NOFOLLOW, so no symlink in
 * a path is followed and nothing outside ROOT is touched.
 */
#ifndef CPK_APPLY_H
#define CPK_APPLY_H

#include <stddef.h>
#include <sys/types.h>
#include "error.h"
#include "buf.h"
#include "model.h"
#include "render.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cpk_apply_state {
	CPK_APPLY_UNCHANGED,	/* same bytes, mode and owner */
	CPK_APPLY_NEW,		/* not there */
	CPK_APPLY_CHANGED,	/* written by apply before, differs now */
	CPK_APPLY_FOREIGN,	/* there, not apply's: backed up, then replaced */
};

struct cpk_apply_item {
	char *path;		/* absolute inside ROOT, e.g. "/etc/slurm/slurm.conf" */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	mode_t dir_mode;	/* for its directory if it is created */
	int secret;		/* never shown in a diff */
	struct cpk_buf data;	/* the new content */
	enum cpk_apply_state state;
	int meta_only;		/* content equal, mode or owner differ */
	struct cpk_buf old;	/* the content found (for the diff) */
	char *backup;		/* after install: "PATH.cpk-orig" if made now */
	int backup_kept;	/* FOREIGN, but a .cpk-orig was already there */
	int written;		/* after install: this run wrote it */
	const char *note;	/* static; made here (a generated secret or
				 * certificate): say so loudly; the diff of a
				 * NEW one shows this instead of the content */
};

struct cpk_apply_opts {
	/* compute: the munge key to install (borrowed, wiped by nobody
	 * here: the caller owns it); NULL: leave the key alone */
	const unsigned char *munge_key_data;
	size_t munge_key_len;
};

struct cpk_apply_plan {
	char *root;		/* as given */
	int rootfd;		/* O_DIRECTORY fd of ROOT */
	enum cpk_role role;
	struct cpk_apply_item *items;
	size_t n;
	size_t n_changes;	/* items not UNCHANGED */
	char *munge_key;	/* the description's key path (inside ROOT) */
	uid_t munge_uid;	/* the munge user of ROOT's /etc/passwd, else 0 */
	gid_t munge_gid;
	struct cpk_buf manifest;	/* the manifest read (lines) */
	uid_t ldap_uid;		/* the openldap user of ROOT, else as munge_uid */
	gid_t ldap_gid;
	int ldap_db_missing;	/* control: /var/lib/ldap is to be made */
	int pam_sss_missing;	/* with ldap: ROOT's /etc/pam.d/common-account
				 * has no pam_sss (libpam-sss not set up):
				 * sshd would not refuse a locked account */
};
#define CPK_APPLY_PLAN_INIT { NULL, -1, CPK_ROLE_CONTROL, NULL, 0, 0, NULL, 0, 0, CPK_BUF_INIT, 0, 0, 0, 0 }

/* See the lifecycle above.  OPTS may be NULL.  On failure P is released. */
cpk_err_t cpk_apply_plan(const struct cpk_model *m, enum cpk_role role,
			 const char *node, const char *root,
			 const struct cpk_apply_opts *opts,
			 struct cpk_apply_plan *p);
cpk_err_t cpk_apply_diff(const struct cpk_apply_plan *p, struct cpk_buf *out);
cpk_err_t cpk_apply_install(struct cpk_apply_plan *p);
void cpk_apply_plan_release(struct cpk_apply_plan *p);

/*
 * The control role's munge key: created under ROOT (0400, owned by ROOT's
 * munge user if it has one, else root) unless a key is there.  *CREATED
 * says which.  The key's directory is reached like every target.
 */
cpk_err_t cpk_apply_munge_key(struct cpk_apply_plan *p, int *created);
/* Whether the munge key is present under ROOT (1), absent (0). */
cpk_err_t cpk_apply_munge_key_present(const struct cpk_apply_plan *p, int *present);

/* The item of P whose target is PATH (borrowed from P), or NULL. */
const struct cpk_apply_item *cpk_apply_find(const struct cpk_apply_plan *p, const char *path);

/* "new", "changed", "unchanged", "foreign". Static. */
const char *cpk_apply_state_name(enum cpk_apply_state s);

/* The Debian packages ROLE needs: a static, NULL-terminated list. */
const char *const *cpk_apply_packages(enum cpk_role role);

/*
 * The services of ROLE, in start order, with whether a file of the plan
 * that the service reads changes (it must then be restarted or reloaded).
 * A static, NULL-terminated list of names; CHANGED[i] for names[i] is set
 * into CHANGED (at least CPK_APPLY_MAX_SERVICES entries).
 */
#define CPK_APPLY_MAX_SERVICES 8
const char *const *cpk_apply_services(const struct cpk_apply_plan *p,
				      int changed[CPK_APPLY_MAX_SERVICES]);

/* ---- beyond files: packages, services, the LDAP tree (system.c) -------
 *
 * The order of a run (docs/internals/apply.md "Packages, services"):
 *   1. cpk_apply_packages_check(): which of the role's packages ROOT's
 *      dpkg status lists as installed.  Nothing is run.
 *   2. On the live system (cpk_apply_is_live(ROOT)) and not a dry run:
 *      cpk_apply_packages_install() (debconf preseed, apt-get install).
 *      Packages come before files: their postinst scripts create the users
 *      files are owned by (munge, openldap, www-data) and may write files
 *      apply owns (slapd ships /etc/default/slapd): the plan is made after
 *      them, so such a file is "foreign", backed up once and replaced.
 *   3. The plan and its install (above).
 *   4. cpk_apply_services_list(), then, when systemd runs the live system
 *      (cpk_apply_systemd_runs), cpk_apply_services_query() and
 *      cpk_apply_services_run().
 *   5. Control role with an ldap section, slapd (re)started in step 4:
 *      cpk_apply_ldap_tree() (what `cpk ldap init` does, idempotent).
 */

#define CPK_APPLY_MAX_PACKAGES 16

struct cpk_apply_pkgs {
	const char *names[CPK_APPLY_MAX_PACKAGES];	/* static strings */
	int installed[CPK_APPLY_MAX_PACKAGES];
	size_t n;
	size_t n_missing;
	int no_status;		/* ROOT has no /var/lib/dpkg/status */
};

/*
 * The packages of ROLE for the description M (NULL: the role's base list,
 * as cpk_apply_packages): the control role adds ldap-account-manager when
 * M names ldap.lam_profile.  Fills NAMES (static strings); returns n.
 */
size_t cpk_apply_role_packages(const struct cpk_model *m, enum cpk_role role,
			       const char *names[CPK_APPLY_MAX_PACKAGES]);

/*
 * Parses the dpkg status file text BUF[0..LEN) (hostile: need not end in
 * a newline, may hold NULs, broken stanzas, huge lines) and sets
 * INSTALLED[i] to 1 for each NAMES[i] (of N) that a stanza lists with
 * "Package: NAME" and "Status: WANT ok installed" (half-installed,
 * unpacked, config-files, reinstreq... are not installed), else 0.  A
 * stanza with a repeated Package or Status field is ignored.
 */
void cpk_apply_dpkg_installed(const char *buf, size_t len, const char *const *names,
			      size_t n, int *installed);

/*
 * Which packages of ROLE (for M, as cpk_apply_role_packages) ROOT has
 * installed, from ROOT/var/lib/dpkg/status (reached like every target; at
 * most 16 MiB).  No status file: none installed, OUT->no_status set.
 */
cpk_err_t cpk_apply_packages_check(const struct cpk_model *m, enum cpk_role role,
				   const char *root, struct cpk_apply_pkgs *out);

/*
 * Installs the missing packages of PK on the live system: refused
 * (CPK_ERR_INVALID) unless ROOT is the live "/".  When slapd is among them,
 * debconf is preseeded first ("slapd slapd/no_configuration boolean true":
 * the package then makes no dc=nodomain database of its own).  Runs
 * /usr/bin/apt-get install -y --no-install-recommends, keeping existing
 * conffiles (--force-confdef --force-confold: a file apply wrote stays),
 * with DEBIAN_FRONTEND=noninteractive, an empty stdin, no shell.  A
 * failure is CPK_ERR_IO with the command's last lines of output.
 */
cpk_err_t cpk_apply_packages_install(const struct cpk_apply_pkgs *pk, const char *root);

/* 1 if ROOT is the running system's "/" (same device and inode), else 0. */
int cpk_apply_is_live(const char *root);
/* 1 if ROOT is live and systemd runs it (/run/systemd/system is a directory). */
int cpk_apply_systemd_runs(const char *root);

enum cpk_apply_svc_action {
	CPK_APPLY_SVC_NONE,	/* running, none of its files changed */
	CPK_APPLY_SVC_START,	/* not running: start it */
	CPK_APPLY_SVC_RESTART,	/* running, its files changed */
	CPK_APPLY_SVC_RELOAD,	/* running, its files changed, it rereads them on reload */
};

struct cpk_apply_svc {
	const char *name;	/* static: the systemd unit without ".service" */
	int changed;		/* a file of the plan it reads changes */
	int reload;		/* the daemon rereads its files on reload */
	int active, enabled;	/* after query: systemctl is-active / is-enabled */
	int enable;		/* after query: to be enabled */
	enum cpk_apply_svc_action action;
	int done;		/* after run: the action (and enable) was done */
};

/* the role's services and a mount unit per NFS filesystem mounted */
#define CPK_APPLY_MAX_UNITS (CPK_APPLY_MAX_SERVICES + 24)

struct cpk_apply_svcs {
	struct cpk_apply_svc v[CPK_APPLY_MAX_UNITS];
	size_t n;
	int daemon_reload;	/* a file under /etc/systemd changes: run
				 * `systemctl daemon-reload` before the rest */
};

/* The plan P's units in start order: first the mount units of the NFS
 * filesystems the host mounts (NAME.mount: reloaded, i.e. remounted, when
 * changed; a name borrowed from P), then the role's services, with
 * changed/reload (as cpk_apply_services); active/enabled 0, action START
 * for all.  More than CPK_APPLY_MAX_UNITS: CPK_ERR_INVALID. */
cpk_err_t cpk_apply_services_list(const struct cpk_apply_plan *p, struct cpk_apply_svcs *s);

/* What to do with a service: not ACTIVE: START; active and CHANGED:
 * RELOAD when it RELOADs, else RESTART; else NONE. */
enum cpk_apply_svc_action cpk_apply_svc_decide(int active, int changed, int reload);

/* "start", "restart", "reload", "none".  Static. */
const char *cpk_apply_svc_action_name(enum cpk_apply_svc_action a);

/* Sets S's active/enabled from `systemctl is-active/is-enabled` (read only)
 * and decides each action; enable when not enabled.  Needs a live root
 * run by systemd (CPK_ERR_INVALID otherwise). */
cpk_err_t cpk_apply_services_query(const char *root, struct cpk_apply_svcs *s);

/* Does S's actions in order (systemctl daemon-reload first when
 * S->daemon_reload, then enable, start, restart, reload per service),
 * setting each done; stops at the first failure: CPK_ERR_IO naming the
 * service, with systemctl's output. */
cpk_err_t cpk_apply_services_run(const char *root, struct cpk_apply_svcs *s);

/*
 * The account tree of `cpk ldap init` (cpk_ldap_create_tree) on M's
 * directory, through M's ldap settings: connection attempts are retried
 * for up to WAIT_MS (a slapd just started may not answer yet).  Lines
 * "created DN" are appended to REPORT (empty: the tree was complete).
 */
cpk_err_t cpk_apply_ldap_tree(const struct cpk_model *m, unsigned wait_ms, struct cpk_buf *report);

#ifdef __cplusplus
}
#endif
#endif
