/*
 * Counts, ports and byte sizes from the command line (cpk/parse.h): digits
 * read one at a time with an overflow check before each step, so nothing
 * wraps; strtoull is not used (it takes a sign and leading space).
 */
#include <stdint.h>
#include <string.h>

#include "cpk/parse.h"
#include "internal.h"

/* The value of the digits at S (at least one) into *V; *END past them.
 * Returns -1 on overflow past UINT64_MAX (*END is still past them all),
 * 1 if there are no digits. */
static int digits(const char *s, uint64_t *v, const char **end)
{
	uint64_t n = 0;
	const char *p = s;
	int over = 0;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (UINT64_MAX - d) / 10)
			over = 1;
		else
			n = n * 10 + d;
	}
	*end = p;
	*v = n;
	return p == s ? 1 : over ? -1 : 0;
}

static cpk_err_t range_err(const char *s, uint64_t min, uint64_t max)
{
	return cpk_err_set(CPK_ERR_INVALID, "%s (out of range: %llu..%llu)",
			   s, (unsigned long long)min,
			   (unsigned long long)max);
}

cpk_err_t cpk_parse_uint(const char *s, uint64_t min, uint64_t max,
			 uint64_t *out)
{
	const char *end;
	uint64_t v;
	int r;

	if (!s || !*s)
		return cpk_err_set(CPK_ERR_INVALID, "an empty value (a whole "
				   "number is needed)");
	r = digits(s, &v, &end);
	if (r > 0 || *end)
		return cpk_err_set(CPK_ERR_INVALID, "%s (not a whole number)",
				   s);
	if (r < 0 || v < min || v > max)
		return range_err(s, min, max);
	*out = v;
	return CPK_OK;
}

cpk_err_t cpk_parse_size(const char *s, uint64_t min, uint64_t max,
			 uint64_t *out)
{
	static const char suffix[] = "kmgt";
	const char *end, *at;
	unsigned shift = 0;
	uint64_t v;
	int r;

	if (!s || !*s)
		return cpk_err_set(CPK_ERR_INVALID, "an empty value (a size "
				   "is needed, like 8M)");
	r = digits(s, &v, &end);
	if (r <= 0 && *end &&
	    (at = strchr(suffix, *end | 0x20)) != NULL) {
		shift = 10 * (unsigned)(at - suffix + 1);
		end++;
	}
	if (r > 0 || *end)
		return cpk_err_set(CPK_ERR_INVALID, "%s (not a size: digits "
				   "and an optional k, M, G or T, like 8M)", s);
	if (r < 0 || (shift && v > UINT64_MAX >> shift))
		return range_err(s, min, max);
	v <<= shift;
	if (v < min || v > max)
		return range_err(s, min, max);
	*out = v;
	return CPK_OK;
}
