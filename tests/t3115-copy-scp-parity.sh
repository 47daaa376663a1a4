#!/bin/bash
# The scp-parity table (issue 11): the same operation run with scp (its
# default SFTP mode) and with cpk copy against the same real sshd, each into
# a fresh tree of its own, then the two trees compared entry by entry: names,
# types, content, and modes and mtimes where -p is given; and both must
# succeed, or both fail.  Both go through one ssh_config (-F) naming the
# host "cpktest" with the test's port, key and known_hosts.  Forms: a file
# into an existing directory and to a new name, a directory (-r) into an
# existing directory and to a new name, trailing slashes on source and
# destination, remote paths relative to the home, names with spaces, a
# newline and ':', -p; put and get.  Where cpk differs on purpose the row
# says why, and checks cpk's own behaviour instead.  `~`, globs and several
# sources into a missing directory have rows elsewhere (t3111, t3116).
#
# The sshd runs in a private mount namespace whose /etc/passwd (bound over
# the host's, which stays untouched) gives root a home in the scratch
# directory, so relative remote paths land there.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"

if ! command -v scp >/dev/null; then
	skip "scp parity" "no scp here"
	done_testing
	exit
fi
if ! can_unshare; then
	skip "scp parity" "no private mount namespace here (for a home of the test's own)"
	done_testing
	exit
fi
scratch
HD=$SCRATCH/home
mkdir -p "$HD"
sed "s#^root:\([^:]*\):0:0:\([^:]*\):[^:]*:#root:\1:0:0:\2:$HD:#" /etc/passwd >"$SCRATCH/passwd"
cat >"$SCRATCH/sshd-ns" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c 'mount --bind "\$0" /etc/passwd && exec $SSHD_BIN "\$@"' "$SCRATCH/passwd" "\$@"
EOF
chmod 755 "$SCRATCH/sshd-ns"
at_exit sshd_stop
SSHD_BIN=$SCRATCH/sshd-ns sshd_start "$SCRATCH/sshd" >/dev/null ||
	{ echo "Bail out! sshd did not start"; exit 1; }
CFG=$SSHD_SSH_CONFIG	# Host cpktest: port, key, known_hosts, BatchMode
SCP=(scp -q -s -F "$CFG")
CP=("$CPK" copy -q -F "$CFG")
NL=$'nl\nx'

# fixture T: the tree of one side ($HD/T): l/ the local files, r/ the
# remote ones, each with an existing directory ed/
fixture() {
	local d
	rm -rf "${HD:?}/$1"
	for d in "$HD/$1/l" "$HD/$1/r"; do
		mkdir -p "$d/ed" "$d/dir/sub" "$d/dir/empty"
		echo f >"$d/f"; echo s >"$d/sp ace"; echo n >"$d/$NL"; echo c >"$d/co:lon"
		echo a >"$d/dir/a"; echo b >"$d/dir/sub/b"; echo e >"$d/ed/old"
		chmod 0604 "$d/f"; chmod 0640 "$d/dir/a"; chmod 0750 "$d/dir/sub"
		touch -d @1400000000 "$d/f" "$d/dir/a" "$d/dir/sub/b" "$d/dir/sub" "$d/dir/empty" "$d/dir"
	done
}

# tree_list DIR [PATH]: one line per entry under DIR: its name (bytes
# outside ! .. ~ as \xNN), type, the start of its sha256 (files); with PATH
# (./r/new, say: what the copy made) also modes, and mtimes at and under PATH
# (the copy itself changes its parent's)
tree_list() {
	(cd "$1" && perl -MFile::Find -MDigest::SHA=sha256_hex -e '
		my $p = shift; my @out;
		find({ no_chdir => 1, wanted => sub {
			return if $_ eq ".";
			my @st = lstat($_) or die "$_: $!";
			(my $n = $_) =~ s/([^!-~])/sprintf("\\x%02x", ord($1))/ge;
			my $l = $n . (-l _ ? " link" : -d _ ? " dir" : -f _ ? " file" : " other");
			if (-f _) {
				open(my $f, "<", $_) or die "$_: $!";
				local $/; $l .= " " . substr(sha256_hex(<$f> // ""), 0, 16);
			}
			$l .= sprintf(" %o", $st[2] & 07777) if $p ne "";
			$l .= " $st[9]" if $p ne "" &&
				($_ eq $p || index($_, "$p/") == 0);
			push @out, "$l\n";
		}}, ".");
		print sort @out;' "${2:-}")
}

# subst T ARGS...: ARGS with @L@ (T's local dir), @R@ (cpktest: and T's
# remote dir), @r@ (cpktest: and T's remote dir relative to the home);
# into the array A
subst() {
	local t=$1 a
	shift
	A=()
	for a in "$@"; do
		a=${a//@L@/$HD/$t/l}
		a=${a//@R@/cpktest:$HD/$t/r}
		a=${a//@r@/cpktest:$t/r}
		A+=("$a")
	done
}

# row NAME ARGS...: the operation with scp into tree s and cpk into tree c;
# the same exit (0 or not) and the same trees (with -p: modes and mtimes).
# cpk copy keeps modes and times by default (cpk-copy(1)); its -p, for
# scp's users, says the same.  The "(cpk: no -p)" rows check the default.
row() {
	local name=$1 p= a rs rc cargs=() nop=
	shift
	case $name in *"(cpk: no -p)"*) nop=1;; esac
	for a in "$@"; do
		if [ "$a" = -p ]; then p=1; [ -n "$nop" ] || cargs+=("$a")
		else cargs+=("$a"); fi
	done
	if [ -n "$p" ]; then	# the last operand: what the copy makes
		p=${a/@R@/./r}; p=${p/@L@/./l}
	fi
	fixture s; fixture c
	subst s "$@"; rs=$(run "${SCP[@]}" "${A[@]}"); cp "$SCRATCH/err" "$SCRATCH/err.s"
	subst c "${cargs[@]}"; rc=$(run "${CP[@]}" "${A[@]}")
	tree_list "$HD/s" $p >"$SCRATCH/list.s"
	tree_list "$HD/c" $p >"$SCRATCH/list.c"
	if [ "$rs" = 0 ]; then rs=ok; else rs=fails; fi
	if [ "$rc" = 0 ]; then rc=ok; else rc=fails; fi
	is "$rc" "$rs" "as scp: $name ($rs)"
	[ "$rc" = "$rs" ] ||
		diag "scp: $(head -c 300 "$SCRATCH/err.s"); cpk: $(head -c 300 "$SCRATCH/err")"
	diff "$SCRATCH/list.s" "$SCRATCH/list.c" >"$SCRATCH/diff"
	a=$?
	ok $a "  the same tree"
	[ $a = 0 ] || diag "$(head -20 "$SCRATCH/diff")"
}

# --- put ---
row "put f into an existing dir"		@L@/f @R@/ed
row "put f into an existing dir/"		@L@/f @R@/ed/
row "put f to a new name"			@L@/f @R@/new
row "put f onto an existing file"		@L@/f "@R@/sp ace"
row "put f to a missing dir/"			@L@/f @R@/nd/
row "put -r dir into an existing dir"		-r @L@/dir @R@/ed
row "put -r dir into an existing dir/"		-r @L@/dir @R@/ed/
row "put -r dir/ into an existing dir"		-r @L@/dir/ @R@/ed
row "put -r dir to a new name"			-r @L@/dir @R@/newd
row "put -r dir/ to a new name"			-r @L@/dir/ @R@/newd
row "put f, relative remote dir"		@L@/f @r@/ed
row "put f, relative remote new name"		@L@/f @r@/new
row "put -r dir, relative remote new name"	-r @L@/dir @r@/newd
row "put 'sp ace'"				"@L@/sp ace" @R@/ed
row "put a name with a newline"			"@L@/$NL" @R@/ed
row "put 'co:lon'"				"@L@/co:lon" @R@/ed
row "put f to 'new name'"			@L@/f "@R@/new name"
row "put f to 'new:name'"			@L@/f "@R@/new:name"
row "put f to a name with a newline"		@L@/f "@R@/new$NL"
row "put several into an existing dir"		@L@/f "@L@/sp ace" "@L@/co:lon" @R@/ed
row "put -p f to a new name"			-p @L@/f @R@/new
row "put -r -p dir to a new name"		-r -p @L@/dir @R@/newd
# cpk keeps modes and times without -p too (its default; scp does not)
row "put -p f to a new name (cpk: no -p)"	-p @L@/f @R@/new
row "put -r -p dir to a new name (cpk: no -p)"	-r -p @L@/dir @R@/newd

# --- get ---
row "get f into an existing dir"		@R@/f @L@/ed
row "get f into an existing dir/"		@R@/f @L@/ed/
row "get f to a new name"			@R@/f @L@/new
row "get f onto an existing file"		@R@/f "@L@/sp ace"
row "get f to a missing dir/"			@R@/f @L@/nd/
row "get -r dir into an existing dir"		-r @R@/dir @L@/ed
row "get -r dir into an existing dir/"		-r @R@/dir @L@/ed/
row "get -r dir/ into an existing dir"		-r @R@/dir/ @L@/ed
row "get -r dir to a new name"			-r @R@/dir @L@/newd
row "get -r dir/ to a new name"			-r @R@/dir/ @L@/newd
row "get f, relative remote path"		@r@/f @L@/ed
row "get -r dir, relative remote path"		-r @r@/dir @L@/newd
row "get 'sp ace'"				"@R@/sp ace" @L@/ed
row "get a name with a newline"			"@R@/$NL" @L@/ed
row "get 'co:lon'"				"@R@/co:lon" @L@/ed
row "get f to 'new name'"			@R@/f "@L@/new name"
row "get f to 'new:name'"			@R@/f "@L@/new:name"
row "get several into an existing dir"		@R@/f "@R@/sp ace" "@R@/co:lon" @L@/ed
row "get -p f to a new name"			-p @R@/f @L@/new
row "get -r -p dir to a new name"		-r -p @R@/dir @L@/newd
row "get -p f to a new name (cpk: no -p)"	-p @R@/f @L@/new
row "get -r -p dir to a new name (cpk: no -p)"	-r -p @R@/dir @L@/newd

done_testing
