/*
 * The queue of pieces of work, the worker threads that take them, retries
 * after a dropped connection, and the progress reports.
 */
#define _GNU_SOURCE
#include "engine_priv.h"

/* ---- the queue and the workers ---------------------------------------- */

/* The queue's next piece, x->next (mu held): a chunk or a batch, or only
 * the first files of a batch when fewer pieces are left than streams
 * without work (those still connecting counted), so that late streams
 * find some left (xplan_batch_share()). */
static long take_share(struct cpk_xfer *x)
{
	struct xtask *t = &x->p.t[x->next];
	unsigned idle = x->running > x->busy ? x->running - x->busy : 1;
	long r;

	if (t->kind == TASK_BATCH) {
		uint32_t k;

		/* files a resume found done are not handed out again, nor
		 * the directories before the next file (the queued batch is
		 * nobody's yet) */
		while (t->chunk > 1 && (!xplan_batched(&x->p.e[t->file]) ||
					x->p.e[t->file].done ||
					x->p.e[t->file].failed)) {
			t->file++;
			t->chunk--;
		}
		k = xplan_batch_share(t->chunk, x->p.nt - x->next, idle);
		if (k < t->chunk && (r = xplan_split(&x->p, x->next, k)) >= 0)
			return r;
	}
	return (long)x->next++;
}

/* The next piece of work for a worker, or -1 when none is left.  Waits while
 * others are busy (their work may come back for a retry). */
static long take_task(struct cpk_xfer *x)
{
	long r = -1;

	pthread_mutex_lock(&x->mu);
	while (!x->ready && !x->abort)
		pthread_cond_wait(&x->cv, &x->mu);
	for (;;) {
		if (x->abort || xeng_cancelled(x))
			break;
		while (x->nretry) {
			r = (long)x->retry[--x->nretry];
			if (!xeng_task_done(x, &x->p.t[r]))
				goto got;
		}
		while (x->next < x->p.nt && xeng_task_done(x, &x->p.t[x->next]))
			x->next++;
		if (x->next < x->p.nt) {
			r = take_share(x);
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
		if (t->kind == TASK_BATCH && !xplan_batched(&x->p.e[t->file + i]))
			continue;	/* a directory between its files */
		xeng_file_fail(x, &x->p.e[t->file + i], msg);
		x->p.e[t->file + i].resumable = 1;	/* not the file's fault */
	}
}

/* Puts task TI on the retry list, taken before the rest of the queue (mu
 * held); 0 if there is no memory for it. */
static int retry_push(struct cpk_xfer *x, long ti)
{
	size_t *v;

	if (x->nretry == x->capretry) {
		size_t cap = x->capretry ? x->capretry * 2 : 16;

		if (!(v = cpk_reallocarray(x->retry, cap, sizeof(*v))))
			return 0;
		x->retry = v;
		x->capretry = cap;
	}
	x->retry[x->nretry++] = (size_t)ti;
	return 1;
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
	} else if (retry_push(x, ti)) {
		x->st.retries++;
		xeng_xlog(x, CPK_XFER_LOG_WARN, "%s: %s; it goes back in the queue "
		     "(try %u of %u)", x->p.e[t->file].dst, why, t->tries + 1,
		     x->o.retries + 1);
	} else {
		task_fail(x, t, "out of memory");
	}
	x->busy--;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

/* Gives task TI back untried: its worker could not connect, so nothing of
 * it reached a server and it costs none of the task's tries (a live
 * connection of another worker takes it).  Releases the busy mark. */
static void task_giveback(struct cpk_xfer *x, long ti)
{
	pthread_mutex_lock(&x->mu);
	if (!retry_push(x, ti))
		task_fail(x, &x->p.t[ti], "out of memory");
	x->busy--;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

/* Work another stream could take: queued, or held by a busy one that may
 * give it back (mu held). */
static int work_left(const struct cpk_xfer *x)
{
	return x->nretry || x->next < x->p.nt || x->busy;
}

unsigned xeng_backoff_ms(unsigned n)
{
	uint32_t r = 0;
	unsigned ms = 100u << (n < 1 ? 0 : n < 6 ? n - 1 : 5);

	(void)!getrandom(&r, sizeof(r), GRND_NONBLOCK);
	return ms + r % (ms / 2 + 1);
}

/* After worker W failed to connect (the message in cpk_errmsg()): counts
 * it, and waits before the next try, longer each time (xeng_backoff_ms():
 * streams refused together, e.g. by sshd's MaxStartups, do not come back
 * together).  The wait ends early when no work is left or the copy stops.
 * Returns 0 once the worker has failed more than `retries` times in a
 * row: it stops, the others go on (the last one fails what is left). */
static int conn_failed(struct cpk_xfer *x, struct worker *w)
{
	char *m = cpk_strdup(cpk_errmsg());
	struct timespec t0;
	unsigned ms;
	int again;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&x->mu);
	if (m && !x->conn_err)
		x->conn_err = cpk_strdup(m);
	again = ++w->connect_fails <= x->o.retries;
	ms = xeng_backoff_ms(w->connect_fails);
	xeng_xlog(x, CPK_XFER_LOG_WARN, "stream %u: %s; %s", w->idx,
		  m ? m : "cannot connect", again ? "it connects again soon" :
		  "it stops");
	/* cpk_xfer_cancel() only stores a flag: look every 50 ms */
	while (again && work_left(x) && !x->abort && !xeng_cancelled(x)) {
		double left = ms / 1e3 - xeng_since(&t0);
		struct timespec dl;

		if (left <= 0)
			break;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += (long)((left < 0.05 ? left : 0.05) * 1e9);
		dl.tv_sec += dl.tv_nsec / 1000000000L;
		dl.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&x->cv, &x->mu, &dl);
	}
	pthread_mutex_unlock(&x->mu);
	free(m);
	return again;
}

void *xeng_worker_main(void *arg)
{
	struct worker *w = arg;
	struct cpk_xfer *x = w->x;
	long ti;

	/* Connect while the first connection prepares; after a failure it
	 * tries again below, when there is work. */
	if (!w->s) {
		struct timespec t0;
		int ok;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		ok = xeng_conn_open(x, w, &w->xs, &w->s) == 0;
		w->setup_us += (uint64_t)(xeng_since(&t0) * 1e6);
		if (ok)
			w->connect_fails = 0;
		else
			(void)conn_failed(x, w);
	}
	while (w->connect_fails <= x->o.retries && (ti = take_task(x)) >= 0) {
		struct xtask *t = &x->p.t[ti];
		int r;

		if (!w->s) {
			if (xeng_conn_open(x, w, &w->xs, &w->s) != 0) {
				/* another stream may take it meanwhile */
				task_giveback(x, ti);
				(void)conn_failed(x, w);
				continue;
			}
			w->connect_fails = 0;
			pthread_mutex_lock(&x->mu);
			x->st.reconnects += w->had_conn;
			pthread_mutex_unlock(&x->mu);
			if (w->had_conn)
				xeng_xlog(x, CPK_XFER_LOG_WARN, "stream %u "
				     "connected again", w->idx);
		}
		r = t->kind == TASK_CHUNK ? xeng_run_chunk(x, w, t) :
					    xeng_run_batch(x, w, t);
		if (r == RUN_DEAD) {
			char *m = cpk_strdup(cpk_errmsg());

			xeng_meter_take(w);
			xeng_conn_close(x, &w->xs, &w->s, 1);
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
	{
		struct timespec cpu;

		if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
			w->cpu_us += (uint64_t)cpu.tv_sec * 1000000u +
				     (uint64_t)cpu.tv_nsec / 1000u;
	}
	pthread_mutex_lock(&x->mu);
	x->running--;
	if (!x->running && !x->abort) {
		/* the last worker: whatever is left cannot be done */
		const char *why = xeng_cancelled(x) ? "interrupted" : x->conn_err ?
				  x->conn_err : "no connection";

		while (x->nretry)
			task_fail(x, &x->p.t[x->retry[--x->nretry]], why);
		for (; x->next < x->p.nt; x->next++)
			if (!xeng_task_done(x, &x->p.t[x->next]))
				task_fail(x, &x->p.t[x->next], why);
	}
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

/* ---- progress ----------------------------------------------------------- */

void xeng_report(struct cpk_xfer *x, struct progress_state *ps, int final)
{
	struct cpk_xfer_progress pr;
	uint64_t inflight = 0;
	unsigned i;
	double now = xeng_since(&x->t0);

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
