/*
 * req-status.c -- Status and Watch.
 *
 * Status of one job (with its result when it succeeded), or, without a job
 * id, of all the caller's jobs (by uid: in flight and finished ones still
 * kept), oldest first, without results (ask for one job to get its
 * result).  A long list is cut to the newest jobs that fit in
 * STATUS_LIST_MAX bytes, so the reply stays one reasonable frame.  Root
 * may look at any job by id; its list is its own jobs, as for anyone.
 *
 * Watch: events of a job (started, progress, finished) also go to this
 * connection from now on; the reply holds the job as it is now.  A job
 * that has finished is only reported (no events will come).
 */
#include "config.h"

#include <stdlib.h>

#include "tpoold.h"

#define	STATUS_LIST_MAX	(1u << 20)
#define	STATUS_ENTRY_OVERHEAD	6	/* tag and length of a repeated entry */

static void
status_one(struct tpd_conn *conn, const Tpool__Request *req, uint64_t job_id)
{
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__StatusReply sr = TPOOL__STATUS_REPLY__INIT;
	Tpool__JobInfo info, *infop = &info;
	struct tpd_job *job;

	if ((job = tpd_job_lookup(job_id)) == NULL) {
		tpd_reply_error(conn, req->request_id, TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB,
		    "no job %llu", (unsigned long long)job_id);
		return;
	}
	if (!tpd_job_visible(job, conn)) {
		tpd_reply_error(conn, req->request_id, TPOOL__ERROR_CODE__ERROR_NOT_YOURS,
		    "job %llu belongs to another user", (unsigned long long)job_id);
		return;
	}
	tpd_job_info(job, &info, true);
	sr.n_jobs = 1;
	sr.jobs = &infop;
	resp.body_case = TPOOL__RESPONSE__BODY_STATUS;
	resp.status = &sr;
	tpd_reply(conn, req->request_id, &resp);
}

static void
status_all(struct tpd_conn *conn, const Tpool__Request *req)
{
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__StatusReply sr = TPOOL__STATUS_REPLY__INIT;
	Tpool__JobInfo *infos = NULL, **ptrs = NULL;
	struct tpd_job *job;
	size_t n = 0, cap = 0, bytes = 0, i;
	void *p;

	/* Newest first, until the reply is full. */
	TAILQ_FOREACH_REVERSE(job, &conn->c_user->u_jobs, job_tailq_head, j_userent) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((p = realloc(infos, cap * sizeof(*infos))) == NULL)
				goto nomem;
			infos = p;
		}
		tpd_job_info(job, &infos[n], false);
		bytes += STATUS_ENTRY_OVERHEAD + tpool__job_info__get_packed_size(&infos[n]);
		if (bytes > STATUS_LIST_MAX)
			break;
		n++;
	}
	if (n > 0 && (ptrs = malloc(n * sizeof(*ptrs))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++)
		ptrs[i] = &infos[n - 1 - i];	/* oldest first */
	sr.n_jobs = n;
	sr.jobs = ptrs;
	resp.body_case = TPOOL__RESPONSE__BODY_STATUS;
	resp.status = &sr;
	tpd_reply(conn, req->request_id, &resp);
	free(ptrs);
	free(infos);
	return;

nomem:
	free(infos);
	tpd_reply_error(conn, req->request_id, TPOOL__ERROR_CODE__ERROR_INTERNAL,
	    "out of memory");
}

void
tpd_req_status(struct tpd_conn *conn, const Tpool__Request *req)
{
	const Tpool__Status *s = req->status;

	if (s->has_job_id)
		status_one(conn, req, s->job_id);
	else
		status_all(conn, req);
}

void
tpd_req_watch(struct tpd_conn *conn, const Tpool__Request *req)
{
	const Tpool__Watch *w = req->watch;
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__WatchReply wr = TPOOL__WATCH_REPLY__INIT;
	Tpool__JobInfo info;
	struct tpd_job *job;

	if ((job = tpd_job_lookup(w->job_id)) == NULL) {
		tpd_reply_error(conn, req->request_id, TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB,
		    "no job %llu", (unsigned long long)w->job_id);
		return;
	}
	if (!tpd_job_visible(job, conn)) {
		tpd_reply_error(conn, req->request_id, TPOOL__ERROR_CODE__ERROR_NOT_YOURS,
		    "job %llu belongs to another user", (unsigned long long)w->job_id);
		return;
	}
	if (!job->j_final && !tpd_job_has_listener(job, conn) &&
	    tpd_job_watch(job, conn, false, 0, TPOOL__CANCEL_RESULT__CANCEL_RESULT_UNSPECIFIED) != 0) {
		tpd_reply_error(conn, req->request_id, TPOOL__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
		return;
	}
	tpd_job_info(job, &info, true);
	wr.job = &info;
	resp.body_case = TPOOL__RESPONSE__BODY_WATCH;
	resp.watch = &wr;
	tpd_reply(conn, req->request_id, &resp);
}
