/*
 * ctl-top.c -- tpctl top: a live view of the daemon, redrawn every
 * --delay (500 ms): its counters and rates, each pool's threads and queue,
 * and the caller's queued and running jobs with progress and age.
 *
 * Each frame is one Stats request and the first page of Status (the
 * newest 1000 of the caller's jobs; root sees its own, as with status).
 * Rates are over the last interval; the first frame's are over the
 * daemon's uptime.
 *
 * On a terminal (stdout) it draws on the alternate screen with plain ANSI
 * sequences and reads keys from stdin in raw mode (no echo, no line
 * buffering): q quits.  The terminal is put back on every way out: q, an
 * error, and SIGINT, SIGTERM, SIGHUP (after which the signal is raised
 * again with its default action).  When stdout is not a terminal it prints
 * one frame and exits.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "names.h"

#define	TOP_DELAY_MS	500	/* default interval */
#define	TOP_MAX_JOBS	20	/* job rows shown */

static const struct option top_opts[] = {
	{ "delay",	required_argument,	NULL, 'd' },
	{ NULL,		0,			NULL, 0 },
};

static uint64_t	top_delay_ms = TOP_DELAY_MS;	/* --delay */

/* The terminal's settings before raw mode, and whether to put them back. */
static struct termios	top_saved_tio;
static bool		top_tio_saved;
static volatile sig_atomic_t top_signal;	/* a signal asked us to stop */

/* The previous frame's totals, for the rates. */
struct top_prev {
	uint64_t	tp_ms;		/* CLOCK_MONOTONIC; 0: no frame yet */
	uint64_t	tp_accepted;
	uint64_t	tp_finished;
};

static int
top_option(struct ctl_ctx *ctx, int opt, const char *arg)
{
	if (opt == 'd' && ctl_parse_ms(arg, &top_delay_ms) &&
	    top_delay_ms >= 100)
		return CTL_EXIT_OK;
	if (opt == 'd')
		return ctl_usage_error(ctx, "--delay wants a time of 100ms or "
		    "more, such as 250ms or 2s, not '%s'", arg);
	return ctl_usage_error(ctx, "unknown option");
}

static int
top_operands(struct ctl_ctx *ctx, int argc, char **argv)
{
	if (ctx->cc_json)
		return ctl_usage_error(ctx, "top has no JSON output (stats "
		    "and status --json have the same figures)");
	return ctl_no_operands(ctx, argc, argv);
}

static uint64_t
top_now_ms(int clock)
{
	struct timespec ts;

	(void)clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t
top_finished(const Tpool__StatsReply *s)
{
	return s->jobs_succeeded + s->jobs_failed + s->jobs_cancelled +
	    s->jobs_expired + s->jobs_timed_out + s->jobs_interrupted;
}

/* A time span for a column: "850ms", "12.3s", "5m07s", "2h03m". */
static void
top_span(char *buf, size_t len, uint64_t ms)
{
	if (ms < 1000)
		(void)snprintf(buf, len, "%llums", (unsigned long long)ms);
	else if (ms < 60000)
		(void)snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		(void)snprintf(buf, len, "%llum%02llus",
		    (unsigned long long)(ms / 60000),
		    (unsigned long long)(ms / 1000 % 60));
	else
		(void)snprintf(buf, len, "%lluh%02llum",
		    (unsigned long long)(ms / 3600000),
		    (unsigned long long)(ms / 60000 % 60));
}

/*
 * One frame into f: eol ends each line (on a terminal "\033[K\n" clears
 * what the last frame left on it; only stdin is in raw mode, so the
 * terminal still turns \n into \r\n).  Returns 0, or the library's error
 * and in *ret_what the request that failed, for the caller to report (once
 * it has left the alternate screen, where a message would be lost).
 */
static int
top_frame(struct ctl_ctx *ctx, FILE *f, const char *eol, struct top_prev *prev,
    const char **ret_what)
{
	Tpool__StatsReply *s;
	Tpool__StatusReply *r;
	uint64_t now = top_now_ms(CLOCK_MONOTONIC), wall, secs_ms, age;
	double acc_rate, fin_rate;
	char up[32], agebuf[32], where[32];
	size_t i, shown = 0;
	int error;

	if ((error = tpc_stats(ctx->cc_conn, &s)) != 0) {
		*ret_what = "stats";
		return error;
	}
	if ((error = tpc_status_page(ctx->cc_conn, false, 0, 0, &r)) != 0) {
		tpool__stats_reply__free_unpacked(s, NULL);
		*ret_what = "status";
		return error;
	}
	wall = top_now_ms(CLOCK_REALTIME);
	/* Over the last interval, or (first frame) the daemon's uptime. */
	if (prev->tp_ms != 0 && now > prev->tp_ms) {
		secs_ms = now - prev->tp_ms;
		acc_rate = (double)(s->jobs_accepted - prev->tp_accepted);
		fin_rate = (double)(top_finished(s) - prev->tp_finished);
	} else {
		secs_ms = s->uptime_ms > 0 ? s->uptime_ms : 1;
		acc_rate = (double)s->jobs_accepted;
		fin_rate = (double)top_finished(s);
	}
	acc_rate = acc_rate * 1000.0 / (double)secs_ms;
	fin_rate = fin_rate * 1000.0 / (double)secs_ms;
	prev->tp_ms = now;
	prev->tp_accepted = s->jobs_accepted;
	prev->tp_finished = top_finished(s);

	top_span(up, sizeof(up), s->uptime_ms);
	(void)fprintf(f, "tpoold up %s, %u plugins, %u connections, %u jobs in "
	    "flight (%u waiting their turn)%s", up, (unsigned)s->plugins,
	    (unsigned)s->connections, (unsigned)s->jobs_in_flight,
	    (unsigned)s->jobs_waiting_turn, eol);
	(void)fprintf(f, "jobs: %llu accepted, %llu succeeded, %llu failed, "
	    "%llu cancelled; %.1f/s accepted, %.1f/s finished%s",
	    (unsigned long long)s->jobs_accepted,
	    (unsigned long long)s->jobs_succeeded,
	    (unsigned long long)s->jobs_failed,
	    (unsigned long long)s->jobs_cancelled, acc_rate, fin_rate, eol);
	(void)fprintf(f, "%s%-10s %5s %7s %5s %7s %10s%s", eol, "POOL", "PRI",
	    "THREADS", "IDLE", "QUEUED", "RUN", eol);
	for (i = 0; i < s->n_pools; i++) {
		const Tpool__PoolStats *p = s->pools[i];

		if (p->pool == TPOOL__POOL_KIND__POOL_PERCPU && p->cpu >= 0)
			(void)snprintf(where, sizeof(where), "cpu %d",
			    (int)p->cpu);
		else
			(void)snprintf(where, sizeof(where), "%s",
			    tp_pool_name(p->pool));
		(void)snprintf(up, sizeof(up), "%d", (int)p->priority);
		(void)fprintf(f, "%-10s %5s %7u %5u %7u %10llu%s", where,
		    p->priority == -1 ? "-" : up, (unsigned)p->threads,
		    (unsigned)p->idle, (unsigned)p->queued,
		    (unsigned long long)p->jobs_run, eol);
	}
	(void)fprintf(f, "%s%-16s %-8s %-12s %-16s %8s %8s%s", eol, "JOB",
	    "STATE", "PLUGIN", "NAME", "PROGRESS", "AGE", eol);
	for (i = 0; i < r->n_jobs && shown < TOP_MAX_JOBS; i++) {
		const Tpool__JobInfo *j = r->jobs[i];

		if (j->state != TPOOL__JOB_STATE__JOB_RUNNING &&
		    j->state != TPOOL__JOB_STATE__JOB_QUEUED)
			continue;
		age = j->has_submitted_unix_ms && wall > j->submitted_unix_ms ?
		    wall - j->submitted_unix_ms : 0;
		top_span(agebuf, sizeof(agebuf), age);
		(void)snprintf(where, sizeof(where), "%u%%",
		    (unsigned)j->progress);
		(void)fprintf(f, "%-16llu %-8s %-12.12s %-16.16s %8s %8s%s",
		    (unsigned long long)j->job_id, tp_state_name(j->state),
		    j->plugin != NULL ? j->plugin : "-",
		    j->name != NULL ? j->name : "-",
		    j->state == TPOOL__JOB_STATE__JOB_RUNNING ? where : "-",
		    agebuf, eol);
		shown++;
	}
	if (shown == 0)
		(void)fprintf(f, "(no job of yours queued or running)%s", eol);
	tpool__status_reply__free_unpacked(r, NULL);
	tpool__stats_reply__free_unpacked(s, NULL);
	return 0;
}

/* ------------------------------------------------------------ terminal */

static void
top_on_signal(int sig)
{
	top_signal = sig;
}

/* Raw keys from stdin (when it is a terminal); the alternate screen. */
static void
top_tty_enter(void)
{
	struct termios tio;

	if (tcgetattr(STDIN_FILENO, &top_saved_tio) == 0) {
		tio = top_saved_tio;
		tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		tio.c_cc[VMIN] = 0;
		tio.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) == 0)
			top_tio_saved = true;
	}
	(void)fputs("\033[?1049h\033[?25l", stdout);
}

static void
top_tty_leave(void)
{
	(void)fputs("\033[?25h\033[?1049l", stdout);
	(void)fflush(stdout);
	if (top_tio_saved)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &top_saved_tio);
	top_tio_saved = false;
}

/* Wait up to ms for a key; true when q was pressed.  May sleep. */
static bool
top_wait_key(uint64_t ms)
{
	struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
	char c;

	if (poll(&pfd, 1, (int)ms) <= 0)
		return false;	/* the time is up, or a signal */
	if (read(STDIN_FILENO, &c, 1) != 1) {
		/* stdin closed: no more keys, go on with the delay. */
		(void)poll(NULL, 0, (int)ms);
		return false;
	}
	return c == 'q' || c == 'Q';
}

static int
top_exec(struct ctl_ctx *ctx)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct top_prev prev = { 0, 0, 0 };
	struct sigaction sa, old[3];
	const char *what = NULL;
	size_t i;
	int error = 0;

	if (isatty(STDOUT_FILENO) != 1) {
		if ((error = top_frame(ctx, stdout, "\n", &prev, &what)) != 0)
			return ctl_fail(ctx, error, what);
		return CTL_EXIT_OK;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = top_on_signal;
	(void)sigemptyset(&sa.sa_mask);
	for (i = 0; i < 3; i++)
		(void)sigaction(sigs[i], &sa, &old[i]);
	top_tty_enter();
	while (top_signal == 0) {
		(void)fputs("\033[H", stdout);
		if ((error = top_frame(ctx, stdout, "\033[K\n", &prev,
		    &what)) != 0)
			break;
		(void)fputs("\033[J", stdout);
		(void)fflush(stdout);
		if (top_wait_key(top_delay_ms))
			break;
	}
	top_tty_leave();
	for (i = 0; i < 3; i++)
		(void)sigaction(sigs[i], &old[i], NULL);
	if (top_signal != 0)
		(void)raise(top_signal);	/* its own action, now */
	return error != 0 ? ctl_fail(ctx, error, what) : CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_top = {
	.cmd_name = "top",
	.cmd_args = "[-d TIME]",
	.cmd_summary = "a live view of pools, queues, your jobs and rates",
	.cmd_help =
	    "Options:\n"
	    "  -d, --delay TIME  between frames (default 500ms, at least 100ms)\n"
	    "On a terminal it redraws until q is pressed; otherwise it prints\n"
	    "one frame and exits.\n",
	.cmd_shortopts = "d:",
	.cmd_longopts = top_opts,
	.cmd_flags = CTL_CMD_CONNECT,
	.cmd_option = top_option,
	.cmd_operands = top_operands,
	.cmd_exec = top_exec,
};
