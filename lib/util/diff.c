/*
 * A line diff printed as `diff -u` prints it: trim the common head and
 * tail, align the middle by a longest common subsequence (a table of
 * lines old x lines new, refused above CPK_DIFF_MAX_CELLS), then group the
 * edit script into hunks with three lines of context.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpk/diff.h"
#include "internal.h"

#define CONTEXT 3

struct line {
	const char *p;
	size_t len;	/* with its '\n', if it has one */
};

struct text {
	struct line *v;
	size_t n;
};

/* An edit: '=' a[ai] is b[bi]; '-' a[ai] goes; '+' b[bi] comes. */
struct op {
	char kind;
	size_t ai, bi;
};

struct script {
	struct op *v;
	size_t n, alloc;
};

static cpk_err_t split(const char *p, size_t len, struct text *t)
{
	size_t i, start = 0, n = 0;

	for (i = 0; i < len; i++)
		if (p[i] == '\n')
			n++;
	if (len && p[len - 1] != '\n')
		n++;
	t->n = 0;
	t->v = calloc(n ? n : 1, sizeof(*t->v));
	if (!t->v)
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	for (i = 0; i < len; i++) {
		if (p[i] != '\n' && i + 1 < len)
			continue;
		t->v[t->n].p = p + start;
		t->v[t->n].len = i + 1 - start;
		t->n++;
		start = i + 1;
	}
	return CPK_OK;
}

static int same(const struct line *x, const struct line *y)
{
	return x->len == y->len && !memcmp(x->p, y->p, x->len);
}

static int push(struct script *s, char kind, size_t ai, size_t bi)
{
	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 64;
		struct op *v = cpk_reallocarray(s->v, na, sizeof(*v));

		if (!v)
			return -1;
		s->v = v;
		s->alloc = na;
	}
	s->v[s->n].kind = kind;
	s->v[s->n].ai = ai;
	s->v[s->n].bi = bi;
	s->n++;
	return 0;
}

/* The edits of a[a0..a1) against b[b0..b1), which share no head or tail. */
static int middle(const struct text *a, size_t a0, size_t a1,
		  const struct text *b, size_t b0, size_t b1, struct script *s)
{
	size_t n = a1 - a0, m = b1 - b0, i, j, w = m + 1;
	uint32_t *L;

	if (n && m && (n + 1) <= CPK_DIFF_MAX_CELLS / (m + 1) &&
	    (L = calloc((n + 1) * w, sizeof(*L))) != NULL) {
		for (i = n; i-- > 0;)
			for (j = m; j-- > 0;)
				L[i * w + j] = same(&a->v[a0 + i], &b->v[b0 + j])
					       ? L[(i + 1) * w + j + 1] + 1
					       : (L[(i + 1) * w + j] >= L[i * w + j + 1]
						  ? L[(i + 1) * w + j] : L[i * w + j + 1]);
		i = j = 0;
		while (i < n || j < m) {
			int r;

			if (i < n && j < m && same(&a->v[a0 + i], &b->v[b0 + j]))
				r = push(s, '=', a0 + i++, b0 + j++);
			else if (j == m || (i < n && L[(i + 1) * w + j] >= L[i * w + j + 1]))
				r = push(s, '-', a0 + i++, b0 + j);
			else
				r = push(s, '+', a0 + i, b0 + j++);
			if (r) {
				free(L);
				return -1;
			}
		}
		free(L);
		return 0;
	}
	/* too big (or no memory for the table): replaced as a whole */
	for (i = a0; i < a1; i++)
		if (push(s, '-', i, b0))
			return -1;
	for (j = b0; j < b1; j++)
		if (push(s, '+', a1, j))
			return -1;
	return 0;
}

static void put_line(struct cpk_buf *out, char mark, const struct line *l)
{
	cpk_buf_addch(out, mark);
	cpk_buf_add(out, l->p, l->len);
	if (!l->len || l->p[l->len - 1] != '\n')
		cpk_buf_addstr(out, "\n\\ No newline at end of file\n");
}

static void range(struct cpk_buf *out, char sign, size_t first, size_t count)
{
	/* diff numbers from 1; an empty range names the line before it */
	cpk_buf_addf(out, "%c%zu", sign, count ? first + 1 : first);
	if (count != 1)
		cpk_buf_addf(out, ",%zu", count);
}

/* Prints the ops [h0, h1) as one hunk, removals of a change before its
 * additions. */
static void hunk(const struct script *s, size_t h0, size_t h1,
		 const struct text *a, const struct text *b, struct cpk_buf *out)
{
	size_t k, j, na = 0, nb = 0;

	for (k = h0; k < h1; k++) {
		na += s->v[k].kind != '+';
		nb += s->v[k].kind != '-';
	}
	cpk_buf_addstr(out, "@@ ");
	range(out, '-', s->v[h0].ai, na);
	cpk_buf_addch(out, ' ');
	range(out, '+', s->v[h0].bi, nb);
	cpk_buf_addstr(out, " @@\n");
	for (k = h0; k < h1;) {
		size_t e = k;

		if (s->v[k].kind == '=') {
			put_line(out, ' ', &a->v[s->v[k].ai]);
			k++;
			continue;
		}
		while (e < h1 && s->v[e].kind != '=')
			e++;
		for (j = k; j < e; j++)
			if (s->v[j].kind == '-')
				put_line(out, '-', &a->v[s->v[j].ai]);
		for (j = k; j < e; j++)
			if (s->v[j].kind == '+')
				put_line(out, '+', &b->v[s->v[j].bi]);
		k = e;
	}
}

static void hunks(const struct script *s, const struct text *a,
		  const struct text *b, struct cpk_buf *out)
{
	size_t k = 0;

	while (k < s->n) {
		size_t first, last, h0, h1, run;

		while (k < s->n && s->v[k].kind == '=')
			k++;
		if (k == s->n)
			break;
		first = k;
		last = k;	/* the last change of this hunk */
		for (;;) {
			while (k < s->n && s->v[k].kind != '=')
				last = k++;
			for (run = 0; k + run < s->n && s->v[k + run].kind == '='; run++)
				;
			if (k + run == s->n || run > 2 * CONTEXT)
				break;
			k += run;
		}
		h0 = first > CONTEXT ? first - CONTEXT : 0;
		h1 = last + 1 + CONTEXT < s->n ? last + 1 + CONTEXT : s->n;
		hunk(s, h0, h1, a, b, out);
		k = h1;
	}
}

cpk_err_t cpk_diff_unified(const char *a, size_t alen, const char *b, size_t blen,
			   const char *label_a, const char *label_b,
			   struct cpk_buf *out)
{
	struct text ta = { NULL, 0 }, tb = { NULL, 0 };
	struct script s = { NULL, 0, 0 };
	cpk_err_t r = CPK_OK;
	size_t pre = 0, suf = 0, i;

	if (alen == blen && (!alen || !memcmp(a, b, alen)))
		return CPK_OK;
	if ((r = split(a, alen, &ta)) != CPK_OK || (r = split(b, blen, &tb)) != CPK_OK)
		goto out;
	while (pre < ta.n && pre < tb.n && same(&ta.v[pre], &tb.v[pre]))
		pre++;
	while (suf < ta.n - pre && suf < tb.n - pre &&
	       same(&ta.v[ta.n - 1 - suf], &tb.v[tb.n - 1 - suf]))
		suf++;
	for (i = 0; i < pre; i++)
		if (push(&s, '=', i, i))
			goto oom;
	if (middle(&ta, pre, ta.n - suf, &tb, pre, tb.n - suf, &s))
		goto oom;
	for (i = 0; i < suf; i++)
		if (push(&s, '=', ta.n - suf + i, tb.n - suf + i))
			goto oom;
	cpk_buf_addf(out, "--- %s\n+++ %s\n", label_a, label_b);
	hunks(&s, &ta, &tb, out);
	if (cpk_buf_failed(out))
		goto oom;
	goto out;
oom:
	r = cpk_err_set(CPK_ERR_NOMEM, "out of memory while comparing %s", label_b);
out:
	free(ta.v);
	free(tb.v);
	free(s.v);
	return r;
}
