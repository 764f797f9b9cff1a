/*
 * daemon.c -- the daemon's life without main(): set up the loop and
 * everything it owns, stop (SIGTERM's path), and tear down, so that
 * main.c, tests and fuzz targets drive the same code.
 *
 *	tpd_daemon_setup(listen)	event base, job table, completion
 *					queue, plugins; the socket if listen
 *	tpd_daemon_stop(why)		stop accepting, cancel queued jobs
 *					(each reported cancelled), ask running
 *					ones to stop, wait up to
 *					--shutdown-grace, report any still
 *					running as failed (abandoned), write
 *					what is queued to clients, leave the
 *					loop.  Again: end the grace period now.
 *	tpd_daemon_teardown()		free everything (but what abandoned
 *					jobs' threads still use)
 *
 * Nothing is left for the exit to clean up unless a job was abandoned
 * still running (its thread still uses it): then its job, pool, plugin
 * (never dlclose'd under it), tpd_opt, the completion queue and the event
 * base are left as they are, and the process must leave with _exit(2)
 * (main.c does), the thread still in the plugin.  That is safe because the
 * thread touches only its job, its plugin, tpd_opt and the completion
 * queue, none of which is freed, and _exit runs no destructor (the
 * plugin's own would run under its running code).
 *
 * Wiring: each layer tells the one above only through the hooks it is
 * handed here.  The job table's hooks lead to follow.c (events, cancel
 * answers) and to daemon_jobs_idle (the shutdown waits for it); conn.c's
 * lead to dispatch.c (each frame), msg.c (why a peer is refused),
 * follow.c and listen.c (a connection closed) and the job table (at the
 * end of each loop iteration, take in the jobs' ends before writing).
 *
 * Everything here is the loop's (l).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "audit.h"
#include "conn.h"
#include "daemon.h"
#include "dispatch.h"
#include "budget.h"
#include "follow.h"
#include "gearman.h"
#include "jobs.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "metrics-http.h"
#include "msg.h"
#include "options.h"
#include "store.h"
#include "plugin.h"
#include "pools.h"
#include "safepath.h"
#include "testing.h"

#define	DRAIN_DEADLINE_MS	2000	/* writing the last replies at exit */

struct event_base *tpd_base;

static bool daemon_stopping;
static bool daemon_draining;
static bool daemon_done;		/* the loop may end: all written */
static struct event *daemon_grace_ev;
static struct event *daemon_drain_ev;
static struct event *daemon_idle_ev;
static struct event *daemon_tick_ev;		/* STATUS=, WATCHDOG=1 */
static uint64_t daemon_watchdog_usec;		/* WATCHDOG_USEC, or 0 */
static char daemon_status_sent[192];		/* the last STATUS= */
static int daemon_notify_fd = -1;		/* for the tick's messages */
static bool daemon_status_live;			/* STATUS= at each tick */

static struct tpd_job_hooks daemon_job_hooks;
static struct tpd_conn_hooks daemon_conn_hooks;

bool
tpd_daemon_done(void)
{
	return daemon_done;
}

bool
tpd_daemon_stopping(void)
{
	return daemon_stopping;
}

/* "STATUS=..." as of now into buf: jobs in flight and running, clients. */
static void
daemon_status_line(char *buf, size_t len)
{
	Tpool__PoolStats **ps;
	unsigned int running = 0;
	size_t n, i;

	if (tpd_pool_stats(&ps, &n) == 0) {
		for (i = 0; i < n; i++)
			running += ps[i]->threads - ps[i]->idle;
		tpd_pool_stats_free(ps, n);
	}
	(void)snprintf(buf, len, "STATUS=%u jobs in flight (%u running), %u "
	    "connections, %u plugins", tpd_jobs_inflight(), running,
	    tpd_conn_count(), tpd_plugins_count());
}

void
tpd_daemon_notify_status(const char *state)
{
	char buf[256];

	daemon_status_line(daemon_status_sent, sizeof(daemon_status_sent));
	(void)snprintf(buf, sizeof(buf), "%s%s", state, daemon_status_sent);
	(void)sd_notify(0, buf);
}

/*
 * Send msg to $NOTIFY_SOCKET without ever waiting: a tick's message is
 * dropped when the manager's queue is full (sd_notify() would block the
 * loop until it is read).  A message that a full queue drops is sent
 * again at a later tick.
 */
static void
daemon_notify_nowait(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t plen;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (plen = strlen(path)) >= sizeof(sun.sun_path))
		return;
	if (daemon_notify_fd < 0 && (daemon_notify_fd = socket(AF_UNIX,
	    SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* the abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	(void)sendto(daemon_notify_fd, msg, strlen(msg), MSG_DONTWAIT |
	    MSG_NOSIGNAL, (struct sockaddr *)&sun, len);
}

/*
 * Once a tick: WATCHDOG=1 when the service has a watchdog (fed from this
 * loop, so a loop that is stuck is not fed and systemd restarts the
 * daemon), and STATUS= when it changed.
 */
static void
daemon_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[sizeof(daemon_status_sent)];

	(void)fd;
	(void)what;
	(void)arg;
	if (daemon_watchdog_usec != 0)
		daemon_notify_nowait("WATCHDOG=1");
	if (daemon_stopping || !daemon_status_live)
		return;
	daemon_status_line(buf, sizeof(buf));
	if (strcmp(buf, daemon_status_sent) != 0) {
		(void)memcpy(daemon_status_sent, buf, sizeof(buf));
		daemon_notify_nowait(buf);
	}
}

/* The tick: every second, or half the watchdog's time when shorter. */
static int
daemon_tick_start(void)
{
	uint64_t usec;
	struct timeval tv;
	int r;

	r = sd_watchdog_enabled(0, &usec);
	daemon_watchdog_usec = r > 0 ? usec : 0;
	/*
	 * STATUS= each tick only for a service manager that reads it: a
	 * service of systemd's (INVOCATION_ID), or one that asked for a
	 * watchdog.  Another reader of NOTIFY_SOCKET (a test, a supervisor)
	 * gets the STATUS= of READY=1 and of reloads only, and never a queue
	 * of them that fills its socket.
	 */
	daemon_status_live = getenv("NOTIFY_SOCKET") != NULL &&
	    (getenv("INVOCATION_ID") != NULL || daemon_watchdog_usec != 0);
	usec = daemon_watchdog_usec != 0 && daemon_watchdog_usec / 2 < 1000000 ?
	    daemon_watchdog_usec / 2 : 1000000;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	daemon_tick_ev = event_new(tpd_base, -1, EV_PERSIST, daemon_tick_cb,
	    NULL);
	if (daemon_tick_ev == NULL || event_add(daemon_tick_ev, &tv) != 0)
		return ENOMEM;
	if (daemon_watchdog_usec != 0)
		tpd_info("watchdog: fed every %llu ms (WatchdogSec=%llu ms)",
		    (unsigned long long)(usec / 1000),
		    (unsigned long long)(daemon_watchdog_usec / 1000));
	return 0;
}

static void
daemon_drained(void)
{
	daemon_done = true;
	(void)event_base_loopbreak(tpd_base);
}

static void
daemon_drain_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	tpd_notice("clients did not read their last replies in time; closing");
	daemon_done = true;
	(void)event_base_loopbreak(tpd_base);
}

/* Every job has its final state: send the last replies, then leave. */
static void
daemon_begin_drain(void)
{
	struct timeval tv = { DRAIN_DEADLINE_MS / 1000,
	    (DRAIN_DEADLINE_MS % 1000) * 1000 };

	if (daemon_draining)
		return;
	daemon_draining = true;
	if (daemon_grace_ev != NULL)
		(void)event_del(daemon_grace_ev);
	daemon_drain_ev = evtimer_new(tpd_base, daemon_drain_deadline_cb, NULL);
	if (daemon_drain_ev != NULL)
		(void)evtimer_add(daemon_drain_ev, &tv);
	tpd_conn_drain_all(daemon_drained);
}

static void
daemon_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	daemon_begin_drain();
}

/* The jh_idle hook: the last job in flight ended. */
static void
daemon_jobs_idle(void)
{
	/* Called deep inside job code: drain from a callback of its own. */
	if (daemon_stopping && !daemon_draining)
		event_active(daemon_idle_ev, EV_TIMEOUT, 0);
}

static void
daemon_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	tpd_notice("shutdown grace period over with %u jobs still running",
	    tpd_jobs_inflight());
	tpd_jobs_abandon_running();
	daemon_begin_drain();
}

void
tpd_daemon_stop(const char *why)
{
	struct timeval tv;
	uint64_t grace = tpd_opt.o_shutdown_grace_ns;

	if (daemon_stopping) {
		if (!daemon_draining) {
			tpd_notice("%s again: not waiting for running jobs",
			    why);
			daemon_grace_cb(-1, 0, NULL);
		}
		return;
	}
	daemon_stopping = true;
	tpd_notice("%s: stopping (%u jobs in flight)", why,
	    tpd_jobs_inflight());
	(void)sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	tpd_gearman_stop();
	tpd_listen_stop();
	tpd_jobs_stop_all();
	if (tpd_jobs_inflight() == 0) {
		daemon_begin_drain();
		return;
	}
	tv.tv_sec = (time_t)(grace / 1000000000u);
	tv.tv_usec = (suseconds_t)(grace % 1000000000u / 1000);
	daemon_grace_ev = evtimer_new(tpd_base, daemon_grace_cb, NULL);
	if (daemon_grace_ev == NULL || evtimer_add(daemon_grace_ev, &tv) != 0) {
		tpd_err("cannot arm the shutdown timer; not waiting for "
		    "running jobs");
		daemon_grace_cb(-1, 0, NULL);
	}
}

void
tpd_daemon_reload(void)
{
	if (daemon_stopping)
		return;
	tpd_notice("SIGHUP: rescanning the plugin directory");
	(void)sd_notify(0, "RELOADING=1");
	/* Loaded off the loop; READY=1 when the registry has changed. */
	tpd_plugins_rescan();
}

/* The plugin registry's hook: a rescan has been applied. */
static void
daemon_plugins_scanned(void)
{
	tpd_gearman_reload();
	if (!daemon_stopping)
		tpd_daemon_notify_status("READY=1\n");
}

/* The ch_before_write hook: the jobs' ends, then the store's writes
 * (which answer the submits it recorded), before any output. */
static void
daemon_before_write(void)
{
	tpd_jobs_poll();
	tpd_store_flush();
}

/*
 * The ch_between_writes hook: the jobs' ends again; not with a job store:
 * an end must be recorded before it is told, and a transaction for each
 * connection written would cost more than the send it saves.
 */
static void
daemon_between_writes(void)
{
	if (!tpd_store_is_open())
		tpd_jobs_poll();
}

/*
 * The ch_may_write_early hook: not with a job store, whose transaction at
 * the iteration's end records the ends that output queued meanwhile may
 * tell (an end is recorded before it is told).
 */
static bool
daemon_may_write_early(void)
{
	return !tpd_store_is_open();
}

/* The jh_finished hook: a job's final state, counted, audited, told. */
static void
daemon_job_finished(struct tpd_job *job, const Tpool__JobInfo *info)
{
	tpd_metrics_job_ended(info);
	tpd_audit_job_ended(info);
	tpd_follow_finished(job, info);
}

/* The ch_closed hook: a connection closed. */
static void
daemon_conn_closed(struct tpd_conn *conn)
{
	tpd_follow_conn_closed(conn);
	/* A descriptor is free: a paused accept may go on. */
	tpd_listen_fd_freed();
}

/*
 * The plugin directory, at start: there, readable, and safe by
 * safepath.h's rules; else the daemon does not start, saying why (a
 * rescan later that finds it gone or unsafe loads nothing from it and
 * goes on).  0 or an errno (logged).
 */
static int
daemon_check_plugin_dir(void)
{
	const char *dir = tpd_opt.o_plugin_dir;
	char why[512];
	int error, fd;

	if (!tpd_safepath_proc_ok()) {
		tpd_err("plugin directory %s: "
		    "/proc is not mounted, and plugins "
		    "are loaded only through /proc/self/fd; not starting", dir);
		return ENOENT;
	}
	if ((error = tpd_safepath_opendir(dir, &fd, why, sizeof(why))) != 0) {
		tpd_err("plugin directory %s: %s; not starting", dir, why);
		return error;
	}
	(void)close(fd);
	return 0;
}

int
tpd_daemon_setup(bool listen)
{
	int error;

	tpd_start_ns = tpd_now_ns();
	daemon_stopping = daemon_draining = daemon_done = false;
	if ((error = threadpool_set_default_idle_timeout(
	    tpd_opt.o_idle_timeout_ns / 1000)) != 0) {
		tpd_err("idle timeout: %s", strerror(error));
		return error;
	}
	threadpool_set_max_idle_threads(tpd_opt.o_max_idle_threads);
	tpd_budget_init();
	tpd_metrics_reset();
	if ((tpd_base = event_base_new()) == NULL) {
		tpd_err("cannot create the event loop");
		return ENOMEM;
	}
	if ((daemon_idle_ev = evtimer_new(tpd_base, daemon_idle_cb, NULL)) ==
	    NULL)
		return ENOMEM;
	daemon_job_hooks.jh_ext_size = tpd_follow_job_ext_size;
	daemon_job_hooks.jh_started = tpd_follow_started;
	daemon_job_hooks.jh_progress = tpd_follow_progress;
	daemon_job_hooks.jh_finished = daemon_job_finished;
	daemon_job_hooks.jh_idle = daemon_jobs_idle;
	daemon_job_hooks.jh_changed = tpd_store_job_changed;
	daemon_job_hooks.jh_forgotten = tpd_store_job_forgotten;
	daemon_conn_hooks.ch_ext_size = tpd_follow_conn_ext_size;
	daemon_conn_hooks.ch_frame = tpd_dispatch;
	daemon_conn_hooks.ch_refuse = tpd_msg_refuse;
	daemon_conn_hooks.ch_closed = daemon_conn_closed;
	daemon_conn_hooks.ch_before_write = daemon_before_write;
	daemon_conn_hooks.ch_between_writes = daemon_between_writes;
	daemon_conn_hooks.ch_may_write_early = daemon_may_write_early;
	daemon_conn_hooks.ch_busy = tpd_follow_conn_busy;
	if ((error = tpd_jobs_init(tpd_base, &daemon_job_hooks)) != 0 ||
	    (error = tpd_store_open()) != 0 ||
	    (error = tpd_conn_init(tpd_base, &daemon_conn_hooks)) != 0 ||
	    (error = tpd_plugins_init(tpd_base, daemon_plugins_scanned)) != 0 ||
	    (listen && (error = daemon_check_plugin_dir()) != 0))
		return error;
	tpd_plugins_scan();
	if ((error = tpd_store_recover()) != 0)
		return error;
	if (listen && ((error = tpd_listen_start(tpd_base)) != 0 ||
	    (error = tpd_metrics_http_start(tpd_base)) != 0 ||
	    (error = tpd_gearman_start()) != 0 ||
	    (error = daemon_tick_start()) != 0))
		return error;
	return 0;
}

int
tpd_daemon_run_until_idle(unsigned int timeout_ms)
{
	uint64_t end = tpd_now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		if (daemon_done ||
		    (tpd_conn_count() == 0 && tpd_jobs_inflight() == 0))
			return 0;
		if (tpd_now_ns() >= end)
			return ETIMEDOUT;
		/* At most the lazy tick's wait: timers keep the loop busy. */
		if (event_base_loop(tpd_base, EVLOOP_ONCE) < 0)
			return EIO;
	}
}

/* ------------------------------------------------- feeding one connection */

/* The peer's end of a fed connection: bytes still to write, and the sink. */
struct feed {
	int		f_fd;
	const uint8_t	*f_data;
	size_t		f_len;
	struct event	*f_rev;
	struct event	*f_wev;
	bool		f_eof;		/* the daemon closed its end */
};

static void
feed_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct feed *f = arg;
	ssize_t n;

	while (f->f_len > 0) {
		n = send(fd, f->f_data, f->f_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			f->f_data += n;
			f->f_len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		f->f_len = 0;	/* the daemon closed it: the rest is lost */
	}
	(void)event_del(f->f_wev);
	(void)shutdown(fd, SHUT_WR);
}

static void
feed_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct feed *f = arg;
	uint8_t sink[16384];
	ssize_t n;

	while ((n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
		continue;
	if (n == 0 ||
	    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)) {
		f->f_eof = true;
		(void)event_del(f->f_rev);
	}
}

int
tpd_daemon_feed(const uint8_t *data, size_t len, uid_t uid, gid_t gid,
    pid_t pid,
    unsigned int timeout_ms)
{
	uint64_t end = tpd_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct feed f = { -1, data, len, NULL, NULL, false };
	int sv[2], error = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) != 0)
		return errno;
	f.f_fd = sv[1];
	f.f_rev = event_new(tpd_base, sv[1], EV_READ | EV_PERSIST, feed_read_cb,
	    &f);
	f.f_wev = event_new(tpd_base, sv[1], EV_WRITE | EV_PERSIST,
	    feed_write_cb, &f);
	if (f.f_rev == NULL || f.f_wev == NULL ||
	    event_add(f.f_rev, NULL) != 0 ||
	    event_add(f.f_wev, NULL) != 0) {
		error = ENOMEM;
		(void)close(sv[0]);
		goto out;
	}
	/* sv[0] is the daemon's now, whatever happens. */
	if ((error = tpd_conn_attach(sv[0], uid, gid, pid, NULL)) != 0)
		goto out;
	/* Until the daemon has read everything and closed, and jobs ended. */
	while (!(f.f_eof && tpd_jobs_inflight() == 0) && !daemon_done) {
		if (tpd_now_ns() >= end) {
			error = ETIMEDOUT;
			break;
		}
		if (event_base_loop(tpd_base, EVLOOP_ONCE) < 0) {
			error = EIO;
			break;
		}
	}
out:
	if (f.f_rev != NULL)
		event_free(f.f_rev);
	if (f.f_wev != NULL)
		event_free(f.f_wev);
	(void)close(sv[1]);
	/* Let the daemon see the end of file if it had not. */
	if (error == ETIMEDOUT || error == 0)
		(void)tpd_daemon_run_until_idle(0);
	return error;
}

void
tpd_daemon_teardown(void)
{
	bool abandoned;

	tpd_gearman_join();
	tpd_listen_stop();
	tpd_metrics_http_stop();
	/* The last changes written and the last submits answered. */
	tpd_store_close();
	tpd_conn_free_all();
	tpd_jobs_free_all();
	tpd_msg_free();
	abandoned = tpd_jobs_any_abandoned();
	if (!abandoned)
		tpd_pools_put_all();
	tpd_plugins_unload_all();
	tpd_budget_free_all();
	if (daemon_grace_ev != NULL)
		event_free(daemon_grace_ev);
	if (daemon_drain_ev != NULL)
		event_free(daemon_drain_ev);
	if (daemon_idle_ev != NULL)
		event_free(daemon_idle_ev);
	if (daemon_tick_ev != NULL)
		event_free(daemon_tick_ev);
	daemon_tick_ev = NULL;
	if (daemon_notify_fd >= 0)
		(void)close(daemon_notify_fd);
	daemon_notify_fd = -1;
	daemon_grace_ev = daemon_drain_ev = daemon_idle_ev = NULL;
	if (tpd_base != NULL && !abandoned) {
		event_base_free(tpd_base);
		tpd_base = NULL;
	}
	daemon_stopping = daemon_draining = daemon_done = false;
}
