/*
 * A small line diff for configuration files, printed like `diff -u`.
 *
 *   struct cpk_buf out = CPK_BUF_INIT;
 *   cpk_diff_unified(old, old_len, new, new_len, "a/x", "b/x", &out);
 *   ... out.buf holds "--- a/x\n+++ b/x\n@@ ... @@\n..." (empty when equal)
 *   cpk_buf_release(&out);
 *
 * Lines are compared byte for byte (a last line without a newline differs
 * from the same line with one, and is followed by "\ No newline at end of
 * file", as diff prints it).  Three lines of context; hunks closer than
 * that are merged, as `diff -u` does.  The common head and tail are
 * trimmed, then the middle is aligned by a longest common subsequence; when
 * that middle is larger than CPK_DIFF_MAX_CELLS (lines old x lines new), the
 * memory it would take is refused and the middle is shown replaced as a
 * whole (still a valid unified diff, just not a minimal one).
 */
#ifndef CPK_DIFF_H
#define CPK_DIFF_H

#include <stddef.h>
#include "error.h"
#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CPK_DIFF_MAX_CELLS ((size_t)4 << 20)	/* 16 MiB of table */

/*
 * Appends the unified diff of A (ALEN bytes) and B (BLEN bytes) to OUT,
 * with LABEL_A and LABEL_B in the ---/+++ header lines.  Nothing is
 * appended when they are equal.  CPK_ERR_NOMEM on failure (OUT may hold a
 * part).  A, B, the labels are borrowed.
 */
cpk_err_t cpk_diff_unified(const char *a, size_t alen, const char *b, size_t blen,
			   const char *label_a, const char *label_b,
			   struct cpk_buf *out);

#ifdef __cplusplus
}
#endif
#endif
