/*
 * cpk_remote_run(): one command in an exec channel (cpk/remote.h).
 *
 * The session is non-blocking for the whole run, so the one deadline bounds
 * everything: opening the channel, the exec request, stdin (written only as
 * far as the channel's window allows, so it never waits on a command that
 * does not read), the output and the exit status.  Waiting is poll(2) on
 * the session's socket, at most 100 ms at a time.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libssh/callbacks.h>

#include "remote_priv.h"

#define SLICE_MS 100
#define IN_CHUNK 32768
#define KILL_MS 20000
/* What the remote shell runs first: its pid (the session's process group,
 * sshd calls setsid()), the first line of stderr, taken out of the output;
 * a timed-out command is killed by it. */
#define PID_CMD "echo \"cpk-pid $$\" >&2; "

struct run {
	struct cpk_remote *r;
	ssh_channel ch;
	struct ssh_channel_callbacks_struct cbs;
	int got_status, status;
	char signal[32];	/* "" until an exit-signal came */
	struct cpk_buf out;
	size_t total;		/* output bytes received (kept or not) */
	int64_t deadline;
	int timed_out;
	long pid;		/* the remote shell's, from PID_CMD; 0: unknown */
	int pid_done;		/* PID_CMD's line seen on stderr */
	char line[128];		/* stderr's line before it so far */
	size_t line_len;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_status(ssh_session ss, ssh_channel ch, int status, void *arg)
{
	struct run *u = arg;

	(void)ss;
	(void)ch;
	u->got_status = 1;
	u->status = status;
}

static void on_signal(ssh_session ss, ssh_channel ch, const char *sig,
		      int core, const char *msg, const char *lang, void *arg)
{
	struct run *u = arg;

	(void)ss;
	(void)ch;
	(void)core;
	(void)msg;
	(void)lang;
	snprintf(u->signal, sizeof(u->signal), "%s", sig && *sig ? sig : "?");
}

/* Waits until the socket is readable, at most one slice; CPK_ERR_IO once
 * the deadline has passed. */
static cpk_err_t wait_slice(struct run *u, const char *doing)
{
	struct pollfd p = { .fd = ssh_get_fd(u->r->ss), .events = POLLIN };
	int64_t left = u->deadline - now_ms();

	if (left <= 0) {
		u->timed_out = 1;
		return cpk_err_set(CPK_ERR_IO, "timed out after %d s on %s "
				   "while %s", u->r->run_timeout_ms / 1000,
				   u->r->where, doing);
	}
	(void)poll(&p, 1, left < SLICE_MS ? (int)left : SLICE_MS);
	return CPK_OK;
}

static cpk_err_t ssh_fail(struct run *u, const char *doing)
{
	return cpk_err_set(CPK_ERR_IO, "cannot %s on %s: %s", doing,
			   u->r->where, ssh_get_error(u->r->ss));
}

static cpk_err_t start(struct run *u, const char *cmd)
{
	cpk_err_t err;
	int rc;

	if (!(u->ch = ssh_channel_new(u->r->ss)))
		return ssh_fail(u, "open a channel");
	while ((rc = ssh_channel_open_session(u->ch)) == SSH_AGAIN)
		if ((err = wait_slice(u, "opening a channel")) != 0)
			return err;
	if (rc != SSH_OK)
		return ssh_fail(u, "open a session channel");
	ssh_callbacks_init(&u->cbs);
	u->cbs.userdata = u;
	u->cbs.channel_exit_status_function = on_status;
	u->cbs.channel_exit_signal_function = on_signal;
	if (ssh_set_channel_callbacks(u->ch, &u->cbs) != SSH_OK)
		return ssh_fail(u, "set channel callbacks");
	while ((rc = ssh_channel_request_exec(u->ch, cmd)) == SSH_AGAIN)
		if ((err = wait_slice(u, "starting the command")) != 0)
			return err;
	if (rc != SSH_OK)
		return ssh_fail(u, "start a command");
	return CPK_OK;
}

/* Keeps what fits under out_max, counts the rest. */
static void keep(struct run *u, const char *p, size_t n)
{
	size_t room = u->out.len < u->r->out_max ? u->r->out_max - u->out.len
						 : 0;

	cpk_buf_add(&u->out, p, n < room ? n : room);
	u->total += n;
}

/* Takes stderr's bytes P[0..N) up to and with PID_CMD's line, passing
 * lines before it (a login script's) to the output; returns how many it
 * took. */
static size_t take_pid(struct run *u, const char *p, size_t n)
{
	size_t i;
	char end;

	for (i = 0; i < n && !u->pid_done; i++) {
		u->line[u->line_len++] = p[i];
		if (p[i] != '\n' && u->line_len < sizeof(u->line) - 1)
			continue;
		u->line[u->line_len] = '\0';
		if (sscanf(u->line, "cpk-pid %ld%c", &u->pid, &end) == 2 &&
		    end == '\n' && u->pid > 1)
			u->pid_done = 1;
		else
			keep(u, u->line, u->line_len);
		u->line_len = 0;
	}
	return i;
}

/* Sends what the window allows of IN[*SENT..LEN), then EOF when all went.
 * Returns bytes sent now, or -1. */
static long feed(struct run *u, const char *in, size_t len, size_t *sent)
{
	uint32_t win = ssh_channel_window_size(u->ch);
	size_t n = len - *sent;
	int rc;

	if (n > win)
		n = win;
	if (n > IN_CHUNK)
		n = IN_CHUNK;
	if (n) {
		rc = ssh_channel_write(u->ch, in + *sent, (uint32_t)n);
		if (rc == SSH_AGAIN)
			return 0;
		if (rc < 0)
			return -1;
		*sent += (size_t)rc;
		n = (size_t)rc;
	}
	if (*sent == len && ssh_channel_send_eof(u->ch) == SSH_ERROR)
		return -1;
	return (long)n;
}

/* Reads both streams until the command's end of file and its exit. */
static cpk_err_t pump(struct run *u, const void *in, size_t in_len)
{
	char buf[16384];
	size_t sent = 0;
	int in_open = 1, eof = 0, is_err, n, moved;
	cpk_err_t err;

	for (;;) {
		moved = 0;
		if (in_open && !ssh_channel_is_closed(u->ch) &&
		    !ssh_channel_is_eof(u->ch)) {
			long w = feed(u, in, in_len, &sent);

			/* a command that ended may have ended the channel
			 * since the check: then its input is not wanted.
			 * With output still unread, libssh keeps a channel
			 * sshd closed open (a delayed close: neither closed
			 * nor at EOF yet) and refuses the write with
			 * SSH_REQUEST_DENIED, "Remote channel is closed"
			 * (libssh 0.10 channel_write_common()): the likely
			 * cause of t4300's one failure on Debian 13, a command
			 * that does not read its input.  A broken connection
			 * is SSH_FATAL, and the reads fail on it too. */
			if (w < 0 && !ssh_channel_is_closed(u->ch) &&
			    ssh_get_error_code(u->r->ss) != SSH_REQUEST_DENIED)
				return ssh_fail(u, "send the command's input");
			moved |= w > 0;
			in_open = w >= 0 && sent < in_len;
		}
		for (is_err = 0; is_err < 2 && !eof; is_err++) {
			while ((n = ssh_channel_read_nonblocking(u->ch, buf,
					sizeof(buf), is_err)) > 0) {
				size_t took = 0;

				if (is_err && !u->pid_done)
					took = take_pid(u, buf, (size_t)n);
				keep(u, buf + took, (size_t)n - took);
				moved = 1;
			}
			if (n == SSH_ERROR)
				return ssh_fail(u, "read the command's output");
		}
		if (!eof && (ssh_channel_is_eof(u->ch) ||
			     ssh_channel_is_closed(u->ch)) &&
		    ssh_channel_poll(u->ch, 0) <= 0 &&
		    ssh_channel_poll(u->ch, 1) <= 0)
			eof = 1;
		if (eof) {
			/* the exit status may come after the end of file:
			 * one non-blocking pass over the packets */
			(void)ssh_channel_get_exit_status(u->ch);
			if (u->got_status || u->signal[0] ||
			    ssh_channel_is_closed(u->ch))
				return CPK_OK;
			if (!ssh_is_connected(u->r->ss))
				return ssh_fail(u, "wait for the exit status");
		}
		if (!moved && (err = wait_slice(u, eof ? "waiting for the "
				"exit status" : "running the command")) != 0)
			return err;
	}
}

void cpk_remote_out_release(struct cpk_remote_out *o)
{
	if (!o)
		return;
	free(o->data);
	o->data = NULL;
	o->len = 0;
	o->truncated = 0;
}

/* Hands the output to OUT (or drops it). */
static cpk_err_t give(struct run *u, struct cpk_remote_out *out)
{
	int trunc = u->total > u->out.len;

	if (trunc)
		cpk_buf_addf(&u->out, "\n[cpk: output truncated: %zu bytes "
			     "in all]\n", u->total);
	if (cpk_buf_failed(&u->out)) {
		cpk_buf_release(&u->out);
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	if (!out) {
		cpk_buf_release(&u->out);
		return CPK_OK;
	}
	out->len = u->out.len;
	out->truncated = trunc;
	if (!(out->data = cpk_buf_detach(&u->out, NULL)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}

/* Runs the command line CMD (PID_CMD prepended) in a new channel until it
 * ends or U's deadline passes; closes the channel. */
static cpk_err_t run_cmd(struct run *u, const char *cmd, const void *in,
			 size_t in_len)
{
	struct cpk_buf line = CPK_BUF_INIT;
	cpk_err_t err;

	cpk_buf_addstr(&line, PID_CMD);
	cpk_buf_addstr(&line, cmd);
	if (cpk_buf_failed(&line))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	ssh_set_blocking(u->r->ss, 0);
	if ((err = start(u, line.buf)) == 0)
		err = pump(u, in, in_len);
	if (u->ch) {
		/* libssh keeps a channel closed by us until the server's
		 * close comes: no callback may reach U after this call */
		(void)ssh_remove_channel_callbacks(u->ch, &u->cbs);
		(void)ssh_channel_close(u->ch);
		ssh_channel_free(u->ch);
		u->ch = NULL;
	}
	ssh_set_blocking(u->r->ss, 1);
	if (u->line_len)	/* stderr ended inside a line */
		keep(u, u->line, u->line_len);
	cpk_buf_release(&line);
	return err;
}

/* After a timeout: kills the process group of U's command on the host (by
 * its pid: sshd refuses "signal" requests for root's sessions), and says so
 * after the timeout's message. */
static cpk_err_t kill_group(struct run *u, cpk_err_t err)
{
	struct run k = { .r = u->r, .out = CPK_BUF_INIT };
	char msg[1024], pg[32], *cmd = NULL;
	const char *argv[] = { "kill", "-s", "KILL", "--", pg, NULL };
	cpk_err_t e2;

	snprintf(msg, sizeof(msg), "%s", cpk_errmsg());
	if (!u->pid)
		return cpk_err_set(err, "%s (its process id on the host is "
				   "unknown: it may still run there)", msg);
	snprintf(pg, sizeof(pg), "-%ld", u->pid);
	k.deadline = now_ms() + KILL_MS;
	if ((e2 = cpk_remote_command(argv, &cmd)) == 0)
		e2 = run_cmd(&k, cmd, NULL, 0);
	if (!e2 && (!k.got_status || k.status != 0))
		e2 = cpk_err_set(CPK_ERR_IO, "kill -s KILL -- %s: %s", pg,
				 k.got_status ? k.out.buf : "no exit status");
	cpk_buf_release(&k.out);
	free(cmd);
	if (e2)
		return cpk_err_set(err, "%s (it may still run there: %s)", msg,
				   cpk_errmsg());
	return cpk_err_set(err, "%s (killed there: process group %ld)", msg,
			   u->pid);
}

cpk_err_t cpk_remote_run(struct cpk_remote *r, const char *const *argv,
			 const void *in, size_t in_len,
			 struct cpk_remote_out *out, int *exit_status)
{
	struct run u = { .r = r, .out = CPK_BUF_INIT };
	char *cmd = NULL;
	char msg[1024];
	cpk_err_t err, e2;

	if (out)
		*out = (struct cpk_remote_out)CPK_REMOTE_OUT_INIT;
	if (exit_status)
		*exit_status = -1;
	if (!r || (in_len && !in))
		return cpk_err_set(CPK_ERR_INVALID, "remote run: bad arguments");
	if ((err = cpk_remote_command(argv, &cmd)) != 0)
		return err;
	u.deadline = now_ms() + r->run_timeout_ms;
	err = run_cmd(&u, cmd, in, in_len);
	if (err && u.timed_out)
		err = kill_group(&u, err);
	else if (!err && u.signal[0])
		err = cpk_err_set(CPK_ERR_IO, "%s on %s was killed by signal "
				  "%s", argv[0], r->where, u.signal);
	else if (!err && !u.got_status)
		err = cpk_err_set(CPK_ERR_IO, "%s on %s ended without an exit "
				  "status", argv[0], r->where);
	else if (!err && exit_status)
		*exit_status = u.status;
	snprintf(msg, sizeof(msg), "%s", cpk_errmsg());
	e2 = give(&u, out);
	if (err)
		cpk_err_set(err, "%s", msg);	/* the run's message wins */
	free(cmd);
	return err ? err : e2;
}
