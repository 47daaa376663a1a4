/*
 * The options #SBATCH --stage-in, --stage-out, --stage-conns,
 * --stage-verify: registered in sbatch, srun, salloc and slurmstepd,
 * checked when given (refused in srun and salloc), values kept in cs_job;
 * the plugin's arguments; sbatch's variable of a repeated option.
 */
#define _GNU_SOURCE	/* program_invocation_short_name */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

struct cs_job cs_job;

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

const char *cs_what(int val)
{
	return val == OPT_IN ? "--stage-in" : "--stage-out";
}

int cs_register_options(spank_t sp)
{
	size_t i;

	for (i = 0; opts[i].name; i++)
		if (spank_option_register(sp, &opts[i]) != ESPANK_SUCCESS) {
			cs_say(CPK_STAGE_LOG_ERROR, "cannot register --%s",
			       opts[i].name);
			return -1;
		}
	return 0;
}

/* Checks one value: syntax and nothing else (the hosts are checked with
 * the plugin arguments in hand). */
static int check_value(int val, const char *v, const char *workdir,
		       struct cpk_stage_list *l)
{
	if (cpk_stage_list_parse(l, cs_what(val), v, strlen(v), workdir) != 0) {
		cs_say(CPK_STAGE_LOG_ERROR, "%s", cpk_errmsg());
		return -1;
	}
	return 0;
}

/* Adds a value; a repeated option adds another (see the man page). */
static int add_value(int val, const char *optarg)
{
	char **v = val == OPT_IN ? cs_job.in : cs_job.out;
	int *n = val == OPT_IN ? &cs_job.n_in : &cs_job.n_out;
	int i;

	for (i = 0; i < *n; i++)
		if (!strcmp(v[i], optarg))
			return 0;	/* the same value again (remote replay) */
	if (*n >= MAXVALS) {
		cs_say(CPK_STAGE_LOG_ERROR, "%s given more than %d times",
		       cs_what(val), MAXVALS);
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
		cs_say(CPK_STAGE_LOG_ERROR, "--%s is for sbatch only (batch jobs "
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
			cs_say(CPK_STAGE_LOG_ERROR, "--stage-conns: want 1..64, "
			       "not \"%s\"", optarg ? optarg : "");
			if (!remote)
				return -1;
			cs_job.conns = CONNS_BAD;	/* refused in the node's hook */
			return 0;
		}
		cs_job.conns = (unsigned)n;
		return 0;
	case OPT_VERIFY:
		cs_job.verify = 1;
		return 0;
	}
	return -1;
}

int cs_load_conf(struct cpk_stage_conf *c, int ac, char **av)
{
	if (cpk_stage_conf_parse(c, ac, av) != 0) {
		cs_say(CPK_STAGE_LOG_ERROR, "plugstack.conf: %s", cpk_errmsg());
		return -1;
	}
	return 0;
}

/* Parses the values of one direction and checks their hosts. */
int cs_parse_all(int val, const struct cpk_stage_conf *c, const char *workdir,
		 struct cpk_stage_list *l)
{
	char **v = val == OPT_IN ? cs_job.in : cs_job.out;
	int n = val == OPT_IN ? cs_job.n_in : cs_job.n_out, i;
	size_t k;

	for (i = 0; i < n; i++)
		if (check_value(val, v[i], workdir, l) < 0)
			return -1;
	for (k = 0; k < l->n; k++)
		if (!cpk_stage_host_allowed(c, l->v[k].host)) {
			cs_say(CPK_STAGE_LOG_ERROR, "%s: host \"%s\" is not in "
			       "this cluster's allowed_hosts", cs_what(val),
			       l->v[k].host);
			return -1;
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
int cs_send_joined(int val)
{
	char **v = val == OPT_IN ? cs_job.in : cs_job.out;
	int n = val == OPT_IN ? cs_job.n_in : cs_job.n_out, i;
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
		cs_say(CPK_STAGE_LOG_ERROR, "%s: the values hold %zu bytes "
		       "together (at most %d)", cs_what(val), len - 1,
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
		cs_say(CPK_STAGE_LOG_ERROR, "cannot pass the repeated %s on",
		       cs_what(val));
	return rc;
}

/*
 * slurmstepd puts the job's options in the script's environment
 * (SLURM_SPANK__SLURM_SPANK_OPTION_cpk_stage_*), and an sbatch run there
 * takes such a variable as if the option were given: a job submitted from
 * inside the job would stage the parent's data again.  Staging is the
 * batch step's alone, so the script does not get them.
 */
void cs_forget_options(spank_t sp)
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
