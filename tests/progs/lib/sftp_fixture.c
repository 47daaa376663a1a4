/*
 * The fixture of the SFTP test programs: see sftp_fixture.h.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sftp_fixture.h"
#include "cpk/error.h"

const char *port_s, *key, *kh, *fp, *sshcfg, *rodir, *tdir;
unsigned port;

const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		printf("Bail out! %s is not set (run t/3001-sftp-api.sh)\n",
		       name);
		exit(1);
	}
	return v;
}

/* A path under TEST_DIR; static ring of buffers for convenience. */
const char *P(const char *fmt, ...)
{
	static char ring[16][4096];
	static int i;
	char *b = ring[i++ % 16];
	int n = snprintf(b, 4096, "%s/", tdir);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b + n, 4096 - (size_t)n, fmt, ap);
	va_end(ap);
	return b;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int write_random(const char *path, size_t size, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	unsigned char buf[65536];
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < size) {
		size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);
		size_t i;

		for (i = 0; i < n; i += 8) {
			uint64_t r = rnd();

			memcpy(buf + i, &r, n - i < 8 ? n - i : 8);
		}
		if (write(fd, buf, n) != (ssize_t)n) {
			close(fd);
			return -1;
		}
		done += n;
	}
	fchmod(fd, mode);
	return close(fd);
}

/* 1 if the files are equal byte for byte. */
int same_file(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	static unsigned char ba[1 << 16], bb[1 << 16];
	int eq = fa && fb;

	while (eq) {
		size_t na = fread(ba, 1, sizeof(ba), fa);
		size_t nb = fread(bb, 1, sizeof(bb), fb);

		if (na != nb || memcmp(ba, bb, na))
			eq = 0;
		if (na == 0)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return eq;
}

void base_opts(struct cpk_conn_opts *o)
{
	static const char *ids[2];

	memset(o, 0, sizeof(*o));
	ids[0] = key;
	ids[1] = NULL;
	o->host = "127.0.0.1";
	o->port = port;
	o->user = "root";
	o->identities = ids;
	o->no_agent = 1;
	o->config = "none";
	o->known_hosts = kh;
	o->global_known_hosts = "/dev/null";
	o->ciphers = "aes128-gcm@openssh.com";
	o->connect_timeout_ms = 120000;	/* a bound for a hang only */
}

int has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

ssh_session connect_or_bail(void)
{
	struct cpk_conn_opts o;
	ssh_session ss = NULL;

	base_opts(&o);
	if (cpk_conn_open(&o, &ss)) {
		printf("Bail out! cannot connect: %s\n", cpk_errmsg());
		exit(1);
	}
	return ss;
}

struct cpk_sftp *sftp_or_bail(ssh_session ss,
				     const struct cpk_sftp_opts *so)
{
	struct cpk_sftp *s = NULL;

	if (cpk_sftp_new(ss, so, &s)) {
		printf("Bail out! sftp: %s\n", cpk_errmsg());
		exit(1);
	}
	return s;
}


void sftpt_setup(void)
{
	port_s = env("SSHD_PORT");
	key = env("SSHD_KEY");
	kh = env("SSHD_KNOWN_HOSTS");
	fp = env("SSHD_HOSTKEY_FP");
	sshcfg = env("SSHD_SSH_CONFIG");
	rodir = env("SSHD_RO_DIR");
	tdir = env("TEST_DIR");
	port = (unsigned)strtoul(port_s, NULL, 10);
}
