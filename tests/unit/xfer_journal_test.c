/* Unit tests of the resume journal: header, segment and work records, torn
 * and bad lines, records applied segment by segment. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpk/xfer.h"
#include "../../lib/xfer/xfer_priv.h"
#include "tap.h"

#define MiB (1024ULL * 1024)

/* Segment 0: a dir, a 5 MiB file, a small file; segment 1 (BASE 3): two
 * small files (SEG 2: a 5 MiB file and a small one). */
static void make_plan(struct xplan *p, int seg, uint64_t mtime)
{
	struct xstat big = { XT_FILE, 5 * MiB, 0644, 1, 0 };
	struct xstat small = { XT_FILE, 10, 0600, 1, 0 };
	struct xstat dir = { XT_DIR, 0, 0755, 1, 1 };

	big.mtime = (uint32_t)mtime;
	memset(p, 0, sizeof(*p));
	if (seg == 0) {
		xplan_add(p, strdup("src"), strdup("/d/src"), strdup("src"), &dir,
			  NULL);
		xplan_add(p, strdup("src/big"), strdup("/d/src/big"),
			  strdup("src/big"), &big, NULL);
		xplan_add(p, strdup("src/a b"), strdup("/d/src/a b"),
			  strdup("src/a b"), &small, NULL);
	} else if (seg == 2) {	/* another segment 1: a big file first */
		p->base = 3;
		xplan_add(p, strdup("src/e"), strdup("/d/src/e"), strdup("src/e"),
			  &big, NULL);
		xplan_add(p, strdup("src/f"), strdup("/d/src/f"), strdup("src/f"),
			  &small, NULL);
	} else {
		p->base = 3;
		xplan_add(p, strdup("src/c"), strdup("/d/src/c"), strdup("src/c"),
			  &small, NULL);
		xplan_add(p, strdup("src/d"), strdup("/d/src/d"), strdup("src/d"),
			  &small, NULL);
	}
	xplan_tasks(p, 1 * MiB, 1 * MiB, 2);
}

/* The "S" record of segment SEG as planned by make_plan(). */
static void seg_rec(char *out, size_t n, int seg, uint64_t mtime)
{
	struct xplan p;
	char hex[65];

	make_plan(&p, seg, mtime);
	xplan_digest(&p, hex);
	snprintf(out, n, "S %d %d %d %s\n", seg, seg ? 3 : 0, seg ? 2 : 3, hex);
	xplan_release(&p);
}

static cpk_err_t load(const char *txt, const char *h, struct xresume *r)
{
	FILE *f = fmemopen((void *)txt, strlen(txt), "r");
	cpk_err_t err = xresume_load(f, h, r);

	fclose(f);
	return err;
}

int main(void)
{
	const char *srcs[] = { "src dir/x%y" };
	struct xplan p, q;
	struct xresume r;
	struct xjournal j;
	char *h, *h2, path[] = "/tmp/cpk-journal-test.XXXXXX";
	char txt[4096], s0[128], s1[128], s0b[128];
	unsigned parts;
	size_t seg;
	int fd;

	h = xjournal_header(CPK_XFER_PUT, srcs, 1, "/d", MiB, MiB, 0, 0);
	ok(h && !strncmp(h, "cpk-journal 2\ndirection put\nsource src%20dir/x%25y\n",
			 51), "header names the direction and escaped sources");
	ok(h && strstr(h, "\nchunk 1048576 1048576 parts 16\nsegment 16384\n.\n"),
	   "header names the chunking and the segment size");
	h2 = xjournal_header(CPK_XFER_PUT, srcs, 1, "/d", MiB, MiB, 0, 100);
	ok(strcmp(h, h2) != 0, "another segment size: another header");
	free(h2);
	seg_rec(s0, sizeof(s0), 0, 100);
	seg_rec(s1, sizeof(s1), 1, 100);
	seg_rec(s0b, sizeof(s0b), 0, 101);
	ok(strcmp(s0, s0b) != 0, "a changed mtime changes the segment's digest");

	/* records of two segments; a torn last line */
	snprintf(txt, sizeof(txt), "%s%sC 1 0\nC 1 3\nC 1 3\nF 2\n%sF 4\nC 1 4",
		 h, s0, s1);
	ok(load(txt, h, &r) == CPK_OK, "records loaded: %s", cpk_errmsg());
	is_int((long long)r.records, 7, "seven whole records (the torn one "
	       "ignored)");
	is_int((long long)r.nsegs, 2, "two segments");
	make_plan(&p, 0, 100);
	ok(xjournal_segment(NULL, &r, 0, &p) == CPK_OK, "segment 0 applies");
	is_int(p.e[1].nchunks, 5, "5 MiB in 1 MiB chunks");
	ok(p.e[1].cdone[0] && p.e[1].cdone[3] && !p.e[1].cdone[4] &&
	   !p.e[1].cdone[1], "chunks 0 and 3 done, 4 (torn) not");
	is_int(p.e[1].left, 3, "a repeated record counts once");
	ok(p.e[2].done && !p.e[1].done, "the small file done, the big not");
	xplan_release(&p);
	make_plan(&p, 1, 100);
	ok(xjournal_segment(NULL, &r, 1, &p) == CPK_OK, "segment 1 applies");
	ok(!p.e[0].done && p.e[1].done, "entry 4 (the second of segment 1) done");
	xplan_release(&p);
	make_plan(&p, 1, 100);
	ok(xjournal_segment(NULL, &r, 0, &p) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "another transfer"),
	   "segment 1 planned where 0 was: refused");
	xplan_release(&p);
	make_plan(&p, 0, 101);
	ok(xjournal_segment(NULL, &r, 0, &p) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "changed since"),
	   "the files changed since: refused (%s)", cpk_errmsg());
	xplan_release(&p);
	xresume_release(&r);

	/* a file finished: its chunk records are not kept */
	snprintf(txt, sizeof(txt), "%s%sC 1 0\nC 1 1\nF 1\n", h, s0);
	ok(load(txt, h, &r) == CPK_OK && r.nchunks == 0,
	   "chunks of a finished file dropped");
	xresume_release(&r);

	/* how the destination resolved ("D"): kept, once */
	snprintf(txt, sizeof(txt), "%sD name\n%s", h, s0);
	ok(load(txt, h, &r) == CPK_OK && xresume_dst_dir(&r) == 0,
	   "\"D name\": copied to the name");
	xresume_release(&r);
	snprintf(txt, sizeof(txt), "%sD dir\n%s", h, s0);
	ok(load(txt, h, &r) == CPK_OK && xresume_dst_dir(&r) == 1,
	   "\"D dir\": into a directory");
	xresume_release(&r);
	snprintf(txt, sizeof(txt), "%s%s", h, s0);
	ok(load(txt, h, &r) == CPK_OK && xresume_dst_dir(&r) == -1,
	   "no \"D\": not recorded");
	xresume_release(&r);
	snprintf(txt, sizeof(txt), "%sD dir\nD name\n", h);
	ok(load(txt, h, &r) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "a second destination kind"),
	   "a second \"D\": damaged (%s)", cpk_errmsg());
	snprintf(txt, sizeof(txt), "%sD dirs\n", h);
	ok(load(txt, h, &r) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "not a destination kind"),
	   "\"D dirs\": damaged");
	snprintf(txt, sizeof(txt), "%sD \n", h);
	ok(load(txt, h, &r) == CPK_ERR_INVALID, "an empty \"D\": damaged");

	/* damaged journals */
	snprintf(txt, sizeof(txt), "%sF 1\n", h);
	ok(load(txt, h, &r) == CPK_ERR_INVALID && strstr(cpk_errmsg(), "damaged"),
	   "a record before its segment: damaged");
	snprintf(txt, sizeof(txt), "%s%sF 3\n", h, s0);
	ok(load(txt, h, &r) == CPK_ERR_INVALID,
	   "a record beyond the recorded segments: damaged");
	snprintf(txt, sizeof(txt), "%s%sX 1\n", h, s0);
	ok(load(txt, h, &r) == CPK_ERR_INVALID, "unknown record: damaged");
	snprintf(txt, sizeof(txt), "%s%s", h, s1);
	ok(load(txt, h, &r) == CPK_ERR_INVALID, "segment 1 first: damaged");
	snprintf(txt, sizeof(txt), "%s%sC 1 9\n", h, s0);
	ok(load(txt, h, &r) == CPK_OK, "chunk 9 of a 5-chunk file loads");
	make_plan(&q, 0, 100);
	ok(xjournal_segment(NULL, &r, 0, &q) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "damaged"), "and is refused when applied");
	xplan_release(&q);
	xresume_release(&r);
	/* bounds: entry 3 is past segment 0 (entries 0..2); chunk 5 past a
	 * 5-chunk file; a segment must start where the last one ended; a
	 * digest has 64 digits */
	snprintf(txt, sizeof(txt), "%s%sC 3 0\n", h, s0);
	ok(load(txt, h, &r) == CPK_ERR_INVALID,
	   "a chunk of the entry just past the segments: damaged");
	snprintf(txt, sizeof(txt), "%s%sF 2\nC 2 0\n", h, s0);
	ok(load(txt, h, &r) == CPK_OK, "a chunk of the segment's last entry loads");
	xresume_release(&r);
	snprintf(txt, sizeof(txt), "%s%sC 1 5\n", h, s0);
	ok(load(txt, h, &r) == CPK_OK, "chunk 5 of a 5-chunk file loads");
	make_plan(&q, 0, 100);
	ok(xjournal_segment(NULL, &r, 0, &q) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "damaged"), "and is refused when applied");
	xplan_release(&q);
	xresume_release(&r);
	snprintf(txt, sizeof(txt), "%s%sC 1 4\n", h, s0);
	make_plan(&q, 0, 100);
	ok(load(txt, h, &r) == CPK_OK && xjournal_segment(NULL, &r, 0, &q) ==
	   CPK_OK && q.e[1].cdone[4] && q.e[1].left == 4,
	   "chunk 4, the last of a 5-chunk file, applies");
	xplan_release(&q);
	xresume_release(&r);
	{
		char gap[128], longer[160], shorter[128];

		snprintf(gap, sizeof(gap), "S 1 4%s", s1 + 5);	/* "S 1 3..." */
		snprintf(txt, sizeof(txt), "%s%s%s", h, s0, gap);
		ok(load(txt, h, &r) == CPK_ERR_INVALID,
		   "a segment that starts past the end of the last: damaged");
		snprintf(gap, sizeof(gap), "S 1 2%s", s1 + 5);
		snprintf(txt, sizeof(txt), "%s%s%s", h, s0, gap);
		ok(load(txt, h, &r) == CPK_ERR_INVALID,
		   "a segment that overlaps the last: damaged");
		snprintf(longer, sizeof(longer), "%.*sa\n", (int)strlen(s0) - 1, s0);
		snprintf(txt, sizeof(txt), "%s%s", h, longer);
		ok(load(txt, h, &r) == CPK_ERR_INVALID,
		   "a digest of 65 digits: damaged");
		snprintf(shorter, sizeof(shorter), "%.*s\n", (int)strlen(s0) - 2, s0);
		snprintf(txt, sizeof(txt), "%s%s", h, shorter);
		ok(load(txt, h, &r) == CPK_ERR_INVALID,
		   "a digest of 63 digits: damaged");
	}
	{
		char s2[128], hex[65];

		make_plan(&q, 2, 100);
		xplan_digest(&q, hex);
		snprintf(s2, sizeof(s2), "S 1 3 2 %s\n", hex);
		snprintf(txt, sizeof(txt), "%s%sC 1 0\n%sC 3 1\n", h, s0,
			 s2);
		ok(load(txt, h, &r) == CPK_OK, "chunks of segment 1's first entry "
		   "load");
		ok(xjournal_segment(NULL, &r, 1, &q) == CPK_OK &&
		   q.e[0].cdone[1] && q.e[0].left == 4,
		   "  and apply to it (the entry at the segment's base)");
		xplan_release(&q);
		xresume_release(&r);
	}
	snprintf(txt, sizeof(txt), "%s%sF 0\n", h, s0);
	ok(load(txt, h, &r) == CPK_OK, "F of a directory loads");
	make_plan(&q, 0, 100);
	ok(xjournal_segment(NULL, &r, 0, &q) == CPK_ERR_INVALID,
	   "and is refused when applied");
	xplan_release(&q);
	xresume_release(&r);
	snprintf(txt, sizeof(txt), "cpk-journal 1\ndirection put\n.\nC 0 0\n");
	ok(load(txt, h, &r) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "another transfer"), "another header: refused");

	/* every number read is bounded */
	{
		char hex[65], big[600], *hb;
		size_t at;

		make_plan(&q, 0, 100);
		xplan_digest(&q, hex);
		xplan_release(&q);
		/* the hang: N near 2^64, then a file number near it */
		snprintf(txt, sizeof(txt), "%sS 0 0 18446744073709551615 %s\n"
			 "F 18446744073709551614\n", h, hex);
		ok(load(txt, h, &r) == CPK_ERR_INVALID &&
		   strstr(cpk_errmsg(), "bigger than the header"),
		   "a segment of 2^64-1 entries: damaged (%s)", cpk_errmsg());
		snprintf(txt, sizeof(txt), "%sS 0 0 16385 %s\n", h, hex);
		ok(load(txt, h, &r) == CPK_ERR_INVALID,
		   "a segment one entry bigger than the header's: damaged");
		snprintf(txt, sizeof(txt), "%sS 0 0 16384 %s\nF 16383\n", h, hex);
		ok(load(txt, h, &r) == CPK_OK, "a segment of the header's size "
		   "loads");
		xresume_release(&r);
		/* the biggest segment a journal may name: the finished files
		 * cost memory per record, not per number */
		hb = xjournal_header(CPK_XFER_PUT, srcs, 1, "/d", MiB, MiB, 0,
				     1u << 30);
		snprintf(txt, sizeof(txt), "%sS 0 0 1073741824 %s\nF 1073741823\n"
			 "F 0\nF 5\nF 4\nF 6\nF 5\n", hb, hex);
		ok(load(txt, hb, &r) == CPK_OK && r.nfdone == 3 &&
		   r.fdone[0].lo == 0 && r.fdone[0].hi == 1 &&
		   r.fdone[1].lo == 4 && r.fdone[1].hi == 7 &&
		   r.fdone[2].lo == 1073741823 && r.capfdone <= 64,
		   "finished files 0, 4-6 and 2^30-1: three ranges, sorted and "
		   "joined");
		xresume_release(&r);
		free(hb);
		/* a record longer than any: damaged, even if it parses */
		memset(big, '0', sizeof(big));
		snprintf(big + 300, sizeof(big) - 300, "2\n");
		snprintf(txt, sizeof(txt), "%s%sF %s", h, s0, big);
		ok(load(txt, h, &r) == CPK_ERR_INVALID &&
		   strstr(cpk_errmsg(), "longer than any record"),
		   "a record of 300 bytes: damaged");
		snprintf(txt, sizeof(txt), "%s%sF %s", h, s0, big + 300 - 200);
		ok(load(txt, h, &r) == CPK_OK,
		   "a record of 200 bytes (leading zeros) loads");
		xresume_release(&r);
		snprintf(txt, sizeof(txt), "%s%sC 1 4294967296\n", h, s0);
		ok(load(txt, h, &r) == CPK_ERR_INVALID &&
		   strstr(cpk_errmsg(), "chunk number"),
		   "chunk 2^32: damaged");
		snprintf(txt, sizeof(txt), "%s%sC 1 4294967295\n", h, s0);
		ok(load(txt, h, &r) == CPK_OK, "chunk 2^32-1 loads");
		make_plan(&q, 0, 100);
		ok(xjournal_segment(NULL, &r, 0, &q) == CPK_ERR_INVALID &&
		   strstr(cpk_errmsg(), "\"C 1 4294967295\" names a chunk that "
			  "src/big does not have"),
		   "  and is refused when applied, naming it: %s", cpk_errmsg());
		xplan_release(&q);
		xresume_release(&r);
		/* the byte offset of the bad record */
		snprintf(txt, sizeof(txt), "%s%sF 1\nF 9\n", h, s0);
		at = strlen(h) + strlen(s0) + 4;
		snprintf(big, sizeof(big), "damaged record at byte %zu: a file "
			 "past the recorded segments", at);
		ok(load(txt, h, &r) == CPK_ERR_INVALID &&
		   strstr(cpk_errmsg(), big), "the message names the byte: %s",
		   cpk_errmsg());
		/* out of order: each is found */
		snprintf(txt, sizeof(txt), "%s%s%sF 4\nF 2\nF 3\n", h, s0, s1);
		ok(load(txt, h, &r) == CPK_OK && r.nfdone == 1,
		   "files 4, 2, 3: one range");
		make_plan(&q, 1, 100);
		ok(xjournal_segment(NULL, &r, 1, &q) == CPK_OK && q.e[0].done &&
		   q.e[1].done, "  both files of segment 1 done");
		xplan_release(&q);
		make_plan(&q, 0, 100);
		ok(xjournal_segment(NULL, &r, 0, &q) == CPK_OK && q.e[2].done &&
		   !q.e[1].done, "  entry 2 done, entry 1 not");
		xplan_release(&q);
		xresume_release(&r);
		snprintf(txt, sizeof(txt), "%s%sF 0\n", h, s0);
		make_plan(&q, 0, 100);
		ok(load(txt, h, &r) == CPK_OK &&
		   xjournal_segment(NULL, &r, 0, &q) == CPK_ERR_INVALID &&
		   strstr(cpk_errmsg(), "\"F 0\" names src, not a file"),
		   "F of a directory: the message names it: %s", cpk_errmsg());
		xplan_release(&q);
		xresume_release(&r);
	}
	/* the layout a journal gives a resume is bounded */
	{
		static const struct {
			const char *hdr;
			int ok;
		} lay[] = {
			{ "chunk 1 1 parts 1048576\nsegment 1073741824\n.\n", 1 },
			{ "chunk 1 1 parts 1048577\nsegment 16\n.\n", 0 },
			{ "chunk 1 1 parts 0\nsegment 16\n.\n", 0 },
			{ "chunk 1 1 parts 16\nsegment 1073741825\n.\n", 0 },
			{ "chunk 1 1 parts 16\nsegment 0\n.\n", 0 },
			{ "chunk 1 1 parts 16\nsegment 18446744073709551616\n.\n",
			  0 },
		};
		char lp[] = "/tmp/cpk-journal-lay.XXXXXX";
		size_t i;

		fd = mkstemp(lp);
		for (i = 0; i < sizeof(lay) / sizeof(lay[0]); i++) {
			FILE *f = fopen(lp, "w");

			fputs(lay[i].hdr, f);
			fclose(f);
			parts = 0;
			seg = 0;
			ok(xjournal_layout(lp, &parts, &seg) == lay[i].ok,
			   "layout %zu %s", i, lay[i].ok ? "taken" : "refused");
		}
		close(fd);
		unlink(lp);
	}

	/* open, record a segment and work, reopen */
	fd = mkstemp(path);
	close(fd);
	unlink(path);
	ok(!xjournal_layout(path, &parts, &seg), "no journal: no layout");
	ok(xjournal_open(&j, path, h, &r) == CPK_OK && r.records == 0,
	   "a new journal is created");
	parts = 0;
	seg = 0;
	ok(xjournal_layout(path, &parts, &seg) && parts == 16 && seg == 16384,
	   "its header says 16 parts, segments of 16384");
	make_plan(&q, 0, 100);
	ok(xjournal_segment(&j, &r, 0, &q) == CPK_OK, "segment 0 recorded");
	ok(xjournal_append(&j, "C 1 2\n", 6) == CPK_OK, "record appended");
	xjournal_close(&j, 0);
	xresume_release(&r);
	xplan_release(&q);
	ok(xjournal_open(&j, path, h, &r) == CPK_OK && r.records == 2,
	   "reopened: two records");
	make_plan(&q, 0, 100);
	ok(xjournal_segment(&j, &r, 0, &q) == CPK_OK && q.e[1].cdone[2],
	   "the chunk record applies");
	xplan_release(&q);
	make_plan(&q, 1, 100);
	ok(xjournal_segment(&j, &r, 1, &q) == CPK_OK, "a new segment recorded");
	xjournal_close(&j, 0);
	{
		FILE *f = fopen(path, "r");
		char all[2048] = "";
		size_t got = f ? fread(all, 1, sizeof(all) - 1, f) : 0;

		all[got] = '\0';
		if (f)
			fclose(f);
		ok(strstr(all, "\nS 1 3 2 ") != NULL,
		   "  its record is in the file");
	}
	j.fd = -1;
	xjournal_close(&j, 0);
	xresume_release(&r);
	xplan_release(&q);
	ok(xjournal_open(&j, path, h, &r) == CPK_OK && r.nsegs == 2,
	   "reopened: both segments");
	xjournal_close(&j, 0);
	xresume_release(&r);
	h2 = xjournal_header(CPK_XFER_GET, srcs, 1, "/d", MiB, MiB, 0, 0);
	ok(xjournal_open(&j, path, h2, &r) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), path), "another transfer's journal refused: %s",
	   cpk_errmsg());
	xjournal_close(&j, 1);
	ok(access(path, F_OK) != 0, "close with remove deletes it");

	free(h);
	free(h2);
	return done_testing();
}
