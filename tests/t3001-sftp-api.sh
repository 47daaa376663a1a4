#!/bin/bash
# The C API tests (sftp_test, TAP) against a throwaway sshd.
# CPK_BUILD=build-san runs the ASan/UBSan build.
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CPK_BUILD:-$HERE/build}/tests/progs
. "$HERE/tests/rig/sshd.sh"
[ -x "$BUILD/sftp_driver" ] || { echo "Bail out! $BUILD/sftp_driver is not built"; exit 1; }
TEST_DIR=$(mktemp -d /tmp/cpk-t3001.XXXXXX)
export TEST_DIR
trap 'sshd_stop; rm -rf "$TEST_DIR"' EXIT
sshd_start "$TEST_DIR/sshd" >/dev/null || { echo "Bail out! sshd did not start"; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
"$BUILD/sftp_driver"
