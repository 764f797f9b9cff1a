/*
 * dispatch.c -- from a frame's body to a request handler: the request
 * table.
 *
 * A body is unpacked as a Request with an arena allocator: protobuf-c's
 * allocations for one request come from one loop-owned block (big ones
 * from malloc, remembered), all released at once after the handler
 * returns; the unpacked request belongs to this file and handlers borrow
 * it.  Bytes that do not unpack are answered ERROR_BAD_REQUEST (request
 * id 0) and the connection is closed (we cannot know where the next frame
 * starts in the peer's mind); so is a request with id 0, which the
 * protocol forbids (0 marks the daemon's connection-level errors).
 *
 * Then the request's row (dispatch_rows[], one per kind) says the rest:
 * its check of the request alone (validate.c), who may ask (root only;
 * the owner of the job it names, found by tpd_req_find_job()), and its
 * handler.  A handler replies, or returns an error code with a message,
 * which this file alone turns into the Error reply.  A request that
 * fails is answered with its error and the connection goes on (a Hello of
 * another version is the exception: that peer is told and dropped).
 *
 * To add a request kind: docs/architecture.md, "Adding a request".
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "dispatch.h"
#include "log.h"
#include "msg.h"
#include "req.h"
#include "testing.h"
#include "validate.h"

/* ----------------------------------------------------------------- arena */
#define	ARENA_SIZE	(64u << 10)
#define	ARENA_ALIGN	16u

struct arena_big {
	struct arena_big	*ab_next;
	max_align_t		ab_data[];
};

static _Alignas(max_align_t) uint8_t arena_block[ARENA_SIZE];
static size_t arena_used;
static struct arena_big *arena_bigs;

static void *
arena_alloc(void *data, size_t size)
{
	struct arena_big *big;
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	if (need <= ARENA_SIZE - arena_used) {
		p = arena_block + arena_used;
		arena_used += need;
		return p;
	}
	if ((big = malloc(sizeof(*big) + size)) == NULL)
		return NULL;
	big->ab_next = arena_bigs;
	arena_bigs = big;
	return big->ab_data;
}

static void
arena_free(void *data, void *p)
{
	/* Everything goes at once in arena_reset(). */
}

static void
arena_reset(void)
{
	struct arena_big *big;

	while ((big = arena_bigs) != NULL) {
		arena_bigs = big->ab_next;
		free(big);
	}
	arena_used = 0;
}

static ProtobufCAllocator arena_allocator = {
	.alloc = arena_alloc,
	.free = arena_free,
	.allocator_data = NULL,
};

/* ------------------------------------------------------------- the table */

static bool
dispatch_cancel_job(const Tpool__Request *req, uint64_t *ret_id)
{
	*ret_id = req->cancel->job_id;
	return true;
}

static bool
dispatch_watch_job(const Tpool__Request *req, uint64_t *ret_id)
{
	*ret_id = req->watch->job_id;
	return true;
}

static bool
dispatch_status_job(const Tpool__Request *req, uint64_t *ret_id)
{
	*ret_id = req->status->job_id;
	return req->status->has_job_id;
}

#define	RO	TPD_REQ_READONLY
#define	RW	TPD_REQ_MUTATES

static const struct tpd_req_row dispatch_rows[] = {
	{ TPOOL__REQUEST__BODY_HELLO, "hello", tpd_req_hello,
	    RO | TPD_REQ_ANYONE, tpd_validate_hello, NULL },
	{ TPOOL__REQUEST__BODY_SUBMIT, "submit", tpd_req_submit,
	    RW | TPD_REQ_ANYONE, tpd_validate_submit, NULL },
	{ TPOOL__REQUEST__BODY_CANCEL, "cancel", tpd_req_cancel,
	    RW | TPD_REQ_OWNER, tpd_validate_cancel, dispatch_cancel_job },
	{ TPOOL__REQUEST__BODY_STATUS, "status", tpd_req_status,
	    RO | TPD_REQ_OWNER, tpd_validate_status, dispatch_status_job },
	{ TPOOL__REQUEST__BODY_LIST_PLUGINS, "list_plugins",
	    tpd_req_list_plugins, RO | TPD_REQ_ANYONE, NULL, NULL },
	{ TPOOL__REQUEST__BODY_STATS, "stats", tpd_req_stats,
	    RO | TPD_REQ_ANYONE, NULL, NULL },
	{ TPOOL__REQUEST__BODY_WATCH, "watch", tpd_req_watch,
	    RO | TPD_REQ_OWNER, tpd_validate_watch, dispatch_watch_job },
	{ TPOOL__REQUEST__BODY_METRICS, "metrics", tpd_req_metrics,
	    RO | TPD_REQ_ANYONE, NULL, NULL },
};
#define	DISPATCH_NROWS	(sizeof(dispatch_rows) / sizeof(dispatch_rows[0]))

static const struct tpd_req_row *
dispatch_row(Tpool__Request__BodyCase kind)
{
	size_t i;

	for (i = 0; i < DISPATCH_NROWS; i++)
		if (dispatch_rows[i].rr_case == kind)
			return &dispatch_rows[i];
	return NULL;
}

/*
 * Unpack body with the arena; NULL when it is not a Request (the arena is
 * then empty again).  The caller calls arena_reset() when done with it.
 */
static Tpool__Request *
dispatch_unpack(const uint8_t *body, size_t len)
{
	Tpool__Request *req;

	req = (Tpool__Request *)protobuf_c_message_unpack(
	    &tpool__request__descriptor, &arena_allocator, len, body);
	if (req == NULL)
		arena_reset();
	return req;
}

/*
 * The checks of req that need nothing but the request and tpd_opt: its
 * id, its kind, its row's check.  TPD_REQ_OK, or a code and why[].
 */
static Tpool__ErrorCode
dispatch_check(const Tpool__Request *req, const struct tpd_req_row **ret_row,
    char *why, size_t whylen)
{
	const struct tpd_req_row *row;
	Tpool__ErrorCode code = TPD_REQ_OK;

	*ret_row = NULL;
	if (!req->has_request_id || req->request_id == 0) {
		(void)snprintf(why, whylen, "request id 0 (or none): a "
		    "request's id must not be 0");
		return TPOOL__ERROR_CODE__ERROR_BAD_REQUEST;
	}
	if (req->body_case == TPOOL__REQUEST__BODY__NOT_SET) {
		(void)snprintf(why, whylen, "request without a body");
		return TPOOL__ERROR_CODE__ERROR_BAD_REQUEST;
	}
	if ((row = dispatch_row(req->body_case)) == NULL) {
		(void)snprintf(why, whylen, "unknown request kind %d",
		    (int)req->body_case);
		return TPOOL__ERROR_CODE__ERROR_BAD_REQUEST;
	}
	*ret_row = row;
	if (row->rr_validate != NULL &&
	    !row->rr_validate(req, &code, why, whylen))
		return code;
	return TPD_REQ_OK;
}

int
tpd_request_check(const uint8_t *body, size_t len, Tpool__ErrorCode *ret_code,
    char *why, size_t whylen)
{
	const struct tpd_req_row *row;
	Tpool__Request *req;
	Tpool__ErrorCode code;
	char buf[256];

	if ((req = dispatch_unpack(body, len)) == NULL) {
		*ret_code = TPOOL__ERROR_CODE__ERROR_BAD_REQUEST;
		if (why != NULL && whylen > 0)
			(void)snprintf(why, whylen, "a frame of %zu bytes is "
			    "not a Request message", len);
		return EBADMSG;
	}
	code = dispatch_check(req, &row, buf, sizeof(buf));
	arena_reset();
	if (code == TPD_REQ_OK)
		return 0;
	*ret_code = code;
	if (why != NULL && whylen > 0)
		(void)snprintf(why, whylen, "%s", buf);
	return EINVAL;
}

/* The ch_frame hook: one request, from its bytes to its answer. */
void
tpd_dispatch(struct tpd_conn *conn, const uint8_t *body, size_t len)
{
	const struct tpd_req_row *row;
	Tpool__Request *req;
	Tpool__ErrorCode code;
	struct tpd_req r;
	uint64_t job_id;

	if ((req = dispatch_unpack(body, len)) == NULL) {
		tpd_msg_error(conn, 0, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST,
		    "a frame of %zu bytes is not a Request message", len);
		tpd_conn_close_after_write(conn);
		return;
	}
	r.r_conn = conn;
	r.r_uid = tpd_conn_uid(conn);
	r.r_gid = tpd_conn_gid(conn);
	r.r_req = req;
	r.r_id = req->request_id;
	r.r_job = NULL;
	r.r_why[0] = '\0';
	code = dispatch_check(req, &row, r.r_why, sizeof(r.r_why));
	if (code == TPD_REQ_OK && (row->rr_flags & TPD_REQ_ROOT) &&
	    r.r_uid != 0)
		code = tpd_req_fail(&r, TPOOL__ERROR_CODE__ERROR_PERMISSION,
		    "%s is for root only", row->rr_name);
	if (code == TPD_REQ_OK && (row->rr_flags & TPD_REQ_OWNER) &&
	    row->rr_job_id != NULL && row->rr_job_id(req, &job_id))
		code = tpd_req_find_job(&r, job_id, &r.r_job);
	if (code == TPD_REQ_OK)
		code = row->rr_handler(&r);
	if (code != TPD_REQ_OK) {
		tpd_msg_error(conn, r.r_id, code, "%s", r.r_why);
		/*
		 * A peer of another version is told so and dropped, as tmux
		 * does; a request id 0 looks like the daemon's own
		 * connection-level errors, which end the connection.
		 */
		if (code == TPOOL__ERROR_CODE__ERROR_VERSION || r.r_id == 0)
			tpd_conn_close_after_write(conn);
	}
	arena_reset();
}
