/*
 * The live system beyond files: running a command (fork/exec with an argv,
 * no shell, output captured), whether ROOT is the running "/", systemd's
 * services of a role, and the LDAP tree once slapd runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpk/ldap.h"
#include "apply_priv.h"

#define RUN_MAX_OUTPUT ((size_t)256 << 10)	/* kept of a command's output: its end */
#define SYSTEMCTL "/usr/bin/systemctl"

static char *const run_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"DEBIAN_FRONTEND=noninteractive",
	"LC_ALL=C",
	NULL,
};

/* In the child: stdin from IN (an ended pipe), stdout and stderr to OUT. */
static void run_child(char *const argv[], int in, int out)
{
	sigset_t none;
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	closefrom(3);
	execve(argv[0], argv, run_env);
	{
		ssize_t w = write(2, "cannot execute it\n", 18);

		(void)w;
	}
	_exit(127);
}

cpk_err_t apply_run(char *const argv[], const char *input, struct cpk_buf *out, int *status)
{
	int op[2] = { -1, -1 }, ip[2] = { -1, -1 }, st = 0;
	char chunk[4096];
	cpk_err_t r = CPK_OK;
	pid_t pid;
	ssize_t n;

	*status = -1;
	/* stdin is a pipe too, ended after INPUT: no /dev/null needed */
	if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ip, O_CLOEXEC) < 0) {
		r = cpk_err_sys("cannot run %s: pipe", argv[0]);
		goto out;
	}
	/* the input is a line or two: it fits the pipe, written before any read */
	if (input && (strlen(input) > 4096 ||
		      write(ip[1], input, strlen(input)) != (ssize_t)strlen(input))) {
		r = cpk_err_sys("cannot run %s: its input", argv[0]);
		goto out;
	}
	if ((pid = fork()) < 0) {
		r = cpk_err_sys("cannot run %s: fork", argv[0]);
		goto out;
	}
	if (pid == 0)
		run_child(argv, ip[0], op[1]);
	close(op[1]);
	op[1] = -1;
	if (ip[1] >= 0) {
		close(ip[1]);
		ip[1] = -1;
	}
	while ((n = read(op[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (!out)
			continue;
		if (out->len + (size_t)n > RUN_MAX_OUTPUT) {	/* keep the end: the error is there */
			size_t keep = RUN_MAX_OUTPUT / 2 < out->len ? RUN_MAX_OUTPUT / 2 : out->len;

			memmove(out->buf, out->buf + out->len - keep, keep);
			out->len = keep;
			out->buf[keep] = '\0';
		}
		cpk_buf_add(out, chunk, (size_t)n);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			r = cpk_err_sys("cannot wait for %s", argv[0]);
			goto out;
		}
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		r = cpk_err_set(CPK_ERR_NOTFOUND, "cannot run %s", argv[0]);
	if (r == CPK_OK && out && cpk_buf_failed(out))
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
out:
	if (op[0] >= 0)
		close(op[0]);
	if (op[1] >= 0)
		close(op[1]);
	if (ip[0] >= 0)
		close(ip[0]);
	if (ip[1] >= 0)
		close(ip[1]);
	return r;
}

/* Points at the last LINES lines of BUF (for an error message). */
const char *apply_tail(const struct cpk_buf *b, int lines)
{
	const char *p = b->buf + b->len;

	if (b->len && p[-1] == '\n')
		p--;
	while (p > b->buf && lines > 0)
		if (*--p == '\n')
			lines--;
	return p == b->buf ? p : p + 1;
}

int cpk_apply_is_live(const char *root)
{
	struct stat a, b;

	return stat(root, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int cpk_apply_systemd_runs(const char *root)
{
	struct stat st;

	return cpk_apply_is_live(root) && lstat("/run/systemd/system", &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

enum cpk_apply_svc_action cpk_apply_svc_decide(int active, int changed, int reload)
{
	if (!active)
		return CPK_APPLY_SVC_START;
	if (changed)
		return reload ? CPK_APPLY_SVC_RELOAD : CPK_APPLY_SVC_RESTART;
	return CPK_APPLY_SVC_NONE;
}

const char *cpk_apply_svc_action_name(enum cpk_apply_svc_action a)
{
	static const char *const names[] = { "none", "start", "restart", "reload" };

	return (unsigned)a < CPK_ARRAY_SIZE(names) ? names[a] : "?";
}

/* systemctl VERB [--quiet] NAME; *STATUS its exit status; OUT its output. */
static cpk_err_t systemctl(const char *verb, const char *name, struct cpk_buf *out, int *status)
{
	char *argv[] = { SYSTEMCTL, (char *)verb, "--quiet", (char *)name, NULL };

	if (strcmp(verb, "is-active") && strcmp(verb, "is-enabled")) {
		argv[2] = (char *)name;
		argv[3] = NULL;
	}
	return apply_run(argv, NULL, out, status);
}

cpk_err_t cpk_apply_services_query(const char *root, struct cpk_apply_svcs *s)
{
	cpk_err_t r;
	size_t i;
	int st;

	if (!cpk_apply_systemd_runs(root))
		return cpk_err_set(CPK_ERR_INVALID, "%s: not a live root run by systemd", root);
	for (i = 0; i < s->n; i++) {
		struct cpk_apply_svc *v = &s->v[i];

		if ((r = systemctl("is-active", v->name, NULL, &st)) != CPK_OK)
			return r;
		v->active = st == 0;
		if ((r = systemctl("is-enabled", v->name, NULL, &st)) != CPK_OK)
			return r;
		v->enabled = st == 0;
		v->enable = !v->enabled;
		v->action = cpk_apply_svc_decide(v->active, v->changed, v->reload);
	}
	return CPK_OK;
}

cpk_err_t cpk_apply_services_run(const char *root, struct cpk_apply_svcs *s)
{
	struct cpk_buf out = CPK_BUF_INIT;
	cpk_err_t r = CPK_OK;
	size_t i;
	int st = 0;

	if (!cpk_apply_systemd_runs(root))
		return cpk_err_set(CPK_ERR_INVALID, "%s: not a live root run by systemd", root);
	if (s->daemon_reload) {
		char *argv[] = { SYSTEMCTL, "daemon-reload", NULL };

		if ((r = apply_run(argv, NULL, &out, &st)) == CPK_OK && st)
			r = cpk_err_set(CPK_ERR_IO, "systemctl daemon-reload failed (exit %d): %s",
					st, apply_tail(&out, 5));
	}
	for (i = 0; i < s->n && r == CPK_OK; i++) {
		struct cpk_apply_svc *v = &s->v[i];
		const char *verb = cpk_apply_svc_action_name(v->action);

		cpk_buf_reset(&out);
		if (v->enable && (r = systemctl("enable", v->name, &out, &st)) == CPK_OK && st)
			r = cpk_err_set(CPK_ERR_IO, "systemctl enable %s failed (exit %d): %s",
					v->name, st, apply_tail(&out, 5));
		if (r != CPK_OK || v->action == CPK_APPLY_SVC_NONE) {
			v->done = r == CPK_OK;
			continue;
		}
		cpk_buf_reset(&out);
		if ((r = systemctl(verb, v->name, &out, &st)) == CPK_OK && st)
			r = cpk_err_set(CPK_ERR_IO, "systemctl %s %s failed (exit %d; see journalctl -u %s): %s",
					verb, v->name, st, v->name, apply_tail(&out, 5));
		v->done = r == CPK_OK;
	}
	cpk_buf_release(&out);
	return r;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

cpk_err_t cpk_apply_ldap_tree(const struct cpk_model *m, unsigned wait_ms, struct cpk_buf *report)
{
	struct cpk_ldap_conn *c = NULL;
	unsigned waited = 0;
	cpk_err_t r;

	if (!m->ldap.present)
		return cpk_err_set(CPK_ERR_CONFIG, "the description has no ldap section");
	/* a server just started may refuse connections for a moment */
	while ((r = cpk_ldap_open(&m->ldap, &m->users, 0, &c)) == CPK_ERR_IO && waited < wait_ms) {
		sleep_ms(500);
		waited += 500;
	}
	if (r == CPK_OK)
		r = cpk_ldap_create_tree(c, report);
	cpk_ldap_close(c);
	return r;
}
