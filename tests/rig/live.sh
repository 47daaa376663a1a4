# tests/rig/live.sh: a scratch directory that `cpk apply` takes for a live
# system, so its real path (apt-get, systemctl, the LDAP tree) runs without
# touching this machine (POSIX sh; source it after tests/lib/tap.sh).
#
#   . tests/rig/live.sh
#   live_root ROOT || exit 1     # cpk, /bin/sh, their libraries, the fakes
#   live_apply ROOT ARGS...      # cpk apply ARGS with ROOT as "/"
#
# In the chroot, / is ROOT (cpk_apply_is_live) and /run/systemd/system is a
# directory (cpk_apply_systemd_runs).  /usr/bin/apt-get,
# debconf-set-selections and systemctl are shell scripts using sh builtins
# only (the chroot has no other programs) that append one line per call to
# /log/calls:
#   apt-get ARGS DEBIAN_FRONTEND=V   fails (exit 100, apt's words) when
#       /fail-apt exists; else does what the packages' postinst scripts
#       would: adds the munge user to /etc/passwd, writes
#       /etc/ldap/ldap.conf (as libldap-common ships one), and lists each
#       package installed in /var/lib/dpkg/status
#   debconf LINE                     for each line of its stdin
#   systemctl ARGS                   is-active NAME: /run/state-NAME holds
#       "active"; is-enabled NAME: /run/enabled-NAME exists; enable makes
#       it; start/restart write "active", or fail when /fail-NAME exists
#       (then "failed": a failed unit is not active); reload and
#       daemon-reload succeed
# live_apply runs it in a private mount namespace with /proc mounted in ROOT
# (the munge key is made through /proc/self/fd), which ends with it.
# Needs root (chroot, mount), unshare and ldd.

live_root() {
	mkdir -p "$1/proc" "$1/usr/bin" "$1/bin" "$1/run/systemd/system" "$1/var/lib/dpkg" \
		"$1/etc/ldap" "$1/log" "$1/tmp" || return 1
	for _b in "$CPK" /bin/sh; do
		for _l in $(ldd "$_b" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
			cp -L --parents "$_l" "$1" || return 1
		done
	done
	cp "$CPK" "$1/cpk" && cp -L /bin/sh "$1/bin/sh" || return 1
	cat >"$1/usr/bin/apt-get" <<'FAKE'
#!/bin/sh
echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >>/log/calls
if [ -e /fail-apt ]; then echo "Reading package lists..."; echo "E: Unable to locate package sssd-ldap"; exit 100; fi
echo 'munge:x:104:107::/nonexistent:/usr/sbin/nologin' >>/etc/passwd
echo '# from libldap-common' >/etc/ldap/ldap.conf
for a in "$@"; do
	case $a in -*|install|Dpkg::*) ;; *) printf '\nPackage: %s\nStatus: install ok installed\n' "$a" >>/var/lib/dpkg/status ;; esac
done
FAKE
	cat >"$1/usr/bin/debconf-set-selections" <<'FAKE'
#!/bin/sh
while read -r l; do echo "debconf $l" >>/log/calls; done
FAKE
	cat >"$1/usr/bin/systemctl" <<'FAKE'
#!/bin/sh
echo "systemctl $*" >>/log/calls
case $1 in
is-active) [ -e "/run/state-$3" ] && read -r s <"/run/state-$3" && [ "$s" = active ] ;;
is-enabled) [ -e "/run/enabled-$3" ] ;;
enable) : >"/run/enabled-$2" ;;
start|restart)
	[ ! -e "/fail-$2" ] || { echo "Job for $2.service failed."; echo failed >"/run/state-$2"; exit 1; }
	echo active >"/run/state-$2" ;;
reload|daemon-reload) ;;
*) exit 9 ;;
esac
FAKE
	chmod 0755 "$1/usr/bin/apt-get" "$1/usr/bin/debconf-set-selections" "$1/usr/bin/systemctl"
}

live_apply() {
	unshare -m --propagation private -- sh -c '
		mount -t proc proc "$1/proc" || exit 125
		r=$1; shift
		exec chroot "$r" /cpk apply "$@"' live-apply "$@"
}
