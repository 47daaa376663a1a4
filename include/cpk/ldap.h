/*
 * clusterpack accounts: users and groups in the cluster's LDAP directory
 * (RFC 2307 posixAccount/posixGroup), their uid/gid allocation, and their
 * home directories.  Destined for include/cpk/ldap.h.
 *
 * Lifecycle:
 *   1. Fill (or take from the model) a struct cpk_ldap (where the directory
 *      is, how to bind) and a struct cpk_users (id ranges, shell, homes).
 *   2. struct cpk_ldap_conn *c;
 *      r = cpk_ldap_open(&model->ldap, &model->users, 0, &c);
 *        connects, StartTLS/ldaps as asked, binds; c is NULL on failure.
 *        The strings and ranges needed later are copied: the two structs
 *        may be freed once cpk_ldap_open() returns.
 *   3. Once per directory: cpk_ldap_create_tree(c, &report) creates the
 *      base entry, the People and Groups OUs and the id pool (idempotent).
 *   4. Any number of cpk_ldap_user_*() and cpk_ldap_group_*() calls.  Data
 *      returned in a struct cpk_user / struct cpk_group is owned by the
 *      caller and released with cpk_user_release() / cpk_group_release().
 *   5. cpk_ldap_close(c) (accepts NULL): unbinds and frees.
 *   Home directories (cpk_home_*) need no connection: call them on the
 *   machine that holds home_root, after cpk_ldap_user_add() gave the ids.
 *
 * Errors: every call returns a cpk_err_t (0 on success) and leaves a
 * detailed message for cpk_errmsg() that names the server URI, the entry
 * and the server's own words.  Mapping:
 *   CPK_ERR_EXISTS    the user, group, member or key is already there
 *   CPK_ERR_NOTFOUND  no such user/group/member/key
 *   CPK_ERR_PERM      wrong bind password, insufficient access, unsafe
 *                     password file, home dir owned by someone else
 *   CPK_ERR_INVALID   a bad name/shell/gecos/key, or the server refused the
 *                     entry (schema violation, ...)
 *   CPK_ERR_CONFIG    the ldap/users description is unusable (no uri, bad
 *                     tls value, empty range, ...)
 *   CPK_ERR_IO        the server cannot be reached, timed out, or failed
 *                     TLS verification; a system call failed (homes)
 * A connection is not thread-safe: use one per thread (or process; after
 * fork() a child must not use or close its parent's connection).
 *
 * Directory layout (base = ldap.base_dn).  New entries go to people_ou and
 * groups_ou; lookups by name search the whole base (objectClass
 * posixAccount + uid=NAME, posixGroup + cn=NAME), so entries made by other
 * tools elsewhere under the base are found too, and two entries with the
 * same name are an error, never a guess.
 *   base                          created by create_tree if missing
 *   people_ou,base                organizationalUnit, holds the users
 *   groups_ou,base                organizationalUnit, holds the groups
 *   cn=idpool,base                the uid/gid allocation pool (below)
 *   uid=NAME,people_ou,base       inetOrgPerson + posixAccount +
 *                                 shadowAccount (+ ldapPublicKey)
 *   cn=NAME,groups_ou,base        posixGroup, members as memberUid
 *
 * The id pool: objectClass device (STRUCTURAL, core schema) plus
 * extensibleObject (built into slapd, RFC 4512), so it validates with only
 * core/cosine/nis/inetorgperson and never looks like a user or group to NSS
 * (it is neither posixAccount nor posixGroup).  Its uidNumber and gidNumber
 * hold the NEXT candidate id.  To take one, a client reads N, skips every
 * number some entry already uses (search uidNumber=N, made by hand or by
 * other tools), and sends ONE modify: delete value N, add value M+1 (M the
 * number taken).  If another client moved the counter first, the delete
 * fails with noSuchAttribute (16) and the client starts over.  Ids are
 * never reused; a counter past the range's end is "range exhausted".
 * Every id given, from the pool or explicit (--uid/--gid), is then claimed
 * by adding cn=uid-N (cn=gid-N),cn=idpool,base (device + extensibleObject
 * with uidNumber/gidNumber N): an add is atomic, so of two clients that
 * want N only one gets it; a pool client that loses takes the next id,
 * an explicit one fails (CPK_ERR_EXISTS).  The claims carry the numbers,
 * so the pool skips them; deleting a user or group removes its claims.
 * An explicit id's claim that no entry uses and whose createTimestamp is
 * over 10 minutes old (an add or delete stopped half-way) is taken over:
 * deleted and claimed again, atomically as above.
 * A server-side `unique` overlay on uidNumber/gidNumber (a good guard
 * against entries made by hand) must be scoped to people_ou/groups_ou:
 * the pool's own values would otherwise clash with them (error 19).
 */
#ifndef CPK_LDAP_H
#define CPK_LDAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cpk/error.h"
#include "cpk/buf.h"
#include "cpk/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- names and escaping (no connection needed) ---------------------- */

#define CPK_NAME_MAX 32

/*
 * Checks a user or group name: 1 to CPK_NAME_MAX (32) bytes matching
 * [a-z_][a-z0-9_-]*[$]?  -- the POSIX portable set restricted to lower case
 * as shadow's useradd/groupadd do by default: no upper case (NSS lookups
 * and memberUid are case-sensitive while uid is not), no '.', no leading
 * '-' or digit (so a name is never an option or a number), '$' only last
 * (Samba machine accounts).  32 is the utmp/wtmp ut_user size.
 * Returns CPK_OK or CPK_ERR_INVALID with the reason.  NULL is invalid.
 */
cpk_err_t cpk_name_check(const char *name);

/*
 * Appends to OUT the LEN bytes of VALUE escaped as an RFC 4514 DN attribute
 * value: '"' '+' ',' ';' '<' '>' '\\' and '=' as "\c", a leading '#' or
 * space and a trailing space as "\c", NUL and other control bytes as "\XX".
 * Bytes >= 0x80 are copied (UTF-8 is allowed in DNs).
 * Returns CPK_OK or CPK_ERR_NOMEM (OUT then holds a failed buffer).
 */
cpk_err_t cpk_ldap_escape_dn(const char *value, size_t len,
			     struct cpk_buf *out);

/*
 * Appends to OUT the LEN bytes of VALUE escaped as an RFC 4515 filter
 * assertion value: '*' '(' ')' '\\' NUL as \2a \28 \29 \5c \00, and every
 * other byte outside printable ASCII as \XX, so the result is plain ASCII
 * and matches only the literal value.  Returns CPK_OK or CPK_ERR_NOMEM.
 */
cpk_err_t cpk_ldap_escape_filter(const char *value, size_t len,
				 struct cpk_buf *out);

/*
 * Appends to OUT the SHA256 fingerprint of the OpenSSH public key line KEY
 * ("TYPE BASE64 [COMMENT]"), as ssh-keygen -l prints it: "SHA256:" and the
 * unpadded base64 of the hash.  CPK_ERR_INVALID if KEY is not such a key.
 */
cpk_err_t cpk_ssh_key_fingerprint(const char *key, struct cpk_buf *out);

/* ---- connection ------------------------------------------------------ */

struct cpk_ldap_conn;	/* opaque */

/*
 * Connects to cfg->uri and binds.
 *   cfg->tls: "none" (or NULL), "starttls" (ldap:// only; the StartTLS
 *     must succeed) or "ldaps" (ldaps:// only).  Certificates are always
 *     verified (whatever LDAPTLS_REQCERT or ldap.conf say), against cfg->ca_file when
 *     set, else libldap's default (ldap.conf TLS_CACERT, else the
 *     system's CAs); a failed verification is CPK_ERR_IO "TLS ... failed".
 *   cfg->bind_dn set: simple bind with the password in
 *     cfg->bind_password_file, which must be a regular file with no group
 *     or other permission bits (mode 0600 or 0400; refused with
 *     CPK_ERR_PERM otherwise), not empty, at most 4096 bytes; ONE trailing
 *     newline ("\n" or "\r\n") is stripped.  The password is wiped from
 *     memory after the bind.
 *   cfg->bind_dn NULL: SASL EXTERNAL over an ldapi:// URI (the server maps
 *     the caller's uid), else an anonymous connection.
 * TIMEOUT_MS bounds the TCP connect and every later request (0: 5000 ms
 * to connect, 30000 ms per request): a down or silent server fails with
 * CPK_ERR_IO and a message naming the URI.
 * USERS gives the id ranges, shell, home root and default group; it may be
 * NULL for a connection that only reads or runs create_tree without ids
 * (then user/group creation fails with CPK_ERR_CONFIG).
 * On success *OUT is a new connection the caller closes with
 * cpk_ldap_close().  Nothing is borrowed from CFG or USERS.
 */
cpk_err_t cpk_ldap_open(const struct cpk_ldap *cfg,
			const struct cpk_users *users, unsigned timeout_ms,
			struct cpk_ldap_conn **out);

/* Unbinds and frees.  Accepts NULL. */
void cpk_ldap_close(struct cpk_ldap_conn *c);

/*
 * Sets *HAS to 1 if the server's subschema (cn=Subschema objectClasses)
 * defines the openssh-lpk object class ldapPublicKey, else 0.  Looked up
 * once per connection.  Without it, users get no sshPublicKey and asking
 * for keys fails with CPK_ERR_INVALID.
 */
cpk_err_t cpk_ldap_has_ssh_keys(struct cpk_ldap_conn *c, int *has);

/*
 * Creates what is missing of: the base entry (dc=X: dcObject +
 * organization; o=X: organization; ou=X: organizationalUnit; its parent
 * must exist), every level of people_ou and groups_ou (ou=X:
 * organizationalUnit), and the id pool cn=idpool,base (uidNumber =
 * uid_range.lo, gidNumber = gid_range.lo; needs USERS).  Existing entries
 * are left exactly as they are, so re-running changes nothing.  Appends
 * one line "created DN\n" per entry made to REPORT (may be NULL).
 */
cpk_err_t cpk_ldap_create_tree(struct cpk_ldap_conn *c,
			       struct cpk_buf *report);

/* The DNs in use ("ou=People,dc=example,dc=org", ...).  Borrowed from C. */
const char *cpk_ldap_base_dn(const struct cpk_ldap_conn *c);
const char *cpk_ldap_people_dn(const struct cpk_ldap_conn *c);
const char *cpk_ldap_groups_dn(const struct cpk_ldap_conn *c);
const char *cpk_ldap_pool_dn(const struct cpk_ldap_conn *c);

/* ---- id allocation --------------------------------------------------- */

enum cpk_id_kind { CPK_ID_UID, CPK_ID_GID };

/*
 * Takes the next free uid (or gid) of the configured range from the pool
 * (see the top of this file): distinct across concurrent clients, skipping
 * numbers already carried by any entry under the base (uidNumber=N, or
 * gidNumber=N for gids: groups AND users' primary gids).  CPK_ERR_INVALID
 * "range exhausted" when none is left; CPK_ERR_NOTFOUND when the pool
 * entry is missing (run create_tree).  The id is consumed even if the
 * caller does not use it.
 */
cpk_err_t cpk_ldap_alloc_id(struct cpk_ldap_conn *c, enum cpk_id_kind kind,
			    uint64_t *id);

/* ---- the control node's own accounts (no connection) ----------------- */

/* Whether NAME is a reserved system account or group name (root, daemon,
 * nobody, users, staff, sudo, wheel, sshd, slurm, munge, ...), whether
 * or not this machine has it. */
int cpk_name_reserved(const char *name);

/*
 * Checks that an LDAP user (KIND CPK_ID_UID) or group (CPK_ID_GID) NAME
 * with the explicit id ID may be made, as the control node whose root
 * directory is ROOT (NULL or "": "/"; tests give a fixture) sees it:
 *   - NAME (unless NULL) is not reserved (cpk_name_reserved): never;
 *   - NAME is in no entry of ROOT/etc/passwd or ROOT/etc/group: never
 *     for a user (sshd's AuthorizedKeysCommand would give the local
 *     account of that name the LDAP user's keys); a group only with FORCE
 *     (the local group hides it where NSS reads files first);
 *   - ID (unless 0) is no local account's uid (or local group's gid):
 *     never; not a system id (<= 999): never; not below RANGE->lo: only
 *     with FORCE.
 * Both files must be readable (CPK_ERR_IO/NOTFOUND otherwise).  Returns
 * CPK_OK, CPK_ERR_INVALID (reserved, too low) or CPK_ERR_EXISTS (taken
 * locally), with a message that says whether --force would do.  FORCE:
 * 1 forced, 0 not forced (the message names --force where it would do),
 * CPK_LOCAL_NO_FORCE the caller has no --force (import: never named).
 */
#define CPK_LOCAL_NO_FORCE (-1)
cpk_err_t cpk_local_check(const char *root, enum cpk_id_kind kind,
			  const char *name, uint64_t id,
			  const struct cpk_range *range, int force);

/* ---- users ----------------------------------------------------------- */

struct cpk_user {
	char *name;		/* uid */
	char *dn;
	char *cn;		/* full name (cn) */
	char *gecos;		/* NULL if absent (our adds always set it) */
	char *home;		/* homeDirectory */
	char *shell;		/* loginShell, NULL if absent */
	uint64_t uid, gid;
	int locked;		/* shadowExpire is 1, or a password value
				   carries a lock marker: cpk's "{CRYPT}!"
				   or LAM's "{SCHEME}!" (cpk_ldap_user_lock) */
	char **ssh_keys;	/* sshPublicKey values */
	size_t n_ssh_keys;
	char **groups;		/* supplementary groups (memberUid); filled by
				   cpk_ldap_user_show() only */
	size_t n_groups;
};
#define CPK_USER_INIT { 0 }
/* Frees every field and zeroes U.  Accepts NULL and a zeroed struct. */
void cpk_user_release(struct cpk_user *u);

/* What cpk_ldap_user_add() creates.  All pointers are borrowed. */
struct cpk_user_spec {
	const char *name;	/* required; cpk_name_check() */
	const char *gecos;	/* "Full Name[,room,phone...]": UTF-8
				   without control characters or ':', at
				   most 255 bytes; NULL or "": the login
				   name.  cn is its first ',' field, sn
				   the last word of cn, givenName the
				   words before it.  The gecos attribute
				   (IA5) gets the text in ASCII: as it
				   is, transliterated (Latin letters:
				   "Dürr" is "Durr"), or, when some
				   character has no ASCII spelling, no
				   gecos at all. */
	const char *shell;	/* NULL: users->shell */
	const char *group;	/* primary group (must exist); NULL:
				   users->default_group if set, else a new
				   personal group named like the user */
	const char *const *groups;	/* supplementary groups (must exist) */
	size_t n_groups;
	const char *const *ssh_keys;	/* needs the openssh-lpk schema */
	size_t n_ssh_keys;
	uint64_t uid;		/* 0: allocate; else must be unused
				   (claimed like pool ids: concurrent
				   adds never share it) */
	uint64_t gid;		/* personal group's gid; 0: allocate */
};

/* The largest uid or gid (2^32 - 2; 2^32 - 1 is (uid_t)-1). */
#define CPK_ID_MAX 0xfffffffeULL

/*
 * The one check of what a user is made of, without the directory: the
 * name, gecos, shell, group names (no duplicates), ids (at most
 * CPK_ID_MAX) and ssh keys (each parsed as cpk_ssh_key_fingerprint()
 * does, no duplicates) of SPEC.  cpk_ldap_user_add() calls it, and so
 * does the import before anything is written.  CPK_OK or CPK_ERR_INVALID
 * with the reason.
 */
cpk_err_t cpk_user_spec_check(const struct cpk_user_spec *spec);

/*
 * Adds user SPEC->name: entry uid=NAME,people with posixAccount,
 * shadowAccount and inetOrgPerson (cn, sn, uid, uidNumber, gidNumber,
 * homeDirectory = home_root/NAME, loginShell, gecos), ldapPublicKey when
 * keys are given; the personal group cn=NAME,groups (posixGroup, gid from
 * the gid pool) unless a group is given or configured; memberUid NAME in
 * each supplementary group.  Everything is checked before anything is
 * written; if a write still fails midway, what was written is undone, so
 * a failed add leaves no entry behind (an allocated id stays consumed).
 * CPK_ERR_EXISTS if a user or (personal) group of that name exists.
 * UID_OUT/GID_OUT (may be NULL) receive the user's uid and primary gid.
 */
cpk_err_t cpk_ldap_user_add(struct cpk_ldap_conn *c,
			    const struct cpk_user_spec *spec,
			    uint64_t *uid_out, uint64_t *gid_out);

/* Changes to an existing user; NULL/0 fields are left as they are. */
struct cpk_user_mod {
	const char *shell;
	const char *gecos;	/* also updates cn, sn, givenName as for
				   cpk_user_spec; "": the name.  An entry
				   named by cn (as LDAP Account Manager
				   names them) is renamed to the new cn,
				   unless another entry has that name:
				   then it keeps its RDN value as a
				   second cn. */
	const char *group;	/* new primary group (must exist) */
	const char *const *add_keys;	/* CPK_ERR_EXISTS if already there */
	size_t n_add_keys;
	const char *const *del_keys;	/* CPK_ERR_NOTFOUND if not there */
	size_t n_del_keys;
};

/* The same checks as cpk_user_spec_check() for the fields MOD sets. */
cpk_err_t cpk_user_mod_check(const struct cpk_user_mod *mod);

/* Applies MOD to user NAME in one LDAP modify (all or nothing). */
cpk_err_t cpk_ldap_user_mod(struct cpk_ldap_conn *c, const char *name,
			    const struct cpk_user_mod *mod);

/*
 * Deletes user NAME: first its memberUid in every group, then its personal
 * group (cn=NAME with the user's gid, if no other member is left), then
 * the entry, so re-running after a failure finishes the job.
 */
cpk_err_t cpk_ldap_user_del(struct cpk_ldap_conn *c, const char *name);

/*
 * LOCK 1: sets shadowExpire to 1 (1970-01-02: pam_unix and sssd's shadow
 * expire policy refuse the login; objectClass shadowAccount is added when
 * the entry lacks it, as LDAP Account Manager's do) and disables every
 * userPassword value
 * for LDAP binds: "{CRYPT}$6$..." becomes "{CRYPT}!$6$..." (the shadow
 * convention), any other "{SCHEME}..." becomes "{CRYPT}!{SCHEME}...", a
 * value crypt() can never match, and a cleartext value (no scheme, or
 * "{CLEARTEXT}...") becomes "{CRYPT}!{CLEARTEXT}VALUE".  One modify that also asserts the old
 * values, so a concurrent password change makes it fail, not lose data.
 * A value that already carries a lock marker, cpk's or LDAP Account
 * Manager's ("{SSHA}!..."), is left as it is.
 * LOCK 0 undoes exactly that (removes shadowExpire, strips the prefixes):
 * every value comes back byte for byte; LAM's marker is removed too
 * ("{SSHA}!x" becomes "{SSHA}x").
 * Locking a locked user (or unlocking an unlocked one) changes nothing.
 */
cpk_err_t cpk_ldap_user_lock(struct cpk_ldap_conn *c, const char *name,
			     int lock);

/*
 * Sets NAME's password with the Password Modify extended operation
 * (RFC 3062), so the server hashes it with its own password-hash.
 * PASSWORD NULL: the server generates one, returned in *GENERATED (a heap
 * string: the caller wipes it, e.g. explicit_bzero(), and free()s it);
 * otherwise GENERATED may be NULL.  PASSWORD is the caller's: it is not
 * copied (libldap's own encoding buffers are beyond our reach).  Refused (CPK_ERR_INVALID) for a locked user (either marker):
 * unlock first.
 */
cpk_err_t cpk_ldap_user_passwd(struct cpk_ldap_conn *c, const char *name,
			       const char *password, char **generated);

/* Fills *OUT (the caller releases it with cpk_user_release(), also on
 * failure, when it is left zeroed) with user NAME and its groups. */
cpk_err_t cpk_ldap_user_show(struct cpk_ldap_conn *c, const char *name,
			     struct cpk_user *out);

/*
 * Calls CB for every user (posixAccount under the base), in server order,
 * fetched with the paged results control (RFC 2696, 500 per page), so
 * server size limits do not truncate the list.  U is valid during the call
 * only (u->groups is empty).  GECOS_SUBSTR non-NULL: only users whose
 * gecos contains that literal text (escaped: "*" matches a star).  CB
 * returning non-zero stops the listing; that value is not an error.
 */
typedef int (*cpk_user_cb)(const struct cpk_user *u, void *arg);
cpk_err_t cpk_ldap_user_list(struct cpk_ldap_conn *c,
			     const char *gecos_substr, cpk_user_cb cb,
			     void *arg);

/* ---- groups ---------------------------------------------------------- */

struct cpk_group {
	char *name;
	char *dn;
	char *description;	/* NULL if absent */
	uint64_t gid;
	char **members;		/* memberUid values */
	size_t n_members;
};
#define CPK_GROUP_INIT { 0 }
void cpk_group_release(struct cpk_group *g);	/* accepts NULL */

/*
 * Adds posixGroup NAME with GID (0: from the gid pool; a given gid must
 * not be used by another group: CPK_ERR_EXISTS).  GID_OUT may be NULL.
 */
cpk_err_t cpk_ldap_group_add(struct cpk_ldap_conn *c, const char *name,
			     uint64_t gid, uint64_t *gid_out);

/* Deletes group NAME; refused (CPK_ERR_INVALID) while it is some user's
 * primary group. */
cpk_err_t cpk_ldap_group_del(struct cpk_ldap_conn *c, const char *name);

/* Fills *OUT (the caller releases it with cpk_group_release()). */
cpk_err_t cpk_ldap_group_show(struct cpk_ldap_conn *c, const char *name,
			      struct cpk_group *out);

/* Like cpk_ldap_user_list() for the posixGroups under the base. */
typedef int (*cpk_group_cb)(const struct cpk_group *g, void *arg);
cpk_err_t cpk_ldap_group_list(struct cpk_ldap_conn *c, cpk_group_cb cb,
			      void *arg);

/* memberUid USER in GROUP.  The user must exist (CPK_ERR_NOTFOUND);
 * CPK_ERR_EXISTS if already a member. */
cpk_err_t cpk_ldap_group_add_member(struct cpk_ldap_conn *c,
				    const char *group, const char *user);
/* CPK_ERR_NOTFOUND if USER is not a member. */
cpk_err_t cpk_ldap_group_remove_member(struct cpk_ldap_conn *c,
				       const char *group, const char *user);

/* ---- a whole account ------------------------------------------------- */

/*
 * Adds the user of SPEC (cpk_ldap_user_add), sets PASSWORD if not NULL
 * (Password Modify; borrowed, not copied), and creates the home from skel
 * (cpk_home_create) if MAKE_HOME.  All or nothing: if a later step fails the
 * new entries are deleted again, and cpk_errmsg() says what failed and
 * whether the undo worked.  *UID and *GID get the numbers given.
 */
cpk_err_t cpk_ldap_account_add(struct cpk_ldap_conn *c,
			       const struct cpk_users *users,
			       const struct cpk_user_spec *spec,
			       const char *password, int make_home,
			       uint64_t *uid, uint64_t *gid);

/* ---- home directories (local filesystem, no connection) -------------- */

/*
 * Creates USERS->home_root/NAME, mode 0700, owned by UID:GID, and copies
 * USERS->skel into it (NULL or "": empty home): regular files (contents and
 * permission bits without setuid/setgid/sticky), directories and symbolic
 * links (the link itself, never its target); other file types are skipped.
 * Everything is created through directory file descriptors with O_NOFOLLOW
 * and fchownat(AT_SYMLINK_NOFOLLOW), nothing outside the new home is
 * followed or changed, and it becomes the user's only when complete
 * (chown of the top directory last).  CPK_ERR_EXISTS if home_root/NAME
 * exists (whatever it is).  On failure what was created is removed.
 */
cpk_err_t cpk_home_create(const struct cpk_users *users, const char *name,
			  uid_t uid, gid_t gid);

/*
 * Removes USERS->home_root/NAME and everything below it, refusing
 * (CPK_ERR_PERM) unless it is a real directory (not a symlink) owned by
 * UID.  Symbolic links inside are removed, not followed.  A home that is
 * itself a mount point, or holds one anywhere below it (another st_dev, or
 * a bind mount: another statx mount id), is refused before anything is
 * removed, so nothing on another filesystem is ever deleted.
 * CPK_ERR_NOTFOUND if absent.
 */
cpk_err_t cpk_home_remove(const struct cpk_users *users, const char *name,
			  uid_t uid);

#ifdef __cplusplus
}
#endif
#endif
