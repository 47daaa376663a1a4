/*
 * Users from a CSV or YAML file: the parser and the checks of
 * cpk user import (see cpk/import.h).  Every row goes through the same
 * validator as cpk_ldap_user_add (cpk_user_spec_check).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cpk/import.h"
#include "ldap_priv.h"

static const char *const colname[CPK_COL_N] = {
	"name", "gecos", "shell", "group", "groups", "uid", "ssh_key",
};

/* A parse in progress: the first file-level problem ends it. */
struct parse {
	struct cpk_import *im;
	const char *path;
	int fatal;
};

/* FMT and AP formatted into a heap string; NULL: out of memory. */
static char *vformat(const char *fmt, va_list ap)
{
	struct cpk_buf b = CPK_BUF_INIT;
	char *s;

	cpk_buf_vaddf(&b, fmt, ap);
	s = cpk_buf_failed(&b) ? NULL : cpk_buf_detach(&b, NULL);
	cpk_buf_release(&b);
	return s;
}

static void file_err(struct parse *p, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void file_err(struct parse *p, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (p->fatal)
		return;
	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	(void)cpk_err_set(CPK_ERR_INVALID, "%s:%lu: %s", p->path, line,
			  msg ? msg : "out of memory");
	free(msg);
	p->fatal = 1;
}

/* Notes the first problem of R (later ones are not kept). */
static void row_err(struct cpk_import_row *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void row_err(struct cpk_import_row *r, const char *fmt, ...)
{
	va_list ap;

	if (r->err)
		return;
	va_start(ap, fmt);
	r->err = vformat(fmt, ap);
	va_end(ap);
	if (!r->err)
		r->err = cpk_strdup("out of memory");
}

static struct cpk_import_row *new_row(struct cpk_import *im, unsigned long line)
{
	if (im->n == im->cap) {
		size_t cap = im->cap ? 2 * im->cap : 64;
		struct cpk_import_row *nr = realloc(im->rows, cap * sizeof(*nr));

		if (!nr)
			return NULL;
		im->rows = nr;
		im->cap = cap;
	}
	memset(&im->rows[im->n], 0, sizeof(im->rows[0]));
	im->rows[im->n].line = line;
	return &im->rows[im->n++];
}

static int column(const char *name)
{
	int i;

	for (i = 0; i < CPK_COL_N; i++)
		if (!strcmp(name, colname[i]))
			return i;
	return -1;
}

/* ---- CSV ------------------------------------------------------------ */

/* Splits LINE (modified) into at most MAX fields at S: RFC 4180 quoting
 * within one line ("a,b" and "" for a quote).  Returns the count, or -1
 * for an unterminated quote. */
static int csv_split(char *s, char **field, int max)
{
	int n = 0;

	for (;;) {
		char *out = s;

		if (n < max)
			field[n] = s;
		n++;
		if (*s == '"') {
			s++;
			for (;;) {
				if (!*s)
					return -1;
				if (*s == '"' && s[1] == '"') {
					*out++ = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else {
					*out++ = *s++;
				}
			}
			if (*s && *s != ',')
				return -1;
		} else {
			while (*s && *s != ',')
				*out++ = *s++;
		}
		if (!*s) {
			*out = '\0';
			return n;
		}
		*out = '\0';
		s++;
	}
}

static void parse_csv(struct parse *im, char *text)
{
	int map[CPK_COL_N * 2], ncols = -1, i, have_name = 0;
	unsigned long line = 0;
	char *l, *next = text;

	while (next && !im->fatal) {
		char *field[CPK_COL_N * 2];
		struct cpk_import_row *r;
		int n;

		l = next;
		next = strchr(l, '\n');
		if (next)
			*next++ = '\0';
		line++;
		if (*l && l[strlen(l) - 1] == '\r')
			l[strlen(l) - 1] = '\0';
		if (!*l || *l == '#')
			continue;
		n = csv_split(l, field, CPK_COL_N * 2);
		if (ncols < 0) {	/* the header */
			if (n < 0 || n > CPK_COL_N) {
				file_err(im, line, "the header must name the columns (" CPK_IMPORT_COLUMNS ")");
				return;
			}
			for (i = 0; i < n; i++) {
				if ((map[i] = column(field[i])) < 0) {
					file_err(im, line, "unknown column '%s' (known: " CPK_IMPORT_COLUMNS ")",
						 field[i]);
					return;
				}
				have_name |= map[i] == CPK_COL_NAME;
			}
			if (!have_name) {
				file_err(im, line, "the header has no 'name' column");
				return;
			}
			ncols = n;
			continue;
		}
		if (!(r = new_row(im->im, line))) {
			file_err(im, line, "out of memory");
			return;
		}
		if (n < 0) {
			row_err(r, "unterminated quoted field");
			continue;
		}
		if (n != ncols) {
			row_err(r, "%d field%s, but the header has %d", n,
				n == 1 ? "" : "s", ncols);
			continue;
		}
		for (i = 0; i < n; i++)
			if (*field[i] && !(r->f[map[i]] = strdup(field[i])))
				row_err(r, "out of memory");
	}
	if (ncols < 0 && !im->fatal)
		file_err(im, 1, "no header line (" CPK_IMPORT_COLUMNS ")");
}

/* ---- YAML ----------------------------------------------------------- */

static unsigned long node_line(const yaml_node_t *n)
{
	return (unsigned long)n->start_mark.line + 1;
}

/* The groups value: a scalar "a,b" or a sequence of scalars, as "a,b". */
static char *yaml_groups(yaml_document_t *d, yaml_node_t *v)
{
	struct cpk_buf b = CPK_BUF_INIT;
	yaml_node_item_t *it;

	if (v->type == YAML_SCALAR_NODE)
		return strdup((const char *)v->data.scalar.value);
	if (v->type != YAML_SEQUENCE_NODE)
		return NULL;
	cpk_buf_addstr(&b, "");
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *g = yaml_document_get_node(d, *it);

		if (!g || g->type != YAML_SCALAR_NODE) {
			cpk_buf_release(&b);
			return NULL;
		}
		cpk_buf_addf(&b, "%s%s", b.len ? "," : "", (const char *)g->data.scalar.value);
	}
	if (cpk_buf_failed(&b)) {
		cpk_buf_release(&b);
		return NULL;
	}
	return cpk_buf_detach(&b, NULL);
}

static void yaml_row(struct parse *im, yaml_document_t *d, yaml_node_t *item)
{
	struct cpk_import_row *r = new_row(im->im, node_line(item));
	yaml_node_pair_t *p;

	if (!r) {
		file_err(im, node_line(item), "out of memory");
		return;
	}
	if (item->type != YAML_MAPPING_NODE) {
		row_err(r, "expected a mapping (name: ..., gecos: ...)");
		return;
	}
	for (p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		yaml_node_t *v = yaml_document_get_node(d, p->value);
		const char *key;
		int col;

		if (!k || !v || k->type != YAML_SCALAR_NODE) {
			row_err(r, "keys must be plain words");
			continue;
		}
		key = (const char *)k->data.scalar.value;
		if ((col = column(key)) < 0) {
			row_err(r, "unknown key '%s' (known: " CPK_IMPORT_COLUMNS ")", key);
			continue;
		}
		if (r->f[col]) {
			row_err(r, "key '%s' given twice", key);
			continue;
		}
		if (col == CPK_COL_GROUPS)
			r->f[col] = yaml_groups(d, v);
		else if (v->type == YAML_SCALAR_NODE)
			r->f[col] = strdup((const char *)v->data.scalar.value);
		if (!r->f[col])
			row_err(r, "'%s' must be %s", key, col == CPK_COL_GROUPS ?
				"a list of group names" : "a single value");
		else if (!*r->f[col]) {
			free(r->f[col]);
			r->f[col] = NULL;
		}
	}
}

static void parse_yaml(struct parse *im, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_document_t d;
	yaml_node_t *root;
	yaml_node_item_t *it;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &d)) {
		file_err(im, (unsigned long)p.problem_mark.line + 1, "YAML: %s",
			 p.problem ? p.problem : "syntax error");
		yaml_parser_delete(&p);
		return;
	}
	root = yaml_document_get_root_node(&d);
	if (!root) {
		file_err(im, 1, "no users in the file");
	} else if (root->type != YAML_SEQUENCE_NODE) {
		file_err(im, node_line(root), "expected a list of users (- name: ...)");
	} else {
		for (it = root->data.sequence.items.start;
		     it < root->data.sequence.items.top && !im->fatal; it++)
			yaml_row(im, &d, yaml_document_get_node(&d, *it));
	}
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
}

static int looks_yaml(const char *path, const char *text)
{
	const char *dot = strrchr(path, '.');

	if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml")))
		return 1;
	if (dot && !strcmp(dot, ".csv"))
		return 0;
	for (;;) {		/* skip blank and comment lines */
		text += strspn(text, " \t\r\n");
		if (*text != '#')
			break;
		text += strcspn(text, "\n");
	}
	return *text == '-';
}


cpk_err_t cpk_import_parse(struct cpk_import *im, const char *path,
			   const char *text, size_t len)
{
	struct parse p = { im, path, 0 };
	const char *nul = memchr(text, '\0', len);
	char *copy;

	if (nul) {
		unsigned long line = 1;
		const char *s;

		for (s = text; s < nul; s++)
			line += *s == '\n';
		file_err(&p, line, "a NUL byte (offset %zu): not a text file",
			 (size_t)(nul - text));
		return CPK_ERR_INVALID;
	}
	if (!(copy = cpk_strndup(text, len)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if (looks_yaml(path, copy))
		parse_yaml(&p, copy, len);
	else
		parse_csv(&p, copy);
	free(copy);
	return p.fatal ? CPK_ERR_INVALID : CPK_OK;
}

void cpk_import_release(struct cpk_import *im)
{
	size_t i, k;

	for (i = 0; i < im->n; i++) {
		struct cpk_import_row *r = &im->rows[i];

		for (k = 0; k < CPK_COL_N; k++)
			free(r->f[k]);
		for (k = 0; k < r->n_groups; k++)
			free(r->groups[k]);
		free(r->groups);
		free(r->err);
	}
	free(im->rows);
	memset(im, 0, sizeof(*im));
}

/* ---- checks ---------------------------------------------------------- */

/* Appends the items of LIST ("a,b c;d") to R's groups; -1: no memory. */
static int split_groups(struct cpk_import_row *r, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",; \t");

		if (len) {
			char **v = cpk_reallocarray(r->groups, r->n_groups + 1,
						    sizeof(*v));

			if (!v)
				return -1;
			r->groups = v;
			if (!(v[r->n_groups] = cpk_strndup(p, len)))
				return -1;
			r->n_groups++;
		}
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

void cpk_import_row_spec(const struct cpk_import_row *r,
			 struct cpk_user_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->name = r->f[CPK_COL_NAME];
	s->gecos = r->f[CPK_COL_GECOS];
	s->shell = r->f[CPK_COL_SHELL];
	s->group = r->f[CPK_COL_GROUP];
	s->groups = (const char *const *)r->groups;
	s->n_groups = r->n_groups;
	if (r->f[CPK_COL_SSH_KEY]) {
		s->ssh_keys = (const char *const *)&r->f[CPK_COL_SSH_KEY];
		s->n_ssh_keys = 1;
	}
	s->uid = r->uid;
}

static int in_strv(const char *s, char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(s, v[i]))
			return 1;
	return 0;
}

/* An existing user U matches row R if every value R gives is U's (R's
 * groups among U's: the user may have joined others since). */
static void match_existing(struct cpk_ldap_conn *c, struct cpk_import_row *r,
			   const struct cpk_user *u)
{
	const char *name = r->f[CPK_COL_NAME], *key = r->f[CPK_COL_SSH_KEY];
	struct cpk_group g = CPK_GROUP_INIT;
	size_t i;

	if (r->uid && u->uid != r->uid) {
		row_err(r, "user %s exists with uid %" PRIu64 ", not %" PRIu64,
			name, u->uid, r->uid);
		return;
	}
	if (r->f[CPK_COL_SHELL] && (!u->shell || strcmp(u->shell, r->f[CPK_COL_SHELL]))) {
		row_err(r, "user %s exists with shell %s, not %s", name,
			u->shell ? u->shell : "(none)", r->f[CPK_COL_SHELL]);
		return;
	}
	if (r->f[CPK_COL_GECOS]) {	/* as an add would have stored it */
		struct cpk_names nm = CPK_NAMES_INIT;
		int same;

		cpk_ldap__names(name, r->f[CPK_COL_GECOS], &nm);
		same = nm.no_gecos ? !u->gecos && u->cn && !strcmp(u->cn, nm.cn.buf)
			: u->gecos && !strcmp(u->gecos, nm.gecos.buf);
		cpk_ldap__names_release(&nm);
		if (!same) {
			row_err(r, "user %s exists with another gecos ('%s')",
				name, u->gecos ? u->gecos : "");
			return;
		}
	}
	for (i = 0; i < r->n_groups; i++)
		if (!in_strv(r->groups[i], u->groups, u->n_groups)) {
			row_err(r, "user %s exists and is not in group %s", name,
				r->groups[i]);
			return;
		}
	if (key && !in_strv(key, u->ssh_keys, u->n_ssh_keys)) {
		row_err(r, "user %s exists without the row's ssh key", name);
		return;
	}
	if (r->f[CPK_COL_GROUP]) {
		if (cpk_ldap_group_show(c, r->f[CPK_COL_GROUP], &g) == CPK_OK &&
		    g.gid != u->gid)
			row_err(r, "user %s exists with primary gid %" PRIu64
				", not group %s's %" PRIu64, name, u->gid,
				r->f[CPK_COL_GROUP], g.gid);
		cpk_group_release(&g);
		if (r->err)
			return;
	}
	r->exists = 1;
}

static void check_row(struct cpk_ldap_conn *c, const char *root,
		      const struct cpk_range *uid_range, struct cpk_import *im,
		      size_t idx)
{
	struct cpk_import_row *r = &im->rows[idx];
	const char *name = r->f[CPK_COL_NAME], *uid = r->f[CPK_COL_UID];
	struct cpk_user u = CPK_USER_INIT;
	struct cpk_user_spec s;
	size_t i;
	cpk_err_t e;

	if (r->err)
		return;
	if (!name) {
		row_err(r, "no name");
		return;
	}
	if (cpk_name_check(name) != CPK_OK) {
		row_err(r, "%s", cpk_errmsg());
		return;
	}
	for (i = 0; i < idx; i++)
		if (im->rows[i].f[CPK_COL_NAME] &&
		    !strcmp(im->rows[i].f[CPK_COL_NAME], name)) {
			row_err(r, "user %s is already on line %lu", name,
				im->rows[i].line);
			return;
		}
	if (uid) {
		char *end;

		errno = 0;
		r->uid = strtoull(uid, &end, 10);
		if (errno || *end || uid[0] < '1' || uid[0] > '9') {
			row_err(r, "%s: uid '%s' is not a positive number", name, uid);
			return;
		}
	}
	if (r->f[CPK_COL_GROUPS] && split_groups(r, r->f[CPK_COL_GROUPS]) < 0) {
		row_err(r, "out of memory");
		return;
	}
	/* the one validator, then what only the node and the directory know */
	cpk_import_row_spec(r, &s);
	if (cpk_user_spec_check(&s) != CPK_OK) {
		row_err(r, "%s: %s", name, cpk_errmsg());
		return;
	}
	for (i = 0; i <= r->n_groups; i++) {
		const char *g = i < r->n_groups ? r->groups[i] : r->f[CPK_COL_GROUP];
		struct cpk_group grp = CPK_GROUP_INIT;

		if (g && cpk_ldap_group_show(c, g, &grp) != CPK_OK)
			row_err(r, "%s: %s", name, cpk_errmsg());
		cpk_group_release(&grp);
		if (r->err)
			return;
	}
	e = cpk_ldap_user_show(c, name, &u);
	if (e == CPK_OK)
		match_existing(c, r, &u);
	else if (e != CPK_ERR_NOTFOUND)
		row_err(r, "%s", cpk_errmsg());
	else if (cpk_local_check(root, CPK_ID_UID, name, r->uid, uid_range,
				 CPK_LOCAL_NO_FORCE) != CPK_OK)
		row_err(r, "%s", cpk_errmsg());
	cpk_user_release(&u);
}

size_t cpk_import_check(struct cpk_ldap_conn *c, const char *root,
			const struct cpk_range *uid_range,
			struct cpk_import *im)
{
	size_t i, bad = 0;

	for (i = 0; i < im->n; i++) {
		check_row(c, root, uid_range, im, i);
		bad += im->rows[i].err != NULL;
	}
	return bad;
}
