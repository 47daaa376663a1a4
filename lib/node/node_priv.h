/* Private to lib/node: what join.c and remove.c share. */
#ifndef CPK_NODE_PRIV_H
#define CPK_NODE_PRIV_H

#include <stdint.h>
#include "internal.h"

/* Formats one progress line, control bytes replaced by '?' (lines may hold
 * what a node or slurmctld said), and hands it to PROGRESS (may be NULL:
 * nothing happens). */
CPK_INTERNAL void cpk_node_say(void (*progress)(void *arg, const char *line), void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* CLOCK_MONOTONIC in milliseconds. */
CPK_INTERNAL int64_t cpk_node_now_ms(void);
/* Sleeps MS milliseconds. */
CPK_INTERNAL void cpk_node_nap_ms(long ms);

/* Whether FILE (a description's source file) is NAME's own fragment:
 * nodes.d/NAME.yaml, or a path ending in /nodes.d/NAME.yaml. */
CPK_INTERNAL int cpk_node_own_fragment(const char *file, const char *name);

#endif
