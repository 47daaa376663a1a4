/*
 * Unit tests for lib/apply/slapd.c and tls.c: the control role's LDAP
 * server items (targets, modes, secrets, notes), the diff that never shows
 * a secret, a second plan with nothing to change (the rootpw hash kept), a
 * new password giving a new hash, quoting of hostile DNs, SLAPD_SERVICES
 * from the uri, and the refusals (tls_cert without tls_key, named files
 * missing, half a generated pair, a symlinked password file).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "cpk/apply.h"

#define HEAD "cluster: {name: t}\ncontrol: {name: head, address: 10.0.0.1}\n" \
	"nodes:\n  - names: c1\n    addresses: 10.0.0.11\n" \
	"partitions:\n  - {name: p, nodes: ALL, default: true}\n"

static struct cpk_model *model(const char *ldap)
{
	struct cpk_buf y = CPK_BUF_INIT;
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = NULL;

	cpk_buf_addf(&y, "%sldap: %s\n", HEAD, ldap);
	if (cpk_model_parse("t.yaml", y.buf, y.len, &m, &d) != CPK_OK) {
		printf("Bail out! model: %s\n", cpk_errmsg());
		exit(1);
	}
	cpk_buf_release(&y);
	cpk_diags_release(&d);
	return m;
}

static void put(const char *root, const char *rel, const char *s)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	if (!(f = fopen(path, "w")) || fputs(s, f) < 0 || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static char *fresh_root(void)
{
	static char root[64];

	snprintf(root, sizeof(root), "/tmp/cpk-slapd-test.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		exit(1);
	}
	return root;
}

static void rm_root(const char *root)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		exit(1);
}

/* The error of planning the control role of LDAP in ROOT (after SETUP). */
static cpk_err_t plan_err(const char *ldap, const char *root)
{
	struct cpk_apply_plan p = CPK_APPLY_PLAN_INIT;
	struct cpk_model *m = model(ldap);
	cpk_err_t r = cpk_apply_plan(m, CPK_ROLE_CONTROL, NULL, root, NULL, &p);

	cpk_apply_plan_release(&p);
	cpk_model_free(m);
	return r;
}

#define LDAP_OK "{uri: 'ldap://head/', base_dn: 'dc=t', bind_dn: 'cn=admin,dc=t', " \
	"bind_password_file: /etc/clusterpack/pw}"

int main(void)
{
	struct cpk_apply_plan p = CPK_APPLY_PLAN_INIT;
	struct cpk_model *m = model(LDAP_OK);
	struct cpk_buf diff = CPK_BUF_INIT, hash = CPK_BUF_INIT, pw = CPK_BUF_INIT;
	const struct cpk_apply_item *it;
	char *root = fresh_root(), path[512];

	ok(cpk_apply_plan(m, CPK_ROLE_CONTROL, NULL, root, NULL, &p) == CPK_OK, "plan control");
	it = cpk_apply_find(&p, "/etc/ldap/slapd.conf");
	ok(it && it->mode == 0644 && !it->secret && it->state == CPK_APPLY_NEW, "slapd.conf: new, 0644");
	ok(it && strstr(it->data.buf, "\nsuffix \"dc=t\"\nrootdn \"cn=admin,dc=t\"\n"
			"include /etc/ldap/slapd-rootpw.conf\n"), "suffix, rootdn, the rootpw file included");
	ok(it && strstr(it->data.buf, "unique_uri ldap:///ou=People,dc=t?uidNumber?sub\n"
			"unique_uri ldap:///ou=Groups,dc=t?gidNumber?sub\n"), "unique per subtree");
	ok(it && !strstr(it->data.buf, "rootpw {"), "no hash in slapd.conf");
	it = cpk_apply_find(&p, "/etc/default/slapd");
	ok(it && strstr(it->data.buf, "\nSLAPD_SERVICES=\"ldap:/// ldapi:///\"\n"), "SLAPD_SERVICES");
	it = cpk_apply_find(&p, "/etc/clusterpack/pw");
	ok(it && it->secret && it->mode == 0600 && it->note && it->data.len == 32,
	   "the password: generated, 32 characters, 0600, secret, with a note");
	if (it)
		cpk_buf_add(&pw, it->data.buf, it->data.len);
	it = cpk_apply_find(&p, "/etc/ldap/slapd-rootpw.conf");
	ok(it && it->secret && it->mode == 0640 && !strncmp(it->data.buf, "rootpw {CRYPT}$6$", 17),
	   "rootpw: {CRYPT}$6$, 0640, secret");
	it = cpk_apply_find(&p, "/etc/ldap/tls/slapd.key");
	ok(it && it->secret && it->mode == 0600 && strstr(it->data.buf, "PRIVATE KEY"),
	   "the generated key: 0600, secret");
	it = cpk_apply_find(&p, "/etc/ldap/tls/slapd.crt");
	ok(it && !it->secret && it->note && strstr(it->data.buf, "BEGIN CERTIFICATE"),
	   "the generated certificate, with a note");
	ok(p.ldap_db_missing, "/var/lib/ldap to be made");
	ok(cpk_apply_diff(&p, &diff) == CPK_OK && strstr(diff.buf, "new /etc/clusterpack/pw: GENERATED") &&
	   strstr(diff.buf, "new /etc/ldap/tls/slapd.crt: a SELF-SIGNED") &&
	   strstr(diff.buf, "secret /etc/ldap/slapd-rootpw.conf: content not shown"),
	   "the diff names the generated and secret files");
	cpk_buf_addch(&pw, '\0');
	ok(!strstr(diff.buf, pw.buf) && !strstr(diff.buf, "PRIVATE KEY") && !strstr(diff.buf, "rootpw {CRYPT}"),
	   "and shows no password, key or hash");
	ok(cpk_apply_install(&p) == CPK_OK, "install");
	it = cpk_apply_find(&p, "/etc/ldap/slapd-rootpw.conf");
	if (it)
		cpk_buf_add(&hash, it->data.buf, it->data.len);
	cpk_apply_plan_release(&p);
	snprintf(path, sizeof(path), "%s/var/lib/ldap", root);
	{
		struct stat st;

		ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0700, "/var/lib/ldap made 0700");
	}

	ok(cpk_apply_plan(m, CPK_ROLE_CONTROL, NULL, root, NULL, &p) == CPK_OK && p.n_changes == 0,
	   "plan again: nothing to change (hash, password, certificate kept)");
	cpk_apply_plan_release(&p);

	put(root, "/etc/clusterpack/pw", "another password\n");
	ok(cpk_apply_plan(m, CPK_ROLE_CONTROL, NULL, root, NULL, &p) == CPK_OK, "plan after a new password");
	it = cpk_apply_find(&p, "/etc/ldap/slapd-rootpw.conf");
	ok(it && it->state == CPK_APPLY_CHANGED && hash.len && it->data.len &&
	   strcmp(it->data.buf, hash.buf), "a new hash");
	it = cpk_apply_find(&p, "/etc/clusterpack/pw");
	ok(it && it->data.len == 17 && !it->note, "the admin's password file is kept as it is");
	cpk_apply_plan_release(&p);
	cpk_model_free(m);
	rm_root(root);

	/* hostile DNs, ldaps with a port */
	root = fresh_root();
	m = model("{uri: 'ldaps://[::1]:6360/', tls: ldaps, base_dn: 'o=a\\, \"b\",dc=t'}");
	ok(cpk_apply_plan(m, CPK_ROLE_CONTROL, NULL, root, NULL, &p) == CPK_OK, "plan: odd DN, ldaps, IPv6");
	it = cpk_apply_find(&p, "/etc/ldap/slapd.conf");
	ok(it && strstr(it->data.buf, "\nsuffix \"o=a\\\\, \\\"b\\\",dc=t\"\n"), "the suffix quoted for slapd.conf");
	ok(it && strstr(it->data.buf, "ldap:///ou=People,o=a%5C,%20%22b%22,dc=t?uidNumber?sub"),
	   "and percent-encoded in the unique URL");
	ok(it && !strstr(it->data.buf, "\nrootdn "), "no bind_dn: no rootdn");
	ok(cpk_apply_find(&p, "/etc/ldap/slapd-rootpw.conf") == NULL, "and no rootpw file");
	it = cpk_apply_find(&p, "/etc/default/slapd");
	ok(it && strstr(it->data.buf, "SLAPD_SERVICES=\"ldaps://:6360/ ldapi:///\""), "ldaps on the uri's port");
	cpk_apply_plan_release(&p);
	cpk_model_free(m);

	/* a named pair that is there: kept, the key made slapd's */
	snprintf(path, sizeof(path), "mkdir -p %s/srv", root);
	ok(system(path) == 0, "mkdir /srv");
	put(root, "/srv/c.pem", "cert\n");
	put(root, "/srv/k.pem", "key\n");
	m = model("{uri: 'ldap://head/', base_dn: 'dc=t', tls_cert: /srv/c.pem, tls_key: /srv/k.pem}");
	ok(cpk_apply_plan(m, CPK_ROLE_CONTROL, NULL, root, NULL, &p) == CPK_OK, "plan with tls_cert/tls_key");
	it = cpk_apply_find(&p, "/srv/c.pem");
	ok(it && !it->note && !strcmp(it->data.buf, "cert\n") && it->mode == 0644, "the named certificate kept");
	it = cpk_apply_find(&p, "/srv/k.pem");
	ok(it && !it->note && it->secret && !strcmp(it->data.buf, "key\n") && it->mode == 0600,
	   "the named key kept, 0600, secret");
	ok(cpk_apply_find(&p, "/etc/ldap/tls/slapd.crt") == NULL, "nothing generated");
	it = cpk_apply_find(&p, "/etc/ldap/slapd.conf");
	ok(it && strstr(it->data.buf, "TLSCertificateFile \"/srv/c.pem\"\nTLSCertificateKeyFile \"/srv/k.pem\"\n"),
	   "slapd.conf names them");
	cpk_apply_plan_release(&p);
	cpk_model_free(m);

	/* refusals */
	{
		struct cpk_buf y = CPK_BUF_INIT;
		struct cpk_diags d = CPK_DIAGS_INIT;
		struct cpk_model *bad = NULL;

		cpk_buf_addf(&y, "%sldap: {uri: 'ldap://head/', base_dn: 'dc=t', tls_cert: /c.pem}\n", HEAD);
		ok(cpk_model_parse("t.yaml", y.buf, y.len, &bad, &d) == CPK_ERR_CONFIG &&
		   d.n == 1 && strstr(d.v[0].msg, "ldap.tls_cert: needs tls_key"),
		   "the model refuses tls_cert without tls_key");
		cpk_model_free(bad);
		cpk_diags_release(&d);
		cpk_buf_release(&y);
	}
	ok(plan_err("{uri: 'ldap://head/', base_dn: 'dc=t', tls_cert: /etc/c.pem, tls_key: /etc/k.pem}",
		    root) == CPK_ERR_NOTFOUND && strstr(cpk_errmsg(), "/etc/c.pem is missing"),
	   "named certificate missing: %s", cpk_errmsg());
	snprintf(path, sizeof(path), "mkdir -p %s/etc/ldap/tls", root);
	ok(system(path) == 0, "mkdir /etc/ldap/tls");
	put(root, "/etc/ldap/tls/slapd.crt", "x\n");
	ok(plan_err("{uri: 'ldap://head/', base_dn: 'dc=t'}", root) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "slapd.crt is there but /etc/ldap/tls/slapd.key is not"),
	   "half a generated pair: %s", cpk_errmsg());
	put(root, "/etc/ldap/tls/slapd.key", "k\n");
	snprintf(path, sizeof(path), "%s/etc/clusterpack", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/etc/clusterpack/pw", root);
	ok(symlink("/etc/shadow", path) == 0, "plant the password file -> /etc/shadow");
	ok(plan_err(LDAP_OK, root) == CPK_ERR_PERM && strstr(cpk_errmsg(), "symbolic link"),
	   "refused: %s", cpk_errmsg());
	rm_root(root);

	cpk_buf_release(&diff);
	cpk_buf_release(&hash);
	cpk_buf_release(&pw);
	return done_testing();
}
