/*
 * tp_impl.h -- libtp's private structures and the functions its files share.
 * Nothing here is installed or exported (libtp.sym lists the exports).
 *
 * Locks, in the order they are taken:
 *
 *	registry locks		threadpools_lock (pool.c, unbound pools) and
 *				percpu_lock (percpu.c, per-CPU sets); never
 *				held while taking any other lock below
 *	job lock		the owner's mutex, job->job_lock
 *	pool->tp_lock		one per pool
 *	pool->tp_in_lock	the consumers' lock of the pool's incoming
 *				list (see struct threadpool)
 *	spawn_lock		the spawner's request queue (spawn.c)
 *
 * A thread holding a pool lock never takes a job lock: a worker or the
 * overseer claims a queued job under the pool lock alone (see job.c).
 *
 * Field markings:
 *	p	pool->tp_lock of the pool the object belongs to
 *	i	pool->tp_in_lock
 *	j	the job's lock
 *	r	the registry lock of the file (threadpools_lock or percpu_lock)
 *	a	atomic
 *	c	constant after creation
 *	t	private to the thread itself (no lock)
 *	s	spawn_lock
 *
 * A debug build (./configure --enable-debug, TP_DEBUG) checks on entry of
 * every function that needs a lock that the calling thread holds it
 * (TP_ASSERT_OWNED, the seed's KASSERT(mutex_owned(...))).
 */
#ifndef TP_IMPL_H
#define TP_IMPL_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "threadpool.h"

#define	TP_EXPORT	__attribute__((__visibility__("default")))

/* Broken invariants and contract violations abort with a message. */
#define	TP_ASSERT(cond, ...) do {					\
	if (__builtin_expect(!(cond), 0))				\
		tp_panic(__func__, __VA_ARGS__);			\
} while (0)
void	tp_panic(const char *func, const char *fmt, ...)
	    __attribute__((__noreturn__, __format__(__printf__, 2, 3)));

#ifdef TP_DEBUG
pid_t	tp_gettid(void);
/* glibc records the owner's thread id in every kind of mutex it locks. */
static inline bool
tp_mutex_owned(pthread_mutex_t *m)
{
	return __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED) == tp_gettid();
}
#define	TP_ASSERT_OWNED(m, ...)	TP_ASSERT(tp_mutex_owned(m), __VA_ARGS__)
#else
#define	TP_ASSERT_OWNED(m, ...)	((void)0)
#endif
#define	TP_ASSERT_POOL_LOCKED(pool)					\
	TP_ASSERT_OWNED(&(pool)->tp_lock, "pool (cpu %d, pri %d) lock not held", \
	    (pool)->tp_cpu, (pool)->tp_pri)

/*
 * Fork.  Every pool and per-CPU set remembers the generation it was made
 * in; the child of a fork starts a new one with an empty registry, and
 * any use of an object of an older generation aborts (its threads do not
 * exist in the child).  a: read with relaxed atomics, written by the
 * child's atfork handler while it is the only thread.
 */
extern unsigned int tp_generation;
static inline unsigned int
tp_gen(void)
{
	return __atomic_load_n(&tp_generation, __ATOMIC_RELAXED);
}
#define	TP_ASSERT_POOL_GEN(pool)					\
	TP_ASSERT((pool)->tp_gen == tp_gen(), "pool (cpu %d, pri %d) was "	\
	    "created before fork() and cannot be used in the child: its threads " \
	    "do not exist here; get a new pool in the child", (pool)->tp_cpu,	\
	    (pool)->tp_pri)

TAILQ_HEAD(tp_job_head, threadpool_job);
TAILQ_HEAD(tp_thread_head, threadpool_thread);

/* Linux thread names hold 15 bytes and a NUL. */
#define	TP_THREAD_NAME_MAX	16

/* tpt_wakers' flag: the worker waits on the word for the count to reach 0. */
#define	TP_WAKERS_AWAITED	0x80000000u

struct threadpool_thread {
	pthread_t			tpt_pthread;	/* p: set by the creator */
	struct threadpool		*tpt_pool;	/* c */
	struct threadpool_job		*tpt_job;	/* p: job handed to it */
	struct threadpool_job		*tpt_running;	/* t: the job its function runs */
	pthread_cond_t			tpt_cv;		/* p: the creator is done (tpt_ready);
							 * the overseer's: its wakeups */
	unsigned int			tpt_sleep;	/* a: a worker's futex word: 1 while it
							 * may sleep on it, 0 wakes it
							 * (thread_wake) */
	unsigned int			tpt_wakers;	/* a: callers of
							 * threadpool_schedule_job_unlock that
							 * handed it a job and have not woken it
							 * yet, plus TP_WAKERS_AWAITED while it
							 * waits for them to exit
							 * (thread_wait_wakers) */
	TAILQ_ENTRY(threadpool_thread)	tpt_entry;	/* p: idle or exited list */
	unsigned int			tpt_pin_gen;	/* t: tp_pin_gen it applied */
	bool				tpt_ready;	/* p: the creator is done with it */
	bool				tpt_waking;	/* p: handed a job, counted in tp_nwaking */
	bool				tpt_done;	/* t: threadpool_job_done called */
	char				tpt_name[TP_THREAD_NAME_MAX]; /* t: comm now */
	char				tpt_base_name[TP_THREAD_NAME_MAX]; /* c */
};

struct threadpool {
	pthread_mutex_t			tp_lock;
	struct threadpool_thread	tp_overseer;	/* its tpt_cv wakes the overseer */
	pthread_cond_t			tp_drain_cv;	/* p: tp_refcnt reached 0 */
	struct tp_job_head		tp_jobs;	/* p: queued, job_thread == &tp_overseer */
	struct tp_thread_head		tp_idle_threads;/* p: most recently idle first */
	struct tp_thread_head		tp_exited;	/* p: exited workers, to be joined */
	unsigned int			tp_refcnt;	/* p: overseer + workers (+ creator) */
	unsigned int			tp_flags;	/* p */
#define	TP_DYING		0x01u
#define	TP_OVERSEER_WAITING	0x02u	/* overseer sleeps until signalled */
#define	TP_OVERSEER_STARTED	0x04u	/* overseer applied its settings */
	int				tp_start_error;	/* p: overseer's start-up result */
	int				tp_cpu;		/* c: -1 when unbound */
	tp_pri_t			tp_pri;		/* c */
	unsigned int			tp_gen;		/* c: tp_generation at creation */
	bool				tp_unpinned;	/* p: per-CPU, its CPU is unusable */
	unsigned int			tp_pin_gen;	/* p: bumped when tp_unpinned changes */
	uint64_t			tp_cpu_lost;	/* p: times it became unpinned */
	uint64_t			tp_jobs_unpinned; /* p: runs started unpinned */
	uint64_t			tp_idle_usec;	/* p: idle timeout */
	unsigned int			tp_max_threads;	/* p: 0 = unlimited */
	unsigned int			tp_nthreads;	/* p: workers alive or being made */
	unsigned int			tp_nidle;	/* p: length of tp_idle_threads */
	unsigned int			tp_nwaking;	/* p: workers handed a job that have not
							   started it yet (0 or 1, see job.c) */
	unsigned int			tp_nqueued;	/* p, a: length of tp_jobs; goes up
							 * only under i as well */
	uint64_t			tp_jobs_run;	/* p */
	uint64_t			tp_threads_created; /* p */
	uint64_t			tp_threads_exited;  /* p */
	uint64_t			tp_create_failures; /* p */

	/*
	 * The way in without the pool lock (job.c): while as many workers as
	 * the cap allows are busy and none is idle (tp_push_ok), a scheduled
	 * job is pushed on this first-in first-out list instead of tp_jobs
	 * (an intrusive multi-producer, single-consumer queue as Dmitry
	 * Vyukov's, linked by job_entry.tqe_next; a pushed job has tqe_prev
	 * NULL until it is moved to tp_jobs).  Producers push with one
	 * exchange on tp_in_tail; consumers pop under tp_in_lock, one job at
	 * a time (pool_pop_incoming_locked): a worker of an unbound pool
	 * between two jobs without the pool lock (thread.c), the others with
	 * it.  Jobs queued on tp_jobs are always older than those still here:
	 * tp_jobs grows only under tp_in_lock, and a consumer without the
	 * pool lock pops only while tp_nqueued is 0.  Three lines: the
	 * consumers', the producers' and the stub's.
	 */
	struct threadpool_job		tp_in_stub;	/* i: the list's placeholder;
							 * its tqe_next a (a producer
							 * links behind it) */
	char				tp_pad0[64];
	pthread_mutex_t			tp_in_lock;
	struct threadpool_job		*tp_in_head;	/* i: the oldest, or the stub */
	uint64_t			tp_jobs_run_pushed; /* i: runs that
							 * worker_claim_pushed started
							 * (tp_jobs_run has the rest) */
	char				tp_pad1[64];
	struct threadpool_job		*tp_in_tail;	/* a: the newest, or the stub */
	bool				tp_push_ok;	/* a: written under p
							 * (pool_update_push_locked) */
	char				tp_pad2[64];
};

/*
 * Are as many workers busy (not idle: running, or handed a job) as the cap
 * allows?  Then an idle worker is surplus left by a lowered cap, on its
 * way out: it is handed nothing.  Pool lock held.
 */
static inline bool
pool_busy_at_cap_locked(const struct threadpool *pool)
{
	return pool->tp_max_threads != 0 &&
	    pool->tp_nthreads - pool->tp_nidle >= pool->tp_max_threads;
}

/*
 * Push a job on the incoming list (see struct threadpool).  Any lock or
 * none; the caller holds the job's lock and has made it queued (or holds
 * tp_in_lock, pushing the list's stub).  The
 * tqe_prev of a pushed job is NULL until it is moved to tp_jobs.
 */
static inline void
pool_push_incoming(struct threadpool *pool, struct threadpool_job *job)
{
	struct threadpool_job *prev;

	job->job_entry.tqe_prev = NULL;
	__atomic_store_n(&job->job_entry.tqe_next, NULL, __ATOMIC_RELAXED);
	prev = __atomic_exchange_n(&pool->tp_in_tail, job, __ATOMIC_SEQ_CST);
	/* Until this store the job is pushed but not reachable yet. */
	__atomic_store_n(&prev->job_entry.tqe_next, job, __ATOMIC_SEQ_CST);
}

/*
 * Recompute tp_push_ok after a change of what it depends on (the idle
 * workers, the workers, the cap, TP_DYING).  Pool lock held.  Whoever
 * turns it off looks at the incoming list afterwards, under the lock (the
 * worker going idle, the overseer, the last put): a job pushed while it
 * was on is found either there or by its producer, which looks at
 * tp_push_ok again after the push (job.c).
 */
static inline void
pool_update_push_locked(struct threadpool *pool)
{
	bool ok = !(pool->tp_flags & TP_DYING) && pool->tp_max_threads != 0 &&
	    pool->tp_nidle == 0 && pool->tp_nthreads == pool->tp_max_threads;

	if (ok != __atomic_load_n(&pool->tp_push_ok, __ATOMIC_RELAXED))
		__atomic_store_n(&pool->tp_push_ok, ok, __ATOMIC_SEQ_CST);
}

/* tp_nqueued changes under the pool lock; read without it (thread.c). */
static inline void
pool_nqueued_add_locked(struct threadpool *pool, int n)
{
	__atomic_store_n(&pool->tp_nqueued, pool->tp_nqueued + n,
	    __ATOMIC_RELAXED);
}

/* pool.c */
struct threadpool_job *pool_pop_incoming_locked(struct threadpool *pool);
bool	pool_take_incoming_locked(struct threadpool *pool);
void	pool_queue_job_locked(struct threadpool *pool, struct threadpool_job *job);
int	pool_create(struct threadpool *pool, int cpu, tp_pri_t pri);
void	pool_destroy(struct threadpool *pool);
void	pool_hold_locked(struct threadpool *pool);
void	pool_rele_locked(struct threadpool *pool);
uint64_t pool_default_idle_usec(void);
bool	idle_all_enter(bool force);
void	idle_all_leave(void);

/* job_thread, read and written with relaxed atomics (see job.c). */
static inline struct threadpool_thread *
job_thread(const struct threadpool_job *job)
{
	return __atomic_load_n(&job->job_thread, __ATOMIC_RELAXED);
}

static inline void
job_set_thread(struct threadpool_job *job, struct threadpool_thread *thread)
{
	__atomic_store_n(&job->job_thread, thread, __ATOMIC_RELAXED);
}

/* job.c */
int	job_hold(struct threadpool_job *job);
void	job_rele(struct threadpool_job *job);

/* thread.c */
extern __thread struct threadpool_thread *tp_curthread;
void	*overseer_main(void *arg);
void	thread_set_name(struct threadpool_thread *thread, const char *name);
void	thread_wake(struct threadpool_thread *thread);
void	thread_wakers_leave(struct threadpool_thread *thread);
void	thread_base_name(char *buf, const char *kind, int cpu, tp_pri_t pri);

/* spawn.c */
int	spawn_thread(pthread_t *ret_thread, void *(*fn)(void *), void *arg);
int	spawn_cpus(cpu_set_t *set, size_t size);

/* pool.c, percpu.c: the registries' fork handlers. */
void	pool_fork_prepare(void);
void	pool_fork_parent(void);
void	pool_fork_child(void);
void	percpu_fork_prepare(void);
void	percpu_fork_parent(void);
void	percpu_fork_child(void);

/* sched.c */
int	sched_apply(tp_pri_t pri);
int	sched_pin(int cpu);
int	sched_unpin(void);

/* Test hooks (tp_test.h); constant false outside a TP_TESTING build. */
#ifdef TP_TESTING
bool	tp_test_fail_worker_injected(void);
bool	tp_test_fail_overseer_injected(void);
bool	tp_test_cpu_unusable_injected(int cpu);
void	tp_test_deferred_wake_delay(void);
#else
#define	tp_test_fail_worker_injected()		false
#define	tp_test_fail_overseer_injected()	false
#define	tp_test_cpu_unusable_injected(cpu)	((void)(cpu), false)
#define	tp_test_deferred_wake_delay()		((void)0)
#endif

#endif /* TP_IMPL_H */
