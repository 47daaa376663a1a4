/*
 * Private to lib/remote: the handle of cpk/remote.h.
 */
#ifndef CPK_REMOTE_PRIV_H
#define CPK_REMOTE_PRIV_H

#include <libssh/libssh.h>

#include "cpk/remote.h"
#include "internal.h"
#include "../xfer/conn.h"
#include "../xfer/sftp.h"

struct cpk_remote {
	ssh_session ss;		/* connected and authenticated */
	struct cpk_sftp *sftp;	/* opened by the first put, else NULL */
	char *where;		/* "user@host port N", for messages */
	int run_timeout_ms;
	size_t out_max;
};

#endif
