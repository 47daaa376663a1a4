/* Account names and RFC 4514 / RFC 4515 escaping (no libldap needed). */
#include <string.h>

#include "cpk/ldap.h"
#include "internal.h"

cpk_err_t cpk_name_check(const char *name)
{
	size_t i, len;

	if (!name || !*name)
		return cpk_err_set(CPK_ERR_INVALID, "empty user or group name");
	len = strlen(name);
	if (len > CPK_NAME_MAX)
		return cpk_err_set(CPK_ERR_INVALID,
				   "name '%.40s%s' is longer than %d characters",
				   name, len > 40 ? "..." : "", CPK_NAME_MAX);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if ((ch >= 'a' && ch <= 'z') || ch == '_')
			continue;
		if (i > 0 && ((ch >= '0' && ch <= '9') || ch == '-'))
			continue;
		if (i > 0 && ch == '$' && i == len - 1)
			continue;
		if (i == 0 && ((ch >= '0' && ch <= '9') || ch == '-' ||
			       ch == '$'))
			return cpk_err_set(CPK_ERR_INVALID,
					   "invalid name '%s': it must start with "
					   "a lower-case letter or '_'", name);
		if (ch >= 0x20 && ch < 0x7f)
			return cpk_err_set(CPK_ERR_INVALID,
					   "invalid name '%s': character '%c' is not "
					   "allowed (use [a-z_][a-z0-9_-]*, "
					   "optionally ending in '$')", name, ch);
		return cpk_err_set(CPK_ERR_INVALID,
				   "invalid name: byte 0x%02x at position %zu is "
				   "not allowed (use [a-z_][a-z0-9_-]*)", ch, i);
	}
	return CPK_OK;
}

static const char hex[] = "0123456789abcdef";

static void add_hex(struct cpk_buf *out, unsigned char ch)
{
	char e[3] = { '\\', hex[ch >> 4], hex[ch & 15] };

	cpk_buf_add(out, e, sizeof(e));
}

cpk_err_t cpk_ldap_escape_dn(const char *value, size_t len,
			     struct cpk_buf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)value[i];

		if (ch < 0x20 || ch == 0x7f) {
			add_hex(out, ch);	/* NUL and controls */
		} else if (strchr("\"+,;<>\\=", ch) ||
			   (i == 0 && (ch == '#' || ch == ' ')) ||
			   (i == len - 1 && ch == ' ')) {
			cpk_buf_addch(out, '\\');
			cpk_buf_addch(out, (char)ch);
		} else {
			cpk_buf_addch(out, (char)ch);
		}
	}
	if (cpk_buf_failed(out))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}

cpk_err_t cpk_ldap_escape_filter(const char *value, size_t len,
				 struct cpk_buf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)value[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '*' || ch == '(' ||
		    ch == ')' || ch == '\\')
			add_hex(out, ch);
		else
			cpk_buf_addch(out, (char)ch);
	}
	if (cpk_buf_failed(out))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}
