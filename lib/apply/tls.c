/*
 * A self-signed certificate for the control node's slapd, made with
 * libcrypto when the description names none: a P-256 key, CN = the control
 * node, subject alternative names for its name, address and the LDAP URI's
 * host, valid 10 years, CA:TRUE so that clients can trust it directly
 * (ldap.ca_file = the certificate).
 */
#include <string.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "apply_priv.h"

/* A name fit for a SAN: letters, digits, '.', '-', ':' (IPv6), nothing
 * that could end the list (',') or start another entry. */
static int san_ok(const char *s)
{
	return s && *s && strlen(s) < 254 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") ==
		       strlen(s);
}

static int is_ip(const char *s)
{
	ASN1_OCTET_STRING *o = a2i_IPADDRESS(s);

	if (!o)
		return 0;
	ASN1_OCTET_STRING_free(o);
	return 1;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = e && X509_add_ext(x, e, -1);

	X509_EXTENSION_free(e);
	return ok;
}

static int pem_out(BIO *b, struct cpk_buf *out)
{
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);

	if (n <= 0)
		return 0;
	cpk_buf_add(out, p, (size_t)n);
	OPENSSL_cleanse(p, (size_t)n);
	return !cpk_buf_failed(out);
}

cpk_err_t apply_selfsigned(const char *cn, const char *const *sans,
			   struct cpk_buf *cert, struct cpk_buf *key)
{
	struct cpk_buf san = CPK_BUF_INIT;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	BIGNUM *serial = NULL;
	BIO *bc = NULL, *bk = NULL;
	X509V3_CTX ctx;
	X509_NAME *name;
	cpk_err_t r = CPK_OK;
	size_t i;

	for (i = 0; sans[i]; i++) {
		size_t j;

		for (j = 0; j < i && strcmp(sans[j], sans[i]); j++)
			;
		if (!san_ok(sans[i]) || j < i)
			continue;	/* unfit, or named already */
		cpk_buf_addf(&san, "%s%s:%s", san.len ? "," : "", is_ip(sans[i]) ? "IP" : "DNS",
			     sans[i]);
	}
	if (cpk_buf_failed(&san))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if (!(k = EVP_EC_gen("P-256")) || !(x = X509_new()) || !(serial = BN_new()) ||
	    !X509_set_version(x, 2) || !BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400) || !X509_set_pubkey(x, k) ||
	    !(name = X509_get_subject_name(x)) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)(san_ok(cn) ? cn : "slapd"), -1, -1, 0) ||
	    !X509_set_issuer_name(x, name)) {
		r = cpk_err_set(CPK_ERR_INTERNAL, "cannot make a certificate (libcrypto)");
		goto out;
	}
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (!add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") ||
	    !add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") ||
	    (san.len && !add_ext(x, &ctx, NID_subject_alt_name, san.buf)) ||
	    !X509_sign(x, k, EVP_sha256())) {
		r = cpk_err_set(CPK_ERR_INTERNAL, "cannot sign a certificate (libcrypto)");
		goto out;
	}
	if (!(bc = BIO_new(BIO_s_mem())) || !(bk = BIO_new(BIO_s_mem())) ||
	    !PEM_write_bio_X509(bc, x) ||
	    !PEM_write_bio_PrivateKey(bk, k, NULL, NULL, 0, NULL, NULL) ||
	    !pem_out(bc, cert) || !pem_out(bk, key))
		r = cpk_err_set(CPK_ERR_NOMEM, "cannot write a certificate or key (libcrypto)");
out:
	BIO_free(bc);
	BIO_free(bk);
	BN_free(serial);
	X509_free(x);
	EVP_PKEY_free(k);
	cpk_buf_release(&san);
	return r;
}
