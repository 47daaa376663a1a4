#!/bin/bash
# cpk-xfer end to end against a throwaway sshd, checked with cmp, sha256sum,
# stat and OpenSSH's own sftp.  CPK_BUILD=build-san for the ASan build.
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CPK_BUILD:-$HERE/build}/tests/progs
. "$HERE/tests/rig/sshd.sh"
[ -x "$BUILD/xfer_cli" ] || { echo "Bail out! $BUILD/xfer_cli is not built"; exit 1; }
T=$(mktemp -d /tmp/cpk-t3002.XXXXXX)
AGENT_PID=
trap 'sshd_stop; [ -n "$AGENT_PID" ] && kill "$AGENT_PID"; rm -rf "$T"' EXIT
sshd_start "$T/sshd" >/dev/null || { echo "Bail out! sshd did not start"; exit 1; }

n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
check() { local d=$1; shift; "$@" >/dev/null 2>&1; ok $? "$d"; }

X=("$BUILD/xfer_cli" -p "$SSHD_PORT" -l root -i "$SSHD_KEY" -A -o "$SSHD_KNOWN_HOSTS" -F none -c aes128-gcm@openssh.com)
SFTP=(sftp -q -F "$SSHD_SSH_CONFIG" -c aes128-gcm@openssh.com)
L=$T/local; R=$T/remote; B=$T/back
mkdir -p "$L" "$R" "$B"

# sizes around the chunk (252 KiB = 258048) and the server limit (261120)
for sz in 0 1 258047 258048 258049 261121 $((5*258048+3)); do
	head -c $sz /dev/urandom >"$L/f$sz"
	"${X[@]}" 127.0.0.1 put "$L/f$sz" "$R/f$sz" && cmp -s "$L/f$sz" "$R/f$sz"
	ok $? "put $sz bytes, cmp"
	"${X[@]}" 127.0.0.1 get "$R/f$sz" "$B/f$sz" && cmp -s "$L/f$sz" "$B/f$sz"
	ok $? "get $sz bytes, cmp"
done

head -c $((64<<20)) /dev/urandom >"$L/big"
"${X[@]}" 127.0.0.1 put "$L/big" "$R/big name ü"
ok $? "put 64 MiB to a name with a space and UTF-8"
[ "$(sha256sum <"$L/big")" = "$(sha256sum <"$R/big name ü")" ]
ok $? "sha256sum equal after upload"
"${SFTP[@]}" cpktest <<<"get \"$R/big name ü\" $B/big.openssh" >/dev/null 2>&1 &&
	cmp -s "$L/big" "$B/big.openssh"
ok $? "OpenSSH sftp reads back the same bytes"
"${X[@]}" 127.0.0.1 get "$R/big name ü" "$B/big"
[ "$(sha256sum <"$L/big")" = "$(sha256sum <"$B/big")" ]
ok $? "get 64 MiB, sha256sum equal"

# modes and times: -P
echo data >"$L/m"; chmod 0751 "$L/m"; touch -m -d @1111111111 "$L/m"
"${X[@]}" -P 127.0.0.1 put "$L/m" "$R/m"
[ "$(stat -c '%a %Y' "$R/m")" = "751 1111111111" ]
ok $? "put -P keeps mode 0751 and mtime"
"${X[@]}" -P 127.0.0.1 get "$R/m" "$B/m"
[ "$(stat -c '%a %Y' "$B/m")" = "751 1111111111" ]
ok $? "get -P keeps mode 0751 and mtime"

# 500 small files, odd names, both directions
mkdir -p "$L/many"
for i in $(seq 1 500); do
	case $((i % 4)) in
	0) nm="plain$i";; 1) nm="with space $i";; 2) nm="ünïcödé-$i";; 3) nm="日本語 $i.txt";;
	esac
	head -c $(( (i * 7919) % 70000 )) /dev/urandom >"$L/many/$nm"
	chmod $(( i % 2 ? 640 : 600 )) "$L/many/$nm"
	touch -m -d @$((1200000000 + i)) "$L/many/$nm"
done
"${X[@]}" -P 127.0.0.1 put-dir "$L/many" "$R/many"
ok $? "put-dir of 500 files"
(cd "$L/many" && sha256sum -- * | sort) >"$T/sum.local"
(cd "$R/many" && sha256sum -- * | sort) >"$T/sum.remote"
cmp -s "$T/sum.local" "$T/sum.remote"
ok $? "500 files: sha256sums equal"
(cd "$L/many" && stat -c '%n %a %Y' -- * | sort) >"$T/st.local"
(cd "$R/many" && stat -c '%n %a %Y' -- * | sort) >"$T/st.remote"
cmp -s "$T/st.local" "$T/st.remote"
ok $? "500 files: modes and mtimes equal"
"${X[@]}" -P 127.0.0.1 get-dir "$R/many" "$B/many"
ok $? "get-dir of 500 files"
(cd "$B/many" && sha256sum -- * | sort) >"$T/sum.back"
cmp -s "$T/sum.local" "$T/sum.back"
ok $? "500 files back: sha256sums equal"
(cd "$B/many" && stat -c '%n %a %Y' -- * | sort) >"$T/st.back"
cmp -s "$T/st.local" "$T/st.back"
ok $? "500 files back: modes and mtimes equal"

# errors
out=$("${X[@]}" 127.0.0.1 stat "$R/missing" 2>&1)
[ $? = 1 ] && grep -q "no such file" <<<"$out" && grep -q "$R/missing" <<<"$out"
ok $? "missing remote file: clear message ($out)"
: >"$T/empty_kh"
out=$("$BUILD/xfer_cli" -p "$SSHD_PORT" -l root -i "$SSHD_KEY" -A -o "$T/empty_kh" -F none 127.0.0.1 stat / 2>&1)
[ $? = 1 ] && grep -q "REFUSED" <<<"$out" && grep -q "$SSHD_HOSTKEY_FP" <<<"$out"
ok $? "unknown host key refused with the fingerprint"
# (at once: far below the 120 s connect timeout, even on a loaded machine)
start=$(date +%s%N)
out=$("${X[@]}" -T 120000 -p 1 127.0.0.1 stat / 2>&1)
rc=$?; ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc = 1 ] && grep -q "Connection refused" <<<"$out" && [ $ms -lt 60000 ]
ok $? "closed port: refused in $ms ms"
out=$("${X[@]}" -s sftp-nobody 127.0.0.1 put "$L/m" "$SSHD_RO_DIR/x" 2>&1)
[ $? = 1 ] && grep -q "permission denied" <<<"$out"
ok $? "write into a 0500 dir as nobody: permission denied"
echo "# $out"

# ssh-agent: no identity file given, the key only in a throwaway agent
eval "$(ssh-agent -s -a "$T/agent.sock")" >/dev/null && AGENT_PID=$SSH_AGENT_PID
ssh-add -q "$SSHD_KEY" 2>/dev/null
A=("$BUILD/xfer_cli" -p "$SSHD_PORT" -l root -o "$SSHD_KNOWN_HOSTS" -F none)
"${A[@]}" 127.0.0.1 stat / >/dev/null 2>&1
ok $? "authenticates through ssh-agent (no identity file given)"
out=$("${A[@]}" -A 127.0.0.1 stat / 2>&1)
[ $? = 1 ] && grep -q "permission denied" <<<"$out"
ok $? "-A (no agent) and no key: permission denied"
kill "$AGENT_PID"; AGENT_PID=

echo "1..$n"
[ $failed = 0 ]
