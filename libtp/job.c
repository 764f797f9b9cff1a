/*
 * job.c -- jobs: initialisation and destruction, reference counting,
 * scheduling, cancellation and the end of a run.
 *
 * A job's state is job_thread:
 *
 *	NULL			not scheduled (never, done, or cancelled)
 *	&pool->tp_overseer	queued on pool->tp_jobs, or pushed on the
 *				pool's incoming list (pool == job_pool)
 *	a worker		handed to that worker, or running on it
 *
 * Transitions, and the locks they hold:
 *
 *	NULL -> queued, NULL -> worker	schedule	job lock + pool lock
 *	NULL -> queued (pushed)		schedule	job lock (tp_push_ok)
 *	queued -> worker		claim		pool lock (thread.c)
 *	queued (pushed) -> worker	claim		tp_in_lock (thread.c)
 *	queued -> NULL			cancel		job lock + pool lock
 *	worker -> NULL			job_done	job lock
 *
 * So under the job lock alone, NULL and non-NULL are stable, and "queued"
 * may turn into "worker" at any time: cancel takes the pool lock and looks
 * again before it unlinks a job.  Queue membership only ever changes under
 * the pool lock, with job_thread rechecked there, so no job can be unlinked
 * twice (the race NetBSD fixed in revision 1.23).  job_thread is read and
 * written with relaxed atomics because the claim writes it without the job
 * lock.  Pushed jobs are moved to tp_jobs by whoever looks at the queue
 * under the pool lock (pool_take_incoming_locked: the overseer, cancel,
 * stats, a worker going idle), or popped by a busy worker; a pushed job
 * is never unlinked from tp_jobs before it was moved there (tqe_prev is
 * NULL until then).
 *
 * job_refcnt counts the workers' holds for a run, so that
 * threadpool_job_destroy() can wait until no thread looks at the job.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "tp_impl.h"

/*
 * The job's name from fmt and ap.  A plain name or "%s" (the common cases:
 * a job named after what it runs) is copied without vsnprintf(3), which
 * costs more than the rest of threadpool_job_init together; the result is
 * what vsnprintf writes, cut to the buffer alike.
 */
static void
job_set_name(struct threadpool_job *job, const char *fmt, va_list ap)
{
	const char *src = NULL;
	size_t len;

	if (fmt[0] == '%' && fmt[1] == 's' && fmt[2] == '\0') {
		if ((src = va_arg(ap, const char *)) == NULL)
			src = "(null)";	/* as glibc's printf */
	} else if (strchr(fmt, '%') == NULL)
		src = fmt;
	if (src == NULL) {
		(void)vsnprintf(job->job_name, sizeof(job->job_name), fmt, ap);
		return;
	}
	len = strnlen(src, sizeof(job->job_name) - 1);
	memcpy(job->job_name, src, len);
	job->job_name[len] = '\0';
}

static void
job_dead(struct threadpool_job *job)
{
	tp_panic(__func__, "job %p ran after threadpool_job_destroy", (void *)job);
}

TP_EXPORT void
threadpool_job_init(struct threadpool_job *job, threadpool_job_fn_t *fn,
    pthread_mutex_t *lock, const char *fmt, ...)
{
	va_list ap;
	int error;

	va_start(ap, fmt);
	job_set_name(job, fmt, ap);
	va_end(ap);

	job->job_lock = lock;
	job_set_thread(job, NULL);
	job->job_pool = NULL;
	job->job_refcnt = 0;
	job->job_destroying = false;
	job->job_fn = fn;
	error = pthread_cond_init(&job->job_cv, NULL);
	TP_ASSERT(error == 0, "job '%s': pthread_cond_init: %s", job->job_name,
	    strerror(error));
}

TP_EXPORT void
threadpool_job_destroy(struct threadpool_job *job)
{
	struct timespec deadline;
	int ocs;

	TP_ASSERT(job->job_fn != job_dead, "job %p destroyed twice", (void *)job);
	TP_ASSERT(tp_curthread == NULL || tp_curthread->tpt_running != job,
	    "job '%s' destroyed from inside its own function: it would wait for "
	    "itself forever", job->job_name);
	TP_ASSERT(job_thread(job) == NULL || job->job_pool == NULL ||
	    job->job_pool->tp_gen == tp_gen(), "job '%s' destroyed in the child "
	    "of a fork() while it was scheduled in the parent", job->job_name);
	TP_ASSERT(job_thread(job) == NULL,
	    "job '%s' destroyed while scheduled or running", job->job_name);

	/*
	 * Nobody holds it (the usual case: its last run ended long ago): a
	 * worker's last touch was the release that brought the count to 0
	 * (job_rele), and no new reference can come while it is not
	 * scheduled, so there is nothing to wait for, nor a lock to take.
	 * (So a caller that schedules it from another thread meanwhile, a
	 * contract violation, is caught by the check above or not at all.)
	 */
	if (__atomic_load_n(&job->job_refcnt, __ATOMIC_ACQUIRE) == 0)
		goto dead;

	/*
	 * Wait for the last worker to let go of it.  job_rele() broadcasts
	 * when it sees job_destroying; the short timed wait covers a release
	 * that decided just before we set it.
	 */
	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &ocs);
	(void)pthread_mutex_lock(job->job_lock);
	while (__atomic_load_n(&job->job_refcnt, __ATOMIC_ACQUIRE) > 0) {
		__atomic_store_n(&job->job_destroying, true, __ATOMIC_SEQ_CST);
		(void)clock_gettime(CLOCK_REALTIME, &deadline);
		if ((deadline.tv_nsec += 1000000) >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&job->job_cv, job->job_lock,
		    &deadline);
	}
	TP_ASSERT(job_thread(job) == NULL,
	    "job '%s' scheduled again while being destroyed", job->job_name);
	(void)pthread_mutex_unlock(job->job_lock);
	(void)pthread_setcancelstate(ocs, NULL);

dead:
	(void)pthread_cond_destroy(&job->job_cv);
	job->job_lock = NULL;
	job->job_fn = job_dead;
	(void)strcpy(job->job_name, "deadjob");
}

/*
 * Take a reference.  EBUSY if the count is saturated (the caller retries
 * later).  Any lock or none.
 */
int
job_hold(struct threadpool_job *job)
{
	unsigned int refcnt = __atomic_load_n(&job->job_refcnt, __ATOMIC_RELAXED);

	do {
		if (refcnt == UINT_MAX)
			return EBUSY;
	} while (!__atomic_compare_exchange_n(&job->job_refcnt, &refcnt,
	    refcnt + 1, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	return 0;
}

/*
 * Drop a reference.  The decrement is the last thing we do to the job:
 * once the count is 0 threadpool_job_destroy() may return and the owner
 * free the job.  Only when a destroyer is waiting is the last reference
 * dropped under the job lock, to wake it.  Neither the job lock nor a pool
 * lock may be held.  May sleep (on the job lock).
 */
void
job_rele(struct threadpool_job *job)
{
	unsigned int refcnt;

	if (__builtin_expect(__atomic_load_n(&job->job_destroying,
	    __ATOMIC_SEQ_CST), 0)) {
		(void)pthread_mutex_lock(job->job_lock);
		refcnt = __atomic_sub_fetch(&job->job_refcnt, 1, __ATOMIC_RELEASE);
		TP_ASSERT(refcnt != UINT_MAX, "job '%s' reference count "
		    "underflow", job->job_name);
		if (refcnt == 0)
			(void)pthread_cond_broadcast(&job->job_cv);
		(void)pthread_mutex_unlock(job->job_lock);
		return;
	}
	refcnt = __atomic_sub_fetch(&job->job_refcnt, 1, __ATOMIC_RELEASE);
	/* The job may be gone now: refcnt is all we may look at. */
	TP_ASSERT(refcnt != UINT_MAX, "job reference count underflow");
}

TP_EXPORT void
threadpool_job_done(struct threadpool_job *job)
{
	struct threadpool_thread *self = tp_curthread;

	TP_ASSERT(job->job_fn != job_dead,
	    "threadpool_job_done of job %p after threadpool_job_destroy", (void *)job);
	TP_ASSERT(self != NULL && job_thread(job) == self,
	    "threadpool_job_done of job '%s' outside its own run (called twice, "
	    "or from a thread that is not running it)", job->job_name);
	TP_ASSERT_OWNED(job->job_lock,
	    "threadpool_job_done of job '%s' without its job lock", job->job_name);

	(void)pthread_cond_broadcast(&job->job_cv);
	job_set_thread(job, NULL);
	self->tpt_done = true;
}

/*
 * Jobs were queued: wake the overseer if it waits for them, unless a
 * worker handed a job is on its way and will pass the queue on when it
 * starts (see below).  Pool lock held.
 */
static void
pool_queued_locked(struct threadpool *pool)
{
	TP_ASSERT_POOL_LOCKED(pool);
	if ((pool->tp_flags & TP_OVERSEER_WAITING) &&
	    (TAILQ_EMPTY(&pool->tp_idle_threads) || pool->tp_nwaking == 0)) {
		pool->tp_flags &= ~TP_OVERSEER_WAITING;
		(void)pthread_cond_signal(&pool->tp_overseer.tpt_cv);
	}
}

/*
 * threadpool_schedule_job() but for the wakeup: returns the idle worker
 * the job was handed to, for the caller to wake, or NULL.  deferred: the
 * caller wakes it only after releasing the job lock, so it is counted in
 * the worker's tpt_wakers meanwhile, which keeps it from exiting.
 */
static struct threadpool_thread *
job_schedule(struct threadpool *pool, struct threadpool_job *job, bool deferred)
{
	struct threadpool_thread *thread;

	TP_ASSERT(job->job_fn != job_dead,
	    "job %p scheduled after threadpool_job_destroy", (void *)job);
	TP_ASSERT_POOL_GEN(pool);
	TP_ASSERT_OWNED(job->job_lock, "threadpool_schedule_job of job '%s' "
	    "without its job lock", job->job_name);

	/*
	 * Already queued or running: leave it.  A running job cannot end
	 * behind our back: job_done clears job_thread under the job lock,
	 * which we hold.
	 */
	if (__builtin_expect(job_thread(job) != NULL, 0)) {
		TP_ASSERT_POOL_GEN(job->job_pool);
		return NULL;
	}

	/*
	 * Every worker the cap allows is busy and none is idle: nothing is
	 * to be decided but the queue's order, so push the job on the
	 * incoming list without the pool lock (one exchange), where a busy
	 * worker picks it up.  If the pool changed meanwhile (a worker went
	 * idle, say), look again under the lock: whoever turned tp_push_ok
	 * off looks at the list after doing so (tp_impl.h), so the job is
	 * found by one of us.
	 */
	if (__atomic_load_n(&pool->tp_push_ok, __ATOMIC_RELAXED)) {
		job->job_pool = pool;
		job_set_thread(job, &pool->tp_overseer);
		pool_push_incoming(pool, job);
		if (__atomic_load_n(&pool->tp_push_ok, __ATOMIC_SEQ_CST))
			return NULL;
		(void)pthread_mutex_lock(&pool->tp_lock);
		(void)pool_take_incoming_locked(pool);
		pool_queued_locked(pool);
		(void)pthread_mutex_unlock(&pool->tp_lock);
		return NULL;
	}

	(void)pthread_mutex_lock(&pool->tp_lock);
	TP_ASSERT(!(pool->tp_flags & TP_DYING),
	    "job '%s' scheduled on a pool being destroyed", job->job_name);
	job->job_pool = pool;
	thread = TAILQ_FIRST(&pool->tp_idle_threads);
	if (thread != NULL && pool->tp_nwaking == 0 &&
	    !pool_busy_at_cap_locked(pool) && job_hold(job) == 0) {
		/* Hand it to the most recently idle worker (warm, and the
		 * others can time out). */
		TAILQ_REMOVE(&pool->tp_idle_threads, thread, tpt_entry);
		pool->tp_nidle--;
		pool_update_push_locked(pool);
		idle_all_leave();
		thread->tpt_job = job;
		thread->tpt_waking = true;
		pool->tp_nwaking++;
		job_set_thread(job, thread);
		if (deferred)
			(void)__atomic_add_fetch(&thread->tpt_wakers, 1,
			    __ATOMIC_RELAXED);
		(void)pthread_mutex_unlock(&pool->tp_lock);
		return thread;
	}

	/*
	 * Queue it.  One wakeup at a time: while a worker handed a job has
	 * not started it yet (tp_nwaking), the job waits for it, and that
	 * worker, when it starts, hands the queue on to the next idle worker
	 * or has the overseer make one (worker_pass_on_locked).  So a stream
	 * of short jobs wakes one sleeping worker at a time, and the workers
	 * already running take the rest, instead of a wakeup per job; a job
	 * that finds nobody idle still gets a new worker at once.
	 */
	job_set_thread(job, &pool->tp_overseer);
	pool_queue_job_locked(pool, job);
	pool_queued_locked(pool);
	(void)pthread_mutex_unlock(&pool->tp_lock);
	return NULL;
}

TP_EXPORT void
threadpool_schedule_job(struct threadpool *pool, struct threadpool_job *job)
{
	struct threadpool_thread *thread;

	/*
	 * A worker handed the job cannot exit now that it has one, nor end
	 * the job while we hold the job lock that threadpool_job_done needs:
	 * wake it without the pool lock.
	 */
	if ((thread = job_schedule(pool, job, false)) != NULL)
		thread_wake(thread);
}

/*
 * The worker is woken after the job lock is released, so that, woken on
 * the caller's CPU, it does not preempt the caller while the caller still
 * holds the lock the job's end needs: that cost two more context switches
 * a job (the worker's sleep on the lock, and its wakeup at the unlock).
 * It can now start, end the job and go to exit before the wakeup: its
 * tpt_wakers count holds it until the wakeup is done (thread.c).
 */
TP_EXPORT void
threadpool_schedule_job_unlock(struct threadpool *pool,
    struct threadpool_job *job)
{
	struct threadpool_thread *thread;
	pthread_mutex_t *lock = job->job_lock;

	thread = job_schedule(pool, job, true);
	(void)pthread_mutex_unlock(lock);
	if (thread != NULL) {
		tp_test_deferred_wake_delay();
		thread_wake(thread);
		thread_wakers_leave(thread);
	}
}

TP_EXPORT bool
threadpool_cancel_job_async(struct threadpool *pool, struct threadpool_job *job)
{
	struct threadpool *jpool = job->job_pool;
	bool cancelled = false;

	(void)pool;	/* The job knows its pool: any pool gives the right answer. */
	TP_ASSERT(job->job_fn != job_dead,
	    "job %p cancelled after threadpool_job_destroy", (void *)job);
	TP_ASSERT_OWNED(job->job_lock, "threadpool_cancel_job_async of job '%s' "
	    "without its job lock", job->job_name);

	if (job_thread(job) == NULL)
		return true;	/* not scheduled: guaranteed not running */
	TP_ASSERT_POOL_GEN(jpool);
	if (job_thread(job) != &jpool->tp_overseer)
		return false;	/* too late: a worker has it */

	/* Queued, unless a worker claims it meanwhile: look under the lock. */
	(void)pthread_mutex_lock(&jpool->tp_lock);
	(void)pool_take_incoming_locked(jpool);
	while (job_thread(job) == &jpool->tp_overseer &&
	    job->job_entry.tqe_prev == NULL) {
		/*
		 * Pushed, and behind a push that another thread has half
		 * done (between two instructions, unless it was preempted
		 * there): let it finish.
		 */
		(void)pthread_mutex_unlock(&jpool->tp_lock);
		(void)sched_yield();
		(void)pthread_mutex_lock(&jpool->tp_lock);
		(void)pool_take_incoming_locked(jpool);
	}
	if (job_thread(job) == &jpool->tp_overseer) {
		TAILQ_REMOVE(&jpool->tp_jobs, job, job_entry);
		pool_nqueued_add_locked(jpool, -1);
		job_set_thread(job, NULL);
		cancelled = true;
	}
	(void)pthread_mutex_unlock(&jpool->tp_lock);
	return cancelled;
}

/*
 * Cancel, and while the job runs, wait for its threadpool_job_done.  The
 * job may have been scheduled again by then (by its own function, say): if
 * it is queued that run is cancelled too, if it runs we wait again.  So a
 * waiter never sleeps on a job that is merely queued, which nobody would
 * wake it from (the seed's loop could: a run rescheduled, then cancelled by
 * another thread, left it waiting forever).
 */
TP_EXPORT void
threadpool_cancel_job(struct threadpool *pool, struct threadpool_job *job)
{
	int ocs;

	if (threadpool_cancel_job_async(pool, job))
		return;
	/* Cancellation disabled: a cancelled wait would leave the job lock
	 * held by a thread that is gone. */
	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &ocs);
	do {
		TP_ASSERT(job_thread(job) != tp_curthread,
		    "job '%s' cancels itself with threadpool_cancel_job: it "
		    "would wait for itself forever", job->job_name);
		(void)pthread_cond_wait(&job->job_cv, job->job_lock);
	} while (!threadpool_cancel_job_async(pool, job));
	(void)pthread_setcancelstate(ocs, NULL);
}
