/*
 * cpk stage in|out: the transfers of --stage-in / --stage-out values, as
 * the current user with the user's own ~/.ssh (the cpk_stage SPANK plugin
 * runs this as the job's user; see cpk/stage.h).
 */
#define _XOPEN_SOURCE 700	/* nftw */
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk/stage.h"
#include "cpk/xfer.h"
#include "cli.h"

enum { OPT_VERIFY = 256, OPT_RETRIES, OPT_MAX_SIZE, OPT_RECORD, OPT_JOB,
       OPT_REPORT };

static const struct cli_opt stage_opts[] = {
	{ "connections", 'n', "N", "SSH connections per transfer (1..64)" },
	{ "retries", OPT_RETRIES, "N", "retries after a dropped connection, "
	  "after the first try (0..10; 0: one try)" },
	{ "verify", OPT_VERIFY, NULL, "compare SHA-256 of both sides" },
	{ "max-size", OPT_MAX_SIZE, "BYTES", "out: refuse to send more than "
	  "BYTES in all (0: no limit)" },
	{ "record", OPT_RECORD, "NAME", "out: keep the list of files not "
	  "delivered in NAME (in the working directory; removed when all are)" },
	{ "job", OPT_JOB, "ID", "the job's id, for the record" },
	{ "report-fd", OPT_REPORT, "FD", "write \"FAILED TOTAL\" (items not "
	  "staged, items) on FD at the end" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static int run_stage(int argc, char **argv, const struct cli_verb *v);

const struct cli_verb cli_stage = {
	"stage", "in|out [options] VALUE...",
	"move the data of --stage-in / --stage-out values (LOCAL@[USER@]HOST:"
	"REMOTE[,...]) as the current user",
	stage_opts, run_stage,
};

static _Atomic(struct cpk_xfer *) cur_xfer;
static volatile sig_atomic_t got_sig;

static void on_signal(int sig)
{
	struct cpk_xfer *x = atomic_load(&cur_xfer);

	got_sig = sig;
	if (x)
		cpk_xfer_cancel(x);
	/* A connection being made does not see the cancel before its
	 * timeout: the run has 3 s to stop, then SIGALRM ends the process
	 * (the record of a stage-out already lists what is not delivered). */
	alarm(3);
}

static void log_line(int level, const char *msg, void *arg)
{
	fprintf(stderr, "cpk stage %s: %s%s\n", (const char *)arg,
		level == CPK_XFER_LOG_ERROR ? "error: " : "", msg);
}

/* The bytes of regular files under the local paths of L (links not
 * followed), for --max-size. */
static uint64_t tree_bytes;

static int add_size(const char *path, const struct stat *st, int type,
		    struct FTW *f)
{
	(void)path;
	(void)f;
	if (type == FTW_F && S_ISREG(st->st_mode))
		tree_bytes += (uint64_t)st->st_size;
	return 0;
}

/* Reasons an item was not staged (malloc'ed, but for these two). */
static char oom_why[] = "out of memory";
static char pending_why[] = "the stage-out did not finish (stopped or killed)";

static char *dup_why(const char *s)
{
	char *d = strdup(s);

	return d ? d : oom_why;
}

/* What all items moved, for the one summary line. */
struct totals {
	uint64_t bytes, files;
	double seconds;
	unsigned conns;
};

/* One item: IN copies HOST:REMOTE to LOCAL, OUT the other way.  Returns
 * NULL on success, else the reason (see dup_why()), said on stderr. */
static char *stage_one(int in, const struct cpk_stage_item *it,
		       struct cpk_xfer_opts *o, struct totals *t)
{
	struct cpk_xfer *x = NULL;
	struct cpk_xfer_stats st;
	const char *src;
	cpk_err_t err;
	char *why = NULL;

	o->conn.host = it->host;
	o->conn.user = it->user;
	if ((err = cpk_xfer_new(o, &x)) != 0)
		goto failed;
	atomic_store(&cur_xfer, x);
	if (got_sig)
		cpk_xfer_cancel(x);
	src = in ? it->remote : it->local;
	err = cpk_xfer_run(x, in ? CPK_XFER_GET : CPK_XFER_PUT, &src, 1,
			   in ? it->local : it->remote);
	atomic_store(&cur_xfer, NULL);
	cpk_xfer_stats(x, &st);
	t->bytes += st.bytes_sent;
	t->files += st.files_done;
	t->seconds += st.seconds;
	if (st.conns > t->conns)
		t->conns = st.conns;
failed:
	if (err) {
		fprintf(stderr, "cpk stage %s: FAILED %s %s:%s %s %s: %s\n",
			in ? "in" : "out", in ? "from" : "to", it->host,
			it->remote, in ? "to" : "from", it->local, cpk_errmsg());
		why = dup_why(cpk_errmsg());
	}
	cpk_xfer_free(x);
	return why;
}

/* Writes (or removes) the record; says so on failure.  Returns 0 or -1. */
static int record(const char *name, const char *job,
		  const struct cpk_stage_list *l, char **why)
{
	if (!name)
		return 0;
	if (cpk_stage_record_write(name, job, l, (const char *const *)why)) {
		cli_err("stage out: cannot write the record of undelivered "
			"files: %s", cpk_errmsg());
		return -1;
	}
	return 0;
}

/* --report-fd: "FAILED TOTAL\n" for the plugin's AdminComment, once the
 * items are known (nothing when the values did not parse). */
static void report(int fd, const struct cpk_stage_list *l, char **why)
{
	size_t i, nfail = 0;

	if (fd < 0 || !why)
		return;
	for (i = 0; i < l->n; i++)
		nfail += why[i] != NULL;
	dprintf(fd, "%zu %zu\n", nfail, l->n);
}

static int run_stage(int argc, char **argv, const struct cli_verb *v)
{
	struct cpk_stage_list l = CPK_STAGE_LIST_INIT;
	struct cpk_xfer_opts o;
	struct totals t = { 0, 0, 0, 0 };
	struct sigaction sa;
	const char *rec = NULL, *job = NULL, *dir;
	int report_fd = -1;
	char cwd[4096], **why = NULL;
	int c, in, rc = EXIT_OK;
	size_t i, nfail = 0;
	char *end;
	unsigned long n;
	unsigned long long max_size = 0;

	memset(&o, 0, sizeof(o));
	while ((c = cli_getopt(argc, argv, v)) != -1) {
		switch (c) {
		case 'n':
		case OPT_RETRIES:
		case OPT_REPORT:
			n = strtoul(optarg, &end, 10);
			if (*end || !*optarg || *optarg == '-' ||
			    (c == 'n' && (!n || n > 64)) ||
			    (c == OPT_RETRIES && n > 10) ||
			    (c == OPT_REPORT && (n < 3 || n > 1024)))
				return cli_usage_err(v, "%s: %s", argv[optind - 1],
						     c == 'n' ? "1..64" :
						     c == OPT_RETRIES ? "0..10" :
						     "a descriptor 3..1024");
			if (c == 'n')
				o.conns = (unsigned)n;
			else if (c == OPT_RETRIES)
				o.retries = n ? (unsigned)n : CPK_XFER_RETRIES_NONE;
			else
				report_fd = (int)n;
			break;
		case OPT_VERIFY: o.verify = CPK_VERIFY_AUTO; break;
		case OPT_MAX_SIZE:
			max_size = strtoull(optarg, &end, 10);
			if (*end || !*optarg || *optarg == '-')
				return cli_usage_err(v, "--max-size: bytes");
			break;
		case OPT_RECORD: rec = optarg; break;
		case OPT_JOB: job = optarg; break;
		default:
			return cli_common_opt(c, argv, v);
		}
	}
	if (argc - optind < 2 || (strcmp(argv[optind], "in") &&
				  strcmp(argv[optind], "out")))
		return cli_usage_err(v, "give in or out, then one or more values");
	in = !strcmp(argv[optind], "in");
	dir = in ? "in" : "out";
	if (in && rec)
		return cli_usage_err(v, "--record is for stage out");
	if (!getcwd(cwd, sizeof(cwd))) {
		cli_err("cannot read the working directory");
		return EXIT_FAIL;
	}
	for (i = (size_t)optind + 1; i < (size_t)argc; i++)
		if (cpk_stage_list_parse(&l, in ? "--stage-in" : "--stage-out",
					 argv[i], strlen(argv[i]), cwd) != 0) {
			cli_err("%s", cpk_errmsg());
			cpk_stage_list_release(&l);
			return EXIT_USAGE;
		}
	if (!(why = calloc(l.n, sizeof(*why)))) {
		cli_err("out of memory");
		rc = EXIT_FAIL;
		goto out;
	}
	/* Until each item is known delivered, the record lists it. */
	for (i = 0; i < l.n; i++)
		why[i] = pending_why;
	if (record(rec, job, &l, why) < 0) {
		rc = EXIT_FAIL;
		goto out;
	}
	memset(why, 0, l.n * sizeof(*why));
	if (!in && max_size) {
		for (i = 0; i < l.n; i++)
			nftw(l.v[i].local, add_size, 16, FTW_PHYS);
		if (tree_bytes > max_size) {
			cli_err("stage out: %" PRIu64 " bytes to send, more than "
				"this cluster's max_size of %llu: nothing sent",
				tree_bytes, max_size);
			for (i = 0; i < l.n; i++)
				why[i] = dup_why("more than this cluster's max_size");
			record(rec, job, &l, why);
			rc = EXIT_FAIL;
			goto out;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	o.recursive = 1;
	o.log = log_line;
	o.log_arg = (void *)dir;
	o.log_level = CPK_XFER_LOG_WARN;
	for (i = 0; i < l.n; i++) {
		why[i] = got_sig ? dup_why("stopped by a signal") :
			 stage_one(in, &l.v[i], &o, &t);
		if (why[i]) {
			nfail++;
			rc = EXIT_FAIL;
		}
	}
	if (record(rec, job, &l, why) < 0)
		rc = EXIT_FAIL;
	if (nfail)
		fprintf(stderr, "cpk stage %s: FAILED: %zu of %zu item%s not "
			"staged %s%s%s; moved ", dir, nfail, l.n,
			l.n == 1 ? "" : "s", dir, rec ? ", listed in " : "",
			rec ? rec : "");
	else
		fprintf(stderr, "cpk stage %s: %zu item%s: ", dir, l.n,
			l.n == 1 ? "" : "s");
	fprintf(stderr, "%" PRIu64 " bytes, %" PRIu64 " files, %.1f MB/s, "
		"%u connection%s, %.2f s\n", t.bytes, t.files,
		t.seconds > 0 ? (double)t.bytes / t.seconds / 1e6 : 0.0,
		t.conns, t.conns == 1 ? "" : "s", t.seconds);
	if (got_sig)
		rc = 128 + got_sig;
out:
	report(report_fd, &l, why);
	for (i = 0; why && i < l.n; i++)
		if (why[i] != oom_why && why[i] != pending_why)
			free(why[i]);
	free(why);
	cpk_stage_list_release(&l);
	return rc;
}
