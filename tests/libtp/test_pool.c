/*
 * test_pool.c -- Check runner for libtp's unbound pools: get and put,
 * reference counts and the creation race, the threads' life (created on
 * demand, idle ones exiting after the idle timeout, all joined by the last
 * put), the thread cap, the idle timeout settings, injected thread
 * creation failures and the statistics.
 *
 * Threads are counted in /proc/self/task, so these tests also see what
 * the statistics do not (an overseer, a thread left behind).
 *
 * (Over 800 lines: libtp's runners are one per module, and this is the
 * unbound pool's: 21 tests in two test cases, references and threads.)
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <threadpool.h>

#include "tp_test.h"
#include "util.h"

#define	DEFAULT_IDLE_US		(30u * 1000 * 1000)

static struct threadpool_stats
stats_of(struct threadpool *pool)
{
	struct threadpool_stats st;

	threadpool_stats(pool, &st);
	return st;
}

START_TEST(test_get_gives_one_shared_pool_per_priority)
{
	struct threadpool *a, *b, *c;
	struct threadpool_stats st;

	a = tpt_ck_get_pool(TP_PRI_NONE);
	b = tpt_ck_get_pool(TP_PRI_NONE);
	c = tpt_ck_get_pool(TP_PRI_USER_MIN + 19);
	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_ne(a, c);

	st = stats_of(a);
	ck_assert_int_eq(st.tps_cpu, -1);
	ck_assert_int_eq(st.tps_pri, TP_PRI_NONE);
	st = stats_of(c);
	ck_assert_int_eq(st.tps_cpu, -1);
	ck_assert_int_eq(st.tps_pri, TP_PRI_USER_MIN + 19);

	threadpool_put(c, TP_PRI_USER_MIN + 19);
	threadpool_put(b, TP_PRI_NONE);
	threadpool_put(a, TP_PRI_NONE);
}
END_TEST

START_TEST(test_get_starts_an_overseer_and_no_worker)
{
	unsigned int base = tpt_count_tasks();
	struct threadpool *pool;
	struct threadpool_stats st;

	pool = tpt_ck_get_pool(TP_PRI_NONE);
	ck_assert_uint_eq(tpt_count_tasks(), base + 1);
	st = stats_of(pool);
	ck_assert_uint_eq(st.tps_threads, 0);
	ck_assert_uint_eq(st.tps_idle, 0);
	ck_assert_uint_eq(st.tps_threads_created, 0);
	threadpool_put(pool, TP_PRI_NONE);
	ck_assert_msg(tpt_wait_task_count(base, 1000), "%u threads left after put, %u before get",
	    tpt_count_tasks(), base);
}
END_TEST

/* Many threads call threadpool_get at the same priority at once. */
#define	RACERS		16
#define	RACE_ROUNDS	10

struct race {
	pthread_barrier_t	r_barrier;
	tp_pri_t		r_pri;
	struct threadpool	*r_pools[RACERS];
	int			r_errors[RACERS];
};

struct racer {
	struct race		*rc_race;
	unsigned int		rc_index;
};

static void *
racer_thread(void *arg)
{
	struct racer *rc = arg;
	struct race *r = rc->rc_race;

	(void)pthread_barrier_wait(&r->r_barrier);
	r->r_errors[rc->rc_index] = threadpool_get(&r->r_pools[rc->rc_index], r->r_pri);
	/* Everyone holds a reference before anyone drops one. */
	(void)pthread_barrier_wait(&r->r_barrier);
	if (r->r_errors[rc->rc_index] == 0)
		threadpool_put(r->r_pools[rc->rc_index], r->r_pri);
	return NULL;
}

START_TEST(test_get_creation_race_gives_every_caller_one_pool)
{
	unsigned int base = tpt_count_tasks();
	struct racer racers[RACERS];
	pthread_t threads[RACERS];
	struct race r;
	unsigned int round, i;

	for (round = 0; round < RACE_ROUNDS; round++) {
		memset(&r, 0, sizeof(r));
		r.r_pri = (tp_pri_t)(TP_PRI_USER_MIN + 7 + (round % 2));
		(void)pthread_barrier_init(&r.r_barrier, NULL, RACERS);
		for (i = 0; i < RACERS; i++) {
			racers[i].rc_race = &r;
			racers[i].rc_index = i;
			ck_assert_int_eq(pthread_create(&threads[i], NULL, racer_thread,
			    &racers[i]), 0);
		}
		for (i = 0; i < RACERS; i++)
			(void)pthread_join(threads[i], NULL);
		(void)pthread_barrier_destroy(&r.r_barrier);
		for (i = 0; i < RACERS; i++) {
			ck_assert_int_eq(r.r_errors[i], 0);
			ck_assert_msg(r.r_pools[i] == r.r_pools[0],
			    "round %u: caller %u got another pool", round, i);
		}
		/* The losers' pools and the winner's are gone, threads joined. */
		ck_assert_msg(tpt_wait_task_count(base, 2000),
		    "round %u: %u threads, %u before", round, tpt_count_tasks(), base);
	}
}
END_TEST

START_TEST(test_pool_lives_until_last_put)
{
	unsigned int base = tpt_count_tasks();
	struct threadpool *p1, *p2, *p3;
	struct tpt_job tj;

	p1 = tpt_ck_get_pool(TP_PRI_NONE);
	p2 = tpt_ck_get_pool(TP_PRI_NONE);
	p3 = tpt_ck_get_pool(TP_PRI_NONE);
	ck_assert_ptr_eq(p1, p2);
	ck_assert_ptr_eq(p2, p3);
	threadpool_put(p1, TP_PRI_NONE);
	threadpool_put(p2, TP_PRI_NONE);

	/* One reference left: the pool still works. */
	tpt_job_init(&tj, "survivor");
	tpt_job_schedule(&tj, p3);
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
	ck_assert_uint_gt(tpt_count_tasks(), base);
	tpt_job_fini(&tj);

	threadpool_put(p3, TP_PRI_NONE);
	ck_assert(tpt_wait_task_count(base, 1000));
}
END_TEST

/*
 * Start n workers at once: n jobs held at a gate, then let them end and
 * wait until every worker is idle.  Their thread ids go to tids if not NULL.
 */
static void
make_workers(struct threadpool *pool, struct tpt_job *jobs, unsigned int n,
    struct tpt_gate *gate, pid_t *tids)
{
	char name[32];
	unsigned int i;

	for (i = 0; i < n; i++) {
		(void)snprintf(name, sizeof(name), "worker-maker-%u", i);
		tpt_job_init(&jobs[i], name);
		jobs[i].tj_gate = gate;
		tpt_job_schedule(&jobs[i], pool);
	}
	for (i = 0; i < n; i++)
		ck_assert(tpt_job_wait_started(&jobs[i], 1, TPT_DEADLINE_MS));
	tpt_gate_open(gate);
	for (i = 0; i < n; i++)
		ck_assert(tpt_job_wait_finished(&jobs[i], 1, TPT_DEADLINE_MS));
	ck_assert(tpt_wait_stats(pool, tpt_stats_idle_eq, n, TPT_DEADLINE_MS));
	for (i = 0; i < n; i++) {
		if (tids != NULL)
			tids[i] = jobs[i].tj_tid;
		tpt_job_fini(&jobs[i]);
	}
}

START_TEST(test_put_of_last_reference_joins_all_threads)
{
	unsigned int base = tpt_count_tasks();
	struct threadpool *pool;
	struct tpt_job jobs[8];
	struct tpt_gate gate;
	struct threadpool_stats st;
	pid_t tids[8];
	unsigned int i;

	pool = tpt_ck_get_pool(TP_PRI_NONE);
	ck_assert_int_eq(threadpool_set_idle_timeout(pool, DEFAULT_IDLE_US), 0);
	tpt_gate_init(&gate);
	make_workers(pool, jobs, 8, &gate, tids);
	tpt_gate_destroy(&gate);

	st = stats_of(pool);
	ck_assert_uint_eq(st.tps_threads, 8);
	/* Eight workers and the overseer. */
	ck_assert_uint_eq(tpt_count_tasks(), base + 9);
	for (i = 0; i < 8; i++)
		ck_assert(tpt_task_exists(tids[i]));

	threadpool_put(pool, TP_PRI_NONE);
	/*
	 * Joined: pthread_join may return a moment before the kernel drops
	 * the task, so allow a short grace, far below the 30 s idle timeout.
	 */
	ck_assert_msg(tpt_wait_task_count(base, 500),
	    "%u threads after the last put, %u before get", tpt_count_tasks(), base);
	for (i = 0; i < 8; i++)
		ck_assert_msg(!tpt_task_exists(tids[i]), "worker %d outlived the pool",
		    (int)tids[i]);
}
END_TEST

START_TEST(test_destroy_wakes_idle_workers_at_once)
{
	unsigned int base = tpt_count_tasks();
	struct threadpool *pool;
	struct tpt_job jobs[4];
	struct tpt_gate gate;
	uint64_t t0, took;

	pool = tpt_ck_get_pool(TP_PRI_NONE);
	ck_assert_int_eq(threadpool_set_idle_timeout(pool, DEFAULT_IDLE_US), 0);
	tpt_gate_init(&gate);
	make_workers(pool, jobs, 4, &gate, NULL);
	tpt_gate_destroy(&gate);

	t0 = tpt_now_ns();
	threadpool_put(pool, TP_PRI_NONE);
	took = tpt_ms_since(t0);
	tpt_note("last put with 4 idle workers (30 s timeout): %ju ms", (uintmax_t)took);
	ck_assert_msg(took < 1000, "the last put took %ju ms with 4 idle workers",
	    (uintmax_t)took);
	ck_assert(tpt_wait_task_count(base, 500));
}
END_TEST

START_TEST(test_idle_worker_exits_after_timeout_and_next_job_gets_a_new_one)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct threadpool_stats st0, st;
	struct tpt_job tj;
	pid_t tid;

	ck_assert_int_eq(threadpool_set_idle_timeout(pool, 50 * 1000), 0);
	st0 = stats_of(pool);
	tpt_job_init(&tj, "short-lived");
	tpt_job_schedule(&tj, pool);
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
	tid = tj.tj_tid;
	ck_assert(tpt_task_exists(tid) || stats_of(pool).tps_threads == 0);

	ck_assert_msg(tpt_wait_stats(pool, tpt_stats_threads_eq, 0, TPT_DEADLINE_MS),
	    "an idle worker outlived a 50 ms idle timeout");
	st = stats_of(pool);
	ck_assert_uint_eq(st.tps_idle, 0);
	ck_assert_uint_eq(st.tps_threads_exited - st0.tps_threads_exited,
	    st.tps_threads_created - st0.tps_threads_created);
	ck_assert_uint_ge(st.tps_threads_exited - st0.tps_threads_exited, 1);
	ck_assert_msg(tpt_wait_task_gone(tid, 1000), "worker %d still in /proc/self/task",
	    (int)tid);

	/* The next job gets a new worker. */
	tpt_job_schedule(&tj, pool);
	ck_assert(tpt_job_wait_finished(&tj, 2, TPT_DEADLINE_MS));
	st0 = st;
	st = stats_of(pool);
	ck_assert_uint_eq(st.tps_threads_created - st0.tps_threads_created, 1);
	ck_assert_uint_eq(st.tps_jobs_run - st0.tps_jobs_run, 1);

	tpt_job_fini(&tj);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

/*
 * The seed handed a job to the worker idle the longest, so under a light
 * steady load every worker got a job now and then and none ever timed
 * out.  Handing it to the most recently idle one lets the others go.
 */
START_TEST(test_light_steady_load_lets_surplus_workers_time_out)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct threadpool_stats st0, st;
	struct tpt_job jobs[4], tj;
	struct tpt_gate gate;
	unsigned int runs = 0;
	uint64_t t0;

	ck_assert_int_eq(threadpool_set_idle_timeout(pool, DEFAULT_IDLE_US), 0);
	tpt_gate_init(&gate);
	make_workers(pool, jobs, 4, &gate, NULL);
	tpt_gate_destroy(&gate);
	st0 = stats_of(pool);
	ck_assert_int_eq(threadpool_set_idle_timeout(pool, 250 * 1000), 0);

	/* One short job every 20 ms: one worker is plenty. */
	tpt_job_init(&tj, "light-load");
	t0 = tpt_now_ns();
	while (tpt_ms_since(t0) < 1500) {
		tpt_job_schedule(&tj, pool);
		ck_assert(tpt_job_wait_finished(&tj, ++runs, TPT_DEADLINE_MS));
		tpt_sleep_ms(20);
	}
	st = stats_of(pool);
	tpt_note("light load: %u runs, %u workers left of 4, %ju exited", runs,
	    st.tps_threads, (uintmax_t)(st.tps_threads_exited - st0.tps_threads_exited));
	ck_assert_msg(st.tps_threads <= 2, "%u workers kept alive by one job every 20 ms",
	    st.tps_threads);
	ck_assert_uint_ge(st.tps_threads_exited - st0.tps_threads_exited, 2);
	tpt_job_fini(&tj);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_setting_idle_timeout_wakes_idle_workers)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job jobs[2];
	struct tpt_gate gate;

	ck_assert_int_eq(threadpool_set_idle_timeout(pool, DEFAULT_IDLE_US), 0);
	tpt_gate_init(&gate);
	make_workers(pool, jobs, 2, &gate, NULL);
	tpt_gate_destroy(&gate);
	/* Waiting out 30 s; a shorter timeout must apply now. */
	ck_assert_int_eq(threadpool_set_idle_timeout(pool, 20 * 1000), 0);
	ck_assert_msg(tpt_wait_stats(pool, tpt_stats_threads_eq, 0, 3000),
	    "idle workers kept waiting out the old 30 s timeout");
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_idle_timeout_below_1ms_is_rejected)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);

	ck_assert_int_eq(threadpool_set_idle_timeout(pool, 0), EINVAL);
	ck_assert_int_eq(threadpool_set_idle_timeout(pool, 1), EINVAL);
	ck_assert_int_eq(threadpool_set_idle_timeout(pool, 999), EINVAL);
	ck_assert_int_eq(threadpool_set_idle_timeout(pool, 1000), 0);
	ck_assert_int_eq(threadpool_set_idle_timeout(pool, DEFAULT_IDLE_US), 0);

	ck_assert_int_eq(threadpool_set_default_idle_timeout(0), EINVAL);
	ck_assert_int_eq(threadpool_set_default_idle_timeout(999), EINVAL);
	ck_assert_int_eq(threadpool_set_default_idle_timeout(1000), 0);
	ck_assert_int_eq(threadpool_set_default_idle_timeout(DEFAULT_IDLE_US), 0);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_default_idle_timeout_applies_to_new_pools)
{
	const tp_pri_t pri = TP_PRI_USER_MIN + 3;
	struct threadpool *pool;
	struct tpt_job tj;

	ck_assert_int_eq(threadpool_set_default_idle_timeout(30 * 1000), 0);
	pool = tpt_ck_get_pool(pri);
	ck_assert_int_eq(threadpool_set_default_idle_timeout(DEFAULT_IDLE_US), 0);
	tpt_job_init(&tj, "default-timeout");
	tpt_job_schedule(&tj, pool);
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
	ck_assert_msg(tpt_wait_stats(pool, tpt_stats_threads_eq, 0, 3000),
	    "a pool created after set_default_idle_timeout(30 ms) kept its worker");
	tpt_job_fini(&tj);
	threadpool_put(pool, pri);
}
END_TEST

/*
 * TPOOL_IDLE_TIMEOUT_MS is read when the process creates its first pool,
 * so it is tested in a fresh process: this program run again with
 * TPT_ENV_CHILD set, which runs env_child() instead of the suite.
 */
static int
env_child(const char *mode)
{
	struct threadpool *pool;
	struct tpt_job tj;
	bool gone;

	if (threadpool_get(&pool, TP_PRI_NONE) != 0)
		return 10;
	tpt_job_init(&tj, "env-child");
	tpt_job_schedule(&tj, pool);
	if (!tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS))
		return 11;
	if (strcmp(mode, "short") == 0) {
		/* TPOOL_IDLE_TIMEOUT_MS=40: the worker goes within seconds. */
		gone = tpt_wait_stats(pool, tpt_stats_threads_eq, 0, 3000);
		if (!gone)
			(void)fprintf(stderr, "worker outlived TPOOL_IDLE_TIMEOUT_MS=40\n");
	} else {
		/* An invalid value is ignored: the 30 s default holds. */
		struct threadpool_stats st;

		tpt_sleep_ms(300);
		threadpool_stats(pool, &st);
		gone = st.tps_threads == 1;
		if (!gone)
			(void)fprintf(stderr, "an invalid TPOOL_IDLE_TIMEOUT_MS was used "
			    "(%u workers after 300 ms idle)\n", st.tps_threads);
	}
	tpt_job_fini(&tj);
	threadpool_put(pool, TP_PRI_NONE);
	return gone ? 0 : 1;
}

struct env_run {
	const char	*er_value;
	const char	*er_mode;
};

static int
env_exec(void *arg)
{
	const struct env_run *er = arg;

	char self[PATH_MAX];
	ssize_t n;

	/* readlink rather than exec /proc/self/exe: valgrind fakes the former. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 126;
	self[n] = '\0';
	(void)setenv("TPOOL_IDLE_TIMEOUT_MS", er->er_value, 1);
	(void)setenv("TPT_ENV_CHILD", er->er_mode, 1);
	(void)execl(self, "test_pool", (char *)NULL);
	(void)fprintf(stderr, "exec %s: %s\n", self, strerror(errno));
	return 127;
}

static void
check_env_run(const char *value, const char *mode)
{
	struct env_run er = { .er_value = value, .er_mode = mode };

	tpt_ck_child_succeeds(env_exec, &er, 30);
}

START_TEST(test_env_idle_timeout_is_read_at_first_pool)
{

	check_env_run("40", "short");
}
END_TEST

START_TEST(test_env_idle_timeout_invalid_is_ignored)
{

	check_env_run("abc", "default");
	check_env_run("0", "default");
}
END_TEST

START_TEST(test_blocking_jobs_each_get_a_worker)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job jobs[16];
	atomic_uint meter, meter_max;
	char name[32];
	uint64_t t0, took;
	unsigned int i;

	atomic_init(&meter, 0);
	atomic_init(&meter_max, 0);
	for (i = 0; i < 16; i++) {
		(void)snprintf(name, sizeof(name), "sleeper-%u", i);
		tpt_job_init(&jobs[i], name);
		jobs[i].tj_sleep_ms = 300;
		jobs[i].tj_meter = &meter;
		jobs[i].tj_meter_max = &meter_max;
	}
	t0 = tpt_now_ns();
	for (i = 0; i < 16; i++)
		tpt_job_schedule(&jobs[i], pool);
	for (i = 0; i < 16; i++)
		ck_assert(tpt_job_wait_finished(&jobs[i], 1, TPT_DEADLINE_MS));
	took = tpt_ms_since(t0);
	tpt_note("16 jobs sleeping 300 ms: %ju ms, at most %u at once", (uintmax_t)took,
	    atomic_load(&meter_max));
	/* In sequence: 4.8 s; all 16 at once (a worker each at once): 300 ms. */
	ck_assert_msg(took < 300 + 400 * tpt_time_mult(),
	    "16 jobs sleeping 300 ms took %ju ms", (uintmax_t)took);
	/* Most of them slept side by side (all 16, unless creating threads lagged). */
	ck_assert_msg(atomic_load(&meter_max) >= 8, "at most %u of 16 blocking jobs ran at once",
	    atomic_load(&meter_max));
	for (i = 0; i < 16; i++)
		tpt_job_fini(&jobs[i]);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_thread_cap_holds_and_every_job_runs)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct threadpool_stats st;
	struct tpt_job jobs[10];
	atomic_uint meter, meter_max;
	unsigned int i, done, max_seen = 0;
	char name[32];
	uint64_t t0;

	atomic_init(&meter, 0);
	atomic_init(&meter_max, 0);
	threadpool_set_max_threads(pool, 2);
	ck_assert_uint_eq(stats_of(pool).tps_max_threads, 2);
	for (i = 0; i < 10; i++) {
		(void)snprintf(name, sizeof(name), "capped-%u", i);
		tpt_job_init(&jobs[i], name);
		jobs[i].tj_sleep_ms = 60;
		jobs[i].tj_meter = &meter;
		jobs[i].tj_meter_max = &meter_max;
	}
	for (i = 0; i < 10; i++)
		tpt_job_schedule(&jobs[i], pool);

	t0 = tpt_now_ns();
	do {
		threadpool_stats(pool, &st);
		if (st.tps_threads > max_seen)
			max_seen = st.tps_threads;
		for (done = 0, i = 0; i < 10; i++)
			done += tpt_job_finished(&jobs[i]);
		tpt_sleep_ms(2);
	} while (done < 10 && tpt_ms_since(t0) < 3 * TPT_DEADLINE_MS);

	ck_assert_uint_eq(done, 10);
	ck_assert_msg(max_seen <= 2, "the stats showed %u workers under a cap of 2", max_seen);
	ck_assert_msg(atomic_load(&meter_max) <= 2, "%u jobs ran at once under a cap of 2",
	    atomic_load(&meter_max));
	ck_assert_msg(atomic_load(&meter_max) == 2, "never 2 at once: the cap was not used");
	for (i = 0; i < 10; i++) {
		ck_assert_uint_eq(tpt_job_started(&jobs[i]), 1);
		tpt_job_fini(&jobs[i]);
	}
	ck_assert_uint_le(stats_of(pool).tps_threads_created, 2);
	threadpool_set_max_threads(pool, 0);
	ck_assert_uint_eq(stats_of(pool).tps_max_threads, 0);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

START_TEST(test_lowering_cap_lets_surplus_workers_exit)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job jobs[4];
	struct tpt_gate gate;
	char name[32];
	unsigned int i;

	ck_assert_int_eq(threadpool_set_idle_timeout(pool, DEFAULT_IDLE_US), 0);
	tpt_gate_init(&gate);
	for (i = 0; i < 4; i++) {
		(void)snprintf(name, sizeof(name), "surplus-%u", i);
		tpt_job_init(&jobs[i], name);
		jobs[i].tj_gate = &gate;
		tpt_job_schedule(&jobs[i], pool);
	}
	for (i = 0; i < 4; i++)
		ck_assert(tpt_job_wait_started(&jobs[i], 1, TPT_DEADLINE_MS));
	threadpool_set_max_threads(pool, 1);
	tpt_gate_open(&gate);
	for (i = 0; i < 4; i++)
		ck_assert(tpt_job_wait_finished(&jobs[i], 1, TPT_DEADLINE_MS));
	ck_assert_msg(tpt_wait_stats(pool, tpt_stats_threads_le, 1, 3000),
	    "%u workers stayed above a cap of 1", stats_of(pool).tps_threads);
	for (i = 0; i < 4; i++)
		tpt_job_fini(&jobs[i]);
	tpt_gate_destroy(&gate);
	threadpool_set_max_threads(pool, 0);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

/*
 * Jobs scheduled right after the cap is lowered, while the surplus idle
 * workers have not exited yet, still run no more at once than the cap:
 * an idle worker over the cap is not handed a job.
 */
START_TEST(test_lowered_cap_holds_before_surplus_workers_exit)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job warm[4], jobs[4];
	atomic_uint meter, meter_max;
	struct tpt_gate gate;
	unsigned int round, i;
	char name[32];

	ck_assert_int_eq(threadpool_set_idle_timeout(pool, DEFAULT_IDLE_US), 0);
	atomic_init(&meter, 0);
	atomic_init(&meter_max, 0);
	for (round = 0; round < 20; round++) {
		/* Four workers, idle. */
		threadpool_set_max_threads(pool, 0);
		tpt_gate_init(&gate);
		for (i = 0; i < 4; i++) {
			(void)snprintf(name, sizeof(name), "warm-%u", i);
			tpt_job_init(&warm[i], name);
			warm[i].tj_gate = &gate;
			tpt_job_schedule(&warm[i], pool);
		}
		for (i = 0; i < 4; i++)
			ck_assert(tpt_job_wait_started(&warm[i], 1, TPT_DEADLINE_MS));
		tpt_gate_open(&gate);
		for (i = 0; i < 4; i++)
			ck_assert(tpt_job_wait_finished(&warm[i], 1, TPT_DEADLINE_MS));
		/* Cap 1, and at once four jobs. */
		threadpool_set_max_threads(pool, 1);
		for (i = 0; i < 4; i++) {
			(void)snprintf(name, sizeof(name), "capped-%u", i);
			tpt_job_init(&jobs[i], name);
			jobs[i].tj_sleep_ms = 2;
			jobs[i].tj_meter = &meter;
			jobs[i].tj_meter_max = &meter_max;
			tpt_job_schedule(&jobs[i], pool);
		}
		for (i = 0; i < 4; i++)
			ck_assert(tpt_job_wait_finished(&jobs[i], 1, TPT_DEADLINE_MS));
		ck_assert_msg(atomic_load(&meter_max) <= 1, "round %u: %u jobs ran "
		    "at once under a cap of 1", round, atomic_load(&meter_max));
		for (i = 0; i < 4; i++) {
			tpt_job_fini(&warm[i]);
			tpt_job_fini(&jobs[i]);
		}
		tpt_gate_destroy(&gate);
	}
	threadpool_set_max_threads(pool, 0);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

/* The workers of pool that are idle, read under its lock. */
static unsigned int
idle_of(struct threadpool *pool)
{
	return stats_of(pool).tps_idle;
}

/*
 * threadpool_set_max_idle_threads: the idle workers of all pools together
 * stay within the cap (a worker that runs out of jobs then exits at once,
 * long before its idle timeout); 0 lifts it.
 */
START_TEST(test_idle_workers_in_all_pools_are_capped)
{
	struct threadpool *a = tpt_ck_get_pool(TP_PRI_NONE);
	struct threadpool *b = tpt_ck_get_pool(TP_PRI_USER_MIN + 19);
	struct tpt_job jobs[4], lone;
	struct tpt_gate gate;
	char name[32];
	unsigned int i;

	ck_assert_int_eq(threadpool_set_idle_timeout(a, DEFAULT_IDLE_US), 0);
	ck_assert_int_eq(threadpool_set_idle_timeout(b, DEFAULT_IDLE_US), 0);
	threadpool_set_max_idle_threads(2);

	/* 4 busy workers in a; as they finish, 2 stay idle and 2 exit. */
	tpt_gate_init(&gate);
	for (i = 0; i < 4; i++) {
		(void)snprintf(name, sizeof(name), "idlecap-%u", i);
		tpt_job_init(&jobs[i], name);
		jobs[i].tj_gate = &gate;
		tpt_job_schedule(&jobs[i], a);
	}
	for (i = 0; i < 4; i++)
		ck_assert(tpt_job_wait_started(&jobs[i], 1, TPT_DEADLINE_MS));
	ck_assert_uint_ge(stats_of(a).tps_threads, 4);
	tpt_gate_open(&gate);
	for (i = 0; i < 4; i++)
		ck_assert(tpt_job_wait_finished(&jobs[i], 1, TPT_DEADLINE_MS));
	ck_assert_msg(tpt_wait_stats(a, tpt_stats_threads_le, 2, 3000),
	    "%u workers stayed in a pool with 2 idle workers kept in all",
	    stats_of(a).tps_threads);
	ck_assert_uint_eq(idle_of(a), 2);

	/* Another pool's worker that runs out of jobs finds the 2 of a. */
	tpt_job_init(&lone, "idlecap-b");
	tpt_job_schedule(&lone, b);
	ck_assert(tpt_job_wait_finished(&lone, 1, TPT_DEADLINE_MS));
	ck_assert_msg(tpt_wait_stats(b, tpt_stats_threads_le, 0, 3000),
	    "b kept %u workers while a had the 2 idle ones",
	    stats_of(b).tps_threads);
	ck_assert_uint_eq(idle_of(a), 2);

	/* Without the cap, b's worker waits out its idle timeout. */
	threadpool_set_max_idle_threads(0);
	tpt_job_schedule(&lone, b);
	ck_assert(tpt_job_wait_finished(&lone, 2, TPT_DEADLINE_MS));
	ck_assert(tpt_wait_stats(b, tpt_stats_idle_eq, 1, 3000));
	ck_assert_uint_eq(idle_of(a), 2);

	for (i = 0; i < 4; i++)
		tpt_job_fini(&jobs[i]);
	tpt_job_fini(&lone);
	tpt_gate_destroy(&gate);
	threadpool_put(b, TP_PRI_USER_MIN + 19);
	threadpool_put(a, TP_PRI_NONE);
}
END_TEST

START_TEST(test_thread_create_failure_is_retried_and_job_runs)
{
	const tp_pri_t pri = TP_PRI_USER_MIN + 13;
	struct threadpool *pool = tpt_ck_get_pool(pri);
	struct threadpool_stats st0, st;
	struct tpt_job tj;

	st0 = stats_of(pool);
	ck_assert_uint_eq(st0.tps_threads, 0);
	tpt_job_init(&tj, "survives-failures");
	tp_test_fail_thread_create(3);
	tpt_job_schedule(&tj, pool);
	ck_assert_msg(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS),
	    "the job was lost after injected thread creation failures");
	st = stats_of(pool);
	ck_assert_uint_eq(st.tps_create_failures - st0.tps_create_failures, 3);
	ck_assert_uint_eq(st.tps_threads_created - st0.tps_threads_created, 1);
	tpt_job_fini(&tj);
	threadpool_put(pool, pri);
}
END_TEST

START_TEST(test_thread_create_retry_stops_when_pool_dies)
{
	const tp_pri_t pri = TP_PRI_USER_MIN + 14;
	unsigned int base = tpt_count_tasks();
	struct threadpool *pool = tpt_ck_get_pool(pri);
	struct threadpool_stats st;
	struct tpt_job tj;
	uint64_t t0, took;

	tpt_job_init(&tj, "never-gets-a-thread");
	tp_test_fail_thread_create(100000);
	tpt_job_schedule(&tj, pool);
	/* About 1+2+...+512 ms of back-off: the next sleep is a long one. */
	t0 = tpt_now_ns();
	do {
		st = stats_of(pool);
		tpt_sleep_ms(5);
	} while (st.tps_create_failures < 11 && tpt_ms_since(t0) < 3 * TPT_DEADLINE_MS);
	ck_assert_uint_ge(st.tps_create_failures, 11);
	ck_assert_uint_eq(tpt_job_started(&tj), 0);
	ck_assert(tpt_job_cancel_async(&tj, pool));

	t0 = tpt_now_ns();
	threadpool_put(pool, pri);
	took = tpt_ms_since(t0);
	tp_test_fail_thread_create(0);
	tpt_note("last put during creation back-off (%ju failures): %ju ms",
	    (uintmax_t)st.tps_create_failures, (uintmax_t)took);
	ck_assert_msg(took < 900, "put waited %ju ms for the overseer's back-off",
	    (uintmax_t)took);
	ck_assert(tpt_wait_task_count(base, 1000));
	ck_assert_uint_eq(tpt_job_started(&tj), 0);
	tpt_job_fini(&tj);
}
END_TEST

START_TEST(test_stats_count_threads_jobs_and_queue)
{
	const tp_pri_t pri = TP_PRI_USER_MIN + 11;
	struct threadpool *pool = tpt_ck_get_pool(pri);
	struct threadpool_stats st;
	struct tpt_job blocker, jobs[3];
	struct tpt_gate gate;
	unsigned int i;

	st = stats_of(pool);
	ck_assert_uint_eq(st.tps_threads, 0);
	ck_assert_uint_eq(st.tps_idle, 0);
	ck_assert_uint_eq(st.tps_queued, 0);
	ck_assert_uint_eq(st.tps_max_threads, 0);
	ck_assert_uint_eq(st.tps_jobs_run, 0);
	ck_assert_uint_eq(st.tps_threads_created, 0);
	ck_assert_uint_eq(st.tps_threads_exited, 0);
	ck_assert_uint_eq(st.tps_create_failures, 0);
	ck_assert_int_eq(st.tps_cpu, -1);
	ck_assert_int_eq(st.tps_pri, pri);

	tpt_gate_init(&gate);
	tpt_job_init(&blocker, "blocker");
	for (i = 0; i < 3; i++)
		tpt_job_init(&jobs[i], "queued");
	tpt_ck_occupy(pool, &blocker, &gate);
	for (i = 0; i < 3; i++)
		tpt_job_schedule(&jobs[i], pool);
	st = stats_of(pool);
	ck_assert_uint_eq(st.tps_threads, 1);
	ck_assert_uint_eq(st.tps_idle, 0);
	ck_assert_uint_eq(st.tps_queued, 3);
	ck_assert_uint_eq(st.tps_max_threads, 1);
	ck_assert_uint_eq(st.tps_jobs_run, 1);
	ck_assert_uint_eq(st.tps_threads_created, 1);

	/* Keep the cap, so that the one worker runs all of them. */
	tpt_gate_open(&gate);
	ck_assert(tpt_job_wait_finished(&blocker, 1, TPT_DEADLINE_MS));
	for (i = 0; i < 3; i++)
		ck_assert(tpt_job_wait_finished(&jobs[i], 1, TPT_DEADLINE_MS));
	ck_assert(tpt_wait_stats(pool, tpt_stats_idle_eq, 1, TPT_DEADLINE_MS));
	st = stats_of(pool);
	ck_assert_uint_eq(st.tps_threads, 1);
	ck_assert_uint_eq(st.tps_queued, 0);
	ck_assert_uint_eq(st.tps_jobs_run, 4);
	ck_assert_uint_eq(st.tps_threads_created, 1);
	ck_assert_uint_eq(st.tps_threads_exited, 0);

	ck_assert_int_eq(threadpool_set_idle_timeout(pool, 10 * 1000), 0);
	ck_assert(tpt_wait_stats(pool, tpt_stats_threads_eq, 0, TPT_DEADLINE_MS));
	st = stats_of(pool);
	ck_assert_uint_eq(st.tps_idle, 0);
	ck_assert_uint_eq(st.tps_threads_exited, 1);
	ck_assert_uint_eq(st.tps_create_failures, 0);

	for (i = 0; i < 3; i++)
		tpt_job_fini(&jobs[i]);
	tpt_job_fini(&blocker);
	tpt_gate_destroy(&gate);
	threadpool_put(pool, pri);
}
END_TEST

static Suite *
pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc;

	tc = tcase_create("refs");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_get_gives_one_shared_pool_per_priority);
	tcase_add_test(tc, test_get_starts_an_overseer_and_no_worker);
	tcase_add_test(tc, test_get_creation_race_gives_every_caller_one_pool);
	tcase_add_test(tc, test_pool_lives_until_last_put);
	tcase_add_test(tc, test_put_of_last_reference_joins_all_threads);
	tcase_add_test(tc, test_destroy_wakes_idle_workers_at_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_idle_worker_exits_after_timeout_and_next_job_gets_a_new_one);
	tcase_add_test(tc, test_light_steady_load_lets_surplus_workers_time_out);
	tcase_add_test(tc, test_setting_idle_timeout_wakes_idle_workers);
	tcase_add_test(tc, test_idle_timeout_below_1ms_is_rejected);
	tcase_add_test(tc, test_default_idle_timeout_applies_to_new_pools);
	tcase_add_test(tc, test_env_idle_timeout_is_read_at_first_pool);
	tcase_add_test(tc, test_env_idle_timeout_invalid_is_ignored);
	tcase_add_test(tc, test_blocking_jobs_each_get_a_worker);
	tcase_add_test(tc, test_thread_cap_holds_and_every_job_runs);
	tcase_add_test(tc, test_lowering_cap_lets_surplus_workers_exit);
	tcase_add_test(tc, test_lowered_cap_holds_before_surplus_workers_exit);
	tcase_add_test(tc, test_idle_workers_in_all_pools_are_capped);
	tcase_add_test(tc, test_thread_create_failure_is_retried_and_job_runs);
	tcase_add_test(tc, test_thread_create_retry_stops_when_pool_dies);
	tcase_add_test(tc, test_stats_count_threads_jobs_and_queue);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char *child = getenv("TPT_ENV_CHILD");

	if (child != NULL)
		return env_child(child);
	return tpt_run_suite(pool_suite());
}
