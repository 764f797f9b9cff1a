/*
 * fuzz_request.c -- libFuzzer target for request decoding and validation
 * as the daemon does it: an input is one Request body (no frame header),
 * given to tpd_request_check() (daemon/dispatch.c: the dispatcher's own
 * unpacking with its arena, then validate.c's checks of each request
 * kind), and judged against what the protocol (proto/tpool.proto) and
 * tpoold(8) promise, read here independently:
 *
 *   - the bytes are refused as "not a Request" (EBADMSG, ERROR_BAD_REQUEST)
 *     exactly when protobuf-c's own unpack refuses them;
 *   - a request passes only if it is one of the kinds the daemon serves
 *     and has what that kind needs: a Hello of the current version; a
 *     Submit naming a plugin (1 to TP_PLUGIN_NAME_MAX bytes), with input
 *     within --max-input, a name within TPD_JOB_NAME_MAX, a known pool
 *     kind, a valid libtp priority, a CPU of -1 or more for a per-CPU pool;
 *     a Cancel or Watch with a job id; a Status of one job (not with all
 *     nor paging) or a list, paged by a before_id above 0 and a limit of 1
 *     to 1000;
 *   - a refused request gets an error code that names one of the things
 *     wrong with it (whatever the order of the checks), and a message that
 *     is plain printable ASCII, not empty, NUL-terminated in its buffer, and
 *     the same whether or not a message is asked for and however short the
 *     buffer.
 *
 * Only tpd_opt is used (the defaults, with --max-input lowered to 256 bytes
 * so the fuzzer reaches that limit with small inputs); nothing survives
 * from one input to the next.  A broken promise traps.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "testing.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define	REQ_MAX_INPUT	256u
#define	REQ_MAX_MS	(30ull * 86400 * 1000)	/* docs/protocol.md: 30 days */

#define	CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	tpd_log_set_verbose(-1);
	tpd_options_defaults(&tpd_opt);
	tpd_opt.o_max_input = REQ_MAX_INPUT;
	return 0;
}

/*
 * Is name UTF-8 text without C0/C1 controls or DEL?  Written here again,
 * from the rule (RFC 3629 and docs/protocol.md), not with proto/utf8.c,
 * so that the two can disagree and the fuzzer see it.
 */
static bool
req_name_is_text(const char *name)
{
	/* The least code point of a sequence of 1 + need bytes. */
	static const unsigned int least[] = { 0, 0x80, 0x800, 0x10000 };
	const unsigned char *p = (const unsigned char *)name;
	unsigned int cp, need, i;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			need = 1, cp = *p & 0x1fu;
		else if (*p >= 0xe0 && *p <= 0xef)
			need = 2, cp = *p & 0x0fu;
		else if (*p >= 0xf0 && *p <= 0xf4)
			need = 3, cp = *p & 0x07u;
		else
			return false;
		for (i = 1, p++; i <= need; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (*p & 0x3fu);
		}
		if (cp < least[need] || cp <= 0x9f ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
	}
	return true;
}

/* Bit i: the request is wrong in a way answered with error code i. */
static uint32_t
req_wrongs(const Tpool__Request *req)
{
	const Tpool__Submit *s;
	uint32_t w = 0;

#define	WRONG(code)	(w |= 1u << TPOOL__ERROR_CODE__##code)
	/* Every request needs an id other than 0 (docs/protocol.md). */
	if (!req->has_request_id || req->request_id == 0)
		WRONG(ERROR_BAD_REQUEST);
	switch (req->body_case) {
	case TPOOL__REQUEST__BODY_HELLO:
		if (!req->hello->has_version ||
		    req->hello->version != TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT)
			WRONG(ERROR_VERSION);
		break;
	case TPOOL__REQUEST__BODY_SUBMIT:
		s = req->submit;
		if (s->plugin == NULL || s->plugin[0] == '\0')
			WRONG(ERROR_BAD_REQUEST);
		else if (strlen(s->plugin) > TP_PLUGIN_NAME_MAX)
			WRONG(ERROR_UNKNOWN_PLUGIN);
		if (s->has_input && s->input.len > REQ_MAX_INPUT)
			WRONG(ERROR_INPUT_TOO_LARGE);
		if (s->name != NULL && strlen(s->name) > TPD_JOB_NAME_MAX)
			WRONG(ERROR_BAD_REQUEST);
		/* A job name is UTF-8 text without control characters. */
		if (s->name != NULL && !req_name_is_text(s->name))
			WRONG(ERROR_BAD_REQUEST);
		if (s->pool != TPOOL__POOL_KIND__POOL_UNBOUND &&
		    s->pool != TPOOL__POOL_KIND__POOL_PERCPU)
			WRONG(ERROR_BAD_REQUEST);
		if (s->priority != TP_PRI_NONE &&
		    (s->priority < TP_PRI_USER_MIN || s->priority > TP_PRI_RT_MAX))
			WRONG(ERROR_INVALID_PRIORITY);
		if (s->pool == TPOOL__POOL_KIND__POOL_PERCPU && s->cpu < -1)
			WRONG(ERROR_INVALID_CPU);
		/* A CPU named with the unbound pool is refused. */
		if (s->pool == TPOOL__POOL_KIND__POOL_UNBOUND && s->cpu != -1)
			WRONG(ERROR_INVALID_CPU);
		/* A time limit or deadline is at most 30 days. */
		if (s->has_timeout_ms && s->timeout_ms > REQ_MAX_MS)
			WRONG(ERROR_BAD_REQUEST);
		if (s->has_deadline_ms && s->deadline_ms > REQ_MAX_MS)
			WRONG(ERROR_BAD_REQUEST);
		/* A unique key: 1 to 128 bytes of text. */
		if (s->unique_key != NULL && (s->unique_key[0] == '\0' ||
		    strlen(s->unique_key) > 128 ||
		    !req_name_is_text(s->unique_key)))
			WRONG(ERROR_BAD_REQUEST);
		/* So is a delay, and a deadline must be after it. */
		if (s->has_delay_ms && s->delay_ms > REQ_MAX_MS)
			WRONG(ERROR_BAD_REQUEST);
		if (s->has_delay_ms && s->delay_ms > 0 &&
		    s->has_deadline_ms && s->deadline_ms > 0 &&
		    s->deadline_ms <= s->delay_ms)
			WRONG(ERROR_BAD_REQUEST);
		break;
	case TPOOL__REQUEST__BODY_CANCEL:
		if (!req->cancel->has_job_id)
			WRONG(ERROR_BAD_REQUEST);
		break;
	case TPOOL__REQUEST__BODY_WATCH:
		if (!req->watch->has_job_id)
			WRONG(ERROR_BAD_REQUEST);
		break;
	case TPOOL__REQUEST__BODY_STATUS:
		/* all or one job; paging only for a list, a page of 1..1000. */
		if (req->status->has_all && req->status->all &&
		    req->status->has_job_id)
			WRONG(ERROR_BAD_REQUEST);
		if (req->status->has_job_id && (req->status->has_before_id ||
		    req->status->has_limit))
			WRONG(ERROR_BAD_REQUEST);
		if (req->status->has_before_id && req->status->before_id == 0)
			WRONG(ERROR_BAD_REQUEST);
		if (req->status->has_limit && (req->status->limit == 0 ||
		    req->status->limit > 1000))
			WRONG(ERROR_BAD_REQUEST);
		break;
	case TPOOL__REQUEST__BODY_LIST_PLUGINS:
	case TPOOL__REQUEST__BODY_STATS:
	case TPOOL__REQUEST__BODY_METRICS:
		break;
	default:
		/* No body, or one this version does not know. */
		WRONG(ERROR_BAD_REQUEST);
		break;
	}
#undef WRONG
	return w;
}

/* A message for people: printable ASCII, not empty, ends within buf. */
static void
req_check_message(const char *buf, size_t cap)
{
	size_t i;

	CHECK(buf[0] != '\0');
	for (i = 0; i < cap && buf[i] != '\0'; i++)
		CHECK(buf[i] >= 0x20 && buf[i] <= 0x7e);
	CHECK(i < cap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Tpool__ErrorCode code = TPOOL__ERROR_CODE__ERROR_UNSPECIFIED, code2;
	Tpool__Request *req;
	char why[256], tiny[8];
	uint32_t wrongs;
	int rc, rc2;

	memset(why, 0x55, sizeof(why));
	rc = tpd_request_check(data, size, &code, why, sizeof(why));
	CHECK(rc == 0 || rc == EBADMSG || rc == EINVAL);

	/* protobuf-c's unpack with its own allocator is the reference. */
	req = tpool__request__unpack(NULL, size, data);
	if (req == NULL) {
		CHECK(rc == EBADMSG);
		CHECK(code == TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
		req_check_message(why, sizeof(why));
		return 0;
	}
	CHECK(rc != EBADMSG);
	wrongs = req_wrongs(req);
	if (rc == 0) {
		CHECK(wrongs == 0);
	} else {
		CHECK(wrongs != 0);
		CHECK((unsigned int)code < 32 && (wrongs & (1u << code)) != 0);
		req_check_message(why, sizeof(why));
	}
	tpool__request__free_unpacked(req, NULL);

	/* No message asked for, or a short buffer: the same verdict. */
	code2 = TPOOL__ERROR_CODE__ERROR_UNSPECIFIED;
	rc2 = tpd_request_check(data, size, &code2, NULL, 0);
	CHECK(rc2 == rc);
	CHECK(rc == 0 || code2 == code);
	memset(tiny, 0x55, sizeof(tiny));
	code2 = TPOOL__ERROR_CODE__ERROR_UNSPECIFIED;
	rc2 = tpd_request_check(data, size, &code2, tiny, sizeof(tiny));
	CHECK(rc2 == rc);
	if (rc != 0) {
		CHECK(code2 == code);
		req_check_message(tiny, sizeof(tiny));
		CHECK(strncmp(tiny, why, sizeof(tiny) - 1) == 0);
	}
	return 0;
}
