/*
 * metrics.h -- the daemon's counters for its metrics (metrics.c): jobs
 * accepted and ended by plugin and final state, queue wait and run time
 * histograms by plugin and pool kind, refusals by error code, the job
 * store's commits.  Layer: the bottom (the layers above tell it what
 * happened); exposition.c writes them out with the gauges it reads from
 * the other modules.  Loop thread.
 */
#ifndef TPD_METRICS_H
#define TPD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpool.pb-c.h"

/* A growing text buffer; mb_failed once an append found no memory. */
struct tpd_mbuf {
	char	*mb_data;	/* owned; NUL-terminated when not failed */
	size_t	mb_len;
	size_t	mb_cap;
	bool	mb_failed;
};
/* Append printf-style (nothing once failed). */
void	tpd_mbuf_printf(struct tpd_mbuf *b, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
/* Append a label value, escaped as the text format asks (\\, \", \n). */
void	tpd_mbuf_label(struct tpd_mbuf *b, const char *value);

/* Forget every counter (a new daemon life in this process: tests). */
void	tpd_metrics_reset(void);

/* A job of plugin was accepted (its submit answered with its id). */
void	tpd_metrics_job_accepted(const char *plugin);
/* A job has its final state: info is its final JobInfo (borrowed). */
void	tpd_metrics_job_ended(const Tpool__JobInfo *info);
/* A request was answered with an error of code. */
void	tpd_metrics_refused(Tpool__ErrorCode code);
/* The job store wrote (ok) or failed to write a transaction that took ns. */
void	tpd_metrics_store_write(uint64_t ns, bool ok);

/*
 * The Gearman worker (gearman.c).  Unlike the rest, these are atomics:
 * gearman.c's slot threads count, any thread reads.
 */
struct tpd_gearman_counts {
	uint32_t	gc_servers;	/* gearmand servers configured */
	uint32_t	gc_slots;	/* Gearman jobs it may hold at once */
	uint32_t	gc_connected;	/* slots whose servers answer now */
	uint32_t	gc_running;	/* slots holding a Gearman job now */
	uint64_t	gc_taken;	/* Gearman jobs taken */
	uint64_t	gc_completed;	/* ... answered WORK_COMPLETE */
	uint64_t	gc_failed;	/* ... answered WORK_FAIL */
	uint64_t	gc_returned;	/* ... handed back to gearmand */
	uint64_t	gc_connect_failures; /* attempts that found no server */
};
enum tpd_gearman_end {
	TPD_GEARMAN_COMPLETED, TPD_GEARMAN_FAILED, TPD_GEARMAN_RETURNED,
};
/* Gearman mode starts: servers and slots configured, none connected. */
void	tpd_metrics_gearman_start(uint32_t servers, uint32_t slots);
/* A slot's servers began (up) or stopped (!up) answering. */
void	tpd_metrics_gearman_up(bool up);
/* A slot's attempt to reach its servers failed. */
void	tpd_metrics_gearman_connect_failed(void);
/* A slot took a Gearman job; it ended as end. */
void	tpd_metrics_gearman_taken(void);
void	tpd_metrics_gearman_ended(enum tpd_gearman_end end);
void	tpd_metrics_gearman_get(struct tpd_gearman_counts *ret);

/* Append the counters and histograms, in the text exposition format. */
void	tpd_metrics_write(struct tpd_mbuf *b);

#endif /* TPD_METRICS_H */
