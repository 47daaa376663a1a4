/* cpk render [-f FILE | FILE] --role control|compute [--node NAME] --out DIR */
#include <stdio.h>
#include <string.h>

#include "cpk/render.h"
#include "cli.h"

enum { OPT_ROLE = 256, OPT_NODE, OPT_OUT };

static const struct cli_opt opts[] = {
	{ "file", 'f', "FILE", "the description (default $CPK_CONFIG or " CPK_SYSCONFDIR "/clusterpack/cluster.yaml)" },
	{ "role", OPT_ROLE, "ROLE", "control or compute (required)" },
	{ "node", OPT_NODE, "NAME", "the compute node to render for" },
	{ "out", OPT_OUT, "DIR", "write the files into DIR (required; created if missing)" },
	{ "quiet", 'q', NULL, "do not list the files written" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static int run(int argc, char **argv, const struct cli_verb *v)
{
	const char *path = NULL, *role_s = NULL, *node = NULL, *out = NULL;
	struct cpk_fileset fs = CPK_FILESET_INIT;
	struct cpk_model *m = NULL;
	enum cpk_role role;
	int c, quiet = 0, rc;
	size_t i;

	while ((c = cli_getopt(argc, argv, v)) != -1) {
		switch (c) {
		case 'f':
			path = optarg;
			break;
		case OPT_ROLE:
			role_s = optarg;
			break;
		case OPT_NODE:
			node = optarg;
			break;
		case OPT_OUT:
			out = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			return cli_common_opt(c, argv, v);
		}
	}
	if ((rc = cli_file_operand(argc, argv, v, &path)) != EXIT_OK)
		return rc;
	if (!role_s)
		return cli_usage_err(v, "--role control|compute is required");
	if (cpk_role_parse(role_s, &role) != CPK_OK)
		return cli_usage_err(v, "%s", cpk_errmsg());
	if (!out || !*out)
		return cli_usage_err(v, "--out DIR is required");
	rc = cli_load_model(path, &m);
	if (rc != EXIT_OK)
		return rc;
	if (cpk_render(m, role, node, &fs) != CPK_OK ||
	    cpk_fileset_write(&fs, out) != CPK_OK) {
		cli_err("%s", cpk_errmsg());
		rc = EXIT_FAIL;
	} else if (!quiet) {
		for (i = 0; i < fs.n; i++)
			printf("%s/%s\n", out, fs.files[i].name);
	}
	cpk_fileset_release(&fs);
	cpk_model_free(m);
	return rc;
}

const struct cli_verb cli_render = {
	"render", "[-f FILE | FILE] --role control|compute [--node NAME] --out DIR",
	"Write the configuration files a node role needs (each atomically).",
	opts, run,
};
