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

# a description whose file name holds a new line (rendered headers name it)
nl="$tmp/bad
name.yaml"
cp examples/small-cpu.yaml "$nl" || exit 1
got=$("$CPK" validate "$nl" 2>&1 >/dev/null)
is "$?" 1 "a file name with a new line: exit 1"
is "$got" "$nl: error: the file's name holds a control character (a new line would add lines to every rendered file): rename it
cpk: $nl: 1 error" "a file name with a new line: refused, not rendered into headers"
"$CPK" render -q -f "$nl" --role control --out "$tmp/out" 2>/dev/null
is "$?" 1 "a file name with a new line: render refuses it"
[ ! -e "$tmp/out/slurm.conf" ]
ok $? "a file name with a new line: nothing rendered"

for f in examples/*.yaml; do
	"$CPK" validate -q "$f" >/dev/null 2>&1
	ok $? "$f is valid"
done
done_testing
