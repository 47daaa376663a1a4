/* uid/gid allocation from the pool entry (see ldap.h). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ldap_priv.h"

#define MAX_ATTEMPTS 500

static int same_dn(struct cpk_ldap_conn *c, LDAPMessage *e, const char *norm)
{
	char *dn = ldap_get_dn(c->ld, e), *n = NULL;
	int same = 0;
	size_t i;

	if (dn && ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &n,
				    LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS && n) {
		for (i = 0; n[i]; i++)
			n[i] = (char)tolower((unsigned char)n[i]);
		same = !strcmp(n, norm);
	}
	ldap_memfree(n);
	ldap_memfree(dn);
	return same;
}

cpk_err_t cpk_ldap__id_used(struct cpk_ldap_conn *c, const char *attr,
			    uint64_t value, const char *objectclass,
			    int *used)
{
	char *attrs[] = { LDAP_NO_ATTRS, NULL };
	LDAPMessage *res = NULL, *e;
	char *filter;
	cpk_err_t r;

	*used = 0;
	if (objectclass)
		filter = cpk_ldap__filter("(&(objectClass=%s)(%s=%llu))",
					  objectclass, attr,
					  (unsigned long long)value);
	else
		filter = cpk_ldap__filter("(%s=%llu)", attr,
					  (unsigned long long)value);
	if (!filter)
		return cpk_ldap__nomem();
	r = cpk_ldap__search(c, c->base, LDAP_SCOPE_SUBTREE, filter, attrs, 3,
			     &res);
	for (e = r == CPK_OK ? ldap_first_entry(c->ld, res) : NULL; e;
	     e = ldap_next_entry(c->ld, e))
		if (!same_dn(c, e, c->pool_norm))
			*used = 1;
	ldap_msgfree(res);
	free(filter);
	return r;
}

static void backoff(struct cpk_ldap_conn *c, int attempt)
{
	int span = 1000 * (attempt < 10 ? attempt + 1 : 10);	/* us */
	long us = rand_r(&c->seed) % span;
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

cpk_err_t cpk_ldap_alloc_id(struct cpk_ldap_conn *c, enum cpk_id_kind kind,
			    uint64_t *id)
{
	const char *attr = kind == CPK_ID_UID ? "uidNumber" : "gidNumber";
	const char *what = kind == CPK_ID_UID ? "uid" : "gid";
	char *attrs[] = { (char *)attr, NULL };
	LDAPMessage *res = NULL, *e;
	struct cpk_modlist ml = CPK_MODLIST_INIT;
	struct cpk_range range;
	cpk_err_t r = CPK_OK;
	int attempt, rc;

	if (!c->have_users)
		return cpk_err_set(CPK_ERR_CONFIG,
				   "no users section: no %s range to allocate from",
				   what);
	range = kind == CPK_ID_UID ? c->uid_range : c->gid_range;
	for (attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		uint64_t next, cand;
		char oldv[24], newv[24];
		int used;

		rc = ldap_search_ext_s(c->ld, c->pool, LDAP_SCOPE_BASE,
				       "(objectClass=*)", attrs, 0, NULL, NULL,
				       NULL, 1, &res);
		if (rc == LDAP_NO_SUCH_OBJECT) {
			r = cpk_err_set(CPK_ERR_NOTFOUND,
					"%s: the id pool %s does not exist: "
					"initialize the directory first",
					c->uri, c->pool);
			goto out;
		}
		if (rc != LDAP_SUCCESS) {
			r = cpk_ldap__err(c, rc, "reading the id pool %s", c->pool);
			goto out;
		}
		e = ldap_first_entry(c->ld, res);
		if (!e || (r = cpk_ldap__u64(c, e, attr, &next)) != CPK_OK) {
			r = cpk_err_set(CPK_ERR_INVALID,
					"%s: the id pool %s has no usable %s",
					c->uri, c->pool, attr);
			goto out;
		}
		ldap_msgfree(res);
		res = NULL;
		/* skip what entries made elsewhere already use */
		for (cand = next < range.lo ? range.lo : next;; cand++) {
			if (cand > range.hi) {
				r = cpk_err_set(CPK_ERR_INVALID,
						"no free %s left: users.%s_range "
						"%" PRIu64 "-%" PRIu64 " is "
						"exhausted (the pool %s is at "
						"%" PRIu64 "); widen the range",
						what, what, range.lo, range.hi,
						c->pool, next);
				goto out;
			}
			r = cpk_ldap__id_used(c, attr, cand, NULL, &used);
			if (r != CPK_OK)
				goto out;
			if (!used)
				break;
		}
		/* one modify: delete the value we read, add the next one;
		 * if someone moved it meanwhile the delete fails (16) */
		snprintf(oldv, sizeof(oldv), "%" PRIu64, next);
		snprintf(newv, sizeof(newv), "%" PRIu64, cand + 1);
		cpk_modlist_adds(&ml, LDAP_MOD_DELETE, attr, oldv);
		cpk_modlist_adds(&ml, LDAP_MOD_ADD, attr, newv);
		if (ml.failed) {
			r = cpk_ldap__nomem();
			goto out;
		}
		rc = ldap_modify_ext_s(c->ld, c->pool, ml.mods, NULL, NULL);
		cpk_modlist_release(&ml);
		if (rc == LDAP_SUCCESS) {
			*id = cand;
			goto out;
		}
		if (rc != LDAP_NO_SUCH_ATTRIBUTE) {
			r = cpk_ldap__err(c, rc, "updating the id pool %s",
					  c->pool);
			goto out;
		}
		backoff(c, attempt);
	}
	r = cpk_err_set(CPK_ERR_IO,
			"%s: could not take a %s from %s after %d attempts "
			"(too many clients at once?)", c->uri, what, c->pool,
			MAX_ATTEMPTS);
out:
	cpk_modlist_release(&ml);
	ldap_msgfree(res);
	return r;
}
