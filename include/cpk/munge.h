/*
 * The munge key: the shared secret every node of the cluster must hold,
 * byte for byte, readable only by munged's user.
 *
 * 1. On the control node, once: cpk_munge_key_create(path, uid, gid) makes a
 *    key of CPK_MUNGE_KEY_LEN random bytes, mode 0400, owned by uid:gid,
 *    written atomically.  An existing key is never overwritten
 *    (CPK_ERR_EXISTS).
 * 2. Anywhere: cpk_munge_key_check(path) says whether a key is usable:
 *    a regular file (not a link), at least CPK_MUNGE_KEY_MIN bytes, not
 *    readable or writable by group or others, owned by root, the munge user
 *    or the caller (anyone else could read it or give it away).
 */
#ifndef CPK_MUNGE_H
#define CPK_MUNGE_H

#include <sys/types.h>
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CPK_MUNGE_KEY_LEN 1024	/* what mungekey(8) makes by default */
#define CPK_MUNGE_KEY_MIN 32	/* munged refuses shorter keys */

/* uid/gid (uid_t)-1 / (gid_t)-1: keep the caller's. */
cpk_err_t cpk_munge_key_create(const char *path, uid_t uid, gid_t gid);
cpk_err_t cpk_munge_key_check(const char *path);

#ifdef __cplusplus
}
#endif
#endif
