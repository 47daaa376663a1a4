#!/bin/bash
# cpk copy of trees bigger than one segment (--segment N: the walk hands
# out N entries at a time, each copied before the next is walked): modes,
# times, links, empty and read-only dirs equal both ways, also when a
# directory's entries span segments; verification counts every file; a
# client killed in a later segment resumes without sending again what the
# journal lists; a journal whose files changed since is refused.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup

# --- a tree of 3 levels, 240 files, links, odd dirs; segments of 7 ---
T=$L/tree
small_tree "$T/many" 200 13 2000
mkdir -p "$T/sub dir/ünïcödé 日本/deep/er" "$T/empty dir" "$T/private" "$T/ro"
for i in $(seq 1 30); do echo "$i" >"$T/sub dir/ünïcödé 日本/deep/er/f$i"; done
for i in $(seq 1 9); do echo "$i" >"$T/ro/r$i"; done
head -c 3000000 /dev/urandom >"$T/sub dir/big one.bin"
printf 'x' >"$T/private/secret"
ln -s "sub dir/big one.bin" "$T/link"
ln -s /nonexistent/target "$T/sub dir/dangling"
chmod 0600 "$T/private/secret"; chmod 0700 "$T/private"; chmod 0555 "$T/empty dir" "$T/ro"
find "$T" -type d -exec touch -d @1333333333 {} +
NF=$(find "$T" -type f | wc -l)
NE=$(find "$T" | wc -l)
is "$NF" 241 "a tree of 241 files, $NE entries"
SEG=(--segment 7 --chunk-min 1M --chunk-max 1M)
is "$(run "${COPY[@]}" "${SEG[@]}" -r --json "$T" "$H:$R")" 0 "put -r in segments of 7 entries"
is "$(json_field files_done)" "$NF" "  $NF files done"
[ "$(json_field segments)" -ge $((NE / 7)) ]; ok $? "  in $(json_field segments) segments"
is "$(json_field links)" 2 "  two links made"
is "$(json_field chunks_total)" $((NF - 1 + 3)) "  chunks: the small files and 3 of the big one"
is "$(tree_state "$R/tree")" "$(tree_state "$T")" "  types, modes, mtimes, sizes, link targets equal"
is "$(tree_sums "$R/tree")" "$(tree_sums "$T")" "  sha256 equal"
no_partials "$R/tree"; ok $? "  no temporary files left"
is "$(run "${COPY[@]}" "${SEG[@]}" -r --json "$H:$R/tree" "$B")" 0 "get -r it back in segments of 7"
is "$(json_field files_done)" "$NF" "  $NF files done"
[ "$(json_field segments)" -ge $((NE / 7)) ]; ok $? "  in $(json_field segments) segments"
is "$(tree_state "$B/tree")" "$(tree_state "$T")" "  types, modes, mtimes, sizes, link targets equal"
is "$(tree_sums "$B/tree")" "$(tree_sums "$T")" "  sha256 equal"
no_partials "$B/tree"; ok $? "  no temporary files left"
rm -rf "$B/tree"
is "$(run "${COPY[@]}" --segment 1 -r --json "$H:$R/tree" "$B")" 0 "get -r with one entry a segment"
is "$(json_field segments)" "$NE" "  $NE segments"
is "$(tree_state "$B/tree")" "$(tree_state "$T")" "  types, modes, mtimes, sizes, link targets equal"

# --- verification over segments ---
is "$(run "${COPY[@]}" --segment 50 -r --json --verify "$T" "$H:$R/v")" 0 "put -r --verify in segments of 50"
is "$(json_field verified)" "$NF" "  all $NF files verified"
is "$(run "${COPY[@]}" --segment 50 -r --json -V "$H:$R/v" "$B/v")" 0 "get -r --verify-read in segments of 50"
is "$(json_field verified)" "$NF" "  all $NF files verified"

# --- several operands, some bigger than a segment ---
mkdir "$R/ops"
is "$(run "${COPY[@]}" --segment 5 -r --json "$T/ro" "$T/link" "$T/private" "$T/many" "$H:$R/ops")" 0 \
	"put four operands in segments of 5"
for d in ro private many; do
	is "$(tree_state "$R/ops/$d")" "$(tree_state "$T/$d")" "  $d equal"
done
[ -f "$R/ops/link" ] && [ ! -L "$R/ops/link" ] && cmp -s "$R/ops/link" "$T/sub dir/big one.bin"
ok $? "  the link operand copied as what it points at (like scp)"

# --- the client killed in a later segment (upload), then --resume ---
# The copy goes through the "sftp-gate" subsystem, which holds it for good
# once a file of the chosen directory is in place: the kill cannot come
# after the copy ended.  Entries: small, d00, its 100 files, d01, ...:
# segments of 100 put d03 (entry 304) and most of its files in the fourth.
gated_sshd
S=$L/small
small_tree "$S" 600 6 3000
J=$SCRATCH/j
RS=(--segment 100 -r -n 2)
# f_in_segment K: whether the journal records a finished file of segment K
f_in_segment() {
	local base
	base=$(sed -n "s/^S $1 \([0-9]*\) .*/\1/p" "$J")
	[ -n "$base" ] && awk -v b="$base" '$1 == "F" && $2 >= b { f = 1 } END { exit !f }' "$J"
}
echo /small/d03/ >"$SCRATCH/gate-trigger"
"${G[@]}" "${RS[@]}" --resume "$J" "$S" "$H:$R" >/dev/null 2>&1 &
pid=$!
wait_file "$GATE_CLOSED" "$pid"; ok $? "the copy is held once a file of d03 is in place"
grep -q '^S 3 ' "$J"; ok $? "  the journal records the fourth segment"
for i in $(seq 1 1200); do f_in_segment 3 && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
f_in_segment 3; ok $? "  and a file finished in it"
kill -9 "$pid"; wait "$pid" 2>/dev/null
rm -f "$GATE_ARMED" "$GATE_CLOSED"
K=$(records "$J" '^F [0-9]*$')
diag "killed after $K files, $(records "$J" '^S ') segments"
[ "$K" -gt 0 ] && [ "$K" -lt 600 ]; ok $? "  some files done, not all"
is "$(run "${COPY[@]}" "${RS[@]}" --json --resume "$J" "$S" "$H:$R")" 0 "--resume finishes"
is "$(json_field chunks_skipped)" "$K" "  the $K files of the journal are skipped"
is "$(json_field chunks_sent)" $((600 - K)) "  only the other $((600 - K)) are sent"
is "$(tree_sums "$R/small")" "$(tree_sums "$S")" "  sha256 equal"
is "$(tree_state "$R/small")" "$(tree_state "$S")" "  modes and mtimes equal"
no_partials "$R/small"; ok $? "  no temporary files left"
[ ! -e "$J" ]; ok $? "  the journal is removed after success"

# --- killed again, then a file of an early segment changes: refused ---
rm -rf "$R/small"
echo /small/d02/ >"$SCRATCH/gate-trigger"
"${G[@]}" "${RS[@]}" --resume "$J" "$S" "$H:$R" >/dev/null 2>&1 &
pid=$!
wait_file "$GATE_CLOSED" "$pid" && grep -q '^S 2 ' "$J"
ok $? "killed once the journal records the third segment"
kill -9 "$pid"; wait "$pid" 2>/dev/null
rm -f "$GATE_ARMED" "$GATE_CLOSED"
find "$S" -type f -exec touch -d @1500000000 {} +
is "$(run "${COPY[@]}" "${RS[@]}" --resume "$J" "$S" "$H:$R")" 1 "--resume after the files changed: refused"
grep -q "changed since" "$SCRATCH/err"; ok $? "  says the files changed: $(cat "$SCRATCH/err")"
[ -e "$J" ]; ok $? "  the journal is kept"
done_testing
