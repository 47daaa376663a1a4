/*
 * The accounts in the directory, through the library, on a real slapd of
 * the rig (see ldap_fixture.h), run by t2000-ldap.sh:
 *   ldap_accounts main    on an empty directory with the openssh-lpk schema
 *                         (slapd_start --tls): the tree, users, groups,
 *                         their changes, passwords and locks, deletes,
 *                         20 concurrent adds, 2,100-user paging.  It leaves
 *                         the groups staff and gfix (gid 5000) and the user
 *                         alice, which ldap_failpaths runs on next.
 *   ldap_accounts nolpk   schema detection on a server without openssh-lpk
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ldap_fixture.h"
#include "tap.h"

/* What create_tree reported on the empty directory. */
static void check_report(const char *got)
{
	struct cpk_buf want = CPK_BUF_INIT;

	cpk_buf_addf(&want, "created %s\ncreated ou=People,%s\n"
		     "created ou=Groups,%s\ncreated cn=idpool,%s\n",
		     ldapt_base, ldapt_base, ldapt_base, ldapt_base);
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
	oc = ldapt_raw_attr(c, cpk_ldap_pool_dn(c), "objectClass", 1);
	is_str(oc, "device", "pool entry is a device");
	free(oc);
	oc = ldapt_raw_attr(c, cpk_ldap_pool_dn(c), "objectClass", 2);
	is_str(oc, "extensibleObject", "pool entry is an extensibleObject");
	free(oc);
	ok(ldapt_pool_value(c, "uidNumber") == 10000 &&
	   ldapt_pool_value(c, "gidNumber") == 10000,
	   "pool starts at the ranges' low ends");
	r = cpk_ldap_alloc_id(c, CPK_ID_UID, &id);
	ok(r == CPK_OK && id == 10000, "first uid is 10000 (%llu)",
	   (unsigned long long)id);
	r = cpk_ldap_alloc_id(c, CPK_ID_UID, &id2);
	ok(r == CPK_OK && id2 == 10001, "second uid is 10001");
	ok(ldapt_pool_value(c, "uidNumber") == 10002, "pool moved to 10002");
	r = cpk_ldap_has_ssh_keys(c, &has);
	ok(r == CPK_OK && has == 1, "openssh-lpk schema detected");
	cpk_buf_release(&report);
}

static void test_users(struct cpk_ldap_conn *c)
{
	struct cpk_user_spec s = { 0 };
	struct cpk_user u = CPK_USER_INIT;
	struct cpk_group g = CPK_GROUP_INIT;
	const char *keys[] = { ldapt_key1 };
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
	   (unsigned long long)gid, ldapt_why(r));
	r = cpk_ldap_user_show(c, "alice", &u);
	ok(r == CPK_OK, "show alice");
	is_str(u.name, "alice", "alice: uid");
	is_str(u.cn, "Alice Liddell", "alice: cn from gecos");
	is_str(u.gecos, "Alice Liddell,Room 1", "alice: gecos");
	is_str(u.home, "/home/alice", "alice: home");
	is_str(u.shell, "/bin/bash", "alice: shell");
	ok(u.uid == uid && u.gid == gid && !u.locked, "alice: ids, not locked");
	ok(u.n_ssh_keys == 1 && !strcmp(u.ssh_keys[0], ldapt_key1),
	   "alice: ssh key");
	ok(u.n_groups == 0, "alice: no supplementary groups");
	v = ldapt_raw_attr(c, u.dn, "sn", 0);
	is_str(v, "Liddell", "alice: sn is the last word of the name");
	free(v);
	v = ldapt_raw_attr(c, u.dn, "objectClass", 4);
	is_str(v, "ldapPublicKey", "alice: ldapPublicKey class");
	free(v);
	cpk_user_release(&u);
	r = cpk_ldap_group_show(c, "alice", &g);
	ok(r == CPK_OK && g.gid == gid && g.description &&
	   !strcmp(g.description, "personal group of alice"),
	   "personal group alice, gid %llu", (unsigned long long)g.gid);
	cpk_group_release(&g);

	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_EXISTS && ldapt_has_msg("alice"), "add alice again: %s",
	   cpk_errmsg());

	memset(&s, 0, sizeof(s));
	s.name = "a*)(uid=*";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("'*'"),
	   "user 'a*)(uid=*' refused: %s", cpk_errmsg());
	s.name = "x,ou=Groups";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID, "user 'x,ou=Groups' refused");
	r = cpk_ldap_user_show(c, "a*)(uid=*", &u);
	ok(r == CPK_ERR_INVALID, "show 'a*)(uid=*' refused, not a wildcard");
	cpk_user_release(&u);

	/* groups */
	r = cpk_ldap_group_add(c, "staff", 0, &sgid);
	ok(r == CPK_OK && sgid == 10001, "add group staff: gid %llu (%s)",
	   (unsigned long long)sgid, ldapt_why(r));
	r = cpk_ldap_group_add(c, "staff", 0, NULL);
	ok(r == CPK_ERR_EXISTS, "add group staff again: %s", cpk_errmsg());
	r = cpk_ldap_group_add(c, "gfix", 5000, &gid2);
	ok(r == CPK_OK && gid2 == 5000, "add group gfix with gid 5000");
	r = cpk_ldap_group_add(c, "gdup", 5000, NULL);
	ok(r == CPK_ERR_EXISTS && ldapt_has_msg("5000"), "gid 5000 taken: %s",
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
	ok(r == CPK_OK, "add bob in staff (%s)", ldapt_why(r));
	r = cpk_ldap_user_show(c, "bob", &u);
	ok(r == CPK_OK && u.n_groups == 1 && !strcmp(u.groups[0], "staff"),
	   "show bob lists staff");
	cpk_user_release(&u);
	ok(ldapt_is_member(c, "staff", "bob") == 1, "staff has memberUid bob");

	/* a supplementary group that does not exist: nothing is left */
	memset(&s, 0, sizeof(s));
	s.name = "carol";
	s.groups = missing;
	s.n_groups = 2;
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_NOTFOUND && ldapt_has_msg("nosuchgroup"),
	   "add with a missing group: %s", cpk_errmsg());
	ok(!ldapt_user_exists(c, "carol") && !ldapt_group_exists(c, "carol") &&
	   ldapt_is_member(c, "staff", "carol") == 0,
	   "failed add left no user, no group, no membership");

	/* an explicit primary group: no personal group */
	memset(&s, 0, sizeof(s));
	s.name = "dave";
	s.group = "staff";
	s.shell = "/bin/sh";
	r = cpk_ldap_user_add(c, &s, &uid, &gid);
	ok(r == CPK_OK && gid == sgid && !ldapt_group_exists(c, "dave"),
	   "add dave with primary group staff, no personal group");
	s.name = "erin";
	s.group = "nosuch";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_NOTFOUND && ldapt_has_msg("primary group nosuch"),
	   "missing primary group: %s", cpk_errmsg());
	memset(&s, 0, sizeof(s));
	s.name = "erin";
	s.uid = 10002;
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_EXISTS && ldapt_has_msg("uid 10002"), "uid in use: %s",
	   cpk_errmsg());
	s.uid = 15000;
	s.gid = 15000;
	r = cpk_ldap_user_add(c, &s, &uid, &gid);
	ok(r == CPK_OK && uid == 15000 && gid == 15000, "given uid and gid");
	s.name = "frank";
	s.uid = 0;
	s.gid = 0;
	s.gecos = "Fr\xe4nk";	/* Latin-1, not UTF-8 */
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("not valid UTF-8"),
	   "a gecos that is not UTF-8: %s", cpk_errmsg());
	s.gecos = "a:b";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID, "gecos with ':' refused");
	s.gecos = NULL;
	s.shell = "bash";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("absolute"),
	   "relative shell: %s", cpk_errmsg());
	s.shell = NULL;
	s.ssh_keys = keys;
	s.n_ssh_keys = 1;
	keys[0] = "not-a-key";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("ssh public key"),
	   "bad key: %s", cpk_errmsg());
	keys[0] = ldapt_key1;
	ok(!ldapt_user_exists(c, "frank"), "refused adds made nothing");
	memset(&s, 0, sizeof(s));
	s.name = "gina";
	s.gecos = "";
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	cpk_ldap_user_show(c, "gina", &u);
	ok(r == CPK_OK && u.gecos && !strcmp(u.gecos, "gina") && u.cn &&
	   !strcmp(u.cn, "gina"), "an empty gecos means the login name (%s)",
	   ldapt_why(r));
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
		ok(r == CPK_ERR_IO && ldapt_has_msg("injected"),
		   "add failing at write %d fails", nth);
		ok(!ldapt_user_exists(c, "undo") &&
		   !ldapt_group_exists(c, "undo") &&
		   ldapt_is_member(c, "staff", "undo") == 0 &&
		   ldapt_is_member(c, "gfix", "undo") == 0,
		   "add failing at write %d left nothing", nth);
	}
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_OK && ldapt_user_exists(c, "undo") &&
	   ldapt_is_member(c, "gfix", "undo"),
	   "the same add without a failure works");
	ok(cpk_ldap_user_del(c, "undo") == CPK_OK &&
	   !ldapt_group_exists(c, "undo") &&
	   ldapt_is_member(c, "staff", "undo") == 0, "and is deleted cleanly");
}

static void test_mod(struct cpk_ldap_conn *c)
{
	struct cpk_user_mod m = { 0 };
	struct cpk_user u = CPK_USER_INIT;
	const char *k2[] = { ldapt_key2 };
	const char *k1[] = { ldapt_key1 };
	const char *both[] = { ldapt_key1, ldapt_key2 };
	cpk_err_t r;
	char *v;

	m.shell = "/bin/zsh";
	m.gecos = "Alice P. Liddell";
	m.group = "staff";
	r = cpk_ldap_user_mod(c, "alice", &m);
	ok(r == CPK_OK, "mod alice shell, gecos, group (%s)", ldapt_why(r));
	cpk_ldap_user_show(c, "alice", &u);
	ok(u.shell && !strcmp(u.shell, "/bin/zsh") && u.cn &&
	   !strcmp(u.cn, "Alice P. Liddell") && u.gid == 10001,
	   "mod applied (shell %s, cn %s, gid %llu)", u.shell, u.cn,
	   (unsigned long long)u.gid);
	v = ldapt_raw_attr(c, u.dn, "sn", 0);
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
	m.del_keys = (const char *[]){ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOOWJuM3CUWi7o7ZqG9oZ90fqJrfmW8ov7FFcDkW8tqC x" };
	m.n_del_keys = 1;
	r = cpk_ldap_user_mod(c, "alice", &m);
	ok(r == CPK_ERR_NOTFOUND, "remove a key that is not there: %s",
	   cpk_errmsg());
	m.del_keys = both;
	m.n_del_keys = 2;
	r = cpk_ldap_user_mod(c, "alice", &m);
	cpk_ldap_user_show(c, "alice", &u);
	ok(r == CPK_OK && u.n_ssh_keys == 0, "remove both keys (%s)",
	   ldapt_why(r));
	v = ldapt_raw_attr(c, u.dn, "objectClass", 4);
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
	   "(%s)", ldapt_why(r));
	cpk_user_release(&u);
	memset(&m, 0, sizeof(m));
	m.shell = "/bin/sh";
	r = cpk_ldap_user_mod(c, "nobody-here", &m);
	ok(r == CPK_ERR_NOTFOUND && ldapt_has_msg("nobody-here"),
	   "mod unknown user: %s", cpk_errmsg());
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

	snprintf(dn, sizeof(dn), "uid=alice,ou=People,%s", ldapt_base);
	r = cpk_ldap_user_passwd(c, "alice", "Alice-pw-1", NULL);
	ok(r == CPK_OK, "set alice's password (%s)", ldapt_why(r));
	v = ldapt_raw_attr(c, dn, "userPassword", 0);
	ok(v && !strncmp(v, "{SSHA}", 6), "the server hashed it (%.6s)",
	   v ? v : "");
	free(v);
	a = ldapt_open_as(dn, "Alice-pw-1", &r);
	ok(r == CPK_OK, "alice can bind with it (%s)", ldapt_why(r));
	cpk_ldap_close(a);
	r = cpk_ldap_user_passwd(c, "bob", NULL, &gen);
	ok(r == CPK_OK && gen && *gen, "server-generated password for bob");
	{
		char bdn[256];

		snprintf(bdn, sizeof(bdn), "uid=bob,ou=People,%s", ldapt_base);
		a = ldapt_open_as(bdn, gen ? gen : "x", &r);
		ok(r == CPK_OK, "bob can bind with the generated password");
		cpk_ldap_close(a);
	}
	free(gen);
	ok(cpk_ldap_user_passwd(c, "ghost", "x", NULL) == CPK_ERR_NOTFOUND,
	   "password of an unknown user: %s", cpk_errmsg());

	/* insufficient access: alice is an ordinary user */
	a = ldapt_open_as(dn, "Alice-pw-1", &r);
	if (a) {
		struct cpk_user_spec s = { 0 };

		s.name = "mallory";
		r = cpk_ldap_user_add(a, &s, NULL, NULL);
		ok(r == CPK_ERR_PERM && ldapt_has_msg("nsufficient access"),
		   "ordinary user cannot add users: %s", cpk_errmsg());
		r = cpk_ldap_group_add(a, "mgroup", 7777, NULL);
		ok(r == CPK_ERR_PERM, "nor groups: %s", cpk_errmsg());
		ok(cpk_ldap_user_del(a, "bob") == CPK_ERR_PERM,
		   "nor delete users");
		ok(ldapt_user_exists(a, "bob"), "but can read them");
		cpk_ldap_close(a);
	} else {
		ok(0, "bind as alice for the access tests");
	}

	/* lock */
	r = cpk_ldap_user_lock(c, "alice", 1);
	cpk_ldap_user_show(c, "alice", &u);
	ok(r == CPK_OK && u.locked, "lock alice (%s)", ldapt_why(r));
	cpk_user_release(&u);
	v = ldapt_raw_attr(c, dn, "userPassword", 0);
	ok(v && !strncmp(v, "{CRYPT}!{SSHA}", 14), "password disabled: %.14s",
	   v ? v : "");
	free(v);
	v = ldapt_raw_attr(c, dn, "shadowExpire", 0);
	is_str(v, "1", "shadowExpire is 1");
	free(v);
	a = ldapt_open_as(dn, "Alice-pw-1", &r);
	ok(r == CPK_ERR_PERM && !a, "locked alice cannot bind: %s",
	   cpk_errmsg());
	ok(cpk_ldap_user_lock(c, "alice", 1) == CPK_OK, "lock again: no-op");
	v = ldapt_raw_attr(c, dn, "userPassword", 0);
	ok(v && !strncmp(v, "{CRYPT}!{SSHA}", 14), "still locked once");
	free(v);
	r = cpk_ldap_user_passwd(c, "alice", "other", NULL);
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("locked"),
	   "no password change while locked: %s", cpk_errmsg());
	r = cpk_ldap_user_lock(c, "alice", 0);
	cpk_ldap_user_show(c, "alice", &u);
	ok(r == CPK_OK && !u.locked, "unlock alice");
	cpk_user_release(&u);
	v = ldapt_raw_attr(c, dn, "shadowExpire", 0);
	ok(v == NULL, "shadowExpire removed");
	free(v);
	a = ldapt_open_as(dn, "Alice-pw-1", &r);
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
		v = ldapt_raw_attr(c, dn, "userPassword", 0);
		is_str(v, "{CRYPT}!$6$salt$hash",
		       "{CRYPT} hash locked shadow-style");
		free(v);
		cpk_ldap_user_lock(c, "alice", 0);
		v = ldapt_raw_attr(c, dn, "userPassword", 0);
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

	n = ldapt_count_users(c, NULL);
	ok(n == 4, "list: alice bob dave erin (%d)", n);
	n = ldapt_count_users(c, "*");
	ok(n == 1, "gecos containing a literal '*' matches bob only (%d)", n);
	n = ldapt_count_users(c, "Liddell");
	ok(n == 1, "gecos substring search (%d)", n);
	n = ldapt_count_users(c, "*)(uid=*");
	ok(n == 0, "filter injection through the gecos search matches none");

	r = cpk_ldap_group_add_member(c, "gfix", "alice");
	ok(r == CPK_OK && ldapt_is_member(c, "gfix", "alice") == 1,
	   "alice joins gfix");
	r = cpk_ldap_group_add_member(c, "gfix", "alice");
	ok(r == CPK_ERR_EXISTS, "joins again: %s", cpk_errmsg());
	r = cpk_ldap_group_add_member(c, "gfix", "ghost");
	ok(r == CPK_ERR_NOTFOUND && ldapt_has_msg("ghost"), "unknown user: %s",
	   cpk_errmsg());
	r = cpk_ldap_group_add_member(c, "nosuch", "alice");
	ok(r == CPK_ERR_NOTFOUND && ldapt_has_msg("nosuch"),
	   "unknown group: %s", cpk_errmsg());
	r = cpk_ldap_group_remove_member(c, "gfix", "alice");
	ok(r == CPK_OK && ldapt_is_member(c, "gfix", "alice") == 0,
	   "alice leaves gfix");
	r = cpk_ldap_group_remove_member(c, "gfix", "alice");
	ok(r == CPK_ERR_NOTFOUND && ldapt_has_msg("not a member"),
	   "leaves again: %s", cpk_errmsg());
	r = cpk_ldap_group_add_member(c, "gfix", "bob");
	ok(r == CPK_OK, "bob joins gfix");

	r = cpk_ldap_group_del(c, "staff");
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("primary group"),
	   "cannot delete a primary group: %s", cpk_errmsg());
	ok(cpk_ldap_group_del(c, "nosuch") == CPK_ERR_NOTFOUND,
	   "delete unknown group");
	ok(cpk_ldap_group_add(c, "tmpgrp", 0, NULL) == CPK_OK &&
	   cpk_ldap_group_del(c, "tmpgrp") == CPK_OK &&
	   !ldapt_group_exists(c, "tmpgrp"), "add and delete a group");

	/* delete bob: memberships and personal group go too */
	r = cpk_ldap_user_del(c, "bob");
	ok(r == CPK_OK && !ldapt_user_exists(c, "bob"), "delete bob (%s)",
	   ldapt_why(r));
	ok(!ldapt_group_exists(c, "bob"), "bob's personal group is gone");
	ok(ldapt_is_member(c, "staff", "bob") == 0 &&
	   ldapt_is_member(c, "gfix", "bob") == 0,
	   "bob's memberships are gone");
	ok(cpk_ldap_user_del(c, "bob") == CPK_ERR_NOTFOUND,
	   "delete bob again: %s", cpk_errmsg());
	ok(cpk_ldap_user_del(c, "dave") == CPK_OK &&
	   ldapt_group_exists(c, "staff"),
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
	struct ldapt_counter k = { 0, 0, uids, 4096 };
	struct gcount gk = { gids, 0, 4096 };
	struct cpk_buf ldif = CPK_BUF_INIT;
	pid_t pids[N];
	int gate[2], i, failed = 0, hit = 0;
	size_t j;
	double t0;

	hand_uid = ldapt_pool_value(c, "uidNumber") + 3;
	hand_gid = ldapt_pool_value(c, "gidNumber") + 1;
	cpk_buf_addf(&ldif,
		     "dn: uid=byhand,ou=People,%s\nobjectClass: inetOrgPerson\n"
		     "objectClass: posixAccount\ncn: by hand\nsn: hand\n"
		     "uid: byhand\nuidNumber: %llu\ngidNumber: 100\n"
		     "homeDirectory: /home/byhand\n\n"
		     "dn: cn=handgrp,ou=Groups,%s\nobjectClass: posixGroup\n"
		     "cn: handgrp\ngidNumber: %llu\n\n", ldapt_base,
		     (unsigned long long)hand_uid, ldapt_base,
		     (unsigned long long)hand_gid);
	ok(ldapt_ldapadd(ldif.buf) == 0,
	   "ldapadd a user with uid %llu and a group " "with gid %llu by hand",
	   (unsigned long long)hand_uid, (unsigned long long)hand_gid);
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
			if (cpk_ldap_open(&ldapt_cfg, &ldapt_users, 0, &cc) ==
			    CPK_OK) {
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
	t0 = ldapt_now();
	close(gate[1]);		/* go */
	for (i = 0; i < N; i++) {
		int st = 0;

		if (pids[i] < 0 || waitpid(pids[i], &st, 0) < 0 ||
		    !WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	}
	ok(failed == 0, "%d processes added a user each at once (%d failed, "
	   "%.2f s)", N, failed, ldapt_now() - t0);
	cpk_ldap_user_list(c, NULL, ldapt_count_cb, &k);
	ok(k.n == N + 3, "all users listed (%d)", k.n);
	for (j = 0; j < (size_t)k.n; j++)
		hit += uids[j] == hand_uid;
	ok(hit == 1, "only the hand-made entry has uid %llu",
	   (unsigned long long)hand_uid);
	ok(ldapt_duplicates(uids, (size_t)k.n) == 0,
	   "all uidNumbers are distinct");
	cpk_ldap_group_list(c, gid_cb, &gk);
	hit = 0;
	for (j = 0; j < gk.n; j++)
		hit += gids[j] == hand_gid;
	ok(hit == 1 && ldapt_duplicates(gids, gk.n) == 0,
	   "all %zu group gids distinct, %llu skipped", gk.n,
	   (unsigned long long)hand_gid);
}

/* 2,100 users added with ldapadd, listed with paging, also by an ordinary
 * user whose size limit is 500. */
static void test_paged(struct cpk_ldap_conn *c)
{
	enum { BULK = 2100 };
	struct cpk_buf ldif = CPK_BUF_INIT;
	struct ldapt_counter k = { 0, 0, NULL, 0 };
	struct cpk_ldap_conn *a;
	char dn[256];
	cpk_err_t r;
	int i, before = ldapt_count_users(c, NULL), n;
	double t0;

	cpk_buf_addf(&ldif, "dn: ou=Bulk,%s\nobjectClass: organizationalUnit\n"
		     "ou: Bulk\n\n", ldapt_base);
	for (i = 0; i < BULK; i++)
		cpk_buf_addf(&ldif,
			     "dn: uid=bulk%04d,ou=Bulk,%s\n"
			     "objectClass: inetOrgPerson\n"
			     "objectClass: posixAccount\ncn: bulk %d\nsn: bulk\n"
			     "uid: bulk%04d\nuidNumber: %d\ngidNumber: 100\n"
			     "homeDirectory: /home/bulk%04d\n\n", i, ldapt_base,
			     i, i, 30000 + i, i);
	ok(ldapt_ldapadd(ldif.buf) == 0, "ldapadd %d users", BULK);
	cpk_buf_release(&ldif);
	t0 = ldapt_now();
	n = ldapt_count_users(c, NULL);
	ok(n == before + BULK, "paged listing as rootdn: %d users (%.3f s)", n,
	   ldapt_now() - t0);
	k.stop_at = 700;
	r = cpk_ldap_user_list(c, NULL, ldapt_count_cb, &k);
	ok(r == CPK_OK && k.n == 700, "the callback can stop the listing (%d)",
	   k.n);
	ok(ldapt_user_exists(c, "alice"), "the connection works after a stop");
	snprintf(dn, sizeof(dn), "uid=alice,ou=People,%s", ldapt_base);
	a = ldapt_open_as(dn, "Alice-pw-1", &r);
	n = a ? ldapt_count_users(a, NULL) : -1;
	ok(n == before + BULK, "paged listing by an ordinary user (size limit "
	   "500): %d users (%s)", n, n < 0 ? cpk_errmsg() : "ok");
	if (a) {
		char *attrs[] = { LDAP_NO_ATTRS, NULL };
		LDAPMessage *res = NULL;
		int rc = ldap_search_ext_s(a->ld, ldapt_base,
					   LDAP_SCOPE_SUBTREE,
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
		snprintf(dn, sizeof(dn), "uid=limited,ou=People,%s",
			 ldapt_base);
		a = r == CPK_OK ? ldapt_open_as(dn, "Limited-pw", &r) : NULL;
		n = a ? ldapt_count_users(a, NULL) : -2;
		ok(n == -1 && ldapt_has_msg("size.prtotal") &&
		   ldapt_has_msg("Size limit"),
		   "a server total limit is reported: %s", cpk_errmsg());
		cpk_ldap_close(a);
	}
}

static int run_main(void)
{
	struct cpk_ldap l = ldapt_cfg;
	struct cpk_buf report = CPK_BUF_INIT;
	struct cpk_ldap_conn *c;
	cpk_err_t r;

	/* create_tree through SASL EXTERNAL (manage rights over ldapi) */
	l.uri = (char *)ldapt_env("SLAPD_LDAPI_URI");
	l.bind_dn = NULL;
	l.bind_password_file = NULL;
	c = ldapt_open(&l, &r);
	ok(r == CPK_OK && c, "SASL EXTERNAL over ldapi:// (%s)", ldapt_why(r));
	if (c) {
		uint64_t id;

		r = cpk_ldap_alloc_id(c, CPK_ID_UID, &id);
		ok(r == CPK_ERR_NOTFOUND && ldapt_has_msg("initialize"),
		   "allocation before init: %s", cpk_errmsg());
		r = cpk_ldap_create_tree(c, &report);
		ok(r == CPK_OK, "create_tree on an empty directory (%s)",
		   ldapt_why(r));
		cpk_ldap_close(c);
	}
	c = ldapt_open(&ldapt_cfg, &r);
	if (!c) {
		printf("Bail out! cannot connect: %s\n", cpk_errmsg());
		return 1;
	}
	test_tree2(c, report.buf);
	cpk_buf_release(&report);
	test_users(c);
	test_undo(c);
	test_mod(c);
	test_passwd_lock(c);
	test_list_members(c);
	test_concurrent(c);
	test_paged(c);
	cpk_ldap_close(c);
	return 0;
}

static int run_nolpk(void)
{
	struct cpk_buf report = CPK_BUF_INIT;
	struct cpk_user_spec s = { 0 };
	struct cpk_user_mod m = { 0 };
	const char *keys[] = { ldapt_key1 };
	struct cpk_ldap_conn *c;
	cpk_err_t r;
	int has = -1;

	c = ldapt_open(&ldapt_cfg, &r);
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
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("openssh-lpk"),
	   "add with a key: %s", cpk_errmsg());
	ok(!ldapt_user_exists(c, "alice") && !ldapt_group_exists(c, "alice"),
	   "nothing was created");
	s.n_ssh_keys = 0;
	r = cpk_ldap_user_add(c, &s, NULL, NULL);
	ok(r == CPK_OK, "add without keys works (%s)", ldapt_why(r));
	m.add_keys = keys;
	m.n_add_keys = 1;
	r = cpk_ldap_user_mod(c, "alice", &m);
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("openssh-lpk"),
	   "mod adding a key: %s", cpk_errmsg());
	cpk_buf_release(&report);
	cpk_ldap_close(c);

	/* a base the server does not hold */
	{
		struct cpk_ldap l = ldapt_cfg;

		l.base_dn = "dc=elsewhere,dc=org";
		c = ldapt_open(&l, &r);
		r = c ? cpk_ldap_create_tree(c, NULL) : r;
		ok(r == CPK_ERR_INVALID && ldapt_has_msg("dc=elsewhere,dc=org"),
		   "create_tree outside the server's suffix: %s", cpk_errmsg());
		cpk_ldap_close(c);
		l = ldapt_cfg;
		l.base_dn = "not a dn";
		c = ldapt_open(&l, &r);
		ok(r == CPK_ERR_CONFIG && !c, "base_dn that is not a DN: %s",
		   cpk_errmsg());
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int rc;

	ldapt_setup();
	if (!strcmp(mode, "main"))
		rc = run_main();
	else if (!strcmp(mode, "nolpk"))
		rc = run_nolpk();
	else {
		printf("Bail out! usage: ldap_accounts main|nolpk\n");
		rc = 1;
	}
	return rc ? rc : done_testing();
}
