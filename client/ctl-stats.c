/*
 * ctl-stats.c -- tpctl stats: the daemon's counters and each pool's
 * statistics (threads total and idle, queued jobs, jobs run, threads
 * created and exited, thread creation failures).
 *
 *	tpctl stats
 */
#include "config.h"

#include <stdio.h>

#include "ctl.h"

static void
stats_json(const Tpool__StatsReply *s)
{
	const Tpool__PoolStats *p;
	size_t i;

	(void)printf("{\"uptime_ms\":%llu,\"connections\":%u,\"plugins\":%u,"
	    "\"jobs_accepted\":%llu,\"jobs_succeeded\":%llu,"
	    "\"jobs_failed\":%llu,\"jobs_cancelled\":%llu,"
	    "\"jobs_in_flight\":%u,\"jobs_waiting_turn\":%u,"
	    "\"memory_budget\":%llu,\"memory_per_user\":%llu,"
	    "\"memory_used\":%llu,\"memory_used_by_you\":%llu,\"pools\":[",
	    (unsigned long long)s->uptime_ms, (unsigned)s->connections,
	    (unsigned)s->plugins, (unsigned long long)s->jobs_accepted,
	    (unsigned long long)s->jobs_succeeded,
	    (unsigned long long)s->jobs_failed,
	    (unsigned long long)s->jobs_cancelled,
	    (unsigned)s->jobs_in_flight, (unsigned)s->jobs_waiting_turn,
	    (unsigned long long)s->memory_budget,
	    (unsigned long long)s->memory_per_user,
	    (unsigned long long)s->memory_used,
	    (unsigned long long)s->memory_used_by_you);
	for (i = 0; i < s->n_pools; i++) {
		p = s->pools[i];
		(void)printf("%s{\"pool\":", i > 0 ? "," : "");
		ctl_json_string(stdout, tp_pool_name(p->pool));
		(void)printf(",\"priority\":%d,\"cpu\":%d,\"threads\":%u,"
		    "\"idle\":%u,\"queued\":%u,\"jobs_run\":%llu,"
		    "\"threads_created\":%llu,\"threads_exited\":%llu,"
		    "\"create_failures\":%llu}",
		    (int)p->priority, p->has_cpu ? (int)p->cpu : -1,
		    (unsigned)p->threads, (unsigned)p->idle,
		    (unsigned)p->queued, (unsigned long long)p->jobs_run,
		    (unsigned long long)p->threads_created,
		    (unsigned long long)p->threads_exited,
		    (unsigned long long)p->create_failures);
	}
	(void)puts("]}");
}

static void
stats_text(const Tpool__StatsReply *s)
{
	const Tpool__PoolStats *p;
	char pri[16], cpu[16];
	size_t i;

	(void)printf("uptime:         %.1f s\n", (double)s->uptime_ms / 1e3);
	(void)printf("connections:    %u\n", (unsigned)s->connections);
	(void)printf("plugins:        %u\n", (unsigned)s->plugins);
	(void)printf("jobs accepted:  %llu\n",
	    (unsigned long long)s->jobs_accepted);
	(void)printf("jobs succeeded: %llu\n",
	    (unsigned long long)s->jobs_succeeded);
	(void)printf("jobs failed:    %llu\n",
	    (unsigned long long)s->jobs_failed);
	(void)printf("jobs cancelled: %llu\n",
	    (unsigned long long)s->jobs_cancelled);
	(void)printf("jobs in flight: %u\n", (unsigned)s->jobs_in_flight);
	(void)printf("  of which waiting for their user's turn: %u\n",
	    (unsigned)s->jobs_waiting_turn);
	(void)printf("memory held:    %llu of %llu bytes (yours: %llu of "
	    "%llu)\n", (unsigned long long)s->memory_used,
	    (unsigned long long)s->memory_budget,
	    (unsigned long long)s->memory_used_by_you,
	    (unsigned long long)s->memory_per_user);
	if (s->n_pools == 0)
		return;
	(void)printf("\n%-8s %4s %4s %7s %5s %6s %10s %8s %7s %5s\n", "POOL",
	    "PRI", "CPU", "THREADS", "IDLE", "QUEUED", "RUN", "CREATED",
	    "EXITED", "FAILS");
	for (i = 0; i < s->n_pools; i++) {
		p = s->pools[i];
		if (p->priority == -1)
			(void)snprintf(pri, sizeof(pri), "-");
		else
			(void)snprintf(pri, sizeof(pri), "%d",
			    (int)p->priority);
		if (p->has_cpu && p->cpu >= 0)
			(void)snprintf(cpu, sizeof(cpu), "%d", (int)p->cpu);
		else
			(void)snprintf(cpu, sizeof(cpu), "-");
		(void)printf("%-8s %4s %4s %7u %5u %6u %10llu %8llu %7llu "
		    "%5llu\n", tp_pool_name(p->pool), pri, cpu,
		    (unsigned)p->threads, (unsigned)p->idle,
		    (unsigned)p->queued, (unsigned long long)p->jobs_run,
		    (unsigned long long)p->threads_created,
		    (unsigned long long)p->threads_exited,
		    (unsigned long long)p->create_failures);
	}
}

static int
stats_exec(struct ctl_ctx *ctx)
{
	Tpool__StatsReply *s;
	int error;

	if ((error = tpc_stats(ctx->cc_conn, &s)) != 0)
		return ctl_fail(ctx, error, "stats");
	if (ctx->cc_json)
		stats_json(s);
	else
		stats_text(s);
	tpool__stats_reply__free_unpacked(s, NULL);
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_stats = {
	.cmd_name = "stats",
	.cmd_args = "",
	.cmd_summary = "show the daemon's counters and its pools' statistics",
	.cmd_help =
	    "With --json one object: the counters and \"pools\":[...].\n",
	.cmd_shortopts = "",
	.cmd_flags = CTL_CMD_CONNECT,
	.cmd_operands = ctl_no_operands,
	.cmd_exec = stats_exec,
};
