/*
 * cluster.yaml -> struct cpk_model.  The walk is driven by the schema table
 * (schema.c): set everything unset, parse, fill defaults, then check the
 * whole (check.c).  Every problem becomes a diagnostic with file:line:col;
 * parsing goes on after an error so that all of them are reported.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cpk/fsutil.h"
#include "model_priv.h"

#define MAX_FILE_SIZE (64u << 20)
#define MAX_FRAGMENTS 10000

/* ---- diagnostics ------------------------------------------------------ */

void cpk_diags_release(struct cpk_diags *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

void cpk_diags_format(const struct cpk_diags *d, struct cpk_buf *out)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct cpk_diag *g = &d->v[i];

		if (g->line)
			cpk_buf_addf(out, "%s:%d:%d: error: %s\n", g->file,
				     g->line, g->col, g->msg);
		else
			cpk_buf_addf(out, "%s: error: %s\n", g->file, g->msg);
	}
}

void cpk_diag_add(struct ctx *c, const struct cpk_pos *pos, const char *fmt, ...)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_diag *v;
	va_list ap;

	va_start(ap, fmt);
	cpk_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	v = cpk_reallocarray(c->diags->v, c->diags->n + 1, sizeof(*v));
	if (!v || cpk_buf_failed(&b)) {
		if (v)
			c->diags->v = v;
		cpk_buf_release(&b);
		c->oom = 1;
		return;
	}
	c->diags->v = v;
	v = &v[c->diags->n];
	v->file = cpk_strdup(pos && pos->file ? pos->file : c->m->path);
	v->line = pos ? pos->line : 0;
	v->col = pos ? pos->col : 0;
	v->msg = cpk_buf_detach(&b, NULL);
	if (!v->file || !v->msg) {
		free(v->file);
		free(v->msg);
		c->oom = 1;
		return;
	}
	c->diags->n++;
}

/* Sorts diagnostics by file (in the order read), line and column. */
static struct model_priv *sort_priv;
static int diag_cmp(const void *a, const void *b)
{
	const struct cpk_diag *x = a, *y = b;
	size_t i, fx = 0, fy = 0;

	for (i = 0; i < sort_priv->nfiles; i++) {
		if (!strcmp(sort_priv->files[i], x->file))
			fx = i;
		if (!strcmp(sort_priv->files[i], y->file))
			fy = i;
	}
	if (fx != fy)
		return fx < fy ? -1 : 1;
	if (x->line != y->line)	/* whole-file problems (line 0) last */
		return (unsigned)x->line - 1 < (unsigned)y->line - 1 ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x < y ? -1 : (x > y);
}

/* ---- position index ----------------------------------------------------- */

static size_t pos_slot(const struct model_priv *p, const void *addr)
{
	size_t i = ((uintptr_t)addr * 0x9E3779B97F4A7C15ULL >> 17) & (p->poscap - 1);

	while (p->pos[i].addr && p->pos[i].addr != addr)
		i = (i + 1) & (p->poscap - 1);
	return i;
}

int cpk_pos_put(struct ctx *c, const void *addr, const struct cpk_pos *pos,
		int quoted)
{
	struct model_priv *p = c->p;
	size_t i;

	if ((p->posn + 1) * 2 > p->poscap) {
		struct posent *old = p->pos;
		size_t oldcap = p->poscap;

		p->poscap = oldcap ? oldcap * 2 : 256;
		p->pos = calloc(p->poscap, sizeof(*p->pos));
		if (!p->pos) {
			p->pos = old;
			p->poscap = oldcap;
			c->oom = 1;
			return -1;
		}
		for (i = 0; i < oldcap; i++)
			if (old[i].addr)
				p->pos[pos_slot(p, old[i].addr)] = old[i];
		free(old);
	}
	i = pos_slot(p, addr);
	if (!p->pos[i].addr)
		p->posn++;
	p->pos[i].addr = addr;
	p->pos[i].pos = *pos;
	p->pos[i].quoted = quoted;
	return 0;
}

const struct posent *cpk_pos_get(const struct model_priv *p, const void *addr)
{
	size_t i;

	if (!p->poscap)
		return NULL;
	i = pos_slot(p, addr);
	return p->pos[i].addr ? &p->pos[i] : NULL;
}

/* ---- the YAML walk ---------------------------------------------------------- */

struct walk {
	struct ctx *c;
	yaml_document_t *doc;
	const char *file;
	unsigned char *visited;	/* per node id: alias loop guard */
	size_t group_reserve;	/* extra room in groups for nodes.d */
};

static struct cpk_pos node_pos(const struct walk *w, const yaml_node_t *n)
{
	struct cpk_pos p = { w->file, (int)n->start_mark.line + 1,
			     (int)n->start_mark.column + 1 };
	return p;
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return "a single value";
	default:
		return "nothing";
	}
}

static int is_null(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;

	return n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
		!strcmp(s, "NULL"));
}

static int quoted(const yaml_node_t *n)
{
	return n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
	       n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

/* Marks a collection node as walked; 0 if it was already (an alias). */
static int first_visit(struct walk *w, yaml_node_t *n)
{
	size_t id = (size_t)(n - w->doc->nodes.start);

	if (w->visited[id]) {
		struct cpk_pos p = node_pos(w, n);

		cpk_diag_add(w->c, &p,
			     "YAML aliases of mappings or lists are not supported here");
		return 0;
	}
	w->visited[id] = 1;
	return 1;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (tolower((unsigned char)a[i - 1]) !=
					      tolower((unsigned char)b[j - 1]));

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

static void unknown_key(struct walk *w, const struct section *s, const char *key,
			const struct cpk_pos *pos, const char *path)
{
	struct cpk_buf q = CPK_BUF_INIT;
	const char *best = NULL;
	size_t i, bestd = 99, len = strlen(key);

	for (i = 0; i < s->nfields; i++) {
		size_t d = edit_distance(key, s->fields[i].key);

		if (d < bestd) {
			bestd = d;
			best = s->fields[i].key;
		}
	}
	cpk_quote_value(&q, key);
	if (s == &cpk_schema_fragment)
		cpk_diag_add(w->c, pos, "unknown key %s in a nodes.d fragment (only 'nodes' is allowed there)",
			     q.buf);
	else if (best && (bestd <= 2 || bestd * 2 <= len) && bestd < len)
		cpk_diag_add(w->c, pos, "unknown key %s in %s (did you mean '%s'?)",
			     q.buf, *path ? path : "the top level", best);
	else
		cpk_diag_add(w->c, pos, "unknown key %s in %s", q.buf,
			     *path ? path : "the top level");
	cpk_buf_release(&q);
}

static void walk_mapping(struct walk *w, yaml_node_t *n, const struct section *s,
			 void *base, const char *path);

static void child_path(struct cpk_buf *b, const char *path, const char *key)
{
	cpk_buf_reset(b);
	if (*path)
		cpk_buf_addf(b, "%s.%s", path, key);
	else
		cpk_buf_addstr(b, key);
}

static void walk_list(struct walk *w, yaml_node_t *n, const struct field *f,
		      void *base, const char *path)
{
	void **arrp = (void **)((char *)base + f->off);
	size_t *countp = (size_t *)((char *)base + f->count_off);
	const struct section *sub = f->sub;
	struct cpk_buf ip = CPK_BUF_INIT;
	size_t len, cap, i;
	char *arr;

	if (n->type != YAML_SEQUENCE_NODE) {
		struct cpk_pos p = node_pos(w, n);

		cpk_diag_add(w->c, &p, "%s: expected a list (lines starting with '- '), got %s",
			     path, kind_name(n));
		return;
	}
	if (!first_visit(w, n))
		return;
	len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	cap = len + (sub == &cpk_schema_nodegroup ? w->group_reserve : 0);
	if (*arrp) {		/* nodes.d: appended into the reserved room */
		arr = *arrp;
	} else {
		arr = calloc(cap ? cap : 1, sub->size);
		if (!arr) {
			w->c->oom = 1;
			return;
		}
		*arrp = arr;
	}
	for (i = 0; i < len; i++) {
		yaml_node_t *item = yaml_document_get_node(w->doc,
							   n->data.sequence.items.start[i]);
		size_t idx = *countp;

		if (!item)
			continue;
		cpk_buf_reset(&ip);
		cpk_buf_addf(&ip, "%s[%zu]", path, idx);
		(*countp)++;
		walk_mapping(w, item, sub, arr + idx * sub->size, ip.buf);
	}
	cpk_buf_release(&ip);
}

static void walk_strlist(struct walk *w, yaml_node_t *n, const struct field *f,
			 void *base, const char *path)
{
	struct cpk_strlist *l = (struct cpk_strlist *)((char *)base + f->off);
	struct cpk_pos p = node_pos(w, n);
	size_t i, len;

	if (n->type == YAML_SCALAR_NODE) {
		cpk_field_set(w->c, f, base, (const char *)n->data.scalar.value,
			      &p, path);
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		cpk_diag_add(w->c, &p, "%s: expected a list of values, got %s", path,
			     kind_name(n));
		return;
	}
	if (!first_visit(w, n))
		return;
	cpk_strlist_release(l);
	len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	for (i = 0; i < len; i++) {
		yaml_node_t *item = yaml_document_get_node(w->doc,
							   n->data.sequence.items.start[i]);
		struct cpk_pos ip;

		if (!item)
			continue;
		ip = node_pos(w, item);
		if (item->type != YAML_SCALAR_NODE) {
			cpk_diag_add(w->c, &ip, "%s[%zu]: expected a single value, got %s",
				     path, i, kind_name(item));
			continue;
		}
		cpk_list_item(w->c, f, l, (const char *)item->data.scalar.value, &ip, path);
	}
	cpk_pos_put(w->c, l, &p, 0);
	/* each item's place, for later checks (only if all were taken) */
	for (i = 0; l->n == len && i < len; i++) {
		yaml_node_t *item = yaml_document_get_node(w->doc,
							   n->data.sequence.items.start[i]);
		struct cpk_pos ip = node_pos(w, item);

		cpk_pos_put(w->c, &l->v[i], &ip, 0);
	}
}

static void walk_value(struct walk *w, const struct field *f, yaml_node_t *v,
		       void *base, const char *path)
{
	struct cpk_pos p = node_pos(w, v);

	switch (f->type) {
	case F_SECTION:
		walk_mapping(w, v, f->sub, (char *)base + f->off, path);
		return;
	case F_LIST:
		cpk_pos_put(w->c, (char *)base + f->off, &p, 0);	/* given */
		walk_list(w, v, f, base, path);
		return;
	case F_STRLIST:
	case F_ENUMLIST:
		walk_strlist(w, v, f, base, path);
		return;
	default:
		break;
	}
	if (v->type != YAML_SCALAR_NODE) {
		cpk_diag_add(w->c, &p, "%s: expected a single value, got %s", path,
			     kind_name(v));
		return;
	}
	if (is_null(v)) {
		cpk_diag_add(w->c, &p, "%s: no value given", path);
		return;
	}
	if (cpk_field_set(w->c, f, base, (const char *)v->data.scalar.value, &p,
			  path) == 0 && quoted(v))
		cpk_pos_put(w->c, (char *)base + f->off, &p, 1);
}

/* A section given with no value: fine unless some of its keys are required. */
static void null_section(struct walk *w, const struct section *s, yaml_node_t *v,
			 const char *path)
{
	struct cpk_pos p = node_pos(w, v);
	struct cpk_buf need = CPK_BUF_INIT;
	size_t i, n = 0;

	for (i = 0; i < s->nfields; i++)
		if (s->fields[i].flags & F_REQUIRED)
			cpk_buf_addf(&need, "%s'%s'", n++ ? ", " : "", s->fields[i].key);
	if (n)
		cpk_diag_add(w->c, &p, "%s: no value given; it needs %s", path, need.buf);
	cpk_buf_release(&need);
}

static void walk_mapping(struct walk *w, yaml_node_t *n, const struct section *s,
			 void *base, const char *path)
{
	struct cpk_pos mp = node_pos(w, n);
	struct cpk_buf kp = CPK_BUF_INIT;
	struct cpk_pos seen[32];
	yaml_node_pair_t *pair;
	size_t i;

	if (n->type != YAML_MAPPING_NODE) {
		if (is_null(n) && *path)
			cpk_diag_add(w->c, &mp, "%s: no value given", path);
		else
			cpk_diag_add(w->c, &mp, "%s: expected a mapping (key: value lines), got %s",
				     *path ? path : "the description", kind_name(n));
		return;
	}
	if (!first_visit(w, n))
		return;
	memset(seen, 0, sizeof(seen));
	if (s->pos_off != (size_t)-1)
		*(struct cpk_pos *)((char *)base + s->pos_off) = mp;
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, pair->value);
		struct cpk_pos kpos;
		const char *key;

		if (!k || !v)
			continue;
		kpos = node_pos(w, k);
		if (k->type != YAML_SCALAR_NODE) {
			cpk_diag_add(w->c, &kpos, "%s: keys must be single words, got %s",
				     *path ? path : "the top level", kind_name(k));
			continue;
		}
		key = (const char *)k->data.scalar.value;
		for (i = 0; i < s->nfields; i++)
			if (!strcmp(s->fields[i].key, key))
				break;
		if (i == s->nfields) {
			unknown_key(w, s, key, &kpos, path);
			continue;
		}
		if (seen[i].line) {
			cpk_diag_add(w->c, &kpos, "duplicate key '%s' (first given at line %d, column %d)",
				     key, seen[i].line, seen[i].col);
			continue;
		}
		seen[i] = kpos;
		child_path(&kp, path, key);
		if (s == &cpk_schema_root && !strcmp(key, "ldap"))
			w->c->m->ldap.present = 1;
		if (s->fields[i].type == F_SECTION && is_null(v)) {
			/* "slurm:" with nothing: all defaults, unless it has
			 * keys that must be given */
			null_section(w, s->fields[i].sub, v, kp.buf);
			continue;
		}
		walk_value(w, &s->fields[i], v, base, kp.buf);
	}
	for (i = 0; i < s->nfields; i++) {
		if ((s->fields[i].flags & F_REQUIRED) && !seen[i].line)
			cpk_diag_add(w->c, &mp, "%s%smissing required key '%s'",
				     *path ? path : (s == &cpk_schema_root ? "" : s->name),
				     (*path || s != &cpk_schema_root) ? ": " : "",
				     s->fields[i].key);
	}
	cpk_buf_release(&kp);
}

/* Fills defaults for every field not given, recursively. */
static void fill_defaults(struct ctx *c, const struct section *s, void *base)
{
	size_t i, j;

	for (i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];

		if (f->type == F_SECTION) {
			fill_defaults(c, f->sub, (char *)base + f->off);
		} else if (f->type == F_LIST) {
			char *arr = *(char **)((char *)base + f->off);
			size_t n = *(size_t *)((char *)base + f->count_off);

			for (j = 0; j < n; j++)
				fill_defaults(c, f->sub, arr + j * f->sub->size);
		} else if (f->def && !cpk_pos_get(c->p, (char *)base + f->off)) {
			if (cpk_field_set(c, f, base, f->def, NULL, f->key) < 0)
				c->oom = 1;	/* a bad default is a bug */
		}
	}
}

/* Frees every string and list the schema says SECTION at BASE owns. */
static void free_section(const struct section *s, void *base)
{
	size_t i, j;

	for (i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];
		void *addr = (char *)base + f->off;

		switch (f->type) {
		case F_SECTION:
			free_section(f->sub, addr);
			break;
		case F_LIST: {
			char *arr = *(char **)addr;
			size_t n = *(size_t *)((char *)base + f->count_off);

			for (j = 0; j < n; j++)
				free_section(f->sub, arr + j * f->sub->size);
			free(arr);
			*(char **)addr = NULL;
			break;
		}
		case F_STRLIST:
		case F_ENUMLIST:
			cpk_strlist_release(addr);
			break;
		case F_UINT:
		case F_BOOL:
		case F_SIZE:
		case F_RANGE:
			break;
		default:
			free(*(char **)addr);
			*(char **)addr = NULL;
		}
	}
}

void cpk_model_free(struct cpk_model *m)
{
	struct model_priv *p;
	size_t i;

	if (!m)
		return;
	p = m->priv;
	free_section(&cpk_schema_root, m);
	for (i = 0; i < m->n_nodes; i++) {
		free(m->nodes[i].name);
		free(m->nodes[i].address);
	}
	free(m->nodes);
	if (p) {
		for (i = 0; i < p->nfiles; i++)
			free(p->files[i]);
		free(p->files);
		free(p->pos);
		cpk_strmap_release(&p->nodes);
		free(p);
	}
	free(m->path);
	free(m);
}

/* ---- documents ------------------------------------------------------------- */

struct doc {
	yaml_document_t doc;
	int loaded;
	const char *file;	/* borrowed from priv->files */
};

static const char *add_file(struct ctx *c, const char *name)
{
	char **v = cpk_reallocarray(c->p->files, c->p->nfiles + 1, sizeof(*v));

	if (!v) {
		c->oom = 1;
		return NULL;
	}
	c->p->files = v;
	if (!(v[c->p->nfiles] = cpk_strdup(name))) {
		c->oom = 1;
		return NULL;
	}
	return v[c->p->nfiles++];
}

/* Loads TEXT as one YAML document; syntax errors become diagnostics. */
static int load_doc(struct ctx *c, struct doc *d, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	struct cpk_pos deep = { d->file, 0, 0 };
	int ok;

	memset(&d->doc, 0, sizeof(d->doc));
	d->loaded = 0;
	ok = cpk_yaml_too_deep(text, len, &deep.line, &deep.col);
	if (ok == 1)
		cpk_diag_add(c, &deep, "YAML nesting deeper than %d levels",
			     CPK_YAML_MAX_DEPTH);
	if (ok) {
		c->oom = ok < 0;
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		c->oom = 1;
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	ok = yaml_parser_load(&parser, &d->doc);
	if (!ok) {
		struct cpk_pos p = { d->file, (int)parser.problem_mark.line + 1,
				     (int)parser.problem_mark.column + 1 };

		if (parser.error == YAML_MEMORY_ERROR)
			c->oom = 1;
		else if (parser.context)
			cpk_diag_add(c, &p, "YAML syntax: %s %s", parser.problem,
				     parser.context);
		else
			cpk_diag_add(c, &p, "YAML syntax: %s",
				     parser.problem ? parser.problem : "invalid document");
		yaml_parser_delete(&parser);
		return -1;
	}
	d->loaded = 1;
	if (!yaml_document_get_root_node(&d->doc)) {
		struct cpk_pos p = { d->file, 0, 0 };

		cpk_diag_add(c, &p, "the file is empty");
		yaml_parser_delete(&parser);
		return -1;
	}
	/* a second document is a mistake (a stray '---') */
	if (yaml_parser_load(&parser, &extra)) {
		yaml_node_t *root = yaml_document_get_root_node(&extra);

		if (root) {
			struct cpk_pos p = { d->file, (int)root->start_mark.line + 1,
					     (int)root->start_mark.column + 1 };

			cpk_diag_add(c, &p, "only one YAML document is allowed per file");
		}
		yaml_document_delete(&extra);
	} else {
		struct cpk_pos p = { d->file, (int)parser.problem_mark.line + 1,
				     (int)parser.problem_mark.column + 1 };

		cpk_diag_add(c, &p, "YAML syntax: %s",
			     parser.problem ? parser.problem : "invalid document");
	}
	yaml_parser_delete(&parser);
	return 0;
}

static void walk_doc(struct ctx *c, struct doc *d, const struct section *s,
		     size_t reserve)
{
	struct walk w;
	yaml_node_t *root;
	size_t nnodes;

	if (!d->loaded || !(root = yaml_document_get_root_node(&d->doc)))
		return;
	nnodes = (size_t)(d->doc.nodes.top - d->doc.nodes.start);
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.doc = &d->doc;
	w.file = d->file;
	w.group_reserve = reserve;
	w.visited = calloc(nnodes ? nnodes : 1, 1);
	if (!w.visited) {
		c->oom = 1;
		return;
	}
	walk_mapping(&w, root, s, c->m, "");
	free(w.visited);
}

/* Number of items of the top-level "nodes" list of D (for the reserve). */
static size_t count_groups(struct doc *d)
{
	yaml_node_t *root;
	yaml_node_pair_t *pair;

	if (!d->loaded || !(root = yaml_document_get_root_node(&d->doc)) ||
	    root->type != YAML_MAPPING_NODE)
		return 0;
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(&d->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(&d->doc, pair->value);

		if (k && v && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, "nodes") &&
		    v->type == YAML_SEQUENCE_NODE)
			return (size_t)(v->data.sequence.items.top -
					v->data.sequence.items.start);
	}
	return 0;
}

static int yaml_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted paths of the *.yaml files in nodes.d beside MAINPATH. */
static cpk_err_t list_fragments(const char *mainpath, struct cpk_strlist *out)
{
	struct cpk_buf dir = CPK_BUF_INIT;
	const char *slash = strrchr(mainpath, '/');
	cpk_err_t r = CPK_OK;
	struct dirent *de;
	DIR *dp;

	if (slash)
		cpk_buf_add(&dir, mainpath, (size_t)(slash - mainpath) + 1);
	cpk_buf_addstr(&dir, "nodes.d");
	if (cpk_buf_failed(&dir))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	dp = opendir(dir.buf);
	if (!dp) {
		if (errno != ENOENT && errno != ENOTDIR)
			r = cpk_err_sys("cannot read %s", dir.buf);
		cpk_buf_release(&dir);
		return r;
	}
	while ((de = readdir(dp))) {
		struct cpk_buf p = CPK_BUF_INIT;
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".yaml"))
			continue;
		if (out->n >= MAX_FRAGMENTS) {
			r = cpk_err_set(CPK_ERR_INVALID, "%s: more than %d fragments",
					dir.buf, MAX_FRAGMENTS);
			break;
		}
		cpk_buf_addf(&p, "%s/%s", dir.buf, de->d_name);
		if (cpk_buf_failed(&p) || cpk_strlist_push(out, p.buf) < 0) {
			cpk_buf_release(&p);
			r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			break;
		}
		cpk_buf_release(&p);
	}
	closedir(dp);
	cpk_buf_release(&dir);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), yaml_name_cmp);
	return r;
}

const char *cpk_model_default_path(void)
{
	const char *e = getenv("CPK_CONFIG");

	return e && *e ? e : CPK_SYSCONFDIR "/clusterpack/cluster.yaml";
}

/* Parses the main text and NFRAG fragment texts (already read). */
static cpk_err_t parse_all(const char *filename, const char *text, size_t len,
			   const struct cpk_strlist *fragnames,
			   const struct cpk_buf *fragtexts,
			   struct cpk_model **out, struct cpk_diags *diags)
{
	struct cpk_model *m = calloc(1, sizeof(*m));
	struct model_priv *p = calloc(1, sizeof(*p));
	struct doc *docs = NULL;
	size_t nd = 1 + (fragnames ? fragnames->n : 0), i, reserve = 0;
	int unreadable = 0;	/* a document failed to load */
	struct ctx c;
	cpk_err_t r;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.m = m;
	c.p = p;
	c.diags = diags;
	if (!m || !p || !(m->path = cpk_strdup(filename)) ||
	    !(docs = calloc(nd, sizeof(*docs)))) {
		free(p);
		if (m)
			free(m->path);
		free(m);
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	m->priv = p;
	docs[0].file = add_file(&c, filename);
	if (docs[0].file && cpk_has_ctl(filename)) {
		/* rendered files name it in their header comment */
		struct cpk_pos fp = { docs[0].file, 0, 0 };

		cpk_diag_add(&c, &fp, "the file's name holds a control character (a new line would add lines to every rendered file): rename it");
	}
	if (docs[0].file && load_doc(&c, &docs[0], text, len) < 0)
		unreadable = 1;
	for (i = 1; i < nd && !c.oom; i++) {
		docs[i].file = add_file(&c, fragnames->v[i - 1]);
		if (docs[i].file && load_doc(&c, &docs[i], fragtexts[i - 1].buf,
					     fragtexts[i - 1].len) < 0)
			unreadable = 1;
		reserve += count_groups(&docs[i]);
	}
	if (!c.oom)
		walk_doc(&c, &docs[0], &cpk_schema_root, reserve);
	if (!m->groups && reserve && !c.oom) {
		m->groups = calloc(reserve, sizeof(*m->groups));
		if (!m->groups)
			c.oom = 1;
	}
	for (i = 1; i < nd && !c.oom; i++)
		walk_doc(&c, &docs[i], &cpk_schema_fragment, 0);
	for (i = 0; i < nd; i++)
		if (docs[i].loaded)
			yaml_document_delete(&docs[i].doc);
	free(docs);
	if (!c.oom && !unreadable) {	/* also after errors: report them all */
		fill_defaults(&c, &cpk_schema_root, m);
		if (!c.oom)
			cpk_model_check(&c);
	}
	if (c.oom) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory while reading %s", filename);
	} else if (diags->n) {
		sort_priv = p;
		qsort(diags->v, diags->n, sizeof(*diags->v), diag_cmp);
		sort_priv = NULL;
		r = cpk_err_set(CPK_ERR_CONFIG, "%s: %zu error%s", filename, diags->n,
				diags->n == 1 ? "" : "s");
	} else {
		*out = m;
		return CPK_OK;
	}
	cpk_model_free(m);
	return r;
}

cpk_err_t cpk_model_parse(const char *filename, const char *text, size_t len,
			  struct cpk_model **out, struct cpk_diags *diags)
{
	return parse_all(filename, text, len, NULL, NULL, out, diags);
}

/* Loads PATH and its fragments, plus EXTRA_NAME/EXTRA (if EXTRA_NAME). */
static cpk_err_t load_with(const char *path, const char *extra_name,
			   const char *extra, size_t extra_len,
			   struct cpk_model **out, struct cpk_diags *diags)
{
	struct cpk_strlist frags = { NULL, 0 };
	struct cpk_buf text = CPK_BUF_INIT, *ftexts = NULL;
	cpk_err_t r;
	size_t i;

	*out = NULL;
	if ((r = cpk_read_file(path, &text, MAX_FILE_SIZE)) != CPK_OK)
		goto out;
	if ((r = list_fragments(path, &frags)) != CPK_OK)
		goto out;
	if (extra_name) {
		if (cpk_strlist_push(&frags, extra_name) < 0) {
			r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		qsort(frags.v, frags.n, sizeof(*frags.v), yaml_name_cmp);
	}
	if (frags.n && !(ftexts = calloc(frags.n, sizeof(*ftexts)))) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < frags.n; i++) {
		cpk_buf_init(&ftexts[i]);
		if (extra_name && !strcmp(frags.v[i], extra_name)) {
			cpk_buf_add(&ftexts[i], extra, extra_len);
			if (cpk_buf_failed(&ftexts[i])) {
				r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
				goto out;
			}
			continue;
		}
		if ((r = cpk_read_file(frags.v[i], &ftexts[i], MAX_FILE_SIZE)) != CPK_OK)
			goto out;
	}
	r = parse_all(path, text.buf, text.len, &frags, ftexts, out, diags);
out:
	for (i = 0; ftexts && i < frags.n; i++)
		cpk_buf_release(&ftexts[i]);
	free(ftexts);
	cpk_strlist_release(&frags);
	cpk_buf_release(&text);
	return r;
}

cpk_err_t cpk_model_load(const char *path, struct cpk_model **out,
			 struct cpk_diags *diags)
{
	return load_with(path, NULL, NULL, 0, out, diags);
}

cpk_err_t cpk_model_load_extra(const char *path, const char *extra_name,
			       const char *text, size_t len,
			       struct cpk_model **out, struct cpk_diags *diags)
{
	if (!extra_name || !text) {
		*out = NULL;
		return cpk_err_set(CPK_ERR_INVALID, "cpk_model_load_extra: no fragment given");
	}
	return load_with(path, extra_name, text, len, out, diags);
}
