/*
 * fairq.c -- users take turns in each pool (see fairq.h).
 *
 * For each libtp pool with jobs (struct fq_pool, made on its first job,
 * freed with its last): a record per user with jobs there (struct
 * fq_user: the jobs it has waiting, first in first out, and how many
 * libtp has of its), the ring of users with jobs waiting, and the jobs
 * libtp has, oldest first.  libtp gets at most the pool's cap
 * (--max-threads) plus FQ_AHEAD_SHARED jobs while several users have jobs
 * in the pool, plus FQ_AHEAD_ALONE while one has; a job's end (or its
 * cancellation) gives its place to the user at the head of the ring, who
 * goes to the back (the ends the loop takes in as a batch, at its end).
 * A user that libtp has no job of joins the ring at its head: the least
 * served goes first.
 *
 * Taking back: when a second user's first job comes to a pool where libtp
 * has more than the shared allowance, the newest jobs handed that have not
 * started are cancelled in libtp (threadpool_cancel_job_async() true: off
 * its queue, never run) and put back at the head of their user's queue, in
 * their order.  A job that libtp's worker took meanwhile says false and
 * stays handed.
 *
 * Threads in all: a pool with fewer jobs handed than its cap may need a
 * thread for the next; the sum of min(handed, cap) over the pools is what
 * may be busy at once, and --max-running bounds it.  A pool that could
 * hand a job but for that bound waits on fq_blocked; a job's end that
 * frees a thread serves, one job at a time, the waiting pool whose next
 * user has the fewest jobs handed in all pools (struct fq_total; the
 * first in line among equals): users, not pools, take turns for the
 * threads of --max-running, so one user spreading jobs over many pools
 * gets no more of them than another.  And a user with no job handed
 * anywhere may always have one, past the bound: one user's long jobs
 * never keep another's first job from starting (the bound stays within
 * one job per user with work).  (Jobs handed beyond a pool's cap wait in
 * libtp for one of its threads: they add none.)
 *
 * Everything here is the loop thread's (l).
 */
#include "config.h"

#include <sys/queue.h>

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "fairq.h"
#include "job_impl.h"
#include "log.h"
#include "options.h"

/*
 * Jobs libtp may hold beyond its threads: several users / one user.  Alone,
 * enough that the workers do not run the pool dry while the loop takes in
 * a batch of ends: with 256, pipelined null jobs went idle and woke the
 * workers, and slept on the pool's lock, about every batch (bench_tpoold
 * --pipeline).  A second user's arrival takes back at most this many: a
 * bounded burst of the loop's time.
 *
 * The places a batch of ends gives are handed on after the batch, all at
 * once (tpd_fq_hold()): handed one end at a time, each between two ends'
 * work, a stream of jobs faster than the loop's work on their ends came to
 * libtp as single jobs, each waking an idle worker for itself (0.12 worker
 * sleeps a pipelined null job, 0.045-0.06 handed after the batch).
 */
#define	FQ_AHEAD_SHARED	1u
#define	FQ_AHEAD_ALONE	1024u

TAILQ_HEAD(fq_jobs, tpd_job);

struct fq_pool;

/* A user's jobs in one pool.  All fields l. */
struct fq_user {
	LIST_ENTRY(fq_user)	fu_entry;	/* on its pool's fp_users */
	TAILQ_ENTRY(fq_user)	fu_ringent;	/* on fp_ring, when waiting */
	struct fq_pool		*fu_pool;
	uid_t			fu_uid;
	struct fq_jobs		fu_waiting;	/* first in, first out */
	unsigned int		fu_nwaiting;
	unsigned int		fu_nhanded;	/* of fp_handed */
};

/* A pool with jobs.  All fields l. */
struct fq_pool {
	LIST_ENTRY(fq_pool)	fp_entry;
	struct threadpool	*fp_pool;
	LIST_HEAD(, fq_user)	fp_users;	/* with jobs here */
	unsigned int		fp_nusers;
	TAILQ_HEAD(, fq_user)	fp_ring;	/* with jobs waiting */
	struct fq_jobs		fp_handed;	/* libtp's, oldest first */
	unsigned int		fp_nhanded;
	TAILQ_ENTRY(fq_pool)	fp_blockent;	/* on fq_blocked */
	bool			fp_blocked;
	bool			fp_owed;	/* an end's place, held */
};

static LIST_HEAD(, fq_pool) fq_pools = LIST_HEAD_INITIALIZER(fq_pools);
static TAILQ_HEAD(, fq_pool) fq_blocked = TAILQ_HEAD_INITIALIZER(fq_blocked);
						/* l: waiting for a thread
						 *    of --max-running */
static unsigned int fq_nwaiting;		/* l: in all pools */
static bool fq_holding;				/* l: tpd_fq_hold() */
static bool fq_owed;				/* l: a pool's fp_owed is set */

/* A user's jobs handed to libtp, in all pools.  All fields l. */
struct fq_total {
	LIST_ENTRY(fq_total)	ft_entry;
	uid_t			ft_uid;
	unsigned int		ft_nhanded;
};
#define	FQ_TOTAL_BUCKETS	64u
static LIST_HEAD(, fq_total) fq_totals[FQ_TOTAL_BUCKETS];	/* l */
static unsigned int fq_busy;			/* l: sum of min(handed,
						 *    cap) */

/* A pool's thread cap; UINT_MAX: none. */
static unsigned int
fq_cap(void)
{
	return tpd_opt.o_max_threads != 0 ? tpd_opt.o_max_threads : UINT_MAX;
}

/* uid's jobs handed in all pools. */
static unsigned int
fq_total_of(uid_t uid)
{
	struct fq_total *ft;

	LIST_FOREACH(ft, &fq_totals[uid % FQ_TOTAL_BUCKETS], ft_entry)
		if (ft->ft_uid == uid)
			return ft->ft_nhanded;
	return 0;
}

/*
 * uid's count goes up (+1) or down (-1); its record is freed at 0.  Out
 * of memory for a record, the user just counts as having none.
 */
static void
fq_total_add(uid_t uid, int delta)
{
	struct fq_total *ft;

	LIST_FOREACH(ft, &fq_totals[uid % FQ_TOTAL_BUCKETS], ft_entry)
		if (ft->ft_uid == uid)
			break;
	if (delta > 0) {
		if (ft == NULL) {
			if ((ft = calloc(1, sizeof(*ft))) == NULL)
				return;
			ft->ft_uid = uid;
			LIST_INSERT_HEAD(&fq_totals[uid % FQ_TOTAL_BUCKETS], ft,
			    ft_entry);
		}
		ft->ft_nhanded++;
	} else if (ft != NULL && --ft->ft_nhanded == 0) {
		LIST_REMOVE(ft, ft_entry);
		free(ft);
	}
}

/* fp's handed count goes up (+1) or down (-1): keep fq_busy. */
static void
fq_handed_add(struct fq_pool *fp, int delta)
{
	if (delta > 0) {
		if (fp->fp_nhanded++ < fq_cap())
			fq_busy++;
	} else {
		if (--fp->fp_nhanded < fq_cap())
			fq_busy--;
	}
}

static void
fq_unblock(struct fq_pool *fp)
{
	if (fp->fp_blocked) {
		TAILQ_REMOVE(&fq_blocked, fp, fp_blockent);
		fp->fp_blocked = false;
	}
}

static struct fq_pool *
fq_pool_get(struct threadpool *pool)
{
	struct fq_pool *fp;

	LIST_FOREACH(fp, &fq_pools, fp_entry)
		if (fp->fp_pool == pool)
			return fp;
	if ((fp = calloc(1, sizeof(*fp))) == NULL)
		return NULL;
	fp->fp_pool = pool;
	LIST_INIT(&fp->fp_users);
	TAILQ_INIT(&fp->fp_ring);
	TAILQ_INIT(&fp->fp_handed);
	LIST_INSERT_HEAD(&fq_pools, fp, fp_entry);
	return fp;
}

static struct fq_user *
fq_user_find(struct fq_pool *fp, uid_t uid)
{
	struct fq_user *fu;

	LIST_FOREACH(fu, &fp->fp_users, fu_entry)
		if (fu->fu_uid == uid)
			return fu;
	return NULL;
}

static struct fq_user *
fq_user_get(struct fq_pool *fp, uid_t uid)
{
	struct fq_user *fu;

	if ((fu = fq_user_find(fp, uid)) != NULL)
		return fu;
	if ((fu = calloc(1, sizeof(*fu))) == NULL)
		return NULL;
	fu->fu_pool = fp;
	fu->fu_uid = uid;
	TAILQ_INIT(&fu->fu_waiting);
	LIST_INSERT_HEAD(&fp->fp_users, fu, fu_entry);
	fp->fp_nusers++;
	return fu;
}

/* Free a user's record with its last job there, a pool's with its last. */
static void
fq_user_maybe_free(struct fq_user *fu)
{
	struct fq_pool *fp = fu->fu_pool;

	if (fu->fu_nwaiting > 0 || fu->fu_nhanded > 0)
		return;
	LIST_REMOVE(fu, fu_entry);
	fp->fp_nusers--;
	free(fu);
	if (fp->fp_nusers == 0) {
		fq_unblock(fp);
		LIST_REMOVE(fp, fp_entry);
		free(fp);
	}
}

/* How many jobs libtp may hold in fp now. */
static unsigned int
fq_allowance(const struct fq_pool *fp)
{
	if (tpd_opt.o_max_threads == 0)
		return UINT_MAX;
	return tpd_opt.o_max_threads + (fp->fp_nusers > 1 ? FQ_AHEAD_SHARED :
	    FQ_AHEAD_ALONE);
}

/* May fp be handed one more job of fu now?  Says so on fq_blocked when
 * only --max-running stops it. */
static bool
fq_room(struct fq_pool *fp, const struct fq_user *fu)
{
	if (fp->fp_nhanded >= fq_allowance(fp))
		return false;
	if (fp->fp_nhanded >= fq_cap() || tpd_opt.o_max_running == 0 ||
	    fq_busy < tpd_opt.o_max_running || fq_total_of(fu->fu_uid) == 0)
		return true;
	if (!fp->fp_blocked) {
		TAILQ_INSERT_TAIL(&fq_blocked, fp, fp_blockent);
		fp->fp_blocked = true;
	}
	return false;
}

/* Give job to libtp.  The worker it is handed to is woken after the job
 * lock is released: woken on the loop's CPU, it would otherwise preempt the
 * loop in the wakeup and then sleep on the lock to end a short job. */
static void
fq_schedule(struct tpd_job *job)
{
	(void)pthread_mutex_lock(&job->j_lock);
	threadpool_schedule_job_unlock(job->j_pool, &job->j_tpjob);
	job->j_scheduled = true;
}

static void
fq_hand(struct fq_pool *fp, struct fq_user *fu, struct tpd_job *job)
{
	job->j_fq = TPD_FQ_HANDED;
	job->j_fquser = fu;
	TAILQ_INSERT_TAIL(&fp->fp_handed, job, j_fqent);
	fq_handed_add(fp, 1);
	fu->fu_nhanded++;
	fq_total_add(fu->fu_uid, 1);
	fq_schedule(job);
}

/* Hand libtp up to max jobs of fp while it has room, the users in turn;
 * how many were handed. */
static unsigned int
fq_fill(struct fq_pool *fp, unsigned int max)
{
	struct fq_user *fu;
	struct tpd_job *job;
	unsigned int n = 0;

	while (n < max && (fu = TAILQ_FIRST(&fp->fp_ring)) != NULL &&
	    fq_room(fp, fu)) {
		job = TAILQ_FIRST(&fu->fu_waiting);
		TAILQ_REMOVE(&fu->fu_waiting, job, j_fqent);
		fu->fu_nwaiting--;
		fq_nwaiting--;
		TAILQ_REMOVE(&fp->fp_ring, fu, fu_ringent);
		if (fu->fu_nwaiting > 0)
			TAILQ_INSERT_TAIL(&fp->fp_ring, fu, fu_ringent);
		fq_hand(fp, fu, job);
		n++;
	}
	return n;
}

/*
 * The waiting pool to serve next: the one whose next user has the fewest
 * jobs handed in all pools, the first in line among equals.  NULL if none
 * waits.
 */
static struct fq_pool *
fq_blocked_next(void)
{
	struct fq_pool *fp, *best = NULL;
	unsigned int n, least = UINT_MAX;

	TAILQ_FOREACH(fp, &fq_blocked, fp_blockent) {
		if (TAILQ_EMPTY(&fp->fp_ring)) {
			n = UINT_MAX - 1;	/* nothing to hand: last */
		} else if ((n = fq_total_of(TAILQ_FIRST(&fp->fp_ring)->fu_uid))
		    == 0) {
			return fp;
		}
		if (n < least) {
			least = n;
			best = fp;
		}
	}
	return best;
}

/* Threads came free under --max-running: the users waiting for one take
 * turns (the file's comment), a job each. */
static void
fq_fill_blocked(void)
{
	struct fq_pool *fp;

	while ((tpd_opt.o_max_running == 0 ||
	    fq_busy < tpd_opt.o_max_running) &&
	    (fp = fq_blocked_next()) != NULL) {
		fq_unblock(fp);
		if (fq_fill(fp, 1) == 1 && !TAILQ_EMPTY(&fp->fp_ring) &&
		    !fp->fp_blocked) {
			/* Back in line: the others go first. */
			TAILQ_INSERT_TAIL(&fq_blocked, fp, fp_blockent);
			fp->fp_blocked = true;
		}
	}
}

/*
 * Hand fp what it may have now: jobs beyond its cap always (they need no
 * thread of --max-running), and the first job of a user with none handed
 * anywhere; others unless pools wait in line for a thread (then fp joins
 * the line).
 */
static void
fq_fill_or_queue(struct fq_pool *fp)
{
	struct fq_user *fu;

	if (fp->fp_nhanded >= fq_cap() ||
	    (!fp->fp_blocked && TAILQ_EMPTY(&fq_blocked))) {
		(void)fq_fill(fp, UINT_MAX);
		return;
	}
	/* A user with no job handed anywhere does not wait in line. */
	while ((fu = TAILQ_FIRST(&fp->fp_ring)) != NULL &&
	    fq_total_of(fu->fu_uid) == 0 && fq_fill(fp, 1) == 1)
		continue;
	if (!fp->fp_blocked && !TAILQ_EMPTY(&fp->fp_ring)) {
		TAILQ_INSERT_TAIL(&fq_blocked, fp, fp_blockent);
		fp->fp_blocked = true;
	}
}

/* Put job at the head (first) or the tail of its user's queue. */
static void
fq_wait(struct fq_pool *fp, struct fq_user *fu, struct tpd_job *job,
    bool first)
{
	job->j_fq = TPD_FQ_WAITING;
	job->j_fquser = fu;
	if (first)
		TAILQ_INSERT_HEAD(&fu->fu_waiting, job, j_fqent);
	else
		TAILQ_INSERT_TAIL(&fu->fu_waiting, job, j_fqent);
	/* A user libtp has nothing of is served next, before the others. */
	if (fu->fu_nwaiting++ == 0) {
		if (fu->fu_nhanded == 0)
			TAILQ_INSERT_HEAD(&fp->fp_ring, fu, fu_ringent);
		else
			TAILQ_INSERT_TAIL(&fp->fp_ring, fu, fu_ringent);
	}
	fq_nwaiting++;
}

/*
 * Take back from libtp the newest handed jobs that have not started, down
 * to the shared allowance (the file's comment).
 */
static void
fq_take_back(struct fq_pool *fp)
{
	struct tpd_job *job, *prev;
	struct fq_user *fu;
	unsigned int taken = 0;
	bool off;

	for (job = TAILQ_LAST(&fp->fp_handed, fq_jobs);
	    job != NULL && fp->fp_nhanded > fq_allowance(fp); job = prev) {
		prev = TAILQ_PREV(job, fq_jobs, j_fqent);
		if (job->j_started)
			break;		/* the older ones have started too */
		(void)pthread_mutex_lock(&job->j_lock);
		off = threadpool_cancel_job_async(job->j_pool, &job->j_tpjob) &&
		    job->j_outcome == TPOOL__JOB_STATE__JOB_STATE_UNSPECIFIED;
		(void)pthread_mutex_unlock(&job->j_lock);
		if (!off)
			continue;	/* a worker has it */
		fu = job->j_fquser;
		TAILQ_REMOVE(&fp->fp_handed, job, j_fqent);
		fq_handed_add(fp, -1);
		fu->fu_nhanded--;
		fq_total_add(fu->fu_uid, -1);
		job->j_scheduled = false;
		fq_wait(fp, fu, job, true);
		taken++;
	}
	if (taken > 0)
		tpd_debug("took %u jobs back from a pool for users to take "
		    "turns", taken);
}

void
tpd_fq_submit(struct tpd_job *job)
{
	struct fq_pool *fp;
	struct fq_user *fu;
	bool newcomer;

	job->j_fq = TPD_FQ_NONE;
	/* No cap (or no memory for the turns): straight to libtp. */
	if ((tpd_opt.o_max_threads == 0 && tpd_opt.o_max_running == 0) ||
	    (fp = fq_pool_get(job->j_pool)) == NULL) {
		fq_schedule(job);
		return;
	}
	newcomer = fq_user_find(fp, job->j_uid) == NULL;
	if ((fu = fq_user_get(fp, job->j_uid)) == NULL) {
		if (fp->fp_nusers == 0) {
			LIST_REMOVE(fp, fp_entry);
			free(fp);
		}
		fq_schedule(job);
		return;
	}
	if (newcomer && fp->fp_nusers == 2)
		fq_take_back(fp);
	fq_wait(fp, fu, job, false);
	fq_fill_or_queue(fp);
}

bool
tpd_fq_cancel(struct tpd_job *job)
{
	struct fq_user *fu = job->j_fquser;

	if (job->j_fq != TPD_FQ_WAITING)
		return false;
	TAILQ_REMOVE(&fu->fu_waiting, job, j_fqent);
	fq_nwaiting--;
	if (--fu->fu_nwaiting == 0)
		TAILQ_REMOVE(&fu->fu_pool->fp_ring, fu, fu_ringent);
	job->j_fq = TPD_FQ_NONE;
	job->j_fquser = NULL;
	fq_user_maybe_free(fu);
	return true;
}

void
tpd_fq_ended(struct tpd_job *job)
{
	struct fq_user *fu = job->j_fquser;
	struct fq_pool *fp;

	if (job->j_fq != TPD_FQ_HANDED)
		return;
	fp = fu->fu_pool;
	TAILQ_REMOVE(&fp->fp_handed, job, j_fqent);
	fq_handed_add(fp, -1);
	fu->fu_nhanded--;
	fq_total_add(fu->fu_uid, -1);
	job->j_fq = TPD_FQ_NONE;
	job->j_fquser = NULL;
	fq_user_maybe_free(fu);
	/* The pool may be gone with its last job; else the next in turn. */
	LIST_FOREACH(fp, &fq_pools, fp_entry)
		if (fp->fp_pool == job->j_pool)
			break;
	if (fq_holding) {
		/* At tpd_fq_release(), with the batch's other ends. */
		if (fp != NULL)
			fp->fp_owed = true;
		fq_owed = true;
		return;
	}
	if (fp != NULL)
		fq_fill_or_queue(fp);
	fq_fill_blocked();
}

void
tpd_fq_hold(void)
{
	fq_holding = true;
}

void
tpd_fq_release(void)
{
	struct fq_pool *fp;

	fq_holding = false;
	if (!fq_owed)
		return;
	fq_owed = false;
	LIST_FOREACH(fp, &fq_pools, fp_entry)
		if (fp->fp_owed) {
			fp->fp_owed = false;
			fq_fill_or_queue(fp);
		}
	fq_fill_blocked();
}

unsigned int
tpd_fq_waiting(void)
{
	return fq_nwaiting;
}

unsigned int
tpd_fq_waiting_in(const struct threadpool *pool)
{
	const struct fq_user *fu;
	const struct fq_pool *fp;
	unsigned int n = 0;

	LIST_FOREACH(fp, &fq_pools, fp_entry)
		if (fp->fp_pool == pool) {
			LIST_FOREACH(fu, &fp->fp_users, fu_entry)
				n += fu->fu_nwaiting;
			break;
		}
	return n;
}
