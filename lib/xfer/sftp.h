/*
 * A pipelined SFTP version 3 client over one libssh channel.
 *
 * libssh's own sftp_write() waits for each reply, so one connection moves one
 * buffer per round trip.  This client speaks the protocol itself
 * (draft-ietf-secsh-filexfer-02 plus OpenSSH's extensions) and keeps up to
 * `window` requests in flight on one channel: many READ/WRITE requests of one
 * file, or OPEN/WRITE/FSETSTAT/CLOSE of many small files at once.
 *
 * Lifecycle:
 *  1. Connect and authenticate an ssh_session (see conn.h: cpk_conn_open()).
 *  2. cpk_sftp_new(session, &opts, &s): opens a channel, starts the "sftp"
 *     subsystem, does INIT/VERSION and asks the server for its limits
 *     (limits@openssh.com) to size READ/WRITE requests.
 *  3. Either the blocking calls (cpk_sftp_stat(), cpk_sftp_mkdir(), ...; each
 *     one waits for its reply), the pipelined helpers (cpk_sftp_put(),
 *     cpk_sftp_get(), cpk_sftp_put_many(), cpk_sftp_get_many(),
 *     cpk_sftp_write_range(), cpk_sftp_read_range()), or the request API:
 *     cpk_sftp_req_*() queue a request and return at once; the reply is
 *     delivered to a callback from inside cpk_sftp_pump() / cpk_sftp_drain().
 *  4. cpk_sftp_free(s): closes the channel.  Outstanding requests are
 *     dropped without their callbacks.
 *  5. Disconnect and free the session (cpk_conn_close()).
 *
 * Errors: every call returns cpk_err_t (0 is success) and leaves a message
 * for cpk_errmsg() naming the operation, the path, the host and the server's
 * own words, e.g. "cannot open /data/x on node1 for writing: permission
 * denied (server: Permission denied)".  Status codes map as follows:
 * NO_SUCH_FILE -> CPK_ERR_NOTFOUND, PERMISSION_DENIED -> CPK_ERR_PERM,
 * BAD_MESSAGE / OP_UNSUPPORTED -> CPK_ERR_INVALID, everything else ->
 * CPK_ERR_IO.  A broken connection or protocol violation is fatal: all
 * outstanding requests complete with an error and every later call returns
 * the same error.
 *
 * Threads: a struct cpk_sftp and its session belong to one thread at a time.
 * Use one connection (session + cpk_sftp) per thread; there is no global
 * mutable state.  One cpk_sftp per session.
 *
 * Memory is bounded: at most `window` requests are in flight, and at most
 * `max_unsent` bytes of requests wait for the SSH channel window (plus one
 * request), whatever the size of the files.
 */
#ifndef CPK_SFTP_H
#define CPK_SFTP_H

#include <stddef.h>
#include <stdint.h>
#include <libssh/libssh.h>

#include "cpk/error.h"
/* not exported from the shared library (as lib/util/internal.h) */
#ifndef CPK_INTERNAL
#define CPK_INTERNAL __attribute__((visibility("hidden")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct cpk_sftp;

/* Options for cpk_sftp_new().  Zero means the default. */
struct cpk_sftp_opts {
	unsigned window;	/* requests in flight (64; 1..1024) */
	unsigned max_files;	/* files open at once in cpk_sftp_put_many()
				 * and _get_many(), each holding a local file
				 * descriptor (window / 2) */
	size_t chunk;		/* READ/WRITE payload, bytes (256 KiB; at least
				 * 4 KiB; lowered to the server's limits) */
	size_t max_unsent;	/* bytes of queued requests not yet accepted by
				 * the SSH channel before a request call waits
				 * (4 MiB) */
	int io_timeout_ms;	/* no traffic at all for this long while
				 * replies are awaited: the connection is
				 * declared dead (300000) */
	const char *subsystem;	/* "sftp" (like sftp -s); borrowed */
	/* Progress (may be NULL): called with the payload bytes of every
	 * acknowledged WRITE and of every READ reply stored by the file
	 * transfer calls (range, put, get, put_many, get_many), from inside
	 * them, on the calling thread. */
	void (*on_data)(void *arg, uint64_t bytes);
	void *on_data_arg;
	/* Cancellation (may be NULL): the file transfer calls (range, put,
	 * get, put_many, get_many) ask it between requests; once it returns
	 * non-zero they send no more READ/WRITE, close what they opened, wait
	 * for the replies in flight and fail the files not finished with
	 * CPK_ERR_INTERRUPTED.  Called on the calling thread. */
	int (*cancelled)(void *arg);
	void *cancelled_arg;
	/* Several channels on one session (see cpk_sftp_mux_new()); NULL: the
	 * channel is alone on its session. */
	struct cpk_sftp_mux *mux;
	/* What another channel learned from the same server (its
	 * cpk_sftp_info(); may be NULL): its limits@openssh.com answer is
	 * taken instead of asking again (a round trip) when this channel's
	 * server is alike: the same OpenSSH version, the same extensions
	 * listed, limits@openssh.com among them. */
	const struct cpk_sftp_info *known;
};

/*
 * Channels sharing one SSH session, each driven by its own thread: create a
 * mux for the session, pass it in cpk_sftp_opts.mux to every cpk_sftp_new()
 * on that session, and free it after the last of those channels.  Every
 * libssh call of these channels then happens under the mux's lock; while
 * they live, the caller must not use the session itself from any thread.
 * One channel per thread (a cpk_sftp is not thread-safe itself).  What one
 * SSH connection moves per round trip is bounded by each channel's window
 * (OpenSSH's sshd: 2 MiB), so channels multiply it on long links without
 * more connections to set up.
 */
struct cpk_sftp_mux;
CPK_INTERNAL cpk_err_t cpk_sftp_mux_new(ssh_session session, struct cpk_sftp_mux **out);
/* Frees M (NULL accepted); its channels must be freed first. */
CPK_INTERNAL void cpk_sftp_mux_free(struct cpk_sftp_mux *m);

/* The limits in force after cpk_sftp_new() (see cpk_sftp_info()). */
struct cpk_sftp_info {
	unsigned version;	/* protocol version the server speaks (3) */
	unsigned window;
	size_t chunk;		/* READ/WRITE payload used */
	uint64_t server_max_packet;	/* 0 if the server did not say */
	uint64_t server_max_read;
	uint64_t server_max_write;
	uint64_t server_max_handles;
	int posix_rename;	/* posix-rename@openssh.com available */
	int fsync;		/* fsync@openssh.com available */
	int expand_path;	/* expand-path@openssh.com available */
	int limits;		/* limits@openssh.com listed */
	int openssh;		/* the SSH server's OpenSSH version
				 * (ssh_get_openssh_version(); 0: another) */
};

/* Opens a channel on SESSION (connected and authenticated; borrowed: it must
 * outlive *OUT) and starts SFTP.  OPTS may be NULL.  On success *OUT is a new
 * handle for cpk_sftp_free(). */
CPK_INTERNAL cpk_err_t cpk_sftp_new(ssh_session session, const struct cpk_sftp_opts *opts,
		       struct cpk_sftp **out);
/* Closes the channel and frees S.  Accepts NULL.  Not from a callback. */
CPK_INTERNAL void cpk_sftp_free(struct cpk_sftp *s);
/* Fills *INFO.  Never fails. */
CPK_INTERNAL void cpk_sftp_info(const struct cpk_sftp *s, struct cpk_sftp_info *info);
/* Sets io_timeout_ms (see cpk_sftp_opts; 0: the default) from now on, e.g.
 * a short one once the handshake is done.  Never fails. */
CPK_INTERNAL void cpk_sftp_set_io_timeout(struct cpk_sftp *s, int ms);

/* ---- types ----------------------------------------------------------- */

/* Open flags (SSH_FXF_*). */
#define CPK_SFTP_READ	0x01
#define CPK_SFTP_WRITE	0x02
#define CPK_SFTP_APPEND	0x04
#define CPK_SFTP_CREAT	0x08
#define CPK_SFTP_TRUNC	0x10
#define CPK_SFTP_EXCL	0x20

/* Attribute flags (SSH_FILEXFER_ATTR_*): which fields of cpk_sftp_attr are
 * set. */
#define CPK_SFTP_ATTR_SIZE	0x1
#define CPK_SFTP_ATTR_UIDGID	0x2
#define CPK_SFTP_ATTR_PERM	0x4
#define CPK_SFTP_ATTR_TIMES	0x8

struct cpk_sftp_attr {
	uint32_t flags;		/* CPK_SFTP_ATTR_* */
	uint64_t size;
	uint32_t uid, gid;
	uint32_t perm;		/* st_mode: file type and permission bits */
	uint32_t atime, mtime;	/* seconds since the epoch (32 bits in v3) */
};

/* A remote file or directory handle: an opaque string of up to 256 bytes,
 * kept by value.  Valid until closed. */
#define CPK_SFTP_HANDLE_MAX 256
struct cpk_sftp_handle {
	uint32_t len;
	unsigned char data[CPK_SFTP_HANDLE_MAX];
};

/* One directory entry or resolved name. */
struct cpk_sftp_name {
	char *name;		/* NUL-terminated */
	size_t namelen;		/* its length on the wire: more than
				 * strlen(name) when the server sent a NUL
				 * inside it (check before using the name) */
	char *longname;		/* "ls -l" style line from the server */
	struct cpk_sftp_attr attr;
};

/* ---- blocking calls (each waits for its reply; not from callbacks) ----- */

/* Opens PATH with CPK_SFTP_* FLAGS; MODE is used when the file is created
 * (the server's umask applies).  *H receives the handle. */
CPK_INTERNAL cpk_err_t cpk_sftp_open(struct cpk_sftp *s, const char *path, unsigned flags,
			uint32_t mode, struct cpk_sftp_handle *h);
CPK_INTERNAL cpk_err_t cpk_sftp_close(struct cpk_sftp *s, const struct cpk_sftp_handle *h);
/* One READ of at most LEN bytes (LEN <= chunk) at OFF into BUF.  *GOT is the
 * number of bytes read, 0 at end of file. */
CPK_INTERNAL cpk_err_t cpk_sftp_read(struct cpk_sftp *s, const struct cpk_sftp_handle *h,
			uint64_t off, void *buf, size_t len, size_t *got);
/* Writes LEN bytes of BUF at OFF, in pipelined chunk-sized WRITEs. */
CPK_INTERNAL cpk_err_t cpk_sftp_write(struct cpk_sftp *s, const struct cpk_sftp_handle *h,
			 uint64_t off, const void *buf, size_t len);
CPK_INTERNAL cpk_err_t cpk_sftp_stat(struct cpk_sftp *s, const char *path,
			struct cpk_sftp_attr *attr);	/* follows symlinks */
CPK_INTERNAL cpk_err_t cpk_sftp_lstat(struct cpk_sftp *s, const char *path,
			 struct cpk_sftp_attr *attr);
CPK_INTERNAL cpk_err_t cpk_sftp_fstat(struct cpk_sftp *s, const struct cpk_sftp_handle *h,
			 struct cpk_sftp_attr *attr);
/* Sets the fields of ATTR named by attr->flags (mode, times, size, owner). */
CPK_INTERNAL cpk_err_t cpk_sftp_setstat(struct cpk_sftp *s, const char *path,
			   const struct cpk_sftp_attr *attr);
CPK_INTERNAL cpk_err_t cpk_sftp_fsetstat(struct cpk_sftp *s,
			    const struct cpk_sftp_handle *h,
			    const struct cpk_sftp_attr *attr);
CPK_INTERNAL cpk_err_t cpk_sftp_mkdir(struct cpk_sftp *s, const char *path, uint32_t mode);
CPK_INTERNAL cpk_err_t cpk_sftp_rmdir(struct cpk_sftp *s, const char *path);
/* Flushes open file H to disk on the server (fsync@openssh.com;
 * CPK_ERR_INVALID if the server lacks it: see cpk_sftp_info()). */
CPK_INTERNAL cpk_err_t cpk_sftp_fsync(struct cpk_sftp *s,
				      const struct cpk_sftp_handle *h);
CPK_INTERNAL cpk_err_t cpk_sftp_remove(struct cpk_sftp *s, const char *path);
/* Renames FROM to TO.  With CPK_SFTP_RENAME_OVERWRITE an existing TO is
 * replaced atomically (posix-rename@openssh.com; CPK_ERR_INVALID if the
 * server lacks it); without it an existing TO is an error (SFTP v3). */
#define CPK_SFTP_RENAME_OVERWRITE 0x1
CPK_INTERNAL cpk_err_t cpk_sftp_rename(struct cpk_sftp *s, const char *from, const char *to,
			  unsigned flags);
/* Creates LINKPATH pointing at TARGET (argument order as symlink(2); the
 * OpenSSH wire order quirk is handled). */
CPK_INTERNAL cpk_err_t cpk_sftp_symlink(struct cpk_sftp *s, const char *target,
			   const char *linkpath);
/* *OUT: a new NUL-terminated string, caller frees with free(). */
CPK_INTERNAL cpk_err_t cpk_sftp_readlink(struct cpk_sftp *s, const char *path, char **out);
CPK_INTERNAL cpk_err_t cpk_sftp_realpath(struct cpk_sftp *s, const char *path, char **out);
/* PATH with a leading "~" or "~USER" replaced by that home directory, and
 * the whole resolved as REALPATH does (symlinks too), by the server
 * (expand-path@openssh.com; CPK_ERR_INVALID if the server lacks it).  *OUT:
 * a new string, never empty. */
CPK_INTERNAL cpk_err_t cpk_sftp_expand_path(struct cpk_sftp *s, const char *path,
			       char **out);
/* Lists directory PATH (without "." and ".."): *NAMES is a new array of *N
 * entries, freed with cpk_sftp_names_free().  The names are the server's,
 * unchecked: one may hold '/', be empty or (namelen) hold a NUL. */
CPK_INTERNAL cpk_err_t cpk_sftp_listdir(struct cpk_sftp *s, const char *path,
			   struct cpk_sftp_name **names, size_t *n);
/* Frees an array from cpk_sftp_listdir().  Accepts NULL. */
CPK_INTERNAL void cpk_sftp_names_free(struct cpk_sftp_name *names, size_t n);

/* A directory read in pieces, for directories too big to hold whole:
 * cpk_sftp_opendir(), then cpk_sftp_readdir() until *EOF, then
 * cpk_sftp_close() on the handle. */
CPK_INTERNAL cpk_err_t cpk_sftp_opendir(struct cpk_sftp *s, const char *path,
			   struct cpk_sftp_handle *h);
/* The next entries of open directory H (without "." and ".."), in the
 * server's order: at least WANT unless the directory ends first (then
 * *EOF is 1); several READDIRs in flight.  *NAMES is a new array of *N
 * entries (cpk_sftp_names_free()). */
CPK_INTERNAL cpk_err_t cpk_sftp_readdir(struct cpk_sftp *s, const struct cpk_sftp_handle *h,
			   size_t want, struct cpk_sftp_name **names,
			   size_t *n, int *eof);

/* One directory listed by cpk_sftp_listdir_many(). */
struct cpk_sftp_dir {
	struct cpk_sftp_name *names;	/* as from cpk_sftp_listdir() */
	size_t n;
	int truncated;			/* more than MAX entries: none given */
	cpk_err_t err;			/* this directory's own error */
	char *msg;			/* and its message (else NULL) */
};
/* Lists the N directories PATHS into OUT[N] with their requests in flight
 * together (a round trip or so for all, not three each).  Directory i,
 * if it has more than MAX[i] entries (MAX NULL, or MAX[i] 0: no limit),
 * is not kept: OUT[i] says truncated (read it with cpk_sftp_readdir()).
 * MAX is borrowed for the call.  A directory that cannot be listed has its
 * error in OUT; the call fails only when the connection does (OUT is then
 * empty).  Free with cpk_sftp_dirs_free(). */
CPK_INTERNAL cpk_err_t cpk_sftp_listdir_many(struct cpk_sftp *s, const char *const *paths,
				size_t n, const size_t *max,
				struct cpk_sftp_dir *out);
CPK_INTERNAL void cpk_sftp_dirs_free(struct cpk_sftp_dir *dirs, size_t n);

/* ---- pipelined transfers ---------------------------------------------- */

/* Transfer flags. */
#define CPK_SFTP_PRESERVE 0x1	/* copy the mode (its 0777 bits) and
				 * atime/mtime; new files are created 0600
				 * and get the mode when complete */
#define CPK_SFTP_SPECIAL 0x2	/* with PRESERVE: setuid, setgid and
				 * sticky too (07777) */
#define CPK_SFTP_MODE	0x4	/* without PRESERVE: new files are created
				 * with each file's `mode` (else the source's
				 * 0777 bits) */
#define CPK_SFTP_NEW	0x8	/* put_many: remote files are created
				 * exclusively (OPEN with CREAT|EXCL, not
				 * TRUNC); one already there is removed (never
				 * followed) and the OPEN tried once more */

/* Uploads [OFF, OFF+LEN) of local FD to the open remote handle H at the same
 * offsets, keeping the window full of WRITEs.  FD is borrowed. */
CPK_INTERNAL cpk_err_t cpk_sftp_write_range(struct cpk_sftp *s,
			       const struct cpk_sftp_handle *h, int fd,
			       uint64_t off, uint64_t len);
/* Downloads [OFF, OFF+LEN) of remote handle H into local FD (pwrite at the
 * same offsets) with pipelined READs; short reads are re-requested.  LEN
 * UINT64_MAX: up to end of file.  *GOT (may be NULL) receives the bytes
 * copied.  A file that ends before OFF+LEN is an error (CPK_ERR_IO). */
CPK_INTERNAL cpk_err_t cpk_sftp_read_range(struct cpk_sftp *s,
			      const struct cpk_sftp_handle *h, int fd,
			      uint64_t off, uint64_t len, uint64_t *got);
/* The same into a range of FD that reads as zeros already (a new file, or
 * a punched hole): aligned blocks of zeros are not written (sparse.h), so
 * holes stay holes.  The caller sets the file's size. */
CPK_INTERNAL cpk_err_t cpk_sftp_read_range_sparse(struct cpk_sftp *s,
			      const struct cpk_sftp_handle *h, int fd,
			      uint64_t off, uint64_t len, uint64_t *got);

/* Copies local file LOCAL to remote path REMOTE (created or truncated; mode
 * from LOCAL, the server's umask applies unless CPK_SFTP_PRESERVE). */
CPK_INTERNAL cpk_err_t cpk_sftp_put(struct cpk_sftp *s, const char *local,
		       const char *remote, unsigned flags);
/* Copies remote file REMOTE to local path LOCAL (created or truncated). */
CPK_INTERNAL cpk_err_t cpk_sftp_get(struct cpk_sftp *s, const char *remote,
		       const char *local, unsigned flags);

/* One file of a cpk_sftp_put_many() / cpk_sftp_get_many() batch. */
struct cpk_sftp_file {
	const char *local;	/* borrowed */
	const char *remote;	/* borrowed */
	/* get_many only: what the caller knows of the remote file (e.g. from
	 * cpk_sftp_listdir()).  Without CPK_SFTP_ATTR_SIZE the file is read
	 * up to end of file; CPK_SFTP_PRESERVE uses perm and times. */
	struct cpk_sftp_attr attr;
	uint32_t mode;		/* with CPK_SFTP_MODE: see there */
	/* get_many: if set, makes the local file instead of open(LOCAL,
	 * O_CREAT|O_TRUNC), once the remote one is open: *FD a new fd open
	 * for writing, or an error (cpk_errmsg() says why). */
	cpk_err_t (*create)(void *arg, const char *local, uint32_t mode,
			    int *fd);
	void *create_arg;
	cpk_err_t err;		/* out: this file's result */
	char *msg;		/* out: why it failed, naming it (a new string
				 * for the caller to free(); NULL if it did
				 * not fail or memory ran out) */
};

/* Copies N files with their OPEN, WRITE/READ, FSETSTAT and CLOSE requests
 * of many files in flight at once.  Remote (put) or local (get) parent
 * directories must exist.  Every file is attempted; FILES[i].err tells each
 * result; the return value is the first failure, and cpk_errmsg() names it
 * and counts the failures. */
CPK_INTERNAL cpk_err_t cpk_sftp_put_many(struct cpk_sftp *s, struct cpk_sftp_file *files,
			    size_t n, unsigned flags);
CPK_INTERNAL cpk_err_t cpk_sftp_get_many(struct cpk_sftp *s, struct cpk_sftp_file *files,
			    size_t n, unsigned flags);
/* Frees the messages (msg) of FILES[0..N) and sets them to NULL. */
CPK_INTERNAL void cpk_sftp_files_release(struct cpk_sftp_file *files, size_t n);

/* ---- request API (asynchronous) --------------------------------------- */

/* A reply, given to the request's callback.  Pointers are borrowed and valid
 * only during the callback. */
struct cpk_sftp_reply {
	int op;			/* the request: CPK_SFTP_OP_* */
	cpk_err_t err;		/* CPK_OK, or the mapped status / fatal error */
	uint32_t status;	/* SSH_FX_* code of a STATUS reply, else 0 */
	const char *msg;	/* the server's (or our fatal) message, or "" */
	int eof;		/* READ / READDIR: end of file / directory */
	uint64_t offset;	/* READ / WRITE: the request's offset */
	uint32_t want;		/* READ / WRITE: the request's length */
	const struct cpk_sftp_handle *handle;	/* OPEN, OPENDIR */
	const unsigned char *data;	/* READ: LEN bytes (may be < WANT);
					 * EXTENDED: the reply's payload */
	size_t len;
	const struct cpk_sftp_attr *attr;	/* STAT, LSTAT, FSTAT */
	const struct cpk_sftp_name *names;	/* READDIR, REALPATH, READLINK */
	size_t count;
};

/* Request kinds (the SSH_FXP_* numbers). */
enum {
	CPK_SFTP_OP_OPEN = 3, CPK_SFTP_OP_CLOSE, CPK_SFTP_OP_READ,
	CPK_SFTP_OP_WRITE, CPK_SFTP_OP_LSTAT, CPK_SFTP_OP_FSTAT,
	CPK_SFTP_OP_SETSTAT, CPK_SFTP_OP_FSETSTAT, CPK_SFTP_OP_OPENDIR,
	CPK_SFTP_OP_READDIR, CPK_SFTP_OP_REMOVE, CPK_SFTP_OP_MKDIR,
	CPK_SFTP_OP_RMDIR, CPK_SFTP_OP_REALPATH, CPK_SFTP_OP_STAT,
	CPK_SFTP_OP_RENAME, CPK_SFTP_OP_READLINK, CPK_SFTP_OP_SYMLINK,
	CPK_SFTP_OP_EXTENDED = 200
};

/*
 * Called once per request with its reply, from inside cpk_sftp_pump(),
 * cpk_sftp_drain(), a cpk_sftp_req_*() call that waits, or a blocking call.
 * It may queue new requests (the finished request's slot is already free, so
 * at least one can be queued); it must not call blocking calls, pump, drain
 * or free (they return CPK_ERR_INVALID).  CB may be NULL (reply ignored).
 */
typedef void cpk_sftp_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			 void *arg);

/*
 * Each cpk_sftp_req_*() queues one request and returns without waiting for
 * the server.  Bytes are sent by the next pump.  If all `window` slots are
 * in flight, or more than `max_unsent` bytes wait, the call first pumps
 * until a slot frees (running other callbacks); inside a callback it does not
 * wait and fails with CPK_ERR_INVALID when no slot is free.  Paths, handles
 * and data are copied: the caller may reuse them at once.  On error no
 * request was queued and CB will not be called.
 */
CPK_INTERNAL cpk_err_t cpk_sftp_req_open(struct cpk_sftp *s, const char *path,
			    unsigned flags, const struct cpk_sftp_attr *attr,
			    cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_close(struct cpk_sftp *s,
			     const struct cpk_sftp_handle *h,
			     cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_read(struct cpk_sftp *s,
			    const struct cpk_sftp_handle *h, uint64_t off,
			    uint32_t len, cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_write(struct cpk_sftp *s,
			     const struct cpk_sftp_handle *h, uint64_t off,
			     const void *data, uint32_t len,
			     cpk_sftp_cb *cb, void *arg);
/* Like cpk_sftp_req_write(), the LEN bytes read from FD at FD_OFF straight
 * into the send buffer (no intermediate copy).  A short read of FD is an
 * error (CPK_ERR_IO, "changed size"). */
CPK_INTERNAL cpk_err_t cpk_sftp_req_write_fd(struct cpk_sftp *s,
				const struct cpk_sftp_handle *h, uint64_t off,
				int fd, uint64_t fd_off, uint32_t len,
				cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_stat(struct cpk_sftp *s, const char *path,
			    cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_lstat(struct cpk_sftp *s, const char *path,
			     cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_fstat(struct cpk_sftp *s,
			     const struct cpk_sftp_handle *h,
			     cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_setstat(struct cpk_sftp *s, const char *path,
			       const struct cpk_sftp_attr *attr,
			       cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_fsetstat(struct cpk_sftp *s,
				const struct cpk_sftp_handle *h,
				const struct cpk_sftp_attr *attr,
				cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_mkdir(struct cpk_sftp *s, const char *path,
			     const struct cpk_sftp_attr *attr,
			     cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_rmdir(struct cpk_sftp *s, const char *path,
			     cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_remove(struct cpk_sftp *s, const char *path,
			      cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_rename(struct cpk_sftp *s, const char *from,
			      const char *to, unsigned flags,
			      cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_symlink(struct cpk_sftp *s, const char *target,
			       const char *linkpath, cpk_sftp_cb *cb,
			       void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_readlink(struct cpk_sftp *s, const char *path,
				cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_realpath(struct cpk_sftp *s, const char *path,
				cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t cpk_sftp_req_opendir(struct cpk_sftp *s, const char *path,
			       cpk_sftp_cb *cb, void *arg);
/* One batch of entries per reply (names/count, "." and ".." included);
 * r->eof at the end of the directory. */
CPK_INTERNAL cpk_err_t cpk_sftp_req_readdir(struct cpk_sftp *s,
			       const struct cpk_sftp_handle *h,
			       cpk_sftp_cb *cb, void *arg);
/* Bytes free for unprivileged users (*AVAIL) and in all (*TOTAL) on the
 * file system holding PATH (statvfs@openssh.com; CPK_ERR_INVALID if the
 * server lacks it).  Either pointer may be NULL. */
CPK_INTERNAL cpk_err_t cpk_sftp_statvfs(struct cpk_sftp *s, const char *path,
			   uint64_t *avail, uint64_t *total);
/* An EXTENDED request NAME with a raw, already encoded payload. */
CPK_INTERNAL cpk_err_t cpk_sftp_req_extended(struct cpk_sftp *s, const char *name,
				const void *payload, size_t len,
				cpk_sftp_cb *cb, void *arg);

/*
 * Sends what the SSH channel window allows, then delivers every reply that
 * has arrived.  If none did, waits up to TIMEOUT_MS (-1: until one does;
 * 0: not at all) for one.  Returns CPK_OK also when the time ran out; an
 * error only when the connection is dead (no traffic for io_timeout_ms
 * while replies are awaited, channel closed, protocol violation).
 */
CPK_INTERNAL cpk_err_t cpk_sftp_pump(struct cpk_sftp *s, int timeout_ms);
/* Pumps until no request is in flight. */
CPK_INTERNAL cpk_err_t cpk_sftp_drain(struct cpk_sftp *s);
/* Requests in flight, and free slots in the window. */
CPK_INTERNAL unsigned cpk_sftp_inflight(const struct cpk_sftp *s);
CPK_INTERNAL unsigned cpk_sftp_slots(const struct cpk_sftp *s);

/*
 * Where a channel's time went (issue 16's instrument), counted under the
 * session's lock as the pump runs: bytes written to and read from the
 * channel; time waiting with data to send but no SSH window left (the
 * server's channel window is the limit), and time waiting otherwise (for
 * replies: the request window, the round trip or the server is the
 * limit); time waiting for the session's lock while another channel of
 * it sends or receives; requests in flight, sampled at each wait.
 */
struct cpk_sftp_meter {
	uint64_t bytes_tx, bytes_rx;
	uint64_t window_wait_us, reply_wait_us;
	uint64_t lock_wait_us;	/* for the session's lock (other channels) */
	uint64_t inflight_sum, waits;
	unsigned inflight_max;
	int64_t first_us, last_us;	/* CLOCK_MONOTONIC µs when it first and
					 * last moved SFTP bytes (0: never) */
};
/* Adds S's meter into *M and zeroes S's (so each count is taken once). */
CPK_INTERNAL void cpk_sftp_meter_take(struct cpk_sftp *s,
				      struct cpk_sftp_meter *m);

/* For callbacks: if R failed, records "WHAT: <error> (server: <msg>)" for
 * cpk_errmsg() (WHAT formatted like printf) and returns r->err; else 0. */
CPK_INTERNAL cpk_err_t cpk_sftp_reply_error(struct cpk_sftp *s,
			       const struct cpk_sftp_reply *r,
			       const char *what, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
