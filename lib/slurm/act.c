/*
 * Acting on one node through libslurm (cpk node del): drain it, list and
 * requeue or cancel the jobs running there, delete a dynamic node.  Like
 * view.c, which owns slurm_init() (cpk_slurm_open()), every call is root's
 * business in slurmctld; libslurm's messages are freed before returning.
 * Slurm 22.05 and 24.11 have the same signatures for every call used here
 * (slurm_update_node, slurm_delete_node, slurm_requeue, slurm_kill_job).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "cpk/slurm.h"
#include "cpk/hostlist.h"
#include "internal.h"

/* CALL (slurm_update_node or slurm_delete_node) for NODE; DRAIN: the
 * message drains it with REASON.  WHAT says in the error what did not happen. */
static cpk_err_t node_call(int (*call)(update_node_msg_t *), const char *node,
			   int drain, const char *reason, const char *what)
{
	update_node_msg_t msg;
	cpk_err_t r;

	if ((r = cpk_node_name_check(node)) != CPK_OK)
		return r;
	slurm_init_update_node_msg(&msg);
	msg.node_names = (char *)node;
	if (drain) {
		msg.node_state = NODE_STATE_DRAIN;
		msg.reason = (char *)reason;
		msg.reason_uid = (uint32_t)getuid();
	}
	if (call(&msg) != SLURM_SUCCESS)
		return cpk_err_set(CPK_ERR_IO, "%s %s: %s", what, node, slurm_strerror(errno));
	return CPK_OK;
}

cpk_err_t cpk_slurm_drain(const char *node, const char *reason)
{
	return node_call(slurm_update_node, node, 1, reason, "cannot drain");
}

cpk_err_t cpk_slurm_delete_node(const char *node)
{
	return node_call(slurm_delete_node, node, 0, NULL, "slurmctld did not delete");
}

void cpk_slurm_jobs_release(struct cpk_slurm_jobs *jobs)
{
	if (!jobs)
		return;
	free(jobs->v);
	jobs->v = NULL;
	jobs->n = 0;
}

/* Whether the host list NODES names NODE. */
static cpk_err_t names(const char *nodes, const char *node, int *yes)
{
	struct cpk_hostlist hl = CPK_HOSTLIST_INIT;
	size_t i;

	*yes = 0;
	if (!nodes || !*nodes)
		return CPK_OK;
	if (cpk_hostlist_expand(&hl, nodes, NULL) != CPK_OK)
		return cpk_err_prefix(CPK_ERR_INVALID, "a job's node list from slurmctld");
	for (i = 0; i < hl.n && !*yes; i++)
		*yes = !strcmp(hl.names[i], node);
	cpk_hostlist_release(&hl);
	return CPK_OK;
}

cpk_err_t cpk_slurm_node_jobs(const char *node, struct cpk_slurm_jobs *jobs)
{
	job_info_msg_t *msg = NULL;
	struct cpk_slurm_jobs out = CPK_SLURM_JOBS_INIT;
	cpk_err_t r = CPK_OK;
	uint32_t i;
	int yes;

	if (slurm_load_jobs((time_t)0, &msg, SHOW_ALL) != SLURM_SUCCESS)
		return cpk_err_set(CPK_ERR_IO, "cannot load the jobs from slurmctld: %s",
				   slurm_strerror(errno));
	if (msg->record_count && !(out.v = calloc(msg->record_count, sizeof(*out.v)))) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < msg->record_count; i++) {
		const slurm_job_info_t *j = &msg->job_array[i];
		uint32_t st = j->job_state & JOB_STATE_BASE;
		struct cpk_slurm_job *o;

		if (st != JOB_RUNNING && st != JOB_SUSPENDED && !(j->job_state & JOB_COMPLETING))
			continue;
		if ((r = names(j->nodes, node, &yes)) != CPK_OK)
			goto out;
		if (!yes)
			continue;
		o = &out.v[out.n++];
		o->id = j->job_id;
		o->completing = (j->job_state & JOB_COMPLETING) != 0;
		o->requeue = j->batch_flag && j->requeue;
	}
	cpk_slurm_jobs_release(jobs);
	*jobs = out;
	out.v = NULL;
out:
	cpk_slurm_jobs_release(&out);
	slurm_free_job_info_msg(msg);
	return r;
}

cpk_err_t cpk_slurm_job_requeue(uint32_t id)
{
	if (slurm_requeue(id, JOB_RUNNING) != SLURM_SUCCESS)
		return cpk_err_set(CPK_ERR_IO, "cannot requeue job %u: %s", (unsigned)id,
				   slurm_strerror(errno));
	return CPK_OK;
}

cpk_err_t cpk_slurm_job_cancel(uint32_t id)
{
	if (slurm_kill_job(id, SIGKILL, 0) != SLURM_SUCCESS &&
	    errno != ESLURM_ALREADY_DONE && errno != ESLURM_INVALID_JOB_ID)
		return cpk_err_set(CPK_ERR_IO, "cannot cancel job %u: %s", (unsigned)id,
				   slurm_strerror(errno));
	return CPK_OK;
}
