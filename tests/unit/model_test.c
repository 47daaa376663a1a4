/* Unit tests for lib/model: defaults, derived values, lookups, errors. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk/model.h"
#include "cpk/render.h"
#include "tap.h"

static const char minimal[] =
	"cluster: {name: t}\n"
	"control: {name: ctl, address: 10.0.0.1}\n"
	"nodes:\n"
	"  - names: c[01-03]\n"
	"    addresses: 10.0.0.[11-13]\n"
	"    sockets: 2\n"
	"    cores_per_socket: 4\n"
	"    gpus: {count: 2}\n"
	"partitions:\n"
	"  - {name: p, nodes: 'c[01-02]', default: true}\n";

static struct cpk_model *parse(const char *text, struct cpk_diags *d)
{
	struct cpk_model *m = NULL;

	cpk_model_parse("t.yaml", text, strlen(text), &m, d);
	return m;
}

static void test_defaults(void)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = parse(minimal, &d);
	const struct cpk_node *n;

	if (!ok(m != NULL, "minimal description parses")) {
		cpk_diags_release(&d);
		return;
	}
	is_int((long long)m->n_nodes, 3, "three nodes");
	is_str(m->nodes[2].name, "c03", "names expanded in order");
	is_str(m->nodes[2].address, "10.0.0.13", "addresses paired with names");
	is_int((long long)m->groups[0].cpus, 8, "cpus = sockets x cores x threads");
	is_str(m->groups[0].gpus.file, "/dev/nvidia[0-1]", "gpu device files default");
	is_str(m->slurm.cluster_name, "t", "cluster_name defaults to cluster.name");
	is_int((long long)m->slurm.max_node_count, 3 + 128, "max_node_count default");
	is_int((long long)m->slurm.def_mem_per_cpu, 0, "no DefMemPerCPU without memory");
	is_str(m->partitions[0].max_time, "UNLIMITED", "max_time default");
	is_str(m->slurm.task_plugins.v[1], "cgroup", "task_plugins default list");
	is_int((long long)m->users.uid_range.lo, 10000, "uid_range default");
	ok(!m->ldap.present, "no ldap section");
	n = cpk_model_find_node(m, "c02");
	ok(n && !strcmp(n->address, "10.0.0.12"), "find_node");
	ok(cpk_model_find_node(m, "c04") == NULL, "find_node of an unknown name");
	cpk_model_free(m);
	cpk_diags_release(&d);
}

static void test_errors_sorted(void)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = parse("cluster: {name: t, bogus: 1}\n"
				    "control: {name: ctl, address: x}\n"
				    "nodes: [{names: 'a[1-'}]\n", &d);

	ok(m == NULL, "invalid description gives no model");
	is_int((long long)d.n, 4, "four problems");
	if (d.n == 4) {
		is_int(d.v[0].line, 1, "first on line 1");
		is_int(d.v[1].line, 2, "then line 2");
		is_int(d.v[2].line, 3, "then line 3");
		is_int(d.v[2].col, 22, "column points into the host list, at the problem");
		is_int(d.v[3].line, 0, "whole-file problem last");
		ok(strstr(d.v[3].msg, "no partitions") != NULL, "%s", d.v[3].msg);
	}
	cpk_diags_release(&d);
}

static void test_sizes(void)
{
	static const struct { const char *mem; long long mb; } cases[] = {
		{ "512", 512 }, { "512M", 512 }, { "2G", 2048 }, { "2GiB", 2048 },
		{ "1T", 1048576 }, { "1048576K", 1024 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cpk_diags d = CPK_DIAGS_INIT;
		char text[512];
		struct cpk_model *m;

		snprintf(text, sizeof(text),
			 "cluster: {name: t}\ncontrol: {name: ctl, address: \"::1\"}\n"
			 "nodes: [{names: c1, memory: %s}]\npartitions: [{name: p, nodes: ALL}]\n",
			 cases[i].mem);
		m = parse(text, &d);
		ok(m && (long long)m->groups[0].memory_mb == cases[i].mb,
		   "memory %s is %lld MiB", cases[i].mem, cases[i].mb);
		cpk_model_free(m);
		cpk_diags_release(&d);
	}
}

/* A big description parses, renders, and the bytes do not vary. */
static void test_big(void)
{
	struct cpk_buf text = CPK_BUF_INIT, a = CPK_BUF_INIT, b = CPK_BUF_INIT;
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m, *m2;
	int g;

	cpk_buf_addstr(&text, "cluster: {name: big}\ncontrol: {name: ctl, address: 10.255.255.254}\nnodes:\n");
	for (g = 0; g < 40; g++)
		cpk_buf_addf(&text, "  - names: r%02dn[001-250]\n    addresses: 10.%d.0.[1-250]\n"
			     "    sockets: 2\n    cores_per_socket: 32\n    memory: 256G\n", g, g);
	cpk_buf_addstr(&text, "partitions: [{name: all, nodes: ALL, default: true}, "
		       "{name: half, nodes: 'r[00-19]n[001-250]'}]\n");
	m = parse(text.buf, &d);
	m2 = parse(text.buf, &d);
	ok(m && m2 && m->n_nodes == 10000, "10,000 nodes parse");
	ok(m && m->slurm.def_mem_per_cpu == 262144 / 64, "DefMemPerCPU = memory / cpus");
	if (m && m2) {
		cpk_render_slurm_conf(m, &a);
		cpk_render_slurm_conf(m2, &b);
		ok(a.len == b.len && !memcmp(a.buf, b.buf, a.len), "same input, same bytes");
		ok(strstr(a.buf, "\nNodeName=r39n[001-250] NodeAddr=10.39.0.[1-250] CPUs=64 ") != NULL,
		   "node lines are host-list compressed");
		ok(strstr(a.buf, "\nPartitionName=half Nodes=r00n[001-250],r01n[001-250],") != NULL,
		   "partition nodes are compressed");
	}
	cpk_model_free(m);
	cpk_model_free(m2);
	cpk_diags_release(&d);
	cpk_buf_release(&text);
	cpk_buf_release(&a);
	cpk_buf_release(&b);
}


/* Parses TEXT after the usual head; NULL (and the first error shown) if refused. */
static struct cpk_model *parse_with(const char *nodes_extra, const char *partition_extra,
				    const char *tail)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_buf t = CPK_BUF_INIT;
	struct cpk_model *m;

	cpk_buf_addf(&t, "cluster: {name: t}\ncontrol: {name: ctl, address: 10.0.0.1}\n"
		     "nodes:\n  - names: c[1-2]\n%s"
		     "partitions:\n  - {name: p, nodes: ALL%s}\n%s",
		     nodes_extra, partition_extra, tail);
	m = parse(t.buf, &d);
	if (!m && d.n)
		printf("# %d:%d: %s\n", d.v[0].line, d.v[0].col, d.v[0].msg);
	cpk_diags_release(&d);
	cpk_buf_release(&t);
	return m;
}

/* Every whole number at the ends of its range is accepted and kept. */
static void test_bounds_accepted(void)
{
	struct cpk_model *m;

	m = parse_with("    cpus: 1048576\n    memory: 1099511627776\n    tmp_disk: 1048576T\n"
		       "    weight: 65533\n    gpus: {count: 1024}\n"
		       "  - names: d1\n    sockets: 1024\n    cores_per_socket: 65536\n"
		       "    threads_per_core: 64\n",
		       ", max_nodes: 1000000, priority_tier: 65533",
		       "slurm: {controller_port: 65535, node_port: 1, def_mem_per_cpu: 1099511627776,\n"
		       "        max_node_count: 1000000, tree_width: 65533, slurmd_timeout: 65533,\n"
		       "        return_to_service: 2}\n"
		       "stage: {connections: 64, retries: 10}\n"
		       "users: {uid_range: 1000-4294967294, gid_range: 4294967294-4294967294}\n");
	if (ok(m != NULL, "every key at its largest value is accepted")) {
		ok(m->groups[0].cpus == 1048576 && m->groups[0].memory_mb == UINT64_C(1) << 40 &&
		   m->groups[0].tmp_disk_mb == UINT64_C(1) << 40 && m->groups[0].weight == 65533 &&
		   m->groups[0].gpus.count == 1024, "node values kept");
		ok(m->groups[1].sockets == 1024 && m->groups[1].cores_per_socket == 65536 &&
		   m->groups[1].threads_per_core == 64 &&
		   m->groups[1].cpus == UINT64_C(1024) * 65536 * 64, "topology kept, cpus its product");
		ok(m->partitions[0].max_nodes == 1000000 && m->partitions[0].priority_tier == 65533,
		   "partition values kept");
		ok(m->slurm.controller_port == 65535 && m->slurm.node_port == 1 &&
		   m->slurm.def_mem_per_cpu == UINT64_C(1) << 40 &&
		   m->slurm.max_node_count == 1000000 && m->slurm.tree_width == 65533 &&
		   m->slurm.slurmd_timeout == 65533 && m->slurm.return_to_service == 2,
		   "slurm values kept");
		ok(m->stage.connections == 64 && m->stage.retries == 10, "stage values kept");
		ok(m->users.uid_range.lo == 1000 && m->users.uid_range.hi == 4294967294u,
		   "uid_range 1000-4294967294: the whole schema range");
		ok(m->users.gid_range.lo == 4294967294u && m->users.gid_range.hi == 4294967294u,
		   "gid_range of one id, the largest");
	}
	cpk_model_free(m);

	m = parse_with("    cpus: 1\n    memory: 1\n    tmp_disk: 1024K\n    weight: 1\n"
		       "    gpus: {count: 1}\n"
		       "  - names: d1\n    sockets: 1\n    cores_per_socket: 1\n    threads_per_core: 1\n",
		       ", max_nodes: 1, priority_tier: 1",
		       "slurm: {controller_port: 1, node_port: 65535, def_mem_per_cpu: 1,\n"
		       "        max_node_count: 3, tree_width: 1, slurmd_timeout: 1, return_to_service: 0}\n"
		       "stage: {connections: 1, retries: 0}\n"
		       "users: {uid_range: 1000-1000, gid_range: 1000-1001}\n");
	if (ok(m != NULL, "every key at its smallest value is accepted")) {
		ok(m->groups[0].cpus == 1 && m->groups[0].memory_mb == 1 &&
		   m->groups[0].tmp_disk_mb == 1 && m->groups[0].weight == 1 &&
		   m->groups[0].gpus.count == 1, "node values kept (1024K is 1 MiB)");
		is_str(m->groups[0].gpus.file, "/dev/nvidia0", "one GPU: one device file");
		ok(m->groups[1].cpus == 1, "1 x 1 x 1 is one cpu");
		ok(m->slurm.controller_port == 1 && m->slurm.node_port == 65535 &&
		   m->slurm.max_node_count == 3 && m->slurm.return_to_service == 0 &&
		   m->stage.retries == 0, "values kept");
		ok(m->users.uid_range.lo == 1000 && m->users.uid_range.hi == 1000,
		   "uid_range of one id, the smallest");
	}
	cpk_model_free(m);
}

/* default_time equal to max_time, in every format, is accepted. */
static void test_times(void)
{
	static const struct { const char *max, *def; } same[] = {
		{ "60", "1:00:00" }, { "1-0", "1440" }, { "2:00", "0:02:00" },
		{ "0-1:30", "90" }, { "1-00:00:00", "24:00:00" }, { "1-2:3:4", "26:03:04" },
		{ "UNLIMITED", "UNLIMITED" }, { "infinite", "UNLIMITED" }, { "UNLIMITED", "1-0" },
		{ "999999999", "999999999" },
	};
	size_t i;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		char extra[128];
		struct cpk_model *m;

		snprintf(extra, sizeof(extra), ", max_time: \"%s\", default_time: \"%s\"",
			 same[i].max, same[i].def);
		m = parse_with("", extra, "");
		ok(m != NULL, "max_time %s, default_time %s: accepted", same[i].max, same[i].def);
		if (m && !strcasecmp(same[i].max, "infinite"))
			is_str(m->partitions[0].max_time, "UNLIMITED", "INFINITE is written UNLIMITED");
		cpk_model_free(m);
	}
}

/* Names at their longest, values in any case. */
static void test_names(void)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m;

	m = parse("cluster: {name: a-cluster-name-that-is-thirty-nine-c1}\n"
		  "control: {name: abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefgh,"
		  " address: \"fd00::1\"}\n"
		  "nodes: [{names: c1}]\n"
		  "partitions: [{name: p, nodes: ALL, state: drain, oversubscribe: force}]\n"
		  "slurm: {select_type: CONS_TRES, task_plugins: [Affinity]}\n", &d);
	if (ok(m != NULL, "a 39-character cluster name and a 63-character host name")) {
		is_str(m->partitions[0].state, "DRAIN", "choices are written as the schema has them");
		is_str(m->partitions[0].oversubscribe, "FORCE", "oversubscribe too");
		is_str(m->slurm.select_type, "cons_tres", "and select_type");
		is_str(m->slurm.task_plugins.v[0], "affinity", "and list items");
	}
	cpk_model_free(m);
	cpk_diags_release(&d);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		printf("Bail out! cannot write %s\n", path);
}

/* nodes.d: every *.yaml fragment beside the description, in name order. */
static void test_nodes_d(void)
{
	char dir[] = "/tmp/cpk-model.XXXXXX", path[256], main_path[256], cmd[300];
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = NULL;
	cpk_err_t r;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(main_path, sizeof(main_path), "%s/cluster.yaml", dir);
	write_text(main_path, "cluster: {name: t}\ncontrol: {name: ctl, address: 10.0.0.1}\n"
		   "nodes: [{names: 'a[1-2]'}]\npartitions: [{name: p, nodes: ALL}]\n");
	r = cpk_model_load(main_path, &m, &d);
	ok(r == CPK_OK && m && m->n_nodes == 2, "no nodes.d: only the description");
	cpk_model_free(m);
	cpk_diags_release(&d);
	snprintf(path, sizeof(path), "%s/nodes.d", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/nodes.d/20-c.yaml", dir);
	write_text(path, "nodes:\n  - names: c[1-2]\n  - names: c3\n    memory: 1G\n");
	snprintf(path, sizeof(path), "%s/nodes.d/10-b.yaml", dir);
	write_text(path, "nodes: [{names: b1}]\n");
	snprintf(path, sizeof(path), "%s/nodes.d/.hidden.yaml", dir);
	write_text(path, "nodes: [{names: hidden1}]\n");
	snprintf(path, sizeof(path), "%s/nodes.d/30-d.yaml.bak", dir);
	write_text(path, "nodes: [{names: bak1}]\n");
	snprintf(path, sizeof(path), "%s/nodes.d/.yaml", dir);
	write_text(path, "nodes: [{names: dot1}]\n");
	r = cpk_model_load(main_path, &m, &d);
	if (ok(r == CPK_OK && m, "fragments merged (%s)", r ? cpk_errmsg() : "ok")) {
		is_int((long long)m->n_groups, 4, "four groups: the description's, then each fragment's");
		is_int((long long)m->n_nodes, 6, "six nodes");
		ok(m->n_nodes == 6 && !strcmp(m->nodes[0].name, "a1") &&
		   !strcmp(m->nodes[2].name, "b1") && !strcmp(m->nodes[3].name, "c1") &&
		   !strcmp(m->nodes[5].name, "c3"), "in the order: description, then file names");
		ok(m->n_groups == 4 && m->groups[3].memory_mb == 1024, "a fragment's keys are kept");
		ok(!cpk_model_find_node(m, "hidden1") && !cpk_model_find_node(m, "bak1") &&
		   !cpk_model_find_node(m, "dot1"), "hidden files and other names are ignored");
		is_int((long long)m->slurm.max_node_count, 6 + 128, "derived values count them");
	}
	cpk_model_free(m);
	cpk_diags_release(&d);
	m = NULL;

	/* errors in a fragment name the fragment */
	snprintf(path, sizeof(path), "%s/nodes.d/40-e.yaml", dir);
	write_text(path, "nodes:\n  - names: a2\n  - names: e1\n    sockets: 0\npartitions: []\n");
	r = cpk_model_load(main_path, &m, &d);
	ok(r == CPK_ERR_CONFIG && !m, "a bad fragment: the description is refused");
	if (is_int((long long)d.n, 3, "three problems")) {
		ok(strstr(d.v[0].file, "40-e.yaml") && d.v[0].line == 2 &&
		   strstr(d.v[0].msg, "node 'a2' is already defined at") &&
		   strstr(d.v[0].msg, "cluster.yaml:3:17"),
		   "a node of the description again: %s:%d: %s", d.v[0].file, d.v[0].line, d.v[0].msg);
		ok(strstr(d.v[1].file, "40-e.yaml") && d.v[1].line == 4 && d.v[1].col == 14 &&
		   strstr(d.v[1].msg, "sockets"), "a bad value: %s:%d:%d: %s", d.v[1].file,
		   d.v[1].line, d.v[1].col, d.v[1].msg);
		ok(strstr(d.v[2].file, "40-e.yaml") && d.v[2].line == 5 &&
		   strstr(d.v[2].msg, "only 'nodes' is allowed there"),
		   "a key other than nodes: %s:%d: %s", d.v[2].file, d.v[2].line, d.v[2].msg);
	}
	cpk_diags_release(&d);
	write_text(path, "{}\n");
	r = cpk_model_load(main_path, &m, &d);
	ok(r == CPK_ERR_CONFIG && d.n == 1 && strstr(d.v[0].msg, "missing required key 'nodes'"),
	   "a fragment without nodes: %s", d.n ? d.v[0].msg : "");
	cpk_diags_release(&d);
	unlink(path);

	/* a description with no nodes of its own, all in fragments */
	write_text(main_path, "cluster: {name: t}\ncontrol: {name: ctl, address: 10.0.0.1}\n"
		   "partitions: [{name: p, nodes: 'b1,c[1-3]'}]\n");
	r = cpk_model_load(main_path, &m, &d);
	ok(r == CPK_OK && m && m->n_groups == 3 && m->n_nodes == 4,
	   "all nodes from fragments (%s)", r ? cpk_errmsg() : "ok");
	cpk_model_free(m);
	cpk_diags_release(&d);

	/* nodes.d that is a file: no fragments */
	snprintf(cmd, sizeof(cmd), "rm -rf %s/nodes.d && echo x > %s/nodes.d", dir, dir);
	if (system(cmd) == 0) {
		write_text(main_path, "cluster: {name: t}\ncontrol: {name: ctl, address: 10.0.0.1}\n"
			   "nodes: [{names: 'a[1-2]'}]\npartitions: [{name: p, nodes: ALL}]\n");
		r = cpk_model_load(main_path, &m, &d);
		ok(r == CPK_OK && m && m->n_nodes == 2, "a plain file named nodes.d is not read");
		cpk_model_free(m);
		cpk_diags_release(&d);
	}
	snprintf(path, sizeof(path), "%s/missing.yaml", dir);
	is_int(cpk_model_load(path, &m, &d), CPK_ERR_NOTFOUND, "a missing description: not found");
	ok(m == NULL && d.n == 0, "no model, no diagnostics");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		ok(0, "rm -rf %s", dir);
}

int main(void)
{
	test_bounds_accepted();
	test_times();
	test_names();
	test_nodes_d();
	test_defaults();
	test_errors_sorted();
	test_sizes();
	test_big();
	cpk_model_free(NULL);
	cpk_diags_release(NULL);
	return done_testing();
}
