/*
 * Fault injection for the unit tests of library code that calls libc
 * (fsutil_test.c, munge_test.c).  A test program defines the libc
 * functions it wants to fail (fsync, write, rename, ...): linked statically
 * before libc, its definitions take the place of libc's for the library
 * code linked into it.  Each does the real system call (syscall(2)) unless
 * the test's own FAULT says it should fail, which it does with
 * fault_fail(); count_entries() then shows what a failure left behind.
 */
#ifndef CPK_TEST_FAULT_H
#define CPK_TEST_FAULT_H

#include <dirent.h>
#include <errno.h>
#include <string.h>

/* An injected failure: sets errno to ERR and returns -1. */
__attribute__((unused))
static int fault_fail(int err)
{
	errno = err;
	return -1;
}

/* How many entries directory DIR has, "." and ".." not counted (0 if it
 * cannot be read). */
__attribute__((unused))
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

#endif
