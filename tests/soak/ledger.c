/*
 * ledger.c -- the soak's own record of every job and every answer, and the
 * proofs drawn from it.
 *
 * Every job a client submits gets a token (its index in the ledger, plus
 * one), which travels in the job's input (the plugin writes it in the run
 * ledger) and in its name ("s<token>", which every JobInfo carries back).
 * What the daemon says about the job is checked as it comes:
 *
 *	a final state	against every other final state seen for the job
 *			(one state, one "ran or not"), against what the job
 *			was asked to do (result "tok=<token>", failure only
 *			when asked to fail, cancelled only after a cancel
 *			request or at shutdown), and counted once;
 *	a JobFinished	on the submitter's connection: at most one;
 *	a non-final	JobInfo: not after a final state seen before the
 *			request was sent (nor QUEUED after its JobStarted);
 *	a cancel answer	CANCEL_BEFORE_RUN only once, not after the job was
 *			seen started or finished, with the job cancelled;
 *			ALREADY_FINISHED with a final job; a --wait answer
 *			with a final job;
 *	ERROR_NO_SUCH_JOB only once the job may have been forgotten
 *			(--finished-ttl after its submit was sent).
 *
 * At the end (soak_ledger_prove) the plugin's run ledger is read and every
 * job is checked: an accepted job has a final state (or its submitter left
 * in the final phase and nobody watched it: the documented behaviour); it
 * ran iff its final JobInfo says it ran (ran_on_cpu), at most once; a job
 * answered CANCEL_BEFORE_RUN, or refused, never ran; a succeeded job ran
 * exactly once and ended its run well.
 *
 * Locking: everything here is under ledger_lock (l), taken by every
 * function and never held across a call out of this file.
 *
 * (Over 800 lines: the checks made as answers come, the totals, the proof
 * and the self-test all work on the ledger under ledger_lock, which no
 * other file may see.)
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soak.h"

#define	LEDGER_CHUNK		65536u		/* jobs per chunk */
#define	LEDGER_MAX_CHUNKS	4096u		/* 268 M jobs */
#define	LEDGER_RING		4096u		/* recent jobs for picking */
#define	LEDGER_KEEP_VIOLATIONS	64u

/* sj_flags */
#define	SJ_SPIN		0x01u
#define	SJ_FAIL		0x02u
#define	SJ_ORPHAN	0x04u	/* its submitter disconnected before its end */
#define	SJ_FINAL_PHASE	0x08u	/* submitted in the SIGTERM phase */
#define	SJ_CANCEL_SENT	0x10u	/* somebody sent a cancel for it */
#define	SJ_CRASH	0x20u	/* to crash its worker (soakcrash) */

/* sj_status */
enum { SJ_SUBMITTING, SJ_ACCEPTED, SJ_REJECTED, SJ_LOST };

/* One job, l. */
struct soak_job {
	uint64_t	sj_id;		/* the daemon's id, 0 until accepted */
	uint64_t	sj_run_id;	/* the id its run ledger line says */
	uint64_t	sj_sent_ns;	/* its submit was sent */
	uint64_t	sj_final_ns;	/* its first final state was seen, or 0 */
	uint64_t	sj_started_ns;	/* its first JobStarted was seen, or 0 */
	uint64_t	sj_gone_ns;	/* first answered ERROR_NO_SUCH_JOB, or 0 */
	int16_t		sj_client;	/* -1: the main thread */
	uint16_t	sj_ms;
	uint8_t		sj_flags;
	uint8_t		sj_status;
	uint8_t		sj_final;	/* Tpool__JobState, 0 none yet */
	uint8_t		sj_final_src;	/* enum soak_src of the first */
	int8_t		sj_ran;		/* per its final JobInfo: -1 unknown, 0, 1 */
	uint8_t		sj_sub_finished; /* JobFinished events to its submitter */
	uint8_t		sj_before_run;	/* CANCEL_BEFORE_RUN answers */
	uint8_t		sj_runs;	/* "R" lines in the run ledger */
	uint8_t		sj_ok_ends;	/* "X ... S" lines */
	uint8_t		sj_phase;
};

static pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;
static struct soak_job *ledger_chunks[LEDGER_MAX_CHUNKS];	/* l */
static uint32_t ledger_njobs;					/* l */
static struct {
	uint64_t	lr_id;
	uint32_t	lr_token;
} ledger_ring[LEDGER_RING];					/* l */
static uint64_t ledger_ring_n;					/* l: ever put */
static uint64_t ledger_counters[SOAK_C_COUNT];			/* l */
static char *ledger_violation_msgs[LEDGER_KEEP_VIOLATIONS];	/* l */
static unsigned int ledger_nviolations;				/* l */
static struct {
	const char	*lk_kind;	/* a string constant of the caller's */
	unsigned int	lk_n;
	bool		lk_allowed;	/* --allow: reported, not failing */
	char		*lk_first;	/* the first one's message */
} ledger_kinds[32];						/* l */

static const char *const soak_src_names[SOAK_SRC_COUNT] = {
	[SOAK_SRC_EVENT] = "JobFinished to its submitter",
	[SOAK_SRC_WATCH_EVENT] = "JobFinished to a watcher",
	[SOAK_SRC_WATCH_REPLY] = "WatchReply",
	[SOAK_SRC_CANCEL] = "CancelReply",
	[SOAK_SRC_STATUS] = "status",
	[SOAK_SRC_STATUS_ALL] = "status of all jobs",
	[SOAK_SRC_RECONNECT] = "status after reconnecting",
};

const char *
soak_src_name(unsigned int src)
{
	return src < SOAK_SRC_COUNT ? soak_src_names[src] : "?";
}

/* ------------------------------------------------------------ violations */

static void
ledger_violation_locked(const char *kind, const char *fmt, va_list ap)
{
	char buf[512];
	size_t i;
	int n;

	n = snprintf(buf, sizeof(buf), "%s: ", kind);
	(void)vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	for (i = 0; i < sizeof(ledger_kinds) / sizeof(ledger_kinds[0]); i++) {
		if (ledger_kinds[i].lk_kind == NULL || strcmp(ledger_kinds[i].lk_kind, kind) == 0) {
			ledger_kinds[i].lk_kind = kind;
			if (ledger_kinds[i].lk_n++ == 0)
				ledger_kinds[i].lk_first = strdup(buf);
			break;
		}
	}
	if (i < sizeof(ledger_kinds) / sizeof(ledger_kinds[0]) && ledger_kinds[i].lk_allowed)
		return;
	ledger_nviolations++;
	if (ledger_nviolations <= LEDGER_KEEP_VIOLATIONS)
		ledger_violation_msgs[ledger_nviolations - 1] = strdup(buf);
}

int
soak_violation_allow(const char *kind)
{
	size_t i;

	(void)pthread_mutex_lock(&ledger_lock);
	for (i = 0; i < sizeof(ledger_kinds) / sizeof(ledger_kinds[0]); i++) {
		if (ledger_kinds[i].lk_kind == NULL || strcmp(ledger_kinds[i].lk_kind, kind) == 0) {
			ledger_kinds[i].lk_kind = kind;
			ledger_kinds[i].lk_allowed = true;
			break;
		}
	}
	(void)pthread_mutex_unlock(&ledger_lock);
	return i < sizeof(ledger_kinds) / sizeof(ledger_kinds[0]) ? 0 : ENOSPC;
}

static void ledger_violate(const char *kind, const char *fmt, ...)
	__attribute__((__format__(__printf__, 2, 3)));

/* With ledger_lock held. */
static void
ledger_violate(const char *kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ledger_violation_locked(kind, fmt, ap);
	va_end(ap);
}

void
soak_violation(const char *kind, const char *fmt, ...)
{
	va_list ap;

	(void)pthread_mutex_lock(&ledger_lock);
	va_start(ap, fmt);
	ledger_violation_locked(kind, fmt, ap);
	va_end(ap);
	(void)pthread_mutex_unlock(&ledger_lock);
}

unsigned int
soak_violation_count(const char *kind)
{
	unsigned int n = 0;
	size_t i;

	(void)pthread_mutex_lock(&ledger_lock);
	for (i = 0; i < sizeof(ledger_kinds) / sizeof(ledger_kinds[0]); i++)
		if (ledger_kinds[i].lk_kind != NULL && strcmp(ledger_kinds[i].lk_kind, kind) == 0)
			n = ledger_kinds[i].lk_n;
	(void)pthread_mutex_unlock(&ledger_lock);
	return n;
}

unsigned int
soak_violations(void)
{
	unsigned int n;

	(void)pthread_mutex_lock(&ledger_lock);
	n = ledger_nviolations;
	(void)pthread_mutex_unlock(&ledger_lock);
	return n;
}

void
soak_violations_print(void)
{
	unsigned int i;

	(void)pthread_mutex_lock(&ledger_lock);
	for (i = 0; i < sizeof(ledger_kinds) / sizeof(ledger_kinds[0]) &&
	    ledger_kinds[i].lk_kind != NULL; i++)
		if (ledger_kinds[i].lk_n != 0)
			(void)fprintf(stderr, "%s of kind %s: %u (the first: %s)\n",
			    ledger_kinds[i].lk_allowed ? "ALLOWED violations (--allow)" :
			    "violations", ledger_kinds[i].lk_kind, ledger_kinds[i].lk_n,
			    ledger_kinds[i].lk_first != NULL ? ledger_kinds[i].lk_first : "?");
	for (i = 0; i < ledger_nviolations && i < LEDGER_KEEP_VIOLATIONS; i++)
		(void)fprintf(stderr, "VIOLATION %s\n", ledger_violation_msgs[i] != NULL ?
		    ledger_violation_msgs[i] : "(no memory for its message)");
	if (ledger_nviolations > LEDGER_KEEP_VIOLATIONS)
		(void)fprintf(stderr, "... and %u more violations\n",
		    ledger_nviolations - LEDGER_KEEP_VIOLATIONS);
	(void)pthread_mutex_unlock(&ledger_lock);
}

/* -------------------------------------------------------------- counters */

void
soak_count(enum soak_counter c, uint64_t n)
{
	(void)pthread_mutex_lock(&ledger_lock);
	ledger_counters[c] += n;
	(void)pthread_mutex_unlock(&ledger_lock);
}

uint64_t
soak_counter(enum soak_counter c)
{
	uint64_t v;

	(void)pthread_mutex_lock(&ledger_lock);
	v = ledger_counters[c];
	(void)pthread_mutex_unlock(&ledger_lock);
	return v;
}

/* ------------------------------------------------------------------ jobs */

static struct soak_job *
ledger_job_locked(uint32_t token)
{
	uint32_t i = token - 1;

	if (token == 0 || token > ledger_njobs)
		return NULL;
	return &ledger_chunks[i / LEDGER_CHUNK][i % LEDGER_CHUNK];
}

/* A job every caller got from us: a missing one is the soak's own bug. */
static struct soak_job *
ledger_job_must_locked(uint32_t token)
{
	struct soak_job *j = ledger_job_locked(token);

	if (j == NULL) {
		(void)fprintf(stderr, "soak: internal error: no job of token %u\n", token);
		abort();
	}
	return j;
}

uint32_t
soak_job_new(const struct soak_spec *sp, int client)
{
	struct soak_job *j;
	uint32_t i;

	(void)pthread_mutex_lock(&ledger_lock);
	i = ledger_njobs;
	if (i / LEDGER_CHUNK >= LEDGER_MAX_CHUNKS) {
		(void)fprintf(stderr, "soak: more than %u jobs\n", LEDGER_MAX_CHUNKS * LEDGER_CHUNK);
		abort();
	}
	if (ledger_chunks[i / LEDGER_CHUNK] == NULL) {
		ledger_chunks[i / LEDGER_CHUNK] = calloc(LEDGER_CHUNK, sizeof(struct soak_job));
		if (ledger_chunks[i / LEDGER_CHUNK] == NULL) {
			(void)fprintf(stderr, "soak: no memory for the ledger\n");
			abort();
		}
	}
	ledger_njobs++;
	j = ledger_job_must_locked(i + 1);
	j->sj_client = (int16_t)client;
	j->sj_ms = (uint16_t)sp->ss_ms;
	j->sj_flags = (sp->ss_spin ? SJ_SPIN : 0) | (sp->ss_fail ? SJ_FAIL : 0) |
	    (sp->ss_crash ? SJ_CRASH : 0);
	j->sj_phase = (uint8_t)soak_load(&soak_phase);
	if (j->sj_phase == SOAK_PHASE_FINAL)
		j->sj_flags |= SJ_FINAL_PHASE;
	j->sj_status = SJ_SUBMITTING;
	j->sj_ran = -1;
	j->sj_sent_ns = tu_now_ns();
	ledger_counters[SOAK_C_SUBMITTED]++;
	(void)pthread_mutex_unlock(&ledger_lock);
	return i + 1;
}

void
soak_job_accepted(uint32_t token, uint64_t id)
{
	struct soak_job *j;

	(void)pthread_mutex_lock(&ledger_lock);
	j = ledger_job_must_locked(token);
	j->sj_status = SJ_ACCEPTED;
	j->sj_id = id;
	ledger_counters[SOAK_C_ACCEPTED]++;
	ledger_ring[ledger_ring_n % LEDGER_RING].lr_id = id;
	ledger_ring[ledger_ring_n % LEDGER_RING].lr_token = token;
	ledger_ring_n++;
	(void)pthread_mutex_unlock(&ledger_lock);
}

void
soak_job_rejected(uint32_t token, Tpool__ErrorCode code)
{
	(void)pthread_mutex_lock(&ledger_lock);
	ledger_job_must_locked(token)->sj_status = SJ_REJECTED;
	ledger_counters[SOAK_C_REJECTED]++;
	if (code == TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN)
		ledger_counters[SOAK_C_REJ_UNKNOWN_PLUGIN]++;
	else if (code == TPOOL__ERROR_CODE__ERROR_INVALID_CPU)
		ledger_counters[SOAK_C_REJ_INVALID_CPU]++;
	else if (code == TPOOL__ERROR_CODE__ERROR_SHUTTING_DOWN)
		ledger_counters[SOAK_C_REJ_SHUTTING_DOWN]++;
	(void)pthread_mutex_unlock(&ledger_lock);
}

void
soak_job_lost(uint32_t token)
{
	(void)pthread_mutex_lock(&ledger_lock);
	ledger_job_must_locked(token)->sj_status = SJ_LOST;
	(void)pthread_mutex_unlock(&ledger_lock);
}

void
soak_job_orphaned(uint32_t token)
{
	struct soak_job *j;

	(void)pthread_mutex_lock(&ledger_lock);
	j = ledger_job_must_locked(token);
	if ((j->sj_flags & SJ_ORPHAN) == 0)
		ledger_counters[SOAK_C_ORPHANS]++;
	j->sj_flags |= SJ_ORPHAN;
	(void)pthread_mutex_unlock(&ledger_lock);
}

void
soak_job_cancel_sent(uint32_t token)
{
	(void)pthread_mutex_lock(&ledger_lock);
	ledger_job_must_locked(token)->sj_flags |= SJ_CANCEL_SENT;
	(void)pthread_mutex_unlock(&ledger_lock);
}

void
soak_job_started(uint32_t token)
{
	struct soak_job *j;

	(void)pthread_mutex_lock(&ledger_lock);
	j = ledger_job_must_locked(token);
	if (j->sj_started_ns == 0)
		j->sj_started_ns = tu_now_ns();
	(void)pthread_mutex_unlock(&ledger_lock);
}

uint64_t
soak_job_id(uint32_t token)
{
	uint64_t id;

	(void)pthread_mutex_lock(&ledger_lock);
	id = ledger_job_must_locked(token)->sj_id;
	(void)pthread_mutex_unlock(&ledger_lock);
	return id;
}

uint32_t
soak_token_from_name(const char *name)
{
	unsigned long v;
	char *end;

	if (name == NULL || name[0] != 's' || name[1] < '1' || name[1] > '9')
		return 0;
	errno = 0;
	v = strtoul(name + 1, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

bool
soak_ring_pick(uint64_t *rng, uint64_t *ret_id, uint32_t *ret_token)
{
	uint64_t n;
	unsigned int i;

	(void)pthread_mutex_lock(&ledger_lock);
	n = ledger_ring_n < LEDGER_RING ? ledger_ring_n : LEDGER_RING;
	if (n == 0) {
		(void)pthread_mutex_unlock(&ledger_lock);
		return false;
	}
	/* Mostly among the newest: those are the ones still in flight. */
	if (soak_rand_below(rng, 4) != 0 && n > 64)
		n = 64;
	i = soak_rand_below(rng, (unsigned int)n);
	i = (unsigned int)((ledger_ring_n - 1 - i) % LEDGER_RING);
	*ret_id = ledger_ring[i].lr_id;
	*ret_token = ledger_ring[i].lr_token;
	(void)pthread_mutex_unlock(&ledger_lock);
	return true;
}

size_t
soak_ledger_jobs(void)
{
	size_t n;

	(void)pthread_mutex_lock(&ledger_lock);
	n = ledger_njobs;
	(void)pthread_mutex_unlock(&ledger_lock);
	return n;
}

/* ----------------------------------------------------- what the daemon said */

/* A final state, first seen: is it what the job was asked to do? */
static void
ledger_first_final_locked(struct soak_job *j, uint32_t token, const Tpool__JobInfo *ji,
    enum soak_src src)
{
	char want[32];
	int n;

	j->sj_final = (uint8_t)ji->state;
	j->sj_final_src = (uint8_t)src;
	j->sj_final_ns = tu_now_ns();
	switch (ji->state) {
	case TPOOL__JOB_STATE__JOB_SUCCEEDED:
		ledger_counters[SOAK_C_SUCCEEDED]++;
		if (j->sj_flags & (SJ_FAIL | SJ_CRASH))
			ledger_violate("wrong-outcome", "job %" PRIu64 " (token %u) was to fail "
			    "but SUCCEEDED (%s)", j->sj_id, token, soak_src_names[src]);
		n = snprintf(want, sizeof(want), "tok=%u", token);
		if (ji->has_result && (ji->result.len != (size_t)n ||
		    memcmp(ji->result.data, want, (size_t)n) != 0))
			ledger_violate("wrong-result", "job %" PRIu64 " (token %u): result "
			    "'%.*s', expected '%s' (%s)", j->sj_id, token,
			    (int)(ji->result.len > 40 ? 40 : ji->result.len),
			    (const char *)ji->result.data, want, soak_src_names[src]);
		break;
	case TPOOL__JOB_STATE__JOB_FAILED:
		ledger_counters[SOAK_C_FAILED]++;
		if (j->sj_flags & SJ_CRASH)
			ledger_counters[SOAK_C_CRASHED]++;
		if (ji->message == NULL || ((j->sj_flags & SJ_CRASH) ?
		    strstr(ji->message, "plugin crashed") == NULL :
		    (j->sj_flags & SJ_FAIL) == 0 ||
		    strstr(ji->message, "soak failure") == NULL))
			ledger_violate("unexpected-failure", "job %" PRIu64 " (token %u) FAILED: "
			    "%s (%s)", j->sj_id, token, ji->message != NULL ? ji->message :
			    "(no message)", soak_src_names[src]);
		break;
	case TPOOL__JOB_STATE__JOB_CANCELLED:
		ledger_counters[SOAK_C_CANCELLED]++;
		if ((j->sj_flags & (SJ_CANCEL_SENT | SJ_FINAL_PHASE)) == 0)
			ledger_violate("spurious-cancel", "job %" PRIu64 " (token %u) CANCELLED "
			    "(%s) but nobody cancelled it and the daemon was not stopping",
			    j->sj_id, token, ji->message != NULL ? ji->message : "");
		break;
	default:
		break;
	}
}

void
soak_job_info(uint32_t token, const Tpool__JobInfo *ji, enum soak_src src, uint64_t t_sent)
{
	struct soak_job *j;
	int ran;

	(void)pthread_mutex_lock(&ledger_lock);
	j = ledger_job_must_locked(token);
	if (ji->job_id != j->sj_id || (ji->name != NULL &&
	    soak_token_from_name(ji->name) != token)) {
		ledger_violate("wrong-job", "a %s for job %" PRIu64 " (token %u) describes "
		    "job %" PRIu64 " named '%s'", soak_src_names[src], j->sj_id, token,
		    ji->job_id, ji->name != NULL ? ji->name : "");
		goto out;
	}
	if (!tp_state_is_final(ji->state)) {
		if (src == SOAK_SRC_EVENT || src == SOAK_SRC_WATCH_EVENT)
			ledger_violate("non-final-finished", "JobFinished of job %" PRIu64
			    " (token %u) in state %s", j->sj_id, token,
			    tp_state_name(ji->state));
		else if (j->sj_final_ns != 0 && j->sj_final_ns < t_sent)
			ledger_violate("final-regressed", "job %" PRIu64 " (token %u): a %s "
			    "says %s after its final state %s was reported", j->sj_id, token,
			    soak_src_names[src], tp_state_name(ji->state),
			    tp_state_name(j->sj_final));
		else if (ji->state == TPOOL__JOB_STATE__JOB_QUEUED &&
		    j->sj_started_ns != 0 && j->sj_started_ns < t_sent)
			ledger_violate("start-regressed", "job %" PRIu64 " (token %u): a %s says "
			    "QUEUED after its JobStarted", j->sj_id, token, soak_src_names[src]);
		goto out;
	}
	ran = ji->has_ran_on_cpu ? (ji->ran_on_cpu >= 0) : -1;
	if (j->sj_final == 0) {
		ledger_first_final_locked(j, token, ji, src);
		j->sj_ran = (int8_t)ran;
	} else if (j->sj_final != ji->state) {
		ledger_violate("two-final-states", "job %" PRIu64 " (token %u): %s from a %s, "
		    "then %s from a %s", j->sj_id, token, tp_state_name(j->sj_final),
		    soak_src_names[j->sj_final_src], tp_state_name(ji->state),
		    soak_src_names[src]);
	} else if (ran != -1 && j->sj_ran != -1 && ran != j->sj_ran) {
		ledger_violate("two-final-states", "job %" PRIu64 " (token %u): %s and %s "
		    "disagree on whether it ran", j->sj_id, token,
		    soak_src_names[j->sj_final_src], soak_src_names[src]);
	} else if (j->sj_ran == -1) {
		j->sj_ran = (int8_t)ran;
	}
	if (src == SOAK_SRC_EVENT && ++j->sj_sub_finished > 1)
		ledger_violate("duplicate-report", "job %" PRIu64 " (token %u): %u JobFinished "
		    "events to its submitter", j->sj_id, token, j->sj_sub_finished);
out:
	(void)pthread_mutex_unlock(&ledger_lock);
}

void
soak_job_cancel_reply(uint32_t token, const Tpool__CancelReply *r, bool wait, uint64_t t_sent)
{
	struct soak_job *j;
	unsigned int res = r->has_result ? (unsigned int)r->result : 0;
	bool consistent = true;

	(void)pthread_mutex_lock(&ledger_lock);
	j = ledger_job_must_locked(token);
	switch (res) {
	case TPOOL__CANCEL_RESULT__CANCEL_BEFORE_RUN:
		ledger_counters[SOAK_C_BEFORE_RUN]++;
		if (++j->sj_before_run > 1)
			ledger_violate("cancel-answer-false", "job %" PRIu64 " (token %u) "
			    "answered CANCEL_BEFORE_RUN %u times", j->sj_id, token,
			    j->sj_before_run);
		if (j->sj_started_ns != 0 && j->sj_started_ns < t_sent)
			ledger_violate("cancel-answer-false", "job %" PRIu64 " (token %u) "
			    "answered CANCEL_BEFORE_RUN after its JobStarted was seen",
			    j->sj_id, token);
		if (r->job != NULL && r->job->state != TPOOL__JOB_STATE__JOB_CANCELLED)
			consistent = false;
		break;
	case TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE:
		ledger_counters[SOAK_C_TOO_LATE]++;
		if (wait && (r->job == NULL || !tp_state_is_final(r->job->state)))
			consistent = false;
		break;
	case TPOOL__CANCEL_RESULT__CANCEL_ALREADY_FINISHED:
		ledger_counters[SOAK_C_ALREADY]++;
		if (r->job != NULL && !tp_state_is_final(r->job->state))
			consistent = false;
		break;
	default:
		ledger_violate("cancel-answer-false", "job %" PRIu64 " (token %u): a cancel "
		    "answered with no result", j->sj_id, token);
		break;
	}
	if (!consistent)
		ledger_violate("cancel-answer-false", "job %" PRIu64 " (token %u): %s%s with "
		    "the job %s", j->sj_id, token, tp_cancel_result_name(res), wait ? " (wait)" : "",
		    r->job != NULL ? tp_state_name(r->job->state) : "missing");
	if (res != TPOOL__CANCEL_RESULT__CANCEL_ALREADY_FINISHED && j->sj_final_ns != 0 &&
	    j->sj_final_ns < t_sent)
		ledger_violate("cancel-answer-false", "job %" PRIu64 " (token %u) answered %s "
		    "after its final state %s was reported", j->sj_id, token,
		    tp_cancel_result_name(res), tp_state_name(j->sj_final));
	(void)pthread_mutex_unlock(&ledger_lock);
	if (r->job != NULL)
		soak_job_info(token, r->job, SOAK_SRC_CANCEL, t_sent);
}

void
soak_job_unknown(uint32_t token, uint64_t t_sent, const char *what)
{
	struct soak_job *j;
	uint64_t now = tu_now_ns();

	(void)pthread_mutex_lock(&ledger_lock);
	j = ledger_job_must_locked(token);
	ledger_counters[SOAK_C_GONE]++;
	if (j->sj_gone_ns == 0)
		j->sj_gone_ns = now;
	/*
	 * Forgetting a job takes --finished-ttl after its end, and it ended
	 * after its submit was sent (--finished-keep is far above what the
	 * soak keeps in flight).
	 */
	if (now - j->sj_sent_ns < (uint64_t)soak_cfg.sc_ttl_ms * 1000000u)
		ledger_violate("forgotten-early", "job %" PRIu64 " (token %u): %s answered "
		    "ERROR_NO_SUCH_JOB %" PRIu64 " ms after its submit (--finished-ttl %u ms)",
		    j->sj_id, token, what, (now - j->sj_sent_ns) / 1000000u,
		    soak_cfg.sc_ttl_ms);
	(void)t_sent;
	(void)pthread_mutex_unlock(&ledger_lock);
}

/* ---------------------------------------------------------------- totals */

void
soak_ledger_check_totals(const Tpool__StatsReply *st)
{
	static const struct {
		const char	*name;
		enum soak_counter c;
		size_t		off;
	} rows[] = {
		{ "jobs_accepted", SOAK_C_ACCEPTED, offsetof(Tpool__StatsReply, jobs_accepted) },
		{ "jobs_succeeded", SOAK_C_SUCCEEDED, offsetof(Tpool__StatsReply, jobs_succeeded) },
		{ "jobs_failed", SOAK_C_FAILED, offsetof(Tpool__StatsReply, jobs_failed) },
		{ "jobs_cancelled", SOAK_C_CANCELLED, offsetof(Tpool__StatsReply, jobs_cancelled) },
	};
	uint64_t theirs;
	size_t i;

	(void)pthread_mutex_lock(&ledger_lock);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memcpy(&theirs, (const char *)st + rows[i].off, sizeof(theirs));
		if (theirs != ledger_counters[rows[i].c])
			ledger_violate("daemon-totals", "the daemon counts %s = %" PRIu64
			    ", the soak's ledger %" PRIu64, rows[i].name, theirs,
			    ledger_counters[rows[i].c]);
	}
	if (st->jobs_in_flight != 0)
		ledger_violate("daemon-totals", "%u jobs in flight when all should be done",
		    st->jobs_in_flight);
	(void)pthread_mutex_unlock(&ledger_lock);
}

/* ----------------------------------------------------------------- proof */

/* Read the plugin's run ledger into the jobs. */
static void
ledger_read_runs_locked(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[128], how;
	unsigned long long token, id;
	struct soak_job *j;
	unsigned long lineno = 0;

	if (f == NULL) {
		ledger_violate("run-ledger", "cannot read %s: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (sscanf(line, "R %llu %llu", &token, &id) == 2) {
			if (token > UINT32_MAX || (j = ledger_job_locked((uint32_t)token)) == NULL) {
				ledger_violate("phantom-run", "the plugin ran token %llu (job "
				    "%llu), which no client submitted", token, id);
				continue;
			}
			if (j->sj_runs < UINT8_MAX)
				j->sj_runs++;
			j->sj_run_id = id;
		} else if (sscanf(line, "X %llu %c", &token, &how) == 2) {
			if (token > UINT32_MAX || (j = ledger_job_locked((uint32_t)token)) == NULL)
				continue;	/* its R line said it */
			if (how == 'S' && j->sj_ok_ends < UINT8_MAX)
				j->sj_ok_ends++;
		} else {
			ledger_violate("run-ledger", "%s:%lu: a line that is neither R nor X: %s",
			    path, lineno, line);
		}
	}
	(void)fclose(f);
}

void
soak_ledger_prove(const char *run_ledger)
{
	struct soak_job *j;
	uint32_t token;
	uint64_t unobserved = 0;

	(void)pthread_mutex_lock(&ledger_lock);
	ledger_read_runs_locked(run_ledger);
	for (token = 1; token <= ledger_njobs; token++) {
		j = ledger_job_must_locked(token);
		if (j->sj_runs > 1)
			ledger_violate("ran-twice", "job %" PRIu64 " (token %u) ran %u times",
			    j->sj_id, token, j->sj_runs);
		switch (j->sj_status) {
		case SJ_REJECTED:
			if (j->sj_runs != 0)
				ledger_violate("refused-ran", "token %u was refused at submit but "
				    "ran (as job %" PRIu64 ")", token, j->sj_run_id);
			continue;
		case SJ_SUBMITTING:
		case SJ_LOST:
			/* No answer to its submit: nothing was promised. */
			continue;
		default:
			break;
		}
		if (j->sj_runs != 0 && j->sj_run_id != j->sj_id)
			ledger_violate("wrong-job", "token %u: accepted as job %" PRIu64 ", ran as "
			    "job %" PRIu64, token, j->sj_id, j->sj_run_id);
		if (j->sj_before_run != 0 && j->sj_runs != 0)
			ledger_violate("cancel-answer-false", "job %" PRIu64 " (token %u) was "
			    "answered CANCEL_BEFORE_RUN but ran", j->sj_id, token);
		if (j->sj_final == 0) {
			if ((j->sj_flags & (SJ_FINAL_PHASE | SJ_ORPHAN)) ==
			    (SJ_FINAL_PHASE | SJ_ORPHAN)) {
				/* Its submitter left before SIGTERM, nobody watched. */
				unobserved++;
				continue;
			}
			if (j->sj_gone_ns != 0)
				ledger_violate("lost", "job %" PRIu64 " (token %u, client "
				    "%d%s) was accepted but no final state was ever seen; "
				    "ERROR_NO_SUCH_JOB %" PRIu64 " ms after its submit%s",
				    j->sj_id, token, j->sj_client,
				    (j->sj_flags & SJ_ORPHAN) ? ", orphaned" : "",
				    (j->sj_gone_ns - j->sj_sent_ns) / 1000000u,
				    j->sj_started_ns != 0 ? ", seen started" : "");
			else
				ledger_violate("lost", "job %" PRIu64 " (token %u, client "
				    "%d%s) was accepted but no final state was ever seen%s",
				    j->sj_id, token, j->sj_client,
				    (j->sj_flags & SJ_ORPHAN) ? ", orphaned" : "",
				    j->sj_started_ns != 0 ? "; seen started" : "");
			continue;
		}
		if (j->sj_before_run != 0 && j->sj_final != TPOOL__JOB_STATE__JOB_CANCELLED)
			ledger_violate("cancel-answer-false", "job %" PRIu64 " (token %u) was "
			    "answered CANCEL_BEFORE_RUN but ended %s", j->sj_id, token,
			    tp_state_name(j->sj_final));
		if (j->sj_final == TPOOL__JOB_STATE__JOB_CANCELLED && j->sj_ran == 0)
			ledger_counters[SOAK_C_NEVER_RAN]++;
		if (j->sj_ran == 0 && j->sj_runs != 0)
			ledger_violate("never-ran-ran", "job %" PRIu64 " (token %u) ended %s "
			    "saying it never ran, but the plugin ran it", j->sj_id, token,
			    tp_state_name(j->sj_final));
		if (j->sj_ran == 1 && j->sj_runs == 0)
			ledger_violate("ran-never-ran", "job %" PRIu64 " (token %u) ended %s "
			    "saying it ran, but the plugin never ran it", j->sj_id, token,
			    tp_state_name(j->sj_final));
		if (j->sj_final == TPOOL__JOB_STATE__JOB_SUCCEEDED &&
		    (j->sj_runs != 1 || j->sj_ok_ends != 1))
			ledger_violate("succeeded-runs", "job %" PRIu64 " (token %u) SUCCEEDED "
			    "with %u runs and %u good ends in the run ledger", j->sj_id, token,
			    j->sj_runs, j->sj_ok_ends);
	}
	ledger_counters[SOAK_C_UNOBSERVED] += unobserved;
	(void)pthread_mutex_unlock(&ledger_lock);
}

/* ------------------------------------------------------------- self-test */

void
soak_self_test_allow(const char *const *kinds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		(void)soak_violation_allow(kinds[i]);
}

void
soak_self_test_check(const char *const *kinds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (soak_violation_count(kinds[i]) == 0)
			soak_violation("self-test", "the proof did not find the injected %s",
			    kinds[i]);
		else
			printf("soak: self-test: the proof found the injected %s\n", kinds[i]);
	}
}

size_t
soak_ledger_inject(const char *run_ledger, const char **kinds, size_t max)
{
	struct soak_job *j;
	uint32_t token;
	bool done_ok = false, done_before = false, done_refused = false;
	size_t n = 0;
	FILE *f;

	if ((f = fopen(run_ledger, "ae")) == NULL)
		return 0;
	(void)pthread_mutex_lock(&ledger_lock);
	for (token = 1; token <= ledger_njobs && n + 2 <= max; token++) {
		j = ledger_job_must_locked(token);
		if (!done_ok && j->sj_final == TPOOL__JOB_STATE__JOB_SUCCEEDED) {
			/* A second run of a job that succeeded. */
			(void)fprintf(f, "R %u %" PRIu64 "\n", token, j->sj_id);
			kinds[n++] = "ran-twice";
			kinds[n++] = "succeeded-runs";
			done_ok = true;
		} else if (!done_before && j->sj_before_run != 0) {
			/* A run of a job answered CANCEL_BEFORE_RUN. */
			(void)fprintf(f, "R %u %" PRIu64 "\n", token, j->sj_id);
			kinds[n++] = "cancel-answer-false";
			kinds[n++] = "never-ran-ran";
			done_before = true;
		} else if (!done_refused && j->sj_status == SJ_REJECTED) {
			(void)fprintf(f, "R %u 0\n", token);
			kinds[n++] = "refused-ran";
			done_refused = true;
		}
	}
	if (n < max) {
		/* A run of a token nobody submitted. */
		(void)fprintf(f, "R %u 1\n", ledger_njobs + 1000);
		kinds[n++] = "phantom-run";
	}
	(void)pthread_mutex_unlock(&ledger_lock);
	(void)fclose(f);
	return n;
}
