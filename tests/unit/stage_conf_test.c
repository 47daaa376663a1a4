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

/* The renderer's plugstack.conf line parses with the table, for the
 * defaults and for stage: values at the schema's bounds (staging is off
 * unless enabled: no line at all then); and the schema
 * refuses what the table refuses. */
static void test_render_agrees(void)
{
	static const char *const bodies[] = {
		"stage: {enabled: true}\n",
		"stage: {enabled: true, connections: 64, retries: 10, verify: true, allowed_hosts: [s1, '*.x.org']}\n",
		"stage: {enabled: true, connections: 1, retries: 0}\n",
	};
	size_t i, k;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct cpk_model *m = parse4(bodies[i], NULL);
		struct cpk_buf b = CPK_BUF_INIT;
		struct cpk_stage_conf c;
		const char *line;

		if (!ok(m != NULL, "model %zu parses", i))
			continue;
		cpk_render_plugstack_conf(m, &b);
		line = strstr(b.buf, "optional ");
		if (ok(line != NULL, "  rendered a plugstack line")) {
			char *l = strdup(line + strlen("optional "));
			char *args = strchr(l, ' ');

			*strchr(l, '\n') = '\0';
			if (ok(args && conf_of(&c, args + 1) == CPK_OK,
			       "  the plugin accepts it: %s", args ? args + 1 : "")) {
				ok(c.connections == m->stage.connections &&
				   c.retries == m->stage.retries &&
				   c.verify == m->stage.verify, "  with the same values");
				cpk_stage_conf_release(&c);
			}
			free(l);
		}
		cpk_buf_release(&b);
		cpk_model_free(m);
	}
	/* the schema's bounds are the table's */
	for (k = 0; k < cpk_stage_nkeys; k++) {
		const struct cpk_stage_key *key = &cpk_stage_keys[k];
		char body[128];
		struct cpk_diags d = CPK_DIAGS_INIT;
		struct cpk_model *m;

		if (strcmp(key->name, "connections") && strcmp(key->name, "retries"))
			continue;
		snprintf(body, sizeof(body), "stage: {%s: %llu}\n", key->name,
			 (unsigned long long)key->max + 1);
		m = parse4(body, &d);
		ok(m == NULL, "cluster.yaml refuses %s: %llu as the plugin does",
		   key->name, (unsigned long long)key->max + 1);
		cpk_model_free(m);
		cpk_diags_release(&d);
		snprintf(body, sizeof(body), "stage: {%s: %llu}\n", key->name,
			 (unsigned long long)key->max);
		m = parse4(body, NULL);
		ok(m != NULL, "  and accepts %llu", (unsigned long long)key->max);
		cpk_model_free(m);
	}
}

int main(void)
{
	test_parse();
	test_hosts();
	test_render_agrees();
	return done_testing();
}
