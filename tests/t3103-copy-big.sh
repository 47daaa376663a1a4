#!/bin/bash
# cpk copy of a 1 GiB file of real (non-sparse) data, both directions, over
# 8 connections: sha256 equal, and the client stays under 64 MiB RSS; and
# of 100,000 empty files both ways (50,000 in one directory), under 64 MiB
# and little more than 10,000 need.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup
# 1 GiB of incompressible data, made fast: 64 MiB random, repeated with a
# different counter each time so no two chunks are equal.
head -c $((64 << 20)) /dev/urandom >"$SCRATCH/seed"
for i in $(seq 0 15); do
	printf '%016d' "$i"; tail -c +17 "$SCRATCH/seed"
done >"$L/big"
is "$(stat -c %s "$L/big")" $((1 << 30)) "a 1 GiB file"
[ "$(du -k "$L/big" | cut -f1)" -ge $((1 << 20)) ]; ok $? "  not sparse"
SUM=$(sha256sum <"$L/big")

rss() { sed -n 's/^MAXRSS \([0-9]*\)$/\1/p' "$SCRATCH/err"; }
# The memory checks need GNU time (the `time` package, in make deps): its
# absence fails them.  Under ASan the RSS means nothing: they say SKIP.
GNU_TIME=${GNU_TIME:-/usr/bin/time}
TIME=("$GNU_TIME" -f 'MAXRSS %M')
if [ -n "${CPK_SAN:-}" ]; then
	TIME=() NO_RSS="the ASan/UBSan build's memory use is not the program's"
elif [ ! -x "$GNU_TIME" ]; then
	TIME=() NO_RSS=
fi
# rss_check NAME TEST...: the memory check NAME, or why it cannot be made.
rss_check() {
	local name=$1; shift
	if [ ${#TIME[@]} -gt 0 ]; then
		"$@"; ok $? "$name"
	elif [ -n "${NO_RSS:-}" ]; then
		skip "$name" "$NO_RSS"
	else
		ok 1 "$name: $GNU_TIME is missing (install the time package: make deps)"
	fi
}
# lt A B: A is a number below B.  within A B: B is a number less than
# 12 MiB above the number A.
lt() { [ -n "$1" ] && [ "$1" -lt "$2" ]; }
within() { [ -n "$1" ] && [ -n "$2" ] && [ $(($2 - $1)) -lt $((12 * 1024)) ]; }
start=$(date +%s%N)
is "$(run "${TIME[@]}" "${COPY[@]}" --json -n 8 "$L/big" "$H:$R/big")" 0 "put 1 GiB over 8 connections"
diag "put: $(( ($(date +%s%N) - start) / 1000000 )) ms, $(json_field rate_bytes_per_s) B/s, chunks $(json_field chunks_total)"
is "$(sha256sum <"$R/big")" "$SUM" "  sha256 equal"
rss_check "  client max RSS $(rss) KiB < 64 MiB" lt "$(rss)" $((64 * 1024))
start=$(date +%s%N)
is "$(run "${TIME[@]}" "${COPY[@]}" --json -n 8 "$H:$R/big" "$B/big")" 0 "get 1 GiB over 8 connections"
diag "get: $(( ($(date +%s%N) - start) / 1000000 )) ms, $(json_field rate_bytes_per_s) B/s"
is "$(sha256sum <"$B/big")" "$SUM" "  sha256 equal"
rss_check "  client max RSS $(rss) KiB < 64 MiB" lt "$(rss)" $((64 * 1024))
is "$(stat -c '%a %Y' "$B/big")" "$(stat -c '%a %Y' "$L/big")" "  mode and mtime kept"
rm -f "$L/big" "$R/big" "$B/big" "$SCRATCH/seed"

# 100,000 empty files, half of them in one directory and half in 50 more,
# both ways: the tree is walked and copied a segment at a time (a directory
# that big read in pieces), so memory does not grow with the file count:
# the client's RSS with 100,000 files is within 12 MiB of its RSS with
# 10,000 (one segment; measured here: put +3, get +7 MiB, the heap's high
# water mark of a segment and the listings fetched ahead).  Before segments
# it grew by about 180 bytes a file: 16 MiB more for 100,000 in 100
# directories, and a single directory of 200,000 took 77 MiB.
# tree DIR N: N empty files, the even ones in DIR/big, the odd ones in
# DIR/d00..d49.
tree() {
	mkdir "$1" &&
	(cd "$1" && seq 1 "$2" | awk '{ if ($1 % 2) printf "d%02d/f%d\n", $1 % 100 / 2, $1; else printf "big/f%d\n", $1 }' >"$SCRATCH/names" &&
		cut -d/ -f1 "$SCRATCH/names" | sort -u | xargs mkdir && xargs touch <"$SCRATCH/names")
}
tree "$L/many" 100000
tree "$L/tenth" 10000
is "$(find "$L/many" -type f | wc -l)" 100000 "100,000 empty files"
is "$(find "$L/many/big" -type f | wc -l)" 50000 "  50,000 of them in one directory"
is "$(find "$L/tenth" -type f | wc -l)" 10000 "10,000 in another tree"
declare -A RSS
for t in tenth many; do
	start=$(date +%s%N)
	is "$(run "${TIME[@]}" "${COPY[@]}" --json -r -n 8 "$L/$t" "$H:$R")" 0 "put -r $t over 8 connections"
	diag "put $t: $(( ($(date +%s%N) - start) / 1000000 )) ms"
	RSS[put-$t]=$(rss)
	is "$(json_field files_done)" "$(find "$L/$t" -type f | wc -l)" "  all files done"
	if [ $t = many ]; then
		[ "$(json_field segments)" -ge 7 ]; ok $? "  in $(json_field segments) segments of at most 16,384 entries"
	else
		is "$(json_field segments)" 1 "  in one segment"
	fi
	start=$(date +%s%N)
	is "$(run "${TIME[@]}" "${COPY[@]}" --json -r -n 8 "$H:$R/$t" "$B")" 0 "get -r $t back"
	diag "get $t: $(( ($(date +%s%N) - start) / 1000000 )) ms"
	RSS[get-$t]=$(rss)
	is "$(find "$B/$t" -type f | wc -l)" "$(find "$L/$t" -type f | wc -l)" "  all files there"
done
for way in put get; do
	a=${RSS[$way-tenth]} b=${RSS[$way-many]}
	rss_check "$way 100,000 files: client max RSS $b KiB < 64 MiB" lt "$b" $((64 * 1024))
	rss_check "  within 12 MiB of $way 10,000 files ($a KiB)" within "$a" "$b"
done
done_testing
