/*
 * Remote paths as scp and sftp users type them (see xfer_priv.h,
 * xrpath_expand()): a leading "~" or "~USER", and globs in remote sources
 * expanded by listing and matching, as OpenSSH's remote_glob() does.
 *
 * Invariants: a path with no unescaped metacharacter costs no round trip
 * (but "~USER": one); a match is a name the server listed that passed
 * xfs_list()'s checks (no '/', no NUL, not empty, not "." or ".."),
 * joined to a directory the pattern named, so a hostile listing cannot
 * reach outside what the pattern means; the expanded home of "~USER" is
 * only ever a prefix taken literally, never matched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xfer_priv.h"

/* Directories listed at a time while matching one component. */
#define LIST_BATCH 256

/* ---- patterns ---------------------------------------------------------- */

/* Whether C is escaped by a backslash (removed before it). */
static int escapable(char c)
{
	return c && strchr("*?[]\\", c) != NULL;
}

/* Whether the LEN bytes of S (one component, no '/') hold an unescaped
 * '*', '?' or a '[' closed by a ']'. */
static int magic(const char *s, size_t len)
{
	size_t i, j;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len && escapable(s[i + 1])) {
			i++;
			continue;
		}
		if (s[i] == '*' || s[i] == '?')
			return 1;
		if (s[i] != '[')
			continue;
		j = i + 1;
		if (j < len && (s[j] == '!' || s[j] == '^'))
			j++;
		if (j < len && s[j] == ']')
			j++;	/* a ']' first is one of the set */
		while (j < len && s[j] != ']')
			j++;
		if (j < len)
			return 1;
	}
	return 0;
}

int xrpath_has_magic(const char *path)
{
	const char *p = path, *slash;

	for (;;) {
		slash = strchr(p, '/');
		if (magic(p, slash ? (size_t)(slash - p) : strlen(p)))
			return 1;
		if (!slash)
			return 0;
		p = slash + 1;
	}
}

/* Appends the LEN bytes of S to B without the backslashes that escape a
 * metacharacter or a backslash; other backslashes stay. */
static void add_unescaped(struct cpk_buf *b, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len && escapable(s[i + 1]))
			i++;
		cpk_buf_addch(b, s[i]);
	}
}

char *xrpath_unescape(const char *path)
{
	struct cpk_buf b = CPK_BUF_INIT;

	add_unescaped(&b, path, strlen(path));
	cpk_buf_addch(&b, '\0');	/* "" too is a string */
	if (cpk_buf_failed(&b)) {
		cpk_buf_release(&b);
		return NULL;
	}
	return cpk_buf_detach(&b, NULL);
}

/* Component S (LEN bytes) as a pattern for fnmatch(): a backslash that
 * escapes nothing add_unescaped() would remove is a literal one, as it is
 * in a path without metacharacters.  A new string. */
static char *fn_pattern(const char *s, size_t len)
{
	struct cpk_buf b = CPK_BUF_INIT;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len && escapable(s[i + 1])) {
			cpk_buf_add(&b, s + i, 2);
			i++;
		} else if (s[i] == '\\') {
			cpk_buf_addstr(&b, "\\\\");
		} else {
			cpk_buf_addch(&b, s[i]);
		}
	}
	cpk_buf_addch(&b, '\0');
	if (cpk_buf_failed(&b)) {
		cpk_buf_release(&b);
		return NULL;
	}
	return cpk_buf_detach(&b, NULL);
}

int xrpath_match(const char *pattern, const char *name)
{
	char *p = fn_pattern(pattern, strlen(pattern));
	int r;

	if (!p)
		return -1;
	/* glob(3): a leading dot is matched only by a leading dot */
	r = fnmatch(p, name, FNM_PERIOD) == 0;
	free(p);
	return r;
}

/* ---- lists of strings ---------------------------------------------------- */

struct strv {
	char **v;
	size_t n, cap;
};

static void strv_free(struct strv *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Appends S (taken; NULL: out of memory). */
static cpk_err_t strv_push(struct strv *l, char *s)
{
	if (s && l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 8;
		char **v = cpk_reallocarray(l->v, nc, sizeof(*v));

		if (!v) {
			free(s);
			s = NULL;
		} else {
			l->v = v;
			l->cap = nc;
		}
	}
	if (!s)
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	l->v[l->n++] = s;
	return CPK_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* DIR/NAME ("" DIR: NAME; DIR ending in '/': no second one), NAME the
 * LEN bytes typed (with UNESCAPE: without its escaping backslashes). */
static char *join(const char *dir, const char *name, size_t len,
		  int unescape)
{
	struct cpk_buf b = CPK_BUF_INIT;
	size_t dl = strlen(dir);

	cpk_buf_add(&b, dir, dl);
	if (dl && dir[dl - 1] != '/')
		cpk_buf_addch(&b, '/');
	if (unescape)
		add_unescaped(&b, name, len);
	else
		cpk_buf_add(&b, name, len);
	cpk_buf_addch(&b, '\0');
	if (cpk_buf_failed(&b)) {
		cpk_buf_release(&b);
		return NULL;
	}
	return cpk_buf_detach(&b, NULL);
}

/* Each path of L becomes PATH/NAME (join()). */
static cpk_err_t join_all(struct strv *l, const char *name, size_t len,
			  int unescape)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		char *j = join(l->v[i], name, len, unescape);

		if (!j)
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		free(l->v[i]);
		l->v[i] = j;
	}
	return CPK_OK;
}

/* ---- "~" ----------------------------------------------------------------- */

/* Splits PATH into a literal prefix and the rest: "~" and "~/..." name the
 * login directory, which relative paths already are (*PREFIX NULL, *REST
 * after the slashes); "~USER..." asks the server (expand-path) for USER's
 * home (*PREFIX, a new string; *REST from the '/' on).  Other paths: as
 * they are. */
static cpk_err_t tilde(struct cpk_sftp *s, const char *host, const char *path,
		       char **prefix, const char **rest)
{
	struct cpk_sftp_info info;
	const char *end;
	char *user;
	cpk_err_t err;

	*prefix = NULL;
	*rest = path;
	if (path[0] != '~')
		return CPK_OK;
	end = strchr(path, '/');
	if (!end)
		end = path + strlen(path);
	if (end == path + 1) {
		*rest = end + strspn(end, "/");
		return CPK_OK;
	}
	*rest = end;
	cpk_sftp_info(s, &info);
	if (!(user = cpk_strndup(path, (size_t)(end - path))))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if (!info.expand_path)
		err = cpk_err_set(CPK_ERR_INVALID, "cannot expand %s in %s:%s: "
				  "the sftp server there has no "
				  "expand-path@openssh.com (give the full "
				  "path)", user, host, path);
	else
		err = cpk_sftp_expand_path(s, user, prefix);
	free(user);
	return err;
}

/* ---- globs --------------------------------------------------------------- */

/* What matched so far, and the first listing that failed. */
struct glob_state {
	struct cpk_sftp *s;
	struct strv cur;	/* paths matched by the components so far */
	char *why;		/* a directory that could not be listed */
};

/* Replaces G->cur by the entries of its directories whose names match
 * component C (LEN bytes); with DIRS_ONLY only those that may be
 * directories (more components follow). */
static cpk_err_t match_component(struct glob_state *g, const char *c,
				 size_t len, int dirs_only)
{
	struct xfs f;
	struct strv next = { NULL, 0, 0 };
	struct xlisting *ls = NULL;
	const char **paths = NULL;
	char *pat;
	size_t at, n, i, k;
	cpk_err_t err = CPK_OK;

	if (!(pat = fn_pattern(c, len)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	memset(&f, 0, sizeof(f));
	f.s = g->s;
	for (at = 0; !err && at < g->cur.n; at += n) {
		n = g->cur.n - at < LIST_BATCH ? g->cur.n - at : LIST_BATCH;
		free(paths);
		free(ls);
		paths = calloc(n, sizeof(*paths));
		ls = calloc(n, sizeof(*ls));
		if (!paths || !ls) {
			err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			break;
		}
		for (i = 0; i < n; i++)
			paths[i] = *g->cur.v[at + i] ? g->cur.v[at + i] : ".";
		if ((err = xfs_list_many(&f, paths, n, NULL, ls)) != 0)
			break;	/* the connection failed */
		for (i = 0; i < n; i++) {
			struct xlisting *l = &ls[i];
			const char *dir = g->cur.v[at + i];

			if (l->err == CPK_ERR_NOMEM && !err)
				err = cpk_err_set(CPK_ERR_NOMEM,
						  "out of memory");
			if (l->err && !g->why && l->msg)
				g->why = cpk_strdup(l->msg);
			for (k = 0; !err && !l->err && k < l->n; k++) {
				const struct xstat *st = &l->sts[k];

				/* refused names (XT_BAD) are never joined */
				if (st->type == XT_BAD ||
				    (dirs_only && st->type != XT_DIR &&
				     st->type != XT_LINK) ||
				    fnmatch(pat, l->names[k], FNM_PERIOD))
					continue;
				err = strv_push(&next, xplan_join(dir,
								  l->names[k]));
			}
			xfs_listing_release(l);
		}
	}
	free(paths);
	free(ls);
	free(pat);
	strv_free(&g->cur);
	g->cur = next;
	return err;
}

struct check {
	int done, ok;
};

static void check_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		     void *arg)
{
	struct check *c = arg;

	(void)s;
	c->done = 1;
	c->ok = r->err == CPK_OK;
}

/* Keeps the paths of G->cur that exist (lstat, as glob(3) does), all
 * asked at once. */
static cpk_err_t keep_existing(struct glob_state *g)
{
	struct check *c;
	size_t i, k = 0;
	cpk_err_t err = CPK_OK;

	if (!g->cur.n)
		return CPK_OK;
	if (!(c = calloc(g->cur.n, sizeof(*c))))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	for (i = 0; !err && i < g->cur.n; i++)
		err = cpk_sftp_req_lstat(g->s, g->cur.v[i], check_cb, &c[i]);
	if (err) {
		/* the requests queued still point into C */
		(void)cpk_sftp_drain(g->s);
	} else {
		err = cpk_sftp_drain(g->s);
	}
	for (i = 0; i < g->cur.n; i++) {
		if (!err && c[i].ok)
			g->cur.v[k++] = g->cur.v[i];
		else
			free(g->cur.v[i]);
	}
	g->cur.n = k;
	free(c);
	return err;
}

/* The paths PREFIX (literal; NULL: none) followed by pattern REST matches,
 * sorted, into *OUT; *WHY: why a directory could not be listed (a new
 * string, or NULL). */
static cpk_err_t expand_glob(struct cpk_sftp *s, const char *prefix,
			     const char *rest, struct strv *out, char **why)
{
	struct glob_state g = { s, { NULL, 0, 0 }, NULL };
	const char *p = rest, *end;
	int unchecked = 0;
	size_t len, i, k;
	cpk_err_t err;

	err = strv_push(&g.cur, cpk_strdup(prefix ? prefix :
					   *rest == '/' ? "/" : ""));
	while (!err && g.cur.n) {
		p += strspn(p, "/");
		if (!*p)
			break;
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (magic(p, len)) {
			/* a listing shows what exists: nothing to check */
			int last = p[len + strspn(p + len, "/")] == 0;

			unchecked = 0;
			err = match_component(&g, p, len, !last);
		} else {
			err = join_all(&g.cur, p, len, 1);
			unchecked = 1;
		}
		p += len;
	}
	if (!err && *rest && rest[strlen(rest) - 1] == '/') {
		/* "dir*"/: directories only, as the slash says */
		err = join_all(&g.cur, "", 0, 0);
		unchecked = 1;
	}
	if (!err && unchecked)
		err = keep_existing(&g);
	if (err) {
		strv_free(&g.cur);
		free(g.why);
		return err;
	}
	if (g.cur.n)
		qsort(g.cur.v, g.cur.n, sizeof(*g.cur.v), cmp_str);
	for (i = k = 0; i < g.cur.n; i++) {
		/* a server listing a name twice must not copy it twice */
		if (k && !strcmp(g.cur.v[k - 1], g.cur.v[i]))
			free(g.cur.v[i]);
		else
			g.cur.v[k++] = g.cur.v[i];
	}
	g.cur.n = k;
	*out = g.cur;
	*why = g.why;
	return CPK_OK;
}

/* ---- operands ------------------------------------------------------------ */

/* PATH (remote) with "~" expanded, and with GLOB its matches: appended to
 * L (none: a miss recorded in R). */
static cpk_err_t expand_one(struct cpk_sftp *s, const char *host,
			    const char *path, int glob, struct strv *l,
			    struct xrpath *r)
{
	struct strv m = { NULL, 0, 0 };
	char *prefix, *why = NULL;
	const char *rest;
	size_t i;
	cpk_err_t err;

	if ((err = tilde(s, host, path, &prefix, &rest)) != 0)
		return err;
	if (!glob || !xrpath_has_magic(rest)) {
		/* one path; a destination's backslashes are its own */
		const char *tail = rest + strspn(rest, "/");
		char *p;

		if (prefix)
			p = *tail ? join(prefix, tail, strlen(tail), glob) :
			    cpk_strdup(prefix);
		else if (rest != path && !*rest)
			p = cpk_strdup(".");	/* "~", "~/" */
		else
			p = glob ? xrpath_unescape(rest) : cpk_strdup(rest);
		free(prefix);
		return strv_push(l, p);
	}
	err = expand_glob(s, prefix, rest, &m, &why);
	free(prefix);
	for (i = 0; !err && i < m.n; i++) {
		err = strv_push(l, m.v[i]);
		m.v[i] = NULL;
	}
	if (!err && !m.n) {
		/* no match: the pattern, quoted, and why if a listing failed */
		struct xrpath_miss *v = cpk_reallocarray(r->miss, r->nmiss + 1,
							 sizeof(*v));
		struct cpk_buf b = CPK_BUF_INIT;

		xfs_quote(&b, path, strlen(path));
		cpk_buf_addch(&b, '\0');
		if (v)
			r->miss = v;
		if (!v || cpk_buf_failed(&b)) {
			err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			cpk_buf_release(&b);
		} else {
			v[r->nmiss].what = cpk_buf_detach(&b, NULL);
			v[r->nmiss++].why = why;
			why = NULL;
		}
	}
	for (i = 0; i < m.n; i++)
		free(m.v[i]);
	free(m.v);
	free(why);
	return err;
}

/* A destination ending in '/' names a directory: with one source it must
 * be one already (else the copy would name a file "DST/"). */
static cpk_err_t check_slash_dst(struct cpk_sftp *s, int dir, const char *host,
				 const char *dst)
{
	size_t n = strlen(dst);
	struct cpk_sftp_attr a;
	struct stat st;
	char *bare;
	int exists;
	cpk_err_t err;

	if (n < 2 || dst[n - 1] != '/')
		return CPK_OK;
	if (dir == CPK_XFER_PUT) {
		err = cpk_sftp_stat(s, dst, &a);
		if (!err && (a.flags & CPK_SFTP_ATTR_PERM) && !S_ISDIR(a.perm))
			return cpk_err_set(CPK_ERR_INVALID, "%s:%s is not a "
					   "directory", host, dst);
		if (!err)
			return CPK_OK;
		if (err != CPK_ERR_NOTFOUND)
			return err;
	} else {
		if (stat(dst, &st) == 0)
			return S_ISDIR(st.st_mode) ? CPK_OK :
			       cpk_err_set(CPK_ERR_INVALID, "%s is not a "
					   "directory", dst);
		if (errno != ENOENT && errno != ENOTDIR)
			return cpk_err_sys("cannot stat %s", dst);
	}
	/* "f/" of a file f is no such file too: which is it? */
	while (n > 1 && dst[n - 1] == '/')
		n--;
	if (!(bare = cpk_strndup(dst, n)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	exists = dir == CPK_XFER_PUT ? cpk_sftp_lstat(s, bare, &a) == CPK_OK :
		 lstat(bare, &st) == 0;
	free(bare);
	return cpk_err_set(exists ? CPK_ERR_INVALID : CPK_ERR_NOTFOUND,
			   "%s%s%s %s (a destination ending in '/' must be a "
			   "directory)", dir == CPK_XFER_PUT ? host : "",
			   dir == CPK_XFER_PUT ? ":" : "", dst,
			   exists ? "is not a directory" : "does not exist");
}

cpk_err_t xrpath_expand(struct cpk_sftp *s, int dir, const char *host,
			const char *const *srcs, size_t nsrc, const char *dst,
			struct xrpath *r)
{
	struct strv l = { NULL, 0, 0 }, d = { NULL, 0, 0 };
	struct cpk_buf b = CPK_BUF_INIT;
	size_t i;
	cpk_err_t err = CPK_OK;

	memset(r, 0, sizeof(*r));
	r->typed = srcs;
	r->ntyped = nsrc;
	r->typed_dst = dst;
	for (i = 0; !err && i < nsrc; i++)
		err = dir == CPK_XFER_GET ?
		      expand_one(s, host, srcs[i], 1, &l, r) :
		      strv_push(&l, cpk_strdup(srcs[i]));
	if (!err)
		err = dir == CPK_XFER_PUT ? expand_one(s, host, dst, 0, &d, r) :
		      strv_push(&d, cpk_strdup(dst));
	if (!err && !l.n) {
		/* every source was a pattern that matched nothing */
		for (i = 0; i < r->nmiss; i++)
			cpk_buf_addf(&b, "%s%s: no match%s%s%s", i ? "; " : "",
				     r->miss[i].what,
				     r->miss[i].why ? " (" : "",
				     r->miss[i].why ? r->miss[i].why : "",
				     r->miss[i].why ? ")" : "");
		err = cpk_err_set(CPK_ERR_NOTFOUND, "%s", cpk_buf_failed(&b) ?
				  "no match" : b.buf);
		cpk_buf_release(&b);
	}
	if (!err && l.n == 1)
		err = check_slash_dst(s, dir, host, d.v[0]);
	if (err) {
		strv_free(&l);
		strv_free(&d);
		xrpath_release(r);
		return err;
	}
	r->srcs = l.v;
	r->nsrc = l.n;
	r->dst = d.v[0];
	free(d.v);
	return CPK_OK;
}

void xrpath_release(struct xrpath *r)
{
	size_t i;

	for (i = 0; i < r->nsrc; i++)
		free(r->srcs[i]);
	free(r->srcs);
	free(r->dst);
	for (i = 0; i < r->nmiss; i++) {
		free(r->miss[i].what);
		free(r->miss[i].why);
	}
	free(r->miss);
	memset(r, 0, sizeof(*r));
}
