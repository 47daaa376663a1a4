/*
 * Unit tests for lib/apply/login.c: `sss` added to the sources of passwd,
 * group and shadow in a node's nsswitch.conf, every other byte kept; a
 * second edit changes nothing; hostile and odd files (comments, CRLF, no
 * final newline, NUL bytes, empty sources, lookalike names, repeated
 * lines, a huge line).
 */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "cpk/buf.h"
#include "../../lib/apply/apply_priv.h"

static char *edit(const char *in, size_t len, int exists)
{
	struct cpk_buf out = CPK_BUF_INIT;

	if (apply_nsswitch_sss(in, len, exists, &out) != CPK_OK)
		return NULL;
	return cpk_buf_detach(&out, NULL);
}

/* EDIT(IN) is WANT, and editing WANT again changes nothing. */
static void check(const char *in, const char *want, const char *what)
{
	char *got = edit(in, strlen(in), 1), *again = got ? edit(got, strlen(got), 1) : NULL;

	is_str(got, want, "%s", what);
	is_str(again, want, "%s: a second edit changes nothing", what);
	free(got);
	free(again);
}

int main(void)
{
	char *s, *big;
	size_t n;

	check("passwd:         files systemd\ngroup:          files systemd\n"
	      "shadow:         files\ngshadow:        files\nhosts:          files dns\n",
	      "passwd:         files systemd sss\ngroup:          files systemd sss\n"
	      "shadow:         files sss\ngshadow:        files\nhosts:          files dns\n",
	      "Debian 12's file: sss after the sources, gshadow and hosts kept");
	check("passwd: files sss\ngroup: sss files\nshadow: files sss\n",
	      "passwd: files sss\ngroup: sss files\nshadow: files sss\n",
	      "sss already there (anywhere among the sources): untouched");
	check("# passwd: files\npasswd: files # local first\n",
	      "# passwd: files\npasswd: files sss # local first\ngroup:          files sss\n"
	      "shadow:         files sss\n",
	      "comments kept: sss before a trailing comment; a commented-out line left alone; "
	      "missing databases appended");
	check("  passwd\t:\tfiles\t\nshadow:\ngroup:   # none\n",
	      "  passwd\t:\tfiles sss\t\nshadow: files sss\ngroup: files sss   # none\n",
	      "blanks around the name and colon, trailing blanks, no sources (glibc's default is files)");
	check("passwd: files\r\ngroup: files\r\nshadow: files\r\n",
	      "passwd: files sss\r\ngroup: files sss\r\nshadow: files sss\r\n",
	      "CRLF lines: sss before the CR");
	check("passwd: files\ngroup: files",
	      "passwd: files sss\ngroup: files sss\nshadow:         files sss\n",
	      "no final newline: one added before the appended line");
	check("passwd: files\npasswd: compat\n",
	      "passwd: files sss\npasswd: compat sss\ngroup:          files sss\n"
	      "shadow:         files sss\n",
	      "a repeated database: every line gets sss");
	check("passwdx: files\nxpasswd: files\npasswd files\nnetgroup: nis\n",
	      "passwdx: files\nxpasswd: files\npasswd files\nnetgroup: nis\n"
	      "passwd:         files sss\ngroup:          files sss\nshadow:         files sss\n",
	      "lookalike names and a line without a colon are not passwd");
	check("passwd: files sssd\n",
	      "passwd: files sssd sss\ngroup:          files sss\nshadow:         files sss\n",
	      "'sssd' is not the source sss");
	check("", "passwd:         files sss\ngroup:          files sss\nshadow:         files sss\n",
	      "an empty file: the three lines");

	s = edit("passwd: files\0evil\ngroup: files\n", 27, 1);
	n = s ? strlen(s) : 0;
	ok(s && n == 13 && !memcmp(s, "passwd: files", 13),
	   "a NUL byte inside a line: the line is kept whole (bytes after the NUL too)");
	free(s);
	{
		struct cpk_buf out = CPK_BUF_INIT;
		static const char nul[] = "passwd: files\0evil\ngroup: files\n";

		ok(apply_nsswitch_sss(nul, sizeof(nul) - 1, 1, &out) == CPK_OK &&
		   out.len == sizeof(nul) - 1 + 8 + 26 &&
		   !memcmp(out.buf, "passwd: files\0evil sss\ngroup: files sss\n", 40),
		   "  and its sources get sss after every byte of them");
		cpk_buf_release(&out);
	}

	s = edit(NULL, 0, 0);
	ok(s && strstr(s, "\npasswd:         files sss\n") && strstr(s, "\nhosts:          files dns\n"),
	   "no file: Debian's defaults with sss");
	free(s);

	n = 4 << 20;
	big = malloc(n + 32);
	ok(big != NULL, "a 4 MiB line");
	if (big) {
		memcpy(big, "passwd: ", 8);
		memset(big + 8, 'x', n - 8);
		big[n] = '\n';
		s = edit(big, n + 1, 1);
		ok(s && strlen(s) == n + 1 + 4 + 52 && !memcmp(s + n, " sss\n", 5),
		   "  edited in place, the rest appended");
		free(s);
		free(big);
	}
	return done_testing();
}
