/*
 * cpk_stage.so's parts: the dispatch on spank_context() (cpk_stage.c), the
 * options and their values (opts.c), running the helper and telling the
 * job record (run.c), Slurm's log (log.c).  Nothing here but the SPANK
 * symbols is exported (cpk_stage.map).
 */
#ifndef CPK_PLUGIN_H
#define CPK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "cpk/stage.h"

#define OPT_IN 1	/* the index in cs_opts[] plus 1 */
#define OPT_OUT 2
#define OPT_CONNS 3
#define OPT_VERIFY 4
#define MAXVALS 64
#define CONNS_BAD UINT32_MAX	/* a forged --stage-conns, refused on the node */

/* The options of the job, as given (each checked when given). */
struct cs_job {
	char *in[MAXVALS], *out[MAXVALS];
	int n_in, n_out;
	unsigned conns;		/* 0: the plugin argument; CONNS_BAD */
	int verify;
};
extern struct cs_job cs_job;

/* log.c: every message goes to Slurm's log with the "cpk_stage: " prefix,
 * by level (CPK_STAGE_LOG_*); the last error is kept for the comment. */
void cs_say(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
cpk_stage_log_fn cs_log;
const char *cs_last_error(void);

/* opts.c */
const char *cs_what(int val);
int cs_register_options(spank_t sp);
int cs_load_conf(struct cpk_stage_conf *c, int ac, char **av);
int cs_parse_all(int val, const struct cpk_stage_conf *c, const char *workdir,
		 struct cpk_stage_list *l);
int cs_send_joined(int val);
void cs_forget_options(spank_t sp);

/* run.c */
struct cs_result {
	size_t failed, total;	/* from the helper's report; total 0: none */
};
int cs_run_helper(spank_t sp, const struct cpk_stage_conf *c, int val,
		  const char *workdir, int err_fd, unsigned timeout,
		  int (*cancelled)(void *), struct cs_result *r);
const char *cs_record_name(void);
int cs_workdir_of(spank_t sp, char *buf, size_t n);
void cs_admin_comment(spank_t sp, const char *text);

#endif
