/*
 * Tests of conn.c and sftp.c against a real OpenSSH sshd (TAP output):
 * connections, sizes, windows, ranges, threads, many files, operations and
 * listings.  Run by t3001-sftp-api.sh; the fixture is lib/sftp_fixture.c.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/sftp_fixture.h"
#include "cpk/buf.h"
#include "banned.h"
#include "tap.h"

/* ---- connection tests ------------------------------------------------ */

static void test_conn(void)
{
	struct cpk_conn_opts o;
	ssh_session ss = NULL;
	cpk_err_t err;
	char kbuf[256];
	double t0;
	int lfd;

	base_opts(&o);
	err = cpk_conn_open(&o, &ss);
	ok(err == 0, "connect with key, known_hosts, aes128-gcm: %s",
	   err ? cpk_errmsg() : "ok");
	cpk_conn_close(ss);
	ss = NULL;

	memset(&o, 0, sizeof(o));
	o.host = "cpktest";
	o.config = sshcfg;
	o.no_agent = 1;
	err = cpk_conn_open(&o, &ss);
	ok(err == 0, "connect through -F ssh_config Host alias: %s",
	   err ? cpk_errmsg() : "ok");
	cpk_conn_close(ss);
	ss = NULL;

	/* unknown host key */
	base_opts(&o);
	o.known_hosts = P("empty_known_hosts");
	fclose(fopen(o.known_hosts, "w"));
	err = cpk_conn_open(&o, &ss);
	ok(err == CPK_ERR_PERM && has(cpk_errmsg(), "unknown") &&
	   has(cpk_errmsg(), fp) && has(cpk_errmsg(), "ssh-ed25519") &&
	   has(cpk_errmsg(), o.known_hosts) &&
	   has(cpk_errmsg(), "[127.0.0.1]:"),
	   "unknown host key refused, message names host/type/fp/file");
	printf("# %s\n", cpk_errmsg());
	ok(ss == NULL, "no session on refusal");

	/* changed host key: another ed25519 key recorded for the host */
	{
		FILE *f;
		char cmd[8192];

		snprintf(cmd, sizeof(cmd), "rm -f '%s' '%s.pub' && ssh-keygen "
			 "-q -t ed25519 -N '' -f '%s'", P("otherkey"),
			 P("otherkey"), P("otherkey"));
		ok(system(cmd) == 0, "made another host key");
		f = fopen(P("otherkey.pub"), "r");
		kbuf[0] = '\0';
		if (f) {
			if (!fgets(kbuf, sizeof(kbuf), f))
				kbuf[0] = '\0';
			fclose(f);
		}
		f = fopen(P("changed_known_hosts"), "w");
		if (f) {
			fprintf(f, "[127.0.0.1]:%u %s", port, kbuf);
			fclose(f);
		}
	}
	base_opts(&o);
	o.known_hosts = P("changed_known_hosts");
	err = cpk_conn_open(&o, &ss);
	ok(err == CPK_ERR_PERM && has(cpk_errmsg(), "CHANGED") &&
	   has(cpk_errmsg(), fp) && has(cpk_errmsg(), o.known_hosts),
	   "changed host key refused with a clear message");
	printf("# %s\n", cpk_errmsg());

	/* changed key, even with accept-new */
	o.hostkey_policy = CPK_HOSTKEY_ACCEPT_NEW;
	err = cpk_conn_open(&o, &ss);
	ok(err == CPK_ERR_PERM && has(cpk_errmsg(), "CHANGED"),
	   "changed host key refused under accept-new too");

	/* accept-new: unknown host gets added, then strict works */
	base_opts(&o);
	o.known_hosts = P("new_dir/known_hosts");
	o.hostkey_policy = CPK_HOSTKEY_ACCEPT_NEW;
	err = cpk_conn_open(&o, &ss);
	ok(err == 0, "accept-new accepts an unknown host: %s",
	   err ? cpk_errmsg() : "ok");
	cpk_conn_close(ss);
	ss = NULL;
	o.hostkey_policy = CPK_HOSTKEY_STRICT;
	err = cpk_conn_open(&o, &ss);
	ok(err == 0, "... and recorded it: strict check passes");
	cpk_conn_close(ss);
	ss = NULL;

	/* closed port: a clear error, fast */
	{
		struct sockaddr_in a;
		socklen_t al = sizeof(a);
		int sfd = socket(AF_INET, SOCK_STREAM, 0);
		unsigned closed;

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(sfd, (struct sockaddr *)&a, sizeof(a));
		getsockname(sfd, (struct sockaddr *)&a, &al);
		closed = ntohs(a.sin_port);
		close(sfd);	/* the port is now closed */
		base_opts(&o);
		o.port = closed;
		t0 = now_s();
		err = cpk_conn_open(&o, &ss);
		/* at once: far below the 120 s connect timeout */
		ok(err == CPK_ERR_IO && has(cpk_errmsg(), "refused") &&
		   has(cpk_errmsg(), "127.0.0.1") && now_s() - t0 < 60,
		   "closed port: clear error in %.3f s", now_s() - t0);
		printf("# %s\n", cpk_errmsg());
	}

	/* a server that accepts TCP but never speaks: the timeout fires */
	{
		struct sockaddr_in a;
		socklen_t al = sizeof(a);

		lfd = socket(AF_INET, SOCK_STREAM, 0);
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(lfd, (struct sockaddr *)&a, sizeof(a));
		listen(lfd, 4);
		getsockname(lfd, (struct sockaddr *)&a, &al);
		base_opts(&o);
		o.port = ntohs(a.sin_port);
		o.connect_timeout_ms = 1000;
		t0 = now_s();
		err = cpk_conn_open(&o, &ss);
		/* the 1 s timeout fires: not before, and long before
		 * anything else would end it */
		ok(err == CPK_ERR_IO && now_s() - t0 >= 0.9 &&
		   now_s() - t0 < 60 && has(cpk_errmsg(), "timeout"),
		   "silent server: gives up after the timeout (%.2f s)",
		   now_s() - t0);
		printf("# %s\n", cpk_errmsg());
		close(lfd);
	}

	/* a key the server does not know */
	{
		static const char *ids[2];

		base_opts(&o);
		ids[0] = P("otherkey");
		ids[1] = NULL;
		o.identities = ids;
		err = cpk_conn_open(&o, &ss);
		ok(err == CPK_ERR_PERM && has(cpk_errmsg(), "permission denied")
		   && has(cpk_errmsg(), "publickey"),
		   "unauthorized key: permission denied");
		printf("# %s\n", cpk_errmsg());
	}

	base_opts(&o);
	o.ciphers = "rot13-cbc";
	err = cpk_conn_open(&o, &ss);
	ok(err == CPK_ERR_INVALID && has(cpk_errmsg(), "rot13-cbc"),
	   "unknown cipher: invalid option");
	printf("# %s\n", cpk_errmsg());
}

/* ---- sftp tests ------------------------------------------------------ */

static void roundtrip(struct cpk_sftp *s, size_t size, const char *tag)
{
	const char *src = P("rt-%s-%zu.src", tag, size);
	const char *rem = P("rt-%s-%zu.remote", tag, size);
	const char *back = P("rt-%s-%zu.back", tag, size);
	cpk_err_t e1, e2;

	write_random(src, size, 0644);
	e1 = cpk_sftp_put(s, src, rem, 0);
	e2 = e1 ? e1 : cpk_sftp_get(s, rem, back, 0);
	ok(!e1 && !e2 && same_file(src, rem) && same_file(src, back),
	   "%s: %zu bytes up and down, byte for byte%s%s", tag, size,
	   e1 || e2 ? ": " : "", e1 || e2 ? cpk_errmsg() : "");
	unlink(src);
	unlink(rem);
	unlink(back);
}

static void test_sizes(ssh_session ss)
{
	struct cpk_sftp *s = sftp_or_bail(ss, NULL);
	struct cpk_sftp_info in;
	size_t c, sizes[16], i, n = 0;

	cpk_sftp_info(s, &in);
	ok(in.version == 3 && in.server_max_write == 261120 &&
	   in.chunk <= in.server_max_write && in.chunk >= 128 * 1024 &&
	   in.window == 64 && in.posix_rename,
	   "version %u, chunk %zu within the server's write limit %" PRIu64
	   ", window %u", in.version, in.chunk, in.server_max_write,
	   in.window);
	c = in.chunk;
	sizes[n++] = 0;
	sizes[n++] = 1;
	sizes[n++] = 4095;
	sizes[n++] = 32768;
	sizes[n++] = c - 1;
	sizes[n++] = c;
	sizes[n++] = c + 1;
	sizes[n++] = 2 * c + 7;
	sizes[n++] = 261120 + 1;
	sizes[n++] = 64 * c + 1;	/* more than the window */
	for (i = 0; i < n; i++)
		roundtrip(s, sizes[i], "default");
	{
		double t0 = now_s();

		roundtrip(s, 64u << 20, "default");
		printf("# 64 MiB up+down+compare in %.2f s\n", now_s() - t0);
	}
	cpk_sftp_free(s);
}

static void test_small_window(ssh_session ss)
{
	struct cpk_sftp_opts so;
	struct cpk_sftp *s;
	struct cpk_sftp_info in;

	memset(&so, 0, sizeof(so));
	so.window = 1;
	so.chunk = 4096;
	so.max_unsent = 1;
	s = sftp_or_bail(ss, &so);
	cpk_sftp_info(s, &in);
	ok(in.window == 1 && in.chunk == 4096, "window 1, chunk 4096");
	roundtrip(s, 0, "w1");
	roundtrip(s, 4097, "w1");
	roundtrip(s, (1 << 20) + 3, "w1");
	cpk_sftp_free(s);

	memset(&so, 0, sizeof(so));
	so.window = 1024;
	so.chunk = 1 << 20;	/* more than the server allows: clamped */
	s = sftp_or_bail(ss, &so);
	cpk_sftp_info(s, &in);
	ok(in.window == 1024 && in.chunk <= 261120,
	   "window 1024; chunk 1 MiB clamped to %zu", in.chunk);
	roundtrip(s, (8 << 20) + 5, "w1024");
	cpk_sftp_free(s);

	memset(&so, 0, sizeof(so));
	so.window = 5000;
	ok(cpk_sftp_new(ss, &so, &s) == CPK_ERR_INVALID && s == NULL,
	   "window 5000 refused: %s", cpk_errmsg());
}

static void test_ranges(ssh_session ss)
{
	struct cpk_sftp *s = sftp_or_bail(ss, NULL);
	struct cpk_sftp_handle h;
	const char *src = P("range.src"), *rem = P("range.remote");
	const char *dst = P("range.dst");
	size_t size = (3u << 20) + 12345, half = size / 2 + 777;
	uint64_t got = 0;
	int fd, ofd;
	cpk_err_t err;

	write_random(src, size, 0644);
	fd = open(src, O_RDONLY);
	err = cpk_sftp_open(s, rem, CPK_SFTP_WRITE | CPK_SFTP_CREAT |
			    CPK_SFTP_TRUNC, 0600, &h);
	ok(!err, "open for writing");
	/* second half first, like another connection would */
	err = cpk_sftp_write_range(s, &h, fd, half, size - half);
	if (!err)
		err = cpk_sftp_write_range(s, &h, fd, 0, half);
	ok(!err && !cpk_sftp_close(s, &h) && same_file(src, rem),
	   "write_range of two halves, out of order%s%s", err ? ": " : "",
	   err ? cpk_errmsg() : "");

	ofd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	err = cpk_sftp_open(s, rem, CPK_SFTP_READ, 0, &h);
	ok(!err, "open for reading");
	err = cpk_sftp_read_range(s, &h, ofd, half, UINT64_MAX, &got);
	ok(!err && got == size - half, "read_range to EOF: %" PRIu64
	   " bytes", got);
	err = cpk_sftp_read_range(s, &h, ofd, 0, half, &got);
	ok(!err && got == half, "read_range of the first half");
	ok(same_file(src, dst), "ranges reassemble byte for byte");
	err = cpk_sftp_read_range(s, &h, ofd, size - 10, 1000, &got);
	ok(err == CPK_ERR_IO && has(cpk_errmsg(), "ends at offset") &&
	   got == 10, "range past EOF: %s", cpk_errmsg());
	{
		char buf[100];
		size_t n = 1;

		err = cpk_sftp_read(s, &h, size, buf, sizeof(buf), &n);
		ok(!err && n == 0, "single READ at EOF gives 0 bytes");
		err = cpk_sftp_read(s, &h, 5, buf, sizeof(buf), &n);
		ok(!err && n == 100, "single READ of 100 bytes");
	}
	cpk_sftp_close(s, &h);
	close(ofd);
	close(fd);
	unlink(src);
	unlink(rem);
	unlink(dst);
	cpk_sftp_free(s);
}

/* 4 threads, each its own connection, upload a quarter of one file. */
struct tjob {
	const char *src, *rem;
	uint64_t off, len;
	cpk_err_t err;
	char msg[512];
};

static void *thread_upload(void *arg)
{
	struct tjob *t = arg;
	struct cpk_conn_opts o;
	ssh_session ss = NULL;
	struct cpk_sftp *s = NULL;
	struct cpk_sftp_handle h;
	int fd = -1;

	base_opts(&o);
	if ((t->err = cpk_conn_open(&o, &ss)) != 0 ||
	    (t->err = cpk_sftp_new(ss, NULL, &s)) != 0 ||
	    (t->err = cpk_sftp_open(s, t->rem, CPK_SFTP_WRITE, 0, &h)) != 0)
		goto out;
	fd = open(t->src, O_RDONLY);
	t->err = cpk_sftp_write_range(s, &h, fd, t->off, t->len);
	if (!t->err)
		t->err = cpk_sftp_close(s, &h);
out:
	if (t->err)
		snprintf(t->msg, sizeof(t->msg), "%s", cpk_errmsg());
	if (fd >= 0)
		close(fd);
	cpk_sftp_free(s);
	cpk_conn_close(ss);
	return NULL;
}

static void test_threads(void)
{
	const char *src = P("mt.src"), *rem = P("mt.remote");
	size_t size = (32u << 20) + 999;
	struct tjob t[4];
	pthread_t th[4];
	int i, fails = 0, fd;

	write_random(src, size, 0644);
	fd = open(rem, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (ftruncate(fd, (off_t)size) < 0)
		printf("# ftruncate: %s\n", strerror(errno));
	close(fd);
	for (i = 0; i < 4; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].src = src;
		t[i].rem = rem;
		t[i].off = size / 4 * (uint64_t)i;
		t[i].len = i == 3 ? size - t[i].off : size / 4;
		pthread_create(&th[i], NULL, thread_upload, &t[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (t[i].err) {
			fails++;
			printf("# thread %d: %s\n", i, t[i].msg);
		}
	}
	ok(!fails && same_file(src, rem),
	   "4 threads x 1 connection, quarters of a 32 MiB file");
	unlink(src);
	unlink(rem);
}

/* Names with spaces and UTF-8. */
static void small_name(char *buf, size_t n, int i)
{
	static const char *const pat[] = {
		"file ", "Grüße ", "データ_", "with  two spaces ", "ελληνικά-",
		"plain", "emoji 😀 ", "tab\tin name ",
	};

	snprintf(buf, n, "%s%03d", pat[i % 8], i);
}

static void test_many(ssh_session ss)
{
	struct cpk_sftp *s = sftp_or_bail(ss, NULL);
	enum { N = 500 };
	static struct cpk_sftp_file f[N], g[N];
	static char lpath[N][512], rpath[N][512], bpath[N][512];
	static size_t sizes[N];
	static mode_t modes[N];
	static time_t mt[N];
	const char *ldir = P("many-local"), *rdir = P("many-remote");
	const char *bdir = P("many-back");
	struct cpk_sftp_name *names = NULL;
	size_t nn = 0, i, bad = 0, badattr = 0, found = 0;
	static const mode_t mset[] = { 0600, 0640, 0644, 0755, 0700, 0444,
				       0750, 0604 };
	struct stat st;
	double t0;
	cpk_err_t err;

	mkdir(ldir, 0755);
	mkdir(bdir, 0755);
	err = cpk_sftp_mkdir(s, rdir, 0755);
	ok(!err, "mkdir remote dir: %s", err ? cpk_errmsg() : "ok");
	for (i = 0; i < N; i++) {
		char nm[128];
		struct timespec ts[2];
		int fd;

		small_name(nm, sizeof(nm), (int)i);
		snprintf(lpath[i], sizeof(lpath[i]), "%s/%s", ldir, nm);
		snprintf(rpath[i], sizeof(rpath[i]), "%s/%s", rdir, nm);
		snprintf(bpath[i], sizeof(bpath[i]), "%s/%s", bdir, nm);
		sizes[i] = i % 50 == 0 ? 0 : i % 77 == 0 ? 258048 + 1 :
			   (size_t)(rnd() % 100000);
		modes[i] = mset[i % 8];
		mt[i] = 1000000000 + (time_t)i * 1111;
		write_random(lpath[i], sizes[i], 0600);
		fd = open(lpath[i], O_RDONLY);
		ts[0].tv_sec = mt[i] - 5;
		ts[0].tv_nsec = 0;
		ts[1].tv_sec = mt[i];
		ts[1].tv_nsec = 0;
		futimens(fd, ts);
		fchmod(fd, modes[i]);
		close(fd);
		f[i].local = lpath[i];
		f[i].remote = rpath[i];
	}
	t0 = now_s();
	err = cpk_sftp_put_many(s, f, N, CPK_SFTP_PRESERVE);
	cpk_sftp_files_release(f, N);
	ok(!err, "put_many: 500 files in %.3f s%s%s", now_s() - t0,
	   err ? ": " : "", err ? cpk_errmsg() : "");
	for (i = 0; i < N; i++) {
		/* attributes first: reading updates atime (relatime) */
		if (stat(rpath[i], &st) < 0 || (st.st_mode & 07777) != modes[i]
		    || st.st_mtime != mt[i] || st.st_atime != mt[i] - 5)
			badattr++;
		if (f[i].err || !same_file(lpath[i], rpath[i]))
			bad++;
	}
	ok(bad == 0, "500 files uploaded byte for byte (%zu bad)", bad);
	ok(badattr == 0, "modes, mtimes and atimes preserved (%zu bad)",
	   badattr);

	err = cpk_sftp_listdir(s, rdir, &names, &nn);
	for (i = 0; i < nn; i++) {
		size_t k;

		for (k = 0; k < N; k++)
			if (!strcmp(rpath[k] + strlen(rdir) + 1,
				    names[i].name)) {
				found++;
				g[k].remote = rpath[k];
				g[k].local = bpath[k];
				g[k].attr = names[i].attr;
				break;
			}
	}
	ok(!err && nn == N && found == N, "listdir: %zu entries, all names "
	   "match (UTF-8, spaces)", nn);
	cpk_sftp_names_free(names, nn);

	t0 = now_s();
	err = cpk_sftp_get_many(s, g, N, CPK_SFTP_PRESERVE);
	cpk_sftp_files_release(g, N);
	ok(!err, "get_many: 500 files in %.3f s%s%s", now_s() - t0,
	   err ? ": " : "", err ? cpk_errmsg() : "");
	bad = badattr = 0;
	for (i = 0; i < N; i++) {
		if (g[i].err || !same_file(lpath[i], bpath[i]))
			bad++;
		if (stat(bpath[i], &st) < 0 || (st.st_mode & 07777) != modes[i]
		    || st.st_mtime != mt[i])
			badattr++;
	}
	ok(bad == 0, "500 files downloaded byte for byte (%zu bad)", bad);
	ok(badattr == 0, "local modes and mtimes preserved (%zu bad)",
	   badattr);

	/* without a size hint: read to EOF */
	for (i = 0; i < 20; i++) {
		g[i].attr.flags = 0;
		unlink(bpath[i]);
	}
	err = cpk_sftp_get_many(s, g, 20, 0);
	cpk_sftp_files_release(g, 20);
	bad = 0;
	for (i = 0; i < 20; i++)
		if (g[i].err || !same_file(lpath[i], bpath[i]))
			bad++;
	ok(!err && bad == 0, "get_many without sizes reads up to EOF");

	/* one failure among many: the others still go through */
	f[3].local = P("does-not-exist");
	err = cpk_sftp_put_many(s, f, 10, 0);
	ok(err == CPK_ERR_NOTFOUND && f[3].err == CPK_ERR_NOTFOUND &&
	   !f[2].err && !f[4].err && has(cpk_errmsg(), "does-not-exist"),
	   "put_many: a missing local file fails alone: %s", cpk_errmsg());
	ok(f[3].msg && has(f[3].msg, "does-not-exist") && !f[2].msg && !f[4].msg,
	   "put_many: the failed file's own message names it: %s",
	   f[3].msg ? f[3].msg : "(none)");
	cpk_sftp_files_release(f, 10);
	cpk_sftp_free(s);
}

static void test_ops(ssh_session ss)
{
	struct cpk_sftp *s = sftp_or_bail(ss, NULL);
	struct cpk_sftp_attr a, set;
	struct cpk_sftp_handle h;
	char *str = NULL;
	const char *d = P("ops"), *f1 = P("ops/a"), *f2 = P("ops/b");
	cpk_err_t err;

	err = cpk_sftp_mkdir(s, d, 0750);
	ok(!err && !cpk_sftp_stat(s, d, &a) && S_ISDIR(a.perm) &&
	   (a.perm & 0777) == 0750, "mkdir 0750, stat says directory 0750");
	err = cpk_sftp_mkdir(s, d, 0750);
	ok(err == CPK_ERR_IO && has(cpk_errmsg(), d) &&
	   has(cpk_errmsg(), "Failure"),
	   "mkdir of an existing dir: failure with the server's message: %s",
	   cpk_errmsg());
	err = cpk_sftp_stat(s, P("ops/missing"), &a);
	ok(err == CPK_ERR_NOTFOUND && has(cpk_errmsg(), "no such file") &&
	   has(cpk_errmsg(), "ops/missing") && has(cpk_errmsg(), "127.0.0.1"),
	   "stat of a missing file: %s", cpk_errmsg());
	err = cpk_sftp_open(s, P("ops/nodir/x"), CPK_SFTP_WRITE |
			    CPK_SFTP_CREAT, 0644, &h);
	ok(err == CPK_ERR_NOTFOUND && has(cpk_errmsg(), "nodir"),
	   "create in a missing dir: %s", cpk_errmsg());

	err = cpk_sftp_open(s, f1, CPK_SFTP_WRITE | CPK_SFTP_CREAT |
			    CPK_SFTP_TRUNC, 0600, &h);
	if (!err)
		err = cpk_sftp_write(s, &h, 0, "hello world", 11);
	ok(!err, "open + write");
	ok(!cpk_sftp_fstat(s, &h, &a) && a.size == 11, "fstat size 11");
	memset(&set, 0, sizeof(set));
	set.flags = CPK_SFTP_ATTR_PERM | CPK_SFTP_ATTR_TIMES;
	set.perm = 0641;
	set.atime = 1234567890;
	set.mtime = 1234567891;
	ok(!cpk_sftp_fsetstat(s, &h, &set), "fsetstat mode + times");
	ok(!cpk_sftp_close(s, &h), "close");
	ok(!cpk_sftp_stat(s, f1, &a) && (a.perm & 07777) == 0641 &&
	   a.mtime == 1234567891 && a.atime == 1234567890,
	   "stat shows mode 0641 and the times");
	set.flags = CPK_SFTP_ATTR_PERM;
	set.perm = 0604;
	ok(!cpk_sftp_setstat(s, f1, &set) && !cpk_sftp_stat(s, f1, &a) &&
	   (a.perm & 07777) == 0604, "setstat mode by path");
	set.flags = CPK_SFTP_ATTR_SIZE;
	set.size = 5;
	ok(!cpk_sftp_setstat(s, f1, &set) && !cpk_sftp_stat(s, f1, &a) &&
	   a.size == 5, "setstat size truncates");

	ok(!cpk_sftp_symlink(s, "a", f2), "symlink b -> a");
	err = cpk_sftp_readlink(s, f2, &str);
	ok(!err && str && !strcmp(str, "a"), "readlink b = %s",
	   str ? str : "(null)");
	free(str);
	str = NULL;
	ok(!cpk_sftp_lstat(s, f2, &a) && S_ISLNK(a.perm) &&
	   !cpk_sftp_stat(s, f2, &a) && S_ISREG(a.perm),
	   "lstat sees the link, stat the file");
	err = cpk_sftp_realpath(s, P("ops/../ops/./a"), &str);
	ok(!err && str && !strcmp(str, f1), "realpath normalizes: %s",
	   str ? str : "");
	free(str);
	str = NULL;
	err = cpk_sftp_rename(s, f1, f2, 0);
	ok(err == CPK_ERR_IO, "rename onto an existing name fails (v3): %s",
	   cpk_errmsg());
	err = cpk_sftp_rename(s, f1, f2, CPK_SFTP_RENAME_OVERWRITE);
	ok(!err && !cpk_sftp_lstat(s, f2, &a) && S_ISREG(a.perm) &&
	   cpk_sftp_stat(s, f1, &a) == CPK_ERR_NOTFOUND,
	   "rename with overwrite (posix-rename) replaces it");
	ok(!cpk_sftp_rename(s, f2, f1, 0), "plain rename back");
	{
		struct cpk_sftp_name *n = NULL;
		size_t cnt = 0;

		err = cpk_sftp_listdir(s, d, &n, &cnt);
		ok(!err && cnt == 1 && !strcmp(n[0].name, "a") &&
		   n[0].attr.size == 5, "listdir: one entry 'a' of 5 bytes");
		cpk_sftp_names_free(n, cnt);
	}
	ok(cpk_sftp_rmdir(s, d) == CPK_ERR_IO, "rmdir of a non-empty dir "
	   "fails: %s", cpk_errmsg());
	ok(!cpk_sftp_remove(s, f1), "remove");
	ok(cpk_sftp_remove(s, f1) == CPK_ERR_NOTFOUND, "remove again: not "
	   "found");
	ok(!cpk_sftp_rmdir(s, d) && cpk_sftp_stat(s, d, &a) ==
	   CPK_ERR_NOTFOUND, "rmdir");
	err = cpk_sftp_get(s, tdir, P("x"), 0);
	ok(err == CPK_ERR_INVALID && has(cpk_errmsg(), "not a regular"),
	   "get of a directory: %s", cpk_errmsg());
	err = cpk_sftp_put(s, P("no-such-local"), P("y"), 0);
	ok(err == CPK_ERR_NOTFOUND && has(cpk_errmsg(), "no-such-local"),
	   "put of a missing local file: %s", cpk_errmsg());
	cpk_sftp_free(s);
}

/* A directory of 1,000 entries read in pieces, and listed with a cap. */
static void test_readdir(ssh_session ss)
{
	struct cpk_sftp *s = sftp_or_bail(ss, NULL);
	struct cpk_sftp_handle h;
	struct cpk_sftp_dir ld[2];
	const char *paths[2];
	size_t caps[2];
	char d[4096], none[4096];
	unsigned char seen[1000];
	struct cpk_sftp_meter m;
	size_t total = 0, pieces = 0, dup = 0, bad = 0, i;
	int eof = 0, fd, k;
	cpk_err_t err = CPK_OK;

	snprintf(d, sizeof(d), "%s", P("rd"));
	snprintf(none, sizeof(none), "%s", P("rd-none"));
	ok(!cpk_sftp_mkdir(s, d, 0755), "a directory for 1,000 entries");
	for (k = 0; k < 1000; k++)
		if ((fd = open(P("rd/e%04d", k), O_CREAT | O_WRONLY, 0644)) >= 0)
			close(fd);
	memset(seen, 0, sizeof(seen));
	ok(!cpk_sftp_opendir(s, d, &h), "opendir");
	while (!err && !eof) {
		struct cpk_sftp_name *n = NULL;
		size_t cnt = 0;

		err = cpk_sftp_readdir(s, &h, 300, &n, &cnt, &eof);
		if (!err && cnt < 300 && !eof)
			bad++;
		for (i = 0; !err && i < cnt; i++) {
			int v = -1;

			if (sscanf(n[i].name, "e%d", &v) != 1 || v < 0 || v > 999)
				bad++;
			else if (seen[v]++)
				dup++;
		}
		total += cnt;
		pieces++;
		cpk_sftp_names_free(n, cnt);
	}
	ok(!err && eof, "readdir in pieces to the end: %s", err ? cpk_errmsg() : "ok");
	is_int((long long)total, 1000, "1,000 entries, no . or ..");
	ok(!dup && !bad && pieces >= 4, "each once, in %zu pieces of 300 or more",
	   pieces);
	ok(!cpk_sftp_close(s, &h), "closedir");
	paths[0] = d;
	paths[1] = none;
	caps[0] = 999;
	caps[1] = 0;
	err = cpk_sftp_listdir_many(s, paths, 2, caps, ld);
	ok(!err && ld[0].truncated && !ld[0].n && !ld[0].err && ld[1].err,
	   "listdir_many with a cap of 999: truncated, the missing one failed");
	cpk_sftp_dirs_free(ld, 2);
	caps[0] = 1000;
	memset(&m, 0, sizeof(m));
	cpk_sftp_meter_take(s, &m);	/* from zero */
	memset(&m, 0, sizeof(m));
	err = cpk_sftp_listdir_many(s, paths, 1, caps, ld);
	cpk_sftp_meter_take(s, &m);
	ok(!err && !ld[0].truncated && ld[0].n == 1000,
	   "with a cap of 1,000: all 1,000");
	memset(seen, 0, sizeof(seen));
	for (i = 0, dup = bad = 0; !err && i < ld[0].n; i++) {
		int v = -1;

		if (sscanf(ld[0].names[i].name, "e%d", &v) != 1 || v < 0 ||
		    v > 999)
			bad++;
		else if (seen[v]++)
			dup++;
	}
	ok(!err && !dup && !bad, "  each once");
	/* OpenSSH's sftp-server answers 100 names a READDIR: the 11 it
	 * takes went several at a time, not one per round trip */
	ok(m.inflight_max >= 2, "  READDIRs in flight at once: at most %u",
	   m.inflight_max);
	cpk_sftp_dirs_free(ld, 1);
	cpk_sftp_free(s);
}

int main(void)
{
	ssh_session ss;

	sftpt_setup();
	test_conn();
	ss = connect_or_bail();
	test_sizes(ss);
	test_small_window(ss);
	test_ranges(ss);
	test_threads();
	test_many(ss);
	test_ops(ss);
	test_readdir(ss);
	cpk_conn_close(ss);
	ssh_finalize();
	return done_testing();
}
