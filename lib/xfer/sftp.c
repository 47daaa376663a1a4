/*
 * Pipelined SFTP v3 client: see sftp.h for the contract.  This file: setup
 * (channel, version, extensions, limits), cpk_sftp_new/free/info.  The rest,
 * over sftp_priv.h: sftp_wire.c (encoding, byte queues), sftp_mux.c (shared
 * sessions, dispatch, pump), sftp_req.c (requests), sftp_call.c (blocking
 * calls, listings), sftp_job.c (pipelined transfers).
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
#include "sftp_priv.h"

/* ---- setup ------------------------------------------------------------ */

/* Reads exactly one packet during the handshake (before any request;
 * mux->mu held). */
static cpk_err_t read_packet(struct cpk_sftp *s, size_t *plen)
{
	int64_t deadline = xsftp_now_ms() + s->io_timeout_ms;
	cpk_err_t err;

	for (;;) {
		size_t room;
		int n, left;

		if (xsftp_bq_len(&s->rx) >= 4) {
			uint32_t l = get_be32(s->rx.p + s->rx.head);

			if (l == 0 || l > MAX_IN_PACKET)
				return xsftp_fail(s, CPK_ERR_IO, "the sftp server on "
					    "%s sent a packet of %" PRIu32
					    " bytes: is it an sftp server? "
					    "(shell startup files must not "
					    "print anything)", s->where, l);
			if (xsftp_bq_len(&s->rx) - 4 >= l) {
				*plen = l;
				return CPK_OK;
			}
		}
		if ((err = xsftp_rx_room(s, &room)) != 0)
			return err;
		left = (int)(deadline - xsftp_now_ms());
		if (left <= 0)
			return xsftp_fail(s, CPK_ERR_IO, "no answer from the sftp "
				    "server on %s", s->where);
		n = ssh_channel_read_nonblocking(s->ch, s->rx.p + s->rx.tail,
						 (uint32_t)room, 0);
		if (n == SSH_EOF || (n == 0 && ssh_channel_is_eof(s->ch)))
			return xsftp_channel_gone(s);
		if (n < 0)
			return xsftp_fail(s, CPK_ERR_IO, "cannot read from the sftp "
				    "server on %s: %s", s->where,
				    ssh_get_error(s->ssh));
		s->rx.tail += (size_t)n;
		s->meter.bytes_rx += (uint64_t)n;
		/* other channels' packets may have come with it */
		xsftp_mux_kick(s);
		if (n == 0 && (err = xsftp_wait_io(s, left)) != 0)
			return err;
	}
}

/* Runs one step of channel setup (open, subsystem request) to its end:
 * blocking on a session of its own, else in non-blocking tries between
 * naps so that the other channels go on meanwhile.  That holds for the
 * first channel of a shared session too: the others set up at the same
 * time, each round trip of theirs beside its own, not after (mux->mu
 * held).  (SFTP INIT cannot follow the subsystem request at once: sshd
 * opens a session channel's window only when its subsystem starts.) */
static int setup_step(struct cpk_sftp *s, int subsystem)
{
	int64_t deadline = xsftp_now_ms() + s->io_timeout_ms;
	int alone = s->own_mux, rc;

	for (;;) {
		if (!alone)
			ssh_set_blocking(s->ssh, 0);
		rc = subsystem ?
		     ssh_channel_request_subsystem(s->ch, s->subsystem) :
		     ssh_channel_open_session(s->ch);
		if (!alone)
			ssh_set_blocking(s->ssh, 1);
		if (rc != SSH_AGAIN || xsftp_now_ms() > deadline)
			return rc;
		xsftp_mux_nap(s, 2);
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
		return xsftp_fail(s, CPK_ERR_IO, "cannot send SFTP INIT to %s: %s",
			    s->where, ssh_get_error(s->ssh));
	if ((err = read_packet(s, &plen)) != 0)
		return err;
	r.p = s->rx.p + s->rx.head + 4;
	r.n = plen;
	r.bad = 0;
	if (xsftp_rd_u8(&r) != FXP_VERSION)
		return xsftp_fail(s, CPK_ERR_IO, "the server on %s did not answer "
			    "SFTP INIT with VERSION", s->where);
	s->version = xsftp_rd_u32(&r);
	if (r.bad || s->version < 3)
		return xsftp_fail(s, CPK_ERR_IO, "the sftp server on %s speaks "
			    "protocol version %u; version 3 is needed",
			    s->where, s->version);
	while (r.n && !r.bad) {
		const unsigned char *name, *data;
		size_t nl, dl;

		name = xsftp_rd_str(&r, &nl);
		data = xsftp_rd_str(&r, &dl);
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
		else if (IS("expand-path@openssh.com"))
			s->ext |= EXT_EXPAND_PATH;
#undef IS
	}
	xsftp_bq_consume(&s->rx, 4 + plen);
	return CPK_OK;
}

/* Whether K, what another channel learned, holds for S's server too. */
static int same_server(const struct cpk_sftp *s, const struct cpk_sftp_info *k)
{
	return k && k->limits && k->server_max_packet && s->openssh &&
	       k->openssh == s->openssh && (s->ext & EXT_LIMITS) &&
	       k->posix_rename == !!(s->ext & EXT_POSIX_RENAME) &&
	       k->fsync == !!(s->ext & EXT_FSYNC) &&
	       k->expand_path == !!(s->ext & EXT_EXPAND_PATH);
}

static cpk_err_t ask_limits(struct cpk_sftp *s, size_t want_chunk,
			    const struct cpk_sftp_info *known)
{
	struct u64_reply l = { .n = 4 };
	uint64_t c;
	cpk_err_t err;

	/* Until we know better: draft-02's minimum. */
	s->chunk = SAFE_CHUNK;
	s->max_out = SAFE_PACKET;
	if (same_server(s, known)) {
		s->lim_packet = known->server_max_packet;
		s->lim_read = known->server_max_read;
		s->lim_write = known->server_max_write;
		s->lim_handles = known->server_max_handles;
	} else if (s->ext & EXT_LIMITS) {
		if ((err = cpk_sftp_req_extended(s, "limits@openssh.com", NULL,
						 0, xsftp_u64_cb, &l)) != 0)
			return err;
		while (!l.done)
			if ((err = xsftp_pump(s, -1)) != 0)
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
		s->max_files = opts->max_files;
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
	xsftp_mux_lock(s);
	s->openssh = ssh_get_openssh_version(session);
	if (s->openssh < 0)
		s->openssh = 0;
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
	xsftp_mux_unlock(s);
	if (err || (err = ask_limits(s, chunk, opts ? opts->known :
							   NULL)) != 0)
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
		xsftp_mux_lock(s);
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
		xsftp_mux_unlock(s);
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
	xsftp_mux_lock(s);
	s->io_timeout_ms = ms > 0 ? ms : DEF_TIMEOUT_MS;
	xsftp_mux_unlock(s);
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
	info->expand_path = !!(s->ext & EXT_EXPAND_PATH);
	info->limits = !!(s->ext & EXT_LIMITS);
	info->openssh = s->openssh;
}
