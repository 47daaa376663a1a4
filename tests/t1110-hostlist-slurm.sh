#!/bin/sh
# cpk's host lists against libslurm's: a few thousand random expressions
# (fixed seeds, printed) expanded by both, and every compressed list read back
# by Slurm (tests/slurm/hostlist_diff.c).  Needs libslurm-dev (make deps).
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1

prog=${CPK_BUILD:-build}/tests/slurm/hostlist_diff
if [ ! -x "$prog" ]; then
	# make deps installs libslurm-dev: without it this check would vanish
	echo "Bail out! $prog is not built (no /usr/include/slurm/slurm.h: run make deps)"
	exit 1
fi
# under the sanitizers (make test-san) fewer, and libslurm's own leaks
# (in slurm_hostlist_create_dims) are not ours
count=3000
if [ -n "${CPK_SAN:-}" ]; then
	count=500
	export LSAN_OPTIONS="suppressions=$TOP/tests/data/lsan-libslurm.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi
for seed in 13013 20261203; do
	out=$("$prog" "$seed" $count 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep '^#' | cut -c1-400
	printf '%s\n' "$out" | grep '^not ok' | sed 's/^/# /'
	ok "$rc" "seed $seed: $count expressions and their compressed lists mean the same to cpk and Slurm"
	n=$(printf '%s\n' "$out" | grep -c '^ok')
	is "$n" 5 "seed $seed: all 5 checks ran and passed"
done
done_testing
