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

size_t cpk_apply_role_packages(const struct cpk_model *m, enum cpk_role role,
			       const char *names[CPK_APPLY_MAX_PACKAGES])
{
	const char *const *v;
	size_t n = 0;

	for (v = cpk_apply_packages(role); *v && n < CPK_APPLY_MAX_PACKAGES; v++)
		names[n++] = *v;
	/* LAM's profile is written for the control node (plan.c) */
	if (m && role == CPK_ROLE_CONTROL && m->ldap.present && m->ldap.lam_profile &&
	    n < CPK_APPLY_MAX_PACKAGES)
		names[n++] = "ldap-account-manager";
	return n;
}

/* A service, the base names of the files it reads, and whether a reload
 * makes it reread them (else a change needs a restart: munge's key,
 * slapd.conf, sssd.conf and slurm.conf are read at start only; slurmctld's
 * reconfigure does not take node changes in Slurm 22.05). */
struct service {
	const char *name;
	const char *files[8];
	int reload;
};

#define SLURM_FILES { "slurm.conf", "gres.conf", "cgroup.conf", "plugstack.conf", NULL }
static const struct service control_services[] = {
	{ "munge", { "munge.key", NULL }, 0 },
	{ "slapd", { "slapd", "slapd.conf", "slapd-rootpw.conf", "openssh-lpk.schema",
		     "slapd.crt", "slapd.key", NULL }, 0 },
	{ "nfs-kernel-server", { "exports", NULL }, 1 },	/* reload: exportfs -r */
	{ "sssd", { "sssd.conf", NULL }, 0 },
	{ "ssh", { "clusterpack.conf", NULL }, 1 },
	{ "slurmctld", SLURM_FILES, 0 },
};
static const struct service compute_services[] = {
	{ "munge", { "munge.key", NULL }, 0 },
	{ "sssd", { "sssd.conf", NULL }, 0 },
	{ "ssh", { "clusterpack.conf", NULL }, 1 },
	/* a dynamic node's systemd drop-in: daemon-reload, then restart */
	{ "slurmd", { "slurm.conf", "gres.conf", "cgroup.conf", "plugstack.conf",
		      "clusterpack-dynamic.conf", NULL }, 0 },
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

static const struct service *role_services(enum cpk_role role, size_t *n)
{
	*n = role == CPK_ROLE_CONTROL ? CPK_ARRAY_SIZE(control_services) :
					 CPK_ARRAY_SIZE(compute_services);
	return role == CPK_ROLE_CONTROL ? control_services : compute_services;
}

const char *const *cpk_apply_services(const struct cpk_apply_plan *p,
				      int changed[CPK_APPLY_MAX_SERVICES])
{
	size_t ns, s, i;
	const struct service *sv = role_services(p->role, &ns);

	for (s = 0; s < ns && s < CPK_APPLY_MAX_SERVICES; s++) {
		changed[s] = 0;
		for (i = 0; i < p->n; i++)
			if (p->items[i].state != CPK_APPLY_UNCHANGED && reads(&sv[s], p->items[i].path))
				changed[s] = 1;
	}
	return p->role == CPK_ROLE_CONTROL ? control_names : compute_names;
}

cpk_err_t cpk_apply_services_list(const struct cpk_apply_plan *p, struct cpk_apply_svcs *s)
{
	int changed[CPK_APPLY_MAX_SERVICES];
	const char *const *names = cpk_apply_services(p, changed);
	size_t ns, i, k;
	const struct service *sv = role_services(p->role, &ns);

	memset(s, 0, sizeof(*s));
	/* mounts first: homes are there before slurmd runs jobs */
	for (i = 0; i < p->n; i++) {
		const char *path = p->items[i].path, *base = strrchr(path, '/') + 1;
		size_t n = strlen(base);

		if (strncmp(path, "/etc/systemd/system/", 20) || strchr(path + 20, '/') ||
		    n <= 6 || strcmp(base + n - 6, ".mount"))
			continue;
		if (s->n == CPK_APPLY_MAX_UNITS)
			return cpk_err_set(CPK_ERR_INVALID, "more than %d units to start",
					   CPK_APPLY_MAX_UNITS);
		s->v[s->n].name = base;
		s->v[s->n].changed = p->items[i].state != CPK_APPLY_UNCHANGED;
		s->v[s->n].reload = 1;	/* systemctl reload of a mount: remount */
		s->v[s->n++].action = CPK_APPLY_SVC_START;
	}
	for (k = 0; names[k] && k < ns && k < CPK_APPLY_MAX_SERVICES; k++) {
		if (s->n == CPK_APPLY_MAX_UNITS)
			return cpk_err_set(CPK_ERR_INVALID, "more than %d units to start",
					   CPK_APPLY_MAX_UNITS);
		s->v[s->n].name = names[k];
		s->v[s->n].changed = changed[k];
		s->v[s->n].reload = sv[k].reload;
		s->v[s->n++].action = CPK_APPLY_SVC_START;
	}
	/* a unit or its drop-in changed: systemd must read it first */
	for (i = 0; i < p->n; i++)
		if (p->items[i].state != CPK_APPLY_UNCHANGED &&
		    !strncmp(p->items[i].path, "/etc/systemd/", 13))
			s->daemon_reload = 1;
	return CPK_OK;
}
