/*
 * Runs the staging helper as the job's user, from root (slurmstepd).
 * Everything the child needs (groups, environment) is prepared before the
 * fork: between fork and exec the child calls only async-signal-safe
 * functions, since slurmstepd has threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpk/stage.h"
#include "internal.h"

#define KILL_GRACE_MS 5000

/* Writes MSG to FD and exits with CODE (in the child only). */
static void child_die(int fd, const char *msg, int code)
{
	if (fd >= 0) {
		ssize_t r = write(fd, msg, strlen(msg));

		(void)r;
	}
	_exit(code);
}

static void child(const struct cpk_stage_spawn *s, const gid_t *groups,
		  int ngroups, char *const *envp)
{
	sigset_t none;
	int sig, efd = s->err_fd >= 0 ? s->err_fd : 2;

	setpgid(0, 0);
	if (setgroups((size_t)ngroups, groups) < 0)
		child_die(efd, "cpk_stage: setgroups failed\n", 126);
	if (setgid(s->gid) < 0)
		child_die(efd, "cpk_stage: setgid failed\n", 126);
	if (setuid(s->uid) < 0)
		child_die(efd, "cpk_stage: setuid failed\n", 126);
	if (s->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		child_die(efd, "cpk_stage: could get root back after setuid\n",
			  126);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (s->err_fd >= 0) {
		if (dup2(s->err_fd, 1) < 0 || dup2(s->err_fd, 2) < 0)
			_exit(126);
	}
	if (s->report_fd > 2) {
		if (s->report_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 :
		    dup2(s->report_fd, 3) < 0)
			_exit(126);
	}
	efd = 2;
	if (chdir(s->workdir) < 0)
		child_die(efd, "cpk_stage: cannot enter the job's working "
			  "directory as the job's user\n", 126);
	execve(s->argv[0], s->argv, envp);
	child_die(efd, "cpk_stage: cannot run the helper (cpk= plugin "
		  "argument)\n", 127);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Says why the child is stopped (WHY from wait_child(); KILLED: SIGKILL). */
static void say_stop(const struct cpk_stage_spawn *s, const char *why,
		     int killed)
{
	char m[160];

	if (!s->log)
		return;
	if (killed)
		snprintf(m, sizeof(m), "the child did not stop within %d s of "
			 "SIGTERM: SIGKILL", KILL_GRACE_MS / 1000);
	else if (s->timeout_s && !strcmp(why, "time limit reached"))
		snprintf(m, sizeof(m), "time limit of %u s reached: SIGTERM to "
			 "the child", s->timeout_s);
	else
		snprintf(m, sizeof(m), "%s: SIGTERM to the child", why);
	s->log(CPK_STAGE_LOG_WARN, m, s->log_arg);
}

/* Waits for PID, stopping its group at the time limit or on cancel. */
static cpk_err_t wait_child(const struct cpk_stage_spawn *s, pid_t pid,
			    int *status)
{
	long long start = now_ms(), killed_at = 0;
	const char *why = NULL;
	struct timespec tick = { 0, 50 * 1000000 };
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return cpk_err_sys("waiting for the staging helper");
		if (!why) {
			if (s->timeout_s &&
			    now_ms() - start >= (long long)s->timeout_s * 1000)
				why = "time limit reached";
			else if (s->cancelled && s->cancelled(s->arg))
				why = "cancelled";
			if (why) {
				say_stop(s, why, 0);
				kill(-pid, SIGTERM);
				kill(pid, SIGTERM);
				killed_at = now_ms();
			}
		} else if (killed_at && now_ms() - killed_at >= KILL_GRACE_MS) {
			say_stop(s, why, 1);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed_at = 0;
		}
		nanosleep(&tick, NULL);
	}
	if (why) {
		kill(-pid, SIGKILL);	/* what the helper left in its group */
		if (s->timeout_s && !strcmp(why, "time limit reached"))
			return cpk_err_set(CPK_ERR_INTERRUPTED, "staging "
					   "stopped: time limit of %u s reached",
					   s->timeout_s);
		return cpk_err_set(CPK_ERR_INTERRUPTED, "staging stopped: %s",
				   why);
	}
	return CPK_OK;
}

cpk_err_t cpk_stage_spawn(const struct cpk_stage_spawn *s, int *status)
{
	struct passwd pw, *pwp = NULL;
	char *pwbuf = NULL, *env[5] = { NULL };
	gid_t *groups = NULL;
	int ngroups = 64, i;
	cpk_err_t e = CPK_OK;
	pid_t pid;
	long sz = sysconf(_SC_GETPW_R_SIZE_MAX);

	*status = -1;
	if (!s->argv || !s->argv[0] || s->argv[0][0] != '/' || !s->workdir)
		return cpk_err_set(CPK_ERR_INVALID, "staging helper: want an "
				   "absolute program path and a working "
				   "directory");
	if (sz < 1024)
		sz = 16384;
	if (!(pwbuf = malloc((size_t)sz)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	errno = getpwuid_r(s->uid, &pw, pwbuf, (size_t)sz, &pwp);
	if (!pwp) {
		e = errno ? cpk_err_sys("no passwd entry for uid %u",
					(unsigned)s->uid) :
			cpk_err_set(CPK_ERR_NOTFOUND, "no passwd entry for "
				    "uid %u", (unsigned)s->uid);
		goto out;
	}
	for (;;) {
		int n = ngroups;

		free(groups);
		if (!(groups = calloc((size_t)ngroups, sizeof(*groups)))) {
			e = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (getgrouplist(pw.pw_name, s->gid, groups, &n) >= 0) {
			ngroups = n;
			break;
		}
		if (n <= ngroups || n > 65536) {
			e = cpk_err_set(CPK_ERR_IO, "cannot list the groups "
					"of %s", pw.pw_name);
			goto out;
		}
		ngroups = n;
	}
	{
		struct cpk_buf b[4] = { CPK_BUF_INIT, CPK_BUF_INIT,
					CPK_BUF_INIT, CPK_BUF_INIT };

		cpk_buf_addf(&b[0], "HOME=%s", pw.pw_dir);
		cpk_buf_addf(&b[1], "USER=%s", pw.pw_name);
		cpk_buf_addf(&b[2], "LOGNAME=%s", pw.pw_name);
		cpk_buf_addstr(&b[3], "PATH=/usr/local/bin:/usr/bin:/bin");
		for (i = 0; i < 4; i++) {
			if (cpk_buf_failed(&b[i]))
				e = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			env[i] = cpk_buf_detach(&b[i], NULL);
		}
		if (e)
			goto out;
	}
	pid = fork();
	if (pid < 0) {
		e = cpk_err_sys("cannot fork the staging helper");
		goto out;
	}
	if (pid == 0)
		child(s, groups, ngroups, env);
	setpgid(pid, pid);	/* either side may win the race */
	e = wait_child(s, pid, status);
out:
	for (i = 0; i < 4; i++)
		free(env[i]);
	free(groups);
	free(pwbuf);
	return e;
}

cpk_err_t cpk_stage_run_bounded(void (*fn)(void *arg), void *arg,
				unsigned timeout_s, cpk_stage_log_fn *log,
				void *log_arg, int *status)
{
	struct cpk_stage_spawn s;
	pid_t pid;

	*status = -1;
	memset(&s, 0, sizeof(s));
	s.timeout_s = timeout_s;
	s.log = log;
	s.log_arg = log_arg;
	pid = fork();
	if (pid < 0)
		return cpk_err_sys("cannot fork");
	if (pid == 0) {
		sigset_t none;

		setpgid(0, 0);
		signal(SIGTERM, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fn(arg);
		_exit(0);
	}
	setpgid(pid, pid);
	return wait_child(&s, pid, status);
}
