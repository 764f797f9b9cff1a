/*
 * frame.c -- length-prefixed framing of tpool messages (see frame.h).
 * Nothing here reads, writes or allocates; callers own their buffers.
 */
#include "config.h"

#include "frame.h"

void
tp_frame_put_header(uint8_t hdr[TP_FRAME_HDR_LEN], uint32_t body_len)
{
	hdr[0] = (uint8_t)(body_len >> 24);
	hdr[1] = (uint8_t)(body_len >> 16);
	hdr[2] = (uint8_t)(body_len >> 8);
	hdr[3] = (uint8_t)body_len;
}

uint32_t
tp_frame_get_header(const uint8_t hdr[TP_FRAME_HDR_LEN])
{
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3];
}

enum tp_frame_result
tp_frame_parse(const uint8_t *buf, size_t len, uint32_t max,
    const uint8_t **ret_body, size_t *ret_body_len, size_t *ret_frame_len)
{
	uint32_t body_len;

	if (len < TP_FRAME_HDR_LEN)
		return TP_FRAME_NEED_MORE;
	body_len = tp_frame_get_header(buf);
	if (body_len > max) {
		*ret_body_len = body_len;
		return TP_FRAME_TOO_LARGE;
	}
	/* Compare without adding, so no length can overflow size_t. */
	if (len - TP_FRAME_HDR_LEN < body_len)
		return TP_FRAME_NEED_MORE;
	*ret_body = buf + TP_FRAME_HDR_LEN;
	*ret_body_len = body_len;
	*ret_frame_len = TP_FRAME_HDR_LEN + (size_t)body_len;
	return TP_FRAME_OK;
}
