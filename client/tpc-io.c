/*
 * tpc-io.c -- the I/O engine under the client library (tpclient.c): a
 * connection's buffers, conn_pump(), the queue of received messages and
 * the waits on it.  Its calls are in tpc-io.h, for tpclient.c alone.
 *
 * A connection is a socket, a write buffer of packed Request frames, a read
 * buffer that holds at most one partial frame after each pass, and a queue
 * of received ServerMessages in arrival order.  All I/O goes through one
 * step, conn_pump(): poll the socket for what we need (readable always,
 * writable while frames wait to go), write what the kernel takes, read what
 * is there, queue every whole frame.  Every wait is then "pump until the
 * queue holds what I want": a request's response, an event, a job's end.
 *
 *	send_*  --pack-->  [wbuf] --send()-->  socket  --recv()--> [rbuf]
 *	                                                              |
 *	 take(predicate) <-- [queue: msg, msg, msg ...] <--peek-------+
 *	        |
 *	        +--unpack--> the caller's Tpool__* message
 *
 * A queued message is its frame's body as it came, with what routes it
 * read off the bytes (proto/peek.h: a response's request id and body kind,
 * a SubmitReply's job id, an event's job and kind).  It is unpacked with
 * protobuf-c only when a caller takes it whole (tpcio_entry_unpack):
 * tpc_submit() reads the job id off the peek, and tpc_wait_job() without a
 * callback steps over the job's other events unread, so a null job's
 * submit-and-wait unpacks one message (its finished event) of the three it
 * gets.  A message the peek cannot read plainly is unpacked on arrival
 * instead; one whose bytes protobuf-c refuses when it is taken ends the
 * connection with EPROTO, as it would have on arrival.
 *
 * The socket stays in the mode the caller gave it; sends and the reads
 * during a write use MSG_DONTWAIT, and waits are in poll(2) (conn_pump).
 * A frame header is judged (tp_frame_parse) before the buffer grows for its
 * body, so an over-limit length never costs memory.  Nothing here logs.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "peek.h"
#include "tpc-io.h"

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
int64_t
tpcio_deadline(const struct tpc *c)
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
pk_is_conn_error(const struct tp_peek *pk)
{
	/*
	 * An Error that answers no request (request_id 0: a frame the daemon
	 * could not read, a refused connection) ends the connection; whoever
	 * waits gets it.
	 */
	return pk->tpk_msg == TPOOL__SERVER_MESSAGE__MSG_RESPONSE &&
	    pk->tpk_id == 0 && pk->tpk_kind == TPOOL__RESPONSE__BODY_ERROR;
}

static bool
take_matches(const struct tp_peek *pk, enum take_kind kind, uint64_t id)
{
	switch (kind) {
	case TAKE_ANY:
		return true;
	case TAKE_RESPONSE:
		return (pk->tpk_msg == TPOOL__SERVER_MESSAGE__MSG_RESPONSE &&
		    pk->tpk_id == id) || pk_is_conn_error(pk);
	case TAKE_EVENT:
		return pk->tpk_msg == TPOOL__SERVER_MESSAGE__MSG_EVENT ||
		    pk_is_conn_error(pk);
	case TAKE_JOB_EVENT:
		return (pk->tpk_msg == TPOOL__SERVER_MESSAGE__MSG_EVENT &&
		    pk->tpk_id == id) || pk_is_conn_error(pk);
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

/*
 * A queue entry for the ServerMessage body[0..len): its bytes and their
 * peek, or, when the peek cannot read them, the message unpacked (EPROTO
 * when protobuf-c cannot either).  *ret_q is the caller's (tpcio_entry_free).
 */
static int
qent_new(const uint8_t *body, size_t len, struct tpc_qent **ret_q)
{
	struct tpc_qent *q;
	struct tp_peek pk;
	Tpool__ServerMessage *m;

	if (tp_peek_server_message(body, len, &pk)) {
		q = malloc(offsetof(struct tpc_qent, tq_body) + len);
		if (q == NULL)
			return ENOMEM;
		if (len > 0)
			memcpy(q->tq_body, body, len);
		q->tq_len = len;
		q->tq_msg = NULL;
	} else {
		m = tpool__server_message__unpack(NULL, len, body);
		if (m == NULL)
			return EPROTO;
		q = malloc(sizeof(*q));
		if (q == NULL) {
			tpool__server_message__free_unpacked(m, NULL);
			return ENOMEM;
		}
		tp_peek_from_message(m, &pk);
		q->tq_len = 0;
		q->tq_msg = m;
	}
	q->tq_next = NULL;
	q->tq_pk = pk;
	*ret_q = q;
	return 0;
}

void
tpcio_entry_free(struct tpc_qent *q)
{
	if (q->tq_msg != NULL)
		tpool__server_message__free_unpacked(q->tq_msg, NULL);
	free(q);
}

/*
 * The message of a taken entry, unpacked; consumes q.  *ret_m is the
 * caller's.  Bytes protobuf-c refuses end the connection (EPROTO).
 */
int
tpcio_entry_unpack(struct tpc *c, struct tpc_qent *q,
    Tpool__ServerMessage **ret_m)
{
	Tpool__ServerMessage *m;

	m = q->tq_msg;
	if (m == NULL)
		m = tpool__server_message__unpack(NULL, q->tq_len, q->tq_body);
	free(q);
	if (m == NULL) {
		c->tpc_err = EPROTO;
		return EPROTO;
	}
	*ret_m = m;
	return 0;
}

/* Append an entry to the queue; consumes q. */
static void
conn_enqueue(struct tpc *c, struct tpc_qent *q)
{
	*c->tpc_qtailp = q;
	c->tpc_qtailp = &q->tq_next;
	c->tpc_qlen++;
}

/*
 * Queue every whole frame in the read buffer, then move what is left (part
 * of one frame) to the front.
 */
static int
conn_parse(struct tpc *c)
{
	struct tpc_qent *q;
	const struct tp_peek *pk;
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
		if ((error = qent_new(body, body_len, &q)) != 0) {
			c->tpc_err = error;
			return error;
		}
		c->tpc_roff += frame_len;
		pk = &q->tq_pk;
		if ((pk->tpk_msg == TPOOL__SERVER_MESSAGE__MSG_RESPONSE &&
		    pk->tpk_id != 0 && c->tpc_nabandoned > 0 &&
		    conn_is_abandoned(c, pk->tpk_id)) ||
		    pk->tpk_msg == TPOOL__SERVER_MESSAGE__MSG__NOT_SET) {
			/*
			 * A response given up on; or a kind newer than us:
			 * skip it, as protobuf would.
			 */
			tpcio_entry_free(q);
			continue;
		}
		conn_enqueue(c, q);
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
int
tpcio_queue_request(struct tpc *c, Tpool__Request *req, uint64_t *ret_id)
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

int
tpcio_flush(struct tpc *c, int64_t deadline)
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
 * Take the first queued entry that matches, pumping until one comes.
 * *ret_q is the caller's (tpcio_entry_unpack or tpcio_entry_free).  A
 * connection-level Error (request_id 0) ends every wait: TAKE_ANY and
 * TAKE_RESPONSE return it as it is (the response path turns it into
 * TPC_EDAEMON), the event waits return TPC_EDAEMON with tpc_last_error()
 * set.
 */
int
tpcio_take_entry(struct tpc *c, enum take_kind kind, uint64_t id,
    int64_t deadline, struct tpc_qent **ret_q)
{
	struct tpc_qent **pp, *q;
	Tpool__ServerMessage *m;
	int error;

	pp = &c->tpc_qhead;
	for (;;) {
		/* Only entries appended since the last look are new. */
		for (; (q = *pp) != NULL; pp = &q->tq_next) {
			if (!take_matches(&q->tq_pk, kind, id))
				continue;
			*pp = q->tq_next;
			if (c->tpc_qtailp == &q->tq_next)
				c->tpc_qtailp = pp;
			c->tpc_qlen--;
			if ((kind == TAKE_EVENT || kind == TAKE_JOB_EVENT) &&
			    pk_is_conn_error(&q->tq_pk)) {
				if ((error = tpcio_entry_unpack(c, q, &m)) != 0)
					return error;
				conn_set_error(c, m->response->error);
				tpool__server_message__free_unpacked(m, NULL);
				return TPC_EDAEMON;
			}
			*ret_q = q;
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

/* tpcio_take_entry(), the message unpacked: *ret_m is the caller's. */
int
tpcio_take(struct tpc *c, enum take_kind kind, uint64_t id, int64_t deadline,
    Tpool__ServerMessage **ret_m)
{
	struct tpc_qent *q;
	int error;

	if ((error = tpcio_take_entry(c, kind, id, deadline, &q)) != 0)
		return error;
	return tpcio_entry_unpack(c, q, ret_m);
}

/*
 * The response of a taken entry, detached from its ServerMessage; consumes
 * q.  An Error response gives TPC_EDAEMON, with *ret_resp set all the same.
 */
static int
entry_response(struct tpc *c, struct tpc_qent *q, Tpool__Response **ret_resp)
{
	Tpool__ServerMessage *m;
	Tpool__Response *resp;
	int error;

	if ((error = tpcio_entry_unpack(c, q, &m)) != 0)
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
 * Wait for the response to id; detach it from its ServerMessage.  As
 * entry_response: TPC_EDAEMON comes with *ret_resp set.
 */
int
tpcio_wait_response(struct tpc *c, uint64_t id, int64_t deadline,
    Tpool__Response **ret_resp)
{
	struct tpc_qent *q;
	int error;

	if ((error = tpcio_take_entry(c, TAKE_RESPONSE, id, deadline, &q)) != 0)
		return error;
	return entry_response(c, q, ret_resp);
}

/*
 * Flush before a wait.  A write that finds the daemon gone is no reason not
 * to wait: what it said before going may still be read.
 */
int
tpcio_flush_for_wait(struct tpc *c, int64_t deadline)
{
	int error;

	error = tpcio_flush(c, deadline);
	if (error == EPIPE || error == ECONNRESET)
		return 0;
	return error;
}

/*
 * Hand a response to a caller that may not want it (ret_resp NULL); pass
 * error on.  Used where TPC_EDAEMON comes with the response.
 */
int
tpcio_hand_over(int error, Tpool__Response *resp, Tpool__Response **ret_resp)
{
	if (ret_resp != NULL)
		*ret_resp = resp;
	else
		tpool__response__free_unpacked(resp, NULL);
	return error;
}

/*
 * Send req and take the queue entry of its response, whatever its body
 * (*ret_q is the caller's).  A wait that times out gives up on its
 * request, so its late response is dropped.
 */
int
tpcio_roundtrip_entry(struct tpc *c, Tpool__Request *req,
    struct tpc_qent **ret_q)
{
	int64_t deadline;
	uint64_t id;
	int error;

	deadline = tpcio_deadline(c);
	if ((error = tpcio_queue_request(c, req, &id)) != 0)
		return error;
	error = tpcio_take_entry(c, TAKE_RESPONSE, id, deadline, ret_q);
	if (error == ETIMEDOUT)
		conn_abandon(c, id);
	return error;
}

/*
 * Send req and wait for its response, whatever its body.  As
 * tpcio_wait_response: TPC_EDAEMON comes with *ret_resp set.
 */
int
tpcio_roundtrip(struct tpc *c, Tpool__Request *req, Tpool__Response **ret_resp)
{
	struct tpc_qent *q;
	int error;

	if ((error = tpcio_roundtrip_entry(c, req, &q)) != 0)
		return error;
	return entry_response(c, q, ret_resp);
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
 * The end of a typed call (tpcio_call), from the entry of req's response
 * on: consumes q.
 */
int
tpcio_call_finish(struct tpc *c, Tpool__Request *req, struct tpc_qent *q,
    ProtobufCMessage **ret_body)
{
	Tpool__Response *resp;
	ProtobufCMessage *body;
	int error;

	if ((error = entry_response(c, q, &resp)) != 0) {
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

/*
 * The typed call under every blocking request: send req, wait for the
 * response of its id, check that its body is the one req's kind is
 * answered with, and hand that body over on its own (a message of the
 * type the kind names; NULL ret_body: freed).  Errors, in this one place:
 * an Error response is TPC_EDAEMON, its code and message kept for
 * tpc_last_error(); another body, or none, is EPROTO (the response is
 * dropped, the connection goes on); the rest are tpcio_roundtrip's.
 */
int
tpcio_call(struct tpc *c, Tpool__Request *req, ProtobufCMessage **ret_body)
{
	struct tpc_qent *q;
	int error;

	if ((error = tpcio_roundtrip_entry(c, req, &q)) != 0)
		return error;
	return tpcio_call_finish(c, req, q, ret_body);
}
