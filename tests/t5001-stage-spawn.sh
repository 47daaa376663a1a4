#!/bin/bash
# t5001: cpk_stage_spawn() outside Slurm, as the plugin uses it from root:
# the child runs as cpktest (uid, gid, groups, clean environment, chdir as
# the user), the time limit stops its whole process group, and `cpk stage
# out` of a file only root can read fails (a real sshd as the storage host).
#
# Needs root; runs inside a private mount namespace where cpktest exists.
# CPK_BUILD holds tests/progs/stage_spawn; CPK is the cpk binary.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/rig/lib.sh
. "$here/rig/lib.sh"
# shellcheck source=tests/rig/sshd.sh
. "$here/rig/sshd.sh"

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
missing=$(rig_missing_cmds unshare setpriv ssh-keygen timeout)
[ -z "$missing" ] || tap_skip_all "missing:$missing"
[ -x /usr/sbin/sshd ] || tap_skip_all "missing: /usr/sbin/sshd"
SP=${CPK_BUILD:-}/tests/progs/stage_spawn
[ -n "${CPK:-}" ] && [ -x "$SP" ] || tap_skip_all "CPK and CPK_BUILD (with tests/progs/stage_spawn) are not set"
rig_reexec_in_userns "$0" "$@"
case $? in
0) ;;
77) tap_skip_all "cannot make a private mount namespace here" ;;
*) echo "Bail out! could not set up the test user namespace"; exit 1 ;;
esac

tap_plan 11
D=$RIG_DIR H=$RIG_USER_HOME
W=$H/w
install -d -m 0700 -o "$RIG_UID" -g "$RIG_GID" "$W"

# --- identity, environment, working directory --------------------------------
out=$(CANARY=leak timeout 60 "$SP" "$RIG_UID" "$RIG_GID" "$W" 30 /bin/sh -c \
	'echo "$(id -u) $(id -g) $(id -G)"; echo "$HOME $USER $LOGNAME $PATH"; pwd
	 env | cut -d= -f1 | LC_ALL=C sort | tr "\n" " "; echo' 2>&1)
tap_is "$(sed -n 1p <<<"$out")" "$RIG_UID $RIG_GID $RIG_GID" "the child has the user's uid, gid and only its groups"
tap_is "$(sed -n 2p <<<"$out")" "$H $RIG_USER $RIG_USER /usr/local/bin:/usr/bin:/bin" \
	"HOME, USER, LOGNAME from the passwd entry, a fixed PATH"
tap_is "$(sed -n 3p <<<"$out")" "$W" "it runs in the working directory (0700, the user's)"
tap_is "$(sed -n 4p <<<"$out")" "HOME LOGNAME PATH PWD USER " "nothing else of root's environment"
tap_is "$(sed -n 5p <<<"$out")" "exit 0" "the exit status comes back"

install -d -m 0700 "$D/rootdir"
out=$(timeout 60 "$SP" "$RIG_UID" "$RIG_GID" "$D/rootdir" 30 /bin/true 2>&1)
[[ $out == *"cannot enter the job's working directory as the job's user"*"exit 126" ]]
tap_ok $? "a working directory the user cannot enter: exit 126, said why" || rig_log "$out"

# --- the time limit stops the child's process group ---------------------------
start=$SECONDS
out=$(timeout 60 "$SP" "$RIG_UID" "$RIG_GID" "$W" 1 /bin/sh -c \
	"sleep 300 & echo \$! >$W/bg.pid; wait" 2>&1)
bg=$(cat "$W/bg.pid" 2>/dev/null)
gone=0
for _ in $(seq 50); do
	[ -n "$bg" ] && [ "$(rig_proc_state "$bg")" != "" ] && [ "$(rig_proc_state "$bg")" != Z ] || { gone=1; break; }
	sleep 0.1
done
[[ $out == *"stopped: staging stopped: time limit of 1 s reached"* ]] &&
	[ $((SECONDS - start)) -lt 20 ] && [ "$gone" = 1 ]
tap_ok $? "the time limit stops the child and what it started" || rig_log "$out (bg $bg)"

# --- cpk stage out of a root-only file, as the user ---------------------------
sshd_start "$D/sshd" >/dev/null || { echo "Bail out! sshd did not start"; exit 1; }
rig_at_exit sshd_stop
cat "$H/.ssh/id_ed25519.pub" >>"$SSHD_DIR/authorized_keys"
chmod 0644 "$SSHD_DIR/authorized_keys" && chmod 0711 "$SSHD_DIR"
printf 'Host storage\n\tHostName 127.0.0.1\n\tPort %s\n' "$SSHD_PORT" >"$H/.ssh/config"
cp "$SSHD_KNOWN_HOSTS" "$H/.ssh/known_hosts"
chown "$RIG_UID:$RIG_GID" "$H/.ssh/config" "$H/.ssh/known_hosts"
install -d -m 0777 "$D/dst"
install -d -m 0755 "$D/secret"
echo secret >"$D/secret/f" && chmod 0600 "$D/secret/f"
echo open >"$W/ok" && chown "$RIG_UID:$RIG_GID" "$W/ok"
out=$(timeout 120 "$SP" "$RIG_UID" "$RIG_GID" "$W" 60 "$CPK" stage out \
	"ok@storage:$D/dst/ok" 2>&1)
[[ $out == *"exit 0" ]] && [ "$(cat "$D/dst/ok" 2>/dev/null)" = open ] &&
	[ "$(stat -c %u "$D/dst/ok")" = "$RIG_UID" ]
tap_ok $? "cpk stage out as the user: its own file arrives, owned by it" || rig_log "$out"
out=$(timeout 120 "$SP" "$RIG_UID" "$RIG_GID" "$W" 60 "$CPK" stage out --max-size 4 \
	"ok@storage:$D/dst/ok4" 2>&1)
[[ $out == *"5 bytes to send, more than this cluster's max_size of 4: nothing sent"*"exit 1" ]] &&
	[ ! -e "$D/dst/ok4" ]
tap_ok $? "max_size: a stage-out one byte over is refused, nothing sent" || rig_log "$out"
out=$(timeout 120 "$SP" "$RIG_UID" "$RIG_GID" "$W" 60 "$CPK" stage out --max-size 5 \
	"ok@storage:$D/dst/ok5" 2>&1)
[[ $out == *"exit 0" ]] && [ -e "$D/dst/ok5" ]
tap_ok $? "max_size: exactly at the limit is sent" || rig_log "$out"
out=$(timeout 120 "$SP" "$RIG_UID" "$RIG_GID" "$W" 60 "$CPK" stage out \
	"$D/secret/f@storage:$D/dst/secret" 2>&1)
[[ $out == *"FAILED to storage:$D/dst/secret from $D/secret/f"*"Permission denied"*"exit 1" ]] &&
	[ ! -e "$D/dst/secret" ]
tap_ok $? "staging out a file only root can read fails, naming it" || rig_log "$out"

rig_stop_all
tap_done
