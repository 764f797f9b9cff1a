/*
 * conn.c -- one client connection: its credentials, reading frames, queuing
 * and writing replies and events, its limits, closing it.
 *
 * Reading: one read(2) of up to CONN_READ_CHUNK bytes per wakeup, into a
 * buffer shared by all connections; every complete frame in it is handled
 * right there (tpd_dispatch), and only the bytes of a last, partial frame
 * are copied into the connection's own buffer (c_in), which grows to that
 * frame's size and no further.  A frame's header is judged as soon as its 4
 * bytes are in: a length over --max-frame is answered ERROR_FRAME_TOO_LARGE
 * and the connection closed, without buffering the body.
 *
 * Writing: replies and events are encoded straight into the connection's
 * output buffer (c_out); the connection goes on a flush list, and at the
 * end of each loop callback tpd_conn_flush_all() writes each listed
 * connection once: many replies of one read cost one send(2).  Output
 * that cannot be written waits for EV_WRITE.  When more than CONN_OUT_HIGH
 * bytes wait, the connection is not read (the client must read before it
 * may ask for more); past --max-output (events pile up even then) it is
 * dropped: its unread output is thrown away and it is closed, and nothing
 * else changes (its jobs go on and end as usual, reported to nobody but
 * their watchers; status still finds them; jobs.c).
 *
 * Slow peers: a frame must arrive whole within --read-timeout of its first
 * byte (default 30 s), or the connection is answered ERROR_BAD_REQUEST and
 * closed; so a peer that sends a byte a second (slowloris) cannot hold a
 * connection and its buffer for ever.  Between frames a connection may
 * stay idle as long as it likes.  The timer is armed when a partial frame
 * begins and, when it fires, looks at the partial frame of that moment:
 * none, or a younger one, and it goes back to sleep; nothing is done per
 * frame that completes.  Time the daemon itself does not read the
 * connection (its output backlog, above) does not count against it.
 *
 * Closing frees nothing at once: a closed connection is marked dead,
 * unlinked from everything, and freed at the end of the callback, so code
 * further up the stack may still look at it.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "frame.h"
#include "tpoold.h"

#define	CONN_READ_CHUNK		(64u << 10)
#define	CONN_OUT_HIGH		(1u << 20)	/* stop reading above this */
#define	CONN_OUT_LOW		(256u << 10)	/* resume below this */
#define	CONN_OUT_KEEP		(64u << 10)	/* keep an empty buffer this big */
#define	CONN_HOLD_MAX		(64u << 10)	/* never hold more output than this */

static TAILQ_HEAD(, tpd_conn) conn_list = TAILQ_HEAD_INITIALIZER(conn_list);
static TAILQ_HEAD(, tpd_conn) conn_flushq = TAILQ_HEAD_INITIALIZER(conn_flushq);
static TAILQ_HEAD(, tpd_conn) conn_heldq = TAILQ_HEAD_INITIALIZER(conn_heldq);
static TAILQ_HEAD(, tpd_conn) conn_dead = TAILQ_HEAD_INITIALIZER(conn_dead);
static unsigned int conn_n;
static uint64_t conn_next_id = 1;
static uint8_t conn_scratch[CONN_READ_CHUNK];
static bool conn_draining;
static void (*conn_drain_done)(void);

static void conn_read_cb(evutil_socket_t, short, void *);
static void conn_flush_later(struct tpd_conn *);
static void conn_write_cb(evutil_socket_t, short, void *);
static void conn_write(struct tpd_conn *);

unsigned int
tpd_conn_count(void)
{
	return conn_n;
}

static void
conn_close(struct tpd_conn *conn, const char *why)
{
	if (conn->c_dead)
		return;
	conn->c_dead = true;
	tpd_debug("connection %llu (uid %u pid %d%s%s) closed: %s",
	    (unsigned long long)conn->c_id, (unsigned int)conn->c_uid, (int)conn->c_pid,
	    conn->c_name[0] != '\0' ? " " : "", conn->c_name, why);
	tpd_jobs_conn_gone(conn);
	event_free(conn->c_rev);
	event_free(conn->c_wev);
	conn->c_rev = conn->c_wev = NULL;
	if (conn->c_rto_ev != NULL) {
		event_free(conn->c_rto_ev);
		conn->c_rto_ev = NULL;
		conn->c_rto_on = false;
	}
	(void)close(conn->c_fd);
	conn->c_fd = -1;
	tpd_listen_fd_freed();
	free(conn->c_in);
	free(conn->c_out);
	conn->c_in = conn->c_out = NULL;
	conn->c_in_len = conn->c_in_cap = 0;
	conn->c_out_off = conn->c_out_len = conn->c_out_cap = 0;
	if (conn->c_flushq) {
		TAILQ_REMOVE(&conn_flushq, conn, c_flushent);
		conn->c_flushq = false;
	}
	if (conn->c_heldq) {
		TAILQ_REMOVE(&conn_heldq, conn, c_flushent);
		conn->c_heldq = false;
	}
	TAILQ_REMOVE(&conn_list, conn, c_entry);
	TAILQ_INSERT_TAIL(&conn_dead, conn, c_entry);
	conn_n--;
	tpd_user_rele(conn->c_user);
	conn->c_user = NULL;
}

/*
 * Give up on a connection from inside a send or a handler: drop its output
 * and close it at the next flush, not now, so that nobody up the stack (a
 * loop over a job's watchers) sees its links vanish.
 */
static void
conn_fail(struct tpd_conn *conn)
{
	if (conn->c_dead || conn->c_broken)
		return;
	conn->c_broken = true;
	conn->c_closing = true;
	conn->c_out_off = conn->c_out_len = 0;
	if (!conn->c_read_paused) {
		conn->c_read_paused = true;
		(void)event_del(conn->c_rev);
	}
	conn_flush_later(conn);
}

/* Refuse a connection over --max-connections: one Error frame, then close. */
static void
conn_refuse(int fd, Tpool__ErrorCode code, const char *message)
{
	Tpool__ServerMessage sm = TPOOL__SERVER_MESSAGE__INIT;
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__Error err = TPOOL__ERROR__INIT;
	uint8_t buf[256];
	size_t len;

	err.has_code = true;
	err.code = code;
	err.message = (char *)message;
	resp.body_case = TPOOL__RESPONSE__BODY_ERROR;
	resp.error = &err;
	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_RESPONSE;
	sm.response = &resp;
	len = protobuf_c_message_get_packed_size(&sm.base);
	if (len + TP_FRAME_HDR_LEN <= sizeof(buf)) {
		tp_frame_put_header(buf, (uint32_t)len);
		(void)protobuf_c_message_pack(&sm.base, buf + TP_FRAME_HDR_LEN);
		/* A fresh socket's buffer has room; if not, the client loses the why. */
		(void)send(fd, buf, len + TP_FRAME_HDR_LEN, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	(void)close(fd);
}

void
tpd_conn_accept(int fd)
{
	struct ucred cred;
	socklen_t credlen = sizeof(cred);

	if (conn_n >= tpd_opt.o_max_connections) {
		tpd_info("refusing a connection: %u connections open (--max-connections)",
		    conn_n);
		conn_refuse(fd, TPOOL__ERROR_CODE__ERROR_TOO_MANY_CONNECTIONS,
		    "too many connections");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) != 0) {
		tpd_warn("SO_PEERCRED: %s; dropping the connection", strerror(errno));
		(void)close(fd);
		return;
	}
	(void)tpd_conn_attach(fd, cred.uid, cred.gid, cred.pid, NULL);
}

int
tpd_conn_attach(int fd, uid_t uid, gid_t gid, pid_t pid, struct tpd_conn **ret_conn)
{
	struct tpd_conn *conn;

	if ((conn = calloc(1, sizeof(*conn))) == NULL)
		goto nomem;
	conn->c_fd = fd;
	conn->c_uid = uid;
	conn->c_gid = gid;
	conn->c_pid = pid;
	TAILQ_INIT(&conn->c_jobs);
	LIST_INIT(&conn->c_watches);
	if ((conn->c_user = tpd_user_hold(uid)) == NULL)
		goto nomem;
	conn->c_rev = event_new(tpd_base, fd, EV_READ | EV_PERSIST, conn_read_cb, conn);
	conn->c_wev = event_new(tpd_base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, conn);
	if (conn->c_rev == NULL || conn->c_wev == NULL || event_add(conn->c_rev, NULL) != 0)
		goto nomem;
	conn->c_id = conn_next_id++;
	TAILQ_INSERT_TAIL(&conn_list, conn, c_entry);
	conn_n++;
	tpd_debug("connection %llu: uid %u gid %u pid %d", (unsigned long long)conn->c_id,
	    (unsigned int)uid, (unsigned int)gid, (int)pid);
	if (ret_conn != NULL)
		*ret_conn = conn;
	return 0;

nomem:
	tpd_err("out of memory accepting a connection");
	if (conn != NULL) {
		if (conn->c_rev != NULL)
			event_free(conn->c_rev);
		if (conn->c_wev != NULL)
			event_free(conn->c_wev);
		if (conn->c_user != NULL)
			tpd_user_rele(conn->c_user);
		free(conn);
	}
	conn_refuse(fd, TPOOL__ERROR_CODE__ERROR_INTERNAL, "out of memory");
	return ENOMEM;
}

static void
conn_flush_later(struct tpd_conn *conn)
{
	if (conn->c_heldq) {
		TAILQ_REMOVE(&conn_heldq, conn, c_flushent);
		conn->c_heldq = false;
	}
	if (!conn->c_flushq) {
		TAILQ_INSERT_TAIL(&conn_flushq, conn, c_flushent);
		conn->c_flushq = true;
	}
}

void
tpd_conn_hold(struct tpd_conn *conn)
{
	conn->c_hold = true;
}

void
tpd_conn_release_held(void)
{
	struct tpd_conn *conn;

	while ((conn = TAILQ_FIRST(&conn_heldq)) != NULL) {
		conn->c_hold = false;
		conn_flush_later(conn);
	}
}

/*
 * Make room for len more output bytes; false (and the connection closed)
 * when that would pass --max-output or memory runs out.  A message always
 * fits in an empty queue, whatever its size (each is bounded by its own
 * limit: --max-result, the status list's 1 MiB), so a client that reads
 * gets every reply; one that does not is dropped once what it left
 * unread and the next message pass --max-output.
 */
static bool
conn_out_reserve(struct tpd_conn *conn, size_t len)
{
	size_t pending = conn->c_out_len - conn->c_out_off, cap;
	uint8_t *p;

	if (pending > 0 && pending + len > tpd_opt.o_max_output) {
		tpd_info("connection %llu (uid %u) is not reading: %zu bytes waiting; "
		    "closing it", (unsigned long long)conn->c_id, (unsigned int)conn->c_uid,
		    pending);
		conn_fail(conn);
		return false;
	}
	if (conn->c_out_len + len <= conn->c_out_cap)
		return true;
	if (conn->c_out_off > 0) {
		memmove(conn->c_out, conn->c_out + conn->c_out_off, pending);
		conn->c_out_off = 0;
		conn->c_out_len = pending;
		if (pending + len <= conn->c_out_cap)
			return true;
	}
	cap = conn->c_out_cap < 4096 ? 4096 : conn->c_out_cap;
	while (cap < pending + len)
		cap *= 2;
	if ((p = realloc(conn->c_out, cap)) == NULL) {
		tpd_err("out of memory queuing %zu bytes for connection %llu", len,
		    (unsigned long long)conn->c_id);
		conn_fail(conn);
		return false;
	}
	conn->c_out = p;
	conn->c_out_cap = cap;
	return true;
}

static void
conn_out_queued(struct tpd_conn *conn)
{
	/* Anything queued after a SubmitReply ends its wait. */
	conn->c_hold = false;
	conn_flush_later(conn);
	if (!conn->c_read_paused &&
	    conn->c_out_len - conn->c_out_off > CONN_OUT_HIGH) {
		conn->c_read_paused = true;
		(void)event_del(conn->c_rev);
	}
}

void
tpd_conn_send(struct tpd_conn *conn, const Tpool__ServerMessage *msg)
{
	size_t len;
	uint8_t *p;

	if (conn->c_dead || conn->c_broken)
		return;
	len = protobuf_c_message_get_packed_size(&msg->base);
	if (len > UINT32_MAX) {
		tpd_err("message of %zu bytes cannot be framed", len);
		return;
	}
	if (!conn_out_reserve(conn, TP_FRAME_HDR_LEN + len))
		return;
	p = conn->c_out + conn->c_out_len;
	tp_frame_put_header(p, (uint32_t)len);
	(void)protobuf_c_message_pack(&msg->base, p + TP_FRAME_HDR_LEN);
	conn->c_out_len += TP_FRAME_HDR_LEN + len;
	conn_out_queued(conn);
}

void
tpd_conn_send_frame(struct tpd_conn *conn, const uint8_t *frame, size_t len)
{
	if (conn->c_dead || conn->c_broken || !conn_out_reserve(conn, len))
		return;
	memcpy(conn->c_out + conn->c_out_len, frame, len);
	conn->c_out_len += len;
	conn_out_queued(conn);
}

void
tpd_conn_close_after_flush(struct tpd_conn *conn)
{
	if (conn->c_dead || conn->c_closing)
		return;
	conn->c_closing = true;
	conn->c_hold = false;
	if (!conn->c_read_paused) {
		conn->c_read_paused = true;
		(void)event_del(conn->c_rev);
	}
	conn_flush_later(conn);
}

static void
conn_write(struct tpd_conn *conn)
{
	size_t pending;
	ssize_t n;

	while ((pending = conn->c_out_len - conn->c_out_off) > 0) {
		n = send(conn->c_fd, conn->c_out + conn->c_out_off, pending,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			conn->c_out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!conn->c_wev_on) {
				conn->c_wev_on = true;
				(void)event_add(conn->c_wev, NULL);
			}
			break;
		}
		conn_close(conn, n < 0 ? strerror(errno) : "write returned 0");
		return;
	}
	if (pending == 0) {
		conn->c_out_off = conn->c_out_len = 0;
		if (conn->c_out_cap > CONN_OUT_KEEP) {
			free(conn->c_out);
			conn->c_out = NULL;
			conn->c_out_cap = 0;
		}
		if (conn->c_wev_on) {
			conn->c_wev_on = false;
			(void)event_del(conn->c_wev);
		}
		if (conn->c_closing) {
			conn_close(conn, conn->c_broken ? "dropped (not reading, or no memory)" :
			    "closed by the daemon");
			return;
		}
	}
	if (conn->c_read_paused && !conn->c_closing && !conn_draining &&
	    conn->c_out_len - conn->c_out_off < CONN_OUT_LOW) {
		conn->c_read_paused = false;
		(void)event_add(conn->c_rev, NULL);
	}
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tpd_conn *conn = arg;

	conn_write(conn);
	tpd_conn_flush_all();
}

void
tpd_conn_flush_all(void)
{
	struct tpd_conn *conn;

	while ((conn = TAILQ_FIRST(&conn_flushq)) != NULL) {
		TAILQ_REMOVE(&conn_flushq, conn, c_flushent);
		conn->c_flushq = false;
		if (conn->c_hold && !conn->c_closing &&
		    conn->c_out_len - conn->c_out_off < CONN_HOLD_MAX) {
			TAILQ_INSERT_TAIL(&conn_heldq, conn, c_flushent);
			conn->c_heldq = true;
			continue;
		}
		conn->c_hold = false;
		conn_write(conn);
	}
	while ((conn = TAILQ_FIRST(&conn_dead)) != NULL) {
		TAILQ_REMOVE(&conn_dead, conn, c_entry);
		free(conn);
	}
	if (conn_draining && conn_n == 0 && conn_drain_done != NULL) {
		void (*done)(void) = conn_drain_done;

		conn_drain_done = NULL;
		done();
	}
}

/*
 * Handle every complete frame of data[0..len); returns how many bytes were
 * used.  Stops early when the connection is to be closed.
 */
static size_t
conn_frames(struct tpd_conn *conn, const uint8_t *data, size_t len)
{
	const uint8_t *body = NULL;
	size_t off = 0, body_len = 0, frame_len = 0;

	while (!conn->c_closing && !conn->c_dead) {
		switch (tp_frame_parse(data + off, len - off, tpd_opt.o_max_frame, &body,
		    &body_len, &frame_len)) {
		case TP_FRAME_NEED_MORE:
			return off;
		case TP_FRAME_TOO_LARGE:
			tpd_reply_error(conn, 0, TPOOL__ERROR_CODE__ERROR_FRAME_TOO_LARGE,
			    "frame of %zu bytes is over the limit of %u bytes", body_len,
			    tpd_opt.o_max_frame);
			tpd_conn_close_after_flush(conn);
			return len;
		case TP_FRAME_OK:
			tpd_dispatch(conn, body, body_len);
			off += frame_len;
			break;
		}
	}
	return len;
}

/* Keep the first bytes of a partial frame in c_in (at most one frame). */
static bool
conn_in_append(struct tpd_conn *conn, const uint8_t *data, size_t len)
{
	size_t need = conn->c_in_len + len, cap;
	uint8_t *p;

	if (need > conn->c_in_cap) {
		cap = conn->c_in_cap < 256 ? 256 : conn->c_in_cap;
		while (cap < need)
			cap *= 2;
		if ((p = realloc(conn->c_in, cap)) == NULL) {
			tpd_err("out of memory reading from connection %llu",
			    (unsigned long long)conn->c_id);
			conn_fail(conn);
			return false;
		}
		conn->c_in = p;
		conn->c_in_cap = cap;
	}
	memcpy(conn->c_in + conn->c_in_len, data, len);
	conn->c_in_len += len;
	return true;
}

/*
 * Move bytes from *data into c_in until it holds want bytes: 1 once it
 * does, 0 when *data ran out first, -1 when the connection failed.
 */
static int
conn_in_fill(struct tpd_conn *conn, const uint8_t **data, size_t *len, size_t want)
{
	size_t take;

	if (conn->c_in_len >= want)
		return 1;
	take = want - conn->c_in_len;
	if (take > *len)
		take = *len;
	if (!conn_in_append(conn, *data, take))
		return -1;
	*data += take;
	*len -= take;
	return conn->c_in_len >= want ? 1 : 0;
}

static void
conn_rto_arm(struct tpd_conn *conn, uint64_t after_ns)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(after_ns / 1000000000u);
	tv.tv_usec = (suseconds_t)(after_ns % 1000000000u / 1000);
	if (evtimer_add(conn->c_rto_ev, &tv) == 0)
		conn->c_rto_on = true;
}

static void
conn_rto_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tpd_conn *conn = arg;
	uint64_t age, limit = tpd_opt.o_read_timeout_ns;

	conn->c_rto_on = false;
	if (conn->c_dead || conn->c_closing || conn->c_in_len == 0)
		return;
	if (conn->c_read_paused) {
		/* We stopped reading it (its output waits): not its delay. */
		conn->c_in_since_ns = tpd_now_ns();
		conn_rto_arm(conn, limit);
		return;
	}
	age = tpd_now_ns() - conn->c_in_since_ns;
	if (age < limit) {
		/* A newer partial frame than the one the timer was set for. */
		conn_rto_arm(conn, limit - age);
		return;
	}
	tpd_info("connection %llu (uid %u): a frame did not arrive whole within %llu ms "
	    "(%zu bytes of it came); closing", (unsigned long long)conn->c_id,
	    (unsigned int)conn->c_uid, (unsigned long long)(limit / 1000000), conn->c_in_len);
	tpd_reply_error(conn, 0, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST,
	    "a request frame did not arrive whole within %llu ms",
	    (unsigned long long)(limit / 1000000));
	/* Try to tell it, but a slow peer gets no time to read it. */
	conn_write(conn);
	conn_close(conn, "read timeout");
	tpd_conn_flush_all();
}

/* A partial frame was just kept in c_in: note when it began. */
static void
conn_partial_began(struct tpd_conn *conn)
{
	uint64_t limit = tpd_opt.o_read_timeout_ns;

	conn->c_in_since_ns = tpd_now_ns();
	if (limit == 0 || conn->c_rto_on)
		return;
	if (conn->c_rto_ev == NULL &&
	    (conn->c_rto_ev = evtimer_new(tpd_base, conn_rto_cb, conn)) == NULL) {
		tpd_err("out of memory arming the read timeout of connection %llu",
		    (unsigned long long)conn->c_id);
		conn_fail(conn);
		return;
	}
	conn_rto_arm(conn, limit);
}

static void
conn_read(struct tpd_conn *conn)
{
	const uint8_t *data = conn_scratch;
	size_t len, take, total;
	uint32_t body_len;
	ssize_t n;

	n = read(conn->c_fd, conn_scratch, sizeof(conn_scratch));
	if (n == 0) {
		/*
		 * The peer is done sending (it may have only half-closed):
		 * it still gets every reply owed, held ones included, and
		 * then the connection is closed.  A partial frame is dropped.
		 */
		if (conn->c_in_len > 0)
			tpd_debug("connection %llu: end of file in the middle of a "
			    "frame", (unsigned long long)conn->c_id);
		tpd_conn_close_after_flush(conn);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(conn, strerror(errno));
		return;
	}
	len = (size_t)n;

	/* First complete the partial frame kept from the last read. */
	if (conn->c_in_len > 0) {
		if (conn_in_fill(conn, &data, &len, TP_FRAME_HDR_LEN) <= 0)
			return;
		body_len = tp_frame_get_header(conn->c_in);
		if (body_len > tpd_opt.o_max_frame) {
			/* Refused from its header: conn_frames answers and closes. */
			(void)conn_frames(conn, conn->c_in, conn->c_in_len);
			conn->c_in_len = 0;
			return;
		}
		total = TP_FRAME_HDR_LEN + (size_t)body_len;
		if (conn_in_fill(conn, &data, &len, total) <= 0)
			return;
		(void)conn_frames(conn, conn->c_in, conn->c_in_len);
		if (conn->c_dead)
			return;
		conn->c_in_len = 0;
		if (conn->c_in_cap > CONN_READ_CHUNK) {
			free(conn->c_in);
			conn->c_in = NULL;
			conn->c_in_cap = 0;
		}
	}

	take = conn_frames(conn, data, len);
	if (!conn->c_dead && !conn->c_closing && take < len &&
	    conn_in_append(conn, data + take, len - take))
		conn_partial_began(conn);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tpd_conn *conn = arg;

	conn_read(conn);
	tpd_cq_spin_for_ends();
	tpd_conn_flush_all();
}

void
tpd_conn_drain_all(void (*done)(void))
{
	struct tpd_conn *conn;

	conn_draining = true;
	conn_drain_done = done;
	tpd_conn_release_held();
	TAILQ_FOREACH(conn, &conn_list, c_entry)
		tpd_conn_close_after_flush(conn);
	tpd_conn_flush_all();
}

void
tpd_conn_free_all(void)
{
	struct tpd_conn *conn;

	while ((conn = TAILQ_FIRST(&conn_list)) != NULL)
		conn_close(conn, "the daemon is exiting");
	conn_drain_done = NULL;
	tpd_conn_flush_all();
	conn_draining = false;
}
