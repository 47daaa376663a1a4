#!/bin/bash
# cpk copy through jump hosts and over one address family: the target sshd
# lives in a network namespace this machine cannot reach, the bastion sshd
# in another one linked to both; every connection of a multi-stream copy
# goes through the bastion (-J, -o ProxyJump, ssh_config ProxyJump, a chain,
# ProxyCommand), each hop's host key checked like the target's; -4/-6 and
# AddressFamily pick the address.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root for network namespaces"; exit 0; }
# the host sshd also listens on ::1 (for -6)
IPV6=1
ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128' || IPV6=0
[ "$IPV6" = 1 ] && export SSHD_EXTRA_CONFIG="ListenAddress [::1]"
copy_setup
unset SSHD_EXTRA_CONFIG

# --- two namespaces: bastion (B) reachable from here, target (T) only
# from B ---
NS=cpk$$ N=$((RANDOM % 200 + 20))
BA=10.201.$N.2 TA=10.202.$N.2
at_exit "ip netns del ${NS}b 2>/dev/null; ip netns del ${NS}t 2>/dev/null; ip link del ${NS}a 2>/dev/null"
{ ip netns add "${NS}b" && ip netns add "${NS}t" &&
  ip link add "${NS}a" type veth peer name "${NS}ab" &&
  ip link set "${NS}ab" netns "${NS}b" &&
  ip link add "${NS}bt" type veth peer name "${NS}tb" &&
  ip link set "${NS}bt" netns "${NS}b" && ip link set "${NS}tb" netns "${NS}t" &&
  ip addr add "10.201.$N.1/30" dev "${NS}a" && ip link set "${NS}a" up &&
  ip -n "${NS}b" addr add "$BA/30" dev "${NS}ab" && ip -n "${NS}b" link set "${NS}ab" up &&
  ip -n "${NS}b" addr add "10.202.$N.1/30" dev "${NS}bt" && ip -n "${NS}b" link set "${NS}bt" up &&
  ip -n "${NS}t" addr add "$TA/30" dev "${NS}tb" && ip -n "${NS}t" link set "${NS}tb" up &&
  ip -n "${NS}b" link set lo up && ip -n "${NS}t" link set lo up; } ||
	{ echo "1..0 # SKIP cannot make network namespaces and veth pairs"; exit 0; }

# ns_sshd NS ADDR: other_sshd run inside namespace NS, listening on ADDR too
ns_sshd() {
	printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s %s "$@"\n' "$1" "${SSHD_BIN:-/usr/sbin/sshd}" \
		>"$SCRATCH/sshd-$1"
	chmod 755 "$SCRATCH/sshd-$1"
	SSHD_BIN=$SCRATCH/sshd-$1 SSHD_EXTRA_CONFIG="ListenAddress $2" other_sshd ed25519
}
ns_sshd "${NS}b" "$BA"; BP=$O_PORT BDIR=$SSHD_DIR-keep
B_KEY=$(cut -d' ' -f1,2 "$SCRATCH/sshd-$O_N-ed25519/host_ed25519.pub") B_LOG=$SCRATCH/sshd-$O_N-ed25519/sshd.log
ns_sshd "${NS}t" "$TA"; TP=$O_PORT
T_KEY=$(cut -d' ' -f1,2 "$SCRATCH/sshd-$O_N-ed25519/host_ed25519.pub") T_LOG=$SCRATCH/sshd-$O_N-ed25519/sshd.log
KH=$SCRATCH/kh_both
printf '[%s]:%s %s\n[%s]:%s %s\n' "$BA" "$BP" "$B_KEY" "$TA" "$TP" "$T_KEY" >"$KH"

J=(-J "root@$BA:$BP")
C=("$CPK" copy -q -F none -i "$SSHD_KEY" -o "UserKnownHostsFile=$KH"
   -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=20 -P "$TP")
accepted() { grep -c "Accepted publickey for root from $1" "$T_LOG"; }

# --- the target is out of reach directly ---
echo data >"$L/small"
is "$(run "${C[@]}" -o ConnectTimeout=3 "$L/small" "$TA:$R/direct")" 1 "direct copy to the target fails"
grep -q "cannot connect to.*$TA" "$SCRATCH/err"; ok $? "  cannot connect, naming it: $(head -c 300 "$SCRATCH/err")"

# --- -J: a multi-chunk file over 4 connections, and back ---
head -c $((12 * M + 12345)) /dev/urandom >"$L/big"
before=$(accepted "10.202.$N.1")
is "$(run "${C[@]}" "${J[@]}" -n 4 --chunk-min 1M --chunk-max 1M --json "$L/big" "$TA:$R/big")" 0 \
	"-J: 12 MiB in 1 MiB chunks over 4 connections: $(head -c 300 "$SCRATCH/err")"
is "$(json_field conns)" 4 "  4 connections"
is "$(sha256sum <"$R/big")" "$(sha256sum <"$L/big")" "  sha256 matches"
is "$(( $(accepted "10.202.$N.1") - before ))" 4 "  the target saw 4 logins, all from the bastion"
no_partials "$R"; ok $? "  no temporary files"
is "$(run "${C[@]}" "${J[@]}" -n 3 --chunk-min 1M --chunk-max 1M "$TA:$R/big" "$B/big")" 0 "-J: and back (get)"
is "$(sha256sum <"$B/big")" "$(sha256sum <"$L/big")" "  sha256 matches"

# --- -o ProxyJump: a tree, both ways ---
small_tree "$L/tree" 60 5 40000
is "$(run "${C[@]}" -o "ProxyJump=root@$BA:$BP" -r -n 4 "$L/tree" "$TA:$R/")" 0 "-o ProxyJump: a tree"
is "$(tree_sums "$R/tree")" "$(tree_sums "$L/tree")" "  same sha256 for every file"
is "$(run "${C[@]}" -o "ProxyJump=root@$BA:$BP" -r -n 2 "$TA:$R/tree" "$B/")" 0 "  and back"
is "$(tree_sums "$B/tree")" "$(tree_sums "$L/tree")" "  same sha256 for every file"

# --- ssh_config ProxyJump (aliases resolved per hop), -J none ---
cat >"$SCRATCH/cfg" <<EOF
Host tgt
	HostName $TA
	Port $TP
	User root
	ProxyJump bast
Host bast
	HostName $BA
	Port $BP
	User root
EOF
CF=("$CPK" copy -q -F "$SCRATCH/cfg" -i "$SSHD_KEY" -o "UserKnownHostsFile=$KH"
    -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=20)
is "$(run "${CF[@]}" -n 2 "$L/small" "tgt:$R/viacfg")" 0 "ssh_config ProxyJump: $(head -c 300 "$SCRATCH/err")"
cmp -s "$L/small" "$R/viacfg"; ok $? "  copied"
is "$(run "${CF[@]}" -J none -o ConnectTimeout=3 "$L/small" "tgt:$R/none")" 1 "-J none: direct, so out of reach"
[ ! -e "$R/none" ]; ok $? "  nothing copied"
is "$(run "${CF[@]}" -o ProxyJump=none -o ConnectTimeout=3 "$L/small" "tgt:$R/none")" 1 "-o ProxyJump=none: the same"

# --- a chain of two hops (the bastion, then the bastion again from inside) ---
is "$(run "${C[@]}" -J "root@$BA:$BP,root@$BA:$BP" -n 2 "$L/small" "$TA:$R/chain")" 0 \
	"-J A,B: a chain of two hops: $(head -c 300 "$SCRATCH/err")"
cmp -s "$L/small" "$R/chain"; ok $? "  copied"

# --- an explicit ProxyCommand (OpenSSH's ssh -W through the bastion) ---
PC="ssh -F none -i $SSHD_KEY -o UserKnownHostsFile=$KH -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -p $BP -W %h:%p root@$BA"
is "$(run "${C[@]}" -o "ProxyCommand=$PC" "$L/small" "$TA:$R/pcmd")" 0 "-o ProxyCommand: $(head -c 300 "$SCRATCH/err")"
cmp -s "$L/small" "$R/pcmd"; ok $? "  copied"

# --- each hop's host key is checked like the target's ---
printf '[%s]:%s %s\n' "$TA" "$TP" "$T_KEY" >"$SCRATCH/kh_t"
is "$(run "${C[@]}" -o "UserKnownHostsFile=$SCRATCH/kh_t" "${J[@]}" "$L/small" "$TA:$R/nokey")" 1 \
	"a bastion with an unknown host key: refused"
grep -q "jump host root@$BA:$BP: REFUSED: the host key of \[$BA\]:$BP is unknown" "$SCRATCH/err"
ok $? "  names the bastion: $(head -c 400 "$SCRATCH/err")"
[ ! -e "$R/nokey" ]; ok $? "  nothing copied"
printf '[%s]:%s %s\n[%s]:%s %s\n' "$BA" "$BP" "$T_KEY" "$TA" "$TP" "$T_KEY" >"$SCRATCH/kh_wrong"
is "$(run "${C[@]}" -o "UserKnownHostsFile=$SCRATCH/kh_wrong" "${J[@]}" "$L/small" "$TA:$R/wrong")" 1 \
	"a bastion whose host key changed: refused"
grep -q "jump host root@$BA:$BP: REFUSED: the host key of \[$BA\]:$BP has CHANGED" "$SCRATCH/err"
ok $? "  names the bastion: $(head -c 400 "$SCRATCH/err")"
printf '[%s]:%s %s\n' "$BA" "$BP" "$B_KEY" >"$SCRATCH/kh_b"
is "$(run "${C[@]}" -o "UserKnownHostsFile=$SCRATCH/kh_b" "${J[@]}" "$L/small" "$TA:$R/tnokey")" 1 \
	"through a good bastion, a target with an unknown key: refused"
grep -q "REFUSED: the host key of \[$TA\]:$TP is unknown" "$SCRATCH/err"; ok $? "  names the target"
grep -q "jump host" "$SCRATCH/err"; ok $((!$?)) "  and not the bastion"
is "$(run "${C[@]}" -o "UserKnownHostsFile=$SCRATCH/kh_b" -o StrictHostKeyChecking=accept-new "${J[@]}" \
	"$L/small" "$TA:$R/acceptnew")" 0 "accept-new: the target's key is learnt through the bastion"
grep -q "^\[$TA\]:$TP " "$SCRATCH/kh_b"; ok $? "  and recorded under the target's name"

# --- bad jump specs, an unreachable bastion ---
for bad in "root@" "@$BA" "$BA:0" "$BA:x" "[::1" "$BA:$BP,"; do
	is "$(run "${C[@]}" -J "$bad" "$L/small" "$TA:$R/bad")" 1 "-J '$bad': refused"
	grep -q "invalid jump host" "$SCRATCH/err"; ok $? "  says why: $(head -c 200 "$SCRATCH/err")"
done
is "$(run "${C[@]}" -J "root@127.0.0.1:1" "$L/small" "$TA:$R/bad")" 1 "a bastion that does not answer"
grep -q "jump host root@127.0.0.1:1: cannot connect" "$SCRATCH/err"; ok $? "  names it: $(head -c 300 "$SCRATCH/err")"
is "$(run "${C[@]}" "${J[@]}" -P 1 "$L/small" "$TA:$R/bad")" 1 "a target port closed behind the bastion"
grep -q "jump host root@$BA:$BP: cannot open a channel to $TA port 1" "$SCRATCH/err"
ok $? "  says the channel failed: $(head -c 300 "$SCRATCH/err")"

# --- address families (the host's own sshd, on 127.0.0.1 and ::1) ---
V=("$CPK" copy -q -F none -P "$SSHD_PORT" -i "$SSHD_KEY" -o "UserKnownHostsFile=$SCRATCH/kh_af"
   -o GlobalKnownHostsFile=/dev/null)
k=$(cut -d' ' -f2- "$SSHD_KNOWN_HOSTS")
printf '[127.0.0.1]:%s %s\n[::1]:%s %s\n' "$SSHD_PORT" "$k" "$SSHD_PORT" "$k" >"$SCRATCH/kh_af"
is "$(run "${V[@]}" -6 "$L/small" "127.0.0.1:$R/af")" 1 "-6 to an IPv4 address: refused"
grep -q "127.0.0.1 has no IPv6 address" "$SCRATCH/err"; ok $? "  says so: $(head -c 300 "$SCRATCH/err")"
is "$(run "${V[@]}" -o AddressFamily=inet "$L/small" "[::1]:$R/af")" 1 "AddressFamily=inet to an IPv6 address: refused"
grep -q "::1 has no IPv4 address" "$SCRATCH/err"; ok $? "  says so: $(head -c 300 "$SCRATCH/err")"
is "$(run "${V[@]}" -4 -n 2 "$L/small" "127.0.0.1:$R/af4")" 0 "-4 to 127.0.0.1: $(head -c 300 "$SCRATCH/err")"
cmp -s "$L/small" "$R/af4"; ok $? "  copied"
printf 'Host *\n\tAddressFamily inet6\n' >"$SCRATCH/cfg6"
is "$(run "${V[@]}" -F "$SCRATCH/cfg6" "$L/small" "127.0.0.1:$R/af")" 1 "ssh_config AddressFamily inet6 to 127.0.0.1: refused"
grep -q "no IPv6 address" "$SCRATCH/err"; ok $? "  says so"
if [ "$IPV6" = 1 ]; then
	n6=$(grep -c "Accepted publickey for root from ::1" "$SSHD_LOG")
	is "$(run "${V[@]}" -6 -n 2 --chunk-min 1M --chunk-max 1M --json "$L/big" "[::1]:$R/af6")" 0 "-6 to ::1, 2 connections: $(head -c 300 "$SCRATCH/err")"
	cmp -s "$L/big" "$R/af6"; ok $? "  copied"
	is "$(( $(grep -c "Accepted publickey for root from ::1" "$SSHD_LOG") - n6 ))" 2 "  2 logins over IPv6"
else
	skip "-6 to ::1" "the kernel has no IPv6 on loopback"
fi

done_testing
