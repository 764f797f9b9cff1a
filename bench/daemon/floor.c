/*
 * floor.c -- the echo floor: the least a round trip over a Unix socket
 * between two processes costs, measured beside tpoold in the same run.
 *
 * The server runs in a child forked by proc.c: one thread, level-triggered
 * epoll, non-blocking sockets, the same framing as tpoold (a 4-byte
 * big-endian length, then the body); every whole frame read is written back
 * as it came.  One recv per readiness, so a round trip costs it epoll_wait,
 * recv and send: what any single-threaded event loop must do, and nothing
 * more (no decoding, no allocation per message).
 *
 * The client is a blocking socket: send the frame, recv until the whole
 * frame is back.  Timeouts (SO_RCVTIMEO/SO_SNDTIMEO) bound every call.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "frame.h"

#define	FLOOR_BUF	(64u * 1024)
#define	FLOOR_MAX_FRAME	(1u << 20)

/* One connection of the server. */
struct floor_conn {
	int		fc_fd;
	uint8_t		*fc_in;		/* [0, fc_inlen): unparsed */
	size_t		fc_inlen;
	size_t		fc_incap;
	uint8_t		*fc_out;	/* [fc_outoff, fc_outlen): unsent */
	size_t		fc_outoff;
	size_t		fc_outlen;
	size_t		fc_outcap;
	bool		fc_wantout;	/* EPOLLOUT registered */
};

static void
floor_conn_free(int ep, struct floor_conn *fc)
{
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, fc->fc_fd, NULL);
	(void)close(fc->fc_fd);
	free(fc->fc_in);
	free(fc->fc_out);
	free(fc);
}

static int
floor_reserve(uint8_t **buf, size_t *cap, size_t len, size_t need)
{
	uint8_t *n;
	size_t c;

	if (*cap - len >= need)
		return 0;
	c = *cap == 0 ? FLOOR_BUF : *cap;
	while (c - len < need)
		c *= 2;
	if ((n = realloc(*buf, c)) == NULL)
		return ENOMEM;
	*buf = n;
	*cap = c;
	return 0;
}

/* Write what the socket takes; 0, or -1 when the connection is dead. */
static int
floor_conn_write(int ep, struct floor_conn *fc)
{
	struct epoll_event ev;
	ssize_t n;

	while (fc->fc_outoff < fc->fc_outlen) {
		n = send(fc->fc_fd, fc->fc_out + fc->fc_outoff,
		    fc->fc_outlen - fc->fc_outoff, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		fc->fc_outoff += (size_t)n;
	}
	if (fc->fc_outoff == fc->fc_outlen)
		fc->fc_outoff = fc->fc_outlen = 0;
	if ((fc->fc_outlen > 0) != fc->fc_wantout) {
		fc->fc_wantout = fc->fc_outlen > 0;
		ev.events = EPOLLIN | (fc->fc_wantout ? EPOLLOUT : 0);
		ev.data.ptr = fc;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, fc->fc_fd, &ev) != 0)
			return -1;
	}
	return 0;
}

/* One recv; echo every whole frame.  0, or -1 when the connection ends. */
static int
floor_conn_read(int ep, struct floor_conn *fc)
{
	const uint8_t *body;
	size_t off, sent, body_len, frame_len;
	enum tp_frame_result r;
	ssize_t n;

	if (floor_reserve(&fc->fc_in, &fc->fc_incap, fc->fc_inlen, FLOOR_BUF) != 0)
		return -1;
	n = recv(fc->fc_fd, fc->fc_in + fc->fc_inlen, fc->fc_incap - fc->fc_inlen, 0);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return -1;
	fc->fc_inlen += (size_t)n;
	for (off = 0;; off += frame_len) {
		r = tp_frame_parse(fc->fc_in + off, fc->fc_inlen - off,
		    FLOOR_MAX_FRAME, &body, &body_len, &frame_len);
		if (r == TP_FRAME_NEED_MORE)
			break;
		if (r == TP_FRAME_TOO_LARGE)
			return -1;
		sent = 0;
		if (fc->fc_outlen == 0) {
			/* The usual case: answer straight from the input. */
			n = send(fc->fc_fd, fc->fc_in + off, frame_len, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return -1;
			if (n > 0)
				sent = (size_t)n;
		}
		if (sent == frame_len)
			continue;
		/* Behind what is already waiting, or what send did not take. */
		if (floor_reserve(&fc->fc_out, &fc->fc_outcap, fc->fc_outlen,
		    frame_len - sent) != 0)
			return -1;
		memcpy(fc->fc_out + fc->fc_outlen, fc->fc_in + off + sent,
		    frame_len - sent);
		fc->fc_outlen += frame_len - sent;
	}
	if (off > 0) {
		memmove(fc->fc_in, fc->fc_in + off, fc->fc_inlen - off);
		fc->fc_inlen -= off;
	}
	return floor_conn_write(ep, fc);
}

void
floor_server_run(int lfd)
{
	struct epoll_event ev, evs[64];
	struct floor_conn *fc;
	int ep, fd, i, n;

	if ((ep = epoll_create1(0)) < 0)
		_exit(1);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;	/* the listener */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
		_exit(1);
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (i = 0; i < n; i++) {
			if ((fc = evs[i].data.ptr) == NULL) {
				fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
				if (fd < 0)
					continue;
				if ((fc = calloc(1, sizeof(*fc))) == NULL) {
					(void)close(fd);
					continue;
				}
				fc->fc_fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = fc;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
					(void)close(fd);
					free(fc);
				}
				continue;
			}
			if ((evs[i].events & EPOLLOUT) &&
			    floor_conn_write(ep, fc) != 0) {
				floor_conn_free(ep, fc);
				continue;
			}
			if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    floor_conn_read(ep, fc) != 0)
				floor_conn_free(ep, fc);
		}
	}
}

int
floor_connect(const char *path, int *ret_fd)
{
	struct sockaddr_un sun;
	struct timeval tv;
	int fd, error;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	tv.tv_sec = BENCH_CALL_TIMEOUT_MS / 1000;
	tv.tv_usec = (BENCH_CALL_TIMEOUT_MS % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		error = errno;
		(void)close(fd);
		return error;
	}
	*ret_fd = fd;
	return 0;
}

int
floor_roundtrip(int fd, const uint8_t *frame, uint8_t *rbuf, size_t len)
{
	size_t off;
	ssize_t n;

	for (off = 0; off < len; off += (size_t)n) {
		n = send(fd, frame + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			return errno == EAGAIN ? ETIMEDOUT : errno;
		}
	}
	for (off = 0; off < len; off += (size_t)n) {
		n = recv(fd, rbuf + off, len - off, 0);
		if (n < 0) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			return errno == EAGAIN ? ETIMEDOUT : errno;
		}
		if (n == 0)
			return ECONNRESET;
	}
	if (memcmp(frame, rbuf, len) != 0)
		return EPROTO;
	return 0;
}
