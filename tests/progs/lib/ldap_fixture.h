/*
 * The fixture of the LDAP test programs (ldap_conn, ldap_accounts,
 * ldap_failpaths), run by t2000-ldap.sh against a slapd of the rig
 * (tests/rig/slapd.sh):
 *   1. ldapt_setup() reads SLAPD_URI, SLAPD_BASE, SLAPD_ROOTDN and
 *      SLAPD_ROOTPW_FILE, makes a scratch directory (removed at exit) and
 *      fills ldapt_cfg (root bind, no TLS) and ldapt_users (ids
 *      10000-19999);
 *   2. the programs open connections with ldapt_open()/ldapt_open_as()
 *      and look at the directory with the helpers below.
 * Nothing here prints a test result (tests/tap.h counts per program); a
 * fixture that cannot work prints "Bail out!" and exits.
 */
#ifndef LDAP_FIXTURE_H
#define LDAP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../../lib/ldap/ldap_priv.h"

extern struct cpk_ldap ldapt_cfg;	/* the root connection's settings */
extern struct cpk_users ldapt_users;	/* ids 10000-19999, /bin/bash */
extern const char *ldapt_base;		/* SLAPD_BASE */
/* two well-formed ed25519 public keys */
extern const char *const ldapt_key1, *const ldapt_key2;

void ldapt_setup(void);
/* The value of environment variable NAME; "Bail out!" if it is unset. */
const char *ldapt_env(const char *name);
/* Monotonic seconds. */
double ldapt_now(void);
/* Writes LEN bytes to a new file NAME in the scratch directory with MODE;
 * returns its path, valid until 16 more calls. */
char *ldapt_put_file(const char *name, const char *data, size_t len,
		     mode_t mode);
/* The whole file at PATH (heap), NULL if it cannot be read. */
char *ldapt_read_all(const char *path);

/* A connection with the settings L and ldapt_users; *R says why not. */
struct cpk_ldap_conn *ldapt_open(const struct cpk_ldap *l, cpk_err_t *r);
/* A connection bound as DN with PASSWORD (NULL: the root connection). */
struct cpk_ldap_conn *ldapt_open_as(const char *dn, const char *password,
				    cpk_err_t *r);
/* Runs ldapadd as the rootdn with LDIF on its standard input; its status. */
int ldapt_ldapadd(const char *ldif);

/* The message of a failure, "ok" for a success (the message of an older
 * failure stays until the next one). */
const char *ldapt_why(cpk_err_t r);
/* Whether the library's last message contains NEEDLE. */
int ldapt_has_msg(const char *needle);

int ldapt_user_exists(struct cpk_ldap_conn *c, const char *name);
int ldapt_group_exists(struct cpk_ldap_conn *c, const char *name);
/* 1 if USER is a memberUid of GROUP, 0 if not, -1 if GROUP is not shown. */
int ldapt_is_member(struct cpk_ldap_conn *c, const char *group,
		    const char *user);
/* Value INDEX of ATTR of entry DN (raw, through the connection; heap). */
char *ldapt_raw_attr(struct cpk_ldap_conn *c, const char *dn,
		     const char *attr, int index);
/* The number ATTR (uidNumber, gidNumber) of the id pool entry. */
uint64_t ldapt_pool_value(struct cpk_ldap_conn *c, const char *attr);

/* A cpk_ldap_user_list callback counting users, keeping their uids in
 * IDS (up to CAP), stopping at STOP_AT (0: never). */
struct ldapt_counter {
	int n;
	int stop_at;
	uint64_t *ids;
	size_t cap;
};
int ldapt_count_cb(const struct cpk_user *u, void *arg);
/* How many users cpk_ldap_user_list lists for GECOS; -1 if it failed. */
int ldapt_count_users(struct cpk_ldap_conn *c, const char *gecos);
/* Sorts the N ids of V; how many equal their predecessor. */
size_t ldapt_duplicates(uint64_t *v, size_t n);

#endif
