/*
 * Unit tests for cpk_diff_unified: the hunks (everything after the two
 * header lines) must be what `diff -u` prints for the same two files, for
 * fixed cases (one change, head, tail, empty sides, missing final newline,
 * hunks merged or apart) and random small files; above the table limit
 * the middle is shown replaced as a whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "cpk/buf.h"
#include "cpk/diff.h"

static char dir[] = "/tmp/cpk-diff-test.XXXXXX";

static void put(const char *name, const char *p, size_t n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* The output after the first two lines (the headers). */
static const char *body(const char *s)
{
	int i;

	for (i = 0; i < 2 && s; i++)
		s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL;
	return s ? s : "";
}

static void gnu_diff(const char *a, size_t alen, const char *b, size_t blen,
		     struct cpk_buf *out)
{
	char cmd[256], chunk[4096];
	size_t n;
	FILE *p;

	put("a", a, alen);
	put("b", b, blen);
	snprintf(cmd, sizeof(cmd), "diff -u %s/a %s/b", dir, dir);
	p = popen(cmd, "r");
	if (!p) {
		perror("popen diff");
		exit(1);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		cpk_buf_add(out, chunk, n);
	if (pclose(p) == -1 || (alen == blen && !memcmp(a, b, alen) && out->len)) {
		fprintf(stderr, "diff failed\n");
		exit(1);
	}
}

static int same_as_diff(const char *a, size_t alen, const char *b, size_t blen,
			const char *name)
{
	struct cpk_buf want = CPK_BUF_INIT, got = CPK_BUF_INIT;
	int pass;

	gnu_diff(a, alen, b, blen, &want);
	pass = ok(cpk_diff_unified(a, alen, b, blen, "a", "b", &got) == CPK_OK &&
		  !strcmp(body(got.buf), body(want.buf)) &&
		  (!got.len) == (!want.len), "%s: as diff -u", name);
	if (!pass)
		printf("# ours:\n%s# diff -u:\n%s", got.buf, want.buf);
	cpk_buf_release(&want);
	cpk_buf_release(&got);
	return pass;
}

static int same_str(const char *a, const char *b, const char *name)
{
	return same_as_diff(a, strlen(a), b, strlen(b), name);
}

/* Lines "l1".."lN", with line K (1-based) replaced by REPL if K > 0. */
static void lines(struct cpk_buf *b, int n, int k, const char *repl)
{
	int i;

	for (i = 1; i <= n; i++) {
		if (i == k)
			cpk_buf_addf(b, "%s\n", repl);
		else
			cpk_buf_addf(b, "l%d\n", i);
	}
}

static void fixed_cases(void)
{
	struct cpk_buf a = CPK_BUF_INIT, b = CPK_BUF_INIT;
	int gap;

	same_str("x\n", "x\n", "equal: nothing");
	same_str("", "", "both empty: nothing");
	same_str("", "a\nb\n", "from empty");
	same_str("a\nb\n", "", "to empty");
	same_str("a\n", "b\n", "one line replaced");
	same_str("a\nb\nc\n", "a\nc\n", "one line removed");
	same_str("a\nb\nc\n", "a\nb\nx\nc\n", "one line added");
	same_str("a", "a\n", "newline added at the end");
	same_str("a\n", "a", "newline removed at the end");
	same_str("a\nb", "a\nc", "both without a final newline");
	same_str("a\nb\nc\nd\ne\nf\ng\nh", "a\nb\nc\nd\ne\nf\ng\nh\ni\n",
		 "a line appended after a last line without newline");

	lines(&a, 20, 0, NULL);
	lines(&b, 20, 10, "changed");
	same_as_diff(a.buf, a.len, b.buf, b.len, "middle line changed");
	cpk_buf_reset(&b);
	lines(&b, 20, 1, "first");
	same_as_diff(a.buf, a.len, b.buf, b.len, "first line changed");
	cpk_buf_reset(&b);
	lines(&b, 20, 20, "last");
	same_as_diff(a.buf, a.len, b.buf, b.len, "last line changed");
	cpk_buf_reset(&b);
	lines(&b, 20, 2, "second");
	same_as_diff(a.buf, a.len, b.buf, b.len, "second line changed (short head)");
	/* two changes GAP unchanged lines apart: one hunk up to 6, two above */
	for (gap = 4; gap <= 9; gap++) {
		struct cpk_buf c = CPK_BUF_INIT;
		char name[64];
		int i;

		for (i = 1; i <= 30; i++)
			cpk_buf_addf(&c, i == 10 || i == 11 + gap ? "x%d\n" : "l%d\n", i);
		snprintf(name, sizeof(name), "two changes %d lines apart", gap);
		same_as_diff(a.buf, a.len, c.buf, c.len, name);
		cpk_buf_release(&c);
	}
	cpk_buf_reset(&a);
	cpk_buf_reset(&b);
	cpk_buf_addstr(&a, "[sssd]\nservices = nss, pam\ndomains = x\n\n[domain/x]\nid_provider = ldap\n");
	cpk_buf_addstr(&b, "[sssd]\nservices = nss, pam, ssh\ndomains = x\n\n[domain/x]\nid_provider = ldap\naccess_provider = ldap\n");
	same_as_diff(a.buf, a.len, b.buf, b.len, "a config file: line changed and one appended");
	cpk_buf_release(&a);
	cpk_buf_release(&b);
}

/* Random files of lines from a small alphabet (many equal lines). */
static void random_cases(void)
{
	int t, bad = 0;

	srand(14);
	for (t = 0; t < 200 && !bad; t++) {
		struct cpk_buf a = CPK_BUF_INIT, b = CPK_BUF_INIT;
		struct cpk_buf want = CPK_BUF_INIT, got = CPK_BUF_INIT;
		int i, n = rand() % 25, m;

		for (i = 0; i < n; i++)
			cpk_buf_addf(&a, "line %d\n", i);
		/* B: A with random edits */
		for (i = 0, m = 0; i < n; i++) {
			int e = rand() % 10;

			if (e == 0)
				continue;			/* removed */
			if (e == 1)
				cpk_buf_addf(&b, "new %d\n", m++);	/* replaced */
			else
				cpk_buf_addf(&b, "line %d\n", i);
			if (e == 2)
				cpk_buf_addf(&b, "added %d\n", m++);
		}
		gnu_diff(a.buf, a.len, b.buf, b.len, &want);
		if (cpk_diff_unified(a.buf, a.len, b.buf, b.len, "a", "b", &got) != CPK_OK ||
		    strcmp(body(got.buf), body(want.buf))) {
			bad = 1;
			printf("# case %d, ours:\n%s# diff -u:\n%s", t, got.buf, want.buf);
		}
		cpk_buf_release(&a);
		cpk_buf_release(&b);
		cpk_buf_release(&want);
		cpk_buf_release(&got);
	}
	ok(!bad, "200 random edits of distinct lines: as diff -u");
}

/* Above the table limit the middle is shown replaced whole. */
static void too_big(void)
{
	struct cpk_buf a = CPK_BUF_INIT, b = CPK_BUF_INIT, got = CPK_BUF_INIT;
	size_t minus = 0, plus = 0;
	const char *p;
	int i;

	cpk_buf_addstr(&a, "head\n");
	cpk_buf_addstr(&b, "head\n");
	for (i = 0; i < 2100; i++) {
		cpk_buf_addf(&a, "a%d\n", i);
		cpk_buf_addf(&b, "b%d\n", i);
	}
	cpk_buf_addstr(&a, "same\n");
	cpk_buf_addstr(&b, "same\n");
	ok(cpk_diff_unified(a.buf, a.len, b.buf, b.len, "a", "b", &got) == CPK_OK,
	   "2100 x 2100 different lines: diffed");
	for (p = got.buf; *p; p = strchr(p, '\n') + 1) {
		minus += *p == '-';
		plus += *p == '+';
	}
	is_int((long long)minus, 2101, "every old middle line removed (and the --- header)");
	is_int((long long)plus, 2101, "every new middle line added (and the +++ header)");
	ok(strstr(got.buf, "@@ -1,2102 +1,2102 @@\n head\n-a0\n") != NULL,
	   "one hunk from the first line, the context kept");
	cpk_buf_release(&a);
	cpk_buf_release(&b);
	cpk_buf_release(&got);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	fixed_cases();
	random_cases();
	too_big();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return done_testing();
}
