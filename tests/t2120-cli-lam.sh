#!/bin/sh
# t2120: cpk's user and group verbs on entries in the shape LDAP Account
# Manager writes them (tests/data/lam/entries.ldif loaded into a real
# slapd): cn-named DNs with UTF-8, no shadowAccount, LAM's "{SSHA}!" lock
# marker.  Both lock markers are read by show/list and undone by unlock;
# lock adds shadowAccount; a new display name renames a cn-named entry;
# UTF-8 display names go to cn/sn/givenName with gecos in ASCII or absent
# (issue 13, items 4, 5, 6).
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
. "$TOP/tests/lib/accounts.sh"
acct_start
S=$SCRATCH

lsearch() {	# FILTER ATTRS...: ldapsearch as the rootdn, unwrapped, no comments
	_f=$1; shift
	ldapsearch -x -LLL -o ldif-wrap=no -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" \
		-y "$SLAPD_ROOTPW_FILE" -b "$SLAPD_BASE" "$_f" "$@"
}
binds() {	# DN PASSWORD: 0 if DN binds with PASSWORD
	printf '%s' "$2" > "$S/bindpw"; chmod 600 "$S/bindpw"
	ldapwhoami -x -H "$SLAPD_URI" -D "$1" -y "$S/bindpw" >/dev/null 2>&1
}
udn() {		# the DN of user $1 as text (base64 DNs decoded)
	lsearch "(uid=$1)" dn | awk '/^dn:: /{ print $2 | "base64 -d"; exit }
		/^dn: /{ sub(/^dn: /, ""); print; exit }'
}

is "$(run "$CPK" ldap init)" 0 "ldap init"
sed "s/@BASE@/$SLAPD_BASE/" tests/data/lam/entries.ldif > "$S/lam.ldif"
ldapadd -x -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -y "$SLAPD_ROOTPW_FILE" \
	-f "$S/lam.ldif" >"$S/ldapadd.out" 2>&1
ok $? "the LAM-shaped fixture loads into slapd"
is "$(udn dave)" "cn=Dave Dürr,ou=People,$SLAPD_BASE" "dave's entry is named by cn (UTF-8)"

# ---- show and list read both lock markers -----------------------------
is "$(run "$CPK" user list --json)" 0 "user list --json"
is "$(json "$S/out" 'print(" ".join("%s:%s" % (u["name"], u["locked"]) for u in sorted(d, key=lambda u: u["name"])))')" \
   "carol:True dave:False" "list: carol (LAM's {SSHA}! marker) locked, dave not"
is "$(run "$CPK" user list)" 0 "user list"
grep -q '^carol  *31501  *21500 yes ' "$S/out"; ok $? "list for people: carol locked"
is "$(run "$CPK" user show carol)" 0 "user show carol"
grep -q '^locked:   yes$' "$S/out"; ok $? "show: carol locked"
is "$(run "$CPK" user show dave --json)" 0 "user show dave --json"
is "$(json "$S/out" 'print(d["cn"], d["locked"], d["gecos"], ",".join(sorted(d["groups"])))')" \
   "Dave Dürr False None lamstaff" "show: the LAM user as LAM made it"
binds "$(udn carol)" "carol pass"; is $? 49 "carol (LAM-locked) cannot bind"
is "$(printf 'x y\n' | run "$CPK" user mod carol --password-stdin)" 1 \
   "a password for a LAM-locked user is refused"
grep -q "user carol is locked: unlock it" "$S/err"; ok $? "and says to unlock first"

# ---- unlock undoes LAM's marker ----------------------------------------
is "$(run "$CPK" user unlock carol)" 0 "user unlock carol (locked by LAM)"
binds "$(udn carol)" "carol pass"; ok $? "carol binds again with her password"
is "$(lsearch '(uid=carol)' userPassword | sed -n 's/^userPassword:: //p' | base64 -d)" \
   "{SSHA}HflhnXJwF6eE7j+jvkFAvaCkDZ9a4ZCK" "her hash is back byte for byte"
run "$CPK" user show carol --json >/dev/null
is "$(json "$S/out" 'print(d["locked"])')" "False" "show: carol unlocked"

# ---- lock adds shadowAccount -------------------------------------------
is "$(run "$CPK" user lock dave)" 0 "user lock dave (no shadowAccount)"
is "$(cat "$S/err")" "" "no error"
lsearch '(uid=dave)' objectClass shadowExpire > "$S/dave.ldif"
grep -q '^objectClass: shadowAccount$' "$S/dave.ldif" && grep -q '^shadowExpire: 1$' "$S/dave.ldif"
ok $? "dave got shadowAccount and shadowExpire 1"
binds "$(udn dave)" "dave pass"; is $? 49 "locked dave cannot bind"
run "$CPK" user show dave --json >/dev/null
is "$(json "$S/out" 'print(d["locked"])')" "True" "show: dave locked"
is "$(run "$CPK" user lock dave)" 0 "locking again changes nothing"
is "$(run "$CPK" user unlock dave)" 0 "user unlock dave"
binds "$(udn dave)" "dave pass"; ok $? "dave binds again"
# both markers at once: LAM locks carol, cpk locks her too, one unlock
printf 'dn: %s\nchangetype: modify\nreplace: userPassword\nuserPassword: {SSHA}!HflhnXJwF6eE7j+jvkFAvaCkDZ9a4ZCK\n' \
	"$(udn carol)" | ldapmodify -x -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" \
	-y "$SLAPD_ROOTPW_FILE" >/dev/null 2>&1
ok $? "LAM locks carol again"
is "$(run "$CPK" user lock carol)" 0 "cpk locks her too"
is "$(run "$CPK" user unlock carol)" 0 "one cpk unlock"
binds "$(udn carol)" "carol pass"; ok $? "undoes both: carol binds"

# ---- mod on a cn-named entry ------------------------------------------
is "$(run "$CPK" user mod dave --gecos 'David Dürr,Room 7')" 0 "user mod --gecos on a cn-named entry"
is "$(cat "$S/err")" "" "no naming violation"
is "$(udn dave)" "cn=David Dürr,ou=People,$SLAPD_BASE" "the entry is renamed to the new cn"
lsearch '(uid=dave)' cn sn givenName gecos > "$S/dave.ldif"
is "$(grep -c '^cn' "$S/dave.ldif")" 1 "one cn value left"
run "$CPK" user show dave --json >/dev/null
is "$(json "$S/out" 'print(d["cn"], "|", d["gecos"])')" "David Dürr | David Durr,Room 7" \
   "cn in UTF-8, gecos transliterated to ASCII"
grep -q '^givenName: David$' "$S/dave.ldif"; ok $? "givenName David"
binds "$(udn dave)" "dave pass"; ok $? "dave binds under the new DN"
# a new cn that another entry already has: the entry keeps its name
is "$(run "$CPK" user mod dave --gecos 'Carol Chen')" 0 "a cn another entry is named by"
is "$(udn dave)" "cn=David Dürr,ou=People,$SLAPD_BASE" "the entry keeps its DN"
run "$CPK" user show dave --json >/dev/null
is "$(json "$S/out" 'print(d["cn"], "|", d["gecos"])')" "Carol Chen | Carol Chen" "the new cn comes first"
is "$(run "$CPK" user mod dave --gecos 'Dave Dürr')" 0 "back to the fixture's name"
is "$(udn dave)" "cn=Dave Dürr,ou=People,$SLAPD_BASE" "renamed back"
is "$(run "$CPK" user mod dave --shell /bin/sh --add-ssh-key "$S/key1.pub")" 0 \
   "shell and a first key on a LAM user"
run "$CPK" user show dave --json >/dev/null
is "$(json "$S/out" 'print(d["shell"], len(d["ssh_keys"]))')" "/bin/sh 1" "took effect"
is "$(run "$CPK" user mod dave --remove-ssh-key "$S/key1.pub")" 0 "and the key removed"
is "$(run "$CPK" user mod carol --remove-ssh-key SHA256:none)" 1 \
   "an unknown fingerprint on a LAM user: exit 1"
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAZz6LvNjTPcNRwPziknlJOV3JSvugwkZ8a+yUG/n34e carol@lam\n' > "$S/carol.pub"
is "$(run "$CPK" user mod carol --remove-ssh-key "$S/carol.pub")" 0 "LAM's key removed by file"
is "$(lsearch '(uid=carol)' objectClass | grep -c ldapPublicKey)" 0 "with ldapPublicKey"
is "$(printf 'new carol\n' | run "$CPK" user mod carol --password-stdin)" 0 "a password for carol"
binds "$(udn carol)" "new carol"; ok $? "carol binds with it"
is "$(run "$CPK" user mod dave --group lamproj)" 0 "a new primary group"

# ---- groups -------------------------------------------------------------
is "$(run "$CPK" group list --json)" 0 "group list --json"
is "$(json "$S/out" 'print(" ".join(sorted(g["name"] for g in d)))')" "lamproj lamstaff" "LAM's groups listed"
is "$(run "$CPK" group show lamproj --json)" 0 "group show"
is "$(json "$S/out" 'print(d["gid"], d["description"], ",".join(d["members"]))')" \
   "21501 a LAM project group carol" "group show of a LAM group"
is "$(run "$CPK" group add-member lamproj dave)" 0 "add-member"
is "$(run "$CPK" group remove-member lamstaff carol)" 0 "remove-member"
is "$(run "$CPK" group del lamstaff)" 1 "group del of carol's primary group: exit 1"
grep -q "primary group of user carol" "$S/err"; ok $? "names carol"

# ---- UTF-8 display names on new users (item 6) -----------------------------
is "$(run "$CPK" user add eve --no-home --gecos 'Ève Müller-Łukasz,Lab 2')" 0 "user add with a UTF-8 name"
lsearch '(uid=eve)' cn sn givenName gecos > "$S/eve.ldif"
run "$CPK" user show eve --json >/dev/null
is "$(json "$S/out" 'print(d["cn"], "|", d["gecos"])')" "Ève Müller-Łukasz | Eve Muller-Lukasz,Lab 2" \
   "cn in UTF-8, gecos in ASCII"
grep -q '^givenName:: ' "$S/eve.ldif" && grep -q '^sn:: ' "$S/eve.ldif"; ok $? "givenName and sn set (UTF-8)"
is "$(run "$CPK" user add yam --no-home --gecos '山田 太郎')" 0 "a name with no ASCII spelling"
run "$CPK" user show yam --json >/dev/null
is "$(json "$S/out" 'print(d["cn"], d["gecos"])')" "山田 太郎 None" "cn set, no gecos"
is "$(run "$CPK" user mod yam --gecos 'Taro Yamada')" 0 "mod to an ASCII name"
run "$CPK" user show yam --json >/dev/null
is "$(json "$S/out" 'print(d["cn"], "|", d["gecos"])')" "Taro Yamada | Taro Yamada" "gecos back"
is "$(run "$CPK" user add bad1 --no-home --gecos "$(printf 'a\303(b')")" 1 "invalid UTF-8 refused"
grep -q "not valid UTF-8" "$S/err"; ok $? "says so"
is "$(run "$CPK" user add bad2 --no-home --gecos "$(printf 'a\302\205b')")" 1 "a C1 control refused"
is "$(run "$CPK" user add bad3 --no-home --gecos 'a:b')" 1 "':' refused"

# ---- del -------------------------------------------------------------------
is "$(run "$CPK" user del carol)" 0 "user del of a LAM user"
is "$(lsearch '(|(uid=carol)(memberUid=carol))' dn | grep -c '^dn')" 0 "carol and her memberships are gone"
is "$(run "$CPK" user del dave)" 0 "user del dave"
is "$(run "$CPK" group show lamproj --json)" 0 "dave's primary group (not personal) stays"
is "$(run "$CPK" group del lamstaff)" 0 "group del of a LAM group nobody's primary now"
is "$(run "$CPK" group del lamproj)" 0 "and the other one"

done_testing
