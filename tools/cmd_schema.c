/* cpk schema --man: the key reference of cluster.yaml(5), in roff. */
#include <stdio.h>

#include "cpk/model.h"
#include "cli.h"

static const struct cli_opt opts[] = {
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static int run(int argc, char **argv, const struct cli_verb *v)
{
	struct cpk_buf b = CPK_BUF_INIT;
	int c;

	while ((c = cli_getopt(argc, argv, v)) != -1)
		return cli_common_opt(c, argv, v);
	if (optind < argc)
		return cli_usage_err(v, "no operands expected");
	cpk_schema_man(&b);
	fwrite(b.buf, 1, b.len, stdout);
	cpk_buf_release(&b);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

const struct cli_verb cli_schema = {
	"schema", "",
	"(internal) Print the cluster.yaml key reference as roff.",
	opts, run,
};
