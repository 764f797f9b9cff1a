/*
 * req.c -- what request handlers share: failing with a message, replying,
 * and finding a job the caller may see.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "budget.h"
#include "jobs.h"
#include "msg.h"
#include "req.h"

Tpool__ErrorCode
tpd_req_fail(struct tpd_req *r, Tpool__ErrorCode code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(r->r_why, sizeof(r->r_why), fmt, ap);
	va_end(ap);
	return code;
}

Tpool__ErrorCode
tpd_req_fail_budget(struct tpd_req *r, int error, size_t bytes)
{
	char why[256];

	return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_OVER_BUDGET, "%s",
	    tpd_budget_why(r->r_uid, error == EDQUOT ? TPD_BUDGET_USER :
	    TPD_BUDGET_TOTAL, bytes, why, sizeof(why)));
}

Tpool__ErrorCode
tpd_req_reply(struct tpd_req *r, Tpool__Response *resp)
{
	tpd_msg_reply(r->r_conn, r->r_id, resp);
	return TPD_REQ_OK;
}

Tpool__ErrorCode
tpd_req_find_job(struct tpd_req *r, uint64_t id, struct tpd_job **ret_job)
{
	struct tpd_job *job;

	/*
	 * Another user's job is answered exactly as a missing one: telling
	 * them apart would let a user count and time other users' jobs.
	 */
	job = tpd_job_lookup(id);
	if (job == NULL || (r->r_uid != 0 && r->r_uid != tpd_job_uid(job)))
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB,
		    "no job %llu", (unsigned long long)id);
	*ret_job = job;
	return TPD_REQ_OK;
}
