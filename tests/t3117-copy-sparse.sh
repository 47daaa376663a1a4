#!/bin/bash
# Sparse files stay sparse on local writes (issue 11 item 8): a download
# leaves the aligned blocks of zeros it receives unwritten (holes) and sets
# the file's size, so a file that is mostly holes does not become that much
# allocated data.  Compared: the bytes (sha256), the size, and what `du -k`
# says is allocated.  Both paths of a download are covered: big files in
# chunks (ranges of a temporary file made at its final size) and small files
# in batches (each a new file); and an interrupted --resume of a sparse file
# whose temporary file has holes never written next to real zeros (and, at a
# chunk not yet done, bytes that must not survive the rerun).
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup
K=1024

# alloc FILE: KiB allocated to FILE
alloc() { du -k "$1" | cut -f1; }
# rnd FILE OFFSET_KIB KIB: KIB KiB of random bytes at OFFSET_KIB in FILE
rnd() { head -c $(($3 * K)) /dev/urandom | dd of="$1" bs=1K seek="$2" conv=notrunc status=none; }

truncate -s 50M "$L/hole50"
if [ "$(alloc "$L/hole50")" -gt 64 ]; then
	skip "sparse files" "$(df -T "$L" | awk 'NR==2{print $2}') here keeps no holes"
	done_testing
	exit
fi
# data, a hole, data, a trailing hole
rnd "$L/mixed" 0 1024; rnd "$L/mixed" $((20 * K)) 1024; truncate -s 40M "$L/mixed"
# data that neither starts nor ends on a block: zeros around it in partial
# blocks must be written, whole blocks of zeros not
head -c 5000 /dev/urandom | dd of="$L/odd" bs=1 seek=3000 conv=notrunc status=none
printf x | dd of="$L/odd" bs=1 seek=$((2 * M + 7)) conv=notrunc status=none
truncate -s $((9 * M + 4097)) "$L/odd"
# real zeros written (allocated at the source): the copy may make holes
head -c $((6 * M)) /dev/zero >"$L/zeros"
# small files (one batch): all hole; a hole then one byte; empty
truncate -s 300K "$L/shole"
truncate -s 200K "$L/stail"; printf y >>"$L/stail"
: >"$L/empty"
FILES="hole50 mixed odd zeros shole stail empty"
cp --sparse=always "$L"/* "$R/"

# same FILE DIR: DIR/FILE has the bytes and the size of $L/FILE, and no
# more KiB allocated than $L/FILE has (zeros: than none at all), within 16
same() {
	local want=$(alloc "$L/$1") got=$(alloc "$2/$1")
	[ "$1" = zeros ] && want=0
	cmp -s "$L/$1" "$2/$1" || { diag "$2/$1: other bytes"; return 1; }
	[ "$(stat -c %s "$L/$1")" = "$(stat -c %s "$2/$1")" ] || { diag "$2/$1: other size"; return 1; }
	[ "$got" -le $((want + 16)) ] || { diag "$2/$1: $got KiB allocated, the source $want KiB"; return 1; }
	return 0
}

# --- get: big files in chunks of 1 MiB, small ones in a batch ---
mkdir "$B/g1"
srcs=(); for f in $FILES; do srcs+=("$H:$R/$f"); done
is "$(run "${COPY[@]}" --chunk-min 1M --chunk-max 1M "${srcs[@]}" "$B/g1")" 0 "get sparse files"
for f in $FILES; do
	same "$f" "$B/g1"; ok $? "  $f: same bytes and size, $(alloc "$B/g1/$f") KiB allocated (source $(alloc "$L/$f"))"
done
# --- the same files each as one piece of work (a batch, no chunks) ---
mkdir "$B/g2"
is "$(run "${COPY[@]}" --chunk-min 1G "${srcs[@]}" "$B/g2")" 0 "get them whole (no chunks)"
for f in $FILES; do
	same "$f" "$B/g2"; ok $? "  $f: same bytes and size, $(alloc "$B/g2/$f") KiB allocated"
done
# --- a tree, -r ---
mkdir -p "$R/tree/sub"; cp --sparse=always "$R/mixed" "$R/shole" "$R/tree/sub/"
is "$(run "${COPY[@]}" -r --chunk-min 1M --chunk-max 1M "$H:$R/tree" "$B/g3")" 0 "get -r a tree with sparse files"
same mixed "$B/g3/sub" && same shole "$B/g3/sub"; ok $? "  both sparse, the same bytes"

# --- put: holes are read as zeros; the bytes and size arrive ---
mkdir "$R/p1"
lsrcs=(); for f in $FILES; do lsrcs+=("$L/$f"); done
is "$(run "${COPY[@]}" --chunk-min 1M --chunk-max 1M "${lsrcs[@]}" "$H:$R/p1")" 0 "put sparse files"
bad=0; for f in $FILES; do cmp -s "$L/$f" "$R/p1/$f" || { diag "put $f differs"; bad=1; }; done
ok $bad "  every file the same bytes and size"

# --- resume: interrupted, then the same command again ---
# 48 MiB: odd MiBs are data, even ones holes; a partial block of data at
# 30 MiB + 100 (a chunk of zeros but for it)
for i in $(seq 1 2 47); do rnd "$L/res" $((i * K)) 1024; done
truncate -s 48M "$L/res"
printf partial | dd of="$L/res" bs=1 seek=$((30 * M + 100)) conv=notrunc status=none
cp --sparse=always "$L/res" "$R/res"
J=$SCRATCH/journal
"${COPY[@]}" --chunk-min 1M --chunk-max 1M -n 2 --throttle-ms 100 --resume "$J" \
	"$H:$R/res" "$B/res" >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
wait_records "$J" '^C ' 3 "$pid"; ok $? "resume: a first copy is under way (3 chunks done)"
kill -INT "$pid"; wait "$pid"; rc=$?
is "$rc" 130 "  SIGINT: exit 130"
part=$(find "$B" -maxdepth 1 -name '*res*.cpk-part' | head -1)
[ -n "$part" ] && [ ! -e "$B/res" ]; ok $? "  the temporary file stays, the final name is not made"
# a chunk not done whose source is a hole (even MiB): bytes planted in it
# stand for what an earlier try wrote there; the rerun must not keep them
done_c=" $(sed -n 's/^C [0-9]* \([0-9]*\)$/\1/p' "$J" | tr '\n' ' ')"
for c in $(seq 0 2 46); do case "$done_c" in *" $c "*) ;; *) break;; esac; done
diag "done chunks:$done_c; planted in chunk $c"
head -c 4096 /dev/urandom | dd of="$part" bs=1K seek=$((c * K + 8)) conv=notrunc status=none
is "$(run "${COPY[@]}" --chunk-min 1M --chunk-max 1M -n 2 --resume "$J" "$H:$R/res" "$B/res")" 0 \
	"  the rerun finishes"
grep -q '^C ' "$J" 2>/dev/null && diag "journal left"
is "$(sha256sum <"$B/res")" "$(sha256sum <"$L/res")" "  sha256 the same as the source's"
same res "$B"; ok $? "  size the same, $(alloc "$B/res") KiB allocated (source $(alloc "$L/res"))"
no_partials "$B"; ok $? "  no temporary file left"

done_testing
