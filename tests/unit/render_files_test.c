/*
 * Unit tests for lib/render: the files besides Slurm's (plugstack.conf,
 * hosts, NFS exports and fstab, sssd.conf and ldap.conf), which files a
 * role gets, writing them, and the errors.  Each optional key shows in the
 * files when given and is left out when not; lines are looked for one by
 * one (the whole files are compared in tests/t1200-render-golden.sh;
 * slurm.conf, gres.conf and cgroup.conf are in render_slurm_test.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk/fsutil.h"
#include "render_check.h"
#include "tap.h"

static void test_plugstack_hosts(void)
{
	struct cpk_model *m;
	struct cpk_buf b = CPK_BUF_INIT;

	m = parse("nodes:\n  - {names: 'c[1-2]', addresses: '10.0.0.[11-12]'}\n"
		  "  - {names: ctl, addresses: 10.0.0.1}\n  - {names: n1}\n"
		  "partitions: [{name: p, nodes: ALL}]\n"
		  "stage: {enabled: true, required: true, connections: 4, retries: 0, verify: true,\n"
		  "        max_size: 1000000, stage_in_timeout: 60, stage_out_timeout: 7200,\n"
		  "        cpk: /opt/cpk/bin/cpk, allowed_hosts: [data.example.org, '*.example.org']}\n", NULL);
	if (!ok(m != NULL, "stage and hosts keys"))
		return;
	cpk_render_plugstack_conf(m, &b);
	ok(strstr(b.buf, "\nrequired ") && strstr(b.buf, " connections=4 retries=0 verify=yes "
						   "max_size=1000000 stage_in_timeout=60 "
						   "stage_out_timeout=7200 cpk=/opt/cpk/bin/cpk "
						   "allowed_hosts=data.example.org,*.example.org\n"),
	   "plugstack.conf: required, the settings and the hosts");
	cpk_buf_reset(&b);
	cpk_render_hosts(m, &b);
	ok(has_line(b.buf, "10.0.0.1\tctl"), "hosts: the control node, once");
	{
		const char *first = strstr(b.buf, "\tctl\n");

		ok(first && !strstr(first + 1, "\tctl\n"), "a compute node named like it adds no line");
	}
	ok(has_line(b.buf, "10.0.0.12\tc2"), "hosts: a node with an address");
	ok(!strstr(b.buf, "n1"), "hosts: no line for a node without an address");
	cpk_buf_release(&b);
	cpk_model_free(m);

	m = parse("nodes: [{names: c1, addresses: 10.0.0.11}]\npartitions: [{name: p, nodes: ALL}]\n"
		  "stage: {enabled: false}\n", NULL);
	if (ok(m != NULL, "stage disabled, no domain")) {
		cpk_render_plugstack_conf(m, &b);
		ok(strstr(b.buf, "stage.enabled) is off") && !strstr(b.buf, "optional") &&
		   !strstr(b.buf, "required"), "plugstack.conf: no plugin line");
		cpk_buf_reset(&b);
		cpk_render_hosts(m, &b);
		ok(has_line(b.buf, "10.0.0.11\tc1"), "hosts: no domain, the name alone");
		cpk_buf_release(&b);
	}
	cpk_model_free(m);
	m = parse("nodes: [{names: c1}]\npartitions: [{name: p, nodes: ALL}]\n", NULL);
	if (ok(m != NULL, "stage by default")) {
		cpk_render_plugstack_conf(m, &b);
		ok(strstr(b.buf, "stage.enabled) is off") && !strstr(b.buf, "cpk_stage.so"),
		   "plugstack.conf: off by default (cpk_stage.so is not installed yet)");
		cpk_buf_release(&b);
	}
	cpk_model_free(m);
	m = parse("nodes: [{names: c1}]\npartitions: [{name: p, nodes: ALL}]\n"
		  "stage: {enabled: true}\n", NULL);
	if (ok(m != NULL, "stage enabled, the other keys by default")) {
		cpk_render_plugstack_conf(m, &b);
		ok(strstr(b.buf, "\noptional ") && strstr(b.buf, " verify=no max_size=0 "
						     "stage_in_timeout=3600 stage_out_timeout=3600 "
						     "cpk=/usr/local/bin/cpk allowed_hosts=ctl\n"),
		   "plugstack.conf: optional, allowed_hosts the control node");
		cpk_buf_release(&b);
	}
	cpk_model_free(m);
}

static void test_domain(void)
{
	static const char text[] =
		"cluster: {name: t, domain: t.example.org}\n"
		"control: {name: ctl, address: 10.0.0.1}\n"
		"nodes: [{names: c1, addresses: 10.0.0.11}]\npartitions: [{name: p, nodes: ALL}]\n";
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = NULL;
	struct cpk_buf b = CPK_BUF_INIT;

	cpk_model_parse("t.yaml", text, strlen(text), &m, &d);
	if (ok(m != NULL, "a domain")) {
		cpk_render_hosts(m, &b);
		ok(has_line(b.buf, "10.0.0.1\tctl.t.example.org ctl") &&
		   has_line(b.buf, "10.0.0.11\tc1.t.example.org c1"), "hosts: NAME.DOMAIN NAME");
	}
	cpk_buf_release(&b);
	cpk_model_free(m);
	cpk_diags_release(&d);
}

static void test_nfs_ldap(void)
{
	struct cpk_model *m = parse(
		"nodes: [{names: 'c[1-3]', addresses: '10.0.0.[11-13]'}]\n"
		"partitions: [{name: p, nodes: ALL}]\n"
		"filesystems:\n"
		"  - {name: home, export: /export/home, mount: /home, clients: ['c[1-2]', 10.0.0.0/24]}\n"
		"  - {name: scratch, server: c3, export: /scratch, clients: ['c[1-2]'], type: nfs4,\n"
		"     export_options: 'ro,async', mount_options: 'ro,noatime'}\n"
		"ldap: {uri: 'ldaps://ctl/', base_dn: 'dc=t', ca_file: /etc/ssl/ca.pem}\n", NULL);
	struct cpk_fileset fs = { NULL, 0 };
	const struct cpk_file *f;

	if (!ok(m != NULL, "filesystems and ldap"))
		return;
	is_int(cpk_render(m, CPK_ROLE_CONTROL, NULL, &fs), CPK_OK, "render the control node");
	f = cpk_fileset_get(&fs, "exports");
	ok(f && has_line(f->data.buf, "/export/home 10.0.0.11(rw,sync,no_subtree_check) "
			 "10.0.0.12(rw,sync,no_subtree_check) 10.0.0.0/24(rw,sync,no_subtree_check)"),
	   "exports: cluster hosts by address, the default options");
	ok(f && !strstr(f->data.buf, "/scratch"), "exports: not what another server serves");
	f = cpk_fileset_get(&fs, "fstab");
	ok(f && has_line(f->data.buf, "c3:/scratch\t/scratch\tnfs4\tro,noatime\t0 0") &&
	   !strstr(f->data.buf, "/export/home"), "fstab: what the control node mounts, not serves");
	f = cpk_fileset_get(&fs, "sssd.conf");
	ok(f && f->mode == 0600, "sssd.conf is 0600");
	ok(f && has_line(f->data.buf, "ldap_tls_cacert = /etc/ssl/ca.pem") &&
	   has_line(f->data.buf, "ldap_id_use_start_tls = false") &&
	   has_line(f->data.buf, "ldap_user_search_base = ou=People,dc=t"),
	   "sssd.conf: the CA, no StartTLS over ldaps, the search bases");
	ok(f && has_line(f->data.buf, "access_provider = ldap") &&
	   has_line(f->data.buf, "ldap_access_order = expire") &&
	   has_line(f->data.buf, "ldap_account_expire_policy = shadow"),
	   "sssd.conf: access control by shadowExpire (a locked user is denied)");
	f = cpk_fileset_get(&fs, "ldap.conf");
	ok(f && f->mode == 0644 && has_line(f->data.buf, "TLS_CACERT\t/etc/ssl/ca.pem") &&
	   has_line(f->data.buf, "URI\tldaps://ctl/"), "ldap.conf: 0644, the CA and the URI");
	cpk_fileset_release(&fs);

	is_int(cpk_render(m, CPK_ROLE_COMPUTE, "c3", &fs), CPK_OK, "render c3");
	f = cpk_fileset_get(&fs, "exports");
	ok(f && has_line(f->data.buf, "/scratch 10.0.0.11(ro,async) 10.0.0.12(ro,async)"),
	   "c3 exports scratch with its options");
	f = cpk_fileset_get(&fs, "fstab");
	ok(f && has_line(f->data.buf, "ctl:/export/home\t/home\tnfs\tdefaults,_netdev\t0 0") &&
	   !strstr(f->data.buf, "/scratch"), "c3 mounts home, not what it serves");
	cpk_fileset_release(&fs);
	is_int(cpk_render(m, CPK_ROLE_COMPUTE, "c1", &fs), CPK_OK, "render c1");
	ok(!cpk_fileset_get(&fs, "exports") && cpk_fileset_get(&fs, "fstab"),
	   "c1 serves nothing: no exports, an fstab");
	cpk_fileset_release(&fs);
	is_int(cpk_render(m, CPK_ROLE_COMPUTE, NULL, &fs), CPK_OK, "render any compute node");
	ok(!cpk_fileset_get(&fs, "exports") && fs.n >= 5, "no exports");
	cpk_fileset_release(&fs);
	is_int(cpk_render(m, CPK_ROLE_COMPUTE, "c9", &fs), CPK_ERR_NOTFOUND, "an unknown node");
	ok(fs.n == 0 && strstr(cpk_errmsg(), "'c9' is not a compute node"), "says so, renders nothing");
	is_int(cpk_render(m, CPK_ROLE_CONTROL, "c1", &fs), CPK_ERR_NOTFOUND,
	       "the control role for another host");
	ok(fs.n == 0, "renders nothing");
	cpk_model_free(m);

	m = parse("nodes: [{names: c1}]\npartitions: [{name: p, nodes: ALL}]\n"
		  "ldap: {uri: 'ldap://ctl/', base_dn: 'dc=t', tls: starttls, people_ou: 'ou=Users',"
		  " groups_ou: 'ou=Teams'}\n", NULL);
	if (ok(m != NULL, "ldap with StartTLS, no CA file, no filesystems")) {
		is_int(cpk_render(m, CPK_ROLE_CONTROL, NULL, &fs), CPK_OK, "render the control node");
		f = cpk_fileset_get(&fs, "sssd.conf");
		ok(f && has_line(f->data.buf, "ldap_id_use_start_tls = true") &&
		   !strstr(f->data.buf, "ldap_tls_cacert") &&
		   has_line(f->data.buf, "ldap_user_search_base = ou=Users,dc=t") &&
		   has_line(f->data.buf, "ldap_group_search_base = ou=Teams,dc=t"),
		   "sssd.conf: StartTLS, no CA line, the OUs given");
		f = cpk_fileset_get(&fs, "ldap.conf");
		ok(f && !strstr(f->data.buf, "TLS_CACERT"), "ldap.conf: no CA line");
		f = cpk_fileset_get(&fs, "exports");
		ok(f && !strchr(f->data.buf, '/') , "the control node always has an exports file");
		ok(!cpk_fileset_get(&fs, "fstab"), "no fstab when it mounts nothing");
		cpk_fileset_release(&fs);
	}
	cpk_model_free(m);
	m = parse("nodes: [{names: c1}]\npartitions: [{name: p, nodes: ALL}]\n"
		  "filesystems: [{name: home, export: /home, clients: [c1]}]\n", NULL);
	if (ok(m != NULL, "the control node serves every filesystem")) {
		cpk_render(m, CPK_ROLE_CONTROL, NULL, &fs);
		ok(cpk_fileset_get(&fs, "exports") && !cpk_fileset_get(&fs, "fstab"),
		   "exports, no fstab");
		cpk_fileset_release(&fs);
	}
	cpk_model_free(m);
	m = parse("nodes: [{names: c1}]\npartitions: [{name: p, nodes: ALL}]\n", NULL);
	if (ok(m != NULL, "no ldap")) {
		cpk_render(m, CPK_ROLE_CONTROL, NULL, &fs);
		ok(!cpk_fileset_get(&fs, "sssd.conf") && !cpk_fileset_get(&fs, "ldap.conf"),
		   "no sssd.conf or ldap.conf");
		cpk_fileset_release(&fs);
	}
	cpk_model_free(m);
}

static void test_roles(void)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = parse4(
		"filesystems:\n"
		"  - {name: scratch, server: c01, export: /scratch, clients: ['c[02-04]']}\n", &d);
	struct cpk_fileset fs = CPK_FILESET_INIT;
	const struct cpk_file *f;
	cpk_err_t r;

	cpk_diags_release(&d);
	if (!ok(m != NULL, "roles: parses"))
		return;
	r = cpk_render(m, CPK_ROLE_CONTROL, "ctl", &fs);
	ok(r == CPK_OK, "control by its own name renders");
	f = cpk_fileset_get(&fs, "fstab");
	ok(f && strstr(f->data.buf, "c01:/scratch\t/scratch\tnfs") != NULL,
	   "the control node mounts what a compute node serves");
	f = cpk_fileset_get(&fs, "exports");
	ok(f && !strstr(f->data.buf, "/scratch"), "and does not export it");
	ok(!cpk_fileset_get(&fs, "sssd.conf"), "no ldap section: no sssd.conf");
	cpk_fileset_release(&fs);
	r = cpk_render(m, CPK_ROLE_CONTROL, "c01", &fs);
	ok(r == CPK_ERR_NOTFOUND && fs.n == 0 &&
	   strstr(cpk_errmsg(), "'c01' is not the control node (ctl)") != NULL,
	   "control role for another node: %s", cpk_errmsg());
	r = cpk_render(m, CPK_ROLE_COMPUTE, "ctl", &fs);
	ok(r == CPK_ERR_NOTFOUND && fs.n == 0, "compute role for the control node: %s",
	   cpk_errmsg());
	r = cpk_render(m, CPK_ROLE_COMPUTE, "c02", &fs);
	ok(r == CPK_OK && !cpk_fileset_get(&fs, "exports") &&
	   cpk_fileset_get(&fs, "fstab"), "a client node: fstab, no exports");
	cpk_fileset_release(&fs);
	cpk_model_free(m);
}

static void test_write(void)
{
	char dir[] = "/tmp/cpk-render.XXXXXX", path[256], cmd[300];
	struct cpk_model *m = parse("nodes: [{names: c1}]\npartitions: [{name: p, nodes: ALL}]\n"
				    "ldap: {uri: 'ldap://ctl/', base_dn: 'dc=t'}\n", NULL);
	struct cpk_fileset fs = { NULL, 0 };
	struct stat st;

	if (!m || !mkdtemp(dir) || cpk_render(m, CPK_ROLE_CONTROL, NULL, &fs) != CPK_OK) {
		ok(0, "render for writing");
		cpk_model_free(m);
		return;
	}
	snprintf(path, sizeof(path), "%s/out/etc", dir);
	is_int(cpk_fileset_write(&fs, path), CPK_OK, "write the files into a new directory");
	snprintf(path, sizeof(path), "%s/out/etc/sssd.conf", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "sssd.conf written 0600");
	snprintf(path, sizeof(path), "%s/out/etc/slurm.conf", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644 &&
	   (size_t)st.st_size == cpk_fileset_get(&fs, "slurm.conf")->data.len,
	   "slurm.conf written 0644, whole");
	/* a directory where a file goes: an error, the files before it written */
	snprintf(path, sizeof(path), "%s/out2/hosts", dir);
	if (cpk_mkdir_p(path, 0755) == CPK_OK) {
		snprintf(path, sizeof(path), "%s/out2", dir);
		ok(cpk_fileset_write(&fs, path) != CPK_OK && strstr(cpk_errmsg(), "hosts"),
		   "a directory in a file's place: an error naming it (%s)", cpk_errmsg());
		snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s/out2 | grep -c '^\\.')\" = 0", dir);
		ok(system(cmd) == 0, "no temporary file left");
	}
	snprintf(path, sizeof(path), "%s/out/etc/slurm.conf/x", dir);
	ok(cpk_fileset_write(&fs, path) != CPK_OK, "a file in the directory's path: an error");
	cpk_fileset_release(&fs);
	cpk_fileset_release(&fs);
	ok(fs.n == 0 && fs.files == NULL, "a released fileset is empty, released twice harmlessly");
	cpk_model_free(m);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		ok(0, "%s", cmd);
}

static void test_role_parse(void)
{
	enum cpk_role r;

	ok(cpk_role_parse("control", &r) == CPK_OK && r == CPK_ROLE_CONTROL, "role control");
	ok(cpk_role_parse("compute", &r) == CPK_OK && r == CPK_ROLE_COMPUTE, "role compute");
	ok(cpk_role_parse("login", &r) == CPK_ERR_INVALID && strstr(cpk_errmsg(), "'login'"),
	   "an unknown role");
}

/* Mount unit names: what `systemd-escape --path --suffix=mount` printed
 * for each path (systemd 252, Debian 12); t4000 has systemd-analyze
 * verify check that a rendered unit's name matches its Where=. */
static void test_unit_names(void)
{
	static const char *const cases[][2] = {
		{ "/home", "home.mount" },
		{ "/srv/a b", "srv-a\\x20b.mount" },
		{ "/.hidden/x", "\\x2ehidden-x.mount" },
		{ "//a//b/", "a-b.mount" },
		{ "/a-b", "a\\x2db.mount" },
		{ "/x.y", "x.y.mount" },
		{ "/", "-.mount" },
		{ "/data/gpu:0_x", "data-gpu:0_x.mount" },
		{ "/\xc3\xa9t\xc3\xa9", "\\xc3\\xa9t\\xc3\\xa9.mount" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cpk_buf b = CPK_BUF_INIT;

		cpk_render_unit_name(cases[i][0], ".mount", &b);
		is_str(b.buf, cases[i][1], "unit name of '%s'", cases[i][0]);
		cpk_buf_release(&b);
	}
}

int main(void)
{
	test_unit_names();
	test_plugstack_hosts();
	test_domain();
	test_nfs_ldap();
	test_roles();
	test_write();
	test_role_parse();
	return done_testing();
}
