/*
 * daemon.h -- the daemon's life without main() (daemon.c): main.c drives
 * it, and so may tests and fuzz targets (testing.h).  Layer: daemon
 * set-up, above everything but main.c: it wires the layers together,
 * handing each lower one the hooks through which it tells the one above.
 * Loop thread.  tpd_opt must be filled first (tpd_options_load(), or
 * tpd_options_defaults() and the fields a test wants).
 */
#ifndef TPD_DAEMON_H
#define TPD_DAEMON_H

#include <stdbool.h>

struct event_base;

/* The loop's event base (for main.c and tests). */
extern struct event_base *tpd_base;

/*
 * Create the event base, the job table, the completion queue, load the
 * plugins of tpd_opt.o_plugin_dir, and, when listen, take or bind the
 * socket.  0 or an errno (logged); after a failure call
 * tpd_daemon_teardown().  May sleep (plugins' tpp_init).
 */
int	tpd_daemon_setup(bool listen);
/*
 * Begin the shutdown (SIGTERM): stop accepting, cancel every queued job,
 * ask running ones to stop, wait up to --shutdown-grace for them, report
 * those still running as failed, write the last replies, then end the
 * loop.  Called again while waiting: stop waiting now.  why is for the
 * log.
 */
void	tpd_daemon_stop(const char *why);
/* SIGHUP: rescan the plugin directory.  May sleep (dlopen). */
void	tpd_daemon_reload(void);
/* Has the shutdown finished (the loop may end)? */
/* Has a stop begun (SIGTERM)? */
bool	tpd_daemon_stopping(void);
bool	tpd_daemon_done(void);
/* sd_notify state (e.g. "READY=1\n") with a STATUS= line. */
void	tpd_daemon_notify_status(const char *state);
/*
 * Free everything.  Jobs abandoned still running keep what their threads
 * use (their jobs, pools, plugins, the completion queue, the event base):
 * the process must exit after this then.  Otherwise the daemon may be set
 * up again.  May sleep (joins the pools' threads).
 */
void	tpd_daemon_teardown(void);

#endif /* TPD_DAEMON_H */
