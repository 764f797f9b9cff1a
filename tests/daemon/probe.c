/*
 * probe.c -- a plugin for the daemon's tests: it reports what its worker
 * thread looks like and does the odd things the daemon must survive.  The
 * input is a command:
 *
 *	sched		result "cpu=N nice=N policy=N rtprio=N tid=N"
 *	big:N		a result of N bytes ('x')
 *	spin:MS		burn CPU for MS ms (stops when cancelled -> ECANCELED)
 *	hold:MS		sleep MS ms, ignoring cancel requests
 *	gate:PATH	wait until the file PATH exists (the test opens the
 *			gate), ignoring cancel requests; fails after 10 min
 *	progress	report 10%, 50% ("half"), 90%, then succeed "ok"
 *	ecanceled	return ECANCELED without being asked
 *	errno		return EIO without a message
 *	setfail		set a result, then fail: the failure wins
 *	fail-until:N	fail while its attempt (tp_plugin_attempt()) is
 *			below N, then succeed "attempt N"
 *	permanent	fail permanently (tp_plugin_fail_permanently())
 *
 * Its destructor checks that it is not unloaded (dlclose, or the exit's
 * destructors) while a run is still executing: if it is, it says so on
 * stderr and ends the process with status 86, which fails the test that
 * stops the daemon.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/syscall.h>

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tpool/plugin.h>

#include "clock.h"

static bool
probe_is(const struct tp_plugin_ctx *ctx, const char *cmd, unsigned long *ret_arg)
{
	size_t len = strlen(cmd);
	char buf[32];

	if (ctx->ctx_input_len < len || memcmp(ctx->ctx_input, cmd, len) != 0)
		return false;
	if (ret_arg == NULL)
		return ctx->ctx_input_len == len;
	if (ctx->ctx_input_len - len >= sizeof(buf))
		return false;
	memcpy(buf, ctx->ctx_input + len, ctx->ctx_input_len - len);
	buf[ctx->ctx_input_len - len] = '\0';
	*ret_arg = strtoul(buf, NULL, 10);
	return true;
}

/* The text after cmd, as a string in buf; false if it is not cmd or too
 * long. */
static bool
probe_text(const struct tp_plugin_ctx *ctx, const char *cmd, char *buf,
    size_t size)
{
	size_t len = strlen(cmd);

	if (ctx->ctx_input_len < len || memcmp(ctx->ctx_input, cmd, len) != 0 ||
	    ctx->ctx_input_len - len >= size)
		return false;
	memcpy(buf, ctx->ctx_input + len, ctx->ctx_input_len - len);
	buf[ctx->ctx_input_len - len] = '\0';
	return true;
}

static atomic_int probe_running;

static void __attribute__((__destructor__))
probe_unload_check(void)
{
	static const char msg[] = "probe: unloaded while a run is still executing\n";

	if (atomic_load(&probe_running) > 0) {
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		_exit(86);
	}
}

static int probe_run_cmd(struct tp_plugin_ctx *);

static int
probe_run(struct tp_plugin_ctx *ctx)
{
	int r;

	atomic_fetch_add(&probe_running, 1);
	r = probe_run_cmd(ctx);
	atomic_fetch_sub(&probe_running, 1);
	return r;
}

static int
probe_run_cmd(struct tp_plugin_ctx *ctx)
{
	struct sched_param sp;
	struct timespec ts;
	unsigned long arg;
	uint64_t end;
	char out[128], path[256], *big;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int n, r;

	if (probe_is(ctx, "sched", NULL)) {
		errno = 0;
		(void)sched_getparam(0, &sp);
		n = snprintf(out, sizeof(out), "cpu=%d nice=%d policy=%d rtprio=%d tid=%d",
		    sched_getcpu(), getpriority(PRIO_PROCESS, (id_t)tid), sched_getscheduler(0),
		    sp.sched_priority, (int)tid);
		return tp_plugin_set_result(ctx, out, (size_t)n);
	}
	if (probe_is(ctx, "big:", &arg)) {
		if ((big = malloc(arg + 1)) == NULL)
			return ENOMEM;
		memset(big, 'x', arg);
		r = tp_plugin_set_result(ctx, big, arg);
		free(big);
		return r;
	}
	if (probe_is(ctx, "spin:", &arg)) {
		end = tu_now_ms() + arg;
		while (tu_now_ms() < end)
			if (tp_plugin_cancel_requested(ctx))
				return ECANCELED;
		return tp_plugin_set_result(ctx, "spun", 4);
	}
	if (probe_is(ctx, "fail-until:", &arg)) {
		if (tp_plugin_attempt(ctx) < arg) {
			tp_plugin_fail(ctx, "attempt %u: not yet",
			    tp_plugin_attempt(ctx));
			return EIO;
		}
		n = snprintf(out, sizeof(out), "attempt %u",
		    tp_plugin_attempt(ctx));
		return tp_plugin_set_result(ctx, out, (size_t)n);
	}
	if (probe_is(ctx, "permanent", NULL)) {
		tp_plugin_fail_permanently(ctx, "this will never work");
		return EINVAL;
	}
	if (probe_is(ctx, "hold:", &arg)) {
		ts.tv_sec = (time_t)(arg / 1000);
		ts.tv_nsec = (long)(arg % 1000) * 1000000;
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			continue;
		return tp_plugin_set_result(ctx, "held", 4);
	}
	if (probe_text(ctx, "gate:", path, sizeof(path))) {
		ts.tv_sec = 0;
		ts.tv_nsec = 10 * 1000000;
		for (n = 0; access(path, F_OK) != 0; n++) {
			if (n == 60000) {
				tp_plugin_fail(ctx, "the gate %s never opened",
				    path);
				return ETIMEDOUT;
			}
			(void)nanosleep(&ts, NULL);
		}
		return tp_plugin_set_result(ctx, "passed", 6);
	}
	if (probe_is(ctx, "progress", NULL)) {
		ts.tv_sec = 0;
		ts.tv_nsec = 20 * 1000000;
		tp_plugin_progress(ctx, 10, NULL);
		(void)nanosleep(&ts, NULL);
		tp_plugin_progress(ctx, 50, "half");
		(void)nanosleep(&ts, NULL);
		tp_plugin_progress(ctx, 190, "clamped");
		(void)nanosleep(&ts, NULL);
		return tp_plugin_set_result(ctx, "ok", 2);
	}
	if (probe_is(ctx, "ecanceled", NULL))
		return ECANCELED;
	if (probe_is(ctx, "errno", NULL))
		return EIO;
	if (probe_is(ctx, "setfail", NULL)) {
		(void)tp_plugin_set_result(ctx, "partial", 7);
		tp_plugin_fail(ctx, "failed after %d steps", 3);
		return 0;
	}
	tp_plugin_fail(ctx, "unknown probe command");
	return EINVAL;
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "probe",
	.tpp_description = "test plugin: reports its thread, and misbehaves on request",
	.tpp_run = probe_run,
};
