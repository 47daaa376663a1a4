/*
 * Downloads that keep holes: see sparse.h.  The check for zeros is a
 * memcmp against a static zero block, which returns at the first non-zero
 * byte, so ordinary data costs a few bytes' comparison per block.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "sparse.h"

static const unsigned char zero_block[XSPARSE_BLOCK];

/* Whether the LEN bytes at P (at file offset OFF) are a whole aligned
 * block of zeros. */
static int hole_block(const unsigned char *p, size_t len, uint64_t off)
{
	return len >= XSPARSE_BLOCK && off % XSPARSE_BLOCK == 0 &&
	       !memcmp(p, zero_block, XSPARSE_BLOCK);
}

static int write_all(int fd, const unsigned char *p, size_t len,
		     uint64_t off, uint64_t *at)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, p + done, len - done,
				   (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (at)
				*at = off + done;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

int xsparse_pwrite(int fd, const void *data, size_t len, uint64_t off,
		   int sparse, uint64_t *at, uint64_t *wend)
{
	const unsigned char *p = data;
	size_t pos = 0, start;

	if (!sparse) {
		if (write_all(fd, p, len, off, at) < 0)
			return -1;
		if (wend && len && off + len > *wend)
			*wend = off + len;
		return 0;
	}
	while (pos < len) {
		/* skip a run of zero blocks */
		while (pos < len && hole_block(p + pos, len - pos, off + pos))
			pos += XSPARSE_BLOCK;
		/* then write the data up to the next zero block */
		start = pos;
		while (pos < len && !hole_block(p + pos, len - pos, off + pos)) {
			size_t to = XSPARSE_BLOCK - (size_t)((off + pos) %
							     XSPARSE_BLOCK);

			pos += to < len - pos ? to : len - pos;
		}
		if (pos == start)
			continue;
		if (write_all(fd, p + start, pos - start, off + start, at) < 0)
			return -1;
		if (wend && off + pos > *wend)
			*wend = off + pos;
	}
	return 0;
}

int xsparse_punch(int fd, uint64_t off, uint64_t len)
{
	if (!len)
		return 1;
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 (off_t)off, (off_t)len) == 0;
}
