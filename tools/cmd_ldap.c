/* cpk ldap init [-f FILE]: the account tree on an empty directory. */
#include <stdio.h>

#include "acct.h"

static const struct cli_opt init_opts[] = {
	{ "file", 'f', "FILE", "the description (its ldap and users sections)" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static int init_run(int argc, char **argv, const struct cli_verb *v)
{
	const char *path = NULL;
	struct cpk_model *m;
	struct cpk_ldap_conn *c;
	struct cpk_buf report = CPK_BUF_INIT;
	int ch, rc;

	while ((ch = cli_getopt(argc, argv, v)) != -1) {
		if (ch != 'f')
			return cli_common_opt(ch, argv, v);
		path = optarg;
	}
	if (optind < argc)
		return cli_usage_err(v, "no operands expected");
	if ((rc = acct_connect(path, &m, &c)) != EXIT_OK)
		return rc;
	if (cpk_ldap_create_tree(c, &report) != CPK_OK) {
		rc = acct_fail();
		if (report.len)
			fputs(report.buf, stdout);	/* what was made before */
	} else if (report.len) {
		fputs(report.buf, stdout);
	} else {
		printf("%s: nothing to do (the tree is complete)\n",
		       cpk_ldap_base_dn(c));
	}
	cpk_buf_release(&report);
	acct_disconnect(m, c);
	return acct_flush(rc);
}

static const struct cli_verb ldap_init = {
	"ldap init", "[-f FILE]",
	"Create the base entry, People and Groups and the id pool (idempotent).",
	init_opts, init_run,
};

static const struct cli_verb *const subs[] = { &ldap_init };

static int run(int argc, char **argv, const struct cli_verb *v)
{
	return acct_dispatch(argc, argv, v, subs, sizeof(subs) / sizeof(subs[0]));
}

const struct cli_verb cli_ldap = {
	"ldap", "init [-f FILE]",
	"Prepare the cluster's LDAP directory for accounts.",
	NULL, run,
};
