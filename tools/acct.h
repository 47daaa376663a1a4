/*
 * Shared by the account verbs (cmd_user.c, cmd_group.c, cmd_ldap.c,
 * acct_import.c): sub-command dispatch, connecting from the description,
 * reading secrets and keys, and the whole "add a user" transaction.
 */
#ifndef CPK_ACCT_H
#define CPK_ACCT_H

#include <stdio.h>
#include "cpk/buf.h"
#include "cpk/json.h"
#include "cpk/ldap.h"
#include "cli.h"

/*
 * Runs the sub-command of verb V named by argv[1] (one of the N in SUBS,
 * whose names are "VERB SUB"), with argv shifted by one.  No sub-command,
 * -h/--help/help: the list (exit 2 or 0); an unknown one: exit 2.  Ignores
 * SIGPIPE, so a closed pipe is a write error, not a silent death.
 */
int acct_dispatch(int argc, char **argv, const struct cli_verb *v,
		  const struct cli_verb *const *subs, size_t n);

/* The word after "VERB " in SUB's name ("add" of "user add"). */
const char *acct_subname(const struct cli_verb *sub);

/*
 * Loads the description at PATH (NULL: the default), checks it has an
 * ldap section, connects and binds.  Prints what went wrong.  Returns
 * EXIT_OK with *M and *C set (the caller frees both), else EXIT_FAIL with
 * both NULL.
 */
int acct_connect(const char *path, struct cpk_model **m,
		 struct cpk_ldap_conn **c);
void acct_disconnect(struct cpk_model *m, struct cpk_ldap_conn *c);

/* The control node's root directory for cpk_local_check(): OPT (--root)
 * if given, else $CPK_ROOT if set, else "/". */
const char *acct_root(const char *opt);

/* Prints "cpk: " + cpk_errmsg() and returns EXIT_FAIL. */
int acct_fail(void);

/*
 * Reads one line from stdin into *PW (the newline stripped; a heap string
 * the caller frees with acct_password_free()).  An empty line, a NUL byte
 * or more than 1024 bytes is refused.  Prints what went wrong; returns EXIT_OK or EXIT_FAIL.
 */
int acct_read_password(char **pw);
void acct_password_free(char *pw);	/* wipes, frees; accepts NULL */

/*
 * Appends to *KEYS (an array of *N heap strings) every
 * public key line of file PATH (blank lines and '#' comments skipped; at
 * least one).  Prints what went wrong; returns EXIT_OK or EXIT_FAIL.
 */
int acct_read_keys(const char *path, char ***keys, size_t *n);
/* Appends the items of LIST ("a,b c;d") to *ITEMS; 0, or -1 (no memory). */
int acct_split(const char *list, char ***items, size_t *n);
/* Appends a copy of the LEN bytes at S to *V; 0, or -1 (no memory). */
int acct_strv_push(char ***v, size_t *n, const char *s, size_t len);
void acct_strv_free(char **v, size_t n);

/* What acct_user_add() does besides the directory entries. */
/* The member KEY: an array of the N strings of V. */
void acct_json_strv(struct cpk_json *j, const char *key, char *const *v, size_t n);
/* Writes J's finished document and a newline to stdout (EXIT_OK), or
 * complains that it failed (EXIT_FAIL). */
int acct_json_out(struct cpk_json *j);
/* fflush(stdout): EXIT_OK, or EXIT_FAIL (with a message unless EPIPE). */
int acct_flush(int rc);

extern const struct cli_verb acct_user_import;

#endif
