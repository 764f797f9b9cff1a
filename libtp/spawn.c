/*
 * spawn.c -- the spawner, the thread that creates every pool's overseer,
 * and libtp's fork handlers.
 *
 * A thread inherits from the thread that creates it its signal mask, its
 * CPU affinity, its nice value and its scheduling policy.  So that a pool's
 * threads do not depend on whichever thread first asked for the pool (one
 * that blocks SIGTERM to sigwait for it, one pinned to a CPU, one niced),
 * overseers are created by the spawner, a thread that libtp starts when it
 * is loaded (a constructor), with every signal blocked and cancellation
 * disabled; workers are created by their overseer.  The spawner sleeps
 * until asked to create a thread:
 *
 *	pool_create --request--> spawner --pthread_create--> overseer
 *	     ^                      |                          |
 *	     +-------- done --------+                          +--> workers
 *
 * So every libtp thread has all signals blocked, the nice value, CPU
 * affinity and policy of the thread that loaded libtp (normally the main
 * thread before main(): what the program was started with, as taskset(1)
 * or nice(1) set it, and any cgroup cpuset), and follows later cpuset
 * changes as the kernel applies them to the spawner.  The spawner's CPU
 * affinity is "the CPUs the process may use" for unbound pools and
 * per-CPU sets.
 *
 * Fork: only the forking thread exists in the child.  The handlers take
 * the registry locks and spawn_lock around fork() so that the child gets
 * them consistent; the child then starts a new generation (tp_generation)
 * with empty registries, and the objects made before the fork abort when
 * used (TP_ASSERT_POOL_GEN).  The child's spawner is started by its first
 * pool creation, from that thread, and so takes that thread's settings.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tp_impl.h"
#ifdef TP_TESTING
#include "tp_test.h"
#endif

struct spawn_req {
	void			*(*sr_fn)(void *);	/* c */
	void			*sr_arg;		/* c */
	pthread_t		sr_thread;		/* s */
	int			sr_error;		/* s */
	bool			sr_done;		/* s */
	struct spawn_req	*sr_next;		/* s */
};

static pthread_mutex_t	spawn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	spawn_cv = PTHREAD_COND_INITIALIZER; /* s: request queued or done */
static struct spawn_req	*spawn_queue;		/* s: requests, newest first */
static bool		spawn_running;		/* s: the spawner exists */
static bool		spawn_quit;		/* s: the spawner is to exit */
static pthread_t	spawn_pthread;		/* s: the spawner, joinable */
static pid_t		spawn_tid;		/* s: its kernel thread id */

unsigned int		tp_generation;		/* a: see tp_impl.h */

#ifdef TP_DEBUG
static __thread pid_t	tp_tid;			/* t */

pid_t
tp_gettid(void)
{
	if (tp_tid == 0)
		tp_tid = (pid_t)syscall(SYS_gettid);
	return tp_tid;
}
#endif

static void *
spawn_main(void *arg)
{
	struct spawn_req *req;
	pthread_t thread;
	int error;

	(void)arg;
	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	(void)prctl(PR_SET_NAME, "tpspawn", 0, 0, 0);
	(void)pthread_mutex_lock(&spawn_lock);
	spawn_tid = (pid_t)syscall(SYS_gettid);
	(void)pthread_cond_broadcast(&spawn_cv);
	for (;;) {
		/* Requests first: spawn_fini() lets the queue drain. */
		while ((req = spawn_queue) == NULL && !spawn_quit)
			(void)pthread_cond_wait(&spawn_cv, &spawn_lock);
		if (req == NULL)
			break;
		spawn_queue = req->sr_next;
		(void)pthread_mutex_unlock(&spawn_lock);
		/* Default attributes: the thread inherits all of ours. */
		error = pthread_create(&thread, NULL, req->sr_fn, req->sr_arg);
		(void)pthread_mutex_lock(&spawn_lock);
		req->sr_thread = thread;
		req->sr_error = error;
		req->sr_done = true;
		(void)pthread_cond_broadcast(&spawn_cv);
	}
	(void)pthread_mutex_unlock(&spawn_lock);
	return NULL;
}

/* Start the spawner from the calling thread, all signals blocked.  s held. */
static int
spawn_start_locked(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t thread;
	int error;

	TP_ASSERT_OWNED(&spawn_lock, "spawn_lock not held");
	if (spawn_quit)
		return EAGAIN;	/* the process is exiting (spawn_fini) */
	if (spawn_running)
		return 0;
	if ((error = pthread_attr_init(&attr)) != 0)
		return error;
	(void)pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN + 64 * 1024);
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	error = pthread_create(&thread, &attr, spawn_main, NULL);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	(void)pthread_attr_destroy(&attr);
	if (error != 0)
		return error;
	spawn_pthread = thread;
	spawn_running = true;
	/* Wait for its thread id: spawn_cpus() reads its affinity. */
	while (spawn_tid == 0)
		(void)pthread_cond_wait(&spawn_cv, &spawn_lock);
	return 0;
}

/*
 * Have the spawner create a thread running fn(arg), joinable, and return
 * it in *ret_thread.  0 or an errno value.  May sleep.
 */
int
spawn_thread(pthread_t *ret_thread, void *(*fn)(void *), void *arg)
{
	struct spawn_req req = { .sr_fn = fn, .sr_arg = arg };
	int error, ocs;

	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &ocs);
	(void)pthread_mutex_lock(&spawn_lock);
	if ((error = spawn_start_locked()) == 0) {
		req.sr_next = spawn_queue;
		spawn_queue = &req;
		(void)pthread_cond_broadcast(&spawn_cv);
		while (!req.sr_done)
			(void)pthread_cond_wait(&spawn_cv, &spawn_lock);
		error = req.sr_error;
		if (error == 0)
			*ret_thread = req.sr_thread;
	}
	(void)pthread_mutex_unlock(&spawn_lock);
	(void)pthread_setcancelstate(ocs, NULL);
	return error;
}

/*
 * The CPUs the process may use: the spawner's affinity, in a set of size
 * bytes.  0 or an errno value (EINVAL: the set is too small).  May sleep.
 */
int
spawn_cpus(cpu_set_t *set, size_t size)
{
	pid_t tid;
	int error, ocs;

	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &ocs);
	(void)pthread_mutex_lock(&spawn_lock);
	error = spawn_start_locked();
	tid = spawn_tid;
	(void)pthread_mutex_unlock(&spawn_lock);
	(void)pthread_setcancelstate(ocs, NULL);
	if (error != 0)
		return error;
	return sched_getaffinity(tid, size, set) == 0 ? 0 : errno;
}

/* ------------------------------------------------------------- fork */

static void
tp_fork_prepare(void)
{
	pool_fork_prepare();
	percpu_fork_prepare();
	(void)pthread_mutex_lock(&spawn_lock);
}

static void
tp_fork_parent(void)
{
	(void)pthread_mutex_unlock(&spawn_lock);
	percpu_fork_parent();
	pool_fork_parent();
}

static void
tp_fork_child(void)
{
	/* We are the only thread: nothing else looks at these now. */
	/* The prepare handler's locks are ours here, as in the parent. */
	(void)pthread_mutex_unlock(&spawn_lock);
	(void)pthread_cond_init(&spawn_cv, NULL);
	spawn_queue = NULL;
	spawn_running = false;
	spawn_quit = false;
	spawn_tid = 0;
#ifdef TP_DEBUG
	tp_tid = 0;
#endif
	tp_curthread = NULL;
	__atomic_store_n(&tp_generation, tp_generation + 1, __ATOMIC_RELAXED);
	percpu_fork_child();
	pool_fork_child();
}

/*
 * XXX ThreadSanitizer kills a child of a multi-threaded fork() that starts
 * threads (die_after_fork), which a spawner started at load would make of
 * every fork of a program linking libtp (Check's forked test cases): in
 * TSan builds the spawner starts with the first pool instead.
 */
__attribute__((__constructor__)) static void
spawn_init(void)
{
	(void)pthread_atfork(tp_fork_prepare, tp_fork_parent, tp_fork_child);
#ifndef TP_TSAN
	(void)pthread_mutex_lock(&spawn_lock);
	/* On failure the first pool creation tries again. */
	(void)spawn_start_locked();
	(void)pthread_mutex_unlock(&spawn_lock);
#endif
}

/*
 * When libtp is unloaded or the process exits: the spawner exits and is
 * joined, so that no thread of libtp's own outlives it (memory checkers
 * see its stack given back).  Pools still held keep their threads.
 */
__attribute__((__destructor__)) static void
spawn_fini(void)
{
	pthread_t thread;
	bool running;

	(void)pthread_mutex_lock(&spawn_lock);
	running = spawn_running;
	thread = spawn_pthread;
	if (running) {
		spawn_quit = true;
		(void)pthread_cond_broadcast(&spawn_cv);
	}
	(void)pthread_mutex_unlock(&spawn_lock);
	if (!running)
		return;
	(void)pthread_join(thread, NULL);
	(void)pthread_mutex_lock(&spawn_lock);
	spawn_running = false;	/* spawn_quit stays: no new spawner */
	spawn_tid = 0;
	(void)pthread_mutex_unlock(&spawn_lock);
}

/* ------------------------------------------------------- test hooks */

#ifdef TP_TESTING
static unsigned int fail_workers;	/* a */
static unsigned int fail_overseers;	/* a */
static unsigned int skip_overseers;	/* a */
static int unusable_cpu = -1;		/* a */
static unsigned int wake_delay_usec;	/* a */

static bool
take_one(unsigned int *counter)
{
	unsigned int n = __atomic_load_n(counter, __ATOMIC_RELAXED);

	while (n > 0) {
		if (__atomic_compare_exchange_n(counter, &n, n - 1, false,
		    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

void
tp_test_fail_thread_create(unsigned int n)
{
	__atomic_store_n(&fail_workers, n, __ATOMIC_SEQ_CST);
}

void
tp_test_fail_overseer_create(unsigned int skip, unsigned int n)
{
	__atomic_store_n(&skip_overseers, skip, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fail_overseers, n, __ATOMIC_SEQ_CST);
}

void
tp_test_cpu_unusable(int cpu)
{
	__atomic_store_n(&unusable_cpu, cpu, __ATOMIC_SEQ_CST);
}

void
tp_test_delay_deferred_wake(unsigned int usec)
{
	__atomic_store_n(&wake_delay_usec, usec, __ATOMIC_SEQ_CST);
}

bool
tp_test_fail_worker_injected(void)
{
	return take_one(&fail_workers);
}

bool
tp_test_fail_overseer_injected(void)
{
	if (take_one(&skip_overseers))
		return false;
	return take_one(&fail_overseers);
}

bool
tp_test_cpu_unusable_injected(int cpu)
{
	return cpu >= 0 && __atomic_load_n(&unusable_cpu, __ATOMIC_RELAXED) == cpu;
}

void
tp_test_deferred_wake_delay(void)
{
	unsigned int usec = __atomic_load_n(&wake_delay_usec, __ATOMIC_RELAXED);

	if (usec != 0)
		(void)usleep(usec);
}
#endif /* TP_TESTING */
