/*
 * The fixture of the LDAP test programs: settings from the environment, a
 * scratch directory, connections, and looks at the directory (see
 * ldap_fixture.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ldap_fixture.h"

struct cpk_ldap ldapt_cfg;
struct cpk_users ldapt_users;
const char *ldapt_base;
const char *const ldapt_key1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINrDvSnNIQXwXTuyXlTAJELvdlkJi1qg/nmor2K7khaT a@x";
const char *const ldapt_key2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF0D6TCkG4dFpf/2gKDwkt9RuJneFf+ykik1tm1bj+Ma a@y";

static char tmpdir[] = "/tmp/ldap_test.XXXXXX";
static const char *rootpw_file;

const char *ldapt_env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		printf("Bail out! %s is not set (run from t2000-ldap.sh)\n", name);
		exit(1);
	}
	return v;
}

double ldapt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *ldapt_put_file(const char *name, const char *data, size_t len,
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

char *ldapt_read_all(const char *path)
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

void ldapt_setup(void)
{
	char *pw, *withnl;
	size_t len;

	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp\n");
		exit(1);
	}
	atexit(cleanup);	/* also after a Bail out (children use _exit) */
	ldapt_base = ldapt_env("SLAPD_BASE");
	pw = ldapt_read_all(ldapt_env("SLAPD_ROOTPW_FILE"));
	if (!pw)	/* "down": the server and its files are gone */
		pw = strdup("unused");
	/* the library strips ONE trailing newline: write the file with one */
	len = strlen(pw);
	withnl = malloc(len + 2);
	memcpy(withnl, pw, len);
	withnl[len] = '\n';
	/* a copy: ldapt_put_file() reuses its 16 path buffers */
	rootpw_file = strdup(ldapt_put_file("rootpw-nl", withnl, len + 1, 0600));
	free(withnl);
	free(pw);
	ldapt_cfg.present = 1;
	ldapt_cfg.uri = (char *)ldapt_env("SLAPD_URI");
	ldapt_cfg.base_dn = (char *)ldapt_base;
	ldapt_cfg.bind_dn = (char *)ldapt_env("SLAPD_ROOTDN");
	ldapt_cfg.bind_password_file = (char *)rootpw_file;
	ldapt_cfg.tls = "none";
	ldapt_cfg.people_ou = "ou=People";
	ldapt_cfg.groups_ou = "ou=Groups";
	ldapt_users.uid_range.lo = 10000;
	ldapt_users.uid_range.hi = 19999;
	ldapt_users.gid_range.lo = 10000;
	ldapt_users.gid_range.hi = 19999;
	ldapt_users.shell = "/bin/bash";
	ldapt_users.home_root = "/home";
	ldapt_users.skel = NULL;
	ldapt_users.default_group = NULL;
}

struct cpk_ldap_conn *ldapt_open(const struct cpk_ldap *l, cpk_err_t *r)
{
	struct cpk_ldap_conn *c = NULL;

	*r = cpk_ldap_open(l, &ldapt_users, 0, &c);
	return c;
}

struct cpk_ldap_conn *ldapt_open_as(const char *dn, const char *password,
				    cpk_err_t *r)
{
	struct cpk_ldap l = ldapt_cfg;

	if (dn) {
		l.bind_dn = (char *)dn;
		l.bind_password_file = ldapt_put_file("pw", password,
						       strlen(password), 0600);
	}
	return ldapt_open(&l, r);
}

int ldapt_ldapadd(const char *ldif)
{
	char cmd[1024];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ldapadd -x -H '%s' -D '%s' -y '%s' -c "
		 ">/dev/null", ldapt_cfg.uri, ldapt_cfg.bind_dn,
		 ldapt_env("SLAPD_ROOTPW_FILE"));
	p = popen(cmd, "w");
	if (!p)
		return -1;
	fputs(ldif, p);
	return pclose(p);
}

const char *ldapt_why(cpk_err_t r)
{
	return r == CPK_OK ? "ok" : cpk_errmsg();
}

int ldapt_has_msg(const char *needle)
{
	return strstr(cpk_errmsg(), needle) != NULL;
}

int ldapt_user_exists(struct cpk_ldap_conn *c, const char *name)
{
	struct cpk_user u = CPK_USER_INIT;
	cpk_err_t r = cpk_ldap_user_show(c, name, &u);

	cpk_user_release(&u);
	return r == CPK_OK;
}

int ldapt_group_exists(struct cpk_ldap_conn *c, const char *name)
{
	struct cpk_group g = CPK_GROUP_INIT;
	cpk_err_t r = cpk_ldap_group_show(c, name, &g);

	cpk_group_release(&g);
	return r == CPK_OK;
}

int ldapt_is_member(struct cpk_ldap_conn *c, const char *group,
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

char *ldapt_raw_attr(struct cpk_ldap_conn *c, const char *dn,
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

uint64_t ldapt_pool_value(struct cpk_ldap_conn *c, const char *attr)
{
	char *v = ldapt_raw_attr(c, cpk_ldap_pool_dn(c), attr, 0);
	uint64_t n = v ? strtoull(v, NULL, 10) : 0;

	free(v);
	return n;
}

int ldapt_count_cb(const struct cpk_user *u, void *arg)
{
	struct ldapt_counter *k = arg;

	if (k->ids && (size_t)k->n < k->cap)
		k->ids[k->n] = u->uid;
	k->n++;
	return k->stop_at && k->n >= k->stop_at;
}

int ldapt_count_users(struct cpk_ldap_conn *c, const char *gecos)
{
	struct ldapt_counter k = { 0, 0, NULL, 0 };

	if (cpk_ldap_user_list(c, gecos, ldapt_count_cb, &k) != CPK_OK)
		return -1;
	return k.n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

size_t ldapt_duplicates(uint64_t *v, size_t n)
{
	size_t i, d = 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (i = 1; i < n; i++)
		d += v[i] == v[i - 1];
	return d;
}
