/*
 * Removing a node from the cluster (cpk node del): refuse what is not
 * ours to remove, drain it in slurmctld, wait for (or requeue/cancel) its
 * jobs, delete a dynamic node from slurmctld, stop its slurmd over SSH,
 * remove its fragment.  See include/cpk/node.h.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk/node.h"
#include "cpk/remote.h"
#include "cpk/slurm.h"
#include "internal.h"
#include "node_priv.h"

#define DRAIN_REASON "cpk node del"

struct del {
	const struct cpk_node_del_opts *o;
	struct cpk_node_del_report *rep;
};

#define say(d, ...) cpk_node_say((d)->o->progress, (d)->o->arg, __VA_ARGS__)

int cpk_node_own_fragment(const char *file, const char *name)
{
	static const char dir[] = "nodes.d/", ext[] = ".yaml";
	size_t fl = strlen(file), nl = strlen(name), want = sizeof(dir) - 1 + nl + sizeof(ext) - 1;
	const char *p;

	if (!nl || fl < want)
		return 0;
	p = file + fl - want;
	return !strncmp(p, dir, sizeof(dir) - 1) && !strncmp(p + sizeof(dir) - 1, name, nl) &&
	       !strcmp(p + sizeof(dir) - 1 + nl, ext) && (p == file || p[-1] == '/');
}

/* Step 2: drained; the jobs there requeued or cancelled (force), then
 * waited for. */
static cpk_err_t drain_and_wait(struct del *d)
{
	const char *name = d->o->name;
	struct cpk_slurm_jobs jobs = CPK_SLURM_JOBS_INIT;
	int64_t end = cpk_node_now_ms() + (int64_t)d->o->wait_s * 1000, said = 0;
	cpk_err_t r;
	size_t i;

	if ((r = cpk_slurm_drain(name, DRAIN_REASON)) != CPK_OK)
		return r;
	say(d, "%s drained in slurmctld (reason \"%s\"): no new job starts there", name,
	    DRAIN_REASON);
	if ((r = cpk_slurm_node_jobs(name, &jobs)) != CPK_OK)
		goto out;
	for (i = 0; d->o->force && i < jobs.n; i++) {
		const struct cpk_slurm_job *j = &jobs.v[i];

		if (j->completing)
			continue;
		if (j->requeue && cpk_slurm_job_requeue(j->id) == CPK_OK) {
			say(d, "job %u requeued (it runs again elsewhere)", (unsigned)j->id);
			d->rep->requeued++;
			continue;
		}
		if ((r = cpk_slurm_job_cancel(j->id)) != CPK_OK)
			goto out;
		say(d, "job %u cancelled (%s)", (unsigned)j->id,
		    j->requeue ? "slurmctld refused to requeue it"
			       : "it cannot be requeued: not a batch job, or --no-requeue");
		d->rep->cancelled++;
	}
	while (jobs.n) {
		if (cpk_node_now_ms() >= end) {
			r = cpk_err_set(CPK_ERR_IO,
					"%zu job%s (first: %u) still on %s after %u s: %s stays "
					"drained and its fragment is kept; run cpk node del again "
					"later, or with --force to requeue or cancel them",
					jobs.n, jobs.n == 1 ? "" : "s", (unsigned)jobs.v[0].id, name,
					d->o->wait_s, name);
			goto out;
		}
		if (cpk_node_now_ms() >= said) {
			say(d, "waiting for %zu job%s on %s (first: %u), up to %u s", jobs.n,
			    jobs.n == 1 ? "" : "s", name, (unsigned)jobs.v[0].id, d->o->wait_s);
			said = cpk_node_now_ms() + 30000;
		}
		cpk_node_nap_ms(500);
		if ((r = cpk_slurm_node_jobs(name, &jobs)) != CPK_OK)
			goto out;
	}
out:
	cpk_slurm_jobs_release(&jobs);
	return r;
}

/* Step 3: a dynamic node deleted; a static node left drained.  slurmctld
 * may still be cleaning up after the last job: a refusal is tried again for
 * a few seconds. */
static cpk_err_t remove_from_slurm(struct del *d, const struct cpk_slurm_node *sn)
{
	int64_t end = cpk_node_now_ms() + 10000;
	cpk_err_t r;

	if (!sn->dynamic) {
		d->rep->left_drained = 1;
		say(d, "%s is a static node (a NodeName line of slurm.conf): left drained, not "
		    "deleted (deleting a static node breaks slurmctld's next reconfigure); it "
		    "goes when slurmctld restarts without its line", d->o->name);
		return CPK_OK;
	}
	while ((r = cpk_slurm_delete_node(d->o->name)) != CPK_OK && cpk_node_now_ms() < end)
		cpk_node_nap_ms(500);
	if (r != CPK_OK)
		return cpk_err_prefix(r, "%s stays drained", d->o->name);
	d->rep->deleted = 1;
	say(d, "%s deleted from slurmctld (a dynamic node)", d->o->name);
	return CPK_OK;
}

/* Step 4: slurmd stopped over SSH; never fails the removal. */
static void stop_slurmd(struct del *d, const char *host)
{
	static const char script[] =
		"if [ -d /run/systemd/system ]; then systemctl stop slurmd && "
		"systemctl disable --quiet slurmd && echo cpk-stopped; else echo cpk-no-systemd; fi";
	const char *argv[] = { "sh", "-c", script, NULL };
	struct cpk_remote_out out = CPK_REMOTE_OUT_INIT;
	struct cpk_node_del_report *rep = d->rep;
	struct cpk_remote_opts ro;
	struct cpk_remote *r = NULL;
	int st = -1;

	memset(&ro, 0, sizeof(ro));
	ro.conn = d->o->conn;
	ro.conn.host = host;
	ro.run_timeout_ms = d->o->run_timeout_ms;
	rep->slurmd = CPK_NODE_SLURMD_FAILED;
	if (cpk_remote_open(&ro, &r) != CPK_OK) {
		snprintf(rep->slurmd_why, sizeof(rep->slurmd_why), "%s", cpk_errmsg());
		goto out;
	}
	if (d->o->remote_root && strcmp(d->o->remote_root, "/")) {
		rep->slurmd = CPK_NODE_SLURMD_NO_SYSTEMD;
		snprintf(rep->slurmd_why, sizeof(rep->slurmd_why),
			 "its files are under %s there, not the live system: whoever started "
			 "slurmd there stops it", d->o->remote_root);
		goto out;
	}
	if (cpk_remote_run(r, argv, NULL, 0, &out, &st) != CPK_OK) {
		snprintf(rep->slurmd_why, sizeof(rep->slurmd_why), "%s", cpk_errmsg());
		goto out;
	}
	if (st == 0 && out.data && strstr(out.data, "cpk-stopped")) {
		rep->slurmd = CPK_NODE_SLURMD_STOPPED;
	} else if (st == 0 && out.data && strstr(out.data, "cpk-no-systemd")) {
		rep->slurmd = CPK_NODE_SLURMD_NO_SYSTEMD;
		snprintf(rep->slurmd_why, sizeof(rep->slurmd_why),
			 "systemd does not run on %s: stop slurmd there yourself", host);
	} else {
		snprintf(rep->slurmd_why, sizeof(rep->slurmd_why),
			 "systemctl stop/disable slurmd on %s failed (exit %d): %.300s", host, st,
			 out.data ? out.data : "");
	}
out:
	if (rep->slurmd == CPK_NODE_SLURMD_STOPPED)
		say(d, "slurmd stopped and disabled on %s", host);
	else
		say(d, "slurmd not stopped on %s: %s", host, rep->slurmd_why);
	cpk_remote_out_release(&out);
	cpk_remote_close(r);
}

/* Step 1: what the description and slurmctld say; refused with nothing
 * changed when the node is not ours to remove.  *SN: the node in NODES, or
 * NULL. */
static cpk_err_t look(struct del *d, const struct cpk_model *m, const struct cpk_slurm_nodes *nodes,
		      const struct cpk_node **desc, const struct cpk_slurm_node **sn)
{
	const char *name = d->o->name, *file;
	size_t i;

	*desc = cpk_model_find_node(m, name);
	*sn = NULL;
	for (i = 0; i < nodes->n; i++)
		if (!strcmp(nodes->v[i].name, name))
			*sn = &nodes->v[i];
	if (!*desc && !*sn)
		return cpk_err_set(CPK_ERR_NOTFOUND,
				   "node %s is neither described (%s, nodes.d/) nor known to slurmctld; "
				   "nothing changed", name, d->o->cluster_yaml);
	if (!*desc)
		return CPK_OK;
	file = m->groups[(*desc)->group].pos.file;
	if (!file || !cpk_node_own_fragment(file, name))
		return cpk_err_set(CPK_ERR_PERM,
				   "node %s is described in %s, not in its own fragment "
				   "nodes.d/%s.yaml: it is the admin's to remove from there; nothing "
				   "changed", name, file ? file : "the description", name);
	return CPK_OK;
}

cpk_err_t cpk_node_del(const struct cpk_node_del_opts *o, struct cpk_node_del_report *rep)
{
	struct cpk_node_del_report dummy;
	struct cpk_slurm_nodes nodes = CPK_SLURM_NODES_INIT;
	struct cpk_diags diags = CPK_DIAGS_INIT;
	const struct cpk_slurm_node *sn = NULL;
	const struct cpk_node *desc = NULL;
	struct cpk_model *m = NULL;
	struct del d = { o, rep ? rep : &dummy };
	const char *conf, *host;
	cpk_err_t r;

	memset(d.rep, 0, sizeof(*d.rep));
	if ((r = cpk_node_name_check(o->name)) != CPK_OK) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", cpk_errmsg());
		return cpk_err_set(r, "%s; nothing changed", msg);
	}
	if ((r = cpk_model_load(o->cluster_yaml, &m, &diags)) != CPK_OK) {
		r = cpk_err_prefix(r, "%s", o->cluster_yaml);
		goto out;
	}
	if ((r = cpk_slurm_conf_path(m, o->slurm_conf, &conf)) != CPK_OK ||
	    (r = cpk_slurm_open(conf)) != CPK_OK || (r = cpk_slurm_load_nodes(&nodes)) != CPK_OK ||
	    (r = look(&d, m, &nodes, &desc, &sn)) != CPK_OK)
		goto out;
	d.rep->in_slurm = sn != NULL;
	if (sn) {
		if ((r = drain_and_wait(&d)) != CPK_OK || (r = remove_from_slurm(&d, sn)) != CPK_OK)
			goto out;
	} else {
		say(&d, "%s is not known to slurmctld: nothing to drain there", o->name);
	}
	host = o->conn.host ? o->conn.host
	       : desc && desc->address ? desc->address
	       : sn && sn->address ? sn->address : o->name;
	stop_slurmd(&d, host);
	if (desc) {
		if ((r = cpk_node_fragment_remove(o->cluster_yaml, o->name)) != CPK_OK)
			goto out;
		d.rep->fragment_removed = 1;
		say(&d, "its fragment nodes.d/%s.yaml removed", o->name);
	}
out:
	cpk_slurm_nodes_release(&nodes);
	cpk_slurm_close();
	cpk_diags_release(&diags);
	cpk_model_free(m);
	return r;
}
