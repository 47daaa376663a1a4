/*
 * LDAP Account Manager's server profile for the cluster's tree.
 *
 * LAM (Debian ldap-account-manager 8.x) reads a profile a line at a time,
 * "Keyword: value", "modules: NAME: value" and "types: NAME: value";
 * '#' lines are comments.  The uid and gid generators are LAM's "Samba ID
 * pool" (posixAccount.inc, posixGroup.inc: sambaPool), pointed at
 * clusterpack's pool entry cn=idpool,BASE: LAM reads uidNumber/gidNumber
 * there, gives that number and writes it forward, so cpk and LAM take ids
 * from the same counter (see ldap.h for the pool; the control role's
 * `unique` overlay refuses a duplicate that LAM's read-then-replace could
 * still make in a race).  No "Passwd:" line: the profile's settings page
 * then takes no password (LAM compares with an unset hash), so the profile
 * is changed through cluster.yaml, not the web page.
 */
#include <string.h>

#include "cpk/render.h"
#include "render_priv.h"

void cpk_render_lam_conf(const struct cpk_model *m, struct cpk_buf *out)
{
	const struct cpk_ldap *l = &m->ldap;
	const struct cpk_users *u = &m->users;

	cpk_render__header(m, out, "LDAP Account Manager server profile");
	cpk_buf_addf(out, "ServerURL: %s\n", l->uri);
	cpk_buf_addf(out, "useTLS: %s\n", strcmp(l->tls, "starttls") ? "no" : "yes");
	if (l->bind_dn)
		cpk_buf_addf(out, "Admins: %s\n", l->bind_dn);
	cpk_buf_addf(out, "tools: treeViewSuffix: %s\n", l->base_dn);
	cpk_buf_addstr(out, "defaultLanguage: en_GB.utf8\n"
		       "searchLimit: 0\n"
		       "activeTypes: user,group\n");
	cpk_buf_addf(out, "types: suffix_user: %s,%s\n", l->people_ou, l->base_dn);
	cpk_buf_addstr(out, "types: attr_user: #uid;#givenName;#sn;#uidNumber;#gidNumber\n"
		       "types: modules_user: inetOrgPerson,posixAccount,shadowAccount,ldapPublicKey\n");
	cpk_buf_addf(out, "types: suffix_group: %s,%s\n", l->groups_ou, l->base_dn);
	cpk_buf_addstr(out, "types: attr_group: #cn;#gidNumber;#memberUID;#description\n"
		       "types: modules_group: posixGroup\n");
	/* ids from clusterpack's pool; the ranges are what LAM shows and
	 * checks an id typed by hand against */
	cpk_buf_addf(out, "modules: posixAccount_user_uidGeneratorUsers: sambaPool\n"
		     "modules: posixAccount_user_sambaIDPoolDNUsers: cn=idpool,%s\n"
		     "modules: posixAccount_user_minUID: %llu\n"
		     "modules: posixAccount_user_maxUID: %llu\n",
		     l->base_dn, (unsigned long long)u->uid_range.lo,
		     (unsigned long long)u->uid_range.hi);
	cpk_buf_addf(out, "modules: posixGroup_group_gidGenerator: sambaPool\n"
		     "modules: posixGroup_group_sambaIDPoolDN: cn=idpool,%s\n"
		     "modules: posixGroup_group_minGID: %llu\n"
		     "modules: posixGroup_group_maxGID: %llu\n",
		     l->base_dn, (unsigned long long)u->gid_range.lo,
		     (unsigned long long)u->gid_range.hi);
	cpk_buf_addf(out, "modules: posixAccount_user_shells: %s\n", u->shell);
	/* slapd's default {SSHA} is weak (NOTES.md); CRYPT-SHA512 binds */
	cpk_buf_addstr(out, "modules: posixAccount_pwdHash: CRYPT-SHA512\n"
		       "modules: posixGroup_pwdHash: CRYPT-SHA512\n");
}
