# Runs one of the C programs of the SFTP API tests (TAP) against a throwaway
# sshd: `sftp_api_run NAME` (sourced by t3001 and t3004; the fixture the
# programs share is tests/progs/lib/sftp_fixture.c).
# CPK_BUILD=build-san runs the ASan/UBSan build.
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CPK_BUILD:-$HERE/build}/tests/progs
. "$HERE/tests/rig/sshd.sh"

sftp_api_run() {
	[ -x "$BUILD/$1" ] || { echo "Bail out! $BUILD/$1 is not built"; exit 1; }
	TEST_DIR=$(mktemp -d /tmp/cpk-sftp-api.XXXXXX)
	export TEST_DIR
	trap 'sshd_stop; rm -rf "$TEST_DIR"' EXIT
	sshd_start "$TEST_DIR/sshd" >/dev/null || { echo "Bail out! sshd did not start"; exit 1; }
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
	"$BUILD/$1"
}
