/*
 * ctl-status.c -- tpctl status: one job in detail, or a table of the
 * caller's jobs (queued, running, and the finished ones the daemon still
 * remembers).
 *
 *	tpctl status [--raw] [JOBID]
 */
#include "config.h"

#include <stdio.h>

#include "ctl.h"

static void
status_table(const Tpool__StatusReply *r)
{
	const Tpool__JobInfo *j;
	char where[32];
	size_t i;

	if (r->n_jobs == 0) {
		(void)puts("no jobs");
		return;
	}
	(void)printf("%-8s %-10s %-12s %-16s %-10s %5s %5s\n", "JOB", "STATE",
	    "PLUGIN", "NAME", "POOL", "PRI", "PROG");
	for (i = 0; i < r->n_jobs; i++) {
		j = r->jobs[i];
		if (j->pool == TPOOL__POOL_KIND__POOL_PERCPU && j->has_cpu &&
		    j->cpu >= 0)
			(void)snprintf(where, sizeof(where), "cpu %d",
			    (int)j->cpu);
		else
			(void)snprintf(where, sizeof(where), "%s",
			    tp_pool_name(j->pool));
		(void)printf("%-8llu %-10s %-12s %-16s %-10s ",
		    (unsigned long long)j->job_id, tp_state_name(j->state),
		    j->plugin != NULL ? j->plugin : "-",
		    j->name != NULL ? j->name : "-", where);
		if (j->has_priority && j->priority != -1)
			(void)printf("%5d ", (int)j->priority);
		else
			(void)printf("%5s ", "-");
		if (j->has_progress &&
		    j->state == TPOOL__JOB_STATE__JOB_RUNNING)
			(void)printf("%4u%%\n", (unsigned)j->progress);
		else
			(void)printf("%5s\n", "-");
	}
}

static int
status_operands(struct ctl_ctx *ctx, int argc, char **argv)
{
	if (argc > 1)
		return ctl_usage_error(ctx, "at most one JOBID");
	if (argc == 1 && !ctl_parse_job_id(argv[0], &ctx->cc_job))
		return ctl_usage_error(ctx, "'%s' is not a job id", argv[0]);
	return CTL_EXIT_OK;
}

static int
status_exec(struct ctl_ctx *ctx)
{
	Tpool__StatusReply *r;
	uint64_t job = ctx->cc_job;
	size_t i;
	int error;

	if (job != 0)
		error = tpc_status(ctx->cc_conn, job, &r);
	else
		error = tpc_status_all(ctx->cc_conn, &r);
	if (error != 0)
		return ctl_fail(ctx, error, "status");

	if (job != 0) {
		if (r->n_jobs != 1) {
			ctl_warnx(ctx, "the daemon answered %zu jobs for one",
			    r->n_jobs);
			tpool__status_reply__free_unpacked(r, NULL);
			return CTL_EXIT_CONN;
		}
		if (ctx->cc_json) {
			ctl_json_job(stdout, r->jobs[0]);
			(void)fputc('\n', stdout);
		} else {
			ctl_text_job(ctx, stdout, r->jobs[0]);
		}
	} else if (ctx->cc_json) {
		(void)fputs("{\"jobs\":[", stdout);
		for (i = 0; i < r->n_jobs; i++) {
			if (i > 0)
				(void)fputc(',', stdout);
			ctl_json_job(stdout, r->jobs[i]);
		}
		(void)puts("]}");
	} else {
		status_table(r);
	}
	tpool__status_reply__free_unpacked(r, NULL);
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_status = {
	.cmd_name = "status",
	.cmd_args = "[--raw] [JOBID]",
	.cmd_summary = "show one job in detail, or a table of your jobs",
	.cmd_help =
	    "Options:\n"
	    "      --raw    print a job's result bytes untouched\n"
	    "With --json: the job object for JOBID, else {\"jobs\":[...]}.\n"
	    "A job's state does not change the exit status (0).\n",
	.cmd_shortopts = "",
	.cmd_flags = CTL_CMD_CONNECT | CTL_CMD_RAW,
	.cmd_operands = status_operands,
	.cmd_exec = status_exec,
};
