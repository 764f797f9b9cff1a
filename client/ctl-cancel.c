/*
 * ctl-cancel.c -- tpctl cancel: cancel a job and say which case it was.
 *
 *	tpctl cancel [--wait] JOBID
 *
 * The daemon answers as libtp's threadpool_ctx->cc_job_async does: the job
 * was queued and is now guaranteed never to run; or it is running, too late,
 * and the plugin was asked to stop; or it had already finished.  With
 * --wait the answer comes once the job is not running, with its final
 * state.  Every one of these answers is exit status 0; an unknown job or
 * someone else's is the daemon's error (5).
 */
#include "config.h"

#include <getopt.h>

#include "ctl.h"

static const struct option cancel_opts[] = {
	{ "wait",	no_argument,	NULL, 'w' },
	{ NULL,		0,		NULL, 0 },
};

static bool	cancel_wait;	/* --wait */

static void
cancel_print(const struct ctl_ctx *ctx, uint64_t job,
    const Tpool__CancelReply *r, bool wait)
{
	const Tpool__JobInfo *j = r->job;

	if (ctx->cc_json) {
		(void)printf("{\"job_id\":%llu,\"result\":",
		    (unsigned long long)job);
		ctl_json_string(stdout, ctl_cancel_result_name(r->result));
		if (j != NULL) {
			(void)fputs(",\"job\":", stdout);
			ctl_json_job(stdout, j);
		}
		(void)puts("}");
		return;
	}
	switch (r->result) {
	case TPOOL__CANCEL_RESULT__CANCEL_BEFORE_RUN:
		(void)printf("job %llu cancelled before it ran: it will never "
		    "run\n", (unsigned long long)job);
		break;
	case TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE:
		(void)printf("job %llu was running, too late to cancel; the "
		    "plugin was asked to stop\n", (unsigned long long)job);
		break;
	case TPOOL__CANCEL_RESULT__CANCEL_ALREADY_FINISHED:
		(void)printf("job %llu had already finished\n",
		    (unsigned long long)job);
		break;
	default:
		(void)printf("job %llu: unknown cancel answer %d\n",
		    (unsigned long long)job, (int)r->result);
		break;
	}
	if (j != NULL && (wait ||
	    r->result == TPOOL__CANCEL_RESULT__CANCEL_ALREADY_FINISHED))
		(void)printf("final state: %s\n", tp_state_name(j->state));
}

static int
cancel_option(struct ctl_ctx *ctx, int opt, const char *arg)
{
	if (opt != 'w')
		return ctl_usage_error(ctx, "unknown option");
	cancel_wait = true;
	return CTL_EXIT_OK;
}

static int
cancel_exec(struct ctl_ctx *ctx)
{
	Tpool__CancelReply *r;
	int error;

	error = tpc_cancel(ctx->cc_conn, ctx->cc_job, cancel_wait, &r);
	if (error != 0)
		return ctl_fail(ctx, error, "cancel");
	cancel_print(ctx, ctx->cc_job, r, cancel_wait);
	tpool__cancel_reply__free_unpacked(r, NULL);
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_cancel = {
	.cmd_name = "cancel",
	.cmd_args = "[--wait] JOBID",
	.cmd_summary = "cancel a job: before it ran, too late (running), or "
	    "already finished",
	.cmd_help =
	    "Options:\n"
	    "  -w, --wait   answer only once the job is not running, with its\n"
	    "               final state\n"
	    "Prints which case it was; with --json {\"job_id\":N,\"result\":\n"
	    "\"before-run\"|\"too-late\"|\"already-finished\",\"job\":{...}}.\n"
	    "Each of these is exit status 0.\n",
	.cmd_shortopts = "w",
	.cmd_longopts = cancel_opts,
	.cmd_flags = CTL_CMD_CONNECT | CTL_CMD_RAW,
	.cmd_option = cancel_option,
	.cmd_operands = ctl_one_job_id,
	.cmd_exec = cancel_exec,
};
