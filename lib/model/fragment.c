/*
 * Node fragments: nodes.d/NAME.yaml beside cluster.yaml, one node each,
 * written and removed by `cpk node`.  Everything happens relative to the
 * opened nodes.d directory (never through a symbolic link), and nothing is
 * written before the whole merged description, new fragment included, has
 * been validated.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk/node.h"
#include "cpk/fsutil.h"
#include "internal.h"

void cpk_nodespec_release(struct cpk_nodespec *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->address);
	free(s->gpu_type);
	free(s->partitions);
	memset(s, 0, sizeof(*s));
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

cpk_err_t cpk_node_name_check(const char *name)
{
	size_t i, n;

	if (!name || !*name)
		return cpk_err_set(CPK_ERR_INVALID, "a node name must not be empty");
	n = strlen(name);
	if (n > CPK_NODE_NAME_MAX)
		return cpk_err_set(CPK_ERR_INVALID, "node name of %zu bytes: at most %d", n,
				   CPK_NODE_NAME_MAX);
	if (!is_alnum(name[0]))
		return cpk_err_set(CPK_ERR_INVALID, "node name '%.*s': must start with a letter or digit",
				   (int)n, name);
	for (i = 0; i < n; i++)
		if (!is_alnum(name[i]) && name[i] != '-')
			return cpk_err_set(CPK_ERR_INVALID,
					   "node name: byte %zu (0x%02x) is not a letter, digit or '-'",
					   i, (unsigned char)name[i]);
	return CPK_OK;
}

cpk_err_t cpk_node_address_check(const char *addr)
{
	unsigned char bin[16];
	size_t i, n;

	if (!addr || !*addr)
		return cpk_err_set(CPK_ERR_INVALID, "a node address must not be empty");
	if (inet_pton(AF_INET, addr, bin) == 1 || inet_pton(AF_INET6, addr, bin) == 1)
		return CPK_OK;
	n = strlen(addr);
	if (n > 253)
		return cpk_err_set(CPK_ERR_INVALID, "node address of %zu bytes: at most 253", n);
	for (i = 0; i < n; i++) {
		char c = addr[i];

		if (!is_alnum(c) && c != '-' && c != '.')
			return cpk_err_set(CPK_ERR_INVALID,
					   "node address: byte %zu (0x%02x) is not a letter, digit, '-' or '.' (nor an IP address)",
					   i, (unsigned char)c);
		if (c == '.' && (i == 0 || addr[i - 1] == '.' || i + 1 == n))
			return cpk_err_set(CPK_ERR_INVALID, "node address '%s': empty label", addr);
	}
	return CPK_OK;
}

/* A GPU type as the schema takes it (F_NAME): [a-z0-9_-], starting alnum. */
static cpk_err_t gpu_type_check(const char *t)
{
	size_t i;

	if (!*t || !is_alnum(t[0]) || strlen(t) > 64)
		return cpk_err_set(CPK_ERR_INVALID, "GPU type '%s': 1 to 64 letters, digits, '_' or '-'", t);
	for (i = 0; t[i]; i++)
		if (!is_alnum(t[i]) && t[i] != '_' && t[i] != '-')
			return cpk_err_set(CPK_ERR_INVALID, "GPU type: byte %zu (0x%02x) is not a letter, digit, '_' or '-'",
					   i, (unsigned char)t[i]);
	return CPK_OK;
}

/* A comma-separated list of partition names (as the model's feature
 * syntax: letters, digits, '_', '-', '.'), nothing else: it goes into
 * YAML flow syntax as it is. */
static cpk_err_t partitions_check(const char *s)
{
	const char *p = s;
	size_t n = 0;

	for (;; p++) {
		if (*p == ',' || !*p) {
			if (!n)
				return cpk_err_set(CPK_ERR_INVALID, "partitions '%s': an empty name", s);
			if (!*p)
				return CPK_OK;
			n = 0;
		} else if (is_alnum(*p) || *p == '_' || *p == '-' || *p == '.') {
			if (++n > 64)
				return cpk_err_set(CPK_ERR_INVALID, "partitions: a name longer than 64");
		} else {
			return cpk_err_set(CPK_ERR_INVALID,
					   "partitions '%s': only letters, digits, '_', '-' and '.' in names, "
					   "separated by commas", s);
		}
	}
}

cpk_err_t cpk_nodespec_yaml(const struct cpk_nodespec *s, struct cpk_buf *out)
{
	struct cpk_buf b = CPK_BUF_INIT;
	cpk_err_t r;

	if ((r = cpk_node_name_check(s->name)) != CPK_OK)
		return r;
	if (s->address && (r = cpk_node_address_check(s->address)) != CPK_OK)
		return r;
	if (s->gpu_type && (r = gpu_type_check(s->gpu_type)) != CPK_OK)
		return r;
	if (s->gpu_type && !s->gpu_count)
		return cpk_err_set(CPK_ERR_INVALID, "GPU type %s given with no GPUs", s->gpu_type);
	if (s->partitions && (r = partitions_check(s->partitions)) != CPK_OK)
		return r;
	/* a node added to a running cluster is a dynamic one: slurm.conf
	 * stays as it is (docs/internals/render.md) */
	cpk_buf_addf(&b, "# Node %s, written by cpk node add; cpk node del removes it.\n"
		     "nodes:\n  - names: %s\n    dynamic: true\n", s->name, s->name);
	if (s->partitions)
		cpk_buf_addf(&b, "    partitions: [%s]\n", s->partitions);
	if (s->address)
		cpk_buf_addf(&b, "    addresses: \"%s\"\n", s->address);
	if (s->cpus)
		cpk_buf_addf(&b, "    cpus: %llu\n", (unsigned long long)s->cpus);
	if (s->sockets)
		cpk_buf_addf(&b, "    sockets: %llu\n", (unsigned long long)s->sockets);
	if (s->cores_per_socket)
		cpk_buf_addf(&b, "    cores_per_socket: %llu\n", (unsigned long long)s->cores_per_socket);
	if (s->threads_per_core)
		cpk_buf_addf(&b, "    threads_per_core: %llu\n", (unsigned long long)s->threads_per_core);
	if (s->memory_mb)
		cpk_buf_addf(&b, "    memory: %llu\n", (unsigned long long)s->memory_mb);
	if (s->gpu_count) {
		cpk_buf_addf(&b, "    gpus:\n      count: %llu\n", (unsigned long long)s->gpu_count);
		if (s->gpu_type)
			cpk_buf_addf(&b, "      type: %s\n", s->gpu_type);
	}
	if (cpk_buf_failed(&b)) {
		cpk_buf_release(&b);
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	}
	cpk_buf_add(out, b.buf, b.len);
	cpk_buf_release(&b);
	return cpk_buf_failed(out) ? cpk_err_set(CPK_ERR_NOMEM, "out of memory") : CPK_OK;
}

/* DIR = the directory of CLUSTER_YAML plus "nodes.d" (for messages). */
static cpk_err_t nodes_dir_path(const char *cluster_yaml, struct cpk_buf *dir)
{
	const char *slash = strrchr(cluster_yaml, '/');

	if (slash)
		cpk_buf_add(dir, cluster_yaml, (size_t)(slash - cluster_yaml) + 1);
	cpk_buf_addstr(dir, "nodes.d");
	return cpk_buf_failed(dir) ? cpk_err_set(CPK_ERR_NOMEM, "out of memory") : CPK_OK;
}

/*
 * Opens nodes.d beside CLUSTER_YAML (DIR: its path) without following a
 * symbolic link at its last component; CREATE makes it (0755) if missing.
 */
static cpk_err_t open_nodes_dir(const char *dir, int create, int *dfd)
{
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return cpk_err_sys("cannot create %s", dir);
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return cpk_err_set(CPK_ERR_PERM, "%s is not a directory (a symbolic link or a file): refused", dir);
	if (fd < 0)
		return cpk_err_sys("cannot open %s", dir);
	*dfd = fd;
	return CPK_OK;
}

/* A name or address the description (M, without the new node) already has. */
static cpk_err_t clash_check(const struct cpk_model *m, const struct cpk_nodespec *s)
{
	size_t i;

	if (m->control_name && !strcmp(s->name, m->control_name))
		return cpk_err_set(CPK_ERR_EXISTS, "%s is the control node's name", s->name);
	if (s->address && m->control_address && !strcmp(s->address, m->control_address))
		return cpk_err_set(CPK_ERR_EXISTS, "%s is the control node's address", s->address);
	for (i = 0; i < m->n_nodes; i++) {
		const struct cpk_node *n = &m->nodes[i];
		const struct cpk_pos *p = &m->groups[n->group].pos;

		if (!strcmp(n->name, s->name))
			return cpk_err_set(CPK_ERR_EXISTS, "node %s is already described (%s:%d)",
					   s->name, p->file, p->line);
		if (s->address && n->address && !strcmp(n->address, s->address))
			return cpk_err_set(CPK_ERR_EXISTS, "address %s is already node %s's (%s:%d)",
					   s->address, n->name, p->file, p->line);
	}
	return CPK_OK;
}

static cpk_err_t fragment_add(const char *cluster_yaml, const struct cpk_nodespec *s,
			      struct cpk_diags *diags, int write)
{
	struct cpk_buf dir = CPK_BUF_INIT, file = CPK_BUF_INIT, shown = CPK_BUF_INIT;
	struct cpk_buf text = CPK_BUF_INIT;
	struct cpk_model *m = NULL;
	struct stat st;
	cpk_err_t r;
	int dfd = -1;

	if ((r = cpk_nodespec_yaml(s, &text)) != CPK_OK)
		goto out;
	if ((r = nodes_dir_path(cluster_yaml, &dir)) != CPK_OK)
		goto out;
	cpk_buf_addf(&file, "%s.yaml", s->name);
	cpk_buf_addf(&shown, "%s/%s.yaml", dir.buf, s->name);
	if (cpk_buf_failed(&file) || cpk_buf_failed(&shown)) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* nodes.d, if there, must be a real directory before we read it */
	if (lstat(dir.buf, &st) == 0 && !S_ISDIR(st.st_mode)) {
		r = cpk_err_set(CPK_ERR_PERM, "%s is not a directory (a symbolic link or a file): refused", dir.buf);
		goto out;
	}
	if (lstat(shown.buf, &st) == 0) {
		r = cpk_err_set(CPK_ERR_EXISTS, "%s already exists: node %s has a fragment (cpk node del it first)",
				shown.buf, s->name);
		goto out;
	}
	/* the description as it is must be valid, and have neither name nor address */
	if ((r = cpk_model_load(cluster_yaml, &m, diags)) != CPK_OK)
		goto out;
	if ((r = clash_check(m, s)) != CPK_OK)
		goto out;
	cpk_model_free(m);
	m = NULL;
	/* then the whole of it with the new fragment */
	r = cpk_model_load_extra(cluster_yaml, shown.buf, text.buf, text.len, &m, diags);
	if (r != CPK_OK || !write)
		goto out;
	if ((r = open_nodes_dir(dir.buf, 1, &dfd)) != CPK_OK)
		goto out;
	r = cpk_write_at(dfd, file.buf, shown.buf, text.buf, text.len, 0644, (uid_t)-1,
			 (gid_t)-1, CPK_WRITE_NOREPLACE);
out:
	if (dfd >= 0)
		close(dfd);
	cpk_model_free(m);
	cpk_buf_release(&text);
	cpk_buf_release(&shown);
	cpk_buf_release(&file);
	cpk_buf_release(&dir);
	return r;
}

cpk_err_t cpk_node_fragment_add(const char *cluster_yaml, const struct cpk_nodespec *s,
				struct cpk_diags *diags)
{
	return fragment_add(cluster_yaml, s, diags, 1);
}

cpk_err_t cpk_node_fragment_check(const char *cluster_yaml, const struct cpk_nodespec *s,
				  struct cpk_diags *diags)
{
	return fragment_add(cluster_yaml, s, diags, 0);
}

cpk_err_t cpk_node_fragment_remove(const char *cluster_yaml, const char *name)
{
	struct cpk_buf dir = CPK_BUF_INIT, file = CPK_BUF_INIT;
	struct stat st;
	cpk_err_t r;
	int dfd = -1;

	if ((r = cpk_node_name_check(name)) != CPK_OK)
		return r;
	if ((r = nodes_dir_path(cluster_yaml, &dir)) != CPK_OK)
		goto out;
	cpk_buf_addf(&file, "%s.yaml", name);
	if (cpk_buf_failed(&file)) {
		r = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = open_nodes_dir(dir.buf, 0, &dfd)) != CPK_OK) {
		if (r == CPK_ERR_NOTFOUND)
			r = cpk_err_set(CPK_ERR_NOTFOUND, "node %s has no fragment: there is no %s",
					name, dir.buf);
		goto out;
	}
	if (fstatat(dfd, file.buf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = errno == ENOENT
			? cpk_err_set(CPK_ERR_NOTFOUND, "node %s has no fragment %s/%s (a node of cluster.yaml itself is the admin's to remove)",
				      name, dir.buf, file.buf)
			: cpk_err_sys("cannot read %s/%s", dir.buf, file.buf);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = cpk_err_set(CPK_ERR_PERM, "%s/%s is not a regular file: refused", dir.buf, file.buf);
		goto out;
	}
	if (unlinkat(dfd, file.buf, 0) < 0) {
		r = cpk_err_sys("cannot remove %s/%s", dir.buf, file.buf);
		goto out;
	}
	(void)fsync(dfd);
out:
	if (dfd >= 0)
		close(dfd);
	cpk_buf_release(&file);
	cpk_buf_release(&dir);
	return r;
}
