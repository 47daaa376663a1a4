#!/bin/sh
# cpk apply: both roles of every example into scratch roots; files, modes,
# owners; a second run changes nothing (byte-identical tree); --dry-run
# shows exactly the edited lines and touches nothing; a foreign file is
# backed up once; planted symlinks are refused and nothing outside is
# touched; an unwritable directory fails with every file whole; bad
# role/node are clear errors; packages from ROOT's dpkg status (and the
# machine's own, read only, with --root / --dry-run); services said.
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
scratch

run() { "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; echo $?; }
# every file and directory: type, mode, owner, sha256 (manifest included)
tree() { (cd "$1" && find . -printf '%y %m %u %p\n' | sort &&
	find . -type f -exec sha256sum {} + | sort -k2); }

for ex in examples/*.yaml; do
	name=$(basename "$ex" .yaml)
	node=$("$CPK" validate -f "$ex" --dump 2>/dev/null | sed -n 's/^ *- *names: *\([a-z]*\)\[\([0-9]*\).*/\1\2/p' | head -1)
	for role in control compute; do
		R="$SCRATCH/$name-$role"
		mkdir "$R"
		set -- --role "$role"
		[ "$role" = compute ] && [ -n "$node" ] && set -- "$@" --node "$node"
		is "$(run "$CPK" apply -f "$ex" "$@" --root "$R" --no-packages)" 0 "$name $role: applied"
		is "$(stat -c '%a %U' "$R/etc/slurm/slurm.conf")" "644 root" "$name $role: slurm.conf 0644 root"
		"$CPK" render -f "$ex" "$@" --out "$SCRATCH/ref-$name-$role" -q
		cmp -s "$R/etc/slurm/slurm.conf" "$SCRATCH/ref-$name-$role/slurm.conf"
		ok $? "$name $role: slurm.conf is the rendered one"
		cmp -s "$R/etc/hosts" "$SCRATCH/ref-$name-$role/hosts"; ok $? "$name $role: /etc/hosts rendered"
		if [ -f "$SCRATCH/ref-$name-$role/sssd.conf" ]; then
			is "$(stat -c '%a %U' "$R/etc/sssd/sssd.conf" "$R/etc/sssd")" "600 root
711 root" "$name $role: sssd.conf 0600 root in a 0711 dir"
			[ -f "$R/etc/ldap/ldap.conf" ]; ok $? "$name $role: ldap.conf"
		fi
		if [ "$role" = control ]; then
			is "$(stat -c '%a %s' "$R/etc/munge/munge.key")" "400 1024" "$name control: munge key made, 0400"
			[ -f "$R/etc/exports" ]; ok $? "$name control: /etc/exports"
		else
			[ ! -e "$R/etc/munge/munge.key" ]; ok $? "$name compute: no munge key without --munge-key"
			grep -q "missing, left alone (give the control node's with --munge-key FILE)" "$SCRATCH/out"
			ok $? "$name compute: says the key is left alone"
		fi
		grep -q "^new *$R" "$SCRATCH/out"; [ $? -ne 0 ]; ok $? "$name $role: paths shown inside the root, not with it"
		tree "$R" > "$SCRATCH/tree1"
		is "$(run "$CPK" apply -f "$ex" "$@" --root "$R" --no-packages)" 0 "$name $role: second run"
		grep -qx "nothing to change" "$SCRATCH/out"; ok $? "$name $role: second run: nothing to change"
		tree "$R" > "$SCRATCH/tree2"
		cmp -s "$SCRATCH/tree1" "$SCRATCH/tree2"; ok $? "$name $role: byte-identical tree after the second run"
	done
done

# the LAM profile (mdx-gpu names one): LAM's config directory, 0600, owned
# by the root's www-data (apache runs LAM as that user)
R="$SCRATCH/lam"
mkdir -p "$R/etc"
printf 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n' >"$R/etc/passwd"
is "$(run "$CPK" apply -f examples/mdx-gpu.yaml --role control --root "$R" --no-packages)" 0 "mdx-gpu control with a www-data user: applied"
"$CPK" render -q -f examples/mdx-gpu.yaml --role control --out "$SCRATCH/ref-lam"
cmp -s "$R/var/lib/ldap-account-manager/config/mdx.conf" "$SCRATCH/ref-lam/lam.conf"
ok $? "  the LAM profile is /var/lib/ldap-account-manager/config/mdx.conf"
if [ "$(id -u)" = 0 ]; then
	is "$(stat -c '%a %u:%g' "$R/var/lib/ldap-account-manager/config/mdx.conf")" "600 33:33" "  0600, owned by www-data"
else
	is "$(stat -c '%a' "$R/var/lib/ldap-account-manager/config/mdx.conf")" 600 "  0600 (not root: owned by the caller)"
fi
is "$(stat -c '%a %u' "$R/etc/slurm/slurm.conf")" "644 $(id -u)" "  the other files stay root's (the caller's)"

# Logins of LDAP users (both roles, with an ldap section).  sshd's drop-in,
# read by the real sshd through this machine's own (Debian's) sshd_config,
# whose Include of sshd_config.d comes first: the drop-in wins even over a
# later "UsePAM no".
R="$SCRATCH/small-cpu-compute"
D="$R/etc/ssh/sshd_config.d"
is "$(cat "$D/clusterpack.conf" 2>/dev/null | grep -v '^#')" "UsePAM yes
AuthorizedKeysCommand /usr/bin/sss_ssh_authorizedkeys %u
AuthorizedKeysCommandUser nobody" "sshd_config.d/clusterpack.conf: keys from sssd, PAM on"
sed "s|^Include /etc/ssh/sshd_config.d/\*\.conf|Include $D/*.conf|" /etc/ssh/sshd_config >"$SCRATCH/sshd_config"
echo "UsePAM no" >>"$SCRATCH/sshd_config"
grep -q "^Include $D/\*\.conf" "$SCRATCH/sshd_config"; ok $? "  Debian's sshd_config includes sshd_config.d/*.conf"
ssh-keygen -q -t ed25519 -N '' -f "$SCRATCH/hostkey"
got=$(/usr/sbin/sshd -T -f "$SCRATCH/sshd_config" -h "$SCRATCH/hostkey" 2>"$SCRATCH/err" |
	grep -E '^(usepam|authorizedkeyscommand|authorizedkeyscommanduser) ' | sort)
is "$got" "authorizedkeyscommand /usr/bin/sss_ssh_authorizedkeys %u
authorizedkeyscommanduser nobody
usepam yes" "  sshd -T: the drop-in's values are sshd's" || cat "$SCRATCH/err" >&2

# NFS: a systemd mount unit per filesystem the node mounts (/etc/fstab, the
# admin's, is not rewritten), in /etc/systemd/system
is "$(grep -v '^#' "$R/etc/systemd/system/home.mount" 2>&1)" "[Unit]
Description=/home (home) from head:/home, for clusterpack
Wants=network-online.target
After=network-online.target

[Mount]
What=head:/home
Where=/home
Type=nfs
Options=defaults,_netdev

[Install]
WantedBy=remote-fs.target" "the compute node mounts /home by a systemd mount unit"
[ ! -e "$R/etc/fstab" ]; ok $? "  /etc/fstab untouched"
if command -v systemd-analyze >/dev/null; then
	# systemd's own reading of the unit (offline: no running systemd needed)
	systemd-analyze verify --man=no "$R/etc/systemd/system/home.mount" >"$SCRATCH/verify" 2>&1
	grep -v -e 'Failed to prepare filename' -e "Command .* not found" -e '^$' "$SCRATCH/verify" |
		grep -i "home.mount" >"$SCRATCH/verify.bad"
	[ ! -s "$SCRATCH/verify.bad" ]; ok $? "  systemd-analyze verify finds nothing wrong in it" ||
		cat "$SCRATCH/verify" >&2
else
	tap_n=$((tap_n + 1))
	echo "ok $tap_n # SKIP systemd-analyze is not installed (the unit is compared as text above)"
fi

# nsswitch.conf: none in the root: Debian's defaults with sss; the node's own
# is edited, not replaced (backed up once), and a second run leaves it
is "$(grep -E '^(passwd|group|shadow|hosts):' "$R/etc/nsswitch.conf" | tr -s ' ')" "passwd: files sss
group: files sss
shadow: files sss
hosts: files dns" "nsswitch.conf made: sss for passwd, group, shadow"
R="$SCRATCH/nss"
mkdir -p "$R/etc/pam.d"
printf '# site file\npasswd:   files systemd\ngroup: files systemd # local\nshadow: files\nhosts: files mdns4_minimal [NOTFOUND=return] dns\nautomount: files\n' >"$R/etc/nsswitch.conf"
cp "$R/etc/nsswitch.conf" "$SCRATCH/nss.orig"
printf 'account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so\naccount\t[default=bad success=ok user_unknown=ignore]\tpam_sss.so\n' >"$R/etc/pam.d/common-account"
run "$CPK" apply -f examples/small-cpu.yaml --role compute --root "$R" --no-packages >/dev/null
grep -q "^foreign */etc/nsswitch.conf (backed up to /etc/nsswitch.conf.cpk-orig)" "$SCRATCH/out"
ok $? "the node's nsswitch.conf: foreign, backed up" || cat "$SCRATCH/out" >&2
cmp -s "$R/etc/nsswitch.conf.cpk-orig" "$SCRATCH/nss.orig"; ok $? "  the backup is the original"
is "$(diff "$SCRATCH/nss.orig" "$R/etc/nsswitch.conf" | grep '^[<>]')" "< passwd:   files systemd
< group: files systemd # local
< shadow: files
> passwd:   files systemd sss
> group: files systemd sss # local
> shadow: files sss" "  only sss added: comments, hosts and automount kept"
grep -q "WARNING:.*pam_sss" "$SCRATCH/out"; [ $? -ne 0 ]; ok $? "  pam_sss in common-account: no warning"
run "$CPK" apply -f examples/small-cpu.yaml --role compute --root "$R" --no-packages >/dev/null
grep -qx "nothing to change" "$SCRATCH/out"; ok $? "  a second run: nothing to change"
run "$CPK" apply -f examples/small-cpu.yaml --role compute --root "$SCRATCH/small-cpu-compute" --no-packages >/dev/null
grep -q "^WARNING: /etc/pam.d/common-account has no pam_sss: sshd will not ask sssd whether an LDAP account is locked" "$SCRATCH/out"
ok $? "no pam_sss in the root: a warning that a locked user with a key would get in"
if [ "$(id -u)" = 0 ]; then
	# glibc itself reads the edited file (libnss_sss need not be here:
	# glibc skips a source it cannot load)
	got=$(unshare -m --propagation private sh -c \
		'mount --bind "$1" /etc/nsswitch.conf && getent passwd root' sh "$R/etc/nsswitch.conf" 2>&1)
	is "$got" "$(getent passwd root)" "  glibc reads it: getent passwd root through it"
else
	tap_n=$((tap_n + 1))
	echo "ok $tap_n # SKIP glibc's own reading needs root (a mount namespace)"
fi

# packages: ROOT's dpkg status says which are installed; with --root not /
# nothing is installed or started, apply says what it would do
R="$SCRATCH/small-cpu-compute"
mkdir -p "$R/var/lib/dpkg"
printf 'Package: munge\nStatus: install ok installed\nVersion: 0.5\n\nPackage: slurmd\nStatus: install ok half-installed\n\nPackage: openssh-server\nArchitecture: amd64\nStatus: hold ok installed' >"$R/var/lib/dpkg/status"
is "$(run "$CPK" apply -f examples/small-cpu.yaml --role compute --root "$R")" 0 "compute into a root with a dpkg status"
is "$(grep '^packages' "$SCRATCH/out")" "packages: already installed: munge openssh-server
packages: would install (--root is not /: not installed): slurmd slurm-client nfs-common sssd-ldap libnss-sss libpam-sss" \
	"  installed from its status (held counts; half-installed does not), the rest would be installed"
grep -q "^services: systemd does not run here.*would start: home.mount munge sssd ssh slurmd" "$SCRATCH/out"; ok $? "  services said, not started"
# nothing is run: the only program executed is cpk itself
if command -v strace >/dev/null; then
	strace -f -qq -e trace=execve -e signal=none -o "$SCRATCH/execs" "$CPK" apply -f examples/small-cpu.yaml --role compute --root "$R" >/dev/null 2>&1
	is "$(grep -c 'execve(' "$SCRATCH/execs")" 1 "  no program run (no apt-get, debconf, systemctl): one execve, cpk's own"
else
	echo "not ok $((tap_n + 1)) - strace is needed to see that nothing is run"; tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1))
fi
grep -q "^ldap:" "$SCRATCH/out"; [ $? -ne 0 ]; ok $? "  compute: nothing about the LDAP tree"
run "$CPK" apply -f examples/small-cpu.yaml --role compute --root "$R" --no-packages >/dev/null
grep -q "^packages" "$SCRATCH/out"; [ $? -ne 0 ]; ok $? "--no-packages: nothing about packages"
run "$CPK" apply -f examples/small-cpu.yaml --role compute --root "$R" --dry-run >/dev/null
grep -q "^packages: would install (--root is not /: not installed): slurmd " "$SCRATCH/out"; ok $? "--dry-run: the same"
R="$SCRATCH/no-dpkg"; mkdir "$R"
run "$CPK" apply -f examples/mdx-gpu.yaml --role control --root "$R" --dry-run >/dev/null
grep -q "^packages: $R has no /var/lib/dpkg/status: none counted as installed" "$SCRATCH/out"; ok $? "no status file: said"
grep -q "^packages: would install .*: munge .* openssh-server ldap-account-manager$" "$SCRATCH/out"
ok $? "  control with ldap.lam_profile: ldap-account-manager too"
grep -qx "ldap: run cpk ldap init once slapd runs (apply did not run it)" "$SCRATCH/out"; ok $? "  control with ldap: says to run cpk ldap init"
mkdir -p "$R/var/lib/dpkg"; ln -s /var/lib/dpkg/status "$R/var/lib/dpkg/status"
is "$(run "$CPK" apply -f examples/mdx-gpu.yaml --role control --root "$R" --dry-run)" 1 "a symlinked status file: refused"
grep -q "/var/lib/dpkg/status is a symbolic link" "$SCRATCH/err"; ok $? "  and says why"

# --root / --dry-run reads this machine's real dpkg status (read only): the
# same answer as dpkg-query, package by package
if command -v dpkg-query >/dev/null; then
	for role in control compute; do
		is "$(run "$CPK" apply -f examples/small-cpu.yaml --role "$role" --root / --dry-run)" 0 "--root / --dry-run --role $role"
		want_in=; want_out=
		for p in $("$CPK" apply --role "$role" --list-packages); do
			case $(dpkg-query -W -f '${Status}' "$p" 2>/dev/null) in
			*" ok installed") want_in="$want_in $p" ;;
			*) want_out="$want_out $p" ;;
			esac
		done
		got_in=$(sed -n 's/^packages: already installed://p' "$SCRATCH/out")
		got_out=$(sed -n 's/^packages: would install://p' "$SCRATCH/out")
		is "$got_in|$got_out" "$want_in|$want_out" "  $role: installed and missing as dpkg-query says"
		grep -q "^services: systemd does not run here" "$SCRATCH/out" || [ -d /run/systemd/system ]
		ok $? "  $role: no systemd here: services said, not started"
	done
else
	echo "not ok $((tap_n + 1)) - dpkg-query is needed to check the real status"; tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1))
fi

# --list-packages: the one list (lib/apply/roles.c), one per line, no
# description needed; the same names an apply into an empty root would install
for role in control compute; do
	is "$(run "$CPK" apply --role "$role" --list-packages)" 0 "--list-packages --role $role"
	cp "$SCRATCH/out" "$SCRATCH/list-$role"
	mkdir "$SCRATCH/list-root-$role"
	run "$CPK" apply -f examples/small-cpu.yaml --role "$role" --root "$SCRATCH/list-root-$role" --dry-run >/dev/null
	is "$(sed -n 's/^packages: would install ([^)]*): //p' "$SCRATCH/out" | tr ' ' '\n')" "$(cat "$SCRATCH/list-$role")" \
		"  $role: the packages apply would install, one per line"
done
grep -qx slurmctld "$SCRATCH/list-control" && ! grep -qx slurmd "$SCRATCH/list-control"; ok $? "  control: slurmctld, no slurmd"
grep -qx slurmd "$SCRATCH/list-compute" && ! grep -qx slurmctld "$SCRATCH/list-compute"; ok $? "  compute: slurmd, no slurmctld"
is "$(run "$CPK" apply --list-packages)" 2 "--list-packages without --role: usage error"
is "$(run "$CPK" apply --role control --list-packages --root /tmp)" 2 "--list-packages with another option: usage error"
grep -q "takes only --role" "$SCRATCH/err"; ok $? "  and says why"

# a compute node's key from --munge-key
R="$SCRATCH/small-cpu-compute"
"$CPK" munge-key --key "$SCRATCH/key" --create --owner root >/dev/null
is "$(run "$CPK" apply -f examples/small-cpu.yaml --role compute --root "$R" --munge-key "$SCRATCH/key")" 0 "--munge-key installs the key"
cmp -s "$SCRATCH/key" "$R/etc/munge/munge.key"; ok $? "the same key"
is "$(stat -c '%a' "$R/etc/munge/munge.key" "$R/etc/munge")" "400
700" "key 0400 in a 0700 dir"
grep -q "$(head -c 16 "$SCRATCH/key" | od -An -tx1 | tr -d ' \n' | head -c 8)" "$SCRATCH/out"; [ $? -ne 0 ]
ok $? "the key's bytes are not printed"

# --dry-run after an edit: exactly the changed lines, nothing touched
R="$SCRATCH/small-cpu-control"
mkdir "$SCRATCH/d"
cp examples/small-cpu.yaml "$SCRATCH/d/cluster.yaml"
"$CPK" apply -f "$SCRATCH/d/cluster.yaml" --role control --root "$R" >/dev/null
sed -i 's/max_time: 2-00:00:00/max_time: 3-00:00:00/' "$SCRATCH/d/cluster.yaml"
tree "$R" > "$SCRATCH/tree1"
is "$(run "$CPK" apply -f "$SCRATCH/d/cluster.yaml" --role control --root "$R" --dry-run)" 0 "dry-run after an edit"
tree "$R" > "$SCRATCH/tree2"
cmp -s "$SCRATCH/tree1" "$SCRATCH/tree2"; ok $? "dry-run touched nothing"
grep '^[-+]' "$SCRATCH/out" | grep -v '^---\|^+++' > "$SCRATCH/lines"
old=$(grep -h PartitionName "$R/etc/slurm/slurm.conf")
new=$(printf '%s\n' "$old" | sed 's/MaxTime=2-00:00:00/MaxTime=3-00:00:00/')
is "$(grep -c . "$SCRATCH/lines")" 2 "the diff: one line out, one in"
is "$(cat "$SCRATCH/lines")" "-$old
+$new" "the diff shows exactly the edited line"
grep -q "^--- /etc/slurm/slurm.conf$" "$SCRATCH/out" && grep -q "^+++ /etc/slurm/slurm.conf$" "$SCRATCH/out"
ok $? "with ---/+++ headers naming the target"
grep -q "^@@ -[0-9]*,[0-9]* +[0-9]*,[0-9]* @@$" "$SCRATCH/out"; ok $? "and an @@ hunk header"
grep -q "^would write changed   /etc/slurm/slurm.conf$" "$SCRATCH/out"; ok $? "lists the file it would change"
is "$(run "$CPK" apply -f "$SCRATCH/d/cluster.yaml" --role control --root "$R")" 0 "apply the edit"
grep -q "^changed   /etc/slurm/slurm.conf$" "$SCRATCH/out"; ok $? "lists the changed file"
grep -q "MaxTime=3-00:00:00" "$R/etc/slurm/slurm.conf"; ok $? "the edit is in"
[ ! -e "$R/etc/slurm/slurm.conf.cpk-orig" ]; ok $? "apply's own file is not backed up"

# a foreign file is backed up once
R="$SCRATCH/foreign"
mkdir -p "$R/etc"
printf '127.0.0.1 localhost\n10.0.0.9 mine\n' > "$R/etc/hosts"
cp "$R/etc/hosts" "$SCRATCH/hosts.orig"
is "$(run "$CPK" apply -f examples/small-cpu.yaml --role control --root "$R")" 0 "apply over a foreign /etc/hosts"
grep -q "^foreign   /etc/hosts (backed up to /etc/hosts.cpk-orig)$" "$SCRATCH/out"; ok $? "names the backup"
cmp -s "$R/etc/hosts.cpk-orig" "$SCRATCH/hosts.orig"; ok $? "the backup holds the original"
echo "10.0.0.10 edited" >> "$R/etc/hosts"
is "$(run "$CPK" apply -f examples/small-cpu.yaml --role control --root "$R")" 0 "apply over a hand-edited file"
grep -q "^foreign   /etc/hosts (/etc/hosts.cpk-orig already kept the original)$" "$SCRATCH/out"; ok $? "says the original is kept"
cmp -s "$R/etc/hosts.cpk-orig" "$SCRATCH/hosts.orig"; ok $? "the first backup is never overwritten"
is "$(ls "$R/etc" | grep -c cpk-orig)" 1 "one backup"

# symlinks planted in a target path are refused; nothing outside is touched
out="$SCRATCH/outside"
mkdir -p "$out/slurm"
echo keep > "$out/slurm/slurm.conf"
echo keep > "$out/hosts"
R="$SCRATCH/linkdir"; mkdir -p "$R/etc"; ln -s "$out/slurm" "$R/etc/slurm"
is "$(run "$CPK" apply -f examples/small-cpu.yaml --role control --root "$R")" 1 "symlinked target dir: exit 1"
grep -q "/etc/slurm is a symbolic link: refusing to follow it" "$SCRATCH/err"; ok $? "and says why"
R="$SCRATCH/linketc"; mkdir -p "$R"; ln -s "$out" "$R/etc"
is "$(run "$CPK" apply -f examples/small-cpu.yaml --role control --root "$R")" 1 "symlinked /etc: exit 1"
grep -q "/etc is a symbolic link: refusing to follow it" "$SCRATCH/err"; ok $? "and says why"
R="$SCRATCH/linkfile"; mkdir -p "$R/etc"; ln -s "$out/hosts" "$R/etc/hosts"
is "$(run "$CPK" apply -f examples/small-cpu.yaml --role control --root "$R")" 1 "symlinked target file: exit 1"
grep -q "/etc/hosts is a symbolic link: refusing to replace it" "$SCRATCH/err"; ok $? "and says why"
is "$(run "$CPK" apply -f examples/small-cpu.yaml --role control --root "$R" --dry-run)" 1 "also in --dry-run"
is "$(cat "$out/hosts" "$out/slurm/slurm.conf"; { ls "$out"; ls "$out/slurm"; } | tr '\n' ' ')" "keep
keep
hosts slurm slurm.conf " "nothing outside the root touched"
[ ! -e "$SCRATCH/linkdir/var" ] && [ ! -e "$SCRATCH/linketc/var" ]; ok $? "refused before writing anything"

# an unwritable directory: a clean failure, every file whole
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	R="$SCRATCH/ro"; mkdir "$R"; chmod 0777 "$R"
	"$CPK" apply -f examples/small-cpu.yaml --role control --root "$R" >/dev/null
	chown -R 65534:65534 "$R"; chmod 0555 "$R/etc/slurm"
	chmod 0711 "$SCRATCH"; mkdir -m 0755 "$SCRATCH/pub"	# nobody reads the description
	cp "$SCRATCH/d/cluster.yaml" "$SCRATCH/pub/cluster.yaml"
	tree "$R" > "$SCRATCH/tree1"
	is "$(run setpriv --reuid=65534 --regid=65534 --clear-groups "$CPK" apply -f "$SCRATCH/pub/cluster.yaml" --role control --root "$R")" 1 "unwritable directory: exit 1"
	grep -q "cannot create a temporary file beside /etc/slurm/slurm.conf: Permission denied" "$SCRATCH/err"; ok $? "and says why"
	tree "$R" > "$SCRATCH/tree2"
	cmp -s "$SCRATCH/tree1" "$SCRATCH/tree2"; ok $? "every file whole and unchanged, no temporary left"
else
	echo "not ok $((tap_n + 1)) - unwritable directory test needs root and setpriv"; tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1))
fi

# bad role, bad node
is "$(run "$CPK" apply -f examples/small-cpu.yaml --role login --root "$SCRATCH")" 2 "bad role: usage error"
grep -q "unknown role 'login' (expected control or compute)" "$SCRATCH/err"; ok $? "and says why"
is "$(run "$CPK" apply -f examples/small-cpu.yaml --role compute --node nosuch --root "$SCRATCH/foreign")" 1 "bad node: exit 1"
grep -q "'nosuch' is not a compute node of cluster small" "$SCRATCH/err"; ok $? "and says why"
is "$(run "$CPK" apply -f examples/small-cpu.yaml --root "$SCRATCH")" 2 "no role: usage error"
is "$(run "$CPK" apply -f examples/small-cpu.yaml --role control --root "$SCRATCH/nosuchdir")" 1 "missing root: exit 1"
grep -q "cannot open the root directory" "$SCRATCH/err"; ok $? "and says why"

done_testing
