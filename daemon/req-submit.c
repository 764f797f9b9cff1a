/*
 * req-submit.c -- Submit: the request's own fields were checked by
 * validate.c (plugin name given, input size, job name, pool kind,
 * priority, CPU); here what needs the daemon's state, in the order a
 * person would want to hear about it (shutting down, unknown plugin, a
 * full queue, a priority or CPU the daemon cannot have), then take the
 * pool, create the job, answer its id, and hand it to libtp.  The answer is queued before the job can have
 * any event, so a client always sees its SubmitReply first.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "tpoold.h"

void
tpd_req_submit(struct tpd_conn *conn, const Tpool__Request *req)
{
	const Tpool__Submit *s = req->submit;
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__SubmitReply sr = TPOOL__SUBMIT_REPLY__INIT;
	uint64_t id = req->request_id;
	struct tpd_plugin *plugin;
	struct threadpool *pool;
	struct tpd_job *job;
	const char *name;
	size_t input_len;
	int error, pri, cpu;

	if (tpd_stopping()) {
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_SHUTTING_DOWN,
		    "the daemon is shutting down");
		return;
	}
	/* validate.c checked the fields: name, sizes, pool kind, priority, CPU. */
	if ((plugin = tpd_plugin_lookup(s->plugin)) == NULL) {
		/* Echo the name only when it could be one (no '/', nothing odd). */
		if (tpd_plugin_name_ok(s->plugin))
			tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN,
			    "no plugin named '%s'", s->plugin);
		else
			tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN,
			    "no plugin of that name (names are 1 to %d of A-Z a-z 0-9 _ . -)",
			    TP_PLUGIN_NAME_MAX);
		return;
	}
	input_len = s->has_input ? s->input.len : 0;
	name = s->name != NULL && s->name[0] != '\0' ? s->name : plugin->p_desc->tpp_name;
	pri = s->priority;
	cpu = s->pool == TPOOL__POOL_KIND__POOL_PERCPU ? s->cpu : -1;
	if (tpd_counters.tc_inflight >= tpd_opt.o_max_jobs) {
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_TOO_MANY_JOBS,
		    "the daemon has %u jobs queued or running (its limit)",
		    tpd_counters.tc_inflight);
		return;
	}
	if (conn->c_user->u_inflight >= tpd_opt.o_max_jobs_per_client) {
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_TOO_MANY_JOBS,
		    "uid %u has %u jobs queued or running (the per-client limit)",
		    (unsigned int)conn->c_uid, conn->c_user->u_inflight);
		return;
	}

	error = tpd_pool_get(s->pool, pri, &cpu, &pool);
	switch (error) {
	case 0:
		break;
	case EINVAL:
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_INVALID_PRIORITY,
		    "priority %d is not valid", pri);
		return;
	case EPERM:
	case EACCES:
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_PERMISSION,
		    "the daemon may not run threads at priority %d", pri);
		return;
	case ENOENT:
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_INVALID_CPU,
		    "CPU %d is not one of the daemon's CPUs", cpu);
		return;
	default:
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_INTERNAL,
		    "cannot start a pool: %s", strerror(error));
		return;
	}

	error = tpd_job_create(conn, plugin, s->has_input ? s->input.data : NULL, input_len,
	    name, s->pool, pri, cpu, pool, &job);
	if (error != 0) {
		tpd_err("cannot create a job: %s", strerror(error));
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_INTERNAL,
		    "cannot create the job: %s", strerror(error));
		return;
	}
	sr.has_job_id = true;
	sr.job_id = job->j_id;
	resp.body_case = TPOOL__RESPONSE__BODY_SUBMIT;
	resp.submit = &sr;
	tpd_reply(conn, id, &resp);
	tpd_conn_hold(conn);
	tpd_job_schedule(job);
}
