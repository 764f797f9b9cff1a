/*
 * tpctl.c -- the command-line client of tpoold: global options, then one
 * command from the table below, each in its own ctl-NAME.c.
 *
 *	tpctl [-s PATH] [--json] COMMAND [OPTIONS] [ARGS]
 *
 * Global options stop at the command name ("+" in the option string), so
 * every command parses its own, --json and --help included.  The socket is
 * -s, else $TPOOL_SOCKET, else /run/tpool/tpoold.sock.  Exit status: see
 * ctl.h and tpctl(1).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const struct ctl_cmd *const ctl_cmds[] = {
	&ctl_cmd_submit,
	&ctl_cmd_cancel,
	&ctl_cmd_status,
	&ctl_cmd_watch,
	&ctl_cmd_plugins,
	&ctl_cmd_stats,
};
#define	NCMDS	(sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static const struct option top_opts[] = {
	{ "socket",	required_argument,	NULL, 's' },
	{ "json",	no_argument,		NULL, CTL_OPT_JSON },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL,		0,			NULL, 0 },
};

static void
usage(FILE *f)
{
	size_t i;

	(void)fprintf(f,
	    "Usage: tpctl [-s PATH] [--json] COMMAND [OPTIONS] [ARGS]\n"
	    "       tpctl -h | --help | -V | --version\n\n"
	    "Drive tpoold, the tpool job daemon.\n\n"
	    "Commands:\n");
	for (i = 0; i < NCMDS; i++)
		(void)fprintf(f, "  %-9s %s\n", ctl_cmds[i]->cmd_name,
		    ctl_cmds[i]->cmd_summary);
	(void)fprintf(f,
	    "  help      show a command's help (or tpctl COMMAND --help)\n\n"
	    "Options:\n"
	    "  -s, --socket PATH  the daemon's socket (default: $%s, else %s)\n"
	    "      --json         print JSON for scripts (also after COMMAND)\n"
	    "  -h, --help         show this help\n"
	    "  -V, --version      show the version\n\n%s",
	    TPC_SOCKET_ENV, TPC_DEFAULT_SOCKET, ctl_exit_help);
}

static const struct ctl_cmd *
cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++) {
		if (strcmp(ctl_cmds[i]->cmd_name, name) == 0)
			return ctl_cmds[i];
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	static char progname[64];
	const struct ctl_cmd *cmd;
	struct ctl_ctx ctx;
	int opt, ex;

	memset(&ctx, 0, sizeof(ctx));
	while ((opt = getopt_long(argc, argv, "+s:hV", top_opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (*optarg == '\0')
				return ctl_usage_error(&ctx,
				    "--socket needs a path");
			ctx.cc_socket = optarg;
			break;
		case CTL_OPT_JSON:
			ctx.cc_json = true;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			(void)printf("tpctl (%s) %s\n", PACKAGE_NAME,
			    PACKAGE_VERSION);
			return CTL_EXIT_OK;
		default:
			(void)fputs("Try 'tpctl --help'.\n", stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 >= argc) {
			usage(stdout);
			return CTL_EXIT_OK;
		}
		if ((cmd = cmd_find(argv[optind + 1])) == NULL)
			return ctl_usage_error(&ctx, "no command '%s'",
			    argv[optind + 1]);
		return ctl_cmd_help(cmd);
	}
	if ((cmd = cmd_find(argv[optind])) == NULL)
		return ctl_usage_error(&ctx, "no command '%s'", argv[optind]);
	ctx.cc_cmd = cmd->cmd_name;
	argc -= optind;
	argv += optind;
	/* getopt_long's own messages then say "tpctl submit: ...". */
	(void)snprintf(progname, sizeof(progname), "tpctl %s", cmd->cmd_name);
	argv[0] = progname;
	/* The command parses from its own argv[1]; 0 resets getopt fully. */
	optind = 0;
	ex = cmd->cmd_exec(&ctx, argc, argv);
	tpc_free(ctx.cc_conn);
	if (fflush(stdout) != 0 && ex == CTL_EXIT_OK) {
		perror("tpctl: stdout");
		ex = CTL_EXIT_CONN;
	}
	return ex;
}
