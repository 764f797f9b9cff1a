/*
 * follow.h -- who follows a job (follow.c): its submitter, its watchers,
 * and the Cancel requests that wait for its end.  Layer: connections and
 * requests, above msg.c.  The job table calls the three hooks below
 * through the tpd_job_hooks it was handed; conn.c calls
 * tpd_follow_conn_closed through its ch_closed hook.  Loop thread.
 */
#ifndef TPD_FOLLOW_H
#define TPD_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpool.pb-c.h"

struct tpd_conn;
struct tpd_job;

/* The bytes follow.c keeps in each job and in each connection. */
extern const size_t tpd_follow_job_ext_size;
extern const size_t tpd_follow_conn_ext_size;

/* conn submitted job: it gets the job's events until it closes. */
void	tpd_follow_submitted(struct tpd_job *job, struct tpd_conn *conn);
/*
 * Bytes a watch or a waiting cancel holds, charged to the connection's
 * user in the memory budget (budget.h) while it lasts.
 */
extern const size_t tpd_follow_record_size;
/*
 * conn watches job (not final): it gets its events from now on, once
 * even if it is also the submitter or watches it again.  0, ENOMEM, or
 * EDQUOT / ENOSPC when the user's share / the daemon's budget has no room
 * for the record.
 */
int	tpd_follow_watch(struct tpd_job *job, struct tpd_conn *conn);
/*
 * A Cancel with wait (request_id) is answered when job ends, with result
 * and the final state.  0, ENOMEM, EDQUOT / ENOSPC as above, or EEXIST
 * when conn already waits for job's end with an earlier Cancel (nothing
 * added: answer this one now).
 */
int	tpd_follow_cancel_wait(struct tpd_job *job, struct tpd_conn *conn,
	    uint64_t request_id, Tpool__CancelResult result);
/* Does conn wait for anything (jobs it submitted in flight, watches,
 * cancel waits)?  conn.c's ch_busy. */
bool	tpd_follow_conn_busy(struct tpd_conn *conn);

/* The job table's hooks (struct tpd_job_hooks). */
void	tpd_follow_started(struct tpd_job *job, uint64_t queue_ns, int cpu);
void	tpd_follow_progress(struct tpd_job *job, unsigned int percent,
	    const char *message);
void	tpd_follow_finished(struct tpd_job *job, const Tpool__JobInfo *info);
/* conn is closed: its jobs go on, followed by nobody through it. */
void	tpd_follow_conn_closed(struct tpd_conn *conn);

#endif /* TPD_FOLLOW_H */
