#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

char cpk_buf_empty[1];

void cpk_buf_init(struct cpk_buf *b)
{
	b->buf = cpk_buf_empty;
	b->len = b->alloc = 0;
	b->failed = 0;
}

void cpk_buf_release(struct cpk_buf *b)
{
	if (b->alloc)
		free(b->buf);
	cpk_buf_init(b);
}

char *cpk_buf_detach(struct cpk_buf *b, size_t *len)
{
	char *s;

	if (b->failed) {
		cpk_buf_release(b);
		return NULL;
	}
	s = b->alloc ? b->buf : strdup("");
	if (len)
		*len = b->len;
	cpk_buf_init(b);
	return s;
}

void cpk_buf_reset(struct cpk_buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}

void cpk_buf_grow(struct cpk_buf *b, size_t extra)
{
	size_t want;
	char *p;

	if (b->failed)
		return;
	if (extra > (size_t)-1 / 2 - b->len - 1)
		goto fail;
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return;
	if (want < b->alloc * 3 / 2)
		want = b->alloc * 3 / 2;
	if (want < 64)
		want = 64;
	p = realloc(b->alloc ? b->buf : NULL, want);
	if (!p)
		goto fail;
	if (!b->alloc)
		p[0] = '\0';
	b->buf = p;
	b->alloc = want;
	return;
fail:
	b->failed = 1;
}

void cpk_buf_add(struct cpk_buf *b, const void *data, size_t len)
{
	cpk_buf_grow(b, len);
	if (b->failed)
		return;
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

void cpk_buf_addstr(struct cpk_buf *b, const char *s)
{
	cpk_buf_add(b, s, strlen(s));
}

void cpk_buf_addch(struct cpk_buf *b, char c)
{
	cpk_buf_add(b, &c, 1);
}

void cpk_buf_vaddf(struct cpk_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (b->failed)
		return;
	va_copy(cp, ap);
	n = vsnprintf(b->buf + b->len, b->alloc ? b->alloc - b->len : 0, fmt, cp);
	va_end(cp);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if (!b->alloc || (size_t)n >= b->alloc - b->len) {
		cpk_buf_grow(b, (size_t)n);
		if (b->failed)
			return;
		vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void cpk_buf_addf(struct cpk_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cpk_buf_vaddf(b, fmt, ap);
	va_end(ap);
}
