/*
 * tpclient.h -- a small blocking client library for tpoold.
 *
 * One struct tpc is one connection to the daemon's Unix socket, speaking
 * the protocol of docs/protocol.md (4-byte big-endian length, then one
 * protobuf message; Request up, ServerMessage down).  tpctl, the daemon's
 * integration tests and the benchmarks are built on it.  Installed as
 * <tpool/tpclient.h> (with tpool.pb-c.h and names.h beside it), libtpclient
 * and tpclient.pc; the manual is tpclient(3).
 *
 * How it works:
 *
 *	tpc_submit() ... tpc_stats()      one request, wait for its response
 *	        |                               ^
 *	        v                               |
 *	   write buffer --flush--> socket --> read buffer --frames--> queue
 *	        ^                                                      |
 *	tpc_send_*() (pipelined,          tpc_read_message(), tpc_next_event(),
 *	 buffered until a flush)          tpc_wait_job(), tpc_wait_response()
 *
 * Every frame the daemon sends goes into one in-order queue of messages.
 * A blocking request takes its own response out of the queue (matched by
 * request_id) and leaves everything else there: events that arrive while
 * a request waits are not lost, and neither are responses to pipelined
 * requests.  While the library writes it also reads, so a daemon that
 * answers faster than we send can never deadlock us.  A message is
 * unpacked when it is handed over (routing reads its ids off the bytes):
 * tpc_submit() unpacks no reply, and tpc_wait_job() without a callback
 * none of the job's events but its JobFinished.
 *
 * Errors: every function that can fail returns 0 or a positive errno value.
 *	TPC_EDAEMON	the daemon answered the request with an Error; its code
 *			and message are in tpc_last_error().
 *	ETIMEDOUT	the call took longer than tpc_set_timeout() allows.  The
 *			connection stays usable: bytes not yet sent stay queued;
 *			the late response to a blocking request is dropped when
 *			it comes, a pipelined one's stays for a later wait.
 *	ECONNRESET	the daemon closed the connection (EPIPE: a write
 *			found it closed).
 *	EPROTO		the daemon sent a frame that is not a ServerMessage
 *			(fatal: when it arrives, or, when only its insides do
 *			not unpack, when it is handed over; one that is never
 *			handed over, such as an event tpc_wait_job() steps
 *			over, is dropped unread), or answered with a response
 *			of the wrong kind (that response is dropped; the
 *			connection goes on).
 *	EMSGSIZE	a frame from the daemon over tpc_set_max_frame()
 *			(refused from its header, before any of it is
 *			buffered: fatal), or a request bigger than the
 *			daemon's limit (not sent).
 *	EPROTONOSUPPORT	the daemon speaks another protocol version.
 *	ENOMEM, and the errors of socket(2)/connect(2) (ENOENT, ECONNREFUSED,
 *	EACCES, ENAMETOOLONG for a path too long for a Unix socket, ...).
 * After a fatal error, ECONNRESET or EPIPE, messages already queued can still
 * be read; then every call fails the same way, and the caller should
 * tpc_free() the connection.  The library never logs and never exits; it
 * never raises SIGPIPE (MSG_NOSIGNAL).
 *
 * Memory: every message pointer returned through a ret_ parameter belongs
 * to the caller, who frees it with the protobuf-c function of its type,
 * named in each comment (e.g. tpool__submit_reply__free_unpacked(r, NULL));
 * each is independent of any other message.  Pointers passed in are
 * borrowed for the duration of the call.  On failure ret_ parameters are
 * left untouched.
 *
 * Threads: a struct tpc is not locked; use it from one thread at a time.
 */
#ifndef TP_CLIENT_H
#define TP_CLIENT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpool.pb-c.h"
#include "names.h"

/* The system socket, used when no path is given and TPOOL_SOCKET is unset. */
#define	TPC_DEFAULT_SOCKET	"/run/tpool/tpoold.sock"
/* The environment variable that names the socket. */
#define	TPC_SOCKET_ENV		"TPOOL_SOCKET"
/* The largest frame accepted from the daemon unless tpc_set_max_frame(). */
#define	TPC_MAX_FRAME_DEFAULT	(16u << 20)	/* 16 MiB */
/* Returned when the daemon answered with an Error (see tpc_last_error()). */
#define	TPC_EDAEMON		EREMOTEIO

struct tpc;

/*
 * Called by tpc_wait_job() for each event of the awaited job that is not
 * its JobFinished (JobStarted, JobProgress).  The event is borrowed.
 */
typedef void tpc_event_fn(const Tpool__Event *ev, void *arg);

/* ------------------------------------------------------------ connection */

/*
 * The socket path a NULL path stands for: $TPOOL_SOCKET when set and not
 * empty, else TPC_DEFAULT_SOCKET.  The string is borrowed.
 */
const char *tpc_default_path(void);

/*
 * Connect to the daemon at path (NULL: tpc_default_path()) and say Hello
 * with PROTOCOL_VERSION_CURRENT.  On success *ret_c is a connection ready
 * for requests; free it with tpc_free().  May sleep.  A daemon that refuses
 * the Hello gives TPC_EDAEMON, but the connection and its tpc_last_error()
 * are gone by then: use tpc_open() + tpc_hello() to read them.
 */
int	tpc_connect(const char *path, struct tpc **ret_c);

/* Connect without saying Hello (for tests of the daemon's handshake). */
int	tpc_open(const char *path, struct tpc **ret_c);

/*
 * Make a connection of a connected stream socket; the fd is consumed (closed
 * by tpc_free(), and on failure).  No Hello is sent.  For tests: one end of
 * a socketpair.
 */
int	tpc_attach(int fd, struct tpc **ret_c);

/*
 * Say Hello (client_name may be NULL) and check the daemon's version.  The
 * reply's max_frame becomes the limit on requests we send.  *ret_reply (may
 * be NULL): free with tpool__hello_reply__free_unpacked(r, NULL).
 */
int	tpc_hello(struct tpc *c, const char *client_name,
	    Tpool__HelloReply **ret_reply);

/* Close and free a connection and everything queued in it.  NULL is fine. */
void	tpc_free(struct tpc *c);

/* The socket, borrowed (e.g. for poll(2) or to write hostile bytes). */
int	tpc_fd(const struct tpc *c);

/*
 * Bound each later call (its whole wait, not each byte) to ms milliseconds;
 * -1 (the default) waits forever.  EINVAL below -1.
 */
int	tpc_set_timeout(struct tpc *c, int ms);

/*
 * Refuse frames from the daemon longer than max bytes (body only; at least
 * 64).  Default TPC_MAX_FRAME_DEFAULT.
 */
int	tpc_set_max_frame(struct tpc *c, uint32_t max);

/*
 * The daemon's last Error: its code (TPOOL__ERROR_CODE__ERROR_UNSPECIFIED if
 * none yet) and, through ret_message when not NULL, its message (borrowed
 * until the next call on c; never NULL).
 */
Tpool__ErrorCode tpc_last_error(const struct tpc *c, const char **ret_message);

/* strerror(3), and "daemon answered an error" for TPC_EDAEMON (static). */
const char *tpc_strerror(int error);

/* ------------------------------------------------------- requests, blocking */

/*
 * Each of these sends one request with a fresh request_id, flushes, and
 * waits for its response, which must carry the body the request is
 * answered with (else EPROTO).  Events and other responses that arrive
 * meanwhile are queued for tpc_next_event() / tpc_read_message().  May
 * sleep.
 */

/*
 * What to submit.  Start from TPC_SUBMIT_ARGS_INIT (the defaults: the
 * shared unbound pool, no priority, any CPU) and set what differs:
 *
 *	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
 *
 *	a.tsa_plugin = "echo";
 *	a.tsa_input = "hi";
 *	a.tsa_input_len = 2;
 *	error = tpc_submit(c, &a, &job);
 *
 * The strings and bytes are borrowed for the duration of the call.
 */
struct tpc_submit_args {
	const char	*tsa_plugin;	/* a loaded plugin's name */
	const void	*tsa_input;	/* NULL when tsa_input_len is 0 */
	size_t		tsa_input_len;
	const char	*tsa_name;	/* the job's; NULL: the plugin's name */
	Tpool__PoolKind	tsa_pool;	/* default: POOL_UNBOUND */
	int		tsa_priority;	/* -1 (default): TP_PRI_NONE */
	int		tsa_cpu;	/* POOL_PERCPU's; -1 (default): any */
	uint64_t	tsa_deadline_ms; /* start within it, or expire; 0:
					 * none (default) */
	uint64_t	tsa_timeout_ms;	/* run at most this long; 0: the
					 * plugin's default (default) */
	uint64_t	tsa_delay_ms;	/* queue it only this long after the
					 * submit (scheduled until then);
					 * 0: at once (default) */
	const char	*tsa_unique_key; /* while a job of the caller's with
					 * this key is in flight, its id is
					 * the answer; NULL: none (default) */
	int		tsa_retries;	/* runs after the first, when it
					 * fails; -1 (default): the plugin's */
};
/* The defaults, as designated initialisers (the fields not named are 0). */
#define	TPC_SUBMIT_ARGS_DEFAULTS					\
	.tsa_pool = TPOOL__POOL_KIND__POOL_UNBOUND,			\
	.tsa_priority = -1,						\
	.tsa_cpu = -1,							\
	.tsa_retries = -1
#define	TPC_SUBMIT_ARGS_INIT	{ TPC_SUBMIT_ARGS_DEFAULTS }

/*
 * A pointer to the arguments of a submit that names only its plugin and
 * input, the rest default, in one expression (a compound literal of the
 * enclosing block):  tpc_submit(c, TPC_SUBMIT_ARGS("echo", "hi", 2), &job)
 */
#define	TPC_SUBMIT_ARGS(plugin, input, input_len)			\
	(&(const struct tpc_submit_args){ .tsa_plugin = (plugin),	\
	    .tsa_input = (input), .tsa_input_len = (input_len),		\
	    TPC_SUBMIT_ARGS_DEFAULTS })

/* Submit a job.  *ret_job_id: the daemon's job id. */
int	tpc_submit(struct tpc *c, const struct tpc_submit_args *args,
	    uint64_t *ret_job_id);
/*
 * The same, with the whole reply (its job id, and whether a unique key
 * found a job already in flight: existing).  Free *ret_reply with
 * tpool__submit_reply__free_unpacked(r, NULL).
 */
int	tpc_submit_reply(struct tpc *c, const struct tpc_submit_args *args,
	    Tpool__SubmitReply **ret_reply);

/*
 * Cancel a job; with wait the daemon answers only once it is not running.
 * Free *ret_reply with tpool__cancel_reply__free_unpacked(r, NULL).
 */
int	tpc_cancel(struct tpc *c, uint64_t job_id, bool wait,
	    Tpool__CancelReply **ret_reply);

/*
 * Status of one job, or a list: of the caller's jobs, or of every user's
 * jobs (root only: anyone else gets ERROR_PERMISSION).  A list comes in
 * pages of at most 1000 jobs, newest first (oldest first within a page):
 * tpc_status_all and tpc_status_all_users return the first page;
 * tpc_status_page the one below before_id (0: the first), of limit jobs
 * (0: the daemon's most, 1000).  A reply with has_more_before has older
 * jobs left: ask for the page below more_before.  Free *ret_reply with
 * tpool__status_reply__free_unpacked(r, NULL).
 */
int	tpc_status(struct tpc *c, uint64_t job_id,
	    Tpool__StatusReply **ret_reply);
int	tpc_status_all(struct tpc *c, Tpool__StatusReply **ret_reply);
int	tpc_status_all_users(struct tpc *c, Tpool__StatusReply **ret_reply);
int	tpc_status_page(struct tpc *c, bool all_users, uint64_t before_id,
	    uint32_t limit, Tpool__StatusReply **ret_reply);

/*
 * Ask for the events of a job (someone else's submit, or ours again).
 * *ret_reply (may be NULL) holds the job as it is now: free with
 * tpool__watch_reply__free_unpacked(r, NULL).
 */
int	tpc_watch(struct tpc *c, uint64_t job_id,
	    Tpool__WatchReply **ret_reply);

/* Free *ret_list with tpool__plugin_list__free_unpacked(l, NULL). */
int	tpc_list_plugins(struct tpc *c, Tpool__PluginList **ret_list);

/* Free *ret_stats with tpool__stats_reply__free_unpacked(s, NULL). */
int	tpc_stats(struct tpc *c, Tpool__StatsReply **ret_stats);

/*
 * The daemon's metrics in Prometheus's text format (text).  Free
 * *ret_metrics with tpool__metrics_reply__free_unpacked(m, NULL).
 */
int	tpc_metrics(struct tpc *c, Tpool__MetricsReply **ret_metrics);

/*
 * Any request: req's body is sent with a fresh request_id (req->request_id is
 * overwritten; req is otherwise borrowed).  *ret_resp is the whole Response,
 * which may hold an Error (then TPC_EDAEMON is returned and *ret_resp is
 * still set when ret_resp is not NULL).  Free it with
 * tpool__response__free_unpacked(r, NULL).
 */
int	tpc_request(struct tpc *c, Tpool__Request *req,
	    Tpool__Response **ret_resp);

/* ---------------------------------------------------------------- events */

/*
 * The next event, queued or from the wire (responses that arrive meanwhile
 * stay queued).  Free *ret_ev with tpool__event__free_unpacked(e, NULL).
 */
int	tpc_next_event(struct tpc *c, Tpool__Event **ret_ev);

/*
 * Wait for the JobFinished of job_id (it may already be queued).  Its other
 * events go to fn (may be NULL) in order; events of other jobs stay queued.
 * *ret_final (may be NULL) is the job's final JobInfo: free with
 * tpool__job_info__free_unpacked(j, NULL).  The caller must be entitled to
 * the job's events (its submitter, or a tpc_watch() on it), or this waits
 * until the timeout.
 */
int	tpc_wait_job(struct tpc *c, uint64_t job_id, Tpool__JobInfo **ret_final,
	    tpc_event_fn *fn, void *arg);

/* --------------------------------------------------------------- pipelined */

/*
 * Queue a Submit without waiting; *ret_request_id (may be NULL) is the id its
 * response will carry.  Frames are buffered and written when the buffer
 * passes 64 KiB, on tpc_flush(), or when any call waits for the daemon.
 */
int	tpc_send_submit(struct tpc *c, const struct tpc_submit_args *args,
	    uint64_t *ret_request_id);

/*
 * Fill req and s as tpc_submit() sends them (req's body is s; its
 * request_id is left alone): for clients that write raw frames.  The
 * strings and bytes of args are borrowed by s for as long as it is used.
 */
void	tpc_fill_submit(Tpool__Request *req, Tpool__Submit *s,
	    const struct tpc_submit_args *args);

/* Queue any request (req->request_id is overwritten); as tpc_send_submit. */
int	tpc_send_request(struct tpc *c, Tpool__Request *req,
	    uint64_t *ret_request_id);

/* Write everything queued.  May sleep. */
int	tpc_flush(struct tpc *c);

/*
 * The next message in arrival order, queued or from the wire (flushes
 * first).  Free *ret_msg with tpool__server_message__free_unpacked(m, NULL).
 */
int	tpc_read_message(struct tpc *c, Tpool__ServerMessage **ret_msg);

/*
 * Wait for the response to request_id (from tpc_send_*()).  As tpc_request():
 * TPC_EDAEMON when it is an Error, with *ret_resp set all the same.
 */
int	tpc_wait_response(struct tpc *c, uint64_t request_id,
	    Tpool__Response **ret_resp);

/* How many messages are queued, unread. */
size_t	tpc_pending(const struct tpc *c);

#endif /* TP_CLIENT_H */
