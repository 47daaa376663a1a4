/* Groups: posixGroup with memberUid (RFC 2307, as Debian ships it). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldap_priv.h"

static char *group_attrs[] = { "cn", "gidNumber", "description", "memberUid",
			       NULL };

void cpk_group_release(struct cpk_group *g)
{
	if (!g)
		return;
	free(g->name);
	free(g->dn);
	free(g->description);
	cpk_ldap__strs_free(g->members, g->n_members);
	memset(g, 0, sizeof(*g));
}

static cpk_err_t group_from_entry(struct cpk_ldap_conn *c, LDAPMessage *e,
				  struct cpk_group *g)
{
	cpk_err_t r = CPK_OK;

	memset(g, 0, sizeof(*g));
	if (!(g->dn = cpk_ldap__dn(c, e))) {
		r = cpk_ldap__nomem();
		goto out;
	}
	g->name = cpk_ldap__str(c, e, "cn", &r);
	g->description = cpk_ldap__str(c, e, "description", &r);
	if (r != CPK_OK)
		goto out;
	if (!g->name) {
		r = cpk_err_set(CPK_ERR_INVALID, "%s: %s has no cn", c->uri, g->dn);
		goto out;
	}
	if ((r = cpk_ldap__u64(c, e, "gidNumber", &g->gid)) != CPK_OK) {
		r = cpk_err_set(r, "group %s: %s", g->dn, cpk_errmsg());
		goto out;
	}
	r = cpk_ldap__strs(c, e, "memberUid", &g->members, &g->n_members);
out:
	if (r != CPK_OK)
		cpk_group_release(g);
	return r;
}

cpk_err_t cpk_ldap_group_add(struct cpk_ldap_conn *c, const char *name,
			     uint64_t gid, uint64_t *gid_out)
{
	char *noattrs[] = { LDAP_NO_ATTRS, NULL };
	struct cpk_modlist ml = CPK_MODLIST_INIT;
	LDAPMessage *res = NULL, *e;
	char *dn = NULL, n[24];
	uint64_t claimed = 0;
	cpk_err_t r;
	int rc;

	if ((r = cpk_name_check(name)) != CPK_OK)
		goto out;
	if (gid > 0xfffffffeULL) {
		r = cpk_err_set(CPK_ERR_INVALID, "gid %" PRIu64 " is out of range",
				gid);
		goto out;
	}
	r = cpk_ldap__find_group(c, name, noattrs, &res, &e);
	if (r == CPK_OK) {
		r = cpk_err_set(CPK_ERR_EXISTS, "group %s already exists", name);
		goto out;
	}
	if (r != CPK_ERR_NOTFOUND)
		goto out;
	if (gid)	/* claimed either way (see ids.c) */
		r = cpk_ldap__claim_explicit(c, CPK_ID_GID, gid, "posixGroup",
					     " by another group");
	else
		r = cpk_ldap_alloc_id(c, CPK_ID_GID, &gid);
	if (r != CPK_OK)
		goto out;
	claimed = gid;
	if (!(dn = cpk_ldap__child_dn("cn", name, c->groups))) {
		r = cpk_ldap__nomem();
		goto out;
	}
	snprintf(n, sizeof(n), "%" PRIu64, gid);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "top");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "posixGroup");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "cn", name);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "gidNumber", n);
	if (ml.failed) {
		r = cpk_ldap__nomem();
		goto out;
	}
	rc = ldap_add_ext_s(c->ld, dn, ml.mods, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		r = cpk_ldap__err(c, rc, "adding group %s", dn);
		goto out;
	}
	if (gid_out)
		*gid_out = gid;
	claimed = 0;
out:
	if (claimed)
		cpk_ldap__release_id(c, CPK_ID_GID, claimed);
	ldap_msgfree(res);
	cpk_modlist_release(&ml);
	free(dn);
	return r;
}

cpk_err_t cpk_ldap_group_del(struct cpk_ldap_conn *c, const char *name)
{
	char *gattrs[] = { "gidNumber", NULL };
	char *uattrs[] = { "uid", NULL };
	LDAPMessage *res = NULL, *e;
	char *dn = NULL, *filter = NULL, *user = NULL;
	uint64_t gid;
	cpk_err_t r;
	int rc;

	if ((r = cpk_name_check(name)) != CPK_OK)
		goto out;
	if ((r = cpk_ldap__find_group(c, name, gattrs, &res, &e)) != CPK_OK)
		goto out;
	if ((r = cpk_ldap__u64(c, e, "gidNumber", &gid)) != CPK_OK)
		goto out;
	if (!(dn = cpk_ldap__dn(c, e))) {
		r = cpk_ldap__nomem();
		goto out;
	}
	ldap_msgfree(res);
	res = NULL;
	filter = cpk_ldap__filter("(&(objectClass=posixAccount)(gidNumber=%llu))",
				  (unsigned long long)gid);
	if (!filter) {
		r = cpk_ldap__nomem();
		goto out;
	}
	r = cpk_ldap__search(c, c->base, LDAP_SCOPE_SUBTREE, filter, uattrs, 1,
			     &res);
	if (r != CPK_OK)
		goto out;
	if ((e = ldap_first_entry(c->ld, res))) {
		user = cpk_ldap__str(c, e, "uid", &r);
		r = cpk_err_set(CPK_ERR_INVALID, "group %s (gid %" PRIu64 ") is "
				"the primary group of user %s: change or delete "
				"that user first", name, gid, user ? user : "?");
		goto out;
	}
	rc = ldap_delete_ext_s(c->ld, dn, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		r = cpk_ldap__err(c, rc, "deleting group %s", dn);
	else	/* its gid may be given again explicitly */
		cpk_ldap__release_id(c, CPK_ID_GID, gid);
out:
	ldap_msgfree(res);
	free(filter);
	free(user);
	free(dn);
	return r;
}

cpk_err_t cpk_ldap_group_show(struct cpk_ldap_conn *c, const char *name,
			      struct cpk_group *out)
{
	LDAPMessage *res = NULL, *e;
	cpk_err_t r;

	memset(out, 0, sizeof(*out));
	if ((r = cpk_name_check(name)) == CPK_OK &&
	    (r = cpk_ldap__find_group(c, name, group_attrs, &res, &e)) == CPK_OK)
		r = group_from_entry(c, e, out);
	ldap_msgfree(res);
	return r;
}

struct list_ctx {
	cpk_group_cb cb;
	void *arg;
};

static cpk_err_t list_one(struct cpk_ldap_conn *c, LDAPMessage *e, void *arg,
			  int *stop)
{
	struct list_ctx *lc = arg;
	struct cpk_group g;
	cpk_err_t r;

	if ((r = group_from_entry(c, e, &g)) != CPK_OK)
		return r;
	*stop = lc->cb(&g, lc->arg) != 0;
	cpk_group_release(&g);
	return CPK_OK;
}

cpk_err_t cpk_ldap_group_list(struct cpk_ldap_conn *c, cpk_group_cb cb,
			      void *arg)
{
	struct list_ctx lc = { cb, arg };

	return cpk_ldap__paged(c, c->base, "(objectClass=posixGroup)",
			       group_attrs, list_one, &lc);
}

/* The DN of group GROUP after checking both names (and USER's entry when
 * NEED_USER). */
static cpk_err_t member_target(struct cpk_ldap_conn *c, const char *group,
			       const char *user, int need_user, char **dn)
{
	char *noattrs[] = { LDAP_NO_ATTRS, NULL };
	LDAPMessage *res = NULL, *e;
	cpk_err_t r;

	*dn = NULL;
	if ((r = cpk_name_check(group)) != CPK_OK ||
	    (r = cpk_name_check(user)) != CPK_OK)
		return r;
	if (need_user) {
		r = cpk_ldap__find_user(c, user, noattrs, &res, &e);
		ldap_msgfree(res);
		res = NULL;
		if (r != CPK_OK)
			return r;
	}
	r = cpk_ldap__find_group(c, group, noattrs, &res, &e);
	if (r == CPK_OK && !(*dn = cpk_ldap__dn(c, e)))
		r = cpk_ldap__nomem();
	ldap_msgfree(res);
	return r;
}

static cpk_err_t change_member(struct cpk_ldap_conn *c, const char *group,
			       const char *user, int add)
{
	char *vals[] = { (char *)user, NULL };
	LDAPMod mod = { add ? LDAP_MOD_ADD : LDAP_MOD_DELETE, "memberUid",
			{ vals } };
	LDAPMod *mods[] = { &mod, NULL };
	char *dn = NULL;
	cpk_err_t r;
	int rc;

	if ((r = member_target(c, group, user, add, &dn)) != CPK_OK)
		goto out;
	rc = ldap_modify_ext_s(c->ld, dn, mods, NULL, NULL);
	if (add && rc == LDAP_TYPE_OR_VALUE_EXISTS)
		r = cpk_err_set(CPK_ERR_EXISTS, "user %s is already a member of "
				"group %s", user, group);
	else if (!add && rc == LDAP_NO_SUCH_ATTRIBUTE)
		r = cpk_err_set(CPK_ERR_NOTFOUND, "user %s is not a member of "
				"group %s", user, group);
	else if (rc != LDAP_SUCCESS)
		r = cpk_ldap__err(c, rc, "%s memberUid %s %s %s",
				  add ? "adding" : "removing", user,
				  add ? "to" : "from", dn);
out:
	free(dn);
	return r;
}

cpk_err_t cpk_ldap_group_add_member(struct cpk_ldap_conn *c,
				    const char *group, const char *user)
{
	return change_member(c, group, user, 1);
}

cpk_err_t cpk_ldap_group_remove_member(struct cpk_ldap_conn *c,
				       const char *group, const char *user)
{
	return change_member(c, group, user, 0);
}
