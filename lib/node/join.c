/*
 * Joining a new VM to the cluster (cpk node add): over SSH (lib/remote),
 * check it does not hold another cluster's munge key, send it the
 * description with every nodes.d fragment, the LDAP CA certificate and the
 * munge key, run `cpk apply --role compute` there, then wait until
 * slurmctld has the node (lib/slurm).  See include/cpk/node.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpk/fsutil.h"
#include "cpk/node.h"
#include "cpk/remote.h"
#include "cpk/slurm.h"
#include "internal.h"
#include "node_priv.h"

#define JOIN_DIR "/etc/clusterpack"
#define JOIN_KEY ".join-munge.key"	/* in JOIN_DIR, removed after apply */

struct cpk_node_join {
	const struct cpk_node_join_opts *o;
	struct cpk_remote *r;
	struct cpk_buf root;	/* the remote root prefix ("" for /) */
};

#define say(j, ...) cpk_node_say((j)->o->progress, (j)->o->arg, __VA_ARGS__)

/* ROOT + PATH on the node, in B (reset). */
static const char *at_root(const struct cpk_node_join *j, struct cpk_buf *b, const char *path)
{
	cpk_buf_reset(b);
	cpk_buf_addf(b, "%s%s", j->root.buf, path);
	return cpk_buf_failed(b) ? NULL : b->buf;
}

/* Runs ARGV there; non-zero exit is CPK_ERR_IO with WHAT and the output's end. */
static cpk_err_t run(struct cpk_node_join *j, const char *what, const char *const *argv,
		     struct cpk_remote_out *keep)
{
	struct cpk_remote_out out = CPK_REMOTE_OUT_INIT;
	cpk_err_t r;
	int st = -1;

	r = cpk_remote_run(j->r, argv, NULL, 0, &out, &st);
	if (r == CPK_OK && st != 0) {
		/* the end of what the node said (for a terminal: no control
		 * bytes), where a command puts its error */
		const char *all = out.data ? out.data : "";
		size_t n = out.len, k, i;
		char shown[601];

		while (n > 0 && all[n - 1] == '\n')
			n--;
		k = n > 600 ? 600 : n;
		for (i = 0; i < k; i++) {
			unsigned char c = (unsigned char)all[n - k + i];

			shown[i] = (c < 0x20 && c != '\n') || c == 0x7f ? '?' : (char)c;
		}
		shown[k] = '\0';
		r = cpk_err_set(CPK_ERR_IO, "%s on %s failed (exit %d): %s", what,
				j->o->conn.host, st, shown);
	}
	if (keep && r == CPK_OK)
		*keep = out;
	else
		cpk_remote_out_release(&out);
	return r;
}

/* The node must not run another cluster's munge key. */
static cpk_err_t munge_check(struct cpk_node_join *j, const struct cpk_model *m)
{
	struct cpk_remote_out out = CPK_REMOTE_OUT_INIT;
	struct cpk_buf p = CPK_BUF_INIT;
	char mine[65];
	const char *argv[] = { "sh", "-c",
		"if [ -e \"$1\" ]; then sha256sum <\"$1\"; else echo none; fi", "sh", NULL, NULL };
	cpk_err_t r;

	if ((r = cpk_xfer_sha256_file(m->munge.key, mine)) != CPK_OK)
		return cpk_err_prefix(r, "the cluster's munge key");
	if (!(argv[4] = at_root(j, &p, m->munge.key))) {
		cpk_buf_release(&p);
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	r = run(j, "reading the munge key's hash", argv, &out);
	if (r == CPK_OK && out.data && strncmp(out.data, "none\n", 5) &&
	    (out.len < 64 || strncmp(out.data, mine, 64)))
		r = cpk_err_set(CPK_ERR_EXISTS,
				"%s already has a munge key %s of another cluster (sha256 %.16s..., "
				"this cluster's %.16s...): not joined; remove it there if the node "
				"is to leave that cluster", j->o->conn.host, p.buf,
				out.data, mine);
	cpk_remote_out_release(&out);
	cpk_buf_release(&p);
	return r;
}

/* Puts the local file SRC as DIR/NAME there with MODE. */
static cpk_err_t put_file(struct cpk_node_join *j, const char *src, const char *dir, const char *name,
			  unsigned mode)
{
	struct cpk_buf data = CPK_BUF_INIT;
	cpk_err_t r;

	if ((r = cpk_read_file(src, &data, 16 << 20)) == CPK_OK)
		r = cpk_remote_put(j->r, dir, name, data.buf, data.len, mode);
	if (!(mode & 0077) && data.buf)	/* a secret: wipe our copy */
		cpk_memwipe(data.buf, data.len);
	cpk_buf_release(&data);
	return r;
}

/* Sends cluster.yaml and every nodes.d/NAME.yaml beside it; removes the
 * node's fragments that are no longer here. */
static cpk_err_t send_description(struct cpk_node_join *j)
{
	const char *yaml = j->o->cluster_yaml, *slash = strrchr(yaml, '/');
	struct cpk_buf ldir = CPK_BUF_INIT, rdir = CPK_BUF_INIT, rnodes = CPK_BUF_INIT;
	struct cpk_buf src = CPK_BUF_INIT;
	const char **keep = NULL;
	size_t nkeep = 0;
	struct dirent *e;
	DIR *d = NULL;
	cpk_err_t r;

	cpk_buf_addf(&rdir, "%s%s", j->root.buf, JOIN_DIR);
	cpk_buf_addf(&rnodes, "%s%s/nodes.d", j->root.buf, JOIN_DIR);
	if (slash)
		cpk_buf_add(&ldir, yaml, (size_t)(slash - yaml) + 1);
	cpk_buf_addstr(&ldir, "nodes.d");
	if (cpk_buf_failed(&rdir) || cpk_buf_failed(&rnodes) || cpk_buf_failed(&ldir)) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	{
		const char *argv[] = { "install", "-d", "-m", "0755", rdir.buf, rnodes.buf, NULL };

		if ((r = run(j, "making " JOIN_DIR, argv, NULL)) != CPK_OK)
			goto out;
	}
	if ((r = put_file(j, yaml, rdir.buf, "cluster.yaml", 0644)) != CPK_OK)
		goto out;
	if (!(d = opendir(ldir.buf)) && errno != ENOENT) {
		r = cpk_err_sys("cannot read %s", ldir.buf);
		goto out;
	}
	while (d && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		const char **v;

		if (e->d_name[0] == '.' || n < 6 || strcmp(e->d_name + n - 5, ".yaml"))
			continue;
		cpk_buf_reset(&src);
		cpk_buf_addf(&src, "%s/%s", ldir.buf, e->d_name);
		if (cpk_buf_failed(&src) || !(v = cpk_reallocarray(keep, nkeep + 2, sizeof(*v)))) {
			r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		keep = v;
		if (!(keep[nkeep] = cpk_strdup(e->d_name))) {
			r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		keep[++nkeep] = NULL;
		if ((r = put_file(j, src.buf, rnodes.buf, e->d_name, 0644)) != CPK_OK)
			goto out;
	}
	{
		/* fragments of nodes deleted since: the node's description is
		 * the control node's, whole */
		const char **argv = cpk_reallocarray(NULL, nkeep + 6, sizeof(*argv));
		size_t i;

		if (!argv) {
			r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		argv[0] = "sh";
		argv[1] = "-c";
		argv[2] = "cd \"$1\" || exit 1; shift; for f in *.yaml; do [ -e \"$f\" ] || continue; "
			  "k=; for w in \"$@\"; do [ \"$w\" = \"$f\" ] && k=1; done; "
			  "[ -n \"$k\" ] || rm -f -- \"$f\" || exit 1; done";
		argv[3] = "sh";
		argv[4] = rnodes.buf;
		for (i = 0; i < nkeep; i++)
			argv[5 + i] = keep[i];
		argv[5 + nkeep] = NULL;
		r = run(j, "removing old fragments", argv, NULL);
		free(argv);
	}
	say(j, "sent %s and %zu nodes.d fragment%s to %s", yaml, nkeep, nkeep == 1 ? "" : "s",
	    j->o->conn.host);
out:
	if (d)
		closedir(d);
	while (keep && nkeep)
		free((char *)keep[--nkeep]);
	free(keep);
	cpk_buf_release(&src);
	cpk_buf_release(&ldir);
	cpk_buf_release(&rdir);
	cpk_buf_release(&rnodes);
	return r;
}

/* Splits PATH's directory and base into D and B. */
static cpk_err_t split(const char *path, struct cpk_buf *d, struct cpk_buf *b)
{
	const char *slash = strrchr(path, '/');

	if (!slash || !slash[1])
		return cpk_err_set(CPK_ERR_INVALID, "%s: not an absolute file path", path);
	cpk_buf_add(d, path, (size_t)(slash - path));
	if (!d->len)
		cpk_buf_addstr(d, "/");
	cpk_buf_addstr(b, slash + 1);
	return cpk_buf_failed(d) || cpk_buf_failed(b) ? cpk_err_set(CPK_ERR_NOMEM, "out of memory")
						       : CPK_OK;
}

/* The LDAP CA certificate the node's sssd checks slapd with. */
static cpk_err_t send_ca(struct cpk_node_join *j, const struct cpk_model *m)
{
	struct cpk_buf d = CPK_BUF_INIT, b = CPK_BUF_INIT, rd = CPK_BUF_INIT;
	cpk_err_t r;

	if (!m->ldap.present || !m->ldap.ca_file)
		return CPK_OK;
	if ((r = split(m->ldap.ca_file, &d, &b)) == CPK_OK) {
		const char *argv[] = { "install", "-d", "-m", "0755", NULL, NULL };

		cpk_buf_addf(&rd, "%s%s", j->root.buf, d.buf);
		argv[4] = rd.buf;
		if (cpk_buf_failed(&rd))
			r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		else if ((r = run(j, "making the CA file's directory", argv, NULL)) == CPK_OK)
			r = put_file(j, m->ldap.ca_file, rd.buf, b.buf, 0644);
	}
	cpk_buf_release(&d);
	cpk_buf_release(&b);
	cpk_buf_release(&rd);
	return r;
}

/* The munge key as a root-only file, `cpk apply --role compute` with it,
 * then the key file removed (also when apply fails). */
static cpk_err_t apply_there(struct cpk_node_join *j, const struct cpk_model *m)
{
	struct cpk_buf rdir = CPK_BUF_INIT, key = CPK_BUF_INIT, yaml = CPK_BUF_INIT;
	struct cpk_remote_out out = CPK_REMOTE_OUT_INIT;
	const char *argv[14];
	cpk_err_t r, r2;
	int n = 0;

	cpk_buf_addf(&rdir, "%s%s", j->root.buf, JOIN_DIR);
	cpk_buf_addf(&key, "%s/%s", rdir.buf, JOIN_KEY);
	cpk_buf_addf(&yaml, "%s/cluster.yaml", rdir.buf);
	if (cpk_buf_failed(&rdir) || cpk_buf_failed(&key) || cpk_buf_failed(&yaml)) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = put_file(j, m->munge.key, rdir.buf, JOIN_KEY, 0400)) != CPK_OK)
		goto out;
	argv[n++] = j->o->remote_cpk ? j->o->remote_cpk : "cpk";
	argv[n++] = "apply";
	argv[n++] = "--role";
	argv[n++] = "compute";
	argv[n++] = "--node";
	argv[n++] = j->o->name;
	argv[n++] = "--munge-key";
	argv[n++] = key.buf;
	argv[n++] = "-f";
	argv[n++] = yaml.buf;
	if (j->o->remote_root) {
		argv[n++] = "--root";
		argv[n++] = j->o->remote_root;
	}
	argv[n] = NULL;
	say(j, "running cpk apply --role compute --node %s on %s", j->o->name, j->o->conn.host);
	r = run(j, "cpk apply --role compute", argv, &out);
	if (r == CPK_OK && out.data && j->o->progress) {
		char *line, *save = NULL;

		for (line = strtok_r(out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			say(j, "  %s: %s", j->o->conn.host, line);
	}
	{
		const char *rm[] = { "rm", "-f", "--", key.buf, NULL };

		r2 = run(j, "removing the munge key copy", rm, NULL);
		if (r == CPK_OK)
			r = r2;
	}
out:
	cpk_remote_out_release(&out);
	cpk_buf_release(&rdir);
	cpk_buf_release(&key);
	cpk_buf_release(&yaml);
	return r;
}

/* Until slurmctld has the node up (not unknown, not down), or the wait ends. */
static cpk_err_t wait_registered(struct cpk_node_join *j, const struct cpk_model *m)
{
	struct cpk_slurm_nodes sn = CPK_SLURM_NODES_INIT;
	const char *conf = NULL, *last = "not known to slurmctld";
	char state[64] = "";
	int64_t end = cpk_node_now_ms() + (int64_t)j->o->wait_s * 1000;
	cpk_err_t r;
	size_t i;

	if ((r = cpk_slurm_conf_path(m, j->o->slurm_conf, &conf)) != CPK_OK ||
	    (r = cpk_slurm_open(conf)) != CPK_OK)
		return r;
	for (;;) {
		if ((r = cpk_slurm_load_nodes(&sn)) != CPK_OK)
			break;
		for (i = 0; i < sn.n; i++)
			if (!strcmp(sn.v[i].name, j->o->name))
				break;
		if (i < sn.n) {
			snprintf(state, sizeof(state), "%s", sn.v[i].state);
			last = state;
			if (strncmp(state, "down", 4) && strncmp(state, "unknown", 7) &&
			    !strchr(state, '*'))
				break;
		}
		if (cpk_node_now_ms() >= end) {
			r = cpk_err_set(CPK_ERR_IO,
					"%s did not join within %u s (slurmctld: %s); see slurmd's log "
					"there (journalctl -u slurmd)", j->o->name, j->o->wait_s, last);
			break;
		}
		cpk_node_nap_ms(250);
	}
	if (r == CPK_OK)
		say(j, "%s joined: %s in slurmctld", j->o->name, state);
	cpk_slurm_nodes_release(&sn);
	cpk_slurm_close();
	return r;
}

cpk_err_t cpk_node_join_check(const struct cpk_node_join_opts *o, struct cpk_node_join **out)
{
	struct cpk_remote_opts ro;
	struct cpk_node_join *j;
	struct cpk_model *m = NULL;
	struct cpk_diags d = CPK_DIAGS_INIT;
	cpk_err_t r;

	*out = NULL;
	if (!(j = calloc(1, sizeof(*j))))
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	j->o = o;
	cpk_buf_init(&j->root);
	if (o->remote_root && strcmp(o->remote_root, "/"))
		cpk_buf_addstr(&j->root, o->remote_root);
	cpk_buf_addstr(&j->root, "");
	memset(&ro, 0, sizeof(ro));
	ro.conn = o->conn;
	ro.run_timeout_ms = o->run_timeout_ms;
	if ((r = cpk_model_load(o->cluster_yaml, &m, &d)) != CPK_OK) {
		r = cpk_err_prefix(r, "%s", o->cluster_yaml);
		goto out;
	}
	if ((r = cpk_remote_open(&ro, &j->r)) != CPK_OK)
		goto out;
	say(j, "connected to %s (host key known)", o->conn.host);
	r = munge_check(j, m);
out:
	cpk_diags_release(&d);
	cpk_model_free(m);
	if (r != CPK_OK) {
		cpk_node_join_free(j);
		return r;
	}
	*out = j;
	return CPK_OK;
}

cpk_err_t cpk_node_join_detect(struct cpk_node_join *j, struct cpk_nodespec *spec)
{
	struct cpk_remote_out out = CPK_REMOTE_OUT_INIT;
	const char *slurmd[] = { "slurmd", "-C", NULL };
	/* no nvidia-smi: a machine without NVIDIA's driver, 0 GPUs; one
	 * with /dev/nvidia0 but no nvidia-smi cannot be counted */
	const char *smi[] = { "sh", "-c",
		"if command -v nvidia-smi >/dev/null 2>&1; then "
		"exec nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; "
		"elif [ -e /dev/nvidia0 ]; then echo 'cpk: /dev/nvidia0 is there but nvidia-smi is not' >&2; exit 3; "
		"fi", NULL };
	cpk_err_t r;

	if ((r = run(j, "slurmd -C", slurmd, &out)) != CPK_OK)
		return r;
	r = cpk_nodespec_from_slurmd(spec, out.data ? out.data : "", out.len);
	cpk_remote_out_release(&out);
	if (r != CPK_OK)
		return cpk_err_prefix(r, "slurmd -C on %s", j->o->conn.host);
	if ((r = run(j, "counting the GPUs", smi, &out)) != CPK_OK)
		return r;
	r = cpk_nodespec_gpus_from_nvidia_smi(spec, out.data ? out.data : "", out.len);
	cpk_remote_out_release(&out);
	if (r != CPK_OK)
		return cpk_err_prefix(r, "nvidia-smi on %s", j->o->conn.host);
	say(j, "detected on %s: %llu CPUs (%llu x %llu x %llu), %llu MiB, %llu GPU%s%s%s",
	    j->o->conn.host, (unsigned long long)spec->cpus, (unsigned long long)spec->sockets,
	    (unsigned long long)spec->cores_per_socket,
	    (unsigned long long)spec->threads_per_core, (unsigned long long)spec->memory_mb,
	    (unsigned long long)spec->gpu_count, spec->gpu_count == 1 ? "" : "s",
	    spec->gpu_type ? " " : "", spec->gpu_type ? spec->gpu_type : "");
	return CPK_OK;
}

cpk_err_t cpk_node_join_run(struct cpk_node_join *j)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = NULL;
	cpk_err_t r;

	/* the description now has the node's fragment */
	if ((r = cpk_model_load(j->o->cluster_yaml, &m, &d)) != CPK_OK)
		r = cpk_err_prefix(r, "%s", j->o->cluster_yaml);
	if (r == CPK_OK && !cpk_model_find_node(m, j->o->name))
		r = cpk_err_set(CPK_ERR_NOTFOUND, "%s is not described", j->o->name);
	if (r == CPK_OK)
		r = send_description(j);
	if (r == CPK_OK)
		r = send_ca(j, m);
	if (r == CPK_OK)
		r = apply_there(j, m);
	if (r == CPK_OK && j->o->wait_s)
		r = wait_registered(j, m);
	cpk_diags_release(&d);
	cpk_model_free(m);
	return r;
}

void cpk_node_join_free(struct cpk_node_join *j)
{
	if (!j)
		return;
	cpk_remote_close(j->r);
	cpk_buf_release(&j->root);
	free(j);
}
