#!/bin/sh
# Every description in tests/data/bad/ is refused with exactly the messages
# in its .err file (file:line:col for each problem, all of them) and exit 1;
# the examples are valid.
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1

for f in tests/data/bad/*.yaml; do
	want="${f%.yaml}.err"
	got=$("$CPK" validate "$f" 2>&1 >/dev/null)
	rc=$?
	is "$rc" 1 "$f: exit 1"
	is "$got" "$(cat "$want")" "$f: messages"
done

# 100,000 nested '[' (libyaml alone took 73 s on them): refused at the
# first level too deep, with where it is
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
awk 'BEGIN { printf "a: "; for (i = 0; i < 100000; i++) printf "["; print "" }' >"$tmp/deep.yaml"
got=$(timeout 60 "$CPK" validate "$tmp/deep.yaml" 2>&1 >/dev/null)
is "$?" 1 "100,000 nested '[': exit 1"
is "$got" "$tmp/deep.yaml:1:35: error: YAML nesting deeper than 32 levels
cpk: $tmp/deep.yaml: 1 error" "100,000 nested '[': refused where the 33rd level opens"

for f in examples/*.yaml; do
	"$CPK" validate -q "$f" >/dev/null 2>&1
	ok $? "$f is valid"
done
done_testing
