/*
 * The transfer engine: copies files and trees between this machine and one
 * SSH/SFTP host over many connections at once (like mscp), with chunking of
 * big files, batching of small ones, retries, a resume journal and optional
 * SHA-256 verification.
 *
 * Lifecycle:
 *  1. struct cpk_xfer_opts o = { .conn = { .host = "node1" } };
 *     (zero means the default everywhere; see the fields)
 *  2. cpk_xfer_new(&o, &x): copies the options (strings are duplicated, the
 *     caller may free its own at once).  Nothing is connected yet.
 *  3. cpk_xfer_run(x, dir, srcs, nsrc, dst): connects, measures the round
 *     trip, plans (walks the sources, names the destinations, splits big
 *     files into chunks and groups small files into batches), opens the
 *     other connections (one thread each), copies, renames every file into
 *     place when it is complete, sets directory modes and times, verifies
 *     (if asked) and disconnects.  Blocks until done.  The progress
 *     callback runs on the calling thread only.
 *  4. cpk_xfer_stats(x, &st) any time after run (also after a failure):
 *     what was and was not copied.
 *  5. cpk_xfer_free(x).
 * cpk_xfer_run() may be called once per handle.
 *
 * Paths: local paths as usual; remote paths as SFTP sees them (relative to
 * the login directory; "" is the login directory), expanded as scp does:
 * a leading "~" or "~/" is the login directory, "~user" that user's home
 * (asked of the server), and remote sources may hold globs ('*', '?',
 * "[...]"; a backslash escapes one), each match a source of its own; a
 * pattern that matches nothing fails the run but the other sources are
 * copied.  The journal keeps the operands as given.  As with cp/scp: if DST
 * is an existing directory each source is copied into it under its own
 * name; otherwise there must be exactly one source and DST is its new name.
 * A directory source needs `recursive`.
 *
 * Atomicity: a file is written under a temporary name in its destination
 * directory (".NAME.TOKEN.cpk-part", TOKEN 16 random hex digits per copy,
 * kept in the journal for a resume), created exclusively and privately
 * (0600), and renamed over NAME only when all its bytes, mode and times
 * are there, so a reader never sees a half file under the final name.
 *
 * A local destination is resolved once (the operand itself may be a
 * symlink, as with cp); below it no symlink is followed: directories are
 * entered with openat(O_NOFOLLOW|O_DIRECTORY), files made with
 * O_EXCL|O_NOFOLLOW, modes and times set on descriptors.  A directory of
 * the tree that is a symlink at the destination fails, with what it would
 * hold; the rest is copied.  A remote destination (SFTP has no such
 * calls) gets the exclusive temporary files only.
 *
 * Errors: cpk_xfer_run() returns CPK_OK only if everything was copied (and
 * verified).  Otherwise it returns the first error and cpk_errmsg() says
 * what was and was not copied ("copied 3 of 5 files, 1.0 of 2.0 MiB; not
 * copied: a/x (cannot open ... permission denied), ...").  Failures of
 * one file (permission, disk full) do not stop the others.  A dropped
 * connection is not a file failure: its unfinished work is retried on a
 * fresh connection, at most `retries` times per piece of work.
 *
 * Verification (opts.verify) runs after the copy: a file whose SHA-256
 * differs stays in place under its final name and is reported as not
 * copied, so the run fails.
 *
 * Threads: each connection is one libssh session and one cpk_sftp, owned by
 * one worker thread; the workers share the plan under the handle's mutex.
 * No global mutable state: separate handles may run in separate threads.
 *
 * Memory: bounded by the connections (each keeps at most the SFTP window of
 * requests and 256 KiB of unsent data) plus one segment of the plan (about
 * 200 bytes per entry, `segment` entries) and the listings of the
 * directories on the path being walked; data is never held whole in
 * memory.  A tree bigger than a segment is walked and copied a segment at
 * a time: directory modes and times are set once the walk has left them
 * and what they hold is copied; the totals of the progress grow as the
 * walk goes.
 */
#ifndef CPK_XFER_H
#define CPK_XFER_H

#include <stddef.h>
#include <stdint.h>

#include "cpk/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cpk_xfer;

/* ---- connections (how each SSH connection of a copy is made) ---------- */

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
	const char *proxy_jump;	/* "[user@]host[:port][,...]" like ssh -J:
				 * the connection goes through these jump
				 * hosts, each one's host key checked and each
				 * authenticated like the target (a direct-tcpip
				 * channel of the last hop carries it); NULL:
				 * ssh_config ProxyJump; "none": direct */
	const char *proxy_command;	/* like ssh -o ProxyCommand (%h %p %r
				 * %%); NULL: ssh_config; "none": none */
	int address_family;	/* 4 or 6: IPv4 or IPv6 only; 0: ssh_config
				 * AddressFamily, else either */
	int identities_only;	/* 1: ssh_config IdentitiesOnly yes (no
				 * ssh-agent keys, only identity files);
				 * 0: ssh_config */
	/* Asked for the passphrase of the encrypted private key file KEY
	 * (borrowed) when the server would accept that key: writes it, NUL-
	 * terminated, into BUF (SIZE bytes; the library wipes it after use)
	 * and returns 0, or returns -1 (none: the connection then fails with
	 * a message naming KEY).  May run on any thread of a copy, at the
	 * same time for several connections.  NULL: encrypted keys are only
	 * usable through ssh-agent. */
	int (*passphrase)(const char *key, char *buf, size_t size, void *arg);
	void *passphrase_arg;
};


enum cpk_xfer_dir {
	CPK_XFER_PUT = 1,	/* local sources -> remote destination */
	CPK_XFER_GET		/* remote sources -> local destination */
};

enum cpk_xfer_verify {
	CPK_VERIFY_NONE = 0,
	CPK_VERIFY_AUTO,	/* remote sha256sum over an exec channel, else
				 * read the remote data back */
	CPK_VERIFY_EXEC,	/* remote sha256sum only */
	CPK_VERIFY_READ		/* read the remote data back over SFTP */
};

/* Progress, handed to the callback (all counts since the start of this run;
 * work skipped thanks to the journal counts as done). */
struct cpk_xfer_progress {
	uint64_t bytes_done, bytes_total;
	uint64_t files_done, files_total;	/* regular files */
	double rate;		/* bytes/s moved by this run, recent average */
	double elapsed;		/* seconds since cpk_xfer_run() began */
	unsigned conns;		/* connections in use */
	int final;		/* 1 on the last call */
};

/* Called on the thread of cpk_xfer_run() about every progress_ms and once
 * at the end (final = 1).  Must not call cpk_xfer_* on the same handle. */
typedef void cpk_xfer_progress_cb(const struct cpk_xfer_progress *p,
				  void *arg);

/* Messages of a run for a log (cpk copy -v prints them; the stage plugin
 * sends them to Slurm's log): connections, pieces of work retried, files
 * not copied, verification, interruption.  Never the progress.  Levels,
 * most severe first: */
enum cpk_xfer_log_level {
	CPK_XFER_LOG_ERROR = 1,	/* a file was not copied */
	CPK_XFER_LOG_WARN,	/* retried, reconnected, interrupted */
	CPK_XFER_LOG_INFO,	/* connected (round trip, streams), verified */
	CPK_XFER_LOG_DEBUG	/* segments and pieces of work */
};
/* Called from any thread of the run, one call at a time; MSG (one line, no
 * newline) is valid during the call only.  Must not call cpk_xfer_* on the
 * same handle. */
typedef void cpk_xfer_log_cb(int level, const char *msg, void *arg);

struct cpk_xfer_opts {
	struct cpk_conn_opts conn;	/* host, port, user, keys, ...; each
					 * connection is opened with these */
	const char *subsystem;	/* SFTP subsystem ("sftp") */
	unsigned conns;		/* SSH connections (1..64; 0: the default) */
	unsigned channels;	/* SFTP channels (streams, one thread each)
				 * per connection (1..8; 0: the default).
				 * Defaults: streams = one per core (at least
				 * 2), more when the measured round trip
				 * limits one channel's window (at most 32),
				 * over at most 8 connections set up at once;
				 * 64 streams at most */
	uint64_t chunk_min;	/* files up to this size are copied whole, in
				 * batches (8 MiB; at least 64 KiB) */
	uint64_t chunk_max;	/* the largest chunk of a big file (64 MiB) */
	int recursive;		/* copy directories */
	int follow_links;	/* copy what symlinks point at, not the links */
	int no_preserve;	/* do not copy mode bits and times: new files
				 * and directories get the source's 0777
				 * bits less the umask (read once, by
				 * cpk_xfer_new()), as cp without -p */
	int preserve_special;	/* with preservation, copy setuid, setgid
				 * and sticky too (else the 0777 bits only,
				 * like sftp -p) */
	unsigned retries;	/* retries of a piece of work after its
				 * connection dropped, after the first try
				 * (0: the default, 3; CPK_XFER_RETRIES_NONE:
				 * none, one try); also the reconnect
				 * attempts of a worker */
	const char *journal;	/* resume journal file; NULL: none */
	enum cpk_xfer_verify verify;
	cpk_xfer_progress_cb *progress;	/* may be NULL */
	void *progress_arg;
	int progress_ms;	/* interval (200) */
	size_t segment;		/* the tree is walked, planned and copied this
				 * many entries at a time (16384), so memory
				 * does not grow with the tree; a resume
				 * keeps the journal's */
	cpk_xfer_log_cb *log;	/* messages of the run (may be NULL) */
	void *log_arg;
	int log_level;		/* the most detailed level passed to `log`
				 * (0: CPK_XFER_LOG_INFO) */
};

/* The outcome, from cpk_xfer_stats(). */
struct cpk_xfer_stats {
	uint64_t bytes_total, bytes_done;	/* regular file bytes */
	uint64_t bytes_sent;	/* moved by this run (not skipped) */
	uint64_t files_total, files_done, files_failed;
	uint64_t dirs, links;	/* created */
	uint64_t chunks_total;	/* pieces of work: chunks of big files plus
				 * small files */
	uint64_t chunks_sent;	/* of which this run moved */
	uint64_t chunks_skipped;	/* of which the journal said were done */
	uint64_t retries;	/* pieces of work retried after a drop */
	uint64_t reconnects;	/* connections reopened */
	uint64_t verified;	/* files whose SHA-256 matched */
	uint64_t segments;	/* segments the tree was walked and copied in */
	unsigned conns;		/* connections used */
	unsigned channels;	/* channels per connection */
	double rtt_ms;		/* measured SFTP round trip (first connection) */
	double seconds;		/* wall time of cpk_xfer_run() */
};

/* Copies O into a new handle *OUT (for cpk_xfer_free()). */
cpk_err_t cpk_xfer_new(const struct cpk_xfer_opts *o, struct cpk_xfer **out);
/* See the lifecycle above.  SRCS (NSRC >= 1) and DST are borrowed for the
 * call. */
cpk_err_t cpk_xfer_run(struct cpk_xfer *x, enum cpk_xfer_dir dir,
		       const char *const *srcs, size_t nsrc, const char *dst);
/*
 * Asks a running cpk_xfer_run() on X to stop.  Async-signal-safe (one
 * atomic store) and callable from any thread, also before the run starts
 * (the run then stops after connecting).  The workers stop between SFTP
 * requests (they do not finish the chunk or batch they are in), the run
 * removes the temporary files of the files not finished, on both sides,
 * unless a journal is kept (opts.journal: they stay, and the journal, for a
 * resume), and returns CPK_ERR_INTERRUPTED ("interrupted: copied 3 of 5
 * files planned ...").  Files already complete stay under their final
 * names, as do directories made.  X stays valid until cpk_xfer_free().
 */
void cpk_xfer_cancel(struct cpk_xfer *x);
/* Fills *ST.  Never fails. */
void cpk_xfer_stats(const struct cpk_xfer *x, struct cpk_xfer_stats *st);
/*
 * Where each stream's time went, after cpk_xfer_run(): its SFTP channel's
 * bytes; the time it waited with data to send but no SSH channel window
 * (the server's window limits it), and the time it waited otherwise (for
 * replies: the round trip, its request window or the server limit it);
 * the requests it had in flight when it waited; its thread's CPU time.
 * Summed over the channels a stream had (after reconnects).  The copy's
 * connections are these streams' CONN values (channels of one connection
 * share it).  With a log callback at CPK_XFER_LOG_INFO the run ends with
 * one line per connection saying the same.
 */
struct cpk_xfer_stream {
	unsigned conn;		/* 0-based connection it used */
	uint64_t bytes_sent, bytes_received;	/* SFTP bytes, both ways */
	double window_wait_s, reply_wait_s, cpu_s;
	double lock_wait_s;	/* waiting while another channel of its
				 * connection sent or received */
	double setup_s;		/* connecting (or sharing a connection) and
				 * opening its SFTP channel */
	double inflight_avg;	/* requests in flight, average over waits */
	unsigned inflight_max;
	double first_s, last_s;	/* since the copy started: when it first
				 * and last moved SFTP bytes (-1: never) */
};
/* Fills up to N entries of V (streams that ran, in order); returns how
 * many streams there were. */
size_t cpk_xfer_streams(const struct cpk_xfer *x, struct cpk_xfer_stream *v,
			size_t n);
/* Frees X.  Accepts NULL. */
void cpk_xfer_free(struct cpk_xfer *x);

/* ---- helpers for front ends ------------------------------------------- */

/* An operand split like scp does: "[user@]host:path" is remote when the
 * colon comes before any slash ("[v6addr]:path" too); anything else
 * (also "./a:b") is a local path. */
struct cpk_xfer_target {
	char *user;	/* NULL if not given */
	char *host;	/* NULL: a local path */
	char *path;	/* never NULL; "" for "host:" */
};
/* Parses ARG into *T (fields are new strings: cpk_xfer_target_release()). */
cpk_err_t cpk_xfer_target_parse(const char *arg, struct cpk_xfer_target *t);
void cpk_xfer_target_release(struct cpk_xfer_target *t);

/* The SHA-256 of a local file as 64 hex digits (HEX has 65 bytes). */
cpk_err_t cpk_xfer_sha256_file(const char *path, char hex[65]);

/* opts.retries meaning "no retry: one try only" (0 asks the default). */
#define CPK_XFER_RETRIES_NONE 0xffffffffu
/* The retries after the first try that opts.retries = ASKED gives. */
unsigned cpk_xfer_retries_of(unsigned asked);

#ifdef __cplusplus
}
#endif
#endif
