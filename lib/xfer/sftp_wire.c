/*
 * The SFTP wire format: big-endian integers and strings, file attributes,
 * status codes, and the byte queues requests are encoded into.
 */
#define _GNU_SOURCE
#include "sftp_priv.h"

/* ---- small helpers ---------------------------------------------------- */

uint8_t xsftp_rd_u8(struct rd *r)
{
	if (r->bad || r->n < 1) {
		r->bad = 1;
		return 0;
	}
	r->n--;
	return *r->p++;
}

uint32_t xsftp_rd_u32(struct rd *r)
{
	uint32_t v;

	if (r->bad || r->n < 4) {
		r->bad = 1;
		return 0;
	}
	v = get_be32(r->p);
	r->p += 4;
	r->n -= 4;
	return v;
}

uint64_t xsftp_rd_u64(struct rd *r)
{
	uint64_t hi = xsftp_rd_u32(r);

	return hi << 32 | xsftp_rd_u32(r);
}

const unsigned char *xsftp_rd_str(struct rd *r, size_t *len)
{
	uint32_t n = xsftp_rd_u32(r);
	const unsigned char *p;

	if (r->bad || r->n < n) {
		r->bad = 1;
		*len = 0;
		return NULL;
	}
	p = r->p;
	r->p += n;
	r->n -= n;
	*len = n;
	return p;
}

void xsftp_rd_attr(struct rd *r, struct cpk_sftp_attr *a)
{
	uint32_t i, next;

	memset(a, 0, sizeof(*a));
	a->flags = xsftp_rd_u32(r);
	if (a->flags & CPK_SFTP_ATTR_SIZE)
		a->size = xsftp_rd_u64(r);
	if (a->flags & CPK_SFTP_ATTR_UIDGID) {
		a->uid = xsftp_rd_u32(r);
		a->gid = xsftp_rd_u32(r);
	}
	if (a->flags & CPK_SFTP_ATTR_PERM)
		a->perm = xsftp_rd_u32(r);
	if (a->flags & CPK_SFTP_ATTR_TIMES) {
		a->atime = xsftp_rd_u32(r);
		a->mtime = xsftp_rd_u32(r);
	}
	if (a->flags & 0x80000000u) {	/* extended pairs: skipped */
		next = xsftp_rd_u32(r);
		for (i = 0; i < next && !r->bad; i++) {
			size_t l;

			xsftp_rd_str(r, &l);
			xsftp_rd_str(r, &l);
		}
	}
	a->flags &= CPK_SFTP_ATTR_SIZE | CPK_SFTP_ATTR_UIDGID |
		    CPK_SFTP_ATTR_PERM | CPK_SFTP_ATTR_TIMES;
}

size_t xsftp_attr_len(const struct cpk_sftp_attr *a)
{
	size_t n = 4;

	if (!a)
		return n;
	if (a->flags & CPK_SFTP_ATTR_SIZE)
		n += 8;
	if (a->flags & CPK_SFTP_ATTR_UIDGID)
		n += 8;
	if (a->flags & CPK_SFTP_ATTR_PERM)
		n += 4;
	if (a->flags & CPK_SFTP_ATTR_TIMES)
		n += 8;
	return n;
}

void xsftp_put_attr(unsigned char **w, const struct cpk_sftp_attr *a)
{
	uint32_t f;

	if (!a) {
		put_u32(w, 0);
		return;
	}
	f = a->flags & (CPK_SFTP_ATTR_SIZE | CPK_SFTP_ATTR_UIDGID |
			CPK_SFTP_ATTR_PERM | CPK_SFTP_ATTR_TIMES);
	put_u32(w, f);
	if (f & CPK_SFTP_ATTR_SIZE)
		put_u64(w, a->size);
	if (f & CPK_SFTP_ATTR_UIDGID) {
		put_u32(w, a->uid);
		put_u32(w, a->gid);
	}
	if (f & CPK_SFTP_ATTR_PERM)
		put_u32(w, a->perm);
	if (f & CPK_SFTP_ATTR_TIMES) {
		put_u32(w, a->atime);
		put_u32(w, a->mtime);
	}
}

const char *xsftp_status_text(uint32_t st)
{
	switch (st) {
	case FX_OK: return "success";
	case FX_EOF: return "end of file";
	case FX_NO_SUCH_FILE: return "no such file";
	case FX_PERMISSION_DENIED: return "permission denied";
	case FX_FAILURE: return "failure";
	case FX_BAD_MESSAGE: return "bad message";
	case FX_NO_CONNECTION: return "no connection";
	case FX_CONNECTION_LOST: return "connection lost";
	case FX_OP_UNSUPPORTED: return "operation unsupported";
	default: return "unknown status";
	}
}

cpk_err_t xsftp_status_err(uint32_t st)
{
	switch (st) {
	case FX_OK: return CPK_OK;
	case FX_NO_SUCH_FILE: return CPK_ERR_NOTFOUND;
	case FX_PERMISSION_DENIED: return CPK_ERR_PERM;
	case FX_BAD_MESSAGE:
	case FX_OP_UNSUPPORTED: return CPK_ERR_INVALID;
	default: return CPK_ERR_IO;
	}
}

int64_t xsftp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t xsftp_now_ms(void)
{
	return xsftp_now_us() / 1000;
}

/* ---- byte queues -------------------------------------------------------- */

/* From this capacity on, a queue compacts rather than grows when it can. */
#define BQ_COMPACT	(1024 * 1024)

size_t xsftp_bq_len(const struct bq *b)
{
	return b->tail - b->head;
}

/* Makes room for N more bytes at tail; returns the write pointer or NULL. */
unsigned char *xsftp_bq_reserve(struct bq *b, size_t n)
{
	size_t live = xsftp_bq_len(b), want;
	unsigned char *p;

	if (b->cap - b->tail >= n)
		return b->p + b->tail;
	if (live + n <= b->cap && b->head >= live) {
		/* Cheap: the live part is no larger than what was consumed. */
		memmove(b->p, b->p + b->head, live);
		b->head = 0;
		b->tail = live;
		return b->p + b->tail;
	}
	if (live + n <= b->cap && b->cap >= BQ_COMPACT) {
		/* Grown enough: compacting beats growing further. */
		memmove(b->p, b->p + b->head, live);
		b->head = 0;
		b->tail = live;
		return b->p + b->tail;
	}
	if (n > SIZE_MAX / 4 - live)
		return NULL;
	/* Twice what is live: a later compaction frees at least half. */
	want = 2 * (live + n);
	want = want < 65536 ? 65536 : (want + 65535) / 65536 * 65536;
	p = malloc(want);
	if (!p)
		return NULL;
	if (live)
		memcpy(p, b->p + b->head, live);
	free(b->p);
	b->p = p;
	b->cap = want;
	b->head = 0;
	b->tail = live;
	return b->p + b->tail;
}

void xsftp_bq_consume(struct bq *b, size_t n)
{
	b->head += n;
	if (b->head == b->tail)
		b->head = b->tail = 0;
}
