/* Unit tests: the JSON writer (structure, commas, string escaping). */
#include <stdint.h>
#include <stdlib.h>

#include "cpk/json.h"
#include "tap.h"

static void str_is(const char *in, const char *want, const char *name)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_json j;

	cpk_json_init(&j, &b);
	cpk_json_str(&j, in);
	ok(!cpk_json_failed(&j), "%s: not failed", name);
	is_str(b.buf, want, "%s", name);
	cpk_buf_release(&b);
}

int main(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_json j;
	int i;

	str_is("plain", "\"plain\"", "plain string");
	str_is("", "\"\"", "empty string");
	str_is(NULL, "null", "NULL is null");
	str_is("a\"b\\c", "\"a\\\"b\\\\c\"", "quote and backslash");
	str_is("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"", "short escapes");
	str_is("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"", "control bytes and DEL");
	str_is("/<>'", "\"/<>'\"", "other ASCII copied");
	str_is("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80", "\"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\"",
	       "valid UTF-8 copied");
	str_is("a\xff" "b", "\"a\\ufffdb\"", "invalid byte replaced");
	str_is("\xc3", "\"\\ufffd\"", "truncated sequence replaced");
	str_is("\xc0\xaf", "\"\\ufffd\\ufffd\"", "overlong '/' replaced");
	str_is("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "surrogate replaced");
	/* the edges of each UTF-8 length */
	str_is("\xc2\x80", "\"\xc2\x80\"", "U+0080, the first 2-byte character, copied");
	str_is("\xc1\xbf", "\"\\ufffd\\ufffd\"", "C1: an overlong 2-byte form, replaced");
	str_is("\xdf\xbf", "\"\xdf\xbf\"", "U+07FF, the last 2-byte character, copied");
	str_is("\xe0\xa0\x80", "\"\xe0\xa0\x80\"", "U+0800, the first 3-byte character, copied");
	str_is("\xe0\x9f\xbf", "\"\\ufffd\\ufffd\\ufffd\"", "an overlong 3-byte form, replaced");
	str_is("\xed\x9f\xbf", "\"\xed\x9f\xbf\"", "U+D7FF, just below the surrogates, copied");
	str_is("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"", "the last surrogate, replaced");
	str_is("\xee\x80\x80", "\"\xee\x80\x80\"", "U+E000, just above them, copied");
	str_is("\xef\xbf\xbf", "\"\xef\xbf\xbf\"", "U+FFFF copied");
	str_is("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"", "U+10000, the first 4-byte one, copied");
	str_is("\xf0\x8f\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "an overlong 4-byte form, replaced");
	str_is("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"", "U+10FFFF, the last character, copied");
	str_is("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "above U+10FFFF, replaced");
	str_is("\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "F5 never starts a character");
	str_is("\x80", "\"\\ufffd\"", "a lone continuation byte, replaced");
	str_is("\xe6\x97", "\"\\ufffd\\ufffd\"", "a 3-byte sequence cut short at the end");
	str_is("\xe6\x97x", "\"\\ufffd\\ufffdx\"", "cut short before an ASCII byte, which is kept");
	str_is("\x1f \x7e", "\"\\u001f ~\"", "0x1f escaped, 0x20 and 0x7e copied");
	str_is("\x7f\x7e", "\"\\u007f~\"", "DEL escaped");

	cpk_json_init(&j, &b);
	cpk_json_arr(&j);
	for (i = 0; i < 2; i++) {
		cpk_json_obj(&j);
		cpk_json_key(&j, "name");
		cpk_json_str(&j, i ? "b" : "a");
		cpk_json_ku64(&j, "uid", 10000 + (unsigned)i);
		cpk_json_kbool(&j, "locked", i);
		cpk_json_key(&j, "groups");
		cpk_json_arr(&j);
		cpk_json_str(&j, "x");
		cpk_json_str(&j, "y");
		cpk_json_end(&j);
		cpk_json_key(&j, "empty");
		cpk_json_arr(&j);
		cpk_json_end(&j);
		cpk_json_end(&j);
	}
	cpk_json_end(&j);
	ok(!cpk_json_failed(&j), "nested document: not failed");
	is_str(b.buf, "[{\"name\":\"a\",\"uid\":10000,\"locked\":false,"
	       "\"groups\":[\"x\",\"y\"],\"empty\":[]},"
	       "{\"name\":\"b\",\"uid\":10001,\"locked\":true,"
	       "\"groups\":[\"x\",\"y\"],\"empty\":[]}]", "nested document");
	cpk_buf_reset(&b);

	cpk_json_init(&j, &b);
	cpk_json_obj(&j);
	ok(cpk_json_failed(&j), "an unclosed object is failed");
	cpk_json_end(&j);
	cpk_json_end(&j);
	ok(cpk_json_failed(&j), "ending more than was opened is failed");
	cpk_json_init(&j, &b);
	cpk_json_arr(&j);
	cpk_json_key(&j, "k");
	ok(cpk_json_failed(&j), "a key inside an array is failed");
	cpk_json_init(&j, &b);
	for (i = 0; i < CPK_JSON_DEPTH + 1; i++)
		cpk_json_arr(&j);
	ok(cpk_json_failed(&j), "nesting deeper than CPK_JSON_DEPTH is failed");
	cpk_buf_reset(&b);
	cpk_json_init(&j, &b);
	for (i = 0; i < CPK_JSON_DEPTH; i++)
		cpk_json_arr(&j);
	for (i = 0; i < CPK_JSON_DEPTH; i++)
		cpk_json_end(&j);
	ok(!cpk_json_failed(&j) && b.len == 2 * CPK_JSON_DEPTH && b.buf[CPK_JSON_DEPTH - 1] == '[' &&
	   b.buf[CPK_JSON_DEPTH] == ']', "exactly CPK_JSON_DEPTH levels are fine");
	cpk_buf_reset(&b);
	cpk_json_init(&j, &b);
	cpk_json_obj(&j);
	cpk_json_ku64(&j, "max", UINT64_MAX);
	cpk_json_ku64(&j, "zero", 0);
	cpk_json_kstr(&j, "null", NULL);
	cpk_json_key(&j, "a");
	cpk_json_arr(&j);
	cpk_json_u64(&j, 1);
	cpk_json_bool(&j, 0);
	cpk_json_obj(&j);
	cpk_json_end(&j);
	cpk_json_end(&j);
	cpk_json_kbool(&j, "t", 1);
	cpk_json_end(&j);
	ok(!cpk_json_failed(&j), "scalars, an empty object in an array: not failed");
	is_str(b.buf, "{\"max\":18446744073709551615,\"zero\":0,\"null\":null,"
	       "\"a\":[1,false,{}],\"t\":true}", "numbers at their ends, null, commas");
	cpk_buf_reset(&b);
	cpk_json_init(&j, &b);
	cpk_json_obj(&j);
	cpk_json_key(&j, "k");
	cpk_json_key(&j, "k2");
	cpk_json_str(&j, "v");
	cpk_json_end(&j);
	ok(cpk_json_failed(&j), "a key after a key is failed");
	cpk_json_init(&j, &b);
	cpk_json_obj(&j);
	cpk_json_key(&j, "k");
	cpk_json_end(&j);
	ok(cpk_json_failed(&j), "ending an object after a key, before its value, is failed");
	cpk_json_init(&j, &b);
	cpk_json_key(&j, "k");
	ok(cpk_json_failed(&j), "a key outside any object is failed");
	cpk_json_init(&j, &b);
	cpk_json_str(&j, "top");
	ok(!cpk_json_failed(&j), "a lone top-level value is fine");
	cpk_json_init(&j, &b);
	cpk_json_obj(&j);
	cpk_json_key(&j, "k\"\n");
	cpk_json_str(&j, "v");
	cpk_json_end(&j);
	ok(strstr(b.buf, "{\"k\\\"\\n\":\"v\"}") != NULL, "keys are escaped too: %s", b.buf);
	cpk_buf_release(&b);
	return done_testing();
}
