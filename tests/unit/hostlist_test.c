/* Unit tests for lib/model/hostlist.c: expansion, errors, compression. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpk/hostlist.h"
#include "tap.h"

/* Expands EXPR and joins the names with spaces. */
static char *expand_joined(const char *expr, size_t *errpos)
{
	struct cpk_hostlist hl = CPK_HOSTLIST_INIT;
	struct cpk_buf b = CPK_BUF_INIT;
	size_t i;

	if (cpk_hostlist_expand(&hl, expr, errpos) != CPK_OK)
		return NULL;
	for (i = 0; i < hl.n; i++)
		cpk_buf_addf(&b, "%s%s", i ? " " : "", hl.names[i]);
	cpk_hostlist_release(&hl);
	return cpk_buf_detach(&b, NULL);
}

static char *compress_words(const char *words)
{
	struct cpk_hostlist hl = CPK_HOSTLIST_INIT;
	struct cpk_buf b = CPK_BUF_INIT;
	char *copy = strdup(words), *save = NULL, *w;

	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		cpk_hostlist_push(&hl, w);
	cpk_hostlist_compress((const char *const *)hl.names, hl.n, &b);
	cpk_hostlist_release(&hl);
	free(copy);
	return cpk_buf_detach(&b, NULL);
}

static void check_expand(const char *expr, const char *want)
{
	char *got = expand_joined(expr, NULL);

	is_str(got, want, "expand %s", expr);
	free(got);
}

static void check_error(const char *expr, size_t want_pos, const char *msg)
{
	size_t pos = 12345;
	char *got = expand_joined(expr, &pos);

	ok(got == NULL, "'%s' is refused", expr);
	is_int((long long)pos, (long long)want_pos, "'%s' error position", expr);
	ok(strstr(cpk_errmsg(), msg) != NULL, "'%s' says '%s' (%s)", expr, msg,
	   cpk_errmsg());
	free(got);
}

static void check_compress(const char *words, const char *want)
{
	char *got = compress_words(words);

	is_str(got, want, "compress %s", words);
	free(got);
}

/* compress(expand(x)) must expand back to the same names. */
static void check_roundtrip(const char *expr)
{
	struct cpk_hostlist hl = CPK_HOSTLIST_INIT;
	struct cpk_buf b = CPK_BUF_INIT;
	char *a, *c;

	a = expand_joined(expr, NULL);
	cpk_hostlist_expand(&hl, expr, NULL);
	cpk_hostlist_compress((const char *const *)hl.names, hl.n, &b);
	c = expand_joined(b.buf, NULL);
	is_str(c, a, "round trip %s via %s", expr, b.buf);
	free(a);
	free(c);
	cpk_buf_release(&b);
	cpk_hostlist_release(&hl);
}

/* "P[LO-HI]" as ranges of at most 50,000 names (Slurm's limit is 65,536). */
static char *big_range(const char *prefix, unsigned long lo, unsigned long hi)
{
	struct cpk_buf b = CPK_BUF_INIT;
	unsigned long a;

	cpk_buf_addf(&b, "%s[", prefix);
	for (a = lo; a <= hi; a += 50000)
		cpk_buf_addf(&b, "%s%lu-%lu", a == lo ? "" : ",", a,
			     a + 49999 < hi ? a + 49999 : hi);
	cpk_buf_addch(&b, ']');
	return cpk_buf_detach(&b, NULL);
}

/* Expansion appends to a list; a failure leaves the list as it was. */
static void test_expand_appends(void)
{
	struct cpk_hostlist hl = CPK_HOSTLIST_INIT;
	char *n1 = big_range("n", 1, 999999), *n0 = big_range("n", 0, 999999);
	char *n1m = NULL, *n1mo = NULL, *over = NULL;
	struct cpk_buf b = CPK_BUF_INIT;

	cpk_buf_addf(&b, "%s,m", n1);
	n1m = cpk_buf_detach(&b, NULL);
	cpk_buf_addf(&b, "%s,m,o", n1);
	n1mo = cpk_buf_detach(&b, NULL);
	cpk_buf_addf(&b, "%s,d[1-2]", n1);
	over = cpk_buf_detach(&b, NULL);
	cpk_hostlist_push(&hl, "keep");
	ok(cpk_hostlist_expand(&hl, "a[1-2]", NULL) == CPK_OK && hl.n == 3 &&
	   !strcmp(hl.names[0], "keep") && !strcmp(hl.names[2], "a2"), "expand appends");
	ok(cpk_hostlist_expand(&hl, "b[1-3],c[", NULL) != CPK_OK, "a bad expression fails");
	ok(hl.n == 3 && !strcmp(hl.names[0], "keep") && !strcmp(hl.names[2], "a2"),
	   "and takes back the names it had added (%zu names)", hl.n);
	cpk_hostlist_release(&hl);
	ok(hl.n == 0 && hl.names == NULL, "released");
	ok(cpk_hostlist_expand(&hl, "b[1-3],c[", NULL) != CPK_OK && hl.n == 0 && !hl.names,
	   "a failure on an empty list leaves it empty");
	ok(cpk_hostlist_expand(&hl, n1, NULL) == CPK_OK && hl.n == 999999 &&
	   !strcmp(hl.names[999998], "n999999"), "999,999 names: one under the limit");
	ok(cpk_hostlist_expand(&hl, "m[1-2]", NULL) == CPK_OK && hl.n == 1000001,
	   "the limit is per expression, not per list");
	cpk_hostlist_release(&hl);
	ok(cpk_hostlist_expand(&hl, n1m, NULL) == CPK_OK && hl.n == CPK_HOSTLIST_MAX,
	   "a plain name counts: CPK_HOSTLIST_MAX names");
	cpk_hostlist_release(&hl);
	ok(cpk_hostlist_expand(&hl, n1mo, NULL) != CPK_OK && hl.n == 0,
	   "one more is refused");
	cpk_hostlist_release(&hl);
	ok(cpk_hostlist_expand(&hl, n0, NULL) == CPK_OK && hl.n == CPK_HOSTLIST_MAX,
	   "exactly CPK_HOSTLIST_MAX names expand");
	cpk_hostlist_release(&hl);
	ok(cpk_hostlist_expand(&hl, over, NULL) != CPK_OK && hl.n == 0 &&
	   strstr(cpk_errmsg(), "host list expands to too many names"),
	   "999,999 names and 2 more are refused (%s)", cpk_errmsg());
	free(n1);
	free(n0);
	free(n1m);
	free(n1mo);
	free(over);
}

int main(void)
{
	struct cpk_hostlist big = CPK_HOSTLIST_INIT;

	alarm(120);	/* a compression that loops forever fails here */
	check_expand("c1", "c1");
	check_expand("c[1-3]", "c1 c2 c3");
	check_expand("c[001-003]", "c001 c002 c003");
	check_expand("c[9-11]", "c9 c10 c11");
	check_expand("c[098-101]", "c098 c099 c100 c101");
	check_expand("c[1,3,5-6]", "c1 c3 c5 c6");
	check_expand("a,b[1-2],c", "a b1 b2 c");
	check_expand("r[1-2]n[1-2]", "r1n1 r1n2 r2n1 r2n2");
	check_expand("10.0.0.[11-13]", "10.0.0.11 10.0.0.12 10.0.0.13");
	check_expand("[1-2]", "1 2");
	/* a range's width is its first number's (Slurm's rule) */
	check_expand("c[1-010]", "c1 c2 c3 c4 c5 c6 c7 c8 c9 c10");
	check_expand("c[7-010]", "c7 c8 c9 c10");
	check_expand("c[007-10]", "c007 c008 c009 c010");
	check_expand("c[9-10,011]", "c9 c10 c011");
	/* Slurm's order: the last group fastest, then the first to the one
	 * before the last */
	check_expand("a[1-2]b[1-2]c[1-2]", "a1b1c1 a1b1c2 a2b1c1 a2b1c2 a1b2c1 a1b2c2 a2b2c1 a2b2c2");
	check_expand("c[08-10]", "c08 c09 c10");
	check_expand("c[1-10]", "c1 c2 c3 c4 c5 c6 c7 c8 c9 c10");
	check_expand("c[0-1]", "c0 c1");
	check_expand("c[00-01]", "c00 c01");
	check_expand("c[007]", "c007");
	check_expand("c[999999998-999999999]", "c999999998 c999999999");
	check_expand("a[1]b[2]c[3]d[4]e[5]f[6]g[7]h[8]", "a1b2c3d4e5f6g7h8");
	check_expand("c[1-2,2]", "c1 c2 c2");
	check_expand("c[3,1-2]x[1-2]", "c3x1 c3x2 c1x1 c1x2 c2x1 c2x2");

	check_error("", 0, "empty host list");
	check_error("c[1-3", 5, "missing ']'");
	check_error("c[3-1]", 2, "backwards");
	check_error("c[a]", 2, "expected a number");
	check_error("c[1-]", 4, "after '-'");
	check_error("a,,b", 2, "empty name");
	check_error("a,", 2, "empty name at end");
	check_error("c]", 1, "unexpected ']'");
	check_error("c 1", 1, "invalid character");
	check_error("c[1-9999999999]", 4, "too long");
	check_error("c[0-999999]x[0-9]", 2, "more than 65536 names");
	check_error("c[1-2]14", 6, "text after the last ']'");
	check_error("gpu[81-89]p019", 10, "text after the last ']'");
	check_error("gpu[1-2]-ib", 8, "text after the last ']'");
	check_error("c[1-65537]", 2, "more than 65536 names");
	check_error("c[1-65536,1-65536]x[1]", 1, "before the last expands to more than 65536");
	check_error("a[1]b[2]c[3]d[4]e[5]f[6]g[7]h[8]i[9]", 33, "too many bracket groups");
	check_error("a[1-1000]b[1-1000]c[1-1000]d[1-1000]e[1-1000]f[1-1000]g[1-1000]", 0,
		    "too many names");
	check_error("c[1-3],", 7, "empty name at end");
	check_error("c[1-3]d]", 7, "unexpected ']'");
	check_error("c[1-3x]", 5, "expected ',' or ']'");
	check_error("c[,1]", 2, "expected a number");
	check_error("c[1-2][", 7, "expected a number");

	check_compress("c1 c2 c3", "c[1-3]");
	check_compress("c001 c002 c003 c005", "c[001-003,005]");
	check_compress("c5", "c5");
	check_compress("login", "login");
	check_compress("a b1 b2 c", "a,b[1-2],c");
	check_compress("c9 c10", "c[9-10]");
	check_compress("c01 c1", "c01,c1");
	check_compress("n099 n100 n101", "n[099-101]");
	check_compress("n9 n10 n011", "n[9-10],n011");
	check_compress("c3 c1 c2", "c[3,1-2]");
	check_compress("10.0.0.11 10.0.0.12", "10.0.0.[11-12]");
	check_compress("gpu1 c1 c2", "gpu1,c[1-2]");

	check_roundtrip("c[001-128]");
	check_roundtrip("r[1-2]n[01-04],login[1-2],x");
	check_roundtrip("c[9-11,20,22-23]");
	check_roundtrip("r00n[001-250]");
	check_roundtrip("n[9-10],n011,n[098-101]");
	check_roundtrip("c[1-010]");
	check_roundtrip("c[1-010],c[1-10],c[0001-0003]");
	check_roundtrip("x1234567890,x1234567891,x1234567893");
	check_roundtrip("c[1,1,2]");
	check_roundtrip("a,b,a");
	check_compress("c001 c002 c003 c004 c005 c006 c007 c008 c009 c010", "c[001-010]");
	check_compress("c1 c1", "c[1,1]");
	check_compress("", "");
	check_compress("c1 c2 c4 c5 c7", "c[1-2,4-5,7]");
	check_compress("c1 d1 d2", "c1,d[1-2]");
	check_compress("c00 c01", "c[00-01]");
	check_compress("c0 c1", "c[0-1]");
	check_compress("c0 c10", "c[0,10]");
	/* issue 13: a padded run then an unpadded one kept its brackets */
	check_roundtrip("gpu[056-061],gpu[61-75]");
	check_compress("gpu056 gpu057 gpu61 gpu62", "gpu[056-057],gpu[61-62]");
	check_compress("c01 c02 c1", "c[01-02],c1");
	check_compress("c1 c2 c01", "c[1-2],c01");
	{
		char *e = big_range("n", 1, 70000);
		struct cpk_hostlist hl = CPK_HOSTLIST_INIT;
		struct cpk_buf out = CPK_BUF_INIT;

		cpk_hostlist_expand(&hl, e, NULL);
		cpk_hostlist_compress((const char *const *)hl.names, hl.n, &out);
		is_str(out.buf, "n[1-65536,65537-70000]",
		       "a run of 70,000 names is written as ranges Slurm takes (at most 65,536)");
		cpk_hostlist_release(&hl);
		cpk_buf_release(&out);
		free(e);
	}

	test_expand_appends();

	ok(cpk_hostlist_expand(&big, "n[00001-10000]", NULL) == CPK_OK &&
	   big.n == 10000 && !strcmp(big.names[9999], "n10000"),
	   "10,000 names expand");
	cpk_hostlist_release(&big);
	return done_testing();
}
