/*
 * Unit tests for lib/stage/conf.c: the plugin's plugstack.conf arguments,
 * the one key table (and that the rendered plugstack.conf line and
 * cluster.yaml's stage: bounds agree with it), allowed_hosts matching.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk/stage.h"
#include "render_check.h"
#include "tap.h"

/* Parses the space-separated LINE; returns the result, C filled on 0. */
static cpk_err_t conf_of(struct cpk_stage_conf *c, const char *line)
{
	char buf[1024], *argv[32];
	int argc = 0;
	char *p, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", line);
	for (p = strtok_r(buf, " ", &save); p && argc < 32;
	     p = strtok_r(NULL, " ", &save))
		argv[argc++] = p;
	return cpk_stage_conf_parse(c, argc, argv);
}

static void bad(const char *line, const char *want)
{
	struct cpk_stage_conf c;
	cpk_err_t r = conf_of(&c, line);

	ok(r == CPK_ERR_INVALID && strstr(cpk_errmsg(), want), "refused: %s", line);
	if (r != CPK_ERR_INVALID || !strstr(cpk_errmsg(), want))
		printf("#   message: %s\n", cpk_errmsg());
	if (!r)
		cpk_stage_conf_release(&c);
}

static void test_parse(void)
{
	struct cpk_stage_conf c;

	if (ok(conf_of(&c, "") == CPK_OK, "no arguments: the defaults")) {
		ok(c.connections == 8 && c.retries == 3 && !c.verify &&
		   !c.allowed_hosts && c.max_size == 0 && c.stage_in_timeout == 3600 &&
		   c.stage_out_timeout == 3600 && !strcmp(c.cpk, "/usr/local/bin/cpk"),
		   "  defaults as the table says");
		cpk_stage_conf_release(&c);
	}
	if (ok(conf_of(&c, "connections=64 retries=0 verify=yes allowed_hosts=a,*.b.org "
		       "max_size=1099511627776 stage_in_timeout=1 stage_out_timeout=604800 "
		       "cpk=/opt/cpk") == CPK_OK, "every key at a boundary")) {
		ok(c.connections == 64 && c.retries == 0 && c.verify &&
		   c.n_allowed == 2 && !strcmp(c.allowed_hosts[1], "*.b.org") &&
		   c.max_size == 1099511627776ULL && c.stage_in_timeout == 1 &&
		   c.stage_out_timeout == 604800 && !strcmp(c.cpk, "/opt/cpk"),
		   "  values taken");
		cpk_stage_conf_release(&c);
	}
	bad("conections=2", "\"conections=2\": unknown");
	bad("connections", "want connections=VALUE");
	bad("connections=0", "\"connections=0\": want a number 1..64");
	bad("connections=65", "1..64");
	bad("connections=-1", "1..64");
	bad("connections=8x", "1..64");
	bad("connections=", "1..64");
	bad("retries=11", "\"retries=11\": want a number 0..10");
	bad("connections=2 connections=3", "given twice");
	bad("verify=true", "\"verify=true\": want yes or no");
	bad("allowed_hosts=", "no host");
	bad("allowed_hosts=a,", "empty host");
	bad("allowed_hosts=a,,b", "\"\" is not a host name");
	bad("allowed_hosts=a/b", "\"a/b\" is not");
	bad("allowed_hosts=*x.org", "\"*x.org\" is not");
	bad("allowed_hosts=*.", "\"*.\" is not");
	bad("stage_in_timeout=0", "1..604800");
	bad("stage_out_timeout=604801", "1..604800");
	bad("max_size=18446744073709551616", "max_size");
	bad("cpk=cpk", "\"cpk=cpk\": want an absolute path");
}

static int allowed(const char *line, const char *host)
{
	struct cpk_stage_conf c;
	int r;

	if (conf_of(&c, line) != CPK_OK)
		return -1;
	r = cpk_stage_host_allowed(&c, host);
	cpk_stage_conf_release(&c);
	return r;
}

static void test_hosts(void)
{
	ok(allowed("", "anything") == 1, "no allowed_hosts: any host");
	ok(allowed("allowed_hosts=store", "store") == 1, "an exact name");
	ok(allowed("allowed_hosts=store", "STORE") == 1, "  compared without case");
	ok(allowed("allowed_hosts=store", "store2") == 0, "  not a prefix");
	ok(allowed("allowed_hosts=store", "xstore") == 0, "  not a suffix");
	ok(allowed("allowed_hosts=*.dom.org", "a.dom.org") == 1, "*.dom.org: a.dom.org");
	ok(allowed("allowed_hosts=*.dom.org", "a.b.dom.org") == 1, "  a.b.dom.org");
	ok(allowed("allowed_hosts=*.dom.org", "dom.org") == 0, "  not dom.org itself");
	ok(allowed("allowed_hosts=*.dom.org", "evildom.org") == 0, "  not evildom.org");
	ok(allowed("allowed_hosts=*.dom.org", ".dom.org") == 0, "  not .dom.org");
	ok(allowed("allowed_hosts=x,*", "y") == 1, "* alone: any host");
	ok(allowed("allowed_hosts=a,b", "b") == 1 && allowed("allowed_hosts=a,b", "c") == 0,
	   "a list: each name");
}

/* Renders BODY's plugstack.conf line and parses its arguments with the
 * plugin's parser into C.  Returns 0, or -1 (said) when the model is
 * refused, no line is rendered or the plugin refuses it; *LINE gets the
 * arguments (free it). */
static int render_parse(const char *body, struct cpk_stage_conf *c, char **line)
{
	struct cpk_model *m = parse4(body, NULL);
	struct cpk_buf b = CPK_BUF_INIT;
	const char *l;
	char *args = NULL;
	int rc = -1;

	*line = NULL;
	if (!m) {
		printf("#   cluster.yaml refused: %s", body);
		return -1;
	}
	cpk_render_plugstack_conf(m, &b);
	if (!(l = strstr(b.buf, "optional "))) {
		printf("#   no plugstack line for: %s", body);
		goto out;
	}
	/* "optional PATH ARGS...\n": ARGS */
	l = strchr(l + strlen("optional "), ' ');
	if (l && (args = strdup(l + 1)) && strchr(args, '\n')) {
		*strchr(args, '\n') = '\0';
		if (conf_of(c, args) == CPK_OK)
			rc = 0;
		else
			printf("#   the plugin refuses \"%s\": %s\n", args, cpk_errmsg());
	}
	*line = args;
out:
	cpk_buf_release(&b);
	cpk_model_free(m);
	return rc;
}

/* 1 if A and B hold the same settings. */
static int conf_same(const struct cpk_stage_conf *a, const struct cpk_stage_conf *b)
{
	size_t i;

	if (a->connections != b->connections || a->retries != b->retries ||
	    a->verify != b->verify || a->max_size != b->max_size ||
	    a->stage_in_timeout != b->stage_in_timeout ||
	    a->stage_out_timeout != b->stage_out_timeout ||
	    strcmp(a->cpk, b->cpk) || a->n_allowed != b->n_allowed)
		return 0;
	for (i = 0; i < a->n_allowed; i++)
		if (strcmp(a->allowed_hosts[i], b->allowed_hosts[i]))
			return 0;
	return 1;
}

/* KEY=PLUGIN_VALUE as cluster.yaml's stage: says it: the same, but for the
 * booleans (true/false) and host lists (a YAML list). */
static void yaml_value(const struct cpk_stage_key *k, const char *v, char *out,
		       size_t n)
{
	if (k->type == CPK_STAGE_KEY_BOOL)
		snprintf(out, n, "%s", !strcmp(v, "yes") ? "true" : "false");
	else if (k->type == CPK_STAGE_KEY_HOSTS) {
		/* each host quoted ('*' starts an alias in YAML) */
		size_t o = 0;

		o += (size_t)snprintf(out, n, "['");
		for (; *v && o + 4 < n; v++)
			o += (size_t)snprintf(out + o, n - o, *v == ',' ? "', '" : "%c", *v);
		snprintf(out + o, n - o, "']");
	}
	else
		snprintf(out, n, "%s", v);
}

/*
 * From the one table (cpk_stage_keys[]): every key is a key of cluster.yaml's
 * stage: section, rendered onto the plugstack.conf line; the plugin reads
 * the line back with the value cluster.yaml was given, at both bounds of a
 * number; what the plugin refuses beyond a bound cluster.yaml refuses too;
 * the defaults are the same on both sides.  Staging off: no line at all.
 */
static void test_render_agrees(void)
{
	struct cpk_stage_conf got, want;
	size_t k;
	char *line;

	{
		struct cpk_model *m = parse4("stage: {connections: 4}\n", NULL);
		struct cpk_buf b = CPK_BUF_INIT;

		if (ok(m != NULL, "staging off by default: the model parses")) {
			cpk_render_plugstack_conf(m, &b);
			ok(!strstr(b.buf, "cpk_stage.so"), "  and no plugin line is rendered");
		}
		cpk_buf_release(&b);
		cpk_model_free(m);
	}
	/* the defaults: each key on the line, the plugin's own defaults but
	 * allowed_hosts (cluster.yaml's default is the control node) */
	if (ok(render_parse("stage: {enabled: true}\n", &got, &line) == 0,
	       "defaults: the plugin accepts the rendered line")) {
		int all = 1;

		for (k = 0; k < cpk_stage_nkeys; k++) {
			char key[64];

			snprintf(key, sizeof(key), "%s=", cpk_stage_keys[k].name);
			if (!strstr(line, key)) {
				printf("#   %s not rendered\n", cpk_stage_keys[k].name);
				all = 0;
			}
		}
		ok(all, "  every key of the table is on it: %s", line);
		if (ok(conf_of(&want, "allowed_hosts=ctl") == CPK_OK, "  (the table's defaults)")) {
			ok(conf_same(&got, &want), "  with the table's defaults "
			   "(allowed_hosts: the control node)");
			cpk_stage_conf_release(&want);
		}
		cpk_stage_conf_release(&got);
	}
	free(line);
	for (k = 0; k < cpk_stage_nkeys; k++) {
		const struct cpk_stage_key *key = &cpk_stage_keys[k];
		const char *vals[2];
		char vbuf[2][32], body[256], arg[128], yv[96];
		size_t i, nv = 0;

		switch (key->type) {
		case CPK_STAGE_KEY_UINT:
			snprintf(vbuf[0], sizeof(vbuf[0]), "%llu", (unsigned long long)key->min);
			snprintf(vbuf[1], sizeof(vbuf[1]), "%llu", (unsigned long long)key->max);
			vals[nv++] = vbuf[0];
			vals[nv++] = vbuf[1];
			break;
		case CPK_STAGE_KEY_BOOL:
			vals[nv++] = "yes";
			vals[nv++] = "no";
			break;
		case CPK_STAGE_KEY_HOSTS:
			vals[nv++] = "s1,*.x.org";
			vals[nv++] = "store.example.org";
			break;
		case CPK_STAGE_KEY_PATH:
			vals[nv++] = "/opt/cpk/bin/cpk";
			break;
		}
		for (i = 0; i < nv; i++) {
			yaml_value(key, vals[i], yv, sizeof(yv));
			snprintf(body, sizeof(body), "stage: {enabled: true, %s: %s}\n",
				 key->name, yv);
			snprintf(arg, sizeof(arg), "%s=%s", key->name, vals[i]);
			if (ok(render_parse(body, &got, &line) == 0,
			       "%s: %s: rendered and accepted", key->name, yv)) {
				/* what the plugin makes of KEY=VALUE alone, the
				 * rest as rendered by default */
				char all[1024];

				snprintf(all, sizeof(all), "%s", arg);
				if (key->type != CPK_STAGE_KEY_HOSTS)
					strncat(all, " allowed_hosts=ctl", sizeof(all) - strlen(all) - 1);
				if (conf_of(&want, all) == CPK_OK) {
					ok(conf_same(&got, &want), "  the plugin reads %s", arg);
					cpk_stage_conf_release(&want);
				} else {
					ok(0, "  the plugin accepts %s: %s", arg, cpk_errmsg());
				}
				cpk_stage_conf_release(&got);
			}
			free(line);
		}
		if (key->type != CPK_STAGE_KEY_UINT)
			continue;
		/* beyond each bound: the plugin refuses, so must cluster.yaml */
		for (i = 0; i < 2; i++) {
			struct cpk_diags d = CPK_DIAGS_INIT;
			struct cpk_model *m;
			char beyond[32];

			if (i == 0 && key->min == 0)
				continue;
			if (i == 1 && key->max == UINT64_MAX)
				snprintf(beyond, sizeof(beyond), "18446744073709551616");
			else
				snprintf(beyond, sizeof(beyond), "%llu", i == 0 ?
					 (unsigned long long)key->min - 1 :
					 (unsigned long long)key->max + 1);
			snprintf(arg, sizeof(arg), "%s=%s", key->name, beyond);
			ok(conf_of(&want, arg) == CPK_ERR_INVALID, "  the plugin refuses %s", arg);
			snprintf(body, sizeof(body), "stage: {enabled: true, %s: %s}\n",
				 key->name, beyond);
			m = parse4(body, &d);
			ok(m == NULL, "  and cluster.yaml refuses %s: %s", key->name, beyond);
			cpk_model_free(m);
			cpk_diags_release(&d);
		}
	}
}

int main(void)
{
	test_parse();
	test_hosts();
	test_render_agrees();
	return done_testing();
}
