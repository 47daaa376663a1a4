/*
 * cpk: the clusterpack admin command, git-style: cpk VERB [options].
 * Each verb lives in its own file; all the work is in libclusterpack.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cpk/error.h"
#include "cpk/buf.h"
#include "cli.h"

static const struct cli_verb *const verbs[] = {
	&cli_validate, &cli_render, &cli_apply, &cli_munge_key, &cli_schema,
	&cli_copy, &cli_stage,
	&cli_user, &cli_group, &cli_ldap, &cli_node,
};

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("cpk: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_usage(const struct cli_verb *v, int to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;
	const struct cli_opt *o;

	fprintf(f, "usage: cpk %s %s\n%s\n", v->name, v->synopsis, v->summary);
	if (v->opts && v->opts->name)
		fputs("\noptions:\n", f);
	for (o = v->opts; o && o->name; o++) {
		char left[64];

		if (!o->help)
			continue;	/* hidden: a test knob */
		if (o->key < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-26s %s\n", left, o->help);
	}
}

int cli_usage_err(const struct cli_verb *v, const char *fmt, ...)
{
	va_list ap;

	fputs("cpk: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'cpk %s --help'.\n", v->name);
	return EXIT_USAGE;
}

int cli_getopt(int argc, char **argv, const struct cli_verb *v)
{
	static struct option longs[32];
	static char shorts[80];
	static const struct cli_verb *built;
	size_t i = 0, s = 0;
	const struct cli_opt *o;

	if (built != v) {
		shorts[s++] = ':';
		for (o = v->opts; o && o->name && i < 31; o++, i++) {
			longs[i].name = o->name;
			longs[i].has_arg = o->arg ? required_argument : no_argument;
			longs[i].flag = NULL;
			longs[i].val = o->key;
			if (o->key < 256 && s + 3 < sizeof(shorts)) {
				shorts[s++] = (char)o->key;
				if (o->arg)
					shorts[s++] = ':';
			}
		}
		memset(&longs[i], 0, sizeof(longs[i]));
		shorts[s] = '\0';
		built = v;
	}
	return getopt_long(argc, argv, shorts, longs, NULL);
}

int cli_common_opt(int c, char **argv, const struct cli_verb *v)
{
	if (c == 'h') {
		cli_usage(v, 0);
		return EXIT_OK;
	}
	if (c == ':')
		return cli_usage_err(v, "option '%s' needs a value", argv[optind - 1]);
	return cli_usage_err(v, "unknown option '%s'", argv[optind - 1]);
}

int cli_file_operand(int argc, char **argv, const struct cli_verb *v,
		     const char **path)
{
	if (optind == argc)
		return EXIT_OK;
	if (*path || optind + 1 < argc)
		return cli_usage_err(v, "give one description file");
	*path = argv[optind];
	return EXIT_OK;
}

int cli_load_model(const char *path, struct cpk_model **m)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	cpk_err_t r;

	if (!path)
		path = cpk_model_default_path();
	r = cpk_model_load(path, m, &d);
	if (r == CPK_ERR_CONFIG) {
		struct cpk_buf b = CPK_BUF_INIT;

		cpk_diags_format(&d, &b);
		fputs(b.buf, stderr);
		fprintf(stderr, "cpk: %s: %zu error%s\n", path, d.n, d.n == 1 ? "" : "s");
		cpk_buf_release(&b);
	} else if (r != CPK_OK) {
		cli_err("%s", cpk_errmsg());
	}
	cpk_diags_release(&d);
	return r == CPK_OK ? EXIT_OK : EXIT_FAIL;
}

static void main_usage(FILE *f)
{
	size_t i;

	fputs("usage: cpk [--version] [--help] VERB [options]\n"
	      "clusterpack: a Slurm cluster from one description (cluster.yaml).\n\n"
	      "verbs:\n", f);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i]->summary[0] != '(')
			fprintf(f, "  %-10s %s\n", verbs[i]->name, verbs[i]->summary);
	fputs("\nThe description is read from -f FILE, else $CPK_CONFIG, else\n"
	      CPK_SYSCONFDIR "/clusterpack/cluster.yaml (plus nodes.d/*.yaml beside it).\n"
	      "'cpk VERB --help' describes a verb; see also cpk(1), cluster.yaml(5).\n", f);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	size_t i;

	/* Up to the hard limit on open files: cpk copy keeps a local file
	 * open for each file in flight (the library takes its share of
	 * whatever the limit is). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (argc < 2) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		main_usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("cpk (clusterpack) %s\n", CPK_VERSION);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i]->name))
			return verbs[i]->run(argc - 1, argv + 1, verbs[i]);
	cli_err("'%s' is not a cpk verb; see 'cpk --help'", argv[1]);
	return EXIT_USAGE;
}
