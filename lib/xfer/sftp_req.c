/*
 * Request encoding: the asynchronous request API (cpk_sftp_req_*), each
 * request written straight into the send queue.
 */
#define _GNU_SOURCE
#include "sftp_priv.h"

/* ---- request encoding ------------------------------------------------ */

/* Waits for a free slot and below max_unsent (not inside callbacks). */
static cpk_err_t wait_slot(struct cpk_sftp *s)
{
	cpk_err_t err;

	for (;;) {
		if (s->dead)
			return xsftp_dead_err(s);
		if (s->nfree && (xsftp_bq_len(&s->tx) < s->max_unsent || s->in_cb))
			return CPK_OK;
		if (s->in_cb)
			return cpk_err_set(CPK_ERR_INVALID, "sftp request "
					   "window to %s full (%u in flight): "
					   "cannot queue from a callback",
					   s->where, s->window);
		if ((err = xsftp_pump(s, -1)) != 0)
			return err;
	}
}

/*
 * Starts a request of BODY bytes after type and id: returns the write
 * pointer at the body.  req_commit() makes it live.
 */
static cpk_err_t req_begin(struct cpk_sftp *s, uint8_t type, size_t body,
			   unsigned char **w, unsigned *slot)
{
	size_t total;
	unsigned idx;
	cpk_err_t err;

	if ((err = wait_slot(s)) != 0)
		return err;
	if (body > s->max_out - 5)
		return cpk_err_set(CPK_ERR_INVALID, "sftp request of %zu bytes "
				   "is larger than the %zu the server on %s "
				   "accepts", body + 5, s->max_out, s->where);
	total = 9 + body;
	*w = xsftp_bq_reserve(&s->tx, total);
	if (!*w)
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory queueing an "
				   "sftp request to %s", s->where);
	idx = s->freelist[s->nfree - 1];
	s->seq++;
	s->slots[idx].id = (s->seq << SLOT_BITS) | idx;
	put_u32(w, (uint32_t)(total - 4));
	put_u8(w, type);
	put_u32(w, s->slots[idx].id);
	*slot = idx;
	return CPK_OK;
}

static void req_commit(struct cpk_sftp *s, unsigned idx, uint8_t op,
		       unsigned char *end, uint64_t off, uint32_t want,
		       cpk_sftp_cb *cb, void *arg)
{
	struct slot *sl = &s->slots[idx];

	s->tx.tail = (size_t)(end - s->tx.p);
	s->nfree--;	/* idx is the top of the free stack */
	sl->op = op;
	sl->used = 1;
	sl->offset = off;
	sl->want = want;
	sl->cb = cb;
	sl->arg = arg;
}

static cpk_err_t check_str(struct cpk_sftp *s, const char *what,
			   const void *p)
{
	if (!s)
		return cpk_err_set(CPK_ERR_INVALID, "sftp: no connection");
	if (!p)
		return cpk_err_set(CPK_ERR_INVALID, "sftp: no %s given", what);
	return CPK_OK;
}

/* A request whose body is one string (path) and an optional attr. */
cpk_err_t xsftp_req_path(struct cpk_sftp *s, uint8_t op, const char *path,
			  const struct cpk_sftp_attr *attr, int with_attr,
			  cpk_sftp_cb *cb, void *arg)
{
	size_t pl, body;
	unsigned char *w;
	unsigned idx;
	cpk_err_t err;

	if ((err = check_str(s, "path", path)) != 0)
		return err;
	pl = strlen(path);
	body = 4 + pl + (with_attr ? xsftp_attr_len(attr) : 0);
	if ((err = req_begin(s, op, body, &w, &idx)) != 0)
		return err;
	put_bytes(&w, path, pl);
	if (with_attr)
		xsftp_put_attr(&w, attr);
	req_commit(s, idx, op, w, 0, 0, cb, arg);
	return CPK_OK;
}

/* A request whose body is a handle, an optional attr. */
static cpk_err_t req_handle(struct cpk_sftp *s, uint8_t op,
			    const struct cpk_sftp_handle *h,
			    const struct cpk_sftp_attr *attr, int with_attr,
			    cpk_sftp_cb *cb, void *arg)
{
	unsigned char *w;
	unsigned idx;
	cpk_err_t err;

	if ((err = check_str(s, "handle", h)) != 0)
		return err;
	if (h->len > CPK_SFTP_HANDLE_MAX)
		return cpk_err_set(CPK_ERR_INVALID, "sftp: invalid handle");
	if ((err = req_begin(s, op, 4 + h->len +
			     (with_attr ? xsftp_attr_len(attr) : 0), &w, &idx)) != 0)
		return err;
	put_bytes(&w, h->data, h->len);
	if (with_attr)
		xsftp_put_attr(&w, attr);
	req_commit(s, idx, op, w, 0, 0, cb, arg);
	return CPK_OK;
}

cpk_err_t cpk_sftp_req_open(struct cpk_sftp *s, const char *path,
			    unsigned flags, const struct cpk_sftp_attr *attr,
			    cpk_sftp_cb *cb, void *arg)
{
	size_t pl;
	unsigned char *w;
	unsigned idx;
	cpk_err_t err;

	if ((err = check_str(s, "path", path)) != 0)
		return err;
	pl = strlen(path);
	if ((err = req_begin(s, CPK_SFTP_OP_OPEN, 4 + pl + 4 + xsftp_attr_len(attr),
			     &w, &idx)) != 0)
		return err;
	put_bytes(&w, path, pl);
	put_u32(&w, flags);
	xsftp_put_attr(&w, attr);
	req_commit(s, idx, CPK_SFTP_OP_OPEN, w, 0, 0, cb, arg);
	return CPK_OK;
}

cpk_err_t cpk_sftp_req_close(struct cpk_sftp *s,
			     const struct cpk_sftp_handle *h,
			     cpk_sftp_cb *cb, void *arg)
{
	return req_handle(s, CPK_SFTP_OP_CLOSE, h, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_read(struct cpk_sftp *s,
			    const struct cpk_sftp_handle *h, uint64_t off,
			    uint32_t len, cpk_sftp_cb *cb, void *arg)
{
	unsigned char *w;
	unsigned idx;
	cpk_err_t err;

	if ((err = check_str(s, "handle", h)) != 0)
		return err;
	if (h->len > CPK_SFTP_HANDLE_MAX || len == 0 || len > s->chunk)
		return cpk_err_set(CPK_ERR_INVALID, "sftp read of %" PRIu32
				   " bytes: must be 1..%zu", len, s->chunk);
	if ((err = req_begin(s, CPK_SFTP_OP_READ, 4 + h->len + 12, &w,
			     &idx)) != 0)
		return err;
	put_bytes(&w, h->data, h->len);
	put_u64(&w, off);
	put_u32(&w, len);
	req_commit(s, idx, CPK_SFTP_OP_READ, w, off, len, cb, arg);
	return CPK_OK;
}

/* Common part of the two WRITE variants: the data goes to *DATA. */
static cpk_err_t write_begin(struct cpk_sftp *s,
			     const struct cpk_sftp_handle *h, uint64_t off,
			     uint32_t len, unsigned char **data, unsigned *idx)
{
	unsigned char *w;
	cpk_err_t err;

	if ((err = check_str(s, "handle", h)) != 0)
		return err;
	if (h->len > CPK_SFTP_HANDLE_MAX || len > s->chunk)
		return cpk_err_set(CPK_ERR_INVALID, "sftp write of %" PRIu32
				   " bytes: must be at most %zu", len,
				   s->chunk);
	if ((err = req_begin(s, CPK_SFTP_OP_WRITE, 4 + h->len + 12 + len,
			     &w, idx)) != 0)
		return err;
	put_bytes(&w, h->data, h->len);
	put_u64(&w, off);
	put_u32(&w, len);
	*data = w;
	return CPK_OK;
}

cpk_err_t cpk_sftp_req_write(struct cpk_sftp *s,
			     const struct cpk_sftp_handle *h, uint64_t off,
			     const void *data, uint32_t len,
			     cpk_sftp_cb *cb, void *arg)
{
	unsigned char *w;
	unsigned idx;
	cpk_err_t err;

	if (len && !data)
		return cpk_err_set(CPK_ERR_INVALID, "sftp write: no data");
	if ((err = write_begin(s, h, off, len, &w, &idx)) != 0)
		return err;
	if (len)
		memcpy(w, data, len);
	req_commit(s, idx, CPK_SFTP_OP_WRITE, w + len, off, len, cb, arg);
	return CPK_OK;
}

cpk_err_t cpk_sftp_req_write_fd(struct cpk_sftp *s,
				const struct cpk_sftp_handle *h, uint64_t off,
				int fd, uint64_t fd_off, uint32_t len,
				cpk_sftp_cb *cb, void *arg)
{
	unsigned char *w;
	unsigned idx;
	size_t got = 0;
	cpk_err_t err;

	if ((err = write_begin(s, h, off, len, &w, &idx)) != 0)
		return err;
	while (got < len) {
		ssize_t n = pread(fd, w + got, len - got,
				  (off_t)(fd_off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cpk_err_sys("cannot read %" PRIu32 " bytes at "
					   "offset %" PRIu64 " of the local "
					   "file", len, fd_off);
		if (n == 0)
			return cpk_err_set(CPK_ERR_IO, "local file changed size:"
					   " end of file at offset %" PRIu64
					   ", expected %" PRIu64 " more bytes",
					   fd_off + got, (uint64_t)(len - got));
		got += (size_t)n;
	}
	req_commit(s, idx, CPK_SFTP_OP_WRITE, w + len, off, len, cb, arg);
	return CPK_OK;
}

cpk_err_t cpk_sftp_req_stat(struct cpk_sftp *s, const char *path,
			    cpk_sftp_cb *cb, void *arg)
{
	return xsftp_req_path(s, CPK_SFTP_OP_STAT, path, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_lstat(struct cpk_sftp *s, const char *path,
			     cpk_sftp_cb *cb, void *arg)
{
	return xsftp_req_path(s, CPK_SFTP_OP_LSTAT, path, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_fstat(struct cpk_sftp *s,
			     const struct cpk_sftp_handle *h,
			     cpk_sftp_cb *cb, void *arg)
{
	return req_handle(s, CPK_SFTP_OP_FSTAT, h, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_setstat(struct cpk_sftp *s, const char *path,
			       const struct cpk_sftp_attr *attr,
			       cpk_sftp_cb *cb, void *arg)
{
	return xsftp_req_path(s, CPK_SFTP_OP_SETSTAT, path, attr, 1, cb, arg);
}

cpk_err_t cpk_sftp_req_fsetstat(struct cpk_sftp *s,
				const struct cpk_sftp_handle *h,
				const struct cpk_sftp_attr *attr,
				cpk_sftp_cb *cb, void *arg)
{
	return req_handle(s, CPK_SFTP_OP_FSETSTAT, h, attr, 1, cb, arg);
}

cpk_err_t cpk_sftp_req_mkdir(struct cpk_sftp *s, const char *path,
			     const struct cpk_sftp_attr *attr,
			     cpk_sftp_cb *cb, void *arg)
{
	return xsftp_req_path(s, CPK_SFTP_OP_MKDIR, path, attr, 1, cb, arg);
}

cpk_err_t cpk_sftp_req_rmdir(struct cpk_sftp *s, const char *path,
			     cpk_sftp_cb *cb, void *arg)
{
	return xsftp_req_path(s, CPK_SFTP_OP_RMDIR, path, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_remove(struct cpk_sftp *s, const char *path,
			      cpk_sftp_cb *cb, void *arg)
{
	return xsftp_req_path(s, CPK_SFTP_OP_REMOVE, path, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_opendir(struct cpk_sftp *s, const char *path,
			       cpk_sftp_cb *cb, void *arg)
{
	return xsftp_req_path(s, CPK_SFTP_OP_OPENDIR, path, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_readdir(struct cpk_sftp *s,
			       const struct cpk_sftp_handle *h,
			       cpk_sftp_cb *cb, void *arg)
{
	return req_handle(s, CPK_SFTP_OP_READDIR, h, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_readlink(struct cpk_sftp *s, const char *path,
				cpk_sftp_cb *cb, void *arg)
{
	return xsftp_req_path(s, CPK_SFTP_OP_READLINK, path, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_realpath(struct cpk_sftp *s, const char *path,
				cpk_sftp_cb *cb, void *arg)
{
	return xsftp_req_path(s, CPK_SFTP_OP_REALPATH, path, NULL, 0, cb, arg);
}

/* Two strings: RENAME, SYMLINK, or EXTENDED name + two strings. */
static cpk_err_t req_two(struct cpk_sftp *s, uint8_t op, const char *ext,
			 const char *a, const char *b, cpk_sftp_cb *cb,
			 void *arg)
{
	size_t la, lb, le = ext ? strlen(ext) : 0;
	unsigned char *w;
	unsigned idx;
	cpk_err_t err;

	if ((err = check_str(s, "path", a)) != 0 ||
	    (err = check_str(s, "path", b)) != 0)
		return err;
	la = strlen(a);
	lb = strlen(b);
	if ((err = req_begin(s, op, (ext ? 4 + le : 0) + 8 + la + lb, &w,
			     &idx)) != 0)
		return err;
	if (ext)
		put_bytes(&w, ext, le);
	put_bytes(&w, a, la);
	put_bytes(&w, b, lb);
	req_commit(s, idx, op, w, 0, 0, cb, arg);
	return CPK_OK;
}

cpk_err_t cpk_sftp_req_rename(struct cpk_sftp *s, const char *from,
			      const char *to, unsigned flags,
			      cpk_sftp_cb *cb, void *arg)
{
	if (!(flags & CPK_SFTP_RENAME_OVERWRITE))
		return req_two(s, CPK_SFTP_OP_RENAME, NULL, from, to, cb, arg);
	if (s && !(s->ext & EXT_POSIX_RENAME))
		return cpk_err_set(CPK_ERR_INVALID, "the sftp server on %s "
				   "cannot replace files on rename (no "
				   "posix-rename@openssh.com)", s->where);
	return req_two(s, CPK_SFTP_OP_EXTENDED, "posix-rename@openssh.com",
		       from, to, cb, arg);
}

cpk_err_t cpk_sftp_req_symlink(struct cpk_sftp *s, const char *target,
			       const char *linkpath, cpk_sftp_cb *cb,
			       void *arg)
{
	/* draft-02 says (linkpath, target); OpenSSH has always read them the
	 * other way round, and other servers copied it. */
	if (s && !s->openssh)
		return req_two(s, CPK_SFTP_OP_SYMLINK, NULL, linkpath, target,
			       cb, arg);
	return req_two(s, CPK_SFTP_OP_SYMLINK, NULL, target, linkpath, cb,
		       arg);
}

cpk_err_t cpk_sftp_req_extended(struct cpk_sftp *s, const char *name,
				const void *payload, size_t len,
				cpk_sftp_cb *cb, void *arg)
{
	unsigned char *w;
	unsigned idx;
	size_t nl;
	cpk_err_t err;

	if ((err = check_str(s, "extension name", name)) != 0)
		return err;
	if ((len && !payload) || len > SIZE_MAX / 4)
		return cpk_err_set(CPK_ERR_INVALID, "sftp extended request: "
				   "invalid payload");
	nl = strlen(name);
	if ((err = req_begin(s, CPK_SFTP_OP_EXTENDED, 4 + nl + len, &w,
			     &idx)) != 0)
		return err;
	put_bytes(&w, name, nl);
	if (len)
		memcpy(w, payload, len);
	req_commit(s, idx, CPK_SFTP_OP_EXTENDED, w + len, 0, 0, cb, arg);
	return CPK_OK;
}

cpk_err_t cpk_sftp_reply_error(struct cpk_sftp *s,
			       const struct cpk_sftp_reply *r,
			       const char *what, ...)
{
	char pre[512];
	va_list ap;

	if (!r->err)
		return CPK_OK;
	va_start(ap, what);
	vsnprintf(pre, sizeof(pre), what, ap);
	va_end(ap);
	if (r->status == FX_CONNECTION_LOST && s && s->dead)
		return cpk_err_set(r->err, "%s: %s", pre, r->msg);
	return cpk_err_set(r->err, "%s: %s (server: %s)", pre,
			   r->status ? xsftp_status_text(r->status) :
			   cpk_strerror(r->err),
			   r->msg && *r->msg ? r->msg : "no message");
}
