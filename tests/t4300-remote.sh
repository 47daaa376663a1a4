#!/bin/bash
# lib/remote (cpk/remote.h), what `cpk node add` uses on a new node, against
# a throwaway sshd: a wrong host key runs nothing, commands with hostile
# words, stdin, bounded output, exit status, signal, timeout; the atomic
# put (mode, no temporary left, refused names).  The C program is
# tests/progs/remote_driver.c.
. "$(dirname "$0")/lib/sftp_api.sh"
sftp_api_run remote_driver
