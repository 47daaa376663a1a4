/*
 * Channels sharing a session (the mux), fatal errors, reply dispatch and
 * the pump that moves bytes between the byte queues and libssh.
 */
#define _GNU_SOURCE
#include "sftp_priv.h"

/* ---- sessions shared by channels -------------------------------------- */

cpk_err_t cpk_sftp_mux_new(ssh_session ss, struct cpk_sftp_mux **out)
{
	struct cpk_sftp_mux *m;
	pthread_condattr_t ca;

	*out = NULL;
	if (!ss)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_sftp_mux_new: no "
				   "session");
	if (!(m = calloc(1, sizeof(*m))))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if (pipe2(m->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(m);
		return cpk_err_sys("cannot create a pipe");
	}
	m->ss = ss;
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = m;
	return CPK_OK;
}

void cpk_sftp_mux_free(struct cpk_sftp_mux *m)
{
	if (!m)
		return;
	close(m->wake[0]);
	close(m->wake[1]);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	free(m);
}

void xsftp_mux_lock(struct cpk_sftp *s)
{
	int64_t t0;

	if (pthread_mutex_trylock(&s->mux->mu) == 0)
		return;
	/* another channel of the session holds it: count the wait */
	t0 = xsftp_now_us();
	pthread_mutex_lock(&s->mux->mu);
	s->meter.lock_wait_us += (uint64_t)(xsftp_now_us() - t0);
}

void xsftp_mux_unlock(struct cpk_sftp *s)
{
	struct cpk_sftp_mux *m = s->mux;

	/* Leaving with nobody in poll(): a waiter must take over. */
	if (!m->polling && m->nwaiting)
		pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

/* Wakes the waiting channels of the session that have something to do now
 * (mux->mu held). */
static void kick(struct cpk_sftp *self)
{
	struct cpk_sftp_mux *m = self->mux;
	struct cpk_sftp *c;
	int hit = 0, poller = 0;

	for (c = m->chans; c; c = c->mnext) {
		if (c == self || !c->waiting || !c->ch)
			continue;
		if (ssh_channel_poll(c->ch, 0) != 0 ||
		    (xsftp_bq_len(&c->tx) && ssh_channel_window_size(c->ch) > 0 &&
		     !(ssh_get_status(m->ss) & SSH_WRITE_PENDING))) {
			c->waiting = 0;
			hit = 1;
			poller |= c == m->poller;
		}
	}
	if (!hit)
		return;
	m->gen++;
	pthread_cond_broadcast(&m->cv);
	if (poller)
		(void)!write(m->wake[1], "", 1);
}

/* The same for channel setup, whose reads file other channels' packets
 * too (mux->mu held). */
void xsftp_mux_kick(struct cpk_sftp *s)
{
	if (s->mux->nchans > 1)
		kick(s);
}

/* A short nap during channel setup (mux->mu held, released meanwhile).
 * The setup's own calls read the socket too: first wake the channels
 * whose packets they filed. */
void xsftp_mux_nap(struct cpk_sftp *s, int ms)
{
	struct timespec dl;

	xsftp_mux_kick(s);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += ms * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	s->mux->nwaiting++;
	pthread_cond_timedwait(&s->mux->cv, &s->mux->mu, &dl);
	s->mux->nwaiting--;
}

/* ---- fatal errors ----------------------------------------------------- */

/* Marks the connection dead, fails every outstanding request (their
 * callbacks run), and returns ERR with the message for cpk_errmsg(). */
__attribute__((format(printf, 3, 4)))
cpk_err_t xsftp_fail(struct cpk_sftp *s, cpk_err_t err, const char *fmt, ...)
{
	va_list ap;

	if (!s->dead) {
		va_start(ap, fmt);
		vsnprintf(s->deadmsg, sizeof(s->deadmsg), fmt, ap);
		va_end(ap);
		s->dead = err;
		s->tx.head = s->tx.tail = 0;
		s->rx.head = s->rx.tail = 0;
		xsftp_complete_all(s);
	}
	return cpk_err_set(s->dead, "%s", s->deadmsg);
}

cpk_err_t xsftp_dead_err(struct cpk_sftp *s)
{
	return cpk_err_set(s->dead, "%s", s->deadmsg);
}

static void slot_release(struct cpk_sftp *s, unsigned idx)
{
	s->slots[idx].used = 0;
	s->freelist[s->nfree++] = idx;
}

void xsftp_complete_all(struct cpk_sftp *s)
{
	struct cpk_sftp_reply r;
	unsigned i;

	for (i = 0; i < s->window; i++) {
		struct slot sl = s->slots[i];

		if (!sl.used)
			continue;
		slot_release(s, i);
		memset(&r, 0, sizeof(r));
		r.op = sl.op;
		r.err = s->dead;
		r.status = FX_CONNECTION_LOST;
		r.msg = s->deadmsg;
		r.offset = sl.offset;
		r.want = sl.want;
		if (sl.cb) {
			s->in_cb++;
			sl.cb(s, &r, sl.arg);
			s->in_cb--;
		}
	}
}

/* ---- reply dispatch --------------------------------------------------- */

static cpk_err_t parse_names(struct cpk_sftp *s, struct rd *r,
			     struct cpk_sftp_reply *rep, size_t plen)
{
	uint32_t count = xsftp_rd_u32(r), i;
	size_t need = plen * 2 + 2, used = 0;
	char *sp;

	if (r->bad || count > plen / 12)
		return xsftp_fail(s, CPK_ERR_IO, "malformed NAME reply from the sftp "
			    "server on %s", s->where);
	if (count > s->names_cap) {
		struct cpk_sftp_name *n = cpk_reallocarray(s->names, count,
							   sizeof(*n));
		if (!n)
			return xsftp_fail(s, CPK_ERR_NOMEM, "out of memory reading "
				    "a directory from %s", s->where);
		s->names = n;
		s->names_cap = count;
	}
	if (need > s->strs_cap) {
		sp = realloc(s->strs, need);
		if (!sp)
			return xsftp_fail(s, CPK_ERR_NOMEM, "out of memory reading "
				    "a directory from %s", s->where);
		s->strs = sp;
		s->strs_cap = need;
	}
	for (i = 0; i < count; i++) {
		const unsigned char *a, *b;
		size_t la, lb;

		a = xsftp_rd_str(r, &la);
		b = xsftp_rd_str(r, &lb);
		xsftp_rd_attr(r, &s->names[i].attr);
		if (r->bad || used + la + lb + 2 > need)
			return xsftp_fail(s, CPK_ERR_IO, "malformed NAME reply from "
				    "the sftp server on %s", s->where);
		s->names[i].name = s->strs + used;
		s->names[i].namelen = la;	/* a NUL inside shows here */
		memcpy(s->strs + used, a, la);
		used += la;
		s->strs[used++] = '\0';
		s->names[i].longname = s->strs + used;
		memcpy(s->strs + used, b, lb);
		used += lb;
		s->strs[used++] = '\0';
	}
	rep->names = s->names;
	rep->count = count;
	return CPK_OK;
}

static int op_expects(int op, int type)
{
	switch (type) {
	case FXP_HANDLE:
		return op == CPK_SFTP_OP_OPEN || op == CPK_SFTP_OP_OPENDIR;
	case FXP_DATA:
		return op == CPK_SFTP_OP_READ;
	case FXP_NAME:	/* EXTENDED: expand-path@openssh.com */
		return op == CPK_SFTP_OP_READDIR || op == CPK_SFTP_OP_REALPATH ||
		       op == CPK_SFTP_OP_READLINK || op == CPK_SFTP_OP_EXTENDED;
	case FXP_ATTRS:
		return op == CPK_SFTP_OP_STAT || op == CPK_SFTP_OP_LSTAT ||
		       op == CPK_SFTP_OP_FSTAT;
	case FXP_EXTENDED_REPLY:
		return op == CPK_SFTP_OP_EXTENDED;
	default:
		return 0;
	}
}

/* Whether OK is a complete answer to OP (else it must carry data). */
static int op_status_only(int op)
{
	switch (op) {
	case CPK_SFTP_OP_OPEN: case CPK_SFTP_OP_OPENDIR:
	case CPK_SFTP_OP_READ: case CPK_SFTP_OP_READDIR:
	case CPK_SFTP_OP_REALPATH: case CPK_SFTP_OP_READLINK:
	case CPK_SFTP_OP_STAT: case CPK_SFTP_OP_LSTAT: case CPK_SFTP_OP_FSTAT:
		return 0;
	default:
		return 1;
	}
}

static cpk_err_t dispatch(struct cpk_sftp *s, const unsigned char *p,
			  size_t len)
{
	struct rd r = { p, len, 0 };
	struct cpk_sftp_reply rep;
	struct cpk_sftp_handle h;
	struct cpk_sftp_attr attr;
	struct slot sl;
	uint8_t type = xsftp_rd_u8(&r);
	uint32_t id = xsftp_rd_u32(&r), idx = id & SLOT_MASK;
	cpk_err_t err;

	if (r.bad || idx >= s->window || !s->slots[idx].used ||
	    s->slots[idx].id != id)
		return xsftp_fail(s, CPK_ERR_IO, "the sftp server on %s sent a reply "
			    "(type %u) to an unknown request id %" PRIu32,
			    s->where, type, id);
	sl = s->slots[idx];
	memset(&rep, 0, sizeof(rep));
	rep.op = sl.op;
	rep.offset = sl.offset;
	rep.want = sl.want;
	rep.msg = "";

	if (type == FXP_STATUS) {
		const unsigned char *m;
		size_t ml = 0;

		rep.status = xsftp_rd_u32(&r);
		if (r.bad)
			goto malformed;
		m = xsftp_rd_str(&r, &ml);	/* missing in some old servers */
		if (!m)
			ml = 0;
		if (ml >= sizeof(s->msgbuf))
			ml = sizeof(s->msgbuf) - 1;
		if (ml)
			memcpy(s->msgbuf, m, ml);
		s->msgbuf[ml] = '\0';
		rep.msg = s->msgbuf;
		if (rep.status == FX_EOF && (sl.op == CPK_SFTP_OP_READ ||
					     sl.op == CPK_SFTP_OP_READDIR)) {
			rep.eof = 1;
		} else if (rep.status == FX_OK && !op_status_only(sl.op)) {
			return xsftp_fail(s, CPK_ERR_IO, "the sftp server on %s "
				    "answered request type %d with a bare OK",
				    s->where, sl.op);
		} else {
			rep.err = xsftp_status_err(rep.status);
			if (rep.status == FX_EOF)
				rep.err = CPK_ERR_IO;
		}
	} else {
		if (!op_expects(sl.op, type))
			return xsftp_fail(s, CPK_ERR_IO, "the sftp server on %s "
				    "answered request type %d with packet "
				    "type %u", s->where, sl.op, type);
		switch (type) {
		case FXP_HANDLE: {
			const unsigned char *d = xsftp_rd_str(&r, &len);

			if (r.bad || len > CPK_SFTP_HANDLE_MAX)
				goto malformed;
			h.len = (uint32_t)len;
			memcpy(h.data, d, len);
			rep.handle = &h;
			break;
		}
		case FXP_DATA:
			rep.data = xsftp_rd_str(&r, &rep.len);
			if (r.bad || rep.len > sl.want)
				goto malformed;
			break;
		case FXP_NAME:
			err = parse_names(s, &r, &rep, len);
			if (err)
				return err;
			break;
		case FXP_ATTRS:
			xsftp_rd_attr(&r, &attr);
			if (r.bad)
				goto malformed;
			rep.attr = &attr;
			break;
		case FXP_EXTENDED_REPLY:
			rep.data = r.p;
			rep.len = r.n;
			break;
		}
	}
	slot_release(s, idx);
	s->completions++;
	if (sl.cb) {
		s->in_cb++;
		sl.cb(s, &rep, sl.arg);
		s->in_cb--;
	}
	return s->dead ? xsftp_dead_err(s) : CPK_OK;
malformed:
	return xsftp_fail(s, CPK_ERR_IO, "malformed reply (type %u) from the sftp "
		    "server on %s", type, s->where);
}

/* Dispatches every complete packet in rx. */
static cpk_err_t parse_rx(struct cpk_sftp *s)
{
	struct bq *b = &s->rx;
	cpk_err_t err;

	while (xsftp_bq_len(b) >= 4) {
		uint32_t plen = get_be32(b->p + b->head);

		if (plen == 0 || plen > MAX_IN_PACKET)
			return xsftp_fail(s, CPK_ERR_IO, "the sftp server on %s sent "
				    "a packet of %" PRIu32 " bytes (limit %d)",
				    s->where, plen, MAX_IN_PACKET);
		if (xsftp_bq_len(b) - 4 < plen)
			break;
		err = dispatch(s, b->p + b->head + 4, plen);
		if (err)
			return err;
		xsftp_bq_consume(b, 4 + (size_t)plen);
	}
	return CPK_OK;
}

/* Room to read into rx: at least what the partial packet needs. */
cpk_err_t xsftp_rx_room(struct cpk_sftp *s, size_t *room)
{
	struct bq *b = &s->rx;
	size_t need = 65536;

	if (xsftp_bq_len(b) >= 4) {
		size_t want = 4 + (size_t)get_be32(b->p + b->head) - xsftp_bq_len(b);

		if (want > need)
			need = want;
	}
	if (b->cap - b->tail < need && !xsftp_bq_reserve(b, need))
		return xsftp_fail(s, CPK_ERR_NOMEM, "out of memory receiving from %s",
			    s->where);
	*room = b->cap - b->tail;
	if (*room > UINT32_MAX)
		*room = UINT32_MAX;
	return CPK_OK;
}

cpk_err_t xsftp_channel_gone(struct cpk_sftp *s)
{
	char errbuf[256] = "";
	int n;

	/* The subsystem may have said why on stderr. */
	n = ssh_channel_read_nonblocking(s->ch, errbuf, sizeof(errbuf) - 1, 1);
	if (n > 0) {
		errbuf[n] = '\0';
		errbuf[strcspn(errbuf, "\r\n")] = '\0';
	}
	return xsftp_fail(s, CPK_ERR_IO, "the sftp server on %s closed the "
		    "connection%s%s", s->where, n > 0 ? ": " : "",
		    n > 0 ? errbuf : "");
}

/* Reads what libssh has and dispatches it.  *MOVED += bytes read. */
static cpk_err_t read_rx(struct cpk_sftp *s, size_t *moved)
{
	size_t total = 0, room;
	cpk_err_t err;
	int n;

	while (total < READ_BUDGET) {
		err = xsftp_rx_room(s, &room);
		if (err)
			return err;
		n = ssh_channel_read_nonblocking(s->ch, s->rx.p + s->rx.tail,
						 (uint32_t)room, 0);
		if (n == SSH_EOF)
			return xsftp_channel_gone(s);
		if (n < 0)
			return xsftp_fail(s, CPK_ERR_IO, "cannot read from the sftp "
				    "server on %s: %s", s->where,
				    ssh_get_error(s->ssh));
		if (n == 0) {
			if (ssh_channel_is_closed(s->ch) ||
			    ssh_channel_is_eof(s->ch))
				return xsftp_channel_gone(s);
			break;
		}
		s->rx.tail += (size_t)n;
		total += (size_t)n;
		err = parse_rx(s);
		if (err)
			return err;
	}
	*moved += total;
	return CPK_OK;
}

/*
 * Writes what the remote window accepts, TX_SLICE at a time, and only while
 * libssh's own output buffer is empty: what the socket does not take at once
 * stays in libssh, and without this it would hold a whole channel window per
 * connection.  *MOVED += bytes written.
 */
static cpk_err_t flush_tx(struct cpk_sftp *s, size_t *moved)
{
	for (;;) {
		uint32_t win;
		size_t n = xsftp_bq_len(&s->tx);
		int w;

		/* libssh's own leftovers first (maybe another channel's) */
		if ((ssh_get_status(s->ssh) & SSH_WRITE_PENDING) &&
		    ssh_blocking_flush(s->ssh, 0) == SSH_ERROR)
			return xsftp_fail(s, CPK_ERR_IO, "cannot send to the sftp "
				    "server on %s: %s", s->where,
				    ssh_get_error(s->ssh));
		if (!n || (ssh_get_status(s->ssh) & SSH_WRITE_PENDING))
			break;
		win = ssh_channel_window_size(s->ch);
		if (win == 0)
			break;
		if (n > win)
			n = win;
		if (n > TX_SLICE)
			n = TX_SLICE;
		w = ssh_channel_write(s->ch, s->tx.p + s->tx.head, (uint32_t)n);
		if (w < 0) {
			if (ssh_channel_is_closed(s->ch) ||
			    ssh_channel_is_eof(s->ch))
				return xsftp_channel_gone(s);
			return xsftp_fail(s, CPK_ERR_IO, "cannot send to the sftp "
				    "server on %s: %s", s->where,
				    ssh_get_error(s->ssh));
		}
		xsftp_bq_consume(&s->tx, (size_t)w);
		*moved += (size_t)w;
		if ((size_t)w < n)
			break;
	}
	return CPK_OK;
}

/*
 * Waits up to TIMEOUT_MS for something to do (mux->mu held, released while
 * waiting): in poll() on the socket if no other channel of the session is
 * there already, else until a kick.  Returning early is harmless: callers
 * look again.
 */
static void meter_wait(struct cpk_sftp *s, int64_t t0, int on_window)
{
	int64_t us = xsftp_now_us() - t0;

	if (us < 0)
		us = 0;
	if (on_window)
		s->meter.window_wait_us += (uint64_t)us;
	else
		s->meter.reply_wait_us += (uint64_t)us;
}

cpk_err_t xsftp_wait_io(struct cpk_sftp *s, int timeout_ms)
{
	struct cpk_sftp_mux *m = s->mux;
	struct pollfd pfd[2];
	char drain[64];
	int rc, e, on_window;
	unsigned inflight = s->window - s->nfree;
	int64_t t0 = xsftp_now_us();

	/* data to send and no window for it: the SSH window is the limit */
	on_window = xsftp_bq_len(&s->tx) && s->ch &&
		    ssh_channel_window_size(s->ch) == 0;
	s->meter.waits++;
	s->meter.inflight_sum += inflight;
	if (inflight > s->meter.inflight_max)
		s->meter.inflight_max = inflight;
	s->waiting = 1;
	if (m->polling) {
		struct timespec dl;

		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		dl.tv_sec += dl.tv_nsec / 1000000000L;
		dl.tv_nsec %= 1000000000L;
		m->nwaiting++;
		pthread_cond_timedwait(&m->cv, &m->mu, &dl);
		m->nwaiting--;
		s->waiting = 0;
		meter_wait(s, t0, on_window);
		return CPK_OK;
	}
	pfd[0].fd = ssh_get_fd(m->ss);
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	if (pfd[0].fd < 0) {
		s->waiting = 0;
		return xsftp_fail(s, CPK_ERR_IO, "the connection to %s is closed",
			    s->where);
	}
	if (ssh_get_status(m->ss) & SSH_WRITE_PENDING)
		pfd[0].events |= POLLOUT;
	pfd[1].fd = m->wake[0];
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	m->polling = 1;
	m->poller = s;
	pthread_mutex_unlock(&m->mu);
	rc = poll(pfd, 2, timeout_ms);
	e = errno;
	while (read(m->wake[0], drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&m->mu);
	m->polling = 0;
	m->poller = NULL;
	s->waiting = 0;
	meter_wait(s, t0, on_window);
	if (rc < 0 && e != EINTR)
		return xsftp_fail(s, cpk_err_sys("poll"), "cannot wait for the sftp "
			    "server on %s: %s", s->where, strerror(e));
	return CPK_OK;
}

/*
 * The engine.  Sends and receives; if no reply was completed, waits up to
 * TIMEOUT_MS (-1: until one completes) and tries again.
 */
static cpk_err_t pump_locked(struct cpk_sftp *s, int timeout_ms)
{
	unsigned long before = s->completions;
	int64_t start = xsftp_now_ms(), idle_since = start;
	size_t sent = 0;
	cpk_err_t err;

	if (s->dead)
		return xsftp_dead_err(s);
	for (;;) {
		size_t moved = 0;
		int64_t t;
		int wait;

		err = flush_tx(s, &moved);
		s->meter.bytes_tx += moved;
		sent += moved;
		if (!err) {
			size_t in = 0;

			err = read_rx(s, &in);
			s->meter.bytes_rx += in;
			moved += in;
		}
		if (s->mux->nchans > 1)
			kick(s);
		if (err)
			return err;
		if (moved) {
			s->meter.last_us = xsftp_now_us();
			if (!s->meter.first_us)
				s->meter.first_us = s->meter.last_us;
		}
		if (s->completions != before || timeout_ms == 0 ||
		    s->nfree == s->window)
			return CPK_OK;
		/* Everything queued went out and the window has room: let the
		 * caller queue more now.  Waiting for a reply instead kept the
		 * requests in flight at what the first burst sent, however
		 * wide the SSH window (one channel at RTT 100 ms: 12.5 MB/s
		 * with sshd's 2 MiB window; sftp(1) 17.7; now 13.8).  Not
		 * while the window is the limit (data still queued): feeding
		 * then only costs CPU (at RTT 0, 35% more in cpk). */
		if (sent && s->nfree && !xsftp_bq_len(&s->tx))
			return CPK_OK;
		t = xsftp_now_ms();
		if (moved)
			idle_since = t;
		else if (t - idle_since >= s->io_timeout_ms)
			return xsftp_fail(s, CPK_ERR_IO, "no reply from the sftp "
				    "server on %s for %d s (%u requests "
				    "outstanding)", s->where,
				    s->io_timeout_ms / 1000,
				    s->window - s->nfree);
		if (moved)
			continue;	/* more may be ready at once */
		wait = (int)(s->io_timeout_ms - (t - idle_since));
		if (timeout_ms > 0) {
			if (t - start >= timeout_ms)
				return CPK_OK;
			if (timeout_ms - (t - start) < wait)
				wait = (int)(timeout_ms - (t - start));
		}
		err = xsftp_wait_io(s, wait);
		if (err)
			return err;
	}
}

cpk_err_t xsftp_pump(struct cpk_sftp *s, int timeout_ms)
{
	cpk_err_t err;

	xsftp_mux_lock(s);
	err = pump_locked(s, timeout_ms);
	xsftp_mux_unlock(s);
	return err;
}

cpk_err_t cpk_sftp_pump(struct cpk_sftp *s, int timeout_ms)
{
	if (s->in_cb)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_sftp_pump() called "
				   "from a reply callback");
	return xsftp_pump(s, timeout_ms);
}

cpk_err_t cpk_sftp_drain(struct cpk_sftp *s)
{
	cpk_err_t err;

	if (s->in_cb)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_sftp_drain() called "
				   "from a reply callback");
	while (s->nfree < s->window)
		if ((err = xsftp_pump(s, -1)) != 0)
			return err;
	return s->dead ? xsftp_dead_err(s) : CPK_OK;
}

unsigned cpk_sftp_inflight(const struct cpk_sftp *s)
{
	return s->window - s->nfree;
}

void cpk_sftp_meter_take(struct cpk_sftp *s, struct cpk_sftp_meter *m)
{
	if (!s)
		return;
	xsftp_mux_lock(s);
	m->bytes_tx += s->meter.bytes_tx;
	m->bytes_rx += s->meter.bytes_rx;
	m->window_wait_us += s->meter.window_wait_us;
	m->reply_wait_us += s->meter.reply_wait_us;
	m->lock_wait_us += s->meter.lock_wait_us;
	m->inflight_sum += s->meter.inflight_sum;
	m->waits += s->meter.waits;
	if (s->meter.inflight_max > m->inflight_max)
		m->inflight_max = s->meter.inflight_max;
	if (s->meter.first_us &&
	    (!m->first_us || s->meter.first_us < m->first_us))
		m->first_us = s->meter.first_us;
	if (s->meter.last_us > m->last_us)
		m->last_us = s->meter.last_us;
	memset(&s->meter, 0, sizeof(s->meter));
	xsftp_mux_unlock(s);
}

unsigned cpk_sftp_slots(const struct cpk_sftp *s)
{
	return s->nfree;
}
