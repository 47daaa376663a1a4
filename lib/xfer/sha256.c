/*
 * SHA-256 for verifying copies, from OpenSSL's libcrypto (a dependency of
 * libssh already; it uses the CPU's SHA extensions where there are some).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "xfer_priv.h"

void xsha256_init(struct xsha256 *c)
{
	c->ctx = EVP_MD_CTX_new();
	c->failed = !c->ctx || EVP_DigestInit_ex(c->ctx, EVP_sha256(), NULL) != 1;
}

void xsha256_update(struct xsha256 *c, const void *p, size_t n)
{
	if (!c->failed && EVP_DigestUpdate(c->ctx, p, n) != 1)
		c->failed = 1;
}

void xsha256_hex(struct xsha256 *c, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	hex[0] = '\0';
	if (!c->failed && EVP_DigestFinal_ex(c->ctx, md, &len) == 1 && len == 32)
		for (i = 0; i < len; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
	xsha256_release(c);
}

void xsha256_release(struct xsha256 *c)
{
	EVP_MD_CTX_free(c->ctx);
	c->ctx = NULL;
}

cpk_err_t cpk_xfer_sha256_file(const char *path, char hex[65])
{
	struct xsha256 c;
	unsigned char *buf;
	ssize_t got;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cpk_err_sys("cannot open %s", path);
	buf = malloc(1 << 20);
	if (!buf) {
		close(fd);
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	xsha256_init(&c);
	while ((got = read(fd, buf, 1 << 20)) > 0)
		xsha256_update(&c, buf, (size_t)got);
	if (got < 0) {
		cpk_err_t e = cpk_err_sys("cannot read %s", path);

		xsha256_release(&c);
		free(buf);
		close(fd);
		return e;
	}
	free(buf);
	close(fd);
	xsha256_hex(&c, hex);
	if (!hex[0])
		return cpk_err_set(CPK_ERR_NOMEM, "cannot compute the SHA-256 of %s", path);
	return CPK_OK;
}
