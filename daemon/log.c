/*
 * log.c -- the daemon's log: lines on stderr, each prefixed with its syslog
 * priority as "<N>", the form journald (and systemd's stderr capture)
 * classifies.  Verbosity: 1 adds debug lines, -1 keeps only errors (for
 * fuzz targets and in-process tests).  No timestamps: journald adds them.
 * One write(2) per line,
 * so lines from worker threads do not interleave.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define	LOG_LINE_MAX	1024

static int log_verbose;

void
tpd_log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

bool
tpd_log_debug_enabled(void)
{
	return log_verbose > 0;
}

void
tpd_logv(int prio, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int n, m;
	size_t len, i;

	if (prio == LOG_DEBUG && log_verbose <= 0)
		return;
	/* Quiet (tests, fuzz targets): errors only. */
	if (log_verbose < 0 && (prio & LOG_PRIMASK) > LOG_ERR)
		return;
	n = snprintf(line, sizeof(line), "<%d>", prio & LOG_PRIMASK);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	/* Names from clients end up here: keep each log entry one line. */
	for (i = (size_t)n; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[len++] = '\n';
	/* Nothing sensible to do when stderr fails. */
	(void)!write(STDERR_FILENO, line, len);
}

void
tpd_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tpd_logv(prio, fmt, ap);
	va_end(ap);
}

uint64_t tpd_start_ns;

uint64_t
tpd_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t
tpd_wall_offset_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)((uint64_t)ts.tv_sec * 1000000000u +
	    (uint64_t)ts.tv_nsec) - (int64_t)tpd_now_ns();
}
