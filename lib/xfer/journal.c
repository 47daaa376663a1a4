/*
 * The resume journal: a header naming the transfer, then one line per
 * finished chunk or file, appended and fsync'ed.  See xfer_priv.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpk/fsutil.h"
#include "xfer_priv.h"

#define MAGIC "cpk-journal 1\n"

/* Paths are written with bytes below '!', '%' and DEL as %XX. */
static void add_escaped(struct cpk_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == '%' || c == 0x7f)
			cpk_buf_addf(b, "%%%02X", c);
		else
			cpk_buf_addch(b, (char)c);
	}
}

char *xjournal_header(int dir, const char *const *srcs, size_t nsrc,
		      const char *dst, uint64_t cmin, uint64_t cmax,
		      const struct xplan *p)
{
	struct cpk_buf b = CPK_BUF_INIT;
	char hex[65];
	size_t i;

	xplan_digest(p, hex);
	cpk_buf_addstr(&b, MAGIC);
	cpk_buf_addf(&b, "direction %s\n", dir == CPK_XFER_PUT ? "put" : "get");
	for (i = 0; i < nsrc; i++) {
		cpk_buf_addstr(&b, "source ");
		add_escaped(&b, srcs[i]);
		cpk_buf_addch(&b, '\n');
	}
	cpk_buf_addstr(&b, "dest ");
	add_escaped(&b, dst);
	cpk_buf_addf(&b, "\nchunk %llu %llu parts %u\n",
		     (unsigned long long)cmin, (unsigned long long)cmax,
		     p->parts ? p->parts : XPLAN_PARTS);
	cpk_buf_addf(&b, "plan %zu entries %llu files %llu bytes sha256 %s\n.\n",
		     p->n, (unsigned long long)p->files,
		     (unsigned long long)p->bytes, hex);
	return cpk_buf_detach(&b, NULL);
}

/* Parses an unsigned decimal at *S followed by END; advances *S. */
static int parse_u(const char **s, char end, unsigned long long *v)
{
	char *e;

	if (**s < '0' || **s > '9')
		return -1;
	errno = 0;
	*v = strtoull(*s, &e, 10);
	if (errno || *e != end)
		return -1;
	*s = e + 1;
	return 0;
}

cpk_err_t xjournal_apply(const char *text, size_t len, const char *header,
			 struct xplan *p, size_t *records)
{
	size_t hl = strlen(header);
	const char *s, *end = text + len;

	*records = 0;
	if (len < hl || memcmp(text, header, hl))
		return cpk_err_set(CPK_ERR_INVALID, "it describes another "
				   "transfer (other sources, destination, "
				   "chunk sizes, or the files changed since)");
	for (s = text + hl; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		unsigned long long f, c;
		const char *q = s + 2;

		if (!nl)
			break;	/* a torn last line: the work is redone */
		if (nl - s < 3 || s[1] != ' ')
			goto bad;
		if (s[0] == 'C') {
			if (parse_u(&q, ' ', &f) || parse_u(&q, '\n', &c) ||
			    f >= p->n || !p->e[f].cdone || c >= p->e[f].nchunks)
				goto bad;
			if (!p->e[f].cdone[c]) {
				p->e[f].cdone[c] = 1;
				p->e[f].left--;
			}
		} else if (s[0] == 'F') {
			if (parse_u(&q, '\n', &f) || f >= p->n ||
			    p->e[f].st.type != XT_FILE)
				goto bad;
			p->e[f].done = 1;
			p->e[f].left = 0;
		} else {
			goto bad;
		}
		(*records)++;
		s = nl + 1;
	}
	return CPK_OK;
bad:
	return cpk_err_set(CPK_ERR_INVALID, "damaged record at byte %zu",
			   (size_t)(s - text));
}

cpk_err_t xjournal_open(struct xjournal *j, const char *path,
			const char *header, struct xplan *p, size_t *records)
{
	struct cpk_buf b = CPK_BUF_INIT;
	cpk_err_t err;

	*records = 0;
	j->fd = -1;
	if (!(j->path = cpk_strdup(path)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	err = cpk_read_file(path, &b, 0);
	if (err && err != CPK_ERR_NOTFOUND) {
		cpk_buf_release(&b);
		return err;
	}
	if (!err && b.len) {
		err = xjournal_apply(b.buf, b.len, header, p, records);
		cpk_buf_release(&b);
		if (err) {
			char why[256];

			snprintf(why, sizeof(why), "%s", cpk_errmsg());
			return cpk_err_set(err, "cannot resume from %s: %s "
					   "(remove it to start afresh)", path,
					   why);
		}
		j->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (j->fd < 0)
			return cpk_err_sys("cannot open the journal %s", path);
		return CPK_OK;
	}
	cpk_buf_release(&b);
	j->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
		     0600);
	if (j->fd < 0)
		return cpk_err_sys("cannot create the journal %s", path);
	return xjournal_append(j, header, strlen(header));
}

unsigned xjournal_parts(const char *path)
{
	static const size_t max = 256 * 1024;
	char *buf, *l;
	unsigned long long a, b;
	unsigned parts;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (!(buf = malloc(max + 1))) {
		close(fd);
		return 0;
	}
	do
		n = read(fd, buf, max);
	while (n < 0 && errno == EINTR);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	/* the header's "chunk MIN MAX parts N" line (sources come before it,
	 * escaped: none of them starts a line with "chunk ") */
	parts = 0;
	for (l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (sscanf(l, "chunk %llu %llu parts %u\n", &a, &b,
			   &parts) == 3)
			break;
	free(buf);
	return parts <= 1u << 20 ? parts : 0;
}

cpk_err_t xjournal_append(struct xjournal *j, const char *text, size_t len)
{
	while (len) {
		ssize_t w = write(j->fd, text, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return cpk_err_sys("cannot write the journal %s", j->path);
		text += w;
		len -= (size_t)w;
	}
	if (fdatasync(j->fd) < 0)
		return cpk_err_sys("cannot sync the journal %s", j->path);
	return CPK_OK;
}

void xjournal_close(struct xjournal *j, int remove)
{
	if (j->fd >= 0)
		close(j->fd);
	if (remove && j->path)
		(void)unlink(j->path);
	free(j->path);
	j->path = NULL;
	j->fd = -1;
}
