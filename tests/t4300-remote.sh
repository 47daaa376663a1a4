#!/bin/bash
# lib/remote (cpk/remote.h), what `cpk node add` uses on a new node, against
# a throwaway sshd: a wrong host key runs nothing; commands with hostile
# words, stdin, bounded output, exit status, signal, timeout; the atomic put
# (mode set before any data, as OpenSSH's sftp-server logs it; no temporary
# left; refused names).  The C program is tests/progs/remote_driver.c (its
# fixture tests/progs/lib/sftp_fixture.c).  CPK_BUILD=build-san: ASan/UBSan.
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CPK_BUILD:-$HERE/build}/tests/progs
. "$HERE/tests/rig/sshd.sh"

[ -x "$BUILD/remote_driver" ] || { echo "Bail out! $BUILD/remote_driver is not built"; exit 1; }
[ -x "$SFTP_SERVER" ] || { echo "Bail out! $SFTP_SERVER is missing (openssh-sftp-server)"; exit 1; }
TEST_DIR=$(mktemp -d /tmp/cpk-remote.XXXXXX)
trap 'sshd_stop; rm -rf "$TEST_DIR"' EXIT
# sftp-server, not internal-sftp, for its log of every request
SFTP_LOG=$TEST_DIR/sftp-server.log
SSHD_SFTP_SUBSYSTEM="$SFTP_SERVER -e -l DEBUG3 2>>$SFTP_LOG"
sshd_start "$TEST_DIR/sshd" >/dev/null || { echo "Bail out! sshd did not start"; exit 1; }
export TEST_DIR SFTP_LOG
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
"$BUILD/remote_driver"
