/*
 * test_job.c -- Check runner for libtp's jobs: schedule, cancel, done,
 * destroy, and the contract violations that must abort.
 *
 * The seed (kern_threadpool.c 1.11) is the spec: scheduling a job that is
 * queued or running does nothing; a job runs on one thread at a time;
 * cancel_job_async is true only when the job will not run, false when it
 * is running; cancel_job returns only once it is not running; job_destroy
 * waits for the last reference.  Beyond the seed: cancelling through a
 * pool other than the job's gives the right answer.
 *
 * A job is made to stay queued by capping its pool at one worker and
 * keeping that worker busy with a job held at a gate (tpt_ck_occupy).
 *
 * (Over 800 lines: libtp's runners are one per module, and this is the
 * job's: four test cases (schedule, cancel, destroy, contract) testing
 * each rule above.)
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <threadpool.h>

#include "util.h"

static uint64_t
jobs_run(struct threadpool *pool)
{
	struct threadpool_stats st;

	threadpool_stats(pool, &st);
	return st.tps_jobs_run;
}

START_TEST(test_schedule_runs_job_once)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job tj;
	uint64_t run0;

	tpt_job_init(&tj, "once");
	run0 = jobs_run(pool);
	tpt_job_schedule(&tj, pool);
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
	tpt_sleep_ms(TPT_QUIET_MS);
	ck_assert_uint_eq(tpt_job_started(&tj), 1);
	ck_assert_uint_eq(tpt_job_finished(&tj), 1);
	ck_assert_uint_eq(jobs_run(pool) - run0, 1);
	tpt_job_fini(&tj);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_job_runs_again_when_scheduled_after_done)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job tj;
	unsigned int i;

	tpt_job_init(&tj, "again");
	for (i = 1; i <= 20; i++) {
		tpt_job_schedule(&tj, pool);
		ck_assert_msg(tpt_job_wait_finished(&tj, i, TPT_DEADLINE_MS),
		    "run %u did not happen", i);
	}
	tpt_sleep_ms(TPT_QUIET_MS);
	ck_assert_uint_eq(tpt_job_started(&tj), 20);
	tpt_job_fini(&tj);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_schedule_queued_job_does_nothing)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct threadpool_stats st;
	struct tpt_job blocker, tj, next;
	struct tpt_gate gate;

	tpt_gate_init(&gate);
	tpt_job_init(&blocker, "blocker");
	tpt_job_init(&tj, "queued-twice");
	tpt_job_init(&next, "queued-next");
	tpt_ck_occupy(pool, &blocker, &gate);

	tpt_job_schedule(&tj, pool);
	tpt_job_schedule(&next, pool);
	tpt_job_schedule(&tj, pool);
	tpt_job_schedule(&tj, pool);
	threadpool_stats(pool, &st);
	ck_assert_uint_eq(st.tps_queued, 2);
	ck_assert_uint_eq(tpt_job_started(&tj), 0);

	/* Keep the cap: the one worker runs them in queue order. */
	tpt_gate_open(&gate);
	ck_assert(tpt_job_wait_finished(&blocker, 1, TPT_DEADLINE_MS));
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
	ck_assert(tpt_job_wait_finished(&next, 1, TPT_DEADLINE_MS));
	tpt_sleep_ms(TPT_QUIET_MS);
	ck_assert_uint_eq(tpt_job_started(&tj), 1);
	ck_assert_uint_eq(tpt_job_started(&next), 1);
	/* Scheduling it again did not move it behind the other. */
	ck_assert_msg(tj.tj_order < next.tj_order,
	    "the job scheduled again while queued ran after the job queued behind it");
	threadpool_set_max_threads(pool, 0);

	tpt_job_fini(&next);
	tpt_job_fini(&tj);
	tpt_job_fini(&blocker);
	tpt_gate_destroy(&gate);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_schedule_running_job_does_nothing)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct threadpool_stats st;
	struct tpt_job tj;
	struct tpt_gate gate;
	unsigned int i;

	tpt_gate_init(&gate);
	tpt_job_init(&tj, "running");
	tj.tj_gate = &gate;
	tpt_job_schedule(&tj, pool);
	ck_assert(tpt_job_wait_started(&tj, 1, TPT_DEADLINE_MS));
	for (i = 0; i < 5; i++)
		tpt_job_schedule(&tj, pool);
	threadpool_stats(pool, &st);
	ck_assert_uint_eq(st.tps_queued, 0);

	tpt_gate_open(&gate);
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
	tpt_sleep_ms(TPT_QUIET_MS);
	ck_assert_uint_eq(tpt_job_started(&tj), 1);
	ck_assert_uint_eq(tj.tj_max_active, 1);

	tpt_job_fini(&tj);
	tpt_gate_destroy(&gate);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

/*
 * A job that reschedules itself from inside (before threadpool_job_done:
 * a no-op; after it: a new run, possibly on another worker while this one
 * is still in the function) while other threads schedule it from outside.
 * It must never be between start and done on two threads at once.
 */
/* Markings: l = ss_lock (the job lock), c = constant, a = atomic. */
struct selfsched {
	pthread_mutex_t		ss_lock;
	pthread_cond_t		ss_cv;		/* l: a run ended */
	struct threadpool_job	ss_job;
	struct threadpool	*ss_pool;	/* c */
	unsigned int		ss_target;	/* c */
	unsigned int		ss_runs;	/* l */
	bool			ss_stop;	/* l */
	pid_t			ss_tids[2];	/* l: two distinct threads seen */
	atomic_uint		ss_active;	/* a: runs between start and done */
	atomic_uint		ss_max_active;	/* a: the most at once */
};

static void
selfsched_run(struct threadpool_job *job)
{
	struct selfsched *ss = (struct selfsched *)((char *)job -
	    offsetof(struct selfsched, ss_job));
	unsigned int now, seen, i, runs;
	pid_t tid = gettid();

	now = atomic_fetch_add(&ss->ss_active, 1) + 1;
	seen = atomic_load(&ss->ss_max_active);
	while (now > seen && !atomic_compare_exchange_weak(&ss->ss_max_active, &seen, now))
		continue;
	for (i = 0; i < 3; i++)
		(void)sched_yield();

	(void)pthread_mutex_lock(&ss->ss_lock);
	threadpool_schedule_job(ss->ss_pool, job);	/* running: nothing */
	runs = ++ss->ss_runs;
	if (ss->ss_tids[0] == 0)
		ss->ss_tids[0] = tid;
	else if (ss->ss_tids[0] != tid && ss->ss_tids[1] == 0)
		ss->ss_tids[1] = tid;
	(void)atomic_fetch_sub(&ss->ss_active, 1);
	threadpool_job_done(job);
	if (ss->ss_runs < ss->ss_target && !ss->ss_stop)
		threadpool_schedule_job(ss->ss_pool, job);
	(void)pthread_cond_broadcast(&ss->ss_cv);
	(void)pthread_mutex_unlock(&ss->ss_lock);

	/*
	 * Linger, now and then long enough for the overseer to hand the
	 * next run to another worker while this one is still here.
	 */
	if (runs % 8 == 0)
		tpt_sleep_ms(1);
	else
		(void)sched_yield();
}

static void *
selfsched_hammer(void *arg)
{
	struct selfsched *ss = arg;
	bool stop;

	do {
		(void)pthread_mutex_lock(&ss->ss_lock);
		stop = ss->ss_stop;
		if (!stop)
			threadpool_schedule_job(ss->ss_pool, &ss->ss_job);
		(void)pthread_mutex_unlock(&ss->ss_lock);
		(void)sched_yield();
	} while (!stop);
	return NULL;
}

START_TEST(test_job_never_runs_on_two_threads_at_once)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct selfsched ss;
	pthread_t hammers[3];
	struct timespec dl;
	unsigned int i;
	bool reached;

	memset(&ss, 0, sizeof(ss));
	(void)pthread_mutex_init(&ss.ss_lock, NULL);
	(void)pthread_cond_init(&ss.ss_cv, NULL);
	ss.ss_pool = pool;
	ss.ss_target = 3000;
	threadpool_job_init(&ss.ss_job, selfsched_run, &ss.ss_lock, "selfsched");

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&hammers[i], NULL, selfsched_hammer, &ss), 0);

	(void)clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 3 * TPT_DEADLINE_MS / 1000;
	(void)pthread_mutex_lock(&ss.ss_lock);
	while (ss.ss_runs < ss.ss_target) {
		if (pthread_cond_timedwait(&ss.ss_cv, &ss.ss_lock, &dl) == ETIMEDOUT)
			break;
	}
	reached = ss.ss_runs >= ss.ss_target;
	ss.ss_stop = true;
	(void)pthread_mutex_unlock(&ss.ss_lock);
	for (i = 0; i < 3; i++)
		(void)pthread_join(hammers[i], NULL);

	(void)pthread_mutex_lock(&ss.ss_lock);
	threadpool_cancel_job(pool, &ss.ss_job);
	(void)pthread_mutex_unlock(&ss.ss_lock);
	threadpool_job_destroy(&ss.ss_job);

	ck_assert_msg(reached, "only %u of %u runs in time", ss.ss_runs, ss.ss_target);
	ck_assert_uint_eq(atomic_load(&ss.ss_active), 0);
	ck_assert_msg(atomic_load(&ss.ss_max_active) == 1,
	    "the job ran on %u threads at once", atomic_load(&ss.ss_max_active));
	/* It had the chance to: more than one worker ran it. */
	ck_assert_msg(ss.ss_tids[1] != 0, "every run was on one thread; the test proved nothing");

	(void)pthread_cond_destroy(&ss.ss_cv);
	(void)pthread_mutex_destroy(&ss.ss_lock);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_cancel_async_queued_returns_true_and_never_runs)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct threadpool_stats st;
	struct tpt_job blocker, tj;
	struct tpt_gate gate;

	tpt_gate_init(&gate);
	tpt_job_init(&blocker, "blocker");
	tpt_job_init(&tj, "cancelled");
	tpt_ck_occupy(pool, &blocker, &gate);

	tpt_job_schedule(&tj, pool);
	threadpool_stats(pool, &st);
	ck_assert_uint_eq(st.tps_queued, 1);
	ck_assert(tpt_job_cancel_async(&tj, pool));
	threadpool_stats(pool, &st);
	ck_assert_uint_eq(st.tps_queued, 0);

	tpt_ck_release(pool, &blocker, &gate);
	ck_assert(tpt_wait_stats(pool, tpt_stats_idle_eq, 1, TPT_DEADLINE_MS));
	tpt_sleep_ms(TPT_QUIET_MS);
	ck_assert_uint_eq(tpt_job_started(&tj), 0);

	/* Cancelled, it is idle again: a new schedule runs it. */
	tpt_job_schedule(&tj, pool);
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));

	tpt_job_fini(&tj);
	tpt_job_fini(&blocker);
	tpt_gate_destroy(&gate);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

static unsigned int
queued_of(struct threadpool *pool)
{
	struct threadpool_stats st;

	threadpool_stats(pool, &st);
	return st.tps_queued;
}

/*
 * Behind a capped pool whose workers are all busy, a scheduled job is
 * queued without the pool lock (job.c): such jobs still run in the order
 * they were scheduled, are counted queued, and each can be cancelled.
 */
START_TEST(test_jobs_queued_behind_busy_capped_pool_keep_order_and_cancel)
{
	enum { N = 64 };
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job blocker, jobs[N];
	struct tpt_gate gate;
	unsigned int i, prev;

	tpt_gate_init(&gate);
	tpt_job_init(&blocker, "blocker");
	for (i = 0; i < N; i++)
		tpt_job_init(&jobs[i], "in-line");
	tpt_ck_occupy(pool, &blocker, &gate);

	for (i = 0; i < N; i++)
		tpt_job_schedule(&jobs[i], pool);
	ck_assert_uint_eq(queued_of(pool), N);
	/* The first, one in the middle and the last. */
	ck_assert(tpt_job_cancel_async(&jobs[0], pool));
	ck_assert(tpt_job_cancel_async(&jobs[N / 2], pool));
	ck_assert(tpt_job_cancel_async(&jobs[N - 1], pool));
	ck_assert_uint_eq(queued_of(pool), N - 3);
	/* Scheduled again, the last one goes to the end of the line. */
	tpt_job_schedule(&jobs[0], pool);

	tpt_gate_open(&gate);
	ck_assert(tpt_job_wait_finished(&blocker, 1, TPT_DEADLINE_MS));
	for (i = 0; i < N - 1; i++)
		if (i != N / 2)
			ck_assert_msg(tpt_job_wait_finished(&jobs[i], 1,
			    TPT_DEADLINE_MS), "job %u did not run", i);
	tpt_sleep_ms(TPT_QUIET_MS);
	ck_assert_uint_eq(tpt_job_started(&jobs[N / 2]), 0);
	ck_assert_uint_eq(tpt_job_started(&jobs[N - 1]), 0);
	for (prev = 0, i = 1; i < N - 1; i++) {
		if (i == N / 2)
			continue;
		ck_assert_uint_eq(tpt_job_started(&jobs[i]), 1);
		ck_assert_msg(jobs[i].tj_order > prev,
		    "job %u started before the one scheduled before it", i);
		prev = jobs[i].tj_order;
	}
	ck_assert_msg(jobs[0].tj_order > prev,
	    "the job scheduled last did not start last");
	ck_assert_uint_eq(queued_of(pool), 0);

	threadpool_set_max_threads(pool, 0);
	for (i = 0; i < N; i++)
		tpt_job_fini(&jobs[i]);
	tpt_job_fini(&blocker);
	tpt_gate_destroy(&gate);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_cancel_async_running_returns_false_and_it_runs_to_end)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job tj;
	struct tpt_gate gate;

	tpt_gate_init(&gate);
	tpt_job_init(&tj, "too-late");
	tj.tj_gate = &gate;
	tpt_job_schedule(&tj, pool);
	ck_assert(tpt_job_wait_started(&tj, 1, TPT_DEADLINE_MS));

	ck_assert(!tpt_job_cancel_async(&tj, pool));
	ck_assert(!tpt_job_cancel_async(&tj, pool));
	ck_assert_uint_eq(tpt_job_finished(&tj), 0);

	tpt_gate_open(&gate);
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
	ck_assert_uint_eq(tpt_job_started(&tj), 1);
	/* Done, it is idle: cancel says it will not run. */
	ck_assert(tpt_job_cancel_async(&tj, pool));

	tpt_job_fini(&tj);
	tpt_gate_destroy(&gate);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_cancel_returns_only_when_job_not_running)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job tj;
	unsigned int finished;
	uint64_t t0, waited;

	tpt_job_init(&tj, "slow");
	tj.tj_sleep_ms = 300;
	tpt_job_schedule(&tj, pool);
	ck_assert(tpt_job_wait_started(&tj, 1, TPT_DEADLINE_MS));

	t0 = tpt_now_ns();
	(void)pthread_mutex_lock(&tj.tj_lock);
	threadpool_cancel_job(pool, &tj.tj_job);
	finished = tj.tj_finished;
	(void)pthread_mutex_unlock(&tj.tj_lock);
	waited = tpt_ms_since(t0);

	ck_assert_msg(finished == 1, "cancel_job returned while the job was running");
	ck_assert_msg(waited >= 100, "cancel_job returned after %ju ms of a 300 ms run",
	    (uintmax_t)waited);
	ck_assert_uint_eq(tpt_job_started(&tj), 1);

	tpt_job_fini(&tj);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_cancel_of_queued_job_returns_at_once_and_it_never_runs)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job blocker, tj;
	struct tpt_gate gate;
	uint64_t t0;

	tpt_gate_init(&gate);
	tpt_job_init(&blocker, "blocker");
	tpt_job_init(&tj, "sync-cancelled");
	tpt_ck_occupy(pool, &blocker, &gate);

	tpt_job_schedule(&tj, pool);
	t0 = tpt_now_ns();
	tpt_job_cancel(&tj, pool);
	/* The blocker still holds the only worker: nothing to wait for. */
	ck_assert_uint_lt(tpt_ms_since(t0), 2000);
	ck_assert_uint_eq(tpt_job_finished(&blocker), 0);

	tpt_ck_release(pool, &blocker, &gate);
	ck_assert(tpt_wait_stats(pool, tpt_stats_idle_eq, 1, TPT_DEADLINE_MS));
	tpt_sleep_ms(TPT_QUIET_MS);
	ck_assert_uint_eq(tpt_job_started(&tj), 0);

	tpt_job_fini(&tj);
	tpt_job_fini(&blocker);
	tpt_gate_destroy(&gate);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_cancel_of_idle_job_is_true)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job tj;

	tpt_job_init(&tj, "idle");
	/* Never scheduled. */
	ck_assert(tpt_job_cancel_async(&tj, pool));
	tpt_job_cancel(&tj, pool);
	ck_assert(tpt_job_cancel_async(&tj, pool));
	/* Already done. */
	tpt_job_schedule(&tj, pool);
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
	ck_assert(tpt_job_cancel_async(&tj, pool));
	tpt_job_cancel(&tj, pool);
	ck_assert(tpt_job_cancel_async(&tj, pool));
	ck_assert_uint_eq(tpt_job_started(&tj), 1);

	tpt_job_fini(&tj);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_cancel_through_other_unbound_pool_is_right)
{
	/* Nice 0 either way, so no privilege is needed for the second pool. */
	const tp_pri_t other_pri = TP_PRI_USER_MIN + 19;
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct threadpool *other = tpt_ck_get_pool(other_pri);

	tpt_ck_cancel_through_other(pool, other);
	threadpool_put(other, other_pri);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

/*
 * job_destroy waits for the last reference: the worker holds one until
 * the job's function has returned, which may be well after job_done.
 */
struct lingerer {
	pthread_mutex_t		lg_lock;	/* the job lock (l) */
	pthread_cond_t		lg_cv;		/* l: lg_done set */
	struct threadpool_job	lg_job;
	bool			lg_done;	/* l: threadpool_job_done called */
	atomic_bool		lg_returned;	/* the function is about to return */
};

static void
lingerer_run(struct threadpool_job *job)
{
	struct lingerer *lg = (struct lingerer *)((char *)job -
	    offsetof(struct lingerer, lg_job));

	(void)pthread_mutex_lock(&lg->lg_lock);
	lg->lg_done = true;
	threadpool_job_done(job);
	(void)pthread_cond_broadcast(&lg->lg_cv);
	(void)pthread_mutex_unlock(&lg->lg_lock);
	tpt_sleep_ms(300);
	atomic_store(&lg->lg_returned, true);
}

START_TEST(test_job_destroy_waits_for_last_reference)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct lingerer lg;
	uint64_t t0, waited;
	bool returned;

	memset(&lg, 0, sizeof(lg));
	(void)pthread_mutex_init(&lg.lg_lock, NULL);
	(void)pthread_cond_init(&lg.lg_cv, NULL);
	atomic_init(&lg.lg_returned, false);
	threadpool_job_init(&lg.lg_job, lingerer_run, &lg.lg_lock, "lingerer");

	(void)pthread_mutex_lock(&lg.lg_lock);
	threadpool_schedule_job(pool, &lg.lg_job);
	while (!lg.lg_done)
		(void)pthread_cond_wait(&lg.lg_cv, &lg.lg_lock);
	(void)pthread_mutex_unlock(&lg.lg_lock);

	t0 = tpt_now_ns();
	threadpool_job_destroy(&lg.lg_job);
	returned = atomic_load(&lg.lg_returned);
	waited = tpt_ms_since(t0);
	ck_assert_msg(returned, "job_destroy returned while a worker still ran the job "
	    "(after %ju ms)", (uintmax_t)waited);

	(void)pthread_cond_destroy(&lg.lg_cv);
	(void)pthread_mutex_destroy(&lg.lg_lock);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

/*
 * Contract violations.  Each runs in a forked child with its output
 * captured: it must die of SIGABRT and name the job.
 */
static struct threadpool *child_pool;

static void
forgetful_run(struct threadpool_job *job)
{

	(void)job;	/* returns without threadpool_job_done */
}

static void
self_canceller_run(struct threadpool_job *job)
{

	(void)pthread_mutex_lock(job->job_lock);
	threadpool_cancel_job(child_pool, job);
	threadpool_job_done(job);
	(void)pthread_mutex_unlock(job->job_lock);
}

static int
child_linger(void)
{

	tpt_sleep_ms(8000);
	(void)fprintf(stderr, "no abort\n");
	return 3;
}

/* Schedule a job running fn, named name; the job must make the child abort. */
struct bad_job {
	threadpool_job_fn_t	*bj_fn;
	const char		*bj_name;
};

static int
child_runs_bad_job(void *arg)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct threadpool_job job;
	const struct bad_job *bj = arg;

	if (threadpool_get(&child_pool, TP_PRI_NONE) != 0)
		return 2;
	threadpool_job_init(&job, bj->bj_fn, &lock, "%s", bj->bj_name);
	(void)pthread_mutex_lock(&lock);
	threadpool_schedule_job(child_pool, &job);
	(void)pthread_mutex_unlock(&lock);
	return child_linger();
}

static int
child_destroys_queued_job(void *arg)
{
	static struct tpt_job blocker, tj;
	static struct tpt_gate gate;

	(void)arg;
	if (threadpool_get(&child_pool, TP_PRI_NONE) != 0)
		return 2;
	tpt_gate_init(&gate);
	tpt_job_init(&blocker, "blocker");
	tpt_job_init(&tj, "queued-destroyed");
	threadpool_set_max_threads(child_pool, 1);
	blocker.tj_gate = &gate;
	tpt_job_schedule(&blocker, child_pool);
	if (!tpt_job_wait_started(&blocker, 1, TPT_DEADLINE_MS))
		return 4;
	tpt_job_schedule(&tj, child_pool);
	threadpool_job_destroy(&tj.tj_job);
	return child_linger();
}

static int
child_destroys_running_job(void *arg)
{
	static struct tpt_job tj;
	static struct tpt_gate gate;

	(void)arg;
	if (threadpool_get(&child_pool, TP_PRI_NONE) != 0)
		return 2;
	tpt_gate_init(&gate);
	tpt_job_init(&tj, "running-destroyed");
	tj.tj_gate = &gate;
	tpt_job_schedule(&tj, child_pool);
	if (!tpt_job_wait_started(&tj, 1, TPT_DEADLINE_MS))
		return 4;
	threadpool_job_destroy(&tj.tj_job);
	return child_linger();
}

static void
check_aborts_naming(int (*fn)(void *), void *arg, const char *name)
{
	char out[8192];
	int status, error;

	error = tpt_fork_run(fn, arg, 20, out, sizeof(out), &status);
	ck_assert_int_eq(error, 0);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	    "child did not abort (%s %d); its output:\n%s",
	    WIFSIGNALED(status) ? "signal" : "exit",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), out);
	ck_assert_msg(strstr(out, name) != NULL,
	    "the abort message does not name the job \"%s\":\n%s", name, out);
}

START_TEST(test_job_returning_without_done_aborts)
{

	struct bad_job bj = { .bj_fn = forgetful_run, .bj_name = "forgetful-job" };

	check_aborts_naming(child_runs_bad_job, &bj, bj.bj_name);
}
END_TEST

START_TEST(test_job_cancelling_itself_synchronously_aborts)
{

	struct bad_job bj = { .bj_fn = self_canceller_run, .bj_name = "self-canceller" };

	check_aborts_naming(child_runs_bad_job, &bj, bj.bj_name);
}
END_TEST

START_TEST(test_job_destroy_of_queued_job_aborts)
{

	check_aborts_naming(child_destroys_queued_job, NULL, "queued-destroyed");
}
END_TEST

START_TEST(test_job_destroy_of_running_job_aborts)
{

	check_aborts_naming(child_destroys_running_job, NULL, "running-destroyed");
}
END_TEST

static void
name_fn(struct threadpool_job *job)
{

	(void)job;
}

/* What vsnprintf(3) makes of fmt in a job name's room (cut: on purpose). */
static void
printf_name(char want[TP_JOB_NAME_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(want, TP_JOB_NAME_MAX, fmt, ap);
	va_end(ap);
}

/* The job's name is what vsnprintf(3) makes of the format, cut alike. */
#define	ASSERT_NAME(...) do {						\
	struct threadpool_job j;					\
	char want[TP_JOB_NAME_MAX];					\
									\
	printf_name(want, __VA_ARGS__);					\
	threadpool_job_init(&j, name_fn, &lock, __VA_ARGS__);		\
	ck_assert_str_eq(j.job_name, want);				\
	threadpool_job_destroy(&j);					\
} while (0)

START_TEST(test_job_name_as_printf)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	char longname[3 * TP_JOB_NAME_MAX];
	const char *volatile nothing = NULL;

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ASSERT_NAME("%s", "echo");
	ASSERT_NAME("%s", "");
	ASSERT_NAME("%s", longname);
	ASSERT_NAME("%s", nothing);
	ASSERT_NAME("plain");
	ASSERT_NAME("%s-%d", "hash", 42);
	ASSERT_NAME("%%s");
	ASSERT_NAME("%.3s", "echo");
	ASSERT_NAME("%s%s", "ab", "cd");
	ASSERT_NAME("a very long plain name that goes past the buffer of the "
	    "job's name by some way, and on and on");
}
END_TEST

static Suite *
job_suite(void)
{
	Suite *s = suite_create("job");
	TCase *tc;

	tc = tcase_create("schedule");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_schedule_runs_job_once);
	tcase_add_test(tc, test_job_runs_again_when_scheduled_after_done);
	tcase_add_test(tc, test_schedule_queued_job_does_nothing);
	tcase_add_test(tc, test_schedule_running_job_does_nothing);
	tcase_add_test(tc, test_job_never_runs_on_two_threads_at_once);
	tcase_add_test(tc, test_job_name_as_printf);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_cancel_async_queued_returns_true_and_never_runs);
	tcase_add_test(tc, test_jobs_queued_behind_busy_capped_pool_keep_order_and_cancel);
	tcase_add_test(tc, test_cancel_async_running_returns_false_and_it_runs_to_end);
	tcase_add_test(tc, test_cancel_returns_only_when_job_not_running);
	tcase_add_test(tc, test_cancel_of_queued_job_returns_at_once_and_it_never_runs);
	tcase_add_test(tc, test_cancel_of_idle_job_is_true);
	tcase_add_test(tc, test_cancel_through_other_unbound_pool_is_right);
	suite_add_tcase(s, tc);

	tc = tcase_create("destroy");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_job_destroy_waits_for_last_reference);
	suite_add_tcase(s, tc);

	/* Aborting children: only where Check forks (not under CK_FORK=no). */
	if (tpt_fork_mode()) {
		tc = tcase_create("contract");
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, test_job_returning_without_done_aborts);
		tcase_add_test(tc, test_job_cancelling_itself_synchronously_aborts);
		tcase_add_test(tc, test_job_destroy_of_queued_job_aborts);
		tcase_add_test(tc, test_job_destroy_of_running_job_aborts);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{

	return tpt_run_suite(job_suite());
}
