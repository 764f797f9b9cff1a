/*
 * threadpool.h -- NetBSD's threadpool(9) for user space (libtp).
 *
 * The API keeps the names and the semantics of NetBSD's kern_threadpool.c
 * (revision 1.11, by Taylor R. Campbell and Jason R. Thorpe), so code written
 * against threadpool(9) ports by changing types only:
 *
 *	kmutex_t		-> pthread_mutex_t
 *	pri_t			-> tp_pri_t
 *	struct cpu_info *	-> unsigned int (a CPU number, as sched_getcpu())
 *
 * A thread pool is a set of worker threads, idle or running jobs, and an
 * overseer thread that runs no jobs but is handed the jobs that find no idle
 * worker; as the seed's, it creates a new worker for them at once (up to
 * the pool's cap, if one is set), however many workers are busy.  Idle
 * workers exit after the idle timeout.  For each priority there is one
 * shared unbound pool and one shared set of per-CPU pools (one pool per CPU
 * the process may use, its threads pinned to that CPU), both reference
 * counted.
 *
 * libtp's threads do not depend on the thread that asked for a pool: they
 * are made by a thread libtp starts when it is loaded (the spawner), so
 *   - every libtp thread has all signals blocked (a program that blocks
 *     SIGTERM and sigwait()s for it gets it) and pthread cancellation
 *     disabled; job functions run so too;
 *   - "the CPUs the process may use" are the CPU affinity of the thread that
 *     loaded libtp (normally the main thread before main(): what taskset(1)
 *     or a cgroup cpuset gave the process), as the kernel updates it when
 *     the cpuset changes; unbound pools run on all of them, and a per-CPU
 *     set has a pool for each, whatever the caller's own affinity;
 *   - TP_PRI_NONE threads run at the nice value of the thread that loaded
 *     libtp, whichever thread creates the pool, and never fail for want of
 *     privilege.
 *
 * A per-CPU pool whose CPU stops being usable (it left the cpuset, or went
 * offline) runs its jobs unpinned on the CPUs the process may use, as
 * tps_unpinned, tps_cpu_lost and tps_jobs_unpinned show, and pins its
 * threads again once the CPU is back (checked every 100 ms).
 *
 * fork(): libtp's threads do not exist in the child.  libtp's pthread_atfork
 * handlers give the child an empty registry, so threadpool_get() and
 * threadpool_percpu_get() in the child make new pools that work (their
 * threads take the settings of the child thread that makes the first one).
 * Using in the child a pool, a per-CPU set, or a job scheduled there, that
 * was made in the parent aborts with a message saying so.  Fork from a job
 * works the same way.
 *
 * A job (struct threadpool_job) is embedded in its owner's object and is
 * protected by the owner's mutex, the job lock.  Scheduling never allocates
 * and never sleeps beyond the pool's lock.  A job runs on at most one thread
 * at a time; its function must end the run with threadpool_job_done(), job
 * lock held.  See libtp(3) and docs/libtp.md.
 *
 * Errors are errno values, returned (0 on success), never logged.  Broken
 * contracts abort the process with a message on stderr naming the job or
 * the pool, rather than hang: the last put of a pool (or per-CPU set) from
 * one of its own jobs, or with a job still queued on it; job_destroy from
 * inside the job's function, of a job still queued or running, or twice;
 * job_done twice or from a thread not running the job; a job function
 * returning without job_done; scheduling or running a destroyed job; a job
 * cancelling itself with threadpool_cancel_job; using after fork() what was
 * made before it.  A debug build of libtp (./configure --enable-debug) also
 * checks, on entry of every function that needs a lock, that the caller
 * holds it (the job lock for schedule, cancel and job_done).
 *
 * Cancellation: the functions that may sleep disable pthread cancellation
 * while they wait, so a thread cancelled in them is cancelled at its next
 * cancellation point after they return, never with a libtp lock held.
 */
#ifndef TP_THREADPOOL_H
#define TP_THREADPOOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Priorities.  A tp_pri_t is one of:
 *
 *	TP_PRI_NONE		the default: SCHED_OTHER at the nice value of
 *				the thread that loaded libtp (normally the
 *				process's nice when it started); never EPERM.
 *	TP_PRI_USER_MIN..	time-sharing (SCHED_OTHER), mapped to nice:
 *	  TP_PRI_USER_MAX	nice = 19 - pri, so 0 is nice 19 (lowest) and 39
 *				is nice -20.  A nice below the one TP_PRI_NONE
 *				gets needs RLIMIT_NICE or CAP_SYS_NICE, else EPERM.
 *	TP_PRI_RT_MIN..		real-time, SCHED_FIFO priority pri - 39 (1..99);
 *	  TP_PRI_RT_MAX		EPERM unless the process may use real-time
 *				scheduling (RLIMIT_RTPRIO, CAP_SYS_NICE).
 *
 * Anything else is EINVAL.  Higher numbers are more urgent, as in NetBSD.
 * Each setting is applied to every thread of the pool, observable in
 * /proc/self/task/TID/stat (fields priority, nice and policy).
 */
typedef int tp_pri_t;

#define	TP_PRI_NONE		(-1)
#define	TP_PRI_USER_MIN		0
#define	TP_PRI_USER_MAX		39
#define	TP_PRI_RT_MIN		40
#define	TP_PRI_RT_MAX		138
#define	TP_PRI_COUNT		139

/* Is pri a valid priority?  (Valid is not the same as permitted.) */
bool	threadpool_pri_is_valid(tp_pri_t pri);

/* Room for a job's name, NUL included; threads show its first 15 bytes. */
#define	TP_JOB_NAME_MAX		32

struct threadpool;
struct threadpool_percpu;
struct threadpool_thread;
struct threadpool_job;

typedef void threadpool_job_fn_t(struct threadpool_job *);

/*
 * A job.  Embed it in your object; libtp never allocates or frees it.  The
 * fields are private to libtp; they are here only so that the job can be
 * embedded.  Markings: j = the job lock, p = the pool's lock of job_pool,
 * a = atomic, c = constant between job_init and job_destroy.  Read them only
 * for debugging.
 */
struct threadpool_job {
	pthread_mutex_t			*job_lock;	/* c: the owner's lock */
	struct threadpool_thread	*job_thread;	/* j,p,a: NULL, job_pool's
							 *    overseer (queued) or the
							 *    worker; see libtp/job.c */
	struct threadpool		*job_pool;	/* j: the pool it was last
							 *    scheduled on */
	struct {					/* p: on job_pool's queue; */
		struct threadpool_job	*tqe_next;	/*    a: on its incoming */
		struct threadpool_job	**tqe_prev;	/*    list (a TAILQ_ENTRY) */
	}				job_entry;
	unsigned int			job_refcnt;	/* a: workers' holds for a run */
	bool				job_destroying;	/* a: job_destroy waits */
	pthread_cond_t			job_cv;		/* j: run ended / refs gone */
	threadpool_job_fn_t		*job_fn;	/* c */
	char				job_name[TP_JOB_NAME_MAX]; /* c */
};

/*
 * Unbound pools: one shared pool per priority.  May sleep (creates
 * threads).  0, or EINVAL (priority), EPERM (a real-time priority without
 * the privilege), EAGAIN or ENOMEM (no thread or memory; also EAGAIN once
 * the process is exiting and libtp's destructor ran).
 */
int	threadpool_get(struct threadpool **ret_pool, tp_pri_t pri);
/* Drop a reference; the last one stops and joins every thread of the pool.
 * The pool must have no job queued or running.  May sleep. */
void	threadpool_put(struct threadpool *pool, tp_pri_t pri);

/* Per-CPU pools: one shared set per priority, one pool per CPU the process
 * may use when the set was created (see above).  May sleep. */
int	threadpool_percpu_get(struct threadpool_percpu **ret_pool_percpu, tp_pri_t pri);
void	threadpool_percpu_put(struct threadpool_percpu *pool_percpu, tp_pri_t pri);
/* The pool of the CPU the caller runs on (sched_getcpu()); if that CPU is not
 * in the set (the affinity changed since), the set's first CPU's pool. */
struct threadpool *threadpool_percpu_ref(struct threadpool_percpu *pool_percpu);
/* The pool of CPU cpu, or NULL when cpu is not in the set. */
struct threadpool *threadpool_percpu_ref_remote(struct threadpool_percpu *pool_percpu,
	    unsigned int cpu);
/* How many CPUs the set has, and the i-th of them (0 <= i < ncpu). */
unsigned int threadpool_percpu_ncpu(const struct threadpool_percpu *pool_percpu);
unsigned int threadpool_percpu_cpu(const struct threadpool_percpu *pool_percpu,
	    unsigned int i);

/* Jobs.  lock is borrowed and must outlive the job. */
void	threadpool_job_init(struct threadpool_job *job, threadpool_job_fn_t *fn,
	    pthread_mutex_t *lock, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 4, 5)));
/* Wait until no worker or overseer references the job, then poison it.
 * The job must not be scheduled or running, and this may not be called
 * from the job's own function (abort otherwise).  May sleep. */
void	threadpool_job_destroy(struct threadpool_job *job);
/* Called by the job's function, job lock held, to end the run.  After it the
 * job may be scheduled again, even before the function returns. */
void	threadpool_job_done(struct threadpool_job *job);
/* Job lock held.  Never allocates, never sleeps beyond the pool's lock.  A job
 * already scheduled or running is left as it is. */
void	threadpool_schedule_job(struct threadpool *pool, struct threadpool_job *job);
/* Job lock held on entry, released on return: threadpool_schedule_job(),
 * then the unlock, and a worker the job was handed to is woken after it,
 * so that it cannot preempt the caller while the caller holds the lock the
 * job needs to end (beyond the seed: the cheaper call when the caller is
 * done with the job lock).  Never allocates, never sleeps beyond the
 * pool's lock. */
void	threadpool_schedule_job_unlock(struct threadpool *pool,
	    struct threadpool_job *job);
/* Job lock held.  true: the job will not run (it was queued and is now not,
 * or it was not scheduled).  false: it is running now.  The job remembers
 * its pool, so pool may be any pool (the seed's XXXJRT caveat is gone).
 * Never sleeps beyond the pool's lock, but may yield the CPU while another
 * thread finishes queueing a job ahead of this one (a few instructions;
 * longer only if that thread was preempted there). */
bool	threadpool_cancel_job_async(struct threadpool *pool, struct threadpool_job *job);
/* Job lock held.  Returns once the job is not running, waiting on the job
 * lock if needed.  A job may not cancel itself this way (abort).  May sleep. */
void	threadpool_cancel_job(struct threadpool *pool, struct threadpool_job *job);

/*
 * Beyond the seed.
 */

/* A pool's counters, read in one go under its lock. */
struct threadpool_stats {
	unsigned int	tps_threads;		/* workers alive (overseer not counted) */
	unsigned int	tps_idle;		/* workers waiting for a job */
	unsigned int	tps_queued;		/* jobs waiting for a worker */
	unsigned int	tps_max_threads;	/* the cap, 0 = unlimited */
	uint64_t	tps_jobs_run;		/* job runs started */
	uint64_t	tps_threads_created;	/* workers created */
	uint64_t	tps_threads_exited;	/* workers that exited */
	uint64_t	tps_create_failures;	/* worker creations that failed */
	int		tps_cpu;		/* -1 for an unbound pool */
	tp_pri_t	tps_pri;
	/* Per-CPU pools whose CPU went away (0 for unbound pools): */
	unsigned int	tps_unpinned;		/* 1 while its CPU is not usable */
	uint64_t	tps_cpu_lost;		/* times it found its CPU gone */
	uint64_t	tps_jobs_unpinned;	/* job runs started unpinned */
};
void	threadpool_stats(struct threadpool *pool, struct threadpool_stats *ret_stats);

/* Cap the number of workers of a pool (0: unlimited, the default).  Jobs
 * beyond the cap wait in the queue; none is lost.  Lowering the cap below
 * the current count lets the surplus finish and exit; meanwhile no more
 * jobs run at once than the new cap. */
void	threadpool_set_max_threads(struct threadpool *pool, unsigned int max);

/* Idle timeout, in microseconds: how long a worker waits for a job before it
 * exits.  EINVAL below 1000 (1 ms).  The default is 30 s, or the environment
 * variable TPOOL_IDLE_TIMEOUT_MS when set to a valid number of milliseconds,
 * read when the first pool is created; set_default applies to pools created
 * after it.  Setting a pool's timeout wakes its idle workers to apply it. */
int	threadpool_set_idle_timeout(struct threadpool *pool, uint64_t usec);
int	threadpool_set_default_idle_timeout(uint64_t usec);

/* Idle workers kept in all pools of the process together (0: no cap, the
 * default).  A worker that runs out of jobs while max are idle already
 * exits at once instead of waiting for the idle timeout; its pool makes a
 * worker again when a job needs one.  Workers idle when the cap is
 * lowered keep their timeout.  With each pool's cap it bounds a process's
 * threads: its pools' overseers, its busy workers and max idle ones. */
void	threadpool_set_max_idle_threads(unsigned int max);

#ifdef __cplusplus
}
#endif

#endif /* TP_THREADPOOL_H */
