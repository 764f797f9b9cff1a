/*
 * peek.h -- what a ServerMessage is, read off its wire bytes without
 * unpacking it: a response (the request it answers, the kind of its body,
 * and a SubmitReply's job id) or an event (its job and its kind).
 *
 * The client library keeps every message it reads as bytes and routes it
 * by this: a wait takes the message it wants by its peek, and only what a
 * caller is handed whole is unpacked with protobuf-c.  A submit-and-wait
 * of a null job (a SubmitReply, a started event, a finished one) then
 * unpacks one message, the finished event, where it unpacked three.
 *
 * The peek reads only the outer two levels (ServerMessage, and its
 * Response or Event, with a SubmitReply's two fields), and only when they
 * are laid out as a protobuf encoder writes them: each known field with its
 * wire type, the oneof members at most once, lengths within the message.
 * For anything else (a repeated or merged member, a wrong wire type, a
 * group, a truncated field) it answers false and the caller unpacks the
 * message with protobuf-c, whose result then decides.  So when it answers
 * true, its fields are those protobuf-c's unpack would give.  Pure
 * function: no I/O, no allocation.
 */
#ifndef TP_PEEK_H
#define TP_PEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpool.pb-c.h"

struct tp_peek {
	Tpool__ServerMessage__MsgCase	tpk_msg;	/* response, event, or
							   neither */
	/*
	 * A response: its request_id (0 when absent); an event: its job_id
	 * (0 when absent).
	 */
	uint64_t	tpk_id;
	/* A response: its Tpool__Response__BodyCase; an event: its
	 * Tpool__Event__KindCase; 0 (not set) otherwise. */
	int		tpk_kind;
	/* A response whose body is a SubmitReply: its fields. */
	bool		tpk_has_job_id;
	uint64_t	tpk_job_id;
	bool		tpk_existing;
};

/*
 * Peek at the ServerMessage body[0..len) (a frame's body, no header).
 * true: *ret_pk is filled; false: the bytes are not plainly laid out
 * (above), *ret_pk is untouched, unpack them to know.
 */
bool	tp_peek_server_message(const uint8_t *body, size_t len,
	    struct tp_peek *ret_pk);

/* The same fields, taken from a message protobuf-c unpacked. */
void	tp_peek_from_message(const Tpool__ServerMessage *m,
	    struct tp_peek *ret_pk);

#endif /* TP_PEEK_H */
