/*
 * Unit tests for cpk/parse.h: counts, ports and sizes at their bounds,
 * overflow past 2^64 (with and without a suffix), and what is not a number:
 * empty, a sign, spaces, trailing junk, a suffix where none is allowed.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "cpk/error.h"
#include "cpk/parse.h"

#define KEEP 4242u	/* *out must be left alone on failure */

/* S with control bytes as '?' (a test name is one line). */
static const char *shown(const char *s)
{
	static char b[4][256];
	static int k;
	char *o = b[k++ % 4];
	size_t i;

	for (i = 0; s[i] && i + 1 < sizeof(b[0]); i++)
		o[i] = (unsigned char)s[i] < ' ' ? '?' : s[i];
	o[i] = '\0';
	return o;
}

static void uint_ok(const char *s, uint64_t min, uint64_t max, uint64_t want)
{
	uint64_t v = KEEP;
	cpk_err_t err = cpk_parse_uint(s, min, max, &v);

	ok(err == CPK_OK && v == want, "uint \"%s\" in %llu..%llu: %llu", s,
	   (unsigned long long)min, (unsigned long long)max,
	   (unsigned long long)want);
}

/* Refused, with a message holding WHY (and the value itself, if given). */
static void uint_bad(const char *s, uint64_t min, uint64_t max,
		     const char *why)
{
	uint64_t v = KEEP;
	cpk_err_t err = cpk_parse_uint(s, min, max, &v);

	ok(err == CPK_ERR_INVALID && v == KEEP && strstr(cpk_errmsg(), why) &&
	   (!*s || strstr(cpk_errmsg(), s)), "uint \"%s\" in %llu..%llu "
	   "refused: %s", shown(s), (unsigned long long)min,
	   (unsigned long long)max, err ? shown(cpk_errmsg()) : "(accepted)");
}

static void size_ok(const char *s, uint64_t min, uint64_t max, uint64_t want)
{
	uint64_t v = KEEP;
	cpk_err_t err = cpk_parse_size(s, min, max, &v);

	ok(err == CPK_OK && v == want, "size \"%s\": %llu", s,
	   (unsigned long long)want);
}

static void size_bad(const char *s, uint64_t min, uint64_t max,
		     const char *why)
{
	uint64_t v = KEEP;
	cpk_err_t err = cpk_parse_size(s, min, max, &v);

	ok(err == CPK_ERR_INVALID && v == KEEP && strstr(cpk_errmsg(), why),
	   "size \"%s\" refused: %s", s, err ? cpk_errmsg() : "(accepted)");
}

int main(void)
{
	const char *range = "out of range", *nan = "not a whole number",
		   *nsz = "not a size";

	/* counts and ports: the bounds and one past them */
	uint_ok("0", 0, 10, 0);
	uint_ok("1", 1, 64, 1);
	uint_ok("64", 1, 64, 64);
	uint_ok("007", 1, 64, 7);
	uint_ok("65535", 1, 65535, 65535);
	uint_bad("0", 1, 64, range);
	uint_bad("65", 1, 64, range);
	uint_bad("65536", 1, 65535, range);
	uint_ok("18446744073709551615", 0, UINT64_MAX, UINT64_MAX);
	uint_bad("18446744073709551616", 0, UINT64_MAX, range);
	uint_bad("99999999999999999999", 1, 64, range);
	uint_bad("184467440737095516150", 0, UINT64_MAX, range);
	/* what is not a whole number */
	uint_bad("", 0, 10, "empty");
	uint_bad("1k", 1, 65535, nan);
	uint_bad("-1", 0, 10, nan);
	uint_bad("+1", 0, 10, nan);
	uint_bad(" 1", 0, 10, nan);
	uint_bad("1 ", 0, 10, nan);
	uint_bad("1\n", 0, 10, nan);
	uint_bad("0x10", 0, 100, nan);
	uint_bad("1.5", 0, 10, nan);
	uint_bad("k", 0, 10, nan);
	{
		uint64_t v = KEEP;

		ok(cpk_parse_uint(NULL, 0, 10, &v) == CPK_ERR_INVALID &&
		   v == KEEP, "uint NULL refused");
	}

	/* sizes: suffixes in either case, the bounds, overflow */
	size_ok("0", 0, UINT64_MAX, 0);
	size_ok("1", 1, UINT64_MAX, 1);
	size_ok("1k", 1, UINT64_MAX, 1024);
	size_ok("1K", 1, UINT64_MAX, 1024);
	size_ok("8m", 1, UINT64_MAX, 8ULL << 20);
	size_ok("8M", 1, UINT64_MAX, 8ULL << 20);
	size_ok("3g", 1, UINT64_MAX, 3ULL << 30);
	size_ok("3G", 1, UINT64_MAX, 3ULL << 30);
	size_ok("2T", 1, UINT64_MAX, 2ULL << 40);
	size_ok("18446744073709551615", 0, UINT64_MAX, UINT64_MAX);
	size_ok("16777215T", 0, UINT64_MAX, 16777215ULL << 40);
	size_bad("16777216T", 0, UINT64_MAX, range);	/* 2^64 */
	size_ok("17179869183G", 0, UINT64_MAX, 17179869183ULL << 30);
	size_bad("17179869184G", 0, UINT64_MAX, range);	/* 2^64 */
	size_bad("18014398509481984k", 0, UINT64_MAX, range);	/* 2^64 */
	size_bad("18446744073709551616", 0, UINT64_MAX, range);
	size_bad("99999999999999999999G", 0, UINT64_MAX, range);
	size_ok("1G", 1, 1ULL << 30, 1ULL << 30);
	size_bad("1025M", 1, 1ULL << 30, range);
	size_bad("0", 1, UINT64_MAX, range);
	size_bad("0k", 1, UINT64_MAX, range);
	/* what is not a size */
	size_bad("", 1, UINT64_MAX, "empty");
	size_bad("M", 1, UINT64_MAX, nsz);
	size_bad("8MB", 1, UINT64_MAX, nsz);
	size_bad("8Mi", 1, UINT64_MAX, nsz);
	size_bad("8kk", 1, UINT64_MAX, nsz);
	size_bad("8x", 1, UINT64_MAX, nsz);
	size_bad("8 M", 1, UINT64_MAX, nsz);
	size_bad(" 8M", 1, UINT64_MAX, nsz);
	size_bad("8M ", 1, UINT64_MAX, nsz);
	size_bad("-8M", 1, UINT64_MAX, nsz);
	size_bad("1.5G", 1, UINT64_MAX, nsz);
	size_bad("8P", 1, UINT64_MAX, nsz);
	return done_testing();
}
