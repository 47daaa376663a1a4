#!/bin/bash
# t4120: a dynamic node joins a running cluster from what clusterpack
# renders, and nothing restarts.  Test hosts in network namespaces
# (tests/rig/netns.sh): ctl (slurmctld), c1 (a static node, running a job),
# c2 (a dynamic node described by a nodes.d fragment: `dynamic: true`,
# `partitions: [late]`).  Checks that the fragment leaves slurm.conf
# byte-identical (no reconfigure, no restart), that c2's rendered slurmd
# drop-in has -Z and a --conf that the real slurmd takes, that c2 joins the
# ALL partition and the NodeSet of the partition it names, that the job on
# c1 runs on untouched, and that srun -N2 spans both.
#
# Needs root.  Fails when a program it needs is missing; skips when the
# kernel refuses the namespaces.  CPK is the cpk binary.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/rig/lib.sh
. "$here/rig/lib.sh"
# shellcheck source=tests/rig/netns.sh
. "$here/rig/netns.sh"

RIG_NET_NEEDS=(munged munge slurmctld slurmd scontrol sinfo squeue scancel srun sbatch perl timeout cmp)
rig_net_test_start "$0" "$@"

tap_plan 12
D=$RIG_DIR

if ! { rig_net_create && rig_host_add ctl 1 && rig_host_add c1 2 && rig_host_add c2 3; }; then
	rig_stop_here "no test network"
fi
P=$RIG_NET_PREFIX
rig_host_facts || rig_stop_here "slurmd -C failed"

# --- describe: c1 static; then c2 in a nodes.d fragment, dynamic ----------
# a second partition "late" of c1 that c2 joins by its NodeSet
rig_yaml "$D" dynrig ctl "$P.1" c1 "$P.2" 6817 6818 |
	awk '/^slurm:/ { print "  - name: late"; print "    nodes: c1"; print "    max_time: UNLIMITED" } { print }' \
		>"$D/cluster.yaml" || rig_stop_here "cannot write cluster.yaml"
"$CPK" render -q -f "$D/cluster.yaml" --role control --out "$D/before" 2>"$D/render.err" ||
	{ rig_show_file "$D/render.err"; rig_stop_here "cpk render failed"; }
install -d -m 0755 "$D/nodes.d" && cat >"$D/nodes.d/c2.yaml" <<EOF
nodes:
  - names: c2
    addresses: $P.3
    sockets: $RIG_SOCKETS
    cores_per_socket: $RIG_CORES
    threads_per_core: $RIG_THREADS
    memory: $RIG_MEMORY
    features: [late_gpu]
    dynamic: true
    partitions: [late]
EOF
"$CPK" render -q -f "$D/cluster.yaml" --role control --out "$D/etc" 2>"$D/render.err" &&
	"$CPK" render -q -f "$D/cluster.yaml" --role compute --node c2 --out "$D/c2" 2>>"$D/render.err"
tap_ok $? "cpk render with the fragment: control, and compute for c2" ||
	{ rig_show_file "$D/render.err"; rig_stop_here "no files"; }
conf=$D/etc/slurm.conf
cmp -s "$D/before/slurm.conf" "$conf" && ! grep -q '^NodeName=c2' "$conf" &&
	grep -qx 'NodeSet=cpk_late Feature=cpk_late' "$conf" &&
	grep -q '^PartitionName=late Nodes=c1,cpk_late ' "$conf"
tap_ok $? "slurm.conf is byte-identical with and without the dynamic node (NodeSet cpk_late for it)" ||
	diff "$D/before/slurm.conf" "$conf" | sed 's/^/#  /' >&2
# the drop-in: Debian's ExecStart replaced; the --conf value as one word
dropin=$D/c2/slurmd-dynamic.conf
line=$(grep '^ExecStart=/' "$dropin" 2>/dev/null)
cpus=$((RIG_SOCKETS * RIG_CORES * RIG_THREADS))
want="CPUs=$cpus Sockets=$RIG_SOCKETS CoresPerSocket=$RIG_CORES ThreadsPerCore=$RIG_THREADS RealMemory=$RIG_MEMORY Feature=late_gpu,cpk_late"
tap_is "$(grep -c '^ExecStart=$' "$dropin" 2>/dev/null) $line" \
	"1 ExecStart=/usr/sbin/slurmd -D -s -Z -N c2 --conf \"$want\" \$SLURMD_OPTIONS" \
	"c2's slurmd drop-in: ExecStart reset, then slurmd -Z -N c2 with its hardware and features"
val=${line#*--conf \"}
val=${val%%\"*}

chmod a+rx "$D/etc" || rig_stop_here "chmod"
ok=0
rig_net_slurm_hosts "$D" c1 c2 || ok=1
for h in ctl c1 c2; do
	rig_host_munge "$h" "$D" || ok=1
done
[ "$ok" = 0 ] || rig_stop_here "host set-up failed"

# --- the cluster without c2, a job running on c1 -----------------------------
rig_host_slurmctld ctl "$conf" && rig_host_slurmd c1 "$conf"
tap_ok $? "slurmctld on ctl and the static node c1 are up" || rig_stop_here "no cluster"
j=$(rig_host_exec ctl timeout 30 sbatch --parsable -w c1 -N1 -o /dev/null --wrap 'sleep 600' 2>"$D/sbatch.err")
j=${j%%;*}
# shellcheck disable=SC2317 # called through rig_poll
running() { [ "$(rig_host_exec ctl squeue -h -j "$j" -o %T 2>/dev/null)" = RUNNING ]; }
[ -n "$j" ] && rig_poll 30 running
tap_ok $? "job ${j:-?} runs on c1" || rig_show_file "$D/sbatch.err"
start=$(rig_host_exec ctl squeue -h -j "$j" -o %S 2>/dev/null)
ctld_pid=$(rig_daemon_pid slurmctld 2>/dev/null)

# --- c2 joins with the drop-in's --conf ---------------------------------------
rig_host_slurmd c2 "$conf" c2 "" -Z --conf "$val"
tap_ok $? "slurmd -Z -N c2 --conf \"$val\" on c2: the node registers and is idle" ||
	rig_stop_here "c2 did not join"
got=$(rig_host_exec ctl timeout 10 sinfo -h -N -o '%N %P %T' 2>&1 | sed 's/\*//; s/-$//' | sort | tr '\n' ' ')
tap_is "$got" "c1 debug mixed c1 late mixed c2 debug idle c2 late idle " \
	"sinfo: c2 in the ALL partition and, through its NodeSet, in late"
got=$(rig_host_exec ctl timeout 10 scontrol show node c2 2>&1 | tr ' ' '\n' |
	grep -E '^(CPUTot|RealMemory|AvailableFeatures)=' | sort | tr '\n' ' ')
tap_is "$got" "AvailableFeatures=late_gpu,cpk_late CPUTot=$cpus RealMemory=$RIG_MEMORY " \
	"slurmctld has c2's CPUs, memory and features from the --conf"
got="$(rig_host_exec ctl squeue -h -j "$j" -o '%T %S %N' 2>&1) $(rig_daemon_pid slurmctld 2>/dev/null)"
tap_is "$got" "RUNNING $start c1 $ctld_pid" "the job on c1 runs on, unrestarted; slurmctld is the same process"
got=$(rig_host_exec ctl timeout 60 srun -p late -N2 --overlap --oversubscribe hostname 2>"$D/srun.err" | sort | tr '\n' ' ')
tap_is "$got" "c1 c2 " "srun -p late -N2 runs on c1 and c2" || rig_show_file "$D/srun.err"

rig_host_exec ctl scancel "$j" 2>/dev/null
rig_check_stopped "$D"
tap_is "$(rig_net_leftovers)" "" "no namespace, mount, process or link of the test is left"
tap_done
