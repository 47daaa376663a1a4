#!/bin/sh
# ansible-free-bootstrap/build-template.sh: build the contents of a
# clusterpack VM template image (the mdx cluster pack's control or compute
# template), into ROOT (default /, the VM being made into the template).
#
#   build-template.sh --role control|compute --src DIR [--root DIR]
#                     [--cpk FILE] [--dry-run]
#
#   --role ROLE   control or compute (required)
#   --src DIR     the clusterpack source tree (required)
#   --root DIR    the image's root directory (default /); another root must
#                 be a Debian root of the same release as this machine, ready
#                 for chroot (its /proc, /dev mounted by the caller)
#   --cpk FILE    the cpk asked for the role's packages (default: the one
#                 `make` builds, SRC/build/cpk; --dry-run needs one built)
#   --dry-run     print every command it would run; change nothing
#   -h, --help    this help
#
# Steps, each printed before it runs ("+ COMMAND"; --dry-run prints them
# only):
#   1. a policy-rc.d in ROOT that keeps daemons from starting during the
#      build (removed at the end when this script made it);
#   2. apt-get update, and install (no recommends) what building clusterpack
#      needs (`tests/rig/deps.sh --build-list`) and cloud-init;
#   3. `make install PREFIX=/usr/local` from SRC (DESTDIR=ROOT unless /);
#   4. install the role's packages: exactly `cpk apply --role ROLE
#      --list-packages` (lib/apply/roles.c: the one list);
#   5. the first-boot cloud-init config of the role,
#      SRC/templates/cloud-init/ROLE.yaml, as
#      ROOT/etc/cloud/cloud.cfg.d/90-clusterpack.cfg, a copy in
#      ROOT/usr/local/share/clusterpack/cloud-init/, and the 0755 directory
#      ROOT/etc/clusterpack for the description (templates/README.md).
# Exit status: 0 done, 1 a step failed, 2 bad arguments.
set -eu

PREFIX=/usr/local
me=build-template.sh

usage() { sed -n '2,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//'; }
bad() {	# bad MESSAGE: a usage error
	echo "$me: $*" >&2
	echo "$me: see '$me --help'" >&2
	exit 2
}
die() { echo "$me: $*" >&2; exit 1; }

role="" src="" root=/ cpk="" dry=""
while [ $# -gt 0 ]; do
	case $1 in
	--role | --src | --root | --cpk)
		[ $# -ge 2 ] || bad "$1 needs a value"
		case $1 in
		--role) role=$2 ;;
		--src) src=$2 ;;
		--root) root=$2 ;;
		--cpk) cpk=$2 ;;
		esac
		shift 2 ;;
	--dry-run) dry=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) bad "unknown argument '$1'" ;;
	esac
done
case $role in
control | compute) ;;
"") bad "--role control|compute is required" ;;
*) bad "unknown role '$role' (expected control or compute)" ;;
esac
[ -n "$src" ] || bad "--src DIR (the clusterpack source tree) is required"
if [ ! -f "$src/Makefile" ] || [ ! -f "$src/lib/apply/roles.c" ]; then
	bad "--src $src is not a clusterpack source tree (no Makefile, lib/apply/roles.c)"
fi
[ -d "$root" ] || bad "--root '$root' is not a directory"
src=$(cd "$src" && pwd)
root=$(cd "$root" && pwd)
r=${root%/}	# paths in ROOT: "$r/etc/..." (r is empty for /)
userdata=$src/templates/cloud-init/$role.yaml
[ -f "$userdata" ] || die "$userdata is missing"

# Commands that touch ROOT's packages run inside it.
inroot=""
destdir=""
if [ "$root" != / ]; then
	inroot="chroot $root"
	destdir=$root
fi

# q ARG: ARG quoted for sh when it needs it.
q() {
	case $1 in
	"" | *[!A-Za-z0-9_./=:,@%+-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
	*) printf '%s' "$1" ;;
	esac
}
# run CMD...: print it ("+ CMD"), and run it unless --dry-run.
run() {
	line="+"
	for a in "$@"; do
		line="$line $(q "$a")"
	done
	printf '%s\n' "$line"
	[ -n "$dry" ] || "$@"
}

if [ -z "$dry" ]; then
	[ "$(id -u)" = 0 ] || die "run as root (or give --dry-run)"
	if [ -n "$inroot" ]; then
		[ -x "$root/usr/bin/apt-get" ] || die "$root has no usr/bin/apt-get: not a Debian root"
		# binaries built here run there: the same release
		# shellcheck disable=SC1091 # os-release files, not ours
		here=$( (. /etc/os-release && echo "${VERSION_CODENAME:-}") 2>/dev/null || true)
		# shellcheck disable=SC1091
		there=$( (. "$root/etc/os-release" && echo "${VERSION_CODENAME:-}") 2>/dev/null || true)
		if [ -z "$here" ] || [ "$here" != "$there" ]; then
			die "$root is '${there:-unknown}', this machine '${here:-unknown}': build on the image's release"
		fi
	fi
fi

policy=$r/usr/sbin/policy-rc.d
made_policy=""
cleanup() {
	if [ -n "$made_policy" ]; then
		rm -f "$policy"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. no daemon starts while packages are installed
if [ ! -e "$policy" ]; then
	run sh -c 'printf "#!/bin/sh\n# clusterpack build-template.sh: no daemon starts during the build\nexit 101\n" >"$1" && chmod 0755 "$1"' \
		policy-rc.d "$policy"
	[ -n "$dry" ] || made_policy=1
fi

# 2. what the build needs, and cloud-init
build_pkgs=$(sh "$src/tests/rig/deps.sh" --build-list) || die "cannot read the build's package list"
# shellcheck disable=SC2086 # lists of words
run env DEBIAN_FRONTEND=noninteractive $inroot apt-get update -q
# shellcheck disable=SC2086
run env DEBIAN_FRONTEND=noninteractive $inroot apt-get install -y -q --no-install-recommends \
	$build_pkgs cloud-init

# 3. clusterpack itself
if [ -n "$destdir" ]; then
	run make -C "$src" install PREFIX="$PREFIX" DESTDIR="$destdir"
else
	run make -C "$src" install PREFIX="$PREFIX"
fi

# 4. the role's packages: the one list, from cpk
[ -n "$cpk" ] || cpk=$src/build/cpk
[ -x "$cpk" ] || die "no cpk at $cpk to ask for the $role packages (run make in $src, or give --cpk FILE)"
pkgs=$("$cpk" apply --role "$role" --list-packages) || die "$cpk apply --role $role --list-packages failed"
[ -n "$pkgs" ] || die "$cpk lists no packages for the $role role"
# slapd's own configuration would make a dc=nodomain database in
# /var/lib/ldap; cpk apply configures slapd itself (as apply does when it
# installs slapd)
if printf '%s\n' "$pkgs" | grep -qx slapd; then
	# shellcheck disable=SC2016,SC2086 # "$@" is for the inner sh; inroot is words
	run sh -c 'echo "slapd slapd/no_configuration boolean true" | "$@" debconf-set-selections' sh $inroot
fi
# shellcheck disable=SC2086
run env DEBIAN_FRONTEND=noninteractive $inroot apt-get install -y -q --no-install-recommends $pkgs

# 5. first boot
run install -d -m 0755 "$r/etc/clusterpack" "$r/etc/cloud/cloud.cfg.d" \
	"$r$PREFIX/share/clusterpack/cloud-init"
run install -m 0644 "$userdata" "$r/etc/cloud/cloud.cfg.d/90-clusterpack.cfg"
run install -m 0644 "$userdata" "$r$PREFIX/share/clusterpack/cloud-init/$role.yaml"

if [ -n "$dry" ]; then
	echo "$me: dry run: nothing changed"
else
	echo "$me: the $role template is built in $root; its first boot runs cpk apply (templates/README.md)"
fi
