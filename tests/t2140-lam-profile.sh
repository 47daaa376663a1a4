#!/bin/sh
# t2140: the LDAP Account Manager server profile that `cpk render` writes
# (ldap.lam_profile), read by LAM's own code (Debian's ldap-account-manager,
# unpacked, not installed: no web server here) against a real slapd: LAM
# loads it with the settings given, and its uid/gid generators take ids
# from clusterpack's pool, so LAM and cpk never hand out the same id
# (issue 13 item 3).
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
. "$TOP/tests/lib/accounts.sh"
. "$TOP/tests/rig/debs.sh"
LAM_PKG=${LAM_PKG:-/var/cache/cpk-test/lam}
command -v php >/dev/null || { echo "Bail out! no php (make deps installs php-cli and php-ldap)"; exit 1; }
php -m | grep -qx ldap || { echo "Bail out! php has no ldap module (make deps installs php-ldap)"; exit 1; }
debs_fetch "$LAM_PKG" usr/share/ldap-account-manager/lib/config.inc ldap-account-manager ||
	{ echo "Bail out! cannot fetch ldap-account-manager (apt-get download)"; exit 1; }
acct_start
S=$SCRATCH

# the description of accounts.sh, with a LAM profile
sed -i "s|^  base_dn: .*|&\n  lam_profile: cluster|" "$S/cluster.yaml"
grep -q '^  lam_profile: cluster$' "$S/cluster.yaml"; ok $? "the description names a LAM profile"
is "$(run "$CPK" render --role control --out "$S/r")" 0 "render the control role"
[ "$(stat -c %a "$S/r/lam.conf")" = 600 ]; ok $? "lam.conf is 0600"
is "$(run "$CPK" render --role compute --out "$S/rc")" 0 "render the compute role"
[ ! -e "$S/rc/lam.conf" ]; ok $? "no lam.conf on a compute node"

# LAM's code in a tree of its own whose config/ holds the profile (LAM finds
# its profiles beside lib/, the real path)
mkdir -p "$S/lam/config"
cp -a "$LAM_PKG/usr/share/ldap-account-manager/lib" "$S/lam/"
cp "$S/r/lam.conf" "$S/lam/config/cluster.conf"
is "$(run "$CPK" ldap init)" 0 "ldap init (the pool)"
is "$(run "$CPK" user add u1 --no-home)" 0 "cpk user add u1"
run "$CPK" user show u1 --json >/dev/null
u1=$(json "$S/out" 'print(d["uid"])'); g1=$(json "$S/out" 'print(d["gid"])')
is "$(run php "$TOP/tests/lib/lam_pool.php" "$S/lam" cluster "$S/pw" 2)" 0 "LAM loads the profile and takes 2 uids and 2 gids"
[ -s "$S/err" ] && sed 's/^/# /' "$S/err"
setting() { sed -n "s/^setting $1=//p" "$S/out"; }
is "$(setting ServerURL)" "$SLAPD_URI" "LAM: ServerURL"
is "$(setting Admins)" "$SLAPD_ROOTDN" "LAM: the admin"
is "$(setting activeTypes)" "user,group" "LAM: users and groups"
is "$(setting types.suffix_user)" "ou=People,$SLAPD_BASE" "LAM: the people unit"
is "$(setting types.suffix_group)" "ou=Groups,$SLAPD_BASE" "LAM: the groups unit"
is "$(setting types.modules_user)" "inetOrgPerson,posixAccount,shadowAccount,ldapPublicKey" \
   "LAM: the user modules, with SSH keys"
is "$(setting modules.posixAccount_user_uidGeneratorUsers) $(setting modules.posixGroup_group_gidGenerator)" \
   "sambaPool sambaPool" "LAM: both generators on the pool"
is "$(setting modules.posixAccount_user_sambaIDPoolDNUsers)" "cn=idpool,$SLAPD_BASE" "LAM: the uid pool is cpk's"
is "$(setting modules.posixGroup_group_sambaIDPoolDN)" "cn=idpool,$SLAPD_BASE" "LAM: the gid pool is cpk's"
is "$(setting modules.posixAccount_user_minUID)-$(setting modules.posixAccount_user_maxUID)" \
   "30000-39999" "LAM: the uid range"
lu=$(sed -n 's/^uid //p' "$S/out" | tr '\n' ' ')
lg=$(sed -n 's/^gid //p' "$S/out" | tr '\n' ' ')
is "$lu" "$((u1 + 1)) $((u1 + 2)) " "LAM's uids follow cpk's last one ($u1)"
is "$lg" "$((g1 + 1)) $((g1 + 2)) " "LAM's gids follow cpk's last one ($g1)"
is "$(run "$CPK" user add u2 --no-home)" 0 "cpk user add u2 after LAM"
run "$CPK" user show u2 --json >/dev/null
is "$(json "$S/out" 'print(d["uid"], d["gid"])')" "$((u1 + 3)) $((g1 + 3))" \
   "cpk goes on after the ids LAM took: none given twice"
# the renderer refuses what LAM's profile cannot hold
sed -i "s|^  base_dn: .*|  base_dn: dc=a+::+b,dc=org|" "$S/cluster.yaml"
is "$(run "$CPK" render --role control --out "$S/r2")" 1 "a base DN with LAM's separator: refused"
grep -q "ldap.lam_profile: LDAP Account Manager cannot hold a DN with '+::+'" "$S/err"
ok $? "  with a message naming lam_profile: $(head -c 200 "$S/err")"
[ ! -e "$S/r2" ]; ok $? "  nothing written"
done_testing
