#!/bin/bash
# Pipelined transfers while sshd re-keys every 4 MB (RekeyLimit), so key
# exchanges happen with many requests in flight.  CPK_BUILD=build-san too.
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CPK_BUILD:-$HERE/build}/tests/progs
. "$HERE/tests/rig/sshd.sh"
[ -x "$BUILD/xfer_cli" ] || { echo "Bail out! $BUILD/xfer_cli is not built"; exit 1; }
T=$(mktemp -d /tmp/cpk-t3003.XXXXXX)
trap 'sshd_stop; rm -rf "$T"' EXIT
SSHD_EXTRA_CONFIG="RekeyLimit 4M" sshd_start "$T/sshd" >/dev/null ||
	{ echo "Bail out! sshd did not start"; exit 1; }

n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
X=("$BUILD/xfer_cli" -p "$SSHD_PORT" -l root -i "$SSHD_KEY" -A -o "$SSHD_KNOWN_HOSTS" -F none -c aes128-gcm@openssh.com)

head -c $((48<<20)) /dev/urandom >"$T/big"
"${X[@]}" 127.0.0.1 put "$T/big" "$T/big.up" && cmp -s "$T/big" "$T/big.up"
ok $? "48 MiB upload across ~12 re-keys"
"${X[@]}" 127.0.0.1 get "$T/big.up" "$T/big.down" && cmp -s "$T/big" "$T/big.down"
ok $? "48 MiB download across ~12 re-keys"
mkdir "$T/small"
head -c $((300 * 40000)) /dev/urandom | split -a 4 -d -b 40000 - "$T/small/f"
"${X[@]}" 127.0.0.1 put-dir "$T/small" "$T/small.up" && diff -r "$T/small" "$T/small.up" >/dev/null
ok $? "300 files up across re-keys"
"${X[@]}" 127.0.0.1 get-dir "$T/small.up" "$T/small.down" && diff -r "$T/small" "$T/small.down" >/dev/null
ok $? "300 files down across re-keys"
echo "1..$n"
[ $failed = 0 ]
