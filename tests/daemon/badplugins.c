/*
 * badplugins.c -- plugins the loader must refuse, one per build of this
 * file (BAD_KIND picks which): the daemon logs each, naming the file and
 * the reason, skips it and serves the good ones.
 *
 *	1  bad-abi	an ABI version the daemon does not speak
 *	2  no-symbol	no tpool_plugin descriptor at all
 *	3  dup-echo	a second plugin named "echo"
 *	4  init-fail	tpp_init fails
 *	5  bad-name	an invalid name ("no/slash")
 *	6  no-run	no run function
 *	7  counted	good, with init/fini that append to $TPOOL_TEST_FINI_LOG
 *			and take $TPOOL_TEST_SLOW_MS ms each (default 0)
 *	8  marker	good, and its constructor (run by dlopen itself, before
 *			any check of the descriptor) creates $TPOOL_TEST_MARKER:
 *			the security suite's attacker plugin, whose trace says
 *			that tpoold loaded it
 *	9  load-crash	its constructor dies of SIGSEGV: loaded only where
 *			every plugin's declaration is read in a worker
 *			process (a daemon where any plugin is of isolation
 *			"process"), which it takes down instead of tpoold
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tpool/plugin.h>

static int __attribute__((__unused__))
bad_run(struct tp_plugin_ctx *ctx)
{
	return tp_plugin_set_result(ctx, "bad", 3);
}

#if BAD_KIND == 1
TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION + 998,
	.tpp_name = "badabi",
	.tpp_run = bad_run,
};
#elif BAD_KIND == 2
TP_PLUGIN_EXPORT const struct tp_plugin not_the_descriptor = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "nosymbol",
	.tpp_run = bad_run,
};
#elif BAD_KIND == 3
TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "echo",
	.tpp_description = "an impostor",
	.tpp_run = bad_run,
};
#elif BAD_KIND == 4
static int
bad_init(void **ret_data)
{
	return EIO;
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "initfail",
	.tpp_init = bad_init,
	.tpp_run = bad_run,
};
#elif BAD_KIND == 5
TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "no/slash",
	.tpp_run = bad_run,
};
#elif BAD_KIND == 6
TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "norun",
};
#elif BAD_KIND == 7
static void
counted_note(const char *what)
{
	const char *path = getenv("TPOOL_TEST_FINI_LOG");
	int fd;

	if (path == NULL || (fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644)) < 0)
		return;
	(void)!write(fd, what, strlen(what));
	(void)close(fd);
}

/* Take $TPOOL_TEST_SLOW_MS ms, as a plugin with much to set up would. */
static void
counted_slow(void)
{
	const char *ms = getenv("TPOOL_TEST_SLOW_MS");
	struct timespec ts;
	long n;

	if (ms == NULL || (n = strtol(ms, NULL, 10)) <= 0)
		return;
	ts.tv_sec = n / 1000;
	ts.tv_nsec = n % 1000 * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
counted_init(void **ret_data)
{
	static int data = 42;

	counted_slow();
	counted_note("init\n");
	*ret_data = &data;
	return 0;
}

static void
counted_fini(void *data)
{
	counted_slow();
	counted_note(data != NULL && *(int *)data == 42 ? "fini\n" : "fini-bad-data\n");
}

static int
counted_run(struct tp_plugin_ctx *ctx)
{
	if (ctx->ctx_plugin_data == NULL || *(int *)ctx->ctx_plugin_data != 42)
		return EINVAL;
	return tp_plugin_set_result(ctx, "counted", 7);
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "counted",
	.tpp_description = "init and fini leave a trace",
	.tpp_init = counted_init,
	.tpp_fini = counted_fini,
	.tpp_run = counted_run,
};
#elif BAD_KIND == 8
static void __attribute__((__constructor__))
marker_loaded(void)
{
	const char *path = getenv("TPOOL_TEST_MARKER");
	int fd;

	if (path != NULL &&
	    (fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) >= 0)
		(void)close(fd);
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "marker",
	.tpp_description = "leaves $TPOOL_TEST_MARKER when loaded",
	.tpp_run = bad_run,
};
#elif BAD_KIND == 9
static void __attribute__((__constructor__))
load_crash(void)
{
	(void)raise(SIGSEGV);
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "loadcrash",
	.tpp_description = "dies as it loads",
	.tpp_run = bad_run,
};
#else
#error "BAD_KIND"
#endif
