/*
 * What each role needs besides files: its Debian packages and its services
 * (the one table of both; templates/ and the docs take them from here, via
 * cpk apply).
 */
#include <string.h>

#include "apply_priv.h"

static const char *const control_packages[] = {
	"munge", "slurmctld", "slurm-client", "slapd", "ldap-utils",
	"nfs-kernel-server", "sssd-ldap", "libnss-sss", "libpam-sss",
	"openssh-server", NULL,
};

static const char *const compute_packages[] = {
	"munge", "slurmd", "slurm-client", "nfs-common", "sssd-ldap",
	"libnss-sss", "libpam-sss", "openssh-server", NULL,
};

const char *const *cpk_apply_packages(enum cpk_role role)
{
	return role == CPK_ROLE_CONTROL ? control_packages : compute_packages;
}

/* A service and the base names of the files it reads. */
struct service {
	const char *name;
	const char *files[8];
};

#define SLURM_FILES { "slurm.conf", "gres.conf", "cgroup.conf", "plugstack.conf", NULL }
static const struct service control_services[] = {
	{ "munge", { "munge.key", NULL } },
	{ "slapd", { "slapd", "slapd.conf", "slapd-rootpw.conf", "openssh-lpk.schema",
		     "slapd.crt", "slapd.key", NULL } },
	{ "nfs-kernel-server", { "exports", NULL } },
	{ "sssd", { "sssd.conf", NULL } },
	{ "ssh", { "clusterpack.conf", NULL } },
	{ "slurmctld", SLURM_FILES },
};
static const struct service compute_services[] = {
	{ "munge", { "munge.key", NULL } },
	{ "sssd", { "sssd.conf", NULL } },
	{ "ssh", { "clusterpack.conf", NULL } },
	/* a dynamic node's systemd drop-in: daemon-reload, then restart */
	{ "slurmd", { "slurm.conf", "gres.conf", "cgroup.conf", "plugstack.conf",
		      "clusterpack-dynamic.conf", NULL } },
};
static const char *const control_names[] = {
	"munge", "slapd", "nfs-kernel-server", "sssd", "ssh", "slurmctld", NULL,
};
static const char *const compute_names[] = { "munge", "sssd", "ssh", "slurmd", NULL };

static int reads(const struct service *s, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t i;

	for (i = 0; s->files[i]; i++)
		if (!strcmp(s->files[i], base ? base + 1 : path))
			return 1;
	return 0;
}

const char *const *cpk_apply_services(const struct cpk_apply_plan *p,
				      int changed[CPK_APPLY_MAX_SERVICES])
{
	int ctl = p->role == CPK_ROLE_CONTROL;
	const struct service *sv = ctl ? control_services : compute_services;
	size_t ns = ctl ? CPK_ARRAY_SIZE(control_services) : CPK_ARRAY_SIZE(compute_services);
	size_t s, i;

	for (s = 0; s < ns && s < CPK_APPLY_MAX_SERVICES; s++) {
		changed[s] = 0;
		for (i = 0; i < p->n; i++)
			if (p->items[i].state != CPK_APPLY_UNCHANGED && reads(&sv[s], p->items[i].path))
				changed[s] = 1;
	}
	return ctl ? control_names : compute_names;
}
