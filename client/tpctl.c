/*
 * tpctl.c -- the command-line client of tpoold: global options, then one
 * command from the table below, each in its own ctl-NAME.c.
 *
 *	tpctl [-s PATH] [--json] COMMAND [OPTIONS] [ARGS]
 *
 * Global options stop at the command name ("+" in the option string).
 * Then cmd_run() does for every command what its template (ctl.h) asks:
 * parse its options with everyone's (--json, --help, --raw where it
 * applies), hand it its own options and operands, connect if it needs the
 * daemon, run it.  The socket is -s, else $TPOOL_SOCKET, else
 * /run/tpool/tpoold.sock.  Exit status: see ctl.h and tpctl(1).
 */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
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
	&ctl_cmd_metrics,
	&ctl_cmd_top,
};
#define	NCMDS	(sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

/* The most long options a command may have, beside everyone's. */
#define	CMD_MAX_OPTS	16

/* Everyone's options, after the command's own (--raw with CTL_CMD_RAW). */
static const struct option common_opts[] = {
	{ "json",	no_argument,	NULL, CTL_OPT_JSON },
	{ "help",	no_argument,	NULL, CTL_OPT_HELP },
	{ "raw",	no_argument,	NULL, CTL_OPT_RAW },
	{ NULL,		0,		NULL, 0 },
};

static const struct option top_opts[] = {
	{ "socket",	required_argument,	NULL, 's' },
	{ "json",	no_argument,		NULL, CTL_OPT_JSON },
	{ "reconnect",	required_argument,	NULL, CTL_OPT_RECONNECT },
	{ "gearman",	required_argument,	NULL, CTL_OPT_GEARMAN },
	{ "gearman-prefix", required_argument,	NULL, CTL_OPT_GM_PREFIX },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL,		0,			NULL, 0 },
};

static void
usage(FILE *f)
{
	size_t i;

	(void)fprintf(f,
	    "Usage: tpctl [-s PATH] [--json] [--reconnect TIME] COMMAND "
	    "[OPTIONS] [ARGS]\n"
	    "       tpctl --gearman HOST[:PORT][,...] [--gearman-prefix P] "
	    "submit [--wait]\n"
	    "             [--unique KEY] PLUGIN [INPUT]\n"
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
	    "      --reconnect TIME  while the daemon cannot be reached (its\n"
	    "                     socket is missing or refuses: a restart), or\n"
	    "                     the connection is lost while waiting for a\n"
	    "                     job, keep trying for TIME, then go on\n"
	    "                     waiting (default 0: give up at once)\n"
	    "      --gearman HOST[:PORT][,...]  submit through these gearmand\n"
	    "                     servers to any tpoold serving them (tpoold\n"
	    "                     --gearman); submit only\n"
	    "      --gearman-prefix PREFIX  the functions' prefix (default\n"
	    "                     \"tpool.\", as tpoold's)\n"
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

/* Names longer than this get no suggestion (and bound the table below). */
#define	SUGGEST_MAX_LEN	32

/*
 * The edit distance between a and b (optimal string alignment: an
 * insertion, a deletion, a substitution or two neighbours swapped each
 * count 1), or SIZE_MAX when either is longer than SUGGEST_MAX_LEN.
 */
static size_t
cmd_distance(const char *a, const char *b)
{
	size_t d[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];
	size_t la = strlen(a), lb = strlen(b), i, j, v;

	if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/*
 * The command (or "help") nearest to a mistyped name, when near enough to
 * be what was meant: at most 2 edits, and fewer than the name has letters
 * (so that "x" suggests nothing); the first of the table on a tie.  NULL
 * when none is.
 */
static const char *
cmd_suggest(const char *name)
{
	const char *best = NULL, *cand;
	size_t i, dist, best_dist = SIZE_MAX;

	for (i = 0; i <= NCMDS; i++) {
		cand = i < NCMDS ? ctl_cmds[i]->cmd_name : "help";
		dist = cmd_distance(name, cand);
		if (dist < best_dist) {
			best_dist = dist;
			best = cand;
		}
	}
	return best_dist <= 2 && best_dist < strlen(name) ? best : NULL;
}

/* No command called name: a usage error, with a suggestion if one fits. */
static int
cmd_unknown(const struct ctl_ctx *ctx, const char *name)
{
	const char *near = cmd_suggest(name);

	if (near != NULL)
		return ctl_usage_error(ctx, "no command '%s'; did you mean "
		    "'%s'?", name, near);
	return ctl_usage_error(ctx, "no command '%s'", name);
}

/*
 * getopt_long returned '?' under --json (opterr 0: it said nothing): say
 * which option, as JSON.  Returns CTL_EXIT_USAGE.
 */
static int
ctl_bad_option(const struct ctl_ctx *ctx, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";

	/* A long option is named by its word, a short one by its letter. */
	if (strncmp(arg, "--", 2) == 0 || optopt == 0 || optopt >= 0x100)
		return ctl_usage_error(ctx, "option '%.*s' is unknown or "
		    "wants an argument", (int)strcspn(arg, "="), arg);
	return ctl_usage_error(ctx, "option '-%c' is unknown or wants an "
	    "argument", optopt);
}

/*
 * Run cmd on its argv (argv[0] its name): options, operands, connection,
 * then the command itself.  Returns an enum ctl_exit.
 */
static int
cmd_run(struct ctl_ctx *ctx, const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct option opts[CMD_MAX_OPTS + 4];
	char shortopts[2 * CMD_MAX_OPTS + 2];
	size_t n = 0, i;
	int opt, ex;

	for (i = 0; cmd->cmd_longopts != NULL &&
	    cmd->cmd_longopts[i].name != NULL; i++) {
		if (n == CMD_MAX_OPTS)
			abort();	/* a template too big for this table */
		opts[n++] = cmd->cmd_longopts[i];
	}
	for (i = 0; common_opts[i].name != NULL; i++) {
		if (common_opts[i].val != CTL_OPT_RAW ||
		    (cmd->cmd_flags & CTL_CMD_RAW) != 0)
			opts[n++] = common_opts[i];
	}
	memset(&opts[n], 0, sizeof(opts[n]));
	if (snprintf(shortopts, sizeof(shortopts), "%sh",
	    cmd->cmd_shortopts) >= (int)sizeof(shortopts))
		abort();

	/* The command parses from its own argv[1]; 0 resets getopt fully. */
	optind = 0;
	while ((opt = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (opt) {
		case CTL_OPT_JSON:
			ctx->cc_json = true;
			continue;
		case CTL_OPT_RAW:
			ctx->cc_raw = true;
			continue;
		case CTL_OPT_HELP:
			return ctl_cmd_help(cmd);
		case '?':
			/* Without --json getopt_long said what was wrong. */
			if (ctx->cc_json)
				return ctl_bad_option(ctx, argv);
			(void)fprintf(stderr, "Try 'tpctl %s --help'.\n",
			    cmd->cmd_name);
			return CTL_EXIT_USAGE;
		}
		if (cmd->cmd_option == NULL)
			return ctl_usage_error(ctx, "unknown option");
		if ((ex = cmd->cmd_option(ctx, opt, optarg)) != CTL_EXIT_OK)
			return ex;
	}
	/* getopt_long moved the operands last: options may follow them. */
	ex = cmd->cmd_operands(ctx, argc - optind, argv + optind);
	if (ex != CTL_EXIT_OK)
		return ex;
	/* Through gearmand (submit alone): no daemon of ours to reach. */
	if ((cmd->cmd_flags & CTL_CMD_CONNECT) != 0 &&
	    ctx->cc_gearman == NULL && (ex = ctl_connect(ctx)) != CTL_EXIT_OK)
		return ex;
	return cmd->cmd_exec(ctx);
}

int
main(int argc, char **argv)
{
	static char progname[64];
	const struct ctl_cmd *cmd;
	struct ctl_ctx ctx;
	int opt, ex;

	memset(&ctx, 0, sizeof(ctx));
	/* Known before any error, so that every error can be JSON. */
	ctx.cc_json = ctl_json_wanted(argc, argv);
	if (ctx.cc_json)
		opterr = 0;	/* its messages are ctl_bad_option's */
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
		case CTL_OPT_GEARMAN:
			if (*optarg == '\0')
				return ctl_usage_error(&ctx,
				    "--gearman needs HOST[:PORT][,...]");
			ctx.cc_gearman = optarg;
			break;
		case CTL_OPT_GM_PREFIX:
			ctx.cc_gearman_prefix = optarg;
			break;
		case CTL_OPT_RECONNECT:
			if (!ctl_parse_ms(optarg, &ctx.cc_reconnect_ms))
				return ctl_usage_error(&ctx, "--reconnect wants "
				    "a time such as 500ms, 10s or 1m, not '%s'",
				    optarg);
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			(void)printf("tpctl (%s) %s\n", PACKAGE_NAME,
			    PACKAGE_VERSION);
			return CTL_EXIT_OK;
		default:
			if (ctx.cc_json)
				return ctl_bad_option(&ctx, argv);
			(void)fputs("Try 'tpctl --help'.\n", stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		if (ctx.cc_json)
			return ctl_usage_error(&ctx, "which command?");
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 >= argc) {
			usage(stdout);
			return CTL_EXIT_OK;
		}
		if ((cmd = cmd_find(argv[optind + 1])) == NULL)
			return cmd_unknown(&ctx, argv[optind + 1]);
		return ctl_cmd_help(cmd);
	}
	if ((cmd = cmd_find(argv[optind])) == NULL)
		return cmd_unknown(&ctx, argv[optind]);
	ctx.cc_cmd = cmd->cmd_name;
	if (ctx.cc_gearman != NULL && cmd != &ctl_cmd_submit)
		return ctl_usage_error(&ctx, "--gearman: only submit goes "
		    "through gearmand (%s asks a tpoold: -s PATH)",
		    cmd->cmd_name);
	argc -= optind;
	argv += optind;
	/* getopt_long's own messages then say "tpctl submit: ...". */
	(void)snprintf(progname, sizeof(progname), "tpctl %s", cmd->cmd_name);
	argv[0] = progname;
	ex = cmd_run(&ctx, cmd, argc, argv);
	tpc_free(ctx.cc_conn);
	if (fflush(stdout) != 0 && ex == CTL_EXIT_OK) {
		perror("tpctl: stdout");
		ex = CTL_EXIT_CONN;
	}
	return ex;
}
