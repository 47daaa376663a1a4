/*
 * Logins of LDAP users on a node (both roles, with an ldap section): glibc
 * must ask sssd for accounts (/etc/nsswitch.conf: `sss` among the sources
 * of passwd, group and shadow), and PAM's account phase must ask sssd
 * whether an account is locked (pam_sss in /etc/pam.d/common-account).
 *
 * nsswitch.conf is the node's file, edited, not replaced: every other line
 * (hosts, automount, a site's own sources) stays as it is; only `sss` is
 * added where it is missing, so a second run finds nothing to change.  PAM
 * is Debian's (libpam-sss's pam-auth-update profile): apply only checks it
 * and says when it is missing, since without it a locked user with a key
 * still logs in.  sshd's own part is a rendered drop-in (sshd.conf).
 */
#include <string.h>

#include "apply_priv.h"

static const char *const sss_dbs[] = { "passwd", "group", "shadow" };

/* Debian 12's nsswitch.conf (base-files), with sss: for a root that has none. */
static const char default_nsswitch[] =
	"# /etc/nsswitch.conf: Debian's defaults, with sss for the cluster's\n"
	"# LDAP accounts (written by cpk apply: the node had none).\n"
	"passwd:         files sss\n"
	"group:          files sss\n"
	"shadow:         files sss\n"
	"gshadow:        files\n"
	"hosts:          files dns\n"
	"networks:       files\n"
	"protocols:      db files\n"
	"services:       db files\n"
	"ethers:         db files\n"
	"rpc:            db files\n"
	"netgroup:       nis\n";

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The index in sss_dbs of the database LINE[0..N) configures, or -1. */
static int line_db(const char *l, size_t n)
{
	size_t i = 0, s, d;

	while (i < n && blank(l[i]))
		i++;
	s = i;
	while (i < n && ((l[i] >= 'a' && l[i] <= 'z') || l[i] == '_'))
		i++;
	for (d = 0; d < CPK_ARRAY_SIZE(sss_dbs); d++)
		if (i - s == strlen(sss_dbs[d]) && !memcmp(l + s, sss_dbs[d], i - s))
			break;
	if (d == CPK_ARRAY_SIZE(sss_dbs))
		return -1;
	while (i < n && blank(l[i]))
		i++;
	return i < n && l[i] == ':' ? (int)d : -1;
}

/* Where the sources of LINE[0..N) end: before a comment, trailing blanks. */
static size_t sources_end(const char *l, size_t n)
{
	const char *hash = memchr(l, '#', n);
	size_t e = hash ? (size_t)(hash - l) : n;

	while (e > 0 && (blank(l[e - 1]) || l[e - 1] == '\r'))
		e--;
	return e;
}

/* Whether `sss` is one of the blank-separated words of L[0..N). */
static int has_sss(const char *l, size_t n)
{
	size_t i = 0, s;

	while (i < n) {
		while (i < n && blank(l[i]))
			i++;
		s = i;
		while (i < n && !blank(l[i]))
			i++;
		if (i - s == 3 && !memcmp(l + s, "sss", 3))
			return 1;
	}
	return 0;
}

cpk_err_t apply_nsswitch_sss(const char *old, size_t len, int exists, struct cpk_buf *out)
{
	int seen[CPK_ARRAY_SIZE(sss_dbs)] = { 0 };
	size_t at = 0, d;

	if (!exists) {
		cpk_buf_addstr(out, default_nsswitch);
		return cpk_buf_failed(out) ? cpk_err_set(CPK_ERR_NOMEM, "out of memory") : CPK_OK;
	}
	while (at < len) {
		const char *l = old + at, *nl = memchr(l, '\n', len - at);
		size_t n = nl ? (size_t)(nl - l) : len - at, colon, e;
		int db = line_db(l, n);

		if (db >= 0) {
			seen[db] = 1;
			colon = (size_t)((const char *)memchr(l, ':', n) - l);
			e = sources_end(l, n);
			if (e > colon && has_sss(l + colon + 1, e - colon - 1)) {
				cpk_buf_add(out, l, n);	/* as it is */
			} else {
				cpk_buf_add(out, l, e);
				/* no source at all: glibc's default is files */
				cpk_buf_addstr(out, e > colon + 1 ? " sss" : " files sss");
				cpk_buf_add(out, l + e, n - e);
			}
		} else {
			cpk_buf_add(out, l, n);
		}
		cpk_buf_addstr(out, "\n");
		at += n + 1;
	}
	for (d = 0; d < CPK_ARRAY_SIZE(sss_dbs); d++)
		if (!seen[d])
			cpk_buf_addf(out, "%s:%*sfiles sss\n", sss_dbs[d],
				     (int)(15 - strlen(sss_dbs[d])), "");
	return cpk_buf_failed(out) ? cpk_err_set(CPK_ERR_NOMEM, "out of memory") : CPK_OK;
}

/* Whether a line of TEXT that is not a comment names pam_sss.so. */
static int names_pam_sss(const char *text, size_t len)
{
	size_t at = 0;

	while (at < len) {
		const char *l = text + at, *nl = memchr(l, '\n', len - at);
		size_t n = nl ? (size_t)(nl - l) : len - at, i = 0;

		while (i < n && blank(l[i]))
			i++;
		if (i < n && l[i] != '#')
			for (; i + 10 <= n; i++)
				if (!memcmp(l + i, "pam_sss.so", 10))
					return 1;
		at += n + 1;
	}
	return 0;
}

cpk_err_t apply_login(struct cpk_apply_plan *p)
{
	struct cpk_buf old = CPK_BUF_INIT, pam = CPK_BUF_INIT;
	struct cpk_apply_item *it;
	cpk_err_t r;
	int exists, pam_exists;

	if ((r = apply_read_root(p, "/etc/nsswitch.conf", &old, &exists)) != CPK_OK)
		goto out;
	if (!(it = apply_add_item(p, "/etc", "nsswitch.conf", 0644, 0755))) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = apply_nsswitch_sss(old.buf, old.len, exists, &it->data)) != CPK_OK)
		goto out;
	if ((r = apply_read_root(p, "/etc/pam.d/common-account", &pam, &pam_exists)) != CPK_OK)
		goto out;
	p->pam_sss_missing = !pam_exists || !names_pam_sss(pam.buf, pam.len);
out:
	cpk_buf_release(&old);
	cpk_buf_release(&pam);
	return r;
}
