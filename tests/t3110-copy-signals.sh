#!/bin/bash
# cpk copy interrupted by SIGTERM or SIGINT: it stops, removes the temporary
# files of what it did not finish on both sides (unless --resume keeps them
# for the rerun), and exits 143 or 130; the destination then holds only
# complete files.  Each signal is sent on a sign of progress (a temporary
# file with data in it, or a first complete file), watched with a bounded
# poll; --throttle-ms keeps the copy going long enough on a loaded machine.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup
head -c $((96 * M)) /dev/urandom >"$L/big"
small_tree "$L/small" 600 6 65536
BIGCH=(--chunk-min 1M --chunk-max 1M -n 2 --throttle-ms 60)
SMALLCH=(-r -n 2 --throttle-ms 150)
cp "$L/big" "$R/big"
cp -a "$L/small" "$R/small"

# wait_sign PID CMD...: until CMD succeeds (120 s at most) while PID lives.
wait_sign() {
	local pid=$1 deadline=$((SECONDS + 120))
	shift
	while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$pid" 2>/dev/null; do
		"$@" && return 0
		sleep 0.01
	done
	return 1
}
# part_with_data DIR: a temporary file with data in it under DIR
part_with_data() { [ -n "$(find "$1" -name '*.cpk-part' -size +0 2>/dev/null | head -1)" ]; }
# some_file DIR: a complete file under DIR
some_file() { [ -n "$(find "$1" -type f ! -name '*.cpk-part' 2>/dev/null | head -1)" ]; }
# only_complete SRC DST: every file under DST but the temporary ones is
# whole (the same bytes as in SRC)
only_complete() {
	local f bad=0
	while IFS= read -r -d '' f; do
		cmp -s "$1/$f" "$2/$f" || { diag "not whole: $2/$f"; bad=1; }
	done < <(cd "$2" && find . -type f ! -name '*.cpk-part' -print0)
	return $bad
}
# stop_copy PID SIG: sends SIG, waits (60 s at most: the copy must stop
# soon, not finish); RC: its exit status.
stop_copy() {
	local t0=$SECONDS dog
	kill -"$2" "$1"
	( sleep 60; kill -9 "$1" 2>/dev/null ) >/dev/null 2>&1 &
	dog=$!
	wait "$1"; RC=$?
	kill "$dog" 2>/dev/null; wait "$dog" 2>/dev/null
	diag "stopped $((SECONDS - t0)) s after SIG$2"
}

# interrupt NAME DIR KIND SIG [--resume JOURNAL]: one interrupted copy
# of KIND (big: one file; small: a tree of 600) in DIR (put, get); DDIR:
# what it made
n=0
interrupt() {
	local name=$1 dir=$2 kind=$3 sig=$4 want src dst sdir
	shift 4
	n=$((n + 1))
	[ "$sig" = TERM ] && want=143 || want=130
	if [ "$dir" = put ]; then
		src=$L/$kind dst=$H:$R/put$n sdir=$L ddir=$R/put$n
	else
		src=$H:$R/$kind dst=$B/get$n sdir=$R ddir=$B/get$n
	fi
	[ "$kind" = small ] && mkdir -p "$ddir"
	if [ "$kind" = big ]; then
		"${COPY[@]}" "${BIGCH[@]}" "$@" "$src" "$dst" >"$SCRATCH/out" 2>"$SCRATCH/err" &
	else
		"${COPY[@]}" "${SMALLCH[@]}" "$@" "$src" "$dst" >"$SCRATCH/out" 2>"$SCRATCH/err" &
	fi
	pid=$!
	if [ "${1:-}" = --resume ]; then
		# a resume has something to reuse once the journal says so
		# (data in a temporary file is not yet a finished chunk)
		wait_records "$2" "$([ "$kind" = big ] && echo '^C ' || echo '^F ')" 1 "$pid"
	elif [ "$kind" = big ]; then
		wait_sign "$pid" part_with_data "$(dirname "$ddir")"
	else
		wait_sign "$pid" some_file "$ddir"
	fi
	ok $? "$name: copying (a sign of progress seen)"
	stop_copy "$pid" "$sig"
	is "$RC" "$want" "  SIG$sig: exit $want"
	grep -q 'interrupted' "$SCRATCH/err"; ok $? "  it says it was interrupted"
	if [ "$kind" = big ]; then
		[ ! -e "$ddir" ]; ok $? "  the final name was not made"
	else
		only_complete "$sdir/small" "$ddir/small"
		ok $? "  the destination holds only complete files ($(find "$ddir" -type f | wc -l) of 600)"
	fi
}

for c in "put big TERM" "get big TERM" "put small TERM" "get small TERM" \
	 "get big INT" "put small INT"; do
	set -- $c
	interrupt "$1 $2" "$@"
	no_partials "$L" && no_partials "$R" && no_partials "$B"
	ok $? "  no temporary file left on either side"
done

# --- one file of 256 MiB copied whole (a single piece of work): the copy
# stops between its requests, not after the whole file ---
head -c $((256 * M)) /dev/urandom >"$L/whole"
for dir in put get; do
	if [ $dir = put ]; then src=$L/whole dst=$H:$R/whole-$dir d=$R
	else cp "$L/whole" "$R/whole"; src=$H:$R/whole dst=$B/whole-$dir d=$B; fi
	"${COPY[@]}" --chunk-min 1G -n 1 "$src" "$dst" >"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	wait_sign "$pid" part_with_data "$d"; ok $? "whole $dir: copying"
	stop_copy "$pid" TERM
	is "$RC" 143 "  SIGTERM: exit 143"
	[ ! -e "${dst#$H:}" ]; ok $? "  stopped inside the file: its final name was not made"
	no_partials "$L" && no_partials "$R" && no_partials "$B"
	ok $? "  no temporary file left on either side"
done
rm -f "$L/whole" "$R/whole"

# --- with --resume the temporary files and the journal stay for the rerun ---
for c in "get big TERM" "put small INT"; do
	set -- $c
	J=$SCRATCH/j-$1-$2
	interrupt "$1 $2 --resume" "$@" --resume "$J"
	[ -s "$J" ]; ok $? "  the journal stays"
	if [ "$2" = big ]; then
		part_with_data "$(dirname "$ddir")"; ok $? "  the temporary file stays"
	fi
	if [ "$1" = put ]; then src=$L/$2 dst=$H:$R/put$n
	else src=$H:$R/$2 dst=$B/get$n; fi
	if [ "$2" = big ]; then X=("${BIGCH[@]}"); else X=("${SMALLCH[@]}"); fi
	is "$(run "${COPY[@]}" "${X[@]}" --throttle-ms 0 --json --resume "$J" "$src" "$dst")" 0 \
		"  the rerun completes"
	[ "$(json_field chunks_skipped)" -ge 1 ]; ok $? "  reusing $(json_field chunks_skipped) pieces of work"
	if [ "$2" = big ]; then
		cmp -s "$L/big" "$ddir"; ok $? "  the file is whole"
	else
		is "$(tree_sums "$ddir/small")" "$(tree_sums "$L/small")" "  the files are whole"
	fi
	no_partials "$L" && no_partials "$R" && no_partials "$B" && [ ! -e "$J" ]
	ok $? "  no temporary file nor journal left"
done
done_testing
