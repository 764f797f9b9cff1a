/*
 * log.c -- the daemon's log: lines on stderr.  When stderr is the journal
 * ($JOURNAL_STREAM names its device and inode, as systemd sets it for a
 * service), each line starts with its syslog priority as "<N>", the form
 * journald classifies; anywhere else (a terminal, a file) lines are plain
 * text, errors and warnings marked "error: " and "warning: ".  Verbosity:
 * 1 adds debug lines, -1 keeps only errors (for fuzz targets and
 * in-process tests).  No timestamps: journald adds them.  One write(2)
 * per line, so lines from worker threads do not interleave.
 *
 * log_journal is written by tpd_log_init() (main, before any thread) and
 * only read afterwards.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define	LOG_LINE_MAX	1024

static int log_verbose;
static int log_journal = -1;	/* stderr is the journal: 1; not: 0;
				 *    -1 unknown */

void
tpd_log_init(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	log_journal = js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev ==
	    dev && (unsigned long long)st.st_ino == ino;
}

bool
tpd_log_to_journal(void)
{
	if (log_journal < 0)
		tpd_log_init();
	return log_journal == 1;
}

/* The start of a line of priority prio, off the journal. */
static const char *
log_plain_prefix(int prio)
{
	if (prio <= LOG_ERR)
		return "error: ";
	if (prio == LOG_WARNING)
		return "warning: ";
	if (prio == LOG_DEBUG)
		return "debug: ";
	return "";
}

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
	if (tpd_log_to_journal())
		n = snprintf(line, sizeof(line), "<%d>", prio & LOG_PRIMASK);
	else
		n = snprintf(line, sizeof(line), "%s",
		    log_plain_prefix(prio & LOG_PRIMASK));
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

/* The wall clock minus the monotonic time now (already read). */
static int64_t
wall_offset(uint64_t now)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)((uint64_t)ts.tv_sec * 1000000000u +
	    (uint64_t)ts.tv_nsec) - (int64_t)now;
}

int64_t
tpd_wall_offset_ns(void)
{
	return wall_offset(tpd_now_ns());
}

int64_t
tpd_wall_offset_at(uint64_t now)
{
	/* Each thread's own copy: no lock, no sharing. */
	static __thread int64_t off;	/* t */
	static __thread uint64_t at;	/* t: 0: never read */

	/* A time before the last reading (a job's end) finds it fresh. */
	if (at == 0 || (now > at && now - at >= TPD_WALL_OFFSET_AGE_NS)) {
		at = tpd_now_ns();
		off = wall_offset(at);
	}
	return off;
}
