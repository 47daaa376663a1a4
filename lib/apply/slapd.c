/*
 * The control role's LDAP server: the items of a plan that make slapd
 * serve the description's directory (see include/cpk/apply.h, "slapd").
 *   /etc/default/slapd                  SLAPD_CONF=/etc/ldap/slapd.conf
 *   /etc/ldap/slapd.conf                the server (slapd.conf style)
 *   /etc/ldap/slapd-rootpw.conf         rootpw {CRYPT}$6$... (secret)
 *   /etc/ldap/schema/openssh-lpk.schema ldapPublicKey/sshPublicKey
 *   ldap.bind_password_file             kept, or generated (secret)
 *   ldap.tls_cert / tls_key             kept, or generated self-signed
 * Files that may be generated are items too: present ones carry their own
 * content (so only their mode and owner are enforced), missing ones a new
 * secret or certificate with a note.  The rootpw hash is reused while it
 * still matches the password, so a second run changes nothing.
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "apply_priv.h"

#define SLAPD_CONF "/etc/ldap/slapd.conf"
#define ROOTPW_CONF "/etc/ldap/slapd-rootpw.conf"
#define LPK_SCHEMA "/etc/ldap/schema/openssh-lpk.schema"
#define GEN_CERT "/etc/ldap/tls/slapd.crt"
#define GEN_KEY "/etc/ldap/tls/slapd.key"
#define PEERCRED_ROOT "dn.exact=\"gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth\""

/* The one openssh-lpk definition (tests/rig/slapd.sh writes the same
 * bytes for its throwaway servers; t4010 compares them). */
static const char lpk_schema[] =
	"# openssh-lpk (the well-known definition, as shipped by the LPK patch).\n"
	"attributetype ( 1.3.6.1.4.1.24552.500.1.1.1.13 NAME 'sshPublicKey'\n"
	"\tDESC 'MANDATORY: OpenSSH Public key'\n"
	"\tEQUALITY octetStringMatch\n"
	"\tSYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )\n"
	"\n"
	"objectclass ( 1.3.6.1.4.1.24552.500.1.1.2.0 NAME 'ldapPublicKey'\n"
	"\tDESC 'MANDATORY: OpenSSH LPK objectclass'\n"
	"\tSUP top AUXILIARY\n"
	"\tMUST ( sshPublicKey $ uid ) )\n";

static cpk_err_t add_path(struct cpk_apply_plan *p, const char *path, mode_t mode,
			  struct cpk_apply_item **it)
{
	char *dir = NULL, *base = NULL;
	cpk_err_t r;

	*it = NULL;
	if ((r = apply_split(path, &dir, &base)) != CPK_OK)
		return r;
	*it = apply_add_item(p, dir, base, mode, 0755);
	free(dir);
	free(base);
	return *it ? CPK_OK : cpk_err_set(CPK_ERR_NOMEM, "out of memory");
}

/* A slapd.conf argument in double quotes ('\\' and '"' escaped). */
static void add_quoted(struct cpk_buf *out, const char *s)
{
	cpk_buf_addch(out, '"');
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			cpk_buf_addch(out, '\\');
		cpk_buf_addch(out, *s);
	}
	cpk_buf_addch(out, '"');
}

/* A DN in an LDAP URL: everything but [A-Za-z0-9=,.-_] percent-encoded. */
static void add_url_dn(struct cpk_buf *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("=,.-_", c))
			cpk_buf_addch(out, (char)c);
		else
			cpk_buf_addf(out, "%%%02X", c);
	}
}

/*
 * The host and port of an ldap[si]:// URI: HOST (at most HOSTLEN-1 bytes,
 * brackets of an IPv6 address removed; "" if none) and *PORT (0: none).
 */
static void uri_host_port(const char *uri, char *host, size_t hostlen, unsigned *port)
{
	const char *a = strstr(uri, "://"), *e, *h, *he;
	size_t n;

	*host = '\0';
	*port = 0;
	if (!a)
		return;
	a += 3;
	e = a + strcspn(a, "/?");
	h = a;
	if (*a == '[') {
		h = a + 1;
		he = memchr(h, ']', (size_t)(e - h));
		if (!he)
			return;
		a = he + 1;
	} else {
		he = memchr(a, ':', (size_t)(e - a));
		if (!he)
			he = e;
		a = he;
	}
	n = (size_t)(he - h);
	if (n < hostlen && strncmp(uri, "ldapi", 5) != 0) {
		memcpy(host, h, n);
		host[n] = '\0';
	}
	if (*a == ':' && a + 1 < e && (size_t)(e - a - 1) <= 5 &&
	    strspn(a + 1, "0123456789") == (size_t)(e - a - 1)) {
		unsigned long v = strtoul(a + 1, NULL, 10);

		if (v > 0 && v < 65536)
			*port = (unsigned)v;
	}
}

static void render_default(const struct cpk_model *m, struct cpk_buf *out)
{
	const char *u = m->ldap.uri;
	char host[256];
	unsigned port;

	uri_host_port(u, host, sizeof(host), &port);
	cpk_buf_addf(out, "# /etc/default/slapd for cluster %s, written by cpk apply (clusterpack):\n"
		     "# slapd reads " SLAPD_CONF ", not slapd.d (see cpk-apply(8)).\n", m->name);
	cpk_buf_addstr(out, "SLAPD_CONF=" SLAPD_CONF "\nSLAPD_USER=\"openldap\"\n"
		       "SLAPD_GROUP=\"openldap\"\nSLAPD_PIDFILE=\nSLAPD_SERVICES=\"");
	if (!strncmp(u, "ldapi://", 8))
		cpk_buf_addstr(out, "ldapi:///");
	else if (port)
		cpk_buf_addf(out, "%s://:%u/ ldapi:///", strncmp(u, "ldaps", 5) ? "ldap" : "ldaps",
			     port);
	else
		cpk_buf_addf(out, "%s:/// ldapi:///", strncmp(u, "ldaps", 5) ? "ldap" : "ldaps");
	cpk_buf_addstr(out, "\"\nSLAPD_SENTINEL_FILE=/etc/ldap/noslapd\nSLAPD_OPTIONS=\"\"\n");
}

static void render_conf(const struct cpk_model *m, const char *cert, const char *key,
			struct cpk_buf *out)
{
	const struct cpk_ldap *l = &m->ldap;
	static const char *const schemas[] = { "core", "cosine", "nis", "inetorgperson" };
	size_t i;

	cpk_buf_addf(out, "# " SLAPD_CONF " for cluster %s, written by cpk apply (clusterpack).\n"
		     "# Edits are replaced by the next apply (the first original is kept as\n"
		     "# " SLAPD_CONF ".cpk-orig): change cluster.yaml instead.\n", m->name);
	for (i = 0; i < CPK_ARRAY_SIZE(schemas); i++)
		cpk_buf_addf(out, "include /etc/ldap/schema/%s.schema\n", schemas[i]);
	cpk_buf_addstr(out, "include " LPK_SCHEMA "\n\n"
		       "pidfile /run/slapd/slapd.pid\nargsfile /run/slapd/slapd.args\n"
		       "loglevel none\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\n"
		       "moduleload unique\n\n"
		       "# passwords set through the Password Modify operation: SHA-512 crypt\n"
		       "password-hash {CRYPT}\npassword-crypt-salt-format \"$6$%.16s\"\n\n");
	cpk_buf_addstr(out, "TLSCertificateFile ");
	add_quoted(out, cert);
	cpk_buf_addstr(out, "\nTLSCertificateKeyFile ");
	add_quoted(out, key);
	cpk_buf_addstr(out, "\n\ndatabase mdb\nmaxsize 1073741824\nsuffix ");
	add_quoted(out, l->base_dn);
	cpk_buf_addch(out, '\n');
	if (l->bind_dn) {
		cpk_buf_addstr(out, "rootdn ");
		add_quoted(out, l->bind_dn);
		cpk_buf_addstr(out, "\ninclude " ROOTPW_CONF "\n");
	}
	cpk_buf_addstr(out, "directory /var/lib/ldap\n"
		       "index objectClass eq\nindex uid,cn,memberUid eq\n"
		       "index uidNumber,gidNumber eq\n\n");
	cpk_buf_addstr(out,
		"# passwords: changed by their owner, checked at bind, read by nobody\n"
		"# (the rootdn is above every rule; root over ldapi:// may manage)\n"
		"access to attrs=userPassword,shadowLastChange\n"
		"\tby " PEERCRED_ROOT " manage\n"
		"\tby self write\n\tby anonymous auth\n\tby * none\n"
		"# the rest: read by everyone (sssd on the nodes searches anonymously),\n"
		"# written by nobody but the admin\n"
		"access to *\n"
		"\tby " PEERCRED_ROOT " manage\n"
		"\tby users read\n\tby anonymous read\n\tby * none\n\n");
	/* per subtree: users share gidNumbers (their primary group), and the id
	 * pool and its claims hold the same numbers as the entries */
	cpk_buf_addstr(out, "# no two users with one uidNumber, no two groups with one gidNumber\n"
		       "overlay unique\nunique_uri ldap:///");
	add_url_dn(out, l->people_ou);
	cpk_buf_addch(out, ',');
	add_url_dn(out, l->base_dn);
	cpk_buf_addstr(out, "?uidNumber?sub\nunique_uri ldap:///");
	add_url_dn(out, l->groups_ou);
	cpk_buf_addch(out, ',');
	add_url_dn(out, l->base_dn);
	cpk_buf_addstr(out, "?gidNumber?sub\n");
}

/* The password file: kept if present (mode and owner enforced), else 24
 * random bytes in base64 (no newline) with a note.  PW gets the password. */
static cpk_err_t password_file(const struct cpk_model *m, struct cpk_apply_plan *p,
			       struct cpk_buf *pw)
{
	const char *path = m->ldap.bind_password_file;
	struct cpk_apply_item *it;
	unsigned char rnd[24], b64[40];
	cpk_err_t r;
	int exists = 0;

	if (!path)
		return cpk_err_set(CPK_ERR_CONFIG, "ldap.bind_dn is set but ldap.bind_password_file"
				   " is not: the control role keeps the admin's password there");
	if ((r = apply_read_root(p, path, pw, &exists)) != CPK_OK)
		return r;
	if ((r = add_path(p, path, 0600, &it)) != CPK_OK)
		return r;
	it->secret = 1;
	if (!exists) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return cpk_err_set(CPK_ERR_INTERNAL, "no random bytes for a password");
		EVP_EncodeBlock(b64, rnd, sizeof(rnd));
		cpk_memwipe(rnd, sizeof(rnd));
		cpk_buf_add(pw, b64, 32);
		cpk_memwipe(b64, sizeof(b64));
		it->note = "GENERATED the LDAP admin password (root only): no bind_password_file was there";
	}
	cpk_buf_add(&it->data, pw->buf, pw->len);
	if (cpk_buf_failed(&it->data) || cpk_buf_failed(pw))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	/* as lib/ldap reads it: one trailing newline is not part of it */
	if (pw->len && pw->buf[pw->len - 1] == '\n')
		pw->buf[--pw->len] = '\0';
	if (pw->len && pw->buf[pw->len - 1] == '\r')
		pw->buf[--pw->len] = '\0';
	if (!pw->len || memchr(pw->buf, '\n', pw->len) || memchr(pw->buf, '\0', pw->len))
		return cpk_err_set(CPK_ERR_INVALID, "%s: empty, or a password of more than one line",
				   path);
	return CPK_OK;
}

/* "rootpw {CRYPT}HASH": the hash of the old file if it matches PW, else a
 * new SHA-512 crypt with a fresh salt. */
static cpk_err_t rootpw(struct cpk_apply_plan *p, const char *pw, struct cpk_apply_item *it)
{
	struct cpk_buf old = CPK_BUF_INIT;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h = NULL, *tag = "rootpw {CRYPT}";
	cpk_err_t r;
	int exists = 0;

	if (!cd)
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if ((r = apply_read_root(p, ROOTPW_CONF, &old, &exists)) != CPK_OK)
		goto out;
	if (exists && !strncmp(old.buf, tag, strlen(tag)) && strchr(old.buf, '\n')) {
		char *hash = old.buf + strlen(tag);
		const char *c;

		*strchr(hash, '\n') = '\0';
		c = crypt_r(pw, hash, cd);
		if (c && c[0] != '*' && !strcmp(c, hash))
			h = c;
	}
	if (!h) {
		if (!crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt))) {
			r = cpk_err_set(CPK_ERR_INTERNAL, "crypt_gensalt failed");
			goto out;
		}
		h = crypt_r(pw, salt, cd);
		if (!h || h[0] == '*') {
			r = cpk_err_set(CPK_ERR_INTERNAL, "crypt(3) cannot make a $6$ hash");
			goto out;
		}
	}
	cpk_buf_addf(&it->data, "%s%s\n", tag, h);
	if (cpk_buf_failed(&it->data))
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
out:
	cpk_memwipe(old.buf, old.len);
	cpk_buf_release(&old);
	cpk_memwipe(cd, sizeof(*cd));
	free(cd);
	return r;
}

/* The certificate and key: both there (kept), both missing (generated
 * when not named in the description), else an error. */
static cpk_err_t tls_files(const struct cpk_model *m, struct cpk_apply_plan *p,
			   const char *cert, const char *key)
{
	struct cpk_apply_item *ic, *ik;
	struct cpk_buf c = CPK_BUF_INIT, k = CPK_BUF_INIT;
	cpk_err_t r;
	int ce = 0, ke = 0;

	if ((r = apply_read_root(p, cert, &c, &ce)) != CPK_OK ||
	    (r = apply_read_root(p, key, &k, &ke)) != CPK_OK)
		goto out;
	if (m->ldap.tls_cert && (!ce || !ke)) {
		r = cpk_err_set(CPK_ERR_NOTFOUND, "%s is missing: ldap.tls_cert and tls_key name"
				" files that must be on the control node", ce ? key : cert);
		goto out;
	}
	if (ce != ke) {
		r = cpk_err_set(CPK_ERR_INVALID, "%s is there but %s is not: remove it to have"
				" both generated", ce ? cert : key, ce ? key : cert);
		goto out;
	}
	if (!ce) {
		char host[256];
		unsigned port;
		const char *sans[4] = { m->control_name, m->control_address, NULL, NULL };

		uri_host_port(m->ldap.uri, host, sizeof(host), &port);
		if (*host)
			sans[2] = host;
		if ((r = apply_selfsigned(m->control_name, sans, &c, &k)) != CPK_OK)
			goto out;
	}
	/* one at a time: adding an item moves the items */
	if ((r = add_path(p, cert, 0644, &ic)) != CPK_OK)
		goto out;
	if (!ce)
		ic->note = "a SELF-SIGNED certificate GENERATED here: set ldap.tls_cert/tls_key for a"
			   " real one; clients verify this one with ldap.ca_file = this file";
	cpk_buf_add(&ic->data, c.buf, c.len);
	if ((r = add_path(p, key, 0600, &ik)) != CPK_OK)
		goto out;
	ik->uid = p->ldap_uid;
	ik->gid = p->ldap_gid;
	ik->secret = 1;
	if (!ce)
		ik->note = "the private key of the generated certificate";
	cpk_buf_add(&ik->data, k.buf, k.len);
out:
	cpk_memwipe(k.buf, k.len);
	cpk_buf_release(&k);
	cpk_buf_release(&c);
	return r;
}

cpk_err_t apply_slapd(const struct cpk_model *m, struct cpk_apply_plan *p)
{
	const char *cert = m->ldap.tls_cert ? m->ldap.tls_cert : GEN_CERT;
	const char *key = m->ldap.tls_key ? m->ldap.tls_key : GEN_KEY;
	struct cpk_buf pw = CPK_BUF_INIT;
	struct cpk_apply_item *it;
	cpk_err_t r;
	size_t i;
	int dfd = -1;

	if (!m->ldap.tls_cert != !m->ldap.tls_key)
		return cpk_err_set(CPK_ERR_CONFIG, "ldap.tls_cert and ldap.tls_key go together");
	if ((r = apply_passwd_user(p, "openldap", &p->ldap_uid, &p->ldap_gid)) != CPK_OK)
		return r;
	if ((r = add_path(p, "/etc/default/slapd", 0644, &it)) != CPK_OK)
		return r;
	render_default(m, &it->data);
	if ((r = add_path(p, SLAPD_CONF, 0644, &it)) != CPK_OK)
		return r;
	render_conf(m, cert, key, &it->data);
	if ((r = add_path(p, LPK_SCHEMA, 0644, &it)) != CPK_OK)
		return r;
	cpk_buf_addstr(&it->data, lpk_schema);
	if (m->ldap.bind_dn) {
		if ((r = password_file(m, p, &pw)) != CPK_OK)
			goto out;
		if ((r = add_path(p, ROOTPW_CONF, 0640, &it)) != CPK_OK)
			goto out;
		it->secret = 1;
		it->gid = p->ldap_gid;
		if ((r = rootpw(p, pw.buf, it)) != CPK_OK)
			goto out;
	}
	if ((r = tls_files(m, p, cert, key)) != CPK_OK)
		goto out;
	/* the database's directory: made (0700 openldap) when missing */
	if ((r = apply_open_dir(p->rootfd, "/var/lib/ldap", 0, 0, 0, 0, &dfd)) != CPK_OK)
		goto out;
	p->ldap_db_missing = dfd < 0;
	if (dfd >= 0)
		close(dfd);
	else
		p->n_changes++;
	for (i = 0; i < p->n && r == CPK_OK; i++)
		if (cpk_buf_failed(&p->items[i].data))
			r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
out:
	cpk_memwipe(pw.buf, pw.len);
	cpk_buf_release(&pw);
	return r;
}
