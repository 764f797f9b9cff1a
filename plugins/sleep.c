/*
 * sleep.c -- the sleep plugin: sleeps for the number of milliseconds given
 * as text in the input ("1500"), reporting progress as it goes and stopping
 * early, with the final state cancelled, once a cancel is requested.  It
 * sleeps in slices of at most 10 ms so that a cancel is seen quickly.  The
 * result is "slept N ms".
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tpool/plugin.h>

#define	SLEEP_MAX_MS	(24ull * 3600 * 1000)	/* one day */
#define	SLEEP_SLICE_MS	10ull

static uint64_t
sleep_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Parse the input as a decimal number of milliseconds. */
static int
sleep_parse(const struct tp_plugin_ctx *ctx, uint64_t *ret_ms)
{
	char buf[32], *end;
	unsigned long long ms;

	if (ctx->ctx_input_len == 0 || ctx->ctx_input_len >= sizeof(buf))
		return EINVAL;
	memcpy(buf, ctx->ctx_input, ctx->ctx_input_len);
	buf[ctx->ctx_input_len] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return EINVAL;
	errno = 0;
	ms = strtoull(buf, &end, 10);
	if (errno != 0 || (*end != '\0' && *end != '\n') || ms > SLEEP_MAX_MS)
		return EINVAL;
	*ret_ms = ms;
	return 0;
}

static int
sleep_run(struct tp_plugin_ctx *ctx)
{
	struct timespec slice;
	uint64_t ms, start, elapsed, left, total;
	unsigned int percent, last_percent;
	char msg[TP_PLUGIN_PROGRESS_MSG_MAX], result[64];
	int n;

	if (sleep_parse(ctx, &ms) != 0) {
		tp_plugin_fail(ctx, "input must be a number of milliseconds, 0 to %llu",
		    SLEEP_MAX_MS);
		return EINVAL;
	}

	start = sleep_now_ns();
	total = ms * 1000000;
	last_percent = 0;
	tp_plugin_progress(ctx, 0, "sleeping");
	for (;;) {
		elapsed = sleep_now_ns() - start;	/* ns */
		if (elapsed >= total)
			break;
		if (tp_plugin_cancel_requested(ctx)) {
			tp_plugin_fail(ctx, "cancelled after %llu of %llu ms",
			    (unsigned long long)(elapsed / 1000000), (unsigned long long)ms);
			return ECANCELED;
		}
		percent = (unsigned int)(elapsed / 1000000 * 100 / ms);
		if (percent != last_percent) {
			(void)snprintf(msg, sizeof(msg), "%llu of %llu ms",
			    (unsigned long long)(elapsed / 1000000), (unsigned long long)ms);
			tp_plugin_progress(ctx, percent, msg);
			last_percent = percent;
		}
		left = total - elapsed;
		if (left > SLEEP_SLICE_MS * 1000000)
			left = SLEEP_SLICE_MS * 1000000;
		slice.tv_sec = 0;
		slice.tv_nsec = (long)left;
		(void)nanosleep(&slice, NULL);
	}
	tp_plugin_progress(ctx, 100, "done");
	n = snprintf(result, sizeof(result), "slept %llu ms", (unsigned long long)ms);
	return tp_plugin_set_result(ctx, result, (size_t)n);
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "sleep",
	.tpp_description = "sleeps for the input's number of milliseconds, reporting progress",
	.tpp_run = sleep_run,
};
