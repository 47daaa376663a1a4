/*
 * SSH connections set up the way OpenSSH's ssh(1) does, with libssh.
 * Private to lib/xfer (and its test programs); struct cpk_conn_opts, the
 * options, is public in cpk/xfer.h.
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

#include "cpk/xfer.h"
/* not exported from the shared library (as lib/util/internal.h) */
#ifndef CPK_INTERNAL
#define CPK_INTERNAL __attribute__((visibility("hidden")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Connects and authenticates.  All strings in O are borrowed for the call
 * only.  On success *OUT is a new session for cpk_conn_close(). */
CPK_INTERNAL cpk_err_t cpk_conn_open(const struct cpk_conn_opts *o, ssh_session *out);
/* Disconnects and frees.  Accepts NULL. */
CPK_INTERNAL void cpk_conn_close(ssh_session session);
/* Whether the last cpk_conn_open() of this thread failed because the server
 * closed or reset the connection before its banner came (sshd's
 * MaxStartups drops connections so while many log in at once): worth a
 * later try, unlike a refused connection, a timeout or a key refused. */
CPK_INTERNAL int cpk_conn_dropped(void);

/* "user@host port N" of a session, for messages: a new string (free()), or
 * NULL on allocation failure. */
CPK_INTERNAL char *cpk_conn_describe(ssh_session session);

#ifdef __cplusplus
}
#endif
#endif
