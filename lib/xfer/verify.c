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
#include "strmap.h"

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

/* One line of GNU sha256sum's output, "HEX  NAME" or "HEX *NAME"; a line
 * that starts with '\\' has NAME escaped ("\\\\", "\\n", "\\r").  Sets NAME
 * (unescaped) and *HEX; 0 if LINE is no such line. */
static int parse_line(const char *line, size_t len, struct cpk_buf *name,
		      const char **hex)
{
	int esc = len && *line == '\\';
	size_t i;

	if (esc) {
		line++;
		len--;
	}
	if (len < 67 || !is_hex64(line, len) || line[64] != ' ' ||
	    (line[65] != ' ' && line[65] != '*'))
		return 0;
	*hex = line;
	cpk_buf_reset(name);
	for (i = 66; i < len; i++) {
		char c = line[i];

		if (esc && c == '\\') {
			if (++i == len)
				return 0;
			c = line[i] == 'n' ? '\n' : line[i] == 'r' ? '\r' :
			    line[i] == '\\' ? '\\' : 0;
			if (!c)
				return 0;
		}
		cpk_buf_addch(name, c);
	}
	return !cpk_buf_failed(name);
}

/* Reads the output of CH, one line per file it could hash, and matches
 * each line to the file of IDX[0..N) it names: HEX[i] gets its digest
 * (HEX[i] stays "" when no line names file i; "?" when two lines name it
 * with different digests).  Returns how many lines were sha256sum lines;
 * *STATUS gets the command's exit status (-1: unknown). */
static size_t exec_finish(ssh_channel ch, const struct xplan *p,
			  const size_t *idx, size_t n, int dir,
			  char (*hex)[65], int *status)
{
	int quiet_ms = 0;

	struct cpk_buf out = CPK_BUF_INIT, name = CPK_BUF_INIT;
	struct cpk_strmap map = CPK_STRMAP_INIT;
	char buf[16384];
	const char *s, *end, *h;
	size_t i, lines = 0;
	int got;

	/* Until the end of its output: a read may also return 0 or
	 * SSH_AGAIN with nothing there yet (the session is non-blocking), so
	 * only EOF, a closed channel, an error or 10 minutes of silence
	 * end it. */
	for (;;) {
		got = ssh_channel_read_timeout(ch, buf, sizeof(buf), 0, 1000);
		if (got > 0) {
			cpk_buf_add(&out, buf, (size_t)got);
			quiet_ms = 0;
			continue;
		}
		if (got == SSH_ERROR || ssh_channel_is_eof(ch) ||
		    ssh_channel_is_closed(ch) || (quiet_ms += 1000) >= 600000)
			break;
	}
	for (quiet_ms = 0; *status < 0 && quiet_ms < 5000; quiet_ms += 100) {
		*status = ssh_channel_get_exit_status(ch);
		if (*status < 0 && (ssh_channel_is_closed(ch) ||
				    ssh_channel_poll_timeout(ch, 100, 0) ==
				    SSH_ERROR))
			break;
	}
	ssh_channel_send_eof(ch);
	ssh_channel_close(ch);
	ssh_channel_free(ch);
	for (i = 0; i < n; i++)
		if (cpk_strmap_put(&map, remote_path(&p->e[idx[i]], dir), i,
				   NULL) < 0)
			goto out;	/* out of memory: nothing matched */
	for (s = out.buf, end = out.buf + out.len; !cpk_buf_failed(&out) && s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));

		if (!nl)
			nl = end;
		if (parse_line(s, (size_t)(nl - s), &name, &h)) {
			lines++;
			/* a name that is no file of the batch (or holds a NUL)
			 * matches nothing */
			if (strlen(name.buf) == name.len &&
			    cpk_strmap_get(&map, name.buf, &i)) {
				if (!hex[i][0]) {
					memcpy(hex[i], h, 64);
					hex[i][64] = '\0';
				} else if (memcmp(hex[i], h, 64)) {
					memcpy(hex[i], "?", 2);
				}
			}
		}
		s = nl + 1;
	}
out:
	cpk_strmap_release(&map);
	cpk_buf_release(&name);
	cpk_buf_release(&out);
	return lines;
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

/* Marks E failed: "verification failed: WHY". */
static void verify_fail(struct xent *e, const char *why)
{
	struct cpk_buf b = CPK_BUF_INIT;

	cpk_buf_addf(&b, "verification failed: %s", why);
	e->done = 0;
	e->failed = 1;
	free(e->err);
	e->err = cpk_buf_detach(&b, NULL);
}

cpk_err_t xverify(struct xplan *p, int dir, ssh_session ss, struct cpk_sftp *s,
		  enum cpk_xfer_verify how, uint64_t *ok)
{
	size_t *idx = NULL, n = 0, i, start;
	char (*rhex)[65] = NULL, (*lhex)[65] = NULL;
	char **why = NULL;	/* a failure's own words, else NULL */
	cpk_err_t err = CPK_OK;

	*ok = 0;
	idx = calloc(p->n ? p->n : 1, sizeof(*idx));
	rhex = calloc(p->n ? p->n : 1, sizeof(*rhex));
	lhex = calloc(p->n ? p->n : 1, sizeof(*lhex));
	why = calloc(p->n ? p->n : 1, sizeof(*why));
	if (!idx || !rhex || !lhex || !why) {
		err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < p->n; i++)
		if (p->e[i].st.type == XT_FILE && p->e[i].done)
			idx[n++] = i;
	for (start = 0; start < n;) {
		size_t end = start, len = 0;
		ssh_channel ch = NULL;
		int status = -1, answered = 0;

		while (end < n && (end == start || len < CMD_MAX))
			len += strlen(remote_path(&p->e[idx[end++]], dir)) + 4;
		if (how != CPK_VERIFY_READ)
			ch = exec_start(ss, p, idx + start, end - start, dir);
		for (i = start; i < end; i++)
			if (cpk_xfer_sha256_file(local_path(&p->e[idx[i]], dir),
						 lhex[i]) != 0) {
				lhex[i][0] = '\0';
				why[i] = cpk_strdup(cpk_errmsg());
			}
		/* A sha256sum that ran and gave lines (exit 0, or 1: some file
		 * could not be read) answered: a file without its line is gone
		 * (or its line is), and fails.  No sha256sum (not started,
		 * not found, killed): the remote side is read back instead. */
		if (ch) {
			size_t lines = exec_finish(ch, p, idx + start,
						   end - start, dir,
						   rhex + start, &status);

			answered = lines && (status == 0 || status == 1);
		}
		for (i = start; i < end && !answered && how != CPK_VERIFY_EXEC;
		     i++) {
			if (read_back(s, remote_path(&p->e[idx[i]], dir),
				      rhex[i]) != 0) {
				rhex[i][0] = '\0';
				if (!why[i])
					why[i] = cpk_strdup(cpk_errmsg());
			}
		}
		start = end;
	}
	for (i = 0; i < n; i++) {
		struct xent *e = &p->e[idx[i]];
		struct cpk_buf b = CPK_BUF_INIT;

		if (lhex[i][0] && rhex[i][0] == '?') {
			verify_fail(e, "the remote sha256sum gave two different "
				    "lines for it");
		} else if (lhex[i][0] && rhex[i][0]) {
			if (!strcmp(lhex[i], rhex[i]))
				(*ok)++;
			else
				verify_fail(e, "SHA-256 differs");
		} else if (!lhex[i][0]) {
			cpk_buf_addf(&b, "cannot read the local file (%s)",
				     why[i] ? why[i] : "out of memory");
			verify_fail(e, cpk_buf_failed(&b) ? "cannot read the "
				    "local file" : b.buf);
		} else if (how == CPK_VERIFY_EXEC) {
			verify_fail(e, "no remote SHA-256 (no sha256sum there, "
				    "or the file is gone)");
		} else if (why[i]) {
			cpk_buf_addf(&b, "no remote SHA-256 (%s)", why[i]);
			verify_fail(e, cpk_buf_failed(&b) ? "no remote SHA-256" :
				    b.buf);
		} else {
			verify_fail(e, "no line for it from the remote "
				    "sha256sum (is the file gone?)");
		}
		cpk_buf_release(&b);
	}
out:
	for (i = 0; why && i < n; i++)
		free(why[i]);
	free(why);
	free(idx);
	free(rhex);
	free(lhex);
	return err;
}
