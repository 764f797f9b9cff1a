/*
 * test_peek.c -- Check runner for proto/peek.c, which reads a
 * ServerMessage's routing fields off its wire bytes.  Its promise
 * (peek.h): when it answers true, its fields are those protobuf-c's unpack
 * gives; when the bytes are not plainly laid out it answers false.  The
 * tests pack messages of every kind with protobuf-c, from a fixed seed,
 * and compare the peek with the unpacked message; then they feed it
 * encodings protobuf-c accepts but an encoder does not write (a member
 * twice, a wrong wire type), truncations at every length, and random
 * byte changes, where it must answer false or agree with protobuf-c.
 *
 * CK_FORK=no is honoured (nothing here depends on a fork).
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peek.h"
#include "rng.h"
#include "tpool.pb-c.h"

#define	TEST_TIMEOUT	60	/* seconds, per test case */
#define	RANDOM_ROUNDS	20000	/* messages drawn */
#define	MUTATIONS	50000	/* random byte changes */

static void
assert_same_peek(const struct tp_peek *a, const struct tp_peek *b)
{
	ck_assert_int_eq(a->tpk_msg, b->tpk_msg);
	ck_assert_uint_eq(a->tpk_id, b->tpk_id);
	ck_assert_int_eq(a->tpk_kind, b->tpk_kind);
	ck_assert_int_eq(a->tpk_has_job_id, b->tpk_has_job_id);
	if (a->tpk_has_job_id)
		ck_assert_uint_eq(a->tpk_job_id, b->tpk_job_id);
	ck_assert_int_eq(a->tpk_existing, b->tpk_existing);
}

/*
 * buf[0..len): when the peek answers true and protobuf-c unpacks the
 * bytes, both must say the same; returns the peek's answer.
 */
static bool
check_agrees(const uint8_t *buf, size_t len)
{
	Tpool__ServerMessage *m;
	struct tp_peek pk, want;
	bool ok;

	memset(&pk, 0x5a, sizeof(pk));
	ok = tp_peek_server_message(buf, len, &pk);
	m = tpool__server_message__unpack(NULL, len, buf);
	if (ok && m != NULL) {
		tp_peek_from_message(m, &want);
		assert_same_peek(&pk, &want);
	}
	if (m != NULL)
		tpool__server_message__free_unpacked(m, NULL);
	return ok;
}

/* Pack sm; *ret_len bytes, the caller frees them. */
static uint8_t *
pack(const Tpool__ServerMessage *sm, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(&sm->base);
	uint8_t *buf;

	ck_assert_ptr_nonnull(buf = malloc(len + 1));
	ck_assert_uint_eq(protobuf_c_message_pack(&sm->base, buf), len);
	*ret_len = len;
	return buf;
}

/* sm as an encoder writes it: the peek reads it, and as protobuf-c does. */
static void
assert_peeks_as_unpacked(const Tpool__ServerMessage *sm)
{
	uint8_t *buf;
	size_t len;

	buf = pack(sm, &len);
	ck_assert_msg(check_agrees(buf, len), "the peek refused %zu bytes "
	    "protobuf-c packed", len);
	free(buf);
}

/* ------------------------------------------------------- messages */

/* A random message of any kind the daemon sends, in the caller's storage. */
struct msg_store {
	Tpool__ServerMessage	sm;
	Tpool__Response		resp;
	Tpool__Event		ev;
	Tpool__Error		err;
	Tpool__SubmitReply	sr;
	Tpool__CancelReply	cr;
	Tpool__HelloReply	hr;
	Tpool__StatusReply	st;
	Tpool__JobInfo		ji;
	Tpool__JobInfo		*jis[1];
	Tpool__JobStarted	js;
	Tpool__JobProgress	jp;
	Tpool__JobFinished	jf;
	char			text[32];
};

static void
draw_message(struct msg_store *s)
{
	tpool__server_message__init(&s->sm);
	tpool__response__init(&s->resp);
	tpool__event__init(&s->ev);
	tpool__error__init(&s->err);
	tpool__submit_reply__init(&s->sr);
	tpool__cancel_reply__init(&s->cr);
	tpool__hello_reply__init(&s->hr);
	tpool__status_reply__init(&s->st);
	tpool__job_info__init(&s->ji);
	tpool__job_started__init(&s->js);
	tpool__job_progress__init(&s->jp);
	tpool__job_finished__init(&s->jf);
	(void)strcpy(s->text, "a message for people");

	switch (tu_rng() % 3) {
	case 0:
		return;		/* neither: a kind newer than the reader */
	case 1:
		s->sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_RESPONSE;
		s->sm.response = &s->resp;
		if ((s->resp.has_request_id = tu_coin()))
			s->resp.request_id = tu_draw_u64();
		switch (tu_rng() % 6) {
		case 0:
			break;	/* no body */
		case 1:
			s->resp.body_case = TPOOL__RESPONSE__BODY_ERROR;
			s->resp.error = &s->err;
			if ((s->err.has_code = tu_coin()))
				s->err.code = TPOOL__ERROR_CODE__ERROR_STORE;
			s->err.message = tu_coin() ? s->text : NULL;
			break;
		case 2:
		case 3:
			s->resp.body_case = TPOOL__RESPONSE__BODY_SUBMIT;
			s->resp.submit = &s->sr;
			if ((s->sr.has_job_id = tu_coin()))
				s->sr.job_id = tu_draw_u64();
			if ((s->sr.has_existing = tu_coin()))
				s->sr.existing = tu_coin();
			break;
		case 4:
			s->resp.body_case = TPOOL__RESPONSE__BODY_CANCEL;
			s->resp.cancel = &s->cr;
			break;
		default:
			s->resp.body_case = TPOOL__RESPONSE__BODY_STATUS;
			s->resp.status = &s->st;
			if (tu_coin()) {
				s->ji.has_job_id = true;
				s->ji.job_id = tu_draw_u64();
				s->ji.name = s->text;
				s->jis[0] = &s->ji;
				s->st.n_jobs = 1;
				s->st.jobs = s->jis;
			}
			break;
		}
		return;
	default:
		s->sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_EVENT;
		s->sm.event = &s->ev;
		if ((s->ev.has_job_id = tu_coin()))
			s->ev.job_id = tu_draw_u64();
		switch (tu_rng() % 4) {
		case 0:
			break;	/* no kind */
		case 1:
			s->ev.kind_case = TPOOL__EVENT__KIND_STARTED;
			s->ev.started = &s->js;
			if ((s->js.has_queue_ns = tu_coin()))
				s->js.queue_ns = tu_draw_u64();
			break;
		case 2:
			s->ev.kind_case = TPOOL__EVENT__KIND_PROGRESS;
			s->ev.progress = &s->jp;
			s->jp.message = tu_coin() ? s->text : NULL;
			break;
		default:
			s->ev.kind_case = TPOOL__EVENT__KIND_FINISHED;
			s->ev.finished = &s->jf;
			if (tu_coin()) {
				s->ji.has_job_id = true;
				s->ji.job_id = tu_draw_u64();
				s->ji.message = s->text;
				s->jf.job = &s->ji;
			}
			break;
		}
		return;
	}
}

START_TEST(test_every_kind_random)
{
	struct msg_store s;
	unsigned int i;

	tu_rng_seed(0x9e3779b97f4a7c15ull);
	for (i = 0; i < RANDOM_ROUNDS; i++) {
		draw_message(&s);
		assert_peeks_as_unpacked(&s.sm);
	}
}
END_TEST

START_TEST(test_submit_reply_fields)
{
	Tpool__ServerMessage sm = TPOOL__SERVER_MESSAGE__INIT;
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__SubmitReply sr = TPOOL__SUBMIT_REPLY__INIT;
	struct tp_peek pk;
	uint8_t *buf;
	size_t len;

	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_RESPONSE;
	sm.response = &resp;
	resp.has_request_id = true;
	resp.request_id = 7;
	resp.body_case = TPOOL__RESPONSE__BODY_SUBMIT;
	resp.submit = &sr;
	sr.has_job_id = true;
	sr.job_id = 123456789012ull;
	sr.has_existing = true;
	sr.existing = true;
	buf = pack(&sm, &len);
	ck_assert(tp_peek_server_message(buf, len, &pk));
	ck_assert_int_eq(pk.tpk_msg, TPOOL__SERVER_MESSAGE__MSG_RESPONSE);
	ck_assert_uint_eq(pk.tpk_id, 7);
	ck_assert_int_eq(pk.tpk_kind, TPOOL__RESPONSE__BODY_SUBMIT);
	ck_assert(pk.tpk_has_job_id);
	ck_assert_uint_eq(pk.tpk_job_id, 123456789012ull);
	ck_assert(pk.tpk_existing);
	free(buf);

	/* The empty body: neither kind, as protobuf-c reads it. */
	ck_assert(tp_peek_server_message((const uint8_t *)"", 0, &pk));
	ck_assert_int_eq(pk.tpk_msg, TPOOL__SERVER_MESSAGE__MSG__NOT_SET);
}
END_TEST

/*
 * Encodings an encoder does not write.  Each is a ServerMessage; the
 * peek must answer false where protobuf-c would merge or replace (a
 * member or an id twice), or reject (a wrong wire type, a group).
 */
START_TEST(test_unusual_encodings_left_to_protobuf_c)
{
	static const struct {
		const char	*what;
		uint8_t		bytes[16];
		size_t		len;
	} cases[] = {
		/* response{} twice */
		{ "response twice", { 0x0a, 0x00, 0x0a, 0x00 }, 4 },
		/* response{} then event{} */
		{ "response and event", { 0x0a, 0x00, 0x12, 0x00 }, 4 },
		/* response as a varint */
		{ "response as a varint", { 0x08, 0x01 }, 2 },
		/* response{request_id 1, request_id 2} */
		{ "request_id twice", { 0x0a, 0x04, 0x08, 0x01, 0x08, 0x02 },
		    6 },
		/* response{request_id as bytes} */
		{ "request_id as bytes", { 0x0a, 0x03, 0x0a, 0x01, 0x00 }, 5 },
		/* response{error{}, submit{}} */
		{ "two bodies", { 0x0a, 0x04, 0x12, 0x00, 0x22, 0x00 }, 6 },
		/* event{started{}, finished{}} */
		{ "two kinds", { 0x12, 0x04, 0x12, 0x00, 0x22, 0x00 }, 6 },
		/* response{submit{job_id 1, job_id 2}} */
		{ "job_id twice", { 0x0a, 0x06, 0x22, 0x04, 0x08, 0x01, 0x08,
		    0x02 }, 8 },
		/* a group at the top */
		{ "a group", { 0x1b, 0x1c }, 2 },
		/* a length past the end */
		{ "a length past the end", { 0x0a, 0x05, 0x08, 0x01 }, 4 },
		/* an 11-byte varint */
		{ "an 11-byte varint", { 0x0a, 0x0c, 0x08, 0xff, 0xff, 0xff,
		    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 14 },
		/* field number 0 */
		{ "field number 0", { 0x00, 0x01 }, 2 },
	};
	struct tp_peek pk;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(!tp_peek_server_message(cases[i].bytes,
		    cases[i].len, &pk), "peeked at %s", cases[i].what);
}
END_TEST

/* Fields the reader does not know, of every wire type, are stepped over. */
START_TEST(test_unknown_fields_stepped_over)
{
	/*
	 * ServerMessage { 15: varint 300, 16: fixed64, 17: fixed32,
	 * event { 9: bytes "ab", job_id 5, finished {}, 10: varint 1 } }
	 */
	static const uint8_t bytes[] = {
		0x78, 0xac, 0x02,
		0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8,
		0x8d, 0x01, 1, 2, 3, 4,
		0x12, 0x0a,
		    0x4a, 0x02, 'a', 'b',
		    0x08, 0x05,
		    0x22, 0x00,
		    0x50, 0x01,
	};
	struct tp_peek pk;

	ck_assert(check_agrees(bytes, sizeof(bytes)));
	ck_assert(tp_peek_server_message(bytes, sizeof(bytes), &pk));
	ck_assert_int_eq(pk.tpk_msg, TPOOL__SERVER_MESSAGE__MSG_EVENT);
	ck_assert_uint_eq(pk.tpk_id, 5);
	ck_assert_int_eq(pk.tpk_kind, TPOOL__EVENT__KIND_FINISHED);
}
END_TEST

/* Every prefix of every kind of message: false, or what protobuf-c says. */
START_TEST(test_truncations)
{
	struct msg_store s;
	uint8_t *buf;
	size_t len, cut;
	unsigned int i;

	tu_rng_seed(0x243f6a8885a308d3ull);
	for (i = 0; i < 1000; i++) {
		draw_message(&s);
		buf = pack(&s.sm, &len);
		for (cut = 0; cut < len; cut++)
			(void)check_agrees(buf, cut);
		free(buf);
	}
}
END_TEST

/* Random bytes changed in packed messages: false, or what protobuf-c says. */
START_TEST(test_mutations)
{
	struct msg_store s;
	uint8_t *buf;
	size_t len;
	unsigned int i, n;

	tu_rng_seed(0x13198a2e03707344ull);
	for (i = 0; i < MUTATIONS; i++) {
		draw_message(&s);
		buf = pack(&s.sm, &len);
		if (len == 0) {
			free(buf);
			continue;
		}
		for (n = 1 + (unsigned int)(tu_rng() % 3); n > 0; n--)
			buf[tu_rng() % len] = (uint8_t)tu_rng();
		(void)check_agrees(buf, len);
		free(buf);
	}
}
END_TEST

static Suite *
peek_suite(void)
{
	Suite *s = suite_create("peek");
	TCase *tc = tcase_create("peek");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_every_kind_random);
	tcase_add_test(tc, test_submit_reply_fields);
	tcase_add_test(tc, test_unusual_encodings_left_to_protobuf_c);
	tcase_add_test(tc, test_unknown_fields_stepped_over);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_mutations);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(peek_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
