/*
 * msg.h -- every message the daemon sends, built and framed in one place
 * (msg.c): replies, errors, events, cancel answers.  Layer: connections
 * and requests, above conn.c (it queues the frames there).  Loop thread.
 *
 * Sending to a connection that is closed or being dropped does nothing;
 * one whose output would pass --max-output is dropped (conn.c).
 */
#ifndef TPD_MSG_H
#define TPD_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "tpool.pb-c.h"

struct tpd_conn;

/* Send resp (its request_id set here; borrowed) to conn. */
void	tpd_msg_reply(struct tpd_conn *conn, uint64_t request_id,
	    Tpool__Response *resp);
/* Send an Error response. */
void	tpd_msg_error(struct tpd_conn *conn, uint64_t request_id,
	    Tpool__ErrorCode code, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 4, 5)));
/* The conn.c hook: an Error with request_id 0 (conn closes after it). */
void	tpd_msg_refuse(struct tpd_conn *conn, Tpool__ErrorCode code,
	    const char *message);
/* A CancelReply: the seed's result and the job as it is (borrowed). */
void	tpd_msg_cancel_reply(struct tpd_conn *conn, uint64_t request_id,
	    Tpool__CancelResult result, Tpool__JobInfo *info);

/*
 * Events: one of these encodes the event once (false: no memory, logged;
 * send nothing), then tpd_msg_event_to() sends that frame to each
 * listener.  The encoding is valid until the next event is encoded.
 */
bool	tpd_msg_event_started(uint64_t job_id, uint64_t queue_ns, int cpu,
	    unsigned int attempt);
bool	tpd_msg_event_progress(uint64_t job_id, unsigned int percent,
	    const char *message);
bool	tpd_msg_event_finished(const Tpool__JobInfo *info);
void	tpd_msg_event_to(struct tpd_conn *conn);

/* Exit: free the event buffer. */
void	tpd_msg_free(void);

#endif /* TPD_MSG_H */
