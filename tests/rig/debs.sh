# Debian packages for tests, without installing them: `apt-get download`,
# then `dpkg -x` into a cache directory kept between runs.  Installing some
# packages (sssd, LDAP Account Manager) would change the machine's own /etc
# or start services; tests use the unpacked trees instead.
#
#   debs_fetch DIR FILE PKG...   unpacks PKG... into DIR unless DIR/FILE is
#                                there already; returns 1 (apt's output on
#                                stderr as TAP comments) if that fails; DIR
#                                appears whole or not at all
debs_fetch() {
	_dd=$1 _df=$2
	shift 2
	[ -e "$_dd/$_df" ] && return 0
	_dt=$(mktemp -d /tmp/cpk-debs.XXXXXX) || return 1
	chmod 755 "$_dt"	# apt's _apt user downloads into it
	if ! (cd "$_dt" && apt-get download "$@") >"$_dt/log" 2>&1; then
		sed 's/^/# /' "$_dt/log" >&2
		rm -rf "$_dt"
		return 1
	fi
	rm -rf "$_dd.new"
	mkdir -p "$_dd.new" && for _f in "$_dt"/*.deb; do
		dpkg -x "$_f" "$_dd.new" || { rm -rf "$_dt" "$_dd.new"; return 1; }
	done
	# merged /usr: what a package puts in /lib belongs in /usr/lib here
	if [ -d "$_dd.new/lib" ]; then
		mkdir -p "$_dd.new/usr/lib" &&
			cp -a "$_dd.new/lib/." "$_dd.new/usr/lib/" &&
			rm -rf "$_dd.new/lib"
	fi
	rm -rf "$_dt" "$_dd"
	[ -e "$_dd.new/$_df" ] || { echo "# debs_fetch: $_df is not in $*" >&2; rm -rf "$_dd.new"; return 1; }
	mv "$_dd.new" "$_dd"
}
