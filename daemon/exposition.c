/*
 * exposition.c -- tpoold's metrics as Prometheus's text exposition format
 * (version 0.0.4): the counters of metrics.c, then the gauges read from
 * the modules that hold them now:
 *
 *	tpool_uptime_seconds, tpool_connections, tpool_jobs_in_flight,
 *	tpool_jobs_waiting_turn
 *	tpool_pool_threads, tpool_pool_idle_threads, tpool_pool_queued_jobs
 *		{pool,priority,cpu}, and the counters tpool_pool_jobs_run_total,
 *		tpool_pool_threads_created_total,
 *		tpool_pool_thread_create_failures_total
 *	tpool_memory_budget_bytes, tpool_memory_per_user_bytes,
 *	tpool_memory_used_bytes
 *	tpool_plugins, tpool_plugins_quarantined
 *	tpool_plugin_workers, tpool_plugin_workers_started_total,
 *	tpool_plugin_worker_crashes_total {plugin}: isolation process only
 *	tpool_store_writable (with a job store)
 *
 * The text is what the metrics endpoint (metrics-http.c) and the Metrics
 * request (req-info.c, tpctl metrics) answer.  Layer: above the requests'
 * helpers, below the requests.  Loop thread.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "conn.h"
#include "exposition.h"
#include "fairq.h"
#include "isolate.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "plugin.h"
#include "pools.h"
#include "store.h"

/* One pool gauge or counter: its name, what it says, the field. */
struct expo_pool_row {
	const char	*epr_name;
	const char	*epr_type;
	const char	*epr_help;
	size_t		epr_off;	/* of a uint32_t or uint64_t */
	bool		epr_wide;	/* uint64_t */
};

static const struct expo_pool_row expo_pool_rows[] = {
	{ "tpool_pool_threads", "gauge", "Threads of the pool (running a job "
	    "or idle).", offsetof(Tpool__PoolStats, threads), false },
	{ "tpool_pool_idle_threads", "gauge", "Idle threads of the pool.",
	    offsetof(Tpool__PoolStats, idle), false },
	{ "tpool_pool_queued_jobs", "gauge", "Jobs in the pool's queue.",
	    offsetof(Tpool__PoolStats, queued), false },
	{ "tpool_pool_jobs_run_total", "counter", "Jobs the pool's threads "
	    "ran.", offsetof(Tpool__PoolStats, jobs_run), true },
	{ "tpool_pool_threads_created_total", "counter", "Threads the pool "
	    "created.", offsetof(Tpool__PoolStats, threads_created), true },
	{ "tpool_pool_thread_create_failures_total", "counter", "Threads the "
	    "pool could not create.", offsetof(Tpool__PoolStats,
	    create_failures), true },
};

static void
expo_gauge(struct tpd_mbuf *b, const char *name, const char *help,
    unsigned long long value)
{
	tpd_mbuf_printf(b,
	    "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help,
	    name, name, value);
}

static void
expo_pools(struct tpd_mbuf *b)
{
	const struct expo_pool_row *row;
	Tpool__PoolStats **ps;
	unsigned long long v;
	uint32_t v32;
	size_t n, i, r;
	char pri[16];

	if (tpd_pool_stats(&ps, &n) != 0) {
		b->mb_failed = true;
		return;
	}
	for (r = 0; r < sizeof(expo_pool_rows) / sizeof(expo_pool_rows[0]);
	    r++) {
		row = &expo_pool_rows[r];
		tpd_mbuf_printf(b,
		    "# HELP %s %s\n# TYPE %s %s\n", row->epr_name,
		    row->epr_help, row->epr_name, row->epr_type);
		for (i = 0; i < n; i++) {
			if (row->epr_wide) {
				memcpy(&v, (const char *)ps[i] + row->epr_off,
				    sizeof(v));
			} else {
				memcpy(&v32, (const char *)ps[i] + row->epr_off,
				    sizeof(v32));
				v = v32;
			}
			if (ps[i]->priority < 0)
				(void)strcpy(pri, "none");
			else
				(void)snprintf(pri, sizeof(pri), "%d",
				    (int)ps[i]->priority);
			tpd_mbuf_printf(b, "%s{pool=\"%s\",priority=\"%s\","
			    "cpu=\"%d\"} %llu\n", row->epr_name,
			    ps[i]->pool == TPOOL__POOL_KIND__POOL_PERCPU ?
			    "percpu" : "unbound", pri, (int)ps[i]->cpu, v);
		}
	}
	tpd_pool_stats_free(ps, n);
}

/* The plugins: counts, and the worker processes of those that have them. */
struct expo_plugins {
	struct tpd_mbuf	*ep_buf;
	unsigned int	ep_quarantined;
	unsigned int	ep_pass;	/* 0 count, 1..3 one family each */
};

static void
expo_plugin(struct tpd_plugin *p, void *arg)
{
	struct expo_plugins *ep = arg;
	struct tpd_iso *iso = tpd_plugin_iso(p);
	struct tpd_iso_stats st;
	unsigned long long v;

	if (iso == NULL)
		return;
	if (ep->ep_pass == 0) {
		if (tpd_iso_quarantined(iso, tpd_now_ns(), NULL, 0))
			ep->ep_quarantined++;
		return;
	}
	tpd_iso_stats(iso, &st);
	v = ep->ep_pass == 1 ? st.iss_alive : ep->ep_pass == 2 ?
	    st.iss_started : st.iss_crashed;
	tpd_mbuf_printf(ep->ep_buf, "%s{plugin=\"", ep->ep_pass == 1 ?
	    "tpool_plugin_workers" : ep->ep_pass == 2 ?
	    "tpool_plugin_workers_started_total" :
	    "tpool_plugin_worker_crashes_total");
	tpd_mbuf_label(ep->ep_buf, tpd_plugin_desc(p)->tpp_name);
	tpd_mbuf_printf(ep->ep_buf, "\"} %llu\n", v);
}

static void
expo_plugins(struct tpd_mbuf *b)
{
	static const char *const fam[3][3] = {
		{ "tpool_plugin_workers", "gauge", "Worker processes of a "
		    "plugin of isolation process, alive." },
		{ "tpool_plugin_workers_started_total", "counter", "Worker "
		    "processes started for the plugin." },
		{ "tpool_plugin_worker_crashes_total", "counter", "Worker "
		    "processes of the plugin that died with a job." },
	};
	struct expo_plugins ep = { b, 0, 0 };

	tpd_plugins_foreach(expo_plugin, &ep);
	expo_gauge(b, "tpool_plugins", "Plugins loaded.",
	    (unsigned long long)tpd_plugins_count());
	expo_gauge(b, "tpool_plugins_quarantined", "Plugins refused for now "
	    "because their workers crashed again and again.",
	    ep.ep_quarantined);
	for (ep.ep_pass = 1; ep.ep_pass <= 3; ep.ep_pass++) {
		tpd_mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n",
		    fam[ep.ep_pass - 1][0], fam[ep.ep_pass - 1][2],
		    fam[ep.ep_pass - 1][0], fam[ep.ep_pass - 1][1]);
		tpd_plugins_foreach(expo_plugin, &ep);
	}
}

int
tpd_exposition(char **ret_text, size_t *ret_len)
{
	struct tpd_mbuf b = { NULL, 0, 0, false };

	tpd_metrics_write(&b);
	tpd_mbuf_printf(&b, "# HELP tpool_uptime_seconds Seconds since the "
	    "daemon started.\n# TYPE tpool_uptime_seconds gauge\n"
	    "tpool_uptime_seconds %.3f\n",
	    (double)(tpd_now_ns() - tpd_start_ns) / 1e9);
	expo_gauge(&b, "tpool_connections", "Client connections open.",
	    tpd_conn_count());
	expo_gauge(&b, "tpool_jobs_in_flight", "Jobs queued, scheduled or "
	    "running.", tpd_jobs_inflight());
	expo_gauge(&b, "tpool_jobs_waiting_turn", "Of the jobs in flight, "
	    "those the daemon holds until their user's turn in their pool.",
	    tpd_fq_waiting());
	expo_pools(&b);
	expo_gauge(&b, "tpool_memory_budget_bytes", "Memory all clients "
	    "together may make the daemon hold.", tpd_budget_total());
	expo_gauge(&b, "tpool_memory_per_user_bytes", "Memory one user may "
	    "make the daemon hold.", tpd_budget_per_user());
	expo_gauge(&b, "tpool_memory_used_bytes", "Memory clients make the "
	    "daemon hold now (inputs, results, records).", tpd_budget_used());
	expo_plugins(&b);
	if (tpd_store_is_open())
		expo_gauge(&b, "tpool_store_writable", "1 when the job store "
		    "can be written (else submits are refused).",
		    tpd_store_writable() ? 1 : 0);
	if (b.mb_failed) {
		free(b.mb_data);
		return ENOMEM;
	}
	*ret_text = b.mb_data;
	*ret_len = b.mb_len;
	return 0;
}
