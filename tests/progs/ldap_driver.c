/*
 * Integration tests of the account library against a real slapd started by
 * test-slapd.sh (run from t2000-ldap.sh).  Modes:
 *   ldap.t main       everything, on an empty directory with the openssh-lpk
 *                     schema and TLS (slapd_start --tls): also failure
 *                     paths and their clean-up, lock/unlock of every kind
 *                     of password value, an allocation race, and the ends
 *                     of the id ranges (last: it leaves the pool at the top)
 *   ldap.t nolpk      schema detection on a server without openssh-lpk
 *   ldap.t down URI   a server that is not running
 *   ldap.t noca       TLS without the CA fails (run with LDAPTLS_REQCERT=never)
 * Reads SLAPD_URI, SLAPD_LDAPI_URI, SLAPD_BASE, SLAPD_ROOTDN,
 * SLAPD_ROOTPW_FILE, SLAPD_LDAPS_URI, SLAPD_CA_FILE from the environment.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/ldap/ldap_priv.h"
#include "tap.h"

static struct cpk_ldap cfg;
static struct cpk_users users;
static char tmpdir[] = "/tmp/ldap_test.XXXXXX";
static const char *rootpw_file, *base;

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		printf("Bail out! %s is not set (run from t2000-ldap.sh)\n", name);
		exit(1);
	}
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes LEN bytes to a new file in tmpdir with MODE; returns its path. */
static char *put_file(const char *name, const char *data, size_t len,
		      mode_t mode)
{
	static char paths[16][256];
	static int next;
	char *p = paths[next++ % 16];
	int fd;

	snprintf(p, 256, "%s/%s", tmpdir, name);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode)) {
		printf("Bail out! cannot write %s\n", p);
		exit(1);
	}
	close(fd);
	return p;
}

static char *read_all(const char *path)
{
	struct cpk_buf b = CPK_BUF_INIT;
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		cpk_buf_add(&b, chunk, (size_t)n);
	close(fd);
	return cpk_buf_detach(&b, NULL);
}

static void cleanup(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
}

static void setup(void)
{
	char *pw, *withnl;
	size_t len;

	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp\n");
		exit(1);
	}
	atexit(cleanup);	/* also after a Bail out (children use _exit) */
	base = env("SLAPD_BASE");
	pw = read_all(env("SLAPD_ROOTPW_FILE"));
	if (!pw)	/* "down": the server and its files are gone */
		pw = strdup("unused");
	/* the library strips ONE trailing newline: write the file with one */
	len = strlen(pw);
	withnl = malloc(len + 2);
	memcpy(withnl, pw, len);
	withnl[len] = '\n';
	/* a copy: put_file() reuses its 16 path buffers */
	rootpw_file = strdup(put_file("rootpw-nl", withnl, len + 1, 0600));
	free(withnl);
	free(pw);
	cfg.present = 1;
	cfg.uri = (char *)env("SLAPD_URI");
	cfg.base_dn = (char *)base;
	cfg.bind_dn = (char *)env("SLAPD_ROOTDN");
	cfg.bind_password_file = (char *)rootpw_file;
	cfg.tls = "none";
	cfg.people_ou = "ou=People";
	cfg.groups_ou = "ou=Groups";
	users.uid_range.lo = 10000;
	users.uid_range.hi = 19999;
	users.gid_range.lo = 10000;
	users.gid_range.hi = 19999;
	users.shell = "/bin/bash";
	users.home_root = "/home";
	users.skel = NULL;
	users.default_group = NULL;
}

static struct cpk_ldap_conn *open_cfg(const struct cpk_ldap *l, cpk_err_t *r)
{
	struct cpk_ldap_conn *c = NULL;

	*r = cpk_ldap_open(l, &users, 0, &c);
	return c;
}

/* A connection bound as DN with PASSWORD (NULL: the root connection). */
static struct cpk_ldap_conn *open_as(const char *dn, const char *password,
				     cpk_err_t *r)
{
	struct cpk_ldap l = cfg;

	if (dn) {
		l.bind_dn = (char *)dn;
		l.bind_password_file = put_file("pw", password, strlen(password),
						0600);
	}
	return open_cfg(&l, r);
}

/* Runs ldapadd as the rootdn with LDIF on its standard input. */
static int ldapadd(const char *ldif)
{
	char cmd[1024];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ldapadd -x -H '%s' -D '%s' -y '%s' -c "
		 ">/dev/null", cfg.uri, cfg.bind_dn, env("SLAPD_ROOTPW_FILE"));
	p = popen(cmd, "w");
	if (!p)
		return -1;
	fputs(ldif, p);
	return pclose(p);
}

/* The message of a failure, "ok" for a success (the message of an older
 * failure stays until the next one). */
static const char *why(cpk_err_t r)
{
	return r == CPK_OK ? "ok" : cpk_errmsg();
}

static int has_msg(const char *needle)
{
	return strstr(cpk_errmsg(), needle) != NULL;
}

static int user_exists(struct cpk_ldap_conn *c, const char *name)
{
	struct cpk_user u = CPK_USER_INIT;
	cpk_err_t r = cpk_ldap_user_show(c, name, &u);

	cpk_user_release(&u);
	return r == CPK_OK;
}

static int group_exists(struct cpk_ldap_conn *c, const char *name)
{
	struct cpk_group g = CPK_GROUP_INIT;
	cpk_err_t r = cpk_ldap_group_show(c, name, &g);

	cpk_group_release(&g);
	return r == CPK_OK;
}

static int is_member(struct cpk_ldap_conn *c, const char *group,
		     const char *user)
{
	struct cpk_group g = CPK_GROUP_INIT;
	size_t i;
	int found = 0;

	if (cpk_ldap_group_show(c, group, &g) != CPK_OK)
		return -1;
	for (i = 0; i < g.n_members; i++)
		found |= !strcmp(g.members[i], user);
	cpk_group_release(&g);
	return found;
}

/* The first value of ATTR of entry DN (raw, through the connection). */
static char *raw_attr(struct cpk_ldap_conn *c, const char *dn,
		      const char *attr, int index)
{
	char *attrs[] = { (char *)attr, NULL };
	LDAPMessage *res = NULL, *e;
	struct berval **v;
	char *s = NULL;
	int n;

	if (ldap_search_ext_s(c->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)",
			      attrs, 0, NULL, NULL, NULL, 1, &res) ==
	    LDAP_SUCCESS && (e = ldap_first_entry(c->ld, res)) &&
	    (v = ldap_get_values_len(c->ld, e, attr))) {
		n = ldap_count_values_len(v);
		if (index < n)
			s = strndup(v[index]->bv_val, v[index]->bv_len);
		ldap_value_free_len(v);
	}
	ldap_msgfree(res);
	return s;
}

static uint64_t pool_value(struct cpk_ldap_conn *c, const char *attr)
{
	char *v = raw_attr(c, cpk_ldap_pool_dn(c), attr, 0);
	uint64_t n = v ? strtoull(v, NULL, 10) : 0;

	free(v);
	return n;
}

struct counter {
	int n;
	int stop_at;
	uint64_t *ids;
	size_t cap;
};

static int count_cb(const struct cpk_user *u, void *arg)
{
	struct counter *k = arg;

	if (k->ids && (size_t)k->n < k->cap)
		k->ids[k->n] = u->uid;
	k->n++;
	return k->stop_at && k->n >= k->stop_at;
}

static int count_users(struct cpk_ldap_conn *c, const char *gecos)
{
	struct counter k = { 0, 0, NULL, 0 };

	if (cpk_ldap_user_list(c, gecos, count_cb, &k) != CPK_OK)
		return -1;
	return k.n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static size_t duplicates(uint64_t *v, size_t n)
{
	size_t i, d = 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (i = 1; i < n; i++)
		d += v[i] == v[i - 1];
	return d;
}

/* ---- the tests ------------------------------------------------------- */

static void test_bind(void)
{
	struct cpk_ldap l;
	struct cpk_ldap_conn *c;
	cpk_err_t r;
	const char *pw;
	double t0;

	c = open_cfg(&cfg, &r);
	ok(r == CPK_OK && c, "bind as rootdn, password file with one trailing "
	   "newline (%s)", why(r));
	cpk_ldap_close(c);

	pw = read_all(env("SLAPD_ROOTPW_FILE"));
	l = cfg;
	l.bind_password_file = put_file("pw0640", pw, strlen(pw), 0640);
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_PERM && !c && has_msg("chmod 600") &&
	   has_msg("0640"), "group-readable password file refused: %s",
	   cpk_errmsg());
	l.bind_password_file = put_file("pw0604", pw, strlen(pw), 0604);
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_PERM && !c, "world-readable password file refused: %s",
	   cpk_errmsg());
	l.bind_password_file = put_file("pw0620", pw, strlen(pw), 0620);
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_PERM && !c, "group-writable password file refused");
	l.bind_password_file = put_file("pw0400", pw, strlen(pw), 0400);
	c = open_cfg(&l, &r);
	ok(r == CPK_OK && c, "mode 0400 password file accepted");
	cpk_ldap_close(c);
	free((char *)pw);

	l.bind_password_file = put_file("pwbad", "wrong\n", 6, 0600);
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_PERM && !c && has_msg("invalid credentials") &&
	   has_msg(l.bind_password_file) && has_msg(cfg.uri),
	   "wrong password: clear message: %s", cpk_errmsg());
	pw = read_all(env("SLAPD_ROOTPW_FILE"));
	{
		char two[256];

		snprintf(two, sizeof(two), "%s\n\n", pw);
		l.bind_password_file = put_file("pw2nl", two, strlen(two), 0600);
	}
	free((char *)pw);
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_PERM && !c, "only ONE trailing newline is stripped");
	l.bind_password_file = put_file("pwempty", "\n", 1, 0600);
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_INVALID && has_msg("empty"), "empty password refused: %s",
	   cpk_errmsg());
	l.bind_password_file = "/nonexistent/pw";
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_NOTFOUND && has_msg("/nonexistent/pw"),
	   "missing password file: %s", cpk_errmsg());
	l.bind_password_file = NULL;
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_CONFIG && has_msg("bind_password_file"),
	   "bind_dn without a password file: %s", cpk_errmsg());

	l = cfg;
	l.tls = "sometimes";
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_CONFIG && has_msg("none, starttls or ldaps"),
	   "bad tls value: %s", cpk_errmsg());
	l.tls = "ldaps";
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_CONFIG && has_msg("not an ldaps://"),
	   "tls ldaps with an ldap:// uri: %s", cpk_errmsg());
	l = cfg;
	l.uri = "http://127.0.0.1/";
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_CONFIG && has_msg("http://"), "not an LDAP URI: %s",
	   cpk_errmsg());

	/* TLS */
	l = cfg;
	l.tls = "starttls";
	l.ca_file = (char *)env("SLAPD_CA_FILE");
	c = open_cfg(&l, &r);
	ok(r == CPK_OK && c, "StartTLS with the test CA (%s)", why(r));
	cpk_ldap_close(c);
	l.ca_file = NULL;
	c = open_cfg(&l, &r);
	ok(r != CPK_OK && !c && has_msg("StartTLS") && has_msg(cfg.uri),
	   "StartTLS without the CA is refused: %s", cpk_errmsg());
	l.ca_file = "/nonexistent/ca.pem";
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_NOTFOUND && has_msg("ca_file"), "missing CA file: %s",
	   cpk_errmsg());
	l = cfg;
	l.uri = (char *)env("SLAPD_LDAPS_URI");
	l.tls = "ldaps";
	l.ca_file = (char *)env("SLAPD_CA_FILE");
	c = open_cfg(&l, &r);
	ok(r == CPK_OK && c, "ldaps with the test CA (%s)", why(r));
	cpk_ldap_close(c);
	l.ca_file = NULL;
	c = open_cfg(&l, &r);
	ok(r != CPK_OK && !c, "ldaps without the CA is refused: %s",
	   cpk_errmsg());

	/* a server that accepts the connection but never answers */
	{
		struct sockaddr_in sa = { 0 };
		socklen_t sl = sizeof(sa);
		char uri[64];
		int s = socket(AF_INET, SOCK_STREAM, 0);

		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(s, 8) || getsockname(s, (struct sockaddr *)&sa, &sl)) {
			ok(0, "silent server: cannot listen");
		} else {
			snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%u/",
				 ntohs(sa.sin_port));
			l = cfg;
			l.uri = uri;
			t0 = now();
			r = cpk_ldap_open(&l, &users, 1000, &c);
			ok(r == CPK_ERR_IO && !c && has_msg(uri) &&
			   has_msg("did not answer") && now() - t0 < 5,
			   "silent server: CPK_ERR_IO in %.1f s: %s", now() - t0,
			   cpk_errmsg());
		}
		if (s >= 0)
			close(s);
	}
}

/* What create_tree reported on the empty directory. */
static void check_report(const char *got)
{
	struct cpk_buf want = CPK_BUF_INIT;

	cpk_buf_addf(&want, "created %s\ncreated ou=People,%s\n"
		     "created ou=Groups,%s\ncreated cn=idpool,%s\n",
		     base, base, base, base);
	is_str(got, want.buf, "create_tree reports the 4 entries it made");
	cpk_buf_release(&want);
}

static void test_tree2(struct cpk_ldap_conn *c, const char *first_report)
{
	struct cpk_buf report = CPK_BUF_INIT;
	cpk_err_t r;
	uint64_t id = 0, id2 = 0;
	int has = -1;
	char *oc;

	check_report(first_report);
	r = cpk_ldap_create_tree(c, &report);
	ok(r == CPK_OK && report.len == 0,
	   "create_tree again changes nothing (report '%s')", report.buf);
	oc = raw_attr(c, cpk_ldap_pool_dn(c), "objectClass", 1);
	is_str(oc, "device", "pool entry is a device");
	free(oc);
	oc = raw_attr(c, cpk_ldap_pool_dn(c), "objectClass", 2);
	is_str(oc, "extensibleObject", "pool entry is an extensibleObject");
	free(oc);
	ok(pool_value(c, "uidNumber") == 10000 && pool_value(c, "gidNumber") ==
	   10000, "pool starts at the ranges' low ends");
	r = cpk_ldap_alloc_id(c, CPK_ID_UID, &id);
	ok(r == CPK_OK && id == 10000, "first uid is 10000 (%llu)",
	   (unsigned long long)id);
	r = cpk_ldap_alloc_id(c, CPK_ID_UID, &id2);
	ok(r == CPK_OK && id2 == 10001, "second uid is 10001");
	ok(pool_value(c, "uidNumber") == 10002, "pool moved to 10002");
	r = cpk_ldap_has_ssh_keys(c, &has);
	ok(r == CPK_OK && has == 1, "openssh-lpk schema detected");
	cpk_buf_release(&report);
}

static void test_exhausted(void)
{
	struct cpk_users small = users;
	struct cpk_ldap_conn *c = NULL;
	cpk_err_t r;
	uint64_t id, next;

	/* a range that the pool is already past */
	small.gid_range.lo = 9000;
	small.gid_range.hi = 9005;
	r = cpk_ldap_open(&cfg, &small, 0, &c);
	if (r != CPK_OK) {
		ok(0, "open for the exhausted range test");
		return;
	}
	next = pool_value(c, "gidNumber");
	r = cpk_ldap_alloc_id(c, CPK_ID_GID, &id);
	ok(r == CPK_ERR_INVALID && has_msg("exhausted") &&
	   has_msg("9000-9005"), "exhausted range: %s", cpk_errmsg());
	ok(pool_value(c, "gidNumber") == next, "exhausted: pool unchanged");
	cpk_ldap_close(c);
	small = users;
	small.uid_range.lo = 5;
	small.uid_range.hi = 1;
	r = cpk_ldap_open(&cfg, &small, 0, &c);
	ok(r == CPK_ERR_CONFIG && has_msg("uid_range"), "empty range refused: %s",
	   cpk_errmsg());
}

static const char *key1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1 a@x";
static const char *key2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey2 a@y";

static void test_users(struct cpk_ldap_conn *c)
{
	struct cpk_user_spec s = { 0 };
	struct cpk_user u = CPK_USER_INIT;
	struct cpk_group g = CPK_GROUP_INIT;
	const char *keys[] = { key1 };
	const char *staff[] = { "staff" };
	const char *missing[] = { "staff", "nosuchgroup" };
	uint64_t uid = 0, gid = 0, sgid = 0, gid2 = 0;
	cpk_err_t r;
	char *v;

	s.name = "alice";
	s.gecos = "Alice Liddell,Room 1";
	s.ssh_keys = keys;
	s.n_ssh_keys = 1;
	r = cpk_ldap_user_add(c, &s, &uid, &gid);
	ok(r == CPK_OK && uid == 10002 && gid == 10000,
	   "add alice: uid %llu gid %llu (%s)", (unsigned long long)uid,
	   (unsigned long long)gid, why(r));
	r = cpk_ldap_user_show(c, "alice", &u);
	ok(r == CPK_OK, "show alice");
	is_str(u.name, "alice", "alice: uid");
	is_str(u.cn, "Alice Liddell", "alice: cn from gecos");
	is_str(u.gecos, "Alice Liddell,Room 1", "alice: gecos");
	is_str(u.home, "/home/alice", "alice: home");
	is_str(u.shell, "/bin/bash", "alice: shell");
	ok(u.uid == uid && u.gid == gid && !u.locked, "alice: ids, not locked");
	ok(u.n_ssh_keys == 1 && !strcmp(u.ssh_keys[0], key1), "alice: ssh key");
	ok(u.n_groups == 0, "alice: no supplementary groups");
	v = raw_attr(c, u.dn, "sn", 0);
	is_str(v, "Liddell", "alice: sn is the last word of the name");
	free(v);
	v = raw_attr(c, u.dn, "objectClass", 4);
	is_str(v, "ldapPublicKey", "alice: ldapPublicKey class");
	free(v);
	cpk_user_release(&u);
	r = cpk_ldap_group_show(c, "alice", &g);
	ok(r == CPK_OK && g.gid == gid && g.description &&
	   !strcmp(g.description, "personal group of alice"),
	   "personal group alice, gid %llu", (unsigned long long)g.gid);
	cpk_group_release(&g);

	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_EXISTS && has_msg("alice"), "add alice again: %s",
	   cpk_errmsg());

	memset(&s, 0, sizeof(s));
	s.name = "a*)(uid=*";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID && has_msg("'*'"), "user 'a*)(uid=*' refused: %s",
	   cpk_errmsg());
	s.name = "x,ou=Groups";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID, "user 'x,ou=Groups' refused");
	r = cpk_ldap_user_show(c, "a*)(uid=*", &u);
	ok(r == CPK_ERR_INVALID, "show 'a*)(uid=*' refused, not a wildcard");
	cpk_user_release(&u);

	/* groups */
	r = cpk_ldap_group_add(c, "staff", 0, &sgid);
	ok(r == CPK_OK && sgid == 10001, "add group staff: gid %llu (%s)",
	   (unsigned long long)sgid, why(r));
	r = cpk_ldap_group_add(c, "staff", 0, NULL);
	ok(r == CPK_ERR_EXISTS, "add group staff again: %s", cpk_errmsg());
	r = cpk_ldap_group_add(c, "gfix", 5000, &gid2);
	ok(r == CPK_OK && gid2 == 5000, "add group gfix with gid 5000");
	r = cpk_ldap_group_add(c, "gdup", 5000, NULL);
	ok(r == CPK_ERR_EXISTS && has_msg("5000"), "gid 5000 taken: %s",
	   cpk_errmsg());
	r = cpk_ldap_group_add(c, "Bad", 0, NULL);
	ok(r == CPK_ERR_INVALID, "group name check");

	/* supplementary groups, and a literal star in gecos */
	memset(&s, 0, sizeof(s));
	s.name = "bob";
	s.gecos = "Bob * Star";
	s.groups = staff;
	s.n_groups = 1;
	r = cpk_ldap_user_add(c, &s, &uid, &gid);
	ok(r == CPK_OK, "add bob in staff (%s)", why(r));
	r = cpk_ldap_user_show(c, "bob", &u);
	ok(r == CPK_OK && u.n_groups == 1 && !strcmp(u.groups[0], "staff"),
	   "show bob lists staff");
	cpk_user_release(&u);
	ok(is_member(c, "staff", "bob") == 1, "staff has memberUid bob");

	/* a supplementary group that does not exist: nothing is left */
	memset(&s, 0, sizeof(s));
	s.name = "carol";
	s.groups = missing;
	s.n_groups = 2;
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_NOTFOUND && has_msg("nosuchgroup"),
	   "add with a missing group: %s", cpk_errmsg());
	ok(!user_exists(c, "carol") && !group_exists(c, "carol") &&
	   is_member(c, "staff", "carol") == 0,
	   "failed add left no user, no group, no membership");

	/* an explicit primary group: no personal group */
	memset(&s, 0, sizeof(s));
	s.name = "dave";
	s.group = "staff";
	s.shell = "/bin/sh";
	r = cpk_ldap_user_add(c, &s, &uid, &gid);
	ok(r == CPK_OK && gid == sgid && !group_exists(c, "dave"),
	   "add dave with primary group staff, no personal group");
	s.name = "erin";
	s.group = "nosuch";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_NOTFOUND && has_msg("primary group nosuch"),
	   "missing primary group: %s", cpk_errmsg());
	memset(&s, 0, sizeof(s));
	s.name = "erin";
	s.uid = 10002;
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_EXISTS && has_msg("uid 10002"), "uid in use: %s",
	   cpk_errmsg());
	s.uid = 15000;
	s.gid = 15000;
	r = cpk_ldap_user_add(c, &s, &uid, &gid);
	ok(r == CPK_OK && uid == 15000 && gid == 15000, "given uid and gid");
	s.name = "frank";
	s.uid = 0;
	s.gid = 0;
	s.gecos = "Fr\xc3\xa4nk";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID && has_msg("gecos"), "non-ASCII gecos: %s",
	   cpk_errmsg());
	s.gecos = "a:b";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID, "gecos with ':' refused");
	s.gecos = NULL;
	s.shell = "bash";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID && has_msg("absolute"), "relative shell: %s",
	   cpk_errmsg());
	s.shell = NULL;
	s.ssh_keys = keys;
	s.n_ssh_keys = 1;
	keys[0] = "not-a-key";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID && has_msg("ssh public key"), "bad key: %s",
	   cpk_errmsg());
	keys[0] = key1;
	ok(!user_exists(c, "frank"), "refused adds made nothing");
	memset(&s, 0, sizeof(s));
	s.name = "gina";
	s.gecos = "";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	cpk_ldap_user_show(c, "gina", &u);
	ok(r == CPK_OK && u.gecos && !strcmp(u.gecos, "gina") && u.cn &&
	   !strcmp(u.cn, "gina"), "an empty gecos means the login name (%s)",
	   why(r));
	cpk_user_release(&u);
	ok(cpk_ldap_user_del(c, "gina") == CPK_OK, "delete gina");
}

/* An add whose Nth write fails must leave nothing behind. */
static void test_undo(struct cpk_ldap_conn *c)
{
	const char *groups[] = { "staff", "gfix" };
	struct cpk_user_spec s = { 0 };
	cpk_err_t r;
	int nth;

	s.name = "undo";
	s.groups = groups;
	s.n_groups = 2;
	/* writes: personal group, user, staff membership, gfix membership */
	for (nth = 1; nth <= 4; nth++) {
		cpk_ldap_test_fail_at(c, nth);
		r = cpk_ldap_user_add(c, &s, NULL, NULL);
		ok(r == CPK_ERR_IO && has_msg("injected"),
		   "add failing at write %d fails", nth);
		ok(!user_exists(c, "undo") && !group_exists(c, "undo") &&
		   is_member(c, "staff", "undo") == 0 &&
		   is_member(c, "gfix", "undo") == 0,
		   "add failing at write %d left nothing", nth);
	}
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_OK && user_exists(c, "undo") && is_member(c, "gfix", "undo"),
	   "the same add without a failure works");
	ok(cpk_ldap_user_del(c, "undo") == CPK_OK && !group_exists(c, "undo") &&
	   is_member(c, "staff", "undo") == 0, "and is deleted cleanly");
}

static void test_mod(struct cpk_ldap_conn *c)
{
	struct cpk_user_mod m = { 0 };
	struct cpk_user u = CPK_USER_INIT;
	const char *k2[] = { key2 };
	const char *k1[] = { key1 };
	const char *both[] = { key1, key2 };
	cpk_err_t r;
	char *v;

	m.shell = "/bin/zsh";
	m.gecos = "Alice P. Liddell";
	m.group = "staff";
	r = cpk_ldap_user_mod(c, "alice", &m);
	ok(r == CPK_OK, "mod alice shell, gecos, group (%s)", why(r));
	cpk_ldap_user_show(c, "alice", &u);
	ok(u.shell && !strcmp(u.shell, "/bin/zsh") && u.cn &&
	   !strcmp(u.cn, "Alice P. Liddell") && u.gid == 10001,
	   "mod applied (shell %s, cn %s, gid %llu)", u.shell, u.cn,
	   (unsigned long long)u.gid);
	v = raw_attr(c, u.dn, "sn", 0);
	is_str(v, "Liddell", "sn follows the gecos");
	free(v);
	cpk_user_release(&u);

	memset(&m, 0, sizeof(m));
	m.add_keys = k2;
	m.n_add_keys = 1;
	r = cpk_ldap_user_mod(c, "alice", &m);
	cpk_ldap_user_show(c, "alice", &u);
	ok(r == CPK_OK && u.n_ssh_keys == 2, "add a second key");
	cpk_user_release(&u);
	r = cpk_ldap_user_mod(c, "alice", &m);
	ok(r == CPK_ERR_EXISTS, "add the same key again: %s", cpk_errmsg());
	memset(&m, 0, sizeof(m));
	m.del_keys = (const char *[]){ "ssh-rsa AAAAnotthere x" };
	m.n_del_keys = 1;
	r = cpk_ldap_user_mod(c, "alice", &m);
	ok(r == CPK_ERR_NOTFOUND, "remove a key that is not there: %s",
	   cpk_errmsg());
	m.del_keys = both;
	m.n_del_keys = 2;
	r = cpk_ldap_user_mod(c, "alice", &m);
	cpk_ldap_user_show(c, "alice", &u);
	ok(r == CPK_OK && u.n_ssh_keys == 0, "remove both keys (%s)",
	   why(r));
	v = raw_attr(c, u.dn, "objectClass", 4);
	ok(v == NULL, "ldapPublicKey class removed with the last key (%s)",
	   v ? v : "none");
	free(v);
	cpk_user_release(&u);
	memset(&m, 0, sizeof(m));
	m.add_keys = k1;
	m.n_add_keys = 1;
	r = cpk_ldap_user_mod(c, "bob", &m);
	cpk_ldap_user_show(c, "bob", &u);
	ok(r == CPK_OK && u.n_ssh_keys == 1, "key added to bob, who had none "
	   "(%s)", why(r));
	cpk_user_release(&u);
	memset(&m, 0, sizeof(m));
	m.shell = "/bin/sh";
	r = cpk_ldap_user_mod(c, "nobody-here", &m);
	ok(r == CPK_ERR_NOTFOUND && has_msg("nobody-here"), "mod unknown user: %s",
	   cpk_errmsg());
	m.shell = "sh";
	ok(cpk_ldap_user_mod(c, "alice", &m) == CPK_ERR_INVALID,
	   "mod with a relative shell refused");
	memset(&m, 0, sizeof(m));
	m.group = "nosuch";
	ok(cpk_ldap_user_mod(c, "alice", &m) == CPK_ERR_NOTFOUND,
	   "mod to a missing group refused");
	memset(&m, 0, sizeof(m));
	ok(cpk_ldap_user_mod(c, "alice", &m) == CPK_OK, "empty mod is a no-op");
}

static void test_passwd_lock(struct cpk_ldap_conn *c)
{
	struct cpk_user u = CPK_USER_INIT;
	struct cpk_ldap_conn *a;
	char *gen = NULL, *v, dn[256];
	cpk_err_t r;

	snprintf(dn, sizeof(dn), "uid=alice,ou=People,%s", base);
	r = cpk_ldap_user_passwd(c, "alice", "Alice-pw-1", NULL);
	ok(r == CPK_OK, "set alice's password (%s)", why(r));
	v = raw_attr(c, dn, "userPassword", 0);
	ok(v && !strncmp(v, "{SSHA}", 6), "the server hashed it (%.6s)",
	   v ? v : "");
	free(v);
	a = open_as(dn, "Alice-pw-1", &r);
	ok(r == CPK_OK, "alice can bind with it (%s)", why(r));
	cpk_ldap_close(a);
	r = cpk_ldap_user_passwd(c, "bob", NULL, &gen);
	ok(r == CPK_OK && gen && *gen, "server-generated password for bob");
	{
		char bdn[256];

		snprintf(bdn, sizeof(bdn), "uid=bob,ou=People,%s", base);
		a = open_as(bdn, gen ? gen : "x", &r);
		ok(r == CPK_OK, "bob can bind with the generated password");
		cpk_ldap_close(a);
	}
	free(gen);
	ok(cpk_ldap_user_passwd(c, "ghost", "x", NULL) == CPK_ERR_NOTFOUND,
	   "password of an unknown user: %s", cpk_errmsg());

	/* insufficient access: alice is an ordinary user */
	a = open_as(dn, "Alice-pw-1", &r);
	if (a) {
		struct cpk_user_spec s = { 0 };

		s.name = "mallory";
		r = cpk_ldap_user_add(a, &s, NULL, NULL);
		ok(r == CPK_ERR_PERM && has_msg("nsufficient access"),
		   "ordinary user cannot add users: %s", cpk_errmsg());
		r = cpk_ldap_group_add(a, "mgroup", 7777, NULL);
		ok(r == CPK_ERR_PERM, "nor groups: %s", cpk_errmsg());
		ok(cpk_ldap_user_del(a, "bob") == CPK_ERR_PERM,
		   "nor delete users");
		ok(user_exists(a, "bob"), "but can read them");
		cpk_ldap_close(a);
	} else {
		ok(0, "bind as alice for the access tests");
	}

	/* lock */
	r = cpk_ldap_user_lock(c, "alice", 1);
	cpk_ldap_user_show(c, "alice", &u);
	ok(r == CPK_OK && u.locked, "lock alice (%s)", why(r));
	cpk_user_release(&u);
	v = raw_attr(c, dn, "userPassword", 0);
	ok(v && !strncmp(v, "{CRYPT}!{SSHA}", 14), "password disabled: %.14s",
	   v ? v : "");
	free(v);
	v = raw_attr(c, dn, "shadowExpire", 0);
	is_str(v, "1", "shadowExpire is 1");
	free(v);
	a = open_as(dn, "Alice-pw-1", &r);
	ok(r == CPK_ERR_PERM && !a, "locked alice cannot bind: %s", cpk_errmsg());
	ok(cpk_ldap_user_lock(c, "alice", 1) == CPK_OK, "lock again: no-op");
	v = raw_attr(c, dn, "userPassword", 0);
	ok(v && !strncmp(v, "{CRYPT}!{SSHA}", 14), "still locked once");
	free(v);
	r = cpk_ldap_user_passwd(c, "alice", "other", NULL);
	ok(r == CPK_ERR_INVALID && has_msg("locked"),
	   "no password change while locked: %s", cpk_errmsg());
	r = cpk_ldap_user_lock(c, "alice", 0);
	cpk_ldap_user_show(c, "alice", &u);
	ok(r == CPK_OK && !u.locked, "unlock alice");
	cpk_user_release(&u);
	v = raw_attr(c, dn, "shadowExpire", 0);
	ok(v == NULL, "shadowExpire removed");
	free(v);
	a = open_as(dn, "Alice-pw-1", &r);
	ok(r == CPK_OK, "alice binds again with the same password");
	cpk_ldap_close(a);
	ok(cpk_ldap_user_lock(c, "alice", 0) == CPK_OK, "unlock again: no-op");
	ok(cpk_ldap_user_lock(c, "ghost", 1) == CPK_ERR_NOTFOUND,
	   "lock unknown user");
	/* a {CRYPT} hash gets the shadow-style '!' */
	{
		struct cpk_modlist ml = CPK_MODLIST_INIT;

		cpk_modlist_adds(&ml, LDAP_MOD_REPLACE, "userPassword",
				 "{CRYPT}$6$salt$hash");
		ldap_modify_ext_s(c->ld, dn, ml.mods, NULL, NULL);
		cpk_modlist_release(&ml);
		cpk_ldap_user_lock(c, "alice", 1);
		v = raw_attr(c, dn, "userPassword", 0);
		is_str(v, "{CRYPT}!$6$salt$hash", "{CRYPT} hash locked shadow-style");
		free(v);
		cpk_ldap_user_lock(c, "alice", 0);
		v = raw_attr(c, dn, "userPassword", 0);
		is_str(v, "{CRYPT}$6$salt$hash", "and unlocked back");
		free(v);
		ok(cpk_ldap_user_passwd(c, "alice", "Alice-pw-1", NULL) ==
		   CPK_OK, "password set back");
	}
}

static void test_list_members(struct cpk_ldap_conn *c)
{
	cpk_err_t r;
	int n;

	n = count_users(c, NULL);
	ok(n == 4, "list: alice bob dave erin (%d)", n);
	n = count_users(c, "*");
	ok(n == 1, "gecos containing a literal '*' matches bob only (%d)", n);
	n = count_users(c, "Liddell");
	ok(n == 1, "gecos substring search (%d)", n);
	n = count_users(c, "*)(uid=*");
	ok(n == 0, "filter injection through the gecos search matches none");

	r = cpk_ldap_group_add_member(c, "gfix", "alice");
	ok(r == CPK_OK && is_member(c, "gfix", "alice") == 1, "alice joins gfix");
	r = cpk_ldap_group_add_member(c, "gfix", "alice");
	ok(r == CPK_ERR_EXISTS, "joins again: %s", cpk_errmsg());
	r = cpk_ldap_group_add_member(c, "gfix", "ghost");
	ok(r == CPK_ERR_NOTFOUND && has_msg("ghost"), "unknown user: %s",
	   cpk_errmsg());
	r = cpk_ldap_group_add_member(c, "nosuch", "alice");
	ok(r == CPK_ERR_NOTFOUND && has_msg("nosuch"), "unknown group: %s",
	   cpk_errmsg());
	r = cpk_ldap_group_remove_member(c, "gfix", "alice");
	ok(r == CPK_OK && is_member(c, "gfix", "alice") == 0, "alice leaves gfix");
	r = cpk_ldap_group_remove_member(c, "gfix", "alice");
	ok(r == CPK_ERR_NOTFOUND && has_msg("not a member"), "leaves again: %s",
	   cpk_errmsg());
	r = cpk_ldap_group_add_member(c, "gfix", "bob");
	ok(r == CPK_OK, "bob joins gfix");

	r = cpk_ldap_group_del(c, "staff");
	ok(r == CPK_ERR_INVALID && has_msg("primary group"),
	   "cannot delete a primary group: %s", cpk_errmsg());
	ok(cpk_ldap_group_del(c, "nosuch") == CPK_ERR_NOTFOUND,
	   "delete unknown group");
	ok(cpk_ldap_group_add(c, "tmpgrp", 0, NULL) == CPK_OK &&
	   cpk_ldap_group_del(c, "tmpgrp") == CPK_OK &&
	   !group_exists(c, "tmpgrp"), "add and delete a group");

	/* delete bob: memberships and personal group go too */
	r = cpk_ldap_user_del(c, "bob");
	ok(r == CPK_OK && !user_exists(c, "bob"), "delete bob (%s)",
	   why(r));
	ok(!group_exists(c, "bob"), "bob's personal group is gone");
	ok(is_member(c, "staff", "bob") == 0 && is_member(c, "gfix", "bob") == 0,
	   "bob's memberships are gone");
	ok(cpk_ldap_user_del(c, "bob") == CPK_ERR_NOTFOUND, "delete bob again: %s",
	   cpk_errmsg());
	ok(cpk_ldap_user_del(c, "dave") == CPK_OK && group_exists(c, "staff"),
	   "deleting dave keeps his (non-personal) primary group");
}

struct gcount {
	uint64_t *gids;
	size_t n, cap;
};

static int gid_cb(const struct cpk_group *g, void *arg)
{
	struct gcount *k = arg;

	if (k->n < k->cap)
		k->gids[k->n++] = g->gid;
	return 0;
}

/* 20 processes add users at once; an entry added by hand holds a uid and
 * a gid the pool would have handed out next. */
static void test_concurrent(struct cpk_ldap_conn *c)
{
	enum { N = 20 };
	uint64_t uids[4096], gids[4096], hand_uid, hand_gid;
	struct counter k = { 0, 0, uids, 4096 };
	struct gcount gk = { gids, 0, 4096 };
	struct cpk_buf ldif = CPK_BUF_INIT;
	pid_t pids[N];
	int gate[2], i, failed = 0, hit = 0;
	size_t j;
	double t0;

	hand_uid = pool_value(c, "uidNumber") + 3;
	hand_gid = pool_value(c, "gidNumber") + 1;
	cpk_buf_addf(&ldif,
		     "dn: uid=byhand,ou=People,%s\nobjectClass: inetOrgPerson\n"
		     "objectClass: posixAccount\ncn: by hand\nsn: hand\n"
		     "uid: byhand\nuidNumber: %llu\ngidNumber: 100\n"
		     "homeDirectory: /home/byhand\n\n"
		     "dn: cn=handgrp,ou=Groups,%s\nobjectClass: posixGroup\n"
		     "cn: handgrp\ngidNumber: %llu\n\n", base,
		     (unsigned long long)hand_uid, base,
		     (unsigned long long)hand_gid);
	ok(ldapadd(ldif.buf) == 0, "ldapadd a user with uid %llu and a group "
	   "with gid %llu by hand", (unsigned long long)hand_uid,
	   (unsigned long long)hand_gid);
	cpk_buf_release(&ldif);

	if (pipe(gate)) {
		ok(0, "pipe");
		return;
	}
	fflush(stdout);
	for (i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct cpk_ldap_conn *cc = NULL;
			struct cpk_user_spec s = { 0 };
			char name[16], b;
			int rc = 1;

			close(gate[1]);
			snprintf(name, sizeof(name), "conc%02d", i);
			s.name = name;
			if (cpk_ldap_open(&cfg, &users, 0, &cc) == CPK_OK) {
				if (read(gate[0], &b, 1) < 0)
					b = 0;	/* EOF: go */
				rc = cpk_ldap_user_add(cc, &s, NULL, NULL) != CPK_OK;
				if (rc)
					fprintf(stderr, "# %s: %s\n", name,
						cpk_errmsg());
			}
			cpk_ldap_close(cc);
			_exit(rc);
		}
	}
	close(gate[0]);
	usleep(200000);		/* let them all connect */
	t0 = now();
	close(gate[1]);		/* go */
	for (i = 0; i < N; i++) {
		int st = 0;

		if (pids[i] < 0 || waitpid(pids[i], &st, 0) < 0 ||
		    !WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	}
	ok(failed == 0, "%d processes added a user each at once (%d failed, "
	   "%.2f s)", N, failed, now() - t0);
	cpk_ldap_user_list(c, NULL, count_cb, &k);
	ok(k.n == N + 3, "all users listed (%d)", k.n);
	for (j = 0; j < (size_t)k.n; j++)
		hit += uids[j] == hand_uid;
	ok(hit == 1, "only the hand-made entry has uid %llu",
	   (unsigned long long)hand_uid);
	ok(duplicates(uids, (size_t)k.n) == 0, "all uidNumbers are distinct");
	cpk_ldap_group_list(c, gid_cb, &gk);
	hit = 0;
	for (j = 0; j < gk.n; j++)
		hit += gids[j] == hand_gid;
	ok(hit == 1 && duplicates(gids, gk.n) == 0,
	   "all %zu group gids distinct, %llu skipped", gk.n,
	   (unsigned long long)hand_gid);
}

/* 2,100 users added with ldapadd, listed with paging, also by an ordinary
 * user whose size limit is 500. */
static void test_paged(struct cpk_ldap_conn *c)
{
	enum { BULK = 2100 };
	struct cpk_buf ldif = CPK_BUF_INIT;
	struct counter k = { 0, 0, NULL, 0 };
	struct cpk_ldap_conn *a;
	char dn[256];
	cpk_err_t r;
	int i, before = count_users(c, NULL), n;
	double t0;

	cpk_buf_addf(&ldif, "dn: ou=Bulk,%s\nobjectClass: organizationalUnit\n"
		     "ou: Bulk\n\n", base);
	for (i = 0; i < BULK; i++)
		cpk_buf_addf(&ldif,
			     "dn: uid=bulk%04d,ou=Bulk,%s\n"
			     "objectClass: inetOrgPerson\n"
			     "objectClass: posixAccount\ncn: bulk %d\nsn: bulk\n"
			     "uid: bulk%04d\nuidNumber: %d\ngidNumber: 100\n"
			     "homeDirectory: /home/bulk%04d\n\n", i, base, i, i,
			     30000 + i, i);
	ok(ldapadd(ldif.buf) == 0, "ldapadd %d users", BULK);
	cpk_buf_release(&ldif);
	t0 = now();
	n = count_users(c, NULL);
	ok(n == before + BULK, "paged listing as rootdn: %d users (%.3f s)", n,
	   now() - t0);
	k.stop_at = 700;
	r = cpk_ldap_user_list(c, NULL, count_cb, &k);
	ok(r == CPK_OK && k.n == 700, "the callback can stop the listing (%d)",
	   k.n);
	ok(user_exists(c, "alice"), "the connection works after a stop");
	snprintf(dn, sizeof(dn), "uid=alice,ou=People,%s", base);
	a = open_as(dn, "Alice-pw-1", &r);
	n = a ? count_users(a, NULL) : -1;
	ok(n == before + BULK, "paged listing by an ordinary user (size limit "
	   "500): %d users (%s)", n, n < 0 ? cpk_errmsg() : "ok");
	if (a) {
		char *attrs[] = { LDAP_NO_ATTRS, NULL };
		LDAPMessage *res = NULL;
		int rc = ldap_search_ext_s(a->ld, base, LDAP_SCOPE_SUBTREE,
					   "(objectClass=posixAccount)", attrs,
					   0, NULL, NULL, NULL, 0, &res);

		ok(rc == LDAP_SIZELIMIT_EXCEEDED &&
		   ldap_count_entries(a->ld, res) == 500,
		   "(the same search without paging stops at 500: %s)",
		   ldap_err2string(rc));
		ldap_msgfree(res);
	}
	cpk_ldap_close(a);
	/* a bind DN with a total limit: a clear error, not a short list */
	{
		struct cpk_user_spec s = { 0 };

		s.name = "limited";
		r = cpk_ldap_user_add(c, &s, NULL, NULL);
		if (r == CPK_OK)
			r = cpk_ldap_user_passwd(c, "limited", "Limited-pw", NULL);
		snprintf(dn, sizeof(dn), "uid=limited,ou=People,%s", base);
		a = r == CPK_OK ? open_as(dn, "Limited-pw", &r) : NULL;
		n = a ? count_users(a, NULL) : -2;
		ok(n == -1 && has_msg("size.prtotal") && has_msg("Size limit"),
		   "a server total limit is reported: %s", cpk_errmsg());
		cpk_ldap_close(a);
	}
}

/* ---- failure paths, boundaries, clean-up after failure --------------- */

/* The message of the last call, kept before other calls replace it. */
static char kept[1024];

static cpk_err_t keep(cpk_err_t r)
{
	snprintf(kept, sizeof(kept), "%s", r == CPK_OK ? "ok" : cpk_errmsg());
	return r;
}

/* Replaces the userPassword values of DN by the N of VALS, raw. */
static int set_passwords(struct cpk_ldap_conn *c, const char *dn,
			 const char *const *vals, size_t n)
{
	struct cpk_modlist ml = CPK_MODLIST_INIT;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		cpk_modlist_adds(&ml, LDAP_MOD_REPLACE, "userPassword", vals[i]);
	rc = ml.failed ? LDAP_NO_MEMORY :
	     ldap_modify_ext_s(c->ld, dn, ml.mods, NULL, NULL);
	cpk_modlist_release(&ml);
	return rc;
}

/* slappasswd's value of PW hashed with SCHEME (FMT: crypt's salt format,
 * or NULL); a heap string, NULL if slappasswd failed. */
static char *slappasswd(const char *scheme, const char *fmt, const char *pw)
{
	char cmd[256], out[512];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "slappasswd -n -h '%s' %s%s%s -s '%s'",
		 scheme, fmt ? "-c '" : "", fmt ? fmt : "", fmt ? "'" : "", pw);
	if (!(p = popen(cmd, "r")))
		return NULL;
	n = fread(out, 1, sizeof(out) - 1, p);
	if (pclose(p) != 0 || n == 0)
		return NULL;
	out[n] = '\0';
	return strdup(out);
}

static int binds(const char *dn, const char *pw)
{
	struct cpk_ldap_conn *a;
	cpk_err_t r;

	a = open_as(dn, pw, &r);
	cpk_ldap_close(a);
	return r == CPK_OK;
}

/* Every userPassword value of DN, in VALS (at most MAX); the count. */
static size_t get_passwords(struct cpk_ldap_conn *c, const char *dn,
			    char **vals, size_t max)
{
	size_t n = 0;

	while (n < max && (vals[n] = raw_attr(c, dn, "userPassword", (int)n)))
		n++;
	return n;
}

/* Whether the N values of GOT are the N of WANT, in any order. */
static int same_values(char **got, size_t ngot, const char *const *want,
		       size_t n)
{
	size_t i, j;

	if (ngot != n)
		return 0;
	for (i = 0; i < n; i++) {
		int found = 0;

		for (j = 0; j < n; j++)
			found |= !strcmp(want[i], got[j]);
		if (!found)
			return 0;
	}
	return 1;
}

/*
 * Lock then unlock gives back every userPassword value byte for byte, for
 * each kind of value: the user binds with the same password(s) again, and
 * cannot while locked.  PWS[i]: the password of VALS[i] (NULL: a value
 * this slapd cannot bind with, only compared).
 */
static void lock_roundtrip(struct cpk_ldap_conn *c, const char *dn,
			   const char *what, const char *const *vals,
			   const char *const *pws, size_t n)
{
	char *got[4] = { NULL };
	size_t i, ngot;
	int bind_before = 1, bind_locked = 0, bind_after = 1, disabled = 1;
	cpk_err_t r;

	if (set_passwords(c, dn, vals, n) !=
	    LDAP_SUCCESS) {
		ok(0, "%s: set userPassword", what);
		return;
	}
	for (i = 0; i < n; i++)
		if (pws[i])
			bind_before &= binds(dn, pws[i]);
	r = cpk_ldap_user_lock(c, "locky", 1);
	ngot = get_passwords(c, dn, got, 4);
	for (i = 0; i < ngot; i++) {
		disabled &= !strncasecmp(got[i], "{CRYPT}!", 8);
		free(got[i]);
	}
	for (i = 0; i < n; i++)
		if (pws[i])
			bind_locked |= binds(dn, pws[i]);
	ok(r == CPK_OK && bind_before && ngot == n && disabled && !bind_locked,
	   "%s: binds, then locked: every value disabled, no bind (%s)", what,
	   why(r));
	r = cpk_ldap_user_lock(c, "locky", 0);
	ngot = get_passwords(c, dn, got, 4);
	ok(r == CPK_OK && same_values(got, ngot, vals, n),
	   "%s: unlock gives back the exact value%s (%s)", what,
	   n > 1 ? "s" : "", ngot ? got[0] : "none");
	for (i = 0; i < ngot; i++)
		free(got[i]);
	for (i = 0; i < n; i++)
		if (pws[i])
			bind_after &= binds(dn, pws[i]);
	ok(bind_after, "%s: unlocked, binds with the same password again", what);
}

static void test_lock_schemes(struct cpk_ldap_conn *c)
{
	static const struct {
		const char *what, *scheme, *fmt;
	} hashed[] = {
		{ "{SSHA}", "{SSHA}", NULL },
		{ "{SMD5}", "{SMD5}", NULL },
		{ "{CRYPT} sha512", "{CRYPT}", "$6$%.16s" },
		{ "{CRYPT} yescrypt", "{CRYPT}", "$y$j9T$%.16s" },
	};
	struct cpk_user_spec s = { 0 };
	const char *pw1 = "Lock-pw-1", *pw2 = "Other-pw-2";
	char dn[256], *h, *h2, lower[512];
	size_t i;

	s.name = "locky";
	if (cpk_ldap_user_add(c, &s, NULL, NULL) != CPK_OK) {
		ok(0, "add locky: %s", cpk_errmsg());
		return;
	}
	snprintf(dn, sizeof(dn), "uid=locky,ou=People,%s", base);
	lock_roundtrip(c, dn, "cleartext", (const char *[]){ pw1 },
		       (const char *[]){ pw1 }, 1);
	/* slapd binds no {CLEARTEXT} value: compared only */
	lock_roundtrip(c, dn, "{CLEARTEXT}", (const char *[]){ "{CLEARTEXT}x" },
		       (const char *[]){ NULL }, 1);
	lock_roundtrip(c, dn, "a cleartext '{'", (const char *[]){ "{" },
		       (const char *[]){ NULL }, 1);
	for (i = 0; i < sizeof(hashed) / sizeof(hashed[0]); i++) {
		h = slappasswd(hashed[i].scheme, hashed[i].fmt, pw1);
		if (!h) {
			ok(0, "slappasswd -h %s", hashed[i].scheme);
			continue;
		}
		lock_roundtrip(c, dn, hashed[i].what, (const char *[]){ h },
			       (const char *[]){ pw1 }, 1);
		free(h);
	}
	/* a lower-case scheme name, and two values of different schemes */
	h = slappasswd("{CRYPT}", "$5$%.16s", pw1);
	h2 = slappasswd("{SSHA}", NULL, pw2);
	if (h && h2) {
		snprintf(lower, sizeof(lower), "{crypt}%s", h + 7);
		lock_roundtrip(c, dn, "{crypt} lower case",
			       (const char *[]){ lower }, (const char *[]){ pw1 }, 1);
		lock_roundtrip(c, dn, "two values ({CRYPT} and {SSHA})",
			       (const char *[]){ h, h2 },
			       (const char *[]){ pw1, pw2 }, 2);
	} else {
		ok(0, "slappasswd for {CRYPT} $5$ and {SSHA}");
	}
	free(h);
	free(h2);
	ok(cpk_ldap_user_del(c, "locky") == CPK_OK, "delete locky");
}

/* An add or delete that fails, or stops at a boundary, changes nothing it
 * should not. */
static void test_failpaths(struct cpk_ldap_conn *c)
{
	const char *twice[] = { "staff", "gfix", "staff" };
	const char *both[] = { "staff", "gfix" };
	struct cpk_user_spec s = { 0 };
	char g255[256], g256[257], *longpw;
	uint64_t uid = 0, gid = 0;
	cpk_err_t r;

	/* gecos: 255 bytes are fine, 256 are not */
	memset(g255, 'g', 255);
	g255[255] = '\0';
	memset(g256, 'g', 256);
	g256[256] = '\0';
	s.name = "fp";
	s.gecos = g256;
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_INVALID && has_msg("255") && !user_exists(c, "fp"),
	   "a 256-byte gecos is refused: %s", kept);
	s.gecos = g255;
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_OK && cpk_ldap_user_del(c, "fp") == CPK_OK,
	   "a 255-byte gecos is taken (%s)", kept);
	s.gecos = NULL;

	/* ids at and past the largest */
	s.uid = 4294967295ULL;
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_INVALID && !user_exists(c, "fp"),
	   "uid 4294967295 refused: %s", kept);
	s.uid = 0;
	s.gid = 4294967295ULL;
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_INVALID && !user_exists(c, "fp") &&
	   !group_exists(c, "fp"), "gid 4294967295 refused: %s", kept);
	r = keep(cpk_ldap_group_add(c, "fpg", 4294967295ULL, NULL));
	ok(r == CPK_ERR_INVALID && !group_exists(c, "fpg"),
	   "group gid 4294967295 refused: %s", kept);
	r = keep(cpk_ldap_group_add(c, "fpg", 4294967294ULL, &gid));
	ok(r == CPK_OK && gid == 4294967294ULL &&
	   cpk_ldap_group_del(c, "fpg") == CPK_OK,
	   "group gid 4294967294 taken (%s)", kept);

	/* a gid for a personal group that is not made */
	s.gid = 17000;
	s.group = "staff";
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_INVALID && has_msg("only for a new personal group") &&
	   !user_exists(c, "fp"), "a gid with a primary group: %s",
	   kept);
	s.group = NULL;
	/* a gid another group has: refused before anything is written */
	s.gid = 5000;	/* gfix's */
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_EXISTS && has_msg("gid 5000") && !user_exists(c, "fp") &&
	   !group_exists(c, "fp"), "a gid in use by a group: %s", kept);
	s.gid = 0;
	/* a group listed twice */
	s.groups = twice;
	s.n_groups = 3;
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_INVALID && has_msg("staff is listed twice") &&
	   !user_exists(c, "fp") && is_member(c, "staff", "fp") == 0,
	   "a group listed twice: %s", kept);

	/* a membership that was there before a failed add stays */
	{
		struct cpk_modlist ml = CPK_MODLIST_INIT;
		char gdn[256];

		snprintf(gdn, sizeof(gdn), "cn=staff,ou=Groups,%s", base);
		cpk_modlist_adds(&ml, LDAP_MOD_ADD, "memberUid", "fp");
		ok(ldap_modify_ext_s(c->ld, gdn, ml.mods, NULL, NULL) ==
		   LDAP_SUCCESS, "a memberUid fp left in staff by someone");
		cpk_modlist_release(&ml);
	}
	s.groups = both;
	s.n_groups = 2;
	cpk_ldap_test_fail_at(c, 4);	/* the gfix membership */
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_IO && !user_exists(c, "fp") && !group_exists(c, "fp") &&
	   is_member(c, "gfix", "fp") == 0,
	   "add failing at its last write left no entry (%s)", kept);
	ok(is_member(c, "staff", "fp") == 1,
	   "and kept the memberUid it had not added");
	ok(cpk_ldap_group_remove_member(c, "staff", "fp") == CPK_OK,
	   "(that memberUid removed)");
	s.groups = NULL;
	s.n_groups = 0;

	/* an account whose password is refused after the entries were made:
	 * the entries go again */
	longpw = malloc(5001);
	memset(longpw, 'p', 5000);
	longpw[5000] = '\0';
	r = keep(cpk_ldap_account_add(c, &users, &s, longpw, 0, &uid, &gid));
	ok(r == CPK_ERR_INVALID && has_msg("removed again") &&
	   !user_exists(c, "fp") && !group_exists(c, "fp"),
	   "account add whose password fails leaves nothing: %s", kept);
	free(longpw);
	r = keep(cpk_ldap_account_add(c, &users, &s, "Fp-pw-1", 0, &uid, &gid));
	{
		char dn[256];

		snprintf(dn, sizeof(dn), "uid=fp,ou=People,%s", base);
		ok(r == CPK_OK && binds(dn, "Fp-pw-1"),
		   "account add with a good password: fp binds (%s)", kept);
	}

	/* delete: a personal group that is another user's primary group, or
	 * has members, is kept */
	s.name = "fq";
	s.group = "fp";
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_OK, "fq with fp's personal group as primary (%s)", kept);
	ok(cpk_ldap_user_del(c, "fp") == CPK_OK && !user_exists(c, "fp") &&
	   group_exists(c, "fp"),
	   "deleting fp keeps group fp: fq's primary group");
	ok(cpk_ldap_user_del(c, "fq") == CPK_OK, "delete fq");
	ok(cpk_ldap_group_del(c, "fp") == CPK_OK, "group fp deleted by hand");
	s.name = "fr";
	s.group = NULL;
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_OK && cpk_ldap_group_add_member(c, "fr", "alice") == CPK_OK,
	   "fr's personal group gets member alice (%s)", kept);
	ok(cpk_ldap_user_del(c, "fr") == CPK_OK && group_exists(c, "fr") &&
	   is_member(c, "fr", "alice") == 1,
	   "deleting fr keeps group fr: it has a member");
	ok(cpk_ldap_group_del(c, "fr") == CPK_OK && !group_exists(c, "fr"),
	   "group fr deleted by hand");
	r = keep(cpk_ldap_group_del(c, "fr"));
	ok(r == CPK_ERR_NOTFOUND && has_msg("fr"), "and again: %s", kept);

	/* a mod is one modify: a part that fails changes nothing */
	{
		struct cpk_user_mod m = { 0 };
		struct cpk_user u = CPK_USER_INIT;

		m.shell = "/bin/false";
		m.group = "nosuch";
		r = keep(cpk_ldap_user_mod(c, "alice", &m));
		cpk_ldap_user_show(c, "alice", &u);
		ok(r == CPK_ERR_NOTFOUND && u.shell && !strcmp(u.shell, "/bin/bash") &&
		   u.gid == 10000, "a mod with a missing group changes nothing "
		   "(shell %s, gid %llu): %s", u.shell ? u.shell : "-",
		   (unsigned long long)u.gid, kept);
		cpk_user_release(&u);
		memset(&m, 0, sizeof(m));
		m.shell = "/bin/false";
		m.del_keys = (const char *[]){ key2 };
		m.n_del_keys = 1;
		r = keep(cpk_ldap_user_mod(c, "alice", &m));
		cpk_ldap_user_show(c, "alice", &u);
		ok(r == CPK_ERR_NOTFOUND && u.shell && !strcmp(u.shell, "/bin/bash") &&
		   u.n_ssh_keys == 1, "a mod removing a missing key changes nothing: %s",
		   kept);
		cpk_user_release(&u);
	}
}

/* Processes taking ids from the pool at once, many times each: every id
 * is handed out once, and the pool moves by exactly as many. */
static void test_alloc_race(void)
{
	enum { P = 6, EACH = 30 };
	uint64_t got[P * EACH], start;
	struct cpk_ldap_conn *c = NULL;
	int fds[P][2], i, failed = 0;
	size_t n = 0;
	pid_t pids[P];

	if (cpk_ldap_open(&cfg, &users, 0, &c) != CPK_OK) {
		ok(0, "open for the allocation race: %s", cpk_errmsg());
		return;
	}
	start = pool_value(c, "gidNumber");
	fflush(stdout);
	for (i = 0; i < P; i++) {
		if (pipe(fds[i])) {
			ok(0, "pipe");
			cpk_ldap_close(c);
			return;
		}
		pids[i] = fork();
		if (pids[i] == 0) {
			struct cpk_ldap_conn *cc = NULL;
			uint64_t id;
			int k, rc = 1;

			close(fds[i][0]);
			if (cpk_ldap_open(&cfg, &users, 0, &cc) == CPK_OK) {
				for (k = 0, rc = 0; k < EACH && !rc; k++) {
					rc = cpk_ldap_alloc_id(cc, CPK_ID_GID, &id) !=
					     CPK_OK ||
					     write(fds[i][1], &id, sizeof(id)) !=
					     (ssize_t)sizeof(id);
					if (rc)
						fprintf(stderr, "# alloc: %s\n",
							cpk_errmsg());
				}
			}
			_exit(rc);
		}
		close(fds[i][1]);
	}
	for (i = 0; i < P; i++) {
		int st = 0;
		ssize_t k;

		while (n < P * EACH &&
		       (k = read(fds[i][0], &got[n], sizeof(got[n]))) ==
		       (ssize_t)sizeof(got[n]))
			n++;
		close(fds[i][0]);
		if (pids[i] < 0 || waitpid(pids[i], &st, 0) < 0 ||
		    !WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	}
	ok(failed == 0 && n == P * EACH, "%d processes took %d gids each at "
	   "once (%d failed, %zu ids)", P, EACH, failed, n);
	ok(duplicates(got, n) == 0, "no gid was handed out twice");
	ok(n && got[0] >= start && got[n - 1] < start + P * EACH,
	   "all of them from the pool's next %d (%llu-%llu)", P * EACH,
	   n ? (unsigned long long)got[0] : 0ULL,
	   n ? (unsigned long long)got[n - 1] : 0ULL);
	ok(pool_value(c, "gidNumber") >= start + n,
	   "the pool moved past them (%llu)",
	   (unsigned long long)pool_value(c, "gidNumber"));
	cpk_ldap_close(c);
}

/*
 * A range gives every id in it, its last too, then "exhausted"; a range
 * may end at the largest id, 4294967294, and hold only one.  Run last:
 * the pool is left at the top.
 */
static void test_range_ends(void)
{
	struct cpk_users top = users;
	struct cpk_ldap_conn *c = NULL, *c2 = NULL;
	uint64_t uid, gid, ulo = 4294967292ULL, glo = 4294967290ULL;
	char name[16];
	cpk_err_t r;
	int i, good = 0;

	top.uid_range.lo = ulo;		/* 3 uids */
	top.uid_range.hi = 4294967294ULL;
	top.gid_range.lo = glo;		/* 5 gids */
	top.gid_range.hi = 4294967294ULL;
	if ((r = keep(cpk_ldap_open(&cfg, &top, 0, &c))) != CPK_OK) {
		ok(0, "open with the top ranges: %s", kept);
		return;
	}
	for (i = 0; i < 3; i++) {
		struct cpk_user_spec s = { 0 };

		snprintf(name, sizeof(name), "top%d", i);
		s.name = name;
		r = keep(cpk_ldap_user_add(c, &s, &uid, &gid));
		if (r == CPK_OK && uid == ulo + (uint64_t)i &&
		    gid == glo + (uint64_t)i)
			good++;
		else
			printf("# %s: %s, uid %llu gid %llu\n", name, kept,
			       (unsigned long long)uid, (unsigned long long)gid);
	}
	ok(good == 3, "a range of 3 uids gives 3 users, the first %llu, the "
	   "last 4294967294", (unsigned long long)ulo);
	{
		struct cpk_user_spec s = { 0 };

		s.name = "top3";
		r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	}
	ok(r == CPK_ERR_INVALID && has_msg("exhausted") &&
	   has_msg("4294967292-4294967294"), "the 4th user: %s", kept);
	ok(!user_exists(c, "top3") && !group_exists(c, "top3"),
	   "the 4th user left nothing");
	ok(pool_value(c, "gidNumber") == glo + 3,
	   "and took no gid either (the pool's gid is %llu)",
	   (unsigned long long)pool_value(c, "gidNumber"));
	r = keep(cpk_ldap_group_add(c, "topg3", 0, &gid));
	ok(r == CPK_OK && gid == glo + 3, "group: gid %llu", (unsigned long long)gid);
	r = keep(cpk_ldap_group_add(c, "topg4", 0, &gid));
	ok(r == CPK_OK && gid == 4294967294ULL,
	   "group: the last gid, 4294967294 (%s)", kept);
	r = keep(cpk_ldap_group_add(c, "topg5", 0, &gid));
	ok(r == CPK_ERR_INVALID && has_msg("exhausted") &&
	   !group_exists(c, "topg5"), "one group more: %s", kept);
	cpk_ldap_close(c);

	/* a range of one id; and one past the largest */
	top.uid_range.lo = top.uid_range.hi = 4294967294ULL;
	r = keep(cpk_ldap_open(&cfg, &top, 0, &c2));
	ok(r == CPK_OK, "a range of one uid is a range (%s)", kept);
	cpk_ldap_close(c2);
	c2 = NULL;
	top.uid_range.hi = 4294967295ULL;
	r = keep(cpk_ldap_open(&cfg, &top, 0, &c2));
	ok(r == CPK_ERR_CONFIG && has_msg("uid_range"),
	   "a range ending at 4294967295 is refused: %s", kept);
	cpk_ldap_close(c2);
}

static int run_main(void)
{
	struct cpk_ldap l = cfg;
	struct cpk_buf report = CPK_BUF_INIT;
	struct cpk_ldap_conn *c;
	cpk_err_t r;

	test_bind();
	/* create_tree through SASL EXTERNAL (manage rights over ldapi) */
	l.uri = (char *)env("SLAPD_LDAPI_URI");
	l.bind_dn = NULL;
	l.bind_password_file = NULL;
	c = open_cfg(&l, &r);
	ok(r == CPK_OK && c, "SASL EXTERNAL over ldapi:// (%s)", why(r));
	if (c) {
		uint64_t id;

		r = cpk_ldap_alloc_id(c, CPK_ID_UID, &id);
		ok(r == CPK_ERR_NOTFOUND && has_msg("initialize"),
		   "allocation before init: %s", cpk_errmsg());
		r = cpk_ldap_create_tree(c, &report);
		ok(r == CPK_OK, "create_tree on an empty directory (%s)",
		   why(r));
		cpk_ldap_close(c);
	}
	c = open_cfg(&cfg, &r);
	if (!c) {
		printf("Bail out! cannot connect: %s\n", cpk_errmsg());
		return 1;
	}
	test_tree2(c, report.buf);
	cpk_buf_release(&report);
	test_exhausted();
	test_users(c);
	test_undo(c);
	test_failpaths(c);
	test_mod(c);
	test_passwd_lock(c);
	test_lock_schemes(c);
	test_list_members(c);
	test_concurrent(c);
	test_alloc_race();
	test_paged(c);
	cpk_ldap_close(c);
	test_range_ends();
	return 0;
}

static int run_nolpk(void)
{
	struct cpk_buf report = CPK_BUF_INIT;
	struct cpk_user_spec s = { 0 };
	struct cpk_user_mod m = { 0 };
	const char *keys[] = { key1 };
	struct cpk_ldap_conn *c;
	cpk_err_t r;
	int has = -1;

	c = open_cfg(&cfg, &r);
	if (!c) {
		printf("Bail out! cannot connect: %s\n", cpk_errmsg());
		return 1;
	}
	ok(cpk_ldap_create_tree(c, &report) == CPK_OK, "create_tree");
	r = cpk_ldap_has_ssh_keys(c, &has);
	ok(r == CPK_OK && has == 0, "no openssh-lpk schema detected");
	s.name = "alice";
	s.ssh_keys = keys;
	s.n_ssh_keys = 1;
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID && has_msg("openssh-lpk"), "add with a key: %s",
	   cpk_errmsg());
	ok(!user_exists(c, "alice") && !group_exists(c, "alice"),
	   "nothing was created");
	s.n_ssh_keys = 0;
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_OK, "add without keys works (%s)", why(r));
	m.add_keys = keys;
	m.n_add_keys = 1;
	r = cpk_ldap_user_mod(c, "alice", &m);
	ok(r == CPK_ERR_INVALID && has_msg("openssh-lpk"), "mod adding a key: %s",
	   cpk_errmsg());
	cpk_buf_release(&report);
	cpk_ldap_close(c);

	/* a base the server does not hold */
	{
		struct cpk_ldap l = cfg;

		l.base_dn = "dc=elsewhere,dc=org";
		c = open_cfg(&l, &r);
		r = c ? cpk_ldap_create_tree(c, NULL) : r;
		ok(r == CPK_ERR_INVALID && has_msg("dc=elsewhere,dc=org"),
		   "create_tree outside the server's suffix: %s", cpk_errmsg());
		cpk_ldap_close(c);
		l = cfg;
		l.base_dn = "not a dn";
		c = open_cfg(&l, &r);
		ok(r == CPK_ERR_CONFIG && !c, "base_dn that is not a DN: %s",
		   cpk_errmsg());
	}
	return 0;
}

/* A loopback port nobody listens on (bound, then closed). */
static int closed_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* The failure is reported as TLS's (not as an unreachable server), names
 * the URI and says where the CA comes from, whatever the TLS library. */
static int tls_msg(const char *uri)
{
	return has_msg("TLS with the LDAP server") && has_msg(uri) &&
	       has_msg("ldap.ca_file") && !has_msg("cannot reach");
}

static int run_noca(void)
{
	struct cpk_ldap l = cfg;
	struct cpk_ldap_conn *c;
	char uri[64];
	cpk_err_t r;
	int port;

	l.uri = (char *)env("SLAPD_LDAPS_URI");
	l.tls = "ldaps";
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_IO && !c && tls_msg(l.uri),
	   "ldaps without the CA fails even with LDAPTLS_REQCERT=%s: %s",
	   getenv("LDAPTLS_REQCERT") ? getenv("LDAPTLS_REQCERT") : "(unset)",
	   cpk_errmsg());
	cpk_ldap_close(c);
	l = cfg;
	l.tls = "starttls";
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_IO && !c && tls_msg(l.uri) && has_msg("StartTLS"),
	   "and so does StartTLS: %s", cpk_errmsg());
	cpk_ldap_close(c);

	/* ldaps:// to the plain LDAP port: the handshake fails, with the CA */
	snprintf(uri, sizeof(uri), "ldaps://%s", cfg.uri + strlen("ldap://"));
	l = cfg;
	l.uri = uri;
	l.tls = "ldaps";
	l.ca_file = (char *)env("SLAPD_CA_FILE");
	c = open_cfg(&l, &r);
	ok(r == CPK_ERR_IO && !c && tls_msg(uri),
	   "ldaps:// to a port without TLS is a TLS failure: %s", cpk_errmsg());
	cpk_ldap_close(c);

	/* nobody listening: not a TLS failure, for ldaps:// and StartTLS */
	port = closed_port();
	snprintf(uri, sizeof(uri), "ldaps://127.0.0.1:%d/", port);
	c = open_cfg(&l, &r);
	ok(port > 0 && r == CPK_ERR_IO && !c && has_msg("cannot reach") &&
	   has_msg(uri) && !has_msg("TLS with"),
	   "ldaps:// to a closed port: cannot reach, not TLS: %s", cpk_errmsg());
	cpk_ldap_close(c);
	snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%d/", port);
	l.tls = "starttls";
	c = open_cfg(&l, &r);
	ok(port > 0 && r == CPK_ERR_IO && !c && has_msg("cannot reach") &&
	   has_msg(uri) && !has_msg("TLS with"),
	   "StartTLS to a closed port: cannot reach, not TLS: %s", cpk_errmsg());
	cpk_ldap_close(c);
	return 0;
}

static int run_down(const char *uri)
{
	struct cpk_ldap l = cfg;
	struct cpk_ldap_conn *c = NULL;
	cpk_err_t r;
	double t0 = now();

	l.uri = (char *)uri;
	r = cpk_ldap_open(&l, &users, 0, &c);
	ok(r == CPK_ERR_IO && !c, "server down: CPK_ERR_IO (%s)",
	   cpk_strerror(r));
	ok(has_msg(uri) && has_msg("cannot reach"), "message names the URI: %s",
	   cpk_errmsg());
	ok(now() - t0 < 2.0, "and comes fast (%.3f s)", now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "main";
	int rc;

	setup();
	if (!strcmp(mode, "main"))
		rc = run_main();
	else if (!strcmp(mode, "nolpk"))
		rc = run_nolpk();
	else if (!strcmp(mode, "noca"))
		rc = run_noca();
	else if (!strcmp(mode, "down") && argc > 2)
		rc = run_down(argv[2]);
	else {
		printf("Bail out! usage: ldap.t main|nolpk|noca|down URI\n");
		rc = 1;
	}
	return rc ? rc : done_testing();
}
