/* create_tree: the base entry, the People and Groups OUs, the id pool. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldap_priv.h"

static cpk_err_t entry_exists(struct cpk_ldap_conn *c, const char *dn,
			      int *exists)
{
	char *attrs[] = { LDAP_NO_ATTRS, NULL };
	LDAPMessage *res = NULL;
	int rc;

	rc = ldap_search_ext_s(c->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)",
			       attrs, 0, NULL, NULL, NULL, 1, &res);
	ldap_msgfree(res);
	if (rc == LDAP_SUCCESS) {
		*exists = 1;
		return CPK_OK;
	}
	if (rc == LDAP_NO_SUCH_OBJECT) {
		*exists = 0;
		return CPK_OK;
	}
	return cpk_ldap__err(c, rc, "looking for %s", dn);
}

static cpk_err_t add_entry(struct cpk_ldap_conn *c, const char *dn,
			   struct cpk_modlist *ml, struct cpk_buf *report)
{
	int rc;

	if (ml->failed)
		return cpk_ldap__nomem();
	rc = ldap_add_ext_s(c->ld, dn, ml->mods, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		return cpk_ldap__err(c, rc, "adding %s", dn);
	if (report)
		cpk_buf_addf(report, "created %s\n", dn);
	return CPK_OK;
}

/* The attributes of a container entry named by its RDN AVA. */
static cpk_err_t container_mods(const char *dn, LDAPRDN rdn,
				struct cpk_modlist *ml)
{
	LDAPAVA *ava = rdn[0];
	const char *v;
	size_t vl;

	if (!ava || rdn[1])
		return cpk_err_set(CPK_ERR_CONFIG,
				   "cannot create %s: use a single-valued RDN, "
				   "or create it by hand", dn);
	v = ava->la_value.bv_val;
	vl = ava->la_value.bv_len;
	cpk_modlist_adds(ml, LDAP_MOD_ADD, "objectClass", "top");
	if (ava->la_attr.bv_len == 2 &&
	    !strncasecmp(ava->la_attr.bv_val, "dc", 2)) {
		cpk_modlist_adds(ml, LDAP_MOD_ADD, "objectClass", "dcObject");
		cpk_modlist_adds(ml, LDAP_MOD_ADD, "objectClass", "organization");
		cpk_modlist_add(ml, LDAP_MOD_ADD, "dc", v, vl);
		cpk_modlist_add(ml, LDAP_MOD_ADD, "o", v, vl);
	} else if (ava->la_attr.bv_len == 1 &&
		   !strncasecmp(ava->la_attr.bv_val, "o", 1)) {
		cpk_modlist_adds(ml, LDAP_MOD_ADD, "objectClass", "organization");
		cpk_modlist_add(ml, LDAP_MOD_ADD, "o", v, vl);
	} else if (ava->la_attr.bv_len == 2 &&
		   !strncasecmp(ava->la_attr.bv_val, "ou", 2)) {
		cpk_modlist_adds(ml, LDAP_MOD_ADD, "objectClass",
				 "organizationalUnit");
		cpk_modlist_add(ml, LDAP_MOD_ADD, "ou", v, vl);
	} else {
		return cpk_err_set(CPK_ERR_CONFIG,
				   "cannot create %s: only dc=, o= and ou= "
				   "entries are made; create it by hand", dn);
	}
	return CPK_OK;
}

/* Creates DN (parsed as PARSED[0]) if missing. */
static cpk_err_t ensure(struct cpk_ldap_conn *c, const char *dn,
			LDAPRDN rdn, struct cpk_buf *report)
{
	struct cpk_modlist ml = CPK_MODLIST_INIT;
	cpk_err_t r;
	int exists = 0;

	if ((r = entry_exists(c, dn, &exists)) != CPK_OK || exists)
		return r;
	if ((r = container_mods(dn, rdn, &ml)) == CPK_OK)
		r = add_entry(c, dn, &ml, report);
	cpk_modlist_release(&ml);
	return r;
}

/* Creates every missing level of RDNS (e.g. "ou=People,ou=Accounts")
 * below the base, top-down. */
static cpk_err_t ensure_levels(struct cpk_ldap_conn *c, const char *rdns,
			       struct cpk_buf *report)
{
	LDAPDN dn = NULL;
	struct cpk_buf full = CPK_BUF_INIT;
	cpk_err_t r = CPK_OK;
	int n = 0, i;

	if (ldap_str2dn(rdns, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    !dn)
		return cpk_err_set(CPK_ERR_CONFIG, "'%s' is not a valid DN", rdns);
	while (dn[n])
		n++;
	for (i = n - 1; i >= 0; i--) {
		char *tail = NULL;

		if (ldap_dn2str(&dn[i], &tail, LDAP_DN_FORMAT_LDAPV3) !=
		    LDAP_SUCCESS || !tail) {
			r = cpk_ldap__nomem();
			goto out;
		}
		cpk_buf_reset(&full);
		cpk_buf_addf(&full, "%s,%s", tail, c->base);
		ldap_memfree(tail);
		if (cpk_buf_failed(&full)) {
			r = cpk_ldap__nomem();
			goto out;
		}
		if ((r = ensure(c, full.buf, dn[i], report)) != CPK_OK)
			goto out;
	}
out:
	cpk_buf_release(&full);
	ldap_dnfree(dn);
	return r;
}

static cpk_err_t ensure_base(struct cpk_ldap_conn *c, struct cpk_buf *report)
{
	LDAPDN dn = NULL;
	cpk_err_t r;

	if (ldap_str2dn(c->base, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    !dn || !dn[0]) {
		ldap_dnfree(dn);
		return cpk_err_set(CPK_ERR_CONFIG,
				   "ldap.base_dn '%s' is not a valid DN", c->base);
	}
	r = ensure(c, c->base, dn[0], report);
	ldap_dnfree(dn);
	return r;
}

static cpk_err_t ensure_pool(struct cpk_ldap_conn *c, struct cpk_buf *report)
{
	struct cpk_modlist ml = CPK_MODLIST_INIT;
	char n[24];
	cpk_err_t r;
	int exists = 0;

	if ((r = entry_exists(c, c->pool, &exists)) != CPK_OK || exists)
		return r;
	if (!c->have_users)
		return cpk_err_set(CPK_ERR_CONFIG,
				   "cannot create the id pool %s without the "
				   "users section (uid_range, gid_range)", c->pool);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "top");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "device");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "extensibleObject");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "cn", "idpool");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "description",
			 "clusterpack id pool: uidNumber and gidNumber are the "
			 "next ids to try; change only with delete+add");
	snprintf(n, sizeof(n), "%" PRIu64, c->uid_range.lo);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "uidNumber", n);
	snprintf(n, sizeof(n), "%" PRIu64, c->gid_range.lo);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "gidNumber", n);
	r = add_entry(c, c->pool, &ml, report);
	cpk_modlist_release(&ml);
	return r;
}

cpk_err_t cpk_ldap_create_tree(struct cpk_ldap_conn *c,
			       struct cpk_buf *report)
{
	cpk_err_t r;

	if ((r = ensure_base(c, report)) != CPK_OK ||
	    (r = ensure_levels(c, c->people_ou, report)) != CPK_OK ||
	    (r = ensure_levels(c, c->groups_ou, report)) != CPK_OK ||
	    (r = ensure_pool(c, report)) != CPK_OK)
		return r;
	if (report && cpk_buf_failed(report))
		return cpk_ldap__nomem();
	return CPK_OK;
}
