# tests/rig/apply.sh: run the daemons of a root that `cpk apply` filled, from
# that root's own files (POSIX sh; source it after tests/lib/tap.sh).
#
#   . tests/rig/apply.sh
#   port=$(apply_free_port)               # for the description's ldap.uri
#   cpk apply --role control --root ROOT ...
#   apply_slaptest ROOT                   # slaptest -u on ROOT's config
#   apply_slapd_start ROOT PORT           # sets APPLY_SLAPD_PID, _LOG, _RUN
#   apply_slapd_stop                      # also done by the EXIT trap
#
# slapd runs the exact files apply wrote, at the paths they have on a node:
# in a private mount namespace (`unshare -m`), ROOT/etc/ldap is bound over
# /etc/ldap, ROOT/var/lib/ldap over /var/lib/ldap and a directory of the
# rig's over /run/slapd (pid file and ldapi socket; APPLY_SLAPD_RUN), so
# nothing of this machine's /etc, /var or /run is changed, and the namespace
# ends with slapd.  slapd listens on ldap://127.0.0.1:PORT/ only (its
# SLAPD_SERVICES would listen on every address), runs as the caller (root
# here; a node's init script adds -u openldap), logs to APPLY_SLAPD_LOG,
# and is stopped by its pid (slapd itself: the namespace's shell execs it).
# A node's Debian slapd package provides /etc/ldap/schema/*.schema: a test
# copies them into ROOT before apply, as the package would have.
# Needs root (mount), unshare, and the slapd package's /etc/ldap and
# /var/lib/ldap on this machine (mount points); /run is a tmpfs of the
# namespace's own.  Uses tests/rig/slapd.sh's
# port and process helpers and its EXIT trap (which calls test_cleanup).

. "$TOP/tests/rig/slapd.sh"

apply_free_port() {
	_i=0
	while [ $_i -lt 20 ]; do
		_p=$(_tslapd_random_port)
		_tslapd_port_busy "$_p" || { echo "$_p"; return 0; }
		_i=$((_i + 1))
	done
	return 1
}

# _apply_ns ROOT RUN CMD...: EXECs (so call it in a subshell or with &: the
# pid is then CMD's) CMD in a mount namespace with ROOT's slapd directories
# (and RUN on /run/slapd) bound over this machine's.
_apply_ns() {
	for _m in /etc/ldap /var/lib/ldap; do
		[ -d "$_m" ] || { echo "apply rig: $_m is missing here (install slapd)" >&2; exit 125; }
	done
	# /run/slapd exists only once the package's service ran (not in a
	# fresh root whose daemons were kept from starting): a tmpfs of the
	# namespace's own on /run gives it a mount point
	exec unshare -m --propagation private -- sh -c '
		mount --bind "$1/etc/ldap" /etc/ldap &&
		mount --bind "$1/var/lib/ldap" /var/lib/ldap &&
		mount -t tmpfs -o mode=0755 tmpfs /run &&
		mkdir /run/slapd &&
		mount --bind "$2" /run/slapd || exit 125
		shift 2
		exec "$@"' apply-ns "$@"
}

# apply_slaptest ROOT: slaptest -u of ROOT's /etc/ldap/slapd.conf, as slapd
# would read it; its output on stdout; its status.
apply_slaptest() {
	_d=$(mktemp -d /tmp/tapslaptest.XXXXXX) || return 1
	(_apply_ns "$1" "$_d" slaptest -u -f /etc/ldap/slapd.conf 2>&1)
	_st=$?
	rm -rf "$_d"
	return $_st
}

# apply_slapd_start ROOT PORT: starts slapd from ROOT (see above) and waits
# until it answers; returns non-zero with its log on stderr if it does not.
apply_slapd_start() {
	APPLY_SLAPD_DIR=$(mktemp -d /tmp/tapslapd.XXXXXX) || return 1
	APPLY_SLAPD_RUN=$APPLY_SLAPD_DIR/run
	APPLY_SLAPD_LOG=$APPLY_SLAPD_DIR/slapd.log
	mkdir -m 0755 "$APPLY_SLAPD_RUN" || return 1
	_apply_ns "$1" "$APPLY_SLAPD_RUN" "$SLAPD_BIN" -d "${SLAPD_DEBUG:-32768}" \
		-h "ldap://127.0.0.1:$2/ ldapi://%2Frun%2Fslapd%2Fldapi" \
		-f /etc/ldap/slapd.conf >"$APPLY_SLAPD_LOG" 2>&1 &
	APPLY_SLAPD_PID=$!
	_tslapd_started="$_tslapd_started $APPLY_SLAPD_PID:$APPLY_SLAPD_DIR"
	_tslapd_wait "$APPLY_SLAPD_PID" "ldap://127.0.0.1:$2/" && return 0
	echo "apply_slapd_start: slapd from $1 did not answer on port $2; its log:" >&2
	cat "$APPLY_SLAPD_LOG" >&2
	apply_slapd_stop
	return 1
}

# apply_slapd_stop: stops it by pid (TERM, then KILL after 5 s).
apply_slapd_stop() {
	[ -n "${APPLY_SLAPD_PID:-}" ] || return 0
	_tslapd_kill "$APPLY_SLAPD_PID"
	_tslapd_forget "$APPLY_SLAPD_PID"
	[ -n "${SLAPD_KEEP:-}" ] || rm -rf "$APPLY_SLAPD_DIR"
	APPLY_SLAPD_PID=""
}
