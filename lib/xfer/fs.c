/*
 * One side of a copy, local or remote, behind the same small set of calls,
 * so that planning and finishing are written once for both directions.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xfer_priv.h"

static void from_local(const struct stat *s, struct xstat *st)
{
	st->type = S_ISREG(s->st_mode) ? XT_FILE : S_ISDIR(s->st_mode) ? XT_DIR :
		   S_ISLNK(s->st_mode) ? XT_LINK : XT_OTHER;
	st->size = st->type == XT_FILE ? (uint64_t)s->st_size : 0;
	st->mode = s->st_mode & 07777;
	st->atime = (uint32_t)s->st_atime;
	st->mtime = (uint32_t)s->st_mtime;
}

static void from_remote(const struct cpk_sftp_attr *a, struct xstat *st)
{
	uint32_t m = a->flags & CPK_SFTP_ATTR_PERM ? a->perm : 0;

	st->type = S_ISREG(m) ? XT_FILE : S_ISDIR(m) ? XT_DIR :
		   S_ISLNK(m) ? XT_LINK : XT_OTHER;
	st->size = st->type == XT_FILE && (a->flags & CPK_SFTP_ATTR_SIZE) ?
		   a->size : 0;
	st->mode = m & 07777;
	st->atime = a->flags & CPK_SFTP_ATTR_TIMES ? a->atime : 0;
	st->mtime = a->flags & CPK_SFTP_ATTR_TIMES ? a->mtime : 0;
}

cpk_err_t xfs_stat(const struct xfs *f, const char *path, int follow,
		   struct xstat *st)
{
	struct cpk_sftp_attr a;
	struct stat s;
	cpk_err_t err;

	if (f->s) {
		err = follow ? cpk_sftp_stat(f->s, path, &a) :
			       cpk_sftp_lstat(f->s, path, &a);
		if (!err)
			from_remote(&a, st);
		return err;
	}
	if (f->at && !follow) {
		if ((err = xdst_lstat(f, path, &s)) != 0)
			return err;
	} else if ((follow ? stat(path, &s) : lstat(path, &s)) < 0) {
		return cpk_err_sys("cannot stat %s", path);
	}
	from_local(&s, st);
	return CPK_OK;
}

void xfs_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

void xfs_quote(struct cpk_buf *b, const char *s, size_t len)
{
	size_t i;

	cpk_buf_addch(b, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			cpk_buf_addf(b, "\\%c", c);
		else if (c == '\n')
			cpk_buf_addstr(b, "\\n");
		else if (c == '\t')
			cpk_buf_addstr(b, "\\t");
		else if (c == '\r')
			cpk_buf_addstr(b, "\\r");
		else if (c < 0x20 || c >= 0x7f)
			cpk_buf_addf(b, "\\%03o", c);	/* 3 digits: unambiguous */
		else
			cpk_buf_addch(b, (char)c);
	}
	cpk_buf_addch(b, '"');
}

const char *xfs_bad_why(const struct xstat *st)
{
	switch (st->size) {
	case XBAD_EMPTY:
		return "an empty name";
	case XBAD_NUL:
		return "a NUL byte inside the name";
	case XBAD_SLASH:
		return "a '/' inside the name";
	default:
		return "not a file name";
	}
}

/* What is wrong with NAME (LEN bytes) as one component of a path: 0 if
 * nothing, XBAD_* if it must be refused, -1 for "." and ".." (dropped, as
 * readdir's consumers do). */
static int name_flaw(const char *name, size_t len)
{
	if (!len)
		return XBAD_EMPTY;
	if (memchr(name, '\0', len))
		return XBAD_NUL;
	if (memchr(name, '/', len))
		return XBAD_SLASH;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return -1;
	return 0;
}

/* Appends NAME (LEN bytes, from the other side, unchecked) and ST; a name
 * that is no file name goes in quoted, as an XT_BAD entry. */
static cpk_err_t push_name(char ***v, struct xstat **sts, size_t *n,
			   const char *name, size_t len,
			   const struct xstat *st)
{
	char **nv = *v;
	struct xstat *ns = *sts;
	struct xstat bad;
	int flaw = name_flaw(name, len);
	char *copy;

	if (flaw < 0)
		return CPK_OK;

	/* room for 2^k entries when N reaches 2^k (16 at least) */
	if (*n >= 16 ? !(*n & (*n - 1)) : !*n) {
		size_t cap = *n >= 16 ? *n * 2 : 16;

		if (!(nv = cpk_reallocarray(*v, cap, sizeof(**v))))
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		*v = nv;
		if (!(ns = cpk_reallocarray(*sts, cap, sizeof(**sts))))
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		*sts = ns;
	}
	if (flaw > 0) {
		struct cpk_buf b = CPK_BUF_INIT;

		xfs_quote(&b, name, len);
		copy = cpk_buf_detach(&b, NULL);
		memset(&bad, 0, sizeof(bad));
		bad.type = XT_BAD;
		bad.size = (uint64_t)flaw;
		st = &bad;
	} else {
		copy = cpk_strdup(name);
	}
	if (!(nv[*n] = copy))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	ns[*n] = *st;
	(*n)++;
	return CPK_OK;
}

/* Sorts names and their attributes together. */
struct named {
	char *name;
	struct xstat st;
};

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name,
		      ((const struct named *)b)->name);
}

static cpk_err_t sort_names(char **names, struct xstat *sts, size_t n)
{
	struct named *v;
	size_t i;

	if (n < 2)
		return CPK_OK;
	if (!(v = calloc(n, sizeof(*v))))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		v[i].name = names[i];
		v[i].st = sts[i];
	}
	qsort(v, n, sizeof(*v), cmp_named);
	for (i = 0; i < n; i++) {
		names[i] = v[i].name;
		sts[i] = v[i].st;
	}
	free(v);
	return CPK_OK;
}

cpk_err_t xfs_list(const struct xfs *f, const char *path, char ***names,
		   struct xstat **sts, size_t *n)
{
	struct xdirrd *r;
	cpk_err_t err;
	int eof;

	*names = NULL;
	*sts = NULL;
	*n = 0;
	if ((err = xfs_opendir(f, path, &r)) != 0)
		return err;
	err = xfs_readdir(r, SIZE_MAX, names, sts, n, &eof);
	xfs_closedir(r);
	if (!err)
		err = sort_names(*names, *sts, *n);
	if (err) {
		xfs_names_free(*names, *n);
		free(*sts);
		*names = NULL;
		*sts = NULL;
		*n = 0;
	}
	return err;
}

void xfs_listing_release(struct xlisting *l)
{
	xfs_names_free(l->names, l->n);
	free(l->sts);
	free(l->msg);
	memset(l, 0, sizeof(*l));
}

cpk_err_t xfs_list_many(const struct xfs *f, const char *const *paths,
			size_t n, const size_t *max, struct xlisting *out)
{
	struct cpk_sftp_dir *d;
	size_t i, k;
	cpk_err_t err;

	memset(out, 0, n * sizeof(*out));
	if (!f->s) {
		for (i = 0; i < n; i++)
			if ((out[i].err = xfs_list(f, paths[i], &out[i].names,
						   &out[i].sts, &out[i].n)) != 0)
				out[i].msg = cpk_strdup(cpk_errmsg());
		return CPK_OK;
	}
	if (!(d = calloc(n ? n : 1, sizeof(*d))))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if ((err = cpk_sftp_listdir_many(f->s, paths, n, max, d)) != 0) {
		free(d);
		return err;
	}
	for (i = 0; i < n; i++) {
		struct xlisting *l = &out[i];

		l->err = d[i].err;
		l->msg = d[i].msg;
		l->truncated = d[i].truncated;
		d[i].msg = NULL;
		for (k = 0; !l->err && k < d[i].n; k++) {
			struct xstat st;

			from_remote(&d[i].names[k].attr, &st);
			l->err = push_name(&l->names, &l->sts, &l->n,
					   d[i].names[k].name,
					   d[i].names[k].namelen, &st);
		}
		if (!l->err)
			l->err = sort_names(l->names, l->sts, l->n);
		if (l->err && !l->msg)
			l->msg = cpk_strdup(cpk_errmsg());
	}
	cpk_sftp_dirs_free(d, n);
	free(d);
	return CPK_OK;
}

struct xdirrd {
	const struct xfs *f;
	DIR *d;				/* local */
	struct cpk_sftp_handle h;	/* remote */
	char *path;
	int eof;
};

cpk_err_t xfs_opendir(const struct xfs *f, const char *path,
		      struct xdirrd **out)
{
	struct xdirrd *r;
	cpk_err_t err = CPK_OK;

	*out = NULL;
	if (!(r = calloc(1, sizeof(*r))) || !(r->path = cpk_strdup(path))) {
		free(r);
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	r->f = f;
	if (f->s)
		err = cpk_sftp_opendir(f->s, path, &r->h);
	else if (!(r->d = opendir(path)))
		err = cpk_err_sys("cannot list %s", path);
	if (err) {
		free(r->path);
		free(r);
		return err;
	}
	*out = r;
	return CPK_OK;
}

cpk_err_t xfs_readdir(struct xdirrd *r, size_t want, char ***names,
		      struct xstat **sts, size_t *n, int *eof)
{
	cpk_err_t err = CPK_OK;
	struct xstat st;
	size_t i;

	*names = NULL;
	*sts = NULL;
	*n = 0;
	if (r->eof) {
		*eof = 1;
		return CPK_OK;
	}
	if (r->f->s) {
		struct cpk_sftp_name *v = NULL;
		size_t k = 0;

		if ((err = cpk_sftp_readdir(r->f->s, &r->h, want, &v, &k,
					    &r->eof)) != 0)
			return err;
		for (i = 0; i < k && !err; i++) {
			from_remote(&v[i].attr, &st);
			err = push_name(names, sts, n, v[i].name,
					v[i].namelen, &st);
		}
		cpk_sftp_names_free(v, k);
	} else {
		struct dirent *de;
		struct stat ls;

		while (!err && *n < want) {
			errno = 0;
			if (!(de = readdir(r->d))) {
				if (errno)
					err = cpk_err_sys("cannot list %s",
							  r->path);
				else
					r->eof = 1;
				break;
			}
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (fstatat(dirfd(r->d), de->d_name, &ls,
				    AT_SYMLINK_NOFOLLOW) < 0) {
				err = cpk_err_sys("cannot stat %s/%s", r->path,
						  de->d_name);
				break;
			}
			from_local(&ls, &st);
			err = push_name(names, sts, n, de->d_name,
					strlen(de->d_name), &st);
		}
	}
	if (err) {
		xfs_names_free(*names, *n);
		free(*sts);
		*names = NULL;
		*sts = NULL;
		*n = 0;
		return err;
	}
	*eof = r->eof;
	return CPK_OK;
}

void xfs_closedir(struct xdirrd *r)
{
	if (!r)
		return;
	if (r->d)
		closedir(r->d);
	else if (r->f->s)
		(void)cpk_sftp_close(r->f->s, &r->h);
	free(r->path);
	free(r);
}

cpk_err_t xfs_sort(char **names, struct xstat *sts, size_t n)
{
	return sort_names(names, sts, n);
}

cpk_err_t xfs_readlink(const struct xfs *f, const char *path, char **out)
{
	char buf[4096];
	ssize_t len;

	if (f->s)
		return cpk_sftp_readlink(f->s, path, out);
	len = readlink(path, buf, sizeof(buf) - 1);
	if (len < 0)
		return cpk_err_sys("cannot read the link %s", path);
	*out = cpk_strndup(buf, (size_t)len);
	return *out ? CPK_OK : cpk_err_set(CPK_ERR_NOMEM, "out of memory");
}

cpk_err_t xfs_mkdir(struct xfs *f, const char *path, uint32_t mode)
{
	struct xstat st;
	cpk_err_t err;

	if (f->at)
		return xdst_mkdir(f, path, mode);
	if (f->s)
		err = cpk_sftp_mkdir(f->s, path, mode);
	else
		err = mkdir(path, mode) < 0 ?
		      cpk_err_sys("cannot create the directory %s", path) : 0;
	if (!err)
		return CPK_OK;
	/* Already there?  Fine if it is a directory. */
	if (xfs_stat(f, path, 1, &st) == 0) {
		if (st.type == XT_DIR)
			return CPK_OK;
		return cpk_err_set(CPK_ERR_EXISTS, "cannot create the directory "
				   "%s: a file of that name is in the way "
				   "(a directory is needed)", path);
	}
	return err == CPK_ERR_NOTFOUND || err == CPK_ERR_PERM || err == CPK_ERR_IO ?
	       cpk_err_set(err, "cannot create the directory %s: %s", path,
			   cpk_strerror(err)) : err;
}

cpk_err_t xfs_symlink(struct xfs *f, const char *target, const char *path)
{
	if (f->at)
		return xdst_symlink(f, target, path);
	if (f->s) {
		(void)cpk_sftp_remove(f->s, path);
		return cpk_sftp_symlink(f->s, target, path);
	}
	(void)unlink(path);
	if (symlink(target, path) < 0)
		return cpk_err_sys("cannot create the link %s", path);
	return CPK_OK;
}

cpk_err_t xfs_rename(struct xfs *f, const char *from, const char *to)
{
	if (f->at)
		return xdst_rename(f, from, to);
	if (f->s)
		return cpk_sftp_rename(f->s, from, to, CPK_SFTP_RENAME_OVERWRITE);
	if (rename(from, to) < 0)
		return cpk_err_sys("cannot rename %s to %s", from, to);
	return CPK_OK;
}

cpk_err_t xfs_setattr(struct xfs *f, const char *path, int mode,
		      const struct xstat *times)
{
	struct cpk_sftp_attr a;

	if (mode < 0 && !times)
		return CPK_OK;
	if (f->at)
		return xdst_setattr(f, path, mode, times);
	if (!f->s)
		return cpk_err_set(CPK_ERR_INTERNAL, "xfs_setattr: %s: a local "
				   "destination needs its root", path);
	memset(&a, 0, sizeof(a));
	a.flags = (times ? CPK_SFTP_ATTR_TIMES : 0) |
		  (mode >= 0 ? CPK_SFTP_ATTR_PERM : 0);
	a.perm = mode >= 0 ? (uint32_t)mode : 0;
	a.atime = times ? times->atime : 0;
	a.mtime = times ? times->mtime : 0;
	return cpk_sftp_setstat(f->s, path, &a);
}

cpk_err_t xfs_remove(struct xfs *f, const char *path)
{
	if (f->at)
		return xdst_remove(f, path);
	if (f->s)
		return cpk_sftp_remove(f->s, path);
	if (unlink(path) < 0)
		return cpk_err_sys("cannot remove %s", path);
	return CPK_OK;
}

cpk_err_t xfs_open_tmp(struct xfs *f, const char *path, int create,
		       uint32_t mode, int *fd)
{
	*fd = -1;
	if (!f->at)
		return cpk_err_set(CPK_ERR_INTERNAL, "xfs_open_tmp: %s: not a "
				   "local destination", path);
	return xdst_open_tmp(f, path, create, mode, fd);
}
