/*
 * SSH public key blobs and their fingerprints, computed here from the wire
 * blob (RFC 4253 section 6.6) with libcrypto, for every key type: libssh
 * 0.11 refuses to fingerprint DSA keys.  Private to lib/.
 */
#ifndef CPK_SSHFP_H
#define CPK_SSHFP_H

#include <stddef.h>
#include "internal.h"

/*
 * The SHA-256 fingerprint of the public key blob BLOB (LEN bytes) as
 * `ssh-keygen -l` prints it: "SHA256:" and the base64 of the hash without
 * padding.  A new string (free()), NULL if out of memory.
 */
CPK_INTERNAL char *cpk_sshfp_sha256(const unsigned char *blob, size_t len);

/*
 * Decodes the base64 text B64 (LEN characters, no blanks) of a key blob
 * into *BLOB (a new buffer of *BLEN bytes, free()).  CPK_ERR_INVALID if it
 * is not base64 or is empty; CPK_ERR_NOMEM.
 */
CPK_INTERNAL cpk_err_t cpk_sshfp_decode(const char *b64, size_t len,
					unsigned char **blob, size_t *blen);

/*
 * Whether BLOB (LEN bytes) is well formed for key type TYPE: a sequence of
 * SSH strings (32-bit length, then the bytes) that fills it exactly, the
 * first being TYPE, with the number of fields that type has (at least two
 * for types not known here).
 */
CPK_INTERNAL int cpk_sshfp_blob_ok(const unsigned char *blob, size_t len,
				   const char *type);

#endif
