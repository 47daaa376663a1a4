/*
 * Unit tests for lib/render (besides render_test.c): each optional key of the description shows in
 * the rendered files when given and is left out when not; the role decides
 * which files there are.  Lines are looked for one by one (the whole files
 * are compared in tests/t1200-render-golden.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk/fsutil.h"
#include "cpk/model.h"
#include "cpk/render.h"
#include "tap.h"

static const char head[] =
	"cluster: {name: t}\n"
	"control: {name: ctl, address: 10.0.0.1}\n";

static struct cpk_model *parse(const char *body)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_buf t = CPK_BUF_INIT;
	struct cpk_model *m = NULL;

	cpk_buf_addf(&t, "%s%s", head, body);
	if (cpk_model_parse("t.yaml", t.buf, t.len, &m, &d) != CPK_OK) {
		printf("# %s\n", cpk_errmsg());
		if (d.n)
			printf("# %d:%d: %s\n", d.v[0].line, d.v[0].col, d.v[0].msg);
	}
	cpk_diags_release(&d);
	cpk_buf_release(&t);
	return m;
}

/* Does TEXT hold LINE as a whole line? */
static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return 1;
		p++;
	}
	return 0;
}

/* The line of TEXT that starts with PREFIX, in a static buffer ("" if none). */
static const char *line_of(const char *text, const char *prefix)
{
	static char line[1024];
	const char *p = text;
	size_t n = strlen(prefix);

	line[0] = '\0';
	for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, prefix, n)) {
			const char *e = strchr(p, '\n');
			size_t len = e ? (size_t)(e - p) : strlen(p);

			if (len >= sizeof(line))
				len = sizeof(line) - 1;
			memcpy(line, p, len);
			line[len] = '\0';
			break;
		}
	}
	return line;
}

/* Does LINE hold the space-separated WORD? */
static int has_word(const char *line, const char *word)
{
	size_t n = strlen(word);
	const char *p = line;

	while ((p = strstr(p, word))) {
		if ((p == line || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
		p++;
	}
	return 0;
}

static void test_partitions(void)
{
	struct cpk_model *m = parse(
		"nodes: [{names: 'c[1-4]'}]\n"
		"partitions:\n"
		"  - {name: all, nodes: ALL, default: true, max_time: '1-00:00:00',\n"
		"     default_time: '1:00:00', max_nodes: 2, priority_tier: 10,\n"
		"     oversubscribe: force, allow_groups: [staff, gpuusers], state: drain}\n"
		"  - {name: bare, nodes: 'c[3-4],c1'}\n"
		"  - {name: no, nodes: c2, oversubscribe: 'NO'}\n"
		"  - {name: yes, nodes: c2, oversubscribe: 'yes'}\n"
		"  - {name: ex, nodes: c2, oversubscribe: exclusive}\n");
	struct cpk_buf b = CPK_BUF_INIT;
	const char *l;

	if (!ok(m != NULL, "a description with every partition key"))
		return;
	cpk_render_slurm_conf(m, &b);
	l = line_of(b.buf, "PartitionName=all ");
	ok(has_word(l, "Nodes=ALL"), "Nodes=ALL: %s", l);
	ok(has_word(l, "Default=YES"), "Default=YES");
	ok(has_word(l, "MaxTime=1-00:00:00"), "MaxTime");
	ok(has_word(l, "DefaultTime=1:00:00"), "DefaultTime");
	ok(has_word(l, "MaxNodes=2"), "MaxNodes");
	ok(has_word(l, "PriorityTier=10"), "PriorityTier");
	ok(has_word(l, "OverSubscribe=FORCE"), "OverSubscribe");
	ok(has_word(l, "AllowGroups=staff,gpuusers"), "AllowGroups");
	ok(has_word(l, "State=DRAIN"), "State");
	l = line_of(b.buf, "PartitionName=bare ");
	is_str(l, "PartitionName=bare Nodes=c[3-4,1] MaxTime=UNLIMITED State=UP",
	       "no optional key: none of them written, defaults for the rest");
	ok(has_word(line_of(b.buf, "PartitionName=no "), "OverSubscribe=NO"), "OverSubscribe=NO");
	ok(has_word(line_of(b.buf, "PartitionName=yes "), "OverSubscribe=YES"), "OverSubscribe=YES");
	ok(has_word(line_of(b.buf, "PartitionName=ex "), "OverSubscribe=EXCLUSIVE"),
	   "OverSubscribe=EXCLUSIVE");
	cpk_buf_release(&b);
	cpk_model_free(m);
}

static void test_nodes(void)
{
	struct cpk_model *m = parse(
		"nodes:\n"
		"  - names: 'g[01-02]'\n"
		"    addresses: '10.0.0.[11-12]'\n"
		"    sockets: 2\n    cores_per_socket: 8\n    threads_per_core: 2\n"
		"    memory: 64G\n    tmp_disk: 100G\n    weight: 5\n"
		"    gpus: {count: 4, type: a100}\n"
		"    features: [ib, nvme]\n"
		"  - names: 'c[1-3]'\n"
		"    cpus: 6\n"
		"  - names: m1\n    memory: 1G\n"
		"  - names: u1\n"
		"    gpus: {count: 2, file: '/dev/nvidia[2-3]'}\n"
		"partitions: [{name: p, nodes: ALL}]\n"
		"slurm: {def_mem_per_cpu: 100}\n");
	struct cpk_buf b = CPK_BUF_INIT, g = CPK_BUF_INIT;
	const char *l;

	if (!ok(m != NULL, "a description with every node key"))
		return;
	cpk_render_slurm_conf(m, &b);
	l = line_of(b.buf, "NodeName=g[01-02] ");
	ok(has_word(l, "NodeAddr=10.0.0.[11-12]"), "NodeAddr: %s", l);
	ok(has_word(l, "CPUs=32") && has_word(l, "Sockets=2") && has_word(l, "CoresPerSocket=8") &&
	   has_word(l, "ThreadsPerCore=2"), "CPUs and the topology");
	ok(has_word(l, "RealMemory=65536"), "RealMemory in MiB");
	ok(has_word(l, "TmpDisk=102400"), "TmpDisk in MiB");
	ok(has_word(l, "Gres=gpu:a100:4"), "Gres with the type");
	ok(has_word(l, "Feature=ib,nvme"), "Feature");
	ok(has_word(l, "Weight=5"), "Weight");
	l = line_of(b.buf, "NodeName=c[1-3] ");
	is_str(l, "NodeName=c[1-3] CPUs=6 State=UNKNOWN",
	       "no optional key: no NodeAddr, topology, memory, disk, Gres, Feature or Weight");
	is_str(line_of(b.buf, "NodeName=m1 "), "NodeName=m1 CPUs=1 Sockets=1 CoresPerSocket=1 "
	       "ThreadsPerCore=1 RealMemory=1024 State=UNKNOWN", "memory alone: RealMemory, no TmpDisk");
	l = line_of(b.buf, "NodeName=u1 ");
	ok(has_word(l, "Gres=gpu:2"), "Gres without a type: %s", l);
	ok(has_line(b.buf, "GresTypes=gpu"), "GresTypes when a group has GPUs");
	ok(has_line(b.buf, "DefMemPerCPU=100"), "DefMemPerCPU when given");
	cpk_render_gres_conf(m, &g);
	ok(has_line(g.buf, "NodeName=g[01-02] Name=gpu Type=a100 File=/dev/nvidia[0-3]"),
	   "gres.conf: the type and the default device files");
	ok(has_line(g.buf, "NodeName=u1 Name=gpu File=/dev/nvidia[2-3]"),
	   "gres.conf: no type, the files given");
	ok(!strstr(g.buf, "NodeName=c"), "gres.conf: nothing for a group without GPUs");
	cpk_buf_release(&b);
	cpk_buf_release(&g);
	cpk_model_free(m);

	m = parse("nodes: [{names: c1}]\npartitions: [{name: p, nodes: ALL}]\n"
		  "slurm: {extra: ['SlurmctldDebug=debug', 'MessageTimeout=20']}\n");
	if (ok(m != NULL, "a description without GPUs or memory")) {
		cpk_render_slurm_conf(m, &b);
		ok(!strstr(b.buf, "GresTypes="), "no GresTypes");
		ok(!strstr(b.buf, "DefMemPerCPU="), "no DefMemPerCPU");
		ok(has_line(b.buf, "SlurmctldDebug=debug") && has_line(b.buf, "MessageTimeout=20"),
		   "extra lines, verbatim");
		ok(has_line(b.buf, "SlurmctldHost=ctl(10.0.0.1)"), "SlurmctldHost with the address");
		cpk_render_gres_conf(m, &g);
		ok(!strstr(g.buf, "NodeName="), "an empty gres.conf");
		cpk_buf_release(&b);
		cpk_buf_release(&g);
	}
	cpk_model_free(m);
}

static void test_plugstack_hosts(void)
{
	struct cpk_model *m;
	struct cpk_buf b = CPK_BUF_INIT;

	m = parse("nodes:\n  - {names: 'c[1-2]', addresses: '10.0.0.[11-12]'}\n"
		  "  - {names: ctl, addresses: 10.0.0.1}\n  - {names: n1}\n"
		  "partitions: [{name: p, nodes: ALL}]\n"
		  "stage: {required: true, connections: 4, retries: 0, verify: true,\n"
		  "        allowed_hosts: [data.example.org, '*.example.org']}\n");
	if (!ok(m != NULL, "stage and hosts keys"))
		return;
	cpk_render_plugstack_conf(m, &b);
	ok(strstr(b.buf, "\nrequired ") && strstr(b.buf, " connections=4 retries=0 verify=yes "
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
		  "stage: {enabled: false}\n");
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
	m = parse("nodes: [{names: c1}]\npartitions: [{name: p, nodes: ALL}]\n");
	if (ok(m != NULL, "stage by default")) {
		cpk_render_plugstack_conf(m, &b);
		ok(strstr(b.buf, "\noptional ") && strstr(b.buf, " verify=no allowed_hosts=ctl\n"),
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
		"ldap: {uri: 'ldaps://ctl/', base_dn: 'dc=t', ca_file: /etc/ssl/ca.pem}\n");
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
		  " groups_ou: 'ou=Teams'}\n");
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
		  "filesystems: [{name: home, export: /home, clients: [c1]}]\n");
	if (ok(m != NULL, "the control node serves every filesystem")) {
		cpk_render(m, CPK_ROLE_CONTROL, NULL, &fs);
		ok(cpk_fileset_get(&fs, "exports") && !cpk_fileset_get(&fs, "fstab"),
		   "exports, no fstab");
		cpk_fileset_release(&fs);
	}
	cpk_model_free(m);
	m = parse("nodes: [{names: c1}]\npartitions: [{name: p, nodes: ALL}]\n");
	if (ok(m != NULL, "no ldap")) {
		cpk_render(m, CPK_ROLE_CONTROL, NULL, &fs);
		ok(!cpk_fileset_get(&fs, "sssd.conf") && !cpk_fileset_get(&fs, "ldap.conf"),
		   "no sssd.conf or ldap.conf");
		cpk_fileset_release(&fs);
	}
	cpk_model_free(m);
}

static void test_write(void)
{
	char dir[] = "/tmp/cpk-render.XXXXXX", path[256], cmd[300];
	struct cpk_model *m = parse("nodes: [{names: c1}]\npartitions: [{name: p, nodes: ALL}]\n"
				    "ldap: {uri: 'ldap://ctl/', base_dn: 'dc=t'}\n");
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

int main(void)
{
	enum cpk_role r;

	test_partitions();
	test_nodes();
	test_plugstack_hosts();
	test_domain();
	test_nfs_ldap();
	test_write();
	ok(cpk_role_parse("control", &r) == CPK_OK && r == CPK_ROLE_CONTROL, "role control");
	ok(cpk_role_parse("compute", &r) == CPK_OK && r == CPK_ROLE_COMPUTE, "role compute");
	ok(cpk_role_parse("login", &r) == CPK_ERR_INVALID && strstr(cpk_errmsg(), "'login'"),
	   "an unknown role");
	return done_testing();
}
