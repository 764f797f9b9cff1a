/*
 * validate.c -- what a request must satisfy before any of the daemon's
 * state is looked at: the checks that depend only on the request itself
 * and the daemon's limits (tpd_opt).  Each row of the request table
 * (dispatch.c) names its check, which runs on every unpacked request of
 * that kind before its handler; a request that fails it is answered with
 * the code and message this file gives, and its handler is never
 * called.  The handlers then check what needs state (is the plugin
 * loaded, is the job there and whose, are the job limits reached).
 *
 * A pure function of (request, tpd_opt): no I/O, no allocation, no log,
 * so tests and fuzz targets call it directly (tpd_request_check() in
 * dispatch.c adds the unpacking).  Every message is made of the
 * request's own numbers and fixed words: never a path, an address or a
 * string from the request (beyond a short, plain plugin name elsewhere).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <threadpool.h>
#include <tpool/plugin.h>

#include "options.h"
#include "utf8.h"
#include "validate.h"

static bool
validate_fail(Tpool__ErrorCode *ret_code, Tpool__ErrorCode code, char *why,
    size_t whylen, const char *fmt, ...)
    __attribute__((__format__(__printf__, 5, 6)));

static bool
validate_fail(Tpool__ErrorCode *ret_code, Tpool__ErrorCode code, char *why,
    size_t whylen, const char *fmt, ...)
{
	va_list ap;

	*ret_code = code;
	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return false;
}

#define	BAD	TPOOL__ERROR_CODE__ERROR_BAD_REQUEST

bool
tpd_validate_submit(const Tpool__Request *req, Tpool__ErrorCode *ret_code,
    char *why, size_t whylen)
{
	const Tpool__Submit *s = req->submit;
	size_t input_len, bad;

	if (s->plugin == NULL || s->plugin[0] == '\0')
		return validate_fail(ret_code, BAD, why, whylen,
		    "submit without a plugin name");
	if (strlen(s->plugin) > TP_PLUGIN_NAME_MAX)
		return validate_fail(ret_code,
		    TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN, why, whylen,
		    "no plugin has a name of %zu bytes (at most %d)",
		    strlen(s->plugin), TP_PLUGIN_NAME_MAX);
	input_len = s->has_input ? s->input.len : 0;
	if (input_len > tpd_opt.o_max_input)
		return validate_fail(ret_code,
		    TPOOL__ERROR_CODE__ERROR_INPUT_TOO_LARGE, why, whylen,
		    "input of %zu bytes is over the limit of %zu bytes",
		    input_len, tpd_opt.o_max_input);
	if (s->name != NULL && strlen(s->name) > TPD_JOB_NAME_MAX)
		return validate_fail(ret_code, BAD, why, whylen,
		    "job name longer than %d bytes", TPD_JOB_NAME_MAX);
	/* Thread names, logs and JobInfo show it: text only. */
	if (s->name != NULL && !tp_utf8_name_ok(s->name, strlen(s->name),
	    &bad))
		return validate_fail(ret_code, BAD, why, whylen,
		    "job name: invalid UTF-8 or a control character at byte "
		    "offset %zu (a name is UTF-8 text without C0/C1 control "
		    "characters or DEL)", bad);
	if (s->pool != TPOOL__POOL_KIND__POOL_UNBOUND &&
	    s->pool != TPOOL__POOL_KIND__POOL_PERCPU)
		return validate_fail(ret_code, BAD, why, whylen,
		    "unknown pool kind %d", (int)s->pool);
	if (s->has_timeout_ms && s->timeout_ms > TPD_DEADLINE_MAX_MS)
		return validate_fail(ret_code, BAD, why, whylen,
		    "time limit of %llu ms is over %llu ms (30 days)",
		    (unsigned long long)s->timeout_ms,
		    (unsigned long long)TPD_DEADLINE_MAX_MS);
	if (s->has_deadline_ms && s->deadline_ms > TPD_DEADLINE_MAX_MS)
		return validate_fail(ret_code, BAD, why, whylen,
		    "deadline of %llu ms is over %llu ms (30 days)",
		    (unsigned long long)s->deadline_ms,
		    (unsigned long long)TPD_DEADLINE_MAX_MS);
	if (s->has_delay_ms && s->delay_ms > TPD_DEADLINE_MAX_MS)
		return validate_fail(ret_code, BAD, why, whylen,
		    "delay of %llu ms is over %llu ms (30 days)",
		    (unsigned long long)s->delay_ms,
		    (unsigned long long)TPD_DEADLINE_MAX_MS);
	if (s->has_delay_ms && s->delay_ms > 0 && s->has_deadline_ms &&
	    s->deadline_ms > 0 && s->deadline_ms <= s->delay_ms)
		return validate_fail(ret_code, BAD, why, whylen,
		    "deadline of %llu ms is not after the delay of %llu ms "
		    "(both count from the submit): the job could never start",
		    (unsigned long long)s->deadline_ms,
		    (unsigned long long)s->delay_ms);
	if (s->unique_key != NULL && (s->unique_key[0] == '\0' ||
	    strlen(s->unique_key) > TPD_UNIQUE_KEY_MAX))
		return validate_fail(ret_code, BAD, why, whylen,
		    "unique key of %zu bytes (1 to %d)", strlen(s->unique_key),
		    TPD_UNIQUE_KEY_MAX);
	if (s->unique_key != NULL && !tp_utf8_name_ok(s->unique_key,
	    strlen(s->unique_key), &bad))
		return validate_fail(ret_code, BAD, why, whylen,
		    "unique key: invalid UTF-8 or a control character at byte "
		    "offset %zu", bad);
	/* The one check of the priority (pools.c relies on it). */
	if (!threadpool_pri_is_valid(s->priority))
		return validate_fail(ret_code,
		    TPOOL__ERROR_CODE__ERROR_INVALID_PRIORITY, why, whylen,
		    "priority %d is not valid (-1, or %d to %d)",
		    (int)s->priority, TP_PRI_USER_MIN, TP_PRI_RT_MAX);
	if (s->pool == TPOOL__POOL_KIND__POOL_PERCPU && s->cpu < -1)
		return validate_fail(ret_code,
		    TPOOL__ERROR_CODE__ERROR_INVALID_CPU, why, whylen,
		    "CPU %d is not valid (-1 for any)", (int)s->cpu);
	/* An unbound pool has no CPU: -1 (the default) or nothing. */
	if (s->pool == TPOOL__POOL_KIND__POOL_UNBOUND && s->cpu != -1)
		return validate_fail(ret_code,
		    TPOOL__ERROR_CODE__ERROR_INVALID_CPU, why, whylen,
		    "CPU %d given for an unbound pool (a CPU is for "
		    "POOL_PERCPU; leave it out or send -1)", (int)s->cpu);
	return true;
}

bool
tpd_validate_hello(const Tpool__Request *req, Tpool__ErrorCode *ret_code,
    char *why, size_t whylen)
{
	const Tpool__Hello *h = req->hello;

	if (!h->has_version ||
	    h->version != TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT)
		return validate_fail(ret_code,
		    TPOOL__ERROR_CODE__ERROR_VERSION, why, whylen,
		    "protocol version %llu is not supported; this daemon "
		    "speaks %d",
		    (unsigned long long)(h->has_version ? h->version : 0),
		    TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT);
	return true;
}

bool
tpd_validate_cancel(const Tpool__Request *req, Tpool__ErrorCode *ret_code,
    char *why, size_t whylen)
{
	if (!req->cancel->has_job_id)
		return validate_fail(ret_code, BAD, why, whylen,
		    "cancel without a job id");
	return true;
}

bool
tpd_validate_watch(const Tpool__Request *req, Tpool__ErrorCode *ret_code,
    char *why, size_t whylen)
{
	if (!req->watch->has_job_id)
		return validate_fail(ret_code, BAD, why, whylen,
		    "watch without a job id");
	return true;
}

bool
tpd_validate_status(const Tpool__Request *req, Tpool__ErrorCode *ret_code,
    char *why, size_t whylen)
{
	const Tpool__Status *st = req->status;

	if (st->has_all && st->all && st->has_job_id)
		return validate_fail(ret_code, BAD, why, whylen,
		    "status: all and job_id exclude each other");
	if (st->has_job_id && (st->has_before_id || st->has_limit))
		return validate_fail(ret_code, BAD, why, whylen,
		    "status: before_id and limit page a list; not with "
		    "job_id");
	if (st->has_before_id && st->before_id == 0)
		return validate_fail(ret_code, BAD, why, whylen,
		    "status: before_id 0 (leave it out for the first page)");
	if (st->has_limit && (st->limit < 1 ||
	    st->limit > TPD_STATUS_PAGE_MAX))
		return validate_fail(ret_code, BAD, why, whylen,
		    "status: limit %u is not 1 to %u jobs a page",
		    (unsigned int)st->limit, TPD_STATUS_PAGE_MAX);
	return true;
}
