/*
 * The record of a stage-out's undelivered files: a text file in the job's
 * working directory (format in cpk/stage.h and cpk_stage(8)), written by
 * the helper as the job's user.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cpk/fsutil.h"
#include "cpk/stage.h"
#include "internal.h"

/* S on one line: control bytes (a reason may quote a server) as ' '. */
static void add_line_safe(struct cpk_buf *b, const char *s)
{
	for (; *s; s++)
		cpk_buf_addch(b, ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s);
}

static int bad_name(const char *name)
{
	return !*name || strchr(name, '/') || !strcmp(name, ".") ||
	       !strcmp(name, "..");
}

cpk_err_t cpk_stage_record_write(const char *name, const char *jobid,
				 const struct cpk_stage_list *l,
				 const char *const *why)
{
	struct cpk_buf b = CPK_BUF_INIT;
	cpk_err_t e;
	size_t i, n = 0;

	if (bad_name(name))
		return cpk_err_set(CPK_ERR_INVALID, "record \"%s\": want a file "
				   "name in the working directory", name);
	for (i = 0; i < l->n; i++)
		n += why[i] != NULL;
	if (!n) {
		if (unlink(name) < 0 && errno != ENOENT)
			return cpk_err_sys("cannot remove %s", name);
		return CPK_OK;
	}
	cpk_buf_addstr(&b, "# cpk_stage: files of job ");
	add_line_safe(&b, jobid ? jobid : "?");
	cpk_buf_addf(&b, " not staged out (%zu of %zu); they are still here.\n"
		     "# LOCAL\t[USER@]HOST:REMOTE\tREASON\n", n, l->n);
	for (i = 0; i < l->n; i++) {
		const struct cpk_stage_item *it = &l->v[i];

		if (!why[i])
			continue;
		cpk_buf_addf(&b, "%s\t%s%s%s%s%s:%s\t", it->local,
			     it->user ? it->user : "", it->user ? "@" : "",
			     strchr(it->host, ':') ? "[" : "", it->host,
			     strchr(it->host, ':') ? "]" : "", it->remote);
		add_line_safe(&b, why[i]);
		cpk_buf_addch(&b, '\n');
	}
	if (cpk_buf_failed(&b)) {
		cpk_buf_release(&b);
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	e = cpk_write_atomic(name, b.buf, b.len, 0644);
	cpk_buf_release(&b);
	return e;
}
