/*
 * crasher.c -- plugin "crash" for the tests of isolation "process": it
 * does what the input says, most of it fatal.
 *
 *	ok		result "ok"
 *	id		result "uid=N pid=N ppid=N nice=N cpu=N"
 *	cpus-after:MS	sleeps MS ms, then result "cpus=N": how many
 *			CPUs it may run on then
 *	segv		writes through a bad pointer
 *	segv-until:N	the same while its attempt is below N, then "attempt N"
 *	abort		abort()
 *	exit:N		_exit(N)
 *	stack		recurses until the stack overflows
 *	alloc:MIB	allocates and touches MIB MiB (a null pointer when the
 *			address space limit refuses it)
 *	fail		fails with a message, then crashes: the crash wins
 *	wait		waits for a cancel request, then ECANCELED
 *	open		opens /etc/passwd (forbidden in a worker)
 *	fork		fork() (forbidden in a worker)
 *	thread		runs a thread and joins it, prints to stderr: "ok"
 *	spin		burns CPU for ever, ignoring cancel requests
 *	leak:MIB	allocates and touches MIB MiB and never frees them:
 *			result "ok"
 *	leakk:KIB	the same in KiB (a quick leak)
 *	fdleak:N	copies descriptor 3 (in a worker, its channel: always
 *			open) N times (fcntl F_DUPFD) and never
 *			closes them: result "fds N" (the copies it got)
 *	dup		dup(0) (forbidden in a worker)
 */
#include "config.h"

#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tpool/plugin.h>

static bool
crash_is(const struct tp_plugin_ctx *ctx, const char *cmd, long *ret_arg)
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
	*ret_arg = strtol(buf, NULL, 10);
	return true;
}

/* Deeper while depth says so: never stops, but the compiler cannot tell. */
static int
crash_recurse(volatile char *prev, volatile long *depth)
{
	volatile char frame[4096];

	frame[0] = prev != NULL ? prev[0] : 1;
	if (++*depth < 0)
		return frame[0];
	return crash_recurse(frame, depth) + frame[1];
}

static void
crash_fail(struct tp_plugin_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctx->ctx_failv(ctx, fmt, ap);
	va_end(ap);
}

static volatile unsigned long crash_sink;

/* A write to a bad address, as a plain build makes it (a sanitizer's
 * check would report it first: its report is not the point here). */
#if defined(__clang__)
__attribute__((__noinline__, __no_sanitize__("address", "undefined",
    "thread")))
#else
__attribute__((__noinline__, __no_sanitize_address__,
    __no_sanitize_undefined__, __no_sanitize_thread__))
#endif
static void
crash_segv(void)
{
	static volatile uintptr_t bad = 16;

	*(volatile int *)bad = 1;
}

static void *
crash_thread(void *arg)
{
	crash_sink++;
	return arg;
}

static int
crash_run(struct tp_plugin_ctx *ctx)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	char buf[160];
	pthread_t t;
	pid_t pid;
	long arg;
	char *p;
	int fd;

	if (crash_is(ctx, "ok", NULL))
		return ctx->ctx_set_result(ctx, "ok", 2);
	if (crash_is(ctx, "id", NULL)) {
		errno = 0;
		(void)snprintf(buf, sizeof(buf),
		    "uid=%d pid=%d ppid=%d nice=%d cpu=%d", (int)getuid(),
		    (int)getpid(), (int)getppid(),
		    getpriority(PRIO_PROCESS, 0), sched_getcpu());
		return ctx->ctx_set_result(ctx, buf, strlen(buf));
	}
	if (crash_is(ctx, "cpus-after:", &arg)) {
		cpu_set_t set;
		struct timespec nap = { arg / 1000, (arg % 1000) * 1000000 };

		while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
			continue;
		if (sched_getaffinity(0, sizeof(set), &set) != 0)
			return errno;
		(void)snprintf(buf, sizeof(buf), "cpus=%d", CPU_COUNT(&set));
		return ctx->ctx_set_result(ctx, buf, strlen(buf));
	}
	if (crash_is(ctx, "segv-until:", &arg)) {
		if (tp_plugin_attempt(ctx) < (unsigned long)arg)
			crash_segv();
		(void)snprintf(buf, sizeof(buf), "attempt %u",
		    tp_plugin_attempt(ctx));
		return ctx->ctx_set_result(ctx, buf, strlen(buf));
	}
	if (crash_is(ctx, "segv", NULL))
		crash_segv();
	if (crash_is(ctx, "abort", NULL))
		abort();
	if (crash_is(ctx, "exit:", &arg))
		_exit((int)arg);
	if (crash_is(ctx, "stack", NULL))
	{
		volatile long depth = 0;

		return crash_recurse(NULL, &depth);
	}
	if (crash_is(ctx, "alloc:", &arg)) {
		/* As a plugin that does not check: null when refused. */
		p = malloc((size_t)arg << 20);
		memset(p, 1, (size_t)arg << 20);
		(void)snprintf(buf, sizeof(buf), "%d", p[arg]);
		free(p);
		return ctx->ctx_set_result(ctx, buf, strlen(buf));
	}
	if (crash_is(ctx, "fail", NULL)) {
		crash_fail(ctx, "about to crash");
		raise(SIGSEGV);
	}
	if (crash_is(ctx, "wait", NULL)) {
		while (!ctx->ctx_cancel_requested(ctx))
			(void)nanosleep(&ts, NULL);
		return ECANCELED;
	}
	if (crash_is(ctx, "open", NULL)) {
		fd = open("/etc/passwd", O_RDONLY);
		(void)snprintf(buf, sizeof(buf), "open: %d", fd);
		return ctx->ctx_set_result(ctx, buf, strlen(buf));
	}
	if (crash_is(ctx, "fork", NULL)) {
		if ((pid = fork()) == 0)
			_exit(0);
		(void)snprintf(buf, sizeof(buf), "fork: %d", (int)pid);
		return ctx->ctx_set_result(ctx, buf, strlen(buf));
	}
	if (crash_is(ctx, "thread", NULL)) {
		if (pthread_create(&t, NULL, crash_thread, NULL) != 0 ||
		    pthread_join(t, NULL) != 0)
			return EAGAIN;
		(void)fprintf(stderr, "crash: thread ran\n");
		return ctx->ctx_set_result(ctx, "ok", 2);
	}
	if (crash_is(ctx, "spin", NULL)) {
		for (;;)
			crash_sink++;
	}
	if (crash_is(ctx, "leak:", &arg) || crash_is(ctx, "leakk:", &arg)) {
		if (ctx->ctx_input[4] == ':')
			arg <<= 10;	/* leak:MIB */
		if ((p = malloc((size_t)arg << 10)) == NULL)
			return ENOMEM;
		memset(p, 1, (size_t)arg << 10);
		crash_sink += (unsigned long)(uintptr_t)p;	/* kept */
		return ctx->ctx_set_result(ctx, "ok", 2);
	}
	if (crash_is(ctx, "fdleak:", &arg)) {
		long got = 0;

		for (; arg > 0; arg--)
			if (fcntl(3, F_DUPFD, 0) >= 0)
				got++;
		(void)snprintf(buf, sizeof(buf), "fds %ld", got);
		return ctx->ctx_set_result(ctx, buf, strlen(buf));
	}
	if (crash_is(ctx, "dup", NULL)) {
		fd = dup(0);
		(void)snprintf(buf, sizeof(buf), "dup: %d", fd);
		return ctx->ctx_set_result(ctx, buf, strlen(buf));
	}
	crash_fail(ctx, "unknown command");
	return EINVAL;
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "crash",
	.tpp_description = "crashes as its input says (tests)",
	.tpp_run = crash_run,
};
