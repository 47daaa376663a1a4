/*
 * The transfer engine (see cpk/xfer.h): plans on the first connection, then
 * one worker thread per connection takes pieces of work (a chunk of a big
 * file, or a batch of small files) from the shared plan until none is left.
 * A piece whose connection dropped goes back to the queue and the worker
 * reconnects; a piece that fails for its own reasons (permission, disk full)
 * fails its file only.
 *
 * This file: the handle (options, log, cancel) and the run, a segment at a
 * time.  Over engine_priv.h: engine_conn.c (connections), engine_work.c
 * (pieces of work), engine_queue.c (queue, workers, progress),
 * engine_dest.c (destination setup and finishing).
 */
#define _GNU_SOURCE
#include "engine_priv.h"

#include <sys/resource.h>

/* ---- handle ----------------------------------------------------------- */

/* Hands a message to the caller's log callback (checked before the message
 * is formatted); any thread, one call at a time. */
__attribute__((format(printf, 3, 4)))
void xeng_xlog(struct cpk_xfer *x, int level, const char *fmt, ...)
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

double xeng_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

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
	x->o.conn.proxy_jump = x->o.conn.proxy_command = NULL;
	x->o.conn.identities = NULL;
	x->o.subsystem = x->o.journal = NULL;
	bad |= dup_str(&x->o.conn.host, o->conn.host);
	bad |= dup_str(&x->o.conn.user, o->conn.user);
	bad |= dup_str(&x->o.conn.config, o->conn.config);
	bad |= dup_str(&x->o.conn.ciphers, o->conn.ciphers);
	bad |= dup_str(&x->o.conn.known_hosts, o->conn.known_hosts);
	bad |= dup_str(&x->o.conn.global_known_hosts, o->conn.global_known_hosts);
	bad |= dup_str(&x->o.conn.proxy_jump, o->conn.proxy_jump);
	bad |= dup_str(&x->o.conn.proxy_command, o->conn.proxy_command);
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
	x->o.retries = cpk_xfer_retries_of(x->o.retries);
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
	free((char *)x->o.conn.proxy_jump);
	free((char *)x->o.conn.proxy_command);
	free((char *)x->o.subsystem);
	free((char *)x->o.journal);
	for (i = 0; x->ids && x->ids[i]; i++)
		free(x->ids[i]);
	free(x->ids);
	xplan_release(&x->p);
	xwalk_release(&x->walk);
	xresume_release(&x->res);
	xrpath_release(&x->rp);
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

int xeng_cancelled(const struct cpk_xfer *x)
{
	return atomic_load(&((struct cpk_xfer *)x)->cancel) != 0;
}

/* For the SFTP calls of the workers (cpk_sftp_opts.cancelled). */
int xeng_sftp_cancelled(void *arg)
{
	return xeng_cancelled(arg);
}

void cpk_xfer_stats(const struct cpk_xfer *x, struct cpk_xfer_stats *st)
{
	pthread_mutex_lock((pthread_mutex_t *)&x->mu);
	*st = x->st;
	pthread_mutex_unlock((pthread_mutex_t *)&x->mu);
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
		if (pthread_create(&x->w[i].th, NULL, xeng_worker_main, &x->w[i])) {
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
	xeng_xlog(x, CPK_XFER_LOG_INFO, "verified %llu files (SHA-256 alike on both "
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
		xeng_report(x, ps, 0);
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
	if (handoff) {
		/* connections follow the work: no login for a share of it
		 * that one stream finishes sooner */
		uint64_t left = x->p.bytes > x->st.bytes_done ?
				x->p.bytes - x->st.bytes_done : 0;
		unsigned c = xplan_conns_for_work(left, todo,
						  (n + x->chans - 1) / x->chans);

		if (n > c * x->chans)
			n = c * x->chans;
	}
	if (handoff || !x->nw) {
		x->st.channels = n < x->chans ? n : x->chans;
		x->st.conns = (n + x->chans - 1) / x->chans;
	}
	if (todo && x->p.nt && n > x->nw)
		x->nw = n;
	if (!todo || !x->p.nt)
		return xeng_prepare(x, *s);
	(void)start_workers(x, 1, x->nw);
	if ((err = xeng_prepare(x, *s)) != 0) {
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
		xeng_meter_take(&x->w[i]);
		if (!*s && x->w[i].s) {
			*xs = x->w[i].xs;
			*s = x->w[i].s;
			x->w[i].xs = NULL;
			x->w[i].s = NULL;
		} else {
			xeng_conn_close(x, &x->w[i].xs, &x->w[i].s, 0);
		}
	}
	if (!*s)
		return xeng_conn_open(x, NULL, xs, s);
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

/* Local files a channel may hold open at once: the soft RLIMIT_NOFILE,
 * less what the copy needs besides (its sockets and wake pipes, a chunk
 * file per stream, the journal, directories, stdio), shared by the STREAMS
 * of CONNS connections.  0: no cap (the window's). */
static unsigned fd_share(unsigned streams, unsigned conns)
{
	struct rlimit rl;
	rlim_t need = 32 + 4 * (rlim_t)conns + streams, avail;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	avail = rl.rlim_cur > need ? (rl.rlim_cur - need) / (streams ? streams : 1) : 0;
	if (avail >= WINDOW_FAR / 2)
		return 0;
	return avail < 1 ? 1 : (unsigned)avail;
}

/*
 * The first connection.  One that the server dropped before its banner
 * (sshd's MaxStartups, while other clients log in) is tried again after a
 * wait, `retries` times at most; other failures end the copy at once.
 * Once it is logged in, one round trip on it sets the layout (*N streams,
 * x->chans per connection), and an upload starts connecting the others
 * its local operands need (xeng_ahead_start()) before this one opens its
 * channel.
 */
static cpk_err_t first_conn(struct cpk_xfer *x, const char *const *srcs,
			    size_t nsrc, unsigned *n, struct xsess **xs,
			    struct cpk_sftp **s)
{
	unsigned k, ms, t, conns;
	cpk_err_t err;

	for (k = 1;; k++) {
		if ((err = xeng_first_session(x, &x->st.rtt_ms)) == 0)
			break;
		if (k > x->o.retries || !cpk_conn_dropped())
			return err;
		ms = xeng_backoff_ms(k);
		xeng_xlog(x, CPK_XFER_LOG_WARN, "%s; connecting again in %u ms "
			  "(try %u of %u)", cpk_errmsg(), ms, k + 1,
			  x->o.retries + 1);
		/* cpk_xfer_cancel() only stores a flag: look every 50 ms */
		for (t = 0; t < ms; t += 50) {
			if (xeng_cancelled(x))
				return xeng_interrupted_error(x);
			nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
		}
	}
	xplan_layout(x->st.rtt_ms, sysconf(_SC_NPROCESSORS_ONLN), x->o.conns,
		     x->o.channels, &conns, &x->chans);
	/* streams from here on; workers 0..chans-1 share this connection */
	*n = conns * x->chans;
	x->fd_share = fd_share(*n, conns);
	if (x->o.log && x->o.log_level >= CPK_XFER_LOG_INFO) {
		char *who = cpk_conn_describe(x->g[0].pre->ss);

		xeng_xlog(x, CPK_XFER_LOG_INFO, "connected to %s: round trip %.1f "
			  "ms; %u streams (%u per connection)", who ? who :
			  x->o.conn.host, x->st.rtt_ms, *n, x->chans);
		free(who);
	}
	xeng_ahead_start(x, srcs, nsrc, *n);
	err = xeng_conn_open(x, &x->w[0], xs, s);
	xeng_first_session_put(x);	/* the channel holds it now */
	return err;
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

/* Sets x->dst_dir: whether the sources go into DST (a directory) or the
 * one source is copied to the name DST.  A journal that recorded it
 * decides (a first run to a new name made DST a directory, which the same
 * command line must not then copy into); else DST as it is now, recorded.
 * Several sources into a DST that does not exist create it as a new
 * directory gets (scp does; mode 0777 less the umask on that side). */
static cpk_err_t resolve_dst(struct cpk_xfer *x, struct xfs *df,
			     const char *dst, size_t nsrc)
{
	const char *d = *dst ? dst : ".";
	int pin = x->have_journal ? xresume_dst_dir(&x->res) : -1;
	struct xstat st;
	cpk_err_t serr, err;

	serr = xfs_stat(df, d, 1, &st);
	if (pin == 0 && nsrc > 1)
		return cpk_err_set(CPK_ERR_INVALID, "cannot resume from %s: it "
				   "copies %zu sources to the name %s (a damaged "
				   "record; remove it to start afresh)",
				   x->o.journal, nsrc, dst);
	if (pin == 0 || (pin < 0 && nsrc == 1)) {
		/* to a new name: what the first run made there is continued */
		x->dst_dir = pin < 0 && serr == CPK_OK && st.type == XT_DIR;
	} else if (serr == CPK_OK && st.type == XT_DIR) {
		x->dst_dir = 1;
	} else if (serr == CPK_OK) {
		return pin == 1 ?
		       cpk_err_set(CPK_ERR_INVALID, "%s is not a directory now; "
				   "it was one when the copy recorded in %s "
				   "began", dst, x->o.journal) :
		       cpk_err_set(CPK_ERR_INVALID, "%s is not a directory "
				   "(copying %zu sources needs one)", dst, nsrc);
	} else if (serr != CPK_ERR_NOTFOUND) {
		return serr;
	} else if (nsrc == 1) {
		return cpk_err_set(CPK_ERR_NOTFOUND, "%s does not exist now; it "
				   "was a directory when the copy recorded in "
				   "%s began", dst, x->o.journal);
	} else {
		if ((err = xfs_mkdir(df, d, 0777)) != 0)
			return err;
		xeng_xlog(x, CPK_XFER_LOG_INFO, "created the directory %s for "
			  "the %zu sources", dst, nsrc);
		x->dst_dir = 1;
	}
	if (x->have_journal && pin < 0)
		return xjournal_dst_dir(&x->j, x->dst_dir);
	return CPK_OK;
}

cpk_err_t cpk_xfer_run(struct cpk_xfer *x, enum cpk_xfer_dir dir,
		       const char *const *srcs, size_t nsrc, const char *dst)
{
	struct xsess *xs = NULL;
	struct cpk_sftp *s = NULL;
	struct xfs local = { NULL }, remote = { NULL };
	struct progress_state ps = { 0, 0, 0 };
	char *header = NULL;
	unsigned n = 0, k, i;
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
	if ((err = first_conn(x, srcs, nsrc, &n, &xs, &s)) != 0) {
		xeng_preconnect_end(x);
		return err;
	}
	if (xeng_cancelled(x)) {
		err = xeng_interrupted_error(x);
		goto out;
	}
	remote.s = s;
	/* remote paths: "~" and globs expanded (rpath.c); from here on the
	 * operands are these, but the journal keeps them as typed */
	if ((err = xrpath_expand(s, dir, x->o.conn.host, srcs, nsrc, dst,
				 &x->rp)) != 0)
		goto out;
	for (i = 0; i < x->rp.nmiss; i++)
		xeng_note_failure(x, x->rp.miss[i].what, x->rp.miss[i].why ?
				  x->rp.miss[i].why : "no match");
	failed = x->rp.nmiss != 0;	/* the other sources are copied */
	srcs = (const char *const *)x->rp.srcs;
	nsrc = x->rp.nsrc;
	dst = x->rp.dst;
	/* big files in as many chunks as streams (16 at least), segments of
	 * the asked size, or both as the journal being resumed says */
	x->seg = x->o.segment ? x->o.segment : XPLAN_SEG_FILES;
	x->p.parts = n > XPLAN_PARTS ? n : XPLAN_PARTS;
	if (x->o.journal)
		(void)xjournal_layout(x->o.journal, &x->p.parts, &x->seg);
	if ((err = new_token(x->token)) != 0)
		goto out;
	/* 2. the journal: what an earlier run finished */
	if (x->o.journal) {
		if (!(header = xjournal_header(dir, x->rp.typed, x->rp.ntyped,
					       x->rp.typed_dst,
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
	/* the destination: a directory the sources go into, or a new name,
	 * as the journal says if it was begun already */
	if ((err = resolve_dst(x, dir == CPK_XFER_PUT ? &remote : &local, dst,
			       nsrc)) != 0 ||
	    (dir == CPK_XFER_GET && (err = open_root(x, dst)) != 0))
		goto out;
	memcpy(x->p.token, x->token, sizeof(x->token));
	/* 3. segment by segment: walk, plan, copy, finish */
	xwalk_init(&x->walk, dir == CPK_XFER_PUT ? &local : &remote,
		   x->o.recursive, x->o.follow_links, x->seg);
	x->walk.listed = xeng_ahead_listed;	/* a download connects ahead */
	x->walk.listed_arg = x;
	for (k = 0;; k++) {
		struct xfs ldst, *df = &ldst;

		if (xeng_cancelled(x)) {
			err = xeng_interrupted_error(x);
			goto out;
		}
		if (k && xeng_conn_dead(s)) {
			/* the planning connection dropped: a new one */
			xeng_conn_close(x, &xs, &s, 1);
			if ((err = xeng_conn_open(x, NULL, &xs, &s)) != 0)
				goto out;
			x->st.reconnects++;
		}
		remote.s = s;
		xeng_dst_fs(x, s, &ldst);
		if ((err = plan_segment(x, srcs, nsrc, dst, &more)) != 0 ||
		    (err = xplan_tasks(&x->p, x->o.chunk_min, x->o.chunk_max,
				       n)) != 0 ||
		    (err = xjournal_segment(x->have_journal ? &x->j : NULL,
					    &x->res, k, &x->p)) != 0)
			goto out;
		xeng_ahead_stop(x);	/* the segment is planned */
		if (!k && more)
			x->multi = 1;
		x->st.segments = k + 1;
		xeng_xlog(x, CPK_XFER_LOG_DEBUG, "segment %u: %zu entries, %zu "
		     "pieces of work", k + 1, x->p.n, x->p.nt);
		count_segment(x, df, &todo);
		xfs_release(df);
		if ((err = copy_segment(x, &xs, &s, n, todo, !x->multi,
					&ps)) != 0)
			goto out;
		remote.s = s;
		if (xeng_cancelled(x)) {
			/* what was not finished goes, unless journaled */
			xeng_remove_temps(x, s);
			err = xeng_interrupted_error(x);
			goto out;
		}
		/* links, directory attributes, verification */
		xeng_finish_segment(x, s);
		if (x->o.verify && (err = verify_segment(x, xs->ss, s)) != 0)
			goto out;
		failed |= xeng_note_segment(x);
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
		err = xeng_summary_error(x);
out:
	xwalk_release(&x->walk);	/* it borrows REMOTE */
	xeng_report(x, &ps, 1);
	x->st.seconds = xeng_since(&x->t0);
	for (i = 0; i < x->nw; i++) {
		xeng_meter_take(&x->w[i]);
		xeng_conn_close(x, &x->w[i].xs, &x->w[i].s, 0);
	}
	xeng_preconnect_end(x);
	xeng_meter_log(x);
	if (x->have_journal)
		xjournal_close(&x->j, err == CPK_OK);
	x->have_journal = 0;
	free(header);
	xeng_conn_close(x, &xs, &s, 0);
	return err;
}

unsigned cpk_xfer_retries_of(unsigned asked)
{
	if (asked == CPK_XFER_RETRIES_NONE)
		return 0;
	return asked ? asked : 3;
}
