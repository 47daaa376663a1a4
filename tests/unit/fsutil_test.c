/* Unit tests for lib/util: atomic writes, reads, mkdir -p, buffers. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "cpk/fsutil.h"
#include "tap.h"

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	char dir[] = "/tmp/cpk-fsutil.XXXXXX";
	struct cpk_buf b = CPK_BUF_INIT, path = CPK_BUF_INIT;
	struct stat st;
	int i;

	if (!mkdtemp(dir))
		return 1;
	cpk_buf_addf(&path, "%s/a/b/c", dir);
	is_int(cpk_mkdir_p(path.buf, 0755), CPK_OK, "mkdir -p");
	is_int(cpk_mkdir_p(path.buf, 0755), CPK_OK, "mkdir -p again");
	cpk_buf_addstr(&path, "/f.conf");
	is_int(cpk_write_atomic(path.buf, "one\n", 4, 0600), CPK_OK, "write");
	ok(stat(path.buf, &st) == 0 && (st.st_mode & 07777) == 0600, "mode 0600");
	is_int(cpk_write_atomic(path.buf, "two\n", 4, 0644), CPK_OK, "replace");
	is_int(cpk_read_file(path.buf, &b, 0), CPK_OK, "read back");
	is_str(b.buf, "two\n", "new content");
	is_int(count_entries(strrchr(path.buf, '/') ? dir : dir), 1, "no temporary files left");
	cpk_buf_reset(&b);
	is_int(cpk_read_file(path.buf, &b, 2), CPK_ERR_INVALID, "size limit enforced");
	is_int(cpk_write_atomic("/nonexistent-dir/x", "x", 1, 0644), CPK_ERR_NOTFOUND,
	       "write into a missing directory fails");
	ok(strstr(cpk_errmsg(), "/nonexistent-dir/x") != NULL, "message names the file: %s",
	   cpk_errmsg());
	is_int(cpk_read_file("/nonexistent-dir/x", &b, 0), CPK_ERR_NOTFOUND, "read a missing file");

	cpk_buf_release(&b);
	for (i = 0; i < 10000; i++)
		cpk_buf_addf(&b, "%d,", i);
	ok(!cpk_buf_failed(&b) && b.len == 48890 && !strncmp(b.buf + b.len - 5, "9999,", 5),
	   "buffer grows");
	cpk_buf_release(&b);
	ok(b.buf[0] == '\0' && b.len == 0, "released buffer is empty");
	{
		char *s = cpk_buf_detach(&b, NULL);

		ok(s && !*s, "detach of an empty buffer gives an empty heap string");
		free(s);
	}
	cpk_buf_release(&path);
	cpk_buf_addf(&path, "rm -rf %s", dir);
	if (system(path.buf) != 0)
		return 1;
	cpk_buf_release(&path);
	return done_testing();
}
