/* Unit tests: account names, RFC 4514 DN and RFC 4515 filter escaping. */
#include <stdlib.h>
#include <string.h>

#include "cpk/ldap.h"
#include "tap.h"

static void dn_is(const char *v, size_t len, const char *want,
		  const char *name)
{
	struct cpk_buf b = CPK_BUF_INIT;

	ok(cpk_ldap_escape_dn(v, len, &b) == CPK_OK, "dn escape %s: ok", name);
	is_str(b.buf, want, "dn escape %s", name);
	cpk_buf_release(&b);
}

static void filter_is(const char *v, size_t len, const char *want,
		      const char *name)
{
	struct cpk_buf b = CPK_BUF_INIT;

	ok(cpk_ldap_escape_filter(v, len, &b) == CPK_OK,
	   "filter escape %s: ok", name);
	is_str(b.buf, want, "filter escape %s", name);
	cpk_buf_release(&b);
}

#define S(lit) lit, sizeof(lit) - 1

static void name_ok(const char *n)
{
	ok(cpk_name_check(n) == CPK_OK, "name '%s' accepted", n);
}

static void name_bad(const char *n, const char *why)
{
	cpk_err_t r = cpk_name_check(n);
	int printable = 1;
	size_t i;

	for (i = 0; n && n[i]; i++)
		if ((unsigned char)n[i] < 0x20 || (unsigned char)n[i] >= 0x7f)
			printable = 0;
	ok(r == CPK_ERR_INVALID && strstr(cpk_errmsg(), why),
	   "name '%s' refused: %s", !n ? "(null)" : printable ? n : "(bytes)",
	   cpk_errmsg());
}

int main(void)
{
	char n32[33], n33[34];

	/* DN values (RFC 4514 section 2.4) */
	dn_is(S("alice"), "alice", "plain");
	dn_is(S("a*)(uid=*"), "a*)(uid\\=*", "filter injection text");
	dn_is(S("x,ou=Groups"), "x\\,ou\\=Groups", "comma (RDN injection)");
	dn_is(S("#x"), "\\#x", "leading #");
	dn_is(S("x#"), "x#", "inner # kept");
	dn_is(S(" x"), "\\ x", "leading space");
	dn_is(S("x "), "x\\ ", "trailing space");
	dn_is(S(" "), "\\ ", "single space");
	dn_is(S("a b"), "a b", "inner space kept");
	dn_is(S("a\0b"), "a\\00b", "NUL");
	dn_is(S("a\\b"), "a\\\\b", "backslash");
	dn_is(S("a=b"), "a\\=b", "equals");
	dn_is(S("a+b"), "a\\+b", "plus (multi-valued RDN)");
	dn_is(S("a;b"), "a\\;b", "semicolon");
	dn_is(S("a<b>"), "a\\<b\\>", "angle brackets");
	dn_is(S("\"q\""), "\\\"q\\\"", "double quotes");
	dn_is(S("\n\x7f"), "\\0a\\7f", "controls as hex");
	dn_is(S("caf\xc3\xa9"), "caf\xc3\xa9", "UTF-8 kept");
	dn_is(S(""), "", "empty");

	/* filter values (RFC 4515 section 3) */
	filter_is(S("alice"), "alice", "plain");
	filter_is(S("a*)(uid=*"), "a\\2a\\29\\28uid=\\2a", "injection");
	filter_is(S("*"), "\\2a", "lone star");
	filter_is(S("x,ou=Groups"), "x,ou=Groups", "comma is literal in filters");
	filter_is(S("a\0b"), "a\\00b", "NUL");
	filter_is(S("a\\b"), "a\\5cb", "backslash");
	filter_is(S("#x "), "#x ", "leading #/trailing space literal");
	filter_is(S("=+;<>\""), "=+;<>\"", "DN specials literal in filters");
	filter_is(S("caf\xc3\xa9"), "caf\\c3\\a9", "UTF-8 as hex");
	filter_is(S("\r\n"), "\\0d\\0a", "controls");

	/* names */
	name_ok("alice");
	name_ok("_svc");
	name_ok("a");
	name_ok("a-b_c9");
	name_ok("host$");
	memset(n32, 'a', 32);
	n32[32] = '\0';
	name_ok(n32);
	memset(n33, 'a', 33);
	n33[33] = '\0';
	name_bad(n33, "longer than 32");
	name_bad(NULL, "empty");
	name_bad("", "empty");
	name_bad("a*)(uid=*", "'*'");
	name_bad("x,ou=Groups", "','");
	name_bad("Alice", "'A'");
	name_bad("alIce", "'I'");
	name_bad("1abc", "start with");
	name_bad("-rf", "start with");
	name_bad("$x", "start with");
	name_bad("a$b", "'$'");
	name_bad("a.b", "'.'");
	name_bad("a b", "' '");
	name_bad("a/b", "'/'");
	name_bad("..", "'.'");
	name_bad("a\\b", "'\\'");
	name_bad("caf\xc3\xa9", "byte 0xc3");
	name_bad("a\nb", "byte 0x0a");
	return done_testing();
}
