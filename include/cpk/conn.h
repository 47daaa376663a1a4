/*
 * SSH connections set up the way OpenSSH's ssh(1) does, with libssh.
 *
 * Lifecycle:
 *  1. struct cpk_conn_opts o = { .host = "node1" };   (zero = defaults)
 *  2. cpk_conn_open(&o, &session): resolves the ssh_config for the host,
 *     connects with a timeout, verifies the host key against known_hosts,
 *     authenticates with publickey (ssh-agent, then identity files).
 *  3. Use the session: cpk_sftp_new(session, ...) (sftp.h).
 *  4. cpk_conn_close(session): disconnects and frees.
 *
 * Precedence, as in OpenSSH: options set in cpk_conn_opts win over the
 * ssh_config (~/.ssh/config then /etc/ssh/ssh_config, or the file given like
 * ssh -F), which wins over libssh's defaults.
 *
 * Host keys: an unknown host or a changed key is refused with a message
 * naming the host, the key type and SHA256 fingerprint the server offered,
 * and the known_hosts files consulted, unless hostkey_policy says otherwise.
 * StrictHostKeyChecking in ssh_config is overridden by hostkey_policy.
 * A key under "@revoked" in either known_hosts file is refused (naming the
 * file and line) whatever line accepts it and whatever host the @revoked
 * line names, unless CPK_HOSTKEY_NO_CHECK; "@cert-authority" lines accept
 * no key (host certificates are not supported).
 *
 * Threads: one session per thread; no global mutable state.
 */
#ifndef CPK_CONN_H
#define CPK_CONN_H

#include <libssh/libssh.h>

#include "cpk/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cpk_hostkey_policy {
	CPK_HOSTKEY_STRICT = 0,	/* known_hosts must hold this key (default) */
	CPK_HOSTKEY_ACCEPT_NEW,	/* unknown: add it to the user's known_hosts;
				 * changed: still refused */
	CPK_HOSTKEY_NO_CHECK	/* accept any key (tests, throwaway hosts) */
};

struct cpk_conn_opts {
	const char *host;	/* required: name or address (or a Host alias
				 * of the ssh_config) */
	unsigned port;		/* 0: from ssh_config, else 22 */
	const char *user;	/* NULL: from ssh_config, else the local user */
	const char *const *identities;	/* NULL-terminated private key files
				 * tried before the ssh_config/default ones;
				 * NULL: none extra */
	int no_agent;		/* 1: do not use ssh-agent (SSH_AUTH_SOCK) */
	const char *config;	/* ssh_config file like ssh -F; NULL: the
				 * user's and system's; "none": no file */
	const char *ciphers;	/* e.g. "aes128-gcm@openssh.com"; NULL:
				 * ssh_config / libssh default */
	const char *known_hosts;	/* NULL: ssh_config UserKnownHostsFile,
				 * else ~/.ssh/known_hosts */
	const char *global_known_hosts;	/* NULL: /etc/ssh/ssh_known_hosts */
	enum cpk_hostkey_policy hostkey_policy;
	int connect_timeout_ms;	/* TCP connect + key exchange + auth
				 * (10000) */
	int log_verbosity;	/* libssh SSH_LOG_* (0: none) */
};

/* Connects and authenticates.  All strings in O are borrowed for the call
 * only.  On success *OUT is a new session for cpk_conn_close(). */
cpk_err_t cpk_conn_open(const struct cpk_conn_opts *o, ssh_session *out);
/* Disconnects and frees.  Accepts NULL. */
void cpk_conn_close(ssh_session session);

/* "user@host port N" of a session, for messages: a new string (free()), or
 * NULL on allocation failure. */
char *cpk_conn_describe(ssh_session session);

#ifdef __cplusplus
}
#endif
#endif
