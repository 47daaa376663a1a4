/*
 * cpk node list [-f FILE] [--json] [--slurm-conf FILE]
 * cpk node add NAME --addr ADDR [--cpus N] [--mem MiB] [--gpus [TYPE:]N]
 *          [--partition P] [--no-join] [-F SSH_CONFIG] [-i KEY] [-l USER] ...
 * cpk node del NAME [--wait S | --force] [--fragment-only] [-F SSH_CONFIG] ...
 * Wiring only: the work is in lib/slurm (the live view, draining,
 * deleting), lib/model (fragments) and lib/node (joining and removing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk/node.h"
#include "cpk/parse.h"
#include "cpk/slurm.h"
#include "cli.h"

enum { OPT_JSON = 256, OPT_SLURM_CONF, OPT_ADDR, OPT_CPUS, OPT_MEM, OPT_GPUS,
       OPT_NO_JOIN, OPT_FRAGMENT_ONLY, OPT_PARTITION, OPT_APPLY_ROOT, OPT_REMOTE_CPK,
       OPT_WAIT, OPT_DETECT, OPT_FORCE };

#define FILE_OPT { "file", 'f', "FILE", "the description (default $CPK_CONFIG or " CPK_SYSCONFDIR "/clusterpack/cluster.yaml)" }
/* how node add and node del reach the node (reach_opt() takes them) */
#define SSH_OPTS \
	{ "ssh-config", 'F', "FILE", "ssh_config for reaching the node (like ssh -F)" }, \
	{ "identity", 'i', "FILE", "private key to try first" }, \
	{ "login", 'l', "USER", "user on the node (default root)" }

static const struct cli_opt list_opts[] = {
	FILE_OPT,
	{ "json", OPT_JSON, NULL, "print JSON instead of a table" },
	{ "slurm-conf", OPT_SLURM_CONF, "FILE", "Slurm's configuration (default $SLURM_CONF, else slurm.config_dir/slurm.conf of the description)" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_opt add_opts[] = {
	FILE_OPT,
	{ "addr", OPT_ADDR, "ADDR", "the node's address (required)" },
	{ "cpus", OPT_CPUS, "N", "CPUs of the node" },
	{ "mem", OPT_MEM, "MiB", "memory Slurm may hand out (RealMemory), MiB" },
	{ "gpus", OPT_GPUS, "[TYPE:]N", "GPUs of the node, e.g. h100:8" },
	{ "partition", OPT_PARTITION, "P[,P...]", "partitions it joins besides those on ALL (their NodeSet)" },
	{ "detect", OPT_DETECT, NULL, "read CPUs, memory and GPUs from the node (slurmd -C, nvidia-smi) over SSH" },
	{ "no-join", OPT_NO_JOIN, NULL, "only write nodes.d/NAME.yaml; nothing is run on the node (but --detect)" },
	SSH_OPTS,
	{ "slurm-conf", OPT_SLURM_CONF, "FILE", "Slurm's configuration for the wait (as cpk node list)" },
	{ "wait", OPT_WAIT, "S", "seconds to wait for slurmctld to have the node up (default 120; 0: do not wait)" },
	{ "remote-cpk", OPT_REMOTE_CPK, "PATH", "cpk on the node (default: cpk on its PATH)" },
	{ "apply-root", OPT_APPLY_ROOT, "DIR", "apply into DIR on the node instead of / (tests, images)" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_opt del_opts[] = {
	FILE_OPT,
	{ "wait", OPT_WAIT, "S", "seconds to wait for the jobs on the node to end (default 600); then it stays drained" },
	{ "force", OPT_FORCE, NULL, "requeue the node's jobs (batch jobs that allow it), cancel the others" },
	{ "fragment-only", OPT_FRAGMENT_ONLY, NULL, "only remove nodes.d/NAME.yaml: neither Slurm nor the node is touched" },
	SSH_OPTS,
	{ "slurm-conf", OPT_SLURM_CONF, "FILE", "Slurm's configuration (as cpk node list)" },
	{ "apply-root", OPT_APPLY_ROOT, "DIR", "the node's files are under DIR there (tests, images): its slurmd is not stopped" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static int run_list(int argc, char **argv, const struct cli_verb *v)
{
	const char *path = NULL, *slurm_conf = NULL, *conf;
	struct cpk_slurm_nodes sn = CPK_SLURM_NODES_INIT;
	struct cpk_node_rows rows = CPK_NODE_ROWS_INIT;
	struct cpk_buf out = CPK_BUF_INIT;
	struct cpk_model *m = NULL;
	int c, json = 0, rc;
	size_t bad;

	while ((c = cli_getopt(argc, argv, v)) != -1) {
		switch (c) {
		case 'f':
			path = optarg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_SLURM_CONF:
			slurm_conf = optarg;
			break;
		default:
			return cli_common_opt(c, argv, v);
		}
	}
	if (optind != argc)
		return cli_usage_err(v, "unexpected operand '%s'", argv[optind]);
	if ((rc = cli_load_model(path, &m)) != EXIT_OK)
		return rc;
	rc = EXIT_FAIL;
	if (cpk_slurm_conf_path(m, slurm_conf, &conf) != CPK_OK ||
	    cpk_slurm_open(conf) != CPK_OK || cpk_slurm_load_nodes(&sn) != CPK_OK ||
	    cpk_node_compare(m, &sn, &rows) != CPK_OK) {
		cli_err("%s", cpk_errmsg());
		goto out;
	}
	bad = cpk_node_rows_format(&rows, json, &out);
	if (cpk_buf_failed(&out)) {
		cli_err("out of memory");
		goto out;
	}
	fwrite(out.buf, 1, out.len, stdout);
	if (bad && !json)
		fprintf(stderr, "cpk: %zu node%s disagree%s between the description and Slurm\n",
			bad, bad == 1 ? "" : "s", bad == 1 ? "s" : "");
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
out:
	cpk_buf_release(&out);
	cpk_node_rows_release(&rows);
	cpk_slurm_nodes_release(&sn);
	cpk_slurm_close();
	cpk_model_free(m);
	return rc;
}

static int parse_num(const struct cli_verb *v, const char *opt, const char *s,
		     uint64_t max, uint64_t *out)
{
	if (cpk_parse_uint(s, 1, max, out) != CPK_OK)
		return cli_usage_err(v, "%s %s: %s", opt, s, cpk_errmsg());
	return EXIT_OK;
}

static int parse_gpus(const struct cli_verb *v, const char *s, struct cpk_nodespec *spec)
{
	const char *colon = strrchr(s, ':');

	if (colon) {
		if (colon == s)
			return cli_usage_err(v, "--gpus %s: empty TYPE", s);
		free(spec->gpu_type);
		spec->gpu_type = strndup(s, (size_t)(colon - s));
		if (!spec->gpu_type)
			return cli_usage_err(v, "out of memory");
		s = colon + 1;
	}
	return parse_num(v, "--gpus", s, 1024, &spec->gpu_count);
}

static void progress(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
	fflush(stdout);
}

/* The fragment, refused with every diagnostic when the description would
 * not be valid; CHECK_ONLY: write nothing. */
static int fragment(const char *path, const struct cpk_nodespec *spec, int check_only)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	cpk_err_t r = check_only ? cpk_node_fragment_check(path, spec, &d)
				 : cpk_node_fragment_add(path, spec, &d);
	int rc = EXIT_OK;

	if (r == CPK_ERR_CONFIG) {
		struct cpk_buf b = CPK_BUF_INIT;

		cpk_diags_format(&d, &b);
		fputs(b.buf, stderr);
		cli_err("node %s not added: the description would not be valid; nothing written",
			spec->name);
		cpk_buf_release(&b);
		rc = EXIT_FAIL;
	} else if (r != CPK_OK) {
		cli_err("node %s not added: %s", spec->name, cpk_errmsg());
		rc = EXIT_FAIL;
	}
	cpk_diags_release(&d);
	return rc;
}

/*
 * The options node add and node del share, taken into the verb's own
 * option struct: PATH, CONN, SLURM_CONF and REMOTE_ROOT point into it; WAIT
 * (its default set by the verb) may be at most WAIT_MAX seconds.
 */
struct reach {
	const char **path, **slurm_conf, **remote_root;
	struct cpk_conn_opts *conn;
	const char *ident[2];
	uint64_t wait, wait_max;
};

/* Takes the shared option C: EXIT_OK, or a usage error; -1 when C is not
 * one of them (the verb's own, or cli_common_opt's). */
static int reach_opt(struct reach *o, int c, const struct cli_verb *v)
{
	switch (c) {
	case 'f':
		*o->path = optarg;
		break;
	case 'F':
		o->conn->config = optarg;
		break;
	case 'i':
		o->ident[0] = optarg;
		o->conn->identities = o->ident;
		break;
	case 'l':
		o->conn->user = optarg;
		break;
	case OPT_SLURM_CONF:
		*o->slurm_conf = optarg;
		break;
	case OPT_APPLY_ROOT:
		*o->remote_root = optarg;
		break;
	case OPT_WAIT:
		if (cpk_parse_uint(optarg, 0, o->wait_max, &o->wait) != CPK_OK)
			return cli_usage_err(v, "--wait %s: %s", optarg, cpk_errmsg());
		break;
	default:
		return -1;
	}
	return EXIT_OK;
}

static int run_add(int argc, char **argv, const struct cli_verb *v)
{
	struct cpk_nodespec spec = CPK_NODESPEC_INIT;
	struct cpk_node_join_opts jo;
	struct cpk_node_join *j = NULL;
	const char *path = NULL, *addr = NULL;
	struct reach re = { &path, &jo.slurm_conf, &jo.remote_root, &jo.conn,
			    { NULL, NULL }, 120, 86400 };
	int c, no_join = 0, detect = 0, rc = EXIT_OK;

	memset(&jo, 0, sizeof(jo));
	jo.conn.user = "root";
	while (rc == EXIT_OK && (c = cli_getopt(argc, argv, v)) != -1) {
		if ((rc = reach_opt(&re, c, v)) != -1)
			continue;	/* taken, or a usage error: the loop ends */
		rc = EXIT_OK;
		switch (c) {
		case OPT_ADDR:
			addr = optarg;
			break;
		case OPT_CPUS:
			rc = parse_num(v, "--cpus", optarg, 1048576, &spec.cpus);
			break;
		case OPT_MEM:
			rc = parse_num(v, "--mem", optarg, UINT64_C(1) << 40, &spec.memory_mb);
			break;
		case OPT_GPUS:
			rc = parse_gpus(v, optarg, &spec);
			break;
		case OPT_PARTITION:
			free(spec.partitions);
			if (!(spec.partitions = strdup(optarg))) {
				cli_err("out of memory");
				rc = EXIT_FAIL;
			}
			break;
		case OPT_NO_JOIN:
			no_join = 1;
			break;
		case OPT_DETECT:
			detect = 1;
			break;
		case OPT_REMOTE_CPK:
			jo.remote_cpk = optarg;
			break;
		default:
			rc = cli_common_opt(c, argv, v);
			goto out;
		}
	}
	if (rc != EXIT_OK)
		goto out;
	if (optind + 1 != argc) {
		rc = cli_usage_err(v, "give one node NAME");
		goto out;
	}
	if (!addr) {
		rc = cli_usage_err(v, "--addr ADDR is required");
		goto out;
	}
	if (!(spec.name = strdup(argv[optind])) || !(spec.address = strdup(addr))) {
		cli_err("out of memory");
		rc = EXIT_FAIL;
		goto out;
	}
	if (!path)
		path = cpk_model_default_path();
	if (detect && (spec.cpus || spec.memory_mb || spec.gpu_count)) {
		rc = cli_usage_err(v, "--detect reads --cpus, --mem and --gpus from the node: give neither");
		goto out;
	}
	if (no_join && !detect) {
		rc = fragment(path, &spec, 0);
		goto out;
	}
	jo.cluster_yaml = path;
	jo.name = spec.name;
	jo.conn.host = spec.address;
	jo.wait_s = (unsigned)re.wait;
	jo.progress = progress;
	/* everything checked before anything changes: the description with
	 * the node, the node itself (host key, munge key) */
	if (!detect && (rc = fragment(path, &spec, 1)) != EXIT_OK)
		goto out;
	if (cpk_node_join_check(&jo, &j) != CPK_OK ||
	    (detect && cpk_node_join_detect(j, &spec) != CPK_OK)) {
		cli_err("node %s not added: %s; nothing changed", spec.name, cpk_errmsg());
		rc = EXIT_FAIL;
		goto out;
	}
	if (detect && (rc = fragment(path, &spec, 1)) != EXIT_OK)
		goto out;
	if ((rc = fragment(path, &spec, 0)) != EXIT_OK || no_join)
		goto out;
	if (cpk_node_join_run(j) != CPK_OK) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", cpk_errmsg());
		if (cpk_node_fragment_remove(path, spec.name) == CPK_OK)
			cli_err("node %s not added: %s; its fragment is removed again (the files "
				"sent to the node stay: a new cpk node add applies them anew)",
				spec.name, msg);
		else
			cli_err("node %s not added: %s; and its fragment could not be removed: %s",
				spec.name, msg, cpk_errmsg());
		rc = EXIT_FAIL;
		goto out;
	}
	printf("node %s added\n", spec.name);
out:
	cpk_node_join_free(j);
	cpk_nodespec_release(&spec);
	return rc;
}

/* What cpk node del did, said at the end. */
static void del_summary(const char *name, const struct cpk_node_del_report *rep)
{
	if (rep->slurmd == CPK_NODE_SLURMD_FAILED)
		cli_err("warning: slurmd could not be stopped on %s: %s", name, rep->slurmd_why);
	else if (rep->slurmd == CPK_NODE_SLURMD_NO_SYSTEMD)
		cli_err("warning: slurmd not stopped on %s: %s", name, rep->slurmd_why);
	if (rep->left_drained)
		printf("node %s removed from the description; left drained in Slurm (a static node)\n",
		       name);
	else
		printf("node %s removed\n", name);
}

static int run_del(int argc, char **argv, const struct cli_verb *v)
{
	struct cpk_node_del_opts o;
	struct cpk_node_del_report rep;
	struct reach re = { &o.cluster_yaml, &o.slurm_conf, &o.remote_root, &o.conn,
			    { NULL, NULL }, 600, 86400 * 7 };
	int c, rc, fragment_only = 0;

	memset(&o, 0, sizeof(o));
	o.conn.user = "root";
	while ((c = cli_getopt(argc, argv, v)) != -1) {
		if ((rc = reach_opt(&re, c, v)) == EXIT_OK)
			continue;
		if (rc != -1)
			return rc;
		switch (c) {
		case OPT_FRAGMENT_ONLY:
			fragment_only = 1;
			break;
		case OPT_FORCE:
			o.force = 1;
			break;
		default:
			return cli_common_opt(c, argv, v);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_err(v, "give one node NAME");
	if (!o.cluster_yaml)
		o.cluster_yaml = cpk_model_default_path();
	o.name = argv[optind];
	if (fragment_only) {
		if (cpk_node_fragment_remove(o.cluster_yaml, o.name) != CPK_OK) {
			cli_err("%s", cpk_errmsg());
			return EXIT_FAIL;
		}
		return EXIT_OK;
	}
	o.wait_s = (unsigned)re.wait;
	o.progress = progress;
	if (cpk_node_del(&o, &rep) != CPK_OK) {
		cli_err("node %s not removed: %s", o.name, cpk_errmsg());
		return EXIT_FAIL;
	}
	del_summary(o.name, &rep);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

static const struct cli_verb node_list = {
	"node list", "[-f FILE] [--json] [--slurm-conf FILE]",
	"Show the description's nodes beside Slurm's view, flagging disagreement.",
	list_opts, run_list,
};
static const struct cli_verb node_add = {
	"node add", "NAME --addr ADDR [--cpus N --mem MiB --gpus [TYPE:]N | --detect] [--partition P] [--no-join] [-F SSH_CONFIG] [-i KEY] [-l USER] [--wait S] [-f FILE]",
	"Write the node's fragment nodes.d/NAME.yaml after validating the whole description.",
	add_opts, run_add,
};
static const struct cli_verb node_del = {
	"node del", "NAME [--wait S | --force] [--fragment-only] [-F SSH_CONFIG] [-i KEY] [-l USER] [-f FILE]",
	"Drain the node, wait for (or requeue) its jobs, delete it from Slurm, stop its slurmd, remove its fragment.",
	del_opts, run_del,
};
static const struct cli_verb *const subs[] = { &node_list, &node_add, &node_del };

static int run(int argc, char **argv, const struct cli_verb *v)
{
	size_t i;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cli_usage(v, 0);
		return EXIT_OK;
	}
	for (i = 0; argc >= 2 && i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i]->name + 5))
			return subs[i]->run(argc - 1, argv + 1, subs[i]);
	if (argc < 2)
		return cli_usage_err(v, "give list, add or del");
	return cli_usage_err(v, "'%s' is not list, add or del", argv[1]);
}

const struct cli_verb cli_node = {
	"node", "list|add|del ...",
	"Compare the description's nodes with Slurm; join a new VM as a node; remove one.",
	NULL, run,
};
