#!/bin/bash
# Keys as users keep them (issue 11 item 7): a key held by ssh-agent
# (SSH_AUTH_SOCK), IdentitiesOnly (no agent keys then), IdentityFile from
# ssh_config, and a passphrase-protected key: asked for once on the terminal
# for a copy over several connections; without a terminal or with
# BatchMode, a clear error naming the key; a wrong passphrase said as such;
# the same encrypted key through the agent needs no terminal.  The real
# sshd of the rig; the agent is a real ssh-agent, stopped by pid.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/tests/lib/copy.sh"
copy_setup
for p in ssh-agent ssh-add ssh-keygen python3 setsid; do
	command -v "$p" >/dev/null || { echo "Bail out! $p is missing (tests/rig/deps.sh installs it)"; exit 1; }
done
PTY=$TOP/tests/lib/pty_answer.py
# no default keys (libssh looks in the home of the uid): a home of the
# test's own, through a mount namespace where one can be made
K=$SCRATCH/keys
mkdir -p "$K"
# keys of their own, authorized beside the rig's
ssh-keygen -q -t ed25519 -N '' -C agentkey -f "$K/agent" &&
ssh-keygen -q -t ed25519 -N 'sesame 42' -C enckey -f "$K/enc" &&
ssh-keygen -q -t ed25519 -N '' -C cfgkey -f "$K/cfg" ||
	{ echo "Bail out! ssh-keygen failed"; exit 1; }
cat "$K/agent.pub" "$K/enc.pub" "$K/cfg.pub" >>"$SSHD_DIR/authorized_keys"

# B: cpk copy with no -i: only what each case gives it
B_=("$CPK" copy -q -F none -P "$SSHD_PORT" -o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS"
    -o GlobalKnownHostsFile=/dev/null)
echo data >"$L/f"
head -c $((5 * M)) /dev/urandom >"$L/big"
logins() { grep -c "Accepted publickey for root" "$SSHD_LOG"; }

# --- ssh-agent ---
eval "$(ssh-agent -s -a "$SCRATCH/agent.sock")" >/dev/null
AGENT=$SSH_AGENT_PID
at_exit "kill $AGENT 2>/dev/null"
ssh-add -q "$K/agent" 2>/dev/null; ok $? "ssh-add a key to a fresh agent"
n0=$(logins)
is "$(run "${B_[@]}" -n 3 --chunk-min 1M --chunk-max 1M --json "$L/big" "$H:$R/agent")" 0 \
	"the agent's key, 3 connections: $(head -c 200 "$SCRATCH/err")"
cmp -s "$L/big" "$R/agent"; ok $? "  copied"
is "$(( $(logins) - n0 ))" 3 "  3 logins"
grep -q "Accepted publickey for root.*ED25519 SHA256:$(ssh-keygen -lf "$K/agent.pub" | awk '{print $2}' | cut -d: -f2)" "$SSHD_LOG"
ok $? "  with the agent's key"
is "$(run "${B_[@]}" -o IdentitiesOnly=yes "$L/f" "$H:$R/io")" 1 "IdentitiesOnly=yes: the agent's key is not used"
grep -q "permission denied.*no ssh-agent: IdentitiesOnly" "$SCRATCH/err"; ok $? "  permission denied, saying why: $(head -c 200 "$SCRATCH/err")"
is "$(run "${B_[@]}" -o IdentitiesOnly=yes -i "$K/cfg" "$L/f" "$H:$R/io2")" 0 "IdentitiesOnly=yes -i KEY: that key"
printf 'Host *\n\tIdentitiesOnly yes\n' >"$SCRATCH/cfg_io"
is "$(run "${B_[@]}" -F "$SCRATCH/cfg_io" "$L/f" "$H:$R/io3")" 1 "ssh_config IdentitiesOnly yes: no agent key either"
printf 'Host cfghost\n\tHostName 127.0.0.1\n\tIdentityFile %s\n\tIdentitiesOnly yes\n' "$K/cfg" >"$SCRATCH/cfg_id"
is "$(run "${B_[@]}" -F "$SCRATCH/cfg_id" "$L/f" "cfghost:$R/cfgid")" 0 "ssh_config IdentityFile with IdentitiesOnly: $(head -c 200 "$SCRATCH/err")"
ssh-add -q -D 2>/dev/null

# --- a passphrase-protected key ---
E=("${B_[@]}" -o IdentitiesOnly=yes -i "$K/enc")
# on a terminal: asked once for 4 connections
n0=$(logins)
rc=$("$PTY" "Enter passphrase for key" "sesame 42" 120 "${E[@]}" -n 4 --chunk-min 1M --chunk-max 1M \
	"$L/big" "$H:$R/enc" >"$SCRATCH/tty" 2>"$SCRATCH/err"; echo $?)
is "$rc" 0 "a passphrase key on a terminal, 4 connections: $(tr -d '\r' <"$SCRATCH/tty" | head -c 300)"
grep -q "prompts: 1$" "$SCRATCH/err"; ok $? "  asked once: $(cat "$SCRATCH/err")"
grep -q "Enter passphrase for key '$K/enc'" "$SCRATCH/tty"; ok $? "  the prompt names the key"
grep -q "sesame" "$SCRATCH/tty"; ok $((!$?)) "  the passphrase is not echoed"
cmp -s "$L/big" "$R/enc"; ok $? "  copied"
is "$(( $(logins) - n0 ))" 4 "  4 logins"
# a wrong passphrase
rc=$("$PTY" "Enter passphrase for key" "wrong" 120 "${E[@]}" "$L/f" "$H:$R/wrong" >"$SCRATCH/tty" 2>/dev/null; echo $?)
is "$rc" 1 "a wrong passphrase: fails"
grep -q "could not be decrypted with the passphrase given" "$SCRATCH/tty"; ok $? "  says so: $(tr -d '\r' <"$SCRATCH/tty" | tail -1 | head -c 300)"
[ ! -e "$R/wrong" ]; ok $? "  nothing copied"
# no terminal: never hangs, names the key
is "$(run timeout 120 setsid -w "${E[@]}" "$L/f" "$H:$R/notty" </dev/null)" 1 "no terminal: fails"
grep -q "key $K/enc, but it is protected by a passphrase and none could be asked for" "$SCRATCH/err"
ok $? "  names the key: $(head -c 300 "$SCRATCH/err")"
grep -q "ssh-add $K/enc" "$SCRATCH/err"; ok $? "  and says how to load it into ssh-agent"
# BatchMode=yes on a terminal: nothing asked
rc=$("$PTY" "Enter passphrase for key" "sesame 42" 120 "${E[@]}" -o BatchMode=yes "$L/f" "$H:$R/batch" \
	>"$SCRATCH/tty" 2>"$SCRATCH/err"; echo $?)
is "$rc" 1 "BatchMode=yes on a terminal: fails"
grep -q "prompts: 0$" "$SCRATCH/err"; ok $? "  nothing asked"
# the same key through the agent (loaded with its passphrase): no terminal needed
printf '#!/bin/sh\necho "sesame 42"\n' >"$SCRATCH/askpass"; chmod 700 "$SCRATCH/askpass"
SSH_ASKPASS=$SCRATCH/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 setsid -w ssh-add -q "$K/enc" </dev/null 2>/dev/null
ok $? "ssh-add the encrypted key with its passphrase"
is "$(run timeout 120 setsid -w "${B_[@]}" -n 2 "$L/f" "$H:$R/viaagent" </dev/null)" 0 \
	"the encrypted key through the agent, no terminal: $(head -c 200 "$SCRATCH/err")"
cmp -s "$L/f" "$R/viaagent"; ok $? "  copied"

done_testing
