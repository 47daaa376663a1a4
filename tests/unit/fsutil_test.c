/*
 * Unit tests for lib/util/fsutil.c: atomic writes (and what a failure at
 * each step leaves behind), reads, mkdir -p.
 *
 * Failures are injected by defining fchmod, write, fsync, close, rename and
 * read here (see fault.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpk/fsutil.h"
#include "fault.h"
#include "tap.h"

enum fault {
	NONE, FCHMOD, WRITE, WRITE_SHORT, WRITE_EINTR, FSYNC, CLOSE, RENAME,
	READ, READ_EINTR,
};
static enum fault fault;
static int eintr_toggle;
static int double_closes;	/* close() of a descriptor not open */

int fchmod(int fd, mode_t mode)
{
	if (fault == FCHMOD)
		return fault_fail(EPERM);
	return (int)syscall(SYS_fchmod, fd, mode);
}

ssize_t write(int fd, const void *p, size_t n)
{
	if (fault == WRITE)
		return fault_fail(ENOSPC);
	if (fault == WRITE_SHORT && n > 3)
		n = 3;
	if (fault == WRITE_EINTR && (eintr_toggle ^= 1))
		return fault_fail(EINTR);
	return syscall(SYS_write, fd, p, n);
}

int fsync(int fd)
{
	if (fault == FSYNC)
		return fault_fail(EIO);
	return (int)syscall(SYS_fsync, fd);
}

int close(int fd)
{
	int r = (int)syscall(SYS_close, fd);

	if (r < 0 && errno == EBADF)
		double_closes++;
	if (fault == CLOSE && r == 0)	/* closed, but reports a late error */
		return fault_fail(EIO);
	return r;
}

int rename(const char *from, const char *to)
{
	if (fault == RENAME)
		return fault_fail(EXDEV);
	return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

ssize_t read(int fd, void *p, size_t n)
{
	if (fault == READ)
		return fault_fail(EIO);
	if (fault == READ_EINTR && (eintr_toggle ^= 1))
		return fault_fail(EINTR);
	return syscall(SYS_read, fd, p, n);
}

static int count_fds(void)
{
	return count_entries("/proc/self/fd");
}

/* The content of PATH, or "(error)"; in a static buffer. */
static const char *content(const char *path)
{
	static char s[256];
	struct cpk_buf b = CPK_BUF_INIT;

	if (cpk_read_file(path, &b, 0) != CPK_OK)
		snprintf(s, sizeof(s), "(error)");
	else
		snprintf(s, sizeof(s), "%s", b.buf);
	cpk_buf_release(&b);
	return s;
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

/* A failure at each step: an error naming the file, the old file as it was,
 * no temporary file left, no descriptor left open. */
static void test_failures(const char *dir, const char *path)
{
	static const struct { enum fault f; const char *name; cpk_err_t want; } steps[] = {
		{ FCHMOD, "fchmod", CPK_ERR_PERM }, { WRITE, "write", CPK_ERR_IO },
		{ FSYNC, "fsync", CPK_ERR_IO }, { CLOSE, "close", CPK_ERR_IO },
		{ RENAME, "rename", CPK_ERR_IO },
	};
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int fds;
		cpk_err_t r;

		if (cpk_write_atomic(path, "old\n", 4, 0644) != CPK_OK)
			ok(0, "cannot write %s: %s", path, cpk_errmsg());
		fds = count_fds();
		fault = steps[i].f;
		r = cpk_write_atomic(path, "the new content\n", 16, 0600);
		fault = NONE;
		is_int(r, steps[i].want, "failed %s: an error", steps[i].name);
		ok(strstr(cpk_errmsg(), path) != NULL, "failed %s: the message names the file (%s)",
		   steps[i].name, cpk_errmsg());
		is_int(count_entries(dir), 1, "failed %s: no temporary file left", steps[i].name);
		is_str(content(path), "old\n", "failed %s: the old file is intact", steps[i].name);
		is_int(mode_of(path), 0644, "failed %s: and keeps its mode", steps[i].name);
		is_int(count_fds(), fds, "failed %s: no descriptor left open", steps[i].name);
	}

	/* a first write that fails leaves nothing at all */
	fault = FSYNC;
	ok(cpk_write_atomic("new.conf", "x", 1, 0644) != CPK_OK, "failed first write: an error");
	fault = NONE;
	ok(access("new.conf", F_OK) != 0 && count_entries(".") == 1,
	   "failed first write: no file, no temporary file");
}

/* Writes the system call layer cuts up still give the whole content. */
static void test_interrupted(const char *path)
{
	static const char text[] = "0123456789abcdefghijklmnopqrstuvwxyz\n";

	fault = WRITE_SHORT;
	is_int(cpk_write_atomic(path, text, sizeof(text) - 1, 0644), CPK_OK,
	       "short writes: written");
	fault = NONE;
	is_str(content(path), text, "short writes: the whole content");
	fault = WRITE_EINTR;
	is_int(cpk_write_atomic(path, "eintr\n", 6, 0644), CPK_OK, "EINTR on write: retried");
	fault = NONE;
	is_str(content(path), "eintr\n", "EINTR on write: the whole content");
}

/* Real failures, no injection. */
static void test_real_failures(const char *dir, const char *path)
{
	struct cpk_buf sub = CPK_BUF_INIT;
	int n;

	/* a target that is a directory: rename fails */
	cpk_buf_addf(&sub, "%s/sub", dir);
	ok(mkdir(sub.buf, 0755) == 0, "make a directory where a file will be written");
	n = count_entries(dir);
	is_int(cpk_write_atomic(sub.buf, "x\n", 2, 0644), CPK_ERR_IO,
	       "writing over a directory fails");
	ok(strstr(cpk_errmsg(), "cannot rename") != NULL, "at the rename (%s)", cpk_errmsg());
	is_int(count_entries(dir), n, "and leaves no temporary file");
	ok(count_entries(sub.buf) == 0 && rmdir(sub.buf) == 0, "the directory is untouched");

	/* a file too large for the process (RLIMIT_FSIZE): write fails for real */
	{
		struct rlimit old, lim;
		static char big[8192];
		cpk_err_t r;

		memset(big, 'b', sizeof(big));
		getrlimit(RLIMIT_FSIZE, &old);
		lim = old;
		lim.rlim_cur = 4096;
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &lim);
		r = cpk_write_atomic(path, big, sizeof(big), 0644);
		setrlimit(RLIMIT_FSIZE, &old);
		signal(SIGXFSZ, SIG_DFL);
		is_int(r, CPK_ERR_IO, "a write over the file size limit fails");
		is_int(count_entries(dir), 1, "and leaves no temporary file");
		is_str(content(path), "old\n", "and the old file is intact");
	}

	/* a directory the writer may not write to (as nobody when root) */
	cpk_buf_reset(&sub);
	cpk_buf_addf(&sub, "%s/ro", dir);
	if (mkdir(sub.buf, 0555) == 0 && chmod(dir, 0755) == 0) {
		pid_t pid;
		int st = -1;

		cpk_buf_addstr(&sub, "/f.conf");
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
				_exit(99);
			_exit(cpk_write_atomic(sub.buf, "x", 1, 0644) == CPK_ERR_PERM &&
			      strstr(cpk_errmsg(), "cannot create a temporary file beside") ? 0 : 1);
		}
		waitpid(pid, &st, 0);
		ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		   "a read-only directory: CPK_ERR_PERM, saying where (status %d)", st);
		*strrchr(sub.buf, '/') = '\0';
		is_int(count_entries(sub.buf), 0, "and nothing is left in it");
		rmdir(sub.buf);
	} else {
		ok(0, "cannot make a read-only directory");
		ok(0, "cannot make a read-only directory");
	}
	cpk_buf_release(&sub);
}

static void test_read(const char *dir, const char *path)
{
	struct cpk_buf b = CPK_BUF_INIT;

	/* PATH holds "old\n": 4 bytes */
	is_int(cpk_read_file(path, &b, 4), CPK_OK, "a file of exactly the size limit is read");
	cpk_buf_reset(&b);
	is_int(cpk_read_file(path, &b, 3), CPK_ERR_INVALID, "one byte over the limit is refused");
	ok(strstr(cpk_errmsg(), "larger than 3 bytes") != NULL, "and says so (%s)", cpk_errmsg());
	cpk_buf_reset(&b);
	cpk_buf_addstr(&b, "kept:");
	is_int(cpk_read_file(path, &b, 0), CPK_OK, "read appends");
	is_str(b.buf, "kept:old\n", "to what the buffer held");
	cpk_buf_reset(&b);
	fault = READ_EINTR;
	is_int(cpk_read_file(path, &b, 0), CPK_OK, "EINTR on read: retried");
	fault = NONE;
	is_str(b.buf, "old\n", "EINTR on read: the whole content");
	cpk_buf_reset(&b);
	{
		int fds = count_fds();

		fault = READ;
		is_int(cpk_read_file(path, &b, 0), CPK_ERR_IO, "a failed read is an error");
		fault = NONE;
		ok(strstr(cpk_errmsg(), path) != NULL, "naming the file (%s)", cpk_errmsg());
		is_int(count_fds(), fds, "and closes it");
	}
	cpk_buf_reset(&b);
	is_int(cpk_read_file(dir, &b, 0), CPK_ERR_IO, "reading a directory is an error");
	is_int(cpk_read_file("/nonexistent-dir/x", &b, 0), CPK_ERR_NOTFOUND, "read a missing file");
	cpk_buf_release(&b);
}

static void test_mkdir(const char *dir)
{
	struct cpk_buf p = CPK_BUF_INIT;
	struct stat st;

	cpk_buf_addf(&p, "%s/m/n/", dir);
	is_int(cpk_mkdir_p(p.buf, 0700), CPK_OK, "mkdir -p with a trailing slash");
	ok(stat(p.buf, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
	   "made, with the mode asked");
	cpk_buf_reset(&p);
	cpk_buf_addf(&p, "%s/file", dir);
	ok(cpk_write_atomic(p.buf, "x", 1, 0644) == CPK_OK, "a plain file");
	is_int(cpk_mkdir_p(p.buf, 0755), CPK_ERR_NOTFOUND, "mkdir -p over a plain file fails");
	ok(strstr(cpk_errmsg(), p.buf) != NULL, "naming it (%s)", cpk_errmsg());
	cpk_buf_addstr(&p, "/below");
	is_int(cpk_mkdir_p(p.buf, 0755), CPK_ERR_NOTFOUND, "mkdir -p through a plain file fails");
	cpk_buf_release(&p);
}

/* cpk_write_at: relative to an open directory, replacing or not. */
static void test_write_at(const char *dir)
{
	struct cpk_buf p = CPK_BUF_INIT;
	int dfd;

	cpk_buf_addf(&p, "%s/at", dir);
	if (mkdir(p.buf, 0755) < 0 || (dfd = open(p.buf, O_RDONLY | O_DIRECTORY)) < 0) {
		ok(0, "a directory for cpk_write_at");
		cpk_buf_release(&p);
		return;
	}
#define NOONE (uid_t)-1, (gid_t)-1
	is_int(cpk_write_at(dfd, "n.yaml", "at/n.yaml", "one\n", 4, 0640, NOONE,
			    CPK_WRITE_NOREPLACE),
	       CPK_OK, "write_at a new file, no replace");
	cpk_buf_addstr(&p, "/n.yaml");
	is_str(content(p.buf), "one\n", "its content");
	is_int(mode_of(p.buf), 0640, "its mode");
	is_int(cpk_write_at(dfd, "n.yaml", "at/n.yaml", "two\n", 4, 0644, NOONE,
			    CPK_WRITE_NOREPLACE),
	       CPK_ERR_EXISTS, "no replace: an existing file is CPK_ERR_EXISTS");
	is_str(content(p.buf), "one\n", "and keeps its content");
	is_int(cpk_write_at(dfd, "n.yaml", "at/n.yaml", "two\n", 4, 0644, NOONE, 0), CPK_OK,
	       "without the flag: replaced");
	is_str(content(p.buf), "two\n", "the new content");
	is_int(cpk_write_at(dfd, "../n.yaml", "x", "x", 1, 0644, NOONE, 0), CPK_ERR_INVALID,
	       "a name with '/' refused");
	is_int(cpk_write_at(dfd, "..", "x", "x", 1, 0644, NOONE, 0), CPK_ERR_INVALID,
	       "'..' refused");
	is_int(cpk_write_at(dfd, "", "x", "x", 1, 0644, NOONE, 0), CPK_ERR_INVALID,
	       "an empty name refused");
	{
		char longname[243];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		is_int(cpk_write_at(dfd, longname, "x", "x", 1, 0644, NOONE, 0), CPK_ERR_INVALID,
		       "a name of 242 bytes refused (its temporary would not fit NAME_MAX)");
		longname[sizeof(longname) - 2] = '\0';
		is_int(cpk_write_at(dfd, longname, "x", "x", 1, 0644, NOONE, 0), CPK_OK,
		       "a name of 241 bytes written");
		(void)unlinkat(dfd, longname, 0);
	}
	if (symlinkat("n.yaml", dfd, "link") == 0) {
		struct stat st;

		is_int(cpk_write_at(dfd, "link", "at/link", "l\n", 2, 0644, NOONE, 0), CPK_OK,
		       "a symbolic link at the name: replaced");
		ok(fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode),
		   "by a regular file");
		is_str(content(p.buf), "two\n", "its old target untouched");
		(void)unlinkat(dfd, "link", 0);
	} else {
		ok(0, "a symbolic link for cpk_write_at: %s", strerror(errno));
	}
#undef NOONE
	p.len -= strlen("/n.yaml");
	p.buf[p.len] = '\0';
	is_int(count_entries(p.buf), 1, "no temporary file left");
	close(dfd);
	cpk_buf_release(&p);
}

int main(void)
{
	char dir[] = "/tmp/cpk-fsutil.XXXXXX";
	struct cpk_buf b = CPK_BUF_INIT, path = CPK_BUF_INIT, leaf = CPK_BUF_INIT;
	int fds = count_fds();

	if (!mkdtemp(dir))
		return 1;
	cpk_buf_addf(&leaf, "%s/a/b/c", dir);
	is_int(cpk_mkdir_p(leaf.buf, 0755), CPK_OK, "mkdir -p");
	is_int(cpk_mkdir_p(leaf.buf, 0755), CPK_OK, "mkdir -p again");
	cpk_buf_addf(&path, "%s/f.conf", leaf.buf);
	is_int(cpk_write_atomic(path.buf, "one\n", 4, 0600), CPK_OK, "write");
	is_int(mode_of(path.buf), 0600, "mode 0600");
	umask(077);
	is_int(cpk_write_atomic(path.buf, "two\n", 4, 0644), CPK_OK, "replace");
	is_int(mode_of(path.buf), 0644, "mode 0644 whatever the umask");
	umask(022);
	is_str(content(path.buf), "two\n", "new content");
	/* the temporaries are made beside the file, three levels down */
	is_int(count_entries(leaf.buf), 1, "no temporary files left");
	is_int(cpk_write_atomic(path.buf, "", 0, 0644), CPK_OK, "an empty file");
	is_str(content(path.buf), "", "is empty");
	is_int(count_entries(leaf.buf), 1, "still no temporary files");

	if (chdir(leaf.buf) == 0) {
		is_int(cpk_write_atomic("rel.conf", "rel\n", 4, 0644), CPK_OK,
		       "a relative name without a directory");
		is_str(content("rel.conf"), "rel\n", "is written in the working directory");
		unlink("rel.conf");
	}
	test_failures(leaf.buf, path.buf);
	test_interrupted(path.buf);
	cpk_write_atomic(path.buf, "old\n", 4, 0644);
	test_real_failures(leaf.buf, path.buf);
	test_read(leaf.buf, path.buf);
	test_mkdir(dir);
	test_write_at(dir);

	is_int(cpk_write_atomic("/nonexistent-dir/x", "x", 1, 0644), CPK_ERR_NOTFOUND,
	       "write into a missing directory fails");
	ok(strstr(cpk_errmsg(), "/nonexistent-dir/x") != NULL, "message names the file: %s",
	   cpk_errmsg());
	is_int(count_fds(), fds, "no descriptor left open by anything above");
	is_int(double_closes, 0, "and none closed twice");

	if (chdir("/") != 0)
		return 1;
	cpk_buf_reset(&path);
	cpk_buf_addf(&path, "rm -rf %s", dir);
	if (system(path.buf) != 0)
		return 1;
	cpk_buf_release(&path);
	cpk_buf_release(&leaf);
	cpk_buf_release(&b);
	return done_testing();
}
