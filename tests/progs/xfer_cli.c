/*
 * cpk-xfer: a small front end over sftp.h and conn.h, for the shell tests
 * and the benchmark (a stand-in for the future `cpk copy`).
 *
 *   cpk-xfer [options] HOST put LOCAL REMOTE
 *   cpk-xfer [options] HOST get REMOTE LOCAL
 *   cpk-xfer [options] HOST put-dir LOCALDIR REMOTEDIR   (regular files, flat)
 *   cpk-xfer [options] HOST get-dir REMOTEDIR LOCALDIR
 *   cpk-xfer [options] HOST ls|stat|mkdir|rm|rmdir PATH
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/xfer/conn.h"
#include "../../lib/xfer/sftp.h"
#include "cpk/buf.h"
#include "banned.h"

static void usage(void)
{
	fprintf(stderr,
"usage: cpk-xfer [-p port] [-l user] [-i identity]... [-F ssh_config|none]\n"
"                [-o known_hosts] [-k strict|accept-new|no] [-A] [-c ciphers]\n"
"                [-T connect_timeout_ms] [-w window] [-b chunk] [-u max_unsent]\n"
"                [-s subsystem] [-d libssh_log_level]\n"
"                [-P] [-t] [-v] HOST COMMAND ARGS...\n"
"commands: put LOCAL REMOTE | get REMOTE LOCAL | put-dir LOCALDIR REMOTEDIR |\n"
"          get-dir REMOTEDIR LOCALDIR | ls DIR | stat PATH | mkdir PATH |\n"
"          rm PATH | rmdir PATH\n");
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long parse_num(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s) {
		fprintf(stderr, "cpk-xfer: invalid %s: %s\n", what, s);
		exit(2);
	}
	if (*end == 'k' || *end == 'K')
		v *= 1024;
	else if (*end == 'm' || *end == 'M')
		v *= 1024 * 1024;
	return v;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files of DIR (flat), sorted; *N entries, each "DIR/name". */
static char **list_local(const char *dir, size_t *n, uint64_t *bytes)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;
	struct stat st;

	*n = 0;
	*bytes = 0;
	if (!d) {
		fprintf(stderr, "cpk-xfer: %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	while ((e = readdir(d))) {
		struct cpk_buf b = CPK_BUF_INIT;

		cpk_buf_addf(&b, "%s/%s", dir, e->d_name);
		if (stat(b.buf, &st) < 0 || !S_ISREG(st.st_mode)) {
			cpk_buf_release(&b);
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				exit(1);
		}
		*bytes += (uint64_t)st.st_size;
		v[(*n)++] = cpk_buf_detach(&b, NULL);
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_name);
	return v;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

int main(int argc, char **argv)
{
	struct cpk_conn_opts co;
	struct cpk_sftp_opts so;
	const char *ids[16];
	size_t nids = 0;
	int opt, timing = 0, verbose = 0;
	unsigned flags = 0;
	ssh_session ss = NULL;
	struct cpk_sftp *s = NULL;
	const char *cmd;
	uint64_t bytes = 0;
	size_t nfiles = 1;
	double t0, t1;
	cpk_err_t err = CPK_OK;

	memset(&co, 0, sizeof(co));
	memset(&so, 0, sizeof(so));
	while ((opt = getopt(argc, argv, "p:l:i:F:o:k:Ac:T:w:b:u:s:d:Ptv")) != -1) {
		switch (opt) {
		case 'p': co.port = (unsigned)parse_num(optarg, "port"); break;
		case 'l': co.user = optarg; break;
		case 'i':
			if (nids + 1 >= sizeof(ids) / sizeof(ids[0]))
				usage();
			ids[nids++] = optarg;
			break;
		case 'F': co.config = optarg; break;
		case 'o': co.known_hosts = optarg; break;
		case 'k':
			if (!strcmp(optarg, "strict"))
				co.hostkey_policy = CPK_HOSTKEY_STRICT;
			else if (!strcmp(optarg, "accept-new"))
				co.hostkey_policy = CPK_HOSTKEY_ACCEPT_NEW;
			else if (!strcmp(optarg, "no"))
				co.hostkey_policy = CPK_HOSTKEY_NO_CHECK;
			else
				usage();
			break;
		case 'A': co.no_agent = 1; break;
		case 'c': co.ciphers = optarg; break;
		case 'T': co.connect_timeout_ms = (int)parse_num(optarg,
								 "timeout");
			break;
		case 'w': so.window = (unsigned)parse_num(optarg, "window");
			break;
		case 'b': so.chunk = parse_num(optarg, "chunk"); break;
		case 'u': so.max_unsent = parse_num(optarg, "max_unsent");
			break;
		case 's': so.subsystem = optarg; break;
		case 'd': co.log_verbosity = (int)parse_num(optarg, "level");
			break;
		case 'P': flags |= CPK_SFTP_PRESERVE; break;
		case 't': timing = 1; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	ids[nids] = NULL;
	if (nids)
		co.identities = ids;
	if (argc - optind < 3)
		usage();
	co.host = argv[optind];
	cmd = argv[optind + 1];

	t0 = now_s();
	if ((err = cpk_conn_open(&co, &ss)) != 0 ||
	    (err = cpk_sftp_new(ss, &so, &s)) != 0)
		goto out;
	if (verbose) {
		struct cpk_sftp_info in;

		cpk_sftp_info(s, &in);
		fprintf(stderr, "sftp v%u window %u chunk %zu (server: packet "
			"%" PRIu64 " read %" PRIu64 " write %" PRIu64
			" handles %" PRIu64 ")\n", in.version, in.window,
			in.chunk, in.server_max_packet, in.server_max_read,
			in.server_max_write, in.server_max_handles);
	}
	t1 = now_s();
	if (!strcmp(cmd, "put") && argc - optind == 4) {
		struct stat st;

		if (stat(argv[optind + 2], &st) == 0)
			bytes = (uint64_t)st.st_size;
		err = cpk_sftp_put(s, argv[optind + 2], argv[optind + 3],
				   flags);
	} else if (!strcmp(cmd, "get") && argc - optind == 4) {
		struct cpk_sftp_attr a;

		if (cpk_sftp_stat(s, argv[optind + 2], &a) == 0)
			bytes = a.size;
		err = cpk_sftp_get(s, argv[optind + 2], argv[optind + 3],
				   flags);
	} else if (!strcmp(cmd, "put-dir") && argc - optind == 4) {
		const char *rdir = argv[optind + 3];
		struct cpk_sftp_attr a;
		struct cpk_sftp_file *f;
		char **names = list_local(argv[optind + 2], &nfiles, &bytes);
		size_t i;

		if (cpk_sftp_stat(s, rdir, &a) != 0 &&
		    (err = cpk_sftp_mkdir(s, rdir, 0755)) != 0)
			goto out;
		f = calloc(nfiles ? nfiles : 1, sizeof(*f));
		if (!f)
			exit(1);
		for (i = 0; i < nfiles; i++) {
			struct cpk_buf b = CPK_BUF_INIT;

			cpk_buf_addf(&b, "%s/%s", rdir, base(names[i]));
			f[i].local = names[i];
			f[i].remote = cpk_buf_detach(&b, NULL);
		}
		t1 = now_s();
		err = cpk_sftp_put_many(s, f, nfiles, flags);
		cpk_sftp_files_release(f, nfiles);
		for (i = 0; i < nfiles; i++) {
			free(names[i]);
			free((char *)f[i].remote);
		}
		free(names);
		free(f);
	} else if (!strcmp(cmd, "get-dir") && argc - optind == 4) {
		const char *rdir = argv[optind + 2], *ldir = argv[optind + 3];
		struct cpk_sftp_name *names = NULL;
		struct cpk_sftp_file *f;
		size_t n = 0, i, k = 0;

		if ((err = cpk_sftp_listdir(s, rdir, &names, &n)) != 0)
			goto out;
		if (mkdir(ldir, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "cpk-xfer: %s: %s\n", ldir,
				strerror(errno));
			exit(1);
		}
		f = calloc(n ? n : 1, sizeof(*f));
		if (!f)
			exit(1);
		for (i = 0; i < n; i++) {
			struct cpk_buf b = CPK_BUF_INIT, c = CPK_BUF_INIT;

			if (!(names[i].attr.flags & CPK_SFTP_ATTR_PERM) ||
			    !S_ISREG(names[i].attr.perm))
				continue;
			cpk_buf_addf(&b, "%s/%s", rdir, names[i].name);
			cpk_buf_addf(&c, "%s/%s", ldir, names[i].name);
			f[k].remote = cpk_buf_detach(&b, NULL);
			f[k].local = cpk_buf_detach(&c, NULL);
			f[k].attr = names[i].attr;
			bytes += names[i].attr.size;
			k++;
		}
		nfiles = k;
		t1 = now_s();
		err = cpk_sftp_get_many(s, f, k, flags);
		cpk_sftp_files_release(f, k);
		for (i = 0; i < k; i++) {
			free((char *)f[i].local);
			free((char *)f[i].remote);
		}
		free(f);
		cpk_sftp_names_free(names, n);
	} else if (!strcmp(cmd, "ls") && argc - optind == 3) {
		struct cpk_sftp_name *names = NULL;
		size_t n = 0, i;

		if ((err = cpk_sftp_listdir(s, argv[optind + 2], &names,
					    &n)) == 0)
			for (i = 0; i < n; i++)
				printf("%s\n", names[i].longname);
		cpk_sftp_names_free(names, n);
	} else if (!strcmp(cmd, "stat") && argc - optind == 3) {
		struct cpk_sftp_attr a;

		if ((err = cpk_sftp_stat(s, argv[optind + 2], &a)) == 0)
			printf("size %" PRIu64 " mode %o uid %u gid %u "
			       "mtime %u\n", a.size, a.perm, a.uid, a.gid,
			       a.mtime);
	} else if (!strcmp(cmd, "mkdir") && argc - optind == 3) {
		err = cpk_sftp_mkdir(s, argv[optind + 2], 0755);
	} else if (!strcmp(cmd, "rm") && argc - optind == 3) {
		err = cpk_sftp_remove(s, argv[optind + 2]);
	} else if (!strcmp(cmd, "rmdir") && argc - optind == 3) {
		err = cpk_sftp_rmdir(s, argv[optind + 2]);
	} else {
		usage();
	}
	if (!err && timing) {
		double t2 = now_s();

		fprintf(stderr, "%s: %zu files, %" PRIu64 " bytes in %.3f s "
			"(+%.3f s connect): %.1f MB/s\n", cmd, nfiles, bytes,
			t2 - t1, t1 - t0, bytes / (t2 - t1) / 1e6);
	}
out:
	if (err)
		fprintf(stderr, "cpk-xfer: %s\n", cpk_errmsg());
	cpk_sftp_free(s);
	cpk_conn_close(ss);
	ssh_finalize();
	return err ? 1 : 0;
}
