/*
 * job.c -- jobs: initialisation and destruction, reference counting,
 * scheduling, cancellation and the end of a run.
 *
 * A job's state is job_thread, under the job lock:
 *
 *	NULL			not scheduled (never, done, or cancelled)
 *	&pool->tp_overseer	queued on pool->tp_jobs (pool == job_pool)
 *	a worker		handed to that worker, or running on it
 *
 * Only threadpool_job_done() (from the job's own function) moves a job from
 * a worker back to NULL; only cancellation or a claim by a worker (both
 * under the job lock and the pool lock) takes a job off a queue.
 *
 * job_refcnt counts the overseer's and workers' holds, so that
 * threadpool_job_destroy() can wait until no thread looks at the job.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "tp_impl.h"

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
	(void)vsnprintf(job->job_name, sizeof(job->job_name), fmt, ap);
	va_end(ap);

	job->job_lock = lock;
	job->job_thread = NULL;
	job->job_pool = NULL;
	job->job_refcnt = 0;
	job->job_fn = fn;
	error = pthread_cond_init(&job->job_cv, NULL);
	TP_ASSERT(error == 0, "job '%s': pthread_cond_init: %s", job->job_name,
	    strerror(error));
}

TP_EXPORT void
threadpool_job_destroy(struct threadpool_job *job)
{
	TP_ASSERT(job->job_thread == NULL,
	    "job '%s' destroyed while scheduled or running", job->job_name);

	/* Wait for the last worker or overseer to let go of it. */
	(void)pthread_mutex_lock(job->job_lock);
	while (__atomic_load_n(&job->job_refcnt, __ATOMIC_ACQUIRE) > 0)
		(void)pthread_cond_wait(&job->job_cv, job->job_lock);
	TP_ASSERT(job->job_thread == NULL,
	    "job '%s' scheduled again while being destroyed", job->job_name);
	(void)pthread_mutex_unlock(job->job_lock);

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
 * Drop a reference.  The last one is dropped under the job lock, so that
 * threadpool_job_destroy() cannot return (and the owner free the job and
 * its lock) before we are done touching them.  Neither the job lock nor a
 * pool lock may be held.  May sleep (on the job lock).
 */
void
job_rele(struct threadpool_job *job)
{
	unsigned int refcnt = __atomic_load_n(&job->job_refcnt, __ATOMIC_RELAXED);

	do {
		TP_ASSERT(refcnt > 0, "job '%s' reference count underflow",
		    job->job_name);
		if (refcnt == 1) {
			(void)pthread_mutex_lock(job->job_lock);
			refcnt = __atomic_sub_fetch(&job->job_refcnt, 1,
			    __ATOMIC_RELEASE);
			TP_ASSERT(refcnt != UINT_MAX, "job '%s' reference count "
			    "underflow", job->job_name);
			if (refcnt == 0)
				(void)pthread_cond_broadcast(&job->job_cv);
			(void)pthread_mutex_unlock(job->job_lock);
			return;
		}
	} while (!__atomic_compare_exchange_n(&job->job_refcnt, &refcnt,
	    refcnt - 1, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

TP_EXPORT void
threadpool_job_done(struct threadpool_job *job)
{
	struct threadpool_thread *self = tp_curthread;

	TP_ASSERT(self != NULL && job->job_thread == self,
	    "threadpool_job_done of job '%s' outside its own run", job->job_name);

	(void)pthread_cond_broadcast(&job->job_cv);
	job->job_thread = NULL;
	self->tpt_done = true;
}

TP_EXPORT void
threadpool_schedule_job(struct threadpool *pool, struct threadpool_job *job)
{
	struct threadpool_thread *thread;

	/*
	 * Already queued or running: leave it.  A running job cannot end
	 * behind our back: job_done clears job_thread under the job lock,
	 * which we hold.
	 */
	if (__builtin_expect(job->job_thread != NULL, 0))
		return;

	(void)pthread_mutex_lock(&pool->tp_lock);
	TP_ASSERT(!(pool->tp_flags & TP_DYING),
	    "job '%s' scheduled on a pool being destroyed", job->job_name);
	job->job_pool = pool;
	thread = TAILQ_FIRST(&pool->tp_idle_threads);
	if (thread != NULL && job_hold(job) == 0) {
		/* Hand it to the most recently idle worker (warm, and the
		 * others can time out). */
		TAILQ_REMOVE(&pool->tp_idle_threads, thread, tpt_entry);
		pool->tp_nidle--;
		thread->tpt_job = job;
		job->job_thread = thread;
		(void)pthread_mutex_unlock(&pool->tp_lock);
		/* It cannot exit now that it has a job; wake it unlocked. */
		(void)pthread_cond_signal(&thread->tpt_cv);
		return;
	}

	/* Nobody idle: queue it for the overseer (or a finishing worker). */
	job->job_thread = &pool->tp_overseer;
	TAILQ_INSERT_TAIL(&pool->tp_jobs, job, job_entry);
	pool->tp_nqueued++;
	if (pool->tp_flags & TP_OVERSEER_WAITING) {
		pool->tp_flags &= ~TP_OVERSEER_WAITING;
		(void)pthread_cond_signal(&pool->tp_overseer.tpt_cv);
	}
	(void)pthread_mutex_unlock(&pool->tp_lock);
}

TP_EXPORT bool
threadpool_cancel_job_async(struct threadpool *pool, struct threadpool_job *job)
{
	struct threadpool *jpool = job->job_pool;

	(void)pool;	/* The job knows its pool: any pool gives the right answer. */

	if (job->job_thread == NULL)
		return true;	/* not scheduled: guaranteed not running */
	if (job->job_thread == &jpool->tp_overseer) {
		/* Queued: take it off so it never runs. */
		(void)pthread_mutex_lock(&jpool->tp_lock);
		TAILQ_REMOVE(&jpool->tp_jobs, job, job_entry);
		jpool->tp_nqueued--;
		job->job_thread = NULL;
		(void)pthread_mutex_unlock(&jpool->tp_lock);
		return true;
	}
	return false;		/* too late: a worker has it */
}

TP_EXPORT void
threadpool_cancel_job(struct threadpool *pool, struct threadpool_job *job)
{
	if (threadpool_cancel_job_async(pool, job))
		return;

	TP_ASSERT(job->job_thread != tp_curthread,
	    "job '%s' cancels itself with threadpool_cancel_job: it would wait "
	    "for itself forever", job->job_name);

	/* Running: wait for threadpool_job_done. */
	while (job->job_thread != NULL)
		(void)pthread_cond_wait(&job->job_cv, job->job_lock);
}
