/*
 * cpk user import FILE: many users from a CSV file (header line first) or
 * a YAML list of mappings, parsed and checked by the library
 * (cpk/import.h).  All or nothing by default: one bad row and nothing is
 * written; a write that fails removes the users this run added.  With
 * --partial the good rows are added whatever the others do.  A user that
 * exists and matches its row is "existing", so re-running is safe.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk/fsutil.h"
#include "cpk/import.h"
#include "acct.h"

enum { OPT_NO_HOME = 256, OPT_ROOT, OPT_PARTIAL };

static const struct cli_opt opts[] = {
	{ "file", 'f', "FILE", "the description (default $CPK_CONFIG or " CPK_SYSCONFDIR "/clusterpack/cluster.yaml)" },
	{ "no-home", OPT_NO_HOME, NULL, "do not create home directories" },
	{ "partial", OPT_PARTIAL, NULL, "add the good rows even if others are bad or fail (default: all or nothing)" },
	{ "root", OPT_ROOT, "DIR", "the control node's root: names and ids in DIR/etc/passwd and DIR/etc/group are refused (default $CPK_ROOT, else /)" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

struct run {
	const char *path;
	struct cpk_import im;
	struct cpk_model *m;
	struct cpk_ldap_conn *c;
	int no_home, partial;
	size_t *added;		/* indexes of the rows this run added */
	size_t n_added, existing, failed;
};

/* Removes the users this run added (all-or-nothing after a failed
 * write); says what could not be removed. */
static void roll_back(struct run *ru)
{
	size_t i;

	for (i = ru->n_added; i-- > 0;) {
		const struct cpk_import_row *r = &ru->im.rows[ru->added[i]];
		const char *name = r->f[CPK_COL_NAME];
		struct cpk_user u = CPK_USER_INIT;

		if (cpk_ldap_user_show(ru->c, name, &u) != CPK_OK ||
		    (!ru->no_home &&
		     cpk_home_remove(&ru->m->users, name, (uid_t)u.uid) != CPK_OK) ||
		    cpk_ldap_user_del(ru->c, name) != CPK_OK)
			cli_err("%s:%lu: undoing %s: %s", ru->path, r->line, name,
				cpk_errmsg());
		else
			printf("removed %s again\n", name);
		cpk_user_release(&u);
	}
	ru->n_added = 0;
}

static int add_rows(struct run *ru)
{
	size_t i;

	if (!(ru->added = calloc(ru->im.n + 1, sizeof(*ru->added)))) {
		cli_err("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < ru->im.n; i++) {
		const struct cpk_import_row *r = &ru->im.rows[i];
		struct cpk_user_spec s;
		uint64_t uid = 0, gid = 0;

		if (r->err)
			continue;
		if (r->exists) {
			printf("exists %s\n", r->f[CPK_COL_NAME]);
			ru->existing++;
			continue;
		}
		cpk_import_row_spec(r, &s);
		if (cpk_ldap_account_add(ru->c, &ru->m->users, &s, NULL,
					 !ru->no_home, &uid, &gid) == CPK_OK) {
			printf("added %s (uid %" PRIu64 ")\n", s.name, uid);
			ru->added[ru->n_added++] = i;
			continue;
		}
		fprintf(stderr, "cpk: %s:%lu: %s\n", ru->path, r->line, cpk_errmsg());
		ru->failed++;
		if (!ru->partial) {
			roll_back(ru);
			return EXIT_FAIL;
		}
	}
	return ru->failed ? EXIT_FAIL : EXIT_OK;
}

static int run(int argc, char **argv, const struct cli_verb *v)
{
	const char *cfg = NULL, *root = NULL;
	struct run ru = { 0 };
	struct cpk_buf text = CPK_BUF_INIT;
	size_t i, bad;
	int ch, rc;

	while ((ch = cli_getopt(argc, argv, v)) != -1) {
		if (ch == 'f')
			cfg = optarg;
		else if (ch == OPT_NO_HOME)
			ru.no_home = 1;
		else if (ch == OPT_PARTIAL)
			ru.partial = 1;
		else if (ch == OPT_ROOT)
			root = optarg;
		else
			return cli_common_opt(ch, argv, v);
	}
	if (argc - optind != 1)
		return cli_usage_err(v, "give one file of users");
	ru.path = argv[optind];
	if (cpk_read_file(ru.path, &text, 64 << 20) != CPK_OK ||
	    cpk_import_parse(&ru.im, ru.path, text.buf, text.len) != CPK_OK) {
		rc = acct_fail();
		goto out;
	}
	if ((rc = acct_connect(cfg, &ru.m, &ru.c)) != EXIT_OK)
		goto out;
	bad = cpk_import_check(ru.c, acct_root(root), &ru.m->users.uid_range,
			       &ru.im);
	for (i = 0; i < ru.im.n; i++)
		if (ru.im.rows[i].err)
			fprintf(stderr, "cpk: %s:%lu: %s\n", ru.path,
				ru.im.rows[i].line, ru.im.rows[i].err);
	ru.failed = bad;
	if (bad && !ru.partial) {
		printf("%s: nothing added: %zu bad row%s (--partial adds the "
		       "good ones)\n", ru.path, bad, bad == 1 ? "" : "s");
		rc = EXIT_FAIL;
		goto out;
	}
	rc = add_rows(&ru);
	if (rc != EXIT_OK && !ru.partial && ru.failed > bad)
		printf("%s: nothing added: a write failed and the users added "
		       "before it were removed\n", ru.path);
	else
		printf("%s: added %zu, existing %zu, failed %zu\n", ru.path,
		       ru.n_added, ru.existing, ru.failed);
out:
	free(ru.added);
	cpk_buf_release(&text);
	cpk_import_release(&ru.im);
	acct_disconnect(ru.m, ru.c);
	return acct_flush(rc);
}

const struct cli_verb acct_user_import = {
	"user import", "FILE [--partial] [--no-home] [--root DIR] [-f FILE]",
	"Add the users of a CSV (header line: " CPK_IMPORT_COLUMNS ") or YAML "
	"(a list of mappings) file: every row is checked first, and one bad "
	"row adds nobody unless --partial; safe to re-run.",
	opts, run,
};
