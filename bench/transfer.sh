#!/bin/bash
# Transfer benchmark (not a test; make bench-transfer): cpk copy (its defaults,
# and -n 1, 4, 8, 16) against scp, scp -O, sftp and rsync over ssh, all with
# aes128-gcm@openssh.com, uploading one big file and many small files at
# RTT 0, 20 and 100 ms, in ONE run, printing MB/s, files/s and the ratio to
# scp.
#
#   bash bench/transfer.sh CPK RELAY     (RELAY: the build's bench/relay)
#
# It re-runs itself in a new network namespace (only its own loopback: no
# route out) and mount namespace (data on a private tmpfs), starts a
# throwaway sshd there (tests/rig/sshd.sh) and puts bench/relay in front of
# it to add the delay (this kernel has no netem).  The relay holds bytes,
# not packets: it delays SSH/SFTP round trips, not TCP's window growth.
# RTT 0 rows go straight to sshd.  A final check shows what the relay costs
# at 0 ms and that at the longest RTT it passes more than cpk copy's
# default moves.  Everything it starts is stopped by pid.  Knobs:
#   BIG_MB=1024 SMALL_N=2000 SMALL_KB=64 RTTS="0 20 100"
#   CONNS="auto 1 4 8 16"  (cpk copy -n N; auto: no -n, its defaults)
#   SUBSET=100  (small files for the slow baselines at RTT >= 100 ms)
#   BASELINES="scp scp-O sftp rsync"  (scp first: the ratios are to it)
#   COPY_ARGS=""  (more cpk copy options, e.g. --chunk-max 16M)
#   CPK_BASE=PATH  (another cpk, e.g. the previous release: its rows "base-nN"
#                   run beside cpk's in the same run; BASE_CONNS="auto")
#   DIRECTIONS="put"  ("put get": also download rows, cpk and base only)
set -u
CPK=${1:?usage: transfer.sh CPK RELAY}
RELAY=${2:?usage: transfer.sh CPK RELAY}
TOP=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${CPK_BENCH_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "transfer.sh: needs root (namespaces)" >&2; exit 1; }
	exec unshare --net --mount --propagation private \
		env CPK_BENCH_NS=1 bash "$0" "$@"
fi

BIG_MB=${BIG_MB:-1024}
SMALL_N=${SMALL_N:-2000}
SMALL_KB=${SMALL_KB:-64}
RTTS=${RTTS:-0 20 100}
CONNS=${CONNS:-auto 1 4 8 16}
BASELINES=${BASELINES-scp scp-O sftp rsync}
COPY_ARGS=${COPY_ARGS:-}
SUBSET=${SUBSET:-100}
CPK_BASE=${CPK_BASE:-}
BASE_CONNS=${BASE_CONNS:-auto}
DIRECTIONS=${DIRECTIONS:-put}
CIPHER=aes128-gcm@openssh.com

ip link set lo up || exit 1
T=$(mktemp -d /tmp/cpk-bench.XXXXXX) || exit 1
mount -t tmpfs -o size=$((BIG_MB * 3 + 2048))m tmpfs "$T" || exit 1
RELAY_PID=
cleanup() {
	[ -n "$RELAY_PID" ] && kill "$RELAY_PID" 2>/dev/null && wait "$RELAY_PID" 2>/dev/null
	sshd_stop
	umount "$T" 2>/dev/null
	rmdir "$T" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$TOP/tests/rig/sshd.sh"
sshd_start "$T/sshd" >/dev/null || { echo "sshd did not start" >&2; exit 1; }

echo "== data: 1 x ${BIG_MB} MiB, ${SMALL_N} x ${SMALL_KB} KiB (random), on tmpfs"
mkdir -p "$T/src/small" "$T/src/subset"
head -c $((BIG_MB << 20)) /dev/urandom > "$T/src/big"
head -c $((SMALL_N * SMALL_KB * 1024)) /dev/urandom |
	(cd "$T/src/small" && split -a 5 -d -b "${SMALL_KB}K" - f)
for f in $(ls "$T/src/small" | head -n "$SUBSET"); do cp "$T/src/small/$f" "$T/src/subset/"; done
BIG_BYTES=$((BIG_MB << 20))
KH=$T/known_hosts
KEYPART=$(awk '{ print $2, $3; exit }' "$SSHD_KNOWN_HOSTS")

have_cpk=1
"$CPK" copy --help >/dev/null 2>&1 || have_cpk=0
[ $have_cpk = 1 ] || echo "(cpk copy is not built yet: its rows are skipped)"

now() { date +%s%N; }
SSHO=(-o BatchMode=yes -o "UserKnownHostsFile=$KH" -o StrictHostKeyChecking=yes -c "$CIPHER" -i "$SSHD_KEY")

# run_tool TOOL KIND PORT SRC DST: upload; prints seconds (or FAIL)
run_tool() {
	local tool=$1 kind=$2 port=$3 src=$4 dst=$5 r=() t0 t1
	rm -rf "$dst"
	[ "$kind" = dir ] && r=(-r)
	t0=$(now)
	case $tool in
	scp) scp -q "${SSHO[@]}" -P "$port" "${r[@]}" "$src" "root@127.0.0.1:$dst" ;;
	scp-O) scp -O -q "${SSHO[@]}" -P "$port" "${r[@]}" "$src" "root@127.0.0.1:$dst" ;;
	sftp)
		if [ "$kind" = dir ]; then
			printf 'mkdir %s\nput -r %s/. %s\n' "$dst" "$src" "$dst"
		else
			printf 'put %s %s\n' "$src" "$dst"
		fi | sftp -q "${SSHO[@]}" -P "$port" -b - root@127.0.0.1 >/dev/null ;;
	rsync) rsync -a -e "ssh -p $port ${SSHO[*]}" "$src" "root@127.0.0.1:$dst" ;;
	cpk-n*|base-n*)
		local bin=$CPK n=${tool#*-n} ends=("$src" "127.0.0.1:$dst")
		[ "${tool%%-*}" = base ] && bin=$CPK_BASE
		[ "$DIR" = get ] && ends=("127.0.0.1:$src" "$dst")
		[ "$n" = auto ] && n= || n="-n $n"
		"$bin" copy -q $n -P "$port" -i "$SSHD_KEY" -o "UserKnownHostsFile=$KH" \
			-c "$CIPHER" $COPY_ARGS "${r[@]}" "${ends[@]}" >/dev/null ;;
	esac || { echo FAIL; return; }
	t1=$(now)
	# the copy must be whole
	if [ "$kind" = dir ]; then
		[ "$(find "$dst" -type f | wc -l)" = "$(find "$src" -type f | wc -l)" ] || { echo FAIL; return; }
	else
		cmp -s "$src" "$dst" || { echo FAIL; return; }
	fi
	echo $(( (t1 - t0) / 1000 ))	# microseconds
}

start_relay() {	# start_relay ONE_WAY_MS -> RELAY_PORT
	[ -n "$RELAY_PID" ] && kill "$RELAY_PID" && wait "$RELAY_PID" 2>/dev/null
	RELAY_PORT=$(( (RANDOM % 20000) + 30000 ))
	"$RELAY" "$RELAY_PORT" "$SSHD_PORT" "$1" > "$T/relay.out" 2>&1 &
	RELAY_PID=$!
	for _ in $(seq 100); do grep -q ready "$T/relay.out" && break; sleep 0.05; done
	grep -q ready "$T/relay.out" || { echo "relay did not start" >&2; exit 1; }
	printf '[127.0.0.1]:%s %s\n[127.0.0.1]:%s %s\n' "$RELAY_PORT" "$KEYPART" \
		"$SSHD_PORT" "$KEYPART" > "$KH"
}

printf '\n%-10s %-7s %-9s %9s %9s %10s %8s\n' RTT case tool seconds MB/s files/s "x scp"
report() {	# report RTT CASE TOOL US BYTES FILES SCP_RATE
	local us=$4 mbs fps raw ratio
	if [ "$us" = FAIL ]; then
		printf '%-10s %-7s %-9s %9s\n' "$1" "$2" "$3" FAILED
		return
	fi
	mbs=$(awk -v b="$5" -v u="$us" 'BEGIN { printf "%.1f", b / u }')
	fps=$(awk -v f="$6" -v u="$us" 'BEGIN { printf "%.1f", f * 1e6 / u }')
	raw=$(awk -v f="$6" -v u="$us" 'BEGIN { printf "%.9g", f * 1e6 / u }')
	ratio=$(awk -v m="$raw" -v s="$7" 'BEGIN { if (s > 0) printf "%.1f", m / s; else print "-" }')
	printf '%-10s %-7s %-9s %9.2f %9s %10s %8s\n' "$1" "$2" "$3" \
		"$(awk -v u="$us" 'BEGIN { print u / 1e6 }')" "$mbs" "$fps" "$ratio"
	LAST_FPS=$raw	# unrounded: the ratio of a single big file needs it
}

tools_for() {	# the tools of one row (downloads: cpk and base only)
	local t=
	[ "$DIR" = put ] && t="$BASELINES"
	if [ $have_cpk = 1 ]; then for n in $CONNS; do t="$t cpk-n$n"; done; fi
	if [ -n "$CPK_BASE" ]; then for n in $BASE_CONNS; do t="$t base-n$n"; done; fi
	echo "$t"
}

if [ -n "$CPK_BASE" ] && ! "$CPK_BASE" copy --help >/dev/null 2>&1; then
	echo "transfer.sh: CPK_BASE=$CPK_BASE is not a cpk with copy" >&2; exit 1
fi
DIR=put
for DIR in $DIRECTIONS; do
case $DIR in put|get) ;; *) echo "transfer.sh: DIRECTIONS: put, get" >&2; exit 1 ;; esac
for rtt in $RTTS; do
	start_relay $((rtt / 2))
	# RTT 0: straight to sshd (the relay would only cost CPU; see below)
	[ "$rtt" = 0 ] && RELAY_PORT=$SSHD_PORT
	label="${rtt}ms"
	[ "$DIR" = get ] && label="${rtt}ms-get"
	# big file
	scp_fps=0
	for tool in $(tools_for); do
		us=$(run_tool "$tool" file "$RELAY_PORT" "$T/src/big" "$T/dst.big")
		report "$label" big "$tool" "$us" "$BIG_BYTES" 1 "$scp_fps"
		[ "$tool" = scp ] && [ "$us" != FAIL ] && scp_fps=$LAST_FPS
	done
	# small files: the whole set, or a subset for slow baselines at long RTTs
	scp_fps=0
	for tool in $(tools_for); do
		src=$T/src/small n=$SMALL_N
		if [ "$rtt" -ge 100 ] && [ "${tool#cpk}" = "$tool" ] && [ "${tool#base}" = "$tool" ]; then
			src=$T/src/subset n=$SUBSET
		fi
		us=$(run_tool "$tool" dir "$RELAY_PORT" "$src" "$T/dst.small")
		report "$label" "small$([ $n = $SMALL_N ] || echo "/$n")" "$tool" "$us" \
			$((n * SMALL_KB * 1024)) "$n" "$scp_fps"
		[ "$tool" = scp ] && [ "$us" != FAIL ] && scp_fps=$LAST_FPS
	done
	rm -rf "$T/dst.big" "$T/dst.small"
done
done
DIR=put

# The relay must not be the bottleneck.  At 0 ms: the fastest tool direct
# and through the relay.  At the longest RTT: cpk copy with 64 streams
# through the relay must beat its default there (else the relay caps it).
mbps() { awk -v b=$BIG_BYTES -v u="$1" 'BEGIN { if (u == "FAIL") print "FAIL"; else printf "%.1f", b / u }'; }
echo
if [ $have_cpk = 1 ]; then
	start_relay 0
	d=$(run_tool cpk-nauto file "$SSHD_PORT" "$T/src/big" "$T/dst.big")
	r=$(run_tool cpk-nauto file "$RELAY_PORT" "$T/src/big" "$T/dst.big")
	echo "relay check at 0 ms (cpk copy, big file): direct $(mbps "$d") MB/s, through the relay $(mbps "$r") MB/s"
	max=0
	for rtt in $RTTS; do [ "$rtt" -gt "$max" ] && max=$rtt; done
	if [ "$max" -gt 0 ]; then
		start_relay $((max / 2))
		a=$(run_tool cpk-nauto file "$RELAY_PORT" "$T/src/big" "$T/dst.big")
		w=$(COPY_ARGS="$COPY_ARGS --channels 8" run_tool cpk-n8 file "$RELAY_PORT" "$T/src/big" "$T/dst.big")
		echo "relay check at ${max} ms (cpk copy, big file): default $(mbps "$a") MB/s, 64 streams $(mbps "$w") MB/s"
	fi
else
	start_relay 0
	d=$(run_tool sftp file "$SSHD_PORT" "$T/src/big" "$T/dst.big")
	r=$(run_tool sftp file "$RELAY_PORT" "$T/src/big" "$T/dst.big")
	echo "relay check at 0 ms (sftp, big file): direct $(mbps "$d") MB/s, through the relay $(mbps "$r") MB/s"
fi
echo "(x scp compares files/s, so rows on a subset of small files compare fairly)"
