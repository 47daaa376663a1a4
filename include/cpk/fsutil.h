/*
 * File helpers: atomic replacement, reading whole files, creating dirs.
 */
#ifndef CPK_FSUTIL_H
#define CPK_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>
#include "error.h"
#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Replaces PATH with LEN bytes of DATA, with permission bits MODE, so that a
 * reader sees either the old file or the whole new one, never a part: the
 * bytes go to a temporary file in the same directory, which is fsync'ed and
 * renamed over PATH, and the directory is fsync'ed.  On failure PATH is
 * untouched and the temporary file is removed.
 */
cpk_err_t cpk_write_atomic(const char *path, const void *data, size_t len,
			   mode_t mode);

/* Flags of cpk_write_at(). */
#define CPK_WRITE_NOREPLACE 1	/* never replace an existing NAME */

/*
 * Writes NAME in the open directory DFD with LEN bytes of DATA and mode
 * MODE, atomically and without following symbolic links: a temporary
 * ".NAME.cpk-XXXXXXXX" is created O_EXCL|O_NOFOLLOW (mode 0600) in DFD,
 * written, given to UID:GID when run as root ((uid_t)-1 and (gid_t)-1: left
 * to the caller, as with fchown(2); not root: never changed), set to MODE,
 * fsync'ed and renamed to NAME, then DFD is fsync'ed (best effort).  The
 * rename replaces whatever entry NAME is (a symbolic link is replaced, not
 * followed; a directory is an error); with CPK_WRITE_NOREPLACE it is
 * renameat2(RENAME_NOREPLACE): an existing NAME (even one made meanwhile)
 * is CPK_ERR_EXISTS and stays as it was.  SHOWN names the file in messages.
 * On failure NAME is as it was and the temporary file is removed.  NAME
 * must be a plain file name (not empty, no '/', not "." or ".."), at most
 * NAME_MAX - 14 (241) bytes: else CPK_ERR_INVALID.
 */
cpk_err_t cpk_write_at(int dfd, const char *name, const char *shown,
		       const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
		       int flags);

/*
 * Appends the whole content of PATH to OUT.  Files larger than MAX bytes are
 * refused with CPK_ERR_INVALID (MAX 0: no limit).
 */
cpk_err_t cpk_read_file(const char *path, struct cpk_buf *out, size_t max);

/* mkdir -p with MODE for the directories it creates. */
cpk_err_t cpk_mkdir_p(const char *path, mode_t mode);

#ifdef __cplusplus
}
#endif
#endif
