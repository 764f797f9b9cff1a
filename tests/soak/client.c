/*
 * client.c -- the soak's clients: one thread each, each with its own
 * connection, doing at random what users of tpoold do, and telling the
 * ledger (ledger.c) everything the daemon answers.
 *
 * A client lives in sessions.  A session connects, first asks about the
 * jobs it left behind last time (status by id; a job still in flight is
 * watched, so its end comes as an event), then does a few dozen of:
 *
 *	submit		to the unbound pool or the per-CPU pool of a CPU or of
 *			"any", at every priority the daemon permits, with a
 *			length of 0 to 50 ms (some spin, some are asked to
 *			fail), to soakrec, or to soakrec2 once the SIGHUP
 *			brought it; a few pipelined in a burst;
 *	submit badly	a CPU that does not exist, or soakrec2 before the
 *			SIGHUP: the error must be the right one;
 *	cancel		one of its own jobs or anybody's, with or without
 *			--wait;
 *	watch		anybody's job;
 *	status		of one job, rarely of all jobs, or the daemon's stats;
 *	read events	for a few milliseconds;
 *	disconnect	with jobs in flight (sometimes right after sending a
 *			cancel --wait), then sleep and start a new session;
 *
 * and at its end waits for the JobFinished of every job it follows before
 * closing.  Every event must belong to a job the connection follows and
 * come before that job's JobFinished.
 *
 * The final phase is different: every client puts a few long jobs in
 * flight, some watch others' jobs, some leave; then, once the main thread
 * has sent SIGTERM, the others wait on their connection for the final
 * state of every job they follow, which must come before the daemon closes
 * the connection.
 *
 * A struct soak_client belongs to its thread (no locks); the ledger and the
 * phase flags are shared (soak.h).
 *
 * (Over 800 lines: every action listed above works on the client's struct
 * soak_client and its list of followed jobs, which are private to this
 * file; split, the actions would need a header for one struct.)
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soak.h"

#define	CLIENT_MAX_INFLIGHT	6	/* own jobs in flight in a session */
#define	CLIENT_BAD_CPU		100000	/* a CPU no machine has */

enum client_follow_kind {
	FOLLOW_SUBMITTED,	/* this connection submitted it */
	FOLLOW_WATCHED,		/* watched, somebody else's */
	FOLLOW_ORPHAN,		/* watched, ours from an earlier connection */
};

struct client_follow {
	uint64_t	cf_id;
	uint32_t	cf_token;
	uint8_t		cf_kind;
	bool		cf_done;	/* final state seen: no more events */
	uint8_t		cf_done_src;	/* enum soak_src that said it */
};

static const char *const client_follow_names[] = {
	[FOLLOW_SUBMITTED] = "submitted here",
	[FOLLOW_WATCHED] = "watched",
	[FOLLOW_ORPHAN] = "watched after reconnecting",
};

struct soak_client {
	int		cl_idx;		/* -1: the main thread's probe */
	uint64_t	cl_rng;
	struct tpc	*cl_conn;	/* NULL between sessions */
	bool		cl_dead;	/* the connection failed */
	struct client_follow *cl_follow;
	size_t		cl_nfollow, cl_follow_cap;
	uint32_t	*cl_orphans;	/* tokens of jobs left behind */
	size_t		cl_norphans, cl_orphans_cap;
};

static pthread_barrier_t client_barrier_in_flight;	/* final: jobs submitted */
static pthread_barrier_t client_barrier_term;		/* final: SIGTERM sent */

/* ---------------------------------------------------------------- follow */

static void *
client_xrealloc(void *p, size_t n, size_t size)
{
	void *q = realloc(p, n * size);

	if (q == NULL) {
		(void)fprintf(stderr, "soak: no memory\n");
		abort();
	}
	return q;
}

static ssize_t
client_follow_find(const struct soak_client *cl, uint64_t id)
{
	size_t i;

	for (i = 0; i < cl->cl_nfollow; i++)
		if (cl->cl_follow[i].cf_id == id)
			return (ssize_t)i;
	return -1;
}

static size_t
client_follow_add(struct soak_client *cl, uint64_t id, uint32_t token,
    enum client_follow_kind kind)
{
	struct client_follow *f;

	if (cl->cl_nfollow == cl->cl_follow_cap) {
		cl->cl_follow_cap = cl->cl_follow_cap == 0 ? 16 : cl->cl_follow_cap * 2;
		cl->cl_follow = client_xrealloc(cl->cl_follow, cl->cl_follow_cap,
		    sizeof(*cl->cl_follow));
	}
	f = &cl->cl_follow[cl->cl_nfollow];
	f->cf_id = id;
	f->cf_token = token;
	f->cf_kind = (uint8_t)kind;
	f->cf_done = false;
	return cl->cl_nfollow++;
}

static void
client_follow_remove(struct soak_client *cl, size_t i)
{
	cl->cl_follow[i] = cl->cl_follow[--cl->cl_nfollow];
}

/* Jobs followed whose final state has not come yet. */
static size_t
client_pending(const struct soak_client *cl, bool own_only)
{
	size_t i, n = 0;

	for (i = 0; i < cl->cl_nfollow; i++)
		if (!cl->cl_follow[i].cf_done &&
		    (!own_only || cl->cl_follow[i].cf_kind == FOLLOW_SUBMITTED))
			n++;
	return n;
}

static void
client_orphan_add(struct soak_client *cl, uint32_t token)
{
	if (cl->cl_norphans == cl->cl_orphans_cap) {
		cl->cl_orphans_cap = cl->cl_orphans_cap == 0 ? 16 : cl->cl_orphans_cap * 2;
		cl->cl_orphans = client_xrealloc(cl->cl_orphans, cl->cl_orphans_cap,
		    sizeof(*cl->cl_orphans));
	}
	cl->cl_orphans[cl->cl_norphans++] = token;
}

/* ------------------------------------------------------------ connection */

/* The final phase's SIGTERM has been sent: connections may close. */
static bool
client_shutting_down(void)
{
	return soak_load(&soak_term) != 0;
}

/* A call failed without an answer from the daemon. */
static void
client_failed(struct soak_client *cl, const char *what, int error)
{
	cl->cl_dead = true;
	if (client_shutting_down() && (error == ECONNRESET || error == EPIPE))
		return;
	soak_violation("client-error", "client %d: %s: %s", cl->cl_idx, what,
	    tpc_strerror(error));
}

static bool
client_connect(struct soak_client *cl)
{
	int error;

	cl->cl_dead = false;
	error = tpc_connect(soak_cfg.sc_sock, &cl->cl_conn);
	if (error != 0) {
		soak_violation("connect", "client %d: connect: %s", cl->cl_idx,
		    tpc_strerror(error));
		cl->cl_conn = NULL;
		return false;
	}
	(void)tpc_set_timeout(cl->cl_conn, (int)soak_cfg.sc_call_ms);
	soak_count(SOAK_C_CONNECTS, 1);
	return true;
}

/*
 * Close the connection.  Jobs of ours without a final state become orphans
 * (to ask about from the next connection); watches are dropped.
 */
static void
client_close(struct soak_client *cl)
{
	struct client_follow *f;
	size_t i;

	for (i = 0; i < cl->cl_nfollow; i++) {
		f = &cl->cl_follow[i];
		if (f->cf_done || f->cf_kind == FOLLOW_WATCHED)
			continue;
		soak_job_orphaned(f->cf_token);
		client_orphan_add(cl, f->cf_token);
	}
	cl->cl_nfollow = 0;
	tpc_free(cl->cl_conn);
	cl->cl_conn = NULL;
}

/* ---------------------------------------------------------------- events */

static const char *
client_event_name(const Tpool__Event *ev)
{
	switch (ev->kind_case) {
	case TPOOL__EVENT__KIND_STARTED:	return "JobStarted";
	case TPOOL__EVENT__KIND_PROGRESS:	return "JobProgress";
	case TPOOL__EVENT__KIND_FINISHED:	return "JobFinished";
	default:				return "an empty event";
	}
}

static void
client_event(struct soak_client *cl, const Tpool__Event *ev)
{
	struct client_follow *f;
	ssize_t i;

	soak_count(SOAK_C_EVENTS, 1);
	if ((i = client_follow_find(cl, ev->job_id)) < 0) {
		soak_violation("stray-event", "client %d got %s for job %" PRIu64 ", which "
		    "its connection does not follow", cl->cl_idx, client_event_name(ev),
		    ev->job_id);
		return;
	}
	f = &cl->cl_follow[i];
	if (f->cf_done) {
		soak_violation("event-after-final", "client %d got %s for job %" PRIu64
		    " (token %u, %s) after its final state came in a %s", cl->cl_idx,
		    client_event_name(ev), ev->job_id, f->cf_token,
		    client_follow_names[f->cf_kind], soak_src_name(f->cf_done_src));
		return;
	}
	switch (ev->kind_case) {
	case TPOOL__EVENT__KIND_STARTED:
		soak_job_started(f->cf_token);
		break;
	case TPOOL__EVENT__KIND_PROGRESS:
		break;
	case TPOOL__EVENT__KIND_FINISHED:
		if (ev->finished == NULL || ev->finished->job == NULL) {
			soak_violation("non-final-finished", "client %d: JobFinished of job %"
			    PRIu64 " without its JobInfo", cl->cl_idx, ev->job_id);
			break;
		}
		f->cf_done_src = f->cf_kind == FOLLOW_SUBMITTED ? SOAK_SRC_EVENT :
		    SOAK_SRC_WATCH_EVENT;
		soak_job_info(f->cf_token, ev->finished->job, f->cf_done_src, 0);
		f->cf_done = true;
		break;
	default:
		soak_violation("stray-event", "client %d: an event of no kind for job %" PRIu64,
		    cl->cl_idx, ev->job_id);
		break;
	}
}

/* Read events for up to ms milliseconds (0: only those already here). */
static void
client_read_events(struct soak_client *cl, unsigned int ms)
{
	Tpool__Event *ev;
	uint64_t end = tu_now_ns() + (uint64_t)ms * 1000000u, now;
	int error;

	for (;;) {
		now = tu_now_ns();
		(void)tpc_set_timeout(cl->cl_conn, now >= end ? 0 :
		    (int)((end - now) / 1000000u));
		error = tpc_next_event(cl->cl_conn, &ev);
		if (error != 0)
			break;
		client_event(cl, ev);
		tpool__event__free_unpacked(ev, NULL);
	}
	(void)tpc_set_timeout(cl->cl_conn, (int)soak_cfg.sc_call_ms);
	if (error != ETIMEDOUT)
		client_failed(cl, "reading events", error);
}

/*
 * Wait for the final state of every job followed.  False when the
 * connection failed or the time ran out (said as a violation, unless the
 * daemon is stopping: the caller judges that).
 */
static bool
client_wait_finals(struct soak_client *cl, unsigned int timeout_ms)
{
	Tpool__Event *ev;
	uint64_t end = tu_now_ns() + (uint64_t)timeout_ms * 1000000u, now;
	size_t i;
	int error = 0;

	while (client_pending(cl, false) > 0) {
		now = tu_now_ns();
		if (now >= end) {
			error = ETIMEDOUT;
			break;
		}
		(void)tpc_set_timeout(cl->cl_conn, (int)((end - now) / 1000000u) + 1);
		if ((error = tpc_next_event(cl->cl_conn, &ev)) != 0)
			break;
		client_event(cl, ev);
		tpool__event__free_unpacked(ev, NULL);
	}
	(void)tpc_set_timeout(cl->cl_conn, (int)soak_cfg.sc_call_ms);
	if (error == 0)
		return true;
	cl->cl_dead = true;
	if (client_shutting_down())
		return false;
	for (i = 0; i < cl->cl_nfollow; i++)
		if (!cl->cl_follow[i].cf_done)
			soak_violation("no-final", "client %d: no JobFinished of job %" PRIu64
			    " (token %u) within %u ms: %s", cl->cl_idx, cl->cl_follow[i].cf_id,
			    cl->cl_follow[i].cf_token, timeout_ms, tpc_strerror(error));
	return false;
}

/* --------------------------------------------------------------- requests */

/* The daemon answered a request about job (token) with an Error. */
static void
client_job_error(struct soak_client *cl, uint32_t token, uint64_t id, uint64_t t_sent,
    const char *what)
{
	const char *msg;
	Tpool__ErrorCode code = tpc_last_error(cl->cl_conn, &msg);

	if (code == TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB) {
		soak_job_unknown(token, t_sent, what);
		return;
	}
	soak_violation("unexpected-error", "client %d: %s of job %" PRIu64 " (token %u) "
	    "answered %s: %s", cl->cl_idx, what, id, token, tp_error_name(code), msg);
}

enum client_expect {
	EXPECT_OK,
	EXPECT_INVALID_CPU,
	EXPECT_UNKNOWN_PLUGIN,
};

static void
client_spec(struct soak_client *cl, struct soak_spec *sp)
{
	unsigned int r;
	bool final = soak_load(&soak_phase) == SOAK_PHASE_FINAL;

	memset(sp, 0, sizeof(*sp));
	sp->ss_plugin = SOAK_PLUGIN;
	if (soak_load(&soak_hup) != SOAK_HUP_BEFORE && soak_rand_below(&cl->cl_rng, 5) == 0)
		sp->ss_plugin = SOAK_PLUGIN2;
	sp->ss_pri = soak_cfg.sc_pris[soak_rand_below(&cl->cl_rng, soak_cfg.sc_npris)];
	sp->ss_cpu = -1;
	if (soak_rand_below(&cl->cl_rng, 2) == 0) {
		sp->ss_pool = TPOOL__POOL_KIND__POOL_UNBOUND;
	} else {
		sp->ss_pool = TPOOL__POOL_KIND__POOL_PERCPU;
		if (soak_rand_below(&cl->cl_rng, 3) != 0)
			sp->ss_cpu = soak_cfg.sc_cpus[soak_rand_below(&cl->cl_rng,
			    soak_cfg.sc_ncpus)];
	}
	r = soak_rand_below(&cl->cl_rng, 100);
	if (final)
		sp->ss_ms = 100 + soak_rand_below(&cl->cl_rng, 500);
	else if (r < 40)
		sp->ss_ms = 0;
	else if (r < 70)
		sp->ss_ms = 1 + soak_rand_below(&cl->cl_rng, 5);
	else
		sp->ss_ms = 5 + soak_rand_below(&cl->cl_rng, 46);
	/* Real-time workers that spin would starve the machine: they sleep. */
	sp->ss_spin = !final && sp->ss_ms <= 10 && sp->ss_pri < 40 &&
	    soak_rand_below(&cl->cl_rng, 10) == 0;
	sp->ss_fail = soak_rand_below(&cl->cl_rng, 20) == 0;
	/* One job in 6 to the plugin in worker processes; 1 in 4 of those
	 * crashes its worker. */
	if (strcmp(sp->ss_plugin, SOAK_PLUGIN) == 0 &&
	    soak_rand_below(&cl->cl_rng, 6) == 0) {
		sp->ss_plugin = SOAK_PLUGIN_CRASH;
		sp->ss_crash = !final && soak_rand_below(&cl->cl_rng, 4) == 0;
	}
}

static void
client_input(uint32_t token, const struct soak_spec *sp, char *input, size_t inlen,
    char *name, size_t namelen)
{
	(void)snprintf(input, inlen, "T%u M%u S%d F%d K%d", token, sp->ss_ms,
	    sp->ss_spin ? 1 : 0, sp->ss_fail ? 1 : 0, sp->ss_crash ? 1 : 0);
	(void)snprintf(name, namelen, "s%u", token);
}

/* Judge a submit's Error: true when it is what the spec deserves. */
static bool
client_refusal_ok(struct soak_client *cl, const struct soak_spec *sp,
    enum client_expect expect, int hup_before, Tpool__ErrorCode code)
{
	switch (code) {
	case TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN:
		return strcmp(sp->ss_plugin, SOAK_PLUGIN2) == 0 && hup_before != SOAK_HUP_DONE;
	case TPOOL__ERROR_CODE__ERROR_INVALID_CPU:
		return expect == EXPECT_INVALID_CPU;
	case TPOOL__ERROR_CODE__ERROR_SHUTTING_DOWN:
		return client_shutting_down();
	default:
		return false;
	}
}

/* The answer to a submit of token (err, and id when err is 0). */
static void
client_submitted(struct soak_client *cl, const struct soak_spec *sp, enum client_expect expect,
    uint32_t token, int hup_before, int err, uint64_t id)
{
	const char *msg = "";
	Tpool__ErrorCode code;

	if (err == 0) {
		soak_job_accepted(token, id);
		(void)client_follow_add(cl, id, token, FOLLOW_SUBMITTED);
		if (expect == EXPECT_INVALID_CPU)
			soak_violation("accepted-bad", "client %d: a submit to CPU %d was "
			    "accepted as job %" PRIu64, cl->cl_idx, sp->ss_cpu, id);
		if (strcmp(sp->ss_plugin, SOAK_PLUGIN2) == 0 &&
		    soak_load(&soak_hup) == SOAK_HUP_BEFORE)
			soak_violation("plugin-early", "client %d: %s took job %" PRIu64
			    " before the SIGHUP", cl->cl_idx, sp->ss_plugin, id);
		return;
	}
	if (err != TPC_EDAEMON) {
		soak_job_lost(token);
		client_failed(cl, "submit", err);
		return;
	}
	code = tpc_last_error(cl->cl_conn, &msg);
	soak_job_rejected(token, code);
	if (!client_refusal_ok(cl, sp, expect, hup_before, code))
		soak_violation("submit-refused", "client %d: a submit to %s (pool %d, priority "
		    "%d, CPU %d) answered %s: %s", cl->cl_idx, sp->ss_plugin, (int)sp->ss_pool,
		    sp->ss_pri, sp->ss_cpu, tp_error_name(code), msg);
}

/* The submit arguments of a spec, with its input and name. */
static const struct tpc_submit_args *
client_args(struct tpc_submit_args *a, const struct soak_spec *sp, const char *input,
    const char *name)
{
	*a = (struct tpc_submit_args)TPC_SUBMIT_ARGS_INIT;
	a->tsa_plugin = sp->ss_plugin;
	a->tsa_input = input;
	a->tsa_input_len = strlen(input);
	a->tsa_name = name;
	a->tsa_pool = sp->ss_pool;
	a->tsa_priority = sp->ss_pri;
	a->tsa_cpu = sp->ss_cpu;
	return a;
}

static void
client_submit(struct soak_client *cl, const struct soak_spec *sp, enum client_expect expect)
{
	struct tpc_submit_args args;
	char input[96], name[24];
	uint32_t token;
	uint64_t id = 0;
	int hup_before, err;

	token = soak_job_new(sp, cl->cl_idx);
	client_input(token, sp, input, sizeof(input), name, sizeof(name));
	hup_before = soak_load(&soak_hup);
	err = tpc_submit(cl->cl_conn, client_args(&args, sp, input, name), &id);
	client_submitted(cl, sp, expect, token, hup_before, err, id);
}

/* A burst of pipelined submits, then their answers in order. */
static void
client_submit_burst(struct soak_client *cl)
{
	struct tpc_submit_args args;
	struct soak_spec specs[8];
	uint64_t reqids[8];
	uint32_t tokens[8];
	int hups[8];
	char input[96], name[24];
	Tpool__Response *resp;
	unsigned int i, n = 2 + soak_rand_below(&cl->cl_rng, 7);
	int err;

	for (i = 0; i < n; i++) {
		client_spec(cl, &specs[i]);
		tokens[i] = soak_job_new(&specs[i], cl->cl_idx);
		client_input(tokens[i], &specs[i], input, sizeof(input), name, sizeof(name));
		hups[i] = soak_load(&soak_hup);
		err = tpc_send_submit(cl->cl_conn, client_args(&args, &specs[i], input, name),
		    &reqids[i]);
		if (err != 0) {
			/* The connection failed: no answer will come to any of them. */
			for (n = 0; n <= i; n++)
				soak_job_lost(tokens[n]);
			client_failed(cl, "pipelined submit", err);
			n = 0;
			break;
		}
	}
	for (i = 0; i < n; i++) {
		resp = NULL;
		err = tpc_wait_response(cl->cl_conn, reqids[i], &resp);
		if (err == 0 && resp->body_case == TPOOL__RESPONSE__BODY_SUBMIT)
			client_submitted(cl, &specs[i], EXPECT_OK, tokens[i], hups[i], 0,
			    resp->submit->job_id);
		else if (err == 0)
			soak_violation("wrong-response", "client %d: a pipelined submit answered "
			    "with a response of kind %d", cl->cl_idx, (int)resp->body_case);
		else
			client_submitted(cl, &specs[i], EXPECT_OK, tokens[i], hups[i], err, 0);
		if (resp != NULL)
			tpool__response__free_unpacked(resp, NULL);
		if (cl->cl_dead) {
			for (i++; i < n; i++)
				soak_job_lost(tokens[i]);
			break;
		}
	}
}

static void
client_submit_bad(struct soak_client *cl)
{
	struct soak_spec sp;

	client_spec(cl, &sp);
	if (soak_load(&soak_hup) == SOAK_HUP_BEFORE && soak_rand_below(&cl->cl_rng, 2) == 0) {
		sp.ss_plugin = SOAK_PLUGIN2;
		client_submit(cl, &sp, EXPECT_UNKNOWN_PLUGIN);
		return;
	}
	sp.ss_plugin = SOAK_PLUGIN;
	sp.ss_pool = TPOOL__POOL_KIND__POOL_PERCPU;
	sp.ss_cpu = CLIENT_BAD_CPU;
	client_submit(cl, &sp, EXPECT_INVALID_CPU);
}

/* Pick a job: one of ours in flight, or anybody's recent one. */
static bool
client_pick(struct soak_client *cl, bool own, uint64_t *ret_id, uint32_t *ret_token)
{
	size_t i, n, k;

	if (own) {
		n = client_pending(cl, true);
		if (n == 0)
			return false;
		k = soak_rand_below(&cl->cl_rng, (unsigned int)n);
		for (i = 0; i < cl->cl_nfollow; i++) {
			if (cl->cl_follow[i].cf_done ||
			    cl->cl_follow[i].cf_kind != FOLLOW_SUBMITTED)
				continue;
			if (k-- == 0) {
				*ret_id = cl->cl_follow[i].cf_id;
				*ret_token = cl->cl_follow[i].cf_token;
				return true;
			}
		}
		return false;
	}
	return soak_ring_pick(&cl->cl_rng, ret_id, ret_token);
}

static void
client_cancel(struct soak_client *cl, bool own)
{
	Tpool__CancelReply *r;
	uint64_t id, t;
	uint32_t token;
	bool wait = soak_rand_below(&cl->cl_rng, 2) == 0;
	int err;

	if (!client_pick(cl, own, &id, &token))
		return;
	soak_job_cancel_sent(token);
	soak_count(SOAK_C_CANCELS, 1);
	if (wait)
		soak_count(SOAK_C_CANCELS_WAIT, 1);
	t = tu_now_ns();
	err = tpc_cancel(cl->cl_conn, id, wait, &r);
	if (err == 0) {
		soak_job_cancel_reply(token, r, wait, t);
		tpool__cancel_reply__free_unpacked(r, NULL);
	} else if (err == TPC_EDAEMON) {
		client_job_error(cl, token, id, t, "cancel");
	} else {
		client_failed(cl, "cancel", err);
	}
}

static void
client_watch_job(struct soak_client *cl, uint64_t id, uint32_t token,
    enum client_follow_kind kind, enum soak_src src)
{
	Tpool__WatchReply *wr;
	uint64_t t;
	size_t i;
	ssize_t k;
	int err;

	i = client_follow_add(cl, id, token, kind);
	soak_count(SOAK_C_WATCHES, 1);
	t = tu_now_ns();
	err = tpc_watch(cl->cl_conn, id, &wr);
	if (err == 0) {
		if (wr->job == NULL) {
			soak_violation("wrong-response", "client %d: a WatchReply for job %"
			    PRIu64 " without the job", cl->cl_idx, id);
		} else {
			soak_job_info(token, wr->job, src, t);
			if (tp_state_is_final(wr->job->state)) {
				cl->cl_follow[i].cf_done = true;
				cl->cl_follow[i].cf_done_src = (uint8_t)src;
			}
		}
		tpool__watch_reply__free_unpacked(wr, NULL);
		return;
	}
	if ((k = client_follow_find(cl, id)) >= 0)
		client_follow_remove(cl, (size_t)k);
	if (err == TPC_EDAEMON)
		client_job_error(cl, token, id, t, "watch");
	else
		client_failed(cl, "watch", err);
}

static void
client_watch(struct soak_client *cl)
{
	uint64_t id;
	uint32_t token;

	if (!soak_ring_pick(&cl->cl_rng, &id, &token) || client_follow_find(cl, id) >= 0)
		return;
	client_watch_job(cl, id, token, FOLLOW_WATCHED, SOAK_SRC_WATCH_REPLY);
}

static void
client_status(struct soak_client *cl)
{
	Tpool__StatusReply *sr;
	uint64_t id, t;
	uint32_t token;
	int err;

	if (!client_pick(cl, soak_rand_below(&cl->cl_rng, 2) == 0, &id, &token))
		return;
	soak_count(SOAK_C_STATUS, 1);
	t = tu_now_ns();
	err = tpc_status(cl->cl_conn, id, &sr);
	if (err == 0) {
		if (sr->n_jobs != 1)
			soak_violation("wrong-response", "client %d: status of job %" PRIu64
			    " listed %zu jobs", cl->cl_idx, id, sr->n_jobs);
		else
			soak_job_info(token, sr->jobs[0], SOAK_SRC_STATUS, t);
		tpool__status_reply__free_unpacked(sr, NULL);
	} else if (err == TPC_EDAEMON) {
		client_job_error(cl, token, id, t, "status");
	} else {
		client_failed(cl, "status", err);
	}
}

static void
client_status_all(struct soak_client *cl)
{
	Tpool__StatusReply *sr;
	uint32_t token;
	uint64_t t;
	size_t i;
	int err;

	soak_count(SOAK_C_STATUS_ALL, 1);
	t = tu_now_ns();
	err = tpc_status_all(cl->cl_conn, &sr);
	if (err != 0) {
		if (err == TPC_EDAEMON)
			soak_violation("unexpected-error", "client %d: status of all jobs "
			    "answered %s", cl->cl_idx, tp_error_name(tpc_last_error(cl->cl_conn,
			    NULL)));
		else
			client_failed(cl, "status of all jobs", err);
		return;
	}
	for (i = 0; i < sr->n_jobs; i++) {
		token = soak_token_from_name(sr->jobs[i]->name);
		/* Its submitter may not have its SubmitReply yet (id 0). */
		if (token != 0 && token <= soak_ledger_jobs() && soak_job_id(token) == 0)
			continue;
		if (token == 0 || token > soak_ledger_jobs() ||
		    soak_job_id(token) != sr->jobs[i]->job_id) {
			soak_violation("wrong-job", "client %d: status of all jobs listed job %"
			    PRIu64 " named '%s', which no client has", cl->cl_idx,
			    sr->jobs[i]->job_id, sr->jobs[i]->name != NULL ? sr->jobs[i]->name : "");
			continue;
		}
		soak_job_info(token, sr->jobs[i], SOAK_SRC_STATUS_ALL, t);
	}
	tpool__status_reply__free_unpacked(sr, NULL);
}

static void
client_stats(struct soak_client *cl)
{
	Tpool__StatsReply *st;
	int err;

	soak_count(SOAK_C_STATS, 1);
	err = tpc_stats(cl->cl_conn, &st);
	if (err == 0) {
		if (st->connections < 1)
			soak_violation("wrong-response", "client %d: stats count %u connections",
			    cl->cl_idx, st->connections);
		tpool__stats_reply__free_unpacked(st, NULL);
	} else if (err == TPC_EDAEMON) {
		soak_violation("unexpected-error", "client %d: stats answered %s", cl->cl_idx,
		    tp_error_name(tpc_last_error(cl->cl_conn, NULL)));
	} else {
		client_failed(cl, "stats", err);
	}
}

/*
 * Leave with jobs in flight; sometimes send a cancel --wait for one first
 * and do not wait for its answer.
 */
static void
client_disconnect(struct soak_client *cl)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Cancel cm = TPOOL__CANCEL__INIT;
	uint64_t id;
	uint32_t token;

	soak_count(SOAK_C_DISCONNECTS, 1);
	if (soak_rand_below(&cl->cl_rng, 2) == 0 && client_pick(cl, true, &id, &token)) {
		soak_job_cancel_sent(token);
		soak_count(SOAK_C_CANCELS, 1);
		soak_count(SOAK_C_CANCELS_LOST, 1);
		cm.has_job_id = true;
		cm.job_id = id;
		cm.has_wait = true;
		cm.wait = true;
		req.body_case = TPOOL__REQUEST__BODY_CANCEL;
		req.cancel = &cm;
		if (tpc_send_request(cl->cl_conn, &req, NULL) == 0)
			(void)tpc_flush(cl->cl_conn);
	}
	client_close(cl);
}

/*
 * Ask about the jobs an earlier connection left behind: status by id; a
 * job still in flight is watched.
 */
static void
client_resolve_orphans(struct soak_client *cl)
{
	Tpool__StatusReply *sr;
	uint32_t token;
	uint64_t id, t;
	size_t n = cl->cl_norphans;
	int err;

	while (n-- > 0 && !cl->cl_dead) {
		token = cl->cl_orphans[n];
		cl->cl_orphans[n] = cl->cl_orphans[--cl->cl_norphans];
		id = soak_job_id(token);
		soak_count(SOAK_C_STATUS, 1);
		t = tu_now_ns();
		err = tpc_status(cl->cl_conn, id, &sr);
		if (err == TPC_EDAEMON) {
			client_job_error(cl, token, id, t, "status after reconnecting");
			continue;
		}
		if (err != 0) {
			client_orphan_add(cl, token);
			client_failed(cl, "status after reconnecting", err);
			break;
		}
		if (sr->n_jobs != 1) {
			soak_violation("wrong-response", "client %d: status of job %" PRIu64
			    " listed %zu jobs", cl->cl_idx, id, sr->n_jobs);
		} else {
			soak_job_info(token, sr->jobs[0], SOAK_SRC_RECONNECT, t);
			if (!tp_state_is_final(sr->jobs[0]->state))
				client_watch_job(cl, id, token, FOLLOW_ORPHAN,
				    SOAK_SRC_WATCH_REPLY);
		}
		tpool__status_reply__free_unpacked(sr, NULL);
	}
}

/* ---------------------------------------------------------------- phases */

/* One session of the warm-up or load phase. */
static void
client_session(struct soak_client *cl)
{
	unsigned int nops = 5 + soak_rand_below(&cl->cl_rng, 40), i, r;

	if (!client_connect(cl)) {
		soak_sleep_ms(100);
		return;
	}
	client_resolve_orphans(cl);
	for (i = 0; i < nops && !cl->cl_dead && !soak_load(&soak_stop); i++) {
		r = soak_rand_below(&cl->cl_rng, 1000);
		if (r < 450) {
			struct soak_spec sp;

			if (client_pending(cl, true) >= CLIENT_MAX_INFLIGHT) {
				client_read_events(cl, 5);
				continue;
			}
			client_spec(cl, &sp);
			client_submit(cl, &sp, EXPECT_OK);
		} else if (r < 500) {
			if (client_pending(cl, true) < CLIENT_MAX_INFLIGHT)
				client_submit_burst(cl);
		} else if (r < 620) {
			client_cancel(cl, true);
		} else if (r < 650) {
			client_cancel(cl, false);
		} else if (r < 700) {
			client_watch(cl);
		} else if (r < 760) {
			client_status(cl);
		} else if (r < 761) {
			client_status_all(cl);
		} else if (r < 770) {
			client_stats(cl);
		} else if (r < 785) {
			client_submit_bad(cl);
		} else if (r < 800) {
			if (client_pending(cl, true) > 0) {
				client_disconnect(cl);
				soak_sleep_ms(soak_rand_below(&cl->cl_rng, 300));
				return;
			}
		} else {
			client_read_events(cl, soak_rand_below(&cl->cl_rng, 10));
		}
		if (!cl->cl_dead)
			client_read_events(cl, 0);
	}
	if (!cl->cl_dead)
		(void)client_wait_finals(cl, soak_cfg.sc_call_ms);
	client_close(cl);
}

/* After the phase: ask about every job left behind until all ended. */
static void
client_finish_orphans(struct soak_client *cl)
{
	unsigned int tries;

	for (tries = 0; cl->cl_norphans > 0 && tries < 20; tries++) {
		if (!client_connect(cl)) {
			soak_sleep_ms(100);
			continue;
		}
		client_resolve_orphans(cl);
		if (!cl->cl_dead)
			(void)client_wait_finals(cl, soak_cfg.sc_call_ms);
		client_close(cl);
	}
	if (cl->cl_norphans > 0)
		soak_violation("lost", "client %d: %zu jobs left behind still unresolved",
		    cl->cl_idx, cl->cl_norphans);
}

static void
client_final(struct soak_client *cl)
{
	struct soak_spec sp;
	unsigned int i, n = 2 + soak_rand_below(&cl->cl_rng, 4);
	bool leave = cl->cl_idx % 6 == 5, watcher = cl->cl_idx % 4 == 3;
	int err;

	if (client_connect(cl)) {
		for (i = 0; i < n && !cl->cl_dead; i++) {
			client_spec(cl, &sp);
			client_submit(cl, &sp, EXPECT_OK);
		}
	}
	err = pthread_barrier_wait(&client_barrier_in_flight);
	if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
		abort();
	if (cl->cl_conn != NULL && !cl->cl_dead) {
		if (watcher)
			for (i = 0; i < 3; i++)
				client_watch(cl);
		if (leave) {
			soak_count(SOAK_C_DISCONNECTS, 1);
			client_close(cl);
		}
	}
	err = pthread_barrier_wait(&client_barrier_term);
	if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
		abort();
	if (cl->cl_conn == NULL)
		return;
	/* A submit racing the SIGTERM: accepted (then cancelled) or refused. */
	if (!cl->cl_dead && soak_rand_below(&cl->cl_rng, 2) == 0) {
		soak_sleep_ms(soak_rand_below(&cl->cl_rng, 100));
		client_spec(cl, &sp);
		client_submit(cl, &sp, EXPECT_OK);
	}
	if (!client_wait_finals(cl, soak_cfg.sc_grace_ms + 10000 * soak_cfg.sc_slow)) {
		for (i = 0; i < cl->cl_nfollow; i++)
			if (!cl->cl_follow[i].cf_done)
				soak_violation("no-final-at-shutdown", "client %d: job %" PRIu64
				    " (token %u) got no final state before the daemon closed the "
				    "connection", cl->cl_idx, cl->cl_follow[i].cf_id,
				    cl->cl_follow[i].cf_token);
	}
	/* Nothing else may come, and the daemon must close the connection. */
	if (!cl->cl_dead)
		client_read_events(cl, soak_cfg.sc_grace_ms + 10000 * soak_cfg.sc_slow);
	cl->cl_nfollow = 0;
	tpc_free(cl->cl_conn);
	cl->cl_conn = NULL;
}

void *
soak_client_main(void *arg)
{
	struct soak_client *cl = arg;

	if (soak_load(&soak_phase) == SOAK_PHASE_FINAL) {
		client_final(cl);
		return NULL;
	}
	while (!soak_load(&soak_stop))
		client_session(cl);
	client_finish_orphans(cl);
	return NULL;
}

struct soak_client *
soak_client_new(int idx)
{
	struct soak_client *cl = calloc(1, sizeof(*cl));

	if (cl == NULL) {
		(void)fprintf(stderr, "soak: no memory\n");
		abort();
	}
	cl->cl_idx = idx;
	cl->cl_rng = soak_cfg.sc_seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(idx + 2));
	if (cl->cl_rng == 0)
		cl->cl_rng = 1;
	return cl;
}

void
soak_client_free(struct soak_client *cl)
{
	if (cl == NULL)
		return;
	tpc_free(cl->cl_conn);
	free(cl->cl_follow);
	free(cl->cl_orphans);
	free(cl);
}

void
soak_client_final_setup(unsigned int nclients)
{
	if (pthread_barrier_init(&client_barrier_in_flight, NULL, nclients + 1) != 0 ||
	    pthread_barrier_init(&client_barrier_term, NULL, nclients + 1) != 0)
		abort();
}

void
soak_client_final_in_flight(void)
{
	int err = pthread_barrier_wait(&client_barrier_in_flight);

	if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
		abort();
}

void
soak_client_final_go(void)
{
	int err = pthread_barrier_wait(&client_barrier_term);

	if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
		abort();
}

void
soak_client_final_done(void)
{
	(void)pthread_barrier_destroy(&client_barrier_in_flight);
	(void)pthread_barrier_destroy(&client_barrier_term);
}

/* ----------------------------------------------------------------- probe */

/* Submit one job and wait for its end; false if the daemon refused it. */
static bool
client_probe_one(struct soak_client *cl, const struct soak_spec *sp,
    Tpool__ErrorCode *ret_code)
{
	struct tpc_submit_args args;
	char input[96], name[24];
	uint32_t token;
	uint64_t id = 0;
	int err;

	token = soak_job_new(sp, cl->cl_idx);
	client_input(token, sp, input, sizeof(input), name, sizeof(name));
	err = tpc_submit(cl->cl_conn, client_args(&args, sp, input, name), &id);
	if (err == TPC_EDAEMON) {
		*ret_code = tpc_last_error(cl->cl_conn, NULL);
		soak_job_rejected(token, *ret_code);
		return false;
	}
	if (err != 0) {
		soak_job_lost(token);
		client_failed(cl, "probe submit", err);
		*ret_code = TPOOL__ERROR_CODE__ERROR_UNSPECIFIED;
		return false;
	}
	soak_job_accepted(token, id);
	(void)client_follow_add(cl, id, token, FOLLOW_SUBMITTED);
	(void)client_wait_finals(cl, soak_cfg.sc_call_ms);
	return true;
}

int
soak_client_probe(void)
{
	static const int candidates[] = { -1, 0, 9, 19, 29, 40 };
	struct soak_client *cl = soak_client_new(-1);
	struct soak_spec sp;
	Tpool__StatsReply *st = NULL;
	Tpool__ErrorCode code;
	unsigned int i, k;
	size_t p;
	int err, result = 0;

	if (!client_connect(cl)) {
		soak_client_free(cl);
		return ECONNREFUSED;
	}
	memset(&sp, 0, sizeof(sp));
	sp.ss_plugin = SOAK_PLUGIN;
	soak_cfg.sc_npris = 0;
	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		sp.ss_pool = TPOOL__POOL_KIND__POOL_UNBOUND;
		sp.ss_pri = candidates[i];
		sp.ss_cpu = -1;
		if (client_probe_one(cl, &sp, &code)) {
			soak_cfg.sc_pris[soak_cfg.sc_npris++] = candidates[i];
			continue;
		}
		if (code != TPOOL__ERROR_CODE__ERROR_PERMISSION) {
			soak_violation("probe", "a job at priority %d answered %s", candidates[i],
			    tp_error_name(code));
			result = EPROTO;
		} else {
			soak_log("priority %d is not permitted to the daemon: left out",
			    candidates[i]);
		}
	}
	/* The per-CPU set: one job on "any" makes its pools, stats list them. */
	sp.ss_pool = TPOOL__POOL_KIND__POOL_PERCPU;
	sp.ss_pri = -1;
	sp.ss_cpu = -1;
	if (soak_cfg.sc_npris == 0 || !client_probe_one(cl, &sp, &code) ||
	    (err = tpc_stats(cl->cl_conn, &st)) != 0) {
		soak_violation("probe", "the daemon took no job on its per-CPU pools");
		soak_client_free(cl);
		return EPROTO;
	}
	soak_cfg.sc_ncpus = 0;
	for (p = 0; p < st->n_pools; p++)
		if (st->pools[p]->pool == TPOOL__POOL_KIND__POOL_PERCPU &&
		    st->pools[p]->priority == -1 && soak_cfg.sc_ncpus < SOAK_MAX_CPUS)
			soak_cfg.sc_cpus[soak_cfg.sc_ncpus++] = st->pools[p]->cpu;
	tpool__stats_reply__free_unpacked(st, NULL);
	if (soak_cfg.sc_ncpus == 0) {
		soak_violation("probe", "stats list no per-CPU pool after a per-CPU job");
		soak_client_free(cl);
		return EPROTO;
	}
	/* Touch every pool the load will use, so the baseline has them all. */
	for (i = 0; i < soak_cfg.sc_npris; i++) {
		sp.ss_pri = soak_cfg.sc_pris[i];
		sp.ss_pool = TPOOL__POOL_KIND__POOL_PERCPU;
		for (k = 0; k < soak_cfg.sc_ncpus; k++) {
			sp.ss_cpu = soak_cfg.sc_cpus[k];
			if (!client_probe_one(cl, &sp, &code)) {
				soak_violation("probe", "a job on CPU %d at priority %d answered %s",
				    sp.ss_cpu, sp.ss_pri, tp_error_name(code));
				result = EPROTO;
			}
		}
	}
	/* soakrec2 is not there before the SIGHUP. */
	sp.ss_plugin = SOAK_PLUGIN2;
	sp.ss_pool = TPOOL__POOL_KIND__POOL_UNBOUND;
	sp.ss_pri = -1;
	sp.ss_cpu = -1;
	if (client_probe_one(cl, &sp, &code) ||
	    code != TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN) {
		soak_violation("probe", "a job to %s before the SIGHUP was not refused "
		    "ERROR_UNKNOWN_PLUGIN", SOAK_PLUGIN2);
		result = EPROTO;
	}
	if (cl->cl_dead)
		result = ECONNRESET;
	client_close(cl);
	soak_client_free(cl);
	return result;
}
