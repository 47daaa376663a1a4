/*
 * Pieces of work: a chunk of a big file, a batch of small files, and
 * finishing a big file (mode, times, rename into place).
 */
#define _GNU_SOURCE
#include "engine_priv.h"
#include "sparse.h"

/* ---- pieces of work ---------------------------------------------------- */

/* The destination side: the remote one over S, or the local one below its
 * root (then xfs_release() it after use). */
void xeng_dst_fs(const struct cpk_xfer *x, struct cpk_sftp *s,
		   struct xfs *f)
{
	memset(f, 0, sizeof(*f));
	if (x->dir == CPK_XFER_PUT) {
		f->s = s;
		return;
	}
	f->at = 1;
	f->root = x->droot;
	f->prefix = x->dprefix;
}

/* The mode a file or directory ends with: the source's permission bits
 * (setuid, setgid and sticky only if asked), or without preservation
 * what cp without -p gives (the source's 0777 bits less the umask). */
uint32_t xeng_final_mode(const struct cpk_xfer *x, const struct xstat *st)
{
	if (x->o.no_preserve)
		return st->mode & 0777 & ~x->umask;
	return st->mode & (x->o.preserve_special ? 07777 : 0777);
}

/* Sets times (and mode) of the complete temporary file and renames it into
 * place; records the file.  Called by the worker that finished the last
 * chunk. */
static int finish_big(struct cpk_xfer *x, struct worker *w, struct xent *e)
{
	struct xfs dst;
	char rec[48];
	cpk_err_t err;
	int len;

	xeng_dst_fs(x, w->s, &dst);
	err = xfs_setattr(&dst, e->tmp, (int)xeng_final_mode(x, &e->st),
			  x->o.no_preserve ? NULL : &e->st);
	if (!err)
		err = xfs_rename(&dst, e->tmp, e->dst);
	xfs_release(&dst);
	if (err && dst.s && xeng_conn_dead(dst.s))
		return RUN_DEAD;
	pthread_mutex_lock(&x->mu);
	if (err) {
		xeng_file_fail(x, e, cpk_errmsg());
	} else {
		e->done = 1;
		x->st.files_done++;
		len = snprintf(rec, sizeof(rec), "F %" PRIu64 "\n",
			       x->p.base + (uint64_t)(e - x->p.e));
		xeng_journal_rec(x, rec, (size_t)len);
	}
	pthread_mutex_unlock(&x->mu);
	return err ? RUN_FAILED : RUN_OK;
}

/* After an upload of E failed on a live connection: whether the remote file
 * system holding it lacks the room (sftp-server reports a full disk as a
 * bare "Failure"); if so HINT says so. */
static int full_hint(struct cpk_sftp *s, const struct xent *e, char *hint,
		     size_t n)
{
	const char *slash = strrchr(e->dst, '/');
	char dir[900];
	uint64_t avail;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == e->dst)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - e->dst),
			 e->dst);
	if (cpk_sftp_statvfs(s, dir, &avail, NULL) != 0 || avail >= e->st.size)
		return 0;
	snprintf(hint, n, "; the remote file system of %s is full (%" PRIu64
		 " KiB free, %" PRIu64 " KiB needed)", dir, avail / 1024,
		 (e->st.size + 1023) / 1024);
	return 1;
}

int xeng_run_chunk(struct cpk_xfer *x, struct worker *w, struct xtask *t)
{
	struct xent *e = &x->p.e[t->file];
	uint64_t off = (uint64_t)t->chunk * e->chunk, len;
	struct cpk_sftp_handle h;
	cpk_err_t err;
	int fd = -1, opened = 0, last, put = x->dir == CPK_XFER_PUT;
	char rec[64];

	len = e->st.size - off < e->chunk ? e->st.size - off : e->chunk;
	if (put) {
		fd = open(e->src, O_RDONLY | O_CLOEXEC);
		err = fd < 0 ? cpk_err_sys("cannot open %s", e->src) :
		      cpk_sftp_open(w->s, e->tmp, CPK_SFTP_WRITE, 0600, &h);
	} else {
		struct xfs df;

		/* the temporary file this copy made, not what took its place */
		xeng_dst_fs(x, NULL, &df);
		err = xfs_open_tmp(&df, e->tmp, 0, 0, &fd);
		xfs_release(&df);
		if (!err)
			err = cpk_sftp_open(w->s, e->src, CPK_SFTP_READ, 0, &h);
	}
	opened = !err;
	/* one range: the request pipeline never drains inside a chunk; a
	 * download into the range made a hole first (whatever an earlier
	 * try left there is gone) skips the source's zero blocks */
	if (!err && put)
		err = cpk_sftp_write_range(w->s, &h, fd, off, len);
	else if (!err)
		err = xsparse_punch(fd, off, len) ?
		      cpk_sftp_read_range_sparse(w->s, &h, fd, off, len, NULL) :
		      cpk_sftp_read_range(w->s, &h, fd, off, len, NULL);
	if (!err && !put && x->have_journal && fdatasync(fd) < 0)
		err = cpk_err_sys("cannot sync %s", e->tmp);
	if (opened) {
		cpk_err_t e2 = cpk_sftp_close(w->s, &h);

		if (!err)
			err = e2;
	}
	if (fd >= 0)
		close(fd);
	if (err && xeng_conn_dead(w->s)) {
		pthread_mutex_lock(&x->mu);
		w->cur = 0;
		pthread_mutex_unlock(&x->mu);
		return RUN_DEAD;
	}
	if (err) {
		char m[2600], hint[1100];
		int n = snprintf(m, sizeof(m), "cannot %s %s%s to %s%s (chunk "
				 "%u): %s", put ? "upload" : "download",
				 put ? "" : "remote ", e->src,
				 put ? "remote " : "", e->dst, t->chunk,
				 cpk_errmsg());

		if (put && full_hint(w->s, e, hint, sizeof(hint)) && n > 0 &&
		    (size_t)n < sizeof(m))
			snprintf(m + n, sizeof(m) - (size_t)n, "%s", hint);
		pthread_mutex_lock(&x->mu);
		w->cur = 0;
		xeng_file_fail(x, e, m);
		pthread_mutex_unlock(&x->mu);
		return RUN_FAILED;
	}
	pthread_mutex_lock(&x->mu);
	w->cur = 0;
	last = 0;
	if (!e->cdone[t->chunk] && !e->failed) {
		e->cdone[t->chunk] = 1;
		last = --e->left == 0;
		x->st.chunks_sent++;
		x->st.bytes_done += len;
		x->st.bytes_sent += len;
		snprintf(rec, sizeof(rec), "C %" PRIu64 " %u\n",
			 x->p.base + t->file, (unsigned)t->chunk);
		xeng_journal_rec(x, rec, strlen(rec));
	}
	pthread_mutex_unlock(&x->mu);
	return last ? finish_big(x, w, e) : RUN_OK;
}

__attribute__((format(printf, 3, 4)))
static void req_res_set(struct req_res *res, cpk_err_t err, const char *fmt,
			...)
{
	char m[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	res->err = err;
	free(res->msg);
	res->msg = cpk_strdup(m);
}

void xeng_req_res_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		       void *arg)
{
	(void)s;
	if (r->err)
		req_res_set(arg, r->err, "%s", r->msg ? r->msg : "");
	else
		((struct req_res *)arg)->err = CPK_OK;
}

void xeng_req_res_free(struct req_res *res, size_t n)
{
	size_t i;

	for (i = 0; res && i < n; i++)
		free(res[i].msg);
	free(res);
}

const char *xeng_req_res_msg(const struct req_res *res)
{
	return res->msg ? res->msg : "no message";
}

/* Makes the local temporary file of a small file (get_many's create):
 * new, exclusively, below the destination's root. */
static cpk_err_t batch_create(void *arg, const char *local, uint32_t mode,
			      int *fd)
{
	return xfs_open_tmp(arg, local, 1, mode, fd);
}

int xeng_run_batch(struct cpk_xfer *x, struct worker *w, struct xtask *t)
{
	struct cpk_sftp_file *f = NULL;
	struct req_res *rr = NULL;
	char **tmp = NULL;	/* the files' temporary names (not kept in the
				 * plan: small files can be millions) */
	uint32_t *idx = NULL, i, k = 0;
	struct cpk_buf rec = CPK_BUF_INIT;
	unsigned flags = x->o.no_preserve ? CPK_SFTP_MODE : CPK_SFTP_PRESERVE |
			 (x->o.preserve_special ? CPK_SFTP_SPECIAL : 0);
	int put = x->dir == CPK_XFER_PUT, ret = RUN_OK;
	struct xfs df;	/* a local destination */
	cpk_err_t err;

	xeng_dst_fs(x, NULL, &df);
	if (put)
		flags |= CPK_SFTP_NEW;	/* temporaries made exclusively */
	f = calloc(t->chunk, sizeof(*f));
	rr = calloc(t->chunk, sizeof(*rr));
	idx = calloc(t->chunk, sizeof(*idx));
	tmp = calloc(t->chunk, sizeof(*tmp));
	if (!f || !rr || !idx || !tmp) {
		ret = RUN_FAILED;
		cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto fail_all;
	}
	pthread_mutex_lock(&x->mu);
	for (i = 0; i < t->chunk; i++) {
		struct xent *e = &x->p.e[t->file + i];

		if (!xplan_batched(e) || e->done || e->failed)
			continue;
		if (!(tmp[k] = xplan_tmp_name(e->dst, x->p.token))) {
			xeng_file_fail(x, e, "out of memory");
			ret = RUN_FAILED;
			continue;
		}
		idx[k] = t->file + i;
		f[k].local = put ? e->src : tmp[k];
		f[k].remote = put ? tmp[k] : e->src;
		f[k].attr.flags = CPK_SFTP_ATTR_SIZE | CPK_SFTP_ATTR_PERM |
				  CPK_SFTP_ATTR_TIMES;
		f[k].attr.size = e->st.size;
		f[k].attr.perm = S_IFREG | e->st.mode;
		f[k].attr.atime = e->st.atime;
		f[k].attr.mtime = e->st.mtime;
		f[k].mode = xeng_final_mode(x, &e->st);
		if (!put) {
			f[k].create = batch_create;
			f[k].create_arg = &df;
		}
		k++;
	}
	pthread_mutex_unlock(&x->mu);
	err = put ? cpk_sftp_put_many(w->s, f, k, flags) :
		    cpk_sftp_get_many(w->s, f, k, flags);
	if (err) {
		if (xeng_conn_dead(w->s)) {
			ret = RUN_DEAD;
			goto out;
		}
		/* a full disk says so once, on the first failed upload */
		for (i = 0; put && i < k; i++) {
			char hint[1100];

			if (!f[i].err)
				continue;
			if (f[i].msg && full_hint(w->s, &x->p.e[idx[i]], hint,
						  sizeof(hint))) {
				size_t a = strlen(f[i].msg), b = strlen(hint);
				char *m = realloc(f[i].msg, a + b + 1);

				if (m) {
					memcpy(m + a, hint, b + 1);
					f[i].msg = m;
				}
			}
			break;
		}
	}
	/* into place: pipelined renames on the server, or local ones */
	for (i = 0; i < k; i++) {
		struct xent *e = &x->p.e[idx[i]];

		if (f[i].err)
			continue;
		if (put) {
			if (cpk_sftp_req_rename(w->s, tmp[i], e->dst,
						CPK_SFTP_RENAME_OVERWRITE,
						xeng_req_res_cb, &rr[i]) != 0) {
				/* never sent */
				req_res_set(&rr[i], CPK_ERR_IO, "%s",
					    cpk_errmsg());
			}
		} else if (xfs_rename(&df, tmp[i], e->dst) != 0) {
			req_res_set(&rr[i], CPK_ERR_IO, "%s", cpk_errmsg());
		}
	}
	if (put && cpk_sftp_drain(w->s) != 0) {
		ret = RUN_DEAD;
		goto out;
	}
	pthread_mutex_lock(&x->mu);
	for (i = 0; i < k; i++) {
		struct xent *e = &x->p.e[idx[i]];

		if (!f[i].err && !rr[i].err) {
			e->done = 1;
			x->st.files_done++;
			x->st.chunks_sent++;
			x->st.bytes_done += e->st.size;
			x->st.bytes_sent += e->st.size;
			cpk_buf_addf(&rec, "F %" PRIu64 "\n",
				     x->p.base + idx[i]);
		} else if (f[i].err) {
			xeng_file_fail(x, e, f[i].msg ? f[i].msg :
				  cpk_strerror(f[i].err));
			ret = RUN_FAILED;
		} else {
			char m[512];

			if (put)
				snprintf(m, sizeof(m), "cannot rename %s to %s: "
					 "%s (server: %s)", tmp[i], e->dst,
					 cpk_strerror(rr[i].err),
					 xeng_req_res_msg(&rr[i]));
			else
				snprintf(m, sizeof(m), "%s", xeng_req_res_msg(&rr[i]));
			xeng_file_fail(x, e, m);
			ret = RUN_FAILED;
		}
	}
	if (rec.len)
		xeng_journal_rec(x, rec.buf, rec.len);
	w->cur = 0;
	pthread_mutex_unlock(&x->mu);
	goto out;
fail_all:
	pthread_mutex_lock(&x->mu);
	for (i = 0; i < t->chunk; i++)
		if (xplan_batched(&x->p.e[t->file + i]))
			xeng_file_fail(x, &x->p.e[t->file + i], cpk_errmsg());
	pthread_mutex_unlock(&x->mu);
out:
	pthread_mutex_lock(&x->mu);
	w->cur = 0;
	pthread_mutex_unlock(&x->mu);
	cpk_buf_release(&rec);
	for (i = 0; f && i < k; i++)
		free(f[i].msg);
	free(f);
	xeng_req_res_free(rr, k);
	for (i = 0; tmp && i < k; i++)
		free(tmp[i]);
	free(tmp);
	free(idx);
	xfs_release(&df);
	return ret;
}
