/*
 * cpk_stage.so: #SBATCH --stage-in / --stage-out (SPANK).  The dispatch:
 * each hook switches on spank_context().  In sbatch the options are
 * registered and each value is checked (a bad one refuses the job); on the
 * node, for the batch step only, stage-in runs in task_init_privileged (its
 * failure fails the job, never drains the node) and stage-out in exit
 * (whatever the script's end; its failure is logged, never drains).  The
 * transfers run in `cpk stage` as the job's user (run.c); a failure is
 * also put in the job's AdminComment, from exit.
 */
#define _GNU_SOURCE	/* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "plugin.h"

SPANK_PLUGIN(cpk_stage, 1);

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	struct cpk_stage_conf c;

	switch (spank_context()) {
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
	case S_CTX_REMOTE:
		if (cs_load_conf(&c, ac, av) < 0)
			return -1;
		cpk_stage_conf_release(&c);
		return cs_register_options(sp);
	default:
		return 0;
	}
}

/* In sbatch: the hosts of all values against allowed_hosts. */
int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	struct cpk_stage_conf c;
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;
	int rc = 0;

	(void)sp;
	switch (spank_context()) {
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
		break;
	default:
		return 0;
	}
	if (cs_load_conf(&c, ac, av) < 0)
		return -1;
	if (cs_parse_all(OPT_IN, &c, NULL, &l) < 0 ||
	    cs_parse_all(OPT_OUT, &c, NULL, &l) < 0 ||
	    cs_send_joined(OPT_IN) < 0 || cs_send_joined(OPT_OUT) < 0)
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

/*
 * The task (a child of slurmstepd) tells exit that the script will not run
 * because the stage-in failed or was refused, so that nothing stale is
 * staged out, and what to put in the AdminComment: the comment's text on a
 * pipe made in user_init (in slurmstepd, before the fork; close-on-exec,
 * so the script does not get it; one write under PIPE_BUF bytes).
 */
static int failed_pipe[2] = { -1, -1 };

int slurm_spank_user_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (batch_step(sp) && failed_pipe[0] < 0 &&
	    pipe2(failed_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		failed_pipe[0] = failed_pipe[1] = -1;
		cs_say(CPK_STAGE_LOG_ERROR, "pipe: %s", strerror(errno));
	}
	return 0;	/* an error here would drain the node */
}

/* Returns 0, or -1 with COMMENT (CPK_STAGE_COMMENT_MAX bytes) set. */
static int stage_in(spank_t sp, int ac, char **av, char *comment)
{
	struct cpk_stage_conf c;
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;
	struct cs_result r = { 0, 0 };
	char wd[4096];
	int rc = -1, ran = 0;

	if (!cs_job.n_in && !cs_job.n_out && cs_job.conns != CONNS_BAD)
		return 0;
	if (cs_load_conf(&c, ac, av) < 0)
		goto said;
	if (cs_job.conns == CONNS_BAD) {
		cs_say(CPK_STAGE_LOG_ERROR, "--stage-conns: not a number 1..64");
		goto out;
	}
	if (cs_workdir_of(sp, wd, sizeof(wd)) < 0) {
		cs_say(CPK_STAGE_LOG_ERROR, "cannot tell the job's working "
		       "directory");
		goto out;
	}
	/* both directions are checked before anything moves */
	if (cs_parse_all(OPT_IN, &c, wd, &l) < 0 ||
	    cs_parse_all(OPT_OUT, &c, wd, &l) < 0)
		goto out;
	if (!cs_job.n_in) {
		rc = 0;
		goto out;
	}
	ran = 1;
	rc = cs_run_helper(sp, &c, OPT_IN, wd, 2, c.stage_in_timeout,
			   term_pending, &r);
out:
	cpk_stage_list_release(&l);
	cpk_stage_conf_release(&c);
	if (!rc)
		return 0;
said:
	if (ran && r.total)
		cpk_stage_comment(comment, CPK_STAGE_COMMENT_MAX, "cpk_stage: "
				  "stage-in failed: %zu of %zu items not copied "
				  "in (they are still on the remote hosts); the "
				  "script did not run; see the job's output file",
				  r.failed, r.total);
	else
		cpk_stage_comment(comment, CPK_STAGE_COMMENT_MAX, "cpk_stage: "
				  "stage-%s, the script did not run: %s",
				  ran ? "in failed" : "in refused",
				  cs_last_error());
	return -1;
}

int slurm_spank_task_init_privileged(spank_t sp, int ac, char **av)
{
	char comment[CPK_STAGE_COMMENT_MAX] = "";
	size_t n;
	int rc;

	if (!batch_step(sp))
		return 0;
	cs_forget_options(sp);
	rc = stage_in(sp, ac, av, comment);
	n = strlen(comment);
	if (rc && (failed_pipe[1] < 0 ||
		   write(failed_pipe[1], comment, n ? n : 1) != (ssize_t)(n ? n : 1)))
		cs_say(CPK_STAGE_LOG_ERROR, "cannot tell slurmstepd that the "
		       "stage-in failed");
	return rc;
}

/* The stage-out, once the script has ended. */
static void stage_out(spank_t sp, int ac, char **av)
{
	struct cpk_stage_conf c;
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;
	struct cs_result r;
	char wd[4096], comment[CPK_STAGE_COMMENT_MAX];

	if (cs_load_conf(&c, ac, av) < 0)
		return;
	if (cs_workdir_of(sp, wd, sizeof(wd)) < 0 ||
	    cs_parse_all(OPT_OUT, &c, wd, &l) < 0) {
		cs_say(CPK_STAGE_LOG_ERROR, "--stage-out not done");
		cs_admin_comment(sp, cpk_stage_comment(comment, sizeof(comment),
			"cpk_stage: stage-out not done (%s); nothing was sent",
			cs_last_error()));
		goto out;
	}
	if (cs_run_helper(sp, &c, OPT_OUT, wd, -1, c.stage_out_timeout, NULL,
			  &r) == 0)
		goto out;
	cs_say(CPK_STAGE_LOG_ERROR, "--stage-out failed: nothing was deleted; "
	       "what was not delivered is listed in %s/%s", wd, cs_record_name());
	if (r.total)
		cpk_stage_comment(comment, sizeof(comment), "cpk_stage: stage-out "
				  "failed: %zu of %zu items not delivered, kept in "
				  "%s; see %s", r.failed, r.total, wd,
				  cs_record_name());
	else
		cpk_stage_comment(comment, sizeof(comment), "cpk_stage: stage-out "
				  "failed (%s); the files are kept in %s; see %s",
				  cs_last_error(), wd, cs_record_name());
	cs_admin_comment(sp, comment);
out:
	cpk_stage_list_release(&l);
	cpk_stage_conf_release(&c);
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	char in_failed[CPK_STAGE_COMMENT_MAX];
	ssize_t n = -1;

	if (failed_pipe[0] >= 0) {
		n = read(failed_pipe[0], in_failed, sizeof(in_failed) - 1);
		close(failed_pipe[0]);
		close(failed_pipe[1]);
		failed_pipe[0] = failed_pipe[1] = -1;
	}
	if (!batch_step(sp))
		return 0;
	if (n > 0) {
		/* the task's text: sanitised again (the task ran as root,
		 * but the bytes crossed a pipe) */
		in_failed[n] = '\0';
		if (cs_job.n_out)
			cs_say(CPK_STAGE_LOG_ERROR, "--stage-out not run: the "
			       "script did not run (the stage-in failed)");
		if (n > 1) {
			char c[CPK_STAGE_COMMENT_MAX];

			cs_admin_comment(sp, cpk_stage_comment(c, sizeof(c),
						"%s", in_failed));
		}
		return 0;
	}
	if (cs_job.n_out)
		stage_out(sp, ac, av);
	return 0;	/* an error here never drains the node */
}
