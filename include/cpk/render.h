/*
 * Rendering: the files each node role needs, from a valid model.
 *
 * Lifecycle:
 *   1. struct cpk_fileset fs = CPK_FILESET_INIT;
 *   2. cpk_render(model, CPK_ROLE_CONTROL, NULL, &fs)  -> fs.files[0..n)
 *      (names like "slurm.conf", contents and modes, in a fixed order);
 *   3. cpk_fileset_write(&fs, "/etc/slurm-out") writes each atomically;
 *   4. cpk_fileset_release(&fs).
 * The same model always gives the same bytes.
 *
 * Which files:
 *   control: slurm.conf gres.conf cgroup.conf plugstack.conf hosts
 *            exports (filesystems it serves), fstab (those it mounts from
 *            other servers, if any), sssd.conf (0600), ldap.conf and
 *            sshd.conf (sshd's drop-in: keys from sssd; these three with
 *            an ldap section), lam.conf (0600, with ldap.lam_profile).
 *   compute: the same, for NODE (or any compute node if NODE is NULL):
 *            exports only if NODE serves a filesystem, fstab of the rest;
 *   both:    MOUNT.mount, a systemd mount unit for each filesystem the
 *            host mounts (named as systemd-escape --path names it);
 *            slurmd-dynamic.conf (slurmd's systemd drop-in: -Z and the
 *            node's --conf) when NODE is in a dynamic group.
 * slurm.conf lists static nodes only; each partition not on ALL has a
 * NodeSet cpk_NAME (Feature=cpk_NAME) that dynamic nodes join.
 */
#ifndef CPK_RENDER_H
#define CPK_RENDER_H

#include <sys/types.h>
#include "error.h"
#include "buf.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cpk_role { CPK_ROLE_CONTROL, CPK_ROLE_COMPUTE };

/* "control" / "compute" -> role; CPK_ERR_INVALID otherwise. */
cpk_err_t cpk_role_parse(const char *s, enum cpk_role *role);

struct cpk_file {
	char *name;		/* base name, e.g. "slurm.conf" */
	mode_t mode;
	struct cpk_buf data;
};

struct cpk_fileset {
	struct cpk_file *files;
	size_t n;
};
#define CPK_FILESET_INIT { NULL, 0 }

/*
 * Renders the files of ROLE.  NODE names the compute node (NULL: files that
 * suit every compute node; for the control role it must be NULL or the
 * control node's name).  Unknown NODE: CPK_ERR_NOTFOUND.
 */
cpk_err_t cpk_render(const struct cpk_model *m, enum cpk_role role,
		     const char *node, struct cpk_fileset *out);

/* Writes every file into DIR (created if missing), each atomically. */
cpk_err_t cpk_fileset_write(const struct cpk_fileset *fs, const char *dir);

/* The file NAME of FS, or NULL. */
const struct cpk_file *cpk_fileset_get(const struct cpk_fileset *fs,
				       const char *name);

void cpk_fileset_release(struct cpk_fileset *fs);

/* The single files, appended to OUT (for tests and special uses). */
void cpk_render_slurm_conf(const struct cpk_model *m, struct cpk_buf *out);
void cpk_render_gres_conf(const struct cpk_model *m, struct cpk_buf *out);
void cpk_render_cgroup_conf(const struct cpk_model *m, struct cpk_buf *out);
void cpk_render_plugstack_conf(const struct cpk_model *m, struct cpk_buf *out);
void cpk_render_hosts(const struct cpk_model *m, struct cpk_buf *out);
/* Filesystems served by / mounted on the host named HOST. */
void cpk_render_exports(const struct cpk_model *m, const char *host,
			struct cpk_buf *out);
void cpk_render_fstab(const struct cpk_model *m, const char *host,
		      struct cpk_buf *out);
void cpk_render_sssd_conf(const struct cpk_model *m, struct cpk_buf *out);
void cpk_render_ldap_conf(const struct cpk_model *m, struct cpk_buf *out);
void cpk_render_sshd_conf(const struct cpk_model *m, struct cpk_buf *out);
/* The systemd unit name of PATH with SUFFIX (".mount"), as
 * systemd-escape --path --suffix gives it, appended to OUT. */
void cpk_render_unit_name(const char *path, const char *suffix, struct cpk_buf *out);
/* FS's mount unit (What=SERVER:EXPORT, Where=, Type=, Options=, wanted by
 * remote-fs.target). */
void cpk_render_mount_unit(const struct cpk_model *m, const struct cpk_filesystem *fs,
			   struct cpk_buf *out);
/* NODE must be a node of a dynamic group. */
void cpk_render_slurmd_dynamic(const struct cpk_model *m, const char *node,
			       struct cpk_buf *out);
/* LDAP Account Manager's server profile (ldap.lam_profile; see lam.c). */
void cpk_render_lam_conf(const struct cpk_model *m, struct cpk_buf *out);

#ifdef __cplusplus
}
#endif
#endif
