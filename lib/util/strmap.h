/*
 * A string -> size_t hash map (open addressing) for name lookups.  Keys are
 * borrowed: they must outlive the map.  Private to lib/.
 */
#ifndef CPK_STRMAP_H
#define CPK_STRMAP_H

#include <stddef.h>
#include "internal.h"

struct cpk_strmap {
	const char **keys;
	size_t *vals;
	size_t cap, n;
};
#define CPK_STRMAP_INIT { NULL, NULL, 0, 0 }

/*
 * Inserts KEY -> VAL unless KEY is present.  Returns 1 if inserted, 0 if
 * present (*OLD, if not NULL, gets the existing value), -1 out of memory.
 */
CPK_INTERNAL int cpk_strmap_put(struct cpk_strmap *m, const char *key, size_t val,
		   size_t *old);
/* Returns 1 and sets *VAL if KEY is present, else 0. */
CPK_INTERNAL int cpk_strmap_get(const struct cpk_strmap *m, const char *key, size_t *val);
CPK_INTERNAL void cpk_strmap_release(struct cpk_strmap *m);

#endif
