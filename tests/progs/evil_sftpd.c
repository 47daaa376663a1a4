/*
 * An SFTP version 3 server for tests that serves the real file system
 * honestly (on stdin/stdout, as an sshd Subsystem) but lies as told:
 *
 *   evil_sftpd [--config FILE] [--log FILE] [OPTION...]
 *   --inject DIR=NAME      READDIR of DIR also lists NAME as a regular file
 *   --inject-dir DIR=NAME  ... as a directory
 *   --drop PATH            PATH vanishes (is unlinked) when first opened or
 *                          stat'ed, i.e. between its listing and its use
 *   --log FILE             appends "OP PATH" for every request naming a path
 * NAME is written with C escapes (\\ \" \n \t \r \0 \ooo \xHH), so it may
 * be empty or hold '/', a NUL or a newline.  FILE of --config holds the
 * same options, one per line without the dashes ("inject DIR=NAME"); '#'
 * starts a comment.  DIR is matched to OPENDIR's path exactly (trailing
 * slashes ignored).  Requests are checked: a short or malformed one gets
 * SSH_FX_BAD_MESSAGE; an unknown one SSH_FX_OP_UNSUPPORTED.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

enum {
	INIT = 1, VERSION, OPEN, CLOSE, READ, WRITE, LSTAT, FSTAT, SETSTAT,
	FSETSTAT, OPENDIR, READDIR, REMOVE, MKDIR, RMDIR, REALPATH, STAT,
	RENAME, READLINK, SYMLINK, EXTENDED = 200,
	STATUS = 101, HANDLE, DATA, NAME, ATTRS, EXT_REPLY = 201
};
enum { FX_OK, FX_EOF, FX_NO_SUCH_FILE, FX_PERM, FX_FAILURE, FX_BAD_MESSAGE,
       FX_OP_UNSUPPORTED = 8 };
#define A_SIZE 0x1
#define A_UIDGID 0x2
#define A_PERM 0x4
#define A_TIME 0x8
#define A_EXT 0x80000000u
#define MAX_PACKET (256 * 1024)
#define MAX_READ (64 * 1024)
#define NHANDLES 64

struct lie {
	char *dir;		/* where (NUL-terminated) */
	char *name;		/* what: NAMELEN bytes, NULs allowed */
	size_t namelen;
	int isdir;
};
static struct lie lies[64];
static size_t nlies;
static char *drops[64];
static size_t ndrops;
static FILE *logfp;

struct handle {
	int used, fd;
	DIR *d;
	char *path;
	int lied;		/* its injected names were sent */
};
static struct handle hs[NHANDLES];

/* ---- output ----------------------------------------------------------- */

static unsigned char out[MAX_PACKET + 1024];
static size_t olen;

static void o_u8(unsigned v) { if (olen < sizeof(out)) out[olen++] = (unsigned char)v; }
static void o_u32(uint32_t v) { for (int i = 3; i >= 0; i--) o_u8(v >> (8 * i)); }
static void o_u64(uint64_t v) { o_u32((uint32_t)(v >> 32)); o_u32((uint32_t)v); }
static void o_str(const void *p, size_t n)
{
	o_u32((uint32_t)n);
	if (n <= sizeof(out) - olen) {
		memcpy(out + olen, p, n);
		olen += n;
	}
}

static void begin(int type, uint32_t id)
{
	olen = 4;
	o_u8((unsigned)type);
	if (type != VERSION)
		o_u32(id);
}

static int send_packet(void)
{
	size_t off = 0;
	uint32_t len = (uint32_t)(olen - 4);

	out[0] = (unsigned char)(len >> 24);
	out[1] = (unsigned char)(len >> 16);
	out[2] = (unsigned char)(len >> 8);
	out[3] = (unsigned char)len;
	while (off < olen) {
		ssize_t w = write(1, out + off, olen - off);

		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			exit(1);
		}
		off += (size_t)w;
	}
	return 0;
}

static int status(uint32_t id, uint32_t code, const char *msg)
{
	begin(STATUS, id);
	o_u32(code);
	o_str(msg, strlen(msg));
	o_str("", 0);
	return send_packet();
}

static int errno_status(uint32_t id)
{
	int e = errno;

	return status(id, e == ENOENT || e == ENOTDIR ? FX_NO_SUCH_FILE :
		      e == EACCES || e == EPERM ? FX_PERM : FX_FAILURE,
		      strerror(e));
}

static void o_attrs(const struct stat *st)
{
	o_u32(A_SIZE | A_UIDGID | A_PERM | A_TIME);
	o_u64((uint64_t)st->st_size);
	o_u32(st->st_uid);
	o_u32(st->st_gid);
	o_u32(st->st_mode);
	o_u32((uint32_t)st->st_atime);
	o_u32((uint32_t)st->st_mtime);
}

/* ---- input: every read is bounds-checked; BAD sticks ------------------- */

struct in {
	const unsigned char *p;
	size_t n;
	int bad;
};

static uint32_t i_u32(struct in *r)
{
	uint32_t v;

	if (r->n < 4) {
		r->bad = 1;
		return 0;
	}
	v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->n -= 4;
	return v;
}

static uint64_t i_u64(struct in *r)
{
	uint64_t hi = i_u32(r);

	return hi << 32 | i_u32(r);
}

static const unsigned char *i_str(struct in *r, size_t *len)
{
	uint32_t n = i_u32(r);
	const unsigned char *s = r->p;

	if (r->bad || n > r->n) {
		r->bad = 1;
		*len = 0;
		return NULL;
	}
	r->p += n;
	r->n -= n;
	*len = n;
	return s;
}

/* A path: a string without NUL, copied into BUF (PATH_MAX). */
static const char *i_path(struct in *r, char *buf)
{
	size_t n;
	const unsigned char *s = i_str(r, &n);

	if (!s || n >= PATH_MAX || memchr(s, '\0', n)) {
		r->bad = 1;
		return NULL;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

/* Attributes: what to set (mode -1, times -1: not given). */
struct setattr {
	int64_t size;
	long mode;
	long long atime, mtime;
};

static void i_attrs(struct in *r, struct setattr *a)
{
	uint32_t f = i_u32(r), n;

	a->size = -1;
	a->mode = a->atime = a->mtime = -1;
	if (f & A_SIZE)
		a->size = (int64_t)(i_u64(r) & INT64_MAX);
	if (f & A_UIDGID)
		(void)i_u64(r);
	if (f & A_PERM)
		a->mode = i_u32(r) & 07777;
	if (f & A_TIME) {
		a->atime = i_u32(r);
		a->mtime = i_u32(r);
	}
	if (f & A_EXT)
		for (n = i_u32(r); n-- && !r->bad;) {
			size_t l;

			(void)i_str(r, &l);
			(void)i_str(r, &l);
		}
}

static struct handle *i_handle(struct in *r)
{
	size_t n;
	const unsigned char *s = i_str(r, &n);
	unsigned i;

	if (!s || n != 4)
		return NULL;
	i = (unsigned)s[0] << 24 | (unsigned)s[1] << 16 | (unsigned)s[2] << 8 | s[3];
	return i < NHANDLES && hs[i].used ? &hs[i] : NULL;
}

/* ---- the lies ----------------------------------------------------------- */

static void logit(const char *op, const char *path)
{
	if (logfp) {
		fprintf(logfp, "%s %s\n", op, path);
		fflush(logfp);
	}
}

/* PATH is to vanish: unlink it now (once). */
static void maybe_drop(const char *path)
{
	size_t i;

	for (i = 0; i < ndrops; i++)
		if (drops[i] && !strcmp(drops[i], path)) {
			(void)unlink(path);
			free(drops[i]);
			drops[i] = NULL;
		}
}

/* C escapes in S into a new string; *LEN its length. */
static char *unescape(const char *s, size_t *len)
{
	char *r = malloc(strlen(s) + 1), *w = r;

	if (!r)
		exit(1);
	while (*s) {
		if (*s != '\\' || !s[1]) {
			*w++ = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': *w++ = '\n'; s++; break;
		case 't': *w++ = '\t'; s++; break;
		case 'r': *w++ = '\r'; s++; break;
		case 'x': {
			unsigned v = 0, k;

			for (k = 0, s++; k < 2 && isxdigit((unsigned char)*s); k++, s++)
				v = v * 16 + (unsigned)(*s <= '9' ? *s - '0' :
							(*s | 0x20) - 'a' + 10);
			*w++ = (char)v;
			break;
		}
		default:
			if (*s >= '0' && *s <= '7') {
				unsigned v = 0, k;

				for (k = 0; k < 3 && *s >= '0' && *s <= '7'; k++, s++)
					v = v * 8 + (unsigned)(*s - '0');
				*w++ = (char)v;
			} else {
				*w++ = *s++;	/* \\ \" and the rest */
			}
		}
	}
	*len = (size_t)(w - r);
	return r;
}

static void strip_slashes(char *p)
{
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
}

/* One option (without dashes): "inject DIR=NAME" and the like. */
static int option(const char *key, const char *val)
{
	if (!strcmp(key, "inject") || !strcmp(key, "inject-dir")) {
		const char *eq = val ? strchr(val, '=') : NULL;
		struct lie *l = &lies[nlies];

		if (!eq || nlies == sizeof(lies) / sizeof(lies[0]))
			return -1;
		l->dir = strndup(val, (size_t)(eq - val));
		if (!l->dir)
			exit(1);
		strip_slashes(l->dir);
		l->name = unescape(eq + 1, &l->namelen);
		l->isdir = !strcmp(key, "inject-dir");
		nlies++;
	} else if (!strcmp(key, "drop") && val &&
		   ndrops < sizeof(drops) / sizeof(drops[0])) {
		if (!(drops[ndrops++] = strdup(val)))
			exit(1);
	} else if (!strcmp(key, "log") && val) {
		if (!(logfp = fopen(val, "a")))
			return -1;
	} else if (!strcmp(key, "config") && val) {
		char line[4096];
		FILE *f = fopen(val, "r");

		if (!f)
			return -1;
		while (fgets(line, sizeof(line), f)) {
			char *sp;

			line[strcspn(line, "\n")] = '\0';
			if (!*line || *line == '#')
				continue;
			if ((sp = strchr(line, ' ')))
				*sp++ = '\0';
			if (option(line, sp) != 0) {
				fclose(f);
				return -1;
			}
		}
		fclose(f);
	} else {
		return -1;
	}
	return 0;
}

/* ---- requests ------------------------------------------------------------ */

static int new_handle(int fd, DIR *d, const char *path)
{
	int i;

	for (i = 0; i < NHANDLES; i++)
		if (!hs[i].used) {
			hs[i].used = 1;
			hs[i].fd = fd;
			hs[i].d = d;
			hs[i].lied = 0;
			if (!(hs[i].path = strdup(path)))
				exit(1);
			return i;
		}
	return -1;
}

static int send_handle(uint32_t id, int i)
{
	begin(HANDLE, id);
	o_u32(4);
	o_u32((uint32_t)i);
	return send_packet();
}

static int send_names(uint32_t id, struct handle *h)
{
	size_t count = 0, i, at;
	struct dirent *de;
	struct stat st;

	begin(NAME, id);
	at = olen;
	o_u32(0);
	if (!h->lied) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", h->path);
		strip_slashes(dir);
		for (i = 0; i < nlies; i++) {
			if (strcmp(lies[i].dir, dir))
				continue;
			memset(&st, 0, sizeof(st));
			st.st_mode = lies[i].isdir ? S_IFDIR | 0755 : S_IFREG | 0644;
			st.st_size = lies[i].isdir ? 0 : 5;
			st.st_mtime = st.st_atime = 1400000000;
			o_str(lies[i].name, lies[i].namelen);
			o_str(lies[i].name, lies[i].namelen);
			o_attrs(&st);
			count++;
		}
		h->lied = 1;
	}
	while (count < 100 && olen < MAX_PACKET / 2 && (de = readdir(h->d))) {
		if (fstatat(dirfd(h->d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		o_str(de->d_name, strlen(de->d_name));
		o_str(de->d_name, strlen(de->d_name));
		o_attrs(&st);
		count++;
	}
	if (!count)
		return status(id, FX_EOF, "end of directory");
	out[at] = (unsigned char)(count >> 24);
	out[at + 1] = (unsigned char)(count >> 16);
	out[at + 2] = (unsigned char)(count >> 8);
	out[at + 3] = (unsigned char)count;
	return send_packet();
}

static int set_attrs(const char *path, int fd, const struct setattr *a)
{
	struct timeval tv[2];

	if (a->size >= 0 && (fd >= 0 ? ftruncate(fd, a->size) : truncate(path, a->size)) < 0)
		return -1;
	if (a->mode >= 0 && (fd >= 0 ? fchmod(fd, (mode_t)a->mode) :
			     chmod(path, (mode_t)a->mode)) < 0)
		return -1;
	if (a->mtime >= 0) {
		tv[0].tv_sec = (time_t)a->atime;
		tv[1].tv_sec = (time_t)a->mtime;
		tv[0].tv_usec = tv[1].tv_usec = 0;
		if ((fd >= 0 ? futimes(fd, tv) : utimes(path, tv)) < 0)
			return -1;
	}
	return 0;
}

static int extended(uint32_t id, struct in *r)
{
	char a[PATH_MAX], b[PATH_MAX];
	size_t n;
	const unsigned char *what = i_str(r, &n);
	struct handle *h;

#define IS(lit) (what && n == sizeof(lit) - 1 && !memcmp(what, lit, n))
	if (IS("posix-rename@openssh.com")) {
		if (!i_path(r, a) || !i_path(r, b))
			return status(id, FX_BAD_MESSAGE, "bad request");
		logit("RENAME", a);
		if (rename(a, b) < 0)
			return errno_status(id);
		return status(id, FX_OK, "ok");
	} else if (IS("limits@openssh.com")) {
		begin(EXT_REPLY, id);
		o_u64(MAX_PACKET);
		o_u64(MAX_READ);
		o_u64(MAX_READ);
		o_u64(NHANDLES);
		return send_packet();
	} else if (IS("fsync@openssh.com")) {
		if (!(h = i_handle(r)) || h->fd < 0)
			return status(id, FX_FAILURE, "bad handle");
		if (fsync(h->fd) < 0)
			return errno_status(id);
		return status(id, FX_OK, "ok");
	}
#undef IS
	return status(id, r->bad ? FX_BAD_MESSAGE : FX_OP_UNSUPPORTED,
		      "unsupported");
}

static int request(int type, uint32_t id, struct in *r)
{
	static unsigned char buf[MAX_READ];
	char a[PATH_MAX], b[PATH_MAX];
	struct setattr sa;
	struct handle *h = NULL;
	struct stat st;
	const unsigned char *data;
	uint64_t off;
	size_t n;
	uint32_t fl;
	ssize_t got;
	int fd, i;

	switch (type) {
	case OPEN:
		if (!i_path(r, a))
			break;
		fl = i_u32(r);
		i_attrs(r, &sa);
		if (r->bad)
			break;
		logit("OPEN", a);
		maybe_drop(a);
		fd = open(a, ((fl & 3) == 3 ? O_RDWR : (fl & 2) ? O_WRONLY : O_RDONLY) |
			  (fl & 4 ? O_APPEND : 0) | (fl & 8 ? O_CREAT : 0) |
			  (fl & 0x10 ? O_TRUNC : 0) | (fl & 0x20 ? O_EXCL : 0) |
			  O_CLOEXEC, sa.mode >= 0 ? (mode_t)sa.mode : 0644);
		if (fd < 0)
			return errno_status(id);
		if ((i = new_handle(fd, NULL, a)) < 0) {
			close(fd);
			return status(id, FX_FAILURE, "too many handles");
		}
		return send_handle(id, i);
	case OPENDIR:
		if (!i_path(r, a))
			break;
		logit("OPENDIR", a);
		{
			DIR *d = opendir(a);

			if (!d)
				return errno_status(id);
			if ((i = new_handle(-1, d, a)) < 0) {
				closedir(d);
				return status(id, FX_FAILURE, "too many handles");
			}
		}
		return send_handle(id, i);
	case CLOSE:
	case READ:
	case WRITE:
	case FSTAT:
	case FSETSTAT:
	case READDIR:
		if (!(h = i_handle(r)))
			return status(id, r->bad ? FX_BAD_MESSAGE : FX_FAILURE,
				      "bad handle");
		if (type == CLOSE) {
			if (h->d)
				closedir(h->d);
			else
				close(h->fd);
			free(h->path);
			memset(h, 0, sizeof(*h));
			return status(id, FX_OK, "ok");
		}
		if (type == READDIR)
			return h->d ? send_names(id, h) :
			       status(id, FX_FAILURE, "not a directory handle");
		if (h->fd < 0)
			return status(id, FX_FAILURE, "not a file handle");
		if (type == FSTAT) {
			if (fstat(h->fd, &st) < 0)
				return errno_status(id);
			begin(ATTRS, id);
			o_attrs(&st);
			return send_packet();
		}
		if (type == FSETSTAT) {
			i_attrs(r, &sa);
			if (r->bad)
				break;
			return set_attrs(NULL, h->fd, &sa) < 0 ? errno_status(id) :
			       status(id, FX_OK, "ok");
		}
		off = i_u64(r);
		if (type == READ) {
			fl = i_u32(r);
			if (r->bad)
				break;
			got = pread(h->fd, buf, fl < MAX_READ ? fl : MAX_READ,
				    (off_t)(off & INT64_MAX));
			if (got < 0)
				return errno_status(id);
			if (!got)
				return status(id, FX_EOF, "end of file");
			begin(DATA, id);
			o_str(buf, (size_t)got);
			return send_packet();
		}
		if (!(data = i_str(r, &n)))
			break;
		for (size_t done = 0; done < n; done += (size_t)got)
			if ((got = pwrite(h->fd, data + done, n - done,
					  (off_t)((off + done) & INT64_MAX))) <= 0)
				return errno_status(id);
		return status(id, FX_OK, "ok");
	case LSTAT:
	case STAT:
		if (!i_path(r, a))
			break;
		logit(type == STAT ? "STAT" : "LSTAT", a);
		maybe_drop(a);
		if ((type == STAT ? stat(a, &st) : lstat(a, &st)) < 0)
			return errno_status(id);
		begin(ATTRS, id);
		o_attrs(&st);
		return send_packet();
	case SETSTAT:
		if (!i_path(r, a))
			break;
		i_attrs(r, &sa);
		if (r->bad)
			break;
		logit("SETSTAT", a);
		return set_attrs(a, -1, &sa) < 0 ? errno_status(id) :
		       status(id, FX_OK, "ok");
	case MKDIR:
		if (!i_path(r, a))
			break;
		i_attrs(r, &sa);
		if (r->bad)
			break;
		logit("MKDIR", a);
		return mkdir(a, sa.mode >= 0 ? (mode_t)sa.mode : 0777) < 0 ?
		       errno_status(id) : status(id, FX_OK, "ok");
	case REMOVE:
	case RMDIR:
		if (!i_path(r, a))
			break;
		logit(type == REMOVE ? "REMOVE" : "RMDIR", a);
		return (type == REMOVE ? unlink(a) : rmdir(a)) < 0 ?
		       errno_status(id) : status(id, FX_OK, "ok");
	case RENAME:
	case SYMLINK:
		if (!i_path(r, a) || !i_path(r, b))
			break;
		logit(type == RENAME ? "RENAME" : "SYMLINK", a);
		/* SYMLINK: OpenSSH's order, target first */
		if (type == RENAME ? (access(b, F_OK) == 0 ? (errno = EEXIST, -1) :
				      rename(a, b)) : symlink(a, b))
			return errno_status(id);
		return status(id, FX_OK, "ok");
	case REALPATH:
	case READLINK:
		if (!i_path(r, a))
			break;
		logit(type == REALPATH ? "REALPATH" : "READLINK", a);
		if (type == REALPATH ? !realpath(*a ? a : ".", b) :
		    (got = readlink(a, b, sizeof(b) - 1)) < 0)
			return errno_status(id);
		if (type == READLINK)
			b[got] = '\0';
		begin(NAME, id);
		o_u32(1);
		o_str(b, strlen(b));
		o_str(b, strlen(b));
		o_u32(0);
		return send_packet();
	case EXTENDED:
		return extended(id, r);
	default:
		return status(id, FX_OP_UNSUPPORTED, "unsupported");
	}
	return status(id, FX_BAD_MESSAGE, "bad request");
}

/* Exactly N bytes of stdin into P; 0 at its end. */
static int read_full(unsigned char *p, size_t n)
{
	while (n) {
		ssize_t got = read(0, p, n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return 0;
		p += got;
		n -= (size_t)got;
	}
	return 1;
}

int main(int argc, char **argv)
{
	static unsigned char pkt[MAX_PACKET];
	unsigned char hdr[4];
	int i;

	for (i = 1; i < argc; i++) {
		const char *k = argv[i];

		if (strncmp(k, "--", 2) || i + 1 == argc ||
		    option(k + 2, argv[i + 1]) != 0) {
			fprintf(stderr, "evil_sftpd: bad option %s\n", k);
			return 2;
		}
		i++;
	}
	while (read_full(hdr, 4)) {
		uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
			       (uint32_t)hdr[2] << 8 | hdr[3];
		struct in r;
		uint32_t id;
		int type;

		if (len > MAX_PACKET || len < 1 || !read_full(pkt, len))
			return 1;	/* no way to resynchronise */
		r.p = pkt + 1;
		r.n = len - 1;
		r.bad = 0;
		type = pkt[0];
		if (type == INIT) {
			begin(VERSION, 0);
			o_u32(3);
			o_str("posix-rename@openssh.com", 24);
			o_str("1", 1);
			o_str("limits@openssh.com", 18);
			o_str("1", 1);
			o_str("fsync@openssh.com", 17);
			o_str("1", 1);
			send_packet();
			continue;
		}
		id = i_u32(&r);
		if (r.bad) {
			status(0, FX_BAD_MESSAGE, "short packet");
			continue;
		}
		request(type, id, &r);
	}
	return 0;
}
