/*
 * Unit tests for lib/munge/key.c: what makes a key usable (mode, owner,
 * type, size) and what a failed creation leaves behind.
 *
 * Failures are injected by defining fchown, fsync, link and getrandom here
 * (see fault.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cpk/munge.h"
#include "fault.h"
#include "tap.h"

enum fault { NONE, FCHOWN, FSYNC, LINK_RACE, RANDOM_EINTR };
static enum fault fault;
static int random_calls;
static unsigned char handed[4096];	/* RANDOM_EINTR: the bytes given out */
static size_t nhanded;

int fchown(int fd, uid_t uid, gid_t gid)
{
	if (fault == FCHOWN)
		return fault_fail(EPERM);
	return (int)syscall(SYS_fchown, fd, uid, gid);
}

int fsync(int fd)
{
	if (fault == FSYNC)
		return fault_fail(EIO);
	return (int)syscall(SYS_fsync, fd);
}

/* LINK_RACE: another process makes the key between the check and the link. */
int link(const char *from, const char *to)
{
	if (fault == LINK_RACE) {
		int fd = open(to, O_WRONLY | O_CREAT | O_EXCL, 0400);

		if (fd >= 0) {
			if (write(fd, "the other key\n", 14) != 14)
				return -1;
			close(fd);
		}
	}
	return linkat(AT_FDCWD, from, AT_FDCWD, to, 0);
}

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
	random_calls++;
	if (fault == RANDOM_EINTR && random_calls == 1)
		return fault_fail(EINTR);
	if (fault == RANDOM_EINTR) {
		ssize_t n;

		if (len > 100)
			len = 100;	/* a short read: the rest comes from later calls */
		n = syscall(SYS_getrandom, buf, len, flags);
		if (n > 0 && nhanded + (size_t)n <= sizeof(handed)) {
			memcpy(handed + nhanded, buf, (size_t)n);
			nhanded += (size_t)n;
		}
		return n;
	}
	return syscall(SYS_getrandom, buf, len, flags);
}

static int is_root;

#define SKIP_UNLESS_ROOT(name)                                           \
	if (!is_root) {                                                  \
		ok(1, "# SKIP %s needs root", name);                     \
	} else

/* Writes LEN random-looking bytes to PATH with MODE. */
static void make_file(const char *path, size_t len, mode_t mode)
{
	char buf[2048];
	int fd;

	memset(buf, 'k', sizeof(buf));
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len || fchmod(fd, mode) < 0)
		printf("Bail out! cannot write %s\n", path);
	if (fd >= 0)
		close(fd);
}

static void test_check(const char *dir)
{
	static const mode_t refused[] = { 0404, 0440, 0402, 0420, 0401, 0410, 0444, 0640, 0604 };
	char k[512], l[512];
	struct passwd *munge = getpwnam("munge");
	size_t i;

	snprintf(k, sizeof(k), "%s/k", dir);
	make_file(k, 1024, 0400);
	is_int(cpk_munge_key_check(k), CPK_OK, "0400, 1024 bytes: usable");
	chmod(k, 0600);
	is_int(cpk_munge_key_check(k), CPK_OK, "0600: usable");
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		chmod(k, refused[i]);
		is_int(cpk_munge_key_check(k), CPK_ERR_PERM, "mode %04o refused", (unsigned)refused[i]);
	}
	ok(strstr(cpk_errmsg(), "has mode 0604: group or others may access") != NULL,
	   "and says why (%s)", cpk_errmsg());
	chmod(k, 0400);

	make_file(k, CPK_MUNGE_KEY_MIN, 0400);
	is_int(cpk_munge_key_check(k), CPK_OK, "exactly %d bytes: usable", CPK_MUNGE_KEY_MIN);
	make_file(k, CPK_MUNGE_KEY_MIN - 1, 0400);
	is_int(cpk_munge_key_check(k), CPK_ERR_INVALID, "%d bytes: too short", CPK_MUNGE_KEY_MIN - 1);
	ok(strstr(cpk_errmsg(), "holds 31 bytes; a munge key needs at least 32") != NULL,
	   "and says why (%s)", cpk_errmsg());
	make_file(k, 1024, 0400);

	SKIP_UNLESS_ROOT("an owner other than root")
	{
		ok(chown(k, 65534, 65534) == 0 && cpk_munge_key_check(k) == CPK_ERR_PERM,
		   "a key owned by another user (65534) is refused");
		ok(strstr(cpk_errmsg(), "is owned by uid 65534") != NULL, "and says why (%s)",
		   cpk_errmsg());
	}
	if (is_root && munge && munge->pw_uid != 65534)
		ok(chown(k, munge->pw_uid, munge->pw_gid) == 0 && cpk_munge_key_check(k) == CPK_OK,
		   "a key owned by the munge user is usable");
	else
		ok(1, "# SKIP needs root and a munge user");
	SKIP_UNLESS_ROOT("chown to root")
		ok(chown(k, 0, 0) == 0 && cpk_munge_key_check(k) == CPK_OK,
		   "a key owned by root is usable");

	snprintf(l, sizeof(l), "%s/link", dir);
	ok(symlink(k, l) == 0, "a symbolic link to a good key");
	is_int(cpk_munge_key_check(l), CPK_ERR_INVALID, "is refused");
	ok(strstr(cpk_errmsg(), "is a symbolic link") != NULL, "and says why (%s)", cpk_errmsg());
	unlink(l);
	is_int(cpk_munge_key_check(dir), CPK_ERR_INVALID, "a directory is refused");
	ok(strstr(cpk_errmsg(), "is not a regular file") != NULL, "as not a regular file");
	snprintf(l, sizeof(l), "%s/fifo", dir);
	if (mkfifo(l, 0600) == 0) {
		alarm(20);	/* a check that blocks on the FIFO fails here */
		is_int(cpk_munge_key_check(l), CPK_ERR_INVALID, "a FIFO is refused, without blocking");
		alarm(0);
		unlink(l);
	} else {
		ok(0, "mkfifo %s", l);
	}
	snprintf(l, sizeof(l), "%s/missing", dir);
	is_int(cpk_munge_key_check(l), CPK_ERR_NOTFOUND, "a missing key: not found");
	ok(strstr(cpk_errmsg(), l) != NULL, "naming it (%s)", cpk_errmsg());
	unlink(k);
}

static void test_create(const char *dir)
{
	char k[512], k2[512];
	unsigned char a[1024], b[1024];
	struct stat st;
	int fd, n, zeros = 0;
	size_t i;

	snprintf(k, sizeof(k), "%s/munge.key", dir);
	snprintf(k2, sizeof(k2), "%s/other.key", dir);
	is_int(cpk_munge_key_create(k, (uid_t)-1, (gid_t)-1), CPK_OK, "create");
	ok(stat(k, &st) == 0 && (st.st_mode & 07777) == 0400 && st.st_size == CPK_MUNGE_KEY_LEN &&
	   st.st_uid == geteuid(), "0400, %d bytes, owned by the caller", CPK_MUNGE_KEY_LEN);
	is_int(cpk_munge_key_check(k), CPK_OK, "a created key passes the check");
	is_int(count_entries(dir), 1, "no temporary file left");
	is_int(cpk_munge_key_create(k2, (uid_t)-1, (gid_t)-1), CPK_OK, "create another");
	fd = open(k, O_RDONLY);
	n = fd >= 0 && read(fd, a, sizeof(a)) == (ssize_t)sizeof(a);
	if (fd >= 0)
		close(fd);
	fd = open(k2, O_RDONLY);
	n = n && fd >= 0 && read(fd, b, sizeof(b)) == (ssize_t)sizeof(b);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < sizeof(a); i++)
		zeros += !a[i];
	ok(n && memcmp(a, b, sizeof(a)) != 0 && zeros < 32, "keys are random (%d zero bytes)", zeros);
	unlink(k2);

	is_int(cpk_munge_key_create(k, (uid_t)-1, (gid_t)-1), CPK_ERR_EXISTS,
	       "an existing key is never replaced");
	fd = open(k, O_RDONLY);
	ok(fd >= 0 && read(fd, b, sizeof(b)) == (ssize_t)sizeof(b) && !memcmp(a, b, sizeof(a)),
	   "and is unchanged");
	if (fd >= 0)
		close(fd);
	ok(symlink("/nonexistent", k2) == 0, "a dangling symbolic link in the key's place");
	is_int(cpk_munge_key_create(k2, (uid_t)-1, (gid_t)-1), CPK_ERR_EXISTS,
	       "is not followed");
	unlink(k2);
	unlink(k);

	fault = FSYNC;
	is_int(cpk_munge_key_create(k, (uid_t)-1, (gid_t)-1), CPK_ERR_IO, "a failed fsync: an error");
	fault = NONE;
	is_int(count_entries(dir), 0, "and leaves neither a key nor a temporary file");
	fault = FCHOWN;
	is_int(cpk_munge_key_create(k, 0, 0), CPK_ERR_PERM, "a failed chown: an error");
	fault = NONE;
	is_int(count_entries(dir), 0, "and leaves neither a key nor a temporary file");
	fault = LINK_RACE;
	is_int(cpk_munge_key_create(k, (uid_t)-1, (gid_t)-1), CPK_ERR_EXISTS,
	       "a key made by someone else meanwhile: EXISTS");
	fault = NONE;
	fd = open(k, O_RDONLY);
	ok(fd >= 0 && read(fd, b, 14) == 14 && !memcmp(b, "the other key\n", 14),
	   "that key is kept");
	if (fd >= 0)
		close(fd);
	is_int(count_entries(dir), 1, "and no temporary file is left");
	unlink(k);
	random_calls = 0;
	fault = RANDOM_EINTR;
	is_int(cpk_munge_key_create(k, (uid_t)-1, (gid_t)-1), CPK_OK,
	       "getrandom interrupted, then short: still a key");
	fault = NONE;
	ok(random_calls > 2, "made of several calls (%d)", random_calls);
	fd = open(k, O_RDONLY);
	ok(fd >= 0 && read(fd, a, sizeof(a)) == (ssize_t)sizeof(a) && nhanded == sizeof(a) &&
	   !memcmp(a, handed, sizeof(a)), "the key is the bytes given, in order (%zu)", nhanded);
	if (fd >= 0)
		close(fd);
	unlink(k);
	snprintf(k, sizeof(k), "%s/nodir/munge.key", dir);
	is_int(cpk_munge_key_create(k, (uid_t)-1, (gid_t)-1), CPK_ERR_NOTFOUND,
	       "a missing directory: not found");
	ok(strstr(cpk_errmsg(), k) != NULL, "naming the key (%s)", cpk_errmsg());
}

int main(void)
{
	char dir[] = "/tmp/cpk-munge.XXXXXX", cmd[64];

	is_root = geteuid() == 0;
	if (!mkdtemp(dir))
		return 1;
	test_check(dir);
	test_create(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return done_testing();
}
