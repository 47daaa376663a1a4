/*
 * The transfer engine (see cpk/xfer.h): plans on the first connection, then
 * one worker thread per connection takes pieces of work (a chunk of a big
 * file, or a batch of small files) from the shared plan until none is left.
 * A piece whose connection dropped goes back to the queue and the worker
 * reconnects; a piece that fails for its own reasons (permission, disk full)
 * fails its file only.
 */
#define _GNU_SOURCE
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

#include "cpk/conn.h"
#include "xfer_priv.h"

#define MiB (1024ULL * 1024)
#define UNSENT (256 * 1024)	/* max_unsent of each connection */
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
};

struct worker {
	struct cpk_xfer *x;
	pthread_t th;
	int started;
	unsigned idx;
	struct xsess *xs;
	struct cpk_sftp *s;
	uint64_t cur;		/* bytes of the current piece moved (mu) */
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
	int ready;		/* directories and temporary files are there */
	int abort;		/* preparing failed: workers stop */
	struct worker *w;	/* MAX_STREAMS of them */
	unsigned nw;
	struct group g[MAX_STREAMS];
	unsigned chans;		/* channels per connection */
	unsigned startups;	/* connections being set up now (mu) */
	struct xjournal j;
	int have_journal;
	struct xresume res;	/* what the journal being resumed says */
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

/* Hands a message to the caller's log callback (checked before the message
 * is formatted); any thread, one call at a time. */
__attribute__((format(printf, 3, 4)))
static void xlog(struct cpk_xfer *x, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!x->o.log || level > x->o.log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&x->logmu);
	x->o.log(level, msg, x->o.log_arg);
	pthread_mutex_unlock(&x->logmu);
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- handle ----------------------------------------------------------- */

static int dup_str(const char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = cpk_strdup(src);
	return *dst ? 0 : -1;
}

/* The umask, without changing it (umask() would, for every thread): from
 * /proc; 077 if that cannot be read (the safe guess). */
static uint32_t read_umask(void)
{
	char line[128];
	unsigned m;
	FILE *f = fopen("/proc/self/status", "re");
	uint32_t r = 077;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &m) == 1) {
			r = m & 0777;
			break;
		}
	if (f)
		fclose(f);
	return r;
}

/* A test knob, not an option: CPK_TEST_THROTTLE_MS=N makes each worker
 * pause N ms (0..60000) after each finished chunk or batch, so tests can
 * interrupt a copy half way on a fast machine.  Ignored in setuid
 * programs. */
static int test_throttle(void)
{
	const char *v = secure_getenv("CPK_TEST_THROTTLE_MS");
	char *end;
	long n;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno || *end || n < 0 || n > 60000 ? 0 : (int)n;
}

cpk_err_t cpk_xfer_new(const struct cpk_xfer_opts *o, struct cpk_xfer **out)
{
	struct cpk_xfer *x;
	size_t n = 0, i;
	int bad = 0;

	*out = NULL;
	if (!o || !o->conn.host)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_xfer_new: no host");
	if (o->conns > MAX_CONNS)
		return cpk_err_set(CPK_ERR_INVALID, "at most %d connections",
				   MAX_CONNS);
	if (!(x = calloc(1, sizeof(*x))))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if (!(x->w = calloc(MAX_STREAMS, sizeof(*x->w))))
		bad = 1;
	for (i = 0; x->w && i < MAX_STREAMS; i++) {
		x->w[i].x = x;
		x->w[i].idx = (unsigned)i;
	}
	x->chans = 1;
	if (o->channels > XPLAN_MAX_CHANS)
		bad = 2;
	x->o = *o;
	x->o.conn.host = x->o.conn.user = x->o.conn.config = NULL;
	x->o.conn.ciphers = x->o.conn.known_hosts = NULL;
	x->o.conn.global_known_hosts = NULL;
	x->o.conn.identities = NULL;
	x->o.subsystem = x->o.journal = NULL;
	bad |= dup_str(&x->o.conn.host, o->conn.host);
	bad |= dup_str(&x->o.conn.user, o->conn.user);
	bad |= dup_str(&x->o.conn.config, o->conn.config);
	bad |= dup_str(&x->o.conn.ciphers, o->conn.ciphers);
	bad |= dup_str(&x->o.conn.known_hosts, o->conn.known_hosts);
	bad |= dup_str(&x->o.conn.global_known_hosts, o->conn.global_known_hosts);
	bad |= dup_str(&x->o.subsystem, o->subsystem);
	bad |= dup_str(&x->o.journal, o->journal);
	while (o->conn.identities && o->conn.identities[n])
		n++;
	if (n && !(x->ids = calloc(n + 1, sizeof(*x->ids))))
		bad = 1;
	for (i = 0; x->ids && i < n; i++)
		if (!(x->ids[i] = cpk_strdup(o->conn.identities[i])))
			bad = 1;
	x->o.conn.identities = (const char *const *)x->ids;
	if (!x->o.chunk_min)
		x->o.chunk_min = 8 * MiB;
	if (x->o.chunk_min < 64 * 1024)
		x->o.chunk_min = 64 * 1024;
	if (!x->o.chunk_max)
		x->o.chunk_max = 64 * MiB;
	if (x->o.chunk_max < x->o.chunk_min)
		x->o.chunk_max = x->o.chunk_min;
	if (!x->o.retries)
		x->o.retries = 3;
	if (x->o.progress_ms <= 0)
		x->o.progress_ms = 200;
	x->j.fd = -1;
	x->droot = -1;
	x->umask = read_umask();
	x->throttle_ms = test_throttle();
	if (!x->o.log_level)
		x->o.log_level = CPK_XFER_LOG_INFO;
	pthread_mutex_init(&x->logmu, NULL);
	pthread_mutex_init(&x->mu, NULL);
	pthread_cond_init(&x->cv, NULL);
	*out = x;
	if (bad) {
		cpk_xfer_free(x);
		*out = NULL;
		if (bad == 2)
			return cpk_err_set(CPK_ERR_INVALID, "at most %d channels "
					   "per connection", XPLAN_MAX_CHANS);
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	return CPK_OK;
}

void cpk_xfer_free(struct cpk_xfer *x)
{
	size_t i;

	if (!x)
		return;
	free((char *)x->o.conn.host);
	free((char *)x->o.conn.user);
	free((char *)x->o.conn.config);
	free((char *)x->o.conn.ciphers);
	free((char *)x->o.conn.known_hosts);
	free((char *)x->o.conn.global_known_hosts);
	free((char *)x->o.subsystem);
	free((char *)x->o.journal);
	for (i = 0; x->ids && x->ids[i]; i++)
		free(x->ids[i]);
	free(x->ids);
	xplan_release(&x->p);
	xwalk_release(&x->walk);
	xresume_release(&x->res);
	cpk_buf_release(&x->failmsg);
	free(x->retry);
	free(x->w);
	free(x->conn_err);
	if (x->droot >= 0)
		close(x->droot);
	free(x->dprefix);
	xjournal_close(&x->j, 0);
	pthread_mutex_destroy(&x->mu);
	pthread_mutex_destroy(&x->logmu);
	pthread_cond_destroy(&x->cv);
	free(x);
}

/* Async-signal-safe: one lock-free atomic store, seen by the workers
 * between requests and by the run loop at least every progress_ms. */
void cpk_xfer_cancel(struct cpk_xfer *x)
{
	if (x)
		atomic_store(&x->cancel, 1);
}

static int cancelled(const struct cpk_xfer *x)
{
	return atomic_load(&((struct cpk_xfer *)x)->cancel) != 0;
}

/* For the SFTP calls of the workers (cpk_sftp_opts.cancelled). */
static int sftp_cancelled(void *arg)
{
	return cancelled(arg);
}

void cpk_xfer_stats(const struct cpk_xfer *x, struct cpk_xfer_stats *st)
{
	pthread_mutex_lock((pthread_mutex_t *)&x->mu);
	*st = x->st;
	pthread_mutex_unlock((pthread_mutex_t *)&x->mu);
}

/* ---- connections ------------------------------------------------------ */

/* Progress inside a piece of work: data the server acknowledged (put) or
 * that was stored here (get). */
static void worker_on_data(void *arg, uint64_t n)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->x->mu);
	w->cur += n;
	pthread_mutex_unlock(&w->x->mu);
}

/* A new SSH connection (one reference), set up while fewer than
 * XPLAN_MAX_STARTUPS others are: sshd drops unauthenticated connections
 * beyond its MaxStartups. */
static cpk_err_t sess_open(struct cpk_xfer *x, struct xsess **out)
{
	struct xsess *xs;
	cpk_err_t err;

	*out = NULL;
	if (!(xs = calloc(1, sizeof(*xs))))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	xs->refs = 1;
	xs->group = -1;
	pthread_mutex_lock(&x->mu);
	while (x->startups >= XPLAN_MAX_STARTUPS)
		pthread_cond_wait(&x->cv, &x->mu);
	x->startups++;
	pthread_mutex_unlock(&x->mu);
	err = cpk_conn_open(&x->o.conn, &xs->ss);
	pthread_mutex_lock(&x->mu);
	x->startups--;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	if (!err && (err = cpk_sftp_mux_new(xs->ss, &xs->mux)) != 0)
		cpk_conn_close(xs->ss);
	if (err) {
		free(xs);
		return err;
	}
	*out = xs;
	return CPK_OK;
}

/* Drops a reference; the last one closes the connection. */
static void sess_put(struct cpk_xfer *x, struct xsess *xs)
{
	int last;

	if (!xs)
		return;
	pthread_mutex_lock(&x->mu);
	last = --xs->refs == 0;
	if (last && xs->group >= 0 && x->g[xs->group].cur == xs)
		x->g[xs->group].cur = NULL;
	pthread_mutex_unlock(&x->mu);
	if (last) {
		cpk_sftp_mux_free(xs->mux);
		cpk_conn_close(xs->ss);
		free(xs);
	}
}

/* Opens an SFTP channel for worker W: on its group's connection, which the
 * first of the group to come sets up (W NULL: on a connection of its own,
 * without progress accounting). */
static cpk_err_t conn_open(struct cpk_xfer *x, struct worker *w,
			   struct xsess **xsp, struct cpk_sftp **s)
{
	struct group *g = w ? &x->g[w->idx / x->chans] : NULL;
	struct xsess *xs = NULL;
	struct cpk_sftp_opts so;
	cpk_err_t err;

	*s = NULL;
	*xsp = NULL;
	pthread_mutex_lock(&x->mu);
	while (g && g->connecting)
		pthread_cond_wait(&x->cv, &x->mu);
	if (g && g->cur && !g->cur->dead) {
		xs = g->cur;
		xs->refs++;
	} else if (g) {
		g->connecting = 1;
	}
	pthread_mutex_unlock(&x->mu);
	if (!xs) {
		err = sess_open(x, &xs);
		pthread_mutex_lock(&x->mu);
		if (g) {
			g->connecting = 0;
			if (!err) {
				g->cur = xs;
				xs->group = (int)(g - x->g);
			}
		}
		pthread_cond_broadcast(&x->cv);
		pthread_mutex_unlock(&x->mu);
		if (err)
			return err;
	}
	memset(&so, 0, sizeof(so));
	so.subsystem = x->o.subsystem;
	/* Queued requests the channel has not taken yet: the socket buffers
	 * hold what is in flight, this only has to keep them fed. */
	so.max_unsent = UNSENT;
	so.on_data = w ? worker_on_data : NULL;
	so.on_data_arg = w;
	so.cancelled = sftp_cancelled;
	so.cancelled_arg = x;
	so.mux = xs->mux;
	if ((err = cpk_sftp_new(xs->ss, &so, s)) != 0) {
		/* full (MaxSessions) or gone: the next try connects anew */
		pthread_mutex_lock(&x->mu);
		xs->dead = 1;
		pthread_mutex_unlock(&x->mu);
		sess_put(x, xs);
		return err;
	}
	*xsp = xs;
	return CPK_OK;
}

/* Closes a channel; DEAD: its connection is not to be joined again. */
static void conn_close(struct cpk_xfer *x, struct xsess **xs,
		       struct cpk_sftp **s, int dead)
{
	cpk_sftp_free(*s);
	if (*xs && dead) {
		pthread_mutex_lock(&x->mu);
		(*xs)->dead = 1;
		pthread_mutex_unlock(&x->mu);
	}
	sess_put(x, *xs);
	*s = NULL;
	*xs = NULL;
}

/* After a failed call: is the connection itself gone? */
static int conn_dead(struct cpk_sftp *s)
{
	return cpk_sftp_pump(s, 0) != CPK_OK;
}

/* The round trip of a small SFTP request, in ms: one is enough to tell a
 * long link from a short one, and each costs a round trip. */
static double measure_rtt(struct cpk_sftp *s)
{
	struct cpk_sftp_attr a;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cpk_sftp_stat(s, ".", &a) != 0)
		return 0;
	return since(&t0) * 1e3;
}

/* ---- bookkeeping (mu held) -------------------------------------------- */

static void journal_rec(struct cpk_xfer *x, const char *text, size_t len)
{
	if (x->have_journal && xjournal_append(&x->j, text, len) != 0) {
		/* a journal that cannot be written only loses resumability */
		xjournal_close(&x->j, 0);
		x->have_journal = 0;
	}
}

static void file_fail(struct cpk_xfer *x, struct xent *e, const char *msg)
{
	if (e->failed || e->done)
		return;
	e->failed = 1;
	e->err = cpk_strdup(msg);
	x->st.files_failed++;
	xlog(x, CPK_XFER_LOG_ERROR, "not copied: %s: %s", e->dst, msg);
}

static int task_done(const struct cpk_xfer *x, const struct xtask *t)
{
	const struct xent *e = &x->p.e[t->file];
	uint32_t i;

	if (t->kind == TASK_CHUNK)
		return e->done || e->failed || e->cdone[t->chunk];
	for (i = 0; i < t->chunk; i++)
		if (!e[i].done && !e[i].failed)
			return 0;
	return 1;
}

/* ---- pieces of work ---------------------------------------------------- */

/* The destination side: the remote one over S, or the local one below its
 * root (then xfs_release() it after use). */
static void dst_fs(const struct cpk_xfer *x, struct cpk_sftp *s,
		   struct xfs *f)
{
	memset(f, 0, sizeof(*f));
	if (x->dir == CPK_XFER_PUT) {
		f->s = s;
		return;
	}
	f->at = 1;
	f->root = x->droot;
	f->prefix = x->dprefix;
}

/* The mode a file or directory ends with: the source's permission bits
 * (setuid, setgid and sticky only if asked), or without preservation
 * what cp without -p gives (the source's 0777 bits less the umask). */
static uint32_t final_mode(const struct cpk_xfer *x, const struct xstat *st)
{
	if (x->o.no_preserve)
		return st->mode & 0777 & ~x->umask;
	return st->mode & (x->o.preserve_special ? 07777 : 0777);
}

/* Sets times (and mode) of the complete temporary file and renames it into
 * place; records the file.  Called by the worker that finished the last
 * chunk. */
static int finish_big(struct cpk_xfer *x, struct worker *w, struct xent *e)
{
	struct xfs dst;
	char rec[48];
	cpk_err_t err;
	int len;

	dst_fs(x, w->s, &dst);
	err = xfs_setattr(&dst, e->tmp, (int)final_mode(x, &e->st),
			  x->o.no_preserve ? NULL : &e->st);
	if (!err)
		err = xfs_rename(&dst, e->tmp, e->dst);
	xfs_release(&dst);
	if (err && dst.s && conn_dead(dst.s))
		return RUN_DEAD;
	pthread_mutex_lock(&x->mu);
	if (err) {
		file_fail(x, e, cpk_errmsg());
	} else {
		e->done = 1;
		x->st.files_done++;
		len = snprintf(rec, sizeof(rec), "F %" PRIu64 "\n",
			       x->p.base + (uint64_t)(e - x->p.e));
		journal_rec(x, rec, (size_t)len);
	}
	pthread_mutex_unlock(&x->mu);
	return err ? RUN_FAILED : RUN_OK;
}

/* After an upload of E failed on a live connection: whether the remote file
 * system holding it lacks the room (sftp-server reports a full disk as a
 * bare "Failure"); if so HINT says so. */
static int full_hint(struct cpk_sftp *s, const struct xent *e, char *hint,
		     size_t n)
{
	const char *slash = strrchr(e->dst, '/');
	char dir[900];
	uint64_t avail;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == e->dst)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - e->dst),
			 e->dst);
	if (cpk_sftp_statvfs(s, dir, &avail, NULL) != 0 || avail >= e->st.size)
		return 0;
	snprintf(hint, n, "; the remote file system of %s is full (%" PRIu64
		 " KiB free, %" PRIu64 " KiB needed)", dir, avail / 1024,
		 (e->st.size + 1023) / 1024);
	return 1;
}

static int run_chunk(struct cpk_xfer *x, struct worker *w, struct xtask *t)
{
	struct xent *e = &x->p.e[t->file];
	uint64_t off = (uint64_t)t->chunk * e->chunk, len;
	struct cpk_sftp_handle h;
	cpk_err_t err;
	int fd = -1, opened = 0, last, put = x->dir == CPK_XFER_PUT;
	char rec[64];

	len = e->st.size - off < e->chunk ? e->st.size - off : e->chunk;
	if (put) {
		fd = open(e->src, O_RDONLY | O_CLOEXEC);
		err = fd < 0 ? cpk_err_sys("cannot open %s", e->src) :
		      cpk_sftp_open(w->s, e->tmp, CPK_SFTP_WRITE, 0600, &h);
	} else {
		struct xfs df;

		/* the temporary file this copy made, not what took its place */
		dst_fs(x, NULL, &df);
		err = xfs_open_tmp(&df, e->tmp, 0, 0, &fd);
		xfs_release(&df);
		if (!err)
			err = cpk_sftp_open(w->s, e->src, CPK_SFTP_READ, 0, &h);
	}
	opened = !err;
	/* one range: the request pipeline never drains inside a chunk */
	if (!err)
		err = put ? cpk_sftp_write_range(w->s, &h, fd, off, len) :
			    cpk_sftp_read_range(w->s, &h, fd, off, len, NULL);
	if (!err && !put && x->have_journal && fdatasync(fd) < 0)
		err = cpk_err_sys("cannot sync %s", e->tmp);
	if (opened) {
		cpk_err_t e2 = cpk_sftp_close(w->s, &h);

		if (!err)
			err = e2;
	}
	if (fd >= 0)
		close(fd);
	if (err && conn_dead(w->s)) {
		pthread_mutex_lock(&x->mu);
		w->cur = 0;
		pthread_mutex_unlock(&x->mu);
		return RUN_DEAD;
	}
	if (err) {
		char m[2600], hint[1100];
		int n = snprintf(m, sizeof(m), "cannot %s %s%s to %s%s (chunk "
				 "%u): %s", put ? "upload" : "download",
				 put ? "" : "remote ", e->src,
				 put ? "remote " : "", e->dst, t->chunk,
				 cpk_errmsg());

		if (put && full_hint(w->s, e, hint, sizeof(hint)) && n > 0 &&
		    (size_t)n < sizeof(m))
			snprintf(m + n, sizeof(m) - (size_t)n, "%s", hint);
		pthread_mutex_lock(&x->mu);
		w->cur = 0;
		file_fail(x, e, m);
		pthread_mutex_unlock(&x->mu);
		return RUN_FAILED;
	}
	pthread_mutex_lock(&x->mu);
	w->cur = 0;
	last = 0;
	if (!e->cdone[t->chunk] && !e->failed) {
		e->cdone[t->chunk] = 1;
		last = --e->left == 0;
		x->st.chunks_sent++;
		x->st.bytes_done += len;
		x->st.bytes_sent += len;
		snprintf(rec, sizeof(rec), "C %" PRIu64 " %u\n",
			 x->p.base + t->file, (unsigned)t->chunk);
		journal_rec(x, rec, strlen(rec));
	}
	pthread_mutex_unlock(&x->mu);
	return last ? finish_big(x, w, e) : RUN_OK;
}

/* The outcome of one pipelined request: small, as trees may need one per
 * entry; the message only on failure. */
struct req_res {
	cpk_err_t err;
	char *msg;
};

__attribute__((format(printf, 3, 4)))
static void req_res_set(struct req_res *res, cpk_err_t err, const char *fmt,
			...)
{
	char m[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	res->err = err;
	free(res->msg);
	res->msg = cpk_strdup(m);
}

static void req_res_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		       void *arg)
{
	(void)s;
	if (r->err)
		req_res_set(arg, r->err, "%s", r->msg ? r->msg : "");
	else
		((struct req_res *)arg)->err = CPK_OK;
}

static void req_res_free(struct req_res *res, size_t n)
{
	size_t i;

	for (i = 0; res && i < n; i++)
		free(res[i].msg);
	free(res);
}

static const char *req_res_msg(const struct req_res *res)
{
	return res->msg ? res->msg : "no message";
}

/* Makes the local temporary file of a small file (get_many's create):
 * new, exclusively, below the destination's root. */
static cpk_err_t batch_create(void *arg, const char *local, uint32_t mode,
			      int *fd)
{
	return xfs_open_tmp(arg, local, 1, mode, fd);
}

static int run_batch(struct cpk_xfer *x, struct worker *w, struct xtask *t)
{
	struct cpk_sftp_file *f = NULL;
	struct req_res *rr = NULL;
	char **tmp = NULL;	/* the files' temporary names (not kept in the
				 * plan: small files can be millions) */
	uint32_t *idx = NULL, i, k = 0;
	struct cpk_buf rec = CPK_BUF_INIT;
	unsigned flags = x->o.no_preserve ? CPK_SFTP_MODE : CPK_SFTP_PRESERVE |
			 (x->o.preserve_special ? CPK_SFTP_SPECIAL : 0);
	int put = x->dir == CPK_XFER_PUT, ret = RUN_OK;
	struct xfs df;	/* a local destination */
	cpk_err_t err;

	dst_fs(x, NULL, &df);
	if (put)
		flags |= CPK_SFTP_NEW;	/* temporaries made exclusively */
	f = calloc(t->chunk, sizeof(*f));
	rr = calloc(t->chunk, sizeof(*rr));
	idx = calloc(t->chunk, sizeof(*idx));
	tmp = calloc(t->chunk, sizeof(*tmp));
	if (!f || !rr || !idx || !tmp) {
		ret = RUN_FAILED;
		cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto fail_all;
	}
	pthread_mutex_lock(&x->mu);
	for (i = 0; i < t->chunk; i++) {
		struct xent *e = &x->p.e[t->file + i];

		if (e->done || e->failed)
			continue;
		if (!(tmp[k] = xplan_tmp_name(e->dst, x->p.token))) {
			file_fail(x, e, "out of memory");
			ret = RUN_FAILED;
			continue;
		}
		idx[k] = t->file + i;
		f[k].local = put ? e->src : tmp[k];
		f[k].remote = put ? tmp[k] : e->src;
		f[k].attr.flags = CPK_SFTP_ATTR_SIZE | CPK_SFTP_ATTR_PERM |
				  CPK_SFTP_ATTR_TIMES;
		f[k].attr.size = e->st.size;
		f[k].attr.perm = S_IFREG | e->st.mode;
		f[k].attr.atime = e->st.atime;
		f[k].attr.mtime = e->st.mtime;
		f[k].mode = final_mode(x, &e->st);
		if (!put) {
			f[k].create = batch_create;
			f[k].create_arg = &df;
		}
		k++;
	}
	pthread_mutex_unlock(&x->mu);
	err = put ? cpk_sftp_put_many(w->s, f, k, flags) :
		    cpk_sftp_get_many(w->s, f, k, flags);
	if (err) {
		if (conn_dead(w->s)) {
			ret = RUN_DEAD;
			goto out;
		}
		/* a full disk says so once, on the first failed upload */
		for (i = 0; put && i < k; i++) {
			char hint[1100];

			if (!f[i].err)
				continue;
			if (f[i].msg && full_hint(w->s, &x->p.e[idx[i]], hint,
						  sizeof(hint))) {
				size_t a = strlen(f[i].msg), b = strlen(hint);
				char *m = realloc(f[i].msg, a + b + 1);

				if (m) {
					memcpy(m + a, hint, b + 1);
					f[i].msg = m;
				}
			}
			break;
		}
	}
	/* into place: pipelined renames on the server, or local ones */
	for (i = 0; i < k; i++) {
		struct xent *e = &x->p.e[idx[i]];

		if (f[i].err)
			continue;
		if (put) {
			if (cpk_sftp_req_rename(w->s, tmp[i], e->dst,
						CPK_SFTP_RENAME_OVERWRITE,
						req_res_cb, &rr[i]) != 0) {
				/* never sent */
				req_res_set(&rr[i], CPK_ERR_IO, "%s",
					    cpk_errmsg());
			}
		} else if (xfs_rename(&df, tmp[i], e->dst) != 0) {
			req_res_set(&rr[i], CPK_ERR_IO, "%s", cpk_errmsg());
		}
	}
	if (put && cpk_sftp_drain(w->s) != 0) {
		ret = RUN_DEAD;
		goto out;
	}
	pthread_mutex_lock(&x->mu);
	for (i = 0; i < k; i++) {
		struct xent *e = &x->p.e[idx[i]];

		if (!f[i].err && !rr[i].err) {
			e->done = 1;
			x->st.files_done++;
			x->st.chunks_sent++;
			x->st.bytes_done += e->st.size;
			x->st.bytes_sent += e->st.size;
			cpk_buf_addf(&rec, "F %" PRIu64 "\n",
				     x->p.base + idx[i]);
		} else if (f[i].err) {
			file_fail(x, e, f[i].msg ? f[i].msg :
				  cpk_strerror(f[i].err));
			ret = RUN_FAILED;
		} else {
			char m[512];

			if (put)
				snprintf(m, sizeof(m), "cannot rename %s to %s: "
					 "%s (server: %s)", tmp[i], e->dst,
					 cpk_strerror(rr[i].err),
					 req_res_msg(&rr[i]));
			else
				snprintf(m, sizeof(m), "%s", req_res_msg(&rr[i]));
			file_fail(x, e, m);
			ret = RUN_FAILED;
		}
	}
	if (rec.len)
		journal_rec(x, rec.buf, rec.len);
	w->cur = 0;
	pthread_mutex_unlock(&x->mu);
	goto out;
fail_all:
	pthread_mutex_lock(&x->mu);
	for (i = 0; i < t->chunk; i++)
		file_fail(x, &x->p.e[t->file + i], cpk_errmsg());
	pthread_mutex_unlock(&x->mu);
out:
	pthread_mutex_lock(&x->mu);
	w->cur = 0;
	pthread_mutex_unlock(&x->mu);
	cpk_buf_release(&rec);
	for (i = 0; f && i < k; i++)
		free(f[i].msg);
	free(f);
	req_res_free(rr, k);
	for (i = 0; tmp && i < k; i++)
		free(tmp[i]);
	free(tmp);
	free(idx);
	xfs_release(&df);
	return ret;
}

/* ---- the queue and the workers ---------------------------------------- */

/* The next piece of work for a worker, or -1 when none is left.  Waits while
 * others are busy (their work may come back for a retry). */
static long take_task(struct cpk_xfer *x)
{
	long r = -1;

	pthread_mutex_lock(&x->mu);
	while (!x->ready && !x->abort)
		pthread_cond_wait(&x->cv, &x->mu);
	for (;;) {
		if (x->abort || cancelled(x))
			break;
		while (x->nretry) {
			r = (long)x->retry[--x->nretry];
			if (!task_done(x, &x->p.t[r]))
				goto got;
		}
		while (x->next < x->p.nt && task_done(x, &x->p.t[x->next]))
			x->next++;
		if (x->next < x->p.nt) {
			r = (long)x->next++;
			goto got;
		}
		if (!x->busy)
			break;
		pthread_cond_wait(&x->cv, &x->mu);
	}
	pthread_mutex_unlock(&x->mu);
	return -1;
got:
	x->busy++;
	pthread_mutex_unlock(&x->mu);
	return r;
}

/* Fails every file of task T with MSG (mu held). */
static void task_fail(struct cpk_xfer *x, const struct xtask *t,
		      const char *msg)
{
	uint32_t i, n = t->kind == TASK_CHUNK ? 1 : t->chunk;

	for (i = 0; i < n; i++) {
		file_fail(x, &x->p.e[t->file + i], msg);
		x->p.e[t->file + i].resumable = 1;	/* not the file's fault */
	}
}

/* Gives task TI back after its connection dropped, or fails it once it
 * has been tried too often.  Releases the busy mark. */
static void task_requeue(struct cpk_xfer *x, long ti, const char *why)
{
	struct xtask *t = &x->p.t[ti];

	pthread_mutex_lock(&x->mu);
	if (++t->tries > x->o.retries) {
		char m[600];

		snprintf(m, sizeof(m), "gave up after %u connection failures: "
			 "%s", t->tries, why);
		task_fail(x, t, m);
	} else if (x->nretry < x->capretry ||
		   (x->retry = cpk_reallocarray(x->retry, x->capretry =
			x->capretry ? x->capretry * 2 : 16,
			sizeof(*x->retry))) != NULL) {
		x->retry[x->nretry++] = (size_t)ti;
		x->st.retries++;
		xlog(x, CPK_XFER_LOG_WARN, "%s: %s; it goes back in the queue "
		     "(try %u of %u)", x->p.e[t->file].dst, why, t->tries + 1,
		     x->o.retries + 1);
	} else {
		task_fail(x, t, "out of memory");
	}
	x->busy--;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct cpk_xfer *x = w->x;
	long ti;

	/* Connect while the first connection prepares; a failure here is
	 * retried below, with a piece of work to give back. */
	if (!w->s)
		(void)conn_open(x, w, &w->xs, &w->s);
	while ((ti = take_task(x)) >= 0) {
		struct xtask *t = &x->p.t[ti];
		int r;

		if (!w->s) {
			if (conn_open(x, w, &w->xs, &w->s) != 0) {
				char *m = cpk_strdup(cpk_errmsg());

				pthread_mutex_lock(&x->mu);
				if (m && !x->conn_err)
					x->conn_err = cpk_strdup(m);
				pthread_mutex_unlock(&x->mu);
				task_requeue(x, ti, m ? m : "cannot connect");
				free(m);
				if (++w->connect_fails > x->o.retries)
					break;
				continue;
			}
			w->connect_fails = 0;
			pthread_mutex_lock(&x->mu);
			x->st.reconnects += w->had_conn;
			pthread_mutex_unlock(&x->mu);
			if (w->had_conn)
				xlog(x, CPK_XFER_LOG_WARN, "stream %u "
				     "connected again", w->idx);
		}
		r = t->kind == TASK_CHUNK ? run_chunk(x, w, t) :
					    run_batch(x, w, t);
		if (r == RUN_DEAD) {
			char *m = cpk_strdup(cpk_errmsg());

			conn_close(x, &w->xs, &w->s, 1);
			w->had_conn = 1;
			task_requeue(x, ti, m ? m : "connection lost");
			free(m);
			continue;
		}
		pthread_mutex_lock(&x->mu);
		x->busy--;
		pthread_cond_broadcast(&x->cv);
		pthread_mutex_unlock(&x->mu);
		if (x->throttle_ms > 0)
			nanosleep(&(struct timespec){ x->throttle_ms / 1000,
				  (x->throttle_ms % 1000) * 1000000L }, NULL);
	}
	pthread_mutex_lock(&x->mu);
	x->running--;
	if (!x->running && !x->abort) {
		/* the last worker: whatever is left cannot be done */
		const char *why = cancelled(x) ? "interrupted" : x->conn_err ?
				  x->conn_err : "no connection";

		while (x->nretry)
			task_fail(x, &x->p.t[x->retry[--x->nretry]], why);
		for (; x->next < x->p.nt; x->next++)
			if (!task_done(x, &x->p.t[x->next]))
				task_fail(x, &x->p.t[x->next], why);
	}
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

/* ---- progress ----------------------------------------------------------- */

/* The recent rate, between reports. */
struct progress_state {
	double rate, last_t;
	uint64_t last_sent;
};

static void report(struct cpk_xfer *x, struct progress_state *ps, int final)
{
	struct cpk_xfer_progress pr;
	uint64_t inflight = 0;
	unsigned i;
	double now = since(&x->t0);

	pthread_mutex_lock(&x->mu);
	for (i = 0; i < x->nw; i++)
		inflight += x->w[i].cur;
	memset(&pr, 0, sizeof(pr));
	pr.bytes_done = x->st.bytes_done + inflight;
	pr.bytes_total = x->st.bytes_total;
	pr.files_done = x->st.files_done;
	pr.files_total = x->st.files_total;
	pr.conns = x->st.conns;
	if (now > ps->last_t) {
		uint64_t sent = x->st.bytes_sent + inflight;
		double r = (double)(sent - (sent > ps->last_sent ?
					    ps->last_sent : sent)) /
			   (now - ps->last_t);

		ps->rate = ps->last_t == 0 ? r : 0.7 * ps->rate + 0.3 * r;
		ps->last_sent = sent;
		ps->last_t = now;
	}
	pthread_mutex_unlock(&x->mu);
	pr.rate = final && now > 0 ? (double)x->st.bytes_sent / now : ps->rate;
	pr.elapsed = now;
	pr.final = final;
	if (x->o.progress)
		x->o.progress(&pr, x->o.progress_arg);
}

/* ---- planning and preparing the destination ----------------------------- */

/* Remote directories, all MKDIRs in flight at once (the server runs them in
 * order: parents first); *OK[i] tells which ones were made.  Those that
 * failed (already there, say) are left to xfs_mkdir(). */
static cpk_err_t mkdirs_pipelined(struct cpk_xfer *x, struct cpk_sftp *s,
				  unsigned char *ok)
{
	struct req_res *res;
	size_t i;
	cpk_err_t err = CPK_OK;

	if (!(res = calloc(x->p.n, sizeof(*res))))
		return CPK_OK;	/* one at a time, then */
	for (i = 0; i < x->p.n && !err; i++) {
		struct cpk_sftp_attr a;

		if (x->p.e[i].st.type != XT_DIR)
			continue;
		memset(&a, 0, sizeof(a));
		a.flags = CPK_SFTP_ATTR_PERM;
		a.perm = x->o.no_preserve ? final_mode(x, &x->p.e[i].st) : 0700;
		res[i].err = CPK_ERR_IO;
		err = cpk_sftp_req_mkdir(s, x->p.e[i].dst, &a, req_res_cb,
					 &res[i]);
	}
	if (!err)
		err = cpk_sftp_drain(s);
	for (i = 0; !err && i < x->p.n; i++)
		ok[i] = x->p.e[i].st.type == XT_DIR && res[i].err == CPK_OK;
	req_res_free(res, x->p.n);
	return err;
}

/* Directories and the temporary files of big files, before the workers
 * take work.  A directory that cannot be made stops the copy. */
/* Fails entry E with MSG: a file counted as failed, a directory or link
 * only marked (mu held, or no workers yet). */
static void entry_fail(struct cpk_xfer *x, struct xent *e, const char *msg)
{
	if (e->st.type == XT_FILE) {
		file_fail(x, e, msg);
		return;
	}
	e->failed = 1;
	free(e->err);
	e->err = cpk_strdup(msg);
}

/* A remote temporary file for a big file: FRESH, made exclusively (what
 * holds the name, say a stale one of a resumed copy, is removed, never
 * followed, and the OPEN tried once more); else the existing one, which
 * a resume reopens. */
static cpk_err_t remote_tmp(struct cpk_sftp *s, const char *tmp, int fresh)
{
	struct cpk_sftp_handle h;
	cpk_err_t err;

	err = cpk_sftp_open(s, tmp, CPK_SFTP_WRITE | (fresh ? CPK_SFTP_CREAT |
			    CPK_SFTP_EXCL : 0), 0600, &h);
	if (err && fresh && !conn_dead(s)) {
		(void)cpk_sftp_remove(s, tmp);
		err = cpk_sftp_open(s, tmp, CPK_SFTP_WRITE | CPK_SFTP_CREAT |
				    CPK_SFTP_EXCL, 0600, &h);
	}
	if (!err)
		err = cpk_sftp_close(s, &h);
	return err;
}

/* Directories and the temporary files of big files, before the workers
 * take work.  A directory that cannot be made stops the copy, unless the
 * local destination has a symlink there: then it and what it would hold
 * fail, and the rest goes on. */
static cpk_err_t prepare(struct cpk_xfer *x, struct cpk_sftp *s)
{
	struct xfs df;
	unsigned char *made = NULL;
	const char *bad = NULL;	/* the directory that failed, if any */
	char *badmsg = NULL;
	size_t i, bl = 0;
	cpk_err_t err = CPK_OK;

	dst_fs(x, s, &df);
	if (df.s && (made = calloc(x->p.n ? x->p.n : 1, 1)) &&
	    (err = mkdirs_pipelined(x, s, made)) != 0 && conn_dead(s))
		goto out;
	err = CPK_OK;
	for (i = 0; i < x->p.n; i++) {
		struct xent *e = &x->p.e[i];
		int fresh, fd;

		if (bad && !strncmp(e->dst, bad, bl) && e->dst[bl] == '/') {
			entry_fail(x, e, badmsg ? badmsg : "not copied");
			continue;
		}
		if (e->st.type == XT_DIR) {
			/* private while filled (the mode comes at the end);
			 * without preservation what a new directory gets */
			if ((!made || !made[i]) &&
			    (err = xfs_mkdir(&df, e->dst, x->o.no_preserve ?
					     final_mode(x, &e->st) : 0700)) != 0) {
				if (!df.at || err != XFS_ERR_LINK)
					goto out;
				err = CPK_OK;
				entry_fail(x, e, cpk_errmsg());
				free(badmsg);
				badmsg = cpk_strdup(cpk_errmsg());
				bad = e->dst;
				bl = strlen(bad);
				continue;
			}
			x->st.dirs++;
			continue;
		}
		if (e->st.type != XT_FILE || !e->chunk || e->done)
			continue;
		fresh = e->left == e->nchunks;
		/* private while it is written, the mode set when complete */
		if (df.s) {
			err = remote_tmp(s, e->tmp, fresh);
		} else {
			err = xfs_open_tmp(&df, e->tmp, fresh, 0600, &fd);
			if (!err)
				close(fd);
		}
		if (err && df.s && conn_dead(s))
			goto out;
		if (err)
			file_fail(x, e, cpk_errmsg());
		err = CPK_OK;
	}
out:
	free(made);
	free(badmsg);
	xfs_release(&df);
	return err;
}

/* Remote links (each: REMOVE of what is there, then SYMLINK) and then
 * the attributes of the directories closed in this segment (children
 * first), every request in flight at once: the server runs them in order.
 * Returns non-zero if the connection died (what is left is then done one
 * request at a time, and fails). */
static int finish_remote_pipelined(struct cpk_xfer *x, struct cpk_sftp *s)
{
	struct xplan *p = &x->p;
	struct req_res *res, *dres, dummy = { 0, NULL };
	cpk_err_t err = CPK_OK;
	size_t i;

	res = calloc(p->n ? p->n : 1, sizeof(*res));
	dres = calloc(p->nclosed ? p->nclosed : 1, sizeof(*dres));
	if (!res || !dres) {
		free(res);
		free(dres);
		return 1;
	}
	for (i = 0; !err && i < p->n; i++) {
		struct xent *e = &p->e[i];

		res[i].err = CPK_ERR_IO;
		if (e->st.type != XT_LINK)
			continue;
		err = cpk_sftp_req_remove(s, e->dst, req_res_cb, &dummy);
		if (!err)
			err = cpk_sftp_req_symlink(s, e->link, e->dst,
						   req_res_cb, &res[i]);
	}
	for (i = 0; !err && !x->o.no_preserve && i < p->nclosed; i++) {
		struct xdir *d = &p->closed[i];
		struct cpk_sftp_attr a;

		memset(&a, 0, sizeof(a));
		a.flags = CPK_SFTP_ATTR_TIMES | CPK_SFTP_ATTR_PERM;
		a.perm = final_mode(x, &d->st);
		a.atime = d->st.atime;
		a.mtime = d->st.mtime;
		dres[i].err = CPK_ERR_IO;
		err = cpk_sftp_req_setstat(s, d->dst, &a, req_res_cb, &dres[i]);
	}
	if (!err)
		err = cpk_sftp_drain(s);
	for (i = 0; !err && i < p->n; i++) {
		struct xent *e = &p->e[i];
		char m[1200];

		if (e->st.type != XT_LINK)
			continue;
		if (!res[i].err) {
			e->done = 1;
			x->st.links++;
			continue;
		}
		snprintf(m, sizeof(m), "cannot create the link %s on the remote "
			 "side: %s (server: %s)", e->dst,
			 cpk_strerror(res[i].err), req_res_msg(&res[i]));
		e->failed = 1;
		free(e->err);
		e->err = cpk_strdup(m);
	}
	for (i = 0; !err && !x->o.no_preserve && i < p->nclosed; i++) {
		struct xdir *d = &p->closed[i];
		char m[1200];

		if (!dres[i].err)
			continue;
		snprintf(m, sizeof(m), "cannot set the mode and times of %s on "
			 "the remote side: %s (server: %s)", d->dst,
			 cpk_strerror(dres[i].err), req_res_msg(&dres[i]));
		d->failed = 1;
		free(d->err);
		d->err = cpk_strdup(m);
	}
	req_res_free(res, p->n);
	req_res_free(dres, p->nclosed);
	free(dummy.msg);
	return err != CPK_OK;
}

/* Removes the temporary files of the segment's unfinished files, unless a
 * journal may resume them (S: a connection to the destination side). */
static void remove_temps(struct cpk_xfer *x, struct cpk_sftp *s)
{
	struct xfs df;
	struct xplan *p = &x->p;
	size_t i;

	dst_fs(x, s, &df);
	if (df.s == NULL && x->dir == CPK_XFER_PUT)
		return;		/* no connection left to remove them with */
	for (i = 0; i < p->n; i++) {
		const struct xent *e = &p->e[i];
		char *t;

		/* a journal keeps what a resume can use: the temporaries of
		 * files not tried yet, interrupted or cut off with their
		 * connection, not of those that failed for a reason of their
		 * own (a resume starts those afresh) */
		if (e->st.type != XT_FILE || e->done ||
		    (x->have_journal && (!e->failed || e->resumable ||
					 cancelled(x))))
			continue;
		if (e->tmp) {
			(void)xfs_remove(&df, e->tmp);
		} else if ((t = xplan_tmp_name(e->dst, p->token)) != NULL) {
			(void)xfs_remove(&df, t);
			free(t);
		}
	}
	xfs_release(&df);
}

/* Links, then the modes and times of the directories closed in this
 * segment (children first: writing into a directory changes its mtime, and
 * a parent's mode may shut its children).  Temporary files of failed files
 * are removed, unless a journal may resume them. */
static void finish_segment(struct cpk_xfer *x, struct cpk_sftp *s)
{
	struct xfs df;
	struct xplan *p = &x->p;
	size_t i;

	remove_temps(x, s);
	dst_fs(x, s, &df);
	if (df.s && !finish_remote_pipelined(x, s))
		return;
	for (i = 0; i < p->n; i++) {
		struct xent *e = &p->e[i];

		if (e->st.type != XT_LINK || e->done)
			continue;
		if (xfs_symlink(&df, e->link, e->dst) == 0) {
			e->done = 1;
			e->failed = 0;
			x->st.links++;
		} else {
			e->failed = 1;
			free(e->err);
			e->err = cpk_strdup(cpk_errmsg());
		}
	}
	for (i = 0; !x->o.no_preserve && i < p->nclosed; i++) {
		struct xdir *d = &p->closed[i];

		if (xfs_setattr(&df, d->dst, (int)final_mode(x, &d->st),
				&d->st) != 0) {
			d->failed = 1;
			free(d->err);
			d->err = cpk_strdup(cpk_errmsg());
		} else {
			d->failed = 0;
		}
	}
	xfs_release(&df);
}

static void add_mib(struct cpk_buf *b, uint64_t n)
{
	cpk_buf_addf(b, "%.1f MiB", (double)n / MiB);
}

/* Names one failure for the summary (the first few; the others counted). */
static void note_failure(struct cpk_xfer *x, const char *dst, const char *why)
{
	if (why && strstr(why, "ermission"))
		x->perm = 1;
	if (x->nshown == 5) {
		x->nmore++;
		return;
	}
	cpk_buf_addf(&x->failmsg, "%s %s (%s)", x->nshown ? "," : "", dst,
		     why ? why : "not attempted");
	x->nshown++;
}

/* After a segment: what did not make it, before its plan is let go.
 * Returns whether anything did not. */
static int note_segment(struct cpk_xfer *x)
{
	struct xplan *p = &x->p;
	size_t i;
	int failed = 0;

	for (i = 0; i < p->nbad; i++) {
		char why[128];

		/* names the listing gave that are no file names */
		snprintf(why, sizeof(why), "name refused: %s", p->bad[i].why);
		note_failure(x, p->bad[i].where, why);
		x->st.files_failed++;
		failed = 1;
	}
	for (i = 0; i < p->n; i++) {
		struct xent *e = &p->e[i];

		/* (file_fail() counted those it failed) */
		if (e->st.type == XT_FILE && !e->done && !e->failed)
			x->st.files_failed++;
		if (e->failed || (e->st.type != XT_DIR && !e->done)) {
			note_failure(x, e->dst, e->err);
			failed = 1;
		}
	}
	for (i = 0; i < p->nclosed; i++)
		if (p->closed[i].failed) {
			note_failure(x, p->closed[i].dst, p->closed[i].err);
			failed = 1;
		}
	return failed;
}

/* After cpk_xfer_cancel(): "interrupted: copied 3 of 5 files (...)". */
static cpk_err_t interrupted_error(struct cpk_xfer *x)
{
	xlog(x, CPK_XFER_LOG_WARN, "interrupted: the temporary files of "
	     "unfinished files are %s", x->have_journal ? "kept for a resume" :
	     "removed");
	return cpk_err_set(CPK_ERR_INTERRUPTED, "interrupted: copied %llu of "
			   "%llu files planned (%.1f of %.1f MiB)%s",
			   (unsigned long long)x->st.files_done,
			   (unsigned long long)x->st.files_total,
			   (double)x->st.bytes_done / MiB,
			   (double)x->st.bytes_total / MiB,
			   x->have_journal ? "; the journal keeps what is "
			   "done for a resume" : "");
}

/* "copied 3 of 5 files (...); not copied: a (why), b (why), and 4 more". */
static cpk_err_t summary_error(struct cpk_xfer *x)
{
	struct cpk_buf b = CPK_BUF_INIT;
	cpk_err_t err;

	cpk_buf_addf(&b, "copied %llu of %llu files (",
		     (unsigned long long)x->st.files_done,
		     (unsigned long long)x->st.files_total);
	add_mib(&b, x->st.bytes_done);
	cpk_buf_addstr(&b, " of ");
	add_mib(&b, x->st.bytes_total);
	cpk_buf_addstr(&b, "); not copied:");
	cpk_buf_addstr(&b, x->failmsg.len ? x->failmsg.buf : " none named");
	if (x->nmore)
		cpk_buf_addf(&b, ", and %zu more", x->nmore);
	if (x->stopped)
		cpk_buf_addf(&b, "; the copy stopped before the rest of the "
			     "sources were walked: %s", x->conn_err ?
			     x->conn_err : "no connection");
	err = cpk_err_set(x->perm ? CPK_ERR_PERM : CPK_ERR_IO, "%s",
			  cpk_buf_failed(&b) ? "copy failed" : b.buf);
	cpk_buf_release(&b);
	return err;
}

/* ---- run --------------------------------------------------------------- */

/* Starts workers FROM..TO-1. */
static cpk_err_t start_workers(struct cpk_xfer *x, unsigned from, unsigned to)
{
	unsigned i;

	for (i = from; i < to; i++) {
		pthread_mutex_lock(&x->mu);
		x->running++;
		pthread_mutex_unlock(&x->mu);
		if (pthread_create(&x->w[i].th, NULL, worker_main, &x->w[i])) {
			pthread_mutex_lock(&x->mu);
			x->running--;
			pthread_mutex_unlock(&x->mu);
			if (i == 0)
				return cpk_err_set(CPK_ERR_NOMEM, "cannot start "
						   "a thread");
			break;	/* fewer connections */
		}
		x->w[i].started = 1;
	}
	return CPK_OK;
}

/* Joins the workers that were started. */
static void join_workers(struct cpk_xfer *x)
{
	unsigned i;

	for (i = 0; i < x->nw; i++)
		if (x->w[i].started) {
			pthread_join(x->w[i].th, NULL);
			x->w[i].started = 0;
		}
}

/* The next segment into x->p: the rest of the current operand, then the
 * next operands, until the plan is full.  *MORE: something is left. */
static cpk_err_t plan_segment(struct cpk_xfer *x, const char *const *srcs,
			      size_t nsrc, const char *dst, int *more)
{
	cpk_err_t err;
	char *root;

	for (;;) {
		if ((err = xwalk_fill(&x->walk, &x->p, x->seg, more)) != 0 ||
		    *more || x->src_i == nsrc)
			return err;
		if (xplan_full(&x->p, x->seg)) {
			*more = 1;
			return CPK_OK;
		}
		/* the next operand */
		root = xplan_dst_root(srcs[x->src_i], *dst ? dst : ".",
				      x->dst_dir);
		if (!root)
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		err = xwalk_source(&x->walk, &x->p, srcs[x->src_i++], root);
		free(root);
		if (err)
			return err;
	}
}

/* A big file whose chunks the journal lists: is its temporary file still
 * there?  If not, its chunks are sent again.  Then this segment's share of
 * the totals and of what the journal says is done. */
static void count_segment(struct cpk_xfer *x, const struct xfs *df,
			  uint64_t *todo)
{
	size_t i;

	*todo = 0;
	x->st.bytes_total += x->p.bytes;
	x->st.files_total += x->p.files;
	for (i = 0; i < x->p.n; i++) {
		struct xent *e = &x->p.e[i];
		struct xstat st;

		if (e->st.type != XT_FILE)
			continue;
		x->st.chunks_total += e->nchunks;
		if (e->done) {
			x->st.files_done++;
			x->st.bytes_done += e->st.size;
			x->st.chunks_skipped += e->nchunks;
			continue;
		}
		if (x->have_journal && e->chunk && e->left != e->nchunks &&
		    !(xfs_stat(df, e->tmp, 0, &st) == 0 && st.type == XT_FILE)) {
			memset(e->cdone, 0, e->nchunks);
			e->left = e->nchunks;
		}
		for (uint32_t c = 0; e->cdone && c < e->nchunks; c++)
			if (e->cdone[c]) {
				uint64_t off = (uint64_t)c * e->chunk;

				x->st.chunks_skipped++;
				x->st.bytes_done += e->st.size - off < e->chunk ?
						    e->st.size - off : e->chunk;
			}
		(*todo)++;
	}
}

/* Verifies the files of the segment copied; those whose hashes differ
 * are no longer counted as done but as failed. */
static cpk_err_t verify_segment(struct cpk_xfer *x, ssh_session ss,
				struct cpk_sftp *s)
{
	uint64_t ok = 0, files = 0, bytes = 0;
	size_t i;
	cpk_err_t err;

	for (i = 0; i < x->p.n; i++)
		if (x->p.e[i].st.type == XT_FILE && x->p.e[i].done) {
			files++;
			bytes += x->p.e[i].st.size;
		}
	err = xverify(&x->p, x->dir, ss, s, x->o.verify, &ok);
	for (i = 0; i < x->p.n; i++)
		if (x->p.e[i].st.type == XT_FILE && x->p.e[i].done) {
			files--;
			bytes -= x->p.e[i].st.size;
		}
	pthread_mutex_lock(&x->mu);
	x->st.verified += ok;
	x->st.files_done -= files;
	x->st.files_failed += files;
	x->st.bytes_done -= bytes;
	pthread_mutex_unlock(&x->mu);
	xlog(x, CPK_XFER_LOG_INFO, "verified %llu files (SHA-256 alike on both "
	     "sides)%s", (unsigned long long)ok, files ? "; some did not "
	     "match or could not be checked" : "");
	return err;
}

/* Waits for the workers, reporting progress meanwhile. */
static void wait_workers(struct cpk_xfer *x, struct progress_state *ps)
{
	pthread_mutex_lock(&x->mu);
	x->ready = 1;
	pthread_cond_broadcast(&x->cv);
	while (x->running) {
		struct timespec dl;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += (long)(x->o.progress_ms % 1000) * 1000000L;
		dl.tv_sec += x->o.progress_ms / 1000 + dl.tv_nsec / 1000000000L;
		dl.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&x->cv, &x->mu, &dl);
		if (!x->running)
			break;
		pthread_mutex_unlock(&x->mu);
		report(x, ps, 0);
		pthread_mutex_lock(&x->mu);
	}
	pthread_mutex_unlock(&x->mu);
	join_workers(x);
}

/*
 * Copies the planned segment: directories and temporary files are made on
 * the planning connection (*XS, *S) while the workers connect, then the
 * workers take the pieces.  With HANDOFF (the only segment) the planning
 * connection becomes worker 0's and *S afterwards is any live one; else
 * the workers keep their connections for the next segment and *S stays
 * the planner's.
 */
static cpk_err_t copy_segment(struct cpk_xfer *x, struct xsess **xs,
			      struct cpk_sftp **s, unsigned n, uint64_t todo,
			      int handoff, struct progress_state *ps)
{
	unsigned i;
	cpk_err_t err;

	pthread_mutex_lock(&x->mu);
	x->next = 0;
	x->nretry = 0;
	x->ready = 0;
	x->abort = 0;
	pthread_mutex_unlock(&x->mu);
	if (handoff && n > x->p.nt)
		n = x->p.nt ? (unsigned)x->p.nt : 1;
	if (handoff || !x->nw) {
		x->st.channels = n < x->chans ? n : x->chans;
		x->st.conns = (n + x->chans - 1) / x->chans;
	}
	if (todo && x->p.nt && n > x->nw)
		x->nw = n;
	if (!todo || !x->p.nt)
		return prepare(x, *s);
	(void)start_workers(x, 1, x->nw);
	if ((err = prepare(x, *s)) != 0) {
		pthread_mutex_lock(&x->mu);
		x->abort = 1;
		pthread_cond_broadcast(&x->cv);
		pthread_mutex_unlock(&x->mu);
		join_workers(x);
		return err;
	}
	if (handoff) {
		x->w[0].xs = *xs;	/* the first connection moves to worker 0 */
		x->w[0].s = *s;
		*xs = NULL;
		*s = NULL;
	}
	if (start_workers(x, 0, 1) != 0 && handoff) {
		/* the others do the work (or it is reported undone) */
		*xs = x->w[0].xs;
		*s = x->w[0].s;
		x->w[0].xs = NULL;
		x->w[0].s = NULL;
	}
	wait_workers(x, ps);
	if (!handoff)
		return CPK_OK;
	/* keep one live connection for the finishing touches */
	for (i = 0; i < x->nw; i++) {
		if (!*s && x->w[i].s) {
			*xs = x->w[i].xs;
			*s = x->w[i].s;
			x->w[i].xs = NULL;
			x->w[i].s = NULL;
		} else {
			conn_close(x, &x->w[i].xs, &x->w[i].s, 0);
		}
	}
	if (!*s)
		return conn_open(x, NULL, xs, s);
	return CPK_OK;
}

/* Whether any worker still has a connection. */
static int workers_connected(struct cpk_xfer *x)
{
	unsigned i;

	for (i = 0; i < x->nw; i++)
		if (x->w[i].s)
			return 1;
	return 0;
}

/* The random part of this copy's temporary names. */
static cpk_err_t new_token(char token[XPLAN_TOKEN_LEN + 1])
{
	unsigned char r[XPLAN_TOKEN_LEN / 2];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return cpk_err_sys("cannot get random bytes for the temporary "
				   "names");
	for (i = 0; i < sizeof(r); i++)
		snprintf(token + 2 * i, 3, "%02x", r[i]);
	return CPK_OK;
}

/* A local destination: the directory the operand DST resolves to (DST
 * itself if it is a directory, else the one that will hold it), opened
 * once; everything below is reached from there without following links. */
static cpk_err_t open_root(struct cpk_xfer *x, const char *dst)
{
	const char *d = *dst ? dst : ".";
	size_t n = strlen(d);
	cpk_err_t err;

	if (!x->dst_dir) {
		/* the parent of a new name: up to its last slash */
		while (n > 1 && d[n - 1] == '/')
			n--;
		while (n > 0 && d[n - 1] != '/')
			n--;
		while (n > 1 && d[n - 1] == '/')
			n--;
	}
	if (!(x->dprefix = cpk_strndup(d, n)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	x->droot = open(n ? x->dprefix : ".", O_RDONLY | O_DIRECTORY |
			O_CLOEXEC);
	if (x->droot < 0) {
		err = cpk_err_sys("cannot open the destination directory %s",
				  n ? x->dprefix : ".");
		return err;
	}
	return CPK_OK;
}

cpk_err_t cpk_xfer_run(struct cpk_xfer *x, enum cpk_xfer_dir dir,
		       const char *const *srcs, size_t nsrc, const char *dst)
{
	struct xsess *xs = NULL;
	struct cpk_sftp *s = NULL;
	struct xfs local = { NULL }, remote = { NULL };
	struct progress_state ps = { 0, 0, 0 };
	struct xstat st;
	char *header = NULL;
	unsigned n, k, i;
	uint64_t todo;
	cpk_err_t err;
	int more = 0, failed = 0;

	clock_gettime(CLOCK_MONOTONIC, &x->t0);
	if (x->ran)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_xfer_run: already run");
	x->ran = 1;
	if ((dir != CPK_XFER_PUT && dir != CPK_XFER_GET) || !srcs || !nsrc || !dst)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_xfer_run: invalid "
				   "arguments");
	x->dir = dir;
	/* 1. the first connection: round trip, layout */
	if ((err = conn_open(x, &x->w[0], &xs, &s)) != 0)
		return err;
	if (cancelled(x)) {
		err = interrupted_error(x);
		goto out;
	}
	remote.s = s;
	x->st.rtt_ms = measure_rtt(s);
	xplan_layout(x->st.rtt_ms, sysconf(_SC_NPROCESSORS_ONLN), x->o.conns,
		     x->o.channels, &n, &x->chans);
	/* n: streams from here on; workers 0..chans-1 share this connection */
	n *= x->chans;
	if (x->o.log && x->o.log_level >= CPK_XFER_LOG_INFO) {
		char *who = cpk_conn_describe(xs->ss);

		xlog(x, CPK_XFER_LOG_INFO, "connected to %s: round trip %.1f "
		     "ms; %u streams (%u per connection)", who ? who :
		     x->o.conn.host, x->st.rtt_ms, n, x->chans);
		free(who);
	}
	/* big files in as many chunks as streams (16 at least), segments of
	 * the asked size, or both as the journal being resumed says */
	x->seg = x->o.segment ? x->o.segment : XPLAN_SEG_FILES;
	x->p.parts = n > XPLAN_PARTS ? n : XPLAN_PARTS;
	if (x->o.journal)
		(void)xjournal_layout(x->o.journal, &x->p.parts, &x->seg);
	{
		const struct xfs *df = dir == CPK_XFER_PUT ? &remote : &local;

		x->dst_dir = xfs_stat(df, *dst ? dst : ".", 1, &st) == 0 &&
			     st.type == XT_DIR;
	}
	if (nsrc > 1 && !x->dst_dir) {
		err = cpk_err_set(CPK_ERR_INVALID, "%s is not a directory "
				  "(copying %zu sources needs one)", dst, nsrc);
		goto out;
	}
	if ((err = new_token(x->token)) != 0 ||
	    (dir == CPK_XFER_GET && (err = open_root(x, dst)) != 0))
		goto out;
	/* 2. the journal: what an earlier run finished */
	if (x->o.journal) {
		if (!(header = xjournal_header(dir, srcs, nsrc, dst,
					       x->o.chunk_min, x->o.chunk_max,
					       x->p.parts, x->seg))) {
			err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((err = xjournal_open(&x->j, x->o.journal, header,
					 &x->res)) != 0)
			goto out;
		x->have_journal = 1;
		/* a resume finds the temporary files by the journal's token */
		if ((err = xjournal_token(&x->j, &x->res, x->token)) != 0)
			goto out;
	}
	memcpy(x->p.token, x->token, sizeof(x->token));
	/* 3. segment by segment: walk, plan, copy, finish */
	xwalk_init(&x->walk, dir == CPK_XFER_PUT ? &local : &remote,
		   x->o.recursive, x->o.follow_links, x->seg);
	for (k = 0;; k++) {
		struct xfs ldst, *df = &ldst;

		if (cancelled(x)) {
			err = interrupted_error(x);
			goto out;
		}
		if (k && conn_dead(s)) {
			/* the planning connection dropped: a new one */
			conn_close(x, &xs, &s, 1);
			if ((err = conn_open(x, NULL, &xs, &s)) != 0)
				goto out;
			x->st.reconnects++;
		}
		remote.s = s;
		dst_fs(x, s, &ldst);
		if ((err = plan_segment(x, srcs, nsrc, dst, &more)) != 0 ||
		    (err = xplan_tasks(&x->p, x->o.chunk_min, x->o.chunk_max,
				       n)) != 0 ||
		    (err = xjournal_segment(x->have_journal ? &x->j : NULL,
					    &x->res, k, &x->p)) != 0)
			goto out;
		if (!k && more)
			x->multi = 1;
		x->st.segments = k + 1;
		xlog(x, CPK_XFER_LOG_DEBUG, "segment %u: %zu entries, %zu "
		     "pieces of work", k + 1, x->p.n, x->p.nt);
		count_segment(x, df, &todo);
		xfs_release(df);
		if ((err = copy_segment(x, &xs, &s, n, todo, !x->multi,
					&ps)) != 0)
			goto out;
		remote.s = s;
		if (cancelled(x)) {
			/* what was not finished goes, unless journaled */
			remove_temps(x, s);
			err = interrupted_error(x);
			goto out;
		}
		/* links, directory attributes, verification */
		finish_segment(x, s);
		if (x->o.verify && (err = verify_segment(x, xs->ss, s)) != 0)
			goto out;
		failed |= note_segment(x);
		if (!more)
			break;
		if (x->conn_err && !workers_connected(x)) {
			/* nobody could connect: the rest would fail too */
			x->stopped = 1;
			failed = 1;
			break;
		}
		xplan_next(&x->p);
	}
	if (failed)
		err = summary_error(x);
out:
	xwalk_release(&x->walk);	/* it borrows REMOTE */
	report(x, &ps, 1);
	x->st.seconds = since(&x->t0);
	for (i = 0; i < x->nw; i++)
		conn_close(x, &x->w[i].xs, &x->w[i].s, 0);
	if (x->have_journal)
		xjournal_close(&x->j, err == CPK_OK);
	x->have_journal = 0;
	free(header);
	conn_close(x, &xs, &s, 0);
	return err;
}
