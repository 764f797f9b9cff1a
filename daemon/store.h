/*
 * store.h -- the job store (store.c): with --state-dir, every accepted job,
 * its state changes and its result in DIR/jobs.db (SQLite), so that jobs
 * survive a restart or a crash of the daemon.  Layer: connections and
 * requests (it answers submits once they are recorded), above the job
 * table, which tells it of changes through the jh_changed and
 * jh_forgotten hooks.  Loop thread.
 */
#ifndef TPD_STORE_H
#define TPD_STORE_H

#include <stdbool.h>
#include <stdint.h>

struct tpd_conn;
struct tpd_job;

/*
 * Open (or create) DIR/jobs.db when --state-dir is given: a file that is
 * not a job store, is damaged, or is of a newer schema stops the start
 * with a message saying what to do; an older schema is upgraded.  Then
 * queued jobs are kept, not cancelled, by a stop.  Without --state-dir,
 * says that jobs live in memory only.  0 or an errno (logged).
 */
int	tpd_store_open(void);
/*
 * After the plugins are loaded: enter the jobs of the store in the job
 * table (tpd_job_restore()): queued ones queued again in id order,
 * running ones ended INTERRUPTED, finished ones kept for status.  0 or
 * an errno (logged).
 */
int	tpd_store_recover(void);
/* Is a store open (so that submits wait for it)? */
bool	tpd_store_is_open(void);
/*
 * The store was opened read-only (its state directory cannot be written):
 * why, borrowed; NULL when it was not (or there is none).  Then submits,
 * and cancels of jobs not finished, are refused (ERROR_STORE), and the
 * jobs it holds are shown but not run.
 */
const char *tpd_store_read_only(void);
/* A store is open, writable, and its last write succeeded. */
bool	tpd_store_writable(void);

/*
 * A submit of job (created, not scheduled) from conn, request_id: it is
 * answered (SubmitReply, then followed and scheduled) once the store has
 * recorded it, at the end of this loop iteration (tpd_store_flush()), or
 * answered ERROR_STORE and discarded when it could not be.  existing: the
 * submit found job by its unique key (created by another submit of this
 * iteration): it is answered the same way, SubmitReply.existing, and
 * watches the job rather than schedule it.  0 or ENOMEM (nothing kept:
 * the caller answers).
 */
int	tpd_store_submitted(struct tpd_job *job, struct tpd_conn *conn,
	    uint64_t request_id, bool existing);

/* The job table's hooks (struct tpd_job_hooks). */
void	tpd_store_job_changed(struct tpd_job *job);
void	tpd_store_job_forgotten(uint64_t id);

/*
 * Write what changed since the last time in one transaction (with --sync
 * full it waits for the disk: fsync of the WAL), then answer
 * the submits it recorded (conn.c's ch_before_write, after the job table
 * took in its workers' posts).  Cheap when nothing changed.
 */
void	tpd_store_flush(void);
/* Flush, then close the store (a later tpd_store_open() opens it again). */
void	tpd_store_close(void);

#endif /* TPD_STORE_H */
