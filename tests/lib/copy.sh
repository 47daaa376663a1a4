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
# wait_records FILE PATTERN N PID: until FILE has N such lines, or PID is
# gone; fails if the count was not reached.  (120 s at most: a bound for a
# copy that hangs, far above what a loaded machine takes.)
wait_records() {
	local deadline=$((SECONDS + 120))
	while [ "$SECONDS" -lt "$deadline" ]; do
		[ "$(records "$1" "$2")" -ge "$3" ] && return 0
		kill -0 "$4" 2>/dev/null || break
		sleep 0.005
	done
	[ "$(records "$1" "$2")" -ge "$3" ]
}

# skip NAME WHY: a visible SKIP line in place of test NAME.
skip() { ok 0 "$1 # SKIP $2"; }

# can_unshare: whether this process may make a private mount namespace.
can_unshare() {
	[ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null
}

# other_sshd TYPE: a second sshd (stopped at exit) whose one host key is of
# TYPE (ed25519, rsa, ecdsa), accepting the first one's client key, with
# SSHD_EXTRA_CONFIG if set.  Sets O_PORT, O_KNOWN_HOSTS (its own key
# recorded) and O_FP (its fingerprint); the first sshd's SSHD_* variables
# are kept.
O_N=0
other_sshd() {
	local v saved=()
	for v in SSHD_DIR SSHD_PORT SSHD_PID SSHD_LOG SSHD_KEY SSHD_KNOWN_HOSTS \
		 SSHD_HOSTKEY_FP SSHD_SSH_CONFIG SSHD_RO_DIR SSHD_NOBODY_PIDFILE; do
		saved+=("$v=${!v}")
	done
	O_N=$((O_N + 1))
	SSHD_HOSTKEY_TYPE=$1 sshd_start "$SCRATCH/sshd-$O_N-$1" >/dev/null ||
		{ echo "Bail out! an sshd with an $1 host key did not start"; exit 1; }
	at_exit "kill $SSHD_PID"
	cat "${saved[4]#*=}.pub" >>"$SSHD_DIR/authorized_keys"
	O_PORT=$SSHD_PORT O_KNOWN_HOSTS=$SSHD_KNOWN_HOSTS O_FP=$SSHD_HOSTKEY_FP
	for v in "${saved[@]}"; do export "$v"; done
}

# fake_sha256sum_sshd: other_sshd (ed25519) where "exec sha256sum ..."
# commands run with $SCRATCH/fakebin first on PATH (the test puts its lying
# sha256sum there) and anything else gets the real SFTP server; V is then
# cpk copy against it.
fake_sha256sum_sshd() {
	cat >"$SCRATCH/force" <<EOF
#!/bin/sh
case "\$SSH_ORIGINAL_COMMAND" in
"exec sha256sum "*) PATH=$SCRATCH/fakebin:\$PATH; eval "\$SSH_ORIGINAL_COMMAND";;
*) exec $SFTP_SERVER;;
esac
EOF
	chmod 755 "$SCRATCH/force" "$SCRATCH/fakebin/sha256sum"
	SSHD_EXTRA_CONFIG="ForceCommand $SCRATCH/force" other_sshd ed25519
	V=("$CPK" copy -q -F none -P "$O_PORT" -i "$SSHD_KEY" -o "UserKnownHostsFile=$O_KNOWN_HOSTS"
	   -o GlobalKnownHostsFile=/dev/null)
}

# gated_sshd: another sshd (other_sshd) with a subsystem "sftp-gate": the
# sftp-server behind a filter of the client's SFTP packets that, once it
# has passed a RENAME (or posix-rename) whose packet holds the text in
# $SCRATCH/gate-trigger (read when each server starts), creates
# $GATE_ARMED and from then on holds back every OPEN, creating
# $GATE_CLOSED, until $GATE_ARMED is removed.  So a copy stops for good
# right after a chosen file is in place, and a test may kill it there
# without racing its end.  G is a copy command line through it.
gated_sshd() {
	GATE_ARMED=$SCRATCH/gate-armed GATE_CLOSED=$SCRATCH/gate-closed
	at_exit "rm -f '$GATE_ARMED'"
	cat >"$SCRATCH/gate.pl" <<-'EOF_PL'
	my ($armed, $closed, $trigger) = @ARGV;
	sub rd {	# exactly N bytes of stdin, undef at its end
		my ($n, $b) = ($_[0], '');
		while (length($b) < $n) {
			my $r = sysread(STDIN, $b, $n - length($b), length($b));
			return undef unless $r;
		}
		return $b;
	}
	sub touch { open(my $f, '>', $_[0]) and close($f); }
	while (defined(my $h = rd(4))) {
		my $p = rd(unpack('N', $h));
		last unless defined $p;
		my $type = ord($p);
		if ($type == 3 && -e $armed) {		# OPEN
			touch($closed);
			select(undef, undef, undef, 0.05) while -e $armed;
		}
		my $out = $h . $p;
		while (length($out)) {
			my $w = syswrite(STDOUT, $out);
			exit 1 unless $w;
			substr($out, 0, $w) = '';
		}
		# RENAME, or EXTENDED (posix-rename@openssh.com)
		touch($armed) if ($type == 18 || $type == 200) && $trigger ne '' &&
				 index($p, $trigger) >= 0;
	}
	EOF_PL
	: >"$SCRATCH/gate-trigger"
	cat >"$SCRATCH/gate" <<-EOF_SH
	#!/bin/sh
	perl "$SCRATCH/gate.pl" "$GATE_ARMED" "$GATE_CLOSED" "\$(cat "$SCRATCH/gate-trigger")" |
		${SFTP_SERVER:-/usr/lib/openssh/sftp-server}
	EOF_SH
	chmod 755 "$SCRATCH/gate"
	SSHD_EXTRA_CONFIG="Subsystem sftp-gate $SCRATCH/gate" other_sshd ed25519
	G=("$CPK" copy -q -F none -P "$O_PORT" -i "$SSHD_KEY" -o "UserKnownHostsFile=$O_KNOWN_HOSTS"
	   -o GlobalKnownHostsFile=/dev/null -c aes128-gcm@openssh.com --subsystem sftp-gate)
}

# wait_file FILE PID: until FILE exists (120 s at most) or PID is gone;
# fails if it does not exist.
wait_file() {
	local deadline=$((SECONDS + 120))
	while [ ! -e "$1" ] && [ "$SECONDS" -lt "$deadline" ]; do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.01
	done
	[ -e "$1" ]
}
