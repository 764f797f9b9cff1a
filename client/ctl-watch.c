/*
 * ctl-watch.c -- tpctl watch: follow a job (ours or, for root, anyone's)
 * until it ends, and report its end as submit --wait does.
 *
 *	tpctl watch [--raw] JOBID
 *
 * On a terminal a progress bar shows the job's progress; with --json every
 * event is one JSON line ({"event":"started"|"progress"|"finished",...}),
 * the last one carrying the final job.  The exit status is the job's: 0
 * succeeded, 1 failed, 4 cancelled.
 */
#include "config.h"

#include <stdio.h>

#include "ctl.h"

static int
watch_report(const struct ctl_ctx *ctx, const Tpool__JobInfo *j)
{
	if (ctx->cc_json) {
		(void)fputs("{\"event\":\"finished\",\"job\":", stdout);
		ctl_json_job(stdout, j);
		(void)puts("}");
		return ctl_state_exit(j->state);
	}
	return ctl_report_final(ctx, j);
}

static int
watch_exec(struct ctl_ctx *ctx)
{
	Tpool__WatchReply *wr;
	Tpool__JobInfo *ji;
	uint64_t job = ctx->cc_job;
	int ex, error;

	if ((error = tpc_watch(ctx->cc_conn, job, &wr)) != 0)
		return ctl_fail(ctx, error, "watch");
	/*
	 * The daemon answers Watch and sends events from one thread, so a
	 * job it calls unfinished here still has its JobFinished to come.
	 */
	if (wr->job != NULL && tp_state_is_final(wr->job->state)) {
		ex = watch_report(ctx, wr->job);
		tpool__watch_reply__free_unpacked(wr, NULL);
		return ex;
	}
	tpool__watch_reply__free_unpacked(wr, NULL);
	if ((ex = ctl_wait_job(ctx, job, true, &ji)) != CTL_EXIT_OK)
		return ex;
	ex = watch_report(ctx, ji);
	tpool__job_info__free_unpacked(ji, NULL);
	return ex;
}

const struct ctl_cmd ctl_cmd_watch = {
	.cmd_name = "watch",
	.cmd_args = "[--raw] JOBID",
	.cmd_summary = "follow a job until it ends; report its end",
	.cmd_help =
	    "Options:\n"
	    "      --raw    print the result's bytes untouched\n"
	    "A progress bar on a terminal.  With --json one line per event:\n"
	    "{\"event\":\"started\"|\"progress\"|\"finished\",...}.\n"
	    "The exit status is the job's: 0 succeeded, 1 failed, 4 "
	    "cancelled.\n",
	.cmd_shortopts = "",
	.cmd_flags = CTL_CMD_CONNECT | CTL_CMD_RAW,
	.cmd_operands = ctl_one_job_id,
	.cmd_exec = watch_exec,
};
