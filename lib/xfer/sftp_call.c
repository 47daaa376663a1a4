/*
 * The blocking calls (open, read, write, stat, mkdir, ...) over the
 * request API, and directory listing (listdir, readdir, listdir_many).
 */
#define _GNU_SOURCE
#include "sftp_priv.h"

/* ---- blocking calls --------------------------------------------------- */

struct sync {
	int done;
	struct cpk_sftp_reply r;	/* err, status, eof copied */
	char msg[512];
	struct cpk_sftp_handle *h;
	struct cpk_sftp_attr *attr;
	void *buf;
	size_t cap, got;
	char *str;
	struct cpk_sftp_name *names;
	size_t n, alloc;
	cpk_err_t oom;
};

static void sync_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		    void *arg)
{
	struct sync *y = arg;
	size_t i;

	(void)s;
	y->done = 1;
	y->r.op = r->op;
	y->r.err = r->err;
	y->r.status = r->status;
	y->r.eof = r->eof;
	snprintf(y->msg, sizeof(y->msg), "%s", r->msg ? r->msg : "");
	y->r.msg = y->msg;
	if (r->err || r->eof)
		return;
	switch (r->op) {
	case CPK_SFTP_OP_OPEN:
	case CPK_SFTP_OP_OPENDIR:
		if (y->h)
			*y->h = *r->handle;
		break;
	case CPK_SFTP_OP_STAT:
	case CPK_SFTP_OP_LSTAT:
	case CPK_SFTP_OP_FSTAT:
		if (y->attr)
			*y->attr = *r->attr;
		break;
	case CPK_SFTP_OP_READ:
		y->got = r->len < y->cap ? r->len : y->cap;
		if (y->got)
			memcpy(y->buf, r->data, y->got);
		break;
	case CPK_SFTP_OP_EXTENDED:
		/* a NAME reply (expand-path@openssh.com) is taken as
		 * REALPATH's; others are not kept */
		if (!r->names)
			break;
		/* fall through */
	case CPK_SFTP_OP_REALPATH:
	case CPK_SFTP_OP_READLINK:
		if (r->count < 1) {
			y->r.err = CPK_ERR_IO;
			snprintf(y->msg, sizeof(y->msg), "empty NAME reply");
			break;
		}
		if (r->names[0].namelen != strlen(r->names[0].name)) {
			y->r.err = CPK_ERR_IO;
			snprintf(y->msg, sizeof(y->msg), "a NUL byte inside "
				 "the name the server sent");
			break;
		}
		y->str = cpk_strdup(r->names[0].name);
		if (!y->str)
			y->oom = CPK_ERR_NOMEM;
		break;
	case CPK_SFTP_OP_READDIR:
		for (i = 0; i < r->count; i++) {
			const char *nm = r->names[i].name;
			size_t nl = r->names[i].namelen;
			struct cpk_sftp_name *e;

			/* exactly "." or "..": ".\0x" is kept (and refused
			 * by the caller) */
			if (nl == strlen(nm) &&
			    (!strcmp(nm, ".") || !strcmp(nm, "..")))
				continue;
			if (y->n == y->alloc) {
				size_t na = y->alloc ? y->alloc * 2 : 64;

				e = cpk_reallocarray(y->names, na, sizeof(*e));
				if (!e) {
					y->oom = CPK_ERR_NOMEM;
					return;
				}
				y->names = e;
				y->alloc = na;
			}
			e = &y->names[y->n];
			if ((e->name = malloc(nl + 1)) != NULL) {
				memcpy(e->name, nm, nl);	/* NULs too */
				e->name[nl] = '\0';
			}
			e->namelen = nl;
			e->longname = cpk_strdup(r->names[i].longname);
			e->attr = r->names[i].attr;
			if (!e->name || !e->longname) {
				free(e->name);
				free(e->longname);
				y->oom = CPK_ERR_NOMEM;
				return;
			}
			y->n++;
		}
		break;
	default:
		break;
	}
}

cpk_err_t xsftp_sync_guard(struct cpk_sftp *s)
{
	if (!s)
		return cpk_err_set(CPK_ERR_INVALID, "sftp: no connection");
	if (s->in_cb)
		return cpk_err_set(CPK_ERR_INVALID, "blocking sftp call from a "
				   "reply callback");
	return s->dead ? xsftp_dead_err(s) : CPK_OK;
}

/* Waits for Y; returns its error with "cannot WHAT ARG on HOST: ...". */
static cpk_err_t sync_wait(struct cpk_sftp *s, struct sync *y,
			   const char *what, const char *arg)
{
	cpk_err_t err = CPK_OK;

	while (!y->done && !err)
		err = xsftp_pump(s, -1);
	if (!y->done)
		return err;
	if (y->r.err)
		return cpk_sftp_reply_error(s, &y->r, "cannot %s%s%s on %s",
					    what, arg ? " " : "",
					    arg ? arg : "", s->where);
	if (y->oom)
		return cpk_err_set(y->oom, "cannot %s%s%s on %s: out of "
				   "memory", what, arg ? " " : "",
				   arg ? arg : "", s->where);
	return CPK_OK;
}

#define SYNC_INIT { 0 }

cpk_err_t cpk_sftp_open(struct cpk_sftp *s, const char *path, unsigned flags,
			uint32_t mode, struct cpk_sftp_handle *h)
{
	struct sync y = SYNC_INIT;
	struct cpk_sftp_attr a = { 0 };
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	if (flags & CPK_SFTP_CREAT) {
		a.flags = CPK_SFTP_ATTR_PERM;
		a.perm = mode & 07777;
	}
	y.h = h;
	if ((err = cpk_sftp_req_open(s, path, flags, &a, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, (flags & CPK_SFTP_WRITE) ? "open for writing"
			 : "open", path);
}

cpk_err_t cpk_sftp_close(struct cpk_sftp *s, const struct cpk_sftp_handle *h)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_close(s, h, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "close a file", NULL);
}

cpk_err_t cpk_sftp_read(struct cpk_sftp *s, const struct cpk_sftp_handle *h,
			uint64_t off, void *buf, size_t len, size_t *got)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	*got = 0;
	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	if (!buf || len > s->chunk || len == 0)
		return cpk_err_set(CPK_ERR_INVALID, "sftp read of %zu bytes: "
				   "must be 1..%zu", len, s->chunk);
	y.buf = buf;
	y.cap = len;
	if ((err = cpk_sftp_req_read(s, h, off, (uint32_t)len, sync_cb,
				     &y)) != 0 ||
	    (err = sync_wait(s, &y, "read", NULL)) != 0)
		return err;
	*got = y.r.eof ? 0 : y.got;
	return CPK_OK;
}

struct wstate {
	unsigned pending;
	struct cpk_sftp_reply r;
	char msg[512];
};

static void wstate_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		      void *arg)
{
	struct wstate *w = arg;

	(void)s;
	w->pending--;
	if (r->err && !w->r.err) {
		w->r = *r;
		snprintf(w->msg, sizeof(w->msg), "%s", r->msg);
		w->r.msg = w->msg;
	}
}

cpk_err_t cpk_sftp_write(struct cpk_sftp *s, const struct cpk_sftp_handle *h,
			 uint64_t off, const void *buf, size_t len)
{
	struct wstate w = { 0 };
	const unsigned char *p = buf;
	size_t done = 0;
	cpk_err_t err = CPK_OK;

	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	if (len == 0)
		return CPK_OK;
	do {
		size_t n = len - done < s->chunk ? len - done : s->chunk;

		if ((err = cpk_sftp_req_write(s, h, off + done, p + done,
					      (uint32_t)n, wstate_cb, &w)))
			break;
		w.pending++;
		done += n;
	} while (done < len && !w.r.err);
	while (w.pending && !err)
		err = xsftp_pump(s, -1);
	if (w.r.err)
		return cpk_sftp_reply_error(s, &w.r, "cannot write at offset "
					    "%" PRIu64 " on %s",
					    w.r.offset, s->where);
	return err;
}

static cpk_err_t stat_common(struct cpk_sftp *s, int op, const char *path,
			     const struct cpk_sftp_handle *h,
			     struct cpk_sftp_attr *attr)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	y.attr = attr;
	if (op == CPK_SFTP_OP_FSTAT)
		err = cpk_sftp_req_fstat(s, h, sync_cb, &y);
	else
		err = xsftp_req_path(s, (uint8_t)op, path, NULL, 0, sync_cb, &y);
	if (err)
		return err;
	return sync_wait(s, &y, op == CPK_SFTP_OP_LSTAT ? "lstat" :
			 op == CPK_SFTP_OP_FSTAT ? "fstat an open file" :
			 "stat", path);
}

cpk_err_t cpk_sftp_stat(struct cpk_sftp *s, const char *path,
			struct cpk_sftp_attr *attr)
{
	return stat_common(s, CPK_SFTP_OP_STAT, path, NULL, attr);
}

cpk_err_t cpk_sftp_lstat(struct cpk_sftp *s, const char *path,
			 struct cpk_sftp_attr *attr)
{
	return stat_common(s, CPK_SFTP_OP_LSTAT, path, NULL, attr);
}

cpk_err_t cpk_sftp_fstat(struct cpk_sftp *s, const struct cpk_sftp_handle *h,
			 struct cpk_sftp_attr *attr)
{
	return stat_common(s, CPK_SFTP_OP_FSTAT, NULL, h, attr);
}

cpk_err_t cpk_sftp_setstat(struct cpk_sftp *s, const char *path,
			   const struct cpk_sftp_attr *attr)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_setstat(s, path, attr, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "set attributes of", path);
}

cpk_err_t cpk_sftp_fsetstat(struct cpk_sftp *s,
			    const struct cpk_sftp_handle *h,
			    const struct cpk_sftp_attr *attr)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_fsetstat(s, h, attr, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "set attributes of an open file", NULL);
}

cpk_err_t cpk_sftp_mkdir(struct cpk_sftp *s, const char *path, uint32_t mode)
{
	struct sync y = SYNC_INIT;
	struct cpk_sftp_attr a = { 0 };
	cpk_err_t err;

	a.flags = CPK_SFTP_ATTR_PERM;
	a.perm = mode & 07777;
	if ((err = xsftp_sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_mkdir(s, path, &a, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "create directory", path);
}

cpk_err_t cpk_sftp_rmdir(struct cpk_sftp *s, const char *path)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_rmdir(s, path, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "remove directory", path);
}

cpk_err_t cpk_sftp_remove(struct cpk_sftp *s, const char *path)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_remove(s, path, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "remove", path);
}

cpk_err_t cpk_sftp_rename(struct cpk_sftp *s, const char *from, const char *to,
			  unsigned flags)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	struct cpk_buf what = CPK_BUF_INIT;

	if ((err = xsftp_sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_rename(s, from, to, flags, sync_cb, &y)) != 0)
		return err;
	cpk_buf_addf(&what, "%s to %s", from, to);
	err = sync_wait(s, &y, "rename", what.buf);
	cpk_buf_release(&what);
	return err;
}

cpk_err_t cpk_sftp_symlink(struct cpk_sftp *s, const char *target,
			   const char *linkpath)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_symlink(s, target, linkpath, sync_cb, &y)))
		return err;
	return sync_wait(s, &y, "create symlink", linkpath);
}

static cpk_err_t name_common(struct cpk_sftp *s, int op, const char *path,
			     char **out)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	*out = NULL;
	if ((err = xsftp_sync_guard(s)) != 0 ||
	    (err = xsftp_req_path(s, (uint8_t)op, path, NULL, 0, sync_cb, &y)) != 0)
		return err;
	err = sync_wait(s, &y, op == CPK_SFTP_OP_READLINK ? "read symlink" :
			"resolve", path);
	if (err) {
		free(y.str);
		return err;
	}
	*out = y.str;
	return CPK_OK;
}

cpk_err_t cpk_sftp_readlink(struct cpk_sftp *s, const char *path, char **out)
{
	return name_common(s, CPK_SFTP_OP_READLINK, path, out);
}

cpk_err_t cpk_sftp_realpath(struct cpk_sftp *s, const char *path, char **out)
{
	return name_common(s, CPK_SFTP_OP_REALPATH, path, out);
}

/* Sends extension EXT (the server offers it: EXT_BIT) with the one
 * argument PATH; CB gets the reply.  Only when no blocking call runs. */
cpk_err_t xsftp_ext_path(struct cpk_sftp *s, const char *ext, unsigned bit,
			 const char *path, cpk_sftp_cb *cb, void *arg)
{
	unsigned char *buf, *w;
	size_t len;
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	if (!(s->ext & bit))
		return cpk_err_set(CPK_ERR_INVALID, "the sftp server on %s has "
				   "no %s", s->where, ext);
	len = strlen(path);
	if (len > UINT32_MAX - 4 || !(buf = malloc(4 + len)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	w = buf;
	put_u32(&w, (uint32_t)len);
	memcpy(w, path, len);
	err = cpk_sftp_req_extended(s, ext, buf, 4 + len, cb, arg);
	free(buf);
	return err;
}

cpk_err_t cpk_sftp_fsync(struct cpk_sftp *s, const struct cpk_sftp_handle *h)
{
	struct sync y = SYNC_INIT;
	unsigned char buf[4 + CPK_SFTP_HANDLE_MAX], *w = buf;
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	if (!(s->ext & EXT_FSYNC))
		return cpk_err_set(CPK_ERR_INVALID, "the sftp server on %s has "
				   "no fsync@openssh.com", s->where);
	if (h->len > CPK_SFTP_HANDLE_MAX)
		return cpk_err_set(CPK_ERR_INVALID, "sftp: bad handle");
	put_u32(&w, h->len);
	memcpy(w, h->data, h->len);
	if ((err = cpk_sftp_req_extended(s, "fsync@openssh.com", buf,
					 4 + h->len, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "flush a file to disk", NULL);
}

cpk_err_t cpk_sftp_expand_path(struct cpk_sftp *s, const char *path, char **out)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	*out = NULL;
	err = xsftp_ext_path(s, "expand-path@openssh.com", EXT_EXPAND_PATH,
			     path, sync_cb, &y);
	if (!err)
		err = sync_wait(s, &y, "expand", path);
	if (!err && (!y.str || !*y.str))
		err = cpk_err_set(CPK_ERR_IO, "cannot expand %s on %s: the "
				  "server answered without a name", path,
				  s->where);
	if (err) {
		free(y.str);
		return err;
	}
	*out = y.str;
	return CPK_OK;
}

void cpk_sftp_names_free(struct cpk_sftp_name *names, size_t n)
{
	size_t i;

	if (!names)
		return;
	for (i = 0; i < n; i++) {
		free(names[i].name);
		free(names[i].longname);
	}
	free(names);
}

cpk_err_t cpk_sftp_listdir(struct cpk_sftp *s, const char *path,
			   struct cpk_sftp_name **names, size_t *n)
{
	struct sync y = SYNC_INIT;
	struct cpk_sftp_handle h;
	int open = 0;
	cpk_err_t err, e2;

	*names = NULL;
	*n = 0;
	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	y.h = &h;
	if ((err = cpk_sftp_req_opendir(s, path, sync_cb, &y)) != 0 ||
	    (err = sync_wait(s, &y, "open directory", path)) != 0)
		goto out;
	open = 1;
	for (;;) {
		y.done = 0;
		if ((err = cpk_sftp_req_readdir(s, &h, sync_cb, &y)) != 0 ||
		    (err = sync_wait(s, &y, "read directory", path)) != 0)
			goto out;
		if (y.r.eof)
			break;
	}
out:
	if (open) {
		struct sync c = SYNC_INIT;

		e2 = cpk_sftp_req_close(s, &h, sync_cb, &c);
		if (!e2)
			e2 = sync_wait(s, &c, "close directory", path);
		if (!err)
			err = e2;
	}
	if (err) {
		cpk_sftp_names_free(y.names, y.n);
		return err;
	}
	*names = y.names;
	*n = y.n;
	return CPK_OK;
}

cpk_err_t cpk_sftp_opendir(struct cpk_sftp *s, const char *path,
			   struct cpk_sftp_handle *h)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	y.h = h;
	if ((err = cpk_sftp_req_opendir(s, path, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "open directory", path);
}

/* READDIRs in flight at once on one directory handle. */
#define READDIR_AHEAD 16

cpk_err_t cpk_sftp_readdir(struct cpk_sftp *s, const struct cpk_sftp_handle *h,
			   size_t want, struct cpk_sftp_name **names,
			   size_t *n, int *eof)
{
	struct sync y[READDIR_AHEAD];
	struct cpk_sftp_name *v = NULL;
	size_t nv = 0, cap = 0;
	unsigned k, sent;
	cpk_err_t err = CPK_OK;

	*names = NULL;
	*n = 0;
	*eof = 0;
	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	memset(y, 0, sizeof(y));
	while (!err && !*eof && nv < want) {
		/* a server runs them in order: each gets the next batch (of
		 * up to 100 entries from OpenSSH's sftp-server) */
		size_t left = want - nv;
		unsigned need = left >= 100 * READDIR_AHEAD ? READDIR_AHEAD :
				(unsigned)((left + 99) / 100);

		for (sent = 0; sent < need && s->nfree > 1; sent++) {
			memset(&y[sent], 0, sizeof(y[sent]));
			if ((err = cpk_sftp_req_readdir(s, h, sync_cb,
							&y[sent])) != 0)
				break;
		}
		for (k = 0; k < sent; k++) {
			cpk_err_t e = sync_wait(s, &y[k], "read directory", NULL);

			if (e && !err)
				err = e;
			if (!err && y[k].r.eof)
				*eof = 1;
			if (!err && !*eof && nv + y[k].n > cap) {
				size_t nc = cap ? cap * 2 : 256;
				struct cpk_sftp_name *t;

				while (nc < nv + y[k].n)
					nc *= 2;
				if (!(t = cpk_reallocarray(v, nc, sizeof(*t))))
					err = cpk_err_set(CPK_ERR_NOMEM,
							  "out of memory");
				else
					v = t, cap = nc;
			}
			if (!err && !*eof && y[k].n) {
				memcpy(v + nv, y[k].names, y[k].n * sizeof(*v));
				nv += y[k].n;
				free(y[k].names);
			} else {
				cpk_sftp_names_free(y[k].names, y[k].n);
			}
			y[k].names = NULL;
			y[k].n = 0;
		}
		if (!sent && !err)
			err = xsftp_pump(s, -1);	/* no room: wait for some */
	}
	if (err) {
		cpk_sftp_names_free(v, nv);
		return err;
	}
	*names = v;
	*n = nv;
	return CPK_OK;
}

/* Several directories listed at once: a small state machine per directory
 * (OPENDIR, READDIRs until EOF, CLOSE), each reply queueing the next request
 * in the slot it just freed.  A directory keeps up to LDIR_AHEAD READDIRs
 * in flight while the window has room (a server runs them in order, each
 * taking the next batch, 100 names from OpenSSH's sftp-server; the caller
 * sorts): one at a time, a directory of 2,000 entries took 20 round trips,
 * 2 s at 100 ms. */
#define LDIR_AHEAD 8
#define LDIR_RESERVE 4	/* slots the extra READDIRs leave free */
struct lrun;
struct ldir {
	struct sync y;
	struct lrun *run;
	struct cpk_sftp_handle h;
	size_t idx;		/* in the caller's array */
	int state;		/* L_OPEN, L_READ, L_CLOSE, L_FREE */
	unsigned pending;	/* READDIRs in flight */
	int stop;		/* EOF, an error or enough: no more READDIRs */
	int truncated;		/* more than run->max entries */
	cpk_err_t err;
	char *msg;
};
enum { L_FREE, L_OPEN, L_READ, L_CLOSE };

struct lrun {
	const char *const *paths;
	struct cpk_sftp_dir *out;
	const size_t *max;
	unsigned active;
};

static void ldir_fail(struct cpk_sftp *s, struct ldir *d, const char *what,
		      const char *path)
{
	cpk_err_t e;

	if (d->err)
		return;
	e = d->y.oom ? cpk_err_set(d->y.oom, "cannot %s %s on %s: out of "
				  "memory", what, path, s->where) :
	    cpk_sftp_reply_error(s, &d->y.r, "cannot %s %s on %s", what, path,
				 s->where);
	d->err = e ? e : CPK_ERR_IO;
	d->msg = cpk_strdup(cpk_errmsg());
}

static void ldir_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		    void *arg);

/* Queues READDIRs on D: one in the slot a reply just freed, more while
 * the window keeps LDIR_RESERVE free. */
static cpk_err_t ldir_read(struct cpk_sftp *s, struct ldir *d)
{
	cpk_err_t err;

	do {
		if ((err = cpk_sftp_req_readdir(s, &d->h, ldir_cb, d)) != 0)
			return err;
		d->pending++;
	} while (d->pending < LDIR_AHEAD && s->nfree > LDIR_RESERVE);
	return CPK_OK;
}

static void ldir_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		    void *arg)
{
	struct ldir *d = arg;
	struct lrun *l = d->run;
	const char *path = l->paths[d->idx];
	cpk_err_t err = CPK_OK;

	sync_cb(s, r, &d->y);
	/* once stopped, the READDIRs still due say nothing new (past the
	 * end a server may answer EOF or an error) */
	if ((d->y.r.err || d->y.oom) && !(d->state == L_READ && d->stop))
		ldir_fail(s, d, d->state == L_OPEN ? "open directory" :
			  d->state == L_READ ? "read directory" :
			  "close directory", path);
	if (d->state == L_OPEN && !d->err) {
		d->state = L_READ;
		err = ldir_read(s, d);
	} else if (d->state == L_READ) {
		d->pending--;
		if (!d->stop && (d->err || d->y.r.eof ||
				 (l->max && l->max[d->idx] &&
				  d->y.n > l->max[d->idx]))) {
			d->stop = 1;
			d->truncated = !d->err && !d->y.r.eof;
		}
		if (!d->stop)
			err = ldir_read(s, d);
		else if (!d->pending) {
			d->state = L_CLOSE;
			err = cpk_sftp_req_close(s, &d->h, ldir_cb, d);
		}
	} else {
		/* closed, or the open failed: hand the result over */
		struct cpk_sftp_dir *o = &l->out[d->idx];

		o->err = d->err;
		o->msg = d->msg;
		o->truncated = d->truncated && !d->err;
		if (d->err || o->truncated) {
			cpk_sftp_names_free(d->y.names, d->y.n);
		} else {
			o->names = d->y.names;
			o->n = d->y.n;
		}
		d->msg = NULL;
		d->state = L_FREE;
		l->active--;
		return;
	}
	if (err && d->pending) {
		/* the replies still due come back here (with an error if the
		 * connection is gone): the last one hands over */
		if (!d->err) {
			d->err = err;
			d->msg = cpk_strdup(cpk_errmsg());
		}
		d->stop = 1;
		return;
	}
	if (err) {
		/* not even queued: the connection is in trouble */
		struct cpk_sftp_dir *o = &l->out[d->idx];

		o->err = err;
		o->msg = cpk_strdup(cpk_errmsg());
		free(d->msg);
		d->msg = NULL;
		cpk_sftp_names_free(d->y.names, d->y.n);
		d->state = L_FREE;
		l->active--;
	}
}

cpk_err_t cpk_sftp_listdir_many(struct cpk_sftp *s, const char *const *paths,
				size_t n, const size_t *max,
				struct cpk_sftp_dir *out)
{
	struct lrun l = { paths, out, max, 0 };
	struct ldir *pool;
	unsigned np, k;
	size_t next = 0;
	cpk_err_t err;

	memset(out, 0, n * sizeof(*out));
	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	/* in flight at once: at most one request per directory, and a few
	 * slots left for the replies' follow-ups to find room */
	np = s->window > 8 ? s->window - 4 : 1;
	if (!(pool = calloc(np, sizeof(*pool))))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	while (!err && (next < n || l.active)) {
		for (k = 0; k < np && next < n && s->nfree > 1; k++) {
			struct ldir *d = &pool[k];

			if (d->state != L_FREE)
				continue;
			memset(d, 0, sizeof(*d));
			d->y.h = &d->h;
			d->run = &l;
			d->idx = next;
			d->state = L_OPEN;
			if ((err = cpk_sftp_req_opendir(s, paths[next], ldir_cb,
							d)) != 0) {
				d->state = L_FREE;
				break;
			}
			next++;
			l.active++;
		}
		if (!err && l.active)
			err = xsftp_pump(s, -1);
	}
	for (k = 0; k < np; k++)
		if (pool[k].state != L_FREE) {
			free(pool[k].msg);
			cpk_sftp_names_free(pool[k].y.names, pool[k].y.n);
		}
	free(pool);
	if (err) {
		cpk_sftp_dirs_free(out, n);
		memset(out, 0, n * sizeof(*out));
	}
	return err;
}

void cpk_sftp_dirs_free(struct cpk_sftp_dir *dirs, size_t n)
{
	size_t i;

	for (i = 0; dirs && i < n; i++) {
		cpk_sftp_names_free(dirs[i].names, dirs[i].n);
		free(dirs[i].msg);
		dirs[i].names = NULL;
		dirs[i].msg = NULL;
	}
}
