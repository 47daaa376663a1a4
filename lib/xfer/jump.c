/*
 * How a connection reaches its host (conn_cfg.h): through jump hosts (a
 * native ProxyJump: a session to the last hop, connected, host key
 * checked and authenticated by cpk_conn_open() like any connection, a
 * direct-tcpip channel from it to the target, and the target's session
 * running over one end of a socketpair whose other end a pump thread
 * copies to and from the channel), or over TCP of one address family.
 *
 * Jumps are found again at close by their target session: a small list
 * under a mutex (sessions are opaque, libssh keeps no user pointer).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "conn_cfg.h"
#include "internal.h"

struct xjump {
	ssh_session hop;	/* the last hop (owned) */
	ssh_channel ch;		/* direct-tcpip to the target */
	int fd;			/* our end of the socketpair */
	int wake[2];		/* a byte here stops the pump */
	atomic_int stop;
	int running;		/* the pump thread was started */
	pthread_t th;
	ssh_session owner;	/* the target session, the list's key */
	struct xjump *next;
};

static pthread_mutex_t jumps_mu = PTHREAD_MUTEX_INITIALIZER;
static struct xjump *jumps;

/* ---- one hop's spec ---------------------------------------------------- */

/* Splits "[user@]host[:port]" or "[user@][v6]:port" (LEN bytes at S) into
 * new strings *USER (NULL if none) and *HOST, and *PORT (0 if none). */
static cpk_err_t parse_hop(const char *s, size_t len, char **user,
			   char **host, unsigned *port)
{
	const char *at = memchr(s, '@', len), *h, *e = s + len, *colon;
	char *end;
	unsigned long p;

	*user = *host = NULL;
	*port = 0;
	h = at ? at + 1 : s;
	if (at && (at == s || memchr(h, '@', (size_t)(e - h))))
		goto bad;
	if (h < e && *h == '[') {
		const char *rb = memchr(h, ']', (size_t)(e - h));

		if (!rb || rb == h + 1 || (rb + 1 < e && rb[1] != ':'))
			goto bad;
		colon = rb + 1 < e ? rb + 1 : NULL;
		*host = cpk_strndup(h + 1, (size_t)(rb - h - 1));
	} else {
		colon = memchr(h, ':', (size_t)(e - h));
		if (colon && memchr(colon + 1, ':', (size_t)(e - colon - 1)))
			colon = NULL;	/* a bare IPv6 address */
		if ((colon ? colon : e) == h)
			goto bad;
		*host = cpk_strndup(h, (size_t)((colon ? colon : e) - h));
	}
	if (!*host || (at && !(*user = cpk_strndup(s, (size_t)(at - s))))) {
		free(*host);
		*host = NULL;
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	if (colon) {
		char num[8];
		size_t n = (size_t)(e - colon - 1);

		if (!n || n >= sizeof(num))
			goto bad_free;
		memcpy(num, colon + 1, n);
		num[n] = '\0';
		errno = 0;
		p = strtoul(num, &end, 10);
		if (errno || *end || num[0] < '0' || num[0] > '9' || !p ||
		    p > 65535)
			goto bad_free;
		*port = (unsigned)p;
	}
	return CPK_OK;
bad_free:
	free(*user);
	free(*host);
	*user = *host = NULL;
bad:
	return cpk_err_set(CPK_ERR_INVALID, "invalid jump host \"%.*s\": "
			   "expected [user@]host[:port]", (int)len, s);
}

/* ---- the pump ---------------------------------------------------------- */

#define PUMP_BUF 65536

/* Copies between the socketpair and the channel until asked to stop or
 * either side ends; then the target session sees its socket close.  The
 * hop session is blocking: a channel write waits for window (at most the
 * session's timeout); everything else waits in poll(). */
static void *pump(void *arg)
{
	struct xjump *j = arg;
	char *down = malloc(PUMP_BUF), *up = malloc(PUMP_BUF), c;
	size_t dlen = 0, doff = 0, ulen = 0, uoff = 0;
	int up_eof = 0, n;
	ssize_t r;
	struct pollfd p[3];

	while (down && up && !atomic_load(&j->stop)) {
		if (dlen == doff) {
			dlen = doff = 0;
			n = ssh_channel_read_nonblocking(j->ch, down, PUMP_BUF,
							 0);
			if (n == SSH_ERROR)
				break;
			if (n > 0)
				dlen = (size_t)n;
			else if (ssh_channel_is_eof(j->ch) ||
				 ssh_channel_is_closed(j->ch))
				break;
		}
		if (dlen > doff) {
			r = write(j->fd, down + doff, dlen - doff);
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				break;
			if (r > 0)
				doff += (size_t)r;
		}
		if (ulen == uoff && !up_eof) {
			ulen = uoff = 0;
			r = read(j->fd, up, PUMP_BUF);
			if (r == 0 || (r < 0 && errno != EAGAIN &&
				       errno != EINTR)) {
				up_eof = 1;
				ssh_channel_send_eof(j->ch);
			} else if (r > 0) {
				ulen = (size_t)r;
			}
		}
		if (ulen > uoff) {
			n = ssh_channel_write(j->ch, up + uoff,
					      (uint32_t)(ulen - uoff));
			if (n == SSH_ERROR)
				break;
			uoff += (size_t)n;
		}
		p[0].fd = j->fd;
		p[0].events = (short)((ulen == uoff && !up_eof ? POLLIN : 0) |
				      (dlen > doff ? POLLOUT : 0));
		p[1].fd = ssh_get_fd(j->hop);
		p[1].events = POLLIN;
		p[2].fd = j->wake[0];
		p[2].events = POLLIN;
		/* data libssh already holds, or a write to retry: no wait */
		if ((dlen == doff && ssh_channel_poll(j->ch, 0) > 0) ||
		    ulen > uoff)
			continue;
		if (poll(p, 3, 1000) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			while (read(j->wake[0], &c, 1) > 0)
				;
	}
	/* the target reads end of file (or its writes fail) from now on */
	shutdown(j->fd, SHUT_RDWR);
	free(down);
	free(up);
	return NULL;
}

/* ---- open and close ---------------------------------------------------- */

static void jump_free(struct xjump *j)
{
	if (!j)
		return;
	if (j->running) {
		atomic_store(&j->stop, 1);
		if (write(j->wake[1], "x", 1) < 0) {
			/* the pipe is ours and empty: cannot fail */
		}
		pthread_join(j->th, NULL);
	}
	if (j->ch) {
		if (ssh_channel_is_open(j->ch))
			ssh_channel_close(j->ch);
		ssh_channel_free(j->ch);
	}
	cpk_conn_close(j->hop);
	if (j->fd >= 0)
		close(j->fd);
	if (j->wake[0] >= 0)
		close(j->wake[0]);
	if (j->wake[1] >= 0)
		close(j->wake[1]);
	free(j);
}

cpk_err_t xjump_open(const struct cpk_conn_opts *o, const char *jumps_spec,
		     const char *host, unsigned port, int *fd,
		     struct xjump **out)
{
	struct cpk_conn_opts h = *o;
	struct xjump *j = NULL;
	const char *last = strrchr(jumps_spec, ',');
	char *user = NULL, *hhost = NULL, *prev = NULL;
	unsigned hport;
	int sv[2] = { -1, -1 };
	cpk_err_t err;

	*fd = -1;
	*out = NULL;
	last = last ? last + 1 : jumps_spec;
	if ((err = parse_hop(last, strlen(last), &user, &hhost, &hport)) != 0)
		return err;
	if (last > jumps_spec &&
	    !(prev = cpk_strndup(jumps_spec, (size_t)(last - 1 - jumps_spec)))) {
		err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!(j = calloc(1, sizeof(*j)))) {
		err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	j->fd = j->wake[0] = j->wake[1] = -1;
	/* The hop: its own name, user and port (else its ssh_config's), the
	 * hops before it, everything else as for the target. */
	h.host = hhost;
	h.user = user;
	h.port = hport;
	h.proxy_jump = prev ? prev : "none";
	h.proxy_command = "none";
	if ((err = cpk_conn_open(&h, &j->hop)) != 0) {
		err = cpk_err_prefix(err, "jump host %.*s", (int)strlen(last),
				     last);
		goto out;
	}
	if (!(j->ch = ssh_channel_new(j->hop)) ||
	    ssh_channel_open_forward(j->ch, host, (int)port, "127.0.0.1",
				     0) != SSH_OK) {
		err = cpk_err_set(CPK_ERR_IO, "jump host %s: cannot open a "
				  "channel to %s port %u: %s", last, host,
				  port, ssh_get_error(j->hop));
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(j->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		err = cpk_err_sys("jump host %s: cannot make a socket pair",
				  last);
		goto out;
	}
	j->fd = sv[0];
	if (fcntl(j->fd, F_SETFL, fcntl(j->fd, F_GETFL) | O_NONBLOCK) < 0) {
		err = cpk_err_sys("jump host %s: cannot set up the socket pair",
				  last);
		goto out;
	}
	if ((errno = pthread_create(&j->th, NULL, pump, j)) != 0) {
		err = cpk_err_sys("jump host %s: cannot start a thread", last);
		goto out;
	}
	j->running = 1;
	*fd = sv[1];
	sv[1] = -1;
	*out = j;
	j = NULL;
out:
	if (sv[1] >= 0)
		close(sv[1]);
	jump_free(j);
	free(prev);
	free(user);
	free(hhost);
	return err;
}

void xjump_attach(struct xjump *j, ssh_session target)
{
	j->owner = target;
	pthread_mutex_lock(&jumps_mu);
	j->next = jumps;
	jumps = j;
	pthread_mutex_unlock(&jumps_mu);
}

struct xjump *xjump_detach(ssh_session target)
{
	struct xjump **p, *j = NULL;

	pthread_mutex_lock(&jumps_mu);
	for (p = &jumps; *p; p = &(*p)->next) {
		if ((*p)->owner == target) {
			j = *p;
			*p = j->next;
			break;
		}
	}
	pthread_mutex_unlock(&jumps_mu);
	return j;
}

void xjump_close(struct xjump *j)
{
	jump_free(j);
}

/* ---- TCP of one address family ------------------------------------------ */

/* Connects FD to AI within MS milliseconds (0: connected). */
static int connect_ms(int fd, const struct addrinfo *ai, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int e = 0, rc;

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	do
		rc = poll(&p, 1, ms);
	while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		return -1;
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

cpk_err_t xconn_tcp(const char *host, unsigned port, int family, int ms,
		    int *out)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *fam = family == 6 ? "IPv6" : "IPv4";
	char serv[16];
	int fd = -1, rc, e = 0, one = 1;

	*out = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family == 6 ? AF_INET6 : family == 4 ? AF_INET :
			  AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(serv, sizeof(serv), "%u", port);
	rc = getaddrinfo(host, serv, &hints, &res);
	if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY || rc == EAI_NODATA)
		return cpk_err_set(CPK_ERR_NOTFOUND, "%s has no %s address "
				   "(address family %s asked for: -%d or "
				   "AddressFamily %s)", host, fam, fam,
				   family, family == 6 ? "inet6" : "inet");
	if (rc)
		return cpk_err_set(CPK_ERR_IO, "cannot resolve %s: %s", host,
				   rc == EAI_SYSTEM ? strerror(errno) :
				   gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect_ms(fd, ai, ms) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return cpk_err_set(cpk_err_from_errno(e), "cannot connect to %s "
				   "port %u over %s: %s", host, port, fam,
				   strerror(e));
	/* libssh expects a blocking socket, as it makes itself */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		e = errno;
		close(fd);
		return cpk_err_set(cpk_err_from_errno(e), "cannot set up the "
				   "socket to %s: %s", host, strerror(e));
	}
	*out = fd;
	return CPK_OK;
}
