#!/bin/bash
# t4210: cpk node add joins new VMs to a running cluster over SSH.  Test
# hosts in network namespaces (tests/rig/netns.sh): ctl runs slurmctld of a
# description with no compute node (`nodes: []`); c1 and c2 run an sshd
# that lets root in with a key.  `cpk node add` on ctl writes the node's
# fragment, checks the host key and the node's munge key, sends the
# description and the key, runs `cpk apply --role compute` there (into a
# root of the node's own: --apply-root, as the machine's / must not change)
# and waits for slurmctld to have the node; the rig stands in for systemd
# and starts slurmd from the applied drop-in (-Z and its --conf) once it
# is there.  Bad input (no sshd, a wrong host key, another cluster's munge
# key) is refused with nothing changed.  Then srun -N2 spans both, and
# `cpk node list` agrees with sinfo.
#
# Needs root.  Fails when a program it needs is missing; skips when the
# kernel refuses the namespaces.  CPK is the cpk binary.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/rig/lib.sh
. "$here/rig/lib.sh"
# shellcheck source=tests/rig/netns.sh
. "$here/rig/netns.sh"

RIG_NET_NEEDS=(munged munge slurmctld slurmd scontrol sinfo squeue scancel srun ssh-keygen
	/usr/sbin/sshd sha256sum install perl timeout)
rig_net_test_start "$0" "$@"

tap_plan 17
D=$RIG_DIR
Y=$D/cluster.yaml

if ! { rig_net_create && rig_host_add ctl 1 && rig_host_add c1 2 && rig_host_add c2 3; }; then
	rig_stop_here "no test network"
fi
P=$RIG_NET_PREFIX
rig_host_facts || rig_stop_here "slurmd -C failed"
cpus=$((RIG_SOCKETS * RIG_CORES * RIG_THREADS))

# --- the control host alone ---------------------------------------------------
# (partition late has no static node: dynamic ones join it by naming it)
rig_yaml "$D" addrig ctl "$P.1" x "$P.9" 6817 6818 |
	awk '/^nodes:/ { print "nodes: []"; skip = 1; next } /^partitions:/ { skip = 0 } !skip
		/^    max_time: UNLIMITED/ && !done { print "  - name: late"; print "    max_time: UNLIMITED"; done = 1 }' \
		>"$Y" ||
	rig_stop_here "cannot write cluster.yaml"
"$CPK" render -q -f "$Y" --role control --out "$D/etc" 2>"$D/render.err" ||
	{ rig_show_file "$D/render.err"; rig_stop_here "cpk render failed"; }
chmod a+rx "$D/etc"
ok=0
rig_net_slurm_hosts "$D" c1 c2 && install -d -m 0755 "$D/hosts/c1/root" "$D/hosts/c2/root" || ok=1
for h in ctl c1 c2; do
	rig_host_munge "$h" "$D" || ok=1
done
[ "$ok" = 0 ] && rig_host_slurmctld ctl "$D/etc/slurm.conf"
tap_ok $? "slurmctld on ctl with no compute node (nodes: [])" || rig_stop_here "no slurmctld"

# root logs in to c1 and c2 with a key of the test (not the machine's /root)
ssh-keygen -q -t ed25519 -N '' -C cpk-node-add -f "$D/nodekey" || rig_stop_here "ssh-keygen"
for h in c1 c2; do
	install -m 0600 "$D/nodekey.pub" "$D/hosts/$h/root_keys"
done
printf 'Host *\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  BatchMode yes\n' \
	"$D/nodekey" "$D/known_hosts" >"$D/ssh_config"
# (sshd's StrictModes refuses a key file under /tmp, which anyone may write)
head_of() {
	printf 'PermitRootLogin prohibit-password\nStrictModes no\nAuthorizedKeysFile %s\nSubsystem sftp internal-sftp\n' \
		"$D/hosts/$1/root_keys"
}

# add NAME ADDR [ARGS...]: cpk node add on ctl, output in $D/add-NAME.out
# (with --detect first among ARGS: the hardware read from the node)
add() {
	local n=$1 a=$2 hw=(--cpus "$cpus" --mem "$RIG_MEMORY")
	shift 2
	[ "${1:-}" = --detect ] && hw=()
	rig_host_exec ctl "$CPK" node add "$n" --addr "$a" "${hw[@]}" \
		-F "$D/ssh_config" --remote-cpk "$CPK" --apply-root "$D/hosts/$n/root" --wait 60 \
		-f "$Y" "$@" >"$D/add-$n.out" 2>&1
}
# unchanged: nodes.d and Slurm's node list as they were
state() { ls -A "$D/nodes.d" 2>/dev/null | tr '\n' ' '; rig_host_exec ctl sinfo -h -N -o '%N' 2>&1 | tr '\n' ' '; }

# --- bad input: nothing changes -----------------------------------------------
before=$(state)
add c2 "$P.3"
rc=$?
[ "$rc" = 1 ] && grep -q "node c2 not added: .*; nothing changed" "$D/add-c2.out" && [ "$(state)" = "$before" ]
tap_ok $? "no sshd on c2: refused, nothing changed (no fragment, Slurm as before)" || rig_show_file "$D/add-c2.out"

rig_host_sshd c2 "$(head_of c2)" || rig_stop_here "no sshd on c2"
# a wrong host key for c2
sed "s|$D/known_hosts|$D/bad_known_hosts|" "$D/ssh_config" >"$D/bad_ssh_config"
ssh-keygen -q -t ed25519 -N '' -f "$D/otherhost" && printf '%s %s\n' "$P.3" "$(cut -d' ' -f1,2 "$D/otherhost.pub")" >"$D/bad_known_hosts"
rig_host_exec ctl "$CPK" node add c2 --addr "$P.3" --cpus "$cpus" -F "$D/bad_ssh_config" \
	--remote-cpk "$CPK" --apply-root "$D/hosts/c2/root" -f "$Y" >"$D/badkey.out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -qi "host key" "$D/badkey.out" && grep -q "nothing changed" "$D/badkey.out" &&
	[ "$(state)" = "$before" ] && [ -z "$(ls -A "$D/hosts/c2/root")" ]
tap_ok $? "a wrong host key for c2: refused before anything runs there, nothing changed" ||
	rig_show_file "$D/badkey.out"
# another cluster's munge key on c2
install -d -m 0700 "$D/hosts/c2/root$D/munge" && head -c 1024 /dev/urandom >"$D/hosts/c2/root$D/munge/munge.key"
add c2 "$P.3"
rc=$?
[ "$rc" = 1 ] && grep -q "already has a munge key .* of another cluster" "$D/add-c2.out" &&
	[ "$(state)" = "$before" ] && [ ! -e "$D/hosts/c2/root/etc/clusterpack" ]
tap_ok $? "c2 holds another cluster's munge key: refused, nothing changed" || rig_show_file "$D/add-c2.out"
rm -rf "${D:?}/hosts/c2/root$D"

# --- c1 joins -----------------------------------------------------------------
rig_host_sshd c1 "$(head_of c1)" || rig_stop_here "no sshd on c1"
# join NAME ADDR [ARGS...]: cpk node add in the background; once apply wrote the
# drop-in there, start slurmd from it (systemd's part); wait for add
join() {
	local n=$1 a=$2 r=$D/hosts/$1/root dropin apid val conf
	dropin=$r/etc/systemd/system/slurmd.service.d/clusterpack-dynamic.conf
	add "$n" "$a" "${@:3}" &
	apid=$!
	rig_poll 60 test -s "$dropin" || { wait "$apid"; return 1; }
	val=$(sed -n 's/^ExecStart=.* --conf "\([^"]*\)".*/\1/p' "$dropin")
	conf=$r$D/etc/slurm.conf
	rig_host_slurmd "$n" "$conf" "$n" "" -Z --conf "$val" || { wait "$apid"; return 1; }
	wait "$apid"
}
join c1 "$P.2"
rc=$?
[ "$rc" = 0 ] && grep -qx "node c1 added" "$D/add-c1.out" && grep -q "^c1 joined: idle in slurmctld" "$D/add-c1.out"
tap_ok $? "cpk node add c1: joined, idle in slurmctld" || rig_show_file "$D/add-c1.out"
got="$(sed -n 's/^ *\(dynamic\|partitions\): //p' "$D/nodes.d/c1.yaml" | tr '\n' ' ')"
tap_is "$got" "true " "its fragment nodes.d/c1.yaml: a dynamic node"
r=$D/hosts/c1/root
got="$(stat -c '%a' "$r$D/munge/munge.key" 2>&1) $(cmp -s "$r$D/munge/munge.key" "$D/munge/munge.key" && echo same)"
got="$got $(cmp -s "$r/etc/clusterpack/cluster.yaml" "$Y" && echo same) $(ls -A "$r/etc/clusterpack" | tr '\n' ' ')"
tap_is "$got" "400 same same cluster.yaml fstab nodes.d " \
	"on c1: the cluster's munge key (0400), the description; the key's copy removed"
got=$(cmp -s "$r/etc/clusterpack/nodes.d/c1.yaml" "$D/nodes.d/c1.yaml" && echo same)
tap_is "$got" same "on c1: the fragments, as on ctl"
got=$(rig_host_exec ctl timeout 60 srun -N1 -w c1 hostname 2>"$D/srun1.err")
tap_is "$got" c1 "srun -w c1 hostname runs on c1" || rig_show_file "$D/srun1.err"

# --- apply fails on c2: the fragment goes again ---------------------------------
before=$(state)
rig_host_exec ctl "$CPK" node add c2 --addr "$P.3" --cpus "$cpus" -F "$D/ssh_config" \
	--remote-cpk /bin/false --apply-root "$D/hosts/c2/root" -f "$Y" >"$D/fail.out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "cpk apply --role compute on $P.3 failed (exit 1)" "$D/fail.out" &&
	grep -q "its fragment is removed again" "$D/fail.out" && [ "$(state)" = "$before" ] &&
	[ ! -e "$D/hosts/c2/root/etc/clusterpack/.join-munge.key" ]
tap_ok $? "apply fails on c2: error, fragment removed, Slurm as before, no key copy left there" ||
	rig_show_file "$D/fail.out"

# --- c2 joins partition late too ---------------------------------------------------
join c2 "$P.3" --detect --partition late
tap_ok $? "cpk node add c2 --detect --partition late: joined" || rig_show_file "$D/add-c2.out"
got="$(grep -o "^detected on $P.3: .*" "$D/add-c2.out") / $(sed -n 's/^ *\(cpus\|memory\): //p' "$D/nodes.d/c2.yaml" | tr '\n' ' ')"
tap_is "$got" "detected on $P.3: $RIG_CPUS CPUs ($RIG_SOCKETS x $RIG_CORES x $RIG_THREADS), $RIG_REALMEM MiB, 0 GPUs / $RIG_CPUS $RIG_REALMEM " \
	"--detect: slurmd -C on c2 (no nvidia-smi there: no GPUs), into its fragment"
got=$(rig_host_exec ctl timeout 60 srun -N2 hostname 2>"$D/srun2.err" | sort | tr '\n' ' ')
tap_is "$got" "c1 c2 " "srun -N2 hostname runs on c1 and c2" || rig_show_file "$D/srun2.err"
got=$(rig_host_exec ctl timeout 10 sinfo -h -p late -N -o '%N' 2>&1 | tr '\n' ' ')
tap_is "$got" "c2 " "c2 is in partition late (its NodeSet), c1 is not"
got=$(rig_host_exec ctl "$CPK" node list -f "$Y" --slurm-conf "$D/etc/slurm.conf" 2>&1 | awk 'NR > 1 { print $1, $5 }' | sort | tr '\n' ';')
want=$(rig_host_exec ctl sinfo -h -N -o '%N' | sort -u | awk '{ printf "%s ok;", $1 }')
tap_is "$got $want" "c1 ok;c2 ok; c1 ok;c2 ok;" "cpk node list agrees with sinfo: c1 and c2, both described and known"

rig_check_stopped "$D"
tap_is "$(rig_net_leftovers)" "" "no namespace, mount, process or link of the test is left"
tap_done
