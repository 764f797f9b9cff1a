/*
 * ctl-status.c -- tpctl status: one job in detail, or a table of the
 * caller's jobs (queued, running, and the finished ones the daemon still
 * remembers); with --all (root only), of every user's jobs, with their
 * owners.
 *
 *	tpctl status [--raw] [--all | JOBID]
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "ctl.h"

static const struct option status_opts[] = {
	{ "all",	no_argument,	NULL, 'a' },
	{ NULL,		0,		NULL, 0 },
};

static bool	status_all_users;	/* --all */

static void
status_table(const Tpool__StatusReply *r, bool owners)
{
	const Tpool__JobInfo *j;
	char where[32];
	size_t i;

	if (r->n_jobs == 0) {
		(void)puts("no jobs");
		return;
	}
	(void)printf("%-16s ", "JOB");
	if (owners)
		(void)printf("%-10s ", "UID");
	(void)printf("%-10s %-12s %-16s %-10s %5s %5s\n", "STATE",
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
		(void)printf("%-16llu ", (unsigned long long)j->job_id);
		if (owners)
			(void)printf("%-10u ", (unsigned int)j->uid);
		(void)printf("%-10s %-12s %-16s %-10s ",
		    tp_state_name(j->state),
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
status_option(struct ctl_ctx *ctx, int opt, const char *arg)
{
	(void)arg;
	if (opt != 'a')
		return ctl_usage_error(ctx, "unknown option");
	status_all_users = true;
	return CTL_EXIT_OK;
}

static int
status_operands(struct ctl_ctx *ctx, int argc, char **argv)
{
	if (argc > 1)
		return ctl_usage_error(ctx, "at most one JOBID");
	if (argc == 1 && status_all_users)
		return ctl_usage_error(ctx, "--all lists every job: no JOBID "
		    "with it");
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
	else if (status_all_users)
		error = tpc_status_all_users(ctx->cc_conn, &r);
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
		status_table(r, status_all_users);
	}
	tpool__status_reply__free_unpacked(r, NULL);
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_status = {
	.cmd_name = "status",
	.cmd_args = "[--raw] [--all | JOBID]",
	.cmd_summary = "show one job in detail, or a table of your jobs",
	.cmd_help =
	    "Options:\n"
	    "  -a, --all    every user's jobs, with their owners' uids (root\n"
	    "               only; others get the daemon's ERROR_PERMISSION)\n"
	    "      --raw    print a job's result bytes untouched\n"
	    "With --json: the job object for JOBID, else {\"jobs\":[...]}.\n"
	    "A job's state does not change the exit status (0).\n",
	.cmd_shortopts = "a",
	.cmd_longopts = status_opts,
	.cmd_flags = CTL_CMD_CONNECT | CTL_CMD_RAW,
	.cmd_option = status_option,
	.cmd_operands = status_operands,
	.cmd_exec = status_exec,
};
