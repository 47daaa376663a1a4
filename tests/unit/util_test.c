/*
 * Unit tests for lib/util: the growable buffer (every length around its
 * growth points, sticky failure), the string map, error codes and messages,
 * the allocation helpers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "cpk/buf.h"
#include "cpk/error.h"
#include "internal.h"	/* after the system headers: it bans some of them */
#include "strmap.h"

/* Every prefix length and addition length around the growth points: the
 * result must be exactly the bytes added, NUL-terminated, by each kind of
 * addition. */
static void test_buf_lengths(void)
{
	char want[512], piece[300];
	int bad = 0, kind;
	size_t pre, n;

	memset(piece, 'x', sizeof(piece));
	for (kind = 0; kind < 3; kind++) {
		for (pre = 0; pre < 140 && !bad; pre++) {
			for (n = 0; n < 200 && !bad; n++) {
				struct cpk_buf b = CPK_BUF_INIT;

				memset(want, 'p', pre);
				memset(want + pre, 'x', n);
				want[pre + n] = '\0';
				cpk_buf_add(&b, want, pre);
				if (kind == 0)
					cpk_buf_add(&b, piece, n);
				else if (kind == 1)
					cpk_buf_addf(&b, "%.*s", (int)n, piece);
				else {
					size_t i;

					for (i = 0; i < n; i++)
						cpk_buf_addch(&b, 'x');
				}
				if (cpk_buf_failed(&b) || b.len != pre + n || strcmp(b.buf, want) ||
				    (b.alloc && b.alloc <= b.len)) {
					bad = 1;
					ok(0, "kind %d: %zu bytes then %zu: len %zu alloc %zu '%s'",
					   kind, pre, n, b.len, b.alloc, b.buf);
				}
				cpk_buf_release(&b);
			}
		}
		if (!bad)
			ok(1, "kind %d: every length 0..139 then 0..199 gives exactly those bytes",
			   kind);
	}
}

static void test_buf(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	size_t len = 99, alloc;
	char *s;
	int i;

	ok(b.buf && b.buf[0] == '\0' && b.len == 0 && b.alloc == 0, "an initial buffer is \"\"");
	cpk_buf_release(&b);
	ok(b.buf && b.buf[0] == '\0', "releasing an unused buffer is harmless");
	s = cpk_buf_detach(&b, &len);
	ok(s && !*s && len == 0, "detach of an empty buffer gives an empty heap string");
	free(s);

	for (i = 0; i < 10000; i++)
		cpk_buf_addf(&b, "%d,", i);
	ok(!cpk_buf_failed(&b) && b.len == 48890 && !strncmp(b.buf + b.len - 5, "9999,", 5),
	   "buffer grows");
	alloc = b.alloc;
	cpk_buf_reset(&b);
	ok(b.len == 0 && b.buf[0] == '\0' && b.alloc == alloc, "reset empties but keeps memory");
	cpk_buf_add(&b, "a\0b", 3);
	ok(b.len == 3 && !memcmp(b.buf, "a\0b", 4), "binary data with a NUL inside");
	s = cpk_buf_detach(&b, &len);
	ok(s && len == 3 && !memcmp(s, "a\0b", 4), "detach gives the bytes and the length");
	ok(b.buf[0] == '\0' && b.len == 0 && b.alloc == 0, "and leaves the buffer empty");
	free(s);

	cpk_buf_addstr(&b, "kept");
	cpk_buf_grow(&b, (size_t)-1 / 2);
	ok(cpk_buf_failed(&b), "an impossible size fails");
	is_str(b.buf, "kept", "without losing what was there");
	cpk_buf_addstr(&b, "more");
	cpk_buf_addf(&b, "%s", "more");
	cpk_buf_addch(&b, 'm');
	ok(cpk_buf_failed(&b) && b.len == 4, "the failure is sticky: later additions are ignored");
	ok(cpk_buf_detach(&b, NULL) == NULL, "detach of a failed buffer is NULL");
	ok(!cpk_buf_failed(&b) && b.len == 0 && b.alloc == 0, "and resets it");
	cpk_buf_addstr(&b, "x");
	cpk_buf_grow(&b, (size_t)-1);
	ok(cpk_buf_failed(&b), "SIZE_MAX more fails too (no wrap-around)");
	cpk_buf_release(&b);
	ok(!cpk_buf_failed(&b) && b.len == 0 && b.buf[0] == '\0', "release clears the failure");
	test_buf_lengths();
}

static void test_strmap(void)
{
	struct cpk_strmap m = CPK_STRMAP_INIT;
	static char keys[5000][8];
	size_t i, v = 0, bad = 0;

	ok(!cpk_strmap_get(&m, "x", &v), "an empty map has nothing");
	for (i = 0; i < 5000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		if (cpk_strmap_put(&m, keys[i], i * 3, NULL) != 1)
			bad++;
	}
	ok(!bad && m.n == 5000, "5,000 keys inserted");
	for (i = 0; i < 5000; i++)
		if (!cpk_strmap_get(&m, keys[i], &v) || v != i * 3)
			bad++;
	ok(!bad, "each found with its value");
	ok(!cpk_strmap_get(&m, "k5000", &v) && !cpk_strmap_get(&m, "", NULL),
	   "absent keys are absent");
	v = 0;
	is_int(cpk_strmap_put(&m, "k42", 7, &v), 0, "a duplicate is not inserted");
	is_int((long long)v, 126, "and gives the existing value");
	ok(cpk_strmap_get(&m, "k42", &v) && v == 126 && m.n == 5000, "which is unchanged");
	ok(m.cap >= 2 * m.n, "the table stays at most half full");
	cpk_strmap_release(&m);
	ok(!m.keys && !m.vals && !m.cap && !m.n && !cpk_strmap_get(&m, "k1", NULL),
	   "released: empty");
	is_int(cpk_strmap_put(&m, "again", 1, NULL), 1, "and usable again");
	cpk_strmap_release(&m);
}

static void *other_thread(void *arg)
{
	(void)arg;
	cpk_err_set(CPK_ERR_IO, "from another thread");
	return NULL;
}

static void test_errors(void)
{
	static const struct { int e; cpk_err_t want; } map[] = {
		{ ENOMEM, CPK_ERR_NOMEM }, { ENOENT, CPK_ERR_NOTFOUND },
		{ ENOTDIR, CPK_ERR_NOTFOUND }, { EEXIST, CPK_ERR_EXISTS },
		{ EACCES, CPK_ERR_PERM }, { EPERM, CPK_ERR_PERM }, { EROFS, CPK_ERR_PERM },
		{ EINVAL, CPK_ERR_INVALID }, { EIO, CPK_ERR_IO }, { ENOSPC, CPK_ERR_IO },
	};
	char big[3000];
	pthread_t t;
	size_t i;
	int e;

	for (e = CPK_OK; e < CPK_ERR__MAX; e++)
		ok(strcmp(cpk_strerror((cpk_err_t)e), "unknown error") != 0, "code %d has a name: %s",
		   e, cpk_strerror((cpk_err_t)e));
	is_str(cpk_strerror(CPK_ERR__MAX), "unknown error", "one past the last code");
	is_str(cpk_strerror((cpk_err_t)-1), "unknown error", "a negative code");
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		is_int(cpk_err_from_errno(map[i].e), map[i].want, "errno %s", strerror(map[i].e));

	errno = ENOENT;
	is_int(cpk_err_sys("cannot open %s", "/x"), CPK_ERR_NOTFOUND, "err_sys takes the code from errno");
	is_str(cpk_errmsg(), "cannot open /x: No such file or directory", "and appends strerror");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(cpk_err_set(CPK_ERR_INVALID, "%s", big), CPK_ERR_INVALID, "err_set returns the code");
	is_int((long long)strlen(cpk_errmsg()), 1023, "a long message is cut, not overflowed");
	errno = EACCES;
	cpk_err_sys("%s", big);
	is_int((long long)strlen(cpk_errmsg()), 1023, "also with strerror appended");
	cpk_err_set(CPK_ERR_PERM, "permission denied");
	is_int(cpk_err_prefix(CPK_ERR_PERM, "cannot open %s", "/x"), CPK_ERR_PERM,
	       "err_prefix returns the code");
	is_str(cpk_errmsg(), "cannot open /x: permission denied", "and puts its text first");
	cpk_err_set(CPK_ERR_IO, "%s", big);
	cpk_err_prefix(CPK_ERR_IO, "%s", big);
	is_int((long long)strlen(cpk_errmsg()), 1023, "a long prefix and message are cut, not overflowed");
	cpk_err_set(CPK_ERR_IO, "from this thread");
	if (pthread_create(&t, NULL, other_thread, NULL) == 0)
		pthread_join(t, NULL);
	is_str(cpk_errmsg(), "from this thread", "the message is per thread");
}

static void test_alloc(void)
{
	void *p;
	char s[4] = "abc";

	ok(cpk_reallocarray(NULL, SIZE_MAX / 2, 3) == NULL, "reallocarray refuses an overflow");
	ok(cpk_reallocarray(NULL, (size_t)1 << 40, (size_t)1 << 40) == NULL, "of a product too");
	p = cpk_reallocarray(NULL, 0, 8);
	ok(p != NULL, "zero elements: still a pointer to free");
	free(p);
	p = cpk_reallocarray(NULL, 3, 8);
	ok(p != NULL, "24 bytes");
	free(p);
	ok(cpk_strdup(NULL) == NULL, "strdup(NULL) is NULL");
	p = cpk_strndup("abcdef", 3);
	is_str(p, "abc", "strndup takes at most N bytes");
	free(p);
	cpk_memwipe(s, sizeof(s));
	ok(!s[0] && !s[1] && !s[2] && !s[3], "memwipe zeroes");
	cpk_memwipe(NULL, 10);
	ok(1, "memwipe(NULL) is harmless");
}

int main(void)
{
	alarm(60);	/* a map that never grows would loop forever */
	test_buf();
	test_strmap();
	test_errors();
	test_alloc();
	return done_testing();
}
