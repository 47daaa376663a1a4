/*
 * Running `cpk stage in|out` as the job's user (cpk_stage_spawn()), and
 * telling the job record what a failed staging left behind: AdminComment,
 * set by a request to slurmctld from root (only root or SlurmUser may).
 *
 * The request uses libslurm's functions as the host process has them
 * (slurmstepd carries libslurmfull; the plugin links no libslurm, which
 * would bring a second copy of Slurm's globals): weak references, so a
 * host without them gives a logged error, not a failed load.  It runs in
 * a forked child stopped after COMMENT_TIMEOUT_S, so a controller that
 * hangs cannot hold the step (and the node) longer.
 */
#define _GNU_SOURCE	/* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plugin.h"

#pragma weak slurm_init_job_desc_msg
#pragma weak slurm_update_job
#pragma weak slurm_strerror

#define COMMENT_TIMEOUT_S 15

/* The record of undelivered files, in the job's working directory. */
#define RECORD_FMT "cpk_stage.%u.undelivered"
#define RECORD_MAX 48
static char record[RECORD_MAX];

const char *cs_record_name(void)
{
	return record;
}

/* Reads the helper's "FAILED TOTAL\n" (hostile: the user may write on
 * the pipe) from FD into R; leaves R zero when it is not that. */
static void read_report(int fd, struct cs_result *r)
{
	char buf[64], *end, *p;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	unsigned long long f, t;

	r->failed = r->total = 0;
	if (n <= 0)
		return;
	buf[n] = '\0';
	errno = 0;
	f = strtoull(buf, &end, 10);
	if (end == buf || *end != ' ' || buf[0] == '-')
		return;
	p = end + 1;
	t = strtoull(p, &end, 10);
	if (end == p || *p == '-' || *end != '\n' || end[1] || errno ||
	    f > t || !t || t > CPK_STAGE_ITEMS_MAX)
		return;
	r->failed = (size_t)f;
	r->total = (size_t)t;
}

/*
 * Runs `cpk stage in|out VALUE...` as the job's user, its output on ERR_FD
 * (-1: slurmstepd's, which for the batch step is the job's output file).
 * A stage-out also keeps `record` (cpk stage out --record).  Returns 0 on
 * success, else -1 (logged); R gets the helper's count of items not
 * staged when it said.
 */
int cs_run_helper(spank_t sp, const struct cpk_stage_conf *c, int val,
		  const char *workdir, int err_fd, unsigned timeout,
		  int (*cancelled)(void *), struct cs_result *r)
{
	char **v = val == OPT_IN ? cs_job.in : cs_job.out;
	int n = val == OPT_IN ? cs_job.n_in : cs_job.n_out, i, k = 0, status;
	char *argv[MAXVALS + 20], conns[16], retries[16], maxs[32], jobid[16];
	int rep[2] = { -1, -1 };
	uint32_t id = 0;
	struct cpk_stage_spawn s;
	uid_t uid;
	gid_t gid;
	cpk_err_t e;
	struct timespec t0, t1;

	memset(r, 0, sizeof(*r));
	if (spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS) {
		cs_say(CPK_STAGE_LOG_ERROR, "cannot get the job's uid and gid");
		return -1;
	}
	/* the helper's report: fd 3 in the child (never 0..2 here) */
	if (pipe2(rep, O_CLOEXEC | O_NONBLOCK) < 0 || rep[1] < 3) {
		cs_say(CPK_STAGE_LOG_WARN, "no pipe for the helper's report");
		if (rep[0] >= 0) {
			close(rep[0]);
			close(rep[1]);
		}
		rep[0] = rep[1] = -1;
	}
	snprintf(conns, sizeof(conns), "%u", cs_job.conns ? cs_job.conns :
		 c->connections);
	snprintf(retries, sizeof(retries), "%u", c->retries);
	argv[k++] = c->cpk;
	argv[k++] = "stage";
	argv[k++] = "-n";
	argv[k++] = conns;
	argv[k++] = "--retries";
	argv[k++] = retries;
	if (rep[1] >= 0) {
		argv[k++] = "--report-fd";
		argv[k++] = "3";
	}
	if (cs_job.verify || c->verify)
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
	s.report_fd = rep[1] >= 0 ? rep[1] : 0;
	s.log = cs_log;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	e = cpk_stage_spawn(&s, &status);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rep[0] >= 0) {
		close(rep[1]);
		read_report(rep[0], r);
		close(rep[0]);
	}
	if (e) {
		cs_say(CPK_STAGE_LOG_ERROR, "%s: %s", cs_what(val), cpk_errmsg());
		return -1;
	}
	if (WIFSIGNALED(status)) {
		cs_say(CPK_STAGE_LOG_ERROR, "%s failed: cpk stage was stopped by "
		       "signal %d (the job was cancelled?)", cs_what(val),
		       WTERMSIG(status));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		cs_say(CPK_STAGE_LOG_ERROR, "%s failed (cpk stage exit status %d)",
		       cs_what(val), WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	/* the whole step, fork to reap (bench/stage.sh reads it) */
	cs_say(CPK_STAGE_LOG_INFO, "%s done in %.3f s", cs_what(val),
	       (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

/*
 * The job's working directory: slurmstepd puts it in the job's PWD (in
 * task_init_privileged the task is already there; in exit slurmstepd is
 * not).  The helper enters it as the user, so a forged PWD gains nothing.
 */
int cs_workdir_of(spank_t sp, char *buf, size_t n)
{
	if (spank_getenv(sp, "PWD", buf, (int)n) != ESPANK_SUCCESS ||
	    buf[0] != '/')
		return -1;
	return 0;
}

struct comment_req {
	uint32_t job;
	const char *text;
	int fd;		/* the child's reason for a failure */
};

/* In the child: the request, its result as the exit status. */
static void comment_child(void *arg)
{
	struct comment_req *q = arg;
	job_desc_msg_t d;
	int err;

	slurm_init_job_desc_msg(&d);
	d.job_id = q->job;
	d.admin_comment = (char *)q->text;
	if (slurm_update_job(&d) == 0)
		_exit(0);
	err = errno;	/* libslurm's error (slurm_get_errno() is gone in 24.11) */
	dprintf(q->fd, "%.200s", slurm_strerror && err ?
		slurm_strerror(err) : "request refused");
	_exit(1);
}

void cs_admin_comment(spank_t sp, const char *text)
{
	struct comment_req q = { 0, text, -1 };
	int p[2], status;
	char why[256];
	ssize_t n;
	cpk_err_t e;

	if (!slurm_init_job_desc_msg || !slurm_update_job) {
		cs_say(CPK_STAGE_LOG_ERROR, "cannot set the job's AdminComment: "
		       "this process has no slurm_update_job() (not "
		       "slurmstepd?); it would have been: %s", text);
		return;
	}
	if (spank_get_item(sp, S_JOB_ID, &q.job) != ESPANK_SUCCESS || !q.job) {
		cs_say(CPK_STAGE_LOG_ERROR, "cannot set the job's AdminComment: "
		       "no job id");
		return;
	}
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		cs_say(CPK_STAGE_LOG_ERROR, "cannot set the job's AdminComment: "
		       "pipe: %s", strerror(errno));
		return;
	}
	q.fd = p[1];
	e = cpk_stage_run_bounded(comment_child, &q, COMMENT_TIMEOUT_S, cs_log,
				  NULL, &status);
	close(p[1]);
	n = read(p[0], why, sizeof(why) - 1);
	close(p[0]);
	why[n > 0 ? n : 0] = '\0';
	if (e)
		cs_say(CPK_STAGE_LOG_ERROR, "cannot set the job's AdminComment "
		       "(slurmctld did not answer?): %s", cpk_errmsg());
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		cs_say(CPK_STAGE_LOG_ERROR, "cannot set the job's AdminComment: "
		       "%s", why[0] ? why : "the request failed");
	else
		cs_say(CPK_STAGE_LOG_INFO, "AdminComment set: %s", text);
}
