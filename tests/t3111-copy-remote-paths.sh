#!/bin/bash
# Remote paths as scp users type them (issue 11 items 2-4):
# - "~", "~/d", "~root" and another user's "~user" (expand-path@openssh.com),
#   against an sshd whose users' homes are the test's own (a mount
#   namespace with its own /etc/passwd); an unknown user and a server
#   without the extension fail with a message; put to "host:~" makes no
#   file named "~";
# - remote globs: '*', '?', "[ab]", a glob in a middle component, -r with a
#   glob matching directories, a literal component after a glob, a dot file
#   that '*' does not match, a trailing slash, "a\*b" naming the file a*b
#   (and not listing), a pattern that matches nothing (an error naming it;
#   the other sources are copied, as scp does, and the exit status is 1;
#   a --resume journal keeps the operands as typed);
# - the same forms with real scp (SFTP mode) on the same server: the same
#   files with the same content;
# - a hostile server (tests/progs/evil_sftpd) injecting "../x", "a/b",
#   ".." and a name listed twice into a globbed directory: only the real
#   files match, nothing is written outside the destination, no bad name
#   reaches a request; the matches are used in bytewise order;
# - one source into "dir/" that does not exist (or is a file): the message
#   says so, naming no temporary file (item 4), both directions.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup
EVIL=${CPK_BUILD:-$TOP/build}/tests/progs/evil_sftpd
[ -x "$EVIL" ] || { echo "Bail out! $EVIL is not built"; exit 1; }

# files_of DIR: every directory under DIR, and the sha256 of each file
files_of() {
	(cd "$1" && { find . -mindepth 1 -type d -printf 'd %p\n'
		      find . -type f -print0 | xargs -0r sha256sum; } | LC_ALL=C sort)
}
# sums_in DIR FILE...: the sha256 lines of these files of DIR, as files_of
sums_in() { (d=$1; shift; cd "$d" && sha256sum "$@" | LC_ALL=C sort); }
# fresh NAME: an empty local directory $B/NAME
fresh() { rm -rf "${B:?}/$1"; mkdir -p "$B/$1"; }

# --- globs against the plain sshd ------------------------------------------
G=$R/g
mkdir -p "$G/run1" "$G/run2" "$G/run-3/sub" "$G/other" "$G/dots"
echo o1 >"$G/run1/out1"; echo o2 >"$G/run2/out2"; echo o3 >"$G/run-3/out3"
echo x >"$G/run1/xx"; echo s >"$G/run-3/sub/s"
for n in a.txt b.txt ax bx cx ab 'a*b' 'a\b'; do echo "$n" >"$G/$n"; done
echo hidden >"$G/dots/.hid"; echo vis >"$G/dots/vis"

fresh g1
is "$(run "${COPY[@]}" "$H:$G/*.txt" "$B/g1")" 0 "'*.txt': copies the two .txt files"
is "$(ls "$B/g1" | tr '\n' ' ')" "a.txt b.txt " "  exactly those"
fresh g2
is "$(run "${COPY[@]}" "$H:$G/?x" "$B/g2")" 0 "'?x'"
is "$(ls "$B/g2" | tr '\n' ' ')" "ax bx cx " "  ax bx cx"
fresh g3
is "$(run "${COPY[@]}" "$H:$G/[ab]x" "$B/g3")" 0 "'[ab]x'"
is "$(ls "$B/g3" | tr '\n' ' ')" "ax bx " "  ax bx"
fresh g4
is "$(run "${COPY[@]}" "$H:$G/run*/out*" "$B/g4")" 0 "a glob in a middle component: 'run*/out*'"
is "$(ls "$B/g4" | tr '\n' ' ')" "out1 out2 out3 " "  out1 out2 out3"
cmp -s "$G/run-3/out3" "$B/g4/out3"; ok $? "  same content"
fresh g5
is "$(run "${COPY[@]}" -r "$H:$G/run*" "$B/g5")" 0 "-r with a glob matching directories"
is "$(cd "$B/g5" && find . -type f | LC_ALL=C sort | tr '\n' ' ')" \
	"./run-3/out3 ./run-3/sub/s ./run1/out1 ./run1/xx ./run2/out2 " "  the three trees"
fresh g6
is "$(run "${COPY[@]}" "$H:$G/run*" "$B/g6")" 1 "without -r, directories matched fail as operands do"
fresh g7
is "$(run "${COPY[@]}" "$H:$G/run*/out1" "$B/g7")" 0 "a literal component after a glob: only where it exists"
is "$(ls "$B/g7" | tr '\n' ' ')" "out1 " "  out1 (run2/out1, run-3/out1 are not there)"
fresh g8
is "$(run "${COPY[@]}" -r "$H:$G/r*/" "$B/g8")" 0 "a trailing slash: directories only"
is "$(ls "$B/g8" | tr '\n' ' ')" "run-3 run1 run2 " "  run-3 run1 run2"
fresh g9
is "$(run "${COPY[@]}" "$H:$G/dots/*" "$B/g9")" 0 "'*' in a directory with a dot file"
is "$(ls -A "$B/g9" | tr '\n' ' ')" "vis " "  the dot file is not matched"
fresh g10
is "$(run "${COPY[@]}" "$H:$G/dots/.h*" "$B/g10")" 0 "'.h*' matches it explicitly"
is "$(ls -A "$B/g10" | tr '\n' ' ')" ".hid " "  .hid"
fresh g11
is "$(run "${COPY[@]}" "$H:$G/a\\*b" "$B/g11")" 0 "'a\\*b' names the file a*b"
is "$(ls "$B/g11" | tr '\n' ' ')" "a*b " "  only a*b (not ab)"
cmp -s "$G/a*b" "$B/g11/a*b"; ok $? "  its content"
fresh g12
is "$(run "${COPY[@]}" "$H:$G/a\\b" "$B/g12")" 0 "'a\\b': a backslash before no metacharacter stays"
is "$(ls "$B/g12" | tr '\n' ' ')" "a\\b " "  the file a\\b"
fresh g13
is "$(run "${COPY[@]}" "$H:$G/[a]\\*b" "$B/g13")" 0 "'[a]\\*b': an escape inside a pattern"
is "$(ls "$B/g13" | tr '\n' ' ')" "a*b " "  a*b"

# no match
fresh n1
is "$(run "${COPY[@]}" "$H:$G/zz*" "$B/n1")" 1 "a pattern that matches nothing: exit 1"
grep -qF "\"$G/zz*\": no match" "$SCRATCH/err"; ok $? "  the pattern named: $(head -c 300 "$SCRATCH/err")"
is "$(ls -A "$B/n1")" "" "  nothing copied"
is "$(run "${COPY[@]}" "$H:$G/zz*" "$H:$G/ab" "$H:$G/q?" "$B/n1")" 1 \
	"two patterns match nothing, a third source exists: exit 1"
is "$(ls "$B/n1" | tr '\n' ' ')" "ab " "  the other source is copied (as scp does)"
grep -F "\"$G/zz*\" (no match)" "$SCRATCH/err" | grep -qF "\"$G/q?\" (no match)"
ok $? "  both patterns named in the summary: $(head -c 300 "$SCRATCH/err")"
is "$(run "${COPY[@]}" "$H:$R/nothere/zz*" "$B/n1")" 1 "a pattern below a missing directory"
grep -qF "\"$R/nothere/zz*\": no match (cannot open directory $R/nothere" "$SCRATCH/err"
ok $? "  says which directory could not be listed: $(head -c 300 "$SCRATCH/err")"
is "$(run "${COPY[@]}" "$H:$G/zz"$'\033'"*" "$B/n1")" 1 "a pattern with a control byte"
grep -qF '/zz\033*": no match' "$SCRATCH/err" && ! grep -q $'\033' "$SCRATCH/err"
ok $? "  quoted, the byte escaped"
J=$SCRATCH/j-glob
is "$(run "${COPY[@]}" --resume "$J" "$H:$G/run*/out*" "$H:$G/zz*" "$B/n1")" 1 \
	"--resume, a pattern matching nothing: exit 1, the journal kept"
grep -qxF "source $G/run*/out*" "$J" && grep -qxF "source $G/zz*" "$J"
ok $? "  the journal has the operands as typed"
is "$(run "${COPY[@]}" --resume "$J" "$H:$G/run*/out*" "$H:$G/zz*" "$B/n1")" 1 \
	"  the same command line again: resumed, still no match"
! grep -q "another" "$SCRATCH/err" && [ -f "$B/n1/out3" ]
ok $? "  the journal taken as its own: $(head -c 300 "$SCRATCH/err")"
fresh n2
is "$(run "${COPY[@]}" "$H:$G/run*/out*" "$B/n2/new")" 0 \
	"several matches into a missing directory: made as for several sources"
is "$(ls "$B/n2/new" 2>/dev/null | tr '\n' ' ')" "out1 out2 out3 " "  the three in it"

# --- item 4: one source into a missing "dir/" --------------------------------
echo f >"$L/f"
is "$(run "${COPY[@]}" "$L/f" "$H:$R/nd2/")" 1 "put f host:nd2/ (nd2 missing) fails"
grep -qF "$R/nd2/ does not exist" "$SCRATCH/err" && ! grep -q 'cpk-part' "$SCRATCH/err"
ok $? "  says that nd2/ does not exist, no temporary name: $(head -c 300 "$SCRATCH/err")"
[ ! -e "$R/nd2" ]; ok $? "  nothing made"
is "$(run "${COPY[@]}" "$H:$G/ab" "$B/nd3/")" 1 "get into a missing local nd3/ fails"
grep -qF "$B/nd3/ does not exist" "$SCRATCH/err" && ! grep -q 'cpk-part' "$SCRATCH/err"
ok $? "  says that nd3/ does not exist: $(head -c 300 "$SCRATCH/err")"
is "$(run "${COPY[@]}" "$L/f" "$H:$G/ab/")" 1 "put into \"file/\" fails"
grep -qF "$G/ab/ is not a directory" "$SCRATCH/err" && ! grep -q 'cpk-part' "$SCRATCH/err"
ok $? "  says it is not a directory: $(head -c 300 "$SCRATCH/err")"
is "$(run "${COPY[@]}" "$H:$G/ab" "$L/f/")" 1 "get into a local \"file/\" fails"
grep -qF "$L/f/ is not a directory" "$SCRATCH/err"; ok $? "  says it is not a directory"
fresh d1
is "$(run "${COPY[@]}" "$L/f" "$H:$G/other/")" 0 "put into an existing dir/ works"
[ -f "$G/other/f" ]; ok $? "  f in it"
is "$(run "${COPY[@]}" "$H:$G/ab" "$B/d1/")" 0 "get into an existing local dir/ works"
[ -f "$B/d1/ab" ]; ok $? "  ab in it"

# --- a hostile server in a globbed directory --------------------------------
SFTP_SERVER=${SFTP_SERVER:-/usr/lib/openssh/sftp-server}
CONF=$SCRATCH/evil.conf LOG=$SCRATCH/evil.log
S=$R/src
mkdir -p "$S/d1" "$S/d2" "$SCRATCH/x"
echo one >"$S/f1"; echo two >"$S/f2"; echo three >"$S/d1/f3"; echo four >"$S/d2/f4"
UP=$(printf '../%.0s' $(seq 1 $(( $(tr -cd / <<<"$SCRATCH/back/h" | wc -c) + 2 ))))
cat >"$CONF" <<EOF
inject $S=$UP${SCRATCH#/}/x/PWNED
inject $S=../x
inject $S=a/b
inject-dir $S=f/../..
inject-dir $S=..
inject $S=f1
EOF
SSHD_EXTRA_CONFIG="Subsystem sftp-evil $EVIL --config $CONF --log $LOG" other_sshd ed25519
E=("$CPK" copy -q -F none -P "$O_PORT" -i "$SSHD_KEY" -o "UserKnownHostsFile=$O_KNOWN_HOSTS"
   -o GlobalKnownHostsFile=/dev/null --subsystem sftp-evil)
state_outside() {
	(cd "$SCRATCH" && find . \( -path ./back/h -o -path './sshd*' -o -path ./evil.log \
		-o -path ./out -o -path ./err -o -path ./before -o -path ./after \) -prune \
		-o -print | LC_ALL=C sort)
}
state_outside >"$SCRATCH/before"
fresh h
: >"$LOG"
is "$(run "${E[@]}" "$H:$S/f*" "$B/h")" 0 "hostile names in a globbed directory: 'f*' copies"
is "$(files_of "$B/h")" "$(sums_in "$S" ./f1 ./f2)" "  exactly f1 and f2, once each, right"
state_outside >"$SCRATCH/after"
cmp -s "$SCRATCH/before" "$SCRATCH/after"; ok $? "  nothing made outside the destination"
[ ! -e "$SCRATCH/x/PWNED" ] && [ ! -e "$B/x" ]; ok $? "  no PWNED, no x"
! grep -E "^(OPEN|STAT|LSTAT|OPENDIR|READLINK|REALPATH) .*(PWNED|/x$|a/b|\.\./\.\.)" "$LOG" >/dev/null
ok $? "  no bad name reached a request"
is "$(grep "^STAT $S/" "$LOG" | tr '\n' ' ')" "STAT $S/f1 STAT $S/f2 " "  each match stated once, in order"
fresh h
: >"$LOG"
is "$(run "${E[@]}" -r "$H:$S/*" "$B/h")" 0 "-r '*' there: the real entries only"
is "$(cd "$B/h" && find . -mindepth 1 | LC_ALL=C sort | tr '\n' ' ')" \
	"./d1 ./d1/f3 ./d2 ./d2/f4 ./f1 ./f2 " "  d1 d2 f1 f2 and what the dirs hold"
state_outside >"$SCRATCH/after"
cmp -s "$SCRATCH/before" "$SCRATCH/after"; ok $? "  nothing made outside the destination"
fresh h
: >"$LOG"
is "$(run "${E[@]}" "$H:$S/*/f3" "$B/h/")" 0 "'*/f3' there"
is "$(files_of "$B/h")" "$(cd "$S/d1" && sha256sum ./f3)" "  d1/f3 only"
! grep -E "^(OPEN|STAT|LSTAT|OPENDIR) .*(PWNED|a/b|\.\./|/\.\.$)" "$LOG" >/dev/null
ok $? "  no bad name in a request"
is "$(grep '^LSTAT ' "$LOG" | tr '\n' ' ')" "LSTAT $S/d1/f3 LSTAT $S/d2/f3 " \
	"  the literal f3 checked in the two real directories only"
! grep -q "^OPENDIR $S/f1" "$LOG"; ok $? "  files are not listed as directories"
: >"$LOG"
fresh h
is "$(run "${E[@]}" "$H:$S/d1/f\\*" "$B/h")" 1 "'f\\*' (escaped): no such file a*"
grep -q '^OPENDIR' "$LOG"; ok $((!$?)) "  no listing for a path without metacharacters"
# order: "d-x/f" sorts before "d/f" (bytewise), whatever the directories' order
mkdir -p "$S/o/d" "$S/o/d-x"; echo 1 >"$S/o/d/f"; echo 2 >"$S/o/d-x/f"
: >"$LOG"
fresh h
run "${E[@]}" "$H:$S/o/d*/f" "$B/h" >/dev/null
is "$(grep "^STAT $S/" "$LOG" | tr '\n' ' ')" "STAT $S/o/d-x/f STAT $S/o/d/f " \
	"  the matches are used in bytewise order"
# no expand-path on this server
is "$(run "${E[@]}" "$H:~root/x" "$B/h")" 1 "~user without expand-path@openssh.com: fails"
grep -qF 'cannot expand ~root' "$SCRATCH/err" && grep -qF 'expand-path@openssh.com' "$SCRATCH/err"
ok $? "  and says why: $(head -c 300 "$SCRATCH/err")"

# --- "~" against an sshd whose users' homes are the test's own --------------
if ! can_unshare; then
	for t in "~, ~/d, ~user" "scp parity"; do skip "$t" "no private mount namespace here"; done
	done_testing
	exit
fi
HD=$SCRATCH/home UH=$SCRATCH/uhome
mkdir -p "$HD/d" "$HD/run1" "$HD/run2" "$HD/dots" "$UH"
echo f1 >"$HD/f1"; echo g >"$HD/d/g"; echo o1 >"$HD/run1/out1"; echo o2 >"$HD/run2/out2"
echo s >"$HD/a*b"; echo ab >"$HD/ab"; echo ax >"$HD/ax"; echo bx >"$HD/bx"
echo v >"$HD/dots/vis"; echo h >"$HD/dots/.hid"; echo u1 >"$UH/u1"
# root_home DIR: root's home in the namespace's passwd (written in place:
# the bind mount holds the file, not its name)
root_home() {
	sed "s#^root:\([^:]*\):0:0:\([^:]*\):[^:]*:#root:\1:0:0:\2:$1:#" /etc/passwd >"$SCRATCH/pw.new"
	echo "cpkt3111:x:43111:43111::$UH:/bin/sh" >>"$SCRATCH/pw.new"
	cat "$SCRATCH/pw.new" >"$SCRATCH/passwd"
}
root_home "$HD"
cat >"$SCRATCH/sshd-ns" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c 'mount --bind "\$0" /etc/passwd && exec $SSHD_BIN "\$@"' "$SCRATCH/passwd" "\$@"
EOF
chmod 755 "$SCRATCH/sshd-ns"
SSHD_BIN_SAVED=$SSHD_BIN SSHD_BIN=$SCRATCH/sshd-ns
: >"$CONF"
SSHD_EXTRA_CONFIG="Subsystem sftp-evil $EVIL --config $CONF --log $LOG" other_sshd ed25519
SSHD_BIN=$SSHD_BIN_SAVED
N=("$CPK" copy -q -F none -P "$O_PORT" -i "$SSHD_KEY" -o "UserKnownHostsFile=$O_KNOWN_HOSTS"
   -o GlobalKnownHostsFile=/dev/null)
fresh t1
is "$(run "${N[@]}" "$H:~/f1" "$B/t1")" 0 "get host:~/f1"
cmp -s "$HD/f1" "$B/t1/f1"; ok $? "  the home's f1"
fresh t2
is "$(run "${N[@]}" -r "$H:~/d" "$B/t2")" 0 "get -r host:~/d"
cmp -s "$HD/d/g" "$B/t2/d/g"; ok $? "  the home's d"
fresh t3
is "$(run "${N[@]}" "$H:~root/f1" "$B/t3")" 0 "get host:~root/f1 (expand-path)"
cmp -s "$HD/f1" "$B/t3/f1"; ok $? "  root's f1"
is "$(run "${N[@]}" "$H:~cpkt3111/u1" "$B/t3")" 0 "get host:~cpkt3111/u1: another user's home"
cmp -s "$UH/u1" "$B/t3/u1"; ok $? "  that user's u1"
is "$(run "${N[@]}" "$H:~cpkt3111" "$B/t3")" 1 "host:~cpkt3111 without -r: a directory"
grep -qF "$UH is a directory" "$SCRATCH/err"; ok $? "  named by its expanded path"
fresh t4
is "$(run "${N[@]}" "$H:~nosuchuser3111/x" "$B/t4")" 1 "an unknown user: fails"
grep -qF '~nosuchuser3111' "$SCRATCH/err" && grep -qi 'no such user' "$SCRATCH/err"
ok $? "  says so: $(head -c 300 "$SCRATCH/err")"
fresh t5
is "$(run "${N[@]}" -r "$H:~" "$B/t5")" 0 "get -r host:~: the home's contents"
is "$(files_of "$B/t5")" "$(files_of "$HD")" "  all of it, into the destination"
fresh t6
is "$(run "${N[@]}" "$H:~/run*/out*" "$H:~root/a\\*b" "$B/t6")" 0 "globs after ~ and ~root"
is "$(ls "$B/t6" | tr '\n' ' ')" "a*b out1 out2 " "  out1 out2 a*b"
mkdir -p "$HD/ho*me"; echo in >"$HD/ho*me/in"
root_home "$HD/ho*me"
fresh t7
is "$(run "${N[@]}" "$H:~root/i*" "$B/t7")" 0 "a home whose path holds '*' is taken literally"
is "$(ls "$B/t7" | tr '\n' ' ')" "in " "  its file"
root_home "$HD"
echo put >"$L/p"
is "$(run "${N[@]}" "$L/p" "$H:~")" 0 "put f host:~"
cmp -s "$L/p" "$HD/p" && [ ! -e "$HD/~" ]; ok $? "  into the home, no file named ~"
is "$(run "${N[@]}" "$L/p" "$H:~/newname")" 0 "put f host:~/newname"
cmp -s "$L/p" "$HD/newname"; ok $? "  the new name in the home"
is "$(run "${N[@]}" "$L/p" "$H:~/d/")" 0 "put f host:~/d/"
cmp -s "$L/p" "$HD/d/p"; ok $? "  into d"
is "$(run "${N[@]}" "$L/p" "$H:~cpkt3111/")" 0 "put f host:~cpkt3111/"
cmp -s "$L/p" "$UH/p"; ok $? "  into that user's home"
is "$(run "${N[@]}" "$L/p" "$H:$HD/d/~")" 0 "put f host:DIR/~: \"~\" not first stays literal"
cmp -s "$L/p" "$HD/d/~"; ok $? "  a file named ~ in d"
rm -f "$HD/p" "$HD/newname" "$HD/d/p" "$HD/d/~" "$UH/p"
# the same server without expand-path: "~" and "~/x" still work
EN=("${N[@]}" --subsystem sftp-evil)
fresh t8
is "$(run "${EN[@]}" "$H:~/f1" "$H:~/[d]" "$B/t8")" 1 "without expand-path: ~/f1 and ~/[d] (a directory, no -r)"
fresh t8
is "$(run "${EN[@]}" -r "$H:~/f1" "$H:~/[d]" "$B/t8")" 0 "  with -r"
is "$(cd "$B/t8" && find . -type f | LC_ALL=C sort | tr '\n' ' ')" "./d/g ./f1 " "  f1 and d"

# --- the same forms with scp (SFTP mode) on the same server -----------------
if ! command -v scp >/dev/null; then
	skip "scp parity" "no scp here"
	done_testing
	exit
fi
SCP=(scp -q -s -F none -P "$O_PORT" -i "$SSHD_KEY" -o "UserKnownHostsFile=$O_KNOWN_HOSTS"
     -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -o IdentitiesOnly=yes
     -o IdentityAgent=none -o User=root)
# parity NAME ARGS...: get with cpk and with scp (@D@ in ARGS: a fresh
# destination of each): both succeed, with the same files
parity() {
	local name=$1 a c=() s=() rc_c rc_s
	shift
	fresh pc; fresh ps
	for a in "$@"; do c+=("${a//@D@/$B/pc}"); s+=("${a//@D@/$B/ps}"); done
	rc_c=$(run "${N[@]}" "${c[@]}")
	rc_s=$(run "${SCP[@]}" "${s[@]}")
	is "$rc_c $rc_s $(files_of "$B/pc")" "0 0 $(files_of "$B/ps")" "as scp: $name"
}
parity "host:~/f1" "$H:~/f1" @D@
parity "-r host:~/d" -r "$H:~/d" @D@
parity "host:~root/f1" "$H:~root/f1" @D@
parity "host:~cpkt3111/u1" "$H:~cpkt3111/u1" @D@
parity "-r host:~" -r "$H:~" @D@
parity "host:~/run*/out*" "$H:~/run*/out*" @D@
parity "-r host:run*" -r "$H:run*" @D@
parity "host:?x" "$H:?x" @D@
parity "host:[ab]x" "$H:[ab]x" @D@
parity "host:a\\*b" "$H:a\\*b" @D@
parity "host:dots/*" "$H:dots/*" @D@
parity "host:~/f1 to a new name" "$H:~/f1" @D@/new
# put: cpk and scp in turn onto the same remote names
for dst in "~" "~/newname" "~/d/" "~cpkt3111/"; do
	rm -f "$HD/p" "$HD/newname" "$HD/d/p" "$UH/p"
	run "${N[@]}" "$L/p" "$H:$dst" >/dev/null
	got=$(files_of "$SCRATCH" | grep -E '/(home|uhome)/' | grep -v sshd)
	rm -f "$HD/p" "$HD/newname" "$HD/d/p" "$UH/p"
	run "${SCP[@]}" "$L/p" "$H:$dst" >/dev/null
	is "$got" "$(files_of "$SCRATCH" | grep -E '/(home|uhome)/' | grep -v sshd)" "as scp: put f host:$dst"
done
done_testing
