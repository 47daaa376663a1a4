#!/bin/bash
# t1500: a real one-node Slurm (munged, slurmctld, slurmd) on this host, from
# a description rendered by `cpk render`; jobs as root and as a plain user.
#
# Needs root (slurmd runs jobs as their users) and runs wholly inside a
# private mount namespace where user cpktest (4242) exists; the machine's /etc
# is not changed.  CPK is the cpk binary.  CPK_KEEP=1 keeps the scratch dir;
# CPK_RIG_HANDCONF=1 uses the rig's hand-written slurm.conf instead of cpk's
# (to tell rig problems from renderer problems).

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/rig/lib.sh
. "$here/rig/lib.sh"

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
missing=$(rig_missing_cmds munged munge unmunge slurmctld slurmd scontrol sinfo \
	squeue scancel srun sbatch unshare setpriv ssh-keygen perl timeout)
[ -z "$missing" ] || tap_skip_all "missing:$missing"
if [ "${CPK_RIG_HANDCONF:-0}" != 1 ]; then
	[ -n "${CPK:-}" ] || tap_skip_all "CPK (the cpk binary) is not set"
fi
rig_reexec_in_userns "$0" "$@"
case $? in
0) ;;
77) tap_skip_all "cannot make a private mount namespace here" ;;
*) echo "Bail out! could not set up the test user namespace"; exit 1 ;;
esac

tap_plan 13
D=$RIG_DIR
HOST=$(hostname)

# --- describe, validate, render ---------------------------------------------
rig_cluster_yaml "$D" || { echo "Bail out! cannot write cluster.yaml"; exit 1; }
if [ "${CPK_RIG_HANDCONF:-0}" = 1 ]; then
	tap_skip "cpk validate accepts the rig description" "CPK_RIG_HANDCONF=1"
	tap_skip "cpk render --role control writes slurm.conf" "CPK_RIG_HANDCONF=1"
	rig_handwritten_conf "$D" "$D/etc"
else
	"$CPK" validate -f "$D/cluster.yaml" >"$D/validate.out" 2>&1
	tap_ok $? "cpk validate accepts the rig description" || rig_show_file "$D/validate.out"
	"$CPK" render -f "$D/cluster.yaml" --role control --out "$D/etc" >"$D/render.out" 2>&1
	rc=$?
	[ "$rc" = 0 ] && [ -s "$D/etc/slurm.conf" ]
	if ! tap_ok $? "cpk render --role control writes slurm.conf"; then
		rig_log "cpk render exited $rc"
		rig_show_file "$D/render.out"
		tap_fail_rest "no slurm.conf"
		tap_done
	fi
fi
conf=$D/etc/slurm.conf

# The rendered file must carry what the rig relies on (ports, munge socket).
ok=0
for kv in "SlurmctldPort=$RIG_CTLD_PORT" "SlurmdPort=$RIG_SLURMD_PORT" \
	"AuthInfo=socket=$D/munge-run/munge.socket" "SlurmctldHost=$RIG_HOST(127.0.0.1)"; do
	k=${kv%%=*}
	v=$(rig_conf_get "$conf" "$k")
	if [ "$k=$v" != "$kv" ]; then
		rig_log "slurm.conf: want $kv, have $k=$v"
		ok=1
	fi
done
tap_ok $ok "slurm.conf names the description's host, ports and munge socket"

# --- daemons ----------------------------------------------------------------
rig_start_munge "$D"
if ! tap_ok $? "munged runs and a credential round-trips"; then
	tap_fail_rest "munged is not running"
	tap_done
fi
rig_start_slurm "$D/etc" "$RIG_HOST"
if ! tap_ok $? "slurmctld answers ping and slurmd registers"; then
	tap_fail_rest "Slurm is not running"
	tap_done
fi
tap_is "$(rig_node_state "$RIG_HOST")" idle "sinfo shows node $RIG_HOST idle"

# --- jobs -------------------------------------------------------------------
out=$(timeout 60 srun -N1 -n1 hostname 2>"$D/srun.err")
tap_is "$out" "$HOST" "srun hostname runs on the node" || rig_show_file "$D/srun.err"

# Three batch jobs, submitted together: Slurm 22.05 starts batch jobs only on
# its next scheduling pass (about every 3 s), so waiting for each in turn would
# cost a pass per job.  None asks for memory: the rendered DefMemPerCPU keeps
# each from taking the node's whole memory, so two can run at once.
install -d -m 0755 "$D/jobs"
cat >"$D/jobs/hello.sh" <<'EOF'
#!/bin/sh
echo "hello from $(hostname) job $SLURM_JOB_ID uid $(id -u)"
EOF
H=$RIG_USER_HOME
j_root=$(timeout 30 sbatch --parsable -J hello --chdir="$D/jobs" -o "$D/jobs/hello.out" \
	"$D/jobs/hello.sh" 2>"$D/jobs/root.err")
j_user=$(cd "$H" && rig_as_user timeout 30 sbatch --parsable -J asuser --chdir="$H" \
	-o "$H/id.out" --wrap 'id -u' 2>"$D/jobs/user.err")
j_fail=$(timeout 30 sbatch --parsable -J fail3 --chdir="$D/jobs" -o /dev/null \
	--wrap 'exit 3' 2>"$D/jobs/fail.err")
j_root=${j_root%%;*} j_user=${j_user%%;*} j_fail=${j_fail%%;*}

# job_is JOBID "STATE EXITCODE" DESCRIPTION SBATCH-STDERR
job_is() {
	if [ -n "$1" ] && rig_wait_job "$1" 60; then
		tap_is "$RIG_JOB_STATE $RIG_JOB_EXIT" "$2" "$3"
	else
		tap_ok 1 "$3"
		rig_show_file "$4"
	fi
}

job_is "$j_root" "COMPLETED 0:0" "root batch job ${j_root:-?} completes with 0:0" "$D/jobs/root.err"
tap_is "$(cat "$D/jobs/hello.out" 2>/dev/null)" "hello from $HOST job $j_root uid 0" \
	"root batch job wrote its output file"
job_is "$j_user" "COMPLETED 0:0" "batch job ${j_user:-?} of uid $RIG_UID completes with 0:0" "$D/jobs/user.err"
got="$(stat -c %u "$H/id.out" 2>/dev/null) $(cat "$H/id.out" 2>/dev/null)"
tap_is "$got" "$RIG_UID $RIG_UID" "its output file is owned by $RIG_UID and says id -u = $RIG_UID"
job_is "$j_fail" "FAILED 3:0" "a job exiting 3 is FAILED with ExitCode 3:0" "$D/jobs/fail.err"

# --- stop -------------------------------------------------------------------
rig_check_stopped "$D"

tap_done
