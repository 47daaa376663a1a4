#!/bin/bash
# t4220: cpk node del removes nodes from a running cluster.  Test hosts in
# network namespaces (tests/rig/netns.sh): ctl runs slurmctld; c0 is a
# static node of cluster.yaml itself; c1 and c2 are dynamic nodes whose
# fragments `cpk node add --no-join` wrote, their slurmd -Z started from
# the rendered drop-in's --conf (as t4120); c3 is a static node of a
# fragment written by hand.  c1 and c3 run an sshd; c2 has none
# (unreachable).  c1 sees, in its own mount namespace, a /run/systemd/system
# and a stand-in /usr/bin/systemctl that only records its arguments (the
# machine's are never touched): `cpk node del` stops and disables slurmd
# there through it.  c3 is deleted with --apply-root (its files under a root
# of its own, not the live system: nothing is stopped).
#   - bad input (an unknown node, c0 of cluster.yaml, a bad name): refused,
#     nothing changed in nodes.d/ or Slurm;
#   - del c1 while a job runs there: drained, the job finishes (COMPLETED
#     0:0), then c1 is gone from Slurm and nodes.d/; cpk node list agrees
#     with sinfo at each step;
#   - del c2 --wait 2 with jobs there: the wait runs out, c2 stays drained,
#     its fragment stays; del c2 --force: the requeueable batch job is
#     requeued, the other cancelled; c2 is unreachable: still deleted and
#     its fragment removed, and said that slurmd was not stopped there;
#   - del c3 (static): left drained in Slurm, fragment removed.
#
# Needs root.  Fails when a program it needs is missing; skips when the
# kernel refuses the namespaces.  CPK is the cpk binary.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/rig/lib.sh
. "$here/rig/lib.sh"
# shellcheck source=tests/rig/netns.sh
. "$here/rig/netns.sh"

RIG_NET_NEEDS=(munged munge slurmctld slurmd scontrol sinfo squeue scancel sbatch ssh-keygen
	/usr/sbin/sshd perl timeout)
rig_net_test_start "$0" "$@"

tap_plan 19
D=$RIG_DIR
Y=$D/cluster.yaml

if ! { rig_net_create && rig_host_add ctl 1 && rig_host_add c0 2 && rig_host_add c1 3 &&
	rig_host_add c2 4 && rig_host_add c3 5; }; then
	rig_stop_here "no test network"
fi
P=$RIG_NET_PREFIX
rig_host_facts || rig_stop_here "slurmd -C failed"
cpus=$((RIG_SOCKETS * RIG_CORES * RIG_THREADS))

# --- the cluster: c0 of cluster.yaml, c1 c2 dynamic, c3 static of a fragment ----
rig_yaml "$D" delrig ctl "$P.1" c0 "$P.2" 6817 6818 >"$Y" || rig_stop_here "cannot write cluster.yaml"
ok=0
for n in c1:3 c2:4; do
	"$CPK" node add "${n%:*}" --addr "$P.${n#*:}" --cpus "$cpus" --mem "$RIG_MEMORY" --no-join \
		-f "$Y" >>"$D/add.out" 2>&1 || ok=1
done
cat >"$D/nodes.d/c3.yaml" <<EOF || ok=1
nodes:
  - names: c3
    addresses: $P.5
    sockets: $RIG_SOCKETS
    cores_per_socket: $RIG_CORES
    threads_per_core: $RIG_THREADS
    memory: $RIG_MEMORY
EOF
"$CPK" render -q -f "$Y" --role control --out "$D/etc" 2>>"$D/render.err" || ok=1
for n in c1 c2; do
	"$CPK" render -q -f "$Y" --role compute --node "$n" --out "$D/$n" 2>>"$D/render.err" || ok=1
done
[ "$ok" = 0 ] || { rig_show_file "$D/add.out"; rig_show_file "$D/render.err"; rig_stop_here "no files"; }
conf=$D/etc/slurm.conf
# the --conf of a node's rendered drop-in
dynconf() { sed -n 's/^ExecStart=.* --conf "\([^"]*\)".*/\1/p' "$D/$1/slurmd-dynamic.conf"; }
chmod a+rx "$D/etc" || rig_stop_here "chmod"
rig_net_slurm_hosts "$D" c0 c1 c2 c3 || ok=1
# c1's systemd: a /run/systemd/system and a systemctl that records "$@"
install -d -m 0755 "$D/hosts/c1/systemd/system" &&
	printf '#!/bin/sh
echo "$*" >>%s/hosts/c1/systemctl.log
' "$D" >"$D/hosts/c1/systemctl" &&
	chmod 0755 "$D/hosts/c1/systemctl" && [ -d /run/systemd ] && [ -x /usr/bin/systemctl ] &&
	rig_host_bind c1 "$D/hosts/c1/systemd" /run/systemd &&
	rig_host_bind c1 "$D/hosts/c1/systemctl" /usr/bin/systemctl ||
	rig_stop_here "cannot give c1 a stand-in systemd (needs /run/systemd and /usr/bin/systemctl to bind over)"
for h in ctl c0 c1 c2 c3; do
	rig_host_munge "$h" "$D" || ok=1
done
[ "$ok" = 0 ] || rig_stop_here "host set-up failed"
rig_host_slurmctld ctl "$conf" && rig_host_slurmd c0 "$conf" && rig_host_slurmd c3 "$conf" &&
	rig_host_slurmd c1 "$conf" c1 "" -Z --conf "$(dynconf c1)" &&
	rig_host_slurmd c2 "$conf" c2 "" -Z --conf "$(dynconf c2)"
tap_ok $? "slurmctld; c0 and c3 static, c1 and c2 dynamic (slurmd -Z): all idle" ||
	rig_stop_here "no cluster"

# root logs in to c1 and c3 with a key of the test; c2 has no sshd
ssh-keygen -q -t ed25519 -N '' -C cpk-node-del -f "$D/nodekey" || rig_stop_here "ssh-keygen"
printf 'Host *\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  BatchMode yes\n  ConnectTimeout 10\n' \
	"$D/nodekey" "$D/known_hosts" >"$D/ssh_config"
for h in c1 c3; do
	install -m 0600 "$D/nodekey.pub" "$D/hosts/$h/root_keys" && install -d -m 0755 "$D/hosts/$h/root" ||
		rig_stop_here "keys"
	rig_host_sshd "$h" "$(printf 'PermitRootLogin prohibit-password\nStrictModes no\nAuthorizedKeysFile %s\nSubsystem sftp internal-sftp\n' \
		"$D/hosts/$h/root_keys")" || rig_stop_here "no sshd on $h"
done

# del NAME [ARGS...]: cpk node del on ctl, output in $D/del-NAME.out
del() {
	local n=$1
	shift
	rig_host_exec ctl "$CPK" node del "$n" -F "$D/ssh_config" -f "$Y" --slurm-conf "$conf" "$@" \
		>"$D/del-$n.out" 2>&1
}
# the state: nodes.d, and each node's state in Slurm
state() {
	ls -A "$D/nodes.d" | tr '\n' ' '
	rig_host_exec ctl sinfo -h -N -o '%N %T' 2>&1 | sort -u | tr '\n' ' '
}
# cpk node list agrees with sinfo: the same nodes in the same states
# (polled: a job may end between the two looks)
# shellcheck disable=SC2317 # called through rig_poll
agree1() {
	a=$(rig_host_exec ctl "$CPK" node list -f "$Y" --slurm-conf "$conf" 2>/dev/null |
		awk 'NR > 1 && $2 != "-" { print $1, $2 }' | sort | tr '\n' ';')
	b=$(rig_host_exec ctl sinfo -h -N -o '%N %T' 2>&1 | sort -u | tr '\n' ';')
	[ "$a" = "$b" ]
}
agree() { rig_poll 20 agree1 || { rig_log "cpk node list: $a"; rig_log "sinfo: $b"; return 1; }; }
job_field() { rig_host_exec ctl scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# --- bad input: nothing changes ---------------------------------------------------
before=$(state)
del ghost
rc=$?
[ "$rc" = 1 ] && grep -q "node ghost not removed: .*neither described .* nor known to slurmctld" \
	"$D/del-ghost.out" && [ "$(state)" = "$before" ]
tap_ok $? "del ghost (unknown): refused, nothing changed" || rig_show_file "$D/del-ghost.out"
del c0
rc=$?
[ "$rc" = 1 ] && grep -q "node c0 not removed: .*described in .*cluster.yaml, not in its own fragment" \
	"$D/del-c0.out" && [ "$(state)" = "$before" ]
tap_ok $? "del c0 (of cluster.yaml itself): refused, nothing changed (c0 not drained)" ||
	rig_show_file "$D/del-c0.out"
rig_host_exec ctl "$CPK" node del ../c1 -f "$Y" --slurm-conf "$conf" >"$D/del-bad.out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "node ../c1 not removed: node name .*; nothing changed" "$D/del-bad.out" && [ "$(state)" = "$before" ]
tap_ok $? "del ../c1 (a bad name): refused, nothing changed" || rig_show_file "$D/del-bad.out"
agree
tap_ok $? "cpk node list agrees with sinfo: $b"

# --- del c1 while a job runs there ----------------------------------------------
j=$(rig_host_exec ctl timeout 30 sbatch --parsable -w c1 -N1 --mem=1 -o /dev/null --wrap 'sleep 12' 2>"$D/sbatch.err")
j=${j%%;*}
# shellcheck disable=SC2317 # called through rig_poll
running() { [ "$(rig_host_exec ctl squeue -h -j "$1" -o %T 2>/dev/null)" = RUNNING ]; }
[ -n "$j" ] && rig_poll 30 running "$j"
tap_ok $? "job ${j:-?} runs on c1" || rig_show_file "$D/sbatch.err"
del c1 --wait 120 &
dpid=$!
# shellcheck disable=SC2317
c1_draining() { [ "$(rig_host_exec ctl sinfo -h -n c1 -o %T 2>/dev/null)" = draining ]; }
rig_poll 20 c1_draining && agree && kill -0 "$dpid" 2>/dev/null && [ -e "$D/nodes.d/c1.yaml" ] &&
	running "$j"
tap_ok $? "c1 draining while its job runs, del waits, fragment still there; node list agrees: $b"
wait "$dpid"
rc=$?
got="$rc $(job_field "$j" JobState) $(job_field "$j" ExitCode)"
tap_is "$got" "0 COMPLETED 0:0" "del c1 ends after the job completed (0:0)" || rig_show_file "$D/del-c1.out"
got=$(tr '\n' ';' <"$D/hosts/c1/systemctl.log" 2>&1)
[ "$got" = "stop slurmd;disable --quiet slurmd;" ] &&
	grep -q "c1 deleted from slurmctld (a dynamic node)" "$D/del-c1.out" &&
	grep -qx "slurmd stopped and disabled on $P.3" "$D/del-c1.out" &&
	grep -qx "node c1 removed" "$D/del-c1.out" && ! grep -q warning "$D/del-c1.out"
tap_ok $? "del c1 says: deleted (dynamic); systemctl stop, then disable slurmd ran on c1 ($got)" ||
	rig_show_file "$D/del-c1.out"
rig_daemon_stop slurmd-c1	# what systemd would have done: the rig started that slurmd
got="$(state)"
tap_is "$got" "c2.yaml c3.yaml c0 idle c2 idle c3 idle " "c1 is gone from Slurm and from nodes.d/"
agree
tap_ok $? "cpk node list agrees with sinfo: $b"

# --- c2: the wait runs out; then --force on an unreachable node ------------------------
j1=$(rig_host_exec ctl timeout 30 sbatch --parsable -w c2 -N1 -n1 --mem=1 --requeue -o /dev/null --wrap 'sleep 600' 2>>"$D/sbatch.err")
j2=$(rig_host_exec ctl timeout 30 sbatch --parsable -w c2 -N1 -n1 --mem=1 --no-requeue -o /dev/null --wrap 'sleep 600' 2>>"$D/sbatch.err")
j1=${j1%%;*} j2=${j2%%;*}
[ -n "$j1" ] && [ -n "$j2" ] && rig_poll 30 running "$j1" && rig_poll 30 running "$j2"
tap_ok $? "jobs $j1 (requeueable) and $j2 (not) run on c2" || rig_show_file "$D/sbatch.err"
del c2 --wait 2
rc=$?
got="$rc $(rig_host_exec ctl sinfo -h -n c2 -o %T 2>&1) $(ls "$D/nodes.d" | tr '\n' ' ')"
[ "$got" = "1 draining c2.yaml c3.yaml " ] &&
	grep -q "node c2 not removed: 2 jobs (first: [0-9]*) still on c2 after 2 s: c2 stays drained and its fragment is kept" "$D/del-c2.out"
tap_ok $? "del c2 --wait 2: the wait runs out; c2 stays drained (draining), fragment kept: $got" ||
	rig_show_file "$D/del-c2.out"
del c2 --force
rc=$?
got="$rc $(job_field "$j2" JobState) $(job_field "$j1" Restarts) $(state)"
[ "$got" = "0 CANCELLED 1 c3.yaml c0 idle c3 idle " ] ||
	[ "${got%% c3.yaml*}" = "0 CANCELLED 1" ]	# j1 may run again on c0 or c3
tap_ok $? "del c2 --force: $j1 requeued, $j2 cancelled; c2 gone from Slurm and nodes.d/ ($got)" ||
	rig_show_file "$D/del-c2.out"
grep -q "job $j1 requeued" "$D/del-c2.out" && grep -q "job $j2 cancelled (it cannot be requeued: not a batch job, or --no-requeue)" "$D/del-c2.out" &&
	grep -q "warning: slurmd could not be stopped on c2: " "$D/del-c2.out" && grep -qx "node c2 removed" "$D/del-c2.out" &&
	[ "$(rig_host_exec ctl sinfo -h -N -o %N 2>&1 | grep -c c2)" = 0 ]
tap_ok $? "del c2 --force says which job was requeued and which cancelled, and that c2 was unreachable" ||
	rig_show_file "$D/del-c2.out"
rig_host_exec ctl scancel "$j1" 2>/dev/null
rig_daemon_stop slurmd-c2

# --- c3: a static node of a fragment ---------------------------------------------------
del c3 --apply-root "$D/hosts/c3/root"
rc=$?
got="$rc $(rig_host_exec ctl sinfo -h -n c3 -o %T 2>&1) $(ls -A "$D/nodes.d" | tr '\n' ' ')"
[ "$got" = "0 drained " ] && grep -q "c3 is a static node .*left drained, not deleted" "$D/del-c3.out" &&
	grep -qx "node c3 removed from the description; left drained in Slurm (a static node)" "$D/del-c3.out" &&
	grep -q "warning: slurmd not stopped on c3: its files are under $D/hosts/c3/root there, not the live system" "$D/del-c3.out"
tap_ok $? "del c3 (static, of a fragment): left drained in Slurm, fragment removed; --apply-root: slurmd left alone: $got" ||
	rig_show_file "$D/del-c3.out"
got=$(rig_host_exec ctl "$CPK" node list -f "$Y" --slurm-conf "$conf" 2>/dev/null | awk 'NR > 1 { print $1, $2, $5 }' | tr '\n' ';')
tap_is "$got" "c0 idle ok;c3 drained not-described;" "cpk node list: c3 drained in Slurm, no longer described"

rig_check_stopped "$D"
tap_is "$(rig_net_leftovers)" "" "no namespace, mount, process or link of the test is left"
tap_done
