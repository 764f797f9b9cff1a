/*
 * conformance.c -- a program written only against <threadpool.h>, as a
 * user of the installed library writes one:
 *
 *	cc conformance.c $(pkg-config --cflags --libs libtp)
 *
 * It ports the seed's usage pattern (a job embedded in its owner, the
 * owner's mutex as the job lock, threadpool_job_done under it) and walks
 * the public API once: unbound and per-CPU pools, schedule, cancel of a
 * queued and of a running job, statistics, the cap and the idle timeout.
 * No Check, no test helpers, no libtp internals.  Exit 0 when every
 * answer is the documented one; otherwise it says which and exits 1.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* sched_getcpu */
#endif

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <threadpool.h>

/* An object with a job in it, as a threadpool(9) user has. */
struct counter {
	pthread_mutex_t		c_lock;
	pthread_cond_t		c_cv;
	struct threadpool_job	c_job;
	unsigned int		c_runs;		/* c_lock */
	int			c_cpu;		/* c_lock: where the last run was */
	bool			c_hold;		/* c_lock: block until cleared */
	bool			c_running;	/* c_lock */
};

static int failures;

#define	EXPECT(cond) do {						\
	if (!(cond)) {							\
		(void)fprintf(stderr, "conformance: %s:%d: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		failures++;						\
	}								\
} while (0)

static void
counter_run(struct threadpool_job *job)
{
	struct counter *c = (struct counter *)((char *)job -
	    offsetof(struct counter, c_job));

	(void)pthread_mutex_lock(&c->c_lock);
	c->c_running = true;
	(void)pthread_cond_broadcast(&c->c_cv);
	while (c->c_hold)
		(void)pthread_cond_wait(&c->c_cv, &c->c_lock);
	c->c_runs++;
	c->c_cpu = sched_getcpu();
	c->c_running = false;
	threadpool_job_done(job);
	(void)pthread_cond_broadcast(&c->c_cv);
	(void)pthread_mutex_unlock(&c->c_lock);
}

static void
counter_init(struct counter *c, const char *name)
{

	memset(c, 0, sizeof(*c));
	(void)pthread_mutex_init(&c->c_lock, NULL);
	(void)pthread_cond_init(&c->c_cv, NULL);
	threadpool_job_init(&c->c_job, counter_run, &c->c_lock, "%s", name);
}

static void
counter_fini(struct counter *c)
{

	threadpool_job_destroy(&c->c_job);
	(void)pthread_cond_destroy(&c->c_cv);
	(void)pthread_mutex_destroy(&c->c_lock);
}

/* Wait, c_lock held, for runs to reach n or running to become true. */
static bool
counter_wait_locked(struct counter *c, unsigned int n, bool running)
{
	struct timespec dl;

	(void)clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 20;
	while (c->c_runs < n && !(running && c->c_running)) {
		if (pthread_cond_timedwait(&c->c_cv, &c->c_lock, &dl) == ETIMEDOUT)
			return false;
	}
	return true;
}

int
main(void)
{
	struct threadpool *pool, *pool2;
	struct threadpool_percpu *pp;
	struct threadpool_stats st;
	struct counter a, b;
	unsigned int i, cpu;

	EXPECT(threadpool_pri_is_valid(TP_PRI_NONE));
	EXPECT(!threadpool_pri_is_valid(TP_PRI_COUNT));
	EXPECT(threadpool_get(&pool, -2) == EINVAL);
	EXPECT(threadpool_set_default_idle_timeout(999) == EINVAL);

	if (threadpool_get(&pool, TP_PRI_NONE) != 0 ||
	    threadpool_get(&pool2, TP_PRI_NONE) != 0) {
		(void)fprintf(stderr, "conformance: threadpool_get failed\n");
		return 1;
	}
	EXPECT(pool == pool2);
	threadpool_put(pool2, TP_PRI_NONE);
	EXPECT(threadpool_set_idle_timeout(pool, 0) == EINVAL);
	EXPECT(threadpool_set_idle_timeout(pool, 5 * 1000 * 1000) == 0);

	/* Schedule, run once. */
	counter_init(&a, "conf-a");
	counter_init(&b, "conf-b");
	(void)pthread_mutex_lock(&a.c_lock);
	threadpool_schedule_job(pool, &a.c_job);
	EXPECT(counter_wait_locked(&a, 1, false));
	EXPECT(a.c_runs == 1);
	EXPECT(threadpool_cancel_job_async(pool, &a.c_job));	/* done: idle */
	(void)pthread_mutex_unlock(&a.c_lock);

	/* A running job: cancel_async is false, cancel_job waits for it. */
	(void)pthread_mutex_lock(&a.c_lock);
	a.c_hold = true;
	threadpool_schedule_job(pool, &a.c_job);
	EXPECT(counter_wait_locked(&a, 2, true));
	EXPECT(!threadpool_cancel_job_async(pool, &a.c_job));
	threadpool_schedule_job(pool, &a.c_job);		/* running: nothing */
	a.c_hold = false;
	(void)pthread_cond_broadcast(&a.c_cv);
	threadpool_cancel_job(pool, &a.c_job);
	EXPECT(a.c_runs == 2 && !a.c_running);
	(void)pthread_mutex_unlock(&a.c_lock);

	/* A queued job: cap the pool at one worker and keep it busy with a. */
	threadpool_set_max_threads(pool, 1);
	(void)pthread_mutex_lock(&a.c_lock);
	a.c_hold = true;
	threadpool_schedule_job(pool, &a.c_job);
	EXPECT(counter_wait_locked(&a, 3, true));
	(void)pthread_mutex_unlock(&a.c_lock);
	(void)pthread_mutex_lock(&b.c_lock);
	threadpool_schedule_job(pool, &b.c_job);
	threadpool_stats(pool, &st);
	EXPECT(st.tps_queued == 1 && st.tps_max_threads == 1 && st.tps_cpu == -1);
	EXPECT(threadpool_cancel_job_async(pool, &b.c_job));
	(void)pthread_mutex_unlock(&b.c_lock);
	(void)pthread_mutex_lock(&a.c_lock);
	a.c_hold = false;
	(void)pthread_cond_broadcast(&a.c_cv);
	threadpool_cancel_job(pool, &a.c_job);
	(void)pthread_mutex_unlock(&a.c_lock);
	threadpool_set_max_threads(pool, 0);
	threadpool_stats(pool, &st);
	EXPECT(st.tps_queued == 0 && st.tps_jobs_run == 3);
	(void)pthread_mutex_lock(&b.c_lock);
	EXPECT(b.c_runs == 0);
	(void)pthread_mutex_unlock(&b.c_lock);

	/* Per-CPU: each pool runs its jobs on its CPU. */
	if (threadpool_percpu_get(&pp, TP_PRI_NONE) != 0) {
		(void)fprintf(stderr, "conformance: threadpool_percpu_get failed\n");
		return 1;
	}
	EXPECT(threadpool_percpu_ncpu(pp) >= 1);
	EXPECT(threadpool_percpu_ref(pp) != NULL);
	for (i = 0; i < threadpool_percpu_ncpu(pp); i++) {
		cpu = threadpool_percpu_cpu(pp, i);
		(void)pthread_mutex_lock(&b.c_lock);
		threadpool_schedule_job(threadpool_percpu_ref_remote(pp, cpu), &b.c_job);
		EXPECT(counter_wait_locked(&b, i + 1, false));
		EXPECT(b.c_cpu == (int)cpu);
		(void)pthread_mutex_unlock(&b.c_lock);
	}
	threadpool_percpu_put(pp, TP_PRI_NONE);

	counter_fini(&b);
	counter_fini(&a);
	threadpool_put(pool, TP_PRI_NONE);

	if (failures != 0) {
		(void)fprintf(stderr, "conformance: %d failure(s)\n", failures);
		return 1;
	}
	(void)printf("conformance: ok\n");
	return 0;
}
