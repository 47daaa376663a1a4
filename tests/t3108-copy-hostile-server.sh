#!/bin/bash
# cpk copy against a server that lies.  Listings: a real sshd whose
# "sftp-evil" subsystem is tests/progs/evil_sftpd, which serves the real
# files but adds hostile names to a directory's listing ("../../x", "a/b",
# an empty name, a name holding a NUL, "." and ".." again) or makes a file
# vanish between its listing and its use: nothing may be created outside the
# destination, each bad name is reported quoted, the good files are copied,
# the run fails.  Verification (--verify): a remote sha256sum that loses,
# renames or doubles a file's line, or a remote file deleted before it is
# hashed, fails that file by name; names that GNU sha256sum escapes are
# matched; 2,000 small files are verified in one command.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup
EVIL=${CPK_BUILD:-$TOP/build}/tests/progs/evil_sftpd
[ -x "$EVIL" ] || { echo "Bail out! $EVIL is not built"; exit 1; }
SFTP_SERVER=${SFTP_SERVER:-/usr/lib/openssh/sftp-server}

# --- hostile listings ---
CONF=$SCRATCH/evil.conf LOG=$SCRATCH/evil.log
: >"$CONF"
SSHD_EXTRA_CONFIG="Subsystem sftp-evil $EVIL --config $CONF --log $LOG" other_sshd ed25519
E=("$CPK" copy -q -F none -P "$O_PORT" -i "$SSHD_KEY" -o "UserKnownHostsFile=$O_KNOWN_HOSTS"
   -o GlobalKnownHostsFile=/dev/null --subsystem sftp-evil)
S=$R/src
mkdir -p "$S/sub" "$SCRATCH/x"
echo one >"$S/f1"; echo two >"$S/f2"; echo three >"$S/sub/f3"
# enough ../ to climb from any destination below $SCRATCH to /
UP=$(printf '../%.0s' $(seq 1 $(( $(tr -cd / <<<"$SCRATCH/back/dst/src/sub" | wc -c) + 2 ))))

# state_outside: every path under $SCRATCH except the destination and the
# daemons' own files (logs, pids), to compare before and after a copy.
state_outside() {
	(cd "$SCRATCH" && find . \( -path ./back/dst -o -path './sshd*' -o -path ./evil.log \
		-o -path ./out -o -path ./err -o -path ./before -o -path ./after \
		-o -path ./diff \) -prune -o -print | LC_ALL=C sort)
}
state_outside >"$SCRATCH/before"

cat >"$CONF" <<EOF
inject $S=$UP${SCRATCH#/}/x/PWNED
inject $S=sub/../../y
inject-dir $S=a/b
inject $S=
inject $S=f1\\000evil
inject-dir $S=.
inject-dir $S=..
inject $S=.
EOF
mkdir "$B/dst"
is "$(run "${E[@]}" -r --json "$H:$S" "$B/dst")" 1 "a listing with five bad names: the copy fails"
state_outside >"$SCRATCH/after"
diff "$SCRATCH/before" "$SCRATCH/after" >"$SCRATCH/diff"
ok $? "  nothing created or removed outside the destination: $(head -c 300 "$SCRATCH/diff")"
[ ! -e "$SCRATCH/x/PWNED" ] && [ ! -e "$B/y" ] && [ ! -e "$B/dst/y" ]
ok $? "  no PWNED, no y"
is "$(cd "$B/dst" && find . | LC_ALL=C sort | tr '\n' ' ')" ". ./src ./src/f1 ./src/f2 ./src/sub ./src/sub/f3 " \
	"  the destination holds exactly the good files"
cmp -s "$S/f1" "$B/dst/src/f1" && cmp -s "$S/sub/f3" "$B/dst/src/sub/f3"
ok $? "  and they are right"
is "$(json_field files_done) $(json_field files_failed) $(json_field files_total)" "3 5 8" \
	"  3 copied, the 5 bad names counted as failed"
for want in "/src/\"$UP${SCRATCH#/}/x/PWNED\" (name refused: a '/' inside the name)" \
	    "/src/\"sub/../../y\" (name refused: a '/' inside the name)" \
	    "/src/\"a/b\" (name refused: a '/' inside the name)" \
	    "/src/\"\" (name refused: an empty name)" \
	    "/src/\"f1\\000evil\" (name refused: a NUL byte inside the name)"; do
	grep -qF -- "$want" "$SCRATCH/err"; ok $? "  reports $want"
done
grep -qF -- '/src/"."' "$SCRATCH/err" || grep -qF -- '/src/".."' "$SCRATCH/err"
ok $((!$?)) "  \".\" and \"..\" listed again are dropped without a word"
! grep -E "^(OPEN|STAT|LSTAT|OPENDIR|READLINK) .*(PWNED|/y$|/a/b|evil)" "$LOG" >/dev/null
ok $? "  no bad name was joined into a path sent to the server"

# the same deeper, in a big directory read in pieces, and a file vanishing
# between its listing and its use
mkdir "$S/sub/big"
for i in $(seq 1 40); do echo "$i" >"$S/sub/big/n$i"; done
state_outside | grep -v '^\./remote/src/sub/big/n7$' >"$SCRATCH/before"
cat >"$CONF" <<EOF
inject-dir $S/sub/big=../../../../z
inject $S/sub/big=new\\nline/x\\033[31m
inject-dir $S/sub/big=..\\000
drop $S/sub/big/n7
EOF
rm -rf "$B/dst"; mkdir "$B/dst"
is "$(run "${E[@]}" -r --json --segment 16 "$H:$S/sub" "$B/dst")" 1 \
	"bad names in a directory read in pieces, a file gone before it is read: fails"
state_outside >"$SCRATCH/after"
diff "$SCRATCH/before" "$SCRATCH/after" >"$SCRATCH/diff"
ok $? "  nothing created outside the destination: $(head -c 300 "$SCRATCH/diff")"
[ ! -e "$R/z" ] && [ ! -e "$B/z" ] && [ ! -e "$SCRATCH/z" ]; ok $? "  no z"
is "$(ls "$B/dst/sub/big" | wc -l)" 39 "  the other 39 files copied"
is "$(json_field files_failed)" 4 "  4 failed"
grep -qF -- '/sub/big/"../../../../z" (name refused' "$SCRATCH/err" &&
	grep -qF -- '/sub/big/"..\000" (name refused: a NUL' "$SCRATCH/err" &&
	grep -qF -- '/sub/big/"new\nline/x\033[31m" (name refused' "$SCRATCH/err" &&
	grep -qF -- "/sub/big/n7 (" "$SCRATCH/err"
ok $? "  each named, control bytes escaped: $(head -c 600 "$SCRATCH/err")"
! grep -q $'\033' "$SCRATCH/out" "$SCRATCH/err"; ok $? "  no raw escape byte printed"

# the server itself: a short or malformed request is answered, not
# crashed on (INIT; OPEN without an id; OPEN with a string running past
# the packet; READDIR without a handle; an unknown request)
perl -e 'sub p { print pack("N", length($_[0])), $_[0] }
	p(pack("CN", 1, 3)); p(pack("C", 3)); p(pack("CNN", 3, 7, 1000));
	p(pack("CN", 12, 8)); p(pack("CN", 99, 9))' |
	"$EVIL" >"$SCRATCH/evil.out"; rc=$?
is "$rc $(perl -e 'local $/; $_ = <STDIN>; my @r;
	while (length) { my $n = unpack("N", $_); my $p = substr($_, 4, $n);
		substr($_, 0, 4 + $n) = ""; my ($t, $id, $c) = unpack("CNN", $p);
		push @r, $t == 2 ? "version$id" : "$t:$id:$c" } print "@r"' <"$SCRATCH/evil.out")" \
	"0 version3 101:0:5 101:7:5 101:8:5 101:9:8" \
	"evil_sftpd answers short and malformed requests with BAD_MESSAGE, unknown ones with OP_UNSUPPORTED"

# --- verification against a remote sha256sum that lies ---
# Every command of this sshd goes through $SCRATCH/force: "exec sha256sum"
# to the fake one, the rest to the real sftp-server.  The fake counts its
# runs in $SCRATCH/execs and does what $SCRATCH/fake-mode says to the line
# of the file whose path is in $SCRATCH/victim: right (nothing), delete
# (the file is deleted first), drop (its line is left out), rename (its line
# names another file), twice (a second line with another hash).
mkdir "$SCRATCH/fakebin"
cat >"$SCRATCH/fakebin/sha256sum" <<EOF
#!/bin/sh
echo run >>"$SCRATCH/execs"
v=\$(cat "$SCRATCH/victim")
case \$(cat "$SCRATCH/fake-mode") in
right) exec /usr/bin/sha256sum "\$@";;
delete) rm -f "\$v"; exec /usr/bin/sha256sum "\$@";;
esac
/usr/bin/sha256sum "\$@" | V="\$v" M="\$(cat "$SCRATCH/fake-mode")" perl -ne '
	if (/^[0-9a-f]{64}  \Q\$ENV{V}\E\$/) {
		next if \$ENV{M} eq "drop";
		s/\$/-renamed/ if \$ENV{M} eq "rename";
		print "0" x 64, substr(\$_, 64) if \$ENV{M} eq "twice";
	}
	print'
EOF
fake_sha256sum_sshd
# victim and its neighbours hold the same bytes: matched by position, the
# line of one would pass for the other
mkdir -p "$L/vt"
for f in a victim w; do echo same >"$L/vt/$f"; done
printf 'nl\n' >"$L/vt/new
line"; printf 'bs\n' >"$L/vt/back\\slash"
N=0
vcase() {	# vcase MODE DIRECTION WANT-RC NAME
	N=$((N + 1))
	echo "$1" >"$SCRATCH/fake-mode"
	if [ "$2" = put ]; then
		echo "$R/v$N/vt/victim" >"$SCRATCH/victim"
		mkdir "$R/v$N"
		got=$(run "${V[@]}" -r --json --verify "$L/vt" "$H:$R/v$N")
	else
		mkdir -p "$R/g$N" "$B/g$N" && cp -a "$L/vt" "$R/g$N/"
		echo "$R/g$N/vt/victim" >"$SCRATCH/victim"
		got=$(run "${V[@]}" -r --json --verify "$H:$R/g$N/vt" "$B/g$N")
	fi
	is "$got" "$3" "$2 --verify, remote sha256sum $1: $4"
}
vcase right put 0 "names with a newline and a backslash (escaped by sha256sum) matched"
is "$(json_field verified)" 5 "  5 files verified"
for dir in put get; do
	for mode in delete drop rename twice; do
		vcase $mode $dir 1 "fails"
		is "$(json_field verified)" 4 "  the 4 others verified"
		why="no line for it from the remote sha256sum"
		[ $mode = twice ] && why="the remote sha256sum gave two different lines"
		grep -q "/vt/victim (verification failed: $why" "$SCRATCH/out"
		ok $? "  names the file and says why: $(grep -o '/vt/victim ([^)]*)' "$SCRATCH/out")"
	done
done
vcase right get 0 "names with a newline and a backslash matched"

# 2,000 small files: one sha256sum command
mkdir -p "$L/m"
(cd "$L/m" && seq -f '%04g' 1 2000 | xargs touch)
echo right >"$SCRATCH/fake-mode"; : >"$SCRATCH/execs"
is "$(run "${V[@]}" -r --json --verify "$L/m" "$H:$R")" 0 "--verify of 2,000 small files"
is "$(json_field verified)" 2000 "  all verified"
is "$(wc -l <"$SCRATCH/execs")" 1 "  with one sha256sum command"

done_testing
