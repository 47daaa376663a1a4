# TAP helpers for shell tests (sourced).  Tests call ok/is/fail and
# finally done_testing; prove reads the output.
: "${CPK:?CPK must name the cpk binary (make test sets it)}"
TOP=$(cd "$(dirname "$0")/.." && pwd)
tap_n=0
tap_failed=0

ok() {	# ok STATUS NAME: STATUS 0 passes
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
		# on stderr too, which prove shows without -v (CI's logs):
		# the test's name and what the last `run` wrote on stderr
		echo "# failed: $tap_n - $2" >&2
		if [ -n "${SCRATCH:-}" ] && [ -s "$SCRATCH/err" ]; then
			head -c 600 "$SCRATCH/err" | sed 's/^/#   stderr: /' >&2
		fi
	fi
}

is() {	# is GOT WANT NAME
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '%s\n' "#   got:" "$1" "#   expected:" "$2" | sed 's/^/# /' |
			tee /dev/stderr
	fi
}

diag() { printf '# %s\n' "$@"; }

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# at_exit CMD: run CMD when the test exits, however it exits (last first).
AT_EXIT=":"
at_exit() { AT_EXIT="$1; $AT_EXIT"; }

# A scratch directory, removed at exit unless CPK_KEEP=1.
scratch() {
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cpk-test.XXXXXX")
	trap 'rc=$?; eval "$AT_EXIT"; [ "${CPK_KEEP:-0}" = 1 ] || rm -rf "$SCRATCH"; exit $rc' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
