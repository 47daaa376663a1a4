#!/bin/sh
# Timings of the account CLI (not a test), against a throwaway slapd (mdb,
# default sync writes), homes in a temp dir (needs root, else --no-home):
#   1. 1,000 users added by 1,000 `cpk user add` runs, one after another
#   2. 1,000 more users by one `cpk user import` of a 1,000-row CSV
#   3. 8,000 more seeded with ldapadd, then `cpk user list` (and --json)
#      over the 10,000 users, best of 3
# Targets: 1,000 adds < 10 s; a listing of 10,000 users < 1 s.
# Run: sh bench/ldap.sh [path/to/cpk]   (default: build/cpk)
here=$(cd "$(dirname "$0")" && pwd)
CPK=${1:-${CPK:-$here/../build/cpk}}
. "$here/../tests/rig/slapd.sh"
W=$(mktemp -d /tmp/cpk-bench.XXXXXX) || exit 1
test_cleanup() { rm -rf "$W"; }
slapd_start >/dev/null || exit 1

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }

mkdir -p "$W/home" "$W/skel"
printf 'alias ll="ls -l"\n' > "$W/skel/.bashrc"
cp "$SLAPD_ROOTPW_FILE" "$W/pw" && chmod 600 "$W/pw"
cat > "$W/cluster.yaml" <<YAML
cluster: {name: bench}
control: {name: head, address: 127.0.0.1}
nodes: [{names: c1, addresses: 127.0.0.2}]
partitions: [{name: batch, nodes: ALL, default: true}]
ldap: {uri: "$SLAPD_URI", base_dn: "$SLAPD_BASE", bind_dn: "$SLAPD_ROOTDN",
       bind_password_file: "$W/pw"}
users: {uid_range: 10000-99999, gid_range: 10000-99999, home_root: "$W/home",
        skel: "$W/skel"}
YAML
export CPK_CONFIG="$W/cluster.yaml"
home=""
[ "$(id -u)" = 0 ] || home=--no-home
"$CPK" ldap init >/dev/null || exit 1

t0=$(now)
i=0
while [ $i -lt 1000 ]; do
	"$CPK" user add $home "$(printf 'add%04d' $i)" --gecos "Bench User" >/dev/null || exit 1
	i=$((i + 1))
done
echo "1000 x cpk user add${home:+ $home}: $(since "$t0") s (target < 10 s)"

awk 'BEGIN { print "name,gecos"; for (i = 0; i < 1000; i++) printf "imp%04d,Bench User\n", i }' \
	> "$W/users.csv"
t0=$(now)
"$CPK" user import $home "$W/users.csv" | tail -n 1 | sed 's/^/  /' || exit 1
echo "cpk user import of 1000 rows${home:+ $home}: $(since "$t0") s"

. "$here/seed-users.sh"
seed_users_ldif 8000 "$SLAPD_BASE" > "$W/load.ldif"
ldapadd -x -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -y "$SLAPD_ROOTPW_FILE" \
	-f "$W/load.ldif" >/dev/null || exit 1
for fmt in "" --json; do
	best=""
	for k in 1 2 3; do
		t0=$(now)
		n=$("$CPK" user list $fmt | wc -l) || exit 1
		t=$(since "$t0")
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
	done
	if [ -z "$fmt" ]; then
		echo "cpk user list: $((n - 1)) users in $best s, best of 3 (target < 1 s)"
	else
		n=$("$CPK" user list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
		echo "cpk user list --json: $n users in $best s, best of 3"
	fi
done
