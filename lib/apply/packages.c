/*
 * A role's Debian packages: which ones ROOT has installed (its dpkg status
 * file, parsed as hostile input) and, on the live system, installing the
 * missing ones with apt-get.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "apply_priv.h"

#define DPKG_STATUS "/var/lib/dpkg/status"

/* One stanza's fields of interest (pointers into the text, not NUL-ended). */
struct stanza {
	const char *pkg, *status;
	size_t pkg_len, status_len;
	int bad;		/* a field repeated: trust none of it */
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next blank-separated word of [*P, END) into W/WL; 0 when none. */
static int word(const char **p, const char *end, const char **w, size_t *wl)
{
	while (*p < end && is_blank(**p))
		(*p)++;
	*w = *p;
	while (*p < end && !is_blank(**p))
		(*p)++;
	*wl = (size_t)(*p - *w);
	return *wl > 0;
}

/* "WANT ok installed", exactly three words. */
static int status_installed(const char *s, size_t len)
{
	const char *p = s, *end = s + len, *w;
	size_t wl;

	return word(&p, end, &w, &wl) && word(&p, end, &w, &wl) && wl == 2 &&
	       !memcmp(w, "ok", 2) && word(&p, end, &w, &wl) && wl == 9 &&
	       !memcmp(w, "installed", 9) && !word(&p, end, &w, &wl);
}

static void stanza_end(struct stanza *s, const char *const *names, size_t n, int *installed)
{
	size_t i;

	if (!s->bad && s->pkg && s->status && status_installed(s->status, s->status_len))
		for (i = 0; i < n; i++)
			if (strlen(names[i]) == s->pkg_len && !memcmp(names[i], s->pkg, s->pkg_len))
				installed[i] = 1;
	memset(s, 0, sizeof(*s));
}

/* FIELD: VALUE with the value trimmed; a repeated field spoils the stanza. */
static void field(struct stanza *s, const char *l, size_t len)
{
	const char *colon = memchr(l, ':', len), *v, *end = l + len;
	const char **at;
	size_t *at_len, nl;

	if (!colon)
		return;		/* not a field: ignored */
	nl = (size_t)(colon - l);
	if (nl == 7 && !strncasecmp(l, "Package", 7)) {
		at = &s->pkg;
		at_len = &s->pkg_len;
	} else if (nl == 6 && !strncasecmp(l, "Status", 6)) {
		at = &s->status;
		at_len = &s->status_len;
	} else {
		return;
	}
	if (*at)
		s->bad = 1;
	for (v = colon + 1; v < end && is_blank(*v); v++)
		;
	while (end > v && is_blank(end[-1]))
		end--;
	*at = v;
	*at_len = (size_t)(end - v);
}

void cpk_apply_dpkg_installed(const char *buf, size_t len, const char *const *names,
			      size_t n, int *installed)
{
	struct stanza s;
	const char *p = buf, *end = buf + len;
	size_t i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < n; i++)
		installed[i] = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *q;
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);

		for (q = p; q < p + ll && is_blank(*q); q++)
			;
		if (q == p + ll)		/* an empty line ends the stanza */
			stanza_end(&s, names, n, installed);
		else if (p[0] != ' ' && p[0] != '\t')	/* not a continuation line */
			field(&s, p, ll);
		if (memchr(p, '\0', ll))	/* a NUL has no place in the file */
			s.bad = 1;
		p += ll + (nl != NULL);
	}
	stanza_end(&s, names, n, installed);	/* no trailing newline */
}

cpk_err_t cpk_apply_packages_check(const struct cpk_model *m, enum cpk_role role,
				   const char *root, struct cpk_apply_pkgs *out)
{
	struct cpk_buf text = CPK_BUF_INIT;
	struct stat st;
	cpk_err_t r;
	size_t i;
	int rootfd, dfd = -1, exists = 0;

	memset(out, 0, sizeof(*out));
	out->n = cpk_apply_role_packages(m, role, out->names);
	if ((rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return cpk_err_sys("cannot open the root directory %s", root);
	r = apply_open_dir(rootfd, "/var/lib/dpkg", 0, 0, 0, 0, &dfd);
	if (r == CPK_OK && dfd >= 0)
		r = apply_read_at(dfd, "status", DPKG_STATUS, &text, &st, &exists);
	if (r == CPK_OK) {
		out->no_status = !exists;
		cpk_apply_dpkg_installed(text.buf, text.len, out->names, out->n, out->installed);
		for (i = 0; i < out->n; i++)
			out->n_missing += !out->installed[i];
	}
	if (dfd >= 0)
		close(dfd);
	close(rootfd);
	cpk_buf_release(&text);
	return r;
}

/* Runs ARGV; a non-zero exit is CPK_ERR_IO with the last lines it printed. */
static cpk_err_t run_checked(char *const argv[], const char *input, const char *what)
{
	struct cpk_buf out = CPK_BUF_INIT;
	cpk_err_t r;
	int st;

	r = apply_run(argv, input, &out, &st);
	if (r == CPK_OK && st != 0)
		r = cpk_err_set(CPK_ERR_IO, "%s failed (exit %d): %s", what, st, apply_tail(&out, 8));
	else if (r != CPK_OK)
		r = cpk_err_prefix(r, "%s", what);
	cpk_buf_release(&out);
	return r;
}

cpk_err_t cpk_apply_packages_install(const struct cpk_apply_pkgs *pk, const char *root)
{
	char *argv[8 + CPK_APPLY_MAX_PACKAGES + 1] = {
		"/usr/bin/apt-get", "install", "-y", "--no-install-recommends",
		"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
	};
	char *debconf[] = { "/usr/bin/debconf-set-selections", NULL };
	size_t i, a = 8;
	int slapd = 0;
	cpk_err_t r;

	if (!cpk_apply_is_live(root))
		return cpk_err_set(CPK_ERR_INVALID, "%s is not this system's /: packages are not installed there",
				   root);
	for (i = 0; i < pk->n; i++) {
		if (pk->installed[i])
			continue;
		argv[a++] = (char *)pk->names[i];
		slapd |= !strcmp(pk->names[i], "slapd");
	}
	if (a == 8)
		return CPK_OK;
	argv[a] = NULL;
	/* apply configures slapd itself: no dc=nodomain database from the package */
	if (slapd && (r = run_checked(debconf, "slapd slapd/no_configuration boolean true\n",
				      "debconf-set-selections (slapd/no_configuration)")) != CPK_OK)
		return r;
	return run_checked(argv, NULL, "apt-get install");
}
