/* A tiny JSON writer: see include/cpk/json.h. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "cpk/json.h"
#include "internal.h"

void cpk_json_init(struct cpk_json *j, struct cpk_buf *b)
{
	memset(j, 0, sizeof(*j));
	j->b = b;
}

/* Before any value: the comma between members, unless after a key. */
static void sep(struct cpk_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0) {
		if (!j->first[j->depth - 1])
			cpk_buf_addch(j->b, ',');
		j->first[j->depth - 1] = 0;
	}
}

static void open_level(struct cpk_json *j, char open, char close)
{
	sep(j);
	if (j->depth >= CPK_JSON_DEPTH) {
		j->failed = 1;
		return;
	}
	cpk_buf_addch(j->b, open);
	j->close[j->depth] = close;
	j->first[j->depth] = 1;
	j->depth++;
}

void cpk_json_obj(struct cpk_json *j) { open_level(j, '{', '}'); }
void cpk_json_arr(struct cpk_json *j) { open_level(j, '[', ']'); }

void cpk_json_end(struct cpk_json *j)
{
	if (j->depth == 0 || j->after_key) {
		j->failed = 1;
		return;
	}
	j->depth--;
	cpk_buf_addch(j->b, j->close[j->depth]);
}

/* Length of the valid UTF-8 sequence at S (1 to 4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* overlong, out of range, or a surrogate */
	return n;
}

static void add_string(struct cpk_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	cpk_buf_addch(b, '"');
	while (*s) {
		size_t n = utf8_len(s);

		if (n == 0) {
			cpk_buf_addstr(b, "\\ufffd");
			s++;
			continue;
		}
		if (n > 1) {
			cpk_buf_add(b, s, n);
			s += n;
			continue;
		}
		switch (*s) {
		case '"': cpk_buf_addstr(b, "\\\""); break;
		case '\\': cpk_buf_addstr(b, "\\\\"); break;
		case '\b': cpk_buf_addstr(b, "\\b"); break;
		case '\f': cpk_buf_addstr(b, "\\f"); break;
		case '\n': cpk_buf_addstr(b, "\\n"); break;
		case '\r': cpk_buf_addstr(b, "\\r"); break;
		case '\t': cpk_buf_addstr(b, "\\t"); break;
		default:
			if (*s < 0x20 || *s == 0x7f)
				cpk_buf_addf(b, "\\u%04x", *s);
			else
				cpk_buf_addch(b, (char)*s);
		}
		s++;
	}
	cpk_buf_addch(b, '"');
}

void cpk_json_key(struct cpk_json *j, const char *key)
{
	if (j->depth == 0 || j->close[j->depth - 1] != '}' || j->after_key) {
		j->failed = 1;
		return;
	}
	sep(j);
	add_string(j->b, key);
	cpk_buf_addch(j->b, ':');
	j->after_key = 1;
}

void cpk_json_str(struct cpk_json *j, const char *s)
{
	sep(j);
	if (s)
		add_string(j->b, s);
	else
		cpk_buf_addstr(j->b, "null");
}

void cpk_json_u64(struct cpk_json *j, uint64_t v)
{
	sep(j);
	cpk_buf_addf(j->b, "%" PRIu64, v);
}

void cpk_json_num(struct cpk_json *j, double v)
{
	sep(j);
	if (!isfinite(v))	/* JSON has no NaN or infinity */
		cpk_buf_addstr(j->b, "null");
	else
		cpk_buf_addf(j->b, "%.3f", v);
}

void cpk_json_bool(struct cpk_json *j, int v)
{
	sep(j);
	cpk_buf_addstr(j->b, v ? "true" : "false");
}

void cpk_json_kstr(struct cpk_json *j, const char *key, const char *s)
{
	cpk_json_key(j, key);
	cpk_json_str(j, s);
}

void cpk_json_ku64(struct cpk_json *j, const char *key, uint64_t v)
{
	cpk_json_key(j, key);
	cpk_json_u64(j, v);
}

void cpk_json_knum(struct cpk_json *j, const char *key, double v)
{
	cpk_json_key(j, key);
	cpk_json_num(j, v);
}

void cpk_json_kbool(struct cpk_json *j, const char *key, int v)
{
	cpk_json_key(j, key);
	cpk_json_bool(j, v);
}
