# tests/rig/netns.sh: test hosts in network namespaces (bash).  Source it
# after tests/rig/lib.sh:
#
#     . "$here/rig/lib.sh"
#     . "$here/rig/netns.sh"
#
# rig_net_create makes a private network: a bridge in a namespace of its own
# and, per rig_host_add, one namespace per test host joined to the bridge by a
# veth pair, with an address from a private /24 (RIG_NET_PREFIX.0/24), `lo`
# up, no default route and no link to the machine's own network namespace
# (nothing is ever created there).  Namespace names start with RIG_NET_ID
# (cpkr<pid>), so that tests running side by side never clash; in the
# test's private mount namespace (rig_reexec_in_userns) /run/netns is a tmpfs
# of the test's own, so that they never show outside it.
#
# Commands and daemons run on a host through nsenter --net (not `ip netns
# exec`, which remounts /sys: slurmd then finds no cgroups and dies), in a
# UTS namespace of their own whose host name is the test host's name, and,
# when the host was given files of its own (rig_host_bind), in a private
# mount namespace where those are bound over the shared paths (made anew for
# each command, or, after rig_host_mntns, one kept for the whole test).  The
# machine's /etc is never written.
#
# Everything is undone by lib.sh's clean-up stack, also when the test fails
# or is interrupted: the daemons (stopped by pid, newest first), then the
# namespaces (any process still in one is stopped by pid first).
# rig_net_leftovers says what is left, for a final check.
#
# shellcheck shell=bash
# shellcheck disable=SC2034 # the RIG_NET_* globals are for the tests

if [ -z "${RIG_LIB_LOADED:-}" ]; then
	echo "tests/rig/netns.sh: source tests/rig/lib.sh first" >&2
	# shellcheck disable=SC2317
	return 1 2>/dev/null || exit 1
fi
[ -n "${RIG_NETNS_LOADED:-}" ] && return 0
RIG_NETNS_LOADED=1

RIG_NET_ID=cpkr$$              # prefix of every namespace of this test
RIG_NET_PREFIX=""              # 10.213.X: the /24 of the test network
RIG_NET_BR=""                  # the bridge's namespace
RIG_NET_NSS=()                 # every namespace created, in order
RIG_NET_INODES=()              # their nsfs inodes, to check they are gone
RIG_HOSTS=()                   # the test hosts, in order
declare -A RIG_HOST_NS=() RIG_HOST_ADDR=() RIG_HOST_BINDS=()
# rig_host_mntns: a host's own mount namespace (/proc/PID of the process
# that holds it: its ns/mnt and its root); rig_host_map: paths for
# rig_host_path ("SRC DST")
declare -A RIG_HOST_MNTNS=() RIG_HOST_MAP=()
RIG_HOST_CMD=()                # set by rig_host_argv
RIG_NET_OWN_RUN=""             # 1 while /run/netns is our tmpfs

# rig_net_tools: print the programs this file needs that are missing.
rig_net_tools() { rig_missing_cmds ip nsenter unshare mount hostname; }

# rig_net_probe: true if this kernel lets us make network namespaces with a
# bridge and a veth pair (tried in a throwaway namespace); otherwise print
# why, for a SKIP.
rig_net_probe() {
	local out
	out=$(unshare --net -- sh -c 'ip link add cpkprobe type bridge &&
		ip link add cpkv0 type veth peer name cpkv1' 2>&1) && return 0
	printf '%s\n' "${out:-unshare --net failed}" | head -n 3 | tr '\n' ' '
	return 1
}

# rig_net_test_start "$0" "$@": the start of a test of several hosts, before
# its plan.  Skips unless root; fails (one TAP check naming them) when a
# program of the array RIG_NET_NEEDS or of this file, or CPK (the cpk
# binary), is missing; re-executes the test in a private mount namespace of
# its own (rig_reexec_in_userns); skips when the kernel refuses the
# namespaces.
rig_net_test_start() {
	local missing why
	[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
	missing="$(rig_missing_cmds "${RIG_NET_NEEDS[@]}") $(rig_net_tools)"
	[ -n "${CPK:-}" ] && [ -x "$CPK" ] || missing="$missing CPK(the cpk binary)"
	if [ -n "${missing// /}" ]; then
		tap_plan 1
		tap_ok 1 "the programs the test needs are installed; missing:$missing"
		tap_done
	fi
	rig_reexec_in_userns "$@"
	case $? in
	0) ;;
	77) tap_skip_all "the kernel refuses a private mount namespace here (unshare -m)" ;;
	*) echo "Bail out! could not set up the test user namespace"; exit 1 ;;
	esac
	if ! why=$(rig_net_probe); then
		tap_skip_all "the kernel refuses network namespaces with a bridge and veths here: $why"
	fi
}

rig__ns_add() {
	ip netns add "$1" || { rig_log "ip netns add $1 failed"; return 1; }
	RIG_NET_NSS+=("$1")
	RIG_NET_INODES+=("$(stat -L -c %i "/run/netns/$1" 2>/dev/null)")
	ip -n "$1" link set lo up
}

# rig_net_create: make the bridge namespace (RIG_NET_ID-br, bridge br0) and
# pick the test network RIG_NET_PREFIX.0/24 (10.213.X, X at random: the
# network exists only inside the namespaces, so it clashes with nothing).
# Pushes rig_net_destroy on the clean-up stack, below the daemons started
# afterwards.
rig_net_create() {
	[ -n "$RIG_NET_BR" ] && return 0
	rig_at_exit rig_net_destroy
	# In the test's private mount namespace, /run/netns is a tmpfs of its
	# own: the names never show outside, and none is left behind even if
	# the test is killed (KILL) before it can clean up.
	if rig__in_private_mntns && [ -z "$RIG_NET_OWN_RUN" ]; then
		if ! { install -d -m 0755 /run/netns &&
			mount -t tmpfs -o mode=0755,size=1m cpk-netns /run/netns; }; then
			rig_log "rig_net_create: cannot mount a tmpfs on /run/netns"
			return 1
		fi
		RIG_NET_OWN_RUN=1
	fi
	RIG_NET_PREFIX=10.213.$((RANDOM % 254 + 1))
	rig__ns_add "$RIG_NET_ID-br" || return 1
	RIG_NET_BR=$RIG_NET_ID-br
	ip -n "$RIG_NET_BR" link add br0 type bridge &&
		ip -n "$RIG_NET_BR" link set br0 up
}

# rig_host_add NAME ADDR: a test host NAME (1-12 of [a-z0-9]) in namespace
# RIG_NET_ID-NAME, its eth0 (ADDR/24, ADDR within RIG_NET_PREFIX) joined to
# the bridge.  A bare number for ADDR is taken as RIG_NET_PREFIX.ADDR.
rig_host_add() {
	local name=$1 addr=$2 ns
	case $name in
	"" | *[!a-z0-9]* | ?????????????*) rig_log "rig_host_add: bad host name '$name'"; return 1 ;;
	esac
	[ -n "$RIG_NET_BR" ] || rig_net_create || return 1
	case $addr in *.*) ;; *) addr=$RIG_NET_PREFIX.$addr ;; esac
	case $addr in
	"$RIG_NET_PREFIX".*) ;;
	*) rig_log "rig_host_add: $addr is not in $RIG_NET_PREFIX.0/24"; return 1 ;;
	esac
	[ -z "${RIG_HOST_NS[$name]:-}" ] || { rig_log "rig_host_add: $name exists"; return 1; }
	ns=$RIG_NET_ID-$name
	rig__ns_add "$ns" || return 1
	RIG_HOST_NS[$name]=$ns
	RIG_HOST_ADDR[$name]=$addr
	RIG_HOSTS+=("$name")
	# Both ends are made in the bridge's namespace, one then moved:
	# nothing ever appears in the machine's own namespace.
	if ! { ip -n "$RIG_NET_BR" link add "v-$name" type veth peer name "e-$name" &&
		ip -n "$RIG_NET_BR" link set "e-$name" netns "$ns" &&
		ip -n "$RIG_NET_BR" link set "v-$name" master br0 up &&
		ip -n "$ns" link set "e-$name" name eth0 &&
		ip -n "$ns" addr add "$addr/24" dev eth0 &&
		ip -n "$ns" link set eth0 up; }; then
		rig_log "rig_host_add: cannot link $name to the bridge"
		return 1
	fi
}

# rig_host_addr NAME: print the host's address.
rig_host_addr() { printf '%s\n' "${RIG_HOST_ADDR[$1]:-}"; }

# rig_host_bind NAME SRC DST: on host NAME, SRC (a file or directory) is
# bound over DST, in the host's private mount namespace (made anew for each
# command run there).  DST must exist; the machine's own mounts and files
# are never touched.  For a host's own spool, run or log directory, its own
# /etc/hosts, its own /run/munge.
rig_host_bind() {
	local name=$1 src=$2 dst=$3
	[ -n "${RIG_HOST_NS[$name]:-}" ] || { rig_log "rig_host_bind: no host $name"; return 1; }
	[ -z "${RIG_HOST_MNTNS[$name]:-}" ] || { rig_log "rig_host_bind: $name's mounts are made already"; return 1; }
	if [ ! -e "$src" ] || [ ! -e "$dst" ]; then
		rig_log "rig_host_bind: $src or $dst does not exist"
		return 1
	fi
	case $src$dst in *[[:space:]]*) rig_log "rig_host_bind: no blanks in paths, please"; return 1 ;; esac
	RIG_HOST_BINDS[$name]="${RIG_HOST_BINDS[$name]:-} $src $dst"
}

# rig_host_mntns NAME [SETUP...]: from now on host NAME has one mount
# namespace of its own, kept for the whole test, instead of one made anew
# for each command: what its daemons mount or write on a tmpfs there is seen
# by every later command on the host.  A process of the rig holds it (daemon
# mntns-NAME, `sleep infinity` under `unshare -m`: binding the namespace on
# a file with `unshare --mount=FILE` fails now and then here, EINVAL);
# stopped at clean-up after the daemons started later.  SETUP (a command)
# runs in it first, then the rig_host_bind mounts recorded so far are made;
# rig_host_bind is refused afterwards.
#
# It is always entered with the holder's root as well (rig__mntns_enter):
# setns() into a mount namespace sets the root to the namespace's own root,
# so a test that runs under chroot (tests/rig/fresh-root.sh, CI) would
# otherwise leave its root and see the machine's /, /tmp and /var instead.
rig_host_mntns() {
	local name=$1 pid mine
	shift
	[ -n "${RIG_HOST_NS[$name]:-}" ] || { rig_log "rig_host_mntns: no host $name"; return 1; }
	[ -z "${RIG_HOST_MNTNS[$name]:-}" ] || { rig_log "rig_host_mntns: $name has one"; return 1; }
	rig__in_private_mntns || { rig_log "rig_host_mntns: not in the test's private mount namespace"; return 1; }
	install -d -m 0755 "$RIG_DIR/hosts/$name" || return 1
	rig_daemon_start "mntns-$name" "$RIG_DIR/hosts/$name/mntns.out" \
		unshare -m --propagation private -- sleep infinity || return 1
	pid=$RIG_PID
	mine=$(readlink /proc/self/ns/mnt)
	# shellcheck disable=SC2016 # eval'ed by rig_wait_ready
	rig_wait_ready "mntns-$name" "$RIG_TIMEOUT" eval \
		'[ "$(readlink /proc/$pid/ns/mnt)" != "$mine" ] && [ "$(cat /proc/$pid/comm)" = sleep ]' || return 1
	if [ $# -gt 0 ] && ! rig__mntns_enter "/proc/$pid" "$@"; then
		rig_log "rig_host_mntns: the set-up of $name's mounts failed: $*"
		return 1
	fi
	# shellcheck disable=SC2016 # for the inner sh
	rig__mntns_enter "/proc/$pid" sh -c 'set -f
		for p in $1; do
			if [ -z "${s:-}" ]; then s=$p; continue; fi
			mount --bind "$s" "$p" || exit 1
			s=""
		done' rig-binds "${RIG_HOST_BINDS[$name]:-}" || { rig_log "rig_host_mntns: binds of $name failed"; return 1; }
	RIG_HOST_MNTNS[$name]=/proc/$pid
}

# rig__mntns_enter /proc/PID CMD...: CMD in the mount namespace of PID with
# PID's root (see rig_host_mntns), in that root.  (nsenter would otherwise
# keep the test's working directory, which lies outside the namespace: sh
# then warns "getcwd() failed" on stderr, which a check may read.)
rig__mntns_enter() {
	local d=$1
	shift
	nsenter "--mount=$d/ns/mnt" "--root=$d/root" "--wd=$d/root" -- "$@"
}

# rig_host_map NAME SRC DST: tell rig_host_path that what host NAME sees
# under DST lies under SRC (a mount that rig_host_mntns's SETUP made).
rig_host_map() { RIG_HOST_MAP[$1]="${RIG_HOST_MAP[$1]:-} $2 $3"; }

# rig_host_argv NAME: set RIG_HOST_CMD to the command prefix that runs a
# command on host NAME (same pid: nsenter, unshare and sh all exec).
rig_host_argv() {
	local name=$1 ns=${RIG_HOST_NS[$1]:-}
	[ -n "$ns" ] || { rig_log "no test host $name"; return 1; }
	if [ -n "${RIG_HOST_MNTNS[$name]:-}" ]; then
		# Entered in its root (rig__mntns_enter): back to $PWD.
		# shellcheck disable=SC2016 # for the inner sh
		RIG_HOST_CMD=(nsenter "--net=/run/netns/$ns" "--mount=${RIG_HOST_MNTNS[$name]}/ns/mnt"
			"--root=${RIG_HOST_MNTNS[$name]}/root" "--wd=${RIG_HOST_MNTNS[$name]}/root" unshare --uts
			-- sh -c 'cd "$2" 2>/dev/null || cd /; hostname "$1" || exit 125; shift 2; exec "$@"'
			rig-host "$name" "$PWD")
		return 0
	fi
	RIG_HOST_CMD=(nsenter "--net=/run/netns/$ns" unshare --uts)
	[ -z "${RIG_HOST_BINDS[$name]:-}" ] || RIG_HOST_CMD+=(--mount --propagation private)
	# shellcheck disable=SC2016 # for the inner sh
	RIG_HOST_CMD+=(-- sh -c '
		h=$1 b=$2
		shift 2
		set -f
		for p in $b; do
			if [ -z "${s:-}" ]; then s=$p; continue; fi
			mount --bind "$s" "$p" || exit 125
			s=""
		done
		hostname "$h" || exit 125
		exec "$@"' rig-host "$name" "${RIG_HOST_BINDS[$name]:-}")
}

# rig_host_exec NAME CMD...: run CMD (a program, not a function) on host
# NAME and return its status.
rig_host_exec() {
	rig_host_argv "$1" || return 1
	shift
	"${RIG_HOST_CMD[@]}" "$@"
}

# rig_host_user NAME CMD...: run CMD on host NAME as the test user (see
# rig_as_user).
rig_host_user() {
	local name=$1
	shift
	rig_host_exec "$name" setpriv --reuid="$RIG_UID" --regid="$RIG_GID" --clear-groups \
		env HOME="${RIG_USER_HOME:-/}" USER="$RIG_USER" LOGNAME="$RIG_USER" "$@"
}

# rig_host_daemon NAME DAEMON LOG CMD...: start CMD (which stays in the
# foreground) on host NAME as the rig's daemon DAEMON (rig_daemon_start:
# stopped by pid at clean-up, before the namespaces go).
rig_host_daemon() {
	local name=$1
	shift
	rig_host_argv "$name" || return 1
	rig_daemon_start "$1" "$2" "${RIG_HOST_CMD[@]}" "${@:3}"
}

# rig_net_slurm_hosts DIR COMPUTE...: every host gets an /etc/hosts of its
# own naming all test hosts (DIR/hosts.txt, bound over /etc/hosts), and each
# COMPUTE host its own DIR/hosts/NAME/{spool,run,log} bound over DIR/spool,
# DIR/run and DIR/log (where the rig's slurm.conf puts slurmd's files).
rig_net_slurm_hosts() {
	local d=$1 h s
	shift
	{
		echo "127.0.0.1 localhost"
		for h in "${RIG_HOSTS[@]}"; do
			echo "${RIG_HOST_ADDR[$h]} $h"
		done
	} >"$d/hosts.txt" || return 1
	for h in "${RIG_HOSTS[@]}"; do
		rig_host_bind "$h" "$d/hosts.txt" /etc/hosts || return 1
	done
	install -d -m 0755 "$d/spool" "$d/run" "$d/log" || return 1
	for h in "$@"; do
		for s in spool run log; do
			install -d -m 0755 "$d/hosts/$h/$s" && rig_host_bind "$h" "$d/hosts/$h/$s" "$d/$s" ||
				return 1
		done
	done
}

# rig_net_client NAME: Slurm client commands of the rig (scontrol, sinfo,
# squeue, scancel in lib.sh) run on host NAME from now on (with the files
# bound there so far: give it its own munge socket first, if it has one).
# Sets RIG_HOST_CMD too.
rig_net_client() {
	rig_host_argv "$1" || return 1
	RIG_CLIENT=("${RIG_HOST_CMD[@]}")
}

# rig_host_munge NAME DIR: a munged of host NAME's own (rig_start_munge DIR,
# daemon munged-NAME), with the key DIR/munge/munge.key that every host
# shares: DIR/hosts/NAME/munge-run is bound over DIR/munge-run on the host,
# so that its daemons find it at the socket path slurm.conf names.
rig_host_munge() {
	local name=$1 d=$2 run=$2/hosts/$1/munge-run
	install -d -m 0755 "$run" "$d/munge-run" || return 1
	rig_host_bind "$name" "$run" "$d/munge-run" && rig_host_argv "$name" &&
		rig_start_munge "$d" "munged-$name" "$run" "${RIG_HOST_CMD[@]}"
}

# rig_host_slurmctld NAME CONF: slurmctld on host NAME (rig_start_slurmctld);
# client commands go to NAME's namespace.
rig_host_slurmctld() {
	rig_net_client "$1" && rig_start_slurmctld "$2" "${RIG_HOST_CMD[@]}"
}

# rig_host_path NAME PATH: print where PATH, as host NAME sees it, lies in
# the test's own view (through the host's rig_host_bind mounts, then its
# rig_host_map paths).
rig_host_path() {
	local p=$2 src="" x
	set -f
	for x in ${RIG_HOST_BINDS[$1]:-} ${RIG_HOST_MAP[$1]:-}; do
		if [ -z "$src" ]; then src=$x; continue; fi
		case $p in "$x" | "$x"/*) p=$src${p#"$x"}; break ;; esac
		src=""
	done
	set +f
	printf '%s\n' "$p"
}

# rig_host_slurmd NAME CONF [NODE [HOSTCONF [ARG...]]]: `slurmd -D -N NODE
# ARG...` (NODE defaults to NAME; ARGs such as -Z --conf "..." for a dynamic
# node) on host NAME; the directories CONF names are made as the host sees
# them (%n and %h become NODE); waits until the node is idle.  slurmd reads
# HOSTCONF (empty or not given: CONF): the path under which the host sees
# CONF, when that differs.  Daemon name: slurmd-NODE.  Moves
# rig_slurm_cancel_all to the top of the clean-up stack.
rig_host_slurmd() {
	local name=$1 conf=$2 node=${3:-$1} hconf=${4:-$2} k v log="" out
	shift $(($# < 4 ? $# : 4))
	for k in SlurmdSpoolDir SlurmdLogFile SlurmdPidFile; do
		v=$(rig_conf_get "$conf" "$k") || continue
		v=$(rig__pct "$v" "$node")
		[ "$k" = SlurmdLogFile ] && log=$(rig_host_path "$name" "$v")
		[ "$k" = SlurmdSpoolDir ] || v=$(dirname "$v")
		rig_host_exec "$name" install -d -m 0755 "$v" || return 1
	done
	out=${log:-$RIG_DIR/slurmd-$node.log}.out
	# (a directory that only the host's overlay shows may not be there yet)
	[ -d "${out%/*}" ] || out=$RIG_DIR/slurmd-$node.out
	rig_host_daemon "$name" "slurmd-$node" "$out" \
		slurmd -D -f "$hconf" -N "$node" "$@" || return 1
	[ -z "$log" ] || rig_daemon_add_log "slurmd-$node" "$log"
	# Jobs are cancelled while every slurmd still runs: on top of them all.
	local e keep=()
	for e in "${RIG_CLEANUP[@]}"; do
		[ "$e" = "h rig_slurm_cancel_all" ] || keep+=("$e")
	done
	RIG_CLEANUP=("${keep[@]}" "h rig_slurm_cancel_all")
	rig_wait_ready "slurmd-$node" "$RIG_TIMEOUT" rig__node_idle "$node" || {
		rig_log "node $node, as slurmctld sees it:"
		"${RIG_CLIENT[@]}" timeout 10 scontrol show node "$node" 2>&1 | sed 's/^/#  /' >&2
		return 1
	}
}

rig__sshd_up() { grep -q "Server listening on $2 port 22" "$1"; }

# rig_host_sshd NAME [HEAD]: an sshd of its own on host NAME, port 22 of its
# address (each namespace has its own ports), keys only, files in
# RIG_DIR/hosts/NAME/sshd.  HEAD (lines) starts its sshd_config: sshd
# takes the first value of a keyword, so HEAD's win (an Include of a
# node's drop-in, say).  Appends the host key for NAME and its address
# to RIG_DIR/known_hosts.  Daemon name: sshd-NAME.
rig_host_sshd() {
	local name=$1 addr=${RIG_HOST_ADDR[$1]:-} head=${2:-} d log
	[ -n "$addr" ] || { rig_log "rig_host_sshd: no host $name"; return 1; }
	d=$RIG_DIR/hosts/$name/sshd
	log=$d/sshd.log
	install -d -m 0755 "$d" || return 1
	[ -d /run/sshd ] || install -d -m 0755 /run/sshd || return 1
	ssh-keygen -q -t ed25519 -N '' -C "host-$name" -f "$d/host_ed25519" || return 1
	cat >"$d/sshd_config" <<EOF
$head
ListenAddress $addr
Port 22
HostKey $d/host_ed25519
PidFile none
UsePAM no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PrintMotd no
LogLevel VERBOSE
EOF
	rig_host_exec "$name" /usr/sbin/sshd -t -f "$d/sshd_config" || return 1
	printf '%s,%s %s\n' "$name" "$addr" "$(cut -d' ' -f1,2 "$d/host_ed25519.pub")" >>"$RIG_DIR/known_hosts"
	rig_host_daemon "$name" "sshd-$name" "$log" /usr/sbin/sshd -D -e -f "$d/sshd_config" || return 1
	rig_wait_ready "sshd-$name" "$RIG_TIMEOUT" rig__sshd_up "$log" "$addr"
}

# rig_net_destroy: delete the namespaces (hosts first, then the bridge's);
# a process still in one is stopped by pid first (TERM, then KILL).
# Idempotent; on the clean-up stack from rig_net_create.
rig_net_destroy() {
	local i ns pids p
	for ((i = ${#RIG_NET_NSS[@]} - 1; i >= 0; i--)); do
		ns=${RIG_NET_NSS[i]}
		[ -e "/run/netns/$ns" ] || continue
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		if [ -n "${pids// /}" ]; then
			rig_log "still in namespace $ns: pids $pids: TERM"
			# shellcheck disable=SC2086
			kill -TERM $pids 2>/dev/null
			for p in $pids; do
				rig_poll 5 eval "! rig_pid_alive $p" || kill -KILL "$p" 2>/dev/null
			done
		fi
		ip netns del "$ns" || rig_log "ip netns del $ns failed"
	done
	if [ -n "$RIG_NET_OWN_RUN" ]; then
		umount /run/netns || rig_log "umount /run/netns (the test's tmpfs) failed"
		RIG_NET_OWN_RUN=""
	fi
	RIG_CLIENT=()
}

# rig_net_leftovers: print what is left of this test's network: namespaces
# still named in /run/netns or mounted, processes still in one of them (by
# its inode), links of ours in the machine's own namespace.  Empty when all
# is gone.
rig_net_leftovers() {
	local ns
	ip netns list 2>/dev/null | awk -v p="$RIG_NET_ID-" 'index($1, p) == 1 { print "namespace " $1 }'
	grep -F "/run/netns/$RIG_NET_ID-" /proc/self/mountinfo 2>/dev/null | awk '{ print "mount " $5 }'
	# One stat over /proc: a fork per process costs seconds here.
	stat -L -c '%i %n' /proc/[0-9]*/ns/net 2>/dev/null |
		RIG_I=" ${RIG_NET_INODES[*]} " awk 'index(ENVIRON["RIG_I"], " " $1 " ") {
			split($2, a, "/"); print "process " a[3] " in a namespace of the test" }'
	for ns in "${RIG_HOSTS[@]}"; do
		ip -o link show dev "v-$ns" >/dev/null 2>&1 && echo "link v-$ns in the machine's namespace"
		ip -o link show dev "e-$ns" >/dev/null 2>&1 && echo "link e-$ns in the machine's namespace"
	done
	return 0
}
