/*
 * test_inproc.c -- the daemon's entry points "for tests and fuzzing"
 * (daemon/testing.h), driven in this process through libtpoold: request
 * validation as the dispatcher does it, and whole connection streams fed
 * to the real read path and dispatch with the real example plugins, with
 * the daemon set up and torn down more than once.  Under valgrind (run
 * the binary itself) it must leak nothing.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "frame.h"
#include "testing.h"

#ifndef TD_BUILDDIR
#error "TD_BUILDDIR must name the build tree"
#endif

static char ip_dir[64];

static void
ip_copy(const char *src, const char *dst)
{
	char buf[65536];
	ssize_t n;
	int in, out;

	in = open(src, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(in >= 0, "open %s: %s", src, strerror(errno));
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert_msg(out >= 0, "create %s: %s", dst, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	(void)close(in);
	(void)close(out);
}

static int
ip_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

static void ip_start(void);

/* A plugin folder with echo, fail and sleep; the daemon set up. */
static void
ip_setup(void)
{
	static const char *const names[] = { "echo", "fail", "sleep" };
	char src[PATH_MAX], dst[PATH_MAX];
	size_t i;

	(void)snprintf(ip_dir, sizeof(ip_dir), "/tmp/tpd-inproc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(ip_dir));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)snprintf(src, sizeof(src), "%s/plugins/.libs/%s.so", TD_BUILDDIR, names[i]);
		(void)snprintf(dst, sizeof(dst), "%s/%s.so", ip_dir, names[i]);
		ip_copy(src, dst);
	}
	ip_start();
}

/* The defaults and the plugin folder ip_dir; the daemon set up. */
static void
ip_start(void)
{
	tpd_log_set_verbose(-1);
	tpd_options_defaults(&tpd_opt);
	tpd_opt.o_plugin_dir = strdup(ip_dir);
	tpd_opt.o_socket = strdup("/nonexistent/unused.sock");
	tpd_opt.o_shutdown_grace_ns = 2000000000u;
	ck_assert_ptr_nonnull(tpd_opt.o_plugin_dir);
	ck_assert_int_eq(tpd_daemon_setup(false), 0);
	ck_assert_uint_eq(tpd_plugins_count(), 3);
}

/* Stop the daemon and take it down (the folder stays). */
static void
ip_stop(void)
{
	tpd_daemon_stop("test over");
	ck_assert_int_eq(tpd_daemon_run_until_idle(10000), 0);
	tpd_daemon_teardown();
	tpd_options_free(&tpd_opt);
}

static void
ip_teardown(void)
{
	ip_stop();
	(void)nftw(ip_dir, ip_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Append msg, framed, to buf (grown). */
static void
ip_frame(uint8_t **buf, size_t *len, const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);

	*buf = realloc(*buf, *len + TP_FRAME_HDR_LEN + n);
	ck_assert_ptr_nonnull(*buf);
	tp_frame_put_header(*buf + *len, (uint32_t)n);
	(void)protobuf_c_message_pack(msg, *buf + *len + TP_FRAME_HDR_LEN);
	*len += TP_FRAME_HDR_LEN + n;
}

static size_t
ip_pack(const ProtobufCMessage *msg, uint8_t *out, size_t cap)
{
	size_t n = protobuf_c_message_get_packed_size(msg);

	ck_assert_uint_le(n, cap);
	return protobuf_c_message_pack(msg, out);
}

START_TEST(test_request_check_as_dispatch)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Submit sub = TPOOL__SUBMIT__INIT;
	Tpool__Hello hello = TPOOL__HELLO__INIT;
	Tpool__Cancel cancel = TPOOL__CANCEL__INIT;
	Tpool__ErrorCode code = TPOOL__ERROR_CODE__ERROR_UNSPECIFIED;
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	uint8_t body[4096];
	char why[256];
	size_t n;

	tpd_options_defaults(&tpd_opt);

	/* A valid submit (the plugin's existence is the handler's business). */
	req.has_request_id = true;
	req.request_id = 1;
	req.body_case = TPOOL__REQUEST__BODY_SUBMIT;
	req.submit = &sub;
	sub.plugin = (char *)"anything";
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, why, sizeof(why)), 0);

	/* Priority out of range. */
	sub.has_priority = true;
	sub.priority = 100000;
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, why, sizeof(why)), EINVAL);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_INVALID_PRIORITY);
	sub.priority = -1;

	/* A CPU below -1 on a per-CPU pool. */
	sub.has_pool = true;
	sub.pool = TPOOL__POOL_KIND__POOL_PERCPU;
	sub.has_cpu = true;
	sub.cpu = -7;
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, why, sizeof(why)), EINVAL);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_INVALID_CPU);
	sub.cpu = -1;

	/* A CPU with an unbound pool: refused, not ignored. */
	sub.pool = TPOOL__POOL_KIND__POOL_UNBOUND;
	sub.cpu = 0;
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, why, sizeof(why)), EINVAL);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_INVALID_CPU);
	sub.cpu = -1;
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, why, sizeof(why)), 0);

	/* Request id 0 (or none) is the daemon's own: refused. */
	req.request_id = 0;
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, why, sizeof(why)), EINVAL);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	req.has_request_id = false;
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, why, sizeof(why)), EINVAL);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	req.has_request_id = true;
	req.request_id = 1;

	/* Input over --max-input. */
	tpd_opt.o_max_input = 4;
	sub.has_input = true;
	sub.input.data = (uint8_t *)"12345";
	sub.input.len = 5;
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, why, sizeof(why)), EINVAL);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_INPUT_TOO_LARGE);
	ck_assert_ptr_nonnull(strstr(why, "over the limit"));

	/* No plugin name. */
	sub.has_input = false;
	sub.plugin = NULL;
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, why, sizeof(why)), EINVAL);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);

	/* Hello of another version; of this one. */
	req.body_case = TPOOL__REQUEST__BODY_HELLO;
	req.hello = &hello;
	hello.has_version = true;
	hello.version = 99;
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, NULL, 0), EINVAL);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_VERSION);
	hello.version = TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT;
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, NULL, 0), 0);

	/* Cancel without a job id; no body at all; not a Request. */
	req.body_case = TPOOL__REQUEST__BODY_CANCEL;
	req.cancel = &cancel;
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, why, sizeof(why)), EINVAL);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	req.body_case = TPOOL__REQUEST__BODY__NOT_SET;
	n = ip_pack(&req.base, body, sizeof(body));
	ck_assert_int_eq(tpd_request_check(body, n, &code, why, sizeof(why)), EINVAL);
	ck_assert_int_eq(tpd_request_check(garbage, sizeof(garbage), &code, why,
	    sizeof(why)), EBADMSG);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	tpd_options_free(&tpd_opt);
}
END_TEST

/* A stream of requests: hello, three echo jobs, a failing one, a bad one,
 * list, stats, status; all through the real dispatch. */
START_TEST(test_feed_stream_runs_jobs)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Submit sub = TPOOL__SUBMIT__INIT;
	Tpool__Hello hello = TPOOL__HELLO__INIT;
	Tpool__ListPlugins lp = TPOOL__LIST_PLUGINS__INIT;
	Tpool__Status st = TPOOL__STATUS__INIT;
	struct tpd_job_counts jc;
	uint8_t *buf = NULL;
	size_t len = 0;
	int round, i;

	for (round = 0; round < 2; round++) {
		ip_setup();
		req.has_request_id = true;
		req.request_id = 1;
		req.body_case = TPOOL__REQUEST__BODY_HELLO;
		req.hello = &hello;
		hello.has_version = true;
		hello.version = TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT;
		ip_frame(&buf, &len, &req.base);
		req.body_case = TPOOL__REQUEST__BODY_SUBMIT;
		req.submit = &sub;
		sub.plugin = (char *)"echo";
		sub.has_input = true;
		sub.input.data = (uint8_t *)"hi";
		sub.input.len = 2;
		for (i = 0; i < 3; i++)
			ip_frame(&buf, &len, &req.base);
		sub.plugin = (char *)"fail";
		ip_frame(&buf, &len, &req.base);
		sub.plugin = (char *)"nosuch";
		ip_frame(&buf, &len, &req.base);
		req.body_case = TPOOL__REQUEST__BODY_LIST_PLUGINS;
		req.list_plugins = &lp;
		ip_frame(&buf, &len, &req.base);
		req.body_case = TPOOL__REQUEST__BODY_STATUS;
		req.status = &st;
		ip_frame(&buf, &len, &req.base);
		/* A partial frame at the end: the daemon sees end of file in it. */
		buf = realloc(buf, len + 2);
		ck_assert_ptr_nonnull(buf);
		buf[len++] = 0;
		buf[len++] = 0;

		ck_assert_int_eq(tpd_daemon_feed(buf, len, 1000, 1000, 1, 10000), 0);
		tpd_jobs_counts(&jc);
		ck_assert_uint_eq(jc.jc_accepted, 4);
		ck_assert_uint_eq(tpd_jobs_inflight(), 0);
		ck_assert_uint_eq(tpd_conn_count(), 0);

		/* Garbage closes the connection; the daemon goes on. */
		ck_assert_int_eq(tpd_daemon_feed((const uint8_t *)"\0\0\0\3abc", 7, 1000, 1000,
		    1, 10000), 0);
		ck_assert_uint_eq(tpd_conn_count(), 0);
		ip_teardown();
		free(buf);
		buf = NULL;
		len = 0;
	}
}
END_TEST

/* A job still running when the connection ends goes on; stop cancels it. */
START_TEST(test_feed_then_stop_with_running_job)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Submit sub = TPOOL__SUBMIT__INIT;
	uint8_t *buf = NULL;
	size_t len = 0;

	ip_setup();
	req.has_request_id = true;
	req.request_id = 1;
	req.body_case = TPOOL__REQUEST__BODY_SUBMIT;
	req.submit = &sub;
	sub.plugin = (char *)"sleep";
	sub.has_input = true;
	sub.input.data = (uint8_t *)"60000";
	sub.input.len = 5;
	ip_frame(&buf, &len, &req.base);
	ck_assert_int_eq(tpd_daemon_feed(buf, len, 0, 0, 1, 300), ETIMEDOUT);
	ck_assert_uint_eq(tpd_jobs_inflight(), 1);
	/* The sleep plugin checks for cancellation: stop ends it at once. */
	ip_teardown();
	free(buf);
}
END_TEST

/* How many whole frames can be read from fd now (without waiting). */
static unsigned int
ip_count_frames(int fd)
{
	static uint8_t buf[1 << 20];
	size_t have = 0, off = 0;
	unsigned int n = 0;
	ssize_t r;

	while ((r = recv(fd, buf + have, sizeof(buf) - have,
	    MSG_DONTWAIT)) > 0)
		have += (size_t)r;
	while (have - off >= TP_FRAME_HDR_LEN &&
	    have - off >= TP_FRAME_HDR_LEN + tp_frame_get_header(buf + off)) {
		off += TP_FRAME_HDR_LEN + tp_frame_get_header(buf + off);
		n++;
	}
	ck_assert_uint_eq(off, have);	/* replies are written whole */
	return n;
}

/*
 * A connection of uid attached to the daemon (sv[0] is the daemon's, sv[1]
 * the client's end), with n Hello requests (ids 1 to n) written into it:
 * small requests with small replies (all of them fit in the socket's
 * buffer unread).
 */
static void
ip_attach_with_hellos(int sv[2], uid_t uid, unsigned int n)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Hello hello = TPOOL__HELLO__INIT;
	uint8_t *buf = NULL;
	size_t len = 0;
	unsigned int i;

	req.has_request_id = true;
	req.body_case = TPOOL__REQUEST__BODY_HELLO;
	req.hello = &hello;
	hello.has_version = true;
	hello.version = TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT;
	for (i = 1; i <= n; i++) {
		req.request_id = i;
		ip_frame(&buf, &len, &req.base);
	}
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	ck_assert_int_eq(tpd_conn_attach(sv[0], uid, uid, (pid_t)uid, NULL),
	    0);
	ck_assert_int_eq(write(sv[1], buf, len), (ssize_t)len);
	free(buf);
}

/*
 * The loop serves connections in turn: one that sent a thousand requests
 * at once has 64 of them answered per turn, and another connection's one
 * request is answered in the first loop iteration, not after the
 * thousand.
 */
START_TEST(test_pipelining_client_takes_turns)
{
	unsigned int got, total = 0, iterations = 0;
	int a[2], b[2];

	ip_setup();
	/* Both ready before the loop looks: a's thousand, then b's one. */
	ip_attach_with_hellos(a, 1000, 1000);
	ip_attach_with_hellos(b, 1001, 1);

	ck_assert_int_eq(event_base_loop(tpd_base, EVLOOP_ONCE), 0);
	ck_assert_uint_eq(ip_count_frames(b[1]), 1);
	got = ip_count_frames(a[1]);
	ck_assert_uint_ge(got, 1);
	ck_assert_uint_le(got, 64);
	/* The rest comes, a turn per iteration. */
	for (total = got; total < 1000 && iterations < 100; iterations++) {
		ck_assert_int_eq(event_base_loop(tpd_base, EVLOOP_ONCE), 0);
		total += ip_count_frames(a[1]);
	}
	ck_assert_uint_eq(total, 1000);
	ck_assert_uint_ge(iterations, 1000 / 64 - 1);
	(void)close(a[1]);
	(void)close(b[1]);
	ip_teardown();
}
END_TEST

/*
 * A stop that comes while a connection's frames wait their turn answers
 * every one of them (all it read, whole) before it closes the connection.
 */
START_TEST(test_stop_answers_frames_waiting_their_turn)
{
	unsigned int total;
	uint8_t byte;
	int a[2];

	ip_setup();
	ip_attach_with_hellos(a, 1000, 1000);
	ck_assert_int_eq(event_base_loop(tpd_base, EVLOOP_ONCE), 0);
	total = ip_count_frames(a[1]);
	ck_assert_uint_lt(total, 1000);		/* the rest waits its turn */

	tpd_daemon_stop("test stop");
	ck_assert_int_eq(tpd_daemon_run_until_idle(10000), 0);
	ck_assert_uint_eq(tpd_conn_count(), 0);
	total += ip_count_frames(a[1]);
	ck_assert_uint_eq(total, 1000);
	ck_assert_int_eq(read(a[1], &byte, 1), 0);	/* then it closed */
	(void)close(a[1]);
	ip_teardown();
}
END_TEST

static unsigned int
ip_count_fds(void)
{
	struct dirent *de;
	unsigned int n = 0;
	DIR *d = opendir("/proc/self/fd");

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	(void)closedir(d);
	return n;
}

/*
 * A plugin whose object stays loaded after the daemon's dlclose (here the
 * program holds it open itself) keeps one descriptor, however often the
 * daemon loads it again.
 */
START_TEST(test_plugin_kept_loaded_costs_one_descriptor)
{
	char path[PATH_MAX];
	unsigned int round, after_first = 0;
	void *held;

	ip_setup();
	(void)snprintf(path, sizeof(path), "%s/echo.so", ip_dir);
	held = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(held != NULL, "dlopen %s: %s", path, dlerror());
	for (round = 0; round < 4; round++) {
		ip_stop();
		if (round == 0)
			after_first = ip_count_fds();
		else
			ck_assert_uint_eq(ip_count_fds(), after_first);
		ip_start();
	}
	ip_teardown();
	(void)dlclose(held);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("daemon-inproc");
	TCase *tc = tcase_create("inproc");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_request_check_as_dispatch);
	tcase_add_test(tc, test_feed_stream_runs_jobs);
	tcase_add_test(tc, test_feed_then_stop_with_running_job);
	tcase_add_test(tc, test_pipelining_client_takes_turns);
	tcase_add_test(tc, test_stop_answers_frames_waiting_their_turn);
	tcase_add_test(tc, test_plugin_kept_loaded_costs_one_descriptor);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
