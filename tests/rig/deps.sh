#!/bin/sh
# tests/rig/deps.sh: install clusterpack's build and test dependencies on
# Debian 12 (`make deps`).  Idempotent: when every package is installed it
# only asks dpkg and prints nothing.  Otherwise (as root) it runs
# `apt-get update` and installs the missing ones without recommends, with a
# policy-rc.d that keeps the packages' daemons (munged, slapd, nfsd, ...) from
# being started.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev libyaml-dev libssh-dev libssl-dev
libldap-dev libslurm-dev libmunge-dev slurmctld slurmd slurm-client munge
openssh-server openssh-client slapd ldap-utils nfs-kernel-server iproute2
util-linux rsync perl valgrind"

command -v dpkg-query >/dev/null 2>&1 || {
	echo "deps: dpkg-query not found: this script is for Debian 12" >&2
	exit 1
}

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $st in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run 'make deps' as root (or: apt-get install --no-install-recommends$missing)" >&2
	exit 1
fi

POLICY=/usr/sbin/policy-rc.d
made_policy=""
cleanup() {
	if [ -n "$made_policy" ]; then
		rm -f "$POLICY"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ ! -e "$POLICY" ]; then
	printf '#!/bin/sh\n# clusterpack deps.sh: do not start services while installing\nexit 101\n' >"$POLICY"
	chmod 0755 "$POLICY"
	made_policy=1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # a list of package names
apt-get install -y -q --no-install-recommends $missing

still=""
for p in $missing; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || still="$still $p"
done
if [ -n "$still" ]; then
	echo "deps: still not installed:$still" >&2
	exit 1
fi
echo "deps: done"
