/*
 * test_wire.c -- tpoold against bad and odd bytes on its socket, spoken raw
 * (proto/frame.h + protobuf-c): zero and huge lengths, frames cut off,
 * garbage, requests without a body, wrong versions, frames split byte by
 * byte or packed many to a write, too many connections, a client that
 * never reads.  After each, the daemon must go on serving everyone else.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"

#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })

static struct td_daemon D;

/* Another client still gets a job done. */
static void
check_alive(void)
{
	Tpool__JobInfo *j;
	struct tpc *c = td_connect(&D);

	j = td_run_job(c, "echo", "alive", TPOOL__POOL_KIND__POOL_UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
}

static void
send_hello(int fd, uint64_t request_id, bool has_version, uint32_t version)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Hello h = TPOOL__HELLO__INIT;

	h.has_version = has_version;
	h.version = version;
	h.client_name = (char *)"test_wire";
	req.has_request_id = true;
	req.request_id = request_id;
	req.body_case = TPOOL__REQUEST__BODY_HELLO;
	req.hello = &h;
	td_raw_send(fd, &req.base);
}

static void
expect_hello_reply(int fd, uint64_t request_id)
{
	Tpool__ServerMessage *sm;
	bool eof;

	sm = td_raw_read(fd, td_deadline_ms(), &eof);
	ck_assert_msg(sm != NULL, "no hello reply (%s)", eof ? "end of file" : "timeout");
	ck_assert_int_eq(sm->msg_case, TPOOL__SERVER_MESSAGE__MSG_RESPONSE);
	ck_assert_uint_eq(sm->response->request_id, request_id);
	ck_assert_int_eq(sm->response->body_case, TPOOL__RESPONSE__BODY_HELLO);
	ck_assert_uint_eq(sm->response->hello->version, 1);
	ck_assert_uint_eq(sm->response->hello->uid, getuid());
	ck_assert_str_eq(sm->response->hello->server_version, PACKAGE_VERSION);
	ck_assert_uint_gt(sm->response->hello->max_frame, 0);
	tpool__server_message__free_unpacked(sm, NULL);
}

START_TEST(test_hello)
{
	int fd;

	td_up(&D, NULL);
	fd = td_raw_connect(&D);
	send_hello(fd, 7, true, 1);
	expect_hello_reply(fd, 7);
	(void)close(fd);

	/* Another version: told, and dropped. */
	fd = td_raw_connect(&D);
	send_hello(fd, 8, true, 2);
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_VERSION);
	ck_assert(td_raw_wait_eof(fd, td_deadline_ms()));
	(void)close(fd);
	/* No version at all: the same. */
	fd = td_raw_connect(&D);
	send_hello(fd, 9, false, 0);
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_VERSION);
	ck_assert(td_raw_wait_eof(fd, td_deadline_ms()));
	(void)close(fd);
	check_alive();
	td_down(&D);
}
END_TEST

START_TEST(test_zero_length_frame)
{
	static const uint8_t zero[4] = { 0, 0, 0, 0 };
	int fd;

	td_up(&D, NULL);
	fd = td_raw_connect(&D);
	/*
	 * An empty message is a Request without an id or a body: an error
	 * with request id 0, which, like every id-0 error, ends the
	 * connection (a request must not use id 0).
	 */
	td_raw_write(fd, zero, sizeof(zero));
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	ck_assert(td_raw_wait_eof(fd, td_deadline_ms()));
	(void)close(fd);
	/* A new connection is served as usual. */
	fd = td_raw_connect(&D);
	send_hello(fd, 1, true, 1);
	expect_hello_reply(fd, 1);
	(void)close(fd);
	check_alive();
	td_down(&D);
}
END_TEST

START_TEST(test_request_without_body)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__ServerMessage *sm;
	int fd;

	td_up(&D, NULL);
	fd = td_raw_connect(&D);
	req.has_request_id = true;
	req.request_id = 42;
	td_raw_send(fd, &req.base);
	sm = td_raw_read(fd, td_deadline_ms(), NULL);
	ck_assert_ptr_nonnull(sm);
	ck_assert_uint_eq(sm->response->request_id, 42);
	ck_assert_int_eq(sm->response->error->code, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	tpool__server_message__free_unpacked(sm, NULL);
	send_hello(fd, 43, true, 1);
	expect_hello_reply(fd, 43);
	(void)close(fd);
	td_down(&D);
}
END_TEST

/*
 * A client that half-closes (shutdown(SHUT_WR)) right after a submit still
 * gets its SubmitReply, even while the daemon holds it for the job's end
 * (found by fuzz_conn: tests/fuzz/regressions/fuzz_conn/
 * half-close-loses-held-submit-reply), and then the end of the stream.
 */
START_TEST(test_half_close_still_gets_submit_reply)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Submit sub = TPOOL__SUBMIT__INIT;
	Tpool__ServerMessage *sm;
	bool eof = false, got_reply = false;
	int fd;

	td_up(&D, NULL);
	fd = td_raw_connect(&D);
	sub.plugin = (char *)"echo";
	req.has_request_id = true;
	req.request_id = 7;
	req.body_case = TPOOL__REQUEST__BODY_SUBMIT;
	req.submit = &sub;
	td_raw_send(fd, &req.base);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	while ((sm = td_raw_read(fd, td_deadline_ms(), &eof)) != NULL) {
		if (sm->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE) {
			ck_assert_uint_eq(sm->response->request_id, 7);
			ck_assert_int_eq(sm->response->body_case,
			    TPOOL__RESPONSE__BODY_SUBMIT);
			got_reply = true;
		}
		tpool__server_message__free_unpacked(sm, NULL);
	}
	ck_assert_msg(got_reply, "no SubmitReply after a half-close");
	ck_assert_msg(eof, "the daemon did not close after the reply");
	(void)close(fd);
	td_down(&D);
}
END_TEST

START_TEST(test_huge_length)
{
	static const uint8_t huge[4] = { 0xff, 0xff, 0xff, 0xff };
	uint8_t hdr[4];
	int fd;

	td_up(&D, ARGS("--max-frame", "1024"));
	fd = td_raw_connect(&D);
	/* Answered from the header alone, before any body; then closed. */
	td_raw_write(fd, huge, sizeof(huge));
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_FRAME_TOO_LARGE);
	ck_assert(td_raw_wait_eof(fd, td_deadline_ms()));
	(void)close(fd);

	/* The limit is exact: max + 1 is refused ... */
	fd = td_raw_connect(&D);
	tp_frame_put_header(hdr, 1025);
	td_raw_write(fd, hdr, sizeof(hdr));
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_FRAME_TOO_LARGE);
	ck_assert(td_raw_wait_eof(fd, td_deadline_ms()));
	(void)close(fd);

	/* ... max is read (and here is not a Request: bad request, closed). */
	fd = td_raw_connect(&D);
	{
		uint8_t frame[4 + 1024];

		tp_frame_put_header(frame, 1024);
		memset(frame + 4, 0xff, 1024);
		td_raw_write(fd, frame, sizeof(frame));
	}
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	ck_assert(td_raw_wait_eof(fd, td_deadline_ms()));
	(void)close(fd);

	/* The header may come in pieces too. */
	fd = td_raw_connect(&D);
	td_raw_write(fd, huge, 2);
	td_sleep_ms(50);
	td_raw_write(fd, huge + 2, 2);
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_FRAME_TOO_LARGE);
	(void)close(fd);
	check_alive();
	td_down(&D);
}
END_TEST

START_TEST(test_cut_off_frame_then_close)
{
	uint8_t buf[4 + 10];
	int fd;

	td_up(&D, NULL);
	/* Header promises 100 bytes, 10 come, then the client is gone. */
	fd = td_raw_connect(&D);
	tp_frame_put_header(buf, 100);
	memset(buf + 4, 0x12, 10);
	td_raw_write(fd, buf, sizeof(buf));
	(void)close(fd);
	/* Half a header, then gone. */
	fd = td_raw_connect(&D);
	td_raw_write(fd, buf, 2);
	(void)close(fd);
	ck_assert(td_log_wait(&D, "end of file in the middle of a frame", td_deadline_ms()));
	check_alive();
	td_down(&D);
}
END_TEST

START_TEST(test_garbage_bytes)
{
	uint8_t frame[4 + 16];
	int fd;

	td_up(&D, NULL);
	fd = td_raw_connect(&D);
	tp_frame_put_header(frame, 16);
	memset(frame + 4, 0xff, 16);
	td_raw_write(fd, frame, sizeof(frame));
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	ck_assert(td_raw_wait_eof(fd, td_deadline_ms()));
	(void)close(fd);

	/* A valid frame followed by garbage in the same write: first answered. */
	fd = td_raw_connect(&D);
	send_hello(fd, 5, true, 1);
	td_raw_write(fd, frame, sizeof(frame));
	expect_hello_reply(fd, 5);
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	ck_assert(td_raw_wait_eof(fd, td_deadline_ms()));
	(void)close(fd);
	check_alive();
	td_down(&D);
}
END_TEST

START_TEST(test_requests_missing_fields)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Submit s = TPOOL__SUBMIT__INIT;
	Tpool__Cancel c = TPOOL__CANCEL__INIT;
	Tpool__Watch w = TPOOL__WATCH__INIT;
	int fd;

	td_up(&D, NULL);
	fd = td_raw_connect(&D);
	req.has_request_id = true;
	req.request_id = 1;
	req.body_case = TPOOL__REQUEST__BODY_SUBMIT;
	req.submit = &s;
	td_raw_send(fd, &req.base);		/* no plugin name */
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	s.plugin = (char *)"echo";
	s.has_pool = true;
	s.pool = 7;				/* no such pool kind */
	td_raw_send(fd, &req.base);
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	s.pool = TPOOL__POOL_KIND__POOL_UNBOUND;
	s.plugin = (char *)"../../bin/sh";	/* names, never paths */
	td_raw_send(fd, &req.base);
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN);
	req.body_case = TPOOL__REQUEST__BODY_CANCEL;
	req.cancel = &c;
	td_raw_send(fd, &req.base);		/* no job id */
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	req.body_case = TPOOL__REQUEST__BODY_WATCH;
	req.watch = &w;
	td_raw_send(fd, &req.base);
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	/* Still open. */
	send_hello(fd, 2, true, 1);
	expect_hello_reply(fd, 2);
	(void)close(fd);
	td_down(&D);
}
END_TEST

START_TEST(test_split_and_packed_frames)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Hello h = TPOOL__HELLO__INIT;
	uint8_t *buf, *p;
	size_t len, one, i;
	int fd;

	td_up(&D, NULL);
	h.has_version = true;
	h.version = 1;
	req.has_request_id = true;
	req.body_case = TPOOL__REQUEST__BODY_HELLO;
	req.hello = &h;

	/* 100 frames in one write: 100 replies, in order. */
	req.request_id = 1000;
	one = TP_FRAME_HDR_LEN + tpool__request__get_packed_size(&req);
	buf = malloc(one * 100);
	ck_assert_ptr_nonnull(buf);
	for (i = 0, p = buf; i < 100; i++, p += one) {
		req.request_id = 1000 + i;
		len = tpool__request__get_packed_size(&req);
		tp_frame_put_header(p, (uint32_t)len);
		(void)tpool__request__pack(&req, p + TP_FRAME_HDR_LEN);
	}
	fd = td_raw_connect(&D);
	td_raw_write(fd, buf, one * 100);
	for (i = 0; i < 100; i++)
		expect_hello_reply(fd, 1000 + i);

	/* The same stream one byte at a time. */
	for (i = 0; i < one * 3; i++) {
		td_raw_write(fd, buf + i, 1);
		if (i % 7 == 0)
			td_sleep_ms(2);
	}
	for (i = 0; i < 3; i++)
		expect_hello_reply(fd, 1000 + i);
	free(buf);
	(void)close(fd);
	td_down(&D);
}
END_TEST

START_TEST(test_too_many_connections)
{
	struct tpc *a, *b, *c = NULL, *root[TD_ROOT_RESERVE];
	unsigned int i;
	uint64_t end;
	int fd, error;

	td_up(&D, ARGS("--max-connections", "2"));
	a = td_connect(&D);
	b = td_connect(&D);
	/* Past the limit, a few more are root's (the tests run as root). */
	for (i = 0; i < TD_ROOT_RESERVE; i++)
		root[i] = td_connect(&D);
	fd = td_raw_connect(&D);
	td_raw_expect_error(fd, TPOOL__ERROR_CODE__ERROR_TOO_MANY_CONNECTIONS);
	ck_assert(td_raw_wait_eof(fd, td_deadline_ms()));
	(void)close(fd);
	/* Room again once one leaves (and the daemon has seen it go). */
	tpc_free(a);
	end = tu_now_ms() + td_deadline_ms();
	while ((error = tpc_connect(D.td_sock, &c)) != 0 &&
	    tu_now_ms() < end)
		td_sleep_ms(20);
	ck_assert_int_eq(error, 0);
	tpc_free(c);
	tpc_free(b);
	for (i = 0; i < TD_ROOT_RESERVE; i++)
		tpc_free(root[i]);
	td_down(&D);
}
END_TEST

START_TEST(test_client_that_does_not_read)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Submit s = TPOOL__SUBMIT__INIT;
	char input[8192];
	int fd;

	td_up(&D, ARGS("--max-output", "64K"));
	memset(input, 'r', sizeof(input));
	s.plugin = (char *)"echo";
	s.has_input = true;
	s.input.data = (uint8_t *)input;
	s.input.len = sizeof(input);
	req.has_request_id = true;
	req.request_id = 1;
	req.body_case = TPOOL__REQUEST__BODY_SUBMIT;
	req.submit = &s;

	/* Results pile up (8 KiB each) while we only write. */
	fd = td_raw_connect(&D);
	(void)td_raw_flood(fd, &req.base, 4000);
	ck_assert(td_log_wait(&D, "is not reading", td_deadline_ms()));
	ck_assert(td_raw_wait_eof(fd, td_deadline_ms()));
	(void)close(fd);
	check_alive();
	td_down(&D);
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("daemon-wire");
	TCase *tc;

	tc = tcase_create("frames");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_zero_length_frame);
	tcase_add_test(tc, test_request_without_body);
	tcase_add_test(tc, test_half_close_still_gets_submit_reply);
	tcase_add_test(tc, test_huge_length);
	tcase_add_test(tc, test_cut_off_frame_then_close);
	tcase_add_test(tc, test_garbage_bytes);
	tcase_add_test(tc, test_requests_missing_fields);
	tcase_add_test(tc, test_split_and_packed_frames);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_too_many_connections);
	tcase_add_test(tc, test_client_that_does_not_read);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return td_main(wire_suite());
}
