/*
 * The NFS mounts of a host as systemd mount units (one file per mount
 * point, named as systemd names it), so that /etc/fstab, the admin's file,
 * is never rewritten, and apply can enable, start and remount each one.
 */
#include <string.h>

#include "cpk/render.h"
#include "render_priv.h"

/* systemd-escape --path (systemd.unit(5) "String Escaping"): slashes
 * squeezed and trimmed, "/" to "-", bytes other than [A-Za-z0-9:_.] (and
 * a leading '.') as \xNN; the root is "-". */
void cpk_render_unit_name(const char *path, const char *suffix, struct cpk_buf *out)
{
	const char *p = path;
	size_t start = out->len;

	while (*p == '/')
		p++;
	if (!*p)
		cpk_buf_addch(out, '-');
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '/') {
			while (p[1] == '/')
				p++;
			if (p[1])
				cpk_buf_addch(out, '-');
			continue;
		}
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == ':' || c == '_' || (c == '.' && out->len > start))
			cpk_buf_addch(out, (char)c);
		else
			cpk_buf_addf(out, "\\x%02x", c);
	}
	cpk_buf_addstr(out, suffix);
}

void cpk_render_mount_unit(const struct cpk_model *m, const struct cpk_filesystem *fs,
			   struct cpk_buf *out)
{
	struct cpk_buf what = CPK_BUF_INIT;

	cpk_render__header(m, out, "systemd mount unit");
	cpk_buf_addf(&what, "%s:%s", fs->server, fs->export_path);
	cpk_buf_addf(out, "[Unit]\nDescription=%s (%s) from %s, for clusterpack\n"
		     "Wants=network-online.target\nAfter=network-online.target\n\n", fs->mount,
		     fs->name, what.buf ? what.buf : "");
	cpk_buf_addf(out, "[Mount]\nWhat=%s\nWhere=%s\nType=%s\nOptions=%s\n\n",
		     what.buf ? what.buf : "", fs->mount, fs->type, fs->mount_options);
	cpk_buf_addstr(out, "[Install]\nWantedBy=remote-fs.target\n");
	if (cpk_buf_failed(&what))
		out->failed = 1;
	cpk_buf_release(&what);
}
