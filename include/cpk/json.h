/*
 * A tiny JSON writer for script-readable output (cpk ... --json).
 *
 *   struct cpk_buf b = CPK_BUF_INIT;
 *   struct cpk_json j;
 *   cpk_json_init(&j, &b);          borrows B until the last call
 *   cpk_json_obj(&j);
 *   cpk_json_key(&j, "name"); cpk_json_str(&j, "alice");
 *   cpk_json_key(&j, "uid");  cpk_json_u64(&j, 10000);
 *   cpk_json_end(&j);               closes the innermost object or array
 *   ... b.buf holds {"name":"alice","uid":10000}; cpk_buf_release(&b)
 *
 * Commas are put in by the writer.  Nesting deeper than CPK_JSON_DEPTH
 * (or ending more than was opened) marks J failed; so does a failed
 * buffer.  Nothing here prints or allocates beyond B.
 */
#ifndef CPK_JSON_H
#define CPK_JSON_H

#include <stdint.h>
#include "cpk/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CPK_JSON_DEPTH 16

struct cpk_json {
	struct cpk_buf *b;	/* borrowed */
	int depth;
	int failed;
	char close[CPK_JSON_DEPTH];	/* '}' or ']' per level */
	char first[CPK_JSON_DEPTH];	/* 1 until the level has a member */
	int after_key;		/* the next value follows a key */
};

void cpk_json_init(struct cpk_json *j, struct cpk_buf *b);
void cpk_json_obj(struct cpk_json *j);	/* { */
void cpk_json_arr(struct cpk_json *j);	/* [ */
void cpk_json_end(struct cpk_json *j);	/* } or ] */
void cpk_json_key(struct cpk_json *j, const char *key);
/* S NULL writes null.  Bytes are escaped as RFC 8259 requires ('"', '\\',
 * control bytes; also DEL); UTF-8 sequences are copied, and every byte
 * that is not part of a valid UTF-8 sequence becomes \ufffd, so the
 * output is always valid JSON. */
void cpk_json_str(struct cpk_json *j, const char *s);
void cpk_json_u64(struct cpk_json *j, uint64_t v);
void cpk_json_bool(struct cpk_json *j, int v);
/* A number with 3 decimals; null if V is not finite. */
void cpk_json_num(struct cpk_json *j, double v);
/* A member of the current object: cpk_json_key() then the value. */
void cpk_json_kstr(struct cpk_json *j, const char *key, const char *s);
void cpk_json_ku64(struct cpk_json *j, const char *key, uint64_t v);
void cpk_json_kbool(struct cpk_json *j, const char *key, int v);
void cpk_json_knum(struct cpk_json *j, const char *key, double v);
/* 0 if J and its buffer are fine. */
static inline int cpk_json_failed(const struct cpk_json *j)
{
	return j->failed || j->depth != 0 || cpk_buf_failed(j->b);
}

#ifdef __cplusplus
}
#endif
#endif
