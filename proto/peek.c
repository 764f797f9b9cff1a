/*
 * peek.c -- a ServerMessage's routing fields read off its wire bytes
 * (peek.h).  A protobuf message is a run of fields, each a key (field
 * number << 3 | wire type, a varint) and a value: a varint (type 0), 8
 * bytes (1), a length and that many bytes (2: strings, bytes, nested
 * messages), or 4 bytes (5).  The peek walks the ServerMessage's fields,
 * and the Response's or Event's inside its oneof member; it reads the ids
 * and which oneof member is there, and steps over everything else.  The
 * oneof members are looked up in protobuf-c's descriptors, so a member the
 * .proto gains is known here as it is to protobuf-c.
 */
#include "config.h"

#include <string.h>

#include "peek.h"

/* Wire types. */
#define	WT_VARINT	0u
#define	WT_FIXED64	1u
#define	WT_LEN		2u
#define	WT_FIXED32	5u

/* Field numbers (tpool.proto): Response.request_id and Event.job_id. */
#define	FN_ID			1u
/* SubmitReply's. */
#define	FN_SUBMIT_REPLY_JOB_ID	1u
#define	FN_SUBMIT_REPLY_EXISTING 2u

/* Bytes not yet read: [rd_p, rd_end). */
struct rd {
	const uint8_t	*rd_p;
	const uint8_t	*rd_end;
};

/*
 * A varint of at most ten bytes whose value fits 64 bits; false for a
 * truncated or longer one (protobuf-c decides what that is).
 */
static bool
rd_varint(struct rd *r, uint64_t *ret_v)
{
	uint64_t v = 0;
	unsigned int shift;
	uint8_t b;

	for (shift = 0; shift < 64; shift += 7) {
		if (r->rd_p == r->rd_end)
			return false;
		b = *r->rd_p++;
		if (shift == 63 && b > 1)
			return false;
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*ret_v = v;
			return true;
		}
	}
	return false;
}

/* A field's key: its number (1 and up, 32 bits) and wire type. */
static bool
rd_key(struct rd *r, uint32_t *ret_num, unsigned int *ret_wt)
{
	uint64_t key;

	if (!rd_varint(r, &key) || key > UINT32_MAX || (key >> 3) == 0)
		return false;
	*ret_num = (uint32_t)(key >> 3);
	*ret_wt = (unsigned int)(key & 7);
	return true;
}

/* A length-delimited value: *ret_sub is its bytes. */
static bool
rd_len(struct rd *r, struct rd *ret_sub)
{
	uint64_t len;

	if (!rd_varint(r, &len) || len > (uint64_t)(r->rd_end - r->rd_p))
		return false;
	ret_sub->rd_p = r->rd_p;
	ret_sub->rd_end = r->rd_p + len;
	r->rd_p += len;
	return true;
}

/* Step over a value of wire type wt; false for groups and unknown types. */
static bool
rd_skip(struct rd *r, unsigned int wt)
{
	struct rd sub;
	uint64_t v;
	size_t n;

	switch (wt) {
	case WT_VARINT:
		return rd_varint(r, &v);
	case WT_LEN:
		return rd_len(r, &sub);
	case WT_FIXED64:
	case WT_FIXED32:
		n = wt == WT_FIXED64 ? 8 : 4;
		if ((size_t)(r->rd_end - r->rd_p) < n)
			return false;
		r->rd_p += n;
		return true;
	default:
		return false;
	}
}

/* Is field num of desc a member of a oneof (all ours are messages)? */
static bool
is_oneof_member(const ProtobufCMessageDescriptor *desc, uint32_t num)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field(desc, num);
	return f != NULL && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

/*
 * A message of the form { uint64 id = 1; oneof { messages } }: the
 * Response and the Event.  *ret_member is the oneof member's field number
 * (0: none) and *ret_member_rd its bytes.  An id or a member twice, or one
 * of another wire type, is left to protobuf-c (false).
 */
static bool
peek_id_oneof(struct rd r, const ProtobufCMessageDescriptor *desc,
    uint64_t *ret_id, uint32_t *ret_member, struct rd *ret_member_rd)
{
	uint64_t id = 0;
	uint32_t num, member = 0;
	unsigned int wt;
	bool has_id = false;

	while (r.rd_p < r.rd_end) {
		if (!rd_key(&r, &num, &wt))
			return false;
		if (num == FN_ID) {
			if (wt != WT_VARINT || has_id || !rd_varint(&r, &id))
				return false;
			has_id = true;
		} else if (is_oneof_member(desc, num)) {
			if (wt != WT_LEN || member != 0 ||
			    !rd_len(&r, ret_member_rd))
				return false;
			member = num;
		} else if (protobuf_c_message_descriptor_get_field(desc,
		    num) != NULL) {
			return false;	/* a known field we do not read */
		} else if (!rd_skip(&r, wt)) {
			return false;
		}
	}
	*ret_id = id;
	*ret_member = member;
	return true;
}

/* A SubmitReply: job_id and existing, each at most once. */
static bool
peek_submit_reply(struct rd r, struct tp_peek *pk)
{
	uint64_t v;
	uint32_t num;
	unsigned int wt;
	bool has_existing = false;

	while (r.rd_p < r.rd_end) {
		if (!rd_key(&r, &num, &wt))
			return false;
		if (num == FN_SUBMIT_REPLY_JOB_ID) {
			if (wt != WT_VARINT || pk->tpk_has_job_id ||
			    !rd_varint(&r, &pk->tpk_job_id))
				return false;
			pk->tpk_has_job_id = true;
		} else if (num == FN_SUBMIT_REPLY_EXISTING) {
			if (wt != WT_VARINT || has_existing ||
			    !rd_varint(&r, &v))
				return false;
			has_existing = true;
			pk->tpk_existing = v != 0;
		} else if (!rd_skip(&r, wt)) {
			return false;
		}
	}
	return true;
}

bool
tp_peek_server_message(const uint8_t *body, size_t len,
    struct tp_peek *ret_pk)
{
	struct tp_peek pk;
	struct rd r, sub, member_rd = { NULL, NULL };
	uint32_t num, member;
	unsigned int wt;
	bool seen = false;

	memset(&pk, 0, sizeof(pk));
	pk.tpk_msg = TPOOL__SERVER_MESSAGE__MSG__NOT_SET;
	r.rd_p = body;
	r.rd_end = body + len;
	while (r.rd_p < r.rd_end) {
		if (!rd_key(&r, &num, &wt))
			return false;
		if (num != TPOOL__SERVER_MESSAGE__MSG_RESPONSE &&
		    num != TPOOL__SERVER_MESSAGE__MSG_EVENT) {
			if (protobuf_c_message_descriptor_get_field(
			    &tpool__server_message__descriptor, num) != NULL ||
			    !rd_skip(&r, wt))
				return false;
			continue;
		}
		if (wt != WT_LEN || seen || !rd_len(&r, &sub))
			return false;
		seen = true;
		member = 0;
		if (num == TPOOL__SERVER_MESSAGE__MSG_RESPONSE) {
			if (!peek_id_oneof(sub, &tpool__response__descriptor,
			    &pk.tpk_id, &member, &member_rd))
				return false;
			pk.tpk_msg = TPOOL__SERVER_MESSAGE__MSG_RESPONSE;
			if (member == TPOOL__RESPONSE__BODY_SUBMIT &&
			    !peek_submit_reply(member_rd, &pk))
				return false;
		} else {
			if (!peek_id_oneof(sub, &tpool__event__descriptor,
			    &pk.tpk_id, &member, &member_rd))
				return false;
			pk.tpk_msg = TPOOL__SERVER_MESSAGE__MSG_EVENT;
		}
		pk.tpk_kind = (int)member;
	}
	*ret_pk = pk;
	return true;
}

void
tp_peek_from_message(const Tpool__ServerMessage *m, struct tp_peek *ret_pk)
{
	struct tp_peek pk;

	memset(&pk, 0, sizeof(pk));
	pk.tpk_msg = TPOOL__SERVER_MESSAGE__MSG__NOT_SET;
	if (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE &&
	    m->response != NULL) {
		pk.tpk_msg = m->msg_case;
		pk.tpk_id = m->response->has_request_id ?
		    m->response->request_id : 0;
		pk.tpk_kind = (int)m->response->body_case;
		if (m->response->body_case == TPOOL__RESPONSE__BODY_SUBMIT &&
		    m->response->submit != NULL) {
			pk.tpk_has_job_id = m->response->submit->has_job_id;
			pk.tpk_job_id = m->response->submit->job_id;
			pk.tpk_existing = m->response->submit->has_existing &&
			    m->response->submit->existing;
		}
	} else if (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_EVENT &&
	    m->event != NULL) {
		pk.tpk_msg = m->msg_case;
		pk.tpk_id = m->event->has_job_id ? m->event->job_id : 0;
		pk.tpk_kind = (int)m->event->kind_case;
	}
	*ret_pk = pk;
}
