#!/bin/bash
# t1510: the slurm.conf rendered from the mdx-like GPU example (two node
# groups, GPUs, features, weights, three partitions with AllowGroups,
# PriorityTier, DefaultTime, DefMemPerCPU) is read by a real slurmctld the
# way the description means it.  Only the control node's name and address
# and the daemon paths are changed to run here; the 40 compute nodes are
# not reachable (slurmctld does not need them to answer).
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/rig/lib.sh
. "$here/rig/lib.sh"

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
missing=$(rig_missing_cmds munged slurmctld scontrol sinfo)
[ -z "$missing" ] || tap_skip_all "missing:$missing"
[ -n "${CPK:-}" ] || tap_skip_all "CPK (the cpk binary) is not set"

tap_plan 12
rig_tmpdir
D=$RIG_DIR
host=$(hostname -s)
port=$(rig_free_port) || exit 1

# The example up to its slurm section, with this host as the control node,
# then daemon settings for a scratch directory.
sed -e '/^slurm:/,$d' -e "s/^  name: mdx-ctl\$/  name: $host/" \
	-e 's/^  address: 172.16.0.10$/  address: 127.0.0.1/' \
	"$here/../examples/mdx-gpu.yaml" > "$D/cluster.yaml"
cat >> "$D/cluster.yaml" <<EOF
slurm:
  config_dir: $D/etc
  controller_port: $port
  slurm_user: root
  proctrack: linuxproc
  max_node_count: 256
  state_dir: $D/state
  spool_dir: $D/spool
  log_dir: $D/log
  pid_dir: $D/run
munge:
  key: $D/munge/munge.key
  socket: $D/munge-run/munge.socket
EOF
"$CPK" render -q -f "$D/cluster.yaml" --role control --out "$D/etc" 2>"$D/render.err"
tap_ok $? "render the GPU example for this host" || rig_show_file "$D/render.err"
rig_start_munge "$D"
tap_ok $? "munged runs"
rig_start_slurmctld "$D/etc/slurm.conf"
if ! tap_ok $? "slurmctld starts with the rendered slurm.conf and gres.conf"; then
	tap_fail_rest "slurmctld is not running"
	tap_done
fi

field() {	# field "scontrol args" KEY: the value of KEY=...
	timeout 10 scontrol -o $1 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
tap_is "$(sinfo -h -o %D -p cpu),$(sinfo -h -o %D -p gpu),$(sinfo -h -o %D -p debug)" \
	"32,8,3" "partitions hold 32, 8 and 3 nodes"
node="show node gpu03"
tap_is "$(field "$node" CPUTot) $(field "$node" Sockets) $(field "$node" CoresPerSocket) $(field "$node" ThreadsPerCore)" \
	"72 2 18 2" "gpu03: 72 CPUs as 2 sockets x 18 cores x 2 threads"
tap_is "$(field "$node" RealMemory) $(field "$node" NodeAddr) $(field "$node" Weight)" \
	"491520 172.16.2.3 10" "gpu03: memory, address and weight"
tap_is "$(field "$node" Gres)" "gpu:a100:8" "gpu03: 8 GPUs of type a100"
tap_is "$(field "$node" AvailableFeatures)" "gpu,a100,ib" "gpu03: features"
tap_is "$(field "show node cpu032" NodeAddr) $(field "show node cpu032" TmpDisk)" \
	"172.16.1.32 409600" "cpu032: address and TmpDisk"
part="show partition gpu"
tap_is "$(field "$part" Nodes) $(field "$part" AllowGroups) $(field "$part" MaxTime) $(field "$part" DefaultTime)" \
	"gpu[01-08] gpuusers 2-00:00:00 01:00:00" "partition gpu: nodes, groups, limits"
part="show partition debug"
tap_is "$(field "$part" Nodes) $(field "$part" PriorityTier) $(field "$part" MaxTime)" \
	"cpu[001-002],gpu01 10 00:30:00" "partition debug: a host list across groups, tier, limit"
conf=$(timeout 10 scontrol show config 2>/dev/null)
got=$(for k in DefMemPerCPU MaxNodeCount TreeWidth GresTypes SelectType; do
	printf '%s ' "$(printf '%s\n' "$conf" | sed -n "s/^$k *= *//p")"; done)
tap_is "$got" "1616 256 65533 gpu select/cons_tres " \
	"DefMemPerCPU, MaxNodeCount, TreeWidth, GresTypes, SelectType as rendered"
tap_done
