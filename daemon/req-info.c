/*
 * req-info.c -- ListPlugins, Stats and Metrics: what the daemon offers and
 * how it is doing, with every numeric setting as in effect (the derived
 * memory budget resolved), and its metrics as the metrics endpoint serves
 * them (exposition.c).  All are cheap and open to every peer.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "conn.h"
#include "exposition.h"
#include "fairq.h"
#include "jobs.h"
#include "isolate.h"
#include "log.h"
#include "options.h"
#include "plugin.h"
#include "pools.h"
#include "metrics.h"
#include "req.h"
#include "store.h"

#define	TPD_LIMITS_MAX	64	/* numeric settings: options.c's table
				 * has at most 64 rows */

struct plugin_collect {
	Tpool__PluginInfo	*pc_infos;
	Tpool__PluginInfo	**pc_ptrs;
	size_t			pc_n;
};

/* What is left of iso's quarantine, in ms (0: none). */
static uint64_t
info_quarantine_ms(struct tpd_iso *iso)
{
	struct tpd_iso_stats st;
	uint64_t now = tpd_now_ns();

	if (!tpd_iso_quarantined(iso, now, NULL, 0))
		return 0;
	tpd_iso_stats(iso, &st);
	return st.iss_quarantine_end_ns > now ?
	    (st.iss_quarantine_end_ns - now + 999999u) / 1000000u : 1;
}

static void
info_count_quarantined(struct tpd_plugin *p, void *arg)
{
	struct tpd_iso *iso = tpd_plugin_iso(p);

	if (iso != NULL && tpd_iso_quarantined(iso, tpd_now_ns(), NULL, 0))
		(*(uint32_t *)arg)++;
}

static void
info_collect(struct tpd_plugin *p, void *arg)
{
	const struct tp_plugin *desc = tpd_plugin_desc(p);
	struct plugin_collect *pc = arg;
	struct tpd_iso_stats st;
	struct tpd_iso *iso;
	Tpool__PluginInfo *pi = &pc->pc_infos[pc->pc_n];

	tpool__plugin_info__init(pi);
	pi->name = (char *)desc->tpp_name;
	pi->description = (char *)(desc->tpp_description != NULL ?
	    desc->tpp_description : "");
	pi->has_abi_version = true;
	pi->abi_version = desc->tpp_abi_version;
	pi->isolation = (char *)tpd_isolation_name((iso = tpd_plugin_iso(p)) !=
	    NULL ? TPD_ISO_PROCESS : TPD_ISO_THREAD);
	pi->has_stuck_jobs = true;
	pi->stuck_jobs = tpd_plugin_stuck_jobs(p);
	if (iso != NULL) {
		tpd_iso_stats(iso, &st);
		pi->has_workers = pi->has_workers_started =
		    pi->has_worker_crashes = pi->has_quarantined_ms = true;
		pi->workers = st.iss_alive;
		pi->workers_started = st.iss_started;
		pi->worker_crashes = st.iss_crashed;
		pi->quarantined_ms = info_quarantine_ms(iso);
	}
	pc->pc_ptrs[pc->pc_n] = pi;
	pc->pc_n++;
}

Tpool__ErrorCode
tpd_req_list_plugins(struct tpd_req *r)
{
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__PluginList pl = TPOOL__PLUGIN_LIST__INIT;
	struct plugin_collect pc = { NULL, NULL, 0 };
	size_t n = tpd_plugins_count();

	if (n > 0) {
		pc.pc_infos = calloc(n, sizeof(*pc.pc_infos));
		pc.pc_ptrs = calloc(n, sizeof(*pc.pc_ptrs));
		if (pc.pc_infos == NULL || pc.pc_ptrs == NULL) {
			free(pc.pc_infos);
			free(pc.pc_ptrs);
			return tpd_req_fail(r,
			    TPOOL__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		}
		tpd_plugins_foreach(info_collect, &pc);
	}
	pl.n_plugins = pc.pc_n;
	pl.plugins = pc.pc_ptrs;
	resp.body_case = TPOOL__RESPONSE__BODY_PLUGINS;
	resp.plugins = &pl;
	(void)tpd_req_reply(r, &resp);
	free(pc.pc_infos);
	free(pc.pc_ptrs);
	return TPD_REQ_OK;
}

/* The settings, for StatsReply.limits. */
struct limit_collect {
	Tpool__Limit	lc_limits[TPD_LIMITS_MAX];
	Tpool__Limit	*lc_ptrs[TPD_LIMITS_MAX];
	size_t		lc_n;
};

static void
limit_collect(const char *name, uint64_t value, enum tpd_limit_unit unit,
    void *arg)
{
	struct limit_collect *lc = arg;
	Tpool__Limit *l;

	if (lc->lc_n == TPD_LIMITS_MAX) {
		tpd_err("stats: more than %d settings; raise TPD_LIMITS_MAX",
		    TPD_LIMITS_MAX);
		return;
	}
	l = &lc->lc_limits[lc->lc_n];
	tpool__limit__init(l);
	l->name = (char *)name;
	l->has_value = l->has_unit = true;
	/* The derived defaults as they are in effect. */
	if (strcmp(name, "memory-budget") == 0)
		value = tpd_budget_total();
	else if (strcmp(name, "memory-per-user") == 0)
		value = tpd_budget_per_user();
	l->value = value;
	l->unit = unit == TPD_LIMIT_BYTES ? TPOOL__LIMIT_UNIT__LIMIT_BYTES :
	    unit == TPD_LIMIT_NS ? TPOOL__LIMIT_UNIT__LIMIT_NANOSECONDS :
	    TPOOL__LIMIT_UNIT__LIMIT_COUNT;
	lc->lc_ptrs[lc->lc_n++] = l;
}

Tpool__ErrorCode
tpd_req_stats(struct tpd_req *r)
{
	struct limit_collect lc;
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__StatsReply st = TPOOL__STATS_REPLY__INIT;
	Tpool__GearmanStats gs = TPOOL__GEARMAN_STATS__INIT;
	Tpool__PoolStats **pools = NULL;
	struct tpd_gearman_counts gc;
	struct tpd_job_counts jc;
	size_t npools = 0;

	if (tpd_pool_stats(&pools, &npools) != 0)
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
	tpd_jobs_counts(&jc);
	st.n_pools = npools;
	st.pools = pools;
	st.has_jobs_accepted = true;
	st.jobs_accepted = jc.jc_accepted;
	st.has_jobs_succeeded = true;
	st.jobs_succeeded = jc.jc_succeeded;
	st.has_jobs_failed = true;
	st.jobs_failed = jc.jc_failed;
	st.has_jobs_cancelled = true;
	st.jobs_cancelled = jc.jc_cancelled;
	st.has_jobs_expired = true;
	st.jobs_expired = jc.jc_expired;
	st.has_jobs_timed_out = true;
	st.jobs_timed_out = jc.jc_timed_out;
	st.has_jobs_interrupted = true;
	st.jobs_interrupted = jc.jc_interrupted;
	st.has_store = true;
	st.store = tpd_store_is_open();
	st.has_store_writable = true;
	st.store_writable = tpd_store_writable();
	tpd_metrics_gearman_get(&gc);
	if (gc.gc_servers > 0) {
		gs.has_servers = gs.has_slots = gs.has_connected = true;
		gs.has_running = gs.has_taken = gs.has_completed = true;
		gs.has_failed = gs.has_returned = true;
		gs.has_connect_failures = true;
		gs.servers = gc.gc_servers;
		gs.slots = gc.gc_slots;
		gs.connected = gc.gc_connected;
		gs.running = gc.gc_running;
		gs.taken = gc.gc_taken;
		gs.completed = gc.gc_completed;
		gs.failed = gc.gc_failed;
		gs.returned = gc.gc_returned;
		gs.connect_failures = gc.gc_connect_failures;
		st.gearman = &gs;
	}
	st.has_jobs_in_flight = true;
	st.jobs_in_flight = tpd_jobs_inflight();
	st.has_jobs_waiting_turn = true;
	st.jobs_waiting_turn = tpd_fq_waiting();
	st.has_plugins_quarantined = true;
	tpd_plugins_foreach(info_count_quarantined, &st.plugins_quarantined);
	st.has_memory_budget = st.has_memory_per_user = true;
	st.memory_budget = tpd_budget_total();
	st.memory_per_user = tpd_budget_per_user();
	st.has_memory_used = st.has_memory_used_by_you = true;
	st.memory_used = tpd_budget_used();
	st.memory_used_by_you = tpd_budget_used_by(r->r_uid);
	st.has_connections = true;
	st.connections = tpd_conn_count();
	st.has_uptime_ms = true;
	st.uptime_ms = (tpd_now_ns() - tpd_start_ns) / 1000000;
	st.has_plugins = true;
	st.plugins = tpd_plugins_count();
	lc.lc_n = 0;
	tpd_options_foreach_limit(&tpd_opt, limit_collect, &lc);
	st.n_limits = lc.lc_n;
	st.limits = lc.lc_ptrs;
	resp.body_case = TPOOL__RESPONSE__BODY_STATS;
	resp.stats = &st;
	(void)tpd_req_reply(r, &resp);
	tpd_pool_stats_free(pools, npools);
	return TPD_REQ_OK;
}

Tpool__ErrorCode
tpd_req_metrics(struct tpd_req *r)
{
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__MetricsReply mr = TPOOL__METRICS_REPLY__INIT;
	size_t len;
	char *text;

	if (tpd_exposition(&text, &len) != 0)
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
	mr.text = text;
	resp.body_case = TPOOL__RESPONSE__BODY_METRICS;
	resp.metrics = &mr;
	(void)tpd_req_reply(r, &resp);
	free(text);
	return TPD_REQ_OK;
}
