/*
 * req-cancel.c -- Cancel: the seed's answer, told to the client.  The row
 * found the job, and checked that the caller may see it (ERROR_NO_SUCH_JOB:
 * never was, forgotten, or another uid's and the caller is not root).
 *
 *	CANCEL_BEFORE_RUN	it was queued and now never runs (final state
 *				cancelled, reported to its submitter/watchers)
 *	CANCEL_TOO_LATE		a worker has it; the plugin's cancel-requested
 *				is now true.  With wait, this answer is sent
 *				only when the job has ended, with its final
 *				state (follow.c answers it); a connection
 *				that already waits so for the job gets this
 *				answer at once, as without wait (a repeat
 *				holds nothing).
 *	CANCEL_ALREADY_FINISHED	it had its final state
 *
 * With a read-only job store, a cancel of a job not finished is refused
 * (ERROR_STORE): it could not be recorded, and the job would run after
 * the next start.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "follow.h"
#include "jobs.h"
#include "log.h"
#include "msg.h"
#include "req.h"
#include "store.h"

Tpool__ErrorCode
tpd_req_cancel(struct tpd_req *r)
{
	const Tpool__Cancel *c = r->r_req->cancel;
	struct tpd_job *job = r->r_job;
	Tpool__CancelResult result;
	Tpool__JobInfo info;
	const char *ro;
	char why[64];
	int error;

	if ((ro = tpd_store_read_only()) != NULL && !tpd_job_is_final(job))
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_STORE,
		    "the job store is read-only (its state directory: %s), so "
		    "the cancel could not be recorded: the job is left as it "
		    "is", ro);
	(void)snprintf(why, sizeof(why), "cancelled by uid %u",
	    (unsigned int)r->r_uid);
	result = tpd_job_cancel(job, why);
	tpd_debug("job %llu: cancel by uid %u: %d",
	    (unsigned long long)tpd_job_id(job), (unsigned int)r->r_uid,
	    (int)result);
	if (result == TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE && c->has_wait &&
	    c->wait) {
		error = tpd_follow_cancel_wait(job, r->r_conn, r->r_id,
		    result);
		if (error == ENOMEM)
			return tpd_req_fail(r,
			    TPOOL__ERROR_CODE__ERROR_INTERNAL,
			    "out of memory");
		if (error == EDQUOT || error == ENOSPC)
			return tpd_req_fail_budget(r, error,
			    tpd_follow_record_size);
		if (error == 0)
			return TPD_REQ_OK;
	}
	tpd_job_info(job, &info, true);
	tpd_msg_cancel_reply(r->r_conn, r->r_id, result, &info);
	return TPD_REQ_OK;
}
