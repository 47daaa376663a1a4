# Helpers for the account CLI tests (sourced after tap.sh).
#   acct_start        a scratch dir, a slapd (tests/rig/slapd.sh; stopped
#                     by pid at exit, as is the scratch dir removed) and
#                     acct_config $SCRATCH; bails out if slapd cannot start
#   acct_config DIR   writes DIR/cluster.yaml for the running slapd (and
#                     DIR/pw 0600, DIR/home, DIR/skel, two ssh keys), and
#                     exports CPK_CONFIG; DIR/root/etc/passwd and group are
#                     the control node's own accounts (CPK_ROOT, exported),
#                     never this machine's /etc
#   run CMD...        runs CMD, output in $SCRATCH/out and err; prints status
#   json FILE CODE    python3 CODE with d = the JSON document in FILE

run() { "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; echo $?; }

json() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])' "$1" "$2"
}

acct_start() {
	scratch
	# slapd.sh's EXIT trap replaces scratch's and calls this
	test_cleanup() { eval "$AT_EXIT"; [ "${CPK_KEEP:-0}" = 1 ] || rm -rf "$SCRATCH"; }
	. "$TOP/tests/rig/slapd.sh"
	slapd_start || { echo "Bail out! cannot start slapd"; exit 1; }
	acct_config "$SCRATCH"
}

acct_config() {
	_d=$1
	mkdir -p "$_d/home" "$_d/skel/.config"
	printf 'alias ll="ls -l"\n' > "$_d/skel/.bashrc"
	printf 'x=1\n' > "$_d/skel/.config/app.conf"
	cp "$SLAPD_ROOTPW_FILE" "$_d/pw"
	chmod 600 "$_d/pw"
	printf 'S3cret pass' > "$_d/alicepw"
	chmod 600 "$_d/alicepw"
	ssh-keygen -q -t ed25519 -N '' -C key1 -f "$_d/key1" </dev/null
	ssh-keygen -q -t ed25519 -N '' -C key2 -f "$_d/key2" </dev/null
	cat > "$_d/cluster.yaml" <<YAML
cluster:
  name: acct
control:
  name: head
  address: 127.0.0.1
nodes:
  - names: c1
    addresses: 127.0.0.2
partitions:
  - {name: batch, nodes: ALL, default: true}
ldap:
  uri: $SLAPD_URI
  base_dn: $SLAPD_BASE
  bind_dn: $SLAPD_ROOTDN
  bind_password_file: $_d/pw
users:
  uid_range: 30000-39999
  gid_range: 20000-29999
  home_root: $_d/home
  skel: $_d/skel
YAML
	mkdir -p "$_d/root/etc"
	cat > "$_d/root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
localadm:x:1000:1000:Local Admin,,,:/home/localadm:/bin/bash
PASSWD
	cat > "$_d/root/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
staff:x:50:
users:x:100:
localadm:x:1000:
localgrp:x:1001:localadm
GROUP
	CPK_CONFIG=$_d/cluster.yaml
	CPK_ROOT=$_d/root
	export CPK_CONFIG CPK_ROOT
}
