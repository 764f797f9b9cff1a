/*
 * impl_floor.c -- the floor: the best a single-consumer handoff can do.
 *
 * One consumer thread, and per producer one single-producer single-consumer
 * ring of slot pointers (no lock, no shared counter).  The consumer drains
 * every ring; when all are empty it announces that it sleeps and sleeps on
 * a futex; a producer wakes it only when it has announced so.  For latency
 * this is a bare futex wake of a thread blocked in FUTEX_WAIT, the same
 * handoff as a semaphore ping-pong between two threads; for throughput it is
 * the rate at which one thread can be fed jobs, with no pool around it.
 *
 * A ring has room for every slot of its producer, and a producer reuses a
 * slot only once its previous run has completed, so a ring is never full.
 * A ring is created by its producer's first run and kept for the next
 * runs of the same measurement, with the same number of slots or fewer.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define	FLOOR_MAX_PRODUCERS	64

/*
 * Markings: p = the ring's producer, k = the consumer, a = atomic.
 */
struct floor_ring {
	_Atomic uint64_t	fr_tail;	/* a: written by p */
	uint64_t		fr_head;	/* k */
	struct bench_slot	**fr_buf;	/* p: set before fr_mask is */
	_Atomic uint64_t	fr_mask;	/* a: 0 until the ring exists */
} __attribute__((__aligned__(BENCH_CACHELINE)));

struct floor_pool {
	struct floor_ring	fp_rings[FLOOR_MAX_PRODUCERS];
	_Atomic unsigned int	fp_nrings;	/* a: rings in use */
	_Atomic uint32_t	fp_word		/* a: futex the consumer sleeps on */
	    __attribute__((__aligned__(BENCH_CACHELINE)));
	_Atomic uint32_t	fp_sleeping;	/* a: consumer sleeps or will */
	_Atomic bool		fp_stop;	/* a */
	pthread_t		fp_consumer;
};

static bool
floor_drain(struct floor_pool *fp)
{
	unsigned int i, n;
	bool any = false;

	n = atomic_load_explicit(&fp->fp_nrings, memory_order_acquire);
	for (i = 0; i < n; i++) {
		struct floor_ring *fr = &fp->fp_rings[i];
		uint64_t mask, tail;

		mask = atomic_load_explicit(&fr->fr_mask, memory_order_acquire);
		if (mask == 0)
			continue;
		tail = atomic_load_explicit(&fr->fr_tail, memory_order_acquire);
		while (fr->fr_head != tail) {
			struct bench_slot *slot = fr->fr_buf[fr->fr_head & mask];

			fr->fr_head++;
			bench_slot_begin(slot);
			bench_slot_complete(slot);
			any = true;
		}
	}
	return any;
}

static bool
floor_pending(struct floor_pool *fp)
{
	unsigned int i, n;

	n = atomic_load(&fp->fp_nrings);
	for (i = 0; i < n; i++) {
		struct floor_ring *fr = &fp->fp_rings[i];

		if (atomic_load(&fr->fr_mask) != 0 &&
		    atomic_load(&fr->fr_tail) != fr->fr_head)
			return true;
	}
	return false;
}

static void *
floor_consumer(void *arg)
{
	struct floor_pool *fp = arg;

	for (;;) {
		uint32_t word;

		if (floor_drain(fp))
			continue;
		if (atomic_load(&fp->fp_stop))
			break;
		word = atomic_load(&fp->fp_word);
		/* seq_cst store, then loads of the tails: pairs with submit. */
		atomic_store(&fp->fp_sleeping, 1);
		if (floor_pending(fp) || atomic_load(&fp->fp_stop)) {
			atomic_store(&fp->fp_sleeping, 0);
			continue;
		}
		(void)bench_futex_wait(&fp->fp_word, word);
		atomic_store(&fp->fp_sleeping, 0);
	}
	return NULL;
}

static int
floor_setup(void **ret_pool, bool stamp)
{
	struct floor_pool *fp;
	int error;

	if ((fp = aligned_alloc(BENCH_CACHELINE, sizeof(*fp))) == NULL)
		return ENOMEM;
	memset(fp, 0, sizeof(*fp));
	error = pthread_create(&fp->fp_consumer, NULL, floor_consumer, fp);
	if (error != 0) {
		free(fp);
		return error;
	}
	*ret_pool = fp;
	return 0;
}

static void
floor_teardown(void *pool)
{
	struct floor_pool *fp = pool;
	unsigned int i;

	atomic_store(&fp->fp_stop, true);
	(void)atomic_fetch_add(&fp->fp_word, 1);
	(void)bench_futex_wake(&fp->fp_word, 1);
	(void)pthread_join(fp->fp_consumer, NULL);
	for (i = 0; i < FLOOR_MAX_PRODUCERS; i++)
		free(fp->fp_rings[i].fr_buf);
	free(fp);
}

static int
floor_producer_init(void *pool, struct bench_producer *bp)
{
	struct floor_pool *fp = pool;
	struct floor_ring *fr;
	uint64_t cap = 2;
	unsigned int n;

	if (bp->bp_index >= FLOOR_MAX_PRODUCERS)
		return EINVAL;
	fr = &fp->fp_rings[bp->bp_index];
	while (cap < bp->bp_nslots)
		cap <<= 1;
	if (fr->fr_buf != NULL) {
		/* The previous run of this pool left the ring empty. */
		if (atomic_load(&fr->fr_mask) + 1 < cap)
			return EINVAL;
	} else {
		if ((fr->fr_buf = calloc(cap, sizeof(*fr->fr_buf))) == NULL)
			return ENOMEM;
		atomic_store_explicit(&fr->fr_mask, cap - 1, memory_order_release);
	}
	n = atomic_load(&fp->fp_nrings);
	while (n < bp->bp_index + 1 &&
	    !atomic_compare_exchange_weak(&fp->fp_nrings, &n, bp->bp_index + 1))
		continue;
	bp->bp_impl = fr;
	return 0;
}

static void
floor_submit(void *pool, struct bench_producer *bp, struct bench_slot *slot)
{
	struct floor_pool *fp = pool;
	struct floor_ring *fr = bp->bp_impl;
	uint64_t tail, mask;

	tail = atomic_load_explicit(&fr->fr_tail, memory_order_relaxed);
	mask = atomic_load_explicit(&fr->fr_mask, memory_order_relaxed);
	fr->fr_buf[tail & mask] = slot;
	/* seq_cst store, then load of fp_sleeping: pairs with the consumer. */
	atomic_store(&fr->fr_tail, tail + 1);
	if (atomic_load(&fp->fp_sleeping) != 0 &&
	    atomic_exchange(&fp->fp_sleeping, 0) != 0) {
		(void)atomic_fetch_add(&fp->fp_word, 1);
		(void)bench_futex_wake(&fp->fp_word, 1);
	}
}

const struct bench_impl bench_impl_floor = {
	.bi_name = "floor",
	.bi_desc = "futex handoff to one consumer thread, per-producer SPSC rings (no pool)",
	.bi_setup = floor_setup,
	.bi_teardown = floor_teardown,
	.bi_producer_init = floor_producer_init,
	.bi_submit = floor_submit,
	.bi_flags = BI_SINGLE_CONSUMER,
};
