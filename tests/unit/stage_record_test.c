/*
 * Unit tests for lib/stage/record.c: the record of undelivered stage-out
 * files (its format, its removal when all were delivered, a symlink at its
 * name replaced and never followed, names with a '/' refused).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk/buf.h"
#include "cpk/fsutil.h"
#include "cpk/stage.h"
#include "tap.h"

static char *slurp(const char *path)
{
	struct cpk_buf b = CPK_BUF_INIT;

	if (cpk_read_file(path, &b, 0) != CPK_OK) {
		cpk_buf_release(&b);
		return NULL;
	}
	cpk_buf_addch(&b, '\0');
	return cpk_buf_detach(&b, NULL);
}

int main(void)
{
	char dir[] = "/tmp/cpk-stage-record.XXXXXX";
	const char *v = "out@alice@store:/r/out,b@[::1]:/r/b,c@store:/r/c";
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;
	const char *why[3] = { "cannot open: Permission denied\nsecond line",
			       NULL, "refused" };
	const char *none[3] = { NULL, NULL, NULL };
	struct stat st;
	char *s;

	if (!mkdtemp(dir) || chdir(dir) < 0) {
		ok(0, "cannot make a scratch directory");
		return done_testing();
	}
	ok(cpk_stage_list_parse(&l, "--stage-out", v, strlen(v), "/w") == CPK_OK,
	   "a list of three items");
	ok(cpk_stage_record_write("rec", "42", &l, why) == CPK_OK,
	   "two undelivered: the record is written");
	s = slurp("rec");
	is_str(s, "# cpk_stage: files of job 42 not staged out (2 of 3); they "
	       "are still here.\n# LOCAL\t[USER@]HOST:REMOTE\tREASON\n"
	       "/w/out\talice@store:/r/out\tcannot open: Permission denied "
	       "second line\n/w/c\tstore:/r/c\trefused\n",
	       "  one line per undelivered item, the reason on one line");
	free(s);
	ok(stat("rec", &st) == 0 && (st.st_mode & 07777) == 0644, "  mode 0644");

	why[0] = NULL;
	why[1] = "x";
	why[2] = NULL;
	ok(cpk_stage_record_write("rec", "42", &l, why) == CPK_OK,
	   "rewritten with another item");
	s = slurp("rec");
	ok(s && strstr(s, "(1 of 3)") && strstr(s, "/w/b\t[::1]:/r/b\tx\n") &&
	   !strstr(s, "/w/out"), "  only it, an IPv6 host in brackets");
	free(s);

	ok(cpk_stage_record_write("rec", "42", &l, none) == CPK_OK &&
	   access("rec", F_OK) != 0, "all delivered: the record is removed");
	ok(cpk_stage_record_write("rec", "42", &l, none) == CPK_OK,
	   "  and removing an absent one is fine");

	ok(symlink("target", "rec") == 0, "a symlink at the record's name");
	ok(cpk_stage_record_write("rec", "42", &l, why) == CPK_OK &&
	   lstat("rec", &st) == 0 && S_ISREG(st.st_mode) &&
	   access("target", F_OK) != 0,
	   "  is replaced by the record, its target never made");

	ok(cpk_stage_record_write("a/rec", "42", &l, why) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "a/rec"), "a name with '/' is refused (%s)",
	   cpk_errmsg());
	ok(cpk_stage_record_write("..", "42", &l, why) == CPK_ERR_INVALID,
	   "\"..\" is refused");

	unlink("rec");
	cpk_stage_list_release(&l);
	if (chdir("/") == 0)
		rmdir(dir);
	ok(access(dir, F_OK) != 0, "nothing else left behind");
	return done_testing();
}
