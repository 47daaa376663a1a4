/*
 * cpk_stage.so: #SBATCH --stage-in / --stage-out (SPANK).  One dispatch
 * file: the hooks switch on spank_context().  In sbatch the options are
 * registered and each value is checked (a bad one refuses the job); on the
 * node, for the batch step only, stage-in runs in task_init_privileged (its
 * failure fails the job, never drains the node) and stage-out in exit
 * (whatever the script's end; its failure is logged, never drains).  The
 * transfers run in `cpk stage` as the job's user (cpk_stage_spawn()).
 */
#define _GNU_SOURCE	/* program_invocation_short_name */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "cpk/stage.h"

SPANK_PLUGIN(cpk_stage, 1);

#define OPT_IN 1	/* the index in opts[] plus 1 */
#define OPT_OUT 2
#define OPT_CONNS 3
#define OPT_VERIFY 4
#define MAXVALS 64

/* The option values, as given (each checked when given). */
static struct {
	char *in[MAXVALS], *out[MAXVALS];
	int n_in, n_out;
	unsigned conns;
	int verify;
} job;

static int opt_cb(int val, const char *optarg, int remote);

static struct spank_option opts[] = {
	{ "stage-in", "LOCAL@[USER@]HOST:REMOTE[,...]",
	  "copy REMOTE to LOCAL before the batch script starts (repeatable)",
	  1, OPT_IN, opt_cb },
	{ "stage-out", "LOCAL@[USER@]HOST:REMOTE[,...]",
	  "copy LOCAL to REMOTE after the batch script ends (repeatable)",
	  1, OPT_OUT, opt_cb },
	{ "stage-conns", "N", "SSH connections per staging transfer (1..64)",
	  1, OPT_CONNS, opt_cb },
	{ "stage-verify", NULL, "compare SHA-256 of both sides after staging",
	  0, OPT_VERIFY, opt_cb },
	SPANK_OPTIONS_TABLE_END
};

static const char *what(int val)
{
	return val == OPT_IN ? "--stage-in" : "--stage-out";
}

/* Checks one value: syntax and nothing else (the hosts are checked with
 * the plugin arguments in hand). */
static int check_value(int val, const char *v, const char *workdir,
		       struct cpk_stage_list *l)
{
	if (cpk_stage_list_parse(l, what(val), v, strlen(v), workdir) != 0) {
		slurm_error("cpk_stage: %s", cpk_errmsg());
		return -1;
	}
	return 0;
}

/* Adds a value; a repeated option adds another (see the man page). */
static int add_value(int val, const char *optarg)
{
	char **v = val == OPT_IN ? job.in : job.out;
	int *n = val == OPT_IN ? &job.n_in : &job.n_out;
	int i;

	for (i = 0; i < *n; i++)
		if (!strcmp(v[i], optarg))
			return 0;	/* the same value again (remote replay) */
	if (*n >= MAXVALS) {
		slurm_error("cpk_stage: %s given more than %d times", what(val),
			    MAXVALS);
		return -1;
	}
	if (!(v[*n] = strdup(optarg)))
		return -1;
	(*n)++;
	return 0;
}

static int opt_cb(int val, const char *optarg, int remote)
{
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;
	char *end;
	unsigned long n;

	/* Only a batch script is staged: srun and salloc would accept the
	 * options and move nothing. */
	if (!remote && (!strcmp(program_invocation_short_name, "srun") ||
			!strcmp(program_invocation_short_name, "salloc"))) {
		slurm_error("cpk_stage: --%s is for sbatch only (batch jobs "
			    "are staged), not %s", opts[val - 1].name,
			    program_invocation_short_name);
		return -1;
	}
	switch (val) {
	case OPT_IN:
	case OPT_OUT:
		if (!optarg)
			return -1;
		/* On the node the value is checked in the hook that can
		 * fail the job without draining the node. */
		if (!remote && check_value(val, optarg, NULL, &l) < 0)
			return -1;
		cpk_stage_list_release(&l);
		return add_value(val, optarg);
	case OPT_CONNS:
		errno = 0;
		n = optarg ? strtoul(optarg, &end, 10) : 0;
		if (!optarg || !*optarg || *end || errno || n < 1 || n > 64) {
			slurm_error("cpk_stage: --stage-conns: want 1..64, not "
				    "\"%s\"", optarg ? optarg : "");
			if (!remote)
				return -1;
			job.conns = UINT32_MAX;	/* refused in the node's hook */
			return 0;
		}
		job.conns = (unsigned)n;
		return 0;
	case OPT_VERIFY:
		job.verify = 1;
		return 0;
	}
	return -1;
}

static int load_conf(struct cpk_stage_conf *c, int ac, char **av)
{
	if (cpk_stage_conf_parse(c, ac, av) != 0) {
		slurm_error("cpk_stage: plugstack.conf: %s", cpk_errmsg());
		return -1;
	}
	return 0;
}

/* Parses the values of one direction and checks their hosts. */
static int parse_all(int val, const struct cpk_stage_conf *c,
		     const char *workdir, struct cpk_stage_list *l)
{
	char **v = val == OPT_IN ? job.in : job.out;
	int n = val == OPT_IN ? job.n_in : job.n_out, i;
	size_t k;

	for (i = 0; i < n; i++)
		if (check_value(val, v[i], workdir, l) < 0)
			return -1;
	for (k = 0; k < l->n; k++)
		if (!cpk_stage_host_allowed(c, l->v[k].host)) {
			slurm_error("cpk_stage: %s: host \"%s\" is not in this "
				    "cluster's allowed_hosts", what(val),
				    l->v[k].host);
			return -1;
		}
	return 0;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	struct cpk_stage_conf c;
	spank_context_t ctx = spank_context();
	size_t i;

	if (ctx == S_CTX_LOCAL || ctx == S_CTX_ALLOCATOR || ctx == S_CTX_REMOTE) {
		if (load_conf(&c, ac, av) < 0)
			return -1;
		cpk_stage_conf_release(&c);
		for (i = 0; opts[i].name; i++)
			if (spank_option_register(sp, &opts[i]) != ESPANK_SUCCESS) {
				slurm_error("cpk_stage: cannot register --%s",
					    opts[i].name);
				return -1;
			}
	}
	return 0;
}

/*
 * Slurm passes only the LAST value of a repeated option to the node: sbatch
 * puts each option in its own environment as
 * _SLURM_SPANK_OPTION_<plugin>_<option> ('-' as '_') after the options
 * are parsed and before the plugins' init_post_opt, the job takes that
 * environment, and slurmstepd hands the variable to the option's callback
 * and removes it (measured on 22.05; so no job submitted from inside a job
 * inherits it).  In init_post_opt sbatch's variable is replaced with all
 * the values joined with ',' (a value never ends with a lone '\', so the
 * join is one list of the same items).
 */
static int send_joined(int val)
{
	char **v = val == OPT_IN ? job.in : job.out;
	int n = val == OPT_IN ? job.n_in : job.n_out, i;
	const char *var = val == OPT_IN ?
		"_SLURM_SPANK_OPTION_cpk_stage_stage_in" :
		"_SLURM_SPANK_OPTION_cpk_stage_stage_out";
	size_t len = 0, k = 0;
	char *all;
	int rc;

	if (n < 2)
		return 0;
	for (i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	if (len - 1 > CPK_STAGE_VALUE_MAX) {
		slurm_error("cpk_stage: %s: the values hold %zu bytes together "
			    "(at most %d)", what(val), len - 1,
			    CPK_STAGE_VALUE_MAX);
		return -1;
	}
	if (!(all = malloc(len)))
		return -1;
	for (i = 0; i < n; i++) {
		size_t m = strlen(v[i]);

		memcpy(all + k, v[i], m);
		k += m;
		all[k++] = i + 1 < n ? ',' : '\0';
	}
	rc = setenv(var, all, 1);
	free(all);
	if (rc < 0)
		slurm_error("cpk_stage: cannot pass the repeated %s on", what(val));
	return rc;
}

/* In sbatch: the hosts of all values against allowed_hosts. */
int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	struct cpk_stage_conf c;
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;
	spank_context_t ctx = spank_context();
	int rc = 0;

	if (ctx != S_CTX_LOCAL && ctx != S_CTX_ALLOCATOR)
		return 0;
	if (load_conf(&c, ac, av) < 0)
		return -1;
	if (parse_all(OPT_IN, &c, NULL, &l) < 0 ||
	    parse_all(OPT_OUT, &c, NULL, &l) < 0 ||
	    send_joined(OPT_IN) < 0 || send_joined(OPT_OUT) < 0)
		rc = -1;
	cpk_stage_list_release(&l);
	cpk_stage_conf_release(&c);
	return rc;
}

static int batch_step(spank_t sp)
{
	uint32_t step = 0;

	if (spank_context() != S_CTX_REMOTE)
		return 0;
	if (spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS)
		return 0;
	return step == SLURM_BATCH_SCRIPT;
}

/* SIGTERM is blocked in task_init_privileged: a pending one is scancel. */
static int term_pending(void *arg)
{
	sigset_t set;

	(void)arg;
	return sigpending(&set) == 0 && sigismember(&set, SIGTERM) == 1;
}

/* The record of undelivered files, in the job's working directory. */
#define RECORD_FMT "cpk_stage.%u.undelivered"
#define RECORD_MAX 48
static char record[RECORD_MAX];

/*
 * Runs `cpk stage in|out VALUE...` as the job's user, its output on ERR_FD
 * (-1: slurmstepd's, which for the batch step is the job's output file).
 * A stage-out also keeps `record` (cpk stage out --record).  Returns 0 on
 * success, else -1 (logged).
 */
static int run_helper(spank_t sp, const struct cpk_stage_conf *c, int val,
		      const char *workdir, int err_fd, unsigned timeout,
		      int (*cancelled)(void *))
{
	char **v = val == OPT_IN ? job.in : job.out;
	int n = val == OPT_IN ? job.n_in : job.n_out, i, k = 0, status;
	char *argv[MAXVALS + 16], conns[16], retries[16], maxs[32], jobid[16];
	uint32_t id = 0;
	struct cpk_stage_spawn s;
	uid_t uid;
	gid_t gid;
	cpk_err_t e;
	struct timespec t0, t1;

	if (spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS) {
		slurm_error("cpk_stage: cannot get the job's uid and gid");
		return -1;
	}
	snprintf(conns, sizeof(conns), "%u", job.conns ? job.conns :
		 c->connections);
	snprintf(retries, sizeof(retries), "%u", c->retries ? c->retries : 1);
	argv[k++] = c->cpk;
	argv[k++] = "stage";
	argv[k++] = "-n";
	argv[k++] = conns;
	argv[k++] = "--retries";
	argv[k++] = retries;
	if (job.verify || c->verify)
		argv[k++] = "--verify";
	if (c->max_size && val == OPT_OUT) {
		snprintf(maxs, sizeof(maxs), "%llu", (unsigned long long)c->max_size);
		argv[k++] = "--max-size";
		argv[k++] = maxs;
	}
	if (val == OPT_OUT) {
		(void)spank_get_item(sp, S_JOB_ID, &id);
		snprintf(jobid, sizeof(jobid), "%u", id);
		snprintf(record, RECORD_MAX, RECORD_FMT, id);
		argv[k++] = "--job";
		argv[k++] = jobid;
		argv[k++] = "--record";
		argv[k++] = record;
	}
	argv[k++] = val == OPT_IN ? "in" : "out";
	for (i = 0; i < n; i++)
		argv[k++] = v[i];
	argv[k] = NULL;
	memset(&s, 0, sizeof(s));
	s.uid = uid;
	s.gid = gid;
	s.workdir = workdir;
	s.argv = argv;
	s.timeout_s = timeout;
	s.err_fd = err_fd;
	s.cancelled = cancelled;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	e = cpk_stage_spawn(&s, &status);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (e) {
		slurm_error("cpk_stage: %s: %s", what(val), cpk_errmsg());
		return -1;
	}
	if (WIFSIGNALED(status)) {
		slurm_error("cpk_stage: %s failed: cpk stage was stopped by "
			    "signal %d (the job was cancelled?)", what(val),
			    WTERMSIG(status));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		slurm_error("cpk_stage: %s failed (cpk stage exit status %d)",
			    what(val), WIFEXITED(status) ?
			    WEXITSTATUS(status) : -1);
		return -1;
	}
	/* the whole step, fork to reap (bench/stage.sh reads it) */
	slurm_info("cpk_stage: %s done in %.3f s", what(val),
		   (double)(t1.tv_sec - t0.tv_sec) +
		   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

/*
 * The job's working directory: slurmstepd puts it in the job's PWD (in
 * task_init_privileged the task is already there; in exit slurmstepd is
 * not).  The helper enters it as the user, so a forged PWD gains nothing.
 */
static int workdir_of(spank_t sp, char *buf, size_t n)
{
	if (spank_getenv(sp, "PWD", buf, (int)n) != ESPANK_SUCCESS ||
	    buf[0] != '/')
		return -1;
	return 0;
}

/*
 * slurmstepd puts the job's options in the script's environment
 * (SLURM_SPANK__SLURM_SPANK_OPTION_cpk_stage_*), and an sbatch run there
 * takes such a variable as if the option were given: a job submitted from
 * inside the job would stage the parent's data again.  Staging is the
 * batch step's alone, so the script does not get them.
 */
static void forget_options(spank_t sp)
{
	static const char *const vars[] = {
		"SLURM_SPANK__SLURM_SPANK_OPTION_cpk_stage_stage_in",
		"SLURM_SPANK__SLURM_SPANK_OPTION_cpk_stage_stage_out",
		"SLURM_SPANK__SLURM_SPANK_OPTION_cpk_stage_stage_conns",
		"SLURM_SPANK__SLURM_SPANK_OPTION_cpk_stage_stage_verify",
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		(void)spank_unsetenv(sp, vars[i]);
}

/*
 * The task (a child of slurmstepd) tells exit that the script will not run
 * because the stage-in failed or was refused, so that nothing stale is
 * staged out: one byte on a pipe made in user_init (in slurmstepd, before
 * the fork; close-on-exec, so the script does not get it).
 */
static int failed_pipe[2] = { -1, -1 };

int slurm_spank_user_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (batch_step(sp) && failed_pipe[0] < 0 &&
	    pipe2(failed_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		failed_pipe[0] = failed_pipe[1] = -1;
		slurm_error("cpk_stage: pipe: %s", strerror(errno));
	}
	return 0;	/* an error here would drain the node */
}

static int stage_in(spank_t sp, int ac, char **av)
{
	struct cpk_stage_conf c;
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;
	char wd[4096];
	int rc = -1;

	if (!batch_step(sp))
		return 0;
	forget_options(sp);
	if (!job.n_in && !job.n_out && job.conns != UINT32_MAX)
		return 0;
	if (load_conf(&c, ac, av) < 0)
		return -1;
	if (job.conns == UINT32_MAX) {
		slurm_error("cpk_stage: --stage-conns: not a number 1..64");
		goto out;
	}
	if (workdir_of(sp, wd, sizeof(wd)) < 0) {
		slurm_error("cpk_stage: cannot tell the job's working directory");
		goto out;
	}
	/* both directions are checked before anything moves */
	if (parse_all(OPT_IN, &c, wd, &l) < 0 || parse_all(OPT_OUT, &c, wd, &l) < 0)
		goto out;
	if (!job.n_in) {
		rc = 0;
		goto out;
	}
	rc = run_helper(sp, &c, OPT_IN, wd, 2, c.stage_in_timeout, term_pending);
out:
	cpk_stage_list_release(&l);
	cpk_stage_conf_release(&c);
	return rc;
}

int slurm_spank_task_init_privileged(spank_t sp, int ac, char **av)
{
	char one = 1;
	int rc = stage_in(sp, ac, av);

	if (rc && failed_pipe[1] >= 0 && write(failed_pipe[1], &one, 1) != 1)
		slurm_error("cpk_stage: cannot tell slurmstepd that the stage-in "
			    "failed");
	return rc;
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	struct cpk_stage_conf c;
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;
	char wd[4096], one;
	int in_failed = failed_pipe[0] >= 0 && read(failed_pipe[0], &one, 1) == 1;

	if (failed_pipe[0] >= 0) {
		close(failed_pipe[0]);
		close(failed_pipe[1]);
		failed_pipe[0] = failed_pipe[1] = -1;
	}
	if (!batch_step(sp) || !job.n_out)
		return 0;
	if (in_failed) {
		slurm_error("cpk_stage: --stage-out not run: the script did not "
			    "run (the stage-in failed)");
		return 0;
	}
	if (load_conf(&c, ac, av) < 0)
		return 0;
	if (workdir_of(sp, wd, sizeof(wd)) < 0 ||
	    parse_all(OPT_OUT, &c, wd, &l) < 0) {
		slurm_error("cpk_stage: --stage-out not done");
		goto out;
	}
	if (run_helper(sp, &c, OPT_OUT, wd, -1, c.stage_out_timeout, NULL) < 0)
		slurm_error("cpk_stage: --stage-out failed: nothing was deleted; "
			    "what was not delivered is listed in %s/%s", wd,
			    record);
out:
	cpk_stage_list_release(&l);
	cpk_stage_conf_release(&c);
	return 0;	/* an error here never drains the node */
}
