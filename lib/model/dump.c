/*
 * The effective model as YAML (cpk validate --dump) and the key reference
 * of cluster.yaml(5), both walked from the schema table.
 */
#include <inttypes.h>
#include <string.h>

#include "model_priv.h"

static int plain_ok(const char *s)
{
	const char *p;

	if (!*s || strchr("-?:,[]{}#&*!|>'\"%@`~ ", *s))
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("_./-[]()+=@", *p)))
			return 0;
	/* words YAML would read as booleans or null */
	return strcasecmp(s, "true") && strcasecmp(s, "false") &&
	       strcasecmp(s, "yes") && strcasecmp(s, "no") && strcasecmp(s, "on") &&
	       strcasecmp(s, "off") && strcasecmp(s, "null");
}

static void scalar(struct cpk_buf *out, const char *s)
{
	if (plain_ok(s)) {
		cpk_buf_addstr(out, s);
		return;
	}
	cpk_buf_addch(out, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			cpk_buf_addch(out, '\\');
		cpk_buf_addch(out, *s);
	}
	cpk_buf_addch(out, '"');
}

static void dump_section(struct cpk_buf *out, const struct section *s,
			 const void *base, int indent, int first_dash);

static void dump_field(struct cpk_buf *out, const struct field *f,
		       const void *base, int indent)
{
	const void *addr = (const char *)base + f->off;
	size_t i;

	switch (f->type) {
	case F_SECTION: {	/* omitted when nothing in it is set */
		struct cpk_buf body = CPK_BUF_INIT;

		dump_section(&body, f->sub, addr, indent + 2, 0);
		if (body.len)
			cpk_buf_addf(out, "%*s%s:\n%s", indent, "", f->key, body.buf);
		if (cpk_buf_failed(&body))
			out->failed = 1;
		cpk_buf_release(&body);
		return;
	}
	case F_LIST: {
		const char *arr = *(char *const *)addr;
		size_t n = *(const size_t *)((const char *)base + f->count_off);

		cpk_buf_addf(out, "%*s%s:%s\n", indent, "", f->key, n ? "" : " []");
		for (i = 0; i < n; i++)
			dump_section(out, f->sub, arr + i * f->sub->size, indent + 2, 1);
		return;
	}
	case F_STRLIST:
	case F_ENUMLIST: {
		const struct cpk_strlist *l = addr;

		cpk_buf_addf(out, "%*s%s: [", indent, "", f->key);
		for (i = 0; i < l->n; i++) {
			if (i)
				cpk_buf_addstr(out, ", ");
			scalar(out, l->v[i]);
		}
		cpk_buf_addstr(out, "]\n");
		return;
	}
	case F_UINT:
	case F_SIZE: {
		uint64_t v = *(const uint64_t *)addr;

		if (!v && f->min)	/* 0 below the minimum: not given */
			return;
		cpk_buf_addf(out, "%*s%s: %" PRIu64 "\n", indent, "", f->key, v);
		return;
	}
	case F_BOOL:
		cpk_buf_addf(out, "%*s%s: %s\n", indent, "", f->key,
			     *(const int *)addr ? "true" : "false");
		return;
	case F_RANGE: {
		const struct cpk_range *r = addr;

		cpk_buf_addf(out, "%*s%s: %" PRIu64 "-%" PRIu64 "\n", indent, "",
			     f->key, r->lo, r->hi);
		return;
	}
	default: {
		const char *s = *(char *const *)addr;

		if (!s)
			return;
		cpk_buf_addf(out, "%*s%s: ", indent, "", f->key);
		scalar(out, s);
		cpk_buf_addch(out, '\n');
	}
	}
}

static void dump_section(struct cpk_buf *out, const struct section *s,
			 const void *base, int indent, int first_dash)
{
	size_t i, mark;

	for (i = 0; i < s->nfields; i++) {
		mark = out->len;
		dump_field(out, &s->fields[i], base, indent);
		if (first_dash && out->len > mark) {	/* "  key" -> "- key" */
			out->buf[mark + (size_t)indent - 2] = '-';
			first_dash = 0;
		}
	}
}

void cpk_model_dump(const struct cpk_model *m, struct cpk_buf *out)
{
	cpk_buf_addf(out, "# effective description of %s (defaults filled in)\n",
		     m->path);
	dump_section(out, &cpk_schema_root, m, 0, 0);
	if (!m->ldap.present) {	/* drop the defaults of an absent ldap */
		char *p = strstr(out->buf, "\nldap:\n");
		char *q = p ? strstr(p + 1, "\nusers:\n") : NULL;

		if (p && q) {
			memmove(p, q, out->len - (size_t)(q - out->buf) + 1);
			out->len -= (size_t)(q - p);
		}
	}
}

static const char *type_name(const struct field *f)
{
	switch (f->type) {
	case F_STR: return "string";
	case F_NAME: return "name";
	case F_CLUSTERNAME: return "cluster name";
	case F_PATH: return "absolute path";
	case F_UINT: return "whole number";
	case F_BOOL: return "boolean";
	case F_SIZE: return "size (MiB, or K/M/G/T)";
	case F_TIME: return "time limit";
	case F_ENUM: return "one of";
	case F_STRLIST: return "list of strings";
	case F_ENUMLIST: return "list, each one of";
	case F_HOSTLIST: return "host list";
	case F_ADDR: return "IP address";
	case F_RANGE: return "range LO-HI";
	case F_DN: return "DN";
	case F_URI: return "LDAP URI";
	case F_SECTION: return "mapping";
	case F_LIST: return "list of mappings";
	}
	return "?";
}

static void roff_text(struct cpk_buf *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		cpk_buf_addstr(out, "\\&");
	for (; *s; s++) {
		if (*s == '\\')
			cpk_buf_addstr(out, "\\e");
		else if (*s == '-')
			cpk_buf_addstr(out, "\\-");
		else
			cpk_buf_addch(out, *s);
	}
}

static void man_section(struct cpk_buf *out, const struct section *s,
			const char *prefix)
{
	size_t i, j;

	for (i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];
		struct cpk_buf key = CPK_BUF_INIT;

		cpk_buf_addf(&key, "%s%s%s", prefix, *prefix ? "." : "", f->key);
		if (f->type == F_SECTION || f->type == F_LIST) {
			if (!*prefix) {
				cpk_buf_addstr(out, ".SS ");
				roff_text(out, f->key);
				cpk_buf_addch(out, '\n');
				if (f->sub->help) {
					roff_text(out, f->sub->help);
					cpk_buf_addch(out, '\n');
				}
				if (f->type == F_LIST)
					cpk_buf_addstr(out, "A list; each item has these keys.\n");
				if (f->flags & F_REQUIRED)
					cpk_buf_addstr(out, "Required.\n");
				man_section(out, f->sub, f->key);
			} else {
				man_section(out, f->sub, key.buf);
			}
			cpk_buf_release(&key);
			continue;
		}
		cpk_buf_addstr(out, ".TP\n.B ");
		roff_text(out, key.buf);
		cpk_buf_addstr(out, "\n(");
		roff_text(out, type_name(f));
		if (f->choices) {
			for (j = 0; f->choices[j]; j++) {
				cpk_buf_addstr(out, j ? ", " : " ");
				roff_text(out, f->choices[j]);
			}
		}
		if (f->syn) {
			cpk_buf_addstr(out, ": ");
			roff_text(out, f->syn->name);
		}
		if (f->type == F_UINT || f->type == F_RANGE)
			cpk_buf_addf(out, ", %llu to %llu", (unsigned long long)f->min,
				     (unsigned long long)f->max);
		if (f->flags & F_REQUIRED)
			cpk_buf_addstr(out, "; required");
		if (f->def) {
			cpk_buf_addstr(out, "; default ");
			roff_text(out, f->def);
		}
		cpk_buf_addstr(out, ")\n");
		roff_text(out, f->help ? f->help : "");
		cpk_buf_addch(out, '\n');
		cpk_buf_release(&key);
	}
}

void cpk_schema_man(struct cpk_buf *out)
{
	man_section(out, &cpk_schema_root, "");
}
