/*
 * fastpack.c -- the ServerMessages of a job's life packed by hand, byte for
 * byte as protobuf-c packs them (fastpack.h).  The rules it follows, those
 * of protobuf-c's proto2 packing: fields go out in field-number order; an
 * optional scalar or bytes field when its has_ flag is set, a string or a
 * message when its pointer is not NULL, a oneof member when it is the
 * case set; int32 and enum values below 0 take ten bytes (sign-extended),
 * sint32 is zigzag-coded, a bool is one byte 0 or 1, a length is a
 * varint.  Each message is sized once, innermost first; then written.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "fastpack.h"

/* Wire types. */
#define	WT_VARINT	0u
#define	WT_LEN		2u

/* The key of field num (num < 2048: at most two bytes). */
#define	KEY(num, wt)	(((uint32_t)(num) << 3) | (wt))

/* Bytes of v as a varint: 7 bits a byte. */
static size_t
vlen(uint64_t v)
{
	return ((size_t)(64 - __builtin_clzll(v | 1)) + 6) / 7;
}

static uint8_t *
vput(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* int32 and enum: a negative value is its 64-bit two's complement. */
static uint64_t
int32_wire(int32_t v)
{
	return (uint64_t)(int64_t)v;
}

static uint32_t
zigzag32(int32_t v)
{
	return ((uint32_t)v << 1) ^ (uint32_t)-(int32_t)((uint32_t)v >> 31);
}

/* Sizes and writers of one field, key included. */
static size_t
f_varint_len(uint32_t key, uint64_t v)
{
	return vlen(key) + vlen(v);
}

static uint8_t *
f_varint(uint8_t *p, uint32_t key, uint64_t v)
{
	return vput(vput(p, key), v);
}

static size_t
f_bytes_len(uint32_t key, size_t len)
{
	return vlen(key) + vlen(len) + len;
}

static uint8_t *
f_bytes(uint8_t *p, uint32_t key, const void *data, size_t len)
{
	p = vput(vput(p, key), len);
	if (len > 0)
		memcpy(p, data, len);
	return p + len;
}

/* ------------------------------------------------------------- JobInfo */

/* JobInfo's fields in number order; job_info_put() walks the same list. */
static size_t
job_info_len(const Tpool__JobInfo *ji)
{
	size_t n = 0;

	if (ji->has_job_id)
		n += f_varint_len(KEY(1, WT_VARINT), ji->job_id);
	if (ji->plugin != NULL)
		n += f_bytes_len(KEY(2, WT_LEN), strlen(ji->plugin));
	if (ji->name != NULL)
		n += f_bytes_len(KEY(3, WT_LEN), strlen(ji->name));
	if (ji->has_state)
		n += f_varint_len(KEY(4, WT_VARINT), int32_wire(ji->state));
	if (ji->has_pool)
		n += f_varint_len(KEY(5, WT_VARINT), int32_wire(ji->pool));
	if (ji->has_priority)
		n += f_varint_len(KEY(6, WT_VARINT), zigzag32(ji->priority));
	if (ji->has_cpu)
		n += f_varint_len(KEY(7, WT_VARINT), zigzag32(ji->cpu));
	if (ji->has_uid)
		n += f_varint_len(KEY(8, WT_VARINT), ji->uid);
	if (ji->has_progress)
		n += f_varint_len(KEY(9, WT_VARINT), ji->progress);
	if (ji->has_cancel_requested)
		n += f_varint_len(KEY(10, WT_VARINT), 0);
	if (ji->has_result)
		n += f_bytes_len(KEY(11, WT_LEN), ji->result.len);
	if (ji->message != NULL)
		n += f_bytes_len(KEY(12, WT_LEN), strlen(ji->message));
	if (ji->has_queue_ns)
		n += f_varint_len(KEY(13, WT_VARINT), ji->queue_ns);
	if (ji->has_run_ns)
		n += f_varint_len(KEY(14, WT_VARINT), ji->run_ns);
	if (ji->has_cpu_ns)
		n += f_varint_len(KEY(15, WT_VARINT), ji->cpu_ns);
	if (ji->has_ran_on_cpu)
		n += f_varint_len(KEY(16, WT_VARINT),
		    zigzag32(ji->ran_on_cpu));
	if (ji->has_delay_left_ms)
		n += f_varint_len(KEY(17, WT_VARINT), ji->delay_left_ms);
	if (ji->unique_key != NULL)
		n += f_bytes_len(KEY(18, WT_LEN), strlen(ji->unique_key));
	if (ji->has_attempt)
		n += f_varint_len(KEY(19, WT_VARINT), ji->attempt);
	if (ji->has_retries)
		n += f_varint_len(KEY(20, WT_VARINT), ji->retries);
	if (ji->has_submitted_unix_ms)
		n += f_varint_len(KEY(21, WT_VARINT), ji->submitted_unix_ms);
	if (ji->has_started_unix_ms)
		n += f_varint_len(KEY(22, WT_VARINT), ji->started_unix_ms);
	if (ji->has_ended_unix_ms)
		n += f_varint_len(KEY(23, WT_VARINT), ji->ended_unix_ms);
	return n;
}

static uint8_t *
job_info_put(uint8_t *p, const Tpool__JobInfo *ji)
{
	if (ji->has_job_id)
		p = f_varint(p, KEY(1, WT_VARINT), ji->job_id);
	if (ji->plugin != NULL)
		p = f_bytes(p, KEY(2, WT_LEN), ji->plugin, strlen(ji->plugin));
	if (ji->name != NULL)
		p = f_bytes(p, KEY(3, WT_LEN), ji->name, strlen(ji->name));
	if (ji->has_state)
		p = f_varint(p, KEY(4, WT_VARINT), int32_wire(ji->state));
	if (ji->has_pool)
		p = f_varint(p, KEY(5, WT_VARINT), int32_wire(ji->pool));
	if (ji->has_priority)
		p = f_varint(p, KEY(6, WT_VARINT), zigzag32(ji->priority));
	if (ji->has_cpu)
		p = f_varint(p, KEY(7, WT_VARINT), zigzag32(ji->cpu));
	if (ji->has_uid)
		p = f_varint(p, KEY(8, WT_VARINT), ji->uid);
	if (ji->has_progress)
		p = f_varint(p, KEY(9, WT_VARINT), ji->progress);
	if (ji->has_cancel_requested)
		p = f_varint(p, KEY(10, WT_VARINT),
		    ji->cancel_requested ? 1 : 0);
	if (ji->has_result)
		p = f_bytes(p, KEY(11, WT_LEN), ji->result.data,
		    ji->result.len);
	if (ji->message != NULL)
		p = f_bytes(p, KEY(12, WT_LEN), ji->message,
		    strlen(ji->message));
	if (ji->has_queue_ns)
		p = f_varint(p, KEY(13, WT_VARINT), ji->queue_ns);
	if (ji->has_run_ns)
		p = f_varint(p, KEY(14, WT_VARINT), ji->run_ns);
	if (ji->has_cpu_ns)
		p = f_varint(p, KEY(15, WT_VARINT), ji->cpu_ns);
	if (ji->has_ran_on_cpu)
		p = f_varint(p, KEY(16, WT_VARINT), zigzag32(ji->ran_on_cpu));
	if (ji->has_delay_left_ms)
		p = f_varint(p, KEY(17, WT_VARINT), ji->delay_left_ms);
	if (ji->unique_key != NULL)
		p = f_bytes(p, KEY(18, WT_LEN), ji->unique_key,
		    strlen(ji->unique_key));
	if (ji->has_attempt)
		p = f_varint(p, KEY(19, WT_VARINT), ji->attempt);
	if (ji->has_retries)
		p = f_varint(p, KEY(20, WT_VARINT), ji->retries);
	if (ji->has_submitted_unix_ms)
		p = f_varint(p, KEY(21, WT_VARINT), ji->submitted_unix_ms);
	if (ji->has_started_unix_ms)
		p = f_varint(p, KEY(22, WT_VARINT), ji->started_unix_ms);
	if (ji->has_ended_unix_ms)
		p = f_varint(p, KEY(23, WT_VARINT), ji->ended_unix_ms);
	return p;
}

/* ------------------------------------------------------- small messages */

static size_t
submit_reply_len(const Tpool__SubmitReply *sr)
{
	size_t n = 0;

	if (sr->has_job_id)
		n += f_varint_len(KEY(1, WT_VARINT), sr->job_id);
	if (sr->has_existing)
		n += f_varint_len(KEY(2, WT_VARINT), 0);
	return n;
}

static uint8_t *
submit_reply_put(uint8_t *p, const Tpool__SubmitReply *sr)
{
	if (sr->has_job_id)
		p = f_varint(p, KEY(1, WT_VARINT), sr->job_id);
	if (sr->has_existing)
		p = f_varint(p, KEY(2, WT_VARINT), sr->existing ? 1 : 0);
	return p;
}

static size_t
started_len(const Tpool__JobStarted *st)
{
	size_t n = 0;

	if (st->has_queue_ns)
		n += f_varint_len(KEY(1, WT_VARINT), st->queue_ns);
	if (st->has_cpu)
		n += f_varint_len(KEY(2, WT_VARINT), zigzag32(st->cpu));
	if (st->has_attempt)
		n += f_varint_len(KEY(3, WT_VARINT), st->attempt);
	return n;
}

static uint8_t *
started_put(uint8_t *p, const Tpool__JobStarted *st)
{
	if (st->has_queue_ns)
		p = f_varint(p, KEY(1, WT_VARINT), st->queue_ns);
	if (st->has_cpu)
		p = f_varint(p, KEY(2, WT_VARINT), zigzag32(st->cpu));
	if (st->has_attempt)
		p = f_varint(p, KEY(3, WT_VARINT), st->attempt);
	return p;
}

static size_t
progress_len(const Tpool__JobProgress *pr)
{
	size_t n = 0;

	if (pr->has_percent)
		n += f_varint_len(KEY(1, WT_VARINT), pr->percent);
	if (pr->message != NULL)
		n += f_bytes_len(KEY(2, WT_LEN), strlen(pr->message));
	return n;
}

static uint8_t *
progress_put(uint8_t *p, const Tpool__JobProgress *pr)
{
	if (pr->has_percent)
		p = f_varint(p, KEY(1, WT_VARINT), pr->percent);
	if (pr->message != NULL)
		p = f_bytes(p, KEY(2, WT_LEN), pr->message,
		    strlen(pr->message));
	return p;
}

/* -------------------------------------------------------- the envelope */

/* The one nested message of a kind this file packs, sized. */
enum fp_type { FP_SUBMIT, FP_STARTED, FP_PROGRESS, FP_FINISHED };

struct fp_inner {
	enum fp_type	fi_type;
	uint32_t	fi_field;	/* its field number in Response/Event */
	const void	*fi_msg;
	size_t		fi_len;		/* its body */
	size_t		fi_job_len;	/* JobFinished: its JobInfo's body */
};

/* A message that is there and carries no unknown fields (base first). */
static bool
fp_plain(const void *msg)
{
	const ProtobufCMessage *m = msg;

	return m != NULL && m->n_unknown_fields == 0;
}

/* Size the innermost messages of sm into *in; false: not one of ours. */
static bool
fp_size_inner(const Tpool__ServerMessage *sm, struct fp_inner *in)
{
	const Tpool__Response *resp;
	const Tpool__Event *ev;

	in->fi_job_len = 0;
	switch (sm->msg_case) {
	case TPOOL__SERVER_MESSAGE__MSG_RESPONSE:
		resp = sm->response;
		if (!fp_plain(resp) ||
		    resp->body_case != TPOOL__RESPONSE__BODY_SUBMIT ||
		    !fp_plain(resp->submit))
			return false;
		in->fi_type = FP_SUBMIT;
		in->fi_field = TPOOL__RESPONSE__BODY_SUBMIT;
		in->fi_msg = resp->submit;
		in->fi_len = submit_reply_len(resp->submit);
		return true;
	case TPOOL__SERVER_MESSAGE__MSG_EVENT:
		ev = sm->event;
		if (!fp_plain(ev))
			return false;
		in->fi_field = (uint32_t)ev->kind_case;
		switch (ev->kind_case) {
		case TPOOL__EVENT__KIND_STARTED:
			if (!fp_plain(ev->started))
				return false;
			in->fi_type = FP_STARTED;
			in->fi_msg = ev->started;
			in->fi_len = started_len(ev->started);
			return true;
		case TPOOL__EVENT__KIND_PROGRESS:
			if (!fp_plain(ev->progress))
				return false;
			in->fi_type = FP_PROGRESS;
			in->fi_msg = ev->progress;
			in->fi_len = progress_len(ev->progress);
			return true;
		case TPOOL__EVENT__KIND_FINISHED:
			if (!fp_plain(ev->finished) ||
			    !fp_plain(ev->finished->job))
				return false;
			in->fi_type = FP_FINISHED;
			in->fi_msg = ev->finished;
			in->fi_job_len = job_info_len(ev->finished->job);
			in->fi_len = f_bytes_len(KEY(1, WT_LEN),
			    in->fi_job_len);
			return true;
		default:
			return false;
		}
	default:
		return false;
	}
}

static uint8_t *
fp_put_inner(uint8_t *p, const struct fp_inner *in)
{
	const Tpool__JobFinished *fin;

	switch (in->fi_type) {
	case FP_STARTED:
		return started_put(p, in->fi_msg);
	case FP_PROGRESS:
		return progress_put(p, in->fi_msg);
	case FP_FINISHED:
		fin = in->fi_msg;
		p = vput(vput(p, KEY(1, WT_LEN)), in->fi_job_len);
		return job_info_put(p, fin->job);
	case FP_SUBMIT:
		break;
	}
	return submit_reply_put(p, in->fi_msg);
}

size_t
tp_fastpack(const Tpool__ServerMessage *sm, uint8_t *out, size_t cap)
{
	struct fp_inner in;
	uint64_t id;
	bool has_id;
	uint32_t outer_key;
	size_t mid, total;
	uint8_t *p;

	if (!fp_plain(sm) || !fp_size_inner(sm, &in))
		return 0;
	/* The middle message: Response or Event, an id and the inner one. */
	if (sm->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE) {
		has_id = sm->response->has_request_id;
		id = sm->response->request_id;
		outer_key = KEY(1, WT_LEN);
	} else {
		has_id = sm->event->has_job_id;
		id = sm->event->job_id;
		outer_key = KEY(2, WT_LEN);
	}
	mid = (has_id ? f_varint_len(KEY(1, WT_VARINT), id) : 0) +
	    f_bytes_len(KEY(in.fi_field, WT_LEN), in.fi_len);
	total = f_bytes_len(outer_key, mid);
	if (out == NULL || total > cap)
		return total;
	p = vput(vput(out, outer_key), mid);
	if (has_id)
		p = f_varint(p, KEY(1, WT_VARINT), id);
	p = vput(vput(p, KEY(in.fi_field, WT_LEN)), in.fi_len);
	(void)fp_put_inner(p, &in);
	return total;
}
