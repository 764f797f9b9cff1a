/*
 * soakrec.c -- the soak test's plugin: it records every run it makes in a
 * run ledger, so that the soak can prove which jobs ran and how often.
 *
 * The input is one line of text made by tests/soak/client.c:
 *
 *	T<token> M<ms> S<spin 0|1> F<fail 0|1>
 *
 * A run appends "R <token> <job id>\n" to the ledger as soon as it enters
 * the plugin, then works for <ms> milliseconds (sleeping in slices of at
 * most 1 ms, or spinning when S1), polling the cancel flag between slices,
 * and reports progress half way.  It then appends "X <token> <how>\n" and
 * returns:
 *	cancelled	"C", ECANCELED (final state cancelled);
 *	F1		"F", EIO with the message "soak failure <token>";
 *	otherwise	"S", 0 with the result "tok=<token>".
 *
 * The ledger is the file named by $SOAK_LEDGER in the daemon's environment
 * (read once, by tpp_init: no ledger, no plugin).  Every record is one
 * write(2) of one short line on a descriptor opened O_APPEND for it and
 * closed at once: lines of concurrent runs never mix, and the plugin keeps
 * no descriptor open in the daemon between runs (the soak counts them).
 *
 * Built twice, as "soakrec" and, with -DSOAKREC_NAME="soakrec2", as the
 * plugin the soak adds to the plugin folder before its SIGHUP.
 *
 * And a third time, with -DSOAKREC_PROCESS, as "soakcrash", which the soak
 * runs in worker processes (tpoold --plugin-isolation soakcrash:process):
 * it opens the ledger once, in tpp_init (its worker's filter forbids
 * opening files later), and takes one more field, K<crash 0|1>: with K1,
 * right after its "R" line, the run crashes (a segmentation fault, an
 * abort or an exit, by the token), and the job must end failed with
 * "plugin crashed".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tpool/plugin.h>

#include "clock.h"

#ifndef SOAKREC_NAME
#define	SOAKREC_NAME	"soakrec"
#endif

#define	SOAKREC_INPUT_MAX	127

#ifdef SOAKREC_PROCESS
/* The ledger's descriptor, opened by tpp_init in each worker. */
static int soakrec_fd = -1;

static int
soakrec_init(void **ret_data)
{
	const char *ledger = getenv("SOAK_LEDGER");

	if (ledger == NULL || *ledger == '\0' ||
	    (soakrec_fd = open(ledger, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
		return ENOENT;
	*ret_data = NULL;
	return 0;
}

static void
soakrec_fini(void *data)
{
	(void)data;
	(void)close(soakrec_fd);
}

static void
soakrec_write(const char *ledger, const char *line, size_t len)
{
	(void)ledger;
	(void)write(soakrec_fd, line, len);
}

/* K1: crash, one way or another. */
static void
soakrec_crash(unsigned long long token)
{
	switch (token % 3) {
	case 0:
		(void)raise(SIGSEGV);
		break;
	case 1:
		abort();
	default:
		_exit(3);
	}
}
#else
/* Append one line to the ledger; a failure is the soak's to notice. */
static void
soakrec_record(const char *ledger, const char *line, size_t len)
{
	int fd;

	fd = open(ledger, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return;
	(void)write(fd, line, len);
	(void)close(fd);
}

static int
soakrec_init(void **ret_data)
{
	const char *ledger = getenv("SOAK_LEDGER");
	char *copy;

	if (ledger == NULL || *ledger == '\0' || access(ledger, W_OK) != 0)
		return ENOENT;
	if ((copy = strdup(ledger)) == NULL)
		return ENOMEM;
	*ret_data = copy;
	return 0;
}

static void
soakrec_fini(void *data)
{
	free(data);
}

#define	soakrec_write	soakrec_record
#endif

static int
soakrec_run(struct tp_plugin_ctx *ctx)
{
	const char *ledger = ctx->ctx_plugin_data;
	char input[SOAKREC_INPUT_MAX + 1], line[96];
	unsigned long long token;
	unsigned int ms, spin, fail, crash = 0;
	uint64_t start, end, now;
	struct timespec slice;
	bool half = false;
	int n;

	if (ctx->ctx_input_len > SOAKREC_INPUT_MAX) {
		tp_plugin_fail(ctx, "soakrec: input too long");
		return EINVAL;
	}
	memcpy(input, ctx->ctx_input, ctx->ctx_input_len);
	input[ctx->ctx_input_len] = '\0';
	if (sscanf(input, "T%llu M%u S%u F%u K%u", &token, &ms, &spin, &fail,
	    &crash) < 4) {
		tp_plugin_fail(ctx, "soakrec: bad input");
		return EINVAL;
	}

	n = snprintf(line, sizeof(line), "R %llu %" PRIu64 "\n", token, ctx->ctx_job_id);
	soakrec_write(ledger, line, (size_t)n);
#ifdef SOAKREC_PROCESS
	if (crash)
		soakrec_crash(token);
#else
	(void)crash;
#endif

	start = tu_now_ns();
	end = start + (uint64_t)ms * 1000000u;
	for (;;) {
		if (tp_plugin_cancel_requested(ctx)) {
			n = snprintf(line, sizeof(line), "X %llu C\n", token);
			soakrec_write(ledger, line, (size_t)n);
			return ECANCELED;
		}
		now = tu_now_ns();
		if (now >= end)
			break;
		if (!half && now - start >= (end - start) / 2) {
			tp_plugin_progress(ctx, 50, "half");
			half = true;
		}
		if (spin)
			continue;
		slice.tv_sec = 0;
		slice.tv_nsec = end - now < 1000000u ? (long)(end - now) : 1000000L;
		(void)nanosleep(&slice, NULL);
	}

	if (fail) {
		n = snprintf(line, sizeof(line), "X %llu F\n", token);
		soakrec_write(ledger, line, (size_t)n);
		tp_plugin_fail(ctx, "soak failure %llu", token);
		return EIO;
	}
	n = snprintf(line, sizeof(line), "tok=%llu", token);
	if (tp_plugin_set_result(ctx, line, (size_t)n) != 0) {
		tp_plugin_fail(ctx, "soakrec: result refused");
		return EIO;
	}
	n = snprintf(line, sizeof(line), "X %llu S\n", token);
	soakrec_write(ledger, line, (size_t)n);
	return 0;
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = SOAKREC_NAME,
	.tpp_description = "soak test: records each run in $SOAK_LEDGER",
	.tpp_init = soakrec_init,
	.tpp_fini = soakrec_fini,
	.tpp_run = soakrec_run,
};
