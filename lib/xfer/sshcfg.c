/*
 * The ssh_config keys libssh does not act on the way cpk needs: ProxyJump,
 * ProxyCommand, AddressFamily, IdentitiesOnly (conn_cfg.h).
 *
 * libssh parses the config itself for everything else; it turns ProxyJump
 * into a ProxyCommand running OpenSSH's ssh (0.10) or jumps with its own
 * host key checks (0.11), and ignores AddressFamily and IdentitiesOnly, so
 * these four are read here, with OpenSSH's rules: the first value obtained
 * wins; "Host" patterns (comma or blank separated, "*", "?", "!" negation,
 * no case) are matched against the host as given (the alias); "Match all",
 * "Match host", "Match originalhost" and "Match canonical/final" are
 * understood, any other Match criterion matches nothing (so an unknown
 * block never applies by mistake).  "Include" is not followed.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conn_cfg.h"
#include "cpk/buf.h"
#include "internal.h"

/* Whether HOST matches the pattern list LIST (OpenSSH match_hostname):
 * a negated match wins over any positive one. */
static int match_list(const char *host, const char *list)
{
	char pat[256];
	const char *p = list;
	int hit = 0;
	size_t n;

	while (*p) {
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (!n)
			break;
		if (n < sizeof(pat)) {
			int neg = *p == '!';

			memcpy(pat, p + neg, n - (size_t)neg);
			pat[n - (size_t)neg] = '\0';
			if (!fnmatch(pat, host, FNM_CASEFOLD)) {
				if (neg)
					return 0;
				hit = 1;
			}
		}
		p += n;
	}
	return hit;
}

/* A "Match" line's criteria ARGS: whether they hold for HOST. */
static int match_block(const char *host, char *args)
{
	char *save = NULL, *w;
	int all = 1;

	for (w = strtok_r(args, " \t", &save); w; w = strtok_r(NULL, " \t",
							       &save)) {
		if (!strcasecmp(w, "all") || !strcasecmp(w, "canonical") ||
		    !strcasecmp(w, "final"))
			continue;
		if (!strcasecmp(w, "host") || !strcasecmp(w, "originalhost")) {
			char *v = strtok_r(NULL, " \t", &save);

			if (!v || !match_list(host, v))
				all = 0;
			continue;
		}
		return 0;	/* exec, user, localuser, ...: not understood */
	}
	return all;
}

/* Strips surrounding blanks and one pair of double quotes of S in place. */
static char *trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = '\0';
		s++;
	}
	return s;
}

static cpk_err_t set_str(char **dst, const char *v)
{
	if (*dst)
		return CPK_OK;		/* the first value wins */
	if (!(*dst = cpk_strdup(v)))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}

/* One line KEY VALUE of file PATH (line LINE) that applies. */
static cpk_err_t apply(struct xcfg *c, const char *key, char *val,
		       const char *path, unsigned long line)
{
	if (!strcasecmp(key, "ProxyJump") || !strcasecmp(key, "ProxyCommand")) {
		/* one "seen" flag for both, as OpenSSH */
		if (c->proxy_jump || c->proxy_command)
			return CPK_OK;
		return set_str(!strcasecmp(key, "ProxyJump") ? &c->proxy_jump :
			       &c->proxy_command, val);
	}
	if (!strcasecmp(key, "AddressFamily")) {
		if (c->family >= 0)
			return CPK_OK;
		if (!strcasecmp(val, "inet"))
			c->family = 4;
		else if (!strcasecmp(val, "inet6"))
			c->family = 6;
		else if (!strcasecmp(val, "any"))
			c->family = 0;
		else
			return cpk_err_set(CPK_ERR_CONFIG, "%s line %lu: "
					   "AddressFamily %s: not inet, inet6 "
					   "or any", path, line, val);
		return CPK_OK;
	}
	if (!strcasecmp(key, "IdentitiesOnly")) {
		if (c->identities_only >= 0)
			return CPK_OK;
		if (!strcasecmp(val, "yes"))
			c->identities_only = 1;
		else if (!strcasecmp(val, "no"))
			c->identities_only = 0;
		else
			return cpk_err_set(CPK_ERR_CONFIG, "%s line %lu: "
					   "IdentitiesOnly %s: not yes or no",
					   path, line, val);
	}
	return CPK_OK;
}

/* Reads file PATH for HOST; a missing file holds nothing. */
static cpk_err_t read_file(struct xcfg *c, const char *path, const char *host)
{
	char *line = NULL, *key, *val;
	size_t cap = 0;
	unsigned long no = 0;
	int on = 1;
	FILE *fp;
	cpk_err_t err = CPK_OK;

	if (!(fp = fopen(path, "re")))
		return errno == ENOENT || errno == ENOTDIR ? CPK_OK :
		       cpk_err_sys("cannot read ssh config file %s", path);
	while (getline(&line, &cap, fp) > 0) {
		no++;
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		val = key + strcspn(key, " \t=");
		if (*val) {
			*val++ = '\0';
			val += strspn(val, " \t");
			if (*val == '=')
				val++;
			val = trim(val);
		}
		if (!strcasecmp(key, "Host"))
			on = match_list(host, val);
		else if (!strcasecmp(key, "Match"))
			on = match_block(host, val);
		else if (on && *val && (err = apply(c, key, val, path, no)) != 0)
			break;
	}
	if (!err && ferror(fp))
		err = cpk_err_sys("cannot read ssh config file %s", path);
	free(line);
	fclose(fp);
	return err;
}

cpk_err_t xcfg_read(const char *config, const char *host, struct xcfg *c)
{
	struct cpk_buf b = CPK_BUF_INIT;
	const char *home;
	struct passwd pwd, *pw = NULL;
	char pwbuf[4096];
	cpk_err_t err;

	memset(c, 0, sizeof(*c));
	c->family = c->identities_only = -1;
	if (config && !strcmp(config, "none"))
		return CPK_OK;
	if (config)
		return read_file(c, config, host);
	/* the user's file (libssh finds home the same way), then the
	 * system's */
	if (getpwuid_r(getuid(), &pwd, pwbuf, sizeof(pwbuf), &pw) != 0)
		pw = NULL;
	home = pw && pw->pw_dir ? pw->pw_dir : getenv("HOME");
	if (home) {
		cpk_buf_addf(&b, "%s/.ssh/config", home);
		if (cpk_buf_failed(&b))
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		err = read_file(c, b.buf, host);
		cpk_buf_release(&b);
		if (err)
			return err;
	}
	return read_file(c, "/etc/ssh/ssh_config", host);
}

void xcfg_release(struct xcfg *c)
{
	free(c->proxy_jump);
	free(c->proxy_command);
	c->proxy_jump = c->proxy_command = NULL;
}
