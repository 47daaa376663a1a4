# Throwaway OpenSSH sshd for transfer tests.  Source this file, then:
#
#   sshd_start DIR        start sshd on 127.0.0.1, a free port, files in DIR
#   sshd_stop             stop it (by pid); sshd_start sets an EXIT trap
#                         for it unless the caller set one (then the
#                         caller's trap must call sshd_stop)
#
# After sshd_start these are set:
#   SSHD_DIR SSHD_PORT SSHD_PID SSHD_LOG
#   SSHD_KEY          client private key (ed25519) authorized for root
#   SSHD_KNOWN_HOSTS  known_hosts with the server's key for [127.0.0.1]:PORT
#   SSHD_HOSTKEY_FP   SHA256:... fingerprint of the server's host key
#   SSHD_SSH_CONFIG   ssh_config with "Host cpktest" for ssh/scp/sftp -F
#   SSHD_RO_DIR       a 0500 root-owned dir (for the "sftp-nobody" subsystem)
#   SSHD_NOBODY_PIDFILE  pid of the latest "sftp-nobody" server process
# SSHD_EXTRA_CONFIG, if set, is appended to sshd_config (e.g. RekeyLimit 8M).
# SSHD_MAX_STARTUPS (100:30:200 if unset) is its MaxStartups: sshd keeps the
# first value of a keyword, so SSHD_EXTRA_CONFIG cannot change it.
# SSHD_HOSTKEY_TYPE (ed25519, rsa or ecdsa; ed25519 if unset) is the type of
# the one host key the server offers.
#
# Subsystems: "sftp" is internal-sftp (SSHD_SFTP_SUBSYSTEM, if set, instead:
# e.g. /usr/lib/openssh/sftp-server, which sshd starts through the user's
# login shell); "sftp-nobody" runs
# /usr/lib/openssh/sftp-server as uid 65534 (setpriv), so permission checks
# apply.  Nothing outside DIR is changed, except that /run/sshd (sshd's
# compiled-in privilege separation directory) is created if missing.
# The daemon is stopped by its pid, never by name.

SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}
SFTP_SERVER=${SFTP_SERVER:-/usr/lib/openssh/sftp-server}

sshd_stop() {
	if [ -n "${SSHD_PID:-}" ]; then
		kill "$SSHD_PID" 2>/dev/null
		# wait only works for our own child; poll otherwise
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	fi
}

sshd_start() {
	SSHD_DIR=$1 SSHD_PORT=
	mkdir -p "$SSHD_DIR" || return 1
	SSHD_DIR=$(cd "$SSHD_DIR" && pwd)
	SSHD_LOG=$SSHD_DIR/sshd.log
	SSHD_KEY=$SSHD_DIR/id_ed25519
	SSHD_KNOWN_HOSTS=$SSHD_DIR/known_hosts
	SSHD_SSH_CONFIG=$SSHD_DIR/ssh_config
	SSHD_RO_DIR=$SSHD_DIR/readonly
	[ -d /run/sshd ] || mkdir -m 0755 -p /run/sshd || return 1
	# Stop the daemon on exit, unless the caller has its own EXIT trap
	# (which must then call sshd_stop).
	[ -n "$(trap -p EXIT)" ] || trap sshd_stop EXIT

	local hk=$SSHD_DIR/host_${SSHD_HOSTKEY_TYPE:-ed25519}
	case ${SSHD_HOSTKEY_TYPE:-ed25519} in
	ed25519|rsa|ecdsa) ;;
	*) echo "sshd_start: SSHD_HOSTKEY_TYPE $SSHD_HOSTKEY_TYPE: not ed25519, rsa or ecdsa" >&2
	   return 1;;
	esac
	rm -f "$hk" "$hk.pub" "$SSHD_KEY" "$SSHD_KEY.pub"
	ssh-keygen -q -t "${SSHD_HOSTKEY_TYPE:-ed25519}" -N '' -C cpk-test-host \
		-f "$hk" || return 1
	ssh-keygen -q -t ed25519 -N '' -C cpk-test-client -f "$SSHD_KEY" ||
		return 1
	cp "$SSHD_KEY.pub" "$SSHD_DIR/authorized_keys"
	chmod 600 "$SSHD_DIR/authorized_keys"
	SSHD_HOSTKEY_FP=$(ssh-keygen -l -E sha256 -f "$hk.pub" |
			  awk '{print $2}')
	mkdir -p "$SSHD_RO_DIR" && chmod 0500 "$SSHD_RO_DIR"
	cat >"$SSHD_DIR/sftp-nobody" <<-EOF
	#!/bin/sh
	echo \$\$ >$SSHD_DIR/sftp-nobody.pid
	exec setpriv --reuid=65534 --regid=65534 --clear-groups $SFTP_SERVER
	EOF
	SSHD_NOBODY_PIDFILE=$SSHD_DIR/sftp-nobody.pid
	chmod 755 "$SSHD_DIR/sftp-nobody"

	# OpenSSH 9.8+ blocks a source address for a while after connections
	# that end without logging in (PerSourcePenalties noauth): tests that
	# refuse host keys on purpose make many such connections
	local penalties=
	if "$SSHD_BIN" -t -f /dev/null -o "HostKey=$hk" -o PerSourcePenalties=no \
		>/dev/null 2>&1; then
		penalties="PerSourcePenalties no"
	fi
	local try port
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
		cat >"$SSHD_DIR/sshd_config" <<-EOF
		Port $port
		ListenAddress 127.0.0.1
		HostKey $hk
		PidFile $SSHD_DIR/sshd.pid
		AuthorizedKeysFile $SSHD_DIR/authorized_keys
		StrictModes no
		UsePAM no
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PubkeyAuthentication yes
		AcceptEnv none
		PrintMotd no
		LogLevel VERBOSE
		MaxStartups ${SSHD_MAX_STARTUPS:-100:30:200}
		MaxSessions 50
		$penalties
		Subsystem sftp ${SSHD_SFTP_SUBSYSTEM:-internal-sftp}
		Subsystem sftp-nobody $SSHD_DIR/sftp-nobody
		${SSHD_EXTRA_CONFIG:-}
		EOF
		"$SSHD_BIN" -t -f "$SSHD_DIR/sshd_config" || return 1
		: >"$SSHD_LOG"
		"$SSHD_BIN" -D -e -f "$SSHD_DIR/sshd_config" 2>>"$SSHD_LOG" &
		SSHD_PID=$!
		# a loaded machine may take its time: 60 s at most
		local deadline=$((SECONDS + 60))
		while [ "$SECONDS" -lt "$deadline" ]; do
			if grep -q "Server listening on 127.0.0.1 port $port" \
				"$SSHD_LOG" 2>/dev/null; then
				SSHD_PORT=$port
				break 2
			fi
			if ! kill -0 "$SSHD_PID" 2>/dev/null; then
				break	# died: port taken?  try another
			fi
			sleep 0.05
		done
		sshd_stop
	done
	if [ -z "${SSHD_PORT:-}" ]; then
		echo "sshd did not start; log:" >&2
		cat "$SSHD_LOG" >&2
		return 1
	fi
	echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$hk.pub")" \
		>"$SSHD_KNOWN_HOSTS"
	cat >"$SSHD_SSH_CONFIG" <<-EOF
	Host cpktest
		HostName 127.0.0.1
		Port $SSHD_PORT
		User root
		IdentityFile $SSHD_KEY
		IdentitiesOnly yes
		IdentityAgent none
		UserKnownHostsFile $SSHD_KNOWN_HOSTS
		GlobalKnownHostsFile /dev/null
		StrictHostKeyChecking yes
		BatchMode yes
	EOF
	export SSHD_DIR SSHD_PORT SSHD_PID SSHD_LOG SSHD_KEY SSHD_KNOWN_HOSTS \
	       SSHD_HOSTKEY_FP SSHD_SSH_CONFIG SSHD_RO_DIR SSHD_NOBODY_PIDFILE
}
