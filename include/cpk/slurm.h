/*
 * Slurm as it runs: its nodes seen through libslurm, compared with the
 * description; and a node's hardware read from `slurmd -C` and nvidia-smi
 * output (hostile text: bounded, every field checked).
 *
 * Lifecycle of the live view (libslurm keeps process-wide state):
 *   1. cpk_slurm_conf_path(m, override, &path): which slurm.conf to use;
 *   2. cpk_slurm_open(path): checks the file, then slurm_init() on it;
 *      once per process (a second open with another file is refused);
 *   3. struct cpk_slurm_nodes sn = CPK_SLURM_NODES_INIT;
 *      cpk_slurm_load_nodes(&sn): slurm_load_node() + slurm_load_jobs(),
 *      copied into SN (which owns every string); libslurm's messages are
 *      freed before it returns;
 *   4. struct cpk_node_rows rows = CPK_NODE_ROWS_INIT;
 *      cpk_node_compare(m, &sn, &rows): rows borrow from M and SN, which
 *      must outlive them;  cpk_node_rows_format(&rows, json, &buf);
 *   5. cpk_node_rows_release(&rows); cpk_slurm_nodes_release(&sn);
 *      cpk_slurm_close() (slurm_fini()).
 * libslurm itself may print to stderr and, on a slurm.conf it cannot parse,
 * exits the process (its fatal()): cpk_slurm_open() checks that the file
 * is a readable regular file first, which is all it can do about that.
 */
#ifndef CPK_SLURM_H
#define CPK_SLURM_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "buf.h"
#include "model.h"
#include "node.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the live view ---------------------------------------------------- */

/* One node as slurmctld reports it. */
struct cpk_slurm_node {
	char *name;
	char *address;		/* NodeAddr; NULL if none */
	char *state;		/* like sinfo %T: "idle", "mixed", "down*", "drained"... */
	char *reason;		/* NULL if none */
	uint64_t cpus, alloc_cpus;
	uint64_t memory_mb;	/* RealMemory */
	uint64_t jobs;		/* running (and completing) jobs on the node */
	int dynamic;		/* a dynamic node (slurmd -Z) */
};

struct cpk_slurm_nodes {
	struct cpk_slurm_node *v;	/* owned */
	size_t n;
};
#define CPK_SLURM_NODES_INIT { NULL, 0 }

/*
 * The slurm.conf `cpk node` reads, in *PATH (borrowed from OVERRIDE, the
 * environment or M; valid as long as they are): OVERRIDE if not NULL (the
 * command line), else $SLURM_CONF if set and not empty (as every Slurm
 * client does), else M's slurm.config_dir + "/slurm.conf" (where cpk
 * render/apply put it).  The last is kept in a thread-local buffer.
 */
cpk_err_t cpk_slurm_conf_path(const struct cpk_model *m, const char *override,
			      const char **path);

/* See the lifecycle above.  CPK_ERR_NOTFOUND: no such file. */
cpk_err_t cpk_slurm_open(const char *slurm_conf);
void cpk_slurm_close(void);

/*
 * Replaces SN's content with every node slurmctld knows (dynamic ones
 * included) and the number of running jobs on each.  CPK_ERR_IO with
 * Slurm's message when slurmctld cannot be asked.
 */
cpk_err_t cpk_slurm_load_nodes(struct cpk_slurm_nodes *sn);
void cpk_slurm_nodes_release(struct cpk_slurm_nodes *sn);

/* ---- acting on one node (lib/slurm/act.c; root in slurmctld) ---------- */

/*
 * After cpk_slurm_open(), as cpk node del uses them.  Each returns
 * CPK_ERR_IO with Slurm's message when slurmctld refuses or cannot be
 * asked; NODE must pass cpk_node_name_check() (CPK_ERR_INVALID).
 */

/* Sets NODE's DRAIN flag with REASON (borrowed): no new job starts there. */
cpk_err_t cpk_slurm_drain(const char *node, const char *reason);
/* Deletes NODE from slurmctld.  Only for a dynamic node (slurmd -Z): on
 * Slurm 22.05 deleting a static node breaks the next reconfigure. */
cpk_err_t cpk_slurm_delete_node(const char *node);

/* A job on a node. */
struct cpk_slurm_job {
	uint32_t id;
	int completing;		/* it ended and is being cleaned up */
	int requeue;		/* a batch job that allows requeueing */
};
struct cpk_slurm_jobs {
	struct cpk_slurm_job *v;	/* owned */
	size_t n;
};
#define CPK_SLURM_JOBS_INIT { NULL, 0 }

/* Replaces JOBS' content with the running, suspended and completing jobs
 * that have NODE among their nodes. */
cpk_err_t cpk_slurm_node_jobs(const char *node, struct cpk_slurm_jobs *jobs);
void cpk_slurm_jobs_release(struct cpk_slurm_jobs *jobs);
/* Requeues job ID (ended where it runs, then pending again). */
cpk_err_t cpk_slurm_job_requeue(uint32_t id);
/* Cancels job ID (SIGKILL to all its steps); one already gone is CPK_OK. */
cpk_err_t cpk_slurm_job_cancel(uint32_t id);

/* ---- description versus Slurm (no libslurm needed) -------------------- */

enum cpk_node_agree {
	CPK_NODE_BOTH,		/* described and known to Slurm */
	CPK_NODE_NOT_IN_SLURM,	/* described, unknown to Slurm */
	CPK_NODE_NOT_DESCRIBED,	/* known to Slurm, not in the description */
};

struct cpk_node_row {
	const char *name;		/* borrowed */
	const struct cpk_node *desc;	/* borrowed from the model; NULL if not described */
	const char *source;		/* borrowed: the file that describes it, or NULL */
	const struct cpk_slurm_node *slurm;	/* borrowed; NULL if unknown to Slurm */
	enum cpk_node_agree agree;
	int address_differs;		/* both give an address and they differ */
};

struct cpk_node_rows {
	struct cpk_node_row *v;		/* owned (the array only) */
	size_t n;
};
#define CPK_NODE_ROWS_INIT { NULL, 0 }

/*
 * Fills ROWS: first every described node in description order, then the
 * nodes only Slurm knows, in Slurm's order.  ROWS borrow from M and SN.
 */
cpk_err_t cpk_node_compare(const struct cpk_model *m, const struct cpk_slurm_nodes *sn,
			   struct cpk_node_rows *rows);
void cpk_node_rows_release(struct cpk_node_rows *rows);
/* "ok", "not-in-slurm", "not-described": the word `cpk node list` shows. */
const char *cpk_node_agree_name(enum cpk_node_agree a);
/*
 * Appends ROWS as a table (one header line, one line per node) or, with
 * JSON, as {"nodes":[...],"disagree":N}.  Returns the number of rows that
 * disagree (not CPK_NODE_BOTH, or address_differs).
 */
size_t cpk_node_rows_format(const struct cpk_node_rows *rows, int json,
			    struct cpk_buf *out);

/* ---- a node's hardware, from its own tools ---------------------------- */

/*
 * Fills S's cpus, sockets (Boards x SocketsPerBoard, or Sockets),
 * cores_per_socket, threads_per_core and memory_mb (RealMemory) from the
 * first "NodeName=" line of LEN bytes of TEXT, the output of `slurmd -C`.
 * Other lines (UpTime=...) and unknown keys are ignored.  Refused
 * (CPK_ERR_INVALID, S unchanged): no NodeName= line, a key given twice, a
 * value that is not a number in bounds, missing CPUs or RealMemory, CPUs
 * different from the topology's product, control characters or NUL bytes,
 * more than 64 KiB.  S's name and address are not touched.
 */
cpk_err_t cpk_nodespec_from_slurmd(struct cpk_nodespec *s, const char *text, size_t len);

/*
 * Fills S's gpu_count and gpu_type from LEN bytes of TEXT, the output of
 * `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader`: one
 * "NAME, N MiB" line per GPU.  "No devices were found" or no lines: 0 GPUs.
 * The type comes from the model name: vendor words (NVIDIA, Tesla, GeForce,
 * Quadro) dropped, the first word up to a '-', lower case; a word of
 * letters only takes the next one too ("RTX 4090" -> rtx_4090).  Refused
 * (CPK_ERR_INVALID, S unchanged): a line that is not NAME, N MiB; models
 * that differ between GPUs (one node group has one type); more than 1024
 * GPUs; control characters or NUL bytes; more than 64 KiB.
 */
cpk_err_t cpk_nodespec_gpus_from_nvidia_smi(struct cpk_nodespec *s, const char *text,
					    size_t len);

#ifdef __cplusplus
}
#endif
#endif
