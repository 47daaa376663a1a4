#!/bin/bash
# cpk copy against a throwaway sshd: sizes around chunk boundaries, trees
# (modes, mtimes, links, empty files and dirs, odd names), both directions,
# 2,000 small files, verification, the one-line and JSON summaries.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup

# --- sizes around the chunk boundary (chunks of 1 MiB) ---
sizes="0 1 $((M - 1)) $M $((M + 1)) $((3 * M + 5))"
srcs=()
for sz in $sizes; do
	head -c "$sz" /dev/urandom >"$L/f$sz"
	srcs+=("$L/f$sz")
done
mkdir "$R/sizes" "$B/sizes"
is "$(run "${COPY[@]}" --json --chunk-min 1M --chunk-max 1M "${srcs[@]}" "$H:$R/sizes")" 0 \
	"put 6 files of 0 B .. 3 MiB+5 into a remote dir"
is "$(json_field chunks_total)" 10 "chunks: 4 whole files, 2 + 4 chunks"
is "$(json_field files_done)" 6 "6 files done"
for sz in $sizes; do
	cmp -s "$L/f$sz" "$R/sizes/f$sz"; ok $? "put $sz bytes: same bytes"
done
rsrcs=()
for sz in $sizes; do rsrcs+=("$H:$R/sizes/f$sz"); done
is "$(run "${COPY[@]}" --chunk-min 1M --chunk-max 1M "${rsrcs[@]}" "$B/sizes")" 0 \
	"get the 6 files back"
for sz in $sizes; do
	cmp -s "$L/f$sz" "$B/sizes/f$sz"; ok $? "get $sz bytes: same bytes"
done
is "$(run "${COPY[@]}" "$L/f1" "$H:$R/one-renamed")" 0 "put one file under a new name"
cmp -s "$L/f1" "$R/one-renamed"; ok $? "  same bytes under the new name"
echo old >"$R/over"
is "$(run "${COPY[@]}" --chunk-min 1M --chunk-max 1M "$L/f$((3 * M + 5))" "$H:$R/over")" 0 \
	"put over an existing file"
cmp -s "$L/f$((3 * M + 5))" "$R/over"; ok $? "  replaced whole"
no_partials "$R"; ok $? "  no temporary files left"

# --- a tree: modes, times, links, empty file and dir, odd names ---
T=$L/tree
mkdir -p "$T/sub dir/ünïcödé 日本" "$T/empty dir" "$T/private"
echo hello >"$T/a file with spaces"
: >"$T/sub dir/empty"
head -c 3000000 /dev/urandom >"$T/sub dir/ünïcödé 日本/big one.bin"
printf 'x' >"$T/private/secret"
ln -s "a file with spaces" "$T/link"
ln -s /nonexistent/target "$T/sub dir/dangling"
chmod 0751 "$T/a file with spaces"; chmod 0600 "$T/private/secret"
chmod 0700 "$T/private"; chmod 0555 "$T/empty dir"
touch -h -d @1111111111 "$T/a file with spaces" "$T/sub dir/empty" "$T/private/secret"
touch -d @1222222222 "$T/sub dir/ünïcödé 日本/big one.bin"
touch -d @1333333333 "$T/sub dir/ünïcödé 日本" "$T/empty dir" "$T/private" "$T/sub dir" "$T"
is "$(run "${COPY[@]}" -r --json --chunk-min 1M --chunk-max 1M "$T" "$H:$R")" 0 "put -r a tree"
is "$(json_field links)" 2 "  two symlinks made"
is "$(tree_state "$R/tree")" "$(tree_state "$T")" "  types, modes, mtimes, sizes, link targets equal"
is "$(tree_sums "$R/tree")" "$(tree_sums "$T")" "  sha256 equal"
no_partials "$R/tree"; ok $? "  no temporary files left"
is "$(run "${COPY[@]}" -r "$H:$R/tree" "$B")" 0 "get -r the tree back"
is "$(tree_state "$B/tree")" "$(tree_state "$T")" "  types, modes, mtimes, sizes, link targets equal"
is "$(tree_sums "$B/tree")" "$(tree_sums "$T")" "  sha256 equal"
is "$(run "${COPY[@]}" -r "$T" "$H:$R/newname")" 0 "put -r to a new name: the dir is created"
is "$(tree_sums "$R/newname")" "$(tree_sums "$T")" "  the tree is under the new name"
is "$(run "${COPY[@]}" -r -L "$T" "$H:$R/followed")" 0 "put -r -L follows links"
cmp -s "$T/a file with spaces" "$R/followed/link" && [ ! -L "$R/followed/link" ]
ok $? "  the link became a copy of its target"

# --- verification ---
is "$(run "${COPY[@]}" -r --json --verify "$T" "$H:$R/v1")" 0 "put --verify (remote sha256sum)"
is "$(json_field verified)" 4 "  4 files verified"
is "$(run "${COPY[@]}" -r --json --verify-read "$H:$R/v1" "$B/v2")" 0 "get --verify-read (read back)"
is "$(json_field verified)" 4 "  4 files verified"

# --- 2,000 small files in 20 directories ---
S=$L/small
small_tree "$S" 2000 20 9000
start=$(date +%s%N)
is "$(run "${COPY[@]}" -r -n 4 --json "$S" "$H:$R")" 0 "put -r 2,000 small files over 4 connections"
diag "put 2,000 files: $(( ($(date +%s%N) - start) / 1000000 )) ms"
is "$(json_field files_done)" 2000 "  2,000 files done"
is "$(json_field segments)" 1 "  in one segment"
is "$(json_field conns)" 4 "  4 connections"
is "$(tree_state "$R/small")" "$(tree_state "$S")" "  modes, mtimes, sizes equal"
is "$(tree_sums "$R/small")" "$(tree_sums "$S")" "  sha256 equal"
is "$(run "${COPY[@]}" -r -n 4 "$H:$R/small" "$B")" 0 "get -r the 2,000 files back"
is "$(tree_state "$B/small")" "$(tree_state "$S")" "  modes, mtimes, sizes equal"
is "$(tree_sums "$B/small")" "$(tree_sums "$S")" "  sha256 equal"

# --- connections follow the work: -n 20 for 100 files of at most 1 KiB
# opens 3, and the server sees 3 logins (issue 16) ---
small_tree "$L/tiny" 100 4 1024
logins0=$(grep -c "Accepted publickey" "$SSHD_LOG")
is "$(run "${COPY[@]}" -r -n 20 -vv --json "$L/tiny" "$H:$R/tiny")" 0 "put -r 100 files of < 1 KiB with -n 20"
is "$(json_field conns)" 3 "  3 connections, not 20"
is "$(( $(grep -c "Accepted publickey" "$SSHD_LOG") - logins0 ))" 3 "  the server saw 3 logins"
is "$(tree_sums "$R/tiny")" "$(tree_sums "$L/tiny")" "  sha256 equal"
# they connect as soon as the first login has set the layout, from a
# count of the local tree, not once the first one has planned
grep -q '^cpk copy: connecting 2 more connections while the first one plans$' "$SCRATCH/err"
ok $? "  connects the 2 others while the first one plans"
# a download learns its work from the listings its walk fetches, and
# connects as they show it
logins0=$(grep -c "Accepted publickey" "$SSHD_LOG")
is "$(run "${COPY[@]}" -r -n 20 -vv --json "$H:$R/tiny" "$B")" 0 "get -r the 100 files with -n 20"
is "$(json_field conns)" 3 "  3 connections"
is "$(( $(grep -c "Accepted publickey" "$SSHD_LOG") - logins0 ))" 3 "  the server saw 3 logins"
is "$(grep -c '^cpk copy: connecting [12] more connections\? while the first one lists$' "$SCRATCH/err")" \
	"$(grep -c 'more connection' "$SCRATCH/err")" "  connected ahead while the first one listed"
grep -q 'more connection' "$SCRATCH/err"; ok $? "  (it did)"
is "$(tree_sums "$B/tiny")" "$(tree_sums "$L/tiny")" "  sha256 equal"
# a big file's connections are set up beside the first one's planning
# (issue 16), still only as many as its chunks and bytes ask for: 3 MiB
# + 5 in 1 MiB chunks asks for 3, whatever -n says
logins0=$(grep -c "Accepted publickey" "$SSHD_LOG")
is "$(run "${COPY[@]}" -n 8 --channels 1 -vv --chunk-min 1M --chunk-max 1M "$L/f$((3 * M + 5))" "$H:$R/pre")" 0 \
	"put a file of 4 chunks with -n 8"
grep -q '^cpk copy: connecting 2 more connections while the first one plans$' "$SCRATCH/err"
ok $? "  connects 2 more while it plans"
is "$(( $(grep -c "Accepted publickey" "$SSHD_LOG") - logins0 ))" 3 "  the server saw 3 logins"
grep -q '^cpk copy: connection 3: ' "$SCRATCH/err"; ok $? "  all 3 moved data"
cmp -s "$L/f$((3 * M + 5))" "$R/pre"; ok $? "  same bytes"
logins0=$(grep -c "Accepted publickey" "$SSHD_LOG")
is "$(run "${COPY[@]}" -n 8 -vv "$L/f$((3 * M + 5))" "$H:$R/pre1")" 0 "the same file in one chunk (the default 8 MiB) with -n 8"
! grep -q 'more connection' "$SCRATCH/err"; ok $? "  connects nothing ahead"
is "$(( $(grep -c "Accepted publickey" "$SSHD_LOG") - logins0 ))" 1 "  the server saw 1 login"

# --- few descriptors: each file in flight holds one, and 32 channels
# of 32 files each (256 far away) would need 1,024 (8,192); the copy takes its share of
# the limit instead (EMFILE before) ---
mkdir -p "$R/fewfd"
is "$(ulimit -n 120; run "${COPY[@]}" -r -n 4 --channels 8 --json "$S" "$H:$R/fewfd")" 0 \
	"put -r 2,000 files over 32 channels with 120 descriptors"
is "$(json_field files_done)" 2000 "  2,000 files done"
is "$(tree_sums "$R/fewfd/small")" "$(tree_sums "$S")" "  sha256 equal"
is "$(ulimit -n 120; run "${COPY[@]}" -r -n 4 --channels 8 "$H:$R/fewfd/small" "$B/fewfd")" 0 \
	"get -r them back the same way"
is "$(tree_sums "$B/fewfd")" "$(tree_sums "$S")" "  sha256 equal"

# --- the same over 2 connections of 4 channels each (8 threads, two per
# SSH session) ---
mkdir -p "$R/ch" "$B/ch"
is "$(run "${COPY[@]}" -r -n 2 --channels 4 --json "$S" "$H:$R/ch")" 0 "put -r over 2 connections x 4 channels"
is "$(json_field conns) $(json_field channels)" "2 4" "  2 connections, 4 channels each"
is "$(tree_state "$R/ch/small")" "$(tree_state "$S")" "  modes, mtimes, sizes equal"
is "$(tree_sums "$R/ch/small")" "$(tree_sums "$S")" "  sha256 equal"
is "$(run "${COPY[@]}" -r -n 2 --channels 4 "$H:$R/ch/small" "$B/ch")" 0 "get -r them back the same way"
is "$(tree_sums "$B/ch/small")" "$(tree_sums "$S")" "  sha256 equal"
is "$(run "${COPY[@]}" -n 1 --channels 4 --json --chunk-min 1M --chunk-max 1M "$L/f$((3 * M + 5))" "$H:$R/ch/big")" 0 \
	"a 3 MiB + 5 file in 1 MiB chunks over 1 connection x 4 channels"
is "$(json_field chunks_total)" 4 "  4 chunks"
cmp -s "$L/f$((3 * M + 5))" "$R/ch/big"; ok $? "  equal"

# --- summaries ---
C2=("${COPY[@]:3}")
is "$(run "$CPK" copy "${C2[@]}" "$L/f1" "$H:$R/summary")" 0 "without -q"
grep -Eq '^copied 1 file \(1 B\) in [0-9.]+ s, [0-9.]+ MB/s, [0-9]+ connections?( x [0-9]+ channels)?, rtt [0-9.]+ ms$' "$SCRATCH/out"
ok $? "  one summary line: $(cat "$SCRATCH/out")"
is "$(wc -c <"$SCRATCH/err")" 0 "  nothing on stderr when it is not a terminal"
is "$(run "${COPY[@]}" "$L/f1" "$H:$R/summary")" 0 "-q"
is "$(cat "$SCRATCH/out" "$SCRATCH/err")" "" "  prints nothing"

# --- -v: the library's log on stderr ---
is "$(run "${COPY[@]}" -v "$L/f1" "$H:$R/verbose")" 0 "-v"
grep -Eq '^cpk copy: connected to .*: round trip [0-9.]+ ms; [0-9]+ streams' "$SCRATCH/err"
ok $? "  says where it connected, the round trip and the streams: $(head -1 "$SCRATCH/err")"
! grep -q 'segment' "$SCRATCH/err"; ok $? "  no debug lines"
grep -Eq '^cpk copy: connection 1: [0-9]+ channels? \(the last ready after [0-9.]+ s\), [0-9.]+ MB sent, [0-9.]+ MB received; waiting [0-9.]+ s for the SSH window, [0-9.]+ s for replies, [0-9.]+ s for the session'"'"'s lock; [0-9.]+ requests in flight per channel \(at most [0-9]+\); CPU [0-9.]+ s; moving data from [0-9.]+ to [0-9.]+ s$' "$SCRATCH/err"
ok $? "  a summary line per connection: $(grep 'connection 1:' "$SCRATCH/err")"
# --json: the same per stream; the streams' bytes cover the file's
is "$(run "${COPY[@]}" -n 2 --chunk-min 1M --chunk-max 1M --json "$L/f$((3 * M + 5))" "$H:$R/streams")" 0 "--json, 2 connections"
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
s = d["streams"]
assert len(s) == d["conns"] * d["channels"], (len(s), d["conns"], d["channels"])
assert {x["conn"] for x in s} == set(range(d["conns"])), s
assert sum(x["sent"] for x in s) > d["bytes_sent"], (sum(x["sent"] for x in s), d["bytes_sent"])
assert all(x["received"] > 0 and x["cpu_s"] >= 0 and x["reply_wait_s"] >= 0 and x["window_wait_s"] >= 0 and x["lock_wait_s"] >= 0 and x["setup_s"] >= 0 for x in s), s
# a stream that connects late may find no work left (seen under TSan)
assert any(x["inflight_max"] >= 1 for x in s), s
assert all(0 <= x["inflight_avg"] <= x["inflight_max"] for x in s), s
# when it moved data: -1 for a stream that never did, else within the copy
assert all((x["first_s"] == -1 and x["last_s"] == -1) or 0 < x["first_s"] <= x["last_s"] <= d["ms"] / 1000 + 0.001 for x in s), s
assert any(x["first_s"] > 0 for x in s), s
' "$SCRATCH/out"
ok $? "  \"streams\": one per channel, their bytes cover the file (with SFTP framing), times and requests in flight"
is "$(run "${COPY[@]}" -vv "$L/f1" "$H:$R/verbose")" 0 "-vv"
grep -q '^cpk copy: segment 1: 1 entries' "$SCRATCH/err"; ok $? "  adds the segments"
mkdir -p "$R/vdir/f1"
is "$(run "${COPY[@]}" -v "$L/f1" "$H:$R/vdir")" 1 "-v, a file that cannot be put in place"
grep -q "^cpk copy: error: not copied: $R/vdir/f1: " "$SCRATCH/err"
ok $? "  the log names it and why: $(grep error: "$SCRATCH/err")"
done_testing
