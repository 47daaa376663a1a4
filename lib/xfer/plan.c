/*
 * Planning a copy: the layout of connections and streams, the plan's
 * entries, and big files split into chunks and small files grouped into
 * batches.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "xfer_priv.h"
#include "strmap.h"

#define MiB (1024ULL * 1024)
#define BATCH_FILES 256
#define BATCH_BYTES (32 * MiB)
/* What one connection moves per round trip on a long link: sshd grants
 * 2 MiB of channel window, of which about 1.3 MiB was measured to arrive
 * per round trip (20 ms relay, one connection: 67 MB/s). */
#define SSH_WINDOW (1.25 * MiB)
#define CORE_RATE 250e6		/* bytes/s one core encrypts and moves */

/* ---- the plan --------------------------------------------------------- */

unsigned xplan_streams(double rtt_ms, long ncpu)
{
	double per_stream, want;
	unsigned n;

	if (ncpu < 1)
		ncpu = 1;
	n = ncpu > 16 ? 16 : (unsigned)ncpu;
	if (rtt_ms > 0) {
		per_stream = SSH_WINDOW / (rtt_ms / 1e3);
		want = (double)ncpu * CORE_RATE / per_stream;
		if (want > n)
			n = want >= XPLAN_MAX_AUTO ? XPLAN_MAX_AUTO :
			    (unsigned)want + 1;
	}
	return n < 2 ? 2 : n;
}

void xplan_layout(double rtt_ms, long ncpu, unsigned conns, unsigned chans,
		  unsigned *out_conns, unsigned *out_chans)
{
	unsigned want = xplan_streams(rtt_ms, ncpu);

	if (!conns) {
		/* A connection per core (each session's crypto is one thread),
		 * more only when channels alone cannot make up the streams:
		 * channels are cheaper to open than connections. */
		conns = ncpu < 1 ? 1 : ncpu < (long)want ? (unsigned)ncpu : want;
		if (conns * XPLAN_MAX_CHANS < want)
			conns = (want + XPLAN_MAX_CHANS - 1) / XPLAN_MAX_CHANS;
		if (conns > XPLAN_MAX_STARTUPS)
			conns = XPLAN_MAX_STARTUPS;
	}
	if (conns > XPLAN_MAX_STREAMS)
		conns = XPLAN_MAX_STREAMS;
	if (!chans) {
		chans = (want + conns - 1) / conns;
		if (chans > XPLAN_MAX_CHANS)
			chans = XPLAN_MAX_CHANS;
	}
	if (chans > XPLAN_MAX_STREAMS / conns)
		chans = XPLAN_MAX_STREAMS / conns;
	*out_conns = conns;
	*out_chans = chans ? chans : 1;
}

unsigned xplan_conns_for_work(uint64_t bytes, uint64_t files,
			      unsigned conns)
{
	uint64_t units = bytes / XPLAN_CONN_BYTES + files / XPLAN_CONN_FILES;

	if (units < 1)
		units = 1;
	return units < conns ? (unsigned)units : conns;
}

#define ARENA_BLOCK (256 * 1024)

/* A copy of S in P's string blocks, or NULL. */
static char *arena_dup(struct xplan *p, const char *s)
{
	size_t n = strlen(s) + 1;
	struct xarena *b = p->strs;
	char *r;

	if (!b || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;

		if (!(b = malloc(sizeof(*b) + cap)))
			return NULL;
		b->next = p->strs;
		b->used = 0;
		b->cap = cap;
		p->strs = b;
	}
	r = b->data + b->used;
	memcpy(r, s, n);
	b->used += n;
	p->strbytes += n;
	return r;
}

/* Frees what the entries own and the string blocks; keeps the arrays. */
static void plan_empty(struct xplan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->e[i].cdone);
		free(p->e[i].err);
	}
	for (i = 0; i < p->nclosed; i++)
		free(p->closed[i].err);
	while (p->strs) {
		struct xarena *b = p->strs;

		p->strs = b->next;
		free(b);
	}
	p->strbytes = 0;
	free(p->t);
	p->t = NULL;
	p->nt = 0;
	p->nsplit = 0;
}

void xplan_release(struct xplan *p)
{
	if (!p)
		return;
	plan_empty(p);
	free(p->e);
	free(p->closed);
	free(p->bad);
	memset(p, 0, sizeof(*p));
}

void xplan_next(struct xplan *p)
{
	plan_empty(p);
	p->base += p->n;
	p->n = 0;
	p->nclosed = 0;
	p->nbad = 0;
	p->bytes = p->files = 0;
}

int xplan_full(const struct xplan *p, size_t seg_max)
{
	return p->n >= (seg_max ? seg_max : XPLAN_SEG_FILES) ||
	       p->strbytes >= XPLAN_SEG_BYTES;
}

cpk_err_t xplan_close_dir(struct xplan *p, const char *dst,
			  const struct xstat *st)
{
	struct xdir *d;

	if (p->nclosed == p->capclosed) {
		size_t cap = p->capclosed ? p->capclosed * 2 : 16;

		if (!(d = cpk_reallocarray(p->closed, cap, sizeof(*d))))
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		p->closed = d;
		p->capclosed = cap;
	}
	d = &p->closed[p->nclosed];
	memset(d, 0, sizeof(*d));
	if (!(d->dst = arena_dup(p, dst)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	d->st = *st;
	p->nclosed++;
	return CPK_OK;
}

cpk_err_t xplan_bad(struct xplan *p, const char *dir, const char *quoted,
		    const struct xstat *st)
{
	struct xbad *b;
	char *where;

	if (p->nbad == p->capbad) {
		size_t cap = p->capbad ? p->capbad * 2 : 8;

		if (!(b = cpk_reallocarray(p->bad, cap, sizeof(*b))))
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		p->bad = b;
		p->capbad = cap;
	}
	b = &p->bad[p->nbad];
	where = xplan_join(dir, quoted);
	b->where = where ? arena_dup(p, where) : NULL;
	free(where);
	if (!b->where)
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	b->why = xfs_bad_why(st);
	p->nbad++;
	p->files++;
	return CPK_OK;
}

cpk_err_t xplan_add(struct xplan *p, char *src, char *dst, char *rel,
		    const struct xstat *st, char *link)
{
	struct xent *e;
	size_t ls, lr;

	if (!src || !dst || !rel)
		goto nomem;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap + p->cap / 2 : 64;

		e = cpk_reallocarray(p->e, cap, sizeof(*e));
		if (!e)
			goto nomem;
		p->e = e;
		p->cap = cap;
	}
	e = &p->e[p->n];
	memset(e, 0, sizeof(*e));
	if (!(e->src = arena_dup(p, src)) || !(e->dst = arena_dup(p, dst)) ||
	    (link && !(e->link = arena_dup(p, link))))
		goto nomem;
	/* the relative name is most often the end of the source's */
	ls = strlen(src);
	lr = strlen(rel);
	if (lr <= ls && !strcmp(src + ls - lr, rel) &&
	    (lr == ls || src[ls - lr - 1] == '/'))
		e->rel = e->src + (ls - lr);
	else if (!(e->rel = arena_dup(p, rel)))
		goto nomem;
	p->n++;
	free(src);
	free(dst);
	free(rel);
	free(link);
	e->st = *st;
	if (st->type == XT_FILE) {
		p->files++;
		p->bytes += st->size;
	}
	return CPK_OK;
nomem:
	free(src);
	free(dst);
	free(rel);
	free(link);
	return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
}

uint64_t xplan_chunk_size(uint64_t size, uint64_t cmin, uint64_t cmax,
			  unsigned parts)
{
	uint64_t c;

	if (size <= cmin)
		return 0;
	c = (size / (parts ? parts : XPLAN_PARTS) + MiB - 1) / MiB * MiB;
	if (c < cmin)
		c = cmin;
	if (c > cmax)
		c = cmax;
	return c;
}

static cpk_err_t add_task(struct xplan *p, size_t *cap, int kind,
			  uint32_t file, uint32_t chunk)
{
	if (p->nt == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct xtask *t = cpk_reallocarray(p->t, nc, sizeof(*t));

		if (!t)
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		p->t = t;
		*cap = nc;
	}
	p->t[p->nt].kind = kind;
	p->t[p->nt].file = file;
	p->t[p->nt].chunk = chunk;
	p->t[p->nt].tries = 0;
	p->nt++;
	return CPK_OK;
}

cpk_err_t xplan_tasks(struct xplan *p, uint64_t cmin, uint64_t cmax,
		      unsigned conns)
{
	uint64_t small_files = 0, small_bytes = 0, per_files, per_bytes;
	uint64_t bf = 0, bb = 0;
	size_t i, cap = 0;
	uint32_t first = 0, last = 0;
	cpk_err_t err;

	free(p->t);
	p->t = NULL;
	p->nt = 0;
	p->nsplit = 0;
	for (i = 0; i < p->n; i++) {
		struct xent *e = &p->e[i];

		if (e->st.type != XT_FILE)
			continue;
		free(e->cdone);
		e->cdone = NULL;
		e->chunk = xplan_chunk_size(e->st.size, cmin, cmax, p->parts);
		e->nchunks = e->chunk ? (uint32_t)((e->st.size + e->chunk - 1) /
						   e->chunk) : 1;
		e->left = e->nchunks;
		if (e->chunk && !e->tmp) {
			char *t = xplan_tmp_name(e->dst, p->token);

			e->tmp = t ? arena_dup(p, t) : NULL;
			free(t);
			if (!e->tmp)
				return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		}
		if (e->chunk && !(e->cdone = calloc(e->nchunks, 1)))
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		if (!e->chunk) {
			small_files++;
			small_bytes += e->st.size;
		}
	}
	/* Spread the small files over the connections, in batches small
	 * enough that a retry repeats little. */
	if (!conns)
		conns = 1;
	per_files = (small_files + conns - 1) / conns;
	per_bytes = (small_bytes + conns - 1) / conns;
	if (per_files > BATCH_FILES || !per_files)
		per_files = BATCH_FILES;
	if (per_bytes > BATCH_BYTES || per_bytes < MiB)
		per_bytes = per_bytes < MiB ? MiB : BATCH_BYTES;
	for (i = 0; i <= p->n; i++) {
		struct xent *e = i < p->n ? &p->e[i] : NULL;
		int small = e && xplan_batched(e);

		/* a batch: small files and what lies between them, up to a
		 * big file (or the end) */
		if (bf && (!e || (e->st.type == XT_FILE && !small) ||
			   (small && (bf >= per_files || bb >= per_bytes)))) {
			if ((err = add_task(p, &cap, TASK_BATCH, first,
					    last + 1 - first)) != 0)
				return err;
			bf = bb = 0;
		}
		if (!e || e->st.type != XT_FILE)
			continue;
		if (small) {
			if (!bf)
				first = (uint32_t)i;
			last = (uint32_t)i;
			bf++;
			bb += e->st.size;
			continue;
		}
		for (uint32_t c = 0; c < e->nchunks; c++)
			if ((err = add_task(p, &cap, TASK_CHUNK, (uint32_t)i,
					    c)) != 0)
				return err;
	}
	/* room for the batches split off later, while workers hold
	 * pointers into t */
	if (small_files) {
		struct xtask *t = cpk_reallocarray(p->t, p->nt + XPLAN_SPLITS,
						   sizeof(*t));

		if (!t)
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		p->t = t;
	}
	return CPK_OK;
}

uint32_t xplan_batch_share(uint32_t files, size_t left, unsigned idle)
{
	uint64_t k;

	if (!files || !left || left >= idle)
		return files;
	/* the queue's batches cut in IDLE pieces of about equal size */
	k = ((uint64_t)files * left + idle - 1) / idle;
	return k < 1 ? 1 : k >= files ? files : (uint32_t)k;
}

long xplan_split(struct xplan *p, size_t ti, uint32_t k)
{
	struct xtask *t, *n;

	if (ti >= p->nt || p->nsplit >= XPLAN_SPLITS)
		return -1;
	t = &p->t[ti];
	if (t->kind != TASK_BATCH || !k || k >= t->chunk)
		return -1;
	n = &p->t[p->nt + p->nsplit];
	*n = *t;
	n->chunk = k;
	t->file += k;
	t->chunk -= k;
	return (long)(p->nt + p->nsplit++);
}

void xplan_digest(const struct xplan *p, char hex[65])
{
	struct xsha256 c;
	size_t i;

	xsha256_init(&c);
	for (i = 0; i < p->n; i++) {
		const struct xent *e = &p->e[i];
		char line[96];
		int len;

		xsha256_update(&c, e->rel, strlen(e->rel) + 1);
		len = snprintf(line, sizeof(line), "%d %llu %o %u", e->st.type,
			       (unsigned long long)e->st.size, e->st.mode,
			       e->st.mtime);
		xsha256_update(&c, line, (size_t)len + 1);
	}
	xsha256_hex(&c, hex);
}
