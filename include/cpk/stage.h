/*
 * clusterpack data staging: what the SPANK plugin cpk_stage.so and the
 * helper `cpk stage` share.
 *
 * Lifecycle:
 *   1. cpk_stage_conf_parse() reads the plugin's plugstack.conf arguments
 *      into a struct cpk_stage_conf (cpk_stage_conf_release() frees it).
 *   2. cpk_stage_list_parse() appends the items of one --stage-in or
 *      --stage-out value to a struct cpk_stage_list (call it once per
 *      repeated option); cpk_stage_host_allowed() checks each item's host.
 *   3. cpk_stage_spawn() runs the helper as the job's user and waits.
 * Nothing here prints or exits; failures return a cpk_err_t with the
 * message in cpk_errmsg().
 */
#ifndef CPK_STAGE_H
#define CPK_STAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cpk/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- --stage-in / --stage-out values ---------------------------------- */

/*
 * A value is a comma-separated list of items; "\," is a comma inside an
 * item and "\\" a backslash (any other backslash is itself).  Each item is
 *
 *     LOCAL@[USER@]HOST:REMOTE
 *
 * split this way: HOST is a name of letters, digits, '.', '-' and '_', or
 * an IPv6 address in brackets ("[::1]"); the ':' that ends HOST is the
 * FIRST ':' of the item that is preceded by "@HOST" with a non-empty text
 * before that '@' (so REMOTE may hold ':' and '@').  The text before HOST's
 * '@' is "LOCAL@USER" when it holds another '@' and the text after the
 * last such '@' is a user name (no '/', ':' or whitespace); else it is all
 * LOCAL.  So "out@x@host:/r" is LOCAL "out", USER "x"; "a@b/c@host:/r" is
 * LOCAL "a@b/c"; a LOCAL whose last component holds '@' needs an explicit
 * USER ("a@b@me@host:/r").  LOCAL, USER (when its '@' is there), HOST and
 * REMOTE must not be empty; no byte of the value may be a control
 * character (below 0x20, or 0x7f); see the limits below.
 */
#define CPK_STAGE_VALUE_MAX 65536	/* bytes of one value */
#define CPK_STAGE_PATH_MAX 4096		/* bytes of LOCAL or REMOTE */
#define CPK_STAGE_NAME_MAX 255		/* bytes of USER or HOST */
#define CPK_STAGE_ITEMS_MAX 256		/* items of a list, all values */

struct cpk_stage_item {
	char *local;	/* absolute when the list was parsed with a workdir */
	char *user;	/* NULL: from the user's ssh_config */
	char *host;	/* without the brackets of an IPv6 address */
	char *remote;
};

struct cpk_stage_list {
	struct cpk_stage_item *v;
	size_t n;
};

#define CPK_STAGE_LIST_INIT { NULL, 0 }

/*
 * Appends the items of VAL (LEN bytes; a NUL among them is refused) to L.
 * WHAT names the option in messages ("--stage-in").  WORKDIR (absolute, or
 * NULL: leave relative LOCAL paths as they are) is put before each
 * relative LOCAL path.  On failure L is unchanged and the message names
 * the item ("--stage-in item 2 \"x@y\": ...", control characters shown as
 * \xNN).
 */
cpk_err_t cpk_stage_list_parse(struct cpk_stage_list *l, const char *what,
			       const char *val, size_t len,
			       const char *workdir);
/* Frees L's items and sets it empty.  Accepts an empty list. */
void cpk_stage_list_release(struct cpk_stage_list *l);

/* ---- plugin arguments (plugstack.conf) ------------------------------- */

struct cpk_stage_conf {
	unsigned connections;	/* SSH connections per transfer */
	unsigned retries;
	int verify;		/* 1: compare SHA-256 after staging */
	char **allowed_hosts;	/* NULL: any host; names or "*.domain" */
	size_t n_allowed;
	uint64_t max_size;	/* bytes; 0: no limit */
	unsigned stage_in_timeout;	/* seconds */
	unsigned stage_out_timeout;	/* seconds */
	char *cpk;		/* the helper binary */
};

enum cpk_stage_key_type {
	CPK_STAGE_KEY_UINT, CPK_STAGE_KEY_BOOL, CPK_STAGE_KEY_HOSTS,
	CPK_STAGE_KEY_PATH
};

/* The one table of plugin arguments: the parser reads it, the tests check
 * the renderer's plugstack.conf line and cluster.yaml's stage: section
 * against it. */
struct cpk_stage_key {
	const char *name;
	enum cpk_stage_key_type type;
	uint64_t min, max;	/* CPK_STAGE_KEY_UINT */
	const char *def;	/* default, as written in plugstack.conf */
	const char *help;
};
extern const struct cpk_stage_key cpk_stage_keys[];
extern const size_t cpk_stage_nkeys;

/* Fills C with the defaults, then parses ARGV[0..ARGC-1] ("key=value").
 * An unknown key, a repeated key or a bad value fails with a message
 * naming the argument.  On failure C holds nothing to free. */
cpk_err_t cpk_stage_conf_parse(struct cpk_stage_conf *c, int argc,
			       char *const *argv);
void cpk_stage_conf_release(struct cpk_stage_conf *c);

/* 1 if HOST may be staged from or to under C (the host as written in the
 * value, compared without case: an exact name, or "*.domain" matching any
 * name ending in ".domain", or "*" for any host), else 0. */
int cpk_stage_host_allowed(const struct cpk_stage_conf *c, const char *host);

/* ---- the record of undelivered stage-out files ----------------------- */

/*
 * Writes NAME (a file name, no '/', in the current directory: the helper
 * runs in the job's working directory as the job's user) listing the items
 * of L whose WHY[i] is not NULL, so that a user finds what a stage-out did
 * not deliver and where it still is:
 *
 *     # cpk_stage: files of job JOBID not staged out (N of M); they are still here.
 *     # LOCAL<TAB>[USER@]HOST:REMOTE<TAB>REASON
 *     /abs/local<TAB>user@host:/remote<TAB>one line of reason
 *
 * (control bytes of a reason become spaces; items hold none).  Replaced
 * atomically (a temporary file made with O_EXCL, renamed over NAME, so a
 * symlink at NAME is replaced, never followed).  When no WHY[i] is set,
 * NAME is removed instead (absent is fine).  WHY has L->n entries.
 */
cpk_err_t cpk_stage_record_write(const char *name, const char *jobid,
				 const struct cpk_stage_list *l,
				 const char *const *why);

/* ---- log callback ---------------------------------------------------- */

/* How lib/stage reports what it does besides returning (a helper stopped
 * at its time limit, killed after the grace time): the plugin routes it to
 * Slurm's log by level.  MSG has no prefix and no new line. */
enum cpk_stage_log_level {
	CPK_STAGE_LOG_ERROR = 1, CPK_STAGE_LOG_WARN, CPK_STAGE_LOG_INFO,
	CPK_STAGE_LOG_DEBUG
};
typedef void cpk_stage_log_fn(int level, const char *msg, void *arg);

/* ---- the job's AdminComment ------------------------------------------ */

#define CPK_STAGE_COMMENT_MAX 512	/* bytes, with the NUL */

/*
 * Formats an AdminComment into BUF (N bytes, at most
 * CPK_STAGE_COMMENT_MAX used): every byte below 0x20, 0x7f and every byte
 * of 0x80 and above (a hostile path may hold any) becomes '?', so the
 * comment is one line of printable ASCII; a text too long is cut and ends
 * with "...".  Returns BUF.
 */
char *cpk_stage_comment(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- running the helper as the job's user ---------------------------- */

struct cpk_stage_spawn {
	uid_t uid;		/* the user: gids, HOME, USER, LOGNAME, PATH
				 * and the groups come from its passwd entry */
	gid_t gid;		/* the job's primary gid */
	const char *workdir;	/* chdir'd to as the user */
	char *const *argv;	/* argv[0]: absolute path of the program */
	unsigned timeout_s;	/* 0: none */
	int err_fd;		/* the child's stdout and stderr (-1: kept) */
	/* asked about every 100 ms; non-zero stops the child (may be NULL) */
	int (*cancelled)(void *arg);
	void *arg;
	int report_fd;		/* > 2: becomes the child's fd 3 (0: none) */
	cpk_stage_log_fn *log;	/* may be NULL */
	void *log_arg;
};

/*
 * Forks; the child takes the user's groups (getgrouplist + setgroups), gid
 * and uid (and checks that setuid(0) then fails), a clean environment
 * (HOME, USER, LOGNAME, PATH=/usr/local/bin:/usr/bin:/bin), the default
 * signal mask and dispositions, its own process group, chdirs to WORKDIR and
 * execs ARGV.  The parent waits; at the time limit or when cancelled it
 * sends SIGTERM to the child's process group, SIGKILL 5 s later.  Returns 0
 * with *STATUS as from waitpid (an exec or setup failure is exit status
 * 126 or 127 with the reason written on ERR_FD), CPK_ERR_INTERRUPTED when
 * stopped by the time limit or the cancel check (*STATUS set too), or
 * another error when it could not start.
 */
cpk_err_t cpk_stage_spawn(const struct cpk_stage_spawn *s, int *status);

/*
 * Runs FN(ARG) in a forked child of its own process group (FN should end
 * with _exit(); returning is _exit(0)) and waits at most TIMEOUT_S
 * seconds (SIGTERM, SIGKILL 5 s later): for work that must not hold the
 * caller, such as a request to a controller that may hang.  LOG as in
 * struct cpk_stage_spawn.  Returns 0 with *STATUS from waitpid,
 * CPK_ERR_INTERRUPTED at the time limit, or another error.
 */
cpk_err_t cpk_stage_run_bounded(void (*fn)(void *arg), void *arg,
				unsigned timeout_s, cpk_stage_log_fn *log,
				void *log_arg, int *status);

#ifdef __cplusplus
}
#endif
#endif
