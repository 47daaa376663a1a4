/*
 * The plan of an apply: the role's rendered files, their targets under the
 * root, and how each compares with what is there.  Writes nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpk/diff.h"
#include "apply_priv.h"

/* Where a rendered file goes; NULL dir: slurm.config_dir; NULL base: the
 * LAM profile's name; OWNER: a user of ROOT's passwd (else root). */
static const struct target {
	const char *name, *dir, *base;
	mode_t dir_mode;
	const char *owner;
} targets[] = {
	{ "slurm.conf", NULL, "slurm.conf", 0755, NULL },
	{ "gres.conf", NULL, "gres.conf", 0755, NULL },
	{ "cgroup.conf", NULL, "cgroup.conf", 0755, NULL },
	{ "plugstack.conf", NULL, "plugstack.conf", 0755, NULL },
	{ "hosts", "/etc", "hosts", 0755, NULL },
	{ "exports", "/etc", "exports", 0755, NULL },
	{ "fstab", "/etc/clusterpack", "fstab", 0755, NULL },
	{ "sssd.conf", "/etc/sssd", "sssd.conf", 0711, NULL },
	{ "ldap.conf", "/etc/ldap", "ldap.conf", 0755, NULL },
	{ "sshd.conf", "/etc/ssh/sshd_config.d", "clusterpack.conf", 0755, NULL },
	{ "slurmd-dynamic.conf", "/etc/systemd/system/slurmd.service.d", "clusterpack-dynamic.conf", 0755, NULL },
	/* LAM (Debian ldap-account-manager) runs as www-data in apache */
	{ "lam.conf", "/var/lib/ldap-account-manager/config", NULL, 0755, "www-data" },
};

const char *cpk_apply_state_name(enum cpk_apply_state s)
{
	static const char *const names[] = { "unchanged", "new", "changed", "foreign" };

	return (unsigned)s < CPK_ARRAY_SIZE(names) ? names[s] : "?";
}

const struct cpk_apply_item *cpk_apply_find(const struct cpk_apply_plan *p, const char *path)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->items[i].path, path))
			return &p->items[i];
	return NULL;
}

struct cpk_apply_item *apply_add_item(struct cpk_apply_plan *p, const char *dir,
				      const char *base, mode_t mode, mode_t dir_mode)
{
	struct cpk_apply_item *v = cpk_reallocarray(p->items, p->n + 1, sizeof(*v));

	if (!v)
		return NULL;
	p->items = v;
	v = &v[p->n];
	memset(v, 0, sizeof(*v));
	cpk_buf_init(&v->data);
	cpk_buf_init(&v->old);
	p->n++;
	{
		struct cpk_buf path = CPK_BUF_INIT;

		cpk_buf_addf(&path, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", base);
		v->path = cpk_buf_detach(&path, NULL);
	}
	v->mode = mode;
	v->dir_mode = dir_mode;
	v->uid = geteuid() == 0 ? 0 : geteuid();
	v->gid = geteuid() == 0 ? 0 : getegid();
	return v->path ? v : NULL;
}

/* USER of ROOT/etc/passwd (a hostile file: parsed strictly); left as the
 * caller (root, or the tester) when absent or not run as root. */
cpk_err_t apply_passwd_user(const struct cpk_apply_plan *p, const char *user,
			    uid_t *uidp, gid_t *gidp)
{
	struct cpk_buf pw = CPK_BUF_INIT;
	cpk_err_t r;
	int exists = 0;
	size_t ul = strlen(user);
	const char *l;

	*uidp = geteuid();
	*gidp = geteuid() == 0 ? 0 : getegid();
	r = apply_read_root(p, "/etc/passwd", &pw, &exists);
	for (l = pw.buf; r == CPK_OK && exists && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		char *end;
		unsigned long uid, gid;
		const char *f = l + ul + 1;

		if (strncmp(l, user, ul) || l[ul] != ':' || !(f = strchr(f, ':')))
			continue;
		uid = strtoul(f + 1, &end, 10);
		if (end == f + 1 || *end != ':' || uid > 65535 * 65536UL)
			continue;
		f = end;
		gid = strtoul(f + 1, &end, 10);
		if (end == f + 1 || *end != ':' || gid > 65535 * 65536UL)
			continue;
		if (geteuid() == 0) {
			*uidp = (uid_t)uid;
			*gidp = (gid_t)gid;
		}
		break;
	}
	cpk_buf_release(&pw);
	return r;
}

/* Whether the manifest records PATH with the content whose hash is HEX. */
static int in_manifest(const struct cpk_apply_plan *p, const char *path, const char *hex)
{
	struct cpk_buf line = CPK_BUF_INIT;
	const char *at = p->manifest.buf;
	int found = 0;

	cpk_buf_addf(&line, "%s %s\n", hex, path);
	while (!cpk_buf_failed(&line) && (at = strstr(at, line.buf)) != NULL) {
		if (at == p->manifest.buf || at[-1] == '\n') {
			found = 1;
			break;
		}
		at++;
	}
	cpk_buf_release(&line);
	return found;
}

static cpk_err_t compare(struct cpk_apply_plan *p, struct cpk_apply_item *it)
{
	char *dir = NULL, *base = NULL, hex[65];
	struct stat st;
	cpk_err_t r;
	int dfd = -1, exists = 0;

	if ((r = apply_split(it->path, &dir, &base)) != CPK_OK)
		return r;
	if ((r = apply_open_dir(p->rootfd, dir, 0, 0, 0, 0, &dfd)) != CPK_OK)
		goto out;
	if (dfd >= 0 && (r = apply_read_at(dfd, base, it->path, &it->old, &st, &exists)) != CPK_OK)
		goto out;
	if (!exists) {
		it->state = CPK_APPLY_NEW;
	} else if (it->old.len == it->data.len &&
		   !memcmp(it->old.buf, it->data.buf, it->data.len)) {
		it->meta_only = (st.st_mode & 07777) != it->mode || st.st_uid != it->uid ||
				st.st_gid != it->gid;
		it->state = it->meta_only ? CPK_APPLY_CHANGED : CPK_APPLY_UNCHANGED;
	} else {
		if ((r = apply_sha256(it->old.buf, it->old.len, hex)) != CPK_OK)
			goto out;
		it->state = in_manifest(p, it->path, hex) ? CPK_APPLY_CHANGED : CPK_APPLY_FOREIGN;
	}
	if (it->state != CPK_APPLY_UNCHANGED)
		p->n_changes++;
out:
	if (dfd >= 0)
		close(dfd);
	free(dir);
	free(base);
	return r;
}

static cpk_err_t add_rendered(const struct cpk_model *m, const struct cpk_fileset *fs,
			      struct cpk_apply_plan *p)
{
	char lam[80];		/* a name of at most 63 (F_NAME) + ".conf" */
	size_t i, t, n;
	cpk_err_t r;

	for (i = 0; i < fs->n; i++) {
		const struct cpk_file *f = &fs->files[i];
		struct cpk_apply_item *it;

		n = strlen(f->name);
		if (n > 6 && !strcmp(f->name + n - 6, ".mount")) {	/* NFS mount units */
			if (!(it = apply_add_item(p, "/etc/systemd/system", f->name, f->mode, 0755)))
				return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			cpk_buf_add(&it->data, f->data.buf, f->data.len);
			if (cpk_buf_failed(&it->data))
				return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			continue;
		}
		for (t = 0; t < CPK_ARRAY_SIZE(targets); t++)
			if (!strcmp(targets[t].name, f->name))
				break;
		if (t == CPK_ARRAY_SIZE(targets))
			return cpk_err_set(CPK_ERR_INTERNAL, "no target for rendered file %s",
					   f->name);
		if (!targets[t].base)	/* LAM's profiles are NAME.conf */
			snprintf(lam, sizeof(lam), "%s.conf", m->ldap.lam_profile);
		it = apply_add_item(p, targets[t].dir ? targets[t].dir : m->slurm.config_dir,
				    targets[t].base ? targets[t].base : lam,
				    f->mode, targets[t].dir_mode);
		if (!it)
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		if (targets[t].owner &&
		    (r = apply_passwd_user(p, targets[t].owner, &it->uid,
					   &it->gid)) != CPK_OK)
			return r;
		cpk_buf_add(&it->data, f->data.buf, f->data.len);
		if (cpk_buf_failed(&it->data))
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	return CPK_OK;
}

cpk_err_t cpk_apply_plan(const struct cpk_model *m, enum cpk_role role,
			 const char *node, const char *root,
			 const struct cpk_apply_opts *opts, struct cpk_apply_plan *p)
{
	struct cpk_fileset fs = CPK_FILESET_INIT;
	cpk_err_t r;
	size_t i;
	int mfd = -1, exists = 0;
	struct stat st;

	p->role = role;
	if (!(p->root = cpk_strdup(root)) || !(p->munge_key = cpk_strdup(m->munge.key))) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	p->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->rootfd < 0) {
		r = cpk_err_sys("cannot open the root directory %s", root);
		goto out;
	}
	if ((r = cpk_render(m, role, node, &fs)) != CPK_OK ||
	    (r = add_rendered(m, &fs, p)) != CPK_OK ||
	    (r = apply_passwd_user(p, "munge", &p->munge_uid, &p->munge_gid)) != CPK_OK)
		goto out;
	if (opts && opts->munge_key_data) {
		char *dir = NULL, *base = NULL;
		struct cpk_apply_item *it;

		if ((r = apply_split(m->munge.key, &dir, &base)) != CPK_OK)
			goto out;
		it = apply_add_item(p, dir, base, 0400, 0700);
		free(dir);
		free(base);
		if (!it) {
			r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		it->secret = 1;
		it->uid = p->munge_uid;
		it->gid = p->munge_gid;
		cpk_buf_add(&it->data, opts->munge_key_data, opts->munge_key_len);
	}
	if (m->ldap.present && (r = apply_login(p)) != CPK_OK)
		goto out;
	if (role == CPK_ROLE_CONTROL && m->ldap.present && (r = apply_slapd(m, p)) != CPK_OK)
		goto out;
	if ((r = apply_open_dir(p->rootfd, "/var/lib/clusterpack", 0, 0, 0, 0, &mfd)) != CPK_OK)
		goto out;
	if (mfd >= 0) {
		r = apply_read_at(mfd, "apply.manifest", APPLY_MANIFEST, &p->manifest, &st, &exists);
		close(mfd);
		if (r != CPK_OK)
			goto out;
	}
	for (i = 0; i < p->n; i++)
		if ((r = compare(p, &p->items[i])) != CPK_OK)
			goto out;
out:
	cpk_fileset_release(&fs);
	if (r != CPK_OK)
		cpk_apply_plan_release(p);
	return r;
}

cpk_err_t cpk_apply_diff(const struct cpk_apply_plan *p, struct cpk_buf *out)
{
	cpk_err_t r = CPK_OK;
	size_t i;

	for (i = 0; i < p->n && r == CPK_OK; i++) {
		const struct cpk_apply_item *it = &p->items[i];
		struct cpk_buf a = CPK_BUF_INIT, b = CPK_BUF_INIT;

		if (it->state == CPK_APPLY_UNCHANGED)
			continue;
		if (it->meta_only) {
			cpk_buf_addf(out, "mode/owner of %s: %04o %u:%u\n", it->path,
				     (unsigned)it->mode, (unsigned)it->uid, (unsigned)it->gid);
			continue;
		}
		if (it->note && it->state == CPK_APPLY_NEW) {
			cpk_buf_addf(out, "new %s: %s\n", it->path, it->note);
			continue;
		}
		if (it->secret) {
			cpk_buf_addf(out, "secret %s: content not shown\n", it->path);
			continue;
		}
		cpk_buf_addstr(&a, it->state == CPK_APPLY_NEW ? "/dev/null" : it->path);
		cpk_buf_addstr(&b, it->path);
		if (cpk_buf_failed(&a) || cpk_buf_failed(&b))
			r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		else
			r = cpk_diff_unified(it->old.buf, it->old.len, it->data.buf,
					     it->data.len, a.buf, b.buf, out);
		cpk_buf_release(&a);
		cpk_buf_release(&b);
	}
	if (r == CPK_OK && cpk_buf_failed(out))
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	return r;
}

void cpk_apply_plan_release(struct cpk_apply_plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct cpk_apply_item *it = &p->items[i];

		if (it->secret) {
			cpk_memwipe(it->data.buf, it->data.len);
			cpk_memwipe(it->old.buf, it->old.len);
		}
		free(it->path);
		free(it->backup);
		cpk_buf_release(&it->data);
		cpk_buf_release(&it->old);
	}
	free(p->items);
	free(p->root);
	free(p->munge_key);
	if (p->rootfd >= 0)
		close(p->rootfd);
	cpk_buf_release(&p->manifest);
	/* as CPK_APPLY_PLAN_INIT, so P can be planned again */
	memset(p, 0, sizeof(*p));
	p->rootfd = -1;
	cpk_buf_init(&p->manifest);
}
