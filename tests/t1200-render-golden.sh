#!/bin/sh
# Rendering the examples gives exactly the files under tests/data/golden/,
# byte for byte, with the right modes, every time, and leaves no temporary
# files behind.
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
scratch

for ex in small-cpu mdx-gpu; do
	for role in control compute; do
		out="$SCRATCH/$ex-$role"
		"$CPK" render -q "examples/$ex.yaml" --role "$role" --out "$out"
		ok $? "$ex $role: render"
		diff -r "tests/data/golden/$ex/$role" "$out" >&2
		ok $? "$ex $role: matches the golden files"
		"$CPK" render -q "examples/$ex.yaml" --role "$role" --out "$out.again"
		diff -r "$out" "$out.again" >/dev/null
		ok $? "$ex $role: a second render gives the same bytes"
		is "$(ls -A "$out" | grep -c '^\.')" 0 "$ex $role: no temporary files left"
	done
done
is "$(stat -c %a "$SCRATCH/mdx-gpu-control/sssd.conf")" 600 "sssd.conf is 0600"
is "$(stat -c %a "$SCRATCH/mdx-gpu-control/slurm.conf")" 644 "slurm.conf is 0644"
is "$(ls "$SCRATCH/mdx-gpu-compute" | tr '\n' ' ')" \
   "cgroup.conf data.mount fstab gres.conf home.mount hosts ldap.conf plugstack.conf slurm.conf sshd.conf sssd.conf " \
   "a compute node gets fstab and a mount unit per NFS filesystem, not exports"

# Re-rendering over existing files replaces them atomically (new inode).
before=$(stat -c %i "$SCRATCH/small-cpu-control/slurm.conf")
"$CPK" render -q examples/small-cpu.yaml --role control --out "$SCRATCH/small-cpu-control"
after=$(stat -c %i "$SCRATCH/small-cpu-control/slurm.conf")
[ "$before" != "$after" ]
ok $? "re-render replaces slurm.conf by rename"

# A node that serves a filesystem gets an exports file for it.
sed -e 's/^    clients: \[10.10.0.0\/24\]/    clients: [10.10.0.0\/24]\n  - name: scratch\n    server: cpu01\n    export: \/scratch\n    clients: ["cpu[02-08]"]/' \
	examples/small-cpu.yaml > "$SCRATCH/served.yaml"
"$CPK" render -q "$SCRATCH/served.yaml" --role compute --node cpu01 --out "$SCRATCH/served"
ok $? "render for a node that serves a filesystem"
o="(rw,sync,no_subtree_check)"
is "$(grep -v '^#' "$SCRATCH/served/exports")" \
   "/scratch 10.10.0.12$o 10.10.0.13$o 10.10.0.14$o 10.10.0.15$o 10.10.0.16$o 10.10.0.17$o 10.10.0.18$o" \
   "its exports lists what it serves, to the nodes' addresses (no name resolution needed)"
is "$(grep -v '^#' "$SCRATCH/served/fstab")" "head:/home	/home	nfs	defaults,_netdev	0 0" \
   "its fstab mounts the rest"
done_testing
