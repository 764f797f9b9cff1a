/*
 * impl_glib.c -- GLib's GThreadPool.
 *
 * Two configurations, both with max_threads = -w:
 *  "glib"       exclusive = FALSE, the common use: threads are started on
 *               demand and, when idle long enough, returned to GLib's
 *               process-wide set of unused threads;
 *  "glib-excl"  exclusive = TRUE: the pool starts all its threads at once
 *               and keeps them, the closest to a pool of dedicated workers.
 * g_thread_pool_push takes the slot as the task's data; GLib allocates its
 * own queue node for it.  Built only with GLib (HAVE_GLIB); without it the
 * two rows are left out of the table.
 */
#include "config.h"

#include "bench.h"

#ifdef HAVE_GLIB
#include <errno.h>
#include <stdio.h>

#include <glib.h>

static void
glib_job(gpointer data, gpointer user_data)
{
	struct bench_slot *slot = data;

	bench_slot_begin(slot);
	bench_slot_complete(slot);
}

static int
glib_create(void **ret_pool, gboolean exclusive)
{
	GThreadPool *gp;
	GError *err = NULL;

	gp = g_thread_pool_new(glib_job, NULL, (gint)bench_config.bc_workers,
	    exclusive, &err);
	if (gp == NULL) {
		(void)fprintf(stderr, "g_thread_pool_new: %s\n",
		    err != NULL ? err->message : "failed");
		g_clear_error(&err);
		return EAGAIN;
	}
	*ret_pool = gp;
	return 0;
}

static int
glib_setup(void **ret_pool, bool stamp)
{

	return glib_create(ret_pool, FALSE);
}

static int
glib_excl_setup(void **ret_pool, bool stamp)
{

	return glib_create(ret_pool, TRUE);
}

static void
glib_teardown(void *pool)
{

	/* Every job has completed by now; wait for the threads to let go. */
	g_thread_pool_free(pool, FALSE, TRUE);
}

static void
glib_submit(void *pool, struct bench_producer *bp, struct bench_slot *slot)
{
	GError *err = NULL;

	if (!g_thread_pool_push(pool, slot, &err))
		bench_fatal("g_thread_pool_push: %s",
		    err != NULL ? err->message : "failed");
}

const struct bench_impl bench_impl_glib = {
	.bi_name = "glib",
	.bi_desc = "GLib GThreadPool, exclusive=FALSE (shared threads, started on demand)",
	.bi_setup = glib_setup,
	.bi_teardown = glib_teardown,
	.bi_submit = glib_submit,
};

const struct bench_impl bench_impl_glib_excl = {
	.bi_name = "glib-excl",
	.bi_desc = "GLib GThreadPool, exclusive=TRUE (all threads started with the pool)",
	.bi_setup = glib_excl_setup,
	.bi_teardown = glib_teardown,
	.bi_submit = glib_submit,
};

#else /* !HAVE_GLIB */

const struct bench_impl bench_impl_glib = { .bi_name = "glib" };
const struct bench_impl bench_impl_glib_excl = { .bi_name = "glib-excl" };

#endif /* HAVE_GLIB */
