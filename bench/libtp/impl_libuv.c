/*
 * impl_libuv.c -- libuv's uv_queue_work.
 *
 * libuv has one process-wide pool whose size is read from UV_THREADPOOL_SIZE
 * the first time it is used; main.c sets it to -w before anything touches
 * libuv.  uv_queue_work must be called on the thread that runs the loop, so
 * each producer has its own uv_loop_t.  A job counts as run when its work
 * callback has run (it completes the slot there, as every other pool's job
 * does); its after_work callback, which libuv runs later on the producer's
 * loop, only marks the uv_work_t reusable.  The producer runs its loop when
 * it needs a slot back (reclaim) and to the end after the measurement
 * (drain), so after_work costs are inside the timed part only as far as
 * the ring recycling needs them.  Built only with libuv (HAVE_LIBUV).
 */
#include "config.h"

#include "bench.h"

#ifdef HAVE_LIBUV
#include <errno.h>
#include <stdlib.h>

#include <uv.h>

static void
libuv_work(uv_work_t *req)
{
	struct bench_slot *slot = req->data;

	bench_slot_begin(slot);
	bench_slot_complete(slot);
}

static void
libuv_after_work(uv_work_t *req, int status)
{
	struct bench_slot *slot = req->data;

	slot->bs_u.bsu_uv.free = true;
}

static int
libuv_setup(void **ret_pool, bool stamp)
{

	*ret_pool = NULL;	/* the pool is libuv's own */
	return 0;
}

static void
libuv_teardown(void *pool)
{
}

static int
libuv_producer_init(void *pool, struct bench_producer *bp)
{
	uv_loop_t *loop;
	int error;

	if ((loop = malloc(sizeof(*loop))) == NULL)
		return ENOMEM;
	if ((error = uv_loop_init(loop)) != 0) {
		free(loop);
		return -error;
	}
	bp->bp_impl = loop;
	return 0;
}

static void
libuv_producer_fini(void *pool, struct bench_producer *bp)
{
	uv_loop_t *loop = bp->bp_impl;

	(void)uv_run(loop, UV_RUN_DEFAULT);
	if (uv_loop_close(loop) != 0)
		bench_fatal("uv_loop_close: loop still busy");
	free(loop);
	bp->bp_impl = NULL;
}

static void
libuv_slot_init(void *pool, struct bench_slot *slot)
{

	slot->bs_u.bsu_uv.req.data = slot;
	slot->bs_u.bsu_uv.free = true;
}

static void
libuv_submit(void *pool, struct bench_producer *bp, struct bench_slot *slot)
{
	int error;

	slot->bs_u.bsu_uv.free = false;
	error = uv_queue_work(bp->bp_impl, &slot->bs_u.bsu_uv.req, libuv_work,
	    libuv_after_work);
	if (error != 0)
		bench_fatal("uv_queue_work: %s", uv_strerror(error));
}

static void
libuv_reclaim(void *pool, struct bench_producer *bp, struct bench_slot *slot)
{

	while (!slot->bs_u.bsu_uv.free)
		(void)uv_run(bp->bp_impl, UV_RUN_ONCE);
}

static void
libuv_drain(void *pool, struct bench_producer *bp)
{

	(void)uv_run(bp->bp_impl, UV_RUN_DEFAULT);
}

const struct bench_impl bench_impl_libuv = {
	.bi_name = "libuv",
	.bi_desc = "libuv uv_queue_work, UV_THREADPOOL_SIZE=-w, one loop per producer",
	.bi_setup = libuv_setup,
	.bi_teardown = libuv_teardown,
	.bi_producer_init = libuv_producer_init,
	.bi_producer_fini = libuv_producer_fini,
	.bi_slot_init = libuv_slot_init,
	.bi_submit = libuv_submit,
	.bi_reclaim = libuv_reclaim,
	.bi_drain = libuv_drain,
};

#else /* !HAVE_LIBUV */

const struct bench_impl bench_impl_libuv = { .bi_name = "libuv" };

#endif /* HAVE_LIBUV */
