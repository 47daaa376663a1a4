/*
 * The operand syntax "[user@]host:path", and the names a copy gives its
 * destinations and temporary files.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "xfer_priv.h"

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

char *xplan_base_name(const char *path)
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
	if (!(b = xplan_base_name(src)))
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
