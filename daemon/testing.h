/*
 * testing.h -- entry points for tests and fuzz targets only.  They run the
 * daemon's real code in-process, without main() or a listening socket:
 *
 *   tpd_options_defaults(&tpd_opt)	the defaults, before any set-up;
 *					then set o_plugin_dir (strdup'ed) and
 *					any limit, and tpd_log_set_verbose(-1)
 *					to keep the log quiet
 *   tpd_daemon_setup(false)		the loop, job table, plugins; no socket
 *   tpd_request_check(body, len, ...)	decode and check one Request body as
 *					the dispatcher does (no state, no
 *					I/O; needs only tpd_opt)
 *   tpd_conn_attach(fd, uid, gid, pid)	serve a connected socket (one end of
 *					a socketpair) as a client with those
 *					credentials
 *   tpd_daemon_feed(data, len, ...)	a whole connection's byte stream
 *					through the real read path, framing
 *					and dispatch: a socketpair, the bytes
 *					written (then end of file), replies
 *					read and dropped, until the daemon
 *					closed it and its jobs ended
 *   tpd_daemon_run_until_idle(ms)	run the loop until no connection is
 *					open and no job is in flight
 *   tpd_conn_flush_all()		what the end of a loop iteration does:
 *					take in jobs' ends, write the output
 *   tpd_daemon_stop(why)		as SIGTERM; then run_until_idle
 *   tpd_daemon_teardown()		free everything; tpd_options_free()
 *
 * Each returns 0 or an errno; ETIMEDOUT when the time ran out.  All of
 * them may sleep (they run the loop, or wait for its threads).
 */
#ifndef TPD_TESTING_H
#define TPD_TESTING_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "tpool.pb-c.h"

#include "conn.h"
#include "daemon.h"
#include "jobs.h"
#include "log.h"
#include "options.h"
#include "plugin.h"
#include "validate.h"

/* daemon.c */
int	tpd_daemon_feed(const uint8_t *data, size_t len, uid_t uid, gid_t gid,
	    pid_t pid, unsigned int timeout_ms);
int	tpd_daemon_run_until_idle(unsigned int timeout_ms);

/*
 * jobid.c: when not 0, the first job id of each set-up, instead of the
 * clock and --state-dir (fuzz targets set 1, so that the ids their
 * inputs name, 1, 2, ..., are the jobs those inputs submit).
 */
extern uint64_t tpd_jobid_testing_first;

/* conn.c */
int	tpd_conn_attach(int fd, uid_t uid, gid_t gid, pid_t pid,
	    struct tpd_conn **ret_conn);
void	tpd_conn_flush_all(void);

/*
 * dispatch.c: decode and check one Request body exactly as the
 * dispatcher does before it calls a handler: 0 when a handler would be
 * called; EBADMSG when the bytes are not a Request (the connection would
 * be closed); EINVAL when a check fails.  On failure *ret_code is the
 * error code the client would get and why[] (may be NULL) its message.
 * Pure: reads tpd_opt only.
 */
int	tpd_request_check(const uint8_t *body, size_t len,
	    Tpool__ErrorCode *ret_code, char *why, size_t whylen);

#endif /* TPD_TESTING_H */
