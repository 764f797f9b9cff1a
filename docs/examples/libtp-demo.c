/*
 * libtp-demo.c -- libtp in a few lines: an unbound pool, the per-CPU pools,
 * a job cancelled while queued and one that was too late to cancel.
 *
 * Build against an installed libtp:
 *	cc libtp-demo.c $(pkg-config --cflags --libs libtp) -o libtp-demo
 */
#ifndef _GNU_SOURCE
#define	_GNU_SOURCE	/* sched_getcpu() */
#endif

#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <threadpool.h>
#include <unistd.h>

/* The job is embedded in its owner's object, with the lock that guards it. */
struct work {
	struct threadpool_job	w_job;
	pthread_mutex_t		w_lock;
	pthread_cond_t		w_cv;
	unsigned int		w_sleep_ms;	/* c */
	int			w_cpu;		/* w_lock: where it ran, -1 if not */
	char			w_comm[16];	/* w_lock: thread name while it ran */
	bool			w_ended;	/* w_lock */
};

static void
work_fn(struct threadpool_job *job)
{
	struct work *w = (struct work *)((char *)job - offsetof(struct work, w_job));
	char comm[16] = "";
	FILE *f;

	if (w->w_sleep_ms)
		(void)usleep(w->w_sleep_ms * 1000);
	if ((f = fopen("/proc/thread-self/comm", "r")) != NULL) {
		if (fgets(comm, sizeof(comm), f) != NULL)
			comm[strcspn(comm, "\n")] = '\0';
		(void)fclose(f);
	}
	(void)pthread_mutex_lock(&w->w_lock);
	w->w_cpu = sched_getcpu();
	(void)snprintf(w->w_comm, sizeof(w->w_comm), "%s", comm);
	w->w_ended = true;
	(void)pthread_cond_broadcast(&w->w_cv);
	threadpool_job_done(job);	/* ends the run, job lock held */
	(void)pthread_mutex_unlock(&w->w_lock);
}

static void
work_init(struct work *w, unsigned int sleep_ms, const char *name)
{
	memset(w, 0, sizeof(*w));
	(void)pthread_mutex_init(&w->w_lock, NULL);
	(void)pthread_cond_init(&w->w_cv, NULL);
	w->w_sleep_ms = sleep_ms;
	w->w_cpu = -1;
	threadpool_job_init(&w->w_job, work_fn, &w->w_lock, "%s", name);
}

/* Wait for the run if one is due, then destroy the job. */
static void
work_wait_destroy(struct work *w, bool will_run)
{
	(void)pthread_mutex_lock(&w->w_lock);
	while (will_run && !w->w_ended)
		(void)pthread_cond_wait(&w->w_cv, &w->w_lock);
	(void)pthread_mutex_unlock(&w->w_lock);
	threadpool_job_destroy(&w->w_job);
	(void)pthread_cond_destroy(&w->w_cv);
	(void)pthread_mutex_destroy(&w->w_lock);
}

int
main(void)
{
	struct threadpool *pool;
	struct threadpool_percpu *pcpu;
	struct threadpool_stats st;
	struct work w, slow, queued;
	unsigned int i;
	bool cancelled, cancelled_queued;
	int error;

	/* 1. The shared unbound pool of the default priority. */
	if ((error = threadpool_get(&pool, TP_PRI_NONE)) != 0) {
		fprintf(stderr, "threadpool_get: %s\n", strerror(error));
		return 1;
	}
	work_init(&w, 0, "demo-hello");
	(void)pthread_mutex_lock(&w.w_lock);
	threadpool_schedule_job(pool, &w.w_job);
	(void)pthread_mutex_unlock(&w.w_lock);
	work_wait_destroy(&w, true);
	printf("unbound pool: job ran on CPU %d in thread \"%s\"\n", w.w_cpu, w.w_comm);

	/* 2. One pool per CPU: each job runs on its pool's CPU. */
	if ((error = threadpool_percpu_get(&pcpu, TP_PRI_NONE)) != 0) {
		fprintf(stderr, "threadpool_percpu_get: %s\n", strerror(error));
		return 1;
	}
	for (i = 0; i < threadpool_percpu_ncpu(pcpu); i++) {
		unsigned int cpu = threadpool_percpu_cpu(pcpu, i);
		struct threadpool *p = threadpool_percpu_ref_remote(pcpu, cpu);

		work_init(&w, 0, "demo-cpu");
		(void)pthread_mutex_lock(&w.w_lock);
		threadpool_schedule_job(p, &w.w_job);
		(void)pthread_mutex_unlock(&w.w_lock);
		work_wait_destroy(&w, true);
		printf("per-CPU pool of CPU %u: job ran on CPU %d\n", cpu, w.w_cpu);
	}
	threadpool_percpu_put(pcpu, TP_PRI_NONE);

	/* 3. Cancel: with one worker allowed, a second job stays queued. */
	threadpool_set_max_threads(pool, 1);
	work_init(&slow, 300, "demo-slow");
	work_init(&queued, 0, "demo-queued");
	(void)pthread_mutex_lock(&slow.w_lock);
	threadpool_schedule_job(pool, &slow.w_job);
	(void)pthread_mutex_unlock(&slow.w_lock);
	(void)usleep(50 * 1000);	/* let it start */
	(void)pthread_mutex_lock(&queued.w_lock);
	threadpool_schedule_job(pool, &queued.w_job);
	cancelled_queued = threadpool_cancel_job_async(pool, &queued.w_job);
	(void)pthread_mutex_unlock(&queued.w_lock);
	printf("cancel of the queued job: %s\n",
	    cancelled_queued ? "cancelled, it will never run" : "too late, it is running");
	(void)pthread_mutex_lock(&slow.w_lock);
	cancelled = threadpool_cancel_job_async(pool, &slow.w_job);
	printf("cancel of the running job: %s\n",
	    cancelled ? "cancelled, it will never run" : "too late, it is running");
	threadpool_cancel_job(pool, &slow.w_job);	/* waits until it ended */
	(void)pthread_mutex_unlock(&slow.w_lock);
	work_wait_destroy(&slow, true);
	work_wait_destroy(&queued, !cancelled_queued);
	printf("the running job ended in thread \"%s\"; the queued one ran: %s\n",
	    slow.w_comm, queued.w_cpu >= 0 ? "yes" : "no");

	threadpool_stats(pool, &st);
	printf("unbound pool: %u threads, %u idle, %llu jobs run, %llu threads created\n",
	    st.tps_threads, st.tps_idle, (unsigned long long)st.tps_jobs_run,
	    (unsigned long long)st.tps_threads_created);
	threadpool_put(pool, TP_PRI_NONE);
	return 0;
}
