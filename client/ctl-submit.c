/*
 * ctl-submit.c -- tpctl submit: run a plugin as a job, print its id, or with
 * --wait its result.
 *
 *	tpctl submit [--wait] [--cpu N|any | --unbound] [--priority P]
 *	    [--name NAME] [--deadline TIME] [--timeout TIME]
 *	    [--delay TIME | --at WHEN] [--raw] PLUGIN [INPUT | --input-file F]
 *
 * The input is the INPUT argument's bytes (no newline added), a file's, or
 * stdin's with --input-file -.  Where it runs: the shared unbound pool of
 * the priority (the default), or the per-CPU pool of CPU N, or of a CPU the
 * daemon picks with --cpu any.  Limits (CPU, priority) are the daemon's to
 * judge; its error comes back with exit status 5.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define	OPT_UNBOUND	0x200
#define	OPT_DELAY	0x201
#define	OPT_AT		0x202
#define	OPT_UNIQUE	0x203
#define	OPT_RETRIES	0x204

static const struct option submit_opts[] = {
	{ "wait",	no_argument,		NULL, 'w' },
	{ "cpu",	required_argument,	NULL, 'c' },
	{ "unbound",	no_argument,		NULL, OPT_UNBOUND },
	{ "priority",	required_argument,	NULL, 'p' },
	{ "name",	required_argument,	NULL, 'n' },
	{ "input-file",	required_argument,	NULL, 'f' },
	{ "deadline",	required_argument,	NULL, 'd' },
	{ "timeout",	required_argument,	NULL, 't' },
	{ "delay",	required_argument,	NULL, OPT_DELAY },
	{ "at",		required_argument,	NULL, OPT_AT },
	{ "unique",	required_argument,	NULL, OPT_UNIQUE },
	{ "retries",	required_argument,	NULL, OPT_RETRIES },
	{ NULL,		0,			NULL, 0 },
};

/* Room the rest of a Submit frame needs beside the input bytes. */
#define	SUBMIT_OVERHEAD	1024

/* What the command line asked for (one command per process). */
static struct {
	struct tpc_submit_args	so_args;
	const char		*so_file;	/* --input-file */
	bool			so_wait;
	bool			so_cpu_given;
	bool			so_unbound;
	bool			so_delay_given;
	bool			so_at_given;
} so = { .so_args = TPC_SUBMIT_ARGS_INIT };

static int
submit_option(struct ctl_ctx *ctx, int opt, const char *arg)
{
	switch (opt) {
	case 'w':
		so.so_wait = true;
		break;
	case 'c':
		so.so_cpu_given = true;
		if (strcmp(arg, "any") == 0)
			so.so_args.tsa_cpu = -1;
		else if (!ctl_parse_int(arg, 0, 1 << 20, &so.so_args.tsa_cpu))
			return ctl_usage_error(ctx, "--cpu wants a CPU "
			    "number or 'any', not '%s'", arg);
		so.so_args.tsa_pool = TPOOL__POOL_KIND__POOL_PERCPU;
		break;
	case OPT_UNBOUND:
		so.so_unbound = true;
		break;
	case 'p':
		if (strcmp(arg, "none") == 0)
			so.so_args.tsa_priority = -1;
		else if (!ctl_parse_int(arg, -1000000, 1000000,
		    &so.so_args.tsa_priority))
			return ctl_usage_error(ctx, "--priority wants "
			    "a number, not '%s'", arg);
		break;
	case 'n':
		so.so_args.tsa_name = arg;
		break;
	case 'f':
		so.so_file = arg;
		break;
	case 't':
		if (!ctl_parse_ms(arg, &so.so_args.tsa_timeout_ms) ||
		    so.so_args.tsa_timeout_ms == 0)
			return ctl_usage_error(ctx, "--timeout wants a time "
			    "such as 500ms, 2s or 1m, not '%s'", arg);
		break;
	case OPT_DELAY:
		so.so_delay_given = true;
		if (!ctl_parse_ms(arg, &so.so_args.tsa_delay_ms))
			return ctl_usage_error(ctx, "--delay wants a time "
			    "such as 500ms, 2s or 1m (at most 30 days), not "
			    "'%s'", arg);
		break;
	case OPT_RETRIES:
		if (!ctl_parse_int(arg, 0, 1000, &so.so_args.tsa_retries))
			return ctl_usage_error(ctx, "--retries wants a number "
			    "of retries, not '%s'", arg);
		break;
	case OPT_UNIQUE:
		so.so_args.tsa_unique_key = arg;
		break;
	case OPT_AT:
		so.so_at_given = true;
		if (!ctl_parse_at(arg, &so.so_args.tsa_delay_ms))
			return ctl_usage_error(ctx, "--at wants a time within "
			    "30 days: HH:MM[:SS] (the next one), 'YYYY-MM-DD "
			    "HH:MM[:SS]' (local time) or @SECONDS (since the "
			    "epoch), not '%s'", arg);
		break;
	case 'd':
		if (!ctl_parse_ms(arg, &so.so_args.tsa_deadline_ms) ||
		    so.so_args.tsa_deadline_ms == 0)
			return ctl_usage_error(ctx, "--deadline wants a time "
			    "such as 500ms, 2s or 1m, not '%s'", arg);
		break;
	default:
		return ctl_usage_error(ctx, "unknown option");
	}
	return CTL_EXIT_OK;
}

static int
submit_operands(struct ctl_ctx *ctx, int argc, char **argv)
{
	if (so.so_cpu_given && so.so_unbound)
		return ctl_usage_error(ctx, "--cpu and --unbound exclude "
		    "each other");
	if (so.so_delay_given && so.so_at_given)
		return ctl_usage_error(ctx, "--delay and --at exclude "
		    "each other");
	if (argc < 1)
		return ctl_usage_error(ctx, "which plugin?");
	if (ctx->cc_gearman != NULL && (so.so_cpu_given || so.so_unbound ||
	    so.so_delay_given || so.so_at_given || so.so_args.tsa_name !=
	    NULL || so.so_args.tsa_priority != -1 ||
	    so.so_args.tsa_deadline_ms != 0 || so.so_args.tsa_timeout_ms != 0 ||
	    so.so_args.tsa_retries != -1))
		return ctl_usage_error(ctx, "--gearman: only --wait, --unique, "
		    "--input-file and --raw apply (the tpoold that takes the "
		    "job runs it as its --gearman-pool and --plugin settings "
		    "say)");
	so.so_args.tsa_plugin = argv[0];
	if (argc > 2)
		return ctl_usage_error(ctx, "too many arguments (one INPUT; "
		    "use --input-file for more)");
	if (argc == 2 && so.so_file != NULL)
		return ctl_usage_error(ctx, "INPUT and --input-file exclude "
		    "each other");
	if (argc == 2) {
		so.so_args.tsa_input = argv[1];
		so.so_args.tsa_input_len = strlen(argv[1]);
	}
	return CTL_EXIT_OK;
}

static int
submit_exec(struct ctl_ctx *ctx)
{
	Tpool__SubmitReply *sr = NULL;
	Tpool__JobInfo *ji;
	uint8_t *fbuf = NULL;
	bool existing = false;
	size_t max;
	uint64_t job = 0;
	int ex, error;

	max = ctx->cc_max_frame > SUBMIT_OVERHEAD ?
	    ctx->cc_max_frame - SUBMIT_OVERHEAD : 0;
	if (so.so_file != NULL) {
		error = ctl_read_file(so.so_file, max > 0 ? max : SIZE_MAX / 2,
		    &fbuf, &so.so_args.tsa_input_len);
		if (error == EFBIG) {
			ctl_error(ctx, CTL_ERR_TOO_LARGE, "%s: larger than "
			    "the daemon accepts "
			    "(frames of %u bytes)", so.so_file,
			    (unsigned)ctx->cc_max_frame);
			return CTL_EXIT_DAEMON;
		}
		if (error != 0) {
			ctl_error(ctx, CTL_ERR_INPUT, "%s: %s", so.so_file,
			    strerror(error));
			return CTL_EXIT_USAGE;
		}
		so.so_args.tsa_input = fbuf;
	}
	if (ctx->cc_gearman != NULL) {
		ex = ctl_gearman_submit(ctx, so.so_args.tsa_plugin,
		    so.so_args.tsa_input, so.so_args.tsa_input_len,
		    so.so_args.tsa_unique_key, so.so_wait);
		free(fbuf);
		return ex;
	}
	error = tpc_submit_reply(ctx->cc_conn, &so.so_args, &sr);
	free(fbuf);
	if (error == 0) {
		job = sr->job_id;
		existing = sr->has_existing && sr->existing;
		tpool__submit_reply__free_unpacked(sr, NULL);
	}
	if (error == EMSGSIZE) {
		ctl_error(ctx, CTL_ERR_TOO_LARGE, "the input is larger than "
		    "the daemon accepts "
		    "(frames of %u bytes)", (unsigned)ctx->cc_max_frame);
		return CTL_EXIT_DAEMON;
	}
	if (error != 0)
		return ctl_fail(ctx, error, "submit");

	if (existing && !ctx->cc_json)
		ctl_warnx(ctx, "job %llu has key '%s' and is in flight: no new "
		    "job", (unsigned long long)job, so.so_args.tsa_unique_key);
	if (!so.so_wait) {
		if (ctx->cc_json)
			(void)printf("{\"job_id\":%llu%s}\n",
			    (unsigned long long)job, existing ?
			    ",\"existing\":true" : "");
		else
			(void)printf("%llu\n", (unsigned long long)job);
		return CTL_EXIT_OK;
	}
	if ((ex = ctl_wait_job(ctx, job, false, &ji)) != CTL_EXIT_OK)
		return ex;
	ex = ctl_report_final(ctx, ji);
	tpool__job_info__free_unpacked(ji, NULL);
	return ex;
}

const struct ctl_cmd ctl_cmd_submit = {
	.cmd_name = "submit",
	.cmd_args = "[--wait] [--cpu N|any | --unbound] [--priority P] "
	    "[--name NAME] [--deadline TIME] [--timeout TIME] "
	    "[--delay TIME | --at WHEN] [--unique KEY] [--retries N] [--raw] "
	    "PLUGIN "
	    "[INPUT | --input-file FILE]",
	.cmd_summary = "run PLUGIN as a job on INPUT; print its id, or its "
	    "result with --wait",
	.cmd_help =
	    "Options:\n"
	    "  -w, --wait             wait for the job's end and print its "
	    "result\n"
	    "                         (a progress bar on a terminal)\n"
	    "  -c, --cpu N|any        run on the per-CPU pool of CPU N, or of "
	    "a CPU\n"
	    "                         the daemon picks\n"
	    "      --unbound          run on the shared unbound pool (the "
	    "default)\n"
	    "  -p, --priority P       the pool's priority (libtp's tp_pri_t): "
	    "'none'\n"
	    "                         or -1 the default, 0..39 time-sharing "
	    "(nice 19\n"
	    "                         .. -20), 40..138 real-time; above 19 "
	    "only\n"
	    "                         root or as tpoold --grant-priority "
	    "allows\n"
	    "  -n, --name NAME        the job's name (threads show it); "
	    "default: PLUGIN\n"
	    "  -f, --input-file FILE  the input is FILE's bytes ('-': stdin)\n"
	    "  -d, --deadline TIME    the job must start within TIME (500ms, "
	    "2s, 1m)\n"
	    "                         or it ends expired without running; "
	    "refused at\n"
	    "                         once when the daemon expects a longer "
	    "wait\n"
	    "  -t, --timeout TIME     the job may run TIME at most (default: "
	    "the\n"
	    "                         plugin's); then it is asked to stop, and "
	    "ended\n"
	    "                         timed out\n"
	    "      --delay TIME       queue the job only TIME after the "
	    "submit (it is\n"
	    "                         scheduled until then; a --deadline "
	    "counts from\n"
	    "                         the submit too)\n"
	    "      --at WHEN          the same, until WHEN: HH:MM[:SS] (the "
	    "next one),\n"
	    "                         'YYYY-MM-DD HH:MM[:SS]' (local time) or "
	    "@SECONDS\n"
	    "      --unique KEY       while a job of yours with KEY is "
	    "scheduled, queued\n"
	    "                         or running, print its id and make no "
	    "new one\n"
	    "      --retries N        run it again, up to N times, if it "
	    "fails, crashes,\n"
	    "                         times out or is interrupted (default: "
	    "the plugin's)\n"
	    "      --raw              print the result's bytes untouched (else "
	    "text\n"
	    "                         as is, binary as hex)\n"
	    "Without --wait, prints the job id.  With --json: {\"job_id\":N}, "
	    "or with\n"
	    "--wait the final job object.  Put '--' before an INPUT that "
	    "starts\n"
	    "with '-'.\n",
	.cmd_shortopts = "wc:p:n:f:d:t:",
	.cmd_longopts = submit_opts,
	.cmd_flags = CTL_CMD_CONNECT | CTL_CMD_RAW,
	.cmd_option = submit_option,
	.cmd_operands = submit_operands,
	.cmd_exec = submit_exec,
};
