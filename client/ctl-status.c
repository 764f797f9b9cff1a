/*
 * ctl-status.c -- tpctl status: one job in detail, or a table of the
 * caller's jobs (queued, running, and the finished ones the daemon still
 * remembers); with --all (root only), of every user's jobs, with their
 * owners.  The daemon sends a list in pages of up to 1000 jobs, newest
 * first; all pages are fetched and the table printed oldest first.
 *
 *	tpctl status [--raw] [--all | JOBID]
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"

static const struct option status_opts[] = {
	{ "all",	no_argument,	NULL, 'a' },
	{ NULL,		0,		NULL, 0 },
};

static bool	status_all_users;	/* --all */

static void
status_row(const Tpool__JobInfo *j, bool owners)
{
	char where[32];

	if (j->pool == TPOOL__POOL_KIND__POOL_PERCPU && j->has_cpu &&
	    j->cpu >= 0)
		(void)snprintf(where, sizeof(where), "cpu %d", (int)j->cpu);
	else
		(void)snprintf(where, sizeof(where), "%s",
		    tp_pool_name(j->pool));
	(void)printf("%-16llu ", (unsigned long long)j->job_id);
	if (owners)
		(void)printf("%-10u ", (unsigned int)j->uid);
	(void)printf("%-10s %-12s %-16s %-10s ", tp_state_name(j->state),
	    j->plugin != NULL ? j->plugin : "-",
	    j->name != NULL ? j->name : "-", where);
	if (j->has_priority && j->priority != -1)
		(void)printf("%5d ", (int)j->priority);
	else
		(void)printf("%5s ", "-");
	if (j->has_progress && j->state == TPOOL__JOB_STATE__JOB_RUNNING)
		(void)printf("%4u%%\n", (unsigned)j->progress);
	else
		(void)printf("%5s\n", "-");
}

/* The pages came newest first: print the oldest page first. */
static void
status_table(Tpool__StatusReply *const *pages, size_t npages, bool owners)
{
	size_t i, k, n = 0;

	for (k = 0; k < npages; k++)
		n += pages[k]->n_jobs;
	if (n == 0) {
		(void)puts("no jobs");
		return;
	}
	(void)printf("%-16s ", "JOB");
	if (owners)
		(void)printf("%-10s ", "UID");
	(void)printf("%-10s %-12s %-16s %-10s %5s %5s\n", "STATE",
	    "PLUGIN", "NAME", "POOL", "PRI", "PROG");
	for (k = npages; k-- > 0; )
		for (i = 0; i < pages[k]->n_jobs; i++)
			status_row(pages[k]->jobs[i], owners);
}

static void
status_json_list(Tpool__StatusReply *const *pages, size_t npages)
{
	bool first = true;
	size_t i, k;

	(void)fputs("{\"jobs\":[", stdout);
	for (k = npages; k-- > 0; )
		for (i = 0; i < pages[k]->n_jobs; i++) {
			if (!first)
				(void)fputc(',', stdout);
			first = false;
			ctl_json_job(stdout, pages[k]->jobs[i]);
		}
	(void)puts("]}");
}

/*
 * Every page of the list into *ret_pages (the caller frees each with
 * tpool__status_reply__free_unpacked, and the array); 0 or an error as
 * tpc's.  Each page must hold jobs and lead below the one before: a
 * daemon that answers otherwise is not followed further.
 */
static int
status_pages(struct ctl_ctx *ctx, Tpool__StatusReply ***ret_pages,
    size_t *ret_n)
{
	Tpool__StatusReply **pages = NULL, *r, **p;
	uint64_t before = 0;
	size_t n = 0;
	int error;

	for (;;) {
		error = tpc_status_page(ctx->cc_conn, status_all_users, before,
		    0, &r);
		if (error != 0)
			break;
		if ((p = realloc(pages, (n + 1) * sizeof(*p))) == NULL) {
			tpool__status_reply__free_unpacked(r, NULL);
			error = ENOMEM;
			break;
		}
		pages = p;
		pages[n++] = r;
		if (!r->has_more_before)
			break;
		if (r->n_jobs == 0 || r->more_before == 0 ||
		    (before != 0 && r->more_before >= before)) {
			ctl_warnx(ctx, "the daemon's next page (below job "
			    "%llu) does not follow the last; the list stops "
			    "here", (unsigned long long)r->more_before);
			break;
		}
		before = r->more_before;
	}
	*ret_pages = pages;
	*ret_n = n;
	return error;
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
	Tpool__StatusReply *r, **pages = NULL;
	uint64_t job = ctx->cc_job;
	size_t i, npages = 0;
	int error;

	if (job == 0) {
		error = status_pages(ctx, &pages, &npages);
		if (error == 0) {
			if (ctx->cc_json)
				status_json_list(pages, npages);
			else
				status_table(pages, npages, status_all_users);
		}
		for (i = 0; i < npages; i++)
			tpool__status_reply__free_unpacked(pages[i], NULL);
		free(pages);
		return error != 0 ? ctl_fail(ctx, error, "status") :
		    CTL_EXIT_OK;
	}

	if ((error = tpc_status(ctx->cc_conn, job, &r)) != 0)
		return ctl_fail(ctx, error, "status");
	if (r->n_jobs != 1) {
		ctl_error(ctx, CTL_ERR_PROTOCOL, "the daemon answered %zu jobs "
		    "for one",
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
