/*
 * jobid.h -- where a run's job ids start, so that no id is ever issued
 * twice, across restarts too (jobid.c).  Layer: the job table; calls
 * plugin.c's trust check, options and the log.  Loop thread.
 */
#ifndef TPD_JOBID_H
#define TPD_JOBID_H

#include <stdint.h>

/*
 * Open --state-dir (when given) and find this run's first id: above the
 * wall clock in microseconds and above the high-water mark an earlier run
 * left there, and reserve the first block of ids there.  *ret_first on
 * success; 0 or an errno (logged, naming the file and the reason).
 */
int	tpd_jobid_open(uint64_t *ret_first);
/*
 * Id is about to be issued (ids only grow): with a state directory, move
 * the mark on by a block first when id reaches it.
 */
void	tpd_jobid_issue(uint64_t id);
/* The state directory, opened and checked (-1: none); the caller's to
 * use, not to close. */
int	tpd_jobid_dir_fd(void);
/*
 * The state directory cannot be written (read-only file system, or not
 * writable by the daemon's user): why, borrowed; NULL when it can be (or
 * there is none).  Then no id may be issued in this run.
 */
const char *tpd_jobid_read_only(void);
/* Close the state directory (a later tpd_jobid_open() opens it again). */
void	tpd_jobid_close(void);

#endif /* TPD_JOBID_H */
