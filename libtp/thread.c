/*
 * thread.c -- the overseer and worker threads of a pool.
 *
 * The overseer runs no jobs.  It is woken when a job is queued and nobody is
 * idle.  If no worker is busy it creates one at once; while workers are busy
 * (and will take queued jobs themselves when they finish) it adds a worker
 * each time the queue has made no progress for a while (overseer_stall_usec:
 * 200 us while fewer workers are busy than the pool has CPUs, a scheduler
 * time slice per CPU's worth of busy workers beyond that, since then a busy
 * worker may just be waiting for a CPU), so blocking jobs each get a thread
 * within a fraction of a millisecond while a burst of short jobs does not
 * create a thread per job.  It also hands queued jobs to
 * idle workers, reaps workers that exited, and backs off when a thread
 * cannot be created (counted in tps_create_failures), until the pool dies.
 *
 * A worker waits for a job on its own condition variable, runs it under the
 * job's name, then takes the next queued job itself; when there is none it
 * goes to the head of the idle list and waits up to the idle timeout, after
 * which it exits and the overseer joins it.  It runs a job under the job's
 * name (set only when it changes: a worker taking queued jobs of one name
 * renames itself once) and takes back its own name when it goes idle.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tp_impl.h"

#define	TP_STALL_USEC		200
#define	TP_STALL_BUSY_USEC	4000	/* about one CFS time slice */
#define	TP_BACKOFF_MIN_USEC	1000
#define	TP_BACKOFF_MAX_USEC	(1000 * 1000)

__thread struct threadpool_thread *tp_curthread;	/* t */

static unsigned int fail_creates;	/* a: test hook */

TP_EXPORT void
tp_test_fail_thread_create(unsigned int n)
{
	__atomic_store_n(&fail_creates, n, __ATOMIC_SEQ_CST);
}

static bool
fail_create_injected(void)
{
	unsigned int n = __atomic_load_n(&fail_creates, __ATOMIC_RELAXED);

	while (n > 0) {
		if (__atomic_compare_exchange_n(&fail_creates, &n, n - 1, false,
		    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

/* *ts = *from + usec. */
static void
deadline_add(struct timespec *ts, const struct timespec *from, uint64_t usec)
{
	*ts = *from;
	ts->tv_sec += (time_t)(usec / 1000000);
	ts->tv_nsec += (long)(usec % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* *ts = now + usec, on the monotonic clock the pools' condvars use. */
static void
deadline_after(struct timespec *ts, uint64_t usec)
{
	struct timespec now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	deadline_add(ts, &now, usec);
}

void
thread_base_name(char *buf, const char *kind, int cpu, tp_pri_t pri)
{
	/* As the seed's "poolthread/%d@%d", within 15 bytes. */
	(void)snprintf(buf, TP_THREAD_NAME_MAX, "%s/%d@%d", kind, cpu, pri);
}

/* Set the calling thread's name (as ps -L and top -H show it). */
void
thread_set_name(struct threadpool_thread *thread, const char *name)
{
	if (strncmp(thread->tpt_name, name, TP_THREAD_NAME_MAX - 1) == 0)
		return;
	(void)snprintf(thread->tpt_name, sizeof(thread->tpt_name), "%s", name);
	(void)prctl(PR_SET_NAME, thread->tpt_name, 0, 0, 0);
}

/*
 * Start thread running fn, pinned to the pool's CPU if it has one.  Pool
 * lock held; the new thread waits for tpt_ready before it does anything.
 */
int
thread_start(struct threadpool *pool, struct threadpool_thread *thread,
    void *(*fn)(void *))
{
	pthread_attr_t attr;
	cpu_set_t cpus;
	int error;

	if ((error = pthread_attr_init(&attr)) != 0)
		return error;
	if (pool->tp_cpu >= 0) {
		CPU_ZERO(&cpus);
		CPU_SET((unsigned int)pool->tp_cpu, &cpus);
		error = pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	}
	if (error == 0)
		error = pthread_create(&thread->tpt_pthread, &attr, fn, thread);
	(void)pthread_attr_destroy(&attr);
	return error;
}

/* Common start of both kinds of thread: wait until the creator is done. */
static void
thread_enter_locked(struct threadpool_thread *thread)
{
	struct threadpool *pool = thread->tpt_pool;

	while (!thread->tpt_ready)
		(void)pthread_cond_wait(&thread->tpt_cv, &pool->tp_lock);
}

/* ------------------------------------------------------------- workers */

/*
 * Pool lock held: take the oldest queued job off the queue and hand it to
 * thread, with a reference for the run.  Returns 0, ENOENT if the queue is
 * empty, or EBUSY if the job's reference count is saturated (it stays
 * queued; the overseer retries).  The job lock is not needed: a queued job
 * changes hands only under the pool lock (see job.c).
 */
static int
pool_claim_first_job_locked(struct threadpool *pool,
    struct threadpool_thread *thread)
{
	struct threadpool_job *job = TAILQ_FIRST(&pool->tp_jobs);

	if (job == NULL)
		return ENOENT;
	TP_ASSERT(job_thread(job) == &pool->tp_overseer,
	    "queued job '%s' not owned by the overseer", job->job_name);
	if (job_hold(job) != 0)
		return EBUSY;
	TAILQ_REMOVE(&pool->tp_jobs, job, job_entry);
	pool->tp_nqueued--;
	job_set_thread(job, thread);
	thread->tpt_job = job;
	return 0;
}

static bool
pool_over_cap_locked(const struct threadpool *pool)
{
	return pool->tp_max_threads != 0 &&
	    pool->tp_nthreads > pool->tp_max_threads;
}

static void
worker_run(struct threadpool_thread *thread, struct threadpool_job *job)
{
	thread_set_name(thread, job->job_name);
	thread->tpt_done = false;
	(*job->job_fn)(job);
	TP_ASSERT(thread->tpt_done,
	    "job '%s' returned without calling threadpool_job_done",
	    thread->tpt_name);
	job_rele(job);
}

static void *
worker_main(void *arg)
{
	struct threadpool_thread *const thread = arg;
	struct threadpool *const pool = thread->tpt_pool;
	struct threadpool_job *job;
	struct timespec deadline, idle_since;
	bool timed_out;

	thread->tpt_tid = (pid_t)syscall(SYS_gettid);
	tp_curthread = thread;
	(void)prctl(PR_SET_NAME, thread->tpt_base_name, 0, 0, 0);
	(void)strcpy(thread->tpt_name, thread->tpt_base_name);

	(void)pthread_mutex_lock(&pool->tp_lock);
	thread_enter_locked(thread);
	for (;;) {
		/*
		 * Wait for a job, the pool's death, or the idle timeout
		 * (recomputed on every wakeup: it may have been changed).
		 */
		(void)clock_gettime(CLOCK_MONOTONIC, &idle_since);
		timed_out = false;
		while (thread->tpt_job == NULL && !timed_out &&
		    !(pool->tp_flags & TP_DYING) && !pool_over_cap_locked(pool)) {
			deadline_add(&deadline, &idle_since, pool->tp_idle_usec);
			if (pthread_cond_timedwait(&thread->tpt_cv, &pool->tp_lock,
			    &deadline) == ETIMEDOUT)
				timed_out = true;
		}
		if ((job = thread->tpt_job) == NULL) {
			TAILQ_REMOVE(&pool->tp_idle_threads, thread, tpt_entry);
			pool->tp_nidle--;
			break;
		}

		/* Run it, then keep taking queued jobs while there are any. */
		do {
			pool->tp_jobs_run++;
			(void)pthread_mutex_unlock(&pool->tp_lock);
			worker_run(thread, job);
			(void)pthread_mutex_lock(&pool->tp_lock);
			thread->tpt_job = job = NULL;
			if (pool_over_cap_locked(pool))
				goto out;
			job = pool_claim_first_job_locked(pool, thread) == 0 ?
			    thread->tpt_job : NULL;
		} while (job != NULL);

		/* Idle.  Most recently idle first: the others can time out. */
		TAILQ_INSERT_HEAD(&pool->tp_idle_threads, thread, tpt_entry);
		pool->tp_nidle++;
		if (strcmp(thread->tpt_name, thread->tpt_base_name) != 0) {
			/*
			 * Take back our own name now, not lazily: a short timer
			 * for it made the next wakeup ~5 us slower on VMs
			 * (bench_libtp).  A job handed to us meanwhile is seen
			 * by the wait loop.
			 */
			(void)pthread_mutex_unlock(&pool->tp_lock);
			thread_set_name(thread, thread->tpt_base_name);
			(void)pthread_mutex_lock(&pool->tp_lock);
		}
		/* The overseer may be waiting for an idle worker. */
		if (!TAILQ_EMPTY(&pool->tp_jobs))
			(void)pthread_cond_signal(&pool->tp_overseer.tpt_cv);
	}
out:
	pool->tp_nthreads--;
	pool->tp_threads_exited++;
	TAILQ_INSERT_TAIL(&pool->tp_exited, thread, tpt_entry);
	/* The overseer joins us (and may now create a thread under the cap). */
	(void)pthread_cond_signal(&pool->tp_overseer.tpt_cv);
	pool_rele_locked(pool);
	(void)pthread_mutex_unlock(&pool->tp_lock);
	tp_curthread = NULL;
	return NULL;
}

/* ------------------------------------------------------------ overseer */

/* Join the workers that exited.  Pool lock held; dropped meanwhile. */
static void
overseer_reap_locked(struct threadpool *pool)
{
	struct threadpool_thread *thread;

	while ((thread = TAILQ_FIRST(&pool->tp_exited)) != NULL) {
		TAILQ_REMOVE(&pool->tp_exited, thread, tpt_entry);
		(void)pthread_mutex_unlock(&pool->tp_lock);
		(void)pthread_join(thread->tpt_pthread, NULL);
		(void)pthread_cond_destroy(&thread->tpt_cv);
		free(thread);
		(void)pthread_mutex_lock(&pool->tp_lock);
	}
}

/*
 * Create a worker and put it on the idle list.  Pool lock held; dropped
 * meanwhile.  Returns 0 or an errno value.
 */
static int
overseer_create_worker_locked(struct threadpool *pool)
{
	struct threadpool_thread *thread;
	pthread_condattr_t attr;
	int error;

	pool->tp_nthreads++;		/* counts against the cap meanwhile */
	pool_hold_locked(pool);		/* the worker's reference */
	(void)pthread_mutex_unlock(&pool->tp_lock);

	thread = calloc(1, sizeof(*thread));
	if (thread == NULL) {
		error = ENOMEM;
	} else if (fail_create_injected()) {
		error = EAGAIN;
	} else {
		thread->tpt_pool = pool;
		thread_base_name(thread->tpt_base_name, "poolthrd",
		    pool->tp_cpu, pool->tp_pri);
		(void)pthread_condattr_init(&attr);
		(void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		error = pthread_cond_init(&thread->tpt_cv, &attr);
		(void)pthread_condattr_destroy(&attr);
		if (error == 0) {
			(void)pthread_mutex_lock(&pool->tp_lock);
			error = thread_start(pool, thread, worker_main);
			if (error == 0) {
				TAILQ_INSERT_HEAD(&pool->tp_idle_threads, thread,
				    tpt_entry);
				pool->tp_nidle++;
				pool->tp_threads_created++;
				thread->tpt_ready = true;
				(void)pthread_cond_signal(&thread->tpt_cv);
				return 0;
			}
			(void)pthread_mutex_unlock(&pool->tp_lock);
			(void)pthread_cond_destroy(&thread->tpt_cv);
		}
	}
	free(thread);
	(void)pthread_mutex_lock(&pool->tp_lock);
	pool->tp_nthreads--;
	pool->tp_create_failures++;
	pool_rele_locked(pool);
	return error;
}

/*
 * How long the queue may make no progress, with all workers busy, before
 * the overseer adds a worker.  Pool lock held.
 */
static uint64_t
overseer_stall_usec_locked(const struct threadpool *pool)
{
	unsigned int busy = pool->tp_nthreads - pool->tp_nidle;

	if (busy < pool->tp_ncpu)
		return TP_STALL_USEC;
	/* Busy workers may be runnable but preempted, not blocked. */
	return TP_STALL_BUSY_USEC * (busy / pool->tp_ncpu);
}

void *
overseer_main(void *arg)
{
	struct threadpool_thread *const overseer = arg;
	struct threadpool *const pool = overseer->tpt_pool;
	struct threadpool_thread *thread;
	struct timespec deadline;
	uint64_t backoff = TP_BACKOFF_MIN_USEC, seen_run = 0;
	bool stalled_once = false;
	int error;

	overseer->tpt_tid = (pid_t)syscall(SYS_gettid);
	(void)prctl(PR_SET_NAME, overseer->tpt_base_name, 0, 0, 0);
	/* Workers inherit our priority, nice value and CPU. */
	error = sched_apply(pool->tp_pri, pool->tp_none_nice);

	(void)pthread_mutex_lock(&pool->tp_lock);
	thread_enter_locked(overseer);
	pool->tp_start_error = error;
	pool->tp_flags |= TP_OVERSEER_STARTED;
	(void)pthread_cond_broadcast(&pool->tp_drain_cv);
	if (error != 0) {
		pool->tp_refcnt--;	/* pool_create cleans up */
		(void)pthread_mutex_unlock(&pool->tp_lock);
		return NULL;
	}

	for (;;) {
		overseer_reap_locked(pool);

		if (TAILQ_EMPTY(&pool->tp_jobs)) {
			if (pool->tp_flags & TP_DYING)
				break;
			stalled_once = false;
			pool->tp_flags |= TP_OVERSEER_WAITING;
			(void)pthread_cond_wait(&overseer->tpt_cv, &pool->tp_lock);
			pool->tp_flags &= ~TP_OVERSEER_WAITING;
			continue;
		}

		if ((thread = TAILQ_FIRST(&pool->tp_idle_threads)) != NULL) {
			/* Someone is idle: hand over the oldest job. */
			if (pool_claim_first_job_locked(pool, thread) == EBUSY) {
				deadline_after(&deadline, TP_BACKOFF_MIN_USEC);
				(void)pthread_cond_timedwait(&overseer->tpt_cv,
				    &pool->tp_lock, &deadline);
				continue;
			}
			TAILQ_REMOVE(&pool->tp_idle_threads, thread, tpt_entry);
			pool->tp_nidle--;
			(void)pthread_cond_signal(&thread->tpt_cv);
			continue;
		}

		/* Jobs queued, nobody idle. */
		if (pool->tp_max_threads != 0 &&
		    pool->tp_nthreads >= pool->tp_max_threads) {
			/*
			 * At the cap: busy workers will take the jobs.  Not
			 * TP_OVERSEER_WAITING, so that queueing a job does not
			 * wake us; a worker that exits or goes idle with jobs
			 * queued, or a new cap, does.
			 */
			(void)pthread_cond_wait(&overseer->tpt_cv, &pool->tp_lock);
			continue;
		}
		if (pool->tp_nthreads > 0 &&
		    (!stalled_once || pool->tp_jobs_run != seen_run)) {
			/* Busy workers are making progress: check again soon. */
			stalled_once = true;
			seen_run = pool->tp_jobs_run;
			deadline_after(&deadline,
			    overseer_stall_usec_locked(pool));
			(void)pthread_cond_timedwait(&overseer->tpt_cv,
			    &pool->tp_lock, &deadline);
			continue;
		}
		stalled_once = false;
		error = overseer_create_worker_locked(pool);
		if (error == 0) {
			backoff = TP_BACKOFF_MIN_USEC;
			continue;
		}
		/* Out of threads or memory: back off, unless dying. */
		if (pool->tp_flags & TP_DYING)
			continue;
		deadline_after(&deadline, backoff);
		(void)pthread_cond_timedwait(&overseer->tpt_cv, &pool->tp_lock,
		    &deadline);
		if (backoff < TP_BACKOFF_MAX_USEC)
			backoff *= 2;
	}
	pool_rele_locked(pool);
	(void)pthread_mutex_unlock(&pool->tp_lock);
	return NULL;
}
