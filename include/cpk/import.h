/*
 * clusterpack accounts: many users from a file (cpk user import).
 *
 * Lifecycle:
 *   1. struct cpk_import im = CPK_IMPORT_INIT;
 *   2. cpk_import_parse(&im, path, text, len): CSV (a header line naming
 *      the columns) or YAML (a list of mappings with the same keys).  A
 *      file that cannot be read as such fails as a whole; a bad row gets
 *      its own error (row->err) and the others are kept.
 *   3. cpk_import_check(c, root, uid_range, &im): every row through the
 *      same checks as cpk_ldap_user_add() (cpk_user_spec_check), the
 *      control node's own accounts (cpk_local_check), the directory
 *      (groups exist; a user that exists must match its row).  Nothing is
 *      written.
 *   4. For each row without err and not exists: cpk_import_row_spec(),
 *      then cpk_ldap_account_add().  Whether one bad row stops all the
 *      others is the caller's choice (cpk's default: it does).
 *   5. cpk_import_release(&im).
 */
#ifndef CPK_IMPORT_H
#define CPK_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include "cpk/ldap.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cpk_import_col {
	CPK_COL_NAME, CPK_COL_GECOS, CPK_COL_SHELL, CPK_COL_GROUP,
	CPK_COL_GROUPS, CPK_COL_UID, CPK_COL_SSH_KEY, CPK_COL_N
};
/* The column (and YAML key) names, in that order. */
#define CPK_IMPORT_COLUMNS "name, gecos, shell, group, groups, uid, ssh_key"

struct cpk_import_row {
	unsigned long line;		/* in the file, from 1 */
	char *f[CPK_COL_N];		/* as given; NULL: not given or empty */
	char **groups;			/* f[CPK_COL_GROUPS] split (by check) */
	size_t n_groups;
	uint64_t uid;			/* f[CPK_COL_UID] (by check); 0: none */
	char *err;			/* the row's first problem; NULL: good */
	int exists;			/* the user exists and matches the row */
};

struct cpk_import {
	struct cpk_import_row *rows;
	size_t n, cap;
};
#define CPK_IMPORT_INIT { NULL, 0, 0 }

/*
 * Parses the LEN bytes of TEXT, the content of file PATH (named in
 * messages; its extension .csv/.yaml/.yml chooses the format, else the
 * content does), appending to IM's rows.  A NUL byte anywhere, a missing
 * or bad header, a YAML syntax error or a YAML document that is no list
 * fail the whole file: CPK_ERR_INVALID "PATH:LINE: ...".
 */
cpk_err_t cpk_import_parse(struct cpk_import *im, const char *path,
			   const char *text, size_t len);

/*
 * Checks every row (see the top of this file) and sets its err or
 * exists; ROOT and UID_RANGE are cpk_local_check()'s.  Returns the number
 * of bad rows; CPK_ERR_* only through cpk_errmsg() of a row.
 */
size_t cpk_import_check(struct cpk_ldap_conn *c, const char *root,
			const struct cpk_range *uid_range,
			struct cpk_import *im);

/* Fills SPEC from a checked ROW (pointers borrowed from ROW). */
void cpk_import_row_spec(const struct cpk_import_row *row,
			 struct cpk_user_spec *spec);

/* Frees every row.  Accepts a zeroed struct. */
void cpk_import_release(struct cpk_import *im);

#ifdef __cplusplus
}
#endif
#endif
