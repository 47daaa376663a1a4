/*
 * cpk group add|del|show|list|add-member|remove-member: posixGroups in the
 * cluster's LDAP directory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acct.h"

enum { OPT_GID = 256, OPT_JSON, OPT_ROOT, OPT_FORCE };

static const struct cli_opt plain_opts[] = {
	{ "file", 'f', "FILE", "the description (default $CPK_CONFIG or " CPK_SYSCONFDIR "/clusterpack/cluster.yaml)" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_opt json_opts[] = {
	{ "file", 'f', "FILE", "the description (default $CPK_CONFIG or " CPK_SYSCONFDIR "/clusterpack/cluster.yaml)" },
	{ "json", OPT_JSON, NULL, "print JSON for scripts" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_opt add_opts[] = {
	{ "file", 'f', "FILE", "the description (default $CPK_CONFIG or " CPK_SYSCONFDIR "/clusterpack/cluster.yaml)" },
	{ "gid", OPT_GID, "N", "this gid (default: the next free one of users.gid_range)" },
	{ "root", OPT_ROOT, "DIR", "the control node's root: names and ids in DIR/etc/passwd and DIR/etc/group are refused (default $CPK_ROOT, else /)" },
	{ "force", OPT_FORCE, NULL, "take a --gid below users.gid_range, or a name of a local group (never a reserved name, a system or local gid)" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

/* Options shared by every group sub-command, into these. */
struct gargs {
	const char *path, *root;
	int json, force;
	uint64_t gid;
};

/* Parses V's options; -1 when done fine, else the exit code. */
static int parse(int argc, char **argv, const struct cli_verb *v,
		 struct gargs *a, int min_ops, int max_ops)
{
	int ch;

	memset(a, 0, sizeof(*a));
	while ((ch = cli_getopt(argc, argv, v)) != -1) {
		switch (ch) {
		case 'f':
			a->path = optarg;
			break;
		case OPT_JSON:
			a->json = 1;
			break;
		case OPT_ROOT:
			a->root = optarg;
			break;
		case OPT_FORCE:
			a->force = 1;
			break;
		case OPT_GID: {
			char *end;

			errno = 0;
			a->gid = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-' || !a->gid)
				return cli_usage_err(v, "--gid: '%s' is not a positive number",
						     optarg);
			break;
		}
		default:
			return cli_common_opt(ch, argv, v);
		}
	}
	if (argc - optind < min_ops)
		return cli_usage_err(v, "missing operand: %s", v->synopsis);
	if (max_ops >= 0 && argc - optind > max_ops)
		return cli_usage_err(v, "too many operands");
	return -1;
}

static int add_run(int argc, char **argv, const struct cli_verb *v)
{
	struct gargs a;
	struct cpk_model *m;
	struct cpk_ldap_conn *c;
	uint64_t gid = 0;
	int rc;

	if ((rc = parse(argc, argv, v, &a, 1, 1)) >= 0)
		return rc;
	if ((rc = acct_connect(a.path, &m, &c)) != EXIT_OK)
		return rc;
	if (cpk_name_check(argv[optind]) != CPK_OK ||
	    cpk_local_check(acct_root(a.root), CPK_ID_GID, argv[optind], a.gid,
			    &m->users.gid_range, a.force) != CPK_OK ||
	    cpk_ldap_group_add(c, argv[optind], a.gid, &gid) != CPK_OK)
		rc = acct_fail();
	else
		printf("added group %s (gid %" PRIu64 ")\n", argv[optind], gid);
	acct_disconnect(m, c);
	return acct_flush(rc);
}

static int del_run(int argc, char **argv, const struct cli_verb *v)
{
	struct gargs a;
	struct cpk_model *m;
	struct cpk_ldap_conn *c;
	int rc;

	if ((rc = parse(argc, argv, v, &a, 1, 1)) >= 0)
		return rc;
	if ((rc = acct_connect(a.path, &m, &c)) != EXIT_OK)
		return rc;
	if (cpk_ldap_group_del(c, argv[optind]) != CPK_OK)
		rc = acct_fail();
	else
		printf("deleted group %s\n", argv[optind]);
	acct_disconnect(m, c);
	return acct_flush(rc);
}

static void group_json(struct cpk_json *j, const struct cpk_group *g)
{
	cpk_json_obj(j);
	cpk_json_kstr(j, "name", g->name);
	cpk_json_ku64(j, "gid", g->gid);
	cpk_json_kstr(j, "dn", g->dn);
	cpk_json_kstr(j, "description", g->description);
	acct_json_strv(j, "members", g->members, g->n_members);
	cpk_json_end(j);
}

static void print_members(const struct cpk_group *g)
{
	size_t i;

	for (i = 0; i < g->n_members; i++)
		printf("%s%s", i ? "," : "", g->members[i]);
	putchar('\n');
}

static int show_run(int argc, char **argv, const struct cli_verb *v)
{
	struct gargs a;
	struct cpk_model *m;
	struct cpk_ldap_conn *c;
	struct cpk_group g = CPK_GROUP_INIT;
	int rc;

	if ((rc = parse(argc, argv, v, &a, 1, 1)) >= 0)
		return rc;
	if ((rc = acct_connect(a.path, &m, &c)) != EXIT_OK)
		return rc;
	if (cpk_ldap_group_show(c, argv[optind], &g) != CPK_OK) {
		rc = acct_fail();
	} else if (a.json) {
		struct cpk_buf b = CPK_BUF_INIT;
		struct cpk_json j;

		cpk_json_init(&j, &b);
		group_json(&j, &g);
		rc = acct_json_out(&j);
		cpk_buf_release(&b);
	} else {
		printf("name:        %s\ngid:         %" PRIu64 "\ndn:          %s\n"
		       "description: %s\nmembers:     ", g.name, g.gid, g.dn,
		       g.description ? g.description : "");
		print_members(&g);
	}
	cpk_group_release(&g);
	acct_disconnect(m, c);
	return acct_flush(rc);
}

struct list_state {
	struct cpk_json *j;	/* NULL: for people */
	size_t n;
};

static int list_cb(const struct cpk_group *g, void *arg)
{
	struct list_state *s = arg;

	s->n++;
	if (s->j) {
		group_json(s->j, g);
		return 0;
	}
	printf("%-20s %10" PRIu64 " ", g->name, g->gid);
	print_members(g);
	return ferror(stdout);	/* stop at a closed pipe */
}

static int list_run(int argc, char **argv, const struct cli_verb *v)
{
	struct gargs a;
	struct cpk_model *m;
	struct cpk_ldap_conn *c;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_json j;
	struct list_state s = { NULL, 0 };
	int rc;

	if ((rc = parse(argc, argv, v, &a, 0, 0)) >= 0)
		return rc;
	if ((rc = acct_connect(a.path, &m, &c)) != EXIT_OK)
		return rc;
	if (a.json) {
		cpk_json_init(&j, &b);
		cpk_json_arr(&j);
		s.j = &j;
	} else {
		printf("%-20s %10s %s\n", "GROUP", "GID", "MEMBERS");
	}
	if (cpk_ldap_group_list(c, list_cb, &s) != CPK_OK) {
		rc = acct_fail();
	} else if (a.json) {
		cpk_json_end(&j);
		rc = acct_json_out(&j);
	}
	cpk_buf_release(&b);
	acct_disconnect(m, c);
	return acct_flush(rc);
}

/* add-member / remove-member GROUP USER...: every user tried, each
 * reported; exit 1 if any failed. */
static int members_run(int argc, char **argv, const struct cli_verb *v)
{
	int add = !strcmp(acct_subname(v), "add-member");
	struct gargs a;
	struct cpk_model *m;
	struct cpk_ldap_conn *c;
	const char *group;
	int rc, i;

	if ((rc = parse(argc, argv, v, &a, 2, -1)) >= 0)
		return rc;
	if ((rc = acct_connect(a.path, &m, &c)) != EXIT_OK)
		return rc;
	group = argv[optind];
	for (i = optind + 1; i < argc; i++) {
		cpk_err_t r = add ? cpk_ldap_group_add_member(c, group, argv[i])
				  : cpk_ldap_group_remove_member(c, group, argv[i]);

		if (r != CPK_OK)
			rc = acct_fail();
		else
			printf("%s %s %s group %s\n", add ? "added" : "removed",
			       argv[i], add ? "to" : "from", group);
	}
	acct_disconnect(m, c);
	return acct_flush(rc);
}

static const struct cli_verb group_add = {
	"group add", "NAME [--gid N] [--force] [--root DIR] [-f FILE]",
	"Add a posixGroup (gid from users.gid_range unless --gid).", add_opts, add_run,
};
static const struct cli_verb group_del = {
	"group del", "NAME [-f FILE]",
	"Delete a group (refused while it is some user's primary group).",
	plain_opts, del_run,
};
static const struct cli_verb group_show = {
	"group show", "NAME [--json] [-f FILE]", "Show a group and its members.",
	json_opts, show_run,
};
static const struct cli_verb group_list = {
	"group list", "[--json] [-f FILE]", "List every group.", json_opts, list_run,
};
static const struct cli_verb group_add_member = {
	"group add-member", "GROUP USER... [-f FILE]",
	"Make existing users members of GROUP.", plain_opts, members_run,
};
static const struct cli_verb group_remove_member = {
	"group remove-member", "GROUP USER... [-f FILE]",
	"Remove users from GROUP.", plain_opts, members_run,
};

static const struct cli_verb *const subs[] = {
	&group_add, &group_del, &group_show, &group_list, &group_add_member,
	&group_remove_member,
};

static int run(int argc, char **argv, const struct cli_verb *v)
{
	return acct_dispatch(argc, argv, v, subs, sizeof(subs) / sizeof(subs[0]));
}

const struct cli_verb cli_group = {
	"group", "add|del|show|list|add-member|remove-member ...",
	"Manage the cluster's groups in LDAP.", NULL, run,
};
