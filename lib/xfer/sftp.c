/*
 * Pipelined SFTP v3 client: see sftp.h for the contract.
 *
 * Design (details in docs/internals/xfer.md):
 *  - Requests are encoded straight into `tx`, a byte queue of bytes not yet
 *    accepted by the SSH channel.  A pump writes at most the channel's remote
 *    window (ssh_channel_window_size()), so ssh_channel_write() never waits
 *    for a WINDOW_ADJUST; it only flushes the socket, and libssh's flush
 *    keeps reading incoming packets meanwhile.  No deadlock: we never block
 *    on the server's window while its replies wait for ours.
 *  - Replies are read into `rx` with ssh_channel_read_nonblocking(); every
 *    complete packet is parsed in place and handed to its request's callback
 *    (READ data is a pointer into rx: no copy).
 *  - A request table of `window` slots; a request id carries its slot index
 *    in the low SLOT_BITS bits, so a reply finds its request in O(1).
 *  - When there is nothing to send and nothing to read, poll() on the
 *    session's socket (POLLOUT too if libssh holds unsent bytes).
 *  - Several channels may share one session, each on its own thread: every
 *    libssh call then runs under the session's mux lock, and a waiting
 *    thread is woken by whoever files its packets (struct cpk_sftp_mux).
 *    A channel alone on its session has a private mux: one code path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpk/sftp.h"
#include "internal.h"

/* Packet types. */
#define FXP_INIT		1
#define FXP_VERSION		2
#define FXP_STATUS		101
#define FXP_HANDLE		102
#define FXP_DATA		103
#define FXP_NAME		104
#define FXP_ATTRS		105
#define FXP_EXTENDED_REPLY	201

/* Status codes. */
#define FX_OK			0
#define FX_EOF			1
#define FX_NO_SUCH_FILE		2
#define FX_PERMISSION_DENIED	3
#define FX_FAILURE		4
#define FX_BAD_MESSAGE		5
#define FX_NO_CONNECTION	6
#define FX_CONNECTION_LOST	7
#define FX_OP_UNSUPPORTED	8

#define SLOT_BITS	10
#define MAX_WINDOW	(1u << SLOT_BITS)
#define SLOT_MASK	(MAX_WINDOW - 1)

#define DEF_WINDOW	64
#define DEF_CHUNK	(256 * 1024)
#define MIN_CHUNK	4096
#define DEF_UNSENT	(4 * 1024 * 1024)
#define DEF_TIMEOUT_MS	300000
/* Without limits@openssh.com: what draft-02 servers must accept. */
#define SAFE_CHUNK	32768
#define SAFE_PACKET	34000
/* Largest reply we accept (OpenSSH's own client: 256 KiB). */
#define MAX_IN_PACKET	(1024 * 1024)
/* Bytes read from the channel per pump before returning to the caller. */
#define READ_BUDGET	(2 * 1024 * 1024)
/* Bytes handed to ssh_channel_write() at once (see flush_tx()). */
#define TX_SLICE	(256 * 1024)

#define EXT_LIMITS	0x1
#define EXT_POSIX_RENAME 0x2
#define EXT_FSYNC	0x4
#define EXT_STATVFS	0x8

struct slot {
	uint32_t id;
	uint8_t op;
	uint8_t used;
	uint32_t want;
	uint64_t offset;
	cpk_sftp_cb *cb;
	void *arg;
};

/* A byte queue: live bytes are [head, tail). */
struct bq {
	unsigned char *p;
	size_t head, tail, cap;
};

/*
 * Channels sharing one SSH session, each driven by its own thread.  libssh
 * is not thread-safe per session, so every libssh call on it happens under
 * `mu`.  A thread with nothing to do waits: the first one in poll() on the
 * socket (and on `wake`), the others on `cv`.  Whoever processes incoming
 * packets (libssh files them into each channel's buffer) checks the waiting
 * channels and wakes those that now have data, window or an end (kick()).
 */
struct cpk_sftp_mux {
	ssh_session ss;
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* CLOCK_MONOTONIC */
	int wake[2];		/* pipe: interrupts the thread in poll() */
	int polling;		/* a thread is in poll() */
	struct cpk_sftp *poller;
	unsigned nwaiting;	/* threads waiting on cv */
	unsigned long gen;	/* bumped by every kick */
	struct cpk_sftp *chans;	/* channels on the session */
	unsigned nchans;
};

struct cpk_sftp {
	ssh_session ssh;	/* borrowed */
	ssh_channel ch;		/* owned */
	struct cpk_sftp_mux *mux;	/* never NULL after cpk_sftp_new() */
	int own_mux;		/* a private one (no opts->mux) */
	struct cpk_sftp *mnext;	/* in mux->chans (mux->mu) */
	int waiting;		/* in wait_io(), wants a kick (mux->mu) */
	char *where;		/* host name, for messages */
	char subsystem[64];

	unsigned version;
	unsigned ext;
	int openssh;
	uint64_t lim_packet, lim_read, lim_write, lim_handles;
	size_t chunk;
	size_t max_out;		/* largest packet we send (length field) */
	size_t max_unsent;
	void (*on_data)(void *arg, uint64_t bytes);
	void *on_data_arg;
	int (*cancelled)(void *arg);
	void *cancelled_arg;
	int io_timeout_ms;

	struct slot *slots;
	unsigned window;
	unsigned *freelist;	/* stack of free slot indices */
	unsigned nfree;
	uint32_t seq;

	struct bq tx, rx;

	/* scratch for NAME replies, reused */
	struct cpk_sftp_name *names;
	size_t names_cap;
	char *strs;
	size_t strs_cap;
	char msgbuf[512];	/* NUL-terminated STATUS message */

	int in_cb;
	unsigned long completions;
	cpk_err_t dead;
	char deadmsg[768];
};

/* ---- small helpers ---------------------------------------------------- */

static inline void put_u32(unsigned char **w, uint32_t v)
{
	unsigned char *p = *w;

	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	*w = p + 4;
}

static inline void put_u64(unsigned char **w, uint64_t v)
{
	put_u32(w, (uint32_t)(v >> 32));
	put_u32(w, (uint32_t)v);
}

static inline void put_u8(unsigned char **w, uint8_t v)
{
	*(*w)++ = v;
}

static inline void put_bytes(unsigned char **w, const void *d, size_t n)
{
	put_u32(w, (uint32_t)n);
	if (n)
		memcpy(*w, d, n);
	*w += n;
}

static inline uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* A reader over one packet; `bad` is sticky. */
struct rd {
	const unsigned char *p;
	size_t n;
	int bad;
};

static uint8_t rd_u8(struct rd *r)
{
	if (r->bad || r->n < 1) {
		r->bad = 1;
		return 0;
	}
	r->n--;
	return *r->p++;
}

static uint32_t rd_u32(struct rd *r)
{
	uint32_t v;

	if (r->bad || r->n < 4) {
		r->bad = 1;
		return 0;
	}
	v = get_be32(r->p);
	r->p += 4;
	r->n -= 4;
	return v;
}

static uint64_t rd_u64(struct rd *r)
{
	uint64_t hi = rd_u32(r);

	return hi << 32 | rd_u32(r);
}

static const unsigned char *rd_str(struct rd *r, size_t *len)
{
	uint32_t n = rd_u32(r);
	const unsigned char *p;

	if (r->bad || r->n < n) {
		r->bad = 1;
		*len = 0;
		return NULL;
	}
	p = r->p;
	r->p += n;
	r->n -= n;
	*len = n;
	return p;
}

static void rd_attr(struct rd *r, struct cpk_sftp_attr *a)
{
	uint32_t i, next;

	memset(a, 0, sizeof(*a));
	a->flags = rd_u32(r);
	if (a->flags & CPK_SFTP_ATTR_SIZE)
		a->size = rd_u64(r);
	if (a->flags & CPK_SFTP_ATTR_UIDGID) {
		a->uid = rd_u32(r);
		a->gid = rd_u32(r);
	}
	if (a->flags & CPK_SFTP_ATTR_PERM)
		a->perm = rd_u32(r);
	if (a->flags & CPK_SFTP_ATTR_TIMES) {
		a->atime = rd_u32(r);
		a->mtime = rd_u32(r);
	}
	if (a->flags & 0x80000000u) {	/* extended pairs: skipped */
		next = rd_u32(r);
		for (i = 0; i < next && !r->bad; i++) {
			size_t l;

			rd_str(r, &l);
			rd_str(r, &l);
		}
	}
	a->flags &= CPK_SFTP_ATTR_SIZE | CPK_SFTP_ATTR_UIDGID |
		    CPK_SFTP_ATTR_PERM | CPK_SFTP_ATTR_TIMES;
}

static size_t attr_len(const struct cpk_sftp_attr *a)
{
	size_t n = 4;

	if (!a)
		return n;
	if (a->flags & CPK_SFTP_ATTR_SIZE)
		n += 8;
	if (a->flags & CPK_SFTP_ATTR_UIDGID)
		n += 8;
	if (a->flags & CPK_SFTP_ATTR_PERM)
		n += 4;
	if (a->flags & CPK_SFTP_ATTR_TIMES)
		n += 8;
	return n;
}

static void put_attr(unsigned char **w, const struct cpk_sftp_attr *a)
{
	uint32_t f;

	if (!a) {
		put_u32(w, 0);
		return;
	}
	f = a->flags & (CPK_SFTP_ATTR_SIZE | CPK_SFTP_ATTR_UIDGID |
			CPK_SFTP_ATTR_PERM | CPK_SFTP_ATTR_TIMES);
	put_u32(w, f);
	if (f & CPK_SFTP_ATTR_SIZE)
		put_u64(w, a->size);
	if (f & CPK_SFTP_ATTR_UIDGID) {
		put_u32(w, a->uid);
		put_u32(w, a->gid);
	}
	if (f & CPK_SFTP_ATTR_PERM)
		put_u32(w, a->perm);
	if (f & CPK_SFTP_ATTR_TIMES) {
		put_u32(w, a->atime);
		put_u32(w, a->mtime);
	}
}

static const char *status_text(uint32_t st)
{
	switch (st) {
	case FX_OK: return "success";
	case FX_EOF: return "end of file";
	case FX_NO_SUCH_FILE: return "no such file";
	case FX_PERMISSION_DENIED: return "permission denied";
	case FX_FAILURE: return "failure";
	case FX_BAD_MESSAGE: return "bad message";
	case FX_NO_CONNECTION: return "no connection";
	case FX_CONNECTION_LOST: return "connection lost";
	case FX_OP_UNSUPPORTED: return "operation unsupported";
	default: return "unknown status";
	}
}

static cpk_err_t status_err(uint32_t st)
{
	switch (st) {
	case FX_OK: return CPK_OK;
	case FX_NO_SUCH_FILE: return CPK_ERR_NOTFOUND;
	case FX_PERMISSION_DENIED: return CPK_ERR_PERM;
	case FX_BAD_MESSAGE:
	case FX_OP_UNSUPPORTED: return CPK_ERR_INVALID;
	default: return CPK_ERR_IO;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prefixes the current cpk_errmsg() with a formatted string. */
__attribute__((format(printf, 2, 3)))
static cpk_err_t err_prefix(cpk_err_t err, const char *fmt, ...)
{
	char old[1024], pre[1024];
	va_list ap;

	snprintf(old, sizeof(old), "%s", cpk_errmsg());
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	return cpk_err_set(err, "%s: %s", pre, old);
}

/* ---- byte queues -------------------------------------------------------- */

/* From this capacity on, a queue compacts rather than grows when it can. */
#define BQ_COMPACT	(1024 * 1024)

static size_t bq_len(const struct bq *b)
{
	return b->tail - b->head;
}

/* Makes room for N more bytes at tail; returns the write pointer or NULL. */
static unsigned char *bq_reserve(struct bq *b, size_t n)
{
	size_t live = bq_len(b), want;
	unsigned char *p;

	if (b->cap - b->tail >= n)
		return b->p + b->tail;
	if (live + n <= b->cap && b->head >= live) {
		/* Cheap: the live part is no larger than what was consumed. */
		memmove(b->p, b->p + b->head, live);
		b->head = 0;
		b->tail = live;
		return b->p + b->tail;
	}
	if (live + n <= b->cap && b->cap >= BQ_COMPACT) {
		/* Grown enough: compacting beats growing further. */
		memmove(b->p, b->p + b->head, live);
		b->head = 0;
		b->tail = live;
		return b->p + b->tail;
	}
	if (n > SIZE_MAX / 4 - live)
		return NULL;
	/* Twice what is live: a later compaction frees at least half. */
	want = 2 * (live + n);
	want = want < 65536 ? 65536 : (want + 65535) / 65536 * 65536;
	p = malloc(want);
	if (!p)
		return NULL;
	if (live)
		memcpy(p, b->p + b->head, live);
	free(b->p);
	b->p = p;
	b->cap = want;
	b->head = 0;
	b->tail = live;
	return b->p + b->tail;
}

static void bq_consume(struct bq *b, size_t n)
{
	b->head += n;
	if (b->head == b->tail)
		b->head = b->tail = 0;
}

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

static void mux_lock(struct cpk_sftp *s)
{
	pthread_mutex_lock(&s->mux->mu);
}

static void mux_unlock(struct cpk_sftp *s)
{
	struct cpk_sftp_mux *m = s->mux;

	/* Leaving with nobody in poll(): a waiter must take over. */
	if (!m->polling && m->nwaiting)
		pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

static size_t bq_len(const struct bq *b);

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
		    (bq_len(&c->tx) && ssh_channel_window_size(c->ch) > 0 &&
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

/* A short nap during channel setup (mux->mu held, released meanwhile). */
static void mux_nap(struct cpk_sftp *s, int ms)
{
	struct timespec dl;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += ms * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	s->mux->nwaiting++;
	pthread_cond_timedwait(&s->mux->cv, &s->mux->mu, &dl);
	s->mux->nwaiting--;
}

/* ---- fatal errors ----------------------------------------------------- */

static void complete_all(struct cpk_sftp *s);

/* Marks the connection dead, fails every outstanding request (their
 * callbacks run), and returns ERR with the message for cpk_errmsg(). */
__attribute__((format(printf, 3, 4)))
static cpk_err_t fail(struct cpk_sftp *s, cpk_err_t err, const char *fmt, ...)
{
	va_list ap;

	if (!s->dead) {
		va_start(ap, fmt);
		vsnprintf(s->deadmsg, sizeof(s->deadmsg), fmt, ap);
		va_end(ap);
		s->dead = err;
		s->tx.head = s->tx.tail = 0;
		s->rx.head = s->rx.tail = 0;
		complete_all(s);
	}
	return cpk_err_set(s->dead, "%s", s->deadmsg);
}

static cpk_err_t dead_err(struct cpk_sftp *s)
{
	return cpk_err_set(s->dead, "%s", s->deadmsg);
}

static void slot_release(struct cpk_sftp *s, unsigned idx)
{
	s->slots[idx].used = 0;
	s->freelist[s->nfree++] = idx;
}

static void complete_all(struct cpk_sftp *s)
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
	uint32_t count = rd_u32(r), i;
	size_t need = plen * 2 + 2, used = 0;
	char *sp;

	if (r->bad || count > plen / 12)
		return fail(s, CPK_ERR_IO, "malformed NAME reply from the sftp "
			    "server on %s", s->where);
	if (count > s->names_cap) {
		struct cpk_sftp_name *n = cpk_reallocarray(s->names, count,
							   sizeof(*n));
		if (!n)
			return fail(s, CPK_ERR_NOMEM, "out of memory reading "
				    "a directory from %s", s->where);
		s->names = n;
		s->names_cap = count;
	}
	if (need > s->strs_cap) {
		sp = realloc(s->strs, need);
		if (!sp)
			return fail(s, CPK_ERR_NOMEM, "out of memory reading "
				    "a directory from %s", s->where);
		s->strs = sp;
		s->strs_cap = need;
	}
	for (i = 0; i < count; i++) {
		const unsigned char *a, *b;
		size_t la, lb;

		a = rd_str(r, &la);
		b = rd_str(r, &lb);
		rd_attr(r, &s->names[i].attr);
		if (r->bad || used + la + lb + 2 > need)
			return fail(s, CPK_ERR_IO, "malformed NAME reply from "
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
	case FXP_NAME:
		return op == CPK_SFTP_OP_READDIR || op == CPK_SFTP_OP_REALPATH ||
		       op == CPK_SFTP_OP_READLINK;
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
	uint8_t type = rd_u8(&r);
	uint32_t id = rd_u32(&r), idx = id & SLOT_MASK;
	cpk_err_t err;

	if (r.bad || idx >= s->window || !s->slots[idx].used ||
	    s->slots[idx].id != id)
		return fail(s, CPK_ERR_IO, "the sftp server on %s sent a reply "
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

		rep.status = rd_u32(&r);
		if (r.bad)
			goto malformed;
		m = rd_str(&r, &ml);	/* missing in some old servers */
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
			return fail(s, CPK_ERR_IO, "the sftp server on %s "
				    "answered request type %d with a bare OK",
				    s->where, sl.op);
		} else {
			rep.err = status_err(rep.status);
			if (rep.status == FX_EOF)
				rep.err = CPK_ERR_IO;
		}
	} else {
		if (!op_expects(sl.op, type))
			return fail(s, CPK_ERR_IO, "the sftp server on %s "
				    "answered request type %d with packet "
				    "type %u", s->where, sl.op, type);
		switch (type) {
		case FXP_HANDLE: {
			const unsigned char *d = rd_str(&r, &len);

			if (r.bad || len > CPK_SFTP_HANDLE_MAX)
				goto malformed;
			h.len = (uint32_t)len;
			memcpy(h.data, d, len);
			rep.handle = &h;
			break;
		}
		case FXP_DATA:
			rep.data = rd_str(&r, &rep.len);
			if (r.bad || rep.len > sl.want)
				goto malformed;
			break;
		case FXP_NAME:
			err = parse_names(s, &r, &rep, len);
			if (err)
				return err;
			break;
		case FXP_ATTRS:
			rd_attr(&r, &attr);
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
	return s->dead ? dead_err(s) : CPK_OK;
malformed:
	return fail(s, CPK_ERR_IO, "malformed reply (type %u) from the sftp "
		    "server on %s", type, s->where);
}

/* Dispatches every complete packet in rx. */
static cpk_err_t parse_rx(struct cpk_sftp *s)
{
	struct bq *b = &s->rx;
	cpk_err_t err;

	while (bq_len(b) >= 4) {
		uint32_t plen = get_be32(b->p + b->head);

		if (plen == 0 || plen > MAX_IN_PACKET)
			return fail(s, CPK_ERR_IO, "the sftp server on %s sent "
				    "a packet of %" PRIu32 " bytes (limit %d)",
				    s->where, plen, MAX_IN_PACKET);
		if (bq_len(b) - 4 < plen)
			break;
		err = dispatch(s, b->p + b->head + 4, plen);
		if (err)
			return err;
		bq_consume(b, 4 + (size_t)plen);
	}
	return CPK_OK;
}

/* Room to read into rx: at least what the partial packet needs. */
static cpk_err_t rx_room(struct cpk_sftp *s, size_t *room)
{
	struct bq *b = &s->rx;
	size_t need = 65536;

	if (bq_len(b) >= 4) {
		size_t want = 4 + (size_t)get_be32(b->p + b->head) - bq_len(b);

		if (want > need)
			need = want;
	}
	if (b->cap - b->tail < need && !bq_reserve(b, need))
		return fail(s, CPK_ERR_NOMEM, "out of memory receiving from %s",
			    s->where);
	*room = b->cap - b->tail;
	if (*room > UINT32_MAX)
		*room = UINT32_MAX;
	return CPK_OK;
}

static cpk_err_t channel_gone(struct cpk_sftp *s)
{
	char errbuf[256] = "";
	int n;

	/* The subsystem may have said why on stderr. */
	n = ssh_channel_read_nonblocking(s->ch, errbuf, sizeof(errbuf) - 1, 1);
	if (n > 0) {
		errbuf[n] = '\0';
		errbuf[strcspn(errbuf, "\r\n")] = '\0';
	}
	return fail(s, CPK_ERR_IO, "the sftp server on %s closed the "
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
		err = rx_room(s, &room);
		if (err)
			return err;
		n = ssh_channel_read_nonblocking(s->ch, s->rx.p + s->rx.tail,
						 (uint32_t)room, 0);
		if (n == SSH_EOF)
			return channel_gone(s);
		if (n < 0)
			return fail(s, CPK_ERR_IO, "cannot read from the sftp "
				    "server on %s: %s", s->where,
				    ssh_get_error(s->ssh));
		if (n == 0) {
			if (ssh_channel_is_closed(s->ch) ||
			    ssh_channel_is_eof(s->ch))
				return channel_gone(s);
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
		size_t n = bq_len(&s->tx);
		int w;

		/* libssh's own leftovers first (maybe another channel's) */
		if ((ssh_get_status(s->ssh) & SSH_WRITE_PENDING) &&
		    ssh_blocking_flush(s->ssh, 0) == SSH_ERROR)
			return fail(s, CPK_ERR_IO, "cannot send to the sftp "
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
				return channel_gone(s);
			return fail(s, CPK_ERR_IO, "cannot send to the sftp "
				    "server on %s: %s", s->where,
				    ssh_get_error(s->ssh));
		}
		bq_consume(&s->tx, (size_t)w);
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
static cpk_err_t wait_io(struct cpk_sftp *s, int timeout_ms)
{
	struct cpk_sftp_mux *m = s->mux;
	struct pollfd pfd[2];
	char drain[64];
	int rc, e;

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
		return CPK_OK;
	}
	pfd[0].fd = ssh_get_fd(m->ss);
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	if (pfd[0].fd < 0) {
		s->waiting = 0;
		return fail(s, CPK_ERR_IO, "the connection to %s is closed",
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
	if (rc < 0 && e != EINTR)
		return fail(s, cpk_err_sys("poll"), "cannot wait for the sftp "
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
	int64_t start = now_ms(), idle_since = start;
	cpk_err_t err;

	if (s->dead)
		return dead_err(s);
	for (;;) {
		size_t moved = 0;
		int64_t t;
		int wait;

		err = flush_tx(s, &moved);
		if (!err)
			err = read_rx(s, &moved);
		if (s->mux->nchans > 1)
			kick(s);
		if (err)
			return err;
		if (s->completions != before || timeout_ms == 0 ||
		    s->nfree == s->window)
			return CPK_OK;
		t = now_ms();
		if (moved)
			idle_since = t;
		else if (t - idle_since >= s->io_timeout_ms)
			return fail(s, CPK_ERR_IO, "no reply from the sftp "
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
		err = wait_io(s, wait);
		if (err)
			return err;
	}
}

static cpk_err_t pump(struct cpk_sftp *s, int timeout_ms)
{
	cpk_err_t err;

	mux_lock(s);
	err = pump_locked(s, timeout_ms);
	mux_unlock(s);
	return err;
}

cpk_err_t cpk_sftp_pump(struct cpk_sftp *s, int timeout_ms)
{
	if (s->in_cb)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_sftp_pump() called "
				   "from a reply callback");
	return pump(s, timeout_ms);
}

cpk_err_t cpk_sftp_drain(struct cpk_sftp *s)
{
	cpk_err_t err;

	if (s->in_cb)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_sftp_drain() called "
				   "from a reply callback");
	while (s->nfree < s->window)
		if ((err = pump(s, -1)) != 0)
			return err;
	return s->dead ? dead_err(s) : CPK_OK;
}

unsigned cpk_sftp_inflight(const struct cpk_sftp *s)
{
	return s->window - s->nfree;
}

unsigned cpk_sftp_slots(const struct cpk_sftp *s)
{
	return s->nfree;
}

/* ---- request encoding ------------------------------------------------ */

/* Waits for a free slot and below max_unsent (not inside callbacks). */
static cpk_err_t wait_slot(struct cpk_sftp *s)
{
	cpk_err_t err;

	for (;;) {
		if (s->dead)
			return dead_err(s);
		if (s->nfree && (bq_len(&s->tx) < s->max_unsent || s->in_cb))
			return CPK_OK;
		if (s->in_cb)
			return cpk_err_set(CPK_ERR_INVALID, "sftp request "
					   "window to %s full (%u in flight): "
					   "cannot queue from a callback",
					   s->where, s->window);
		if ((err = pump(s, -1)) != 0)
			return err;
	}
}

/*
 * Starts a request of BODY bytes after type and id: returns the write
 * pointer at the body.  req_commit() makes it live.
 */
static cpk_err_t req_begin(struct cpk_sftp *s, uint8_t type, size_t body,
			   unsigned char **w, unsigned *slot)
{
	size_t total;
	unsigned idx;
	cpk_err_t err;

	if ((err = wait_slot(s)) != 0)
		return err;
	if (body > s->max_out - 5)
		return cpk_err_set(CPK_ERR_INVALID, "sftp request of %zu bytes "
				   "is larger than the %zu the server on %s "
				   "accepts", body + 5, s->max_out, s->where);
	total = 9 + body;
	*w = bq_reserve(&s->tx, total);
	if (!*w)
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory queueing an "
				   "sftp request to %s", s->where);
	idx = s->freelist[s->nfree - 1];
	s->seq++;
	s->slots[idx].id = (s->seq << SLOT_BITS) | idx;
	put_u32(w, (uint32_t)(total - 4));
	put_u8(w, type);
	put_u32(w, s->slots[idx].id);
	*slot = idx;
	return CPK_OK;
}

static void req_commit(struct cpk_sftp *s, unsigned idx, uint8_t op,
		       unsigned char *end, uint64_t off, uint32_t want,
		       cpk_sftp_cb *cb, void *arg)
{
	struct slot *sl = &s->slots[idx];

	s->tx.tail = (size_t)(end - s->tx.p);
	s->nfree--;	/* idx is the top of the free stack */
	sl->op = op;
	sl->used = 1;
	sl->offset = off;
	sl->want = want;
	sl->cb = cb;
	sl->arg = arg;
}

static cpk_err_t check_str(struct cpk_sftp *s, const char *what,
			   const void *p)
{
	if (!s)
		return cpk_err_set(CPK_ERR_INVALID, "sftp: no connection");
	if (!p)
		return cpk_err_set(CPK_ERR_INVALID, "sftp: no %s given", what);
	return CPK_OK;
}

/* A request whose body is one string (path) and an optional attr. */
static cpk_err_t req_path(struct cpk_sftp *s, uint8_t op, const char *path,
			  const struct cpk_sftp_attr *attr, int with_attr,
			  cpk_sftp_cb *cb, void *arg)
{
	size_t pl, body;
	unsigned char *w;
	unsigned idx;
	cpk_err_t err;

	if ((err = check_str(s, "path", path)) != 0)
		return err;
	pl = strlen(path);
	body = 4 + pl + (with_attr ? attr_len(attr) : 0);
	if ((err = req_begin(s, op, body, &w, &idx)) != 0)
		return err;
	put_bytes(&w, path, pl);
	if (with_attr)
		put_attr(&w, attr);
	req_commit(s, idx, op, w, 0, 0, cb, arg);
	return CPK_OK;
}

/* A request whose body is a handle, an optional attr. */
static cpk_err_t req_handle(struct cpk_sftp *s, uint8_t op,
			    const struct cpk_sftp_handle *h,
			    const struct cpk_sftp_attr *attr, int with_attr,
			    cpk_sftp_cb *cb, void *arg)
{
	unsigned char *w;
	unsigned idx;
	cpk_err_t err;

	if ((err = check_str(s, "handle", h)) != 0)
		return err;
	if (h->len > CPK_SFTP_HANDLE_MAX)
		return cpk_err_set(CPK_ERR_INVALID, "sftp: invalid handle");
	if ((err = req_begin(s, op, 4 + h->len +
			     (with_attr ? attr_len(attr) : 0), &w, &idx)) != 0)
		return err;
	put_bytes(&w, h->data, h->len);
	if (with_attr)
		put_attr(&w, attr);
	req_commit(s, idx, op, w, 0, 0, cb, arg);
	return CPK_OK;
}

cpk_err_t cpk_sftp_req_open(struct cpk_sftp *s, const char *path,
			    unsigned flags, const struct cpk_sftp_attr *attr,
			    cpk_sftp_cb *cb, void *arg)
{
	size_t pl;
	unsigned char *w;
	unsigned idx;
	cpk_err_t err;

	if ((err = check_str(s, "path", path)) != 0)
		return err;
	pl = strlen(path);
	if ((err = req_begin(s, CPK_SFTP_OP_OPEN, 4 + pl + 4 + attr_len(attr),
			     &w, &idx)) != 0)
		return err;
	put_bytes(&w, path, pl);
	put_u32(&w, flags);
	put_attr(&w, attr);
	req_commit(s, idx, CPK_SFTP_OP_OPEN, w, 0, 0, cb, arg);
	return CPK_OK;
}

cpk_err_t cpk_sftp_req_close(struct cpk_sftp *s,
			     const struct cpk_sftp_handle *h,
			     cpk_sftp_cb *cb, void *arg)
{
	return req_handle(s, CPK_SFTP_OP_CLOSE, h, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_read(struct cpk_sftp *s,
			    const struct cpk_sftp_handle *h, uint64_t off,
			    uint32_t len, cpk_sftp_cb *cb, void *arg)
{
	unsigned char *w;
	unsigned idx;
	cpk_err_t err;

	if ((err = check_str(s, "handle", h)) != 0)
		return err;
	if (h->len > CPK_SFTP_HANDLE_MAX || len == 0 || len > s->chunk)
		return cpk_err_set(CPK_ERR_INVALID, "sftp read of %" PRIu32
				   " bytes: must be 1..%zu", len, s->chunk);
	if ((err = req_begin(s, CPK_SFTP_OP_READ, 4 + h->len + 12, &w,
			     &idx)) != 0)
		return err;
	put_bytes(&w, h->data, h->len);
	put_u64(&w, off);
	put_u32(&w, len);
	req_commit(s, idx, CPK_SFTP_OP_READ, w, off, len, cb, arg);
	return CPK_OK;
}

/* Common part of the two WRITE variants: the data goes to *DATA. */
static cpk_err_t write_begin(struct cpk_sftp *s,
			     const struct cpk_sftp_handle *h, uint64_t off,
			     uint32_t len, unsigned char **data, unsigned *idx)
{
	unsigned char *w;
	cpk_err_t err;

	if ((err = check_str(s, "handle", h)) != 0)
		return err;
	if (h->len > CPK_SFTP_HANDLE_MAX || len > s->chunk)
		return cpk_err_set(CPK_ERR_INVALID, "sftp write of %" PRIu32
				   " bytes: must be at most %zu", len,
				   s->chunk);
	if ((err = req_begin(s, CPK_SFTP_OP_WRITE, 4 + h->len + 12 + len,
			     &w, idx)) != 0)
		return err;
	put_bytes(&w, h->data, h->len);
	put_u64(&w, off);
	put_u32(&w, len);
	*data = w;
	return CPK_OK;
}

cpk_err_t cpk_sftp_req_write(struct cpk_sftp *s,
			     const struct cpk_sftp_handle *h, uint64_t off,
			     const void *data, uint32_t len,
			     cpk_sftp_cb *cb, void *arg)
{
	unsigned char *w;
	unsigned idx;
	cpk_err_t err;

	if (len && !data)
		return cpk_err_set(CPK_ERR_INVALID, "sftp write: no data");
	if ((err = write_begin(s, h, off, len, &w, &idx)) != 0)
		return err;
	if (len)
		memcpy(w, data, len);
	req_commit(s, idx, CPK_SFTP_OP_WRITE, w + len, off, len, cb, arg);
	return CPK_OK;
}

cpk_err_t cpk_sftp_req_write_fd(struct cpk_sftp *s,
				const struct cpk_sftp_handle *h, uint64_t off,
				int fd, uint64_t fd_off, uint32_t len,
				cpk_sftp_cb *cb, void *arg)
{
	unsigned char *w;
	unsigned idx;
	size_t got = 0;
	cpk_err_t err;

	if ((err = write_begin(s, h, off, len, &w, &idx)) != 0)
		return err;
	while (got < len) {
		ssize_t n = pread(fd, w + got, len - got,
				  (off_t)(fd_off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cpk_err_sys("cannot read %" PRIu32 " bytes at "
					   "offset %" PRIu64 " of the local "
					   "file", len, fd_off);
		if (n == 0)
			return cpk_err_set(CPK_ERR_IO, "local file changed size:"
					   " end of file at offset %" PRIu64
					   ", expected %" PRIu64 " more bytes",
					   fd_off + got, (uint64_t)(len - got));
		got += (size_t)n;
	}
	req_commit(s, idx, CPK_SFTP_OP_WRITE, w + len, off, len, cb, arg);
	return CPK_OK;
}

cpk_err_t cpk_sftp_req_stat(struct cpk_sftp *s, const char *path,
			    cpk_sftp_cb *cb, void *arg)
{
	return req_path(s, CPK_SFTP_OP_STAT, path, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_lstat(struct cpk_sftp *s, const char *path,
			     cpk_sftp_cb *cb, void *arg)
{
	return req_path(s, CPK_SFTP_OP_LSTAT, path, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_fstat(struct cpk_sftp *s,
			     const struct cpk_sftp_handle *h,
			     cpk_sftp_cb *cb, void *arg)
{
	return req_handle(s, CPK_SFTP_OP_FSTAT, h, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_setstat(struct cpk_sftp *s, const char *path,
			       const struct cpk_sftp_attr *attr,
			       cpk_sftp_cb *cb, void *arg)
{
	return req_path(s, CPK_SFTP_OP_SETSTAT, path, attr, 1, cb, arg);
}

cpk_err_t cpk_sftp_req_fsetstat(struct cpk_sftp *s,
				const struct cpk_sftp_handle *h,
				const struct cpk_sftp_attr *attr,
				cpk_sftp_cb *cb, void *arg)
{
	return req_handle(s, CPK_SFTP_OP_FSETSTAT, h, attr, 1, cb, arg);
}

cpk_err_t cpk_sftp_req_mkdir(struct cpk_sftp *s, const char *path,
			     const struct cpk_sftp_attr *attr,
			     cpk_sftp_cb *cb, void *arg)
{
	return req_path(s, CPK_SFTP_OP_MKDIR, path, attr, 1, cb, arg);
}

cpk_err_t cpk_sftp_req_rmdir(struct cpk_sftp *s, const char *path,
			     cpk_sftp_cb *cb, void *arg)
{
	return req_path(s, CPK_SFTP_OP_RMDIR, path, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_remove(struct cpk_sftp *s, const char *path,
			      cpk_sftp_cb *cb, void *arg)
{
	return req_path(s, CPK_SFTP_OP_REMOVE, path, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_opendir(struct cpk_sftp *s, const char *path,
			       cpk_sftp_cb *cb, void *arg)
{
	return req_path(s, CPK_SFTP_OP_OPENDIR, path, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_readdir(struct cpk_sftp *s,
			       const struct cpk_sftp_handle *h,
			       cpk_sftp_cb *cb, void *arg)
{
	return req_handle(s, CPK_SFTP_OP_READDIR, h, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_readlink(struct cpk_sftp *s, const char *path,
				cpk_sftp_cb *cb, void *arg)
{
	return req_path(s, CPK_SFTP_OP_READLINK, path, NULL, 0, cb, arg);
}

cpk_err_t cpk_sftp_req_realpath(struct cpk_sftp *s, const char *path,
				cpk_sftp_cb *cb, void *arg)
{
	return req_path(s, CPK_SFTP_OP_REALPATH, path, NULL, 0, cb, arg);
}

/* Two strings: RENAME, SYMLINK, or EXTENDED name + two strings. */
static cpk_err_t req_two(struct cpk_sftp *s, uint8_t op, const char *ext,
			 const char *a, const char *b, cpk_sftp_cb *cb,
			 void *arg)
{
	size_t la, lb, le = ext ? strlen(ext) : 0;
	unsigned char *w;
	unsigned idx;
	cpk_err_t err;

	if ((err = check_str(s, "path", a)) != 0 ||
	    (err = check_str(s, "path", b)) != 0)
		return err;
	la = strlen(a);
	lb = strlen(b);
	if ((err = req_begin(s, op, (ext ? 4 + le : 0) + 8 + la + lb, &w,
			     &idx)) != 0)
		return err;
	if (ext)
		put_bytes(&w, ext, le);
	put_bytes(&w, a, la);
	put_bytes(&w, b, lb);
	req_commit(s, idx, op, w, 0, 0, cb, arg);
	return CPK_OK;
}

cpk_err_t cpk_sftp_req_rename(struct cpk_sftp *s, const char *from,
			      const char *to, unsigned flags,
			      cpk_sftp_cb *cb, void *arg)
{
	if (!(flags & CPK_SFTP_RENAME_OVERWRITE))
		return req_two(s, CPK_SFTP_OP_RENAME, NULL, from, to, cb, arg);
	if (s && !(s->ext & EXT_POSIX_RENAME))
		return cpk_err_set(CPK_ERR_INVALID, "the sftp server on %s "
				   "cannot replace files on rename (no "
				   "posix-rename@openssh.com)", s->where);
	return req_two(s, CPK_SFTP_OP_EXTENDED, "posix-rename@openssh.com",
		       from, to, cb, arg);
}

cpk_err_t cpk_sftp_req_symlink(struct cpk_sftp *s, const char *target,
			       const char *linkpath, cpk_sftp_cb *cb,
			       void *arg)
{
	/* draft-02 says (linkpath, target); OpenSSH has always read them the
	 * other way round, and other servers copied it. */
	if (s && !s->openssh)
		return req_two(s, CPK_SFTP_OP_SYMLINK, NULL, linkpath, target,
			       cb, arg);
	return req_two(s, CPK_SFTP_OP_SYMLINK, NULL, target, linkpath, cb,
		       arg);
}

cpk_err_t cpk_sftp_req_extended(struct cpk_sftp *s, const char *name,
				const void *payload, size_t len,
				cpk_sftp_cb *cb, void *arg)
{
	unsigned char *w;
	unsigned idx;
	size_t nl;
	cpk_err_t err;

	if ((err = check_str(s, "extension name", name)) != 0)
		return err;
	if ((len && !payload) || len > SIZE_MAX / 4)
		return cpk_err_set(CPK_ERR_INVALID, "sftp extended request: "
				   "invalid payload");
	nl = strlen(name);
	if ((err = req_begin(s, CPK_SFTP_OP_EXTENDED, 4 + nl + len, &w,
			     &idx)) != 0)
		return err;
	put_bytes(&w, name, nl);
	if (len)
		memcpy(w, payload, len);
	req_commit(s, idx, CPK_SFTP_OP_EXTENDED, w + len, 0, 0, cb, arg);
	return CPK_OK;
}

cpk_err_t cpk_sftp_reply_error(struct cpk_sftp *s,
			       const struct cpk_sftp_reply *r,
			       const char *what, ...)
{
	char pre[512];
	va_list ap;

	if (!r->err)
		return CPK_OK;
	va_start(ap, what);
	vsnprintf(pre, sizeof(pre), what, ap);
	va_end(ap);
	if (r->status == FX_CONNECTION_LOST && s && s->dead)
		return cpk_err_set(r->err, "%s: %s", pre, r->msg);
	return cpk_err_set(r->err, "%s: %s (server: %s)", pre,
			   r->status ? status_text(r->status) :
			   cpk_strerror(r->err),
			   r->msg && *r->msg ? r->msg : "no message");
}

/* ---- blocking calls --------------------------------------------------- */

struct sync {
	int done;
	struct cpk_sftp_reply r;	/* err, status, eof copied */
	char msg[512];
	struct cpk_sftp_handle *h;
	struct cpk_sftp_attr *attr;
	void *buf;
	size_t cap, got;
	char *str;
	struct cpk_sftp_name *names;
	size_t n, alloc;
	cpk_err_t oom;
};

static void sync_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		    void *arg)
{
	struct sync *y = arg;
	size_t i;

	(void)s;
	y->done = 1;
	y->r.op = r->op;
	y->r.err = r->err;
	y->r.status = r->status;
	y->r.eof = r->eof;
	snprintf(y->msg, sizeof(y->msg), "%s", r->msg ? r->msg : "");
	y->r.msg = y->msg;
	if (r->err || r->eof)
		return;
	switch (r->op) {
	case CPK_SFTP_OP_OPEN:
	case CPK_SFTP_OP_OPENDIR:
		if (y->h)
			*y->h = *r->handle;
		break;
	case CPK_SFTP_OP_STAT:
	case CPK_SFTP_OP_LSTAT:
	case CPK_SFTP_OP_FSTAT:
		if (y->attr)
			*y->attr = *r->attr;
		break;
	case CPK_SFTP_OP_READ:
		y->got = r->len < y->cap ? r->len : y->cap;
		if (y->got)
			memcpy(y->buf, r->data, y->got);
		break;
	case CPK_SFTP_OP_REALPATH:
	case CPK_SFTP_OP_READLINK:
		if (r->count < 1) {
			y->r.err = CPK_ERR_IO;
			snprintf(y->msg, sizeof(y->msg), "empty NAME reply");
			break;
		}
		if (r->names[0].namelen != strlen(r->names[0].name)) {
			y->r.err = CPK_ERR_IO;
			snprintf(y->msg, sizeof(y->msg), "a NUL byte inside "
				 "the name the server sent");
			break;
		}
		y->str = cpk_strdup(r->names[0].name);
		if (!y->str)
			y->oom = CPK_ERR_NOMEM;
		break;
	case CPK_SFTP_OP_READDIR:
		for (i = 0; i < r->count; i++) {
			const char *nm = r->names[i].name;
			size_t nl = r->names[i].namelen;
			struct cpk_sftp_name *e;

			/* exactly "." or "..": ".\0x" is kept (and refused
			 * by the caller) */
			if (nl == strlen(nm) &&
			    (!strcmp(nm, ".") || !strcmp(nm, "..")))
				continue;
			if (y->n == y->alloc) {
				size_t na = y->alloc ? y->alloc * 2 : 64;

				e = cpk_reallocarray(y->names, na, sizeof(*e));
				if (!e) {
					y->oom = CPK_ERR_NOMEM;
					return;
				}
				y->names = e;
				y->alloc = na;
			}
			e = &y->names[y->n];
			if ((e->name = malloc(nl + 1)) != NULL) {
				memcpy(e->name, nm, nl);	/* NULs too */
				e->name[nl] = '\0';
			}
			e->namelen = nl;
			e->longname = cpk_strdup(r->names[i].longname);
			e->attr = r->names[i].attr;
			if (!e->name || !e->longname) {
				free(e->name);
				free(e->longname);
				y->oom = CPK_ERR_NOMEM;
				return;
			}
			y->n++;
		}
		break;
	default:
		break;
	}
}

static cpk_err_t sync_guard(struct cpk_sftp *s)
{
	if (!s)
		return cpk_err_set(CPK_ERR_INVALID, "sftp: no connection");
	if (s->in_cb)
		return cpk_err_set(CPK_ERR_INVALID, "blocking sftp call from a "
				   "reply callback");
	return s->dead ? dead_err(s) : CPK_OK;
}

/* Waits for Y; returns its error with "cannot WHAT ARG on HOST: ...". */
static cpk_err_t sync_wait(struct cpk_sftp *s, struct sync *y,
			   const char *what, const char *arg)
{
	cpk_err_t err = CPK_OK;

	while (!y->done && !err)
		err = pump(s, -1);
	if (!y->done)
		return err;
	if (y->r.err)
		return cpk_sftp_reply_error(s, &y->r, "cannot %s%s%s on %s",
					    what, arg ? " " : "",
					    arg ? arg : "", s->where);
	if (y->oom)
		return cpk_err_set(y->oom, "cannot %s%s%s on %s: out of "
				   "memory", what, arg ? " " : "",
				   arg ? arg : "", s->where);
	return CPK_OK;
}

#define SYNC_INIT { 0 }

cpk_err_t cpk_sftp_open(struct cpk_sftp *s, const char *path, unsigned flags,
			uint32_t mode, struct cpk_sftp_handle *h)
{
	struct sync y = SYNC_INIT;
	struct cpk_sftp_attr a = { 0 };
	cpk_err_t err;

	if ((err = sync_guard(s)) != 0)
		return err;
	if (flags & CPK_SFTP_CREAT) {
		a.flags = CPK_SFTP_ATTR_PERM;
		a.perm = mode & 07777;
	}
	y.h = h;
	if ((err = cpk_sftp_req_open(s, path, flags, &a, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, (flags & CPK_SFTP_WRITE) ? "open for writing"
			 : "open", path);
}

cpk_err_t cpk_sftp_close(struct cpk_sftp *s, const struct cpk_sftp_handle *h)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_close(s, h, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "close a file", NULL);
}

cpk_err_t cpk_sftp_read(struct cpk_sftp *s, const struct cpk_sftp_handle *h,
			uint64_t off, void *buf, size_t len, size_t *got)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	*got = 0;
	if ((err = sync_guard(s)) != 0)
		return err;
	if (!buf || len > s->chunk || len == 0)
		return cpk_err_set(CPK_ERR_INVALID, "sftp read of %zu bytes: "
				   "must be 1..%zu", len, s->chunk);
	y.buf = buf;
	y.cap = len;
	if ((err = cpk_sftp_req_read(s, h, off, (uint32_t)len, sync_cb,
				     &y)) != 0 ||
	    (err = sync_wait(s, &y, "read", NULL)) != 0)
		return err;
	*got = y.r.eof ? 0 : y.got;
	return CPK_OK;
}

struct wstate {
	unsigned pending;
	struct cpk_sftp_reply r;
	char msg[512];
};

static void wstate_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		      void *arg)
{
	struct wstate *w = arg;

	(void)s;
	w->pending--;
	if (r->err && !w->r.err) {
		w->r = *r;
		snprintf(w->msg, sizeof(w->msg), "%s", r->msg);
		w->r.msg = w->msg;
	}
}

cpk_err_t cpk_sftp_write(struct cpk_sftp *s, const struct cpk_sftp_handle *h,
			 uint64_t off, const void *buf, size_t len)
{
	struct wstate w = { 0 };
	const unsigned char *p = buf;
	size_t done = 0;
	cpk_err_t err = CPK_OK;

	if ((err = sync_guard(s)) != 0)
		return err;
	if (len == 0)
		return CPK_OK;
	do {
		size_t n = len - done < s->chunk ? len - done : s->chunk;

		if ((err = cpk_sftp_req_write(s, h, off + done, p + done,
					      (uint32_t)n, wstate_cb, &w)))
			break;
		w.pending++;
		done += n;
	} while (done < len && !w.r.err);
	while (w.pending && !err)
		err = pump(s, -1);
	if (w.r.err)
		return cpk_sftp_reply_error(s, &w.r, "cannot write at offset "
					    "%" PRIu64 " on %s",
					    w.r.offset, s->where);
	return err;
}

static cpk_err_t stat_common(struct cpk_sftp *s, int op, const char *path,
			     const struct cpk_sftp_handle *h,
			     struct cpk_sftp_attr *attr)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = sync_guard(s)) != 0)
		return err;
	y.attr = attr;
	if (op == CPK_SFTP_OP_FSTAT)
		err = cpk_sftp_req_fstat(s, h, sync_cb, &y);
	else
		err = req_path(s, (uint8_t)op, path, NULL, 0, sync_cb, &y);
	if (err)
		return err;
	return sync_wait(s, &y, op == CPK_SFTP_OP_LSTAT ? "lstat" :
			 op == CPK_SFTP_OP_FSTAT ? "fstat an open file" :
			 "stat", path);
}

cpk_err_t cpk_sftp_stat(struct cpk_sftp *s, const char *path,
			struct cpk_sftp_attr *attr)
{
	return stat_common(s, CPK_SFTP_OP_STAT, path, NULL, attr);
}

cpk_err_t cpk_sftp_lstat(struct cpk_sftp *s, const char *path,
			 struct cpk_sftp_attr *attr)
{
	return stat_common(s, CPK_SFTP_OP_LSTAT, path, NULL, attr);
}

cpk_err_t cpk_sftp_fstat(struct cpk_sftp *s, const struct cpk_sftp_handle *h,
			 struct cpk_sftp_attr *attr)
{
	return stat_common(s, CPK_SFTP_OP_FSTAT, NULL, h, attr);
}

cpk_err_t cpk_sftp_setstat(struct cpk_sftp *s, const char *path,
			   const struct cpk_sftp_attr *attr)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_setstat(s, path, attr, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "set attributes of", path);
}

cpk_err_t cpk_sftp_fsetstat(struct cpk_sftp *s,
			    const struct cpk_sftp_handle *h,
			    const struct cpk_sftp_attr *attr)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_fsetstat(s, h, attr, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "set attributes of an open file", NULL);
}

cpk_err_t cpk_sftp_mkdir(struct cpk_sftp *s, const char *path, uint32_t mode)
{
	struct sync y = SYNC_INIT;
	struct cpk_sftp_attr a = { 0 };
	cpk_err_t err;

	a.flags = CPK_SFTP_ATTR_PERM;
	a.perm = mode & 07777;
	if ((err = sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_mkdir(s, path, &a, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "create directory", path);
}

cpk_err_t cpk_sftp_rmdir(struct cpk_sftp *s, const char *path)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_rmdir(s, path, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "remove directory", path);
}

cpk_err_t cpk_sftp_remove(struct cpk_sftp *s, const char *path)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_remove(s, path, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "remove", path);
}

cpk_err_t cpk_sftp_rename(struct cpk_sftp *s, const char *from, const char *to,
			  unsigned flags)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	struct cpk_buf what = CPK_BUF_INIT;

	if ((err = sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_rename(s, from, to, flags, sync_cb, &y)) != 0)
		return err;
	cpk_buf_addf(&what, "%s to %s", from, to);
	err = sync_wait(s, &y, "rename", what.buf);
	cpk_buf_release(&what);
	return err;
}

cpk_err_t cpk_sftp_symlink(struct cpk_sftp *s, const char *target,
			   const char *linkpath)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = sync_guard(s)) != 0 ||
	    (err = cpk_sftp_req_symlink(s, target, linkpath, sync_cb, &y)))
		return err;
	return sync_wait(s, &y, "create symlink", linkpath);
}

static cpk_err_t name_common(struct cpk_sftp *s, int op, const char *path,
			     char **out)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	*out = NULL;
	if ((err = sync_guard(s)) != 0 ||
	    (err = req_path(s, (uint8_t)op, path, NULL, 0, sync_cb, &y)) != 0)
		return err;
	err = sync_wait(s, &y, op == CPK_SFTP_OP_READLINK ? "read symlink" :
			"resolve", path);
	if (err) {
		free(y.str);
		return err;
	}
	*out = y.str;
	return CPK_OK;
}

cpk_err_t cpk_sftp_readlink(struct cpk_sftp *s, const char *path, char **out)
{
	return name_common(s, CPK_SFTP_OP_READLINK, path, out);
}

cpk_err_t cpk_sftp_realpath(struct cpk_sftp *s, const char *path, char **out)
{
	return name_common(s, CPK_SFTP_OP_REALPATH, path, out);
}

void cpk_sftp_names_free(struct cpk_sftp_name *names, size_t n)
{
	size_t i;

	if (!names)
		return;
	for (i = 0; i < n; i++) {
		free(names[i].name);
		free(names[i].longname);
	}
	free(names);
}

cpk_err_t cpk_sftp_listdir(struct cpk_sftp *s, const char *path,
			   struct cpk_sftp_name **names, size_t *n)
{
	struct sync y = SYNC_INIT;
	struct cpk_sftp_handle h;
	int open = 0;
	cpk_err_t err, e2;

	*names = NULL;
	*n = 0;
	if ((err = sync_guard(s)) != 0)
		return err;
	y.h = &h;
	if ((err = cpk_sftp_req_opendir(s, path, sync_cb, &y)) != 0 ||
	    (err = sync_wait(s, &y, "open directory", path)) != 0)
		goto out;
	open = 1;
	for (;;) {
		y.done = 0;
		if ((err = cpk_sftp_req_readdir(s, &h, sync_cb, &y)) != 0 ||
		    (err = sync_wait(s, &y, "read directory", path)) != 0)
			goto out;
		if (y.r.eof)
			break;
	}
out:
	if (open) {
		struct sync c = SYNC_INIT;

		e2 = cpk_sftp_req_close(s, &h, sync_cb, &c);
		if (!e2)
			e2 = sync_wait(s, &c, "close directory", path);
		if (!err)
			err = e2;
	}
	if (err) {
		cpk_sftp_names_free(y.names, y.n);
		return err;
	}
	*names = y.names;
	*n = y.n;
	return CPK_OK;
}

cpk_err_t cpk_sftp_opendir(struct cpk_sftp *s, const char *path,
			   struct cpk_sftp_handle *h)
{
	struct sync y = SYNC_INIT;
	cpk_err_t err;

	if ((err = sync_guard(s)) != 0)
		return err;
	y.h = h;
	if ((err = cpk_sftp_req_opendir(s, path, sync_cb, &y)) != 0)
		return err;
	return sync_wait(s, &y, "open directory", path);
}

/* READDIRs in flight at once on one directory handle. */
#define READDIR_AHEAD 16

cpk_err_t cpk_sftp_readdir(struct cpk_sftp *s, const struct cpk_sftp_handle *h,
			   size_t want, struct cpk_sftp_name **names,
			   size_t *n, int *eof)
{
	struct sync y[READDIR_AHEAD];
	struct cpk_sftp_name *v = NULL;
	size_t nv = 0, cap = 0;
	unsigned k, sent;
	cpk_err_t err = CPK_OK;

	*names = NULL;
	*n = 0;
	*eof = 0;
	if ((err = sync_guard(s)) != 0)
		return err;
	memset(y, 0, sizeof(y));
	while (!err && !*eof && nv < want) {
		/* a server runs them in order: each gets the next batch (of
		 * up to 100 entries from OpenSSH's sftp-server) */
		size_t left = want - nv;
		unsigned need = left >= 100 * READDIR_AHEAD ? READDIR_AHEAD :
				(unsigned)((left + 99) / 100);

		for (sent = 0; sent < need && s->nfree > 1; sent++) {
			memset(&y[sent], 0, sizeof(y[sent]));
			if ((err = cpk_sftp_req_readdir(s, h, sync_cb,
							&y[sent])) != 0)
				break;
		}
		for (k = 0; k < sent; k++) {
			cpk_err_t e = sync_wait(s, &y[k], "read directory", NULL);

			if (e && !err)
				err = e;
			if (!err && y[k].r.eof)
				*eof = 1;
			if (!err && !*eof && nv + y[k].n > cap) {
				size_t nc = cap ? cap * 2 : 256;
				struct cpk_sftp_name *t;

				while (nc < nv + y[k].n)
					nc *= 2;
				if (!(t = cpk_reallocarray(v, nc, sizeof(*t))))
					err = cpk_err_set(CPK_ERR_NOMEM,
							  "out of memory");
				else
					v = t, cap = nc;
			}
			if (!err && !*eof && y[k].n) {
				memcpy(v + nv, y[k].names, y[k].n * sizeof(*v));
				nv += y[k].n;
				free(y[k].names);
			} else {
				cpk_sftp_names_free(y[k].names, y[k].n);
			}
			y[k].names = NULL;
			y[k].n = 0;
		}
		if (!sent && !err)
			err = pump(s, -1);	/* no room: wait for some */
	}
	if (err) {
		cpk_sftp_names_free(v, nv);
		return err;
	}
	*names = v;
	*n = nv;
	return CPK_OK;
}

/* Several directories listed at once: a small state machine per directory
 * (OPENDIR, READDIR until EOF, CLOSE), each reply queueing the next request
 * in the slot it just freed. */
struct lrun;
struct ldir {
	struct sync y;
	struct lrun *run;
	struct cpk_sftp_handle h;
	size_t idx;		/* in the caller's array */
	int state;		/* L_OPEN, L_READ, L_CLOSE, L_FREE */
	int truncated;		/* more than run->max entries */
	cpk_err_t err;
	char *msg;
};
enum { L_FREE, L_OPEN, L_READ, L_CLOSE };

struct lrun {
	const char *const *paths;
	struct cpk_sftp_dir *out;
	const size_t *max;
	unsigned active;
};

static void ldir_fail(struct cpk_sftp *s, struct ldir *d, const char *what,
		      const char *path)
{
	cpk_err_t e;

	if (d->err)
		return;
	e = d->y.oom ? cpk_err_set(d->y.oom, "cannot %s %s on %s: out of "
				  "memory", what, path, s->where) :
	    cpk_sftp_reply_error(s, &d->y.r, "cannot %s %s on %s", what, path,
				 s->where);
	d->err = e ? e : CPK_ERR_IO;
	d->msg = cpk_strdup(cpk_errmsg());
}

static void ldir_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		    void *arg)
{
	struct ldir *d = arg;
	struct lrun *l = d->run;
	const char *path = l->paths[d->idx];
	cpk_err_t err = CPK_OK;

	sync_cb(s, r, &d->y);
	if (d->y.r.err || d->y.oom)
		ldir_fail(s, d, d->state == L_OPEN ? "open directory" :
			  d->state == L_READ ? "read directory" :
			  "close directory", path);
	if (d->state == L_OPEN && !d->err) {
		d->state = L_READ;
		err = cpk_sftp_req_readdir(s, &d->h, ldir_cb, d);
	} else if (d->state == L_READ && (d->err || d->y.r.eof ||
					  (l->max && l->max[d->idx] &&
					   d->y.n > l->max[d->idx]))) {
		d->truncated = !d->err && !d->y.r.eof;
		d->state = L_CLOSE;
		err = cpk_sftp_req_close(s, &d->h, ldir_cb, d);
	} else if (d->state == L_READ) {
		err = cpk_sftp_req_readdir(s, &d->h, ldir_cb, d);
	} else {
		/* closed, or the open failed: hand the result over */
		struct cpk_sftp_dir *o = &l->out[d->idx];

		o->err = d->err;
		o->msg = d->msg;
		o->truncated = d->truncated && !d->err;
		if (d->err || o->truncated) {
			cpk_sftp_names_free(d->y.names, d->y.n);
		} else {
			o->names = d->y.names;
			o->n = d->y.n;
		}
		d->msg = NULL;
		d->state = L_FREE;
		l->active--;
		return;
	}
	if (err) {
		/* not even queued: the connection is in trouble */
		struct cpk_sftp_dir *o = &l->out[d->idx];

		o->err = err;
		o->msg = cpk_strdup(cpk_errmsg());
		free(d->msg);
		d->msg = NULL;
		cpk_sftp_names_free(d->y.names, d->y.n);
		d->state = L_FREE;
		l->active--;
	}
}

cpk_err_t cpk_sftp_listdir_many(struct cpk_sftp *s, const char *const *paths,
				size_t n, const size_t *max,
				struct cpk_sftp_dir *out)
{
	struct lrun l = { paths, out, max, 0 };
	struct ldir *pool;
	unsigned np, k;
	size_t next = 0;
	cpk_err_t err;

	memset(out, 0, n * sizeof(*out));
	if ((err = sync_guard(s)) != 0)
		return err;
	/* in flight at once: at most one request per directory, and a few
	 * slots left for the replies' follow-ups to find room */
	np = s->window > 8 ? s->window - 4 : 1;
	if (!(pool = calloc(np, sizeof(*pool))))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	while (!err && (next < n || l.active)) {
		for (k = 0; k < np && next < n && s->nfree > 1; k++) {
			struct ldir *d = &pool[k];

			if (d->state != L_FREE)
				continue;
			memset(d, 0, sizeof(*d));
			d->y.h = &d->h;
			d->run = &l;
			d->idx = next;
			d->state = L_OPEN;
			if ((err = cpk_sftp_req_opendir(s, paths[next], ldir_cb,
							d)) != 0) {
				d->state = L_FREE;
				break;
			}
			next++;
			l.active++;
		}
		if (!err && l.active)
			err = pump(s, -1);
	}
	for (k = 0; k < np; k++)
		if (pool[k].state != L_FREE) {
			free(pool[k].msg);
			cpk_sftp_names_free(pool[k].y.names, pool[k].y.n);
		}
	free(pool);
	if (err) {
		cpk_sftp_dirs_free(out, n);
		memset(out, 0, n * sizeof(*out));
	}
	return err;
}

void cpk_sftp_dirs_free(struct cpk_sftp_dir *dirs, size_t n)
{
	size_t i;

	for (i = 0; dirs && i < n; i++) {
		cpk_sftp_names_free(dirs[i].names, dirs[i].n);
		free(dirs[i].msg);
		dirs[i].names = NULL;
		dirs[i].msg = NULL;
	}
}

/* ---- pipelined transfers (jobs) --------------------------------------- */

enum { J_FREE, J_OPENING, J_RUN, J_DONE };

struct run;

struct job {
	int state;
	int up;			/* upload (1) or download (0) */
	size_t idx;		/* file index */
	const char *local, *remote;	/* for messages, NULL: range job */
	int fd, own_fd;
	int own_handle;		/* opened here: close when done */
	int have_handle;
	int close_sent;
	struct cpk_sftp_handle h;
	uint64_t next, end;	/* next offset to request; end of range */
	uint64_t eof_at;	/* download: where EOF was seen */
	uint64_t bytes;
	unsigned pending;
	struct cpk_sftp_attr attr;	/* preserve: to apply */
	uint32_t create_mode;	/* the mode a new file is created with */
	cpk_err_t (*create)(void *, const char *, uint32_t, int *);
	void *create_arg;	/* download: makes the local file */
	int reopened;		/* CPK_SFTP_NEW: the OPEN was tried again */
	cpk_err_t err;
	char *msg;		/* why it failed, with the job's context */
	unsigned long seq;	/* start order */
	struct run *run;
};

struct run {
	struct cpk_sftp *s;
	unsigned flags;
	cpk_err_t first;
	char first_msg[1024];
	size_t nfailed, ndone;
	unsigned long seq;
};

/* Records the job's first failure; the message has the job's context. */
__attribute__((format(printf, 3, 4)))
static void job_fail(struct job *j, cpk_err_t err, const char *fmt, ...)
{
	struct run *run = j->run;
	char detail[768], msg[1024];
	va_list ap;

	if (j->err)
		return;
	j->err = err;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (j->local && j->up)
		snprintf(msg, sizeof(msg), "cannot upload %s to %s:%s: %s",
			 j->local, run->s->where, j->remote, detail);
	else if (j->local)
		snprintf(msg, sizeof(msg), "cannot download %s:%s to %s: %s",
			 run->s->where, j->remote, j->local, detail);
	else
		snprintf(msg, sizeof(msg), "cannot %s a remote file on %s: %s",
			 j->up ? "write" : "read", run->s->where, detail);
	j->msg = cpk_strdup(msg);	/* NULL: the code alone says why */
	if (!run->first) {
		run->first = err;
		memcpy(run->first_msg, msg, sizeof(run->first_msg));
	}
}

static void job_fail_reply(struct job *j, const struct cpk_sftp_reply *r,
			   const char *what)
{
	if (r->status == FX_CONNECTION_LOST && j->run->s->dead)
		job_fail(j, r->err, "%s: %s", what, r->msg);
	else
		job_fail(j, r->err, "%s: %s (server: %s)", what,
			 status_text(r->status), *r->msg ? r->msg :
			 "no message");
}

static void job_open_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			void *arg);

/* Sends job J's OPEN. */
static cpk_err_t job_send_open(struct cpk_sftp *s, struct job *j)
{
	struct cpk_sftp_attr a = { 0 };
	unsigned fl = CPK_SFTP_READ;

	if (j->up) {
		fl = CPK_SFTP_WRITE | CPK_SFTP_CREAT |
		     (j->run->flags & CPK_SFTP_NEW ? CPK_SFTP_EXCL :
		      CPK_SFTP_TRUNC);
		a.flags = CPK_SFTP_ATTR_PERM;
		a.perm = j->create_mode;
	}
	return cpk_sftp_req_open(s, j->remote, fl, &a, job_open_cb, j);
}

/* CPK_SFTP_NEW: whatever held the name is gone (or could not be removed:
 * the second OPEN says why); the OPEN once more. */
static void job_removed_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			   void *arg)
{
	struct job *j = arg;
	cpk_err_t err;

	(void)r;
	j->pending--;
	if ((err = job_send_open(s, j)) != 0)
		job_fail(j, err, "%s", cpk_errmsg());
	else
		j->pending++;
}

static void job_open_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			void *arg)
{
	struct job *j = arg;
	cpk_err_t err;
	int fd;

	j->pending--;
	if (r->err && j->up && (j->run->flags & CPK_SFTP_NEW) &&
	    !j->reopened && !s->dead) {
		/* the name is taken (SFTP v3 cannot say so): a REMOVE, which
		 * never follows a link, then the exclusive OPEN again */
		j->reopened = 1;
		err = cpk_sftp_req_remove(s, j->remote, job_removed_cb, j);
		if (!err) {
			j->pending++;
			return;
		}
	}
	if (r->err) {
		job_fail_reply(j, r, j->up ? "remote open for writing" :
			       "remote open");
		return;
	}
	j->h = *r->handle;
	j->have_handle = 1;
	j->state = J_RUN;
	if (!j->up && j->fd < 0 && j->create) {
		/* the caller makes it (below a directory fd, say) */
		if ((err = j->create(j->create_arg, j->local, j->create_mode,
				     &fd)) != 0) {
			job_fail(j, err, "%s", cpk_errmsg());
			return;
		}
		j->fd = fd;
		j->own_fd = 1;
	} else if (!j->up && j->fd < 0) {
		/* Create the local file only once the remote one opened. */
		fd = open(j->local, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  j->create_mode);
		if (fd < 0) {
			cpk_err_t e = cpk_err_from_errno(errno);

			job_fail(j, e, "cannot create the local file: %s",
				 strerror(errno));
			return;
		}
		j->fd = fd;
		j->own_fd = 1;
	}
}

static void job_write_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			 void *arg)
{
	struct job *j = arg;
	char what[64];

	j->pending--;
	if (r->err) {
		snprintf(what, sizeof(what), "write at offset %" PRIu64,
			 r->offset);
		job_fail_reply(j, r, what);
		return;
	}
	j->bytes += r->want;
	if (s->on_data)
		s->on_data(s->on_data_arg, r->want);
}

static void job_read_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			void *arg)
{
	struct job *j = arg;
	size_t done = 0;
	char what[64];
	cpk_err_t err;

	j->pending--;
	if (r->err) {
		snprintf(what, sizeof(what), "read at offset %" PRIu64,
			 r->offset);
		job_fail_reply(j, r, what);
		return;
	}
	if (r->eof) {
		if (r->offset < j->eof_at)
			j->eof_at = r->offset;
		if (j->end != UINT64_MAX && r->offset < j->end)
			job_fail(j, CPK_ERR_IO, "the remote file ends at "
				 "offset %" PRIu64 ", before the expected "
				 "%" PRIu64 " (it shrank?)", r->offset,
				 j->end);
		return;
	}
	if (j->err)
		return;
	while (done < r->len) {
		ssize_t n = pwrite(j->fd, r->data + done, r->len - done,
				   (off_t)(r->offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			job_fail(j, cpk_err_from_errno(errno), "cannot write "
				 "the local file at offset %" PRIu64 ": %s",
				 r->offset + done, strerror(errno));
			return;
		}
		done += (size_t)n;
	}
	j->bytes += r->len;
	if (s->on_data)
		s->on_data(s->on_data_arg, r->len);
	if (r->len < r->want) {
		/* Short read: ask for the rest (our slot was freed first). */
		err = cpk_sftp_req_read(s, &j->h, r->offset + r->len,
					r->want - (uint32_t)r->len,
					job_read_cb, j);
		if (err)
			job_fail(j, err, "%s", cpk_errmsg());
		else
			j->pending++;
	}
}

static void job_status_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			  void *arg)
{
	struct job *j = arg;

	(void)s;
	j->pending--;
	if (r->err)
		job_fail_reply(j, r, r->op == CPK_SFTP_OP_CLOSE ?
			       "remote close" : "setting remote attributes");
}

/* Whether the job has requested all its data (or failed). */
static int job_data_done(const struct job *j)
{
	if (j->err)
		return 1;
	if (j->up)
		return j->next >= j->end;
	if (j->end != UINT64_MAX)
		return j->next >= j->end;
	return j->eof_at != UINT64_MAX;
}

/* Queues what job J may send now.  Returns a fatal error only. */
static cpk_err_t job_feed(struct cpk_sftp *s, struct job *j)
{
	cpk_err_t err;

	if (j->state != J_RUN)
		return CPK_OK;
	while (!job_data_done(j) && s->nfree &&
	       bq_len(&s->tx) < s->max_unsent) {
		uint64_t left = j->end - j->next;
		uint32_t n = left < s->chunk ? (uint32_t)left :
			     (uint32_t)s->chunk;

		/* unknown size: a few READs ahead, not the whole window */
		if (!j->up && j->end == UINT64_MAX && j->pending >= 4)
			break;
		if (j->up)
			err = cpk_sftp_req_write_fd(s, &j->h, j->next, j->fd,
						    j->next, n, job_write_cb,
						    j);
		else
			err = cpk_sftp_req_read(s, &j->h, j->next, n,
						job_read_cb, j);
		if (err) {
			if (s->dead)
				return err;
			job_fail(j, err, "%s", cpk_errmsg());
			break;
		}
		j->pending++;
		j->next += n;
	}
	if (!job_data_done(j) || !j->own_handle || j->close_sent)
		return CPK_OK;
	/* Downloads wait for their READs (short reads re-request). */
	if (!j->up && j->pending)
		return CPK_OK;
	if (j->up && !j->err && (j->run->flags & CPK_SFTP_PRESERVE) &&
	    j->attr.flags) {
		if (s->nfree < 2)
			return CPK_OK;
		err = cpk_sftp_req_fsetstat(s, &j->h, &j->attr, job_status_cb,
					    j);
		if (err && s->dead)
			return err;
		if (err)
			job_fail(j, err, "%s", cpk_errmsg());
		else
			j->pending++;
	}
	if (!s->nfree)
		return CPK_OK;
	err = cpk_sftp_req_close(s, &j->h, job_status_cb, j);
	if (err) {
		if (s->dead)
			return err;
		job_fail(j, err, "%s", cpk_errmsg());
	} else {
		j->pending++;
	}
	j->close_sent = 1;
	return CPK_OK;
}

static int job_finished(const struct job *j)
{
	if (j->pending)
		return 0;
	if (j->state == J_DONE)
		return 1;
	if (j->state == J_OPENING)
		return j->err != 0;	/* the OPEN failed */
	if (!job_data_done(j))
		return 0;
	return !j->own_handle || j->close_sent;
}

/* Local side of the end of a job: attributes, close. */
static void job_finish(struct job *j)
{
	if (!j->up && !j->err && j->fd >= 0 &&
	    (j->run->flags & CPK_SFTP_PRESERVE)) {
		if ((j->attr.flags & CPK_SFTP_ATTR_PERM) &&
		    fchmod(j->fd, j->attr.perm & (j->run->flags &
						  CPK_SFTP_SPECIAL ? 07777 :
						  0777)) < 0)
			job_fail(j, cpk_err_from_errno(errno), "cannot set the "
				 "mode of the local file: %s", strerror(errno));
		if (j->attr.flags & CPK_SFTP_ATTR_TIMES) {
			struct timespec ts[2];

			ts[0].tv_sec = j->attr.atime;
			ts[0].tv_nsec = 0;
			ts[1].tv_sec = j->attr.mtime;
			ts[1].tv_nsec = 0;
			if (futimens(j->fd, ts) < 0)
				job_fail(j, cpk_err_from_errno(errno), "cannot "
					 "set the times of the local file: %s",
					 strerror(errno));
		}
	}
	if (j->own_fd && j->fd >= 0) {
		if (close(j->fd) < 0 && !j->up)
			job_fail(j, cpk_err_from_errno(errno), "cannot close "
				 "the local file: %s", strerror(errno));
		j->fd = -1;
	}
	if (j->err)
		j->run->nfailed++;
	j->run->ndone++;
	j->state = J_FREE;
}

/* Prepares job J for file IDX; a local failure is recorded with job_fail(). */
typedef void job_init_fn(struct job *j, size_t idx, void *ctx);

/*
 * Runs NFILES jobs, at most MAXJ at once, until all are done.  DONE_CB, if
 * set, sees each job as it finishes.
 */
static cpk_err_t run_jobs(struct cpk_sftp *s, struct run *run, size_t nfiles,
			  unsigned maxj, job_init_fn *init, void *ctx,
			  void (*done_cb)(struct job *, void *))
{
	struct job *jobs = NULL, **order = NULL;
	unsigned active = 0, i, k;
	size_t next = 0;
	cpk_err_t err = CPK_OK;
	int stop = 0;		/* cancelled: start and feed nothing more */

	if (maxj < 1)
		maxj = 1;
	if (maxj > nfiles)
		maxj = nfiles ? (unsigned)nfiles : 1;
	jobs = calloc(maxj, sizeof(*jobs));
	order = calloc(maxj, sizeof(*order));
	if (!jobs || !order) {
		err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		if (!stop && s->cancelled && s->cancelled(s->cancelled_arg)) {
			/* failed jobs send no more data, only their CLOSE */
			stop = 1;
			for (k = 0; k < active; k++)
				job_fail(order[k], CPK_ERR_INTERRUPTED,
					 "interrupted");
		}
		/* Start jobs while there is room: an OPEN each. */
		while (!stop && next < nfiles && active < maxj && s->nfree &&
		       !s->dead) {
			struct job *j = NULL;

			for (i = 0; i < maxj; i++)
				if (jobs[i].state == J_FREE) {
					j = &jobs[i];
					break;
				}
			memset(j, 0, sizeof(*j));
			j->fd = -1;
			j->eof_at = UINT64_MAX;
			j->run = run;
			j->seq = run->seq++;
			j->state = J_RUN;
			init(j, next, ctx);
			next++;
			order[active++] = j;
			if (j->err) {
				j->state = J_DONE;
				continue;
			}
			if (j->have_handle)
				continue;
			j->state = J_OPENING;
			err = job_send_open(s, j);
			if (err) {
				if (s->dead)
					break;
				job_fail(j, err, "%s", cpk_errmsg());
				err = CPK_OK;
			} else {
				j->pending++;
			}
		}
		/* Feed running jobs, oldest first. */
		for (k = 0; k < active && !s->dead; k++)
			if ((err = job_feed(s, order[k])) != 0)
				break;
		/* Reap. */
		for (k = 0; k < active;) {
			struct job *j = order[k];

			/* A dead connection completed every request. */
			if (!s->dead && !job_finished(j)) {
				k++;
				continue;
			}
			if (s->dead && !j->err)
				job_fail(j, s->dead, "%s", s->deadmsg);
			job_finish(j);
			if (done_cb)
				done_cb(j, ctx);
			free(j->msg);
			j->msg = NULL;
			memmove(&order[k], &order[k + 1],
				(active - k - 1) * sizeof(*order));
			active--;
		}
		if (!active && (next >= nfiles || s->dead || stop))
			break;
		if (s->dead) {
			/* complete_all() ran every callback: loop reaps. */
			err = CPK_OK;
			continue;
		}
		if ((err = pump(s, -1)) != 0 && !s->dead)
			goto out;
		err = CPK_OK;
	}
	if (s->dead)
		err = CPK_OK;	/* reported per file, summed up below */
	/* Files never started because the connection died. */
	for (; next < nfiles; next++) {
		struct job j0;

		memset(&j0, 0, sizeof(j0));
		j0.fd = -1;
		j0.run = run;
		init(&j0, next, ctx);
		if (!j0.err && !s->dead && stop)
			job_fail(&j0, CPK_ERR_INTERRUPTED, "interrupted");
		else if (!j0.err)
			job_fail(&j0, s->dead ? s->dead : CPK_ERR_IO, "%s",
				 s->dead ? s->deadmsg : "not attempted");
		if (j0.own_fd && j0.fd >= 0)
			close(j0.fd);
		run->nfailed++;
		if (done_cb)
			done_cb(&j0, ctx);
		free(j0.msg);
	}
out:
	for (i = 0; jobs && i < maxj; i++)
		free(jobs[i].msg);
	free(jobs);
	free(order);
	if (err)
		return err;
	if (run->first) {
		if (run->nfailed > 1)
			return cpk_err_set(run->first, "%s (%zu of %zu files "
					   "failed)", run->first_msg,
					   run->nfailed, nfiles);
		return cpk_err_set(run->first, "%s", run->first_msg);
	}
	return s->dead ? dead_err(s) : CPK_OK;
}

/* Range jobs: one job on a handle the caller opened. */
struct range_ctx {
	const struct cpk_sftp_handle *h;
	int up, fd;
	uint64_t off, len, got;
};

static void range_init(struct job *j, size_t idx, void *ctx)
{
	struct range_ctx *c = ctx;

	(void)idx;
	j->up = c->up;
	j->fd = c->fd;
	j->h = *c->h;
	j->have_handle = 1;
	j->next = c->off;
	j->end = c->len == UINT64_MAX ? UINT64_MAX :
		 (c->off + c->len < c->off ? UINT64_MAX : c->off + c->len);
}

static void range_done(struct job *j, void *ctx)
{
	struct range_ctx *c = ctx;

	c->got = j->bytes;
}

cpk_err_t cpk_sftp_write_range(struct cpk_sftp *s,
			       const struct cpk_sftp_handle *h, int fd,
			       uint64_t off, uint64_t len)
{
	struct range_ctx c = { h, 1, fd, off, len, 0 };
	struct run run;
	cpk_err_t err;

	if ((err = sync_guard(s)) != 0)
		return err;
	if (!h || fd < 0 || len == UINT64_MAX)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_sftp_write_range: "
				   "invalid arguments");
	if (len == 0)
		return CPK_OK;
	memset(&run, 0, sizeof(run));
	run.s = s;
	return run_jobs(s, &run, 1, 1, range_init, &c, range_done);
}

cpk_err_t cpk_sftp_read_range(struct cpk_sftp *s,
			      const struct cpk_sftp_handle *h, int fd,
			      uint64_t off, uint64_t len, uint64_t *got)
{
	struct range_ctx c = { h, 0, fd, off, len, 0 };
	struct run run;
	cpk_err_t err;

	if (got)
		*got = 0;
	if ((err = sync_guard(s)) != 0)
		return err;
	if (!h || fd < 0)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_sftp_read_range: "
				   "invalid arguments");
	if (len == 0)
		return CPK_OK;
	memset(&run, 0, sizeof(run));
	run.s = s;
	err = run_jobs(s, &run, 1, 1, range_init, &c, range_done);
	if (got)
		*got = c.got;
	return err;
}

/* Batches of whole files. */
struct many_ctx {
	struct cpk_sftp_file *files;
	unsigned flags;
};

static void put_init(struct job *j, size_t idx, void *ctx)
{
	struct many_ctx *c = ctx;
	struct cpk_sftp_file *f = &c->files[idx];
	struct stat st;

	j->up = 1;
	j->idx = idx;
	j->local = f->local ? f->local : "(null)";
	j->remote = f->remote ? f->remote : "(null)";
	j->own_handle = 1;
	if (!f->local || !f->remote) {
		job_fail(j, CPK_ERR_INVALID, "no path given");
		return;
	}
	j->fd = open(f->local, O_RDONLY | O_CLOEXEC);
	if (j->fd < 0) {
		job_fail(j, cpk_err_from_errno(errno), "cannot open the local "
			 "file: %s", strerror(errno));
		return;
	}
	j->own_fd = 1;
	if (fstat(j->fd, &st) < 0) {
		job_fail(j, cpk_err_from_errno(errno), "cannot stat the local "
			 "file: %s", strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		job_fail(j, CPK_ERR_INVALID, "not a regular file");
		return;
	}
	j->next = 0;
	j->end = (uint64_t)st.st_size;
	/* private while written; the mode comes with the FSETSTAT */
	j->create_mode = c->flags & CPK_SFTP_PRESERVE ? 0600 :
			 c->flags & CPK_SFTP_MODE ? f->mode & 0777 :
			 st.st_mode & 0777;
	j->attr.flags = CPK_SFTP_ATTR_PERM | CPK_SFTP_ATTR_TIMES;
	j->attr.perm = st.st_mode & (c->flags & CPK_SFTP_SPECIAL ? 07777 :
				     0777);
	j->attr.atime = (uint32_t)st.st_atim.tv_sec;
	j->attr.mtime = (uint32_t)st.st_mtim.tv_sec;
}

static void get_init(struct job *j, size_t idx, void *ctx)
{
	struct many_ctx *c = ctx;
	struct cpk_sftp_file *f = &c->files[idx];

	j->up = 0;
	j->idx = idx;
	j->local = f->local ? f->local : "(null)";
	j->remote = f->remote ? f->remote : "(null)";
	j->own_handle = 1;
	if (!f->local || !f->remote) {
		job_fail(j, CPK_ERR_INVALID, "no path given");
		return;
	}
	j->next = 0;
	j->end = (f->attr.flags & CPK_SFTP_ATTR_SIZE) ? f->attr.size :
		 UINT64_MAX;
	j->attr = f->attr;
	j->create_mode = c->flags & CPK_SFTP_PRESERVE ? 0600 :
			 c->flags & CPK_SFTP_MODE ? f->mode & 0777 :
			 (f->attr.flags & CPK_SFTP_ATTR_PERM) ?
			 (f->attr.perm & 0777) : 0666;
	j->create = f->create;
	j->create_arg = f->create_arg;
}

static void many_done(struct job *j, void *ctx)
{
	struct many_ctx *c = ctx;

	c->files[j->idx].err = j->err;
	c->files[j->idx].msg = j->msg;	/* the caller's now */
	j->msg = NULL;
}

static cpk_err_t run_many(struct cpk_sftp *s, struct cpk_sftp_file *files,
			  size_t n, unsigned flags, int up)
{
	struct many_ctx c = { files, flags };
	struct run run;
	unsigned maxj;
	size_t i;
	cpk_err_t err;

	if ((err = sync_guard(s)) != 0)
		return err;
	if (n && !files)
		return cpk_err_set(CPK_ERR_INVALID, "no files given");
	for (i = 0; i < n; i++)
		files[i].err = CPK_OK;
	memset(&run, 0, sizeof(run));
	run.s = s;
	run.flags = flags;
	/* Half the window in files: each has an OPEN and a CLOSE (and an
	 * FSETSTAT) around its data. */
	maxj = s->window / 2 ? s->window / 2 : 1;
	if (s->lim_handles && maxj > s->lim_handles)
		maxj = (unsigned)s->lim_handles;
	return run_jobs(s, &run, n, maxj, up ? put_init : get_init, &c,
			many_done);
}

void cpk_sftp_files_release(struct cpk_sftp_file *files, size_t n)
{
	size_t i;

	for (i = 0; files && i < n; i++) {
		free(files[i].msg);
		files[i].msg = NULL;
	}
}

cpk_err_t cpk_sftp_put_many(struct cpk_sftp *s, struct cpk_sftp_file *files,
			    size_t n, unsigned flags)
{
	return run_many(s, files, n, flags, 1);
}

cpk_err_t cpk_sftp_get_many(struct cpk_sftp *s, struct cpk_sftp_file *files,
			    size_t n, unsigned flags)
{
	return run_many(s, files, n, flags, 0);
}

cpk_err_t cpk_sftp_put(struct cpk_sftp *s, const char *local,
		       const char *remote, unsigned flags)
{
	struct cpk_sftp_file f;
	cpk_err_t err;

	memset(&f, 0, sizeof(f));
	f.local = local;
	f.remote = remote;
	err = run_many(s, &f, 1, flags, 1);
	free(f.msg);	/* the error's message says the same */
	return err;
}

cpk_err_t cpk_sftp_get(struct cpk_sftp *s, const char *remote,
		       const char *local, unsigned flags)
{
	struct cpk_sftp_file f;
	cpk_err_t err;

	memset(&f, 0, sizeof(f));
	f.local = local;
	f.remote = remote;
	if ((err = cpk_sftp_stat(s, remote, &f.attr)) != 0)
		return err_prefix(err, "cannot download %s:%s to %s",
				  s ? s->where : "?", remote, local);
	if ((f.attr.flags & CPK_SFTP_ATTR_PERM) && !S_ISREG(f.attr.perm))
		return cpk_err_set(CPK_ERR_INVALID, "cannot download %s:%s: "
				   "not a regular file", s->where, remote);
	err = run_many(s, &f, 1, flags, 0);
	free(f.msg);
	return err;
}

/* An extended reply made of N uint64 (limits@, statvfs@openssh.com). */
struct u64_reply {
	int done;
	cpk_err_t err;
	unsigned n;
	uint64_t v[5];
	char msg[256];
};

static void u64_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		   void *arg)
{
	struct u64_reply *u = arg;
	struct rd rd = { r->data, r->len, 0 };
	unsigned i;

	(void)s;
	u->done = 1;
	u->err = r->err;
	if (r->err) {
		snprintf(u->msg, sizeof(u->msg), "%s", r->msg ? r->msg : "");
		return;
	}
	for (i = 0; i < u->n; i++)
		u->v[i] = rd_u64(&rd);
	if (rd.bad)
		u->err = CPK_ERR_IO;
}

cpk_err_t cpk_sftp_statvfs(struct cpk_sftp *s, const char *path,
			   uint64_t *avail, uint64_t *total)
{
	struct u64_reply v;	/* bsize frsize blocks bfree bavail ... */
	unsigned char *buf, *w;
	size_t len;
	cpk_err_t err;

	if ((err = sync_guard(s)) != 0)
		return err;
	if (!(s->ext & EXT_STATVFS))
		return cpk_err_set(CPK_ERR_INVALID, "the sftp server on %s has "
				   "no statvfs@openssh.com", s->where);
	len = strlen(path);
	if (len > UINT32_MAX - 4 || !(buf = malloc(4 + len)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	w = buf;
	put_u32(&w, (uint32_t)len);
	memcpy(w, path, len);
	memset(&v, 0, sizeof(v));
	v.n = 5;
	err = cpk_sftp_req_extended(s, "statvfs@openssh.com", buf, 4 + len,
				    u64_cb, &v);
	free(buf);
	while (!err && !v.done)
		err = pump(s, -1);
	if (err)
		return err;
	if (v.err)
		return cpk_err_set(v.err, "cannot query the file system of %s "
				   "on %s: %s", path, s->where, v.msg);
	if (avail)
		*avail = v.v[4] * v.v[1];
	if (total)
		*total = v.v[2] * v.v[1];
	return CPK_OK;
}

/* ---- setup ------------------------------------------------------------ */


/* Reads exactly one packet during the handshake (before any request;
 * mux->mu held). */
static cpk_err_t read_packet(struct cpk_sftp *s, size_t *plen)
{
	int64_t deadline = now_ms() + s->io_timeout_ms;
	cpk_err_t err;

	for (;;) {
		size_t room;
		int n, left;

		if (bq_len(&s->rx) >= 4) {
			uint32_t l = get_be32(s->rx.p + s->rx.head);

			if (l == 0 || l > MAX_IN_PACKET)
				return fail(s, CPK_ERR_IO, "the sftp server on "
					    "%s sent a packet of %" PRIu32
					    " bytes: is it an sftp server? "
					    "(shell startup files must not "
					    "print anything)", s->where, l);
			if (bq_len(&s->rx) - 4 >= l) {
				*plen = l;
				return CPK_OK;
			}
		}
		if ((err = rx_room(s, &room)) != 0)
			return err;
		left = (int)(deadline - now_ms());
		if (left <= 0)
			return fail(s, CPK_ERR_IO, "no answer from the sftp "
				    "server on %s", s->where);
		n = ssh_channel_read_nonblocking(s->ch, s->rx.p + s->rx.tail,
						 (uint32_t)room, 0);
		if (n == SSH_EOF || (n == 0 && ssh_channel_is_eof(s->ch)))
			return channel_gone(s);
		if (n < 0)
			return fail(s, CPK_ERR_IO, "cannot read from the sftp "
				    "server on %s: %s", s->where,
				    ssh_get_error(s->ssh));
		s->rx.tail += (size_t)n;
		if (n == 0 && (err = wait_io(s, left)) != 0)
			return err;
	}
}

/* Runs one step of channel setup (open, subsystem request) to its end:
 * blocking when the channel is alone on its session, else in non-blocking
 * tries between naps so that the other channels go on meanwhile (mux->mu
 * held). */
static int setup_step(struct cpk_sftp *s, int subsystem)
{
	int64_t deadline = now_ms() + s->io_timeout_ms;
	int alone = s->mux->nchans == 1, rc;

	for (;;) {
		if (!alone)
			ssh_set_blocking(s->ssh, 0);
		rc = subsystem ?
		     ssh_channel_request_subsystem(s->ch, s->subsystem) :
		     ssh_channel_open_session(s->ch);
		if (!alone)
			ssh_set_blocking(s->ssh, 1);
		if (rc != SSH_AGAIN || now_ms() > deadline)
			return rc;
		mux_nap(s, 2);
	}
}

static cpk_err_t open_channel(struct cpk_sftp *s)
{
	int rc;

	if ((rc = setup_step(s, 0)) != SSH_OK)
		return cpk_err_set(CPK_ERR_IO, "cannot open an SSH session "
				   "channel to %s: %s", s->where,
				   rc == SSH_AGAIN ? "no answer" :
				   ssh_get_error(s->ssh));
	if ((rc = setup_step(s, 1)) != SSH_OK)
		return cpk_err_set(CPK_ERR_IO, "the SSH server on %s refused "
				   "the \"%s\" subsystem (is Subsystem sftp set "
				   "in its sshd_config?): %s", s->where,
				   s->subsystem, rc == SSH_AGAIN ? "no answer" :
				   ssh_get_error(s->ssh));
	return CPK_OK;
}

static cpk_err_t handshake(struct cpk_sftp *s)
{
	unsigned char init[9], *w = init;
	struct rd r;
	size_t plen = 0;
	cpk_err_t err;

	put_u32(&w, 5);
	put_u8(&w, FXP_INIT);
	put_u32(&w, 3);
	if (ssh_channel_write(s->ch, init, sizeof(init)) != (int)sizeof(init))
		return fail(s, CPK_ERR_IO, "cannot send SFTP INIT to %s: %s",
			    s->where, ssh_get_error(s->ssh));
	if ((err = read_packet(s, &plen)) != 0)
		return err;
	r.p = s->rx.p + s->rx.head + 4;
	r.n = plen;
	r.bad = 0;
	if (rd_u8(&r) != FXP_VERSION)
		return fail(s, CPK_ERR_IO, "the server on %s did not answer "
			    "SFTP INIT with VERSION", s->where);
	s->version = rd_u32(&r);
	if (r.bad || s->version < 3)
		return fail(s, CPK_ERR_IO, "the sftp server on %s speaks "
			    "protocol version %u; version 3 is needed",
			    s->where, s->version);
	while (r.n && !r.bad) {
		const unsigned char *name, *data;
		size_t nl, dl;

		name = rd_str(&r, &nl);
		data = rd_str(&r, &dl);
		if (r.bad)
			break;
		(void)data;
#define IS(lit) (nl == sizeof(lit) - 1 && !memcmp(name, lit, nl))
		if (IS("limits@openssh.com"))
			s->ext |= EXT_LIMITS;
		else if (IS("posix-rename@openssh.com"))
			s->ext |= EXT_POSIX_RENAME;
		else if (IS("fsync@openssh.com"))
			s->ext |= EXT_FSYNC;
		else if (IS("statvfs@openssh.com"))
			s->ext |= EXT_STATVFS;
#undef IS
	}
	bq_consume(&s->rx, 4 + plen);
	return CPK_OK;
}

static cpk_err_t ask_limits(struct cpk_sftp *s, size_t want_chunk)
{
	struct u64_reply l = { .n = 4 };
	uint64_t c;
	cpk_err_t err;

	/* Until we know better: draft-02's minimum. */
	s->chunk = SAFE_CHUNK;
	s->max_out = SAFE_PACKET;
	if (s->ext & EXT_LIMITS) {
		if ((err = cpk_sftp_req_extended(s, "limits@openssh.com", NULL,
						 0, u64_cb, &l)) != 0)
			return err;
		while (!l.done)
			if ((err = pump(s, -1)) != 0)
				return err;
		if (!l.err) {
			s->lim_packet = l.v[0];
			s->lim_read = l.v[1];
			s->lim_write = l.v[2];
			s->lim_handles = l.v[3];
		}
	}
	if (s->lim_packet) {
		s->max_out = s->lim_packet > MAX_IN_PACKET ? MAX_IN_PACKET :
			     (size_t)s->lim_packet;
		c = want_chunk;
		if (s->lim_read && c > s->lim_read)
			c = s->lim_read;
		if (s->lim_write && c > s->lim_write)
			c = s->lim_write;
		/* room for the WRITE header with a maximal handle */
		if (c > s->max_out - 300)
			c = s->max_out - 300;
		if (c > 4096)
			c &= ~(uint64_t)4095;
		s->chunk = (size_t)c;
	} else if (want_chunk < SAFE_CHUNK) {
		s->chunk = want_chunk;
	}
	if (s->chunk < MIN_CHUNK)
		s->chunk = MIN_CHUNK;
	return CPK_OK;
}

cpk_err_t cpk_sftp_new(ssh_session session, const struct cpk_sftp_opts *opts,
		       struct cpk_sftp **out)
{
	struct cpk_sftp *s = NULL;
	const char *sub = "sftp";
	size_t chunk = DEF_CHUNK;
	char *host = NULL;
	unsigned i;
	cpk_err_t err = CPK_OK;

	*out = NULL;
	if (!session)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_sftp_new: no session");
	s = calloc(1, sizeof(*s));
	if (!s)
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	s->ssh = session;
	s->window = DEF_WINDOW;
	s->max_unsent = DEF_UNSENT;
	s->io_timeout_ms = DEF_TIMEOUT_MS;
	if (opts) {
		if (opts->window)
			s->window = opts->window;
		if (opts->chunk)
			chunk = opts->chunk;
		if (opts->max_unsent)
			s->max_unsent = opts->max_unsent;
		s->on_data = opts->on_data;
		s->on_data_arg = opts->on_data_arg;
		s->cancelled = opts->cancelled;
		s->cancelled_arg = opts->cancelled_arg;
		if (opts->io_timeout_ms > 0)
			s->io_timeout_ms = opts->io_timeout_ms;
		if (opts->subsystem)
			sub = opts->subsystem;
		if (opts->mux && opts->mux->ss != session) {
			err = cpk_err_set(CPK_ERR_INVALID, "cpk_sftp_new: the "
					  "mux belongs to another session");
			goto out;
		}
		s->mux = opts->mux;
	}
	if (!s->mux) {
		if ((err = cpk_sftp_mux_new(session, &s->mux)) != 0)
			goto out;
		s->own_mux = 1;
	}
	if (s->window > MAX_WINDOW || chunk < MIN_CHUNK ||
	    strlen(sub) >= sizeof(s->subsystem)) {
		err = cpk_err_set(CPK_ERR_INVALID, "sftp options: window must "
				  "be 1..%u, chunk at least %d bytes, "
				  "subsystem name shorter than %zu", MAX_WINDOW,
				  MIN_CHUNK, sizeof(s->subsystem));
		goto out;
	}
	memcpy(s->subsystem, sub, strlen(sub) + 1);
	if (ssh_options_get(session, SSH_OPTIONS_HOST, &host) == SSH_OK) {
		s->where = cpk_strdup(host);
		ssh_string_free_char(host);
	} else {
		s->where = cpk_strdup("the server");
	}
	s->slots = calloc(s->window, sizeof(*s->slots));
	s->freelist = calloc(s->window, sizeof(*s->freelist));
	if (!s->where || !s->slots || !s->freelist) {
		err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < s->window; i++)
		s->freelist[i] = s->window - 1 - i;
	s->nfree = s->window;
	mux_lock(s);
	s->openssh = ssh_get_openssh_version(session) > 0;
	ssh_set_blocking(session, 1);
	s->ch = ssh_channel_new(session);
	if (!s->ch) {
		err = cpk_err_set(CPK_ERR_IO, "cannot create an SSH channel to "
				  "%s: %s", s->where, ssh_get_error(session));
	} else {
		s->mnext = s->mux->chans;
		s->mux->chans = s;
		s->mux->nchans++;
		err = open_channel(s);
		if (!err)
			err = handshake(s);
	}
	mux_unlock(s);
	if (err || (err = ask_limits(s, chunk)) != 0)
		goto out;
	*out = s;
	s = NULL;
out:
	cpk_sftp_free(s);
	return err;
}

void cpk_sftp_free(struct cpk_sftp *s)
{
	struct cpk_sftp **pp;

	if (!s)
		return;
	if (s->mux) {
		mux_lock(s);
		for (pp = &s->mux->chans; *pp; pp = &(*pp)->mnext)
			if (*pp == s) {
				*pp = s->mnext;
				s->mux->nchans--;
				break;
			}
	}
	if (s->ch) {
		if (ssh_channel_is_open(s->ch) && !s->dead) {
			ssh_channel_send_eof(s->ch);
			ssh_channel_close(s->ch);
		}
		ssh_channel_free(s->ch);
	}
	if (s->mux) {
		mux_unlock(s);
		if (s->own_mux)
			cpk_sftp_mux_free(s->mux);
	}
	free(s->slots);
	free(s->freelist);
	free(s->tx.p);
	free(s->rx.p);
	free(s->names);
	free(s->strs);
	free(s->where);
	free(s);
}

void cpk_sftp_set_io_timeout(struct cpk_sftp *s, int ms)
{
	mux_lock(s);
	s->io_timeout_ms = ms > 0 ? ms : DEF_TIMEOUT_MS;
	mux_unlock(s);
}

void cpk_sftp_info(const struct cpk_sftp *s, struct cpk_sftp_info *info)
{
	memset(info, 0, sizeof(*info));
	info->version = s->version;
	info->window = s->window;
	info->chunk = s->chunk;
	info->server_max_packet = s->lim_packet;
	info->server_max_read = s->lim_read;
	info->server_max_write = s->lim_write;
	info->server_max_handles = s->lim_handles;
	info->posix_rename = !!(s->ext & EXT_POSIX_RENAME);
	info->fsync = !!(s->ext & EXT_FSYNC);
}
