/*
 * stage_spawn UID GID WORKDIR TIMEOUT PROGRAM [ARG...]: runs PROGRAM through
 * cpk_stage_spawn() (as the plugin does from root) and prints "exit N",
 * "signal N" or "error: MESSAGE" (then "stopped" if the time limit hit).
 * Exits 0 when the spawn call itself succeeded, else 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "cpk/stage.h"

int main(int argc, char **argv)
{
	struct cpk_stage_spawn s = { 0 };
	int status = -1;
	cpk_err_t e;

	if (argc < 6) {
		fprintf(stderr, "usage: stage_spawn UID GID WORKDIR TIMEOUT PROGRAM [ARG...]\n");
		return 2;
	}
	s.uid = (uid_t)strtoul(argv[1], NULL, 10);
	s.gid = (gid_t)strtoul(argv[2], NULL, 10);
	s.workdir = argv[3];
	s.timeout_s = (unsigned)strtoul(argv[4], NULL, 10);
	s.argv = argv + 5;
	s.err_fd = -1;
	e = cpk_stage_spawn(&s, &status);
	fflush(stdout);
	if (e && e != CPK_ERR_INTERRUPTED) {
		printf("error: %s\n", cpk_errmsg());
		return 1;
	}
	if (WIFEXITED(status))
		printf("exit %d\n", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		printf("signal %d\n", WTERMSIG(status));
	if (e)
		printf("stopped: %s\n", cpk_errmsg());
	return e ? 1 : 0;
}
