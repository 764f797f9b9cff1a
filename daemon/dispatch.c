/*
 * dispatch.c -- from a frame's body to a request handler, and the helpers
 * handlers answer with.
 *
 * A body is unpacked as a Request with an arena allocator: protobuf-c's
 * allocations for one request come from one loop-owned block (big ones
 * from malloc, remembered), all released at once after the handler
 * returns; the unpacked request belongs to this file and handlers borrow
 * it.  Bytes that do not unpack are answered ERROR_BAD_REQUEST and the
 * connection is closed (we cannot know where the next frame starts in the
 * peer's mind).  Then validate.c checks the request alone (a body of a
 * kind we know, the fields each kind needs, the limits on sizes and
 * numbers): a request that fails is answered with its error and the
 * connection goes on (a Hello of another version is the exception: that
 * peer is dropped).  Only then does the kind's handler run.
 *
 * To add a request kind: the .proto, a req-*.c handler declared in
 * tpoold.h, one row in dispatch_table, tpctl, tests, tpoold(8).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpoold.h"

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

/* -------------------------------------------------------------- replies */

void
tpd_reply(struct tpd_conn *conn, uint64_t request_id, Tpool__Response *resp)
{
	Tpool__ServerMessage sm = TPOOL__SERVER_MESSAGE__INIT;

	resp->has_request_id = true;
	resp->request_id = request_id;
	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_RESPONSE;
	sm.response = resp;
	tpd_conn_send(conn, &sm);
}

void
tpd_reply_error(struct tpd_conn *conn, uint64_t request_id, Tpool__ErrorCode code,
    const char *fmt, ...)
{
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__Error err = TPOOL__ERROR__INIT;
	char message[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	err.has_code = true;
	err.code = code;
	err.message = message;
	resp.body_case = TPOOL__RESPONSE__BODY_ERROR;
	resp.error = &err;
	tpd_debug("connection %llu request %llu: %s: %s", (unsigned long long)conn->c_id,
	    (unsigned long long)request_id, tp_error_name(code), message);
	tpd_reply(conn, request_id, &resp);
}

/* ------------------------------------------------------------- dispatch */

struct dispatch_row {
	const char	*dr_name;
	tpd_req_fn	*dr_fn;
};

static const struct dispatch_row dispatch_table[] = {
	[TPOOL__REQUEST__BODY_HELLO] = { "hello", tpd_req_hello },
	[TPOOL__REQUEST__BODY_SUBMIT] = { "submit", tpd_req_submit },
	[TPOOL__REQUEST__BODY_CANCEL] = { "cancel", tpd_req_cancel },
	[TPOOL__REQUEST__BODY_STATUS] = { "status", tpd_req_status },
	[TPOOL__REQUEST__BODY_LIST_PLUGINS] = { "list_plugins", tpd_req_list_plugins },
	[TPOOL__REQUEST__BODY_STATS] = { "stats", tpd_req_stats },
	[TPOOL__REQUEST__BODY_WATCH] = { "watch", tpd_req_watch },
};
#define	DISPATCH_NROWS	(sizeof(dispatch_table) / sizeof(dispatch_table[0]))

/*
 * Unpack body with the arena; NULL when it is not a Request (the arena is
 * then empty again).  The caller calls arena_reset() when done with it.
 */
static Tpool__Request *
dispatch_unpack(const uint8_t *body, size_t len)
{
	Tpool__Request *req;

	req = (Tpool__Request *)protobuf_c_message_unpack(&tpool__request__descriptor,
	    &arena_allocator, len, body);
	if (req == NULL)
		arena_reset();
	return req;
}

int
tpd_request_check(const uint8_t *body, size_t len, Tpool__ErrorCode *ret_code,
    char *why, size_t whylen)
{
	Tpool__Request *req;
	Tpool__ErrorCode code;
	bool ok;

	if ((req = dispatch_unpack(body, len)) == NULL) {
		*ret_code = TPOOL__ERROR_CODE__ERROR_BAD_REQUEST;
		if (why != NULL && whylen > 0)
			(void)snprintf(why, whylen, "a frame of %zu bytes is not a Request "
			    "message", len);
		return EBADMSG;
	}
	ok = tpd_request_validate(req, &code, why, whylen);
	arena_reset();
	if (ok)
		return 0;
	*ret_code = code;
	return EINVAL;
}

void
tpd_dispatch(struct tpd_conn *conn, const uint8_t *body, size_t len)
{
	Tpool__Request *req;
	Tpool__ErrorCode code;
	char why[256];

	if ((req = dispatch_unpack(body, len)) == NULL) {
		tpd_reply_error(conn, 0, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST,
		    "a frame of %zu bytes is not a Request message", len);
		tpd_conn_close_after_flush(conn);
		return;
	}
	if (!tpd_request_validate(req, &code, why, sizeof(why))) {
		tpd_reply_error(conn, req->request_id, code, "%s", why);
		/* A peer of another version is told so and dropped, as tmux does. */
		if (code == TPOOL__ERROR_CODE__ERROR_VERSION)
			tpd_conn_close_after_flush(conn);
	} else if ((size_t)req->body_case < DISPATCH_NROWS &&
	    dispatch_table[req->body_case].dr_fn != NULL) {
		dispatch_table[req->body_case].dr_fn(conn, req);
	} else {
		/* Validated kinds all have a row: this is a bug of ours. */
		tpd_err("request kind %d has no handler", (int)req->body_case);
		tpd_reply_error(conn, req->request_id, TPOOL__ERROR_CODE__ERROR_INTERNAL,
		    "request kind %d is not served", (int)req->body_case);
	}
	arena_reset();
}
