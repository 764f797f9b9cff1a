/*
 * req-cancel.c -- Cancel: the seed's answer, told to the client.
 *
 *	CANCEL_BEFORE_RUN	it was queued and now never runs (final state
 *				cancelled, reported to its submitter/watchers)
 *	CANCEL_TOO_LATE		a worker has it; the plugin's cancel-requested
 *				is now true.  With wait, this answer is sent
 *				only when the job has ended, with its final
 *				state (jobs.c answers it).
 *	CANCEL_ALREADY_FINISHED	it had its final state
 *	ERROR_NO_SUCH_JOB	never was, or forgotten (--finished-keep/-ttl)
 *	ERROR_NOT_YOURS		another uid's job (root may cancel any)
 */
#include "config.h"

#include <stdio.h>

#include "tpoold.h"

void
tpd_req_cancel(struct tpd_conn *conn, const Tpool__Request *req)
{
	const Tpool__Cancel *c = req->cancel;
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__CancelReply cr = TPOOL__CANCEL_REPLY__INIT;
	Tpool__JobInfo info;
	Tpool__CancelResult result;
	struct tpd_job *job;
	char why[64];

	if ((job = tpd_job_lookup(c->job_id)) == NULL) {
		tpd_reply_error(conn, req->request_id, TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB,
		    "no job %llu", (unsigned long long)c->job_id);
		return;
	}
	if (!tpd_job_visible(job, conn)) {
		tpd_reply_error(conn, req->request_id, TPOOL__ERROR_CODE__ERROR_NOT_YOURS,
		    "job %llu belongs to another user", (unsigned long long)c->job_id);
		return;
	}
	(void)snprintf(why, sizeof(why), "cancelled by uid %u", (unsigned int)conn->c_uid);
	result = tpd_job_cancel(job, why);
	tpd_debug("job %llu: cancel by uid %u: %d", (unsigned long long)job->j_id,
	    (unsigned int)conn->c_uid, (int)result);
	if (result == TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE && c->has_wait && c->wait) {
		if (tpd_job_watch(job, conn, true, req->request_id, result) != 0)
			tpd_reply_error(conn, req->request_id, TPOOL__ERROR_CODE__ERROR_INTERNAL,
			    "out of memory");
		return;
	}
	tpd_job_info(job, &info, true);
	cr.has_result = true;
	cr.result = result;
	cr.job = &info;
	resp.body_case = TPOOL__RESPONSE__BODY_CANCEL;
	resp.cancel = &cr;
	tpd_reply(conn, req->request_id, &resp);
}
