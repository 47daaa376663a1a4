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
