/*
 * cpk user import FILE: many users from a CSV file (header line first) or
 * a YAML list of mappings.  Every row is checked before anything is
 * written, and each bad row reported as FILE:LINE; then the good rows are
 * added (a user that exists and matches its row is "existing"), and a
 * summary line printed.  Re-running it is safe.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cpk/fsutil.h"
#include "acct.h"

enum { C_NAME, C_GECOS, C_SHELL, C_GROUP, C_GROUPS, C_UID, C_SSH_KEY, NCOL };
static const char *const colname[NCOL] = {
	"name", "gecos", "shell", "group", "groups", "uid", "ssh_key",
};
#define KNOWN "name, gecos, shell, group, groups, uid, ssh_key"

struct row {
	unsigned long line;
	char *f[NCOL];		/* NULL: not given */
	char *err;		/* the first problem found, NULL: good */
	int exists;
};

struct import {
	const char *path;
	const char *root;	/* the control node's, for cpk_local_check */
	const struct cpk_range *uid_range;
	struct row *rows;
	size_t n, cap;
	int fatal;		/* the file itself is unusable */
};

enum { OPT_NO_HOME = 256, OPT_ROOT };

static const struct cli_opt opts[] = {
	{ "file", 'f', "FILE", "the description (default $CPK_CONFIG or " CPK_SYSCONFDIR "/clusterpack/cluster.yaml)" },
	{ "no-home", OPT_NO_HOME, NULL, "do not create home directories" },
	{ "root", OPT_ROOT, "DIR", "the control node's root: names and ids in DIR/etc/passwd and DIR/etc/group are refused (default $CPK_ROOT, else /)" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static void file_err(struct import *im, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void file_err(struct import *im, unsigned long line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cpk: %s:%lu: ", im->path, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	im->fatal = 1;
}

/* Notes the first problem of R (later ones are not kept). */
static void row_err(struct row *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void row_err(struct row *r, const char *fmt, ...)
{
	struct cpk_buf b = CPK_BUF_INIT;
	va_list ap;

	if (r->err)
		return;
	va_start(ap, fmt);
	cpk_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	r->err = cpk_buf_failed(&b) ? strdup("out of memory") : cpk_buf_detach(&b, NULL);
	cpk_buf_release(&b);
}

static struct row *new_row(struct import *im, unsigned long line)
{
	if (im->n == im->cap) {
		size_t cap = im->cap ? 2 * im->cap : 64;
		struct row *nr = realloc(im->rows, cap * sizeof(*nr));

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

	for (i = 0; i < NCOL; i++)
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

static void parse_csv(struct import *im, char *text)
{
	int map[NCOL * 2], ncols = -1, i, have_name = 0;
	unsigned long line = 0;
	char *l, *next = text;

	while (next && !im->fatal) {
		char *field[NCOL * 2];
		struct row *r;
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
		n = csv_split(l, field, NCOL * 2);
		if (ncols < 0) {	/* the header */
			if (n < 0 || n > NCOL) {
				file_err(im, line, "the header must name the columns (" KNOWN ")");
				return;
			}
			for (i = 0; i < n; i++) {
				if ((map[i] = column(field[i])) < 0) {
					file_err(im, line, "unknown column '%s' (known: " KNOWN ")",
						 field[i]);
					return;
				}
				have_name |= map[i] == C_NAME;
			}
			if (!have_name) {
				file_err(im, line, "the header has no 'name' column");
				return;
			}
			ncols = n;
			continue;
		}
		if (!(r = new_row(im, line))) {
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
		file_err(im, 1, "no header line (" KNOWN ")");
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

static void yaml_row(struct import *im, yaml_document_t *d, yaml_node_t *item)
{
	struct row *r = new_row(im, node_line(item));
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
			row_err(r, "unknown key '%s' (known: " KNOWN ")", key);
			continue;
		}
		if (r->f[col]) {
			row_err(r, "key '%s' given twice", key);
			continue;
		}
		if (col == C_GROUPS)
			r->f[col] = yaml_groups(d, v);
		else if (v->type == YAML_SCALAR_NODE)
			r->f[col] = strdup((const char *)v->data.scalar.value);
		if (!r->f[col])
			row_err(r, "'%s' must be %s", key, col == C_GROUPS ?
				"a list of group names" : "a single value");
		else if (!*r->f[col]) {
			free(r->f[col]);
			r->f[col] = NULL;
		}
	}
}

static void parse_yaml(struct import *im, const char *text, size_t len)
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

/* ---- checking and adding ------------------------------------------- */

static int gecos_ok(const char *g)
{
	size_t n = 0;

	for (; *g; g++, n++)
		if (*g < 0x20 || *g > 0x7e || *g == ':')
			return 0;
	return n <= 255;
}

/* Every check that needs no write; marks R bad or existing. */
static void check_row(struct import *im, size_t idx, struct cpk_ldap_conn *c)
{
	struct row *r = &im->rows[idx];
	const char *name = r->f[C_NAME];
	struct cpk_user u = CPK_USER_INIT;
	char **groups = NULL;
	size_t n_groups = 0, i;
	uint64_t uid = 0;
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
		if (im->rows[i].f[C_NAME] && !strcmp(im->rows[i].f[C_NAME], name)) {
			row_err(r, "user %s is already on line %lu", name, im->rows[i].line);
			return;
		}
	if (r->f[C_UID]) {
		char *end;

		errno = 0;
		uid = strtoull(r->f[C_UID], &end, 10);
		if (errno || *end || r->f[C_UID][0] == '-' || !uid)
			row_err(r, "%s: uid '%s' is not a positive number", name, r->f[C_UID]);
	}
	if (!r->err && cpk_local_check(im->root, CPK_ID_UID, name, uid,
				       im->uid_range, 0) != CPK_OK)
		row_err(r, "%s", cpk_errmsg());
	if (r->f[C_SHELL] && r->f[C_SHELL][0] != '/')
		row_err(r, "%s: shell '%s' is not an absolute path", name, r->f[C_SHELL]);
	if (r->f[C_GECOS] && !gecos_ok(r->f[C_GECOS]))
		row_err(r, "%s: gecos must be printable ASCII without ':', at most 255 bytes",
			name);
	if (r->f[C_GROUPS] && acct_split(r->f[C_GROUPS], &groups, &n_groups) < 0)
		row_err(r, "out of memory");
	for (i = 0; i <= n_groups && !r->err; i++) {
		const char *g = i < n_groups ? groups[i] : r->f[C_GROUP];
		struct cpk_group grp = CPK_GROUP_INIT;

		if (!g)
			continue;
		if (cpk_name_check(g) != CPK_OK || cpk_ldap_group_show(c, g, &grp) != CPK_OK)
			row_err(r, "%s: %s", name, cpk_errmsg());
		cpk_group_release(&grp);
	}
	acct_strv_free(groups, n_groups);
	if (r->err)
		return;
	e = cpk_ldap_user_show(c, name, &u);
	if (e == CPK_OK) {
		if (uid && u.uid != uid)
			row_err(r, "user %s exists with uid %" PRIu64 ", not %" PRIu64,
				name, u.uid, uid);
		else if (r->f[C_SHELL] && (!u.shell || strcmp(u.shell, r->f[C_SHELL])))
			row_err(r, "user %s exists with shell %s, not %s", name,
				u.shell ? u.shell : "(none)", r->f[C_SHELL]);
		else if (r->f[C_GECOS] && (!u.gecos || strcmp(u.gecos, r->f[C_GECOS])))
			row_err(r, "user %s exists with another gecos ('%s')", name,
				u.gecos ? u.gecos : "");
		else
			r->exists = 1;
	} else if (e != CPK_ERR_NOTFOUND) {
		row_err(r, "%s", cpk_errmsg());
	}
	cpk_user_release(&u);
}

static cpk_err_t add_row(struct cpk_ldap_conn *c, const struct cpk_model *m,
			 const struct row *r, int no_home, uint64_t *uid,
			 struct cpk_buf *err)
{
	struct cpk_user_spec s = { 0 };
	const char *key = r->f[C_SSH_KEY];
	char **groups = NULL;
	size_t n_groups = 0;
	uint64_t gid;
	cpk_err_t e;

	s.name = r->f[C_NAME];
	s.gecos = r->f[C_GECOS];
	s.shell = r->f[C_SHELL];
	s.group = r->f[C_GROUP];
	if (r->f[C_GROUPS] && acct_split(r->f[C_GROUPS], &groups, &n_groups) < 0) {
		cpk_buf_addstr(err, "out of memory");
		return CPK_ERR_NOMEM;
	}
	s.groups = (const char *const *)groups;
	s.n_groups = n_groups;
	if (key) {
		s.ssh_keys = &key;
		s.n_ssh_keys = 1;
	}
	s.uid = r->f[C_UID] ? strtoull(r->f[C_UID], NULL, 10) : 0;
	e = cpk_ldap_account_add(c, &m->users, &s, NULL, !no_home, uid, &gid);
	if (e != CPK_OK)
		cpk_buf_addstr(err, cpk_errmsg());
	acct_strv_free(groups, n_groups);
	return e;
}

static void import_release(struct import *im)
{
	size_t i;
	int k;

	for (i = 0; i < im->n; i++) {
		for (k = 0; k < NCOL; k++)
			free(im->rows[i].f[k]);
		free(im->rows[i].err);
	}
	free(im->rows);
}

static int run(int argc, char **argv, const struct cli_verb *v)
{
	const char *path = NULL, *root = NULL;
	struct import im = { 0 };
	struct cpk_buf text = CPK_BUF_INIT;
	struct cpk_model *m = NULL;
	struct cpk_ldap_conn *c = NULL;
	size_t i, added = 0, existing = 0, failed = 0;
	int ch, no_home = 0, rc;

	while ((ch = cli_getopt(argc, argv, v)) != -1) {
		if (ch == 'f')
			path = optarg;
		else if (ch == OPT_NO_HOME)
			no_home = 1;
		else if (ch == OPT_ROOT)
			root = optarg;
		else
			return cli_common_opt(ch, argv, v);
	}
	if (argc - optind != 1)
		return cli_usage_err(v, "give one file of users");
	im.path = argv[optind];
	if (cpk_read_file(im.path, &text, 64 << 20) != CPK_OK)
		return acct_fail();
	if (looks_yaml(im.path, text.buf))
		parse_yaml(&im, text.buf, text.len);
	else
		parse_csv(&im, text.buf);
	cpk_buf_release(&text);
	if (im.fatal) {
		rc = EXIT_FAIL;
		goto out;
	}
	if ((rc = acct_connect(path, &m, &c)) != EXIT_OK)
		goto out;
	im.root = acct_root(root);
	im.uid_range = &m->users.uid_range;
	for (i = 0; i < im.n; i++) {	/* 1. check every row */
		check_row(&im, i, c);
		if (im.rows[i].err) {
			fprintf(stderr, "cpk: %s:%lu: %s\n", im.path, im.rows[i].line,
				im.rows[i].err);
			failed++;
		}
	}
	for (i = 0; i < im.n; i++) {	/* 2. add the good ones */
		struct row *r = &im.rows[i];
		struct cpk_buf err = CPK_BUF_INIT;
		uint64_t uid = 0;

		if (r->err)
			continue;
		if (r->exists) {
			printf("exists %s\n", r->f[C_NAME]);
			existing++;
		} else if (add_row(c, m, r, no_home, &uid, &err) == CPK_OK) {
			printf("added %s (uid %" PRIu64 ")\n", r->f[C_NAME], uid);
			added++;
		} else {
			fprintf(stderr, "cpk: %s:%lu: %s\n", im.path, r->line,
				err.buf ? err.buf : "out of memory");
			failed++;
		}
		cpk_buf_release(&err);
	}
	printf("%s: added %zu, existing %zu, failed %zu\n", im.path, added,
	       existing, failed);
	rc = failed ? EXIT_FAIL : EXIT_OK;
out:
	import_release(&im);
	acct_disconnect(m, c);
	return acct_flush(rc);
}

const struct cli_verb acct_user_import = {
	"user import", "FILE [--no-home] [--root DIR] [-f FILE]",
	"Add the users of a CSV (header line: " KNOWN ") or YAML (a list of "
	"mappings) file; check every row first; safe to re-run.",
	opts, run,
};
