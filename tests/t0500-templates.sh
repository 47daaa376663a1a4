#!/bin/sh
# The VM templates: both roles' cloud-init files pass `cloud-init schema`,
# turn off cloud-init's /etc/hosts and run cpk apply; the example pack
# descriptions validate and apply; build-template.sh's --help, its --dry-run
# (every command, the role's packages exactly as `cpk apply --list-packages`
# gives them, the make install line; nothing changed) and its refusals.
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
scratch

BT=ansible-free-bootstrap/build-template.sh
run() { "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; echo $?; }
# every file and directory under a root, with type, mode and size
tree() { (cd "$1" && find . -printf '%y %m %s %p\n' | sort); }

# cloud-init's own check (Debian's cloud-init, installed by make deps)
command -v cloud-init >/dev/null 2>&1; ok $? "cloud-init is installed (make deps)"
printf '#cloud-config\nmanage_etc_hosts: maybe\n' >"$SCRATCH/bad.yaml"
[ "$(run cloud-init schema --config-file "$SCRATCH/bad.yaml")" != 0 ]
ok $? "cloud-init schema refuses a bad config (the check can fail)"
for role in control compute; do
	f=templates/cloud-init/$role.yaml
	is "$(run cloud-init schema --config-file "$f")" 0 "$role.yaml: cloud-init schema accepts it" ||
		cat "$SCRATCH/out" "$SCRATCH/err" >&2
	is "$(head -1 "$f")" "#cloud-config" "$role.yaml: user data (#cloud-config)"
	grep -qx "manage_etc_hosts: false" "$f"; ok $? "$role.yaml: cloud-init leaves /etc/hosts to cpk apply"
done
grep -q '^ *\(exec \)\{0,1\}/usr/local/bin/cpk apply --role control$' templates/cloud-init/control.yaml
ok $? "control.yaml runs cpk apply --role control"
# shellcheck disable=SC2016 # literal text of the file
grep -q '^ */usr/local/bin/cpk apply --role compute --node "$(hostname -s)" --munge-key "$key"$' \
	templates/cloud-init/compute.yaml &&
	grep -q '^ *desc=/etc/clusterpack/cluster.yaml key=/etc/clusterpack/munge.key$' templates/cloud-init/compute.yaml
ok $? "compute.yaml runs cpk apply --role compute --node (hostname) --munge-key /etc/clusterpack/munge.key"
# where build-template.sh installs cpk is where the cloud-init files run it
grep -q '^PREFIX=/usr/local$' "$BT"; ok $? "build-template.sh installs under /usr/local, where the runcmd finds cpk"

# The runcmd scripts themselves: sh syntax; without a description they stop
# and say what is missing (run in a scratch copy that points into SCRATCH).
for role in control compute; do
	sed -n '/^runcmd:/,$p' "templates/cloud-init/$role.yaml" | sed '1,2d; s/^    //' |
		sed "s|/etc/clusterpack|$SCRATCH/etc-$role|g; s|/usr/local/bin/cpk|$CPK|" >"$SCRATCH/runcmd-$role"
	sh -n "$SCRATCH/runcmd-$role"; ok $? "$role runcmd: sh -n"
	[ "$(run sh "$SCRATCH/runcmd-$role")" = 1 ] && grep -q "cluster.yaml" "$SCRATCH/err"
	ok $? "$role runcmd: no description: exits 1 and names it"
done

# the example descriptions of the two packs
for ex in templates/examples/mdx-cpu-pack.yaml templates/examples/mdx-gpu-pack.yaml; do
	is "$(run "$CPK" validate -f "$ex")" 0 "$ex validates" || cat "$SCRATCH/err" >&2
done
grep -q "gpus:" templates/examples/mdx-gpu-pack.yaml && ! grep -q "gpus:" templates/examples/mdx-cpu-pack.yaml
ok $? "the GPU pack has GPUs, the CPU pack none"
# and both roles apply from them (the compute node named as its hostname
# would be), the compute runcmd included
"$CPK" munge-key --key "$SCRATCH/key" --create --owner root >/dev/null
for pack in cpu gpu; do
	ex=templates/examples/mdx-$pack-pack.yaml
	mkdir "$SCRATCH/$pack-control" "$SCRATCH/$pack-compute"
	is "$(run "$CPK" apply -f "$ex" --role control --root "$SCRATCH/$pack-control" --no-packages)" 0 \
		"mdx-$pack-pack: control applies"
	node=$(sed -n 's/^ *- names: *\([a-z]*\)\[\([0-9]*\).*/\1\2/p' "$ex" | head -1)
	is "$(run "$CPK" apply -f "$ex" --role compute --node "$node" --munge-key "$SCRATCH/key" \
		--root "$SCRATCH/$pack-compute" --no-packages)" 0 "mdx-$pack-pack: compute $node applies"
	cmp -s "$SCRATCH/key" "$SCRATCH/$pack-compute/etc/munge/munge.key"; ok $? "  with the control node's key"
done
mkdir -p "$SCRATCH/etc-compute"
cp templates/examples/mdx-cpu-pack.yaml "$SCRATCH/etc-compute/cluster.yaml"
[ "$(run sh "$SCRATCH/runcmd-compute")" = 1 ] && grep -q "munge key" "$SCRATCH/err"
ok $? "compute runcmd: a description but no munge key: exits 1 and says so"

# build-template.sh
sh -n "$BT"; ok $? "build-template.sh: sh -n"
if command -v shellcheck >/dev/null 2>&1; then
	shellcheck -s sh "$BT"; ok $? "build-template.sh: shellcheck"
else
	diag "shellcheck is not installed: not run"
fi
head -1 "$BT" | grep -qx '#!/bin/sh'; ok $? "build-template.sh: POSIX sh"
is "$(run sh "$BT" --help)" 0 "--help exits 0"
grep -q -- "--role control|compute --src DIR" "$SCRATCH/out" && grep -q -- "--dry-run" "$SCRATCH/out"
ok $? "  and shows the usage"

build_pkgs=$(sh tests/rig/deps.sh --build-list)
[ -n "$build_pkgs" ] && echo "$build_pkgs" | grep -qx libyaml-dev; ok $? "deps.sh --build-list: the build's packages"
R=$SCRATCH/root
mkdir "$R"
for role in control compute; do
	"$CPK" apply --role "$role" --list-packages >"$SCRATCH/want-$role"
	[ -s "$SCRATCH/want-$role" ]; ok $? "$role: cpk apply --list-packages lists packages"
	is "$(run sh "$BT" --role "$role" --src "$TOP" --root "$R" --cpk "$CPK" --dry-run)" 0 "$role --dry-run exits 0" ||
		cat "$SCRATCH/err" >&2
	cp "$SCRATCH/out" "$SCRATCH/dry-$role"
	# the apt-get install lines, their packages one per line
	grep '^+ env DEBIAN_FRONTEND=noninteractive chroot [^ ]* apt-get install -y -q --no-install-recommends ' \
		"$SCRATCH/dry-$role" | sed 's/.*--no-install-recommends //' >"$SCRATCH/apt-$role"
	is "$(wc -l <"$SCRATCH/apt-$role" | tr -d ' ')" 2 "$role: two apt-get install lines (the build's, the role's), no recommends"
	is "$(sed -n 2p "$SCRATCH/apt-$role" | tr ' ' '\n')" "$(cat "$SCRATCH/want-$role")" \
		"$role: the role's apt-get line has exactly cpk apply --list-packages's packages"
	is "$(sed -n 1p "$SCRATCH/apt-$role" | tr ' ' '\n')" "$build_pkgs
cloud-init" "$role: the first installs the build's packages and cloud-init"
	grep -q "^+ env DEBIAN_FRONTEND=noninteractive chroot $R apt-get update" "$SCRATCH/dry-$role"
	ok $? "$role: apt-get update, in the root"
	grep -qx "+ make -C $TOP install PREFIX=/usr/local DESTDIR=$R" "$SCRATCH/dry-$role"
	ok $? "$role: make install PREFIX=/usr/local DESTDIR=ROOT"
	grep -q "^+ sh -c .*exit 101.* policy-rc.d $R/usr/sbin/policy-rc.d$" "$SCRATCH/dry-$role" &&
		[ "$(grep -n 'policy-rc.d' "$SCRATCH/dry-$role" | head -1 | cut -d: -f1)" = 1 ]
	ok $? "$role: a policy-rc.d (exit 101) in the root before any package"
	n=$(grep -c "debconf-set-selections" "$SCRATCH/dry-$role")
	if [ "$role" = control ]; then
		grep -q "^+ sh -c .*slapd slapd/no_configuration boolean true.* debconf-set-selections.* sh chroot $R$" \
			"$SCRATCH/dry-$role" &&
			[ "$(grep -n 'debconf-set-selections' "$SCRATCH/dry-$role" | cut -d: -f1)" -lt \
				"$(grep -n 'apt-get install.* slapd' "$SCRATCH/dry-$role" | cut -d: -f1)" ]
		ok $? "control: slapd preseeded (no dc=nodomain database) before the role's packages"
	else
		is "$n" 0 "compute: no slapd, no preseed"
	fi
	grep -qx "+ install -m 0644 $TOP/templates/cloud-init/$role.yaml $R/etc/cloud/cloud.cfg.d/90-clusterpack.cfg" \
		"$SCRATCH/dry-$role"
	ok $? "$role: its cloud-init file into the root's cloud.cfg.d"
	! grep -v '^+ \|^build-template.sh: dry run: nothing changed$' "$SCRATCH/dry-$role" | grep -q .
	ok $? "$role: every line is a command, and the dry run says nothing changed"
	is "$(ls -A "$R")" "" "$role --dry-run: the root stays empty"
done
[ ! -e "$TOP/templates/cloud-init/90-clusterpack.cfg" ]; ok $? "nothing written next to the sources"
# the root's / form: no chroot, no DESTDIR (printed only)
run sh "$BT" --role compute --src "$TOP" --cpk "$CPK" --dry-run >/dev/null
grep -qx "+ make -C $TOP install PREFIX=/usr/local" "$SCRATCH/out" &&
	grep -q "^+ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends munge slurmd" "$SCRATCH/out" &&
	grep -qx "+ install -m 0644 $TOP/templates/cloud-init/compute.yaml /etc/cloud/cloud.cfg.d/90-clusterpack.cfg" "$SCRATCH/out"
ok $? "--root / (the default): apt-get and make install on this system, paths from /"

# refusals: exit 2 with a message, nothing run
for args in "--role bogus --src $TOP" "--src $TOP" "--role control" "--role control --src $SCRATCH" \
	"--role compute --src $TOP --root $SCRATCH/none" "--role compute --src $TOP --frob" "--role"; do
	# shellcheck disable=SC2086 # words
	is "$(run sh "$BT" $args --dry-run)" 2 "refused: $args"
	grep -q "^build-template.sh: " "$SCRATCH/err" && ! grep -q '^+ ' "$SCRATCH/out"
	ok $? "  with a message, running nothing"
done
is "$(run sh "$BT" --role bogus --src "$TOP")" 2 "a bad role, without --dry-run too: exit 2"
grep -q "unknown role 'bogus' (expected control or compute)" "$SCRATCH/err"; ok $? "  named, with the two roles"
# no cpk to ask: a clear failure (1), not a guess
is "$(run sh "$BT" --role control --src "$TOP" --root "$R" --cpk "$SCRATCH/no-cpk" --dry-run)" 1 "no cpk for the package list: exit 1"
grep -q "no cpk at $SCRATCH/no-cpk" "$SCRATCH/err"; ok $? "  and says so"
is "$(ls -A "$R")" "" "the root stays empty through the refusals"

done_testing
