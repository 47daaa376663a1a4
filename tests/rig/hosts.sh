# tests/rig/hosts.sh: test hosts (tests/rig/netns.sh) that run a node's
# daemons from a root that `cpk apply --root ROOT` filled, at the paths they
# have on a node (bash).  Source it after lib.sh and netns.sh:
#
#     . "$here/rig/hosts.sh"
#     hosts_seed_root ROOT         # what Debian's packages leave in /etc
#     cpk apply --role ... --root ROOT ...
#     rig_host_bind NAME DIR /home # shared directories, before:
#     hosts_node NAME ROOT         # the host now sees ROOT as its node files
#     hosts_munged NAME; hosts_slapd NAME ROOT URI; hosts_slurmctld NAME ROOT
#     hosts_sssd NAME; rig_host_slurmd ...; rig_host_sshd ...
#
# hosts_node gives the host one mount namespace for the whole test
# (rig_host_mntns) where ROOT's /etc lies over the machine's (a read-only
# overlay: ROOT's files win, the packages' files, such as /etc/ldap/schema
# and /etc/pam.d/sshd, show through), ROOT's /var likewise under an upper
# layer of the rig's own (RIG_DIR/hosts/NAME/var.up: state, spool and logs
# the daemons write; ROOT stays as apply left it), /run is a tmpfs of its
# own, and sssd's unpacked packages (tests/rig/sssd.sh) lie over /usr.  So
# every daemon reads the applied files at their node paths (/etc/slurm,
# /etc/munge, /etc/ldap, /etc/sssd, /etc/nsswitch.conf, /etc/ssh/...) and
# the machine's own /etc, /var, /usr and /run are never written.
#
# The daemons run as root (a node runs munged as munge, slapd as openldap:
# the root has no such users).  Every one is a rig daemon (lib.sh): stopped
# by pid at clean-up.
#
# shellcheck shell=bash

if [ -z "${RIG_NETNS_LOADED:-}" ]; then
	echo "tests/rig/hosts.sh: source tests/rig/lib.sh and tests/rig/netns.sh first" >&2
	# shellcheck disable=SC2317
	return 1 2>/dev/null || exit 1
fi
[ -n "${RIG_HOSTS_LOADED:-}" ] && return 0
RIG_HOSTS_LOADED=1

# hosts_fetch_sssd: sssd's packages, unpacked (sssd.sh's sssd_fetch; needs
# TOP); sets SSSD_PKG.  Once they are there, apt is not asked again (its
# simulated install, for the list, takes seconds on a loaded machine).
hosts_fetch_sssd() {
	# shellcheck source=tests/rig/sssd.sh
	. "$RIG_LIB_DIR/sssd.sh" || return 1
	[ -e "$SSSD_PKG/usr/sbin/sssd" ] || sssd_fetch
}

# hosts_seed_root ROOT: put in ROOT what a node's Debian packages leave
# there before apply runs: base-files' /etc/nsswitch.conf (this machine's)
# and /etc/pam.d/common-account with the pam_sss line that libpam-sss's
# pam-auth-update profile adds (apply checks PAM, does not write it).
hosts_seed_root() {
	local r=$1
	install -d -m 0755 "$r/etc/pam.d" || return 1
	cp /etc/nsswitch.conf "$r/etc/nsswitch.conf" || return 1
	{
		grep -v pam_sss /etc/pam.d/common-account
		printf 'account\t[default=bad success=ok user_unknown=ignore]\tpam_sss.so\n'
	} >"$r/etc/pam.d/common-account"
}

# hosts_node NAME ROOT: host NAME's mounts, once for the whole test (see
# above).  Binds recorded with rig_host_bind are made on top.
hosts_node() {
	local name=$1 root=$2 h=$RIG_DIR/hosts/$1
	[ -e "$SSSD_PKG/usr/sbin/sssd" ] || { rig_log "hosts_node: no sssd in $SSSD_PKG (hosts_fetch_sssd)"; return 1; }
	install -d -m 0755 "$h/var.up" "$h/var.wk" || return 1
	# sssd's /var/lib/sss and /var/log/sssd start in the upper layer
	cp -a "$SSSD_PKG/var/." "$h/var.up/" || return 1
	rig_host_map "$name" "$h/var.up" /var
	rig_host_map "$name" "$root/etc" /etc
	# shellcheck disable=SC2016 # for the inner sh
	rig_host_mntns "$name" sh -c '
		mount -t tmpfs -o mode=0755,size=16m hosts-run /run &&
		install -d -m 0755 /run/munge /run/sshd /run/slapd &&
		mount -t overlay -o "ro,lowerdir=$3/usr:/usr" hosts-usr /usr &&
		mount -t overlay -o "ro,lowerdir=$1/etc:/etc" hosts-etc /etc &&
		mount -t overlay -o "lowerdir=$1/var:/var,upperdir=$2/var.up,workdir=$2/var.wk" hosts-var /var' \
		hosts-node "$root" "$h" "$SSSD_PKG"
}

# hosts_munged NAME: munged with the node's key (/etc/munge/munge.key) and
# socket (/run/munge/munge.socket.2); its log and seed in /run/munge (the
# package's /var/log/munge and /var/lib/munge belong to user munge, and
# munged refuses them when it runs as root).  Daemon munged-NAME.
hosts_munged() {
	local name=$1
	rig_host_daemon "$name" "munged-$name" "$RIG_DIR/hosts/$name/munged.out" \
		munged -F --log-file=/run/munge/munged.log --seed-file=/run/munge/munged.seed || return 1
	rig_wait_ready "munged-$name" "$RIG_TIMEOUT" rig__munge_ok /run/munge/munge.socket.2 "${RIG_HOST_CMD[@]}"
}

# hosts_slapd NAME ROOT URI: slapd as ROOT's /etc/default/slapd says
# (SLAPD_CONF, SLAPD_SERVICES), in the foreground; waits until URI answers
# from the host.  Daemon slapd-NAME.
hosts_slapd() {
	local name=$1 root=$2 uri=$3 conf services
	conf=$(sed -n 's/^SLAPD_CONF=//p' "$root/etc/default/slapd")
	services=$(sed -n 's/^SLAPD_SERVICES="\(.*\)"$/\1/p' "$root/etc/default/slapd")
	{ [ -n "$conf" ] && [ -n "$services" ]; } || { rig_log "hosts_slapd: no SLAPD_CONF or SLAPD_SERVICES in $root/etc/default/slapd"; return 1; }
	rig_host_daemon "$name" "slapd-$name" "$RIG_DIR/hosts/$name/slapd.log" \
		/usr/sbin/slapd -d 32768 -h "$services" -f "$conf" || return 1
	rig_host_argv "$name" || return 1
	rig_wait_ready "slapd-$name" "$RIG_TIMEOUT" "${RIG_HOST_CMD[@]}" \
		timeout 2 ldapsearch -x -H "$uri" -b "" -s base -LLL namingContexts
}

# hosts_slurmctld NAME ROOT: slurmctld with the node's /etc/slurm/slurm.conf
# (ROOT's), its directories made as the host sees them; Slurm's client
# commands run on NAME from now on.  Daemon slurmctld.
hosts_slurmctld() {
	local name=$1 conf=$2/etc/slurm/slurm.conf k v log=""
	for k in StateSaveLocation SlurmctldLogFile SlurmctldPidFile; do
		v=$(rig_conf_get "$conf" "$k") || continue
		[ "$k" = SlurmctldLogFile ] && log=$(rig_host_path "$name" "$v")
		[ "$k" = StateSaveLocation ] || v=$(dirname "$v")
		rig_host_exec "$name" install -d -m 0755 "$v" || return 1
	done
	rig_net_client "$name" || return 1
	rig_host_daemon "$name" slurmctld "$RIG_DIR/hosts/$name/slurmctld.out" slurmctld -D -i || return 1
	[ -z "$log" ] || rig_daemon_add_log slurmctld "$log"
	rig_wait_ready slurmctld "$RIG_TIMEOUT" rig__ctld_up
}

hosts__sssd_up() {
	local p=$RIG_DIR/hosts/$1/var.up/lib/sss/pipes
	[ -S "$p/nss" ] && [ -S "$p/pam" ] && [ -S "$p/ssh" ]
}

# hosts_sssd NAME: sssd in the foreground with the node's
# /etc/sssd/sssd.conf; waits for its nss, pam and ssh responders.  Daemon
# sssd-NAME.
hosts_sssd() {
	local name=$1
	rig_host_daemon "$name" "sssd-$name" "$RIG_DIR/hosts/$name/sssd.log" \
		sssd -i -d 2 --logger=stderr || return 1
	rig_wait_ready "sssd-$name" "$RIG_TIMEOUT" hosts__sssd_up "$name"
}

# hosts_tree ROOT: every file and directory of ROOT (type, mode, owner, and
# the content's sha256), sorted: to see that nothing changed.
hosts_tree() {
	(cd "$1" && find . -printf '%y %m %u %g %p\n' | sort && find . -type f -exec sha256sum {} + | sort -k2)
}
