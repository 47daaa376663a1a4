#!/bin/sh
# The rendered exports file is accepted by the real exportfs(8): inside a
# private mount namespace, the file is bind-mounted over /etc/exports and a
# tmpfs over /var/lib/nfs (the machine's own files are never touched), then
# `exportfs -ra` must succeed without a word and `exportfs -v` must list
# every client with the options asked for.  A broken file must fail there, to
# show the check can fail.  Without exportfs the test fails (make deps
# installs it); where no private mount namespace can be made (not root, a
# container without the right) it says SKIP.
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
EXPORTFS=$(command -v exportfs || command -v /usr/sbin/exportfs)
if [ -z "$EXPORTFS" ]; then
	echo "not ok 1 - exportfs is missing: install nfs-kernel-server (make deps does)"
	echo "1..1"
	exit 1
fi
scratch
mkdir "$SCRATCH/probe"
if ! command -v unshare >/dev/null ||
   ! unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs "$1"' sh "$SCRATCH/probe" 2>/dev/null; then
	echo "1..0 # SKIP cannot make a private mount namespace here (needs root and unshare -m)"
	exit 0
fi
mkdir -p "$SCRATCH/srv/home" "$SCRATCH/srv/data" "$SCRATCH/srv/scratch"

cat > "$SCRATCH/cluster.yaml" <<EOF
cluster: {name: nfs, domain: nfs.example.org}
control: {name: head, address: 10.20.0.1}
nodes:
  - names: c[001-012]
    addresses: 10.20.0.[11-22]
partitions: [{name: p, nodes: ALL}]
filesystems:
  - name: home
    export: $SCRATCH/srv/home
    clients: [10.20.0.0/24, "fd00:20::/64", "*.nfs.example.org"]
    export_options: rw,sync,no_subtree_check,root_squash
  - name: data
    export: $SCRATCH/srv/data
    clients: ["c[001-012]", "head", 10.20.0.99, "@cluster"]
    export_options: ro,async,no_subtree_check,anonuid=65534,anongid=65534
  - name: scratch
    server: c001
    export: $SCRATCH/srv/scratch
    clients: ["c[002-012]"]
EOF
"$CPK" render -q "$SCRATCH/cluster.yaml" --role control --out "$SCRATCH/ctl"
ok $? "render the control node's exports"
"$CPK" render -q "$SCRATCH/cluster.yaml" --role compute --node c001 --out "$SCRATCH/c001"
ok $? "render c001's exports"

# exportfs_check EXPORTS OUT: exportfs -ra then -v in a private namespace.
exportfs_check() {
	unshare -m --propagation private sh -c '
		mount --bind "$1" /etc/exports && mount -t tmpfs tmpfs /var/lib/nfs &&
		"$3" -ra 2>"$2.err" && "$3" -v' sh "$1" "$2" "$EXPORTFS" >"$2" 2>>"$2.err"
}

exportfs_check "$SCRATCH/ctl/exports" "$SCRATCH/ctl.v"
ok $? "exportfs -ra accepts the control node's exports"
is "$(cat "$SCRATCH/ctl.v.err")" "" "exportfs says nothing about it"
v=$(tr -s ' \t\n' ' ' < "$SCRATCH/ctl.v")
n=$(grep -c "^$SCRATCH/srv/data" "$SCRATCH/ctl.v")
is "$n" 15 "data: 12 nodes, head (as 10.20.0.1), an address and a netgroup"
case $v in *"10.20.0.22(async,"*",ro,"*) r=0 ;; *) r=1 ;; esac
ok $r "c012 is exported to by its address, ro and async"
case $v in *"10.20.0.1(async,"*",ro,"*) r=0 ;; *) r=1 ;; esac
ok $r "head is exported to by its address"
case $v in *"*.nfs.example.org("*rw*root_squash*) r=0 ;; *) r=1 ;; esac
ok $r "the domain pattern gets rw,root_squash"
case $v in *"fd00:20::/64("*) r=0 ;; *) r=1 ;; esac
ok $r "an IPv6 network is accepted"
grep -q "srv/scratch" "$SCRATCH/ctl.v"
ok $((!$?)) "the control node does not export what c001 serves"

exportfs_check "$SCRATCH/c001/exports" "$SCRATCH/c001.v"
ok $? "exportfs -ra accepts c001's exports"
is "$(grep -c "^$SCRATCH/srv/scratch" "$SCRATCH/c001.v")" 11 "c001 exports scratch to c002..c012"

# Negative control: what the renderer refuses to write, exportfs catches.
printf '%s 10.20.0.0/24(rw,bogus_option)\n' "$SCRATCH/srv/home" > "$SCRATCH/broken"
exportfs_check "$SCRATCH/broken" "$SCRATCH/broken.v"
ok $((!$?)) "exportfs rejects a broken file (the check can fail)"
grep -q 'unknown keyword "bogus_option"' "$SCRATCH/broken.v.err"
ok $? "and says why"
done_testing
