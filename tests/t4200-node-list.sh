#!/bin/bash
# t4200: `cpk node list` against a real one-host Slurm (munged, slurmctld,
# slurmd) rendered by cpk, and against sinfo: the node of cluster.yaml, a
# node added by `cpk node add --no-join` after Slurm started (described,
# unknown to Slurm), and a dynamic node started with `slurmd -Z` (known to
# Slurm, not described); a running job's CPUs and count; which slurm.conf is
# read ($SLURM_CONF, else the description's slurm.config_dir, --slurm-conf
# over both); `cpk node del --fragment-only`; bad input changes nothing;
# a stopped slurmctld is a clear error.
#
# Needs root; runs in a private mount namespace (tests/rig/lib.sh); the
# machine's /etc is not changed.  CPK is the cpk binary; CPK_KEEP=1 keeps the
# scratch dir.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/rig/lib.sh
. "$here/rig/lib.sh"

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
missing=$(rig_missing_cmds munged munge unmunge slurmctld slurmd scontrol sinfo \
	squeue scancel sbatch unshare setpriv ssh-keygen perl python3 timeout)
[ -n "${CPK:-}" ] && [ -x "$CPK" ] || missing="$missing CPK(the cpk binary)"
if [ -n "${missing// /}" ]; then
	tap_plan 1
	tap_ok 1 "the programs this test needs are installed; missing:$missing"
	tap_done
fi
rig_reexec_in_userns "$0" "$@"
case $? in
0) ;;
77) tap_skip_all "cannot make a private mount namespace here" ;;
*) echo "Bail out! could not set up the test user namespace"; exit 1 ;;
esac

tap_plan 24
D=$RIG_DIR
Y=$D/cluster.yaml

# list_json: cpk node list --json into $D/list.json (stderr in list.err).
list_json() {
	"$CPK" node list -f "$Y" --json >"$D/list.json" 2>"$D/list.err"
}
# cpk_view: "NAME AGREE STATE" per node of list.json, sorted (STATE "-"
# when Slurm does not know the node).
cpk_view() {
	python3 -c '
import json, sys
for n in json.load(open(sys.argv[1]))["nodes"]:
    s = n["slurm"]
    print(n["name"], n["agree"], s["state"] if s else "-")' "$D/list.json" | sort
}
# cpk_field NODE FIELD: FIELD of NODE's "slurm" object in list.json.
cpk_field() {
	python3 -c '
import json, sys
for n in json.load(open(sys.argv[1]))["nodes"]:
    if n["name"] == sys.argv[2]:
        v = n["slurm"][sys.argv[3]]
        print(str(v).lower() if isinstance(v, bool) else v)' "$D/list.json" "$1" "$2"
}
# slurm_states: "NAME STATE" per node as sinfo says, sorted.
slurm_states() {
	timeout 10 sinfo -h -N -o '%N %T' | sed 's/-$//' | sort -u
}
# agree_with_sinfo: every node sinfo shows is in cpk's list with the same
# state, and cpk shows no Slurm node sinfo lacks.
agree_with_sinfo() {
	local a b
	a=$(cpk_view | awk '$3 != "-" { print $1, $3 }')
	b=$(slurm_states)
	[ "$a" = "$b" ] && return 0
	rig_log "cpk node list: $(echo "$a" | tr '\n' ';')"
	rig_log "sinfo:         $(echo "$b" | tr '\n' ';')"
	return 1
}

# --- a one-node cluster of this host ----------------------------------------
rig_cluster_yaml "$D" || { echo "Bail out! cannot write cluster.yaml"; exit 1; }
"$CPK" render -f "$Y" --role control --out "$D/etc" >"$D/render.out" 2>&1
tap_ok $? "cpk render writes slurm.conf" || rig_show_file "$D/render.out"
rig_start_munge "$D" && rig_start_slurm "$D/etc" "$RIG_HOST"
if ! tap_ok $? "munged, slurmctld and slurmd run; $RIG_HOST is idle"; then
	tap_fail_rest "Slurm is not running"
	tap_done
fi
N=$RIG_HOST

# --- all agree ----------------------------------------------------------------
list_json
tap_ok $? "cpk node list --json (SLURM_CONF=$SLURM_CONF)" || rig_show_file "$D/list.err"
tap_is "$(cpk_view)" "$N ok idle" "one node, described and idle in Slurm"
tap_check "cpk node list agrees with sinfo" agree_with_sinfo
tap_is "$(cpk_field "$N" cpus)" "$RIG_CPUS" "Slurm's CPUs of $N ($RIG_CPUS, as slurmd -C says)"

# --- a described node Slurm does not know -------------------------------------
cp "$Y" "$D/cluster.yaml.before"
"$CPK" node add ghost --addr 127.0.0.77 --cpus 1 --mem 100 --no-join -f "$Y" >"$D/add.out" 2>&1
rc=$?
[ "$rc" = 0 ] && [ -f "$D/nodes.d/ghost.yaml" ] && cmp -s "$Y" "$D/cluster.yaml.before"
tap_ok $? "cpk node add ghost --no-join writes nodes.d/ghost.yaml, cluster.yaml untouched" ||
	rig_show_file "$D/add.out"

# --- a Slurm node the description does not have: dynamic, slurmd -Z ----------
# Its own slurmd files and port (a second slurmd on this host), the same
# controller.  slurmctld already runs with MaxNodeCount and TreeWidth from
# the rendered slurm.conf, as dynamic nodes need.
P2=$(rig_free_port)
install -d -m 0755 "$D/dyn" "$D/dyn/spool" "$D/dyn/log" "$D/dyn/run"
sed -e "s|^SlurmdSpoolDir=.*|SlurmdSpoolDir=$D/dyn/spool|" \
	-e "s|^SlurmdPidFile=.*|SlurmdPidFile=$D/dyn/run/slurmd.pid|" \
	-e "s|^SlurmdLogFile=.*|SlurmdLogFile=$D/dyn/log/slurmd.log|" \
	-e "s|^SlurmdPort=.*|SlurmdPort=$P2|" "$D/etc/slurm.conf" >"$D/dyn/slurm.conf"
dyn_idle() { [ "$(rig_node_state dyn1)" = idle ]; }
rig_daemon_start slurmd-dyn1 "$D/dyn/slurmd.out" slurmd -D -Z -N dyn1 -f "$D/dyn/slurm.conf" \
	--conf "CPUs=1 RealMemory=100" &&
	rig_daemon_add_log slurmd-dyn1 "$D/dyn/log/slurmd.log" &&
	rig_wait_ready slurmd-dyn1 "$RIG_TIMEOUT" dyn_idle
tap_ok $? "a dynamic node dyn1 (slurmd -Z) joins and is idle"

list_json
tap_ok $? "cpk node list --json again" || rig_show_file "$D/list.err"
tap_is "$(cpk_view | tr '\n' ';')" "dyn1 not-described idle;ghost not-in-slurm -;$N ok idle;" \
	"ghost: described, unknown to Slurm; dyn1: known to Slurm, not described"
tap_check "cpk node list agrees with sinfo" agree_with_sinfo
tap_is "$(cpk_field dyn1 dynamic) $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["disagree"])' "$D/list.json")" \
	"true 2" "dyn1 is flagged dynamic; two nodes disagree"

"$CPK" node list -f "$Y" >"$D/list.txt" 2>"$D/list.err"
rc=$?
[ "$rc" = 0 ] && grep -q '^ghost .* not-in-slurm ' "$D/list.txt" &&
	grep -q '^dyn1 .* not-described' "$D/list.txt" &&
	grep -q "^$N .* ok .*cluster.yaml" "$D/list.txt" &&
	grep -q '2 nodes disagree' "$D/list.err"
tap_ok $? "the table says the same, and stderr counts the disagreements" ||
	{ rig_show_file "$D/list.txt"; rig_show_file "$D/list.err"; }

# --- a running job -------------------------------------------------------------
install -d -m 0755 "$D/jobs"
j=$(timeout 30 sbatch --parsable -J sleeper -w "$N" -n 1 --chdir="$D/jobs" -o /dev/null \
	--wrap 'sleep 300' 2>"$D/jobs/sbatch.err")
j=${j%%;*}
job_running() { [ "$(rig_job_field "$j" JobState)" = RUNNING ]; }
if [ -n "$j" ] && rig_poll 60 job_running; then
	list_json
	want_alloc=$(timeout 10 sinfo -h -N -n "$N" -o %C | head -n 1 | cut -d/ -f1)
	tap_is "$(cpk_field "$N" jobs) $(cpk_field "$N" alloc_cpus)" "1 $want_alloc" \
		"job $j running on $N: 1 job, $want_alloc CPUs allocated (as sinfo %C says)"
	tap_check "with the job, cpk node list agrees with sinfo" agree_with_sinfo
else
	rig_show_file "$D/jobs/sbatch.err"
	tap_ok 1 "a running job is counted"
	tap_ok 1 "with the job, cpk node list agrees with sinfo"
fi

# --- which slurm.conf ----------------------------------------------------------
(unset SLURM_CONF; "$CPK" node list -f "$Y" --json >"$D/noenv.json" 2>"$D/noenv.err")
rc=$?
[ "$rc" = 0 ] && cmp -s "$D/noenv.json" "$D/list.json"
tap_ok $? "without SLURM_CONF: the description's slurm.config_dir/slurm.conf" ||
	rig_show_file "$D/noenv.err"
SLURM_CONF=$D/nonexistent.conf "$CPK" node list -f "$Y" >"$D/bad.out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "cannot read Slurm's configuration $D/nonexistent.conf" "$D/bad.out"
tap_ok $? "SLURM_CONF naming no file: exit 1 with a clear message" || rig_show_file "$D/bad.out"
SLURM_CONF=$D/nonexistent.conf "$CPK" node list -f "$Y" --slurm-conf "$D/etc/slurm.conf" \
	--json >"$D/opt.json" 2>"$D/opt.err"
rc=$?
[ "$rc" = 0 ] && cmp -s "$D/opt.json" "$D/list.json"
tap_ok $? "--slurm-conf wins over SLURM_CONF" || rig_show_file "$D/opt.err"

# --- bad input changes nothing; del ---------------------------------------------
ls -A "$D/nodes.d" >"$D/nodes.before"
"$CPK" node add dup --addr 127.0.0.77 --cpus 1 --mem 100 --no-join -f "$Y" >"$D/dup.out" 2>&1
rc=$?
ls -A "$D/nodes.d" >"$D/nodes.after"
[ "$rc" = 1 ] && grep -q "address 127.0.0.77 is already node ghost's" "$D/dup.out" && cmp -s "$D/nodes.before" "$D/nodes.after"
tap_ok $? "add with ghost's address: refused with the clash named, nodes.d unchanged" ||
	rig_show_file "$D/dup.out"
"$CPK" node add 'x/../y' --addr 127.0.0.9 --no-join -f "$Y" >"$D/hostile.out" 2>&1
rc=$?
ls -A "$D/nodes.d" >"$D/nodes.after"
[ "$rc" = 1 ] && grep -q "not a letter, digit or '-'" "$D/hostile.out" &&
	cmp -s "$D/nodes.before" "$D/nodes.after"
tap_ok $? "add 'x/../y': refused, nodes.d unchanged" || rig_show_file "$D/hostile.out"
"$CPK" node add late --addr 127.0.0.10 --partition nope --no-join -f "$Y" >"$D/nopart.out" 2>&1
rc=$?
ls -A "$D/nodes.d" >"$D/nodes.after"
[ "$rc" = 1 ] && grep -q "nodes.d/late.yaml:5:18: error: nodes\[[0-9]*\].partitions: no partition is named 'nope'" "$D/nopart.out" &&
	grep -q "node late not added: the description would not be valid; nothing written" "$D/nopart.out" &&
	cmp -s "$D/nodes.before" "$D/nodes.after"
tap_ok $? "add --partition nope: refused at the fragment's line, nodes.d unchanged" ||
	rig_show_file "$D/nopart.out"

"$CPK" node del ghost --fragment-only -f "$Y" >"$D/del.out" 2>&1 && list_json &&
	[ ! -e "$D/nodes.d/ghost.yaml" ] &&
	[ "$(cpk_view | awk '{ print $1, $2 }' | tr '\n' ';')" = "dyn1 not-described;$N ok;" ]
tap_ok $? "cpk node del ghost --fragment-only: ghost is gone from the list" ||
	{ rig_show_file "$D/del.out"; cpk_view >&2; }

# --- slurmctld gone ---------------------------------------------------------------
rig_slurm_cancel_all
rig_daemon_stop slurmctld
timeout 120 "$CPK" node list -f "$Y" >"$D/down.out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "cpk: cannot load the nodes from slurmctld: " "$D/down.out"
tap_ok $? "slurmctld stopped: exit 1, 'cannot load the nodes from slurmctld' with Slurm's reason" ||
	rig_show_file "$D/down.out"

# --- stop -------------------------------------------------------------------
rig_check_stopped "$D"
tap_done
