/*
 * Reaching files under the root without following anything planted there:
 * every directory is opened from its parent's fd with O_NOFOLLOW; files
 * are written with cpk_write_at() (O_EXCL|O_NOFOLLOW, renamed into place).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "apply_priv.h"

cpk_err_t apply_split(const char *path, char **dir, char **base)
{
	const char *p, *slash = strrchr(path, '/');

	*dir = *base = NULL;
	if (path[0] != '/' || strlen(path) > 1024)
		return cpk_err_set(CPK_ERR_INVALID, "%s: not an absolute path", path);
	for (p = path; *p;) {
		size_t n;

		p++;
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)))
			return cpk_err_set(CPK_ERR_INVALID,
					   "%s: empty, '.' or '..' component in a target path", path);
		p += n;
	}
	*dir = cpk_strndup(path, slash == path ? 1 : (size_t)(slash - path));
	*base = cpk_strdup(slash + 1);
	if (!*dir || !*base) {
		free(*dir);
		free(*base);
		*dir = *base = NULL;
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	return CPK_OK;
}

static cpk_err_t refuse(int dfd, const char *comp, const char *shown)
{
	struct stat st;

	if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return cpk_err_set(CPK_ERR_PERM,
				   "%s is a symbolic link: refusing to follow it", shown);
	if (errno == ELOOP || errno == ENOTDIR || errno == 0)
		return cpk_err_set(CPK_ERR_PERM, "%s is not a directory", shown);
	return cpk_err_sys("cannot open directory %s", shown);
}

cpk_err_t apply_open_dir(int rootfd, const char *dir, int create, mode_t mode,
			 uid_t uid, gid_t gid, int *fd)
{
	struct cpk_buf shown = CPK_BUF_INIT;
	const char *p = dir;
	cpk_err_t r = CPK_OK;
	int cur;

	*fd = -1;
	if ((cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return cpk_err_sys("cannot duplicate the root's fd");
	while (*p) {
		char comp[256];
		size_t n;
		int next, last;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n >= sizeof(comp) || (n <= 2 && !strncmp(p, "..", n))) {
			r = cpk_err_set(CPK_ERR_INVALID, "%s: bad path component", dir);
			break;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		last = strspn(p, "/") == strlen(p);
		cpk_buf_addch(&shown, '/');
		cpk_buf_addstr(&shown, comp);
		errno = 0;
		next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && !create) {
			close(cur);
			cur = -1;
			break;
		}
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(cur, comp, last ? mode : 0755) < 0 && errno != EEXIST) {
				r = cpk_err_sys("cannot create directory %s", shown.buf);
				break;
			}
			next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next >= 0 && last && geteuid() == 0 &&
			    (fchown(next, uid, gid) < 0 || fchmod(next, mode) < 0)) {
				r = cpk_err_sys("cannot set the owner or mode of %s", shown.buf);
				close(next);
				break;
			}
			if (next >= 0 && last && geteuid() != 0)
				(void)fchmod(next, mode);	/* umask */
		}
		if (next < 0) {
			r = refuse(cur, comp, shown.buf);
			break;
		}
		close(cur);
		cur = next;
	}
	if (r != CPK_OK && cur >= 0) {
		close(cur);
		cur = -1;
	}
	cpk_buf_release(&shown);
	*fd = cur;
	return r;
}

cpk_err_t apply_read_at(int dfd, const char *name, const char *shown,
			struct cpk_buf *out, struct stat *st, int *exists)
{
	cpk_err_t r = CPK_OK;
	char chunk[65536];
	int fd;

	*exists = 0;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return CPK_OK;
		if (errno == ELOOP)
			return cpk_err_set(CPK_ERR_PERM,
					   "%s is a symbolic link: refusing to replace it", shown);
		return cpk_err_sys("cannot open %s", shown);
	}
	*exists = 1;
	if (fstat(fd, st) < 0) {
		r = cpk_err_sys("cannot stat %s", shown);
	} else if (!S_ISREG(st->st_mode)) {
		r = cpk_err_set(CPK_ERR_PERM, "%s is not a regular file: refusing to replace it",
				shown);
	} else if ((size_t)st->st_size > APPLY_MAX_FILE) {
		r = cpk_err_set(CPK_ERR_INVALID, "%s is larger than %zu bytes", shown,
				APPLY_MAX_FILE);
	}
	while (r == CPK_OK) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = cpk_err_sys("cannot read %s", shown);
			break;
		}
		if (n == 0)
			break;
		cpk_buf_add(out, chunk, (size_t)n);
		if (out->len > APPLY_MAX_FILE)
			r = cpk_err_set(CPK_ERR_INVALID, "%s grew past %zu bytes", shown,
					APPLY_MAX_FILE);
		else if (cpk_buf_failed(out))
			r = cpk_err_set(CPK_ERR_NOMEM, "out of memory reading %s", shown);
	}
	close(fd);
	return r;
}

cpk_err_t apply_sha256(const void *p, size_t n, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return cpk_err_set(CPK_ERR_INTERNAL, "SHA-256 failed");
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return CPK_OK;
}

cpk_err_t apply_read_root(const struct cpk_apply_plan *p, const char *path,
			  struct cpk_buf *out, int *exists)
{
	char *dir = NULL, *base = NULL;
	struct stat st;
	cpk_err_t r;
	int dfd = -1;

	*exists = 0;
	if ((r = apply_split(path, &dir, &base)) != CPK_OK)
		return r;
	if ((r = apply_open_dir(p->rootfd, dir, 0, 0, 0, 0, &dfd)) == CPK_OK && dfd >= 0)
		r = apply_read_at(dfd, base, path, out, &st, exists);
	if (dfd >= 0)
		close(dfd);
	free(dir);
	free(base);
	return r;
}
