/* Unit tests: the JSON writer (structure, commas, string escaping). */
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
	cpk_buf_release(&b);
	return done_testing();
}
