#!/bin/sh
# t2100: the account verbs of cpk (ldap init, user ..., group ...) against a
# real slapd started here: output for people and --json, every error with
# its message and exit code, names that try to inject filter or DN syntax,
# concurrent adds, homes (owner, mode, skeleton, refusals), that a failed
# add leaves nothing behind, boundaries (name and password lengths, the last
# ids of a range, then "exhausted").  Import has its own test (t2110).
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
. "$TOP/tests/lib/accounts.sh"
acct_start
S=$SCRATCH

# ---- usage -----------------------------------------------------------
is "$(run "$CPK" user)" 2 "user without a sub-command: exit 2"
is "$(run "$CPK" user --help)" 0 "user --help"
grep -q '^  user import FILE' "$S/out"; ok $? "user --help lists import"
is "$(run "$CPK" user frob)" 2 "unknown sub-command: exit 2"
grep -q "'frob' is not a sub-command of 'user'" "$S/err"; ok $? "unknown sub-command named"
is "$(run "$CPK" user add)" 2 "user add without NAME: exit 2"
is "$(run "$CPK" user add a b)" 2 "user add with two names: exit 2"
is "$(run "$CPK" user add x --uid 12x)" 2 "--uid not a number: exit 2"
is "$(run "$CPK" user add x --password-stdin --no-password)" 2 \
   "--password-stdin with --no-password: exit 2"
is "$(run "$CPK" user mod x)" 2 "user mod with nothing to change: exit 2"
is "$(run "$CPK" user add --help)" 0 "user add --help"
grep -q -- '--no-home' "$S/out"; ok $? "user add --help lists --no-home"
is "$(run "$CPK" group add g --gid -5)" 2 "group add --gid -5: exit 2"
is "$(run "$CPK" group add-member g)" 2 "add-member without users: exit 2"
is "$(run "$CPK" ldap)" 2 "ldap without a sub-command: exit 2"

# ---- ldap init -------------------------------------------------------
is "$(run "$CPK" user list)" 1 "before init: user list fails"
is "$(run "$CPK" ldap init)" 0 "ldap init"
is "$(cat "$S/out")" "created $SLAPD_BASE
created ou=People,$SLAPD_BASE
created ou=Groups,$SLAPD_BASE
created cn=idpool,$SLAPD_BASE" "ldap init reports what it created"
is "$(run "$CPK" ldap init)" 0 "ldap init again"
is "$(cat "$S/out")" "$SLAPD_BASE: nothing to do (the tree is complete)" \
   "ldap init again: nothing to do"

# ---- groups ----------------------------------------------------------
is "$(run "$CPK" group add team)" 0 "group add team"
is "$(cat "$S/out")" "added group team (gid 20000)" "first gid of the range"
is "$(run "$CPK" group add gpu --gid 25000)" 0 "group add --gid"
is "$(run "$CPK" group add team)" 1 "group add existing: exit 1"
grep -q "team" "$S/err" && grep -qi "exists" "$S/err"; ok $? "existing group: says so"
is "$(run "$CPK" group show nogroup)" 1 "group show missing: exit 1"
is "$(cat "$S/err")" "cpk: no such group 'nogroup' under $SLAPD_BASE" "no such group: message"

# ---- user add, show, homes -------------------------------------------
is "$(printf 'S3cret pass\n' | run "$CPK" user add alice --gecos 'Alice Liddell,Room 1' \
      --groups team,gpu --ssh-key "$S/key1.pub" --password-stdin)" 0 "user add alice"
is "$(cat "$S/out")" "added user alice (uid 30000, gid 20001), home $S/home/alice, password set" \
   "user add reports uid, gid, home"
grep -q 'S3cret' "$S/out" "$S/err"; is $? 1 "the password is never printed"
ldapwhoami -x -H "$SLAPD_URI" -D "uid=alice,ou=People,$SLAPD_BASE" -y "$S/alicepw" \
	>/dev/null 2>&1
ok $? "alice binds with the password from stdin"
if [ "$(id -u)" = 0 ]; then
	is "$(stat -c '%u:%g %a' "$S/home/alice")" "30000:20001 700" "home owned by alice, 0700"
	is "$(stat -c '%u:%g' "$S/home/alice/.config/app.conf")" "30000:20001" "skel file owned by alice"
	cmp -s "$S/skel/.bashrc" "$S/home/alice/.bashrc"; ok $? "skel .bashrc copied"
else
	ok 0 "# skip homes need root"; ok 0 "# skip"; ok 0 "# skip"
fi
is "$(run "$CPK" user show alice --json)" 0 "user show --json"
is "$(json "$S/out" 'u=d; print(u["name"], u["uid"], u["gid"], u["gecos"], u["locked"], ",".join(sorted(u["groups"])), len(u["ssh_keys"]), u["home"], u["shell"])')" \
   "alice 30000 20001 Alice Liddell,Room 1 False gpu,team 1 $S/home/alice /bin/bash" \
   "user show --json parses back"
is "$(run "$CPK" user show alice)" 0 "user show"
grep -q '^groups:   team,gpu$\|^groups:   gpu,team$' "$S/out"; ok $? "user show lists the groups"
grep -q '^locked:   no$' "$S/out"; ok $? "user show: not locked"
is "$(run "$CPK" user add alice --no-home)" 1 "user add existing: exit 1"
grep -q "alice" "$S/err" && grep -qi "exists" "$S/err"; ok $? "existing user: says so"

# a JSON string with every awkward character survives the round trip
is "$(run "$CPK" user add quoter --no-home --gecos 'Q "the" \back\slash (x*) ,ou=Groups')" 0 \
   "gecos with quotes, backslashes, stars and DN syntax"
run "$CPK" user show quoter --json >/dev/null
is "$(json "$S/out" 'print(d["gecos"])')" 'Q "the" \back\slash (x*) ,ou=Groups' \
   "that gecos parses back from --json exactly"

# ---- user mod, lock, keys, password ----------------------------------
is "$(run "$CPK" user mod alice --shell /bin/sh --gecos 'Alice L')" 0 "user mod shell and gecos"
run "$CPK" user show alice --json >/dev/null
is "$(json "$S/out" 'print(d["shell"], d["gecos"], d["cn"])')" "/bin/sh Alice L Alice L" \
   "user mod took effect"
is "$(run "$CPK" user mod alice --add-ssh-key "$S/key2.pub")" 0 "user mod --add-ssh-key"
is "$(run "$CPK" user mod alice --add-ssh-key "$S/key2.pub")" 1 "adding the same key again: exit 1"
is "$(run "$CPK" user mod alice --remove-ssh-key "$S/key1.pub")" 0 "user mod --remove-ssh-key"
run "$CPK" user show alice --json >/dev/null
is "$(json "$S/out" 'print(len(d["ssh_keys"]), d["ssh_keys"][0].split()[2])')" "1 key2" \
   "only key2 is left"
is "$(run "$CPK" user mod alice --remove-ssh-key "$S/key1.pub")" 1 "removing a missing key: exit 1"
is "$(run "$CPK" user mod alice --add-ssh-key "$S/key1.pub")" 0 "key1 back"
fp=$(ssh-keygen -lf "$S/key1.pub" | awk '{ print $2 }')
is "$(run "$CPK" user mod alice --remove-ssh-key "$fp")" 0 "user mod --remove-ssh-key SHA256:..."
run "$CPK" user show alice --json >/dev/null
is "$(json "$S/out" 'print(" ".join(k.split()[2] for k in d["ssh_keys"]))')" "key2" \
   "the key with that fingerprint (ssh-keygen -l's) is gone"
is "$(run "$CPK" user mod alice --remove-ssh-key "$fp")" 1 "an unknown fingerprint: exit 1"
is "$(cat "$S/err")" "cpk: user alice has no key with fingerprint $fp" "an unknown fingerprint: message"
is "$(run "$CPK" user mod alice --add-ssh-key "$S/nokey.pub")" 1 "a missing key file: exit 1"
printf 'ssh-ed25519 AAAAnotakey\n' > "$S/fake.pub"
is "$(run "$CPK" user mod alice --add-ssh-key "$S/fake.pub")" 1 "a line that is no key: exit 1"
is "$(cat "$S/err")" "cpk: 'ssh-ed25519 AAAAnotakey' is not an ssh public key line (TYPE BASE64 [COMMENT])" \
   "a line that is no key: message"
printf 'ssh-rsa %s k\n' "$(awk '{ print $2 }' "$S/key1.pub")" > "$S/mixed.pub"
is "$(run "$CPK" user mod alice --add-ssh-key "$S/mixed.pub")" 1 "an ed25519 blob called ssh-rsa: exit 1"
is "$(run "$CPK" user add fakekey --no-home --ssh-key "$S/fake.pub")" 1 "user add with no real key: exit 1"
is "$(run "$CPK" user show fakekey)" 1 "and no user was made"
is "$(run "$CPK" user mod alice --group nogroup)" 1 "user mod to a missing group: exit 1"
is "$(run "$CPK" user mod nobody --shell /bin/sh)" 1 "user mod missing user: exit 1"
is "$(cat "$S/err")" "cpk: no such user 'nobody' under $SLAPD_BASE" "no such user: message"
is "$(printf 'n3w pass\n' | run "$CPK" user mod alice --password-stdin)" 0 "user mod --password-stdin"
printf 'n3w pass' > "$S/alicepw"
ldapwhoami -x -H "$SLAPD_URI" -D "uid=alice,ou=People,$SLAPD_BASE" -y "$S/alicepw" \
	>/dev/null 2>&1
ok $? "alice binds with the new password"
is "$(run "$CPK" user mod alice --password-stdin </dev/null)" 1 "empty stdin: exit 1"
grep -q "no password on standard input" "$S/err"; ok $? "empty stdin: says so"
is "$(printf 'a\000b\n' | run "$CPK" user mod alice --password-stdin)" 1 "a NUL in the password: exit 1"
is "$(cat "$S/err")" "cpk: --password-stdin: the password contains a NUL byte" "a NUL: message"
is "$(run "$CPK" user lock alice)" 0 "user lock"
ldapwhoami -x -H "$SLAPD_URI" -D "uid=alice,ou=People,$SLAPD_BASE" -y "$S/alicepw" \
	>/dev/null 2>&1
is $? 49 "a locked user cannot bind"
run "$CPK" user show alice --json >/dev/null
is "$(json "$S/out" 'print(d["locked"])')" "True" "--json shows locked"
is "$(run "$CPK" user lock alice)" 0 "locking again changes nothing"
is "$(run "$CPK" user unlock alice)" 0 "user unlock"
ldapwhoami -x -H "$SLAPD_URI" -D "uid=alice,ou=People,$SLAPD_BASE" -y "$S/alicepw" \
	>/dev/null 2>&1
ok $? "unlocked: alice binds again"
is "$(run "$CPK" user lock nobody)" 1 "lock a missing user: exit 1"

# ---- group members ---------------------------------------------------
is "$(run "$CPK" user add bob --no-home)" 0 "user add bob --no-home"
[ ! -e "$S/home/bob" ]; ok $? "--no-home made no home"
is "$(run "$CPK" group add-member team bob quoter)" 0 "group add-member two users"
is "$(run "$CPK" group add-member team bob)" 1 "add-member again: exit 1"
is "$(run "$CPK" group add-member team nobody)" 1 "add-member of a missing user: exit 1"
is "$(run "$CPK" group show team --json)" 0 "group show --json"
is "$(json "$S/out" 'print(d["name"], d["gid"], ",".join(sorted(d["members"])))')" \
   "team 20000 alice,bob,quoter" "group show --json parses back"
is "$(run "$CPK" group remove-member team bob)" 0 "group remove-member"
is "$(run "$CPK" group remove-member team bob)" 1 "remove-member again: exit 1"
is "$(run "$CPK" group del bob)" 1 "deleting a user's primary group: exit 1"
is "$(run "$CPK" group list --json)" 0 "group list --json"
is "$(json "$S/out" 'print(" ".join(sorted(g["name"] for g in d)))')" \
   "alice bob gpu quoter team" "group list --json parses back"
is "$(run "$CPK" group list)" 0 "group list"
grep -q '^team  *20000 alice,quoter$' "$S/out"; ok $? "group list for people"
is "$(run "$CPK" group add empty)" 0 "group add empty"
is "$(run "$CPK" group del empty)" 0 "group del"
is "$(run "$CPK" group del empty)" 1 "group del again: exit 1"

# ---- injection through the command line ------------------------------
for bad in 'a*)(uid=*' 'x,ou=Groups' '*' 'alice)(|(uid=*' '-rf' 'Alice' 'a b'; do
	is "$(run "$CPK" user add --no-home -- "$bad")" 1 "user add '$bad' refused"
	grep -q "invalid name" "$S/err"; ok $? "user add '$bad': invalid name"
	is "$(run "$CPK" user show -- "$bad")" 1 "user show '$bad' shows nobody"
	is "$(run "$CPK" user del -- "$bad")" 1 "user del '$bad' deletes nothing"
	is "$(run "$CPK" group add -- "$bad")" 1 "group add '$bad' refused"
	is "$(run "$CPK" group add-member -- team "$bad")" 1 "add-member '$bad' refused"
done
is "$(run "$CPK" user add -rf)" 2 "a name like an option is a usage error"
is "$(run "$CPK" user add eve --no-home --groups 'team,x,ou=Groups')" 1 \
   "a supplementary group list with DN syntax is refused"
is "$(run "$CPK" user show eve)" 1 "and no eve was made"
n=$(ldapsearch -x -LLL -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -y "$SLAPD_ROOTPW_FILE" \
	-b "$SLAPD_BASE" '(|(objectClass=posixAccount)(objectClass=posixGroup))' dn |
	grep -c '^dn:')
is "$n" 8 "the directory holds only the 3 users and 5 groups made above"

# ---- list ------------------------------------------------------------
is "$(run "$CPK" user list --json)" 0 "user list --json"
is "$(json "$S/out" 'print(" ".join(sorted(u["name"] for u in d)))')" "alice bob quoter" \
   "user list --json parses back"
is "$(run "$CPK" user list)" 0 "user list"
grep -q '^USER ' "$S/out" && grep -q '^bob  *30002  *20003 no  */bin/bash  *bob$' "$S/out"
ok $? "user list for people"
"$CPK" user list | head -c 10 >/dev/null
ok $? "user list into a closed pipe does not hang or crash"

# ---- homes: removal and refusals -------------------------------------
if [ "$(id -u)" = 0 ]; then
	is "$(run "$CPK" user add carol --gecos Carol)" 0 "user add carol (with a home)"
	chown 12345 "$S/home/carol"
	is "$(run "$CPK" user del carol --remove-home)" 1 \
	   "--remove-home refuses a home owned by someone else"
	grep -q "user carol not deleted" "$S/err"; ok $? "and says the user was kept"
	is "$(run "$CPK" user show carol)" 0 "carol is still there"
	[ -d "$S/home/carol" ]; ok $? "the foreign home is still there"
	chown 30003 "$S/home/carol"
	is "$(run "$CPK" user del carol --remove-home)" 0 "user del --remove-home"
	is "$(cat "$S/out")" "deleted user carol and its home" "user del --remove-home: message"
	[ ! -e "$S/home/carol" ]; ok $? "the home is gone"
	is "$(run "$CPK" group show carol)" 1 "the personal group is gone"
	# a failed home creation: the entries are removed again
	: > "$S/home/dave"
	is "$(run "$CPK" user add dave)" 1 "user add with home_root/NAME in the way: exit 1"
	grep -q "the new entries for dave were removed again" "$S/err"; ok $? "says it undid the add"
	is "$(run "$CPK" user show dave)" 1 "no user dave"
	is "$(run "$CPK" group show dave)" 1 "no group dave"
	[ -f "$S/home/dave" ]; ok $? "the file in the way is untouched"
	# a skeleton that cannot be read: no entry and no home
	sed "s#skel: .*#skel: $S/noskel#" "$S/cluster.yaml" > "$S/noskel.yaml"
	is "$(CPK_CONFIG=$S/noskel.yaml run "$CPK" user add erin)" 1 "missing skel: exit 1"
	is "$(run "$CPK" user show erin)" 1 "missing skel: no user erin"
	[ ! -e "$S/home/erin" ]; ok $? "missing skel: no home erin"
else
	ok 0 "# skip homes need root"
fi
is "$(run "$CPK" user del bob --remove-home)" 0 "user del --remove-home without a home"
grep -q "no home to remove" "$S/err"; ok $? "says there was no home"
is "$(run "$CPK" user del bob)" 1 "user del again: exit 1"

# ---- concurrent adds: 15 from the pool, 5 with explicit uids where the pool goes ----
# (issue 13 item 7: explicit ids are claimed as atomically as the pool's)
run "$CPK" user list --json >/dev/null
top=$(json "$S/out" 'print(max(u["uid"] for u in d))')
i=0 pids=""
while [ $i -lt 20 ]; do
	if [ $i -lt 15 ]; then
		"$CPK" user add "par$i" >"$S/par$i.out" 2>&1 &
	else	# uids top+1, top+2, top+3, top+3, top+4: two adds want the same
		x=$((i - 14)); [ $i -ge 18 ] && x=$((i - 15))
		"$CPK" user add "par$i" --uid $((top + x)) >"$S/par$i.out" 2>&1 &
	fi
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do wait "$p"; done	# not a bare wait: slapd is a child too
fails=0 xok=0 xbad=0
i=0
while [ $i -lt 20 ]; do
	if [ $i -lt 15 ]; then
		grep -q "^added user par$i " "$S/par$i.out" || { fails=$((fails + 1)); sed 's/^/# /' "$S/par$i.out"; }
	elif grep -q "^added user par$i " "$S/par$i.out"; then
		xok=$((xok + 1))
	else	# the pool or the twin took it first
		grep -Eq "^cpk: uid [0-9]* is (already used|claimed by another add under way \(claim uid-[0-9]* made at .* UTC; one no entry uses is taken over after 10 minutes\))$" "$S/par$i.out" || { xbad=$((xbad + 1)); sed 's/^/# /' "$S/par$i.out"; }
	fi
	i=$((i + 1))
done
is "$fails" 0 "15 concurrent pool adds all succeed"
is "$xbad" 0 "5 concurrent explicit adds succeed or say the uid is already used"
[ "$xok" -ge 1 ] && [ "$xok" -le 4 ]; ok $? "1 to 4 explicit adds made (two wanted one uid): $xok"
run "$CPK" user list --json >/dev/null
is "$(json "$S/out" 'p=[u for u in d if u["name"].startswith("par")]; print(len(p) - len(set(u["uid"] for u in p)), len(d) - len(set(u["uid"] for u in d)), len(p) - len(set(u["gid"] for u in p)))')" \
   "0 0 0" "no duplicate uid among them or in the whole directory, nor gid"
is "$(json "$S/out" 'print(len([u for u in d if u["name"].startswith("par")]))')" "$((15 + xok))" \
   "every add that said so made its user"
for i in 15 16 17 18 19; do
	if grep -q "^added user par$i " "$S/par$i.out"; then
		run "$CPK" user show "par$i" --json >/dev/null
		want=$(sed -n 's/^added user par[0-9]* (uid \([0-9]*\),.*/\1/p' "$S/par$i.out")
		is "$(json "$S/out" 'print(d["uid"])')" "$want" "par$i has the uid it asked for"
	fi
done
n=$(ldapsearch -x -LLL -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -y "$SLAPD_ROOTPW_FILE" \
	-b "cn=idpool,$SLAPD_BASE" -s one '(cn=uid-*)' uidNumber | grep -c '^uidNumber:')
run "$CPK" user list --json >/dev/null
is "$n" "$(json "$S/out" 'print(len(d))')" "one uid claim per user: none left by deleted or failed adds"
# a deleted user's uid may be given again explicitly
ux=$(json "$S/out" 'print([u["uid"] for u in d if u["name"] == "par0"][0])')
is "$(run "$CPK" user del par0)" 0 "delete par0"
is "$(run "$CPK" user add par0 --uid "$ux" --no-home)" 0 "its uid given again with --uid"
# a claim no entry uses: left by a stopped add or delete (old), or an add
# under way (new).  slapd takes an old createTimestamp with the relax control.
claim() {	# KIND ID [TIMESTAMP]
	{ printf 'dn: cn=%s-%s,cn=idpool,%s\nobjectClass: device\nobjectClass: extensibleObject\ncn: %s-%s\n%sNumber: %s\n' \
		"$1" "$2" "$SLAPD_BASE" "$1" "$2" "$1" "$2"
	  [ -z "${3-}" ] || printf 'createTimestamp: %s\n' "$3"; } > "$S/claim.ldif"
	ldapadd -x -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -y "$SLAPD_ROOTPW_FILE" -e relax \
		-f "$S/claim.ldif" >/dev/null
}
claim uid 38001 20200101000000Z; ok $? "a stale claim of uid 38001 (2020)"
claim uid 38002; ok $? "a fresh claim of uid 38002"
claim gid 28001 20200101000000Z; ok $? "a stale claim of gid 28001 (2020)"
is "$(run "$CPK" user add stale1 --uid 38001 --no-home)" 0 "--uid of a stale claim: taken over"
is "$(run "$CPK" user add stale2 --uid 38002 --no-home)" 1 "--uid of a fresh claim: exit 1"
grep -Eq "^cpk: uid 38002 is claimed by another add under way \(claim uid-38002 made at $(date -u +%Y-%m-%d) [0-9:]{8} UTC; one no entry uses is taken over after 10 minutes\)$" "$S/err"
ok $? "the fresh claim's message says when it was made and when it is taken over"
is "$(run "$CPK" group add stalegrp --gid 28001)" 0 "--gid of a stale claim: taken over"
is "$(run "$CPK" user show stale2)" 1 "no user made from a fresh claim"
n=$(ldapsearch -x -LLL -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -y "$SLAPD_ROOTPW_FILE" \
	-b "cn=uid-38001,cn=idpool,$SLAPD_BASE" -s base createTimestamp | sed -n 's/^createTimestamp: //p')
[ -n "$n" ] && [ "${n#2020}" = "$n" ]; ok $? "the taken-over claim is a new one ($n)"
is "$(run "$CPK" user del stale1)" 0 "stale1 deleted"
is "$(run "$CPK" group del stalegrp)" 0 "stalegrp deleted"
ldapdelete -x -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -y "$SLAPD_ROOTPW_FILE" "cn=uid-38002,cn=idpool,$SLAPD_BASE"
ok $? "the fresh claim removed"
if [ "$(id -u)" = 0 ]; then
	bad=0
	for f in "$S"/home/par*; do
		u=$(stat -c %u "$f"); n=${f##*/}
		run "$CPK" user show "$n" --json >/dev/null
		[ "$(json "$S/out" 'print(d["uid"])')" = "$u" ] || bad=$((bad + 1))
	done
	is "$bad" 0 "each concurrent home is owned by its own uid"
fi

# ---- boundaries and failures that must change nothing -----------------
n32=$(printf 'a%.0s' $(seq 32))
is "$(run "$CPK" user add "$n32" --no-home)" 0 "a 32-character name is taken"
is "$(run "$CPK" user del "$n32")" 0 "and deleted"
is "$(run "$CPK" user add "${n32}b" --no-home)" 1 "a 33-character name: exit 1"
grep -q "longer than 32 characters" "$S/err"; ok $? "a 33-character name: says why"
is "$(run "$CPK" user show "${n32}b")" 1 "and no such user was made"
is "$(run "$CPK" user add zero --uid 0 --no-home)" 2 "--uid 0: exit 2"
is "$(run "$CPK" group add zero --gid 0)" 2 "--gid 0: exit 2"
is "$(run "$CPK" user show zero)$(run "$CPK" group show zero)" 11 "--uid 0 and --gid 0 made nothing"
# passwords: 1024 bytes are taken, 1025 are not; a CRLF line ending is no part of it
p1024=$(printf 'p%.0s' $(seq 1024))
printf '%s' "$p1024" > "$S/p1024"
is "$(printf '%s\n' "$p1024" | run "$CPK" user mod alice --password-stdin)" 0 "a 1024-byte password"
ldapwhoami -x -H "$SLAPD_URI" -D "uid=alice,ou=People,$SLAPD_BASE" -y "$S/p1024" >/dev/null 2>&1
ok $? "alice binds with the 1024-byte password"
is "$(printf '%sq\n' "$p1024" | run "$CPK" user mod alice --password-stdin)" 1 "a 1025-byte password: exit 1"
is "$(cat "$S/err")" "cpk: --password-stdin: the password is longer than 1024 bytes" "a 1025-byte password: message"
ldapwhoami -x -H "$SLAPD_URI" -D "uid=alice,ou=People,$SLAPD_BASE" -y "$S/p1024" >/dev/null 2>&1
ok $? "and the password is unchanged"
is "$(printf 'crlf pass\r\n' | run "$CPK" user mod alice --password-stdin)" 0 "a password line ending in CRLF"
printf 'crlf pass' > "$S/crlfpw"; chmod 600 "$S/crlfpw"
ldapwhoami -x -H "$SLAPD_URI" -D "uid=alice,ou=People,$SLAPD_BASE" -y "$S/crlfpw" >/dev/null 2>&1
ok $? "alice binds with it, without the CR"
# several members: a failing one does not stop the others
is "$(run "$CPK" group add-member gpu par0 ghost par1)" 1 "add-member with a missing user among others: exit 1"
is "$(cat "$S/err")" "cpk: no such user 'ghost' under $SLAPD_BASE" "the missing user is named"
run "$CPK" group show gpu --json >/dev/null
is "$(json "$S/out" 'print(",".join(sorted(m for m in d["members"] if m != "alice")))')" "par0,par1" \
   "the users around it were added"
is "$(run "$CPK" group remove-member gpu ghost par0)" 1 "remove-member with a non-member among others: exit 1"
run "$CPK" group show gpu --json >/dev/null
is "$(json "$S/out" 'print(",".join(sorted(m for m in d["members"] if m != "alice")))')" "par1" \
   "the member after it was removed"
is "$(run "$CPK" group remove-member nogroup par1)" 1 "remove-member from a missing group: exit 1"
is "$(cat "$S/err")" "cpk: no such group 'nogroup' under $SLAPD_BASE" "the missing group is named"
is "$(run "$CPK" group del nogroup)" 1 "group del of a missing group: exit 1"
is "$(cat "$S/err")" "cpk: no such group 'nogroup' under $SLAPD_BASE" "group del of a missing group: message"

# ---- the ends of the id ranges (last: the pool is left past the ranges) ----
sed 's/uid_range: .*/uid_range: 39998-39999/' "$S/cluster.yaml" > "$S/tiny.yaml"
is "$(CPK_CONFIG=$S/tiny.yaml run "$CPK" user add tiny1 --no-home)" 0 "a range of 2 uids: first user"
grep -q '^added user tiny1 (uid 39998, ' "$S/out"; ok $? "gets the range's first uid, 39998"
is "$(CPK_CONFIG=$S/tiny.yaml run "$CPK" user add tiny2)" 0 "second user"
grep -q '^added user tiny2 (uid 39999, ' "$S/out"; ok $? "gets the range's last uid, 39999"
is "$(CPK_CONFIG=$S/tiny.yaml run "$CPK" user add tiny3)" 1 "a third user: exit 1"
grep -q "no free uid left: users.uid_range 39998-39999 is exhausted" "$S/err"; ok $? "says the range is exhausted"
is "$(run "$CPK" user show tiny3)$(run "$CPK" group show tiny3)" 11 "no user or group tiny3 was made"
[ ! -e "$S/home/tiny3" ]; ok $? "nor a home"
sed 's/gid_range: .*/gid_range: 29998-29999/' "$S/cluster.yaml" > "$S/tinyg.yaml"
is "$(CPK_CONFIG=$S/tinyg.yaml run "$CPK" group add tg1)" 0 "a range of 2 gids: first group"
is "$(cat "$S/out")" "added group tg1 (gid 29998)" "gets the range's first gid"
is "$(CPK_CONFIG=$S/tinyg.yaml run "$CPK" group add tg2)" 0 "second group"
is "$(cat "$S/out")" "added group tg2 (gid 29999)" "gets the range's last gid"
is "$(CPK_CONFIG=$S/tinyg.yaml run "$CPK" group add tg3)" 1 "a third group: exit 1"
grep -q "no free gid left: users.gid_range 29998-29999 is exhausted" "$S/err"; ok $? "says the range is exhausted"
is "$(run "$CPK" group show tg3)" 1 "no group tg3 was made"

# ---- the control node's own accounts, reserved names, low ids (issue 13 item 2) ----
# $CPK_ROOT/etc/passwd and group (tests/lib/accounts.sh) stand for the node's
for n in daemon root nobody sshd slurm; do
	is "$(run "$CPK" user add "$n" --no-home --force)" 1 "user add $n (reserved): exit 1, even with --force"
done
grep -q "user name 'slurm' is reserved for a system account or group" "$S/err"; ok $? "reserved: message"
for n in staff users wheel sudo; do
	is "$(run "$CPK" group add "$n" --force)" 1 "group add $n (reserved): exit 1, even with --force"
done
is "$(run "$CPK" user add localadm --no-home --force)" 1 "a user named like a local account: exit 1, even with --force"
is "$(cat "$S/err")" "cpk: 'localadm' is a local account of the control node ($CPK_ROOT/etc/passwd or $CPK_ROOT/etc/group)" \
   "a local account: message"
is "$(run "$CPK" user add localgrp --no-home --group gpu)" 1 "a user named like a local group: exit 1"
is "$(run "$CPK" group add localgrp --gid 25001)" 1 "a group named like a local group: exit 1"
grep -q -- "--force makes the LDAP group anyway" "$S/err"; ok $? "says what --force would do"
is "$(run "$CPK" group add localgrp --gid 25001 --force)" 0 "with --force: made"
is "$(run "$CPK" user add lowuid --no-home --group gpu --uid 5000)" 1 "--uid below users.uid_range: exit 1"
is "$(cat "$S/err")" "cpk: uid 5000 is below users.uid_range (30000-39999); --force takes it anyway" \
   "--uid below the range: message"
is "$(run "$CPK" user add lowuid --no-home --group gpu --uid 5000 --force)" 0 "with --force: made"
is "$(run "$CPK" user add sysuid --no-home --group gpu --uid 999 --force)" 1 "a system uid, even with --force: exit 1"
grep -q "system ids are never given" "$S/err"; ok $? "system uid: message"
is "$(run "$CPK" user add localuid --no-home --group gpu --uid 1000 --force)" 1 "a local account's uid: exit 1"
grep -q "uid 1000 belongs to a local user of the control node" "$S/err"; ok $? "local uid: message"
is "$(run "$CPK" group add lowgid --gid 1001 --force)" 1 "a local group's gid: exit 1"
is "$(run "$CPK" group add lowgid --gid 7000)" 1 "--gid below users.gid_range: exit 1"
is "$(run "$CPK" user add nowhere --no-home --root "$S/noroot")" 1 "a --root without passwd/group: exit 1"
grep -q "cannot check the control node's accounts" "$S/err"; ok $? "says it cannot check"
is "$(run "$CPK" user show nowhere)$(run "$CPK" user show localuid)$(run "$CPK" group show lowgid)" 111 \
   "none of the refused ones was made"
is "$(run "$CPK" user add rootok --no-home --group gpu --uid 31234 --root "$S/root")" 0 "--root DIR"

# ---- errors of the connection ----------------------------------------
cp "$S/cluster.yaml" "$S/badpw.yaml"
printf 'wrong' > "$S/wrongpw"; chmod 600 "$S/wrongpw"
sed -i "s#bind_password_file: .*#bind_password_file: $S/wrongpw#" "$S/badpw.yaml"
is "$(CPK_CONFIG=$S/badpw.yaml run "$CPK" user list)" 1 "wrong bind password: exit 1"
is "$(cat "$S/err")" "cpk: $SLAPD_URI: cannot bind as $SLAPD_ROOTDN: invalid credentials (wrong password in $S/wrongpw, or no such DN)" \
   "wrong bind password: message"
chmod 644 "$S/wrongpw"
is "$(CPK_CONFIG=$S/badpw.yaml run "$CPK" user show alice)" 1 "password file mode 0644: exit 1"
grep -q "refusing the bind password file $S/wrongpw: it is accessible by group or others (mode 0644)" \
	"$S/err"; ok $? "password file mode 0644: refused with the reason"
sed '/^ldap:/,$d' "$S/cluster.yaml" > "$S/noldap.yaml"
is "$(CPK_CONFIG=$S/noldap.yaml run "$CPK" user list)" 1 "no ldap section: exit 1"
is "$(cat "$S/err")" "cpk: $S/noldap.yaml: the description has no ldap section" "no ldap section: message"
is "$(run "$CPK" user list -f "$S/none.yaml")" 1 "missing description: exit 1"
uri=$SLAPD_URI
slapd_stop
is "$(run "$CPK" user list)" 1 "server down: exit 1"
grep -q "^cpk: cannot reach the LDAP server $uri" "$S/err"; ok $? "server down: clear message"
is "$(wc -l < "$S/err")" 1 "server down: one line"

done_testing
