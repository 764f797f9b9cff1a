/*
 * test_faults.c -- tpoold under injected faults: out of file descriptors
 * (accept pauses without spinning, then serves the clients that waited),
 * plugins that fail to initialise, fail to run, return too much or never
 * look at cancellation (SIGTERM still ends after the grace period, and the
 * plugin is not unloaded under its running code), worker threads that
 * cannot be created (libtp's test hook), a client that stops reading, and
 * a peer that sends its frame a byte at a time (--read-timeout).
 *
 * The figures (the daemon's CPU time while accept is paused, how long a
 * slow peer kept its connection) are printed to the test's log.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"

#define	UNBOUND	TPOOL__POOL_KIND__POOL_UNBOUND
#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })

static struct td_daemon D;

/* utime + stime of pid, in clock ticks (/proc/PID/stat fields 14, 15). */
static unsigned long long
cpu_ticks(pid_t pid)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;
	int i;

	(void)snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	(void)fclose(f);
	/* After "(comm)", which may hold spaces: field 3 on. */
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	p += 2;
	for (i = 3; i < 14; i++) {
		p = strchr(p, ' ');
		ck_assert_ptr_nonnull(p);
		p++;
	}
	ck_assert_int_eq(sscanf(p, "%llu %llu", &ut, &st), 2);
	return ut + st;
}

static void
send_hello(int fd, uint64_t request_id)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Hello h = TPOOL__HELLO__INIT;

	h.has_version = true;
	h.version = TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT;
	req.has_request_id = true;
	req.request_id = request_id;
	req.body_case = TPOOL__REQUEST__BODY_HELLO;
	req.hello = &h;
	td_raw_send(fd, &req.base);
}

/* Is a Hello reply there within ms? */
static bool
got_hello_reply(int fd, unsigned int ms)
{
	Tpool__ServerMessage *sm;
	bool ok;

	if ((sm = td_raw_read(fd, ms, NULL)) == NULL)
		return false;
	ok = sm->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE &&
	    sm->response->body_case == TPOOL__RESPONSE__BODY_HELLO;
	tpool__server_message__free_unpacked(sm, NULL);
	ck_assert_msg(ok, "not a Hello reply");
	return true;
}

/* ------------------------------------------------- out of descriptors */

#define	NOFILE		32
#define	NCLIENTS	(NOFILE + 16)

START_TEST(test_emfile_pauses_accept_then_serves_waiters)
{
	int fds[NCLIENTS];
	bool served[NCLIENTS];
	unsigned int nserved = 0, nwaiting = 0, dropped = 0, i;
	bool valgrind = getenv("TPOOL_TEST_WRAPPER") != NULL;
	unsigned long long t0, t1;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t ms0, ms1, paused_ms;
	Tpool__JobInfo *j;
	struct tpc *c;

	td_init(&D);
	td_add_example_plugins(&D);
	/* Valgrind keeps some of the process's descriptors for itself. */
	D.td_nofile = valgrind ? NOFILE + 16 : NOFILE;
	td_start(&D, NULL, NULL);

	/* More clients than descriptors: the last ones wait in the backlog. */
	for (i = 0; i < NCLIENTS; i++) {
		fds[i] = td_raw_connect(&D);
		send_hello(fds[i], i + 1);
	}
	ck_assert(td_log_wait(&D, "not accepting until a connection closes",
	    td_deadline_ms()));
	for (i = 0; i < NCLIENTS; i++) {
		served[i] = got_hello_reply(fds[i], nserved == 0 ? td_deadline_ms() : 300);
		if (served[i])
			nserved++;
		else
			nwaiting++;
	}
	(void)fprintf(stderr, "EMFILE: %u clients served, %u waiting (RLIMIT_NOFILE %u)\n",
	    nserved, nwaiting, D.td_nofile);
	ck_assert_uint_gt(nserved, 0);
	ck_assert_uint_gt(nwaiting, 0);

	/* While they wait, the daemon must not spin on the listening socket. */
	t0 = cpu_ticks(D.td_pid);
	ms0 = tu_now_ms();
	td_sleep_ms(2000);
	t1 = cpu_ticks(D.td_pid);
	ms1 = tu_now_ms();
	paused_ms = ms1 - ms0;
	(void)fprintf(stderr, "EMFILE: %llu ms of CPU in %llu ms paused\n",
	    (t1 - t0) * 1000 / (unsigned long long)hz, (unsigned long long)paused_ms);
	/* Under 5 % of one CPU (a spinning loop would be near 100 %). */
	ck_assert_msg((t1 - t0) * 1000 / (unsigned long long)hz * 20 <= paused_ms,
	    "the daemon used %llu ticks in %llu ms while accept was paused", t1 - t0,
	    (unsigned long long)paused_ms);

	/*
	 * Served clients leave, and then each waiting one, once answered:
	 * every close frees a descriptor, and the next in the backlog is
	 * taken and answered.
	 */
	for (i = 0; i < NCLIENTS; i++) {
		if (served[i]) {
			(void)close(fds[i]);
			fds[i] = -1;
		}
	}
	for (i = 0; i < NCLIENTS; i++) {
		if (fds[i] < 0)
			continue;
		if (!got_hello_reply(fds[i], td_deadline_ms())) {
			/*
			 * Valgrind's accept refuses a descriptor above the
			 * limit it shows the program only after the kernel
			 * took the connection off the backlog, so there a
			 * waiting client may be dropped (end of file); never
			 * without valgrind.
			 */
			ck_assert_msg(valgrind && td_raw_wait_eof(fds[i], 1000),
			    "waiting client %u was never served", i);
			dropped++;
		}
		(void)close(fds[i]);
		fds[i] = -1;
	}
	if (dropped > 0)
		(void)fprintf(stderr, "EMFILE: %u waiting clients dropped by valgrind's accept\n",
		    dropped);
	ck_assert_uint_lt(dropped, nwaiting);
	ck_assert(td_log_wait(&D, "accepting again after", td_deadline_ms()));
	/* And it serves jobs as before. */
	c = td_connect(&D);
	j = td_run_job(c, "echo", "after", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* ------------------------------------------------------------- plugins */

START_TEST(test_plugin_init_failure_is_skipped)
{
	Tpool__PluginList *pl;
	struct tpc *c;
	uint64_t id;
	size_t i;

	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "init-fail", NULL);
	td_start(&D, NULL, NULL);
	ck_assert(td_log_contains(&D, "plugin init-fail.so: init failed: "));
	c = td_connect(&D);
	ck_assert_int_eq(tpc_list_plugins(c, &pl), 0);
	ck_assert_uint_eq(pl->n_plugins, 4);
	for (i = 0; i < pl->n_plugins; i++)
		ck_assert_str_ne(pl->plugins[i]->name, "initfail");
	tpool__plugin_list__free_unpacked(pl, NULL);
	ck_assert_int_eq(tpc_submit(c, TPC_SUBMIT_ARGS("initfail", "x", 1), &id),
	    TPC_EDAEMON);
	ck_assert_int_eq(tpc_last_error(c, NULL), TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_plugin_run_failure_fails_the_job)
{
	Tpool__JobInfo *j;
	struct tpc *c;

	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	td_start(&D, NULL, NULL);
	c = td_connect(&D);
	/* A plugin's own message ... */
	j = td_run_job(c, "fail", "disk on fire", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_ptr_nonnull(strstr(j->message, "disk on fire"));
	ck_assert(!j->has_result);
	tpool__job_info__free_unpacked(j, NULL);
	/* ... or the daemon's words for its errno. */
	j = td_run_job(c, "probe", "errno", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_str_eq(j->message, "the plugin failed: Input/output error");
	tpool__job_info__free_unpacked(j, NULL);
	/* The next job runs as usual. */
	j = td_run_job(c, "echo", "fine", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_result_over_max_result_fails_the_job)
{
	Tpool__JobInfo *j;
	struct tpc *c;

	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	td_start(&D, NULL, ARGS("--max-result", "1K"));
	c = td_connect(&D);
	j = td_run_job(c, "probe", "big:1025", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_str_eq(j->message, "result of 1025 bytes is over the limit of 1024 bytes");
	ck_assert(!j->has_result);
	tpool__job_info__free_unpacked(j, NULL);
	j = td_run_job(c, "probe", "big:1024", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_eq(j->result.len, 1024);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * A plugin that never looks at cancellation: SIGTERM ends after the grace
 * period anyway, its job reported failed, the job queued behind it
 * cancelled, exit 0 -- and the plugin is neither dlclose'd nor its
 * destructors run under its running code (probe exits 86 if they are).
 */
START_TEST(test_sigterm_with_plugin_ignoring_cancel)
{
	Tpool__JobInfo *j = NULL;
	Tpool__Event *ev;
	struct tpc *c;
	uint64_t stubborn, queued, t0, took;
	int status;

	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	td_expect_running_threads_at_exit();
	td_start(&D, NULL, ARGS("--shutdown-grace", "500ms", "--max-threads", "1"));
	c = td_connect(&D);
	stubborn = td_submit(c, "probe", "hold:30000");
	ev = td_wait_event(c, stubborn, TPOOL__EVENT__KIND_STARTED);
	tpool__event__free_unpacked(ev, NULL);
	queued = td_submit(c, "echo", "behind");
	t0 = tu_now_ms();
	ck_assert_int_eq(kill(D.td_pid, SIGTERM), 0);
	ck_assert_int_eq(tpc_wait_job(c, queued, &j, NULL, NULL), 0);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	tpool__job_info__free_unpacked(j, NULL);
	ck_assert_int_eq(tpc_wait_job(c, stubborn, &j, NULL, NULL), 0);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_ptr_nonnull(strstr(j->message, "grace period"));
	ck_assert(j->cancel_requested);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	status = td_wait_exit(D.td_pid, td_deadline_ms());
	took = tu_now_ms() - t0;
	ck_assert_msg(status != -1, "tpoold did not exit");
	D.td_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *log = td_log_read(&D);

		(void)fprintf(stderr, "%s", log);
		free(log);
		ck_abort_msg("tpoold exited with status %#x (86: plugin unloaded under its run)",
		    status);
	}
	(void)fprintf(stderr, "SIGTERM with a job ignoring cancel: exit 0 after %llu ms "
	    "(grace 500 ms)\n", (unsigned long long)took);
	ck_assert_uint_ge(took, 450);
	ck_assert_uint_lt(took, 20000);
	ck_assert(td_log_contains(&D, "exiting with abandoned jobs still running"));
	(void)td_check_error_replies(&D);
	td_cleanup(&D);
}
END_TEST

/* --------------------------------------------------- thread creation */

START_TEST(test_thread_create_failures_lose_no_job)
{
	Tpool__StatsReply *st;
	Tpool__JobInfo *j;
	struct tpc *c;
	uint64_t ids[40], failures = 0;
	size_t i;

	td_init(&D);
	D.td_test_build = true;
	td_add_example_plugins(&D);
	ck_assert_int_eq(setenv("TPOOL_FAULT_THREAD_CREATE", "6", 1), 0);
	td_start(&D, NULL, NULL);
	ck_assert_int_eq(unsetenv("TPOOL_FAULT_THREAD_CREATE"), 0);
	ck_assert(td_log_contains(&D, "the next 6 thread creations will fail"));
	c = td_connect(&D);
	/* Queued while no worker can be made yet. */
	for (i = 0; i < 40; i++)
		ids[i] = td_submit(c, i % 2 ? "echo" : "sha256", "queued");
	for (i = 0; i < 40; i++) {
		ck_assert_int_eq(tpc_wait_job(c, ids[i], &j, NULL, NULL), 0);
		ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
		tpool__job_info__free_unpacked(j, NULL);
	}
	ck_assert_int_eq(tpc_stats(c, &st), 0);
	for (i = 0; i < st->n_pools; i++)
		failures += st->pools[i]->create_failures;
	ck_assert_uint_eq(st->jobs_succeeded, 40);
	tpool__stats_reply__free_unpacked(st, NULL);
	ck_assert_uint_eq(failures, 6);
	tpc_free(c);
	td_down(&D);

	/* A bad value is refused at start. */
	td_init(&D);
	D.td_test_build = true;
	ck_assert_int_eq(setenv("TPOOL_FAULT_THREAD_CREATE", "many", 1), 0);
	D.td_pid = td_spawn(&D, NULL, NULL, true);
	ck_assert_int_eq(unsetenv("TPOOL_FAULT_THREAD_CREATE"), 0);
	i = (size_t)td_wait_exit(D.td_pid, td_deadline_ms());
	D.td_pid = 0;
	ck_assert(WIFEXITED((int)i) && WEXITSTATUS((int)i) == 2);
	td_cleanup(&D);
}
END_TEST

/* ------------------------------------------------ a client not reading */

/*
 * A client that submits and never reads is dropped once its queued output
 * passes --max-output; its jobs go on to their end (reported to nobody,
 * still found by status), and other clients see nothing of it.
 */
START_TEST(test_client_not_reading_is_dropped_alone)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Submit s = TPOOL__SUBMIT__INIT;
	Tpool__StatusReply *sr;
	Tpool__JobInfo *j;
	struct tpc *other;
	char input[8192];
	uint64_t slept[3], before = 0;
	size_t i, nsleep = 0, nslept = 0;
	int fd;

	/* Kept: the sleep jobs' ends, behind up to 4000 echo jobs' ends. */
	td_up(&D, ARGS("--max-output", "64K", "--finished-keep", "10000"));
	other = td_connect(&D);
	fd = td_raw_connect(&D);

	/* First a few long jobs of its own ... */
	s.plugin = (char *)"sleep";
	s.has_input = true;
	s.input.data = (uint8_t *)"700";
	s.input.len = 3;
	req.has_request_id = true;
	req.request_id = 1;
	req.body_case = TPOOL__REQUEST__BODY_SUBMIT;
	req.submit = &s;
	for (i = 0; i < 3; i++)
		td_raw_send(fd, &req.base);
	nsleep = 3;

	/* ... then echo results of 8 KiB pile up while it only writes. */
	memset(input, 'r', sizeof(input));
	s.plugin = (char *)"echo";
	s.input.data = (uint8_t *)input;
	s.input.len = sizeof(input);
	(void)td_raw_flood(fd, &req.base, 4000);
	ck_assert(td_log_wait(&D, "is not reading", td_deadline_ms()));
	ck_assert(td_raw_wait_eof(fd, td_deadline_ms()));
	(void)close(fd);

	/* The other client was never disturbed ... */
	j = td_run_job(other, "echo", "still here", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	/*
	 * ... and the dropped client's sleep jobs (the only ones; the same
	 * uid, so the other client's list holds them) ran to their end.
	 */
	/* Every page of the list: the sleeps are the oldest of thousands. */
	do {
		ck_assert_int_eq(tpc_status_page(other, false, before, 0, &sr), 0);
		for (i = 0; i < sr->n_jobs; i++) {
			if (strcmp(sr->jobs[i]->plugin, "sleep") != 0)
				continue;
			ck_assert_uint_lt(nslept, nsleep);
			slept[nslept++] = sr->jobs[i]->job_id;
		}
		before = sr->has_more_before ? sr->more_before : 0;
		tpool__status_reply__free_unpacked(sr, NULL);
	} while (before != 0);
	ck_assert_uint_eq(nslept, nsleep);
	for (i = 0; i < nslept; i++) {
		j = td_wait_final(other, slept[i]);
		ck_assert_str_eq(j->plugin, "sleep");
		ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
		tpool__job_info__free_unpacked(j, NULL);
	}
	tpc_free(other);
	td_down(&D);
}
END_TEST

/* ---------------------------------------------------------- slowloris */

START_TEST(test_slow_peer_closed_by_read_timeout)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Hello h = TPOOL__HELLO__INIT;
	Tpool__ServerMessage *sm;
	uint8_t frame[64];
	size_t len, i;
	uint64_t t0, took = 0;
	int slow, idle;
	bool eof = false;
	ssize_t n;

	td_up(&D, ARGS("--read-timeout", "1s"));
	idle = td_raw_connect(&D);	/* connected, sends nothing: may stay */

	h.has_version = true;
	h.version = TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT;
	h.client_name = (char *)"a-rather-long-client-name-sent-very-slowly";
	req.body_case = TPOOL__REQUEST__BODY_HELLO;
	req.hello = &h;
	len = tpool__request__get_packed_size(&req);
	ck_assert_uint_le(len + TP_FRAME_HDR_LEN, sizeof(frame));
	tp_frame_put_header(frame, (uint32_t)len);
	(void)tpool__request__pack(&req, frame + TP_FRAME_HDR_LEN);

	/* One byte every 250 ms: the frame would take > 10 s. */
	slow = td_raw_connect(&D);
	t0 = tu_now_ms();
	for (i = 0; i < len + TP_FRAME_HDR_LEN; i++) {
		n = send(slow, frame + i, 1, MSG_NOSIGNAL);
		if (n != 1) {
			took = tu_now_ms() - t0;
			break;
		}
		if (td_raw_wait_eof(slow, 250)) {
			took = tu_now_ms() - t0;
			eof = true;
			break;
		}
	}
	ck_assert_msg(took > 0, "the slow peer was never closed");
	(void)fprintf(stderr, "read timeout 1 s: the slow peer was closed %llu ms after its "
	    "first byte (%zu of %zu bytes sent)\n", (unsigned long long)took, i + 1,
	    len + TP_FRAME_HDR_LEN);
	ck_assert_uint_ge(took, 900);
	ck_assert_uint_lt(took, getenv("TPOOL_TEST_WRAPPER") != NULL ? 6000 : 2500);
	(void)eof;
	(void)close(slow);
	ck_assert(td_log_contains(&D, "did not arrive whole within 1000 ms"));

	/* The idle connection (no partial frame) is still served. */
	td_sleep_ms(500);
	req.has_request_id = true;
	req.request_id = 9;
	h.client_name = (char *)"idle";
	td_raw_send(idle, &req.base);
	sm = td_raw_read(idle, td_deadline_ms(), NULL);
	ck_assert_ptr_nonnull(sm);
	ck_assert_int_eq(sm->response->body_case, TPOOL__RESPONSE__BODY_HELLO);
	tpool__server_message__free_unpacked(sm, NULL);
	(void)close(idle);
	td_down(&D);
}
END_TEST

/* A frame that arrives in pieces, each well within the timeout, is fine. */
START_TEST(test_read_timeout_counts_from_the_frame_start)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Hello h = TPOOL__HELLO__INIT;
	Tpool__ServerMessage *sm;
	uint8_t frame[64];
	size_t len;
	int fd, k;

	td_up(&D, ARGS("--read-timeout", "2s"));
	h.has_version = true;
	h.version = TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT;
	req.has_request_id = true;
	req.request_id = 1;
	req.body_case = TPOOL__REQUEST__BODY_HELLO;
	req.hello = &h;
	len = tpool__request__get_packed_size(&req);
	tp_frame_put_header(frame, (uint32_t)len);
	(void)tpool__request__pack(&req, frame + TP_FRAME_HDR_LEN);
	fd = td_raw_connect(&D);
	/* Three frames, each in two halves 800 ms apart: 2.4 s in all, and
	 * 1.2 s to spare in each frame for a slow test. */
	for (k = 0; k < 3; k++) {
		td_raw_write(fd, frame, 3);
		td_sleep_ms(800);
		td_raw_write(fd, frame + 3, len + TP_FRAME_HDR_LEN - 3);
		sm = td_raw_read(fd, td_deadline_ms(), NULL);
		ck_assert_msg(sm != NULL, "frame %d: no reply", k);
		ck_assert_int_eq(sm->response->body_case, TPOOL__RESPONSE__BODY_HELLO);
		tpool__server_message__free_unpacked(sm, NULL);
	}
	(void)close(fd);
	td_down(&D);
}
END_TEST

static Suite *
faults_suite(void)
{
	Suite *s = suite_create("daemon-faults");
	TCase *tc;

	tc = tcase_create("descriptors");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_emfile_pauses_accept_then_serves_waiters);
	suite_add_tcase(s, tc);

	tc = tcase_create("plugins");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_plugin_init_failure_is_skipped);
	tcase_add_test(tc, test_plugin_run_failure_fails_the_job);
	tcase_add_test(tc, test_result_over_max_result_fails_the_job);
	tcase_add_test(tc, test_sigterm_with_plugin_ignoring_cancel);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_thread_create_failures_lose_no_job);
	suite_add_tcase(s, tc);

	tc = tcase_create("clients");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_client_not_reading_is_dropped_alone);
	tcase_add_test(tc, test_slow_peer_closed_by_read_timeout);
	tcase_add_test(tc, test_read_timeout_counts_from_the_frame_start);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return td_main(faults_suite());
}
