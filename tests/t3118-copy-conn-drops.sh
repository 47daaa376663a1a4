#!/bin/bash
# cpk copy against an sshd that drops connections while they log in
# (MaxStartups 1: a connection is dropped at once while another one is
# still unauthenticated; sshd's default 10:30:100 does the same at random
# beyond 10).  The streams of -n 8 connect together, so some are dropped:
# a stream that cannot connect gives its piece of work back untried (it
# never reached the server, so it costs none of the piece's --retries),
# waits a little longer each time and tries again, or stops; the live
# connections do the work.  Before, the same piece went back to the stream
# that could not connect and failed the file after --retries + 1 refusals.
# The first connection dropped so (another client holds the startup) is
# tried again after a wait; before, the copy failed at once.  A refused
# connection is not tried again.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
SSHD_MAX_STARTUPS=1 copy_setup
head -c $((48 * M)) /dev/urandom >"$L/big"
small_tree "$L/tree" 600 6 8192
SUM=$(sha256sum <"$L/big")
# small chunks: every stream finds work when it is connected
CH=(--chunk-min 1M --chunk-max 1M)
# What sshd dropped, as cpk saw it (sshd's own log cannot be counted on:
# OpenSSH 10 rate-limits its "drop connection ... Maxstartups" lines)
resets() { grep -c 'cannot connect to .*Socket error: \(Connection reset by peer\|disconnected\)' "$1"; }

# check NAME RC GOT: the copy of NAME ended with RC; sshd dropped some of
# its connections (else nothing was tested) and cpk said so
check() {
	local name=$1 rc=$2 d
	is "$rc" 0 "$name: copied"
	d=$(resets "$SCRATCH/err")
	[ "$d" -gt 0 ]; ok $? "  sshd dropped $d connections while they logged in (past MaxStartups)"
	grep -q '^cpk copy: warning: stream [0-9]*: cannot connect' "$SCRATCH/err"
	ok $? "  a stream says it could not connect: $(grep -m1 'stream [0-9]*:' "$SCRATCH/err" | head -c 300)"
	is "$(json_field files_failed)" 0 "  no file failed"
	! grep -q 'gave up after' "$SCRATCH/err"; ok $? "  no piece given up"
}
for r in default 0; do
	X=()
	[ $r = default ] || X=(--retries "$r")
	rc=$(run "${COPY[@]}" -v --json -n 8 "${CH[@]}" "${X[@]}" "$L/big" "$H:$R/big-$r")
	check "put, -n 8, --retries $r" "$rc"
	is "$(sha256sum <"$R/big-$r")" "$SUM" "  sha256 equal"
	no_partials "$R"; ok $? "  no temporary files left"

	rc=$(run "${COPY[@]}" -v --json -n 8 "${CH[@]}" "${X[@]}" "$H:$R/big-$r" "$B/big-$r")
	check "get, -n 8, --retries $r" "$rc"
	is "$(sha256sum <"$B/big-$r")" "$SUM" "  sha256 equal"
	no_partials "$B"; ok $? "  no temporary files left"
done

# batches of small files: a batch given back is taken by a live stream
rc=$(run "${COPY[@]}" -v --json -r -n 8 --retries 0 "$L/tree" "$H:$R/tree")
check "put of 600 small files, -n 8, --retries 0" "$rc"
[ "$(tree_sums "$R/tree")" = "$(tree_sums "$L/tree")" ]; ok $? "  every file equal"
no_partials "$R/tree"; ok $? "  no temporary files left"

# --- the first connection dropped: tried again after a wait ---
# A connection that never logs in holds sshd's one startup: sshd drops the
# next one (cpk's first), then this one goes and the slot is free.
exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT"
read -r -t 60 banner <&3
case $banner in SSH-2.0-*) ok 0 "an unauthenticated connection holds the startup";;
*) ok 1 "an unauthenticated connection holds the startup (got: $banner)";; esac
"${COPY[@]}" -v --json -n 1 --retries 6 "$L/big" "$H:$R/big-first" \
	>"$SCRATCH/out" 2>"$SCRATCH/err" 3<&- &
pid=$!
deadline=$((SECONDS + 120))
while ! grep -q 'connecting again' "$SCRATCH/err" && kill -0 "$pid" 2>/dev/null &&
	[ "$SECONDS" -lt "$deadline" ]; do
	sleep 0.01
done
[ "$(resets "$SCRATCH/err")" -gt 0 ]; ok $? "  sshd dropped cpk's first connection"
exec 3<&-
wait "$pid"; is $? 0 "  the copy connects again and succeeds"
grep -q '^cpk copy: warning: cannot connect.*; connecting again in [0-9]* ms (try 2 of 7)$' "$SCRATCH/err"
ok $? "  it says so: $(grep -m1 'connecting again' "$SCRATCH/err" | head -c 300)"
is "$(sha256sum <"$R/big-first")" "$SUM" "  sha256 equal"

# a refused connection is not tried again: at once an error
is "$(run "${COPY[@]}" -P 1 "$L/big" "$H:$R/big-refused")" 1 "a refused connection: fails"
! grep -q 'connecting again' "$SCRATCH/err"; ok $? "  without trying again: $(head -c 300 "$SCRATCH/err")"

done_testing
