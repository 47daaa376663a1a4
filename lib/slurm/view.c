/*
 * The live view of Slurm's nodes through libslurm (slurm_load_node,
 * slurm_load_jobs).  The only file of libclusterpack that calls libslurm;
 * the API differences between Slurm 22.05 (Debian 12) and 24.11 (Debian 13)
 * are guarded here by SLURM_VERSION_NUMBER.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "cpk/slurm.h"
#include "cpk/hostlist.h"
#include "internal.h"

/* The slurm.conf slurm_init() was given; NULL before cpk_slurm_open(). */
static char *opened_conf;

cpk_err_t cpk_slurm_conf_path(const struct cpk_model *m, const char *override,
			      const char **path)
{
	static _Thread_local char buf[4096];
	const char *e = getenv("SLURM_CONF");
	size_t n;

	if (override) {
		*path = override;
		return CPK_OK;
	}
	if (e && *e) {
		*path = e;
		return CPK_OK;
	}
	if (!m || !m->slurm.config_dir)
		return cpk_err_set(CPK_ERR_INVALID, "no slurm.conf: the description names no slurm.config_dir");
	n = strlen(m->slurm.config_dir);
	if (n + sizeof("/slurm.conf") > sizeof(buf))
		return cpk_err_set(CPK_ERR_INVALID, "slurm.config_dir is too long");
	memcpy(buf, m->slurm.config_dir, n);
	memcpy(buf + n, "/slurm.conf", sizeof("/slurm.conf"));
	*path = buf;
	return CPK_OK;
}

cpk_err_t cpk_slurm_open(const char *slurm_conf)
{
	struct stat st;
	int fd;

	if (opened_conf) {
		if (!strcmp(opened_conf, slurm_conf))
			return CPK_OK;
		return cpk_err_set(CPK_ERR_INVALID, "libslurm is already set up with %s, not %s",
				   opened_conf, slurm_conf);
	}
	/* libslurm exits the process on a file it cannot read: look first */
	fd = open(slurm_conf, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cpk_err_sys("cannot read Slurm's configuration %s", slurm_conf);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cpk_err_set(CPK_ERR_INVALID, "%s is not a regular file", slurm_conf);
	}
	close(fd);
	if (!(opened_conf = cpk_strdup(slurm_conf)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	slurm_init(opened_conf);
	return CPK_OK;
}

void cpk_slurm_close(void)
{
	if (!opened_conf)
		return;
	slurm_fini();
	free(opened_conf);
	opened_conf = NULL;
}

void cpk_slurm_nodes_release(struct cpk_slurm_nodes *sn)
{
	size_t i;

	if (!sn)
		return;
	for (i = 0; i < sn->n; i++) {
		free(sn->v[i].name);
		free(sn->v[i].address);
		free(sn->v[i].state);
		free(sn->v[i].reason);
	}
	free(sn->v);
	sn->v = NULL;
	sn->n = 0;
}

/*
 * Like sinfo's %T (lower case, '*' when not responding).  As sinfo does,
 * a node with some but not all CPUs allocated is "mixed" (slurmctld 22.05
 * reports it as allocated).
 */
static char *state_name(uint32_t st, uint64_t alloc, uint64_t cpus)
{
	static const char *const base[] = {
		"unknown", "down", "idle", "allocated", "error", "mixed", "future",
	};
	uint32_t b = st & NODE_STATE_BASE;
	const char *name;
	struct cpk_buf s = CPK_BUF_INIT;

	if ((b == NODE_STATE_ALLOCATED || b == NODE_STATE_IDLE) && alloc && alloc < cpus)
		b = NODE_STATE_MIXED;
	else if (b == NODE_STATE_IDLE && alloc && alloc >= cpus)
		b = NODE_STATE_ALLOCATED;
	name = b < sizeof(base) / sizeof(base[0]) ? base[b] : "unknown";

	if (st & NODE_STATE_DRAIN) {
		if (b == NODE_STATE_ALLOCATED || b == NODE_STATE_MIXED ||
		    (st & NODE_STATE_COMPLETING))
			name = "draining";
		else if (b != NODE_STATE_DOWN)
			name = "drained";
	} else if (st & NODE_STATE_COMPLETING) {
		name = "completing";
	}
	cpk_buf_addstr(&s, name);
	if (st & NODE_STATE_NO_RESPOND)
		cpk_buf_addch(&s, '*');
	return cpk_buf_detach(&s, NULL);
}

static uint64_t alloc_cpus(const node_info_t *ni)
{
/* node_info_t.alloc_cpus replaced select_nodeinfo in Slurm 25.05 */
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(25, 5, 0)
	return ni->alloc_cpus;
#else
	uint16_t n = 0;

	if (slurm_get_select_nodeinfo(ni->select_nodeinfo, SELECT_NODEDATA_SUBCNT,
				      NODE_STATE_ALLOCATED, &n) != SLURM_SUCCESS)
		return 0;
	return n;
#endif
}

/* libslurm's calls leave their error in errno (22.05's slurm_get_errno()
 * returned just that; 24.11 has no such function). */
static cpk_err_t slurm_failed(const char *what, int e)
{
	return cpk_err_set(CPK_ERR_IO, "%s: %s", what, slurm_strerror(e));
}

/* Adds one to the jobs of every node of SN that NODES (a host list) names. */
static cpk_err_t count_job(struct cpk_slurm_nodes *sn, const char *nodes)
{
	struct cpk_hostlist hl = CPK_HOSTLIST_INIT;
	size_t i, j;

	if (!nodes || !*nodes)
		return CPK_OK;
	if (cpk_hostlist_expand(&hl, nodes, NULL) != CPK_OK)
		return cpk_err_prefix(CPK_ERR_INVALID, "a job's node list from slurmctld");
	for (i = 0; i < hl.n; i++)
		for (j = 0; j < sn->n; j++)
			if (!strcmp(hl.names[i], sn->v[j].name)) {
				sn->v[j].jobs++;
				break;
			}
	cpk_hostlist_release(&hl);
	return CPK_OK;
}

static cpk_err_t copy_node(struct cpk_slurm_node *d, const node_info_t *ni)
{
	d->name = cpk_strdup(ni->name);
	d->address = ni->node_addr && *ni->node_addr ? cpk_strdup(ni->node_addr) : NULL;
	d->reason = ni->reason && *ni->reason ? cpk_strdup(ni->reason) : NULL;
	d->cpus = ni->cpus;
	d->alloc_cpus = alloc_cpus(ni);
	d->state = state_name(ni->node_state, d->alloc_cpus, d->cpus);
	d->memory_mb = ni->real_memory;
	d->dynamic = (ni->node_state & NODE_STATE_DYNAMIC_NORM) != 0;
	if (!d->name || !d->state || (ni->node_addr && *ni->node_addr && !d->address) ||
	    (ni->reason && *ni->reason && !d->reason))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}

cpk_err_t cpk_slurm_load_nodes(struct cpk_slurm_nodes *sn)
{
	node_info_msg_t *nodes = NULL;
	job_info_msg_t *jobs = NULL;
	struct cpk_slurm_nodes out = CPK_SLURM_NODES_INIT;
	cpk_err_t r = CPK_OK;
	uint32_t i;

	if (!opened_conf)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_slurm_load_nodes before cpk_slurm_open");
	if (slurm_load_node((time_t)0, &nodes, SHOW_ALL) != SLURM_SUCCESS)
		return slurm_failed("cannot load the nodes from slurmctld", errno);
	if (nodes->record_count &&
	    !(out.v = calloc(nodes->record_count, sizeof(*out.v)))) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nodes->record_count; i++) {
		const node_info_t *ni = &nodes->node_array[i];

		if (!ni->name || !*ni->name)
			continue;	/* an unused slot of the node table */
		if ((r = copy_node(&out.v[out.n++], ni)) != CPK_OK)
			goto out;
	}
	if (slurm_load_jobs((time_t)0, &jobs, SHOW_ALL) != SLURM_SUCCESS) {
		r = slurm_failed("cannot load the jobs from slurmctld", errno);
		goto out;
	}
	for (i = 0; i < jobs->record_count; i++) {
		const slurm_job_info_t *j = &jobs->job_array[i];
		uint32_t st = j->job_state & JOB_STATE_BASE;

		if (st != JOB_RUNNING && st != JOB_SUSPENDED && !(j->job_state & JOB_COMPLETING))
			continue;
		if ((r = count_job(&out, j->nodes)) != CPK_OK)
			goto out;
	}
	cpk_slurm_nodes_release(sn);
	*sn = out;
	out.v = NULL;
	out.n = 0;
out:
	cpk_slurm_nodes_release(&out);
	slurm_free_job_info_msg(jobs);
	slurm_free_node_info_msg(nodes);
	return r;
}
