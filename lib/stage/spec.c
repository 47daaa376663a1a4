/*
 * --stage-in / --stage-out values: "LOCAL@[USER@]HOST:REMOTE[,...]" (the
 * exact rule is in cpk/stage.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cpk/stage.h"
#include "internal.h"

static int is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static int host_ch(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static int v6_ch(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

/* ITEM as it may be shown in a message: control bytes as \xNN, cut. */
static void shown(struct cpk_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < 200; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_ctl(c) || c >= 0x80)
			cpk_buf_addf(b, "\\x%02x", c);
		else
			cpk_buf_addch(b, (char)c);
	}
	if (n > 200)
		cpk_buf_addstr(b, "...");
}

static cpk_err_t item_err(const char *what, size_t idx, const char *s,
			  size_t n, const char *why)
{
	struct cpk_buf b = CPK_BUF_INIT;
	cpk_err_t e;

	shown(&b, s, n);
	e = cpk_err_set(CPK_ERR_INVALID, "%s item %zu \"%s\": %s", what,
			idx, cpk_buf_failed(&b) ? "?" : b.buf, why);
	cpk_buf_release(&b);
	return e;
}

static void item_release(struct cpk_stage_item *it)
{
	free(it->local);
	free(it->user);
	free(it->host);
	free(it->remote);
	memset(it, 0, sizeof(*it));
}

void cpk_stage_list_release(struct cpk_stage_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		item_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/*
 * Finds where HOST starts and ends in S (N bytes, unescaped): *HS..*HE is
 * the host text (brackets included), S[*HE] is its ':', S[*HS - 1] its
 * '@'.  Returns 0, or -1 if no ':' qualifies.
 */
static int find_host(const char *s, size_t n, size_t *hs, size_t *he)
{
	size_t k, i;

	for (k = 1; k < n; k++) {
		if (s[k] != ':')
			continue;
		if (s[k - 1] == ']') {
			for (i = k - 1; i > 0 && v6_ch(s[i - 1]); i--)
				;
			/* "[" at i - 1, '@' before it, text before that */
			if (i >= 3 && s[i - 1] == '[' && i < k - 1 &&
			    s[i - 2] == '@') {
				*hs = i - 1;
				*he = k;
				return 0;
			}
			continue;
		}
		for (i = k; i > 0 && host_ch(s[i - 1]); i--)
			;
		if (i < k && i >= 2 && s[i - 1] == '@') {
			*hs = i;
			*he = k;
			return 0;
		}
	}
	return -1;
}

static int user_ok(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] == ' ' || s[i] == '\t')
			return 0;
	return 1;
}

/* Splits one unescaped item S (N bytes) into IT. */
static cpk_err_t split_item(const char *what, size_t idx, const char *s,
			    size_t n, const char *workdir,
			    struct cpk_stage_item *it)
{
	size_t hs, he, at, u;
	const char *lp;
	size_t ln, hn;

	memset(it, 0, sizeof(*it));
	if (!n)
		return item_err(what, idx, s, n, "empty item");
	if (find_host(s, n, &hs, &he) < 0)
		return item_err(what, idx, s, n, "expected LOCAL@[USER@]HOST:REMOTE "
				"(no \"@HOST:\" after a local path)");
	at = hs - 1;		/* the '@' before HOST */
	lp = s;
	ln = at;
	for (u = at; u > 0 && s[u - 1] != '@'; u--)
		;
	if (u > 0) {		/* another '@' at u - 1 */
		if (u == at)
			return item_err(what, idx, s, n, "empty user name");
		if (user_ok(s + u, at - u)) {
			if (at - u > CPK_STAGE_NAME_MAX)
				return item_err(what, idx, s, n, "user name "
						"too long");
			if (!(it->user = cpk_strndup(s + u, at - u)))
				goto nomem;
			ln = u - 1;
		}
	}
	if (!ln)
		return item_err(what, idx, s, n, "empty local path");
	if (ln > CPK_STAGE_PATH_MAX || n - he - 1 > CPK_STAGE_PATH_MAX) {
		item_release(it);
		return item_err(what, idx, s, n, "path too long");
	}
	if (he + 1 == n) {
		item_release(it);
		return item_err(what, idx, s, n, "empty remote path");
	}
	hn = he - hs;
	if (s[hs] == '[') {
		hs++;
		hn -= 2;
	}
	if (hn > CPK_STAGE_NAME_MAX) {
		item_release(it);
		return item_err(what, idx, s, n, "host name too long");
	}
	if (!(it->host = cpk_strndup(s + hs, hn)) ||
	    !(it->remote = cpk_strndup(s + he + 1, n - he - 1)))
		goto nomem;
	if (lp[0] != '/' && workdir) {
		struct cpk_buf b = CPK_BUF_INIT;

		cpk_buf_addstr(&b, workdir);
		if (b.len && b.buf[b.len - 1] != '/')
			cpk_buf_addch(&b, '/');
		cpk_buf_add(&b, lp, ln);
		if (cpk_buf_failed(&b)) {
			cpk_buf_release(&b);
			goto nomem;
		}
		it->local = cpk_buf_detach(&b, NULL);
	} else if (!(it->local = cpk_strndup(lp, ln))) {
		goto nomem;
	}
	return CPK_OK;
nomem:
	item_release(it);
	return cpk_err_set(CPK_ERR_NOMEM, "%s: out of memory", what);
}

cpk_err_t cpk_stage_list_parse(struct cpk_stage_list *l, const char *what,
			       const char *val, size_t len,
			       const char *workdir)
{
	struct cpk_stage_list add = CPK_STAGE_LIST_INIT;
	struct cpk_buf cur = CPK_BUF_INIT;
	struct cpk_stage_item *v;
	cpk_err_t e = CPK_OK;
	size_t i, idx = 1;

	if (!what)
		what = "stage";
	if (!val || !len)
		return cpk_err_set(CPK_ERR_INVALID, "%s: empty value", what);
	if (len > CPK_STAGE_VALUE_MAX)
		return cpk_err_set(CPK_ERR_INVALID, "%s: value of %zu bytes "
				   "(at most %d)", what, len,
				   CPK_STAGE_VALUE_MAX);
	if (memchr(val, '\0', len))
		return cpk_err_set(CPK_ERR_INVALID, "%s: value holds a NUL "
				   "byte", what);
	for (i = len; i > 0 && val[i - 1] == '\\'; i--)
		;
	if ((len - i) % 2)	/* a joined list would read "\," */
		return cpk_err_set(CPK_ERR_INVALID, "%s: value ends with a lone "
				   "backslash (write \\\\)", what);
	if (workdir && workdir[0] != '/')
		return cpk_err_set(CPK_ERR_INVALID, "%s: working directory "
				   "\"%s\" is not absolute", what, workdir);
	for (i = 0; i <= len; i++) {
		struct cpk_stage_item it;
		size_t j;

		if (i < len && val[i] == '\\' && i + 1 < len &&
		    (val[i + 1] == ',' || val[i + 1] == '\\')) {
			cpk_buf_addch(&cur, val[++i]);
			continue;
		}
		if (i < len && val[i] != ',') {
			cpk_buf_addch(&cur, val[i]);
			continue;
		}
		if (cpk_buf_failed(&cur)) {
			e = cpk_err_set(CPK_ERR_NOMEM, "%s: out of memory", what);
			goto out;
		}
		for (j = 0; j < cur.len; j++)
			if (is_ctl((unsigned char)cur.buf[j])) {
				e = item_err(what, idx, cur.buf, cur.len,
					     "control character in the value");
				goto out;
			}
		if (l->n + add.n >= CPK_STAGE_ITEMS_MAX) {
			e = cpk_err_set(CPK_ERR_INVALID, "%s: more than %d "
					"items", what, CPK_STAGE_ITEMS_MAX);
			goto out;
		}
		e = split_item(what, idx, cur.len ? cur.buf : "", cur.len,
			       workdir, &it);
		if (e)
			goto out;
		v = cpk_reallocarray(add.v, add.n + 1, sizeof(*v));
		if (!v) {
			item_release(&it);
			e = cpk_err_set(CPK_ERR_NOMEM, "%s: out of memory", what);
			goto out;
		}
		add.v = v;
		add.v[add.n++] = it;
		cpk_buf_reset(&cur);
		idx++;
	}
	v = cpk_reallocarray(l->v, l->n + add.n, sizeof(*v));
	if (!v) {
		e = cpk_err_set(CPK_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	memcpy(v + l->n, add.v, add.n * sizeof(*v));
	l->v = v;
	l->n += add.n;
	free(add.v);
	add.v = NULL;
	add.n = 0;
out:
	cpk_buf_release(&cur);
	cpk_stage_list_release(&add);
	return e;
}
