/*
 * crash.c -- the soak's crash mode (soak --crash KILLS): tpoold with a job
 * store (--state-dir) under load from several clients, killed with SIGKILL
 * at random moments and started again on the same store, KILLS times; then
 * the proof, from the soak's ledger of what the daemon answered and the
 * plugin's run ledger, that
 *
 *	every submit answered with a job id is found again after the last
 *		start, and ends in one final state (the soak waits for it);
 *	a final state a client saw before a kill (a JobFinished, a cancel's
 *		answer) is the one found at the end, with the same result: no
 *		finished result is lost;
 *	the final state is the one the job asked for: SUCCEEDED with its
 *		result, FAILED with its plugin's message, CANCELLED only when a
 *		cancel was sent, INTERRUPTED only for a job that was accepted
 *		before a kill and had no retry left (a job with retries runs
 *		again after the restart);
 *	a job answered CANCEL_BEFORE_RUN ends CANCELLED; no job runs in a life
 *		of the daemon after the one in which its final state or its
 *		CANCEL_BEFORE_RUN was seen; a SUCCEEDED job ended a run well;
 *	no job id is given twice;
 *	the daemon dies only when killed, starts again each time, stops with
 *		status 0 at the end, and its log has no sanitizer report and no
 *		error line.
 *
 * The soak appends "L <life>" to the plugin's run ledger before each start
 * after the first, so every "R" line is known by the life of the daemon it
 * ran in; what a client sees is known by the life of the daemon on the
 * other end of its connection (the peer's pid, SO_PEERCRED).
 *
 * Locking: the job table and the lives have crash_lock (k); a client's
 * struct is its thread's own; the stop flag is an atomic.
 *
 * (Over 800 lines: its clients, its kills, its proof and its self-test all
 * work on the one job table and the lives under crash_lock, which no other
 * file may see.)
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "names.h"
#include "soak.h"

#define	CRASH_MAX_JOBS		(1u << 20)
#define	CRASH_MAX_LIVES		1024u
#define	CRASH_CLIENTS		6u
#define	CRASH_BATCH		8u	/* submits pipelined at most */
#define	CRASH_WINDOW		48u	/* jobs in flight per connection */
#define	CRASH_RECENT		32u	/* of a client's jobs, to cancel */
#define	CRASH_PACE_MIN_MS	10u	/* between a pacing client's batches */
#define	CRASH_PACE_MAX_MS	40u
#define	CRASH_KILL_MIN_MS	50u
#define	CRASH_KILL_MAX_MS	600u
#define	CRASH_TAIL_MS		300u	/* load after the last restart */
#define	CRASH_CALL_MS		20000u

/* cj_status */
enum { CJ_SENT, CJ_ACCEPTED, CJ_REFUSED, CJ_UNANSWERED };

/* One job, k. */
struct crash_job {
	uint64_t	cj_id;		/* the daemon's id, 0 until answered */
	uint16_t	cj_ms;
	uint8_t		cj_fail;
	uint8_t		cj_retries;
	uint8_t		cj_status;
	uint8_t		cj_cancel_sent;
	uint8_t		cj_seen;	/* final state seen before the end, 0 none */
	uint8_t		cj_end;		/* final state found at the end, 0 none */
	uint16_t	cj_life;	/* the life that answered its submit */
	uint16_t	cj_seen_life;	/* the life cj_seen (or before-run) came from */
	uint16_t	cj_before_run;	/* the life that answered CANCEL_BEFORE_RUN, 0 */
	uint16_t	cj_runs;	/* "R" lines in the run ledger */
	uint16_t	cj_ok_ends;	/* "X ... S" lines */
	uint16_t	cj_last_run_life;
	uint32_t	cj_end_attempt;
};

/* A client thread's own. */
struct crash_client {
	pthread_t	cc_thread;
	unsigned int	cc_idx;
	uint64_t	cc_rng;
	struct tpc	*cc_conn;
	unsigned int	cc_life;	/* of the daemon cc_conn talks to */
	unsigned int	cc_inflight;	/* its jobs without their JobFinished */
	uint32_t	cc_recent[CRASH_RECENT];
	unsigned int	cc_nrecent;
	struct {
		uint64_t	p_req;
		uint32_t	p_token;
	}		cc_pend[CRASH_BATCH];
	unsigned int	cc_npend;
};

static pthread_mutex_t crash_lock = PTHREAD_MUTEX_INITIALIZER;
static struct crash_job *crash_jobs;		/* k: [1, crash_njobs] */
static uint32_t crash_njobs;			/* k */
static pid_t crash_pids[CRASH_MAX_LIVES + 1];	/* k: the daemon of each life */
static unsigned int crash_lives;		/* k */
static int crash_stop;				/* atomic */
static uint64_t crash_counts[8];		/* k */
enum { CC_SUBMITS, CC_ACCEPTED, CC_REFUSED, CC_UNANSWERED, CC_CANCELS, CC_EVENTS,
	CC_RECONNECTS, CC_SEEN };

static void
crash_count(unsigned int c, uint64_t n)
{
	(void)pthread_mutex_lock(&crash_lock);
	crash_counts[c] += n;
	(void)pthread_mutex_unlock(&crash_lock);
}

/* The life of the daemon whose pid is pid, 0 if none. */
static unsigned int
crash_life_of(pid_t pid)
{
	unsigned int l, life = 0;

	(void)pthread_mutex_lock(&crash_lock);
	for (l = crash_lives; l >= 1 && life == 0; l--)
		if (crash_pids[l] == pid)
			life = l;
	(void)pthread_mutex_unlock(&crash_lock);
	return life;
}

/* ---------------------------------------------------------------- ledger */

/* A new job; its token (0: the table is full). */
static uint32_t
crash_job_new(uint64_t *rng, struct crash_job *ret_spec)
{
	struct crash_job spec;
	uint32_t token = 0;
	unsigned int r = soak_rand_below(rng, 100);

	memset(&spec, 0, sizeof(spec));
	/* Mostly short; some long enough for a kill to find them running. */
	spec.cj_ms = (uint16_t)(r < 90 ? soak_rand_below(rng, 3) : r < 98 ? 10 : 80);
	spec.cj_fail = soak_rand_below(rng, 10) == 0;
	r = soak_rand_below(rng, 4);
	spec.cj_retries = (uint8_t)(r < 2 ? 0 : r);
	(void)pthread_mutex_lock(&crash_lock);
	if (crash_njobs + 1 < CRASH_MAX_JOBS) {
		token = ++crash_njobs;
		crash_jobs[token] = spec;
		crash_counts[CC_SUBMITS]++;
	}
	(void)pthread_mutex_unlock(&crash_lock);
	*ret_spec = spec;
	return token;
}

static void
crash_job_status(uint32_t token, uint8_t status, uint64_t id, unsigned int life)
{
	(void)pthread_mutex_lock(&crash_lock);
	crash_jobs[token].cj_status = status;
	crash_jobs[token].cj_id = id;
	crash_jobs[token].cj_life = (uint16_t)life;
	crash_counts[status == CJ_ACCEPTED ? CC_ACCEPTED : status == CJ_REFUSED ?
	    CC_REFUSED : CC_UNANSWERED]++;
	(void)pthread_mutex_unlock(&crash_lock);
}

/* A final JobInfo of token seen in life (an event or a cancel's answer). */
static void
crash_job_seen(uint32_t token, const Tpool__JobInfo *ji, unsigned int life, const char *src)
{
	struct crash_job *j;

	if (!tp_state_is_final(ji->state))
		return;
	(void)pthread_mutex_lock(&crash_lock);
	j = &crash_jobs[token];
	if (j->cj_seen == 0) {
		j->cj_seen = (uint8_t)ji->state;
		j->cj_seen_life = (uint16_t)life;
		crash_counts[CC_SEEN]++;
	} else if (j->cj_seen != (uint8_t)ji->state) {
		soak_violation("two-final-states", "job %" PRIu64 " (token %u): %s, then %s "
		    "from a %s in life %u", j->cj_id, token, tp_state_name(j->cj_seen),
		    tp_state_name(ji->state), src, life);
	}
	(void)pthread_mutex_unlock(&crash_lock);
}

static void
crash_job_before_run(uint32_t token, unsigned int life)
{
	(void)pthread_mutex_lock(&crash_lock);
	if (crash_jobs[token].cj_before_run == 0)
		crash_jobs[token].cj_before_run = (uint16_t)life;
	(void)pthread_mutex_unlock(&crash_lock);
}

/* ---------------------------------------------------------------- clients */

static void
crash_drop(struct crash_client *cl)
{
	unsigned int i;

	for (i = 0; i < cl->cc_npend; i++)
		crash_job_status(cl->cc_pend[i].p_token, CJ_UNANSWERED, 0, 0);
	cl->cc_npend = 0;
	cl->cc_inflight = 0;
	cl->cc_nrecent = 0;
	if (cl->cc_conn != NULL) {
		tpc_free(cl->cc_conn);
		cl->cc_conn = NULL;
	}
}

static int
crash_connect(struct crash_client *cl)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int error;

	if ((error = tpc_connect(soak_cfg.sc_sock, &cl->cc_conn)) != 0) {
		cl->cc_conn = NULL;
		return error;
	}
	if (getsockopt(tpc_fd(cl->cc_conn), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
	    (cl->cc_life = crash_life_of(cred.pid)) == 0) {
		/* A daemon already killed (its pid not yet replaced): again. */
		tpc_free(cl->cc_conn);
		cl->cc_conn = NULL;
		return ESRCH;
	}
	(void)tpc_set_timeout(cl->cc_conn, (int)(CRASH_CALL_MS * soak_cfg.sc_slow));
	crash_count(CC_RECONNECTS, 1);
	return 0;
}

/* Take in one message; 0 or an errno. */
static int
crash_message(struct crash_client *cl, const Tpool__ServerMessage *m)
{
	const Tpool__Response *r;
	const Tpool__Event *ev;
	unsigned int i;
	uint32_t token;

	if (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_EVENT) {
		ev = m->event;
		if (ev->kind_case != TPOOL__EVENT__KIND_FINISHED || ev->finished->job == NULL)
			return 0;
		crash_count(CC_EVENTS, 1);
		if ((token = soak_token_from_name(ev->finished->job->name)) == 0 ||
		    token > CRASH_MAX_JOBS) {
			soak_violation("wrong-job", "a JobFinished of job %" PRIu64 " named '%s'",
			    ev->job_id, ev->finished->job->name);
			return 0;
		}
		crash_job_seen(token, ev->finished->job, cl->cc_life, "JobFinished");
		if (cl->cc_inflight > 0)
			cl->cc_inflight--;
		return 0;
	}
	if (m->msg_case != TPOOL__SERVER_MESSAGE__MSG_RESPONSE)
		return EPROTO;
	r = m->response;
	for (i = 0; i < cl->cc_npend; i++)
		if (cl->cc_pend[i].p_req == r->request_id)
			break;
	if (i == cl->cc_npend)
		return EPROTO;
	token = cl->cc_pend[i].p_token;
	cl->cc_pend[i] = cl->cc_pend[--cl->cc_npend];
	if (r->body_case == TPOOL__RESPONSE__BODY_SUBMIT && r->submit->has_job_id) {
		crash_job_status(token, CJ_ACCEPTED, r->submit->job_id, cl->cc_life);
		cl->cc_inflight++;
		cl->cc_recent[cl->cc_nrecent++ % CRASH_RECENT] = token;
		if (cl->cc_nrecent == 2 * CRASH_RECENT)
			cl->cc_nrecent = CRASH_RECENT;
		return 0;
	}
	crash_job_status(token, CJ_REFUSED, 0, cl->cc_life);
	if (r->body_case == TPOOL__RESPONSE__BODY_ERROR)
		soak_violation("refused", "token %u refused in life %u: %s: %s", token,
		    cl->cc_life, tp_error_name(r->error->code),
		    r->error->message != NULL ? r->error->message : "");
	else
		soak_violation("refused", "token %u answered without a job id", token);
	return 0;
}

/* Read one message and take it in; 0 or an errno. */
static int
crash_read(struct crash_client *cl)
{
	Tpool__ServerMessage *m;
	int error;

	if ((error = tpc_read_message(cl->cc_conn, &m)) != 0)
		return error;
	error = crash_message(cl, m);
	tpool__server_message__free_unpacked(m, NULL);
	return error;
}

/* Submit a batch, read its answers; 0 or an errno. */
static int
crash_batch(struct crash_client *cl)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	struct crash_job spec;
	char input[64], name[16];
	unsigned int n, i;
	uint32_t token;
	int error;

	n = 1 + soak_rand_below(&cl->cc_rng, CRASH_BATCH);
	for (i = 0; i < n; i++) {
		if ((token = crash_job_new(&cl->cc_rng, &spec)) == 0)
			break;
		(void)snprintf(input, sizeof(input), "T%u M%u S0 F%u", token,
		    (unsigned int)spec.cj_ms, (unsigned int)spec.cj_fail);
		(void)snprintf(name, sizeof(name), "s%u", token);
		a.tsa_plugin = SOAK_PLUGIN;
		a.tsa_input = input;
		a.tsa_input_len = strlen(input);
		a.tsa_name = name;
		a.tsa_retries = spec.cj_retries;
		a.tsa_delay_ms = soak_rand_below(&cl->cc_rng, 8) == 0 ?
		    20 + soak_rand_below(&cl->cc_rng, 300) : 0;
		cl->cc_pend[cl->cc_npend].p_token = token;
		cl->cc_npend++;
		if ((error = tpc_send_submit(cl->cc_conn, &a,
		    &cl->cc_pend[cl->cc_npend - 1].p_req)) != 0)
			return error;
	}
	if ((error = tpc_flush(cl->cc_conn)) != 0)
		return error;
	while (cl->cc_npend > 0)
		if ((error = crash_read(cl)) != 0)
			return error;
	return 0;
}

/* Cancel one of the client's recent jobs; 0 or an errno. */
static int
crash_cancel(struct crash_client *cl)
{
	Tpool__CancelReply *cr;
	Tpool__ErrorCode code;
	const char *msg;
	unsigned int have = cl->cc_nrecent < CRASH_RECENT ? cl->cc_nrecent : CRASH_RECENT;
	uint32_t token;
	uint64_t id;
	int error;

	if (have == 0)
		return 0;
	token = cl->cc_recent[soak_rand_below(&cl->cc_rng, have)];
	(void)pthread_mutex_lock(&crash_lock);
	id = crash_jobs[token].cj_id;
	crash_jobs[token].cj_cancel_sent = 1;
	crash_counts[CC_CANCELS]++;
	(void)pthread_mutex_unlock(&crash_lock);
	error = tpc_cancel(cl->cc_conn, id, false, &cr);
	if (error == TPC_EDAEMON) {
		code = tpc_last_error(cl->cc_conn, &msg);
		soak_violation("cancel-refused", "a cancel of job %" PRIu64 " (token %u) in "
		    "life %u: %s: %s", id, token, cl->cc_life, tp_error_name(code), msg);
		return 0;
	}
	if (error != 0)
		return error;
	if (cr->has_result && cr->result == TPOOL__CANCEL_RESULT__CANCEL_BEFORE_RUN)
		crash_job_before_run(token, cl->cc_life);
	if (cr->job != NULL)
		crash_job_seen(token, cr->job, cl->cc_life, "CancelReply");
	tpool__cancel_reply__free_unpacked(cr, NULL);
	return 0;
}

/* Read events until the window has room again; 0 or an errno. */
static int
crash_drain(struct crash_client *cl)
{
	int error;

	while (cl->cc_inflight > CRASH_WINDOW / 2 && !soak_load(&crash_stop))
		if ((error = crash_read(cl)) != 0)
			return error;
	return 0;
}

static void *
crash_client_main(void *arg)
{
	struct crash_client *cl = arg;
	int error;

	while (!soak_load(&crash_stop)) {
		if (cl->cc_conn == NULL && crash_connect(cl) != 0) {
			soak_sleep_ms(5);
			continue;
		}
		error = crash_batch(cl);
		if (error == 0 && soak_rand_below(&cl->cc_rng, 6) == 0)
			error = crash_cancel(cl);
		/*
		 * Half the clients wait for their jobs' ends when they have
		 * many in flight; the others submit at a pace, so that kills
		 * also find submits waiting for their answers.
		 */
		if (error == 0 && cl->cc_idx % 2 == 0 && cl->cc_inflight >= CRASH_WINDOW)
			error = crash_drain(cl);
		else if (error == 0 && cl->cc_idx % 2 == 1)
			soak_sleep_ms(soak_cfg.sc_slow * (CRASH_PACE_MIN_MS +
			    soak_rand_below(&cl->cc_rng, CRASH_PACE_MAX_MS - CRASH_PACE_MIN_MS)));
		if (error == ETIMEDOUT)
			soak_violation("client-timeout", "client %u: no answer from life %u for "
			    "%u ms", cl->cc_idx, cl->cc_life, CRASH_CALL_MS * soak_cfg.sc_slow);
		if (error != 0)
			crash_drop(cl);
	}
	crash_drop(cl);
	return NULL;
}

/* ------------------------------------------------------------ the daemon */

static bool
crash_mark_life(unsigned int life)
{
	FILE *f = fopen(soak_daemon_run_ledger(), "ae");

	if (f == NULL)
		return false;
	(void)fprintf(f, "L %u\n", life);
	return fclose(f) == 0;
}

static void
crash_new_life(void)
{
	(void)pthread_mutex_lock(&crash_lock);
	crash_pids[++crash_lives] = soak_daemon_pid();
	(void)pthread_mutex_unlock(&crash_lock);
}

/* Kill it at a random moment and start it again; false if that failed. */
static bool
crash_kill_and_restart(uint64_t *rng, unsigned int kill)
{
	int status, error;

	soak_sleep_ms(soak_cfg.sc_slow * (CRASH_KILL_MIN_MS +
	    soak_rand_below(rng, CRASH_KILL_MAX_MS - CRASH_KILL_MIN_MS)));
	if (soak_daemon_died(&status)) {
		soak_violation("daemon-died", "tpoold ended on its own in life %u (status "
		    "%#x)", crash_lives, (unsigned int)status);
		return false;
	}
	soak_daemon_kill();
	if (soak_daemon_wait(10000 * soak_cfg.sc_slow) == -1) {
		soak_violation("daemon-kill", "tpoold did not die of SIGKILL %u", kill);
		return false;
	}
	if (!crash_mark_life(crash_lives + 1)) {
		soak_violation("run-ledger", "cannot append to %s", soak_daemon_run_ledger());
		return false;
	}
	if ((error = soak_daemon_restart()) != 0) {
		soak_violation("restart", "tpoold did not start again after SIGKILL %u: %s",
		    kill, strerror(error));
		return false;
	}
	crash_new_life();
	soak_log("kill %u: tpoold %d is life %u", kill, (int)soak_daemon_pid(), crash_lives);
	return true;
}

/* ----------------------------------------------------------------- proof */

/* Wait for the final state of every accepted job, from the last life. */
static void
crash_find_all(void)
{
	Tpool__WatchReply *wr;
	Tpool__JobInfo *fin;
	Tpool__ErrorCode code;
	const char *msg;
	struct tpc *c;
	struct crash_job *j, copy;
	uint32_t token, n;
	int error;

	if ((error = tpc_connect(soak_cfg.sc_sock, &c)) != 0) {
		soak_violation("final", "cannot connect to the last life: %s", strerror(error));
		return;
	}
	(void)tpc_set_timeout(c, (int)(CRASH_CALL_MS * soak_cfg.sc_slow));
	(void)pthread_mutex_lock(&crash_lock);
	n = crash_njobs;
	(void)pthread_mutex_unlock(&crash_lock);
	for (token = 1; token <= n; token++) {
		(void)pthread_mutex_lock(&crash_lock);
		copy = crash_jobs[token];
		(void)pthread_mutex_unlock(&crash_lock);
		if (copy.cj_status != CJ_ACCEPTED)
			continue;
		fin = NULL;
		error = tpc_watch(c, copy.cj_id, &wr);
		if (error == TPC_EDAEMON) {
			code = tpc_last_error(c, &msg);
			soak_violation("lost", "job %" PRIu64 " (token %u, answered in life %u) "
			    "is not found after the last restart: %s: %s", copy.cj_id, token,
			    copy.cj_life, tp_error_name(code), msg);
			continue;
		}
		if (error != 0)
			break;
		if (wr->job != NULL && tp_state_is_final(wr->job->state)) {
			fin = wr->job;
			wr->job = NULL;
		}
		tpool__watch_reply__free_unpacked(wr, NULL);
		if (fin == NULL && (error = tpc_wait_job(c, copy.cj_id, &fin, NULL, NULL)) != 0)
			break;
		(void)pthread_mutex_lock(&crash_lock);
		j = &crash_jobs[token];
		j->cj_end = (uint8_t)fin->state;
		j->cj_end_attempt = fin->has_attempt ? fin->attempt : 0;
		if (fin->state == TPOOL__JOB_STATE__JOB_SUCCEEDED) {
			char want[32];
			int len = snprintf(want, sizeof(want), "tok=%u", token);

			if (!fin->has_result || fin->result.len != (size_t)len ||
			    memcmp(fin->result.data, want, (size_t)len) != 0)
				soak_violation("wrong-result", "job %" PRIu64 " (token %u) "
				    "SUCCEEDED without its result '%s'", copy.cj_id, token, want);
		} else if (fin->state == TPOOL__JOB_STATE__JOB_FAILED &&
		    (fin->message == NULL || strstr(fin->message, "soak failure") == NULL)) {
			soak_violation("unexpected-failure", "job %" PRIu64 " (token %u) FAILED: "
			    "%s", copy.cj_id, token, fin->message != NULL ? fin->message : "");
		}
		(void)pthread_mutex_unlock(&crash_lock);
		if (fin->state == TPOOL__JOB_STATE__JOB_INTERRUPTED && fin->has_retries &&
		    fin->retries != copy.cj_retries)
			soak_violation("retries", "job %" PRIu64 " (token %u): %u retries, "
			    "submitted with %u", copy.cj_id, token, fin->retries,
			    (unsigned int)copy.cj_retries);
		tpool__job_info__free_unpacked(fin, NULL);
	}
	if (token <= n)
		soak_violation("final", "the last life stopped answering at token %u: %s",
		    token, strerror(error));
	tpc_free(c);
}

/* Read the run ledger's lives and runs into the jobs (k). */
static void
crash_read_runs_locked(void)
{
	FILE *f = fopen(soak_daemon_run_ledger(), "re");
	unsigned long long token, id;
	unsigned int life = 1, l;
	struct crash_job *j;
	char line[128], how;

	if (f == NULL) {
		soak_violation("run-ledger", "cannot read %s: %s", soak_daemon_run_ledger(),
		    strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "L %u", &l) == 1) {
			life = l;
		} else if (sscanf(line, "R %llu %llu", &token, &id) == 2) {
			if (token == 0 || token > crash_njobs) {
				soak_violation("phantom-run", "the plugin ran token %llu (job "
				    "%llu), which no client submitted", token, id);
				continue;
			}
			j = &crash_jobs[token];
			if (j->cj_runs < UINT16_MAX)
				j->cj_runs++;
			j->cj_last_run_life = (uint16_t)life;
			if (j->cj_status == CJ_ACCEPTED && id != j->cj_id)
				soak_violation("wrong-job", "token %llu: accepted as job %" PRIu64
				    ", ran as job %llu", token, j->cj_id, id);
			if (j->cj_status == CJ_REFUSED)
				soak_violation("refused-ran", "token %llu was refused but ran",
				    token);
		} else if (sscanf(line, "X %llu %c", &token, &how) == 2) {
			if (token >= 1 && token <= crash_njobs && how == 'S' &&
			    crash_jobs[token].cj_ok_ends < UINT16_MAX)
				crash_jobs[token].cj_ok_ends++;
		} else {
			soak_violation("run-ledger", "a line that is neither L, R nor X: %s", line);
		}
	}
	(void)fclose(f);
}

static int
crash_cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Every promise, job by job. */
static void
crash_prove(uint64_t *ret_ends)
{
	struct crash_job *j;
	uint64_t *ids;
	uint32_t token;
	size_t nids = 0, i;

	(void)pthread_mutex_lock(&crash_lock);
	crash_read_runs_locked();
	ids = calloc(crash_njobs + 1, sizeof(*ids));
	for (token = 1; token <= crash_njobs; token++) {
		j = &crash_jobs[token];
		if (j->cj_status != CJ_ACCEPTED)
			continue;
		if (ids != NULL)
			ids[nids++] = j->cj_id;
		if (j->cj_end == 0)
			continue;	/* crash_find_all() said why */
		ret_ends[j->cj_end < 16 ? j->cj_end : 0]++;
		if (j->cj_seen != 0 && j->cj_seen != j->cj_end)
			soak_violation("result-lost", "job %" PRIu64 " (token %u): %s was seen "
			    "in life %u, %s found at the end", j->cj_id, token,
			    tp_state_name(j->cj_seen), j->cj_seen_life,
			    tp_state_name(j->cj_end));
		if (j->cj_seen != 0 && j->cj_last_run_life > j->cj_seen_life)
			soak_violation("ran-after-final", "job %" PRIu64 " (token %u) ran in "
			    "life %u after its %s was seen in life %u", j->cj_id, token,
			    j->cj_last_run_life, tp_state_name(j->cj_seen), j->cj_seen_life);
		if (j->cj_before_run != 0 && (j->cj_end != TPOOL__JOB_STATE__JOB_CANCELLED ||
		    j->cj_last_run_life > j->cj_before_run))
			soak_violation("cancel-answer-false", "job %" PRIu64 " (token %u) was "
			    "answered CANCEL_BEFORE_RUN in life %u but ended %s (last run in "
			    "life %u)", j->cj_id, token, j->cj_before_run,
			    tp_state_name(j->cj_end), j->cj_last_run_life);
		switch (j->cj_end) {
		case TPOOL__JOB_STATE__JOB_SUCCEEDED:
			if (j->cj_fail || j->cj_ok_ends == 0)
				soak_violation("wrong-outcome", "job %" PRIu64 " (token %u) "
				    "SUCCEEDED (to fail: %u) with %u good ends in the run "
				    "ledger", j->cj_id, token, j->cj_fail, j->cj_ok_ends);
			break;
		case TPOOL__JOB_STATE__JOB_FAILED:
			if (!j->cj_fail || j->cj_runs == 0)
				soak_violation("wrong-outcome", "job %" PRIu64 " (token %u) "
				    "FAILED (to fail: %u) after %u runs", j->cj_id, token,
				    j->cj_fail, j->cj_runs);
			break;
		case TPOOL__JOB_STATE__JOB_CANCELLED:
			if (!j->cj_cancel_sent)
				soak_violation("spurious-cancel", "job %" PRIu64 " (token %u) "
				    "CANCELLED but nobody cancelled it", j->cj_id, token);
			break;
		case TPOOL__JOB_STATE__JOB_INTERRUPTED:
			if (j->cj_life >= crash_lives)
				soak_violation("spurious-interrupt", "job %" PRIu64 " (token %u) "
				    "INTERRUPTED but accepted by the last life", j->cj_id, token);
			if (j->cj_end_attempt <= j->cj_retries)
				soak_violation("not-retried", "job %" PRIu64 " (token %u) "
				    "INTERRUPTED at attempt %u with %u retries", j->cj_id, token,
				    j->cj_end_attempt, (unsigned int)j->cj_retries);
			break;
		default:
			soak_violation("wrong-outcome", "job %" PRIu64 " (token %u) ended %s",
			    j->cj_id, token, tp_state_name(j->cj_end));
			break;
		}
	}
	(void)pthread_mutex_unlock(&crash_lock);
	if (ids == NULL) {
		soak_violation("proof", "no memory to check the ids");
		return;
	}
	qsort(ids, nids, sizeof(*ids), crash_cmp_id);
	for (i = 1; i < nids; i++)
		if (ids[i] == ids[i - 1])
			soak_violation("id-reused", "job id %" PRIu64 " was given twice", ids[i]);
	free(ids);
}

/* ------------------------------------------------------------- self-test */

/*
 * --self-test: make the ledgers say what a broken daemon would have made
 * them say -- a job run again in a life after its end was seen, a final
 * state seen before a kill that is not the one found, one job id given
 * twice -- and allow those kinds; kinds[] gets what the proof must find.
 */
static size_t
crash_inject(const char **kinds, size_t max)
{
	struct crash_job *j, *ran = NULL, *flip = NULL, *dup = NULL, *orig = NULL;
	uint32_t token, ran_token = 0;
	size_t n = 0;
	FILE *f;

	(void)pthread_mutex_lock(&crash_lock);
	for (token = 1; token <= crash_njobs; token++) {
		j = &crash_jobs[token];
		if (j->cj_status != CJ_ACCEPTED ||
		    j->cj_end != TPOOL__JOB_STATE__JOB_SUCCEEDED)
			continue;
		if (ran == NULL && j->cj_seen != 0) {
			ran = j;
			ran_token = token;
		} else if (flip == NULL && j->cj_seen != 0) {
			flip = j;
		} else if (orig == NULL) {
			orig = j;
		} else if (dup == NULL) {
			dup = j;
		}
	}
	if (ran != NULL && n + 1 <= max &&
	    (f = fopen(soak_daemon_run_ledger(), "ae")) != NULL) {
		(void)fprintf(f, "L %u\nR %u %" PRIu64 "\n", crash_lives + 1, ran_token,
		    ran->cj_id);
		if (fclose(f) == 0)
			kinds[n++] = "ran-after-final";
	}
	if (flip != NULL && n + 1 <= max) {
		flip->cj_seen = TPOOL__JOB_STATE__JOB_FAILED;
		kinds[n++] = "result-lost";
	}
	if (orig != NULL && dup != NULL && n + 2 <= max) {
		dup->cj_id = orig->cj_id;
		kinds[n++] = "id-reused";
		kinds[n++] = "wrong-job";	/* its runs name its real id */
	}
	(void)pthread_mutex_unlock(&crash_lock);
	return n;
}

/* ------------------------------------------------------------------ main */

int
soak_crash_main(void)
{
	struct crash_client *cls;
	uint64_t rng = soak_cfg.sc_seed | 1, ends[16] = { 0 };
	unsigned int i, k, nviol, started = 0, kills = 0;
	uint64_t retried = 0;
	const char *injected[8];
	size_t ninjected = 0;
	int status, error;

	crash_jobs = calloc(CRASH_MAX_JOBS, sizeof(*crash_jobs));
	cls = calloc(soak_cfg.sc_clients, sizeof(*cls));
	if (crash_jobs == NULL || cls == NULL) {
		(void)fprintf(stderr, "soak: no memory for the crash mode\n");
		return 99;
	}
	if (soak_cfg.sc_crash_kills + 1 > CRASH_MAX_LIVES) {
		(void)fprintf(stderr, "soak: at most %u kills\n", CRASH_MAX_LIVES - 1);
		return 99;
	}
	if ((error = soak_daemon_start()) != 0) {
		(void)fprintf(stderr, "soak: could not start %s: %s\n", soak_cfg.sc_daemon,
		    strerror(error));
		soak_daemon_cleanup(true);
		return 99;
	}
	crash_new_life();
	soak_info("crash mode: tpoold %d on %s with --state-dir, %u clients, %u kills",
	    (int)soak_daemon_pid(), soak_cfg.sc_sock, soak_cfg.sc_clients,
	    soak_cfg.sc_crash_kills);
	for (i = 0; i < soak_cfg.sc_clients; i++) {
		cls[i].cc_idx = i;
		cls[i].cc_rng = (soak_cfg.sc_seed ^ (0x9e3779b97f4a7c15ull * (i + 1))) | 1;
		if (pthread_create(&cls[i].cc_thread, NULL, crash_client_main, &cls[i]) != 0)
			break;
		started++;
	}
	for (k = 1; k <= soak_cfg.sc_crash_kills && started == soak_cfg.sc_clients; k++) {
		if (!crash_kill_and_restart(&rng, k))
			break;
		kills++;
	}
	soak_sleep_ms(CRASH_TAIL_MS * soak_cfg.sc_slow);
	soak_store(&crash_stop, 1);
	for (i = 0; i < started; i++)
		(void)pthread_join(cls[i].cc_thread, NULL);
	if (started != soak_cfg.sc_clients)
		soak_violation("setup", "started %u of %u client threads", started,
		    soak_cfg.sc_clients);

	if (soak_daemon_pid() > 0) {
		soak_info("%u lives; %" PRIu64 " submits answered; waiting for every job's "
		    "final state", crash_lives, crash_counts[CC_ACCEPTED]);
		crash_find_all();
		status = soak_daemon_term((soak_cfg.sc_grace_ms + 10000) * soak_cfg.sc_slow);
		if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			soak_violation("stop", "tpoold did not stop well after SIGTERM (status "
			    "%#x)", (unsigned int)status);
	}
	soak_daemon_check_log();
	if (soak_cfg.sc_self_test) {
		ninjected = crash_inject(injected, sizeof(injected) / sizeof(injected[0]));
		soak_self_test_allow(injected, ninjected);
		if (ninjected < 3)
			soak_violation("self-test", "too few jobs to inject every fault into");
	}
	crash_prove(ends);
	soak_self_test_check(injected, ninjected);
	for (i = 1; i <= crash_njobs; i++)
		if (crash_jobs[i].cj_end != 0 && crash_jobs[i].cj_end_attempt > 1)
			retried++;

	printf("soak: crash mode: seed %" PRIu64 ", %u clients, %u SIGKILLs, %u lives, "
	    "sanitizer %s\n", soak_cfg.sc_seed, soak_cfg.sc_clients, kills, crash_lives,
	    soak_cfg.sc_sanitizer);
	printf("  submits   %" PRIu64 " sent: %" PRIu64 " answered with a job id, %" PRIu64
	    " refused, %" PRIu64 " unanswered (their connection died with the daemon)\n",
	    crash_counts[CC_SUBMITS], crash_counts[CC_ACCEPTED], crash_counts[CC_REFUSED],
	    crash_counts[CC_UNANSWERED]);
	printf("  found     succeeded %" PRIu64 ", failed %" PRIu64 ", cancelled %" PRIu64
	    ", interrupted %" PRIu64 "; %" PRIu64 " ran more than once (retries); %"
	    PRIu64 " final states seen by clients before the end\n",
	    ends[TPOOL__JOB_STATE__JOB_SUCCEEDED], ends[TPOOL__JOB_STATE__JOB_FAILED],
	    ends[TPOOL__JOB_STATE__JOB_CANCELLED], ends[TPOOL__JOB_STATE__JOB_INTERRUPTED],
	    retried, crash_counts[CC_SEEN]);
	printf("  clients   %" PRIu64 " connections, %" PRIu64 " cancels, %" PRIu64
	    " JobFinished events\n", crash_counts[CC_RECONNECTS], crash_counts[CC_CANCELS],
	    crash_counts[CC_EVENTS]);
	nviol = soak_violations();
	soak_violations_print();
	if (nviol != 0)
		printf("soak: FAIL: %u violations (seed %" PRIu64 ")\n", nviol, soak_cfg.sc_seed);
	else
		printf("soak: PASS: every answered submit was found again after %u SIGKILLs "
		    "with one final state, and no final state seen was lost%s\n", kills,
		    soak_cfg.sc_self_test ? " (self-test: every injected fault found)" : "");
	soak_daemon_cleanup(nviol != 0);
	free(cls);
	free(crash_jobs);
	return nviol != 0 ? 1 : 0;
}
