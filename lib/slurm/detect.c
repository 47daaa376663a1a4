/*
 * A node's hardware from the text its own tools print: `slurmd -C` and
 * `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader`.  The
 * text comes from the other machine: every byte is checked, every number
 * bounded, nothing is taken on trust.
 */
#include <stdlib.h>
#include <string.h>

#include "cpk/slurm.h"
#include "cpk/parse.h"
#include "internal.h"

#define MAX_TEXT (64u << 10)
#define MAX_GPUS 1024

/* Refuses NUL and control bytes other than tab, CR and LF. */
static cpk_err_t check_text(const char *what, const char *text, size_t len)
{
	size_t i;

	if (len > MAX_TEXT)
		return cpk_err_set(CPK_ERR_INVALID, "%s output of %zu bytes: at most %u", what, len,
				   MAX_TEXT);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			return cpk_err_set(CPK_ERR_INVALID, "%s output: control byte 0x%02x at offset %zu",
					   what, c, i);
	}
	return CPK_OK;
}

/* The next line of [*P, END) without its CR/LF, into [*LS, *LE). */
static int next_line(const char **p, const char *end, const char **ls, const char **le)
{
	const char *nl;

	if (*p >= end)
		return 0;
	*ls = *p;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	*le = nl ? nl : end;
	*p = nl ? nl + 1 : end;
	if (*le > *ls && (*le)[-1] == '\r')
		(*le)--;
	return 1;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* ---- slurmd -C ---------------------------------------------------------- */

enum { K_CPUS, K_BOARDS, K_SPB, K_SOCKETS, K_CPS, K_TPC, K_MEM, K__N };

static const struct { const char *key; uint64_t max; } keys[K__N] = {
	[K_CPUS] = { "CPUs", 1048576 },
	[K_BOARDS] = { "Boards", 1024 },
	[K_SPB] = { "SocketsPerBoard", 1024 },
	[K_SOCKETS] = { "Sockets", 1024 },
	[K_CPS] = { "CoresPerSocket", 65536 },
	[K_TPC] = { "ThreadsPerCore", 64 },
	[K_MEM] = { "RealMemory", UINT64_C(1) << 40 },
};

/* Parses one KEY=VALUE token [TS, TE) into V/SEEN (unknown keys ignored). */
static cpk_err_t slurmd_token(const char *ts, const char *te, uint64_t *v, int *seen)
{
	const char *eq = memchr(ts, '=', (size_t)(te - ts));
	char num[24];
	size_t klen, vlen;
	int k;

	if (!eq || eq == ts)
		return cpk_err_set(CPK_ERR_INVALID, "slurmd -C: '%.*s' is not KEY=VALUE",
				   (int)(te - ts > 64 ? 64 : te - ts), ts);
	klen = (size_t)(eq - ts);
	for (k = 0; k < K__N; k++)
		if (strlen(keys[k].key) == klen && !memcmp(ts, keys[k].key, klen))
			break;
	if (k == K__N)
		return CPK_OK;	/* NodeName, Gres, UpTime, ...: not ours */
	if (seen[k])
		return cpk_err_set(CPK_ERR_INVALID, "slurmd -C: %s given twice", keys[k].key);
	vlen = (size_t)(te - eq - 1);
	if (!vlen || vlen >= sizeof(num))
		return cpk_err_set(CPK_ERR_INVALID, "slurmd -C: %s has no number", keys[k].key);
	memcpy(num, eq + 1, vlen);
	num[vlen] = '\0';
	if (cpk_parse_uint(num, 1, keys[k].max, &v[k]) != CPK_OK)
		return cpk_err_set(CPK_ERR_INVALID, "slurmd -C: %s=%s is not a number from 1 to %llu",
				   keys[k].key, num, (unsigned long long)keys[k].max);
	seen[k] = 1;
	return CPK_OK;
}

cpk_err_t cpk_nodespec_from_slurmd(struct cpk_nodespec *s, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *ls = NULL, *le = NULL;
	uint64_t v[K__N] = { 0 }, sockets, topo;
	int seen[K__N] = { 0 }, found = 0;
	cpk_err_t r;

	if ((r = check_text("slurmd -C", text, len)) != CPK_OK)
		return r;
	while (next_line(&p, end, &ls, &le))
		if ((size_t)(le - ls) >= 9 && !memcmp(ls, "NodeName=", 9)) {
			found = 1;
			break;
		}
	if (!found)
		return cpk_err_set(CPK_ERR_INVALID, "slurmd -C: no line starts with NodeName=");
	while (ls < le) {
		const char *ts;

		while (ls < le && is_blank(*ls))
			ls++;
		ts = ls;
		while (ls < le && !is_blank(*ls))
			ls++;
		if (ts < ls && (r = slurmd_token(ts, ls, v, seen)) != CPK_OK)
			return r;
	}
	if (!seen[K_CPUS] || !seen[K_MEM])
		return cpk_err_set(CPK_ERR_INVALID, "slurmd -C: the NodeName line lacks %s",
				   seen[K_CPUS] ? "RealMemory" : "CPUs");
	if (seen[K_SOCKETS] && (seen[K_BOARDS] || seen[K_SPB]))
		return cpk_err_set(CPK_ERR_INVALID, "slurmd -C: both Sockets and Boards/SocketsPerBoard given");
	sockets = seen[K_SOCKETS] ? v[K_SOCKETS]
		: (seen[K_BOARDS] ? v[K_BOARDS] : 1) * (seen[K_SPB] ? v[K_SPB] : 1);
	if (!seen[K_CPS])
		v[K_CPS] = 1;
	if (!seen[K_TPC])
		v[K_TPC] = 1;
	/* each factor is bounded, so the product fits in 64 bits */
	topo = sockets * v[K_CPS] * v[K_TPC];
	if (seen[K_CPS] && seen[K_TPC] && topo != v[K_CPUS])
		return cpk_err_set(CPK_ERR_INVALID,
				   "slurmd -C: CPUs=%llu but sockets x cores x threads = %llu",
				   (unsigned long long)v[K_CPUS], (unsigned long long)topo);
	if (sockets > 1024)
		return cpk_err_set(CPK_ERR_INVALID, "slurmd -C: %llu sockets: at most 1024",
				   (unsigned long long)sockets);
	s->cpus = v[K_CPUS];
	s->sockets = seen[K_CPS] && seen[K_TPC] ? sockets : 0;
	s->cores_per_socket = seen[K_CPS] && seen[K_TPC] ? v[K_CPS] : 0;
	s->threads_per_core = seen[K_CPS] && seen[K_TPC] ? v[K_TPC] : 0;
	s->memory_mb = v[K_MEM];
	return CPK_OK;
}

/* ---- nvidia-smi --------------------------------------------------------- */

static int word_is(const char *w, size_t n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(w, lit, n);
}

static int all_letters(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z')))
			return 0;
	return n > 0;
}

/* Appends word [W, W+N) to T in lower case, up to a '-', alnum only. */
static void type_add(struct cpk_buf *t, const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < n && w[i] != '-'; i++) {
		char c = w[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			cpk_buf_addch(t, c);
	}
}

/* The GPU type of model name [NS, NE) into T ("" if none can be made). */
static void gpu_type_of(const char *ns, const char *ne, struct cpk_buf *t)
{
	const char *w[8];
	size_t wl[8], nw = 0, i;
	const char *p = ns;

	while (p < ne && nw < 8) {
		while (p < ne && is_blank(*p))
			p++;
		if (p >= ne)
			break;
		w[nw] = p;
		while (p < ne && !is_blank(*p))
			p++;
		wl[nw] = (size_t)(p - w[nw]);
		if (!word_is(w[nw], wl[nw], "NVIDIA") && !word_is(w[nw], wl[nw], "Tesla") &&
		    !word_is(w[nw], wl[nw], "GeForce") && !word_is(w[nw], wl[nw], "Quadro"))
			nw++;
	}
	if (!nw)
		return;
	type_add(t, w[0], wl[0]);
	if (all_letters(w[0], wl[0]) && nw > 1) {
		i = t->len;
		cpk_buf_addch(t, '_');
		type_add(t, w[1], wl[1]);
		if (t->len == i + 1)
			t->len = i, t->buf[i] = '\0';
	}
}

/* A model name: letters, digits, blanks and -_./()+ only. */
static int name_ok(const char *p, const char *e)
{
	if (p == e)
		return 0;
	for (; p < e; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || is_blank(*p) || strchr("-_./()+", *p)))
			return 0;
	return 1;
}

/* Checks " N MiB" in [P, E): the memory column. */
static int memory_ok(const char *p, const char *e)
{
	size_t digits = 0;

	while (p < e && is_blank(*p))
		p++;
	while (p < e && *p >= '0' && *p <= '9' && digits < 12)
		p++, digits++;
	if (!digits || (p < e && *p >= '0' && *p <= '9'))
		return 0;
	while (p < e && is_blank(*p))
		p++;
	if (e - p != 3 || memcmp(p, "MiB", 3))
		return 0;
	return 1;
}

cpk_err_t cpk_nodespec_gpus_from_nvidia_smi(struct cpk_nodespec *s, const char *text,
					    size_t len)
{
	const char *p = text, *end = text + len, *ls, *le;
	const char *first = NULL;
	size_t first_len = 0, count = 0, lineno = 0;
	struct cpk_buf type = CPK_BUF_INIT;
	cpk_err_t r;

	if ((r = check_text("nvidia-smi", text, len)) != CPK_OK)
		return r;
	while (next_line(&p, end, &ls, &le)) {
		const char *comma, *ne;

		lineno++;
		while (ls < le && is_blank(*ls))
			ls++;
		while (le > ls && is_blank(le[-1]))
			le--;
		if (ls == le)
			continue;
		if (le - ls == 21 && !memcmp(ls, "No devices were found", 21))
			continue;	/* nvidia-smi's answer on a machine without GPUs */
		comma = NULL;
		for (ne = ls; ne < le; ne++)
			if (*ne == ',')
				comma = ne;	/* the last comma: names may hold one */
		if (!comma || comma == ls || !memory_ok(comma + 1, le))
			return cpk_err_set(CPK_ERR_INVALID,
					   "nvidia-smi line %zu: '%.*s' is not 'NAME, N MiB'", lineno,
					   (int)(le - ls > 80 ? 80 : le - ls), ls);
		ne = comma;
		while (ne > ls && is_blank(ne[-1]))
			ne--;
		if (!name_ok(ls, ne))
			return cpk_err_set(CPK_ERR_INVALID,
					   "nvidia-smi line %zu: GPU name '%.*s' holds a byte other than letters, digits, blanks and -_./()+",
					   lineno, (int)(ne - ls > 80 ? 80 : ne - ls), ls);
		if (!first) {
			first = ls;
			first_len = (size_t)(ne - ls);
		} else if ((size_t)(ne - ls) != first_len || memcmp(ls, first, first_len)) {
			return cpk_err_set(CPK_ERR_INVALID,
					   "nvidia-smi line %zu: GPU '%.*s' differs from '%.*s' (one node has one GPU type)",
					   lineno, (int)(ne - ls > 80 ? 80 : ne - ls), ls,
					   (int)(first_len > 80 ? 80 : first_len), first);
		}
		if (++count > MAX_GPUS)
			return cpk_err_set(CPK_ERR_INVALID, "nvidia-smi: more than %d GPUs", MAX_GPUS);
	}
	if (first) {
		gpu_type_of(first, first + first_len, &type);
		if (cpk_buf_failed(&type)) {
			cpk_buf_release(&type);
			return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		}
		if (!type.len || !(type.buf[0] >= 'a' && type.buf[0] <= 'z') ||
		    type.len > 64) {
			r = cpk_err_set(CPK_ERR_INVALID, "nvidia-smi: no GPU type can be made of '%.*s'",
					(int)(first_len > 80 ? 80 : first_len), first);
			cpk_buf_release(&type);
			return r;
		}
	}
	free(s->gpu_type);
	s->gpu_type = count ? cpk_buf_detach(&type, NULL) : NULL;
	s->gpu_count = count;
	cpk_buf_release(&type);
	if (count && !s->gpu_type)
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}
