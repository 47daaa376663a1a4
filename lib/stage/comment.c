/*
 * The job's AdminComment after a failed staging: one line of printable
 * ASCII, whatever a hostile path put into it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cpk/stage.h"

char *cpk_stage_comment(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	size_t i, len;
	int r;

	if (!n)
		return buf;
	if (n > CPK_STAGE_COMMENT_MAX)
		n = CPK_STAGE_COMMENT_MAX;
	va_start(ap, fmt);
	r = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	if (r < 0) {
		buf[0] = '\0';
		return buf;
	}
	len = strlen(buf);
	if ((size_t)r >= n && n > 4)
		memcpy(buf + n - 4, "...", 4);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c < 0x20 || c >= 0x7f)
			buf[i] = '?';
	}
	return buf;
}
