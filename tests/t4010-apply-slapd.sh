#!/bin/sh
# t4010: the control role's LDAP server, as `cpk apply` installs it, run from
# the applied root (tests/rig/apply.sh: a mount namespace, never this
# machine's /etc): the generated password and certificate (said loudly,
# modes and owners), slaptest, `cpk ldap init` and `cpk user add` over
# StartTLS verified against the generated certificate; the ACLs (anonymous
# reads no password and writes nothing; a user binds, reads only their own
# password, changes it, writes nothing else); the unique overlay refuses a
# duplicate uidNumber/gidNumber made by hand (19) while cpk's pool and claims
# still work; sshPublicKey accepted; a second apply changes nothing; a
# dry-run after changing the suffix shows exactly those lines; apply on a
# live root (a chroot, tests/rig/live.sh) makes the tree once slapd runs.
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
scratch
# apply.sh's EXIT trap (slapd.sh's) replaces scratch's and calls this
test_cleanup() { eval "$AT_EXIT"; [ "${CPK_KEEP:-0}" = 1 ] || rm -rf "$SCRATCH"; }
. "$TOP/tests/rig/apply.sh"
S=$SCRATCH R=$S/root
[ "$(id -u)" = 0 ] || { echo "Bail out! needs root (mount namespace)"; exit 1; }

run() { "$@" >"$S/out" 2>"$S/err"; echo $?; }
tree() { (cd "$1" && find . -printf '%y %m %u %g %p\n' | sort &&
	find . -type f -exec sha256sum {} + | sort -k2); }
hostetc=$(find /etc/ldap /var/lib/ldap /run/slapd -printf '%y %m %u %s %T@ %p\n' 2>&1 | sort)

# the root of a control node with Debian's slapd package: its schemas and users
mkdir -p "$R/etc/ldap/schema"
for s in core cosine nis inetorgperson; do cp "/etc/ldap/schema/$s.schema" "$R/etc/ldap/schema/"; done
printf '%s\n' 'root:x:0:0:root:/root:/bin/bash' 'openldap:x:4101:4102:OpenLDAP:/var/lib/ldap:/bin/false' > "$R/etc/passwd"
printf '%s\n' 'root:x:0:' 'openldap:x:4102:' > "$R/etc/group"

PORT=$(apply_free_port) || { echo "Bail out! no free port"; exit 1; }
BASE=dc=apply,dc=test ADMIN=cn=admin,dc=apply,dc=test
URI=ldap://127.0.0.1:$PORT/
mkdir -p "$S/home"
cat > "$S/cluster.yaml" <<YAML
cluster:
  name: applyldap
control:
  name: head
  address: 127.0.0.1
nodes:
  - names: c1
    addresses: 127.0.0.2
partitions:
  - {name: batch, nodes: ALL, default: true}
slurm:
  config_dir: /etc/slurm
ldap:
  uri: $URI
  base_dn: $BASE
  bind_dn: $ADMIN
  bind_password_file: /etc/clusterpack/ldap.secret
  tls: starttls
users:
  uid_range: 30000-39999
  gid_range: 20000-29999
  home_root: $S/home
YAML

# ---- apply ------------------------------------------------------------
is "$(run "$CPK" apply -f "$S/cluster.yaml" --role control --root "$R" --no-packages)" 0 "apply control"
grep -q "^new *$R" "$S/out"; [ $? -ne 0 ]; ok $? "paths shown inside the root"
for f in /etc/default/slapd /etc/ldap/slapd.conf /etc/ldap/slapd-rootpw.conf \
	/etc/ldap/schema/openssh-lpk.schema /etc/clusterpack/ldap.secret \
	/etc/ldap/tls/slapd.crt /etc/ldap/tls/slapd.key; do
	grep -qx "new  *$f" "$S/out"; ok $? "lists $f"
done
grep -q "^NOTE: /etc/clusterpack/ldap.secret: GENERATED the LDAP admin password" "$S/out"; ok $? "says the password was generated"
grep -q "^NOTE: /etc/ldap/tls/slapd.crt: a SELF-SIGNED certificate GENERATED here" "$S/out"; ok $? "says loudly the certificate is self-signed"
grep -qx "created   /var/lib/ldap (slapd's database directory, 0700)" "$S/out"; ok $? "makes the database directory"
PW=$(cat "$R/etc/clusterpack/ldap.secret")
is "${#PW}" 32 "a 32-character password"
grep -qF "$PW" "$S/out" "$S/err"; [ $? -ne 0 ]; ok $? "the password is not printed"
grep -qF "$PW" "$R/etc/ldap/slapd-rootpw.conf" "$R/etc/ldap/slapd.conf"; [ $? -ne 0 ]; ok $? "nor written in clear in the config"
grep -q '^rootpw {CRYPT}\$6\$' "$R/etc/ldap/slapd-rootpw.conf"; ok $? "rootpw is a {CRYPT} SHA-512 hash"
is "$(stat -c '%a %u %g' "$R/etc/clusterpack/ldap.secret" "$R/etc/ldap/slapd-rootpw.conf" \
	"$R/etc/ldap/tls/slapd.key" "$R/etc/ldap/tls/slapd.crt" "$R/var/lib/ldap" "$R/etc/ldap/slapd.conf")" \
"600 0 0
640 0 4102
600 4101 4102
644 0 0
700 4101 4102
644 0 0" "modes and owners (the openldap user of the root's /etc/passwd)"
grep -qx "SLAPD_CONF=/etc/ldap/slapd.conf" "$R/etc/default/slapd"; ok $? "/etc/default/slapd: slapd.conf, not slapd.d"
grep -qx "SLAPD_SERVICES=\"ldap://:$PORT/ ldapi:///\"" "$R/etc/default/slapd"; ok $? "listens on the uri's port and ldapi"
_tslapd_write_lpk "$S/rig-lpk.schema"
cmp -s "$S/rig-lpk.schema" "$R/etc/ldap/schema/openssh-lpk.schema"; ok $? "the openssh-lpk schema is the rig's, byte for byte"
openssl x509 -in "$R/etc/ldap/tls/slapd.crt" -noout -ext subjectAltName > "$S/san" 2>&1
grep -q "DNS:head, IP Address:127.0.0.1" "$S/san"; ok $? "the certificate names the control node and its address"

tree "$R" > "$S/tree1"
is "$(run "$CPK" apply -f "$S/cluster.yaml" --role control --root "$R" --no-packages)" 0 "second apply"
grep -qx "nothing to change" "$S/out"; ok $? "second apply: nothing to change"
tree "$R" > "$S/tree2"
cmp -s "$S/tree1" "$S/tree2"; ok $? "second apply: byte-identical tree (hash, certificate, key kept)"

# ---- slapd from the applied root ----------------------------------------
apply_slaptest "$R" > "$S/slaptest"; ok $? "slaptest accepts the applied configuration"
apply_slapd_start "$R" "$PORT" || { echo "Bail out! slapd did not start from $R"; exit 1; }
ok 0 "slapd runs from the applied root"

# the client's view: the password file and certificate as this machine sees them
sed -e "s|bind_password_file: .*|bind_password_file: $R/etc/clusterpack/ldap.secret\n  ca_file: $R/etc/ldap/tls/slapd.crt|" \
	"$S/cluster.yaml" > "$S/client.yaml"
CPK_CONFIG=$S/client.yaml CPK_ROOT=$R
export CPK_CONFIG CPK_ROOT
CA=$R/etc/ldap/tls/slapd.crt

LDAPTLS_CACERT=$CA ldapwhoami -ZZ -x -H "$URI" -D "$ADMIN" -y "$R/etc/clusterpack/ldap.secret" > "$S/who" 2>&1
is "$(cat "$S/who")" "dn:$ADMIN" "StartTLS verified against the generated certificate; the admin binds"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=other" -keyout "$S/o.key" -out "$S/o.crt" >/dev/null 2>&1
LDAPTLS_CACERT=$S/o.crt LDAPTLS_REQCERT=demand ldapwhoami -ZZ -x -H "$URI" >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "StartTLS with another CA fails (the check can fail)"
is "$(run "$CPK" ldap init)" 0 "cpk ldap init (StartTLS)"
grep -qx "created cn=idpool,$BASE" "$S/out"; ok $? "the tree with the id pool"

printf 'alice old pw\n' | "$CPK" user add alice --password-stdin --no-home >"$S/out" 2>"$S/err"
ok $? "cpk user add alice"
is "$(run "$CPK" user add bob --no-home)" 0 "cpk user add bob"
printf 'bob pw' > "$S/bobpw"; chmod 600 "$S/bobpw"
printf 'bob pw\n' | "$CPK" user mod bob --password-stdin >/dev/null 2>&1; ok $? "cpk user mod bob --password-stdin"
A=uid=alice,ou=People,$BASE B=uid=bob,ou=People,$BASE
printf 'alice old pw' > "$S/alicepw"; chmod 600 "$S/alicepw"

# anonymous
ldapsearch -x -H "$URI" -LLL -b "$A" -s base '*' userPassword shadowLastChange > "$S/anon" 2>&1
grep -q "^uidNumber: 3" "$S/anon"; ok $? "anonymous reads the account (sssd)"
grep -qi "^userPassword\|^shadowLastChange" "$S/anon"; [ $? -ne 0 ]; ok $? "anonymous reads no userPassword nor shadowLastChange"
printf 'dn: %s\nchangetype: modify\nreplace: loginShell\nloginShell: /bin/sh\n' "$A" > "$S/shell.ldif"
ldapmodify -x -H "$URI" -f "$S/shell.ldif" > "$S/m" 2>&1
is "$?" 8 "anonymous cannot write (8, modifications require authentication)"

# a user
ldapwhoami -x -H "$URI" -D "$A" -y "$S/alicepw" > "$S/who" 2>&1
is "$(cat "$S/who")" "dn:$A" "alice binds with the password cpk set"
ldapsearch -x -H "$URI" -D "$A" -y "$S/alicepw" -LLL -b "$A" -s base userPassword > "$S/own" 2>&1
grep -q "^userPassword:: " "$S/own"; ok $? "alice reads her own userPassword"
ldapsearch -x -H "$URI" -D "$A" -y "$S/alicepw" -LLL -b "$B" -s base '*' userPassword > "$S/other" 2>&1
grep -q "^uid: bob" "$S/other" && ! grep -qi "^userPassword" "$S/other"; ok $? "alice reads bob, not his userPassword"
printf 'dn: %s\nchangetype: modify\nreplace: loginShell\nloginShell: /bin/sh\n' "$B" > "$S/bshell.ldif"
ldapmodify -x -H "$URI" -D "$A" -y "$S/alicepw" -f "$S/bshell.ldif" >/dev/null 2>&1
is "$?" 50 "alice cannot change bob"
printf 'dn: %s\nchangetype: modify\nreplace: uidNumber\nuidNumber: 0\n' "$A" > "$S/uid0.ldif"
ldapmodify -x -H "$URI" -D "$A" -y "$S/alicepw" -f "$S/uid0.ldif" >/dev/null 2>&1
is "$?" 50 "alice cannot change her own uidNumber"
printf 'alice new pw' > "$S/alicenew"; chmod 600 "$S/alicenew"
ldappasswd -x -H "$URI" -D "$A" -y "$S/alicepw" -T "$S/alicenew" >/dev/null 2>&1; ok $? "alice changes her password (Password Modify)"
ldapwhoami -x -H "$URI" -D "$A" -y "$S/alicenew" >/dev/null 2>&1; ok $? "she binds with the new one"
ldapwhoami -x -H "$URI" -D "$A" -y "$S/alicepw" >/dev/null 2>&1
is "$?" 49 "not with the old one"
ldapsearch -x -H "$URI" -D "$A" -y "$S/alicenew" -LLL -b "$A" -s base userPassword |
	sed -n 's/^userPassword:: //p' | base64 -d > "$S/hash" 2>/dev/null
grep -q '^{CRYPT}\$6\$' "$S/hash"; ok $? "the new password is stored as {CRYPT}\$6\$ (password-hash)"

# the unique overlay
AUID=$(ldapsearch -x -H "$URI" -LLL -b "$A" -s base uidNumber | sed -n 's/^uidNumber: //p')
BGID=$(ldapsearch -x -H "$URI" -LLL -b "cn=bob,ou=Groups,$BASE" -s base gidNumber | sed -n 's/^gidNumber: //p')
cat > "$S/dup.ldif" <<LDIF
dn: uid=dup,ou=People,$BASE
objectClass: inetOrgPerson
objectClass: posixAccount
uid: dup
cn: dup
sn: dup
uidNumber: $AUID
gidNumber: $BGID
homeDirectory: /home/dup
LDIF
ldapadd -x -H "$URI" -D "$ADMIN" -y "$R/etc/clusterpack/ldap.secret" -f "$S/dup.ldif" > "$S/m" 2>&1
is "$?" 19 "a user with alice's uidNumber made by hand: refused (19)"
grep -q "uidNumber" "$S/m"; ok $? "naming uidNumber"
printf 'dn: cn=dupg,ou=Groups,%s\nobjectClass: posixGroup\ncn: dupg\ngidNumber: %s\n' "$BASE" "$BGID" > "$S/dupg.ldif"
ldapadd -x -H "$URI" -D "$ADMIN" -y "$R/etc/clusterpack/ldap.secret" -f "$S/dupg.ldif" > "$S/m" 2>&1
is "$?" 19 "a group with bob's gidNumber made by hand: refused (19)"
sed -e "s/^uidNumber: .*/uidNumber: 39000/" "$S/dup.ldif" > "$S/dup2.ldif"
ldapadd -x -H "$URI" -D "$ADMIN" -y "$R/etc/clusterpack/ldap.secret" -f "$S/dup2.ldif" >/dev/null 2>&1
ok $? "users sharing a gidNumber (their group) are fine"
is "$(run "$CPK" user add carol --no-home)" 0 "the pool still hands out ids (claims in cn=idpool are outside the overlay)"
CUID=$(ldapsearch -x -H "$URI" -LLL -b "uid=carol,ou=People,$BASE" -s base uidNumber | sed -n 's/^uidNumber: //p')
[ -n "$CUID" ] && [ "$CUID" != "$AUID" ]; ok $? "carol got her own uid ($CUID)"
is "$(run "$CPK" user add dave --uid 35000 --no-home)" 0 "an explicit uid is claimed"
is "$(run "$CPK" user add erin --uid 35000 --no-home)" 1 "the same explicit uid again: refused by the claim"
is "$(run "$CPK" group add team)" 0 "cpk group add"

# the openssh-lpk schema
ssh-keygen -q -t ed25519 -N '' -C erin -f "$S/key" </dev/null
is "$(run "$CPK" user add erin --ssh-key "$S/key.pub" --no-home)" 0 "a user with an SSH key"
ldapsearch -x -H "$URI" -LLL -b "uid=erin,ou=People,$BASE" -s base sshPublicKey objectClass > "$S/k" 2>&1
grep -q "^sshPublicKey: ssh-ed25519 " "$S/k" && grep -q "^objectClass: ldapPublicKey" "$S/k"
ok $? "sshPublicKey and ldapPublicKey accepted"

# ---- dry-run after changing the suffix ------------------------------------
sed -i "s/dc=apply,dc=test/dc=other,dc=test/g" "$S/cluster.yaml"
tree "$R" > "$S/tree1"
is "$(run "$CPK" apply -f "$S/cluster.yaml" --role control --root "$R" --dry-run --no-packages)" 0 "dry-run after a new suffix"
tree "$R" > "$S/tree2"
cmp -s "$S/tree1" "$S/tree2"; ok $? "dry-run touched nothing"
awk '/^--- /{ f = ($2 == "/etc/ldap/slapd.conf") } f' "$S/out" | grep '^[-+]' | grep -v '^---\|^+++' > "$S/lines"
is "$(cat "$S/lines")" "-suffix \"dc=apply,dc=test\"
-rootdn \"cn=admin,dc=apply,dc=test\"
+suffix \"dc=other,dc=test\"
+rootdn \"cn=admin,dc=other,dc=test\"
-unique_uri ldap:///ou=People,dc=apply,dc=test?uidNumber?sub
-unique_uri ldap:///ou=Groups,dc=apply,dc=test?gidNumber?sub
+unique_uri ldap:///ou=People,dc=other,dc=test?uidNumber?sub
+unique_uri ldap:///ou=Groups,dc=other,dc=test?gidNumber?sub" "slapd.conf: exactly the suffix, rootdn and unique lines"
grep -q "^would write changed   /etc/ldap/slapd.conf$" "$S/out"; ok $? "lists slapd.conf as changing"
grep "^would" "$S/out" | grep -q "slapd-rootpw\|ldap.secret\|slapd.key\|slapd.crt"; [ $? -ne 0 ]; ok $? "secrets and certificate unchanged (not listed)"

# ---- the LDAP tree made by apply itself ----------------------------------
# slapd restarted on an empty database; apply run as on a live control node
# (tests/rig/live.sh: a chroot into ROOT whose fake systemctl "starts"
# slapd): it makes the tree of `cpk ldap init` over StartTLS, verified with
# the generated certificate as ldap.ca_file
sed -i "s/dc=other,dc=test/dc=apply,dc=test/g" "$S/cluster.yaml"
apply_slapd_stop
rm -f "$R/var/lib/ldap/data.mdb" "$R/var/lib/ldap/lock.mdb"
apply_slapd_start "$R" "$PORT" || { echo "Bail out! slapd did not start again from $R"; exit 1; }
. "$TOP/tests/rig/live.sh"
live_root "$R" || { echo "Bail out! cannot make the chroot"; exit 1; }
sed "s|^  tls: starttls|  tls: starttls\n  ca_file: /etc/ldap/tls/slapd.crt|" "$S/cluster.yaml" > "$R/cluster.yaml"
is "$(run live_apply "$R" -f /cluster.yaml --role control --no-packages)" 0 "apply on the live control node"
grep -qx "service slapd              start, enabled" "$S/out"; ok $? "  slapd started (the fake systemctl)"
is "$(grep '^created .*dc=apply,dc=test$' "$S/out")" "created $BASE
created ou=People,$BASE
created ou=Groups,$BASE
created cn=idpool,$BASE" "  the tree made once slapd runs"
ldapsearch -x -H "$URI" -LLL -b "cn=idpool,$BASE" -s base uidNumber > "$S/pool" 2>&1
is "$(cat "$S/pool")" "dn: cn=idpool,$BASE
uidNumber: 30000" "  the id pool is in the directory"
is "$(run live_apply "$R" -f /cluster.yaml --role control --no-packages)" 0 "apply again"
grep -qx "service slapd              leave running (nothing changed)" "$S/out" &&
	grep -qx "ldap: the tree is complete" "$S/out"; ok $? "  slapd left running; the tree is complete"
is "$(run "$CPK" ldap init)" 0 "cpk ldap init after it"
grep -q "nothing to do (the tree is complete)" "$S/out"; ok $? "  finds nothing to do"

# ---- stop -----------------------------------------------------------------
pid=$APPLY_SLAPD_PID
apply_slapd_stop
_tslapd_alive "$pid"; [ $? -ne 0 ]; ok $? "slapd stopped by its pid"
is "$(find /etc/ldap /var/lib/ldap /run/slapd -printf '%y %m %u %s %T@ %p\n' 2>&1 | sort)" "$hostetc" \
	"this machine's /etc/ldap, /var/lib/ldap and /run/slapd untouched"

done_testing
