/* OpenSSH public key fingerprints (for choosing a key to remove). */
#include <stdlib.h>
#include <string.h>

#include "cpk/ldap.h"
#include "internal.h"
#include "sshfp.h"

/* Computed from the key blob here (sshfp.h), not by libssh: libssh 0.11
 * refuses DSA keys, which a directory may still hold. */
cpk_err_t cpk_ssh_key_fingerprint(const char *key, struct cpk_buf *out)
{
	char *type = NULL, *fp = NULL;
	unsigned char *blob = NULL;
	const char *b64;
	size_t tlen, blen, len = 0;
	cpk_err_t r = CPK_OK;

	if (!key)
		return cpk_err_set(CPK_ERR_INVALID, "no public key");
	key += strspn(key, " \t");
	tlen = strcspn(key, " \t");
	b64 = key + tlen + strspn(key + tlen, " \t");
	blen = strcspn(b64, " \t\r\n");
	if (!(type = cpk_strndup(key, tlen))) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!tlen || !blen ||
	    (r = cpk_sshfp_decode(b64, blen, &blob, &len)) == CPK_ERR_INVALID ||
	    (!r && !cpk_sshfp_blob_ok(blob, len, type))) {
		r = cpk_err_set(CPK_ERR_INVALID, "not an OpenSSH public key: "
				"'%.40s%s'", key, strlen(key) > 40 ? "..." : "");
		goto out;
	}
	if (r)
		goto out;
	if (!(fp = cpk_sshfp_sha256(blob, len))) {
		r = cpk_err_set(CPK_ERR_NOMEM, "cannot compute the key's "
				"fingerprint");
		goto out;
	}
	cpk_buf_addstr(out, fp);
	if (cpk_buf_failed(out))
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
out:
	free(fp);
	free(blob);
	free(type);
	return r;
}
