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

/* The claim entry of ID: cn=uid-N or cn=gid-N under the pool (heap). */
static char *claim_dn(struct cpk_ldap_conn *c, enum cpk_id_kind kind,
		      uint64_t id)
{
	struct cpk_buf b = CPK_BUF_INIT;

	cpk_buf_addf(&b, "cn=%s-%" PRIu64 ",%s", kind == CPK_ID_UID ? "uid" :
		     "gid", id, c->pool);
	if (cpk_buf_failed(&b)) {
		cpk_buf_release(&b);
		return NULL;
	}
	return cpk_buf_detach(&b, NULL);
}

cpk_err_t cpk_ldap__claim_id(struct cpk_ldap_conn *c, enum cpk_id_kind kind,
			     uint64_t id, int *taken)
{
	const char *attr = kind == CPK_ID_UID ? "uidNumber" : "gidNumber";
	struct cpk_modlist ml = CPK_MODLIST_INIT;
	char n[24], cn[32], *dn = claim_dn(c, kind, id);
	cpk_err_t r = CPK_OK;
	int rc;

	*taken = 0;
	snprintf(n, sizeof(n), "%" PRIu64, id);
	snprintf(cn, sizeof(cn), "%s-%" PRIu64, kind == CPK_ID_UID ? "uid" :
		 "gid", id);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "device");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "extensibleObject");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "cn", cn);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, attr, n);
	if (!dn || ml.failed) {
		r = cpk_ldap__nomem();
		goto out;
	}
	rc = ldap_add_ext_s(c->ld, dn, ml.mods, NULL, NULL);
	if (rc == LDAP_ALREADY_EXISTS)
		*taken = 1;
	else if (rc == LDAP_NO_SUCH_OBJECT)
		r = cpk_err_set(CPK_ERR_NOTFOUND, "%s: the id pool %s does not "
				"exist: initialize the directory first",
				c->uri, c->pool);
	else if (rc != LDAP_SUCCESS)
		r = cpk_ldap__err(c, rc, "claiming %s %s", attr, n);
out:
	cpk_modlist_release(&ml);
	free(dn);
	return r;
}

void cpk_ldap__release_id(struct cpk_ldap_conn *c, enum cpk_id_kind kind,
			  uint64_t id)
{
	char *dn = claim_dn(c, kind, id);

	if (dn)
		(void)ldap_delete_ext_s(c->ld, dn, NULL, NULL);
	free(dn);
}

/* "YYYYMMDDHHMMSS[.f]Z" (generalized time, UTC) -> seconds; -1 if not. */
static time_t gentime(const char *s)
{
	struct tm tm;
	int v[6], i, k, w[6] = { 4, 2, 2, 2, 2, 2 };

	for (i = 0; i < 6; i++)
		for (v[i] = 0, k = 0; k < w[i]; k++, s++) {
			if (*s < '0' || *s > '9')
				return -1;
			v[i] = v[i] * 10 + (*s - '0');
		}
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	if (strcmp(s, "Z") || v[1] < 1 || v[1] > 12 || v[2] < 1 ||
	    v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	return timegm(&tm);
}

/*
 * A claim no entry uses is left by an add or delete that was stopped
 * between its steps, or belongs to an add still under way (claim first,
 * entry next, within a second).  One older than CLAIM_STALE_S is taken
 * over: deleted, then claimed again by one atomic add (a racing taker
 * gets "exists").  *STALE: taken over; else *SINCE (0: unknown) is when
 * the claim was made.
 */
#define CLAIM_STALE_S 600
static cpk_err_t take_stale_claim(struct cpk_ldap_conn *c,
				  enum cpk_id_kind kind, uint64_t id,
				  int *stale, time_t *since)
{
	char *attrs[] = { "createTimestamp", NULL };
	char *dn = claim_dn(c, kind, id), *ts = NULL;
	LDAPMessage *res = NULL, *e;
	cpk_err_t r = CPK_OK;
	int taken = 0, rc;

	*stale = 0;
	*since = 0;
	if (!dn)
		return cpk_ldap__nomem();
	r = cpk_ldap__search(c, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs,
			     1, &res);
	if (r == CPK_OK && (e = ldap_first_entry(c->ld, res)))
		ts = cpk_ldap__str(c, e, "createTimestamp", &r);
	if (r != CPK_OK || !ts || (*since = gentime(ts)) < 0 ||
	    time(NULL) - *since < CLAIM_STALE_S) {
		if (*since < 0)
			*since = 0;
		goto out;
	}
	rc = ldap_delete_ext_s(c->ld, dn, NULL, NULL);
	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
		r = cpk_ldap__err(c, rc, "removing the stale claim %s", dn);
		goto out;
	}
	if ((r = cpk_ldap__claim_id(c, kind, id, &taken)) == CPK_OK)
		*stale = !taken;
out:
	ldap_msgfree(res);
	free(ts);
	free(dn);
	return r;
}

cpk_err_t cpk_ldap__claim_explicit(struct cpk_ldap_conn *c,
				   enum cpk_id_kind kind, uint64_t id,
				   const char *objectclass, const char *what)
{
	const char *attr = kind == CPK_ID_UID ? "uidNumber" : "gidNumber";
	const char *idw = kind == CPK_ID_UID ? "uid" : "gid";
	cpk_err_t r;
	int taken = 0, used = 0, stale = 0;
	time_t since = 0;
	char when[32];

	if ((r = cpk_ldap__claim_id(c, kind, id, &taken)) != CPK_OK)
		return r;
	/* entries made without a claim (by hand, other tools, older cpk),
	 * and whether a claim is still someone's */
	if ((r = cpk_ldap__id_used(c, attr, id, objectclass, &used)) != CPK_OK) {
		if (!taken)
			cpk_ldap__release_id(c, kind, id);
		return r;
	}
	if (used && !taken)
		cpk_ldap__release_id(c, kind, id);
	if (used)
		return cpk_err_set(CPK_ERR_EXISTS, "%s %" PRIu64 " is already "
				   "used%s", idw, id, what);
	if (!taken)
		return CPK_OK;
	if ((r = take_stale_claim(c, kind, id, &stale, &since)) != CPK_OK)
		return r;
	if (stale)
		return CPK_OK;
	when[0] = 0;
	if (since) {
		struct tm tm;

		if (gmtime_r(&since, &tm))
			strftime(when, sizeof(when), " at %Y-%m-%d %H:%M:%S UTC",
				 &tm);
	}
	return cpk_err_set(CPK_ERR_EXISTS, "%s %" PRIu64 " is claimed by "
			   "another add under way (claim %s-%" PRIu64 " made%s;"
			   " one no entry uses is taken over after %d "
			   "minutes)", idw, id, idw, id, when,
			   CLAIM_STALE_S / 60);
}

static void backoff(struct cpk_ldap_conn *c, int attempt)
{
	int span = 1000 * (attempt < 10 ? attempt + 1 : 10);	/* us */
	long us = rand_r(&c->seed) % span;
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

/*
 * Takes the next free number of each attribute of KINDS (N of them, 1 or
 * 2) from the pool with ONE modify that deletes the values read and adds
 * the next ones: a concurrent taker makes the delete fail (16) and we try
 * again.  One modify for uid and gid halves the pool's synced writes.
 */
static cpk_err_t alloc_ids(struct cpk_ldap_conn *c, const enum cpk_id_kind *kinds,
			   size_t n, uint64_t *ids)
{
	char *attrs[3] = { NULL, NULL, NULL };
	LDAPMessage *res = NULL, *e;
	struct cpk_modlist ml = CPK_MODLIST_INIT;
	cpk_err_t r = CPK_OK;
	int attempt, rc;
	size_t k;

	for (k = 0; k < n; k++)
		attrs[k] = kinds[k] == CPK_ID_UID ? "uidNumber" : "gidNumber";
	if (!c->have_users)
		return cpk_err_set(CPK_ERR_CONFIG,
				   "no users section: no %s range to allocate from",
				   kinds[0] == CPK_ID_UID ? "uid" : "gid");
	for (attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		uint64_t next[2], cand[2];

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
		for (k = 0; k < n; k++) {
			const char *what = kinds[k] == CPK_ID_UID ? "uid" : "gid";
			struct cpk_range range = kinds[k] == CPK_ID_UID ?
						 c->uid_range : c->gid_range;
			char oldv[24], newv[24];
			int used;

			if (!e || cpk_ldap__u64(c, e, attrs[k], &next[k]) != CPK_OK) {
				r = cpk_err_set(CPK_ERR_INVALID,
						"%s: the id pool %s has no usable %s",
						c->uri, c->pool, attrs[k]);
				goto out;
			}
			/* skip what entries made elsewhere already use */
			for (cand[k] = next[k] < range.lo ? range.lo : next[k];;
			     cand[k]++) {
				if (cand[k] > range.hi) {
					r = cpk_err_set(CPK_ERR_INVALID,
							"no free %s left: users.%s_range "
							"%" PRIu64 "-%" PRIu64 " is "
							"exhausted (the pool %s is at "
							"%" PRIu64 "); widen the range",
							what, what, range.lo, range.hi,
							c->pool, next[k]);
					goto out;
				}
				r = cpk_ldap__id_used(c, attrs[k], cand[k], NULL, &used);
				if (r != CPK_OK)
					goto out;
				if (!used)
					break;
			}
			snprintf(oldv, sizeof(oldv), "%" PRIu64, next[k]);
			snprintf(newv, sizeof(newv), "%" PRIu64, cand[k] + 1);
			cpk_modlist_adds(&ml, LDAP_MOD_DELETE, attrs[k], oldv);
			cpk_modlist_adds(&ml, LDAP_MOD_ADD, attrs[k], newv);
		}
		ldap_msgfree(res);
		res = NULL;
		if (ml.failed) {
			r = cpk_ldap__nomem();
			goto out;
		}
		rc = ldap_modify_ext_s(c->ld, c->pool, ml.mods, NULL, NULL);
		cpk_modlist_release(&ml);
		if (rc == LDAP_SUCCESS) {
			/* ours now, unless an explicit --uid/--gid claimed
			 * one since we looked: then take the next ones */
			int taken = 0;

			for (k = 0; k < n && !taken; k++) {
				r = cpk_ldap__claim_id(c, kinds[k], cand[k], &taken);
				if (r != CPK_OK || taken) {
					while (k-- > 0)
						cpk_ldap__release_id(c, kinds[k], cand[k]);
					if (r != CPK_OK)
						goto out;
					break;
				}
			}
			if (taken)
				continue;
			for (k = 0; k < n; k++)
				ids[k] = cand[k];
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
			"%s: could not take ids from %s after %d attempts "
			"(too many clients at once?)", c->uri, c->pool,
			MAX_ATTEMPTS);
out:
	cpk_modlist_release(&ml);
	ldap_msgfree(res);
	return r;
}

cpk_err_t cpk_ldap_alloc_id(struct cpk_ldap_conn *c, enum cpk_id_kind kind,
			    uint64_t *id)
{
	return alloc_ids(c, &kind, 1, id);
}

cpk_err_t cpk_ldap__alloc_uid_gid(struct cpk_ldap_conn *c, uint64_t *uid,
				  uint64_t *gid)
{
	static const enum cpk_id_kind both[2] = { CPK_ID_UID, CPK_ID_GID };
	uint64_t ids[2];
	cpk_err_t r = alloc_ids(c, both, 2, ids);

	if (r == CPK_OK) {
		*uid = ids[0];
		*gid = ids[1];
	}
	return r;
}
