/*
 * What conn.c needs beyond libssh: the ssh_config keys read by cpk itself
 * (sshcfg.c) and the ways a connection reaches its host (jump.c).  Private
 * to lib/xfer.
 */
#ifndef CPK_CONN_CFG_H
#define CPK_CONN_CFG_H

#include <libssh/libssh.h>

#include "cpk/xfer.h"
#ifndef CPK_INTERNAL
#define CPK_INTERNAL __attribute__((visibility("hidden")))
#endif

/* ---- sshcfg.c ----------------------------------------------------------- */

/* The values of these keys for one host: NULL or -1 where unset. */
struct xcfg {
	char *proxy_jump;	/* as written, "none" included */
	char *proxy_command;
	int family;		/* 0 any, 4 inet, 6 inet6 */
	int identities_only;	/* 0 or 1 */
};
/* Reads CONFIG (like ssh -F; "none": no file; NULL: ~/.ssh/config then
 * /etc/ssh/ssh_config) for HOST, the name as given.  A missing file holds
 * nothing; a bad value is an error naming file and line.  *C is always
 * set (xcfg_release()). */
CPK_INTERNAL cpk_err_t xcfg_read(const char *config, const char *host,
				 struct xcfg *c);
CPK_INTERNAL void xcfg_release(struct xcfg *c);

/* ---- jump.c -------------------------------------------------------------- */

struct xjump;
/*
 * Opens the jump host chain JUMPS ("[user@]host[:port],...", the last one
 * next to the target) with the options O (hops are connected, host key
 * checked and authenticated by cpk_conn_open(): each hop through the ones
 * before it) and a direct-tcpip channel from the last hop to HOST PORT.
 * On success *FD is a socket carrying that channel, for SSH_OPTIONS_FD
 * (the target session owns it), and *OUT the jump, which must stay open
 * as long as the target session: xjump_attach() it to the session,
 * cpk_conn_close() closes it.  Messages start with "jump host HOP: ".
 */
CPK_INTERNAL cpk_err_t xjump_open(const struct cpk_conn_opts *o,
				  const char *jumps, const char *host,
				  unsigned port, int *fd, struct xjump **out);
/* Records that J carries TARGET, for xjump_detach(). */
CPK_INTERNAL void xjump_attach(struct xjump *j, ssh_session target);
/* The jump attached to TARGET, no longer recorded, or NULL. */
CPK_INTERNAL struct xjump *xjump_detach(ssh_session target);
/* Stops the pump, closes the channel and the hops.  Accepts NULL.  Call
 * after the target session is freed. */
CPK_INTERNAL void xjump_close(struct xjump *j);

/* A blocking TCP socket to HOST PORT over IPv4 (FAMILY 4) or IPv6 (6),
 * connected within MS milliseconds, in *FD. */
CPK_INTERNAL cpk_err_t xconn_tcp(const char *host, unsigned port, int family,
				 int ms, int *fd);

#endif
