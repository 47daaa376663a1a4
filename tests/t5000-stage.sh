#!/bin/bash
# t5000: the SPANK plugin cpk_stage.so on a real one-node Slurm, with a real
# sshd playing the storage host: jobs of cpktest stage in and out through
# the alias "storage" of cpktest's own ~/.ssh/config.
#
# Needs root; runs inside a private mount namespace (rig_reexec_in_userns).
# CPK is the cpk binary, CPK_BUILD the build dir holding cpk_stage.so.
# slurmstepd cannot load a plugin built with ASan (the runtime must come
# first): under `make test-san` give CPK_PLUGIN, a plain build's
# cpk_stage.so, and the helper (CPK) runs under ASan alone.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/rig/lib.sh
. "$here/rig/lib.sh"
# shellcheck source=tests/rig/sshd.sh
. "$here/rig/sshd.sh"

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
missing=$(rig_missing_cmds munged munge slurmctld slurmd scontrol sinfo sbatch \
	unshare setpriv ssh-keygen sha256sum timeout perl)
[ -z "$missing" ] || tap_skip_all "missing:$missing"
[ -x /usr/sbin/sshd ] || tap_skip_all "missing: /usr/sbin/sshd"
PLUGIN=${CPK_PLUGIN:-${CPK_BUILD:-}/cpk_stage.so}
[ -n "${CPK:-}" ] && [ -f "$PLUGIN" ] ||
	tap_skip_all "CPK and CPK_BUILD (with cpk_stage.so) or CPK_PLUGIN are not set"
if nm -D "$PLUGIN" 2>/dev/null | grep -q __asan_init; then
	tap_skip_all "$PLUGIN is built with ASan, which slurmstepd cannot load: set CPK_PLUGIN to a plain build's"
fi
rig_reexec_in_userns "$0" "$@"
case $? in
0) ;;
77) tap_skip_all "cannot make a private mount namespace here" ;;
*) echo "Bail out! could not set up the test user namespace"; exit 1 ;;
esac

tap_plan 59
D=$RIG_DIR H=$RIG_USER_HOME
U=$RIG_UID:$RIG_GID

# --- the storage host: sshd, cpktest's key, its alias and known_hosts -------
sshd_start "$D/sshd" >/dev/null || { echo "Bail out! sshd did not start"; exit 1; }
rig_at_exit sshd_stop
cat "$H/.ssh/id_ed25519.pub" >>"$SSHD_DIR/authorized_keys"
# sshd reads the (shared) authorized_keys file as the user logging in
chmod 0644 "$SSHD_DIR/authorized_keys" && chmod 0711 "$SSHD_DIR"
CLOSED=$(rig_free_port) || { echo "Bail out! no free port"; exit 1; }
# a host that takes the TCP connection and never says a word
SILENT=$(rig_free_port) || { echo "Bail out! no free port"; exit 1; }
perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
	LocalPort => $ARGV[0], Listen => 16, ReuseAddr => 1) or die "listen: $!";
	open(F, ">", $ARGV[1]) and close(F); while (1) { push @c, $s->accept }' \
	"$SILENT" "$D/silent.up" &
rig_at_exit "kill $!"
until [ -e "$D/silent.up" ]; do sleep 0.05; done
cat >"$H/.ssh/config" <<EOF
Host storage
	HostName 127.0.0.1
	Port $SSHD_PORT
	User $RIG_USER
	IdentityFile ~/.ssh/id_ed25519
Host closed
	HostName 127.0.0.1
	Port $CLOSED
Host silent
	HostName 127.0.0.1
	Port $SILENT
Host badkey
	HostName 127.0.0.1
	Port $SSHD_PORT
	User $RIG_USER
	UserKnownHostsFile ~/.ssh/other_known_hosts
EOF
cp "$SSHD_KNOWN_HOSTS" "$H/.ssh/known_hosts"
# the storage host's address with another key: a changed host key
ssh-keygen -q -t ed25519 -N '' -f "$D/otherkey" &&
	echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$D/otherkey.pub")" >"$H/.ssh/other_known_hosts"
chown "$U" "$H/.ssh/config" "$H/.ssh/known_hosts" "$H/.ssh/other_known_hosts"
S=$D/store	# the storage host's files, owned by cpktest
install -d -m 0755 -o "$RIG_UID" -g "$RIG_GID" "$S" "$S/out"
head -c 300000 /dev/urandom >"$S/in.bin"
mkdir -p "$S/tree/a/b"
head -c 5000 /dev/urandom >"$S/tree/a/b/f1"
echo hello >"$S/tree/top"
chown -R "$U" "$S"
sums() { (cd "$1" 2>/dev/null && find . -type f | LC_ALL=C sort | xargs -r sha256sum); }
SUM_IN=$(sha256sum <"$S/in.bin")
SUM_TREE=$(sums "$S/tree")
# a file only root can read, in a directory cpktest may enter
install -d -m 0755 "$D/secret"
echo secret >"$D/secret/f" && chmod 0600 "$D/secret/f"

# --- Slurm with the plugin --------------------------------------------------
rig_cluster_yaml "$D" >/dev/null && rig_handwritten_conf "$D" "$D/etc" ||
	{ echo "Bail out! no slurm.conf"; exit 1; }
echo "required $PLUGIN connections=2 retries=1 verify=no" \
	"allowed_hosts=storage,closed,silent,badkey,*.example.org stage_in_timeout=60" \
	"stage_out_timeout=60 cpk=$CPK" >"$D/etc/plugstack.conf"
rig_start_munge "$D" || { echo "Bail out! munged did not start"; exit 1; }
rig_start_slurm "$D/etc" || { echo "Bail out! Slurm did not start"; exit 1; }
N=$RIG_SLURM_NODE
# confs DIR PLUGSTACK-LINE: a copy of slurm.conf in DIR whose plugstack.conf
# holds that line, for sbatch run with SLURM_CONF=DIR/slurm.conf
confs() {
	install -d -m 0755 "$1" &&
		sed "s|^PlugStackConfig=.*|PlugStackConfig=$1/plugstack.conf|" \
			"$D/etc/slurm.conf" >"$1/slurm.conf" &&
		echo "$2" >"$1/plugstack.conf" && chmod 0644 "$1/slurm.conf" "$1/plugstack.conf"
}
confs "$D/etc-none" "# no plugin: what a user may run sbatch with" ||
	{ echo "Bail out! no slurm.conf copy"; exit 1; }
confs "$D/etc-bogus" "required $PLUGIN connections=2 bogus=1" ||
	{ echo "Bail out! no slurm.conf copy"; exit 1; }
W=$H/w		# the jobs' working directories
install -d -o "$RIG_UID" -g "$RIG_GID" "$W"

# sub NAME SBATCH-ARGS...: submit as cpktest in $W/NAME; prints the job id
# (empty if refused; sbatch's stderr is in $W/NAME.err)
sub() {
	local name=$1 id
	shift
	install -d -o "$RIG_UID" -g "$RIG_GID" "$W/$name"
	# --mem: else each job takes the node's memory and they run one by one
	id=$(cd "$W/$name" && rig_as_user timeout 30 sbatch --parsable -J "$name" --mem=64M \
		--chdir="$W/$name" -o "$W/$name/job.out" "$@" 2>"$W/$name.err")
	echo "${id%%;*}"
}
# job_is NAME ID "STATE EXIT" DESCRIPTION [SECONDS]
job_is() {
	if [ -n "$2" ] && rig_wait_job "$2" "${5:-120}"; then
		tap_is "$RIG_JOB_STATE $RIG_JOB_EXIT" "$3" "$4" ||
			rig_show_file "$W/$1/job.out"
	else
		tap_ok 1 "$4"
		rig_show_file "$W/$1.err"
	fi
}
# out_has NAME REGEX DESCRIPTION: the job's output file matches REGEX
out_has() {
	grep -Eq "$2" "$W/$1/job.out" 2>/dev/null
	tap_ok $? "$3" || rig_show_file "$W/$1/job.out"
}

# --- jobs, submitted together (Slurm starts batch jobs every few seconds) ---
# first the one that runs into its time limit (1 minute)
j_tl=$(sub tl --time=1 --stage-out="tl@storage:$S/out/tl" --wrap 'echo tl >tl; sleep 600')
j_sc=$(sub sc --stage-out="sc@storage:$S/out/sc" --wrap 'echo sc >sc; sleep 600')
j_scin=$(sub scin --stage-in="s@silent:/x" --wrap 'echo the script ran')
j_in=$(sub in --stage-in="in.bin@storage:$S/in.bin" --stage-in="tree@storage:$S/tree" \
	--wrap 'sha256sum <in.bin >in.sum; srun true')
j_out=$(sub out --stage-out="res@storage:$S/out/ok,one@storage:$S/out/one" --stage-conns=3 \
	--wrap 'mkdir res && head -c 200000 /dev/urandom >res/r && echo 1 >one')
j_out3=$(sub out3 --stage-out="r3@storage:$S/out/r3" \
	--wrap 'head -c 1000 /dev/urandom >r3; exit 3')
j_root=$(sub rootonly --stage-out="$D/secret/f@storage:$S/out/secret" --wrap 'true')
# the same in a working directory whose name holds an escape sequence and a tab
EVIL=$(printf 'evil\033[31m\tx')
j_evil=$(sub "$EVIL" --stage-out="$D/secret/f@storage:$S/out/secret2" --wrap 'true')
# sbatch with cpk_stage.so refuses these values; a user can run sbatch
# without it and put them where cpk_stage.so's sbatch would (its environment)
j_forge=$(SLURM_CONF=$D/etc-none/slurm.conf \
	_SLURM_SPANK_OPTION_cpk_stage_stage_in="x@storage:$S/in.bin,x@evil.org:/etc/passwd" \
	sub forge --wrap 'echo the script ran')
j_forge2=$(SLURM_CONF=$D/etc-none/slurm.conf _SLURM_SPANK_OPTION_cpk_stage_stage_in="x@y@storage:" \
	sub forge2 --wrap 'echo the script ran')
# a job submitted from inside a staging job stages nothing of its parent's
j_nest=$(sub nest --stage-in="in.bin@storage:$S/in.bin" --stage-in="t@storage:$S/tree/top" \
	--wrap 'rm in.bin t; sbatch --parsable -o inner.out --wrap "ls; echo inner ran" >inner.id')
# a stage-out too: what is in the working directory is stale, never sent
install -d -o "$RIG_UID" -g "$RIG_GID" "$W/missing" && echo stale >"$W/missing/old" &&
	chown "$U" "$W/missing/old"
j_miss=$(sub missing --stage-in="m@storage:$S/no-such-file" --stage-out="old@storage:$S/out/old" \
	--wrap 'echo the script ran')
j_closed=$(sub closed --stage-in="c@closed:$S/in.bin" --wrap 'echo the script ran')
j_badkey=$(sub badkey --stage-in="k@badkey:$S/in.bin" --wrap 'echo the script ran')
j_denied=$(sub denied --stage-in="d@storage:$D/secret/f" --wrap 'echo the script ran')

# --- sbatch: the options, and what it refuses ---------------------------------
help=$(rig_as_user timeout 30 sbatch --help 2>&1)
for o in "--stage-in=LOCAL@[USER@]HOST:REMOTE[,...]" "--stage-out=LOCAL@[USER@]HOST:REMOTE[,...]" \
	"--stage-conns=N" "--stage-verify"; do
	grep -qF -- "$o" <<<"$help" || break
done
tap_ok $? "sbatch --help lists --stage-in, --stage-out, --stage-conns and --stage-verify" ||
	rig_log "$help"
bad=$(sub conns0 --stage-conns=0 --wrap true)
[ -z "$bad" ] && grep -q -- '--stage-conns: want 1..64, not "0"' "$W/conns0.err"
tap_ok $? "sbatch refuses --stage-conns=0" || rig_show_file "$W/conns0.err"
bad=$(SLURM_CONF=$D/etc-bogus/slurm.conf sub bogus --wrap true)
[ -z "$bad" ] && grep -q 'plugstack.conf: plugin argument "bogus=1": unknown' "$W/bogus.err"
tap_ok $? "an unknown plugstack.conf argument is refused, naming it" || rig_show_file "$W/bogus.err"
bad=$(sub bad --stage-in='input@storage:' --wrap true)
[ -z "$bad" ] && grep -q 'stage-in item 1 "input@storage:": empty remote path' "$W/bad.err"
tap_ok $? "sbatch refuses a malformed --stage-in, naming the item" || rig_show_file "$W/bad.err"
bad=$(sub badhost --stage-out="x@elsewhere:/tmp/x" --wrap true)
[ -z "$bad" ] && grep -q 'host "elsewhere" is not in' "$W/badhost.err"
tap_ok $? "sbatch refuses a host outside allowed_hosts" || rig_show_file "$W/badhost.err"

# --- scancel: once the script has written its file ---------------------------
end=$((SECONDS + 120))
until [ -s "$W/sc/sc" ] || [ $SECONDS -ge $end ]; do sleep 0.2; done
rig_as_user timeout 30 scancel "$j_sc"
RIG_JOB_STATE= && rig_wait_job "$j_sc" 120
tap_is "$RIG_JOB_STATE" CANCELLED "a job cancelled with scancel is CANCELLED"
tap_is "$(cat "$S/out/sc" 2>/dev/null)" sc "its output was staged out all the same"

# scancel during a stage-in (held by a host that never answers)
end=$((SECONDS + 120))
until [ "$(rig_job_field "$j_scin" JobState)" = RUNNING ] || [ $SECONDS -ge $end ]; do sleep 0.2; done
sleep 1
t0=$SECONDS
rig_as_user timeout 30 scancel "$j_scin"
RIG_JOB_STATE= && rig_wait_job "$j_scin" 120
tap_is "$RIG_JOB_STATE" CANCELLED "scancel during a stage-in: CANCELLED"
[ $((SECONDS - t0)) -lt 8 ] && ! grep -q 'the script ran' "$W/scin/job.out" 2>/dev/null
tap_ok $? "at once (before the 10 s connect timeout), the script not run" ||
	rig_show_file "$W/scin/job.out"

# --- srun and salloc refuse the options (they would stage nothing) ---------
out=$(cd "$W" && rig_as_user timeout 30 srun --mem=64M --stage-in="x@storage:/x" true 2>&1)
[ $? != 0 ] && [[ $out == *"--stage-in is for sbatch only (batch jobs are staged), not srun"* ]]
tap_ok $? "srun --stage-in is refused" || rig_log "$out"
out=$(cd "$W" && rig_as_user timeout 30 salloc --mem=64M --stage-out="x@storage:/x" true 2>&1)
[ $? != 0 ] && [[ $out == *"--stage-out is for sbatch only (batch jobs are staged), not salloc"* ]]
tap_ok $? "salloc --stage-out is refused" || rig_log "$out"

# --- stage-in ---------------------------------------------------------------
job_is in "$j_in" "COMPLETED 0:0" "a job staging in a file and a tree (two --stage-in) completes"
tap_is "$(cat "$W/in/in.sum" 2>/dev/null)" "$SUM_IN" "the file was in place, same sha256, before the script ran"
tap_is "$(sums "$W/in/tree")" "$SUM_TREE" "the tree arrived whole (sha256 of each file)"
tap_is "$(stat -c %u "$W/in/in.bin" 2>/dev/null)" "$RIG_UID" "staged-in files belong to the job's user"
out_has in "^cpk stage in: 2 items: 305006 bytes, 3 files, [0-9.]+ MB/s, [0-9]+ connections?, [0-9.]+ s$" \
	"the job output has a summary line (bytes, files, rate, connections)"
tap_is "$(grep -c '^cpk stage' "$W/in/job.out")" 1 "one line only, though the script ran an srun step"

# --- stage-out --------------------------------------------------------------
job_is out "$j_out" "COMPLETED 0:0" "a job staging out a tree and a file completes"
tap_is "$(sums "$S/out/ok")" "$(sums "$W/out/res")" "the tree was staged out (sha256)"
tap_is "$(cat "$S/out/one" 2>/dev/null)" 1 "the second item of the list was staged out"
[ ! -e "$W/out/cpk_stage.$j_out.undelivered" ]
tap_ok $? "no record of undelivered files after a full stage-out"
job_is out3 "$j_out3" "FAILED 3:0" "a job whose script exits 3 is FAILED 3:0"
tap_is "$(sha256sum <"$S/out/r3" 2>/dev/null)" "$(sha256sum <"$W/out3/r3")" \
	"its output was staged out all the same"
# node_fine: neither drained nor down (the time-limit job may still run)
node_fine() { [[ $(rig_node_state "$N") =~ ^(idle|mixed|allocated|planned|completing)$ ]]; }
node_fine
tap_ok $? "node fine after staging ($(rig_node_state "$N"))"

# --- failures ---------------------------------------------------------------
job_is forge "$j_forge" "FAILED 1:0" "a forged value in the job's environment fails the job"
out_has forge 'host "evil.org" is not in' "the job output names the forged host"
job_is forge2 "$j_forge2" "FAILED 1:0" "a malformed value forged in the option's variable fails the job"
out_has forge2 'stage-in item 1 "x@y@storage:": empty remote path' "the job output names the bad item"
! grep -q 'the script ran' "$W/forge/job.out" "$W/forge2/job.out" 2>/dev/null
tap_ok $? "the scripts of those jobs did not run"
job_is nest "$j_nest" "COMPLETED 0:0" "a job submitting a job from inside completes"
inner=$(cat "$W/nest/inner.id" 2>/dev/null)
job_is nest "${inner%%;*}" "COMPLETED 0:0" "the inner job completes"
grep -q 'inner ran' "$W/nest/inner.out" 2>/dev/null && ! grep -q 'in.bin\|cpk stage' "$W/nest/inner.out"
tap_ok $? "the inner job staged nothing of its parent's options" || rig_show_file "$W/nest/inner.out"
job_is missing "$j_miss" "FAILED 1:0" "a stage-in of a missing remote file fails the job"
out_has missing "FAILED from storage:$S/no-such-file to $W/missing/m: .*no such file" \
	"the job output names the host, the path and the error"
[ ! -e "$S/out/old" ] &&
	grep -q 'cpk_stage: --stage-out not run: the script did not run (the stage-in failed)' \
		"$W/missing/job.out" 2>/dev/null
tap_ok $? "after a failed stage-in, no stage-out (the job output says so)" ||
	rig_show_file "$W/missing/job.out"
job_is closed "$j_closed" "FAILED 1:0" "a stage-in from a host whose port is closed fails the job"
out_has closed "FAILED from closed:$S/in.bin .*(refused|connect)" "the job output says the host could not be reached"
job_is badkey "$j_badkey" "FAILED 1:0" "a stage-in from a host whose key does not match fails the job"
out_has badkey "FAILED from badkey:$S/in.bin .*(host key|known_hosts)" "the job output says it is the host key"
job_is denied "$j_denied" "FAILED 1:0" "a stage-in of a remote file the user may not read fails the job"
out_has denied "FAILED from storage:$D/secret/f .*(ermission denied)" "the job output says permission denied"
[ ! -e "$W/badkey/k" ] && [ ! -e "$W/denied/d" ]
tap_ok $? "nothing was written for them"
! grep -q 'the script ran' "$W/missing/job.out" "$W/closed/job.out" "$W/badkey/job.out" \
	"$W/denied/job.out" 2>/dev/null
tap_ok $? "the scripts did not run after a failed stage-in"
job_is rootonly "$j_root" "COMPLETED 0:0" "a job staging out a root-only file: the script's state stands"
[ ! -e "$S/out/secret" ] && grep -q 'Permission denied' "$W/rootonly/job.out" 2>/dev/null
tap_ok $? "the root-only file was not copied (run as the user), the job output says why" ||
	rig_show_file "$W/rootonly/job.out"
rec=$W/rootonly/cpk_stage.$j_root.undelivered
out_has rootonly "error: cpk_stage: --stage-out failed: nothing was deleted; .* listed in $rec" \
	"the job output has an error line naming the record of undelivered files"
grep -q "^$D/secret/f	storage:$S/out/secret	.*Permission denied" "$rec" 2>/dev/null &&
	[ "$(stat -c %u "$rec")" = "$RIG_UID" ] && [ "$(cat "$D/secret/f")" = secret ]
tap_ok $? "the record (the user's) lists the file, where it is and why; the file is still there" ||
	rig_show_file "$rec"
# admin_comment ID: the job's AdminComment as scontrol says it (empty: none)
admin_comment() { scontrol show job "$1" 2>/dev/null | sed -n 's/^ *AdminComment=\(.*[^ ]\) *$/\1/p'; }
# the comment is set from the exit hook, around the job's end
comment_of() {
	local end=$((SECONDS + 20)) c
	until c=$(admin_comment "$1") && [ -n "$c" ] || [ $SECONDS -ge $end ]; do sleep 0.2; done
	printf '%s' "$c"
}
tap_is "$(comment_of "$j_root")" \
	"cpk_stage: stage-out failed: 1 of 1 items not delivered, kept in $W/rootonly; see cpk_stage.$j_root.undelivered" \
	"after a failed stage-out, the job's AdminComment says what was not delivered and where it is"
tap_is "$(comment_of "$j_miss")" \
	"cpk_stage: stage-in failed: 1 of 1 items not copied in (they are still on the remote hosts); the script did not run; see the job's output file" \
	"after a failed stage-in, the AdminComment says so"
c=$(comment_of "$j_forge")
[[ $c == "cpk_stage: stage-in refused, the script did not run: --stage-in: host \"evil.org\" is not in this cluster's allowed_hosts" ]]
tap_ok $? "a refused value: the AdminComment says why" || rig_log "AdminComment: $c"
job_is "$EVIL" "$j_evil" "COMPLETED 0:0" "a stage-out failure in a working directory named with control characters"
c=$(comment_of "$j_evil")
[[ $c == "cpk_stage: stage-out failed: 1 of 1 items not delivered, kept in $W/evil?[31m?x; see cpk_stage.$j_evil.undelivered" ]] &&
	! LC_ALL=C grep -q '[[:cntrl:]]' <<<"$c"
tap_ok $? "  its AdminComment shows them as '?', no control character" || rig_log "AdminComment: $(printf %q "$c")"
[ -n "$j_out" ] && [ -z "$(admin_comment "$j_out")" ] && [ -z "$(admin_comment "$j_in")" ]
tap_ok $? "no AdminComment after a successful stage-in or stage-out" ||
	rig_log "$(scontrol show job "$j_out" 2>&1)"
node_fine
tap_ok $? "node still fine after the failures ($(rig_node_state "$N"))"

# --- the time limit (last: it takes over a minute) ---------------------------
# (the exit code is 0:15 or 143:0, as the shell or its sleep gets SIGTERM first)
RIG_JOB_STATE= && rig_wait_job "$j_tl" 300
tap_is "$RIG_JOB_STATE" TIMEOUT "a job that hits its time limit is TIMEOUT"
tap_is "$(cat "$S/out/tl" 2>/dev/null)" tl "its output was staged out all the same"
# the controller's own record of the node: State=IDLE, no flag (+DRAIN,
# +PLANNED...), nothing allocated (sinfo of Slurm 24.11 was seen to say
# "mixed" for a minute while scontrol said IDLE with nothing allocated)
node_idle() {
	scontrol show node "$N" 2>/dev/null | grep -qE '(^| )State=IDLE( |$)' &&
		scontrol show node "$N" 2>/dev/null | grep -qE '(^| )CPUAlloc=0( |$)'
}
end=$((SECONDS + 60))
until node_idle || [ $SECONDS -ge $end ]; do sleep 0.2; done
node_idle
tap_ok $? "node idle at the end, after all of these (sinfo: $(rig_node_state "$N"))" || {
	rig_log "$(squeue -a -h -o '%i %j %T %M %R' 2>&1)"
	rig_log "$(scontrol show node "$N" 2>&1 | grep -E 'State|Alloc|Reason')"
	rig_log "$(sacct -a -n -X -o JobID,JobName,State,ExitCode,End 2>&1 | tail -20)"
}

# --- a controller that does not answer: the AdminComment request is bounded --
# (the stage-out fails, the request to the stopped slurmctld gives up within
# the plugin's 15 s, SIGKILL 5 s later at worst: the step is not held)
j_hang=$(sub hang --stage-out="$D/secret/f@storage:$S/out/secret3" --wrap 'sleep 3')
end=$((SECONDS + 120))
until [ "$(rig_job_field "$j_hang" JobState)" = RUNNING ] || [ $SECONDS -ge $end ]; do sleep 0.2; done
ctld=$(rig_daemon_pid slurmctld)
[ -n "$ctld" ] && kill -STOP "$ctld"
t0=$SECONDS
until grep -q "cannot set the job's AdminComment" "$W/hang/job.out" 2>/dev/null ||
	[ $((SECONDS - t0)) -ge 60 ]; do sleep 0.2; done
took=$((SECONDS - t0))
[ -n "$ctld" ] && kill -CONT "$ctld"
grep -q "cannot set the job's AdminComment" "$W/hang/job.out" 2>/dev/null && [ "$took" -le 30 ]
tap_ok $? "slurmctld stopped: the AdminComment request gives up (${took} s after the stop), logged" ||
	rig_show_file "$W/hang/job.out"
job_is hang "$j_hang" "COMPLETED 0:0" "the job completes once slurmctld answers again"

rig_stop_all
tap_done
