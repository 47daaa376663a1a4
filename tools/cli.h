/* The cpk command line: shared helpers of the verb files. */
#ifndef CPK_CLI_H
#define CPK_CLI_H

#include <getopt.h>
#include "cpk/model.h"

/* Exit codes of every verb. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* One option: getopt_long data plus its help text (one source for both). */
struct cli_opt {
	const char *name;	/* long name */
	int key;		/* short letter, or a value > 255 */
	const char *arg;	/* argument name, NULL for a flag */
	const char *help;
};

struct cli_verb {
	const char *name;
	const char *synopsis;	/* after "cpk NAME " */
	const char *summary;
	const struct cli_opt *opts;	/* ends with { NULL } */
	int (*run)(int argc, char **argv, const struct cli_verb *v);
};

/* getopt_long over V's options; returns like getopt_long. */
int cli_getopt(int argc, char **argv, const struct cli_verb *v);
void cli_usage(const struct cli_verb *v, int to_stderr);
/* Prints "cpk: MSG" to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage error: message, hint, returns EXIT_USAGE. */
int cli_usage_err(const struct cli_verb *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The cases every verb shares, for cli_getopt's result C: -h prints help
 * (EXIT_OK), a missing value or an unknown option is a usage error.
 */
int cli_common_opt(int c, char **argv, const struct cli_verb *v);
/* Takes an optional single FILE operand into *PATH (unless -f gave one). */
int cli_file_operand(int argc, char **argv, const struct cli_verb *v,
		     const char **path);

/*
 * Loads the description at PATH (NULL: -f/CPK_CONFIG/default) and prints
 * diagnostics.  Returns EXIT_OK with *M set, else EXIT_FAIL.
 */
int cli_load_model(const char *path, struct cpk_model **m);

extern const struct cli_verb cli_validate, cli_render, cli_apply, cli_munge_key, cli_schema;
extern const struct cli_verb cli_copy, cli_stage;
extern const struct cli_verb cli_user, cli_group, cli_ldap;
extern const struct cli_verb cli_node;

#endif
