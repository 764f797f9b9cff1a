/*
 * util.h -- helpers shared by libtp's Check runners.
 *
 * What the tests need beside libtp's public API: looking at threads
 * through /proc/self/task (how many, their names, their nice value and
 * scheduling policy, their CPU affinity), monotonic time and waiting with
 * a deadline, a gate that holds jobs until the test opens it, a job with
 * counters that the tests schedule and watch, running a function in a
 * forked child with its stderr captured, and the runners' main().
 *
 * Only the tpt_ck_* functions call Check's assertions, and they are for
 * the test's own thread: jobs and helper threads record what they see and
 * the test's thread asserts, so that a failure never longjmps out of a
 * pool's thread (CK_FORK=no) or exits the process from it.
 */
#ifndef TP_TESTS_LIBTP_UTIL_H
#define TP_TESTS_LIBTP_UTIL_H

#include <sys/types.h>

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <threadpool.h>

/*
 * Time.  Deadlines are generous (seconds) so that a loaded two-CPU VM or
 * a sanitizer build does not fail a test that is right; a test that is
 * wrong still fails when the deadline passes.
 */
#define	TPT_DEADLINE_MS		10000	/* waiting for something that must happen */
#define	TPT_QUIET_MS		150	/* watching for a run that must not happen */

uint64_t	tpt_now_ns(void);
/*
 * What a test's time bounds are multiplied by: CK_TIMEOUT_MULTIPLIER (1 if
 * unset), at least 3 under AddressSanitizer, 20 under ThreadSanitizer (creating a thread takes some
 * 10 ms there) and at least 150 under valgrind (which runs one thread at a
 * time, some 25 ms per thread created, longer on a busy machine): there
 * the bounds only catch a hang, not a slow start.
 */
unsigned int	tpt_time_mult(void);
uint64_t	tpt_ms_since(uint64_t start_ns);
void		tpt_sleep_ms(unsigned int ms);
/* Poll pred(arg) every millisecond or so until it is true or timeout_ms
 * has passed; true when it became true. */
bool		tpt_wait_for(bool (*pred)(void *), void *arg, unsigned int timeout_ms);

/* Start libtp's spawner in this process if it is not yet (util.c). */
void		tpt_spawner_started(void);
/* Threads of this process, from /proc/self/task, the spawner started first. */
unsigned int	tpt_count_tasks(void);
/* Fill tids (up to max) and return how many there are (may exceed max). */
unsigned int	tpt_list_tasks(pid_t *tids, unsigned int max);
bool		tpt_task_exists(pid_t tid);
/* Poll until the process has n threads; true if it got there in time. */
bool		tpt_wait_task_count(unsigned int n, unsigned int timeout_ms);
/* Poll until thread tid is gone. */
bool		tpt_wait_task_gone(pid_t tid, unsigned int timeout_ms);

/* Fields of /proc/self/task/TID/stat (proc(5) numbering in comments). */
struct tpt_stat {
	char		ts_state;	/* 3 */
	long		ts_priority;	/* 18 */
	long		ts_nice;	/* 19 */
	int		ts_processor;	/* 39 */
	unsigned int	ts_rt_priority;	/* 40 */
	unsigned int	ts_policy;	/* 41 */
};
/* 0 or an errno value. */
int		tpt_read_stat(pid_t tid, struct tpt_stat *ret_stat);
/* The thread's name, without the newline; 0 or an errno value. */
int		tpt_read_comm(pid_t tid, char *buf, size_t len);
/* The CPUs thread tid may run on. */
int		tpt_task_affinity(pid_t tid, cpu_set_t *ret_set);

/*
 * A gate: jobs wait on it until the test opens it.  The wait gives up
 * after TPT_DEADLINE_MS * 3 so that a broken test cannot hang a worker
 * forever (the test itself will have failed by then).
 */
struct tpt_gate {
	pthread_mutex_t	tg_lock;
	pthread_cond_t	tg_cv;
	bool		tg_open;
};
void	tpt_gate_init(struct tpt_gate *gate);
void	tpt_gate_destroy(struct tpt_gate *gate);
void	tpt_gate_open(struct tpt_gate *gate);
bool	tpt_gate_wait(struct tpt_gate *gate);

/*
 * A job for the tests, embedding a threadpool_job and its lock.  Each run:
 * counts itself started, records the thread, its CPU and its name, waits on
 * the gate if there is one, sleeps tj_sleep_ms if set, then under its lock
 * counts itself finished and calls threadpool_job_done.  tj_active counts
 * runs between start and threadpool_job_done, to catch two at once.
 */
struct tpt_job {
	pthread_mutex_t		tj_lock;	/* the job lock */
	pthread_cond_t		tj_cv;		/* l: broadcast on every change */
	struct threadpool_job	tj_job;
	struct tpt_gate		*tj_gate;	/* c: wait on it, or NULL */
	unsigned int		tj_sleep_ms;	/* c: sleep while running */
	atomic_uint		*tj_meter;	/* c: shared concurrency meter, or NULL */
	atomic_uint		*tj_meter_max;	/* c: its high-water mark */
	unsigned int		tj_started;	/* l: runs started */
	unsigned int		tj_finished;	/* l: runs ended */
	unsigned int		tj_order;	/* l: when the last run started, counted
						 *    over all tpt_jobs of the process */
	pid_t			tj_tid;		/* l: thread of the last run */
	int			tj_cpu;		/* l: sched_getcpu() in the last run */
	int			tj_policy;	/* l: sched_getscheduler(0) there */
	int			tj_sched_prio;	/* l: its sched_param priority */
	int			tj_nice;	/* l: the thread's nice there */
	cpu_set_t		tj_affinity;	/* l: the thread's CPU affinity */
	char			tj_comm[32];	/* l: the thread's name there */
	atomic_uint		tj_active;	/* runs now between start and done */
	atomic_uint		tj_max_active;	/* the most at once */
};

/* The function every tpt_job runs. */
threadpool_job_fn_t tpt_job_run;
/* Everything but threadpool_job_init, for a test that calls it itself. */
void	tpt_job_prepare(struct tpt_job *tj);
/* Prepare, then threadpool_job_init with name printf'd as "%s". */
void	tpt_job_init(struct tpt_job *tj, const char *name);
/* threadpool_job_destroy, then the lock and condvar. */
void	tpt_job_fini(struct tpt_job *tj);
/* Lock, schedule on pool, unlock. */
void	tpt_job_schedule(struct tpt_job *tj, struct threadpool *pool);
/* Lock, cancel_job_async through pool, unlock. */
bool	tpt_job_cancel_async(struct tpt_job *tj, struct threadpool *pool);
/* Lock, cancel_job through pool, unlock. */
void	tpt_job_cancel(struct tpt_job *tj, struct threadpool *pool);
/* Wait until at least n runs started / finished. */
bool	tpt_job_wait_started(struct tpt_job *tj, unsigned int n, unsigned int timeout_ms);
bool	tpt_job_wait_finished(struct tpt_job *tj, unsigned int n, unsigned int timeout_ms);
unsigned int tpt_job_started(struct tpt_job *tj);
unsigned int tpt_job_finished(struct tpt_job *tj);

/* Pool statistics with a wait: poll until pred(stats) holds. */
bool	tpt_wait_stats(struct threadpool *pool, bool (*pred)(const struct threadpool_stats *,
	    uintmax_t), uintmax_t arg, unsigned int timeout_ms);
bool	tpt_stats_threads_le(const struct threadpool_stats *st, uintmax_t n);
bool	tpt_stats_threads_eq(const struct threadpool_stats *st, uintmax_t n);
bool	tpt_stats_idle_eq(const struct threadpool_stats *st, uintmax_t n);
bool	tpt_stats_queued_eq(const struct threadpool_stats *st, uintmax_t n);

/*
 * Run fn(arg) in a forked child whose stdout and stderr go to a pipe;
 * the child _exits with fn's result and is killed by SIGALRM after
 * timeout_s.  The child's output (NUL-terminated, truncated to outlen)
 * and its wait status come back.  0 or an errno value.
 */
int	tpt_fork_run(int (*fn)(void *), void *arg, unsigned int timeout_s,
	    char *out, size_t outlen, int *ret_status);

/*
 * For the test's own thread only (they assert).  tpt_ck_get_pool: the
 * unbound pool at pri, which must succeed.  tpt_ck_occupy: cap pool at
 * one worker, wait until it has at most one, and run blocker on it, held
 * at gate, so that the next job scheduled on pool stays queued.
 * tpt_ck_release: open gate, wait for blocker to end, lift the cap.
 */
struct threadpool *tpt_ck_get_pool(tp_pri_t pri);
/* Run fn(arg) in a forked child (tpt_fork_run); it must exit 0. */
void	tpt_ck_child_succeeds(int (*fn)(void *), void *arg, unsigned int timeout_s);
/*
 * Cancelling through other, a pool the job was not scheduled on: a job
 * queued on pool gives true and never runs; a job running on pool gives
 * false, and cancel_job through other waits until it ends.
 */
void	tpt_ck_cancel_through_other(struct threadpool *pool, struct threadpool *other);
void	tpt_ck_occupy(struct threadpool *pool, struct tpt_job *blocker,
	    struct tpt_gate *gate);
void	tpt_ck_release(struct threadpool *pool, struct tpt_job *blocker,
	    struct tpt_gate *gate);

/* Print a test's figures (timings, counts) when TPT_VERBOSE is set. */
void	tpt_note(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));

/* Is Check running each test in its own process (CK_FORK is not "no")? */
bool	tpt_fork_mode(void);

/* Run one suite with Check's environment settings; main's exit status. */
int	tpt_run_suite(Suite *s);

#endif /* TP_TESTS_LIBTP_UTIL_H */
