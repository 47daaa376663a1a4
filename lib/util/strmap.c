#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "internal.h"

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static size_t slot(const struct cpk_strmap *m, const char *key)
{
	size_t i = (size_t)hash(key) & (m->cap - 1);

	while (m->keys[i] && strcmp(m->keys[i], key))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int grow(struct cpk_strmap *m)
{
	struct cpk_strmap n = CPK_STRMAP_INIT;
	size_t i;

	n.cap = m->cap ? m->cap * 2 : 64;
	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = calloc(n.cap, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -1;
	}
	for (i = 0; i < m->cap; i++) {
		if (m->keys[i]) {
			size_t j = slot(&n, m->keys[i]);

			n.keys[j] = m->keys[i];
			n.vals[j] = m->vals[i];
		}
	}
	n.n = m->n;
	cpk_strmap_release(m);
	*m = n;
	return 0;
}

int cpk_strmap_put(struct cpk_strmap *m, const char *key, size_t val,
		   size_t *old)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
		return -1;
	i = slot(m, key);
	if (m->keys[i]) {
		if (old)
			*old = m->vals[i];
		return 0;
	}
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 1;
}

int cpk_strmap_get(const struct cpk_strmap *m, const char *key, size_t *val)
{
	size_t i;

	if (!m->cap)
		return 0;
	i = slot(m, key);
	if (!m->keys[i])
		return 0;
	if (val)
		*val = m->vals[i];
	return 1;
}

void cpk_strmap_release(struct cpk_strmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->n = 0;
}
