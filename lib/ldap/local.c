/*
 * Names and ids an LDAP account must not take on this control node:
 * reserved system names, and the names and ids of the node's own passwd
 * and group files (see cpk_local_check in ldap.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cpk/fsutil.h"
#include "ldap_priv.h"

#define SYS_ID_MAX 999		/* Debian's SYS_UID_MAX / SYS_GID_MAX */
#define FILE_MAX (64 << 20)

/* Names of system accounts and groups whether or not this node has them
 * (Debian's base-passwd, common daemons, admin groups). */
static const char *const reserved[] = {
	"root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail",
	"news", "uucp", "proxy", "www-data", "backup", "list", "irc", "gnats",
	"nobody", "nogroup", "adm", "tty", "disk", "kmem", "dialout", "fax",
	"voice", "cdrom", "floppy", "tape", "sudo", "audio", "dip", "operator",
	"src", "shadow", "utmp", "video", "sasl", "plugdev", "staff",
	"users", "wheel", "admin", "input", "kvm", "render", "netdev", "lpadmin",
	"sgx", "systemd-journal", "systemd-network", "systemd-resolve",
	"systemd-timesync", "messagebus", "sshd", "_apt", "_ssh", "ssl-cert",
	"munge", "slurm", "openldap", "sssd", "nslcd", "polkitd", "syslog",
	"ntp", "_chrony", "postfix", "postdrop", "statd", "_rpc", "docker",
	"libvirt", "nvidia-persistenced", "cpk",
};

/* Whether FILE (passwd or group text) has an entry NAME, or one with id
 * ID (ID 0: not looked at; field 3 is the uid or gid in both). */
static int in_file(const char *text, const char *name, uint64_t id)
{
	const char *line = text, *next;
	size_t nlen = strlen(name ? name : "");

	for (; line && *line; line = next) {
		const char *colon = strchr(line, ':'), *f;
		size_t len;
		int k;

		next = strchr(line, '\n');
		if (next)
			next++;
		if (!colon || (next && colon > next))
			continue;
		len = (size_t)(colon - line);
		if (name && len == nlen && !strncmp(line, name, len))
			return 1;
		for (f = colon + 1, k = 1; k < 2 && f; k++) {	/* to field 3 */
			f = strchr(f, ':');
			if (f && (!next || f < next))
				f++;
			else
				f = NULL;
		}
		if (id && f && strtoull(f, NULL, 10) == id &&
		    f[0] >= '0' && f[0] <= '9')
			return 1;
	}
	return 0;
}

static cpk_err_t read_etc(const char *root, const char *file,
			  struct cpk_buf *text, struct cpk_buf *path)
{
	cpk_err_t r;

	cpk_buf_reset(path);
	cpk_buf_addf(path, "%s/etc/%s", root && *root && strcmp(root, "/") ?
		     root : "", file);
	if (cpk_buf_failed(path))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	if ((r = cpk_read_file(path->buf, text, FILE_MAX)) != CPK_OK)
		return cpk_err_set(r, "cannot check the control node's "
				   "accounts: %s", cpk_errmsg());
	return CPK_OK;
}

int cpk_name_reserved(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(name, reserved[i]))
			return 1;
	return 0;
}

cpk_err_t cpk_local_check(const char *root, enum cpk_id_kind kind,
			  const char *name, uint64_t id,
			  const struct cpk_range *range, int force)
{
	struct cpk_buf pw = CPK_BUF_INIT, gr = CPK_BUF_INIT;
	struct cpk_buf ppath = CPK_BUF_INIT, gpath = CPK_BUF_INIT;
	const char *what = kind == CPK_ID_UID ? "user" : "group";
	const char *idw = kind == CPK_ID_UID ? "uid" : "gid";
	cpk_err_t r;

	if (name && cpk_name_reserved(name)) {
		r = cpk_err_set(CPK_ERR_INVALID, "%s name '%s' is reserved for "
				"a system account or group", what, name);
		goto out;
	}
	if ((r = read_etc(root, "passwd", &pw, &ppath)) != CPK_OK ||
	    (r = read_etc(root, "group", &gr, &gpath)) != CPK_OK)
		goto out;
	/* a user of a local name would get that account's ssh keys through
	 * AuthorizedKeysCommand: never; a group is only shadowed */
	if (name && (in_file(pw.buf, name, 0) || in_file(gr.buf, name, 0)) &&
	    (kind == CPK_ID_UID || force != 1)) {
		r = cpk_err_set(CPK_ERR_EXISTS, "'%s' is a local %s of the "
				"control node (%s or %s)%s", name,
				in_file(pw.buf, name, 0) ? "account" : "group",
				ppath.buf, gpath.buf,
				kind == CPK_ID_UID || force < 0 ? "" :
				": --force makes the LDAP group anyway (the "
				"local one hides it where files come first)");
		goto out;
	}
	if (!id)
		goto out;
	if (in_file(kind == CPK_ID_UID ? pw.buf : gr.buf, NULL, id)) {
		r = cpk_err_set(CPK_ERR_EXISTS, "%s %" PRIu64 " belongs to a "
				"local %s of the control node (%s)", idw, id,
				what, kind == CPK_ID_UID ? ppath.buf : gpath.buf);
		goto out;
	}
	if (id <= SYS_ID_MAX || (range && id < range->lo && force != 1))
		r = cpk_err_set(CPK_ERR_INVALID, "%s %" PRIu64 " is below "
				"users.%s_range (%" PRIu64 "-%" PRIu64 ")%s",
				idw, id, idw, range ? range->lo : 0,
				range ? range->hi : 0, id <= SYS_ID_MAX ?
				": system ids are never given" : force < 0 ?
				"; leave it out (the pool gives one) or add "
				"this user with 'cpk user add --force'" :
				"; --force takes it anyway");
out:
	cpk_buf_release(&pw);
	cpk_buf_release(&gr);
	cpk_buf_release(&ppath);
	cpk_buf_release(&gpath);
	return r;
}
