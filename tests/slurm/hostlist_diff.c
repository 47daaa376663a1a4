/*
 * Differential test of lib/model/hostlist.c against libslurm's own host
 * lists (slurm_hostlist_create), the reader of every list cpk writes.
 *
 * Random expressions, well formed and mutated, from a fixed seed (printed;
 * argv[1] sets another, argv[2] the count):
 *   - an expression cpk accepts must be accepted by Slurm and expand to the
 *     same names in the same order;
 *   - an expression Slurm accepts and cpk refuses must be one of the
 *     mistakes cpk refuses on purpose (cpk/hostlist.h lists them);
 *   - the compressed form of every accepted expansion, and of random name
 *     lists, must expand (in Slurm and in cpk) to exactly those names.
 * TAP on stdout; Slurm's own complaints about bad input go to /dev/null.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <slurm/slurm.h>

#include "cpk/hostlist.h"

static unsigned long long rng_state;

static unsigned rnd(unsigned n)	/* 0 .. n-1, xorshift64* */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

/*
 * The refusals cpk makes on purpose where Slurm takes a guess at a garbled
 * expression (c[1-] as c1, "[x-[9]" as the name "[x-9", "c[12" as "c]"), or
 * drops a name with a bad range silently (in a name of three or more bracket
 * groups, Slurm 22.05's _push_range_list() loses the error of a group before
 * the last two: a[3-1]b[1]c[1] expands to nothing): each of these messages
 * says which mistake it is.  Text after the last ']' of a name is refused
 * as Slurm 22.05 refuses it; Slurm 23.11 and later take it (c[1-2]x as
 * c1x c2x), and a description must work on both.
 */
static const char *const deliberate[] = {
	"empty host list", "empty name", "missing ']'", "unexpected ']'",
	"after '-' in range", "expected a number in range", "expected ',' or ']'",
	"too long", "goes backwards", "more than 65536",
	"text after the last ']'", NULL };
static unsigned long deliberate_count[sizeof(deliberate) / sizeof(deliberate[0])];

static int tests, failures;

static void ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++tests, what);
	if (!cond)
		failures++;
}

static int devnull, saved_stderr;

/* What slurm_hostlist_create() returns: hostlist_t up to Slurm 23.02, a
 * pointer to it (hostlist_t became the struct) from 23.11 on. */
typedef __typeof__(slurm_hostlist_create("")) slurm_hl;

/* Slurm's expansion of EXPR into OUT (names joined by ' '); -1 refused. */
static int slurm_expand(const char *expr, struct cpk_buf *out)
{
	slurm_hl hl;
	char *h;
	int first = 1;

	cpk_buf_reset(out);
	fflush(stderr);
	dup2(devnull, 2);
	hl = slurm_hostlist_create(expr);
	dup2(saved_stderr, 2);
	if (!hl)
		return -1;
	while ((h = slurm_hostlist_shift(hl))) {
		cpk_buf_addf(out, "%s%s", first ? "" : " ", h);
		first = 0;
		free(h);
	}
	slurm_hostlist_destroy(hl);
	return 0;
}

static int cpk_expand(const char *expr, struct cpk_hostlist *hl, struct cpk_buf *out)
{
	size_t i;

	cpk_buf_reset(out);
	if (cpk_hostlist_expand(hl, expr, NULL) != CPK_OK)
		return -1;
	for (i = 0; i < hl->n; i++)
		cpk_buf_addf(out, "%s%s", i ? " " : "", hl->names[i]);
	return 0;
}

static void add_number(struct cpk_buf *b, unsigned v)
{
	int width = 1 + (int)rnd(3);	/* leading zeros, sometimes */

	cpk_buf_addf(b, "%0*u", rnd(3) ? 1 : width, v);
}

static void add_text(struct cpk_buf *b)
{
	static const char *const parts[] = { "c", "gpu", "n", "r", "x-", ".", "a1", "b0", "0" };
	unsigned i, n = rnd(3);

	for (i = 0; i < n; i++)
		cpk_buf_addstr(b, parts[rnd(sizeof(parts) / sizeof(parts[0]))]);
}

static void gen_expr(struct cpk_buf *b)
{
	unsigned items = 1 + rnd(3), i, g, r;

	cpk_buf_reset(b);
	for (i = 0; i < items; i++) {
		unsigned groups = rnd(4) == 0 ? 0 : 1 + rnd(rnd(3) ? 1 : 3);

		if (i)
			cpk_buf_addch(b, ',');
		add_text(b);
		for (g = 0; g < groups; g++) {
			unsigned ranges = 1 + rnd(3);

			if (g)
				add_text(b);
			cpk_buf_addch(b, '[');
			for (r = 0; r < ranges; r++) {
				unsigned lo = rnd(rnd(4) ? 20 : 1200);

				if (r)
					cpk_buf_addch(b, ',');
				add_number(b, lo);
				if (rnd(3)) {
					cpk_buf_addch(b, '-');
					add_number(b, lo + rnd(12) - (rnd(10) ? 0 : 2));
				}
			}
			cpk_buf_addch(b, ']');
		}
		if (rnd(10) == 0)	/* a suffix, as people write them */
			add_text(b);
	}
	if (rnd(3) == 0) {	/* a typo: a character changed, added or dropped */
		static const char mut[] = "[],-0123456789ac";
		size_t at = b->len ? rnd((unsigned)b->len) : 0;
		char ch = mut[rnd(sizeof(mut) - 1)];
		struct cpk_buf t = CPK_BUF_INIT;

		switch (rnd(3)) {
		case 0: b->buf[at] = ch; break;
		case 1:
			cpk_buf_add(&t, b->buf, at);
			cpk_buf_addch(&t, ch);
			cpk_buf_addstr(&t, b->buf + at);
			cpk_buf_reset(b);
			cpk_buf_add(b, t.buf, t.len);
			break;
		default:
			cpk_buf_add(&t, b->buf, at);
			cpk_buf_addstr(&t, b->buf + at + (b->len ? 1 : 0));
			cpk_buf_reset(b);
			cpk_buf_add(b, t.buf, t.len);
		}
		cpk_buf_release(&t);
	}
}

static int is_deliberate(const char *msg)
{
	size_t i;

	for (i = 0; deliberate[i]; i++)
		if (strstr(msg, deliberate[i])) {
			deliberate_count[i]++;
			return 1;
		}
	return 0;
}

/* Compresses NAMES (joined as JOINED) and checks both readers get them back. */
static int check_compressed(const struct cpk_hostlist *names, const char *joined,
			    struct cpk_buf *why)
{
	struct cpk_buf c = CPK_BUF_INIT, s = CPK_BUF_INIT, k = CPK_BUF_INIT;
	struct cpk_hostlist again = CPK_HOSTLIST_INIT;
	int bad = 0;

	cpk_hostlist_compress((const char *const *)names->names, names->n, &c);
	if (slurm_expand(c.buf, &s) < 0 || strcmp(s.buf, joined)) {
		cpk_buf_addf(why, "compressed '%s': Slurm reads %s", c.buf,
			     s.len ? s.buf : "(refused)");
		bad = 1;
	} else if (cpk_expand(c.buf, &again, &k) < 0 || strcmp(k.buf, joined)) {
		cpk_buf_addf(why, "compressed '%s': cpk reads it back as %s", c.buf,
			     k.len ? k.buf : "(refused)");
		bad = 1;
	}
	cpk_hostlist_release(&again);
	cpk_buf_release(&c);
	cpk_buf_release(&s);
	cpk_buf_release(&k);
	return bad;
}

int main(int argc, char **argv)
{
	unsigned long long seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 13013;
	unsigned long count = argc > 2 ? strtoul(argv[2], NULL, 0) : 3000, i;
	unsigned long both = 0, neither = 0, stricter = 0, differ = 0, lax = 0,
		      deliberate_n = 0, compressed = 0, cbad = 0;
	struct cpk_buf e = CPK_BUF_INIT, sb = CPK_BUF_INIT, cb = CPK_BUF_INIT, why = CPK_BUF_INIT;
	struct cpk_buf first_bad = CPK_BUF_INIT, first_cbad = CPK_BUF_INIT;

	devnull = open("/dev/null", O_WRONLY);
	saved_stderr = dup(2);
	if (devnull < 0 || saved_stderr < 0) {
		printf("Bail out! cannot open /dev/null\n");
		return 1;
	}
	rng_state = seed ? seed : 1;
	printf("# seed %llu, %lu expressions (rerun: %s %llu %lu)\n", seed, count,
	       argv[0], seed, count);
	for (i = 0; i < count; i++) {
		struct cpk_hostlist hl = CPK_HOSTLIST_INIT;
		int s, c;

		gen_expr(&e);
		s = slurm_expand(e.buf, &sb);
		c = cpk_expand(e.buf, &hl, &cb);
		if (s == 0 && c == 0 && !strcmp(sb.buf, cb.buf)) {
			both++;
		} else if (s < 0 && c < 0) {
			neither++;
		} else if (c < 0) {
			stricter++;
			if (is_deliberate(cpk_errmsg())) {
				deliberate_n++;
			} else if (first_bad.len < 2000) {
				cpk_buf_addf(&first_bad, "#   '%s': Slurm takes it (%s), cpk: %s\n",
					     e.buf, sb.buf, cpk_errmsg());
			}
		} else if (s < 0) {
			lax++;
			if (first_bad.len < 2000)
				cpk_buf_addf(&first_bad, "#   '%s': Slurm refuses it, cpk reads %s\n",
					     e.buf, cb.buf);
		} else {
			differ++;
			if (first_bad.len < 2000)
				cpk_buf_addf(&first_bad, "#   '%s': Slurm reads %s, cpk %s\n",
					     e.buf, sb.buf, cb.buf);
		}
		if (c == 0) {
			compressed++;
			cpk_buf_reset(&why);
			if (check_compressed(&hl, cb.buf, &why)) {
				cbad++;
				if (first_cbad.len < 2000)
					cpk_buf_addf(&first_cbad, "#   '%s': %s\n", e.buf, why.buf);
			}
		}
		cpk_hostlist_release(&hl);
	}
	/* name lists no expression gives: padded and unpadded runs mixed */
	for (i = 0; i < count; i++) {
		static const char *const pre[] = { "gpu", "c", "n0", "x" };
		struct cpk_hostlist hl = CPK_HOSTLIST_INIT;
		unsigned n = 1 + rnd(12), j, v = rnd(120);
		char name[64];

		cpk_buf_reset(&cb);
		for (j = 0; j < n; j++) {
			int w = rnd(3) ? 1 : 1 + (int)rnd(4);

			v = rnd(4) ? v + 1 : rnd(120);
			snprintf(name, sizeof(name), "%s%0*u", pre[rnd(2) ? 0 : rnd(4)], w, v);
			cpk_hostlist_push(&hl, name);
			cpk_buf_addf(&cb, "%s%s", j ? " " : "", name);
		}
		compressed++;
		cpk_buf_reset(&why);
		if (check_compressed(&hl, cb.buf, &why)) {
			cbad++;
			if (first_cbad.len < 2000)
				cpk_buf_addf(&first_cbad, "#   names %s: %s\n", cb.buf, why.buf);
		}
		cpk_hostlist_release(&hl);
	}
	printf("# %lu expressions: %lu read alike by Slurm and cpk, %lu refused by both, "
	       "%lu refused by cpk alone (%lu of them mistakes cpk refuses on purpose)\n",
	       count, both, neither, stricter, deliberate_n);
	ok(both > count / 4 && neither > count / 20,
	   "the generator makes both valid and invalid expressions");
	ok(!differ, "no expression means other names to cpk than to Slurm");
	ok(!lax, "cpk accepts no expression Slurm refuses");
	for (i = 0; deliberate[i]; i++)
		if (deliberate_count[i])
			printf("#   refused by cpk alone as '%s': %lu\n", deliberate[i],
			       deliberate_count[i]);
	ok(stricter == deliberate_n,
	   "cpk refuses only the mistakes it refuses on purpose");
	if (first_bad.len)
		fputs(first_bad.buf, stdout);
	printf("# %lu compressed lists fed back to Slurm and cpk\n", compressed);
	ok(!cbad, "every compressed list means the same names to Slurm");
	if (first_cbad.len)
		fputs(first_cbad.buf, stdout);
	printf("1..%d\n", tests);
	cpk_buf_release(&e);
	cpk_buf_release(&sb);
	cpk_buf_release(&cb);
	cpk_buf_release(&why);
	cpk_buf_release(&first_bad);
	cpk_buf_release(&first_cbad);
	return failures ? 1 : 0;
}
