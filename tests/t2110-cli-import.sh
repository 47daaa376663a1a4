#!/bin/sh
# t2110: cpk user import against a real slapd: CSV and YAML files with good
# and bad rows (each bad row reported as FILE:LINE with the reason; by
# default nothing added, with --partial the good ones), the summary line,
# re-running (existing users, which must match their rows), files that
# cannot be used at all (NUL bytes among them), bad rows that must change
# nothing (missing groups, uid 0 and past 2^32-2, another uid, gecos at
# 255/256 bytes, a shell with a space), and a failed write that undoes the
# whole run (or, with --partial, its row).
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
. "$TOP/tests/lib/accounts.sh"
acct_start
S=$SCRATCH
key=$(cat "$S/key1.pub")
run "$CPK" ldap init >/dev/null
run "$CPK" group add team >/dev/null
run "$CPK" group add gpu >/dev/null
run "$CPK" user add olduser --no-home --uid 31000 --gecos 'Old User' >/dev/null

# ---- CSV ---------------------------------------------------------------
cat > "$S/users.csv" <<CSV
# accounts for the spring course
name,gecos,shell,group,groups,uid,ssh_key
ann,"Ann Smith, Room 3",,,"team,gpu",,$key
ben,Ben,/bin/sh,team,,,
Bad,Bad Name,,,,,
cid,Cid,bin/sh,,,,
dee,Dee,,,nogroup,,
eli,Eli,,,,12x,
ann,Ann Again,,,,,
fay,"Fay: colon",,,,,
gus,Gus,,,,
olduser,Old User,,,,31000,
oldx,"unterminated,,,,,,
CSV
is "$(run "$CPK" user import "$S/users.csv")" 1 "CSV with bad rows: exit 1"
cp "$S/err" "$S/err.all"
is "$(cat "$S/out")" "$S/users.csv: nothing added: 8 bad rows (--partial adds the good ones)" \
   "all or nothing: one bad row and nothing is added"
is "$(run "$CPK" user show ann)$(run "$CPK" user show ben)" 11 "no ann, no ben"
is "$(run "$CPK" user import --partial "$S/users.csv")" 1 "--partial: exit 1"
cmp -s "$S/err" "$S/err.all"; ok $? "--partial reports the same bad rows"
is "$(cat "$S/err")" "cpk: $S/users.csv:5: invalid name 'Bad': character 'B' is not allowed (use [a-z_][a-z0-9_-]*, optionally ending in '\$')
cpk: $S/users.csv:6: cid: shell 'bin/sh' is not an absolute path
cpk: $S/users.csv:7: dee: no such group 'nogroup' under $SLAPD_BASE
cpk: $S/users.csv:8: eli: uid '12x' is not a positive number
cpk: $S/users.csv:9: user ann is already on line 3
cpk: $S/users.csv:10: fay: gecos: character U+003A at position 3 is not allowed (no control characters or ':')
cpk: $S/users.csv:11: 6 fields, but the header has 7
cpk: $S/users.csv:13: unterminated quoted field" "CSV: every bad row with file:line and the reason"
is "$(cat "$S/out")" "added ann (uid 30000)
added ben (uid 30001)
exists olduser
$S/users.csv: added 2, existing 1, failed 8" "CSV: good rows added, the summary"
run "$CPK" user show ann --json >/dev/null
is "$(json "$S/out" 'print(d["gecos"], "|", ",".join(sorted(d["groups"])), "|", d["ssh_keys"][0].split()[2])')" \
   "Ann Smith, Room 3 | gpu,team | key1" "ann: quoted gecos, both groups, the key"
run "$CPK" user show ben --json >/dev/null
is "$(json "$S/out" 'print(d["shell"], d["gid"])')" "/bin/sh 20000" "ben: shell and primary group team"
if [ "$(id -u)" = 0 ]; then
	is "$(stat -c '%u %a' "$S/home/ann")" "30000 700" "ann's home made"
else
	ok 0 "# skip homes need root"
fi
for u in cid dee eli fay gus; do
	run "$CPK" user show "$u" >/dev/null
	is "$(cat "$S/err")" "cpk: no such user '$u' under $SLAPD_BASE" "bad row $u added nothing"
done

# re-running: the good rows exist now, the bad rows are still bad
is "$(run "$CPK" user import --partial "$S/users.csv")" 1 "CSV again: exit 1 (the bad rows)"
is "$(tail -n 1 "$S/out")" "$S/users.csv: added 0, existing 3, failed 8" "CSV again: all good rows exist"
grep -v '^ *$' "$S/users.csv" | sed -n '1,4p' > "$S/good.csv"
is "$(run "$CPK" user import "$S/good.csv")" 0 "only good rows, again: exit 0"
is "$(cat "$S/out")" "exists ann
exists ben
$S/good.csv: added 0, existing 2, failed 0" "only good rows, again: nothing added"
printf 'name,shell\nben,/bin/bash\n' > "$S/differs.csv"
is "$(run "$CPK" user import "$S/differs.csv")" 1 "an existing user that differs: exit 1"
is "$(cat "$S/err")" "cpk: $S/differs.csv:2: user ben exists with shell /bin/sh, not /bin/bash" \
   "an existing user that differs: says how"

# ---- YAML --------------------------------------------------------------
cat > "$S/users.yaml" <<YAML
# chosen by extension
- name: hal
  gecos: "Hal: the computer"
- name: ida
  gecos: Ida Q
  groups: [team, gpu]
  uid: 32000
- name: jon
  shell: /bin/zsh
  colour: blue
- just a string
- name: kim
  groups: {a: b}
- gecos: no name
- name: lou
YAML
is "$(run "$CPK" user import --partial "$S/users.yaml")" 1 "YAML with bad rows: exit 1"
is "$(cat "$S/err")" "cpk: $S/users.yaml:2: hal: gecos: character U+003A at position 3 is not allowed (no control characters or ':')
cpk: $S/users.yaml:8: unknown key 'colour' (known: name, gecos, shell, group, groups, uid, ssh_key)
cpk: $S/users.yaml:11: expected a mapping (name: ..., gecos: ...)
cpk: $S/users.yaml:12: 'groups' must be a list of group names
cpk: $S/users.yaml:14: no name" "YAML: every bad row with file:line and the reason"
is "$(cat "$S/out")" "added ida (uid 32000)
added lou (uid 30002)
$S/users.yaml: added 2, existing 0, failed 5" "YAML: good rows added, the summary"
run "$CPK" user show ida --json >/dev/null
is "$(json "$S/out" 'print(d["uid"], ",".join(sorted(d["groups"])))')" "32000 gpu,team" "ida: uid and groups"

# chosen by content: a list without an extension
printf -- '- name: max\n  gecos: Max\n' > "$S/people"
is "$(run "$CPK" user import "$S/people")" 0 "YAML found by content"
is "$(cat "$S/out")" "added max (uid 30003)
$S/people: added 1, existing 0, failed 0" "YAML by content: added"
printf 'name\nned\n' > "$S/people2"
is "$(run "$CPK" user import "$S/people2")" 0 "CSV found by content"

# ---- files that cannot be used at all: nothing is added -----------------
printf 'name,colour\nzed,red\n' > "$S/unknown.csv"
is "$(run "$CPK" user import "$S/unknown.csv")" 1 "unknown CSV column: exit 1"
is "$(cat "$S/err")" "cpk: $S/unknown.csv:1: unknown column 'colour' (known: name, gecos, shell, group, groups, uid, ssh_key)" \
   "unknown CSV column: message"
printf 'gecos\nZed\n' > "$S/noname.csv"
is "$(run "$CPK" user import "$S/noname.csv")" 1 "CSV without a name column: exit 1"
is "$(cat "$S/err")" "cpk: $S/noname.csv:1: the header has no 'name' column" "no name column: message"
printf -- '- name: zed\n  gecos: [unclosed\n' > "$S/broken.yaml"
is "$(run "$CPK" user import "$S/broken.yaml")" 1 "YAML syntax error: exit 1"
grep -q "^cpk: $S/broken.yaml:3: YAML: " "$S/err"; ok $? "YAML syntax error: file:line"
printf 'name: zed\n' > "$S/map.yaml"
is "$(run "$CPK" user import "$S/map.yaml")" 1 "YAML that is not a list: exit 1"
is "$(cat "$S/err")" "cpk: $S/map.yaml:1: expected a list of users (- name: ...)" "not a list: message"
is "$(run "$CPK" user import "$S/none.csv")" 1 "missing file: exit 1"
is "$(run "$CPK" user import)" 2 "no file: exit 2"
run "$CPK" user show zed >/dev/null
is "$(cat "$S/err")" "cpk: no such user 'zed' under $SLAPD_BASE" "unusable files added nobody"

# ---- more rows that must change nothing ----------------------------------
g255=$(printf 'g%.0s' $(seq 255))
cat > "$S/more.csv" <<CSV
name,gecos,group,groups,uid
gil,Gil,nogroup,,
hap,Hap,,"team,nogroup",
ivy,Ivy,,,0
olduser,Old User,,,31001
jay,${g255}x,,,
kay,$g255,,,
daemon,D,,,
localadm,L,,,
low,Low,,,5000
CSV
is "$(run "$CPK" user import --partial --no-home "$S/more.csv")" 1 "more bad rows: exit 1"
is "$(cat "$S/err")" "cpk: $S/more.csv:2: gil: no such group 'nogroup' under $SLAPD_BASE
cpk: $S/more.csv:3: hap: no such group 'nogroup' under $SLAPD_BASE
cpk: $S/more.csv:4: ivy: uid '0' is not a positive number
cpk: $S/more.csv:5: user olduser exists with uid 31000, not 31001
cpk: $S/more.csv:6: jay: gecos is longer than 255 bytes
cpk: $S/more.csv:8: user name 'daemon' is reserved for a system account or group
cpk: $S/more.csv:9: 'localadm' is a local account of the control node ($CPK_ROOT/etc/passwd or $CPK_ROOT/etc/group)
cpk: $S/more.csv:10: uid 5000 is below users.uid_range (30000-39999); leave it out (the pool gives one) or add this user with 'cpk user add --force'" \
   "a missing primary group, a missing group among good ones, uid 0, another uid, 256-byte gecos, a reserved name, a local account, a low uid"
grep -q '^added kay (uid [0-9]*)$' "$S/out" && [ "$(wc -l < "$S/out")" = 2 ]
ok $? "only kay, with a 255-byte gecos, was added"
is "$(tail -n 1 "$S/out")" "$S/more.csv: added 1, existing 0, failed 8" "more bad rows: the summary"
for u in gil hap ivy jay daemon localadm low; do
	run "$CPK" user show "$u" >/dev/null
	is "$(cat "$S/err")" "cpk: no such user '$u' under $SLAPD_BASE" "bad row $u added no user"
	is "$(run "$CPK" group show "$u")" 1 "bad row $u added no group"
done
run "$CPK" group show team --json >/dev/null
is "$(json "$S/out" 'print("hap" in d["members"])')" "False" "hap's good group team did not get it as a member"
run "$CPK" user show olduser --json >/dev/null
is "$(json "$S/out" 'print(d["uid"])')" "31000" "olduser keeps its uid"

# ---- a write that fails: all or nothing undoes the run, --partial its row ----
if [ "$(id -u)" = 0 ]; then
	mkdir "$S/home/pat"
	printf 'name\nquin\npat\nrob\n' > "$S/homes.csv"
	is "$(run "$CPK" user import "$S/homes.csv")" 1 "a home in the way: exit 1"
	grep -q "^cpk: $S/homes.csv:3: .*pat.*(the new entries for pat were removed again)$" "$S/err"
	ok $? "a home in the way: the row's entries were removed again"
	is "$(cat "$S/out")" "added quin (uid 30006)
removed quin again
$S/homes.csv: nothing added: a write failed and the users added before it were removed" \
	   "all or nothing: quin, added before, is removed again; rob is not tried"
	is "$(run "$CPK" user show quin)$(run "$CPK" user show pat)$(run "$CPK" user show rob)" 111 \
	   "no quin, pat or rob"
	[ ! -e "$S/home/quin" ]; ok $? "quin's home is gone too"
	is "$(run "$CPK" user import --partial "$S/homes.csv")" 1 "--partial: exit 1"
	is "$(tail -n 1 "$S/out")" "$S/homes.csv: added 2, existing 0, failed 1" "--partial: the other rows were added"
	is "$(run "$CPK" user show pat)" 1 "no user pat"
	is "$(run "$CPK" user import --no-home "$S/homes.csv")" 0 "--no-home: pat is added"
	is "$(tail -n 1 "$S/out")" "$S/homes.csv: added 1, existing 2, failed 0" "--no-home: summary"
fi

# ---- checked before anything is written (issue 13 item 8) ----------------
printf 'name,shell,uid\nsam,/bin/sh,\ntia,/bin/my shell,\numa,,4294967295\n' > "$S/late.csv"
is "$(run "$CPK" user import --no-home "$S/late.csv")" 1 "a shell with a space, a uid past 2^32-2: exit 1"
is "$(cat "$S/err")" "cpk: $S/late.csv:3: tia: shell: byte 0x20 at position 7 is not allowed (printable ASCII without ':' or spaces)
cpk: $S/late.csv:4: uma: uid 4294967295 is out of range (1-4294967294)" "both found by the check, before any write"
is "$(run "$CPK" user show sam)" 1 "and sam, a good row, was not added"
# NUL bytes: the whole file is refused, nothing cut short
printf 'name\nvic\000\nwes\n' > "$S/nul.csv"
is "$(run "$CPK" user import --no-home "$S/nul.csv")" 1 "a NUL byte in CSV: exit 1"
is "$(cat "$S/err")" "cpk: $S/nul.csv:2: a NUL byte (offset 8): not a text file" "a NUL byte in CSV: message"
printf -- '- name: vic\n- name: wes\000\n' > "$S/nul.yaml"
is "$(run "$CPK" user import --no-home "$S/nul.yaml")" 1 "a NUL byte in YAML: exit 1"
grep -q "a NUL byte (offset 23)" "$S/err"; ok $? "a NUL byte in YAML: message"
is "$(run "$CPK" user show vic)$(run "$CPK" user show wes)" 11 "no vic, no wes"
{ cat "$S/key2.pub"; printf '\000'; cat "$S/key1.pub"; } > "$S/nul.pub"
is "$(run "$CPK" user add vic --no-home --ssh-key "$S/nul.pub")" 1 "a NUL byte in a key file: exit 1"
grep -q "a NUL byte (offset [0-9]*): not a public key file" "$S/err"; ok $? "a NUL byte in a key file: message"
# an existing user must match its row: groups and key too
printf 'name,groups\nann,"team,gpu"\n' > "$S/same.csv"
is "$(run "$CPK" user import "$S/same.csv")" 0 "ann with her groups: exists"
printf 'name,groups\nann,"team,gpu,extra"\n' > "$S/groups.csv"
run "$CPK" group add extra >/dev/null
is "$(run "$CPK" user import "$S/groups.csv")" 1 "ann with a group she is not in: exit 1"
is "$(cat "$S/err")" "cpk: $S/groups.csv:2: user ann exists and is not in group extra" "says which group"
printf 'name,ssh_key\nann,%s\n' "$(cat "$S/key2.pub")" > "$S/key.csv"
is "$(run "$CPK" user import "$S/key.csv")" 1 "ann with another key: exit 1"
is "$(cat "$S/err")" "cpk: $S/key.csv:2: user ann exists without the row's ssh key" "says so"
printf 'name,ssh_key\nxen,ssh-ed25519 AAAAnotakey\n' > "$S/badkey.csv"
is "$(run "$CPK" user import --no-home "$S/badkey.csv")" 1 "a key that is no key: exit 1"
grep -q "xen: 'ssh-ed25519 AAAAnotakey' is not an ssh public key line" "$S/err"; ok $? "the same key check as add"
# UTF-8 names as add takes them
printf 'name,gecos\nzoe,"Zoë Łoś,Lab"\n' > "$S/utf8.csv"
is "$(run "$CPK" user import --no-home "$S/utf8.csv")" 0 "a UTF-8 gecos"
run "$CPK" user show zoe --json >/dev/null
is "$(json "$S/out" 'print(d["cn"], "|", d["gecos"])')" "Zoë Łoś | Zoe Los,Lab" "cn in UTF-8, gecos in ASCII"
is "$(run "$CPK" user import --no-home "$S/utf8.csv")" 0 "again: it exists and matches"

done_testing
