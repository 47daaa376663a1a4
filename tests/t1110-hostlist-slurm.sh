#!/bin/sh
# cpk's host lists against libslurm's: a few thousand random expressions
# (fixed seeds, printed) expanded by both, and every compressed list read back
# by Slurm (tests/slurm/hostlist_diff.c).  Needs libslurm-dev (built by make
# where slurm/slurm.h is).
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1

prog=${CPK_BUILD:-build}/tests/slurm/hostlist_diff
if [ ! -x "$prog" ]; then
	echo "1..0 # SKIP $prog is not built (no /usr/include/slurm/slurm.h: install libslurm-dev)"
	exit 0
fi
for seed in 13013 20261203; do
	out=$("$prog" "$seed" 3000 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep '^#' | cut -c1-400
	printf '%s\n' "$out" | grep '^not ok' | sed 's/^/# /'
	ok "$rc" "seed $seed: 3000 expressions and their compressed lists mean the same to cpk and Slurm"
	n=$(printf '%s\n' "$out" | grep -c '^ok')
	is "$n" 5 "seed $seed: all 5 checks ran and passed"
done
done_testing
