/*
 * echo.c -- the echo plugin: the result is the input, byte for byte.  The
 * cheapest job there is; the benchmarks use it as the null job.
 */
#include "config.h"

#include <tpool/plugin.h>

static int
echo_run(struct tp_plugin_ctx *ctx)
{
	return tp_plugin_set_result(ctx, ctx->ctx_input, ctx->ctx_input_len);
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "echo",
	.tpp_description = "returns its input unchanged",
	.tpp_run = echo_run,
};
