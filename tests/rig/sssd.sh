# sssd for tests, without installing it: installing sssd (or libnss-sss,
# libpam-sss) rewrites the machine's /etc/nsswitch.conf and PAM files.
# Source this file, then:
#
#   sssd_fetch            the packages of sssd 2.x, downloaded with
#                         `apt-get download` and unpacked (dpkg -x) into
#                         $SSSD_PKG (default /var/cache/cpk-test/sssd,
#                         kept between runs); returns 1 if that fails
#
# A test then runs its sssd inside `unshare -m --propagation private` with
# $SSSD_PKG/usr overlaid read-only over /usr and /etc and /var given upper
# layers of the test's own (sssd_mounts), so the machine's own /usr, /etc and /var are never
# written.
SSSD_PKG=${SSSD_PKG:-/var/cache/cpk-test/sssd}
# sssd's own packages, and whatever of their dependencies this release
# (Debian 12 or 13: names differ) lacks, as a simulated install lists them
SSSD_CORE="sssd-common sssd-ldap sssd-krb5-common libnss-sss libpam-sss"
sssd_debs() {
	# shellcheck disable=SC2086 # a list of package names
	{ echo $SSSD_CORE | tr ' ' '\n'
	  apt-get -s -qq install --no-install-recommends $SSSD_CORE 2>/dev/null |
		awk '/^Inst /{ print $2 }'; } | sort -u
}

sssd_fetch() {
	. "$TOP/tests/rig/debs.sh"
	# shellcheck disable=SC2046 # a list of package names
	debs_fetch "$SSSD_PKG" usr/sbin/sssd $(sssd_debs)
}

# In a private mount namespace (the caller's): a fresh /run, $SSSD_PKG/usr
# over /usr (read-only), and /etc and /var with upper layers in DIR, so
# the caller may write /etc/sssd, /etc/nsswitch.conf, /etc/pam.d freely.
sssd_mounts() {	# DIR
	# sssd's /var/lib/sss and /var/log/sssd start in the upper layer (the
	# package tree may itself live under /var: no layer of its own)
	mkdir -p "$1/etc.up" "$1/etc.wk" "$1/var.up" "$1/var.wk" &&
	cp -a "$SSSD_PKG/var/." "$1/var.up/" &&
	mount -t tmpfs tmpfs /run &&
	mount -t overlay -o "ro,lowerdir=$SSSD_PKG/usr:/usr" overlay /usr &&
	mount -t overlay -o "lowerdir=/etc,upperdir=$1/etc.up,workdir=$1/etc.wk" overlay /etc &&
	mount -t overlay -o "lowerdir=/var,upperdir=$1/var.up,workdir=$1/var.wk" overlay /var
}
