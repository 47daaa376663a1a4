/*
 * Failure paths, boundaries and clean-up after failure of the account
 * library, on the directory that "ldap_accounts main" leaves (the groups
 * staff and gfix, gid 5000, and the user alice; see ldap_fixture.h), run
 * by t2000-ldap.sh: a range the pool is past, refused adds and deletes
 * that change nothing, lock/unlock of every kind of password value, an
 * allocation race, and the ends of the id ranges (last: it leaves the pool
 * at the top).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ldap_fixture.h"
#include "tap.h"

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

	a = ldapt_open_as(dn, pw, &r);
	cpk_ldap_close(a);
	return r == CPK_OK;
}

/* Every userPassword value of DN, in VALS (at most MAX); the count. */
static size_t get_passwords(struct cpk_ldap_conn *c, const char *dn,
			    char **vals, size_t max)
{
	size_t n = 0;

	while (n < max &&
	       (vals[n] = ldapt_raw_attr(c, dn, "userPassword", (int)n)))
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
	   ldapt_why(r));
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
	ok(bind_after, "%s: unlocked, binds with the same password again",
	   what);
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
	snprintf(dn, sizeof(dn), "uid=locky,ou=People,%s", ldapt_base);
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
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("255") &&
	   !ldapt_user_exists(c, "fp"), "a 256-byte gecos is refused: %s",
	   kept);
	s.gecos = g255;
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_OK && cpk_ldap_user_del(c, "fp") == CPK_OK,
	   "a 255-byte gecos is taken (%s)", kept);
	s.gecos = NULL;

	/* ids at and past the largest */
	s.uid = 4294967295ULL;
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_INVALID && !ldapt_user_exists(c, "fp"),
	   "uid 4294967295 refused: %s", kept);
	s.uid = 0;
	s.gid = 4294967295ULL;
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_INVALID && !ldapt_user_exists(c, "fp") &&
	   !ldapt_group_exists(c, "fp"), "gid 4294967295 refused: %s", kept);
	r = keep(cpk_ldap_group_add(c, "fpg", 4294967295ULL, NULL));
	ok(r == CPK_ERR_INVALID && !ldapt_group_exists(c, "fpg"),
	   "group gid 4294967295 refused: %s", kept);
	r = keep(cpk_ldap_group_add(c, "fpg", 4294967294ULL, &gid));
	ok(r == CPK_OK && gid == 4294967294ULL &&
	   cpk_ldap_group_del(c, "fpg") == CPK_OK,
	   "group gid 4294967294 taken (%s)", kept);

	/* a gid for a personal group that is not made */
	s.gid = 17000;
	s.group = "staff";
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_INVALID &&
	   ldapt_has_msg("only for a new personal group") &&
	   !ldapt_user_exists(c, "fp"), "a gid with a primary group: %s", kept);
	s.group = NULL;
	/* a gid another group has: refused before anything is written */
	s.gid = 5000;	/* gfix's */
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_EXISTS && ldapt_has_msg("gid 5000") &&
	   !ldapt_user_exists(c, "fp") && !ldapt_group_exists(c, "fp"),
	   "a gid in use by a group: %s", kept);
	s.gid = 0;
	/* a group listed twice */
	s.groups = twice;
	s.n_groups = 3;
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("staff is listed twice") &&
	   !ldapt_user_exists(c, "fp") &&
	   ldapt_is_member(c, "staff", "fp") == 0, "a group listed twice: %s",
	   kept);

	/* a membership that was there before a failed add stays */
	{
		struct cpk_modlist ml = CPK_MODLIST_INIT;
		char gdn[256];

		snprintf(gdn, sizeof(gdn), "cn=staff,ou=Groups,%s", ldapt_base);
		cpk_modlist_adds(&ml, LDAP_MOD_ADD, "memberUid", "fp");
		ok(ldap_modify_ext_s(c->ld, gdn, ml.mods, NULL, NULL) ==
		   LDAP_SUCCESS, "a memberUid fp left in staff by someone");
		cpk_modlist_release(&ml);
	}
	s.groups = both;
	s.n_groups = 2;
	cpk_ldap_test_fail_at(c, 4);	/* the gfix membership */
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_ERR_IO && !ldapt_user_exists(c, "fp") &&
	   !ldapt_group_exists(c, "fp") &&
	   ldapt_is_member(c, "gfix", "fp") == 0,
	   "add failing at its last write left no entry (%s)", kept);
	ok(ldapt_is_member(c, "staff", "fp") == 1,
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
	r = keep(cpk_ldap_account_add(c, &ldapt_users, &s, longpw, 0, &uid,
				      &gid));
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("removed again") &&
	   !ldapt_user_exists(c, "fp") && !ldapt_group_exists(c, "fp"),
	   "account add whose password fails leaves nothing: %s", kept);
	free(longpw);
	r = keep(cpk_ldap_account_add(c, &ldapt_users, &s, "Fp-pw-1", 0, &uid,
				      &gid));
	{
		char dn[256];

		snprintf(dn, sizeof(dn), "uid=fp,ou=People,%s", ldapt_base);
		ok(r == CPK_OK && binds(dn, "Fp-pw-1"),
		   "account add with a good password: fp binds (%s)", kept);
	}

	/* delete: a personal group that is another user's primary group, or
	 * has members, is kept */
	s.name = "fq";
	s.group = "fp";
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_OK, "fq with fp's personal group as primary (%s)", kept);
	ok(cpk_ldap_user_del(c, "fp") == CPK_OK &&
	   !ldapt_user_exists(c, "fp") && ldapt_group_exists(c, "fp"),
	   "deleting fp keeps group fp: fq's primary group");
	ok(cpk_ldap_user_del(c, "fq") == CPK_OK, "delete fq");
	ok(cpk_ldap_group_del(c, "fp") == CPK_OK, "group fp deleted by hand");
	s.name = "fr";
	s.group = NULL;
	r = keep(cpk_ldap_user_add(c, &s, NULL, NULL));
	ok(r == CPK_OK && cpk_ldap_group_add_member(c, "fr", "alice") == CPK_OK,
	   "fr's personal group gets member alice (%s)", kept);
	ok(cpk_ldap_user_del(c, "fr") == CPK_OK &&
	   ldapt_group_exists(c, "fr") &&
	   ldapt_is_member(c, "fr", "alice") == 1,
	   "deleting fr keeps group fr: it has a member");
	ok(cpk_ldap_group_del(c, "fr") == CPK_OK &&
	   !ldapt_group_exists(c, "fr"), "group fr deleted by hand");
	r = keep(cpk_ldap_group_del(c, "fr"));
	ok(r == CPK_ERR_NOTFOUND && ldapt_has_msg("fr"), "and again: %s", kept);

	/* a mod is one modify: a part that fails changes nothing (alice's
	 * shell, gid and keys stay as ldap_accounts left them) */
	{
		struct cpk_user_mod m = { 0 };
		struct cpk_user was = CPK_USER_INIT, u = CPK_USER_INIT;
		int shown = cpk_ldap_user_show(c, "alice", &was) == CPK_OK &&
			    was.shell && strcmp(was.shell, "/bin/false");

		m.shell = "/bin/false";
		m.group = "nosuch";
		r = keep(cpk_ldap_user_mod(c, "alice", &m));
		cpk_ldap_user_show(c, "alice", &u);
		ok(shown && r == CPK_ERR_NOTFOUND && u.shell &&
		   !strcmp(u.shell, was.shell) && u.gid == was.gid,
		   "a mod with a missing group changes nothing "
		   "(shell %s, gid %llu): %s", u.shell ? u.shell : "-",
		   (unsigned long long)u.gid, kept);
		cpk_user_release(&u);
		memset(&m, 0, sizeof(m));
		m.shell = "/bin/false";
		m.del_keys = (const char *[]){ ldapt_key2 };
		m.n_del_keys = 1;
		r = keep(cpk_ldap_user_mod(c, "alice", &m));
		cpk_ldap_user_show(c, "alice", &u);
		ok(shown && r == CPK_ERR_NOTFOUND && u.shell &&
		   !strcmp(u.shell, was.shell) && u.n_ssh_keys == was.n_ssh_keys,
		   "a mod removing a missing key changes nothing: %s", kept);
		cpk_user_release(&u);
		cpk_user_release(&was);
	}
}

static void test_exhausted(void)
{
	struct cpk_users small = ldapt_users;
	struct cpk_ldap_conn *c = NULL;
	cpk_err_t r;
	uint64_t id, next;

	/* a range that the pool is already past */
	small.gid_range.lo = 9000;
	small.gid_range.hi = 9005;
	r = cpk_ldap_open(&ldapt_cfg, &small, 0, &c);
	if (r != CPK_OK) {
		ok(0, "open for the exhausted range test");
		return;
	}
	next = ldapt_pool_value(c, "gidNumber");
	r = cpk_ldap_alloc_id(c, CPK_ID_GID, &id);
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("exhausted") &&
	   ldapt_has_msg("9000-9005"), "exhausted range: %s", cpk_errmsg());
	ok(ldapt_pool_value(c, "gidNumber") == next,
	   "exhausted: pool unchanged");
	cpk_ldap_close(c);
	small = ldapt_users;
	small.uid_range.lo = 5;
	small.uid_range.hi = 1;
	r = cpk_ldap_open(&ldapt_cfg, &small, 0, &c);
	ok(r == CPK_ERR_CONFIG && ldapt_has_msg("uid_range"),
	   "empty range refused: %s", cpk_errmsg());
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

	if (cpk_ldap_open(&ldapt_cfg, &ldapt_users, 0, &c) != CPK_OK) {
		ok(0, "open for the allocation race: %s", cpk_errmsg());
		return;
	}
	start = ldapt_pool_value(c, "gidNumber");
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
			if (cpk_ldap_open(&ldapt_cfg, &ldapt_users, 0, &cc) ==
			    CPK_OK) {
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
	ok(ldapt_duplicates(got, n) == 0, "no gid was handed out twice");
	ok(n && got[0] >= start && got[n - 1] < start + P * EACH,
	   "all of them from the pool's next %d (%llu-%llu)", P * EACH,
	   n ? (unsigned long long)got[0] : 0ULL,
	   n ? (unsigned long long)got[n - 1] : 0ULL);
	ok(ldapt_pool_value(c, "gidNumber") >= start + n,
	   "the pool moved past them (%llu)",
	   (unsigned long long)ldapt_pool_value(c, "gidNumber"));
	cpk_ldap_close(c);
}

/*
 * A range gives every id in it, its last too, then "exhausted"; a range
 * may end at the largest id, 4294967294, and hold only one.  Run last:
 * the pool is left at the top.
 */
static void test_range_ends(void)
{
	struct cpk_users top = ldapt_users;
	struct cpk_ldap_conn *c = NULL, *c2 = NULL;
	uint64_t uid, gid, ulo = 4294967292ULL, glo = 4294967290ULL;
	char name[16];
	cpk_err_t r;
	int i, good = 0;

	top.uid_range.lo = ulo;		/* 3 uids */
	top.uid_range.hi = 4294967294ULL;
	top.gid_range.lo = glo;		/* 5 gids */
	top.gid_range.hi = 4294967294ULL;
	if ((r = keep(cpk_ldap_open(&ldapt_cfg, &top, 0, &c))) != CPK_OK) {
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
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("exhausted") &&
	   ldapt_has_msg("4294967292-4294967294"), "the 4th user: %s", kept);
	ok(!ldapt_user_exists(c, "top3") && !ldapt_group_exists(c, "top3"),
	   "the 4th user left nothing");
	ok(ldapt_pool_value(c, "gidNumber") == glo + 3,
	   "and took no gid either (the pool's gid is %llu)",
	   (unsigned long long)ldapt_pool_value(c, "gidNumber"));
	r = keep(cpk_ldap_group_add(c, "topg3", 0, &gid));
	ok(r == CPK_OK && gid == glo + 3, "group: gid %llu",
	   (unsigned long long)gid);
	r = keep(cpk_ldap_group_add(c, "topg4", 0, &gid));
	ok(r == CPK_OK && gid == 4294967294ULL,
	   "group: the last gid, 4294967294 (%s)", kept);
	r = keep(cpk_ldap_group_add(c, "topg5", 0, &gid));
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("exhausted") &&
	   !ldapt_group_exists(c, "topg5"), "one group more: %s", kept);
	cpk_ldap_close(c);

	/* a range of one id; and one past the largest */
	top.uid_range.lo = top.uid_range.hi = 4294967294ULL;
	r = keep(cpk_ldap_open(&ldapt_cfg, &top, 0, &c2));
	ok(r == CPK_OK, "a range of one uid is a range (%s)", kept);
	cpk_ldap_close(c2);
	c2 = NULL;
	top.uid_range.hi = 4294967295ULL;
	r = keep(cpk_ldap_open(&ldapt_cfg, &top, 0, &c2));
	ok(r == CPK_ERR_CONFIG && ldapt_has_msg("uid_range"),
	   "a range ending at 4294967295 is refused: %s", kept);
	cpk_ldap_close(c2);
}

int main(void)
{
	struct cpk_ldap_conn *c;
	cpk_err_t r;

	ldapt_setup();
	c = ldapt_open(&ldapt_cfg, &r);
	if (!c) {
		printf("Bail out! cannot connect: %s\n", cpk_errmsg());
		return 1;
	}
	test_exhausted();
	test_failpaths(c);
	test_lock_schemes(c);
	test_alloc_race();
	cpk_ldap_close(c);
	test_range_ends();
	return done_testing();
}
