/*
 * The fixture of the SFTP test programs (sftp_driver, sftp_fault_driver),
 * run by t3001-sftp-api.sh against a throwaway sshd (tests/rig/sshd.sh).
 * sftpt_setup() reads the environment that test sets:
 *   SSHD_PORT SSHD_KEY SSHD_KNOWN_HOSTS SSHD_HOSTKEY_FP SSHD_SSH_CONFIG
 *   SSHD_RO_DIR TEST_DIR (scratch, also the "remote" side: same machine)
 * A fixture that cannot work prints "Bail out!" and exits.
 */
#ifndef SFTP_FIXTURE_H
#define SFTP_FIXTURE_H

#include <stdint.h>
#include <sys/types.h>

#include "../../../lib/xfer/conn.h"
#include "../../../lib/xfer/sftp.h"

extern const char *port_s, *key, *kh, *fp, *sshcfg, *rodir, *tdir;
extern unsigned port;

/* $NAME, or "Bail out!" when it is unset or empty. */
const char *env(const char *name);
/* Reads the environment above into the variables above. */
void sftpt_setup(void);
/* A path under TEST_DIR (a ring of 16 static buffers). */
const char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double now_s(void);
/* A pseudo-random number (xorshift, fixed seed). */
uint64_t rnd(void);
/* Writes SIZE pseudo-random bytes to a new PATH of MODE; -1 on failure. */
int write_random(const char *path, size_t size, mode_t mode);
/* 1 if the files are equal byte for byte. */
int same_file(const char *a, const char *b);
/* Options that reach the test sshd as root with the test key, no agent,
 * no config, the test known_hosts. */
void base_opts(struct cpk_conn_opts *o);
int has(const char *hay, const char *needle);
/* A connection and an SFTP session, or "Bail out!". */
ssh_session connect_or_bail(void);
struct cpk_sftp *sftp_or_bail(ssh_session ss, const struct cpk_sftp_opts *so);

#endif
