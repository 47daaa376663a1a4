/*
 * The plugin's plugstack.conf arguments ("key=value"), described once in
 * cpk_stage_keys[], and the allowed_hosts check.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpk/stage.h"
#include "internal.h"

/* Every key is also a key of cluster.yaml's stage: section
 * (lib/model/schema.c) with the same bounds and default, rendered onto the
 * plugstack.conf line by lib/render; tests/unit/stage_conf_test.c checks,
 * from this table, that they agree. */
const struct cpk_stage_key cpk_stage_keys[] = {
	{ "connections", CPK_STAGE_KEY_UINT, 1, 64, "8",
	  "SSH connections per transfer" },
	{ "retries", CPK_STAGE_KEY_UINT, 0, 10, "3",
	  "retries of a piece of work after a dropped connection" },
	{ "verify", CPK_STAGE_KEY_BOOL, 0, 1, "no",
	  "compare SHA-256 of both sides after staging (yes|no)" },
	{ "allowed_hosts", CPK_STAGE_KEY_HOSTS, 0, 0, NULL,
	  "hosts (names, *.domain, *) jobs may stage from and to; "
	  "default any" },
	{ "max_size", CPK_STAGE_KEY_UINT, 0, UINT64_C(1) << 60, "0",
	  "bytes one job's stage-out may send (0: no limit; stage-in is not limited)" },
	{ "stage_in_timeout", CPK_STAGE_KEY_UINT, 1, 604800, "3600",
	  "seconds a job's stage-in may take" },
	{ "stage_out_timeout", CPK_STAGE_KEY_UINT, 1, 604800, "3600",
	  "seconds a job's stage-out may take" },
	{ "cpk", CPK_STAGE_KEY_PATH, 0, 0, "/usr/local/bin/cpk",
	  "absolute path of the cpk binary that does the transfers" },
};
const size_t cpk_stage_nkeys = CPK_ARRAY_SIZE(cpk_stage_keys);

void cpk_stage_conf_release(struct cpk_stage_conf *c)
{
	size_t i;

	for (i = 0; i < c->n_allowed; i++)
		free(c->allowed_hosts[i]);
	free(c->allowed_hosts);
	free(c->cpk);
	memset(c, 0, sizeof(*c));
}

static int host_pattern_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (!n || n > CPK_STAGE_NAME_MAX)
		return 0;
	if (n == 1 && s[0] == '*')
		return 1;
	if (s[0] == '*') {
		if (n < 3 || s[1] != '.')
			return 0;
		i = 2;
	}
	for (; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' ||
		      s[i] == '_' || s[i] == ':'))
			return 0;
	return 1;
}

static cpk_err_t set_hosts(struct cpk_stage_conf *c, const char *arg,
			   const char *v)
{
	const char *p = v;

	if (!*v)
		return cpk_err_set(CPK_ERR_INVALID, "plugin argument \"%s\": "
				   "no host", arg);
	while (*p) {
		size_t n = strcspn(p, ",");
		char **h;

		if (!host_pattern_ok(p, n))
			return cpk_err_set(CPK_ERR_INVALID, "plugin argument "
					   "\"%s\": \"%.*s\" is not a host name "
					   "or *.domain pattern", arg, (int)n, p);
		h = cpk_reallocarray(c->allowed_hosts, c->n_allowed + 1,
				     sizeof(*h));
		if (!h)
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		c->allowed_hosts = h;
		if (!(h[c->n_allowed] = cpk_strndup(p, n)))
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		c->n_allowed++;
		p += n;
		if (*p == ',' && !*++p)
			return cpk_err_set(CPK_ERR_INVALID, "plugin argument "
					   "\"%s\": empty host after ','", arg);
	}
	return CPK_OK;
}

static cpk_err_t set_key(struct cpk_stage_conf *c, const struct cpk_stage_key *k,
			 const char *arg, const char *v)
{
	unsigned long long n;
	char *end;

	switch (k->type) {
	case CPK_STAGE_KEY_UINT:
		errno = 0;
		n = strtoull(v, &end, 10);
		if (!*v || *v == '-' || *v == '+' || *end || errno ||
		    n < k->min || n > k->max)
			return cpk_err_set(CPK_ERR_INVALID, "plugin argument "
					   "\"%s\": want a number %llu..%llu",
					   arg, (unsigned long long)k->min,
					   (unsigned long long)k->max);
		if (!strcmp(k->name, "connections"))
			c->connections = (unsigned)n;
		else if (!strcmp(k->name, "retries"))
			c->retries = (unsigned)n;
		else if (!strcmp(k->name, "max_size"))
			c->max_size = n;
		else if (!strcmp(k->name, "stage_in_timeout"))
			c->stage_in_timeout = (unsigned)n;
		else
			c->stage_out_timeout = (unsigned)n;
		return CPK_OK;
	case CPK_STAGE_KEY_BOOL:
		if (!strcmp(v, "yes"))
			c->verify = 1;
		else if (!strcmp(v, "no"))
			c->verify = 0;
		else
			return cpk_err_set(CPK_ERR_INVALID, "plugin argument "
					   "\"%s\": want yes or no", arg);
		return CPK_OK;
	case CPK_STAGE_KEY_HOSTS:
		return set_hosts(c, arg, v);
	case CPK_STAGE_KEY_PATH:
		if (v[0] != '/' || strlen(v) > CPK_STAGE_PATH_MAX)
			return cpk_err_set(CPK_ERR_INVALID, "plugin argument "
					   "\"%s\": want an absolute path", arg);
		free(c->cpk);
		if (!(c->cpk = cpk_strdup(v)))
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		return CPK_OK;
	}
	return cpk_err_set(CPK_ERR_INTERNAL, "plugin argument \"%s\"", arg);
}

cpk_err_t cpk_stage_conf_parse(struct cpk_stage_conf *c, int argc,
			       char *const *argv)
{
	unsigned char seen[CPK_ARRAY_SIZE(cpk_stage_keys)] = { 0 };
	cpk_err_t e = CPK_OK;
	size_t k;
	int i;

	memset(c, 0, sizeof(*c));
	for (k = 0; k < cpk_stage_nkeys && !e; k++)
		if (cpk_stage_keys[k].def)
			e = set_key(c, &cpk_stage_keys[k], cpk_stage_keys[k].name,
				    cpk_stage_keys[k].def);
	for (i = 0; i < argc && !e; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t n = eq ? (size_t)(eq - a) : strlen(a);

		for (k = 0; k < cpk_stage_nkeys; k++)
			if (strlen(cpk_stage_keys[k].name) == n &&
			    !strncmp(cpk_stage_keys[k].name, a, n))
				break;
		if (k == cpk_stage_nkeys)
			e = cpk_err_set(CPK_ERR_INVALID, "plugin argument \"%s\": "
					"unknown (known: connections, retries, "
					"verify, allowed_hosts, max_size, "
					"stage_in_timeout, stage_out_timeout, "
					"cpk)", a);
		else if (!eq)
			e = cpk_err_set(CPK_ERR_INVALID, "plugin argument \"%s\": "
					"want %s=VALUE", a, cpk_stage_keys[k].name);
		else if (seen[k]++)
			e = cpk_err_set(CPK_ERR_INVALID, "plugin argument \"%s\": "
					"given twice", a);
		else
			e = set_key(c, &cpk_stage_keys[k], a, eq + 1);
	}
	if (e)
		cpk_stage_conf_release(c);
	return e;
}

int cpk_stage_host_allowed(const struct cpk_stage_conf *c, const char *host)
{
	size_t i, hn = strlen(host);

	if (!c->allowed_hosts)
		return 1;
	for (i = 0; i < c->n_allowed; i++) {
		const char *p = c->allowed_hosts[i];
		size_t pn = strlen(p);

		if (!strcmp(p, "*"))
			return 1;
		if (p[0] == '*') {	/* "*.dom": ".dom" ends a longer name */
			if (hn > pn - 1 &&
			    !strcasecmp(host + hn - (pn - 1), p + 1))
				return 1;
		} else if (!strcasecmp(host, p)) {
			return 1;
		}
	}
	return 0;
}
