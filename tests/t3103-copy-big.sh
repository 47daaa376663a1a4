#!/bin/bash
# cpk copy of a 1 GiB file of real (non-sparse) data, both directions, over
# 8 connections: sha256 equal, and the client stays under 64 MiB RSS; and
# of 100,000 empty files, under 64 MiB too.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup
# 1 GiB of incompressible data, made fast: 64 MiB random, repeated with a
# different counter each time so no two chunks are equal.
head -c $((64 << 20)) /dev/urandom >"$SCRATCH/seed"
for i in $(seq 0 15); do
	printf '%016d' "$i"; tail -c +17 "$SCRATCH/seed"
done >"$L/big"
is "$(stat -c %s "$L/big")" $((1 << 30)) "a 1 GiB file"
[ "$(du -k "$L/big" | cut -f1)" -ge $((1 << 20)) ]; ok $? "  not sparse"
SUM=$(sha256sum <"$L/big")

rss() { sed -n 's/^MAXRSS \([0-9]*\)$/\1/p' "$SCRATCH/err"; }
TIME=()
[ -z "${CPK_SAN:-}" ] && [ -x /usr/bin/time ] && TIME=(/usr/bin/time -f 'MAXRSS %M')
start=$(date +%s%N)
is "$(run "${TIME[@]}" "${COPY[@]}" --json -n 8 "$L/big" "$H:$R/big")" 0 "put 1 GiB over 8 connections"
diag "put: $(( ($(date +%s%N) - start) / 1000000 )) ms, $(json_field rate_bytes_per_s) B/s, chunks $(json_field chunks_total)"
is "$(sha256sum <"$R/big")" "$SUM" "  sha256 equal"
if [ ${#TIME[@]} -gt 0 ]; then
	[ "$(rss)" -lt $((64 * 1024)) ]; ok $? "  client max RSS $(rss) KiB < 64 MiB"
fi
start=$(date +%s%N)
is "$(run "${TIME[@]}" "${COPY[@]}" --json -n 8 "$H:$R/big" "$B/big")" 0 "get 1 GiB over 8 connections"
diag "get: $(( ($(date +%s%N) - start) / 1000000 )) ms, $(json_field rate_bytes_per_s) B/s"
is "$(sha256sum <"$B/big")" "$SUM" "  sha256 equal"
if [ ${#TIME[@]} -gt 0 ]; then
	[ "$(rss)" -lt $((64 * 1024)) ]; ok $? "  client max RSS $(rss) KiB < 64 MiB"
fi
is "$(stat -c '%a %Y' "$B/big")" "$(stat -c '%a %Y' "$L/big")" "  mode and mtime kept"
rm -f "$L/big" "$R/big" "$B/big" "$SCRATCH/seed"

# 100,000 empty files in 100 directories: memory grows with the file count
# (about 180 bytes a file), and stays under 64 MiB here.
mkdir "$L/many"
(cd "$L/many" && seq 1 100000 | awk '{ printf "d%02d/f%d\n", $1 % 100, $1 }' >"$SCRATCH/names" &&
	cut -d/ -f1 "$SCRATCH/names" | sort -u | xargs mkdir && xargs touch <"$SCRATCH/names")
is "$(find "$L/many" -type f | wc -l)" 100000 "100,000 empty files"
start=$(date +%s%N)
is "$(run "${TIME[@]}" "${COPY[@]}" --json -r -n 8 "$L/many" "$H:$R")" 0 "put -r them over 8 connections"
diag "put 100,000 files: $(( ($(date +%s%N) - start) / 1000000 )) ms"
is "$(json_field files_done)" 100000 "  100,000 files done"
is "$(find "$R/many" -type f | wc -l)" 100000 "  100,000 files there"
if [ ${#TIME[@]} -gt 0 ]; then
	[ "$(rss)" -lt $((64 * 1024)) ]; ok $? "  client max RSS $(rss) KiB < 64 MiB"
fi
done_testing
