#!/bin/sh
# The build's own guards for a fresh machine: `make deps` chooses package
# names per Debian release and refuses any other system; every program the
# tests and the demo call is installed by it; a build without the libraries
# stops with what to do (never links without them); `make check T=` refuses a
# name that is no test.
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
scratch

osr() {	# osr ID CODENAME PRETTY: an os-release file
	printf 'ID=%s\nVERSION_CODENAME=%s\nPRETTY_NAME="%s"\n' "$1" "$2" "$3" >"$SCRATCH/os-release"
}

osr debian bookworm "Debian GNU/Linux 12 (bookworm)"
CPK_OS_RELEASE=$SCRATCH/os-release sh tests/rig/deps.sh --list >"$SCRATCH/bookworm" 2>&1
ok $? "deps --list on Debian 12"
grep -qx libclang-rt-14-dev "$SCRATCH/bookworm"; ok $? "Debian 12: clang 14's runtime by its name there"
osr debian trixie "Debian GNU/Linux 13 (trixie)"
CPK_OS_RELEASE=$SCRATCH/os-release sh tests/rig/deps.sh --list >"$SCRATCH/trixie" 2>&1
ok $? "deps --list on Debian 13"
grep -qx libclang-rt-dev "$SCRATCH/trixie"; ok $? "Debian 13: libclang-rt-dev"
! grep -q -- '-14-' "$SCRATCH/trixie"; ok $? "Debian 13: no package named for Debian 12's clang"
for p in python3 time bc openssl procps slurmctld slurmd slapd openssh-server nfs-kernel-server php-cli php-ldap \
	cloud-init libyaml-dev; do
	grep -qx "$p" "$SCRATCH/bookworm" && grep -qx "$p" "$SCRATCH/trixie"
	ok $? "both releases install $p"
done

for sys in "ubuntu noble Ubuntu 24.04 LTS" "debian bullseye Debian GNU/Linux 11 (bullseye)" \
	"debian sid Debian GNU/Linux trixie/sid"; do
	# shellcheck disable=SC2086 # three fields
	set -- $sys
	id=$1 code=$2; shift 2
	osr "$id" "$code" "$*"
	CPK_OS_RELEASE=$SCRATCH/os-release sh tests/rig/deps.sh >"$SCRATCH/out" 2>&1
	rc=$?
	is "$rc" 1 "deps refuses $*"
	grep -q "'$*'.*supports Debian 12 (bookworm) and Debian 13 (trixie)" "$SCRATCH/out"
	ok $? "and names this system and what it supports" || cat "$SCRATCH/out" >&2
done
# --build-list: what `make all` needs (the VM template build installs it),
# alike in both releases, a part of the whole list
sh tests/rig/deps.sh --build-list >"$SCRATCH/build" 2>&1
ok $? "deps --build-list"
grep -qx libslurm-dev "$SCRATCH/build" && ! grep -qx valgrind "$SCRATCH/build"
ok $? "  the build's packages, not the tests'"
! grep -vxFf "$SCRATCH/bookworm" "$SCRATCH/build" | grep -q . && ! grep -vxFf "$SCRATCH/trixie" "$SCRATCH/build" | grep -q .
ok $? "  each of them in both releases' whole list"
CPK_OS_RELEASE=$SCRATCH/none sh tests/rig/deps.sh >"$SCRATCH/out" 2>&1
is $? 1 "deps refuses a machine without os-release"
sh tests/rig/deps.sh --bogus >"$SCRATCH/out" 2>&1
is $? 2 "deps refuses an unknown option"

# Every program the tests and the demo run, after `make deps` (on this
# machine's release; CI runs this on a fresh Debian 12 and 13).
for c in cc pkg-config clang prove perl python3 /usr/bin/time bc openssl pgrep ps ss ip unshare \
	nsenter mount hostname setpriv setsid timeout rsync scp sftp ssh ssh-keygen ssh-agent ssh-add /usr/sbin/sshd /usr/lib/openssh/sftp-server \
	slapd slapadd ldapadd ldapsearch ldapmodify munged slurmctld slurmd sbatch srun scontrol sinfo \
	exportfs valgrind sha256sum stat truncate od cmp diff tar php cloud-init; do
	command -v "$c" >/dev/null 2>&1
	ok $? "installed by make deps: $c"
done

# A build where pkg-config finds nothing stops at once and says what to do.
make --no-print-directory -s B="$SCRATCH/b" PKG_CONFIG=false all >"$SCRATCH/out" 2>&1
rc=$?
[ "$rc" -ne 0 ]; ok $? "make all without the libraries fails"
grep -q "run 'make deps' as root" "$SCRATCH/out"; ok $? "and says to run make deps" || cat "$SCRATCH/out" >&2
! find "$SCRATCH/b" -name '*.o' 2>/dev/null | grep -q .; ok $? "and compiled nothing"

make --no-print-directory -s -n check T=tests/no-such >"$SCRATCH/out" 2>&1
[ $? -ne 0 ] && grep -q "T names tests/no-such" "$SCRATCH/out"
ok $? "make check T= refuses a name that is no test"
make --no-print-directory -n check T=tests/t0100-cli.sh >"$SCRATCH/out" 2>&1
grep -q "prove .*\./tests/t0100-cli\.sh" "$SCRATCH/out" && ! grep -q "t0200\|build-san" "$SCRATCH/out"
ok $? "make check T=FILE runs that test alone" || cat "$SCRATCH/out" >&2

done_testing
