/*
 * req.h -- a request as its handler sees it, the request table's row, and
 * the helpers handlers share (req.c).  Layer: connections and requests:
 * dispatch.c calls the handlers through its table; the handlers
 * (req-*.c) call req.c, follow.c, msg.c and the layers below.  Loop
 * thread.
 *
 * A handler either sends its reply (tpd_req_reply()) and returns
 * TPD_REQ_OK, or returns an error code, with its message set by
 * tpd_req_fail(): dispatch.c turns it into the Error reply, the one place
 * that does.
 */
#ifndef TPD_REQ_H
#define TPD_REQ_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "tpool.pb-c.h"
#include "validate.h"

struct tpd_conn;
struct tpd_job;

#define	TPD_REQ_OK	TPOOL__ERROR_CODE__ERROR_UNSPECIFIED

/* One request being handled.  On the dispatcher's stack; borrowed. */
struct tpd_req {
	struct tpd_conn		*r_conn;	/* the caller */
	uid_t			r_uid;		/* its peer's uid */
	gid_t			r_gid;		/* and gid (SO_PEERCRED) */
	const Tpool__Request	*r_req;		/* unpacked, valid during the
						 *    call */
	uint64_t		r_id;		/* its request_id (not 0) */
	struct tpd_job		*r_job;		/* the job it names, found
						 *    and visible (a row with
						 *    rr_job_id), or NULL */
	char			r_why[256];	/* tpd_req_fail()'s message */
};

typedef Tpool__ErrorCode tpd_req_fn(struct tpd_req *r);

/* What a request may do and who may ask (rr_flags). */
#define	TPD_REQ_READONLY	0x01u	/* changes nothing */
#define	TPD_REQ_MUTATES		0x02u	/* changes the job table */
#define	TPD_REQ_ANYONE		0x00u	/* any peer */
#define	TPD_REQ_ROOT		0x10u	/* uid 0 only: ERROR_PERMISSION */
#define	TPD_REQ_OWNER		0x20u	/* the job it names must be the
					 *    caller's (or the caller root):
					 *    ERROR_NO_SUCH_JOB, as for a
					 *    missing one */

/* One row of the request table (dispatch.c): one per request kind. */
struct tpd_req_row {
	Tpool__Request__BodyCase rr_case;
	const char		*rr_name;	/* for logs */
	tpd_req_fn		*rr_handler;
	unsigned int		rr_flags;
	tpd_validate_fn		*rr_validate;	/* NULL: nothing to check */
	/* The job the request names (false: none), for TPD_REQ_OWNER. */
	bool			(*rr_job_id)(const Tpool__Request *req,
				    uint64_t *ret_id);
};

/* Set r's error message; returns code (return tpd_req_fail(...)). */
Tpool__ErrorCode tpd_req_fail(struct tpd_req *r, Tpool__ErrorCode code,
	    const char *fmt, ...) __attribute__((__format__(__printf__, 3, 4)));
/*
 * The refusal of a charge of bytes the memory budget turned down for the
 * caller (error EDQUOT: its share; ENOSPC: the daemon's): ERROR_OVER_BUDGET
 * with the budget's message.
 */
Tpool__ErrorCode tpd_req_fail_budget(struct tpd_req *r, int error,
	    size_t bytes);
/* Send r's reply, resp (borrowed); returns TPD_REQ_OK. */
Tpool__ErrorCode tpd_req_reply(struct tpd_req *r, Tpool__Response *resp);
/*
 * The job of that id as the caller may see it: TPD_REQ_OK and *ret_job,
 * or ERROR_NO_SUCH_JOB, with one message, both for an id of no job and
 * for another uid's job (root sees every job).  The one place that
 * decides who sees which job; ERROR_NOT_YOURS is no longer sent.
 */
Tpool__ErrorCode tpd_req_find_job(struct tpd_req *r, uint64_t id,
	    struct tpd_job **ret_job);

/* The handlers (req-*.c), one per row. */
tpd_req_fn tpd_req_hello;
tpd_req_fn tpd_req_submit;
tpd_req_fn tpd_req_cancel;
tpd_req_fn tpd_req_status;
tpd_req_fn tpd_req_watch;
tpd_req_fn tpd_req_list_plugins;
tpd_req_fn tpd_req_stats;
tpd_req_fn tpd_req_metrics;

#endif /* TPD_REQ_H */
