/*
 * Downloads that keep holes (sparse.c): a local destination range known to
 * read as zeros (a new file, or a hole punched) is written without the
 * aligned blocks of zeros received for it, so a sparse source stays sparse.
 * The file's size is then set by the caller (ftruncate), which keeps a
 * trailing hole.
 */
#ifndef CPK_XFER_SPARSE_H
#define CPK_XFER_SPARSE_H

#include <stddef.h>
#include <stdint.h>
#include "internal.h"

/* The unit of a skipped run: blocks of this size at offsets that are a
 * multiple of it (a file system's block, or a multiple of it). */
#define XSPARSE_BLOCK 4096u

/*
 * Writes LEN bytes of DATA to FD at offset OFF (pwrite, retried on EINTR
 * and short writes).  With SPARSE, every XSPARSE_BLOCK-aligned whole block
 * of zeros is left unwritten: the destination must read as zeros there
 * already.  Data between such blocks goes in one pwrite per run.  Returns
 * 0, or -1 with errno set and *AT (may be NULL) the offset that failed.
 * *WEND (may be NULL) is raised to the end of the last byte written.
 */
CPK_INTERNAL int xsparse_pwrite(int fd, const void *data, size_t len,
				uint64_t off, int sparse, uint64_t *at,
				uint64_t *wend);

/*
 * Makes [OFF, OFF+LEN) of FD read as zeros by deallocating it (a punched
 * hole; the file's size does not change).  Returns 1 if done, 0 if the
 * file system cannot (the range is then left as it was: write it whole).
 */
CPK_INTERNAL int xsparse_punch(int fd, uint64_t off, uint64_t len);

#endif
