/*
 * test_frame.c -- Check runner for the tpool framing codec (proto/frame.c)
 * and for the generated protobuf-c code behind it.
 *
 * The stream tests play the part of a reader: bytes arrive in pieces of
 * every size and at every split point, and the frames that come out must be
 * exactly the frames that went in.  The limit tests check that a length over
 * the maximum is refused from the 4 header bytes alone, before any body is
 * there to buffer.  The protobuf tests push a Request through the codec and
 * protobuf-c and back, and feed bytes that must not unpack.
 *
 * CK_FORK=no is honoured (nothing here depends on a fork).
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "tpool.pb-c.h"

#define	TEST_TIMEOUT	30	/* seconds, per test case */

/* ----------------------------------------------------------- a test stream */

/* Body lengths of the frames in the test stream: empty, tiny, odd, larger. */
static const size_t stream_lens[] = { 0, 1, 7, 0, 300, 2, 1000, 0 };
#define	NFRAMES	(sizeof(stream_lens) / sizeof(stream_lens[0]))

struct stream {
	uint8_t		*st_buf;
	size_t		st_len;
	size_t		st_off[NFRAMES];	/* where each body starts */
};

/* Build the stream: each body's bytes depend on its frame and position. */
static void
stream_build(struct stream *st)
{
	size_t i, j, total, off;

	total = 0;
	for (i = 0; i < NFRAMES; i++)
		total += TP_FRAME_HDR_LEN + stream_lens[i];
	st->st_buf = malloc(total);
	ck_assert_ptr_nonnull(st->st_buf);
	st->st_len = total;
	off = 0;
	for (i = 0; i < NFRAMES; i++) {
		tp_frame_put_header(st->st_buf + off, (uint32_t)stream_lens[i]);
		off += TP_FRAME_HDR_LEN;
		st->st_off[i] = off;
		for (j = 0; j < stream_lens[i]; j++)
			st->st_buf[off + j] = (uint8_t)(i * 31 + j);
		off += stream_lens[i];
	}
	ck_assert_uint_eq(off, total);
}

/*
 * A reader's buffer: bytes are appended as they "arrive", every whole frame
 * is taken out and checked against the stream, the rest is kept.
 */
struct reader {
	uint8_t		rd_buf[4096];
	size_t		rd_len;
	size_t		rd_nframes;	/* frames seen so far */
	uint32_t	rd_max;
};

static void
reader_feed(struct reader *rd, const struct stream *st, const uint8_t *p,
    size_t n)
{
	const uint8_t *body;
	size_t body_len, frame_len;
	enum tp_frame_result r;

	ck_assert_uint_le(rd->rd_len + n, sizeof(rd->rd_buf));
	memcpy(rd->rd_buf + rd->rd_len, p, n);
	rd->rd_len += n;
	for (;;) {
		body = NULL;
		body_len = frame_len = 0;
		r = tp_frame_parse(rd->rd_buf, rd->rd_len, rd->rd_max,
		    &body, &body_len, &frame_len);
		ck_assert_int_ne(r, TP_FRAME_TOO_LARGE);
		if (r == TP_FRAME_NEED_MORE)
			break;
		ck_assert_uint_lt(rd->rd_nframes, NFRAMES);
		ck_assert_uint_eq(body_len, stream_lens[rd->rd_nframes]);
		ck_assert_uint_eq(frame_len, TP_FRAME_HDR_LEN + body_len);
		ck_assert_ptr_eq(body, rd->rd_buf + TP_FRAME_HDR_LEN);
		ck_assert_int_eq(memcmp(body,
		    st->st_buf + st->st_off[rd->rd_nframes], body_len), 0);
		rd->rd_nframes++;
		memmove(rd->rd_buf, rd->rd_buf + frame_len,
		    rd->rd_len - frame_len);
		rd->rd_len -= frame_len;
	}
}

/* Everything delivered: all frames seen, nothing left over. */
static void
reader_check_done(const struct reader *rd)
{
	ck_assert_uint_eq(rd->rd_nframes, NFRAMES);
	ck_assert_uint_eq(rd->rd_len, 0);
}

START_TEST(test_stream_byte_by_byte)
{
	struct stream st;
	struct reader rd;
	size_t i;

	stream_build(&st);
	memset(&rd, 0, sizeof(rd));
	rd.rd_max = TP_FRAME_MAX_DEFAULT;
	for (i = 0; i < st.st_len; i++)
		reader_feed(&rd, &st, st.st_buf + i, 1);
	reader_check_done(&rd);
	free(st.st_buf);
}
END_TEST

START_TEST(test_stream_every_split_point)
{
	struct stream st;
	struct reader rd;
	size_t k;

	stream_build(&st);
	/* Two reads, split at every byte boundary, both ends included. */
	for (k = 0; k <= st.st_len; k++) {
		memset(&rd, 0, sizeof(rd));
		rd.rd_max = TP_FRAME_MAX_DEFAULT;
		reader_feed(&rd, &st, st.st_buf, k);
		reader_feed(&rd, &st, st.st_buf + k, st.st_len - k);
		reader_check_done(&rd);
	}
	free(st.st_buf);
}
END_TEST

START_TEST(test_stream_every_chunk_size)
{
	struct stream st;
	struct reader rd;
	size_t chunk, off, n;

	stream_build(&st);
	/* Reads of every fixed size, so splits fall everywhere at once. */
	for (chunk = 1; chunk <= st.st_len; chunk++) {
		memset(&rd, 0, sizeof(rd));
		rd.rd_max = TP_FRAME_MAX_DEFAULT;
		for (off = 0; off < st.st_len; off += n) {
			n = st.st_len - off < chunk ? st.st_len - off : chunk;
			reader_feed(&rd, &st, st.st_buf + off, n);
		}
		reader_check_done(&rd);
	}
	free(st.st_buf);
}
END_TEST

START_TEST(test_stream_three_way_splits)
{
	struct stream st;
	struct reader rd;
	size_t a, b;

	/* Every pair of split points in the first 64 bytes (several frames). */
	stream_build(&st);
	for (a = 0; a <= 64; a++) {
		for (b = a; b <= 64; b++) {
			memset(&rd, 0, sizeof(rd));
			rd.rd_max = TP_FRAME_MAX_DEFAULT;
			reader_feed(&rd, &st, st.st_buf, a);
			reader_feed(&rd, &st, st.st_buf + a, b - a);
			reader_feed(&rd, &st, st.st_buf + b, st.st_len - b);
			reader_check_done(&rd);
		}
	}
	free(st.st_buf);
}
END_TEST

START_TEST(test_two_frames_in_one_read)
{
	uint8_t buf[4 + 3 + 4 + 2];
	const uint8_t *body;
	size_t body_len, frame_len;

	tp_frame_put_header(buf, 3);
	memcpy(buf + 4, "abc", 3);
	tp_frame_put_header(buf + 7, 2);
	memcpy(buf + 11, "de", 2);

	ck_assert_int_eq(tp_frame_parse(buf, sizeof(buf), 100, &body,
	    &body_len, &frame_len), TP_FRAME_OK);
	ck_assert_uint_eq(body_len, 3);
	ck_assert_uint_eq(frame_len, 7);
	ck_assert_int_eq(memcmp(body, "abc", 3), 0);

	ck_assert_int_eq(tp_frame_parse(buf + frame_len, sizeof(buf) - frame_len,
	    100, &body, &body_len, &frame_len), TP_FRAME_OK);
	ck_assert_uint_eq(body_len, 2);
	ck_assert_uint_eq(frame_len, 6);
	ck_assert_int_eq(memcmp(body, "de", 2), 0);
}
END_TEST

START_TEST(test_short_header_needs_more)
{
	uint8_t buf[4] = { 0, 0, 0, 0 };
	const uint8_t *body = NULL;
	size_t body_len = 99, frame_len = 99, n;

	for (n = 0; n < TP_FRAME_HDR_LEN; n++) {
		ck_assert_int_eq(tp_frame_parse(buf, n, 100, &body, &body_len,
		    &frame_len), TP_FRAME_NEED_MORE);
	}
	/* Outputs are untouched when nothing is returned. */
	ck_assert_ptr_null(body);
	ck_assert_uint_eq(body_len, 99);
	ck_assert_uint_eq(frame_len, 99);
}
END_TEST

START_TEST(test_length_zero)
{
	uint8_t buf[4];
	const uint8_t *body = NULL;
	size_t body_len = 99, frame_len = 99;

	tp_frame_put_header(buf, 0);
	ck_assert_int_eq(tp_frame_parse(buf, sizeof(buf), 100, &body, &body_len,
	    &frame_len), TP_FRAME_OK);
	ck_assert_uint_eq(body_len, 0);
	ck_assert_uint_eq(frame_len, TP_FRAME_HDR_LEN);
	ck_assert_ptr_eq(body, buf + TP_FRAME_HDR_LEN);
	/* An empty body is a valid (empty) Request to protobuf. */
	{
		Tpool__Request *req;

		req = tpool__request__unpack(NULL, 0, body);
		ck_assert_ptr_nonnull(req);
		ck_assert_int_eq(req->body_case, TPOOL__REQUEST__BODY__NOT_SET);
		ck_assert(!req->has_request_id);
		tpool__request__free_unpacked(req, NULL);
	}
}
END_TEST

START_TEST(test_length_max_accepted)
{
	const uint32_t max = TP_FRAME_MAX_DEFAULT;
	const uint8_t *body;
	size_t body_len, frame_len;
	uint8_t *buf;

	buf = calloc(1, TP_FRAME_HDR_LEN + max);
	ck_assert_ptr_nonnull(buf);
	tp_frame_put_header(buf, max);
	buf[TP_FRAME_HDR_LEN + max - 1] = 0x5a;
	/* Header alone: accepted, waits for the body. */
	ck_assert_int_eq(tp_frame_parse(buf, TP_FRAME_HDR_LEN, max, &body,
	    &body_len, &frame_len), TP_FRAME_NEED_MORE);
	/* One byte short: still waits. */
	ck_assert_int_eq(tp_frame_parse(buf, TP_FRAME_HDR_LEN + max - 1, max,
	    &body, &body_len, &frame_len), TP_FRAME_NEED_MORE);
	ck_assert_int_eq(tp_frame_parse(buf, TP_FRAME_HDR_LEN + max, max,
	    &body, &body_len, &frame_len), TP_FRAME_OK);
	ck_assert_uint_eq(body_len, max);
	ck_assert_uint_eq(frame_len, TP_FRAME_HDR_LEN + (size_t)max);
	ck_assert_uint_eq(body[max - 1], 0x5a);
	free(buf);
}
END_TEST

START_TEST(test_length_max_plus_one_refused_from_header)
{
	const uint32_t max = TP_FRAME_MAX_DEFAULT;
	uint8_t hdr[4];
	const uint8_t *body = NULL;
	size_t body_len = 0, frame_len = 99;

	tp_frame_put_header(hdr, max + 1);
	/* Only the 4 header bytes exist: refused, nothing to buffer. */
	ck_assert_int_eq(tp_frame_parse(hdr, sizeof(hdr), max, &body,
	    &body_len, &frame_len), TP_FRAME_TOO_LARGE);
	ck_assert_uint_eq(body_len, (size_t)max + 1);
	ck_assert_ptr_null(body);
	ck_assert_uint_eq(frame_len, 99);
}
END_TEST

START_TEST(test_length_huge_refused)
{
	uint8_t hdr[4] = { 0xff, 0xff, 0xff, 0xff };
	const uint8_t *body = NULL;
	size_t body_len = 0, frame_len = 0;

	ck_assert_uint_eq(tp_frame_get_header(hdr), 0xffffffffu);
	ck_assert_int_eq(tp_frame_parse(hdr, sizeof(hdr), TP_FRAME_MAX_DEFAULT,
	    &body, &body_len, &frame_len), TP_FRAME_TOO_LARGE);
	ck_assert_uint_eq(body_len, 0xffffffffu);
	/* With no limit at all it must wait, never wrap around. */
	ck_assert_int_eq(tp_frame_parse(hdr, sizeof(hdr), UINT32_MAX,
	    &body, &body_len, &frame_len), TP_FRAME_NEED_MORE);
}
END_TEST

START_TEST(test_limit_applies_per_call)
{
	uint8_t buf[4 + 10];
	const uint8_t *body;
	size_t body_len, frame_len;

	memset(buf, 0, sizeof(buf));
	tp_frame_put_header(buf, 10);
	ck_assert_int_eq(tp_frame_parse(buf, sizeof(buf), 10, &body, &body_len,
	    &frame_len), TP_FRAME_OK);
	ck_assert_int_eq(tp_frame_parse(buf, sizeof(buf), 9, &body, &body_len,
	    &frame_len), TP_FRAME_TOO_LARGE);
	ck_assert_int_eq(tp_frame_parse(buf, 4, 0, &body, &body_len,
	    &frame_len), TP_FRAME_TOO_LARGE);
}
END_TEST

START_TEST(test_header_big_endian)
{
	static const uint32_t vals[] = { 0, 1, 0xff, 0x100, 0x01020304,
	    0x7fffffff, 0x80000000, 0xffffffff };
	uint8_t hdr[4];
	size_t i;

	tp_frame_put_header(hdr, 0x01020304);
	ck_assert_uint_eq(hdr[0], 0x01);
	ck_assert_uint_eq(hdr[1], 0x02);
	ck_assert_uint_eq(hdr[2], 0x03);
	ck_assert_uint_eq(hdr[3], 0x04);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		tp_frame_put_header(hdr, vals[i]);
		ck_assert_uint_eq(tp_frame_get_header(hdr), vals[i]);
	}
}
END_TEST

/* ----------------------------------------------------------- with protobuf */

START_TEST(test_request_round_trip)
{
	static const uint8_t input[] = { 0x00, 0xff, 'a', 0x00, 0x80, '\n' };
	Tpool__Request req = TPOOL__REQUEST__INIT, *out;
	Tpool__Submit s = TPOOL__SUBMIT__INIT;
	const uint8_t *body;
	size_t len, body_len, frame_len;
	uint8_t *buf;

	s.plugin = (char *)"sha256";
	s.has_input = true;
	s.input.data = (uint8_t *)(uintptr_t)input;
	s.input.len = sizeof(input);
	s.name = (char *)"my job";
	s.has_pool = true;
	s.pool = TPOOL__POOL_KIND__POOL_PERCPU;
	s.has_priority = true;
	s.priority = -20;
	s.has_cpu = true;
	s.cpu = 3;
	req.has_request_id = true;
	req.request_id = UINT64_C(0x123456789abcdef0);
	req.body_case = TPOOL__REQUEST__BODY_SUBMIT;
	req.submit = &s;

	len = tpool__request__get_packed_size(&req);
	buf = malloc(TP_FRAME_HDR_LEN + len);
	ck_assert_ptr_nonnull(buf);
	tp_frame_put_header(buf, (uint32_t)len);
	ck_assert_uint_eq(tpool__request__pack(&req, buf + TP_FRAME_HDR_LEN),
	    len);

	ck_assert_int_eq(tp_frame_parse(buf, TP_FRAME_HDR_LEN + len,
	    TP_FRAME_MAX_DEFAULT, &body, &body_len, &frame_len), TP_FRAME_OK);
	ck_assert_uint_eq(body_len, len);
	out = tpool__request__unpack(NULL, body_len, body);
	ck_assert_ptr_nonnull(out);
	ck_assert(out->has_request_id);
	ck_assert(out->request_id == UINT64_C(0x123456789abcdef0));
	ck_assert_int_eq(out->body_case, TPOOL__REQUEST__BODY_SUBMIT);
	ck_assert_str_eq(out->submit->plugin, "sha256");
	ck_assert_str_eq(out->submit->name, "my job");
	ck_assert(out->submit->has_input);
	ck_assert_uint_eq(out->submit->input.len, sizeof(input));
	ck_assert_int_eq(memcmp(out->submit->input.data, input, sizeof(input)),
	    0);
	ck_assert_int_eq(out->submit->pool, TPOOL__POOL_KIND__POOL_PERCPU);
	ck_assert_int_eq(out->submit->priority, -20);
	ck_assert_int_eq(out->submit->cpu, 3);
	tpool__request__free_unpacked(out, NULL);
	free(buf);
}
END_TEST

START_TEST(test_submit_defaults_when_absent)
{
	Tpool__Request req = TPOOL__REQUEST__INIT, *out;
	Tpool__Submit s = TPOOL__SUBMIT__INIT;
	uint8_t buf[64];
	size_t len;

	/* Only the plugin: the .proto's defaults say "not given". */
	s.plugin = (char *)"echo";
	req.body_case = TPOOL__REQUEST__BODY_SUBMIT;
	req.submit = &s;
	len = tpool__request__get_packed_size(&req);
	ck_assert_uint_le(len, sizeof(buf));
	(void)tpool__request__pack(&req, buf);
	out = tpool__request__unpack(NULL, len, buf);
	ck_assert_ptr_nonnull(out);
	ck_assert(!out->has_request_id);
	ck_assert(!out->submit->has_input);
	ck_assert(!out->submit->has_priority);
	ck_assert_int_eq(out->submit->priority, -1);
	ck_assert_int_eq(out->submit->cpu, -1);
	ck_assert_int_eq(out->submit->pool, TPOOL__POOL_KIND__POOL_UNBOUND);
	tpool__request__free_unpacked(out, NULL);
}
END_TEST

START_TEST(test_server_message_round_trip)
{
	static const uint8_t result[] = { 0xde, 0xad, 0x00, 0xbe, 0xef };
	Tpool__ServerMessage sm = TPOOL__SERVER_MESSAGE__INIT, *out;
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobFinished fin = TPOOL__JOB_FINISHED__INIT;
	Tpool__JobInfo ji = TPOOL__JOB_INFO__INIT;
	uint8_t buf[256];
	size_t len;

	ji.has_job_id = true;
	ji.job_id = 42;
	ji.has_state = true;
	ji.state = TPOOL__JOB_STATE__JOB_SUCCEEDED;
	ji.has_result = true;
	ji.result.data = (uint8_t *)(uintptr_t)result;
	ji.result.len = sizeof(result);
	ji.has_ran_on_cpu = true;
	ji.ran_on_cpu = -1;
	fin.job = &ji;
	ev.has_job_id = true;
	ev.job_id = 42;
	ev.kind_case = TPOOL__EVENT__KIND_FINISHED;
	ev.finished = &fin;
	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_EVENT;
	sm.event = &ev;
	len = tpool__server_message__get_packed_size(&sm);
	ck_assert_uint_le(len, sizeof(buf));
	(void)tpool__server_message__pack(&sm, buf);
	out = tpool__server_message__unpack(NULL, len, buf);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(out->msg_case, TPOOL__SERVER_MESSAGE__MSG_EVENT);
	ck_assert(out->event->job_id == 42);
	ck_assert_int_eq(out->event->kind_case, TPOOL__EVENT__KIND_FINISHED);
	ck_assert_int_eq(out->event->finished->job->state,
	    TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_eq(out->event->finished->job->result.len, sizeof(result));
	ck_assert_int_eq(memcmp(out->event->finished->job->result.data, result,
	    sizeof(result)), 0);
	ck_assert_int_eq(out->event->finished->job->ran_on_cpu, -1);
	tpool__server_message__free_unpacked(out, NULL);
}
END_TEST

/* Byte strings that are not a Request. */
static const struct {
	const char	*bad_what;
	uint8_t		bad_bytes[16];
	size_t		bad_len;
} bad_requests[] = {
	{ "field number 0", { 0x00, 0x01 }, 2 },
	{ "truncated varint", { 0x08, 0xff }, 2 },
	{ "varint of 11 bytes", { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x01 }, 12 },
	{ "submessage longer than the frame", { 0x1a, 0x05, 0x0a, 0x01 }, 4 },
	{ "length prefix past the end", { 0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f },
	    6 },
	{ "bad string inside submit", { 0x1a, 0x03, 0x0a, 0x05, 'e' }, 5 },
	{ "submit sent as a varint", { 0x18, 0x01 }, 2 },
	{ "wire type 7", { 0x0f, 0x00 }, 2 },
	{ "tag alone", { 0x0a }, 1 },
};

START_TEST(test_bad_bytes_do_not_unpack)
{
	Tpool__Request *req;

	req = tpool__request__unpack(NULL, bad_requests[_i].bad_len,
	    bad_requests[_i].bad_bytes);
	if (req != NULL) {
		tpool__request__free_unpacked(req, NULL);
		ck_abort_msg("unpacked: %s", bad_requests[_i].bad_what);
	}
}
END_TEST

START_TEST(test_bad_bytes_in_frame_stream)
{
	uint8_t buf[64];
	const uint8_t *body;
	size_t body_len, frame_len, off;
	Tpool__Request *req;

	/* A good frame, then a bad body: the framing is fine, the body is not. */
	tp_frame_put_header(buf, 2);
	buf[4] = 0x08;		/* request_id = 7 */
	buf[5] = 0x07;
	tp_frame_put_header(buf + 6, 2);
	buf[10] = 0x08;		/* request_id, truncated varint */
	buf[11] = 0x80;
	off = 0;
	ck_assert_int_eq(tp_frame_parse(buf, 12, 100, &body, &body_len,
	    &frame_len), TP_FRAME_OK);
	req = tpool__request__unpack(NULL, body_len, body);
	ck_assert_ptr_nonnull(req);
	ck_assert(req->request_id == 7);
	tpool__request__free_unpacked(req, NULL);
	off += frame_len;
	ck_assert_int_eq(tp_frame_parse(buf + off, 12 - off, 100, &body,
	    &body_len, &frame_len), TP_FRAME_OK);
	ck_assert_ptr_null(tpool__request__unpack(NULL, body_len, body));
}
END_TEST

static Suite *
frame_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("frame");

	tc = tcase_create("stream");
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_stream_byte_by_byte);
	tcase_add_test(tc, test_stream_every_split_point);
	tcase_add_test(tc, test_stream_every_chunk_size);
	tcase_add_test(tc, test_stream_three_way_splits);
	tcase_add_test(tc, test_two_frames_in_one_read);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_short_header_needs_more);
	tcase_add_test(tc, test_length_zero);
	tcase_add_test(tc, test_length_max_accepted);
	tcase_add_test(tc, test_length_max_plus_one_refused_from_header);
	tcase_add_test(tc, test_length_huge_refused);
	tcase_add_test(tc, test_limit_applies_per_call);
	tcase_add_test(tc, test_header_big_endian);
	suite_add_tcase(s, tc);

	tc = tcase_create("protobuf");
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_request_round_trip);
	tcase_add_test(tc, test_submit_defaults_when_absent);
	tcase_add_test(tc, test_server_message_round_trip);
	tcase_add_loop_test(tc, test_bad_bytes_do_not_unpack, 0,
	    (int)(sizeof(bad_requests) / sizeof(bad_requests[0])));
	tcase_add_test(tc, test_bad_bytes_in_frame_stream);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int nfailed;

	sr = srunner_create(frame_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
