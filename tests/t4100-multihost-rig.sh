#!/bin/bash
# t4100: the multi-host rig.  Three test hosts in network namespaces on a
# private bridge (tests/rig/netns.sh): ctl (slurmctld, sshd) and c1, c2
# (slurmd -N c1 / c2, sshd), each with its own address, host name and ports,
# and in a private mount namespace its own /etc/hosts and munged (one key, a
# socket of its own at the path slurm.conf names), c1 and c2 their own Slurm
# spool, run and log directories.  slurm.conf comes from `cpk render` of a small
# description with the namespaces' addresses.  Then: both nodes idle, srun -N2
# across both hosts, a batch job -N2 of the test user writing into its home,
# key logins of the test user over SSH from ctl to c1 and c2; at the end
# nothing of the test is left (processes, namespaces, links).
#
# Needs root.  Fails when a program it needs is missing; skips when the
# kernel refuses the namespaces.  CPK is the cpk binary; CPK_KEEP=1 keeps
# the scratch dir.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/rig/lib.sh
. "$here/rig/lib.sh"
# shellcheck source=tests/rig/netns.sh
. "$here/rig/netns.sh"

RIG_NET_NEEDS=(munged munge unmunge slurmctld slurmd scontrol sinfo squeue scancel srun sbatch setpriv
	ssh ssh-keygen /usr/sbin/sshd perl timeout stat)
rig_net_test_start "$0" "$@"

tap_plan 17
D=$RIG_DIR
H=$RIG_USER_HOME
# --- the network ------------------------------------------------------------
ok=0
rig_net_create && rig_host_add ctl 1 && rig_host_add c1 2 && rig_host_add c2 3 || ok=1
# The final check sees them now (it is not blind).
n=$(rig_net_leftovers | grep -c -e '^namespace ' -e ' in a namespace of the test$')
[ "$n" = 4 ] || { rig_log "rig_net_leftovers sees $n of the 4 namespaces:"; rig_net_leftovers >&2; ok=1; }
tap_ok $ok "three test hosts on a private bridge ($RIG_NET_PREFIX.0/24, namespaces $RIG_NET_ID-*)" ||
	rig_stop_here "no test network"
P=$RIG_NET_PREFIX
got=""
for h in ctl c1 c2; do
	got="$got$h: $(rig_host_exec "$h" hostname) $(rig_host_exec "$h" ip -4 -o addr show dev eth0 |
		awk '{ print $4 }') routes:$(rig_host_exec "$h" ip route show | awk '{ printf " %s", $1 }');"
done
tap_is "$got" "ctl: ctl $P.1/24 routes: $P.0/24;c1: c1 $P.2/24 routes: $P.0/24;c2: c2 $P.3/24 routes: $P.0/24;" \
	"each host has its name, its address, and no route but the test network"
got=$(ip -n "$RIG_NET_BR" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' ')
tap_is "$got" "br0 lo v-c1 v-c2 v-ctl " "the bridge's namespace has the bridge and the hosts' links only"
rig_lap network

# --- describe and render ----------------------------------------------------
rig_host_facts || rig_stop_here "slurmd -C failed"
# Ports need not be free ones: each host has its own.
rig_yaml "$D" netrig ctl "$P.1" 'c[1-2]' "$P.[2-3]" 6817 6818 >"$D/cluster.yaml" ||
	rig_stop_here "cannot write cluster.yaml"
"$CPK" render -f "$D/cluster.yaml" --role control --out "$D/etc" >"$D/render.out" 2>&1
rc=$?
conf=$D/etc/slurm.conf
[ "$rc" = 0 ] && [ -s "$conf" ] &&
	grep -qx "SlurmctldHost=ctl($P.1)" "$conf" &&
	grep -Eq "^NodeName=c\[1-2\] NodeAddr=$P\.\[2-3\] " "$conf"
if ! tap_ok $? "cpk render writes slurm.conf with SlurmctldHost=ctl($P.1) and NodeAddr=$P.[2-3]"; then
	rig_log "cpk render exited $rc"
	rig_show_file "$D/render.out"
	rig_show_file "$conf" 60
	rig_stop_here "no slurm.conf"
fi
chmod a+rx "$D/etc" || rig_stop_here "chmod"
# Every host has an /etc/hosts of its own that names the three; the compute
# hosts have their own spool, run and log directories.
ok=0
rig_net_slurm_hosts "$D" c1 c2 || ok=1
[ "$ok" = 0 ] && rig_host_exec c1 touch "$D/log/mine" && [ -e "$D/hosts/c1/log/mine" ] &&
	[ ! -e "$D/log/mine" ] && [ ! -e "$D/hosts/c2/log/mine" ] &&
	[ "$(rig_host_exec c1 getent hosts c2 | awk '{ print $1, $2 }')" = "$P.3 c2" ] &&
	[ "$(getent hosts c2 | awk '{ print $1 }')" != "$P.3" ]
tap_ok $? "own /etc/hosts on each host, own Slurm directories on c1 and c2 (the machine's untouched)"
rig_lap "render"

# --- daemons ----------------------------------------------------------------
ok=0
for h in ctl c1 c2; do
	rig_host_munge "$h" "$D" || ok=1
done
# Three daemons, each seen at the same path on its host only, one key: a
# credential made on c1 decodes on c2.
[ "$ok" = 0 ] && [ ! -e "$RIG_MUNGE_SOCKET" ] &&
	[ -S "$D/hosts/ctl/munge-run/munge.socket" ] && [ -S "$D/hosts/c1/munge-run/munge.socket" ] &&
	[ "$(rig_host_exec c1 munge -n -S "$RIG_MUNGE_SOCKET" | rig_host_exec c2 unmunge -S "$RIG_MUNGE_SOCKET" |
		awk '$1 == "STATUS:" { print $2 }')" = Success ]
tap_ok $? "a munged of its own on each host, one key: a credential made on c1 decodes on c2" ||
	rig_stop_here "no munged"
rig_host_slurmctld ctl "$conf"
tap_ok $? "slurmctld on ctl answers scontrol ping from ctl's namespace" || rig_stop_here "no slurmctld"
rig_lap "munged, slurmctld"
ok=0
rig_host_slurmd c1 "$conf" && rig_host_slurmd c2 "$conf" || ok=1
tap_ok $ok "slurmd -N c1 on c1 and slurmd -N c2 on c2 register" || rig_stop_here "no slurmd"
rig_lap "slurmd c1, c2"
got=$(rig_host_exec c2 timeout 10 sinfo -h -N -o '%N %T' 2>&1 | sed 's/-$//' | sort | tr '\n' ' ')
tap_is "$got" "c1 idle c2 idle " "sinfo (run on c2) shows both nodes idle"

# --- jobs -------------------------------------------------------------------
got=$(rig_host_exec ctl timeout 60 srun -N2 hostname 2>"$D/srun.err" | sort | tr '\n' ' ')
tap_is "$got" "c1 c2 " "srun -N2 hostname from ctl runs on c1 and c2" || rig_show_file "$D/srun.err"
rig_lap "srun -N2"
j=$(cd "$H" && rig_host_user ctl timeout 30 sbatch --parsable -N2 -J n2 --chdir="$H" -o "$H/n2.out" \
	--wrap 'srun hostname | sort; id -un' 2>"$D/sbatch.err")
rig_tap_job "$j" "batch job -N2 of $RIG_USER" "$D/sbatch.err"
got="$(stat -c %u "$H/n2.out" 2>/dev/null) $(tr '\n' ' ' <"$H/n2.out" 2>/dev/null)"
tap_is "$got" "$RIG_UID c1 c2 $RIG_USER " "its output in $RIG_USER's home: owned by it, from c1 and c2"
rig_lap "sbatch -N2 as $RIG_USER"

# --- ssh --------------------------------------------------------------------
ok=0
rig_host_sshd c1 && rig_host_sshd c2 || ok=1
tap_ok $ok "sshd on c1 and on c2 listen on port 22 of their addresses" || rig_stop_here "no sshd"
for h in c1 c2; do
	# shellcheck disable=SC2016 # expanded on the far side
	got=$(rig_host_user ctl timeout 30 ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
		-o IdentityAgent=none -i "$H/.ssh/id_ed25519" -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$D/known_hosts" -o GlobalKnownHostsFile=/dev/null \
		"$RIG_USER@$h" 'echo $(hostname) $(id -un)' 2>"$D/ssh-$h.err")
	tap_is "$got" "$h $RIG_USER" "ssh $RIG_USER@$h from ctl: a key login" || {
		rig_show_file "$D/ssh-$h.err"
		rig_daemon_logs "sshd-$h"
	}
done
rig_lap "sshd, ssh"

# --- stop -------------------------------------------------------------------
rig_check_stopped "$D"
left=$(rig_net_leftovers)
tap_is "$left" "" "no namespace, mount, process or link of the test network is left"
rig_lap "stop"

tap_done
