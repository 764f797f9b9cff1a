/*
 * thread.c -- the overseer and worker threads of a pool.
 *
 * The overseer runs no jobs.  As the seed's, it creates a worker at once
 * whenever jobs are queued and no worker is idle (up to the pool's cap),
 * and hands queued jobs to idle workers; a job that finds no idle worker
 * thus gets a new one promptly, however many workers are busy, whether
 * they block or compute.  It also reaps workers that exited, and backs off
 * when a thread cannot be created (counted in tps_create_failures, 1 ms
 * doubling up to 1 s, so a queued job waits at most about a second longer
 * than the failures last), until the pool dies.
 *
 * A worker waits for a job on its own futex word (tpt_sleep; not a
 * condition variable: glibc's pthread_cond_wait takes the mutex back
 * marked contended, so every wakeup cost a futex wake system call more, at
 * the unlock that follows, before the job could start), runs it under the
 * job's name, then takes the next queued job itself; when there is none it
 * goes to the head of the idle list and waits up to the idle timeout, after
 * which it exits and the overseer joins it.  It runs a job under the job's
 * name (set only when it changes: a worker taking queued jobs of one name
 * renames itself once) and takes back its own name when it goes idle.
 *
 * Every libtp thread runs with all signals blocked and pthread cancellation
 * disabled (spawn.c).  The threads of a per-CPU pool pin themselves to its
 * CPU.  When that CPU is not usable (not in the cpuset any more, offline:
 * pinning fails, or a worker finds itself moved off it by the kernel) the
 * pool is marked unpinned (tps_unpinned, counted once per loss in
 * tps_cpu_lost) and its threads run on the CPUs the process may use, so
 * its jobs still run; the overseer tries to pin again every
 * TP_REPIN_USEC, and once it can, every thread of the pool pins itself
 * again at its next job.
 */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tp_impl.h"

#define	TP_BACKOFF_MIN_USEC	1000
#define	TP_BACKOFF_MAX_USEC	(1000 * 1000)
#define	TP_REPIN_USEC		(100 * 1000)
/* An idle worker takes its own name back after this long (see worker_main). */
#define	TP_NAME_BACK_USEC	(100 * 1000)

__thread struct threadpool_thread *tp_curthread;	/* t */

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

/* Is a earlier than b? */
static bool
timespec_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
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
	/*
	 * As the seed's "poolthread/%d@%d", within Linux's 15 bytes even for
	 * a five-digit CPU and a three-digit priority ("tpw/65535@138");
	 * "u" for an unbound pool.
	 */
	char name[64];

	if (cpu < 0)
		(void)snprintf(name, sizeof(name), "%s/u@%d", kind, pri);
	else
		(void)snprintf(name, sizeof(name), "%s/%d@%d", kind, cpu, pri);
	(void)snprintf(buf, TP_THREAD_NAME_MAX, "%.15s", name);
}

/*
 * Set the calling thread's name (as ps -L and top -H show it).  A name
 * cut to the 15 bytes Linux keeps is cut before a UTF-8 character it
 * would split, so that ps shows no broken character.
 */
void
thread_set_name(struct threadpool_thread *thread, const char *name)
{
	size_t n;

	if (strncmp(thread->tpt_name, name, TP_THREAD_NAME_MAX - 1) == 0)
		return;
	(void)snprintf(thread->tpt_name, sizeof(thread->tpt_name), "%s", name);
	n = strlen(thread->tpt_name);
	if (((unsigned char)name[n] & 0xc0) == 0x80) {
		/* name[n] continues a character: drop its first bytes. */
		while (n > 0 &&
		    ((unsigned char)thread->tpt_name[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0)
			n--;
		thread->tpt_name[n] = '\0';
	}
	(void)prctl(PR_SET_NAME, thread->tpt_name, 0, 0, 0);
}

/*
 * Wake a worker that sleeps in worker_sleep_locked(), or make its next
 * sleep return at once.  Any lock or none; the caller has made the change
 * the worker is to see under the pool lock, and the worker cannot exit
 * meanwhile: the pool lock is held, or it was handed a job whose lock the
 * caller holds, or the caller is counted in its tpt_wakers.
 */
void
thread_wake(struct threadpool_thread *thread)
{
	if (__atomic_exchange_n(&thread->tpt_sleep, 0, __ATOMIC_RELEASE) != 0)
		(void)syscall(SYS_futex, &thread->tpt_sleep, FUTEX_WAKE_PRIVATE,
		    1, NULL, NULL, 0);
}

/*
 * A caller of threadpool_schedule_job_unlock() that handed thread a job
 * has woken it: it touches the thread no more.  The worker may be waiting
 * for that to exit (thread_wait_wakers); the futex wake that tells it may
 * come after the thread is gone, which costs nothing: a wake reads no
 * memory, and a futex word of the same address later is told to look
 * again, which every user of one does.
 */
void
thread_wakers_leave(struct threadpool_thread *thread)
{
	if (__atomic_sub_fetch(&thread->tpt_wakers, 1, __ATOMIC_RELEASE) ==
	    TP_WAKERS_AWAITED)
		(void)syscall(SYS_futex, &thread->tpt_wakers, FUTEX_WAKE_PRIVATE,
		    1, NULL, NULL, 0);
}

/*
 * A worker about to exit: wait until no caller that handed it a job is
 * still to wake it (threadpool_schedule_job_unlock wakes it after
 * releasing the job lock, so the worker can start, end the job and come
 * here first).  Only if a waker was preempted in those few instructions
 * does this wait at all.  No lock held.
 */
static void
thread_wait_wakers(struct threadpool_thread *thread)
{
	unsigned int n;

	n = __atomic_load_n(&thread->tpt_wakers, __ATOMIC_ACQUIRE);
	while (n != 0) {
		if (!(n & TP_WAKERS_AWAITED)) {
			(void)__atomic_compare_exchange_n(&thread->tpt_wakers,
			    &n, n | TP_WAKERS_AWAITED, false, __ATOMIC_ACQUIRE,
			    __ATOMIC_ACQUIRE);
		} else if (n == TP_WAKERS_AWAITED) {
			break;
		} else {
			(void)syscall(SYS_futex, &thread->tpt_wakers,
			    FUTEX_WAIT_PRIVATE, n, NULL, NULL, 0);
		}
		n = __atomic_load_n(&thread->tpt_wakers, __ATOMIC_ACQUIRE);
	}
}

/*
 * Sleep until thread_wake() or the deadline (CLOCK_MONOTONIC); true if the
 * deadline passed.  Pool lock held, dropped meanwhile; it may return for
 * nothing, so the caller looks again.  A wake between the unlock and the
 * sleep is not lost: the futex sleeps only while the word is still 1.
 */
static bool
worker_sleep_locked(struct threadpool *pool, struct threadpool_thread *thread,
    const struct timespec *deadline)
{
	long r;

	TP_ASSERT_POOL_LOCKED(pool);
	__atomic_store_n(&thread->tpt_sleep, 1, __ATOMIC_RELAXED);
	(void)pthread_mutex_unlock(&pool->tp_lock);
	r = syscall(SYS_futex, &thread->tpt_sleep,
	    FUTEX_WAIT_BITSET_PRIVATE, 1, deadline, NULL, FUTEX_BITSET_MATCH_ANY);
	(void)pthread_mutex_lock(&pool->tp_lock);
	__atomic_store_n(&thread->tpt_sleep, 0, __ATOMIC_RELAXED);
	return r != 0 && errno == ETIMEDOUT;
}

/* Common start of both kinds of thread: wait until the creator is done. */
static void
thread_enter_locked(struct threadpool_thread *thread)
{
	struct threadpool *pool = thread->tpt_pool;

	TP_ASSERT_POOL_LOCKED(pool);
	while (!thread->tpt_ready)
		(void)pthread_cond_wait(&thread->tpt_cv, &pool->tp_lock);
}

/* ------------------------------------------------------------- pinning */

/* Per-CPU pool: its CPU is not usable now.  Pool lock held. */
static void
pool_cpu_lost_locked(struct threadpool *pool)
{
	TP_ASSERT_POOL_LOCKED(pool);
	if (pool->tp_unpinned)
		return;
	pool->tp_unpinned = true;
	pool->tp_cpu_lost++;
	pool->tp_pin_gen++;
	/* The overseer unpins itself and starts trying to pin again. */
	(void)pthread_cond_signal(&pool->tp_overseer.tpt_cv);
}

/*
 * Per-CPU pool: make the calling thread's affinity follow the pool's
 * state (pinned, or unpinned while its CPU is gone).  Pool lock held.
 */
static void
thread_follow_pin_locked(struct threadpool *pool, struct threadpool_thread *thread)
{
	TP_ASSERT_POOL_LOCKED(pool);
	if (thread->tpt_pin_gen == pool->tp_pin_gen && !pool->tp_unpinned &&
	    (sched_getcpu() != pool->tp_cpu ||
	    tp_test_cpu_unusable_injected(pool->tp_cpu))) {
		/* Pinned, yet elsewhere: the kernel moved us off our CPU. */
		pool_cpu_lost_locked(pool);
	}
	while (thread->tpt_pin_gen != pool->tp_pin_gen) {
		thread->tpt_pin_gen = pool->tp_pin_gen;
		if (pool->tp_unpinned)
			(void)sched_unpin();
		else if (sched_pin(pool->tp_cpu) != 0)
			pool_cpu_lost_locked(pool);
	}
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
	struct threadpool_job *job;

	TP_ASSERT_POOL_LOCKED(pool);
	if ((job = TAILQ_FIRST(&pool->tp_jobs)) != NULL) {
		TP_ASSERT(job_thread(job) == &pool->tp_overseer,
		    "queued job '%s' not owned by the overseer", job->job_name);
		if (job_hold(job) != 0)
			return EBUSY;
		TAILQ_REMOVE(&pool->tp_jobs, job, job_entry);
		pool_nqueued_add_locked(pool, -1);
	} else {
		/* tp_jobs is empty: the oldest pushed job, if any. */
		(void)pthread_mutex_lock(&pool->tp_in_lock);
		if ((job = pool_pop_incoming_locked(pool)) != NULL &&
		    job_hold(job) != 0) {
			TAILQ_INSERT_HEAD(&pool->tp_jobs, job, job_entry);
			pool_nqueued_add_locked(pool, 1);
			(void)pthread_mutex_unlock(&pool->tp_in_lock);
			return EBUSY;
		}
		(void)pthread_mutex_unlock(&pool->tp_in_lock);
		if (job == NULL)
			return ENOENT;
		TP_ASSERT(job_thread(job) == &pool->tp_overseer,
		    "pushed job '%s' not owned by the overseer", job->job_name);
	}
	job_set_thread(job, thread);
	thread->tpt_job = job;
	return 0;
}

/*
 * A worker of an unbound pool between two jobs, while every worker the
 * cap allows is busy (tp_push_ok) and no job waits on tp_jobs: take the
 * oldest pushed job without the pool lock, under tp_in_lock alone, with a
 * reference for the run.  So the busy workers of a pool fed faster than
 * they run share one short lock, and the producers none.  NULL when this
 * does not apply or nothing is pushed: the caller takes the pool lock.
 * Per-CPU pools take the pool lock between jobs (their pinning is looked
 * at under it).
 */
static struct threadpool_job *
worker_claim_pushed(struct threadpool *pool, struct threadpool_thread *thread)
{
	struct threadpool_job *job;

	if (pool->tp_cpu >= 0 ||
	    !__atomic_load_n(&pool->tp_push_ok, __ATOMIC_ACQUIRE))
		return NULL;
	(void)pthread_mutex_lock(&pool->tp_in_lock);
	if (__atomic_load_n(&pool->tp_nqueued, __ATOMIC_RELAXED) != 0 ||
	    (job = pool_pop_incoming_locked(pool)) == NULL) {
		(void)pthread_mutex_unlock(&pool->tp_in_lock);
		return NULL;
	}
	TP_ASSERT(job_thread(job) == &pool->tp_overseer,
	    "pushed job '%s' not owned by the overseer", job->job_name);
	if (job_hold(job) != 0) {
		/*
		 * Its reference count is saturated: first in line on tp_jobs,
		 * where the overseer retries it.
		 */
		(void)pthread_mutex_unlock(&pool->tp_in_lock);
		(void)pthread_mutex_lock(&pool->tp_lock);
		(void)pthread_mutex_lock(&pool->tp_in_lock);
		TAILQ_INSERT_HEAD(&pool->tp_jobs, job, job_entry);
		pool_nqueued_add_locked(pool, 1);
		(void)pthread_mutex_unlock(&pool->tp_in_lock);
		(void)pthread_cond_signal(&pool->tp_overseer.tpt_cv);
		(void)pthread_mutex_unlock(&pool->tp_lock);
		return NULL;
	}
	job_set_thread(job, thread);
	pool->tp_jobs_run_pushed++;
	(void)pthread_mutex_unlock(&pool->tp_in_lock);
	return job;
}

static bool
pool_over_cap_locked(struct threadpool *pool)
{
	TP_ASSERT_POOL_LOCKED(pool);
	return pool->tp_max_threads != 0 &&
	    pool->tp_nthreads > pool->tp_max_threads;
}

/*
 * Hand the oldest queued job to the most recently idle worker and wake it,
 * counted in tp_nwaking until it starts.  Pool lock held.  Returns false
 * when nobody is idle, the queue is empty, the job's reference count is
 * saturated, or as many workers as the cap allows are busy already (a
 * lowered cap leaves surplus idle workers until they see it and exit:
 * they take nothing meanwhile; the busy ones take the queue as they
 * finish).
 */
static bool
pool_hand_over_locked(struct threadpool *pool)
{
	struct threadpool_thread *thread = TAILQ_FIRST(&pool->tp_idle_threads);

	TP_ASSERT_POOL_LOCKED(pool);
	if (thread == NULL || pool_busy_at_cap_locked(pool) ||
	    pool_claim_first_job_locked(pool, thread) != 0)
		return false;
	TAILQ_REMOVE(&pool->tp_idle_threads, thread, tpt_entry);
	pool->tp_nidle--;
	pool_update_push_locked(pool);
	idle_all_leave();
	thread->tpt_waking = true;
	pool->tp_nwaking++;
	thread_wake(thread);
	return true;
}

/*
 * A worker handed a job has started: no wakeup is in flight any more, so
 * pass the queue on (see threadpool_schedule_job): to the next idle worker,
 * or, with nobody idle and room under the cap, to the overseer to make
 * one.  Pool lock held.
 */
static void
worker_pass_on_locked(struct threadpool *pool, struct threadpool_thread *thread)
{
	TP_ASSERT_POOL_LOCKED(pool);
	thread->tpt_waking = false;
	pool->tp_nwaking--;
	(void)pool_take_incoming_locked(pool);
	if (TAILQ_EMPTY(&pool->tp_jobs) || pool_hand_over_locked(pool))
		return;
	if (TAILQ_EMPTY(&pool->tp_idle_threads) && (pool->tp_max_threads == 0 ||
	    pool->tp_nthreads < pool->tp_max_threads))
		(void)pthread_cond_signal(&pool->tp_overseer.tpt_cv);
}

static void
worker_run(struct threadpool_thread *thread, struct threadpool_job *job)
{
	thread_set_name(thread, job->job_name);
	thread->tpt_done = false;
	thread->tpt_running = job;
	(*job->job_fn)(job);
	TP_ASSERT(thread->tpt_done,
	    "job '%s' returned without calling threadpool_job_done",
	    thread->tpt_name);
	thread->tpt_running = NULL;
	job_rele(job);
}

static void *
worker_main(void *arg)
{
	struct threadpool_thread *const thread = arg;
	struct threadpool *const pool = thread->tpt_pool;
	struct threadpool_job *job;
	struct timespec deadline, idle_since, name_back;
	bool timed_out, named;

	tp_curthread = thread;
	(void)prctl(PR_SET_NAME, thread->tpt_base_name, 0, 0, 0);
	(void)strcpy(thread->tpt_name, thread->tpt_base_name);

	(void)pthread_mutex_lock(&pool->tp_lock);
	thread_enter_locked(thread);
	for (;;) {
		/*
		 * Wait for a job, the pool's death, or the idle timeout
		 * (recomputed on every wakeup: it may have been changed).
		 * A job handed over as the timeout expires is still run.
		 *
		 * Still named after its last job, the worker takes its own
		 * name back after TP_NAME_BACK_USEC idle, not at once: a
		 * rename is a system call, and a worker that goes idle
		 * between two jobs of one name (a stream of short jobs: two
		 * renames a job, a tenth of a null job's cost in tpoold on a
		 * VM) then renames itself not at all.
		 */
		(void)clock_gettime(CLOCK_MONOTONIC, &idle_since);
		deadline_add(&name_back, &idle_since, TP_NAME_BACK_USEC);
		timed_out = false;
		while (thread->tpt_job == NULL && !timed_out &&
		    !(pool->tp_flags & TP_DYING) && !pool_over_cap_locked(pool)) {
			deadline_add(&deadline, &idle_since, pool->tp_idle_usec);
			named = strcmp(thread->tpt_name,
			    thread->tpt_base_name) == 0;
			if (!named && timespec_before(&name_back, &deadline)) {
				if (!worker_sleep_locked(pool, thread,
				    &name_back))
					continue;
				/* A job handed to us meanwhile is seen by
				 * the loop's test. */
				(void)pthread_mutex_unlock(&pool->tp_lock);
				thread_set_name(thread, thread->tpt_base_name);
				(void)pthread_mutex_lock(&pool->tp_lock);
				continue;
			}
			if (worker_sleep_locked(pool, thread, &deadline))
				timed_out = true;
		}
		if ((job = thread->tpt_job) == NULL) {
			TAILQ_REMOVE(&pool->tp_idle_threads, thread, tpt_entry);
			pool->tp_nidle--;
			pool_update_push_locked(pool);
			idle_all_leave();
			break;
		}
		if (thread->tpt_waking)
			worker_pass_on_locked(pool, thread);

		/* Run it, then keep taking queued jobs while there are any. */
		do {
			pool->tp_jobs_run++;
			if (pool->tp_cpu >= 0) {
				thread_follow_pin_locked(pool, thread);
				if (pool->tp_unpinned)
					pool->tp_jobs_unpinned++;
			}
			(void)pthread_mutex_unlock(&pool->tp_lock);
			worker_run(thread, job);
			while ((job = worker_claim_pushed(pool, thread)) != NULL)
				worker_run(thread, job);
			(void)pthread_mutex_lock(&pool->tp_lock);
			thread->tpt_job = job = NULL;
			if (pool_over_cap_locked(pool))
				goto out;
			job = pool_claim_first_job_locked(pool, thread) == 0 ?
			    thread->tpt_job : NULL;
		} while (job != NULL);

		/*
		 * Idle, unless as many workers as the process keeps are idle
		 * already: then exit now (the pool makes one again when it
		 * needs it).  Most recently idle first: the others can time
		 * out.
		 */
		if (!idle_all_enter(false))
			goto out;
		TAILQ_INSERT_HEAD(&pool->tp_idle_threads, thread, tpt_entry);
		pool->tp_nidle++;
		pool_update_push_locked(pool);
		/*
		 * The overseer may be waiting for an idle worker; and jobs
		 * pushed while tp_push_ok was still on are looked for here.
		 */
		(void)pool_take_incoming_locked(pool);
		if (!TAILQ_EMPTY(&pool->tp_jobs))
			(void)pthread_cond_signal(&pool->tp_overseer.tpt_cv);
	}
out:
	if (__atomic_load_n(&thread->tpt_wakers, __ATOMIC_ACQUIRE) != 0) {
		(void)pthread_mutex_unlock(&pool->tp_lock);
		thread_wait_wakers(thread);
		(void)pthread_mutex_lock(&pool->tp_lock);
	}
	pool->tp_nthreads--;
	pool_update_push_locked(pool);
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

	TP_ASSERT_POOL_LOCKED(pool);
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
 * Create a worker and put it on the idle list.  It inherits the overseer's
 * signal mask, priority, nice value and CPU affinity.  Pool lock held;
 * dropped meanwhile.  Returns 0 or an errno value.
 */
static int
overseer_create_worker_locked(struct threadpool *pool)
{
	struct threadpool_thread *thread;
	pthread_condattr_t attr;
	int error;

	TP_ASSERT_POOL_LOCKED(pool);
	pool->tp_nthreads++;		/* counts against the cap meanwhile */
	pool_update_push_locked(pool);
	pool_hold_locked(pool);		/* the worker's reference */
	(void)pthread_mutex_unlock(&pool->tp_lock);

	thread = calloc(1, sizeof(*thread));
	if (thread == NULL) {
		error = ENOMEM;
	} else if (tp_test_fail_worker_injected()) {
		error = EAGAIN;
	} else {
		thread->tpt_pool = pool;
		thread->tpt_pin_gen = pool->tp_overseer.tpt_pin_gen;
		thread_base_name(thread->tpt_base_name, "tpw", pool->tp_cpu,
		    pool->tp_pri);
		(void)pthread_condattr_init(&attr);
		(void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		error = pthread_cond_init(&thread->tpt_cv, &attr);
		(void)pthread_condattr_destroy(&attr);
		if (error == 0) {
			(void)pthread_mutex_lock(&pool->tp_lock);
			error = pthread_create(&thread->tpt_pthread, NULL,
			    worker_main, thread);
			if (error == 0) {
				TAILQ_INSERT_HEAD(&pool->tp_idle_threads, thread,
				    tpt_entry);
				pool->tp_nidle++;
				pool_update_push_locked(pool);
				(void)idle_all_enter(true);
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
	pool_update_push_locked(pool);
	pool->tp_create_failures++;
	pool_rele_locked(pool);
	return error;
}

/*
 * Per-CPU pool: follow the pool's pinning; while the CPU is lost, try to
 * pin again once *next_try has passed.  Pool lock held.  Returns true
 * when the overseer should wake by *next_try.
 */
static bool
overseer_pin_locked(struct threadpool *pool, struct threadpool_thread *overseer,
    struct timespec *next_try)
{
	struct timespec now;

	TP_ASSERT_POOL_LOCKED(pool);
	if (pool->tp_cpu < 0)
		return false;
	if (overseer->tpt_pin_gen != pool->tp_pin_gen) {
		overseer->tpt_pin_gen = pool->tp_pin_gen;
		if (pool->tp_unpinned) {
			(void)sched_unpin();
			deadline_after(next_try, TP_REPIN_USEC);
		}
	}
	if (!pool->tp_unpinned)
		return false;
	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > next_try->tv_sec || (now.tv_sec == next_try->tv_sec &&
	    now.tv_nsec >= next_try->tv_nsec)) {
		if (sched_pin(pool->tp_cpu) == 0) {
			/* The CPU is back: every thread pins itself again. */
			pool->tp_unpinned = false;
			pool->tp_pin_gen++;
			overseer->tpt_pin_gen = pool->tp_pin_gen;
			return false;
		}
		deadline_after(next_try, TP_REPIN_USEC);
	}
	return true;
}

/* Wait for a signal, or until *deadline when timed.  Pool lock held. */
static void
overseer_wait_locked(struct threadpool *pool, bool timed,
    const struct timespec *deadline)
{
	if (timed)
		(void)pthread_cond_timedwait(&pool->tp_overseer.tpt_cv,
		    &pool->tp_lock, deadline);
	else
		(void)pthread_cond_wait(&pool->tp_overseer.tpt_cv, &pool->tp_lock);
}

void *
overseer_main(void *arg)
{
	struct threadpool_thread *const overseer = arg;
	struct threadpool *const pool = overseer->tpt_pool;
	struct threadpool_thread *thread;
	struct timespec deadline, repin = { 0, 0 };
	uint64_t backoff = TP_BACKOFF_MIN_USEC;
	bool unpinned = false, retry;
	int error;

	(void)prctl(PR_SET_NAME, overseer->tpt_base_name, 0, 0, 0);
	/* Workers inherit our priority, nice value and CPU. */
	error = sched_apply(pool->tp_pri);
	if (error == 0 && pool->tp_cpu >= 0 && sched_pin(pool->tp_cpu) != 0) {
		/* Its CPU is not usable now: run unpinned (spawner's CPUs). */
		unpinned = true;
	}

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
	if (unpinned) {
		pool_cpu_lost_locked(pool);
		overseer->tpt_pin_gen = pool->tp_pin_gen;
		deadline_after(&repin, TP_REPIN_USEC);
	}

	for (;;) {
		overseer_reap_locked(pool);
		retry = overseer_pin_locked(pool, overseer, &repin);
		(void)pool_take_incoming_locked(pool);

		/*
		 * Nothing queued, or a worker on its way that will pass the
		 * queue on when it starts (worker_pass_on_locked): wait.
		 */
		if (TAILQ_EMPTY(&pool->tp_jobs) || (pool->tp_nwaking > 0 &&
		    !TAILQ_EMPTY(&pool->tp_idle_threads))) {
			if (TAILQ_EMPTY(&pool->tp_jobs) &&
			    (pool->tp_flags & TP_DYING))
				break;
			pool->tp_flags |= TP_OVERSEER_WAITING;
			overseer_wait_locked(pool, retry, &repin);
			pool->tp_flags &= ~TP_OVERSEER_WAITING;
			continue;
		}

		if ((thread = TAILQ_FIRST(&pool->tp_idle_threads)) != NULL &&
		    pool_busy_at_cap_locked(pool)) {
			/*
			 * Idle workers over a lowered cap, on their way out:
			 * the busy ones take the jobs; one that exits wakes
			 * us.
			 */
			overseer_wait_locked(pool, retry, &repin);
			continue;
		}
		if (thread != NULL) {
			/* Someone is idle: hand over the oldest job. */
			if (!pool_hand_over_locked(pool)) {
				/* Its reference count is saturated: retry. */
				deadline_after(&deadline, TP_BACKOFF_MIN_USEC);
				overseer_wait_locked(pool, true, &deadline);
			}
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
			overseer_wait_locked(pool, retry, &repin);
			continue;
		}
		/* As the seed: a new worker at once. */
		error = overseer_create_worker_locked(pool);
		if (error == 0) {
			backoff = TP_BACKOFF_MIN_USEC;
			continue;
		}
		/* Out of threads or memory: back off, unless dying. */
		if (pool->tp_flags & TP_DYING)
			continue;
		deadline_after(&deadline, backoff);
		overseer_wait_locked(pool, true, &deadline);
		if (backoff < TP_BACKOFF_MAX_USEC)
			backoff *= 2;
	}
	pool_rele_locked(pool);
	(void)pthread_mutex_unlock(&pool->tp_lock);
	return NULL;
}
