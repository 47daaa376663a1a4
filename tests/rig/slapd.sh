# tests/rig/slapd.sh: a throwaway OpenLDAP server for tests (POSIX sh; source it).
#
#   . tests/rig/slapd.sh
#   slapd_start [--no-lpk] [--tls]    # an EMPTY directory under $SLAPD_BASE
#   ... use $SLAPD_URI, $SLAPD_LDAPI_URI, $SLAPD_ROOTDN, $SLAPD_ROOTPW_FILE ...
#   slapd_stop                        # also run by the EXIT trap it installs
#
# What it starts: /usr/sbin/slapd in the foreground (-d), from a fresh
# temporary directory (slapd.conf, mdb database, pid file, log, ldapi socket),
# listening on ldap://127.0.0.1:PORT/ (a random free port between 10000 and
# the kernel's ephemeral range; a busy port is retried with another one) and
# on ldapi:// in that directory.
#   schemas: core, cosine, nis, inetorgperson from /etc/ldap/schema, plus an
#            openssh-lpk schema (ldapPublicKey/sshPublicKey) written here,
#            left out with --no-lpk (to test its detection);
#   rootdn:  cn=admin,$SLAPD_BASE, its password in $SLAPD_ROOTPW_FILE (0600,
#            no trailing newline, so `ldapadd -y` and the library agree);
#   ldapi:   root connecting with SASL EXTERNAL gets manage rights;
#   limits:  500 entries per search for bound users (the default), but no
#            total for paged searches; bind DNs starting with uid=limited
#            may read at most 1000 entries even when paging;
#   --tls:   a CA and a server certificate for 127.0.0.1 made with openssl;
#            also listens on ldaps://127.0.0.1:PORT2/ and StartTLS;
#            $SLAPD_CA_FILE and $SLAPD_LDAPS_URI are set.
# The configuration is checked with slaptest before slapd starts.  slapd is
# stopped by its pid (TERM, then KILL after 5 s), never by name.  On EXIT the
# trap stops every server started here, then calls test_cleanup if the
# sourcing script defines it.  SLAPD_KEEP=1 keeps the temporary directories;
# SLAPD_DEBUG sets slapd's -d level (default 32768: only what slapd always
# logs, e.g. "bind failed errno=98"), into $SLAPD_LOG.
#
# Variables set by slapd_start: SLAPD_DIR SLAPD_PORT SLAPD_URI SLAPD_LDAPI_URI
# SLAPD_BASE SLAPD_ROOTDN SLAPD_ROOTPW SLAPD_ROOTPW_FILE SLAPD_PID SLAPD_LOG
# (SLAPD_BASE may be set before the call; default dc=example,dc=org).

SLAPD_BIN=${SLAPD_BIN:-/usr/sbin/slapd}
SLAPD_SCHEMA_DIR=${SLAPD_SCHEMA_DIR:-/etc/ldap/schema}
_tslapd_started=""		# "pid:dir" words of every server started here

# A random port below the kernel's ephemeral range, so no client socket of
# ours (or a neighbour's) can be holding it.
_tslapd_random_port() {
	_lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	od -An -N2 -tu2 /dev/urandom |
		awk -v lo="${_lo:-32768}" '{ print 10000 + $1 % (lo - 10000) }'
}

_tslapd_port_busy() {	# PORT: something listens there (needs ss)
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

_tslapd_write_lpk() {
	cat > "$1" <<'SCHEMA'
# openssh-lpk (the well-known definition, as shipped by the LPK patch).
attributetype ( 1.3.6.1.4.1.24552.500.1.1.1.13 NAME 'sshPublicKey'
	DESC 'MANDATORY: OpenSSH Public key'
	EQUALITY octetStringMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )

objectclass ( 1.3.6.1.4.1.24552.500.1.1.2.0 NAME 'ldapPublicKey'
	DESC 'MANDATORY: OpenSSH LPK objectclass'
	SUP top AUXILIARY
	MUST ( sshPublicKey $ uid ) )
SCHEMA
}

_tslapd_make_certs() {	# DIR
	(
	cd "$1" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cpk test CA" \
		-keyout ca.key -out ca.pem >/dev/null 2>&1 || exit 1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
		-keyout server.key -out server.csr >/dev/null 2>&1 || exit 1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > ext.cnf
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-days 2 -extfile ext.cnf -out server.pem >/dev/null 2>&1 || exit 1
	chmod 600 server.key ca.key
	)
}

_tslapd_write_conf() {	# DIR LPK TLS
	_d=$1
	{
	for s in core cosine nis inetorgperson; do
		echo "include $SLAPD_SCHEMA_DIR/$s.schema"
	done
	[ "$2" = 1 ] && echo "include $_d/openssh-lpk.schema"
	cat <<CONF
pidfile $_d/slapd.pid
argsfile $_d/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
CONF
	if [ "$3" = 1 ]; then
		cat <<CONF
TLSCACertificateFile $_d/ca.pem
TLSCertificateFile $_d/server.pem
TLSCertificateKeyFile $_d/server.key
CONF
	fi
	cat <<CONF
database mdb
maxsize 1073741824
suffix "$SLAPD_BASE"
rootdn "$SLAPD_ROOTDN"
rootpw $(slappasswd -h '{SSHA}' -T "$SLAPD_ROOTPW_FILE")
directory $_d/db
index objectClass eq
index uid,cn,memberUid eq
index uidNumber,gidNumber eq
limits dn.regex="^uid=limited[^,]*,.*$" size.soft=500 size.hard=500 size.prtotal=1000
limits users size.soft=500 size.hard=500 size.prtotal=unlimited
access to attrs=userPassword
	by dn.exact="gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth" manage
	by self write
	by anonymous auth
	by * none
access to *
	by dn.exact="gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth" manage
	by * read
CONF
	} > "$_d/slapd.conf"
}

# slapd_start [--no-lpk] [--tls]: starts an empty server; returns non-zero
# (with the reason on stderr) if it cannot.
slapd_start() {
	_lpk=1 _tls=0
	for _a; do
		case $_a in
		--no-lpk) _lpk=0 ;;
		--tls) _tls=1 ;;
		*) echo "slapd_start: unknown option $_a" >&2; return 2 ;;
		esac
	done
	SLAPD_BASE=${SLAPD_BASE:-dc=example,dc=org}
	SLAPD_DIR=$(mktemp -d /tmp/tslapd.XXXXXX) || return 1
	chmod 700 "$SLAPD_DIR"
	mkdir "$SLAPD_DIR/db"
	SLAPD_ROOTDN="cn=admin,$SLAPD_BASE"
	SLAPD_ROOTPW="secret-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	SLAPD_ROOTPW_FILE=$SLAPD_DIR/rootpw
	(umask 077; printf '%s' "$SLAPD_ROOTPW" > "$SLAPD_ROOTPW_FILE")
	SLAPD_LOG=$SLAPD_DIR/slapd.log
	[ $_lpk = 1 ] && _tslapd_write_lpk "$SLAPD_DIR/openssh-lpk.schema"
	if [ $_tls = 1 ]; then
		_tslapd_make_certs "$SLAPD_DIR" || {
			echo "slapd_start: cannot make test certificates" >&2
			_tslapd_fail
			return 1
		}
		SLAPD_CA_FILE=$SLAPD_DIR/ca.pem
	fi
	_tslapd_write_conf "$SLAPD_DIR" $_lpk $_tls
	if ! slaptest -u -f "$SLAPD_DIR/slapd.conf" >"$SLAPD_DIR/slaptest.log" 2>&1; then
		echo "slapd_start: bad configuration:" >&2
		cat "$SLAPD_DIR/slaptest.log" >&2
		_tslapd_fail
		return 1
	fi
	SLAPD_LDAPI_URI="ldapi://$(printf '%s' "$SLAPD_DIR/ldapi" | sed 's|/|%2F|g')"
	_try=0
	while [ $_try -lt 20 ]; do
		_try=$((_try + 1))
		SLAPD_PORT=$(_tslapd_random_port)
		_p2=$(_tslapd_random_port)
		_tslapd_port_busy "$SLAPD_PORT" && continue
		[ $_tls = 1 ] && _tslapd_port_busy "$_p2" && continue
		SLAPD_URI="ldap://127.0.0.1:$SLAPD_PORT/"
		_urls="$SLAPD_URI $SLAPD_LDAPI_URI"
		if [ $_tls = 1 ]; then
			SLAPD_LDAPS_URI="ldaps://127.0.0.1:$_p2/"
			_urls="$_urls $SLAPD_LDAPS_URI"
		fi
		"$SLAPD_BIN" -d "${SLAPD_DEBUG:-32768}" -h "$_urls" \
			-f "$SLAPD_DIR/slapd.conf" >"$SLAPD_LOG" 2>&1 &
		SLAPD_PID=$!
		_tslapd_started="$_tslapd_started $SLAPD_PID:$SLAPD_DIR"
		if _tslapd_wait "$SLAPD_PID" "$SLAPD_URI"; then
			export SLAPD_DIR SLAPD_PORT SLAPD_URI SLAPD_LDAPI_URI \
				SLAPD_BASE SLAPD_ROOTDN SLAPD_ROOTPW \
				SLAPD_ROOTPW_FILE SLAPD_PID SLAPD_LOG
			[ $_tls = 1 ] && export SLAPD_CA_FILE SLAPD_LDAPS_URI
			return 0
		fi
		_tslapd_kill "$SLAPD_PID"
		_tslapd_forget "$SLAPD_PID"	# reaped: its pid may be reused
		# lost a race for a port: retry with others
		if grep -q 'errno=98' "$SLAPD_LOG" ||
		   _tslapd_port_busy "$SLAPD_PORT" ||
		   { [ $_tls = 1 ] && _tslapd_port_busy "$_p2"; }; then
			continue
		fi
		echo "slapd_start: slapd did not start (log below; for more" \
			"set SLAPD_DEBUG=-1):" >&2
		cat "$SLAPD_LOG" >&2
		_tslapd_fail
		return 1
	done
	echo "slapd_start: no free port after $_try tries" >&2
	_tslapd_fail
	return 1
}

# _tslapd_wait PID URI: 0 once the server PID answers at URI (within 10 s),
# 1 if it died or never answered.
_tslapd_wait() {
	_n=0
	while [ $_n -lt 200 ]; do
		_tslapd_alive "$1" || return 1
		# (bounded: whoever holds a port we lost may never answer)
		timeout 2 ldapsearch -x -H "$2" -b "" -s base -LLL namingContexts \
			>/dev/null 2>&1 && return 0
		sleep 0.05
		_n=$((_n + 1))
	done
	return 1
}

_tslapd_fail() {	# a failed slapd_start leaves nothing behind
	[ -n "${SLAPD_KEEP:-}" ] || rm -rf "$SLAPD_DIR"
	SLAPD_PID=""
}

_tslapd_alive() {	# PID: running (a zombie still answers kill -0)
	case $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) in
	Z|X|"") return 1 ;;
	esac
	return 0
}

_tslapd_kill() {	# PID: TERM, wait up to 5 s, then KILL; reaps it
	kill -TERM "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
	_k=0
	while [ $_k -lt 100 ] && _tslapd_alive "$1"; do
		sleep 0.05
		_k=$((_k + 1))
	done
	_tslapd_alive "$1" && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

_tslapd_forget() {	# PID: no longer ours to stop
	_rest=""
	for _e in $_tslapd_started; do
		[ "${_e%%:*}" = "$1" ] || _rest="$_rest $_e"
	done
	_tslapd_started=$_rest
}

# slapd_stop: stops the server of the last slapd_start and removes its dir.
slapd_stop() {
	[ -n "${SLAPD_PID:-}" ] || return 0
	_tslapd_kill "$SLAPD_PID"
	_tslapd_forget "$SLAPD_PID"
	[ -n "${SLAPD_KEEP:-}" ] || rm -rf "$SLAPD_DIR"
	SLAPD_PID=""
}

_tslapd_on_exit() {
	_st=$?
	for _e in $_tslapd_started; do
		_tslapd_kill "${_e%%:*}"
		[ -n "${SLAPD_KEEP:-}" ] || rm -rf "${_e#*:}"
	done
	_tslapd_started=""
	if type test_cleanup >/dev/null 2>&1; then
		test_cleanup
	fi
	exit $_st
}
trap _tslapd_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
