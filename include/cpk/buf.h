/*
 * A growable string buffer (after git's strbuf).
 *
 * 1. struct cpk_buf b = CPK_BUF_INIT;
 * 2. cpk_buf_add*(&b, ...) any number of times;
 * 3. if (cpk_buf_failed(&b)) -> out of memory happened somewhere above;
 * 4. use b.buf (always NUL-terminated, never NULL) and b.len;
 * 5. cpk_buf_release(&b), or cpk_buf_detach(&b) to take ownership.
 *
 * An allocation failure is sticky: later additions are ignored, and the
 * caller checks once with cpk_buf_failed().  This keeps call sites short and
 * the library free of aborts.
 */
#ifndef CPK_BUF_H
#define CPK_BUF_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cpk_buf {
	char *buf;	/* NUL-terminated; points at a static "" until first growth */
	size_t len;	/* bytes used, not counting the NUL */
	size_t alloc;	/* bytes allocated, 0 while buf is the static "" */
	int failed;	/* an allocation failed: contents are truncated */
};

extern char cpk_buf_empty[];
#define CPK_BUF_INIT { cpk_buf_empty, 0, 0, 0 }

void cpk_buf_init(struct cpk_buf *b);
/* Frees the memory and re-initializes b.  Accepts an initialized empty b. */
void cpk_buf_release(struct cpk_buf *b);
/* Returns the heap string (caller frees) and re-initializes b; NULL if failed. */
char *cpk_buf_detach(struct cpk_buf *b, size_t *len);
void cpk_buf_reset(struct cpk_buf *b);	/* len = 0, keeps memory */
void cpk_buf_grow(struct cpk_buf *b, size_t extra);
void cpk_buf_add(struct cpk_buf *b, const void *data, size_t len);
void cpk_buf_addstr(struct cpk_buf *b, const char *s);
void cpk_buf_addch(struct cpk_buf *b, char c);
void cpk_buf_addf(struct cpk_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cpk_buf_vaddf(struct cpk_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static inline int cpk_buf_failed(const struct cpk_buf *b) { return b->failed; }

#ifdef __cplusplus
}
#endif
#endif
