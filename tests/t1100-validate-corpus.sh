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

for f in examples/*.yaml; do
	"$CPK" validate -q "$f" >/dev/null 2>&1
	ok $? "$f is valid"
done
done_testing
