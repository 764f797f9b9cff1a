/*
 * main.c -- tpoold: options, signals, then the loop.  Everything else is
 * in libtpoold (daemon.c drives it), so tests and fuzz targets run the
 * same code without this file.
 *
 * Start: options (options.c), the test hooks of the environment (below),
 * the daemon (daemon.c: plugins, the completion queue, the socket), then
 * READY=1 to systemd.  Serve: the libevent loop runs every callback of the
 * daemon on this one thread.  Signals come in as loop events, read from a
 * signalfd: they are blocked in every thread (from the first line of
 * main(), so every thread started later inherits the mask), so none is
 * ever delivered to a pool's or a plugin's thread, and none waits for a
 * thread that happens to have it pending:
 *
 *	SIGHUP		read the options and the config file again (the
 *			settings that can change live are applied, the
 *			others named as needing a restart), then rescan the
 *			plugin directory.
 *	SIGTERM/SIGINT	stop (tpd_daemon_stop): close the socket, cancel every
 *			queued job (each reported cancelled), ask running jobs
 *			to stop, wait for them up to --shutdown-grace, report
 *			any still running as failed, write what is queued to
 *			clients, exit 0.  A second signal ends the grace period
 *			at once.
 *
 * Exit: when a job was abandoned (still running in its plugin after the
 * grace period), the process leaves with _exit(0): no atexit handler and
 * no destructor runs (the plugin is never dlclose'd, and its destructors
 * must not run under its own running code), and nothing the job's thread
 * may touch is freed.
 *
 * Test build only: compiled with -DTPOOLD_TESTING and linked with
 * libtp-test.la (tests/daemon/tpoold-test, never installed),
 * TPOOL_FAULT_THREAD_CREATE=N makes libtp's next N thread creations fail
 * (tp_test_fail_thread_create), as if the system were out of threads.  It
 * is read once, at start.  The installed tpoold has no such hook.
 */
#include "config.h"

#include <sys/signalfd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "grant.h"
#include "jobs.h"
#include "listen.h"
#include "log.h"
#include "options.h"
#include "plugin.h"
#include "safepath.h"
#ifdef TPOOLD_TESTING
#include "tp_test.h"
#endif

static sigset_t main_sigs;		/* SIGTERM, SIGINT, SIGHUP */
static int main_sig_fd = -1;		/* their signalfd */
static struct event *main_sig_ev;

static int main_argc;		/* for SIGHUP's second reading */
static char **main_argv;

/* SIGHUP: read the options and the config file again, apply what can
 * change live, say what needs a restart. */
static void
main_reload_config(void)
{
	struct tpd_options fresh;
	unsigned int n;

	memset(&fresh, 0, sizeof(fresh));
	if (tpd_options_load(&fresh, main_argc, main_argv) != 0) {
		tpd_err("SIGHUP: the configuration has errors (above); every "
		    "setting stays as it was");
		tpd_options_free(&fresh);
		return;
	}
	n = tpd_options_apply_reload(&tpd_opt, &fresh);
	tpd_notice("SIGHUP: configuration %s read again: %u setting%s "
	    "applied", fresh.o_config != NULL ? fresh.o_config : "(none)", n,
	    n == 1 ? "" : "s");
	tpd_options_free(&fresh);
}

static void
main_signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct signalfd_siginfo si;
	char why[32];

	(void)what;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (!tpd_daemon_stopping())
				main_reload_config();
			tpd_daemon_reload();
		} else {
			(void)snprintf(why, sizeof(why), "signal %u",
			    (unsigned int)si.ssi_signo);
			tpd_daemon_stop(why);
		}
	}
}

/* Block the signals tpoold handles, in this thread and every later one. */
static void
main_block_signals(void)
{
	(void)sigemptyset(&main_sigs);
	(void)sigaddset(&main_sigs, SIGTERM);
	(void)sigaddset(&main_sigs, SIGINT);
	(void)sigaddset(&main_sigs, SIGHUP);
	(void)pthread_sigmask(SIG_BLOCK, &main_sigs, NULL);
}

static int
main_signals(void)
{
	if ((main_sig_fd = signalfd(-1, &main_sigs, SFD_NONBLOCK |
	    SFD_CLOEXEC)) < 0) {
		tpd_err("cannot watch signals: signalfd: %s", strerror(errno));
		return errno;
	}
	main_sig_ev = event_new(tpd_base, main_sig_fd, EV_READ | EV_PERSIST,
	    main_signal_cb, NULL);
	if (main_sig_ev == NULL || event_add(main_sig_ev, NULL) != 0) {
		tpd_err("cannot watch signals");
		return ENOMEM;
	}
	return 0;
}

static void
main_signals_free(void)
{
	if (main_sig_ev != NULL)
		event_free(main_sig_ev);
	main_sig_ev = NULL;
	if (main_sig_fd >= 0)
		(void)close(main_sig_fd);
	main_sig_fd = -1;
}

#ifdef TPOOLD_TESTING
/* The environment's test hooks; 0, or 2 for a bad value (logged). */
static int
main_test_hooks(void)
{
	const char *v = getenv("TPOOL_FAULT_THREAD_CREATE");
	unsigned long n;
	char *end;

	if (v == NULL)
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n > 1000000) {
		tpd_err("TPOOL_FAULT_THREAD_CREATE: not a count: '%s'", v);
		return 2;
	}
	tp_test_fail_thread_create((unsigned int)n);
	tpd_warn("test hook: the next %lu thread creations will fail "
	    "(TPOOL_FAULT_THREAD_CREATE)", n);
	return 0;
}
#endif

/* Say who may ask for raised job priorities (--grant-priority). */
static void
main_log_grants(void)
{
	const struct tpd_grant *g;
	char what[32];
	size_t i;

	for (i = 0; i < tpd_opt.o_grants.gs_n; i++) {
		g = &tpd_opt.o_grants.gs_v[i];
		tpd_info("%s %u may ask for job priorities up to %d (%s)",
		    g->g_group ? "group" : "user", (unsigned int)g->g_id,
		    g->g_maxpri, tpd_grant_describe(g->g_maxpri, what,
		    sizeof(what)));
	}
}

/* A folder the daemon will use: there, and safe (safepath.h)?  0 or 1. */
static int
main_check_dir(const char *what, const char *dir)
{
	char why[512];
	int fd;

	if (tpd_safepath_opendir(dir, &fd, why, sizeof(why)) != 0) {
		tpd_err("%s %s: %s", what, dir, why);
		return 1;
	}
	(void)close(fd);
	return 0;
}

/*
 * --check-config: the options and the config file were read (each error
 * logged, and then we are not here); now the folders and programs they
 * name.  Says what it checked; the exit status.
 */
static int
main_check_config(void)
{
	int errors = 0;

	errors += main_check_dir("plugin directory", tpd_opt.o_plugin_dir);
	if (tpd_opt.o_state_dir != NULL)
		errors += main_check_dir("state directory",
		    tpd_opt.o_state_dir);
	if (access(tpd_opt.o_worker_program, X_OK) != 0) {
		if (tpd_opt.o_isolation == TPD_ISO_PROCESS ||
		    tpd_opt.o_plugin_confs.pcs_n > 0) {
			tpd_err("worker program %s: %s",
			    tpd_opt.o_worker_program,
			    strerror(errno));
			errors++;
		} else {
			tpd_warn(
			    "worker program %s: %s (needed only by plugins "
			    "of isolation process)", tpd_opt.o_worker_program,
			    strerror(errno));
		}
	}
	if (errors != 0) {
		(void)printf("tpoold: %d error%s in the configuration%s%s\n",
		    errors, errors == 1 ? "" : "s", tpd_opt.o_config != NULL ?
		    " of " : "",
		    tpd_opt.o_config != NULL ? tpd_opt.o_config : "");
		return 1;
	}
	(void)printf("tpoold: configuration OK (%s; plugins from %s%s%s)\n",
	    tpd_opt.o_config != NULL ? tpd_opt.o_config : "no config file",
	    tpd_opt.o_plugin_dir, tpd_opt.o_state_dir != NULL ?
	    ", job store in " : ", no job store", tpd_opt.o_state_dir != NULL ?
	    tpd_opt.o_state_dir : "");
	return 0;
}

int
main(int argc, char **argv)
{
	struct tpd_job_counts jc;
	int rc, error;

	main_block_signals();
	tpd_log_init();
	main_argc = argc;
	main_argv = argv;
	rc = tpd_options_load(&tpd_opt, argc, argv);
	if (rc != 0) {
		if (rc > 0 && tpd_opt.o_check_config)
			(void)printf("tpoold: the configuration has errors "
			    "(above)\n");
		tpd_options_free(&tpd_opt);
		return rc < 0 ? 0 : rc;
	}
	if (tpd_opt.o_check_config) {
		rc = main_check_config();
		tpd_options_free(&tpd_opt);
		return rc;
	}
	tpd_log_set_verbose(tpd_opt.o_verbose);
	/* A client that goes away must be a write error, not a signal. */
	(void)signal(SIGPIPE, SIG_IGN);
	/* A file-size limit makes a job store write fail (EFBIG: submits are
	 * refused), not the daemon die. */
	(void)signal(SIGXFSZ, SIG_IGN);
#ifdef TPOOLD_TESTING
	if ((rc = main_test_hooks()) != 0) {
		tpd_options_free(&tpd_opt);
		return rc;
	}
#endif

	if ((error = tpd_daemon_setup(true)) != 0 ||
	    (error = main_signals()) != 0) {
		(void)sd_notifyf(0, "STATUS=failed to start: %s\nERRNO=%d",
		    strerror(error), error);
		main_signals_free();
		tpd_daemon_teardown();
		tpd_options_free(&tpd_opt);
		return 1;
	}
	tpd_notice("%s %s ready: socket %s%s, %u plugins from %s", PACKAGE_NAME,
	    PACKAGE_VERSION, tpd_listen_path(),
	    tpd_listen_activated() ? " (from systemd)" : "",
	    tpd_plugins_count(),
	    tpd_opt.o_plugin_dir);
	main_log_grants();
	tpd_daemon_notify_status("READY=1\n");

	if (event_base_dispatch(tpd_base) < 0) {
		tpd_err("event loop failed");
		main_signals_free();
		tpd_daemon_teardown();
		tpd_options_free(&tpd_opt);
		return 1;
	}
	tpd_jobs_counts(&jc);
	tpd_notice("stopped: %llu jobs accepted, %llu succeeded, %llu failed, "
	    "%llu cancelled", (unsigned long long)jc.jc_accepted,
	    (unsigned long long)jc.jc_succeeded,
	    (unsigned long long)jc.jc_failed,
	    (unsigned long long)jc.jc_cancelled);
	main_signals_free();
	tpd_daemon_teardown();
	if (tpd_jobs_any_abandoned()) {
		/*
		 * A plugin still runs a job on a thread of ours: leave now,
		 * with no exit handlers and no destructors (the plugin's own
		 * among them, which must not run under its running code), and
		 * with everything that thread may touch still in place.
		 */
		tpd_notice("exiting with abandoned jobs still running in "
		    "their plugins");
		_exit(0);
	}
	tpd_options_free(&tpd_opt);
	return 0;
}
