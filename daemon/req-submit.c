/*
 * req-submit.c -- Submit: the request's own fields were checked by its
 * row (validate.c: plugin name given, input size, job name, pool kind,
 * priority, CPU); here what needs the daemon's state, in the order a
 * person would want to hear about it (shutting down, unknown plugin, a
 * full queue, a priority the caller may not have (grant.c), a priority
 * or CPU the daemon cannot have), then take the
 * pool, create the job, answer its id, and hand it to libtp.  The answer
 * is queued before the job can have any event, so a client always sees
 * its SubmitReply first; it is written at the end of this loop iteration
 * (conn.c), with the job's start and end if the job was that fast.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "conn.h"
#include "fairq.h"
#include "follow.h"
#include "grant.h"
#include "isolate.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "plugin.h"
#include "pools.h"
#include "req.h"
#include "store.h"

/* The wire error of tpd_jobs_admit()'s refusal. */
static Tpool__ErrorCode
submit_refused(struct tpd_req *r, int error)
{
	switch (error) {
	case ESHUTDOWN:
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_SHUTTING_DOWN,
		    "the daemon is shutting down");
	case EAGAIN:
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_TOO_MANY_JOBS,
		    "the daemon has %u jobs queued or running (its limit)",
		    tpd_jobs_inflight());
	default:
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_TOO_MANY_JOBS,
		    "uid %u has %u jobs queued or running (the per-client "
		    "limit)", (unsigned int)r->r_uid,
		    tpd_jobs_inflight_of(r->r_uid));
	}
}

/* The wire error of tpd_pool_get()'s. */
static Tpool__ErrorCode
submit_no_pool(struct tpd_req *r, int error, int pri, int cpu)
{
	switch (error) {
	case EPERM:
	case EACCES:
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_PERMISSION,
		    "the daemon may not run threads at priority %d", pri);
	case ENOENT:
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_INVALID_CPU,
		    "CPU %d is not one of the daemon's CPUs", cpu);
	default:
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_INTERNAL,
		    "cannot start a pool: %s", strerror(error));
	}
}

/*
 * May the caller have priority pri (grant.c)?  Checked before any pool
 * of that priority is made, so a refused one starts no thread.
 */
static Tpool__ErrorCode
submit_may_have(struct tpd_req *r, int pri)
{
	char want[32], top[32];
	int max;

	if (pri == TP_PRI_NONE || pri <= TPD_PRI_ANYONE_MAX)
		return TPD_REQ_OK;
	max = tpd_grant_max_pri(&tpd_opt.o_grants, r->r_uid, r->r_gid,
	    tpd_conn_fd(r->r_conn), pri);
	if (pri <= max)
		return TPD_REQ_OK;
	return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_PERMISSION,
	    "priority %d (%s) is not permitted to uid %u: the highest it may "
	    "ask for is %d (%s); the daemon's configuration can grant more "
	    "(tpoold --grant-priority)", pri,
	    tpd_grant_describe(pri, want, sizeof(want)),
	    (unsigned int)r->r_uid, max,
	    tpd_grant_describe(max, top, sizeof(top)));
}

/*
 * The job's time limit: what it asks (Submit.timeout_ms), at most its
 * plugin's maximum (else refused), or its plugin's default, or, with
 * neither, the maximum.
 */
static Tpool__ErrorCode
submit_time_limit(struct tpd_req *r, struct tpd_job_spec *spec,
    const Tpool__Submit *s)
{
	const struct tpd_worker_conf *wc = tpd_plugin_conf(spec->js_plugin);
	uint64_t asked = s->has_timeout_ms ? s->timeout_ms * 1000000ull : 0;

	if (asked != 0 && wc->wc_max_timeout_ns != 0 &&
	    asked > wc->wc_max_timeout_ns)
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST,
		    "time limit of %llu ms is over plugin %s's maximum of %llu "
		    "ms (tpoold --max-job-timeout)",
		    (unsigned long long)s->timeout_ms,
		    tpd_plugin_desc(spec->js_plugin)->tpp_name,
		    (unsigned long long)(wc->wc_max_timeout_ns / 1000000u));
	spec->js_timeout_ns = asked != 0 ? asked : wc->wc_timeout_ns != 0 ?
	    wc->wc_timeout_ns : wc->wc_max_timeout_ns;
	return TPD_REQ_OK;
}

/*
 * The job's retries: what it asks (Submit.retries), at most its plugin's
 * maximum (else refused), or its plugin's default; and its backoff.
 */
static Tpool__ErrorCode
submit_retries(struct tpd_req *r, struct tpd_job_spec *spec,
    const Tpool__Submit *s)
{
	const struct tpd_worker_conf *wc = tpd_plugin_conf(spec->js_plugin);

	if (s->has_retries && s->retries > wc->wc_max_retries)
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST,
		    "%u retries is over plugin %s's maximum of %u (tpoold "
		    "--max-job-retries)", (unsigned int)s->retries,
		    tpd_plugin_desc(spec->js_plugin)->tpp_name,
		    (unsigned int)wc->wc_max_retries);
	spec->js_retries = s->has_retries ? s->retries : wc->wc_retries;
	spec->js_backoff_ns = wc->wc_backoff_ns;
	return TPD_REQ_OK;
}

/*
 * A deadline the daemon can tell the job will not make: refused now.
 * The estimate: the jobs ahead of it in its pool (those waiting their
 * turn in the daemon, those queued in libtp, and, when every thread is
 * busy, one more for the running ones to finish), shared among the
 * pool's threads (--max-threads), each taking as long as the plugin's
 * jobs have been taking (a moving average of their run times).  No
 * estimate before a job of the plugin has run, or for a pool without a
 * thread cap (each job gets a thread at once).
 */
static Tpool__ErrorCode
submit_reachable(struct tpd_req *r, const struct tpd_job_spec *spec,
    uint64_t deadline_ms)
{
	uint64_t each = tpd_plugin_run_ns(spec->js_plugin), wait_ns;
	struct threadpool_stats st;
	unsigned int ahead;

	if (each == 0 || tpd_opt.o_max_threads == 0)
		return TPD_REQ_OK;
	threadpool_stats(spec->js_pool, &st);
	ahead = tpd_fq_waiting_in(spec->js_pool) + st.tps_queued +
	    (st.tps_threads - st.tps_idle >= tpd_opt.o_max_threads ? 1 : 0);
	wait_ns = (uint64_t)ahead * each / tpd_opt.o_max_threads;
	if (wait_ns <= deadline_ms * 1000000ull)
		return TPD_REQ_OK;
	return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_DEADLINE,
	    "expected wait of %llu ms before the job could start is past its "
	    "deadline of %llu ms (%u jobs ahead in its pool, %u threads, "
	    "%llu ms a job as its plugin's jobs have taken)",
	    (unsigned long long)(wait_ns / 1000000u),
	    (unsigned long long)deadline_ms, ahead, tpd_opt.o_max_threads,
	    (unsigned long long)(each / 1000000u));
}

/*
 * A job of the caller's in flight with the same unique key: its id is the
 * answer (existing), and the connection watches it.  With a store, a job
 * not yet recorded is answered with it, once it is (or with its error).
 */
static Tpool__ErrorCode
submit_existing(struct tpd_req *r, struct tpd_job *job)
{
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__SubmitReply sr = TPOOL__SUBMIT_REPLY__INIT;

	if (tpd_store_is_open() && tpd_job_awaits_schedule(job)) {
		if (tpd_store_submitted(job, r->r_conn, r->r_id, true) == 0)
			return TPD_REQ_OK;
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
	}
	sr.has_job_id = true;
	sr.job_id = tpd_job_id(job);
	sr.has_existing = true;
	sr.existing = true;
	resp.body_case = TPOOL__RESPONSE__BODY_SUBMIT;
	resp.submit = &sr;
	(void)tpd_req_reply(r, &resp);
	/* Its events too, as its submitter gets them (best effort). */
	(void)tpd_follow_watch(job, r->r_conn);
	return TPD_REQ_OK;
}

Tpool__ErrorCode
tpd_req_submit(struct tpd_req *r)
{
	const Tpool__Submit *s = r->r_req->submit;
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__SubmitReply sr = TPOOL__SUBMIT_REPLY__INIT;
	struct tpd_job_spec spec = { .js_deadline_ns = 0, .js_timeout_ns = 0,
	    .js_not_before_ns = 0, .js_unique_key = NULL, .js_retries = 0,
	    .js_backoff_ns = 0, .js_submit_ns = 0 };
	struct tpd_job *job;
	struct tpd_iso *iso;
	Tpool__ErrorCode code;
	const char *ro;
	char why[512];
	int error;

	if ((error = tpd_jobs_admit(r->r_uid)) == ESHUTDOWN)
		return submit_refused(r, error);
	if ((ro = tpd_store_read_only()) != NULL)
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_STORE,
		    "the job store is read-only (its state directory: %s), so "
		    "no job can be recorded: submits are refused until tpoold "
		    "is started with it writable", ro);
	if ((spec.js_plugin = tpd_plugin_lookup(s->plugin)) == NULL) {
		/*
		 * Echo the name only when it could be one (A-Z a-z 0-9 _ . -):
		 * no control byte, no path reaches the reply or the log.
		 */
		if (tpd_plugin_name_ok(s->plugin))
			return tpd_req_fail(r,
			    TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN,
			    "no plugin named '%s'", s->plugin);
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN,
		    "no plugin of that name (names are 1 to %d of A-Z a-z "
		    "0-9 _ . -)", TP_PLUGIN_NAME_MAX);
	}
	/* The same key as a job in flight: that job, whatever the limits. */
	if (s->unique_key != NULL && error != ESHUTDOWN &&
	    (job = tpd_job_find_unique(r->r_uid, s->unique_key)) != NULL)
		return submit_existing(r, job);
	if (error != 0)
		return submit_refused(r, error);
	if ((iso = tpd_plugin_iso(spec.js_plugin)) != NULL &&
	    tpd_iso_quarantined(iso, tpd_now_ns(), why, sizeof(why)))
		return tpd_req_fail(r,
		    TPOOL__ERROR_CODE__ERROR_PLUGIN_QUARANTINED, "%s", why);
	spec.js_uid = r->r_uid;
	spec.js_input = s->has_input ? s->input.data : NULL;
	spec.js_input_len = s->has_input ? s->input.len : 0;
	spec.js_name = s->name != NULL && s->name[0] != '\0' ? s->name :
	    tpd_plugin_desc(spec.js_plugin)->tpp_name;
	spec.js_pool_kind = s->pool;
	spec.js_pri = s->priority;
	spec.js_cpu = s->pool == TPOOL__POOL_KIND__POOL_PERCPU ? s->cpu : -1;
	spec.js_unique_key = s->unique_key;
	if ((code = submit_may_have(r, spec.js_pri)) != TPD_REQ_OK)
		return code;
	if ((error = tpd_pool_get(s->pool, spec.js_pri, &spec.js_cpu,
	    &spec.js_pool)) != 0)
		return submit_no_pool(r, error, spec.js_pri, spec.js_cpu);
	if ((code = submit_time_limit(r, &spec, s)) != TPD_REQ_OK ||
	    (code = submit_retries(r, &spec, s)) != TPD_REQ_OK)
		return code;
	/* One reading: the deadline and the delay count from the submit
	 * time the job keeps (and its expiry message reports). */
	spec.js_submit_ns = tpd_conn_frame_ns();
	if (s->has_delay_ms && s->delay_ms > 0)
		spec.js_not_before_ns = spec.js_submit_ns +
		    s->delay_ms * 1000000ull;
	if (s->has_deadline_ms && s->deadline_ms > 0) {
		/* The queue ahead of a delayed job is not known yet. */
		if (spec.js_not_before_ns == 0 && (code = submit_reachable(r,
		    &spec, s->deadline_ms)) != TPD_REQ_OK)
			return code;
		spec.js_deadline_ns = spec.js_submit_ns +
		    s->deadline_ms * 1000000ull;
	}
	if ((error = tpd_job_create(&spec, &job)) == EDQUOT ||
	    error == ENOSPC)
		return tpd_req_fail_budget(r, error, spec.js_input_len);
	if (error != 0) {
		tpd_err("cannot create a job: %s", strerror(error));
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_INTERNAL,
		    "cannot create the job: %s", strerror(error));
	}
	if (tpd_store_is_open()) {
		/* Answered once recorded, at the end of this iteration. */
		if (tpd_store_submitted(job, r->r_conn, r->r_id, false) == 0)
			return TPD_REQ_OK;
		tpd_job_discard(job);
		return tpd_req_fail(r, TPOOL__ERROR_CODE__ERROR_INTERNAL,
		    "cannot create the job: out of memory");
	}
	sr.has_job_id = true;
	sr.job_id = tpd_job_id(job);
	resp.body_case = TPOOL__RESPONSE__BODY_SUBMIT;
	resp.submit = &sr;
	(void)tpd_req_reply(r, &resp);
	tpd_metrics_job_accepted(tpd_job_plugin_name(job));
	tpd_follow_submitted(job, r->r_conn);
	tpd_job_schedule(job);
	return TPD_REQ_OK;
}
