/*
 * test_unlock.c -- Check runner for threadpool_schedule_job_unlock(): it
 * schedules as threadpool_schedule_job() does, releases the job lock, and
 * only then wakes the worker it handed the job to.
 *
 * What must hold: the job runs once, as it would have; the caller holds
 * the job lock no more when the call returns, whether the job was handed
 * over, queued, or left alone because it was running; and a worker that
 * starts, ends its job and goes to exit before the caller's wakeup waits
 * for that wakeup, so that the wakeup never touches a thread that is gone
 * (the test hook tp_test_delay_deferred_wake holds the caller there; an
 * AddressSanitizer build reports the use after free the wait prevents).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <threadpool.h>

#include "tp_test.h"
#include "util.h"

/*
 * Lock, schedule with threadpool_schedule_job_unlock: 0 when the call
 * released the lock.  glibc records the owner's thread id in the mutex
 * (as libtp's debug build checks it): the caller's id there after the call
 * means that the caller still holds it.
 */
static int
schedule_unlock(struct tpt_job *tj, struct threadpool *pool)
{
	pid_t self = gettid();

	(void)pthread_mutex_lock(&tj->tj_lock);
	threadpool_schedule_job_unlock(pool, &tj->tj_job);
	if (__atomic_load_n(&tj->tj_lock.__data.__owner, __ATOMIC_RELAXED) ==
	    self) {
		(void)pthread_mutex_unlock(&tj->tj_lock);
		return -1;
	}
	return 0;
}

START_TEST(test_schedule_unlock_runs_job_once_and_releases_lock)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job tj;
	unsigned int i;

	tpt_job_init(&tj, "unlock-once");
	for (i = 1; i <= 20; i++) {
		ck_assert_msg(schedule_unlock(&tj, pool) == 0,
		    "the caller still held the job lock after the call");
		ck_assert_msg(tpt_job_wait_finished(&tj, i, TPT_DEADLINE_MS),
		    "run %u did not happen", i);
	}
	tpt_sleep_ms(TPT_QUIET_MS);
	ck_assert_uint_eq(tpt_job_started(&tj), 20);
	ck_assert_uint_eq(tj.tj_max_active, 1);
	tpt_job_fini(&tj);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_schedule_unlock_of_running_job_does_nothing)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct threadpool_stats st;
	struct tpt_job tj;
	struct tpt_gate gate;
	unsigned int i;

	tpt_gate_init(&gate);
	tpt_job_init(&tj, "unlock-running");
	tj.tj_gate = &gate;
	ck_assert(schedule_unlock(&tj, pool) == 0);
	ck_assert(tpt_job_wait_started(&tj, 1, TPT_DEADLINE_MS));
	for (i = 0; i < 5; i++)
		ck_assert_msg(schedule_unlock(&tj, pool) == 0,
		    "a running job's schedule kept the job lock");
	threadpool_stats(pool, &st);
	ck_assert_uint_eq(st.tps_queued, 0);

	tpt_gate_open(&gate);
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
	tpt_sleep_ms(TPT_QUIET_MS);
	ck_assert_uint_eq(tpt_job_started(&tj), 1);
	tpt_job_fini(&tj);
	tpt_gate_destroy(&gate);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_schedule_unlock_queues_behind_a_busy_capped_pool)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct threadpool_stats st;
	struct tpt_job blocker, tj;
	struct tpt_gate gate;

	tpt_gate_init(&gate);
	tpt_job_init(&blocker, "unlock-blocker");
	tpt_job_init(&tj, "unlock-queued");
	tpt_ck_occupy(pool, &blocker, &gate);

	ck_assert_msg(schedule_unlock(&tj, pool) == 0,
	    "a queued job's schedule kept the job lock");
	threadpool_stats(pool, &st);
	ck_assert_uint_eq(st.tps_queued, 1);
	ck_assert_uint_eq(tpt_job_started(&tj), 0);

	tpt_ck_release(pool, &blocker, &gate);
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
	tpt_sleep_ms(TPT_QUIET_MS);
	ck_assert_uint_eq(tpt_job_started(&tj), 1);
	tpt_job_fini(&tj);
	tpt_job_fini(&blocker);
	tpt_gate_destroy(&gate);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

/* ------------------------------------------------------ the late waker */

struct late_waker {
	struct tpt_job		*lw_job;	/* c */
	struct threadpool	*lw_pool;	/* c */
	atomic_bool		lw_returned;	/* the call returned */
};

static void *
late_waker_main(void *arg)
{
	struct late_waker *lw = arg;

	(void)pthread_mutex_lock(&lw->lw_job->tj_lock);
	threadpool_schedule_job_unlock(lw->lw_pool, &lw->lw_job->tj_job);
	atomic_store(&lw->lw_returned, true);
	return NULL;
}

static bool
exited_above(const struct threadpool_stats *st, uintmax_t n)
{
	return st->tps_threads_exited > n;
}

static uint64_t
threads_exited(struct threadpool *pool)
{
	struct threadpool_stats st;

	threadpool_stats(pool, &st);
	return st.tps_threads_exited;
}

/*
 * One try: a worker W of pool, idle with the process's idle cap reached
 * (keeper's worker is idle too), is handed a job by a caller held for
 * delay_ms between its unlock and its wakeup.  W wakes by itself (to take
 * its own name back, or at its idle timeout), runs the job and, finding
 * the idle cap reached, goes to exit.  0: W waited for the wakeup; 1: the
 * try proved nothing (the caller returned before the check: too slow a
 * machine); above 1: W exited first, or something else failed.
 */
static int
late_waker_try(struct threadpool *pool, unsigned int delay_ms,
    unsigned int check_ms)
{
	struct tpt_job warm, tj;
	struct late_waker lw;
	pthread_t waker;
	uint64_t exited0;
	int rc = 0;

	tpt_job_init(&warm, "unlock-warm");
	tpt_job_init(&tj, "unlock-late");
	tpt_job_schedule(&warm, pool);
	if (!tpt_job_wait_finished(&warm, 1, TPT_DEADLINE_MS) ||
	    !tpt_wait_stats(pool, tpt_stats_idle_eq, 1, TPT_DEADLINE_MS))
		return 20;
	exited0 = threads_exited(pool);
	/* Two idle workers in the process (W and keeper's), and a cap of one:
	 * W exits after its next job. */
	threadpool_set_max_idle_threads(1);

	lw.lw_job = &tj;
	lw.lw_pool = pool;
	atomic_init(&lw.lw_returned, false);
	tp_test_delay_deferred_wake(delay_ms * 1000);
	if (pthread_create(&waker, NULL, late_waker_main, &lw) != 0)
		return 21;
	if (!tpt_job_wait_finished(&tj, 1, delay_ms))
		rc = 1;		/* not run before the wakeup */
	else
		tpt_sleep_ms(check_ms);
	if (rc == 0 && atomic_load(&lw.lw_returned))
		rc = 1;
	if (rc == 0 && threads_exited(pool) != exited0) {
		(void)fprintf(stderr, "the worker exited while the caller that "
		    "handed it the job had not woken it yet\n");
		rc = 22;
	}
	(void)pthread_join(waker, NULL);
	tp_test_delay_deferred_wake(0);
	if (rc == 0 && !tpt_wait_stats(pool, exited_above, exited0,
	    TPT_DEADLINE_MS))
		rc = 23;
	threadpool_set_max_idle_threads(0);
	if (!tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS))
		rc = 24;
	tpt_job_fini(&tj);
	tpt_job_fini(&warm);
	return rc;
}

static int
child_late_waker(void *arg)
{
	struct threadpool *keep, *pool;
	struct tpt_job kj;
	unsigned int m = tpt_time_mult() < 5 ? tpt_time_mult() : 5, i;
	int rc = 1;

	(void)arg;
	tpt_spawner_started();
	/* Another pool's worker, idle for the whole test. */
	if (threadpool_get(&keep, TP_PRI_USER_MIN) != 0 ||
	    threadpool_set_idle_timeout(keep, 600ULL * 1000 * 1000) != 0)
		return 10;
	tpt_job_init(&kj, "unlock-keeper");
	tpt_job_schedule(&kj, keep);
	if (!tpt_job_wait_finished(&kj, 1, TPT_DEADLINE_MS) ||
	    !tpt_wait_stats(keep, tpt_stats_idle_eq, 1, TPT_DEADLINE_MS))
		return 11;
	if (threadpool_get(&pool, TP_PRI_NONE) != 0 ||
	    threadpool_set_idle_timeout(pool, 1000ULL * 1000 * m) != 0)
		return 12;
	for (i = 0; i < 3 && rc == 1; i++)
		rc = late_waker_try(pool, 3000 * m, 100 * m);
	if (rc == 1)
		(void)fprintf(stderr, "in 3 tries the caller never was still "
		    "held when the worker had run the job\n");
	tpt_job_fini(&kj);
	threadpool_put(pool, TP_PRI_NONE);
	threadpool_put(keep, TP_PRI_USER_MIN);
	return rc;
}

START_TEST(test_worker_waits_for_late_waker_before_exiting)
{

	tpt_ck_child_succeeds(child_late_waker, NULL, 120);
}
END_TEST

/* ----------------------------------------------------------- stress */

#define	STRESS_THREADS	4
#define	STRESS_RUNS	400

struct stress_arg {
	struct threadpool	*sa_pool;
	struct tpt_job		sa_job;
	bool			sa_ok;
};

static void *
stress_main(void *arg)
{
	struct stress_arg *sa = arg;
	unsigned int i;

	sa->sa_ok = true;
	for (i = 1; i <= STRESS_RUNS && sa->sa_ok; i++) {
		if (schedule_unlock(&sa->sa_job, sa->sa_pool) != 0 ||
		    !tpt_job_wait_finished(&sa->sa_job, i, TPT_DEADLINE_MS))
			sa->sa_ok = false;
	}
	return NULL;
}

/*
 * Callers on several threads, each scheduling its job and waiting for its
 * end, with at most one idle worker kept in the process: workers exit
 * after most jobs, while the callers that handed them jobs are still
 * waking them.  Every run happens, once.
 */
START_TEST(test_schedule_unlock_while_workers_exit)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct stress_arg sa[STRESS_THREADS];
	pthread_t t[STRESS_THREADS];
	unsigned int i;
	char name[32];

	threadpool_set_max_idle_threads(1);
	for (i = 0; i < STRESS_THREADS; i++) {
		(void)snprintf(name, sizeof(name), "unlock-stress-%u", i);
		sa[i].sa_pool = pool;
		tpt_job_init(&sa[i].sa_job, name);
		ck_assert_int_eq(pthread_create(&t[i], NULL, stress_main,
		    &sa[i]), 0);
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		(void)pthread_join(t[i], NULL);
		ck_assert_msg(sa[i].sa_ok, "caller %u: a run did not happen, or "
		    "the job lock was kept", i);
		ck_assert_uint_eq(tpt_job_started(&sa[i].sa_job), STRESS_RUNS);
		ck_assert_uint_eq(sa[i].sa_job.tj_max_active, 1);
		tpt_job_fini(&sa[i].sa_job);
	}
	threadpool_set_max_idle_threads(0);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

static Suite *
unlock_suite(void)
{
	Suite *s = suite_create("unlock");
	TCase *tc;

	tc = tcase_create("schedule");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_schedule_unlock_runs_job_once_and_releases_lock);
	tcase_add_test(tc, test_schedule_unlock_of_running_job_does_nothing);
	tcase_add_test(tc, test_schedule_unlock_queues_behind_a_busy_capped_pool);
	suite_add_tcase(s, tc);

	tc = tcase_create("exit");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_worker_waits_for_late_waker_before_exiting);
	tcase_add_test(tc, test_schedule_unlock_while_workers_exit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{

	return tpt_run_suite(unlock_suite());
}
