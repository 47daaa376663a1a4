/*
 * Installing a plan: each changed file replaced atomically (a foreign one
 * hard-linked to FILE.cpk-orig first, never over an existing backup), then
 * the manifest of what apply wrote; and the control role's munge key.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk/fsutil.h"
#include "cpk/munge.h"
#include "apply_priv.h"

/* Links the file in place to NAME.cpk-orig (the old inode stays there when
 * the new file is renamed over NAME). */
static cpk_err_t backup(int dfd, const char *base, struct cpk_apply_item *it)
{
	struct cpk_buf b = CPK_BUF_INIT, full = CPK_BUF_INIT;
	cpk_err_t r = CPK_OK;

	cpk_buf_addf(&b, "%s.cpk-orig", base);
	cpk_buf_addf(&full, "%s.cpk-orig", it->path);
	if (cpk_buf_failed(&b) || cpk_buf_failed(&full)) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	} else if (linkat(dfd, base, dfd, b.buf, 0) == 0) {
		(void)fsync(dfd);
		it->backup = cpk_buf_detach(&full, NULL);
	} else if (errno == EEXIST) {
		it->backup_kept = 1;	/* the first original is kept */
	} else {
		r = cpk_err_sys("cannot back up %s to %s", it->path, full.buf);
	}
	cpk_buf_release(&b);
	cpk_buf_release(&full);
	return r;
}

static cpk_err_t install_one(struct cpk_apply_plan *p, struct cpk_apply_item *it)
{
	char *dir = NULL, *base = NULL;
	cpk_err_t r;
	int dfd = -1;

	if ((r = apply_split(it->path, &dir, &base)) != CPK_OK)
		return r;
	/* a directory made here is root's (the munge key's: munge's) */
	r = apply_open_dir(p->rootfd, dir, 1, it->dir_mode, it->uid, it->gid, &dfd);
	if (r == CPK_OK && it->state == CPK_APPLY_FOREIGN)
		r = backup(dfd, base, it);
	if (r == CPK_OK)
		r = cpk_write_at(dfd, base, it->path, it->data.buf, it->data.len, it->mode,
				 it->uid, it->gid, 0);
	if (r == CPK_OK)
		it->written = 1;
	if (dfd >= 0)
		close(dfd);
	free(dir);
	free(base);
	return r;
}

/* True if the manifest line L (up to '\n') names a path of the plan that
 * gets a line of its own (written now or unchanged). */
static int replaced(const struct cpk_apply_plan *p, const char *l, size_t len)
{
	const char *sp = memchr(l, ' ', len);
	size_t i;

	if (!sp)
		return 0;
	for (i = 0; i < p->n; i++)
		if ((p->items[i].written || p->items[i].state == CPK_APPLY_UNCHANGED) &&
		    strlen(p->items[i].path) == len - (size_t)(sp + 1 - l) &&
		    !memcmp(p->items[i].path, sp + 1, len - (size_t)(sp + 1 - l)))
			return 1;
	return 0;
}

/* The old lines of the paths not rewritten, then one per item that now holds what the
 * plan wants (written now, or unchanged). */
static cpk_err_t write_manifest(struct cpk_apply_plan *p)
{
	struct cpk_buf m = CPK_BUF_INIT;
	const char *l = p->manifest.buf;
	char hex[65];
	cpk_err_t r = CPK_OK;
	size_t i;
	int dfd = -1;

	while (*l) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);

		if (len > 66 && !replaced(p, l, len)) {
			cpk_buf_add(&m, l, len);
			cpk_buf_addch(&m, '\n');
		}
		l += len + (nl != NULL);
	}
	for (i = 0; i < p->n && r == CPK_OK; i++) {
		const struct cpk_apply_item *it = &p->items[i];

		if (!it->written && it->state != CPK_APPLY_UNCHANGED)
			continue;
		if ((r = apply_sha256(it->data.buf, it->data.len, hex)) == CPK_OK)
			cpk_buf_addf(&m, "%s %s\n", hex, it->path);
	}
	if (r == CPK_OK && cpk_buf_failed(&m))
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if (r == CPK_OK && (m.len != p->manifest.len || memcmp(m.buf, p->manifest.buf, m.len)))
		r = apply_open_dir(p->rootfd, "/var/lib/clusterpack", 1, 0755, 0, 0, &dfd);
	if (r == CPK_OK && dfd >= 0)
		r = cpk_write_at(dfd, "apply.manifest", APPLY_MANIFEST, m.buf, m.len, 0600,
				 0, 0, 0);
	if (dfd >= 0)
		close(dfd);
	cpk_buf_release(&m);
	return r;
}

cpk_err_t cpk_apply_install(struct cpk_apply_plan *p)
{
	cpk_err_t r = CPK_OK, r2;
	size_t i;

	for (i = 0; i < p->n && r == CPK_OK; i++)
		if (p->items[i].state != CPK_APPLY_UNCHANGED)
			r = install_one(p, &p->items[i]);
	if (r == CPK_OK && p->ldap_db_missing) {
		int dfd = -1;

		/* slapd's database directory, slapd's alone */
		r = apply_open_dir(p->rootfd, "/var/lib/ldap", 1, 0700, p->ldap_uid, p->ldap_gid,
				   &dfd);
		if (dfd >= 0)
			close(dfd);
	}
	if (r != CPK_OK) {
		/* keep the message of the first failure; record what was written */
		struct cpk_buf msg = CPK_BUF_INIT;

		cpk_buf_addstr(&msg, cpk_errmsg());
		(void)write_manifest(p);
		r = cpk_err_set(r, "%s", msg.buf);
		cpk_buf_release(&msg);
		return r;
	}
	r2 = write_manifest(p);
	return r2 != CPK_OK ? cpk_err_prefix(r2, "the files are installed, but the manifest is not") : CPK_OK;
}

static cpk_err_t key_dir(struct cpk_apply_plan *p, int create, int *dfd, char **base)
{
	char *dir = NULL;
	cpk_err_t r;

	if ((r = apply_split(p->munge_key, &dir, base)) != CPK_OK)
		return r;
	r = apply_open_dir(p->rootfd, dir, create, 0700, p->munge_uid, p->munge_gid, dfd);
	free(dir);
	if (r != CPK_OK) {
		free(*base);
		*base = NULL;
	}
	return r;
}

cpk_err_t cpk_apply_munge_key_present(const struct cpk_apply_plan *p, int *present)
{
	char *base = NULL;
	struct stat st;
	cpk_err_t r;
	int dfd = -1;

	*present = 0;
	if ((r = key_dir((struct cpk_apply_plan *)p, 0, &dfd, &base)) != CPK_OK)
		return r;
	if (dfd >= 0 && fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
		*present = 1;
	else if (dfd >= 0 && errno != ENOENT)
		r = cpk_err_sys("cannot check %s", p->munge_key);
	if (dfd >= 0)
		close(dfd);
	free(base);
	return r;
}

cpk_err_t cpk_apply_munge_key(struct cpk_apply_plan *p, int *created)
{
	char *base = NULL, path[64];
	cpk_err_t r;
	int dfd = -1, present = 0;

	*created = 0;
	if ((r = cpk_apply_munge_key_present(p, &present)) != CPK_OK || present)
		return r;
	if ((r = key_dir(p, 1, &dfd, &base)) != CPK_OK)
		return r;
	/* the directory as reached safely, not its name again */
	if (strlen(base) > 32) {
		r = cpk_err_set(CPK_ERR_INVALID, "%s: name too long", p->munge_key);
	} else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, base);
		r = cpk_munge_key_create(path, p->munge_uid, p->munge_gid);
		if (r == CPK_OK)
			*created = 1;
		else
			r = cpk_err_prefix(r, "%s", p->munge_key);
	}
	close(dfd);
	free(base);
	return r;
}
