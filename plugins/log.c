/*
 * Slurm's log for cpk_stage.so: one function, by level, "cpk_stage: "
 * before each message (lib/stage reports through it too, see cs_log()).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "plugin.h"

static char last_error[CPK_STAGE_COMMENT_MAX];

static void keep(const char *m)
{
	size_t n = strlen(m);

	if (n >= sizeof(last_error))
		n = sizeof(last_error) - 1;
	memcpy(last_error, m, n);
	last_error[n] = '\0';
}

static void to_slurm(int level, const char *m)
{
	switch (level) {
	case CPK_STAGE_LOG_ERROR:
		keep(m);
		slurm_error("cpk_stage: %s", m);
		break;
	case CPK_STAGE_LOG_WARN:
		slurm_info("cpk_stage: warning: %s", m);
		break;
	case CPK_STAGE_LOG_INFO:
		slurm_info("cpk_stage: %s", m);
		break;
	default:
		slurm_debug("cpk_stage: %s", m);
		break;
	}
}

void cs_say(int level, const char *fmt, ...)
{
	char m[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	to_slurm(level, m);
}

void cs_log(int level, const char *msg, void *arg)
{
	(void)arg;
	to_slurm(level, msg);
}

const char *cs_last_error(void)
{
	return last_error;
}
