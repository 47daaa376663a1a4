/* Users: posixAccount + shadowAccount + inetOrgPerson (+ ldapPublicKey). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldap_priv.h"

#define PASSWORD_MAX 4096

char *cpk_ldap__user_attrs[] = {
	"uid", "cn", "gecos", "homeDirectory", "loginShell", "uidNumber",
	"gidNumber", "shadowExpire", "userPassword", "sshPublicKey", NULL
};

void cpk_user_release(struct cpk_user *u)
{
	if (!u)
		return;
	free(u->name);
	free(u->dn);
	free(u->cn);
	free(u->gecos);
	free(u->home);
	free(u->shell);
	cpk_ldap__strs_free(u->ssh_keys, u->n_ssh_keys);
	cpk_ldap__strs_free(u->groups, u->n_groups);
	memset(u, 0, sizeof(*u));
}

cpk_err_t cpk_ldap__user_from_entry(struct cpk_ldap_conn *c, LDAPMessage *e,
				    struct cpk_user *u)
{
	cpk_err_t r = CPK_OK;

	memset(u, 0, sizeof(*u));
	u->dn = cpk_ldap__dn(c, e);
	if (!u->dn) {
		r = cpk_ldap__nomem();
		goto out;
	}
	u->name = cpk_ldap__str(c, e, "uid", &r);
	u->cn = cpk_ldap__str(c, e, "cn", &r);
	u->gecos = cpk_ldap__str(c, e, "gecos", &r);
	u->home = cpk_ldap__str(c, e, "homeDirectory", &r);
	u->shell = cpk_ldap__str(c, e, "loginShell", &r);
	if (r != CPK_OK)
		goto out;
	if (!u->name) {
		r = cpk_err_set(CPK_ERR_INVALID, "%s: %s has no uid", c->uri,
				u->dn);
		goto out;
	}
	u->locked = cpk_ldap__entry_locked(c, e);
	if ((r = cpk_ldap__u64(c, e, "uidNumber", &u->uid)) != CPK_OK ||
	    (r = cpk_ldap__u64(c, e, "gidNumber", &u->gid)) != CPK_OK) {
		r = cpk_err_set(r, "%s: user %s: %s", c->uri, u->dn,
				cpk_errmsg());
		goto out;
	}
	r = cpk_ldap__strs(c, e, "sshPublicKey", &u->ssh_keys, &u->n_ssh_keys);
out:
	if (r != CPK_OK)
		cpk_user_release(u);
	return r;
}

/* Finds the one entry with objectClass OC and ATTR=NAME under the base. */
static cpk_err_t find_one(struct cpk_ldap_conn *c, const char *oc,
			  const char *attr, const char *what,
			  const char *name, char **attrs, LDAPMessage **res,
			  LDAPMessage **entry)
{
	char *filter = cpk_ldap__filter("(&(objectClass=%s)(%s=%s))", oc,
					attr, name);
	cpk_err_t r;
	int n;

	*entry = NULL;
	*res = NULL;
	if (!filter)
		return cpk_ldap__nomem();
	r = cpk_ldap__search(c, c->base, LDAP_SCOPE_SUBTREE, filter, attrs, 2,
			     res);
	if (r == CPK_ERR_NOTFOUND)	/* the base itself is missing */
		r = cpk_err_set(r, "no such %s '%s' (%s)", what, name,
				cpk_errmsg());
	if (r != CPK_OK)
		goto out;
	n = ldap_count_entries(c->ld, *res);
	if (n == 0) {
		r = cpk_err_set(CPK_ERR_NOTFOUND, "no such %s '%s' under %s",
				what, name, c->base);
		goto out;
	}
	if (n > 1) {
		r = cpk_err_set(CPK_ERR_INVALID,
				"%s: more than one %s entry has %s=%s under %s",
				c->uri, oc, attr, name, c->base);
		goto out;
	}
	*entry = ldap_first_entry(c->ld, *res);
out:
	free(filter);
	return r;
}

cpk_err_t cpk_ldap__find_user(struct cpk_ldap_conn *c, const char *name,
			      char **attrs, LDAPMessage **res,
			      LDAPMessage **entry)
{
	return find_one(c, "posixAccount", "uid", "user", name, attrs, res,
			entry);
}

cpk_err_t cpk_ldap__find_group(struct cpk_ldap_conn *c, const char *name,
			       char **attrs, LDAPMessage **res,
			       LDAPMessage **entry)
{
	return find_one(c, "posixGroup", "cn", "group", name, attrs, res, entry);
}

/* ---- checks ---------------------------------------------------------- */

/* Keys need the openssh-lpk schema (their syntax: cpk_user_spec_check). */
static cpk_err_t check_lpk(struct cpk_ldap_conn *c, size_t n)
{
	cpk_err_t r;
	int has = 0;

	if (!n)
		return CPK_OK;
	if ((r = cpk_ldap_has_ssh_keys(c, &has)) != CPK_OK)
		return r;
	if (!has)
		return cpk_err_set(CPK_ERR_INVALID,
				   "%s: the server has no openssh-lpk schema "
				   "(objectClass ldapPublicKey): ssh keys cannot "
				   "be stored", c->uri);
	return CPK_OK;
}

/* ---- add ------------------------------------------------------------- */

struct add_state {
	char *udn, *pdn;	/* user DN, personal group DN */
	char **sup;		/* DNs of the supplementary groups */
	int *sup_done;		/* memberUid added by us (to undo) */
	size_t n_sup;
	int user_done, personal_done;
	uint64_t uid_claim, gid_claim;	/* ids claimed by this add, or 0 */
};

/*
 * Adds the entry DN (a KIND: "user", "group") with the attributes of ML,
 * unless building them ran out of memory (ML failed, or FAILED); WHAT
 * names the write for the test hook.
 */
static cpk_err_t add_entry(struct cpk_ldap_conn *c, const char *dn,
			   const struct cpk_modlist *ml, int failed,
			   const char *what, const char *kind)
{
	cpk_err_t r;
	int rc;

	if (ml->failed || failed)
		return cpk_ldap__nomem();
	if ((r = cpk_ldap__write_hook(c, what)) != CPK_OK)
		return r;
	rc = ldap_add_ext_s(c->ld, dn, ml->mods, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		return cpk_ldap__err(c, rc, "adding %s %s", kind, dn);
	return CPK_OK;
}

static cpk_err_t write_personal_group(struct cpk_ldap_conn *c,
				      struct add_state *st, const char *name,
				      uint64_t gid)
{
	struct cpk_modlist ml = CPK_MODLIST_INIT;
	struct cpk_buf desc = CPK_BUF_INIT;
	char n[24];
	cpk_err_t r;

	snprintf(n, sizeof(n), "%" PRIu64, gid);
	cpk_buf_addf(&desc, "personal group of %s", name);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "top");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "posixGroup");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "cn", name);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "gidNumber", n);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "description", desc.buf);
	r = add_entry(c, st->pdn, &ml, cpk_buf_failed(&desc),
		      "adding the personal group", "group");
	st->personal_done = r == CPK_OK;
	cpk_modlist_release(&ml);
	cpk_buf_release(&desc);
	return r;
}

static cpk_err_t write_user(struct cpk_ldap_conn *c, struct add_state *st,
			    const struct cpk_user_spec *s, uint64_t uid,
			    uint64_t gid)
{
	struct cpk_modlist ml = CPK_MODLIST_INIT;
	struct cpk_names nm = CPK_NAMES_INIT;
	struct cpk_buf home = CPK_BUF_INIT;
	char u[24], g[24];
	cpk_err_t r;
	size_t i;

	cpk_ldap__names(s->name, s->gecos, &nm);
	cpk_buf_addf(&home, "%s/%s",
		     strcmp(c->home_root, "/") ? c->home_root : "", s->name);
	snprintf(u, sizeof(u), "%" PRIu64, uid);
	snprintf(g, sizeof(g), "%" PRIu64, gid);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "top");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "inetOrgPerson");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "posixAccount");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "shadowAccount");
	if (s->n_ssh_keys)
		cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass",
				 "ldapPublicKey");
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "uid", s->name);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "cn", nm.cn.buf);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "sn", nm.sn.buf);
	if (nm.given.len)
		cpk_modlist_adds(&ml, LDAP_MOD_ADD, "givenName", nm.given.buf);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "uidNumber", u);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "gidNumber", g);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "homeDirectory", home.buf);
	cpk_modlist_adds(&ml, LDAP_MOD_ADD, "loginShell",
			 s->shell ? s->shell : c->shell);
	if (!nm.no_gecos)
		cpk_modlist_adds(&ml, LDAP_MOD_ADD, "gecos", nm.gecos.buf);
	for (i = 0; i < s->n_ssh_keys; i++)
		cpk_modlist_adds(&ml, LDAP_MOD_ADD, "sshPublicKey", s->ssh_keys[i]);
	r = add_entry(c, st->udn, &ml, cpk_ldap__names_failed(&nm) ||
		      cpk_buf_failed(&home), "adding the user", "user");
	st->user_done = r == CPK_OK;
	cpk_modlist_release(&ml);
	cpk_ldap__names_release(&nm);
	cpk_buf_release(&home);
	return r;
}

/* memberUid NAME added to (ADD 1) or deleted from (ADD 0) group DN. */
static int modify_member(struct cpk_ldap_conn *c, const char *dn,
			 const char *name, int add)
{
	char *vals[] = { (char *)name, NULL };
	LDAPMod mod = { add ? LDAP_MOD_ADD : LDAP_MOD_DELETE, "memberUid",
			{ vals } };
	LDAPMod *mods[] = { &mod, NULL };

	return ldap_modify_ext_s(c->ld, dn, mods, NULL, NULL);
}

static cpk_err_t write_memberships(struct cpk_ldap_conn *c,
				   struct add_state *st, const char *name)
{
	cpk_err_t r;
	size_t i;
	int rc;

	for (i = 0; i < st->n_sup; i++) {
		if ((r = cpk_ldap__write_hook(c, "adding a membership")) != CPK_OK)
			return r;
		rc = modify_member(c, st->sup[i], name, 1);
		if (rc == LDAP_TYPE_OR_VALUE_EXISTS)
			continue;	/* left over from an older user: keep */
		if (rc != LDAP_SUCCESS)
			return cpk_ldap__err(c, rc, "adding memberUid %s to %s",
					     name, st->sup[i]);
		st->sup_done[i] = 1;
	}
	return CPK_OK;
}

/* Removes what a failed add wrote, newest first.  Keeps the add's error
 * message and appends any failure of the undo itself. */
static void undo_add(struct cpk_ldap_conn *c, struct add_state *st,
		     const char *name)
{
	char saved[1024];
	struct cpk_buf note = CPK_BUF_INIT;
	size_t i;
	int rc;

	snprintf(saved, sizeof(saved), "%s", cpk_errmsg());
	for (i = st->n_sup; i-- > 0;) {
		if (!st->sup_done[i])
			continue;
		rc = modify_member(c, st->sup[i], name, 0);
		if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_ATTRIBUTE)
			cpk_buf_addf(&note, "; undo: memberUid %s left in %s (%s)",
				     name, st->sup[i], ldap_err2string(rc));
	}
	if (st->user_done) {
		rc = ldap_delete_ext_s(c->ld, st->udn, NULL, NULL);
		if (rc != LDAP_SUCCESS)
			cpk_buf_addf(&note, "; undo: could not delete %s (%s)",
				     st->udn, ldap_err2string(rc));
	}
	if (st->personal_done) {
		rc = ldap_delete_ext_s(c->ld, st->pdn, NULL, NULL);
		if (rc != LDAP_SUCCESS)
			cpk_buf_addf(&note, "; undo: could not delete %s (%s)",
				     st->pdn, ldap_err2string(rc));
	}
	if (st->uid_claim)
		cpk_ldap__release_id(c, CPK_ID_UID, st->uid_claim);
	if (st->gid_claim)
		cpk_ldap__release_id(c, CPK_ID_GID, st->gid_claim);
	if (note.len)	/* the code returned stays the add's own */
		(void)cpk_err_set(CPK_ERR_IO, "%s%s", saved, note.buf);
	cpk_buf_release(&note);
}

static cpk_err_t check_spec(struct cpk_ldap_conn *c,
			    const struct cpk_user_spec *s)
{
	cpk_err_t r;

	if (!c->have_users)
		return cpk_err_set(CPK_ERR_CONFIG,
				   "no users section: cannot add users");
	if ((r = cpk_user_spec_check(s)) != CPK_OK)
		return r;
	if (s->gid && (s->group || c->default_group))
		return cpk_err_set(CPK_ERR_INVALID,
				   "a gid is only for a new personal group, and "
				   "user %s gets group %s", s->name,
				   s->group ? s->group : c->default_group);
	return check_lpk(c, s->n_ssh_keys);
}

/* NOTFOUND becomes OK (*exists = 0); found is *exists = 1. */
static cpk_err_t exists(cpk_err_t r, int *found)
{
	*found = r == CPK_OK;
	return r == CPK_ERR_NOTFOUND ? CPK_OK : r;
}

cpk_err_t cpk_ldap_user_add(struct cpk_ldap_conn *c,
			    const struct cpk_user_spec *s,
			    uint64_t *uid_out, uint64_t *gid_out)
{
	char *noattrs[] = { LDAP_NO_ATTRS, NULL };
	char *gattrs[] = { "gidNumber", NULL };
	struct add_state st = { 0 };
	LDAPMessage *res = NULL, *e;
	const char *gname;
	uint64_t uid = 0, gid = 0;
	cpk_err_t r;
	size_t i;
	int found, personal;

	if ((r = check_spec(c, s)) != CPK_OK)
		goto out;
	r = exists(cpk_ldap__find_user(c, s->name, noattrs, &res, &e), &found);
	ldap_msgfree(res);
	res = NULL;
	if (r != CPK_OK)
		goto out;
	if (found) {
		r = cpk_err_set(CPK_ERR_EXISTS, "user %s already exists", s->name);
		goto out;
	}
	/* the primary group */
	gname = s->group ? s->group : c->default_group;
	personal = !gname;
	if (gname) {
		r = cpk_ldap__find_group(c, gname, gattrs, &res, &e);
		if (r == CPK_ERR_NOTFOUND)
			r = cpk_err_set(r, "the primary group %s of user %s does "
					"not exist", gname, s->name);
		if (r == CPK_OK)
			r = cpk_ldap__u64(c, e, "gidNumber", &gid);
		ldap_msgfree(res);
		res = NULL;
		if (r != CPK_OK)
			goto out;
	} else {
		r = exists(cpk_ldap__find_group(c, s->name, noattrs, &res, &e),
			   &found);
		ldap_msgfree(res);
		res = NULL;
		if (r != CPK_OK)
			goto out;
		if (found) {
			r = cpk_err_set(CPK_ERR_EXISTS,
					"a group named %s already exists: give it "
					"as the user's group, or delete it", s->name);
			goto out;
		}
	}
	/* the supplementary groups: all must exist before anything is written */
	st.n_sup = s->n_groups;
	st.sup = calloc(s->n_groups + 1, sizeof(*st.sup));
	st.sup_done = calloc(s->n_groups + 1, sizeof(*st.sup_done));
	if (!st.sup || !st.sup_done) {
		r = cpk_ldap__nomem();
		goto out;
	}
	for (i = 0; i < s->n_groups; i++) {
		r = cpk_ldap__find_group(c, s->groups[i], noattrs, &res, &e);
		if (r == CPK_ERR_NOTFOUND)
			r = cpk_err_set(r, "the group %s given for user %s does "
					"not exist", s->groups[i], s->name);
		if (r == CPK_OK && !(st.sup[i] = cpk_ldap__dn(c, e)))
			r = cpk_ldap__nomem();
		ldap_msgfree(res);
		res = NULL;
		if (r != CPK_OK)
			goto out;
	}
	/* the ids */
	/* every id is claimed (see ids.c): explicit ones as safely as the
	 * pool's; undo_add releases the claims */
	if (s->uid) {
		if ((r = cpk_ldap__claim_explicit(c, CPK_ID_UID, s->uid,
						  "posixAccount", "")) != CPK_OK)
			goto out;
		uid = s->uid;
	} else if (personal && !s->gid) {
		/* both numbers at once: one synced write to the pool */
		if ((r = cpk_ldap__alloc_uid_gid(c, &uid, &gid)) != CPK_OK)
			goto out;
		st.gid_claim = gid;
	} else if ((r = cpk_ldap_alloc_id(c, CPK_ID_UID, &uid)) != CPK_OK) {
		goto out;
	}
	st.uid_claim = uid;
	if (personal && s->gid) {
		r = cpk_ldap__claim_explicit(c, CPK_ID_GID, s->gid, "posixGroup",
					     " by a group");
		if (r != CPK_OK) {
			undo_add(c, &st, s->name);
			goto out;
		}
		gid = st.gid_claim = s->gid;
	} else if (personal && !gid) {
		if ((r = cpk_ldap_alloc_id(c, CPK_ID_GID, &gid)) != CPK_OK) {
			undo_add(c, &st, s->name);
			goto out;
		}
		st.gid_claim = gid;
	}
	st.udn = cpk_ldap__child_dn("uid", s->name, c->people);
	st.pdn = cpk_ldap__child_dn("cn", s->name, c->groups);
	if (!st.udn || !st.pdn) {
		r = cpk_ldap__nomem();
		undo_add(c, &st, s->name);
		goto out;
	}
	/* the writes: group, user, memberships; undone on failure */
	c->writes = 0;
	if ((personal &&
	     (r = write_personal_group(c, &st, s->name, gid)) != CPK_OK) ||
	    (r = write_user(c, &st, s, uid, gid)) != CPK_OK ||
	    (r = write_memberships(c, &st, s->name)) != CPK_OK) {
		undo_add(c, &st, s->name);
		goto out;
	}
	if (uid_out)
		*uid_out = uid;
	if (gid_out)
		*gid_out = gid;
out:
	c->fail_at = 0;
	ldap_msgfree(res);
	cpk_ldap__strs_free(st.sup, st.n_sup);
	free(st.sup_done);
	free(st.udn);
	free(st.pdn);
	return r;
}

/* ---- mod ------------------------------------------------------------- */

static int in_list(const char *s, char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(s, v[i]))
			return 1;
	return 0;
}

int cpk_ldap__has_class(struct cpk_ldap_conn *c, LDAPMessage *e, const char *oc)
{
	struct berval **v = ldap_get_values_len(c->ld, e, "objectClass");
	size_t i, len = strlen(oc);
	int has = 0;

	for (i = 0; v && v[i]; i++)
		if (v[i]->bv_len == len && !strncasecmp(v[i]->bv_val, oc, len))
			has = 1;
	if (v)
		ldap_value_free_len(v);
	return has;
}

static int has_values(struct cpk_ldap_conn *c, LDAPMessage *e, const char *attr)
{
	struct berval **v = ldap_get_values_len(c->ld, e, attr);
	int has = ldap_count_values_len(v) > 0;

	if (v)
		ldap_value_free_len(v);
	return has;
}

/*
 * The cn value of DN's first RDN (heap; NULL with *ERR 0 when the RDN has
 * no cn, as in uid=NAME), and whether cn is that RDN's only part.  LDAP
 * Account Manager names users "cn=Full Name,...": replacing cn there would
 * remove the RDN value (naming violation).
 */
static char *rdn_cn(const char *dn, int *single, cpk_err_t *err)
{
	LDAPDN ldn = NULL;
	char *v = NULL;
	size_t i;

	*single = 0;
	*err = CPK_OK;
	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    !ldn || !ldn[0])
		goto out;
	for (i = 0; ldn[0][i]; i++) {
		LDAPAVA *ava = ldn[0][i];

		if (ava->la_attr.bv_len == 2 &&
		    !strncasecmp(ava->la_attr.bv_val, "cn", 2) && !v &&
		    !(v = cpk_strndup(ava->la_value.bv_val, ava->la_value.bv_len)))
			*err = cpk_ldap__nomem();
	}
	*single = i == 1;
out:
	ldap_dnfree(ldn);
	return v;
}

/* Renames user entry DN (its RDN cn=OLD) to cn=CN after the modify that
 * gave it that value: OLD goes.  Another entry of that name keeps the
 * entry where it is (cn then has both values). */
static cpk_err_t rename_cn(struct cpk_ldap_conn *c, const char *dn,
			   const char *cn)
{
	struct cpk_buf rdn = CPK_BUF_INIT;
	cpk_err_t r = CPK_OK;
	int rc;

	cpk_buf_addstr(&rdn, "cn=");
	if (cpk_ldap_escape_dn(cn, strlen(cn), &rdn) != CPK_OK ||
	    cpk_buf_failed(&rdn)) {
		cpk_buf_release(&rdn);
		return cpk_ldap__nomem();
	}
	rc = ldap_rename_s(c->ld, dn, rdn.buf, NULL, 1, NULL, NULL);
	if (rc != LDAP_SUCCESS && rc != LDAP_ALREADY_EXISTS)
		r = cpk_ldap__err(c, rc, "renaming user %s to %s", dn, rdn.buf);
	cpk_buf_release(&rdn);
	return r;
}

cpk_err_t cpk_ldap_user_mod(struct cpk_ldap_conn *c, const char *name,
			    const struct cpk_user_mod *m)
{
	char *attrs[] = { "objectClass", "sshPublicKey", "gecos", "givenName",
			  NULL };
	char *gattrs[] = { "gidNumber", NULL };
	struct cpk_modlist ml = CPK_MODLIST_INIT;
	struct cpk_names nm = CPK_NAMES_INIT;
	LDAPMessage *res = NULL, *e;
	char **keys = NULL, *dn = NULL, *old_cn = NULL;
	size_t n_keys = 0, i, j, final;
	cpk_err_t r;
	int rc, lpk, single = 0, had_gecos, had_given;

	if ((r = cpk_name_check(name)) != CPK_OK ||
	    (r = cpk_user_mod_check(m)) != CPK_OK ||
	    (r = check_lpk(c, m->n_add_keys + m->n_del_keys)) != CPK_OK)
		goto out;
	if ((r = cpk_ldap__find_user(c, name, attrs, &res, &e)) != CPK_OK)
		goto out;
	if (!(dn = cpk_ldap__dn(c, e))) {
		r = cpk_ldap__nomem();
		goto out;
	}
	lpk = cpk_ldap__has_class(c, e, "ldapPublicKey");
	had_gecos = has_values(c, e, "gecos");
	had_given = has_values(c, e, "givenName");
	old_cn = rdn_cn(dn, &single, &r);
	if (r != CPK_OK)
		goto out;
	if ((r = cpk_ldap__strs(c, e, "sshPublicKey", &keys, &n_keys)) != CPK_OK)
		goto out;
	ldap_msgfree(res);
	res = NULL;
	final = n_keys;
	for (i = 0; i < m->n_del_keys; i++) {
		if (!in_list(m->del_keys[i], keys, n_keys)) {
			r = cpk_err_set(CPK_ERR_NOTFOUND, "user %s has no such "
					"ssh key: %.60s", name, m->del_keys[i]);
			goto out;
		}
		final--;
	}
	for (i = 0; i < m->n_add_keys; i++) {
		int removed = 0;

		for (j = 0; j < m->n_del_keys; j++)
			removed |= !strcmp(m->add_keys[i], m->del_keys[j]);
		if (in_list(m->add_keys[i], keys, n_keys) && !removed) {
			r = cpk_err_set(CPK_ERR_EXISTS, "user %s already has "
					"this ssh key: %.60s", name,
					m->add_keys[i]);
			goto out;
		}
		final++;
	}
	if (m->shell)
		cpk_modlist_adds(&ml, LDAP_MOD_REPLACE, "loginShell", m->shell);
	if (m->gecos) {	/* "": back to the login name */
		cpk_ldap__names(name, m->gecos, &nm);
		if (!nm.no_gecos)
			cpk_modlist_adds(&ml, LDAP_MOD_REPLACE, "gecos",
					 nm.gecos.buf);
		else if (had_gecos)
			cpk_modlist_adds(&ml, LDAP_MOD_DELETE, "gecos", NULL);
		/* the RDN's cn value stays until the rename below */
		cpk_modlist_adds(&ml, LDAP_MOD_REPLACE, "cn", nm.cn.buf);
		if (old_cn && strcmp(old_cn, nm.cn.buf))
			cpk_modlist_adds(&ml, LDAP_MOD_REPLACE, "cn", old_cn);
		cpk_modlist_adds(&ml, LDAP_MOD_REPLACE, "sn", nm.sn.buf);
		if (nm.given.len)
			cpk_modlist_adds(&ml, LDAP_MOD_REPLACE, "givenName",
					 nm.given.buf);
		else if (had_given)
			cpk_modlist_adds(&ml, LDAP_MOD_DELETE, "givenName", NULL);
	}
	if (m->group) {
		uint64_t gid = 0;
		char g[24];

		r = cpk_ldap__find_group(c, m->group, gattrs, &res, &e);
		if (r == CPK_OK)
			r = cpk_ldap__u64(c, e, "gidNumber", &gid);
		ldap_msgfree(res);
		res = NULL;
		if (r != CPK_OK)
			goto out;
		snprintf(g, sizeof(g), "%" PRIu64, gid);
		cpk_modlist_adds(&ml, LDAP_MOD_REPLACE, "gidNumber", g);
	}
	for (i = 0; i < m->n_del_keys; i++)
		cpk_modlist_adds(&ml, LDAP_MOD_DELETE, "sshPublicKey",
				 m->del_keys[i]);
	for (i = 0; i < m->n_add_keys; i++)
		cpk_modlist_adds(&ml, LDAP_MOD_ADD, "sshPublicKey",
				 m->add_keys[i]);
	/* ldapPublicKey MUSTs sshPublicKey: class and keys come and go together */
	if (final == 0 && lpk)
		cpk_modlist_adds(&ml, LDAP_MOD_DELETE, "objectClass",
				 "ldapPublicKey");
	if (final > 0 && !lpk)
		cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass", "ldapPublicKey");
	if (ml.failed || cpk_ldap__names_failed(&nm)) {
		r = cpk_ldap__nomem();
		goto out;
	}
	if (!ml.n)
		goto out;	/* nothing to change */
	rc = ldap_modify_ext_s(c->ld, dn, ml.mods, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		r = cpk_ldap__err(c, rc, "modifying user %s", dn);
	else if (m->gecos && old_cn && single && strcmp(old_cn, nm.cn.buf))
		r = rename_cn(c, dn, nm.cn.buf);
out:
	ldap_msgfree(res);
	cpk_ldap__strs_free(keys, n_keys);
	cpk_modlist_release(&ml);
	cpk_ldap__names_release(&nm);
	free(old_cn);
	free(dn);
	return r;
}

/* Calls FN for every posixGroup that lists NAME in its memberUid. */
static cpk_err_t member_groups(struct cpk_ldap_conn *c, const char *name,
			       char **attrs, cpk_ldap_entry_fn fn, void *arg)
{
	char *filter = cpk_ldap__filter("(&(objectClass=posixGroup)(memberUid=%s))",
					name);
	cpk_err_t r;

	if (!filter)
		return cpk_ldap__nomem();
	r = cpk_ldap__paged(c, c->base, filter, attrs, fn, arg);
	free(filter);
	return r;
}

/* ---- del ------------------------------------------------------------- */

struct strvec {
	char **v;
	size_t n;
};

static cpk_err_t collect_dn(struct cpk_ldap_conn *c, LDAPMessage *e,
			    void *arg, int *stop)
{
	struct strvec *sv = arg;
	char **v = cpk_reallocarray(sv->v, sv->n + 1, sizeof(*v));

	(void)stop;
	if (!v)
		return cpk_ldap__nomem();
	sv->v = v;
	if (!(v[sv->n] = cpk_ldap__dn(c, e)))
		return cpk_ldap__nomem();
	sv->n++;
	return CPK_OK;
}

cpk_err_t cpk_ldap_user_del(struct cpk_ldap_conn *c, const char *name)
{
	char *uattrs[] = { "gidNumber", "uidNumber", NULL };
	char *gattrs[] = { "memberUid", NULL };
	char *noattrs[] = { LDAP_NO_ATTRS, NULL };
	struct strvec groups = { NULL, 0 };
	LDAPMessage *res = NULL, *e;
	char *dn = NULL, *filter = NULL, *pdn = NULL;
	uint64_t gid = 0, uid = 0;
	cpk_err_t r;
	size_t i;
	int rc, pgone = 0;

	if ((r = cpk_name_check(name)) != CPK_OK)
		goto out;
	if ((r = cpk_ldap__find_user(c, name, uattrs, &res, &e)) != CPK_OK)
		goto out;
	if ((r = cpk_ldap__u64(c, e, "uidNumber", &uid)) != CPK_OK)
		goto out;
	if (!(dn = cpk_ldap__dn(c, e))) {
		r = cpk_ldap__nomem();
		goto out;
	}
	if ((r = cpk_ldap__u64(c, e, "gidNumber", &gid)) != CPK_OK)
		goto out;
	ldap_msgfree(res);
	res = NULL;
	/* 1. memberships */
	r = member_groups(c, name, noattrs, collect_dn, &groups);
	if (r != CPK_OK)
		goto out;
	for (i = 0; i < groups.n; i++) {
		rc = modify_member(c, groups.v[i], name, 0);
		if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_ATTRIBUTE) {
			r = cpk_ldap__err(c, rc, "removing %s from group %s",
					  name, groups.v[i]);
			goto out;
		}
	}
	/* 2. the personal group: cn=NAME with the user's gid, now empty, and
	 * nobody else's primary group */
	free(filter);
	filter = cpk_ldap__filter("(&(objectClass=posixGroup)(cn=%s)"
				  "(gidNumber=%llu))", name,
				  (unsigned long long)gid);
	if (!filter) {
		r = cpk_ldap__nomem();
		goto out;
	}
	r = cpk_ldap__search(c, c->base, LDAP_SCOPE_SUBTREE, filter, gattrs, 2,
			     &res);
	if (r != CPK_OK)
		goto out;
	e = ldap_first_entry(c->ld, res);
	if (e && ldap_count_entries(c->ld, res) == 1) {
		struct berval **mv = ldap_get_values_len(c->ld, e, "memberUid");

		if (!mv)
			pdn = cpk_ldap__dn(c, e);
		else
			ldap_value_free_len(mv);
	}
	ldap_msgfree(res);
	res = NULL;
	if (pdn) {
		free(filter);
		filter = cpk_ldap__filter("(&(objectClass=posixAccount)"
					  "(gidNumber=%llu))",
					  (unsigned long long)gid);
		if (!filter) {
			r = cpk_ldap__nomem();
			goto out;
		}
		r = cpk_ldap__search(c, c->base, LDAP_SCOPE_SUBTREE, filter,
				     noattrs, 2, &res);
		if (r != CPK_OK)
			goto out;
		if (ldap_count_entries(c->ld, res) <= 1) {
			rc = ldap_delete_ext_s(c->ld, pdn, NULL, NULL);
			if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
				r = cpk_ldap__err(c, rc, "deleting the personal "
						  "group %s", pdn);
				goto out;
			}
			pgone = 1;
		}
	}
	/* 3. the user */
	rc = ldap_delete_ext_s(c->ld, dn, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		r = cpk_ldap__err(c, rc, "deleting user %s", dn);
		goto out;
	}
	/* 4. the ids' claims: an explicit --uid/--gid may take them again */
	cpk_ldap__release_id(c, CPK_ID_UID, uid);
	if (pgone)
		cpk_ldap__release_id(c, CPK_ID_GID, gid);
out:
	ldap_msgfree(res);
	cpk_ldap__strs_free(groups.v, groups.n);
	free(filter);
	free(pdn);
	free(dn);
	return r;
}

/* ---- password -------------------------------------------------------- */

cpk_err_t cpk_ldap_user_passwd(struct cpk_ldap_conn *c, const char *name,
			       const char *password, char **generated)
{
	char *attrs[] = { "shadowExpire", "userPassword", NULL };
	LDAPMessage *res = NULL, *e;
	struct berval udn, npw, gen = { 0, NULL };
	char *dn = NULL;
	cpk_err_t r;
	int rc;

	if (generated)
		*generated = NULL;
	if ((r = cpk_name_check(name)) != CPK_OK)
		goto out;
	if (password && (!*password || strlen(password) > PASSWORD_MAX)) {
		r = cpk_err_set(CPK_ERR_INVALID, "a password must be 1 to %d "
				"bytes", PASSWORD_MAX);
		goto out;
	}
	if (!password && !generated) {
		r = cpk_err_set(CPK_ERR_INVALID, "no password and nowhere to "
				"put a generated one");
		goto out;
	}
	if ((r = cpk_ldap__find_user(c, name, attrs, &res, &e)) != CPK_OK)
		goto out;
	if (!(dn = cpk_ldap__dn(c, e))) {
		r = cpk_ldap__nomem();
		goto out;
	}
	if (cpk_ldap__entry_locked(c, e)) {
		r = cpk_err_set(CPK_ERR_INVALID, "user %s is locked: unlock it "
				"before setting a password", name);
		goto out;
	}
	udn.bv_val = dn;
	udn.bv_len = strlen(dn);
	npw.bv_val = (char *)password;
	npw.bv_len = password ? strlen(password) : 0;
	rc = ldap_passwd_s(c->ld, &udn, NULL, password ? &npw : NULL, &gen,
			   NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		r = cpk_ldap__err(c, rc, "setting the password of %s", dn);
		goto out;
	}
	if (!password) {
		if (!gen.bv_val || !gen.bv_len) {
			r = cpk_err_set(CPK_ERR_IO, "%s: the server generated no "
					"password for %s", c->uri, dn);
			goto out;
		}
		if (!(*generated = cpk_strndup(gen.bv_val, gen.bv_len)))
			r = cpk_ldap__nomem();
	}
out:
	if (gen.bv_val) {
		cpk_memwipe(gen.bv_val, gen.bv_len);
		ber_memfree(gen.bv_val);
	}
	ldap_msgfree(res);
	free(dn);
	return r;
}

/* ---- show and list --------------------------------------------------- */

static cpk_err_t collect_cn(struct cpk_ldap_conn *c, LDAPMessage *e,
			    void *arg, int *stop)
{
	struct strvec *sv = arg;
	char **v = cpk_reallocarray(sv->v, sv->n + 1, sizeof(*v));
	cpk_err_t r = CPK_OK;

	(void)stop;
	if (!v)
		return cpk_ldap__nomem();
	sv->v = v;
	v[sv->n] = cpk_ldap__str(c, e, "cn", &r);
	if (r != CPK_OK)
		return r;
	if (v[sv->n])
		sv->n++;
	return CPK_OK;
}

cpk_err_t cpk_ldap_user_show(struct cpk_ldap_conn *c, const char *name,
			     struct cpk_user *out)
{
	char *cnattrs[] = { "cn", NULL };
	struct strvec groups = { NULL, 0 };
	LDAPMessage *res = NULL, *e;
	char *filter = NULL;
	cpk_err_t r;

	memset(out, 0, sizeof(*out));
	if ((r = cpk_name_check(name)) != CPK_OK)
		goto out;
	r = cpk_ldap__find_user(c, name, cpk_ldap__user_attrs, &res, &e);
	if (r != CPK_OK)
		goto out;
	if ((r = cpk_ldap__user_from_entry(c, e, out)) != CPK_OK)
		goto out;
	r = member_groups(c, name, cnattrs, collect_cn, &groups);
	if (r != CPK_OK)
		goto out;
	out->groups = groups.v;
	out->n_groups = groups.n;
	groups.v = NULL;
	groups.n = 0;
out:
	if (r != CPK_OK)
		cpk_user_release(out);
	cpk_ldap__strs_free(groups.v, groups.n);
	ldap_msgfree(res);
	free(filter);
	return r;
}

struct list_ctx {
	cpk_user_cb cb;
	void *arg;
};

static cpk_err_t list_one(struct cpk_ldap_conn *c, LDAPMessage *e, void *arg,
			  int *stop)
{
	struct list_ctx *lc = arg;
	struct cpk_user u;
	cpk_err_t r;

	if ((r = cpk_ldap__user_from_entry(c, e, &u)) != CPK_OK)
		return r;
	*stop = lc->cb(&u, lc->arg) != 0;
	cpk_user_release(&u);
	return CPK_OK;
}

cpk_err_t cpk_ldap_user_list(struct cpk_ldap_conn *c,
			     const char *gecos_substr, cpk_user_cb cb,
			     void *arg)
{
	struct list_ctx lc = { cb, arg };
	char *filter;
	cpk_err_t r;

	if (gecos_substr && *gecos_substr)
		filter = cpk_ldap__filter("(&(objectClass=posixAccount)"
					  "(gecos=*%s*))", gecos_substr);
	else
		filter = cpk_ldap__filter("(objectClass=posixAccount)");
	if (!filter)
		return cpk_ldap__nomem();
	r = cpk_ldap__paged(c, c->base, filter, cpk_ldap__user_attrs, list_one,
			    &lc);
	free(filter);
	return r;
}
