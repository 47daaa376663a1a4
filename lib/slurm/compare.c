/*
 * The description's nodes side by side with Slurm's (cpk node list): which
 * are in both, which only in one, and the table or JSON that shows it.
 * Pure: no libslurm here, so the unit tests drive it with made-up views.
 */
#include <stdlib.h>
#include <string.h>

#include "cpk/slurm.h"
#include "cpk/json.h"
#include "internal.h"

const char *cpk_node_agree_name(enum cpk_node_agree a)
{
	switch (a) {
	case CPK_NODE_BOTH:
		return "ok";
	case CPK_NODE_NOT_IN_SLURM:
		return "not-in-slurm";
	case CPK_NODE_NOT_DESCRIBED:
		return "not-described";
	}
	return "?";
}

void cpk_node_rows_release(struct cpk_node_rows *rows)
{
	if (!rows)
		return;
	free(rows->v);
	rows->v = NULL;
	rows->n = 0;
}

static const struct cpk_slurm_node *find_slurm(const struct cpk_slurm_nodes *sn,
					       const char *name, unsigned char *used)
{
	size_t i;

	for (i = 0; i < sn->n; i++)
		if (!strcmp(sn->v[i].name, name)) {
			used[i] = 1;
			return &sn->v[i];
		}
	return NULL;
}

cpk_err_t cpk_node_compare(const struct cpk_model *m, const struct cpk_slurm_nodes *sn,
			   struct cpk_node_rows *rows)
{
	unsigned char *used = calloc(sn->n + 1, 1);
	struct cpk_node_row *v = calloc(m->n_nodes + sn->n + 1, sizeof(*v));
	size_t i, n = 0;

	if (!used || !v) {
		free(used);
		free(v);
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < m->n_nodes; i++) {
		const struct cpk_node *d = &m->nodes[i];
		struct cpk_node_row *row = &v[n++];

		row->name = d->name;
		row->desc = d;
		row->source = m->groups[d->group].pos.file;
		row->slurm = find_slurm(sn, d->name, used);
		row->agree = row->slurm ? CPK_NODE_BOTH : CPK_NODE_NOT_IN_SLURM;
		row->address_differs = row->slurm && d->address && row->slurm->address &&
			strcmp(d->address, row->slurm->address) != 0;
	}
	for (i = 0; i < sn->n; i++) {
		struct cpk_node_row *row;

		if (used[i])
			continue;
		row = &v[n++];
		row->name = sn->v[i].name;
		row->slurm = &sn->v[i];
		row->agree = CPK_NODE_NOT_DESCRIBED;
	}
	free(used);
	cpk_node_rows_release(rows);
	rows->v = v;
	rows->n = n;
	return CPK_OK;
}

static int disagrees(const struct cpk_node_row *r)
{
	return r->agree != CPK_NODE_BOTH || r->address_differs;
}

/* Text from Slurm or a file, for a terminal: control bytes become '?'. */
static void add_clean(struct cpk_buf *b, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] && i < max; i++)
		cpk_buf_addch(b, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
}

static void row_json(struct cpk_json *j, const struct cpk_node_row *r)
{
	const struct cpk_slurm_node *s = r->slurm;

	cpk_json_obj(j);
	cpk_json_kstr(j, "name", r->name);
	cpk_json_kstr(j, "agree", cpk_node_agree_name(r->agree));
	cpk_json_kbool(j, "address_differs", r->address_differs);
	cpk_json_key(j, "description");
	if (r->desc) {
		cpk_json_obj(j);
		cpk_json_kstr(j, "address", r->desc->address);
		cpk_json_kstr(j, "file", r->source);
		cpk_json_end(j);
	} else {
		cpk_json_str(j, NULL);
	}
	cpk_json_key(j, "slurm");
	if (s) {
		cpk_json_obj(j);
		cpk_json_kstr(j, "state", s->state);
		cpk_json_kstr(j, "address", s->address);
		cpk_json_ku64(j, "cpus", s->cpus);
		cpk_json_ku64(j, "alloc_cpus", s->alloc_cpus);
		cpk_json_ku64(j, "memory_mb", s->memory_mb);
		cpk_json_ku64(j, "jobs", s->jobs);
		cpk_json_kbool(j, "dynamic", s->dynamic);
		cpk_json_kstr(j, "reason", s->reason);
		cpk_json_end(j);
	} else {
		cpk_json_str(j, NULL);
	}
	cpk_json_end(j);
}

static void row_text(struct cpk_buf *b, const struct cpk_node_row *r)
{
	const struct cpk_slurm_node *s = r->slurm;
	struct cpk_buf cell = CPK_BUF_INIT;

	add_clean(&cell, r->name, 64);
	cpk_buf_addf(b, "%-16s ", cell.buf);
	cpk_buf_reset(&cell);
	if (s) {
		add_clean(&cell, s->state, 32);
		cpk_buf_addf(b, "%-12s %5llu/%-5llu %4llu ", cell.buf,
			     (unsigned long long)s->alloc_cpus, (unsigned long long)s->cpus,
			     (unsigned long long)s->jobs);
	} else {
		cpk_buf_addf(b, "%-12s %11s %4s ", "-", "-", "-");
	}
	cpk_buf_reset(&cell);
	add_clean(&cell, r->desc ? (r->source ? r->source : "?") : "-", 256);
	cpk_buf_addf(b, "%-14s %s", cpk_node_agree_name(r->agree), cell.buf);
	if (r->address_differs) {
		cpk_buf_reset(&cell);
		add_clean(&cell, r->slurm->address, 256);
		cpk_buf_addf(b, " (slurm's address %s)", cell.buf);
	}
	if (s && s->reason) {
		cpk_buf_addstr(b, " reason: ");
		add_clean(b, s->reason, 256);
	}
	cpk_buf_addch(b, '\n');
	cpk_buf_release(&cell);
}

size_t cpk_node_rows_format(const struct cpk_node_rows *rows, int json,
			    struct cpk_buf *out)
{
	size_t i, bad = 0;
	struct cpk_json j;

	for (i = 0; i < rows->n; i++)
		bad += disagrees(&rows->v[i]) != 0;
	if (json) {
		cpk_json_init(&j, out);
		cpk_json_obj(&j);
		cpk_json_key(&j, "nodes");
		cpk_json_arr(&j);
		for (i = 0; i < rows->n; i++)
			row_json(&j, &rows->v[i]);
		cpk_json_end(&j);
		cpk_json_ku64(&j, "disagree", bad);
		cpk_json_end(&j);
		cpk_buf_addch(out, '\n');
		return bad;
	}
	cpk_buf_addf(out, "%-16s %-12s %11s %4s %-14s %s\n", "NODE", "STATE", "CPUS(A/T)",
		     "JOBS", "AGREE", "DESCRIBED IN");
	for (i = 0; i < rows->n; i++)
		row_text(out, &rows->v[i]);
	return bad;
}
