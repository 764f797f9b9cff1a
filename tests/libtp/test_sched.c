/*
 * test_sched.c -- Check runner for how libtp's threads look to the
 * system: priorities (valid and invalid ones, nice values and real-time
 * scheduling really applied, EPERM where the process may not use them)
 * and thread names (the job's name while it runs, the pool's after).
 *
 * What the threads really got is read back from /proc/self/task/TID/stat
 * and from the scheduler calls made inside a job, never from libtp.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <threadpool.h>

#include "util.h"

START_TEST(test_invalid_priorities_give_einval)
{
	static const tp_pri_t bad[] = {
		-2, -3, -100, INT_MIN, TP_PRI_COUNT, TP_PRI_RT_MAX + 1, 1000, INT_MAX,
	};
	struct threadpool *pool, *const poison = (struct threadpool *)(uintptr_t)0xdead;
	struct threadpool_percpu *pp, *const ppoison =
	    (struct threadpool_percpu *)(uintptr_t)0xbeef;
	unsigned int base = tpt_count_tasks(), i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!threadpool_pri_is_valid(bad[i]), "%d called valid", bad[i]);
		pool = poison;
		ck_assert_int_eq(threadpool_get(&pool, bad[i]), EINVAL);
		ck_assert_ptr_eq(pool, poison);		/* untouched on failure */
		pp = ppoison;
		ck_assert_int_eq(threadpool_percpu_get(&pp, bad[i]), EINVAL);
		ck_assert_ptr_eq(pp, ppoison);
	}
	ck_assert_uint_eq(tpt_count_tasks(), base);
}
END_TEST

START_TEST(test_valid_priorities_are_valid)
{
	tp_pri_t pri;

	ck_assert(threadpool_pri_is_valid(TP_PRI_NONE));
	for (pri = TP_PRI_USER_MIN; pri <= TP_PRI_USER_MAX; pri++)
		ck_assert_msg(threadpool_pri_is_valid(pri), "%d called invalid", pri);
	for (pri = TP_PRI_RT_MIN; pri <= TP_PRI_RT_MAX; pri++)
		ck_assert_msg(threadpool_pri_is_valid(pri), "%d called invalid", pri);
	ck_assert_int_eq(TP_PRI_RT_MAX + 1, TP_PRI_COUNT);
	ck_assert_int_eq(TP_PRI_USER_MAX + 1, TP_PRI_RT_MIN);
}
END_TEST

/* Run one job on pool and return what its thread saw. */
static void
run_probe(struct threadpool *pool, struct tpt_job *tj, const char *name)
{

	tpt_job_init(tj, name);
	tpt_job_schedule(tj, pool);
	ck_assert(tpt_job_wait_finished(tj, 1, TPT_DEADLINE_MS));
	tpt_job_fini(tj);
}

START_TEST(test_user_priority_sets_nice_of_workers)
{
	static const tp_pri_t pris[] = { 0, 5, 10, 19, 20, 30, 39 };
	struct threadpool *pool;
	struct tpt_stat ts;
	struct tpt_job tj;
	struct tpt_gate gate;
	unsigned int i;
	int error;

	for (i = 0; i < sizeof(pris) / sizeof(pris[0]); i++) {
		error = threadpool_get(&pool, pris[i]);
		if (error == EPERM && pris[i] > 19 && geteuid() != 0)
			continue;	/* a nice below 0 needs privilege */
		ck_assert_msg(error == 0, "threadpool_get(%d): %s", pris[i], strerror(error));

		/* From inside the job. */
		run_probe(pool, &tj, "nice-probe");
		ck_assert_msg(tj.tj_nice == 19 - pris[i], "pri %d: job ran at nice %d, want %d",
		    pris[i], tj.tj_nice, 19 - pris[i]);
		ck_assert_int_eq(tj.tj_policy, SCHED_OTHER);

		/* From /proc, while the job blocks. */
		tpt_gate_init(&gate);
		tpt_job_init(&tj, "nice-blocked");
		tj.tj_gate = &gate;
		tpt_job_schedule(&tj, pool);
		ck_assert(tpt_job_wait_started(&tj, 1, TPT_DEADLINE_MS));
		ck_assert_int_eq(tpt_read_stat(tj.tj_tid, &ts), 0);
		tpt_gate_open(&gate);
		ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
		tpt_job_fini(&tj);
		tpt_gate_destroy(&gate);
		ck_assert_int_eq(ts.ts_nice, 19 - pris[i]);
		ck_assert_int_eq(ts.ts_priority, 20 + (19 - pris[i]));
		ck_assert_uint_eq(ts.ts_policy, SCHED_OTHER);
		threadpool_put(pool, pris[i]);
	}
}
END_TEST

START_TEST(test_priority_applies_to_every_thread_of_the_pool)
{
	const tp_pri_t pri = TP_PRI_USER_MIN + 5;	/* nice 14 */
	pid_t before[256], after[256];
	struct threadpool *pool;
	struct threadpool_percpu *pp;
	struct tpt_stat ts;
	struct tpt_job tj;
	unsigned int nb, na, i, j, nnew = 0;
	bool old;

	nb = tpt_list_tasks(before, 256);
	ck_assert_uint_le(nb, 256);
	pool = tpt_ck_get_pool(pri);
	ck_assert_int_eq(threadpool_percpu_get(&pp, pri), 0);
	run_probe(pool, &tj, "nice-unbound");
	ck_assert_int_eq(tj.tj_nice, 14);
	run_probe(threadpool_percpu_ref_remote(pp, threadpool_percpu_cpu(pp, 0)), &tj,
	    "nice-percpu");
	ck_assert_int_eq(tj.tj_nice, 14);

	/* Overseers and workers alike. */
	na = tpt_list_tasks(after, 256);
	ck_assert_uint_le(na, 256);
	for (i = 0; i < na; i++) {
		for (old = false, j = 0; j < nb; j++)
			old |= after[i] == before[j];
		if (old || tpt_read_stat(after[i], &ts) != 0)
			continue;
		nnew++;
		ck_assert_msg(ts.ts_nice == 14, "thread %d of a pri %d pool has nice %ld",
		    (int)after[i], pri, ts.ts_nice);
	}
	/* 1 + ncpu overseers, 2 workers at least. */
	ck_assert_uint_ge(nnew, 1 + threadpool_percpu_ncpu(pp) + 2);
	threadpool_percpu_put(pp, pri);
	threadpool_put(pool, pri);
}
END_TEST

/* TP_PRI_NONE: the nice value the process had at the pool's creation. */
static int
child_none_inherits_nice(void *arg)
{
	struct threadpool *pool;
	struct tpt_job tj;

	(void)arg;
	if (setpriority(PRIO_PROCESS, 0, 7) != 0)
		return 10;
	if (threadpool_get(&pool, TP_PRI_NONE) != 0)
		return 11;
	tpt_job_init(&tj, "none-nice");
	tpt_job_schedule(&tj, pool);
	if (!tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS))
		return 12;
	if (tj.tj_nice != 7 || tj.tj_policy != SCHED_OTHER) {
		(void)fprintf(stderr, "TP_PRI_NONE job at nice %d policy %d, want 7, %d\n",
		    tj.tj_nice, tj.tj_policy, SCHED_OTHER);
		return 13;
	}
	tpt_job_fini(&tj);
	threadpool_put(pool, TP_PRI_NONE);
	return 0;
}

START_TEST(test_none_priority_keeps_process_nice)
{

	tpt_ck_child_succeeds(child_none_inherits_nice, NULL, 30);
}
END_TEST

/* May this process use SCHED_FIFO?  Ask on a scratch thread. */
static void *
rt_probe_thread(void *arg)
{
	struct sched_param sp = { .sched_priority = 1 };

	*(int *)arg = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	return NULL;
}

static int
rt_permitted(void)
{
	pthread_t t;
	int error = -1;

	ck_assert_int_eq(pthread_create(&t, NULL, rt_probe_thread, &error), 0);
	(void)pthread_join(t, NULL);
	return error;
}

START_TEST(test_realtime_priority_gives_sched_fifo)
{
	static const tp_pri_t pris[] = { TP_PRI_RT_MIN, TP_PRI_RT_MIN + 49, TP_PRI_RT_MAX };
	struct threadpool *pool;
	struct tpt_stat ts;
	struct tpt_job tj;
	struct tpt_gate gate;
	unsigned int i;
	int error, rt;

	rt = rt_permitted();
	for (i = 0; i < sizeof(pris) / sizeof(pris[0]); i++) {
		error = threadpool_get(&pool, pris[i]);
		if (rt != 0) {
			ck_assert_msg(error == EPERM, "pri %d without real-time permission: %d",
			    pris[i], error);
			continue;
		}
		ck_assert_msg(error == 0, "threadpool_get(%d): %s", pris[i], strerror(error));
		run_probe(pool, &tj, "rt-probe");
		ck_assert_int_eq(tj.tj_policy, SCHED_FIFO);
		ck_assert_int_eq(tj.tj_sched_prio, pris[i] - 39);

		tpt_gate_init(&gate);
		tpt_job_init(&tj, "rt-blocked");
		tj.tj_gate = &gate;
		tpt_job_schedule(&tj, pool);
		ck_assert(tpt_job_wait_started(&tj, 1, TPT_DEADLINE_MS));
		ck_assert_int_eq(tpt_read_stat(tj.tj_tid, &ts), 0);
		tpt_gate_open(&gate);
		ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
		tpt_job_fini(&tj);
		tpt_gate_destroy(&gate);
		ck_assert_uint_eq(ts.ts_policy, SCHED_FIFO);
		ck_assert_int_eq(ts.ts_rt_priority, pris[i] - 39);
		threadpool_put(pool, pris[i]);
	}
}
END_TEST

/*
 * Without privilege (no CAP_SYS_NICE, RLIMIT_RTPRIO and RLIMIT_NICE 0):
 * real-time and negative nice are EPERM; what a user may do still works.
 */
static int
child_unprivileged(void *arg)
{
	struct rlimit rl = { 0, 0 };
	struct threadpool *pool, *const poison = (struct threadpool *)(uintptr_t)0xdead;
	struct threadpool_percpu *pp;
	struct tpt_job tj;
	unsigned int base;
	int error;

	(void)arg;
	if (setrlimit(RLIMIT_RTPRIO, &rl) != 0 || setrlimit(RLIMIT_NICE, &rl) != 0)
		return 10;
	if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
		return 11;
	base = tpt_count_tasks();

	pool = poison;
	error = threadpool_get(&pool, TP_PRI_RT_MIN);
	if (error != EPERM || pool != poison) {
		(void)fprintf(stderr, "get(TP_PRI_RT_MIN) unprivileged: %d, want EPERM\n", error);
		return 12;
	}
	error = threadpool_percpu_get(&pp, TP_PRI_RT_MAX);
	if (error != EPERM) {
		(void)fprintf(stderr, "percpu_get(TP_PRI_RT_MAX) unprivileged: %d\n", error);
		return 13;
	}
	error = threadpool_get(&pool, TP_PRI_USER_MAX);
	if (error != EPERM) {
		(void)fprintf(stderr, "get(TP_PRI_USER_MAX) (nice -20) unprivileged: %d\n", error);
		return 14;
	}
	error = threadpool_get(&pool, 20);
	if (error != EPERM) {
		(void)fprintf(stderr, "get(20) (nice -1) unprivileged: %d\n", error);
		return 15;
	}
	if (!tpt_wait_task_count(base, 1000)) {
		(void)fprintf(stderr, "failed gets left %u threads behind\n",
		    tpt_count_tasks() - base);
		return 20;
	}
	/* Nice 0 and 19 are a user's to take. */
	error = threadpool_get(&pool, 0);
	if (error != 0) {
		(void)fprintf(stderr, "get(0) (nice 19) unprivileged: %d\n", error);
		return 16;
	}
	tpt_job_init(&tj, "unprivileged");
	tpt_job_schedule(&tj, pool);
	if (!tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS) || tj.tj_nice != 19)
		return 17;
	tpt_job_fini(&tj);
	threadpool_put(pool, 0);
	error = threadpool_get(&pool, 19);
	if (error != 0) {
		(void)fprintf(stderr, "get(19) (nice 0) unprivileged: %d\n", error);
		return 18;
	}
	threadpool_put(pool, 19);
	/* A failed get leaves nothing behind: a retry fails the same way. */
	if (threadpool_get(&pool, TP_PRI_RT_MIN) != EPERM)
		return 19;
	return 0;
}

START_TEST(test_privileged_priorities_give_eperm_when_unprivileged)
{

	tpt_ck_child_succeeds(child_unprivileged, NULL, 30);
}
END_TEST

START_TEST(test_worker_is_named_after_the_job_while_it_runs)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job tj;
	struct tpt_gate gate;
	char comm[32];

	/* Seen from inside, and printf formatting applies. */
	tpt_job_prepare(&tj);
	threadpool_job_init(&tj.tj_job, tpt_job_run, &tj.tj_lock, "job-%d-%s", 42, "x");
	tpt_job_schedule(&tj, pool);
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
	ck_assert_str_eq(tj.tj_comm, "job-42-x");
	tpt_job_fini(&tj);

	/* Longer than Linux allows: the first 15 bytes; seen from outside. */
	tpt_gate_init(&gate);
	tpt_job_init(&tj, "a-very-long-job-name-indeed");
	tj.tj_gate = &gate;
	tpt_job_schedule(&tj, pool);
	ck_assert(tpt_job_wait_started(&tj, 1, TPT_DEADLINE_MS));
	ck_assert_int_eq(tpt_read_comm(tj.tj_tid, comm, sizeof(comm)), 0);
	ck_assert_str_eq(comm, "a-very-long-job");
	ck_assert_str_eq(tj.tj_comm, "a-very-long-job");
	tpt_gate_open(&gate);
	ck_assert(tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS));
	tpt_job_fini(&tj);
	tpt_gate_destroy(&gate);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

struct comm_arg {
	pid_t	ca_tid;
	char	ca_comm[32];
};

static bool
comm_differs(void *arg)
{
	struct comm_arg *ca = arg;
	char comm[32];

	return tpt_read_comm(ca->ca_tid, comm, sizeof(comm)) == 0 &&
	    strcmp(comm, ca->ca_comm) != 0;
}

START_TEST(test_worker_name_is_restored_after_the_job)
{
	struct threadpool *pool = tpt_ck_get_pool(TP_PRI_NONE);
	struct tpt_job first, named;
	struct comm_arg ca;
	char idle_name[32], after[32];

	/* One worker, so that both jobs run on it. */
	threadpool_set_max_threads(pool, 1);
	tpt_job_init(&first, "first-job");
	tpt_job_schedule(&first, pool);
	ck_assert(tpt_job_wait_finished(&first, 1, TPT_DEADLINE_MS));
	ca.ca_tid = first.tj_tid;
	(void)strcpy(ca.ca_comm, "first-job");
	/* Taken back after 100 ms idle (thread.c), within the deadline. */
	ck_assert_msg(tpt_wait_for(comm_differs, &ca, TPT_DEADLINE_MS),
	    "the worker kept the job's name after the job");
	ck_assert_int_eq(tpt_read_comm(first.tj_tid, idle_name, sizeof(idle_name)), 0);
	/* The seed names its workers poolthread/CPU@PRI; tpw/CPU@PRI here, "u"
	 * for unbound, within Linux's 15 bytes. */
	ck_assert_msg(strcmp(idle_name, "tpw/u@-1") == 0, "idle worker named \"%s\"",
	    idle_name);

	tpt_job_init(&named, "renamer-job");
	tpt_job_schedule(&named, pool);
	ck_assert(tpt_job_wait_finished(&named, 1, TPT_DEADLINE_MS));
	ck_assert_int_eq(named.tj_tid, first.tj_tid);
	ck_assert_str_eq(named.tj_comm, "renamer-job");
	ca.ca_tid = named.tj_tid;
	(void)strcpy(ca.ca_comm, "renamer-job");
	ck_assert(tpt_wait_for(comm_differs, &ca, TPT_DEADLINE_MS));
	ck_assert_int_eq(tpt_read_comm(named.tj_tid, after, sizeof(after)), 0);
	ck_assert_str_eq(after, idle_name);

	tpt_job_fini(&named);
	tpt_job_fini(&first);
	threadpool_set_max_threads(pool, 0);
	threadpool_put(pool, TP_PRI_NONE);
}
END_TEST

static Suite *
sched_suite(void)
{
	Suite *s = suite_create("sched");
	TCase *tc;

	tc = tcase_create("priority");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_invalid_priorities_give_einval);
	tcase_add_test(tc, test_valid_priorities_are_valid);
	tcase_add_test(tc, test_user_priority_sets_nice_of_workers);
	tcase_add_test(tc, test_priority_applies_to_every_thread_of_the_pool);
	tcase_add_test(tc, test_none_priority_keeps_process_nice);
	tcase_add_test(tc, test_realtime_priority_gives_sched_fifo);
	tcase_add_test(tc, test_privileged_priorities_give_eperm_when_unprivileged);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_worker_is_named_after_the_job_while_it_runs);
	tcase_add_test(tc, test_worker_name_is_restored_after_the_job);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{

	return tpt_run_suite(sched_suite());
}
