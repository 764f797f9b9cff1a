/*
 * attacks.c -- bench_shared's eight scenarios: for each bound of tpoold,
 * what its attackers (client processes, each a throwaway uid) do to hold
 * it at its maximum, the daemon options of the scenario, and the summary
 * the bench makes of their reports.
 *
 *  1 connections	16 uids open 64 connections each, then one more each
 *  2 queued jobs	one uid pipelines 60 s sleep jobs until refused
 *  3 memory per user	one uid fills its pool's workers with sleep jobs,
 *			then queues echo jobs of 1 MiB (less 1 KiB) until
 *			refused
 *  4 unread output	one uid's 16 connections ask for the status of a job
 *			with a 512 KiB result 256 times each, reading nothing
 *  5 threads		one uid's sleep jobs on every priority it may ask
 *			for, on the unbound pool and each CPU's
 *  6 status list	one uid with 15,000 finished jobs pages through the
 *			whole list again and again
 *  7 pipelining	one connection keeps 10,000 Stats requests in flight
 *  8 fair share	--max-threads 2; 40 sleep jobs of 500 ms of one uid,
 *			then the victim's echo job
 * The attackers of scenarios 2 and 3 use the unbound pool of priority 0,
 * not the victim's (the unbound pool of no priority), so that what the
 * victim sees is the cost of what is held, not of workers kept busy: 5
 * and 8 show that.
 *
 * An attacker reports when it holds (the bench then measures the victim),
 * keeps holding (or paging, or pipelining) until the bench says stop, and
 * reports again at its end.  Figures that a report carries are in its
 * rp_held and rp_value[], as each attack's comment says.
 *
 * (Over 800 lines: eight scenarios, each an attack and its summary,
 * sharing the att_* helpers at the top and listed in the one table
 * sh_scenarios[] at the bottom; a new scenario is a section and a row.)
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "shared.h"

#define	ATT_HOLD_MS		600000	/* the longest wait for the bench */
#define	ATT_SLEEP_LONG		"60000"	/* ms: longer than any hold */

#define	ATT1_USERS		16
#define	ATT1_TRIES		65	/* the per-user limit, and one more */
#define	ATT2_WINDOW		4096
#define	ATT3_INPUT		((1u << 20) - 1024)	/* fits a 1 MiB frame */
#define	ATT3_WINDOW		8
#define	ATT4_CONNS		16
#define	ATT4_ASKS		256	/* status requests per connection */
#define	ATT4_RESULT		(512u * 1024)
#define	ATT4_LINGER_MS		40000	/* > --write-timeout's 30 s */
#define	ATT5_PER_POOL		3	/* jobs per pool: over its 2 threads */
#define	ATT6_JOBS		15000
#define	ATT7_WINDOW		10000
#define	ATT7_BATCH		1000
#define	ATT8_JOBS		40
#define	ATT8_HOLD_MS		15000	/* the victim's one job: > 40 x 500 ms / 2 */

/* ------------------------------------------------------------- helpers */

/*
 * The last report, rep, then wait for the bench's stop; close c (may be
 * NULL).  The part's exit status.
 */
static int
att_last(struct sh_part *p, struct tpc *c, const struct sh_report *rep)
{
	part_report(p, rep);
	while (part_word(p, ATT_HOLD_MS) == 1)
		continue;
	tpc_free(c);
	return rep->rp_error != 0;
}

/* Report rep as what is held; at the bench's stop, again as the end. */
static int
att_hold(struct sh_part *p, struct sh_report *rep)
{
	part_report(p, rep);
	return att_last(p, NULL, rep);
}

/* The arguments of a 60 s sleep job on the unbound pool of priority. */
static void
att_sleep_args(struct tpc_submit_args *a, int priority)
{
	static const struct tpc_submit_args init = TPC_SUBMIT_ARGS_INIT;

	*a = init;
	a->tsa_plugin = "sleep";
	a->tsa_input = ATT_SLEEP_LONG;
	a->tsa_input_len = strlen(ATT_SLEEP_LONG);
	a->tsa_priority = priority;
}

/*
 * Connect (the caller frees the connection with tpc_free()), or report
 * the failure (as both reports) and return NULL.
 */
static struct tpc *
att_connect(struct sh_part *p, struct sh_report *rep)
{
	struct tpc *c;
	int error;

	if ((error = part_connect(p, &c)) != 0) {
		part_fail(rep, NULL, error, "connect");
		part_report(p, rep);
		part_report(p, rep);
		return NULL;
	}
	return c;
}

/* Note a refusal (the first one's code and message are kept). */
static void
att_refused(struct sh_report *rep, Tpool__ErrorCode code, const char *msg)
{
	if (rep->rp_refused++ > 0)
		return;
	rep->rp_refusal = (int)code;
	(void)snprintf(rep->rp_text, sizeof(rep->rp_text), "%s",
	    msg != NULL ? msg : "");
}

/* The Error of a response, noted. */
static void
att_refused_by(struct sh_report *rep, const Tpool__Error *e)
{
	att_refused(rep, e->code, e->message);
}

/*
 * Submit a job and wait for its reply: true when accepted; a refusal is
 * noted, another failure ends the part (rep->rp_error).
 */
static bool
att_submit(struct tpc *c, const struct tpc_submit_args *a,
    struct sh_report *rep)
{
	const char *msg;
	uint64_t job;
	int error;

	if ((error = tpc_submit(c, a, &job)) == 0)
		return true;
	if (error == TPC_EDAEMON)
		att_refused(rep, tpc_last_error(c, &msg), msg);
	else
		part_fail(rep, c, error, "submit");
	return false;
}

/* The end of a part that holds what it has until the bench says stop. */
static int
att_end(struct sh_part *p, struct tpc *c, struct sh_report *rep)
{
	part_report(p, rep);
	return att_last(p, c, rep);
}

/* The summary's "held" column. */
static void
att_held(struct sh_result *r, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static void
att_held(struct sh_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(r->sr_held, sizeof(r->sr_held), fmt, ap);
	va_end(ap);
}

/* What a pipelined run of submits saw. */
struct att_fill {
	uint64_t	af_accepted;	/* SubmitReplies */
	uint64_t	af_finished;	/* JobFinished events, succeeded */
	uint64_t	af_ns;		/* the first send to the last reply */
};

/*
 * Submit a pipelined, at most window without their reply, until one is
 * refused (rep says with what) or max are accepted; then read the
 * replies still due.  Events are counted (JobFinished) or dropped.
 */
static int
att_fill(struct tpc *c, const struct tpc_submit_args *a, uint64_t max,
    unsigned int window, struct att_fill *f, struct sh_report *rep)
{
	Tpool__ServerMessage *m;
	uint64_t sent = 0, answered = 0, start = tu_now_ns();
	int error;

	while (answered < sent || (rep->rp_refused == 0 && sent < max)) {
		while (rep->rp_refused == 0 && sent < max &&
		    sent - answered < window) {
			if ((error = tpc_send_submit(c, a, NULL)) != 0) {
				part_fail(rep, c, error, "pipelined submit");
				return error;
			}
			sent++;
		}
		if ((error = tpc_read_message(c, &m)) != 0) {
			part_fail(rep, c, error, "read a reply");
			return error;
		}
		if (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE) {
			answered++;
			if (m->response->body_case == TPOOL__RESPONSE__BODY_ERROR)
				att_refused_by(rep, m->response->error);
			else
				f->af_accepted++;
		} else if (m->event->kind_case == TPOOL__EVENT__KIND_FINISHED &&
		    m->event->finished->job != NULL &&
		    m->event->finished->job->state ==
		    TPOOL__JOB_STATE__JOB_SUCCEEDED)
			f->af_finished++;
		tpool__server_message__free_unpacked(m, NULL);
	}
	f->af_ns = tu_now_ns() - start;
	return 0;
}

/* Read events until n jobs have finished (counted in f). */
static int
att_wait_finished(struct tpc *c, uint64_t n, struct att_fill *f,
    struct sh_report *rep)
{
	Tpool__Event *ev;
	int error;

	while (f->af_finished < n) {
		if ((error = tpc_next_event(c, &ev)) != 0) {
			part_fail(rep, c, error, "wait for the jobs' ends");
			return error;
		}
		if (ev->kind_case == TPOOL__EVENT__KIND_FINISHED)
			f->af_finished++;
		tpool__event__free_unpacked(ev, NULL);
	}
	return 0;
}

/*
 * The daemon's Stats as this uid sees them (the caller frees them with
 * tpool__stats_reply__free_unpacked()), or NULL, and rep says why.
 */
static Tpool__StatsReply *
att_stats(struct tpc *c, struct sh_report *rep)
{
	Tpool__StatsReply *st;
	int error;

	if ((error = tpc_stats(c, &st)) != 0) {
		part_fail(rep, c, error, "stats");
		return NULL;
	}
	return st;
}

/*
 * Pipelined submits of a until one is refused, then the uid's memory as
 * the daemon counts it.  rp_held: accepted; rp_value: [0] ns to fill, [1]
 * the uid's memory held (Stats), [2] its share.
 */
static void
att_fill_refused(struct tpc *c, const struct tpc_submit_args *a,
    unsigned int window, struct sh_report *rep)
{
	Tpool__StatsReply *st;
	struct att_fill f;

	memset(&f, 0, sizeof(f));
	if (att_fill(c, a, UINT64_MAX, window, &f, rep) == 0 &&
	    (st = att_stats(c, rep)) != NULL) {
		rep->rp_value[1] = st->memory_used_by_you;
		rep->rp_value[2] = st->memory_per_user;
		tpool__stats_reply__free_unpacked(st, NULL);
	}
	rep->rp_held = f.af_accepted;
	rep->rp_value[0] = f.af_ns;
}

/* The refusal's code name, or "none". */
static const char *
att_code(const struct sh_report *rep)
{
	return rep->rp_refused > 0 ? tp_error_name(rep->rp_refusal) : "none";
}

/* The summary's refusal columns from one report. */
static void
att_refusal(struct sh_result *r, const struct sh_report *rep,
    const char *otherwise)
{
	(void)snprintf(r->sr_refusal, sizeof(r->sr_refusal), "%s",
	    rep->rp_refused > 0 ? att_code(rep) : otherwise);
	(void)snprintf(r->sr_refusal_msg, sizeof(r->sr_refusal_msg), "%s",
	    rep->rp_text);
}

/* ------------------------------------------------------ 1: connections */

/*
 * ATT1_TRIES connections, each with a Hello.  rp_held: accepted;
 * rp_value: [0] refused per user, [1] refused by the daemon's limit,
 * [2] closed or failed without an Error.
 */
static int
att1_part(struct sh_part *p)
{
	struct tpc *conns[ATT1_TRIES], *c;
	struct sh_report rep;
	Tpool__ErrorCode code;
	const char *msg;
	unsigned int i, n = 0;
	int error;

	memset(&rep, 0, sizeof(rep));
	for (i = 0; i < ATT1_TRIES; i++) {
		c = NULL;
		if ((error = tpc_open(p->pt_sock, &c)) == 0) {
			(void)tpc_set_timeout(c, SH_CALL_TIMEOUT_MS);
			if ((error = tpc_hello(c, SH_NAME, NULL)) == 0) {
				conns[n++] = c;
				continue;
			}
		}
		if (error == TPC_EDAEMON) {
			code = tpc_last_error(c, &msg);
			rep.rp_value[strstr(msg, "per-user") != NULL ? 0 : 1]++;
		} else {
			code = TPOOL__ERROR_CODE__ERROR_UNSPECIFIED;
			msg = tpc_strerror(error);
			rep.rp_value[2]++;
		}
		att_refused(&rep, code, msg);
		tpc_free(c);
	}
	rep.rp_held = n;
	(void)att_hold(p, &rep);
	for (i = 0; i < n; i++)
		tpc_free(conns[i]);
	return 0;
}

static void
att1_summary(struct sh_result *r, const struct sh_child *ch, unsigned int n)
{
	uint64_t held = 0, per_user = 0, global = 0, other = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		held += ch[i].ch_rep[0].rp_held;
		per_user += ch[i].ch_rep[0].rp_value[0];
		global += ch[i].ch_rep[0].rp_value[1];
		other += ch[i].ch_rep[0].rp_value[2];
	}
	att_held(r, "%llu conns of %u uids, +1 victim",
	    (unsigned long long)held, n);
	att_refusal(r, &ch[0].ch_rep[0], "none");
	result_note(r, "%u x %u attempts: %llu accepted, refused %llu by "
	    "--max-connections-per-user (%llu), %llu by --max-connections "
	    "(%llu), %llu without an Error. ", n, ATT1_TRIES,
	    (unsigned long long)held, (unsigned long long)per_user,
	    (unsigned long long)r->sr_limits.lm_max_connections_per_user,
	    (unsigned long long)global,
	    (unsigned long long)r->sr_limits.lm_max_connections,
	    (unsigned long long)other);
	result_figure(r, "connections_held", (double)held);
	result_figure(r, "refused_per_user", (double)per_user);
	result_figure(r, "refused_daemon_limit", (double)global);
	result_figure(r, "refused_without_error", (double)other);
}

/* ------------------------------------------------------ 2: queued jobs */

/*
 * 60 s sleep jobs on the unbound pool of priority 0, pipelined until
 * refused.  rp_held: accepted; rp_value: [0] ns to fill, [1] the uid's
 * memory held (Stats), [2] its share.
 */
static int
att2_part(struct sh_part *p)
{
	struct tpc_submit_args a;
	struct sh_report rep;
	struct tpc *c;

	memset(&rep, 0, sizeof(rep));
	if ((c = att_connect(p, &rep)) == NULL)
		return 1;
	att_sleep_args(&a, 0);
	att_fill_refused(c, &a, ATT2_WINDOW, &rep);
	return att_end(p, c, &rep);
}

static void
att2_summary(struct sh_result *r, const struct sh_child *ch, unsigned int n)
{
	const struct sh_report *rep = &ch[0].ch_rep[0];

	att_held(r, "%llu sleep jobs queued", (unsigned long long)rep->rp_held);
	att_refusal(r, rep, "none");
	result_note(r, "accepted %llu in %.2f s (--max-jobs-per-client %llu); "
	    "the uid's memory held %.1f MiB of its %.0f MiB share; %.0f bytes "
	    "of VmRSS per queued job. ", (unsigned long long)rep->rp_held,
	    (double)rep->rp_value[0] / 1e9,
	    (unsigned long long)r->sr_limits.lm_max_jobs_per_client,
	    (double)rep->rp_value[1] / 1048576.0,
	    (double)rep->rp_value[2] / 1048576.0,
	    rep->rp_held > 0 ? (double)(r->sr_peak.us_rss_kib -
	    r->sr_before.us_rss_kib) * 1024.0 / (double)rep->rp_held : 0.0);
	result_figure(r, "jobs_accepted", (double)rep->rp_held);
	result_figure(r, "fill_s", (double)rep->rp_value[0] / 1e9);
	result_figure(r, "memory_used_by_user", (double)rep->rp_value[1]);
	result_figure(r, "memory_per_user", (double)rep->rp_value[2]);
}

/* -------------------------------------------------- 3: memory per user */

/*
 * The workers of the unbound pool of priority 0 taken by 60 s sleep
 * jobs, then echo jobs of ATT3_INPUT bytes queued behind them until
 * refused.  rp_held: echo jobs accepted; rp_value: [0] ns to fill, [1]
 * the uid's memory held (Stats), [2] its share, [3] sleep jobs.
 */
static int
att3_part(struct sh_part *p)
{
	struct tpc_submit_args a;
	Tpool__StatsReply *st;
	struct sh_report rep;
	struct tpc *c;
	uint64_t workers = 2, i;
	char *input;

	memset(&rep, 0, sizeof(rep));
	if ((c = att_connect(p, &rep)) == NULL)
		return 1;
	if ((st = att_stats(c, &rep)) != NULL) {
		if (sh_limit(st, "max-threads") > 0)
			workers = sh_limit(st, "max-threads");
		tpool__stats_reply__free_unpacked(st, NULL);
	}
	att_sleep_args(&a, 0);
	for (i = 0; i < workers && rep.rp_error == 0; i++)
		if (att_submit(c, &a, &rep))
			rep.rp_value[3]++;
	if (rep.rp_error == 0 && (input = malloc(ATT3_INPUT)) != NULL) {
		memset(input, 'm', ATT3_INPUT);
		a.tsa_plugin = "echo";
		a.tsa_input = input;
		a.tsa_input_len = ATT3_INPUT;
		att_fill_refused(c, &a, ATT3_WINDOW, &rep);
		free(input);
	} else if (rep.rp_error == 0)
		part_fail(&rep, NULL, ENOMEM, "the input");
	return att_end(p, c, &rep);
}

static void
att3_summary(struct sh_result *r, const struct sh_child *ch, unsigned int n)
{
	const struct sh_report *rep = &ch[0].ch_rep[0];
	double accepted = (double)rep->rp_held * ATT3_INPUT;
	double growth = (double)(r->sr_peak.us_rss_kib - r->sr_before.us_rss_kib) *
	    1024.0;

	att_held(r, "%.0f MiB of input queued", accepted / 1048576.0);
	att_refusal(r, rep, "none");
	result_note(r, "%llu echo jobs of %u bytes behind %llu sleep jobs, "
	    "accepted in %.2f s: %.1f MiB of input against memory_per_user "
	    "%.1f MiB (%.0f%%); the uid's memory held %.1f MiB; VmRSS grew "
	    "%.1f MiB (%.2fx the input). ", (unsigned long long)rep->rp_held,
	    ATT3_INPUT, (unsigned long long)rep->rp_value[3],
	    (double)rep->rp_value[0] / 1e9, accepted / 1048576.0,
	    (double)rep->rp_value[2] / 1048576.0,
	    rep->rp_value[2] > 0 ? accepted * 100.0 / (double)rep->rp_value[2] :
	    0.0, (double)rep->rp_value[1] / 1048576.0, growth / 1048576.0,
	    accepted > 0 ? growth / accepted : 0.0);
	result_figure(r, "jobs_accepted", (double)rep->rp_held);
	result_figure(r, "input_bytes_accepted", accepted);
	result_figure(r, "memory_per_user", (double)rep->rp_value[2]);
	result_figure(r, "memory_used_by_user", (double)rep->rp_value[1]);
	result_figure(r, "rss_growth_bytes", growth);
	result_figure(r, "fill_s", (double)rep->rp_value[0] / 1e9);
}

/* --------------------------------------------------- 4: unread output */

/*
 * Pack ATT4_ASKS Status requests of job, frames whole, into one buffer
 * of *ret_len bytes, which the caller frees with free(3); NULL: no memory.
 */
static uint8_t *
att4_frames(uint64_t job, size_t *ret_len)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Status st = TPOOL__STATUS__INIT;
	uint8_t *buf;
	size_t one, len = 0;
	unsigned int i;

	st.has_job_id = true;
	st.job_id = job;
	req.body_case = TPOOL__REQUEST__BODY_STATUS;
	req.status = &st;
	req.has_request_id = true;
	req.request_id = UINT32_MAX;	/* the largest each frame can take */
	one = TP_FRAME_HDR_LEN + tpool__request__get_packed_size(&req);
	if ((buf = malloc(one * ATT4_ASKS)) == NULL)
		return NULL;
	for (i = 0; i < ATT4_ASKS; i++) {
		req.request_id = i + 1;
		one = tpool__request__pack(&req, buf + len + TP_FRAME_HDR_LEN);
		tp_frame_put_header(buf + len, (uint32_t)one);
		len += TP_FRAME_HDR_LEN + one;
	}
	*ret_len = len;
	return buf;
}

/* Write buf whole to fd. */
static int
att4_write(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A job with an ATT4_RESULT result, then ATT4_CONNS connections that each
 * ask for its status ATT4_ASKS times and read nothing; then watch them
 * be dropped.  rp_held: connections; rp_value: [0] bytes of replies
 * asked for, [1] connections dropped, [2] ms from the asks to the first
 * drop, [3] to the last.  The end report comes once all are dropped.
 */
static int
att4_part(struct sh_part *p)
{
	struct tpc *conns[ATT4_CONNS], *c;
	struct pollfd pfd[ATT4_CONNS + 1];
	struct sh_report rep;
	Tpool__JobInfo *fin = NULL;
	uint64_t job, asked;
	uint8_t *frames = NULL;
	unsigned int i, n = 0, left;
	size_t len = 0;
	char *input;
	int error;

	memset(&rep, 0, sizeof(rep));
	if ((c = att_connect(p, &rep)) == NULL)
		return 1;
	if ((input = malloc(ATT4_RESULT)) == NULL) {
		part_fail(&rep, NULL, ENOMEM, "the input");
		goto hold;
	}
	memset(input, 'o', ATT4_RESULT);
	error = tpc_submit(c, TPC_SUBMIT_ARGS("echo", input, ATT4_RESULT), &job);
	free(input);
	if (error == 0)
		error = tpc_wait_job(c, job, &fin, NULL, NULL);
	if (error != 0) {
		part_fail(&rep, c, error, "the job with a 512 KiB result");
		goto hold;
	}
	tpool__job_info__free_unpacked(fin, NULL);
	if ((frames = att4_frames(job, &len)) == NULL) {
		part_fail(&rep, NULL, ENOMEM, "the requests");
		goto hold;
	}
	for (n = 0; n < ATT4_CONNS; n++) {
		if ((error = part_connect(p, &conns[n])) != 0) {
			part_fail(&rep, NULL, error, "connect");
			goto hold;
		}
		if ((error = att4_write(tpc_fd(conns[n]), frames, len)) != 0) {
			n++;
			part_fail(&rep, NULL, error, "send the requests");
			goto hold;
		}
	}
	asked = tu_now_ns();
	rep.rp_held = n;
	rep.rp_value[0] = (uint64_t)n * ATT4_ASKS * ATT4_RESULT;
	part_report(p, &rep);

	/* Until all are dropped or the bench says stop. */
	for (i = 0; i < n; i++) {
		pfd[i].fd = tpc_fd(conns[i]);
		pfd[i].events = POLLRDHUP;
	}
	pfd[n].fd = p->pt_go_fd;
	pfd[n].events = POLLIN;
	for (left = n; left > 0; ) {
		if (poll(pfd, n + 1, ATT_HOLD_MS) <= 0 || pfd[n].revents != 0)
			break;
		for (i = 0; i < n; i++) {
			if ((pfd[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0)
				continue;
			pfd[i].fd = -1;
			if (rep.rp_value[1]++ == 0)
				rep.rp_value[2] = (tu_now_ns() - asked) / 1000000;
			rep.rp_value[3] = (tu_now_ns() - asked) / 1000000;
			left--;
		}
	}
	part_report(p, &rep);
	while (part_word(p, ATT_HOLD_MS) == 1)
		continue;
	goto out;

hold:
	(void)att_hold(p, &rep);
out:
	for (i = 0; i < n; i++)
		tpc_free(conns[i]);
	free(frames);
	tpc_free(c);
	return rep.rp_error != 0;
}

static void
att4_summary(struct sh_result *r, const struct sh_child *ch, unsigned int n)
{
	const struct sh_report *held = &ch[0].ch_rep[0];
	const struct sh_report *end = &ch[0].ch_rep[1];

	att_held(r, "%llu conns x %u asks of 512 KiB",
	    (unsigned long long)held->rp_held, ATT4_ASKS);
	if (end->rp_value[1] > 0)
		(void)snprintf(r->sr_refusal, sizeof(r->sr_refusal), "dropped %llu "
		    "of %llu", (unsigned long long)end->rp_value[1],
		    (unsigned long long)held->rp_held);
	else
		(void)snprintf(r->sr_refusal, sizeof(r->sr_refusal), "not dropped");
	result_note(r, "%.0f MiB of replies asked for, none read; ",
	    (double)held->rp_value[0] / 1048576.0);
	if (end->rp_value[1] > 0)
		result_note(r, "%llu connections dropped %.1f to %.1f s after the "
		    "asks (--max-output %llu MiB, memory_per_user %.0f MiB). ",
		    (unsigned long long)end->rp_value[1],
		    (double)end->rp_value[2] / 1e3, (double)end->rp_value[3] / 1e3,
		    (unsigned long long)(r->sr_limits.lm_max_output >> 20),
		    (double)r->sr_limits.lm_memory_per_user / 1048576.0);
	else
		result_note(r, "no connection was dropped within %.0f s. ",
		    ATT4_LINGER_MS / 1e3);
	result_figure(r, "reply_bytes_asked", (double)held->rp_value[0]);
	result_figure(r, "connections_dropped", (double)end->rp_value[1]);
	result_figure(r, "first_drop_s", (double)end->rp_value[2] / 1e3);
	result_figure(r, "last_drop_s", (double)end->rp_value[3] / 1e3);
}

/* --------------------------------------------------------- 5: threads */

/*
 * ATT5_PER_POOL sleep jobs of 60 s on each priority a user may ask for
 * without a grant (-1, 0..19), on the unbound pool and on each CPU's.
 * rp_held: accepted; rp_value: [0] pools asked for.
 */
static int
att5_part(struct sh_part *p)
{
	struct tpc_submit_args a;
	struct sh_report rep;
	struct tpc *c;
	unsigned int cpu, k;
	int pri;

	memset(&rep, 0, sizeof(rep));
	if ((c = att_connect(p, &rep)) == NULL)
		return 1;
	att_sleep_args(&a, -1);
	/* cpu == ncpus: the unbound pool. */
	for (cpu = 0; cpu <= sh_config.sc_ncpus && rep.rp_error == 0; cpu++) {
		a.tsa_pool = cpu < sh_config.sc_ncpus ?
		    TPOOL__POOL_KIND__POOL_PERCPU : TPOOL__POOL_KIND__POOL_UNBOUND;
		a.tsa_cpu = cpu < sh_config.sc_ncpus ? sh_config.sc_cpus[cpu] : -1;
		for (pri = -1; pri <= 19 && rep.rp_error == 0; pri++) {
			a.tsa_priority = pri;
			rep.rp_value[0]++;
			for (k = 0; k < ATT5_PER_POOL; k++)
				if (att_submit(c, &a, &rep))
					rep.rp_held++;
		}
	}
	return att_end(p, c, &rep);
}

static void
att5_summary(struct sh_result *r, const struct sh_child *ch, unsigned int n)
{
	const struct sh_report *rep = &ch[0].ch_rep[0];

	att_held(r, "%llu sleep jobs, %llu pools", (unsigned long long)rep->rp_held,
	    (unsigned long long)rep->rp_value[0]);
	att_refusal(r, rep, "none (jobs wait)");
	result_note(r, "peak %ld threads against --max-running %llu "
	    "(--max-threads %llu per pool); %llu submits refused. ",
	    r->sr_peak.us_threads,
	    (unsigned long long)r->sr_limits.lm_max_running,
	    (unsigned long long)r->sr_limits.lm_max_threads,
	    (unsigned long long)rep->rp_refused);
	if (r->sr_pools.pl_valid)
		result_note(r, "Stats at the hold's end: %u jobs in flight, %u "
		    "of them waiting their turn; %u threads in %u pools, %u "
		    "idle, so %u jobs running. ", r->sr_pools.pl_in_flight,
		    r->sr_pools.pl_waiting_turn, r->sr_pools.pl_threads,
		    r->sr_pools.pl_pools, r->sr_pools.pl_idle,
		    r->sr_pools.pl_threads - r->sr_pools.pl_idle);
	result_figure(r, "jobs_accepted", (double)rep->rp_held);
	result_figure(r, "pools", (double)rep->rp_value[0]);
	result_figure(r, "max_running", (double)r->sr_limits.lm_max_running);
}

/* ----------------------------------------------------- 6: status list */

/*
 * ATT6_JOBS echo jobs, all waited for; then the whole list of this uid's
 * jobs, page by page, again and again until the bench says stop.
 * rp_held: jobs in the last list; rp_value: [0] lists, [1] pages, [2] ns
 * of all the lists, [3] ns of the slowest page.
 */
static int
att6_part(struct sh_part *p)
{
	Tpool__StatusReply *sr;
	struct sh_report rep;
	struct att_fill f;
	struct tpc *c;
	uint64_t before, start, page, jobs;
	bool more;
	int error;

	memset(&rep, 0, sizeof(rep));
	memset(&f, 0, sizeof(f));
	if ((c = att_connect(p, &rep)) == NULL)
		return 1;
	if (att_fill(c, TPC_SUBMIT_ARGS("echo", "x", 1), ATT6_JOBS, ATT2_WINDOW,
	    &f, &rep) != 0 || att_wait_finished(c, ATT6_JOBS, &f, &rep) != 0) {
		return att_end(p, c, &rep);
	}
	rep.rp_held = f.af_finished;
	part_report(p, &rep);
	while (rep.rp_error == 0 && part_word(p, 0) == 0) {
		start = tu_now_ns();
		before = 0;
		jobs = 0;
		do {
			page = tu_now_ns();
			if ((error = tpc_status_page(c, false, before, 0, &sr)) != 0) {
				part_fail(&rep, c, error, "a page of the list");
				break;
			}
			page = tu_now_ns() - page;
			if (page > rep.rp_value[3])
				rep.rp_value[3] = page;
			rep.rp_value[1]++;
			jobs += sr->n_jobs;
			more = sr->has_more_before;
			before = sr->more_before;
			tpool__status_reply__free_unpacked(sr, NULL);
		} while (more);
		rep.rp_value[0]++;
		rep.rp_value[2] += tu_now_ns() - start;
		rep.rp_held = jobs;
	}
	return att_last(p, c, &rep);
}

static void
att6_summary(struct sh_result *r, const struct sh_child *ch, unsigned int n)
{
	const struct sh_report *end = &ch[0].ch_rep[1];
	double lists = (double)end->rp_value[0], pages = (double)end->rp_value[1];

	att_held(r, "%llu finished jobs, paged",
	    (unsigned long long)ch[0].ch_rep[0].rp_held);
	att_refusal(r, end, "none");
	result_note(r, "%.0f full lists of %llu jobs in %.0f pages: %.1f ms "
	    "per list, %.2f ms per page (the slowest %.2f ms). ", lists,
	    (unsigned long long)end->rp_held, pages,
	    lists > 0 ? (double)end->rp_value[2] / 1e6 / lists : 0.0,
	    pages > 0 ? (double)end->rp_value[2] / 1e6 / pages : 0.0,
	    (double)end->rp_value[3] / 1e6);
	result_figure(r, "lists", lists);
	result_figure(r, "pages", pages);
	result_figure(r, "list_ms", lists > 0 ?
	    (double)end->rp_value[2] / 1e6 / lists : 0.0);
	result_figure(r, "page_ms", pages > 0 ?
	    (double)end->rp_value[2] / 1e6 / pages : 0.0);
	result_figure(r, "slowest_page_ms", (double)end->rp_value[3] / 1e6);
}

/* ------------------------------------------------------ 7: pipelining */

/*
 * Stats requests pipelined, ATT7_WINDOW in flight (refilled by batches of
 * ATT7_BATCH), every answer read, until the bench says stop.  rp_held:
 * the most in flight; rp_value: [0] answers, [1] ns from the first send.
 */
static int
att7_part(struct sh_part *p)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Stats stats = TPOOL__STATS__INIT;
	Tpool__ServerMessage *m;
	struct sh_report rep;
	struct tpc *c;
	uint64_t out = 0, start;
	bool held = false;
	int error = 0;

	memset(&rep, 0, sizeof(rep));
	if ((c = att_connect(p, &rep)) == NULL)
		return 1;
	req.body_case = TPOOL__REQUEST__BODY_STATS;
	req.stats = &stats;
	start = tu_now_ns();
	for (;;) {
		if (out <= ATT7_WINDOW - ATT7_BATCH) {
			while (out < ATT7_WINDOW &&
			    (error = tpc_send_request(c, &req, NULL)) == 0)
				out++;
			if (error != 0) {
				part_fail(&rep, c, error, "a pipelined Stats");
				break;
			}
			if (out > rep.rp_held)
				rep.rp_held = out;
		}
		if ((error = tpc_read_message(c, &m)) != 0) {
			part_fail(&rep, c, error, "read an answer");
			break;
		}
		if (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE) {
			out--;
			rep.rp_value[0]++;
			if (m->response->body_case == TPOOL__RESPONSE__BODY_ERROR)
				att_refused_by(&rep, m->response->error);
		}
		tpool__server_message__free_unpacked(m, NULL);
		if (rep.rp_value[0] % ATT7_BATCH != 0)
			continue;
		rep.rp_value[1] = tu_now_ns() - start;
		if (!held && rep.rp_value[0] >= ATT7_WINDOW) {
			held = true;
			part_report(p, &rep);
		}
		if (part_word(p, 0) != 0)
			break;
	}
	if (!held)
		part_report(p, &rep);
	return att_last(p, c, &rep);
}

static void
att7_summary(struct sh_result *r, const struct sh_child *ch, unsigned int n)
{
	const struct sh_report *end = &ch[0].ch_rep[1];
	double secs = (double)end->rp_value[1] / 1e9;

	att_held(r, "%llu Stats in flight", (unsigned long long)end->rp_held);
	att_refusal(r, end, "none");
	result_note(r, "%llu Stats answered in %.1f s: %.0f per second. ",
	    (unsigned long long)end->rp_value[0], secs,
	    secs > 0 ? (double)end->rp_value[0] / secs : 0.0);
	result_figure(r, "in_flight", (double)end->rp_held);
	result_figure(r, "answered", (double)end->rp_value[0]);
	result_figure(r, "answers_per_s", secs > 0 ?
	    (double)end->rp_value[0] / secs : 0.0);
}

/* ------------------------------------------------------ 8: fair share */

/* ATT8_JOBS sleep jobs of 500 ms on the victim's pool.  rp_held: accepted. */
static int
att8_part(struct sh_part *p)
{
	struct sh_report rep;
	struct tpc *c;
	unsigned int i;

	memset(&rep, 0, sizeof(rep));
	if ((c = att_connect(p, &rep)) == NULL)
		return 1;
	for (i = 0; i < ATT8_JOBS && rep.rp_error == 0; i++)
		if (att_submit(c, TPC_SUBMIT_ARGS("sleep", "500", 3), &rep))
			rep.rp_held++;
	return att_end(p, c, &rep);
}

static void
att8_summary(struct sh_result *r, const struct sh_child *ch, unsigned int n)
{
	const struct sh_report *rep = &ch[0].ch_rep[0];
	double ms = r->sr_hold.rp_median_us / 1e3;

	att_held(r, "%llu sleep jobs of 500 ms, 2 threads",
	    (unsigned long long)rep->rp_held);
	att_refusal(r, rep, "none (jobs wait)");
	if (r->sr_hold.rp_stuck)
		result_note(r, "the victim's job had not ended after %.0f ms: "
		    "target (1 s) missed. ", r->sr_hold.rp_stuck_ms);
	else
		result_note(r, "the victim's job, submitted behind them, ended "
		    "%.0f ms after its submit: target 1 s %s (one queue for "
		    "all would take about %.0f s). ", ms, ms <= 1000 ? "met" :
		    "MISSED", ATT8_JOBS * 0.5 / 2);
	result_figure(r, "victim_submit_to_end_ms", r->sr_hold.rp_stuck ?
	    r->sr_hold.rp_stuck_ms : ms);
}

/* ---------------------------------------------------------- the table */

const struct sh_scenario sh_scenarios[SH_NSCENARIOS] = {
	{ 1, "connections", { NULL }, ATT1_USERS, att1_part, NULL, 0, 0, 0,
	    att1_summary },
	{ 2, "queued jobs", { NULL }, 1, att2_part, NULL, 0, 0, 0,
	    att2_summary },
	{ 3, "memory per user", { NULL }, 1, att3_part, NULL, 0, 0, 0,
	    att3_summary },
	{ 4, "unread output", { NULL }, 1, att4_part, NULL, ATT4_LINGER_MS, 0,
	    0, att4_summary },
	{ 5, "threads", { NULL }, 1, att5_part, NULL, 0, 0, 0, att5_summary },
	{ 6, "status list", { "--finished-keep", "20000", NULL }, 1,
	    att6_part, NULL, 0, 0, 0, att6_summary },
	{ 7, "pipelining", { NULL }, 1, att7_part, NULL, 0, 0, 0,
	    att7_summary },
	{ 8, "fair share", { "--max-threads", "2", NULL }, 1, att8_part, NULL,
	    0, ATT8_HOLD_MS, 1, att8_summary },
};
