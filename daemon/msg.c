/*
 * msg.c -- the one place that builds and frames what the daemon sends: a
 * ServerMessage is packed straight into the connection's output buffer
 * (conn.c's tpd_conn_out_reserve/commit) behind its 4-byte header: the
 * per-job messages (a SubmitReply, the started, progress and finished
 * events) by proto/fastpack.c, the same bytes in less time, the rest by
 * protobuf-c.  An event, which may go to several connections (its
 * submitter and its watchers), is encoded once into msg_event and copied
 * to each.
 *
 * Everything here is the loop thread's (l).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "fastpack.h"
#include "frame.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "names.h"

static uint8_t *msg_event;		/* l: the last event's frame */
static size_t msg_event_len;		/* l: 0: none */
static size_t msg_event_cap;		/* l */

/*
 * Frame sm into conn's output.  A per-job message (fastpack.h) is sized
 * and packed by hand, the rest by protobuf-c.
 */
static void
msg_send(struct tpd_conn *conn, const Tpool__ServerMessage *sm)
{
	size_t len = tp_fastpack(sm, NULL, 0);
	bool fast = len != 0;
	uint8_t *p;

	if (!fast)
		len = protobuf_c_message_get_packed_size(&sm->base);
	if (len > UINT32_MAX) {
		tpd_err("message of %zu bytes cannot be framed", len);
		return;
	}
	if ((p = tpd_conn_out_reserve(conn, TP_FRAME_HDR_LEN + len)) == NULL)
		return;
	tp_frame_put_header(p, (uint32_t)len);
	if (fast)
		(void)tp_fastpack(sm, p + TP_FRAME_HDR_LEN, len);
	else
		(void)protobuf_c_message_pack(&sm->base, p + TP_FRAME_HDR_LEN);
	tpd_conn_out_commit(conn, TP_FRAME_HDR_LEN + len);
}

void
tpd_msg_reply(struct tpd_conn *conn, uint64_t request_id,
    Tpool__Response *resp)
{
	Tpool__ServerMessage sm = TPOOL__SERVER_MESSAGE__INIT;

	resp->has_request_id = true;
	resp->request_id = request_id;
	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_RESPONSE;
	sm.response = resp;
	msg_send(conn, &sm);
}

static void
msg_error(struct tpd_conn *conn, uint64_t request_id,
    Tpool__ErrorCode code, const char *message)
{
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__Error err = TPOOL__ERROR__INIT;

	tpd_metrics_refused(code);
	err.has_code = true;
	err.code = code;
	err.message = (char *)message;
	resp.body_case = TPOOL__RESPONSE__BODY_ERROR;
	resp.error = &err;
	tpd_debug("connection %llu request %llu: %s: %s",
	    (unsigned long long)tpd_conn_id(conn),
	    (unsigned long long)request_id, tp_error_name(code), message);
	tpd_msg_reply(conn, request_id, &resp);
}

void
tpd_msg_error(struct tpd_conn *conn, uint64_t request_id,
    Tpool__ErrorCode code, const char *fmt, ...)
{
	char message[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	msg_error(conn, request_id, code, message);
}

void
tpd_msg_refuse(struct tpd_conn *conn, Tpool__ErrorCode code,
    const char *message)
{
	msg_error(conn, 0, code, message);
}

void
tpd_msg_cancel_reply(struct tpd_conn *conn, uint64_t request_id,
    Tpool__CancelResult result, Tpool__JobInfo *info)
{
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__CancelReply cr = TPOOL__CANCEL_REPLY__INIT;

	cr.has_result = true;
	cr.result = result;
	cr.job = info;
	resp.body_case = TPOOL__RESPONSE__BODY_CANCEL;
	resp.cancel = &cr;
	tpd_msg_reply(conn, request_id, &resp);
}

/* --------------------------------------------------------------- events */

/*
 * Encode ev, framed, into msg_event: packed by hand into the buffer it
 * has when it fits (fastpack.h), else sized, the buffer grown, packed.
 */
static bool
msg_event_encode(Tpool__Event *ev)
{
	Tpool__ServerMessage sm = TPOOL__SERVER_MESSAGE__INIT;
	size_t len = 0;
	uint8_t *p;

	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_EVENT;
	sm.event = ev;
	msg_event_len = 0;
	if (msg_event_cap > TP_FRAME_HDR_LEN)
		len = tp_fastpack(&sm, msg_event + TP_FRAME_HDR_LEN,
		    msg_event_cap - TP_FRAME_HDR_LEN);
	if (len == 0 || TP_FRAME_HDR_LEN + len > msg_event_cap) {
		if (len == 0)
			len = protobuf_c_message_get_packed_size(
			    &sm.base);
		if (len > UINT32_MAX - TP_FRAME_HDR_LEN) {
			tpd_err("event of job %llu: %zu bytes cannot be "
			    "framed", (unsigned long long)ev->job_id, len);
			return false;
		}
		if (TP_FRAME_HDR_LEN + len > msg_event_cap) {
			if ((p = realloc(msg_event, TP_FRAME_HDR_LEN +
			    len)) == NULL) {
				tpd_err("out of memory sending an event of "
				    "job %llu", (unsigned long long)ev->job_id);
				return false;
			}
			msg_event = p;
			msg_event_cap = TP_FRAME_HDR_LEN + len;
		}
		if (tp_fastpack(&sm, msg_event + TP_FRAME_HDR_LEN, len) == 0)
			(void)protobuf_c_message_pack(&sm.base,
			    msg_event + TP_FRAME_HDR_LEN);
	}
	tp_frame_put_header(msg_event, (uint32_t)len);
	msg_event_len = TP_FRAME_HDR_LEN + len;
	return true;
}

bool
tpd_msg_event_started(uint64_t job_id, uint64_t queue_ns, int cpu,
    unsigned int attempt)
{
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobStarted st = TPOOL__JOB_STARTED__INIT;

	st.has_attempt = true;
	st.attempt = attempt;
	st.has_queue_ns = true;
	st.queue_ns = queue_ns;
	st.has_cpu = true;
	st.cpu = cpu;
	ev.has_job_id = true;
	ev.job_id = job_id;
	ev.kind_case = TPOOL__EVENT__KIND_STARTED;
	ev.started = &st;
	return msg_event_encode(&ev);
}

bool
tpd_msg_event_progress(uint64_t job_id, unsigned int percent,
    const char *message)
{
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobProgress pr = TPOOL__JOB_PROGRESS__INIT;

	pr.has_percent = true;
	pr.percent = percent;
	pr.message = (char *)message;
	ev.has_job_id = true;
	ev.job_id = job_id;
	ev.kind_case = TPOOL__EVENT__KIND_PROGRESS;
	ev.progress = &pr;
	return msg_event_encode(&ev);
}

bool
tpd_msg_event_finished(const Tpool__JobInfo *info)
{
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobFinished fin = TPOOL__JOB_FINISHED__INIT;

	fin.job = (Tpool__JobInfo *)info;
	ev.has_job_id = true;
	ev.job_id = info->job_id;
	ev.kind_case = TPOOL__EVENT__KIND_FINISHED;
	ev.finished = &fin;
	return msg_event_encode(&ev);
}

void
tpd_msg_event_to(struct tpd_conn *conn)
{
	uint8_t *p;

	if (msg_event_len == 0 ||
	    (p = tpd_conn_out_reserve(conn, msg_event_len)) == NULL)
		return;
	memcpy(p, msg_event, msg_event_len);
	tpd_conn_out_commit(conn, msg_event_len);
}

void
tpd_msg_free(void)
{
	free(msg_event);
	msg_event = NULL;
	msg_event_len = msg_event_cap = 0;
}
