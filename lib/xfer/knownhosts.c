/*
 * The known_hosts markers that libssh's own parser skips (xfer_priv.h).
 *
 * libssh 0.10 takes "@revoked" and "@cert-authority" for host patterns that
 * never match, so it ignores both kinds of line: a revoked key listed with
 * an accepting line is accepted.  Only @revoked needs reading here; a
 * @cert-authority line names a CA, not a host key, so libssh skipping it
 * is what OpenSSH does for a client that offers no host certificates.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sshfp.h"
#include "xfer_priv.h"

/* Longer lines are skipped (a 16384-bit RSA key takes about 2,800). */
#define KH_LINE_MAX 16384

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The next blank-separated field of *P (advanced past it): its start, its
 * length in *LEN (0 at the end of the line). */
static const char *field(const char **p, size_t *len)
{
	const char *s = *p, *e;

	while (*s && is_blank((unsigned char)*s))
		s++;
	for (e = s; *e && !is_blank((unsigned char)*e); e++)
		;
	*len = (size_t)(e - s);
	*p = e;
	return s;
}

/* Whether LINE (NUL-terminated, without its newline) marks the key BLOB
 * (LEN bytes, whose type name is TYPE) @revoked.  The host field is not
 * looked at: a revoked key is refused for every host. */
static int line_revokes(const char *line, const unsigned char *blob,
			size_t len, const char *type)
{
	const char *p = line, *f;
	unsigned char *kb = NULL;
	size_t n, kn = 0;
	int hit;

	f = field(&p, &n);
	if (n != 8 || memcmp(f, "@revoked", 8))
		return 0;
	field(&p, &n);			/* the hosts */
	if (!n)
		return 0;
	f = field(&p, &n);		/* the key type */
	if (n != strlen(type) || memcmp(f, type, n))
		return 0;
	f = field(&p, &n);		/* the blob in base64 */
	if (!n || cpk_sshfp_decode(f, n, &kb, &kn) != CPK_OK)
		return 0;
	hit = kn == len && !memcmp(kb, blob, len);
	free(kb);
	return hit;
}

/* The type name a key blob starts with (an SSH string), copied into OUT
 * (SIZE bytes); "" if the blob is malformed. */
static void blob_type(const unsigned char *blob, size_t len, char *out,
		      size_t size)
{
	size_t n;

	out[0] = '\0';
	if (len < 4)
		return;
	n = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 |
	    (size_t)blob[2] << 8 | blob[3];
	if (n == 0 || n >= size || n > len - 4 || memchr(blob + 4, 0, n))
		return;
	memcpy(out, blob + 4, n);
	out[n] = '\0';
}

cpk_err_t xkh_revoked(const char *path, const unsigned char *blob,
		      size_t len, unsigned long *line_no)
{
	char type[64], *buf = NULL;
	unsigned long no = 0;
	size_t n = 0;
	int fd = -1, c, bad = 0;
	FILE *fp = NULL;
	struct stat st;
	cpk_err_t err = CPK_OK;

	*line_no = 0;
	blob_type(blob, len, type, sizeof(type));
	if (!path || !*type)
		return CPK_OK;
	/* Like OpenSSH, a file that cannot be opened holds no lines.  Only a
	 * regular file is read: no FIFO to block on, no /dev/zero. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return CPK_OK;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return CPK_OK;
	}
	if (!(fp = fdopen(fd, "r"))) {
		err = cpk_err_sys("cannot read known_hosts file %s", path);
		close(fd);
		return err;
	}
	if (!(buf = malloc(KH_LINE_MAX + 1))) {
		err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* A line too long is skipped whole; one holding a NUL ends there, as
	 * for OpenSSH's C-string parser. */
	for (;;) {
		c = getc(fp);
		if (c != EOF && c != '\n') {
			if (n == KH_LINE_MAX)
				bad = 1;
			else
				buf[n++] = (char)c;
			continue;
		}
		if (c == EOF && n == 0 && !bad)
			break;
		no++;
		buf[n] = '\0';
		if (!bad && line_revokes(buf, blob, len, type)) {
			*line_no = no;
			break;
		}
		if (c == EOF)
			break;
		n = 0;
		bad = 0;
	}
	if (ferror(fp))
		err = cpk_err_sys("cannot read known_hosts file %s", path);
out:
	free(buf);
	fclose(fp);
	return err;
}
