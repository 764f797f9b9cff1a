/*
 * tpoold.h -- the daemon's internal interfaces: one section per file of
 * daemon/, each saying what that file owns.
 *
 * Threads.  One loop thread (libevent) owns the listening socket, every
 * connection, the job table, the plugin registry and the pools; nothing of
 * those is locked, because only the loop touches them.  libtp's worker
 * threads run jobs (run.c) and touch only their job, under the job's lock,
 * and the completion queue, under its lock.  See docs/architecture.md.
 *
 * Locks: only each job's own lock (j_lock); the completion queue is
 * lock-free.  Field markings used below:
 *	c  constant after the object is set up (before anyone else sees it)
 *	l  the loop thread only
 *	j  the job's lock (j_lock)
 *	q  the completion queue (run.c): written by the poster before it
 *	   publishes the job, read by the loop after it takes the queue
 *	a  atomic
 */
#ifndef TPOOLD_H
#define TPOOLD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include <threadpool.h>

#include "tpool.pb-c.h"
#include "names.h"
#include <tpool/plugin.h>

#ifndef TAILQ_FOREACH_SAFE
#define	TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

struct event_base;
struct event;
struct tpd_conn;
struct tpd_job;
struct tpd_plugin;
struct tpd_user;
struct tpd_watch;

#define	TPD_DEFAULT_SOCKET	"/run/tpool/tpoold.sock"

/* ------------------------------------------------------------ options.c */

/* Everything the command line and the config file can set.  Strings are
 * owned (strdup'ed), freed by tpd_options_free(). */
struct tpd_options {
	char		*o_socket;		/* -s: socket path */
	char		*o_plugin_dir;		/* -p */
	char		*o_config;		/* -c */
	int		o_verbose;		/* -v: debug logs */
	uint32_t	o_max_frame;		/* largest request frame body */
	uint32_t	o_max_jobs;		/* jobs in flight, all users */
	uint32_t	o_max_jobs_per_client;	/* jobs in flight of one uid */
	uint32_t	o_max_connections;
	uint32_t	o_max_threads;		/* per pool, 0 = unlimited */
	uint32_t	o_finished_keep;	/* finished jobs kept queryable */
	size_t		o_max_input;		/* bytes of a job's input */
	size_t		o_max_result;		/* bytes of a job's result */
	size_t		o_max_output;		/* bytes queued to one client */
	uint64_t	o_idle_timeout_ns;	/* 0: libtp's default */
	uint64_t	o_shutdown_grace_ns;
	uint64_t	o_finished_ttl_ns;
	uint64_t	o_read_timeout_ns;	/* a partial frame's life, 0 = none */
	mode_t		o_socket_mode;
	char		*o_socket_group;	/* NULL: the daemon's group */
};

/*
 * Fill *opt from the defaults, then the config file (-c), then the command
 * line (which wins).  Returns 0 to run, -1 when --help or --version was
 * handled (exit 0), or an exit status (2 for a usage error, already
 * reported on stderr).
 */
int	tpd_options_load(struct tpd_options *opt, int argc, char **argv);
/* Only the defaults (tests and fuzz targets; strings stay NULL). */
void	tpd_options_defaults(struct tpd_options *opt);
void	tpd_options_free(struct tpd_options *opt);

/* The daemon's options, read-only after startup (daemon.c holds them). */
extern struct tpd_options tpd_opt;

/* ---------------------------------------------------------------- log.c */

/* Log a line to stderr with its syslog priority as a "<N>" prefix, which
 * journald reads.  LOG_DEBUG only with -v (verbose 1); verbose -1 keeps
 * only LOG_ERR and worse.  Thread-safe (one write(2)). */
void	tpd_log(int prio, const char *fmt, ...) __attribute__((__format__(__printf__, 2, 3)));
void	tpd_logv(int prio, const char *fmt, va_list ap) __attribute__((__format__(__printf__, 2, 0)));
void	tpd_log_set_verbose(int verbose);
bool	tpd_log_debug_enabled(void);

#define	tpd_err(...)	tpd_log(LOG_ERR, __VA_ARGS__)
#define	tpd_warn(...)	tpd_log(LOG_WARNING, __VA_ARGS__)
#define	tpd_notice(...)	tpd_log(LOG_NOTICE, __VA_ARGS__)
#define	tpd_info(...)	tpd_log(LOG_INFO, __VA_ARGS__)
#define	tpd_debug(...)	do {						\
	if (tpd_log_debug_enabled())					\
		tpd_log(LOG_DEBUG, __VA_ARGS__);			\
} while (0)

/* ------------------------------------------------------------ daemon.c */

/*
 * The daemon's life without main(): main.c drives it, and so may tests and
 * fuzz targets.  tpd_opt must be filled first (tpd_options_load(), or
 * tpd_options_defaults() and the fields a test wants).
 */

/* The loop's event base (l). */
extern struct event_base *tpd_base;
/* When the daemon started (tpd_now_ns()). */
extern uint64_t tpd_start_ns;

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t tpd_now_ns(void);

/*
 * Create the event base, the job table, the completion queue, load the
 * plugins of tpd_opt.o_plugin_dir, and, when listen, take or bind the
 * socket.  0 or errno (logged); after a failure call tpd_daemon_teardown().
 */
int	tpd_daemon_setup(bool listen);
/*
 * Begin the shutdown (SIGTERM): stop accepting, cancel every queued job,
 * ask running ones to stop, wait up to --shutdown-grace for them, report
 * those still running as failed, write the last replies, then end the
 * loop.  Called again while waiting: stop waiting now.  why is for the log.
 */
void	tpd_daemon_stop(const char *why);
/* SIGHUP: rescan the plugin directory. */
void	tpd_daemon_reload(void);
/* Has the shutdown finished (the loop may end)? */
bool	tpd_daemon_done(void);
/* Is the daemon stopping (tpd_daemon_stop was called)?  (l) */
bool	tpd_stopping(void);
/* sd_notify state (e.g. "READY=1\n") with a STATUS= line. */
void	tpd_daemon_notify_status(const char *state);
/*
 * Free everything.  Jobs abandoned still running keep what their threads
 * use (their jobs, pools, plugins, the completion queue, the event base):
 * the process must exit after this then.  Otherwise the daemon may be set
 * up again.
 */
void	tpd_daemon_teardown(void);

/* jobs.c calls this when the last job in flight ends while stopping. */
void	tpd_daemon_jobs_idle(void);

/*
 * For tests and fuzzing.  These entry points run the daemon's real code
 * in-process, without main() or a listening socket:
 *
 *   tpd_options_defaults(&tpd_opt)	the defaults, before any setup;
 *					then set o_plugin_dir (strdup'ed) and
 *					any limit, and tpd_log_set_verbose(-1)
 *					to keep the log quiet
 *   tpd_daemon_setup(false)		the loop, job table, plugins; no socket
 *   tpd_request_check(body, len, ...)	decode and validate one Request body
 *					as the dispatcher does (no state, no
 *					I/O; needs only tpd_opt)
 *   tpd_conn_attach(fd, uid, gid, pid)	serve a connected socket (one end of
 *					a socketpair) as a client with those
 *					credentials
 *   tpd_daemon_feed(data, len, ...)	a whole connection's byte stream
 *					through the real read path, framing
 *					and dispatch: a socketpair, the bytes
 *					written (then end of file), replies
 *					read and dropped, until the daemon
 *					closed it and its jobs ended
 *   tpd_daemon_run_until_idle(ms)	run the loop until no connection is
 *					open and no job is in flight
 *   tpd_daemon_stop(why)		as SIGTERM; then run_until_idle
 *   tpd_daemon_teardown()		free everything; tpd_options_free()
 *
 * Each returns 0 or an errno; ETIMEDOUT when the time ran out.
 */
int	tpd_daemon_feed(const uint8_t *data, size_t len, uid_t uid, gid_t gid, pid_t pid,
	    unsigned int timeout_ms);
int	tpd_daemon_run_until_idle(unsigned int timeout_ms);

/* ------------------------------------------------------------ listen.c */

/*
 * Take the socket systemd passed (LISTEN_FDS), or bind one at
 * tpd_opt.o_socket; start accepting into tpd_conn_accept().  0 or errno
 * (logged here).
 */
int	tpd_listen_start(void);
/* Stop accepting and close the socket (unlinking it if we bound it). */
void	tpd_listen_stop(void);
/* Was the socket passed by systemd? */
bool	tpd_listen_activated(void);
/* A connection closed (a descriptor is free): resume a paused accept. */
void	tpd_listen_fd_freed(void);
/* Is accepting paused (out of descriptors)? */
bool	tpd_listen_paused(void);

/* -------------------------------------------------------------- conn.c */

/*
 * One client connection.  All fields l.  The input buffer holds at most one
 * partial frame (complete frames are handled as soon as they are read); the
 * output buffer holds encoded frames not yet written.
 */
struct tpd_conn {
	TAILQ_ENTRY(tpd_conn)	c_entry;	/* on the list of connections */
	TAILQ_ENTRY(tpd_conn)	c_flushent;	/* on the flush or the held list */
	int			c_fd;
	struct event		*c_rev;		/* readable */
	struct event		*c_wev;		/* writable (only while output waits) */
	uint64_t		c_id;		/* for logs */
	uid_t			c_uid;		/* SO_PEERCRED at accept */
	gid_t			c_gid;
	pid_t			c_pid;
	struct tpd_user		*c_user;	/* held: the peer's uid record */
	char			c_name[32];	/* Hello's client_name, for logs */

	uint8_t			*c_in;		/* partial frame */
	size_t			c_in_len;
	size_t			c_in_cap;
	uint64_t		c_in_since_ns;	/* when the partial frame began */
	struct event		*c_rto_ev;	/* --read-timeout (made on first use) */
	bool			c_rto_on;	/* c_rto_ev is pending */

	uint8_t			*c_out;		/* frames to write: [off, len) */
	size_t			c_out_off;
	size_t			c_out_len;
	size_t			c_out_cap;

	bool			c_flushq;	/* on the flush list */
	bool			c_heldq;	/* on the held list */
	bool			c_hold;		/* only SubmitReplies queued since the
						 *    last write: wait for their jobs */
	bool			c_closing;	/* close once output is written */
	bool			c_broken;	/* output dropped; close at flush */
	bool			c_dead;		/* closed; freed at the end of the callback */
	bool			c_read_paused;	/* too much output waiting */
	bool			c_wev_on;

	TAILQ_HEAD(, tpd_job)	c_jobs;		/* jobs it submitted, in flight */
	LIST_HEAD(, tpd_watch)	c_watches;	/* its watches and cancel waits */
};

/* Accept a connected socket from the listener (consumed). */
void	tpd_conn_accept(int fd);
/*
 * Serve fd (consumed, even on failure) as a client with these credentials
 * (tpd_conn_accept passes SO_PEERCRED's).  *ret_conn (may be NULL) is
 * valid until the connection closes.  0 or ENOMEM.
 */
int	tpd_conn_attach(int fd, uid_t uid, gid_t gid, pid_t pid, struct tpd_conn **ret_conn);
/*
 * Queue one ServerMessage to conn (encoded now, written at the end of the
 * current callback).  A dead connection ignores it; a connection whose
 * output passes --max-output is closed.
 */
void	tpd_conn_send(struct tpd_conn *conn, const Tpool__ServerMessage *msg);
/* Queue an already encoded frame (header included); as tpd_conn_send(). */
void	tpd_conn_send_frame(struct tpd_conn *conn, const uint8_t *frame, size_t len);
/*
 * A SubmitReply was just queued to conn: rather than write it alone, let
 * it wait (up to the lazy timer, TPD_CQ_LAZY_MS) for anything else to
 * conn, such as its job's end, so the client wakes once for both.
 */
void	tpd_conn_hold(struct tpd_conn *conn);
/* Write the held replies now (the lazy timer, shutdown). */
void	tpd_conn_release_held(void);
/* Send what is queued, then close (after a fatal error reply). */
void	tpd_conn_close_after_flush(struct tpd_conn *conn);
/* Write every connection's queued output now; free connections closed
 * during the callback.  Called at the end of each loop callback. */
void	tpd_conn_flush_all(void);
unsigned int tpd_conn_count(void);
/*
 * Shutdown: stop reading from every connection and call done() once every
 * output is written (or the connections are gone); done may run at once.
 */
void	tpd_conn_drain_all(void (*done)(void));
/* Close and free every connection (exit). */
void	tpd_conn_free_all(void);

/* ---------------------------------------------------------- dispatch.c */

/* Handle one frame's body from conn: unpack, validate, route to a req-*.c
 * handler. */
void	tpd_dispatch(struct tpd_conn *conn, const uint8_t *body, size_t len);
/*
 * Decode and validate one Request body exactly as tpd_dispatch does before
 * it calls a handler: 0 when a handler would be called; EBADMSG when the
 * bytes are not a Request (the connection would be closed); EINVAL when
 * validation fails.  On failure *ret_code is the error code the client
 * would get and why[] (may be NULL) its message.  Pure: reads tpd_opt only.
 */
int	tpd_request_check(const uint8_t *body, size_t len, Tpool__ErrorCode *ret_code,
	    char *why, size_t whylen);

/* Send conn the Response resp (its request_id is set here). */
void	tpd_reply(struct tpd_conn *conn, uint64_t request_id, Tpool__Response *resp);
/* Send conn an Error response. */
void	tpd_reply_error(struct tpd_conn *conn, uint64_t request_id,
	    Tpool__ErrorCode code, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 4, 5)));

/* One handler per request kind (req-*.c); the request is borrowed. */
typedef void tpd_req_fn(struct tpd_conn *conn, const Tpool__Request *req);
tpd_req_fn tpd_req_hello;
tpd_req_fn tpd_req_submit;
tpd_req_fn tpd_req_cancel;
tpd_req_fn tpd_req_status;
tpd_req_fn tpd_req_watch;
tpd_req_fn tpd_req_list_plugins;
tpd_req_fn tpd_req_stats;

/* ---------------------------------------------------------- validate.c */

/* Longest job name accepted (threads show the first 15 bytes). */
#define	TPD_JOB_NAME_MAX	255

/*
 * The checks of a request that need nothing but the request and tpd_opt:
 * true when it may go to its handler; else false with *ret_code and
 * why[] (may be NULL) set.  No I/O, no allocation.
 */
bool	tpd_request_validate(const Tpool__Request *req, Tpool__ErrorCode *ret_code,
	    char *why, size_t whylen);

/* -------------------------------------------------------------- jobs.c */

/* What the completion queue tells the loop about a job (bits). */
#define	TPD_NOTE_STARTED	0x1u
#define	TPD_NOTE_PROGRESS	0x2u
#define	TPD_NOTE_FINISHED	0x4u

/*
 * A job: one heap object, holding libtp's job, its lock, and its input and
 * name in the same allocation.  Created by the loop on submit; run by a
 * worker (run.c); finalized by the loop when the worker's FINISHED note
 * arrives (or at once when cancelled before it ran); freed by the loop when
 * it is forgotten (finished-keep / finished-ttl) or at exit.
 */
struct tpd_job {
	struct threadpool_job	j_tpjob;	/* j: libtp's part */
	pthread_mutex_t		j_lock;		/* the job lock */

	uint64_t		j_id;		/* c */
	uid_t			j_uid;		/* c: owner */
	struct tpd_plugin	*j_plugin;	/* l: held until finalized, then NULL
						 *    (its worker reads it before) */
	const char		*j_plugin_name;	/* c: in this allocation */
	struct threadpool	*j_pool;	/* c: where it was scheduled */
	Tpool__PoolKind		j_pool_kind;	/* c */
	int			j_pri;		/* c */
	int			j_cpu;		/* c: the per-CPU pool's CPU, -1 */
	uint64_t		j_submit_ns;	/* c */
	const uint8_t		*j_input;	/* c: in this allocation */
	size_t			j_input_len;	/* c */
	char			*j_name;	/* c: in this allocation */

	Tpool__JobState		j_state;	/* j */
	uint64_t		j_start_ns;	/* j: 0 until it runs */
	uint64_t		j_end_ns;	/* j */
	uint64_t		j_cpu_ns;	/* j */
	int			j_ran_on_cpu;	/* j: -1 until it runs */
	unsigned int		j_progress;	/* j: percent */
	char			j_progress_msg[TP_PLUGIN_PROGRESS_MSG_MAX]; /* j */
	uint8_t			*j_result;	/* j: set once, when final */
	size_t			j_result_len;	/* j */
	char			*j_message;	/* j: set once, when final */

	atomic_bool		j_cancel;	/* a: cancel requested */

	struct tpd_job		*j_cqnext;	/* q: next on the completion queue */
	atomic_uint		j_cqbits;	/* a: TPD_NOTE_* not yet seen; not 0
						 *    while on the completion queue */

	LIST_ENTRY(tpd_job)	j_hashent;	/* l: job table */
	TAILQ_ENTRY(tpd_job)	j_userent;	/* l: its user's jobs */
	TAILQ_ENTRY(tpd_job)	j_listent;	/* l: in-flight or finished list */
	TAILQ_ENTRY(tpd_job)	j_connent;	/* l: its submitter's jobs */
	struct tpd_conn		*j_conn;	/* l: submitter, NULL once gone */
	struct tpd_user		*j_user;	/* l: held */
	LIST_HEAD(, tpd_watch)	j_watches;	/* l: watchers, cancel waiters */
	uint64_t		j_final_ns;	/* l: when the loop finalized it */
	bool			j_final;	/* l: finalized (finished event sent) */
	bool			j_abandoned;	/* l: still running at exit */
	bool			j_scheduled;	/* l: handed to libtp */

	/* input bytes, the name, the plugin's name follow */
};

/*
 * A connection's interest in a job: a watch (events) or a cancel --wait
 * (one reply when the job ends).  On both the job's and the connection's
 * lists; freed when either goes away or the job ends.  All fields l.
 */
struct tpd_watch {
	LIST_ENTRY(tpd_watch)	w_jobent;
	LIST_ENTRY(tpd_watch)	w_connent;
	struct tpd_job		*w_job;
	struct tpd_conn		*w_conn;
	uint64_t		w_request_id;	/* cancel --wait: its request */
	bool			w_cancel_wait;
	Tpool__CancelResult	w_cancel_result;
};

/* A peer uid's record: its jobs and its count in flight.  All fields l. */
struct tpd_user {
	LIST_ENTRY(tpd_user)	u_entry;
	uid_t			u_uid;
	unsigned int		u_refs;		/* connections + jobs */
	unsigned int		u_inflight;
	TAILQ_HEAD(job_tailq_head, tpd_job) u_jobs; /* all its known jobs, oldest first */
};

/* Daemon-wide counters (l). */
struct tpd_counters {
	uint64_t	tc_accepted;
	uint64_t	tc_succeeded;
	uint64_t	tc_failed;
	uint64_t	tc_cancelled;
	uint32_t	tc_inflight;
};
extern struct tpd_counters tpd_counters;

int	tpd_jobs_init(void);
struct tpd_user *tpd_user_hold(uid_t uid);	/* NULL: no memory */
void	tpd_user_rele(struct tpd_user *user);

/*
 * Create a job (not yet scheduled) and enter it in the table: the caller
 * has checked the plugin, pool and limits.  input is copied.  0 or ENOMEM.
 */
int	tpd_job_create(struct tpd_conn *conn, struct tpd_plugin *plugin,
	    const uint8_t *input, size_t input_len, const char *name,
	    Tpool__PoolKind kind, int pri, int cpu, struct threadpool *pool,
	    struct tpd_job **ret_job);
/* Hand a created job to its pool. */
void	tpd_job_schedule(struct tpd_job *job);
struct tpd_job *tpd_job_lookup(uint64_t id);
/* May the peer of conn see and cancel job? (its owner, or root) */
bool	tpd_job_visible(const struct tpd_job *job, const struct tpd_conn *conn);

/*
 * Fill info from job (strings and bytes borrowed from the job: valid until
 * the job is freed).  The result is included when with_result.
 */
void	tpd_job_info(struct tpd_job *job, Tpool__JobInfo *info, bool with_result);

/*
 * Cancel as the seed does, under the job lock: BEFORE_RUN (finalized as
 * cancelled now, with message), TOO_LATE (the plugin is told), or
 * ALREADY_FINISHED.
 */
Tpool__CancelResult tpd_job_cancel(struct tpd_job *job, const char *why);

/* Add a watch / cancel-wait of conn on job.  0 or ENOMEM. */
int	tpd_job_watch(struct tpd_job *job, struct tpd_conn *conn, bool cancel_wait,
	    uint64_t request_id, Tpool__CancelResult cancel_result);
/* Is conn already getting job's events (submitter or watcher)? */
bool	tpd_job_has_listener(const struct tpd_job *job, const struct tpd_conn *conn);

/* Jobs scheduled since the last call, and the recent submit-to-end
 * time (an average), for tpd_cq_spin_for_ends(). */
unsigned int tpd_jobs_take_fresh(uint64_t *ret_recent_ns);

/* The completion queue delivers a job's notes here (loop). */
void	tpd_job_notes(struct tpd_job *job, unsigned int bits);

/* conn is closing: drop its links to jobs (the jobs go on). */
void	tpd_jobs_conn_gone(struct tpd_conn *conn);

/* Shutdown: cancel every queued job, ask running ones to stop. */
void	tpd_jobs_stop_all(void);
/* Shutdown grace over: report every job still running as failed. */
void	tpd_jobs_abandon_running(void);
/* Exit: free every job (those abandoned are left to the exit). */
void	tpd_jobs_free_all(void);
/* Were jobs abandoned (so pools and plugins must not be freed)? */
bool	tpd_jobs_any_abandoned(void);

/* --------------------------------------------------------------- run.c */

/* The completion queue (lock-free list + eventfd), drained by the loop in
 * batches. */
int	tpd_cq_init(void);
void	tpd_cq_destroy(void);
/*
 * From any thread: tell the loop about job (bits ORed in).  FINISHED wakes
 * the loop; STARTED and PROGRESS wait for the next wakeup or for the
 * loop's lazy timer (TPD_CQ_LAZY_MS), so a short job costs one wakeup.
 */
void	tpd_cq_post(struct tpd_job *job, unsigned int bits);
/* Jobs are in flight: run the lazy timer (or stop it). */
void	tpd_cq_lazy_timer(bool on);
/*
 * Called at the end of a read callback that scheduled jobs: when recent
 * jobs ended within a few tens of microseconds, wait that long for their
 * ends (yielding the CPU) so that each reply leaves with its job's events
 * in one write and the loop skips a sleep and a wakeup.
 */
void	tpd_cq_spin_for_ends(void);
#define	TPD_CQ_LAZY_MS		5

/* The libtp job function: runs the plugin on a worker thread. */
void	tpd_job_run(struct threadpool_job *tpjob);

/* ------------------------------------------------------------- pools.c */

/*
 * The pool a submit goes to, taken lazily (one reference per priority kept
 * until exit).  For POOL_PERCPU, *cpu is the CPU asked for, or -1 (any: the
 * daemon picks) and is set to the CPU chosen.  0, EINVAL (priority), EPERM
 * (priority not permitted), ENOENT (CPU not in the set), or another errno.
 */
int	tpd_pool_get(Tpool__PoolKind kind, int pri, int *cpu, struct threadpool **ret_pool);
/* Append a PoolStats for each pool in use (array allocated; free with
 * tpd_pool_stats_free()). */
int	tpd_pool_stats(Tpool__PoolStats ***ret_stats, size_t *ret_n);
void	tpd_pool_stats_free(Tpool__PoolStats **stats, size_t n);
/* Drop every pool reference (exit; no job may be queued or running). */
void	tpd_pools_put_all(void);

/* ------------------------------------------------------------ plugin.c */

/* A loaded plugin.  All fields l (the worker reads p_desc/p_data, which are
 * c, while it holds a job that holds the plugin). */
struct tpd_plugin {
	TAILQ_ENTRY(tpd_plugin)	p_entry;	/* on the loaded or retired list */
	const struct tp_plugin	*p_desc;	/* c */
	void			*p_data;	/* c: what tpp_init returned */
	void			*p_handle;	/* c: dlopen's */
	char			*p_file;	/* c: file name in the directory */
	dev_t			p_dev;		/* c: file identity, for rescans */
	ino_t			p_ino;
	int64_t			p_mtime_ns;
	unsigned int		p_refs;		/* registry + each job */
	bool			p_active;	/* in the registry (new jobs) */
	bool			p_seen;		/* rescan: file still there */
};

/* Load every plugin of tpd_opt.o_plugin_dir not loaded yet, and retire
 * those whose file is gone or changed.  Errors are logged. */
void	tpd_plugins_scan(void);
struct tpd_plugin *tpd_plugin_lookup(const char *name);
/* Is name a valid plugin name (1 to TP_PLUGIN_NAME_MAX of A-Z a-z 0-9 _ . -)? */
bool	tpd_plugin_name_ok(const char *name);
void	tpd_plugin_hold(struct tpd_plugin *plugin);
void	tpd_plugin_rele(struct tpd_plugin *plugin);
/* Visit each active plugin in name order of loading. */
void	tpd_plugins_foreach(void (*fn)(struct tpd_plugin *, void *), void *arg);
unsigned int tpd_plugins_count(void);
/* Exit: unload every plugin no job holds. */
void	tpd_plugins_unload_all(void);

#endif /* TPOOLD_H */
