#!/bin/bash
# The C API tests of conn.c and sftp.c (sftp_driver, TAP) against a
# throwaway sshd: connections, sizes, windows, ranges, threads, many files,
# operations, listings.
. "$(dirname "$0")/lib/sftp_api.sh"
sftp_api_run sftp_driver
