/*
 * test_stress.c -- Check runner that hammers libtp's scheduling and
 * cancelling from several threads and accounts for every run.
 *
 * Each job keeps, under its own job lock, the state the test believes it
 * is in (idle, queued, running) beside libtp's, and counts schedules that
 * took effect (idle -> queued), runs, and cancels that took a queued job
 * back (true from cancel_job_async on a queued job, or cancel_job
 * returning with the job still queued as far as the test knows).  libtp's
 * answers are checked against that state on every call, and at the end
 * runs == effective schedules - true cancels, for every job; the pools'
 * tps_jobs_run agrees; nothing stays queued.
 *
 * test_cancel_thrash_* are the regression for kern_threadpool.c 1.11's
 * overseer race (the overseer unlinked a job before taking its lock, so a
 * concurrent cancel_job_async unlinked it a second time): 10,000 rounds of
 * lock, schedule, unlock, lock, cancel, unlock per job while the pool is
 * kept busy so that the jobs wait in its queue.
 *
 * Run these under --enable-tsan too.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <threadpool.h>

#include "util.h"

enum tracked_state { TS_IDLE, TS_QUEUED, TS_RUNNING };

#define	MAX_POOLS	(2 + 64)

struct bench;

/*
 * A job that accounts for itself.  Markings: l = tr_lock (the job lock),
 * c = constant while the test runs, a = atomic.
 */
struct tracked {
	pthread_mutex_t		tr_lock;
	struct threadpool_job	tr_job;
	struct bench		*tr_bench;	/* c */
	enum tracked_state	tr_state;	/* l */
	uint64_t		tr_effective;	/* l: schedules that took effect */
	uint64_t		tr_runs;	/* l */
	uint64_t		tr_true_cancels; /* l: queued, then cancelled */
	uint64_t		tr_false_cancels; /* l: cancel_async said running */
	uint64_t		tr_violations;	/* l: libtp contradicted the state */
	char			tr_what[96];	/* l: the first violation */
	unsigned int		tr_seed;	/* l: rand_r state for the job */
	atomic_uint		tr_active;	/* a: runs between start and done */
	atomic_uint		tr_max_active;	/* a */
};

/* Pools and knobs shared by a test's jobs and threads. */
struct bench {
	struct threadpool	*b_pools[MAX_POOLS];	/* c */
	unsigned int		b_npools;		/* c */
	unsigned int		b_resched_pct;		/* c: a run schedules itself again */
	unsigned int		b_sleep_every;		/* c: one run in this many sleeps 1 ms */
	atomic_bool		b_stop;			/* a: no more self-rescheduling */
};

static void
tracked_violation_locked(struct tracked *tr, const char *what)
{

	if (tr->tr_violations++ == 0)
		(void)snprintf(tr->tr_what, sizeof(tr->tr_what), "%s (state %d)", what,
		    (int)tr->tr_state);
}

static struct threadpool *
bench_pick(struct bench *b, unsigned int *seed)
{

	return b->b_pools[(unsigned int)rand_r(seed) % b->b_npools];
}

/* Job lock held. */
static void
tracked_schedule_locked(struct tracked *tr, struct threadpool *pool)
{

	if (tr->tr_state == TS_IDLE) {
		tr->tr_state = TS_QUEUED;
		tr->tr_effective++;
	}
	threadpool_schedule_job(pool, &tr->tr_job);
}

/* Job lock held. */
static void
tracked_cancel_async_locked(struct tracked *tr, struct threadpool *pool)
{

	if (threadpool_cancel_job_async(pool, &tr->tr_job)) {
		if (tr->tr_state == TS_RUNNING)
			tracked_violation_locked(tr, "cancel_job_async true while running");
		if (tr->tr_state == TS_QUEUED)
			tr->tr_true_cancels++;
		tr->tr_state = TS_IDLE;
	} else {
		/* Running, or handed to a worker that has not started it yet. */
		if (tr->tr_state == TS_IDLE)
			tracked_violation_locked(tr, "cancel_job_async false while idle");
		tr->tr_false_cancels++;
	}
}

/* Job lock held.  May sleep. */
static void
tracked_cancel_locked(struct tracked *tr, struct threadpool *pool)
{

	threadpool_cancel_job(pool, &tr->tr_job);
	if (tr->tr_state == TS_RUNNING)
		tracked_violation_locked(tr, "cancel_job returned while running");
	/* Still queued as far as we know: it was taken off the queue. */
	if (tr->tr_state == TS_QUEUED)
		tr->tr_true_cancels++;
	tr->tr_state = TS_IDLE;
	/* Not running now: a second cancel must say so. */
	if (!threadpool_cancel_job_async(pool, &tr->tr_job))
		tracked_violation_locked(tr, "cancel_job_async false after cancel_job");
}

static void
tracked_run(struct threadpool_job *job)
{
	struct tracked *tr = (struct tracked *)((char *)job -
	    offsetof(struct tracked, tr_job));
	struct bench *b = tr->tr_bench;
	unsigned int now, seen, r;

	now = atomic_fetch_add(&tr->tr_active, 1) + 1;
	seen = atomic_load(&tr->tr_max_active);
	while (now > seen && !atomic_compare_exchange_weak(&tr->tr_max_active, &seen, now))
		continue;

	(void)pthread_mutex_lock(&tr->tr_lock);
	if (tr->tr_state != TS_QUEUED)
		tracked_violation_locked(tr, "ran without a schedule that took effect");
	tr->tr_state = TS_RUNNING;
	tr->tr_runs++;
	r = (unsigned int)rand_r(&tr->tr_seed);
	(void)pthread_mutex_unlock(&tr->tr_lock);

	if (b->b_sleep_every != 0 && r % b->b_sleep_every == 0)
		tpt_sleep_ms(1);
	else if (r % 3 == 0)
		(void)sched_yield();

	(void)pthread_mutex_lock(&tr->tr_lock);
	(void)atomic_fetch_sub(&tr->tr_active, 1);
	tr->tr_state = TS_IDLE;
	threadpool_job_done(job);
	if (!atomic_load(&b->b_stop) && (r >> 8) % 100 < b->b_resched_pct)
		tracked_schedule_locked(tr, bench_pick(b, &tr->tr_seed));
	(void)pthread_mutex_unlock(&tr->tr_lock);
}

static void
tracked_init(struct tracked *tr, struct bench *b, unsigned int i)
{

	memset(tr, 0, sizeof(*tr));
	(void)pthread_mutex_init(&tr->tr_lock, NULL);
	tr->tr_bench = b;
	tr->tr_state = TS_IDLE;
	tr->tr_seed = 0x9e3779b9u * (i + 1);
	atomic_init(&tr->tr_active, 0);
	atomic_init(&tr->tr_max_active, 0);
	threadpool_job_init(&tr->tr_job, tracked_run, &tr->tr_lock, "tracked-%u", i);
}

/*
 * Quiesce and check every job: cancel_job through some pool, which leaves
 * it not running; then destroy it (waiting for the workers' references).
 */
static uint64_t
tracked_finish(struct tracked *trs, unsigned int n, struct bench *b,
    uint64_t *ret_true_cancels, uint64_t *ret_false_cancels)
{
	uint64_t runs = 0, tc = 0, fc = 0;
	unsigned int i, seed = 12345;

	atomic_store(&b->b_stop, true);
	for (i = 0; i < n; i++) {
		(void)pthread_mutex_lock(&trs[i].tr_lock);
		tracked_cancel_locked(&trs[i], bench_pick(b, &seed));
		(void)pthread_mutex_unlock(&trs[i].tr_lock);
	}
	for (i = 0; i < n; i++) {
		threadpool_job_destroy(&trs[i].tr_job);
		ck_assert_msg(trs[i].tr_violations == 0, "job %u: %ju violations, first: %s",
		    i, (uintmax_t)trs[i].tr_violations, trs[i].tr_what);
		ck_assert_int_eq(trs[i].tr_state, TS_IDLE);
		ck_assert_msg(trs[i].tr_runs == trs[i].tr_effective - trs[i].tr_true_cancels,
		    "job %u: %ju runs, %ju schedules took effect, %ju cancelled while queued",
		    i, (uintmax_t)trs[i].tr_runs, (uintmax_t)trs[i].tr_effective,
		    (uintmax_t)trs[i].tr_true_cancels);
		ck_assert_msg(atomic_load(&trs[i].tr_max_active) <= 1,
		    "job %u ran on %u threads at once", i, atomic_load(&trs[i].tr_max_active));
		runs += trs[i].tr_runs;
		tc += trs[i].tr_true_cancels;
		fc += trs[i].tr_false_cancels;
		(void)pthread_mutex_destroy(&trs[i].tr_lock);
	}
	*ret_true_cancels = tc;
	*ret_false_cancels = fc;
	return runs;
}

static uint64_t
bench_jobs_run(struct bench *b)
{
	struct threadpool_stats st;
	uint64_t sum = 0;
	unsigned int i, j;
	bool dup;

	for (i = 0; i < b->b_npools; i++) {
		for (dup = false, j = 0; j < i; j++)
			dup |= b->b_pools[j] == b->b_pools[i];
		if (dup)
			continue;
		threadpool_stats(b->b_pools[i], &st);
		sum += st.tps_jobs_run;
	}
	return sum;
}

static void
bench_check_drained(struct bench *b)
{
	unsigned int i;

	for (i = 0; i < b->b_npools; i++)
		ck_assert_msg(tpt_wait_stats(b->b_pools[i], tpt_stats_queued_eq, 0,
		    TPT_DEADLINE_MS), "pool %u keeps jobs queued after every job was cancelled", i);
}

/*
 * The stress case: threads pick jobs and operations at random.
 */
#define	STRESS_JOBS	48
#define	STRESS_THREADS	4
#define	STRESS_OPS	20000

struct stresser {
	struct bench	*s_bench;
	struct tracked	*s_jobs;
	unsigned int	s_seed;
};

static void *
stresser_thread(void *arg)
{
	struct stresser *s = arg;
	struct tracked *tr;
	unsigned int i, op;

	for (i = 0; i < STRESS_OPS; i++) {
		tr = &s->s_jobs[(unsigned int)rand_r(&s->s_seed) % STRESS_JOBS];
		op = (unsigned int)rand_r(&s->s_seed) % 10;
		(void)pthread_mutex_lock(&tr->tr_lock);
		if (op < 5)
			tracked_schedule_locked(tr, bench_pick(s->s_bench, &s->s_seed));
		else if (op < 8)
			tracked_cancel_async_locked(tr, bench_pick(s->s_bench, &s->s_seed));
		else
			tracked_cancel_locked(tr, bench_pick(s->s_bench, &s->s_seed));
		(void)pthread_mutex_unlock(&tr->tr_lock);
		if (op == 0)
			(void)sched_yield();
	}
	return NULL;
}

START_TEST(test_stress_random_schedules_and_cancels_account_for_every_run)
{
	static struct tracked jobs[STRESS_JOBS];
	struct threadpool *unbound, *other;
	struct threadpool_percpu *pp;
	struct stresser st[STRESS_THREADS];
	pthread_t threads[STRESS_THREADS];
	struct bench b;
	uint64_t run0, runs, tc, fc;
	unsigned int i, n;

	memset(&b, 0, sizeof(b));
	atomic_init(&b.b_stop, false);
	b.b_resched_pct = 25;
	b.b_sleep_every = 64;
	unbound = tpt_ck_get_pool(TP_PRI_NONE);
	other = tpt_ck_get_pool(TP_PRI_USER_MIN + 19);
	ck_assert_int_eq(threadpool_percpu_get(&pp, TP_PRI_NONE), 0);
	/* Jobs queue on the capped pool; the others make threads at will. */
	threadpool_set_max_threads(unbound, 2);
	b.b_pools[b.b_npools++] = unbound;
	b.b_pools[b.b_npools++] = other;
	n = threadpool_percpu_ncpu(pp);
	for (i = 0; i < n && b.b_npools < MAX_POOLS; i++)
		b.b_pools[b.b_npools++] = threadpool_percpu_ref_remote(pp,
		    threadpool_percpu_cpu(pp, i));
	run0 = bench_jobs_run(&b);

	for (i = 0; i < STRESS_JOBS; i++)
		tracked_init(&jobs[i], &b, i);
	for (i = 0; i < STRESS_THREADS; i++) {
		st[i].s_bench = &b;
		st[i].s_jobs = jobs;
		st[i].s_seed = 777u * (i + 1);
		ck_assert_int_eq(pthread_create(&threads[i], NULL, stresser_thread, &st[i]), 0);
	}
	for (i = 0; i < STRESS_THREADS; i++)
		(void)pthread_join(threads[i], NULL);

	runs = tracked_finish(jobs, STRESS_JOBS, &b, &tc, &fc);
	bench_check_drained(&b);
	ck_assert_msg(bench_jobs_run(&b) - run0 == runs, "the pools counted %ju runs, the jobs %ju",
	    (uintmax_t)(bench_jobs_run(&b) - run0), (uintmax_t)runs);
	tpt_note("stress: %ju runs, %ju queued jobs cancelled, %ju cancels too late",
	    (uintmax_t)runs, (uintmax_t)tc, (uintmax_t)fc);
	/* The run exercised what it claims to. */
	ck_assert_uint_gt(runs, 1000);
	ck_assert_msg(tc > 0, "no queued job was ever cancelled");
	ck_assert_msg(fc > 0, "no cancel ever met a running job");

	threadpool_set_max_threads(unbound, 0);
	threadpool_percpu_put(pp, TP_PRI_NONE);
	threadpool_put(other, TP_PRI_USER_MIN + 19);
	threadpool_put(unbound, TP_PRI_NONE);
}
END_TEST

/*
 * Cancel-thrash: one thread per job, each round lock / schedule / unlock /
 * lock / cancel / unlock.  Fillers keep the pool's workers busy (each
 * reschedules itself from its own run) so that schedules find no idle
 * worker and the jobs wait in the pool's queue while workers or the
 * overseer take jobs off it.
 */
#define	THRASH_JOBS	4
#define	THRASH_ROUNDS	10000
#define	THRASH_FILLERS	2

enum thrash_cancel { TC_ASYNC, TC_ASYNC_OTHER_POOL, TC_SYNC };

struct thrasher {
	struct tracked		*th_job;
	struct threadpool	*th_pool;
	struct threadpool	*th_other;
	enum thrash_cancel	th_how;
};

/* Busy-wait up to ns nanoseconds, never sleeping. */
static void
spin_ns(uint64_t ns)
{
	uint64_t t0 = tpt_now_ns();

	while (tpt_now_ns() - t0 < ns)
		continue;
}

static void *
thrasher_thread(void *arg)
{
	struct thrasher *th = arg;
	struct tracked *tr = th->th_job;
	unsigned int round, seed = (unsigned int)(uintptr_t)th, r;

	for (round = 0; round < THRASH_ROUNDS; round++) {
		(void)pthread_mutex_lock(&tr->tr_lock);
		tracked_schedule_locked(tr, th->th_pool);
		(void)pthread_mutex_unlock(&tr->tr_lock);
		/*
		 * Mostly cancel at once; sometimes after a pause of up to
		 * 20 us, so that cancels also land while a worker or the
		 * overseer is taking the job off the queue.
		 */
		r = (unsigned int)rand_r(&seed);
		if (r % 4 == 1)
			(void)sched_yield();
		else if (r % 4 == 2)
			spin_ns((r >> 2) % 20000);
		(void)pthread_mutex_lock(&tr->tr_lock);
		switch (th->th_how) {
		case TC_ASYNC:
			tracked_cancel_async_locked(tr, th->th_pool);
			break;
		case TC_ASYNC_OTHER_POOL:
			tracked_cancel_async_locked(tr, (round & 1) ? th->th_other : th->th_pool);
			break;
		case TC_SYNC:
			tracked_cancel_locked(tr, th->th_pool);
			break;
		}
		(void)pthread_mutex_unlock(&tr->tr_lock);
	}
	return NULL;
}

static void
cancel_thrash(unsigned int max_threads, uint64_t idle_us, enum thrash_cancel how)
{
	static struct tracked jobs[THRASH_JOBS], fillers[THRASH_FILLERS];
	struct threadpool *pool, *other;
	struct thrasher th[THRASH_JOBS];
	pthread_t threads[THRASH_JOBS];
	struct bench b, fb;
	uint64_t run0, runs, tc, fc, ftc, ffc;
	unsigned int i;

	pool = tpt_ck_get_pool(TP_PRI_NONE);
	other = tpt_ck_get_pool(TP_PRI_USER_MIN + 19);
	threadpool_set_max_threads(pool, max_threads);
	ck_assert_int_eq(threadpool_set_idle_timeout(pool, idle_us), 0);

	memset(&b, 0, sizeof(b));
	atomic_init(&b.b_stop, false);
	b.b_pools[b.b_npools++] = pool;
	memset(&fb, 0, sizeof(fb));
	atomic_init(&fb.b_stop, false);
	fb.b_pools[fb.b_npools++] = pool;
	fb.b_resched_pct = 100;
	run0 = bench_jobs_run(&b);

	for (i = 0; i < THRASH_FILLERS; i++) {
		tracked_init(&fillers[i], &fb, 1000 + i);
		(void)pthread_mutex_lock(&fillers[i].tr_lock);
		tracked_schedule_locked(&fillers[i], pool);
		(void)pthread_mutex_unlock(&fillers[i].tr_lock);
	}
	for (i = 0; i < THRASH_JOBS; i++) {
		tracked_init(&jobs[i], &b, i);
		th[i].th_job = &jobs[i];
		th[i].th_pool = pool;
		th[i].th_other = other;
		th[i].th_how = how;
		ck_assert_int_eq(pthread_create(&threads[i], NULL, thrasher_thread, &th[i]), 0);
	}
	for (i = 0; i < THRASH_JOBS; i++)
		(void)pthread_join(threads[i], NULL);

	runs = tracked_finish(jobs, THRASH_JOBS, &b, &tc, &fc);
	runs += tracked_finish(fillers, THRASH_FILLERS, &fb, &ftc, &ffc);
	bench_check_drained(&b);
	ck_assert_msg(bench_jobs_run(&b) - run0 == runs, "the pool counted %ju runs, the jobs %ju",
	    (uintmax_t)(bench_jobs_run(&b) - run0), (uintmax_t)runs);
	tpt_note("cancel_thrash(max %u, idle %ju us, how %d): %ju runs (%ju fillers), "
	    "%ju queued jobs cancelled, %ju cancels too late", max_threads, (uintmax_t)idle_us,
	    (int)how, (uintmax_t)runs, (uintmax_t)(fillers[0].tr_runs + fillers[1].tr_runs),
	    (uintmax_t)tc, (uintmax_t)fc);
	/* Both outcomes happened: the race was there to be lost. */
	ck_assert_msg(tc > 0, "no round cancelled a queued job");
	if (how != TC_SYNC)
		ck_assert_msg(fc > 0, "no round found its job already running");

	threadpool_set_max_threads(pool, 0);
	threadpool_put(other, TP_PRI_USER_MIN + 19);
	threadpool_put(pool, TP_PRI_NONE);
}

START_TEST(test_cancel_thrash_async_on_busy_capped_pool)
{

	cancel_thrash(2, 30u * 1000 * 1000, TC_ASYNC);
}
END_TEST

START_TEST(test_cancel_thrash_async_at_overseer_making_workers)
{

	/* Workers idle out after 1 ms, so the overseer keeps making them. */
	cancel_thrash(0, 1000, TC_ASYNC);
}
END_TEST

START_TEST(test_cancel_thrash_async_through_other_pool)
{

	cancel_thrash(2, 30u * 1000 * 1000, TC_ASYNC_OTHER_POOL);
}
END_TEST

START_TEST(test_cancel_thrash_sync)
{

	cancel_thrash(1, 1000, TC_SYNC);
}
END_TEST

static Suite *
stress_suite(void)
{
	Suite *s = suite_create("stress");
	TCase *tc;

	tc = tcase_create("stress");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_stress_random_schedules_and_cancels_account_for_every_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel_thrash");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_cancel_thrash_async_on_busy_capped_pool);
	tcase_add_test(tc, test_cancel_thrash_async_at_overseer_making_workers);
	tcase_add_test(tc, test_cancel_thrash_async_through_other_pool);
	tcase_add_test(tc, test_cancel_thrash_sync);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{

	return tpt_run_suite(stress_suite());
}
