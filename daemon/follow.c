/*
 * follow.c -- who hears about a job: its submitter (while connected), its
 * watchers, and the Cancel requests waiting for its end.  The job table
 * keeps jh_ext_size bytes in each job for this file (struct follow_job)
 * and conn.c keeps ch_ext_size bytes in each connection (struct
 * follow_conn), so that following costs no allocation for a submitter;
 * a watch or a waiting cancel is one small allocation, on both the job's
 * and the connection's list, freed when either goes away or the job ends,
 * and charged to the connection's user in the memory budget meanwhile
 * (one user's watches from many connections are bounded by its share).
 *
 * Each event is encoded once (msg.c) and copied to every listener.  A
 * connection that submitted a job and also watches it hears each event
 * once (tpd_follow_watch adds no second listener).
 *
 * Everything here is the loop thread's (l).
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "budget.h"
#include "conn.h"
#include "follow.h"
#include "jobs.h"
#include "msg.h"

struct follow_watch;

/* In each job (zeroed by the job table).  All fields l. */
struct follow_job {
	struct tpd_job		*fj_job;
	struct tpd_conn		*fj_submitter;	/* NULL once gone */
	LIST_ENTRY(follow_job)	fj_connent;	/* on its submitter's list */
	LIST_HEAD(, follow_watch) fj_watches;	/* watchers, cancel waits */
};

/* In each connection (zeroed by conn.c).  All fields l. */
struct follow_conn {
	LIST_HEAD(, follow_job)	fc_jobs;	/* it submitted, in flight */
	LIST_HEAD(, follow_watch) fc_watches;	/* its watches, cancel waits */
};

/* A watch (events) or a cancel wait (one reply at the end).  All l. */
struct follow_watch {
	LIST_ENTRY(follow_watch) w_jobent;
	LIST_ENTRY(follow_watch) w_connent;
	struct tpd_conn		*w_conn;
	uid_t			w_uid;		/* w_conn's: charged for it */
	uint64_t		w_request_id;	/* cancel wait: its request */
	bool			w_cancel_wait;
	Tpool__CancelResult	w_cancel_result;
};

const size_t tpd_follow_job_ext_size = sizeof(struct follow_job);
const size_t tpd_follow_record_size = sizeof(struct follow_watch);
const size_t tpd_follow_conn_ext_size = sizeof(struct follow_conn);

static struct follow_job *
follow_job(struct tpd_job *job)
{
	return tpd_job_ext(job);
}

static struct follow_conn *
follow_conn(struct tpd_conn *conn)
{
	return tpd_conn_ext(conn);
}

void
tpd_follow_submitted(struct tpd_job *job, struct tpd_conn *conn)
{
	struct follow_job *fj = follow_job(job);

	fj->fj_job = job;
	fj->fj_submitter = conn;
	LIST_INSERT_HEAD(&follow_conn(conn)->fc_jobs, fj, fj_connent);
}

static int
follow_add(struct tpd_job *job, struct tpd_conn *conn, bool cancel_wait,
    uint64_t request_id, Tpool__CancelResult result)
{
	struct follow_job *fj = follow_job(job);
	struct follow_watch *w;
	enum tpd_budget_limit lim;
	uid_t uid = tpd_conn_uid(conn);

	if ((lim = tpd_budget_charge(uid, sizeof(*w))) != TPD_BUDGET_OK)
		return lim == TPD_BUDGET_USER ? EDQUOT : ENOSPC;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		tpd_budget_release(uid, sizeof(*w));
		return ENOMEM;
	}
	fj->fj_job = job;
	w->w_conn = conn;
	w->w_uid = uid;
	w->w_cancel_wait = cancel_wait;
	w->w_request_id = request_id;
	w->w_cancel_result = result;
	LIST_INSERT_HEAD(&fj->fj_watches, w, w_jobent);
	LIST_INSERT_HEAD(&follow_conn(conn)->fc_watches, w, w_connent);
	return 0;
}

int
tpd_follow_watch(struct tpd_job *job, struct tpd_conn *conn)
{
	struct follow_job *fj = follow_job(job);
	struct follow_watch *w;

	if (fj->fj_submitter == conn)
		return 0;
	LIST_FOREACH(w, &fj->fj_watches, w_jobent)
		if (!w->w_cancel_wait && w->w_conn == conn)
			return 0;
	return follow_add(job, conn, false, 0,
	    TPOOL__CANCEL_RESULT__CANCEL_RESULT_UNSPECIFIED);
}

int
tpd_follow_cancel_wait(struct tpd_job *job, struct tpd_conn *conn,
    uint64_t request_id, Tpool__CancelResult result)
{
	struct follow_watch *w;

	/* One wait per job and connection: a repeat adds nothing. */
	LIST_FOREACH(w, &follow_job(job)->fj_watches, w_jobent)
		if (w->w_cancel_wait && w->w_conn == conn)
			return EEXIST;
	return follow_add(job, conn, true, request_id, result);
}

bool
tpd_follow_conn_busy(struct tpd_conn *conn)
{
	struct follow_conn *fc = follow_conn(conn);

	return !LIST_EMPTY(&fc->fc_jobs) || !LIST_EMPTY(&fc->fc_watches);
}

static void
follow_watch_free(struct follow_watch *w)
{
	LIST_REMOVE(w, w_jobent);
	LIST_REMOVE(w, w_connent);
	tpd_budget_release(w->w_uid, sizeof(*w));
	free(w);
}

/* Send the event just encoded to everyone who follows job's events. */
static void
follow_broadcast(struct follow_job *fj)
{
	struct follow_watch *w;

	if (fj->fj_submitter != NULL)
		tpd_msg_event_to(fj->fj_submitter);
	LIST_FOREACH(w, &fj->fj_watches, w_jobent)
		if (!w->w_cancel_wait)
			tpd_msg_event_to(w->w_conn);
}

static bool
follow_anyone(const struct follow_job *fj)
{
	return fj->fj_submitter != NULL || !LIST_EMPTY(&fj->fj_watches);
}

void
tpd_follow_started(struct tpd_job *job, uint64_t queue_ns, int cpu)
{
	struct follow_job *fj = follow_job(job);

	if (follow_anyone(fj) &&
	    tpd_msg_event_started(tpd_job_id(job), queue_ns, cpu,
	    tpd_job_attempt(job)))
		follow_broadcast(fj);
}

void
tpd_follow_progress(struct tpd_job *job, unsigned int percent,
    const char *message)
{
	struct follow_job *fj = follow_job(job);

	if (follow_anyone(fj) &&
	    tpd_msg_event_progress(tpd_job_id(job), percent, message))
		follow_broadcast(fj);
}

void
tpd_follow_finished(struct tpd_job *job, const Tpool__JobInfo *info)
{
	struct follow_job *fj = follow_job(job);
	struct follow_watch *w;

	if (follow_anyone(fj) && tpd_msg_event_finished(info))
		follow_broadcast(fj);
	/* Cancel waits get their answer now, with the final state. */
	while ((w = LIST_FIRST(&fj->fj_watches)) != NULL) {
		if (w->w_cancel_wait)
			tpd_msg_cancel_reply(w->w_conn, w->w_request_id,
			    w->w_cancel_result, (Tpool__JobInfo *)info);
		follow_watch_free(w);
	}
	if (fj->fj_submitter != NULL) {
		LIST_REMOVE(fj, fj_connent);
		fj->fj_submitter = NULL;
	}
}

void
tpd_follow_conn_closed(struct tpd_conn *conn)
{
	struct follow_conn *fc = follow_conn(conn);
	struct follow_job *fj;
	struct follow_watch *w;

	/* Its jobs go on, reported to nobody (status still finds them). */
	while ((fj = LIST_FIRST(&fc->fc_jobs)) != NULL) {
		LIST_REMOVE(fj, fj_connent);
		fj->fj_submitter = NULL;
	}
	while ((w = LIST_FIRST(&fc->fc_watches)) != NULL)
		follow_watch_free(w);
}
