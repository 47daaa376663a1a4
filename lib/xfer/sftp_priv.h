/*
 * Private to the SFTP client (sftp.c and sftp_*.c; the design is in
 * sftp.c): wire constants, the session and channel structures, and the
 * functions the files share.
 */
#ifndef CPK_SFTP_PRIV_H
#define CPK_SFTP_PRIV_H

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
#include "sftp.h"
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
#define EXT_EXPAND_PATH 0x10

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
	unsigned max_files;	/* cpk_sftp_opts.max_files (0: window / 2) */
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

	struct cpk_sftp_meter meter;	/* mux->mu */

	int in_cb;
	unsigned long completions;
	cpk_err_t dead;
	char deadmsg[768];
};

/* ---- helpers inlined everywhere ---------------------------------- */

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

/* An extended reply made of N uint64 (limits@, statvfs@openssh.com). */
struct u64_reply {
	int done;
	cpk_err_t err;
	unsigned n;
	uint64_t v[5];
	char msg[256];
};

/* ---- shared between the files --------------------------------------- */

CPK_INTERNAL uint8_t xsftp_rd_u8(struct rd *r);
CPK_INTERNAL uint32_t xsftp_rd_u32(struct rd *r);
CPK_INTERNAL uint64_t xsftp_rd_u64(struct rd *r);
CPK_INTERNAL const unsigned char *xsftp_rd_str(struct rd *r, size_t *len);
CPK_INTERNAL void xsftp_rd_attr(struct rd *r, struct cpk_sftp_attr *a);
CPK_INTERNAL size_t xsftp_attr_len(const struct cpk_sftp_attr *a);
CPK_INTERNAL void xsftp_put_attr(unsigned char **w, const struct cpk_sftp_attr *a);
CPK_INTERNAL const char *xsftp_status_text(uint32_t st);
CPK_INTERNAL cpk_err_t xsftp_status_err(uint32_t st);
CPK_INTERNAL int64_t xsftp_now_ms(void);
CPK_INTERNAL int64_t xsftp_now_us(void);
CPK_INTERNAL size_t xsftp_bq_len(const struct bq *b);
CPK_INTERNAL unsigned char *xsftp_bq_reserve(struct bq *b, size_t n);
CPK_INTERNAL void xsftp_bq_consume(struct bq *b, size_t n);
CPK_INTERNAL void xsftp_mux_lock(struct cpk_sftp *s);
CPK_INTERNAL void xsftp_mux_unlock(struct cpk_sftp *s);
CPK_INTERNAL void xsftp_mux_nap(struct cpk_sftp *s, int ms);
CPK_INTERNAL void xsftp_mux_kick(struct cpk_sftp *s);
__attribute__((format(printf, 3, 4)))
CPK_INTERNAL cpk_err_t xsftp_fail(struct cpk_sftp *s, cpk_err_t err, const char *fmt, ...);
CPK_INTERNAL cpk_err_t xsftp_dead_err(struct cpk_sftp *s);
CPK_INTERNAL void xsftp_complete_all(struct cpk_sftp *s);
CPK_INTERNAL cpk_err_t xsftp_rx_room(struct cpk_sftp *s, size_t *room);
CPK_INTERNAL cpk_err_t xsftp_channel_gone(struct cpk_sftp *s);
CPK_INTERNAL cpk_err_t xsftp_wait_io(struct cpk_sftp *s, int timeout_ms);
CPK_INTERNAL cpk_err_t xsftp_pump(struct cpk_sftp *s, int timeout_ms);
CPK_INTERNAL cpk_err_t xsftp_req_path(struct cpk_sftp *s, uint8_t op, const char *path,
			  const struct cpk_sftp_attr *attr, int with_attr,
			  cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL cpk_err_t xsftp_sync_guard(struct cpk_sftp *s);
CPK_INTERNAL cpk_err_t xsftp_ext_path(struct cpk_sftp *s, const char *ext,
				      unsigned bit, const char *path,
				      cpk_sftp_cb *cb, void *arg);
CPK_INTERNAL void xsftp_u64_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		   void *arg);

#endif
