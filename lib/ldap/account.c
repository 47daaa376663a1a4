/* A whole account: the LDAP entries, the password and the home, or nothing. */
#include <stdio.h>

#include "ldap_priv.h"

cpk_err_t cpk_ldap_account_add(struct cpk_ldap_conn *c,
			       const struct cpk_users *users,
			       const struct cpk_user_spec *spec,
			       const char *password, int make_home,
			       uint64_t *uid, uint64_t *gid)
{
	char why[1024];
	cpk_err_t r;

	if ((r = cpk_ldap_user_add(c, spec, uid, gid)) != CPK_OK)
		return r;	/* it undid its own writes */
	if (password)
		r = cpk_ldap_user_passwd(c, spec->name, password, NULL);
	if (r == CPK_OK && make_home)
		r = cpk_home_create(users, spec->name, (uid_t)*uid, (gid_t)*gid);
	if (r == CPK_OK)
		return CPK_OK;
	snprintf(why, sizeof(why), "%s", cpk_errmsg());
	if (cpk_ldap_user_del(c, spec->name) == CPK_OK)
		return cpk_err_set(r, "%s (the new entries for %s were removed again)",
				   why, spec->name);
	return cpk_err_set(r, "%s; removing the half-made user failed too: %s",
			   why, cpk_errmsg());
}
