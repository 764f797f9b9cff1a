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
			(void)printf(",\"abi_version\":%u}",
			    (unsigned)p->abi_version);
		}
		(void)puts("]}");
	} else if (pl->n_plugins == 0) {
		(void)puts("no plugins loaded");
	} else {
		(void)printf("%-16s %-4s %s\n", "PLUGIN", "ABI", "DESCRIPTION");
		for (i = 0; i < pl->n_plugins; i++) {
			p = pl->plugins[i];
			(void)printf("%-16s %-4u %s\n",
			    p->name != NULL ? p->name : "-",
			    (unsigned)p->abi_version,
			    p->description != NULL ? p->description : "");
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
	    "With --json: {\"plugins\":[{\"name\",\"description\","
	    "\"abi_version\"},...]}.\n",
	.cmd_shortopts = "",
	.cmd_flags = CTL_CMD_CONNECT,
	.cmd_operands = ctl_no_operands,
	.cmd_exec = plugins_exec,
};
