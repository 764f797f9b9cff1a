/*
 * test_tpctl.c -- the tpctl binary against the real tpoold: what it prints
 * (text and --json, which must parse), and its exit status for a job that
 * succeeded, failed or was cancelled, a usage error, a daemon error and no
 * daemon at all; the progress bar on a pseudo-terminal.
 *
 * The JSON is checked with a small strict parser here (RFC 8259 values),
 * which also pulls out the top-level fields the tests look at.
 *
 * (Over 800 lines: about a third of it is the strict JSON parser and the
 * code that runs tpctl on pipes or a pseudo-terminal, which only these
 * tests need; the rest is one Check test case of fourteen tests.)
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })

static struct td_daemon D;

/* ---------------------------------------------------------- a JSON parser */

struct json {
	const char	*js_p;
	const char	*js_end;
	int		js_depth;
};

static bool json_value(struct json *, const char **, const char **);

static void
json_ws(struct json *js)
{
	while (js->js_p < js->js_end && (*js->js_p == ' ' || *js->js_p == '\t' ||
	    *js->js_p == '\n' || *js->js_p == '\r'))
		js->js_p++;
}

static bool
json_lit(struct json *js, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(js->js_end - js->js_p) < n || memcmp(js->js_p, lit, n) != 0)
		return false;
	js->js_p += n;
	return true;
}

static bool
json_string(struct json *js)
{
	int i;

	if (js->js_p >= js->js_end || *js->js_p != '"')
		return false;
	for (js->js_p++; js->js_p < js->js_end; js->js_p++) {
		unsigned char ch = (unsigned char)*js->js_p;

		if (ch == '"') {
			js->js_p++;
			return true;
		}
		if (ch < 0x20)
			return false;
		if (ch != '\\')
			continue;
		if (++js->js_p >= js->js_end)
			return false;
		switch (*js->js_p) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			break;
		case 'u':
			for (i = 0; i < 4; i++)
				if (++js->js_p >= js->js_end || !strchr("0123456789abcdefABCDEF",
				    *js->js_p))
					return false;
			break;
		default:
			return false;
		}
	}
	return false;
}

static bool
json_number(struct json *js)
{
	const char *start = js->js_p;

	if (js->js_p < js->js_end && *js->js_p == '-')
		js->js_p++;
	if (js->js_p >= js->js_end || *js->js_p < '0' || *js->js_p > '9')
		return false;
	if (*js->js_p == '0')
		js->js_p++;
	else
		while (js->js_p < js->js_end && *js->js_p >= '0' && *js->js_p <= '9')
			js->js_p++;
	if (js->js_p < js->js_end && *js->js_p == '.') {
		js->js_p++;
		if (js->js_p >= js->js_end || *js->js_p < '0' || *js->js_p > '9')
			return false;
		while (js->js_p < js->js_end && *js->js_p >= '0' && *js->js_p <= '9')
			js->js_p++;
	}
	if (js->js_p < js->js_end && (*js->js_p == 'e' || *js->js_p == 'E')) {
		js->js_p++;
		if (js->js_p < js->js_end && (*js->js_p == '+' || *js->js_p == '-'))
			js->js_p++;
		if (js->js_p >= js->js_end || *js->js_p < '0' || *js->js_p > '9')
			return false;
		while (js->js_p < js->js_end && *js->js_p >= '0' && *js->js_p <= '9')
			js->js_p++;
	}
	return js->js_p > start;
}

/*
 * An object; when want is not NULL, *ret_b and *ret_e get the bounds of the
 * value of member want (top level of this object only).
 */
static bool
json_object(struct json *js, const char *want, const char **ret_b, const char **ret_e)
{
	const char *kb, *ke, *vb, *ve;

	js->js_p++;	/* { */
	json_ws(js);
	if (js->js_p < js->js_end && *js->js_p == '}') {
		js->js_p++;
		return true;
	}
	for (;;) {
		json_ws(js);
		kb = js->js_p;
		if (!json_string(js))
			return false;
		ke = js->js_p;
		json_ws(js);
		if (js->js_p >= js->js_end || *js->js_p++ != ':')
			return false;
		if (!json_value(js, &vb, &ve))
			return false;
		if (want != NULL && (size_t)(ke - kb) == strlen(want) + 2 &&
		    memcmp(kb + 1, want, strlen(want)) == 0) {
			*ret_b = vb;
			*ret_e = ve;
		}
		json_ws(js);
		if (js->js_p >= js->js_end)
			return false;
		if (*js->js_p == ',') {
			js->js_p++;
			continue;
		}
		if (*js->js_p == '}') {
			js->js_p++;
			return true;
		}
		return false;
	}
}

static bool
json_array(struct json *js)
{
	const char *vb, *ve;

	js->js_p++;	/* [ */
	json_ws(js);
	if (js->js_p < js->js_end && *js->js_p == ']') {
		js->js_p++;
		return true;
	}
	for (;;) {
		if (!json_value(js, &vb, &ve))
			return false;
		json_ws(js);
		if (js->js_p >= js->js_end)
			return false;
		if (*js->js_p == ',') {
			js->js_p++;
			continue;
		}
		if (*js->js_p == ']') {
			js->js_p++;
			return true;
		}
		return false;
	}
}

static bool
json_value(struct json *js, const char **ret_b, const char **ret_e)
{
	bool ok;

	json_ws(js);
	*ret_b = js->js_p;
	if (js->js_p >= js->js_end || ++js->js_depth > 64)
		return false;
	switch (*js->js_p) {
	case '{':
		ok = json_object(js, NULL, NULL, NULL);
		break;
	case '[':
		ok = json_array(js);
		break;
	case '"':
		ok = json_string(js);
		break;
	case 't':
		ok = json_lit(js, "true");
		break;
	case 'f':
		ok = json_lit(js, "false");
		break;
	case 'n':
		ok = json_lit(js, "null");
		break;
	default:
		ok = json_number(js);
		break;
	}
	js->js_depth--;
	*ret_e = js->js_p;
	return ok;
}

/*
 * text must be exactly one JSON object (and a newline).  Returns the
 * member's value as text (malloc'ed; strings keep their quotes) or NULL if
 * it has no such member; fails the test if the JSON is not valid.
 */
static char *
json_get(const char *text, const char *member)
{
	struct json js = { text, text + strlen(text), 0 };
	const char *b = NULL, *e = NULL;
	char *v;

	json_ws(&js);
	ck_assert_msg(js.js_p < js.js_end && *js.js_p == '{', "not a JSON object: %s", text);
	ck_assert_msg(json_object(&js, member, &b, &e), "invalid JSON: %s", text);
	json_ws(&js);
	ck_assert_msg(js.js_p == js.js_end, "junk after the JSON object: %s", text);
	if (b == NULL)
		return NULL;
	v = strndup(b, (size_t)(e - b));
	ck_assert_ptr_nonnull(v);
	return v;
}

static void
json_expect(const char *text, const char *member, const char *value)
{
	char *v = json_get(text, member);

	ck_assert_msg(v != NULL, "no member %s in %s", member, text);
	ck_assert_msg(strcmp(v, value) == 0, "%s is %s, expected %s", member, v, value);
	free(v);
}

START_TEST(test_json_parser_is_strict)
{
	char *v;

	v = json_get("{\"a\":[1,2.5e3,{\"b\":null}],\"s\":\"x\\u00e9\\n\",\"t\":true}\n", "s");
	ck_assert_str_eq(v, "\"x\\u00e9\\n\"");
	free(v);
	ck_assert_ptr_null(json_get("{}", "a"));
}
END_TEST

/* ------------------------------------------------------------ run tpctl */

struct run {
	int	r_status;	/* exit status, or -1 for a signal / timeout */
	char	*r_out;
	char	*r_err;
};

static void
run_free(struct run *r)
{
	free(r->r_out);
	free(r->r_err);
}

static void
drain(int fd, char **buf, size_t *len)
{
	char chunk[4096];
	ssize_t n;

	n = read(fd, chunk, sizeof(chunk));
	if (n <= 0)
		return;
	*buf = realloc(*buf, *len + (size_t)n + 1);
	ck_assert_ptr_nonnull(*buf);
	memcpy(*buf + *len, chunk, (size_t)n);
	*len += (size_t)n;
	(*buf)[*len] = '\0';
}

/*
 * Start tpctl with args (-s SOCKET first when with_socket), its stdin (if
 * in_fd >= 0), stdout and stderr on in_fd, out_fd and err_fd (every other
 * descriptor of ours is close-on-exec); its pid.
 */
static pid_t
tpctl_spawn_fds(const char *const *args, bool with_socket, int in_fd, int out_fd,
    int err_fd)
{
	const char *argv[32];
	size_t n = 0;
	pid_t pid;

	argv[n++] = td_tpctl_path();
	if (with_socket) {
		argv[n++] = "-s";
		argv[n++] = D.td_sock;
	}
	for (; *args != NULL && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (in_fd >= 0)
			(void)dup2(in_fd, STDIN_FILENO);
		(void)dup2(out_fd, STDOUT_FILENO);
		(void)dup2(err_fd, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* The same with stdout and stderr on pipes: *ret_out, *ret_err. */
static pid_t
tpctl_spawn(const char *const *args, bool with_socket, int *ret_out, int *ret_err)
{
	int out[2], err[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	pid = tpctl_spawn_fds(args, with_socket, -1, out[1], err[1]);
	(void)close(out[1]);
	(void)close(err[1]);
	*ret_out = out[0];
	*ret_err = err[0];
	return pid;
}

static struct run
tpctl_wait(pid_t pid, int outfd, int errfd)
{
	struct pollfd pfd[2] = { { outfd, POLLIN, 0 }, { errfd, POLLIN, 0 } };
	uint64_t end = tu_now_ms() + td_deadline_ms();
	struct run r = { -1, NULL, NULL };
	size_t olen = 0, elen = 0;
	int status, open = 2;

	while (open > 0 && tu_now_ms() < end) {
		if (poll(pfd, 2, 100) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			size_t before = i == 0 ? olen : elen;

			drain(pfd[i].fd, i == 0 ? &r.r_out : &r.r_err, i == 0 ? &olen : &elen);
			if ((i == 0 ? olen : elen) == before) {
				(void)close(pfd[i].fd);
				pfd[i].fd = -1;
				open--;
			}
		}
	}
	if (open > 0)
		(void)kill(pid, SIGKILL);
	status = td_wait_exit(pid, 5000);
	if (status != -1 && WIFEXITED(status))
		r.r_status = WEXITSTATUS(status);
	for (int i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			(void)close(pfd[i].fd);
	if (r.r_out == NULL)
		r.r_out = strdup("");
	if (r.r_err == NULL)
		r.r_err = strdup("");
	return r;
}

static struct run
tpctl(const char *const *args)
{
	int out, err;
	pid_t pid = tpctl_spawn(args, true, &out, &err);

	return tpctl_wait(pid, out, err);
}

static void
start(void)
{
	ck_assert_msg(access(td_tpctl_path(), X_OK) == 0, "no tpctl at %s", td_tpctl_path());
	td_up(&D, NULL);
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_submit_wait_prints_result)
{
	struct run r;

	start();
	r = tpctl(ARGS("submit", "--wait", "sha256", "abc"));
	ck_assert_msg(r.r_status == 0, "exit %d: %s", r.r_status, r.r_err);
	ck_assert_str_eq(r.r_out,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");
	run_free(&r);

	r = tpctl(ARGS("submit", "-w", "echo", "--", "-dash"));
	ck_assert_int_eq(r.r_status, 0);
	ck_assert_str_eq(r.r_out, "-dash\n");
	run_free(&r);

	/* --json: the final job, as an object that parses. */
	r = tpctl(ARGS("--json", "submit", "--wait", "--name", "jj", "echo", "hi"));
	ck_assert_int_eq(r.r_status, 0);
	json_expect(r.r_out, "state", "\"succeeded\"");
	json_expect(r.r_out, "plugin", "\"echo\"");
	json_expect(r.r_out, "name", "\"jj\"");
	json_expect(r.r_out, "result", "\"hi\"");
	run_free(&r);
	td_down(&D);
}
END_TEST

/* --delay and --at: scheduled, then run; a bad time is a usage error. */
START_TEST(test_submit_delay_and_at)
{
	uint64_t t0;
	struct run r;
	char at[32];

	start();
	t0 = tu_now_ms();
	r = tpctl(ARGS("submit", "--wait", "--delay", "300ms", "echo", "later"));
	ck_assert_msg(r.r_status == 0, "exit %d: %s", r.r_status, r.r_err);
	ck_assert_str_eq(r.r_out, "later\n");
	ck_assert_uint_ge(tu_now_ms() - t0, 300);
	run_free(&r);

	/* A scheduled job, as status shows it. */
	r = tpctl(ARGS("--json", "submit", "--delay", "1m", "echo", "x"));
	ck_assert_int_eq(r.r_status, 0);
	run_free(&r);
	r = tpctl(ARGS("status"));
	ck_assert_int_eq(r.r_status, 0);
	ck_assert_msg(strstr(r.r_out, "scheduled") != NULL, "%s", r.r_out);
	run_free(&r);

	/* @SECONDS: one second from now. */
	(void)snprintf(at, sizeof(at), "@%lld", (long long)time(NULL) + 1);
	r = tpctl(ARGS("submit", "--wait", "--at", at, "echo", "at"));
	ck_assert_msg(r.r_status == 0, "exit %d: %s", r.r_status, r.r_err);
	ck_assert_str_eq(r.r_out, "at\n");
	run_free(&r);

	r = tpctl(ARGS("submit", "--at", "25:99", "echo", "x"));
	ck_assert_int_eq(r.r_status, 2);
	run_free(&r);
	r = tpctl(ARGS("submit", "--delay", "1s", "--at", "12:00", "echo"));
	ck_assert_int_eq(r.r_status, 2);
	run_free(&r);
	/* A deadline not after the delay: the daemon refuses it. */
	r = tpctl(ARGS("submit", "--delay", "2s", "--deadline", "1s", "echo"));
	ck_assert_int_eq(r.r_status, 5);
	ck_assert_msg(strstr(r.r_err, "not after the delay") != NULL, "%s",
	    r.r_err);
	run_free(&r);
	td_down(&D);
}
END_TEST

/*
 * --reconnect: submit --wait outlives a restart of a daemon with a job
 * store.  Its job is queued behind a long one when the daemon stops; the
 * stop keeps it, the next start runs it, and tpctl, connected again,
 * prints its result.
 */
START_TEST(test_wait_survives_a_restart)
{
	char state[128], arg[160];
	struct tpc *c;
	struct run r;
	uint64_t end;
	int out, err;
	pid_t pid;

	td_init(&D);
	td_add_example_plugins(&D);
	(void)snprintf(state, sizeof(state), "%s/state", D.td_dir);
	(void)snprintf(arg, sizeof(arg), "--state-dir=%s", state);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	td_start(&D, NULL, ARGS(arg, "--max-threads", "1", "--max-running",
	    "1"));
	c = td_connect(&D);
	(void)td_submit(c, "sleep", "60000");
	pid = tpctl_spawn(ARGS("--reconnect", "30s", "submit", "--wait", "echo",
	    "after the restart"), true, &out, &err);
	/* Until its job is queued: two jobs in flight. */
	end = tu_now_ms() + td_deadline_ms();
	for (;;) {
		Tpool__StatsReply *st;
		bool two;

		ck_assert_int_eq(tpc_stats(c, &st), 0);
		two = st->jobs_in_flight == 2;
		tpool__stats_reply__free_unpacked(st, NULL);
		if (two || tu_now_ms() > end)
			break;
		td_sleep_ms(10);
	}
	tpc_free(c);
	td_stop(&D);
	td_start(&D, NULL, ARGS(arg, "--max-threads", "1", "--max-running",
	    "1"));
	r = tpctl_wait(pid, out, err);
	ck_assert_msg(r.r_status == 0, "exit %d: %s", r.r_status, r.r_err);
	ck_assert_str_eq(r.r_out, "after the restart\n");
	ck_assert_msg(strstr(r.r_err, "connecting again") != NULL, "%s",
	    r.r_err);
	run_free(&r);
	td_down(&D);
}
END_TEST

START_TEST(test_exit_status_of_failed_and_cancelled_jobs)
{
	struct run r, w;
	char *idtext;
	uint64_t end;
	bool running;
	int out, err;
	pid_t pid;

	start();
	r = tpctl(ARGS("submit", "--wait", "fail", "no luck"));
	ck_assert_int_eq(r.r_status, 1);
	ck_assert_ptr_nonnull(strstr(r.r_err, "no luck"));
	run_free(&r);

	/* Without --wait: the id; then watch it and cancel it from elsewhere. */
	r = tpctl(ARGS("--json", "submit", "sleep", "20000"));
	ck_assert_int_eq(r.r_status, 0);
	idtext = json_get(r.r_out, "job_id");
	ck_assert_ptr_nonnull(idtext);
	run_free(&r);
	/* Running before the cancel (a slow first worker: still queued). */
	for (end = tu_now_ms() + td_deadline_ms();; usleep(20000)) {
		r = tpctl(ARGS("--json", "status", idtext));
		ck_assert_msg(r.r_status == 0, "exit %d: %s", r.r_status,
		    r.r_err);
		running = strstr(r.r_out, "\"running\"") != NULL;
		run_free(&r);
		if (running)
			break;
		ck_assert_msg(tu_now_ms() < end, "job %s did not start",
		    idtext);
	}
	pid = tpctl_spawn(ARGS("watch", idtext), true, &out, &err);
	td_sleep_ms(200);
	r = tpctl(ARGS("--json", "cancel", "--wait", idtext));
	ck_assert_msg(r.r_status == 0, "cancel: exit %d: %s", r.r_status, r.r_err);
	json_expect(r.r_out, "result", "\"too-late\"");
	run_free(&r);
	w = tpctl_wait(pid, out, err);
	ck_assert_msg(w.r_status == 4, "watch of a cancelled job: exit %d (%s)", w.r_status,
	    w.r_err);
	run_free(&w);

	/* Cancelling it again: already finished, still success. */
	r = tpctl(ARGS("--json", "cancel", idtext));
	ck_assert_int_eq(r.r_status, 0);
	json_expect(r.r_out, "result", "\"already-finished\"");
	run_free(&r);

	/* status JOBID --json parses and says cancelled. */
	r = tpctl(ARGS("--json", "status", idtext));
	ck_assert_int_eq(r.r_status, 0);
	json_expect(r.r_out, "state", "\"cancelled\"");
	run_free(&r);
	free(idtext);
	td_down(&D);
}
END_TEST

START_TEST(test_exit_status_of_errors)
{
	int out, err;
	struct run r;
	pid_t pid;

	start();
	/* The daemon's errors: 5. */
	r = tpctl(ARGS("submit", "--wait", "no-such-plugin", "x"));
	ck_assert_int_eq(r.r_status, 5);
	ck_assert_uint_gt(strlen(r.r_err), 0);
	run_free(&r);
	r = tpctl(ARGS("cancel", "999999"));
	ck_assert_int_eq(r.r_status, 5);
	run_free(&r);
	r = tpctl(ARGS("submit", "--cpu", "4000", "echo", "x"));
	ck_assert_int_eq(r.r_status, 5);
	run_free(&r);
	/* Usage: 2. */
	r = tpctl(ARGS("submit"));
	ck_assert_int_eq(r.r_status, 2);
	run_free(&r);
	r = tpctl(ARGS("no-such-command"));
	ck_assert_int_eq(r.r_status, 2);
	run_free(&r);
	r = tpctl(ARGS("cancel", "not-a-number"));
	ck_assert_int_eq(r.r_status, 2);
	run_free(&r);
	/* No daemon there: 3. */
	pid = tpctl_spawn(ARGS("-s", "/nonexistent/tpoold.sock", "plugins"), false, &out, &err);
	r = tpctl_wait(pid, out, err);
	ck_assert_int_eq(r.r_status, 3);
	run_free(&r);
	td_down(&D);
}
END_TEST

/* What a --json error must be: one object on stdout, nothing on stderr. */
static void
json_error_expect(const struct run *r, int status, const char *code)
{
	char *e, *v;

	ck_assert_msg(r->r_status == status, "exit %d, expected %d: %s", r->r_status,
	    status, r->r_out);
	ck_assert_msg(*r->r_err == '\0', "stderr under --json: %s", r->r_err);
	e = json_get(r->r_out, "error");
	ck_assert_msg(e != NULL, "no error object: %s", r->r_out);
	json_expect(e, "code", code);
	v = json_get(e, "message");
	ck_assert_msg(v != NULL && strlen(v) > 2, "no message: %s", e);
	free(v);
	free(e);
}

/*
 * --json: every error, the daemon's and tpctl's own, is one JSON object on
 * stdout with the exit status the same error has without --json; stderr
 * stays empty.  Without --json the same errors are text on stderr.
 */
START_TEST(test_json_errors_on_stdout)
{
	int out, err;
	struct run r;
	pid_t pid;

	start();
	r = tpctl(ARGS("--json", "submit", "--wait", "no-such-plugin", "x"));
	json_error_expect(&r, 5, "\"ERROR_UNKNOWN_PLUGIN\"");
	run_free(&r);
	/* --json after the command counts too. */
	r = tpctl(ARGS("cancel", "999999", "--json"));
	json_error_expect(&r, 5, "\"ERROR_NO_SUCH_JOB\"");
	run_free(&r);
	r = tpctl(ARGS("--json", "submit"));
	json_error_expect(&r, 2, "\"usage\"");
	run_free(&r);
	r = tpctl(ARGS("--json", "submit", "--no-such-option", "echo", "x"));
	json_error_expect(&r, 2, "\"usage\"");
	ck_assert_ptr_nonnull(strstr(r.r_out, "--no-such-option"));
	run_free(&r);
	r = tpctl(ARGS("--json", "submit", "--cpu"));
	json_error_expect(&r, 2, "\"usage\"");
	run_free(&r);
	r = tpctl(ARGS("--json", "no-such-command"));
	json_error_expect(&r, 2, "\"usage\"");
	run_free(&r);
	r = tpctl(ARGS("--json"));
	json_error_expect(&r, 2, "\"usage\"");
	run_free(&r);
	r = tpctl(ARGS("--json", "submit", "--input-file", "/nonexistent/input", "echo"));
	json_error_expect(&r, 2, "\"input\"");
	run_free(&r);
	pid = tpctl_spawn(ARGS("-s", "/nonexistent/tpoold.sock", "--json", "plugins"), false,
	    &out, &err);
	r = tpctl_wait(pid, out, err);
	json_error_expect(&r, 3, "\"connect\"");
	run_free(&r);

	/* Without --json: text on stderr, nothing on stdout. */
	r = tpctl(ARGS("submit", "--wait", "no-such-plugin", "x"));
	ck_assert_int_eq(r.r_status, 5);
	ck_assert_str_eq(r.r_out, "");
	ck_assert_ptr_nonnull(strstr(r.r_err, "ERROR_UNKNOWN_PLUGIN"));
	run_free(&r);
	td_down(&D);
}
END_TEST

/* A pseudo-terminal: its master and its slave, both close-on-exec. */
static void
pty_open(int *ret_master, int *ret_slave)
{
	const char *sname;
	int mfd, sfd;

	mfd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(grantpt(mfd), 0);
	ck_assert_int_eq(unlockpt(mfd), 0);
	ck_assert_ptr_nonnull(sname = ptsname(mfd));
	sfd = open(sname, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(sfd, 0);
	*ret_master = mfd;
	*ret_slave = sfd;
}

/*
 * Run tpctl with stderr on a pseudo-terminal (so that it draws its progress
 * bar) and stdout on a pipe; everything written to the terminal is
 * returned in r_err.  *ret_ms: how long it ran.
 */
static struct run
tpctl_pty(const char *const *args, uint64_t *ret_ms)
{
	struct run r = { -1, NULL, NULL };
	size_t olen = 0, elen = 0;
	uint64_t t0 = tu_now_ms(), end = t0 + td_deadline_ms();
	struct pollfd pfd;
	int mfd, sfd, out[2], status;
	pid_t pid;

	pty_open(&mfd, &sfd);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	pid = tpctl_spawn_fds(args, true, -1, out[1], sfd);
	(void)close(out[1]);
	(void)close(sfd);
	/* Read the terminal until its last writer is gone (EIO), or too long. */
	pfd.fd = mfd;
	pfd.events = POLLIN;
	while (tu_now_ms() < end) {
		size_t before = elen;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		drain(mfd, &r.r_err, &elen);
		if (elen == before)
			break;
	}
	if (tu_now_ms() >= end)
		(void)kill(pid, SIGKILL);
	status = td_wait_exit(pid, 5000);
	*ret_ms = tu_now_ms() - t0;
	if (status != -1 && WIFEXITED(status))
		r.r_status = WEXITSTATUS(status);
	for (;;) {
		size_t before = olen;

		drain(out[0], &r.r_out, &olen);
		if (olen == before)
			break;
	}
	(void)close(out[0]);
	(void)close(mfd);
	if (r.r_out == NULL)
		r.r_out = strdup("");
	if (r.r_err == NULL)
		r.r_err = strdup("");
	return r;
}

/*
 * The progress bar of submit --wait is redrawn at most about 10 times a
 * second though the sleep plugin reports every 1 % (every 10 ms of a 1.5 s
 * job: some 150 reports), and its last report ("100%  done") is drawn.
 */
START_TEST(test_progress_bar_redrawn_at_most_ten_times_a_second)
{
	static const char done[] = "\r[##############################] 100%  done\033[K";
	const char *p, *last = NULL;
	unsigned int draws = 0;
	uint64_t ms;
	struct run r;

	start();
	r = tpctl_pty(ARGS("submit", "--wait", "sleep", "1500"), &ms);
	ck_assert_msg(r.r_status == 0, "exit %d: %s", r.r_status, r.r_err);
	ck_assert_str_eq(r.r_out, "slept 1500 ms\n");
	for (p = r.r_err; (p = strstr(p, "\r[")) != NULL; p++) {
		draws++;
		last = p;
	}
	/* One draw per 100 ms it ran, the first and the last. */
	ck_assert_msg(draws >= 5 && draws <= ms / 100 + 2,
	    "%u draws in %llu ms: %s", draws, (unsigned long long)ms, r.r_err);
	ck_assert_ptr_nonnull(last);
	ck_assert_msg(strncmp(last, done, strlen(done)) == 0,
	    "the last draw is not the job's last report: %s", last);
	run_free(&r);
	td_down(&D);
}
END_TEST

/* The wall clock, ms since the epoch. */
static uint64_t
wall_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A JSON member that is a number, as one. */
static uint64_t
json_u64(const char *text, const char *member)
{
	char *v = json_get(text, member), *end;
	uint64_t n;

	ck_assert_msg(v != NULL, "no member %s in %s", member, text);
	n = strtoull(v, &end, 10);
	ck_assert_msg(*end == '\0', "%s is not a number: %s", member, v);
	free(v);
	return n;
}

/* What tpctl status must print for ms under TZ=UTC. */
static void
iso_utc(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000u);
	struct tm tm;
	char date[32];

	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	ck_assert_uint_gt(strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm), 0);
	(void)snprintf(buf, len, "%s.%03u+00:00", date, (unsigned)(ms % 1000u));
}

/*
 * A job's wall-clock times: submitted, started and ended, in ms since the
 * epoch in JSON, within the test's own readings of the wall clock and in
 * order; in the text, each as local time in ISO 8601 (TZ=UTC here); a job
 * not started yet has only its submission time.
 */
/* out has the line label, then ms (give or take one) in ISO 8601 (UTC). */
static void
expect_iso_line(const char *out, const char *label, uint64_t ms)
{
	char line[96], iso[64];
	uint64_t t;

	for (t = ms - 1; t <= ms + 1; t++) {
		iso_utc(t, iso, sizeof(iso));
		(void)snprintf(line, sizeof(line), "%s%s\n", label, iso);
		if (strstr(out, line) != NULL)
			return;
	}
	iso_utc(ms, iso, sizeof(iso));
	ck_abort_msg("no '%s%s' (give or take 1 ms) in %s", label, iso, out);
}

START_TEST(test_status_wall_clock_times)
{
	uint64_t before, after, sub, sta, end, id;
	char *idtext;
	struct run r;

	ck_assert_int_eq(setenv("TZ", "UTC", 1), 0);
	start();
	before = wall_ms();
	r = tpctl(ARGS("--json", "submit", "--wait", "sleep", "200"));
	after = wall_ms();
	ck_assert_int_eq(r.r_status, 0);
	id = json_u64(r.r_out, "job_id");
	sub = json_u64(r.r_out, "submitted_unix_ms");
	sta = json_u64(r.r_out, "started_unix_ms");
	end = json_u64(r.r_out, "ended_unix_ms");
	/* The daemon's monotonic times through its offset: allow 1 ms. */
	ck_assert_msg(before <= sub + 1 && sub <= sta && sta <= end && end <= after + 1,
	    "before %llu submitted %llu started %llu ended %llu after %llu",
	    (unsigned long long)before, (unsigned long long)sub,
	    (unsigned long long)sta, (unsigned long long)end, (unsigned long long)after);
	ck_assert_uint_ge(end - sta, 190);
	run_free(&r);

	/*
	 * Each answer converts with the offset read as it is made, two clock
	 * readings apart: a time may land on the neighbouring millisecond.
	 */
	ck_assert_int_gt(asprintf(&idtext, "%llu", (unsigned long long)id), 0);
	r = tpctl(ARGS("status", idtext));
	ck_assert_int_eq(r.r_status, 0);
	expect_iso_line(r.r_out, "submitted:    ", sub);
	expect_iso_line(r.r_out, "started:      ", sta);
	expect_iso_line(r.r_out, "ended:        ", end);
	run_free(&r);
	free(idtext);

	/* Scheduled, not started: submitted only. */
	r = tpctl(ARGS("--json", "submit", "--delay", "1m", "echo", "later"));
	ck_assert_int_eq(r.r_status, 0);
	id = json_u64(r.r_out, "job_id");
	run_free(&r);
	ck_assert_int_gt(asprintf(&idtext, "%llu", (unsigned long long)id), 0);
	r = tpctl(ARGS("--json", "status", idtext));
	ck_assert_int_eq(r.r_status, 0);
	(void)json_u64(r.r_out, "submitted_unix_ms");
	ck_assert_ptr_null(json_get(r.r_out, "started_unix_ms"));
	ck_assert_ptr_null(json_get(r.r_out, "ended_unix_ms"));
	run_free(&r);
	free(idtext);
	(void)unsetenv("TZ");
	td_down(&D);
}
END_TEST

/*
 * tpctl top without a terminal: one frame, plain text (no escape
 * sequences), with the pools and the caller's running job, exit 0.
 */
START_TEST(test_top_without_terminal_prints_one_frame)
{
	uint64_t end;
	char *id;
	struct run r;

	start();
	r = tpctl(ARGS("submit", "--name", "topjob", "sleep", "20000"));
	ck_assert_int_eq(r.r_status, 0);
	id = strndup(r.r_out, strcspn(r.r_out, "\n"));
	run_free(&r);
	/* The job may still be queued at the first look. */
	for (end = tu_now_ms() + td_deadline_ms();; usleep(20000)) {
		r = tpctl(ARGS("top"));
		ck_assert_msg(r.r_status == 0, "exit %d: %s", r.r_status, r.r_err);
		if (strstr(r.r_out, "running") != NULL || tu_now_ms() > end)
			break;
		run_free(&r);
	}
	ck_assert_ptr_nonnull(strstr(r.r_out, "jobs: 1 accepted"));
	ck_assert_ptr_nonnull(strstr(r.r_out, "POOL"));
	ck_assert_ptr_nonnull(strstr(r.r_out, "unbound"));
	ck_assert_ptr_nonnull(strstr(r.r_out, id));
	ck_assert_ptr_nonnull(strstr(r.r_out, "running"));
	ck_assert_ptr_nonnull(strstr(r.r_out, "topjob"));
	ck_assert_ptr_null(strchr(r.r_out, '\033'));
	run_free(&r);
	r = tpctl(ARGS("top", "--json"));
	ck_assert_int_eq(r.r_status, 2);
	run_free(&r);
	free(id);
	td_down(&D);
}
END_TEST

/*
 * tpctl top on a pseudo-terminal: frames on the alternate screen until q
 * is typed, then exit 0 with the screen and the terminal's modes (echo,
 * line editing) put back.
 */
START_TEST(test_top_on_a_terminal_quits_on_q)
{
	uint64_t end;
	struct termios tio;
	char *out = NULL;
	size_t len = 0;
	int mfd, sfd, status = -1;
	bool sent = false;
	pid_t pid;

	start();
	pty_open(&mfd, &sfd);
	pid = tpctl_spawn_fds(ARGS("top", "--delay", "100ms"), true, sfd, sfd, sfd);
	end = tu_now_ms() + td_deadline_ms();
	while (tu_now_ms() < end) {
		struct pollfd pfd = { mfd, POLLIN, 0 };

		if (poll(&pfd, 1, 50) > 0)
			drain(mfd, &out, &len);
		/* Two frames drawn: raw mode is on; then q. */
		if (!sent && out != NULL && strstr(out, "POOL") != NULL &&
		    strstr(strstr(out, "POOL") + 4, "POOL") != NULL) {
			ck_assert_int_eq(write(mfd, "q", 1), 1);
			sent = true;
		}
		if (sent && waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	ck_assert_msg(sent, "no frame on the terminal: %s", out != NULL ? out : "");
	ck_assert_msg(status != -1, "tpctl top did not end on q");
	/* What it wrote last (we hold the slave open: no EOF, so poll). */
	for (;;) {
		struct pollfd pfd = { mfd, POLLIN, 0 };
		size_t before = len;

		if (poll(&pfd, 1, 100) <= 0)
			break;
		drain(mfd, &out, &len);
		if (len == before)
			break;
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	ck_assert_ptr_nonnull(strstr(out, "\033[?1049h"));
	ck_assert_ptr_nonnull(strstr(out, "\033[?1049l"));
	ck_assert_ptr_nonnull(strstr(out, "tpoold up"));
	ck_assert_int_eq(tcgetattr(sfd, &tio), 0);
	ck_assert((tio.c_lflag & ICANON) != 0 && (tio.c_lflag & ECHO) != 0);
	(void)close(sfd);
	(void)close(mfd);
	free(out);
	td_down(&D);
}
END_TEST

START_TEST(test_plugins_stats_status_list)
{
	struct run r;
	char *v;

	start();
	r = tpctl(ARGS("plugins"));
	ck_assert_int_eq(r.r_status, 0);
	ck_assert_ptr_nonnull(strstr(r.r_out, "echo"));
	ck_assert_ptr_nonnull(strstr(r.r_out, "sha256"));
	ck_assert_ptr_nonnull(strstr(r.r_out, "sleep"));
	ck_assert_ptr_nonnull(strstr(r.r_out, "fail"));
	run_free(&r);
	r = tpctl(ARGS("--json", "plugins"));
	ck_assert_int_eq(r.r_status, 0);
	v = json_get(r.r_out, "plugins");
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(strstr(v, "\"sha256\""));
	free(v);
	run_free(&r);

	r = tpctl(ARGS("submit", "--wait", "echo", "one"));
	ck_assert_int_eq(r.r_status, 0);
	run_free(&r);
	r = tpctl(ARGS("--json", "stats"));
	ck_assert_int_eq(r.r_status, 0);
	json_expect(r.r_out, "jobs_accepted", "1");
	json_expect(r.r_out, "jobs_succeeded", "1");
	json_expect(r.r_out, "plugins", "4");
	/* Every numeric setting, by its option name, as in effect. */
	v = json_get(r.r_out, "limits");
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(strstr(v, "{\"name\":\"max-connections-per-user\","
	    "\"value\":64,\"unit\":\"count\"}"));
	ck_assert_ptr_nonnull(strstr(v, "{\"name\":\"write-timeout\","
	    "\"value\":30000000000,\"unit\":\"ns\"}"));
	ck_assert_ptr_nonnull(strstr(v, "\"name\":\"memory-per-user\""));
	free(v);
	run_free(&r);
	r = tpctl(ARGS("stats"));
	ck_assert_int_eq(r.r_status, 0);
	ck_assert_ptr_nonnull(strstr(r.r_out, "  max-input                  1M\n"));
	ck_assert_ptr_nonnull(strstr(r.r_out, "  connection-idle-timeout    5m\n"));
	run_free(&r);
	r = tpctl(ARGS("--json", "status"));
	ck_assert_int_eq(r.r_status, 0);
	v = json_get(r.r_out, "jobs");
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(strstr(v, "\"echo\""));
	free(v);
	run_free(&r);
	td_down(&D);
}
END_TEST

/* A list longer than a page: tpctl fetches every page, prints one table. */
START_TEST(test_status_lists_every_page)
{
	enum { N = 1500 };
	struct tpc *c;
	struct run r;
	unsigned long long id, last = 0;
	unsigned int rows = 0;
	const char *p;
	char *v;

	ck_assert_msg(access(td_tpctl_path(), X_OK) == 0, "no tpctl at %s", td_tpctl_path());
	td_up(&D, ARGS("--finished-keep", "5000"));
	c = td_connect(&D);
	(void)td_pipeline_echo(c, N);
	tpc_free(c);
	r = tpctl(ARGS("status"));
	ck_assert_int_eq(r.r_status, 0);
	/* The header, then a row per job, oldest first. */
	ck_assert(strncmp(r.r_out, "JOB ", 4) == 0);
	for (p = strchr(r.r_out, '\n'); p != NULL && p[1] != '\0'; p = strchr(p + 1, '\n')) {
		ck_assert_int_eq(sscanf(p + 1, "%llu", &id), 1);
		ck_assert_uint_gt(id, last);
		last = id;
		rows++;
	}
	ck_assert_uint_eq(rows, N);
	run_free(&r);
	r = tpctl(ARGS("--json", "status"));
	ck_assert_int_eq(r.r_status, 0);
	v = json_get(r.r_out, "jobs");
	ck_assert_ptr_nonnull(v);
	for (rows = 0, p = v; (p = strstr(p, "\"job_id\":")) != NULL; p++)
		rows++;
	ck_assert_uint_eq(rows, N);
	free(v);
	run_free(&r);
	td_down(&D);
}
END_TEST

START_TEST(test_socket_from_environment)
{
	int out, err;
	struct run r;
	pid_t pid;

	start();
	ck_assert_int_eq(setenv("TPOOL_SOCKET", D.td_sock, 1), 0);
	pid = tpctl_spawn(ARGS("submit", "--wait", "echo", "env"), false, &out, &err);
	r = tpctl_wait(pid, out, err);
	ck_assert_int_eq(r.r_status, 0);
	ck_assert_str_eq(r.r_out, "env\n");
	run_free(&r);
	ck_assert_int_eq(unsetenv("TPOOL_SOCKET"), 0);
	td_down(&D);
}
END_TEST

static Suite *
tpctl_suite(void)
{
	Suite *s = suite_create("daemon-tpctl");
	TCase *tc;

	tc = tcase_create("tpctl");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_json_parser_is_strict);
	tcase_add_test(tc, test_submit_wait_prints_result);
	tcase_add_test(tc, test_submit_delay_and_at);
	tcase_add_test(tc, test_wait_survives_a_restart);
	tcase_add_test(tc, test_exit_status_of_failed_and_cancelled_jobs);
	tcase_add_test(tc, test_exit_status_of_errors);
	tcase_add_test(tc, test_json_errors_on_stdout);
	tcase_add_test(tc, test_status_wall_clock_times);
	tcase_add_test(tc, test_top_without_terminal_prints_one_frame);
	tcase_add_test(tc, test_top_on_a_terminal_quits_on_q);
	tcase_add_test(tc, test_progress_bar_redrawn_at_most_ten_times_a_second);
	tcase_add_test(tc, test_plugins_stats_status_list);
	tcase_add_test(tc, test_status_lists_every_page);
	tcase_add_test(tc, test_socket_from_environment);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return td_main(tpctl_suite());
}
