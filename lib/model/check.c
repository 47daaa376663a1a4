/*
 * Checks of the description as a whole, once every key has been parsed and
 * defaulted: node names and addresses expanded and unique, partitions naming
 * known nodes, exports that exportfs would accept but should not, LDAP
 * settings that agree, and the values derived from others.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpk/hostlist.h"
#include "model_priv.h"

/* strcmp() == 0 where either side may be NULL (a value that failed to parse). */
static int streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* Where the field at ADDR was given, else FALLBACK. */
static struct cpk_pos where(struct ctx *c, const void *addr,
			    const struct cpk_pos *fallback)
{
	const struct posent *pe = cpk_pos_get(c->p, addr);
	struct cpk_pos none = { c->m->path, 0, 0 };

	if (pe)
		return pe->pos;
	return fallback ? *fallback : none;
}

/* Expands the host list in the field at ADDR; errors point into it. */
static int expand_field(struct ctx *c, struct cpk_hostlist *hl, char *const *addr,
			const struct cpk_pos *fallback, const char *path)
{
	const struct posent *pe = cpk_pos_get(c->p, addr);
	struct cpk_pos p = where(c, addr, fallback);
	size_t errpos = 0;
	cpk_err_t r;

	r = cpk_hostlist_expand(hl, *addr, &errpos);
	if (r == CPK_ERR_NOMEM) {
		c->oom = 1;
		return -1;
	}
	if (r != CPK_OK) {
		if (pe && p.line)
			p.col += (int)errpos + (pe->quoted ? 1 : 0);
		cpk_diag_add(c, &p, "%s: %s in '%s'", path, cpk_errmsg(), *addr);
		return -1;
	}
	return 0;
}

static int is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* Seconds of a Slurm time string (already syntax-checked); -1 unlimited. */
static long long slurm_seconds(const char *s)
{
	long long d = 0, v[3] = { 0, 0, 0 };
	const char *dash = strchr(s, '-');
	int n = 0;

	if (!strcmp(s, "UNLIMITED"))
		return -1;
	if (dash) {
		d = strtoll(s, NULL, 10);
		s = dash + 1;
	}
	while (n < 3) {
		v[n++] = strtoll(s, (char **)&s, 10);
		if (*s != ':')
			break;
		s++;
	}
	if (dash)	/* D-H, D-H:M, D-H:M:S */
		return ((d * 24 + v[0]) * 60 + v[1]) * 60 + v[2];
	if (n == 1)	/* M */
		return v[0] * 60;
	if (n == 2)	/* M:S */
		return v[0] * 60 + v[1];
	return (v[0] * 60 + v[1]) * 60 + v[2];
}

static void check_groups(struct ctx *c)
{
	struct cpk_model *m = c->m;
	struct cpk_strmap addrs = CPK_STRMAP_INIT;
	struct cpk_buf path = CPK_BUF_INIT;
	size_t gi, i, total = 0;

	for (gi = 0; gi < m->n_groups && !c->oom; gi++) {
		struct cpk_nodegroup *g = &m->groups[gi];
		struct cpk_hostlist names = CPK_HOSTLIST_INIT, ad = CPK_HOSTLIST_INIT;
		struct cpk_node *nv;
		uint64_t prod = g->sockets * g->cores_per_socket * g->threads_per_core;
		int topo = cpk_pos_get(c->p, &g->sockets) ||
			   cpk_pos_get(c->p, &g->cores_per_socket) ||
			   cpk_pos_get(c->p, &g->threads_per_core);

		if (!g->names)
			continue;	/* reported already */
		cpk_buf_reset(&path);
		cpk_buf_addf(&path, "nodes[%zu]", gi);
		if (!g->cpus) {
			g->cpus = prod;
		} else if (topo && g->cpus != prod) {
			struct cpk_pos p = where(c, &g->cpus, &g->pos);

			cpk_diag_add(c, &p, "%s.cpus: %llu does not match sockets x cores_per_socket x threads_per_core = %llu",
				     path.buf, (unsigned long long)g->cpus,
				     (unsigned long long)prod);
		}
		if (g->gpus.count) {
			if (!g->gpus.file) {
				char dev[64];

				if (g->gpus.count == 1)
					snprintf(dev, sizeof(dev), "/dev/nvidia0");
				else
					snprintf(dev, sizeof(dev), "/dev/nvidia[0-%llu]",
						 (unsigned long long)g->gpus.count - 1);
				if (!(g->gpus.file = cpk_strdup(dev)))
					c->oom = 1;
			} else {
				struct cpk_hostlist f = CPK_HOSTLIST_INIT;
				struct cpk_buf fp = CPK_BUF_INIT;

				cpk_buf_addf(&fp, "%s.gpus.file", path.buf);
				if (expand_field(c, &f, &g->gpus.file, &g->pos, fp.buf) == 0 &&
				    f.n != g->gpus.count) {
					struct cpk_pos p = where(c, &g->gpus.file, &g->pos);

					cpk_diag_add(c, &p, "%s: names %zu device files but count is %llu",
						     fp.buf, f.n, (unsigned long long)g->gpus.count);
				}
				cpk_hostlist_release(&f);
				cpk_buf_release(&fp);
			}
		}
		{
			struct cpk_buf np = CPK_BUF_INIT;
			int bad;

			cpk_buf_addf(&np, "%s.names", path.buf);
			bad = expand_field(c, &names, &g->names, &g->pos, np.buf) < 0;
			cpk_buf_release(&np);
			if (bad)
				goto next;
		}
		if (g->addresses) {
			struct cpk_buf ap = CPK_BUF_INIT;

			cpk_buf_addf(&ap, "%s.addresses", path.buf);
			if (expand_field(c, &ad, &g->addresses, &g->pos, ap.buf) == 0) {
				struct cpk_pos p = where(c, &g->addresses, &g->pos);

				if (ad.n != names.n) {
					cpk_diag_add(c, &p, "%s: %zu addresses for %zu names",
						     ap.buf, ad.n, names.n);
				} else {
					for (i = 0; i < ad.n; i++) {
						if (is_ip(ad.names[i]))
							continue;
						cpk_diag_add(c, &p, "%s: '%s' is not an IPv4 or IPv6 address",
							     ap.buf, ad.names[i]);
						break;
					}
				}
			}
			cpk_buf_release(&ap);
			if (ad.n != names.n) {
				cpk_hostlist_release(&ad);
				goto next;
			}
		}
		for (i = 0; i < names.n; i++) {
			struct cpk_pos p = where(c, &g->names, &g->pos);

			if (cpk_is_name(names.names[i], 63))
				continue;
			cpk_diag_add(c, &p, "%s.names: '%s' is not a host name (letters, digits, '_', '.', '-'; starting with a letter or digit; at most 63)",
				     path.buf, names.names[i]);
			cpk_hostlist_release(&ad);
			goto next;
		}
		total += names.n;
		if (total > CPK_HOSTLIST_MAX) {
			struct cpk_pos p = where(c, &g->names, &g->pos);

			cpk_diag_add(c, &p, "more than %d compute nodes", CPK_HOSTLIST_MAX);
			cpk_hostlist_release(&ad);
			goto next;
		}
		nv = cpk_reallocarray(m->nodes, m->n_nodes + names.n, sizeof(*nv));
		if (!nv) {
			c->oom = 1;
			cpk_hostlist_release(&ad);
			goto next;
		}
		m->nodes = nv;
		for (i = 0; i < names.n; i++) {
			struct cpk_node *n = &m->nodes[m->n_nodes];
			struct cpk_pos p = where(c, &g->names, &g->pos);
			size_t other;
			int rc;

			n->name = names.names[i];
			n->address = ad.n ? ad.names[i] : NULL;
			n->group = gi;
			names.names[i] = NULL;
			if (ad.n)
				ad.names[i] = NULL;
			m->n_nodes++;
			rc = cpk_strmap_put(&c->p->nodes, n->name, m->n_nodes - 1, &other);
			if (rc < 0) {
				c->oom = 1;
				break;
			}
			if (rc == 0 && m->nodes[other].group == gi) {
				cpk_diag_add(c, &p, "%s.names: node '%s' is named twice in '%s'",
					     path.buf, n->name, g->names);
				continue;
			}
			if (rc == 0) {
				struct cpk_pos q = where(c, &m->groups[m->nodes[other].group].names,
							 &m->groups[m->nodes[other].group].pos);

				cpk_diag_add(c, &p, "%s.names: node '%s' is already defined at %s:%d:%d",
					     path.buf, n->name, q.file, q.line, q.col);
				continue;
			}
			if (streq(n->name, m->control_name) && n->address &&
			    m->control_address && !streq(n->address, m->control_address))
				cpk_diag_add(c, &p, "%s.names: node '%s' has the control node's name but address %s, not %s",
					     path.buf, n->name, n->address, m->control_address);
			if (!n->address)
				continue;
			p = where(c, &g->addresses, &g->pos);
			if (streq(n->address, m->control_address) &&
			    !streq(n->name, m->control_name)) {
				cpk_diag_add(c, &p, "%s.addresses: %s of node '%s' is the control node's address",
					     path.buf, n->address, n->name);
				continue;
			}
			rc = cpk_strmap_put(&addrs, n->address, m->n_nodes - 1, &other);
			if (rc < 0) {
				c->oom = 1;
				break;
			}
			if (rc == 0)
				cpk_diag_add(c, &p, "%s.addresses: %s of node '%s' is also the address of node '%s'",
					     path.buf, n->address, n->name, m->nodes[other].name);
		}
		cpk_hostlist_release(&ad);
next:
		cpk_hostlist_release(&names);
	}
	if (!m->n_groups && !cpk_pos_get(c->p, &m->groups)) {
		struct cpk_pos p = { m->path, 0, 0 };

		cpk_diag_add(c, &p, "no compute nodes: add a 'nodes' list (or a nodes.d/ fragment)");
	}
	cpk_strmap_release(&addrs);
	cpk_buf_release(&path);
}

static void check_partitions(struct ctx *c)
{
	struct cpk_model *m = c->m;
	struct cpk_strmap names = CPK_STRMAP_INIT;
	struct cpk_buf path = CPK_BUF_INIT;
	const struct cpk_partition *def = NULL;
	size_t i, j;

	if (!m->n_partitions && !cpk_pos_get(c->p, &m->partitions)) {
		struct cpk_pos p = { m->path, 0, 0 };

		cpk_diag_add(c, &p, "no partitions: jobs could not run; add one, e.g. {name: batch, nodes: ALL, default: true}");
	}
	for (i = 0; i < m->n_partitions && !c->oom; i++) {
		struct cpk_partition *pt = &m->partitions[i];
		struct cpk_pos p = where(c, &pt->name, &pt->pos);
		size_t other;

		cpk_buf_reset(&path);
		cpk_buf_addf(&path, "partitions[%zu]", i);
		if (pt->name && cpk_strmap_put(&names, pt->name, i, &other) == 0)
			cpk_diag_add(c, &p, "%s.name: partition '%s' is already defined", path.buf,
				     pt->name);
		if (pt->is_default) {
			if (def) {
				struct cpk_pos q = where(c, &pt->is_default, &pt->pos);

				cpk_diag_add(c, &q, "%s.default: partition '%s' is already the default",
					     path.buf, def->name);
			}
			def = pt;
		}
		if (pt->default_time) {
			long long dt = slurm_seconds(pt->default_time);
			long long mt = slurm_seconds(pt->max_time);

			if (mt >= 0 && (dt < 0 || dt > mt)) {
				struct cpk_pos q = where(c, &pt->default_time, &pt->pos);

				cpk_diag_add(c, &q, "%s.default_time: %s is longer than max_time %s",
					     path.buf, pt->default_time, pt->max_time);
			}
		}
		if (pt->nodes && strcmp(pt->nodes, "ALL")) {
			struct cpk_hostlist hl = CPK_HOSTLIST_INIT;
			struct cpk_buf np = CPK_BUF_INIT;

			cpk_buf_addf(&np, "%s.nodes", path.buf);
			if (expand_field(c, &hl, &pt->nodes, &pt->pos, np.buf) == 0) {
				for (j = 0; j < hl.n; j++) {
					size_t ni;

					if (cpk_strmap_get(&c->p->nodes, hl.names[j], &ni) &&
					    !m->groups[m->nodes[ni].group].dynamic)
						continue;
					p = where(c, &pt->nodes, &pt->pos);
					if (cpk_strmap_get(&c->p->nodes, hl.names[j], NULL))
						cpk_diag_add(c, &p, "%s: '%s' is a dynamic node, not in slurm.conf: "
							     "it joins partition '%s' when its group names it in 'partitions'",
							     np.buf, hl.names[j], pt->name ? pt->name : "?");
					else
						cpk_diag_add(c, &p, "%s: '%s' is not a compute node of this cluster",
							     np.buf, hl.names[j]);
					break;
				}
			}
			cpk_hostlist_release(&hl);
			cpk_buf_release(&np);
		}
	}
	cpk_strmap_release(&names);
	cpk_buf_release(&path);
}

/* The names a host in the cluster can have: control or a compute node. */
static int is_cluster_host(struct ctx *c, const char *name)
{
	return streq(name, c->m->control_name) ||
	       cpk_strmap_get(&c->p->nodes, name, NULL);
}

static int is_pattern(const char *s)
{
	const char *p;

	if (!strchr(s, '*') && !strchr(s, '?'))
		return 0;
	for (p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("*?.-_[]", *p))
			return 0;
	return 1;
}

/* A pattern that names hosts of one domain: after its last wildcard comes
 * ".DOMAIN" with at least two labels and no wildcard ("*.example.org",
 * "node?.c.example.org"; not "*.*", "*.org" or "*"). */
static int is_domain_pattern(const char *s)
{
	const char *w = s + strlen(s);
	const char *dom;

	while (w > s && !strchr("*?[]", w[-1]))
		w--;
	dom = strchr(w, '.');
	return is_pattern(s) && dom && cpk_is_name(dom + 1, 253) &&
	       strchr(dom + 1, '.') && !strstr(dom, "..");
}

static int is_network(const char *s)
{
	const char *slash = strchr(s, '/');
	char addr[64];
	unsigned char a[16];
	char *end;
	long bits;
	int v6;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return 0;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	v6 = strchr(addr, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, a) != 1)
		return 0;
	if (!v6 && strchr(slash + 1, '.'))	/* a dotted netmask */
		return inet_pton(AF_INET, slash + 1, a) == 1;
	if (!isdigit((unsigned char)slash[1]))
		return 0;
	bits = strtol(slash + 1, &end, 10);
	return !*end && bits >= 0 && bits <= (v6 ? 128 : 32);
}

/* The address of the cluster host NAME, or NAME if it has none. */
static const char *host_address(struct ctx *c, const char *name)
{
	size_t i;

	if (streq(name, c->m->control_name) && c->m->control_address)
		return c->m->control_address;
	if (cpk_strmap_get(&c->p->nodes, name, &i) && c->m->nodes[i].address)
		return c->m->nodes[i].address;
	return name;
}

/*
 * One exports(5) client spec S: NULL if good, else why not.  Appends to OUT
 * what exports(5) should say: S itself, or for a host list of cluster hosts
 * each host's address (exportfs would read "c[001-128]" as a glob character
 * class, and drops names it cannot resolve with only a warning).
 */
static const char *check_client(struct ctx *c, const char *s, struct cpk_strlist *out,
				char *bad, size_t badlen)
{
	struct cpk_hostlist hl = CPK_HOSTLIST_INIT;
	const char *e = NULL;
	size_t i;

	if (strpbrk(s, "() \t,"))
		e = "must not hold white space, ',' or parentheses (options go in export_options)";
	else if (!strcmp(s, "*"))
		e = "exports to every host on the network; name the cluster's network or hosts instead";
	else if (s[0] == '@')
		e = cpk_is_name(s + 1, 63) ? NULL : "is not a valid @netgroup";
	else if (is_ip(s) || is_network(s))
		e = NULL;
	else if (strchr(s, '/'))
		e = "is not a valid ADDRESS/PREFIX network";
	else if (is_pattern(s))
		e = is_domain_pattern(s) ? NULL
			: "has no domain after its wildcard (two or more names without wildcards, e.g. *.cluster.example.org)";
	else if (cpk_hostlist_expand(&hl, s, NULL) != CPK_OK)
		e = "is not an address, network, pattern or host list";
	else
		for (i = 0; i < hl.n && !e; i++)
			if (!is_cluster_host(c, hl.names[i])) {
				snprintf(bad, badlen, "'%s' is not a host of this cluster, an address, a network or a *.domain pattern (exportfs could not resolve it reliably)",
					 hl.names[i]);
				e = bad;
			}
	if (!e && !hl.n && cpk_strlist_push(out, s) < 0)
		c->oom = 1;
	for (i = 0; !e && i < hl.n; i++)
		if (cpk_strlist_push(out, host_address(c, hl.names[i])) < 0)
			c->oom = 1;
	cpk_hostlist_release(&hl);
	return e;
}

static const char *const export_opposites[][2] = {
	{ "rw", "ro" }, { "sync", "async" }, { "secure", "insecure" },
	{ "wdelay", "no_wdelay" }, { "hide", "nohide" },
	{ "subtree_check", "no_subtree_check" }, { "root_squash", "no_root_squash" },
	{ "all_squash", "no_all_squash" }, { "secure_locks", "insecure_locks" },
	{ "acl", "no_acl" }, { "pnfs", "no_pnfs" } };

static void check_export_options(struct ctx *c, const struct cpk_filesystem *fs,
				 const char *path)
{
	struct cpk_pos p = where(c, &fs->export_options, &fs->pos);
	char *copy = cpk_strdup(fs->export_options), *save = NULL, *tok;
	size_t i, j, ntok = 0;
	char *toks[64];

	if (!copy) {
		c->oom = 1;
		return;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const char *e = cpk_export_option_check(tok);

		if (e) {
			cpk_diag_add(c, &p, "%s.export_options: '%s' %s", path, tok, e);
			continue;
		}
		if (ntok < CPK_ARRAY_SIZE(toks))
			toks[ntok++] = tok;
	}
	if (strstr(fs->export_options, ",,") || fs->export_options[0] == ',' ||
	    fs->export_options[strlen(fs->export_options) - 1] == ',')
		cpk_diag_add(c, &p, "%s.export_options: empty option in '%s'", path,
			     fs->export_options);
	for (i = 0; i < CPK_ARRAY_SIZE(export_opposites); i++) {
		int a = 0, b = 0;

		for (j = 0; j < ntok; j++) {
			a |= !strcmp(toks[j], export_opposites[i][0]);
			b |= !strcmp(toks[j], export_opposites[i][1]);
		}
		if (a && b)
			cpk_diag_add(c, &p, "%s.export_options: '%s' and '%s' contradict each other",
				     path, export_opposites[i][0], export_opposites[i][1]);
	}
	free(copy);
}

static void check_filesystems(struct ctx *c)
{
	struct cpk_model *m = c->m;
	struct cpk_strmap names = CPK_STRMAP_INIT, mounts = CPK_STRMAP_INIT;
	struct cpk_buf path = CPK_BUF_INIT;
	size_t i, j;

	for (i = 0; i < m->n_filesystems && !c->oom; i++) {
		struct cpk_filesystem *fs = &m->filesystems[i];
		struct cpk_strlist expanded = { NULL, 0 };
		struct cpk_pos p;
		size_t other;
		char why[256];

		cpk_buf_reset(&path);
		cpk_buf_addf(&path, "filesystems[%zu]", i);
		if (!fs->server && !cpk_pos_get(c->p, &fs->server) && m->control_name &&
		    !(fs->server = cpk_strdup(m->control_name)))
			c->oom = 1;
		if (!fs->mount && !cpk_pos_get(c->p, &fs->mount) && fs->export_path &&
		    !(fs->mount = cpk_strdup(fs->export_path)))
			c->oom = 1;
		if (c->oom)
			break;
		p = where(c, &fs->name, &fs->pos);
		if (fs->name && cpk_strmap_put(&names, fs->name, i, &other) == 0)
			cpk_diag_add(c, &p, "%s.name: filesystem '%s' is already defined",
				     path.buf, fs->name);
		p = where(c, &fs->mount, &fs->pos);
		if (fs->mount && cpk_strmap_put(&mounts, fs->mount, i, &other) == 0)
			cpk_diag_add(c, &p, "%s.mount: %s is also the mount point of '%s'",
				     path.buf, fs->mount, m->filesystems[other].name);
		if (fs->server && !is_cluster_host(c, fs->server)) {
			p = where(c, &fs->server, &fs->pos);
			cpk_diag_add(c, &p, "%s.server: '%s' is not the control node or a compute node",
				     path.buf, fs->server);
		}
		if (!fs->clients.n && cpk_pos_get(c->p, &fs->clients)) {	/* given empty */
			p = where(c, &fs->clients, &fs->pos);
			cpk_diag_add(c, &p, "%s.clients: no clients: name who may mount it",
				     path.buf);
		}
		for (j = 0; j < fs->clients.n; j++) {
			const char *e = check_client(c, fs->clients.v[j], &expanded, why,
						     sizeof(why));

			if (!e)
				continue;
			p = where(c, &fs->clients, &fs->pos);
			p = where(c, &fs->clients.v[j], &p);
			if (e == why)
				cpk_diag_add(c, &p, "%s.clients: %s", path.buf, why);
			else
				cpk_diag_add(c, &p, "%s.clients: '%s' %s", path.buf,
					     fs->clients.v[j], e);
		}
		cpk_strlist_release(&fs->clients);	/* now as exports(5) needs it */
		fs->clients = expanded;
		memset(&expanded, 0, sizeof(expanded));
		check_export_options(c, fs, path.buf);
		if (strpbrk(fs->mount_options, " \t")) {
			p = where(c, &fs->mount_options, &fs->pos);
			cpk_diag_add(c, &p, "%s.mount_options: must not hold white space", path.buf);
		}
	}
	cpk_strmap_release(&names);
	cpk_strmap_release(&mounts);
	cpk_buf_release(&path);
}

static void check_ldap(struct ctx *c)
{
	struct cpk_ldap *l = &c->m->ldap;
	struct cpk_pos none = { c->m->path, 0, 0 };
	int ldaps;

	if (!l->present)
		return;
	ldaps = l->uri && !strncmp(l->uri, "ldaps://", 8);
	if (ldaps && !cpk_pos_get(c->p, &l->tls)) {
		free(l->tls);
		if (!(l->tls = cpk_strdup("ldaps")))
			c->oom = 1;
	} else if (ldaps != !strcmp(l->tls, "ldaps")) {
		struct cpk_pos p = where(c, &l->tls, &none);

		cpk_diag_add(c, &p, ldaps ? "ldap.tls: the uri is ldaps:// so tls must be ldaps, not %s"
					  : "ldap.tls: %s needs an ldaps:// uri", l->tls);
	}
	if (!l->tls_cert != !l->tls_key) {
		struct cpk_pos p = where(c, l->tls_cert ? &l->tls_cert : &l->tls_key, &none);

		cpk_diag_add(c, &p, "ldap.%s: needs %s (slapd's certificate and key go together)",
			     l->tls_cert ? "tls_cert" : "tls_key", l->tls_cert ? "tls_key" : "tls_cert");
	}
	if (l->bind_dn && !l->bind_password_file) {
		struct cpk_pos p = where(c, &l->bind_dn, &none);

		cpk_diag_add(c, &p, "ldap.bind_dn: needs bind_password_file (the password is never written in the description)");
	}
	if (!l->bind_dn && l->bind_password_file) {
		struct cpk_pos p = where(c, &l->bind_password_file, &none);

		cpk_diag_add(c, &p, "ldap.bind_password_file: given without bind_dn");
	}
	/* LAM splits module settings at "+::+" and keeps the settings a line
	 * each: a DN it would cut cannot go into its profile */
	if (l->lam_profile && (strstr(l->base_dn, "+::+") ||
			       strstr(l->people_ou, "+::+") ||
			       strstr(l->groups_ou, "+::+"))) {
		struct cpk_pos p = where(c, &l->lam_profile, &none);

		cpk_diag_add(c, &p, "ldap.lam_profile: LDAP Account Manager cannot hold a DN with '+::+' (its value separator)");
	}
}

static void check_slurm(struct ctx *c)
{
	struct cpk_model *m = c->m;
	struct cpk_slurm *s = &m->slurm;
	struct cpk_pos none = { m->path, 0, 0 };
	size_t i, n_static = 0;

	if (!s->cluster_name && m->name && !(s->cluster_name = cpk_strdup(m->name)))
		c->oom = 1;
	if (!s->def_mem_per_cpu && strstr(s->select_parameters, "Memory") &&
	    strcmp(s->select_type, "linear")) {
		uint64_t best = 0;

		for (i = 0; i < m->n_groups; i++) {
			const struct cpk_nodegroup *g = &m->groups[i];
			uint64_t per = g->cpus ? g->memory_mb / g->cpus : 0;

			if (!g->memory_mb || !per) {
				best = 0;
				break;
			}
			if (!best || per < best)
				best = per;
		}
		s->def_mem_per_cpu = best;
	}
	for (i = 0; i < m->n_nodes; i++)
		n_static += !m->groups[m->nodes[i].group].dynamic;
	if (streq(s->select_type, "linear")) {
		/* both Slurm 22.05 and 24.11 refuse MaxNodeCount without
		 * cons_tres: no default, and a given one is an error */
		if (s->max_node_count) {
			struct cpk_pos p = where(c, &s->max_node_count, &none);

			cpk_diag_add(c, &p, "slurm.max_node_count: Slurm accepts MaxNodeCount only with select_type cons_tres, not linear");
		}
		if (n_static < m->n_nodes) {
			struct cpk_pos p = where(c, &s->select_type, &none);

			cpk_diag_add(c, &p, "slurm.select_type: dynamic nodes need cons_tres (Slurm makes room for them with MaxNodeCount, which linear refuses)");
		}
	} else if (!s->max_node_count) {
		/* static nodes only: a dynamic node added later must not
		 * change slurm.conf (a new MaxNodeCount kills slurmctld at
		 * reconfigure) */
		s->max_node_count = n_static + 128;
		if (s->max_node_count < m->n_nodes)
			cpk_diag_add(c, &none, "%zu dynamic nodes: more than the 128 Slurm makes room for "
				     "by default; set slurm.max_node_count", m->n_nodes - n_static);
	} else if (s->max_node_count < m->n_nodes) {
		struct cpk_pos p = where(c, &s->max_node_count, &none);

		cpk_diag_add(c, &p, "slurm.max_node_count: %llu is less than the %zu compute nodes",
			     (unsigned long long)s->max_node_count, m->n_nodes);
	}
	if (s->controller_port == s->node_port) {
		struct cpk_pos p = where(c, &s->node_port, &none);

		cpk_diag_add(c, &p, "slurm.node_port: the same as controller_port (%llu)",
			     (unsigned long long)s->node_port);
	}
	if (s->task_plugins.n > 1) {
		for (i = 0; i < s->task_plugins.n; i++) {
			if (strcmp(s->task_plugins.v[i], "none"))
				continue;
			struct cpk_pos p = where(c, &s->task_plugins, &none);

			cpk_diag_add(c, &p, "slurm.task_plugins: 'none' cannot be combined with others");
			break;
		}
	}
}

static void check_stage(struct ctx *c)
{
	struct cpk_stage *st = &c->m->stage;
	struct cpk_pos none = { c->m->path, 0, 0 };
	size_t i;

	for (i = 0; i < st->allowed_hosts.n; i++) {
		const char *h = st->allowed_hosts.v[i];

		if (is_ip(h) || cpk_is_name(h, 253) || is_domain_pattern(h))
			continue;
		struct cpk_pos lp = where(c, &st->allowed_hosts, &none);
		struct cpk_pos p = where(c, &st->allowed_hosts.v[i], &lp);

		cpk_diag_add(c, &p, "stage.allowed_hosts: '%s' is not a host name, address or *.domain pattern", h);
	}
}

/* Dynamic groups: the partitions they name exist; only they name any. */
static void check_dynamic(struct ctx *c)
{
	const struct cpk_model *m = c->m;
	size_t g, i, k;

	for (g = 0; g < m->n_groups; g++) {
		const struct cpk_nodegroup *gr = &m->groups[g];
		struct cpk_pos gp = where(c, &gr->partitions, &gr->pos);

		if (gr->partitions.n && !gr->dynamic) {
			cpk_diag_add(c, &gp, "nodes[%zu].partitions: only a dynamic group names its "
				     "partitions (a static node is named in the partition's nodes)", g);
			continue;
		}
		for (i = 0; i < gr->partitions.n; i++) {
			for (k = 0; k < m->n_partitions; k++)
				if (m->partitions[k].name && streq(m->partitions[k].name, gr->partitions.v[i]))
					break;
			if (k == m->n_partitions) {
				struct cpk_pos p = where(c, &gr->partitions.v[i], &gp);

				cpk_diag_add(c, &p, "nodes[%zu].partitions: no partition is named '%s'",
					     g, gr->partitions.v[i]);
			}
		}
	}
}

void cpk_model_check(struct ctx *c)
{
	check_groups(c);
	if (c->oom)
		return;
	check_partitions(c);
	check_dynamic(c);
	check_filesystems(c);
	check_ldap(c);
	check_slurm(c);
	check_stage(c);
}

const struct cpk_node *cpk_model_find_node(const struct cpk_model *m,
					   const char *name)
{
	const struct model_priv *p = m->priv;
	size_t i;

	if (!cpk_strmap_get(&p->nodes, name, &i))
		return NULL;
	return &m->nodes[i];
}
