/*
 * fuzz_frame.c -- libFuzzer target for the frame decoder (proto/frame.h).
 *
 * An input is read as
 *
 *	[mode: 1][max: 4, big-endian][nsplit: 1][chunk sizes: nsplit % 16][stream...]
 *
 * (a short input is all stream, with the default maximum).  The stream is
 * fed to tp_frame_parse the way a reader does it: chunk by chunk (the sizes
 * come from the input, so the fuzzer picks the split points), appended to a
 * buffer, every whole frame taken off the front, what is left kept for the
 * next chunk.  Each call gets a heap copy of exactly the bytes it may look
 * at, so AddressSanitizer catches a read past them.  The mode byte picks the
 * maximum: the 4 bytes as given, their low 16 bits (so that small frames can
 * be over it), 0, or UINT32_MAX.
 *
 * Invariants checked (a violation traps):
 *   - OK: the body is right after the header, its length is the header's,
 *     the frame (header + body) is no longer than the bytes given, and the
 *     body is at most max;
 *   - TOO_LARGE: at least a header was given and its length is over max;
 *   - NEED_MORE: fewer than 4 bytes, or a header within max whose body is
 *     not all there;
 *   - the result depends on the bytes only, not on how they were split: the
 *     frames found chunk by chunk are the frames found in the whole stream
 *     at once, in order, and the bytes consumed plus the bytes left add up
 *     to the stream;
 *   - tp_frame_put_header and tp_frame_get_header agree.
 * Nothing survives from one input to the next.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define	FRAME_PREFIX_MIN	6	/* mode, max, nsplit */
#define	FRAME_SPLITS_MAX	16

#define	CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

/* One frame as the reference pass saw it: where its body starts, how long. */
struct frame_seen {
	size_t	fs_off;		/* body offset in the stream */
	size_t	fs_len;
};

struct frame_ref {
	struct frame_seen	*fr_frames;
	size_t			fr_n;
	size_t			fr_consumed;	/* bytes of whole frames */
	int			fr_end;		/* NEED_MORE or TOO_LARGE at the end */
};

static uint32_t
frame_read_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	    (uint32_t)p[3];
}

/*
 * Parse buf[0..len) once, through a heap copy of exactly len bytes, and
 * check what the result claims against the bytes themselves.
 */
static enum tp_frame_result
frame_parse_checked(const uint8_t *buf, size_t len, uint32_t max, size_t *ret_body_len,
    size_t *ret_frame_len)
{
	const uint8_t *body = NULL;
	size_t body_len = (size_t)-1, frame_len = (size_t)-1;
	enum tp_frame_result r;
	uint8_t *copy;
	uint32_t hdr;

	/* malloc(0) may be NULL; give the parser a real, empty object then. */
	copy = malloc(len > 0 ? len : 1);
	CHECK(copy != NULL);
	if (len > 0)
		memcpy(copy, buf, len);
	r = tp_frame_parse(copy, len, max, &body, &body_len, &frame_len);
	switch (r) {
	case TP_FRAME_OK:
		CHECK(len >= TP_FRAME_HDR_LEN);
		hdr = frame_read_be32(buf);
		CHECK(hdr <= max);
		CHECK(body == copy + TP_FRAME_HDR_LEN);
		CHECK(body_len == hdr);
		CHECK(frame_len == TP_FRAME_HDR_LEN + body_len);
		CHECK(frame_len <= len);
		*ret_body_len = body_len;
		*ret_frame_len = frame_len;
		break;
	case TP_FRAME_TOO_LARGE:
		CHECK(len >= TP_FRAME_HDR_LEN);
		hdr = frame_read_be32(buf);
		CHECK(hdr > max);
		CHECK(body_len == hdr);
		*ret_body_len = body_len;
		break;
	case TP_FRAME_NEED_MORE:
		if (len >= TP_FRAME_HDR_LEN) {
			hdr = frame_read_be32(buf);
			CHECK(hdr <= max);
			CHECK(len - TP_FRAME_HDR_LEN < hdr);
		}
		break;
	default:
		CHECK(0);
	}
	free(copy);
	return r;
}

/* The reference: every frame of the whole stream, parsed from one buffer. */
static void
frame_reference(const uint8_t *stream, size_t len, uint32_t max, struct frame_ref *ref)
{
	size_t off = 0, body_len, frame_len, cap = 0;
	enum tp_frame_result r;

	memset(ref, 0, sizeof(*ref));
	for (;;) {
		r = frame_parse_checked(stream + off, len - off, max, &body_len, &frame_len);
		if (r != TP_FRAME_OK)
			break;
		if (ref->fr_n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			ref->fr_frames = realloc(ref->fr_frames, cap * sizeof(*ref->fr_frames));
			CHECK(ref->fr_frames != NULL);
		}
		ref->fr_frames[ref->fr_n].fs_off = off + TP_FRAME_HDR_LEN;
		ref->fr_frames[ref->fr_n].fs_len = body_len;
		ref->fr_n++;
		off += frame_len;
		CHECK(off <= len);
	}
	ref->fr_consumed = off;
	ref->fr_end = (int)r;
}

/*
 * Feed the stream in chunks, as a reader that keeps a partial frame between
 * reads; compare each frame with the reference.
 */
static void
frame_chunked(const uint8_t *stream, size_t len, uint32_t max, const uint8_t *splits,
    size_t nsplits, const struct frame_ref *ref)
{
	uint8_t *buf;
	size_t fed = 0, have = 0, consumed = 0, nframes = 0, i = 0, chunk;
	size_t body_len, frame_len;
	enum tp_frame_result r = TP_FRAME_NEED_MORE;
	bool refused = false;

	buf = malloc(len > 0 ? len : 1);
	CHECK(buf != NULL);
	while (fed < len && !refused) {
		/* A size of 0, or the splits running out, means the rest. */
		chunk = i < nsplits && splits[i] != 0 ? splits[i] : len - fed;
		i++;
		if (chunk > len - fed)
			chunk = len - fed;
		memcpy(buf + have, stream + fed, chunk);
		have += chunk;
		fed += chunk;
		for (;;) {
			r = frame_parse_checked(buf, have, max, &body_len, &frame_len);
			if (r == TP_FRAME_TOO_LARGE) {
				refused = true;
				break;
			}
			if (r == TP_FRAME_NEED_MORE)
				break;
			CHECK(nframes < ref->fr_n);
			CHECK(ref->fr_frames[nframes].fs_off == consumed + TP_FRAME_HDR_LEN);
			CHECK(ref->fr_frames[nframes].fs_len == body_len);
			CHECK(memcmp(buf + TP_FRAME_HDR_LEN,
			    stream + ref->fr_frames[nframes].fs_off, body_len) == 0);
			nframes++;
			consumed += frame_len;
			have -= frame_len;
			memmove(buf, buf + frame_len, have);
		}
		CHECK(consumed + have == fed);
	}
	free(buf);
	/* Split or whole, the same frames, the same end. */
	CHECK(nframes == ref->fr_n);
	CHECK(consumed == ref->fr_consumed);
	if (refused) {
		CHECK(ref->fr_end == TP_FRAME_TOO_LARGE);
	} else {
		CHECK(fed == len);
		CHECK(r == TP_FRAME_NEED_MORE);
		CHECK(ref->fr_end == TP_FRAME_NEED_MORE);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *stream = data, *splits = NULL;
	size_t len = size, nsplits = 0;
	uint32_t max = TP_FRAME_MAX_DEFAULT, raw;
	uint8_t hdr[TP_FRAME_HDR_LEN];
	struct frame_ref ref;

	if (size >= FRAME_PREFIX_MIN) {
		raw = frame_read_be32(data + 1);
		switch (data[0] & 3) {
		case 0:
			max = raw;
			break;
		case 1:
			max = raw & 0xffffu;
			break;
		case 2:
			max = 0;
			break;
		default:
			max = UINT32_MAX;
			break;
		}
		nsplits = data[5] % FRAME_SPLITS_MAX;
		if (nsplits > size - FRAME_PREFIX_MIN)
			nsplits = size - FRAME_PREFIX_MIN;
		splits = data + FRAME_PREFIX_MIN;
		stream = splits + nsplits;
		len = size - FRAME_PREFIX_MIN - nsplits;

		/* The header codec round-trips whatever length it is given. */
		tp_frame_put_header(hdr, raw);
		CHECK(tp_frame_get_header(hdr) == raw);
		CHECK(memcmp(hdr, data + 1, TP_FRAME_HDR_LEN) == 0);
	}

	frame_reference(stream, len, max, &ref);
	frame_chunked(stream, len, max, splits, nsplits, &ref);
	free(ref.fr_frames);
	return 0;
}
