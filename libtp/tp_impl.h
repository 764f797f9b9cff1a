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
 *
 * A thread holding a pool lock never takes a job lock: a worker or the
 * overseer claims a queued job under the pool lock alone (see job.c).
 *
 * Field markings:
 *	p	pool->tp_lock of the pool the object belongs to
 *	j	the job's lock
 *	r	the registry lock of the file (threadpools_lock or percpu_lock)
 *	a	atomic
 *	c	constant after creation
 *	t	private to the thread itself (no lock)
 */
#ifndef TP_IMPL_H
#define TP_IMPL_H

#include <pthread.h>
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

TAILQ_HEAD(tp_job_head, threadpool_job);
TAILQ_HEAD(tp_thread_head, threadpool_thread);

/* Linux thread names hold 15 bytes and a NUL. */
#define	TP_THREAD_NAME_MAX	16

struct threadpool_thread {
	pthread_t			tpt_pthread;	/* p: set by the creator */
	pid_t				tpt_tid;	/* t: kernel thread id */
	struct threadpool		*tpt_pool;	/* c */
	struct threadpool_job		*tpt_job;	/* p: job handed to it */
	pthread_cond_t			tpt_cv;		/* p: job handed, pool dying */
	TAILQ_ENTRY(threadpool_thread)	tpt_entry;	/* p: idle or exited list */
	bool				tpt_ready;	/* p: the creator is done with it */
	bool				tpt_done;	/* t: threadpool_job_done called */
	bool				tpt_renamed;	/* t: comm is a job's name */
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
	unsigned int			tp_ncpu;	/* c: CPUs its threads may use */
	tp_pri_t			tp_pri;		/* c */
	int				tp_none_nice;	/* c: TP_PRI_NONE's nice value */
	uint64_t			tp_idle_usec;	/* p: idle timeout */
	unsigned int			tp_max_threads;	/* p: 0 = unlimited */
	unsigned int			tp_nthreads;	/* p: workers alive or being made */
	unsigned int			tp_nidle;	/* p: length of tp_idle_threads */
	unsigned int			tp_nqueued;	/* p: length of tp_jobs */
	uint64_t			tp_jobs_run;	/* p */
	uint64_t			tp_threads_created; /* p */
	uint64_t			tp_threads_exited;  /* p */
	uint64_t			tp_create_failures; /* p */
};

/* pool.c */
int	pool_create(struct threadpool *pool, int cpu, tp_pri_t pri);
void	pool_destroy(struct threadpool *pool);
void	pool_hold_locked(struct threadpool *pool);
void	pool_rele_locked(struct threadpool *pool);
uint64_t pool_default_idle_usec(void);

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
int	thread_start(struct threadpool *pool, struct threadpool_thread *thread,
	    void *(*fn)(void *));
void	thread_set_name(struct threadpool_thread *thread, const char *name);
void	thread_base_name(char *buf, const char *kind, int cpu, tp_pri_t pri);

/* sched.c */
int	sched_apply(tp_pri_t pri, int none_nice);
int	sched_process_nice(void);

#endif /* TP_IMPL_H */
