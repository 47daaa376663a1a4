/* Unit tests of the resume journal: header, records, torn and bad lines. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpk/xfer.h"
#include "../../lib/xfer/xfer_priv.h"
#include "tap.h"

#define MiB (1024ULL * 1024)

static void make_plan(struct xplan *p, uint64_t mtime)
{
	struct xstat big = { XT_FILE, 5 * MiB, 0644, 1, 0 };
	struct xstat small = { XT_FILE, 10, 0600, 1, 0 };
	struct xstat dir = { XT_DIR, 0, 0755, 1, 1 };

	big.mtime = (uint32_t)mtime;
	memset(p, 0, sizeof(*p));
	xplan_add(p, strdup("src"), strdup("/d/src"), strdup("src"), &dir, NULL);
	xplan_add(p, strdup("src/big"), strdup("/d/src/big"), strdup("src/big"),
		  &big, NULL);
	xplan_add(p, strdup("src/a b"), strdup("/d/src/a b"), strdup("src/a b"),
		  &small, NULL);
	xplan_tasks(p, 1 * MiB, 1 * MiB, 2);
}

int main(void)
{
	const char *srcs[] = { "src dir/x%y" };
	struct xplan p, q;
	struct xjournal j;
	char *h, *h2, path[] = "/tmp/cpk-journal-test.XXXXXX", *txt;
	size_t n;
	int fd;

	make_plan(&p, 100);
	h = xjournal_header(CPK_XFER_PUT, srcs, 1, "/d", MiB, MiB, &p);
	ok(h && !strncmp(h, "cpk-journal 1\ndirection put\nsource src%20dir/x%25y\n",
			 51), "header names the direction and escaped sources");
	ok(h && strstr(h, "plan 3 entries 2 files 5242890 bytes sha256 ") != NULL,
	   "header counts entries, files, bytes");
	is_int(p.e[1].nchunks, 5, "5 MiB in 1 MiB chunks");

	txt = malloc(strlen(h) + 64);
	snprintf(txt, strlen(h) + 64, "%sC 1 0\nC 1 3\nC 1 3\nF 2\nC 1 4", h);
	ok(xjournal_apply(txt, strlen(txt), h, &p, &n) == CPK_OK,
	   "records applied");
	is_int((long long)n, 4, "four whole records (the torn last one ignored)");
	ok(p.e[1].cdone[0] && p.e[1].cdone[3] && !p.e[1].cdone[4] &&
	   !p.e[1].cdone[1], "chunks 0 and 3 done, 4 (torn) not");
	is_int(p.e[1].left, 3, "a repeated record counts once");
	ok(p.e[2].done, "small file done");

	snprintf(txt, strlen(h) + 64, "%sC 1 9\n", h);
	make_plan(&q, 100);
	ok(xjournal_apply(txt, strlen(txt), h, &q, &n) == CPK_ERR_INVALID,
	   "chunk index out of range: damaged");
	xplan_release(&q);
	snprintf(txt, strlen(h) + 64, "%sF 0\n", h);
	make_plan(&q, 100);
	ok(xjournal_apply(txt, strlen(txt), h, &q, &n) == CPK_ERR_INVALID,
	   "F of a directory: damaged");
	xplan_release(&q);
	snprintf(txt, strlen(h) + 64, "%sX 1\n", h);
	make_plan(&q, 100);
	ok(xjournal_apply(txt, strlen(txt), h, &q, &n) == CPK_ERR_INVALID,
	   "unknown record: damaged");
	xplan_release(&q);

	/* another transfer: the source changed */
	make_plan(&q, 101);
	h2 = xjournal_header(CPK_XFER_PUT, srcs, 1, "/d", MiB, MiB, &q);
	ok(strcmp(h, h2) != 0, "a changed mtime changes the header");
	snprintf(txt, strlen(h) + 64, "%sC 1 0\n", h);
	ok(xjournal_apply(txt, strlen(txt), h2, &q, &n) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "another transfer"), "refused: %s", cpk_errmsg());
	xplan_release(&q);

	/* open, append, reopen */
	fd = mkstemp(path);
	close(fd);
	unlink(path);
	make_plan(&q, 100);
	is_int((int)xjournal_parts(path), 0, "no journal: no parts");
	ok(xjournal_open(&j, path, h, &q, &n) == CPK_OK && n == 0,
	   "a new journal is created");
	is_int((int)xjournal_parts(path), 16, "its header says 16 parts");
	ok(xjournal_append(&j, "C 1 2\n", 6) == CPK_OK, "record appended");
	xjournal_close(&j, 0);
	xplan_release(&q);
	make_plan(&q, 100);
	ok(xjournal_open(&j, path, h, &q, &n) == CPK_OK && n == 1 &&
	   q.e[1].cdone[2], "reopened: the record applies");
	xjournal_close(&j, 0);
	xplan_release(&q);
	make_plan(&q, 101);
	ok(xjournal_open(&j, path, h2, &q, &n) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), path), "another transfer's journal refused: %s",
	   cpk_errmsg());
	xjournal_close(&j, 1);
	ok(access(path, F_OK) != 0, "close with remove deletes it");
	xplan_release(&q);

	free(txt);
	free(h);
	free(h2);
	xplan_release(&p);
	return done_testing();
}
