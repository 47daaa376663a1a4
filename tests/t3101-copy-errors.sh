#!/bin/bash
# cpk copy failures: host keys, permissions, a file where a directory is
# needed, an unreachable host, bad operands, a journal of another transfer.
# Each one: a clear message, a non-zero exit, nothing half-copied.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup
chmod 0755 "$SCRATCH"	# the "nobody" server must reach its dirs
mkdir -p "$L/dir/sub"
echo data >"$L/file"; echo more >"$L/dir/sub/x"; echo y >"$L/dir/y"

# --- host keys ---
: >"$SCRATCH/empty_kh"
C=("$CPK" copy -q -F none -P "$SSHD_PORT" -i "$SSHD_KEY" -o GlobalKnownHostsFile=/dev/null)
is "$(run "${C[@]}" -o "UserKnownHostsFile=$SCRATCH/empty_kh" "$L/file" "$H:$R/k1")" 1 \
	"unknown host key: refused"
grep -q "$SSHD_HOSTKEY_FP" "$SCRATCH/err"; ok $? "  the message shows the fingerprint: $(head -c 300 "$SCRATCH/err")"
[ ! -e "$R/k1" ]; ok $? "  nothing copied"
is "$(run "${C[@]}" -o "UserKnownHostsFile=$SCRATCH/empty_kh" -o StrictHostKeyChecking=accept-new "$L/file" "$H:$R/k2")" 0 \
	"StrictHostKeyChecking=accept-new: copied"
grep -q "^\[127.0.0.1\]:$SSHD_PORT " "$SCRATCH/empty_kh"; ok $? "  and the key was added"
# a changed key of the same type (another ed25519 key recorded)
sed -i 's/ ssh-ed25519 .*/ ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOmuHzqbBXzqRPKiELjyyPR2n6CP1kEFJSl2fp7C6yWh/' "$SCRATCH/empty_kh"
cp "$SCRATCH/empty_kh" "$SCRATCH/changed_kh"
for policy in yes accept-new; do
	is "$(run "${C[@]}" -o "UserKnownHostsFile=$SCRATCH/changed_kh" -o StrictHostKeyChecking=$policy "$L/file" "$H:$R/k3")" 1 \
		"a changed host key (same type) is refused with StrictHostKeyChecking=$policy"
	grep -q "REFUSED: the host key of \[127.0.0.1\]:$SSHD_PORT has CHANGED" "$SCRATCH/err" &&
		grep -q "$SSHD_HOSTKEY_FP" "$SCRATCH/err"
	ok $? "  says it changed, with the offered fingerprint: $(head -c 300 "$SCRATCH/err")"
	cmp -s "$SCRATCH/changed_kh" "$SCRATCH/empty_kh"; ok $? "  known_hosts untouched"
	[ ! -e "$R/k3" ]; ok $? "  nothing copied"
done

# known_hosts records an ed25519 key; the server offers only an RSA or an
# ECDSA key: refused (as OpenSSH does), never accepted nor added
for type in rsa ecdsa; do
	other_sshd $type
	echo "[127.0.0.1]:$O_PORT $(cut -d' ' -f1,2 "$SSHD_DIR/host_ed25519.pub")" >"$SCRATCH/kh-$type"
	cp "$SCRATCH/kh-$type" "$SCRATCH/kh-$type.before"
	OC=("$CPK" copy -q -F none -P "$O_PORT" -i "$SSHD_KEY" -o GlobalKnownHostsFile=/dev/null)
	for policy in yes accept-new; do
		is "$(run "${OC[@]}" -o "UserKnownHostsFile=$SCRATCH/kh-$type" -o StrictHostKeyChecking=$policy \
			"$L/file" "$H:$R/kt-$type")" 1 \
			"server offers only $type, known_hosts has ed25519, StrictHostKeyChecking=$policy: refused"
		grep -q "REFUSED: \[127.0.0.1\]:$O_PORT offers a .* host key ($O_FP)" "$SCRATCH/err" &&
			grep -q "records a key of another type" "$SCRATCH/err"
		ok $? "  says so, with the offered fingerprint: $(head -c 300 "$SCRATCH/err")"
		cmp -s "$SCRATCH/kh-$type" "$SCRATCH/kh-$type.before"; ok $? "  known_hosts untouched"
		[ ! -e "$R/kt-$type" ]; ok $? "  nothing copied"
	done
	: >"$SCRATCH/kh-$type-empty"
	is "$(run "${OC[@]}" -o "UserKnownHostsFile=$SCRATCH/kh-$type-empty" "$L/file" "$H:$R/kt-$type")" 1 \
		"$type host key unknown: refused"
	grep -q "$O_FP" "$SCRATCH/err"; ok $? "  shows its fingerprint as ssh-keygen -l does: $O_FP"
	is "$(run "${OC[@]}" -o "UserKnownHostsFile=$O_KNOWN_HOSTS" "$L/file" "$H:$R/kt-$type")" 0 \
		"the right $type key in known_hosts: copied"
	cmp -s "$L/file" "$R/kt-$type"; ok $? "  equal"
done

# --- permissions (the sftp-nobody subsystem runs as uid 65534) ---
is "$(run "${COPY[@]}" --subsystem sftp-nobody "$L/file" "$H:$SSHD_RO_DIR/x")" 1 \
	"put into a 0500 root dir as nobody: fails"
grep -q "permission denied" "$SCRATCH/err" && grep -q "copied 0 of 1 files" "$SCRATCH/err"
ok $? "  says permission denied and what was not copied: $(cat "$SCRATCH/err")"
is "$(run "${COPY[@]}" -r --subsystem sftp-nobody "$L/dir" "$H:$SSHD_RO_DIR")" 1 \
	"put -r into a 0500 root dir as nobody: fails"
grep -q "cannot create the directory $SSHD_RO_DIR/dir.*permission denied" "$SCRATCH/err"
ok $? "  names the directory: $(cat "$SCRATCH/err")"
mkdir -m 0777 "$R/open"; echo a >"$R/open/readable"; echo b >"$R/open/locked"
chmod 0600 "$R/open/locked"; chmod 0644 "$R/open/readable"
is "$(run "${COPY[@]}" --subsystem sftp-nobody "$H:$R/open/readable" "$H:$R/open/locked" "$B")" 1 \
	"get a readable and an unreadable file as nobody: fails"
grep -q "copied 1 of 2 files" "$SCRATCH/err" && grep -q "$B/locked.*permission denied" "$SCRATCH/err"
ok $? "  one copied, the other named: $(cat "$SCRATCH/err")"
cmp -s "$R/open/readable" "$B/readable"; ok $? "  the readable one is complete"
[ ! -e "$B/locked" ]; ok $? "  the other is not there, not even in part"
no_partials "$B"; ok $? "  no temporary files left"
mkdir -p -m 0755 "$R/open/tree/a/b" "$R/open/tree/locked/c"; echo x >"$R/open/tree/a/b/f"
chmod 0700 "$R/open/tree/locked"
is "$(run "${COPY[@]}" -r --subsystem sftp-nobody "$H:$R/open/tree" "$B")" 1 \
	"get -r a tree with an unreadable directory as nobody: fails"
grep -q "cannot open directory $R/open/tree/locked.*permission denied" "$SCRATCH/err"
ok $? "  names the directory: $(cat "$SCRATCH/err")"

# --- disk full: the local destination is a 1 MiB tmpfs (own mount namespace) ---
head -c 3000000 /dev/urandom >"$R/three-mb"; echo small >"$R/small"
mkdir "$B/full"
if can_unshare; then
	is "$(run unshare -m --propagation private sh -c 'mount -t tmpfs -o size=1m tmpfs "$1" && shift && "$@"' sh \
		"$B/full" "${COPY[@]}" --chunk-min 1M --chunk-max 1M "$H:$R/small" "$H:$R/three-mb" "$B/full")" 1 \
		"get into a full disk: fails"
	grep -q "copied 1 of 2 files" "$SCRATCH/err" && grep -q "$B/full/three-mb (.*No space left on device" "$SCRATCH/err"
	ok $? "  says what was copied and what not, and why: $(cat "$SCRATCH/err")"
else
	skip "get into a full disk: fails" "needs root and a private mount namespace (unshare -m)"
	skip "  says what was copied and what not, and why" "no mount namespace"
fi

# --- a file where a directory is needed ---
echo f >"$R/afile"
is "$(run "${COPY[@]}" -r "$L/dir" "$H:$R/afile/sub")" 1 "put -r below a remote file: fails"
is "$(run "${COPY[@]}" -r "$L/dir" "$H:$R/afile")" 1 "put -r onto a remote file: fails"
grep -q "a directory is needed" "$SCRATCH/err"; ok $? "  says a directory is needed: $(cat "$SCRATCH/err")"
is "$(cat "$R/afile")" f "  the file is untouched"
echo g >"$B/lfile"
is "$(run "${COPY[@]}" -r "$H:$R/open" "$B/lfile")" 1 "get -r onto a local file: fails"
grep -q "a directory is needed" "$SCRATCH/err"; ok $? "  says a directory is needed"
is "$(run "${COPY[@]}" "$L/file" "$L/dir/y" "$H:$R/afile")" 1 "two sources, destination a file: fails"
grep -q "is not a directory" "$SCRATCH/err"; ok $? "  says it is not a directory"

# --- unreachable host: a closed loopback port ---
# (at once: well before the 120 s connect timeout, even on a loaded machine)
start=$(date +%s%N)
is "$(run "$CPK" copy -q -F none -P 1 -i "$SSHD_KEY" -o ConnectTimeout=120 "$L/file" "$H:$R/u")" 1 \
	"closed port: fails"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -qi "refused" "$SCRATCH/err" && [ "$ms" -lt 60000 ]
ok $? "  at once ($ms ms), saying so: $(cat "$SCRATCH/err")"

# --- operands ---
is "$(run "${COPY[@]}" "$L/dir" "$H:$R/d")" 1 "a directory without -r: fails"
grep -q "is a directory (use -r" "$SCRATCH/err"; ok $? "  says to use -r"
is "$(run "${COPY[@]}" "$L/missing" "$H:$R/m")" 1 "a missing source: fails"
grep -q "$L/missing" "$SCRATCH/err"; ok $? "  names it: $(cat "$SCRATCH/err")"
is "$(run "${COPY[@]}" "$H:$R/missing" "$B")" 1 "a missing remote source: fails"
grep -q "$R/missing" "$SCRATCH/err"; ok $? "  names it: $(cat "$SCRATCH/err")"
is "$(run "$CPK" copy "$L/file")" 2 "one operand: usage error"
is "$(run "$CPK" copy "$L/file" "$B/x")" 2 "no remote side: usage error"
is "$(run "$CPK" copy "a:x" "b:y")" 2 "both sides remote: usage error"
is "$(run "$CPK" copy -n 0 "$L/file" "$H:x")" 2 "-n 0: usage error"
# numbers and sizes (cpk/parse.h): "OPTION VALUE|what stderr says"
while IFS='|' read -r opt want; do
	set -- $opt
	is "$(run "$CPK" copy "$@" "$L/file" "$H:x")" 2 "$opt: usage error"
	grep -qF -- "$want" "$SCRATCH/err"; ok $? "  says: $(head -1 "$SCRATCH/err")"
done <<'EOF'
-n 0|-n: not a number of connections: 0 (out of range: 1..64)
-n 65|-n: not a number of connections: 65 (out of range: 1..64)
-n 99999999999999999999|-n: not a number of connections: 99999999999999999999 (out of range
-n -1|-n: not a number of connections: -1 (not a whole number)
-n 2x|-n: not a number of connections: 2x (not a whole number)
-P 1k|-P: not a port number: 1k (not a whole number)
-P 65536|-P: not a port number: 65536 (out of range: 1..65535)
-o Port=1k|-o Port: not a port number: 1k
-o ConnectTimeout=0|-o ConnectTimeout: not a number of seconds: 0
--chunk-min 8X|--chunk-min: not a size: 8X (not a size
--chunk-max 16777216T|--chunk-max: not a size: 16777216T (out of range
--chunk-max 0|--chunk-max: not a size: 0 (out of range
--retries 101|--retries: not a number of tries: 101
--segment 1k|--segment: not a number of entries: 1k
--throttle-ms -5|--throttle-ms: not a number of milliseconds: -5
EOF
is "$(run "$CPK" copy -o Bogus=1 "$L/file" "$H:x")" 2 "unsupported -o: usage error"
is "$(run "$CPK" copy --help)" 0 "--help"
grep -q -- "--resume" "$SCRATCH/out"; ok $? "  lists --resume"

# --- a journal of another transfer ---
J=$SCRATCH/journal
printf 'cpk-journal 1\ndirection put\nsource /elsewhere\n.\nC 0 0\n' >"$J"
is "$(run "${COPY[@]}" --resume "$J" "$L/file" "$H:$R/j")" 1 "a journal of another transfer: refused"
grep -q "cannot resume from $J: it describes another transfer" "$SCRATCH/err"
ok $? "  says so: $(cat "$SCRATCH/err")"
[ ! -e "$R/j" ]; ok $? "  nothing copied"
done_testing
