/* OpenSSH public key fingerprints (for choosing a key to remove). */
#include <libssh/libssh.h>
#include <stdlib.h>
#include <string.h>

#include "cpk/ldap.h"
#include "internal.h"

cpk_err_t cpk_ssh_key_fingerprint(const char *key, struct cpk_buf *out)
{
	char *type = NULL, *b64 = NULL, *fp = NULL;
	unsigned char *hash = NULL;
	size_t tlen, blen, hlen = 0;
	ssh_key k = NULL;
	cpk_err_t r = CPK_OK;

	if (!key)
		return cpk_err_set(CPK_ERR_INVALID, "no public key");
	key += strspn(key, " \t");
	tlen = strcspn(key, " \t");
	blen = strcspn(key + tlen + strspn(key + tlen, " \t"), " \t\r\n");
	type = strndup(key, tlen);
	b64 = strndup(key + tlen + strspn(key + tlen, " \t"), blen);
	if (!type || !b64) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!tlen || !blen || ssh_key_type_from_name(type) == SSH_KEYTYPE_UNKNOWN ||
	    ssh_pki_import_pubkey_base64(b64, ssh_key_type_from_name(type), &k) != SSH_OK) {
		r = cpk_err_set(CPK_ERR_INVALID, "not an OpenSSH public key: '%.40s%s'",
				key, strlen(key) > 40 ? "..." : "");
		goto out;
	}
	if (ssh_get_publickey_hash(k, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) < 0 ||
	    !(fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen))) {
		r = cpk_err_set(CPK_ERR_NOMEM, "cannot compute the key's fingerprint");
		goto out;
	}
	cpk_buf_addstr(out, fp);
	if (cpk_buf_failed(out))
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
out:
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
	ssh_key_free(k);
	free(type);
	free(b64);
	return r;
}
