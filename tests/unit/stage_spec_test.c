/*
 * Unit tests for lib/stage/spec.c: --stage-in / --stage-out values, the
 * split rule of cpk/stage.h, its boundaries and hostile values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk/stage.h"
#include "tap.h"

/* Parses V (as a C string) with WORKDIR; 1 if accepted. */
static int parses(struct cpk_stage_list *l, const char *v, const char *wd)
{
	return cpk_stage_list_parse(l, "--stage-in", v, strlen(v), wd) == CPK_OK;
}

/* V splits into one item LOCAL USER HOST REMOTE (USER "-" for none). */
static void split_is(const char *v, const char *local, const char *user,
		     const char *host, const char *remote)
{
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;

	if (!ok(parses(&l, v, NULL) && l.n == 1, "\"%s\" parses to one item", v)) {
		printf("# %s\n", cpk_errmsg());
		cpk_stage_list_release(&l);
		return;
	}
	is_str(l.v[0].local, local, "  local");
	is_str(l.v[0].user ? l.v[0].user : "-", user, "  user");
	is_str(l.v[0].host, host, "  host");
	is_str(l.v[0].remote, remote, "  remote");
	cpk_stage_list_release(&l);
}

/* V is refused with a message containing WANT; the list stays as it was. */
static void refused(const char *v, size_t len, const char *want)
{
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;
	int r;

	parses(&l, "keep@h:/k", NULL);
	r = cpk_stage_list_parse(&l, "--stage-in", v, len, "/w");
	ok(r == CPK_ERR_INVALID && strstr(cpk_errmsg(), want) && l.n == 1,
	   "refused: %s", want);
	if (r != CPK_ERR_INVALID || !strstr(cpk_errmsg(), want))
		printf("#   message: %s\n", cpk_errmsg());
	cpk_stage_list_release(&l);
}

static void test_split(void)
{
	split_is("in@host:/data/in", "in", "-", "host", "/data/in");
	split_is("in@alice@host.example.org:/d", "in", "alice", "host.example.org", "/d");
	/* '@' in the local path: the user part would hold a '/' */
	split_is("a@b/c@host:/r", "a@b/c", "-", "host", "/r");
	split_is("a@b@me@host:/r", "a@b", "me", "host", "/r");
	/* ':' and '@' in the remote path, ':' in the local one */
	split_is("x:y@h:/r:s@t", "x:y", "-", "h", "/r:s@t");
	split_is("f@[::1]:/r", "f", "-", "::1", "/r");
	split_is("f@u@[fe80::1]:rel", "f", "u", "fe80::1", "rel");
	split_is("/abs/p@h:~/x", "/abs/p", "-", "h", "~/x");
	split_is("sp ace@h_1-2:/a b", "sp ace", "-", "h_1-2", "/a b");
}

static void test_lists(void)
{
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;

	ok(parses(&l, "a@h:/1,b\\,c@h:/2\\,3,d\\\\@h:/4", "/job/dir") && l.n == 3,
	   "a list of three, with escaped commas and a backslash");
	if (l.n == 3) {
		is_str(l.v[0].local, "/job/dir/a", "relative local paths are under the workdir");
		is_str(l.v[1].local, "/job/dir/b,c", "\\, is a comma in the local path");
		is_str(l.v[1].remote, "/2,3", "\\, is a comma in the remote path");
		is_str(l.v[2].local, "/job/dir/d\\", "\\\\ is a backslash");
	}
	ok(parses(&l, "/abs@h:/5", "/job/dir/") && l.n == 4 &&
	   !strcmp(l.v[3].local, "/abs"), "a second value appends; absolute stays");
	cpk_stage_list_release(&l);
	ok(l.n == 0 && l.v == NULL, "release empties the list");
	ok(parses(&l, "a@h:/1", "/w/") && !strcmp(l.v[0].local, "/w/a"),
	   "a workdir ending in '/' gives no '//'");
	cpk_stage_list_release(&l);
	ok(!parses(&l, "a@h:/1", "rel"), "a relative workdir is refused");
}

static void test_refused(void)
{
	char big[CPK_STAGE_VALUE_MAX + 2], path[CPK_STAGE_PATH_MAX + 16];
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;
	size_t i;

	refused("", 0, "empty value");
	refused("input@storage:", 14, "item 1 \"input@storage:\": empty remote path");
	refused("@h:/r", 5, "no \"@HOST:\"");
	refused("a@@h:/r", 7, "empty user name");
	refused("a@h:/r,", 7, "item 2 \"\": empty item");
	refused("a@h:/r,,b@h:/r", 14, "item 2 \"\": empty item");
	refused("input", 5, "expected LOCAL@[USER@]HOST:REMOTE");
	refused("in@:/r", 6, "no \"@HOST:\"");
	refused("in@[]:/r", 8, "no \"@HOST:\"");
	refused("in@h!x:/r", 9, "no \"@HOST:\"");
	refused("a@h:/r\nb", 8, "item 1 \"a@h:/r\\x0ab\": control character");
	refused("a@h:/r\x7f", 7, "control character");
	refused("a@h:/r\0x", 8, "NUL byte");
	refused("a@h:/r\\", 7, "lone backslash");
	ok(parses(&l, "a@h:/r\\\\", NULL), "an escaped trailing backslash is fine");
	cpk_stage_list_release(&l);

	memset(big, 'a', sizeof(big));
	memcpy(big, "a@h:/", 5);
	refused(big, CPK_STAGE_VALUE_MAX + 1, "at most 65536");
	/* the largest remote path, and one byte more */
	memset(path, 'p', sizeof(path));
	memcpy(path, "a@h:/", 5);
	path[4 + CPK_STAGE_PATH_MAX] = '\0';
	ok(parses(&l, path, NULL), "a remote path of %d bytes is accepted",
	   CPK_STAGE_PATH_MAX);
	cpk_stage_list_release(&l);
	path[4 + CPK_STAGE_PATH_MAX] = 'p';
	path[5 + CPK_STAGE_PATH_MAX] = '\0';
	refused(path, strlen(path), "path too long");
	/* a host name of 255 bytes, and 256 */
	memset(path, 'h', sizeof(path));
	memcpy(path, "a@", 2);
	memcpy(path + 2 + CPK_STAGE_NAME_MAX, ":/r", 4);
	ok(parses(&l, path, NULL), "a host name of %d bytes is accepted",
	   CPK_STAGE_NAME_MAX);
	cpk_stage_list_release(&l);
	memset(path, 'h', sizeof(path));
	memcpy(path, "a@", 2);
	memcpy(path + 3 + CPK_STAGE_NAME_MAX, ":/r", 4);
	refused(path, strlen(path), "host name too long");

	/* item count: 256 fit, 257 do not */
	for (i = 0; i < CPK_STAGE_ITEMS_MAX; i++)
		if (!parses(&l, "a@h:/r", NULL))
			break;
	ok(i == CPK_STAGE_ITEMS_MAX && l.n == CPK_STAGE_ITEMS_MAX,
	   "%d items fit in a list", CPK_STAGE_ITEMS_MAX);
	ok(!parses(&l, "a@h:/r", NULL) && strstr(cpk_errmsg(), "more than 256") &&
	   l.n == CPK_STAGE_ITEMS_MAX, "one more is refused");
	cpk_stage_list_release(&l);
}

int main(void)
{
	test_split();
	test_lists();
	test_refused();
	return done_testing();
}
