/*
 * cpk copy: files and trees to or from one SSH host over many connections
 * (the transfer engine, cpk/xfer.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "cpk/buf.h"
#include "cpk/json.h"
#include "cpk/parse.h"
#include "cpk/xfer.h"
#include "cli.h"

enum { OPT_RESUME = 256, OPT_CHANNELS, OPT_VERIFY, OPT_JSON, OPT_CHUNK_MIN, OPT_CHUNK_MAX,
       OPT_SUBSYSTEM, OPT_NO_PRESERVE, OPT_PRESERVE, OPT_RETRIES, OPT_THROTTLE, OPT_SEGMENT };

static const struct cli_opt copy_opts[] = {
	{ "recursive", 'r', NULL, "copy directories and their contents" },
	{ "connections", 'n', "N", "SSH connections at once (default: from "
	  "the cores and the round trip)" },
	{ "channels", OPT_CHANNELS, "K", "SFTP channels per connection, 1..8 "
	  "(default: what the round trip needs)" },
	{ "port", 'P', "PORT", "SSH port of the remote host" },
	{ "identity", 'i', "FILE", "private key to try first (repeatable)" },
	{ "config", 'F', "FILE", "ssh_config file (\"none\": no file)" },
	{ "jump", 'J', "[USER@]HOST[:PORT][,...]", "connect through these jump "
	  "hosts (\"none\": directly), like ssh -J" },
	{ "ipv4", '4', NULL, "IPv4 addresses only" },
	{ "ipv6", '6', NULL, "IPv6 addresses only" },
	{ "cipher", 'c', "CIPHERS", "SSH ciphers, e.g. aes128-gcm@openssh.com" },
	{ "option", 'o', "KEY=VALUE", "StrictHostKeyChecking, "
	  "UserKnownHostsFile, ConnectTimeout, Port, User, IdentityFile, "
	  "IdentitiesOnly, Ciphers, ProxyJump, ProxyCommand, AddressFamily, "
	  "BatchMode" },
	{ "dereference", 'L', NULL, "copy what symlinks point at" },
	{ "resume", OPT_RESUME, "FILE", "journal of finished work: continue "
	  "an interrupted copy" },
	{ "verify", OPT_VERIFY, NULL, "compare SHA-256 of both sides" },
	{ "verify-read", 'V', NULL, "verify by reading the remote data back "
	  "(no remote sha256sum)" },
	{ "chunk-min", OPT_CHUNK_MIN, "SIZE", "files up to SIZE are copied "
	  "whole (8M)" },
	{ "chunk-max", OPT_CHUNK_MAX, "SIZE", "largest chunk of a big file "
	  "(64M)" },
	{ "preserve-times", 'p', NULL, "keep modes and times (the default; "
	  "for scp's users)" },
	{ "no-preserve", OPT_NO_PRESERVE, NULL, "do not copy modes and times "
	  "(the source's mode less the umask, as cp)" },
	{ "preserve", OPT_PRESERVE, "all", "all: copy setuid, setgid and "
	  "sticky bits too (dropped by default)" },
	{ "retries", OPT_RETRIES, "N", "retries after a dropped connection, after "
	  "the first try (3; 0: one try)" },
	{ "segment", OPT_SEGMENT, "N", "walk and copy a tree N entries at a "
	  "time (16384; memory grows with N, not with the tree)" },
	{ "subsystem", OPT_SUBSYSTEM, "NAME", "SFTP subsystem (sftp)" },
	/* a test knob, not in --help: CPK_TEST_THROTTLE_MS (cpk/xfer.h) */
	{ "throttle-ms", OPT_THROTTLE, "MS", NULL },
	{ "verbose", 'v', NULL, "say what happens: connections, retries, files "
	  "not copied (-vv: more)" },
	{ "quiet", 'q', NULL, "no progress and no summary" },
	{ "json", OPT_JSON, NULL, "print a JSON summary on stdout" },
	{ "help", 'h', NULL, "show this help" },
	{ NULL, 0, NULL, NULL },
};

static int run_copy(int argc, char **argv, const struct cli_verb *v);

const struct cli_verb cli_copy = {
	"copy", "[options] SRC... DST",
	"copy files to or from [user@]host:path over many SSH connections",
	copy_opts, run_copy,
};

struct bar {
	int tty;
	int shown;
};

static void human(char *buf, size_t n, double v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void progress(const struct cpk_xfer_progress *p, void *arg)
{
	struct bar *b = arg;
	char done[32], total[32], eta[32] = "--:--";
	double pct = p->bytes_total ? 100.0 * (double)p->bytes_done /
		     (double)p->bytes_total : 100.0;

	if (!b->tty)
		return;
	human(done, sizeof(done), (double)p->bytes_done);
	human(total, sizeof(total), (double)p->bytes_total);
	if (p->rate > 0 && p->bytes_total >= p->bytes_done) {
		unsigned long s = (unsigned long)((double)(p->bytes_total -
					p->bytes_done) / p->rate);

		snprintf(eta, sizeof(eta), "%lu:%02lu", s / 60, s % 60);
	}
	fprintf(stderr, "\r%5.1f%%  %s / %s  %.1f MB/s  ETA %s  %" PRIu64 "/%"
		PRIu64 " files  %u conn\033[K", pct, done, total, p->rate / 1e6,
		eta, p->files_done, p->files_total, p->conns);
	b->shown = 1;
	if (p->final)
		fputc('\n', stderr);
}

/* SIGINT/SIGTERM: the first asks the copy to stop (it then removes its
 * temporary files, unless --resume keeps them); a second one while it does
 * exits at once. */
static _Atomic(struct cpk_xfer *) sig_xfer;
static volatile sig_atomic_t sig_got;

static void on_signal(int sig)
{
	struct cpk_xfer *x;

	if (sig_got)
		_exit(128 + sig);
	sig_got = sig;
	if ((x = atomic_load(&sig_xfer)) != NULL)
		cpk_xfer_cancel(x);
}

static void catch_signals(struct cpk_xfer *x)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* restarted system calls: the progress output and file writes are
	 * not cut short; the library sees the cancel between requests */
	sa.sa_flags = SA_RESTART;
	atomic_store(&sig_xfer, x);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* -v: one line a message on stderr (after clearing the progress line). */
static void log_line(int level, const char *msg, void *arg)
{
	static const char *const tag[] = { "", "error: ", "warning: ", "", "" };
	struct bar *b = arg;

	fprintf(stderr, "%scpk copy: %s%s\n", b->tty ? "\r\033[K" : "",
		level >= 1 && level <= 4 ? tag[level] : "", msg);
}

/* Option OPT's value ARG: a whole number (SIZE: a byte size, like 8M) in
 * MIN..MAX into *OUT; else a usage error "OPT: not WHAT: ARG (why)". */
static int num_opt(const struct cli_verb *v, const char *opt,
		   const char *what, const char *arg, int size, uint64_t min,
		   uint64_t max, uint64_t *out)
{
	if ((size ? cpk_parse_size : cpk_parse_uint)(arg, min, max, out) == 0)
		return 0;
	return cli_usage_err(v, "%s: not %s: %s", opt, what, cpk_errmsg());
}

/* Passphrases of encrypted keys: asked on the terminal (/dev/tty, not
 * stdin), once per key for the whole copy, which may open many
 * connections, and wiped when it ends.  -o BatchMode=yes: never asked. */
#define PASS_MAX 8
static pthread_mutex_t pass_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char *key;
	char *pass;
} pass_cache[PASS_MAX];
static int pass_batch;

/* Reads a line from the terminal with echo off into BUF (SIZE bytes). */
static int read_tty(const char *key, char *buf, size_t size)
{
	struct termios old, quiet;
	size_t n = 0;
	ssize_t r;
	char c;
	int fd, ok = -1;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &old) < 0)
		goto out;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0)
		goto out;
	dprintf(fd, "Enter passphrase for key '%s': ", key);
	while ((r = read(fd, &c, 1)) == 1 && c != '\n' && c != '\r')
		if (n + 1 < size)
			buf[n++] = c;
	buf[n] = '\0';
	c = 0;
	tcsetattr(fd, TCSAFLUSH, &old);
	dprintf(fd, "\n");
	ok = r == 1 ? 0 : -1;	/* end of file or an error: no passphrase */
out:
	close(fd);
	return ok;
}

static int ask_pass(const char *key, char *buf, size_t size, void *arg)
{
	size_t i;
	int rc = -1;

	(void)arg;
	if (pass_batch || !size)
		return -1;
	pthread_mutex_lock(&pass_mu);
	for (i = 0; i < PASS_MAX && pass_cache[i].key; i++)
		if (!strcmp(pass_cache[i].key, key))
			break;
	if (i == PASS_MAX) {
		rc = read_tty(key, buf, size);
		goto out;
	}
	if (!pass_cache[i].key) {
		if (read_tty(key, buf, size) < 0)
			goto out;
		pass_cache[i].key = strdup(key);
		pass_cache[i].pass = strdup(buf);
		if (!pass_cache[i].key || !pass_cache[i].pass) {
			free(pass_cache[i].key);
			free(pass_cache[i].pass);
			pass_cache[i].key = pass_cache[i].pass = NULL;
		}
		rc = 0;
		goto out;
	}
	if (strlen(pass_cache[i].pass) < size) {
		memcpy(buf, pass_cache[i].pass, strlen(pass_cache[i].pass) + 1);
		rc = 0;
	}
out:
	pthread_mutex_unlock(&pass_mu);
	return rc;
}

static void pass_wipe(void)
{
	size_t i;

	pthread_mutex_lock(&pass_mu);
	for (i = 0; i < PASS_MAX; i++) {
		if (pass_cache[i].pass)
			explicit_bzero(pass_cache[i].pass,
				       strlen(pass_cache[i].pass));
		free(pass_cache[i].pass);
		free(pass_cache[i].key);
		pass_cache[i].key = pass_cache[i].pass = NULL;
	}
	pthread_mutex_unlock(&pass_mu);
}

/* -o KEY=VALUE (or "KEY VALUE"), like ssh -o. */
static int ssh_option(const struct cli_verb *v, struct cpk_xfer_opts *o,
		      char *arg, const char **ids, size_t *nids)
{
	char *val = arg + strcspn(arg, "= \t");
	uint64_t n;

	if (!*val)
		return cli_usage_err(v, "-o %s: expected KEY=VALUE", arg);
	*val++ = '\0';
	val += strspn(val, " \t=");
	if (!strcasecmp(arg, "StrictHostKeyChecking")) {
		if (!strcasecmp(val, "yes"))
			o->conn.hostkey_policy = CPK_HOSTKEY_STRICT;
		else if (!strcasecmp(val, "accept-new"))
			o->conn.hostkey_policy = CPK_HOSTKEY_ACCEPT_NEW;
		else if (!strcasecmp(val, "no") || !strcasecmp(val, "off"))
			o->conn.hostkey_policy = CPK_HOSTKEY_NO_CHECK;
		else
			return cli_usage_err(v, "StrictHostKeyChecking: yes, "
					     "accept-new or no");
	} else if (!strcasecmp(arg, "UserKnownHostsFile")) {
		o->conn.known_hosts = val;
	} else if (!strcasecmp(arg, "GlobalKnownHostsFile")) {
		o->conn.global_known_hosts = val;
	} else if (!strcasecmp(arg, "ConnectTimeout")) {
		if (num_opt(v, "-o ConnectTimeout", "a number of seconds",
			    val, 0, 1, 86400, &n))
			return EXIT_USAGE;
		o->conn.connect_timeout_ms = (int)n * 1000;
	} else if (!strcasecmp(arg, "Port")) {
		if (num_opt(v, "-o Port", "a port number", val, 0, 1, 65535,
			    &n))
			return EXIT_USAGE;
		o->conn.port = (unsigned)n;
	} else if (!strcasecmp(arg, "User")) {
		o->conn.user = val;
	} else if (!strcasecmp(arg, "Ciphers")) {
		o->conn.ciphers = val;
	} else if (!strcasecmp(arg, "IdentityFile")) {
		if (*nids >= 15)
			return cli_usage_err(v, "too many identities");
		ids[(*nids)++] = val;
	} else if (!strcasecmp(arg, "IdentitiesOnly")) {
		if (strcasecmp(val, "yes") && strcasecmp(val, "no"))
			return cli_usage_err(v, "IdentitiesOnly: yes or no");
		o->conn.identities_only = !strcasecmp(val, "yes");
	} else if (!strcasecmp(arg, "ProxyJump")) {
		o->conn.proxy_jump = val;
	} else if (!strcasecmp(arg, "ProxyCommand")) {
		o->conn.proxy_command = val;
	} else if (!strcasecmp(arg, "AddressFamily")) {
		if (!strcasecmp(val, "inet"))
			o->conn.address_family = 4;
		else if (!strcasecmp(val, "inet6"))
			o->conn.address_family = 6;
		else if (!strcasecmp(val, "any"))
			o->conn.address_family = 0;
		else
			return cli_usage_err(v, "AddressFamily: inet, inet6 or "
					     "any");
	} else if (!strcasecmp(arg, "BatchMode")) {
		if (strcasecmp(val, "yes") && strcasecmp(val, "no"))
			return cli_usage_err(v, "BatchMode: yes or no");
		o->conn.passphrase = NULL;
		pass_batch = !strcasecmp(val, "yes");
	} else {
		return cli_usage_err(v, "-o %s: not supported", arg);
	}
	return EXIT_OK;
}

/* "streams": where each stream's time went (cpk_xfer_streams()). */
static void json_streams(struct cpk_json *j, const struct cpk_xfer *x)
{
	struct cpk_xfer_stream v[64];
	size_t n = cpk_xfer_streams(x, v, 64), i;

	cpk_json_key(j, "streams");
	cpk_json_arr(j);
	for (i = 0; i < n && i < 64; i++) {
		cpk_json_obj(j);
		cpk_json_ku64(j, "conn", v[i].conn);
		cpk_json_ku64(j, "sent", v[i].bytes_sent);
		cpk_json_ku64(j, "received", v[i].bytes_received);
		cpk_json_knum(j, "window_wait_s", v[i].window_wait_s);
		cpk_json_knum(j, "reply_wait_s", v[i].reply_wait_s);
		cpk_json_knum(j, "lock_wait_s", v[i].lock_wait_s);
		cpk_json_knum(j, "setup_s", v[i].setup_s);
		cpk_json_knum(j, "cpu_s", v[i].cpu_s);
		cpk_json_knum(j, "inflight_avg", v[i].inflight_avg);
		cpk_json_ku64(j, "inflight_max", v[i].inflight_max);
		cpk_json_knum(j, "first_s", v[i].first_s);
		cpk_json_knum(j, "last_s", v[i].last_s);
		cpk_json_end(j);
	}
	cpk_json_end(j);
}

static void print_json(const struct cpk_xfer *x, const struct cpk_xfer_stats *st,
		       const char *err)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_json j;
	double rate = st->seconds > 0 ? (double)st->bytes_sent / st->seconds : 0;

	cpk_json_init(&j, &b);
	cpk_json_obj(&j);
	cpk_json_kbool(&j, "ok", !err);
	cpk_json_kstr(&j, "error", err);
	cpk_json_ku64(&j, "bytes_total", st->bytes_total);
	cpk_json_ku64(&j, "bytes_done", st->bytes_done);
	cpk_json_ku64(&j, "bytes_sent", st->bytes_sent);
	cpk_json_ku64(&j, "files_total", st->files_total);
	cpk_json_ku64(&j, "files_done", st->files_done);
	cpk_json_ku64(&j, "files_failed", st->files_failed);
	cpk_json_ku64(&j, "dirs", st->dirs);
	cpk_json_ku64(&j, "links", st->links);
	cpk_json_ku64(&j, "chunks_total", st->chunks_total);
	cpk_json_ku64(&j, "chunks_sent", st->chunks_sent);
	cpk_json_ku64(&j, "chunks_skipped", st->chunks_skipped);
	cpk_json_ku64(&j, "segments", st->segments);
	cpk_json_ku64(&j, "retries", st->retries);
	cpk_json_ku64(&j, "reconnects", st->reconnects);
	cpk_json_ku64(&j, "verified", st->verified);
	cpk_json_ku64(&j, "conns", st->conns);
	cpk_json_ku64(&j, "channels", st->channels);
	cpk_json_ku64(&j, "rtt_us", (uint64_t)(st->rtt_ms * 1000));
	cpk_json_ku64(&j, "ms", (uint64_t)(st->seconds * 1000));
	cpk_json_ku64(&j, "rate_bytes_per_s", (uint64_t)rate);
	json_streams(&j, x);
	cpk_json_end(&j);
	if (!cpk_json_failed(&j))
		printf("%s\n", b.buf);
	cpk_buf_release(&b);
}

static int run_copy(int argc, char **argv, const struct cli_verb *v)
{
	struct cpk_xfer_opts o;
	struct cpk_xfer_target *t = NULL;
	struct cpk_xfer *x = NULL;
	struct cpk_xfer_stats st;
	struct bar bar = { 0, 0 };
	const char *ids[16], **srcs = NULL;
	size_t nids = 0;
	int c, quiet = 0, json = 0, nt, i, rc = EXIT_FAIL, remote_dst;
	uint64_t n;
	cpk_err_t err;

	memset(&o, 0, sizeof(o));
	while ((c = cli_getopt(argc, argv, v)) != -1) {
		switch (c) {
		case 'r': o.recursive = 1; break;
		case 'L': o.follow_links = 1; break;
		case 'n':
			if (num_opt(v, "-n", "a number of connections", optarg,
				    0, 1, 64, &n))
				return EXIT_USAGE;
			o.conns = (unsigned)n;
			break;
		case OPT_CHANNELS:
			if (num_opt(v, "--channels", "a number of channels",
				    optarg, 0, 1, 8, &n))
				return EXIT_USAGE;
			o.channels = (unsigned)n;
			break;
		case 'P':
			if (num_opt(v, "-P", "a port number", optarg, 0, 1,
				    65535, &n))
				return EXIT_USAGE;
			o.conn.port = (unsigned)n;
			break;
		case 'i':
			if (nids >= 15)
				return cli_usage_err(v, "too many identities");
			ids[nids++] = optarg;
			break;
		case 'F': o.conn.config = optarg; break;
		case 'J': o.conn.proxy_jump = optarg; break;
		case '4': o.conn.address_family = 4; break;
		case '6': o.conn.address_family = 6; break;
		case 'c': o.conn.ciphers = optarg; break;
		case 'o':
			if ((rc = ssh_option(v, &o, optarg, ids, &nids)) != 0)
				return rc;
			rc = EXIT_FAIL;
			break;
		case OPT_RESUME: o.journal = optarg; break;
		case OPT_VERIFY:
			if (!o.verify)
				o.verify = CPK_VERIFY_AUTO;
			break;
		case 'V': o.verify = CPK_VERIFY_READ; break;
		case OPT_CHUNK_MIN:
		case OPT_CHUNK_MAX:
			if (num_opt(v, c == OPT_CHUNK_MIN ? "--chunk-min" :
				    "--chunk-max", "a size", optarg, 1, 1,
				    UINT64_MAX, &n))
				return EXIT_USAGE;
			*(c == OPT_CHUNK_MIN ? &o.chunk_min : &o.chunk_max) = n;
			break;
		case 'p': o.no_preserve = 0; break;	/* the last one wins */
		case OPT_NO_PRESERVE: o.no_preserve = 1; break;
		case OPT_PRESERVE:
			if (strcmp(optarg, "all"))
				return cli_usage_err(v, "--preserve: only "
						     "\"all\" (modes with "
						     "setuid, setgid, sticky)");
			o.preserve_special = 1;
			break;
		case OPT_RETRIES:
			if (num_opt(v, "--retries", "a number of tries",
				    optarg, 0, 0, 100, &n))
				return EXIT_USAGE;
			o.retries = n ? (unsigned)n : CPK_XFER_RETRIES_NONE;
			break;
		case OPT_SEGMENT:
			if (num_opt(v, "--segment", "a number of entries",
				    optarg, 0, 1, 1u << 30, &n))
				return EXIT_USAGE;
			o.segment = (size_t)n;
			break;
		case OPT_SUBSYSTEM: o.subsystem = optarg; break;
		case OPT_THROTTLE:
			if (num_opt(v, "--throttle-ms", "a number of "
				    "milliseconds", optarg, 0, 0, 60000, &n))
				return EXIT_USAGE;
			if (setenv("CPK_TEST_THROTTLE_MS", optarg, 1) < 0)
				return cli_usage_err(v, "--throttle-ms: %s",
						     strerror(errno));
			break;
		case 'v':
			if (o.log_level < CPK_XFER_LOG_DEBUG)
				o.log_level = o.log_level ? o.log_level + 1 :
					      CPK_XFER_LOG_INFO;
			o.log = log_line;
			o.log_arg = &bar;
			break;
		case 'q': quiet = 1; break;
		case OPT_JSON: json = 1; break;
		default:
			return cli_common_opt(c, argv, v);
		}
	}
	if (o.no_preserve && o.preserve_special)
		return cli_usage_err(v, "--preserve=all and --no-preserve "
				     "contradict each other");
	ids[nids] = NULL;
	if (nids)
		o.conn.identities = ids;
	nt = argc - optind;
	if (nt < 2)
		return cli_usage_err(v, "give at least one source and a "
				     "destination");
	if (!(t = calloc((size_t)nt, sizeof(*t))) ||
	    !(srcs = calloc((size_t)nt, sizeof(*srcs)))) {
		cli_err("out of memory");
		goto out;
	}
	for (i = 0; i < nt; i++) {
		if (cpk_xfer_target_parse(argv[optind + i], &t[i]) != 0) {
			rc = cli_usage_err(v, "%s", cpk_errmsg());
			goto out;
		}
	}
	remote_dst = t[nt - 1].host != NULL;
	for (i = 0; i < nt - 1; i++) {
		const struct cpk_xfer_target *r = remote_dst ? &t[nt - 1] : &t[0];

		if ((t[i].host != NULL) == remote_dst) {
			rc = cli_usage_err(v, "copy between this machine and one "
					   "host: %s", remote_dst ?
					   "the sources must be local" :
					   "a source or the destination must "
					   "be host:path");
			goto out;
		}
		if (!remote_dst && (strcmp(t[i].host, r->host) ||
				    (t[i].user && (!r->user ||
						   strcmp(t[i].user, r->user))))) {
			rc = cli_usage_err(v, "all sources must be on one host");
			goto out;
		}
		srcs[i] = t[i].path;
	}
	{
		const struct cpk_xfer_target *r = remote_dst ? &t[nt - 1] : &t[0];

		o.conn.host = r->host;
		if (r->user)
			o.conn.user = r->user;
	}
	bar.tty = !quiet && !json && isatty(2);
	if (!pass_batch)
		o.conn.passphrase = ask_pass;
	o.progress = progress;
	o.progress_arg = &bar;
	if ((err = cpk_xfer_new(&o, &x)) != 0) {
		cli_err("%s", cpk_errmsg());
		goto out;
	}
	catch_signals(x);
	err = cpk_xfer_run(x, remote_dst ? CPK_XFER_PUT : CPK_XFER_GET, srcs,
			   (size_t)nt - 1, t[nt - 1].path);
	cpk_xfer_stats(x, &st);
	if (json)
		print_json(x, &st, err ? cpk_errmsg() : NULL);
	if (err)
		cli_err("%s", cpk_errmsg());
	else if (!quiet && !json) {
		char done[32], chans[32] = "";

		human(done, sizeof(done), (double)st.bytes_done);
		if (st.channels > 1)
			snprintf(chans, sizeof(chans), " x %u channels",
				 st.channels);
		printf("copied %" PRIu64 " file%s (%s) in %.2f s, %.1f MB/s, "
		       "%u connection%s%s, rtt %.2f ms%s%s\n",
		       st.files_done,
		       st.files_done == 1 ? "" : "s", done, st.seconds,
		       st.seconds > 0 ? (double)st.bytes_sent / st.seconds / 1e6 : 0,
		       st.conns, st.conns == 1 ? "" : "s", chans, st.rtt_ms,
		       st.chunks_skipped ? ", resumed" : "",
		       st.verified ? ", verified" : "");
	}
	rc = err ? EXIT_FAIL : EXIT_OK;
	if (err == CPK_ERR_INTERRUPTED && sig_got)
		rc = 128 + sig_got;	/* as a shell reports a signal */
out:
	for (i = 0; t && i < nt; i++)
		cpk_xfer_target_release(&t[i]);
	free(t);
	free(srcs);
	atomic_store(&sig_xfer, NULL);
	cpk_xfer_free(x);
	pass_wipe();
	return rc;
}
