/*
 * Timings (not a test): bench-ldap adds N [PREFIX] | list
 *   adds N: cpk_ldap_user_add() of N users PREFIX00000... (default
 *           "bench"; a personal group each) in a row
 *   list:   cpk_ldap_user_list() of every user, best of 3
 * Environment as for the LDAP test programs (SLAPD_URI, SLAPD_BASE,
 * SLAPD_ROOTDN, SLAPD_ROOTPW_FILE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpk/ldap.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_cb(const struct cpk_user *u, void *arg)
{
	(void)u;
	++*(long *)arg;
	return 0;
}

int main(int argc, char **argv)
{
	struct cpk_ldap cfg = { 0 };
	struct cpk_users users = { 0 };
	struct cpk_ldap_conn *c = NULL;
	struct cpk_buf report = CPK_BUF_INIT;
	double t0, best = 1e9;
	int i, n;

	if (argc < 2 || !getenv("SLAPD_URI")) {
		fprintf(stderr, "usage: bench-ldap adds N [PREFIX] | list (under "
			"test-slapd.sh)\n");
		return 2;
	}
	cfg.uri = getenv("SLAPD_URI");
	cfg.base_dn = getenv("SLAPD_BASE");
	cfg.bind_dn = getenv("SLAPD_ROOTDN");
	cfg.bind_password_file = getenv("SLAPD_ROOTPW_FILE");
	cfg.tls = "none";
	users.uid_range.lo = users.gid_range.lo = 10000;
	users.uid_range.hi = users.gid_range.hi = 99999;
	users.shell = "/bin/bash";
	users.home_root = "/home";
	if (cpk_ldap_open(&cfg, &users, 0, &c) != CPK_OK ||
	    cpk_ldap_create_tree(c, &report) != CPK_OK) {
		fprintf(stderr, "bench-ldap: %s\n", cpk_errmsg());
		return 1;
	}
	cpk_buf_release(&report);
	if (!strcmp(argv[1], "adds") && argc > 2) {
		const char *prefix = argc > 3 ? argv[3] : "bench";

		n = (int)strtol(argv[2], NULL, 10);
		t0 = now();
		for (i = 0; i < n; i++) {
			struct cpk_user_spec s = { 0 };
			char name[32];

			snprintf(name, sizeof(name), "%.20s%05d", prefix, i);
			s.name = name;
			s.gecos = "Bench User";
			if (cpk_ldap_user_add(c, &s, NULL, NULL) != CPK_OK) {
				fprintf(stderr, "bench-ldap: %s: %s\n", name,
					cpk_errmsg());
				return 1;
			}
		}
		t0 = now() - t0;
		printf("added %d users (%s*) in %.2f s (%.1f ms each, %.0f/s)\n", n,
		       prefix, t0,
		       1000 * t0 / n, n / t0);
	} else if (!strcmp(argv[1], "list")) {
		long count = 0;

		for (i = 0; i < 3; i++) {
			count = 0;
			t0 = now();
			if (cpk_ldap_user_list(c, NULL, count_cb, &count) != CPK_OK) {
				fprintf(stderr, "bench-ldap: %s\n", cpk_errmsg());
				return 1;
			}
			t0 = now() - t0;
			if (t0 < best)
				best = t0;
		}
		printf("listed %ld users in %.3f s (best of 3)\n", count, best);
	}
	cpk_ldap_close(c);
	return 0;
}
