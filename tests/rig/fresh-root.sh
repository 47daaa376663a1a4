#!/bin/bash
# tests/rig/fresh-root.sh: run a command in a FRESH Debian root, the way a new
# machine would run it (`make check-fresh`, and .ci/run).  A green run on a
# machine where everything was installed long ago can hide a missing install
# step; a fresh root cannot.
#
#   sh tests/rig/fresh-root.sh [--suite bookworm|trixie] [--keep] [CMD]
#
# The working tree (tracked files and untracked ones git does not ignore, as
# they are now, committed or not) is copied to /src/clusterpack in a new root,
# and CMD (default: `make check`) runs there as root with `bash -c`.
#
# The base root (debootstrap minbase plus git, make and ca-certificates: what
# any build machine has) is made once per suite under $CPK_FRESH_CACHE
# (default /var/cache/clusterpack-fresh/SUITE) and never changed afterwards:
# each run gets its own throwaway overlay on top of it, in a private mount
# namespace, with /proc, /sys and /dev bound in and fresh tmpfs on /run and
# /tmp, so nothing leaks between runs and nothing stays mounted.  The Debian
# mirror, and apt's Acquire settings (proxy, validity checks), are taken from
# this machine's own apt configuration.  --keep keeps the run's upper layer.
# Needs root, overlayfs and debootstrap (installed with apt when missing).
set -euo pipefail

suite=bookworm keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--suite) [ $# -ge 2 ] || { echo "fresh-root: --suite needs a value" >&2; exit 2; }
		suite=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,21p' "$0"; exit 0 ;;
	-*) echo "fresh-root: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -le 1 ] || { echo "fresh-root: give the command as one argument" >&2; exit 2; }
cmd=${1:-make check}
case $suite in
bookworm | trixie) ;;
*) echo "fresh-root: suite '$suite' is not supported (bookworm = Debian 12, trixie = Debian 13)" >&2
	exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "fresh-root: needs root (debootstrap, mounts, chroot)" >&2; exit 2; }

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${CPK_FRESH_CACHE:-/var/cache/clusterpack-fresh}
base=$cache/$suite

# The first Debian mirror this machine's apt uses (deb822 or one-line form).
host_mirror() {
	local m
	m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v -- '-security' | head -n1 || true)
	[ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
	printf '%s\n' "$m"
}

if [ ! -x "$base/usr/bin/make" ] || [ ! -x "$base/usr/bin/git" ]; then
	if ! command -v debootstrap >/dev/null 2>&1; then
		echo "fresh-root: installing debootstrap" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -q --no-install-recommends debootstrap >/dev/null; } ||
			{ echo "fresh-root: cannot install debootstrap" >&2; exit 1; }
	fi
	[ -e "/usr/share/debootstrap/scripts/$suite" ] ||
		{ echo "fresh-root: this debootstrap does not know '$suite'" >&2; exit 1; }
	mirror=$(host_mirror)
	[ -n "$mirror" ] || { echo "fresh-root: cannot find this machine's Debian mirror in /etc/apt" >&2; exit 1; }
	mkdir -p "$cache"
	rm -rf "$base.tmp"
	echo "fresh-root: making the $suite base root in $base from $mirror (once; a few minutes)" >&2
	t0=$(date +%s)
	debootstrap --variant=minbase --include=git,make,ca-certificates "$suite" "$base.tmp" "$mirror" \
		>"$cache/$suite.log" 2>&1 ||
		{ echo "fresh-root: debootstrap failed; the last lines of $cache/$suite.log:" >&2
		  tail -n 15 "$cache/$suite.log" >&2; rm -rf "$base.tmp"; exit 1; }
	mv "$base.tmp" "$base"
	echo "fresh-root: base made in $(( $(date +%s) - t0 )) s" >&2
fi

run=$(mktemp -d /tmp/cpk-fresh.XXXXXX)
cleanup() {
	if [ $keep = 1 ]; then
		echo "fresh-root: kept $run/upper (this run's changes over $base)" >&2
	else
		rm -rf "$run"
	fi
}
trap cleanup EXIT
mkdir -p "$run/upper" "$run/work" "$run/root" "$run/src"

# The working tree as it is: tracked and untracked-but-not-ignored files.
(cd "$top" && git ls-files -z -c -o --exclude-standard |
	while IFS= read -r -d '' f; do
		if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
	done |
	tar --null -T - -cf -) | tar -C "$run/src" -xf -
# apt's Acquire settings of this machine (proxies, validity of snapshot mirrors).
# One-line `Acquire::...;` settings only: the rest of this machine's apt
# configuration (hooks, periodic jobs) is not the root's business.
cat /etc/apt/apt.conf /etc/apt/apt.conf.d/* 2>/dev/null |
	grep '^[[:space:]]*Acquire::.*;[[:space:]]*$' >"$run/apt.conf" || true

echo "fresh-root: $suite, $(git -C "$top" log -1 --format='%h %s' 2>/dev/null || echo 'no git'), running: $cmd" >&2
t0=$(date +%s)
set +e
unshare -m --propagation private bash -c '
	set -e
	run=$1 base=$2 cmd=$3
	r=$run/root
	mount -t overlay overlay -o "lowerdir=$base,upperdir=$run/upper,workdir=$run/work" "$r"
	mkdir -p "$r/src" && mv "$run/src" "$r/src/clusterpack"
	cp "$run/apt.conf" "$r/etc/apt/apt.conf.d/99host-acquire"
	cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
	mount -t proc proc "$r/proc"
	mount --rbind /sys "$r/sys"
	mount --rbind /dev "$r/dev"
	mount -t tmpfs -o mode=0755 tmpfs "$r/run"
	mount -t tmpfs -o mode=1777,size=16g tmpfs "$r/tmp"
	exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 CI="${CI:-}" \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		bash -c "cd /src/clusterpack && $cmd"
' fresh-root "$run" "$base" "$cmd"
rc=$?
set -e
echo "fresh-root: $suite: exit $rc after $(( $(date +%s) - t0 )) s" >&2
exit $rc
