/* Unit tests of the known_hosts @revoked reader (lib/xfer/knownhosts.c):
 * which lines revoke a key, line numbers, long lines at the bound, NULs,
 * CRLF, and files that are no regular file. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/xfer/xfer_priv.h"
#include "sshfp.h"
#include "tap.h"

#define LINE_MAX_KH 16384	/* the bound in knownhosts.c */

/* an ed25519 key and another one */
#define B64 "AAAAC3NzaC1lZDI1NTE5AAAAIOmuHzqbBXzqRPKiELjyyPR2n6CP1kEFJSl2fp7C6yWh"
#define B64_OTHER \
	"AAAAC3NzaC1lZDI1NTE5AAAAIDxF5y3p2t8vJ8v3bJQ0n7h0yS1c3P4o5Gk4Qk2b3WqZ"

static char path[64];
static unsigned char *blob;
static size_t blen;

static void put(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(text, 1, len, f) != len || fclose(f)) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
}

/* The line number xkh_revoked() finds in the file (-1: an error). */
static long found_put(void)
{
	unsigned long line = 99;

	if (xkh_revoked(path, blob, blen, &line) != CPK_OK)
		return -1;
	return (long)line;
}

/* The same in a file holding TEXT. */
static long found(const char *text)
{
	unsigned long line = 99;

	put(text, strlen(text));
	if (xkh_revoked(path, blob, blen, &line) != CPK_OK)
		return -1;
	return (long)line;
}

/* A "@revoked * ssh-ed25519 B64" line padded with blanks to LEN bytes
 * before its newline. */
static char *padded(size_t len)
{
	const char *l = "@revoked * ssh-ed25519 " B64;
	char *s = malloc(len + 2);

	memset(s, ' ', len);
	memcpy(s, l, strlen(l));
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

int main(void)
{
	unsigned long line = 99;
	char *a, *b, *text;
	size_t n;

	snprintf(path, sizeof(path), "/tmp/kh-test.%d", (int)getpid());
	if (cpk_sshfp_decode(B64, strlen(B64), &blob, &blen) != CPK_OK) {
		printf("Bail out! cannot decode the test key\n");
		return 1;
	}
	alarm(60);	/* a blocking open fails the run, never hangs it */

	unlink(path);
	ok(xkh_revoked(path, blob, blen, &line) == CPK_OK && line == 0,
	   "a missing file: none");
	line = 99;
	ok(xkh_revoked(NULL, blob, blen, &line) == CPK_OK && line == 0,
	   "no file: none");
	is_int(found(""), 0, "an empty file: none");
	is_int(found("[h]:22 ssh-ed25519 " B64 "\n"), 0,
	       "an accepting line: none");
	is_int(found("@revoked * ssh-ed25519 " B64 "\n"), 1, "@revoked *");
	is_int(found("# c\n\n[h]:22 ssh-ed25519 " B64 "\n"
		     "@revoked h ssh-ed25519 " B64_OTHER "\n"
		     "@revoked other.host ssh-ed25519 " B64 " comment\n"
		     "@revoked * ssh-ed25519 " B64 "\n"), 5,
	       "the first revoking line's number, any host field");
	is_int(found("@revoked * ssh-ed25519 " B64), 1,
	       "a last line without newline");
	is_int(found("x\r\n\t @revoked\t*\tssh-ed25519\t" B64 "\r\n"), 2,
	       "tabs, leading blanks, CRLF");
	is_int(found("@revoked * ssh-rsa " B64 "\n"), 0,
	       "another type name: skipped");
	is_int(found("@revoked * ssh-ed25519 " B64 "A\n"), 0,
	       "not base64: no match");
	is_int(found("@revoked * ssh-ed25519 " B64 "AAAA\n"), 0,
	       "the blob and 3 bytes more: no match");
	is_int(found("@revoked * ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n"), 0,
	       "a prefix of the blob: no match");
	is_int(found("@revoked * ssh-ed25519\n@revoked *\n@revoked\n@\n"
		     "@revokedx * ssh-ed25519 " B64 "\n"
		     "@cert-authority * ssh-ed25519 " B64 "\n"
		     "* ssh-ed25519 " B64 "\n"
		     "@revoked * ssh-ed25519 !!!!\n"), 0,
	       "malformed and other lines: none, no error");
	is_int(found("@revoked ssh-ed25519 " B64 "\n"), 0,
	       "no host field: the type is taken for hosts, no match");

	/* a NUL ends a line; the next line counts from 2 */
	put("@revoked * ssh-ed25519 " B64 "\0junk\n", 23 + strlen(B64) + 6);
	is_int(found_put(), 1, "a NUL ends the line: found");
	put("@revoked\0 * ssh-ed25519 " B64 "\n@revoked * ssh-ed25519 " B64
	    "\n", 9 + 15 + strlen(B64) + 24 + strlen(B64) + 1);
	is_int(found_put(), 2,
	       "a line cut short by a NUL: skipped, the next is line 2");

	/* long lines, at the bound and past it */
	a = padded(LINE_MAX_KH);
	is_int(found(a), 1, "a revoking line of %d bytes: found", LINE_MAX_KH);
	b = padded(LINE_MAX_KH + 1);
	is_int(found(b), 0, "one of %d bytes: skipped", LINE_MAX_KH + 1);
	n = strlen(b) * 3 + strlen(a) + 1;
	text = malloc(n);
	snprintf(text, n, "%s%s%s%s", b, b, b, a);
	is_int(found(text), 4, "three long lines skipped whole, then line 4");
	free(text);
	free(a);
	free(b);

	/* files that are none */
	unlink(path);
	ok(mkfifo(path, 0600) == 0, "a FIFO");
	line = 99;
	ok(xkh_revoked(path, blob, blen, &line) == CPK_OK && line == 0,
	   "  with no writer: none, no hang");
	unlink(path);
	ok(mkdir(path, 0700) == 0, "a directory");
	line = 99;
	ok(xkh_revoked(path, blob, blen, &line) == CPK_OK && line == 0,
	   "  none");
	rmdir(path);
	line = 99;
	ok(xkh_revoked("/dev/zero", blob, blen, &line) == CPK_OK && line == 0,
	   "/dev/zero: none, no endless read");

	/* a malformed server blob matches nothing */
	line = 99;
	put("@revoked * ssh-ed25519 " B64 "\n", 24 + strlen(B64));
	ok(xkh_revoked(path, blob, 3, &line) == CPK_OK && line == 0,
	   "a server blob too short for its type: none");
	unlink(path);
	free(blob);
	return done_testing();
}
