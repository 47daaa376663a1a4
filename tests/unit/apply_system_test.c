/*
 * Unit tests for lib/apply's packages and services: the dpkg status parser
 * on hostile input (huge lines, missing fields, half-installed states, no
 * trailing newline, NULs, repeated fields), the role's package list, the
 * service action planning, the checked root's status file, and the
 * command runner (argv, input, captured output, exit status).  Nothing here
 * runs apt-get or systemctl.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/apply/apply_priv.h"
#include "tap.h"

static const char *const names[] = { "munge", "slapd", "sssd-ldap", "libnss-sss", "ssh" };
#define N (sizeof(names) / sizeof(names[0]))

/* The installed flags of NAMES for TEXT[0..LEN) as "10010". */
static const char *flags(const char *text, size_t len)
{
	static char s[N + 1];
	int inst[N];
	size_t i;

	cpk_apply_dpkg_installed(text, len, names, N, inst);
	for (i = 0; i < N; i++)
		s[i] = inst[i] ? '1' : '0';
	s[N] = 0;
	return s;
}
#define FLAGS(lit) flags(lit, sizeof(lit) - 1)

static void parser(void)
{
	struct cpk_buf big = CPK_BUF_INIT;
	size_t i;

	is_str(FLAGS(""), "00000", "empty status: nothing installed");
	is_str(FLAGS("Package: munge\nStatus: install ok installed\nVersion: 1\n\n"
		     "Package: slapd\nStatus: install ok installed\n"),
	       "11000", "two stanzas, the last without a trailing newline");
	is_str(FLAGS("Package: munge\nStatus: install ok installed"), "10000",
	       "no newline at all");
	is_str(FLAGS("Status: install ok installed\nPackage: ssh\n"), "00001",
	       "fields in any order");
	is_str(FLAGS("Package: munge\nStatus: install ok half-installed\n\n"
		     "Package: slapd\nStatus: install ok unpacked\n\n"
		     "Package: sssd-ldap\nStatus: deinstall ok config-files\n\n"
		     "Package: libnss-sss\nStatus: install reinstreq half-installed\n\n"
		     "Package: ssh\nStatus: purge ok not-installed\n"),
	       "00000", "half-installed, unpacked, config-files, reinstreq, not-installed: not installed");
	is_str(FLAGS("Package: munge\nStatus: hold ok installed\n\n"
		     "Package: ssh\nStatus:   install   ok   installed  \r\n"),
	       "10001", "held is installed; blanks and a CR around the words");
	is_str(FLAGS("Package: munge\nStatus: install ok installed extra\n\n"
		     "Package: slapd\nStatus: install ok\n\n"
		     "Package: ssh\nStatus: ok installed\n"),
	       "00000", "a status of other than three words is not installed");
	is_str(FLAGS("Package: munge\n\nStatus: install ok installed\n"), "00000",
	       "Package and Status in different stanzas: nothing");
	is_str(FLAGS("Package: munge\n \t \nStatus: install ok installed\n"), "00000",
	       "a blank line of spaces ends a stanza too");
	is_str(FLAGS("Package: slapd\nStatus: install ok installed\n"
		     "Package: munge\n\n"), "00000",
	       "a repeated Package field spoils the stanza");
	is_str(FLAGS("Package: munge\nStatus: deinstall ok config-files\nStatus: install ok installed\n"),
	       "00000", "a repeated Status field spoils the stanza");
	is_str(FLAGS("Package: munge\nDescription: x\n Package: slapd\n Status: install ok installed\n"
		     "Status: install ok installed\n"),
	       "10000", "continuation lines are not fields");
	is_str(FLAGS("Package: mungefoo\nStatus: install ok installed\n\n"
		     "Package: mung\nStatus: install ok installed\n\n"
		     "Package: munge:amd64\nStatus: install ok installed\n"),
	       "00000", "names match whole, not as prefixes");
	is_str(FLAGS("package: munge\nSTATUS: install ok installed\n"), "10000",
	       "field names are case-insensitive (deb822)");
	is_str(FLAGS("Package: munge\nStatus: install ok installed\0\n"), "00000",
	       "a NUL byte spoils the stanza");
	is_str(FLAGS("Package munge\nStatus install ok installed\n:\n\n\n\n"), "00000",
	       "lines without a colon are ignored");
	is_str(FLAGS("Package: munge\nStatus: install ok installed\n\nPackage: munge\nStatus: install ok not-installed\n"),
	       "10000", "a second stanza of the same name (another arch) does not undo the first");

	/* a 4 MiB line, then a stanza: nothing overflows, the stanza is read */
	cpk_buf_addstr(&big, "Package: slapd\nDescription: ");
	for (i = 0; i < (4u << 20); i++)
		cpk_buf_addch(&big, 'x');
	cpk_buf_addstr(&big, "\nStatus: install ok installed\n\nPackage: ");
	for (i = 0; i < (1u << 20); i++)
		cpk_buf_addch(&big, 'y');
	cpk_buf_addstr(&big, "\nStatus: install ok installed\n\nPackage: ssh\nStatus: install ok installed");
	ok(!cpk_buf_failed(&big), "built a 5 MiB status");
	is_str(flags(big.buf, big.len), "01001", "huge lines: read past, the stanzas still found");
	cpk_buf_release(&big);
}

static void put(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(s, f) < 0 || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void check_root(void)
{
	char root[] = "/tmp/cpk-apply-sys.XXXXXX", path[256], cmd[300];
	struct cpk_apply_pkgs pk;
	size_t i;

	if (!mkdtemp(root)) {
		printf("Bail out! mkdtemp\n");
		exit(1);
	}
	ok(cpk_apply_packages_check(NULL, CPK_ROLE_COMPUTE, root, &pk) == CPK_OK, "check an empty root");
	ok(pk.no_status && pk.n_missing == pk.n && pk.n > 0, "no status file: all %zu missing", pk.n);
	snprintf(path, sizeof(path), "%s/var/lib/dpkg", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", path);
	ok(system(cmd) == 0, "make var/lib/dpkg");
	snprintf(path, sizeof(path), "%s/var/lib/dpkg/status", root);
	put(path, "Package: munge\nStatus: install ok installed\n\nPackage: slurmd\nStatus: install ok unpacked\n");
	ok(cpk_apply_packages_check(NULL, CPK_ROLE_COMPUTE, root, &pk) == CPK_OK, "check a root with a status");
	for (i = 0; i < pk.n && strcmp(pk.names[i], "munge"); i++)
		;
	ok(!pk.no_status && i < pk.n && pk.installed[i] && pk.n_missing == pk.n - 1,
	   "munge installed, the rest (unpacked slurmd too) missing");
	unlink(path);
	ok(symlink("/var/lib/dpkg/status", path) == 0, "plant status -> the machine's");
	ok(cpk_apply_packages_check(NULL, CPK_ROLE_COMPUTE, root, &pk) != CPK_OK &&
	   strstr(cpk_errmsg(), "symbolic link"), "a symlinked status file is refused: %s", cpk_errmsg());
	ok(cpk_apply_packages_install(&pk, root) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "is not this system's /"), "installing into a root that is not / is refused");
	ok(!cpk_apply_is_live(root) && cpk_apply_is_live("/") && !cpk_apply_systemd_runs(root),
	   "a scratch root is not live; / is");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		exit(1);
}

static void planning(void)
{
	struct cpk_apply_plan p = CPK_APPLY_PLAN_INIT;
	struct cpk_apply_svcs s;
	const char *v[CPK_APPLY_MAX_PACKAGES];
	struct cpk_model m;
	size_t n;

	is_int(cpk_apply_svc_decide(0, 0, 0), CPK_APPLY_SVC_START, "not running: start");
	is_int(cpk_apply_svc_decide(0, 1, 1), CPK_APPLY_SVC_START, "not running, files changed: start");
	is_int(cpk_apply_svc_decide(1, 1, 0), CPK_APPLY_SVC_RESTART, "running, changed: restart");
	is_int(cpk_apply_svc_decide(1, 1, 1), CPK_APPLY_SVC_RELOAD, "running, changed, reloads: reload");
	is_int(cpk_apply_svc_decide(1, 0, 0), CPK_APPLY_SVC_NONE, "running, unchanged: nothing");
	is_str(cpk_apply_svc_action_name(CPK_APPLY_SVC_RELOAD), "reload", "action names");

	p.role = CPK_ROLE_CONTROL;	/* no items: nothing changed */
	ok(cpk_apply_services_list(&p, &s) == CPK_OK, "services listed");
	ok(s.n == 6 && !strcmp(s.v[0].name, "munge") && !strcmp(s.v[1].name, "slapd") &&
	   !strcmp(s.v[5].name, "slurmctld"), "control services in start order");
	ok(s.v[2].reload && !strcmp(s.v[2].name, "nfs-kernel-server") && !s.v[1].reload &&
	   s.v[0].action == CPK_APPLY_SVC_START && !s.v[1].changed,
	   "nfs reloads (exportfs -r), slapd restarts; all to start before a query");
	ok(cpk_apply_services_query("/nonexistent", &s) == CPK_ERR_INVALID &&
	   cpk_apply_services_run("/nonexistent", &s) == CPK_ERR_INVALID,
	   "query and run refuse a root that is not live under systemd");

	memset(&m, 0, sizeof(m));
	n = cpk_apply_role_packages(&m, CPK_ROLE_CONTROL, v);
	ok(n > 0 && strcmp(v[n - 1], "ldap-account-manager"), "control without LAM: no ldap-account-manager");
	m.ldap.present = 1;
	m.ldap.lam_profile = "mdx";
	n = cpk_apply_role_packages(&m, CPK_ROLE_CONTROL, v);
	is_str(n ? v[n - 1] : NULL, "ldap-account-manager", "control with ldap.lam_profile: LAM added");
	n = cpk_apply_role_packages(&m, CPK_ROLE_COMPUTE, v);
	ok(n > 0 && strcmp(v[n - 1], "ldap-account-manager"), "compute: never LAM");
}

static void runner(void)
{
	struct cpk_buf out = CPK_BUF_INIT;
	char *sh[] = { "/bin/sh", "-c", "read x; echo \"got $x\"; echo err >&2; echo $DEBIAN_FRONTEND; exit 3", NULL };
	char *missing[] = { "/nonexistent/apt-get", NULL };
	int st;

	ok(apply_run(sh, "hello\n", &out, &st) == CPK_OK && st == 3, "runs argv, exit status 3");
	is_str(out.buf, "got hello\nerr\nnoninteractive\n", "input given; stdout and stderr captured; environment set");
	is_str(apply_tail(&out, 2), "err\nnoninteractive\n", "the last lines");
	cpk_buf_reset(&out);
	{
		char *loud[] = { "/bin/sh", "-c", "i=0; while [ $i -lt 40000 ]; do echo line$i; i=$((i + 1)); done; echo E: the end", NULL };

		ok(apply_run(loud, NULL, &out, &st) == CPK_OK && st == 0, "a command with 400 KiB of output");
		ok(out.len <= (256u << 10) && out.len >= (128u << 10), "  at most 256 KiB kept (%zu)", out.len);
		is_str(apply_tail(&out, 2), "line39999\nE: the end\n", "  its end kept (where errors are)");
	}
	cpk_buf_reset(&out);
	ok(apply_run(missing, NULL, &out, &st) == CPK_ERR_NOTFOUND && st == 127,
	   "a missing program: CPK_ERR_NOTFOUND");
	cpk_buf_release(&out);
}

int main(void)
{
	parser();
	check_root();
	planning();
	runner();
	return done_testing();
}
