/*
 * ctl-plugins.c -- tpctl plugins: the plugins the daemon has loaded.
 *
 *	tpctl plugins
 */
#include "config.h"

#include <stdio.h>

#include "ctl.h"

static int
plugins_exec(struct ctl_ctx *ctx)
{
	Tpool__PluginList *pl;
	const Tpool__PluginInfo *p;
	char workers[16], crashes[24];
	size_t i;
	int error;

	if ((error = tpc_list_plugins(ctx->cc_conn, &pl)) != 0)
		return ctl_fail(ctx, error, "plugins");
	if (ctx->cc_json) {
		(void)fputs("{\"plugins\":[", stdout);
		for (i = 0; i < pl->n_plugins; i++) {
			p = pl->plugins[i];
			(void)fputs(i > 0 ? ",{\"name\":" : "{\"name\":",
			    stdout);
			ctl_json_string(stdout, p->name);
			(void)fputs(",\"description\":", stdout);
			ctl_json_string(stdout, p->description);
			(void)printf(",\"abi_version\":%u,\"isolation\":",
			    (unsigned)p->abi_version);
			ctl_json_string(stdout, p->isolation != NULL ?
			    p->isolation : "thread");
			if (p->has_workers)
				(void)printf(",\"workers\":%u,"
				    "\"workers_started\":%llu,"
				    "\"worker_crashes\":%llu,"
				    "\"quarantined_ms\":%llu",
				    (unsigned)p->workers,
				    (unsigned long long)p->workers_started,
				    (unsigned long long)p->worker_crashes,
				    (unsigned long long)p->quarantined_ms);
			if (p->has_stuck_jobs && p->stuck_jobs > 0)
				(void)printf(",\"stuck_jobs\":%u",
				    (unsigned)p->stuck_jobs);
			(void)putchar('}');
		}
		(void)puts("]}");
	} else if (pl->n_plugins == 0) {
		(void)puts("no plugins loaded");
	} else {
		(void)printf("%-16s %-4s %-9s %-7s %-7s %s\n", "PLUGIN", "ABI",
		    "ISOLATION", "WORKERS", "CRASHES", "DESCRIPTION");
		for (i = 0; i < pl->n_plugins; i++) {
			p = pl->plugins[i];
			if (p->has_workers) {
				(void)snprintf(workers, sizeof(workers), "%u",
				    (unsigned)p->workers);
				(void)snprintf(crashes, sizeof(crashes), "%llu",
				    (unsigned long long)p->worker_crashes);
			} else {
				(void)snprintf(workers, sizeof(workers), "-");
				(void)snprintf(crashes, sizeof(crashes), "-");
			}
			(void)printf("%-16s %-4u %-9s %-7s %-7s %s\n",
			    p->name != NULL ? p->name : "-",
			    (unsigned)p->abi_version,
			    p->isolation != NULL ? p->isolation : "thread",
			    workers, crashes,
			    p->description != NULL ? p->description : "");
			if (p->stuck_jobs > 0)
				(void)printf("%-16s %u timed-out job%s still "
				    "running on a pool thread (written off)\n",
				    "", (unsigned)p->stuck_jobs,
				    p->stuck_jobs == 1 ? "" : "s");
			if (p->quarantined_ms > 0)
				(void)printf("%-16s quarantined for %llu s more "
				    "(a SIGHUP to tpoold lifts it)\n", "",
				    (unsigned long long)
				    ((p->quarantined_ms + 999) / 1000));
		}
	}
	tpool__plugin_list__free_unpacked(pl, NULL);
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_plugins = {
	.cmd_name = "plugins",
	.cmd_args = "",
	.cmd_summary = "list the plugins the daemon has loaded",
	.cmd_help =
	    "ISOLATION: thread (runs in tpoold) or process (in worker "
	    "processes: WORKERS alive now, CRASHES of them with a job; a "
	    "quarantined plugin is refused for a while).\n"
	    "With --json: {\"plugins\":[{\"name\",\"description\","
	    "\"abi_version\",\"isolation\"[,\"workers\",\"workers_started\","
	    "\"worker_crashes\",\"quarantined_ms\"]},...]}.\n",
	.cmd_shortopts = "",
	.cmd_flags = CTL_CMD_CONNECT,
	.cmd_operands = ctl_no_operands,
	.cmd_exec = plugins_exec,
};
