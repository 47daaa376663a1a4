/*
 * What users give for an account, checked before anything is written:
 * shells, display names (UTF-8, and what goes to cn/sn/givenName/gecos),
 * ssh public keys.  Used by add, mod and import alike.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ldap_priv.h"

#define TEXT_MAX 255		/* display name / gecos, shell */
#define KEY_MAX 16384		/* one ssh public key line */

cpk_err_t cpk_ldap__check_shell(const char *s)
{
	size_t i, len = strlen(s);

	if (len > TEXT_MAX)
		return cpk_err_set(CPK_ERR_INVALID, "shell is longer than %d "
				   "bytes", TEXT_MAX);
	if (s[0] != '/')
		return cpk_err_set(CPK_ERR_INVALID,
				   "shell '%s' is not an absolute path", s);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == ':')
			return cpk_err_set(CPK_ERR_INVALID,
					   "shell: byte 0x%02x at position %zu is "
					   "not allowed (printable ASCII without "
					   "':' or spaces)", ch, i);
	}
	return CPK_OK;
}

/* Decodes the UTF-8 character at S (N bytes left) into *CP; its length,
 * or 0 if it is not valid UTF-8 (overlong, surrogate, past U+10FFFF). */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		v = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		v = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		v = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
	    (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
		return 0;
	*cp = v;
	return len;
}

cpk_err_t cpk_ldap__check_display(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, len = strlen(s), k;
	uint32_t cp;

	if (len > TEXT_MAX)
		return cpk_err_set(CPK_ERR_INVALID, "gecos is longer than %d "
				   "bytes", TEXT_MAX);
	for (i = 0; i < len; i += k) {
		if (!(k = utf8_char(p + i, len - i, &cp)))
			return cpk_err_set(CPK_ERR_INVALID,
					   "gecos: byte 0x%02x at position %zu "
					   "is not valid UTF-8", p[i], i);
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
		    cp == ':')
			return cpk_err_set(CPK_ERR_INVALID,
					   "gecos: character U+%04X at position "
					   "%zu is not allowed (no control "
					   "characters or ':')", (unsigned)cp, i);
	}
	return CPK_OK;
}

/* ASCII for U+00C0..U+00FF (NULL: none) and U+0100..U+017F ('?': two
 * letters, see below). */
static const char *const latin1[64] = {
	"A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E",
	"I", "I", "I", "I", "D", "N", "O", "O", "O", "O", "O", "x",
	"O", "U", "U", "U", "U", "Y", "Th", "ss",
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e",
	"i", "i", "i", "i", "d", "n", "o", "o", "o", "o", "o", NULL,
	"o", "u", "u", "u", "u", "y", "th", "y",
};
static const char latin_ext_a[] =
	"AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi??JjKkk"
	"LlLlLlLlLlNnNnNnnNnOoOoOo??RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUu"
	"WwYyYZzZzZzs";

/* Appends the ASCII spelling of CP to OUT; 0 if there is none. */
static int translit(uint32_t cp, struct cpk_buf *out)
{
	if (cp < 0x80) {
		cpk_buf_addch(out, (char)cp);
		return 1;
	}
	if (cp >= 0xc0 && cp <= 0xff && latin1[cp - 0xc0]) {
		cpk_buf_addstr(out, latin1[cp - 0xc0]);
		return 1;
	}
	if (cp >= 0x100 && cp <= 0x17f) {
		char ch = latin_ext_a[cp - 0x100];

		if (ch != '?')
			cpk_buf_addch(out, ch);
		else
			cpk_buf_addstr(out, cp == 0x132 ? "IJ" : cp == 0x133 ?
				       "ij" : cp == 0x152 ? "OE" : "oe");
		return 1;
	}
	return 0;
}

void cpk_ldap__names(const char *name, const char *display,
		     struct cpk_names *out)
{
	const char *p, *end, *last;
	size_t i, k, len;
	uint32_t cp;

	if (display && *display) {
		end = strchr(display, ',');
		if (!end)
			end = display + strlen(display);
		while (end > display && end[-1] == ' ')
			end--;
		for (p = display; p < end && *p == ' '; p++)
			;
		cpk_buf_add(&out->cn, p, (size_t)(end - p));
	}
	if (!out->cn.len)
		cpk_buf_addstr(&out->cn, name);
	last = strrchr(out->cn.buf, ' ');
	cpk_buf_addstr(&out->sn, last ? last + 1 : out->cn.buf);
	if (last)
		cpk_buf_add(&out->given, out->cn.buf,
			    (size_t)(last - out->cn.buf));
	/* gecos is IA5: the text as it is, its ASCII spelling, or nothing */
	display = display && *display ? display : out->cn.buf;
	len = strlen(display);
	for (i = 0; i < len; i += k) {
		k = utf8_char((const unsigned char *)display + i, len - i, &cp);
		if (!k || !translit(cp, &out->gecos)) {
			cpk_buf_reset(&out->gecos);
			out->no_gecos = 1;
			return;
		}
	}
}

void cpk_ldap__names_release(struct cpk_names *n)
{
	cpk_buf_release(&n->cn);
	cpk_buf_release(&n->sn);
	cpk_buf_release(&n->given);
	cpk_buf_release(&n->gecos);
}

int cpk_ldap__names_failed(const struct cpk_names *n)
{
	return cpk_buf_failed(&n->cn) || cpk_buf_failed(&n->sn) ||
	       cpk_buf_failed(&n->given) || cpk_buf_failed(&n->gecos);
}

static cpk_err_t check_keys(const char *const *keys, size_t n)
{
	cpk_err_t r;
	size_t i, j;

	for (i = 0; i < n; i++) {
		if ((r = cpk_ldap__check_key(keys[i])) != CPK_OK)
			return r;
		for (j = 0; j < i; j++)
			if (!strcmp(keys[i], keys[j]))
				return cpk_err_set(CPK_ERR_INVALID,
						   "ssh key %zu is given twice",
						   i + 1);
	}
	return CPK_OK;
}

cpk_err_t cpk_user_spec_check(const struct cpk_user_spec *s)
{
	cpk_err_t r;
	size_t i, j;

	if ((r = cpk_name_check(s->name)) != CPK_OK)
		return r;
	if (s->gecos && (r = cpk_ldap__check_display(s->gecos)) != CPK_OK)
		return r;
	if (s->shell && (r = cpk_ldap__check_shell(s->shell)) != CPK_OK)
		return r;
	if (s->group && (r = cpk_name_check(s->group)) != CPK_OK)
		return r;
	for (i = 0; i < s->n_groups; i++) {
		if ((r = cpk_name_check(s->groups[i])) != CPK_OK)
			return r;
		for (j = 0; j < i; j++)
			if (!strcmp(s->groups[i], s->groups[j]))
				return cpk_err_set(CPK_ERR_INVALID,
						   "group %s is listed twice",
						   s->groups[i]);
	}
	if (s->uid > CPK_ID_MAX || s->gid > CPK_ID_MAX)
		return cpk_err_set(CPK_ERR_INVALID, "%s %" PRIu64 " is out of "
				   "range (1-%llu)", s->uid > CPK_ID_MAX ? "uid" :
				   "gid", s->uid > CPK_ID_MAX ? s->uid : s->gid,
				   (unsigned long long)CPK_ID_MAX);
	return check_keys(s->ssh_keys, s->n_ssh_keys);
}

cpk_err_t cpk_user_mod_check(const struct cpk_user_mod *m)
{
	cpk_err_t r;

	if ((m->gecos && (r = cpk_ldap__check_display(m->gecos)) != CPK_OK) ||
	    (m->shell && (r = cpk_ldap__check_shell(m->shell)) != CPK_OK) ||
	    (m->group && (r = cpk_name_check(m->group)) != CPK_OK) ||
	    (r = check_keys(m->add_keys, m->n_add_keys)) != CPK_OK ||
	    (r = check_keys(m->del_keys, m->n_del_keys)) != CPK_OK)
		return r;
	return CPK_OK;
}

cpk_err_t cpk_ldap__check_key(const char *key)
{
	struct cpk_buf fp = CPK_BUF_INIT;
	size_t i, len = strlen(key);
	cpk_err_t r;

	if (len == 0 || len > KEY_MAX)
		return cpk_err_set(CPK_ERR_INVALID,
				   "an ssh key must be 1 to %d bytes", KEY_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
			return cpk_err_set(CPK_ERR_INVALID,
					   "an ssh key must be one line without "
					   "control characters");
	/* the same parser as fingerprints: type, base64 blob of that type */
	r = cpk_ssh_key_fingerprint(key, &fp);
	cpk_buf_release(&fp);
	if (r == CPK_ERR_INVALID)
		return cpk_err_set(CPK_ERR_INVALID,
				   "'%.40s%s' is not an ssh public key line "
				   "(TYPE BASE64 [COMMENT])", key,
				   len > 40 ? "..." : "");
	return r;
}
