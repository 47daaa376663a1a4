#!/bin/bash
# cpk copy's destination side against another user who shares it: symlinks
# planted at temporary names (the predictable old ".NAME.cpk-part" and the
# real random ones, learnt from a journal, as a leftover temporary file
# shows them), symlinks in the destination tree, a destination operand that
# is a symlink (resolved once, as cp does), and the rules for modes
# (setuid/setgid/sticky dropped by default, the umask with --no-preserve).
# The other user is uid/gid 4242 (the rig's cpktest) writing into
# group-writable directories; root runs the copies.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
umask 022
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "1..1"
	ok 0 "# SKIP needs root and setpriv (a second user plants the links)"
	exit 0
fi
copy_setup
chmod 0711 "$SCRATCH"
CH=(--chunk-min 1M --chunk-max 1M)
EVIL=4242
as_other() { setpriv --reuid=$EVIL --regid=$EVIL --clear-groups "$@"; }
# shared DIR...: a directory root owns and group $EVIL may write into
shared() { mkdir -p "$@" && chgrp $EVIL "$@" && chmod 0775 "$@"; }

# What must never change: root's files the links point at.
V=$SCRATCH/victim V2=$SCRATCH/victim2
echo precious >"$V"; echo precious too >"$V2"
chmod 0600 "$V" "$V2"; touch -d @1500000000 "$V" "$V2"
victims() { stat -c '%n %a %s %Y %h' "$V" "$V2"; sha256sum "$V" "$V2"; }
VSTATE=$(victims)
victims_ok() { is "$(victims)" "$VSTATE" "  $1"; }

mkdir -p "$R/src"
echo small >"$R/src/a.txt"; echo other >"$R/src/b.txt"
head -c $((4 * M)) /dev/urandom >"$R/src/0big"

# --- (a) the predictable temporary names of the old code ---
shared "$SCRATCH/dl"
for f in a.txt 0big; do as_other ln -s "$V" "$SCRATCH/dl/.$f.cpk-part"; done
is "$(run "${COPY[@]}" "${CH[@]}" "$H:$R/src/a.txt" "$H:$R/src/0big" "$SCRATCH/dl")" 0 \
	"download of a small and a chunked file, links at .NAME.cpk-part: copied"
cmp -s "$R/src/a.txt" "$SCRATCH/dl/a.txt" && cmp -s "$R/src/0big" "$SCRATCH/dl/0big"
ok $? "  both equal"
victims_ok "the link target is untouched (content, mode, times)"
shared "$R/ul"
cp "$R/src/a.txt" "$R/src/0big" "$L/"
for f in a.txt 0big; do as_other ln -s "$V" "$R/ul/.$f.cpk-part"; done
is "$(run "${COPY[@]}" "${CH[@]}" "$L/a.txt" "$L/0big" "$H:$R/ul")" 0 \
	"upload of a small and a chunked file, links at .NAME.cpk-part: copied"
cmp -s "$L/a.txt" "$R/ul/a.txt" && cmp -s "$L/0big" "$R/ul/0big"; ok $? "  both equal"
victims_ok "the link target is untouched"

# --- (a) the real temporary names, learnt from an interrupted copy ---
# killed_copy DIR DST [OPTS...]: a copy of $R/src (DIR get) or $L/src (put)
# into DST with journal $J, killed after its first chunk; sets TOK.
mkdir -p "$L/src"; cp "$R/src"/* "$L/src/"
J=$SCRATCH/journal
killed_copy() {
	local dir=$1 dst=$2 src pid
	shift 2
	rm -f "$J"
	if [ "$dir" = get ]; then src=$H:$R/src; else src=$L/src; fi
	"${COPY[@]}" -r -n 1 --channels 1 "${CH[@]}" --throttle-ms 300 --resume "$J" "$@" \
		"$src" "$dst" >/dev/null 2>&1 &
	pid=$!
	wait_records "$J" '^C ' 1 "$pid" || diag "no chunk recorded: $(cat "$J")"
	kill -9 "$pid"; wait "$pid" 2>/dev/null
	TOK=$(sed -n 's/^K \([0-9a-f]\{16\}\)$/\1/p' "$J")
}
D=$SCRATCH/g1
shared "$D" "$D/src"
killed_copy get "$D"
[ ${#TOK} = 16 ]; ok $? "the journal records the temporary names' token: $(grep '^K' "$J")"
[ -f "$D/src/.0big.$TOK.cpk-part" ]; ok $? "  the chunked file's temporary file carries it: $(ls -A "$D/src")"
is "$(stat -c %a "$D/src/.0big.$TOK.cpk-part")" 600 "  the temporary file is 0600 while written"
is "$(run "${COPY[@]}" -r -n 1 --channels 1 "${CH[@]}" --json --resume "$J" "$H:$R/src" "$D")" 0 \
	"  --resume: copied"
[ "$(json_field chunks_skipped)" -ge 1 ]; ok $? "  the chunks done before are found (token kept): skipped $(json_field chunks_skipped)"
cmp -s "$R/src/0big" "$D/src/0big"; ok $? "  equal"

# plant_links DIR: the other user's links at the temporary names of the
# killed copy (token TOK) in DIR, to root's files
plant_links() {
	as_other ln -s "$V" "$1/.0big.$TOK.cpk-part"
	as_other ln -s "$V" "$1/.a.txt.$TOK.cpk-part"
	as_other ln -s "$V2" "$1/.b.txt.$TOK.cpk-part"
}
D=$SCRATCH/g2
shared "$D" "$D/src"
killed_copy get "$D"
rm -f "$D/src/.0big.$TOK.cpk-part"
plant_links "$D/src"
is "$(run "${COPY[@]}" -r "${CH[@]}" --resume "$J" "$H:$R/src" "$D")" 0 \
	"download resumed after links were planted at its own temporary names: copied"
cmp -s "$R/src/0big" "$D/src/0big" && cmp -s "$R/src/a.txt" "$D/src/a.txt" &&
	cmp -s "$R/src/b.txt" "$D/src/b.txt"; ok $? "  all equal"
victims_ok "no link was followed"
no_partials "$D"; ok $? "  no temporary name left"

# the temporary file replaced by a hard link to root's file, then by a file
# of the other user: not written into, the file fails
D=$SCRATCH/g3
shared "$D" "$D/src"
killed_copy get "$D"
rm -f "$D/src/.0big.$TOK.cpk-part"; ln "$V2" "$D/src/.0big.$TOK.cpk-part"
is "$(run "${COPY[@]}" -r "${CH[@]}" --resume "$J" "$H:$R/src" "$D")" 1 \
	"download resumed, its chunked temporary file now a hard link to root's file: fails"
grep -q "0big.*not a temporary file of this copy" "$SCRATCH/err"; ok $? "  says why: $(head -c 400 "$SCRATCH/err")"
rm -f "$D/src/.0big.$TOK.cpk-part"
victims_ok "the linked file is untouched"
shared "$D/src"	# (the failed copy gave it the source's mode)
killed_copy get "$D"
rm -f "$D/src/.0big.$TOK.cpk-part"
as_other sh -c "echo mine >'$D/src/.0big.$TOK.cpk-part'"
is "$(run "${COPY[@]}" -r "${CH[@]}" --resume "$J" "$H:$R/src" "$D")" 1 \
	"  the same with a file of the other user there: fails"
is "$(cat "$D/src/.0big.$TOK.cpk-part")" mine "  that file is not written into"
[ ! -e "$D/src/0big" ]; ok $? "  nor renamed into place"

# uploads: the remote temporary files are made exclusively
D=$R/p1
shared "$D" "$D/src"
killed_copy put "$H:$D"
[ ${#TOK} = 16 ] && [ -f "$D/src/.0big.$TOK.cpk-part" ]; ok $? "upload killed: its temporary file carries the token"
rm -f "$D/src/.0big.$TOK.cpk-part"
plant_links "$D/src"
is "$(run "${COPY[@]}" -r "${CH[@]}" --resume "$J" "$L/src" "$H:$D")" 0 \
	"upload resumed after links were planted at its own temporary names: copied"
cmp -s "$L/src/0big" "$D/src/0big" && cmp -s "$L/src/a.txt" "$D/src/a.txt" &&
	cmp -s "$L/src/b.txt" "$D/src/b.txt"; ok $? "  all equal"
victims_ok "no link was followed"

# a damaged token record
killed_copy get "$SCRATCH/g4"
is "$(stat -c %a "$SCRATCH/g4")" 700 "a directory the copy makes is 0700 while it is filled"
sed -i 's/^K .*/K 0123456789ABCDEF/' "$J"
is "$(run "${COPY[@]}" -r "${CH[@]}" --resume "$J" "$H:$R/src" "$SCRATCH/g4")" 1 \
	"a journal whose token is not 16 lowercase hex digits: refused"
grep -q "damaged record.*not a token" "$SCRATCH/err"; ok $? "  as damaged: $(cat "$SCRATCH/err")"

# --- (b) a directory of the tree that is a symlink at the destination ---
mkdir -p "$R/tree/sub/deep" "$SCRATCH/elsewhere"
echo a >"$R/tree/a"; echo z >"$R/tree/z"; echo x >"$R/tree/sub/x"
echo d >"$R/tree/sub/deep/d"; head -c $((3 * M)) /dev/urandom >"$R/tree/sub/big"
chmod 0700 "$R/tree/sub"; chmod 0755 "$SCRATCH/elsewhere"
touch -d @1400000000 "$SCRATCH/elsewhere"
ELSE=$(stat -c '%a %Y' "$SCRATCH/elsewhere")
# link_dir_fails NAME [OPTION...]: the download of tree into D, whose
# D/tree/sub is a link to "elsewhere", fails naming the link, and nothing
# there is written or changed
link_dir_fails() {
	local name=$1
	shift
	is "$(run "${COPY[@]}" -r "${CH[@]}" "$@" "$H:$R/tree" "$D")" 1 "$name: fails"
	grep -q "$D/tree/sub is a symbolic link, not followed" "$SCRATCH/err"
	ok $? "  names the link: $(head -c 500 "$SCRATCH/err")"
	is "$(ls -A "$SCRATCH/elsewhere")" "" "  nothing written where it points"
	is "$(stat -c '%a %Y' "$SCRATCH/elsewhere")" "$ELSE" "  nor its mode or times changed"
}
D=$SCRATCH/b1
shared "$D" "$D/tree"
as_other ln -s "$SCRATCH/elsewhere" "$D/tree/sub"
as_other ln -s "$V" "$D/tree/z"
link_dir_fails "download of a tree whose dst/tree/sub is a link to another directory"
cmp -s "$R/tree/a" "$D/tree/a" && cmp -s "$R/tree/z" "$D/tree/z" && [ ! -L "$D/tree/z" ]
ok $? "  the rest is copied (a link at a final name is replaced, not followed)"
[ -L "$D/tree/sub" ]; ok $? "  the link itself stays"
victims_ok "the file a final name pointed at is untouched"
# the same walked in segments of 2 entries: what lies below the link comes
# in later segments, each reached through the link's name
D=$SCRATCH/b2
shared "$D" "$D/tree"
as_other ln -s "$SCRATCH/elsewhere" "$D/tree/sub"
link_dir_fails "the same in segments of 2 entries" --segment 2
cmp -s "$R/tree/a" "$D/tree/a" && cmp -s "$R/tree/z" "$D/tree/z"; ok $? "  the rest is copied"

# --- (c) the destination operand itself a link to a directory ---
mkdir "$SCRATCH/real"
ln -s "$SCRATCH/real" "$SCRATCH/dlink"
is "$(run "${COPY[@]}" -r "${CH[@]}" "$H:$R/src" "$SCRATCH/dlink")" 0 \
	"download into a destination that is a link to a directory: copied"
cmp -s "$R/src/0big" "$SCRATCH/real/src/0big" && cmp -s "$R/src/a.txt" "$SCRATCH/real/src/a.txt"
ok $? "  into the directory it points at (resolved once, as cp does)"
is "$(run "${COPY[@]}" "$H:$R/src/a.txt" "$SCRATCH/dlink/new.txt")" 0 \
	"  a new name below that link: copied"
cmp -s "$R/src/a.txt" "$SCRATCH/real/new.txt"; ok $? "  equal"

# --- (d) modes ---
mkdir -p "$R/md/sd" "$L/md/sd"
for d in "$R/md" "$L/md"; do
	echo s >"$d/s4755"; head -c $((2 * M + 1)) /dev/urandom >"$d/b4755"
	echo t >"$d/sd/t"; chmod 4755 "$d/s4755" "$d/b4755"; chmod 2755 "$d/sd"
done
modes() { (cd "$1" && stat -c '%n %a' md md/s4755 md/b4755 md/sd md/sd/t); }
mkdir "$SCRATCH/m1" "$R/m1" "$SCRATCH/m2" "$R/m2"
is "$(run "${COPY[@]}" -r "${CH[@]}" "$H:$R/md" "$SCRATCH/m1")" 0 "download with setuid/setgid bits"
is "$(modes "$SCRATCH/m1")" "md 755
md/s4755 755
md/b4755 755
md/sd 755
md/sd/t 644" "  dropped by default, small and chunked files, directories"
is "$(run "${COPY[@]}" -r "${CH[@]}" "$L/md" "$H:$R/m1")" 0 "upload with setuid/setgid bits"
is "$(modes "$R/m1")" "md 755
md/s4755 755
md/b4755 755
md/sd 755
md/sd/t 644" "  dropped by default"
is "$(umask 077; run "${COPY[@]}" -r "${CH[@]}" --no-preserve "$H:$R/md" "$SCRATCH/m2")" 0 \
	"download --no-preserve under umask 077"
is "$(modes "$SCRATCH/m2")" "md 700
md/s4755 700
md/b4755 700
md/sd 700
md/sd/t 600" "  the source's 0777 bits less the umask, as cp without -p"
is "$(umask 077; run "${COPY[@]}" -r "${CH[@]}" --no-preserve "$L/md" "$H:$R/m2")" 0 \
	"upload --no-preserve under umask 077"
is "$(modes "$R/m2")" "md 700
md/s4755 700
md/b4755 700
md/sd 700
md/sd/t 600" "  the client's umask applies on the remote side too"
done_testing
