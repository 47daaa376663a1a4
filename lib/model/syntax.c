/*
 * The syntax of string values, by what the file they are written into can
 * hold: slurm.conf reads white space as the end of a value (and '=' after it
 * as another key), '#' as a comment, ',' as a list separator; exports(5)
 * reads '(' as the start of options and white space as the next client;
 * fstab(5) reads white space as the next field.  A value that could change
 * the meaning of a rendered file is refused here, never escaped.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model_priv.h"

/* Every byte of S is in SET or alphanumeric. */
static int only(const char *s, const char *set)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(set, *s))
			return 0;
	return 1;
}

static const char *node_list(const char *s)
{
	return only(s, "._-[],") ? NULL
		: "a host list of node names such as c[001-128] (letters, digits, '.', '_', '-', brackets and commas)";
}

static const char *addr_list(const char *s)
{
	return only(s, ".:[],-") ? NULL
		: "a host list of IP addresses such as 10.0.1.[1-128]";
}

static const char *dev_list(const char *s)
{
	return s[0] == '/' && only(s, "/._-[],") ? NULL
		: "a host list of device files such as /dev/nvidia[0-3] (letters, digits, '/', '.', '_', '-')";
}

static const char *feature(const char *s)
{
	return cpk_is_name(s, 63) ? NULL
		: "a feature name (letters, digits, '_', '.', '-'; starting with a letter or digit; at most 63)";
}

static const char *group(const char *s)
{
	if ((isalpha((unsigned char)s[0]) || s[0] == '_') && strlen(s) <= 32 &&
	    only(s, "_.-"))
		return NULL;
	return "a Unix group name (letters, digits, '_', '.', '-'; starting with a letter or '_'; at most 32)";
}

static const char *option_list(const char *s)
{
	return only(s, "_.,=:/@+-") ? NULL
		: "comma-separated options (letters, digits and _ . = : / @ + -; no white space, quotes, '#' or parentheses)";
}

const struct syntax cpk_syn_nodelist = { "node names", node_list };
const struct syntax cpk_syn_addrlist = { "addresses", addr_list };
const struct syntax cpk_syn_devlist = { "device files", dev_list };
const struct syntax cpk_syn_feature = { "feature names", feature };
const struct syntax cpk_syn_group = { "Unix group names", group };
const struct syntax cpk_syn_options = { "comma-separated options", option_list };

/* ---- exports(5) options ------------------------------------------------ */

enum optval { V_NONE, V_ID, V_FSID, V_SEC, V_PATH_OPT };

static const struct {
	const char *name;
	enum optval val;
} export_options[] = {
	{ "rw", V_NONE }, { "ro", V_NONE }, { "sync", V_NONE }, { "async", V_NONE },
	{ "secure", V_NONE }, { "insecure", V_NONE }, { "wdelay", V_NONE },
	{ "no_wdelay", V_NONE }, { "hide", V_NONE }, { "nohide", V_NONE },
	{ "crossmnt", V_NONE }, { "subtree_check", V_NONE },
	{ "no_subtree_check", V_NONE }, { "insecure_locks", V_NONE },
	{ "secure_locks", V_NONE }, { "no_auth_nlm", V_NONE }, { "auth_nlm", V_NONE },
	{ "root_squash", V_NONE }, { "no_root_squash", V_NONE },
	{ "all_squash", V_NONE }, { "no_all_squash", V_NONE }, { "no_acl", V_NONE },
	{ "acl", V_NONE }, { "pnfs", V_NONE }, { "no_pnfs", V_NONE },
	{ "security_label", V_NONE },
	{ "anonuid", V_ID }, { "anongid", V_ID }, { "fsid", V_FSID },
	{ "sec", V_SEC }, { "mountpoint", V_PATH_OPT }, { "mp", V_PATH_OPT },
};

static int is_uint_max(const char *s, unsigned long long max)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return 0;
	v = strtoull(s, &end, 10);
	return !*end && v <= max && strlen(s) <= 10;
}

/* fsid=: a number, root, or a UUID (32 hex digits, '-' between groups). */
static int is_fsid(const char *s)
{
	size_t hex = 0;

	if (!strcmp(s, "root") || is_uint_max(s, 4294967295ULL))
		return 1;
	for (; *s; s++) {
		if (isxdigit((unsigned char)*s))
			hex++;
		else if (*s != '-')
			return 0;
	}
	return hex == 32;
}

/* sec=: flavors joined by ':'. */
static int is_sec(const char *s)
{
	static const char *const flavors[] = { "sys", "krb5", "krb5i", "krb5p", "none" };
	size_t i, n;

	for (;;) {
		n = strcspn(s, ":");
		for (i = 0; i < CPK_ARRAY_SIZE(flavors); i++)
			if (strlen(flavors[i]) == n && !strncmp(s, flavors[i], n))
				break;
		if (i == CPK_ARRAY_SIZE(flavors))
			return 0;
		if (!s[n])
			return 1;
		s += n + 1;
	}
}

const char *cpk_export_option_check(const char *opt)
{
	const char *eq = strchr(opt, '=');
	size_t n = eq ? (size_t)(eq - opt) : strlen(opt), i;
	const char *v = eq ? eq + 1 : NULL;

	for (i = 0; i < CPK_ARRAY_SIZE(export_options); i++)
		if (strlen(export_options[i].name) == n &&
		    !strncmp(export_options[i].name, opt, n))
			break;
	if (i == CPK_ARRAY_SIZE(export_options))
		return "is not an option exports(5) knows";
	switch (export_options[i].val) {
	case V_NONE:
		return v ? "takes no value" : NULL;
	case V_ID:
		return v && is_uint_max(v, 4294967294ULL) ? NULL : "needs a numeric id";
	case V_FSID:
		return v && is_fsid(v) ? NULL : "needs a number, root or a UUID as its value";
	case V_SEC:
		return v && is_sec(v) ? NULL
			: "needs security flavors joined by ':' (sys, krb5, krb5i, krb5p, none)";
	case V_PATH_OPT:
		return !v || (v[0] == '/' && !strpbrk(v, "=,:")) ? NULL
			: "takes nothing or an absolute path";
	}
	return "is not an option exports(5) knows";
}

/* ---- slurm.conf lines ---------------------------------------------------- */

/* Keys slurm.extra may not set: nodes and partitions come from their own
 * keys, and these would add nodes or name another controller. */
static const char *const extra_refused[] = {
	"NodeName", "PartitionName", "NodeSet", "DownNodes", "FrontendName",
	"SlurmctldHost", "ControlMachine", "BackupController", "Include", NULL };

static const char *slurm_extra(const char *line)
{
	const char *k, *eq = strchr(line, '=');
	size_t i, klen;

	for (k = line; isalnum((unsigned char)*k) || *k == '_'; k++)
		;
	klen = (size_t)(k - line);
	if (!eq || k != eq || !klen || !eq[1])
		return "Key=Value";
	for (i = 0; extra_refused[i]; i++)
		if (strlen(extra_refused[i]) == klen && !strncasecmp(line, extra_refused[i], klen))
			return "a key other than NodeName, PartitionName, NodeSet, DownNodes, FrontendName, SlurmctldHost, ControlMachine, BackupController and Include (nodes and partitions go in 'nodes' and 'partitions')";
	for (k = eq + 1; *k; k++)
		if (isspace((unsigned char)*k) || strchr("#\"'\\", *k))
			return "a value without white space, quotes, '\\' or '#' (Slurm reads what follows as more keys or a comment)";
	return NULL;
}

/* exports(5) clients: checked further once the cluster's hosts are known. */
static const char *client(const char *s)
{
	return only(s, "._-*?/:@[]") ? NULL
		: "an address, network, *.domain pattern, @netgroup or host list (letters, digits and . _ - * ? / : @ [ ])";
}

static const char *host(const char *s)
{
	return only(s, "._-*?:") ? NULL
		: "a host name, address or *.domain pattern";
}

const struct syntax cpk_syn_slurm_extra = { "slurm.conf Key=Value", slurm_extra };
const struct syntax cpk_syn_client = { "exports(5) clients", client };
const struct syntax cpk_syn_host = { "host names or *.domain patterns", host };
