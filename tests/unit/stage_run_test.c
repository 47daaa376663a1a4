/*
 * Unit tests for what cpk_stage.so's exit hook relies on: the AdminComment
 * text (lib/stage/comment.c: one line of printable ASCII whatever a path
 * holds, bounded), cpk_stage_run_bounded() (lib/stage/spawn.c: a child that
 * hangs, as a request to a hung slurmctld would, is stopped at the time
 * limit; its exit status comes back; the stop is logged), and the retries
 * of lib/xfer (retries are tries after the first; 0 from the user: one try).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpk/stage.h"
#include "cpk/xfer.h"
#include "tap.h"

static void test_comment(void)
{
	char b[CPK_STAGE_COMMENT_MAX + 100], big[2000];
	size_t i;
	int clean = 1;

	is_str(cpk_stage_comment(b, sizeof(b), "stage-out failed: %d of %d", 2, 3),
	       "stage-out failed: 2 of 3", "a plain comment is kept");
	is_str(cpk_stage_comment(b, sizeof(b), "kept in %s; see x",
				 "/w/evil\033[31m\tx\ny\r\x7f\xc3\xa9"),
	       "kept in /w/evil?[31m?x?y????; see x",
	       "control bytes, DEL and non-ASCII bytes of a path become '?'");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[700] = '\n';
	cpk_stage_comment(b, sizeof(b), "%s", big);
	is_int((long long)strlen(b), CPK_STAGE_COMMENT_MAX - 1,
	       "a long comment is cut at CPK_STAGE_COMMENT_MAX - 1 bytes");
	ok(!strcmp(b + strlen(b) - 3, "..."), "  and ends with \"...\"");
	for (i = 0; b[i]; i++)
		if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] >= 0x7f)
			clean = 0;
	ok(clean, "  with no control byte in it (the new line at 700 is cut off)");
	cpk_stage_comment(b, 8, "%s", "0123456789");
	is_str(b, "0123...", "a small buffer: cut to fit");
}

static int logged;
static char last_log[200];

static void log_cb(int level, const char *msg, void *arg)
{
	(void)arg;
	if (level == CPK_STAGE_LOG_WARN)
		logged++;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

static void hang(void *arg)
{
	(void)arg;
	for (;;)
		pause();
}

static void ignore_term_and_hang(void *arg)
{
	(void)arg;
	signal(SIGTERM, SIG_IGN);
	for (;;)
		pause();
}

static void exit3(void *arg)
{
	(void)arg;
	_exit(3);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_bounded(void)
{
	int status = 0;
	double t0 = now();
	cpk_err_t e = cpk_stage_run_bounded(exit3, NULL, 5, log_cb, NULL, &status);

	ok(e == CPK_OK && WIFEXITED(status) && WEXITSTATUS(status) == 3,
	   "a child that exits: its exit status comes back");
	ok(now() - t0 < 2, "  at once");
	t0 = now();
	e = cpk_stage_run_bounded(hang, NULL, 1, log_cb, NULL, &status);
	ok(e == CPK_ERR_INTERRUPTED && WIFSIGNALED(status) &&
	   WTERMSIG(status) == SIGTERM, "a child that hangs is stopped (SIGTERM)");
	ok(now() - t0 < 2.5, "  at the time limit of 1 s (took %.1f s)", now() - t0);
	ok(logged == 1 && strstr(last_log, "time limit of 1 s reached"),
	   "  the stop is logged: %s", last_log);
	ok(strstr(cpk_errmsg(), "time limit of 1 s") != NULL, "  and said: %s",
	   cpk_errmsg());
	/* SIGTERM blocked, as in slurmstepd's hooks: the child unblocks it */
	{
		sigset_t term, old;

		sigemptyset(&term);
		sigaddset(&term, SIGTERM);
		sigprocmask(SIG_BLOCK, &term, &old);
		t0 = now();
		e = cpk_stage_run_bounded(hang, NULL, 1, NULL, NULL, &status);
		ok(e == CPK_ERR_INTERRUPTED && now() - t0 < 2.5,
		   "the caller's blocked SIGTERM is not the child's");
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	logged = 0;
	t0 = now();
	e = cpk_stage_run_bounded(ignore_term_and_hang, NULL, 1, log_cb, NULL, &status);
	ok(e == CPK_ERR_INTERRUPTED && WIFSIGNALED(status) &&
	   WTERMSIG(status) == SIGKILL, "a child that ignores SIGTERM is killed");
	ok(now() - t0 > 5.5 && now() - t0 < 8, "  5 s later (took %.1f s)", now() - t0);
	ok(logged == 2 && strstr(last_log, "SIGKILL"), "  both steps logged: %s",
	   last_log);
}

static void test_retries(void)
{
	is_int(cpk_xfer_retries_of(0), 3, "xfer retries: 0 (unset) is the default, 3");
	is_int(cpk_xfer_retries_of(CPK_XFER_RETRIES_NONE), 0,
	       "CPK_XFER_RETRIES_NONE: no retry, one try");
	is_int(cpk_xfer_retries_of(1), 1, "1: one retry (two tries)");
	is_int(cpk_xfer_retries_of(10), 10, "10: ten retries");
}

int main(void)
{
	test_comment();
	test_bounded();
	test_retries();
	return done_testing();
}
