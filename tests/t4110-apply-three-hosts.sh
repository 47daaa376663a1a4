#!/bin/bash
# t4110: `cpk apply` makes three test hosts into a cluster (issue 14, the
# multi-host rig).  ctl, c1 and c2 are network namespaces on a private bridge
# (tests/rig/netns.sh).  The control role is applied into ctl's root and the
# compute role into c1's and c2's (with ctl's munge key, and ctl's generated
# certificate copied by hand as the docs say); each host then sees its root's
# files at the node paths (tests/rig/hosts.sh: overlays in a mount namespace
# of the host's own; the machine's /etc is never written) and runs the
# daemons from them: on ctl slapd (the applied slapd.conf, certificate and
# rootpw), `cpk ldap init`, munged, slurmctld and sssd; on c1 and c2 munged,
# slurmd, sssd (the LDAP client, StartTLS to ctl over the test network) and
# sshd with the applied drop-in (AuthorizedKeysCommand sss_ssh_authorizedkeys)
# and nsswitch.conf.  Then: a user added with `cpk user add` on ctl resolves
# on c1 (getent, id), logs in to c1 with the key stored in LDAP, runs srun and
# sbatch -N2 across c1 and c2 with the output in the home, and is refused
# once locked (sssd's access control); a second apply changes nothing on any
# host; a dry-run after an edit shows exactly the changed lines.  At the end
# nothing of the test is left.
#
# /home is one directory of the test bound over /home on all three hosts: it
# stands in for the NFS export and mounts the roles render, as no kernel NFS
# server can serve here (../shared/NOTES.md).
#
# Needs root.  Fails when a program it needs is missing (sssd itself comes
# from Debian's packages, unpacked: tests/rig/sssd.sh); skips when the kernel
# refuses the namespaces.  CPK is the cpk binary; CPK_KEEP=1 keeps the
# scratch dir.

here=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$here/.." && pwd)}
# shellcheck source=tests/rig/lib.sh
. "$here/rig/lib.sh"
# shellcheck source=tests/rig/netns.sh
. "$here/rig/netns.sh"
# shellcheck source=tests/rig/hosts.sh
. "$here/rig/hosts.sh"

RIG_NET_NEEDS=(munged munge unmunge slurmctld slurmd scontrol sinfo squeue scancel srun sbatch setpriv
	ssh ssh-keygen /usr/sbin/sshd /usr/sbin/slapd ldapsearch ldapwhoami perl timeout stat getent
	sha256sum apt-get dpkg)
rig_net_test_start "$0" "$@"

tap_plan 23
D=$RIG_DIR
# The machine's own files that the hosts see other versions of.
machine_files() {
	find /etc/nsswitch.conf /etc/hosts /etc/pam.d /etc/ssh /etc/slurm /etc/munge /etc/ldap /etc/sssd \
		/var/lib/ldap /var/lib/slurm /var/lib/munge /var/spool/slurmd /var/spool/slurmctld /home/alice \
		-maxdepth 2 -printf '%y %m %u %s %T@ %p\n' 2>&1 | sort
}
before=$(machine_files)
hosts_fetch_sssd || rig_stop_here "cannot fetch sssd's packages (apt-get download)"

# --- the network, the description, apply -------------------------------------
ok=0
rig_net_create && rig_host_add ctl 1 && rig_host_add c1 2 && rig_host_add c2 3 || ok=1
tap_ok $ok "three test hosts on a private bridge ($RIG_NET_PREFIX.0/24)" || rig_stop_here "no test network"
P=$RIG_NET_PREFIX
URI=ldap://$P.1:389/
BASE=dc=rig,dc=test
rig_host_facts || rig_stop_here "slurmd -C failed"
# Every path is the node's default: the hosts see their roots there.
{
	rig_yaml_head rig3 ctl "$P.1" 'c[1-2]' "$P.[2-3]"
	cat <<EOF
slurm:
  slurm_user: root
  proctrack: linuxproc
  task_plugins: [none]
  mpi_default: none
  extra: ["MinJobAge=3600"]
filesystems:
  - name: home
    export: /home
    clients: [$P.0/24]
ldap:
  uri: $URI
  base_dn: $BASE
  bind_dn: cn=admin,$BASE
  bind_password_file: /etc/clusterpack/ldap.secret
  ca_file: /etc/ldap/tls/slapd.crt
  tls: starttls
users:
  uid_range: 30000-39999
  gid_range: 20000-29999
EOF
} >"$D/cluster.yaml"
for h in ctl c1 c2; do
	{ install -d -m 0755 "$D/root-$h" && hosts_seed_root "$D/root-$h"; } || rig_stop_here "cannot make $h's root"
done
RC=$D/root-ctl
# apply HOST ARGS...: cpk apply into HOST's root; output in $D/apply-HOST.out.
apply() {
	local h=$1
	shift
	"$CPK" apply -f "$D/cluster.yaml" --root "$D/root-$h" --no-packages "$@" >"$D/apply-$h.out" 2>&1
}
apply_args() { [ "$1" = ctl ] && echo "--role control" || echo "--role compute --node $1 --munge-key $RC/etc/munge/munge.key"; }
ok=0
apply ctl --role control || ok=$?
for f in /etc/slurm/slurm.conf /etc/sssd/sssd.conf /etc/ldap/slapd.conf /etc/nsswitch.conf \
	/etc/ssh/sshd_config.d/clusterpack.conf /etc/munge/munge.key; do
	[ -s "$RC$f" ] || { rig_log "no $f in ctl's root"; ok=1; }
done
grep -qi pam_sss "$D/apply-ctl.out" && { rig_log "apply warns about PAM"; ok=1; }
tap_ok $ok "cpk apply --role control into ctl's root: slurm.conf, slapd, sssd, sshd drop-in, nsswitch.conf, munge key" ||
	{ rig_show_file "$D/apply-ctl.out" 40; rig_stop_here "no control root"; }
ok=0
for h in c1 c2; do
	# The certificate travels by hand (templates/README.md), to ldap.ca_file.
	install -D -m 0644 "$RC/etc/ldap/tls/slapd.crt" "$D/root-$h/etc/ldap/tls/slapd.crt" || ok=1
	# shellcheck disable=SC2046 # the arguments
	apply "$h" $(apply_args "$h") || { rig_show_file "$D/apply-$h.out" 40; ok=1; }
	cmp -s "$RC/etc/munge/munge.key" "$D/root-$h/etc/munge/munge.key" || { rig_log "$h: not ctl's munge key"; ok=1; }
	grep -q '^passwd:.* sss' "$D/root-$h/etc/nsswitch.conf" || { rig_log "$h: no sss in nsswitch.conf"; ok=1; }
done
tap_ok $ok "cpk apply --role compute --node c1 / c2 into their roots, with ctl's munge key" || rig_stop_here "no compute roots"
rig_lap "sssd packages, apply x3"

# --- the hosts see their roots ---------------------------------------------------
ok=0
install -d -m 0755 "$D/home" || ok=1
for h in ctl c1 c2; do
	rig_host_bind "$h" "$D/home" /home && hosts_node "$h" "$D/root-$h" || ok=1
done
[ "$ok" = 0 ] &&
	rig_host_exec c1 cmp -s /etc/slurm/slurm.conf "$D/root-c1/etc/slurm/slurm.conf" &&
	rig_host_exec ctl cmp -s /etc/ldap/slapd.conf "$RC/etc/ldap/slapd.conf" &&
	[ "$(rig_host_exec c2 getent hosts ctl | awk '{ print $1 }')" = "$P.1" ] &&
	rig_host_exec c1 test -x /usr/sbin/sssd -a -e /etc/ldap/schema/core.schema &&
	rig_host_exec c2 touch /home/.seen && [ -e "$D/home/.seen" ] && rm -f "$D/home/.seen"
tap_ok $? "each host sees its root's files at the node paths, the packages' files beside them, /home shared"

# --- ctl: slapd, ldap init, munged, slurmctld ----------------------------------
ok=0
hosts_slapd ctl "$RC" "$URI" || ok=1
who=$(rig_host_exec c1 timeout 10 ldapwhoami -ZZ -x -H "$URI" 2>&1)
[ "$ok" = 0 ] && [ "$who" = anonymous ]
tap_ok $? "slapd on ctl from the applied root; c1 reaches it with StartTLS, verified with the copied certificate" ||
	{ rig_log "ldapwhoami on c1: $who"; rig_stop_here "no slapd"; }
# cpk on ctl: CPK_CONFIG, as an admin would set it there.
on_ctl() { rig_host_exec ctl env CPK_CONFIG="$D/cluster.yaml" "$@"; }
on_ctl "$CPK" ldap init >"$D/init.out" 2>&1
tap_ok $? "cpk ldap init on ctl (the applied admin password file)" || { rig_show_file "$D/init.out"; rig_stop_here "no tree"; }
rig_lap "slapd, ldap init"
ok=0
for h in ctl c1 c2; do hosts_munged "$h" || ok=1; done
[ "$ok" = 0 ] && [ "$(rig_host_exec c1 munge -n | rig_host_exec c2 unmunge | awk '$1 == "STATUS:" { print $2 }')" = Success ]
tap_ok $? "munged on each host from its root (one key): a credential made on c1 decodes on c2" || rig_stop_here "no munged"
ok=0
hosts_slurmctld ctl "$RC" && rig_host_slurmd c1 "$D/root-c1/etc/slurm/slurm.conf" c1 /etc/slurm/slurm.conf &&
	rig_host_slurmd c2 "$D/root-c2/etc/slurm/slurm.conf" c2 /etc/slurm/slurm.conf || ok=1
tap_ok $ok "slurmctld on ctl, slurmd on c1 and c2, from the roots' slurm.conf: both nodes idle" || rig_stop_here "no Slurm"
rig_lap "munged, slurmctld, slurmd"

# --- accounts --------------------------------------------------------------------
ok=0
for h in ctl c1 c2; do hosts_sssd "$h" || ok=1; done
tap_ok $ok "sssd on ctl, c1 and c2 from the roots' sssd.conf" || rig_stop_here "no sssd"
ssh-keygen -q -t ed25519 -N '' -C alice -f "$D/alice" </dev/null || rig_stop_here "ssh-keygen"
on_ctl "$CPK" user add alice --ssh-key "$D/alice.pub" >"$D/add.out" 2>&1
ok=$?
AUID=$(stat -c %u "$D/home/alice" 2>/dev/null)
[ "$ok" = 0 ] && [ -n "$AUID" ] && [ "$AUID" -ge 30000 ]
tap_ok $? "cpk user add alice --ssh-key on ctl: her home in the shared /home, owned by her ($AUID)" ||
	{ rig_show_file "$D/add.out"; rig_stop_here "no user"; }
AGID=$(stat -c %g "$D/home/alice")
rig_poll 20 rig_host_exec c1 getent passwd alice
got="$(rig_host_exec c1 getent passwd alice | cut -d: -f1,3,4,6);$(rig_host_exec c1 id alice)"
tap_is "$got" "alice:$AUID:$AGID:/home/alice;uid=$AUID(alice) gid=$AGID(alice) groups=$AGID(alice)" \
	"on c1, getent passwd and id resolve alice through sssd (nsswitch.conf from the root)" ||
	rig_daemon_logs sssd-c1
rig_lap "sssd, user add, getent"

# --- ssh ---------------------------------------------------------------------------
# The drop-in first, as Debian's sshd_config includes it (sshd keeps the
# first value of a keyword); no authorized_keys files, so a key that works
# came from LDAP.
ok=0
for h in ctl c1 c2; do
	rig_host_sshd "$h" "Include /etc/ssh/sshd_config.d/clusterpack.conf
AuthorizedKeysFile none" || ok=1
done
eff=$(rig_host_exec c1 /usr/sbin/sshd -T -f "$D/hosts/c1/sshd/sshd_config" \
	-C user=alice,host=ctl,addr="$P.1" 2>&1 | grep -E '^(usepam|authorizedkeyscommand|authorizedkeyscommanduser|authorizedkeysfile) ' | sort | tr '\n' ';')
[ "$ok" = 0 ] && [ "$eff" = "authorizedkeyscommand /usr/bin/sss_ssh_authorizedkeys %u;authorizedkeyscommanduser nobody;authorizedkeysfile none;usepam yes;" ]
tap_ok $? "sshd on ctl, c1 and c2 with the applied drop-in: keys from sss_ssh_authorizedkeys as nobody, PAM" ||
	rig_log "sshd -T: $eff"
# login HOST: alice logs in to HOST from ctl with her key; prints "HOST alice".
login() {
	# shellcheck disable=SC2016 # expanded on the far side
	rig_host_exec ctl timeout 30 ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
		-o IdentityAgent=none -i "$D/alice" -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$D/known_hosts" -o GlobalKnownHostsFile=/dev/null \
		"alice@$1" 'echo $(hostname) $(id -un)' 2>"$D/ssh-$1.err"
}
got="$(login c1);$(login ctl)"
[ "$got" = "c1 alice;ctl alice" ] && [ ! -e "$D/home/alice/.ssh/authorized_keys" ] &&
	grep -q "Accepted publickey for alice" "$D/hosts/c1/sshd/sshd.log"
tap_ok $? "alice logs in to c1 (and ctl) over SSH with the key stored in LDAP (no authorized_keys file)" ||
	{ rig_log "got '$got'"; rig_show_file "$D/ssh-c1.err"; rig_show_file "$D/ssh-ctl.err"; rig_daemon_logs sshd-c1; }
rig_lap "sshd, ssh"

# --- jobs of the LDAP user -----------------------------------------------------------
as_alice() {
	rig_host_exec ctl setpriv --reuid="$AUID" --regid="$AGID" --init-groups \
		env HOME=/home/alice USER=alice LOGNAME=alice "$@"
}
got=$(as_alice timeout 60 srun -N2 -D /home/alice hostname 2>"$D/srun.err" | sort | tr '\n' ' ')
tap_is "$got" "c1 c2 " "srun -N2 hostname as alice (from ctl) runs on c1 and c2" || rig_show_file "$D/srun.err"
j=$(as_alice timeout 30 sbatch --parsable -N2 -J n2 --chdir=/home/alice -o /home/alice/n2.out \
	--wrap 'srun hostname | sort; id -un' 2>"$D/sbatch.err")
rig_tap_job "$j" "sbatch -N2 of alice" "$D/sbatch.err"
got="$(stat -c %u "$D/home/alice/n2.out" 2>/dev/null) $(tr '\n' ' ' <"$D/home/alice/n2.out" 2>/dev/null)"
tap_is "$got" "$AUID c1 c2 alice " "its output in alice's home: owned by her, from c1 and c2"
rig_lap "srun, sbatch -N2 as alice"

# --- locked ------------------------------------------------------------------------------
on_ctl "$CPK" user lock alice >"$D/lock.out" 2>&1
tap_ok $? "cpk user lock alice on ctl" || rig_show_file "$D/lock.out"
# sssd.conf has pam_initgroups_scheme = always and pam_id_timeout = 1:
# each login asks the directory (sssd's default, no_session, answered from
# its cache while alice had a session: logins 0.2 s apart kept her in).
# Logins right after the lock, 0.2 s apart: those within the second after
# her last PAM request may pass (at most the first three), then every one is
# refused, never again let in.
refused() { [ -z "$(login c1)" ] && grep -q "Access denied for user alice by PAM account configuration" \
	"$D/hosts/c1/sshd/sshd.log"; }
tries=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
	sleep 0.2
	if refused; then tries="$tries-"; else tries="$tries+"; fi
done
case $tries in
-* | +-* | ++-* | +++-*) ok=0 ;;
*) ok=1 ;;
esac
case $tries in *-*+*) ok=1 ;; esac
tap_ok $ok "locked, alice is refused on c1 by sssd's access control (PAM account), not for her key, within a second of 10 logins 0.2 s apart, never let in again ($tries)" ||
	{ rig_show_file "$D/ssh-c1.err"; rig_daemon_logs sshd-c1; }
rig_lap "lock"

# --- apply again, dry-run after an edit ------------------------------------------------------
ok=0
for h in ctl c1 c2; do
	hosts_tree "$D/root-$h" >"$D/tree-$h.1"
	# shellcheck disable=SC2046
	apply "$h" $(apply_args "$h") || ok=1
	grep -qx "nothing to change" "$D/apply-$h.out" || { rig_show_file "$D/apply-$h.out"; ok=1; }
	hosts_tree "$D/root-$h" >"$D/tree-$h.2"
	cmp -s "$D/tree-$h.1" "$D/tree-$h.2" || { rig_log "$h's root changed"; diff "$D/tree-$h.1" "$D/tree-$h.2" | head >&2; ok=1; }
done
tap_ok $ok "a second apply on ctl, c1 and c2: nothing to change, every root byte-identical"
sed -i 's/^    max_time: UNLIMITED$/    max_time: 2-00:00:00/' "$D/cluster.yaml"
old=$(grep '^PartitionName=debug ' "$RC/etc/slurm/slurm.conf")
new=${old/MaxTime=UNLIMITED/MaxTime=2-00:00:00}
ok=0
for h in ctl c1 c2; do
	# shellcheck disable=SC2046
	apply "$h" $(apply_args "$h") --dry-run || ok=1
	got=$(grep '^[-+]' "$D/apply-$h.out" | grep -v '^---\|^+++')
	if [ "$got" != "-$old
+$new" ] || ! grep -qx -- "--- /etc/slurm/slurm.conf" "$D/apply-$h.out"; then
		rig_log "$h: the diff:"
		rig_show_file "$D/apply-$h.out"
		ok=1
	fi
	hosts_tree "$D/root-$h" >"$D/tree-$h.3"
	cmp -s "$D/tree-$h.1" "$D/tree-$h.3" || { rig_log "the dry-run changed $h's root"; ok=1; }
done
tap_ok $ok "after max_time is edited, apply --dry-run on every host shows exactly the PartitionName line, touches nothing"
rig_lap "apply again, dry-run"

# --- stop ------------------------------------------------------------------------------------
rig_check_stopped "$D"
left=$(rig_net_leftovers)
tap_is "$left" "" "no namespace, mount, process or link of the test network is left"
tap_is "$(machine_files)" "$before" "the machine's /etc, /var and /home that the hosts saw otherwise: untouched"
rig_lap "stop"

tap_done
