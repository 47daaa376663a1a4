/*
 * Private to lib/model: the schema table types, the parse context and the
 * position index.
 */
#ifndef CPK_MODEL_PRIV_H
#define CPK_MODEL_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include "cpk/model.h"
#include "internal.h"
#include "strmap.h"

enum ftype {
	F_STR,		/* one line of text */
	F_NAME,		/* a name: [A-Za-z0-9][A-Za-z0-9_.-]* */
	F_CLUSTERNAME,	/* Slurm cluster name: [a-z][a-z0-9_-]*, < 40 */
	F_PATH,		/* absolute path, no white space */
	F_UINT,		/* whole number within [min, max] */
	F_BOOL,		/* true/false, yes/no, on/off */
	F_SIZE,		/* MiB: a number, or a number with K/M/G/T */
	F_TIME,		/* a Slurm time: UNLIMITED, MM, MM:SS, D-HH:MM:SS ... */
	F_ENUM,		/* one of choices */
	F_STRLIST,	/* a sequence of F_STR (or one string) */
	F_ENUMLIST,	/* a sequence of choices (or one) */
	F_HOSTLIST,	/* a host list expression (checked later) */
	F_ADDR,		/* an IPv4 or IPv6 address */
	F_RANGE,	/* "LO-HI", whole numbers within [min, max] */
	F_DN,		/* an LDAP DN */
	F_URI,		/* an LDAP URI: ldap://, ldaps://, ldapi:// */
	F_SECTION,	/* a mapping described by sub */
	F_LIST,		/* a sequence of mappings described by sub */
};

#define F_REQUIRED 1u

struct section;

/*
 * What a string value (or each item of a list) may hold beyond its type,
 * by what the rendered file it goes into can hold (syntax.c).
 */
struct syntax {
	const char *name;	/* for the man page: "node names" */
	/* NULL if S is good, else what was expected */
	const char *(*check)(const char *s);
};

extern CPK_INTERNAL const struct syntax cpk_syn_nodelist, cpk_syn_addrlist,
	cpk_syn_devlist, cpk_syn_feature, cpk_syn_group, cpk_syn_options,
	cpk_syn_slurm_extra, cpk_syn_client, cpk_syn_host;
/* NULL if OPT ("name" or "name=value") is a known exports(5) option with a
 * value of its type, else what is wrong with it. */
CPK_INTERNAL const char *cpk_export_option_check(const char *opt);

struct field {
	const char *key;
	enum ftype type;
	size_t off;		/* offset in the section's struct */
	const char *def;	/* default, as text (NULL: none) */
	uint64_t min, max;	/* bounds for F_UINT, F_SIZE, F_RANGE */
	const char *const *choices;	/* F_ENUM, F_ENUMLIST: NULL-terminated */
	const struct section *sub;	/* F_SECTION, F_LIST */
	size_t count_off;	/* F_LIST: offset of the size_t count */
	unsigned flags;
	const char *help;
	const struct syntax *syn;	/* string values: NULL, or more rules */
};

struct section {
	const char *name;
	const struct field *fields;
	size_t nfields;
	size_t size;		/* element size for F_LIST */
	size_t pos_off;		/* offset of a struct cpk_pos, or (size_t)-1 */
	const char *help;
};

extern CPK_INTERNAL const struct section cpk_schema_root;
extern CPK_INTERNAL const struct section cpk_schema_fragment;
extern CPK_INTERNAL const struct section cpk_schema_nodegroup;
/* What to write instead of VALUE, a value of F's choices that Slurm no
 * longer accepts; NULL if VALUE was never a choice. */
CPK_INTERNAL const char *cpk_schema_retired(const struct field *f, const char *value);

/* Where each field that was given in a file was given. */
struct posent {
	const void *addr;
	struct cpk_pos pos;
	int quoted;		/* the value was a quoted scalar */
};

struct model_priv {
	char **files;		/* every file read, for cpk_pos.file */
	size_t nfiles;
	struct posent *pos;	/* open-addressing table keyed by addr */
	size_t poscap, posn;
	struct cpk_strmap nodes;	/* node name -> index in model->nodes */
};

/* Parse context shared by model.c and check.c. */
struct ctx {
	struct cpk_model *m;
	struct model_priv *p;
	struct cpk_diags *diags;
	int oom;
};

CPK_INTERNAL void cpk_diag_add(struct ctx *c, const struct cpk_pos *pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Records that the field at ADDR was given at POS. */
CPK_INTERNAL int cpk_pos_put(struct ctx *c, const void *addr, const struct cpk_pos *pos,
		int quoted);
/* Where the field at ADDR was given, or NULL if it was not. */
CPK_INTERNAL const struct posent *cpk_pos_get(const struct model_priv *p, const void *addr);

/* Appends S quoted, short and printable, for a message (value.c). */
CPK_INTERNAL void cpk_quote_value(struct cpk_buf *b, const char *s);
/* S holds a control character. */
CPK_INTERNAL int cpk_has_ctl(const char *s);
/* Appends TEXT, one item of the list field F, to L if it is valid for F;
 * else reports it.  -1 if it was not appended. */
CPK_INTERNAL int cpk_list_item(struct ctx *c, const struct field *f, struct cpk_strlist *l,
			       const char *text, const struct cpk_pos *pos, const char *path);

/* Parses one scalar TEXT into the field F of struct BASE (defaults too). */
CPK_INTERNAL int cpk_field_set(struct ctx *c, const struct field *f, void *base,
		  const char *text, const struct cpk_pos *pos,
		  const char *path);

/* The deepest nesting of collections a description may have. */
#define CPK_YAML_MAX_DEPTH 32
/* 1 if TEXT nests collections deeper than CPK_YAML_MAX_DEPTH (*LINE and *COL
 * then say where, 1-based), 0 if not (or if it is not valid YAML), -1 out of
 * memory (depth.c). */
CPK_INTERNAL int cpk_yaml_too_deep(const char *text, size_t len, int *line, int *col);

/* Semantic checks and derived data (check.c). */
CPK_INTERNAL void cpk_model_check(struct ctx *c);

CPK_INTERNAL void cpk_strlist_release(struct cpk_strlist *l);
/* Appends a copy of S; -1 out of memory. */
CPK_INTERNAL int cpk_strlist_push(struct cpk_strlist *l, const char *s);
/* [A-Za-z0-9][A-Za-z0-9_.-]*, at most MAXLEN bytes. */
CPK_INTERNAL int cpk_is_name(const char *s, size_t maxlen);

#endif
