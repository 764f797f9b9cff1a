/*
 * fuzz_conn.c -- libFuzzer target for a whole connection's byte stream fed
 * to the daemon's real read path, framing, dispatch, handlers, job table,
 * pools and plugins, in this process (libtpoold's entry points for tests
 * and fuzzing, daemon/testing.h).
 *
 * An input is read as
 *
 *	[flags: 1][nsplit: 1][chunk sizes: nsplit % 16][stream...]
 *
 * For each input the daemon is set up from scratch (the defaults with small
 * limits, see conn_options(), and the example plugins echo, fail and sha256
 * copied into a private folder; sleep is left out so that no input waits),
 * one or two connections are attached through socketpairs, the stream is
 * written chunk by chunk (the daemon reads each chunk on its own: the
 * fuzzer picks the split points), the daemon is stopped as SIGTERM does and
 * run until it has drained and closed every connection, and everything is
 * torn down, so nothing of one input survives to the next but the plugins'
 * mappings (each is dlopen'ed once for the run, see LLVMFuzzerInitialize);
 * job ids start at 1 in every set-up, so "job 1" is the input's first
 * submit.  The flags:
 *
 *	0x01	half-close (shutdown SHUT_WR) each connection after its stream,
 *		and let the daemon see that (up to CONN_QUIET_MS)
 *	0x02	close each connection at once after its stream (reading nothing
 *		more)
 *	0x04	the first connection's peer is uid 1000, not root
 *	0x08	two connections: the chunks alternate between them, so each
 *		gets every other chunk as its stream
 *	0x10	the second connection's peer is root, not uid 1001
 *	0x20	before stopping, wait (up to CONN_QUIET_MS) for the jobs to end
 *
 * The client side reads everything the daemon sends and checks what the
 * protocol promises (a violation traps):
 *   - every frame is a ServerMessage: a Response with a request_id and a
 *     body, or an Event with a job id and a kind; no Error message names
 *     the plugin folder;
 *   - on a connection the daemon read to the end, every request frame the
 *     daemon took got exactly one Response with its request_id (up to the
 *     first frame after which the protocol says it closes: bytes that are
 *     not a Request, a length over the limit, a Hello of another version),
 *     and nothing else got one; a client that half-closed its end but reads
 *     on, or that the daemon closed after such a frame, is owed the same but
 *     for a Cancel that waits for its job's end;
 *   - a job's events come after its SubmitReply (or WatchReply), at most
 *     one JobFinished per job and connection, with a final state; a
 *     connection that stayed open to the end got exactly one JobFinished
 *     for each job it submitted and each it watched before it ended;
 *   - a client that is not root is shown only its own jobs (every JobInfo
 *     it gets, in Status, Watch and Cancel replies and JobFinished events,
 *     has its uid); a job's owner is its submitter, whoever looks;
 *   - a job whose cancel was answered CANCEL_BEFORE_RUN never started (no
 *     JobStarted anywhere, JobFinished says cancelled and never ran);
 *   - the daemon reads what it is sent, stops, drains and closes within
 *     its deadlines, and abandons no job (every plugin here honours
 *     cancellation well within the shutdown grace period).
 *
 * (Over 800 lines: the set-up, the client side and every promise above are
 * checked against one record of what the clients sent and saw
 * (conn_clients, conn_jobs), and each fuzz target here is built from one
 * file.)
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "frame.h"
#include "names.h"
#include "testing.h"

#ifndef FUZZ_BUILDDIR
#error "FUZZ_BUILDDIR must name the build tree"
#endif

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define	CONN_F_HALFCLOSE	0x01
#define	CONN_F_CLOSE		0x02
#define	CONN_F_UID_USER		0x04
#define	CONN_F_TWO		0x08
#define	CONN_F_SECOND_ROOT	0x10
#define	CONN_F_QUIET		0x20

#define	CONN_PREFIX_MIN		2
#define	CONN_SPLITS_MAX		16
#define	CONN_QUIET_MS		100	/* wait for jobs to end (flag 0x20) */
#define	CONN_TICK_MS		2
#define	CONN_READ_DEADLINE_MS	5000	/* the daemon takes what it is sent */
#define	CONN_STOP_DEADLINE_MS	8000	/* grace (5 s) + the drain */
#define	CONN_GRACE_NS		5000000000ull

/* What fuzz_conn fails with: a message, then a trap (libFuzzer's report). */
#define	CHECK_WHY(cond, why)	do {					\
	if (!(cond))							\
		conn_broken(why, __LINE__);				\
} while (0)
#define	CHECK(cond)	CHECK_WHY(cond, #cond)

/* One client connection: its socket, what it sent, what it got. */
struct client {
	int		cl_fd;		/* -1 once closed */
	uid_t		cl_uid;
	struct event	*cl_rev;
	unsigned int	cl_nevents;
	uint8_t		*cl_sent;	/* its whole stream */
	size_t		cl_sent_len;
	uint8_t		*cl_in;		/* bytes from the daemon, not yet framed */
	size_t		cl_in_len;
	size_t		cl_in_cap;
	bool		cl_eof;		/* the daemon closed it */
	bool		cl_gone;	/* we closed or half-closed it early */
	uint64_t	*cl_resp_ids;	/* request_ids of the Responses */
	size_t		cl_nresp;
	size_t		cl_resp_cap;
};

/* What the clients saw of one job, by id. */
struct seen_job {
	uint64_t	sj_id;
	unsigned int	sj_started;		/* JobStarted events, all clients */
	unsigned int	sj_submitted;		/* SubmitReplies, all clients */
	bool		sj_before_run;		/* a cancel said CANCEL_BEFORE_RUN */
	bool		sj_ran;			/* a JobFinished says it ran */
	bool		sj_final_cancelled;	/* ... says cancelled */
	bool		sj_has_owner;
	uid_t		sj_owner;		/* the uid every JobInfo of it says */
	bool		sj_known[2];		/* SubmitReply or WatchReply seen */
	bool		sj_must_finish[2];	/* submitted, or watched while not final */
	unsigned int	sj_finished[2];		/* JobFinished events */
};

static char conn_plugin_dir[PATH_MAX];
static bool conn_trace;			/* FUZZ_CONN_TRACE set: say what happened */
static void *conn_plugin_handles[3];
static struct client conn_clients[2];
static size_t conn_nclients;
static struct seen_job *conn_jobs;
static size_t conn_njobs, conn_jobs_cap;
static struct event *conn_tick_ev;	/* wakes conn_loop_until() */

static void conn_broken(const char *what, int line) __attribute__((__noreturn__));

static void
conn_broken(const char *what, int line)
{
	(void)fprintf(stderr, "fuzz_conn.c:%d: broken: %s\n", line, what);
	__builtin_trap();
}

static void
conn_copy(const char *src, const char *dst)
{
	char buf[65536];
	ssize_t n;
	int in, out;

	in = open(src, O_RDONLY | O_CLOEXEC);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (in < 0 || out < 0) {
		(void)fprintf(stderr, "fuzz_conn: cannot copy %s to %s: %s\n", src, dst,
		    strerror(errno));
		exit(1);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			(void)fprintf(stderr, "fuzz_conn: writing %s: %s\n", dst, strerror(errno));
			exit(1);
		}
	(void)close(in);
	(void)close(out);
}

static void
conn_rm_plugin_dir(void)
{
	static const char *const names[] = { "echo", "fail", "sha256" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s/%s.so", conn_plugin_dir, names[i]);
		(void)unlink(path);
	}
	(void)rmdir(conn_plugin_dir);
}

/*
 * Copy the plugins into a private folder under $TMPDIR (the daemon loads
 * only files nobody else may write; a crash leaves the folder behind, so
 * scripts/fuzz.sh points TMPDIR at a folder it removes), and dlopen each
 * once for the whole run: the daemon's dlopen and dlclose for each input
 * then only count references, so the plugins' coverage counters are
 * registered with libFuzzer once and stay mapped.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const names[] = { "echo", "fail", "sha256" };
	char src[PATH_MAX], dst[PATH_MAX];
	const char *builddir = getenv("TPOOL_FUZZ_BUILDDIR"), *tmp;
	size_t i;

	if (builddir == NULL)
		builddir = FUZZ_BUILDDIR;
	(void)signal(SIGPIPE, SIG_IGN);
	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	(void)snprintf(conn_plugin_dir, sizeof(conn_plugin_dir), "%s/tpool-fuzz-conn.XXXXXX",
	    tmp);
	if (mkdtemp(conn_plugin_dir) == NULL) {
		(void)fprintf(stderr, "fuzz_conn: mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	(void)atexit(conn_rm_plugin_dir);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)snprintf(src, sizeof(src), "%s/plugins/.libs/%s.so", builddir, names[i]);
		(void)snprintf(dst, sizeof(dst), "%s/%s.so", conn_plugin_dir, names[i]);
		conn_copy(src, dst);
		if ((conn_plugin_handles[i] = dlopen(dst, RTLD_NOW | RTLD_LOCAL)) == NULL) {
			(void)fprintf(stderr, "fuzz_conn: %s\n", dlerror());
			exit(1);
		}
	}
	conn_trace = getenv("FUZZ_CONN_TRACE") != NULL;
	tpd_log_set_verbose(conn_trace ? 1 : -1);
	return 0;
}

/* The defaults, with limits small enough for small inputs to reach. */
static void
conn_options(void)
{
	tpd_options_defaults(&tpd_opt);
	tpd_opt.o_plugin_dir = strdup(conn_plugin_dir);
	tpd_opt.o_socket = strdup("/nonexistent/fuzz_conn.sock");
	CHECK(tpd_opt.o_plugin_dir != NULL && tpd_opt.o_socket != NULL);
	tpd_opt.o_max_input = 1024;
	tpd_opt.o_max_result = 256;
	tpd_opt.o_max_jobs = 24;
	tpd_opt.o_max_jobs_per_client = 16;
	tpd_opt.o_max_threads = 4;
	tpd_opt.o_finished_keep = 4;
	tpd_opt.o_shutdown_grace_ns = CONN_GRACE_NS;
	/* Ids from 1, so that the ids an input names are its own jobs. */
	tpd_jobid_testing_first = 1;
}

static uint64_t
conn_ms_from_now(unsigned int ms)
{
	return tpd_now_ns() + (uint64_t)ms * 1000000u;
}

/* ------------------------------------------------------- bookkeeping */

static struct seen_job *
conn_job(uint64_t id)
{
	size_t i;

	for (i = 0; i < conn_njobs; i++)
		if (conn_jobs[i].sj_id == id)
			return &conn_jobs[i];
	if (conn_njobs == conn_jobs_cap) {
		conn_jobs_cap = conn_jobs_cap == 0 ? 16 : conn_jobs_cap * 2;
		conn_jobs = realloc(conn_jobs, conn_jobs_cap * sizeof(*conn_jobs));
		CHECK(conn_jobs != NULL);
	}
	memset(&conn_jobs[conn_njobs], 0, sizeof(conn_jobs[0]));
	conn_jobs[conn_njobs].sj_id = id;
	return &conn_jobs[conn_njobs++];
}

static bool
conn_state_final(Tpool__JobState st)
{
	return tp_state_is_final(st);
}

static void
conn_check_string(const char *s)
{
	if (s != NULL)
		CHECK_WHY(strstr(s, conn_plugin_dir) == NULL,
		    "a message to a client names the plugin folder");
}

/*
 * A JobInfo sent to client k: a client that is not root sees only its own
 * jobs, and a job has one owner whoever looks; its strings name no
 * internal path.
 */
static void
conn_on_info(size_t k, const Tpool__JobInfo *info)
{
	struct seen_job *sj;

	CHECK(info != NULL && info->has_job_id && info->has_uid);
	if (conn_clients[k].cl_uid != 0)
		CHECK_WHY(info->uid == conn_clients[k].cl_uid,
		    "a client that is not root was shown another user's job");
	sj = conn_job(info->job_id);
	if (sj->sj_has_owner)
		CHECK_WHY(sj->sj_owner == info->uid, "a job changed owners");
	sj->sj_has_owner = true;
	sj->sj_owner = info->uid;
	conn_check_string(info->name);
	conn_check_string(info->message);
}

static void
conn_on_response(struct client *cl, size_t k, const Tpool__Response *r)
{
	struct seen_job *sj;
	size_t i;

	CHECK(r->has_request_id);
	if (cl->cl_nresp == cl->cl_resp_cap) {
		cl->cl_resp_cap = cl->cl_resp_cap == 0 ? 16 : cl->cl_resp_cap * 2;
		cl->cl_resp_ids = realloc(cl->cl_resp_ids,
		    cl->cl_resp_cap * sizeof(*cl->cl_resp_ids));
		CHECK(cl->cl_resp_ids != NULL);
	}
	cl->cl_resp_ids[cl->cl_nresp++] = r->request_id;
	switch (r->body_case) {
	case TPOOL__RESPONSE__BODY_ERROR:
		CHECK(r->error->has_code && r->error->code != TPOOL__ERROR_CODE__ERROR_UNSPECIFIED);
		CHECK(r->error->message != NULL && r->error->message[0] != '\0');
		conn_check_string(r->error->message);
		break;
	case TPOOL__RESPONSE__BODY_SUBMIT:
		CHECK(r->submit->has_job_id && r->submit->job_id != 0);
		sj = conn_job(r->submit->job_id);
		/* Ids are unique for the daemon's life. */
		CHECK_WHY(++sj->sj_submitted == 1, "two jobs with one id");
		/* Its owner is its submitter. */
		if (sj->sj_has_owner)
			CHECK_WHY(sj->sj_owner == cl->cl_uid, "a job changed owners");
		sj->sj_has_owner = true;
		sj->sj_owner = cl->cl_uid;
		sj->sj_known[k] = true;
		sj->sj_must_finish[k] = true;
		break;
	case TPOOL__RESPONSE__BODY_WATCH:
		conn_on_info(k, r->watch->job);
		sj = conn_job(r->watch->job->job_id);
		sj->sj_known[k] = true;
		if (!conn_state_final(r->watch->job->state))
			sj->sj_must_finish[k] = true;
		break;
	case TPOOL__RESPONSE__BODY_CANCEL:
		CHECK(r->cancel->has_result);
		if (r->cancel->job != NULL) {
			conn_on_info(k, r->cancel->job);
			sj = conn_job(r->cancel->job->job_id);
			if (r->cancel->result == TPOOL__CANCEL_RESULT__CANCEL_BEFORE_RUN) {
				sj->sj_before_run = true;
				CHECK(r->cancel->job->state == TPOOL__JOB_STATE__JOB_CANCELLED);
			}
		}
		break;
	case TPOOL__RESPONSE__BODY_STATUS:
		for (i = 0; i < r->status->n_jobs; i++)
			conn_on_info(k, r->status->jobs[i]);
		break;
	case TPOOL__RESPONSE__BODY_HELLO:
	case TPOOL__RESPONSE__BODY_PLUGINS:
	case TPOOL__RESPONSE__BODY_STATS:
	case TPOOL__RESPONSE__BODY_METRICS:
		break;
	default:
		CHECK_WHY(0, "a Response without a body");
	}
}

static void
conn_on_event(size_t k, const Tpool__Event *ev)
{
	struct seen_job *sj;
	const Tpool__JobInfo *info;

	CHECK(ev->has_job_id && ev->job_id != 0);
	sj = conn_job(ev->job_id);
	/* A client hears of a job first from its SubmitReply or WatchReply. */
	CHECK_WHY(sj->sj_known[k], "an Event before the job's SubmitReply or WatchReply");
	switch (ev->kind_case) {
	case TPOOL__EVENT__KIND_STARTED:
		sj->sj_started++;
		break;
	case TPOOL__EVENT__KIND_PROGRESS:
		conn_check_string(ev->progress->message);
		break;
	case TPOOL__EVENT__KIND_FINISHED:
		info = ev->finished->job;
		conn_on_info(k, info);
		CHECK(info->job_id == ev->job_id);
		CHECK(info->has_state && conn_state_final(info->state));
		conn_check_string(info->message);
		sj->sj_finished[k]++;
		CHECK_WHY(sj->sj_finished[k] == 1, "two JobFinished for one job");
		if (info->state == TPOOL__JOB_STATE__JOB_CANCELLED)
			sj->sj_final_cancelled = true;
		if (info->has_ran_on_cpu && info->ran_on_cpu != -1)
			sj->sj_ran = true;
		break;
	default:
		CHECK_WHY(0, "an Event without a kind");
	}
}

/* Take every whole frame the daemon sent to client k. */
static void
conn_take_frames(size_t k)
{
	struct client *cl = &conn_clients[k];
	const uint8_t *body = NULL;
	size_t off = 0, body_len = 0, frame_len = 0;
	Tpool__ServerMessage *sm;

	while (tp_frame_parse(cl->cl_in + off, cl->cl_in_len - off, UINT32_MAX, &body,
	    &body_len, &frame_len) == TP_FRAME_OK) {
		sm = tpool__server_message__unpack(NULL, body_len, body);
		CHECK(sm != NULL);
		if (sm->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE)
			conn_on_response(cl, k, sm->response);
		else if (sm->msg_case == TPOOL__SERVER_MESSAGE__MSG_EVENT) {
			conn_on_event(k, sm->event);
			cl->cl_nevents++;
		}
		else
			CHECK_WHY(0, "a ServerMessage that is neither a Response nor an Event");
		tpool__server_message__free_unpacked(sm, NULL);
		off += frame_len;
	}
	memmove(cl->cl_in, cl->cl_in + off, cl->cl_in_len - off);
	cl->cl_in_len -= off;
}

/* Read what the daemon sent to client k, until the socket is empty. */
static void
conn_client_read(size_t k)
{
	struct client *cl = &conn_clients[k];
	ssize_t n;

	while (cl->cl_fd >= 0 && !cl->cl_eof) {
		if (cl->cl_in_cap - cl->cl_in_len < 16384) {
			cl->cl_in_cap = cl->cl_in_cap == 0 ? 65536 : cl->cl_in_cap * 2;
			cl->cl_in = realloc(cl->cl_in, cl->cl_in_cap);
			CHECK(cl->cl_in != NULL);
		}
		n = recv(cl->cl_fd, cl->cl_in + cl->cl_in_len, cl->cl_in_cap - cl->cl_in_len,
		    MSG_DONTWAIT);
		if (n > 0) {
			cl->cl_in_len += (size_t)n;
			conn_take_frames(k);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* The daemon closed it (or reset it): nothing half a frame long stays. */
		cl->cl_eof = true;
		CHECK_WHY(cl->cl_in_len == 0, "the daemon closed a connection in the middle of a frame");
		if (cl->cl_rev != NULL)
			(void)event_del(cl->cl_rev);
	}
}

static void
conn_client_read_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_client_read((size_t)(uintptr_t)arg);
}

/* Bytes client k wrote that the daemon has not read yet. */
static int
conn_unread(size_t k)
{
	int n = 0;

	if (conn_clients[k].cl_fd < 0 || conn_clients[k].cl_eof)
		return 0;
	CHECK(ioctl(conn_clients[k].cl_fd, SIOCOUTQ, &n) == 0);
	return n;
}

/* Run the loop once; the daemon's own callbacks flush what they queue. */
static void
conn_loop_once(void)
{
	tpd_conn_flush_all();
	CHECK(event_base_loop(tpd_base, EVLOOP_ONCE) >= 0);
}

static void
conn_tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

/*
 * Run the loop until done() or the deadline, waking at least every
 * CONN_TICK_MS (waiting for something that may not come must not sleep
 * until the daemon's next timer).
 */
static void
conn_loop_until(bool (*done)(void), unsigned int ms)
{
	struct timeval tick = { 0, CONN_TICK_MS * 1000 };
	uint64_t deadline = conn_ms_from_now(ms);

	while (!done() && tpd_now_ns() < deadline) {
		CHECK(evtimer_add(conn_tick_ev, &tick) == 0);
		conn_loop_once();
	}
	(void)evtimer_del(conn_tick_ev);
}

static bool
conn_no_jobs(void)
{
	return tpd_jobs_inflight() == 0;
}

static bool
conn_all_closed_by_daemon(void)
{
	size_t k;

	for (k = 0; k < conn_nclients; k++)
		if (conn_clients[k].cl_fd >= 0 && !conn_clients[k].cl_eof)
			return false;
	return true;
}

/* Write chunk to client k and let the daemon read it, all of it. */
static void
conn_write_chunk(size_t k, const uint8_t *p, size_t len)
{
	struct client *cl = &conn_clients[k];
	uint64_t deadline = conn_ms_from_now(CONN_READ_DEADLINE_MS);
	ssize_t n;

	while (len > 0 && !cl->cl_eof) {
		n = send(cl->cl_fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			CHECK_WHY(tpd_now_ns() < deadline, "the daemon stopped reading");
			conn_loop_once();
		} else {
			/* The daemon closed it while we wrote: the rest is lost. */
			conn_client_read(k);
			CHECK(cl->cl_eof);
			return;
		}
	}
	/* The daemon reads each chunk by itself (or closes the connection). */
	while (conn_unread(k) > 0) {
		CHECK_WHY(tpd_now_ns() < deadline, "the daemon stopped reading");
		conn_loop_once();
	}
}

/* A request the daemon must answer: its id, and whether it may wait. */
struct want {
	uint64_t	w_id;
	bool		w_may_wait;	/* Cancel with wait: answered when the job ends */
};

/*
 * The requests the daemon must answer on client k, in the order sent (all
 * whole frames, up to the first after which the daemon closes);
 * *ret_closing says whether the last is such a frame.
 */
static size_t
conn_expected(size_t k, struct want **ret_want, bool *ret_closing)
{
	struct client *cl = &conn_clients[k];
	const uint8_t *body = NULL;
	size_t off = 0, body_len = 0, frame_len = 0, n = 0;
	struct want *want = NULL;
	enum tp_frame_result r = TP_FRAME_OK;
	Tpool__Request *req;
	bool closing = false;

	while (!closing && r != TP_FRAME_NEED_MORE && cl->cl_sent_len > 0) {
		want = realloc(want, (n + 1) * sizeof(*want));
		CHECK(want != NULL);
		r = tp_frame_parse(cl->cl_sent + off, cl->cl_sent_len - off, tpd_opt.o_max_frame,
		    &body, &body_len, &frame_len);
		if (r == TP_FRAME_NEED_MORE)
			break;
		want[n].w_id = 0;
		want[n].w_may_wait = false;
		n++;
		if (r == TP_FRAME_TOO_LARGE) {
			closing = true;
			break;
		}
		off += frame_len;
		if ((req = tpool__request__unpack(NULL, body_len, body)) == NULL) {
			closing = true;
			break;
		}
		want[n - 1].w_id = req->request_id;
		want[n - 1].w_may_wait = req->body_case == TPOOL__REQUEST__BODY_CANCEL &&
		    req->cancel->has_wait && req->cancel->wait;
		/* Id 0 or none: refused with id 0, then the connection closes. */
		if (!req->has_request_id || req->request_id == 0) {
			want[n - 1].w_id = 0;
			want[n - 1].w_may_wait = false;
			closing = true;
		}
		if (req->body_case == TPOOL__REQUEST__BODY_HELLO &&
		    (!req->hello->has_version || req->hello->version !=
		    TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT))
			closing = true;
		tpool__request__free_unpacked(req, NULL);
	}
	*ret_want = want;
	*ret_closing = closing;
	return n;
}

static int
conn_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
conn_cmp_want(const void *a, const void *b)
{
	const struct want *x = a, *y = b;

	if (x->w_id != y->w_id)
		return x->w_id < y->w_id ? -1 : 1;
	/* For one id, those that must be answered first. */
	return (int)x->w_may_wait - (int)y->w_may_wait;
}

/*
 * Every request the daemon took got exactly one Response, and no Response
 * came for anything else.  A client that closed its end early may have
 * missed any; one that half-closed it (it still reads), or that the daemon
 * closed after a frame that closes, must still get every answer but those
 * of a Cancel waiting for a job's end (the connection is gone before the
 * job ends).  Returns whether the daemon closed the connection for one of
 * the requests.
 */
static bool
conn_check_responses(size_t k)
{
	struct client *cl = &conn_clients[k];
	struct want *want;
	uint64_t *got = cl->cl_resp_ids;
	size_t n, i, j;
	bool closing;

	n = conn_expected(k, &want, &closing);
	if (n > 0)
		qsort(want, n, sizeof(*want), conn_cmp_want);
	if (cl->cl_nresp > 0)
		qsort(got, cl->cl_nresp, sizeof(*got), conn_cmp_u64);
	/* Walk both sorted lists: each answer matches one request. */
	for (i = j = 0; i < n || j < cl->cl_nresp; ) {
		if (j < cl->cl_nresp && i < n && want[i].w_id == got[j]) {
			i++;
			j++;
			continue;
		}
		CHECK_WHY(i < n && (j == cl->cl_nresp || want[i].w_id < got[j]),
		    "a Response to no request (or a second one to a request)");
		/*
		 * A request not answered: a client that closed may miss any;
		 * one that half-closed, or that the daemon closed for a bad
		 * frame, only a Cancel still waiting for its job's end.
		 */
		if (cl->cl_fd >= 0 && cl->cl_gone)
			CHECK_WHY(want[i].w_may_wait, "a client that half-closed its end "
			    "(and reads on) got no Response to a request");
		else if (cl->cl_fd >= 0 && closing)
			CHECK_WHY(want[i].w_may_wait, "a client closed for a bad frame "
			    "got no Response to a request before it");
		else if (cl->cl_fd >= 0)
			CHECK_WHY(0, "a request without a Response");
		i++;
	}
	free(want);
	return closing;
}

static void
conn_check_jobs(void)
{
	struct seen_job *sj;
	size_t i, k;

	for (i = 0; i < conn_njobs; i++) {
		sj = &conn_jobs[i];
		if (sj->sj_before_run) {
			CHECK_WHY(sj->sj_started == 0 && !sj->sj_ran,
			    "a job cancelled before it ran has run");
		}
		for (k = 0; k < conn_nclients; k++) {
			CHECK(sj->sj_finished[k] <= 1);
			/* Open to the end, closed by the drain: it heard the end. */
			if (sj->sj_must_finish[k] && !conn_clients[k].cl_gone)
				CHECK_WHY(sj->sj_finished[k] == 1, "a client open to the end "
				    "missed the end of its job");
		}
		if (sj->sj_before_run && (sj->sj_finished[0] + sj->sj_finished[1]) > 0)
			CHECK_WHY(sj->sj_final_cancelled,
			    "a job cancelled before it ran did not end cancelled");
	}
}

/* ------------------------------------------------------------ one input */

static void
conn_client_open(size_t k, uid_t uid)
{
	struct client *cl = &conn_clients[k];
	int sv[2];

	memset(cl, 0, sizeof(*cl));
	cl->cl_uid = uid;
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	cl->cl_fd = sv[1];
	cl->cl_rev = event_new(tpd_base, sv[1], EV_READ | EV_PERSIST, conn_client_read_cb,
	    (void *)(uintptr_t)k);
	CHECK(cl->cl_rev != NULL && event_add(cl->cl_rev, NULL) == 0);
	/* sv[0] is the daemon's now. */
	CHECK(tpd_conn_attach(sv[0], uid, uid, 1000 + (pid_t)k, NULL) == 0);
}

static void
conn_client_free(size_t k)
{
	struct client *cl = &conn_clients[k];

	if (cl->cl_rev != NULL)
		event_free(cl->cl_rev);
	if (cl->cl_fd >= 0)
		(void)close(cl->cl_fd);
	free(cl->cl_sent);
	free(cl->cl_in);
	free(cl->cl_resp_ids);
	memset(cl, 0, sizeof(*cl));
	cl->cl_fd = -1;
}

static void
conn_client_append(size_t k, const uint8_t *p, size_t len)
{
	struct client *cl = &conn_clients[k];

	cl->cl_sent = realloc(cl->cl_sent, cl->cl_sent_len + len + 1);
	CHECK(cl->cl_sent != NULL);
	memcpy(cl->cl_sent + cl->cl_sent_len, p, len);
	cl->cl_sent_len += len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *stream = data, *splits = NULL;
	size_t len = size, nsplits = 0, fed = 0, i = 0, k, chunk;
	uint8_t flags = 0;

	if (size >= CONN_PREFIX_MIN) {
		flags = data[0];
		nsplits = data[1] % CONN_SPLITS_MAX;
		if (nsplits > size - CONN_PREFIX_MIN)
			nsplits = size - CONN_PREFIX_MIN;
		splits = data + CONN_PREFIX_MIN;
		stream = splits + nsplits;
		len = size - CONN_PREFIX_MIN - nsplits;
	}

	conn_options();
	CHECK(tpd_daemon_setup(false) == 0);
	CHECK(tpd_plugins_count() == 3);
	CHECK((conn_tick_ev = evtimer_new(tpd_base, conn_tick_cb, NULL)) != NULL);
	conn_nclients = flags & CONN_F_TWO ? 2 : 1;
	conn_client_open(0, flags & CONN_F_UID_USER ? 1000 : 0);
	if (conn_nclients == 2)
		conn_client_open(1, flags & CONN_F_SECOND_ROOT ? 0 : 1001);

	/* The stream, chunk by chunk; with two clients they take turns. */
	while (fed < len) {
		chunk = i < nsplits && splits[i] != 0 ? splits[i] : len - fed;
		if (chunk > len - fed)
			chunk = len - fed;
		k = i % conn_nclients;
		conn_client_append(k, stream + fed, chunk);
		conn_write_chunk(k, stream + fed, chunk);
		fed += chunk;
		i++;
	}
	for (k = 0; k < conn_nclients; k++) {
		if (flags & CONN_F_CLOSE) {
			conn_client_read(k);
			event_free(conn_clients[k].cl_rev);
			conn_clients[k].cl_rev = NULL;
			(void)close(conn_clients[k].cl_fd);
			conn_clients[k].cl_fd = -1;
			conn_clients[k].cl_gone = true;
		} else if (flags & CONN_F_HALFCLOSE) {
			(void)shutdown(conn_clients[k].cl_fd, SHUT_WR);
			conn_clients[k].cl_gone = true;
		}
	}
	/* A half-closed client reads on: give the daemon time to see the end. */
	if ((flags & (CONN_F_CLOSE | CONN_F_HALFCLOSE)) == CONN_F_HALFCLOSE)
		conn_loop_until(conn_all_closed_by_daemon, CONN_QUIET_MS);
	if (flags & CONN_F_QUIET)
		conn_loop_until(conn_no_jobs, CONN_QUIET_MS);

	/* SIGTERM's path, until every job has ended and every client is closed. */
	tpd_daemon_stop("fuzz input done");
	CHECK_WHY(tpd_daemon_run_until_idle(CONN_STOP_DEADLINE_MS) == 0,
	    "the daemon did not stop and close every connection in time");
	CHECK_WHY(!tpd_jobs_any_abandoned(), "a job ignored its cancellation for the "
	    "whole shutdown grace period and was abandoned");
	CHECK(tpd_jobs_inflight() == 0);
	for (k = 0; k < conn_nclients; k++) {
		conn_client_read(k);
		CHECK(conn_clients[k].cl_fd < 0 || conn_clients[k].cl_eof);
		/* A client dropped for a closing frame hears of no job after. */
		if (conn_check_responses(k))
			conn_clients[k].cl_gone = true;
	}
	conn_check_jobs();
	if (conn_trace)
		for (k = 0; k < conn_nclients; k++)
			(void)fprintf(stderr, "fuzz_conn: client %zu (uid %u): sent %zu bytes, "
			    "got %zu responses, %u events%s; %zu jobs seen\n", k,
			    (unsigned int)conn_clients[k].cl_uid, conn_clients[k].cl_sent_len,
			    conn_clients[k].cl_nresp, conn_clients[k].cl_nevents,
			    conn_clients[k].cl_gone ? " (closed early)" : "", conn_njobs);

	for (k = 0; k < conn_nclients; k++)
		conn_client_free(k);
	event_free(conn_tick_ev);
	conn_tick_ev = NULL;
	tpd_daemon_teardown();
	tpd_options_free(&tpd_opt);
	free(conn_jobs);
	conn_jobs = NULL;
	conn_njobs = conn_jobs_cap = 0;
	return 0;
}
