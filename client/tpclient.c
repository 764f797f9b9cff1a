/*
 * tpclient.c -- the blocking client library of tpoold (see tpclient.h):
 * its public calls, over the I/O engine of tpc-io.c (how a connection
 * reads, queues and waits is described there).  Each blocking request
 * fills its body and makes the one typed call, tpcio_call().
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "tpc-io.h"
#include "tpclient.h"

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
	if ((error = tpcio_call(c, &req, &body)) != 0)
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
		tpcio_entry_free(q);
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
 * tpcio_call(); the body that comes back is of the type its kind names.
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

/* The end of a submit, from the entry of its response on: consumes q. */
static int
submit_finish(struct tpc *c, Tpool__Request *req, struct tpc_qent *q,
    Tpool__SubmitReply **ret_reply)
{
	ProtobufCMessage *body;
	Tpool__SubmitReply *r;
	int error;

	if ((error = tpcio_call_finish(c, req, q, &body)) != 0)
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
tpc_submit_reply(struct tpc *c, const struct tpc_submit_args *args,
    Tpool__SubmitReply **ret_reply)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Submit s;
	struct tpc_qent *q;
	int error;

	tpc_fill_submit(&req, &s, args);
	if ((error = tpcio_roundtrip_entry(c, &req, &q)) != 0)
		return error;
	return submit_finish(c, &req, q, ret_reply);
}

int
tpc_submit(struct tpc *c, const struct tpc_submit_args *args,
    uint64_t *ret_job_id)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Submit s;
	Tpool__SubmitReply *r;
	struct tpc_qent *q;
	int error;

	tpc_fill_submit(&req, &s, args);
	if ((error = tpcio_roundtrip_entry(c, &req, &q)) != 0)
		return error;
	/* The job id off the peek: nothing to unpack. */
	if (q->tq_pk.tpk_kind == TPOOL__RESPONSE__BODY_SUBMIT &&
	    q->tq_pk.tpk_has_job_id) {
		*ret_job_id = q->tq_pk.tpk_job_id;
		tpcio_entry_free(q);
		return 0;
	}
	/* Anything else (an error, a reply without an id) as any call. */
	if ((error = submit_finish(c, &req, q, &r)) != 0)
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
	if ((error = tpcio_call(c, &req, &body)) == 0)
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
	if ((error = tpcio_call(c, &req, &body)) == 0)
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
	error = tpcio_call(c, &req, ret_reply != NULL ? &body : NULL);
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
	if ((error = tpcio_call(c, &req, &body)) == 0)
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
	if ((error = tpcio_call(c, &req, &body)) == 0)
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
	if ((error = tpcio_call(c, &req, &body)) == 0)
		*ret_metrics = (Tpool__MetricsReply *)body;
	return error;
}

int
tpc_request(struct tpc *c, Tpool__Request *req, Tpool__Response **ret_resp)
{
	Tpool__Response *resp;
	int error;

	error = tpcio_roundtrip(c, req, &resp);
	if (error != 0 && error != TPC_EDAEMON)
		return error;
	return tpcio_hand_over(error, resp, ret_resp);
}

/* ---------------------------------------------------------------- events */

int
tpc_next_event(struct tpc *c, Tpool__Event **ret_ev)
{
	Tpool__ServerMessage *m;
	Tpool__Event *ev;
	int64_t deadline;
	int error;

	deadline = tpcio_deadline(c);
	if ((error = tpcio_flush_for_wait(c, deadline)) != 0)
		return error;
	if ((error = tpcio_take(c, TAKE_EVENT, 0, deadline, &m)) != 0)
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
	struct tpc_qent *q;
	Tpool__ServerMessage *m;
	Tpool__JobInfo *ji;
	Tpool__Event *ev;
	int64_t deadline;
	int error;

	deadline = tpcio_deadline(c);
	if ((error = tpcio_flush_for_wait(c, deadline)) != 0)
		return error;
	for (;;) {
		error = tpcio_take_entry(c, TAKE_JOB_EVENT, job_id, deadline,
		    &q);
		if (error != 0)
			return error;
		if (fn == NULL &&
		    q->tq_pk.tpk_kind != TPOOL__EVENT__KIND_FINISHED) {
			/* Nobody to show it to: unread. */
			tpcio_entry_free(q);
			continue;
		}
		if ((error = tpcio_entry_unpack(c, q, &m)) != 0)
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

	if ((error = tpcio_queue_request(c, req, &id)) != 0)
		return error;
	if (c->tpc_wlen - c->tpc_woff >= WBUF_FLUSH &&
	    (error = tpcio_flush(c, tpcio_deadline(c))) != 0)
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
	return tpcio_flush(c, tpcio_deadline(c));
}

int
tpc_read_message(struct tpc *c, Tpool__ServerMessage **ret_msg)
{
	int64_t deadline;
	int error;

	deadline = tpcio_deadline(c);
	if (c->tpc_qhead == NULL &&
	    (error = tpcio_flush_for_wait(c, deadline)) != 0)
		return error;
	return tpcio_take(c, TAKE_ANY, 0, deadline, ret_msg);
}

int
tpc_wait_response(struct tpc *c, uint64_t request_id,
    Tpool__Response **ret_resp)
{
	Tpool__Response *resp;
	int64_t deadline;
	int error;

	deadline = tpcio_deadline(c);
	if ((error = tpcio_flush_for_wait(c, deadline)) != 0)
		return error;
	error = tpcio_wait_response(c, request_id, deadline, &resp);
	if (error != 0 && error != TPC_EDAEMON)
		return error;
	return tpcio_hand_over(error, resp, ret_resp);
}
