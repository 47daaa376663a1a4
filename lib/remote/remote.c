/*
 * A remote host over SSH (cpk/remote.h): open, close, the quoted command
 * line, and the atomic put through SFTP.  The exec channel is in run.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "remote_priv.h"

#define DEF_RUN_TIMEOUT_MS 600000
#define DEF_OUT_MAX ((size_t)1 << 20)

cpk_err_t cpk_remote_open(const struct cpk_remote_opts *opts,
			  struct cpk_remote **out)
{
	struct cpk_remote *r;
	cpk_err_t err;

	*out = NULL;
	if (!opts || !opts->conn.host || !*opts->conn.host)
		return cpk_err_set(CPK_ERR_INVALID, "remote: no host given");
	if (!(r = calloc(1, sizeof(*r))))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	r->run_timeout_ms = opts->run_timeout_ms > 0 ? opts->run_timeout_ms
						     : DEF_RUN_TIMEOUT_MS;
	r->out_max = opts->out_max ? opts->out_max : DEF_OUT_MAX;
	if ((err = cpk_conn_open(&opts->conn, &r->ss)) != 0) {
		free(r);
		return err;
	}
	if (!(r->where = cpk_conn_describe(r->ss))) {
		cpk_remote_close(r);
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	*out = r;
	return CPK_OK;
}

void cpk_remote_close(struct cpk_remote *r)
{
	if (!r)
		return;
	cpk_sftp_free(r->sftp);
	cpk_conn_close(r->ss);
	free(r->where);
	free(r);
}

cpk_err_t cpk_remote_command(const char *const *argv, char **out)
{
	struct cpk_buf b = CPK_BUF_INIT;
	const char *p;
	size_t i;

	*out = NULL;
	if (!argv || !argv[0])
		return cpk_err_set(CPK_ERR_INVALID, "remote: no command given");
	for (i = 0; argv[i]; i++) {
		if (i)
			cpk_buf_addch(&b, ' ');
		cpk_buf_addch(&b, '\'');
		for (p = argv[i]; *p; p++) {
			if (*p == '\'')
				cpk_buf_addstr(&b, "'\\''");
			else
				cpk_buf_addch(&b, *p);
		}
		cpk_buf_addch(&b, '\'');
	}
	if (cpk_buf_failed(&b) || !(*out = cpk_buf_detach(&b, NULL))) {
		cpk_buf_release(&b);
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	return CPK_OK;
}

/* ---- put ---------------------------------------------------------------- */

static cpk_err_t check_name(const char *name)
{
	if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return cpk_err_set(CPK_ERR_INVALID, "remote: \"%s\" is not a "
				   "file name (one path component, not . or "
				   "..)", name ? name : "(null)");
	return CPK_OK;
}

static cpk_err_t sftp_of(struct cpk_remote *r)
{
	if (r->sftp)
		return CPK_OK;
	return cpk_sftp_new(r->ss, NULL, &r->sftp);
}

/* Closes H; after an error ERR, whose message stays. */
static cpk_err_t close_keep(struct cpk_remote *r, struct cpk_sftp_handle *h,
			    cpk_err_t err)
{
	char saved[1024];

	if (!err)
		return cpk_sftp_close(r->sftp, h);
	snprintf(saved, sizeof(saved), "%s", cpk_errmsg());
	(void)cpk_sftp_close(r->sftp, h);
	return cpk_err_set(err, "%s", saved);
}

/* Sets MODE exactly on the new file H (the server's umask undone), then
 * writes DATA, flushes it and closes H (whatever happens). */
static cpk_err_t fill(struct cpk_remote *r, struct cpk_sftp_handle *h,
		      uint32_t mode, const void *data, size_t len)
{
	struct cpk_sftp_attr a = { .flags = CPK_SFTP_ATTR_PERM, .perm = mode };
	struct cpk_sftp_info info;
	cpk_err_t err;

	cpk_sftp_info(r->sftp, &info);
	err = cpk_sftp_fsetstat(r->sftp, h, &a);
	if (!err && len)
		err = cpk_sftp_write(r->sftp, h, 0, data, len);
	if (!err && info.fsync)
		err = cpk_sftp_fsync(r->sftp, h);
	return close_keep(r, h, err);
}

cpk_err_t cpk_remote_put(struct cpk_remote *r, const char *dir,
			 const char *name, const void *data, size_t len,
			 uint32_t mode)
{
	struct cpk_buf tmp = CPK_BUF_INIT, dst = CPK_BUF_INIT;
	struct cpk_sftp_handle h;
	unsigned char rnd[4];
	char saved[1024];
	int created = 0;
	cpk_err_t err;

	if (!r || !dir || !*dir || (len && !data))
		return cpk_err_set(CPK_ERR_INVALID, "remote put: bad arguments");
	if ((err = check_name(name)) != 0)
		return err;
	if (mode & ~07777u)
		return cpk_err_set(CPK_ERR_INVALID, "remote put: mode %o has "
				   "more than permission bits", mode);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return cpk_err_sys("remote put: getrandom");
	cpk_buf_addf(&tmp, "%s/.%s.cpk-%02x%02x%02x%02x", dir, name, rnd[0],
		     rnd[1], rnd[2], rnd[3]);
	cpk_buf_addf(&dst, "%s/%s", dir, name);
	if (cpk_buf_failed(&tmp) || cpk_buf_failed(&dst)) {
		err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((err = sftp_of(r)) != 0)
		goto out;
	/* Created with MODE (less the server's umask), then MODE exactly
	 * (fill()), both before any data: a secret is never readable by
	 * others. */
	if ((err = cpk_sftp_open(r->sftp, tmp.buf, CPK_SFTP_WRITE |
				 CPK_SFTP_CREAT | CPK_SFTP_EXCL, mode, &h)) != 0)
		goto out;
	created = 1;
	if ((err = fill(r, &h, mode, data, len)) != 0 ||
	    (err = cpk_sftp_rename(r->sftp, tmp.buf, dst.buf,
				   CPK_SFTP_RENAME_OVERWRITE)) != 0)
		goto out;
	created = 0;
out:
	if (created) {
		/* keep the first error's message over the removal's */
		snprintf(saved, sizeof(saved), "%s", cpk_errmsg());
		if (cpk_sftp_remove(r->sftp, tmp.buf))
			cpk_err_set(err, "%s (and the temporary file %s "
				    "could not be removed: %s)", saved,
				    tmp.buf, cpk_errmsg());
		else
			cpk_err_set(err, "%s", saved);
	}
	cpk_buf_release(&tmp);
	cpk_buf_release(&dst);
	return err;
}
