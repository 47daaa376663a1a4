/*
 * Private to the transfer engine (engine.c and engine_*.c; the design is in
 * engine.c and docs/internals/xfer.md): the handle, its workers and their
 * connections, and the functions the files share.
 */
#ifndef CPK_ENGINE_PRIV_H
#define CPK_ENGINE_PRIV_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "conn.h"
#include "xfer_priv.h"

#define MiB (1024ULL * 1024)
#define UNSENT (256 * 1024)	/* max_unsent of each connection */
/* Requests in flight on each channel from a round trip of WINDOW_FAR_MS on
 * (else 64): a small file is 2 round trips (OPEN, then WRITE or READ and
 * CLOSE) with half a window of files at most in flight.  Measured at 100
 * ms, the tree of 20,000 x 4 KiB files: 256: put 4.0, get 5.1 s; 512:
 * 3.5, 4.5 s (get RSS 52-57 MiB); 1024: 3.4, 4.3 s (get 61 MiB). */
#define WINDOW_FAR 512
#define WINDOW_FAR_MS 5.0
#define MAX_CONNS 64
#define MAX_STREAMS XPLAN_MAX_STREAMS

enum { RUN_OK, RUN_FAILED, RUN_DEAD };

/* One SSH connection, shared by the channels of a group of workers. */
struct xsess {
	ssh_session ss;
	struct cpk_sftp_mux *mux;
	unsigned refs;		/* channels open on it (mu) */
	int dead;		/* a channel of it failed: nobody joins (mu) */
	int group;		/* index in x->g, or -1 */
};

/* Workers idx / chans share a connection. */
struct group {
	struct xsess *cur;	/* its live connection, if any (mu) */
	int connecting;		/* one of its workers is connecting (mu) */
	/* opened ahead of its workers (xeng_preconnect()): the thread, and
	 * the reference it holds until xeng_preconnect_end() */
	struct cpk_xfer *x;
	pthread_t pre_th;
	int pre_started;
	struct xsess *pre;
};

struct worker {
	struct cpk_xfer *x;
	pthread_t th;
	int started;
	unsigned idx;
	struct xsess *xs;
	struct cpk_sftp *s;
	uint64_t cur;		/* bytes of the current piece moved (mu) */
	struct cpk_sftp_meter meter;	/* of its channels so far */
	uint64_t cpu_us;	/* CPU time of its threads */
	uint64_t setup_us;	/* connecting and opening its channel */
	unsigned connect_fails;
	int had_conn;		/* a connection of this worker dropped */
};

struct cpk_xfer {
	struct cpk_xfer_opts o;
	char **ids;		/* copies of o.conn.identities */
	int ran;
	int dir;
	struct xplan p;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* the queue (mu) */
	size_t next;
	size_t *retry, nretry, capretry;
	unsigned busy, running;
	/* the server as the first channel found it: later channels take
	 * its limits instead of asking (cpk_sftp_opts.known) */
	struct cpk_sftp_info known;
	int have_known;
	int ready;		/* directories and temporary files are there */
	int abort;		/* preparing failed: workers stop */
	struct worker *w;	/* MAX_STREAMS of them */
	unsigned nw;
	struct group g[MAX_STREAMS];
	unsigned chans;		/* channels per connection */
	unsigned fd_share;	/* local files a channel may hold open at
				 * once: its share of RLIMIT_NOFILE */
	unsigned startups;	/* connections being set up now (mu) */
	struct {		/* connecting ahead (engine_ahead.c) */
		uint64_t bytes, files, tasks;	/* the work known so far */
		unsigned streams, max;	/* the layout's */
		unsigned parts;		/* chunks of a big file, at least */
		unsigned conns;		/* connecting or connected */
		int listing;		/* counting a download's listings */
	} ah;
	struct xjournal j;
	int have_journal;
	struct xresume res;	/* what the journal being resumed says */
	struct xrpath rp;	/* the operands, remote paths expanded */
	/* the walk, handing out segments */
	struct xwalk walk;
	size_t src_i;		/* the next operand to walk */
	int dst_dir;		/* the destination is a directory */
	size_t seg;		/* entries per segment */
	int multi;		/* more than one segment: the planning
				 * connection stays the walk's */
	int stopped;		/* gave up before the walk was done */
	/* failures of the segments done, for the summary */
	struct cpk_buf failmsg;
	size_t nshown, nmore;
	int perm;		/* one of them was a permission problem */
	struct cpk_xfer_stats st;	/* (mu) */
	char *conn_err;		/* why a worker could not connect (mu) */
	struct timespec t0;
	/* a local destination: the directory its operand resolved to, and
	 * the prefix of the paths below it (see struct xfs) */
	int droot;
	char *dprefix;
	uint32_t umask;		/* the process's, read once */
	char token[XPLAN_TOKEN_LEN + 1];	/* of the temporary names */
	atomic_int cancel;	/* cpk_xfer_cancel() was called */
	int throttle_ms;	/* CPK_TEST_THROTTLE_MS (tests only) */
	pthread_mutex_t logmu;	/* one log callback at a time */
};

/* The outcome of one pipelined request: small, as trees may need one per
 * entry; the message only on failure. */
struct req_res {
	cpk_err_t err;
	char *msg;
};

/* The recent rate, between reports. */
struct progress_state {
	double rate, last_t;
	uint64_t last_sent;
};

/* ---- shared between the files --------------------------------------- */

__attribute__((format(printf, 3, 4)))
CPK_INTERNAL void xeng_xlog(struct cpk_xfer *x, int level, const char *fmt, ...);
/* Adds W's channel's meter into W's own (before the channel closes or
 * moves); logs a summary line per connection (CPK_XFER_LOG_INFO). */
CPK_INTERNAL void xeng_meter_take(struct worker *w);
/* Starts connecting groups 1..C-1 now, beside the first connection's
 * work; their workers find the connections ready.  Best effort: a group
 * whose connection failed is connected by its workers as before. */
CPK_INTERNAL void xeng_preconnect(struct cpk_xfer *x, unsigned c);
/* The first connection, without a channel yet: group 0's, of which it
 * holds a reference until xeng_first_session_put() (worker 0's channel
 * takes another); *RTT_MS: one SSH round trip on it. */
CPK_INTERNAL cpk_err_t xeng_first_session(struct cpk_xfer *x, double *rtt_ms);
CPK_INTERNAL void xeng_first_session_put(struct cpk_xfer *x);
/* Waits for those connections and drops their references. */
CPK_INTERNAL void xeng_preconnect_end(struct cpk_xfer *x);
/* Connecting ahead of the work (engine_ahead.c), once the first connection
 * has set the layout (N streams): an upload counts its local operands and
 * connects what they need now; a download connects as its walk's listings
 * (xeng_ahead_listed(), the walk's LISTED hook) show the work, until
 * xeng_ahead_stop(). */
CPK_INTERNAL void xeng_ahead_start(struct cpk_xfer *x,
				   const char *const *srcs, size_t nsrc,
				   unsigned n);
CPK_INTERNAL void xeng_ahead_listed(void *x, const struct xlisting *l);
CPK_INTERNAL void xeng_ahead_stop(struct cpk_xfer *x);
CPK_INTERNAL void xeng_meter_log(struct cpk_xfer *x);
CPK_INTERNAL double xeng_since(const struct timespec *t0);
CPK_INTERNAL int xeng_cancelled(const struct cpk_xfer *x);
CPK_INTERNAL int xeng_sftp_cancelled(void *arg);
CPK_INTERNAL cpk_err_t xeng_conn_open(struct cpk_xfer *x, struct worker *w,
			   struct xsess **xsp, struct cpk_sftp **s);
CPK_INTERNAL void xeng_conn_close(struct cpk_xfer *x, struct xsess **xs,
		       struct cpk_sftp **s, int dead);
CPK_INTERNAL int xeng_conn_dead(struct cpk_sftp *s);
CPK_INTERNAL void xeng_journal_rec(struct cpk_xfer *x, const char *text, size_t len);
CPK_INTERNAL void xeng_file_fail(struct cpk_xfer *x, struct xent *e, const char *msg);
CPK_INTERNAL int xeng_task_done(const struct cpk_xfer *x, const struct xtask *t);
CPK_INTERNAL void xeng_dst_fs(const struct cpk_xfer *x, struct cpk_sftp *s,
		   struct xfs *f);
CPK_INTERNAL uint32_t xeng_final_mode(const struct cpk_xfer *x, const struct xstat *st);
CPK_INTERNAL int xeng_run_chunk(struct cpk_xfer *x, struct worker *w, struct xtask *t);
CPK_INTERNAL void xeng_req_res_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		       void *arg);
CPK_INTERNAL void xeng_req_res_free(struct req_res *res, size_t n);
CPK_INTERNAL const char *xeng_req_res_msg(const struct req_res *res);
CPK_INTERNAL int xeng_run_batch(struct cpk_xfer *x, struct worker *w, struct xtask *t);
CPK_INTERNAL void *xeng_worker_main(void *arg);
/* How long to wait before the (N+1)th try to connect, N >= 1, in ms: 100
 * doubling up to 3,200, plus up to half of it at random, so that
 * connections refused together do not come back together. */
CPK_INTERNAL unsigned xeng_backoff_ms(unsigned n);
CPK_INTERNAL void xeng_report(struct cpk_xfer *x, struct progress_state *ps, int final);
CPK_INTERNAL cpk_err_t xeng_prepare(struct cpk_xfer *x, struct cpk_sftp *s);
CPK_INTERNAL void xeng_remove_temps(struct cpk_xfer *x, struct cpk_sftp *s);
CPK_INTERNAL void xeng_finish_segment(struct cpk_xfer *x, struct cpk_sftp *s);
CPK_INTERNAL int xeng_note_segment(struct cpk_xfer *x);
CPK_INTERNAL void xeng_note_failure(struct cpk_xfer *x, const char *what,
				    const char *why);
CPK_INTERNAL cpk_err_t xeng_interrupted_error(struct cpk_xfer *x);
CPK_INTERNAL cpk_err_t xeng_summary_error(struct cpk_xfer *x);

#endif
