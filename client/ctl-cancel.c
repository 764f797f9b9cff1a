/*
 * ctl-cancel.c -- tpctl cancel: cancel a job and say which case it was.
 *
 *	tpctl cancel [--wait] JOBID
 *
 * The daemon answers as libtp's threadpool_cancel_job_async does: the job
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
	{ "json",	no_argument,	NULL, CTL_OPT_JSON },
	{ "raw",	no_argument,	NULL, CTL_OPT_RAW },
	{ "help",	no_argument,	NULL, CTL_OPT_HELP },
	{ NULL,		0,		NULL, 0 },
};

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
cancel_exec(struct ctl_ctx *ctx, int argc, char **argv)
{
	Tpool__CancelReply *r;
	uint64_t job;
	bool wait = false;
	int opt, ex = -1, error;

	while ((opt = getopt_long(argc, argv, "wh", cancel_opts, NULL)) != -1) {
		if (ctl_common_opt(ctx, &ctl_cmd_cancel, opt, &ex)) {
			if (ex >= 0)
				return ex;
			continue;
		}
		if (opt == 'w')
			wait = true;
		else
			return ctl_usage_error(ctx, "unknown option");
	}
	if (argc - optind != 1)
		return ctl_usage_error(ctx, "one JOBID, please");
	if (!ctl_parse_job_id(argv[optind], &job))
		return ctl_usage_error(ctx, "'%s' is not a job id",
		    argv[optind]);
	if ((ex = ctl_connect(ctx)) != CTL_EXIT_OK)
		return ex;
	if ((error = tpc_cancel(ctx->cc_conn, job, wait, &r)) != 0)
		return ctl_fail(ctx, error, "cancel");
	cancel_print(ctx, job, r, wait);
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
	.cmd_exec = cancel_exec,
};
