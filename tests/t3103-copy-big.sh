#!/bin/bash
# cpk copy of a 1 GiB file of real (non-sparse) data, both directions, over
# 8 connections: sha256 equal, and the client stays under 64 MiB RSS.
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
done_testing
