/*
 * Numbers as users type them on a command line: counts, ports and byte
 * sizes, parsed once here with their bounds, so a value that overflows or
 * carries junk is refused instead of wrapping or being cut short.
 *
 * Accepted: decimal digits only (no sign, no space, no "0x"), at most
 * UINT64_MAX; a size may end in one suffix k, M, G or T (either case; 2^10,
 * 2^20, 2^30, 2^40 bytes).  On failure *OUT is unchanged and the call
 * returns CPK_ERR_INVALID with a message (cpk_errmsg()) naming the value and
 * why, e.g. `1k (not a whole number)` or `0 (out of range: 1..64)`, for the
 * caller to put after its own context ("-n: not a number of connections: ").
 */
#ifndef CPK_PARSE_H
#define CPK_PARSE_H

#include <stdint.h>
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A whole number MIN..MAX (a count, a port, seconds). */
cpk_err_t cpk_parse_uint(const char *s, uint64_t min, uint64_t max,
			 uint64_t *out);

/* A byte size with an optional suffix, MIN..MAX bytes after scaling. */
cpk_err_t cpk_parse_size(const char *s, uint64_t min, uint64_t max,
			 uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif
