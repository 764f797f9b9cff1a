/*
 * fairq.h -- users take turns in each pool (fairq.c).  Layer: the job
 * table, below jobs.c; calls libtp, options and the log.  Loop thread.
 *
 * A libtp pool is one FIFO: a user who queues many long jobs would make
 * everyone else's wait behind them.  So the daemon keeps the jobs of each
 * pool in a queue per user in front of it, and hands libtp only as many
 * as the pool has threads (--max-threads) plus a little, taking the users
 * in turn (round robin; first in, first out within a user).  While one
 * user alone has work in a pool, libtp gets more ahead (a stream of short
 * jobs then never waits for the loop); when a second user's job comes,
 * the jobs handed ahead that have not started are taken back from libtp
 * (threadpool_cancel_job_async: they will not run) and wait their turn.
 * A pool without a thread cap gives every job a thread: its jobs go
 * straight to libtp.  The threads of all pools together (--max-running)
 * go to the users in turn as well, and a user with no job handed
 * anywhere may always have one.
 */
#ifndef TPD_FAIRQ_H
#define TPD_FAIRQ_H

#include <stdbool.h>

struct tpd_job;

/* Queue a new job (its pool, uid and lock are set): it is handed to libtp
 * now or when its user's turn comes. */
void	tpd_fq_submit(struct tpd_job *job);
/*
 * Take job out if it waits here (never handed, or taken back): true, and
 * it will never run.  False when libtp has it (or it is not queued here).
 */
bool	tpd_fq_cancel(struct tpd_job *job);
/* A job libtp had has ended (or libtp let go of it unrun): its place goes
 * to the next in turn.  Nothing for a job that was never handed. */
void	tpd_fq_ended(struct tpd_job *job);
/*
 * The loop takes in a batch of ends: from tpd_fq_hold() to
 * tpd_fq_release() the places they give are handed on at the release,
 * all at once, not one end at a time (so libtp's workers are woken for
 * a burst of jobs, not for each).  Not nested.
 */
void	tpd_fq_hold(void);
void	tpd_fq_release(void);
/* How many jobs wait here, in all pools (for Stats). */
unsigned int tpd_fq_waiting(void);
/* In pool's turns alone (for a deadline's estimate). */
struct threadpool;
unsigned int tpd_fq_waiting_in(const struct threadpool *pool);

#endif /* TPD_FAIRQ_H */
