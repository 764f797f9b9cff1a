/*
 * impl_libtp.c -- libtp, the library under test.
 *
 *  "libtp"         the shared unbound pool of TP_PRI_NONE (threadpool_get);
 *  "libtp-percpu"  the per-CPU pool set of TP_PRI_NONE: every job goes to
 *                  the pool of the CPU its producer runs on at that moment
 *                  (threadpool_percpu_ref), whose threads are pinned there.
 *
 * Each slot embeds a struct threadpool_job and its own job lock, a mutex
 * per job, as a caller that embeds a job in its own object would have
 * (the daemon's job objects do).  The producer takes the job lock around
 * threadpool_schedule_job; the job takes it around threadpool_job_done,
 * as the API requires.  All jobs share one name ("bench-null").
 *
 * Every pool is capped at --tp-cap workers (default -w, the same number
 * the other pools get; 0 leaves libtp's default, unlimited).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

static void
libtp_job(struct threadpool_job *job)
{
	struct bench_slot *slot = bench_container_of(job, struct bench_slot,
	    bs_u.bsu_tp.tj);

	bench_slot_begin(slot);
	(void)pthread_mutex_lock(&slot->bs_u.bsu_tp.lock);
	threadpool_job_done(job);
	(void)pthread_mutex_unlock(&slot->bs_u.bsu_tp.lock);
	bench_slot_complete(slot);
}

static void
libtp_slot_init(void *pool, struct bench_slot *slot)
{

	(void)pthread_mutex_init(&slot->bs_u.bsu_tp.lock, NULL);
	threadpool_job_init(&slot->bs_u.bsu_tp.tj, libtp_job,
	    &slot->bs_u.bsu_tp.lock, "bench-null");
}

/* After the pool's put: the pool is gone, the job may still be destroyed. */
static void
libtp_slot_fini(void *pool, struct bench_slot *slot)
{

	threadpool_job_destroy(&slot->bs_u.bsu_tp.tj);
	(void)pthread_mutex_destroy(&slot->bs_u.bsu_tp.lock);
}

static void
libtp_schedule(struct threadpool *tp, struct bench_slot *slot)
{

	(void)pthread_mutex_lock(&slot->bs_u.bsu_tp.lock);
	threadpool_schedule_job(tp, &slot->bs_u.bsu_tp.tj);
	(void)pthread_mutex_unlock(&slot->bs_u.bsu_tp.lock);
}

/* -v: what the pool did, from threadpool_stats(). */
static void
libtp_report(const char *what, struct threadpool *tp)
{
	struct threadpool_stats st;

	if (!bench_config.bc_verbose)
		return;
	threadpool_stats(tp, &st);
	(void)fprintf(stderr, "  %s cpu %d: threads %u (idle %u), queued %u, "
	    "runs %llu, created %llu, exited %llu, create failures %llu\n",
	    what, st.tps_cpu, st.tps_threads, st.tps_idle, st.tps_queued,
	    (unsigned long long)st.tps_jobs_run,
	    (unsigned long long)st.tps_threads_created,
	    (unsigned long long)st.tps_threads_exited,
	    (unsigned long long)st.tps_create_failures);
}

/*
 * The unbound pool.
 */

static int
libtp_setup(void **ret_pool, bool stamp)
{
	struct threadpool *tp;
	int error;

	if ((error = threadpool_get(&tp, TP_PRI_NONE)) != 0)
		return error;
	threadpool_set_max_threads(tp, bench_config.bc_tp_cap);
	*ret_pool = tp;
	return 0;
}

static void
libtp_teardown(void *pool)
{

	libtp_report("libtp", pool);
	threadpool_put(pool, TP_PRI_NONE);
}

static void
libtp_submit(void *pool, struct bench_producer *bp, struct bench_slot *slot)
{

	libtp_schedule(pool, slot);
}

const struct bench_impl bench_impl_libtp = {
	.bi_name = "libtp",
	.bi_desc = "libtp unbound pool (threadpool_get), a mutex per job",
	.bi_setup = libtp_setup,
	.bi_teardown = libtp_teardown,
	.bi_slot_init = libtp_slot_init,
	.bi_slot_fini = libtp_slot_fini,
	.bi_submit = libtp_submit,
};

/*
 * The per-CPU pools.
 */

static int
libtp_percpu_setup(void **ret_pool, bool stamp)
{
	struct threadpool_percpu *pc;
	unsigned int i, n;
	int error;

	if ((error = threadpool_percpu_get(&pc, TP_PRI_NONE)) != 0)
		return error;
	n = threadpool_percpu_ncpu(pc);
	for (i = 0; i < n; i++)
		threadpool_set_max_threads(threadpool_percpu_ref_remote(pc,
		    threadpool_percpu_cpu(pc, i)), bench_config.bc_tp_cap);
	*ret_pool = pc;
	return 0;
}

static void
libtp_percpu_teardown(void *pool)
{
	unsigned int i, n;

	n = threadpool_percpu_ncpu(pool);
	for (i = 0; i < n; i++)
		libtp_report("libtp-percpu", threadpool_percpu_ref_remote(pool,
		    threadpool_percpu_cpu(pool, i)));

	threadpool_percpu_put(pool, TP_PRI_NONE);
}

static void
libtp_percpu_submit(void *pool, struct bench_producer *bp, struct bench_slot *slot)
{

	libtp_schedule(threadpool_percpu_ref(pool), slot);
}

const struct bench_impl bench_impl_libtp_percpu = {
	.bi_name = "libtp-percpu",
	.bi_desc = "libtp per-CPU pools (threadpool_percpu_ref of the producer's CPU)",
	.bi_setup = libtp_percpu_setup,
	.bi_teardown = libtp_percpu_teardown,
	.bi_slot_init = libtp_slot_init,
	.bi_slot_fini = libtp_slot_fini,
	.bi_submit = libtp_percpu_submit,
	.bi_flags = BI_PIN_PRODUCER_ONLY,
};
