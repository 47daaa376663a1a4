/*
 * Scalar values of cluster.yaml: each parsed and checked by its type in the
 * schema table (and its syntax, syntax.c), then stored in the model.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model_priv.h"

/* A short, printable rendering of a value for messages. */
void cpk_quote_value(struct cpk_buf *b, const char *s)
{
	size_t i;

	cpk_buf_addch(b, '\'');
	for (i = 0; s[i] && i < 60; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			cpk_buf_addf(b, "\\x%02x", ch);
		else
			cpk_buf_addch(b, (char)ch);
	}
	if (s[i])
		cpk_buf_addstr(b, "...");
	cpk_buf_addch(b, '\'');
}

static void bad_value(struct ctx *c, const struct cpk_pos *pos, const char *path,
		      const char *text, const char *expected)
{
	struct cpk_buf q = CPK_BUF_INIT;

	cpk_quote_value(&q, text);
	cpk_diag_add(c, pos, "%s: expected %s, got %s", path, expected, q.buf);
	cpk_buf_release(&q);
}

/* TEXT is out of F's bounds: WHAT from F's min to its max UNIT was
 * expected. */
static void bad_bounds(struct ctx *c, const struct field *f,
		       const struct cpk_pos *pos, const char *path,
		       const char *text, const char *what, const char *unit)
{
	struct cpk_buf e = CPK_BUF_INIT;

	cpk_buf_addf(&e, "%s from %llu to %llu%s", what,
		     (unsigned long long)f->min, (unsigned long long)f->max,
		     unit);
	bad_value(c, pos, path, text, e.buf);
	cpk_buf_release(&e);
}

int cpk_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int has_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int parse_uint(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (*s)
		return -1;
	*v = x;
	return 0;
}

int cpk_is_name(const char *s, size_t maxlen)
{
	size_t n = 0;

	if (!isalnum((unsigned char)*s))
		return 0;
	for (; *s; s++, n++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return 0;
	return n <= maxlen;
}

static int is_cluster_name(const char *s)
{
	size_t n = 0;

	if (!islower((unsigned char)*s))
		return 0;
	for (; *s; s++, n++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '_' && *s != '-')
			return 0;
	return n < 40;
}

/* Slurm time: UNLIMITED|INFINITE, M, M:S, H:M:S, D-H, D-H:M, D-H:M:S. */
static int is_slurm_time(const char *s)
{
	const char *p = s, *dash;
	int parts = 0;

	if (!strcasecmp(s, "UNLIMITED") || !strcasecmp(s, "INFINITE"))
		return 1;
	dash = strchr(s, '-');
	if (dash) {
		if (dash == s)
			return 0;
		for (; p < dash; p++)
			if (!isdigit((unsigned char)*p))
				return 0;
		p = dash + 1;
	}
	for (;;) {
		const char *start = p;

		while (isdigit((unsigned char)*p))
			p++;
		if (p == start || p - start > 9)
			return 0;
		parts++;
		if (!*p)
			break;
		if (*p != ':')
			return 0;
		p++;
	}
	return parts <= 3;
}

static int parse_size_mb(const char *s, uint64_t *mb)
{
	uint64_t v = 0, mul;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		if (v > UINT64_C(1) << 50)
			return -1;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	switch (toupper((unsigned char)*p)) {
	case '\0':
		*mb = v;
		return 0;
	case 'K':
		mul = 1;
		break;
	case 'M':
		mul = 1024;
		break;
	case 'G':
		mul = 1024 * 1024;
		break;
	case 'T':
		mul = 1024 * 1024 * 1024;
		break;
	default:
		return -1;
	}
	p++;
	if (!strcasecmp(p, "iB") || !strcasecmp(p, "B"))
		p += strlen(p);
	if (*p)
		return -1;
	/* v * mul KiB, as MiB */
	if (v > (UINT64_C(1) << 50) / mul)
		return -1;
	v *= mul;
	if (v % 1024)
		return -2;
	*mb = v / 1024;
	return 0;
}

static const char *find_choice(const char *const *choices, const char *s)
{
	for (; *choices; choices++)
		if (!strcasecmp(*choices, s))
			return *choices;
	return NULL;
}

static void choices_text(struct cpk_buf *b, const char *const *choices)
{
	size_t i;

	cpk_buf_addstr(b, "one of ");
	for (i = 0; choices[i]; i++)
		cpk_buf_addf(b, "%s%s", i ? (choices[i + 1] ? ", " : " or ") : "",
			     choices[i]);
}

/* TEXT is none of F's choices: say which are, or what replaced it. */
static void bad_choice(struct ctx *c, const struct field *f,
		       const struct cpk_pos *pos, const char *path,
		       const char *text)
{
	const char *hint = cpk_schema_retired(f, text);
	struct cpk_buf e = CPK_BUF_INIT;

	if (hint) {
		cpk_diag_add(c, pos, "%s: %s", path, hint);
		return;
	}
	choices_text(&e, f->choices);
	bad_value(c, pos, path, text, e.buf);
	cpk_buf_release(&e);
}

int cpk_strlist_push(struct cpk_strlist *l, const char *s)
{
	char **v = cpk_reallocarray(l->v, l->n + 1, sizeof(*v));

	if (!v)
		return -1;
	l->v = v;
	if (!(v[l->n] = cpk_strdup(s)))
		return -1;
	l->n++;
	return 0;
}

void cpk_strlist_release(struct cpk_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Stores a copy of TEXT in the char * at FIELDP. */
static int set_str(struct ctx *c, char **fieldp, const char *text)
{
	char *s = cpk_strdup(text);

	if (!s) {
		c->oom = 1;
		return -1;
	}
	free(*fieldp);
	*fieldp = s;
	return 0;
}

/* TEXT follows F's syntax, if it has one; else says so. */
static int syntax_ok(struct ctx *c, const struct field *f, const char *text,
		     const struct cpk_pos *pos, const char *path)
{
	const char *e;

	if (!f->syn || !(e = f->syn->check(text)))
		return 1;
	bad_value(c, pos, path, text, e);
	return 0;
}

/* One element of a list field. */
int cpk_list_item(struct ctx *c, const struct field *f, struct cpk_strlist *l,
		  const char *text, const struct cpk_pos *pos, const char *path)
{
	const char *canon = text;

	if (f->type == F_ENUMLIST) {
		if (!(canon = find_choice(f->choices, text))) {
			bad_choice(c, f, pos, path, text);
			return -1;
		}
	} else if (!*text || cpk_has_ctl(text)) {
		bad_value(c, pos, path, text, "a non-empty string on one line");
		return -1;
	} else if (!syntax_ok(c, f, text, pos, path)) {
		return -1;
	}
	if (cpk_strlist_push(l, canon) < 0) {
		c->oom = 1;
		return -1;
	}
	return 0;
}

int cpk_field_set(struct ctx *c, const struct field *f, void *base,
		  const char *text, const struct cpk_pos *pos, const char *path)
{
	void *addr = (char *)base + f->off;
	char **sp = addr;
	uint64_t v;
	int r;

	switch (f->type) {
	case F_STR:
		if (!*text || cpk_has_ctl(text))
			goto bad_str;
		break;
	case F_NAME:
		if (!cpk_is_name(text, 63)) {
			bad_value(c, pos, path, text,
				  "a name (letters, digits, '_', '.', '-'; starting with a letter or digit; at most 63)");
			return -1;
		}
		break;
	case F_CLUSTERNAME:
		if (!is_cluster_name(text)) {
			bad_value(c, pos, path, text,
				  "a cluster name (lower-case letters, digits, '_', '-'; starting with a letter; under 40)");
			return -1;
		}
		break;
	case F_PATH:
		if (text[0] != '/' || has_space(text) || strpbrk(text, "#\"'\\,") ||
		    strlen(text) > 4095) {
			bad_value(c, pos, path, text,
				  "an absolute path without white space, quotes, '\\', ',' or '#'");
			return -1;
		}
		break;
	case F_UINT:
		if (parse_uint(text, &v) < 0 || v < f->min || v > f->max) {
			bad_bounds(c, f, pos, path, text, "a whole number", "");
			return -1;
		}
		*(uint64_t *)addr = v;
		goto record;
	case F_BOOL:
		if (!strcasecmp(text, "true") || !strcasecmp(text, "yes") ||
		    !strcasecmp(text, "on"))
			*(int *)addr = 1;
		else if (!strcasecmp(text, "false") || !strcasecmp(text, "no") ||
			 !strcasecmp(text, "off"))
			*(int *)addr = 0;
		else {
			bad_value(c, pos, path, text, "true or false");
			return -1;
		}
		goto record;
	case F_SIZE:
		r = parse_size_mb(text, &v);
		if (r == 0 && (v < f->min || v > f->max)) {
			bad_bounds(c, f, pos, path, text, "a size", " MiB");
			return -1;
		}
		if (r < 0) {
			bad_value(c, pos, path, text, r == -2
				  ? "a whole number of MiB (e.g. 512M, 64G)"
				  : "a size: MiB, or a number with K, M, G or T (e.g. 192G)");
			return -1;
		}
		*(uint64_t *)addr = v;
		goto record;
	case F_TIME:
		if (!is_slurm_time(text)) {
			bad_value(c, pos, path, text,
				  "a time limit: UNLIMITED, MINUTES, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS");
			return -1;
		}
		if (!strcasecmp(text, "INFINITE") || !strcasecmp(text, "UNLIMITED"))
			text = "UNLIMITED";
		break;
	case F_ENUM: {
		const char *canon = find_choice(f->choices, text);

		if (!canon) {
			bad_choice(c, f, pos, path, text);
			return -1;
		}
		text = canon;
		break;
	}
	case F_STRLIST:
	case F_ENUMLIST: {
		/* a scalar here is a default "a,b" or a one-element list */
		struct cpk_strlist *l = addr;
		char *copy = cpk_strdup(text), *save = NULL, *tok;

		if (!copy) {
			c->oom = 1;
			return -1;
		}
		cpk_strlist_release(l);
		if (pos && pos->line) {
			r = cpk_list_item(c, f, l, text, pos, path);
		} else {
			r = 0;
			for (tok = strtok_r(copy, ",", &save); tok && !r;
			     tok = strtok_r(NULL, ",", &save))
				r = cpk_list_item(c, f, l, tok, pos, path);
		}
		free(copy);
		if (r < 0)
			return -1;
		goto record;
	}
	case F_HOSTLIST:
		if (!*text || has_space(text)) {
			bad_value(c, pos, path, text,
				  "a host list such as c[001-128] (no white space)");
			return -1;
		}
		break;
	case F_ADDR: {
		unsigned char a[16];

		if (inet_pton(AF_INET, text, a) != 1 &&
		    inet_pton(AF_INET6, text, a) != 1) {
			bad_value(c, pos, path, text, "an IPv4 or IPv6 address");
			return -1;
		}
		break;
	}
	case F_RANGE: {
		struct cpk_range *rg = addr;
		const char *dash = strchr(text, '-');
		char lo[32];
		uint64_t a = 0, b = 0;
		int ok = dash && (size_t)(dash - text) < sizeof(lo);

		if (ok) {
			memcpy(lo, text, (size_t)(dash - text));
			lo[dash - text] = '\0';
			ok = parse_uint(lo, &a) == 0 && parse_uint(dash + 1, &b) == 0 &&
			     a <= b && a >= f->min && b <= f->max;
		}
		if (!ok) {
			struct cpk_buf e = CPK_BUF_INIT;

			cpk_buf_addf(&e, "a range LO-HI with %llu <= LO <= HI <= %llu",
				     (unsigned long long)f->min,
				     (unsigned long long)f->max);
			bad_value(c, pos, path, text, e.buf);
			cpk_buf_release(&e);
			return -1;
		}
		rg->lo = a;
		rg->hi = b;
		goto record;
	}
	case F_DN:
		if (!strchr(text, '=') || cpk_has_ctl(text) || text[0] == '=' ||
		    text[0] == ',') {
			bad_value(c, pos, path, text, "a DN such as dc=example,dc=org");
			return -1;
		}
		break;
	case F_URI:
		if ((strncmp(text, "ldap://", 7) && strncmp(text, "ldaps://", 8) &&
		     strncmp(text, "ldapi://", 8)) || has_space(text)) {
			bad_value(c, pos, path, text,
				  "an LDAP URI (ldap://HOST/, ldaps://HOST/ or ldapi://...)");
			return -1;
		}
		break;
	case F_SECTION:
	case F_LIST:
		return -1;	/* not scalars: the walker handles them */
	}
	if (!syntax_ok(c, f, text, pos, path))
		return -1;
	if (set_str(c, sp, text) < 0)
		return -1;
record:
	if (pos && pos->line)
		cpk_pos_put(c, addr, pos, 0);
	return 0;
bad_str:
	bad_value(c, pos, path, text, "a non-empty string on one line");
	return -1;
}

