/*
 * log.h -- the bottom of the daemon: its log and its clock (log.c).
 * Every other file may call these; they call nothing of the daemon.
 */
#ifndef TPD_LOG_H
#define TPD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

/*
 * Log a line to stderr: with its syslog priority as a "<N>" prefix, which
 * journald reads, when stderr is the journal; else plain, errors and
 * warnings marked.  LOG_DEBUG only with -v (verbose 1); verbose -1 keeps
 * only LOG_ERR and worse.  Thread-safe (one write(2)).
 */
void	tpd_log(int prio, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
void	tpd_logv(int prio, const char *fmt, va_list ap)
	    __attribute__((__format__(__printf__, 2, 0)));
void	tpd_log_set_verbose(int verbose);
/* Find out whether stderr is the journal ($JOURNAL_STREAM): main, first. */
void	tpd_log_init(void);
/* Is it?  (Found out on first use if tpd_log_init() was not called.) */
bool	tpd_log_to_journal(void);
bool	tpd_log_debug_enabled(void);

#define	tpd_err(...)	tpd_log(LOG_ERR, __VA_ARGS__)
#define	tpd_warn(...)	tpd_log(LOG_WARNING, __VA_ARGS__)
#define	tpd_notice(...)	tpd_log(LOG_NOTICE, __VA_ARGS__)
#define	tpd_info(...)	tpd_log(LOG_INFO, __VA_ARGS__)
#define	tpd_debug(...)	do {						\
	if (tpd_log_debug_enabled())					\
		tpd_log(LOG_DEBUG, __VA_ARGS__);			\
} while (0)

/* CLOCK_MONOTONIC in nanoseconds.  Any thread. */
uint64_t tpd_now_ns(void);

/*
 * The wall clock (CLOCK_REALTIME, ns since the epoch) minus tpd_now_ns(),
 * now: add it to a tpd_now_ns() time for that moment's wall-clock time,
 * as the wall clock reads today (a clock set since moves it too).  Any
 * thread.
 */
int64_t	tpd_wall_offset_ns(void);

/*
 * The same, for a caller that asks often, with a recent tpd_now_ns() time
 * (now: just read, or a job's end): it is read again when now is
 * TPD_WALL_OFFSET_AGE_NS past the last reading in this thread.  A caller
 * whose times may all be older than that reading (the loop: job infos)
 * also calls it with a fresh time every second (the loop's reap), so
 * that a wall clock set since shows within two seconds.  Any thread.
 */
#define	TPD_WALL_OFFSET_AGE_NS	1000000000u	/* 1 s */
int64_t	tpd_wall_offset_at(uint64_t now);

/* When the daemon was last set up (tpd_now_ns()); the loop sets it. */
extern uint64_t tpd_start_ns;

#endif /* TPD_LOG_H */
