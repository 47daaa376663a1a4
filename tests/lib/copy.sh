# Shared setup of the `cpk copy` tests (sourced after tests/lib/tap.sh):
# a scratch dir, a throwaway sshd stopped by pid at exit, and COPY, the
# command line that reaches it non-interactively.
. "$TOP/tests/rig/sshd.sh"

copy_setup() {
	scratch
	at_exit sshd_stop
	sshd_start "$SCRATCH/sshd" >/dev/null ||
		{ echo "Bail out! sshd did not start"; exit 1; }
	COPY=("$CPK" copy -q -F none -P "$SSHD_PORT" -i "$SSHD_KEY"
	      -o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS"
	      -o GlobalKnownHostsFile=/dev/null -c aes128-gcm@openssh.com)
	H=127.0.0.1
	# local files, the remote side's files, files copied back
	L=$SCRATCH/local R=$SCRATCH/remote B=$SCRATCH/back
	mkdir -p "$L" "$R" "$B"
	M=$((1024 * 1024))
}

# run CMD...: runs it, stdout to $SCRATCH/out, stderr to $SCRATCH/err;
# echoes the exit status.
run() { "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; echo $?; }

# json_field NAME: the value of NAME in the JSON summary in $SCRATCH/out.
json_field() { sed -n "s/.*\"$1\":\\([^,}]*\\).*/\\1/p" "$SCRATCH/out"; }

# tree_state DIR: every entry under DIR with what a copy must keep: type,
# mode, mtime and size of files; mode and mtime of dirs; link targets.
tree_state() {
	(cd "$1" && {
		find . -mindepth 1 -type f -print0 | xargs -0r stat -c 'f %n %a %Y %s'
		find . -mindepth 1 -type d -print0 | xargs -0r stat -c 'd %n %a %Y'
		find . -mindepth 1 -type l -printf 'l %p -> %l\n'
	} | LC_ALL=C sort)
}

# tree_sums DIR: sha256 of every file under DIR, by name.
tree_sums() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}

# no_partials DIR: no temporary ".NAME.cpk-part" file is left under DIR.
no_partials() { [ -z "$(find "$1" -name '*.cpk-part' | head -1)" ]; }

# small_tree DIR N DIRS MAXSIZE: N files of 0..MAXSIZE-1 random bytes spread
# over DIRS subdirectories, with spaces and UTF-8 in names, modes 0640/0600
# and distinct mtimes.
small_tree() {
	mkdir -p "$1"
	perl -e '
		my ($d, $n, $dirs, $max) = @ARGV; srand(42);
		for my $i (0 .. $n - 1) {
			my $dir = sprintf("%s/d%02d", $d, $i % $dirs);
			mkdir $dir;
			my $name = ($i % 3 == 0) ? "f $i.dat" : ($i % 3 == 1) ? "ü-$i" : "n$i";
			open(my $f, ">", "$dir/$name") or die;
			print $f pack("C*", map { int(rand(256)) } 1 .. (($i * 7919) % $max));
			close $f;
			utime(1400000000 + $i, 1400000000 + $i, "$dir/$name");
			chmod(($i % 2) ? 0640 : 0600, "$dir/$name");
		}' "$@"
}

# records FILE PATTERN: how many complete lines of FILE match PATTERN
records() { local n; n=$(grep -c "$2" "$1" 2>/dev/null); echo "${n:-0}"; }
# wait_records FILE PATTERN N PID: until FILE has N such lines (10 s at most),
# or PID is gone; fails if the count was not reached.
wait_records() {
	local i
	for i in $(seq 1 2000); do
		[ "$(records "$1" "$2")" -ge "$3" ] && return 0
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.005
	done
	return 1
}
