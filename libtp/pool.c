/*
 * pool.c -- thread pools: creation and destruction, the registry of shared
 * unbound pools (one per priority), statistics and settings.
 *
 * A pool is a queue of jobs, a list of idle workers and an overseer thread:
 *
 *	threadpool_schedule_job()
 *	   |  idle worker?  yes: hand the job to the most recently idle one
 *	   |                no:  queue it for the overseer; when every worker
 *	   |                     the cap allows is busy, without the pool
 *	   |                     lock, through the incoming list (job.c)
 *	   v
 *	tp_jobs --> overseer: no idle worker -> create one (thread.c)
 *	   |                  idle worker    -> hand it the oldest job
 *	   +------> a worker that finishes a job takes the next queued job
 *	            itself, without a trip through the overseer
 *
 * The per-CPU sets (percpu.c) are made of the same pools with tp_cpu set.
 * Jobs, scheduling and cancellation are in job.c; the threads' loops in
 * thread.c; priorities in sched.c.
 *
 * Design and semantics are NetBSD's kern_threadpool.c (Taylor R. Campbell,
 * Jason R. Thorpe); this is a user-space implementation with pthreads.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "tp_impl.h"

#define	TP_IDLE_USEC_DEFAULT	(30ull * 1000 * 1000)
#define	TP_IDLE_USEC_MIN	1000ull

static bool	pool_drain_incoming_locked(struct threadpool *pool);

void
tp_panic(const char *func, const char *fmt, ...)
{
	va_list ap;

	(void)fprintf(stderr, "libtp: %s: ", func);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	(void)fflush(stderr);
	abort();
}

/* ------------------------------------------------------------ settings */

static pthread_once_t	default_idle_once = PTHREAD_ONCE_INIT;
static uint64_t		default_idle_usec;	/* a */

static void
default_idle_init(void)
{
	const char *s = getenv("TPOOL_IDLE_TIMEOUT_MS");
	uint64_t usec = TP_IDLE_USEC_DEFAULT;
	unsigned long long ms;
	char *end;

	if (s != NULL && *s != '\0') {
		errno = 0;
		ms = strtoull(s, &end, 10);
		/* An invalid value is ignored: the default stays. */
		if (errno == 0 && *end == '\0' && ms >= 1 &&
		    ms <= UINT64_MAX / 1000)
			usec = ms * 1000;
	}
	__atomic_store_n(&default_idle_usec, usec, __ATOMIC_RELAXED);
}

uint64_t
pool_default_idle_usec(void)
{
	(void)pthread_once(&default_idle_once, default_idle_init);
	return __atomic_load_n(&default_idle_usec, __ATOMIC_RELAXED);
}

TP_EXPORT int
threadpool_set_default_idle_timeout(uint64_t usec)
{
	if (usec < TP_IDLE_USEC_MIN)
		return EINVAL;
	(void)pthread_once(&default_idle_once, default_idle_init);
	__atomic_store_n(&default_idle_usec, usec, __ATOMIC_RELAXED);
	return 0;
}

/*
 * Idle workers in all pools of the process together, and their cap
 * (threadpool_set_max_idle_threads; 0: none).  Counted with relaxed
 * atomics beside each pool's tp_nidle (its lock held): the cap needs no
 * lock of another pool, and a worker that finds it reached exits.
 */
static unsigned int idle_all;		/* atomic */
static unsigned int idle_all_max;	/* atomic */

/*
 * One more worker goes idle: true, counted.  False, not counted, when the
 * cap is reached and force is not set (a worker made for a queued job is
 * forced: it is about to be handed one).
 */
bool
idle_all_enter(bool force)
{
	unsigned int max = __atomic_load_n(&idle_all_max, __ATOMIC_RELAXED);
	unsigned int n = __atomic_load_n(&idle_all, __ATOMIC_RELAXED);

	do {
		if (!force && max != 0 && n >= max)
			return false;
	} while (!__atomic_compare_exchange_n(&idle_all, &n, n + 1, true,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return true;
}

/* A worker counted by idle_all_enter() is idle no more. */
void
idle_all_leave(void)
{
	(void)__atomic_sub_fetch(&idle_all, 1, __ATOMIC_RELAXED);
}

TP_EXPORT void
threadpool_set_max_idle_threads(unsigned int max)
{
	__atomic_store_n(&idle_all_max, max, __ATOMIC_RELAXED);
}

static void
pool_wake_all_locked(struct threadpool *pool)
{
	struct threadpool_thread *thread;

	TP_ASSERT_POOL_LOCKED(pool);
	(void)pthread_cond_signal(&pool->tp_overseer.tpt_cv);
	TAILQ_FOREACH(thread, &pool->tp_idle_threads, tpt_entry)
		thread_wake(thread);
}

TP_EXPORT int
threadpool_set_idle_timeout(struct threadpool *pool, uint64_t usec)
{
	TP_ASSERT_POOL_GEN(pool);
	if (usec < TP_IDLE_USEC_MIN)
		return EINVAL;
	(void)pthread_mutex_lock(&pool->tp_lock);
	pool->tp_idle_usec = usec;
	/* Idle workers recompute their deadline. */
	pool_wake_all_locked(pool);
	(void)pthread_mutex_unlock(&pool->tp_lock);
	return 0;
}

TP_EXPORT void
threadpool_set_max_threads(struct threadpool *pool, unsigned int max)
{
	TP_ASSERT_POOL_GEN(pool);
	(void)pthread_mutex_lock(&pool->tp_lock);
	pool->tp_max_threads = max;
	pool_update_push_locked(pool);
	/* The overseer may create more now; surplus idle workers exit. */
	pool_wake_all_locked(pool);
	(void)pthread_mutex_unlock(&pool->tp_lock);
}

TP_EXPORT void
threadpool_stats(struct threadpool *pool, struct threadpool_stats *ret_stats)
{
	struct threadpool_stats st;

	TP_ASSERT_POOL_GEN(pool);
	(void)memset(&st, 0, sizeof(st));
	(void)pthread_mutex_lock(&pool->tp_lock);
	(void)pthread_mutex_lock(&pool->tp_in_lock);
	(void)pool_drain_incoming_locked(pool);
	st.tps_jobs_run = pool->tp_jobs_run + pool->tp_jobs_run_pushed;
	(void)pthread_mutex_unlock(&pool->tp_in_lock);
	st.tps_threads = pool->tp_nthreads;
	st.tps_idle = pool->tp_nidle;
	st.tps_queued = pool->tp_nqueued;
	st.tps_max_threads = pool->tp_max_threads;
	st.tps_threads_created = pool->tp_threads_created;
	st.tps_threads_exited = pool->tp_threads_exited;
	st.tps_create_failures = pool->tp_create_failures;
	st.tps_cpu = pool->tp_cpu;
	st.tps_pri = pool->tp_pri;
	st.tps_unpinned = pool->tp_unpinned ? 1 : 0;
	st.tps_cpu_lost = pool->tp_cpu_lost;
	st.tps_jobs_unpinned = pool->tp_jobs_unpinned;
	(void)pthread_mutex_unlock(&pool->tp_lock);
	*ret_stats = st;
}

TP_EXPORT bool
threadpool_pri_is_valid(tp_pri_t pri)
{
	return pri == TP_PRI_NONE || (pri >= TP_PRI_USER_MIN && pri < TP_PRI_COUNT);
}

/* ------------------------------------------------- creation, destruction */

static int
cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t attr;
	int error;

	(void)pthread_condattr_init(&attr);
	(void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	error = pthread_cond_init(cv, &attr);
	(void)pthread_condattr_destroy(&attr);
	return error;
}

/*
 * Set up *pool and have the spawner start its overseer, which applies the
 * priority and its CPU, and reports whether it could.  May sleep.  Returns
 * 0, or an errno value with nothing left behind.
 */
int
pool_create(struct threadpool *pool, int cpu, tp_pri_t pri)
{
	pthread_mutexattr_t mattr;
	int error;

	TP_ASSERT(threadpool_pri_is_valid(pri), "invalid priority %d", pri);

	memset(pool, 0, sizeof(*pool));
	/*
	 * A plain mutex.  NetBSD's are adaptive (spin while the owner runs),
	 * but glibc's adaptive mutex spins whatever the owner does: with a
	 * producer and two workers on two CPUs it burnt more than it saved
	 * (bench_libtp, one producer: 3.0 M null jobs/s and 650 ns of CPU per
	 * job adaptive, 3.5 M/s and 530 ns plain, in alternating runs).
	 */
	(void)pthread_mutexattr_init(&mattr);
	(void)pthread_mutexattr_settype(&mattr, PTHREAD_MUTEX_NORMAL);
	error = pthread_mutex_init(&pool->tp_lock, &mattr);
	(void)pthread_mutexattr_destroy(&mattr);
	if (error != 0)
		return error;
	if ((error = pthread_mutex_init(&pool->tp_in_lock, NULL)) != 0)
		goto fail0;
	if ((error = cond_init_monotonic(&pool->tp_drain_cv)) != 0)
		goto failin;
	if ((error = cond_init_monotonic(&pool->tp_overseer.tpt_cv)) != 0)
		goto fail1;
	TAILQ_INIT(&pool->tp_jobs);
	pool->tp_in_head = &pool->tp_in_stub;
	pool->tp_in_stub.job_entry.tqe_next = NULL;
	pool->tp_in_tail = &pool->tp_in_stub;
	TAILQ_INIT(&pool->tp_idle_threads);
	TAILQ_INIT(&pool->tp_exited);
	pool->tp_refcnt = 1;		/* the overseer's */
	pool->tp_cpu = cpu;
	pool->tp_pri = pri;
	pool->tp_gen = tp_gen();
	pool->tp_idle_usec = pool_default_idle_usec();
	pool->tp_overseer.tpt_pool = pool;
	thread_base_name(pool->tp_overseer.tpt_base_name, "tpo", cpu, pri);

	(void)pthread_mutex_lock(&pool->tp_lock);
	if (tp_test_fail_overseer_injected())
		error = EAGAIN;
	else
		error = spawn_thread(&pool->tp_overseer.tpt_pthread, overseer_main,
		    &pool->tp_overseer);
	if (error != 0) {
		(void)pthread_mutex_unlock(&pool->tp_lock);
		goto fail2;
	}
	pool->tp_overseer.tpt_ready = true;
	(void)pthread_cond_broadcast(&pool->tp_overseer.tpt_cv);
	while (!(pool->tp_flags & TP_OVERSEER_STARTED))
		(void)pthread_cond_wait(&pool->tp_drain_cv, &pool->tp_lock);
	error = pool->tp_start_error;
	(void)pthread_mutex_unlock(&pool->tp_lock);
	if (error != 0) {
		/* The overseer saw the error and exited. */
		(void)pthread_join(pool->tp_overseer.tpt_pthread, NULL);
		goto fail2;
	}
	return 0;

fail2:	(void)pthread_cond_destroy(&pool->tp_overseer.tpt_cv);
fail1:	(void)pthread_cond_destroy(&pool->tp_drain_cv);
failin:	(void)pthread_mutex_destroy(&pool->tp_in_lock);
fail0:	(void)pthread_mutex_destroy(&pool->tp_lock);
	return error;
}

/*
 * Stop every thread of the pool and join them.  The pool must have no job
 * queued (a job still queued would never run: abort).  May sleep.
 */
void
pool_destroy(struct threadpool *pool)
{
	struct threadpool_thread *thread;

	TP_ASSERT_POOL_GEN(pool);
	TP_ASSERT(tp_curthread == NULL || tp_curthread->tpt_pool != pool,
	    "last put of pool (cpu %d, pri %d) from its own job '%s': it would "
	    "wait for itself forever", pool->tp_cpu, pool->tp_pri,
	    tp_curthread->tpt_name);
	(void)pthread_mutex_lock(&pool->tp_lock);
	(void)pool_take_incoming_locked(pool);
	TP_ASSERT(TAILQ_EMPTY(&pool->tp_jobs),
	    "last put of pool (cpu %d, pri %d) with job '%s' still queued",
	    pool->tp_cpu, pool->tp_pri, TAILQ_FIRST(&pool->tp_jobs)->job_name);
	pool->tp_flags |= TP_DYING;
	pool_update_push_locked(pool);
	/* Wake everyone now; nobody waits out the idle timeout. */
	pool_wake_all_locked(pool);
	while (pool->tp_refcnt > 0)
		(void)pthread_cond_wait(&pool->tp_drain_cv, &pool->tp_lock);
	(void)pthread_mutex_unlock(&pool->tp_lock);

	/* All threads have left their loops; reap them. */
	(void)pthread_join(pool->tp_overseer.tpt_pthread, NULL);
	while ((thread = TAILQ_FIRST(&pool->tp_exited)) != NULL) {
		TAILQ_REMOVE(&pool->tp_exited, thread, tpt_entry);
		(void)pthread_join(thread->tpt_pthread, NULL);
		(void)pthread_cond_destroy(&thread->tpt_cv);
		free(thread);
	}

	TP_ASSERT(pool->tp_nthreads == 0 && pool->tp_nidle == 0,
	    "pool destroyed with %u threads left", pool->tp_nthreads);
	TP_ASSERT(TAILQ_EMPTY(&pool->tp_idle_threads), "idle threads left");
	(void)pthread_cond_destroy(&pool->tp_overseer.tpt_cv);
	(void)pthread_cond_destroy(&pool->tp_drain_cv);
	(void)pthread_mutex_destroy(&pool->tp_in_lock);
	(void)pthread_mutex_destroy(&pool->tp_lock);
}

/*
 * tp_in_lock held: take the oldest pushed job off the incoming list, or
 * NULL if there is none, or none reachable yet (a push half done: its
 * producer finds tp_push_ok off, or leaves it to a worker that will, see
 * tp_impl.h).  The caller owns the job as a queued job (job_thread is
 * still the overseer).
 */
struct threadpool_job *
pool_pop_incoming_locked(struct threadpool *pool)
{
	struct threadpool_job *stub = &pool->tp_in_stub;
	struct threadpool_job *head = pool->tp_in_head, *next;

	TP_ASSERT_OWNED(&pool->tp_in_lock, "pool (cpu %d, pri %d) incoming "
	    "list's lock not held", pool->tp_cpu, pool->tp_pri);
	next = __atomic_load_n(&head->job_entry.tqe_next, __ATOMIC_SEQ_CST);
	if (head == stub) {
		if (next == NULL)
			return NULL;
		pool->tp_in_head = head = next;
		next = __atomic_load_n(&head->job_entry.tqe_next,
		    __ATOMIC_SEQ_CST);
	}
	if (next == NULL) {
		/* head is the newest, or a push after it is half done. */
		if (head != __atomic_load_n(&pool->tp_in_tail, __ATOMIC_SEQ_CST))
			return NULL;
		/* Put the stub behind it, so that it can be taken. */
		pool_push_incoming(pool, stub);
		next = __atomic_load_n(&head->job_entry.tqe_next,
		    __ATOMIC_SEQ_CST);
		if (next == NULL)
			return NULL;
	}
	pool->tp_in_head = next;
	return head;
}

/*
 * Move every reachable pushed job to the tail of tp_jobs, oldest first.
 * Pool lock and tp_in_lock held.  True if there were any.
 */
static bool
pool_drain_incoming_locked(struct threadpool *pool)
{
	struct threadpool_job *job;
	bool any = false;

	TP_ASSERT_POOL_LOCKED(pool);
	while ((job = pool_pop_incoming_locked(pool)) != NULL) {
		TAILQ_INSERT_TAIL(&pool->tp_jobs, job, job_entry);
		pool_nqueued_add_locked(pool, 1);
		any = true;
	}
	return any;
}

/* The same, taking tp_in_lock.  Pool lock held. */
bool
pool_take_incoming_locked(struct threadpool *pool)
{
	bool any;

	(void)pthread_mutex_lock(&pool->tp_in_lock);
	any = pool_drain_incoming_locked(pool);
	(void)pthread_mutex_unlock(&pool->tp_in_lock);
	return any;
}

/*
 * Queue a job on tp_jobs, behind every job pushed before it.  Pool lock
 * held.
 */
void
pool_queue_job_locked(struct threadpool *pool, struct threadpool_job *job)
{
	(void)pthread_mutex_lock(&pool->tp_in_lock);
	(void)pool_drain_incoming_locked(pool);
	TAILQ_INSERT_TAIL(&pool->tp_jobs, job, job_entry);
	pool_nqueued_add_locked(pool, 1);
	(void)pthread_mutex_unlock(&pool->tp_in_lock);
}

void
pool_hold_locked(struct threadpool *pool)
{
	TP_ASSERT_POOL_LOCKED(pool);
	pool->tp_refcnt++;
	TP_ASSERT(pool->tp_refcnt != 0, "pool reference count overflow");
}

void
pool_rele_locked(struct threadpool *pool)
{
	TP_ASSERT_POOL_LOCKED(pool);
	TP_ASSERT(pool->tp_refcnt > 0, "pool reference count underflow");
	if (--pool->tp_refcnt == 0)
		(void)pthread_cond_broadcast(&pool->tp_drain_cv);
}

/* ------------------------------------------------ shared unbound pools */

struct threadpool_unbound {
	struct threadpool		tpu_pool;
	LIST_ENTRY(threadpool_unbound)	tpu_link;	/* r */
	uint64_t			tpu_refcnt;	/* r */
};

static pthread_mutex_t threadpools_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, threadpool_unbound) unbound_threadpools =	/* r */
    LIST_HEAD_INITIALIZER(unbound_threadpools);

static struct threadpool_unbound *
unbound_lookup_locked(tp_pri_t pri)
{
	struct threadpool_unbound *tpu;

	TP_ASSERT_OWNED(&threadpools_lock, "threadpools_lock not held");
	LIST_FOREACH(tpu, &unbound_threadpools, tpu_link) {
		if (tpu->tpu_pool.tp_pri == pri)
			return tpu;
	}
	return NULL;
}

TP_EXPORT int
threadpool_get(struct threadpool **ret_pool, tp_pri_t pri)
{
	struct threadpool_unbound *tpu, *tmp = NULL;
	int error, ocs;

	if (!threadpool_pri_is_valid(pri))
		return EINVAL;
	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &ocs);

	(void)pthread_mutex_lock(&threadpools_lock);
	tpu = unbound_lookup_locked(pri);
	if (tpu == NULL) {
		/* Create without the registry lock; another thread may too. */
		(void)pthread_mutex_unlock(&threadpools_lock);
		if ((tmp = calloc(1, sizeof(*tmp))) == NULL) {
			(void)pthread_setcancelstate(ocs, NULL);
			return ENOMEM;
		}
		if ((error = pool_create(&tmp->tpu_pool, -1, pri)) != 0) {
			free(tmp);
			(void)pthread_setcancelstate(ocs, NULL);
			return error;
		}
		(void)pthread_mutex_lock(&threadpools_lock);
		tpu = unbound_lookup_locked(pri);
		if (tpu == NULL) {
			/* We won the creation race. */
			tpu = tmp;
			tmp = NULL;
			LIST_INSERT_HEAD(&unbound_threadpools, tpu, tpu_link);
		}
	}
	tpu->tpu_refcnt++;
	(void)pthread_mutex_unlock(&threadpools_lock);

	if (tmp != NULL) {
		/* We lost the race: throw our pool away. */
		pool_destroy(&tmp->tpu_pool);
		free(tmp);
	}
	(void)pthread_setcancelstate(ocs, NULL);
	*ret_pool = &tpu->tpu_pool;
	return 0;
}

TP_EXPORT void
threadpool_put(struct threadpool *pool, tp_pri_t pri)
{
	struct threadpool_unbound *tpu = (struct threadpool_unbound *)
	    ((char *)pool - offsetof(struct threadpool_unbound, tpu_pool));
	int ocs;

	TP_ASSERT_POOL_GEN(pool);
	TP_ASSERT(threadpool_pri_is_valid(pri), "invalid priority %d", pri);

	(void)pthread_mutex_lock(&threadpools_lock);
	TP_ASSERT(tpu == unbound_lookup_locked(pri),
	    "threadpool_put of a pool that is not the unbound pool of priority %d",
	    pri);
	TP_ASSERT(tpu->tpu_refcnt > 0, "threadpool_put without threadpool_get");
	if (--tpu->tpu_refcnt == 0)
		LIST_REMOVE(tpu, tpu_link);
	else
		tpu = NULL;
	(void)pthread_mutex_unlock(&threadpools_lock);

	if (tpu != NULL) {
		(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &ocs);
		pool_destroy(&tpu->tpu_pool);
		free(tpu);
		(void)pthread_setcancelstate(ocs, NULL);
	}
}

/* Fork handlers (spawn.c calls them): the child gets an empty registry. */
void
pool_fork_prepare(void)
{
	(void)pthread_mutex_lock(&threadpools_lock);
}

void
pool_fork_parent(void)
{
	(void)pthread_mutex_unlock(&threadpools_lock);
}

void
pool_fork_child(void)
{
	/* The parent's pools stay allocated: their locks may be held. */
	(void)pthread_mutex_unlock(&threadpools_lock);
	LIST_INIT(&unbound_threadpools);
}
