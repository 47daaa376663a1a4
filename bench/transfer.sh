#!/bin/bash
# Transfer benchmark (not a test; make bench-transfer): cpk copy (its defaults,
# and -n 1, 4, 8, 16) against scp, scp -O, sftp and rsync over ssh, all with
# aes128-gcm@openssh.com, uploading one big file, many small files and a tree at
# RTT 0, 20 and 100 ms, in ONE run, printing MB/s, files/s and the ratio to
# scp.  Every tool copies the same files: a run that takes longer than
# TIMEOUT seconds is stopped and reported as "more than TIMEOUT seconds"
# (its rates as upper bounds), never run on fewer files.
#
#   bash bench/transfer.sh CPK RELAY     (RELAY: the build's bench/relay)
#
# It re-runs itself in a new network namespace (only its own loopback: no
# route out) and mount namespace (data on a private tmpfs), where the rig's
# user cpktest (tests/rig/lib.sh) exists with /bin/bash as its shell and a
# ~/.bashrc that sleeps 0.2 s, starts a throwaway sshd there
# (tests/rig/sshd.sh) and puts bench/relay in front of it to add the delay
# (this kernel has no netem).  Every tool logs in as cpktest.  Two servers,
# one after the other: "internal" (Subsystem sftp internal-sftp: no shell)
# and "stock" (Subsystem sftp /usr/lib/openssh/sftp-server, Debian's
# default, which sshd starts through the user's login shell: bash reads
# ~/.bashrc, 0.2 s per SFTP session).  scp -O and rsync go through the
# shell on both.  The "shells" column counts the .bashrc runs of a row.
# The relay holds bytes, not packets: it delays SSH/SFTP round trips, not
# TCP's window growth.
# RTT 0 rows go straight to sshd.  A final check shows what the relay costs
# at 0 ms and that at the longest RTT it passes more than cpk copy's
# default moves.  Everything it starts is stopped by pid.  Knobs:
#   BIG_MB=1024 SMALL_N=2000 SMALL_KB=64 RTTS="0 20 100"
#   TREE_N=20000 TREE_KB=4 TREE_DIRS=200  (a tree of TREE_N files spread over
#                   TREE_DIRS directories, the "tree" rows; TREE_N=0: none)
#   CONNS="auto 1 4 8 16"  (cpk copy -n N; auto: no -n, its defaults)
#   TIMEOUT=300  (seconds one tool may take on one row; slower: "> TIMEOUT")
#   SERVERS="internal stock"
#   BASELINES="scp scp-O sftp rsync"  (scp first: the ratios are to it)
#   COPY_ARGS=""  (more cpk copy options, e.g. --chunk-max 16M)
#   CPK_BASE=PATH  (another cpk, e.g. the previous release: its rows "base-nN"
#                   run beside cpk's in the same run; BASE_CONNS="auto")
#   DIRECTIONS="put"  ("put get": also download rows, every tool)
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
TREE_N=${TREE_N:-20000}
TREE_KB=${TREE_KB:-4}
TREE_DIRS=${TREE_DIRS:-200}
RTTS=${RTTS:-0 20 100}
CONNS=${CONNS:-auto 1 4 8 16}
BASELINES=${BASELINES-scp scp-O sftp rsync}
COPY_ARGS=${COPY_ARGS:-}
TIMEOUT=${TIMEOUT:-300}
SERVERS=${SERVERS:-internal stock}
CPK_BASE=${CPK_BASE:-}
BASE_CONNS=${BASE_CONNS:-auto}
DIRECTIONS=${DIRECTIONS:-put}
CIPHER=aes128-gcm@openssh.com

for s in $SERVERS; do
	case $s in internal|stock) ;; *) echo "transfer.sh: SERVERS: internal, stock" >&2; exit 1 ;; esac
done
ip link set lo up || exit 1
. "$TOP/tests/rig/lib.sh"
. "$TOP/tests/rig/sshd.sh"
# the rig's clean-up (rig_at_exit) stops everything, newest first
RIG_USER_SHELL=/bin/bash
rig_tmpdir && rig_make_user && rig_bind_user_files || { echo "no user $RIG_USER" >&2; exit 1; }
USER_AT=$RIG_USER@127.0.0.1
BASHRC_RAN=$RIG_USER_HOME/.bashrc-ran
printf '%s\n' 'printf x >>"$HOME/.bashrc-ran"; sleep 0.2' >"$RIG_USER_HOME/.bashrc"
chown "$RIG_UID:$RIG_GID" "$RIG_USER_HOME/.bashrc"
T=$RIG_DIR/data
mkdir -p "$T" && mount -t tmpfs -o size=$((BIG_MB * 3 + 2048))m tmpfs "$T" || exit 1
rig_at_exit "umount -l $T"
RELAY_PID=
stop_relay() { [ -n "$RELAY_PID" ] && kill "$RELAY_PID" 2>/dev/null && wait "$RELAY_PID" 2>/dev/null; RELAY_PID=; }
rig_at_exit stop_relay
rig_at_exit sshd_stop

echo "== data: 1 x ${BIG_MB} MiB, ${SMALL_N} x ${SMALL_KB} KiB (random), on tmpfs"
mkdir -p "$T/src/small" && chmod 1777 "$T" || exit 1
head -c $((BIG_MB << 20)) /dev/urandom > "$T/src/big"
head -c $((SMALL_N * SMALL_KB * 1024)) /dev/urandom |
	(cd "$T/src/small" && split -a 5 -d -b "${SMALL_KB}K" - f)
TREE_PER=0
if [ "$TREE_N" -gt 0 ]; then
	[ "$TREE_DIRS" -gt 0 ] || { echo "transfer.sh: TREE_DIRS must be > 0" >&2; exit 1; }
	TREE_PER=$(( (TREE_N + TREE_DIRS - 1) / TREE_DIRS ))
	echo "== and a tree: ${TREE_N} x ${TREE_KB} KiB in ${TREE_DIRS} directories"
	left=$TREE_N
	for d in $(seq -w 1 "$TREE_DIRS"); do
		k=$(( left < TREE_PER ? left : TREE_PER ))
		[ "$k" -gt 0 ] || break
		mkdir -p "$T/src/tree/d$d" &&
		head -c $((k * TREE_KB * 1024)) /dev/urandom |
			(cd "$T/src/tree/d$d" && split -a 5 -d -b "${TREE_KB}K" - f) || exit 1
		left=$((left - k))
	done
fi
chmod -R a+rX "$T/src"
# Memory the machine has not touched since it booted costs several times
# more to fill the first time (seen on this VM: the first 1 GiB row of a
# run 2.47 s, the same row again 1.14 s).  Fill and free as much as the
# rows will hold at once, so that no row pays for it.
head -c $((BIG_MB * 2 + 512))M /dev/zero > "$T/warm" && rm -f "$T/warm"
BIG_BYTES=$((BIG_MB << 20))
KH=$T/known_hosts

# start_sshd internal|stock: (re)start the server with that sftp subsystem
start_sshd() {
	sshd_stop
	SSHD_SFTP_SUBSYSTEM=internal-sftp
	if [ "$1" = stock ]; then
		[ -x "$SFTP_SERVER" ] || { echo "no $SFTP_SERVER for SERVERS=stock" >&2; exit 1; }
		SSHD_SFTP_SUBSYSTEM=$SFTP_SERVER
	fi
	sshd_start "$T/sshd" >/dev/null || { echo "sshd did not start" >&2; exit 1; }
	# sshd reads the authorized_keys file as the user logging in
	chmod 0644 "$SSHD_DIR/authorized_keys" && chmod 0711 "$SSHD_DIR" || exit 1
	KEYPART=$(awk '{ print $2, $3; exit }' "$SSHD_KNOWN_HOSTS")
	SSHO=(-o BatchMode=yes -o "UserKnownHostsFile=$KH" -o StrictHostKeyChecking=yes -c "$CIPHER"
		-i "$SSHD_KEY")
}

have_cpk=1
"$CPK" copy --help >/dev/null 2>&1 || have_cpk=0
[ $have_cpk = 1 ] || echo "(cpk copy is not built yet: its rows are skipped)"

now() { date +%s%N; }

# run_tool TOOL KIND PORT SRC DST: upload; prints microseconds, FAIL, or
# TIMEOUT (stopped after TIMEOUT seconds)
tmo() { timeout -k 5 "$TIMEOUT" "$@"; }
run_tool() {
	local tool=$1 kind=$2 port=$3 src=$4 dst=$5 r=() t0 t1 rc
	rm -rf "$dst"
	[ "$kind" = dir ] && r=(-r)
	t0=$(now)
	# from, to: the two ends as the baselines take them
	local from=$src to=$USER_AT:$dst verb=put mk=mkdir
	[ "$DIR" = get ] && from=$USER_AT:$src to=$dst verb=get mk=lmkdir
	case $tool in
	scp) tmo scp -q "${SSHO[@]}" -P "$port" "${r[@]}" "$from" "$to" ;;
	scp-O) tmo scp -O -q "${SSHO[@]}" -P "$port" "${r[@]}" "$from" "$to" ;;
	sftp)
		if [ "$kind" = dir ]; then
			printf '%s %s\n%s -r %s/. %s\n' "$mk" "$dst" "$verb" "$src" "$dst"
		else
			printf '%s %s %s\n' "$verb" "$src" "$dst"
		fi | tmo sftp -q "${SSHO[@]}" -P "$port" -b - "$USER_AT" >/dev/null ;;
	rsync) tmo rsync -a -e "ssh -p $port ${SSHO[*]}" "$from" "$to" ;;
	cpk-n*|base-n*)
		local bin=$CPK n=${tool#*-n} ends=("$src" "$USER_AT:$dst")
		[ "${tool%%-*}" = base ] && bin=$CPK_BASE
		[ "$DIR" = get ] && ends=("$USER_AT:$src" "$dst")
		[ "$n" = auto ] && n= || n="-n $n"
		tmo "$bin" copy -q $n -P "$port" -i "$SSHD_KEY" -o "UserKnownHostsFile=$KH" \
			-c "$CIPHER" $COPY_ARGS "${r[@]}" "${ends[@]}" >/dev/null ;;
	esac
	rc=$?
	case $rc in
	0) ;;
	124|137) echo TIMEOUT; return ;;
	*) echo FAIL; return ;;
	esac
	t1=$(now)
	# the copy must be whole
	if [ "$kind" = dir ]; then
		[ "$(find "$dst" -type f | wc -l)" = "$(find "$src" -type f | wc -l)" ] || { echo FAIL; return; }
	else
		cmp -s "$src" "$dst" || { echo FAIL; return; }
	fi
	echo $(( (t1 - t0) / 1000 ))	# microseconds
}

# The port comes from rig_free_port (below the kernel's ephemeral range: a
# port that a client connection holds, even in TIME_WAIT, makes the relay's
# bind() fail), and relay.out is emptied before the relay starts: its
# "ready" is never the previous relay's.  (It was a random port in
# 30000-49999 and the file emptied by the background job itself: once in a
# while the relay could not bind, the old "ready" passed the check, and
# every row of that RTT failed with "Connection refused".)
start_relay() {	# start_relay ONE_WAY_MS -> RELAY_PORT
	local try
	stop_relay
	for try in 1 2 3 4 5; do
		RELAY_PORT=$(rig_free_port) || exit 1
		: > "$T/relay.out"
		"$RELAY" "$RELAY_PORT" "$SSHD_PORT" "$1" >> "$T/relay.out" 2>&1 &
		RELAY_PID=$!
		for _ in $(seq 200); do
			grep -q ready "$T/relay.out" && break
			kill -0 "$RELAY_PID" 2>/dev/null || break
			sleep 0.05
		done
		grep -q ready "$T/relay.out" && break
		echo "relay on port $RELAY_PORT (try $try): $(cat "$T/relay.out")" >&2
		stop_relay
	done
	[ -n "$RELAY_PID" ] || { echo "relay did not start" >&2; exit 1; }
	printf '[127.0.0.1]:%s %s\n[127.0.0.1]:%s %s\n' "$RELAY_PORT" "$KEYPART" \
		"$SSHD_PORT" "$KEYPART" > "$KH"
}

printf '\n%-8s %-10s %-6s %-9s %9s %9s %10s %8s %6s\n' server RTT case tool seconds MB/s \
	files/s "x scp" shells
# report RTT CASE TOOL US BYTES FILES SHELLS: one row.  A row stopped after
# TIMEOUT seconds shows "> TIMEOUT" and its rates as upper bounds ("<");
# ratios to such an scp row are lower bounds (">").  Sets LAST_FPS and
# LAST_BOUND for the scp row the next rows compare with (SCP_FPS, SCP_BOUND).
report() {
	local us=$4 lt="" mbs fps raw ratio secs
	if [ "$us" = FAIL ]; then
		printf '%-8s %-10s %-6s %-9s %9s\n' "$SERVER" "$1" "$2" "$3" FAILED
		LAST_FPS=0 LAST_BOUND=
		return
	fi
	if [ "$us" = TIMEOUT ]; then
		us=$((TIMEOUT * 1000000)) lt="<"
	fi
	mbs=$(awk -v b="$5" -v u="$us" 'BEGIN { printf "%.1f", b / u }')
	fps=$(awk -v f="$6" -v u="$us" 'BEGIN { printf "%.1f", f * 1e6 / u }')
	raw=$(awk -v f="$6" -v u="$us" 'BEGIN { printf "%.9g", f * 1e6 / u }')
	# the ratio is a bound when one side is; unknown when both are
	ratio=$(awk -v m="$raw" -v s="$SCP_FPS" -v a="$lt" -v b="$SCP_BOUND" 'BEGIN {
		if (s <= 0 || (a != "" && b != "")) { print "-"; exit }
		printf "%s%.1f", (a != "" ? "<" : (b != "" ? ">" : "")), m / s }')
	secs=$(awk -v u="$us" 'BEGIN { printf "%.2f", u / 1e6 }')
	[ -n "$lt" ] && secs="> $TIMEOUT"
	printf '%-8s %-10s %-6s %-9s %9s %9s %10s %8s %6s\n' "$SERVER" "$1" "$2" "$3" \
		"$secs" "$lt$mbs" "$lt$fps" "$ratio" "$7"
	LAST_FPS=$raw LAST_BOUND=$lt	# unrounded: the ratio of a single big file needs it
}
# row LABEL CASE TOOL KIND SRC BYTES FILES: run one tool, report it
row() {
	local us before
	before=$(stat -c %s "$BASHRC_RAN" 2>/dev/null || echo 0)
	us=$(run_tool "$3" "$4" "$RELAY_PORT" "$5" "$T/dst.$2")
	report "$1" "$2" "$3" "$us" "$6" "$7" $(($(stat -c %s "$BASHRC_RAN" 2>/dev/null || echo 0) - before))
	if [ "$3" = scp ]; then SCP_FPS=$LAST_FPS SCP_BOUND=$LAST_BOUND; fi
}

tools_for() {	# the tools of one row
	local t="$BASELINES"
	if [ $have_cpk = 1 ]; then for n in $CONNS; do t="$t cpk-n$n"; done; fi
	if [ -n "$CPK_BASE" ]; then for n in $BASE_CONNS; do t="$t base-n$n"; done; fi
	echo "$t"
}

if [ -n "$CPK_BASE" ] && ! "$CPK_BASE" copy --help >/dev/null 2>&1; then
	echo "transfer.sh: CPK_BASE=$CPK_BASE is not a cpk with copy" >&2; exit 1
fi
for SERVER in $SERVERS; do
start_sshd "$SERVER"
for DIR in $DIRECTIONS; do
case $DIR in put|get) ;; *) echo "transfer.sh: DIRECTIONS: put, get" >&2; exit 1 ;; esac
for rtt in $RTTS; do
	start_relay $((rtt / 2))
	# RTT 0: straight to sshd (the relay would only cost CPU; see below)
	[ "$rtt" = 0 ] && RELAY_PORT=$SSHD_PORT
	label="${rtt}ms"
	[ "$DIR" = get ] && label="${rtt}ms-get"
	# big file, then all the small files (every tool the same set)
	SCP_FPS=0 SCP_BOUND=
	for tool in $(tools_for); do
		row "$label" big "$tool" file "$T/src/big" "$BIG_BYTES" 1
	done
	SCP_FPS=0 SCP_BOUND=
	for tool in $(tools_for); do
		row "$label" small "$tool" dir "$T/src/small" $((SMALL_N * SMALL_KB * 1024)) "$SMALL_N"
	done
	if [ "$TREE_N" -gt 0 ]; then
		SCP_FPS=0 SCP_BOUND=
		for tool in $(tools_for); do
			row "$label" tree "$tool" dir "$T/src/tree" $((TREE_N * TREE_KB * 1024)) "$TREE_N"
		done
	fi
	rm -rf "$T/dst.big" "$T/dst.small" "$T/dst.tree"
done
done
done
# the stock server must have run the user's ~/.bashrc, or it showed nothing
case " $SERVERS " in
*" stock "*) [ -s "$BASHRC_RAN" ] ||
	{ echo "transfer.sh: no login shell ran ~/.bashrc: the stock case did not happen" >&2; exit 1; } ;;
esac
DIR=put

# The relay must not be the bottleneck.  At 0 ms: the fastest tool direct
# and through the relay.  At the longest RTT: cpk copy with 64 streams
# through the relay must beat its default there (else the relay caps it).
mbps() { awk -v b=$BIG_BYTES -v u="$1" 'BEGIN { if (u !~ /^[0-9]+$/) print u; else printf "%.1f", b / u }'; }
echo
if [ $have_cpk = 1 ]; then
	start_relay 0
	d=$(run_tool cpk-nauto file "$SSHD_PORT" "$T/src/big" "$T/dst.big")
	rl=$(run_tool cpk-nauto file "$RELAY_PORT" "$T/src/big" "$T/dst.big")
	echo "relay check at 0 ms (cpk copy, big file): direct $(mbps "$d") MB/s, through the relay $(mbps "$rl") MB/s"
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
	rl=$(run_tool sftp file "$RELAY_PORT" "$T/src/big" "$T/dst.big")
	echo "relay check at 0 ms (sftp, big file): direct $(mbps "$d") MB/s, through the relay $(mbps "$rl") MB/s"
fi
echo "(x scp compares files/s; \"> T\": stopped after TIMEOUT=T s, its rates \"<\" upper bounds;"
echo " shells: times a login shell read ~/.bashrc, 0.2 s each; relay checks on the $SERVER server)"
