#!/bin/bash
# cpk copy failure paths, each forced by the server side: a remote
# sha256sum that lies (--verify must fail, naming the file), connections
# that die a counted number of times (exactly --retries retries), a final
# rename that fails (the file is not reported as copied), and the rule for
# setuid/setgid/sticky bits (dropped unless --preserve=all) and for modes
# without preservation (the source's mode less the umask, as cp).
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
umask 022	# the rule for modes without -p depends on it (both sides)
copy_setup
SFTP_SERVER=${SFTP_SERVER:-/usr/lib/openssh/sftp-server}
CH=(--chunk-min 1M --chunk-max 1M)

# --- verification against a remote sha256sum that lies ---
# Every command of this sshd goes through $SCRATCH/force: SFTP to the
# real sftp-server, "exec sha256sum ..." to a fake one whose behaviour
# $SCRATCH/fake-mode sets: right (the real one), wrong (the hash of every
# file whose name holds "bad" has its first digit changed), none (prints
# nothing, like a missing sha256sum), garbage (a long line that is no hash
# for each file).
mkdir "$SCRATCH/fakebin"
cat >"$SCRATCH/fakebin/sha256sum" <<EOF
#!/bin/sh
case \$(cat "$SCRATCH/fake-mode") in
right) exec /usr/bin/sha256sum "\$@";;
none) exit 127;;
garbage) for f; do [ "\$f" = -- ] || echo "no hash here, not hex at all: \$f .................................."; done; exit 0;;
esac
/usr/bin/sha256sum "\$@" | perl -pe 's/^(\\\\?)(.)/\$1 . (\$2 eq "0" ? "1" : "0")/e if /^\S+ .*bad/'
EOF
fake_sha256sum_sshd
mkdir "$L/v" "$R/v1" "$R/v2" "$R/v3" "$R/v4" "$B/v1" "$B/v2"
echo one >"$L/v/good1"; echo two >"$L/v/bad"; echo three >"$L/v/good2"
head -c $((3 * M)) /dev/urandom >"$L/v/bad-big"
echo right >"$SCRATCH/fake-mode"
is "$(run "${V[@]}" --json --verify "$L/v/good1" "$L/v/bad" "$L/v/good2" "$H:$R/v1")" 0 \
	"--verify with an honest remote sha256sum: copied"
is "$(json_field verified)" 3 "  3 files verified"
echo wrong >"$SCRATCH/fake-mode"
is "$(run "${V[@]}" --json --verify "${CH[@]}" "$L/v/good1" "$L/v/bad" "$L/v/good2" "$L/v/bad-big" "$H:$R/v2")" 1 \
	"put --verify, the remote sha256sum gives wrong hashes for two files: fails"
is "$(json_field verified)" 2 "  2 files verified"
grep -q "$R/v2/bad (verification failed: SHA-256 differs)" "$SCRATCH/out" &&
	grep -q "$R/v2/bad-big (verification failed: SHA-256 differs)" "$SCRATCH/out"
ok $? "  names both files and says why: $(head -c 400 "$SCRATCH/out")"
is "$(json_field files_done) $(json_field files_failed)" "2 2" "  counts them as failed, not as done"
grep -q "copied 2 of 4 files" "$SCRATCH/out"; ok $? "  says 2 of 4 were copied"
is "$(run "${V[@]}" --verify "$H:$R/v1/good1" "$H:$R/v1/bad" "$B/v1")" 1 \
	"get --verify, the remote sha256sum gives a wrong hash: fails"
grep -q "$B/v1/bad (verification failed: SHA-256 differs)" "$SCRATCH/err"
ok $? "  names the file: $(cat "$SCRATCH/err")"
is "$(run "${V[@]}" --json -V "$L/v/good1" "$L/v/bad" "$H:$R/v3")" 0 \
	"--verify-read does not use sha256sum: copied"
is "$(json_field verified)" 2 "  2 files verified by reading them back"
echo none >"$SCRATCH/fake-mode"
is "$(run "${V[@]}" --json --verify "${CH[@]}" "$L/v/good1" "$L/v/bad" "$L/v/bad-big" "$H:$R/v4")" 0 \
	"--verify without a remote sha256sum: read back instead, copied"
is "$(json_field verified)" 3 "  3 files verified"
is "$(run "${V[@]}" --json --verify "$H:$R/v4/good1" "$H:$R/v4/bad" "$B/v2")" 0 \
	"get --verify without a remote sha256sum: copied"
is "$(json_field verified)" 2 "  2 files verified"
# more names than one sha256sum command line takes (96 KiB): hashed in
# several commands, each file matched with its own line
echo right >"$SCRATCH/fake-mode"
LONG=$(printf 'n%.0s' $(seq 1 150))
mkdir "$L/vmany"
for i in $(seq 1 800); do echo "$i" >"$L/vmany/$LONG-$i"; done
is "$(run "${V[@]}" -r --json --verify "$L/vmany" "$H:$R")" 0 \
	"--verify of 800 files of 150-character names (several sha256sum commands)"
is "$(json_field verified)" 800 "  800 files verified"
echo wrong >"$SCRATCH/fake-mode"
mv "$L/vmany/$LONG-700" "$L/vmany/$LONG-700-bad"
is "$(run "${V[@]}" -r --json --verify "$L/vmany" "$H:$R/vmany2")" 1 \
	"  the same with a wrong hash for one file in the last command: fails"
is "$(json_field verified)" 799 "  799 files verified"
grep -q -- "-700-bad (verification failed: SHA-256 differs)" "$SCRATCH/out"; ok $? "  names that file"
echo garbage >"$SCRATCH/fake-mode"
mkdir "$R/v5"
is "$(run "${V[@]}" --json --verify "${CH[@]}" "$L/v/good1" "$L/v/bad-big" "$H:$R/v5")" 0 \
	"--verify, the remote sha256sum prints no hashes: read back instead, copied"
is "$(json_field verified)" 2 "  2 files verified"

# --- retries: connections that die a counted number of times ---
# The "sftp-flaky" subsystem counts its starts in $SCRATCH/starts; the
# first $(cat $SCRATCH/fails) of them die after 64 KiB of requests (the
# server reads end of file), the others are the plain sftp-server.  With
# one connection of one channel, each start is one attempt.
cat >"$SCRATCH/flaky" <<EOF
#!/bin/sh
n=\$((\$(cat "$SCRATCH/starts") + 1)); echo \$n >"$SCRATCH/starts"
if [ \$n -le \$(cat "$SCRATCH/fails") ]; then
	perl -e '\$t = 0; while (\$t < 65536 && (\$n = sysread(STDIN, \$b, 65536 - \$t)) > 0) { syswrite(STDOUT, \$b); \$t += \$n }' |
		$SFTP_SERVER
else
	exec $SFTP_SERVER
fi
EOF
chmod 755 "$SCRATCH/flaky"
SSHD_EXTRA_CONFIG="Subsystem sftp-flaky $SCRATCH/flaky" other_sshd ed25519
F=("$CPK" copy -q -F none -P "$O_PORT" -i "$SSHD_KEY" -o "UserKnownHostsFile=$O_KNOWN_HOSTS"
   -o GlobalKnownHostsFile=/dev/null --subsystem sftp-flaky -n 1 --channels 1 "${CH[@]}")
head -c $((512 * 1024)) /dev/urandom >"$L/small"
head -c $((M + 1)) /dev/urandom >"$L/big"	# two chunks: 1 MiB and 1 byte
# retry_case KIND RETRIES FAILS: copies $L/KIND with --retries RETRIES
# (none: the default) while the first FAILS connections die.
retry_case() {
	local opt=()
	[ "$2" = none ] || opt=(--retries "$2")
	echo 0 >"$SCRATCH/starts"; echo "$3" >"$SCRATCH/fails"
	rm -f "$R/r-$1"
	run "${F[@]}" "${opt[@]}" --json "$L/$1" "$H:$R/r-$1"
}
for kind in small big; do
	for r in 0 1 2 none; do
		n=$r; [ $r = none ] && n=3
		is "$(retry_case $kind $r $n)" 0 \
			"$kind file, --retries $r, the first $n connections die: copied"
		is "$(json_field retries) $(json_field reconnects)" "$n $n" "  after $n retries and $n reconnects"
		is "$(cat "$SCRATCH/starts")" $((n + 1)) "  on the $((n + 1))th connection"
		cmp -s "$L/$kind" "$R/r-$kind"; ok $? "  equal"
		is "$(retry_case $kind $r $((n + 1)))" 1 \
			"$kind file, --retries $r, the first $((n + 1)) connections die: fails"
		grep -q "$R/r-$kind (gave up after $((n + 1)) connection failures" "$SCRATCH/out"
		ok $? "  names the file, says after how many: $(head -c 300 "$SCRATCH/out")"
		is "$(json_field retries) $(json_field files_failed)" "$n 1" "  after $n retries, one file failed"
		[ ! -e "$R/r-$kind" ] && no_partials "$R"; ok $? "  no final name, no temporary file"
	done
done

# --- resume after the temporary file of a chunked upload vanished ---
# The journal lists chunks that are no longer anywhere: all are sent again.
J=$SCRATCH/j-vanished
head -c $((16 * M)) /dev/urandom >"$L/vanish"
"${COPY[@]}" "${CH[@]}" -n 1 --channels 1 --throttle-ms 200 --resume "$J" "$L/vanish" "$H:$R/vanish" \
	>/dev/null 2>&1 &
pid=$!
wait_records "$J" '^C ' 2 "$pid"; ok $? "a chunked upload killed after 2 chunks"
kill -9 "$pid"; wait "$pid" 2>/dev/null
K=$(records "$J" '^C [0-9]* [0-9]*$')
rm "$R/.vanish.$(sed -n 's/^K //p' "$J").cpk-part"; ok $? "  its temporary file removed"
is "$(run "${COPY[@]}" "${CH[@]}" -n 1 --channels 1 --json --resume "$J" "$L/vanish" "$H:$R/vanish")" 0 \
	"  --resume succeeds"
is "$(json_field chunks_skipped) $(json_field chunks_sent)" "0 16" "  the $K chunks of the journal are sent again"
cmp -s "$L/vanish" "$R/vanish"; ok $? "  equal"

# --- the final rename fails: a non-empty directory holds the name ---
# (the data is written under the temporary name; only the rename fails)
mkdir -p "$L/rn" "$R/rn/small/keep" "$R/rn/big/keep" "$B/rn/small/keep" "$B/rn/big/keep"
echo small >"$L/rn/small"; head -c $((3 * M)) /dev/urandom >"$L/rn/big"; echo ok >"$L/rn/fine"
is "$(run "${COPY[@]}" -r "${CH[@]}" "$L/rn" "$H:$R")" 1 \
	"put: the rename of a small and a chunked file fails: fails"
grep -q "copied 1 of 3 files" "$SCRATCH/err" && grep -q "$R/rn/small (cannot rename" "$SCRATCH/err" &&
	grep -q "$R/rn/big (cannot rename" "$SCRATCH/err"
ok $? "  names both files, says the rename failed: $(cat "$SCRATCH/err")"
[ -d "$R/rn/small/keep" ] && [ -d "$R/rn/big/keep" ] && cmp -s "$L/rn/fine" "$R/rn/fine"
ok $? "  what was there is untouched, the other file copied"
no_partials "$R/rn"; ok $? "  no temporary files left"
is "$(run "${COPY[@]}" -r "${CH[@]}" "$H:$L/rn" "$B")" 1 \
	"get: the rename of a small and a chunked file fails: fails"
grep -q "copied 1 of 3 files" "$SCRATCH/err" && grep -q "$B/rn/small (cannot rename" "$SCRATCH/err" &&
	grep -q "$B/rn/big (cannot rename" "$SCRATCH/err"
ok $? "  names both files, says the rename failed: $(cat "$SCRATCH/err")"
[ -d "$B/rn/small/keep" ] && [ -d "$B/rn/big/keep" ] && cmp -s "$L/rn/fine" "$B/rn/fine"
ok $? "  what was there is untouched, the other file copied"
no_partials "$B/rn"; ok $? "  no temporary files left"

# --- setuid, setgid and sticky bits ---
# The rule: with preservation (the default) the permission bits (0777) are
# copied both ways, setuid, setgid and sticky dropped (as sftp -p does;
# here root on both sides); --preserve=all copies them too; with
# --no-preserve new files get the source's 0777 bits less the umask (as cp
# without -p), whatever their size.
mkdir "$L/sp" "$R/sp" "$B/sp" "$R/sa" "$B/sa" "$R/np" "$B/np"
for m in 4755 2750 1777 6711 7777 4700; do
	echo x >"$L/sp/s$m"; head -c $((2 * M + 1)) /dev/urandom >"$L/sp/b$m"
	chmod $m "$L/sp/s$m" "$L/sp/b$m"
done
# masked DIR MASK: "name mode" of every file of DIR, the mode & MASK
masked() { (cd "$1" && for f in *; do printf '%s %o\n' "$f" $((0$(stat -c %a "$f") & $2)); done); }
is "$(run "${COPY[@]}" "${CH[@]}" "$L"/sp/* "$H:$R/sp")" 0 "put files with special mode bits"
is "$(cd "$R/sp" && stat -c '%n %a' *)" "$(masked "$L/sp" 0777)" \
	"  small and chunked files lose setuid, setgid and sticky bits by default"
srcs=(); for f in "$L"/sp/*; do srcs+=("$H:$f"); done
is "$(run "${COPY[@]}" "${CH[@]}" "${srcs[@]}" "$B/sp")" 0 "get them"
is "$(cd "$B/sp" && stat -c '%n %a' *)" "$(masked "$L/sp" 0777)" \
	"  small and chunked files lose setuid, setgid and sticky bits by default"
is "$(run "${COPY[@]}" "${CH[@]}" --preserve=all "$L"/sp/* "$H:$R/sa")" 0 "put them with --preserve=all"
is "$(cd "$R/sa" && stat -c '%n %a' *)" "$(cd "$L/sp" && stat -c '%n %a' *)" \
	"  small and chunked files keep setuid, setgid and sticky bits"
is "$(run "${COPY[@]}" "${CH[@]}" --preserve=all "${srcs[@]}" "$B/sa")" 0 "get them with --preserve=all"
is "$(cd "$B/sa" && stat -c '%n %a' *)" "$(cd "$L/sp" && stat -c '%n %a' *)" \
	"  small and chunked files keep setuid, setgid and sticky bits"
is "$(run "${COPY[@]}" --preserve=mode "$L/sp/s4755" "$H:$R/sa")" 2 "--preserve=mode: a usage error"
is "$(umask 027; run "${COPY[@]}" "${CH[@]}" --no-preserve "$L"/sp/* "$H:$R/np")" 0 \
	"put them with --no-preserve under umask 027"
is "$(cd "$R/np" && stat -c '%n %a' *)" "$(masked "$L/sp" 0750)" \
	"  the source's mode less the umask, small and chunked alike"
is "$(umask 027; run "${COPY[@]}" "${CH[@]}" --no-preserve "${srcs[@]}" "$B/np")" 0 \
	"get them with --no-preserve under umask 027"
is "$(cd "$B/np" && stat -c '%n %a' *)" "$(masked "$L/sp" 0750)" \
	"  the source's mode less the umask, small and chunked alike"
done_testing
