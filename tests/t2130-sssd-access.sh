#!/bin/sh
# t2130: a locked user cannot log in, as the real clients see it: sssd 2.x
# with the sssd.conf cpk renders, against the rig's slapd, and a real sshd
# that asks sssd for keys (AuthorizedKeysCommand sss_ssh_authorizedkeys)
# and for the account check (UsePAM, pam_sss).  bob logs in with his key,
# then `cpk user lock bob` and he is refused while alice still logs in;
# unlocked, he logs in again (issue 13 item 1).  Everything runs in a
# private mount namespace: sssd's packages are overlaid over /usr
# (tests/rig/sssd.sh), /etc and /var get upper layers of this test's own;
# the machine's files are never changed.
if [ "${1:-}" != --inner ]; then
	[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (mount namespace, sshd)"; exit 0; }
	exec unshare -m --propagation private sh "$0" --inner
fi
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
. "$TOP/tests/lib/accounts.sh"
acct_start
S=$SCRATCH
. "$TOP/tests/rig/sssd.sh"
sssd_fetch || { echo "Bail out! cannot fetch sssd's packages (apt-get download)"; exit 1; }
[ -x /usr/sbin/sshd ] || { echo "Bail out! no /usr/sbin/sshd (openssh-server)"; exit 1; }

run "$CPK" ldap init >/dev/null
for u in bob alice; do
	ssh-keygen -q -t ed25519 -N '' -C "$u" -f "$S/$u" </dev/null
	is "$(run "$CPK" user add "$u" --ssh-key "$S/$u.pub")" 0 "user add $u with a key"
done
is "$(run "$CPK" render --role control --out "$S/render" -q)" 0 "render the control node"
grep -q '^access_provider = ldap$' "$S/render/sssd.conf"; ok $? "sssd.conf has an access provider"

sssd_mounts "$S/ns" || { echo "Bail out! cannot mount the overlays"; exit 1; }
mkdir -p /etc/sssd /run/sshd /etc/pam.d
install -m 600 "$S/render/sssd.conf" /etc/sssd/sssd.conf
printf 'passwd: files sss\ngroup: files sss\nshadow: files\n' > /etc/nsswitch.conf
printf 'auth required pam_deny.so\naccount required pam_sss.so\nsession required pam_permit.so\n' \
	> /etc/pam.d/sshd
sssd -i -d 3 --logger=stderr >"$S/sssd.log" 2>&1 &
SSSD=$!
at_exit "kill $SSSD 2>/dev/null; wait $SSSD 2>/dev/null"
i=0
until getent passwd bob >/dev/null 2>&1 || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
is "$(getent passwd bob | cut -d: -f1,3,6)" "bob:30000:$S/home/bob" "sssd resolves bob from LDAP"
is "$(sss_ssh_authorizedkeys bob | awk '{ print $3 }')" "bob" "sss_ssh_authorizedkeys gives bob's key"

ssh-keygen -q -t ed25519 -N '' -f "$S/hostkey" </dev/null
port=$(_tslapd_random_port)
cat > "$S/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $S/hostkey
PidFile $S/sshd.pid
UsePAM yes
KbdInteractiveAuthentication no
PasswordAuthentication no
AuthorizedKeysFile none
AuthorizedKeysCommand /usr/bin/sss_ssh_authorizedkeys %u
AuthorizedKeysCommandUser nobody
CONF
/usr/sbin/sshd -D -e -f "$S/sshd_config" >"$S/sshd.log" 2>&1 &
SSHD=$!
at_exit "kill $SSHD 2>/dev/null; wait $SSHD 2>/dev/null"
i=0
until ss -Hltn "sport = :$port" 2>/dev/null | grep -q . || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
login() {	# USER: 0 if USER logs in with the key and runs a command
	ssh -F /dev/null -i "$S/$1" -p "$port" -o BatchMode=yes -o IdentitiesOnly=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR "$1@127.0.0.1" 'echo in' >"$S/ssh.out" 2>&1 &&
		grep -q '^in$' "$S/ssh.out"
}
login bob; ok $? "bob logs in with his LDAP key"
login alice; ok $? "alice logs in"
is "$(run "$CPK" user lock bob)" 0 "cpk user lock bob"
# the rendered sssd.conf: each login asks the server (pam_initgroups_scheme
# always), what sssd learnt stays good for pam_id_timeout = 1 s
sleep 1.5
! login bob; ok $? "locked bob is refused"
grep -q "Access denied for user bob by PAM account configuration" "$S/sshd.log"
ok $? "by the account check (sssd's access provider), not for a missing key"
login alice; ok $? "alice still logs in"
is "$(run "$CPK" user unlock bob)" 0 "cpk user unlock bob"
sleep 1.5
login bob; ok $? "unlocked bob logs in again"
if [ "$tap_failed" -gt 0 ]; then
	sed 's/^/# sshd: /' "$S/sshd.log" | tail -20 >&2
	sed 's/^/# sssd: /' "$S/sssd.log" | tail -20 >&2
fi
done_testing
