/*
 * What the render unit tests (render_slurm_test.c, render_files_test.c)
 * share: a description from a few lines of YAML (alone, or after four
 * nodes and a partition), and a look for a line in a rendered file.
 */
#ifndef CPK_RENDER_CHECK_H
#define CPK_RENDER_CHECK_H

#include <stdio.h>
#include <string.h>

#include "cpk/model.h"
#include "cpk/render.h"

/* The first two lines of every description here. */
static const char head[] =
	"cluster: {name: t}\n"
	"control: {name: ctl, address: 10.0.0.1}\n";

/*
 * The model of HEAD + BODY, parsed as t.yaml (NULL if it is refused).  Its
 * diagnostics go to *D if D is given, else the first one is printed as a
 * TAP comment.
 */
__attribute__((unused))
static struct cpk_model *parse(const char *body, struct cpk_diags *d)
{
	struct cpk_diags own = CPK_DIAGS_INIT;
	struct cpk_diags *dd = d ? d : &own;
	struct cpk_buf t = CPK_BUF_INIT;
	struct cpk_model *m = NULL;

	cpk_buf_addf(&t, "%s%s", head, body);
	if (cpk_model_parse("t.yaml", t.buf, t.len, &m, dd) != CPK_OK && !d) {
		printf("# %s\n", cpk_errmsg());
		if (own.n)
			printf("# %d:%d: %s\n", own.v[0].line, own.v[0].col,
			       own.v[0].msg);
	}
	cpk_diags_release(&own);
	cpk_buf_release(&t);
	return m;
}

/* Does TEXT hold LINE as a whole line? (No if TEXT is NULL.) */
__attribute__((unused))
static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while (p && (p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return 1;
		p++;
	}
	return 0;
}

/* Four nodes (c[01-04], 2 x 4 cores, 16G) and a default partition after
 * HEAD: the base of many tests (its lines count in the diagnostics' line
 * numbers). */
static const char four[] =
	"nodes:\n"
	"  - names: c[01-04]\n"
	"    addresses: 10.0.0.[11-14]\n"
	"    sockets: 2\n"
	"    cores_per_socket: 4\n"
	"    memory: 16G\n"
	"partitions:\n"
	"  - {name: p, nodes: ALL, default: true}\n";

/* The model of HEAD + FOUR + EXTRA, as parse() does it. */
__attribute__((unused))
static struct cpk_model *parse4(const char *extra, struct cpk_diags *d)
{
	struct cpk_buf t = CPK_BUF_INIT;
	struct cpk_model *m;

	cpk_buf_addf(&t, "%s%s", four, extra);
	m = parse(t.buf, d);
	cpk_buf_release(&t);
	return m;
}

#endif
