#!/bin/sh
# cpk munge-key: creates a 1 KiB random key, 0400, never replaces one,
# refuses keys that group or others can read, that another user owns, links
# and short keys; and a real munged accepts the key it made.
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || exit 1
scratch

run() { "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; echo $?; }
k="$SCRATCH/keys/munge.key"
mkdir -m 0700 "$SCRATCH/keys"

is "$(run "$CPK" munge-key --key "$k" --create --owner root)" 0 "create"
is "$(stat -c '%a %s %U' "$k")" "400 1024 root" "0400, 1024 bytes, owned as asked"
sum1=$(sha256sum < "$k")
is "$(run "$CPK" munge-key --key "$k" --create)" 0 "create again: keeps the existing key"
is "$(sha256sum < "$k")" "$sum1" "the key is unchanged"
is "$(ls -A "$SCRATCH/keys")" "munge.key" "no temporary files left"
is "$(run "$CPK" munge-key --key "$k")" 0 "check a good key"

k2="$SCRATCH/keys/other.key"
"$CPK" munge-key --key "$k2" --create --owner root >/dev/null
[ "$(sha256sum < "$k2")" != "$sum1" ]; ok $? "two keys differ (random)"

chmod 0440 "$k2"
is "$(run "$CPK" munge-key --key "$k2")" 1 "group-readable key refused"
grep -q "has mode 0440: group or others may access" "$SCRATCH/err"; ok $? "and says why"
chmod 0404 "$k2"
is "$(run "$CPK" munge-key --key "$k2")" 1 "others-readable key refused"
grep -q "has mode 0404: group or others may access" "$SCRATCH/err"; ok $? "and says why"
chmod 0600 "$k2"
is "$(run "$CPK" munge-key --key "$k2")" 0 "a 0600 key is usable"
if [ "$(id -u)" = 0 ]; then
	chown 65534 "$k2"
	is "$(run "$CPK" munge-key --key "$k2")" 1 "a key owned by another user refused"
	grep -q "is owned by uid 65534" "$SCRATCH/err"; ok $? "and says why"
else
	echo "ok $((tap_n + 1)) # SKIP chown needs root"; tap_n=$((tap_n + 1))
	echo "ok $((tap_n + 1)) # SKIP chown needs root"; tap_n=$((tap_n + 1))
fi
ln -s "$k" "$SCRATCH/keys/link.key"
is "$(run "$CPK" munge-key --key "$SCRATCH/keys/link.key")" 1 "symlinked key refused"
grep -q "is a symbolic link" "$SCRATCH/err"; ok $? "and says why"
head -c 16 /dev/urandom > "$SCRATCH/keys/short.key"; chmod 0400 "$SCRATCH/keys/short.key"
is "$(run "$CPK" munge-key --key "$SCRATCH/keys/short.key")" 1 "short key refused"
grep -q "holds 16 bytes; a munge key needs at least 32" "$SCRATCH/err"; ok $? "and says why"
is "$(run "$CPK" munge-key --key "$SCRATCH/nodir/k" --create --owner root)" 1 "missing dir: exit 1"
is "$(run "$CPK" munge-key --key "$k" --create --owner nosuchuser)" 1 "unknown owner: exit 1"
is "$(run "$CPK" munge-key -f examples/small-cpu.yaml --key "$k")" 0 "--key wins over the description"

# munged accepts the key: start it from the scratch dir, stop it by pid.
if [ "$(id -u)" = 0 ] && command -v munged >/dev/null; then
	mkdir -m 0755 "$SCRATCH/run"
	munged --foreground --force --key-file="$k" --socket="$SCRATCH/run/sock" \
		--pid-file="$SCRATCH/run/pid" --log-file="$SCRATCH/run/log" \
		--seed-file="$SCRATCH/run/seed" 2>"$SCRATCH/munged.err" &
	mpid=$!
	at_exit "kill $mpid 2>/dev/null; wait $mpid 2>/dev/null"
	i=0
	while [ ! -S "$SCRATCH/run/sock" ] && [ $i -lt 100 ] && kill -0 $mpid 2>/dev/null; do
		sleep 0.05; i=$((i + 1))
	done
	cred=$(munge -n -S "$SCRATCH/run/sock" 2>/dev/null)
	printf '%s' "$cred" | unmunge -S "$SCRATCH/run/sock" >/dev/null 2>&1
	ok $? "a real munged signs and verifies with the created key"
	kill $mpid
	wait $mpid 2>/dev/null
	kill -0 $mpid 2>/dev/null
	ok $((!$?)) "munged stopped by its pid"
else
	echo "ok $((tap_n + 1)) # SKIP munged test needs root and munge"; tap_n=$((tap_n + 1))
	echo "ok $((tap_n + 1)) # SKIP munged test needs root and munge"; tap_n=$((tap_n + 1))
fi
done_testing
