/*
 * Acting on one remote host over SSH: run a command, put a file.  What
 * `cpk node add` uses to set up a new node.
 *
 * Lifecycle:
 *  1. struct cpk_remote_opts o = { .conn = { .host = "node7" } };
 *     (zero = defaults; the connection options are those of cpk/xfer.h)
 *  2. cpk_remote_open(&o, &r): connects like ssh(1) does (ssh_config,
 *     the host key checked against known_hosts and refused when unknown or
 *     changed, publickey authentication; see lib/xfer/conn.h).  Nothing is
 *     run on the host before its key is verified.
 *  3. Any number of, in any order:
 *     cpk_remote_run(r, argv, in, in_len, &out, &status): one command;
 *     cpk_remote_put(r, dir, name, data, len, mode): one file, atomically.
 *  4. cpk_remote_close(r): disconnects and frees.
 *
 * Errors: every call returns cpk_err_t (0 is success) and leaves a message
 * for cpk_errmsg() naming the host.  A refused host key is CPK_ERR_PERM.
 *
 * Threads: a struct cpk_remote belongs to one thread at a time.
 */
#ifndef CPK_REMOTE_H
#define CPK_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "cpk/error.h"
#include "cpk/xfer.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cpk_remote;

struct cpk_remote_opts {
	struct cpk_conn_opts conn;	/* host (required), port, user, keys,
					 * known_hosts, ...: borrowed for
					 * cpk_remote_open() only */
	int run_timeout_ms;	/* the whole of one cpk_remote_run(): stdin
				 * sent, output read, exit status received
				 * (600000) */
	size_t out_max;		/* output kept per command (1 MiB); more is
				 * read and dropped, and said so */
};

/* Connects and authenticates.  On success *OUT is a new handle for
 * cpk_remote_close(); on failure *OUT is NULL. */
cpk_err_t cpk_remote_open(const struct cpk_remote_opts *opts,
			  struct cpk_remote **out);
/* Disconnects and frees.  Accepts NULL. */
void cpk_remote_close(struct cpk_remote *r);

/* What a command wrote. */
struct cpk_remote_out {
	char *data;		/* stdout and stderr together, in the order
				 * their pieces arrived (the relative order
				 * of the two streams is approximate), then
				 * NUL; owned: cpk_remote_out_release() */
	size_t len;		/* bytes in data (without the NUL) */
	int truncated;		/* more than out_max bytes came: data holds
				 * the first out_max, then a line
				 * "[cpk: output truncated: N bytes in all]" */
};
#define CPK_REMOTE_OUT_INIT { NULL, 0, 0 }
/* Frees O's data and zeroes it.  Accepts a zeroed O. */
void cpk_remote_out_release(struct cpk_remote_out *o);

/*
 * Runs ARGV (NULL-terminated, at least one word; borrowed) on the host in
 * one exec channel.  The remote user's login shell (which must be a POSIX
 * shell) gets the words each single-quoted (cpk_remote_command()), so every
 * word arrives byte for byte as one argument, whatever it holds (a word is a
 * C string: it cannot hold a NUL; bytes with NULs go as IN).  IN (IN_LEN
 * bytes, may be NULL with 0; borrowed) is the command's standard input,
 * then end of file.  *OUT (may be NULL: output dropped) receives the
 * output, owned by the caller (cpk_remote_out_release()), also on failure
 * (what came before it).  *EXIT_STATUS receives the command's exit status
 * (0..255; EXIT_STATUS may be NULL); a command that exits non-zero is not
 * an error of this call.
 * Errors: the command killed by a signal (CPK_ERR_IO, naming the signal),
 * no exit status, the run_timeout_ms passed (CPK_ERR_IO: the command's
 * process group is killed on the host through a second channel, and the
 * message says whether that worked), the connection broken.
 * The shell first runs `echo "cpk-pid $$" >&2` (its pid: the session's
 * process group, for that kill); that line is taken out of the output.
 */
cpk_err_t cpk_remote_run(struct cpk_remote *r, const char *const *argv,
			 const void *in, size_t in_len,
			 struct cpk_remote_out *out, int *exit_status);

/*
 * The words of ARGV as cpk_remote_run() sends them (after the pid line
 * above): every word in single quotes, each ' inside one written '\'' ,
 * words separated by spaces.  *OUT: a new string (free()).
 * CPK_ERR_INVALID for an empty ARGV.
 */
cpk_err_t cpk_remote_command(const char *const *argv, char **out);

/*
 * Puts LEN bytes of DATA (borrowed) as DIR/NAME on the host, as the remote
 * user, atomically: a new temporary file DIR/.NAME.cpk-XXXXXXXX is created
 * exclusively (never through an existing file or symlink) with MODE (07777
 * bits) set on it before any data is written, so a secret (MODE 0400) is
 * never readable by others; the data is written, flushed to disk when the
 * server offers fsync@openssh.com, and the file renamed over DIR/NAME
 * (posix-rename@openssh.com: the server must offer it).  On failure the
 * temporary file is removed and DIR/NAME is as before.  NAME must be one
 * path component: not empty, no '/', not "." or "..".  DIR must exist.
 */
cpk_err_t cpk_remote_put(struct cpk_remote *r, const char *dir,
			 const char *name, const void *data, size_t len,
			 uint32_t mode);

#ifdef __cplusplus
}
#endif
#endif
