/*
 * fakewire.c -- the daemon's side of the wire for fake daemons in tests
 * (see fakewire.h).  Frames are proto/frame.h's; the codec is not tested
 * here but used.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>

#include "fakewire.h"
#include "frame.h"

bool
tu_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n > 0) {
		w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

bool
tu_read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	ssize_t r;

	while (n > 0) {
		r = recv(fd, b, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		b += r;
		n -= (size_t)r;
	}
	return true;
}

int
tu_read_request(int fd, uint32_t max, Tpool__Request **ret_req)
{
	uint8_t hdr[TP_FRAME_HDR_LEN], *body;
	Tpool__Request *req;
	uint32_t len;

	if (!tu_read_all(fd, hdr, sizeof(hdr)))
		return ENODATA;
	len = tp_frame_get_header(hdr);
	if (len > max)
		return EMSGSIZE;
	if ((body = malloc(len > 0 ? len : 1)) == NULL)
		return ENOMEM;
	if (!tu_read_all(fd, body, len)) {
		free(body);
		return EIO;
	}
	req = tpool__request__unpack(NULL, len, body);
	free(body);
	if (req == NULL)
		return EPROTO;
	*ret_req = req;
	return 0;
}

bool
tu_send_message(int fd, const Tpool__ServerMessage *m)
{
	size_t len;
	uint8_t *buf;
	bool ok;

	len = tpool__server_message__get_packed_size(m);
	if ((buf = malloc(TP_FRAME_HDR_LEN + len)) == NULL)
		return false;
	tp_frame_put_header(buf, (uint32_t)len);
	(void)tpool__server_message__pack(m, buf + TP_FRAME_HDR_LEN);
	ok = tu_write_all(fd, buf, TP_FRAME_HDR_LEN + len);
	free(buf);
	return ok;
}

bool
tu_send_response(int fd, uint64_t request_id, Tpool__Response *r)
{
	Tpool__ServerMessage m = TPOOL__SERVER_MESSAGE__INIT;

	r->has_request_id = true;
	r->request_id = request_id;
	m.msg_case = TPOOL__SERVER_MESSAGE__MSG_RESPONSE;
	m.response = r;
	return tu_send_message(fd, &m);
}

bool
tu_send_hello_reply(int fd, uint64_t request_id, uint32_t version,
    uint32_t max_frame)
{
	Tpool__Response r = TPOOL__RESPONSE__INIT;
	Tpool__HelloReply h = TPOOL__HELLO_REPLY__INIT;

	h.has_version = true;
	h.version = version;
	h.server_version = (char *)"fake";
	h.has_max_frame = true;
	h.max_frame = max_frame;
	r.body_case = TPOOL__RESPONSE__BODY_HELLO;
	r.hello = &h;
	return tu_send_response(fd, request_id, &r);
}

bool
tu_send_submit_reply(int fd, uint64_t request_id, uint64_t job_id)
{
	Tpool__Response r = TPOOL__RESPONSE__INIT;
	Tpool__SubmitReply s = TPOOL__SUBMIT_REPLY__INIT;

	s.has_job_id = true;
	s.job_id = job_id;
	r.body_case = TPOOL__RESPONSE__BODY_SUBMIT;
	r.submit = &s;
	return tu_send_response(fd, request_id, &r);
}

bool
tu_send_error(int fd, uint64_t request_id, Tpool__ErrorCode code,
    const char *message)
{
	Tpool__Response r = TPOOL__RESPONSE__INIT;
	Tpool__Error e = TPOOL__ERROR__INIT;

	e.has_code = true;
	e.code = code;
	e.message = (char *)(uintptr_t)message;
	r.body_case = TPOOL__RESPONSE__BODY_ERROR;
	r.error = &e;
	return tu_send_response(fd, request_id, &r);
}

bool
tu_send_event(int fd, uint64_t job_id, Tpool__Event *ev)
{
	Tpool__ServerMessage m = TPOOL__SERVER_MESSAGE__INIT;

	ev->has_job_id = true;
	ev->job_id = job_id;
	m.msg_case = TPOOL__SERVER_MESSAGE__MSG_EVENT;
	m.event = ev;
	return tu_send_message(fd, &m);
}

bool
tu_send_started(int fd, uint64_t job_id, int32_t cpu, uint64_t queue_ns)
{
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobStarted st = TPOOL__JOB_STARTED__INIT;

	st.has_cpu = true;
	st.cpu = cpu;
	if (queue_ns != 0) {
		st.has_queue_ns = true;
		st.queue_ns = queue_ns;
	}
	ev.kind_case = TPOOL__EVENT__KIND_STARTED;
	ev.started = &st;
	return tu_send_event(fd, job_id, &ev);
}

bool
tu_send_progress(int fd, uint64_t job_id, uint32_t percent,
    const char *message)
{
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobProgress p = TPOOL__JOB_PROGRESS__INIT;

	p.has_percent = true;
	p.percent = percent;
	p.message = (char *)(uintptr_t)message;
	ev.kind_case = TPOOL__EVENT__KIND_PROGRESS;
	ev.progress = &p;
	return tu_send_event(fd, job_id, &ev);
}

bool
tu_send_finished(int fd, const Tpool__JobInfo *ji)
{
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobFinished f = TPOOL__JOB_FINISHED__INIT;

	f.job = (Tpool__JobInfo *)(uintptr_t)ji;
	ev.kind_case = TPOOL__EVENT__KIND_FINISHED;
	ev.finished = &f;
	return tu_send_event(fd, ji->job_id, &ev);
}
