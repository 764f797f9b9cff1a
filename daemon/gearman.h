/*
 * gearman.h -- tpoold as a Gearman worker (gearman.c, --gearman): the jobs
 * that gearmand servers hand out run on the daemon's pools like any other.
 * Layer: connections and requests, above listen.c (a slot connects to the
 * daemon's socket as a client); daemon.c starts, reloads and stops it.
 */
#ifndef TPD_GEARMAN_H
#define TPD_GEARMAN_H

/*
 * With tpd_opt.o_gearman set, start --gearman-jobs slot threads, each a
 * Gearman worker of every server and a client of the daemon's socket
 * (tpd_listen_path(), which must be listening).  Servers that cannot be
 * reached are retried in the background.  0 or an errno (logged; the
 * slots started are stopped).  Nothing to do without --gearman.  Loop
 * thread.
 */
int	tpd_gearman_start(void);
/*
 * The plugins may have changed (SIGHUP): each slot registers the
 * functions of the plugins loaded now before it takes its next job.  Any
 * thread.
 */
void	tpd_gearman_reload(void);
/*
 * Take no more Gearman jobs; a slot waiting for a job's end hands it back
 * to gearmand (which gives it to another worker).  Does not wait.  Any
 * thread; again is fine.
 */
void	tpd_gearman_stop(void);
/*
 * Stop (as above), then wait for the slot threads and free them.  Once
 * the loop no longer runs.  May sleep (up to the slots' poll, 500 ms).
 */
void	tpd_gearman_join(void);

#endif /* TPD_GEARMAN_H */
