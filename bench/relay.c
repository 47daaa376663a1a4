/*
 * relay: a TCP relay that holds every byte for a fixed delay in each
 * direction, to emulate a long link on a kernel without netem.
 *
 *   relay LISTEN_PORT TARGET_PORT DELAY_MS [BUFFER_MIB]
 *
 * Listens on 127.0.0.1:LISTEN_PORT; each connection is relayed to
 * 127.0.0.1:TARGET_PORT.  Bytes read from one side are released to the other
 * DELAY_MS after they arrived (RTT = 2 x DELAY_MS).  Each direction of each
 * connection buffers up to BUFFER_MIB (default 64) so that the relay itself
 * does not cap rate x delay.  It terminates TCP: it delays the SSH/SFTP round
 * trips, not TCP's own window growth.  Prints "ready" once listening; runs
 * until killed.  A benchmark tool, not part of clusterpack.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE (256 * 1024)

struct chunk {
	struct chunk *next;
	uint64_t due;		/* CLOCK_MONOTONIC ns */
	size_t len;
	char data[];
};

struct dir {
	int from, to;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct chunk *head, *tail;
	size_t queued, cap;
	int eof, dead;
};

static uint64_t delay_ns;
static size_t buffer_cap;
static int target_port;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *reader(void *arg)
{
	struct dir *d = arg;

	for (;;) {
		struct chunk *c = malloc(sizeof(*c) + READ_SIZE);
		ssize_t n;

		if (!c)
			break;
		pthread_mutex_lock(&d->mu);
		while (d->queued >= d->cap && !d->dead)
			pthread_cond_wait(&d->cv, &d->mu);
		pthread_mutex_unlock(&d->mu);
		if (d->dead) {
			free(c);
			break;
		}
		do
			n = read(d->from, c->data, READ_SIZE);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			free(c);
			break;
		}
		c->len = (size_t)n;
		c->due = now_ns() + delay_ns;
		c->next = NULL;
		pthread_mutex_lock(&d->mu);
		if (d->tail)
			d->tail->next = c;
		else
			d->head = c;
		d->tail = c;
		d->queued += c->len;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
	}
	pthread_mutex_lock(&d->mu);
	d->eof = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static void *writer(void *arg)
{
	struct dir *d = arg;

	for (;;) {
		struct chunk *c;
		struct timespec ts;
		size_t off = 0;

		pthread_mutex_lock(&d->mu);
		while (!d->head && !d->eof)
			pthread_cond_wait(&d->cv, &d->mu);
		c = d->head;
		pthread_mutex_unlock(&d->mu);
		if (!c)
			break;	/* eof and drained */
		ts.tv_sec = (time_t)(c->due / 1000000000u);
		ts.tv_nsec = (long)(c->due % 1000000000u);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		while (off < c->len) {
			ssize_t n = write(d->to, c->data + off, c->len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				goto dead;
			off += (size_t)n;
		}
		pthread_mutex_lock(&d->mu);
		d->head = c->next;
		if (!d->head)
			d->tail = NULL;
		d->queued -= c->len;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		free(c);
	}
	shutdown(d->to, SHUT_WR);
	return NULL;
dead:
	pthread_mutex_lock(&d->mu);
	d->dead = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	shutdown(d->from, SHUT_RD);	/* wakes the reader */
	return NULL;
}

static void dir_init(struct dir *d, int from, int to)
{
	memset(d, 0, sizeof(*d));
	d->from = from;
	d->to = to;
	d->cap = buffer_cap;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
}

static void dir_free(struct dir *d)
{
	while (d->head) {
		struct chunk *c = d->head;

		d->head = c->next;
		free(c);
	}
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
}

static int connect_target(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)target_port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void *conn_main(void *arg)
{
	int cfd = (int)(intptr_t)arg, tfd = connect_target(), one = 1;
	struct dir up, down;
	pthread_t t[4];

	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (tfd < 0) {
		close(cfd);
		return NULL;
	}
	dir_init(&up, cfd, tfd);
	dir_init(&down, tfd, cfd);
	pthread_create(&t[0], NULL, reader, &up);
	pthread_create(&t[1], NULL, writer, &up);
	pthread_create(&t[2], NULL, reader, &down);
	pthread_create(&t[3], NULL, writer, &down);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	dir_free(&up);
	dir_free(&down);
	close(cfd);
	close(tfd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	pthread_attr_t attr;
	int lfd, one = 1;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: relay LISTEN_PORT TARGET_PORT DELAY_MS [BUFFER_MIB]\n");
		return 2;
	}
	target_port = (int)strtol(argv[2], NULL, 10);
	delay_ns = (uint64_t)strtoull(argv[3], NULL, 10) * 1000000u;
	buffer_cap = (size_t)(argc == 5 ? strtoul(argv[4], NULL, 10) : 64) << 20;
	signal(SIGPIPE, SIG_IGN);
	a.sin_port = htons((uint16_t)strtol(argv[1], NULL, 10));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lfd, 128) < 0) {
		perror("relay: listen");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		pthread_t t;
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("relay: accept");
			return 1;
		}
		if (pthread_create(&t, &attr, conn_main, (void *)(intptr_t)cfd) != 0)
			close(cfd);
	}
}
