/*
 * Locking users (see cpk_ldap_user_lock in ldap.h): cpk's own marker
 * (shadowExpire 1 and "{CRYPT}!" before every password value) and LDAP
 * Account Manager's ("{SCHEME}!" : a '!' after the scheme) are both read,
 * and both undone by unlock.
 */
#include <stdlib.h>
#include <string.h>

#include "ldap_priv.h"

#define LOCK_PREFIX "{CRYPT}!"
#define LOCK_PREFIX_LEN 8
#define CLEAR_TAG "{CLEARTEXT}"
#define CLEAR_TAG_LEN (sizeof(CLEAR_TAG) - 1)

/* The length of a leading "{SCHEME}" of P (N bytes): 0 if there is none. */
static size_t scheme_len(const char *p, size_t n)
{
	size_t i;

	if (!n || p[0] != '{')
		return 0;
	for (i = 1; i < n && i < 64; i++) {
		char ch = p[i];

		if (ch == '}')
			return i > 1 ? i + 1 : 0;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		      ch == '_'))
			return 0;
	}
	return 0;
}

/* "{SCHEME}!...": locked by a '!' after the scheme ({CRYPT}! included). */
static int value_locked(const char *p, size_t n)
{
	size_t s = scheme_len(p, n);

	return s && n > s && p[s] == '!';
}

int cpk_ldap__entry_locked(struct cpk_ldap_conn *c, LDAPMessage *e)
{
	struct berval **v = ldap_get_values_len(c->ld, e, "shadowExpire");
	int locked = 0;
	size_t i;

	if (v) {
		locked = v[0] && v[0]->bv_len == 1 && v[0]->bv_val[0] == '1';
		ldap_value_free_len(v);
	}
	v = ldap_get_values_len(c->ld, e, "userPassword");
	for (i = 0; v && v[i]; i++) {
		locked |= value_locked(v[i]->bv_val, v[i]->bv_len);
		cpk_memwipe(v[i]->bv_val, v[i]->bv_len);
	}
	if (v)
		ldap_value_free_len(v);
	return locked;
}

/* The locked (LOCK 1) or unlocked form of password value V into OUT. */
static void lock_value(const struct berval *v, int lock, struct cpk_buf *out)
{
	const char *p = v->bv_val;
	size_t n = v->bv_len, s = scheme_len(p, n);

	if (lock) {
		if (value_locked(p, n)) {
			cpk_buf_add(out, p, n);		/* already locked */
		} else if (s == 7 && !strncasecmp(p, "{CRYPT}", 7)) {
			cpk_buf_add(out, p, 7);
			cpk_buf_addch(out, '!');
			cpk_buf_add(out, p + 7, n - 7);
		} else {
			/* a cleartext value gets the tag; so does a value that
			 * starts with it, or unlock would take its tag away */
			cpk_buf_addstr(out, LOCK_PREFIX);
			if (!n || p[0] != '{' || (n >= CLEAR_TAG_LEN &&
			    !strncasecmp(p, CLEAR_TAG, CLEAR_TAG_LEN)))
				cpk_buf_addstr(out, CLEAR_TAG);
			cpk_buf_add(out, p, n);
		}
		return;
	}
	if (!value_locked(p, n)) {
		cpk_buf_add(out, p, n);			/* not locked */
	} else if (s != 7 || strncasecmp(p, "{CRYPT}", 7)) {
		cpk_buf_add(out, p, s);			/* LAM: {SSHA}!x */
		cpk_buf_add(out, p + s + 1, n - s - 1);
	} else if (n >= LOCK_PREFIX_LEN + CLEAR_TAG_LEN &&
		   !strncmp(p + LOCK_PREFIX_LEN, CLEAR_TAG, CLEAR_TAG_LEN)) {
		size_t skip = LOCK_PREFIX_LEN + CLEAR_TAG_LEN;

		cpk_buf_add(out, p + skip, n - skip);
	} else if (n > LOCK_PREFIX_LEN && p[LOCK_PREFIX_LEN] == '{') {
		cpk_buf_add(out, p + LOCK_PREFIX_LEN, n - LOCK_PREFIX_LEN);
	} else {
		cpk_buf_add(out, p, 7);			/* {CRYPT} */
		cpk_buf_add(out, p + LOCK_PREFIX_LEN, n - LOCK_PREFIX_LEN);
	}
}

cpk_err_t cpk_ldap_user_lock(struct cpk_ldap_conn *c, const char *name,
			     int lock)
{
	char *attrs[] = { "userPassword", "shadowExpire", "objectClass", NULL };
	struct cpk_modlist ml = CPK_MODLIST_INIT;
	struct cpk_buf nv = CPK_BUF_INIT;
	LDAPMessage *res = NULL, *e;
	struct berval **pw = NULL;
	char *dn = NULL, *expire = NULL;
	cpk_err_t r;
	size_t i;
	int rc, pass;

	if ((r = cpk_name_check(name)) != CPK_OK)
		goto out;
	if ((r = cpk_ldap__find_user(c, name, attrs, &res, &e)) != CPK_OK)
		goto out;
	dn = cpk_ldap__dn(c, e);
	expire = cpk_ldap__str(c, e, "shadowExpire", &r);
	if (!dn || r != CPK_OK) {
		r = cpk_ldap__nomem();
		goto out;
	}
	pw = ldap_get_values_len(c->ld, e, "userPassword");
	/* shadowExpire needs shadowAccount, which LAM does not add */
	if (lock && !(expire && !strcmp(expire, "1"))) {
		if (!cpk_ldap__has_class(c, e, "shadowAccount"))
			cpk_modlist_adds(&ml, LDAP_MOD_ADD, "objectClass",
					 "shadowAccount");
		cpk_modlist_adds(&ml, LDAP_MOD_REPLACE, "shadowExpire", "1");
	}
	if (!lock && expire)
		cpk_modlist_adds(&ml, LDAP_MOD_DELETE, "shadowExpire", NULL);
	/* delete the old values, add the new: fails if they changed meanwhile */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; pw && pw[i]; i++) {
			cpk_buf_reset(&nv);
			lock_value(pw[i], lock, &nv);
			if (nv.len == pw[i]->bv_len &&
			    !memcmp(nv.buf, pw[i]->bv_val, nv.len))
				continue;
			if (pass == 0)
				cpk_modlist_add(&ml, LDAP_MOD_DELETE, "userPassword",
						pw[i]->bv_val, pw[i]->bv_len);
			else
				cpk_modlist_add(&ml, LDAP_MOD_ADD, "userPassword",
						nv.buf, nv.len);
		}
	}
	if (ml.failed || cpk_buf_failed(&nv)) {
		r = cpk_ldap__nomem();
		goto out;
	}
	if (!ml.n)
		goto out;
	rc = ldap_modify_ext_s(c->ld, dn, ml.mods, NULL, NULL);
	if (rc == LDAP_NO_SUCH_ATTRIBUTE)
		r = cpk_err_set(CPK_ERR_IO, "%s: %s: the password of %s changed "
				"meanwhile; try again", c->uri,
				lock ? "lock" : "unlock", name);
	else if (rc != LDAP_SUCCESS)
		r = cpk_ldap__err(c, rc, "%s user %s", lock ? "locking" :
				  "unlocking", dn);
out:
	if (pw) {
		for (i = 0; pw[i]; i++)
			cpk_memwipe(pw[i]->bv_val, pw[i]->bv_len);
		ldap_value_free_len(pw);
	}
	cpk_memwipe(nv.buf, nv.len);
	cpk_buf_release(&nv);
	cpk_modlist_release(&ml);
	ldap_msgfree(res);
	free(expire);
	free(dn);
	return r;
}
