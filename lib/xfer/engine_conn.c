/*
 * The engine's connections: sessions shared by the channels of a group of
 * workers, opened, reused and closed; the bookkeeping of finished work.
 */
#define _GNU_SOURCE
#include "engine_priv.h"

#include <libssh/server.h>	/* ssh_send_keepalive() */

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

/* G's connection is XS, opened ahead of its workers; G holds XS's one
 * reference (mu held). */
static void group_adopt(struct cpk_xfer *x, struct group *g, struct xsess *xs)
{
	g->x = x;
	g->pre = xs;
	g->cur = xs;
	xs->group = (int)(g - x->g);
}

static void *pre_main(void *arg)
{
	struct group *g = arg;
	struct cpk_xfer *x = g->x;
	struct xsess *xs = NULL;
	cpk_err_t err = sess_open(x, &xs);

	pthread_mutex_lock(&x->mu);
	g->connecting = 0;
	if (!err)
		group_adopt(x, g, xs);
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

#define RTT_SURE_MS 60.0	/* a round trip this long is not Nagle's */

cpk_err_t xeng_first_session(struct cpk_xfer *x, double *rtt_ms)
{
	struct group *g = &x->g[0];
	struct xsess *xs;
	struct timespec t0;
	cpk_err_t err = sess_open(x, &xs);
	int i;

	if (err)
		return err;
	/* A global request the server must answer (RFC 4254 4: failure,
	 * for a name it does not know): one round trip, before any
	 * channel.  Right after the login sshd's answer may wait up to
	 * 40 ms behind a packet of its own that is not acknowledged yet
	 * (Nagle's algorithm, before a session sets TCP_NODELAY; seen: 46
	 * ms on loopback): a short one is measured once more. */
	for (i = 0; i < 2; i++) {
		double ms;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		(void)ssh_send_keepalive(xs->ss);
		ms = xeng_since(&t0) * 1e3;
		if (!i || ms < *rtt_ms)
			*rtt_ms = ms;
		if (*rtt_ms >= RTT_SURE_MS)
			break;
	}
	pthread_mutex_lock(&x->mu);
	group_adopt(x, g, xs);
	pthread_mutex_unlock(&x->mu);
	return CPK_OK;
}

void xeng_first_session_put(struct cpk_xfer *x)
{
	struct xsess *xs = x->g[0].pre;

	x->g[0].pre = NULL;
	sess_put(x, xs);
}

void xeng_preconnect(struct cpk_xfer *x, unsigned c)
{
	unsigned i;

	for (i = 1; i < c && i < MAX_STREAMS; i++) {
		struct group *g = &x->g[i];

		pthread_mutex_lock(&x->mu);
		if (g->connecting || g->cur || g->pre_started) {
			pthread_mutex_unlock(&x->mu);
			continue;
		}
		g->x = x;
		g->connecting = 1;
		pthread_mutex_unlock(&x->mu);
		if (pthread_create(&g->pre_th, NULL, pre_main, g) != 0) {
			pthread_mutex_lock(&x->mu);
			g->connecting = 0;
			pthread_cond_broadcast(&x->cv);
			pthread_mutex_unlock(&x->mu);
			break;
		}
		g->pre_started = 1;
	}
}

void xeng_preconnect_end(struct cpk_xfer *x)
{
	unsigned i;

	for (i = 0; i < MAX_STREAMS; i++) {
		struct group *g = &x->g[i];

		if (!g->pre_started)
			continue;
		pthread_join(g->pre_th, NULL);
		g->pre_started = 0;
		sess_put(x, g->pre);
		g->pre = NULL;
	}
}

/* Opens an SFTP channel for worker W: on its group's connection, which the
 * first of the group to come sets up (W NULL: on a connection of its own,
 * without progress accounting). */
cpk_err_t xeng_conn_open(struct cpk_xfer *x, struct worker *w,
			   struct xsess **xsp, struct cpk_sftp **s)
{
	struct group *g = w ? &x->g[w->idx / x->chans] : NULL;
	struct xsess *xs = NULL;
	struct cpk_sftp_opts so;
	struct cpk_sftp_info known;
	int have_known;
	cpk_err_t err;

	*s = NULL;
	*xsp = NULL;
	pthread_mutex_lock(&x->mu);
	have_known = x->have_known;
	known = x->known;
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
	/* Small files cost an OPEN, a WRITE or READ and a CLOSE each, one
	 * after the other: 64 requests (32 files) in flight per channel held
	 * a tree of 20,000 x 4 KiB at 100 ms to 1,900 files/s; 256 made it
	 * 3,700.  Near, where nothing is to hide, more only cost CPU (2,000
	 * x 64 KiB put at RTT 0: 0.55-0.63 s with 64, 0.71-0.79 with 256).
	 * Each file open holds a local descriptor: the copy's share of this
	 * process's limit caps them (fd_share). */
	so.window = x->st.rtt_ms >= WINDOW_FAR_MS ? WINDOW_FAR : 0;
	so.max_files = x->fd_share;
	so.on_data = w ? worker_on_data : NULL;
	so.on_data_arg = w;
	so.cancelled = xeng_sftp_cancelled;
	so.cancelled_arg = x;
	so.mux = xs->mux;
	so.known = have_known ? &known : NULL;
	if ((err = cpk_sftp_new(xs->ss, &so, s)) != 0) {
		/* full (MaxSessions) or gone: the next try connects anew */
		pthread_mutex_lock(&x->mu);
		xs->dead = 1;
		pthread_mutex_unlock(&x->mu);
		sess_put(x, xs);
		return err;
	}
	if (!have_known) {
		cpk_sftp_info(*s, &known);
		pthread_mutex_lock(&x->mu);
		if (!x->have_known && known.limits) {
			x->known = known;
			x->have_known = 1;
		}
		pthread_mutex_unlock(&x->mu);
	}
	*xsp = xs;
	return CPK_OK;
}

/* Closes a channel; DEAD: its connection is not to be joined again. */
void xeng_conn_close(struct cpk_xfer *x, struct xsess **xs,
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
int xeng_conn_dead(struct cpk_sftp *s)
{
	return cpk_sftp_pump(s, 0) != CPK_OK;
}

/* ---- bookkeeping (mu held) -------------------------------------------- */

void xeng_journal_rec(struct cpk_xfer *x, const char *text, size_t len)
{
	if (x->have_journal && xjournal_append(&x->j, text, len) != 0) {
		/* a journal that cannot be written only loses resumability */
		xjournal_close(&x->j, 0);
		x->have_journal = 0;
	}
}

void xeng_file_fail(struct cpk_xfer *x, struct xent *e, const char *msg)
{
	if (e->failed || e->done)
		return;
	e->failed = 1;
	e->err = cpk_strdup(msg);
	x->st.files_failed++;
	xeng_xlog(x, CPK_XFER_LOG_ERROR, "not copied: %s: %s", e->dst, msg);
}

int xeng_task_done(const struct cpk_xfer *x, const struct xtask *t)
{
	const struct xent *e = &x->p.e[t->file];
	uint32_t i;

	if (t->kind == TASK_CHUNK)
		return e->done || e->failed || e->cdone[t->chunk];
	for (i = 0; i < t->chunk; i++)
		if (xplan_batched(&e[i]) && !e[i].done && !e[i].failed)
			return 0;
	return 1;
}

/* ---- where the time went (per stream, per connection) ------------------ */

void xeng_meter_take(struct worker *w)
{
	cpk_sftp_meter_take(w->s, &w->meter);
}

/* Seconds from the copy's start to the monotonic time US (-1: never). */
static double since_t0(const struct cpk_xfer *x, int64_t us)
{
	if (!us)
		return -1;
	return (double)us / 1e6 - ((double)x->t0.tv_sec +
				    (double)x->t0.tv_nsec / 1e9);
}

size_t cpk_xfer_streams(const struct cpk_xfer *x, struct cpk_xfer_stream *v,
			size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < x->nw; i++) {
		const struct worker *w = &x->w[i];
		const struct cpk_sftp_meter *m = &w->meter;

		if (!m->bytes_tx && !m->bytes_rx && !w->cpu_us)
			continue;	/* never ran, or never connected */
		if (k < n) {
			struct cpk_xfer_stream *s = &v[k];

			s->conn = x->chans ? (unsigned)i / x->chans : 0;
			s->bytes_sent = m->bytes_tx;
			s->bytes_received = m->bytes_rx;
			s->window_wait_s = (double)m->window_wait_us / 1e6;
			s->reply_wait_s = (double)m->reply_wait_us / 1e6;
			s->lock_wait_s = (double)m->lock_wait_us / 1e6;
			s->setup_s = (double)w->setup_us / 1e6;
			s->cpu_s = (double)w->cpu_us / 1e6;
			s->inflight_avg = m->waits ? (double)m->inflight_sum /
					  (double)m->waits : 0;
			s->inflight_max = m->inflight_max;
			s->first_s = since_t0(x, m->first_us);
			s->last_s = since_t0(x, m->last_us);
		}
		k++;
	}
	return k;
}

void xeng_meter_log(struct cpk_xfer *x)
{
	struct cpk_xfer_stream *v;
	size_t n, i, j;

	if (!x->o.log || x->o.log_level < CPK_XFER_LOG_INFO || !x->nw)
		return;
	if (!(v = calloc(x->nw, sizeof(*v))))
		return;
	n = cpk_xfer_streams(x, v, x->nw);
	for (i = 0; i < n; i = j) {
		struct cpk_xfer_stream t = v[i];
		unsigned nch = 1;

		for (j = i + 1; j < n && v[j].conn == v[i].conn; j++, nch++) {
			t.bytes_sent += v[j].bytes_sent;
			t.bytes_received += v[j].bytes_received;
			t.window_wait_s += v[j].window_wait_s;
			t.reply_wait_s += v[j].reply_wait_s;
			t.lock_wait_s += v[j].lock_wait_s;
			if (v[j].setup_s > t.setup_s)
				t.setup_s = v[j].setup_s;
			t.cpu_s += v[j].cpu_s;
			t.inflight_avg += v[j].inflight_avg;
			if (v[j].inflight_max > t.inflight_max)
				t.inflight_max = v[j].inflight_max;
			if (v[j].first_s >= 0 &&
			    (t.first_s < 0 || v[j].first_s < t.first_s))
				t.first_s = v[j].first_s;
			if (v[j].last_s > t.last_s)
				t.last_s = v[j].last_s;
		}
		xeng_xlog(x, CPK_XFER_LOG_INFO, "connection %u: %u channel%s "
			  "(the last ready after %.2f s), %.1f MB sent, %.1f MB received; waiting %.2f s for "
			  "the SSH window, %.2f s for replies, %.2f s for the "
			  "session's lock; %.1f requests in flight per channel "
			  "(at most %u); CPU %.2f s; moving data from %.2f "
			  "to %.2f s",
			  t.conn + 1, nch, nch == 1 ? "" : "s", t.setup_s,
			  (double)t.bytes_sent / 1e6,
			  (double)t.bytes_received / 1e6, t.window_wait_s,
			  t.reply_wait_s, t.lock_wait_s, t.inflight_avg / nch,
			  t.inflight_max, t.cpu_s, t.first_s, t.last_s);
	}
	free(v);
}
