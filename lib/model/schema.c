/*
 * The schema of cluster.yaml: every key, described once.  The parser, the
 * defaults, --dump and the cluster.yaml(5) man page all come from here.
 */
#include <stddef.h>
#include <strings.h>

#include "model_priv.h"

#define NOPOS ((size_t)-1)
#define FIELDS(a) a, CPK_ARRAY_SIZE(a)

static const char *const tls_choices[] = { "none", "starttls", "ldaps", NULL };
static const char *const sched_choices[] = { "backfill", "builtin", NULL };
static const char *const select_choices[] = { "cons_tres", "linear", NULL };
static const char *const selparam_choices[] = {
	"CR_Core_Memory", "CR_Core", "CR_CPU_Memory", "CR_CPU",
	"CR_Socket_Memory", "CR_Socket", "CR_Memory", NULL };
static const char *const proctrack_choices[] = { "cgroup", "linuxproc", "pgid", NULL };
static const char *const task_choices[] = { "affinity", "cgroup", "none", NULL };
static const char *const mpi_choices[] = { "none", "pmix", "pmi2", NULL };
static const char *const state_choices[] = { "UP", "DOWN", "DRAIN", "INACTIVE", NULL };
static const char *const oversub_choices[] = { "NO", "YES", "EXCLUSIVE", "FORCE", NULL };
static const char *const fstype_choices[] = { "nfs", "nfs4", NULL };
static const char *const cgplugin_choices[] = { "autodetect", "cgroup/v1", "cgroup/v2", NULL };

/*
 * Values that a Slurm release the project supports (22.05 to 24.11) no
 * longer accepts, by the choice list they were taken out of, with what to
 * write instead: the parser says this rather than only listing the choices.
 */
static const struct {
	const char *const *choices;
	const char *value, *hint;
} retired[] = {
	{ select_choices, "cons_res",
	  "cons_res is gone from Slurm 23.11 on (Debian 13 ships 24.11): use cons_tres, which Slurm 22.05 has too and which does all cons_res did" },
};

const char *cpk_schema_retired(const struct field *f, const char *value)
{
	size_t i;

	for (i = 0; i < CPK_ARRAY_SIZE(retired); i++)
		if (f->choices == retired[i].choices &&
		    !strcasecmp(value, retired[i].value))
			return retired[i].hint;
	return NULL;
}

#define M(f) offsetof(struct cpk_model, f)

static const struct field cluster_fields[] = {
	{ "name", F_CLUSTERNAME, M(name), NULL, 0, 0, NULL, NULL, 0, F_REQUIRED,
	  "The cluster's name (Slurm ClusterName): lower-case letters, digits, '_' and '-', under 40 characters.", NULL },
	{ "domain", F_NAME, M(domain), NULL, 0, 0, NULL, NULL, 0, 0,
	  "DNS domain of the cluster's hosts; hosts(5) lines then give NAME.DOMAIN as well as NAME.", NULL },
};
static const struct section cluster_section = {
	"cluster", FIELDS(cluster_fields), 0, NOPOS, "Names the cluster." };

static const struct field control_fields[] = {
	{ "name", F_NAME, M(control_name), NULL, 0, 0, NULL, NULL, 0, F_REQUIRED,
	  "Host name of the control node (login, LDAP, NFS server, slurmctld).", NULL },
	{ "address", F_ADDR, M(control_address), NULL, 0, 0, NULL, NULL, 0, F_REQUIRED,
	  "IPv4 or IPv6 address the compute nodes reach the control node at.", NULL },
};
static const struct section control_section = {
	"control", FIELDS(control_fields), 0, NOPOS, "The control node." };

#undef M
#define M(f) offsetof(struct cpk_nodegroup, f)
static const struct field gpu_fields[] = {
	{ "type", F_NAME, offsetof(struct cpk_gpus, type), NULL, 0, 0, NULL, NULL, 0, 0,
	  "GPU model as Slurm shows it in Gres (e.g. a100); jobs ask --gpus=a100:2.", NULL },
	{ "count", F_UINT, offsetof(struct cpk_gpus, count), NULL, 1, 1024, NULL, NULL, 0, F_REQUIRED,
	  "GPUs per node.", NULL },
	{ "file", F_HOSTLIST, offsetof(struct cpk_gpus, file), NULL, 0, 0, NULL, NULL, 0, 0,
	  "Device files, as a host list; default /dev/nvidia[0-COUNT-1].", &cpk_syn_devlist },
};
static const struct section gpu_section = {
	"gpus", FIELDS(gpu_fields), 0, NOPOS, "GPUs of every node of the group (gres.conf)." };

static const struct field group_fields[] = {
	{ "names", F_HOSTLIST, M(names), NULL, 0, 0, NULL, NULL, 0, F_REQUIRED,
	  "Node names as a Slurm host list, e.g. c[001-128].", &cpk_syn_nodelist },
	{ "addresses", F_HOSTLIST, M(addresses), NULL, 0, 0, NULL, NULL, 0, 0,
	  "Node addresses as a host list with as many entries as names, e.g. 10.0.1.[1-128]; without it names must resolve.", &cpk_syn_addrlist },
	{ "cpus", F_UINT, M(cpus), NULL, 1, 1048576, NULL, NULL, 0, 0,
	  "CPUs per node; default sockets x cores_per_socket x threads_per_core.", NULL },
	{ "sockets", F_UINT, M(sockets), "1", 1, 1024, NULL, NULL, 0, 0, "Sockets per node.", NULL },
	{ "cores_per_socket", F_UINT, M(cores_per_socket), "1", 1, 65536, NULL, NULL, 0, 0, "Cores per socket.", NULL },
	{ "threads_per_core", F_UINT, M(threads_per_core), "1", 1, 64, NULL, NULL, 0, 0, "Hardware threads per core.", NULL },
	{ "memory", F_SIZE, M(memory_mb), NULL, 1, UINT64_C(1) << 40, NULL, NULL, 0, 0,
	  "Memory Slurm may hand out (RealMemory): MiB, or a number with K, M, G or T (binary units).", NULL },
	{ "tmp_disk", F_SIZE, M(tmp_disk_mb), NULL, 1, UINT64_C(1) << 40, NULL, NULL, 0, 0,
	  "Local scratch space (TmpDisk), like memory.", NULL },
	{ "weight", F_UINT, M(weight), NULL, 1, 65533, NULL, NULL, 0, 0,
	  "Scheduling weight: lower weights are allocated first.", NULL },
	{ "gpus", F_SECTION, M(gpus), NULL, 0, 0, NULL, &gpu_section, 0, 0, "GPUs of each node.", NULL },
	{ "features", F_STRLIST, M(features), NULL, 0, 0, NULL, NULL, 0, 0,
	  "Node features for --constraint.", &cpk_syn_feature },
	{ "dynamic", F_BOOL, M(dynamic), "false", 0, 0, NULL, NULL, 0, 0,
	  "Dynamic nodes: each joins with slurmd -Z and is not in slurm.conf, so adding or removing one restarts nothing (cpk node add writes such groups in nodes.d/). Needs select_type cons_tres.", NULL },
	{ "partitions", F_STRLIST, M(partitions), NULL, 0, 0, NULL, NULL, 0, 0,
	  "Dynamic groups: the partitions their nodes join besides those with nodes: ALL (through the partition's NodeSet).", &cpk_syn_feature },
};
const struct section cpk_schema_nodegroup = {
	"nodes", FIELDS(group_fields), sizeof(struct cpk_nodegroup),
	offsetof(struct cpk_nodegroup, pos),
	"Compute node groups: nodes that share their hardware." };

#undef M
#define M(f) offsetof(struct cpk_partition, f)
static const struct field partition_fields[] = {
	{ "name", F_NAME, M(name), NULL, 0, 0, NULL, NULL, 0, F_REQUIRED, "Partition name.", NULL },
	{ "nodes", F_HOSTLIST, M(nodes), NULL, 0, 0, NULL, NULL, 0, 0,
	  "Its static nodes as a host list of compute node names, or ALL (every node, dynamic ones too); dynamic nodes join by naming the partition in their group's partitions.", &cpk_syn_nodelist },
	{ "default", F_BOOL, M(is_default), "false", 0, 0, NULL, NULL, 0, 0,
	  "The partition jobs go to when they name none; at most one.", NULL },
	{ "max_time", F_TIME, M(max_time), "UNLIMITED", 0, 0, NULL, NULL, 0, 0,
	  "Longest run time: UNLIMITED, MINUTES, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS.", NULL },
	{ "default_time", F_TIME, M(default_time), NULL, 0, 0, NULL, NULL, 0, 0,
	  "Run time of jobs that ask for none; at most max_time.", NULL },
	{ "state", F_ENUM, M(state), "UP", 0, 0, state_choices, NULL, 0, 0, "Initial state.", NULL },
	{ "max_nodes", F_UINT, M(max_nodes), NULL, 1, 1000000, NULL, NULL, 0, 0, "Most nodes per job.", NULL },
	{ "priority_tier", F_UINT, M(priority_tier), NULL, 1, 65533, NULL, NULL, 0, 0,
	  "Jobs of higher tiers are scheduled first.", NULL },
	{ "oversubscribe", F_ENUM, M(oversubscribe), NULL, 0, 0, oversub_choices, NULL, 0, 0,
	  "Whether jobs may share resources.", NULL },
	{ "allow_groups", F_STRLIST, M(allow_groups), NULL, 0, 0, NULL, NULL, 0, 0,
	  "Only members of these Unix groups may use the partition.", &cpk_syn_group },
};
static const struct section partition_section = {
	"partitions", FIELDS(partition_fields), sizeof(struct cpk_partition),
	offsetof(struct cpk_partition, pos), "Slurm partitions." };

#undef M
#define M(f) offsetof(struct cpk_filesystem, f)
static const struct field fs_fields[] = {
	{ "name", F_NAME, M(name), NULL, 0, 0, NULL, NULL, 0, F_REQUIRED, "A name for the filesystem.", NULL },
	{ "server", F_NAME, M(server), NULL, 0, 0, NULL, NULL, 0, 0,
	  "Host that exports it: the control node (default) or a compute node.", NULL },
	{ "export", F_PATH, M(export_path), NULL, 0, 0, NULL, NULL, 0, F_REQUIRED,
	  "Absolute path exported by the server.", NULL },
	{ "mount", F_PATH, M(mount), NULL, 0, 0, NULL, NULL, 0, 0,
	  "Where clients mount it; default the export path.", NULL },
	{ "type", F_ENUM, M(type), "nfs", 0, 0, fstype_choices, NULL, 0, 0, "fstab(5) type.", NULL },
	{ "clients", F_STRLIST, M(clients), NULL, 0, 0, NULL, NULL, 0, F_REQUIRED,
	  "Who may mount it: addresses, networks (10.0.0.0/24), *.domain patterns, @netgroups, or the cluster's host names and host lists of them (written to exports as each host's address, so the server needs no name resolution).", &cpk_syn_client },
	{ "export_options", F_STR, M(export_options), "rw,sync,no_subtree_check", 0, 0, NULL, NULL, 0, 0,
	  "exports(5) options, comma separated.", &cpk_syn_options },
	{ "mount_options", F_STR, M(mount_options), "defaults,_netdev", 0, 0, NULL, NULL, 0, 0,
	  "fstab(5) mount options on the clients.", &cpk_syn_options },
};
static const struct section fs_section = {
	"filesystems", FIELDS(fs_fields), sizeof(struct cpk_filesystem),
	offsetof(struct cpk_filesystem, pos), "Shared filesystems over NFS." };

#undef M
#define M(f) offsetof(struct cpk_ldap, f)
static const struct field ldap_fields[] = {
	{ "uri", F_URI, M(uri), NULL, 0, 0, NULL, NULL, 0, F_REQUIRED,
	  "Directory server: ldap://HOST[:PORT]/, ldaps://... or ldapi://...", NULL },
	{ "base_dn", F_DN, M(base_dn), NULL, 0, 0, NULL, NULL, 0, F_REQUIRED,
	  "Base DN of the cluster's entries, e.g. dc=example,dc=org.", NULL },
	{ "bind_dn", F_DN, M(bind_dn), NULL, 0, 0, NULL, NULL, 0, 0,
	  "DN the admin tools bind as; none: SASL EXTERNAL over ldapi://.", NULL },
	{ "bind_password_file", F_PATH, M(bind_password_file), NULL, 0, 0, NULL, NULL, 0, 0,
	  "File holding bind_dn's password; must not be group- or world-readable.", NULL },
	{ "tls", F_ENUM, M(tls), "none", 0, 0, tls_choices, NULL, 0, 0,
	  "none, starttls, or ldaps (with an ldaps:// uri).", NULL },
	{ "ca_file", F_PATH, M(ca_file), NULL, 0, 0, NULL, NULL, 0, 0,
	  "CA certificate(s) to verify the server; default the system's.", NULL },
	{ "tls_cert", F_PATH, M(tls_cert), NULL, 0, 0, NULL, NULL, 0, 0,
	  "The control node's slapd certificate (PEM); default: one generated, self-signed.", NULL },
	{ "tls_key", F_PATH, M(tls_key), NULL, 0, 0, NULL, NULL, 0, 0,
	  "The private key of tls_cert (PEM); given with tls_cert.", NULL },
	{ "people_ou", F_DN, M(people_ou), "ou=People", 0, 0, NULL, NULL, 0, 0,
	  "Where accounts live, relative to base_dn.", NULL },
	{ "groups_ou", F_DN, M(groups_ou), "ou=Groups", 0, 0, NULL, NULL, 0, 0,
	  "Where groups live, relative to base_dn.", NULL },
	{ "lam_profile", F_NAME, M(lam_profile), NULL, 0, 0, NULL, NULL, 0, 0,
	  "Name of an LDAP Account Manager server profile for this tree, written on the control node (lam.conf; cpk apply puts it in /var/lib/ldap-account-manager/config/NAME.conf), whose uid and gid generators take ids from clusterpack's pool; none: no profile.", NULL },
};
static const struct section ldap_section = {
	"ldap", FIELDS(ldap_fields), 0, NOPOS, "The LDAP directory of accounts." };

#undef M
#define M(f) offsetof(struct cpk_users, f)
static const struct field users_fields[] = {
	{ "uid_range", F_RANGE, M(uid_range), "10000-59999", 1000, 4294967294u, NULL, NULL, 0, 0,
	  "uidNumbers given to new accounts, LO-HI.", NULL },
	{ "gid_range", F_RANGE, M(gid_range), "10000-59999", 1000, 4294967294u, NULL, NULL, 0, 0,
	  "gidNumbers given to new groups, LO-HI.", NULL },
	{ "shell", F_PATH, M(shell), "/bin/bash", 0, 0, NULL, NULL, 0, 0, "Login shell of new accounts.", NULL },
	{ "home_root", F_PATH, M(home_root), "/home", 0, 0, NULL, NULL, 0, 0,
	  "Homes are made as HOME_ROOT/NAME.", NULL },
	{ "skel", F_PATH, M(skel), "/etc/skel", 0, 0, NULL, NULL, 0, 0,
	  "Files copied into new homes.", NULL },
	{ "default_group", F_NAME, M(default_group), NULL, 0, 0, NULL, NULL, 0, 0,
	  "Primary group of new accounts; default a personal group per account.", NULL },
};
static const struct section users_section = {
	"users", FIELDS(users_fields), 0, NOPOS, "Defaults for new accounts." };

#undef M
#define M(f) offsetof(struct cpk_cgroup, f)
static const struct field cgroup_fields[] = {
	{ "plugin", F_ENUM, M(plugin), "autodetect", 0, 0, cgplugin_choices, NULL, 0, 0,
	  "CgroupPlugin: autodetect takes cgroup/v2 on a machine with the unified hierarchy (Debian 12 and 13 with systemd), cgroup/v1 on a legacy or hybrid one.", NULL },
	{ "constrain_cores", F_BOOL, M(constrain_cores), "true", 0, 0, NULL, NULL, 0, 0, "ConstrainCores.", NULL },
	{ "constrain_ram", F_BOOL, M(constrain_ram), "true", 0, 0, NULL, NULL, 0, 0, "ConstrainRAMSpace.", NULL },
	{ "constrain_devices", F_BOOL, M(constrain_devices), "true", 0, 0, NULL, NULL, 0, 0,
	  "ConstrainDevices: jobs see only the GPUs they were given.", NULL },
	{ "constrain_swap", F_BOOL, M(constrain_swap), "false", 0, 0, NULL, NULL, 0, 0, "ConstrainSwapSpace.", NULL },
};
static const struct section cgroup_section = {
	"cgroup", FIELDS(cgroup_fields), 0, NOPOS, "cgroup.conf." };

#undef M
#define M(f) offsetof(struct cpk_slurm, f)
static const struct field slurm_fields[] = {
	{ "cluster_name", F_CLUSTERNAME, M(cluster_name), NULL, 0, 0, NULL, NULL, 0, 0,
	  "ClusterName; default cluster.name.", NULL },
	{ "config_dir", F_PATH, M(config_dir), "/etc/slurm", 0, 0, NULL, NULL, 0, 0,
	  "Where slurm.conf, gres.conf, cgroup.conf and plugstack.conf live on the nodes.", NULL },
	{ "controller_port", F_UINT, M(controller_port), "6817", 1, 65535, NULL, NULL, 0, 0, "SlurmctldPort.", NULL },
	{ "node_port", F_UINT, M(node_port), "6818", 1, 65535, NULL, NULL, 0, 0, "SlurmdPort.", NULL },
	{ "slurm_user", F_NAME, M(slurm_user), "slurm", 0, 0, NULL, NULL, 0, 0, "SlurmUser.", NULL },
	{ "scheduler", F_ENUM, M(scheduler), "backfill", 0, 0, sched_choices, NULL, 0, 0, "SchedulerType.", NULL },
	{ "select_type", F_ENUM, M(select_type), "cons_tres", 0, 0, select_choices, NULL, 0, 0,
	  "SelectType: cons_tres (Slurm 22.05 and 24.11 both have it; cons_res is gone from Slurm 23.11 on), or linear (whole nodes, no MaxNodeCount).", NULL },
	{ "select_parameters", F_ENUM, M(select_parameters), "CR_Core_Memory", 0, 0, selparam_choices, NULL, 0, 0,
	  "SelectTypeParameters (not used with linear).", NULL },
	{ "accounting", F_BOOL, M(accounting), "false", 0, 0, NULL, NULL, 0, 0,
	  "Job accounting through slurmdbd on the control node; false leaves AccountingStorageType and JobAcctGatherType out (none).", NULL },
	{ "proctrack", F_ENUM, M(proctrack), "cgroup", 0, 0, proctrack_choices, NULL, 0, 0, "ProctrackType.", NULL },
	{ "task_plugins", F_ENUMLIST, M(task_plugins), "affinity,cgroup", 0, 0, task_choices, NULL, 0, 0,
	  "TaskPlugin: affinity and cgroup, or none (the key is then left out: no task plugin).", NULL },
	{ "mpi_default", F_ENUM, M(mpi_default), "none", 0, 0, mpi_choices, NULL, 0, 0, "MpiDefault.", NULL },
	{ "state_dir", F_PATH, M(state_dir), "/var/lib/slurm/slurmctld", 0, 0, NULL, NULL, 0, 0, "StateSaveLocation.", NULL },
	{ "spool_dir", F_PATH, M(spool_dir), "/var/lib/slurm/slurmd", 0, 0, NULL, NULL, 0, 0, "SlurmdSpoolDir.", NULL },
	{ "log_dir", F_PATH, M(log_dir), "/var/log/slurm", 0, 0, NULL, NULL, 0, 0,
	  "Directory of slurmctld.log and slurmd.log.", NULL },
	{ "pid_dir", F_PATH, M(pid_dir), "/run", 0, 0, NULL, NULL, 0, 0,
	  "Directory of slurmctld.pid and slurmd.pid.", NULL },
	{ "def_mem_per_cpu", F_SIZE, M(def_mem_per_cpu), NULL, 1, UINT64_C(1) << 40, NULL, NULL, 0, 0,
	  "DefMemPerCPU: memory per CPU of jobs that ask for none; default the smallest memory/cpus of the node groups (when all give memory), so such a job does not take a whole node.", NULL },
	{ "max_node_count", F_UINT, M(max_node_count), NULL, 1, 1000000, NULL, NULL, 0, 0,
	  "MaxNodeCount: room for dynamic nodes added later; default the static nodes + 128 (with select_type cons_tres; Slurm refuses it with linear).", NULL },
	{ "tree_width", F_UINT, M(tree_width), "65533", 1, 65533, NULL, NULL, 0, 0,
	  "TreeWidth; 65533 (no fan-out tree) is what dynamic nodes need.", NULL },
	{ "slurmd_timeout", F_UINT, M(slurmd_timeout), "300", 1, 65533, NULL, NULL, 0, 0,
	  "SlurmdTimeout, seconds.", NULL },
	{ "return_to_service", F_UINT, M(return_to_service), "2", 0, 2, NULL, NULL, 0, 0, "ReturnToService.", NULL },
	{ "extra", F_STRLIST, M(extra), NULL, 0, 0, NULL, NULL, 0, 0,
	  "More slurm.conf lines, each Key=Value, added verbatim: a value holds no white space, quotes, backslash or '#', and nodes, partitions and controllers come from their own keys.", &cpk_syn_slurm_extra },
	{ "cgroup", F_SECTION, M(cgroup), NULL, 0, 0, NULL, &cgroup_section, 0, 0, "cgroup.conf settings.", NULL },
};
static const struct section slurm_section = {
	"slurm", FIELDS(slurm_fields), 0, NOPOS, "Slurm settings (slurm.conf)." };

#undef M
#define M(f) offsetof(struct cpk_munge, f)
static const struct field munge_fields[] = {
	{ "key", F_PATH, M(key), "/etc/munge/munge.key", 0, 0, NULL, NULL, 0, 0,
	  "The munge key, identical on every node (made on the control node, 0400).", NULL },
	{ "socket", F_PATH, M(socket), "/run/munge/munge.socket.2", 0, 0, NULL, NULL, 0, 0,
	  "munged's socket (AuthInfo).", NULL },
};
static const struct section munge_section = {
	"munge", FIELDS(munge_fields), 0, NOPOS, "Munge authentication." };

#undef M
#define M(f) offsetof(struct cpk_stage, f)
static const struct field stage_fields[] = {
	{ "enabled", F_BOOL, M(enabled), "false", 0, 0, NULL, NULL, 0, 0,
	  "Load the cpk_stage SPANK plugin (--stage-in, --stage-out); only once cpk_stage.so is installed on every node (slurmd reports a plugin plugstack.conf names that is not there).", NULL },
	{ "required", F_BOOL, M(required), "false", 0, 0, NULL, NULL, 0, 0,
	  "Load it as required (jobs fail if it cannot load) rather than optional.", NULL },
	{ "plugin", F_PATH, M(plugin), CPK_PKGLIBDIR "/cpk_stage.so", 0, 0, NULL, NULL, 0, 0,
	  "Path of cpk_stage.so on the nodes.", NULL },
	{ "connections", F_UINT, M(connections), "8", 1, 64, NULL, NULL, 0, 0,
	  "SSH connections per staging transfer.", NULL },
	{ "retries", F_UINT, M(retries), "3", 0, 10, NULL, NULL, 0, 0,
	  "Retries of a piece of work after its connection dropped, after the first try (0: one try).", NULL },
	{ "verify", F_BOOL, M(verify), "false", 0, 0, NULL, NULL, 0, 0,
	  "Compare SHA-256 of source and destination after staging.", NULL },
	{ "allowed_hosts", F_STRLIST, M(allowed_hosts), NULL, 0, 0, NULL, NULL, 0, 0,
	  "Hosts (or *.domain patterns) jobs may stage from and to; default the control node.", &cpk_syn_host },
	{ "max_size", F_UINT, M(max_size), "0", 0, UINT64_C(1) << 60, NULL, NULL, 0, 0,
	  "Bytes one job's stage-out may send, counted before anything is sent (0: no limit; stage-in is not limited).", NULL },
	{ "stage_in_timeout", F_UINT, M(stage_in_timeout), "3600", 1, 604800, NULL, NULL, 0, 0,
	  "Seconds a job's stage-in may take (the script waits for it).", NULL },
	{ "stage_out_timeout", F_UINT, M(stage_out_timeout), "3600", 1, 604800, NULL, NULL, 0, 0,
	  "Seconds a job's stage-out may take (the node stays with the job meanwhile).", NULL },
	{ "cpk", F_PATH, M(cpk), "/usr/local/bin/cpk", 0, 0, NULL, NULL, 0, 0,
	  "Path of the cpk binary on the nodes (it does the transfers, as the job's user).", NULL },
};
static const struct section stage_section = {
	"stage", FIELDS(stage_fields), 0, NOPOS, "The data staging plugin (plugstack.conf)." };

#undef M
#define M(f) offsetof(struct cpk_model, f)
static const struct field root_fields[] = {
	{ "cluster", F_SECTION, 0, NULL, 0, 0, NULL, &cluster_section, 0, F_REQUIRED, NULL, NULL },
	{ "control", F_SECTION, 0, NULL, 0, 0, NULL, &control_section, 0, F_REQUIRED, NULL, NULL },
	{ "nodes", F_LIST, M(groups), NULL, 0, 0, NULL, &cpk_schema_nodegroup, M(n_groups), 0, NULL, NULL },
	{ "partitions", F_LIST, M(partitions), NULL, 0, 0, NULL, &partition_section, M(n_partitions), 0, NULL, NULL },
	{ "filesystems", F_LIST, M(filesystems), NULL, 0, 0, NULL, &fs_section, M(n_filesystems), 0, NULL, NULL },
	{ "ldap", F_SECTION, M(ldap), NULL, 0, 0, NULL, &ldap_section, 0, 0, NULL, NULL },
	{ "users", F_SECTION, M(users), NULL, 0, 0, NULL, &users_section, 0, 0, NULL, NULL },
	{ "slurm", F_SECTION, M(slurm), NULL, 0, 0, NULL, &slurm_section, 0, 0, NULL, NULL },
	{ "munge", F_SECTION, M(munge), NULL, 0, 0, NULL, &munge_section, 0, 0, NULL, NULL },
	{ "stage", F_SECTION, M(stage), NULL, 0, 0, NULL, &stage_section, 0, 0, NULL, NULL },
};
const struct section cpk_schema_root = {
	"", FIELDS(root_fields), 0, NOPOS, NULL };

static const struct field fragment_fields[] = {
	{ "nodes", F_LIST, M(groups), NULL, 0, 0, NULL, &cpk_schema_nodegroup, M(n_groups), F_REQUIRED, NULL, NULL },
};
const struct section cpk_schema_fragment = {
	"nodes.d fragment", FIELDS(fragment_fields), 0, NOPOS, NULL };
