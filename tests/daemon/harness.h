/*
 * harness.h -- what the daemon's integration tests share: starting the real
 * tpoold built in this tree on a socket in a fresh temporary folder, with
 * the real example plugins (copied from the build's plugins/.libs), waiting
 * for its READY=1 on a notify socket the test binds, stopping it with
 * SIGTERM and checking that it exits 0; talking to it through the client
 * library or with raw frames; reading its log.
 *
 * Under valgrind: TPOOL_TEST_WRAPPER="valgrind --leak-check=full
 * --error-exitcode=99 --fair-sched=yes" (split at spaces) is put before
 * the daemon's command line, so a leak or an error makes td_stop() fail
 * the test.  Deadlines scale with CK_TIMEOUT_MULTIPLIER.
 *
 * A daemon a test leaves running (the test failed) is killed: it gets
 * SIGKILL when the test's process dies (PR_SET_PDEATHSIG), and the folder
 * is removed at exit.
 */
#ifndef TP_TESTS_DAEMON_HARNESS_H
#define TP_TESTS_DAEMON_HARNESS_H

#include <sys/types.h>

#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "tpclient.h"
#include "tpool.pb-c.h"

/* How long a test waits for something that must happen, in ms (scaled). */
unsigned int td_deadline_ms(void);
/* Check's case timeout for the daemon's tests, in seconds. */
#define	TD_CASE_TIMEOUT	60
/* Connections past --max-connections that are root's alone (tpoold(8));
 * the tests run as root. */
#define	TD_ROOT_RESERVE	8

struct td_daemon {
	pid_t		td_pid;			/* 0 when not running */
	char		td_dir[64];		/* mkdtemp'ed, 0755 */
	char		td_sock[96];		/* td_dir/tpoold.sock */
	char		td_plugins[96];		/* td_dir/plugins */
	char		td_log[96];		/* the daemon's stderr */
	char		td_notify[96];		/* td_dir/notify (NOTIFY_SOCKET) */
	int		td_notify_fd;
	int		td_status;		/* waitpid status once stopped */
	char		td_notified[1024];	/* the datagram td_wait_notify matched */
	unsigned int	td_nofile;		/* RLIMIT_NOFILE for the daemon, 0: as ours */
	bool		td_test_build;		/* run tests/daemon/tpoold-test */
	bool		td_stopping_seen;	/* td_stop read its STOPPING=1 */
};

/* Make the folder, its plugin folder (empty) and the notify socket. */
void	td_init(struct td_daemon *d);
/* Copy one plugin of the build into the plugin folder (mode 0755; the
 * daemon refuses links and group/other-writable files): "echo",
 * "sha256", ... (plugins/.libs) or a test plugin "probe", "bad-abi", ...
 * (tests/daemon/.libs).  dest may be NULL (same name). */
void	td_add_plugin(struct td_daemon *d, const char *name, const char *dest);
/* The build's file of plugin name (as td_add_plugin finds it). */
void	td_plugin_source(const char *name, char *buf, size_t len);
/* Copy src to dst (created or truncated) and give it mode. */
void	td_copy_file(const char *src, const char *dst, mode_t mode);
/* Link the four example plugins. */
void	td_add_example_plugins(struct td_daemon *d);
/*
 * The gate of the probe plugin's gate:PATH, a job that runs, deaf to
 * cancel requests, until the test opens the gate (d's folder's "gate"):
 * td_gate_input writes such a job's input, NUL-terminated, into buf;
 * td_gate_open creates the file (once).
 */
void	td_gate_input(const struct td_daemon *d, char *buf, size_t len);
void	td_gate_open(const struct td_daemon *d);
/*
 * Start tpoold -s SOCK -p PLUGINS -v plus args (NULL-terminated, may be
 * NULL), with prefix (NULL-terminated, may be NULL) before it (and before
 * the wrapper), and wait for READY=1.  Fails the test if it does not come.
 */
void	td_start(struct td_daemon *d, const char *const *prefix, const char *const *args);
/* td_init + example plugins + td_start(NULL, args). */
void	td_up(struct td_daemon *d, const char *const *args);
/*
 * For the next start only: a daemon that will exit with job threads still
 * running (abandoned after the grace period) keeps their stacks "possibly
 * lost" in valgrind's eyes; count only definite leaks as errors then.
 */
void	td_expect_running_threads_at_exit(void);
/* Run the daemon with args without waiting for anything; its pid. */
pid_t	td_spawn(struct td_daemon *d, const char *const *prefix, const char *const *args,
	    bool with_socket_args);
/*
 * Start tpoold -s SOCK -p PLUGINS -v plus args (may be NULL) expecting it
 * to refuse to start: it must exit within the deadline, with a status
 * other than 0 (returned).
 */
int	td_start_refused(struct td_daemon *d, const char *const *args);
/* Is systemd-socket-activate there?  If not, says the test is skipped. */
bool	td_have_socket_activate(void);
/* Wait for pid to exit (up to td_deadline_ms()); its status or -1. */
int	td_wait_exit(pid_t pid, unsigned int timeout_ms);
/* SIGTERM, wait, and assert it exited 0 (the log is printed if not); then
 * td_check_error_replies(). */
void	td_stop(struct td_daemon *d);
/*
 * Every Error the daemon sent a client is in its log (-v: "connection N
 * request N: ERROR_X: message"): assert that none names an internal path
 * or address (the test folder, the build tree, an absolute path of the
 * system's, "0x").  Returns how many it checked.
 */
unsigned int td_check_error_replies(const struct td_daemon *d);
/* Does an error message name a path or address?  (why: what it found) */
bool	td_message_leaks(const struct td_daemon *d, const char *msg, const char **ret_why);
/* Remove the folder; kill the daemon if it is still running. */
void	td_cleanup(struct td_daemon *d);
/* td_stop + td_cleanup. */
void	td_down(struct td_daemon *d);

/* Read the notify socket until a datagram contains needle. */
bool	td_wait_notify(struct td_daemon *d, const char *needle, unsigned int timeout_ms);
/* The daemon's log so far (malloc'ed, NUL-terminated). */
char	*td_log_read(const struct td_daemon *d);
bool	td_log_contains(const struct td_daemon *d, const char *needle);
/* Fail the test, printing the log, unless it contains needle. */
void	td_expect_log(const struct td_daemon *d, const char *needle);
/* Wait until the log contains needle. */
bool	td_log_wait(const struct td_daemon *d, const char *needle, unsigned int timeout_ms);

/* A client-library connection (fails the test if it cannot connect). */
struct tpc *td_connect(const struct td_daemon *d);

/*
 * Submit plugin on input (a string; NULL: none) with the defaults and
 * return the job id; an error fails the test.
 */
uint64_t td_submit(struct tpc *c, const char *plugin, const char *input);
/* Submit and wait for the job's end; the final JobInfo (free it). */
Tpool__JobInfo *td_run_job(struct tpc *c, const char *plugin, const char *input,
	    Tpool__PoolKind pool, int priority, int cpu);
/* Wait for a job's Event of kind (skipping its other events). */
Tpool__Event *td_wait_event(struct tpc *c, uint64_t job_id, Tpool__Event__KindCase kind);
/*
 * Submit n echo jobs at once (pipelined) and read until each has its
 * SubmitReply and has ended succeeded; returns how many Started events
 * came.
 */
unsigned int td_pipeline_echo(struct tpc *c, unsigned int n);
/* Poll status until job_id has a final state; its JobInfo (free it). */
Tpool__JobInfo *td_wait_final(struct tpc *c, uint64_t job_id);

/* Raw socket: connect, send bytes, send a framed message, read a frame. */
int	td_raw_connect(const struct td_daemon *d);
void	td_raw_write(int fd, const void *buf, size_t len);
void	td_raw_send(int fd, const ProtobufCMessage *msg);
/* The next ServerMessage, or NULL at end of file / timeout (*ret_eof says). */
Tpool__ServerMessage *td_raw_read(int fd, unsigned int timeout_ms, bool *ret_eof);
/*
 * Send msg, framed, again and again without reading anything, until the
 * daemon takes no more for 2 s or drops us, or max copies were sent; how
 * many were sent whole.
 */
unsigned int td_raw_flood(int fd, const ProtobufCMessage *msg, unsigned int max);
/* Read until the peer closes: true if it did within timeout_ms. */
bool	td_raw_wait_eof(int fd, unsigned int timeout_ms);
/* Read a Response and check it is an Error with code; frees it. */
void	td_raw_expect_error(int fd, Tpool__ErrorCode code);

/* Milliseconds (the clock: tu_now_ms() of clock.h). */
void	td_sleep_ms(unsigned int ms);
/*
 * May this process (and so a daemon it starts) raise a thread's priority:
 * nice below 0 (*ret_nice), real time (*ret_rt)?  Tried in children.
 */
void	td_may_raise(bool *ret_nice, bool *ret_rt);

/* Build-tree paths. */
const char *td_tpoold_path(void);
/* tpoold built with its test hooks (tests/daemon/tpoold-test). */
const char *td_tpoold_test_path(void);
const char *td_tpctl_path(void);

/* The runner's main: run suite s with Check, honouring CK_FORK. */
int	td_main(Suite *s);

#endif /* TP_TESTS_DAEMON_HARNESS_H */
