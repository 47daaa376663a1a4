/*
 * Tests of sftp.c against a real OpenSSH sshd (TAP output): the request
 * API, and failures: a dead connection, permissions, errors midway, a
 * stalled server.  Run by t3001-sftp-api.sh; the fixture is
 * lib/sftp_fixture.c.
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

/* ---- request API ----------------------------------------------------- */

struct counter {
	int n, errs, invalid_from_cb;
	struct cpk_sftp *s;
};

static void count_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		     void *arg)
{
	struct counter *c = arg;

	c->n++;
	if (r->err)
		c->errs++;
	if (cpk_sftp_pump(s, 0) == CPK_ERR_INVALID &&
	    cpk_sftp_stat(s, "/", NULL) == CPK_ERR_INVALID)
		c->invalid_from_cb++;
}

static void chain_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		     void *arg)
{
	struct counter *c = arg;

	(void)r;
	c->n++;
	/* the slot of this reply is free: one request fits, two do not */
	if (c->n == 1) {
		if (!cpk_sftp_req_stat(s, "/", chain_cb, c) &&
		    cpk_sftp_req_stat(s, "/", chain_cb, c) == CPK_ERR_INVALID)
			c->invalid_from_cb = 1;
	}
}

static void test_async(ssh_session ss)
{
	struct cpk_sftp *s = sftp_or_bail(ss, NULL);
	struct counter c = { 0, 0, 0, s };
	struct cpk_sftp_opts so;
	int i;
	cpk_err_t err = CPK_OK;

	for (i = 0; i < 300 && !err; i++)
		err = cpk_sftp_req_stat(s, i % 3 ? tdir : P("nope%d", i),
					count_cb, &c);
	ok(!err && cpk_sftp_inflight(s) <= 64, "300 STATs queued, at most "
	   "64 in flight (%u)", cpk_sftp_inflight(s));
	err = cpk_sftp_drain(s);
	ok(!err && c.n == 300 && c.errs == 100 &&
	   cpk_sftp_inflight(s) == 0 && cpk_sftp_slots(s) == 64,
	   "all 300 replies, 100 of them not found (%d, %d)", c.n, c.errs);
	ok(c.invalid_from_cb == 300, "pump and blocking calls refused "
	   "inside callbacks");
	cpk_sftp_free(s);

	memset(&so, 0, sizeof(so));
	so.window = 1;
	s = sftp_or_bail(ss, &so);
	memset(&c, 0, sizeof(c));
	err = cpk_sftp_req_stat(s, "/", chain_cb, &c);
	if (!err)
		err = cpk_sftp_drain(s);
	ok(!err && c.n == 2 && c.invalid_from_cb,
	   "a callback reuses its slot; a second request is refused");
	cpk_sftp_free(s);
}

/* The connection dies under outstanding requests: errors, no hang. */
static void test_dead(void)
{
	ssh_session ss = connect_or_bail();
	struct cpk_sftp *s = sftp_or_bail(ss, NULL);
	struct counter c = { 0, 0, 0, s };
	struct cpk_sftp_attr a;
	double t0;
	int i;
	cpk_err_t err;

	for (i = 0; i < 10; i++)
		cpk_sftp_req_stat(s, "/", count_cb, &c);
	shutdown(ssh_get_fd(ss), SHUT_RDWR);
	t0 = now_s();
	err = cpk_sftp_drain(s);
	ok(err == CPK_ERR_IO && c.n == 10 && c.errs == 10 &&
	   now_s() - t0 < 60, "connection lost: all 10 callbacks get an "
	   "error, at once: %s", cpk_errmsg());
	err = cpk_sftp_stat(s, "/", &a);
	ok(err == CPK_ERR_IO, "later calls fail the same way");
	cpk_sftp_free(s);
	cpk_conn_close(ss);
}

static void test_permission(ssh_session ss)
{
	struct cpk_sftp_opts so;
	struct cpk_sftp *s;
	struct cpk_sftp_handle h;
	struct cpk_sftp_file f[3];
	char rp[3][512];
	const char *src = P("perm.src");
	int i;
	cpk_err_t err;

	memset(&so, 0, sizeof(so));
	so.subsystem = "sftp-nobody";
	s = sftp_or_bail(ss, &so);
	{
		char path[600];

		snprintf(path, sizeof(path), "%s/x", rodir);
		err = cpk_sftp_open(s, path, CPK_SFTP_WRITE | CPK_SFTP_CREAT,
				    0644, &h);
		ok(err == CPK_ERR_PERM && has(cpk_errmsg(), "permission "
		   "denied") && has(cpk_errmsg(), path),
		   "create in a 0500 dir as nobody: %s", cpk_errmsg());
		err = cpk_sftp_mkdir(s, path, 0755);
		ok(err == CPK_ERR_PERM, "mkdir there: permission denied");
	}
	write_random(src, 1000, 0644);
	for (i = 0; i < 3; i++) {
		snprintf(rp[i], sizeof(rp[i]), "%s/f%d", rodir, i);
		f[i].local = src;
		f[i].remote = rp[i];
	}
	err = cpk_sftp_put_many(s, f, 3, 0);
	cpk_sftp_files_release(f, 3);
	ok(err == CPK_ERR_PERM && f[0].err == CPK_ERR_PERM &&
	   f[2].err == CPK_ERR_PERM && has(cpk_errmsg(), "3 of 3"),
	   "put_many into it: each file denied: %s", cpk_errmsg());
	unlink(src);
	cpk_sftp_free(s);

	so.subsystem = "no-such-subsystem";
	ok(cpk_sftp_new(ss, &so, &s) == CPK_ERR_IO &&
	   has(cpk_errmsg(), "no-such-subsystem"),
	   "unknown subsystem refused: %s", cpk_errmsg());
}

/* Errors in the middle of a pipeline: every outstanding request fails,
 * the connection stays usable. */
static void test_midway_errors(ssh_session ss)
{
	struct cpk_sftp *s = sftp_or_bail(ss, NULL);
	struct cpk_sftp_file g;
	struct cpk_sftp_attr a;
	const char *src = P("full.src");
	cpk_err_t err;

	write_random(src, 4u << 20, 0644);
	err = cpk_sftp_put(s, src, "/dev/full", 0);
	ok(err == CPK_ERR_IO && has(cpk_errmsg(), "write at offset") &&
	   has(cpk_errmsg(), "Failure"),
	   "upload to /dev/full: WRITEs fail (ENOSPC): %s", cpk_errmsg());
	ok(!cpk_sftp_stat(s, "/", &a) && cpk_sftp_inflight(s) == 0,
	   "... and the connection is still usable");

	memset(&g, 0, sizeof(g));
	g.remote = tdir;	/* a directory: OPEN works, READ fails */
	g.local = P("dir.dst");
	g.attr.flags = CPK_SFTP_ATTR_SIZE;
	g.attr.size = 3u << 20;
	err = cpk_sftp_get_many(s, &g, 1, 0);
	cpk_sftp_files_release(&g, 1);
	ok(err == CPK_ERR_IO && g.err == CPK_ERR_IO &&
	   has(cpk_errmsg(), "read at offset"),
	   "download of a directory: READs fail: %s", cpk_errmsg());
	ok(!cpk_sftp_stat(s, "/", &a), "... still usable");
	unlink(src);
	unlink(g.local);
	cpk_sftp_free(s);
}

/* A server that stops answering: the io timeout fires, no hang. */
static void test_stalled(ssh_session ss)
{
	struct cpk_sftp_opts so;
	struct cpk_sftp *s;
	struct cpk_sftp_attr a;
	char buf[32] = "";
	FILE *f;
	pid_t pid = 0;
	double t0;
	cpk_err_t err;

	memset(&so, 0, sizeof(so));
	so.subsystem = "sftp-nobody";
	s = sftp_or_bail(ss, &so);
	/* short only now: the handshake (a new server process, slow on a
	 * loaded machine) is not what is tested */
	cpk_sftp_set_io_timeout(s, 1000);
	f = fopen(env("SSHD_NOBODY_PIDFILE"), "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			pid = (pid_t)strtol(buf, NULL, 10);
		fclose(f);
	}
	ok(pid > 1 && kill(pid, SIGSTOP) == 0, "stopped the sftp-server "
	   "(pid %d)", (int)pid);
	t0 = now_s();
	err = cpk_sftp_stat(s, "/", &a);
	ok(err == CPK_ERR_IO && has(cpk_errmsg(), "no reply") &&
	   now_s() - t0 >= 0.9 && now_s() - t0 < 60, "stalled server: gave up after %.2f s: %s",
	   now_s() - t0, cpk_errmsg());
	if (pid > 1)
		kill(pid, SIGCONT);
	cpk_sftp_free(s);
}

/* Cuts the connection (socket FD) from the progress callback once AFTER
 * bytes have moved: in the middle of the transfer, whatever the speed. */
struct killer {
	int fd;
	uint64_t after, seen;
};

static void kill_on_data(void *arg, uint64_t n)
{
	struct killer *k = arg;

	k->seen += n;
	if (k->seen >= k->after && k->fd >= 0) {
		shutdown(k->fd, SHUT_RDWR);
		k->fd = -1;
	}
}

/* The connection dies in the middle of put_many: every file is accounted
 * for, the call returns at once. */
static void test_dead_many(void)
{
	enum { N = 400 };
	static struct cpk_sftp_file f[N];
	static char rp[N][256];
	ssh_session ss = connect_or_bail();
	struct cpk_sftp_opts so;
	struct cpk_sftp *s;
	const char *src = P("dm.src"), *rdir = P("dm-remote");
	struct killer k = { -1, 4u << 20, 0 };
	size_t i, okc = 0, failc = 0;
	double t0;
	cpk_err_t err;

	write_random(src, 512 * 1024, 0644);
	mkdir(rdir, 0755);
	for (i = 0; i < N; i++) {
		snprintf(rp[i], sizeof(rp[i]), "%s/f%zu", rdir, i);
		f[i].local = src;
		f[i].remote = rp[i];
	}
	memset(&so, 0, sizeof(so));
	so.on_data = kill_on_data;
	so.on_data_arg = &k;
	s = sftp_or_bail(ss, &so);
	k.fd = ssh_get_fd(ss);
	t0 = now_s();
	err = cpk_sftp_put_many(s, f, N, 0);
	cpk_sftp_files_release(f, N);
	for (i = 0; i < N; i++) {
		if (f[i].err == CPK_OK && same_file(src, rp[i]))
			okc++;
		else if (f[i].err)
			failc++;
	}
	ok(err == CPK_ERR_IO && okc + failc == N && failc > 0 &&
	   okc < N && k.fd == -1 && has(cpk_errmsg(), "files failed") &&
	   now_s() - t0 < 60,
	   "connection cut during put_many: %zu done, %zu failed, every "
	   "file accounted for: %s", okc, failc, cpk_errmsg());
	unlink(src);
	cpk_sftp_free(s);
	cpk_conn_close(ss);
}

int main(void)
{
	ssh_session ss;

	sftpt_setup();
	ss = connect_or_bail();
	test_async(ss);
	test_permission(ss);
	test_midway_errors(ss);
	test_stalled(ss);
	cpk_conn_close(ss);
	test_dead();
	test_dead_many();
	ssh_finalize();
	return done_testing();
}
