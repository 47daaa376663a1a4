/*
 * cpk user add|mod|del|lock|unlock|show|list|import: accounts in the
 * cluster's LDAP directory, and their home directories.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acct.h"

enum {
	OPT_GECOS = 256, OPT_SHELL, OPT_GROUP, OPT_GROUPS, OPT_SSH_KEY, OPT_UID,
	OPT_PW_STDIN, OPT_NO_PW, OPT_NO_HOME, OPT_ADD_KEY, OPT_DEL_KEY,
	OPT_RM_HOME, OPT_JSON, OPT_ROOT, OPT_FORCE,
};

#define O_FILE { "file", 'f', "FILE", "the description (default $CPK_CONFIG or " CPK_SYSCONFDIR "/clusterpack/cluster.yaml)" }
#define O_HELP { "help", 'h', NULL, "show this help" }
#define O_END { NULL, 0, NULL, NULL }

static const struct cli_opt add_opts[] = {
	O_FILE,
	{ "gecos", OPT_GECOS, "TEXT", "full name[,room,phone,...] (default: the login name)" },
	{ "shell", OPT_SHELL, "PATH", "login shell (default: users.shell)" },
	{ "group", OPT_GROUP, "GROUP", "primary group (default: users.default_group, else a personal group)" },
	{ "groups", OPT_GROUPS, "G1,G2", "supplementary groups (must exist)" },
	{ "ssh-key", OPT_SSH_KEY, "FILE", "public keys, one per line (repeatable)" },
	{ "uid", OPT_UID, "N", "this uid (default: the next free one of users.uid_range)" },
	{ "password-stdin", OPT_PW_STDIN, NULL, "read the password from the first line of stdin" },
	{ "no-password", OPT_NO_PW, NULL, "set no password (the default: keys only)" },
	{ "no-home", OPT_NO_HOME, NULL, "do not create the home directory" },
	{ "root", OPT_ROOT, "DIR", "the control node's root: names and ids in DIR/etc/passwd and DIR/etc/group are refused (default $CPK_ROOT, else /)" },
	{ "force", OPT_FORCE, NULL, "take a --uid below users.uid_range (never a system or local one)" },
	O_HELP, O_END,
};

static const struct cli_opt mod_opts[] = {
	O_FILE,
	{ "gecos", OPT_GECOS, "TEXT", "new full name[,room,phone,...] (also cn, sn)" },
	{ "shell", OPT_SHELL, "PATH", "new login shell" },
	{ "group", OPT_GROUP, "GROUP", "new primary group (must exist)" },
	{ "add-ssh-key", OPT_ADD_KEY, "FILE", "add the public keys in FILE (repeatable)" },
	{ "remove-ssh-key", OPT_DEL_KEY, "FILE|FP", "remove the keys in FILE, or the key with fingerprint FP (SHA256:...; repeatable)" },
	{ "password-stdin", OPT_PW_STDIN, NULL, "set the password read from the first line of stdin" },
	O_HELP, O_END,
};

static const struct cli_opt del_opts[] = {
	O_FILE,
	{ "remove-home", OPT_RM_HOME, NULL, "also remove the home (only if the user owns it)" },
	O_HELP, O_END,
};

static const struct cli_opt plain_opts[] = { O_FILE, O_HELP, O_END };

static const struct cli_opt json_opts[] = {
	O_FILE,
	{ "json", OPT_JSON, NULL, "print JSON for scripts" },
	O_HELP, O_END,
};

struct uargs {
	const char *path, *gecos, *shell, *group, *root;
	char **groups, **keys, **del_keys, **del_fps;
	size_t n_groups, n_keys, n_del_keys, n_del_fps;
	uint64_t uid;
	int pw_stdin, no_pw, no_home, rm_home, json, force;
};

static void uargs_release(struct uargs *a)
{
	acct_strv_free(a->groups, a->n_groups);
	acct_strv_free(a->keys, a->n_keys);
	acct_strv_free(a->del_keys, a->n_del_keys);
	acct_strv_free(a->del_fps, a->n_del_fps);
}

/* Parses V's options and wants exactly NOPS operands; -1 when fine, else
 * the exit code (A is released then). */
static int parse(int argc, char **argv, const struct cli_verb *v,
		 struct uargs *a, int nops)
{
	int ch, rc = -1;

	memset(a, 0, sizeof(*a));
	while (rc < 0 && (ch = cli_getopt(argc, argv, v)) != -1) {
		switch (ch) {
		case 'f': a->path = optarg; break;
		case OPT_GECOS: a->gecos = optarg; break;
		case OPT_SHELL: a->shell = optarg; break;
		case OPT_GROUP: a->group = optarg; break;
		case OPT_PW_STDIN: a->pw_stdin = 1; break;
		case OPT_NO_PW: a->no_pw = 1; break;
		case OPT_NO_HOME: a->no_home = 1; break;
		case OPT_RM_HOME: a->rm_home = 1; break;
		case OPT_JSON: a->json = 1; break;
		case OPT_ROOT: a->root = optarg; break;
		case OPT_FORCE: a->force = 1; break;
		case OPT_GROUPS:
			if (acct_split(optarg, &a->groups, &a->n_groups) < 0) {
				cli_err("out of memory");
				rc = EXIT_FAIL;
			}
			break;
		case OPT_SSH_KEY:
		case OPT_ADD_KEY:
			rc = acct_read_keys(optarg, &a->keys, &a->n_keys) ? EXIT_FAIL : -1;
			break;
		case OPT_DEL_KEY:
			if (!strncmp(optarg, "SHA256:", 7)) {
				if (acct_strv_push(&a->del_fps, &a->n_del_fps, optarg,
						   strlen(optarg)) < 0) {
					cli_err("out of memory");
					rc = EXIT_FAIL;
				}
				break;
			}
			rc = acct_read_keys(optarg, &a->del_keys, &a->n_del_keys) ?
			     EXIT_FAIL : -1;
			break;
		case OPT_UID: {
			char *end;

			errno = 0;
			a->uid = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-' || !a->uid)
				rc = cli_usage_err(v, "--uid: '%s' is not a positive number",
						   optarg);
			break;
		}
		default:
			rc = cli_common_opt(ch, argv, v);
		}
	}
	if (rc < 0 && argc - optind != nops)
		rc = cli_usage_err(v, argc - optind < nops ? "missing operand: %s"
				   : "too many operands: %s", v->synopsis);
	if (rc < 0 && a->pw_stdin && a->no_pw)
		rc = cli_usage_err(v, "--password-stdin and --no-password exclude each other");
	if (rc >= 0)
		uargs_release(a);
	return rc;
}

static int add_run(int argc, char **argv, const struct cli_verb *v)
{
	struct uargs a;
	struct cpk_model *m = NULL;
	struct cpk_ldap_conn *c = NULL;
	struct cpk_user_spec s = { 0 };
	char *pw = NULL;
	uint64_t uid = 0, gid = 0;
	int rc;

	if ((rc = parse(argc, argv, v, &a, 1)) >= 0)
		return rc;
	s.name = argv[optind];
	if (cpk_name_check(s.name) != CPK_OK) {
		rc = acct_fail();
		goto out;
	}
	if (a.pw_stdin && (rc = acct_read_password(&pw)) != EXIT_OK)
		goto out;
	if ((rc = acct_connect(a.path, &m, &c)) != EXIT_OK)
		goto out;
	if (cpk_local_check(acct_root(a.root), CPK_ID_UID, s.name, a.uid,
			    &m->users.uid_range, a.force) != CPK_OK) {
		rc = acct_fail();
		goto out;
	}
	s.gecos = a.gecos;
	s.shell = a.shell;
	s.group = a.group;
	s.groups = (const char *const *)a.groups;
	s.n_groups = a.n_groups;
	s.ssh_keys = (const char *const *)a.keys;
	s.n_ssh_keys = a.n_keys;
	s.uid = a.uid;
	if (cpk_ldap_account_add(c, &m->users, &s, pw, !a.no_home, &uid, &gid) != CPK_OK) {
		rc = acct_fail();
		goto out;
	}
	printf("added user %s (uid %" PRIu64 ", gid %" PRIu64 ")", s.name, uid, gid);
	if (!a.no_home)
		printf(", home %s/%s", m->users.home_root, s.name);
	printf("%s\n", pw ? ", password set" : "");
out:
	acct_password_free(pw);
	uargs_release(&a);
	acct_disconnect(m, c);
	return acct_flush(rc);
}

/* Adds to A's del_keys the keys of user NAME whose fingerprints A names. */
static int keys_by_fingerprint(struct cpk_ldap_conn *c, const char *name,
			       struct uargs *a)
{
	struct cpk_user u = CPK_USER_INIT;
	struct cpk_buf fp = CPK_BUF_INIT;
	size_t i, k;
	int rc = EXIT_OK;

	if (cpk_ldap_user_show(c, name, &u) != CPK_OK) {
		rc = acct_fail();
		goto out;
	}
	for (i = 0; i < a->n_del_fps && rc == EXIT_OK; i++) {
		int found = 0;

		for (k = 0; k < u.n_ssh_keys; k++) {
			cpk_buf_reset(&fp);
			if (cpk_ssh_key_fingerprint(u.ssh_keys[k], &fp) != CPK_OK ||
			    strcmp(fp.buf, a->del_fps[i]))
				continue;
			found = 1;
			if (acct_strv_push(&a->del_keys, &a->n_del_keys, u.ssh_keys[k],
					   strlen(u.ssh_keys[k])) < 0) {
				cli_err("out of memory");
				rc = EXIT_FAIL;
			}
		}
		if (!found) {
			cli_err("user %s has no key with fingerprint %s", name,
				a->del_fps[i]);
			rc = EXIT_FAIL;
		}
	}
out:
	cpk_buf_release(&fp);
	cpk_user_release(&u);
	return rc;
}

static int mod_run(int argc, char **argv, const struct cli_verb *v)
{
	struct uargs a;
	struct cpk_model *m = NULL;
	struct cpk_ldap_conn *c = NULL;
	struct cpk_user_mod mod = { 0 };
	const char *name;
	char *pw = NULL;
	int rc;

	if ((rc = parse(argc, argv, v, &a, 1)) >= 0)
		return rc;
	name = argv[optind];
	mod.shell = a.shell;
	mod.gecos = a.gecos;
	mod.group = a.group;
	mod.add_keys = (const char *const *)a.keys;
	mod.n_add_keys = a.n_keys;
	if (!mod.shell && !mod.gecos && !mod.group && !mod.n_add_keys &&
	    !a.n_del_keys && !a.n_del_fps && !a.pw_stdin) {
		uargs_release(&a);
		return cli_usage_err(v, "nothing to change");
	}
	if (cpk_name_check(name) != CPK_OK) {
		rc = acct_fail();
		goto out;
	}
	if (a.pw_stdin && (rc = acct_read_password(&pw)) != EXIT_OK)
		goto out;
	if ((rc = acct_connect(a.path, &m, &c)) != EXIT_OK)
		goto out;
	if (a.n_del_fps && (rc = keys_by_fingerprint(c, name, &a)) != EXIT_OK)
		goto out;
	mod.del_keys = (const char *const *)a.del_keys;
	mod.n_del_keys = a.n_del_keys;
	if ((mod.shell || mod.gecos || mod.group || mod.n_add_keys || mod.n_del_keys) &&
	    cpk_ldap_user_mod(c, name, &mod) != CPK_OK) {
		rc = acct_fail();
		goto out;
	}
	if (pw && cpk_ldap_user_passwd(c, name, pw, NULL) != CPK_OK) {
		rc = acct_fail();
		goto out;
	}
	printf("modified user %s\n", name);
out:
	acct_password_free(pw);
	uargs_release(&a);
	acct_disconnect(m, c);
	return acct_flush(rc);
}

static int del_run(int argc, char **argv, const struct cli_verb *v)
{
	struct uargs a;
	struct cpk_model *m = NULL;
	struct cpk_ldap_conn *c = NULL;
	struct cpk_user u = CPK_USER_INIT;
	const char *name;
	int rc, home_gone = 0;

	if ((rc = parse(argc, argv, v, &a, 1)) >= 0)
		return rc;
	name = argv[optind];
	if ((rc = acct_connect(a.path, &m, &c)) != EXIT_OK)
		goto out;
	if (cpk_ldap_user_show(c, name, &u) != CPK_OK) {
		rc = acct_fail();
		goto out;
	}
	/* the home first: a refused home leaves the account as it was */
	if (a.rm_home) {
		cpk_err_t r = cpk_home_remove(&m->users, name, (uid_t)u.uid);

		if (r == CPK_ERR_NOTFOUND) {
			cli_err("%s (no home to remove)", cpk_errmsg());
		} else if (r != CPK_OK) {
			cli_err("%s; user %s not deleted", cpk_errmsg(), name);
			rc = EXIT_FAIL;
			goto out;
		} else {
			home_gone = 1;
		}
	}
	if (cpk_ldap_user_del(c, name) != CPK_OK) {
		rc = acct_fail();
		goto out;
	}
	printf("deleted user %s%s\n", name, home_gone ? " and its home" : "");
out:
	cpk_user_release(&u);
	uargs_release(&a);
	acct_disconnect(m, c);
	return acct_flush(rc);
}

static int lock_run(int argc, char **argv, const struct cli_verb *v)
{
	int lock = !strcmp(acct_subname(v), "lock");
	struct uargs a;
	struct cpk_model *m;
	struct cpk_ldap_conn *c;
	int rc;

	if ((rc = parse(argc, argv, v, &a, 1)) >= 0)
		return rc;
	if ((rc = acct_connect(a.path, &m, &c)) != EXIT_OK)
		return rc;
	if (cpk_ldap_user_lock(c, argv[optind], lock) != CPK_OK)
		rc = acct_fail();
	else
		printf("%s user %s\n", lock ? "locked" : "unlocked", argv[optind]);
	acct_disconnect(m, c);
	return acct_flush(rc);
}

/* WITH_GROUPS: user_show's supplementary groups (a listing has none). */
static void user_json(struct cpk_json *j, const struct cpk_user *u, int with_groups)
{
	cpk_json_obj(j);
	cpk_json_kstr(j, "name", u->name);
	cpk_json_ku64(j, "uid", u->uid);
	cpk_json_ku64(j, "gid", u->gid);
	cpk_json_kstr(j, "gecos", u->gecos);
	cpk_json_kstr(j, "cn", u->cn);
	cpk_json_kstr(j, "home", u->home);
	cpk_json_kstr(j, "shell", u->shell);
	cpk_json_kbool(j, "locked", u->locked);
	cpk_json_kstr(j, "dn", u->dn);
	if (with_groups)
		acct_json_strv(j, "groups", u->groups, u->n_groups);
	acct_json_strv(j, "ssh_keys", u->ssh_keys, u->n_ssh_keys);
	cpk_json_end(j);
}

static int show_run(int argc, char **argv, const struct cli_verb *v)
{
	struct uargs a;
	struct cpk_model *m;
	struct cpk_ldap_conn *c;
	struct cpk_user u = CPK_USER_INIT;
	size_t i;
	int rc;

	if ((rc = parse(argc, argv, v, &a, 1)) >= 0)
		return rc;
	if ((rc = acct_connect(a.path, &m, &c)) != EXIT_OK)
		return rc;
	if (cpk_ldap_user_show(c, argv[optind], &u) != CPK_OK) {
		rc = acct_fail();
	} else if (a.json) {
		struct cpk_buf b = CPK_BUF_INIT;
		struct cpk_json j;

		cpk_json_init(&j, &b);
		user_json(&j, &u, 1);
		rc = acct_json_out(&j);
		cpk_buf_release(&b);
	} else {
		printf("name:     %s\nuid:      %" PRIu64 "\ngid:      %" PRIu64 "\n"
		       "gecos:    %s\nhome:     %s\nshell:    %s\nlocked:   %s\n"
		       "dn:       %s\ngroups:   ", u.name, u.uid, u.gid,
		       u.gecos ? u.gecos : "", u.home ? u.home : "",
		       u.shell ? u.shell : "", u.locked ? "yes" : "no", u.dn);
		for (i = 0; i < u.n_groups; i++)
			printf("%s%s", i ? "," : "", u.groups[i]);
		printf("\nssh keys: %zu\n", u.n_ssh_keys);
		for (i = 0; i < u.n_ssh_keys; i++)
			printf("  %s\n", u.ssh_keys[i]);
	}
	cpk_user_release(&u);
	acct_disconnect(m, c);
	return acct_flush(rc);
}

static int list_cb(const struct cpk_user *u, void *arg)
{
	struct cpk_json *j = arg;

	if (j) {
		user_json(j, u, 0);
		return 0;
	}
	printf("%-20s %10" PRIu64 " %10" PRIu64 " %-6s %-16s %s\n", u->name,
	       u->uid, u->gid, u->locked ? "yes" : "no",
	       u->shell ? u->shell : "-", u->gecos ? u->gecos : "");
	return ferror(stdout);	/* stop at a closed pipe */
}

static int list_run(int argc, char **argv, const struct cli_verb *v)
{
	struct uargs a;
	struct cpk_model *m;
	struct cpk_ldap_conn *c;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_json j, *jp = NULL;
	int rc;

	if ((rc = parse(argc, argv, v, &a, 0)) >= 0)
		return rc;
	if ((rc = acct_connect(a.path, &m, &c)) != EXIT_OK)
		return rc;
	if (a.json) {
		cpk_json_init(&j, &b);
		cpk_json_arr(&j);
		jp = &j;
	} else {
		printf("%-20s %10s %10s %-6s %-16s %s\n", "USER", "UID", "GID",
		       "LOCKED", "SHELL", "GECOS");
	}
	if (cpk_ldap_user_list(c, NULL, list_cb, jp) != CPK_OK) {
		rc = acct_fail();
	} else if (jp) {
		cpk_json_end(jp);
		rc = acct_json_out(jp);
	}
	cpk_buf_release(&b);
	acct_disconnect(m, c);
	return acct_flush(rc);
}

static const struct cli_verb user_add = {
	"user add", "NAME [--gecos TEXT] [--shell PATH] [--group GROUP] [--groups G1,G2] "
	"[--ssh-key FILE] [--uid N [--force]] [--password-stdin | --no-password] [--no-home] [--root DIR] [-f FILE]",
	"Add a user (and its personal group and home), all or nothing.",
	add_opts, add_run,
};
static const struct cli_verb user_mod = {
	"user mod", "NAME [--gecos TEXT] [--shell PATH] [--group GROUP] "
	"[--add-ssh-key FILE] [--remove-ssh-key FILE|SHA256:FP] [--password-stdin] [-f FILE]",
	"Change a user.", mod_opts, mod_run,
};
static const struct cli_verb user_del = {
	"user del", "NAME [--remove-home] [-f FILE]",
	"Delete a user, its memberships and its personal group.", del_opts, del_run,
};
static const struct cli_verb user_lock = {
	"user lock", "NAME [-f FILE]",
	"Refuse the user's logins and binds (until unlock).", plain_opts, lock_run,
};
static const struct cli_verb user_unlock = {
	"user unlock", "NAME [-f FILE]", "Undo 'cpk user lock'.", plain_opts, lock_run,
};
static const struct cli_verb user_show = {
	"user show", "NAME [--json] [-f FILE]",
	"Show a user, its groups and keys.", json_opts, show_run,
};
static const struct cli_verb user_list = {
	"user list", "[--json] [-f FILE]", "List every user.", json_opts, list_run,
};

static const struct cli_verb *const subs[] = {
	&user_add, &user_mod, &user_del, &user_lock, &user_unlock, &user_show,
	&user_list, &acct_user_import,
};

static int run(int argc, char **argv, const struct cli_verb *v)
{
	return acct_dispatch(argc, argv, v, subs, sizeof(subs) / sizeof(subs[0]));
}

const struct cli_verb cli_user = {
	"user", "add|mod|del|lock|unlock|show|list|import ...",
	"Manage the cluster's user accounts in LDAP and their homes.", NULL, run,
};
