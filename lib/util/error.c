#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static _Thread_local char errmsg[1024];

static const char *const names[CPK_ERR__MAX] = {
	[CPK_OK] = "success",
	[CPK_ERR_NOMEM] = "out of memory",
	[CPK_ERR_INVALID] = "invalid argument",
	[CPK_ERR_IO] = "input/output error",
	[CPK_ERR_NOTFOUND] = "not found",
	[CPK_ERR_EXISTS] = "already exists",
	[CPK_ERR_PERM] = "permission denied",
	[CPK_ERR_CONFIG] = "invalid cluster description",
	[CPK_ERR_INTERNAL] = "internal error",
	[CPK_ERR_INTERRUPTED] = "interrupted",
};

const char *cpk_strerror(cpk_err_t err)
{
	if ((unsigned)err >= CPK_ERR__MAX || !names[err])
		return "unknown error";
	return names[err];
}

const char *cpk_errmsg(void)
{
	return errmsg;
}

cpk_err_t cpk_err_set(cpk_err_t err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return err;
}

cpk_err_t cpk_err_prefix(cpk_err_t err, const char *fmt, ...)
{
	char old[sizeof(errmsg)], pre[sizeof(errmsg)];
	va_list ap;

	snprintf(old, sizeof(old), "%s", errmsg);
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	return cpk_err_set(err, "%s: %s", pre, old);
}

cpk_err_t cpk_err_from_errno(int e)
{
	switch (e) {
	case ENOMEM:
		return CPK_ERR_NOMEM;
	case ENOENT:
	case ENOTDIR:
		return CPK_ERR_NOTFOUND;
	case EEXIST:
		return CPK_ERR_EXISTS;
	case EACCES:
	case EPERM:
	case EROFS:
		return CPK_ERR_PERM;
	case EINVAL:
		return CPK_ERR_INVALID;
	default:
		return CPK_ERR_IO;
	}
}

cpk_err_t cpk_err_sys(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	n = strlen(errmsg);
	snprintf(errmsg + n, sizeof(errmsg) - n, ": %s", strerror(e));
	return cpk_err_from_errno(e);
}

char *cpk_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *cpk_strndup(const char *s, size_t n)
{
	return strndup(s, n);
}

void *cpk_reallocarray(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > (size_t)-1 / size)
		return NULL;
	return realloc(p, (nmemb && size) ? nmemb * size : 1);
}

void cpk_memwipe(void *p, size_t n)
{
	if (p)
		explicit_bzero(p, n);
}
