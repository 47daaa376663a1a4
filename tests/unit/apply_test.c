/*
 * Unit tests for lib/apply: the plan's targets, modes and states; install
 * then a second plan with nothing to change; a foreign file backed up once;
 * a changed file shown by cpk_apply_diff; symlinks refused at plan time;
 * the package and service tables.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "cpk/apply.h"

static const char yaml[] =
	"cluster: {name: t}\n"
	"control: {name: head, address: 10.0.0.1}\n"
	"nodes:\n  - names: c[1-2]\n    addresses: 10.0.0.[11-12]\n    cpus: 4\n"
	"partitions:\n  - {name: p, nodes: ALL, default: true, max_time: '1:00:00'}\n"
	"filesystems:\n  - {name: home, export: /home, clients: [10.0.0.0/24]}\n"
	"ldap: {uri: 'ldap://head/', base_dn: 'dc=t'}\n";

static void put(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(s, f) < 0 || fclose(f)) {
		perror(path);
		exit(1);
	}
}

int main(void)
{
	struct cpk_apply_plan p = CPK_APPLY_PLAN_INIT;
	struct cpk_model *m = NULL;
	struct cpk_diags d = CPK_DIAGS_INIT;
	char root[] = "/tmp/cpk-apply-test.XXXXXX", path[256], cmd[300];
	const struct cpk_apply_item *it;
	struct cpk_buf diff = CPK_BUF_INIT;
	const char *const *v;
	int changed[CPK_APPLY_MAX_SERVICES];
	struct stat st;

	if (!mkdtemp(root) || cpk_model_parse("t.yaml", yaml, sizeof(yaml) - 1, &m, &d) != CPK_OK) {
		printf("Bail out! setup: %s\n", cpk_errmsg());
		return 1;
	}
	snprintf(path, sizeof(path), "%s/etc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/etc/hosts", root);
	put(path, "127.0.0.1 localhost\n");

	ok(cpk_apply_plan(m, CPK_ROLE_COMPUTE, "c1", root, NULL, &p) == CPK_OK, "plan compute c1");
	it = cpk_apply_find(&p, "/etc/slurm/slurm.conf");
	ok(it && it->state == CPK_APPLY_NEW && it->mode == 0644, "slurm.conf: new, 0644");
	it = cpk_apply_find(&p, "/etc/sssd/sssd.conf");
	ok(it && it->mode == 0600 && it->dir_mode == 0711, "sssd.conf: 0600 in a 0711 dir");
	it = cpk_apply_find(&p, "/etc/clusterpack/fstab");
	ok(it && strstr(it->data.buf, "head:/home\t/home\tnfs") != NULL,
	   "the NFS lines go to /etc/clusterpack/fstab, not /etc/fstab");
	ok(cpk_apply_find(&p, "/etc/fstab") == NULL && cpk_apply_find(&p, "/etc/exports") == NULL,
	   "a compute node that serves nothing: no exports, /etc/fstab untouched");
	it = cpk_apply_find(&p, "/etc/hosts");
	ok(it && it->state == CPK_APPLY_FOREIGN, "an existing /etc/hosts is foreign");
	is_int((long long)p.n_changes, (long long)p.n, "every item is a change");
	v = cpk_apply_services(&p, changed);
	ok(v && !strcmp(v[0], "munge") && !strcmp(v[3], "slurmd") && !v[4] && changed[3] && !changed[0],
	   "compute services: slurmd restarts for its files, munge not");
	ok(cpk_apply_install(&p) == CPK_OK, "install");
	it = cpk_apply_find(&p, "/etc/hosts");
	is_str(it ? it->backup : NULL, "/etc/hosts.cpk-orig", "the foreign file's backup is named");
	snprintf(path, sizeof(path), "%s/etc/hosts.cpk-orig", root);
	ok(stat(path, &st) == 0 && st.st_size == 20, "the backup holds the original");
	cpk_apply_plan_release(&p);

	ok(cpk_apply_plan(m, CPK_ROLE_COMPUTE, "c1", root, NULL, &p) == CPK_OK, "plan again");
	is_int((long long)p.n_changes, 0, "nothing to change");
	ok(cpk_apply_diff(&p, &diff) == CPK_OK && diff.len == 0, "an empty diff");
	cpk_apply_plan_release(&p);

	snprintf(path, sizeof(path), "%s/etc/slurm/cgroup.conf", root);
	put(path, "edited\n");
	ok(cpk_apply_plan(m, CPK_ROLE_COMPUTE, "c1", root, NULL, &p) == CPK_OK, "plan after a hand edit");
	it = cpk_apply_find(&p, "/etc/slurm/cgroup.conf");
	ok(it && it->state == CPK_APPLY_FOREIGN, "a file edited since apply wrote it is foreign");
	ok(cpk_apply_diff(&p, &diff) == CPK_OK &&
	   strstr(diff.buf, "--- /etc/slurm/cgroup.conf\n+++ /etc/slurm/cgroup.conf\n@@ -1 +1,") &&
	   strstr(diff.buf, "\n-edited\n+# cgroup.conf"), "the diff shows the edit undone");
	cpk_apply_plan_release(&p);

	snprintf(cmd, sizeof(cmd), "rm -rf %s/etc/ldap", root);
	snprintf(path, sizeof(path), "%s/etc/ldap", root);
	ok(system(cmd) == 0 && symlink("/tmp", path) == 0, "plant /etc/ldap -> /tmp");
	ok(cpk_apply_plan(m, CPK_ROLE_COMPUTE, "c1", root, NULL, &p) == CPK_ERR_PERM &&
	   strstr(cpk_errmsg(), "/etc/ldap is a symbolic link: refusing to follow it"),
	   "the plan refuses it: %s", cpk_errmsg());
	ok(p.n == 0 && p.rootfd == -1, "and the plan is released");

	ok(cpk_apply_plan(m, CPK_ROLE_CONTROL, "c1", root, NULL, &p) == CPK_ERR_NOTFOUND,
	   "control role with a compute node's name: refused");
	v = cpk_apply_packages(CPK_ROLE_CONTROL);
	ok(v[0] && !strcmp(v[1], "slurmctld"), "control packages");
	v = cpk_apply_packages(CPK_ROLE_COMPUTE);
	ok(v[0] && !strcmp(v[1], "slurmd"), "compute packages");
	is_str(cpk_apply_state_name(CPK_APPLY_FOREIGN), "foreign", "state names");

	cpk_buf_release(&diff);
	cpk_model_free(m);
	cpk_diags_release(&d);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return done_testing();
}
