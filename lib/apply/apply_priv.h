/* lib/apply private: reaching and writing files under a root fd safely. */
#ifndef CPK_APPLY_PRIV_H
#define CPK_APPLY_PRIV_H

#include <sys/stat.h>
#include "cpk/apply.h"
#include "internal.h"

#define APPLY_MAX_FILE ((size_t)16 << 20)	/* larger targets are refused */
#define APPLY_MANIFEST "/var/lib/clusterpack/apply.manifest"

/*
 * Splits the absolute PATH into its directory and base name, refusing
 * empty, "." and ".." components.  *DIR and *BASE are the caller's to free.
 */
CPK_INTERNAL cpk_err_t apply_split(const char *path, char **dir, char **base);

/*
 * Opens DIR (absolute, as inside the root) below ROOTFD one component at a
 * time with O_NOFOLLOW|O_DIRECTORY.  A missing component: with CREATE it is
 * made (MODE for the last, 0755 above it; owned UID:GID for the last), else
 * *FD is -1 and CPK_OK.  A symlink or non-directory: CPK_ERR_PERM.
 */
CPK_INTERNAL cpk_err_t apply_open_dir(int rootfd, const char *dir, int create,
				      mode_t mode, uid_t uid, gid_t gid, int *fd);

/*
 * Reads NAME in DFD (not following a symlink) into OUT with its stat in
 * *ST; *EXISTS 0 if there is none.  SHOWN names it in messages.  A symlink,
 * a non-regular file or one over APPLY_MAX_FILE is refused.
 */
CPK_INTERNAL cpk_err_t apply_read_at(int dfd, const char *name, const char *shown,
				     struct cpk_buf *out, struct stat *st, int *exists);

/* The lowercase hex SHA-256 of P[0..N). */
CPK_INTERNAL cpk_err_t apply_sha256(const void *p, size_t n, char hex[65]);

/* Reads PATH (absolute, as inside P's root) like apply_read_at, its
 * directory reached like apply_open_dir; a missing one: *EXISTS 0. */
CPK_INTERNAL cpk_err_t apply_read_root(const struct cpk_apply_plan *p, const char *path,
				       struct cpk_buf *out, int *exists);

/* Appends an item for DIR/BASE (root's, or the caller's when not root);
 * NULL when out of memory. */
CPK_INTERNAL struct cpk_apply_item *apply_add_item(struct cpk_apply_plan *p, const char *dir,
						   const char *base, mode_t mode, mode_t dir_mode);

/* The uid and gid of USER in ROOT/etc/passwd when run as root and USER is there;
 * else the caller's (root:root when root). */
CPK_INTERNAL cpk_err_t apply_passwd_user(const struct cpk_apply_plan *p, const char *user,
					 uid_t *uid, gid_t *gid);

/* login.c: /etc/nsswitch.conf with sss (an item), and whether PAM lacks
 * pam_sss (P->pam_sss_missing).  With an ldap section, both roles. */
CPK_INTERNAL cpk_err_t apply_login(struct cpk_apply_plan *p);
/* OLD[0..LEN) (EXISTS 0: there is no file) with `sss` added to the
 * sources of passwd, group and shadow, appended to OUT. */
CPK_INTERNAL cpk_err_t apply_nsswitch_sss(const char *old, size_t len, int exists,
					  struct cpk_buf *out);

/* slapd.c: the control role's LDAP server items (slapd.c's header). */
CPK_INTERNAL cpk_err_t apply_slapd(const struct cpk_model *m, struct cpk_apply_plan *p);

/* tls.c: a self-signed certificate for CN with the subject alternative
 * names SANS (NULL-terminated: IP addresses or DNS names; others are
 * skipped), valid 10 years, and its P-256 key, both PEM, appended to CERT
 * and KEY (KEY is a secret: the caller wipes it). */
CPK_INTERNAL cpk_err_t apply_selfsigned(const char *cn, const char *const *sans,
					struct cpk_buf *cert, struct cpk_buf *key);

/* system.c: runs ARGV (argv[0] an absolute path; no shell) with a fixed
 * environment (PATH, DEBIAN_FRONTEND=noninteractive, LC_ALL=C), INPUT (at
 * most 4096 bytes; NULL: none) on stdin (a pipe, ended), stdout and stderr appended
 * to OUT (may be NULL; of more than 256 KiB, the last 128 KiB or more are kept); *STATUS its exit status
 * (128+N when killed by signal N).  CPK_ERR_NOTFOUND when it cannot be run. */
CPK_INTERNAL cpk_err_t apply_run(char *const argv[], const char *input, struct cpk_buf *out,
				 int *status);
/* The start of the last LINES lines of B (borrowed). */
CPK_INTERNAL const char *apply_tail(const struct cpk_buf *b, int lines);

#endif
