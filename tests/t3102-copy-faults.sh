#!/bin/bash
# cpk copy under faults.  A per-connection sshd process killed mid-run: the
# unfinished work is retried on a fresh connection.  The client killed
# mid-run: --resume finishes without sending again any chunk or file the
# journal lists.  Each kill is triggered by an event (the journal recording
# its Nth finished piece), watched with a bounded poll.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup
head -c $((192 * M)) /dev/urandom >"$L/big"
SUM=$(sha256sum <"$L/big")
CH=(--chunk-min 1M --chunk-max 1M --throttle-ms 5 -n 2)

# --- a per-connection sshd killed: retried on a fresh connection ---
# kill_one_conn: kills the sshd processes of one authenticated connection
# (a child of the listener that has a session child of its own).
kill_one_conn() {
	local c kids
	for c in $(pgrep -P "$SSHD_PID"); do
		kids=$(pgrep -P "$c")
		if [ -n "$kids" ]; then
			kill -9 $c $kids && echo "$c $kids"
			return
		fi
	done
}
for way in put get get-channels; do
	J=$SCRATCH/j-retry-$way
	X=()
	if [ $way = put ]; then src=$L/big dst=$H:$R/big got=$R/big
	elif [ $way = get ]; then src=$H:$R/big dst=$B/big got=$B/big
	else src=$H:$R/big dst=$B/big-ch got=$B/big-ch X=(--channels 3); fi
	# (the killed connection of get-channels carries 3 channels at once)
	"${COPY[@]}" "${CH[@]}" "${X[@]}" --json --resume "$J" "$src" "$dst" \
		>"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	wait_records "$J" '^C ' 20 "$pid"; ok $? "$way: the journal records 20 chunks"
	victim=$(kill_one_conn)
	[ -n "$victim" ]; ok $? "  killed one connection's sshd processes ($victim)"
	wait "$pid"; is $? 0 "  the copy still succeeds"
	[ "$(json_field retries)" -ge 1 ] && [ "$(json_field reconnects)" -ge 1 ]
	ok $? "  after $(json_field retries) retries, $(json_field reconnects) reconnects"
	is "$(sha256sum <"$got")" "$SUM" "  sha256 equal"
	no_partials "$(dirname "$got")"; ok $? "  no temporary files left"
	[ ! -e "$J" ]; ok $? "  the journal is removed after success"
done

# --- the client killed (upload), then --resume ---
J=$SCRATCH/j-put
"${COPY[@]}" "${CH[@]}" --resume "$J" "$L/big" "$H:$R/big2" >/dev/null 2>&1 &
pid=$!
wait_records "$J" '^C ' 40 "$pid"; ok $? "the journal records 40 chunks"
kill -9 "$pid"; wait "$pid" 2>/dev/null
K=$(records "$J" '^C [0-9]* [0-9]*$')
diag "killed after $K chunks"
[ ! -e "$R/big2" ] && [ -e "$R/.big2.$(sed -n 's/^K //p' "$J").cpk-part" ]
ok $? "  only the temporary file exists, not the final name"
is "$(run "${COPY[@]}" "${CH[@]}" --json --resume "$J" "$L/big" "$H:$R/big2")" 0 "--resume finishes"
is "$(json_field chunks_total)" 192 "  192 chunks in all"
is "$(json_field chunks_skipped)" "$K" "  the $K chunks of the journal are skipped"
is "$(json_field chunks_sent)" $((192 - K)) "  only the other $((192 - K)) are sent"
is "$(json_field bytes_sent)" $(((192 - K) * M)) "  bytes sent: only theirs"
is "$(sha256sum <"$R/big2")" "$SUM" "  sha256 equal"
[ ! -e "$J" ] && no_partials "$R"; ok $? "  journal and temporary file gone"

# --- killed, then resumed with another connection count: the journal's
# chunking wins (chunk count follows the streams otherwise) ---
J=$SCRATCH/j-parts
P=(--chunk-min 1M --chunk-max 64M)
"${COPY[@]}" "${P[@]}" -n 2 --throttle-ms 300 --resume "$J" "$L/big" "$H:$R/big3" >/dev/null 2>&1 &
pid=$!
wait_records "$J" '^C ' 2 "$pid"; ok $? "the journal records 2 chunks"
kill -9 "$pid"; wait "$pid" 2>/dev/null
K=$(records "$J" '^C [0-9]* [0-9]*$')
grep -q '^chunk 1048576 67108864 parts 16$' "$J"; ok $? "  the journal names 16 parts"
is "$(run "${COPY[@]}" "${P[@]}" -n 20 --json --resume "$J" "$L/big" "$H:$R/big3")" 0 "--resume with -n 20 finishes"
is "$(json_field chunks_total)" 16 "  still 16 chunks (20 streams alone would cut 20)"
is "$(json_field chunks_skipped)" "$K" "  the $K chunks of the journal are skipped"
is "$(sha256sum <"$R/big3")" "$SUM" "  sha256 equal"
is "$(run "${COPY[@]}" "${P[@]}" -n 20 --json "$L/big" "$H:$R/big4")" 0 "a fresh copy with -n 20"
is "$(json_field chunks_total)" 20 "  cuts 20 chunks"

# --- the client killed (download of 2,000 small files), then --resume ---
S=$R/small
small_tree "$S" 2000 10 3000
J=$SCRATCH/j-get
"${COPY[@]}" -r -n 2 --throttle-ms 100 --resume "$J" "$H:$S" "$B" >/dev/null 2>&1 &
pid=$!
wait_records "$J" '^F ' 1 "$pid"; ok $? "the journal records finished files"
kill -9 "$pid"; wait "$pid" 2>/dev/null
K=$(records "$J" '^F [0-9]*$')
diag "killed after $K files"
is "$(run "${COPY[@]}" -r -n 2 --json --resume "$J" "$H:$S" "$B")" 0 "--resume finishes"
is "$(json_field chunks_skipped)" "$K" "  the $K files of the journal are skipped"
is "$(json_field chunks_sent)" $((2000 - K)) "  only the other $((2000 - K)) are sent"
is "$(tree_sums "$B/small")" "$(tree_sums "$S")" "  sha256 equal"
is "$(tree_state "$B/small")" "$(tree_state "$S")" "  modes and mtimes equal"
no_partials "$B"; ok $? "  no temporary files left"
done_testing
