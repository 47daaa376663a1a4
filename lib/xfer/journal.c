/*
 * The resume journal: a header naming the transfer, then one line per
 * planned segment and per finished chunk or file, appended and fsync'ed.
 * Read back a line at a time: what is kept is a bit per entry and the
 * chunks of unfinished big files.  See xfer_priv.h.
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

#define MAGIC "cpk-journal 2\n"

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
		      unsigned parts, size_t seg)
{
	struct cpk_buf b = CPK_BUF_INIT;
	size_t i;

	cpk_buf_addstr(&b, MAGIC);
	cpk_buf_addf(&b, "direction %s\n", dir == CPK_XFER_PUT ? "put" : "get");
	for (i = 0; i < nsrc; i++) {
		cpk_buf_addstr(&b, "source ");
		add_escaped(&b, srcs[i]);
		cpk_buf_addch(&b, '\n');
	}
	cpk_buf_addstr(&b, "dest ");
	add_escaped(&b, dst);
	cpk_buf_addf(&b, "\nchunk %llu %llu parts %u\nsegment %zu\n.\n",
		     (unsigned long long)cmin, (unsigned long long)cmax,
		     parts ? parts : XPLAN_PARTS, seg ? seg : XPLAN_SEG_FILES);
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

void xresume_release(struct xresume *r)
{
	if (!r)
		return;
	free(r->segs);
	free(r->fdone);
	free(r->chunks);
	memset(r, 0, sizeof(*r));
}

/* Whether file G is finished: the ranges are sorted and disjoint (after
 * merge_fdone()). */
static int fdone(const struct xresume *r, uint64_t g)
{
	size_t lo = 0, hi = r->nfdone;

	while (lo < hi) {	/* the first range ending past G */
		size_t mid = lo + (hi - lo) / 2;

		if (r->fdone[mid].hi <= g)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nfdone && r->fdone[lo].lo <= g;
}

/* Records file G as finished: it extends the last range or starts one, so
 * the ranges take at most one per record, whatever the numbers. */
static int set_fdone(struct xresume *r, uint64_t g)
{
	struct xrange *v;

	if (r->nfdone) {
		v = &r->fdone[r->nfdone - 1];
		if (g >= v->lo && g <= v->hi) {
			if (g == v->hi)
				v->hi++;
			return 0;
		}
	}
	if (r->nfdone == r->capfdone) {
		size_t nc = r->capfdone ? r->capfdone * 2 : 64;

		if (!(v = cpk_reallocarray(r->fdone, nc, sizeof(*v))))
			return -1;
		r->fdone = v;
		r->capfdone = nc;
	}
	r->fdone[r->nfdone].lo = g;
	r->fdone[r->nfdone++].hi = g + 1;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct xrange *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts the ranges and joins those that touch or overlap. */
static void merge_fdone(struct xresume *r)
{
	size_t i, k = 0;

	if (!r->nfdone)
		return;
	qsort(r->fdone, r->nfdone, sizeof(*r->fdone), cmp_range);
	for (i = 1; i < r->nfdone; i++) {
		struct xrange *last = &r->fdone[k];

		if (r->fdone[i].lo <= last->hi) {
			if (r->fdone[i].hi > last->hi)
				last->hi = r->fdone[i].hi;
		} else {
			r->fdone[++k] = r->fdone[i];
		}
	}
	r->nfdone = k + 1;
}

/* One record into LINE (CAP bytes, NUL-terminated): its length with the
 * newline (none on a torn last line), 0 at the end, -1 if it is longer than
 * any record. */
static ssize_t read_rec(FILE *f, char *line, size_t cap)
{
	size_t n = 0;
	int c;

	while ((c = getc_unlocked(f)) != EOF) {
		if (n + 1 >= cap)
			return -1;
		line[n++] = (char)c;
		if (c == '\n')
			break;
	}
	line[n] = '\0';
	return (ssize_t)n;
}

static int cmp_chunk(const void *a, const void *b)
{
	const struct xrchunk *x = a, *y = b;

	if (x->g != y->g)
		return x->g < y->g ? -1 : 1;
	return x->c < y->c ? -1 : x->c > y->c;
}

/* One pass over the records of F (just past the header).  PASS 1: the
 * segments (of at most SEGMAX entries) and finished files; PASS 2: the
 * chunks of files not finished. */
static cpk_err_t load_pass(FILE *f, long start, int pass, uint64_t segmax,
			   struct xresume *r)
{
	char line[XJOURNAL_LINE];
	const char *why = "not a record";
	ssize_t len;
	long at = start;
	uint64_t end = 0;	/* entries the recorded segments cover */
	cpk_err_t err = CPK_OK;

	if (fseek(f, start, SEEK_SET) != 0)
		return cpk_err_sys("cannot read the journal");
	if (pass == 2 && r->nsegs)
		end = r->segs[r->nsegs - 1].base + r->segs[r->nsegs - 1].n;
	while ((len = read_rec(f, line, sizeof(line))) != 0) {
		unsigned long long g, c, k, n;
		const char *q = line + 2;

		why = "not a record";
		if (len < 0) {
			why = "longer than any record";
			goto bad;
		}
		if (line[len - 1] != '\n')
			break;	/* a torn last line: the work is redone */
		if (len < 4 || line[1] != ' ')
			goto bad;
		if (line[0] == 'S') {
			struct xseg *v;

			if (parse_u(&q, ' ', &k) || parse_u(&q, ' ', &g) ||
			    parse_u(&q, ' ', &n) || strlen(q) != 65 ||
			    q[64] != '\n')
				goto bad;
			if (n > segmax) {
				why = "a segment bigger than the header's";
				goto bad;
			}
			if (pass == 2)
				goto next;
			if (k != r->nsegs || g != end) {
				why = "not the next segment";
				goto bad;
			}
			if (!(v = cpk_reallocarray(r->segs, r->nsegs + 1,
						   sizeof(*v)))) {
				err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
				break;
			}
			r->segs = v;
			v += r->nsegs++;
			v->base = g;
			v->n = (size_t)n;
			memcpy(v->hex, q, 64);
			v->hex[64] = '\0';
			end = g + n;
		} else if (line[0] == 'F') {
			if (parse_u(&q, '\n', &g))
				goto bad;
			if (g >= end) {
				why = "a file past the recorded segments";
				goto bad;
			}
			if (pass == 1 && set_fdone(r, g) < 0) {
				err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
				break;
			}
		} else if (line[0] == 'C') {
			if (parse_u(&q, ' ', &g) || parse_u(&q, '\n', &c))
				goto bad;
			if (g >= end || c > UINT32_MAX) {
				why = g >= end ? "a file past the recorded "
					"segments" : "a chunk number too big";
				goto bad;
			}
			if (pass == 2 && !fdone(r, g)) {
				struct xrchunk *v;

				if (r->nchunks == r->capchunks) {
					size_t nc = r->capchunks ?
						    r->capchunks * 2 : 64;

					if (!(v = cpk_reallocarray(r->chunks, nc,
								   sizeof(*v)))) {
						err = cpk_err_set(CPK_ERR_NOMEM,
								  "out of memory");
						break;
					}
					r->chunks = v;
					r->capchunks = nc;
				}
				r->chunks[r->nchunks].g = g;
				r->chunks[r->nchunks++].c = (uint32_t)c;
			}
		} else if (line[0] == 'D') {
			/* how the destination resolved: once, "D dir" (the
			 * sources go into it) or "D name" (copied to it) */
			if (strcmp(q, "dir\n") && strcmp(q, "name\n")) {
				why = "not a destination kind";
				goto bad;
			}
			if (pass == 1 && r->dst_pin) {
				why = "a second destination kind";
				goto bad;
			}
			if (pass == 1)
				r->dst_pin = *q == 'd' ? 'd' : 'n';
			goto next;
		} else if (line[0] == 'K') {
			/* the temporary names' token: once, 16 lowercase hex */
			if (len != 2 + XPLAN_TOKEN_LEN + 1 ||
			    strspn(q, "0123456789abcdef") != XPLAN_TOKEN_LEN) {
				why = "not a token";
				goto bad;
			}
			if (pass == 1 && r->token[0]) {
				why = "a second token";
				goto bad;
			}
			if (pass == 1)
				memcpy(r->token, q, XPLAN_TOKEN_LEN + 1);
			r->token[XPLAN_TOKEN_LEN] = '\0';
			goto next;
		} else {
			goto bad;
		}
		if (pass == 1)
			r->records++;
next:
		at += (long)len;
	}
	if (!err && pass == 1)
		merge_fdone(r);
	if (!err && pass == 2 && r->nchunks)
		qsort(r->chunks, r->nchunks, sizeof(*r->chunks), cmp_chunk);
	return err;
bad:
	return cpk_err_set(CPK_ERR_INVALID, "damaged record at byte %ld: %s",
			   at, why);
}

/* The "segment N" of HEADER: the most entries a segment may have. */
static uint64_t header_segmax(const char *header)
{
	const char *p = strstr(header, "\nsegment ");
	unsigned long long v;

	if (!p || sscanf(p, "\nsegment %llu\n", &v) != 1 || !v)
		return XPLAN_SEG_FILES;
	return v;
}

cpk_err_t xresume_load(FILE *f, const char *header, struct xresume *r)
{
	size_t hl = strlen(header), got;
	char *buf;
	cpk_err_t err;

	memset(r, 0, sizeof(*r));
	if (!(buf = malloc(hl ? hl : 1)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	got = fread(buf, 1, hl, f);
	if (got != hl || memcmp(buf, header, hl)) {
		free(buf);
		return cpk_err_set(CPK_ERR_INVALID, "it describes another "
				   "transfer (other sources, destination, "
				   "chunk sizes, or the files changed since)");
	}
	free(buf);
	if ((err = load_pass(f, (long)hl, 1, header_segmax(header), r)) != 0 ||
	    (err = load_pass(f, (long)hl, 2, header_segmax(header), r)) != 0)
		xresume_release(r);
	return err;
}

cpk_err_t xjournal_segment(struct xjournal *j, const struct xresume *r,
			   unsigned k, struct xplan *p)
{
	char hex[65], rec[128];
	const struct xseg *sg;
	size_t lo, hi, i;
	int len;
	char why[160];

	xplan_digest(p, hex);
	if (!r || k >= r->nsegs) {
		if (!j || j->fd < 0)
			return CPK_OK;
		len = snprintf(rec, sizeof(rec), "S %u %llu %zu %s\n", k,
			       (unsigned long long)p->base, p->n, hex);
		return xjournal_append(j, rec, (size_t)len);
	}
	sg = &r->segs[k];
	if (sg->base != p->base || sg->n != p->n || strcmp(sg->hex, hex))
		return cpk_err_set(CPK_ERR_INVALID, "cannot resume from %s: it "
				   "describes another transfer (other sources, "
				   "destination, chunk sizes, or the files "
				   "changed since; remove it to start afresh)",
				   j && j->path ? j->path : "the journal");
	for (i = 0; i < p->n; i++) {
		struct xent *e = &p->e[i];

		if (!fdone(r, p->base + i))
			continue;
		if (e->st.type != XT_FILE) {
			snprintf(why, sizeof(why), "\"F %llu\" names %s, not a "
				 "file", (unsigned long long)(p->base + i),
				 e->rel ? e->rel : "an entry");
			goto bad;
		}
		e->done = 1;
		e->left = 0;
	}
	/* the first chunk record of this segment's entries */
	lo = 0;
	hi = r->nchunks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->chunks[mid].g < p->base)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < r->nchunks && r->chunks[i].g < p->base + p->n; i++) {
		struct xent *e = &p->e[r->chunks[i].g - p->base];
		uint32_t c = r->chunks[i].c;

		if (e->st.type != XT_FILE || !e->cdone || c >= e->nchunks) {
			snprintf(why, sizeof(why), "\"C %llu %u\" names a chunk "
				 "that %s does not have",
				 (unsigned long long)r->chunks[i].g, c,
				 e->rel ? e->rel : "its entry");
			goto bad;
		}
		if (!e->cdone[c]) {
			e->cdone[c] = 1;
			e->left--;
		}
	}
	return CPK_OK;
bad:
	return cpk_err_set(CPK_ERR_INVALID, "cannot resume from %s: a damaged "
			   "record: %s (remove it to start afresh)",
			   j && j->path ? j->path : "the journal", why);
}

cpk_err_t xjournal_open(struct xjournal *j, const char *path,
			const char *header, struct xresume *r)
{
	FILE *f;
	cpk_err_t err;

	memset(r, 0, sizeof(*r));
	j->fd = -1;
	if (!(j->path = cpk_strdup(path)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if ((f = fopen(path, "re")) != NULL) {
		int empty = fgetc(f) == EOF;

		rewind(f);
		err = empty ? CPK_OK : xresume_load(f, header, r);
		fclose(f);
		if (err) {
			char why[256];

			snprintf(why, sizeof(why), "%s", cpk_errmsg());
			return cpk_err_set(err, "cannot resume from %s: %s "
					   "(remove it to start afresh)", path,
					   why);
		}
		if (!empty) {
			j->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
			if (j->fd < 0)
				return cpk_err_sys("cannot open the journal %s",
						   path);
			return CPK_OK;
		}
	} else if (errno != ENOENT) {
		return cpk_err_sys("cannot read the journal %s", path);
	}
	j->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
		     0600);
	if (j->fd < 0)
		return cpk_err_sys("cannot create the journal %s", path);
	return xjournal_append(j, header, strlen(header));
}

cpk_err_t xjournal_token(struct xjournal *j, const struct xresume *r,
			 char token[XPLAN_TOKEN_LEN + 1])
{
	char rec[8 + XPLAN_TOKEN_LEN];
	int len;

	if (r->token[0]) {
		memcpy(token, r->token, XPLAN_TOKEN_LEN + 1);
		return CPK_OK;
	}
	len = snprintf(rec, sizeof(rec), "K %s\n", token);
	return xjournal_append(j, rec, (size_t)len);
}

int xresume_dst_dir(const struct xresume *r)
{
	return r->dst_pin ? r->dst_pin == 'd' : -1;
}

cpk_err_t xjournal_dst_dir(struct xjournal *j, int dst_dir)
{
	return dst_dir ? xjournal_append(j, "D dir\n", 6) :
			 xjournal_append(j, "D name\n", 7);
}

int xjournal_layout(const char *path, unsigned *parts, size_t *seg)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned long long a, b, v;
	unsigned pa = 0;
	size_t sg = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	/* the header's "chunk MIN MAX parts N" and "segment N" lines
	 * (sources come before them, escaped: none starts a line with
	 * "chunk " or "segment ") */
	while (getline(&line, &cap, f) > 0 && strcmp(line, ".\n")) {
		if (sscanf(line, "chunk %llu %llu parts %llu\n", &a, &b, &v) == 3 &&
		    v >= 1 && v <= 1u << 20)
			pa = (unsigned)v;
		else if (sscanf(line, "segment %llu\n", &v) == 1 && v >= 1 &&
			 v <= 1u << 30)
			sg = (size_t)v;
	}
	free(line);
	fclose(f);
	if (!pa || !sg)
		return 0;
	*parts = pa;
	*seg = sg;
	return 1;
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
