/*
 * ctl-stats.c -- tpctl stats: the daemon's counters, its memory budget,
 * every numeric setting as in effect, and each pool's statistics (threads
 * total and idle, queued jobs, jobs run, threads created and exited,
 * thread creation failures).
 *
 *	tpctl stats
 */
#include "config.h"

#include <stdio.h>

#include "ctl.h"

static const char *
stats_unit_name(Tpool__LimitUnit unit)
{
	switch (unit) {
	case TPOOL__LIMIT_UNIT__LIMIT_BYTES:
		return "bytes";
	case TPOOL__LIMIT_UNIT__LIMIT_NANOSECONDS:
		return "ns";
	default:
		return "count";
	}
}

struct stats_scale {
	uint64_t	ss_mult;
	const char	*ss_suffix;
};

static const struct stats_scale stats_bytes[] = {
	{ 1ull << 30, "G" }, { 1ull << 20, "M" }, { 1ull << 10, "K" },
	{ 1, "" },
}, stats_times[] = {
	{ 3600000000000ull, "h" }, { 60000000000ull, "m" },
	{ 1000000000ull, "s" }, { 1000000ull, "ms" }, { 1, "ns" },
};

/* A setting's value as tpoold's option would take it (1M, 30s, 5m). */
static void
stats_limit_value(const Tpool__Limit *l, char *buf, size_t len)
{
	const struct stats_scale *sc = NULL;
	size_t i;

	if (l->unit == TPOOL__LIMIT_UNIT__LIMIT_BYTES)
		sc = stats_bytes;
	else if (l->unit == TPOOL__LIMIT_UNIT__LIMIT_NANOSECONDS)
		sc = stats_times;
	/* The largest unit that divides it (the last is 1). */
	for (i = 0; sc != NULL && l->value != 0; i++)
		if (l->value % sc[i].ss_mult == 0) {
			(void)snprintf(buf, len, "%llu%s",
			    (unsigned long long)(l->value / sc[i].ss_mult),
			    sc[i].ss_suffix);
			return;
		}
	(void)snprintf(buf, len, "%llu", (unsigned long long)l->value);
}

static void
stats_json(const Tpool__StatsReply *s)
{
	const Tpool__PoolStats *p;
	size_t i;

	(void)printf("{\"uptime_ms\":%llu,\"connections\":%u,\"plugins\":%u,"
	    "\"plugins_quarantined\":%u,"
	    "\"jobs_accepted\":%llu,\"jobs_succeeded\":%llu,"
	    "\"jobs_failed\":%llu,\"jobs_cancelled\":%llu,\"jobs_expired\":%llu,\"jobs_timed_out\":%llu,"
	    "\"jobs_interrupted\":%llu,\"store\":%s,\"store_writable\":%s,"
	    "\"jobs_in_flight\":%u,\"jobs_waiting_turn\":%u,"
	    "\"memory_budget\":%llu,\"memory_per_user\":%llu,"
	    "\"memory_used\":%llu,\"memory_used_by_you\":%llu,\"pools\":[",
	    (unsigned long long)s->uptime_ms, (unsigned)s->connections,
	    (unsigned)s->plugins, (unsigned)s->plugins_quarantined,
	    (unsigned long long)s->jobs_accepted,
	    (unsigned long long)s->jobs_succeeded,
	    (unsigned long long)s->jobs_failed,
	    (unsigned long long)s->jobs_cancelled,
	    (unsigned long long)s->jobs_expired,
	    (unsigned long long)s->jobs_timed_out,
	    (unsigned long long)s->jobs_interrupted,
	    s->store ? "true" : "false",
	    s->store && (!s->has_store_writable || s->store_writable) ?
	    "true" : "false",
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
	(void)printf("],\"limits\":[");
	for (i = 0; i < s->n_limits; i++) {
		(void)printf("%s{\"name\":", i > 0 ? "," : "");
		ctl_json_string(stdout, s->limits[i]->name);
		(void)printf(",\"value\":%llu,\"unit\":\"%s\"}",
		    (unsigned long long)s->limits[i]->value,
		    stats_unit_name(s->limits[i]->unit));
	}
	(void)putchar(']');
	if (s->gearman != NULL) {
		const Tpool__GearmanStats *g = s->gearman;

		(void)printf(",\"gearman\":{\"servers\":%u,\"slots\":%u,"
		    "\"connected\":%u,\"running\":%u,\"taken\":%llu,"
		    "\"completed\":%llu,\"failed\":%llu,\"returned\":%llu,"
		    "\"connect_failures\":%llu}", (unsigned)g->servers,
		    (unsigned)g->slots, (unsigned)g->connected,
		    (unsigned)g->running, (unsigned long long)g->taken,
		    (unsigned long long)g->completed,
		    (unsigned long long)g->failed,
		    (unsigned long long)g->returned,
		    (unsigned long long)g->connect_failures);
	}
	(void)puts("}");
}

static void
stats_text(const Tpool__StatsReply *s)
{
	const Tpool__PoolStats *p;
	char pri[16], cpu[16], val[32];
	size_t i;

	(void)printf("uptime:         %.1f s\n", (double)s->uptime_ms / 1e3);
	(void)printf("connections:    %u\n", (unsigned)s->connections);
	if (s->plugins_quarantined > 0)
		(void)printf("plugins:        %u (%u quarantined: tpctl "
		    "plugins)\n", (unsigned)s->plugins,
		    (unsigned)s->plugins_quarantined);
	else
		(void)printf("plugins:        %u\n", (unsigned)s->plugins);
	(void)printf("jobs accepted:  %llu\n",
	    (unsigned long long)s->jobs_accepted);
	(void)printf("jobs succeeded: %llu\n",
	    (unsigned long long)s->jobs_succeeded);
	(void)printf("jobs failed:    %llu\n",
	    (unsigned long long)s->jobs_failed);
	(void)printf("jobs cancelled: %llu\n",
	    (unsigned long long)s->jobs_cancelled);
	(void)printf("jobs expired:   %llu\n",
	    (unsigned long long)s->jobs_expired);
	(void)printf("jobs timed out: %llu\n",
	    (unsigned long long)s->jobs_timed_out);
	(void)printf("jobs interrupted: %llu\n",
	    (unsigned long long)s->jobs_interrupted);
	(void)printf("job store:      %s\n", !s->store ?
	    "no (jobs in memory only)" : !s->has_store_writable ||
	    s->store_writable ? "yes (jobs "
	    "survive a restart)" : "yes, but it cannot be written now "
	    "(read-only, or its disk is full): submits are refused");
	if (s->gearman != NULL)
		(void)printf("gearman:        %u of %u slots connected to %u "
		    "servers, %u jobs running; %llu taken: %llu completed, "
		    "%llu failed, %llu handed back; %llu connect failures\n",
		    (unsigned)s->gearman->connected,
		    (unsigned)s->gearman->slots,
		    (unsigned)s->gearman->servers,
		    (unsigned)s->gearman->running,
		    (unsigned long long)s->gearman->taken,
		    (unsigned long long)s->gearman->completed,
		    (unsigned long long)s->gearman->failed,
		    (unsigned long long)s->gearman->returned,
		    (unsigned long long)s->gearman->connect_failures);
	(void)printf("jobs in flight: %u\n", (unsigned)s->jobs_in_flight);
	(void)printf("  of which waiting for their user's turn: %u\n",
	    (unsigned)s->jobs_waiting_turn);
	(void)printf("memory held:    %llu of %llu bytes (yours: %llu of "
	    "%llu)\n", (unsigned long long)s->memory_used,
	    (unsigned long long)s->memory_budget,
	    (unsigned long long)s->memory_used_by_you,
	    (unsigned long long)s->memory_per_user);
	if (s->n_limits > 0)
		(void)printf("\nsettings (tpoold options, as in effect):\n");
	for (i = 0; i < s->n_limits; i++) {
		stats_limit_value(s->limits[i], val, sizeof(val));
		(void)printf("  %-26s %s\n", s->limits[i]->name != NULL ?
		    s->limits[i]->name : "?", val);
	}
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
