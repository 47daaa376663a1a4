# tests/rig/lib.sh: the clusterpack test rig (bash).  Source it from a test:
#
#     . "$(dirname "$0")/rig/lib.sh"
#
# It gives a scratch directory per test, free loopback ports, real daemons
# (munged, slurmctld, slurmd) started in the background and stopped by pid,
# a test user (cpktest, uid/gid 4242) visible only inside a private mount
# namespace, a one-node cluster.yaml of this host, and small TAP helpers.
# Everything started is stopped again on exit, failure, INT or TERM: do not
# set your own EXIT/INT/TERM traps, register extra clean-up with rig_at_exit.
# The machine's own /etc is never written; /etc/passwd, /etc/group and
# /etc/shadow are only ever bind-mounted over inside a private mount namespace.
#
# Environment: CPK_KEEP=1 keeps the scratch directory (its path is printed),
# CPK_RIG_TIMEOUT (default 30) bounds every wait for a daemon, in seconds.
# Messages go to stderr, prefixed with "# " so they read as TAP diagnostics.
#
# shellcheck shell=bash
# The RIG_* globals set here are for the tests that source this file:
# shellcheck disable=SC2034

if [ -z "${BASH_VERSION:-}" ]; then
	echo "tests/rig/lib.sh needs bash" >&2
	# shellcheck disable=SC2317
	return 1 2>/dev/null || exit 1
fi
if [ -n "${RIG_LIB_LOADED:-}" ]; then
	return 0
fi
RIG_LIB_LOADED=1
# The daemons live in /usr/sbin, which a user's PATH may lack.
case ":$PATH:" in
*:/usr/sbin:*) ;;
*) PATH=$PATH:/usr/sbin:/sbin ;;
esac

RIG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RIG_DIR=""                     # the scratch directory (rig_tmpdir)
RIG_TIMEOUT=${CPK_RIG_TIMEOUT:-30}
RIG_USER=cpktest
RIG_UID=4242
RIG_GID=4242
RIG_USER_HOME=""               # set by rig_make_user
RIG_MUNGE_SOCKET=""            # set by rig_start_munge
RIG_SLURM_NODE=""              # set by rig_start_slurm
# A command prefix for the Slurm client commands the rig runs (scontrol,
# sinfo, squeue, scancel): empty, or a network namespace (netns.sh).
RIG_CLIENT=()
RIG_OWNER_PID=$$               # only this process cleans up
RIG_TRAPPED=""
# Daemons, by name: pid, start time (field 22 of /proc/PID/stat, so that a
# reused pid is never mistaken for ours) and the logs to show on failure.
declare -A RIG_D_PID=() RIG_D_START=() RIG_D_LOGS=()
RIG_D_ALL=()                   # "PID STARTTIME" of every process started, for checks
# The clean-up stack, run last-in first-out: "d NAME" stops a daemon,
# "h COMMAND" runs a command (eval).
RIG_CLEANUP=()

rig_log() { printf '# %s\n' "$*" >&2; }

# rig_show_file FILE [LINES]: show the tail of FILE as diagnostics.
rig_show_file() {
	local f=$1 n=${2:-25}
	[ -e "$f" ] || { rig_log "($f does not exist)"; return 0; }
	rig_log "---- tail of $f ----"
	tail -n "$n" -- "$f" 2>/dev/null | sed 's/^/#   /' >&2
}

# rig_missing_cmds CMD...: print the commands not found in PATH.
rig_missing_cmds() {
	local c out=""
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || out="$out $c"
	done
	printf '%s\n' "${out# }"
}

# ---------------------------------------------------------------- clean-up

rig__cleanup() {
	[ "${BASHPID:-$$}" = "$RIG_OWNER_PID" ] || return 0
	rig_stop_all
	if [ -n "$RIG_DIR" ] && [ -d "$RIG_DIR" ]; then
		if [ "${CPK_KEEP:-0}" = 1 ]; then
			rig_log "CPK_KEEP=1: kept $RIG_DIR"
		else
			case $RIG_DIR in
			*/cpk-rig.*) rm -rf -- "$RIG_DIR" ;;
			esac
		fi
	fi
	RIG_DIR=""
}

rig__trap() {
	[ -n "$RIG_TRAPPED" ] && return 0
	RIG_TRAPPED=1
	RIG_OWNER_PID=${BASHPID:-$$}
	trap 'rig__cleanup' EXIT
	trap 'rig_log "interrupted: cleaning up"; rig__cleanup; trap - INT; exit 130' INT
	trap 'rig_log "terminated: cleaning up"; rig__cleanup; trap - TERM; exit 143' TERM
	trap 'rig_log "hangup: cleaning up"; rig__cleanup; trap - HUP; exit 129' HUP
	# A reader that went away (prove interrupted) must not kill us before
	# the daemons are stopped.
	trap 'rig__cleanup; trap - PIPE; exit 141' PIPE
}

# rig_at_exit COMMAND: run COMMAND (a string, eval'ed) at clean-up, before
# anything started earlier is stopped (last in, first out).
rig_at_exit() {
	rig__trap
	RIG_CLEANUP+=("h $*")
}

# rig_stop_all: run the clean-up stack: stop every daemon started (by pid)
# and run the rig_at_exit commands, newest first.  Idempotent.
rig_stop_all() {
	local i e
	for ((i = ${#RIG_CLEANUP[@]} - 1; i >= 0; i--)); do
		e=${RIG_CLEANUP[i]}
		unset 'RIG_CLEANUP[i]'
		case $e in
		"d "*) rig_daemon_stop "${e#d }" ;;
		"h "*) eval "${e#h }" || rig_log "clean-up command failed: ${e#h }" ;;
		esac
	done
	RIG_CLEANUP=()
}

# ------------------------------------------------------------- scratch dir

# rig_tmpdir: make the test's scratch directory (once) and set RIG_DIR.  It
# is mode 0755 so that the test user can reach its home and the Slurm
# configuration inside it, under ${TMPDIR:-/tmp} (or /tmp if TMPDIR cannot
# be crossed by everyone: munged and the test user need that).  Removed at
# exit unless CPK_KEEP=1.
rig_tmpdir() {
	[ -n "$RIG_DIR" ] && [ -d "$RIG_DIR" ] && return 0
	rig__trap
	local base=${TMPDIR:-/tmp} d
	base=$(cd "$base" && pwd -P) || { rig_log "rig_tmpdir: no directory $base"; return 1; }
	case $(stat -c %A "$base") in
	*[xt]) ;;
	*) rig_log "rig_tmpdir: $base is not searchable by all: using /tmp"; base=/tmp ;;
	esac
	d=$(mktemp -d "$base/cpk-rig.XXXXXX") || { rig_log "rig_tmpdir: mktemp failed"; return 1; }
	chmod 0755 "$d" || return 1
	RIG_DIR=$d
}

# ------------------------------------------------------------------ ports

rig__port_free() {
	local p=$1
	if command -v ss >/dev/null 2>&1; then
		[ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] || return 1
	fi
	# Binding INADDR_ANY fails if any IPv4 socket holds the port.
	perl -MSocket -e '
		socket(my $s, PF_INET, SOCK_STREAM, 0) or exit 2;
		bind($s, sockaddr_in($ARGV[0], INADDR_ANY)) or exit 1;
		exit 0;' "$p" 2>/dev/null
}

# rig_free_port: print a free TCP port in 20000-31999 (below the kernel's
# ephemeral range).  Ports already handed out in this test (recorded in
# $RIG_DIR/ports) are never given twice, also across $(...) subshells.
rig_free_port() {
	local p i rec=""
	[ -n "$RIG_DIR" ] && rec=$RIG_DIR/ports
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		if [ -n "$rec" ] && [ -f "$rec" ] && grep -qx "$p" "$rec"; then
			continue
		fi
		rig__port_free "$p" || continue
		[ -n "$rec" ] && echo "$p" >>"$rec"
		echo "$p"
		return 0
	done
	rig_log "rig_free_port: no free port found"
	return 1
}

# ------------------------------------------------------------- processes

# rig__stat PID: set RIG__PPID, RIG__STATE and RIG__START (fields 4, 3 and
# 22 of /proc/PID/stat) without a fork: on a loaded machine a fork per
# process of /proc costs seconds.
rig__stat() {
	local s
	read -r s 2>/dev/null <"/proc/$1/stat" || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	RIG__STATE=$1 RIG__PPID=$2 RIG__START=${20}
}

# rig_proc_state PID: print "STATE STARTTIME" from /proc/PID/stat.
rig_proc_state() {
	rig__stat "$1" || return 1
	printf '%s %s\n' "$RIG__STATE" "$RIG__START"
}

# rig_pid_alive PID [STARTTIME]: true if PID exists, is not a zombie (or
# dead), and (when given) still has the same start time.
rig_pid_alive() {
	rig__stat "$1" || return 1
	case $RIG__STATE in Z | X | x) return 1 ;; esac
	[ -z "${2:-}" ] || [ "$RIG__START" = "$2" ]
}

# rig_daemon_start NAME LOG CMD...: start CMD in the background, in its own
# process group (stdin /dev/null, stdout+stderr appended to LOG), record its
# pid under NAME and push it on the clean-up stack.  RIG_PID is set to the
# pid.  CMD must stay in the foreground (munged -F, slurmctld -D, ...).
rig_daemon_start() {
	local name=$1 log=$2 pid st
	shift 2
	rig__trap
	if [ -n "${RIG_D_PID[$name]:-}" ] && rig_daemon_alive "$name"; then
		rig_log "rig_daemon_start: $name is already running (pid ${RIG_D_PID[$name]})"
		return 1
	fi
	# A process group of its own (setpgid, no fork: the pid stays the
	# daemon's), so that a Ctrl-C meant for the test does not hit the
	# daemons; the test's trap stops them in order instead.
	perl -e 'setpgrp(0, 0) or die "setpgrp: $!\n"; exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\n"' \
		"$@" </dev/null >>"$log" 2>&1 &
	pid=$!
	st=$(rig_proc_state "$pid") || st="x none"
	RIG_D_PID[$name]=$pid
	RIG_D_START[$name]=${st#* }
	RIG_D_LOGS[$name]=$log
	RIG_D_ALL+=("$pid ${st#* }")
	RIG_CLEANUP+=("d $name")
	RIG_PID=$pid
}

# rig_daemon_add_log NAME FILE: also show FILE when NAME fails.
rig_daemon_add_log() { RIG_D_LOGS[$1]="${RIG_D_LOGS[$1]:-} $2"; }

# rig_daemon_pid NAME: print the pid of daemon NAME.
rig_daemon_pid() { printf '%s\n' "${RIG_D_PID[$1]:-}"; }

# rig_daemon_alive NAME: true while daemon NAME runs (not a zombie).
rig_daemon_alive() {
	local pid=${RIG_D_PID[$1]:-}
	[ -n "$pid" ] && rig_pid_alive "$pid" "${RIG_D_START[$1]}"
}

# rig_daemon_logs NAME: show the tails of the daemon's logs.
rig_daemon_logs() {
	local f
	for f in ${RIG_D_LOGS[$1]:-}; do rig_show_file "$f"; done
}

# rig_poll SECS CMD...: run CMD every 0.1 s until it succeeds (0) or SECS
# have passed (1).  CMD's output is discarded.
rig_poll() {
	local secs=$1 end
	shift
	end=$((SECONDS + secs))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# rig_wait_ready NAME SECS CMD...: poll CMD until it succeeds; fail at once
# if daemon NAME dies, or after SECS; on failure show why and its logs.
rig_wait_ready() {
	local name=$1 secs=$2 end
	shift 2
	end=$((SECONDS + secs))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		if ! rig_daemon_alive "$name"; then
			rig_log "$name (pid ${RIG_D_PID[$name]:-?}) exited before it was ready"
			rig_daemon_logs "$name"
			return 1
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			rig_log "$name (pid ${RIG_D_PID[$name]}) not ready after ${secs}s: $*"
			rig_daemon_logs "$name"
			return 1
		fi
		sleep 0.1
	done
}

# rig_children PID: print "CHILDPID STARTTIME" for each live child of PID.
rig_children() {
	local p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		rig__stat "$p" || continue
		case $RIG__STATE in Z | X | x) continue ;; esac
		[ "$RIG__PPID" = "$1" ] && printf '%s %s\n' "$p" "$RIG__START"
	done
	return 0
}

# rig_daemon_stop NAME [SECS]: TERM the daemon, wait up to SECS (10) for it
# to go, then KILL it; reap it.  Its own children (slurmctld's slurmscriptd)
# are then given the same time to exit and are stopped the same way.  Never
# by name, only by the recorded pid.
rig_daemon_stop() {
	local name=$1 secs=${2:-10} pid start kids="" k
	pid=${RIG_D_PID[$name]:-}
	start=${RIG_D_START[$name]:-}
	[ -n "$pid" ] || return 0
	if rig_pid_alive "$pid" "$start"; then
		kids=$(rig_children "$pid")
		kill -TERM "$pid" 2>/dev/null
		# shellcheck disable=SC2016 # eval'ed later, on purpose
		if ! rig_poll "$secs" eval '! rig_pid_alive "$pid" "$start"'; then
			rig_log "$name (pid $pid) ignored TERM for ${secs}s: KILL"
			kill -KILL "$pid" 2>/dev/null
			# shellcheck disable=SC2016
			rig_poll 5 eval '! rig_pid_alive "$pid" "$start"' ||
				rig_log "$name (pid $pid) survived KILL"
		fi
	fi
	# Reap it (it is our child); never block on one that survived KILL.
	rig_pid_alive "$pid" "$start" || wait "$pid" 2>/dev/null
	unset 'RIG_D_PID[$name]'
	while read -r k start; do
		[ -n "$k" ] || continue
		RIG_D_ALL+=("$k $start")
		# shellcheck disable=SC2016
		rig_poll "$secs" eval '! rig_pid_alive "$k" "$start"' && continue
		rig_log "$name's child $k still runs after $name exited: TERM"
		kill -TERM "$k" 2>/dev/null
		# shellcheck disable=SC2016
		rig_poll 5 eval '! rig_pid_alive "$k" "$start"' && continue
		kill -KILL "$k" 2>/dev/null
	done <<<"$kids"
	return 0
}

# rig_alive_pids: print the pids of the daemons (and their children) the
# rig started that are still alive: for a final check that all stopped.
rig_alive_pids() {
	local e
	for e in "${RIG_D_ALL[@]}"; do
		rig_pid_alive "${e% *}" "${e#* }" && printf '%s\n' "${e% *}"
	done
	return 0
}

# rig_leftover_pids [DIR]: print pids (other than this shell) whose working
# directory or command line lies under DIR (default RIG_DIR): stray job
# processes, for instance.
rig_leftover_pids() {
	local dir=${1:-$RIG_DIR} p me=${BASHPID:-$$}
	[ -n "$dir" ] || return 0
	# Two passes over /proc, not a fork per process; DIR reaches awk and
	# grep outside their command lines, which would match otherwise.
	{
		find /proc/[0-9]*/cwd -maxdepth 0 -printf '%p %l\n' 2>/dev/null |
			RIG_D="$dir/" awk 'index($2 "/", ENVIRON["RIG_D"]) == 1 { split($1, a, "/"); print a[3] }'
		grep -laF -f <(printf '%s/\n' "$dir") /proc/[0-9]*/cmdline 2>/dev/null | awk -F/ '{ print $3 }'
	} | sort -un | while read -r p; do
		[ "$p" = "$$" ] || [ "$p" = "$me" ] && continue
		rig_pid_alive "$p" && printf '%s\n' "$p"
	done
	return 0
}

# ------------------------------------------------------------------ munge

# rig__munge_ok SOCKET [PREFIX...]: a credential made with SOCKET decodes
# with it (both run after the command PREFIX, if given).
rig__munge_ok() {
	local cred sock=$1
	shift
	cred=$("$@" timeout 5 munge -n -S "$sock" 2>/dev/null) || return 1
	printf '%s\n' "$cred" | "$@" timeout 5 unmunge -S "$sock" >/dev/null 2>&1
}

# rig_start_munge DIR [NAME RUNDIR PREFIX...]: a munged of our own.  Key
# DIR/munge/munge.key (1 KiB random, 0400, dir 0700; kept if present),
# socket DIR/munge-run/munge.socket (dir 0755), pid and log beside it, seed
# DIR/munge/NAME.seed.  Waits until a credential round-trips.  Sets
# RIG_MUNGE_SOCKET.  NAME (default munged) is its name in the rig; with the
# command PREFIX (a test host, netns.sh) it runs there, and RUNDIR (default
# DIR/munge-run) is where the host's DIR/munge-run lies in the test's view.
rig_start_munge() {
	local d=$1 name=${2:-munged} run=${3:-$1/munge-run} key
	shift "$(($# < 3 ? $# : 3))"
	key=$d/munge/munge.key
	install -d -m 0700 "$d/munge" && install -d -m 0755 "$run" "$d/munge-run" || return 1
	chmod 0755 "$run" || return 1
	if [ ! -s "$key" ]; then
		(umask 077 && head -c 1024 /dev/urandom >"$key") || return 1
		chmod 0400 "$key" || return 1
	fi
	RIG_MUNGE_SOCKET=$d/munge-run/munge.socket
	rig_daemon_start "$name" "$run/munged.out" "$@" \
		munged -F --socket="$RIG_MUNGE_SOCKET" --key-file="$key" \
		--pid-file="$d/munge-run/munged.pid" --log-file="$d/munge-run/munged.log" \
		--seed-file="$d/munge/$name.seed" || return 1
	rig_daemon_add_log "$name" "$run/munged.log"
	rig_wait_ready "$name" "$RIG_TIMEOUT" rig__munge_ok "$RIG_MUNGE_SOCKET" "$@"
}

# ------------------------------------------------------------------ slurm

# rig_conf_get FILE KEY: print the value of a top-level KEY=VALUE line of a
# slurm.conf-like FILE (key case-insensitive, last one wins); 1 if absent.
rig_conf_get() {
	awk -v want="$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')" '
		{ sub(/#.*/, "") }
		{
			n = index($0, "=")
			if (n == 0) next
			k = substr($0, 1, n - 1)
			gsub(/^[ \t]+|[ \t]+$/, "", k)
			if (tolower(k) != want) next
			v = substr($0, n + 1)
			gsub(/^[ \t]+|[ \t]+$/, "", v)
			val = v; found = 1
		}
		END { if (found) print val; else exit 1 }' "$1"
}

# rig__conf_first_node FILE: the first NodeName= value that is not DEFAULT.
rig__conf_first_node() {
	awk '{ sub(/#.*/, "") }
		{ for (i = 1; i <= NF; i++) if (tolower(substr($i, 1, 9)) == "nodename=") {
			v = substr($i, 10); if (toupper(v) != "DEFAULT") { print v; exit } } }' "$1"
}

rig__ctld_up() {
	"${RIG_CLIENT[@]}" timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'
}

# rig_node_state NODE: print the node's state as sinfo says (idle, mixed...).
# A trailing '-' (Slurm 23.11+: the backfill scheduler has planned the
# node for a pending job, "idle-", "mixed-") is no fault and is left out;
# the other flags ('*' not responding, '~' powered off, ...) stay.
rig_node_state() {
	"${RIG_CLIENT[@]}" timeout 10 sinfo -h -N -n "$1" -o %T 2>/dev/null | head -n 1 | sed 's/-$//'
}

rig__node_idle() { [ "$(rig_node_state "$1")" = idle ]; }

# rig_start_slurmctld CONF [PREFIX...]: create the controller's directories
# named in CONF, start `slurmctld -D -i -f CONF` (after the command PREFIX,
# if given: a test host's namespace), wait for `scontrol ping`.
rig_start_slurmctld() {
	local conf=$1 v out
	shift
	export SLURM_CONF=$conf
	v=$(rig_conf_get "$conf" StateSaveLocation) && { install -d -m 0755 "$v" || return 1; }
	v=$(rig_conf_get "$conf" SlurmctldLogFile) && { install -d -m 0755 "$(dirname "$v")" || return 1; }
	v=$(rig_conf_get "$conf" SlurmctldPidFile) && { install -d -m 0755 "$(dirname "$v")" || return 1; }
	out=$(dirname "$conf")/slurmctld.out
	v=$(rig_conf_get "$conf" SlurmctldLogFile) && out=$v.out
	rig_daemon_start slurmctld "$out" "$@" slurmctld -D -i -f "$conf" || return 1
	v=$(rig_conf_get "$conf" SlurmctldLogFile) && rig_daemon_add_log slurmctld "$v"
	rig_wait_ready slurmctld "$RIG_TIMEOUT" rig__ctld_up
}

# rig_start_slurmd CONF NODE: create the node's directories named in CONF
# (%n and %h become NODE), start `slurmd -D -f CONF -N NODE`, wait for the
# node to be idle.  The daemon's name in the rig is "slurmd" for the first
# node and "slurmd-NODE" for others.
rig_start_slurmd() {
	local conf=$1 node=$2 v out name=slurmd
	export SLURM_CONF=$conf
	if [ -n "${RIG_D_PID[slurmd]:-}" ]; then name=slurmd-$node; fi
	v=$(rig_conf_get "$conf" SlurmdSpoolDir) && { install -d -m 0755 "$(rig__pct "$v" "$node")" || return 1; }
	v=$(rig_conf_get "$conf" SlurmdLogFile) && { install -d -m 0755 "$(dirname "$(rig__pct "$v" "$node")")" || return 1; }
	v=$(rig_conf_get "$conf" SlurmdPidFile) && { install -d -m 0755 "$(dirname "$(rig__pct "$v" "$node")")" || return 1; }
	out=$(dirname "$conf")/$name.out
	v=$(rig_conf_get "$conf" SlurmdLogFile) && out=$(rig__pct "$v" "$node").out
	rig_daemon_start "$name" "$out" slurmd -D -f "$conf" -N "$node" || return 1
	v=$(rig_conf_get "$conf" SlurmdLogFile) && rig_daemon_add_log "$name" "$(rig__pct "$v" "$node")"
	rig_wait_ready "$name" "$RIG_TIMEOUT" rig__node_idle "$node" || {
		rig_log "node $node, as slurmctld sees it:"
		"${RIG_CLIENT[@]}" timeout 10 scontrol show node "$node" 2>&1 | grep -E 'State=|Reason=|RealMemory=' | sed 's/^/#  /' >&2
		return 1
	}
}

rig__pct() {
	local s=$1
	s=${s//%n/$2}
	s=${s//%h/$2}
	printf '%s\n' "$s"
}

# rig_slurm_cancel_all: cancel every job of the running cluster and wait
# (bounded) until none is left, so that no job process outlives the test.
rig_slurm_cancel_all() {
	rig_daemon_alive slurmctld || return 0
	local ids end
	ids=$("${RIG_CLIENT[@]}" timeout 5 squeue -h -t PD,R,CG,S -o %A 2>/dev/null) || return 0
	[ -n "$ids" ] || return 0
	# shellcheck disable=SC2086
	"${RIG_CLIENT[@]}" timeout 5 scancel $ids 2>/dev/null
	end=$((SECONDS + 15))
	while rig_daemon_alive slurmctld; do
		[ -z "$("${RIG_CLIENT[@]}" timeout 3 squeue -h -t PD,R,CG,S -o %A 2>/dev/null)" ] && return 0
		if [ "$SECONDS" -ge "$end" ]; then
			rig_log "jobs still present 15s after scancel: $ids"
			return 0
		fi
		sleep 0.1
	done
	return 0
}

# rig_start_slurm CONFDIR [NODE]: start slurmctld and one slurmd (NODE, by
# default the first NodeName of CONFDIR/slurm.conf) with CONFDIR/slurm.conf,
# after creating the directories it names.  Exports SLURM_CONF; sets
# RIG_SLURM_NODE.  CONFDIR itself is made world-readable (users read the
# configuration).  At clean-up, jobs are cancelled, then slurmd and
# slurmctld stopped.
rig_start_slurm() {
	local confdir=$1 node=${2:-} conf
	conf=$confdir/slurm.conf
	[ -r "$conf" ] || { rig_log "rig_start_slurm: no $conf"; return 1; }
	chmod a+rx "$confdir" || return 1
	if [ -z "$node" ]; then
		node=$(rig__conf_first_node "$conf")
		case $node in
		*[\[,]*) node=$(SLURM_CONF=$conf scontrol show hostnames "$node" | head -n 1) ;;
		esac
	fi
	[ -n "$node" ] || { rig_log "rig_start_slurm: no NodeName in $conf"; return 1; }
	RIG_SLURM_NODE=$node
	rig_start_slurmctld "$conf" || return 1
	rig_start_slurmd "$conf" "$node" || return 1
	RIG_CLEANUP+=("h rig_slurm_cancel_all")
}

# rig_job_field JOBID FIELD: print FIELD (JobState, ExitCode, ...) of a job.
rig_job_field() {
	"${RIG_CLIENT[@]}" timeout 10 scontrol -o show job "$1" 2>/dev/null |
		awk -v f="$2=" '{ for (i = 1; i <= NF; i++) if (index($i, f) == 1) { print substr($i, length(f) + 1); exit } }'
}

rig__job_done() {
	case $(rig_job_field "$1" JobState) in
	COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | PREEMPTED | BOOT_FAIL | DEADLINE | OUT_OF_MEMORY) return 0 ;;
	esac
	return 1
}

# rig__slurm_dead: name a Slurm daemon the rig started that has died.
rig__slurm_dead() {
	local n
	for n in "${!RIG_D_PID[@]}"; do
		case $n in
		slurmctld | slurmd | slurmd-*) rig_daemon_alive "$n" || { echo "$n"; return 0; } ;;
		esac
	done
	return 1
}

# rig_wait_job JOBID [SECS]: wait (default 60 s) until the job has ended;
# sets RIG_JOB_STATE and RIG_JOB_EXIT (e.g. COMPLETED and 0:0).  1 on
# timeout (the job's record is then shown) or as soon as a Slurm daemon
# the rig started dies (its log is then shown).
rig_wait_job() {
	local id=$1 secs=${2:-60} end dead
	RIG_JOB_STATE="" RIG_JOB_EXIT=""
	end=$((SECONDS + secs))
	until rig__job_done "$id"; do
		if dead=$(rig__slurm_dead); then
			rig_log "waiting for job $id: $dead (pid ${RIG_D_PID[$dead]}) has died"
			rig_daemon_logs "$dead"
			return 1
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			rig_log "job $id has not ended after ${secs}s:"
			"${RIG_CLIENT[@]}" timeout 10 scontrol show job "$id" 2>&1 | sed 's/^/#   /' >&2
			return 1
		fi
		sleep 0.1
	done
	RIG_JOB_STATE=$(rig_job_field "$id" JobState)
	RIG_JOB_EXIT=$(rig_job_field "$id" ExitCode)
}

# rig_tap_job JOBID DESC [ERRFILE]: one TAP check that job JOBID (sbatch
# --parsable's output, may be empty) completes with 0:0 within 60 s; shows
# ERRFILE (sbatch's stderr) when there is no job.
rig_tap_job() {
	local j=${1%%;*}
	if [ -n "$j" ] && rig_wait_job "$j" 60; then
		tap_is "$RIG_JOB_STATE $RIG_JOB_EXIT" "COMPLETED 0:0" "$2: job $j completes with 0:0"
	else
		tap_ok 1 "$2: job ${j:-?} completes with 0:0"
		[ -z "${3:-}" ] || rig_show_file "$3"
		return 1
	fi
}

# ---------------------------------------------------- the test user cpktest

# rig_make_user: prepare (once) RIG_DIR/nsetc/{passwd,group,shadow}: copies
# of the machine's files plus user and group cpktest (4242:4242, shell
# RIG_USER_SHELL or /bin/sh, no password but key login allowed), and its home
# RIG_DIR/home/cpktest (0700, owned by it) with ~/.ssh/id_ed25519{,.pub} and
# authorized_keys.  Sets RIG_USER_HOME.  Changes nothing in /etc.
rig_make_user() {
	rig_tmpdir || return 1
	local e=$RIG_DIR/nsetc h=$RIG_DIR/home/$RIG_USER
	RIG_USER_HOME=$h
	[ -f "$e/.done" ] && return 0
	install -d -m 0755 "$e" "$RIG_DIR/home" || return 1
	cp -p /etc/passwd /etc/group /etc/shadow "$e/" || return 1
	if awk -F: -v u="$RIG_USER" -v n="$RIG_UID" '$1 == u || $3 == n { f = 1 } END { exit !f }' "$e/passwd" ||
		awk -F: -v u="$RIG_USER" -v n="$RIG_GID" '$1 == u || $3 == n { f = 1 } END { exit !f }' "$e/group"; then
		rig_log "rig_make_user: $RIG_USER or id $RIG_UID already exists on this machine"
		return 1
	fi
	printf '%s:x:%s:%s:clusterpack test user:%s:%s\n' "$RIG_USER" "$RIG_UID" "$RIG_GID" "$h" \
		"${RIG_USER_SHELL:-/bin/sh}" >>"$e/passwd"
	printf '%s:x:%s:\n' "$RIG_USER" "$RIG_GID" >>"$e/group"
	# "*": no password, but not "locked", so that sshd allows key logins.
	printf '%s:*:%s:0:99999:7:::\n' "$RIG_USER" "$(($(date +%s) / 86400))" >>"$e/shadow"
	install -d -m 0700 -o "$RIG_UID" -g "$RIG_GID" "$h" "$h/.ssh" || return 1
	ssh-keygen -q -t ed25519 -N '' -C "$RIG_USER@rig" -f "$h/.ssh/id_ed25519" >/dev/null || return 1
	cp "$h/.ssh/id_ed25519.pub" "$h/.ssh/authorized_keys" || return 1
	chmod 0600 "$h/.ssh/id_ed25519" "$h/.ssh/authorized_keys" || return 1
	chown -R "$RIG_UID:$RIG_GID" "$h" || return 1
	: >"$e/.done"
}

# rig__in_private_mntns: true if this process's mount namespace is known to
# differ from the machine's: from PID 1's where readable, else from the one
# rig_reexec_in_userns recorded before unshare, else from the parent's.
rig__in_private_mntns() {
	local me other
	me=$(readlink /proc/self/ns/mnt) || return 1
	if other=$(readlink /proc/1/ns/mnt 2>/dev/null); then
		[ "$me" != "$other" ]
	elif [ -n "${CPK_RIG_OUTER_MNTNS:-}" ]; then
		[ "$me" != "$CPK_RIG_OUTER_MNTNS" ]
	elif other=$(readlink "/proc/$PPID/ns/mnt" 2>/dev/null); then
		[ "$me" != "$other" ]
	else
		return 1
	fi
}

# rig_bind_user_files: bind-mount the prepared passwd/group/shadow over
# /etc's.  Refuses unless this process is in a mount namespace other than
# PID 1's, so the machine's /etc can never be touched.
rig_bind_user_files() {
	local f
	rig_make_user || return 1
	if ! rig__in_private_mntns; then
		rig_log "rig_bind_user_files: not in a private mount namespace: refusing to touch /etc"
		return 1
	fi
	for f in passwd group shadow; do
		mount --bind "$RIG_DIR/nsetc/$f" "/etc/$f" || return 1
	done
	getent passwd "$RIG_USER" >/dev/null || { rig_log "rig_bind_user_files: $RIG_USER does not resolve"; return 1; }
}

# rig_userns_ok: true if this machine lets us make a private mount namespace.
rig_userns_ok() {
	[ "$(id -u)" = 0 ] && unshare -m --propagation private true >/dev/null 2>&1
}

# rig_reexec_in_userns "$0" "$@": put at the top of a test (after sourcing
# this file).  The first time, it re-executes the script (same pid) under
# `unshare -m --propagation private`; in the re-executed script it makes
# the scratch dir and user cpktest and bind-mounts the user files, then
# returns 0: everything the test starts afterwards (daemons included) sees
# cpktest.  Returns 77 if no private mount namespace can be made here (not
# root, no unshare): skip the test then.  Other non-zero: setup failed.
rig_reexec_in_userns() {
	local script=$1
	shift
	if [ "${CPK_RIG_NS_PID:-}" != "$$" ]; then
		rig_userns_ok || return 77
		export CPK_RIG_NS_PID=$$
		CPK_RIG_OUTER_MNTNS=$(readlink /proc/self/ns/mnt) || return 77
		export CPK_RIG_OUTER_MNTNS
		exec unshare -m --propagation private -- "$BASH" "$script" "$@"
	fi
	unset CPK_RIG_NS_PID
	rig__in_private_mntns || { rig_log "re-executed but not in a private mount namespace"; return 1; }
	rig_tmpdir && rig_make_user && rig_bind_user_files
}

# rig_userns_exec CMD...: run one command in a new private mount namespace
# where cpktest exists (the current process and its daemons do not see it).
rig_userns_exec() {
	rig_make_user || return 1
	# shellcheck disable=SC2016 # expanded by the inner bash
	unshare -m --propagation private -- "$BASH" -c '
		for f in passwd group shadow; do
			mount --bind "$1/$f" "/etc/$f" || exit 125
		done
		shift
		exec "$@"' rig-userns "$RIG_DIR/nsetc" "$@"
}

# rig_as_user CMD...: run CMD as cpktest (uid/gid 4242, no supplementary
# groups) with HOME, USER and LOGNAME set; cpktest must resolve (inside the
# namespace) for tools that look the user up.
rig_as_user() {
	setpriv --reuid="$RIG_UID" --regid="$RIG_GID" --clear-groups \
		env HOME="${RIG_USER_HOME:-/}" USER="$RIG_USER" LOGNAME="$RIG_USER" "$@"
}

# ----------------------------------------------------- the description

# rig_host_facts: set RIG_HOST (hostname -s) and RIG_CPUS, RIG_SOCKETS,
# RIG_CORES, RIG_THREADS, RIG_REALMEM, RIG_MEMORY (90% of RealMemory, MiB)
# from `slurmd -C`.
rig_host_facts() {
	local line tok boards=1 spb=1
	RIG_HOST=$(hostname -s) || return 1
	line=$(slurmd -C 2>/dev/null | head -n 1)
	case $line in NodeName=*) ;; *) rig_log "slurmd -C said: $line"; return 1 ;; esac
	RIG_CPUS=1 RIG_CORES=1 RIG_THREADS=1 RIG_REALMEM=1024
	for tok in $line; do
		case $tok in
		CPUs=*) RIG_CPUS=${tok#*=} ;;
		Boards=*) boards=${tok#*=} ;;
		SocketsPerBoard=*) spb=${tok#*=} ;;
		Sockets=*) spb=${tok#*=} ;;
		CoresPerSocket=*) RIG_CORES=${tok#*=} ;;
		ThreadsPerCore=*) RIG_THREADS=${tok#*=} ;;
		RealMemory=*) RIG_REALMEM=${tok#*=} ;;
		esac
	done
	RIG_SOCKETS=$((boards * spb))
	RIG_MEMORY=$((RIG_REALMEM * 9 / 10))
}

# rig_cluster_yaml DIR: write DIR/cluster.yaml, a one-node cluster of this
# host (control and node both RIG_HOST at 127.0.0.1), every path under DIR,
# two fresh ports (sets RIG_CTLD_PORT and RIG_SLURMD_PORT).
rig_cluster_yaml() {
	local d=$1
	install -d -m 0755 "$d" || return 1
	rig_host_facts || return 1
	RIG_CTLD_PORT=$(rig_free_port) || return 1
	RIG_SLURMD_PORT=$(rig_free_port) || return 1
	while [ "$RIG_SLURMD_PORT" = "$RIG_CTLD_PORT" ]; do
		RIG_SLURMD_PORT=$(rig_free_port) || return 1
	done
	rig_yaml "$d" rig "$RIG_HOST" 127.0.0.1 "$RIG_HOST" 127.0.0.1 \
		"$RIG_CTLD_PORT" "$RIG_SLURMD_PORT" >"$d/cluster.yaml"
}

# rig_yaml_head CLUSTER CONTROL CONTROL-ADDR NODES NODE-ADDRS: print the
# start of a cluster.yaml (cluster, control, nodes, partitions): one node
# group NODES (a hostlist) at NODE-ADDRS, each like this host
# (rig_host_facts must have run), one partition "debug" of all.
rig_yaml_head() {
	cat <<EOF
# Written by the rig (tests/rig/lib.sh).
cluster:
  name: $1
control:
  name: $2
  address: $3
nodes:
  - names: $4
    addresses: $5
    sockets: $RIG_SOCKETS
    cores_per_socket: $RIG_CORES
    threads_per_core: $RIG_THREADS
    memory: $RIG_MEMORY
partitions:
  - name: debug
    nodes: ALL
    default: true
    max_time: UNLIMITED
EOF
}

# rig_yaml DIR CLUSTER CONTROL CONTROL-ADDR NODES NODE-ADDRS CTLD-PORT
# SLURMD-PORT: print a cluster.yaml of one node group NODES (a hostlist) at
# NODE-ADDRS, each like this host (rig_host_facts must have run), one
# partition "debug" of all, every path under DIR (configuration in DIR/etc,
# munge key and socket as rig_start_munge DIR makes them).
rig_yaml() {
	rig_yaml_head "$2" "$3" "$4" "$5" "$6"
	cat <<EOF
slurm:
  config_dir: $1/etc
  controller_port: $7
  node_port: $8
  slurm_user: root
  proctrack: linuxproc
  task_plugins: [none]
  mpi_default: none
  state_dir: $1/state
  spool_dir: $1/spool
  log_dir: $1/log
  pid_dir: $1/run
  extra: ["MinJobAge=3600"]
munge:
  key: $1/munge/munge.key
  socket: $1/munge-run/munge.socket
EOF
}

# rig_slurm_version: print the installed Slurm's MAJOR.MINOR (22.05 on
# Debian 12, 24.11 on Debian 13), from `slurmd -V`.  The one place tests ask
# which release they run against.
rig_slurm_version() {
	slurmd -V 2>/dev/null | awk '{ split($NF, v, "."); if (v[2] != "") { print v[1] "." v[2]; ok = 1 } }
		END { exit !ok }'
}

# rig_cgroup_support: print what task/cgroup and proctrack/cgroup can use on
# this machine: "v2" (/sys/fs/cgroup is cgroup2 with the cpuset and memory
# controllers), "v1" (the legacy or hybrid hierarchy, freezer, cpuset, memory
# and devices mounted and writable), or "none: WHY"; returns 1 for none.
# Slurm's CgroupPlugin=autodetect picks the same.
rig_cgroup_support() {
	local c=/sys/fs/cgroup ctl d
	if [ "$(stat -fc %T "$c" 2>/dev/null)" = cgroup2fs ]; then
		ctl=$(cat "$c/cgroup.controllers" 2>/dev/null)
		case " $ctl " in
		*" cpuset "*" memory "* | *" memory "*" cpuset "*) ;;
		*) echo "none: $c is cgroup v2 without the cpuset and memory controllers ($ctl)"; return 1 ;;
		esac
		[ -w "$c/cgroup.subtree_control" ] || { echo "none: $c/cgroup.subtree_control is not writable"; return 1; }
		echo v2
		return 0
	fi
	for d in freezer cpuset memory devices; do
		[ "$(stat -fc %T "$c/$d" 2>/dev/null)" = cgroupfs ] ||
			{ echo "none: no cgroup v2 at $c and no v1 $d controller at $c/$d"; return 1; }
		[ -w "$c/$d" ] || { echo "none: $c/$d is not writable"; return 1; }
	done
	echo v1
}

# rig_handwritten_conf DIR [OUTDIR]: write, from the values rig_cluster_yaml
# DIR used, the configuration `cpk render --role control` is meant to
# produce (slurm.conf, plugstack.conf, cgroup.conf) into OUTDIR (DIR/etc).
# A reference, and a fallback to tell rig problems from renderer problems.
rig_handwritten_conf() {
	local d=$1 o=${2:-$1/etc}
	install -d -m 0755 "$o" || return 1
	cat >"$o/slurm.conf" <<EOF
# slurm.conf for the rig, written by hand (tests/rig/lib.sh)
ClusterName=rig
SlurmctldHost=$RIG_HOST(127.0.0.1)
SlurmctldPort=$RIG_CTLD_PORT
SlurmdPort=$RIG_SLURMD_PORT
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$d/munge-run/munge.socket
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
ProctrackType=proctrack/linuxproc
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SlurmdTimeout=300
MaxNodeCount=129
TreeWidth=65533
PlugStackConfig=$o/plugstack.conf
MinJobAge=3600
NodeName=$RIG_HOST NodeAddr=127.0.0.1 CPUs=$((RIG_SOCKETS * RIG_CORES * RIG_THREADS)) Sockets=$RIG_SOCKETS CoresPerSocket=$RIG_CORES ThreadsPerCore=$RIG_THREADS RealMemory=$RIG_MEMORY State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=UNLIMITED State=UP
EOF
	printf '# SPANK plugins (none: staging is disabled)\n' >"$o/plugstack.conf"
	printf '%s\n' 'CgroupPlugin=autodetect' 'ConstrainCores=yes' 'ConstrainRAMSpace=yes' \
		'ConstrainDevices=no' >"$o/cgroup.conf"
	chmod 0644 "$o/slurm.conf" "$o/plugstack.conf" "$o/cgroup.conf"
}

# rig_check_stopped DIR: stop everything (rig_stop_all), then one TAP check
# that no process the rig started and none in DIR (cwd or command line) is
# left.
rig_check_stopped() {
	local n=${#RIG_D_ALL[@]} alive left
	rig_stop_all
	alive=$(rig_alive_pids | tr '\n' ' ')
	left=$(rig_leftover_pids "$1" | tr '\n' ' ')
	[ -z "$alive$left" ]
	tap_ok $? "everything stopped by pid ($n daemons, ${#RIG_D_ALL[@]} processes in all), nothing left running" ||
		rig_log "still alive: ${alive:-none}; other processes in $1: ${left:-none}"
}

# ------------------------------------------------------------------- TAP

TAP_N=0 TAP_FAILED=0 TAP_PLANNED=0

# tap_plan N / tap_skip_all REASON (prints the plan and exits 0).
tap_plan() { TAP_PLANNED=$1; echo "1..$1"; }
tap_skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# tap_ok RC DESC: "ok" if RC is 0; returns RC.
tap_ok() {
	local rc=$1
	shift
	TAP_N=$((TAP_N + 1))
	if [ "$rc" -eq 0 ]; then
		echo "ok $TAP_N - $*"
	else
		echo "not ok $TAP_N - $*"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
	return "$rc"
}

# tap_check DESC CMD...: run CMD, "ok" if it succeeds.
tap_check() {
	local d=$1
	shift
	"$@"
	tap_ok $? "$d"
}

# tap_is GOT WANT DESC: "ok" if GOT equals WANT, else show both.
tap_is() {
	if [ "$1" = "$2" ]; then
		tap_ok 0 "$3"
	else
		tap_ok 1 "$3"
		rig_log "got:  '$1'"
		rig_log "want: '$2'"
		return 1
	fi
}

# tap_skip DESC REASON: an "ok ... # SKIP" line.
tap_skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

# tap_fail_rest REASON: "not ok" for every planned test not yet run.
tap_fail_rest() {
	while [ "$TAP_N" -lt "$TAP_PLANNED" ]; do
		tap_ok 1 "not run: $*"
	done
}

# rig_stop_here REASON: fail every planned test not yet run and end (the
# clean-up runs at exit).
rig_stop_here() {
	tap_fail_rest "$*"
	tap_done
}

# rig_lap WHAT: a TAP comment with the seconds since the last rig_lap (the
# first: since this file was loaded) and since it was loaded.
RIG_T0=$EPOCHREALTIME RIG_TL=$EPOCHREALTIME
rig_lap() {
	local now=$EPOCHREALTIME
	awk -v w="$1" -v a="$RIG_TL" -v b="$now" -v t="$RIG_T0" \
		'BEGIN { printf "# timing: %-26s %6.2f s (total %6.2f s)\n", w, b - a, b - t }'
	RIG_TL=$now
}

# tap_done: exit 0 if every test passed, 1 otherwise.
tap_done() {
	[ "$TAP_FAILED" -eq 0 ] && [ "$TAP_N" -eq "$TAP_PLANNED" ] && exit 0
	exit 1
}
