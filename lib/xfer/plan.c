/*
 * Planning a copy: walking the sources, naming the destinations, splitting
 * big files into chunks and grouping small files into batches.  Also the
 * operand syntax "[user@]host:path".
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

/* ---- operands --------------------------------------------------------- */

void cpk_xfer_target_release(struct cpk_xfer_target *t)
{
	if (!t)
		return;
	free(t->user);
	free(t->host);
	free(t->path);
	memset(t, 0, sizeof(*t));
}

cpk_err_t cpk_xfer_target_parse(const char *arg, struct cpk_xfer_target *t)
{
	const char *p, *colon = NULL, *host, *at = NULL;
	size_t hostlen;
	int depth = 0;

	memset(t, 0, sizeof(*t));
	if (!arg || !*arg)
		return cpk_err_set(CPK_ERR_INVALID, "empty path");
	/* the first colon outside brackets, unless a slash comes first */
	for (p = arg; *p && !colon; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']' && depth)
			depth--;
		else if (*p == '/' && !depth)
			break;
		else if (*p == ':' && !depth)
			colon = p;
	}
	if (!colon || colon == arg)
		goto local;
	for (p = arg; p < colon; p++)
		if (*p == '@')
			at = p;	/* the last @ separates the user */
	host = at ? at + 1 : arg;
	hostlen = (size_t)(colon - host);
	if (hostlen && *host == '[') {
		if (hostlen < 2 || host[hostlen - 1] != ']')
			goto local;
		host++;
		hostlen -= 2;
	}
	if (at == arg)
		return cpk_err_set(CPK_ERR_INVALID, "%s: empty user name", arg);
	if (!hostlen)
		return cpk_err_set(CPK_ERR_INVALID, "%s: empty host name", arg);
	if (at && !(t->user = cpk_strndup(arg, (size_t)(at - arg))))
		goto nomem;
	if (!(t->host = cpk_strndup(host, hostlen)) ||
	    !(t->path = cpk_strdup(colon + 1)))
		goto nomem;
	return CPK_OK;
local:
	if ((t->path = cpk_strdup(arg)))
		return CPK_OK;
nomem:
	cpk_xfer_target_release(t);
	return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
}

/* ---- names ------------------------------------------------------------ */

/* B's string in exactly the memory it needs: a plan holds several names per
 * file, and a buffer's slack would double their cost. */
static char *detach_exact(struct cpk_buf *b)
{
	size_t len;
	char *s = cpk_buf_detach(b, &len), *t;

	if (s && (t = realloc(s, len + 1)) != NULL)
		s = t;
	return s;
}

char *xplan_join(const char *dir, const char *name)
{
	struct cpk_buf b = CPK_BUF_INIT;
	size_t dl = strlen(dir);

	cpk_buf_addstr(&b, dir);
	if (dl && dir[dl - 1] != '/')
		cpk_buf_addch(&b, '/');
	cpk_buf_addstr(&b, name);
	return detach_exact(&b);
}

/* The last component of PATH without trailing slashes ("" for "/"). */
static char *base_name(const char *path)
{
	size_t end = strlen(path), start;

	while (end > 1 && path[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (end - start == 1 && path[start] == '/')
		return cpk_strdup("");
	return cpk_strndup(path + start, end - start);
}

char *xplan_dst_root(const char *src, const char *dst, int dst_is_dir)
{
	char *b, *r;

	if (!dst_is_dir)
		return cpk_strdup(dst);
	if (!(b = base_name(src)))
		return NULL;
	/* "dir/." or "/" copy the contents into DST itself */
	r = !*b || !strcmp(b, ".") || !strcmp(b, "..") ? cpk_strdup(dst) :
	    xplan_join(dst, b);
	free(b);
	return r;
}

char *xplan_tmp_name(const char *path, const char *token)
{
	struct cpk_buf b = CPK_BUF_INIT;
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;

	cpk_buf_add(&b, path, dirlen);
	cpk_buf_addf(&b, ".%s.%s.cpk-part", path + dirlen, token);
	return detach_exact(&b);
}

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
	uint32_t first = 0;
	cpk_err_t err;

	free(p->t);
	p->t = NULL;
	p->nt = 0;
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
		int small = e && e->st.type == XT_FILE && !e->chunk;

		/* a batch is a run of consecutive small files */
		if (bf && (!small || bf >= per_files || bb >= per_bytes)) {
			if ((err = add_task(p, &cap, TASK_BATCH, first,
					    (uint32_t)bf)) != 0)
				return err;
			bf = bb = 0;
		}
		if (!e || e->st.type != XT_FILE)
			continue;
		if (small) {
			if (!bf)
				first = (uint32_t)i;
			bf++;
			bb += e->st.size;
			continue;
		}
		for (uint32_t c = 0; c < e->nchunks; c++)
			if ((err = add_task(p, &cap, TASK_CHUNK, (uint32_t)i,
					    c)) != 0)
				return err;
	}
	return CPK_OK;
}

/* ---- the walk ------------------------------------------------------------ */

/* Directory listings fetched ahead, by path. */
struct xlcache {
	struct cpk_strmap map;	/* path -> index in v */
	struct xlisting *v;
	char **paths;		/* the keys, owned */
	unsigned char *taken;	/* v[i] was handed to the walk */
	size_t n, cap, ntaken;
	size_t entries;		/* names held */
	size_t ndirs, nnames;	/* listings fetched so far, and their names */
};

static void lcache_release(struct xlcache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++) {
		xfs_listing_release(&c->v[i]);
		free(c->paths[i]);
	}
	free(c->v);
	free(c->paths);
	free(c->taken);
	cpk_strmap_release(&c->map);
	memset(c, 0, sizeof(*c));
}

/* Takes over PATH and L (on failure too). */
static cpk_err_t lcache_add(struct xlcache *c, char *path, struct xlisting *l)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct xlisting *v = cpk_reallocarray(c->v, cap, sizeof(*v));
		char **p = v ? cpk_reallocarray(c->paths, cap, sizeof(*p)) :
			   NULL;
		unsigned char *t = p ? realloc(c->taken, cap) : NULL;

		if (v)
			c->v = v;
		if (p)
			c->paths = p;
		if (t)
			c->taken = t;
		if (!v || !p || !t)
			goto nomem;
		c->cap = cap;
	}
	if (cpk_strmap_put(&c->map, path, c->n, NULL) < 0)
		goto nomem;
	c->paths[c->n] = path;
	c->taken[c->n] = 0;
	c->entries += l->n;
	c->v[c->n++] = *l;
	memset(l, 0, sizeof(*l));
	return CPK_OK;
nomem:
	free(path);
	xfs_listing_release(l);
	return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
}

/* Drops the taken listings and rebuilds the map (its keys are borrowed
 * from paths[]). */
static cpk_err_t lcache_compact(struct xlcache *c)
{
	size_t i, k = 0;

	cpk_strmap_release(&c->map);
	for (i = 0; i < c->n; i++) {
		if (!c->taken[i]) {
			c->paths[k] = c->paths[i];
			c->v[k] = c->v[i];
			c->taken[k] = 0;
			if (cpk_strmap_put(&c->map, c->paths[k], k, NULL) < 0)
				return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			k++;
		} else {
			free(c->paths[i]);
		}
	}
	c->n = k;
	c->ntaken = 0;
	return CPK_OK;
}

/* Takes PATH's listing out of the cache into *L; 0 if it is not there. */
static int lcache_take(struct xlcache *c, const char *path,
		       struct xlisting *l)
{
	size_t i;

	if (!cpk_strmap_get(&c->map, path, &i) || c->taken[i])
		return 0;
	*l = c->v[i];
	memset(&c->v[i], 0, sizeof(c->v[i]));
	c->entries -= l->n;
	c->taken[i] = 1;
	if (++c->ntaken > 64 && c->ntaken > c->n / 2 && lcache_compact(c) != 0) {
		/* out of memory: forget what was fetched ahead */
		lcache_release(c);
	}
	return 1;
}

static int lcache_has(struct xlcache *c, const char *path)
{
	size_t i;

	return cpk_strmap_get(&c->map, path, &i) && !c->taken[i];
}

/* A directory being walked: its listing and how far the walk got. */
struct xwframe {
	char *src, *dst, *rel;	/* owned */
	struct xstat st;	/* the directory's own */
	char **names;		/* all of it, sorted; or (rd) the piece read */
	struct xstat *sts;
	size_t n, i;
	struct xdirrd *rd;	/* a big directory, read in pieces */
	int eof;		/* rd: nothing more to read */
};

static void frame_release(struct xwframe *fr)
{
	free(fr->src);
	free(fr->dst);
	free(fr->rel);
	xfs_names_free(fr->names, fr->n);
	free(fr->sts);
	xfs_closedir(fr->rd);
	memset(fr, 0, sizeof(*fr));
}

/* The next piece of a big directory into FR. */
static cpk_err_t frame_read(struct xwalk *w, struct xwframe *fr)
{
	xfs_names_free(fr->names, fr->n);
	free(fr->sts);
	fr->names = NULL;
	fr->sts = NULL;
	fr->n = fr->i = 0;
	return xfs_readdir(fr->rd, XWALK_PIECE, &fr->names, &fr->sts, &fr->n,
			   &fr->eof);
}

void xwalk_init(struct xwalk *w, const struct xfs *f, int recursive,
		int follow, size_t whole)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	w->recursive = recursive;
	w->follow = follow;
	w->whole = whole ? whole : XPLAN_SEG_FILES;
}

void xwalk_release(struct xwalk *w)
{
	while (w->depth)
		frame_release(&w->fr[--w->depth]);
	free(w->fr);
	lcache_release(w->c);
	free(w->c);
	w->fr = NULL;
	w->cap = 0;
	w->c = NULL;
}

static int in_batch(char **paths, size_t n, const char *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(paths[i], p))
			return 1;
	return 0;
}

/*
 * Fetches directory SRC's listing and those of up to XWALK_AHEAD - 1
 * directories the walk will enter after it (the directories still ahead
 * in the frames, nearest first, then those in listings fetched before),
 * all requests in flight together: the walk then costs a few round trips
 * per round instead of three per directory.
 */
static cpk_err_t fetch_ahead(struct xwalk *w, const char *src)
{
	struct xlcache *c = w->c;
	char **paths = NULL;
	struct xlisting *out = NULL;
	size_t n = 0, i, d, k, max, room, *caps = NULL;
	cpk_err_t err = CPK_OK;

	/* Sizes are known only once listed: a round takes as many
	 * directories as would fill the cache if each were as long as the
	 * listings so far on average, each capped at twice its share (a
	 * longer one is dropped, and listed when the walk gets there). */
	room = c->entries < XWALK_CACHED ? XWALK_CACHED - c->entries : 0;
	max = 1 + room / (c->ndirs ? (c->nnames / c->ndirs) + 1 : 64);
	if (max > XWALK_AHEAD)
		max = XWALK_AHEAD;
	if (!(paths = calloc(max, sizeof(*paths))) ||
	    !(paths[n++] = cpk_strdup(src)))
		goto nomem;
	for (d = w->depth; d-- > 0 && n < max;) {
		struct xwframe *fr = &w->fr[d];

		for (k = fr->i; k < fr->n && n < max; k++) {
			char *sub;

			if (fr->sts[k].type != XT_DIR)
				continue;
			if (!(sub = xplan_join(fr->src, fr->names[k])))
				goto nomem;
			if (!strcmp(sub, src) || lcache_has(c, sub)) {
				free(sub);
				continue;
			}
			paths[n++] = sub;
		}
	}
	/* then the directories in listings already fetched ahead: the walk
	 * enters them after these */
	for (i = 0; i < c->n && n < max; i++) {
		const struct xlisting *l = &c->v[i];

		for (k = 0; !c->taken[i] && k < l->n && n < max; k++) {
			char *sub;

			if (l->sts[k].type != XT_DIR)
				continue;
			if (!(sub = xplan_join(c->paths[i], l->names[k])))
				goto nomem;
			if (lcache_has(c, sub) || in_batch(paths, n, sub)) {
				free(sub);
				continue;
			}
			paths[n++] = sub;
		}
	}
	if (!(out = calloc(n, sizeof(*out))) ||
	    !(caps = calloc(n, sizeof(*caps))))
		goto nomem;
	/* SRC itself: whole up to w->whole entries (bigger ones are read in
	 * pieces: the same decision whatever was fetched before) */
	caps[0] = w->whole;
	for (i = 1; i < n; i++)
		caps[i] = 2 * (room / n) + 64;
	if ((err = xfs_list_many(w->f, (const char *const *)paths, n, caps,
				 out)) != 0)
		goto out;
	for (i = 0; i < n && !err; i++) {
		if (i && out[i].truncated)
			continue;	/* over its share: left for later */
		c->ndirs++;
		c->nnames += out[i].n;
		err = lcache_add(c, paths[i], &out[i]);
		paths[i] = NULL;
	}
	goto out;
nomem:
	err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
out:
	for (i = 0; paths && i < n; i++) {
		free(paths[i]);
		if (out)
			xfs_listing_release(&out[i]);
	}
	free(paths);
	free(out);
	free(caps);
	return err;
}

/* Enters directory SRC (taking over SRC, DST, REL, on failure too). */
static cpk_err_t push_dir(struct xwalk *w, char *src, char *dst, char *rel,
			  const struct xstat *st)
{
	struct xwframe fr;
	struct xlisting l;
	cpk_err_t err = CPK_OK;

	memset(&fr, 0, sizeof(fr));
	fr.src = src;
	fr.dst = dst;
	fr.rel = rel;
	fr.st = *st;
	if (!src || !dst || !rel) {
		err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (w->depth > 256) {
		err = cpk_err_set(CPK_ERR_INVALID, "%s: directories nested too "
				  "deep (a symlink loop?)", src);
		goto fail;
	}
	if (w->depth == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct xwframe *v = cpk_reallocarray(w->fr, cap, sizeof(*v));

		if (!v) {
			err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			goto fail;
		}
		w->fr = v;
		w->cap = cap;
	}
	if (w->f->s) {
		if (!w->c && !(w->c = calloc(1, sizeof(*w->c)))) {
			err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			goto fail;
		}
		if (!lcache_has(w->c, src) && (err = fetch_ahead(w, src)) != 0)
			goto fail;
		if (!lcache_take(w->c, src, &l)) {
			err = cpk_err_set(CPK_ERR_IO, "%s: cannot list the "
					  "directory", src);
			goto fail;
		}
		if (l.err || l.msg) {
			err = cpk_err_set(l.err ? l.err : CPK_ERR_IO, "%s",
					  l.msg ? l.msg : "cannot list the "
					  "directory");
			xfs_listing_release(&l);
			goto fail;
		}
		if (l.truncated) {
			/* too big to hold: read in pieces */
			if ((err = xfs_opendir(w->f, src, &fr.rd)) != 0 ||
			    (err = frame_read(w, &fr)) != 0)
				goto fail;
		} else {
			fr.names = l.names;
			fr.sts = l.sts;
			fr.n = l.n;
		}
	} else {
		/* whole and sorted if it is not too big, else in pieces, in
		 * the order the file system gives (the same while it does not
		 * change, which a resume checks) */
		if ((err = xfs_opendir(w->f, src, &fr.rd)) != 0 ||
		    (err = xfs_readdir(fr.rd, w->whole + 1, &fr.names, &fr.sts,
				       &fr.n, &fr.eof)) != 0)
			goto fail;
		if (fr.eof) {
			xfs_closedir(fr.rd);
			fr.rd = NULL;
			if ((err = xfs_sort(fr.names, fr.sts, fr.n)) != 0)
				goto fail;
		}
	}
	w->fr[w->depth++] = fr;
	return CPK_OK;
fail:
	frame_release(&fr);
	return err;
}

cpk_err_t xwalk_source(struct xwalk *w, struct xplan *p, const char *src,
		       const char *dstroot)
{
	const char *s = *src ? src : ".";
	struct xstat st;
	struct xent *e;
	char *rel;
	cpk_err_t err;

	/* the operand itself is followed, like cp -r and scp do */
	if ((err = xfs_stat(w->f, s, 1, &st)) != 0)
		return err;
	if (st.type == XT_OTHER)
		return cpk_err_set(CPK_ERR_INVALID, "%s: not a regular file or "
				   "directory", src);
	if (st.type == XT_DIR && !w->recursive)
		return cpk_err_set(CPK_ERR_INVALID, "%s is a directory (use -r "
				   "to copy it)", src);
	if (!(rel = base_name(s)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if ((err = xplan_add(p, cpk_strdup(s), cpk_strdup(dstroot), rel, &st,
			     NULL)) != 0)
		return err;
	if (st.type != XT_DIR)
		return CPK_OK;
	e = &p->e[p->n - 1];
	return push_dir(w, cpk_strdup(e->src), cpk_strdup(e->dst),
			cpk_strdup(e->rel), &st);
}

cpk_err_t xwalk_fill(struct xwalk *w, struct xplan *p, size_t seg_max,
		     int *more)
{
	cpk_err_t err;

	*more = 0;
	while (w->depth) {
		struct xwframe *fr = &w->fr[w->depth - 1];
		struct xstat st;
		char *s, *d, *r, *link = NULL;
		const char *name;
		struct xent *e;

		if (fr->i == fr->n && fr->rd && !fr->eof) {
			if ((err = frame_read(w, fr)) != 0)
				return err;
			continue;
		}
		if (fr->i == fr->n) {
			/* the walk leaves it: its subtree is all planned */
			err = xplan_close_dir(p, fr->dst, &fr->st);
			frame_release(fr);
			w->depth--;
			if (err)
				return err;
			continue;
		}
		if (xplan_full(p, seg_max)) {
			*more = 1;
			return CPK_OK;
		}
		name = fr->names[fr->i];
		st = fr->sts[fr->i++];
		if (st.type == XT_BAD) {
			/* no file name (quoted): never joined to a path */
			if ((err = xplan_bad(p, fr->dst, name, &st)) != 0)
				return err;
			continue;
		}
		s = xplan_join(fr->src, name);
		d = xplan_join(fr->dst, name);
		r = xplan_join(fr->rel, name);
		if (!s || !d || !r) {
			free(s), free(d), free(r);
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		}
		if (w->follow && st.type == XT_LINK &&
		    xfs_stat(w->f, s, 1, &st) != 0)
			st = fr->sts[fr->i - 1];	/* a dangling link stays a
							 * link */
		err = st.type == XT_LINK ? xfs_readlink(w->f, s, &link) : CPK_OK;
		if (err || st.type == XT_OTHER) {
			/* sockets, fifos, devices: skipped */
			free(s), free(d), free(r), free(link);
			if (err)
				return err;
			continue;
		}
		if ((err = xplan_add(p, s, d, r, &st, link)) != 0)
			return err;
		if (st.type != XT_DIR)
			continue;
		e = &p->e[p->n - 1];
		if ((err = push_dir(w, cpk_strdup(e->src), cpk_strdup(e->dst),
				    cpk_strdup(e->rel), &st)) != 0)
			return err;
	}
	return CPK_OK;
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
