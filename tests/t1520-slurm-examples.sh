#!/bin/bash
# t1520: every examples/*.yaml, rendered for the control role and for a
# compute node, runs a real slurmctld and slurmd, and neither refuses a line
# or logs an error about one.  Whatever Slurm is installed (22.05 on Debian
# 12, 24.11 on Debian 13) reads the same rendered files.
#
# Only what a one-machine test must is adapted, in the description (so the
# renderer writes it): the control node is this host at 127.0.0.1; node
# addresses move to 127.0.0.0/8 (127.16.1.[1-32] for 172.16.1.[1-32]); ports,
# daemon paths and the munge socket are the rig's; GPU device files are
# character devices made in the scratch directory; slurm.extra gets
# SlurmdParameters=config_overrides, so that slurmd takes the node's
# described hardware (dozens of cores, 480 GiB) for this machine's; the Unix
# groups AllowGroups names exist in a private mount namespace.  One slurmd
# at a time runs as the first node of each node group.
#
# Staging is left as each example has it, so the daemons run on the DEFAULT
# rendering of plugstack.conf (stage.enabled is false unless an example says
# otherwise: cpk_stage.so is not built yet).  Where an example enables it,
# its plugin path becomes a SPANK stub built here, which records the
# arguments plugstack.conf gives it.
#
# Needs root.  CPK is the cpk binary.  CPK_KEEP=1 keeps the scratch dir.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/rig/lib.sh
. "$here/rig/lib.sh"

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
missing=$(rig_missing_cmds munged munge unmunge slurmctld slurmd scontrol sinfo \
	unshare mknod cc awk perl timeout)
[ -z "$missing" ] || tap_skip_all "missing:$missing"
[ -n "${CPK:-}" ] || tap_skip_all "CPK (the cpk binary) is not set"
[ -r /usr/include/slurm/spank.h ] || tap_skip_all "no slurm/spank.h (libslurm-dev) to build the stub plugin"
rig_reexec_in_userns "$0" "$@"
case $? in
0) ;;
77) tap_skip_all "cannot make a private mount namespace here" ;;
*) echo "Bail out! could not set up the private mount namespace"; exit 1 ;;
esac

D=$RIG_DIR
HOST=$(hostname -s)
VERSION=$(rig_slurm_version) || VERSION=unknown
rig_log "Slurm $VERSION"

# The lines a daemon may log as error: here without anything being wrong with
# the rendered files.  Each is a regular expression for grep -E.
ALLOW=(
	# NOTES.md: this machine has no PMIx library for mpi/pmix (the plugin
	# is loaded because it is installed, whatever MpiDefault says); the
	# failed load is reported in three lines
	'mpi/pmix.*can not load PMIx library'
	"Couldn't load specified plugin name for mpi/pmix"
	'MPI: Cannot create context for mpi/pmix'
	# NOTES.md: hwloc cannot read this machine's topology
	'xcpuinfo_hwloc_topo_load: failed'
	# a first start: slurmctld has no saved state yet
	'Could not open (node|job|reservation|trigger|resv|assoc[a-z_]*|qos|fed_mgr) state file'
	'NOTE: Trying backup state save file'
	# MailProg is not set, and this machine has no /bin/mail (the default)
	'Configured MailProg is invalid'
	# slurmctld 24.11 stopped by the test (SIGTERM) while its agent threads
	# still try the slurmds the test stopped just before (seen on a loaded
	# machine): a shutdown message, about no line of the files
	'agent_fini: left [0-9]+ agent threads active'
	# slurmctld times 1,000 gettimeofday() calls at start and says so when
	# a loaded machine (2 cores, other tests) makes them slow: about the
	# machine, not the files
	'High latency for 1000 calls to gettimeofday\(\)'
	# the same agent, or a ping, reaching a node whose slurmd the test
	# stopped (or one of another node now on the same port): Slurm's
	# messages for an unreachable node.  A node that cannot be reached
	# because of the rendered files never gets idle (a test above fails).
	'Nodes? [^ ]+ (are|is)? ?not responding|Communication connection failure|Connection refused|Zero Bytes were transmitted|slurm_receive_msg|_thread_per_group_rpc|Unable to contact|Socket timed out|[Nn]ode name mismatch|REQUEST_PING|REQUEST_NODE_REGISTRATION'
)

# --- the examples, adapted ---------------------------------------------------
# adapt EXAMPLE DIR: write DIR/cluster.yaml, the example adapted as above,
# and DIR/gpus ("GROUP COUNT" for each group with GPUs).
adapt() {
	awk -v host="$HOST" -v dir="$2" -v ctld_port="$3" -v node_port="$4" \
		-v munge_key="$D/munge/munge.key" -v munge_socket="$D/munge-run/munge.socket" \
		-v plugin="$2/stub/cpk_stage.so" -v devdir="$2/dev" -v nocgroup="$NOCGROUP" '
	function indent(s) { match(s, /^ */); return RLENGTH }
	function slurm_keys() {
		print "  config_dir: " dir "/node"
		print "  controller_port: " ctld_port
		print "  node_port: " node_port
		print "  slurm_user: root"
		print "  state_dir: " dir "/state"
		print "  spool_dir: " dir "/spool"
		print "  log_dir: " dir "/log"
		print "  pid_dir: " dir "/run"
		print "  extra: [\"SlurmdParameters=config_overrides\"]"
		if (nocgroup) {		# no cgroups here: what runs without
			print "  proctrack: linuxproc"
			print "  task_plugins: [affinity]"
		}
	}
	function munge_keys() {
		print "  key: " munge_key
		print "  socket: " munge_socket
	}
	BEGIN { gpu_ind = -1; group = 0 }
	{
		line = $0
		if (line ~ /^[A-Za-z_]+:/) {	# a top-level section
			sect = line
			sub(/:.*/, "", sect)
			print line
			if (sect == "slurm") { slurm_keys(); has_slurm = 1 }
			if (sect == "munge") { munge_keys(); has_munge = 1 }
			if (sect == "stage") print "  plugin: " plugin
			next
		}
		if (gpu_ind >= 0 && line !~ /^ *$/ && indent(line) <= gpu_ind)
			gpu_ind = -1
		if (sect == "control" && line ~ /^  name:/) { print "  name: " host; next }
		if (sect == "control" && line ~ /^  address:/) { print "  address: 127.0.0.1"; next }
		if (sect == "nodes" && line ~ /^  - /)
			group++
		if (sect == "nodes" && line ~ /^ *(- )?addresses: *[0-9]+\./) {
			sub(/addresses: *[0-9]+\./, "addresses: 127.", line)
			print line
			next
		}
		if (sect == "nodes" && line ~ /^ *gpus: *$/) { gpu_ind = indent(line); print line; next }
		if (sect == "nodes" && line ~ /^ *gpus:/) { print "flow-style gpus: cannot adapt" > "/dev/stderr"; exit 1 }
		if (gpu_ind >= 0 && line ~ /^ *file:/)
			next
		if (gpu_ind >= 0 && line ~ /^ *count: *[0-9]+ *$/) {
			n = line
			sub(/^ *count: */, "", n)
			print line
			printf "%*sfile: %s/g%d-gpu[0-%d]\n", indent(line), "", devdir, group, n - 1
			print group, n + 0 > (dir "/gpus")
			next
		}
		if (sect == "slurm" && line ~ /^  (config_dir|controller_port|node_port|slurm_user|state_dir|spool_dir|log_dir|pid_dir|extra):/)
			next
		if (sect == "slurm" && nocgroup && line ~ /^  (proctrack|task_plugins):/)
			next
		if (sect == "munge" && line ~ /^  (key|socket):/)
			next
		if (sect == "stage" && line ~ /^  plugin:/)
			next
		print line
	}
	END {
		if (!has_slurm) { print "slurm:"; slurm_keys() }
		if (!has_munge) { print "munge:"; munge_keys() }
	}' "$1" >"$2/cluster.yaml"
}

# The stub staging plugin: in slurmd it writes the arguments plugstack.conf
# gave it to DIR/stub/args.
build_stub() {
	install -d -m 0755 "$1/stub" || return 1
	cat >"$1/stub/stub.c" <<EOF
#include <stdio.h>
#include <slurm/spank.h>
SPANK_PLUGIN(cpk_stage, 1);
int slurm_spank_init(spank_t sp, int ac, char **av)
{
	FILE *f;
	int i;

	if (spank_context() != S_CTX_SLURMD || !(f = fopen("$1/stub/args", "w")))
		return 0;
	for (i = 0; i < ac; i++)
		fprintf(f, "%s%s", i ? " " : "", av[i]);
	fputc('\n', f);
	fclose(f);
	return 0;
}
EOF
	cc -shared -fPIC -o "$1/stub/cpk_stage.so" "$1/stub/stub.c" 2>"$1/stub/cc.err" ||
		{ rig_show_file "$1/stub/cc.err"; return 1; }
}

# first_nodes CONF: the first node name of each NodeName line.
first_nodes() {
	local hl
	sed -n 's/^NodeName=\([^ ]*\) .*/\1/p' "$1" | while read -r hl; do
		SLURM_CONF=$1 scontrol show hostnames "$hl" | head -n 1
	done
}

# node_gres CONF NODE: the Gres= of NODE's NodeName line, or (null).
node_gres() {
	local hl rest g
	while read -r hl rest; do
		SLURM_CONF=$1 scontrol show hostnames "$hl" | grep -qx "$2" || continue
		g=$(printf '%s\n' "$rest" | tr ' ' '\n' | sed -n 's/^Gres=//p')
		echo "${g:-(null)}"
		return 0
	done < <(sed -n 's/^NodeName=//p' "$1")
	return 1
}

# Render everything first, so the plan is known.
cgroup=$(rig_cgroup_support)
NOCGROUP=""
[ "${cgroup%%:*}" = none ] && NOCGROUP=1
declare -A NODES=() RENDERED=()
exs=()
for ex in "$here"/../examples/*.yaml; do
	name=$(basename "$ex" .yaml)
	exs+=("$name")
	d=$D/$name
	install -d -m 0755 "$d" "$d/dev" || exit 1
	adapt "$ex" "$d" "$(rig_free_port)" "$(rig_free_port)" || { RENDERED[$name]="cannot adapt"; continue; }
	if [ -f "$d/gpus" ]; then
		while read -r g n; do
			for ((i = 0; i < n; i++)); do
				mknod "$d/dev/g$g-gpu$i" c 195 "$i" || exit 1
			done
		done <"$d/gpus"
	fi
	build_stub "$d" || { RENDERED[$name]="cannot build the stub plugin"; continue; }
	if ! "$CPK" render -q -f "$d/cluster.yaml" --role control --out "$d/ctl" 2>"$d/render.err"; then
		RENDERED[$name]="render --role control: $(cat "$d/render.err")"
		continue
	fi
	NODES[$name]=$(first_nodes "$d/ctl/slurm.conf" | tr '\n' ' ')
	RENDERED[$name]=ok
	for n in ${NODES[$name]}; do
		"$CPK" render -q -f "$d/cluster.yaml" --role compute --node "$n" --out "$d/node-$n" \
			2>"$d/render.err" || RENDERED[$name]="render --role compute --node $n: $(cat "$d/render.err")"
	done
done

plan=2
for name in "${exs[@]}"; do
	read -ra nodes <<<"${NODES[$name]:-}"
	plan=$((plan + 6 + 2 * ${#nodes[@]}))
done
tap_plan "$plan"

case $cgroup in
v2) tap_ok 0 "cgroups: v2 (CgroupPlugin=autodetect takes cgroup/v2)" ;;
v1) tap_skip "proctrack/cgroup and task/cgroup on cgroup v2" \
	"this machine mounts the v1 hierarchy at /sys/fs/cgroup ($(stat -fc %T /sys/fs/cgroup)): they run on cgroup/v1 here" ;;
*) tap_skip "proctrack/cgroup and task/cgroup" \
	"$cgroup: the examples run with proctrack/linuxproc and task/affinity here" ;;
esac
rig_start_munge "$D"
if ! tap_ok $? "munged runs"; then
	tap_fail_rest "munged is not running"
	tap_done
fi

# add_groups CONF: make the groups AllowGroups names in CONF resolve (in this
# namespace only: nsetc/group is bind-mounted over /etc/group).
add_groups() {
	local g gid=4300
	for g in $(sed -n 's/.* AllowGroups=\([^ ]*\).*/\1/p' "$1" | tr ',' '\n' | sort -u); do
		getent group "$g" >/dev/null && continue
		while getent group "$gid" >/dev/null; do gid=$((gid + 1)); done
		printf '%s:x:%s:\n' "$g" "$gid" >>"$RIG_DIR/nsetc/group"
	done
}

# errors DIR: the error:/fatal: lines of the daemons' logs not allowed above.
errors() {
	local a re=""
	for a in "${ALLOW[@]}"; do re="$re${re:+|}$a"; done
	cat "$1"/log/*.log "$1"/log/*.out 2>/dev/null | grep -E '(error|fatal):' | grep -Ev "$re"
}

for name in "${exs[@]}"; do
	d=$D/$name
	read -ra nodes <<<"${NODES[$name]:-}"
	if ! tap_is "${RENDERED[$name]}" ok "$name: adapted and rendered for the control role and ${#nodes[@]} compute node(s)"; then
		tap_fail_rest "$name could not be rendered"
		tap_done
	fi
	same=0
	for n in "${nodes[@]}"; do
		for f in slurm.conf gres.conf cgroup.conf plugstack.conf; do
			cmp -s "$d/ctl/$f" "$d/node-$n/$f" || { rig_log "$f differs for $n"; same=1; }
		done
	done
	tap_ok $same "$name: every role gets the same slurm.conf, gres.conf, cgroup.conf, plugstack.conf"
	add_groups "$d/ctl/slurm.conf"

	rig_start_slurmctld "$d/ctl/slurm.conf"
	if ! tap_ok $? "$name: slurmctld starts on the rendered slurm.conf"; then
		tap_fail_rest "slurmctld of $name is not running"
		tap_done
	fi
	pids=$(rig_daemon_pid slurmctld)
	for n in "${nodes[@]}"; do
		# slurmd reads slurm.conf and the files beside it; PlugStackConfig
		# names config_dir ($d/node) in both roles' slurm.conf
		rm -rf "$d/node" && cp -a "$d/node-$n" "$d/node" && rm -f "$d/stub/args"
		if [ "$cgroup" = v2 ] && [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ]; then
			# cgroup/v2 asks systemd for a scope unless told not to:
			# this machine runs no systemd (real nodes do)
			echo IgnoreSystemd=yes >>"$d/node/cgroup.conf"
		fi
		rig_start_slurmd "$d/node/slurm.conf" "$n"
		tap_ok $? "$name: slurmd of $n starts on the compute role's files and $n is idle"
		want=$(node_gres "$d/node/slurm.conf" "$n")
		got=$(timeout 10 scontrol -o show node "$n" 2>/dev/null | tr ' ' '\n' | sed -n 's/^Gres=//p')
		tap_is "$got" "$want" "$name: $n has the GPUs slurm.conf and gres.conf describe ($want)"
		pids="$pids $(rig_daemon_pid slurmd)"
		rig_daemon_stop slurmd
	done
	if grep -q '^[a-z]' "$d/ctl/plugstack.conf"; then
		tap_is "$(cat "$d/stub/args" 2>/dev/null)" \
			"$(sed -n 's/^[a-z]* [^ ]* //p' "$d/ctl/plugstack.conf")" \
			"$name: slurmd loaded the staging plugin with the rendered arguments"
	else
		! grep -q 'cpk_stage' "$d/ctl/plugstack.conf"
		tap_ok $? "$name: the default plugstack.conf names no plugin (stage.enabled is false) and the daemons ran on it"
	fi
	rig_daemon_stop slurmctld
	errs=$(errors "$d")
	[ -z "$errs" ]
	tap_ok $? "$name: no error or fatal line in the daemons' logs" ||
		printf '%s\n' "$errs" | sed 's/^/#   /' >&2
	alive=""
	for p in $pids; do
		[ -d "/proc/$p" ] && rig_pid_alive "$p" && alive="$alive $p"
	done
	[ -z "$alive" ]
	tap_ok $? "$name: slurmctld and the slurmds stopped by pid ($pids)" || rig_log "still alive:$alive"
done

tap_done
