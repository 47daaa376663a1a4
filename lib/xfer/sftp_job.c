/*
 * Pipelined transfers: ranges of one file and many whole files at once
 * (put_many/get_many), each file a job of OPEN, READ/WRITE, FSETSTAT and
 * CLOSE requests kept in flight together; statvfs.
 */
#define _GNU_SOURCE
#include "sftp_priv.h"
#include "sparse.h"

/* ---- pipelined transfers (jobs) --------------------------------------- */

enum { J_FREE, J_OPENING, J_RUN, J_DONE };

struct run;

struct job {
	int state;
	int up;			/* upload (1) or download (0) */
	size_t idx;		/* file index */
	const char *local, *remote;	/* for messages, NULL: range job */
	int fd, own_fd;
	int own_handle;		/* opened here: close when done */
	int have_handle;
	int close_sent;
	struct cpk_sftp_handle h;
	uint64_t next, end;	/* next offset to request; end of range */
	uint64_t eof_at;	/* download: where EOF was seen */
	int sparse;		/* download: the file reads as zeros where
				 * not written yet (zero blocks skipped) */
	uint64_t hi, wend;	/* download: end of the data received, of
				 * the data written */
	uint64_t bytes;
	unsigned pending;
	struct cpk_sftp_attr attr;	/* preserve: to apply */
	uint32_t create_mode;	/* the mode a new file is created with */
	cpk_err_t (*create)(void *, const char *, uint32_t, int *);
	void *create_arg;	/* download: makes the local file */
	int reopened;		/* CPK_SFTP_NEW: the OPEN was tried again */
	cpk_err_t err;
	char *msg;		/* why it failed, with the job's context */
	unsigned long seq;	/* start order */
	struct run *run;
};

struct run {
	struct cpk_sftp *s;
	unsigned flags;
	cpk_err_t first;
	char first_msg[1024];
	size_t nfailed, ndone;
	unsigned long seq;
};

/* Records the job's first failure; the message has the job's context. */
__attribute__((format(printf, 3, 4)))
static void job_fail(struct job *j, cpk_err_t err, const char *fmt, ...)
{
	struct run *run = j->run;
	char detail[768], msg[1024];
	va_list ap;

	if (j->err)
		return;
	j->err = err;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (j->local && j->up)
		snprintf(msg, sizeof(msg), "cannot upload %s to %s:%s: %s",
			 j->local, run->s->where, j->remote, detail);
	else if (j->local)
		snprintf(msg, sizeof(msg), "cannot download %s:%s to %s: %s",
			 run->s->where, j->remote, j->local, detail);
	else
		snprintf(msg, sizeof(msg), "cannot %s a remote file on %s: %s",
			 j->up ? "write" : "read", run->s->where, detail);
	j->msg = cpk_strdup(msg);	/* NULL: the code alone says why */
	if (!run->first) {
		run->first = err;
		memcpy(run->first_msg, msg, sizeof(run->first_msg));
	}
}

static void job_fail_reply(struct job *j, const struct cpk_sftp_reply *r,
			   const char *what)
{
	if (r->status == FX_CONNECTION_LOST && j->run->s->dead)
		job_fail(j, r->err, "%s: %s", what, r->msg);
	else
		job_fail(j, r->err, "%s: %s (server: %s)", what,
			 xsftp_status_text(r->status), *r->msg ? r->msg :
			 "no message");
}

static void job_open_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			void *arg);

/* Sends job J's OPEN. */
static cpk_err_t job_send_open(struct cpk_sftp *s, struct job *j)
{
	struct cpk_sftp_attr a = { 0 };
	unsigned fl = CPK_SFTP_READ;

	if (j->up) {
		fl = CPK_SFTP_WRITE | CPK_SFTP_CREAT |
		     (j->run->flags & CPK_SFTP_NEW ? CPK_SFTP_EXCL :
		      CPK_SFTP_TRUNC);
		a.flags = CPK_SFTP_ATTR_PERM;
		a.perm = j->create_mode;
	}
	return cpk_sftp_req_open(s, j->remote, fl, &a, job_open_cb, j);
}

/* CPK_SFTP_NEW: whatever held the name is gone (or could not be removed:
 * the second OPEN says why); the OPEN once more. */
static void job_removed_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			   void *arg)
{
	struct job *j = arg;
	cpk_err_t err;

	(void)r;
	j->pending--;
	if ((err = job_send_open(s, j)) != 0)
		job_fail(j, err, "%s", cpk_errmsg());
	else
		j->pending++;
}

static void job_open_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			void *arg)
{
	struct job *j = arg;
	cpk_err_t err;
	int fd;

	j->pending--;
	if (r->err && j->up && (j->run->flags & CPK_SFTP_NEW) &&
	    !j->reopened && !s->dead) {
		/* the name is taken (SFTP v3 cannot say so): a REMOVE, which
		 * never follows a link, then the exclusive OPEN again */
		j->reopened = 1;
		err = cpk_sftp_req_remove(s, j->remote, job_removed_cb, j);
		if (!err) {
			j->pending++;
			return;
		}
	}
	if (r->err) {
		job_fail_reply(j, r, j->up ? "remote open for writing" :
			       "remote open");
		return;
	}
	j->h = *r->handle;
	j->have_handle = 1;
	j->state = J_RUN;
	if (!j->up && j->fd < 0 && j->create) {
		/* the caller makes it (below a directory fd, say) */
		if ((err = j->create(j->create_arg, j->local, j->create_mode,
				     &fd)) != 0) {
			job_fail(j, err, "%s", cpk_errmsg());
			return;
		}
		j->fd = fd;
		j->own_fd = 1;
	} else if (!j->up && j->fd < 0) {
		/* Create the local file only once the remote one opened. */
		fd = open(j->local, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  j->create_mode);
		if (fd < 0) {
			cpk_err_t e = cpk_err_from_errno(errno);

			job_fail(j, e, "cannot create the local file: %s",
				 strerror(errno));
			return;
		}
		j->fd = fd;
		j->own_fd = 1;
	}
}

static void job_write_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			 void *arg)
{
	struct job *j = arg;
	char what[64];

	j->pending--;
	if (r->err) {
		snprintf(what, sizeof(what), "write at offset %" PRIu64,
			 r->offset);
		job_fail_reply(j, r, what);
		return;
	}
	j->bytes += r->want;
	if (s->on_data)
		s->on_data(s->on_data_arg, r->want);
}

static void job_read_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			void *arg)
{
	struct job *j = arg;
	uint64_t at = r->offset;
	char what[64];
	cpk_err_t err;

	j->pending--;
	if (r->err) {
		snprintf(what, sizeof(what), "read at offset %" PRIu64,
			 r->offset);
		job_fail_reply(j, r, what);
		return;
	}
	if (r->eof) {
		if (r->offset < j->eof_at)
			j->eof_at = r->offset;
		if (j->end != UINT64_MAX && r->offset < j->end)
			job_fail(j, CPK_ERR_IO, "the remote file ends at "
				 "offset %" PRIu64 ", before the expected "
				 "%" PRIu64 " (it shrank?)", r->offset,
				 j->end);
		return;
	}
	if (j->err)
		return;
	if (xsparse_pwrite(j->fd, r->data, r->len, r->offset, j->sparse,
			   &at, &j->wend) < 0) {
		job_fail(j, cpk_err_from_errno(errno), "cannot write the local "
			 "file at offset %" PRIu64 ": %s", at, strerror(errno));
		return;
	}
	if (r->offset + r->len > j->hi)
		j->hi = r->offset + r->len;
	j->bytes += r->len;
	if (s->on_data)
		s->on_data(s->on_data_arg, r->len);
	if (r->len < r->want) {
		/* Short read: ask for the rest (our slot was freed first). */
		err = cpk_sftp_req_read(s, &j->h, r->offset + r->len,
					r->want - (uint32_t)r->len,
					job_read_cb, j);
		if (err)
			job_fail(j, err, "%s", cpk_errmsg());
		else
			j->pending++;
	}
}

static void job_status_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
			  void *arg)
{
	struct job *j = arg;

	(void)s;
	j->pending--;
	if (r->err)
		job_fail_reply(j, r, r->op == CPK_SFTP_OP_CLOSE ?
			       "remote close" : "setting remote attributes");
}

/* Whether the job has requested all its data (or failed). */
static int job_data_done(const struct job *j)
{
	if (j->err)
		return 1;
	if (j->up)
		return j->next >= j->end;
	if (j->end != UINT64_MAX)
		return j->next >= j->end;
	return j->eof_at != UINT64_MAX;
}

/* Queues what job J may send now.  Returns a fatal error only. */
static cpk_err_t job_feed(struct cpk_sftp *s, struct job *j)
{
	cpk_err_t err;

	if (j->state != J_RUN)
		return CPK_OK;
	while (!job_data_done(j) && s->nfree &&
	       xsftp_bq_len(&s->tx) < s->max_unsent) {
		uint64_t left = j->end - j->next;
		uint32_t n = left < s->chunk ? (uint32_t)left :
			     (uint32_t)s->chunk;

		/* unknown size: a few READs ahead, not the whole window */
		if (!j->up && j->end == UINT64_MAX && j->pending >= 4)
			break;
		if (j->up)
			err = cpk_sftp_req_write_fd(s, &j->h, j->next, j->fd,
						    j->next, n, job_write_cb,
						    j);
		else
			err = cpk_sftp_req_read(s, &j->h, j->next, n,
						job_read_cb, j);
		if (err) {
			if (s->dead)
				return err;
			job_fail(j, err, "%s", cpk_errmsg());
			break;
		}
		j->pending++;
		j->next += n;
	}
	if (!job_data_done(j) || !j->own_handle || j->close_sent)
		return CPK_OK;
	/* Downloads wait for their READs (short reads re-request). */
	if (!j->up && j->pending)
		return CPK_OK;
	if (j->up && !j->err && (j->run->flags & CPK_SFTP_PRESERVE) &&
	    j->attr.flags) {
		if (s->nfree < 2)
			return CPK_OK;
		err = cpk_sftp_req_fsetstat(s, &j->h, &j->attr, job_status_cb,
					    j);
		if (err && s->dead)
			return err;
		if (err)
			job_fail(j, err, "%s", cpk_errmsg());
		else
			j->pending++;
	}
	if (!s->nfree)
		return CPK_OK;
	err = cpk_sftp_req_close(s, &j->h, job_status_cb, j);
	if (err) {
		if (s->dead)
			return err;
		job_fail(j, err, "%s", cpk_errmsg());
	} else {
		j->pending++;
	}
	j->close_sent = 1;
	return CPK_OK;
}

static int job_finished(const struct job *j)
{
	if (j->pending)
		return 0;
	if (j->state == J_DONE)
		return 1;
	if (j->state == J_OPENING)
		return j->err != 0;	/* the OPEN failed */
	if (!job_data_done(j))
		return 0;
	return !j->own_handle || j->close_sent;
}

/* Local side of the end of a job: the size (zero blocks at the end of a
 * whole file were not written), attributes, close. */
static void job_finish(struct job *j)
{
	if (!j->up && !j->err && j->fd >= 0 && j->local && j->sparse &&
	    j->hi > j->wend && ftruncate(j->fd, (off_t)j->hi) < 0)
		job_fail(j, cpk_err_from_errno(errno), "cannot set the size "
			 "of the local file: %s", strerror(errno));
	if (!j->up && !j->err && j->fd >= 0 &&
	    (j->run->flags & CPK_SFTP_PRESERVE)) {
		if ((j->attr.flags & CPK_SFTP_ATTR_PERM) &&
		    fchmod(j->fd, j->attr.perm & (j->run->flags &
						  CPK_SFTP_SPECIAL ? 07777 :
						  0777)) < 0)
			job_fail(j, cpk_err_from_errno(errno), "cannot set the "
				 "mode of the local file: %s", strerror(errno));
		if (j->attr.flags & CPK_SFTP_ATTR_TIMES) {
			struct timespec ts[2];

			ts[0].tv_sec = j->attr.atime;
			ts[0].tv_nsec = 0;
			ts[1].tv_sec = j->attr.mtime;
			ts[1].tv_nsec = 0;
			if (futimens(j->fd, ts) < 0)
				job_fail(j, cpk_err_from_errno(errno), "cannot "
					 "set the times of the local file: %s",
					 strerror(errno));
		}
	}
	if (j->own_fd && j->fd >= 0) {
		if (close(j->fd) < 0 && !j->up)
			job_fail(j, cpk_err_from_errno(errno), "cannot close "
				 "the local file: %s", strerror(errno));
		j->fd = -1;
	}
	if (j->err)
		j->run->nfailed++;
	j->run->ndone++;
	j->state = J_FREE;
}

/* Prepares job J for file IDX; a local failure is recorded with job_fail(). */
typedef void job_init_fn(struct job *j, size_t idx, void *ctx);

/*
 * Runs NFILES jobs, at most MAXJ at once, until all are done.  DONE_CB, if
 * set, sees each job as it finishes.
 */
static cpk_err_t run_jobs(struct cpk_sftp *s, struct run *run, size_t nfiles,
			  unsigned maxj, job_init_fn *init, void *ctx,
			  void (*done_cb)(struct job *, void *))
{
	struct job *jobs = NULL, **order = NULL;
	unsigned active = 0, i, k;
	size_t next = 0;
	cpk_err_t err = CPK_OK;
	int stop = 0;		/* cancelled: start and feed nothing more */

	if (maxj < 1)
		maxj = 1;
	if (maxj > nfiles)
		maxj = nfiles ? (unsigned)nfiles : 1;
	jobs = calloc(maxj, sizeof(*jobs));
	order = calloc(maxj, sizeof(*order));
	if (!jobs || !order) {
		err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		if (!stop && s->cancelled && s->cancelled(s->cancelled_arg)) {
			/* failed jobs send no more data, only their CLOSE */
			stop = 1;
			for (k = 0; k < active; k++)
				job_fail(order[k], CPK_ERR_INTERRUPTED,
					 "interrupted");
		}
		/* Start jobs while there is room: an OPEN each. */
		while (!stop && next < nfiles && active < maxj && s->nfree &&
		       !s->dead) {
			struct job *j = NULL;

			for (i = 0; i < maxj; i++)
				if (jobs[i].state == J_FREE) {
					j = &jobs[i];
					break;
				}
			memset(j, 0, sizeof(*j));
			j->fd = -1;
			j->eof_at = UINT64_MAX;
			j->run = run;
			j->seq = run->seq++;
			j->state = J_RUN;
			init(j, next, ctx);
			next++;
			order[active++] = j;
			if (j->err) {
				j->state = J_DONE;
				continue;
			}
			if (j->have_handle)
				continue;
			j->state = J_OPENING;
			err = job_send_open(s, j);
			if (err) {
				if (s->dead)
					break;
				job_fail(j, err, "%s", cpk_errmsg());
				err = CPK_OK;
			} else {
				j->pending++;
			}
		}
		/* Feed running jobs, oldest first. */
		for (k = 0; k < active && !s->dead; k++)
			if ((err = job_feed(s, order[k])) != 0)
				break;
		/* Reap. */
		for (k = 0; k < active;) {
			struct job *j = order[k];

			/* A dead connection completed every request. */
			if (!s->dead && !job_finished(j)) {
				k++;
				continue;
			}
			if (s->dead && !j->err)
				job_fail(j, s->dead, "%s", s->deadmsg);
			job_finish(j);
			if (done_cb)
				done_cb(j, ctx);
			free(j->msg);
			j->msg = NULL;
			memmove(&order[k], &order[k + 1],
				(active - k - 1) * sizeof(*order));
			active--;
		}
		if (!active && (next >= nfiles || s->dead || stop))
			break;
		if (s->dead) {
			/* complete_all() ran every callback: loop reaps. */
			err = CPK_OK;
			continue;
		}
		if ((err = xsftp_pump(s, -1)) != 0 && !s->dead)
			goto out;
		err = CPK_OK;
	}
	if (s->dead)
		err = CPK_OK;	/* reported per file, summed up below */
	/* Files never started because the connection died. */
	for (; next < nfiles; next++) {
		struct job j0;

		memset(&j0, 0, sizeof(j0));
		j0.fd = -1;
		j0.run = run;
		init(&j0, next, ctx);
		if (!j0.err && !s->dead && stop)
			job_fail(&j0, CPK_ERR_INTERRUPTED, "interrupted");
		else if (!j0.err)
			job_fail(&j0, s->dead ? s->dead : CPK_ERR_IO, "%s",
				 s->dead ? s->deadmsg : "not attempted");
		if (j0.own_fd && j0.fd >= 0)
			close(j0.fd);
		run->nfailed++;
		if (done_cb)
			done_cb(&j0, ctx);
		free(j0.msg);
	}
out:
	for (i = 0; jobs && i < maxj; i++)
		free(jobs[i].msg);
	free(jobs);
	free(order);
	if (err)
		return err;
	if (run->first) {
		if (run->nfailed > 1)
			return cpk_err_set(run->first, "%s (%zu of %zu files "
					   "failed)", run->first_msg,
					   run->nfailed, nfiles);
		return cpk_err_set(run->first, "%s", run->first_msg);
	}
	return s->dead ? xsftp_dead_err(s) : CPK_OK;
}

/* Range jobs: one job on a handle the caller opened. */
struct range_ctx {
	const struct cpk_sftp_handle *h;
	int up, fd;
	uint64_t off, len, got;
	int sparse;
};

static void range_init(struct job *j, size_t idx, void *ctx)
{
	struct range_ctx *c = ctx;

	(void)idx;
	j->up = c->up;
	j->fd = c->fd;
	j->h = *c->h;
	j->have_handle = 1;
	j->sparse = c->sparse;
	j->next = c->off;
	j->end = c->len == UINT64_MAX ? UINT64_MAX :
		 (c->off + c->len < c->off ? UINT64_MAX : c->off + c->len);
}

static void range_done(struct job *j, void *ctx)
{
	struct range_ctx *c = ctx;

	c->got = j->bytes;
}

cpk_err_t cpk_sftp_write_range(struct cpk_sftp *s,
			       const struct cpk_sftp_handle *h, int fd,
			       uint64_t off, uint64_t len)
{
	struct range_ctx c = { h, 1, fd, off, len, 0, 0 };
	struct run run;
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	if (!h || fd < 0 || len == UINT64_MAX)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_sftp_write_range: "
				   "invalid arguments");
	if (len == 0)
		return CPK_OK;
	memset(&run, 0, sizeof(run));
	run.s = s;
	return run_jobs(s, &run, 1, 1, range_init, &c, range_done);
}

static cpk_err_t read_range(struct cpk_sftp *s,
			    const struct cpk_sftp_handle *h, int fd,
			    uint64_t off, uint64_t len, uint64_t *got,
			    int sparse)
{
	struct range_ctx c = { h, 0, fd, off, len, 0, sparse };
	struct run run;
	cpk_err_t err;

	if (got)
		*got = 0;
	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	if (!h || fd < 0)
		return cpk_err_set(CPK_ERR_INVALID, "cpk_sftp_read_range: "
				   "invalid arguments");
	if (len == 0)
		return CPK_OK;
	memset(&run, 0, sizeof(run));
	run.s = s;
	err = run_jobs(s, &run, 1, 1, range_init, &c, range_done);
	if (got)
		*got = c.got;
	return err;
}

cpk_err_t cpk_sftp_read_range(struct cpk_sftp *s,
			      const struct cpk_sftp_handle *h, int fd,
			      uint64_t off, uint64_t len, uint64_t *got)
{
	return read_range(s, h, fd, off, len, got, 0);
}

cpk_err_t cpk_sftp_read_range_sparse(struct cpk_sftp *s,
				     const struct cpk_sftp_handle *h, int fd,
				     uint64_t off, uint64_t len, uint64_t *got)
{
	return read_range(s, h, fd, off, len, got, 1);
}

/* Batches of whole files. */
struct many_ctx {
	struct cpk_sftp_file *files;
	unsigned flags;
};

static void put_init(struct job *j, size_t idx, void *ctx)
{
	struct many_ctx *c = ctx;
	struct cpk_sftp_file *f = &c->files[idx];
	struct stat st;

	j->up = 1;
	j->idx = idx;
	j->local = f->local ? f->local : "(null)";
	j->remote = f->remote ? f->remote : "(null)";
	j->own_handle = 1;
	if (!f->local || !f->remote) {
		job_fail(j, CPK_ERR_INVALID, "no path given");
		return;
	}
	j->fd = open(f->local, O_RDONLY | O_CLOEXEC);
	if (j->fd < 0) {
		job_fail(j, cpk_err_from_errno(errno), "cannot open the local "
			 "file: %s", strerror(errno));
		return;
	}
	j->own_fd = 1;
	if (fstat(j->fd, &st) < 0) {
		job_fail(j, cpk_err_from_errno(errno), "cannot stat the local "
			 "file: %s", strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		job_fail(j, CPK_ERR_INVALID, "not a regular file");
		return;
	}
	j->next = 0;
	j->end = (uint64_t)st.st_size;
	/* private while written; the mode comes with the FSETSTAT */
	j->create_mode = c->flags & CPK_SFTP_PRESERVE ? 0600 :
			 c->flags & CPK_SFTP_MODE ? f->mode & 0777 :
			 st.st_mode & 0777;
	j->attr.flags = CPK_SFTP_ATTR_PERM | CPK_SFTP_ATTR_TIMES;
	j->attr.perm = st.st_mode & (c->flags & CPK_SFTP_SPECIAL ? 07777 :
				     0777);
	j->attr.atime = (uint32_t)st.st_atim.tv_sec;
	j->attr.mtime = (uint32_t)st.st_mtim.tv_sec;
}

static void get_init(struct job *j, size_t idx, void *ctx)
{
	struct many_ctx *c = ctx;
	struct cpk_sftp_file *f = &c->files[idx];

	j->up = 0;
	j->idx = idx;
	j->local = f->local ? f->local : "(null)";
	j->remote = f->remote ? f->remote : "(null)";
	j->own_handle = 1;
	if (!f->local || !f->remote) {
		job_fail(j, CPK_ERR_INVALID, "no path given");
		return;
	}
	j->next = 0;
	j->sparse = 1;	/* a new (or truncated) file: zero blocks skipped */
	j->end = (f->attr.flags & CPK_SFTP_ATTR_SIZE) ? f->attr.size :
		 UINT64_MAX;
	j->attr = f->attr;
	j->create_mode = c->flags & CPK_SFTP_PRESERVE ? 0600 :
			 c->flags & CPK_SFTP_MODE ? f->mode & 0777 :
			 (f->attr.flags & CPK_SFTP_ATTR_PERM) ?
			 (f->attr.perm & 0777) : 0666;
	j->create = f->create;
	j->create_arg = f->create_arg;
}

static void many_done(struct job *j, void *ctx)
{
	struct many_ctx *c = ctx;

	c->files[j->idx].err = j->err;
	c->files[j->idx].msg = j->msg;	/* the caller's now */
	j->msg = NULL;
}

static cpk_err_t run_many(struct cpk_sftp *s, struct cpk_sftp_file *files,
			  size_t n, unsigned flags, int up)
{
	struct many_ctx c = { files, flags };
	struct run run;
	unsigned maxj;
	size_t i;
	cpk_err_t err;

	if ((err = xsftp_sync_guard(s)) != 0)
		return err;
	if (n && !files)
		return cpk_err_set(CPK_ERR_INVALID, "no files given");
	for (i = 0; i < n; i++)
		files[i].err = CPK_OK;
	memset(&run, 0, sizeof(run));
	run.s = s;
	run.flags = flags;
	/* Half the window in files: each has an OPEN and a CLOSE (and an
	 * FSETSTAT) around its data. */
	maxj = s->window / 2 ? s->window / 2 : 1;
	if (s->lim_handles && maxj > s->lim_handles)
		maxj = (unsigned)s->lim_handles;
	if (s->max_files && maxj > s->max_files)
		maxj = s->max_files;
	return run_jobs(s, &run, n, maxj, up ? put_init : get_init, &c,
			many_done);
}

void cpk_sftp_files_release(struct cpk_sftp_file *files, size_t n)
{
	size_t i;

	for (i = 0; files && i < n; i++) {
		free(files[i].msg);
		files[i].msg = NULL;
	}
}

cpk_err_t cpk_sftp_put_many(struct cpk_sftp *s, struct cpk_sftp_file *files,
			    size_t n, unsigned flags)
{
	return run_many(s, files, n, flags, 1);
}

cpk_err_t cpk_sftp_get_many(struct cpk_sftp *s, struct cpk_sftp_file *files,
			    size_t n, unsigned flags)
{
	return run_many(s, files, n, flags, 0);
}

cpk_err_t cpk_sftp_put(struct cpk_sftp *s, const char *local,
		       const char *remote, unsigned flags)
{
	struct cpk_sftp_file f;
	cpk_err_t err;

	memset(&f, 0, sizeof(f));
	f.local = local;
	f.remote = remote;
	err = run_many(s, &f, 1, flags, 1);
	free(f.msg);	/* the error's message says the same */
	return err;
}

cpk_err_t cpk_sftp_get(struct cpk_sftp *s, const char *remote,
		       const char *local, unsigned flags)
{
	struct cpk_sftp_file f;
	cpk_err_t err;

	memset(&f, 0, sizeof(f));
	f.local = local;
	f.remote = remote;
	if ((err = cpk_sftp_stat(s, remote, &f.attr)) != 0)
		return cpk_err_prefix(err, "cannot download %s:%s to %s",
				  s ? s->where : "?", remote, local);
	if ((f.attr.flags & CPK_SFTP_ATTR_PERM) && !S_ISREG(f.attr.perm))
		return cpk_err_set(CPK_ERR_INVALID, "cannot download %s:%s: "
				   "not a regular file", s->where, remote);
	err = run_many(s, &f, 1, flags, 0);
	free(f.msg);
	return err;
}

void xsftp_u64_cb(struct cpk_sftp *s, const struct cpk_sftp_reply *r,
		   void *arg)
{
	struct u64_reply *u = arg;
	struct rd rd = { r->data, r->len, 0 };
	unsigned i;

	(void)s;
	u->done = 1;
	u->err = r->err;
	if (r->err) {
		snprintf(u->msg, sizeof(u->msg), "%s", r->msg ? r->msg : "");
		return;
	}
	for (i = 0; i < u->n; i++)
		u->v[i] = xsftp_rd_u64(&rd);
	if (rd.bad)
		u->err = CPK_ERR_IO;
}

cpk_err_t cpk_sftp_statvfs(struct cpk_sftp *s, const char *path,
			   uint64_t *avail, uint64_t *total)
{
	struct u64_reply v;	/* bsize frsize blocks bfree bavail ... */
	cpk_err_t err;

	memset(&v, 0, sizeof(v));
	v.n = 5;
	err = xsftp_ext_path(s, "statvfs@openssh.com", EXT_STATVFS, path,
			     xsftp_u64_cb, &v);
	while (!err && !v.done)
		err = xsftp_pump(s, -1);
	if (err)
		return err;
	if (v.err)
		return cpk_err_set(v.err, "cannot query the file system of %s "
				   "on %s: %s", path, s->where, v.msg);
	if (avail)
		*avail = v.v[4] * v.v[1];
	if (total)
		*total = v.v[2] * v.v[1];
	return CPK_OK;
}
