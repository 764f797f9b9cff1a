/*
 * metrics-http.c -- the metrics endpoint: `GET /metrics` over HTTP/1.x,
 * answered with exposition.c's text, on the socket systemd passes under
 * the name "metrics" (tpoold-metrics.socket: loopback) or one bound at
 * --metrics-listen ADDR:PORT.  Without either, nothing listens.
 *
 * A small responder of its own on libevent's bufferevents rather than
 * evhttp: libevent 2.1's evhttp cannot bound how many connections it
 * holds, and every local user can reach a loopback port.  Bounds:
 *
 *	connections	METRICS_MAX_CONNS at once; more are closed when
 *			accepted (a scraper retries at its next interval)
 *	a request	METRICS_MAX_REQUEST bytes of request line and
 *			headers, read within METRICS_TIMEOUT_S; a body is
 *			never read (GET and HEAD only)
 *	an answer	one per connection, then the connection is closed
 *			once written (or after METRICS_TIMEOUT_S)
 *
 * Answers: 200 with the metrics at /metrics (Content-Type text/plain;
 * version=0.0.4), 404 elsewhere, 405 for another method, 400 for a
 * request line that is not one.  Accepting pauses for a second when the
 * process is out of descriptors, as listen.c does.
 *
 * Everything here is the loop's (l).
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "exposition.h"
#include "listen.h"
#include "log.h"
#include "metrics-http.h"
#include "options.h"

#define	METRICS_MAX_CONNS	8
#define	METRICS_MAX_REQUEST	8192
#define	METRICS_TIMEOUT_S	5
#define	METRICS_ACCEPT_BATCH	16
#define	METRICS_PAUSE_MS	1000

static int mh_fd = -1;				/* l: the listening socket */
static struct event *mh_ev;			/* l */
static struct event *mh_pause_ev;		/* l */
static struct event_base *mh_base;		/* l */
static struct bufferevent *mh_conns[METRICS_MAX_CONNS];	/* l: open ones */
static unsigned int mh_nconns;			/* l */

/* -------------------------------------------------------------- answering */

static void
mh_conn_free(struct bufferevent *bev)
{
	unsigned int i;

	for (i = 0; i < mh_nconns; i++)
		if (mh_conns[i] == bev)
			break;
	if (i < mh_nconns)
		mh_conns[i] = mh_conns[--mh_nconns];
	bufferevent_free(bev);
}

/* Written: close. */
static void
mh_written(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		mh_conn_free(bev);
}

static void
mh_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	(void)what;
	/* EOF, an error or a timeout, before the answer was out. */
	mh_conn_free(bev);
}

/* Queue the answer (body may be NULL: none, as for HEAD). */
static void
mh_answer(struct bufferevent *bev, const char *status, const char *type,
    const char *body, size_t len, bool head)
{
	struct evbuffer *out = bufferevent_get_output(bev);

	(void)evbuffer_add_printf(out, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, type,
	    len);
	if (!head && body != NULL)
		(void)evbuffer_add(out, body, len);
	(void)bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, mh_written, mh_event, NULL);
	(void)bufferevent_enable(bev, EV_WRITE);
}

static void
mh_text(struct bufferevent *bev, const char *status, const char *text,
    bool head)
{
	mh_answer(bev, status, "text/plain; charset=utf-8", text, strlen(text),
	    head);
}

/* The request line "METHOD TARGET HTTP/x.y" of line (NUL-terminated). */
static void
mh_request(struct bufferevent *bev, char *line)
{
	char *method, *target, *version, *save = NULL;
	size_t len;
	char *text;
	bool head;

	method = strtok_r(line, " ", &save);
	target = strtok_r(NULL, " ", &save);
	version = strtok_r(NULL, " ", &save);
	if (method == NULL || target == NULL || version == NULL ||
	    strncmp(version, "HTTP/1.", 7) != 0) {
		mh_text(bev, "400 Bad Request", "not an HTTP/1 request\n",
		    false);
		return;
	}
	head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		mh_text(bev, "405 Method Not Allowed", "GET or HEAD only\n",
		    false);
		return;
	}
	target[strcspn(target, "?")] = '\0';
	if (strcmp(target, "/metrics") != 0) {
		mh_text(bev, "404 Not Found", "tpoold serves /metrics only\n",
		    head);
		return;
	}
	if (tpd_exposition(&text, &len) != 0) {
		mh_text(bev, "503 Service Unavailable", "out of memory\n",
		    head);
		return;
	}
	mh_answer(bev, "200 OK", "text/plain; version=0.0.4; charset=utf-8",
	    text, len, head);
	free(text);
}

/* Read: wait for the end of the headers, then answer the request line. */
static void
mh_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end;
	size_t eol_len;
	char *line;

	(void)arg;
	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0)
		end = evbuffer_search(in, "\n\n", 2, NULL);
	if (end.pos < 0) {
		if (evbuffer_get_length(in) > METRICS_MAX_REQUEST)
			mh_text(bev, "431 Request Header Fields Too Large",
			    "request too large\n", false);
		return;
	}
	line = evbuffer_readln(in, &eol_len, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		mh_text(bev, "400 Bad Request", "no request line\n", false);
		return;
	}
	mh_request(bev, line);
	free(line);
}

/* ------------------------------------------------------------- accepting */

static void mh_accept(evutil_socket_t, short, void *);

static void
mh_pause_over(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	(void)event_add(mh_ev, NULL);
}

static void
mh_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct timeval tv = { METRICS_PAUSE_MS / 1000,
	    (METRICS_PAUSE_MS % 1000) * 1000 };
	struct timeval to = { METRICS_TIMEOUT_S, 0 };
	struct bufferevent *bev;
	int fd, i;

	(void)what;
	(void)arg;
	for (i = 0; i < METRICS_ACCEPT_BATCH; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Off the loop for a while: it stays
				 * readable. */
				(void)event_del(mh_ev);
				(void)evtimer_add(mh_pause_ev, &tv);
			}
			return;
		}
		if (mh_nconns >= METRICS_MAX_CONNS) {
			(void)close(fd);
			continue;
		}
		bev = bufferevent_socket_new(mh_base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL) {
			(void)close(fd);
			continue;
		}
		mh_conns[mh_nconns++] = bev;
		bufferevent_setwatermark(bev, EV_READ, 0,
		    METRICS_MAX_REQUEST + 1);
		bufferevent_setcb(bev, mh_read, NULL, mh_event, NULL);
		(void)bufferevent_set_timeouts(bev, &to, &to);
		(void)bufferevent_enable(bev, EV_READ);
	}
}

/* -------------------------------------------------------------- set-up */

/* Bind --metrics-listen "HOST:PORT" ("[V6]:PORT").  0 or an errno. */
static int
mh_bind(const char *spec)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256], *port;
	int fd = -1, error, on = 1;

	if (strlen(spec) >= sizeof(host)) {
		tpd_err("--metrics-listen %s: too long", spec);
		return EINVAL;
	}
	(void)snprintf(host, sizeof(host), "%s", spec);
	if ((port = strrchr(host, ':')) == NULL || port[1] == '\0') {
		tpd_err("--metrics-listen %s: give HOST:PORT (e.g. "
		    "127.0.0.1:9464)", spec);
		return EINVAL;
	}
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if ((error = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints,
	    &res)) != 0) {
		tpd_err("--metrics-listen %s: %s", spec, gai_strerror(error));
		return EINVAL;
	}
	error = EADDRNOTAVAIL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			error = errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 16) == 0)
			break;
		error = errno;
		(void)close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		tpd_err("--metrics-listen %s: %s", spec, strerror(error));
		return error;
	}
	mh_fd = fd;
	return 0;
}

/* Say where the bound socket is (the port the kernel chose for port 0). */
static void
mh_say_where(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[128], port[16];

	if (getsockname(mh_fd, (struct sockaddr *)&ss, &len) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		tpd_info("metrics at /metrics on %s", tpd_opt.o_metrics_listen);
		return;
	}
	tpd_info("metrics at http://%s%s%s:%s/metrics", ss.ss_family ==
	    AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "",
	    port);
}

int
tpd_metrics_http_start(struct event_base *base)
{
	int error;

	mh_base = base;
	mh_nconns = 0;
	if ((mh_fd = tpd_listen_take_metrics_fd()) >= 0)
		tpd_info("metrics at /metrics on the socket systemd passed");
	else if (tpd_opt.o_metrics_listen == NULL)
		return 0;
	else if ((error = mh_bind(tpd_opt.o_metrics_listen)) != 0)
		return error;
	else
		mh_say_where();
	mh_ev = event_new(base, mh_fd, EV_READ | EV_PERSIST, mh_accept, NULL);
	mh_pause_ev = evtimer_new(base, mh_pause_over, NULL);
	if (mh_ev == NULL || mh_pause_ev == NULL ||
	    event_add(mh_ev, NULL) != 0) {
		tpd_metrics_http_stop();
		return ENOMEM;
	}
	return 0;
}

void
tpd_metrics_http_stop(void)
{
	while (mh_nconns > 0)
		mh_conn_free(mh_conns[0]);
	if (mh_ev != NULL)
		event_free(mh_ev);
	if (mh_pause_ev != NULL)
		event_free(mh_pause_ev);
	mh_ev = mh_pause_ev = NULL;
	if (mh_fd >= 0)
		(void)close(mh_fd);
	mh_fd = -1;
}
