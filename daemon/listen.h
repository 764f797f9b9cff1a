/*
 * listen.h -- the listening socket (listen.c).  Layer: connections and
 * requests, above conn.c (it hands each accepted socket there).  Loop
 * thread.
 */
#ifndef TPD_LISTEN_H
#define TPD_LISTEN_H

#include <stdbool.h>

struct event_base;

/*
 * Take the socket systemd passed (LISTEN_FDS), or bind one at
 * tpd_opt.o_socket; start accepting on base into tpd_conn_accept().  0 or
 * an errno (logged here).
 */
int	tpd_listen_start(struct event_base *base);
/* Stop accepting and close the socket (unlinking it if we bound it). */
void	tpd_listen_stop(void);
/* The socket's path, for the log: systemd's socket's own, or --socket. */
const char *tpd_listen_path(void);
/* Was the socket passed by systemd? */
bool	tpd_listen_activated(void);
/* A connection closed (a descriptor is free): resume a paused accept. */
void	tpd_listen_fd_freed(void);
/*
 * The socket systemd passed named "metrics", checked and non-blocking,
 * once (the caller owns it); -1 when there is none.  After
 * tpd_listen_start().
 */
int	tpd_listen_take_metrics_fd(void);
/* Is accepting paused (out of descriptors)? */
bool	tpd_listen_paused(void);

#endif /* TPD_LISTEN_H */
