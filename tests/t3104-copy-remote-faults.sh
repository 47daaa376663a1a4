#!/bin/bash
# cpk copy against a remote side that fails under it: the remote disk fills
# up (a 1 MiB tmpfs that only this test's mount namespace, sshd included,
# sees), and a source file that shrinks while it is being sent.  Each one:
# a clear message, a non-zero exit, no final name holding a partial file.
if [ -z "${CPK_T3104_NS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -m --propagation private true 2>/dev/null; then
		echo "1..0 # SKIP needs root and unshare (a private mount namespace)"
		exit 0
	fi
	CPK_T3104_NS=1 exec unshare -m --propagation private -- "$BASH" "$0" "$@"
fi
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup

# --- the remote disk is full ---
mkdir "$R/full"
mount -t tmpfs -o size=1m tmpfs "$R/full"; ok $? "a 1 MiB tmpfs on the remote side"
at_exit "umount '$R/full'"
echo small >"$L/small"
head -c 3000000 /dev/urandom >"$L/three-mb"
is "$(run "${COPY[@]}" "$L/small" "$L/three-mb" "$H:$R/full")" 1 \
	"put a small and a 3 MB file (copied whole) into it: fails"
grep -q "copied 1 of 2 files" "$SCRATCH/err" && grep -q "$R/full/three-mb" "$SCRATCH/err" &&
	grep -q "the remote file system of $R/full is full" "$SCRATCH/err"
ok $? "  says what was copied, names what was not, and that the disk is full: $(cat "$SCRATCH/err")"
is "$(cat "$R/full/small")" small "  the small file is there"
[ ! -e "$R/full/three-mb" ]; ok $? "  no three-mb under its final name"
no_partials "$R/full"; ok $? "  no temporary file left"
is "$(run "${COPY[@]}" --chunk-min 1M --chunk-max 1M -n 2 "$L/three-mb" "$H:$R/full/chunked")" 1 \
	"put it in 1 MiB chunks over 2 connections: fails"
grep -q "cannot upload $L/three-mb to remote $R/full/chunked" "$SCRATCH/err" &&
	grep -q "is full" "$SCRATCH/err"; ok $? "  names both sides, says the disk is full: $(cat "$SCRATCH/err")"
[ ! -e "$R/full/chunked" ] && no_partials "$R/full"; ok $? "  no final name, no temporary file"
is "$(run "${COPY[@]}" -n 2 --channels 2 -r "$L" "$H:$R/full/tree")" 1 \
	"put -r over 2 connections x 2 channels: fails"
grep -q "copied [0-9]* of [0-9]* files" "$SCRATCH/err"; ok $? "  says what was copied: $(cat "$SCRATCH/err")"
[ ! -e "$R/full/tree/three-mb" ] && no_partials "$R/full"; ok $? "  no partial file under any name"

# --- a source file shrinks while it is sent ---
head -c $((32 << 20)) /dev/urandom >"$L/shrinks"
J=$SCRATCH/j-shrink
"${COPY[@]}" --chunk-min 1M --chunk-max 1M -n 1 --throttle-ms 100 --resume "$J" \
	"$L/shrinks" "$H:$R/shrunk" >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
# (31 chunks and 3.1 s of throttle are left when the first is recorded)
wait_records "$J" '^C ' 1 "$pid"; ok $? "the journal records a first chunk"
truncate -s $((4 << 20)) "$L/shrinks"
wait "$pid"; is $? 1 "  the source shrank to 4 MiB meanwhile: the copy fails"
grep -q "$L/shrinks" "$SCRATCH/err" && grep -q "changed size" "$SCRATCH/err"; ok $? "  names it and says why: $(cat "$SCRATCH/err")"
[ ! -e "$R/shrunk" ]; ok $? "  no file under the final name"
is "$(run "${COPY[@]}" --chunk-min 1M --chunk-max 1M -n 1 --resume "$J" "$L/shrinks" "$H:$R/shrunk")" 1 \
	"  --resume with the changed source: refused"
grep -q "another transfer" "$SCRATCH/err"; ok $? "  says the journal is another transfer's: $(cat "$SCRATCH/err")"
rm -f "$J"
is "$(run "${COPY[@]}" --chunk-min 1M --chunk-max 1M -n 1 "$L/shrinks" "$H:$R/shrunk")" 0 "  a fresh copy succeeds"
cmp -s "$L/shrinks" "$R/shrunk"; ok $? "  equal"

# --- a source file grows while it is sent: what was there when it was
# walked is copied (as scp does), complete, under the final name ---
head -c $((32 << 20)) /dev/urandom >"$L/grows"
head -c $((32 << 20)) "$L/grows" >"$SCRATCH/grows.at-start"
J=$SCRATCH/j-grow
"${COPY[@]}" --json --chunk-min 1M --chunk-max 1M -n 1 --throttle-ms 100 --resume "$J" \
	"$L/grows" "$H:$R/grown" >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
wait_records "$J" '^C ' 1 "$pid"; ok $? "the journal records a first chunk"
head -c $((3 << 20)) /dev/urandom >>"$L/grows"
wait "$pid"; is $? 0 "  the source grew by 3 MiB meanwhile: the copy succeeds"
cmp -s "$SCRATCH/grows.at-start" "$R/grown"; ok $? "  the destination holds the 32 MiB there were at the start"
is "$(json_field bytes_done)" $((32 << 20)) "  and says so"
no_partials "$R"; ok $? "  no temporary file left"
done_testing
