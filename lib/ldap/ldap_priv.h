/*
 * Private to the ldap module (destined for lib/ldap/ldap_priv.h): the
 * connection structure and helpers shared by conn.c, tree.c, ids.c,
 * user.c and group.c.  tools/ must not include it.
 */
#ifndef CPK_LDAP_PRIV_H
#define CPK_LDAP_PRIV_H

#include <ldap.h>		/* OpenLDAP's, from the system */

#include "cpk/ldap.h"		/* ours, beside this file */
#include "internal.h"

struct cpk_ldap_conn {
	LDAP *ld;
	char *uri;
	int tls;		/* 0 none, 1 starttls, 2 ldaps */
	int opened;		/* cpk_ldap_open has succeeded: TLS is up */
	int connected;		/* libldap made the TCP connection (conncb) */
	struct ldap_conncb conncb;	/* tells us so; libldap keeps a pointer */
	char *ca_file;		/* NULL: the system's CAs */
	char *base;		/* base_dn as configured */
	char *people;		/* people_ou,base */
	char *groups;		/* groups_ou,base */
	char *pool;		/* cn=idpool,base */
	char *pool_norm;	/* pool, normalized and lower-cased */
	char *people_ou, *groups_ou;

	int have_users;		/* the fields below come from a cpk_users */
	struct cpk_range uid_range, gid_range;
	char *shell, *home_root, *default_group;

	int lpk;		/* openssh-lpk schema: -1 unknown, 0, 1 */
	unsigned seed;		/* for the allocation back-off */

	int fail_at;		/* test hook: fail the Nth write of an add */
	int writes;
};

/* Test hook (tests only): make the Nth write of the next cpk_ldap_user_add
 * fail as if the server had refused it; 0 disables. */
CPK_INTERNAL void cpk_ldap_test_fail_at(struct cpk_ldap_conn *c, int nth);
/* Counts a write; non-zero (with the error set) when the hook fires. */
CPK_INTERNAL cpk_err_t cpk_ldap__write_hook(struct cpk_ldap_conn *c, const char *what);

/*
 * Sets the error for libldap result RC (an LDAP_* code) during WHAT
 * (printf format) and returns the mapped cpk_err_t.  The message names the
 * URI and includes the server's diagnostic message when there is one.
 */
CPK_INTERNAL cpk_err_t cpk_ldap__err(struct cpk_ldap_conn *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
CPK_INTERNAL cpk_err_t cpk_ldap__nomem(void);

/*
 * What a failed libldap call means, decided by its result code RC, whether
 * a TLS handshake was part of the call (HANDSHAKE: 0 no, TLS is not
 * configured or the connection is open; 1 TLS is configured and the
 * connection is not open yet; 2 the same, and libldap's connect callback has
 * seen the TCP connection made) and libldap's diagnostic message DIAG (may be
 * NULL), never by one TLS library's wording: Debian 12's libldap (GnuTLS)
 * and Debian 13's (OpenSSL) word the same failure differently.
 */
enum cpk_ldap_failure {
	CPK_LDAP_ANSWER,	/* the server answered with an error */
	CPK_LDAP_UNREACHABLE,	/* no connection: down, refused, unknown host */
	CPK_LDAP_TLS,		/* connected, but the TLS handshake failed */
	CPK_LDAP_TIMEOUT,	/* no answer in time */
};
CPK_INTERNAL enum cpk_ldap_failure cpk_ldap__classify(int rc, int handshake,
						      const char *diag);
/* DIAG if it tells the user something about a TLS failure, else NULL. */
CPK_INTERNAL const char *cpk_ldap__tls_detail(const char *diag);

/* One synchronous search; *RES is set (caller ldap_msgfree()s) even on
 * error.  SIZELIMIT 0: none.  Errors set with cpk_ldap__err(). */
CPK_INTERNAL cpk_err_t cpk_ldap__search(struct cpk_ldap_conn *c, const char *base,
			   int scope, const char *filter, char **attrs,
			   int sizelimit, LDAPMessage **res);

/* Paged search (RFC 2696, 500 per page) calling FN for every entry.  FN
 * returns CPK_OK to go on, or an error; *STOP = 1 ends the search early
 * without error. */
typedef cpk_err_t (*cpk_ldap_entry_fn)(struct cpk_ldap_conn *c,
				       LDAPMessage *e, void *arg, int *stop);
CPK_INTERNAL cpk_err_t cpk_ldap__paged(struct cpk_ldap_conn *c, const char *base,
			  const char *filter, char **attrs,
			  cpk_ldap_entry_fn fn, void *arg);

/* First value of ATTR as a heap string (NULL if absent: *ERR stays 0;
 * out of memory: *ERR = CPK_ERR_NOMEM). */
CPK_INTERNAL char *cpk_ldap__str(struct cpk_ldap_conn *c, LDAPMessage *e,
		    const char *attr, cpk_err_t *err);
/* Every value of ATTR as a heap array of heap strings. */
CPK_INTERNAL cpk_err_t cpk_ldap__strs(struct cpk_ldap_conn *c, LDAPMessage *e,
			 const char *attr, char ***v, size_t *n);
CPK_INTERNAL void cpk_ldap__strs_free(char **v, size_t n);
/* First value of ATTR as a number; CPK_ERR_NOTFOUND if absent,
 * CPK_ERR_INVALID if not a decimal number. */
CPK_INTERNAL cpk_err_t cpk_ldap__u64(struct cpk_ldap_conn *c, LDAPMessage *e,
			const char *attr, uint64_t *v);
/* The entry's DN (heap), NULL on out of memory. */
CPK_INTERNAL char *cpk_ldap__dn(struct cpk_ldap_conn *c, LDAPMessage *e);

/* Builds "(fmt)" with every %s argument filter-escaped: only plain %s
 * (escaped) and %llu are supported.  Returns a heap string or NULL. */
CPK_INTERNAL char *cpk_ldap__filter(const char *fmt, ...);

/* A list of modifications built step by step (values are copied).
 * Allocation failures are sticky: check ml.failed once at the end. */
struct cpk_modlist {
	LDAPMod **mods;		/* NULL-terminated once non-empty */
	size_t n;
	int failed;
};
#define CPK_MODLIST_INIT { NULL, 0, 0 }
/* Adds VALUE (LEN bytes) to a modification OP (LDAP_MOD_ADD/DELETE/
 * REPLACE) of ATTR, merging with the last one if it has the same op and
 * attribute.  VALUE NULL: the modification with no values (delete the
 * attribute / replace by nothing). */
CPK_INTERNAL void cpk_modlist_add(struct cpk_modlist *ml, int op, const char *attr,
		     const char *value, size_t len);
CPK_INTERNAL void cpk_modlist_adds(struct cpk_modlist *ml, int op, const char *attr,
		      const char *value);
/* Frees every modification; wipes the values (they may be passwords). */
CPK_INTERNAL void cpk_modlist_release(struct cpk_modlist *ml);

/* Users and groups by name.  NOTFOUND (with a message) when absent. */
CPK_INTERNAL cpk_err_t cpk_ldap__find_user(struct cpk_ldap_conn *c, const char *name,
			      char **attrs, LDAPMessage **res,
			      LDAPMessage **entry);
CPK_INTERNAL cpk_err_t cpk_ldap__find_group(struct cpk_ldap_conn *c, const char *name,
			       char **attrs, LDAPMessage **res,
			       LDAPMessage **entry);
/* Fills *U from a user entry. */
CPK_INTERNAL cpk_err_t cpk_ldap__user_from_entry(struct cpk_ldap_conn *c, LDAPMessage *e,
				    struct cpk_user *u);
extern CPK_INTERNAL char *cpk_ldap__user_attrs[];
/* Whether entry E lists object class OC (case-insensitive). */
CPK_INTERNAL int cpk_ldap__has_class(struct cpk_ldap_conn *c, LDAPMessage *e,
				     const char *oc);
/*
 * Whether user entry E is locked: shadowExpire 1 (cpk's lock), or a
 * userPassword value disabled by a lock marker: "{CRYPT}!..." (cpk's and
 * the shadow convention) or "{SCHEME}!..." (LDAP Account Manager's).
 * E must have been read with shadowExpire and userPassword.
 */
CPK_INTERNAL int cpk_ldap__entry_locked(struct cpk_ldap_conn *c, LDAPMessage *e);

/* Whether some entry other than the pool carries ATTR=VALUE. */
/* A uid and a gid from the pool in one modify (see cpk_ldap_alloc_id). */
CPK_INTERNAL cpk_err_t cpk_ldap__alloc_uid_gid(struct cpk_ldap_conn *c, uint64_t *uid,
					       uint64_t *gid);
/*
 * Claims: every id cpk gives (from the pool or explicit) is first claimed
 * by adding the entry cn=uid-N (or gid-N) under the pool (device +
 * extensibleObject, uidNumber/gidNumber N): the add is atomic, so of two
 * clients only one gets an id, whichever way each chose it.
 * claim_id: *TAKEN = 1 when the claim exists already.
 * claim_explicit: claims ID and checks no OBJECTCLASS entry already uses
 * it (entries made without claims); CPK_ERR_EXISTS "uid N is already
 * used" + WHAT otherwise.  release_id: deletes the claim (errors ignored).
 */
CPK_INTERNAL cpk_err_t cpk_ldap__claim_id(struct cpk_ldap_conn *c,
					  enum cpk_id_kind kind, uint64_t id,
					  int *taken);
CPK_INTERNAL cpk_err_t cpk_ldap__claim_explicit(struct cpk_ldap_conn *c,
						enum cpk_id_kind kind,
						uint64_t id,
						const char *objectclass,
						const char *what);
CPK_INTERNAL void cpk_ldap__release_id(struct cpk_ldap_conn *c,
				       enum cpk_id_kind kind, uint64_t id);
CPK_INTERNAL cpk_err_t cpk_ldap__id_used(struct cpk_ldap_conn *c, const char *attr,
			    uint64_t value, const char *objectclass,
			    int *used);
/* ---- checks (check.c): every writer uses these ---- */
/* An absolute path of printable ASCII without spaces or ':', <= 255 bytes. */
CPK_INTERNAL cpk_err_t cpk_ldap__check_shell(const char *s);
/* A display name / gecos text: valid UTF-8 without control characters or
 * ':', at most 255 bytes. */
CPK_INTERNAL cpk_err_t cpk_ldap__check_display(const char *s);
/* One OpenSSH public key line that cpk_ssh_key_fingerprint() parses. */
CPK_INTERNAL cpk_err_t cpk_ldap__check_key(const char *key);

/* What a display text gives each attribute (see cpk_user_spec.gecos). */
struct cpk_names {
	struct cpk_buf cn;	/* the text up to its first ',', else the name */
	struct cpk_buf sn;	/* the last word of cn */
	struct cpk_buf given;	/* cn without its last word ("": none) */
	struct cpk_buf gecos;	/* the text in ASCII (transliterated) */
	int no_gecos;		/* the text has no ASCII spelling: no gecos */
};
#define CPK_NAMES_INIT { CPK_BUF_INIT, CPK_BUF_INIT, CPK_BUF_INIT, CPK_BUF_INIT, 0 }
/* Fills OUT (CPK_NAMES_INIT) from login NAME and the checked DISPLAY text
 * (NULL or "": the login name). */
CPK_INTERNAL void cpk_ldap__names(const char *name, const char *display,
				  struct cpk_names *out);
CPK_INTERNAL int cpk_ldap__names_failed(const struct cpk_names *n);
CPK_INTERNAL void cpk_ldap__names_release(struct cpk_names *n);

/* The DN of the new personal group, user, group (heap strings). */
CPK_INTERNAL char *cpk_ldap__child_dn(const char *rdn_attr, const char *value,
			 const char *parent);

#endif
