/*
 * impl_naive.c -- a plain mutex + condition variable pool, as anyone would
 * write it: N workers, one FIFO queue, one lock.  A producer appends a job
 * and signals the condition variable only when a worker waits on it.
 *
 * "naive" signals the condition variable with the lock held, as the
 * textbook pool (and GLib's and libuv's) does.
 *
 * "naive-spin" is the prototype that says whether libtp's idle workers
 * should spin before they sleep (docs/benchmarks.md), so it wakes workers
 * the way libtp does: the signal comes after the unlock, so that the woken
 * worker does not run into the lock still held by the producer.  A worker
 * that finds the queue empty spins bench_config.bc_spin_us (--spin; 0 = no
 * spin), watching the queue without the lock, before it sleeps.  While a
 * worker spins, a producer wakes nobody: the spinner will see the job (it
 * looks at the queue under the lock once more before it sleeps, so no job
 * is left behind).  A job that arrives within the spin costs no futex wake
 * and no wakeup.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/*
 * Markings: q = np_lock, c = constant after setup, a = atomic.
 */
struct naive_pool {
	pthread_mutex_t		np_lock;
	pthread_cond_t		np_cv;		/* q: work or stop */
	struct bench_slot	*np_head;	/* q, read atomically by spinners */
	struct bench_slot	**np_tailp;	/* q */
	unsigned int		np_nwaiting;	/* q: workers in cond_wait */
	_Atomic unsigned int	np_nspinning;	/* a: workers spinning */
	bool			np_stop;	/* q */
	uint64_t		np_spin_ns;	/* c */
	bool			np_signal_unlocked; /* c: signal after unlock */
	unsigned int		np_nworkers;	/* c */
	pthread_t		*np_workers;	/* c */
};

/* Spin until the queue is non-empty or the spin time is up. */
static bool
naive_spin(struct naive_pool *np)
{
	uint64_t deadline = tu_now_ns() + np->np_spin_ns;
	unsigned int i;

	for (;;) {
		for (i = 0; i < 64; i++) {
			if (__atomic_load_n(&np->np_head, __ATOMIC_RELAXED) != NULL)
				return true;
			bench_cpu_relax();
		}
		if (tu_now_ns() >= deadline)
			return false;
	}
}

static void *
naive_worker(void *arg)
{
	struct naive_pool *np = arg;
	struct bench_slot *slot;
	bool spun = false;

	(void)pthread_mutex_lock(&np->np_lock);
	for (;;) {
		while (np->np_head == NULL && !np->np_stop) {
			if (np->np_spin_ns != 0 && !spun) {
				spun = true;
				(void)atomic_fetch_add(&np->np_nspinning, 1);
				(void)pthread_mutex_unlock(&np->np_lock);
				(void)naive_spin(np);
				(void)pthread_mutex_lock(&np->np_lock);
				(void)atomic_fetch_sub(&np->np_nspinning, 1);
				continue;
			}
			np->np_nwaiting++;
			(void)pthread_cond_wait(&np->np_cv, &np->np_lock);
			np->np_nwaiting--;
		}
		if (np->np_head == NULL)
			break;		/* stopping, queue empty */
		slot = np->np_head;
		__atomic_store_n(&np->np_head, slot->bs_u.bsu_next, __ATOMIC_RELAXED);
		if (np->np_head == NULL)
			np->np_tailp = &np->np_head;
		(void)pthread_mutex_unlock(&np->np_lock);

		bench_slot_begin(slot);
		bench_slot_complete(slot);
		spun = false;

		(void)pthread_mutex_lock(&np->np_lock);
	}
	(void)pthread_mutex_unlock(&np->np_lock);
	return NULL;
}

static int
naive_create(void **ret_pool, uint64_t spin_ns, bool signal_unlocked)
{
	struct naive_pool *np;
	unsigned int i;
	int error;

	if ((np = calloc(1, sizeof(*np))) == NULL)
		return ENOMEM;
	np->np_nworkers = bench_config.bc_workers;
	np->np_spin_ns = spin_ns;
	np->np_signal_unlocked = signal_unlocked;
	np->np_tailp = &np->np_head;
	(void)pthread_mutex_init(&np->np_lock, NULL);
	(void)pthread_cond_init(&np->np_cv, NULL);
	if ((np->np_workers = calloc(np->np_nworkers, sizeof(pthread_t))) == NULL) {
		free(np);
		return ENOMEM;
	}
	for (i = 0; i < np->np_nworkers; i++) {
		error = pthread_create(&np->np_workers[i], NULL, naive_worker, np);
		if (error != 0)
			bench_fatalx(error, "naive pool: pthread_create");
	}
	*ret_pool = np;
	return 0;
}

static int
naive_setup(void **ret_pool, bool stamp)
{

	return naive_create(ret_pool, 0, false);
}

static int
naive_spin_setup(void **ret_pool, bool stamp)
{

	return naive_create(ret_pool, (uint64_t)bench_config.bc_spin_us * 1000,
	    true);
}

static void
naive_teardown(void *pool)
{
	struct naive_pool *np = pool;
	unsigned int i;

	(void)pthread_mutex_lock(&np->np_lock);
	np->np_stop = true;
	(void)pthread_cond_broadcast(&np->np_cv);
	(void)pthread_mutex_unlock(&np->np_lock);
	for (i = 0; i < np->np_nworkers; i++)
		(void)pthread_join(np->np_workers[i], NULL);
	(void)pthread_cond_destroy(&np->np_cv);
	(void)pthread_mutex_destroy(&np->np_lock);
	free(np->np_workers);
	free(np);
}

static void
naive_submit(void *pool, struct bench_producer *bp, struct bench_slot *slot)
{
	struct naive_pool *np = pool;
	bool wake;

	slot->bs_u.bsu_next = NULL;
	(void)pthread_mutex_lock(&np->np_lock);
	if (np->np_tailp == &np->np_head)
		__atomic_store_n(&np->np_head, slot, __ATOMIC_RELAXED);
	else
		*np->np_tailp = slot;
	np->np_tailp = &slot->bs_u.bsu_next;
	/* A spinner decrements np_nspinning under the lock, then looks. */
	wake = np->np_nwaiting > 0 && atomic_load(&np->np_nspinning) == 0;
	if (wake && !np->np_signal_unlocked)
		(void)pthread_cond_signal(&np->np_cv);
	(void)pthread_mutex_unlock(&np->np_lock);
	/* A waiter counted above waits until signalled: none is lost. */
	if (wake && np->np_signal_unlocked)
		(void)pthread_cond_signal(&np->np_cv);
}

const struct bench_impl bench_impl_naive = {
	.bi_name = "naive",
	.bi_desc = "mutex+condvar pool written here: N workers, one FIFO queue",
	.bi_setup = naive_setup,
	.bi_teardown = naive_teardown,
	.bi_submit = naive_submit,
};

const struct bench_impl bench_impl_naive_spin = {
	.bi_name = "naive-spin",
	.bi_desc = "the same, signal after unlock (as libtp), idle workers spin --spin us",
	.bi_setup = naive_spin_setup,
	.bi_teardown = naive_teardown,
	.bi_submit = naive_submit,
};
