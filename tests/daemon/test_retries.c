/*
 * test_retries.c -- jobs run again after a failure (Submit.retries, tpctl
 * submit --retries): with backoff, each attempt numbered in JobInfo and
 * JobStarted and told to the plugin (tp_plugin_attempt()), until one
 * succeeds or the retries run out; not after a permanent failure
 * (tp_plugin_fail_permanently()), nor when cancelled while waiting for
 * the next attempt; a crash of a worker process is retried; a job that
 * was running when the daemon was killed or stopped runs again after the
 * restart (with a job store); retries over the maximum are refused.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })

static struct td_daemon D;

/* The probe and crash (a worker process) plugins, backoff 100 ms, args. */
static void
up(const char *const *args)
{
	const char *argv[32];
	size_t n = 0;

	argv[n++] = "--plugin-isolation";
	argv[n++] = "crash:process";
	argv[n++] = "--retry-backoff";
	argv[n++] = "100ms";
	for (; args != NULL && *args != NULL && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	td_add_plugin(&D, "crash", NULL);
	td_start(&D, NULL, argv);
}

/* Submit plugin on input with retries; its id, or 0 and *ret_code. */
static uint64_t
submit_retried(struct tpc *c, const char *plugin, const char *input,
    int retries, Tpool__ErrorCode *ret_code)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	uint64_t id;

	a.tsa_plugin = plugin;
	a.tsa_input = input;
	a.tsa_input_len = strlen(input);
	a.tsa_retries = retries;
	*ret_code = TPOOL__ERROR_CODE__ERROR_UNSPECIFIED;
	if (tpc_submit(c, &a, &id) == 0)
		return id;
	*ret_code = tpc_last_error(c, NULL);
	return 0;
}

/* Submit plugin on input with retries and wait for its end: its final
 * JobInfo (free it). */
static Tpool__JobInfo *
run_retried(struct tpc *c, const char *plugin, const char *input,
    int retries)
{
	Tpool__ErrorCode code;
	uint64_t id;

	id = submit_retried(c, plugin, input, retries, &code);
	ck_assert_msg(id != 0, "submit %s %s: error %d", plugin, input,
	    (int)code);
	return td_wait_final(c, id);
}

/* Read id's events to its end: the attempts its JobStarted events gave,
 * in order, in att[] (up to n); how many; the final JobInfo in *ret. */
static unsigned int
follow_attempts(struct tpc *c, uint64_t id, unsigned int *att,
    unsigned int n, Tpool__JobInfo **ret)
{
	Tpool__JobInfo *j = NULL;
	Tpool__Event *ev;
	unsigned int k = 0;

	for (;;) {
		ck_assert_int_eq(tpc_next_event(c, &ev), 0);
		if (ev->job_id == id &&
		    ev->kind_case == TPOOL__EVENT__KIND_STARTED && k < n)
			att[k++] = ev->started->attempt;
		if (ev->job_id == id &&
		    ev->kind_case == TPOOL__EVENT__KIND_FINISHED) {
			j = td_wait_final(c, id);
			tpool__event__free_unpacked(ev, NULL);
			break;
		}
		tpool__event__free_unpacked(ev, NULL);
	}
	*ret = j;
	return k;
}

START_TEST(test_failing_job_is_retried_until_it_succeeds)
{
	Tpool__ErrorCode code;
	Tpool__JobInfo *j;
	unsigned int att[8], n;
	struct tpc *c;
	uint64_t id, t0;

	up(NULL);
	c = td_connect(&D);
	t0 = tu_now_ms();
	id = submit_retried(c, "probe", "fail-until:3", 3, &code);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_UNSPECIFIED);
	n = follow_attempts(c, id, att, 8, &j);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(att[0], 1);
	ck_assert_uint_eq(att[1], 2);
	ck_assert_uint_eq(att[2], 3);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_eq(j->attempt, 3);
	ck_assert_uint_eq(j->retries, 3);
	ck_assert_uint_eq(j->result.len, 9);
	ck_assert(memcmp(j->result.data, "attempt 3", 9) == 0);
	/* The backoff: 100 ms, then 200 ms. */
	ck_assert_uint_ge(tu_now_ms() - t0, 300);
	tpool__job_info__free_unpacked(j, NULL);
	td_expect_log(&D, "attempt 1 failed: attempt 1: not yet; attempt 2 "
	    "of 4 in 100 ms");
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_retries_run_out)
{
	Tpool__JobInfo *j;
	struct tpc *c;

	up(NULL);
	c = td_connect(&D);
	j = run_retried(c, "probe", "fail-until:10", 2);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_uint_eq(j->attempt, 3);
	ck_assert_str_eq(j->message, "attempt 3: not yet");
	tpool__job_info__free_unpacked(j, NULL);
	/* Without retries (the default): one attempt. */
	j = run_retried(c, "probe", "fail-until:2", -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_uint_eq(j->attempt, 1);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_permanent_failure_is_not_retried)
{
	Tpool__JobInfo *j;
	struct tpc *c;

	up(NULL);
	c = td_connect(&D);
	j = run_retried(c, "probe", "permanent", 5);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_uint_eq(j->attempt, 1);
	ck_assert_str_eq(j->message, "this will never work");
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_cancel_while_waiting_to_retry)
{
	Tpool__CancelReply *cr;
	Tpool__StatusReply *sr;
	Tpool__ErrorCode code;
	Tpool__JobInfo *j;
	struct tpc *c;
	uint64_t id, end;
	bool waiting = false;

	up(ARGS("--plugin", "probe:retry-backoff=10s"));
	c = td_connect(&D);
	id = submit_retried(c, "probe", "fail-until:5", 5, &code);
	end = tu_now_ms() + td_deadline_ms();
	while (!waiting && tu_now_ms() < end) {
		ck_assert_int_eq(tpc_status(c, id, &sr), 0);
		waiting = sr->jobs[0]->state ==
		    TPOOL__JOB_STATE__JOB_SCHEDULED &&
		    sr->jobs[0]->attempt == 2;
		if (waiting)
			ck_assert_str_eq(sr->jobs[0]->message,
			    "attempt 1 failed: attempt 1: not yet");
		tpool__status_reply__free_unpacked(sr, NULL);
		td_sleep_ms(10);
	}
	ck_assert(waiting);
	ck_assert_int_eq(tpc_cancel(c, id, false, &cr), 0);
	ck_assert_int_eq(cr->result, TPOOL__CANCEL_RESULT__CANCEL_BEFORE_RUN);
	tpool__cancel_reply__free_unpacked(cr, NULL);
	j = td_wait_final(c, id);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	ck_assert_uint_eq(j->attempt, 2);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_retries_over_the_maximum_are_refused)
{
	Tpool__ErrorCode code;
	struct tpc *c;

	up(ARGS("--max-job-retries", "2"));
	c = td_connect(&D);
	ck_assert_uint_eq(submit_retried(c, "echo", "x", 3, &code), 0);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	ck_assert_uint_ne(submit_retried(c, "echo", "x", 2, &code), 0);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* A worker process's crash is retried; the attempt reaches the worker. */
START_TEST(test_crash_is_retried)
{
	Tpool__JobInfo *j;
	struct tpc *c;

	up(NULL);
	c = td_connect(&D);
	j = run_retried(c, "crash", "segv-until:2", 1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_eq(j->attempt, 2);
	ck_assert_uint_eq(j->result.len, 9);
	ck_assert(memcmp(j->result.data, "attempt 2", 9) == 0);
	tpool__job_info__free_unpacked(j, NULL);
	td_expect_log(&D, "attempt 1 failed: plugin crashed");
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * With a job store: a job running when the daemon is killed, and one
 * running when it is stopped, run again after the restart (attempt 2).
 */
START_TEST(test_interrupted_job_is_retried_after_a_restart)
{
	char state[128], arg[160];
	Tpool__ErrorCode code;
	Tpool__StatusReply *sr;
	Tpool__JobInfo *j;
	struct tpc *c;
	uint64_t killed, stopped, end;
	int running;

	td_init(&D);
	td_add_example_plugins(&D);
	(void)snprintf(state, sizeof(state), "%s/state", D.td_dir);
	(void)snprintf(arg, sizeof(arg), "--state-dir=%s", state);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	td_start(&D, NULL, ARGS(arg, "--retry-backoff", "100ms"));
	c = td_connect(&D);
	killed = submit_retried(c, "sleep", "1500", 1, &code);
	stopped = submit_retried(c, "sleep", "1500", 1, &code);
	end = tu_now_ms() + td_deadline_ms();
	do {
		running = 0;
		ck_assert_int_eq(tpc_status_all(c, &sr), 0);
		for (size_t i = 0; i < sr->n_jobs; i++)
			running += sr->jobs[i]->state ==
			    TPOOL__JOB_STATE__JOB_RUNNING;
		tpool__status_reply__free_unpacked(sr, NULL);
		td_sleep_ms(10);
	} while (running < 2 && tu_now_ms() < end);
	ck_assert_int_eq(running, 2);
	tpc_free(c);
	ck_assert_int_eq(kill(D.td_pid, SIGKILL), 0);
	ck_assert_int_ne(td_wait_exit(D.td_pid, td_deadline_ms()), -1);
	D.td_pid = 0;

	/* Both were running: both run again. */
	td_start(&D, NULL, ARGS(arg, "--retry-backoff", "100ms"));
	td_expect_log(&D, "2 of them were running: retried");
	c = td_connect(&D);
	j = td_wait_final(c, killed);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_eq(j->attempt, 2);
	tpool__job_info__free_unpacked(j, NULL);
	j = td_wait_final(c, stopped);
	tpool__job_info__free_unpacked(j, NULL);

	/* A stop: the running job is asked to stop and kept for a retry. */
	stopped = submit_retried(c, "sleep", "1500", 1, &code);
	end = tu_now_ms() + td_deadline_ms();
	do {
		ck_assert_int_eq(tpc_status(c, stopped, &sr), 0);
		running = sr->jobs[0]->state == TPOOL__JOB_STATE__JOB_RUNNING;
		tpool__status_reply__free_unpacked(sr, NULL);
		td_sleep_ms(10);
	} while (!running && tu_now_ms() < end);
	ck_assert(running);
	tpc_free(c);
	td_stop(&D);
	td_start(&D, NULL, ARGS(arg, "--retry-backoff", "100ms"));
	c = td_connect(&D);
	j = td_wait_final(c, stopped);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_eq(j->attempt, 2);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

static Suite *
retries_suite(void)
{
	Suite *s = suite_create("daemon-retries");
	TCase *tc;

	tc = tcase_create("retries");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_failing_job_is_retried_until_it_succeeds);
	tcase_add_test(tc, test_retries_run_out);
	tcase_add_test(tc, test_permanent_failure_is_not_retried);
	tcase_add_test(tc, test_cancel_while_waiting_to_retry);
	tcase_add_test(tc, test_retries_over_the_maximum_are_refused);
	tcase_add_test(tc, test_crash_is_retried);
	tcase_add_test(tc, test_interrupted_job_is_retried_after_a_restart);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return td_main(retries_suite());
}
