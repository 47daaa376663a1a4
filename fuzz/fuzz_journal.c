/*
 * libFuzzer target: any bytes as the records of a resume journal (after a
 * fixed header).  Reading must never crash, hang, leak or trip a sanitizer,
 * and must take memory in proportion to the input; what loads is applied to
 * a small plan, which must refuse what does not fit it.
 *   make fuzz FUZZ_TIME=600
 * The first byte chooses whether the records follow a valid "S 0" record of
 * that plan (so that the application is reached); the seeds are in
 * fuzz/journal/.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/xfer/xfer_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Entry 0 a directory, 1 a file of 5 chunks, 2 a small file (segment 0);
 * entries 3 and 4 small files (segment 1). */
static void make_plan(struct xplan *p, int seg)
{
	struct xstat big = { XT_FILE, 5 << 20, 0644, 1, 2 };
	struct xstat small = { XT_FILE, 10, 0600, 1, 2 };
	struct xstat dir = { XT_DIR, 0, 0755, 1, 1 };

	memset(p, 0, sizeof(*p));
	if (seg == 0) {
		xplan_add(p, strdup("s"), strdup("d/s"), strdup("s"), &dir, NULL);
		xplan_add(p, strdup("s/b"), strdup("d/s/b"), strdup("s/b"), &big,
			  NULL);
		xplan_add(p, strdup("s/c"), strdup("d/s/c"), strdup("s/c"),
			  &small, NULL);
	} else {
		p->base = 3;
		xplan_add(p, strdup("s/d"), strdup("d/s/d"), strdup("s/d"),
			  &small, NULL);
		xplan_add(p, strdup("s/e"), strdup("d/s/e"), strdup("s/e"),
			  &small, NULL);
	}
	xplan_tasks(p, 1 << 20, 1 << 20, 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const srcs[] = { "s" };
	static char *header;
	static char s0[128];
	struct cpk_buf b = CPK_BUF_INIT;
	struct xresume r;
	struct xplan p;
	FILE *f;
	unsigned k;

	if (!header) {
		char hex[65];

		header = xjournal_header(CPK_XFER_PUT, srcs, 1, "d", 1 << 20,
					 1 << 20, 0, 4);
		make_plan(&p, 0);
		xplan_digest(&p, hex);
		xplan_release(&p);
		snprintf(s0, sizeof(s0), "S 0 0 3 %s\n", hex);
	}
	if (!size)
		return 0;
	cpk_buf_addstr(&b, header);
	if (data[0] & 1)
		cpk_buf_addstr(&b, s0);
	cpk_buf_add(&b, data + 1, size - 1);
	if (cpk_buf_failed(&b) || !(f = fmemopen(b.buf, b.len, "r"))) {
		cpk_buf_release(&b);
		return 0;
	}
	if (xresume_load(f, header, &r) == CPK_OK) {
		for (k = 0; k < 2; k++) {
			make_plan(&p, (int)k);
			(void)xjournal_segment(NULL, &r, k, &p);
			xplan_release(&p);
		}
		xresume_release(&r);
	}
	fclose(f);
	cpk_buf_release(&b);
	return 0;
}
