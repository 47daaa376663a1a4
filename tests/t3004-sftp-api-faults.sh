#!/bin/bash
# The C API tests of sftp.c's request API and failures (sftp_fault_driver,
# TAP) against a throwaway sshd: a dead connection, permissions, errors
# midway, a stalled server.
. "$(dirname "$0")/lib/sftp_api.sh"
sftp_api_run sftp_fault_driver
