#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk/fsutil.h"
#include "internal.h"

static cpk_err_t write_all(int fd, const char *p, size_t len, const char *path,
			   const char *tmp)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cpk_err_sys("cannot write %s (temporary file %s)", path, tmp);
		}
		p += n;
		len -= (size_t)n;
	}
	return CPK_OK;
}

cpk_err_t cpk_write_atomic(const char *path, const void *data, size_t len,
			   mode_t mode)
{
	struct cpk_buf tmp = CPK_BUF_INIT, dir = CPK_BUF_INIT;
	cpk_err_t r = CPK_OK;
	const char *slash = strrchr(path, '/');
	int fd = -1, dfd = -1;

	if (slash)
		cpk_buf_add(&dir, path, (size_t)(slash - path) + (slash == path));
	else
		cpk_buf_addstr(&dir, ".");
	cpk_buf_add(&tmp, path, slash ? (size_t)(slash - path) + 1 : 0);
	cpk_buf_addf(&tmp, ".%s.XXXXXX", slash ? slash + 1 : path);
	if (cpk_buf_failed(&tmp) || cpk_buf_failed(&dir)) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	fd = mkstemp(tmp.buf);
	if (fd < 0) {
		r = cpk_err_sys("cannot create a temporary file beside %s", path);
		cpk_buf_reset(&tmp);
		goto out;
	}
	if (fchmod(fd, mode) < 0) {
		r = cpk_err_sys("cannot set the mode of %s (temporary file %s)", path, tmp.buf);
		goto out;
	}
	if ((r = write_all(fd, data, len, path, tmp.buf)) != CPK_OK)
		goto out;
	if (fsync(fd) < 0) {
		r = cpk_err_sys("cannot sync %s (temporary file %s)", path, tmp.buf);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = cpk_err_sys("cannot close %s (temporary file %s)", path, tmp.buf);
		goto out;
	}
	fd = -1;
	if (rename(tmp.buf, path) < 0) {
		r = cpk_err_sys("cannot rename %s to %s", tmp.buf, path);
		goto out;
	}
	cpk_buf_reset(&tmp);	/* nothing left to remove */
	dfd = open(dir.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);	/* best effort: some filesystems refuse */
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (r != CPK_OK && tmp.len)
		unlink(tmp.buf);
	cpk_buf_release(&tmp);
	cpk_buf_release(&dir);
	return r;
}

/* The longest NAME cpk_write_at() takes: its temporary ".NAME.cpk-XXXXXXXX"
 * must fit NAME_MAX. */
#define WRITE_AT_NAME_MAX (NAME_MAX - (int)sizeof(".cpk-XXXXXXXX"))

cpk_err_t cpk_write_at(int dfd, const char *name, const char *shown,
		       const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
		       int flags)
{
	char tmp[NAME_MAX + 1];
	cpk_err_t r;
	int fd = -1, tries, renamed;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strlen(name) > WRITE_AT_NAME_MAX)
		return cpk_err_set(CPK_ERR_INVALID, "%s: not a plain file name of at most %d bytes",
				   shown, WRITE_AT_NAME_MAX);
	for (tries = 0; tries < 8 && fd < 0; tries++) {
		unsigned int rnd = 0;

		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			rnd = (unsigned int)getpid() * 2654435761u + (unsigned int)tries;
		snprintf(tmp, sizeof(tmp), ".%s.cpk-%08x", name, rnd);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return cpk_err_sys("cannot create a temporary file beside %s", shown);
	}
	if (fd < 0)
		return cpk_err_sys("cannot create a temporary file beside %s", shown);
	if ((r = write_all(fd, data, len, shown, tmp)) != CPK_OK)
		goto fail;
	/* the owner before the mode: fchown clears set-id bits */
	if (geteuid() == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) < 0) {
		r = cpk_err_sys("cannot set the owner of %s", shown);
		goto fail;
	}
	if (fchmod(fd, mode) < 0) {
		r = cpk_err_sys("cannot set the mode of %s", shown);
		goto fail;
	}
	if (fsync(fd) < 0) {
		r = cpk_err_sys("cannot sync %s", shown);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = cpk_err_sys("cannot close the temporary file for %s", shown);
		goto fail;
	}
	fd = -1;
	if (flags & CPK_WRITE_NOREPLACE)
		renamed = renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE) == 0;
	else
		renamed = renameat(dfd, tmp, dfd, name) == 0;
	if (!renamed) {
		r = (flags & CPK_WRITE_NOREPLACE) && errno == EEXIST
			? cpk_err_set(CPK_ERR_EXISTS, "%s already exists", shown)
			: cpk_err_sys("cannot rename a temporary file to %s", shown);
		goto fail;
	}
	(void)fsync(dfd);	/* best effort: some filesystems refuse */
	return CPK_OK;
fail:
	if (fd >= 0)
		close(fd);
	(void)unlinkat(dfd, tmp, 0);
	return r;
}

cpk_err_t cpk_read_file(const char *path, struct cpk_buf *out, size_t max)
{
	cpk_err_t r = CPK_OK;
	char chunk[65536];
	size_t total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return cpk_err_sys("cannot open %s", path);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = cpk_err_sys("cannot read %s", path);
			break;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (max && total > max) {
			r = cpk_err_set(CPK_ERR_INVALID,
					"%s: larger than %zu bytes", path, max);
			break;
		}
		cpk_buf_add(out, chunk, (size_t)n);
		if (cpk_buf_failed(out)) {
			r = cpk_err_set(CPK_ERR_NOMEM, "%s: out of memory", path);
			break;
		}
	}
	close(fd);
	return r;
}

cpk_err_t cpk_mkdir_p(const char *path, mode_t mode)
{
	struct cpk_buf b = CPK_BUF_INIT;
	cpk_err_t r = CPK_OK;
	size_t i;

	cpk_buf_addstr(&b, path);
	if (cpk_buf_failed(&b))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	for (i = 1; i <= b.len; i++) {
		struct stat st;

		if (b.buf[i] != '/' && b.buf[i] != '\0')
			continue;
		b.buf[i] = '\0';
		if (mkdir(b.buf, mode) < 0 && errno != EEXIST) {
			r = cpk_err_sys("cannot create directory %s", b.buf);
			break;
		}
		if (stat(b.buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			r = cpk_err_sys("cannot create directory %s", b.buf);
			break;
		}
		if (i < b.len)
			b.buf[i] = '/';
	}
	cpk_buf_release(&b);
	return r;
}
