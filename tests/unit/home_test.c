/*
 * Home directories: copying a skeleton without following links, ownership
 * and modes, refusing existing or foreign homes, removing without
 * following links out, and never into another filesystem mounted inside
 * a home (tmpfs and bind mounts made in a private mount namespace).  Needs
 * root (chown); skips otherwise.
 */
#define _GNU_SOURCE		/* unshare */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk/ldap.h"
#include "tap.h"

static char top[] = "/tmp/home_test.XXXXXX";

static void put(const char *rel, const char *text, mode_t mode)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) < 0 || fchmod(fd, mode)) {
		printf("Bail out! cannot write %s\n", p);
		exit(1);
	}
	close(fd);
}

static void dir(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (mkdir(p, 0755) && errno != EEXIST) {
		printf("Bail out! mkdir %s\n", p);
		exit(1);
	}
}

static void link_to(const char *target, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (symlink(target, p)) {
		printf("Bail out! symlink %s\n", p);
		exit(1);
	}
}

static int lst(const char *rel, struct stat *st)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	return lstat(p, st);
}

static int owned(const char *rel, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;

	if (lst(rel, &st))
		return 0;
	if (st.st_uid != uid || st.st_gid != gid) {
		printf("# %s: owner %lu:%lu\n", rel, (unsigned long)st.st_uid,
		       (unsigned long)st.st_gid);
		return 0;
	}
	if (mode != (mode_t)-1 && (st.st_mode & 07777) != mode) {
		printf("# %s: mode %04o\n", rel, (unsigned)(st.st_mode & 07777));
		return 0;
	}
	return 1;
}

static int do_mount(const char *src, const char *rel, const char *type,
		    unsigned long flags, const char *data)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (mount(src, p, type, flags, data) == 0)
		return 1;
	printf("# mount %s on %s: %s\n", src, p, strerror(errno));
	return 0;
}

static void do_umount(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (umount2(p, MNT_DETACH))
		printf("# umount %s: %s\n", p, strerror(errno));
}

static int exists(const char *rel)
{
	struct stat st;

	return lst(rel, &st) == 0;
}

static void chown_rel(const char *rel, uid_t uid)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (lchown(p, uid, uid)) {
		printf("Bail out! chown %s\n", p);
		exit(1);
	}
}

/*
 * Another filesystem mounted inside a home, or a bind mount of the same
 * one, or the home itself a mount point: removal refuses before removing
 * anything, and nothing on the other filesystem is touched.  In a private
 * mount namespace of this process (gone when it exits).
 */
static void test_mounts(struct cpk_users *u, const char *outside)
{
	cpk_err_t r;
	int m;

	if (unshare(CLONE_NEWNS) ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		ok(1, "# SKIP mounts inside a home: no private mount namespace "
		   "here (%s)", strerror(errno));
		return;
	}
	dir("home/dan");
	put("home/dan/a", "a\n", 0644);
	dir("home/dan/sub");
	put("home/dan/sub/b", "b\n", 0644);
	dir("home/dan/sub/mnt");
	chown_rel("home/dan", 4000);
	m = do_mount("tmpfs", "home/dan/sub/mnt", "tmpfs", 0, "size=1m,mode=0755");
	if (!m) {
		ok(0, "mount a tmpfs inside dan's home");
		return;
	}
	put("home/dan/sub/mnt/precious", "on another filesystem\n", 0644);
	dir("home/dan/sub/mnt/deep");
	put("home/dan/sub/mnt/deep/more", "x\n", 0644);
	r = cpk_home_remove(u, "dan", 4000);
	ok(r == CPK_ERR_PERM && strstr(cpk_errmsg(), "sub/mnt") &&
	   strstr(cpk_errmsg(), "another filesystem"),
	   "a tmpfs inside the home: removal refused: %s", cpk_errmsg());
	ok(exists("home/dan/sub/mnt/precious") &&
	   exists("home/dan/sub/mnt/deep/more"),
	   "nothing on the tmpfs was removed");
	ok(exists("home/dan/a") && exists("home/dan/sub/b"),
	   "nor anything else in the home (refused before removing)");
	do_umount("home/dan/sub/mnt");

	/* a bind mount of a directory of the SAME filesystem (same st_dev) */
	dir("home/dan/sub/bound");
	if (do_mount(outside, "home/dan/sub/bound", NULL, MS_BIND, NULL)) {
		r = cpk_home_remove(u, "dan", 4000);
		ok(r == CPK_ERR_PERM && strstr(cpk_errmsg(), "sub/bound"),
		   "a bind mount inside the home: removal refused: %s",
		   cpk_errmsg());
		ok(exists("outside/keep") && exists("home/dan/a"),
		   "the bound directory's files are untouched");
		do_umount("home/dan/sub/bound");
	} else {
		ok(0, "bind-mount a directory inside dan's home");
	}

	/* the home itself is a mount point */
	dir("home/erin");
	if (do_mount("tmpfs", "home/erin", "tmpfs", 0, "size=1m,mode=0700")) {
		chown_rel("home/erin", 4001);
		put("home/erin/f", "x\n", 0644);
		r = cpk_home_remove(u, "erin", 4001);
		ok(r == CPK_ERR_PERM && strstr(cpk_errmsg(), "another filesystem"),
		   "a home that is a mount point: removal refused: %s",
		   cpk_errmsg());
		ok(exists("home/erin/f"), "and its filesystem is not emptied");
		do_umount("home/erin");
	} else {
		ok(0, "mount a tmpfs as erin's home");
	}
	r = cpk_home_remove(u, "dan", 4000);
	ok(r == CPK_OK && !exists("home/dan") && exists("outside/keep"),
	   "unmounted: dan's home is removed (%s)", r ? cpk_errmsg() : "ok");
}

int main(void)
{
	struct cpk_users u = { 0 };
	char homes[512], skel[512], buf[1024], cmd[600], outside[256];
	struct stat st, pw_before, pw_after;
	cpk_err_t r;
	ssize_t n;
	int fd;

	if (geteuid() != 0) {
		printf("1..0 # SKIP home directories need root (chown)\n");
		return 0;
	}
	if (!mkdtemp(top)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(homes, sizeof(homes), "%s/home", top);
	snprintf(skel, sizeof(skel), "%s/skel", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	dir("home");
	dir("skel");
	dir("outside");
	put("outside/keep", "precious\n", 0644);
	put("skel/.bashrc", "# bashrc\n", 0644);
	put("skel/.secret", "s\n", 0600);
	put("skel/setuid", "x\n", 04755);
	dir("skel/.config");
	dir("skel/.config/app");
	put("skel/.config/app/conf", "a=1\n", 0640);
	link_to("/etc/passwd", "skel/passwd-link");	/* absolute, outside */
	link_to(".bashrc", "skel/rel-link");
	link_to(outside, "skel/outside-dir");		/* a dir link */
	snprintf(buf, sizeof(buf), "%s/skel/fifo", top);
	mkfifo(buf, 0644);
	stat("/etc/passwd", &pw_before);

	u.home_root = homes;
	u.skel = skel;
	r = cpk_home_create(&u, "alice", 12345, 23456);
	ok(r == CPK_OK, "create alice's home (%s)", cpk_errmsg());
	ok(owned("home/alice", 12345, 23456, 0700), "home is 12345:23456 0700");
	ok(owned("home/alice/.bashrc", 12345, 23456, 0644), ".bashrc copied");
	ok(owned("home/alice/.secret", 12345, 23456, 0600), ".secret keeps 0600");
	ok(owned("home/alice/setuid", 12345, 23456, 0755),
	   "setuid bit dropped");
	ok(owned("home/alice/.config", 12345, 23456, 0755) &&
	   owned("home/alice/.config/app", 12345, 23456, 0755) &&
	   owned("home/alice/.config/app/conf", 12345, 23456, 0640),
	   "nested directories copied");
	snprintf(buf, sizeof(buf), "%s/home/alice/.config/app/conf", top);
	fd = open(buf, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "a=1\n", "file content copied");
	ok(lst("home/alice/passwd-link", &st) == 0 && S_ISLNK(st.st_mode) &&
	   owned("home/alice/passwd-link", 12345, 23456, (mode_t)-1),
	   "symlink copied as a link, owned by the user");
	{
		char target[512];

		snprintf(buf, sizeof(buf), "%s/home/alice/passwd-link", top);
		n = readlink(buf, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		is_str(target, "/etc/passwd", "link target kept");
	}
	stat("/etc/passwd", &pw_after);
	ok(pw_after.st_uid == pw_before.st_uid &&
	   pw_after.st_gid == pw_before.st_gid &&
	   pw_after.st_mode == pw_before.st_mode,
	   "/etc/passwd untouched (no chown through the link)");
	ok(lst("home/alice/outside-dir", &st) == 0 && S_ISLNK(st.st_mode) &&
	   owned("outside", 0, 0, 0755), "directory link not followed");
	ok(lst("home/alice/fifo", &st) != 0, "fifo not copied");

	r = cpk_home_create(&u, "alice", 12345, 23456);
	ok(r == CPK_ERR_EXISTS && strstr(cpk_errmsg(), "already exists"),
	   "create again: %s", cpk_errmsg());
	link_to(outside, "home/evil");
	r = cpk_home_create(&u, "evil", 1000, 1000);
	ok(r == CPK_ERR_EXISTS, "a symlink in the way is not followed: %s",
	   cpk_errmsg());
	ok(owned("outside", 0, 0, 0755), "its target is untouched");
	r = cpk_home_remove(&u, "evil", 0);
	ok(r == CPK_ERR_PERM && strstr(cpk_errmsg(), "symbolic link"),
	   "remove refuses a symlink: %s", cpk_errmsg());
	r = cpk_home_create(&u, "../x", 1, 1);
	ok(r == CPK_ERR_INVALID, "name '../x' refused");
	u.skel = "/nonexistent/skel";
	r = cpk_home_create(&u, "bob", 1001, 1001);
	ok(r == CPK_ERR_NOTFOUND && lst("home/bob", &st) != 0,
	   "missing skel: error and nothing created (%s)", cpk_errmsg());
	u.skel = NULL;
	r = cpk_home_create(&u, "bob", 1001, 1001);
	ok(r == CPK_OK && owned("home/bob", 1001, 1001, 0700),
	   "no skel: an empty home");
	/* a skeleton that cannot be copied fully (deeper than 64 levels):
	 * the partial home is removed */
	{
		char rel[4096] = "deepskel";
		int i;

		dir("deepskel");
		put("deepskel/a", "a\n", 0644);
		for (i = 0; i < 70; i++) {
			size_t l = strlen(rel);

			snprintf(rel + l, sizeof(rel) - l, "/d");
			dir(rel);
		}
		snprintf(skel, sizeof(skel), "%s/deepskel", top);
		u.skel = skel;
		r = cpk_home_create(&u, "carol", 1002, 1002);
		ok(r == CPK_ERR_INVALID && strstr(cpk_errmsg(), "deeper"),
		   "a skeleton too deep fails: %s", cpk_errmsg());
		ok(lst("home/carol", &st) != 0, "and the partial home is gone");
		snprintf(skel, sizeof(skel), "%s/skel", top);
		r = cpk_home_create(&u, "carol", 1002, 1002);
		ok(r == CPK_OK, "carol's home made from the good skeleton");
	}

	/* removal */
	r = cpk_home_remove(&u, "alice", 999);
	ok(r == CPK_ERR_PERM && strstr(cpk_errmsg(), "owned by uid 12345"),
	   "remove with the wrong uid refused: %s", cpk_errmsg());
	ok(lst("home/alice/.bashrc", &st) == 0, "and nothing removed");
	/* plant links to the outside, as the user could */
	link_to(outside, "home/alice/victim-dir");
	snprintf(buf, sizeof(buf), "%s/keep", outside);
	link_to(buf, "home/alice/victim-file");
	dir("home/alice/sub");
	link_to(outside, "home/alice/sub/victim2");
	r = cpk_home_remove(&u, "alice", 12345);
	ok(r == CPK_OK && lst("home/alice", &st) != 0, "remove alice's home (%s)",
	   cpk_errmsg());
	ok(lst("outside/keep", &st) == 0 && owned("outside", 0, 0, 0755),
	   "links inside were removed, not followed");
	ok(stat("/etc/passwd", &st) == 0 && st.st_uid == 0,
	   "/etc/passwd still there");
	r = cpk_home_remove(&u, "alice", 12345);
	ok(r == CPK_ERR_NOTFOUND, "remove again: %s", cpk_errmsg());
	snprintf(buf, sizeof(buf), "%s/home/rootown", top);
	mkdir(buf, 0755);
	r = cpk_home_remove(&u, "rootown", 1001);
	ok(r == CPK_ERR_PERM && lst("home/rootown", &st) == 0,
	   "a directory owned by root is refused for uid 1001");
	ok(cpk_home_remove(&u, "bob", 1001) == CPK_OK &&
	   cpk_home_remove(&u, "carol", 1002) == CPK_OK, "remove bob and carol");
	test_mounts(&u, outside);
	u.home_root = "relative";
	ok(cpk_home_create(&u, "dan", 1, 1) == CPK_ERR_CONFIG,
	   "relative home_root refused");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", top);
	return done_testing();
}
