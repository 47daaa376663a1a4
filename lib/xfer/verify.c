/*
 * Verification: the SHA-256 of each copied file on both sides.  The remote
 * side runs sha256sum over an SSH exec channel (OpenSSH's sftp-server has
 * no hash extension), in batches of files, while the local side is hashed
 * here; where there is no shell the remote data is read back over SFTP.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "xfer_priv.h"

#define CMD_MAX (96 * 1024)

static const char *remote_path(const struct xent *e, int dir)
{
	return dir == CPK_XFER_PUT ? e->dst : e->src;
}

static const char *local_path(const struct xent *e, int dir)
{
	return dir == CPK_XFER_PUT ? e->src : e->dst;
}

/* 'PATH' for sh, with ' as '\''. */
static void add_quoted(struct cpk_buf *b, const char *s)
{
	cpk_buf_addch(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			cpk_buf_addstr(b, "'\\''");
		else
			cpk_buf_addch(b, *s);
	}
	cpk_buf_addch(b, '\'');
}

static int is_hex64(const char *s, size_t len)
{
	size_t i;

	if (len < 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Starts "sha256sum -- PATHS" for the files IDX[0..N) on a new channel. */
static ssh_channel exec_start(ssh_session ss, const struct xplan *p,
			      const size_t *idx, size_t n, int dir)
{
	struct cpk_buf cmd = CPK_BUF_INIT;
	ssh_channel ch;
	size_t i;

	cpk_buf_addstr(&cmd, "exec sha256sum --");
	for (i = 0; i < n; i++) {
		cpk_buf_addch(&cmd, ' ');
		add_quoted(&cmd, remote_path(&p->e[idx[i]], dir));
	}
	ch = cpk_buf_failed(&cmd) ? NULL : ssh_channel_new(ss);
	if (ch && (ssh_channel_open_session(ch) != SSH_OK ||
		   ssh_channel_request_exec(ch, cmd.buf) != SSH_OK)) {
		ssh_channel_free(ch);
		ch = NULL;
	}
	cpk_buf_release(&cmd);
	return ch;
}

/* Reads the output of CH: one line per file, "HEX  NAME" (a leading
 * backslash when NAME needed escaping).  Sets HEX[i] ("" if missing). */
static void exec_finish(ssh_channel ch, size_t n, char (*hex)[65])
{
	struct cpk_buf out = CPK_BUF_INIT;
	char buf[16384];
	const char *s, *end;
	size_t i = 0;
	int got;

	while ((got = ssh_channel_read_timeout(ch, buf, sizeof(buf), 0,
					       600000)) > 0)
		cpk_buf_add(&out, buf, (size_t)got);
	ssh_channel_send_eof(ch);
	ssh_channel_close(ch);
	ssh_channel_free(ch);
	for (s = out.buf, end = out.buf + out.len; s < end && i < n; i++) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *h = *s == '\\' ? s + 1 : s;

		if (!nl)
			nl = end;
		if (is_hex64(h, (size_t)(nl - h))) {
			memcpy(hex[i], h, 64);
			hex[i][64] = '\0';
		}
		s = nl + 1;
	}
	cpk_buf_release(&out);
}

/* Reads remote PATH over SFTP and hashes it. */
static cpk_err_t read_back(struct cpk_sftp *s, const char *path, char hex[65])
{
	struct cpk_sftp_handle h;
	struct cpk_sftp_info in;
	struct xsha256 c;
	unsigned char *buf;
	uint64_t off = 0;
	size_t got;
	cpk_err_t err;

	cpk_sftp_info(s, &in);
	if (!(buf = malloc(in.chunk)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if ((err = cpk_sftp_open(s, path, CPK_SFTP_READ, 0, &h)) != 0) {
		free(buf);
		return err;
	}
	xsha256_init(&c);
	while ((err = cpk_sftp_read(s, &h, off, buf, in.chunk, &got)) == 0 && got) {
		xsha256_update(&c, buf, got);
		off += got;
	}
	cpk_sftp_close(s, &h);
	free(buf);
	if (!err)
		xsha256_hex(&c, hex);
	else
		xsha256_release(&c);
	return err;
}

cpk_err_t xverify(struct xplan *p, int dir, ssh_session ss, struct cpk_sftp *s,
		  enum cpk_xfer_verify how, uint64_t *ok)
{
	size_t *idx = NULL, n = 0, i, start;
	char (*rhex)[65] = NULL, (*lhex)[65] = NULL;
	cpk_err_t err = CPK_OK;

	*ok = 0;
	idx = calloc(p->n ? p->n : 1, sizeof(*idx));
	rhex = calloc(p->n ? p->n : 1, sizeof(*rhex));
	lhex = calloc(p->n ? p->n : 1, sizeof(*lhex));
	if (!idx || !rhex || !lhex) {
		err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < p->n; i++)
		if (p->e[i].st.type == XT_FILE && p->e[i].done)
			idx[n++] = i;
	for (start = 0; start < n;) {
		size_t end = start, len = 0;
		ssh_channel ch = NULL;

		while (end < n && (end == start || len < CMD_MAX))
			len += strlen(remote_path(&p->e[idx[end++]], dir)) + 4;
		if (how != CPK_VERIFY_READ)
			ch = exec_start(ss, p, idx + start, end - start, dir);
		for (i = start; i < end; i++)
			if (cpk_xfer_sha256_file(local_path(&p->e[idx[i]], dir),
						 lhex[i]) != 0)
				lhex[i][0] = '\0';
		if (ch)
			exec_finish(ch, end - start, rhex + start);
		for (i = start; i < end; i++)
			if (!rhex[i][0] && how != CPK_VERIFY_EXEC &&
			    read_back(s, remote_path(&p->e[idx[i]], dir),
				      rhex[i]) != 0)
				rhex[i][0] = '\0';
		start = end;
	}
	for (i = 0; i < n; i++) {
		struct xent *e = &p->e[idx[i]];

		if (lhex[i][0] && !strcmp(lhex[i], rhex[i])) {
			(*ok)++;
			continue;
		}
		e->done = 0;
		e->failed = 1;
		free(e->err);
		e->err = cpk_strdup(!rhex[i][0] ? "verification failed: no "
				    "remote SHA-256 (no sha256sum there?)" :
				    !lhex[i][0] ? "verification failed: cannot "
				    "read the local file" : "verification "
				    "failed: SHA-256 differs");
	}
out:
	free(idx);
	free(rhex);
	free(lhex);
	return err;
}
