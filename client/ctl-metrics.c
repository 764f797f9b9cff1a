/*
 * ctl-metrics.c -- tpctl metrics: the daemon's metrics in Prometheus's
 * text exposition format, as its metrics endpoint serves them (the
 * Metrics request; no HTTP listener needed).
 *
 *	tpctl metrics
 */
#include "config.h"

#include <stdio.h>

#include "ctl.h"

static int
metrics_exec(struct ctl_ctx *ctx)
{
	Tpool__MetricsReply *m;
	int error;

	if ((error = tpc_metrics(ctx->cc_conn, &m)) != 0)
		return ctl_fail(ctx, error, "metrics");
	if (m->text != NULL)
		(void)fputs(m->text, stdout);
	tpool__metrics_reply__free_unpacked(m, NULL);
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_metrics = {
	.cmd_name = "metrics",
	.cmd_args = "",
	.cmd_summary = "print the daemon's metrics (Prometheus text format)",
	.cmd_help =
	    "The text tpoold serves at /metrics (tpoold(8) METRICS); --json\n"
	    "does not change it.\n",
	.cmd_shortopts = "",
	.cmd_flags = CTL_CMD_CONNECT,
	.cmd_operands = ctl_no_operands,
	.cmd_exec = metrics_exec,
};
