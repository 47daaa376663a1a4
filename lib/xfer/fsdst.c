/*
 * The local destination of a copy, below the directory fd its operand was
 * resolved to once (as cp does): every path under it is reached a
 * component at a time with openat(O_NOFOLLOW|O_DIRECTORY), and the last
 * step is done with an *at call or on an fd opened with O_NOFOLLOW, so no
 * symlink in or under the destination is followed, whoever planted it.
 * The last parent directory opened is kept (a tree is copied a directory
 * at a time), so a small file costs no more system calls than before.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xfer_priv.h"

/* Where the last component of a destination path lives. */
struct at {
	int dfd;			/* its directory */
	int own;			/* dfd is to be closed (not cached) */
	char leaf[NAME_MAX + 1];	/* "": the path is the root itself */
};

static void at_done(struct at *a)
{
	if (a->own)
		close(a->dfd);
	a->own = 0;
}

static cpk_err_t link_err(const char *path, size_t len)
{
	return cpk_err_set(XFS_ERR_LINK, "%.*s is a symbolic link, not "
			   "followed", (int)len, path);
}

/* One component of LEN bytes: not empty, ".", ".." or too long. */
static cpk_err_t check_comp(const char *path, const char *c, size_t len)
{
	if (!len || (c[0] == '.' && (len == 1 || (len == 2 && c[1] == '.'))))
		return cpk_err_set(CPK_ERR_INVALID, "%s: an empty, \".\" or "
				   "\"..\" component in a destination path",
				   path);
	if (len > NAME_MAX)
		return cpk_err_set(CPK_ERR_INVALID, "%s: a component longer "
				   "than %d bytes", path, NAME_MAX);
	return CPK_OK;
}

/* Why directory component C (LEN bytes, in PATH) of directory DFD could
 * not be entered. */
static cpk_err_t enter_err(int dfd, const char *path, const char *c,
			   size_t len)
{
	int e = errno;
	char name[NAME_MAX + 1];
	struct stat st;

	memcpy(name, c, len);
	name[len] = '\0';
	if ((e == ELOOP || e == ENOTDIR) &&
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return link_err(path, (size_t)(c - path) + len);
	errno = e;
	return cpk_err_sys("cannot enter the directory %.*s",
			   (int)((size_t)(c - path) + len), path);
}

/*
 * The directory holding PATH (a path under F's prefix) and its last
 * component.  With CACHE (F itself) the directory is taken from or kept in
 * F's cache (not to be closed by the caller); else A->own says whether to
 * close it.
 */
static cpk_err_t at_parent(const struct xfs *f, struct xfs *cache,
			   const char *path, struct at *a)
{
	size_t pl = strlen(f->prefix), rl, dl, done = 0, n;
	const char *rel = path, *slash, *c;
	int cur = f->root, curown = 0, fd;
	cpk_err_t err;

	a->dfd = f->root;
	a->own = 0;
	a->leaf[0] = '\0';
	if (pl ? strncmp(path, f->prefix, pl) != 0 ||
		 (path[pl] && path[pl] != '/' && f->prefix[pl - 1] != '/') :
		 *path == '/')
		return cpk_err_set(CPK_ERR_INTERNAL, "%s is not under the "
				   "destination %s", path, f->prefix);
	rel += pl;
	while (*rel == '/')
		rel++;
	rl = strlen(rel);
	while (rl && rel[rl - 1] == '/')
		rl--;
	if (!rl)
		return CPK_OK;	/* the root itself */
	slash = memrchr(rel, '/', rl);
	dl = slash ? (size_t)(slash - rel) : 0;
	c = slash ? slash + 1 : rel;
	if ((err = check_comp(path, c, rl - (size_t)(c - rel))) != 0)
		return err;
	memcpy(a->leaf, c, rl - (size_t)(c - rel));
	a->leaf[rl - (size_t)(c - rel)] = '\0';
	if (!dl)
		return CPK_OK;
	if (cache && cache->cdir) {
		size_t cl = strlen(cache->cdir);

		if (cl == dl && !memcmp(cache->cdir, rel, dl)) {
			a->dfd = cache->cfd;
			return CPK_OK;
		}
		if (cl + 1 < dl && rel[cl] == '/' &&
		    !memcmp(cache->cdir, rel, cl)) {
			cur = cache->cfd;	/* deeper: from there */
			done = cl + 1;
		}
	}
	while (done < dl) {
		c = rel + done;
		slash = memchr(c, '/', dl - done);
		n = slash ? (size_t)(slash - c) : dl - done;
		if ((err = check_comp(path, c, n)) != 0)
			break;
		{
			char name[NAME_MAX + 1];

			memcpy(name, c, n);
			name[n] = '\0';
			fd = openat(cur, name, O_RDONLY | O_DIRECTORY |
				    O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			err = enter_err(cur, path, c, n);
			break;
		}
		if (curown)
			close(cur);
		cur = fd;
		curown = 1;
		done += n + 1;
	}
	if (err) {
		if (curown)
			close(cur);
		return err;
	}
	if (!cache) {
		a->dfd = cur;
		a->own = curown;
		return CPK_OK;
	}
	if (cache->cdir) {
		close(cache->cfd);
		free(cache->cdir);
		cache->cdir = NULL;
	}
	if (!(cache->cdir = cpk_strndup(rel, dl))) {
		a->dfd = cur;		/* not cached: the caller closes it */
		a->own = curown;
		return CPK_OK;
	}
	cache->cfd = cur;
	a->dfd = cur;
	return CPK_OK;
}

void xfs_release(struct xfs *f)
{
	if (f && f->cdir) {
		close(f->cfd);
		free(f->cdir);
		f->cdir = NULL;
	}
}

cpk_err_t xdst_lstat(const struct xfs *f, const char *path, struct stat *st)
{
	struct at a;
	cpk_err_t err;
	int r;

	if ((err = at_parent(f, NULL, path, &a)) != 0)
		return cpk_err_prefix(err, "cannot stat %s", path);
	r = a.leaf[0] ? fstatat(a.dfd, a.leaf, st, AT_SYMLINK_NOFOLLOW) :
			fstat(a.dfd, st);
	err = r < 0 ? cpk_err_sys("cannot stat %s", path) : CPK_OK;
	at_done(&a);
	return err;
}

cpk_err_t xdst_mkdir(struct xfs *f, const char *path, uint32_t mode)
{
	struct stat st;
	struct at a;
	cpk_err_t err = CPK_OK;
	int e;

	if ((err = at_parent(f, f, path, &a)) != 0)
		return cpk_err_prefix(err, "cannot create the directory %s", path);
	if (!a.leaf[0] || mkdirat(a.dfd, a.leaf, (mode_t)mode) == 0)
		goto out;
	e = errno;
	if (e == EEXIST &&
	    fstatat(a.dfd, a.leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			err = cpk_err_prefix(link_err(path, strlen(path)), "cannot "
				       "create the directory %s", path);
		else if (!S_ISDIR(st.st_mode))
			err = cpk_err_set(CPK_ERR_EXISTS, "cannot create the "
					  "directory %s: a file of that name "
					  "is in the way (a directory is "
					  "needed)", path);
	} else {
		cpk_err_t code = cpk_err_from_errno(e);

		err = cpk_err_set(code, "cannot create the directory %s: %s",
				  path, code == CPK_ERR_NOTFOUND ||
				  code == CPK_ERR_PERM ? cpk_strerror(code) :
				  strerror(e));
	}
out:
	at_done(&a);
	return err;
}

cpk_err_t xdst_symlink(struct xfs *f, const char *target, const char *path)
{
	struct at a;
	cpk_err_t err;

	if ((err = at_parent(f, f, path, &a)) != 0)
		return cpk_err_prefix(err, "cannot create the link %s", path);
	if (!a.leaf[0])
		err = cpk_err_set(CPK_ERR_INVALID, "cannot create the link %s: "
				  "it is the destination itself", path);
	else if ((void)unlinkat(a.dfd, a.leaf, 0),
		 symlinkat(target, a.dfd, a.leaf) < 0)
		err = cpk_err_sys("cannot create the link %s", path);
	at_done(&a);
	return err;
}

/* Whether A and B name entries of one directory. */
static int same_dir(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');

	if (!sa || !sb)
		return !sa && !sb;
	return sa - a == sb - b && !memcmp(a, b, (size_t)(sa - a));
}

cpk_err_t xdst_rename(struct xfs *f, const char *from, const char *to)
{
	struct at a, b;
	cpk_err_t err;

	/* the cache keeps one directory: FROM's only if TO's is the same */
	if ((err = at_parent(f, same_dir(from, to) ? f : NULL, from, &a)) != 0)
		return cpk_err_prefix(err, "cannot rename %s to %s", from, to);
	if ((err = at_parent(f, f, to, &b)) != 0) {
		at_done(&a);
		return cpk_err_prefix(err, "cannot rename %s to %s", from, to);
	}
	if (!a.leaf[0] || !b.leaf[0])
		err = cpk_err_set(CPK_ERR_INVALID, "cannot rename %s to %s: "
				  "the destination itself", from, to);
	else if (renameat(a.dfd, a.leaf, b.dfd, b.leaf) < 0)
		err = cpk_err_sys("cannot rename %s to %s", from, to);
	at_done(&b);
	at_done(&a);
	return err;
}

/* Removes a temporary file: only a regular file of this user (what
 * another user put at the name is left alone). */
cpk_err_t xdst_remove(struct xfs *f, const char *path)
{
	struct stat st;
	struct at a;
	cpk_err_t err;

	if ((err = at_parent(f, f, path, &a)) != 0)
		return cpk_err_prefix(err, "cannot remove %s", path);
	if (!a.leaf[0])
		err = cpk_err_set(CPK_ERR_INVALID, "cannot remove %s: the "
				  "destination itself", path);
	else if (fstatat(a.dfd, a.leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		err = cpk_err_sys("cannot remove %s", path);
	else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
		err = cpk_err_set(CPK_ERR_PERM, "%s is not a temporary file of "
				  "this copy: left alone", path);
	else if (unlinkat(a.dfd, a.leaf, 0) < 0)
		err = cpk_err_sys("cannot remove %s", path);
	at_done(&a);
	return err;
}

/* Whether FD (PATH) is a temporary file this copy made: a regular file of
 * this user with one link (not one somebody else put in its place). */
static cpk_err_t check_tmp(int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return cpk_err_sys("cannot stat %s", path);
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_nlink != 1)
		return cpk_err_set(CPK_ERR_INVALID, "%s is not a temporary file "
				   "of this copy (%s, owner %u, %lu links): not "
				   "used (remove it to start afresh)", path,
				   S_ISREG(st.st_mode) ? "a regular file" :
				   "not a regular file", (unsigned)st.st_uid,
				   (unsigned long)st.st_nlink);
	return CPK_OK;
}

cpk_err_t xdst_open_tmp(struct xfs *f, const char *path, int create,
			uint32_t mode, int *out)
{
	struct at a;
	cpk_err_t err = CPK_OK;
	int fd = -1, tries;

	*out = -1;
	if ((err = at_parent(f, f, path, &a)) != 0)
		return cpk_err_prefix(err, "cannot open %s", path);
	if (!a.leaf[0]) {
		err = cpk_err_set(CPK_ERR_INVALID, "cannot open %s: the "
				  "destination itself", path);
		goto out;
	}
	for (tries = 0; create && tries < 2; tries++) {
		fd = openat(a.dfd, a.leaf, O_WRONLY | O_CREAT | O_EXCL |
			    O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
		/* taken (a stale temporary, or something planted): the name
		 * is ours to use; unlinkat never follows a link */
		if (fd >= 0 || errno != EEXIST || tries ||
		    (unlinkat(a.dfd, a.leaf, 0) < 0 && errno != ENOENT))
			break;
	}
	if (create) {
		if (fd < 0)
			err = cpk_err_sys("cannot create %s", path);
		goto out;
	}
	fd = openat(a.dfd, a.leaf, O_WRONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	if (fd < 0)
		err = errno == ELOOP ? link_err(path, strlen(path)) :
		      cpk_err_sys("cannot open %s", path);
	else
		err = check_tmp(fd, path);
out:
	at_done(&a);
	if (err && fd >= 0)
		close(fd);
	if (!err)
		*out = fd;
	return err;
}

cpk_err_t xdst_setattr(struct xfs *f, const char *path, int mode,
		       const struct xstat *times)
{
	struct timespec ts[2];
	struct stat st;
	struct at a;
	cpk_err_t err;
	int fd;

	if ((err = at_parent(f, f, path, &a)) != 0)
		return cpk_err_prefix(err, "cannot set the mode and times of %s", path);
	fd = a.leaf[0] ? openat(a.dfd, a.leaf, O_RDONLY | O_NOFOLLOW |
				O_NONBLOCK | O_CLOEXEC) : a.dfd;
	if (fd < 0) {
		err = errno == ELOOP ? link_err(path, strlen(path)) :
		      cpk_err_sys("cannot open %s", path);
		err = cpk_err_prefix(err, "cannot set the mode and times of %s", path);
		goto out;
	}
	if (fstat(fd, &st) < 0)
		err = cpk_err_sys("cannot stat %s", path);
	else if (!S_ISDIR(st.st_mode))
		err = check_tmp(fd, path);
	if (!err && mode >= 0 && fchmod(fd, (mode_t)mode) < 0)
		err = cpk_err_sys("cannot set the mode of %s", path);
	if (!err && times) {
		ts[0].tv_sec = times->atime;
		ts[0].tv_nsec = 0;
		ts[1].tv_sec = times->mtime;
		ts[1].tv_nsec = 0;
		if (futimens(fd, ts) < 0)
			err = cpk_err_sys("cannot set the times of %s", path);
	}
	if (a.leaf[0])
		close(fd);
out:
	at_done(&a);
	return err;
}
