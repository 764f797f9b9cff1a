/*
 * test_fastpack.c -- Check runner for proto/fastpack.c, the hand-written
 * packer of the daemon's per-job messages.  Its one promise is to write
 * what protobuf_c_message_pack() writes: every test packs a message both
 * ways and compares size and bytes.  The random tests draw each field's
 * presence and value (varints at every length boundary, negative int32s,
 * enums and sint32s, strings and bytes of 0 to 300 bytes, NULL strings)
 * from a fixed seed, so a failure names a case that can be run again.
 *
 * CK_FORK=no is honoured (nothing here depends on a fork).
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastpack.h"
#include "rng.h"
#include "tpool.pb-c.h"

#define	TEST_TIMEOUT	60	/* seconds, per test case */
#define	RANDOM_ROUNDS	20000	/* messages of each kind */

/* ---------------------------------------------------- random draws */

static uint32_t
draw_u32(void)
{
	return (uint32_t)tu_draw_u64();
}

static int32_t
draw_i32(void)
{
	static const int32_t edges[] = { 0, 1, -1, 63, -64, 64, -65,
	    INT32_MAX, INT32_MIN, -2 };

	if (tu_coin())
		return edges[tu_rng() % (sizeof(edges) / sizeof(edges[0]))];
	return (int32_t)(uint32_t)tu_draw_u64();
}

/* Strings live in a pool freed after each message. */
static char *pool[8];
static size_t npool;

static char *
draw_str(void)
{
	size_t len, i;
	char *s;

	if (tu_rng() % 4 == 0 || npool == sizeof(pool) / sizeof(pool[0]))
		return NULL;
	len = tu_rng() % 4 == 0 ? 0 : (size_t)(tu_rng() % 300);
	ck_assert_ptr_nonnull(s = malloc(len + 1));
	for (i = 0; i < len; i++)
		s[i] = (char)(' ' + tu_rng() % 95);
	s[len] = '\0';
	pool[npool++] = s;
	return s;
}

static void
pool_free(void)
{
	while (npool > 0)
		free(pool[--npool]);
}

/* --------------------------------------------------- the comparison */

/* Pack sm both ways: the sizes and the bytes must be the same. */
static void
assert_same_as_protobuf_c(const Tpool__ServerMessage *sm)
{
	size_t want = protobuf_c_message_get_packed_size(&sm->base), got;
	uint8_t *a, *b;

	got = tp_fastpack(sm, NULL, 0);
	ck_assert_uint_eq(got, want);
	ck_assert_ptr_nonnull(a = malloc(want + 1));
	ck_assert_ptr_nonnull(b = malloc(want + 1));
	memset(b, 0xa5, want + 1);
	ck_assert_uint_eq(protobuf_c_message_pack(&sm->base, a), want);
	ck_assert_uint_eq(tp_fastpack(sm, b, want), want);
	ck_assert_mem_eq(a, b, want);
	ck_assert_uint_eq(b[want], 0xa5);	/* nothing past its end */
	free(a);
	free(b);
}

static void
fill_job_info(Tpool__JobInfo *ji, uint8_t *result, size_t result_cap)
{
	tpool__job_info__init(ji);
	if ((ji->has_job_id = tu_coin()))
		ji->job_id = tu_draw_u64();
	ji->plugin = draw_str();
	ji->name = draw_str();
	if ((ji->has_state = tu_coin()))
		ji->state = (Tpool__JobState)draw_i32();
	if ((ji->has_pool = tu_coin()))
		ji->pool = (Tpool__PoolKind)draw_i32();
	if ((ji->has_priority = tu_coin()))
		ji->priority = draw_i32();
	if ((ji->has_cpu = tu_coin()))
		ji->cpu = draw_i32();
	if ((ji->has_uid = tu_coin()))
		ji->uid = draw_u32();
	if ((ji->has_progress = tu_coin()))
		ji->progress = draw_u32();
	if ((ji->has_cancel_requested = tu_coin()))
		ji->cancel_requested = tu_coin();
	if ((ji->has_result = tu_coin())) {
		ji->result.len = (size_t)(tu_rng() % (result_cap + 1));
		ji->result.data = ji->result.len > 0 ? result : NULL;
	}
	ji->message = draw_str();
	if ((ji->has_queue_ns = tu_coin()))
		ji->queue_ns = tu_draw_u64();
	if ((ji->has_run_ns = tu_coin()))
		ji->run_ns = tu_draw_u64();
	if ((ji->has_cpu_ns = tu_coin()))
		ji->cpu_ns = tu_draw_u64();
	if ((ji->has_ran_on_cpu = tu_coin()))
		ji->ran_on_cpu = draw_i32();
	if ((ji->has_delay_left_ms = tu_coin()))
		ji->delay_left_ms = tu_draw_u64();
	ji->unique_key = draw_str();
	if ((ji->has_attempt = tu_coin()))
		ji->attempt = draw_u32();
	if ((ji->has_retries = tu_coin()))
		ji->retries = draw_u32();
	if ((ji->has_submitted_unix_ms = tu_coin()))
		ji->submitted_unix_ms = tu_draw_u64();
	if ((ji->has_started_unix_ms = tu_coin()))
		ji->started_unix_ms = tu_draw_u64();
	if ((ji->has_ended_unix_ms = tu_coin()))
		ji->ended_unix_ms = tu_draw_u64();
}

static void
fill_event(Tpool__ServerMessage *sm, Tpool__Event *ev)
{
	tpool__server_message__init(sm);
	tpool__event__init(ev);
	sm->msg_case = TPOOL__SERVER_MESSAGE__MSG_EVENT;
	sm->event = ev;
	if ((ev->has_job_id = tu_coin()))
		ev->job_id = tu_draw_u64();
}

/* ------------------------------------------------------------ tests */

START_TEST(test_submit_reply_random)
{
	Tpool__ServerMessage sm;
	Tpool__Response resp;
	Tpool__SubmitReply sr;
	int i;

	tu_rng_seed(0x5eed0001u);
	for (i = 0; i < RANDOM_ROUNDS; i++) {
		tpool__server_message__init(&sm);
		tpool__response__init(&resp);
		tpool__submit_reply__init(&sr);
		sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_RESPONSE;
		sm.response = &resp;
		if ((resp.has_request_id = tu_coin()))
			resp.request_id = tu_draw_u64();
		resp.body_case = TPOOL__RESPONSE__BODY_SUBMIT;
		resp.submit = &sr;
		if ((sr.has_job_id = tu_coin()))
			sr.job_id = tu_draw_u64();
		if ((sr.has_existing = tu_coin()))
			sr.existing = tu_coin();
		assert_same_as_protobuf_c(&sm);
	}
}
END_TEST

START_TEST(test_started_random)
{
	Tpool__ServerMessage sm;
	Tpool__Event ev;
	Tpool__JobStarted st;
	int i;

	tu_rng_seed(0x5eed0002u);
	for (i = 0; i < RANDOM_ROUNDS; i++) {
		fill_event(&sm, &ev);
		tpool__job_started__init(&st);
		ev.kind_case = TPOOL__EVENT__KIND_STARTED;
		ev.started = &st;
		if ((st.has_queue_ns = tu_coin()))
			st.queue_ns = tu_draw_u64();
		if ((st.has_cpu = tu_coin()))
			st.cpu = draw_i32();
		if ((st.has_attempt = tu_coin()))
			st.attempt = draw_u32();
		assert_same_as_protobuf_c(&sm);
	}
}
END_TEST

START_TEST(test_progress_random)
{
	Tpool__ServerMessage sm;
	Tpool__Event ev;
	Tpool__JobProgress pr;
	int i;

	tu_rng_seed(0x5eed0003u);
	for (i = 0; i < RANDOM_ROUNDS; i++) {
		fill_event(&sm, &ev);
		tpool__job_progress__init(&pr);
		ev.kind_case = TPOOL__EVENT__KIND_PROGRESS;
		ev.progress = &pr;
		if ((pr.has_percent = tu_coin()))
			pr.percent = draw_u32();
		pr.message = draw_str();
		assert_same_as_protobuf_c(&sm);
		pool_free();
	}
}
END_TEST

START_TEST(test_finished_random)
{
	static uint8_t result[70000];
	Tpool__ServerMessage sm;
	Tpool__Event ev;
	Tpool__JobFinished fin;
	Tpool__JobInfo ji;
	size_t i;

	tu_rng_seed(0x5eed0004u);
	for (i = 0; i < sizeof(result); i++)
		result[i] = (uint8_t)tu_rng();
	for (i = 0; i < RANDOM_ROUNDS; i++) {
		fill_event(&sm, &ev);
		tpool__job_finished__init(&fin);
		ev.kind_case = TPOOL__EVENT__KIND_FINISHED;
		ev.finished = &fin;
		/* Now and then a result past 2^14 bytes: 3-byte lengths. */
		fill_job_info(&ji, result,
		    tu_rng() % 50 == 0 ? sizeof(result) : 300);
		fin.job = &ji;
		assert_same_as_protobuf_c(&sm);
		pool_free();
	}
}
END_TEST

/* Too small a buffer: the size comes back and nothing is written. */
START_TEST(test_short_buffer_untouched)
{
	Tpool__ServerMessage sm = TPOOL__SERVER_MESSAGE__INIT;
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobFinished fin = TPOOL__JOB_FINISHED__INIT;
	Tpool__JobInfo ji = TPOOL__JOB_INFO__INIT;
	uint8_t buf[64];
	size_t need, i;

	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_EVENT;
	sm.event = &ev;
	ev.has_job_id = true;
	ev.job_id = 42;
	ev.kind_case = TPOOL__EVENT__KIND_FINISHED;
	ev.finished = &fin;
	fin.job = &ji;
	ji.plugin = (char *)"echo";
	ji.message = (char *)"a message long enough to pass the buffer's "
	    "64 bytes when packed";
	need = protobuf_c_message_get_packed_size(&sm.base);
	ck_assert_uint_gt(need, sizeof(buf));
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_uint_eq(tp_fastpack(&sm, buf, sizeof(buf)), need);
	for (i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0x5a);
	assert_same_as_protobuf_c(&sm);
}
END_TEST

/* Messages it does not pack are left to protobuf-c: 0. */
START_TEST(test_others_left_to_protobuf_c)
{
	Tpool__ServerMessage sm = TPOOL__SERVER_MESSAGE__INIT;
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__Error err = TPOOL__ERROR__INIT;
	Tpool__SubmitReply sr = TPOOL__SUBMIT_REPLY__INIT;
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobFinished fin = TPOOL__JOB_FINISHED__INIT;
	ProtobufCMessageUnknownField unk = { 99, PROTOBUF_C_WIRE_TYPE_VARINT,
	    1, (uint8_t *)"\x01" };
	uint8_t buf[256];

	ck_assert_uint_eq(tp_fastpack(&sm, buf, sizeof(buf)), 0);
	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_RESPONSE;
	sm.response = &resp;
	resp.body_case = TPOOL__RESPONSE__BODY_ERROR;
	resp.error = &err;
	ck_assert_uint_eq(tp_fastpack(&sm, buf, sizeof(buf)), 0);
	resp.body_case = TPOOL__RESPONSE__BODY_SUBMIT;
	resp.submit = NULL;
	ck_assert_uint_eq(tp_fastpack(&sm, buf, sizeof(buf)), 0);
	resp.submit = &sr;
	ck_assert_uint_gt(tp_fastpack(&sm, buf, sizeof(buf)), 0);
	sr.base.n_unknown_fields = 1;
	sr.base.unknown_fields = &unk;
	ck_assert_uint_eq(tp_fastpack(&sm, buf, sizeof(buf)), 0);
	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_EVENT;
	sm.event = &ev;
	ck_assert_uint_eq(tp_fastpack(&sm, buf, sizeof(buf)), 0);
	ev.kind_case = TPOOL__EVENT__KIND_FINISHED;
	ev.finished = &fin;
	ck_assert_uint_eq(tp_fastpack(&sm, buf, sizeof(buf)), 0); /* no job */
}
END_TEST

/* What it packs unpacks to the same message. */
START_TEST(test_unpacks_back)
{
	Tpool__ServerMessage sm = TPOOL__SERVER_MESSAGE__INIT, *back;
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobFinished fin = TPOOL__JOB_FINISHED__INIT;
	Tpool__JobInfo ji = TPOOL__JOB_INFO__INIT;
	uint8_t buf[256];
	size_t len;

	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_EVENT;
	sm.event = &ev;
	ev.has_job_id = true;
	ev.job_id = 1234567890123ull;
	ev.kind_case = TPOOL__EVENT__KIND_FINISHED;
	ev.finished = &fin;
	fin.job = &ji;
	ji.has_job_id = true;
	ji.job_id = ev.job_id;
	ji.plugin = (char *)"hash";
	ji.has_state = true;
	ji.state = TPOOL__JOB_STATE__JOB_SUCCEEDED;
	ji.has_ran_on_cpu = true;
	ji.ran_on_cpu = -1;
	ji.has_result = true;
	ji.result.data = (uint8_t *)"abc";
	ji.result.len = 3;
	len = tp_fastpack(&sm, buf, sizeof(buf));
	ck_assert_uint_gt(len, 0);
	ck_assert_ptr_nonnull(back = tpool__server_message__unpack(NULL, len,
	    buf));
	ck_assert_int_eq(back->msg_case, TPOOL__SERVER_MESSAGE__MSG_EVENT);
	ck_assert_uint_eq(back->event->job_id, ev.job_id);
	ck_assert_int_eq(back->event->kind_case, TPOOL__EVENT__KIND_FINISHED);
	ck_assert_str_eq(back->event->finished->job->plugin, "hash");
	ck_assert_int_eq(back->event->finished->job->state,
	    TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_int_eq(back->event->finished->job->ran_on_cpu, -1);
	ck_assert_uint_eq(back->event->finished->job->result.len, 3);
	ck_assert_mem_eq(back->event->finished->job->result.data, "abc", 3);
	ck_assert(!back->event->finished->job->has_cpu_ns);
	tpool__server_message__free_unpacked(back, NULL);
}
END_TEST

static Suite *
fastpack_suite(void)
{
	Suite *s = suite_create("fastpack");
	TCase *tc = tcase_create("same bytes as protobuf-c");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_submit_reply_random);
	tcase_add_test(tc, test_started_random);
	tcase_add_test(tc, test_progress_random);
	tcase_add_test(tc, test_finished_random);
	tcase_add_test(tc, test_short_buffer_untouched);
	tcase_add_test(tc, test_others_left_to_protobuf_c);
	tcase_add_test(tc, test_unpacks_back);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int nfailed;

	sr = srunner_create(fastpack_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
