#!/bin/sh
# Timings for the issue's targets (not a test): 1,000 adds (< 10 s) and a
# listing of 10,000 users (< 1 s), against a throwaway slapd (mdb, default
# sync writes); then 1,000 more adds into the 10,000-user directory.
# Run: make bench
here=$(cd "$(dirname "$0")" && pwd)
B=${CPK_BUILD:-$here/../build}/tests/progs
. "$here/../tests/rig/slapd.sh"
slapd_start || exit 1
"$B/ldap_bench" adds 1000 || exit 1
# 9,000 more with ldapadd, for 10,000 users in all
. "$here/seed-users.sh"
seed_users_ldif 9000 "$SLAPD_BASE" > "$SLAPD_DIR/load.ldif"
t0=$(date +%s.%N)
ldapadd -x -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -y "$SLAPD_ROOTPW_FILE" \
	-f "$SLAPD_DIR/load.ldif" >/dev/null || exit 1
echo "(ldapadd of 9000 more users: $(echo "$(date +%s.%N) - $t0" | bc) s)"
"$B/ldap_bench" list
# adds into a directory that already holds 10,000 users
"$B/ldap_bench" adds 1000 more
