/*
 * req-info.c -- ListPlugins and Stats: what the daemon offers and how it
 * is doing.  Both are cheap and open to every peer.
 */
#include "config.h"

#include <stdlib.h>

#include "tpoold.h"

struct plugin_collect {
	Tpool__PluginInfo	*pc_infos;
	Tpool__PluginInfo	**pc_ptrs;
	size_t			pc_n;
};

static void
info_collect(struct tpd_plugin *p, void *arg)
{
	struct plugin_collect *pc = arg;
	Tpool__PluginInfo *pi = &pc->pc_infos[pc->pc_n];

	tpool__plugin_info__init(pi);
	pi->name = (char *)p->p_desc->tpp_name;
	pi->description = (char *)(p->p_desc->tpp_description != NULL ?
	    p->p_desc->tpp_description : "");
	pi->has_abi_version = true;
	pi->abi_version = p->p_desc->tpp_abi_version;
	pc->pc_ptrs[pc->pc_n] = pi;
	pc->pc_n++;
}

void
tpd_req_list_plugins(struct tpd_conn *conn, const Tpool__Request *req)
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
			tpd_reply_error(conn, req->request_id,
			    TPOOL__ERROR_CODE__ERROR_INTERNAL, "out of memory");
			return;
		}
		tpd_plugins_foreach(info_collect, &pc);
	}
	pl.n_plugins = pc.pc_n;
	pl.plugins = pc.pc_ptrs;
	resp.body_case = TPOOL__RESPONSE__BODY_PLUGINS;
	resp.plugins = &pl;
	tpd_reply(conn, req->request_id, &resp);
	free(pc.pc_infos);
	free(pc.pc_ptrs);
}

void
tpd_req_stats(struct tpd_conn *conn, const Tpool__Request *req)
{
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__StatsReply st = TPOOL__STATS_REPLY__INIT;
	Tpool__PoolStats **pools = NULL;
	size_t npools = 0;

	if (tpd_pool_stats(&pools, &npools) != 0) {
		tpd_reply_error(conn, req->request_id, TPOOL__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
		return;
	}
	st.n_pools = npools;
	st.pools = pools;
	st.has_jobs_accepted = true;
	st.jobs_accepted = tpd_counters.tc_accepted;
	st.has_jobs_succeeded = true;
	st.jobs_succeeded = tpd_counters.tc_succeeded;
	st.has_jobs_failed = true;
	st.jobs_failed = tpd_counters.tc_failed;
	st.has_jobs_cancelled = true;
	st.jobs_cancelled = tpd_counters.tc_cancelled;
	st.has_jobs_in_flight = true;
	st.jobs_in_flight = tpd_counters.tc_inflight;
	st.has_connections = true;
	st.connections = tpd_conn_count();
	st.has_uptime_ms = true;
	st.uptime_ms = (tpd_now_ns() - tpd_start_ns) / 1000000;
	st.has_plugins = true;
	st.plugins = tpd_plugins_count();
	resp.body_case = TPOOL__RESPONSE__BODY_STATS;
	resp.stats = &st;
	tpd_reply(conn, req->request_id, &resp);
	tpd_pool_stats_free(pools, npools);
}
