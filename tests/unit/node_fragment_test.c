/*
 * lib/model/fragment.c: writing and removing nodes.d/NAME.yaml, with
 * hostile names, duplicate names and addresses, a symbolic link for
 * nodes.d; and lib/slurm/compare.c on a made-up Slurm view.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk/node.h"
#include "cpk/slurm.h"
#include "cpk/fsutil.h"
#include "tap.h"

static char dir[] = "/tmp/cpk-node.XXXXXX";
static char main_path[256];

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		printf("Bail out! cannot write %s\n", path);
}

static int exists(const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &st) == 0;
}

/* Number of entries in nodes.d (-1: no nodes.d). */
static int count_nodes_d(void)
{
	char cmd[512];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s/nodes.d 2>/dev/null | wc -l", dir);
	f = popen(cmd, "r");
	if (f && fscanf(f, "%d", &n) != 1)
		n = -1;
	if (f)
		pclose(f);
	return exists("nodes.d") ? n : -1;
}

/* Fills S (released first) with NAME, ADDR and this topology. */
static void fill(struct cpk_nodespec *s, const char *name, const char *addr, uint64_t cpus,
		 uint64_t sockets, uint64_t cores, uint64_t threads)
{
	cpk_nodespec_release(s);
	s->name = strdup(name);
	s->address = strdup(addr);
	s->cpus = cpus;
	s->sockets = sockets;
	s->cores_per_socket = cores;
	s->threads_per_core = threads;
}

static cpk_err_t add(const char *name, const char *addr, struct cpk_diags *d)
{
	struct cpk_nodespec s = CPK_NODESPEC_INIT;
	cpk_err_t r;

	s.name = strdup(name);
	s.address = addr ? strdup(addr) : NULL;
	s.cpus = 4;
	s.memory_mb = 1000;
	r = cpk_node_fragment_add(main_path, &s, d);
	cpk_nodespec_release(&s);
	return r;
}

static int has_diag(const struct cpk_diags *d, const char *want)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strstr(d->v[i].msg, want))
			return 1;
	return 0;
}

static void test_names(void)
{
	static const char *const bad[] = {
		"", "../x", "a/b", "x y", "-x", "x.y", "c[1-2]", "a,b", "x\n", ".hidden",
		"nodes.d", "..", "0123456789012345678901234567890123456789012345678901234567890123",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(cpk_node_name_check(bad[i]) == CPK_ERR_INVALID, "hostile node name %zu refused: %s", i, cpk_errmsg());
	ok(cpk_node_name_check("c001") == CPK_OK && cpk_node_name_check("gpu-01") == CPK_OK &&
	   cpk_node_name_check("7x") == CPK_OK, "c001, gpu-01, 7x accepted");
	ok(cpk_node_address_check("10.0.0.5") == CPK_OK && cpk_node_address_check("fd00::5") == CPK_OK &&
	   cpk_node_address_check("c5.example.org") == CPK_OK, "IPv4, IPv6, host name accepted");
	ok(cpk_node_address_check("10.0.0.5 ; x") == CPK_ERR_INVALID &&
	   cpk_node_address_check("a..b") == CPK_ERR_INVALID &&
	   cpk_node_address_check("\"x\"") == CPK_ERR_INVALID &&
	   cpk_node_address_check("") == CPK_ERR_INVALID, "addresses with blanks, quotes, empty labels refused");
}

static void test_add_del(void)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = NULL;
	struct cpk_buf before = CPK_BUF_INIT, after = CPK_BUF_INIT;
	char path[512];
	cpk_err_t r;

	snprintf(main_path, sizeof(main_path), "%s/cluster.yaml", dir);
	write_text(main_path, "cluster: {name: t}\ncontrol: {name: ctl, address: 10.0.0.1}\n"
		   "nodes: [{names: 'a[1-2]', addresses: '10.0.0.[11-12]'}]\n"
		   "partitions: [{name: p, nodes: ALL}]\n");
	cpk_read_file(main_path, &before, 0);

	r = add("../x", "10.0.0.30", &d);
	ok(r == CPK_ERR_INVALID && count_nodes_d() == -1, "name '../x' refused, nothing made");
	r = add("x y", "10.0.0.30", &d);
	ok(r == CPK_ERR_INVALID && count_nodes_d() == -1, "a name with a space refused");

	r = add("b1", "10.0.0.21", &d);
	ok(r == CPK_OK, "b1 added (%s)", r ? cpk_errmsg() : "ok");
	ok(exists("nodes.d/b1.yaml") && count_nodes_d() == 1, "nodes.d/b1.yaml, and nothing else");
	r = cpk_model_load(main_path, &m, &d);
	ok(r == CPK_OK && m && cpk_model_find_node(m, "b1") &&
	   !strcmp(cpk_model_find_node(m, "b1")->address, "10.0.0.21") &&
	   m->groups[m->n_groups - 1].cpus == 4 && m->groups[m->n_groups - 1].memory_mb == 1000,
	   "the description now has b1 with its address, CPUs and memory");
	cpk_model_free(m);
	m = NULL;

	r = add("a1", "10.0.0.40", &d);
	ok(r == CPK_ERR_EXISTS && strstr(cpk_errmsg(), "node a1 is already described (") &&
	   strstr(cpk_errmsg(), "cluster.yaml:3)") && count_nodes_d() == 1,
	   "a name of cluster.yaml refused, nothing written (%s)", cpk_errmsg());
	r = add("b2", "10.0.0.12", &d);
	ok(r == CPK_ERR_EXISTS && strstr(cpk_errmsg(), "address 10.0.0.12 is already node a2's") &&
	   count_nodes_d() == 1, "an address of cluster.yaml refused");
	r = add("a0", "10.0.0.21", &d);
	ok(r == CPK_ERR_EXISTS && strstr(cpk_errmsg(), "already node b1's (") &&
	   strstr(cpk_errmsg(), "nodes.d/b1.yaml") && count_nodes_d() == 1,
	   "an address of another fragment refused, whatever the name order");
	r = add("b4", "10.0.0.1", &d);
	ok(r == CPK_ERR_EXISTS && strstr(cpk_errmsg(), "control node's address") && count_nodes_d() == 1,
	   "the control node's address refused");
	r = add("ctl", "10.0.0.41", &d);
	ok(r == CPK_ERR_EXISTS && strstr(cpk_errmsg(), "control node's name") && count_nodes_d() == 1,
	   "the control node's name refused");
	{
		struct cpk_nodespec s = CPK_NODESPEC_INIT;

		fill(&s, "b5", "10.0.0.42", 4, 3, 1, 1);
		r = cpk_node_fragment_add(main_path, &s, &d);
		ok(r == CPK_ERR_CONFIG && d.n && strstr(d.v[0].file, "nodes.d/b5.yaml") &&
		   has_diag(&d, "does not match sockets x cores_per_socket") &&
		   count_nodes_d() == 1, "an invalid node (cpus 4, topology 3): the merged description's diagnostics, nothing written");
		cpk_diags_release(&d);
		cpk_nodespec_release(&s);
	}
	r = add("b1", "10.0.0.50", &d);
	ok(r == CPK_ERR_EXISTS && strstr(cpk_errmsg(), "already exists") && count_nodes_d() == 1,
	   "b1 again: its fragment exists");

	cpk_read_file(main_path, &after, 0);
	ok(before.len == after.len && !memcmp(before.buf, after.buf, before.len),
	   "cluster.yaml is never rewritten");

	r = cpk_node_fragment_remove(main_path, "a1");
	ok(r == CPK_ERR_NOTFOUND && strstr(cpk_errmsg(), "admin's"),
	   "del of a cluster.yaml node: not a fragment (%s)", cpk_errmsg());
	r = cpk_node_fragment_remove(main_path, "../cluster");
	ok(r == CPK_ERR_INVALID && exists("cluster.yaml"), "del '../cluster' refused");
	r = cpk_node_fragment_remove(main_path, "b1");
	ok(r == CPK_OK && !exists("nodes.d/b1.yaml") && count_nodes_d() == 0, "b1's fragment removed");
	r = cpk_node_fragment_remove(main_path, "b1");
	ok(r == CPK_ERR_NOTFOUND, "b1 again: not found");

	/* a fragment that is a symbolic link is not followed by del */
	snprintf(path, sizeof(path), "%s/nodes.d/l1.yaml", dir);
	if (symlink(main_path, path) < 0)
		printf("Bail out! symlink\n");
	r = cpk_node_fragment_remove(main_path, "l1");
	ok(r == CPK_ERR_PERM && exists("nodes.d/l1.yaml") && exists("cluster.yaml"),
	   "del of a symlinked fragment refused");
	unlink(path);
	cpk_buf_release(&before);
	cpk_buf_release(&after);
}

static void test_symlinked_dir(void)
{
	char path[512], other[512];
	struct cpk_diags d = CPK_DIAGS_INIT;
	cpk_err_t r;

	snprintf(path, sizeof(path), "%s/nodes.d", dir);
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	if (rmdir(path) < 0 || mkdir(other, 0755) < 0 || symlink(other, path) < 0)
		printf("Bail out! cannot make a symlinked nodes.d\n");
	r = add("s1", "10.0.0.60", &d);
	ok(r == CPK_ERR_PERM && strstr(cpk_errmsg(), "not a directory"),
	   "a symlinked nodes.d refused (%s)", cpk_errmsg());
	snprintf(other, sizeof(other), "%s/elsewhere/s1.yaml", dir);
	ok(!exists("elsewhere/s1.yaml"), "nothing written through the link");
	r = cpk_node_fragment_remove(main_path, "s1");
	ok(r == CPK_ERR_PERM, "del through a symlinked nodes.d refused");
	unlink(path);
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	rmdir(other);
	cpk_diags_release(&d);
}

static void test_yaml_text(void)
{
	struct cpk_nodespec s = CPK_NODESPEC_INIT;
	struct cpk_buf b = CPK_BUF_INIT;

	fill(&s, "g1", "10.0.0.70", 224, 2, 56, 2);
	s.memory_mb = 2000000;
	s.gpu_type = strdup("h200");
	s.gpu_count = 8;
	ok(cpk_nodespec_yaml(&s, &b) == CPK_OK && strstr(b.buf, "  - names: g1\n") &&
	   strstr(b.buf, "addresses: \"10.0.0.70\"") && strstr(b.buf, "count: 8\n      type: h200\n"),
	   "a GPU node's fragment text");
	free(s.gpu_type);
	s.gpu_type = strdup("h200: {x}");
	cpk_buf_reset(&b);
	ok(cpk_nodespec_yaml(&s, &b) == CPK_ERR_INVALID && b.len == 0, "a GPU type with YAML in it refused");
	free(s.gpu_type);
	s.gpu_type = NULL;
	s.partitions = strdup("gpu,batch-2");
	cpk_buf_reset(&b);
	ok(cpk_nodespec_yaml(&s, &b) == CPK_OK &&
	   strstr(b.buf, "  - names: g1\n    dynamic: true\n    partitions: [gpu,batch-2]\n"),
	   "a node added is dynamic, with the partitions it joins");
	free(s.partitions);
	s.partitions = strdup("gpu, {x: y}");
	cpk_buf_reset(&b);
	ok(cpk_nodespec_yaml(&s, &b) == CPK_ERR_INVALID && b.len == 0 &&
	   strstr(cpk_errmsg(), "only letters, digits"), "partitions with YAML in them refused: %s",
	   cpk_errmsg());
	free(s.partitions);
	s.partitions = strdup("gpu,,x");
	ok(cpk_nodespec_yaml(&s, &b) == CPK_ERR_INVALID && strstr(cpk_errmsg(), "an empty name"),
	   "an empty partition name refused");
	cpk_nodespec_release(&s);
	cpk_buf_release(&b);
}

static void test_compare(void)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = NULL;
	struct cpk_slurm_node v[3];
	struct cpk_slurm_nodes sn = { v, 3 };
	struct cpk_node_rows rows = CPK_NODE_ROWS_INIT;
	struct cpk_buf out = CPK_BUF_INIT;
	static const char text[] = "cluster: {name: t}\ncontrol: {name: ctl, address: 10.0.0.1}\n"
		"nodes: [{names: 'a[1-3]', addresses: '10.0.0.[11-13]'}]\n"
		"partitions: [{name: p, nodes: ALL}]\n";

	memset(v, 0, sizeof(v));
	v[0].name = "a1"; v[0].state = "idle"; v[0].cpus = 4; v[0].address = "10.0.0.11";
	v[1].name = "a3"; v[1].state = "down*"; v[1].cpus = 4; v[1].address = "10.9.9.9";
	v[1].reason = "Not responding\x1b[2J";
	v[2].name = "z9"; v[2].state = "mixed"; v[2].cpus = 8; v[2].alloc_cpus = 2; v[2].jobs = 1;
	v[2].dynamic = 1;
	if (cpk_model_parse("t.yaml", text, sizeof(text) - 1, &m, &d) != CPK_OK) {
		printf("Bail out! the test description is invalid\n");
		return;
	}
	ok(cpk_node_compare(m, &sn, &rows) == CPK_OK && rows.n == 4, "four rows: three described, one not");
	ok(rows.n == 4 && rows.v[0].agree == CPK_NODE_BOTH && !rows.v[0].address_differs &&
	   rows.v[1].agree == CPK_NODE_NOT_IN_SLURM && !rows.v[1].slurm &&
	   rows.v[2].agree == CPK_NODE_BOTH && rows.v[2].address_differs &&
	   rows.v[3].agree == CPK_NODE_NOT_DESCRIBED && !rows.v[3].desc &&
	   !strcmp(rows.v[3].name, "z9"), "a1 ok, a2 not in Slurm, a3 address differs, z9 not described");
	is_int((long long)cpk_node_rows_format(&rows, 0, &out), 3, "three rows disagree");
	ok(strstr(out.buf, "not-in-slurm") && strstr(out.buf, "not-described") &&
	   strstr(out.buf, "2/8") && strstr(out.buf, "slurm's address 10.9.9.9") &&
	   !strchr(out.buf, '\x1b'), "the table shows them, no escape byte from Slurm's reason");
	cpk_buf_reset(&out);
	cpk_node_rows_format(&rows, 1, &out);
	ok(strstr(out.buf, "\"disagree\":3") && strstr(out.buf, "\"name\":\"z9\",\"agree\":\"not-described\"") &&
	   strstr(out.buf, "\"dynamic\":true") && strstr(out.buf, "\\u001b"), "the JSON too, escaped");
	cpk_buf_release(&out);
	cpk_node_rows_release(&rows);
	cpk_model_free(m);
	cpk_diags_release(&d);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_names();
	test_add_del();
	test_symlinked_dir();
	test_yaml_text();
	test_compare();
	snprintf(cmd, sizeof(cmd), "rm -r -- '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
