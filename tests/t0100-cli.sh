#!/bin/sh
# The command line: help, version, exit codes (0 ok, 1 failed, 2 usage),
# where the description is found (-f, operand, CPK_CONFIG), bad input.
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
scratch

run() { "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; echo $?; }

is "$(run "$CPK")" 2 "no verb: usage, exit 2"
is "$(run "$CPK" --help)" 0 "--help exits 0"
grep -q '^  validate' "$SCRATCH/out"; ok $? "--help lists the verbs"
is "$(run "$CPK" --version)" 0 "--version exits 0"
grep -q '^cpk (clusterpack) [0-9]' "$SCRATCH/out"; ok $? "--version prints the version"
is "$(run "$CPK" frobnicate)" 2 "unknown verb: exit 2"
grep -q "'frobnicate' is not a cpk verb" "$SCRATCH/err"; ok $? "unknown verb is named"
is "$(run "$CPK" validate --nope)" 2 "unknown option: exit 2"
is "$(run "$CPK" validate --help)" 0 "validate --help"
grep -q -- '--dump' "$SCRATCH/out"; ok $? "validate --help lists --dump"
is "$(run "$CPK" validate a.yaml b.yaml)" 2 "two files: exit 2"

is "$(run "$CPK" validate examples/small-cpu.yaml)" 0 "valid file as operand"
is "$(run "$CPK" validate -f examples/small-cpu.yaml -q)" 0 "valid file with -f"
is "$(cat "$SCRATCH/out")" "" "-q prints nothing"
is "$(CPK_CONFIG=examples/small-cpu.yaml run "$CPK" validate)" 0 "CPK_CONFIG is used"
is "$(CPK_CONFIG=$SCRATCH/none.yaml run "$CPK" validate)" 1 "missing CPK_CONFIG file: exit 1"
grep -q "cannot open $SCRATCH/none.yaml: No such file or directory" "$SCRATCH/err"
ok $? "missing file: the message says which and why"

is "$(run "$CPK" validate --dump examples/small-cpu.yaml)" 0 "--dump"
grep -q '^  slurm_user: slurm$' "$SCRATCH/out"; ok $? "--dump shows defaults"
cp "$SCRATCH/out" "$SCRATCH/dumped.yaml"
is "$(run "$CPK" validate "$SCRATCH/dumped.yaml")" 0 "the dump is itself a valid description"

is "$(run "$CPK" render examples/small-cpu.yaml --out "$SCRATCH/o")" 2 "render without --role: exit 2"
is "$(run "$CPK" render examples/small-cpu.yaml --role login --out "$SCRATCH/o")" 2 "bad role: exit 2"
grep -q "unknown role 'login'" "$SCRATCH/err"; ok $? "bad role is named"
is "$(run "$CPK" render examples/small-cpu.yaml --role compute)" 2 "render without --out: exit 2"
is "$(run "$CPK" render examples/small-cpu.yaml --role compute --node nope --out "$SCRATCH/o")" 1 \
   "unknown node: exit 1"
grep -q "'nope' is not a compute node of cluster small" "$SCRATCH/err"; ok $? "unknown node is named"
[ ! -e "$SCRATCH/o" ]; ok $? "nothing written for an unknown node"
is "$(run "$CPK" render tests/data/bad/duplicate-node.yaml --role control --out "$SCRATCH/o")" 1 \
   "invalid description: render exits 1"
[ ! -e "$SCRATCH/o" ]; ok $? "nothing written for an invalid description"

# An output directory that cannot be made: clear error, exit 1.
: > "$SCRATCH/file"
is "$(run "$CPK" render examples/small-cpu.yaml --role control --out "$SCRATCH/file/sub")" 1 \
   "out under a file: exit 1"
grep -q "cannot create directory $SCRATCH/file" "$SCRATCH/err"; ok $? "out under a file: says why"

# nodes.d fragments beside the description are merged.
mkdir -p "$SCRATCH/etc/nodes.d"
cp examples/small-cpu.yaml "$SCRATCH/etc/cluster.yaml"
printf 'nodes:\n  - names: big[1-2]\n    addresses: 10.10.0.[101-102]\n    memory: 1T\n' \
	> "$SCRATCH/etc/nodes.d/50-big.yaml"
printf 'not yaml, ignored\n' > "$SCRATCH/etc/nodes.d/README"
is "$(run "$CPK" validate -f "$SCRATCH/etc/cluster.yaml")" 0 "description with a nodes.d fragment"
grep -q '10 compute nodes in 2 groups' "$SCRATCH/out"; ok $? "fragment nodes are counted"
"$CPK" render -q -f "$SCRATCH/etc/cluster.yaml" --role control --out "$SCRATCH/frag"
grep -q '^NodeName=big\[1-2\] NodeAddr=10.10.0.\[101-102\] CPUs=1 Sockets=1 CoresPerSocket=1 ThreadsPerCore=1 RealMemory=1048576 State=UNKNOWN$' \
	"$SCRATCH/frag/slurm.conf"
ok $? "fragment nodes are rendered"
printf 'nodes:\n  - names: cpu01\npartitions: []\n' > "$SCRATCH/etc/nodes.d/60-bad.yaml"
is "$(run "$CPK" validate -f "$SCRATCH/etc/cluster.yaml")" 1 "bad fragment: exit 1"
is "$(cat "$SCRATCH/err")" "$SCRATCH/etc/nodes.d/60-bad.yaml:2:12: error: nodes[2].names: node 'cpu01' is already defined at $SCRATCH/etc/cluster.yaml:13:12
$SCRATCH/etc/nodes.d/60-bad.yaml:3:1: error: unknown key 'partitions' in a nodes.d fragment (only 'nodes' is allowed there)
cpk: $SCRATCH/etc/cluster.yaml: 2 errors" "fragment errors name the fragment's file:line:col"
done_testing
