/*
 * pipeline.c -- pipelined submits from one client: n null jobs sent without
 * waiting, at most a window of them outstanding (submitted, JobFinished not
 * yet read), every response and event read; the rate is n over the time
 * from the first submit to the last JobFinished.
 *
 * Two clients do it, so that the figure says what tpoold can do and not
 * only what a client can decode:
 *  - the client library (tpc_send_submit, tpc_read_message): every message
 *    unpacked by protobuf-c, as tpctl and any C client would;
 *  - a lean client on the same socket after the Hello: submits packed into
 *    one buffer, replies only scanned (the few protobuf tags that say which
 *    message it is and whether it succeeded), no allocation per message.
 * Both check every reply: an Error response, or a job that did not
 * succeed, ends the run with that message.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "frame.h"
#include "tpclient.h"

#define	PIPE_RBUF	(1u << 20)

/* What a message from the daemon was. */
enum pipe_msg {
	PM_REPLY,		/* a SubmitReply */
	PM_ERROR,		/* an Error response */
	PM_FINISHED,		/* JobFinished, succeeded */
	PM_FAILED,		/* JobFinished, another final state */
	PM_OTHER,		/* JobStarted, JobProgress, another response */
	PM_BAD,			/* cannot be read */
};

struct pipe_state {
	uint64_t	ps_sent;
	uint64_t	ps_replies;
	uint64_t	ps_done;
	uint64_t	ps_max_out;
	char		ps_error[160];
};

/* -------------------------------------------------- the client library */

static enum pipe_msg
pipe_classify_unpacked(const Tpool__ServerMessage *m, struct pipe_state *ps)
{
	const Tpool__JobInfo *ji;

	if (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE) {
		if (m->response->body_case == TPOOL__RESPONSE__BODY_SUBMIT)
			return PM_REPLY;
		if (m->response->body_case == TPOOL__RESPONSE__BODY_ERROR) {
			(void)snprintf(ps->ps_error, sizeof(ps->ps_error),
			    "tpoold: %s: %s", tp_error_name(
			    m->response->error->code),
			    m->response->error->message != NULL ?
			    m->response->error->message : "");
			return PM_ERROR;
		}
		return PM_OTHER;
	}
	if (m->event->kind_case != TPOOL__EVENT__KIND_FINISHED)
		return PM_OTHER;
	ji = m->event->finished != NULL ? m->event->finished->job : NULL;
	if (ji != NULL && ji->has_state &&
	    ji->state == TPOOL__JOB_STATE__JOB_SUCCEEDED)
		return PM_FINISHED;
	(void)snprintf(ps->ps_error, sizeof(ps->ps_error), "tpoold: job %llu "
	    "did not succeed: %s", (unsigned long long)m->event->job_id,
	    ji != NULL && ji->message != NULL ? ji->message : "");
	return PM_FAILED;
}

/* Count one message; false when the run must stop. */
static bool
pipe_count(enum pipe_msg kind, struct pipe_state *ps)
{
	switch (kind) {
	case PM_REPLY:
		ps->ps_replies++;
		return true;
	case PM_FINISHED:
		ps->ps_done++;
		return true;
	case PM_OTHER:
		return true;
	case PM_BAD:
		(void)snprintf(ps->ps_error, sizeof(ps->ps_error),
		    "tpoold sent a message that does not parse");
		return false;
	case PM_ERROR:
	case PM_FAILED:
		return false;
	}
	return false;
}

static int
pipe_library(struct tpc *c, uint64_t n, uint64_t window, uint64_t deadline,
    struct pipe_state *ps, bool *ret_truncated)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__ServerMessage *m;
	bool ok;
	int error;

	a.tsa_plugin = "echo";
	a.tsa_pool = rt_pool_kind();
	while (ps->ps_done < n) {
		if (tu_now_ns() > deadline) {
			*ret_truncated = true;
			return 0;
		}
		while (ps->ps_sent < n && ps->ps_sent - ps->ps_done < window) {
			if ((error = tpc_send_submit(c, &a, NULL)) != 0)
				goto fail;
			ps->ps_sent++;
		}
		if (ps->ps_sent - ps->ps_done > ps->ps_max_out)
			ps->ps_max_out = ps->ps_sent - ps->ps_done;
		/* One message (waiting, flushing first), then all that came. */
		do {
			if ((error = tpc_read_message(c, &m)) != 0)
				goto fail;
			ok = pipe_count(pipe_classify_unpacked(m, ps), ps);
			tpool__server_message__free_unpacked(m, NULL);
			if (!ok)
				return EPROTO;
		} while (tpc_pending(c) > 0);
	}
	return 0;

fail:
	(void)snprintf(ps->ps_error, sizeof(ps->ps_error), "tpoold: %s",
	    tpc_strerror(error));
	return error;
}

/* ---------------------------------------------------- the lean client */

/* Read a varint; false when it runs past end. */
static bool
pb_varint(const uint8_t **pp, const uint8_t *end, uint64_t *ret)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	unsigned int shift;

	for (shift = 0; shift < 64 && p < end; shift += 7) {
		v |= (uint64_t)(*p & 0x7f) << shift;
		if ((*p++ & 0x80) == 0) {
			*pp = p;
			*ret = v;
			return true;
		}
	}
	return false;
}

/*
 * The next field of a message: its number; a varint's value in *ret_v, or
 * a length-delimited field's bytes in *ret_sub, *ret_sublen.  0 at the end,
 * -1 when malformed.
 */
static int
pb_next(const uint8_t **pp, const uint8_t *end, uint32_t *ret_num,
    uint64_t *ret_v, const uint8_t **ret_sub, size_t *ret_sublen)
{
	uint64_t key, len;

	if (*pp >= end)
		return 0;
	if (!pb_varint(pp, end, &key))
		return -1;
	*ret_num = (uint32_t)(key >> 3);
	*ret_sub = NULL;
	*ret_sublen = 0;
	*ret_v = 0;
	switch (key & 7) {
	case 0:
		return pb_varint(pp, end, ret_v) ? 1 : -1;
	case 1:
		if (end - *pp < 8)
			return -1;
		*pp += 8;
		return 1;
	case 2:
		if (!pb_varint(pp, end, &len) || len > (uint64_t)(end - *pp))
			return -1;
		*ret_sub = *pp;
		*ret_sublen = (size_t)len;
		*pp += len;
		return 1;
	case 5:
		if (end - *pp < 4)
			return -1;
		*pp += 4;
		return 1;
	default:
		return -1;
	}
}

/* The length-delimited field num of the message [p, end), or NULL. */
static const uint8_t *
pb_find(const uint8_t *p, const uint8_t *end, uint32_t num, size_t *ret_len,
    bool *ret_bad)
{
	const uint8_t *sub;
	uint64_t v;
	uint32_t n;
	size_t sublen;
	int r;

	while ((r = pb_next(&p, end, &n, &v, &sub, &sublen)) == 1) {
		if (n == num && sub != NULL) {
			*ret_len = sublen;
			return sub;
		}
	}
	if (r < 0)
		*ret_bad = true;
	return NULL;
}

/* ServerMessage: 1 response { 2 error, 4 submit }, 2 event { 4 finished }. */
static enum pipe_msg
pipe_classify_wire(const uint8_t *body, size_t len, struct pipe_state *ps)
{
	const uint8_t *end = body + len, *resp, *ev, *fin, *job, *p, *sub;
	size_t rlen, elen, flen, jlen, sublen;
	uint64_t v, state = 0;
	uint32_t n;
	bool bad = false;
	int r;

	if ((resp = pb_find(body, end, 1, &rlen, &bad)) != NULL) {
		if (pb_find(resp, resp + rlen, 4, &sublen, &bad) != NULL)
			return PM_REPLY;
		if (bad)
			return PM_BAD;
		if (pb_find(resp, resp + rlen, 2, &sublen, &bad) != NULL) {
			(void)snprintf(ps->ps_error, sizeof(ps->ps_error),
			    "tpoold answered a submit with an Error");
			return PM_ERROR;
		}
		return bad ? PM_BAD : PM_OTHER;
	}
	if (bad || (ev = pb_find(body, end, 2, &elen, &bad)) == NULL)
		return PM_BAD;
	if ((fin = pb_find(ev, ev + elen, 4, &flen, &bad)) == NULL)
		return bad ? PM_BAD : PM_OTHER;
	if ((job = pb_find(fin, fin + flen, 1, &jlen, &bad)) == NULL)
		return PM_BAD;
	for (p = job; (r = pb_next(&p, job + jlen, &n, &v, &sub, &sublen)) == 1;)
		if (n == 4 && sub == NULL)
			state = v;
	if (r < 0)
		return PM_BAD;
	if (state == TPOOL__JOB_STATE__JOB_SUCCEEDED)
		return PM_FINISHED;
	(void)snprintf(ps->ps_error, sizeof(ps->ps_error),
	    "tpoold: a null job ended in state %llu", (unsigned long long)state);
	return PM_FAILED;
}

/* Pack one Submit frame at the end of *buf. */
static int
pipe_pack_submit(uint8_t **buf, size_t *cap, size_t *len, uint64_t id)
{
	Tpool__Request req;
	Tpool__Submit sub;
	size_t need, c;
	uint8_t *nb;

	rt_fill_submit(&req, &sub, id);
	need = TP_FRAME_HDR_LEN + tpool__request__get_packed_size(&req);
	if (*cap - *len < need) {
		c = *cap == 0 ? 65536 : *cap * 2;
		while (c - *len < need)
			c *= 2;
		if ((nb = realloc(*buf, c)) == NULL)
			return ENOMEM;
		*buf = nb;
		*cap = c;
	}
	tp_frame_put_header(*buf + *len, (uint32_t)(need - TP_FRAME_HDR_LEN));
	(void)tpool__request__pack(&req, *buf + *len + TP_FRAME_HDR_LEN);
	*len += need;
	return 0;
}

static int
pipe_lean(int fd, uint64_t n, uint64_t window, uint64_t deadline,
    struct pipe_state *ps, bool *ret_truncated)
{
	struct pollfd pfd;
	uint8_t *wbuf = NULL, *rbuf;
	const uint8_t *body;
	size_t wcap = 0, wlen = 0, woff = 0, rlen = 0, off, body_len, frame_len;
	enum tp_frame_result fr;
	uint64_t next_id = 1u << 20;	/* past the library's Hello */
	ssize_t r;
	int error = 0, left;

	if ((rbuf = malloc(PIPE_RBUF)) == NULL)
		return ENOMEM;
	while (ps->ps_done < n) {
		if (tu_now_ns() > deadline) {
			*ret_truncated = true;
			break;
		}
		while (ps->ps_sent < n && ps->ps_sent - ps->ps_done < window) {
			if ((error = pipe_pack_submit(&wbuf, &wcap, &wlen,
			    next_id++)) != 0)
				goto out;
			ps->ps_sent++;
		}
		if (ps->ps_sent - ps->ps_done > ps->ps_max_out)
			ps->ps_max_out = ps->ps_sent - ps->ps_done;
		pfd.fd = fd;
		pfd.events = POLLIN | (woff < wlen ? POLLOUT : 0);
		pfd.revents = 0;
		left = (int)((deadline - tu_now_ns()) / 1000000) + 1;
		if (left > BENCH_CALL_TIMEOUT_MS)
			left = BENCH_CALL_TIMEOUT_MS;
		if ((r = poll(&pfd, 1, left)) < 0) {
			if (errno == EINTR)
				continue;
			error = errno;
			goto out;
		}
		if (r == 0) {
			if (tu_now_ns() > deadline) {
				*ret_truncated = true;
				break;
			}
			error = ETIMEDOUT;
			goto out;
		}
		if (pfd.revents & POLLOUT) {
			r = send(fd, wbuf + woff, wlen - woff,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				error = errno;
				goto out;
			}
			if (r > 0)
				woff += (size_t)r;
			if (woff == wlen)
				woff = wlen = 0;
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
			continue;
		r = recv(fd, rbuf + rlen, PIPE_RBUF - rlen, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			error = errno;
			goto out;
		}
		if (r == 0) {
			error = ECONNRESET;
			goto out;
		}
		rlen += (size_t)r;
		for (off = 0;; off += frame_len) {
			fr = tp_frame_parse(rbuf + off, rlen - off, PIPE_RBUF -
			    TP_FRAME_HDR_LEN, &body, &body_len, &frame_len);
			if (fr == TP_FRAME_NEED_MORE)
				break;
			if (fr == TP_FRAME_TOO_LARGE ||
			    !pipe_count(pipe_classify_wire(body, body_len, ps), ps)) {
				error = EPROTO;
				goto out;
			}
		}
		memmove(rbuf, rbuf + off, rlen - off);
		rlen -= off;
	}
out:
	if (error != 0 && ps->ps_error[0] == '\0')
		(void)snprintf(ps->ps_error, sizeof(ps->ps_error), "tpoold: %s",
		    strerror(error));
	free(wbuf);
	free(rbuf);
	return error;
}

/* ------------------------------------------------------------- the run */

void
pipe_run(const char *path, pid_t pid, uint64_t n, uint64_t window, bool lean,
    struct pipe_result *res)
{
	struct pipe_state ps;
	struct tpc *c;
	uint64_t t0, t1, cpu0, cpu1, scpu0 = 0, scpu1 = 0, sl0 = 0, sl1 = 0;
	uint64_t deadline;
	bool have_scpu, have_sl, truncated = false;
	int error;

	memset(res, 0, sizeof(*res));
	memset(&ps, 0, sizeof(ps));
	res->p_window = window;
	res->p_lean = lean;
	if ((error = tpc_connect(path, &c)) != 0) {
		(void)snprintf(res->p_error, sizeof(res->p_error),
		    "connect to tpoold: %s", tpc_strerror(error));
		return;
	}
	(void)tpc_set_timeout(c, BENCH_CALL_TIMEOUT_MS);
	have_scpu = proc_cpu_ns(pid, &scpu0) == 0;
	have_sl = proc_sleeps(pid, &sl0) == 0;
	cpu0 = bench_thread_cpu_ns();
	t0 = tu_now_ns();
	deadline = t0 + (uint64_t)bench_config.bc_row_limit_s * 1000000000u;
	if (lean)
		error = pipe_lean(tpc_fd(c), n, window, deadline, &ps, &truncated);
	else
		error = pipe_library(c, n, window, deadline, &ps, &truncated);
	t1 = tu_now_ns();
	cpu1 = bench_thread_cpu_ns();
	if (have_scpu && proc_cpu_ns(pid, &scpu1) != 0)
		have_scpu = false;
	if (have_sl && (proc_sleeps(pid, &sl1) != 0 || sl1 < sl0))
		have_sl = false;
	tpc_free(c);

	res->p_jobs = ps.ps_done;
	res->p_max_outstanding = ps.ps_max_out;
	res->p_truncated = truncated;
	if (error != 0 || ps.ps_done == 0) {
		(void)snprintf(res->p_error, sizeof(res->p_error), "%s",
		    ps.ps_error[0] != '\0' ? ps.ps_error : "no job finished");
		return;
	}
	res->p_valid = true;
	res->p_secs = (double)(t1 - t0) / 1e9;
	res->p_jobs_per_s = (double)ps.ps_done / res->p_secs;
	res->p_client_cpu_us = (double)(cpu1 - cpu0) / 1e3 / (double)ps.ps_done;
	res->p_server_cpu_us = have_scpu ?
	    (double)(scpu1 - scpu0) / 1e3 / (double)ps.ps_done : -1;
	res->p_server_sleeps = have_sl ?
	    (double)(sl1 - sl0) / (double)ps.ps_done : -1;
}
