/*
 * test_tpctl.c -- Check runner for the tpctl binary against a fake daemon.
 *
 * A thread plays tpoold on a Unix socket in a temporary folder: it answers
 * Hello, and hands every other request to the test's handler, which answers
 * with canned responses and events.  Each test runs the real client/tpctl
 * (fork + exec, TPOOL_SOCKET or -s pointing at the fake), with stdout and
 * stderr in files, and checks the output and the exit status: text and
 * JSON formats, binary-safe results, each exit code.  tpctl against the
 * real daemon is tested in tests/daemon/.
 *
 * CK_FORK=no is honoured: every test stops its thread and removes its files.
 *
 * This runner is over 800 lines (about 1100) because each tpctl command
 * has its handler in the fake daemon and its expected output, text and
 * JSON, for every exit status.  The wire is tests/util/fakewire.c.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakewire.h"
#include "tpool.pb-c.h"

#ifndef TPCTL_PATH
#error "TPCTL_PATH must name the tpctl binary"
#endif

#define	TEST_TIMEOUT	60	/* seconds, per test case */

/* ------------------------------------------------------------ fake daemon */

struct fakeq;
typedef void fake_handler_fn(struct fakeq *, int fd, const Tpool__Request *);

struct fakeq {
	char		fq_dir[64];
	char		fq_sock[128];
	int		fq_lfd;
	pthread_t	fq_thread;
	fake_handler_fn	*fq_fn;
	bool		fq_refuse;	/* answer Hello with a connection error */
	pthread_mutex_t	fq_lock;	/* fq_last, fq_refuse */
	Tpool__Request	*fq_last;	/* the last non-Hello request, owned */
	Tpool__Request	*fq_taken;	/* the test's, from fq_last() */
	int		fq_nconn;
};

/* A job description to answer with. */
static void
job_fill(Tpool__JobInfo *ji, uint64_t job, Tpool__JobState state,
    const void *result, size_t len, const char *message)
{
	ji->has_job_id = true;
	ji->job_id = job;
	ji->plugin = (char *)"echo";
	ji->name = (char *)"nm";
	ji->has_state = true;
	ji->state = state;
	ji->has_pool = true;
	ji->pool = TPOOL__POOL_KIND__POOL_PERCPU;
	ji->has_cpu = true;
	ji->cpu = 1;
	ji->has_priority = true;
	ji->priority = -1;
	if (result != NULL) {
		ji->has_result = true;
		ji->result.data = (uint8_t *)(uintptr_t)result;
		ji->result.len = len;
	}
	ji->message = (char *)(uintptr_t)message;
	ji->has_queue_ns = true;
	ji->queue_ns = 1500;
	ji->has_run_ns = true;
	ji->run_ns = 2500000;
}

static void
fq_started_progress(int fd, uint64_t job)
{
	(void)tu_send_started(fd, job, 1, 1500);
	(void)tu_send_progress(fd, job, 50, "half \"way\"");
}

static void
fq_finished(int fd, uint64_t job, Tpool__JobState state, const void *result,
    size_t len, const char *message)
{
	Tpool__JobInfo ji = TPOOL__JOB_INFO__INIT;

	job_fill(&ji, job, state, result, len, message);
	(void)tu_send_finished(fd, &ji);
}

static void
fq_serve(struct fakeq *fq, int fd)
{
	Tpool__Request *req;
	bool refuse;

	/* A frame over 4 MiB, cut off or garbage ends the connection. */
	while (tu_read_request(fd, 4u << 20, &req) == 0) {
		if (req->body_case == TPOOL__REQUEST__BODY_HELLO) {
			(void)pthread_mutex_lock(&fq->fq_lock);
			refuse = fq->fq_refuse;
			(void)pthread_mutex_unlock(&fq->fq_lock);
			if (refuse) {
				(void)tu_send_error(fd, 0,
				    TPOOL__ERROR_CODE__ERROR_TOO_MANY_CONNECTIONS,
				    "too many connections");
				tpool__request__free_unpacked(req, NULL);
				return;
			}
			(void)tu_send_hello_reply(fd, req->request_id, 1, 4096);
			tpool__request__free_unpacked(req, NULL);
			continue;
		}
		/* Kept before answering: the test looks once tpctl is done. */
		(void)pthread_mutex_lock(&fq->fq_lock);
		if (fq->fq_last != NULL)
			tpool__request__free_unpacked(fq->fq_last, NULL);
		fq->fq_last = req;
		(void)pthread_mutex_unlock(&fq->fq_lock);
		fq->fq_fn(fq, fd, req);
	}
}

static void *
fq_main(void *arg)
{
	struct fakeq *fq = arg;
	int fd;

	for (;;) {
		fd = accept(fq->fq_lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return NULL;	/* the test shut the socket down */
		}
		fq->fq_nconn++;
		fq_serve(fq, fd);
		(void)close(fd);
	}
}

static void
fq_start(struct fakeq *fq, fake_handler_fn *fn)
{
	struct sockaddr_un sun;

	memset(fq, 0, sizeof(*fq));
	(void)pthread_mutex_init(&fq->fq_lock, NULL);
	fq->fq_fn = fn;
	(void)snprintf(fq->fq_dir, sizeof(fq->fq_dir), "/tmp/tpctl-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fq->fq_dir));
	(void)snprintf(fq->fq_sock, sizeof(fq->fq_sock), "%s/sock", fq->fq_dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(fq->fq_sock), sizeof(sun.sun_path));
	memcpy(sun.sun_path, fq->fq_sock, strlen(fq->fq_sock));
	fq->fq_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fq->fq_lfd, 0);
	ck_assert_int_eq(bind(fq->fq_lfd, (struct sockaddr *)&sun,
	    sizeof(sun)), 0);
	ck_assert_int_eq(listen(fq->fq_lfd, 8), 0);
	ck_assert_int_eq(pthread_create(&fq->fq_thread, NULL, fq_main, fq), 0);
	ck_assert_int_eq(setenv("TPOOL_SOCKET", fq->fq_sock, 1), 0);
}

static void
fq_stop(struct fakeq *fq)
{
	(void)shutdown(fq->fq_lfd, SHUT_RDWR);
	ck_assert_int_eq(pthread_join(fq->fq_thread, NULL), 0);
	(void)close(fq->fq_lfd);
	(void)unlink(fq->fq_sock);
	(void)rmdir(fq->fq_dir);
	(void)unsetenv("TPOOL_SOCKET");
}

/*
 * Take the last request the fake saw (NULL if none since the last take):
 * it is the test's from now on, kept in fq_taken and freed by fq_free().
 */
static const Tpool__Request *
fq_last(struct fakeq *fq)
{
	Tpool__Request *r;

	(void)pthread_mutex_lock(&fq->fq_lock);
	r = fq->fq_last;
	fq->fq_last = NULL;
	(void)pthread_mutex_unlock(&fq->fq_lock);
	if (r != NULL) {
		if (fq->fq_taken != NULL)
			tpool__request__free_unpacked(fq->fq_taken, NULL);
		fq->fq_taken = r;
	}
	return r;
}

static void
fq_set_refuse(struct fakeq *fq, bool refuse)
{
	(void)pthread_mutex_lock(&fq->fq_lock);
	fq->fq_refuse = refuse;
	(void)pthread_mutex_unlock(&fq->fq_lock);
}

/* Free what fq_stop() left for the checks after it. */
static void
fq_free(struct fakeq *fq)
{
	if (fq->fq_last != NULL)
		tpool__request__free_unpacked(fq->fq_last, NULL);
	if (fq->fq_taken != NULL)
		tpool__request__free_unpacked(fq->fq_taken, NULL);
	fq->fq_last = fq->fq_taken = NULL;
	(void)pthread_mutex_destroy(&fq->fq_lock);
}

/* ------------------------------------------------------------ running tpctl */

struct run {
	int	rn_status;		/* exit status */
	char	*rn_out;		/* stdout, NUL-terminated, owned */
	size_t	rn_outlen;
	char	*rn_err;		/* stderr, NUL-terminated, owned */
};

static char *
slurp(int fd, size_t *ret_len)
{
	char *buf = NULL, *n;
	size_t len = 0, cap = 0;
	ssize_t r;

	(void)lseek(fd, 0, SEEK_SET);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			n = realloc(buf, cap);
			ck_assert_ptr_nonnull(n);
			buf = n;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(r, 0);
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (ret_len != NULL)
		*ret_len = len;
	return buf;
}

static int
tmpfile_fd(void)
{
	char path[] = "/tmp/tpctl-out.XXXXXX";
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	(void)unlink(path);
	return fd;
}

/*
 * Run tpctl with the arguments (NULL-terminated), stdin from in[0..inlen)
 * (NULL: /dev/null).
 */
static void
run_tpctl_in(struct run *rn, const void *in, size_t inlen, ...)
{
	char *argv[32];
	va_list ap;
	int i, ofd, efd, ifd, st;
	pid_t pid;

	argv[0] = (char *)"tpctl";
	va_start(ap, inlen);
	for (i = 1; i < 31; i++) {
		if ((argv[i] = va_arg(ap, char *)) == NULL)
			break;
	}
	va_end(ap);
	argv[i] = NULL;
	ofd = tmpfile_fd();
	efd = tmpfile_fd();
	ifd = tmpfile_fd();
	if (in != NULL)
		ck_assert_int_eq(write(ifd, in, inlen), (ssize_t)inlen);
	(void)lseek(ifd, 0, SEEK_SET);
	(void)fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		(void)dup2(ifd, STDIN_FILENO);
		(void)dup2(ofd, STDOUT_FILENO);
		(void)dup2(efd, STDERR_FILENO);
		execv(TPCTL_PATH, argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	ck_assert_msg(WIFEXITED(st), "tpctl died of signal %d",
	    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	rn->rn_status = WEXITSTATUS(st);
	ck_assert_int_ne(rn->rn_status, 127);
	rn->rn_out = slurp(ofd, &rn->rn_outlen);
	rn->rn_err = slurp(efd, NULL);
	(void)close(ofd);
	(void)close(efd);
	(void)close(ifd);
}

#define	run_tpctl(rn, ...)	run_tpctl_in((rn), NULL, 0, __VA_ARGS__, NULL)

static void
run_free(struct run *rn)
{
	free(rn->rn_out);
	free(rn->rn_err);
}

#define	ck_assert_contains(hay, needle) \
	ck_assert_msg(strstr((hay), (needle)) != NULL, \
	    "'%s' not in '%s'", (needle), (hay))

/* ------------------------------------------------------------ handlers */

/* The job's end, by the input given to "submit": */
static const uint8_t binary_result[] = { 0x00, 0x01, 0xfe, 0xff, 'A' };
static const char json_nasty[] = "q\"b\\s/\n\t\x01\x7f" "\xc3\xa9";

static void
h_submit(struct fakeq *fq, int fd, const Tpool__Request *req)
{
	const Tpool__Submit *s = req->submit;
	const char *in;

	if (req->body_case != TPOOL__REQUEST__BODY_SUBMIT) {
		(void)tu_send_error(fd, req->request_id,
		    TPOOL__ERROR_CODE__ERROR_BAD_REQUEST, "not a submit");
		return;
	}
	if (strcmp(s->plugin, "nope") == 0) {
		(void)tu_send_error(fd, req->request_id,
		    TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN,
		    "no plugin named \"nope\"");
		return;
	}
	(void)tu_send_submit_reply(fd, req->request_id, 42);
	in = s->has_input ? (const char *)s->input.data : "";
	fq_started_progress(fd, 42);
	if (s->has_input && s->input.len == 4 && memcmp(in, "fail", 4) == 0)
		fq_finished(fd, 42, TPOOL__JOB_STATE__JOB_FAILED, NULL, 0,
		    "it broke");
	else if (s->has_input && s->input.len == 6 &&
	    memcmp(in, "cancel", 6) == 0)
		fq_finished(fd, 42, TPOOL__JOB_STATE__JOB_CANCELLED, NULL, 0,
		    "cancelled before it ran");
	else if (s->has_input && s->input.len == 3 && memcmp(in, "bin", 3) == 0)
		fq_finished(fd, 42, TPOOL__JOB_STATE__JOB_SUCCEEDED,
		    binary_result, sizeof(binary_result), NULL);
	else if (s->has_input && s->input.len == 5 &&
	    memcmp(in, "nasty", 5) == 0)
		fq_finished(fd, 42, TPOOL__JOB_STATE__JOB_SUCCEEDED,
		    json_nasty, strlen(json_nasty), NULL);
	else	/* echo */
		fq_finished(fd, 42, TPOOL__JOB_STATE__JOB_SUCCEEDED,
		    s->has_input ? s->input.data : (const uint8_t *)"",
		    s->has_input ? s->input.len : 0, NULL);
}

/* ------------------------------------------------------------------ tests */

START_TEST(test_submit_prints_job_id_and_sends_fields)
{
	const Tpool__Request *req;
	struct fakeq fq;
	struct run rn;
	const Tpool__Submit *s;

	fq_start(&fq, h_submit);
	run_tpctl(&rn, "submit", "--cpu", "3", "--priority", "7", "--name",
	    "my job", "echo", "in put");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_str_eq(rn.rn_out, "42\n");
	ck_assert_str_eq(rn.rn_err, "");
	run_free(&rn);
	fq_stop(&fq);
	req = fq_last(&fq);
	ck_assert_ptr_nonnull(req);
	s = req->submit;
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->plugin, "echo");
	ck_assert_str_eq(s->name, "my job");
	ck_assert_uint_eq(s->input.len, 6);
	ck_assert_int_eq(memcmp(s->input.data, "in put", 6), 0);
	ck_assert_int_eq(s->pool, TPOOL__POOL_KIND__POOL_PERCPU);
	ck_assert_int_eq(s->cpu, 3);
	ck_assert_int_eq(s->priority, 7);
	fq_free(&fq);
}
END_TEST

START_TEST(test_submit_cpu_any_and_options_after_operands)
{
	struct fakeq fq;
	struct run rn;
	const Tpool__Submit *s;

	fq_start(&fq, h_submit);
	/* Options after the operands, --json after the command name. */
	run_tpctl(&rn, "submit", "echo", "x", "--cpu", "any", "--json");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_str_eq(rn.rn_out, "{\"job_id\":42}\n");
	run_free(&rn);
	fq_stop(&fq);
	s = fq_last(&fq)->submit;
	ck_assert_int_eq(s->pool, TPOOL__POOL_KIND__POOL_PERCPU);
	ck_assert_int_eq(s->cpu, -1);
	ck_assert_int_eq(s->priority, -1);
	ck_assert_ptr_null(s->name);
	fq_free(&fq);
}
END_TEST

START_TEST(test_submit_wait_prints_result)
{
	struct fakeq fq;
	struct run rn;

	fq_start(&fq, h_submit);
	run_tpctl(&rn, "submit", "--wait", "echo", "hello");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_str_eq(rn.rn_out, "hello\n");
	/* stderr is no terminal: no progress bar. */
	ck_assert_str_eq(rn.rn_err, "");
	run_free(&rn);
	fq_stop(&fq);
	fq_free(&fq);
}
END_TEST

START_TEST(test_submit_wait_binary_as_hex_or_raw)
{
	struct fakeq fq;
	struct run rn;

	fq_start(&fq, h_submit);
	run_tpctl(&rn, "submit", "-w", "echo", "bin");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_str_eq(rn.rn_out, "0001feff41\n");
	run_free(&rn);
	run_tpctl(&rn, "submit", "-w", "--raw", "echo", "bin");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_uint_eq(rn.rn_outlen, sizeof(binary_result));
	ck_assert_int_eq(memcmp(rn.rn_out, binary_result,
	    sizeof(binary_result)), 0);
	run_free(&rn);
	fq_stop(&fq);
	fq_free(&fq);
}
END_TEST

START_TEST(test_submit_wait_failed_exit_1)
{
	struct fakeq fq;
	struct run rn;

	fq_start(&fq, h_submit);
	run_tpctl(&rn, "submit", "--wait", "echo", "fail");
	ck_assert_int_eq(rn.rn_status, 1);
	ck_assert_str_eq(rn.rn_out, "");
	ck_assert_contains(rn.rn_err, "job 42 failed: it broke");
	run_free(&rn);
	fq_stop(&fq);
	fq_free(&fq);
}
END_TEST

START_TEST(test_submit_wait_cancelled_exit_4)
{
	struct fakeq fq;
	struct run rn;

	fq_start(&fq, h_submit);
	run_tpctl(&rn, "--json", "submit", "--wait", "echo", "cancel");
	ck_assert_int_eq(rn.rn_status, 4);
	ck_assert_contains(rn.rn_out, "\"state\":\"cancelled\"");
	ck_assert_contains(rn.rn_out,
	    "\"message\":\"cancelled before it ran\"");
	run_free(&rn);
	fq_stop(&fq);
	fq_free(&fq);
}
END_TEST

START_TEST(test_daemon_error_exit_5)
{
	struct fakeq fq;
	struct run rn;

	fq_start(&fq, h_submit);
	run_tpctl(&rn, "submit", "nope");
	ck_assert_int_eq(rn.rn_status, 5);
	ck_assert_str_eq(rn.rn_out, "");
	ck_assert_contains(rn.rn_err, "no plugin named \"nope\"");
	ck_assert_contains(rn.rn_err, "ERROR_UNKNOWN_PLUGIN");
	run_free(&rn);
	fq_stop(&fq);
	fq_free(&fq);
}
END_TEST

START_TEST(test_input_larger_than_daemon_limit_exit_5)
{
	struct fakeq fq;
	struct run rn;
	char *big;

	/* The fake's max_frame is 4096. */
	big = malloc(5000);
	ck_assert_ptr_nonnull(big);
	memset(big, 'b', 5000);
	fq_start(&fq, h_submit);
	run_tpctl_in(&rn, big, 5000, "submit", "--input-file", "-", "echo",
	    NULL);
	ck_assert_int_eq(rn.rn_status, 5);
	ck_assert_contains(rn.rn_err, "larger than the daemon accepts");
	run_free(&rn);
	fq_stop(&fq);
	ck_assert_ptr_null(fq_last(&fq));	/* nothing was sent */
	free(big);
	fq_free(&fq);
}
END_TEST

START_TEST(test_input_file_binary_and_stdin)
{
	static const uint8_t in[] = { 'a', 0x00, 'b', 0xff, '\n' };
	char path[] = "/tmp/tpctl-in.XXXXXX";
	struct fakeq fq;
	struct run rn;
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, in, sizeof(in)), (ssize_t)sizeof(in));
	(void)close(fd);
	fq_start(&fq, h_submit);
	run_tpctl(&rn, "submit", "--wait", "--raw", "--input-file", path,
	    "echo");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_uint_eq(rn.rn_outlen, sizeof(in));
	ck_assert_int_eq(memcmp(rn.rn_out, in, sizeof(in)), 0);
	run_free(&rn);
	run_tpctl_in(&rn, in, sizeof(in), "submit", "-w", "-f", "-", "echo",
	    NULL);
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_str_eq(rn.rn_out, "610062ff0a\n");	/* not text: hex */
	run_free(&rn);
	/* A file that is not there is the user's mistake. */
	run_tpctl(&rn, "submit", "-f", "/nonexistent/in", "echo");
	ck_assert_int_eq(rn.rn_status, 2);
	run_free(&rn);
	fq_stop(&fq);
	(void)unlink(path);
	fq_free(&fq);
}
END_TEST

START_TEST(test_json_escaping_and_base64)
{
	struct fakeq fq;
	struct run rn;

	fq_start(&fq, h_submit);
	run_tpctl(&rn, "submit", "--json", "--wait", "echo", "nasty");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_contains(rn.rn_out,
	    "\"result\":\"q\\\"b\\\\s/\\n\\t\\u0001\\u007f\xc3\xa9\"");
	/* base64 of q"b\s/ \n \t \x01 \x7f \xc3\xa9 */
	ck_assert_contains(rn.rn_out, "\"result_base64\":\"cSJiXHMvCgkBf8Op\"");
	ck_assert_contains(rn.rn_out, "\"job_id\":42,\"state\":\"succeeded\"");
	ck_assert_contains(rn.rn_out, "\"pool\":\"percpu\",\"priority\":-1,"
	    "\"cpu\":1");
	ck_assert_int_eq(rn.rn_out[rn.rn_outlen - 1], '\n');
	run_free(&rn);
	/* Not UTF-8: only the base64 form. */
	run_tpctl(&rn, "submit", "--json", "--wait", "echo", "bin");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_msg(strstr(rn.rn_out, "\"result\":") == NULL, "%s",
	    rn.rn_out);
	ck_assert_contains(rn.rn_out, "\"result_base64\":\"AAH+/0E=\"");
	run_free(&rn);
	fq_stop(&fq);
	fq_free(&fq);
}
END_TEST

/* Watch: job 9 running, then started, progress, finished (failed). */
static void
h_watch(struct fakeq *fq, int fd, const Tpool__Request *req)
{
	Tpool__Response r = TPOOL__RESPONSE__INIT;
	Tpool__WatchReply w = TPOOL__WATCH_REPLY__INIT;
	Tpool__JobInfo ji = TPOOL__JOB_INFO__INIT;
	uint64_t job;

	if (req->body_case != TPOOL__REQUEST__BODY_WATCH) {
		(void)tu_send_error(fd, req->request_id,
		    TPOOL__ERROR_CODE__ERROR_BAD_REQUEST, "not a watch");
		return;
	}
	job = req->watch->job_id;
	if (job == 13) {
		(void)tu_send_error(fd, req->request_id, TPOOL__ERROR_CODE__ERROR_NOT_YOURS,
		    "job 13 is not yours");
		return;
	}
	job_fill(&ji, job, job == 10 ? TPOOL__JOB_STATE__JOB_SUCCEEDED :
	    TPOOL__JOB_STATE__JOB_RUNNING, job == 10 ? "done" : NULL, 4, NULL);
	w.job = &ji;
	r.body_case = TPOOL__RESPONSE__BODY_WATCH;
	r.watch = &w;
	(void)tu_send_response(fd, req->request_id, &r);
	if (job == 10)
		return;
	fq_started_progress(fd, job);
	/* Another job's event must not disturb the watch. */
	fq_finished(fd, job + 1, TPOOL__JOB_STATE__JOB_SUCCEEDED, "x", 1, NULL);
	fq_finished(fd, job, TPOOL__JOB_STATE__JOB_FAILED, NULL, 0, "bad");
}

#define	STARTED_LINE \
	"{\"event\":\"started\",\"job_id\":9,\"cpu\":1,\"queue_ns\":1500}\n"

START_TEST(test_watch_events_and_exit_status)
{
	struct fakeq fq;
	struct run rn;
	const char *p;

	fq_start(&fq, h_watch);
	run_tpctl(&rn, "watch", "--json", "9");
	ck_assert_int_eq(rn.rn_status, 1);
	p = rn.rn_out;
	ck_assert_msg(strncmp(p, STARTED_LINE, strlen(STARTED_LINE)) == 0,
	    "%s", p);
	ck_assert_contains(p, "\n{\"event\":\"progress\",\"job_id\":9,"
	    "\"percent\":50,\"message\":\"half \\\"way\\\"\"}\n");
	ck_assert_contains(p, "\n{\"event\":\"finished\",\"job\":{\"job_id\":9,"
	    "\"state\":\"failed\"");
	ck_assert_msg(strstr(p, "\"job_id\":10") == NULL, "%s", p);
	run_free(&rn);
	/* Text: only the end, on stderr for a failure. */
	run_tpctl(&rn, "watch", "9");
	ck_assert_int_eq(rn.rn_status, 1);
	ck_assert_str_eq(rn.rn_out, "");
	ck_assert_contains(rn.rn_err, "job 9 failed: bad");
	run_free(&rn);
	/* Already finished: reported at once. */
	run_tpctl(&rn, "watch", "10");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_str_eq(rn.rn_out, "done\n");
	run_free(&rn);
	run_tpctl(&rn, "watch", "13");
	ck_assert_int_eq(rn.rn_status, 5);
	ck_assert_contains(rn.rn_err, "ERROR_NOT_YOURS");
	run_free(&rn);
	fq_stop(&fq);
	fq_free(&fq);
}
END_TEST

/* Cancel: the job id picks the answer. */
static void
h_cancel(struct fakeq *fq, int fd, const Tpool__Request *req)
{
	Tpool__Response r = TPOOL__RESPONSE__INIT;
	Tpool__CancelReply c = TPOOL__CANCEL_REPLY__INIT;
	Tpool__JobInfo ji = TPOOL__JOB_INFO__INIT;
	uint64_t job;

	if (req->body_case != TPOOL__REQUEST__BODY_CANCEL) {
		(void)tu_send_error(fd, req->request_id,
		    TPOOL__ERROR_CODE__ERROR_BAD_REQUEST, "not a cancel");
		return;
	}
	job = req->cancel->job_id;
	if (job == 99) {
		(void)tu_send_error(fd, req->request_id, TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB,
		    "no job 99");
		return;
	}
	c.has_result = true;
	c.result = job == 1 ? TPOOL__CANCEL_RESULT__CANCEL_BEFORE_RUN :
	    job == 2 ? TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE :
	    TPOOL__CANCEL_RESULT__CANCEL_ALREADY_FINISHED;
	job_fill(&ji, job, job == 2 && !req->cancel->wait ?
	    TPOOL__JOB_STATE__JOB_RUNNING : job == 3 ?
	    TPOOL__JOB_STATE__JOB_SUCCEEDED : TPOOL__JOB_STATE__JOB_CANCELLED,
	    NULL, 0, NULL);
	c.job = &ji;
	r.body_case = TPOOL__RESPONSE__BODY_CANCEL;
	r.cancel = &c;
	(void)tu_send_response(fd, req->request_id, &r);
}

START_TEST(test_cancel_answers)
{
	struct fakeq fq;
	struct run rn;

	fq_start(&fq, h_cancel);
	run_tpctl(&rn, "cancel", "1");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_str_eq(rn.rn_out,
	    "job 1 cancelled before it ran: it will never run\n");
	run_free(&rn);
	ck_assert(!fq_last(&fq)->cancel->wait);

	run_tpctl(&rn, "cancel", "--wait", "2");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_contains(rn.rn_out, "too late");
	ck_assert_contains(rn.rn_out, "final state: cancelled\n");
	run_free(&rn);
	ck_assert(fq_last(&fq)->cancel->wait);

	run_tpctl(&rn, "--json", "cancel", "3");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_msg(strncmp(rn.rn_out, "{\"job_id\":3,\"result\":"
	    "\"already-finished\",\"job\":{\"job_id\":3,\"state\":"
	    "\"succeeded\"", 74) == 0, "%s", rn.rn_out);
	run_free(&rn);

	run_tpctl(&rn, "cancel", "99");
	ck_assert_int_eq(rn.rn_status, 5);
	ck_assert_contains(rn.rn_err, "ERROR_NO_SUCH_JOB");
	run_free(&rn);
	fq_stop(&fq);
	fq_free(&fq);
}
END_TEST

/* Status, plugins, stats. */
static void
h_info(struct fakeq *fq, int fd, const Tpool__Request *req)
{
	Tpool__Response r = TPOOL__RESPONSE__INIT;
	Tpool__StatusReply st = TPOOL__STATUS_REPLY__INIT;
	Tpool__JobInfo j1 = TPOOL__JOB_INFO__INIT, j2 = TPOOL__JOB_INFO__INIT;
	Tpool__JobInfo *jobs[2] = { &j1, &j2 };
	Tpool__PluginList pl = TPOOL__PLUGIN_LIST__INIT;
	Tpool__PluginInfo p1 = TPOOL__PLUGIN_INFO__INIT;
	Tpool__PluginInfo p2 = TPOOL__PLUGIN_INFO__INIT;
	Tpool__PluginInfo *plugins[2] = { &p1, &p2 };
	Tpool__StatsReply sr = TPOOL__STATS_REPLY__INIT;
	Tpool__PoolStats ps = TPOOL__POOL_STATS__INIT;
	Tpool__PoolStats *pools[1] = { &ps };

	switch (req->body_case) {
	case TPOOL__REQUEST__BODY_STATUS:
		job_fill(&j1, 5, TPOOL__JOB_STATE__JOB_RUNNING, NULL, 0, NULL);
		j1.has_progress = true;
		j1.progress = 30;
		job_fill(&j2, 6, TPOOL__JOB_STATE__JOB_SUCCEEDED, "ok", 2, NULL);
		st.jobs = req->status->has_job_id ? &jobs[1] : jobs;
		st.n_jobs = req->status->has_job_id ? 1 : 2;
		r.body_case = TPOOL__RESPONSE__BODY_STATUS;
		r.status = &st;
		break;
	case TPOOL__REQUEST__BODY_LIST_PLUGINS:
		p1.name = (char *)"echo";
		p1.description = (char *)"result = input";
		p1.has_abi_version = true;
		p1.abi_version = 1;
		p1.isolation = (char *)"thread";
		p2.name = (char *)"crash";
		p2.description = (char *)"crashes";
		p2.has_abi_version = true;
		p2.abi_version = 1;
		p2.isolation = (char *)"process";
		p2.has_workers = p2.has_workers_started = true;
		p2.has_worker_crashes = p2.has_quarantined_ms = true;
		p2.workers = 1;
		p2.workers_started = 6;
		p2.worker_crashes = 5;
		p2.quarantined_ms = 59001;
		pl.plugins = plugins;
		pl.n_plugins = 2;
		r.body_case = TPOOL__RESPONSE__BODY_PLUGINS;
		r.plugins = &pl;
		break;
	case TPOOL__REQUEST__BODY_STATS:
		ps.has_pool = true;
		ps.pool = TPOOL__POOL_KIND__POOL_UNBOUND;
		ps.has_priority = true;
		ps.priority = -1;
		ps.has_cpu = true;
		ps.cpu = -1;
		ps.has_threads = true;
		ps.threads = 2;
		ps.has_jobs_run = true;
		ps.jobs_run = 12;
		sr.pools = pools;
		sr.n_pools = 1;
		sr.has_jobs_accepted = true;
		sr.jobs_accepted = 12;
		sr.has_uptime_ms = true;
		sr.uptime_ms = 1500;
		r.body_case = TPOOL__RESPONSE__BODY_STATS;
		r.stats = &sr;
		break;
	default:
		(void)tu_send_error(fd, req->request_id,
		    TPOOL__ERROR_CODE__ERROR_BAD_REQUEST, "unexpected");
		return;
	}
	(void)tu_send_response(fd, req->request_id, &r);
}

START_TEST(test_status_plugins_stats)
{
	const Tpool__Request *req;
	struct fakeq fq;
	struct run rn;

	fq_start(&fq, h_info);
	run_tpctl(&rn, "status");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_contains(rn.rn_out, "JOB");
	ck_assert_contains(rn.rn_out, "running");
	ck_assert_contains(rn.rn_out, "cpu 1");
	ck_assert_contains(rn.rn_out, "30%");
	ck_assert_contains(rn.rn_out, "succeeded");
	run_free(&rn);
	ck_assert(!fq_last(&fq)->status->has_job_id);

	run_tpctl(&rn, "status", "--json");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_msg(strncmp(rn.rn_out, "{\"jobs\":[{\"job_id\":5,", 21) == 0,
	    "%s", rn.rn_out);
	ck_assert_contains(rn.rn_out, "},{\"job_id\":6,");
	ck_assert_contains(rn.rn_out, "\"progress\":30");
	ck_assert_contains(rn.rn_out, "]}\n");
	run_free(&rn);

	run_tpctl(&rn, "status", "6");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_contains(rn.rn_out, "job:          6\n");
	ck_assert_contains(rn.rn_out, "state:        succeeded\n");
	ck_assert_contains(rn.rn_out, "result:       ok\n");
	ck_assert_contains(rn.rn_out, "queued for:   1.5 us\n");
	ck_assert_contains(rn.rn_out, "ran for:      2.5 ms\n");
	run_free(&rn);
	req = fq_last(&fq);
	ck_assert(req->status->has_job_id);
	ck_assert(req->status->job_id == 6);

	run_tpctl(&rn, "plugins");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_contains(rn.rn_out, "PLUGIN           ABI  ISOLATION "
	    "WORKERS CRASHES DESCRIPTION\n");
	ck_assert_contains(rn.rn_out, "echo             1    thread    -       "
	    "-       result = input\n");
	ck_assert_contains(rn.rn_out, "crash            1    process   1       "
	    "5       crashes\n");
	ck_assert_contains(rn.rn_out, "quarantined for 60 s more");
	run_free(&rn);
	run_tpctl(&rn, "--json", "plugins");
	ck_assert_str_eq(rn.rn_out, "{\"plugins\":[{\"name\":\"echo\","
	    "\"description\":\"result = input\",\"abi_version\":1,"
	    "\"isolation\":\"thread\"},{\"name\":\"crash\",\"description\":"
	    "\"crashes\",\"abi_version\":1,\"isolation\":\"process\","
	    "\"workers\":1,\"workers_started\":6,\"worker_crashes\":5,"
	    "\"quarantined_ms\":59001}]}\n");
	run_free(&rn);

	run_tpctl(&rn, "stats");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_contains(rn.rn_out, "jobs accepted:  12\n");
	ck_assert_contains(rn.rn_out, "unbound");
	run_free(&rn);
	run_tpctl(&rn, "stats", "--json");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_contains(rn.rn_out, "\"uptime_ms\":1500,");
	ck_assert_contains(rn.rn_out, "\"jobs_accepted\":12,");
	ck_assert_contains(rn.rn_out, "\"pools\":[{\"pool\":\"unbound\","
	    "\"priority\":-1,\"cpu\":-1,\"threads\":2,");
	run_free(&rn);
	fq_stop(&fq);
	fq_free(&fq);
}
END_TEST

START_TEST(test_socket_option_and_connection_errors)
{
	struct fakeq fq;
	struct run rn;
	char sock[128];

	fq_start(&fq, h_info);
	(void)snprintf(sock, sizeof(sock), "%s", fq.fq_sock);
	/* -s wins over TPOOL_SOCKET. */
	ck_assert_int_eq(setenv("TPOOL_SOCKET", "/nonexistent/sock", 1), 0);
	run_tpctl(&rn, "status");
	ck_assert_int_eq(rn.rn_status, 3);
	ck_assert_contains(rn.rn_err, "/nonexistent/sock");
	run_free(&rn);
	run_tpctl(&rn, "-s", sock, "plugins");
	ck_assert_int_eq(rn.rn_status, 0);
	run_free(&rn);
	/* Refused at the door (a connection-level error): exit 3. */
	fq_set_refuse(&fq, true);
	run_tpctl(&rn, "--socket", sock, "stats");
	ck_assert_int_eq(rn.rn_status, 3);
	ck_assert_contains(rn.rn_err, "ERROR_TOO_MANY_CONNECTIONS");
	run_free(&rn);
	fq_stop(&fq);
	fq_free(&fq);
}
END_TEST

START_TEST(test_usage_errors_exit_2)
{
	static const char *const cases[][6] = {
		{ "bogus", NULL },
		{ "submit", NULL },
		{ "submit", "--cpu", "1", "--unbound", "echo", NULL },
		{ "submit", "--cpu", "x", "echo", NULL },
		{ "submit", "--priority", "high", "echo", NULL },
		{ "submit", "echo", "a", "b", NULL },
		{ "submit", "-f", "/dev/null", "echo", "a", NULL },
		{ "cancel", NULL },
		{ "cancel", "12x", NULL },
		{ "cancel", "0", NULL },
		{ "status", "1", "2", NULL },
		{ "watch", NULL },
		{ "plugins", "extra", NULL },
		{ "stats", "--bogus", NULL },
		{ "--bogus", NULL },
	};
	struct run rn;
	size_t i;

	/* No daemon needed: every one fails before connecting. */
	ck_assert_int_eq(setenv("TPOOL_SOCKET", "/nonexistent/sock", 1), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_tpctl(&rn, cases[i][0], cases[i][1], cases[i][2],
		    cases[i][3], cases[i][4], cases[i][5]);
		ck_assert_msg(rn.rn_status == 2, "case %zu (%s): exit %d",
		    i, cases[i][0], rn.rn_status);
		ck_assert_msg(rn.rn_err[0] != '\0', "case %zu: no message", i);
		run_free(&rn);
	}
	run_tpctl(&rn, "-s");
	ck_assert_int_eq(rn.rn_status, 2);
	run_free(&rn);
	(void)unsetenv("TPOOL_SOCKET");
}
END_TEST

/*
 * A mistyped command gets the nearest one by edit distance (a swap of two
 * neighbours is one edit), when it is within two edits and shorter than
 * the word; a word near nothing gets no suggestion.  Exit 2 either way.
 */
START_TEST(test_mistyped_command_suggests_nearest)
{
	static const char *const cases[][2] = {
		{ "stauts", "'status'" },
		{ "sumbit", "'submit'" },
		{ "stat", "'stats'" },
		{ "cancle", "'cancel'" },
		{ "watc", "'watch'" },
		{ "pluginz", "'plugins'" },
		{ "hlep", "'help'" },
		{ "xyzzy", NULL },
		{ "x", NULL },
	};
	char want[128];
	struct run rn;
	size_t i;

	ck_assert_int_eq(setenv("TPOOL_SOCKET", "/nonexistent/sock", 1), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_tpctl(&rn, cases[i][0]);
		ck_assert_int_eq(rn.rn_status, 2);
		(void)snprintf(want, sizeof(want), "no command '%s'", cases[i][0]);
		ck_assert_contains(rn.rn_err, want);
		if (cases[i][1] != NULL) {
			(void)snprintf(want, sizeof(want), "; did you mean %s?",
			    cases[i][1]);
			ck_assert_contains(rn.rn_err, want);
		} else {
			ck_assert_msg(strstr(rn.rn_err, "did you mean") == NULL,
			    "%s: %s", cases[i][0], rn.rn_err);
		}
		run_free(&rn);
	}
	/* tpctl help NAME, and --json, suggest the same. */
	run_tpctl(&rn, "help", "stauts");
	ck_assert_int_eq(rn.rn_status, 2);
	ck_assert_contains(rn.rn_err, "did you mean 'status'?");
	run_free(&rn);
	run_tpctl(&rn, "--json", "sumbit");
	ck_assert_int_eq(rn.rn_status, 2);
	ck_assert_contains(rn.rn_out, "\"code\":\"usage\"");
	ck_assert_contains(rn.rn_out, "did you mean 'submit'?");
	run_free(&rn);
	(void)unsetenv("TPOOL_SOCKET");
}
END_TEST

START_TEST(test_help_and_version)
{
	static const char *const cmds[] = { "submit", "cancel", "status",
	    "watch", "plugins", "stats" };
	struct run rn;
	size_t i;

	run_tpctl(&rn, "--help");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_contains(rn.rn_out, "Exit status:");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		ck_assert_contains(rn.rn_out, cmds[i]);
	run_free(&rn);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		run_tpctl(&rn, cmds[i], "--help");
		ck_assert_int_eq(rn.rn_status, 0);
		ck_assert_contains(rn.rn_out, "Usage: tpctl");
		ck_assert_contains(rn.rn_out, cmds[i]);
		ck_assert_contains(rn.rn_out, "  5  the daemon answered");
		run_free(&rn);
		run_tpctl(&rn, "help", cmds[i]);
		ck_assert_int_eq(rn.rn_status, 0);
		ck_assert_contains(rn.rn_out, cmds[i]);
		run_free(&rn);
	}
	run_tpctl(&rn, "-V");
	ck_assert_int_eq(rn.rn_status, 0);
	ck_assert_str_eq(rn.rn_out, "tpctl (" PACKAGE_NAME ") " PACKAGE_VERSION
	    "\n");
	run_free(&rn);
	run_tpctl(&rn, "-h");
	ck_assert_int_eq(rn.rn_status, 0);
	run_free(&rn);
}
END_TEST

static Suite *
tpctl_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("tpctl");
	tc = tcase_create("submit");
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_submit_prints_job_id_and_sends_fields);
	tcase_add_test(tc, test_submit_cpu_any_and_options_after_operands);
	tcase_add_test(tc, test_submit_wait_prints_result);
	tcase_add_test(tc, test_submit_wait_binary_as_hex_or_raw);
	tcase_add_test(tc, test_submit_wait_failed_exit_1);
	tcase_add_test(tc, test_submit_wait_cancelled_exit_4);
	tcase_add_test(tc, test_daemon_error_exit_5);
	tcase_add_test(tc, test_input_larger_than_daemon_limit_exit_5);
	tcase_add_test(tc, test_input_file_binary_and_stdin);
	tcase_add_test(tc, test_json_escaping_and_base64);
	suite_add_tcase(s, tc);

	tc = tcase_create("commands");
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_watch_events_and_exit_status);
	tcase_add_test(tc, test_cancel_answers);
	tcase_add_test(tc, test_status_plugins_stats);
	tcase_add_test(tc, test_socket_option_and_connection_errors);
	tcase_add_test(tc, test_usage_errors_exit_2);
	tcase_add_test(tc, test_mistyped_command_suggests_nearest);
	tcase_add_test(tc, test_help_and_version);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int nfailed;

	sr = srunner_create(tpctl_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
