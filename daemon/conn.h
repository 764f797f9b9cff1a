/*
 * conn.h -- client connections: the transport (conn.c).  Layer:
 * connections and requests, its lowest file; calls only options, the log
 * and libevent.  A connection is a handle: its insides are conn.c's.
 *
 * conn.c reads frames and hands each body up through the hooks it was
 * given (tpd_conn_init()); it queues the bytes the layer above framed
 * (msg.c) and writes every connection's output once, at the end of each
 * loop iteration.  Loop thread only.
 */
#ifndef TPD_CONN_H
#define TPD_CONN_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpool.pb-c.h"

struct event_base;
struct tpd_conn;

/* What conn.c tells the layer above; all called on the loop thread. */
struct tpd_conn_hooks {
	/* Bytes kept in each connection for the layer above (zeroed). */
	size_t	ch_ext_size;
	/* One whole frame's body (borrowed, valid during the call). */
	void	(*ch_frame)(struct tpd_conn *conn, const uint8_t *body,
		    size_t len);
	/*
	 * Tell the peer why it is being refused or dropped (request id 0):
	 * a frame over --max-frame, a frame not whole within
	 * --read-timeout, too many connections, no memory.  conn.c closes
	 * the connection after writing what this queued.
	 */
	void	(*ch_refuse)(struct tpd_conn *conn, Tpool__ErrorCode code,
		    const char *message);
	/* conn is closed: drop every link to it (it is freed later). */
	void	(*ch_closed)(struct tpd_conn *conn);
	/*
	 * The end of a loop iteration, before the output is written: take
	 * in whatever else is ready, so that it leaves in the same write.
	 */
	void	(*ch_before_write)(void);
	/*
	 * Between two connections' writes of that output: take in what
	 * became ready while the last one was written (a send that wakes a
	 * peer may give this CPU to it for a while), so that it leaves with
	 * the connections still to be written.  May be NULL.
	 */
	void	(*ch_between_writes)(void);
	/*
	 * May output queued in this iteration be written before its end?
	 * false when some of it may tell what is not yet recorded (a job
	 * store records an end before it is told, in ch_before_write).  May
	 * be NULL: it may.
	 */
	bool	(*ch_may_write_early)(void);
	/*
	 * Does conn wait for something (jobs it submitted, watches, cancel
	 * waits)?  A connection that does is never closed as idle.  May be
	 * NULL: no connection waits.
	 */
	bool	(*ch_busy)(struct tpd_conn *conn);
};

/* Serve connections on base; hooks is borrowed until the exit.  0 or
 * ENOMEM. */
int	tpd_conn_init(struct event_base *base,
	    const struct tpd_conn_hooks *hooks);

/* Serve a connected socket from the listener (fd consumed). */
void	tpd_conn_accept(int fd);

/* The peer's credentials (SO_PEERCRED at accept), an id for logs. */
uid_t	tpd_conn_uid(const struct tpd_conn *conn);
gid_t	tpd_conn_gid(const struct tpd_conn *conn);
uint64_t tpd_conn_id(const struct tpd_conn *conn);
/*
 * When the loop began to handle the request now being handled
 * (tpd_now_ns(), which a connection's turn reads after each frame
 * anyway): the time it arrived, within the turn.  Loop thread, from a
 * ch_frame hook.
 */
uint64_t tpd_conn_frame_ns(void);
/* Its socket, for what else the kernel records of the peer
 * (SO_PEERGROUPS); the connection's, not to be closed or read. */
int	tpd_conn_fd(const struct tpd_conn *conn);
/* A name for the logs (the Hello's client_name; copied with control
 * bytes and bad UTF-8 escaped, cut to 31). */
void	tpd_conn_set_name(struct tpd_conn *conn, const char *name);
/* The layer above's bytes in conn (ch_ext_size of them). */
void	*tpd_conn_ext(struct tpd_conn *conn);
/* Is conn still open (not closed: it is freed at the end of the
 * iteration that closed it)? */
bool	tpd_conn_is_open(const struct tpd_conn *conn);
/*
 * Run ch_before_write (and write what it queues) at the end of this loop
 * iteration even when nothing else was queued: for a layer that answers
 * there (the job store answers submits once they are recorded).
 */
void	tpd_conn_flush_soon(void);

/*
 * Room for len more output bytes, to fill and then commit: NULL when
 * conn is closed or closing for a failure, or when this would pass
 * --max-output or memory runs out (then conn is dropped).  A message
 * always fits in an empty queue, whatever its size.
 */
uint8_t *tpd_conn_out_reserve(struct tpd_conn *conn, size_t len);
/* len bytes of the reserved room are filled: write them at the end of
 * the loop iteration. */
void	tpd_conn_out_commit(struct tpd_conn *conn, size_t len);
/* Write what is queued, then close (after a fatal error reply). */
void	tpd_conn_close_after_write(struct tpd_conn *conn);

unsigned int tpd_conn_count(void);
/*
 * Shutdown: stop reading from every connection, answer the whole frames
 * already read but still waiting their turn, and call done() once every
 * output is written (or the connections are gone).
 */
void	tpd_conn_drain_all(void (*done)(void));
/* Close and free every connection (exit). */
void	tpd_conn_free_all(void);

#endif /* TPD_CONN_H */
