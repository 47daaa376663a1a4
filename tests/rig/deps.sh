#!/bin/sh
# tests/rig/deps.sh: install clusterpack's build and test dependencies on
# Debian 12 (bookworm) or Debian 13 (trixie) (`make deps`).  Idempotent: when
# every package is installed it only asks dpkg and prints nothing.  Otherwise
# (as root) it runs `apt-get update` and installs the missing ones without
# recommends, with a policy-rc.d that keeps the packages' daemons (munged,
# slapd, nfsd, ...) from being started.  Every program a test or the demo runs
# comes from this list: a fresh minimal Debian has none of them.
#   sh tests/rig/deps.sh          install what is missing
#   sh tests/rig/deps.sh --list   print this release's package list only
#   sh tests/rig/deps.sh --build-list   print only what building clusterpack
#                                 needs (alike in both releases; the VM
#                                 template build installs these)
# CPK_OS_RELEASE names another os-release file (for the tests).
set -eu

list=""
case ${1:-} in
"") ;;
--list) list=1 ;;
--build-list) list=build ;;
*) echo "deps: usage: deps.sh [--list | --build-list]" >&2; exit 2 ;;
esac

# What `make all` needs, named alike in both releases.
BUILD="build-essential pkg-config libyaml-dev libssh-dev libssl-dev libcrypt-dev
libldap-dev libslurm-dev libmunge-dev"
if [ "$list" = build ]; then
	# shellcheck disable=SC2086 # a list of package names
	printf '%s\n' $BUILD
	exit 0
fi
# And what the tests run, named alike in both releases (cloud-init: its
# schema check of the VM templates' user data).
PKGS="$BUILD clang slurmctld slurmd slurm-client munge
openssh-server openssh-client slapd ldap-utils nfs-kernel-server iproute2
util-linux mount hostname procps openssl rsync perl python3 time bc valgrind php-cli
php-ldap cloud-init strace systemd"

# The release: the one place where package names differ between them.
osr=${CPK_OS_RELEASE:-/etc/os-release}
release=""
if [ -r "$osr" ]; then
	# shellcheck disable=SC1090 # the machine's own file
	release=$(. "$osr" && [ "${ID:-}" = debian ] && echo "${VERSION_CODENAME:-}") || release=""
fi
case $release in
bookworm) PKGS="$PKGS libclang-rt-14-dev" ;;	# clang 14's sanitizer/fuzzer runtime
trixie) PKGS="$PKGS libclang-rt-dev" ;;		# the runtime of trixie's default clang
*)
	# shellcheck disable=SC1090 # the machine's own file
	name=$( (. "$osr" && echo "${PRETTY_NAME:-${ID:-}}") 2>/dev/null || true)
	echo "deps: this machine is '${name:-unknown}' ($osr); clusterpack supports" \
		"Debian 12 (bookworm) and Debian 13 (trixie) only" >&2
	exit 1 ;;
esac
if [ -n "$list" ]; then
	# shellcheck disable=SC2086 # a list of package names
	printf '%s\n' $PKGS
	exit 0
fi

command -v dpkg-query >/dev/null 2>&1 || {
	echo "deps: dpkg-query not found: this script is for Debian 12 and 13" >&2
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
