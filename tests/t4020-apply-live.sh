#!/bin/sh
# cpk apply on a "live" root without touching this machine: a chroot whose
# / is a scratch directory holding cpk, its libraries, /bin/sh and fake
# /usr/bin/apt-get, debconf-set-selections and systemctl (shell scripts that
# log their argv, environment and stdin), and /run/systemd/system
# (tests/rig/live.sh).  Checks:
# apt-get gets exactly the missing packages by argv with DEBIAN_FRONTEND=
# noninteractive, after the slapd debconf preseed only when slapd is missing;
# a file a package's postinst wrote is foreign (backed up, replaced) and
# users it made own their files (the plan is made after the packages);
# services enabled+started in the table's order, running ones left alone,
# restarted when their files change; a failing apt-get or systemctl is a
# clear error, files stay whole.
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
scratch

if [ "$(id -u)" != 0 ] || ! command -v chroot >/dev/null || ! command -v ldd >/dev/null ||
	! command -v unshare >/dev/null; then
	echo "1..0 # SKIP needs root, chroot, unshare and ldd (a chroot stands in for a live system)"
	exit 0
fi

. "$TOP/tests/rig/live.sh"
R="$SCRATCH/live"
live_root "$R" || { echo "Bail out! cannot make the chroot"; exit 1; }
# a compute node of small-cpu with its packages half there
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'Package: slurmd\nStatus: install ok installed\n\nPackage: openssh-server\nStatus: install ok installed\n' >"$R/var/lib/dpkg/status"
cp examples/small-cpu.yaml "$R/cluster.yaml"
"$CPK" munge-key --key "$SCRATCH/key" --create --owner root >/dev/null
cp "$SCRATCH/key" "$R/munge.key"; chmod 0400 "$R/munge.key"
echo active >"$R/run/state-ssh"; : >"$R/run/enabled-ssh"	# sshd already runs

run() { live_apply "$R" -f /cluster.yaml "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; echo $?; }
tree() { (cd "$R" && find etc var -printf '%y %m %u %p\n' | sort && find etc var -type f -exec sha256sum {} + | sort -k2); }

# a failing apt-get: a clear error, nothing written
: >"$R/fail-apt"
tree >"$SCRATCH/tree1"
is "$(run --role compute --node cpu01 --munge-key /munge.key)" 1 "apt-get fails: exit 1"
grep -q "apt-get install failed (exit 100): Reading package lists...$" "$SCRATCH/err" &&
	grep -qx "E: Unable to locate package sssd-ldap" "$SCRATCH/err"; ok $? "  says so with apt-get's last lines"
tree >"$SCRATCH/tree2"
cmp -s "$SCRATCH/tree1" "$SCRATCH/tree2"; ok $? "  no file written"
grep -q '^systemctl' "$R/log/calls"; [ $? -ne 0 ]; ok $? "  no service touched"
rm "$R/fail-apt" "$R/log/calls"

is "$(run --role compute --node cpu01 --munge-key /munge.key)" 0 "first apply on the live root"
is "$(grep -v '^systemctl' "$R/log/calls")" "apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold munge slurm-client nfs-common sssd-ldap libnss-sss libpam-sss DEBIAN_FRONTEND=noninteractive" \
	"  apt-get: exactly the missing packages, noninteractive; no slapd preseed on compute"
is "$(grep '^packages' "$SCRATCH/out")" "packages: already installed: slurmd openssh-server
packages: installing (apt-get): munge slurm-client nfs-common sssd-ldap libnss-sss libpam-sss
packages: installed: munge slurm-client nfs-common sssd-ldap libnss-sss libpam-sss" "  says what it installs"
grep -qx "foreign   /etc/ldap/ldap.conf (backed up to /etc/ldap/ldap.conf.cpk-orig)" "$SCRATCH/out"
ok $? "  the package's ldap.conf is foreign: backed up and replaced"
is "$(cat "$R/etc/ldap/ldap.conf.cpk-orig")" "# from libldap-common" "  the backup holds the package's file"
is "$(stat -c '%u:%g %a' "$R/etc/munge/munge.key")" "104:107 400" "  the munge key is owned by the munge user the package made"
is "$(grep '^systemctl' "$R/log/calls" | grep -v '^systemctl is-')" "systemctl daemon-reload
systemctl enable home.mount
systemctl start home.mount
systemctl enable munge
systemctl start munge
systemctl enable sssd
systemctl start sssd
systemctl reload ssh
systemctl enable slurmd
systemctl start slurmd" "  units enabled and started in order (the NFS mount first, after systemd read it); running ssh reloaded (its drop-in is new)"
is "$(grep '^service' "$SCRATCH/out")" "service home.mount         start, enabled
service munge              start, enabled
service sssd               start, enabled
service ssh                reload
service slurmd             start, enabled" "  each action reported"
grep -q '^ldap:' "$SCRATCH/out"; [ $? -ne 0 ]; ok $? "  compute: nothing about the LDAP tree"

# a second run: no package, no file, no service action
: >"$R/log/calls"
is "$(run --role compute --node cpu01 --munge-key /munge.key)" 0 "second apply"
grep -qx "nothing to change" "$SCRATCH/out"; ok $? "  nothing to change"
is "$(grep -v '^systemctl is-' "$R/log/calls")" "" "  no apt-get, no systemctl action"
is "$(grep -c 'leave running' "$SCRATCH/out")" 5 "  every unit left running"

# --dry-run after an edit: says, does nothing
sed -i 's/max_time: 2-00:00:00/max_time: 3-00:00:00/' "$R/cluster.yaml"
: >"$R/log/calls"
is "$(run --role compute --node cpu01 --munge-key /munge.key --dry-run)" 0 "--dry-run after an edit"
grep -qx "service slurmd             would restart" "$SCRATCH/out"; ok $? "  would restart slurmd"
is "$(grep -v '^systemctl is-' "$R/log/calls")" "" "  nothing run"

# the edit applied: slurmd restarted, a failing restart is an error after whole files
: >"$R/fail-slurmd"
is "$(run --role compute --node cpu01 --munge-key /munge.key)" 1 "a failing restart: exit 1"
grep -q "systemctl restart slurmd failed (exit 1; see journalctl -u slurmd): Job for slurmd.service failed.$" "$SCRATCH/err"
ok $? "  says which and why"
grep -q "MaxTime=3-00:00:00" "$R/etc/slurm/slurm.conf"; ok $? "  the files are installed (whole)"
rm "$R/fail-slurmd"
: >"$R/log/calls"
is "$(run --role compute --node cpu01 --munge-key /munge.key)" 0 "the next run"
grep -qx "nothing to change" "$SCRATCH/out"; ok $? "  finds the files in place"
is "$(grep -v '^systemctl is-' "$R/log/calls")" "systemctl start slurmd" \
	"  and starts slurmd, which the failed restart left inactive (so it reads the new files)"

# a dynamic node (a nodes.d fragment): its slurmd drop-in is new, so
# systemd reads it (daemon-reload) before slurmd restarts
mkdir -p "$R/nodes.d"
printf 'nodes:\n  - {names: dyn1, cpus: 4, dynamic: true}\n' >"$R/nodes.d/dyn.yaml"
: >"$R/log/calls"
is "$(run --role compute --node dyn1 --munge-key /munge.key)" 0 "a dynamic node"
grep -q "^new  *\/etc\/systemd\/system\/slurmd.service.d\/clusterpack-dynamic.conf$" "$SCRATCH/out"
ok $? "  its slurmd drop-in is written"
is "$(grep -v '^systemctl is-' "$R/log/calls")" "systemctl daemon-reload
systemctl restart slurmd" "  daemon-reload, then slurmd restarted (its drop-in changed)"

# the control role (mdx-gpu: LAM too): slapd preseeded before apt-get; a
# slapd that fails to start stops apply before the LDAP tree, after munge
R="$SCRATCH/live-control"
live_root "$R" || { echo "Bail out! cannot make the chroot"; exit 1; }
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
cp examples/mdx-gpu.yaml "$R/cluster.yaml"
: >"$R/fail-slapd"
is "$(run --role control)" 1 "control: slapd does not start: exit 1"
is "$(grep -v '^systemctl' "$R/log/calls")" "debconf slapd slapd/no_configuration boolean true
apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold munge slurmctld slurm-client slapd ldap-utils nfs-kernel-server sssd-ldap libnss-sss libpam-sss openssh-server ldap-account-manager DEBIAN_FRONTEND=noninteractive" \
	"  debconf preseeded (no dc=nodomain database), then apt-get with slapd and ldap-account-manager"
is "$(grep '^systemctl' "$R/log/calls" | grep -v '^systemctl is-')" "systemctl enable munge
systemctl start munge
systemctl enable slapd
systemctl start slapd" "  munge started, slapd tried, nothing after it"
grep -q "systemctl start slapd failed (exit 1; see journalctl -u slapd): Job for slapd.service failed.$" "$SCRATCH/err"
ok $? "  says which and why"
grep -qx "service munge              start, enabled" "$SCRATCH/out"; ok $? "  reports what was done"
grep -q "^ldap:\|^created cn=idpool" "$SCRATCH/out"; [ $? -ne 0 ]; ok $? "  no LDAP tree attempted"
[ -s "$R/etc/ldap/slapd.conf" ] && [ -s "$R/etc/slurm/slurm.conf" ]; ok $? "  the files are installed"

done_testing
