#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk/fsutil.h"
#include "cpk/munge.h"
#include "internal.h"

static cpk_err_t fill_random(unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return cpk_err_sys("cannot get random bytes for the munge key");
		}
		p += r;
		n -= (size_t)r;
	}
	return CPK_OK;
}

cpk_err_t cpk_munge_key_create(const char *path, uid_t uid, gid_t gid)
{
	unsigned char key[CPK_MUNGE_KEY_LEN];
	struct cpk_buf tmp = CPK_BUF_INIT;
	struct stat st;
	cpk_err_t r;
	int fd = -1;

	if (lstat(path, &st) == 0)
		return cpk_err_set(CPK_ERR_EXISTS,
				   "%s already exists; a munge key is never replaced (every node would need the new one)",
				   path);
	if (errno != ENOENT)
		return cpk_err_sys("cannot check %s", path);
	if ((r = fill_random(key, sizeof(key))) != CPK_OK)
		goto out;
	/* write under a temporary name, fix owner and mode, then link into
	 * place: link() fails if PATH appeared meanwhile, so nothing is lost */
	cpk_buf_addf(&tmp, "%s.XXXXXX", path);
	if (cpk_buf_failed(&tmp)) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	fd = mkstemp(tmp.buf);
	if (fd < 0) {
		r = cpk_err_sys("cannot create a file beside %s", path);
		cpk_buf_reset(&tmp);
		goto out;
	}
	if (fchmod(fd, 0400) < 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)) {
		r = cpk_err_sys("cannot set the owner or mode of %s", tmp.buf);
		goto out;
	}
	if (write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || fsync(fd) < 0) {
		r = cpk_err_sys("cannot write %s", tmp.buf);
		goto out;
	}
	if (link(tmp.buf, path) < 0) {
		r = errno == EEXIST
		    ? cpk_err_set(CPK_ERR_EXISTS, "%s already exists", path)
		    : cpk_err_sys("cannot create %s", path);
		goto out;
	}
	r = CPK_OK;
out:
	cpk_memwipe(key, sizeof(key));
	if (fd >= 0)
		close(fd);
	if (tmp.len)
		unlink(tmp.buf);
	cpk_buf_release(&tmp);
	return r;
}

/* Whether UID may own the key: root, the caller, or the munge user. */
static int trusted_owner(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (uid == 0 || uid == geteuid())
		return 1;
	return getpwnam_r("munge", &pw, buf, sizeof(buf), &res) == 0 && res &&
	       res->pw_uid == uid;
}

cpk_err_t cpk_munge_key_check(const char *path)
{
	struct stat st;
	int fd;

	/* O_NONBLOCK: a FIFO put in the key's place must not hang the check */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			return cpk_err_set(CPK_ERR_INVALID,
					   "%s is a symbolic link; munged wants the key itself", path);
		return cpk_err_sys("cannot open the munge key %s", path);
	}
	if (fstat(fd, &st) < 0) {
		cpk_err_t r = cpk_err_sys("cannot stat %s", path);

		close(fd);
		return r;
	}
	close(fd);
	if (!S_ISREG(st.st_mode))
		return cpk_err_set(CPK_ERR_INVALID, "%s is not a regular file", path);
	if (st.st_mode & 077)
		return cpk_err_set(CPK_ERR_PERM,
				   "%s has mode %04o: group or others may access the munge key (want 0400 or 0600)",
				   path, (unsigned)(st.st_mode & 07777));
	if (!trusted_owner(st.st_uid))
		return cpk_err_set(CPK_ERR_PERM,
				   "%s is owned by uid %u: the munge key must belong to root, the munge user or you",
				   path, (unsigned)st.st_uid);
	if (st.st_size < CPK_MUNGE_KEY_MIN)
		return cpk_err_set(CPK_ERR_INVALID,
				   "%s holds %lld bytes; a munge key needs at least %d",
				   path, (long long)st.st_size, CPK_MUNGE_KEY_MIN);
	return CPK_OK;
}
