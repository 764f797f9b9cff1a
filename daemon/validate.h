/*
 * validate.h -- the checks of a request that need nothing but the request
 * and tpd_opt (validate.c): each request row (dispatch.c) names its own.
 * Layer: connections and requests; calls nothing of the daemon but
 * options.  Pure: no I/O, no allocation, no log.
 */
#ifndef TPD_VALIDATE_H
#define TPD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "tpool.pb-c.h"

/* Longest job name accepted (threads show the first 15 bytes). */
#define	TPD_JOB_NAME_MAX	255
/* Jobs in one page of a Status list, at most (and by default). */
#define	TPD_STATUS_PAGE_MAX	1000u
/* Longest unique key of a Submit. */
#define	TPD_UNIQUE_KEY_MAX	128
/* The longest deadline, time limit or delay a Submit may give (30 days). */
#define	TPD_DEADLINE_MAX_MS	(30ull * 86400 * 1000)

/*
 * true when req may go to its handler; else false with *ret_code and
 * why[] (may be NULL) set.  The request's body is the row's kind.
 */
typedef bool tpd_validate_fn(const Tpool__Request *req,
    Tpool__ErrorCode *ret_code, char *why, size_t whylen);

tpd_validate_fn tpd_validate_hello;
tpd_validate_fn tpd_validate_submit;
tpd_validate_fn tpd_validate_cancel;
tpd_validate_fn tpd_validate_watch;
tpd_validate_fn tpd_validate_status;

#endif /* TPD_VALIDATE_H */
