/* cpk validate [-f FILE | FILE] [--dump] [-q] */
#include <stdio.h>
#include <string.h>

#include "cpk/buf.h"
#include "cli.h"

enum { OPT_DUMP = 256 };

static const struct cli_opt opts[] = {
	{ "file", 'f', "FILE", "the description (default $CPK_CONFIG or " CPK_SYSCONFDIR "/clusterpack/cluster.yaml)" },
	{ "dump", OPT_DUMP, NULL, "print the effective description, defaults filled in" },
	{ "quiet", 'q', NULL, "print nothing when the description is valid" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static int run(int argc, char **argv, const struct cli_verb *v)
{
	const char *path = NULL;
	struct cpk_model *m = NULL;
	int c, dump = 0, quiet = 0, rc;

	while ((c = cli_getopt(argc, argv, v)) != -1) {
		switch (c) {
		case 'f':
			path = optarg;
			break;
		case OPT_DUMP:
			dump = 1;
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
	rc = cli_load_model(path, &m);
	if (rc != EXIT_OK)
		return rc;
	if (dump) {
		struct cpk_buf b = CPK_BUF_INIT;

		cpk_model_dump(m, &b);
		fwrite(b.buf, 1, b.len, stdout);
		cpk_buf_release(&b);
	} else if (!quiet) {
		printf("%s: valid: cluster %s, %zu compute node%s in %zu group%s, %zu partition%s\n",
		       m->path, m->name, m->n_nodes, m->n_nodes == 1 ? "" : "s",
		       m->n_groups, m->n_groups == 1 ? "" : "s", m->n_partitions,
		       m->n_partitions == 1 ? "" : "s");
	}
	cpk_model_free(m);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

const struct cli_verb cli_validate = {
	"validate", "[-f FILE | FILE] [--dump] [-q]",
	"Check a cluster description; print every problem as file:line:col.",
	opts, run,
};
