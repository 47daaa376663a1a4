/*
 * Home directories: create from a skeleton, remove.  Everything below
 * home_root goes through directory file descriptors: openat() with
 * O_NOFOLLOW, mkdirat(), symlinkat(), fchownat(AT_SYMLINK_NOFOLLOW),
 * unlinkat(), so a symbolic link planted by a user is never followed.
 * Removal never leaves the home's own mount: another filesystem, or a bind
 * mount of the same one (told apart by statx's mount id), is refused.
 */
#define _GNU_SOURCE		/* statx */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk/ldap.h"
#include "internal.h"

#define MAX_DEPTH 64
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

struct walk {
	struct cpk_buf path;	/* for messages: the current directory */
	uid_t uid;
	gid_t gid;
	dev_t dev;		/* removal: the home's device */
	uint64_t mnt;		/* and its mount id, if have_mnt */
	int have_mnt;
};

/* Sets *ID to the mount id of NAME in directory FD ("" with AT_EMPTY_PATH:
 * FD itself) and returns 1; 0 if the kernel does not tell (before 5.8). */
static int mount_id(int fd, const char *name, int flags, uint64_t *id)
{
	struct statx sx;

	if (statx(fd, name, flags | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
		  STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	*id = sx.stx_mnt_id;
	return 1;
}

/* Whether entry NAME of directory FD (ST: its lstat) is on another mount
 * than the home: a mount point, whatever is mounted there. */
static int other_mount(const struct walk *w, int fd, const char *name,
		       const struct stat *st)
{
	uint64_t id;

	if (st->st_dev != w->dev)
		return 1;
	return w->have_mnt && mount_id(fd, name, 0, &id) && id != w->mnt;
}

static cpk_err_t copy_file(struct walk *w, int sfd, int dfd, const char *name,
			   const struct stat *st)
{
	char buf[65536];
	cpk_err_t r = CPK_OK;
	struct stat st2;
	int in = -1, out = -1;

	in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		    O_NONBLOCK);
	if (in < 0) {
		r = cpk_err_sys("cannot read the skeleton file for %s/%s", w->path.buf,
				name);
		goto out;
	}
	if (fstat(in, &st2) < 0 || !S_ISREG(st2.st_mode) ||
	    st2.st_ino != st->st_ino) {
		r = cpk_err_set(CPK_ERR_IO, "the skeleton file for %s/%s changed "
				"while copying", w->path.buf, name);
		goto out;
	}
	out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		     O_CLOEXEC, 0600);
	if (out < 0) {
		r = cpk_err_sys("cannot create %s/%s", w->path.buf, name);
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), done = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = cpk_err_sys("cannot read the skeleton file for %s/%s",
					w->path.buf, name);
			goto out;
		}
		if (n == 0)
			break;
		while (done < n) {
			ssize_t m = write(out, buf + done, (size_t)(n - done));

			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0) {
				r = cpk_err_sys("cannot write %s/%s", w->path.buf,
						name);
				goto out;
			}
			done += m;
		}
	}
	if (fchown(out, w->uid, w->gid) < 0 ||
	    fchmod(out, st->st_mode & 0777) < 0)
		r = cpk_err_sys("cannot set the owner or mode of %s/%s",
				w->path.buf, name);
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0 && r == CPK_OK)
		r = cpk_err_sys("cannot write %s/%s", w->path.buf, name);
	return r;
}

static cpk_err_t copy_link(struct walk *w, int sfd, int dfd, const char *name)
{
	char target[PATH_MAX + 1];
	ssize_t n = readlinkat(sfd, name, target, sizeof(target));

	if (n < 0)
		return cpk_err_sys("cannot read the skeleton link for %s/%s",
				   w->path.buf, name);
	if ((size_t)n >= sizeof(target))
		return cpk_err_set(CPK_ERR_INVALID, "the skeleton link for %s/%s "
				   "is too long", w->path.buf, name);
	target[n] = '\0';
	if (symlinkat(target, dfd, name) < 0)
		return cpk_err_sys("cannot create link %s/%s", w->path.buf, name);
	if (fchownat(dfd, name, w->uid, w->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return cpk_err_sys("cannot set the owner of link %s/%s",
				   w->path.buf, name);
	return CPK_OK;
}

/* A directory stream over a duplicate of FD (w->path names it); FD stays
 * the caller's. */
static cpk_err_t open_stream(const struct walk *w, int fd, DIR **d)
{
	int fd2 = dup(fd);

	if (fd2 >= 0 && (*d = fdopendir(fd2)))
		return CPK_OK;
	if (fd2 >= 0) {
		int e = errno;

		close(fd2);
		errno = e;
	}
	return cpk_err_sys("cannot read directory %s", w->path.buf);
}

/* Copies the content of directory SFD into directory DFD. */
static cpk_err_t copy_tree(struct walk *w, int sfd, int dfd, int depth)
{
	DIR *d = NULL;
	struct dirent *de;
	cpk_err_t r = CPK_OK;
	size_t plen = w->path.len;

	if (depth > MAX_DEPTH)
		return cpk_err_set(CPK_ERR_INVALID, "the skeleton is deeper than "
				   "%d levels at %s", MAX_DEPTH, w->path.buf);
	if ((r = open_stream(w, sfd, &d)) != CPK_OK)
		return r;
	while ((errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		struct stat st;
		int s2 = -1, d2 = -1;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = cpk_err_sys("cannot stat %s/%s", w->path.buf, name);
			break;
		}
		if (S_ISREG(st.st_mode)) {
			r = copy_file(w, sfd, dfd, name, &st);
		} else if (S_ISLNK(st.st_mode)) {
			r = copy_link(w, sfd, dfd, name);
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dfd, name, 0700) < 0) {
				r = cpk_err_sys("cannot create %s/%s",
						w->path.buf, name);
				break;
			}
			s2 = openat(sfd, name, DIR_FLAGS);
			d2 = openat(dfd, name, DIR_FLAGS);
			if (s2 < 0 || d2 < 0) {
				r = cpk_err_sys("cannot open %s/%s", w->path.buf,
						name);
			} else {
				cpk_buf_addf(&w->path, "/%s", name);
				r = copy_tree(w, s2, d2, depth + 1);
				w->path.len = plen;	/* back to this dir */
				if (w->path.alloc)
					w->path.buf[plen] = '\0';
				if (r == CPK_OK &&
				    (fchown(d2, w->uid, w->gid) < 0 ||
				     fchmod(d2, st.st_mode & 0777) < 0))
					r = cpk_err_sys("cannot set the owner or "
							"mode of %s/%s",
							w->path.buf, name);
			}
			if (s2 >= 0)
				close(s2);
			if (d2 >= 0)
				close(d2);
		}
		/* sockets, fifos and devices are not copied */
		if (r != CPK_OK)
			break;
	}
	if (r == CPK_OK && errno)
		r = cpk_err_sys("cannot read directory %s", w->path.buf);
	closedir(d);
	return r;
}

/* Removes everything inside directory FD (on w's mount); DRY: removes
 * nothing, only looks for what would make the removal fail half-way (a
 * mount point, a tree too deep). */
static cpk_err_t remove_contents(struct walk *w, int fd, int depth, int dry)
{
	DIR *d = NULL;
	struct dirent *de;
	cpk_err_t r = CPK_OK;
	size_t plen = w->path.len;
	int pass, removed;

	if (depth > MAX_DEPTH * 4)
		return cpk_err_set(CPK_ERR_INVALID, "%s is nested too deep to "
				   "remove safely", w->path.buf);
	/* entries removed while reading may make readdir skip others:
	 * read again until a pass removes nothing */
	for (pass = 0, removed = 1; removed && pass < (dry ? 1 : 8) &&
	     r == CPK_OK; pass++) {
		removed = 0;
		if ((r = open_stream(w, fd, &d)) != CPK_OK)
			return r;
		rewinddir(d);
		while ((errno = 0, de = readdir(d))) {
			const char *name = de->d_name;
			struct stat st;
			int sub;

			if (!strcmp(name, ".") || !strcmp(name, ".."))
				continue;
			if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT)
					continue;
				r = cpk_err_sys("cannot stat %s/%s", w->path.buf,
						name);
				break;
			}
			if (other_mount(w, fd, name, &st)) {
				r = cpk_err_set(CPK_ERR_PERM,
						"refusing to remove %s/%s: "
						"another filesystem is mounted "
						"there", w->path.buf, name);
				break;
			}
			if (S_ISDIR(st.st_mode)) {
				sub = openat(fd, name, DIR_FLAGS);
				if (sub < 0) {
					r = cpk_err_sys("cannot open %s/%s",
							w->path.buf, name);
					break;
				}
				cpk_buf_addf(&w->path, "/%s", name);
				r = remove_contents(w, sub, depth + 1, dry);
				w->path.len = plen;
				if (w->path.alloc)
					w->path.buf[plen] = '\0';
				close(sub);
				if (r != CPK_OK)
					break;
				if (dry)
					continue;
				if (unlinkat(fd, name, AT_REMOVEDIR) < 0) {
					r = cpk_err_sys("cannot remove %s/%s",
							w->path.buf, name);
					break;
				}
			} else if (dry) {
				continue;
			} else if (unlinkat(fd, name, 0) < 0 && errno != ENOENT) {
				r = cpk_err_sys("cannot remove %s/%s",
						w->path.buf, name);
				break;
			}
			removed = 1;
		}
		if (r == CPK_OK && errno)
			r = cpk_err_sys("cannot read directory %s", w->path.buf);
		closedir(d);
		d = NULL;
	}
	return r;
}

static cpk_err_t open_root(const struct cpk_users *users, const char *name,
			   int *rootfd)
{
	cpk_err_t r;

	*rootfd = -1;
	if (!users || !users->home_root || users->home_root[0] != '/')
		return cpk_err_set(CPK_ERR_CONFIG,
				   "users.home_root must be an absolute path");
	if ((r = cpk_name_check(name)) != CPK_OK)
		return r;
	/* home_root itself is the administrator's: it may be a symlink */
	*rootfd = open(users->home_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*rootfd < 0)
		return cpk_err_sys("cannot open users.home_root %s",
				   users->home_root);
	return CPK_OK;
}

/* open_root(), and PATH gets "HOME_ROOT/NAME" for messages. */
static cpk_err_t open_home(const struct cpk_users *users, const char *name,
			   int *rootfd, struct cpk_buf *path)
{
	cpk_err_t r = open_root(users, name, rootfd);

	if (r != CPK_OK)
		return r;
	cpk_buf_addf(path, "%s/%s", users->home_root, name);
	if (cpk_buf_failed(path))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}

cpk_err_t cpk_home_create(const struct cpk_users *users, const char *name,
			  uid_t uid, gid_t gid)
{
	struct walk w = { CPK_BUF_INIT, uid, gid, 0, 0, 0 };
	cpk_err_t r;
	int rootfd = -1, hfd = -1, sfd = -1, made = 0;

	if ((r = open_home(users, name, &rootfd, &w.path)) != CPK_OK)
		goto out;
	if (users->skel && *users->skel) {
		sfd = open(users->skel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sfd < 0) {
			r = cpk_err_sys("cannot open users.skel %s", users->skel);
			goto out;
		}
	}
	/* root-owned and 0700 until complete: the user cannot get in early */
	if (mkdirat(rootfd, name, 0700) < 0) {
		if (errno == EEXIST)
			r = cpk_err_set(CPK_ERR_EXISTS, "home directory %s "
					"already exists", w.path.buf);
		else
			r = cpk_err_sys("cannot create home directory %s",
					w.path.buf);
		goto out;
	}
	made = 1;
	hfd = openat(rootfd, name, DIR_FLAGS);
	if (hfd < 0) {
		r = cpk_err_sys("cannot open %s", w.path.buf);
		goto out;
	}
	/* messages name the destination (w.path) of what failed */
	if (sfd >= 0 && (r = copy_tree(&w, sfd, hfd, 0)) != CPK_OK)
		goto out;
	if (fchown(hfd, uid, gid) < 0 || fchmod(hfd, 0700) < 0) {
		r = cpk_err_sys("cannot set the owner or mode of %s", w.path.buf);
		goto out;
	}
out:
	if (r != CPK_OK && made) {
		/* remove the partial copy (still root's, nobody else's) */
		struct stat st;
		char saved[1024];

		snprintf(saved, sizeof(saved), "%s", cpk_errmsg());
		if (hfd >= 0 && fstat(hfd, &st) == 0) {
			w.dev = st.st_dev;
			cpk_buf_reset(&w.path);
			cpk_buf_addf(&w.path, "%s/%s", users->home_root, name);
			w.have_mnt = mount_id(hfd, "", AT_EMPTY_PATH, &w.mnt);
			if (remove_contents(&w, hfd, 0, 0) == CPK_OK)
				(void)unlinkat(rootfd, name, AT_REMOVEDIR);
		}
		cpk_err_set(r, "%s", saved);
	}
	if (sfd >= 0)
		close(sfd);
	if (hfd >= 0)
		close(hfd);
	if (rootfd >= 0)
		close(rootfd);
	cpk_buf_release(&w.path);
	return r;
}

cpk_err_t cpk_home_remove(const struct cpk_users *users, const char *name,
			  uid_t uid)
{
	struct walk w = { CPK_BUF_INIT, uid, 0, 0, 0, 0 };
	struct stat st, st2, rst;
	uint64_t rmnt;
	cpk_err_t r;
	int rootfd = -1, hfd = -1;

	if ((r = open_home(users, name, &rootfd, &w.path)) != CPK_OK)
		goto out;
	if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = cpk_err_sys("cannot remove home directory %s", w.path.buf);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		r = cpk_err_set(CPK_ERR_PERM, "refusing to remove %s: it is not "
				"a directory%s", w.path.buf,
				S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
		goto out;
	}
	if (st.st_uid != uid) {
		r = cpk_err_set(CPK_ERR_PERM, "refusing to remove %s: it is owned "
				"by uid %lu, not %lu", w.path.buf,
				(unsigned long)st.st_uid, (unsigned long)uid);
		goto out;
	}
	hfd = openat(rootfd, name, DIR_FLAGS);
	if (hfd < 0) {
		r = cpk_err_sys("cannot open %s", w.path.buf);
		goto out;
	}
	if (fstat(hfd, &st2) < 0 || st2.st_dev != st.st_dev ||
	    st2.st_ino != st.st_ino) {
		r = cpk_err_set(CPK_ERR_IO, "%s changed while being removed",
				w.path.buf);
		goto out;
	}
	/* the home itself must not be a mount point: emptying it would empty
	 * that filesystem, and the directory could not be removed after all */
	w.dev = st.st_dev;
	w.have_mnt = mount_id(hfd, "", AT_EMPTY_PATH, &w.mnt);
	if (fstat(rootfd, &rst) < 0) {
		r = cpk_err_sys("cannot stat users.home_root %s", users->home_root);
		goto out;
	}
	if (rst.st_dev != w.dev || (w.have_mnt && mount_id(rootfd, "",
	    AT_EMPTY_PATH, &rmnt) && rmnt != w.mnt)) {
		r = cpk_err_set(CPK_ERR_PERM, "refusing to remove %s: another "
				"filesystem is mounted there", w.path.buf);
		goto out;
	}
	/* look first, so that a refusal leaves the home as it was */
	if ((r = remove_contents(&w, hfd, 0, 1)) != CPK_OK ||
	    (r = remove_contents(&w, hfd, 0, 0)) != CPK_OK)
		goto out;
	if (unlinkat(rootfd, name, AT_REMOVEDIR) < 0)
		r = cpk_err_sys("cannot remove %s", w.path.buf);
out:
	if (hfd >= 0)
		close(hfd);
	if (rootfd >= 0)
		close(rootfd);
	cpk_buf_release(&w.path);
	return r;
}
