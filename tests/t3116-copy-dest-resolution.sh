#!/bin/bash
# How `cpk copy` resolves its destination, and keeps to it on a resume:
# - a tree copied to a new name and interrupted (--resume), then the same
#   command line again: the rerun continues into the same name (by then a
#   directory the first run made, which a fresh copy would copy INTO),
#   reuses what was finished and leaves no temporary file (the journal's
#   "D" record pins the resolution);
# - a rerun whose destination has changed kind is refused with a message,
#   the journal kept;
# - several sources into a directory that does not exist create it, as
#   scp (SFTP mode) does, with the mode a new directory gets on that side;
#   into a file, or below a missing parent, they fail and make nothing.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup
small_tree "$L/tree" 400 4 65536
cp -a "$L/tree" "$R/tree"

# --- 1. resume of a tree copied to a new name -------------------------------
for dir in put get; do
	J=$SCRATCH/j-$dir
	if [ $dir = put ]; then src=$L/tree dst=$H:$R/new-$dir d=$R/new-$dir
	else src=$H:$R/tree dst=$B/new-$dir d=$B/new-$dir; fi
	"${COPY[@]}" -r -n 2 --throttle-ms 150 --resume "$J" "$src" "$dst" \
		>"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	wait_records "$J" '^F ' 1 "$pid"; ok $? "$dir to a new name: a first file finished"
	kill -INT "$pid"; wait "$pid"; rc=$?
	is "$rc" 130 "  interrupted (exit 130)"
	grep -qx 'D name' "$J"; ok $? "  the journal says: copied to the name"
	[ -d "$d" ]; ok $? "  the first run made the new directory"
	is "$(run "${COPY[@]}" -r -n 2 --json --resume "$J" "$src" "$dst")" 0 \
		"  the same command line again: exit 0"
	[ ! -e "$d/tree" ]; ok $? "  not copied into the directory the first run made"
	is "$(tree_sums "$d")" "$(tree_sums "$L/tree")" "  the tree is whole under the new name"
	[ "$(json_field chunks_skipped)" -ge 1 ]; ok $? "  what was finished is reused ($(json_field chunks_skipped) pieces)"
	no_partials "$d" && [ ! -e "$J" ]; ok $? "  no temporary file nor journal left"
done

# --- 2. a rerun that would resolve another way: refused, journal kept -------
J=$SCRATCH/j-into
mkdir "$B/into"
"${COPY[@]}" -r -n 2 --throttle-ms 150 --resume "$J" "$H:$R/tree" "$B/into" \
	>"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
wait_records "$J" '^F ' 1 "$pid"; ok $? "into a directory: a first file finished"
kill -INT "$pid"; wait "$pid"
grep -qx 'D dir' "$J"; ok $? "  the journal says: into a directory"
rm -rf "$B/into" && echo x >"$B/into"
is "$(run "${COPY[@]}" -r --resume "$J" "$H:$R/tree" "$B/into")" 1 \
	"  the directory replaced by a file: the rerun fails"
grep -q "into is not a directory now; it was one when the copy recorded in .*$J began" "$SCRATCH/err"
ok $? "  it says why" || diag "$(cat "$SCRATCH/err")"
[ -s "$J" ] && [ "$(cat "$B/into")" = x ]; ok $? "  the journal and the file are kept"
rm -f "$B/into"
is "$(run "${COPY[@]}" -r --resume "$J" "$H:$R/tree" "$B/into")" 1 \
	"  the directory gone: the rerun fails"
grep -q "into does not exist now; it was a directory when" "$SCRATCH/err"
ok $? "  it says why" || diag "$(cat "$SCRATCH/err")"
[ ! -e "$B/into" ] && [ -s "$J" ]; ok $? "  nothing made, the journal kept"
rm -f "$J"

# --- 3. several sources into a directory that does not exist ----------------
echo one >"$L/s1" && echo two >"$L/s2" && chmod 0640 "$L/s1" "$L/s2"
cp -p "$L/s1" "$L/s2" "$R/"
# the mode a new directory gets there: sftp-server's umask on the remote
# side (sshd's, as a directory made by sftp's mkdir gets), ours locally
mkdir "$SCRATCH/probe"
sftp_dir_mode() {
	sftp -q -F none -P "$SSHD_PORT" -i "$SSHD_KEY" -o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS" \
		-o GlobalKnownHostsFile=/dev/null -b - "$H" >/dev/null 2>&1 <<-EOF
	mkdir $R/probe-sftp
	EOF
	stat -c %a "$R/probe-sftp"
}
want_remote=$(sftp_dir_mode)
[ -n "$want_remote" ]; ok $? "sftp's mkdir on the remote side gives mode ${want_remote:-?}"
is "$(run "${COPY[@]}" "$L/s1" "$L/s2" "$H:$R/nd")" 0 "put s1 s2 host:nd (missing): exit 0"
[ "$(cat "$R/nd/s1")$(cat "$R/nd/s2")" = onetwo ]; ok $? "  nd was created with both files"
is "$(stat -c %a "$R/nd")" "$want_remote" "  nd has the mode a new directory gets there, not a file's"
is "$(run "${COPY[@]}" "$L/s1" "$L/s2" "$H:$R/nd2/")" 0 "put into host:nd2/ (trailing slash): exit 0"
[ -f "$R/nd2/s1" ] && [ -f "$R/nd2/s2" ]; ok $? "  both files in nd2"
is "$(umask 027; run "${COPY[@]}" "$H:$R/s1" "$H:$R/s2" "$B/gd")" 0 "get host:s1 host:s2 gd (missing): exit 0"
[ "$(cat "$B/gd/s1")$(cat "$B/gd/s2")" = onetwo ]; ok $? "  gd was created with both files"
is "$(stat -c %a "$B/gd")" 750 "  gd: 0777 less the umask (027)"
is "$(umask 027; run "${COPY[@]}" -v "$H:$R/s1" "$H:$R/s2" "$B/gd3")" 0 "with -v"
grep -q 'created the directory .*gd3 for the 2 sources' "$SCRATCH/err"; ok $? "  -v says it created it"
J=$SCRATCH/j-nd
is "$(run "${COPY[@]}" --resume "$J" "$L/s1" "$L/s2" "$H:$R/nd4")" 0 "with --resume: exit 0"
[ -f "$R/nd4/s1" ] && [ -f "$R/nd4/s2" ] && [ ! -e "$J" ]; ok $? "  both files, the journal gone"

# into a file, below a missing parent: an error, nothing made
echo f >"$R/afile"; echo f >"$B/afile"
is "$(run "${COPY[@]}" "$L/s1" "$L/s2" "$H:$R/afile")" 1 "put two sources onto a file: exit 1"
grep -q 'afile is not a directory (copying 2 sources needs one)' "$SCRATCH/err"; ok $? "  it says why"
is "$(cat "$R/afile")" f "  the file is untouched"
is "$(run "${COPY[@]}" "$H:$R/s1" "$H:$R/s2" "$B/afile")" 1 "get two sources onto a file: exit 1"
grep -q 'afile is not a directory' "$SCRATCH/err"; ok $? "  it says why"
is "$(run "${COPY[@]}" "$L/s1" "$L/s2" "$H:$R/no/such")" 1 "put below a missing parent: exit 1"
grep -q 'cannot create the directory .*no/such' "$SCRATCH/err"; ok $? "  it names the directory" ||
	diag "$(cat "$SCRATCH/err")"
[ ! -e "$R/no" ]; ok $? "  nothing made"
is "$(run "${COPY[@]}" "$H:$R/s1" "$H:$R/s2" "$B/no/such")" 1 "get below a missing parent: exit 1"
grep -q 'cannot create the directory .*no/such' "$SCRATCH/err"; ok $? "  it names the directory"
[ ! -e "$B/no" ]; ok $? "  nothing made"
done_testing
