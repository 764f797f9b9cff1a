/*
 * main.c -- tpoold: start, serve, stop.
 *
 * Start: options (options.c), plugins (plugin.c), the completion queue
 * (run.c), the socket (listen.c), then READY=1 to systemd.  Serve: the
 * libevent loop runs every callback of the daemon on this one thread.
 * Signals come in as loop events:
 *
 *	SIGHUP		rescan the plugin directory.
 *	SIGTERM/SIGINT	stop: close the socket, cancel every queued job (each
 *			reported cancelled), ask running jobs to stop, wait for
 *			them up to --shutdown-grace, report any still running as
 *			failed, write what is queued to clients, exit 0.  A
 *			second signal ends the grace period at once.
 *
 * Nothing is left for the exit to clean up unless a job was abandoned
 * still running (its thread still uses it): then its job, pool and plugin
 * are left as they are.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "tpoold.h"

#define	DRAIN_DEADLINE_MS	2000	/* writing the last replies at exit */

struct tpd_options tpd_opt;
struct event_base *tpd_base;
uint64_t tpd_start_ns;

static bool main_stopping;
static bool main_draining;
static struct event *main_grace_ev;
static struct event *main_drain_ev;
static struct event *main_idle_ev;
static struct event *main_sig_ev[3];

uint64_t
tpd_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool
tpd_stopping(void)
{
	return main_stopping;
}

static void
main_notify_status(const char *state)
{
	char buf[256];

	(void)snprintf(buf, sizeof(buf), "%sSTATUS=%u plugins, %u jobs in flight, "
	    "%u connections", state, tpd_plugins_count(), tpd_counters.tc_inflight,
	    tpd_conn_count());
	(void)sd_notify(0, buf);
}

static void
main_drained(void)
{
	(void)event_base_loopbreak(tpd_base);
}

static void
main_drain_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	tpd_notice("clients did not read their last replies in time; closing");
	(void)event_base_loopbreak(tpd_base);
}

/* Every job has its final state: send the last replies, then leave. */
static void
main_begin_drain(void)
{
	struct timeval tv = { DRAIN_DEADLINE_MS / 1000, (DRAIN_DEADLINE_MS % 1000) * 1000 };

	if (main_draining)
		return;
	main_draining = true;
	if (main_grace_ev != NULL)
		(void)event_del(main_grace_ev);
	main_drain_ev = evtimer_new(tpd_base, main_drain_deadline_cb, NULL);
	if (main_drain_ev != NULL)
		(void)evtimer_add(main_drain_ev, &tv);
	tpd_conn_drain_all(main_drained);
}

static void
main_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	main_begin_drain();
	tpd_conn_flush_all();
}

void
tpd_main_jobs_idle(void)
{
	/* Called deep inside job code: drain from a callback of its own. */
	if (main_stopping && !main_draining)
		event_active(main_idle_ev, EV_TIMEOUT, 0);
}

static void
main_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	tpd_notice("shutdown grace period over with %u jobs still running",
	    tpd_counters.tc_inflight);
	tpd_jobs_abandon_running();
	main_begin_drain();
	tpd_conn_flush_all();
}

static void
main_stop(int sig)
{
	struct timeval tv;
	uint64_t grace = tpd_opt.o_shutdown_grace_ns;

	if (main_stopping) {
		if (!main_draining) {
			tpd_notice("signal %d again: not waiting for running jobs", sig);
			main_grace_cb(-1, 0, NULL);
		}
		return;
	}
	main_stopping = true;
	tpd_notice("signal %d: stopping (%u jobs in flight)", sig,
	    tpd_counters.tc_inflight);
	(void)sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	tpd_listen_stop();
	tpd_jobs_stop_all();
	if (tpd_counters.tc_inflight == 0) {
		main_begin_drain();
		return;
	}
	tv.tv_sec = (time_t)(grace / 1000000000u);
	tv.tv_usec = (suseconds_t)(grace % 1000000000u / 1000);
	main_grace_ev = evtimer_new(tpd_base, main_grace_cb, NULL);
	if (main_grace_ev == NULL || evtimer_add(main_grace_ev, &tv) != 0) {
		tpd_err("cannot arm the shutdown timer; not waiting for running jobs");
		main_grace_cb(-1, 0, NULL);
	}
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	if (sig == SIGHUP) {
		if (main_stopping)
			return;
		tpd_notice("SIGHUP: rescanning %s", tpd_opt.o_plugin_dir);
		(void)sd_notify(0, "RELOADING=1");
		tpd_plugins_scan();
		main_notify_status("READY=1\n");
	} else
		main_stop((int)sig);
	tpd_conn_flush_all();
}

static int
main_setup(void)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	int error;
	size_t i;

	if (tpd_opt.o_idle_timeout_ns != 0 &&
	    (error = threadpool_set_default_idle_timeout(tpd_opt.o_idle_timeout_ns / 1000)) != 0) {
		tpd_err("idle timeout: %s", strerror(error));
		return error;
	}
	if ((tpd_base = event_base_new()) == NULL) {
		tpd_err("cannot create the event loop");
		return ENOMEM;
	}
	for (i = 0; i < 3; i++) {
		main_sig_ev[i] = evsignal_new(tpd_base, sigs[i], main_signal_cb, NULL);
		if (main_sig_ev[i] == NULL || evsignal_add(main_sig_ev[i], NULL) != 0) {
			tpd_err("cannot watch signal %d", sigs[i]);
			return ENOMEM;
		}
	}
	if ((main_idle_ev = evtimer_new(tpd_base, main_idle_cb, NULL)) == NULL)
		return ENOMEM;
	if ((error = tpd_jobs_init()) != 0 || (error = tpd_cq_init()) != 0)
		return error;
	tpd_plugins_scan();
	if ((error = tpd_listen_start()) != 0)
		return error;
	return 0;
}

static void
main_teardown(void)
{
	size_t i;

	tpd_listen_stop();
	tpd_conn_free_all();
	tpd_jobs_free_all();
	if (!tpd_jobs_any_abandoned()) {
		tpd_pools_put_all();
		tpd_cq_destroy();
	}
	tpd_plugins_unload_all();
	for (i = 0; i < 3; i++)
		if (main_sig_ev[i] != NULL)
			event_free(main_sig_ev[i]);
	if (main_grace_ev != NULL)
		event_free(main_grace_ev);
	if (main_drain_ev != NULL)
		event_free(main_drain_ev);
	if (main_idle_ev != NULL)
		event_free(main_idle_ev);
	if (tpd_base != NULL && !tpd_jobs_any_abandoned())
		event_base_free(tpd_base);
	tpd_options_free(&tpd_opt);
}

int
main(int argc, char **argv)
{
	int rc, error;

	tpd_start_ns = tpd_now_ns();
	rc = tpd_options_load(&tpd_opt, argc, argv);
	if (rc != 0) {
		tpd_options_free(&tpd_opt);
		return rc < 0 ? 0 : rc;
	}
	tpd_log_set_verbose(tpd_opt.o_verbose);
	/* A client that goes away must be a write error, not a signal. */
	(void)signal(SIGPIPE, SIG_IGN);

	if ((error = main_setup()) != 0) {
		(void)sd_notifyf(0, "STATUS=failed to start: %s\nERRNO=%d",
		    strerror(error), error);
		main_teardown();
		return 1;
	}
	tpd_notice("%s %s ready: socket %s%s, %u plugins from %s", PACKAGE_NAME,
	    PACKAGE_VERSION, tpd_opt.o_socket,
	    tpd_listen_activated() ? " (from systemd)" : "", tpd_plugins_count(),
	    tpd_opt.o_plugin_dir);
	main_notify_status("READY=1\n");

	if (event_base_dispatch(tpd_base) < 0) {
		tpd_err("event loop failed");
		main_teardown();
		return 1;
	}
	tpd_notice("stopped: %llu jobs accepted, %llu succeeded, %llu failed, "
	    "%llu cancelled", (unsigned long long)tpd_counters.tc_accepted,
	    (unsigned long long)tpd_counters.tc_succeeded,
	    (unsigned long long)tpd_counters.tc_failed,
	    (unsigned long long)tpd_counters.tc_cancelled);
	main_teardown();
	return 0;
}
