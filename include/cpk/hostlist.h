/*
 * Slurm host lists: "c[001-004,010],login1,r[1-2]n[1-2]", meaning exactly
 * what they mean to Slurm (src/common/hostlist.c of 22.05 and 24.11), or
 * refused.
 *
 * Expansion: an expression is a comma-separated list of items; each item is
 * text with zero or more bracket groups "[ranges]"; a range is N or N-M
 * (N <= M, at most 65536 names).  A range's width is the number of digits of
 * its FIRST number: c[001-003] gives c001 c002 c003; c[9-10] gives c9 c10;
 * c[7-010] gives c7 ... c10 and c[1-010] c1 ... c10 (not c001 ...).
 * Several bracket groups multiply, in Slurm's order: the last group varies
 * fastest, then the first ... the one before the last, slowest (r[1-2]n[1-2]
 * gives r1n1 r1n2 r2n1 r2n2).  Nothing may follow the last ']' of an item
 * (Slurm 22.05 refuses c[1-2]x and c[1-2]14).  Refused although Slurm
 * accepts them, as mistakes: empty items ("a,,b"), a '[' without ']', a ']'
 * without '[', "N-" without the second number, white space and control
 * characters, numbers of more than 9 digits.
 *
 * Compression is the inverse for a list in a given order, written so that
 * Slurm reads it back as the same names in the same order: consecutive names
 * with the same prefix and number width whose numbers rise by one become one
 * range (of at most 65536 names); neighbouring ranges of one prefix share
 * brackets, and any range is in brackets: c001 c002 c003 c005 ->
 * c[001-003,005].
 */
#ifndef CPK_HOSTLIST_H
#define CPK_HOSTLIST_H

#include <stddef.h>
#include "error.h"
#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest number of names one expression may expand to. */
#define CPK_HOSTLIST_MAX 1000000

struct cpk_hostlist {
	char **names;	/* n heap strings, owned by the list */
	size_t n;
};

#define CPK_HOSTLIST_INIT { NULL, 0 }

/*
 * Appends the names EXPR expands to.  On error the list is unchanged,
 * cpk_errmsg() says what is wrong and *ERRPOS (if not NULL) is set to the
 * 0-based byte offset in EXPR where the problem is.
 */
cpk_err_t cpk_hostlist_expand(struct cpk_hostlist *hl, const char *expr,
			      size_t *errpos);

/* Appends NAME (copied). */
cpk_err_t cpk_hostlist_push(struct cpk_hostlist *hl, const char *name);

/* Frees all names; HL may then be reused.  Accepts an empty list. */
void cpk_hostlist_release(struct cpk_hostlist *hl);

/*
 * Appends the compressed form of NAMES[0..N) to OUT (see above).  Check
 * cpk_buf_failed(OUT) afterwards.
 */
void cpk_hostlist_compress(const char *const *names, size_t n,
			   struct cpk_buf *out);

#ifdef __cplusplus
}
#endif
#endif
