/*
 * One compute node as `cpk node add` describes it, and its fragment file
 * nodes.d/NAME.yaml beside cluster.yaml (the admin's cluster.yaml itself is
 * never rewritten; cpk_model_load() merges the fragments).
 *
 * Lifecycle:
 *   1. struct cpk_nodespec s = CPK_NODESPEC_INIT;
 *   2. fill it: set the fields by hand (each string a heap copy the spec
 *      then owns), or from the node itself with cpk_nodespec_from_slurmd()
 *      and cpk_nodespec_gpus_from_nvidia_smi() (include/cpk/slurm.h);
 *   3. cpk_node_fragment_add(cluster_yaml, &s, &diags): validates the spec
 *      and the whole merged description with it, then writes the fragment
 *      atomically; or cpk_nodespec_yaml() for the text only;
 *   4. cpk_nodespec_release(&s); cpk_diags_release(&diags).
 * cpk_node_fragment_remove() deletes a fragment written by step 3.
 */
#ifndef CPK_NODE_H
#define CPK_NODE_H

#include <stdint.h>
#include "error.h"
#include "buf.h"
#include "model.h"
#include "xfer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest node name accepted (a DNS label). */
#define CPK_NODE_NAME_MAX 63

struct cpk_nodespec {
	char *name;		/* owned; a DNS label, see cpk_node_name_check() */
	char *address;		/* owned; an IPv4/IPv6 literal or a host name; NULL: none */
	uint64_t cpus;		/* 0: sockets x cores x threads */
	uint64_t sockets, cores_per_socket, threads_per_core;	/* 0: not given */
	uint64_t memory_mb;	/* RealMemory, MiB; 0: not given */
	char *gpu_type;		/* owned; e.g. "h100"; NULL: untyped or no GPUs */
	uint64_t gpu_count;	/* 0: no GPUs */
	char *partitions;	/* owned; comma-separated partition names the
				 * node joins besides ALL ones; NULL: none */
};
#define CPK_NODESPEC_INIT { NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, NULL }

/* Frees the strings; S may then be reused.  Accepts NULL. */
void cpk_nodespec_release(struct cpk_nodespec *s);

/*
 * CPK_OK when NAME can name a node and its fragment file: 1 to
 * CPK_NODE_NAME_MAX letters, digits and '-', starting with a letter or digit
 * (so no '/', '.', white space, brackets or commas).  Else CPK_ERR_INVALID
 * with cpk_errmsg() saying why.
 */
cpk_err_t cpk_node_name_check(const char *name);
/* CPK_OK when ADDR is an IPv4 or IPv6 literal or a host name (letters,
 * digits, '-' and '.', at most 253 bytes). */
cpk_err_t cpk_node_address_check(const char *addr);

/*
 * Appends the fragment's YAML text for S ("nodes:" with one group) to OUT.
 * S must have passed cpk_node_name_check() and cpk_node_address_check();
 * CPK_ERR_INVALID otherwise (OUT unchanged).
 */
cpk_err_t cpk_nodespec_yaml(const struct cpk_nodespec *s, struct cpk_buf *out);

/*
 * Writes nodes.d/NAME.yaml beside CLUSTER_YAML (creating nodes.d, 0755, if
 * missing).  Before anything is written: the name and address are checked
 * (CPK_ERR_INVALID); the description as it is is loaded (CPK_ERR_CONFIG
 * with DIAGS if it is already invalid); a name or address that a node or
 * the control node already has is CPK_ERR_EXISTS naming it and where it is
 * described; an existing nodes.d/NAME.yaml is CPK_ERR_EXISTS; then the
 * whole description is loaded again with the new fragment added, and any
 * problem there is CPK_ERR_CONFIG with every diagnostic in DIAGS.  nodes.d must be a real
 * directory (a symbolic link there is refused, CPK_ERR_PERM).  The file is
 * created O_EXCL|O_NOFOLLOW as a temporary in the opened nodes.d,
 * fsync'ed, moved into place with renameat2(RENAME_NOREPLACE) (so a racing
 * writer of the same name loses, it never replaces), and the directory is
 * fsync'ed.  Mode 0644.
 */
cpk_err_t cpk_node_fragment_add(const char *cluster_yaml,
				const struct cpk_nodespec *s,
				struct cpk_diags *diags);

/* Every check of cpk_node_fragment_add(), nothing written. */
cpk_err_t cpk_node_fragment_check(const char *cluster_yaml,
				  const struct cpk_nodespec *s,
				  struct cpk_diags *diags);

/*
 * Removes nodes.d/NAME.yaml beside CLUSTER_YAML.  CPK_ERR_NOTFOUND when no
 * such fragment exists (a node described in cluster.yaml itself is the
 * admin's to remove); CPK_ERR_PERM when nodes.d or the file is a symbolic
 * link or not a regular file.  The directory is fsync'ed afterwards.
 */
cpk_err_t cpk_node_fragment_remove(const char *cluster_yaml, const char *name);

/*
 * Joining a new VM (cpk node add without --no-join), lib/node/join.c:
 *   1. cpk_node_join_check(&o, &j): connects to the node over SSH as
 *      o.conn says (its host key checked against known_hosts: an unknown or
 *      changed key is refused before anything runs there) and checks it
 *      does not hold another cluster's munge key (CPK_ERR_EXISTS).  Nothing
 *      is changed anywhere.
 *   2. the caller writes the node's fragment (cpk_node_fragment_add);
 *   3. cpk_node_join_run(j): sends O.cluster_yaml and every nodes.d/NAME.yaml
 *      beside it to /etc/clusterpack there (fragments no longer here are
 *      removed there), the LDAP CA certificate (ldap.ca_file) to the same
 *      path, the munge key as a 0400 file, runs `cpk apply --role compute
 *      --node NAME --munge-key ...` there (which installs, writes and
 *      starts what the node needs: slurmd joins as a dynamic node), removes
 *      the key copy, then waits up to o.wait_s for slurmctld to have the
 *      node up.  On failure the caller removes the fragment again.
 *   4. cpk_node_join_free(j).
 * Progress lines go to o.progress.  All of O is borrowed until step 4.
 */
struct cpk_node_join_opts {
	const char *cluster_yaml;	/* the control node's description */
	const char *name;		/* the node */
	struct cpk_conn_opts conn;	/* host: its address; user: root */
	const char *remote_root;	/* apply there into this root (tests,
					 * images); NULL: / */
	const char *remote_cpk;		/* cpk there; NULL: "cpk" on its PATH */
	const char *slurm_conf;		/* for the wait (NULL: as cpk node list) */
	unsigned wait_s;		/* 0: do not wait for slurmctld */
	int run_timeout_ms;		/* one remote command; 0: lib/remote's */
	void (*progress)(void *arg, const char *line);
	void *arg;
};
struct cpk_node_join;

cpk_err_t cpk_node_join_check(const struct cpk_node_join_opts *o, struct cpk_node_join **out);
/* Between 1 and 2 (cpk node add --detect): fills SPEC's CPUs, topology,
 * memory and GPUs from `slurmd -C` and nvidia-smi on the node (parsed as
 * hostile input: include/cpk/slurm.h).  No nvidia-smi there: no GPUs,
 * unless /dev/nvidia0 exists (an error: they cannot be counted). */
cpk_err_t cpk_node_join_detect(struct cpk_node_join *j, struct cpk_nodespec *spec);
cpk_err_t cpk_node_join_run(struct cpk_node_join *j);
/* Disconnects and frees.  Accepts NULL. */
void cpk_node_join_free(struct cpk_node_join *j);

/*
 * Removing a node (cpk node del NAME), lib/node/remove.c, in this order:
 *   1. refused with nothing changed (CPK_ERR_INVALID, CPK_ERR_NOTFOUND,
 *      CPK_ERR_PERM): a bad name; a node neither described nor known to
 *      slurmctld; a node described anywhere but in its own fragment
 *      nodes.d/NAME.yaml (cluster.yaml's nodes are the admin's to remove);
 *   2. drained in slurmctld (reason "cpk node del"); with o.force its jobs
 *      are requeued (batch jobs that allow it) or cancelled, each said;
 *      then up to o.wait_s seconds for no job to run there.  When the wait
 *      runs out: CPK_ERR_IO, the node stays drained, the fragment is kept;
 *   3. a dynamic node is deleted from slurmctld; a static one is left
 *      drained (deleting it breaks slurmctld's next reconfigure; it goes
 *      with the next slurmctld restart after its line is gone);
 *   4. over SSH (o.conn; host: the described address, else Slurm's
 *      NodeAddr, else NAME) `systemctl stop slurmd; systemctl disable
 *      slurmd` when systemd runs there and o.remote_root is NULL; an
 *      unreachable node, or one without systemd, is said in REP and the
 *      removal goes on;
 *   5. nodes.d/NAME.yaml is removed (cpk_node_fragment_remove()).
 * Progress lines go to o.progress.  O is borrowed.  REP (may be NULL) says
 * what was done, also on failure (as far as it got).
 */
struct cpk_node_del_opts {
	const char *cluster_yaml;	/* the control node's description */
	const char *name;		/* the node */
	struct cpk_conn_opts conn;	/* host NULL: see step 4; user: root */
	const char *remote_root;	/* the node's files are under this root
					 * there (tests, images): slurmd is not
					 * stopped; NULL: / */
	const char *slurm_conf;		/* NULL: as cpk node list */
	unsigned wait_s;		/* for the jobs there to end */
	int force;			/* requeue or cancel them */
	int run_timeout_ms;		/* one remote command; 0: lib/remote's */
	void (*progress)(void *arg, const char *line);
	void *arg;
};

enum cpk_node_slurmd {
	CPK_NODE_SLURMD_UNTOUCHED,	/* not got that far */
	CPK_NODE_SLURMD_STOPPED,	/* stopped and disabled under systemd */
	CPK_NODE_SLURMD_NO_SYSTEMD,	/* reached, no systemd (or remote_root) */
	CPK_NODE_SLURMD_FAILED,		/* unreachable, or systemctl failed */
};

struct cpk_node_del_report {
	int in_slurm;			/* slurmctld knew the node */
	int deleted;			/* a dynamic node, deleted from slurmctld */
	int left_drained;		/* a static node, left drained */
	enum cpk_node_slurmd slurmd;
	char slurmd_why[512];		/* for NO_SYSTEMD and FAILED */
	int fragment_removed;
	size_t requeued, cancelled;	/* jobs, with o.force */
};

cpk_err_t cpk_node_del(const struct cpk_node_del_opts *o, struct cpk_node_del_report *rep);

#ifdef __cplusplus
}
#endif
#endif
