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

static int fdone(const struct xresume *r, uint64_t g)
{
	return g < r->nbits && (r->fdone[g / 8] >> (g % 8) & 1);
}

static int set_fdone(struct xresume *r, uint64_t g)
{
	if (g >= r->nbits) {
		uint64_t bits = r->nbits ? r->nbits : 8192;
		unsigned char *v;

		while (bits <= g)
			bits *= 2;
		if (!(v = realloc(r->fdone, bits / 8)))
			return -1;
		memset(v + r->nbits / 8, 0, (bits - r->nbits) / 8);
		r->fdone = v;
		r->nbits = bits;
	}
	r->fdone[g / 8] |= (unsigned char)(1u << (g % 8));
	return 0;
}

static int cmp_chunk(const void *a, const void *b)
{
	const struct xrchunk *x = a, *y = b;

	if (x->g != y->g)
		return x->g < y->g ? -1 : 1;
	return x->c < y->c ? -1 : x->c > y->c;
}

/* One pass over the records of F (just past the header).  PASS 1: the
 * segments and finished files; PASS 2: the chunks of files not finished. */
static cpk_err_t load_pass(FILE *f, long start, int pass, struct xresume *r)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long at = start;
	uint64_t end = 0;	/* entries the recorded segments cover */
	cpk_err_t err = CPK_OK;

	if (fseek(f, start, SEEK_SET) != 0)
		return cpk_err_sys("cannot read the journal");
	if (pass == 2 && r->nsegs)
		end = r->segs[r->nsegs - 1].base + r->segs[r->nsegs - 1].n;
	while ((len = getline(&line, &cap, f)) > 0) {
		unsigned long long g, c, k, n;
		const char *q = line + 2;

		if (line[len - 1] != '\n')
			break;	/* a torn last line: the work is redone */
		if (len < 4 || line[1] != ' ')
			goto bad;
		if (line[0] == 'S') {
			struct xseg *v;

			if (parse_u(&q, ' ', &k) || parse_u(&q, ' ', &g) ||
			    parse_u(&q, ' ', &n) || strlen(q) != 65 ||
			    q[64] != '\n' || n > SIZE_MAX)
				goto bad;
			if (pass == 2)
				goto next;
			if (k != r->nsegs || g != end)
				goto bad;
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
			if (parse_u(&q, '\n', &g) || g >= end)
				goto bad;
			if (pass == 1 && set_fdone(r, g) < 0) {
				err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
				break;
			}
		} else if (line[0] == 'C') {
			if (parse_u(&q, ' ', &g) || parse_u(&q, '\n', &c) ||
			    g >= end || c > UINT32_MAX)
				goto bad;
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
		} else {
			goto bad;
		}
		if (pass == 1)
			r->records++;
next:
		at += (long)len;
	}
	free(line);
	if (!err && pass == 2 && r->nchunks)
		qsort(r->chunks, r->nchunks, sizeof(*r->chunks), cmp_chunk);
	return err;
bad:
	free(line);
	return cpk_err_set(CPK_ERR_INVALID, "damaged record at byte %ld", at);
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
	if ((err = load_pass(f, (long)hl, 1, r)) != 0 ||
	    (err = load_pass(f, (long)hl, 2, r)) != 0)
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
		if (e->st.type != XT_FILE)
			goto bad;
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

		if (e->st.type != XT_FILE || !e->cdone || c >= e->nchunks)
			goto bad;
		if (!e->cdone[c]) {
			e->cdone[c] = 1;
			e->left--;
		}
	}
	return CPK_OK;
bad:
	return cpk_err_set(CPK_ERR_INVALID, "cannot resume from %s: a damaged "
			   "record (remove it to start afresh)",
			   j && j->path ? j->path : "the journal");
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
