#!/bin/bash
# Staging benchmark (issue 12; not a test: make bench-stage).  What does
# #SBATCH --stage-in / --stage-out cost over a bare `cpk copy` of the same
# data over the same link?
#
#   bash bench/stage.sh CPK PLUGIN RELAY   (the build's cpk, cpk_stage.so
#                                           and bench/relay)
#
# On the test rig (tests/rig/lib.sh: private mount namespace, user
# cpktest, munged, slurmctld, slurmd; tests/rig/sshd.sh: a real sshd on
# loopback) with bench/relay in front of sshd adding the round trip, the
# data on a private tmpfs.  cpktest's ~/.ssh/config names the relay
# "storage"; the plugin and cpk copy use it alike, with the same -n.
#   1. bare: cpk copy storage:BIG -> local, then local -> storage:OTHER,
#      as cpktest, timed around the whole command (exec to exit).
#   2. staged: one job of cpktest, --stage-in=big@storage:BIG and
#      --stage-out=big@storage:OTHER2; its script writes timestamps first
#      and last thing.  Staged time per direction: the plugin's own clock
#      around the whole stage step, fork of `cpk stage` to its reaping
#      ("cpk_stage: --stage-in done in S s" in slurmd's log).  Cross-check
#      from outside the plugin: slurmd's "Launching batch job" to the
#      script's first timestamp (stage-in), the script's last timestamp to
#      slurmstepd's "done with job" (stage-out), less the same spans of a
#      job that stages nothing (the rest of a job's start and end).
#   Overhead = staged - bare.  Every copy is checked by sha256.
# Knobs: SIZE_MB=1024 RTT_MS=50 CONNS=8 (plugin connections= and cpk copy -n)
#   RUNS=3 (bare copies and a staged job, in turn; a median row when >= 2)
set -u
CPK=${1:?usage: stage.sh CPK PLUGIN RELAY}
PLUGIN=${2:?usage: stage.sh CPK PLUGIN RELAY}
RELAY=${3:?usage: stage.sh CPK PLUGIN RELAY}
SIZE_MB=${SIZE_MB:-1024}
RTT_MS=${RTT_MS:-50}
CONNS=${CONNS:-8}
RUNS=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/rig/lib.sh
. "$here/../tests/rig/lib.sh"
# shellcheck source=tests/rig/sshd.sh
. "$here/../tests/rig/sshd.sh"

die() { echo "stage.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (namespaces, Slurm, the test user)"
missing=$(rig_missing_cmds munged slurmctld slurmd sbatch scontrol unshare setpriv sha256sum)
[ -z "$missing" ] || die "missing:$missing"
for f in "$CPK" "$RELAY"; do [ -x "$f" ] || die "$f: not an executable"; done
[ -f "$PLUGIN" ] || die "$PLUGIN: no such plugin"
rig_reexec_in_userns "$0" "$@" || die "could not set up the rig's mount namespace and user"

D=$RIG_DIR H=$RIG_USER_HOME U=$RIG_UID:$RIG_GID
T=$D/data	# the data, on a private tmpfs: a big file 5 times over, at most
install -d -m 0755 "$T" && mount -t tmpfs -o size=$((SIZE_MB * 5 + 256))m,mode=0755 tmpfs "$T" ||
	die "no tmpfs at $T"
rig_at_exit "umount -l $T"
S=$T/store W=$T/w
install -d -m 0755 -o "$RIG_UID" -g "$RIG_GID" "$S" "$S/bare" "$S/staged" "$W" "$W/bare" \
	"$W/plain" || die "no directories"

# --- the storage host: sshd behind the relay ---------------------------------
sshd_start "$D/sshd" >/dev/null || die "sshd did not start"
rig_at_exit sshd_stop
cat "$H/.ssh/id_ed25519.pub" >>"$SSHD_DIR/authorized_keys"
chmod 0644 "$SSHD_DIR/authorized_keys" && chmod 0711 "$SSHD_DIR"
RELAY_PORT=$(rig_free_port) || die "no free port"
rig_daemon_start relay "$D/relay.out" "$RELAY" "$RELAY_PORT" "$SSHD_PORT" $((RTT_MS / 2)) ||
	die "relay did not start"
rig_poll 10 grep -q ready "$D/relay.out" || die "relay not ready: $(cat "$D/relay.out")"
cat >"$H/.ssh/config" <<EOF
Host storage
	HostName 127.0.0.1
	Port $RELAY_PORT
	User $RIG_USER
	IdentityFile ~/.ssh/id_ed25519
EOF
echo "[127.0.0.1]:$RELAY_PORT $(cut -d' ' -f2,3 "$SSHD_KNOWN_HOSTS")" >"$H/.ssh/known_hosts"
chown "$U" "$H/.ssh/config" "$H/.ssh/known_hosts"

echo "== data: 1 file of $SIZE_MB MiB (random, tmpfs); RTT $RTT_MS ms (bench/relay); $CONNS connections"
head -c $((SIZE_MB << 20)) /dev/urandom >"$S/big" && chown "$U" "$S/big" || die "no data"
SUM=$(sha256sum <"$S/big")

# --- Slurm with the plugin ------------------------------------------------------
rig_cluster_yaml "$D" >/dev/null && rig_handwritten_conf "$D" "$D/etc" || die "no slurm.conf"
echo "required $PLUGIN connections=$CONNS retries=1 verify=no allowed_hosts=storage" \
	"stage_in_timeout=1800 stage_out_timeout=1800 cpk=$CPK" >"$D/etc/plugstack.conf"
rig_start_munge "$D" || die "munged did not start"
rig_start_slurm "$D/etc" || die "Slurm did not start"
LOG=$(rig_conf_get "$D/etc/slurm.conf" SlurmdLogFile) || die "no SlurmdLogFile"

now() { date +%s.%N; }
sub() {	# sub DIR SBATCH-ARGS...: submit as cpktest; prints the job id
	local dir=$1 id
	shift
	id=$(cd "$dir" && rig_as_user timeout 30 sbatch --parsable --mem=64M --chdir="$dir" \
		-o "$dir/job.out" "$@") || return 1
	echo "${id%%;*}"
}
# logtime REGEX: the time (epoch seconds) of the last slurmd log line matching
logtime() {
	local l
	l=$(grep -E "$1" "$LOG" | tail -n 1)
	[ -n "$l" ] || return 1
	l=${l#\[}
	l=${l%%\]*}
	date -d "${l/T/ }" +%s.%N
}
sec() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
same() { [ "$(sha256sum <"$1" 2>/dev/null)" = "$SUM" ]; }

# --- a job staging nothing: the job's own start and end, for the cross-check
# first and last thing the scripts do: a timestamp
script='date +%s.%N >t.start; X; date +%s.%N >t.end'
j0=$(sub "$W/plain" -J plain --wrap "${script/X/true}") || die "sbatch (plain) failed"
rig_wait_job "$j0" 120 && [ "$RIG_JOB_STATE" = COMPLETED ] || die "plain job $j0: $RIG_JOB_STATE"
rig_poll 30 grep -q "\[$j0\.batch\] done with job" "$LOG" || die "no 'done with job' for $j0 in $LOG"
# from outside the plugin: launch to the script's start, its end to the step's
span_in() { sec "$(logtime "Launching batch job $1 ")" "$(cat "$2/t.start")"; }
span_out() { sec "$(cat "$2/t.end")" "$(logtime "\[$1\.batch\] done with job")"; }
L0_IN=$(span_in "$j0" "$W/plain") L0_OUT=$(span_out "$j0" "$W/plain")
# plugin_s JOB in|out: the plugin's clock, fork of cpk stage to its reaping
plugin_s() {
	grep -E "\[$1\.batch\].*cpk_stage: --stage-$2 done in" "$LOG" |
		sed -n 's/.* done in \([0-9.]*\) s.*/\1/p'
}
# helper_s in|out JOBDIR: the seconds of cpk stage's summary (its transfer only)
helper_s() { sed -n "s/^cpk stage $1: .*, \([0-9.]*\) s\$/\1/p" "$2/job.out"; }
# json_s FILE: the transfer's seconds in cpk copy --json ("ms")
json_s() { sed -n 's/.*"ms": *\([0-9]*\).*/\1/p' "$1" | awk '{ printf "%.3f", $1 / 1000 }'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }

UP0=$(uptime)
ROWS=
for r in $(seq "$RUNS"); do
	# bare cpk copy, each direction
	t0=$(now)
	rig_as_user "$CPK" copy -q --json -n "$CONNS" "storage:$S/big" "$W/bare/big" >"$T/in.json" ||
		die "bare cpk copy (in) failed"
	t1=$(now)
	same "$W/bare/big" || die "bare cpk copy (in): sha256 differs"
	t2=$(now)
	rig_as_user "$CPK" copy -q --json -n "$CONNS" "$W/bare/big" "storage:$S/bare/big" >"$T/out.json" ||
		die "bare cpk copy (out) failed"
	t3=$(now)
	same "$S/bare/big" || die "bare cpk copy (out): sha256 differs"
	rm -f "$W/bare/big" "$S/bare/big"
	# the staged job: the same data in, and out to another path
	J=$W/job$r
	install -d -o "$RIG_UID" -g "$RIG_GID" "$J" || die "no $J"
	j=$(sub "$J" -J staged --stage-in="big@storage:$S/big" \
		--stage-out="big@storage:$S/staged/big" \
		--wrap "${script/X/sha256sum <big >in.sum}") || die "sbatch (staged) failed"
	rig_wait_job "$j" 3600 && [ "$RIG_JOB_STATE" = COMPLETED ] ||
		{ rig_show_file "$J/job.out"; die "staged job $j: $RIG_JOB_STATE"; }
	[ "$(cat "$J/in.sum")" = "$SUM" ] || die "staged in: sha256 differs"
	rig_poll 30 grep -q "\[$j\.batch\] done with job" "$LOG" || die "no 'done with job' for $j in $LOG"
	same "$S/staged/big" || die "staged out: sha256 differs"
	rm -f "$S/staged/big" "$J/big"
	p_in=$(plugin_s "$j" in) p_out=$(plugin_s "$j" out)
	[ -n "$p_in" ] && [ -n "$p_out" ] || { rig_show_file "$LOG" 40; die "no 'done in' lines of the plugin in $LOG"; }
	h_in=$(helper_s in "$J") h_out=$(helper_s out "$J")
	[ -n "$h_in" ] && [ -n "$h_out" ] || { rig_show_file "$J/job.out"; die "no cpk stage summary lines"; }
	x_in=$(json_s "$T/in.json") x_out=$(json_s "$T/out.json")
	[ -n "$x_in" ] && [ -n "$x_out" ] || die "no \"ms\" in cpk copy --json"
	ROWS="$ROWS$r in $(sec "$t0" "$t1") $p_in $h_in $(minus "$(span_in "$j" "$J")" "$L0_IN") $x_in
$r out $(sec "$t2" "$t3") $p_out $h_out $(minus "$(span_out "$j" "$J")" "$L0_OUT") $x_out
"
done

echo "== load before: $UP0"
echo "== load after:  $(uptime)"
printf '%s' "$ROWS" | awk '
	function med(a, n,   i, j, t) {	# the median of a[1..n]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function row(run, d, v) {
		printf "%-4s %-9s %8.2f %8.2f %+9.2f %9.2f %9.2f %+9.2f %8.2f\n", run, d,
			v[1], v[2], v[3], v[4], v[5], v[6], v[7]
	}
	BEGIN { printf "\n%-4s %-9s %8s %8s %9s %9s %9s %9s %8s\n", "run", "direction", "bare",
		"staged", "overhead", "bare-xfer", "stag-xfer", "step", "outside" }
	{ v[1] = $3; v[2] = $4; v[3] = $4 - $3; v[4] = $7; v[5] = $5
	  v[6] = ($4 - $5) - ($3 - $7); v[7] = $6
	  row($1, "stage-" $2, v); k = ++n[$2]
	  for (c = 1; c <= 7; c++) V[$2, c, k] = v[c] }
	END {
		if (n["in"] < 2) exit
		split("in out", ds, " ")
		for (i = 1; i <= 2; i++) {
			for (c = 1; c <= 7; c++) {
				for (k = 1; k <= n[ds[i]]; k++) a[k] = V[ds[i], c, k]
				m[c] = med(a, n[ds[i]])
			}
			row("med", "stage-" ds[i], m)
		}
	}'
cat <<EOF

Seconds.  bare: cpk copy -n $CONNS as cpktest, exec to exit.  staged: the plugin's
clock around the stage step, fork of cpk stage to its reaping.  overhead = staged -
bare (med: the median of the runs' overheads).  bare-xfer, stag-xfer: the
transfer alone (first connection to the end) as cpk copy --json and cpk stage's
summary line in the job output say.  step = (staged - stag-xfer) - (bare -
bare-xfer): what the stage step adds around the transfer (fork, exec, start-up,
record, reaping), free of the transfer's own run-to-run spread.  outside:
slurmd's "Launching batch job" to the script's first timestamp (in), its last
timestamp to slurmstepd's "done with job" (out), less the same for a job staging
nothing (in $L0_IN s, out $L0_OUT s): a check on staged from outside the plugin.
All copies checked by sha256.
EOF
