/*
 * ctl-gearman.c -- tpctl --gearman SERVERS submit: a job through gearmand,
 * to whichever tpoold (tpoold --gearman) takes it, by libgearman's client.
 * The function is PREFIX (--gearman-prefix, default "tpool.") followed by
 * the plugin's name, as tpoold registers it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libgearman-1.0/gearman.h>

#include "ctl.h"

/* A foreground job's wait: the result, or the data a failure carried. */
struct gm_wait {
	struct ctl_waiter	gw_bar;
	uint8_t			*gw_data;	/* owned */
	size_t			gw_len;
	bool			gw_done;
	bool			gw_failed;
};

static bool
gm_append(struct gm_wait *w, const void *p, size_t n)
{
	uint8_t *d;

	if (n == 0)
		return true;
	if ((d = realloc(w->gw_data, w->gw_len + n)) == NULL)
		return false;
	memcpy(d + w->gw_len, p, n);
	w->gw_data = d;
	w->gw_len += n;
	return true;
}

static gearman_return_t
gm_on_status(gearman_task_st *task)
{
	struct gm_wait *w = gearman_task_context(task);
	uint32_t num = gearman_task_numerator(task);
	uint32_t den = gearman_task_denominator(task);

	if (w->gw_bar.w_bar)
		ctl_bar_update(&w->gw_bar, den != 0 ?
		    (unsigned)((uint64_t)num * 100 / den) : 0, NULL);
	return GEARMAN_SUCCESS;
}

static gearman_return_t
gm_on_data(gearman_task_st *task)
{
	struct gm_wait *w = gearman_task_context(task);

	if (!gm_append(w, gearman_task_data(task), gearman_task_data_size(task)))
		return GEARMAN_MEMORY_ALLOCATION_FAILURE;
	return GEARMAN_SUCCESS;
}

static gearman_return_t
gm_on_complete(gearman_task_st *task)
{
	struct gm_wait *w = gearman_task_context(task);

	w->gw_done = true;
	return gm_on_data(task);
}

static gearman_return_t
gm_on_fail(gearman_task_st *task)
{
	struct gm_wait *w = gearman_task_context(task);

	w->gw_done = true;
	w->gw_failed = true;
	return GEARMAN_SUCCESS;
}

int
ctl_gearman_submit(struct ctl_ctx *ctx, const char *plugin,
    const void *input, size_t len, const char *unique, bool wait)
{
	char fn[GEARMAN_FUNCTION_MAX_SIZE], handle[GEARMAN_JOB_HANDLE_SIZE];
	const char *prefix = ctx->cc_gearman_prefix != NULL ?
	    ctx->cc_gearman_prefix : "tpool.";
	ProtobufCBinaryData r;
	gearman_client_st *gc;
	gearman_task_st *task;
	gearman_return_t rc;
	struct gm_wait w;
	int ex = CTL_EXIT_OK;

	if ((size_t)snprintf(fn, sizeof(fn), "%s%s", prefix, plugin) >=
	    sizeof(fn))
		return ctl_usage_error(ctx, "the function name %s%s is too "
		    "long for Gearman", prefix, plugin);
	if ((gc = gearman_client_create(NULL)) == NULL) {
		ctl_error(ctx, CTL_ERR_CONNECT, "out of memory");
		return CTL_EXIT_CONN;
	}
	if (gearman_client_add_servers(gc, ctx->cc_gearman) !=
	    GEARMAN_SUCCESS) {
		ctl_error(ctx, CTL_ERR_CONNECT, "--gearman %s: %s",
		    ctx->cc_gearman, gearman_client_error(gc));
		gearman_client_free(gc);
		return CTL_EXIT_USAGE;
	}
	if (!wait) {
		rc = gearman_client_do_background(gc, fn, unique, input, len,
		    handle);
		if (rc != GEARMAN_SUCCESS) {
			ctl_error(ctx, CTL_ERR_CONNECT, "gearmand %s: %s",
			    ctx->cc_gearman, gearman_client_error(gc));
			gearman_client_free(gc);
			return CTL_EXIT_CONN;
		}
		if (ctx->cc_json) {
			(void)fputs("{\"handle\":", stdout);
			ctl_json_string(stdout, handle);
			(void)puts("}");
		} else
			(void)puts(handle);
		gearman_client_free(gc);
		return CTL_EXIT_OK;
	}

	memset(&w, 0, sizeof(w));
	ctl_waiter_init(&w.gw_bar, ctx);
	gearman_client_set_status_fn(gc, gm_on_status);
	gearman_client_set_data_fn(gc, gm_on_data);
	gearman_client_set_complete_fn(gc, gm_on_complete);
	gearman_client_set_fail_fn(gc, gm_on_fail);
	task = gearman_client_add_task(gc, NULL, &w, fn, unique, input, len,
	    &rc);
	if (task != NULL && rc == GEARMAN_SUCCESS)
		rc = gearman_client_run_tasks(gc);
	ctl_bar_flush(&w.gw_bar);
	ctl_bar_clear(&w.gw_bar);
	if (task == NULL || rc != GEARMAN_SUCCESS || !w.gw_done) {
		ctl_error(ctx, CTL_ERR_CONNECT, "gearmand %s: %s",
		    ctx->cc_gearman, gearman_client_error(gc));
		ex = CTL_EXIT_CONN;
	} else if (w.gw_failed) {
		/* tpoold sends "STATE: message" as data before WORK_FAIL. */
		ctl_error(ctx, "JOB_FAILED", "the job did not succeed%s%.*s",
		    w.gw_len > 0 ? ": " : "", (int)w.gw_len,
		    w.gw_data != NULL ? (const char *)w.gw_data : "");
		ex = CTL_EXIT_JOB_FAILED;
	} else if (ctx->cc_json) {
		(void)fputs("{\"state\":\"JOB_SUCCEEDED\",\"result\":", stdout);
		ctl_json_bytes(stdout, w.gw_data, w.gw_len);
		(void)puts("}");
	} else {
		r.data = w.gw_data;
		r.len = w.gw_len;
		ctl_print_result(ctx, stdout, &r);
	}
	free(w.gw_data);
	gearman_client_free(gc);
	return ex;
}
