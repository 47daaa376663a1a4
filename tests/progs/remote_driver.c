/*
 * Tests of lib/remote (cpk/remote.h) against a real OpenSSH sshd (TAP
 * output): a refused host key runs nothing, commands with hostile words,
 * stdin, output bound, exit status, signal, timeout, and the atomic put.
 * Run by t4300-remote.sh; the fixture is lib/sftp_fixture.c (the "remote"
 * side is this machine: TEST_DIR is seen by both).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/sftp_fixture.h"
#include "cpk/buf.h"
#include "cpk/remote.h"
#include "banned.h"
#include "tap.h"

static struct cpk_remote *open_or_bail(int timeout_ms, size_t out_max)
{
	struct cpk_remote_opts o = { .run_timeout_ms = timeout_ms,
				     .out_max = out_max };
	struct cpk_remote *r = NULL;

	base_opts(&o.conn);
	if (cpk_remote_open(&o, &r)) {
		printf("Bail out! cannot connect: %s\n", cpk_errmsg());
		exit(1);
	}
	return r;
}

/* Lines of FILE holding NEEDLE. */
static int count_lines(const char *file, const char *needle)
{
	FILE *f = fopen(file, "r");
	char line[4096];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += has(line, needle);
	fclose(f);
	return n;
}

/* Entries of DIR whose name holds NEEDLE (-1: cannot list). */
static int count_entries(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += has(e->d_name, needle);
	closedir(d);
	return n;
}

/* The whole of FILE, NUL-terminated (free()), or NULL. */
static char *slurp(const char *file)
{
	FILE *f = fopen(file, "r");
	struct cpk_buf b = CPK_BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		cpk_buf_add(&b, chunk, n);
	fclose(f);
	return cpk_buf_detach(&b, NULL);
}

/*
 * Whether sftp-server's log (SFTP_LOG) shows the put of DIR/NAME with MODE
 * done in this order: the temporary opened CREATE,EXCL with MODE, MODE set,
 * the data written, fsync, close, renamed over DIR/NAME, then (FAILED) the
 * temporary removed.  The first temporary of NAME in the log is taken.
 */
static int put_logged(const char *dir, const char *name, const char *mode,
		      int failed)
{
	char *log = slurp(env("SFTP_LOG")), *p, *q;
	char tmp[4096], want[8][4200];
	int i, n = 0, good = 1;

	if (!log)
		return 0;
	snprintf(want[0], sizeof(want[0]), "open \"%s/.%s.cpk-", dir, name);
	if (!(p = strstr(log, want[0])) ||
	    !(q = strchr(p + 6, '"')) || (size_t)(q - p - 6) >= sizeof(tmp)) {
		free(log);
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%.*s", (int)(q - p - 6), p + 6);
	snprintf(want[n++], sizeof(want[0]), "open \"%s\" flags "
		 "WRITE,CREATE,EXCL mode %s", tmp, mode);
	snprintf(want[n++], sizeof(want[0]), "set \"%s\" mode %s", tmp, mode);
	snprintf(want[n++], sizeof(want[0]), "write \"%s\"", tmp);
	snprintf(want[n++], sizeof(want[0]), "fsync \"%s\"", tmp);
	snprintf(want[n++], sizeof(want[0]), "close \"%s\"", tmp);
	snprintf(want[n++], sizeof(want[0]), "posix-rename old \"%s\" new "
		 "\"%s/%s\"", tmp, dir, name);
	if (failed)
		snprintf(want[n++], sizeof(want[0]), "remove name \"%s\"", tmp);
	for (i = 0, p = log; i < n && good; i++) {
		if (!(q = strstr(p, want[i]))) {
			printf("# not in the log after the previous: %s\n",
			       want[i]);
			good = 0;
		} else {
			p = q + strlen(want[i]);
		}
	}
	free(log);
	return good;
}

static void test_hostkey(void)
{
	struct cpk_remote_opts o = { 0 };
	/* not NULL, to see that a refusal sets it to NULL */
	struct cpk_remote *r = (struct cpk_remote *)&o;
	const char *log = env("SSHD_LOG");
	char cmd[8192];
	cpk_err_t err;

	snprintf(cmd, sizeof(cmd), "ssh-keygen -q -t ed25519 -N '' -f '%s' && "
		 "printf '[127.0.0.1]:%s ' >'%s' && cut -d' ' -f1,2 '%s.pub' "
		 ">>'%s'", P("otherkey"), port_s, P("wrong_kh"), P("otherkey"),
		 P("wrong_kh"));
	if (system(cmd) != 0) {
		printf("Bail out! cannot make a wrong known_hosts\n");
		exit(1);
	}
	base_opts(&o.conn);
	o.conn.known_hosts = P("wrong_kh");
	err = cpk_remote_open(&o, &r);
	ok(err == CPK_ERR_PERM && has(cpk_errmsg(), fp),
	   "changed host key refused, naming the offered key: %s",
	   cpk_errmsg());
	ok(r == NULL, "no handle on refusal");
	/* sshd logs from its children: give it time */
	sleep(2);
	ok(count_lines(log, "Accepted publickey") == 0 &&
	   count_lines(log, "session") == 0,
	   "sshd's log shows no login and no session");
}

static void test_run(struct cpk_remote *r)
{
	static const char *const hostile[] = {
		"printf", "%s|\\n", "a b", "it's", "\"dq\"", "$(touch PWNED)",
		"`touch PWNED`", "line1\nline2", "-n", "--", "", "\\", "*",
		"; touch PWNED", "'", "''", "a'b'c", "$HOME", "${IFS}", "\t",
		"-", "é\x01\x7f\xff", NULL };
	const char *argv3[] = { "sh", "-c", "echo out; echo err >&2; exit 3",
				NULL };
	struct cpk_remote_out out = CPK_REMOTE_OUT_INIT;
	struct cpk_buf want = CPK_BUF_INIT;
	char *cmd = NULL;
	int st = -2, i;
	cpk_err_t err;

	err = cpk_remote_run(r, argv3, NULL, 0, &out, &st);
	ok(err == 0 && st == 3, "exit status 3 returned: %s",
	   err ? cpk_errmsg() : "ok");
	ok(out.data && has(out.data, "out\n") && has(out.data, "err\n") &&
	   out.len == 8 && !out.truncated, "stdout and stderr captured");
	cpk_remote_out_release(&out);

	/* hostile words arrive byte for byte; run in TEST_DIR so a
	 * successful injection would leave PWNED there */
	{
		const char *const cd[] = { "sh", "-c", "cd \"$1\" && shift && "
					   "exec \"$@\"", "sh", tdir, NULL };
		const char *argv[64];
		int n = 0;

		for (i = 0; cd[i]; i++)
			argv[n++] = cd[i];
		for (i = 0; hostile[i]; i++)
			argv[n++] = hostile[i];
		argv[n] = NULL;
		for (i = 2; hostile[i]; i++)
			cpk_buf_addf(&want, "%s|\n", hostile[i]);
		err = cpk_remote_run(r, argv, NULL, 0, &out, &st);
		ok(err == 0 && st == 0, "hostile words: ran: %s",
		   err ? cpk_errmsg() : "ok");
		ok(out.data && out.len == want.len &&
		   !memcmp(out.data, want.buf, want.len),
		   "hostile words arrive byte for byte");
		if (out.data && (out.len != want.len ||
				 memcmp(out.data, want.buf, want.len)))
			printf("# got: %s\n# want: %s\n", out.data, want.buf);
		ok(access(P("PWNED"), F_OK) != 0 && errno == ENOENT,
		   "no word was run as a command");
		cpk_remote_out_release(&out);
	}
	cpk_buf_release(&want);

	{
		const char *const a[] = { "a b", "it's", NULL };
		const char *const none[] = { NULL };

		err = cpk_remote_command(a, &cmd);
		ok(err == 0 && !strcmp(cmd, "'a b' 'it'\\''s'"),
		   "quoting: %s", err ? cpk_errmsg() : cmd);
		free(cmd);
		cmd = NULL;
		err = cpk_remote_run(r, none, NULL, 0, &out, &st);
		ok(err == CPK_ERR_INVALID, "an empty argv is refused");
	}

	/* a word starting with '-' as the command itself */
	{
		const char *const a[] = { "-c", "echo hi", NULL };

		err = cpk_remote_run(r, a, NULL, 0, &out, &st);
		ok(err == 0 && st == 127 && out.data &&
		   !has(out.data, "hi\n"), "a leading '-' word is a command "
		   "name, not a shell option (status %d)", st);
		cpk_remote_out_release(&out);
	}
}

static void test_stdin_and_bounds(struct cpk_remote *r)
{
	static const char bin[] = "hello\0world\n'$(x)";
	const char *const cat[] = { "cat", NULL };
	const char *const wc[] = { "wc", "-c", NULL };
	const char *const big[] = { "sh", "-c", "head -c 2000000 /dev/zero | "
				    "tr '\\0' x", NULL };
	const char *const killed[] = { "sh", "-c", "kill -TERM $$", NULL };
	struct cpk_remote_out out = CPK_REMOTE_OUT_INIT;
	size_t n = 3u << 20, i;
	char *data = malloc(n);
	int st = -2;
	cpk_err_t err;

	err = cpk_remote_run(r, cat, bin, sizeof(bin) - 1, &out, &st);
	ok(err == 0 && st == 0 && out.len == sizeof(bin) - 1 &&
	   !memcmp(out.data, bin, sizeof(bin) - 1),
	   "stdin with a NUL byte comes back from cat unchanged");
	cpk_remote_out_release(&out);

	if (!data) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	for (i = 0; i < n; i++)
		data[i] = (char)rnd();
	err = cpk_remote_run(r, wc, data, n, &out, &st);
	ok(err == 0 && st == 0 && out.data && atol(out.data) == (long)n,
	   "3 MiB of stdin all arrive (%ld)", out.data ? atol(out.data) : -1);
	cpk_remote_out_release(&out);
	for (i = 0; i < 3; i++) {
		const char *const stop[] = { "head", "-c", "10", NULL };
		const char *const none[] = { "true", NULL };

		err = cpk_remote_run(r, i ? none : stop, data, n, &out, &st);
		ok(err == 0 && st == 0 && out.len == (i ? 0 : 10),
		   "a command that stops reading its stdin (%s) ends the run: "
		   "%s", i ? "true" : "head -c 10", err ? cpk_errmsg() : "ok");
		cpk_remote_out_release(&out);
	}
	free(data);

	err = cpk_remote_run(r, big, NULL, 0, &out, &st);
	ok(err == 0 && st == 0 && out.truncated && out.data &&
	   out.data[0] == 'x' && out.data[(1u << 20) - 1] == 'x' &&
	   has(out.data + (1u << 20), "output truncated: 2000000 bytes"),
	   "output beyond 1 MiB is dropped and said so");
	cpk_remote_out_release(&out);

	err = cpk_remote_run(r, killed, NULL, 0, &out, &st);
	ok(err == CPK_ERR_IO && has(cpk_errmsg(), "signal TERM"),
	   "a command killed by a signal is an error: %s", cpk_errmsg());
	cpk_remote_out_release(&out);

	err = cpk_remote_run(r, cat, NULL, 0, NULL, &st);
	ok(err == 0 && st == 0, "output may be dropped (out NULL)");
}

static void test_timeout(void)
{
	struct cpk_remote *r = open_or_bail(5000, 0);
	char script[4096];
	const char *argv[] = { "sh", "-c", script, NULL };
	const char *const t[] = { "true", NULL };
	double t0 = now_s();
	int st = -2, pid = 0, k;
	FILE *f;
	cpk_err_t err;

	snprintf(script, sizeof(script), "echo $$ >'%s'; exec sleep 300",
		 P("sleep.pid"));
	err = cpk_remote_run(r, argv, NULL, 0, NULL, &st);
	ok(err == CPK_ERR_IO && has(cpk_errmsg(), "timed out") &&
	   now_s() - t0 < 60, "the run's timeout ends it: %s", cpk_errmsg());
	if ((f = fopen(P("sleep.pid"), "r"))) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	/* killed by its process group (sshd refuses to signal root's
	 * sessions); give the host a moment */
	for (k = 0; k < 100 && pid > 0 && kill(pid, 0) == 0; k++)
		usleep(100000);
	ok(pid > 0 && kill(pid, 0) != 0 && has(cpk_errmsg(), "killed there"),
	   "the timed-out command was killed on the host (pid %d)", pid);
	if (pid > 0 && kill(pid, 0) == 0)
		kill(pid, SIGKILL);	/* ours: never leave it */
	err = cpk_remote_run(r, t, NULL, 0, NULL, &st);
	ok(err == 0 && st == 0, "the connection works after a timeout: %s",
	   err ? cpk_errmsg() : "ok");
	cpk_remote_close(r);
}

static void test_put(struct cpk_remote *r)
{
	const char *dir = P("put");
	struct stat sb;
	char buf[64];
	FILE *f;
	size_t n = 0;
	cpk_err_t err;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		printf("Bail out! mkdir %s\n", dir);
		exit(1);
	}
	err = cpk_remote_put(r, dir, "munge.key", "SECRET", 6, 0400);
	ok(err == 0, "put a file: %s", err ? cpk_errmsg() : "ok");
	ok(stat(P("put/munge.key"), &sb) == 0 && (sb.st_mode & 07777) == 0400
	   && sb.st_size == 6, "it has mode 0400 and its size");
	if ((f = fopen(P("put/munge.key"), "r"))) {
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
	}
	ok(n == 6 && !memcmp(buf, "SECRET", 6), "and its content");
	ok(put_logged(dir, "munge.key", "0400", 0), "sftp-server's log: a "
	   "temporary created exclusively with mode 0400, mode set, then the "
	   "data, fsync, close, renamed over the name");

	err = cpk_remote_put(r, dir, "munge.key", "NEWER!!", 7, 0664);
	ok(err == 0 && stat(P("put/munge.key"), &sb) == 0 &&
	   (sb.st_mode & 07777) == 0664 && sb.st_size == 7,
	   "put replaces a file, mode exact whatever the umask: %s",
	   err ? cpk_errmsg() : "ok");
	err = cpk_remote_put(r, dir, "empty", NULL, 0, 0600);
	ok(err == 0 && stat(P("put/empty"), &sb) == 0 && sb.st_size == 0,
	   "an empty file");

	ok(mkdir(P("put/adir"), 0755) == 0, "made a directory");
	err = cpk_remote_put(r, dir, "adir", "x", 1, 0644);
	ok(err != 0 && has(cpk_errmsg(), "adir"),
	   "put over a directory fails: %s", cpk_errmsg());
	ok(stat(P("put/adir"), &sb) == 0 && S_ISDIR(sb.st_mode),
	   "the directory is still there");
	ok(put_logged(dir, "adir", "0644", 1), "sftp-server's log: the "
	   "rename over the directory failed, the temporary was removed");

	err = cpk_remote_put(r, P("nosuchdir"), "f", "x", 1, 0644);
	ok(err != 0, "put into a missing directory fails: %s", cpk_errmsg());

	ok(cpk_remote_put(r, dir, "a/b", "x", 1, 0644) == CPK_ERR_INVALID &&
	   cpk_remote_put(r, dir, "..", "x", 1, 0644) == CPK_ERR_INVALID &&
	   cpk_remote_put(r, dir, ".", "x", 1, 0644) == CPK_ERR_INVALID &&
	   cpk_remote_put(r, dir, "", "x", 1, 0644) == CPK_ERR_INVALID &&
	   cpk_remote_put(r, dir, "../escape", "x", 1, 0644) ==
	   CPK_ERR_INVALID, "names with '/', '.', '..' or empty refused");
	ok(cpk_remote_put(r, dir, "f", "x", 1, 010644) == CPK_ERR_INVALID,
	   "a mode with more than permission bits refused");
	ok(access(P("escape"), F_OK) != 0 && access(P("put/a"), F_OK) != 0,
	   "nothing made for refused names");
	ok(count_entries(dir, ".cpk-") == 0,
	   "no temporary file left behind (%d)", count_entries(dir, ".cpk-"));
	ok(count_entries(dir, "") == 5,	/* . .. munge.key empty adir */
	   "the directory holds only what was put");
	{
		const char *const t[] = { "true", NULL };
		int st = -2;

		err = cpk_remote_run(r, t, NULL, 0, NULL, &st);
		ok(err == 0 && st == 0, "a command runs beside the open SFTP "
		   "channel: %s", err ? cpk_errmsg() : "ok");
	}
}

int main(void)
{
	struct cpk_remote *r;

	sftpt_setup();
	test_hostkey();
	r = open_or_bail(120000, 0);
	test_run(r);
	test_stdin_and_bounds(r);
	test_put(r);
	cpk_remote_close(r);
	test_timeout();
	ok(count_lines(env("SSHD_LOG"), "Starting session: command") > 0,
	   "sshd's log shows the sessions that did run (so the check of "
	   "none above can see one)");
	return done_testing();
}
