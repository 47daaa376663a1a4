/* Unit tests of the transfer planning: operands, names, chunks, batches. */
#include <stdlib.h>
#include <string.h>

#include "cpk/xfer.h"
#include "../../lib/xfer/xfer_priv.h"
#include "tap.h"

#define MiB (1024ULL * 1024)

static void target(const char *arg, const char *user, const char *host,
		   const char *path)
{
	struct cpk_xfer_target t;

	if (!ok(cpk_xfer_target_parse(arg, &t) == CPK_OK, "parse '%s'", arg))
		return;
	is_str(t.user, user, "  user of '%s'", arg);
	is_str(t.host, host, "  host of '%s'", arg);
	is_str(t.path, path, "  path of '%s'", arg);
	cpk_xfer_target_release(&t);
}

/* is_str() that frees GOT. */
static void is_new_str(char *got, const char *want, const char *name)
{
	is_str(got, want, "%s", name);
	free(got);
}

static void add_file(struct xplan *p, const char *name, uint64_t size)
{
	struct xstat st = { XT_FILE, size, 0644, 1, 2 };
	char dst[256];

	snprintf(dst, sizeof(dst), "/d/%s", name);
	xplan_add(p, strdup(name), strdup(dst), strdup(name), &st, NULL);
}

int main(void)
{
	struct cpk_xfer_target t;
	struct xplan p;
	char hex1[65], hex2[65];
	uint64_t covered;
	size_t i, batches = 0, chunks = 0;

	target("host:path", NULL, "host", "path");
	target("user@host:/abs/p", "user", "host", "/abs/p");
	target("u@v@host:x", "u@v", "host", "x");
	target("host:", NULL, "host", "");
	target("[::1]:/tmp/x", NULL, "::1", "/tmp/x");
	target("me@[fe80::1]:y", "me", "fe80::1", "y");
	target("[::1]/x:y", NULL, NULL, "[::1]/x:y");
	target("./a:b", NULL, NULL, "./a:b");
	target("/abs/with:colon", NULL, NULL, "/abs/with:colon");
	target("plain file", NULL, NULL, "plain file");
	target("dir/x", NULL, NULL, "dir/x");
	ok(cpk_xfer_target_parse(":x", &t) == CPK_OK && !t.host,
	   "':x' is a local path");
	cpk_xfer_target_release(&t);
	ok(cpk_xfer_target_parse("@host:x", &t) == CPK_ERR_INVALID,
	   "'@host:x': empty user refused");
	ok(cpk_xfer_target_parse("", &t) == CPK_ERR_INVALID, "'' refused");

	is_new_str(xplan_dst_root("a/b/src", "/dst", 1), "/dst/src",
		   "into an existing dir: DST/basename");
	is_new_str(xplan_dst_root("a/b/src/", "/dst/", 1), "/dst/src",
		   "trailing slashes dropped");
	is_new_str(xplan_dst_root("a/b/src", "/dst/new", 0), "/dst/new",
		   "not a dir: DST is the new name");
	is_new_str(xplan_dst_root("dir/.", "/dst", 1), "/dst",
		   "'dir/.' copies into DST itself");
	is_new_str(xplan_tmp_name("/x/y/file name", "0123456789abcdef"),
		   "/x/y/.file name.0123456789abcdef.cpk-part",
		   "temporary name beside the file, with the token");
	is_new_str(xplan_tmp_name("rel", "00ff00ff00ff00ff"),
		   ".rel.00ff00ff00ff00ff.cpk-part",
		   "temporary name of a bare name");
	is_new_str(xplan_join("", "a"), "a",
		   "join with an empty dir");

	is_int((long long)xplan_chunk_size(0, 8 * MiB, 64 * MiB, 0), 0, "0 bytes: whole");
	is_int((long long)xplan_chunk_size(8 * MiB, 8 * MiB, 64 * MiB, 0), 0,
	       "chunk_min bytes: whole");
	is_int((long long)xplan_chunk_size(8 * MiB + 1, 8 * MiB, 64 * MiB, 0),
	       (long long)(8 * MiB), "just above chunk_min: chunk_min");
	is_int((long long)xplan_chunk_size(1024 * MiB, 8 * MiB, 64 * MiB, 0),
	       (long long)(64 * MiB), "1 GiB: 64 MiB chunks");
	is_int((long long)xplan_chunk_size(320 * MiB, 8 * MiB, 64 * MiB, 0),
	       (long long)(20 * MiB), "320 MiB: a sixteenth");
	is_int((long long)xplan_chunk_size(100ULL << 30, 8 * MiB, 64 * MiB, 0),
	       (long long)(64 * MiB), "100 GiB: chunk_max");
	is_int((long long)xplan_chunk_size(1024 * MiB, 8 * MiB, 64 * MiB, 32),
	       (long long)(32 * MiB), "1 GiB in 32 parts: 32 MiB chunks");
	is_int((long long)xplan_chunk_size(1024 * MiB, 8 * MiB, 64 * MiB, 64),
	       (long long)(16 * MiB), "1 GiB in 64 parts: 16 MiB chunks");
	is_int((long long)xplan_chunk_size(100 * MiB, 8 * MiB, 64 * MiB, 64),
	       (long long)(8 * MiB), "100 MiB in 64 parts: chunk_min");
	is_int((long long)xplan_chunk_size(320 * MiB + 16, 8 * MiB, 64 * MiB, 0),
	       (long long)(21 * MiB), "a sixteenth just over 20 MiB: rounded up to 21 MiB");
	is_int((long long)xplan_chunk_size(1024 * MiB + 16, 8 * MiB, 64 * MiB, 0),
	       (long long)(64 * MiB), "just over 1 GiB: still chunk_max");
	is_int((long long)xplan_chunk_size(1024 * MiB - 16 * MiB, 8 * MiB,
					   64 * MiB, 0),
	       (long long)(63 * MiB), "1008 MiB: 63 MiB, under chunk_max");
	is_int((long long)xplan_chunk_size(9 * MiB, 8 * MiB, 8 * MiB, 0),
	       (long long)(8 * MiB), "chunk_min = chunk_max: that size");

	is_int(xplan_streams(0.05, 2), 2, "loopback, 2 cores: 2 streams");
	is_int(xplan_streams(0.05, 1), 2, "loopback, 1 core: still 2");
	is_int(xplan_streams(0.05, 32), 16, "32 cores: at most 16");
	is_int(xplan_streams(20, 2), 8, "RTT 20 ms, 2 cores: 8");
	is_int(xplan_streams(100, 2), 32, "RTT 100 ms: 32");
	{
		unsigned c, k;

		xplan_layout(0.05, 2, 0, 0, &c, &k);
		ok(c == 2 && k == 1, "loopback: 2 connections of 1 channel");
		xplan_layout(100, 2, 0, 0, &c, &k);
		ok(c == 4 && k == 8, "RTT 100 ms: 4 connections of 8 channels "
		   "(%u x %u)", c, k);
		xplan_layout(20, 2, 0, 0, &c, &k);
		ok(c == 2 && k == 4, "RTT 20 ms, 2 cores: 2 connections of 4 "
		   "channels (%u x %u)", c, k);
		xplan_layout(0.05, 16, 0, 0, &c, &k);
		ok(c == 8 && k == 2, "loopback, 16 cores: 8 connections of 2 "
		   "channels (%u x %u)", c, k);
		xplan_layout(100, 2, 16, 0, &c, &k);
		ok(c == 16 && k == 2, "RTT 100 ms, -n 16: 2 channels each");
		xplan_layout(100, 2, 1, 0, &c, &k);
		ok(c == 1 && k == 8, "RTT 100 ms, -n 1: 8 channels (MaxSessions)");
		xplan_layout(0.05, 2, 8, 0, &c, &k);
		ok(c == 8 && k == 1, "loopback, -n 8: 1 channel each");
		xplan_layout(100, 2, 0, 3, &c, &k);
		ok(c == 4 && k == 3, "--channels 3 as given");
		xplan_layout(100, 2, 64, 8, &c, &k);
		ok(c == 64 && k == 1, "64 connections: 1 channel each (64 "
		   "streams at most)");
	}

	/* connections follow the work */
	is_int(xplan_conns_for_work(100 * 1024, 100, 20), 3,
	       "100 files of 1 KiB, -n 20: 3 connections");
	is_int(xplan_conns_for_work(1 * MiB, 1, 8), 1, "1 MiB: 1 connection");
	is_int(xplan_conns_for_work(0, 0, 8), 1, "nothing left: still 1");
	is_int(xplan_conns_for_work(12 * MiB + 5, 1, 4), 4,
	       "12 MiB, -n 4: the 4 asked");
	is_int(xplan_conns_for_work(2000 * 64 * 1024ull, 2000, 8), 8,
	       "2,000 files of 64 KiB: all 8");
	is_int(xplan_conns_for_work(3 * MiB, 40, 16), 4,
	       "3 MiB in 40 files: 3 + 1");

	/* chunks cover a big file exactly; small files go in batches */
	memset(&p, 0, sizeof(p));
	add_file(&p, "big", 10 * MiB + 3);
	for (i = 0; i < 1000; i++) {
		char n[32];

		snprintf(n, sizeof(n), "s%04zu", i);
		add_file(&p, n, 1000);
	}
	add_file(&p, "edge", 2 * MiB);
	memcpy(p.token, "5555aaaa5555aaaa", XPLAN_TOKEN_LEN + 1);
	ok(xplan_tasks(&p, 1 * MiB, 1 * MiB, 4) == CPK_OK, "tasks planned");
	is_int(p.e[0].nchunks, 11, "10 MiB + 3 in 1 MiB chunks: 11");
	is_int(p.e[1001].nchunks, 2, "exactly 2 MiB: 2 chunks");
	is_str(p.e[0].tmp, "/d/.big.5555aaaa5555aaaa.cpk-part",
	       "a big file's temporary name set, with the plan's token");
	ok(p.e[5].tmp == NULL, "small files': made when their batch runs");
	covered = 0;
	for (i = 0; i < p.nt; i++) {
		if (p.t[i].kind == TASK_CHUNK) {
			chunks++;
			if (p.t[i].file == 0)
				covered += p.e[0].chunk;
		} else {
			batches++;
			ok(p.t[i].chunk <= 256, "batch %zu: %u files", batches,
			   p.t[i].chunk);
		}
	}
	ok(covered >= p.e[0].st.size && covered - p.e[0].st.size < p.e[0].chunk,
	   "chunks cover the big file");
	is_int((long long)chunks, 13, "13 chunk tasks");
	is_int((long long)batches, 4, "1000 small files over 4 connections: 4 batches");
	is_int((long long)p.files, 1002, "files counted");
	/* the last batches spread over the streams that have none */
	is_int(xplan_batch_share(10, 20, 8), 10, "a piece for each: whole");
	is_int(xplan_batch_share(10, 8, 8), 10, "as many pieces as streams: whole");
	is_int(xplan_batch_share(10, 14, 24), 6, "14 batches of 10 for 24 "
	       "streams: 6 files each");
	is_int(xplan_batch_share(10, 1, 32), 1, "the last batch, 32 streams: 1");
	is_int(xplan_batch_share(0, 1, 32), 0, "an empty batch: nothing");
	{
		size_t head = 0, nt = p.nt;
		uint32_t first, count;
		long a, b;

		while (p.t[head].kind != TASK_BATCH)
			head++;
		first = p.t[head].file;
		count = p.t[head].chunk;
		a = xplan_split(&p, head, 3);
		ok(a == (long)nt, "split off: a task after the queue");
		is_int(p.t[a].file, first, "the split takes the first files");
		is_int(p.t[a].chunk, 3, "3 of them");
		is_int(p.t[head].file, first + 3, "the queued batch keeps the rest");
		is_int(p.t[head].chunk, count - 3, "all of the rest");
		ok(xplan_split(&p, head, count - 3) == -1,
		   "a batch is not split into nothing");
		ok(xplan_split(&p, 0, 1) == -1, "a chunk is never split");
		b = xplan_split(&p, head, 1);
		ok(b == a + 1 && p.nt == nt && p.nsplit == 2,
		   "the queue stays; splits follow it");
		/* the 4 batches hold 1,000 files: more than the room */
		for (i = 0; i < nt && p.nsplit < XPLAN_SPLITS; i++)
			while (p.t[i].kind == TASK_BATCH && p.t[i].chunk > 1 &&
			       xplan_split(&p, i, 1) >= 0)
				;
		is_int((long long)p.nsplit, XPLAN_SPLITS, "splits up to the room");
		while (p.t[head].kind != TASK_BATCH || p.t[head].chunk < 2)
			head++;
		ok(xplan_split(&p, head, 1) == -1, "none beyond it");
	}
	xplan_digest(&p, hex1);
	p.e[3].st.mtime++;
	xplan_digest(&p, hex2);
	ok(strcmp(hex1, hex2) != 0, "digest changes with an mtime");
	xplan_release(&p);

	/* a tree: 10 directories of 30 small files, a big file in the 6th.
	 * Batches run on across the directories (each directory its own
	 * batch drained the pipeline 200 times for the 20,000-file tree)
	 * and end at the big file. */
	memset(&p, 0, sizeof(p));
	{
		struct xstat dst_ = { XT_DIR, 0, 0755, 1, 2 };
		size_t files = 0, spans_dir = 0, d, f;

		for (d = 0; d < 10; d++) {
			char n[32];

			snprintf(n, sizeof(n), "d%zu", d);
			xplan_add(&p, strdup(n), strdup(n), strdup(n), &dst_, NULL);
			for (f = 0; f < 30; f++) {
				snprintf(n, sizeof(n), "d%zu/f%02zu", d, f);
				add_file(&p, n, 100);
			}
			if (d == 5)
				add_file(&p, "d5/big", 4 * MiB);
		}
		memcpy(p.token, "5555aaaa5555aaaa", XPLAN_TOKEN_LEN + 1);
		ok(xplan_tasks(&p, 1 * MiB, 1 * MiB, 2) == CPK_OK, "tree planned");
		batches = 0;
		for (i = 0; i < p.nt; i++) {
			size_t k, in = 0;

			if (p.t[i].kind != TASK_BATCH)
				continue;
			batches++;
			ok(xplan_batched(&p.e[p.t[i].file]) &&
			   xplan_batched(&p.e[p.t[i].file + p.t[i].chunk - 1]),
			   "batch %zu begins and ends with a small file", batches);
			for (k = 0; k < p.t[i].chunk; k++) {
				const struct xent *e = &p.e[p.t[i].file + k];

				ok(e->st.type == XT_DIR || xplan_batched(e),
				   "batch %zu entry %zu: a small file or a "
				   "directory", batches, k);
				in += xplan_batched(e);
				spans_dir += e->st.type == XT_DIR;
			}
			files += in;
			ok(in <= 150, "batch %zu: %zu files, at most half", batches,
			   in);
		}
		is_int((long long)files, 300, "the batches hold every small file "
		       "once");
		ok(spans_dir > 0, "batches span directories");
		is_int((long long)batches, 3, "150 + 30 files before the big "
		       "file, 120 after (not a batch per directory)");
	}
	xplan_release(&p);

	/* SHA-256 of "abc" */
	{
		struct xsha256 c;

		xsha256_init(&c);
		xsha256_update(&c, "abc", 3);
		xsha256_hex(&c, hex1);
		is_str(hex1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		       "sha256(abc)");
		xsha256_init(&c);
		for (i = 0; i < 1000; i++)
			xsha256_update(&c, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				       1000);
		xsha256_hex(&c, hex1);
		is_str(hex1, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
		       "sha256 of a million 'a' in odd pieces");
	}
	return done_testing();
}
