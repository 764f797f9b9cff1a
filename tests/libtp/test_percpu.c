/*
 * test_percpu.c -- Check runner for libtp's per-CPU pools: one pool per
 * CPU of the process's affinity mask, threads pinned to their CPU, jobs
 * running there, percpu_ref by the caller's CPU, ref_remote of a CPU
 * outside the set, the shared set's reference count and creation race,
 * and cancelling through another CPU's pool.
 *
 * The checks hold on any number of CPUs; those that need two say so and
 * check what one CPU allows instead.
 */
#include "config.h"

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

static struct threadpool_percpu *
get_percpu(tp_pri_t pri)
{
	struct threadpool_percpu *pp = NULL;
	int error;

	error = threadpool_percpu_get(&pp, pri);
	ck_assert_msg(error == 0, "threadpool_percpu_get(%d): %s", pri, strerror(error));
	ck_assert_ptr_nonnull(pp);
	return pp;
}

static cpu_set_t
process_cpus(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	return set;
}

static int
stats_cpu(struct threadpool *pool)
{
	struct threadpool_stats st;

	threadpool_stats(pool, &st);
	return st.tps_cpu;
}

START_TEST(test_percpu_set_has_one_pool_per_cpu_of_affinity_mask)
{
	cpu_set_t mask = process_cpus(), seen;
	struct threadpool_percpu *pp, *pp2, *other;
	struct threadpool *pool, *pools[CPU_SETSIZE];
	struct threadpool_stats st;
	unsigned int n, i, j, cpu;

	pp = get_percpu(TP_PRI_NONE);
	pp2 = get_percpu(TP_PRI_NONE);
	other = get_percpu(TP_PRI_USER_MIN + 19);
	ck_assert_ptr_eq(pp, pp2);
	ck_assert_ptr_ne(pp, other);

	n = threadpool_percpu_ncpu(pp);
	ck_assert_uint_eq(n, (unsigned int)CPU_COUNT(&mask));
	CPU_ZERO(&seen);
	for (i = 0; i < n; i++) {
		cpu = threadpool_percpu_cpu(pp, i);
		ck_assert_msg(cpu < CPU_SETSIZE && CPU_ISSET(cpu, &mask),
		    "CPU %u of the set is not in the affinity mask", cpu);
		ck_assert_msg(!CPU_ISSET(cpu, &seen), "CPU %u twice in the set", cpu);
		CPU_SET(cpu, &seen);
		pool = threadpool_percpu_ref_remote(pp, cpu);
		ck_assert_ptr_nonnull(pool);
		threadpool_stats(pool, &st);
		ck_assert_int_eq(st.tps_cpu, (int)cpu);
		ck_assert_int_eq(st.tps_pri, TP_PRI_NONE);
		pools[i] = pool;
		for (j = 0; j < i; j++)
			ck_assert_ptr_ne(pools[j], pool);
		ck_assert_ptr_ne(threadpool_percpu_ref_remote(other, cpu), pool);
	}

	threadpool_percpu_put(other, TP_PRI_USER_MIN + 19);
	threadpool_percpu_put(pp2, TP_PRI_NONE);
	threadpool_percpu_put(pp, TP_PRI_NONE);
}
END_TEST

START_TEST(test_percpu_threads_are_pinned_to_their_cpu)
{
	cpu_set_t mask = process_cpus(), covered, aff;
	struct threadpool_percpu *pp;
	pid_t before[256], after[256];
	unsigned int nb, na, i, j, nnew = 0, n, cpu;
	struct tpt_job tj;
	bool old;

	nb = tpt_list_tasks(before, 256);
	ck_assert_uint_le(nb, 256);
	pp = get_percpu(TP_PRI_NONE);
	n = threadpool_percpu_ncpu(pp);
	na = tpt_list_tasks(after, 256);
	ck_assert_uint_le(na, 256);

	/* One overseer per CPU, each allowed on its CPU only. */
	CPU_ZERO(&covered);
	for (i = 0; i < na; i++) {
		for (old = false, j = 0; j < nb; j++)
			old |= after[i] == before[j];
		if (old)
			continue;
		nnew++;
		ck_assert_int_eq(tpt_task_affinity(after[i], &aff), 0);
		ck_assert_msg(CPU_COUNT(&aff) == 1, "thread %d may run on %d CPUs",
		    (int)after[i], CPU_COUNT(&aff));
		for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &aff))
				break;
		ck_assert(CPU_ISSET(cpu, &mask));
		ck_assert_msg(!CPU_ISSET(cpu, &covered), "two overseers on CPU %u", cpu);
		CPU_SET(cpu, &covered);
	}
	ck_assert_uint_eq(nnew, n);
	ck_assert(CPU_EQUAL(&covered, &mask));

	/* And each worker is pinned to its pool's CPU. */
	tpt_job_init(&tj, "pinned");
	for (i = 0; i < n; i++) {
		cpu = threadpool_percpu_cpu(pp, i);
		tpt_job_schedule(&tj, threadpool_percpu_ref_remote(pp, cpu));
		ck_assert(tpt_job_wait_finished(&tj, i + 1, TPT_DEADLINE_MS));
		ck_assert_int_eq(CPU_COUNT(&tj.tj_affinity), 1);
		ck_assert_msg(CPU_ISSET(cpu, &tj.tj_affinity),
		    "a worker of CPU %u's pool is not pinned there", cpu);
	}
	tpt_job_fini(&tj);
	threadpool_percpu_put(pp, TP_PRI_NONE);
}
END_TEST

START_TEST(test_percpu_jobs_run_on_their_cpu)
{
	struct threadpool_percpu *pp = get_percpu(TP_PRI_NONE);
	struct tpt_job tj, blocked[3];
	struct tpt_gate gate;
	struct threadpool *pool;
	unsigned int n, i, k, cpu, runs = 0;
	char name[32];

	n = threadpool_percpu_ncpu(pp);
	ck_assert_uint_ge(n, 1);
	tpt_job_init(&tj, "where-am-i");
	for (i = 0; i < n; i++) {
		cpu = threadpool_percpu_cpu(pp, i);
		pool = threadpool_percpu_ref_remote(pp, cpu);
		ck_assert_int_eq(stats_cpu(pool), (int)cpu);
		for (k = 0; k < 20; k++) {
			tpt_job_schedule(&tj, pool);
			ck_assert(tpt_job_wait_finished(&tj, ++runs, TPT_DEADLINE_MS));
			ck_assert_msg(tj.tj_cpu == (int)cpu,
			    "a job of CPU %u's pool ran on CPU %d", cpu, tj.tj_cpu);
		}

		/* Several workers at once, all on that CPU. */
		tpt_gate_init(&gate);
		for (k = 0; k < 3; k++) {
			(void)snprintf(name, sizeof(name), "blocked-%u", k);
			tpt_job_init(&blocked[k], name);
			blocked[k].tj_gate = &gate;
			tpt_job_schedule(&blocked[k], pool);
		}
		for (k = 0; k < 3; k++)
			ck_assert(tpt_job_wait_started(&blocked[k], 1, TPT_DEADLINE_MS));
		tpt_gate_open(&gate);
		for (k = 0; k < 3; k++) {
			ck_assert(tpt_job_wait_finished(&blocked[k], 1, TPT_DEADLINE_MS));
			ck_assert_int_eq(blocked[k].tj_cpu, (int)cpu);
			tpt_job_fini(&blocked[k]);
		}
		tpt_gate_destroy(&gate);
	}
	tpt_job_fini(&tj);
	threadpool_percpu_put(pp, TP_PRI_NONE);
}
END_TEST

static void
pin_self(unsigned int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ck_assert_int_eq(pthread_setaffinity_np(pthread_self(), sizeof(set), &set), 0);
}

START_TEST(test_percpu_ref_gives_callers_cpu_pool)
{
	cpu_set_t mask = process_cpus();
	struct threadpool_percpu *pp = get_percpu(TP_PRI_NONE);
	struct threadpool *pool;
	struct tpt_job tj;
	unsigned int n, i, cpu;

	n = threadpool_percpu_ncpu(pp);
	tpt_job_init(&tj, "local");
	for (i = 0; i < n; i++) {
		cpu = threadpool_percpu_cpu(pp, i);
		pin_self(cpu);
		ck_assert_int_eq(sched_getcpu(), (int)cpu);
		pool = threadpool_percpu_ref(pp);
		ck_assert_ptr_eq(pool, threadpool_percpu_ref_remote(pp, cpu));
		ck_assert_int_eq(stats_cpu(pool), (int)cpu);
		tpt_job_schedule(&tj, pool);
		ck_assert(tpt_job_wait_finished(&tj, i + 1, TPT_DEADLINE_MS));
		ck_assert_int_eq(tj.tj_cpu, (int)cpu);
	}
	ck_assert_int_eq(pthread_setaffinity_np(pthread_self(), sizeof(mask), &mask), 0);
	tpt_job_fini(&tj);
	threadpool_percpu_put(pp, TP_PRI_NONE);
}
END_TEST

START_TEST(test_percpu_ref_remote_of_cpu_not_in_set_is_null)
{
	cpu_set_t mask = process_cpus();
	struct threadpool_percpu *pp = get_percpu(TP_PRI_NONE);
	unsigned int cpu;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &mask)) {
			ck_assert_ptr_null(threadpool_percpu_ref_remote(pp, cpu));
			break;
		}
	}
	ck_assert_ptr_null(threadpool_percpu_ref_remote(pp, CPU_SETSIZE));
	ck_assert_ptr_null(threadpool_percpu_ref_remote(pp, CPU_SETSIZE * 4));
	ck_assert_ptr_null(threadpool_percpu_ref_remote(pp, UINT_MAX));
	threadpool_percpu_put(pp, TP_PRI_NONE);
}
END_TEST

/*
 * In a child restricted to one CPU (the highest of the mask): the set has
 * that CPU only; another CPU is not in it; and when the child then moves
 * to a CPU outside the set, percpu_ref gives the set's first CPU's pool.
 */
static int
child_one_cpu(void *arg)
{
	cpu_set_t mask, one;
	struct threadpool_percpu *pp;
	struct threadpool *pool;
	struct tpt_job tj;
	int first = -1, last = -1, cpu;

	(void)arg;
	CPU_ZERO(&mask);
	if (sched_getaffinity(0, sizeof(mask), &mask) != 0)
		return 10;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &mask)) {
			if (first < 0)
				first = cpu;
			last = cpu;
		}
	}
	CPU_ZERO(&one);
	CPU_SET(last, &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		return 11;
	if (threadpool_percpu_get(&pp, TP_PRI_NONE) != 0)
		return 12;
	if (threadpool_percpu_ncpu(pp) != 1 || threadpool_percpu_cpu(pp, 0) != (unsigned int)last) {
		(void)fprintf(stderr, "set of %u CPUs, first %u; want 1 CPU, %d\n",
		    threadpool_percpu_ncpu(pp), threadpool_percpu_cpu(pp, 0), last);
		return 13;
	}
	pool = threadpool_percpu_ref_remote(pp, (unsigned int)last);
	if (pool == NULL || threadpool_percpu_ref(pp) != pool)
		return 14;
	tpt_job_init(&tj, "one-cpu");
	tpt_job_schedule(&tj, pool);
	if (!tpt_job_wait_finished(&tj, 1, TPT_DEADLINE_MS) || tj.tj_cpu != last)
		return 15;
	if (first != last) {
		if (threadpool_percpu_ref_remote(pp, (unsigned int)first) != NULL) {
			(void)fprintf(stderr, "CPU %d outside the set has a pool\n", first);
			return 16;
		}
		CPU_ZERO(&one);
		CPU_SET(first, &one);
		if (sched_setaffinity(0, sizeof(one), &one) != 0)
			return 17;
		if (threadpool_percpu_ref(pp) != pool) {
			(void)fprintf(stderr, "ref on CPU %d outside the set is not the first pool\n",
			    first);
			return 18;
		}
	}
	tpt_job_fini(&tj);
	threadpool_percpu_put(pp, TP_PRI_NONE);
	return 0;
}

START_TEST(test_percpu_set_follows_process_affinity_mask)
{

	tpt_ck_child_succeeds(child_one_cpu, NULL, 30);
}
END_TEST

#define	RACERS	16

struct race {
	pthread_barrier_t		r_barrier;
	struct threadpool_percpu	*r_sets[RACERS];
	int				r_errors[RACERS];
	unsigned int			r_next;
	pthread_mutex_t			r_lock;
};

static void *
racer_thread(void *arg)
{
	struct race *r = arg;
	unsigned int me;

	(void)pthread_mutex_lock(&r->r_lock);
	me = r->r_next++;
	(void)pthread_mutex_unlock(&r->r_lock);
	(void)pthread_barrier_wait(&r->r_barrier);
	r->r_errors[me] = threadpool_percpu_get(&r->r_sets[me], TP_PRI_USER_MIN + 9);
	(void)pthread_barrier_wait(&r->r_barrier);
	if (r->r_errors[me] == 0)
		threadpool_percpu_put(r->r_sets[me], TP_PRI_USER_MIN + 9);
	return NULL;
}

START_TEST(test_percpu_get_creation_race_gives_one_set)
{
	unsigned int base = tpt_count_tasks();
	pthread_t threads[RACERS];
	struct race r;
	unsigned int round, i;

	for (round = 0; round < 5; round++) {
		memset(&r, 0, sizeof(r));
		(void)pthread_mutex_init(&r.r_lock, NULL);
		(void)pthread_barrier_init(&r.r_barrier, NULL, RACERS);
		for (i = 0; i < RACERS; i++)
			ck_assert_int_eq(pthread_create(&threads[i], NULL, racer_thread, &r), 0);
		for (i = 0; i < RACERS; i++)
			(void)pthread_join(threads[i], NULL);
		(void)pthread_barrier_destroy(&r.r_barrier);
		(void)pthread_mutex_destroy(&r.r_lock);
		for (i = 0; i < RACERS; i++) {
			ck_assert_int_eq(r.r_errors[i], 0);
			ck_assert_ptr_eq(r.r_sets[i], r.r_sets[0]);
		}
		ck_assert_msg(tpt_wait_task_count(base, 2000), "round %u: %u threads, %u before",
		    round, tpt_count_tasks(), base);
	}
}
END_TEST

START_TEST(test_percpu_put_of_last_reference_joins_all_threads)
{
	unsigned int base = tpt_count_tasks();
	struct threadpool_percpu *pp = get_percpu(TP_PRI_NONE);
	struct threadpool_percpu *pp2 = get_percpu(TP_PRI_NONE);
	struct tpt_job jobs[2 * 4];
	struct tpt_gate gate;
	unsigned int n, i, k, nj = 0;

	n = threadpool_percpu_ncpu(pp);
	if (n > 4)
		n = 4;
	tpt_gate_init(&gate);
	for (i = 0; i < n; i++) {
		for (k = 0; k < 2; k++, nj++) {
			tpt_job_init(&jobs[nj], "percpu-worker");
			jobs[nj].tj_gate = &gate;
			tpt_job_schedule(&jobs[nj], threadpool_percpu_ref_remote(pp,
			    threadpool_percpu_cpu(pp, i)));
		}
	}
	for (i = 0; i < nj; i++)
		ck_assert(tpt_job_wait_started(&jobs[i], 1, TPT_DEADLINE_MS));
	tpt_gate_open(&gate);
	for (i = 0; i < nj; i++) {
		ck_assert(tpt_job_wait_finished(&jobs[i], 1, TPT_DEADLINE_MS));
		tpt_job_fini(&jobs[i]);
	}
	tpt_gate_destroy(&gate);
	ck_assert_uint_ge(tpt_count_tasks(), base + threadpool_percpu_ncpu(pp) + nj);

	threadpool_percpu_put(pp2, TP_PRI_NONE);
	/* A reference is left: nothing stopped. */
	ck_assert_uint_ge(tpt_count_tasks(), base + threadpool_percpu_ncpu(pp) + nj);
	threadpool_percpu_put(pp, TP_PRI_NONE);
	ck_assert_msg(tpt_wait_task_count(base, 500), "%u threads after the last put, %u before",
	    tpt_count_tasks(), base);
}
END_TEST

START_TEST(test_cancel_through_other_cpu_pool_is_right)
{
	struct threadpool_percpu *pp = get_percpu(TP_PRI_NONE);
	struct threadpool *pool, *other, *unbound = NULL;

	pool = threadpool_percpu_ref_remote(pp, threadpool_percpu_cpu(pp, 0));
	if (threadpool_percpu_ncpu(pp) >= 2) {
		other = threadpool_percpu_ref_remote(pp, threadpool_percpu_cpu(pp, 1));
	} else {
		/* One CPU: the unbound pool is the other pool. */
		unbound = tpt_ck_get_pool(TP_PRI_NONE);
		other = unbound;
	}
	tpt_ck_cancel_through_other(pool, other);
	if (unbound != NULL)
		threadpool_put(unbound, TP_PRI_NONE);
	threadpool_percpu_put(pp, TP_PRI_NONE);
}
END_TEST

static Suite *
percpu_suite(void)
{
	Suite *s = suite_create("percpu");
	TCase *tc;

	tc = tcase_create("placement");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_percpu_set_has_one_pool_per_cpu_of_affinity_mask);
	tcase_add_test(tc, test_percpu_threads_are_pinned_to_their_cpu);
	tcase_add_test(tc, test_percpu_jobs_run_on_their_cpu);
	tcase_add_test(tc, test_percpu_ref_gives_callers_cpu_pool);
	tcase_add_test(tc, test_percpu_ref_remote_of_cpu_not_in_set_is_null);
	tcase_add_test(tc, test_percpu_set_follows_process_affinity_mask);
	suite_add_tcase(s, tc);

	tc = tcase_create("refs");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_percpu_get_creation_race_gives_one_set);
	tcase_add_test(tc, test_percpu_put_of_last_reference_joins_all_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_cancel_through_other_cpu_pool_is_right);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{

	return tpt_run_suite(percpu_suite());
}
