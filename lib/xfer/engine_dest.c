/*
 * The destination: directories and temporary files made before the
 * copy, the end of a segment (links, directory modes and times, leftover
 * temporaries), and the summary of what failed.
 */
#define _GNU_SOURCE
#include "engine_priv.h"

/* ---- planning and preparing the destination ----------------------------- */

/* Remote directories, all MKDIRs in flight at once (the server runs them in
 * order: parents first); *OK[i] tells which ones were made.  Those that
 * failed (already there, say) are left to xfs_mkdir(). */
static cpk_err_t mkdirs_pipelined(struct cpk_xfer *x, struct cpk_sftp *s,
				  unsigned char *ok)
{
	struct req_res *res;
	size_t i;
	cpk_err_t err = CPK_OK;

	if (!(res = calloc(x->p.n, sizeof(*res))))
		return CPK_OK;	/* one at a time, then */
	for (i = 0; i < x->p.n && !err; i++) {
		struct cpk_sftp_attr a;

		if (x->p.e[i].st.type != XT_DIR)
			continue;
		memset(&a, 0, sizeof(a));
		a.flags = CPK_SFTP_ATTR_PERM;
		a.perm = x->o.no_preserve ? xeng_final_mode(x, &x->p.e[i].st) : 0700;
		res[i].err = CPK_ERR_IO;
		err = cpk_sftp_req_mkdir(s, x->p.e[i].dst, &a, xeng_req_res_cb,
					 &res[i]);
	}
	if (!err)
		err = cpk_sftp_drain(s);
	for (i = 0; !err && i < x->p.n; i++)
		ok[i] = x->p.e[i].st.type == XT_DIR && res[i].err == CPK_OK;
	xeng_req_res_free(res, x->p.n);
	return err;
}

/* Directories and the temporary files of big files, before the workers
 * take work.  A directory that cannot be made stops the copy. */
/* Fails entry E with MSG: a file counted as failed, a directory or link
 * only marked (mu held, or no workers yet). */
static void entry_fail(struct cpk_xfer *x, struct xent *e, const char *msg)
{
	if (e->st.type == XT_FILE) {
		xeng_file_fail(x, e, msg);
		return;
	}
	e->failed = 1;
	free(e->err);
	e->err = cpk_strdup(msg);
}

/* A remote temporary file for a big file: FRESH, made exclusively (what
 * holds the name, say a stale one of a resumed copy, is removed, never
 * followed, and the OPEN tried once more); else the existing one, which
 * a resume reopens. */
static cpk_err_t remote_tmp(struct cpk_sftp *s, const char *tmp, int fresh)
{
	struct cpk_sftp_handle h;
	cpk_err_t err;

	err = cpk_sftp_open(s, tmp, CPK_SFTP_WRITE | (fresh ? CPK_SFTP_CREAT |
			    CPK_SFTP_EXCL : 0), 0600, &h);
	if (err && fresh && !xeng_conn_dead(s)) {
		(void)cpk_sftp_remove(s, tmp);
		err = cpk_sftp_open(s, tmp, CPK_SFTP_WRITE | CPK_SFTP_CREAT |
				    CPK_SFTP_EXCL, 0600, &h);
	}
	if (!err)
		err = cpk_sftp_close(s, &h);
	return err;
}

/* Directories and the temporary files of big files, before the workers
 * take work.  A directory that cannot be made stops the copy, unless the
 * local destination has a symlink there: then it and what it would hold
 * fail, and the rest goes on. */
cpk_err_t xeng_prepare(struct cpk_xfer *x, struct cpk_sftp *s)
{
	struct xfs df;
	unsigned char *made = NULL;
	const char *bad = NULL;	/* the directory that failed, if any */
	char *badmsg = NULL;
	size_t i, bl = 0;
	cpk_err_t err = CPK_OK;

	xeng_dst_fs(x, s, &df);
	if (df.s && (made = calloc(x->p.n ? x->p.n : 1, 1)) &&
	    (err = mkdirs_pipelined(x, s, made)) != 0 && xeng_conn_dead(s))
		goto out;
	err = CPK_OK;
	for (i = 0; i < x->p.n; i++) {
		struct xent *e = &x->p.e[i];
		int fresh, fd = -1;

		if (bad && !strncmp(e->dst, bad, bl) && e->dst[bl] == '/') {
			entry_fail(x, e, badmsg ? badmsg : "not copied");
			continue;
		}
		if (e->st.type == XT_DIR) {
			/* private while filled (the mode comes at the end);
			 * without preservation what a new directory gets */
			if ((!made || !made[i]) &&
			    (err = xfs_mkdir(&df, e->dst, x->o.no_preserve ?
					     xeng_final_mode(x, &e->st) : 0700)) != 0) {
				if (!df.at || err != XFS_ERR_LINK)
					goto out;
				err = CPK_OK;
				entry_fail(x, e, cpk_errmsg());
				free(badmsg);
				badmsg = cpk_strdup(cpk_errmsg());
				bad = e->dst;
				bl = strlen(bad);
				continue;
			}
			x->st.dirs++;
			continue;
		}
		if (e->st.type != XT_FILE || !e->chunk || e->done)
			continue;
		fresh = e->left == e->nchunks;
		/* private while it is written, the mode set when complete */
		if (df.s) {
			err = remote_tmp(s, e->tmp, fresh);
		} else {
			/* at its final size: chunks skip the holes of a
			 * sparse file, the last one's too (sparse.h) */
			err = xfs_open_tmp(&df, e->tmp, fresh, 0600, &fd);
			if (!err && ftruncate(fd, (off_t)e->st.size) < 0)
				err = cpk_err_sys("cannot set the size of %s",
						  e->tmp);
			if (fd >= 0)
				close(fd);
		}
		if (err && df.s && xeng_conn_dead(s))
			goto out;
		if (err)
			xeng_file_fail(x, e, cpk_errmsg());
		err = CPK_OK;
	}
out:
	free(made);
	free(badmsg);
	xfs_release(&df);
	return err;
}

/* Remote links (each: REMOVE of what is there, then SYMLINK) and then
 * the attributes of the directories closed in this segment (children
 * first), every request in flight at once: the server runs them in order.
 * Returns non-zero if the connection died (what is left is then done one
 * request at a time, and fails). */
static int finish_remote_pipelined(struct cpk_xfer *x, struct cpk_sftp *s)
{
	struct xplan *p = &x->p;
	struct req_res *res, *dres, dummy = { 0, NULL };
	cpk_err_t err = CPK_OK;
	size_t i;

	res = calloc(p->n ? p->n : 1, sizeof(*res));
	dres = calloc(p->nclosed ? p->nclosed : 1, sizeof(*dres));
	if (!res || !dres) {
		free(res);
		free(dres);
		return 1;
	}
	for (i = 0; !err && i < p->n; i++) {
		struct xent *e = &p->e[i];

		res[i].err = CPK_ERR_IO;
		if (e->st.type != XT_LINK)
			continue;
		err = cpk_sftp_req_remove(s, e->dst, xeng_req_res_cb, &dummy);
		if (!err)
			err = cpk_sftp_req_symlink(s, e->link, e->dst,
						   xeng_req_res_cb, &res[i]);
	}
	for (i = 0; !err && !x->o.no_preserve && i < p->nclosed; i++) {
		struct xdir *d = &p->closed[i];
		struct cpk_sftp_attr a;

		memset(&a, 0, sizeof(a));
		a.flags = CPK_SFTP_ATTR_TIMES | CPK_SFTP_ATTR_PERM;
		a.perm = xeng_final_mode(x, &d->st);
		a.atime = d->st.atime;
		a.mtime = d->st.mtime;
		dres[i].err = CPK_ERR_IO;
		err = cpk_sftp_req_setstat(s, d->dst, &a, xeng_req_res_cb, &dres[i]);
	}
	if (!err)
		err = cpk_sftp_drain(s);
	for (i = 0; !err && i < p->n; i++) {
		struct xent *e = &p->e[i];
		char m[1200];

		if (e->st.type != XT_LINK)
			continue;
		if (!res[i].err) {
			e->done = 1;
			x->st.links++;
			continue;
		}
		snprintf(m, sizeof(m), "cannot create the link %s on the remote "
			 "side: %s (server: %s)", e->dst,
			 cpk_strerror(res[i].err), xeng_req_res_msg(&res[i]));
		e->failed = 1;
		free(e->err);
		e->err = cpk_strdup(m);
	}
	for (i = 0; !err && !x->o.no_preserve && i < p->nclosed; i++) {
		struct xdir *d = &p->closed[i];
		char m[1200];

		if (!dres[i].err)
			continue;
		snprintf(m, sizeof(m), "cannot set the mode and times of %s on "
			 "the remote side: %s (server: %s)", d->dst,
			 cpk_strerror(dres[i].err), xeng_req_res_msg(&dres[i]));
		d->failed = 1;
		free(d->err);
		d->err = cpk_strdup(m);
	}
	xeng_req_res_free(res, p->n);
	xeng_req_res_free(dres, p->nclosed);
	free(dummy.msg);
	return err != CPK_OK;
}

/* Removes the temporary files of the segment's unfinished files, unless a
 * journal may resume them (S: a connection to the destination side). */
void xeng_remove_temps(struct cpk_xfer *x, struct cpk_sftp *s)
{
	struct xfs df;
	struct xplan *p = &x->p;
	size_t i;

	xeng_dst_fs(x, s, &df);
	if (df.s == NULL && x->dir == CPK_XFER_PUT)
		return;		/* no connection left to remove them with */
	for (i = 0; i < p->n; i++) {
		const struct xent *e = &p->e[i];
		char *t;

		/* a journal keeps what a resume can use: the temporaries of
		 * files not tried yet, interrupted or cut off with their
		 * connection, not of those that failed for a reason of their
		 * own (a resume starts those afresh) */
		if (e->st.type != XT_FILE || e->done ||
		    (x->have_journal && (!e->failed || e->resumable ||
					 xeng_cancelled(x))))
			continue;
		if (e->tmp) {
			(void)xfs_remove(&df, e->tmp);
		} else if ((t = xplan_tmp_name(e->dst, p->token)) != NULL) {
			(void)xfs_remove(&df, t);
			free(t);
		}
	}
	xfs_release(&df);
}

/* Links, then the modes and times of the directories closed in this
 * segment (children first: writing into a directory changes its mtime, and
 * a parent's mode may shut its children).  Temporary files of failed files
 * are removed, unless a journal may resume them. */
void xeng_finish_segment(struct cpk_xfer *x, struct cpk_sftp *s)
{
	struct xfs df;
	struct xplan *p = &x->p;
	size_t i;

	xeng_remove_temps(x, s);
	xeng_dst_fs(x, s, &df);
	if (df.s && !finish_remote_pipelined(x, s))
		return;
	for (i = 0; i < p->n; i++) {
		struct xent *e = &p->e[i];

		if (e->st.type != XT_LINK || e->done)
			continue;
		if (xfs_symlink(&df, e->link, e->dst) == 0) {
			e->done = 1;
			e->failed = 0;
			x->st.links++;
		} else {
			e->failed = 1;
			free(e->err);
			e->err = cpk_strdup(cpk_errmsg());
		}
	}
	for (i = 0; !x->o.no_preserve && i < p->nclosed; i++) {
		struct xdir *d = &p->closed[i];

		if (xfs_setattr(&df, d->dst, (int)xeng_final_mode(x, &d->st),
				&d->st) != 0) {
			d->failed = 1;
			free(d->err);
			d->err = cpk_strdup(cpk_errmsg());
		} else {
			d->failed = 0;
		}
	}
	xfs_release(&df);
}

static void add_mib(struct cpk_buf *b, uint64_t n)
{
	cpk_buf_addf(b, "%.1f MiB", (double)n / MiB);
}

/* Names one failure for the summary (the first few; the others counted). */
void xeng_note_failure(struct cpk_xfer *x, const char *dst, const char *why)
{
	if (why && strstr(why, "ermission"))
		x->perm = 1;
	if (x->nshown == 5) {
		x->nmore++;
		return;
	}
	cpk_buf_addf(&x->failmsg, "%s %s (%s)", x->nshown ? "," : "", dst,
		     why ? why : "not attempted");
	x->nshown++;
}

/* After a segment: what did not make it, before its plan is let go.
 * Returns whether anything did not. */
int xeng_note_segment(struct cpk_xfer *x)
{
	struct xplan *p = &x->p;
	size_t i;
	int failed = 0;

	for (i = 0; i < p->nbad; i++) {
		char why[128];

		/* names the listing gave that are no file names */
		snprintf(why, sizeof(why), "name refused: %s", p->bad[i].why);
		xeng_note_failure(x, p->bad[i].where, why);
		x->st.files_failed++;
		failed = 1;
	}
	for (i = 0; i < p->n; i++) {
		struct xent *e = &p->e[i];

		/* (file_fail() counted those it failed) */
		if (e->st.type == XT_FILE && !e->done && !e->failed)
			x->st.files_failed++;
		if (e->failed || (e->st.type != XT_DIR && !e->done)) {
			xeng_note_failure(x, e->dst, e->err);
			failed = 1;
		}
	}
	for (i = 0; i < p->nclosed; i++)
		if (p->closed[i].failed) {
			xeng_note_failure(x, p->closed[i].dst, p->closed[i].err);
			failed = 1;
		}
	return failed;
}

/* After cpk_xfer_cancel(): "interrupted: copied 3 of 5 files (...)". */
cpk_err_t xeng_interrupted_error(struct cpk_xfer *x)
{
	xeng_xlog(x, CPK_XFER_LOG_WARN, "interrupted: the temporary files of "
	     "unfinished files are %s", x->have_journal ? "kept for a resume" :
	     "removed");
	return cpk_err_set(CPK_ERR_INTERRUPTED, "interrupted: copied %llu of "
			   "%llu files planned (%.1f of %.1f MiB)%s",
			   (unsigned long long)x->st.files_done,
			   (unsigned long long)x->st.files_total,
			   (double)x->st.bytes_done / MiB,
			   (double)x->st.bytes_total / MiB,
			   x->have_journal ? "; the journal keeps what is "
			   "done for a resume" : "");
}

/* "copied 3 of 5 files (...); not copied: a (why), b (why), and 4 more". */
cpk_err_t xeng_summary_error(struct cpk_xfer *x)
{
	struct cpk_buf b = CPK_BUF_INIT;
	cpk_err_t err;

	cpk_buf_addf(&b, "copied %llu of %llu files (",
		     (unsigned long long)x->st.files_done,
		     (unsigned long long)x->st.files_total);
	add_mib(&b, x->st.bytes_done);
	cpk_buf_addstr(&b, " of ");
	add_mib(&b, x->st.bytes_total);
	cpk_buf_addstr(&b, "); not copied:");
	cpk_buf_addstr(&b, x->failmsg.len ? x->failmsg.buf : " none named");
	if (x->nmore)
		cpk_buf_addf(&b, ", and %zu more", x->nmore);
	if (x->stopped)
		cpk_buf_addf(&b, "; the copy stopped before the rest of the "
			     "sources were walked: %s", x->conn_err ?
			     x->conn_err : "no connection");
	err = cpk_err_set(x->perm ? CPK_ERR_PERM : CPK_ERR_IO, "%s",
			  cpk_buf_failed(&b) ? "copy failed" : b.buf);
	cpk_buf_release(&b);
	return err;
}
