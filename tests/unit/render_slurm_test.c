/*
 * Unit tests for lib/render: slurm.conf, gres.conf and cgroup.conf.  They
 * name only keys and plugins that Slurm 22.05 (Debian 12) and 24.11
 * (Debian 13) both accept, "none" is said by leaving the key out, each
 * optional key of a node or a partition shows when given and is left out
 * when not, and the branches the golden files do not reach (linear,
 * accounting, task none) render.  Lines are looked for one by one (the
 * whole files are compared in tests/t1200-render-golden.sh; the other
 * files are in render_files_test.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_check.h"
#include "tap.h"

/*
 * slurm.conf keys both releases parse (slurm_conf_options[] in
 * src/common/read_config.c of slurm-22-05-8-1 and slurm-24-11-5-1) and
 * cgroup.conf keys (src/common/cgroup.c, src/interfaces/cgroup.c) that
 * 24.11 did not retire: a key that is not here is a typo or a key one of
 * them refuses.
 */
static const char *const slurm_keys[] = {
	"ClusterName", "SlurmctldHost", "SlurmctldPort", "SlurmdPort",
	"SlurmUser", "AuthType", "AuthInfo", "CredType", "StateSaveLocation",
	"SlurmdSpoolDir", "SlurmctldPidFile", "SlurmdPidFile",
	"SlurmctldLogFile", "SlurmdLogFile", "ProctrackType", "TaskPlugin",
	"MpiDefault", "SchedulerType", "SelectType", "SelectTypeParameters",
	"DefMemPerCPU", "ReturnToService", "SlurmdTimeout", "MaxNodeCount",
	"TreeWidth", "PlugStackConfig", "GresTypes", "AccountingStorageType",
	"AccountingStorageHost", "JobAcctGatherType", "NodeName",
	"PartitionName", "NodeSet", "MinJobAge", NULL };
static const char *const cgroup_keys[] = {
	"CgroupPlugin", "ConstrainCores", "ConstrainRAMSpace",
	"ConstrainDevices", "ConstrainSwapSpace", NULL };
/* Plugins Slurm 23.11 removed: 24.11 cannot load them. */
static const char *const removed[] = {
	"select/cons_res", "task/none", "accounting_storage/none",
	"jobacct_gather/none", NULL };


/* slurm.conf of FOUR + EXTRA (NULL if the description is refused). */
static char *slurm_conf(const char *extra)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = parse4(extra, &d);
	struct cpk_buf b = CPK_BUF_INIT;

	cpk_diags_release(&d);
	if (!m)
		return NULL;
	cpk_render_slurm_conf(m, &b);
	cpk_model_free(m);
	return cpk_buf_detach(&b, NULL);
}

/* The diagnostics of FOUR + EXTRA, one per line, without the last newline
 * ("" if it is valid). */
static char *diags(const char *extra)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = parse4(extra, &d);
	struct cpk_buf b = CPK_BUF_INIT;

	cpk_diags_format(&d, &b);
	cpk_diags_release(&d);
	cpk_model_free(m);
	cpk_buf_addstr(&b, "");
	while (b.len && b.buf[b.len - 1] == '\n')	/* one TAP line */
		b.buf[--b.len] = '\0';
	return cpk_buf_detach(&b, NULL);
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

/* Does TEXT have a line starting with PREFIX? */
static int has_prefix(const char *text, const char *prefix)
{
	return *line_of(text, prefix) != '\0';
}

/* The first key of a line not in KEYS, or NULL; comments and blanks skipped. */
static char *unknown_key(const char *text, const char *const *keys)
{
	static char bad[64];
	const char *p, *eq;
	size_t i, n;

	for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (*p == '#' || *p == '\n')
			continue;
		eq = strchr(p, '=');
		n = eq ? (size_t)(eq - p) : strcspn(p, "\n");
		for (i = 0; keys[i]; i++)
			if (strlen(keys[i]) == n && !strncmp(p, keys[i], n))
				break;
		if (!keys[i]) {
			snprintf(bad, sizeof(bad), "%.*s", (int)(n < 60 ? n : 60), p);
			return bad;
		}
	}
	return NULL;
}

static const char *removed_plugin(const char *text)
{
	size_t i;

	for (i = 0; removed[i]; i++)
		if (strstr(text, removed[i]))
			return removed[i];
	return NULL;
}

static void keys_ok(const char *conf, const char *what)
{
	const char *k = conf ? unknown_key(conf, slurm_keys) : "(refused)";
	const char *r = conf ? removed_plugin(conf) : NULL;

	ok(!k, "%s: every key is one both Slurm releases read (%s)", what,
	   k ? k : "ok");
	ok(!r, "%s: no plugin Slurm 23.11 removed (%s)", what, r ? r : "none");
}

static void test_defaults(void)
{
	char *c = slurm_conf("");

	if (!ok(c != NULL, "defaults: renders"))
		return;
	keys_ok(c, "defaults");
	ok(has_line(c, "SelectType=select/cons_tres"), "defaults: select/cons_tres");
	ok(has_line(c, "SelectTypeParameters=CR_Core_Memory"), "defaults: CR_Core_Memory");
	ok(has_line(c, "TaskPlugin=task/affinity,task/cgroup"), "defaults: affinity and cgroup");
	ok(has_line(c, "ProctrackType=proctrack/cgroup"), "defaults: proctrack/cgroup");
	ok(has_line(c, "MaxNodeCount=132"), "defaults: MaxNodeCount = 4 nodes + 128");
	ok(has_line(c, "DefMemPerCPU=2048"), "defaults: DefMemPerCPU = 16 GiB / 8 CPUs");
	ok(!has_prefix(c, "AccountingStorageType=") && !has_prefix(c, "JobAcctGatherType="),
	   "defaults: no accounting keys (both releases read that as none)");
	ok(has_line(c, "GresTypes=gpu"), "defaults: GresTypes=gpu even without GPUs (a dynamic GPU node may join)");
	free(c);
}

static void test_task_none(void)
{
	char *c = slurm_conf("slurm: {task_plugins: [none], proctrack: linuxproc}\n");

	if (!ok(c != NULL, "task_plugins none: renders"))
		return;
	keys_ok(c, "task_plugins none");
	ok(!has_prefix(c, "TaskPlugin="), "task_plugins none: no TaskPlugin line");
	ok(has_line(c, "ProctrackType=proctrack/linuxproc"), "proctrack linuxproc");
	free(c);
	c = slurm_conf("slurm: {task_plugins: cgroup}\n");
	ok(c && has_line(c, "TaskPlugin=task/cgroup"), "task_plugins cgroup alone");
	free(c);
}

static void test_linear(void)
{
	char *c = slurm_conf("slurm: {select_type: linear}\n");
	char *e;

	if (!ok(c != NULL, "linear: renders"))
		return;
	keys_ok(c, "linear");
	ok(has_line(c, "SelectType=select/linear"), "linear: select/linear");
	ok(!has_prefix(c, "SelectTypeParameters="), "linear: no SelectTypeParameters");
	ok(!has_prefix(c, "MaxNodeCount="), "linear: no MaxNodeCount (both releases refuse it)");
	ok(!has_prefix(c, "DefMemPerCPU="), "linear: no derived DefMemPerCPU");
	free(c);
	e = diags("slurm:\n  select_type: linear\n  max_node_count: 64\n");
	is_str(e, "t.yaml:13:19: error: slurm.max_node_count: Slurm accepts "
	       "MaxNodeCount only with select_type cons_tres, not linear",
	       "linear with max_node_count: refused where it is given");
	free(e);
}

static void test_cons_res(void)
{
	char *e = diags("slurm:\n  select_type: cons_res\n");

	ok(strstr(e, "t.yaml:12:16: error: slurm.select_type: ") != NULL,
	   "cons_res: refused at its line and column: %s", e);
	ok(strstr(e, "use cons_tres") != NULL && strstr(e, "23.11") != NULL,
	   "cons_res: the message names cons_tres and the release that dropped it");
	free(e);
	e = diags("slurm:\n  select_type: Cons_Res\n");
	ok(strstr(e, "use cons_tres") != NULL, "any case of cons_res gets the hint");
	free(e);
	e = diags("slurm:\n  select_type: cons_foo\n");
	ok(strstr(e, "expected one of cons_tres or linear, got 'cons_foo'") != NULL,
	   "another unknown value lists the choices: %s", e);
	free(e);
	e = diags("slurm:\n  task_plugins: [affinity, cons_res]\n");
	ok(strstr(e, "expected one of affinity, cgroup or none, got 'cons_res'") != NULL,
	   "the hint is only for the field cons_res was a choice of: %s", e);
	free(e);
}

static void test_accounting(void)
{
	char *c = slurm_conf("slurm: {accounting: true}\n");

	if (!ok(c != NULL, "accounting: renders"))
		return;
	keys_ok(c, "accounting");
	ok(has_line(c, "AccountingStorageType=accounting_storage/slurmdbd") &&
	   has_line(c, "AccountingStorageHost=ctl"), "accounting: slurmdbd on the control node");
	ok(has_line(c, "JobAcctGatherType=jobacct_gather/cgroup"),
	   "accounting with proctrack cgroup: jobacct_gather/cgroup");
	free(c);
	c = slurm_conf("slurm: {accounting: true, proctrack: pgid}\n");
	ok(c && has_line(c, "JobAcctGatherType=jobacct_gather/linux"),
	   "accounting with proctrack pgid: jobacct_gather/linux");
	free(c);
}

static void test_nodes_partitions(void)
{
	char *c = slurm_conf(
		"  - name: q\n"
		"    nodes: c[03-04],c01\n"
		"    max_time: '30:00'\n"
		"    default_time: '10:00'\n"
		"    max_nodes: 2\n"
		"    priority_tier: 5\n"
		"    oversubscribe: FORCE\n"
		"    allow_groups: [a, b]\n"
		"    state: DRAIN\n"
		"slurm: {extra: ['MinJobAge=600']}\n");

	if (!ok(c != NULL, "partition options: renders"))
		return;
	keys_ok(c, "partition options");
	ok(has_line(c, "PartitionName=p Nodes=ALL Default=YES MaxTime=UNLIMITED State=UP"),
	   "the default partition");
	ok(has_line(c, "PartitionName=q Nodes=c[03-04,01],cpk_q MaxTime=30:00 DefaultTime=10:00 "
		    "MaxNodes=2 PriorityTier=5 OverSubscribe=FORCE AllowGroups=a,b State=DRAIN") &&
	   has_line(c, "NodeSet=cpk_q Feature=cpk_q"),
	   "every partition option, nodes compressed in the order given, its NodeSet for dynamic nodes");
	ok(has_line(c, "NodeName=c[01-04] NodeAddr=10.0.0.[11-14] CPUs=8 Sockets=2 "
		    "CoresPerSocket=4 ThreadsPerCore=1 RealMemory=16384 State=UNKNOWN"),
	   "the node line");
	ok(has_line(c, "MinJobAge=600"), "slurm.extra lines verbatim");
	free(c);
}

static void test_partition_keys(void)
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
		"  - {name: ex, nodes: c2, oversubscribe: exclusive}\n", NULL);
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
	is_str(l, "PartitionName=bare Nodes=c[3-4,1],cpk_bare MaxTime=UNLIMITED State=UP",
	       "no optional key: none of them written, defaults for the rest");
	ok(has_word(line_of(b.buf, "PartitionName=no "), "OverSubscribe=NO"), "OverSubscribe=NO");
	ok(has_word(line_of(b.buf, "PartitionName=yes "), "OverSubscribe=YES"), "OverSubscribe=YES");
	ok(has_word(line_of(b.buf, "PartitionName=ex "), "OverSubscribe=EXCLUSIVE"),
	   "OverSubscribe=EXCLUSIVE");
	cpk_buf_release(&b);
	cpk_model_free(m);
}

static void test_node_keys(void)
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
		"slurm: {def_mem_per_cpu: 100}\n", NULL);
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
		  "slurm: {extra: ['SlurmctldDebug=debug', 'MessageTimeout=20']}\n",
		  NULL);
	if (ok(m != NULL, "a description without GPUs or memory")) {
		cpk_render_slurm_conf(m, &b);
		ok(has_line(b.buf, "GresTypes=gpu"), "GresTypes=gpu all the same");
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

static void test_gres(void)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m;
	struct cpk_buf b = CPK_BUF_INIT;
	static const char two[] =
		"nodes:\n"
		"  - names: g[1-2]\n"
		"    gpus: {type: a100, count: 2}\n"
		"  - names: h1\n"
		"    gpus: {count: 1, file: /dev/x0}\n"
		"  - names: c1\n"
		"partitions:\n"
		"  - {name: p, nodes: ALL}\n";

	m = parse(two, &d);
	cpk_diags_release(&d);
	if (!ok(m != NULL, "gres: parses"))
		return;
	cpk_render_gres_conf(m, &b);
	ok(has_line(b.buf, "NodeName=g[1-2] Name=gpu Type=a100 File=/dev/nvidia[0-1]"),
	   "gres.conf: a typed group, default device files");
	ok(has_line(b.buf, "NodeName=h1 Name=gpu File=/dev/x0"),
	   "gres.conf: an untyped group, its own device file");
	ok(!strstr(b.buf, "NodeName=c1"), "gres.conf: nothing for a group without GPUs");
	cpk_buf_reset(&b);
	cpk_render_slurm_conf(m, &b);
	ok(has_line(b.buf, "GresTypes=gpu"), "slurm.conf: GresTypes=gpu");
	ok(has_prefix(b.buf, "NodeName=g[1-2] CPUs=1 ") && strstr(b.buf, " Gres=gpu:a100:2 ") &&
	   strstr(b.buf, " Gres=gpu:1 "), "slurm.conf: Gres=gpu:TYPE:N and gpu:N");
	cpk_buf_release(&b);
	cpk_model_free(m);
}

static void test_cgroup_conf(void)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = parse4("slurm:\n  cgroup: {plugin: cgroup/v2, constrain_swap: true}\n", &d);
	struct cpk_buf b = CPK_BUF_INIT;
	const char *k;

	cpk_diags_release(&d);
	if (!ok(m != NULL, "cgroup v2: parses"))
		return;
	cpk_render_cgroup_conf(m, &b);
	k = unknown_key(b.buf, cgroup_keys);
	ok(!k, "cgroup.conf: only keys both releases read (%s)", k ? k : "ok");
	ok(has_line(b.buf, "CgroupPlugin=cgroup/v2") &&
	   has_line(b.buf, "ConstrainSwapSpace=yes") &&
	   has_line(b.buf, "ConstrainCores=yes") &&
	   has_line(b.buf, "ConstrainRAMSpace=yes") &&
	   has_line(b.buf, "ConstrainDevices=yes"), "cgroup.conf: cgroup/v2 and the constraints");
	ok(!strstr(b.buf, "CgroupAutomount") && !strstr(b.buf, "CgroupMountpoint"),
	   "cgroup.conf: no cgroup v1 mount keys (CgroupAutomount is gone in 24.11)");
	cpk_buf_release(&b);
	cpk_model_free(m);
}

/* The diagnostics of two groups (c[1-2], then GROUP), a default
 * partition, then EXTRA (after the partitions list: more partitions or
 * other sections), one per line ("" if valid). */
static char *ddiags(const char *group, const char *extra)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_buf t = CPK_BUF_INIT, b = CPK_BUF_INIT;
	struct cpk_model *m;

	cpk_buf_addf(&t, "nodes:\n  - {names: 'c[1-2]', cpus: 4}\n  - %s\npartitions:\n"
		     "  - {name: p, nodes: ALL, default: true}\n%s", group, extra);
	m = parse(t.buf, &d);
	cpk_diags_format(&d, &b);
	cpk_diags_release(&d);
	cpk_model_free(m);
	cpk_buf_release(&t);
	cpk_buf_addstr(&b, "");
	while (b.len && b.buf[b.len - 1] == '\n')
		b.buf[--b.len] = '\0';
	return cpk_buf_detach(&b, NULL);
}

/* Dynamic groups: not in slurm.conf; partitions reach them by NodeSet; a
 * node's slurmd drop-in has -Z and its --conf; the checks. */
static void test_dynamic(void)
{
	static const char dyn[] =
		"  - names: g[1-2]\n"
		"    addresses: 10.0.0.[21-22]\n"
		"    cpus: 16\n"
		"    memory: 64G\n"
		"    gpus: {type: h100, count: 8}\n"
		"    features: [ib]\n"
		"    dynamic: true\n"
		"    partitions: [gpu, cpu]\n"
		"partitions:\n"
		"  - {name: all, nodes: ALL, default: true}\n"
		"  - {name: cpu, nodes: 'c[1-2]'}\n"
		"  - {name: gpu}\n";
	struct cpk_buf t = CPK_BUF_INIT, b = CPK_BUF_INIT, s0 = CPK_BUF_INIT;
	struct cpk_model *m, *m0;
	struct cpk_fileset fs = CPK_FILESET_INIT;
	const struct cpk_file *f;
	char *d;

	cpk_buf_addf(&t, "nodes:\n  - {names: 'c[1-2]', cpus: 4}\n%s", dyn);
	m = parse(t.buf, NULL);
	if (!ok(m != NULL, "dynamic: a description with a dynamic group"))
		goto out;
	cpk_render_slurm_conf(m, &b);
	ok(!strstr(b.buf, "NodeName=g"), "dynamic: its nodes are not in slurm.conf");
	ok(has_line(b.buf, "MaxNodeCount=130"), "dynamic: MaxNodeCount counts the static nodes (2 + 128)");
	ok(has_line(b.buf, "PartitionName=all Nodes=ALL Default=YES MaxTime=UNLIMITED State=UP") &&
	   has_line(b.buf, "NodeSet=cpk_cpu Feature=cpk_cpu") &&
	   has_line(b.buf, "PartitionName=cpu Nodes=c[1-2],cpk_cpu MaxTime=UNLIMITED State=UP") &&
	   has_line(b.buf, "PartitionName=gpu Nodes=cpk_gpu MaxTime=UNLIMITED State=UP"),
	   "dynamic: partitions reach them through NodeSets; one with no static node has only its set");
	/* the same description without the dynamic group: the same slurm.conf
	 * but for the name of the file (adding a dynamic node restarts nothing) */
	m0 = parse("nodes:\n  - {names: 'c[1-2]', cpus: 4}\npartitions:\n"
		   "  - {name: all, nodes: ALL, default: true}\n  - {name: cpu, nodes: 'c[1-2]'}\n"
		   "  - {name: gpu}\n", NULL);
	if (m0)
		cpk_render_slurm_conf(m0, &s0);
	is_str(s0.buf, b.buf, "dynamic: slurm.conf is the same with and without the dynamic nodes");
	cpk_model_free(m0);
	ok(cpk_render(m, CPK_ROLE_COMPUTE, "g2", &fs) == CPK_OK &&
	   (f = cpk_fileset_get(&fs, "slurmd-dynamic.conf")) != NULL &&
	   has_line(f->data.buf, "[Service]") && has_line(f->data.buf, "ExecStart=") &&
	   has_line(f->data.buf, "ExecStart=/usr/sbin/slurmd -D -s -Z -N g2 --conf \"CPUs=16 "
		    "RealMemory=65536 Gres=gpu:h100:8 Feature=ib,cpk_gpu,cpk_cpu\" $SLURMD_OPTIONS"),
	   "dynamic: g2's slurmd drop-in: -Z -N g2, its hardware, its features and partitions' sets");
	cpk_fileset_release(&fs);
	ok(cpk_render(m, CPK_ROLE_COMPUTE, "c1", &fs) == CPK_OK &&
	   !cpk_fileset_get(&fs, "slurmd-dynamic.conf"), "dynamic: no drop-in for a static node");
	cpk_fileset_release(&fs);
	cpk_model_free(m);

	d = ddiags("{names: 'g[1-2]', cpus: 2, partitions: [p]}", "");
	is_str(d, "t.yaml:5:44: error: nodes[1].partitions: only a dynamic group names its partitions "
	       "(a static node is named in the partition's nodes)", "dynamic: partitions on a static group");
	free(d);
	d = ddiags("{names: 'g[1-2]', cpus: 2, dynamic: true, partitions: [p, nope]}", "");
	is_str(d, "t.yaml:5:63: error: nodes[1].partitions: no partition is named 'nope'",
	       "dynamic: an unknown partition");
	free(d);
	d = ddiags("{names: 'g[1-2]', cpus: 2, dynamic: true}", "  - {name: q, nodes: 'c1,g2'}\n");
	is_str(d, "t.yaml:8:22: error: partitions[1].nodes: 'g2' is a dynamic node, not in slurm.conf: "
	       "it joins partition 'q' when its group names it in 'partitions'",
	       "dynamic: a partition naming a dynamic node");
	free(d);
	d = ddiags("{names: 'g[1-2]', cpus: 2, dynamic: true}", "slurm: {select_type: linear}\n");
	ok(d && strstr(d, "slurm.select_type: dynamic nodes need cons_tres"),
	   "dynamic: refused with select_type linear: %s", d);
	free(d);
	d = ddiags("{names: 'g[1-200]', cpus: 2, dynamic: true}", "");
	ok(d && strstr(d, "200 dynamic nodes: more than the 128 Slurm makes room for by default; "
		       "set slurm.max_node_count"), "dynamic: more than 128 without max_node_count: %s", d);
	free(d);
	d = ddiags("{names: 'g[1-200]', cpus: 2, dynamic: true}", "slurm: {max_node_count: 300}\n");
	is_str(d, "", "dynamic: 200 with max_node_count 300");
	free(d);
out:
	cpk_buf_release(&t);
	cpk_buf_release(&b);
	cpk_buf_release(&s0);
}

int main(void)
{
	test_defaults();
	test_task_none();
	test_linear();
	test_cons_res();
	test_accounting();
	test_nodes_partitions();
	test_partition_keys();
	test_node_keys();
	test_gres();
	test_cgroup_conf();
	test_dynamic();
	return done_testing();
}
