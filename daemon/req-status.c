/*
 * req-status.c -- Status and Watch.
 *
 * Status of one job (with its result when it succeeded), or, without a job
 * id, of all the caller's jobs (by uid: in flight and finished ones still
 * kept), without results (ask for one job to get its result), in pages:
 * the newest TPD_STATUS_PAGE_MAX jobs (or Status.limit) below Status.before_id
 * that fit in STATUS_LIST_MAX bytes, oldest first within the page, and
 * more_before when older ones are left for the next page.  So one request
 * builds at most a thousand JobInfos (about 0.3 ms) however many jobs
 * there are, and the loop goes on to other clients between pages.  Root
 * may look at any job by id; its list is its own jobs, as for anyone,
 * unless it asks for all (Status.all: every user's jobs, the same way;
 * anyone else asking for all gets ERROR_PERMISSION).
 *
 * Watch: events of a job (started, progress, finished) also go to this
 * connection from now on, once (a submitter that watches its own job
 * hears each event once); the reply holds the job as it is now.  A job
 * that has finished is only reported (no events will come).
 *
 * The row found the job the request names, and checked that the caller
 * may see it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "follow.h"
#include "jobs.h"
#include "req.h"
#include "validate.h"

#define	STATUS_LIST_MAX		(1u << 20)
#define	STATUS_ENTRY_OVERHEAD	6	/* tag and length of an entry */

struct status_list {
	Tpool__JobInfo	*sl_infos;	/* newest first */
	size_t		sl_n;
	size_t		sl_cap;
	size_t		sl_limit;	/* jobs in the page, at most */
	size_t		sl_bytes;
	bool		sl_more;	/* older jobs left for a next page */
	bool		sl_nomem;
};

static bool
status_collect(struct tpd_job *job, void *arg)
{
	struct status_list *sl = arg;
	Tpool__JobInfo *info;
	size_t cap;
	void *p;

	if (sl->sl_n == sl->sl_limit) {
		sl->sl_more = true;
		return false;
	}
	if (sl->sl_n == sl->sl_cap) {
		cap = sl->sl_cap == 0 ? 64 : sl->sl_cap * 2;
		if ((p = realloc(sl->sl_infos, cap * sizeof(*info))) == NULL) {
			sl->sl_nomem = true;
			return false;
		}
		sl->sl_infos = p;
		sl->sl_cap = cap;
	}
	info = &sl->sl_infos[sl->sl_n];
	tpd_job_info(job, info, false);
	sl->sl_bytes += STATUS_ENTRY_OVERHEAD +
	    tpool__job_info__get_packed_size(info);
	if (sl->sl_bytes > STATUS_LIST_MAX) {
		sl->sl_more = true;
		return false;
	}
	sl->sl_n++;
	return true;
}

static Tpool__ErrorCode
status_list(struct tpd_req *r, bool all)
{
	const Tpool__Status *st = r->r_req->status;
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__StatusReply sr = TPOOL__STATUS_REPLY__INIT;
	struct status_list sl = { NULL, 0, 0, TPD_STATUS_PAGE_MAX, 0, false,
	    false };
	Tpool__JobInfo **ptrs = NULL;
	uint64_t before = st->has_before_id ? st->before_id : 0;
	size_t i;

	if (st->has_limit)
		sl.sl_limit = st->limit;	/* 1..TPD_STATUS_PAGE_MAX */
	/* Newest first, until the page is full. */
	if (all)
		tpd_jobs_foreach(before, status_collect, &sl);
	else
		tpd_jobs_foreach_of_uid(r->r_uid, before, status_collect, &sl);
	if (sl.sl_nomem ||
	    (sl.sl_n > 0 && (ptrs = malloc(sl.sl_n * sizeof(*ptrs))) == NULL)) {
		free(sl.sl_infos);
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
	}
	for (i = 0; i < sl.sl_n; i++)
		/* Oldest first. */
		ptrs[i] = &sl.sl_infos[sl.sl_n - 1 - i];
	sr.n_jobs = sl.sl_n;
	sr.jobs = ptrs;
	if (sl.sl_more && sl.sl_n > 0) {
		/* The oldest of the page: the next starts below it. */
		sr.has_more_before = true;
		sr.more_before = sl.sl_infos[sl.sl_n - 1].job_id;
	}
	resp.body_case = TPOOL__RESPONSE__BODY_STATUS;
	resp.status = &sr;
	(void)tpd_req_reply(r, &resp);
	free(ptrs);
	free(sl.sl_infos);
	return TPD_REQ_OK;
}

Tpool__ErrorCode
tpd_req_status(struct tpd_req *r)
{
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__StatusReply sr = TPOOL__STATUS_REPLY__INIT;
	Tpool__JobInfo info, *infop = &info;
	const Tpool__Status *st = r->r_req->status;
	bool all = st->has_all && st->all;

	if (all && r->r_uid != 0)
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_PERMISSION,
		    "status of all users' jobs is for root only; without "
		    "all, status lists your own jobs");
	if (r->r_job == NULL)
		return status_list(r, all);
	tpd_job_info(r->r_job, &info, true);
	sr.n_jobs = 1;
	sr.jobs = &infop;
	resp.body_case = TPOOL__RESPONSE__BODY_STATUS;
	resp.status = &sr;
	return tpd_req_reply(r, &resp);
}

Tpool__ErrorCode
tpd_req_watch(struct tpd_req *r)
{
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__WatchReply wr = TPOOL__WATCH_REPLY__INIT;
	Tpool__JobInfo info;
	int error;

	if (!tpd_job_is_final(r->r_job) &&
	    (error = tpd_follow_watch(r->r_job, r->r_conn)) != 0)
		return error == ENOMEM ? tpd_req_fail(r,
		    TPOOL__ERROR_CODE__ERROR_INTERNAL, "out of memory") :
		    tpd_req_fail_budget(r, error, tpd_follow_record_size);
	tpd_job_info(r->r_job, &info, true);
	wr.job = &info;
	resp.body_case = TPOOL__RESPONSE__BODY_WATCH;
	resp.watch = &wr;
	return tpd_req_reply(r, &resp);
}
