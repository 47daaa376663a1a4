/* cpk munge-key [-f FILE] [--key PATH] [--create] [--owner USER] */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cpk/munge.h"
#include "cli.h"

enum { OPT_KEY = 256, OPT_CREATE, OPT_OWNER };

static const struct cli_opt opts[] = {
	{ "file", 'f', "FILE", "the description; its munge.key names the key" },
	{ "key", OPT_KEY, "PATH", "the key file (instead of the description's munge.key)" },
	{ "create", OPT_CREATE, NULL, "create the key if it does not exist" },
	{ "owner", OPT_OWNER, "USER", "owner of a created key (default: munge if it exists)" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static int run(int argc, char **argv, const struct cli_verb *v)
{
	const char *path = NULL, *key = NULL, *owner = NULL;
	struct cpk_model *m = NULL;
	int c, create = 0, rc = EXIT_OK;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	cpk_err_t r;

	while ((c = cli_getopt(argc, argv, v)) != -1) {
		switch (c) {
		case 'f':
			path = optarg;
			break;
		case OPT_KEY:
			key = optarg;
			break;
		case OPT_CREATE:
			create = 1;
			break;
		case OPT_OWNER:
			owner = optarg;
			break;
		default:
			return cli_common_opt(c, argv, v);
		}
	}
	if (optind < argc)
		return cli_usage_err(v, "no operands expected");
	if (!key) {
		if ((rc = cli_load_model(path, &m)) != EXIT_OK)
			return rc;
		key = m->munge.key;
	}
	if (create) {
		struct passwd *pw = getpwnam(owner ? owner : "munge");

		if (owner && !pw) {
			cli_err("no such user '%s'", owner);
			rc = EXIT_FAIL;
			goto out;
		}
		if (pw) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		}
		r = cpk_munge_key_create(key, uid, gid);
		if (r == CPK_OK) {
			printf("%s: created (%d random bytes, mode 0400)\n", key, CPK_MUNGE_KEY_LEN);
			goto out;
		}
		if (r != CPK_ERR_EXISTS) {
			cli_err("%s", cpk_errmsg());
			rc = EXIT_FAIL;
			goto out;
		}
	}
	if (cpk_munge_key_check(key) != CPK_OK) {
		cli_err("%s", cpk_errmsg());
		rc = EXIT_FAIL;
	} else {
		printf("%s: ok\n", key);
	}
out:
	cpk_model_free(m);
	return rc;
}

const struct cli_verb cli_munge_key = {
	"munge-key", "[-f FILE | --key PATH] [--create [--owner USER]]",
	"Create the cluster's munge key once, or check that it is usable.",
	opts, run,
};
