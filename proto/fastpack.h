/*
 * fastpack.h -- a hand-written packer for the ServerMessages tpoold sends
 * for every job: a SubmitReply, and the JobStarted, JobProgress and
 * JobFinished events.  It writes the very bytes protobuf_c_message_pack()
 * writes for them (fields in number order, the same presence rules, the
 * same varints; tests/proto/test_fastpack compares the two on random
 * messages), in a fraction of its time: protobuf-c walks each message's
 * descriptor field by field and sizes every nested message again to pack
 * it.  Any other message (or one with unknown fields, or a NULL nested
 * message) is left to protobuf-c.  Pure functions: no I/O, no allocation.
 */
#ifndef TP_FASTPACK_H
#define TP_FASTPACK_H

#include <stddef.h>
#include <stdint.h>

#include "tpool.pb-c.h"

/*
 * The packed size of sm (its body; no frame header), or 0 when sm is not
 * one of the messages above (pack it with protobuf-c).  When out is not
 * NULL and the size is at most cap, sm is also packed into out[0..size).
 * Nothing is written otherwise: a caller with too small a buffer grows it
 * to the returned size and calls again.
 */
size_t	tp_fastpack(const Tpool__ServerMessage *sm, uint8_t *out,
	    size_t cap);

#endif /* TP_FASTPACK_H */
