/*
 * lib/slurm/detect.c: a node's hardware from recorded `slurmd -C` and
 * `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader` output
 * (tests/data/detect/), as hostile input.
 */
#include <stdlib.h>
#include <string.h>

#include "cpk/slurm.h"
#include "cpk/fsutil.h"
#include "tap.h"

#define DATA "tests/data/detect/"

static struct cpk_buf text;

static const char *load(const char *name)
{
	char path[256];

	cpk_buf_release(&text);
	snprintf(path, sizeof(path), DATA "%s", name);
	if (cpk_read_file(path, &text, 0) != CPK_OK) {
		printf("Bail out! cannot read %s (run from the source tree): %s\n", path,
		       cpk_errmsg());
		exit(1);
	}
	return text.buf;
}

static cpk_err_t slurmd(struct cpk_nodespec *s, const char *file)
{
	load(file);
	return cpk_nodespec_from_slurmd(s, text.buf, text.len);
}

static cpk_err_t smi(struct cpk_nodespec *s, const char *file)
{
	load(file);
	return cpk_nodespec_gpus_from_nvidia_smi(s, text.buf, text.len);
}

static void test_slurmd_good(void)
{
	struct cpk_nodespec s = CPK_NODESPEC_INIT;

	ok(slurmd(&s, "slurmd-C-small.txt") == CPK_OK, "slurmd -C of a small VM");
	ok(s.cpus == 8 && s.sockets == 1 && s.cores_per_socket == 4 &&
	   s.threads_per_core == 2 && s.memory_mb == 15880, "its CPUs, topology and RealMemory");
	ok(!s.name && !s.address, "name and address are not taken from the node's own words");

	ok(slurmd(&s, "slurmd-C-gpu8.txt") == CPK_OK, "slurmd -C of an 8-GPU machine (Gres ignored)");
	ok(s.cpus == 224 && s.sockets == 2 && s.cores_per_socket == 56 &&
	   s.threads_per_core == 2 && s.memory_mb == 2063937, "224 CPUs in 2x56x2, 2 TB");

	ok(slurmd(&s, "slurmd-C-sockets.txt") == CPK_OK && s.sockets == 2 && s.cpus == 16,
	   "the older Sockets= form");
	ok(slurmd(&s, "slurmd-C-crlf.txt") == CPK_OK && s.cpus == 4 && s.memory_mb == 7900,
	   "CR LF line ends, a stray first line");
	ok(slurmd(&s, "slurmd-C-thishost.txt") == CPK_OK && s.cpus >= 1 && s.memory_mb >= 1,
	   "this build machine's recorded slurmd -C");
	cpk_nodespec_release(&s);
}

static void test_slurmd_bad(void)
{
	static const struct { const char *file, *want; } bad[] = {
		{ "slurmd-C-bad-mismatch.txt", "CPUs=12 but" },
		{ "slurmd-C-bad-twice.txt", "CPUs given twice" },
		{ "slurmd-C-bad-nonum.txt", "RealMemory=16G is not a number" },
		{ "slurmd-C-bad-huge.txt", "is not a number" },
		{ "slurmd-C-bad-nomem.txt", "lacks RealMemory" },
		{ "slurmd-C-bad-noline.txt", "no line starts with NodeName=" },
		{ "slurmd-C-bad-token.txt", "'garbage' is not KEY=VALUE" },
	};
	struct cpk_nodespec s = CPK_NODESPEC_INIT;
	static const char nul[] = "NodeName=x CPUs=8\0 RealMemory=1\n";
	char *big;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cpk_err_t r = slurmd(&s, bad[i].file);

		ok(r == CPK_ERR_INVALID && strstr(cpk_errmsg(), bad[i].want) && s.cpus == 0,
		   "%s refused: %s", bad[i].file, r ? cpk_errmsg() : "accepted");
	}
	ok(cpk_nodespec_from_slurmd(&s, nul, sizeof(nul) - 1) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "control byte 0x00"), "a NUL byte refused");
	ok(cpk_nodespec_from_slurmd(&s, "NodeName=x CPUs=8 RealMemory=1\x1b[2J\n", 36) ==
	   CPK_ERR_INVALID, "an escape sequence refused");
	ok(cpk_nodespec_from_slurmd(&s, "", 0) == CPK_ERR_INVALID, "empty output refused");
	big = malloc(70000);
	memset(big, ' ', 70000);
	memcpy(big, "NodeName=x CPUs=1 RealMemory=1", 30);
	ok(cpk_nodespec_from_slurmd(&s, big, 70000) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "at most"), "more than 64 KiB refused");
	free(big);
	ok(cpk_nodespec_from_slurmd(&s, "NodeName=x CPUs=0 RealMemory=1", 30) == CPK_ERR_INVALID,
	   "CPUs=0 refused");
	ok(cpk_nodespec_from_slurmd(&s, "NodeName=x CPUs=4 RealMemory=100", 32) == CPK_OK &&
	   s.cpus == 4 && s.sockets == 0, "no topology: CPUs only, topology left to defaults");
	cpk_nodespec_release(&s);
}

static void test_smi(void)
{
	static const struct { const char *file, *type; unsigned n; } good[] = {
		{ "nvidia-smi-h100x8.txt", "h100", 8 },
		{ "nvidia-smi-h200x8.txt", "h200", 8 },
		{ "nvidia-smi-a100x4.txt", "a100", 4 },
		{ "nvidia-smi-rtx4090.txt", "rtx_4090", 1 },
		{ "nvidia-smi-v100.txt", "v100", 2 },
	};
	static const struct { const char *file, *want; } bad[] = {
		{ "nvidia-smi-bad-mixed.txt", "differs from" },
		{ "nvidia-smi-bad-driver.txt", "is not 'NAME, N MiB'" },
		{ "nvidia-smi-bad-mem.txt", "is not 'NAME, N MiB'" },
		{ "nvidia-smi-bad-truncated.txt", "line 2" },
	};
	struct cpk_nodespec s = CPK_NODESPEC_INIT;
	struct cpk_buf many = CPK_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cpk_err_t r = smi(&s, good[i].file);

		ok(r == CPK_OK && s.gpu_count == good[i].n && s.gpu_type &&
		   !strcmp(s.gpu_type, good[i].type), "%s: %u x %s (got %llu x %s)", good[i].file,
		   good[i].n, good[i].type, (unsigned long long)s.gpu_count,
		   s.gpu_type ? s.gpu_type : "-");
	}
	ok(smi(&s, "nvidia-smi-none.txt") == CPK_OK && s.gpu_count == 0 && !s.gpu_type,
	   "'No devices were found': no GPUs");
	ok(cpk_nodespec_gpus_from_nvidia_smi(&s, "", 0) == CPK_OK && s.gpu_count == 0,
	   "no output: no GPUs");
	smi(&s, "nvidia-smi-h200x8.txt");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cpk_err_t r = smi(&s, bad[i].file);

		ok(r == CPK_ERR_INVALID && strstr(cpk_errmsg(), bad[i].want) &&
		   s.gpu_count == 8 && !strcmp(s.gpu_type, "h200"),
		   "%s refused, the spec unchanged: %s", bad[i].file, r ? cpk_errmsg() : "accepted");
	}
	for (i = 0; i < 1025; i++)
		cpk_buf_addstr(&many, "NVIDIA H200, 143771 MiB\n");
	ok(cpk_nodespec_gpus_from_nvidia_smi(&s, many.buf, many.len) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "more than 1024"), "1025 GPUs refused");
	ok(cpk_nodespec_gpus_from_nvidia_smi(&s, "H200\x07, 1 MiB\n", 14) == CPK_ERR_INVALID,
	   "a control byte in a name refused");
	ok(cpk_nodespec_gpus_from_nvidia_smi(&s, "NVIDIA, 1 MiB\n", 14) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "no GPU type"), "a name of vendor words only refused");
	ok(cpk_nodespec_gpus_from_nvidia_smi(&s, "NVIDIA ---, 1 MiB\n", 18) == CPK_ERR_INVALID,
	   "a name that yields no type refused");
	ok(cpk_nodespec_gpus_from_nvidia_smi(&s, "$(rm -rf /), 1 MiB\n", 19) == CPK_ERR_INVALID &&
	   strstr(cpk_errmsg(), "holds a byte"), "a name with shell characters refused");
	cpk_buf_release(&many);
	cpk_nodespec_release(&s);
}

int main(void)
{
	test_slurmd_good();
	test_slurmd_bad();
	test_smi();
	cpk_buf_release(&text);
	return done_testing();
}
