/*
 * req-submit.c -- Submit: check everything a client can get wrong, in the
 * order a person would want to hear about it (unknown plugin before a bad
 * priority before a full queue), take the pool, create the job, answer its
 * id, and hand it to libtp.  The answer is queued before the job can have
 * any event, so a client always sees its SubmitReply first.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "tpoold.h"

/* Longest job name accepted (threads show the first 15 bytes). */
#define	SUBMIT_NAME_MAX	255

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
	if (s->plugin == NULL || s->plugin[0] == '\0') {
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST,
		    "submit without a plugin name");
		return;
	}
	if ((plugin = tpd_plugin_lookup(s->plugin)) == NULL) {
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN,
		    "no plugin named '%.64s'", s->plugin);
		return;
	}
	input_len = s->has_input ? s->input.len : 0;
	if (input_len > tpd_opt.o_max_input) {
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_INPUT_TOO_LARGE,
		    "input of %zu bytes is over the limit of %zu bytes", input_len,
		    tpd_opt.o_max_input);
		return;
	}
	name = s->name != NULL && s->name[0] != '\0' ? s->name : plugin->p_desc->tpp_name;
	if (strlen(name) > SUBMIT_NAME_MAX) {
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST,
		    "job name longer than %d bytes", SUBMIT_NAME_MAX);
		return;
	}
	if (s->pool != TPOOL__POOL_KIND__POOL_UNBOUND &&
	    s->pool != TPOOL__POOL_KIND__POOL_PERCPU) {
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST,
		    "unknown pool kind %d", (int)s->pool);
		return;
	}
	pri = s->priority;
	if (!threadpool_pri_is_valid(pri)) {
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_INVALID_PRIORITY,
		    "priority %d is not valid (-1, or %d to %d)", pri, TP_PRI_USER_MIN,
		    TP_PRI_RT_MAX);
		return;
	}
	/* The CPU matters only for per-CPU pools (clients may send -1 anyway). */
	cpu = s->pool == TPOOL__POOL_KIND__POOL_PERCPU ? s->cpu : -1;
	if (cpu < -1) {
		tpd_reply_error(conn, id, TPOOL__ERROR_CODE__ERROR_INVALID_CPU,
		    "CPU %d is not valid (-1 for any)", cpu);
		return;
	}
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
