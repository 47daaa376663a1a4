/*
 * The cluster description: cluster.yaml parsed into a typed model.
 *
 * Lifecycle:
 *   1. struct cpk_model *m; struct cpk_diags d = CPK_DIAGS_INIT;
 *   2. r = cpk_model_load(path, &m, &d);
 *        CPK_OK: m is valid and complete (defaults filled in).
 *        CPK_ERR_CONFIG: the description is invalid; d holds every problem
 *          found (file:line:col and message); m is NULL.
 *        other: the file could not be read (cpk_errmsg()); m is NULL.
 *      cpk_model_parse() does the same from a buffer (no nodes.d merge).
 *   3. read the model's fields (all strings owned by the model);
 *   4. cpk_model_free(m); cpk_diags_release(&d).
 *
 * Where the description lives: cpk_model_default_path() gives $CPK_CONFIG or
 * /etc/clusterpack/cluster.yaml.  cpk_model_load() also merges every *.yaml
 * in a "nodes.d" directory beside the file (in name order); such a fragment
 * may only hold a "nodes:" list.
 *
 * Every key is described once, in the schema table of lib/model/schema.c;
 * cpk_schema_*() walks it (for --help, the man page and --dump).
 */
#ifndef CPK_MODEL_H
#define CPK_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A place in a file.  line and col are 1-based; 0 when not from a file. */
struct cpk_pos {
	const char *file;	/* borrowed from the model or diags */
	int line, col;
};

/* One problem found in a description. */
struct cpk_diag {
	char *file;
	int line, col;
	char *msg;
};

struct cpk_diags {
	struct cpk_diag *v;
	size_t n;
};
#define CPK_DIAGS_INIT { NULL, 0 }

void cpk_diags_release(struct cpk_diags *d);
/* Appends every diagnostic as "file:line:col: error: msg\n". */
void cpk_diags_format(const struct cpk_diags *d, struct cpk_buf *out);

struct cpk_strlist {
	char **v;
	size_t n;
};

struct cpk_range {		/* an inclusive range such as 10000-59999 */
	uint64_t lo, hi;
};

struct cpk_gpus {
	char *type;		/* e.g. "a100"; NULL: untyped */
	uint64_t count;		/* 0: no GPUs */
	char *file;		/* device files as a host list, /dev/nvidia[0-7] */
};

/* One group of compute nodes that share their hardware. */
struct cpk_nodegroup {
	char *names;		/* host list, "c[001-128]" */
	char *addresses;	/* host list of addresses, or NULL */
	uint64_t cpus, sockets, cores_per_socket, threads_per_core;
	uint64_t memory_mb;	/* RealMemory, MiB; 0: not given */
	uint64_t tmp_disk_mb;	/* TmpDisk, MiB; 0: not given */
	uint64_t weight;	/* 0: not given */
	struct cpk_gpus gpus;
	struct cpk_strlist features;
	int dynamic;		/* nodes join with slurmd -Z: not in slurm.conf */
	struct cpk_strlist partitions;	/* dynamic: partitions joined (by
					 * their NodeSet) besides ALL ones */
	struct cpk_pos pos;	/* where the group starts */
};

/* One compute node, expanded from its group. */
struct cpk_node {
	char *name;
	char *address;		/* NULL when the group gives no addresses */
	size_t group;		/* index into model->groups */
};

struct cpk_partition {
	char *name;
	char *nodes;		/* host list, or "ALL" */
	int is_default;
	char *max_time;		/* Slurm time string; "UNLIMITED" */
	char *default_time;	/* NULL: not given */
	char *state;		/* UP, DOWN, DRAIN, INACTIVE */
	uint64_t max_nodes;	/* 0: not given */
	uint64_t priority_tier;	/* 0: not given */
	char *oversubscribe;	/* NULL: not given */
	struct cpk_strlist allow_groups;
	struct cpk_pos pos;
};

struct cpk_filesystem {
	char *name;
	char *server;		/* host name of the NFS server (control by default) */
	char *export_path;	/* the path exported on the server */
	char *mount;		/* mount point on the clients */
	char *type;		/* "nfs" or "nfs4" */
	struct cpk_strlist clients;	/* exports(5) client specs */
	char *export_options;	/* "rw,sync,no_subtree_check" */
	char *mount_options;	/* "defaults,_netdev" */
	struct cpk_pos pos;
};

struct cpk_ldap {
	int present;		/* 0: the description has no ldap section */
	char *uri;
	char *base_dn;
	char *bind_dn;		/* NULL: anonymous (or SASL EXTERNAL over ldapi) */
	char *bind_password_file;
	char *tls;		/* "none", "starttls", "ldaps" */
	char *ca_file;		/* NULL: the system's CAs */
	char *tls_cert;		/* slapd's certificate; NULL: generated */
	char *tls_key;		/* and its key (both or neither) */
	char *people_ou;	/* "ou=People" */
	char *groups_ou;	/* "ou=Groups" */
	char *lam_profile;	/* NULL: no LDAP Account Manager profile */
};

struct cpk_users {
	struct cpk_range uid_range, gid_range;
	char *shell;
	char *home_root;
	char *skel;
	char *default_group;	/* NULL: a personal group per user */
};

struct cpk_cgroup {
	char *plugin;		/* autodetect, cgroup/v1, cgroup/v2 */
	int constrain_cores, constrain_ram, constrain_devices, constrain_swap;
};

struct cpk_slurm {
	char *cluster_name;	/* defaults to cluster.name */
	char *config_dir;	/* where slurm.conf & co live on the nodes */
	uint64_t controller_port, node_port;
	char *slurm_user;
	char *scheduler;	/* builtin, backfill */
	char *select_type;	/* cons_tres, linear */
	char *select_parameters;
	int accounting;
	char *proctrack;	/* cgroup, linuxproc, pgid */
	struct cpk_strlist task_plugins;	/* affinity, cgroup, none */
	char *mpi_default;
	char *state_dir, *spool_dir, *log_dir, *pid_dir;
	uint64_t def_mem_per_cpu;	/* DefMemPerCPU, MiB; 0: none */
	uint64_t max_node_count;	/* default static nodes + 128; 0 with linear */
	uint64_t tree_width;
	uint64_t slurmd_timeout;
	uint64_t return_to_service;
	struct cpk_strlist extra;	/* verbatim "Key=Value" lines */
	struct cpk_cgroup cgroup;
};

struct cpk_munge {
	char *key;		/* path of the key file */
	char *socket;		/* path of munged's socket */
};

struct cpk_stage {
	int enabled;
	int required;		/* plugstack: "required" instead of "optional" */
	char *plugin;		/* path of cpk_stage.so */
	uint64_t connections;
	uint64_t retries;
	int verify;
	struct cpk_strlist allowed_hosts;
	uint64_t max_size;	/* bytes; 0: no limit */
	uint64_t stage_in_timeout, stage_out_timeout;	/* seconds */
	char *cpk;		/* path of the cpk binary on the nodes */
};

struct cpk_model {
	char *path;		/* the main file */
	char *name;		/* cluster.name */
	char *domain;		/* cluster.domain, or NULL */
	char *control_name;
	char *control_address;

	struct cpk_nodegroup *groups;
	size_t n_groups;
	struct cpk_node *nodes;	/* every compute node, in description order */
	size_t n_nodes;
	struct cpk_partition *partitions;
	size_t n_partitions;
	struct cpk_filesystem *filesystems;
	size_t n_filesystems;

	struct cpk_ldap ldap;
	struct cpk_users users;
	struct cpk_slurm slurm;
	struct cpk_munge munge;
	struct cpk_stage stage;

	void *priv;		/* private: files, position index */
};

/* $CPK_CONFIG if set and not empty, else /etc/clusterpack/cluster.yaml. */
const char *cpk_model_default_path(void);

cpk_err_t cpk_model_load(const char *path, struct cpk_model **out,
			 struct cpk_diags *diags);
/* Parses LEN bytes of TEXT, naming them FILENAME in diagnostics. */
cpk_err_t cpk_model_parse(const char *filename, const char *text, size_t len,
			  struct cpk_model **out, struct cpk_diags *diags);
/*
 * Like cpk_model_load(), with one more fragment: LEN bytes of TEXT as if
 * they were the file EXTRA_NAME in nodes.d (sorted among the others by
 * name).  Nothing is written; cpk_node_fragment_add() validates with it.
 */
cpk_err_t cpk_model_load_extra(const char *path, const char *extra_name,
			       const char *text, size_t len,
			       struct cpk_model **out, struct cpk_diags *diags);
void cpk_model_free(struct cpk_model *m);

/* The node named NAME, or NULL. */
const struct cpk_node *cpk_model_find_node(const struct cpk_model *m,
					   const char *name);

/* Appends the effective model (defaults filled in) as YAML. */
void cpk_model_dump(const struct cpk_model *m, struct cpk_buf *out);

/* Appends a roff description of every key (for cluster.yaml(5)). */
void cpk_schema_man(struct cpk_buf *out);

#ifdef __cplusplus
}
#endif
#endif
