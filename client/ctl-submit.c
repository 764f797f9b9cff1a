/*
 * ctl-submit.c -- tpctl submit: run a plugin as a job, print its id, or with
 * --wait its result.
 *
 *	tpctl submit [--wait] [--cpu N|any | --unbound] [--priority P]
 *	    [--name NAME] [--raw] PLUGIN [INPUT | --input-file F]
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

static const struct option submit_opts[] = {
	{ "wait",	no_argument,		NULL, 'w' },
	{ "cpu",	required_argument,	NULL, 'c' },
	{ "unbound",	no_argument,		NULL, OPT_UNBOUND },
	{ "priority",	required_argument,	NULL, 'p' },
	{ "name",	required_argument,	NULL, 'n' },
	{ "input-file",	required_argument,	NULL, 'f' },
	{ "json",	no_argument,		NULL, CTL_OPT_JSON },
	{ "raw",	no_argument,		NULL, CTL_OPT_RAW },
	{ "help",	no_argument,		NULL, CTL_OPT_HELP },
	{ NULL,		0,			NULL, 0 },
};

/* Room the rest of a Submit frame needs beside the input bytes. */
#define	SUBMIT_OVERHEAD	1024

static int
submit_exec(struct ctl_ctx *ctx, int argc, char **argv)
{
	struct tpc_submit_args args = TPC_SUBMIT_ARGS_INIT;
	Tpool__PoolKind pool = TPOOL__POOL_KIND__POOL_UNBOUND;
	Tpool__JobInfo *ji;
	const char *plugin, *name = NULL, *file = NULL;
	uint8_t *fbuf = NULL;
	const void *input = NULL;
	size_t input_len = 0, max;
	uint64_t job;
	bool wait = false, cpu_given = false, unbound = false;
	int opt, ex = -1, error, cpu = -1, priority = -1;

	while ((opt = getopt_long(argc, argv, "wc:p:n:f:h", submit_opts,
	    NULL)) != -1) {
		if (ctl_common_opt(ctx, &ctl_cmd_submit, opt, &ex)) {
			if (ex >= 0)
				return ex;
			continue;
		}
		switch (opt) {
		case 'w':
			wait = true;
			break;
		case 'c':
			cpu_given = true;
			if (strcmp(optarg, "any") == 0)
				cpu = -1;
			else if (!ctl_parse_int(optarg, 0, 1 << 20, &cpu))
				return ctl_usage_error(ctx, "--cpu wants a CPU "
				    "number or 'any', not '%s'", optarg);
			pool = TPOOL__POOL_KIND__POOL_PERCPU;
			break;
		case OPT_UNBOUND:
			unbound = true;
			break;
		case 'p':
			if (strcmp(optarg, "none") == 0)
				priority = -1;
			else if (!ctl_parse_int(optarg, -1000000, 1000000,
			    &priority))
				return ctl_usage_error(ctx, "--priority wants "
				    "a number, not '%s'", optarg);
			break;
		case 'n':
			name = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		default:
			return ctl_usage_error(ctx, "unknown option");
		}
	}
	if (cpu_given && unbound)
		return ctl_usage_error(ctx, "--cpu and --unbound exclude "
		    "each other");
	/* getopt_long moved the operands last: options may follow them. */
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return ctl_usage_error(ctx, "which plugin?");
	plugin = argv[0];
	if (argc > 2)
		return ctl_usage_error(ctx, "too many arguments (one INPUT; "
		    "use --input-file for more)");
	if (argc == 2 && file != NULL)
		return ctl_usage_error(ctx, "INPUT and --input-file exclude "
		    "each other");
	if (argc == 2) {
		input = argv[1];
		input_len = strlen(argv[1]);
	}

	if ((ex = ctl_connect(ctx)) != CTL_EXIT_OK)
		return ex;
	max = ctx->cc_max_frame > SUBMIT_OVERHEAD ?
	    ctx->cc_max_frame - SUBMIT_OVERHEAD : 0;
	if (file != NULL) {
		error = ctl_read_file(file, max > 0 ? max : SIZE_MAX / 2, &fbuf,
		    &input_len);
		if (error == EFBIG) {
			ctl_warnx(ctx, "%s: larger than the daemon accepts "
			    "(frames of %u bytes)", file,
			    (unsigned)ctx->cc_max_frame);
			return CTL_EXIT_DAEMON;
		}
		if (error != 0) {
			ctl_warnx(ctx, "%s: %s", file, strerror(error));
			return CTL_EXIT_USAGE;
		}
		input = fbuf;
	}
	args.tsa_plugin = plugin;
	args.tsa_input = input;
	args.tsa_input_len = input_len;
	args.tsa_name = name;
	args.tsa_pool = pool;
	args.tsa_priority = priority;
	args.tsa_cpu = cpu;
	error = tpc_submit(ctx->cc_conn, &args, &job);
	free(fbuf);
	if (error == EMSGSIZE) {
		ctl_warnx(ctx, "the input is larger than the daemon accepts "
		    "(frames of %u bytes)", (unsigned)ctx->cc_max_frame);
		return CTL_EXIT_DAEMON;
	}
	if (error != 0)
		return ctl_fail(ctx, error, "submit");

	if (!wait) {
		if (ctx->cc_json)
			(void)printf("{\"job_id\":%llu}\n",
			    (unsigned long long)job);
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
	    "[--name NAME] [--raw] PLUGIN [INPUT | --input-file FILE]",
	.cmd_summary = "run PLUGIN as a job on INPUT; print its id, or its "
	    "result with --wait",
	.cmd_help =
	    "Options:\n"
	    "  -w, --wait             wait for the job's end and print its result\n"
	    "                         (a progress bar on a terminal)\n"
	    "  -c, --cpu N|any        run on the per-CPU pool of CPU N, or of a CPU\n"
	    "                         the daemon picks\n"
	    "      --unbound          run on the shared unbound pool (the default)\n"
	    "  -p, --priority P       the pool's priority (libtp's tp_pri_t): 'none'\n"
	    "                         or -1 the default, 0..39 time-sharing (nice 19\n"
	    "                         .. -20), 40..138 real-time (needs privilege)\n"
	    "  -n, --name NAME        the job's name (threads show it); default: PLUGIN\n"
	    "  -f, --input-file FILE  the input is FILE's bytes ('-': stdin)\n"
	    "      --raw              print the result's bytes untouched (else text\n"
	    "                         as is, binary as hex)\n"
	    "Without --wait, prints the job id.  With --json: {\"job_id\":N}, or with\n"
	    "--wait the final job object.  Put '--' before an INPUT that starts\n"
	    "with '-'.\n",
	.cmd_exec = submit_exec,
};
