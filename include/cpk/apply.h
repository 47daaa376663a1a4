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

#ifdef __cplusplus
}
#endif
#endif
