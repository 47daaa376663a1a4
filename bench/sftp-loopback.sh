#!/bin/bash
# Loopback upload measurement (not a test): cpk-xfer (one connection,
# pipelined) and cpk copy (-n 1, 4, 8 connections) against scp, scp -O,
# sftp and rsync, all with
# aes128-gcm@openssh.com, against one throwaway sshd, in one run.
#   BENCH_DIR (default /dev/shm: no disk writeback noise)  RUNS (3)
#   BIG_MB (1024)  SMALL_N (2000)  SMALL_KB (64)
# Times are whole commands (connection setup included, like the tools).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${CPK_BUILD:-$HERE/../build}/tests/progs
RUNS=${RUNS:-3}
BIG_MB=${BIG_MB:-1024}
SMALL_N=${SMALL_N:-2000}
SMALL_KB=${SMALL_KB:-64}
. "$HERE/../tests/rig/sshd.sh"
T=$(mktemp -d "${BENCH_DIR:-/dev/shm}/cpk-bench.XXXXXX")
trap 'sshd_stop; rm -rf "$T"' EXIT
sshd_start "$T/sshd" >/dev/null || exit 1

C=aes128-gcm@openssh.com
X=("$BUILD/xfer_cli" -p "$SSHD_PORT" -l root -i "$SSHD_KEY" -A -o "$SSHD_KNOWN_HOSTS" -F none -c $C)
CFG=$SSHD_SSH_CONFIG
CPK=${CPK:-$HERE/../build/cpk}
# the command line bench/transfer.sh uses
K=("$CPK" copy -q -P "$SSHD_PORT" -i "$SSHD_KEY" -o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS" -c $C)

echo "# preparing ${BIG_MB} MiB file and ${SMALL_N} x ${SMALL_KB} KiB files in $T"
head -c $((BIG_MB << 20)) /dev/urandom >"$T/big"
mkdir "$T/small"
head -c $((SMALL_N * SMALL_KB * 1024)) /dev/urandom |
	split -a 5 -d -b $((SMALL_KB * 1024)) - "$T/small/f"
BIG_BYTES=$((BIG_MB << 20))
SMALL_BYTES=$((SMALL_N * SMALL_KB * 1024))

declare -A RES
now() { date +%s.%N; }
# run NAME BYTES DEST CMD...: time CMD, check, record MB/s
run() {
	local name=$1 bytes=$2 dest=$3; shift 3
	rm -rf "$dest"
	local s e
	s=$(now)
	if ! "$@" >/dev/null 2>"$T/err"; then
		echo "# $name FAILED: $(head -c 300 "$T/err")"
		RES[$name]+=" fail"
		return
	fi
	e=$(now)
	RES[$name]+=" $(echo "$bytes / ($e - $s) / 1000000" | bc -l | xargs printf %.0f)"
}
sftp_batch() {	# sftp with a one-line batch
	echo "$1" >"$T/batch"
	sftp -q -F "$CFG" -c $C -b "$T/batch" cpktest
}

# warm-up (discarded): first transfers after creating the files are slow
"${X[@]}" 127.0.0.1 put "$T/big" "$T/d.big" >/dev/null 2>&1
scp -q -F "$CFG" -c $C "$T/big" "cpktest:$T/d.big" >/dev/null 2>&1
"${X[@]}" 127.0.0.1 put-dir "$T/small" "$T/d.small" >/dev/null 2>&1
rm -rf "$T/d.big" "$T/d.small"

for r in $(seq 1 "$RUNS"); do
	echo "# round $r"
	run "big cpk-xfer w64" $BIG_BYTES "$T/d.big" "${X[@]}" 127.0.0.1 put "$T/big" "$T/d.big"
	run "big cpk-xfer w16" $BIG_BYTES "$T/d.big" "${X[@]}" -w 16 127.0.0.1 put "$T/big" "$T/d.big"
	run "big scp" $BIG_BYTES "$T/d.big" scp -q -F "$CFG" -c $C "$T/big" "cpktest:$T/d.big"
	run "big scp -O" $BIG_BYTES "$T/d.big" scp -O -q -F "$CFG" -c $C "$T/big" "cpktest:$T/d.big"
	run "big sftp" $BIG_BYTES "$T/d.big" sftp_batch "put $T/big $T/d.big"
	run "big rsync" $BIG_BYTES "$T/d.big" rsync -a -e "ssh -F $CFG -c $C" "$T/big" "cpktest:$T/d.big"
	for n in 1 4 8; do
		run "big cpk copy -n$n" $BIG_BYTES "$T/d.big" "${K[@]}" -n $n "$T/big" "127.0.0.1:$T/d.big"
		run "big cpk copy -n$n get" $BIG_BYTES "$T/back.big" "${K[@]}" -n $n "127.0.0.1:$T/big" "$T/back.big"
		run "small cpk copy -n$n" $SMALL_BYTES "$T/d.small" "${K[@]}" -n $n -r "$T/small" "127.0.0.1:$T/d.small"
		run "small cpk copy -n$n get" $SMALL_BYTES "$T/back.small" "${K[@]}" -n $n -r "127.0.0.1:$T/small" "$T/back.small"
	done
	run "big cpk-xfer get" $BIG_BYTES "$T/back.big" "${X[@]}" 127.0.0.1 get "$T/big" "$T/back.big"
	run "small cpk-xfer w64" $SMALL_BYTES "$T/d.small" "${X[@]}" 127.0.0.1 put-dir "$T/small" "$T/d.small"
	run "small cpk-xfer w256" $SMALL_BYTES "$T/d.small" "${X[@]}" -w 256 127.0.0.1 put-dir "$T/small" "$T/d.small"
	run "small scp" $SMALL_BYTES "$T/d.small" scp -r -q -F "$CFG" -c $C "$T/small" "cpktest:$T/d.small"
	run "small scp -O" $SMALL_BYTES "$T/d.small" scp -O -r -q -F "$CFG" -c $C "$T/small" "cpktest:$T/d.small"
	run "small sftp" $SMALL_BYTES "$T/d.small" sftp_batch "put -r $T/small $T/d.small"
	run "small rsync" $SMALL_BYTES "$T/d.small" rsync -a -e "ssh -F $CFG -c $C" "$T/small/" "cpktest:$T/d.small/"
	run "small cpk-xfer get" $SMALL_BYTES "$T/back.small" "${X[@]}" 127.0.0.1 get-dir "$T/small" "$T/back.small"
done
# last results must be right
"${X[@]}" 127.0.0.1 put-dir "$T/small" "$T/d.small" && diff -r "$T/small" "$T/d.small" >/dev/null &&
	"${X[@]}" 127.0.0.1 put "$T/big" "$T/d.big" && cmp -s "$T/big" "$T/d.big" &&
	echo "# results verified (cmp / diff -r)"

printf '%-22s %-22s %s\n' "case (MB/s)" "runs" "median"
for k in $(printf '%s\n' "${!RES[@]}" | sort | tr ' ' '\001'); do
	k=${k//$'\001'/ }
	med=$(tr ' ' '\n' <<<"${RES[$k]}" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
	printf '%-22s %-22s %s\n' "$k" "${RES[$k]# }" "$med"
done
