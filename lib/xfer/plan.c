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

char *xplan_tmp_name(const char *path)
{
	struct cpk_buf b = CPK_BUF_INIT;
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;

	cpk_buf_add(&b, path, dirlen);
	cpk_buf_addf(&b, ".%s.cpk-part", path + dirlen);
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
	return r;
}

void xplan_release(struct xplan *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++) {
		free(p->e[i].cdone);
		free(p->e[i].err);
	}
	while (p->strs) {
		struct xarena *b = p->strs;

		p->strs = b->next;
		free(b);
	}
	free(p->e);
	free(p->t);
	memset(p, 0, sizeof(*p));
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
			char *t = xplan_tmp_name(e->dst);

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

/* Walks DIR (already added as REL) recursively. */
/* Directory listings fetched ahead, by path. */
struct lcache {
	struct cpk_strmap map;	/* path -> index in v */
	struct xlisting *v;
	char **paths;		/* the keys, owned */
	size_t n, cap;
};

static void lcache_release(struct lcache *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		xfs_listing_release(&c->v[i]);
		free(c->paths[i]);
	}
	free(c->v);
	free(c->paths);
	cpk_strmap_release(&c->map);
	memset(c, 0, sizeof(*c));
}

/* Takes over PATH and L (on failure too). */
static cpk_err_t lcache_add(struct lcache *c, char *path, struct xlisting *l)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct xlisting *v = cpk_reallocarray(c->v, cap, sizeof(*v));
		char **p = v ? cpk_reallocarray(c->paths, cap, sizeof(*p)) :
			   NULL;

		if (v)
			c->v = v;
		if (p)
			c->paths = p;
		if (!v || !p)
			goto nomem;
		c->cap = cap;
	}
	if (cpk_strmap_put(&c->map, path, c->n, NULL) < 0)
		goto nomem;
	c->paths[c->n] = path;
	c->v[c->n++] = *l;
	return CPK_OK;
nomem:
	free(path);
	xfs_listing_release(l);
	return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
}

/*
 * The listings of every directory under ROOT on the remote side F, a level
 * at a time with all of a level's requests in flight: the walk then costs a
 * few round trips per level instead of three per directory.  Directories
 * reached through followed links are left to the walk.
 */
static cpk_err_t prefetch(struct lcache *c, const struct xfs *f,
			  const char *root)
{
	char **level = NULL, **next = NULL;
	size_t nl = 1, nn, cn, i, k;
	struct xlisting *out = NULL;
	cpk_err_t err = CPK_OK;

	if (!(level = malloc(sizeof(*level))) || !(level[0] = cpk_strdup(root))) {
		free(level);
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	while (nl && !err) {
		if (!(out = calloc(nl, sizeof(*out)))) {
			err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			break;
		}
		if ((err = xfs_list_many(f, (const char *const *)level, nl,
					 out)) != 0)
			break;
		next = NULL;
		nn = cn = 0;
		for (i = 0; i < nl; i++) {
			for (k = 0; !err && !out[i].err && k < out[i].n; k++) {
				char *sub;

				if (out[i].sts[k].type != XT_DIR)
					continue;
				if (nn == cn) {
					size_t ncap = cn ? cn * 2 : 64;
					char **t = cpk_reallocarray(next, ncap,
								    sizeof(*t));

					if (!t) {
						err = CPK_ERR_NOMEM;
						break;
					}
					next = t;
					cn = ncap;
				}
				if (!(sub = xplan_join(level[i], out[i].names[k]))) {
					err = CPK_ERR_NOMEM;
					break;
				}
				next[nn++] = sub;
			}
			if (!err)
				err = lcache_add(c, level[i], &out[i]);
			else
				free(level[i]), xfs_listing_release(&out[i]);
			level[i] = NULL;
			memset(&out[i], 0, sizeof(out[i]));
		}
		for (i = 0; i < nl; i++) {
			free(level[i]);
			xfs_listing_release(&out[i]);
		}
		free(level);
		free(out);
		out = NULL;
		level = next;
		nl = nn;
		if (err == CPK_ERR_NOMEM)
			err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	if (out) {
		for (i = 0; i < nl; i++)
			xfs_listing_release(&out[i]);
		free(out);
	}
	for (i = 0; level && i < nl; i++)
		free(level[i]);
	free(level);
	return err;
}

static cpk_err_t walk_dir(struct xplan *p, const struct xfs *f,
			  struct lcache *c, const char *src, const char *dst,
			  const char *rel, int follow, int depth)
{
	char **names = NULL;
	struct xstat *sts = NULL;
	size_t n = 0, i, ci;
	cpk_err_t err;

	if (depth > 256)
		return cpk_err_set(CPK_ERR_INVALID, "%s: directories nested too "
				   "deep (a symlink loop?)", src);
	if (c && cpk_strmap_get(&c->map, src, &ci) && !c->v[ci].msg &&
	    !c->v[ci].err) {
		/* fetched ahead: take it over */
		names = c->v[ci].names;
		sts = c->v[ci].sts;
		n = c->v[ci].n;
		c->v[ci].names = NULL;
		c->v[ci].sts = NULL;
		c->v[ci].n = 0;
	} else if (c && cpk_strmap_get(&c->map, src, &ci)) {
		return cpk_err_set(c->v[ci].err ? c->v[ci].err : CPK_ERR_IO,
				   "%s", c->v[ci].msg ? c->v[ci].msg :
				   "cannot list the directory");
	} else if ((err = xfs_list(f, src, &names, &sts, &n)) != 0) {
		return err;
	}
	for (i = 0; i < n && !err; i++) {
		struct xstat st;
		char *s = xplan_join(src, names[i]), *d = xplan_join(dst, names[i]);
		char *r = xplan_join(rel, names[i]), *link = NULL;

		if (!s || !d || !r) {
			free(s), free(d), free(r);
			err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			break;
		}
		st = sts[i];
		err = CPK_OK;
		if (follow && st.type == XT_LINK &&
		    xfs_stat(f, s, 1, &st) != 0)
			st = sts[i];	/* a dangling link stays a link */
		if (st.type == XT_LINK)
			err = xfs_readlink(f, s, &link);
		if (err || st.type == XT_OTHER) {
			/* sockets, fifos, devices: skipped */
			free(s), free(d), free(r), free(link);
			if (err)
				break;
			continue;
		}
		if ((err = xplan_add(p, s, d, r, &st, link)) != 0)
			break;
		if (st.type == XT_DIR) {
			struct xent *e = &p->e[p->n - 1];

			err = walk_dir(p, f, c, e->src, e->dst, e->rel, follow,
				       depth + 1);
		}
	}
	xfs_names_free(names, n);
	free(sts);
	return err;
}

cpk_err_t xplan_walk(struct xplan *p, const struct xfs *f, const char *src,
		     const char *dstroot, int recursive, int follow)
{
	struct lcache c = { CPK_STRMAP_INIT, NULL, NULL, 0, 0 };
	struct xstat st;
	char *link = NULL, *rel;
	cpk_err_t err;

	/* the operand itself is followed, like cp -r and scp do */
	if ((err = xfs_stat(f, *src ? src : ".", 1, &st)) != 0)
		return err;
	if (st.type == XT_OTHER)
		return cpk_err_set(CPK_ERR_INVALID, "%s: not a regular file or "
				   "directory", src);
	if (st.type == XT_DIR && !recursive)
		return cpk_err_set(CPK_ERR_INVALID, "%s is a directory (use -r "
				   "to copy it)", src);
	if (!(rel = base_name(*src ? src : ".")))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if ((err = xplan_add(p, cpk_strdup(*src ? src : "."),
			     cpk_strdup(dstroot), rel, &st, link)) != 0)
		return err;
	if (st.type != XT_DIR)
		return CPK_OK;
	if (f->s && (err = prefetch(&c, f, p->e[p->n - 1].src)) != 0) {
		lcache_release(&c);
		return err;
	}
	err = walk_dir(p, f, f->s ? &c : NULL, p->e[p->n - 1].src,
		       p->e[p->n - 1].dst, p->e[p->n - 1].rel, follow, 0);
	lcache_release(&c);
	return err;
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
