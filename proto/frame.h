/*
 * frame.h -- the tpool stream framing: a 4-byte big-endian length, then that
 * many bytes of one protobuf message.  Pure functions: no I/O, no
 * allocation; the daemon (over evbuffers) and the client library (over
 * blocking sockets) both use them.  See docs/protocol.md.
 */
#ifndef TP_FRAME_H
#define TP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define	TP_FRAME_HDR_LEN	4u
#define	TP_FRAME_MAX_DEFAULT	(1u << 20)	/* 1 MiB */

enum tp_frame_result {
	TP_FRAME_NEED_MORE = 0,	/* not a whole frame yet: read more */
	TP_FRAME_OK,		/* ret_body, ret_body_len, ret_frame_len set */
	TP_FRAME_TOO_LARGE,	/* header says more than max: refuse, do not buffer */
};

/*
 * Look at buf[0..len) for one frame whose body is at most max bytes.  On
 * TP_FRAME_OK, *ret_body points into buf (borrowed), *ret_body_len is the
 * body's length (0 is possible), and *ret_frame_len what the frame occupies
 * (header included), so the caller can consume it.  On TP_FRAME_TOO_LARGE,
 * *ret_body_len holds the length the peer announced.  The header is judged as
 * soon as its 4 bytes are there, before any body is buffered.
 */
enum tp_frame_result tp_frame_parse(const uint8_t *buf, size_t len, uint32_t max,
    const uint8_t **ret_body, size_t *ret_body_len, size_t *ret_frame_len);

/* Write the 4-byte header of a frame with a body of body_len bytes. */
void	tp_frame_put_header(uint8_t hdr[TP_FRAME_HDR_LEN], uint32_t body_len);

/* Read the length from a 4-byte header. */
uint32_t tp_frame_get_header(const uint8_t hdr[TP_FRAME_HDR_LEN]);

#endif /* TP_FRAME_H */
