/*
 * ctl-util.c -- helpers shared by tpctl's commands: connecting and turning
 * library errors into messages and exit codes, parsing ids, printing jobs
 * for people and as JSON, the progress bar while waiting on a job.
 *
 * Output rules (tpctl(1)): results go to stdout, diagnostics and the
 * progress bar to stderr; under --json every error is one JSON object on
 * stdout instead (ctl_errorv, the one place errors are printed) and
 * nothing is written to stderr but the progress bar.  A result is
 * printed as it is when it is text (valid UTF-8 without control
 * characters other than tab and newline), else as hex; --raw writes its
 * bytes untouched.  JSON carries a result as "result_base64" always and
 * as "result" too when it is valid UTF-8.
 *
 * (Over 800 lines: it is the one place the output rules above are kept,
 * and every ctl-*.c command calls these helpers rather than printing on
 * its own; the file holds no state, only helpers.)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "utf8.h"

/* tpoold's --max-result goes up to 256 MiB; its JobInfo around it is small. */
#define	CTL_MAX_FRAME	((256u + 1u) << 20)

const char ctl_exit_help[] =
    "Exit status:\n"
    "  0  success (a job waited for succeeded)\n"
    "  1  the job failed\n"
    "  2  usage error\n"
    "  3  cannot connect to the daemon, connection lost, or protocol error\n"
    "  4  the job was cancelled\n"
    "  5  the daemon answered an error (unknown plugin or job, not yours, "
    "...)\n";

/* --------------------------------------------------------------- messages */

/*
 * Every error tpctl reports comes here.  With --json: one line
 * {"error":{"code":CODE,"message":MESSAGE}} on stdout; else
 * "tpctl CMD: MESSAGE" on stderr.
 */
static void
ctl_errorv(const struct ctl_ctx *ctx, const char *code, const char *fmt,
    va_list ap)
{
	char *msg = NULL;	/* ours: vasprintf's */

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (ctx->cc_json) {
		(void)fputs("{\"error\":{\"code\":", stdout);
		ctl_json_string(stdout, code);
		(void)fputs(",\"message\":", stdout);
		ctl_json_string(stdout, msg != NULL ? msg : fmt);
		(void)fputs("}}\n", stdout);
		(void)fflush(stdout);
	} else {
		(void)fflush(stdout);
		if (ctx->cc_cmd != NULL)
			(void)fprintf(stderr, "tpctl %s: ", ctx->cc_cmd);
		else
			(void)fputs("tpctl: ", stderr);
		(void)fprintf(stderr, "%s\n", msg != NULL ? msg : fmt);
	}
	free(msg);
}

void
ctl_error(const struct ctl_ctx *ctx, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_errorv(ctx, code, fmt, ap);
	va_end(ap);
}

void
ctl_warnx(const struct ctl_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->cc_json)
		return;
	(void)fflush(stdout);
	if (ctx->cc_cmd != NULL)
		(void)fprintf(stderr, "tpctl %s: ", ctx->cc_cmd);
	else
		(void)fputs("tpctl: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
}

int
ctl_usage_error(const struct ctl_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_errorv(ctx, CTL_ERR_USAGE, fmt, ap);
	va_end(ap);
	if (!ctx->cc_json)
		(void)fprintf(stderr, "Try 'tpctl %s%s--help'.\n",
		    ctx->cc_cmd != NULL ? ctx->cc_cmd : "",
		    ctx->cc_cmd != NULL ? " " : "");
	return CTL_EXIT_USAGE;
}

bool
ctl_json_wanted(int argc, char **argv)
{
	int i;

	/* As getopt_long reads them: options may follow operands, not "--". */
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			return true;
	return false;
}

int
ctl_cmd_help(const struct ctl_cmd *cmd)
{
	(void)printf("Usage: tpctl [-s PATH] [--json] %s %s\n\n%s\n\n%s\n"
	    "Common options:\n"
	    "      --json         print JSON for scripts\n"
	    "  -h, --help         show this help\n\n%s",
	    cmd->cmd_name, cmd->cmd_args, cmd->cmd_summary, cmd->cmd_help,
	    ctl_exit_help);
	return CTL_EXIT_OK;
}

int
ctl_fail(const struct ctl_ctx *ctx, int error, const char *what)
{
	Tpool__ErrorCode code;
	const char *msg;

	if (error == TPC_EDAEMON && ctx->cc_conn != NULL) {
		code = tpc_last_error(ctx->cc_conn, &msg);
		if (ctx->cc_json)
			ctl_error(ctx, tp_error_name(code), "%s", *msg == '\0' ?
			    "the daemon refused" : msg);
		else
			ctl_error(ctx, NULL, "%s%s (%s)", msg,
			    *msg == '\0' ? "the daemon refused" : "",
			    tp_error_name(code));
		return CTL_EXIT_DAEMON;
	}
	if (error == ECONNRESET || error == EPIPE)
		ctl_error(ctx, CTL_ERR_CONNECTION,
		    "%s: the daemon closed the connection", what);
	else
		ctl_error(ctx, CTL_ERR_CONNECTION, "%s: %s", what,
		    tpc_strerror(error));
	return CTL_EXIT_CONN;
}

/* The monotonic clock, ms. */
static uint64_t
ctl_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Is error one a restarting daemon gives (worth trying again)? */
static bool
ctl_restarting(int error)
{
	return error == ENOENT || error == ECONNREFUSED ||
	    error == ECONNRESET || error == EPIPE || error == ECONNABORTED;
}

int
ctl_connect(struct ctl_ctx *ctx)
{
	struct timespec pause = { 0, 100 * 1000000 };
	Tpool__HelloReply *hr;
	const char *path;
	uint64_t end;
	int error, ex;

	path = ctx->cc_socket != NULL ? ctx->cc_socket : tpc_default_path();
	end = ctl_now_ms() + ctx->cc_reconnect_ms;
	while ((error = tpc_open(path, &ctx->cc_conn)) != 0 &&
	    ctl_restarting(error) && ctl_now_ms() < end)
		(void)nanosleep(&pause, NULL);
	if (error != 0) {
		ctl_error(ctx, CTL_ERR_CONNECT, "cannot connect to %s: %s",
		    path, tpc_strerror(error));
		return CTL_EXIT_CONN;
	}
	/* Results may be as large as any daemon's --max-result allows. */
	(void)tpc_set_max_frame(ctx->cc_conn, CTL_MAX_FRAME);
	if ((error = tpc_hello(ctx->cc_conn, "tpctl", &hr)) != 0) {
		if (error == TPC_EDAEMON) {
			(void)ctl_fail(ctx, error, "hello");
			ex = CTL_EXIT_CONN;	/* refused at the door */
		} else {
			ex = ctl_fail(ctx, error, path);
		}
		tpc_free(ctx->cc_conn);
		ctx->cc_conn = NULL;
		return ex;
	}
	ctx->cc_max_frame = hr->has_max_frame ? hr->max_frame : 0;
	tpool__hello_reply__free_unpacked(hr, NULL);
	return CTL_EXIT_OK;
}

/* --------------------------------------------------------------- parsing */

int
ctl_one_job_id(struct ctl_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return ctl_usage_error(ctx, "one JOBID, please");
	if (!ctl_parse_job_id(argv[0], &ctx->cc_job))
		return ctl_usage_error(ctx, "'%s' is not a job id", argv[0]);
	return CTL_EXIT_OK;
}

int
ctl_no_operands(struct ctl_ctx *ctx, int argc, char **argv)
{
	if (argc != 0)
		return ctl_usage_error(ctx, "no arguments, please");
	return CTL_EXIT_OK;
}

bool
ctl_parse_job_id(const char *s, uint64_t *ret_id)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return false;
	*ret_id = (uint64_t)v;
	return true;
}

bool
ctl_parse_int(const char *s, long min, long max, int *ret_v)
{
	long v;
	char *end;

	if (*s == '\0')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*ret_v = (int)v;
	return true;
}

bool
ctl_parse_at(const char *s, uint64_t *ret_ms)
{
	static const char *const full[] = { "%Y-%m-%d %H:%M:%S",
	    "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", NULL };
	static const char *const day[] = { "%H:%M:%S", "%H:%M", NULL };
	struct timespec now;
	struct tm tm, today;
	unsigned long long secs;
	const char *end = NULL;
	char *e;
	time_t t, n;
	int64_t ms;
	size_t i;

	(void)clock_gettime(CLOCK_REALTIME, &now);
	n = now.tv_sec;
	if (s[0] == '@') {
		if (s[1] < '0' || s[1] > '9')
			return false;
		errno = 0;
		secs = strtoull(s + 1, &e, 10);
		if (errno != 0 || *e != '\0' || secs > (unsigned long long)
		    INT64_MAX / 1000)
			return false;
		t = (time_t)secs;
		goto got;
	}
	for (i = 0; full[i] != NULL; i++) {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, full[i], &tm)) != NULL && *end == '\0')
			break;
	}
	if (full[i] != NULL) {
		tm.tm_isdst = -1;
		if ((t = mktime(&tm)) == (time_t)-1)
			return false;
		goto got;
	}
	for (i = 0; day[i] != NULL; i++) {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, day[i], &tm)) != NULL && *end == '\0')
			break;
	}
	if (day[i] == NULL || localtime_r(&n, &today) == NULL)
		return false;
	/* Today at that time, or tomorrow if it has passed. */
	today.tm_hour = tm.tm_hour;
	today.tm_min = tm.tm_min;
	today.tm_sec = tm.tm_sec;
	today.tm_isdst = -1;
	if ((t = mktime(&today)) == (time_t)-1)
		return false;
	if (t <= n) {
		today.tm_mday++;
		today.tm_isdst = -1;
		if ((t = mktime(&today)) == (time_t)-1)
			return false;
	}
got:
	ms = ((int64_t)t - (int64_t)n) * 1000 - now.tv_nsec / 1000000;
	if (ms > (int64_t)(30ull * 86400000))
		return false;
	*ret_ms = ms > 0 ? (uint64_t)ms : 0;
	return true;
}

bool
ctl_parse_ms(const char *s, uint64_t *ret_ms)
{
	static const struct {
		const char	*u;
		uint64_t	ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "", 1000 },
	    { "m", 60000 }, { "h", 3600000 } };
	unsigned long long v;
	char *end;
	size_t i;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return false;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].u) == 0) {
			if (v > 30ull * 86400000 / units[i].ms)
				return false;
			*ret_ms = v * units[i].ms;
			return true;
		}
	return false;
}

/* ----------------------------------------------------------------- names */

const char *
ctl_cancel_result_name(Tpool__CancelResult r)
{
	switch (r) {
	case TPOOL__CANCEL_RESULT__CANCEL_BEFORE_RUN:	return "before-run";
	case TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE:	return "too-late";
	case TPOOL__CANCEL_RESULT__CANCEL_ALREADY_FINISHED:
		return "already-finished";
	default:					return "unknown";
	}
}

int
ctl_state_exit(Tpool__JobState s)
{
	switch (s) {
	case TPOOL__JOB_STATE__JOB_FAILED:	return CTL_EXIT_JOB_FAILED;
	case TPOOL__JOB_STATE__JOB_CANCELLED:	return CTL_EXIT_CANCELLED;
	case TPOOL__JOB_STATE__JOB_EXPIRED:	return CTL_EXIT_EXPIRED;
	case TPOOL__JOB_STATE__JOB_TIMED_OUT:	return CTL_EXIT_TIMED_OUT;
	case TPOOL__JOB_STATE__JOB_INTERRUPTED:	return CTL_EXIT_INTERRUPTED;
	default:				return CTL_EXIT_OK;
	}
}

/* ---------------------------------------------------------- bytes, text */

static bool
utf8_valid(const uint8_t *p, size_t n)
{
	size_t i, l;

	for (i = 0; i < n; i += l) {
		if ((l = tp_utf8_next(p + i, n - i, NULL)) == 0)
			return false;
	}
	return true;
}

bool
ctl_is_text(const uint8_t *p, size_t n)
{
	size_t i, l;

	for (i = 0; i < n; i += l) {
		if ((l = tp_utf8_next(p + i, n - i, NULL)) == 0)
			return false;
		if (l == 1 && ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' &&
		    p[i] != '\r') || p[i] == 0x7f))
			return false;
	}
	return true;
}

void
ctl_print_result(const struct ctl_ctx *ctx, FILE *f,
    const ProtobufCBinaryData *r)
{
	size_t i;

	if (ctx->cc_raw) {
		if (r->len > 0)
			(void)fwrite(r->data, 1, r->len, f);
		return;
	}
	if (ctl_is_text(r->data, r->len)) {
		if (r->len > 0)
			(void)fwrite(r->data, 1, r->len, f);
		if (r->len == 0 || r->data[r->len - 1] != '\n')
			(void)fputc('\n', f);
		return;
	}
	for (i = 0; i < r->len; i++)
		(void)fprintf(f, "%02x", r->data[i]);
	(void)fputc('\n', f);
}

void
ctl_print_ns(FILE *f, uint64_t ns)
{
	if (ns < 1000)
		(void)fprintf(f, "%llu ns", (unsigned long long)ns);
	else if (ns < UINT64_C(1000000))
		(void)fprintf(f, "%.1f us", (double)ns / 1e3);
	else if (ns < UINT64_C(1000000000))
		(void)fprintf(f, "%.1f ms", (double)ns / 1e6);
	else
		(void)fprintf(f, "%.2f s", (double)ns / 1e9);
}

/* ------------------------------------------------------------------ JSON */

/* Write p[0..n) inside a JSON string; invalid UTF-8 becomes U+FFFD. */
static void
json_chars(FILE *f, const uint8_t *p, size_t n)
{
	size_t i, l;

	for (i = 0; i < n; i += l) {
		l = tp_utf8_next(p + i, n - i, NULL);
		if (l == 0) {
			(void)fputs("\\ufffd", f);
			l = 1;
			continue;
		}
		if (l > 1) {
			(void)fwrite(p + i, 1, l, f);
			continue;
		}
		switch (p[i]) {
		case '"':	(void)fputs("\\\"", f); break;
		case '\\':	(void)fputs("\\\\", f); break;
		case '\b':	(void)fputs("\\b", f); break;
		case '\f':	(void)fputs("\\f", f); break;
		case '\n':	(void)fputs("\\n", f); break;
		case '\r':	(void)fputs("\\r", f); break;
		case '\t':	(void)fputs("\\t", f); break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7f)
				(void)fprintf(f, "\\u%04x", p[i]);
			else
				(void)fputc(p[i], f);
		}
	}
}

void
ctl_json_string(FILE *f, const char *s)
{
	if (s == NULL) {
		(void)fputs("null", f);
		return;
	}
	(void)fputc('"', f);
	json_chars(f, (const uint8_t *)s, strlen(s));
	(void)fputc('"', f);
}

void
ctl_json_bytes(FILE *f, const uint8_t *p, size_t n)
{
	(void)fputc('"', f);
	json_chars(f, p, n);
	(void)fputc('"', f);
}

void
ctl_json_base64(FILE *f, const uint8_t *p, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t v;
	size_t i;

	(void)fputc('"', f);
	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		(void)fputc(b64[v >> 18 & 63], f);
		(void)fputc(b64[v >> 12 & 63], f);
		(void)fputc(b64[v >> 6 & 63], f);
		(void)fputc(b64[v & 63], f);
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		(void)fputc(b64[v >> 18 & 63], f);
		(void)fputc(b64[v >> 12 & 63], f);
		(void)fputs("==", f);
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		(void)fputc(b64[v >> 18 & 63], f);
		(void)fputc(b64[v >> 12 & 63], f);
		(void)fputc(b64[v >> 6 & 63], f);
		(void)fputc('=', f);
	}
	(void)fputc('"', f);
}

void
ctl_json_job(FILE *f, const Tpool__JobInfo *j)
{
	(void)fprintf(f, "{\"job_id\":%llu", (unsigned long long)j->job_id);
	(void)fputs(",\"state\":", f);
	ctl_json_string(f, tp_state_name(j->state));
	if (j->plugin != NULL) {
		(void)fputs(",\"plugin\":", f);
		ctl_json_string(f, j->plugin);
	}
	if (j->name != NULL) {
		(void)fputs(",\"name\":", f);
		ctl_json_string(f, j->name);
	}
	if (j->has_pool) {
		(void)fputs(",\"pool\":", f);
		ctl_json_string(f, tp_pool_name(j->pool));
	}
	if (j->has_priority)
		(void)fprintf(f, ",\"priority\":%d", (int)j->priority);
	if (j->has_cpu)
		(void)fprintf(f, ",\"cpu\":%d", (int)j->cpu);
	if (j->has_uid)
		(void)fprintf(f, ",\"uid\":%u", (unsigned)j->uid);
	if (j->has_progress)
		(void)fprintf(f, ",\"progress\":%u", (unsigned)j->progress);
	if (j->has_cancel_requested)
		(void)fprintf(f, ",\"cancel_requested\":%s",
		    j->cancel_requested ? "true" : "false");
	if (j->has_result) {
		if (utf8_valid(j->result.data, j->result.len)) {
			(void)fputs(",\"result\":", f);
			ctl_json_bytes(f, j->result.data, j->result.len);
		}
		(void)fputs(",\"result_base64\":", f);
		ctl_json_base64(f, j->result.data, j->result.len);
	}
	if (j->message != NULL) {
		(void)fputs(",\"message\":", f);
		ctl_json_string(f, j->message);
	}
	if (j->has_queue_ns)
		(void)fprintf(f, ",\"queue_ns\":%llu",
		    (unsigned long long)j->queue_ns);
	if (j->has_run_ns)
		(void)fprintf(f, ",\"run_ns\":%llu",
		    (unsigned long long)j->run_ns);
	if (j->has_cpu_ns)
		(void)fprintf(f, ",\"cpu_ns\":%llu",
		    (unsigned long long)j->cpu_ns);
	if (j->has_ran_on_cpu)
		(void)fprintf(f, ",\"ran_on_cpu\":%d", (int)j->ran_on_cpu);
	if (j->has_delay_left_ms)
		(void)fprintf(f, ",\"delay_left_ms\":%llu",
		    (unsigned long long)j->delay_left_ms);
	if (j->has_attempt)
		(void)fprintf(f, ",\"attempt\":%u", (unsigned)j->attempt);
	if (j->has_retries)
		(void)fprintf(f, ",\"retries\":%u", (unsigned)j->retries);
	if (j->has_submitted_unix_ms)
		(void)fprintf(f, ",\"submitted_unix_ms\":%llu",
		    (unsigned long long)j->submitted_unix_ms);
	if (j->has_started_unix_ms)
		(void)fprintf(f, ",\"started_unix_ms\":%llu",
		    (unsigned long long)j->started_unix_ms);
	if (j->has_ended_unix_ms)
		(void)fprintf(f, ",\"ended_unix_ms\":%llu",
		    (unsigned long long)j->ended_unix_ms);
	if (j->unique_key != NULL) {
		(void)fputs(",\"unique_key\":", f);
		ctl_json_string(f, j->unique_key);
	}
	(void)fputc('}', f);
}

/* ------------------------------------------------------------------ text */

void
ctl_print_unix_ms(FILE *f, const char *label, uint64_t ms)
{
	char date[64], zone[8];
	time_t t = (time_t)(ms / 1000u);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
	    strftime(zone, sizeof(zone), "%z", &tm) != 5) {
		(void)fprintf(f, "%s@%llu.%03u\n", label,
		    (unsigned long long)(ms / 1000u), (unsigned)(ms % 1000u));
		return;
	}
	/* ISO 8601's extended form writes the offset +hh:mm. */
	(void)fprintf(f, "%s%s.%03u%.3s:%s\n", label, date,
	    (unsigned)(ms % 1000u), zone, zone + 3);
}

void
ctl_text_job(const struct ctl_ctx *ctx, FILE *f, const Tpool__JobInfo *j)
{
	(void)fprintf(f, "job:          %llu\n", (unsigned long long)j->job_id);
	(void)fprintf(f, "state:        %s%s\n", tp_state_name(j->state),
	    j->has_cancel_requested && j->cancel_requested &&
	    (j->state == TPOOL__JOB_STATE__JOB_QUEUED ||
	    j->state == TPOOL__JOB_STATE__JOB_RUNNING) ?
	    " (cancel requested)" : "");
	if (j->has_attempt && j->has_retries && j->retries > 0)
		(void)fprintf(f, "attempt:      %u of at most %u\n",
		    (unsigned)j->attempt, (unsigned)j->retries + 1);
	if (j->unique_key != NULL)
		(void)fprintf(f, "unique key:   %s\n", j->unique_key);
	if (j->has_delay_left_ms) {
		(void)fputs("queued in:    ", f);
		ctl_print_ns(f, j->delay_left_ms * 1000000u);
		(void)fputc('\n', f);
	}
	if (j->plugin != NULL)
		(void)fprintf(f, "plugin:       %s\n", j->plugin);
	if (j->name != NULL)
		(void)fprintf(f, "name:         %s\n", j->name);
	if (j->has_pool) {
		if (j->pool == TPOOL__POOL_KIND__POOL_PERCPU && j->has_cpu &&
		    j->cpu >= 0)
			(void)fprintf(f, "pool:         percpu, CPU %d\n",
			    (int)j->cpu);
		else
			(void)fprintf(f, "pool:         %s\n",
			    tp_pool_name(j->pool));
	}
	if (j->has_priority) {
		if (j->priority == -1)
			(void)fputs("priority:     none\n", f);
		else
			(void)fprintf(f, "priority:     %d\n",
			    (int)j->priority);
	}
	if (j->has_uid)
		(void)fprintf(f, "uid:          %u\n", (unsigned)j->uid);
	if (j->has_progress &&
	    j->state == TPOOL__JOB_STATE__JOB_RUNNING)
		(void)fprintf(f, "progress:     %u%%\n", (unsigned)j->progress);
	if (j->has_ran_on_cpu && j->ran_on_cpu >= 0)
		(void)fprintf(f, "ran on CPU:   %d\n", (int)j->ran_on_cpu);
	if (j->has_submitted_unix_ms)
		ctl_print_unix_ms(f, "submitted:    ", j->submitted_unix_ms);
	if (j->has_started_unix_ms)
		ctl_print_unix_ms(f, "started:      ", j->started_unix_ms);
	if (j->has_ended_unix_ms)
		ctl_print_unix_ms(f, "ended:        ", j->ended_unix_ms);
	if (j->has_queue_ns) {
		(void)fputs("queued for:   ", f);
		ctl_print_ns(f, j->queue_ns);
		(void)fputc('\n', f);
	}
	if (j->has_run_ns) {
		(void)fputs("ran for:      ", f);
		ctl_print_ns(f, j->run_ns);
		(void)fputc('\n', f);
	}
	if (j->has_cpu_ns) {
		(void)fputs("CPU time:     ", f);
		ctl_print_ns(f, j->cpu_ns);
		(void)fputc('\n', f);
	}
	if (j->message != NULL)
		(void)fprintf(f, "message:      %s\n", j->message);
	if (j->has_result) {
		(void)fprintf(f, "result:       %s", ctx->cc_raw ? "" :
		    ctl_is_text(j->result.data, j->result.len) ? "" : "(hex) ");
		ctl_print_result(ctx, f, &j->result);
		if (ctx->cc_raw)
			(void)fputc('\n', f);
	}
}

int
ctl_report_final(const struct ctl_ctx *ctx, const Tpool__JobInfo *j)
{
	int ex;

	ex = ctl_state_exit(j->state);
	if (ctx->cc_json) {
		ctl_json_job(stdout, j);
		(void)fputc('\n', stdout);
		return ex;
	}
	switch (j->state) {
	case TPOOL__JOB_STATE__JOB_SUCCEEDED:
		if (j->has_result)
			ctl_print_result(ctx, stdout, &j->result);
		break;
	case TPOOL__JOB_STATE__JOB_FAILED:
		ctl_warnx(ctx, "job %llu failed: %s",
		    (unsigned long long)j->job_id,
		    j->message != NULL ? j->message : "(no message)");
		break;
	case TPOOL__JOB_STATE__JOB_TIMED_OUT:
		ctl_warnx(ctx, "job %llu timed out: %s",
		    (unsigned long long)j->job_id,
		    j->message != NULL ? j->message : "its time was up");
		break;
	case TPOOL__JOB_STATE__JOB_INTERRUPTED:
		ctl_warnx(ctx, "job %llu interrupted: %s",
		    (unsigned long long)j->job_id,
		    j->message != NULL ? j->message : "the daemon stopped");
		break;
	case TPOOL__JOB_STATE__JOB_EXPIRED:
		ctl_warnx(ctx, "job %llu expired: %s",
		    (unsigned long long)j->job_id,
		    j->message != NULL ? j->message : "its deadline passed");
		break;
	case TPOOL__JOB_STATE__JOB_CANCELLED:
		if (j->message != NULL && *j->message != '\0')
			ctl_warnx(ctx, "job %llu cancelled: %s",
			    (unsigned long long)j->job_id, j->message);
		else
			ctl_warnx(ctx, "job %llu cancelled",
			    (unsigned long long)j->job_id);
		break;
	default:
		ctl_warnx(ctx, "job %llu is %s", (unsigned long long)j->job_id,
		    tp_state_name(j->state));
		break;
	}
	return ex;
}

/* ----------------------------------------------------------- waiting */

#define	BAR_WIDTH	30
#define	BAR_MSG_MAX	CTL_BAR_MSG_MAX	/* the bar shows this much of a message */
/*
 * The bar is drawn at most once in this long (10 times a second): a job
 * may report progress thousands of times a second, and a terminal that
 * redraws each is slow and flickers.  A report that comes sooner is kept
 * and drawn by the next report after the interval, or at the job's end.
 */
#define	BAR_INTERVAL_MS	100


static void
bar_draw(struct ctl_waiter *w, unsigned pct, const char *msg)
{
	char bar[BAR_WIDTH + 1];
	unsigned i, fill;

	if (pct > 100)
		pct = 100;
	fill = pct * BAR_WIDTH / 100;
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	/* \033[K clears what a longer message left behind. */
	(void)fprintf(stderr, "\r[%s] %3u%%%s%.*s\033[K", bar, pct,
	    msg != NULL && *msg != '\0' ? "  " : "", BAR_MSG_MAX,
	    msg != NULL ? msg : "");
	(void)fflush(stderr);
	w->w_drawn = true;
	w->w_drawn_ms = ctl_now_ms();
	w->w_pending = false;
}

/* A progress report: drawn now, or kept if the bar was drawn too lately. */
void
ctl_bar_update(struct ctl_waiter *w, unsigned pct, const char *msg)
{
	if (w->w_drawn_ms == 0 ||
	    ctl_now_ms() - w->w_drawn_ms >= BAR_INTERVAL_MS) {
		bar_draw(w, pct, msg);
		return;
	}
	w->w_pending = true;
	w->w_pending_pct = pct;
	(void)snprintf(w->w_pending_msg, sizeof(w->w_pending_msg), "%s",
	    msg != NULL ? msg : "");
}

/* The wait is over: the last report is drawn, whenever it came. */
void
ctl_bar_flush(struct ctl_waiter *w)
{
	if (w->w_pending)
		bar_draw(w, w->w_pending_pct, w->w_pending_msg);
}

void
ctl_bar_clear(struct ctl_waiter *w)
{
	if (!w->w_drawn)
		return;
	(void)fputs("\r\033[K", stderr);
	(void)fflush(stderr);
	w->w_drawn = false;
}

static void
wait_event(const Tpool__Event *ev, void *arg)
{
	struct ctl_waiter *w = arg;

	if (w->w_json) {
		if (ev->kind_case == TPOOL__EVENT__KIND_STARTED) {
			(void)printf("{\"event\":\"started\",\"job_id\":%llu",
			    (unsigned long long)ev->job_id);
			if (ev->started->has_cpu)
				(void)printf(",\"cpu\":%d",
				    (int)ev->started->cpu);
			if (ev->started->has_queue_ns)
				(void)printf(",\"queue_ns\":%llu",
				    (unsigned long long)ev->started->queue_ns);
			if (ev->started->has_attempt)
				(void)printf(",\"attempt\":%u",
				    (unsigned)ev->started->attempt);
			(void)puts("}");
		} else if (ev->kind_case == TPOOL__EVENT__KIND_PROGRESS) {
			(void)printf("{\"event\":\"progress\",\"job_id\":%llu,"
			    "\"percent\":%u", (unsigned long long)ev->job_id,
			    (unsigned)ev->progress->percent);
			if (ev->progress->message != NULL) {
				(void)fputs(",\"message\":", stdout);
				ctl_json_string(stdout, ev->progress->message);
			}
			(void)puts("}");
		}
		(void)fflush(stdout);
	}
	if (w->w_bar && ev->kind_case == TPOOL__EVENT__KIND_PROGRESS)
		ctl_bar_update(w, ev->progress->percent, ev->progress->message);
}

void
ctl_waiter_init(struct ctl_waiter *w, struct ctl_ctx *ctx)
{
	memset(w, 0, sizeof(*w));
	w->w_ctx = ctx;
	w->w_bar = isatty(STDERR_FILENO) == 1;
}

/*
 * The connection was lost while waiting for job_id: connect again (within
 * --reconnect) and watch it.  CTL_EXIT_OK and *ret_final when it has
 * ended meanwhile (else NULL: wait on), or an exit status.
 */
static int
ctl_resume(struct ctl_ctx *ctx, uint64_t job_id, Tpool__JobInfo **ret_final)
{
	Tpool__WatchReply *wr;
	int ex, error;

	*ret_final = NULL;
	tpc_free(ctx->cc_conn);
	ctx->cc_conn = NULL;
	ctl_warnx(ctx, "the connection was lost while waiting for job %llu; "
	    "connecting again", (unsigned long long)job_id);
	if ((ex = ctl_connect(ctx)) != CTL_EXIT_OK)
		return ex;
	if ((error = tpc_watch(ctx->cc_conn, job_id, &wr)) != 0) {
		if (error == TPC_EDAEMON && tpc_last_error(ctx->cc_conn, NULL) ==
		    TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB) {
			ctl_error(ctx, tp_error_name(
			    TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB),
			    "the daemon does not know job %llu any more (a "
			    "daemon without a job store loses its jobs when it "
			    "stops)", (unsigned long long)job_id);
			return CTL_EXIT_DAEMON;
		}
		return ctl_fail(ctx, error, "watch");
	}
	if (wr->job != NULL && tp_state_is_final(wr->job->state)) {
		*ret_final = wr->job;
		wr->job = NULL;
	}
	tpool__watch_reply__free_unpacked(wr, NULL);
	return CTL_EXIT_OK;
}

int
ctl_wait_job(struct ctl_ctx *ctx, uint64_t job_id, bool json_events,
    Tpool__JobInfo **ret_final)
{
	struct ctl_waiter w;
	int ex, error;

	ctl_waiter_init(&w, ctx);
	w.w_json = json_events && ctx->cc_json;
	for (;;) {
		error = tpc_wait_job(ctx->cc_conn, job_id, ret_final,
		    wait_event, &w);
		ctl_bar_flush(&w);
		ctl_bar_clear(&w);
		if (error == 0)
			return CTL_EXIT_OK;
		if (!ctl_restarting(error) || ctx->cc_reconnect_ms == 0)
			return ctl_fail(ctx, error, "waiting for the job");
		/* A restart: the job is found again (a daemon with a store). */
		if ((ex = ctl_resume(ctx, job_id, ret_final)) != CTL_EXIT_OK)
			return ex;
		if (*ret_final != NULL)
			return CTL_EXIT_OK;
	}
}

/* ------------------------------------------------------------- files */

int
ctl_read_file(const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len)
{
	uint8_t *buf, *n;
	size_t len, cap;
	ssize_t r;
	int fd, error;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno;
	buf = NULL;
	len = cap = 0;
	error = 0;
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			if ((n = realloc(buf, cap)) == NULL) {
				error = ENOMEM;
				break;
			}
			buf = n;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			error = errno;
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			error = EFBIG;
			break;
		}
	}
	if (fd != STDIN_FILENO)
		(void)close(fd);
	if (error != 0) {
		free(buf);
		return error;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}
