/* Unit tests for lib/model: defaults, derived values, lookups, errors. */
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
	test_defaults();
	test_errors_sorted();
	test_sizes();
	test_big();
	cpk_model_free(NULL);
	cpk_diags_release(NULL);
	return done_testing();
}
