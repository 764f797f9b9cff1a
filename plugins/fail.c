/*
 * fail.c -- the fail plugin: every job fails.  The message is the input
 * when there is one (up to 1 KiB of it), else a fixed text, so tests and
 * users can see a failure's message travel to the client.
 */
#include "config.h"

#include <errno.h>

#include <tpool/plugin.h>

#define	FAIL_MSG_MAX	1024

static int
fail_run(struct tp_plugin_ctx *ctx)
{
	int len;

	if (ctx->ctx_input_len == 0) {
		tp_plugin_fail(ctx, "the fail plugin always fails");
	} else {
		len = ctx->ctx_input_len > FAIL_MSG_MAX ? FAIL_MSG_MAX :
		    (int)ctx->ctx_input_len;
		tp_plugin_fail(ctx, "%.*s", len, (const char *)ctx->ctx_input);
	}
	return EIO;
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "fail",
	.tpp_description = "always fails, with the input (if any) as the message",
	.tpp_run = fail_run,
};
