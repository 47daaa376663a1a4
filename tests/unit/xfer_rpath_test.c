/* Unit tests of the remote path patterns (lib/xfer/rpath.c): which paths
 * are patterns, escapes, and how a component matches a listed name. */
#include <stdlib.h>
#include <string.h>

#include "cpk/xfer.h"
#include "../../lib/xfer/xfer_priv.h"
#include "tap.h"

static void unescaped(const char *in, const char *want)
{
	char *got = xrpath_unescape(in);

	is_str(got, want, "unescape '%s'", in);
	free(got);
}

static void match(const char *pat, const char *name, int want)
{
	is_int(xrpath_match(pat, name), want, "'%s' %s '%s'", pat,
	       want ? "matches" : "does not match", name);
}

int main(void)
{
	/* patterns */
	ok(xrpath_has_magic("*"), "'*' is a pattern");
	ok(xrpath_has_magic("a/b?c"), "'?' in a later component");
	ok(xrpath_has_magic("run*/out"), "'*' in a middle component");
	ok(xrpath_has_magic("x[ab]"), "'[ab]'");
	ok(xrpath_has_magic("x[]]"), "'[]]': ']' first is one of the set");
	ok(xrpath_has_magic("x[!a]"), "'[!a]'");
	ok(xrpath_has_magic("a\\\\*"), "'\\\\*': an escaped backslash, then '*'");
	ok(!xrpath_has_magic("plain/path"), "no metacharacter");
	ok(!xrpath_has_magic(""), "'' is none");
	ok(!xrpath_has_magic("a\\*b"), "'\\*' is escaped");
	ok(!xrpath_has_magic("a\\?\\[x]"), "'\\?' and '\\[' are escaped");
	ok(!xrpath_has_magic("a[b"), "'[' without ']' is literal");
	ok(!xrpath_has_magic("a[b/c]"), "'[' closed only in the next component "
	   "is literal");
	ok(!xrpath_has_magic("a[]"), "'[]' is literal");
	ok(!xrpath_has_magic("~/x"), "'~' is no glob");
	ok(!xrpath_has_magic("trailing\\"), "a lone trailing backslash");
	/* escapes */
	unescaped("a\\*b", "a*b");
	unescaped("a\\?\\[\\]", "a?[]");
	unescaped("a\\\\b", "a\\b");
	unescaped("a\\b", "a\\b");
	unescaped("x\\", "x\\");
	unescaped("", "");
	unescaped("no/escape", "no/escape");
	/* matching */
	match("*", "file", 1);
	match("*", ".hid", 0);
	match(".*", ".hid", 1);
	match("?hid", ".hid", 0);
	match("[.]hid", ".hid", 0);
	match("*.txt", "a.txt", 1);
	match("*.txt", "a.txt~", 0);
	match("?x", "ax", 1);
	match("?x", "abx", 0);
	match("[ab]x", "bx", 1);
	match("[ab]x", "cx", 0);
	match("[!ab]x", "cx", 1);
	match("a\\*b", "a*b", 1);
	match("a\\*b", "axb", 0);
	match("[a]\\*b", "a*b", 1);
	match("a\\b*", "a\\bc", 1);
	match("a\\b*", "abc", 0);
	match("a\\\\*", "a\\z", 1);
	match("*", "", 1);
	return done_testing();
}
