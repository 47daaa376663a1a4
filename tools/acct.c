/* Helpers shared by the account verbs: see acct.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpk/fsutil.h"
#include "acct.h"

const char *acct_subname(const struct cli_verb *sub)
{
	const char *sp = strchr(sub->name, ' ');

	return sp ? sp + 1 : sub->name;
}

static void list_subs(FILE *f, const struct cli_verb *v,
		      const struct cli_verb *const *subs, size_t n)
{
	size_t i;

	fprintf(f, "usage: cpk %s %s\n%s\n\nsub-commands:\n", v->name,
		v->synopsis, v->summary);
	for (i = 0; i < n; i++)
		fprintf(f, "  %s %s\n      %s\n", subs[i]->name, subs[i]->synopsis,
			subs[i]->summary);
	fprintf(f, "\n'cpk %s SUB --help' describes one; see also cpk-user(1).\n",
		v->name);
}

int acct_dispatch(int argc, char **argv, const struct cli_verb *v,
		  const struct cli_verb *const *subs, size_t n)
{
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		list_subs(stderr, v, subs, n);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		list_subs(stdout, v, subs, n);
		return acct_flush(EXIT_OK);
	}
	for (i = 0; i < n; i++)
		if (!strcmp(argv[1], acct_subname(subs[i])))
			return subs[i]->run(argc - 1, argv + 1, subs[i]);
	return cli_usage_err(v, "'%s' is not a sub-command of '%s'", argv[1],
			     v->name);
}

const char *acct_root(const char *opt)
{
	const char *e = getenv("CPK_ROOT");

	return opt ? opt : e && *e ? e : "/";
}

int acct_fail(void)
{
	cli_err("%s", cpk_errmsg());
	return EXIT_FAIL;
}

int acct_connect(const char *path, struct cpk_model **m,
		 struct cpk_ldap_conn **c)
{
	*c = NULL;
	if (cli_load_model(path, m) != EXIT_OK) {
		*m = NULL;
		return EXIT_FAIL;
	}
	if (!(*m)->ldap.present) {
		cli_err("%s: the description has no ldap section", (*m)->path);
	} else if (cpk_ldap_open(&(*m)->ldap, &(*m)->users, 0, c) != CPK_OK) {
		acct_fail();
	} else {
		return EXIT_OK;
	}
	cpk_model_free(*m);
	*m = NULL;
	return EXIT_FAIL;
}

void acct_disconnect(struct cpk_model *m, struct cpk_ldap_conn *c)
{
	cpk_ldap_close(c);
	cpk_model_free(m);
}

void acct_password_free(char *pw)
{
	if (pw) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
}

/*
 * Byte by byte with read(2), into one fixed buffer: no stdio buffer or
 * realloc() leaves a copy of the password behind.
 */
int acct_read_password(char **pw)
{
	enum { PW_MAX = 1024 };
	char *line = calloc(1, PW_MAX + 1);
	size_t len = 0;
	const char *why = NULL;
	ssize_t n;
	char ch;

	*pw = NULL;
	if (!line) {
		cli_err("out of memory");
		return EXIT_FAIL;
	}
	while ((n = read(STDIN_FILENO, &ch, 1)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			why = strerror(errno);
			break;
		}
		if (ch == '\n')
			break;
		if (ch == '\0' || len == PW_MAX) {
			why = ch ? "the password is longer than 1024 bytes"
				 : "the password contains a NUL byte";
			break;
		}
		line[len++] = ch;
	}
	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	if (!why && !len)
		why = "no password on standard input";
	if (why) {
		acct_password_free(line);
		cli_err("--password-stdin: %s", why);
		return EXIT_FAIL;
	}
	*pw = line;
	return EXIT_OK;
}

void acct_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int acct_strv_push(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));
	char *d;

	if (!nv)
		return -1;
	*v = nv;
	if (!(d = strndup(s, len)))
		return -1;
	nv[(*n)++] = d;
	return 0;
}

int acct_split(const char *list, char ***items, size_t *n)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",; \t");

		if (len && acct_strv_push(items, n, p, len) < 0)
			return -1;
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

int acct_read_keys(const char *path, char ***keys, size_t *n)
{
	struct cpk_buf b = CPK_BUF_INIT;
	size_t before = *n;
	char *line, *save = NULL;

	if (cpk_read_file(path, &b, 1 << 20) != CPK_OK) {
		cpk_buf_release(&b);
		return acct_fail();
	}
	if (memchr(b.buf, '\0', b.len)) {	/* it would cut the text short */
		cli_err("%s: a NUL byte (offset %zu): not a public key file", path,
			(size_t)((char *)memchr(b.buf, '\0', b.len) - b.buf));
		cpk_buf_release(&b);
		return EXIT_FAIL;
	}
	for (line = strtok_r(b.buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);

		while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		line += strspn(line, " \t");
		if (!*line || *line == '#')
			continue;
		if (acct_strv_push(keys, n, line, strlen(line)) < 0) {
			cpk_buf_release(&b);
			cli_err("out of memory");
			return EXIT_FAIL;
		}
	}
	cpk_buf_release(&b);
	if (*n == before) {
		cli_err("%s: no public key in the file", path);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

void acct_json_strv(struct cpk_json *j, const char *key, char *const *v, size_t n)
{
	size_t i;

	cpk_json_key(j, key);
	cpk_json_arr(j);
	for (i = 0; i < n; i++)
		cpk_json_str(j, v[i]);
	cpk_json_end(j);
}

int acct_json_out(struct cpk_json *j)
{
	if (cpk_json_failed(j)) {
		cli_err("cannot write the JSON document (out of memory)");
		return EXIT_FAIL;
	}
	fwrite(j->b->buf, 1, j->b->len, stdout);
	putchar('\n');
	return EXIT_OK;
}

int acct_flush(int rc)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return rc;
	if (errno != EPIPE)
		cli_err("writing to standard output: %s", strerror(errno));
	return EXIT_FAIL;
}
