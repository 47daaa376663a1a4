#!/bin/sh
# t2000: the account library against real slapd servers (TAP).
#   1. the harness: a server it starts is stopped by pid when the shell exits
#   2. the rig's server answers, defines openssh-lpk, and speaks StartTLS
#      and ldaps with the test CA (as ldapsearch sees it); then
#      ldap_conn bind: binds, the password file, TLS settings
#      ldap_accounts main: an empty directory with openssh-lpk and TLS:
#      every operation and its errors, 20 concurrent adds, 2,100-user paging
#      ldap_failpaths: on what main left, failure paths and their
#      clean-up, lock/unlock of every kind of password, an allocation race,
#      the ends of the id ranges
#      ldap_conn noca: certificates are checked even with
#      LDAPTLS_REQCERT=never
#   3. ldap_conn down: the same URI once the server is stopped
#   4. a server without the openssh-lpk schema (and without TLS): the rig's
#      checks, then ldap_accounts nolpk
# CPK_BUILD: the build directory (make test sets it); the programs are in
# $CPK_BUILD/tests/progs (their fixture: tests/progs/lib/ldap_fixture.h).
here=$(cd "$(dirname "$0")" && pwd)
B=${CPK_BUILD:-$here/../build}/tests/progs
T=$(mktemp -d /tmp/t2000.XXXXXX) || exit 1
test_cleanup() { rm -rf "$T"; }
. "$here/rig/slapd.sh"

n=0
ok_sh() {	# STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

# Runs a TAP program, renumbering its tests into ours; its stderr becomes
# comments; one more test says whether it exited 0.
tap_run() {	# DESCRIPTION CMD...
	_desc=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	_st=$?
	awk -v off="$n" '
		/^(not )?ok [0-9]+/ { k++; sub(/ok [0-9]+/, "ok " (off + k)); print; next }
		/^1\.\./ { next }
		{ print }' "$T/out"
	n=$((n + $(grep -cE '^(not )?ok [0-9]+' "$T/out")))
	sed 's/^/# /' "$T/err"
	ok_sh $_st "$_desc exited 0"
}

for p in ldap_conn ldap_accounts ldap_failpaths; do
	[ -x "$B/$p" ] || { echo "Bail out! $B/$p not built (make)"; exit 1; }
done

# What the server of the last slapd_start offers, as ldapsearch sees it.
# answers: its root DSE names $SLAPD_BASE over plain LDAP
rig_answers() {
	timeout 10 ldapsearch -x -LLL -o ldif-wrap=no -H "$SLAPD_URI" -b "" -s base \
		namingContexts 2>&1 | grep -qx "namingContexts: $SLAPD_BASE"
}
# lpk: how many object classes named ldapPublicKey its subschema defines
# ("no subschema" if the search failed: it must list posixAccount)
rig_lpk() {
	_s=$(timeout 10 ldapsearch -x -LLL -o ldif-wrap=no -H "$SLAPD_URI" \
		-b cn=Subschema -s base objectClasses 2>&1)
	if echo "$_s" | grep -q "NAME 'posixAccount'"; then
		echo "$_s" | grep -c "NAME 'ldapPublicKey'"
	else
		echo "no subschema"
	fi
}
# starttls / ldaps: a search over TLS that verifies the certificate with
# the test CA succeeds (-ZZ: StartTLS must work)
rig_starttls() {
	LDAPTLS_CACERT=$SLAPD_CA_FILE LDAPTLS_REQCERT=demand timeout 10 ldapsearch -x -ZZ \
		-LLL -H "$SLAPD_URI" -b "" -s base namingContexts >/dev/null 2>&1
}
rig_ldaps() {
	LDAPTLS_CACERT=$SLAPD_CA_FILE LDAPTLS_REQCERT=demand timeout 10 ldapsearch -x \
		-LLL -H "$SLAPD_LDAPS_URI" -b "" -s base namingContexts >/dev/null 2>&1
}

# 1. the harness stops what it started, by pid, when its shell exits
sh -c ". '$here/rig/slapd.sh'; slapd_start >/dev/null || exit 1;
	echo \$SLAPD_PID \$SLAPD_DIR > '$T/child'" </dev/null
read -r cpid cdir < "$T/child"
state=$(awk '{ print $3 }' "/proc/$cpid/stat" 2>/dev/null)
[ -z "$state" ] && [ ! -e "$cdir" ]
ok_sh $? "harness: slapd $cpid stopped and $cdir removed at exit"

# 2. everything, on a server with openssh-lpk and TLS
slapd_start --tls || { echo "Bail out! cannot start slapd"; exit 1; }
rig_answers
ok_sh $? "slapd answers on $SLAPD_URI with its base $SLAPD_BASE"
lpk=$(rig_lpk)
[ "$lpk" = 1 ]
ok_sh $? "its subschema defines the openssh-lpk class ldapPublicKey ($lpk)"
rig_starttls
ok_sh $? "StartTLS with the test CA works"
rig_ldaps
ok_sh $? "ldaps with the test CA works on $SLAPD_LDAPS_URI"
tap_run "ldap_conn bind" "$B/ldap_conn" bind
tap_run "ldap_accounts main" "$B/ldap_accounts" main
tap_run "ldap_failpaths" "$B/ldap_failpaths"
tap_run "ldap_conn noca" env LDAPTLS_REQCERT=never "$B/ldap_conn" noca
# what the library wrote, as another client sees it
out=$(ldapsearch -x -LLL -H "$SLAPD_URI" -b "cn=idpool,$SLAPD_BASE" -s base \
	objectClass 2>&1)
echo "$out" | grep -q "objectClass: device" &&
	echo "$out" | grep -q "objectClass: extensibleObject"
ok_sh $? "ldapsearch sees the pool entry as device + extensibleObject"
cnt=$(ldapsearch -x -LLL -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -y "$SLAPD_ROOTPW_FILE" \
	-b "$SLAPD_BASE" -E pr=500/noprompt "(gecos=*\\2a*)" uid 2>/dev/null |
	grep -c '^uid:')
[ "$cnt" = 0 ]
ok_sh $? "escaped '*' in a filter matches no gecos now (bob was deleted): $cnt"
cnt=$(ldapsearch -x -LLL -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -y "$SLAPD_ROOTPW_FILE" \
	-b "$SLAPD_BASE" -E pr=500/noprompt "(gecos=*)" uid 2>/dev/null |
	grep -c '^uid:')
[ "$cnt" -gt 20 ]
ok_sh $? "while an unescaped '*' matches every gecos ($cnt)"

# 3. the same server, stopped
down_uri=$SLAPD_URI
slapd_stop
tap_run "ldap_conn down" "$B/ldap_conn" down "$down_uri"

# 4. a server without openssh-lpk
slapd_start --no-lpk || { echo "Bail out! cannot start slapd"; exit 1; }
rig_answers
ok_sh $? "slapd without openssh-lpk answers on $SLAPD_URI"
lpk=$(rig_lpk)
[ "$lpk" = 0 ]
ok_sh $? "its subschema has no ldapPublicKey ($lpk)"
out=$(LDAPTLS_REQCERT=demand timeout 10 ldapsearch -x -ZZ -LLL -H "$SLAPD_URI" \
	-b "" -s base namingContexts 2>&1)
echo "$out" | grep -q "unsupported extended operation"
ok_sh $? "and it refuses StartTLS (started without --tls)"
tap_run "ldap_accounts nolpk" "$B/ldap_accounts" nolpk
slapd_stop

echo "1..$n"
