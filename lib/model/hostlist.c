#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpk/hostlist.h"
#include "internal.h"

/* The largest number in a range; keeps arithmetic far from overflow. */
#define NUM_MAX 999999999ULL
#define MAX_GROUPS 8
/* Slurm's limits (src/common/hostlist.[ch]): names in one range, and values
 * of a bracket group that is not the last of a name. */
#define SLURM_MAX_RANGE (64 * 1024)
#define SLURM_MAX_PREFIX_CNT (64 * 1024)

struct range {
	uint64_t lo, hi;
	int width;	/* zero-pad to this many digits, 0: no padding */
};

struct group {		/* one "[...]": its ranges */
	struct range *r;
	size_t n;
	uint64_t count;
};

struct item {		/* text parts around bracket groups */
	const char *text[MAX_GROUPS + 1];
	size_t len[MAX_GROUPS + 1];
	struct group g[MAX_GROUPS];
	size_t ngroups;
};

void cpk_hostlist_release(struct cpk_hostlist *hl)
{
	size_t i;

	for (i = 0; i < hl->n; i++)
		free(hl->names[i]);
	free(hl->names);
	hl->names = NULL;
	hl->n = 0;
}

static cpk_err_t push_owned(struct cpk_hostlist *hl, char *name)
{
	char **p;

	if ((hl->n & (hl->n - 1)) == 0) {	/* 0, 1, 2, 4, ...: grow */
		p = cpk_reallocarray(hl->names, hl->n ? hl->n * 2 : 1,
				     sizeof(*p));
		if (!p) {
			free(name);
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		}
		hl->names = p;
	}
	hl->names[hl->n++] = name;
	return CPK_OK;
}

cpk_err_t cpk_hostlist_push(struct cpk_hostlist *hl, const char *name)
{
	char *s = cpk_strdup(name);

	if (!s)
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	return push_owned(hl, s);
}

static cpk_err_t fail(const char *expr, const char *at, size_t *errpos,
		      const char *msg)
{
	if (errpos)
		*errpos = (size_t)(at - expr);
	return cpk_err_set(CPK_ERR_INVALID, "%s", msg);
}

static const char too_long[] = "number in range too long (at most 9 digits)";

static int parse_num(const char **pp, uint64_t *v, int *digits)
{
	const char *p = *pp;
	uint64_t x = 0;
	int n = 0;

	while (isdigit((unsigned char)*p)) {
		if (n >= 9)
			return -2;
		x = x * 10 + (uint64_t)(*p - '0');
		p++;
		n++;
	}
	if (!n)
		return -1;
	*digits = n;
	*v = x;
	*pp = p;
	return 0;
}

/*
 * Parses "[...]" at *pp (pointing after '['); leaves *pp after ']'.  As
 * Slurm reads a range: its width is the number of digits of its FIRST
 * number (c[7-010] is c7 ... c10, c[007-10] is c007 ... c010), and one
 * range holds at most SLURM_MAX_RANGE names.
 */
static cpk_err_t parse_group(const char *expr, const char **pp,
			     struct group *g, size_t *errpos)
{
	const char *p = *pp;

	g->r = NULL;
	g->n = 0;
	g->count = 0;
	for (;;) {
		struct range rg;
		struct range *nr;
		int d1, d2;
		const char *start = p;

		int e;

		if ((e = parse_num(&p, &rg.lo, &d1)) < 0)
			return fail(expr, p, errpos, e == -2 ? too_long
				    : "expected a number in range");
		rg.hi = rg.lo;
		rg.width = d1;
		if (*p == '-') {
			p++;
			if ((e = parse_num(&p, &rg.hi, &d2)) < 0)
				return fail(expr, p, errpos, e == -2 ? too_long
					    : "expected a number after '-' in range");
			if (rg.hi < rg.lo)
				return fail(expr, start, errpos,
					    "range goes backwards (the first number is larger than the second)");
		}
		if (rg.hi - rg.lo + 1 > SLURM_MAX_RANGE)
			return fail(expr, start, errpos,
				    "range of more than 65536 names (Slurm refuses it)");
		nr = cpk_reallocarray(g->r, g->n + 1, sizeof(*nr));
		if (!nr)
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		g->r = nr;
		g->r[g->n++] = rg;
		g->count += rg.hi - rg.lo + 1;
		if (g->count > CPK_HOSTLIST_MAX)
			return fail(expr, start, errpos,
				    "range expands to too many names");
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == ']') {
			*pp = p + 1;
			return CPK_OK;
		}
		return fail(expr, p, errpos,
			    *p ? "expected ',' or ']' in range"
			       : "missing ']' at end of range");
	}
}

static int name_char_ok(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != '[' && c != ']' && c != ',';
}

static void free_item(struct item *it)
{
	size_t i;

	for (i = 0; i < it->ngroups; i++)
		free(it->g[i].r);
	it->ngroups = 0;
}

/*
 * Emits every name of IT into HL in Slurm's order: the last bracket group
 * varies fastest; the others are taken from the one before the last (the
 * slowest) back to the first (c[1-2]x[1-2]y[1-2] gives c1x1y1 c1x1y2 c2x1y1
 * c2x1y2 c1x2y1 ...).
 */
static cpk_err_t emit(struct cpk_hostlist *hl, const struct item *it)
{
	size_t idx[MAX_GROUPS] = { 0 }, order[MAX_GROUPS];
	uint64_t val[MAX_GROUPS];
	struct cpk_buf b = CPK_BUF_INIT;
	cpk_err_t r = CPK_OK;
	size_t i, k = it->ngroups;

	for (i = 0; i < k; i++) {
		val[i] = it->g[i].r[0].lo;
		order[i] = i + 1 < k ? k - 2 - i : k - 1;	/* slowest first */
	}
	for (;;) {
		char *s;

		cpk_buf_reset(&b);
		for (i = 0; i < k; i++) {
			const struct range *rg = &it->g[i].r[idx[i]];

			cpk_buf_add(&b, it->text[i], it->len[i]);
			cpk_buf_addf(&b, "%0*" PRIu64, rg->width, val[i]);
		}
		cpk_buf_add(&b, it->text[i], it->len[i]);
		s = cpk_buf_detach(&b, NULL);
		if (!s)
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		if ((r = push_owned(hl, s)) != CPK_OK)
			break;
		/* odometer over ORDER: its last group varies fastest */
		for (i = k; i-- > 0;) {
			size_t gi = order[i];
			const struct group *g = &it->g[gi];

			if (val[gi] < g->r[idx[gi]].hi) {
				val[gi]++;
				break;
			}
			if (idx[gi] + 1 < g->n) {
				idx[gi]++;
				val[gi] = g->r[idx[gi]].lo;
				break;
			}
			idx[gi] = 0;
			val[gi] = g->r[0].lo;
		}
		if (i == (size_t)-1)
			break;
	}
	cpk_buf_release(&b);
	return r;
}

cpk_err_t cpk_hostlist_expand(struct cpk_hostlist *hl, const char *expr,
			      size_t *errpos)
{
	size_t n0 = hl->n;
	const char *p = expr;
	cpk_err_t r = CPK_OK;
	struct item it;

	memset(&it, 0, sizeof(it));
	if (!*p)
		return fail(expr, p, errpos, "empty host list");
	for (;;) {
		const char *start = p;
		uint64_t total = 1;
		size_t k;

		memset(&it, 0, sizeof(it));
		it.text[0] = p;
		for (;;) {
			while (name_char_ok((unsigned char)*p))
				p++;
			it.len[it.ngroups] = (size_t)(p - it.text[it.ngroups]);
			if (*p != '[')
				break;
			if (it.ngroups == MAX_GROUPS) {
				r = fail(expr, p, errpos, "too many bracket groups in one name");
				goto out;
			}
			p++;
			r = parse_group(expr, &p, &it.g[it.ngroups], errpos);
			it.ngroups++;
			if (r != CPK_OK)
				goto out;
			it.text[it.ngroups] = p;
		}
		if (*p && *p != ',') {
			r = fail(expr, p, errpos,
				 *p == ']' ? "unexpected ']'"
					   : "invalid character in host name");
			goto out;
		}
		if (it.ngroups && it.len[it.ngroups]) {
			/* Slurm 22.05 refuses it; 24.11 reads it as a suffix */
			r = fail(expr, it.text[it.ngroups], errpos,
				 "text after the last ']' of a name (Slurm 22.05 refuses it: write c[1-2]x as c1x,c2x)");
			goto out;
		}
		for (k = 0; k + 1 < it.ngroups; k++)
			if (it.g[k].count > SLURM_MAX_PREFIX_CNT) {
				r = fail(expr, it.text[k] + it.len[k], errpos,
					 "a bracket group before the last expands to more than 65536 values (Slurm refuses it)");
				goto out;
			}
		if (p == start) {
			r = fail(expr, p, errpos, "empty name in host list");
			goto out;
		}
		/* stop multiplying early: eight groups could overflow */
		for (k = 0; k < it.ngroups && total <= CPK_HOSTLIST_MAX; k++)
			total *= it.g[k].count;
		if (total + (hl->n - n0) > CPK_HOSTLIST_MAX) {	/* plain names count too */
			r = fail(expr, start, errpos, "host list expands to too many names");
			goto out;
		}
		if ((r = emit(hl, &it)) != CPK_OK)
			goto out;
		free_item(&it);
		if (!*p)
			break;
		p++;	/* ',' */
		if (!*p) {
			r = fail(expr, p, errpos, "empty name at end of host list");
			goto out;
		}
	}
out:
	free_item(&it);
	if (r != CPK_OK) {
		while (hl->n > n0)
			free(hl->names[--hl->n]);
		if (!hl->n) {
			free(hl->names);
			hl->names = NULL;
		}
	}
	return r;
}

/* Splits NAME into prefix length, number and width (-1: no number). */
static void split(const char *name, size_t *plen, uint64_t *num, int *width)
{
	size_t len = strlen(name), i = len;

	while (i > 0 && isdigit((unsigned char)name[i - 1]) && len - i < 9)
		i--;
	*plen = i;
	if (i == len) {
		*width = -1;
		*num = 0;
		return;
	}
	*num = strtoull(name + i, NULL, 10);
	*width = (len - i > 1 && name[i] == '0') ? (int)(len - i) : 0;
}

/*
 * Does NAME have PREFIX (PLEN bytes) and a number that prints the same at
 * width W?  A padded head (W > 0) takes any number of exactly W digits
 * (c099 then c100); an unpadded head takes only unpadded numbers.
 */
static int same_kind(const char *name, const char *prefix, size_t plen, int w,
		     uint64_t *num)
{
	size_t p2;
	int w2;

	split(name, &p2, num, &w2);
	if (w2 < 0 || p2 != plen || memcmp(name, prefix, plen))
		return 0;
	if (w > 0)
		return (int)(strlen(name) - p2) == w;
	return w2 == 0;
}

void cpk_hostlist_compress(const char *const *names, size_t n,
			   struct cpk_buf *out)
{
	struct cpk_buf nums = CPK_BUF_INIT;
	size_t i = 0;

	while (i < n) {
		const char *head = names[i];
		size_t plen, k, nranges = 0;
		uint64_t v, lo = 0, hi = 0, next;
		int w;

		if (i)
			cpk_buf_addch(out, ',');
		split(head, &plen, &v, &w);
		if (w < 0) {	/* no number: as is */
			cpk_buf_addstr(out, names[i++]);
			continue;
		}
		cpk_buf_reset(&nums);
		k = i;
		/* LO and HI stay the last range's: NEXT takes what fails */
		while (k < n && same_kind(names[k], head, plen, w, &next)) {
			lo = hi = next;
			for (k++; k < n && same_kind(names[k], head, plen, w, &next)
				  && next == hi + 1 && hi - lo + 1 < SLURM_MAX_RANGE; k++)
				hi = next;
			cpk_buf_addf(&nums, "%s%0*" PRIu64, nranges ? "," : "",
				     w, lo);
			if (hi > lo)
				cpk_buf_addf(&nums, "-%0*" PRIu64, w, hi);
			nranges++;
		}
		cpk_buf_add(out, head, plen);
		if (nranges == 1 && lo == hi) {
			cpk_buf_add(out, nums.buf, nums.len);
		} else {
			cpk_buf_addch(out, '[');
			cpk_buf_add(out, nums.buf, nums.len);
			cpk_buf_addch(out, ']');
		}
		if (cpk_buf_failed(&nums))
			out->failed = 1;
		i = k;
	}
	cpk_buf_release(&nums);
}
