/*
 * SSH public key blobs and fingerprints (see sshfp.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "sshfp.h"

char *cpk_sshfp_sha256(const unsigned char *blob, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *out;
	int n;

	if (EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return NULL;
	/* "SHA256:" + 44 base64 characters + NUL */
	if (!(out = malloc(7 + 4 * ((mdlen + 2) / 3) + 1)))
		return NULL;
	memcpy(out, "SHA256:", 7);
	n = EVP_EncodeBlock((unsigned char *)out + 7, md, (int)mdlen);
	while (n > 0 && out[7 + n - 1] == '=')
		n--;
	out[7 + n] = '\0';
	return out;
}

cpk_err_t cpk_sshfp_decode(const char *b64, size_t len, unsigned char **blob,
			   size_t *blen)
{
	unsigned char *b;
	size_t pad = 0, i;
	int n;

	*blob = NULL;
	*blen = 0;
	if (!len || len % 4 || len > (size_t)1 << 20)
		return cpk_err_set(CPK_ERR_INVALID, "not base64 of a key");
	for (i = 0; i < len; i++) {
		char c = b64[i];

		if (c == '=' && i >= len - 2) {
			pad++;
			continue;
		}
		if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return cpk_err_set(CPK_ERR_INVALID, "not base64 of a "
					   "key");
	}
	if (!(b = malloc(len / 4 * 3 + 1)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	n = EVP_DecodeBlock(b, (const unsigned char *)b64, (int)len);
	if (n < 0 || (size_t)n < pad) {
		free(b);
		return cpk_err_set(CPK_ERR_INVALID, "not base64 of a key");
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	*blob = b;
	*blen = (size_t)n - pad;
	return CPK_OK;
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Fields of the public key blob of the types known here. */
static const struct {
	const char *type;
	unsigned fields;
} key_fields[] = {
	{ "ssh-ed25519", 2 },			/* type, key */
	{ "ssh-rsa", 3 },			/* type, e, n */
	{ "ssh-dss", 5 },			/* type, p, q, g, y */
	{ "ecdsa-sha2-nistp256", 3 },		/* type, curve, point */
	{ "ecdsa-sha2-nistp384", 3 },
	{ "ecdsa-sha2-nistp521", 3 },
	{ "sk-ssh-ed25519@openssh.com", 3 },	/* + application */
	{ "sk-ecdsa-sha2-nistp256@openssh.com", 4 },
};

int cpk_sshfp_blob_ok(const unsigned char *blob, size_t len,
		      const char *type)
{
	size_t off = 0, i;
	unsigned fields = 0, want = 0;

	for (i = 0; i < CPK_ARRAY_SIZE(key_fields); i++)
		if (!strcmp(type, key_fields[i].type))
			want = key_fields[i].fields;
	while (off < len) {
		uint32_t l;

		if (len - off < 4)
			return 0;
		l = get_be32(blob + off);
		off += 4;
		if (l > len - off)
			return 0;
		if (!fields && (l != strlen(type) ||
				memcmp(blob + off, type, l)))
			return 0;
		off += l;
		fields++;
	}
	return want ? fields == want : fields >= 2;
}
