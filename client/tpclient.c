/*
 * tpclient.c -- the blocking client library of tpoold (see tpclient.h).
 *
 * A connection is a socket, a write buffer of packed Request frames, a read
 * buffer that holds at most one partial frame after each pass, and a queue
 * of unpacked ServerMessages in arrival order.  All I/O goes through one
 * step, conn_pump(): poll the socket for what we need (readable always,
 * writable while frames wait to go), write what the kernel takes, read what
 * is there, unpack every whole frame into the queue.  Every wait is then
 * "pump until the queue holds what I want": a request's response, an event,
 * a job's end.
 *
 *	send_*  --pack-->  [wbuf] --send()-->  socket  --recv()--> [rbuf]
 *	                                                              |
 *	 take(predicate) <-- [queue: msg, msg, msg ...] <--unpack-----+
 *
 * The socket stays in the mode the caller gave it; sends and the reads
 * during a write use MSG_DONTWAIT, and waits are in poll(2) (conn_pump).
 * A frame header is judged (tp_frame_parse) before the buffer grows for its
 * body, so an over-limit length never costs memory.  Nothing here logs.
 *
 * XXX This file is long (about 1150 lines): the I/O engine (buffers,
 * conn_pump, the queue and its waits) and the public calls over it both
 * use struct tpc's private fields.  Splitting the engine into a file of
 * its own needs an internal header for struct tpc and the conn_*
 * functions; not done yet.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "tpclient.h"

#define	RBUF_MIN	(64u * 1024)	/* initial read buffer */
#define	WBUF_FLUSH	(64u * 1024)	/* pipelined sends flush past this */
#define	MAX_FRAME_MIN	64u		/* smallest receive limit accepted */

/* One unread message from the daemon. */
struct tpc_qent {
	struct tpc_qent		*tq_next;
	Tpool__ServerMessage	*tq_msg;	/* owned */
};

/*
 * One connection.  Not locked: one thread at a time (tpclient.h).
 */
struct tpc {
	int			tpc_fd;		/* owned */
	int			tpc_timeout_ms;	/* -1: none */
	uint32_t		tpc_max_frame;	/* receive limit, body bytes */
	uint32_t		tpc_send_max;	/* the daemon's, from Hello */
	uint64_t		tpc_next_id;	/* next request_id */

	uint8_t			*tpc_rbuf;	/* [roff, rlen) unparsed */
	size_t			tpc_rcap;
	size_t			tpc_roff;
	size_t			tpc_rlen;
	bool			tpc_eof;	/* daemon closed its end */

	uint8_t			*tpc_wbuf;	/* [woff, wlen) unsent */
	size_t			tpc_wcap;
	size_t			tpc_woff;
	size_t			tpc_wlen;
	int			tpc_werr;	/* write side failed: errno */

	int			tpc_err;	/* fatal: EPROTO, ENOMEM, ... */

	struct tpc_qent		*tpc_qhead;	/* unread messages, in order */
	struct tpc_qent		**tpc_qtailp;
	size_t			tpc_qlen;

	uint64_t		*tpc_abandoned;	/* request ids given up on */
	size_t			tpc_nabandoned;
	size_t			tpc_abandoned_cap;

	Tpool__ErrorCode	tpc_errcode;	/* last Error from the daemon */
	char			*tpc_errmsg;	/* its message (owned), NULL */
};

/* What a wait is waiting for. */
enum take_kind {
	TAKE_ANY,		/* any message */
	TAKE_RESPONSE,		/* the response to tk_id */
	TAKE_EVENT,		/* any event */
	TAKE_JOB_EVENT,		/* an event of job tk_id */
};

/* --------------------------------------------------------------- helpers */

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The deadline of a call that starts now: -1 for none. */
static int64_t
conn_deadline(const struct tpc *c)
{
	if (c->tpc_timeout_ms < 0)
		return -1;
	return now_ms() + c->tpc_timeout_ms;
}

/* poll(2)'s timeout for what is left until deadline. */
static int
deadline_left(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

static bool
msg_is_conn_error(const Tpool__ServerMessage *m)
{
	/*
	 * An Error that answers no request (request_id 0: a frame the daemon
	 * could not read, a refused connection) ends the connection; whoever
	 * waits gets it.
	 */
	return m->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE &&
	    m->response != NULL && m->response->request_id == 0 &&
	    m->response->body_case == TPOOL__RESPONSE__BODY_ERROR;
}

static bool
take_matches(const Tpool__ServerMessage *m, enum take_kind kind, uint64_t id)
{
	switch (kind) {
	case TAKE_ANY:
		return true;
	case TAKE_RESPONSE:
		return (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE &&
		    m->response != NULL && m->response->request_id == id) ||
		    msg_is_conn_error(m);
	case TAKE_EVENT:
		return m->msg_case == TPOOL__SERVER_MESSAGE__MSG_EVENT ||
		    msg_is_conn_error(m);
	case TAKE_JOB_EVENT:
		return (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_EVENT &&
		    m->event != NULL && m->event->job_id == id) ||
		    msg_is_conn_error(m);
	}
	return false;
}

static void
conn_set_error(struct tpc *c, const Tpool__Error *e)
{
	free(c->tpc_errmsg);
	c->tpc_errmsg = NULL;
	c->tpc_errcode = e != NULL && e->has_code ? e->code :
	    TPOOL__ERROR_CODE__ERROR_UNSPECIFIED;
	if (e != NULL && e->message != NULL)
		c->tpc_errmsg = strdup(e->message);	/* NULL reads as "" */
}

static bool
conn_is_abandoned(struct tpc *c, uint64_t id)
{
	size_t i;

	for (i = 0; i < c->tpc_nabandoned; i++) {
		if (c->tpc_abandoned[i] == id) {
			c->tpc_abandoned[i] =
			    c->tpc_abandoned[--c->tpc_nabandoned];
			return true;
		}
	}
	return false;
}

/* Remember that the response to id is no longer wanted. */
static void
conn_abandon(struct tpc *c, uint64_t id)
{
	uint64_t *n;
	size_t cap;

	if (c->tpc_nabandoned == c->tpc_abandoned_cap) {
		cap = c->tpc_abandoned_cap == 0 ? 8 : c->tpc_abandoned_cap * 2;
		n = realloc(c->tpc_abandoned, cap * sizeof(*n));
		if (n == NULL)
			return;	/* the late response will just stay queued */
		c->tpc_abandoned = n;
		c->tpc_abandoned_cap = cap;
	}
	c->tpc_abandoned[c->tpc_nabandoned++] = id;
}

/* ------------------------------------------------------------ reading */

/* Append a message to the queue; consumes m. */
static int
conn_enqueue(struct tpc *c, Tpool__ServerMessage *m)
{
	struct tpc_qent *q;

	q = malloc(sizeof(*q));
	if (q == NULL) {
		tpool__server_message__free_unpacked(m, NULL);
		return ENOMEM;
	}
	q->tq_next = NULL;
	q->tq_msg = m;
	*c->tpc_qtailp = q;
	c->tpc_qtailp = &q->tq_next;
	c->tpc_qlen++;
	return 0;
}

/*
 * Unpack every whole frame in the read buffer into the queue, then move
 * what is left (part of one frame) to the front.
 */
static int
conn_parse(struct tpc *c)
{
	Tpool__ServerMessage *m;
	const uint8_t *body;
	size_t body_len, frame_len;
	enum tp_frame_result r;
	int error;

	for (;;) {
		r = tp_frame_parse(c->tpc_rbuf + c->tpc_roff,
		    c->tpc_rlen - c->tpc_roff, c->tpc_max_frame,
		    &body, &body_len, &frame_len);
		if (r == TP_FRAME_NEED_MORE)
			break;
		if (r == TP_FRAME_TOO_LARGE) {
			c->tpc_err = EMSGSIZE;
			return EMSGSIZE;
		}
		m = tpool__server_message__unpack(NULL, body_len, body);
		if (m == NULL) {
			c->tpc_err = EPROTO;
			return EPROTO;
		}
		c->tpc_roff += frame_len;
		if (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE &&
		    m->response != NULL && m->response->request_id != 0 &&
		    c->tpc_nabandoned > 0 &&
		    conn_is_abandoned(c, m->response->request_id)) {
			tpool__server_message__free_unpacked(m, NULL);
			continue;
		}
		if (m->msg_case == TPOOL__SERVER_MESSAGE__MSG__NOT_SET ||
		    (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE &&
		    m->response == NULL) ||
		    (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_EVENT &&
		    m->event == NULL)) {
			/* A kind newer than us: skip it, as protobuf would. */
			tpool__server_message__free_unpacked(m, NULL);
			continue;
		}
		if ((error = conn_enqueue(c, m)) != 0) {
			c->tpc_err = error;
			return error;
		}
	}
	if (c->tpc_roff == c->tpc_rlen) {
		c->tpc_roff = c->tpc_rlen = 0;
		if (c->tpc_rcap > 4 * RBUF_MIN) {
			/* A big frame has gone: give its memory back. */
			free(c->tpc_rbuf);
			c->tpc_rbuf = NULL;
			c->tpc_rcap = 0;
		}
	} else if (c->tpc_roff > 0) {
		memmove(c->tpc_rbuf, c->tpc_rbuf + c->tpc_roff,
		    c->tpc_rlen - c->tpc_roff);
		c->tpc_rlen -= c->tpc_roff;
		c->tpc_roff = 0;
	}
	return 0;
}

/*
 * Make room to read into.  The buffer holds at most one partial frame
 * (conn_parse ran), whose header was accepted, so it only ever grows to
 * what an accepted frame needs.
 */
static int
conn_rbuf_room(struct tpc *c)
{
	uint8_t *n;
	size_t need, cap;

	if (c->tpc_rbuf != NULL && c->tpc_rlen < c->tpc_rcap)
		return 0;
	need = RBUF_MIN;
	if (c->tpc_rlen >= TP_FRAME_HDR_LEN) {
		need = TP_FRAME_HDR_LEN +
		    (size_t)tp_frame_get_header(c->tpc_rbuf) + RBUF_MIN;
	}
	cap = c->tpc_rcap * 2;
	if (cap < need)
		cap = need;
	n = realloc(c->tpc_rbuf, cap);
	if (n == NULL)
		return ENOMEM;
	c->tpc_rbuf = n;
	c->tpc_rcap = cap;
	return 0;
}

/*
 * Read what the socket has (without waiting) and parse it.  EAGAIN when
 * nothing was there to read.
 */
static int
conn_read_some(struct tpc *c)
{
	ssize_t n;
	int error;

	if ((error = conn_rbuf_room(c)) != 0)
		return error;
	do {
		n = recv(c->tpc_fd, c->tpc_rbuf + c->tpc_rlen,
		    c->tpc_rcap - c->tpc_rlen, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return EAGAIN;
		/* ECONNRESET and friends: nothing more will come. */
		c->tpc_eof = true;
		return 0;
	}
	if (n == 0) {
		c->tpc_eof = true;
		return 0;
	}
	c->tpc_rlen += (size_t)n;
	return conn_parse(c);
}

/* ------------------------------------------------------------ writing */

/* Write what the socket takes (without waiting). */
static void
conn_write_some(struct tpc *c)
{
	ssize_t n;

	while (c->tpc_woff < c->tpc_wlen) {
		n = send(c->tpc_fd, c->tpc_wbuf + c->tpc_woff,
		    c->tpc_wlen - c->tpc_woff, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/*
			 * The daemon is gone (EPIPE, ECONNRESET).  What it
			 * said before going may still be readable, so reading
			 * goes on until end of file.
			 */
			c->tpc_werr = errno;
			c->tpc_woff = c->tpc_wlen = 0;
			return;
		}
		c->tpc_woff += (size_t)n;
	}
	c->tpc_woff = c->tpc_wlen = 0;
}

/*
 * One step of I/O: write what the socket takes; then wait in poll(2)
 * (until deadline) for the socket to be readable, or writable while frames
 * wait to go, and read and write what can be.  Returns 0 when something
 * happened (the caller looks again), ETIMEDOUT when nothing did in time.
 *
 * Not a blocking recv(2), though it is one system call where poll and
 * recv are two: a blocking recv returns with the first message that
 * wakes it, a SubmitReply, while the job's events follow microseconds
 * later, and the next wait sleeps again for them; a wakeup from poll
 * reads what came meanwhile too.  bench_tpoold's null jobs, both ways
 * on one machine: a client woke 2.0-2.1 times a round trip with recv,
 * 1.1-1.3 with poll, which also had the shorter round trips and the
 * higher throughput at 8 clients (docs/benchmarks.md).
 */
static int
conn_pump(struct tpc *c, int64_t deadline)
{
	struct pollfd pfd;
	size_t unsent;
	int n, error;

	if (c->tpc_woff < c->tpc_wlen && c->tpc_werr == 0) {
		unsent = c->tpc_wlen - c->tpc_woff;
		conn_write_some(c);
		if (c->tpc_werr != 0 || c->tpc_wlen - c->tpc_woff < unsent)
			return 0;
	}
	pfd.fd = c->tpc_fd;
	pfd.events = 0;
	pfd.revents = 0;
	if (!c->tpc_eof)
		pfd.events |= POLLIN;
	if (c->tpc_woff < c->tpc_wlen && c->tpc_werr == 0)
		pfd.events |= POLLOUT;
	if (pfd.events == 0)
		return c->tpc_werr != 0 ? c->tpc_werr : ECONNRESET;
	n = poll(&pfd, 1, deadline_left(deadline));
	if (n < 0)
		return errno == EINTR ? 0 : errno;
	if (n == 0)
		return ETIMEDOUT;
	if ((pfd.events & POLLOUT) &&
	    (pfd.revents & (POLLOUT | POLLERR | POLLHUP)))
		conn_write_some(c);
	if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
		error = conn_read_some(c);
		return error == EAGAIN ? 0 : error;
	}
	if (pfd.revents & POLLNVAL)
		return EBADF;
	return 0;
}

/* Append one packed Request frame to the write buffer. */
static int
conn_queue_request(struct tpc *c, Tpool__Request *req, uint64_t *ret_id)
{
	size_t len, need, cap;
	uint8_t *n;

	if (c->tpc_err != 0)
		return c->tpc_err;
	if (c->tpc_werr != 0)
		return c->tpc_werr;
	if (c->tpc_eof)
		return ECONNRESET;
	req->has_request_id = true;
	req->request_id = c->tpc_next_id;
	len = tpool__request__get_packed_size(req);
	if (len > c->tpc_send_max)
		return EMSGSIZE;
	need = TP_FRAME_HDR_LEN + len;
	if (c->tpc_wcap - c->tpc_wlen < need && c->tpc_woff > 0) {
		memmove(c->tpc_wbuf, c->tpc_wbuf + c->tpc_woff,
		    c->tpc_wlen - c->tpc_woff);
		c->tpc_wlen -= c->tpc_woff;
		c->tpc_woff = 0;
	}
	if (c->tpc_wcap - c->tpc_wlen < need) {
		cap = c->tpc_wcap == 0 ? 4096 : c->tpc_wcap * 2;
		while (cap - c->tpc_wlen < need)
			cap *= 2;
		n = realloc(c->tpc_wbuf, cap);
		if (n == NULL)
			return ENOMEM;
		c->tpc_wbuf = n;
		c->tpc_wcap = cap;
	}
	tp_frame_put_header(c->tpc_wbuf + c->tpc_wlen, (uint32_t)len);
	(void)tpool__request__pack(req, c->tpc_wbuf + c->tpc_wlen +
	    TP_FRAME_HDR_LEN);
	c->tpc_wlen += need;
	*ret_id = c->tpc_next_id++;
	return 0;
}

static int
conn_flush(struct tpc *c, int64_t deadline)
{
	int error;

	while (c->tpc_woff < c->tpc_wlen) {
		if (c->tpc_err != 0)
			return c->tpc_err;
		if ((error = conn_pump(c, deadline)) != 0)
			return error;
	}
	if (c->tpc_err != 0)
		return c->tpc_err;
	return c->tpc_werr;
}

/* ------------------------------------------------------------ waiting */

/*
 * Take the first queued message that matches, pumping until one comes.
 * *ret_m is the caller's.  A connection-level Error (request_id 0) ends
 * every wait: TAKE_ANY and TAKE_RESPONSE return it as it is (the response
 * path turns it into TPC_EDAEMON), the event waits return TPC_EDAEMON with
 * tpc_last_error() set.
 */
static int
conn_take(struct tpc *c, enum take_kind kind, uint64_t id, int64_t deadline,
    Tpool__ServerMessage **ret_m)
{
	struct tpc_qent **pp, *q;
	Tpool__ServerMessage *m;
	int error;

	pp = &c->tpc_qhead;
	for (;;) {
		/* Only entries appended since the last look are new. */
		for (; (q = *pp) != NULL; pp = &q->tq_next) {
			if (!take_matches(q->tq_msg, kind, id))
				continue;
			m = q->tq_msg;
			*pp = q->tq_next;
			if (c->tpc_qtailp == &q->tq_next)
				c->tpc_qtailp = pp;
			c->tpc_qlen--;
			free(q);
			if ((kind == TAKE_EVENT || kind == TAKE_JOB_EVENT) &&
			    msg_is_conn_error(m)) {
				conn_set_error(c, m->response->error);
				tpool__server_message__free_unpacked(m, NULL);
				return TPC_EDAEMON;
			}
			*ret_m = m;
			return 0;
		}
		if (c->tpc_err != 0)
			return c->tpc_err;
		if (c->tpc_eof)
			return c->tpc_werr != 0 ? c->tpc_werr : ECONNRESET;
		if ((error = conn_pump(c, deadline)) != 0)
			return error;
	}
}

/*
 * Wait for the response to id; detach it from its ServerMessage.  An Error
 * response gives TPC_EDAEMON, with *ret_resp set all the same.
 */
static int
conn_wait_response(struct tpc *c, uint64_t id, int64_t deadline,
    Tpool__Response **ret_resp)
{
	Tpool__ServerMessage *m;
	Tpool__Response *resp;
	int error;

	if ((error = conn_take(c, TAKE_RESPONSE, id, deadline, &m)) != 0)
		return error;
	resp = m->response;
	m->response = NULL;
	m->msg_case = TPOOL__SERVER_MESSAGE__MSG__NOT_SET;
	tpool__server_message__free_unpacked(m, NULL);
	*ret_resp = resp;
	if (resp->body_case == TPOOL__RESPONSE__BODY_ERROR) {
		conn_set_error(c, resp->error);
		return TPC_EDAEMON;
	}
	return 0;
}

/*
 * Flush before a wait.  A write that finds the daemon gone is no reason not
 * to wait: what it said before going may still be read.
 */
static int
conn_flush_for_wait(struct tpc *c, int64_t deadline)
{
	int error;

	error = conn_flush(c, deadline);
	if (error == EPIPE || error == ECONNRESET)
		return 0;
	return error;
}

/*
 * Hand a response to a caller that may not want it (ret_resp NULL); pass
 * error on.  Used where TPC_EDAEMON comes with the response.
 */
static int
resp_hand_over(int error, Tpool__Response *resp, Tpool__Response **ret_resp)
{
	if (ret_resp != NULL)
		*ret_resp = resp;
	else
		tpool__response__free_unpacked(resp, NULL);
	return error;
}

/*
 * Send req and wait for its response, whatever its body.  As
 * conn_wait_response: TPC_EDAEMON comes with *ret_resp set.  A wait that
 * times out gives up on its request, so its late response is dropped.
 */
static int
conn_roundtrip(struct tpc *c, Tpool__Request *req, Tpool__Response **ret_resp)
{
	int64_t deadline;
	uint64_t id;
	int error;

	deadline = conn_deadline(c);
	if ((error = conn_queue_request(c, req, &id)) != 0)
		return error;
	error = conn_wait_response(c, id, deadline, ret_resp);
	if (error == ETIMEDOUT)
		conn_abandon(c, id);
	return error;
}

/* The body each kind of request is answered with. */
static Tpool__Response__BodyCase
call_reply_case(Tpool__Request__BodyCase kind)
{
	switch (kind) {
	case TPOOL__REQUEST__BODY_HELLO:
		return TPOOL__RESPONSE__BODY_HELLO;
	case TPOOL__REQUEST__BODY_SUBMIT:
		return TPOOL__RESPONSE__BODY_SUBMIT;
	case TPOOL__REQUEST__BODY_CANCEL:
		return TPOOL__RESPONSE__BODY_CANCEL;
	case TPOOL__REQUEST__BODY_STATUS:
		return TPOOL__RESPONSE__BODY_STATUS;
	case TPOOL__REQUEST__BODY_WATCH:
		return TPOOL__RESPONSE__BODY_WATCH;
	case TPOOL__REQUEST__BODY_LIST_PLUGINS:
		return TPOOL__RESPONSE__BODY_PLUGINS;
	case TPOOL__REQUEST__BODY_STATS:
		return TPOOL__RESPONSE__BODY_STATS;
	case TPOOL__REQUEST__BODY_METRICS:
		return TPOOL__RESPONSE__BODY_METRICS;
	default:
		return TPOOL__RESPONSE__BODY__NOT_SET;
	}
}

/*
 * The typed call under every blocking request: send req, wait for the
 * response of its id, check that its body is the one req's kind is
 * answered with, and hand that body over on its own (a message of the
 * type the kind names; NULL ret_body: freed).  Errors, in this one place:
 * an Error response is TPC_EDAEMON, its code and message kept for
 * tpc_last_error(); another body, or none, is EPROTO (the response is
 * dropped, the connection goes on); the rest are conn_roundtrip's.
 */
static int
conn_call(struct tpc *c, Tpool__Request *req, ProtobufCMessage **ret_body)
{
	Tpool__Response *resp;
	ProtobufCMessage *body;
	int error;

	if ((error = conn_roundtrip(c, req, &resp)) != 0) {
		if (error == TPC_EDAEMON)
			tpool__response__free_unpacked(resp, NULL);
		return error;
	}
	/* The body is a union: each member is the same pointer. */
	body = (ProtobufCMessage *)resp->error;
	if (resp->body_case != call_reply_case(req->body_case) ||
	    body == NULL) {
		tpool__response__free_unpacked(resp, NULL);
		return EPROTO;
	}
	/* The body is an allocation of its own: detach it, free the rest. */
	resp->error = NULL;
	resp->body_case = TPOOL__RESPONSE__BODY__NOT_SET;
	tpool__response__free_unpacked(resp, NULL);
	if (ret_body != NULL)
		*ret_body = body;
	else
		protobuf_c_message_free_unpacked(body, NULL);
	return 0;
}

/* ------------------------------------------------------------ connection */

const char *
tpc_default_path(void)
{
	const char *p;

	p = getenv(TPC_SOCKET_ENV);
	if (p != NULL && *p != '\0')
		return p;
	return TPC_DEFAULT_SOCKET;
}

int
tpc_attach(int fd, struct tpc **ret_c)
{
	struct tpc *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		(void)close(fd);
		return ENOMEM;
	}
	c->tpc_fd = fd;
	c->tpc_timeout_ms = -1;
	c->tpc_max_frame = TPC_MAX_FRAME_DEFAULT;
	/* Until Hello tells us the daemon's limit, only the codec's. */
	c->tpc_send_max = UINT32_MAX;
	c->tpc_next_id = 1;
	c->tpc_qtailp = &c->tpc_qhead;
	c->tpc_errcode = TPOOL__ERROR_CODE__ERROR_UNSPECIFIED;
	*ret_c = c;
	return 0;
}

int
tpc_open(const char *path, struct tpc **ret_c)
{
	struct sockaddr_un sun;
	struct pollfd pfd;
	socklen_t len;
	int fd, error, r;

	if (path == NULL)
		path = tpc_default_path();
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		error = errno;
		if (error != EINTR) {
			(void)close(fd);
			return error;
		}
		/* Interrupted: the connect goes on; wait for its outcome. */
		pfd.fd = fd;
		pfd.events = POLLOUT;
		while ((r = poll(&pfd, 1, -1)) < 0 && errno == EINTR)
			continue;
		len = sizeof(error);
		if (r < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0)
			error = errno;
		if (error != 0) {
			(void)close(fd);
			return error;
		}
	}
	return tpc_attach(fd, ret_c);
}

int
tpc_hello(struct tpc *c, const char *client_name, Tpool__HelloReply **ret_reply)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Hello hello = TPOOL__HELLO__INIT;
	ProtobufCMessage *body;
	Tpool__HelloReply *hr;
	int error;

	hello.has_version = true;
	hello.version = TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT;
	hello.client_name = (char *)(uintptr_t)client_name;
	req.body_case = TPOOL__REQUEST__BODY_HELLO;
	req.hello = &hello;
	if ((error = conn_call(c, &req, &body)) != 0)
		return error;
	hr = (Tpool__HelloReply *)body;
	if (!hr->has_version ||
	    hr->version != TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT) {
		tpool__hello_reply__free_unpacked(hr, NULL);
		return EPROTONOSUPPORT;
	}
	if (hr->has_max_frame && hr->max_frame > 0)
		c->tpc_send_max = hr->max_frame;
	if (ret_reply != NULL)
		*ret_reply = hr;
	else
		tpool__hello_reply__free_unpacked(hr, NULL);
	return 0;
}

int
tpc_connect(const char *path, struct tpc **ret_c)
{
	struct tpc *c;
	int error;

	if ((error = tpc_open(path, &c)) != 0)
		return error;
	if ((error = tpc_hello(c, "libtpclient", NULL)) != 0) {
		tpc_free(c);
		return error;
	}
	*ret_c = c;
	return 0;
}

void
tpc_free(struct tpc *c)
{
	struct tpc_qent *q, *next;

	if (c == NULL)
		return;
	for (q = c->tpc_qhead; q != NULL; q = next) {
		next = q->tq_next;
		tpool__server_message__free_unpacked(q->tq_msg, NULL);
		free(q);
	}
	(void)close(c->tpc_fd);
	free(c->tpc_rbuf);
	free(c->tpc_wbuf);
	free(c->tpc_abandoned);
	free(c->tpc_errmsg);
	free(c);
}

int
tpc_fd(const struct tpc *c)
{
	return c->tpc_fd;
}

int
tpc_set_timeout(struct tpc *c, int ms)
{
	if (ms < -1)
		return EINVAL;
	c->tpc_timeout_ms = ms;
	return 0;
}

int
tpc_set_max_frame(struct tpc *c, uint32_t max)
{
	if (max < MAX_FRAME_MIN)
		return EINVAL;
	c->tpc_max_frame = max;
	return 0;
}

Tpool__ErrorCode
tpc_last_error(const struct tpc *c, const char **ret_message)
{
	if (ret_message != NULL)
		*ret_message = c->tpc_errmsg != NULL ? c->tpc_errmsg : "";
	return c->tpc_errcode;
}

const char *
tpc_strerror(int error)
{
	if (error == TPC_EDAEMON)
		return "daemon answered an error";
	if (error == EPROTONOSUPPORT)
		return "daemon speaks another protocol version";
	return strerror(error);
}

size_t
tpc_pending(const struct tpc *c)
{
	return c->tpc_qlen;
}

/* ------------------------------------------------------------ requests */

/*
 * Each blocking request fills its body and makes the one typed call,
 * conn_call(); the body that comes back is of the type its kind names.
 */

void
tpc_fill_submit(Tpool__Request *req, Tpool__Submit *s,
    const struct tpc_submit_args *a)
{
	*s = (Tpool__Submit)TPOOL__SUBMIT__INIT;
	s->plugin = (char *)(uintptr_t)a->tsa_plugin;
	if (a->tsa_input_len > 0) {
		s->has_input = true;
		s->input.len = a->tsa_input_len;
		s->input.data = (uint8_t *)(uintptr_t)a->tsa_input;
	}
	s->name = (char *)(uintptr_t)a->tsa_name;
	s->has_pool = true;
	s->pool = a->tsa_pool;
	s->has_priority = true;
	s->priority = a->tsa_priority;
	if (a->tsa_pool == TPOOL__POOL_KIND__POOL_PERCPU) {
		s->has_cpu = true;
		s->cpu = a->tsa_cpu;
	}
	if (a->tsa_deadline_ms != 0) {
		s->has_deadline_ms = true;
		s->deadline_ms = a->tsa_deadline_ms;
	}
	if (a->tsa_timeout_ms != 0) {
		s->has_timeout_ms = true;
		s->timeout_ms = a->tsa_timeout_ms;
	}
	if (a->tsa_delay_ms != 0) {
		s->has_delay_ms = true;
		s->delay_ms = a->tsa_delay_ms;
	}
	s->unique_key = (char *)a->tsa_unique_key;
	if (a->tsa_retries >= 0) {
		s->has_retries = true;
		s->retries = (uint32_t)a->tsa_retries;
	}
	req->body_case = TPOOL__REQUEST__BODY_SUBMIT;
	req->submit = s;
}

int
tpc_submit_reply(struct tpc *c, const struct tpc_submit_args *args,
    Tpool__SubmitReply **ret_reply)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Submit s;
	ProtobufCMessage *body;
	Tpool__SubmitReply *r;
	int error;

	tpc_fill_submit(&req, &s, args);
	if ((error = conn_call(c, &req, &body)) != 0)
		return error;
	r = (Tpool__SubmitReply *)body;
	if (!r->has_job_id) {
		tpool__submit_reply__free_unpacked(r, NULL);
		return EPROTO;
	}
	*ret_reply = r;
	return 0;
}

int
tpc_submit(struct tpc *c, const struct tpc_submit_args *args,
    uint64_t *ret_job_id)
{
	Tpool__SubmitReply *r;
	int error;

	if ((error = tpc_submit_reply(c, args, &r)) != 0)
		return error;
	*ret_job_id = r->job_id;
	tpool__submit_reply__free_unpacked(r, NULL);
	return 0;
}

int
tpc_cancel(struct tpc *c, uint64_t job_id, bool wait,
    Tpool__CancelReply **ret_reply)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Cancel cn = TPOOL__CANCEL__INIT;
	ProtobufCMessage *body;
	int error;

	cn.has_job_id = true;
	cn.job_id = job_id;
	cn.has_wait = true;
	cn.wait = wait;
	req.body_case = TPOOL__REQUEST__BODY_CANCEL;
	req.cancel = &cn;
	if ((error = conn_call(c, &req, &body)) == 0)
		*ret_reply = (Tpool__CancelReply *)body;
	return error;
}

static int
status_call(struct tpc *c, bool one, uint64_t job_id, bool all,
    uint64_t before_id, uint32_t limit, Tpool__StatusReply **ret_reply)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Status st = TPOOL__STATUS__INIT;
	ProtobufCMessage *body;
	int error;

	st.has_job_id = one;
	st.job_id = job_id;
	st.has_all = all;
	st.all = all;
	st.has_before_id = before_id != 0;
	st.before_id = before_id;
	st.has_limit = limit != 0;
	st.limit = limit;
	req.body_case = TPOOL__REQUEST__BODY_STATUS;
	req.status = &st;
	if ((error = conn_call(c, &req, &body)) == 0)
		*ret_reply = (Tpool__StatusReply *)body;
	return error;
}

int
tpc_status(struct tpc *c, uint64_t job_id, Tpool__StatusReply **ret_reply)
{
	return status_call(c, true, job_id, false, 0, 0, ret_reply);
}

int
tpc_status_all(struct tpc *c, Tpool__StatusReply **ret_reply)
{
	return status_call(c, false, 0, false, 0, 0, ret_reply);
}

int
tpc_status_all_users(struct tpc *c, Tpool__StatusReply **ret_reply)
{
	return status_call(c, false, 0, true, 0, 0, ret_reply);
}

int
tpc_status_page(struct tpc *c, bool all_users, uint64_t before_id,
    uint32_t limit, Tpool__StatusReply **ret_reply)
{
	return status_call(c, false, 0, all_users, before_id, limit,
	    ret_reply);
}

int
tpc_watch(struct tpc *c, uint64_t job_id, Tpool__WatchReply **ret_reply)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Watch w = TPOOL__WATCH__INIT;
	ProtobufCMessage *body;
	int error;

	w.has_job_id = true;
	w.job_id = job_id;
	req.body_case = TPOOL__REQUEST__BODY_WATCH;
	req.watch = &w;
	error = conn_call(c, &req, ret_reply != NULL ? &body : NULL);
	if (error == 0 && ret_reply != NULL)
		*ret_reply = (Tpool__WatchReply *)body;
	return error;
}

int
tpc_list_plugins(struct tpc *c, Tpool__PluginList **ret_list)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__ListPlugins lp = TPOOL__LIST_PLUGINS__INIT;
	ProtobufCMessage *body;
	int error;

	req.body_case = TPOOL__REQUEST__BODY_LIST_PLUGINS;
	req.list_plugins = &lp;
	if ((error = conn_call(c, &req, &body)) == 0)
		*ret_list = (Tpool__PluginList *)body;
	return error;
}

int
tpc_stats(struct tpc *c, Tpool__StatsReply **ret_stats)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Stats st = TPOOL__STATS__INIT;
	ProtobufCMessage *body;
	int error;

	req.body_case = TPOOL__REQUEST__BODY_STATS;
	req.stats = &st;
	if ((error = conn_call(c, &req, &body)) == 0)
		*ret_stats = (Tpool__StatsReply *)body;
	return error;
}

int
tpc_metrics(struct tpc *c, Tpool__MetricsReply **ret_metrics)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Metrics m = TPOOL__METRICS__INIT;
	ProtobufCMessage *body;
	int error;

	req.body_case = TPOOL__REQUEST__BODY_METRICS;
	req.metrics = &m;
	if ((error = conn_call(c, &req, &body)) == 0)
		*ret_metrics = (Tpool__MetricsReply *)body;
	return error;
}

int
tpc_request(struct tpc *c, Tpool__Request *req, Tpool__Response **ret_resp)
{
	Tpool__Response *resp;
	int error;

	error = conn_roundtrip(c, req, &resp);
	if (error != 0 && error != TPC_EDAEMON)
		return error;
	return resp_hand_over(error, resp, ret_resp);
}

/* ---------------------------------------------------------------- events */

int
tpc_next_event(struct tpc *c, Tpool__Event **ret_ev)
{
	Tpool__ServerMessage *m;
	Tpool__Event *ev;
	int64_t deadline;
	int error;

	deadline = conn_deadline(c);
	if ((error = conn_flush_for_wait(c, deadline)) != 0)
		return error;
	if ((error = conn_take(c, TAKE_EVENT, 0, deadline, &m)) != 0)
		return error;
	ev = m->event;
	m->event = NULL;
	m->msg_case = TPOOL__SERVER_MESSAGE__MSG__NOT_SET;
	tpool__server_message__free_unpacked(m, NULL);
	*ret_ev = ev;
	return 0;
}

int
tpc_wait_job(struct tpc *c, uint64_t job_id, Tpool__JobInfo **ret_final,
    tpc_event_fn *fn, void *arg)
{
	Tpool__ServerMessage *m;
	Tpool__JobInfo *ji;
	Tpool__Event *ev;
	int64_t deadline;
	int error;

	deadline = conn_deadline(c);
	if ((error = conn_flush_for_wait(c, deadline)) != 0)
		return error;
	for (;;) {
		error = conn_take(c, TAKE_JOB_EVENT, job_id, deadline, &m);
		if (error != 0)
			return error;
		ev = m->event;
		if (ev->kind_case == TPOOL__EVENT__KIND_FINISHED)
			break;
		if (fn != NULL)
			(*fn)(ev, arg);
		tpool__server_message__free_unpacked(m, NULL);
	}
	ji = NULL;
	if (ev->finished != NULL) {
		ji = ev->finished->job;
		ev->finished->job = NULL;
	}
	tpool__server_message__free_unpacked(m, NULL);
	if (ji == NULL)
		return EPROTO;	/* a JobFinished must carry the job */
	if (ret_final != NULL)
		*ret_final = ji;
	else
		tpool__job_info__free_unpacked(ji, NULL);
	return 0;
}

/* --------------------------------------------------------------- pipelined */

int
tpc_send_request(struct tpc *c, Tpool__Request *req, uint64_t *ret_request_id)
{
	uint64_t id;
	int error;

	if ((error = conn_queue_request(c, req, &id)) != 0)
		return error;
	if (c->tpc_wlen - c->tpc_woff >= WBUF_FLUSH &&
	    (error = conn_flush(c, conn_deadline(c))) != 0)
		return error;	/* the frame stays queued on ETIMEDOUT */
	if (ret_request_id != NULL)
		*ret_request_id = id;
	return 0;
}

int
tpc_send_submit(struct tpc *c, const struct tpc_submit_args *args,
    uint64_t *ret_request_id)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Submit s;

	tpc_fill_submit(&req, &s, args);
	return tpc_send_request(c, &req, ret_request_id);
}

int
tpc_flush(struct tpc *c)
{
	return conn_flush(c, conn_deadline(c));
}

int
tpc_read_message(struct tpc *c, Tpool__ServerMessage **ret_msg)
{
	int64_t deadline;
	int error;

	deadline = conn_deadline(c);
	if (c->tpc_qhead == NULL &&
	    (error = conn_flush_for_wait(c, deadline)) != 0)
		return error;
	return conn_take(c, TAKE_ANY, 0, deadline, ret_msg);
}

int
tpc_wait_response(struct tpc *c, uint64_t request_id,
    Tpool__Response **ret_resp)
{
	Tpool__Response *resp;
	int64_t deadline;
	int error;

	deadline = conn_deadline(c);
	if ((error = conn_flush_for_wait(c, deadline)) != 0)
		return error;
	error = conn_wait_response(c, request_id, deadline, &resp);
	if (error != 0 && error != TPC_EDAEMON)
		return error;
	return resp_hand_over(error, resp, ret_resp);
}
