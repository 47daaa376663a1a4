/*
 * Walking the sources: directory listings fetched ahead on pipelined
 * requests, and the entries they give added to the plan segment by segment.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "xfer_priv.h"
#include "strmap.h"

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
		if (w->listed)
			w->listed(w->listed_arg, &out[i]);
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
	if (!(rel = xplan_base_name(s)))
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
