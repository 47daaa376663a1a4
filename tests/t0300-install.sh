#!/bin/sh
# make install into a DESTDIR: the library (static and shared), headers,
# pkg-config file, cpk and man pages land where PREFIX says, and a program
# builds against the installed library through pkg-config and runs.
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
if [ "${CPK_SAN:-0}" = 1 ]; then
	echo "1..0 # SKIP installs the normal build only"
	exit 0
fi
scratch

: "${CPK_BUILD:?make test sets CPK_BUILD}"
d="$SCRATCH/root"
make --no-print-directory -s B="$CPK_BUILD" PREFIX=/usr DESTDIR="$d" install >"$SCRATCH/log" 2>&1
ok $? "make install" || cat "$SCRATCH/log" >&2
for f in usr/bin/cpk usr/lib/libclusterpack.a usr/lib/libclusterpack.so.0 \
	usr/lib/libclusterpack.so usr/include/cpk/model.h usr/include/cpk/render.h \
	usr/lib/pkgconfig/libclusterpack.pc usr/share/man/man1/cpk.1 \
	usr/share/man/man5/cluster.yaml.5 usr/share/man/man7/clusterpack.7; do
	[ -e "$d/$f" ]; ok $? "installed $f"
done
grep -q '^\.TH CPK 1 "[0-9-]*" "clusterpack [0-9.]*"' "$d/usr/share/man/man1/cpk.1"
ok $? "man page carries the date and version"
grep -q '^\.B nodes\.names$' "$d/usr/share/man/man5/cluster.yaml.5"
ok $? "cluster.yaml(5) holds the generated key reference"
! grep -q '@[A-Z]*@' "$d"/usr/share/man/man*/*
ok $? "no template placeholders left in the man pages"

# Only cpk_ symbols are exported by the shared library.
bad=$(nm -D --defined-only "$d/usr/lib/libclusterpack.so.0" | awk '$2 ~ /[TDB]/ && $3 !~ /^cpk_/ {print $3}')
is "$bad" "" "the shared library exports only cpk_* symbols"
undeclared=
for sym in $(nm -D --defined-only "$d/usr/lib/libclusterpack.so.0" | awk '$2 ~ /[TDB]/ {print $3}' | sed 's/@.*//'); do
	grep -qw "$sym" "$d"/usr/include/cpk/*.h || undeclared="$undeclared $sym"
done
is "$undeclared" "" "every exported symbol is declared in a public header"

cat > "$SCRATCH/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <cpk/model.h>
#include <cpk/render.h>
int main(int argc, char **argv)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m;
	struct cpk_buf b = CPK_BUF_INIT;

	if (cpk_model_load(argv[1], &m, &d) != CPK_OK)
		return 1;
	cpk_render_slurm_conf(m, &b);
	printf("%s %zu %d\n", m->name, m->n_nodes, strstr(b.buf, "ClusterName=") != NULL);
	cpk_buf_release(&b);
	cpk_model_free(m);
	return argc > 2;
}
C
pc="$d/usr/lib/pkgconfig"
flags=$(PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$d" pkg-config --cflags --libs libclusterpack)
ok $? "pkg-config knows libclusterpack"
cc -o "$SCRATCH/use" "$SCRATCH/use.c" $flags >&2
ok $? "a program builds against the installed library"
is "$(LD_LIBRARY_PATH="$d/usr/lib" "$SCRATCH/use" examples/small-cpu.yaml)" "small 8 1" \
   "and runs with it"
done_testing
