/*
 * Private helpers shared by lib/ modules.  Not installed; tools/ and
 * plugins/ must not include this file.
 */
#ifndef CPK_INTERNAL_H
#define CPK_INTERNAL_H

#include <stddef.h>
#include "cpk/error.h"
#include "cpk/buf.h"
#include "banned.h"

/*
 * Declarations shared between lib/ files but not part of the API carry
 * CPK_INTERNAL, so the shared library does not export them even though
 * their names start with cpk_.
 */
#define CPK_INTERNAL __attribute__((visibility("hidden")))

/* Records a detailed message for cpk_errmsg() and returns ERR. */
CPK_INTERNAL cpk_err_t cpk_err_set(cpk_err_t err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, appending ": strerror(errno)"; picks the code from errno. */
CPK_INTERNAL cpk_err_t cpk_err_sys(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* Re-sets the last message with a prefix ("PREFIX: <message>") and
 * returns ERR. */
CPK_INTERNAL cpk_err_t cpk_err_prefix(cpk_err_t err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Maps an errno value to the closest cpk_err_t. */
CPK_INTERNAL cpk_err_t cpk_err_from_errno(int e);

/* Allocation helpers: return NULL on failure, never abort. */
CPK_INTERNAL char *cpk_strdup(const char *s);
CPK_INTERNAL char *cpk_strndup(const char *s, size_t n);
/* realloc for an array of NMEMB elements of SIZE, with overflow check. */
CPK_INTERNAL void *cpk_reallocarray(void *p, size_t nmemb, size_t size);

/* Overwrites N bytes at P in a way the compiler cannot elide. */
CPK_INTERNAL void cpk_memwipe(void *p, size_t n);

#define CPK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
