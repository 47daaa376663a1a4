/*
 * Connecting ahead of the work.  Connections follow the work: one per
 * XPLAN_CONN_BYTES or XPLAN_CONN_FILES of it, a stream per piece at most,
 * never more than the layout's (xplan_conns_for_work()).  They used to
 * connect only once the first segment was planned, so at 100 ms every
 * copy of many files ran on the first connection alone for about a second
 * while the others logged in (and longer for a download, whose listing
 * took 2.2 s of the 20,000-file tree before the plan was done).  Now each
 * connects as soon as enough work to need it is known:
 *
 *   - an upload looks at its local operands right after the first login
 *     (regular files by their size; directories with -r, a few thousand
 *     entries at most, never following a link below an operand unless -L)
 *     and stops as soon as the layout's connections are all wanted;
 *   - a download counts the files of each listing the walk fetches
 *     (xwalk's LISTED hook), until its first segment is planned.
 *
 * A resumed copy (journal) connects when its work is known, as before: what
 * is left of it may be little.  Only the thread that runs the copy calls
 * these.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_priv.h"

#define AHEAD_ENTRIES 4096	/* local entries looked at, at most */
#define AHEAD_DEPTH 16		/* and directories deep */

/* One more file of SIZE bytes known: its bytes, and its pieces of work (a
 * chunk each, as xplan_tasks() will cut it; a small file one at most). */
static void ahead_file(struct cpk_xfer *x, uint64_t size)
{
	uint64_t chunk = xplan_chunk_size(size, x->o.chunk_min,
					  x->o.chunk_max, x->ah.parts);

	x->ah.bytes += size;
	x->ah.files++;
	x->ah.tasks += chunk ? (size + chunk - 1) / chunk : 1;
}

/* The connections the work known so far needs. */
static unsigned ahead_want(const struct cpk_xfer *x)
{
	uint64_t n = x->ah.streams;

	if (n > x->ah.tasks)	/* as copy_segment(): a stream per piece */
		n = x->ah.tasks;
	return xplan_conns_for_work(x->ah.bytes, x->ah.files,
				    (unsigned)((n + x->chans - 1) / x->chans));
}

/* Connects those of them not connecting yet; WHILST says what the first
 * one does meanwhile. */
static void ahead_connect(struct cpk_xfer *x, const char *whilst)
{
	unsigned c = ahead_want(x), more;

	if (c <= x->ah.conns)
		return;
	more = c - x->ah.conns;
	xeng_xlog(x, CPK_XFER_LOG_DEBUG, "connecting %u more connection%s "
		  "while the first one %s", more, more == 1 ? "" : "s", whilst);
	xeng_preconnect(x, c);
	x->ah.conns = c;
}

/* Counts local entry NAME in directory DFD (and below it, for a directory
 * with -r; FOLLOW: a link is followed), BUDGET entries at most.  Whether
 * to stop: every connection is wanted, or the budget is spent. */
static int ahead_local(struct cpk_xfer *x, int dfd, const char *name,
		       unsigned depth, int follow, size_t *budget)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int fd, stop = 0;

	if (!*budget)
		return 1;
	(*budget)--;
	if (fstatat(dfd, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return 0;	/* the walk says why, later */
	if (S_ISREG(st.st_mode)) {
		ahead_file(x, (uint64_t)st.st_size);
		return ahead_want(x) >= x->ah.max;
	}
	if (!S_ISDIR(st.st_mode) || !x->o.recursive || depth >= AHEAD_DEPTH)
		return 0;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
		    (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return 0;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return 0;
	}
	while (!stop && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		stop = ahead_local(x, dirfd(d), de->d_name, depth + 1,
				   x->o.follow_links, budget);
	}
	closedir(d);
	return stop;
}

void xeng_ahead_start(struct cpk_xfer *x, const char *const *srcs,
		      size_t nsrc, unsigned n)
{
	size_t i, budget = AHEAD_ENTRIES;

	memset(&x->ah, 0, sizeof(x->ah));
	x->ah.conns = 1;	/* the first one */
	if (x->o.journal || n <= x->chans)
		return;		/* one connection in all: nothing ahead */
	x->ah.streams = n;
	x->ah.max = (n + x->chans - 1) / x->chans;
	x->ah.parts = n > XPLAN_PARTS ? n : XPLAN_PARTS;
	if (x->dir != CPK_XFER_PUT) {
		x->ah.listing = 1;	/* xeng_ahead_listed() counts */
		return;
	}
	/* the operands themselves are followed, like cp -r and scp do */
	for (i = 0; i < nsrc; i++)
		if (ahead_local(x, AT_FDCWD, srcs[i], 0, 1, &budget))
			break;
	ahead_connect(x, "plans");
}

void xeng_ahead_listed(void *arg, const struct xlisting *l)
{
	struct cpk_xfer *x = arg;
	size_t i;

	if (!x->ah.listing || l->truncated || l->err)
		return;
	for (i = 0; i < l->n; i++)
		if (l->sts[i].type == XT_FILE)
			ahead_file(x, l->sts[i].size);
	ahead_connect(x, "lists");
	if (x->ah.conns >= x->ah.max)
		x->ah.listing = 0;	/* all connecting */
}

void xeng_ahead_stop(struct cpk_xfer *x)
{
	x->ah.listing = 0;
}
