/*
 * clusterpack error reporting.
 *
 * Every library call that can fail returns a cpk_err_t: 0 (CPK_OK) on success,
 * a positive code otherwise.  cpk_strerror() names the code; cpk_errmsg()
 * returns the detailed message of the last failure on the calling thread
 * (a thread-local buffer owned by the library, valid until the next failing
 * call on that thread).  The library never prints and never exits.
 */
#ifndef CPK_ERROR_H
#define CPK_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cpk_err {
	CPK_OK = 0,
	CPK_ERR_NOMEM,		/* out of memory */
	CPK_ERR_INVALID,	/* invalid argument or input */
	CPK_ERR_IO,		/* a system call failed (errno in the message) */
	CPK_ERR_NOTFOUND,	/* no such file, node, user, ... */
	CPK_ERR_EXISTS,		/* already exists */
	CPK_ERR_PERM,		/* permission denied */
	CPK_ERR_CONFIG,		/* the cluster description is invalid (see diags) */
	CPK_ERR_INTERNAL,	/* a bug in clusterpack */
	CPK_ERR_INTERRUPTED,	/* the caller asked to stop (cpk_xfer_cancel) */
	CPK_ERR__MAX
} cpk_err_t;

/* A static string naming the code ("out of memory", ...).  Never NULL. */
const char *cpk_strerror(cpk_err_t err);

/*
 * The detailed message of the last error on this thread, e.g.
 * "cannot rename /etc/slurm/.slurm.conf.XXXX to /etc/slurm/slurm.conf:
 * Permission denied".  Borrowed: the library owns it.  Never NULL (empty
 * string if none).
 */
const char *cpk_errmsg(void);

#ifdef __cplusplus
}
#endif
#endif
