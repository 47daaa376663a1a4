/* cpk apply --role control|compute [--node NAME] [--root DIR] [--dry-run] ...:
 * wiring of lib/apply (order: include/cpk/apply.h) and its printing. */
#include <stdio.h>
#include <string.h>

#include "cpk/apply.h"
#include "cpk/fsutil.h"
#include "cpk/munge.h"
#include "cli.h"

enum { OPT_ROLE = 256, OPT_NODE, OPT_ROOT, OPT_DRY, OPT_NOPKG, OPT_KEY, OPT_LIST };

static const struct cli_opt opts[] = {
	{ "file", 'f', "FILE", "the description (default $CPK_CONFIG or " CPK_SYSCONFDIR "/clusterpack/cluster.yaml)" },
	{ "role", OPT_ROLE, "ROLE", "control or compute (required)" },
	{ "node", OPT_NODE, "NAME", "the node applied to (compute: which one)" },
	{ "root", OPT_ROOT, "DIR", "apply into DIR instead of / (tests, images): packages only checked against DIR's dpkg status, services only named" },
	{ "dry-run", OPT_DRY, NULL, "print a unified diff of what would change, the packages it would install and the service actions; touch nothing" },
	{ "no-packages", OPT_NOPKG, NULL, "do not check or install the role's packages" },
	{ "munge-key", OPT_KEY, "FILE", "compute: install this munge key (the control node's)" },
	{ "list-packages", OPT_LIST, NULL, "print the role's Debian packages, one per line (needs no description, so not ldap-account-manager, which ldap.lam_profile adds)" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

struct args {
	const char *path, *role_s, *node, *root, *key;
	int dry, nopkg, list;
};

static void list_changes(const struct cpk_apply_plan *p, int dry)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct cpk_apply_item *it = &p->items[i];

		if (it->state == CPK_APPLY_UNCHANGED)
			continue;
		printf("%s%-9s %s", dry ? "would write " : "", it->meta_only ? "mode" :
		       cpk_apply_state_name(it->state), it->path);
		if (it->backup)
			printf(" (backed up to %s)", it->backup);
		else if (it->backup_kept)
			printf(" (%s.cpk-orig already kept the original)", it->path);
		else if (dry && it->state == CPK_APPLY_FOREIGN)
			printf(" (would back up to %s.cpk-orig)", it->path);
		putchar('\n');
		/* made here, not taken from the description: loudly */
		if (it->note && it->state == CPK_APPLY_NEW)
			printf("NOTE: %s: %s\n", it->path, it->note);
	}
	if (p->ldap_db_missing)
		printf("%s/var/lib/ldap (slapd's database directory, 0700)\n",
		       dry ? "would create " : "created   ");
	if (p->pam_sss_missing)
		puts("WARNING: /etc/pam.d/common-account has no pam_sss: sshd will not ask sssd "
		     "whether an LDAP account is locked, so a locked user with a key still logs in; "
		     "install libpam-sss (its pam-auth-update profile adds it)");
}

/* The control role's key is made here once; a compute node's comes in. */
static int munge_key(struct cpk_apply_plan *p, const struct args *a, int *changes)
{
	int present = 0, created = 0;

	if (a->key)
		return EXIT_OK;	/* an item of the plan */
	if (cpk_apply_munge_key_present(p, &present) != CPK_OK) {
		cli_err("%s", cpk_errmsg());
		return EXIT_FAIL;
	}
	if (present)
		return EXIT_OK;
	if (p->role == CPK_ROLE_COMPUTE) {
		printf("munge key %s: missing, left alone (give the control node's with --munge-key FILE)\n",
		       p->munge_key);
		return EXIT_OK;
	}
	if (a->dry) {
		printf("would create the munge key %s\n", p->munge_key);
		return EXIT_OK;
	}
	if (cpk_apply_munge_key(p, &created) != CPK_OK) {
		cli_err("%s", cpk_errmsg());
		return EXIT_FAIL;
	}
	printf("created   %s (munge key, 0400)\n", p->munge_key);
	(*changes)++;
	return EXIT_OK;
}

static void print_names(const char *label, const struct cpk_apply_pkgs *pk, int installed)
{
	size_t i;

	printf("packages: %s:", label);
	for (i = 0; i < pk->n; i++)
		if (pk->installed[i] == installed)
			printf(" %s", pk->names[i]);
	putchar('\n');
}

/* Step 1 (before the files: see apply.h): *INSTALLED set when apt-get ran. */
static int packages(const struct cpk_model *m, enum cpk_role role, const struct args *a,
		    int *installed)
{
	struct cpk_apply_pkgs pk;
	int live = cpk_apply_is_live(a->root);

	*installed = 0;
	if (a->nopkg)
		return EXIT_OK;
	if (cpk_apply_packages_check(m, role, a->root, &pk) != CPK_OK) {
		cli_err("%s", cpk_errmsg());
		return EXIT_FAIL;
	}
	if (pk.no_status)
		printf("packages: %s has no /var/lib/dpkg/status: none counted as installed\n",
		       a->root);
	if (pk.n_missing < pk.n)
		print_names("already installed", &pk, 1);
	if (!pk.n_missing)
		return EXIT_OK;
	if (a->dry || !live) {
		print_names(live ? "would install" : "would install (--root is not /: not installed)",
			    &pk, 0);
		return EXIT_OK;
	}
	print_names("installing (apt-get)", &pk, 0);
	fflush(stdout);
	if (cpk_apply_packages_install(&pk, a->root) != CPK_OK) {
		cli_err("%s", cpk_errmsg());
		return EXIT_FAIL;
	}
	print_names("installed", &pk, 0);
	*installed = 1;
	return EXIT_OK;
}

/* Step 4: *SLAPD set when slapd runs after it (started, restarted or
 * left running by this run). */
static int services(const struct cpk_apply_plan *p, const struct args *a, int *slapd)
{
	struct cpk_apply_svcs s;
	size_t i;
	int rc = EXIT_OK;

	*slapd = 0;
	if (cpk_apply_services_list(p, &s) != CPK_OK) {
		cli_err("%s", cpk_errmsg());
		return EXIT_FAIL;
	}
	if (!cpk_apply_systemd_runs(a->root)) {
		fputs("services: systemd does not run here (or --root is not /): not started; would start:",
		      stdout);
		for (i = 0; i < s.n; i++)
			printf(" %s%s", s.v[i].name, s.v[i].changed ? " (restart: its files change)" : "");
		putchar('\n');
		return EXIT_OK;
	}
	if (cpk_apply_services_query(a->root, &s) != CPK_OK ||
	    (!a->dry && cpk_apply_services_run(a->root, &s) != CPK_OK)) {
		cli_err("%s", cpk_errmsg());
		rc = EXIT_FAIL;	/* the services done so far are listed */
	}
	for (i = 0; i < s.n; i++) {
		const struct cpk_apply_svc *v = &s.v[i];

		if (!a->dry && !v->done)
			continue;
		printf("service %-18s %s%s%s\n", v->name, a->dry ? "would " : "",
		       v->action == CPK_APPLY_SVC_NONE ? "leave running (nothing changed)" :
		       cpk_apply_svc_action_name(v->action),
		       v->enable ? (a->dry ? ", enable" : ", enabled") : "");
		if (!a->dry && !strcmp(v->name, "slapd"))
			*slapd = 1;	/* (re)started now, or running */
	}
	return rc;
}

/* Step 5: the account tree once slapd runs (idempotent: a run that finds
 * it complete says so, one after a half-done run completes it). */
static int ldap_tree(const struct cpk_model *m, int slapd)
{
	struct cpk_buf report = CPK_BUF_INIT;
	int rc = EXIT_OK;

	if (!slapd) {
		puts("ldap: run cpk ldap init once slapd runs (apply did not run it)");
		return EXIT_OK;
	}
	if (cpk_apply_ldap_tree(m, 15000, &report) != CPK_OK) {
		cli_err("the LDAP tree: %s", cpk_errmsg());
		rc = EXIT_FAIL;
	}
	fputs(report.buf, stdout);	/* "created DN" lines, also before a failure */
	if (rc == EXIT_OK && !report.len)
		puts("ldap: the tree is complete");
	cpk_buf_release(&report);
	return rc;
}

static int apply(const struct cpk_model *m, enum cpk_role role, const struct args *a,
		 const struct cpk_apply_opts *o)
{
	struct cpk_apply_plan p = CPK_APPLY_PLAN_INIT;
	struct cpk_buf diff = CPK_BUF_INIT;
	int rc = EXIT_OK, changes, installed = 0, slapd = 0;

	/* a first plan checks the description and the root before apt-get runs;
	 * it is made again after packages wrote files (they become foreign) */
	if (cpk_apply_plan(m, role, a->node, a->root, o, &p) != CPK_OK) {
		cli_err("%s", cpk_errmsg());
		return EXIT_FAIL;
	}
	if ((rc = packages(m, role, a, &installed)) != EXIT_OK)
		goto out;
	if (installed) {
		cpk_apply_plan_release(&p);
		if (cpk_apply_plan(m, role, a->node, a->root, o, &p) != CPK_OK) {
			cli_err("%s", cpk_errmsg());
			rc = EXIT_FAIL;
			goto out;
		}
	}
	changes = (int)p.n_changes;
	if (a->dry) {
		if (cpk_apply_diff(&p, &diff) != CPK_OK) {
			cli_err("%s", cpk_errmsg());
			rc = EXIT_FAIL;
			goto out;
		}
		fputs(diff.buf, stdout);
		list_changes(&p, 1);
	} else if (cpk_apply_install(&p) != CPK_OK) {
		list_changes(&p, 0);	/* what was written before the failure */
		cli_err("%s", cpk_errmsg());
		rc = EXIT_FAIL;
		goto out;
	} else {
		list_changes(&p, 0);
	}
	if ((rc = munge_key(&p, a, &changes)) != EXIT_OK)
		goto out;
	if (!changes)
		puts("nothing to change");
	if ((rc = services(&p, a, &slapd)) == EXIT_OK && role == CPK_ROLE_CONTROL && m->ldap.present)
		rc = ldap_tree(m, slapd);
out:
	cpk_buf_release(&diff);
	cpk_apply_plan_release(&p);
	return rc;
}

static int run(int argc, char **argv, const struct cli_verb *v)
{
	struct args a = { NULL, NULL, NULL, "/", NULL, 0, 0, 0 };
	struct cpk_apply_opts o = { NULL, 0 };
	struct cpk_buf key = CPK_BUF_INIT;
	struct cpk_model *m = NULL;
	enum cpk_role role;
	int c, rc;

	while ((c = cli_getopt(argc, argv, v)) != -1) {
		switch (c) {
		case 'f': a.path = optarg; break;
		case OPT_ROLE: a.role_s = optarg; break;
		case OPT_NODE: a.node = optarg; break;
		case OPT_ROOT: a.root = optarg; break;
		case OPT_DRY: a.dry = 1; break;
		case OPT_NOPKG: a.nopkg = 1; break;
		case OPT_KEY: a.key = optarg; break;
		case OPT_LIST: a.list = 1; break;
		default: return cli_common_opt(c, argv, v);
		}
	}
	if ((rc = cli_file_operand(argc, argv, v, &a.path)) != EXIT_OK)
		return rc;
	if (!a.role_s)
		return cli_usage_err(v, "--role control|compute is required");
	if (cpk_role_parse(a.role_s, &role) != CPK_OK)
		return cli_usage_err(v, "%s", cpk_errmsg());
	if (a.list) {	/* the image build's question: no description yet */
		const char *const *p;

		if (a.path || a.node || a.key || a.dry || a.nopkg || strcmp(a.root, "/"))
			return cli_usage_err(v, "--list-packages takes only --role");
		for (p = cpk_apply_packages(role); *p; p++)
			puts(*p);
		return EXIT_OK;
	}
	if (!*a.root)
		return cli_usage_err(v, "--root needs a directory");
	if (a.key && role != CPK_ROLE_COMPUTE)
		return cli_usage_err(v, "--munge-key is for the compute role (control makes the key)");
	if (a.key && (cpk_munge_key_check(a.key) != CPK_OK ||
		      cpk_read_file(a.key, &key, 1 << 20) != CPK_OK)) {
		cli_err("%s", cpk_errmsg());
		rc = EXIT_FAIL;
		goto out;
	}
	if (a.key) {
		o.munge_key_data = (const unsigned char *)key.buf;
		o.munge_key_len = key.len;
	}
	if ((rc = cli_load_model(a.path, &m)) == EXIT_OK)
		rc = apply(m, role, &a, &o);
out:
	if (key.alloc)
		memset(key.buf, 0, key.len);
	cpk_buf_release(&key);
	cpk_model_free(m);
	return rc;
}

const struct cli_verb cli_apply = {
	"apply", "[-f FILE | FILE] --role control|compute [--node NAME] [--root DIR] [--dry-run] [--no-packages] [--munge-key FILE]\n"
	"       cpk apply --role control|compute --list-packages",
	"Make this system (or DIR) a node of ROLE: install its missing packages (apt-get), its files (atomically, idempotently), enable and (re)start its services under systemd, and on the control node the LDAP tree once slapd runs.",
	opts, run,
};
