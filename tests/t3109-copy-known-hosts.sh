#!/bin/bash
# cpk copy and the known_hosts markers libssh skips: a key under @revoked is
# refused in the user's and the global file, whatever the host field and
# whatever line accepts it; a @cert-authority line is no host key; hashed
# hosts, junk lines, long lines and odd files are read safely.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup
echo data >"$L/file"

HN="[127.0.0.1]:$SSHD_PORT"
KEY=$(cut -d' ' -f1,2 "$SSHD_DIR/host_ed25519.pub")	# "ssh-ed25519 AAAA..."
BLOB=${KEY#* }
ssh-keygen -q -t ed25519 -N '' -C other -f "$SCRATCH/other_key" </dev/null
OTHER=$(cut -d' ' -f1,2 "$SCRATCH/other_key.pub")
ssh-keygen -q -t rsa -b 2048 -N '' -C other -f "$SCRATCH/other_rsa" </dev/null
ACCEPT="$HN $KEY"
# hashed: HN hashed (an accepting line), and another host hashed
hashed() {
	echo "$1 $KEY" >"$SCRATCH/h" && ssh-keygen -q -H -f "$SCRATCH/h" >/dev/null 2>&1 &&
		cut -d' ' -f1 "$SCRATCH/h"
	rm -f "$SCRATCH/h" "$SCRATCH/h.old"
}
HASHED=$(hashed "$HN") HASHED_OTHER=$(hashed otherhost.example)
case $HASHED$HASHED_OTHER in
'|1|'*'|1|'*) ;;
*) echo "Bail out! ssh-keygen -H did not hash: '$HASHED' '$HASHED_OTHER'"; exit 1;;
esac

UK=$SCRATCH/user_kh GK=$SCRATCH/global_kh
: >"$GK"
C=("$CPK" copy -q -F none -P "$SSHD_PORT" -i "$SSHD_KEY" -o "UserKnownHostsFile=$UK")
N=0
# copy WANT NAME [OPTION...]: copies $L/file with the known_hosts files as
# they are (global: $GK) and checks the exit status; on success the copy
# must be complete, on failure nothing must be there.
copy() {
	local want=$1 name=$2; shift 2
	N=$((N + 1)); rm -f "$R/c$N"
	is "$(run "${C[@]}" -o "GlobalKnownHostsFile=$GK" "$@" "$L/file" "$H:$R/c$N")" "$want" "$name"
	if [ "$want" = 0 ]; then
		cmp -s "$L/file" "$R/c$N"; ok $? "  copied"
	else
		[ ! -e "$R/c$N" ]; ok $? "  nothing copied"
	fi
}
# refused FILE LINE: the message of the last copy says the key is revoked,
# with its fingerprint, naming FILE and LINE.
refused() {
	grep -q "REFUSED: the host key of \[127.0.0.1\]:$SSHD_PORT (ssh-ed25519 $SSHD_HOSTKEY_FP) is REVOKED: $1 line $2 marks it @revoked" "$SCRATCH/err"
	ok $? "  says revoked, naming $(basename "$1") line $2: $(head -c 400 "$SCRATCH/err")"
}
kh() { printf '%s\n' "$@" >"$UK"; }

# --- the user's file ---
kh "$ACCEPT"
copy 0 "an accepting line: copied"
kh "@revoked $HN $KEY"
copy 1 "only a @revoked line: refused"
refused "$UK" 1
kh "@revoked $HN $KEY" "$ACCEPT"
copy 1 "@revoked, then an accepting line: refused"
refused "$UK" 1
kh "# comment" "" "$ACCEPT" "@revoked $HN $KEY"
copy 1 "an accepting line, then @revoked: refused"
refused "$UK" 4
kh "$ACCEPT" "@revoked * $KEY"
copy 1 "@revoked with host '*': refused"
refused "$UK" 2
kh "$ACCEPT" "@revoked otherhost.example,10.9.9.9 $KEY"
copy 1 "@revoked with another host: refused (any host field)"
refused "$UK" 2
kh "$ACCEPT" "@revoked $HASHED_OTHER $KEY"
copy 1 "@revoked with another host hashed: refused"
refused "$UK" 2
kh "$HASHED $KEY"
copy 0 "a hashed accepting line: copied"
kh "$HASHED $KEY" "@revoked $HASHED $KEY"
copy 1 "a hashed accepting line, @revoked with the host hashed: refused"
refused "$UK" 2
printf '%s\n' "$ACCEPT" "  @revoked	*   $KEY   a comment" >"$UK"
copy 1 "@revoked with tabs, spaces and a comment: refused"
refused "$UK" 2
printf '%s\n' "$ACCEPT" >"$UK"; printf '%s\r\n' "@revoked * $KEY" >>"$UK"
copy 1 "@revoked on a line ending in CRLF: refused"
refused "$UK" 2
printf '%s\n%s' "$ACCEPT" "@revoked * $KEY" >"$UK"
copy 1 "@revoked on a last line without newline: refused"
refused "$UK" 2
printf '%s\n' "$ACCEPT" >"$UK"; printf '@revoked * %s\0junk\n' "$KEY" >>"$UK"
copy 1 "@revoked, a NUL, junk: the line ends at the NUL (as OpenSSH), refused"
refused "$UK" 2
kh "@revoked $HN $OTHER" "@revoked * $(cut -d' ' -f1,2 "$SCRATCH/other_rsa.pub")" "$ACCEPT"
copy 0 "@revoked lines for other keys do not block"
kh "@revoked * ssh-rsa $BLOB" "$ACCEPT"
copy 0 "@revoked with the key under another type name: a malformed line, skipped (as OpenSSH)"
kh "@revoked * $KEY" "$ACCEPT"
copy 0 "StrictHostKeyChecking=no: a revoked key is not refused (as OpenSSH, which only warns)" \
	-o StrictHostKeyChecking=no

# accept-new never adds a revoked key
kh "@revoked * $KEY"; cp "$UK" "$UK.before"
copy 1 "StrictHostKeyChecking=accept-new, host only under @revoked: refused" \
	-o StrictHostKeyChecking=accept-new
refused "$UK" 1
cmp -s "$UK" "$UK.before"; ok $? "  the key was not added to known_hosts"

# --- @cert-authority: no host key ---
: >"$UK"
copy 1 "no line for the host: refused"
cp "$SCRATCH/err" "$SCRATCH/err.unknown"
grep -q "REFUSED: the host key of \[127.0.0.1\]:$SSHD_PORT is unknown" "$SCRATCH/err.unknown"
ok $? "  unknown: $(head -c 300 "$SCRATCH/err.unknown")"
for host in "$HN" "*"; do
	kh "@cert-authority $host $KEY"
	copy 1 "only a @cert-authority line (host '$host') with the host's key: refused as unknown"
	cmp -s "$SCRATCH/err" "$SCRATCH/err.unknown"; ok $? "  the same message as with no line: $(head -c 300 "$SCRATCH/err")"
	kh "@cert-authority $host $KEY" "$ACCEPT"
	copy 0 "@cert-authority (host '$host') and an accepting line: copied"
done

# --- the global file ---
kh "$ACCEPT"
printf '%s\n' "# global" "@revoked * $KEY" >"$GK"
copy 1 "accepted in the user's file, @revoked in the global file: refused"
refused "$GK" 2
: >"$UK"
printf '%s\n' "$ACCEPT" "@revoked $HASHED_OTHER $KEY" >"$GK"
copy 1 "accepted and @revoked in the global file: refused"
refused "$GK" 2
printf '%s\n' "$HASHED $KEY" "@revoked * $OTHER" >"$GK"
copy 0 "accepted (hashed) in the global file, another key @revoked: copied"
printf '%s\n' "@cert-authority * $KEY" >"$GK"
copy 1 "only a @cert-authority line in the global file: refused"
grep -q "REFUSED: the host key of \[127.0.0.1\]:$SSHD_PORT is unknown" "$SCRATCH/err"
ok $? "  as unknown: $(head -c 300 "$SCRATCH/err")"

# --- junk is skipped, never a crash: the user's file accepts; the global
# one (read only by our own check, as libssh stops at the user's file)
# holds junk, then a revocation ---
kh "$ACCEPT"
{
	printf '@revoked * ssh-ed25519 %s\n' "$(head -c 40000 /dev/zero | tr '\0' A)"
	printf '@revoked * ssh-ed25519 %s%s\n' "$BLOB" "$(head -c 20000 /dev/zero | tr '\0' ' ')"
	printf '%s\n' "@revoked" "@revoked *" "@revoked * ssh-ed25519" "@revoked * ssh-ed25519 !!!!" \
		"@revoked * ssh-ed25519 ${BLOB}A" "@revoked * ssh-ed25519 AAAA" "@revoked  " "@" \
		"@revokedx * $KEY" "@bogus * $KEY" "*"
} >"$GK"
copy 0 "junk in the global file: skipped, copied"
echo "@revoked * $KEY" >>"$GK"
copy 1 "junk, then @revoked: refused"
refused "$GK" 14
# odd files (a FIFO blocks libssh itself in ssh_connect: see the unit test
# xfer_knownhosts_test.c for ours)
rm -f "$GK"; mkdir "$GK"
copy 0 "global file is a directory: copied"
rmdir "$GK"
copy 0 "global file missing: copied"
kh "@revoked * $KEY" "$ACCEPT"
copy 1 "user's file revokes, global file missing: refused"
refused "$UK" 1
done_testing
