#!/bin/bash
# tests/rig/demo.sh CPK: `make demo`.  Renders the example description for
# both roles, then builds a one-node cluster of this very host from a rendered
# description, runs a batch job and an srun on it, moves data in and out with
# cpk copy through a throwaway sshd, and stops everything again.
# Needs root for the second part (slurmd runs jobs as their users).  Nothing
# outside a scratch directory is written; CPK_KEEP=1 keeps that directory.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/rig/lib.sh
. "$here/lib.sh" || exit 1

CPK=${1:-}
if [ -z "$CPK" ] || [ ! -x "$CPK" ]; then
	echo "usage: sh tests/rig/demo.sh /path/to/cpk   (cpk: '${CPK}' is not executable; run 'make' first)" >&2
	exit 2
fi

step=0
say() { step=$((step + 1)); printf '\n==> %d. %s\n' "$step" "$*"; }
info() { printf '    %s\n' "$@"; }
indent() { sed 's/^/    | /'; }
fail() { printf '\ndemo: FAILED: %s\n' "$*" >&2; exit 1; }
# run CMD...: show the command, run it, indent its output; fail on error.
show_cmd() {
	local a out=""
	for a in "$@"; do
		case $a in
		"" | *[!A-Za-z0-9_./=:,@%+-]*) a="'${a//\'/\'\\\'\'}'" ;;
		esac
		out="$out $a"
	done
	printf '    $%s\n' "$out"
}
run() {
	show_cmd "$@"
	"$@" 2>&1 | sed '/^[[:space:]]*$/d' | indent
	local rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || fail "'$*' exited $rc"
}

rig_tmpdir || fail "cannot make a scratch directory"
T=$RIG_DIR
printf 'clusterpack demo (scratch directory %s)\n' "$T"

# --- 1. the example ---------------------------------------------------------
ex=$top/examples/mdx-gpu.yaml
[ -r "$ex" ] || fail "no $ex"
say "Validate the example description examples/mdx-gpu.yaml"
run "$CPK" validate -f "$ex"

say "Render it for the control node and for a compute node"
run "$CPK" render -q -f "$ex" --role control --out "$T/mdx/control"
run "$CPK" render -q -f "$ex" --role compute --out "$T/mdx/compute"
info "files written:"
(cd "$T/mdx" && find . -type f | sort | xargs ls -l) | indent
info "" "head of control/slurm.conf:"
head -n 30 "$T/mdx/control/slurm.conf" | indent
info "... ($(wc -l <"$T/mdx/control/slurm.conf") lines)"

# --- 2. a real cluster on this host -----------------------------------------
if [ "$(id -u)" != 0 ]; then
	fail "the rest of the demo starts munged, slurmctld and slurmd: run 'make demo' as root"
fi
missing=$(rig_missing_cmds munged munge unmunge slurmctld slurmd scontrol sinfo srun sbatch squeue scancel)
[ -z "$missing" ] || fail "missing programs:$missing (run 'make deps')"

D=$T/local
say "Describe this host as a one-node cluster"
rig_cluster_yaml "$D" || fail "cannot describe this host"
info "$D/cluster.yaml (hardware from 'slurmd -C', ports $RIG_CTLD_PORT and $RIG_SLURMD_PORT on 127.0.0.1):"
indent <"$D/cluster.yaml"

say "Validate and render it for the control role"
run "$CPK" validate -f "$D/cluster.yaml"
run "$CPK" render -f "$D/cluster.yaml" --role control --out "$D/etc"
info "the node and partition lines of the rendered slurm.conf:"
grep -E '^(NodeName|PartitionName)=' "$D/etc/slurm.conf" | indent

say "Start munged, slurmctld and slurmd (in the foreground of this script)"
rig_start_munge "$D" || fail "munged did not start"
info "munged     pid $(rig_daemon_pid munged), socket $RIG_MUNGE_SOCKET"
rig_start_slurm "$D/etc" "$RIG_HOST" || fail "Slurm did not start"
info "slurmctld  pid $(rig_daemon_pid slurmctld), port $RIG_CTLD_PORT" \
	"slurmd     pid $(rig_daemon_pid slurmd), port $RIG_SLURMD_PORT" \
	"SLURM_CONF=$SLURM_CONF"
run sinfo

say "Submit a batch job and wait for it"
install -d -m 0755 "$D/jobs"
cat >"$D/jobs/demo.sh" <<'EOF'
#!/bin/sh
#SBATCH --job-name=demo

echo "job $SLURM_JOB_ID on $(hostname) as uid $(id -u), $SLURM_CPUS_ON_NODE CPU(s)"
echo "partition $SLURM_JOB_PARTITION, working directory $(pwd)"
EOF
info "the job script:"
indent <"$D/jobs/demo.sh"
show_cmd sbatch --parsable --chdir="$D/jobs" -o "$D/jobs/demo.out" "$D/jobs/demo.sh"
jid=$(timeout 30 sbatch --parsable --chdir="$D/jobs" -o "$D/jobs/demo.out" "$D/jobs/demo.sh") ||
	fail "sbatch refused the job"
jid=${jid%%;*}
info "job $jid submitted; waiting (Slurm starts batch jobs on its next scheduling pass, ~3 s)"
rig_wait_job "$jid" 60 || fail "job $jid did not end"
info "job $jid: JobState=$RIG_JOB_STATE ExitCode=$RIG_JOB_EXIT; its output:"
indent <"$D/jobs/demo.out"
run scontrol show job "$jid"
[ "$RIG_JOB_STATE $RIG_JOB_EXIT" = "COMPLETED 0:0" ] || fail "job $jid ended $RIG_JOB_STATE $RIG_JOB_EXIT"

say "Run an interactive step with srun"
# shellcheck disable=SC2016 # expanded by the job step
run timeout 60 srun -N1 -n2 sh -c 'echo "task $SLURM_PROCID of $SLURM_NTASKS on $(hostname)"'

say "Move job data in and out with cpk copy (a throwaway sshd on 127.0.0.1)"
# shellcheck source=tests/rig/sshd.sh
. "$here/sshd.sh" || fail "no tests/rig/sshd.sh"
sshd_start "$T/sshd" >/dev/null || fail "sshd did not start"
rig_at_exit sshd_stop
info "sshd pid $SSHD_PID, port $SSHD_PORT"
mkdir -p "$T/data/in/run1" "$T/data/remote" "$T/data/back"
head -c $((96 << 20)) /dev/urandom >"$T/data/in/run1/input.bin"
for i in $(seq 1 500); do echo "sample $i" >"$T/data/in/run1/s$i.txt"; done
info "data to stage in: 500 small files and one 96 MiB file"
C=("$CPK" copy -F none -P "$SSHD_PORT" -i "$SSHD_KEY"
   -o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null)
run "${C[@]}" -r --verify "$T/data/in/run1" "127.0.0.1:$T/data/remote"
run "${C[@]}" -r --verify "127.0.0.1:$T/data/remote/run1" "$T/data/back"
diff -r "$T/data/in/run1" "$T/data/back/run1" >/dev/null || fail "the copies differ"
info "in and back out: the trees are equal (and --verify compared SHA-256 on both sides)"

say "Stop everything, by pid"
rig_stop_all
alive=$(rig_alive_pids | tr '\n' ' ')
[ -z "$alive" ] || fail "still running: $alive"
info "munged, slurmctld, slurmd and sshd have exited"
if [ "${CPK_KEEP:-0}" = 1 ]; then info "kept $T (CPK_KEEP=1)"; else info "removing $T"; fi

printf '\ndemo: all done.\n'
