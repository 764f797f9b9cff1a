/*
 * dispatch.h -- the request table (dispatch.c).  Layer: connections and
 * requests, its top file: conn.c hands it each frame through the ch_frame
 * hook (daemon.c wires it).  Loop thread.
 */
#ifndef TPD_DISPATCH_H
#define TPD_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

struct tpd_conn;

/*
 * Handle one frame's body from conn: unpack, check, route to the
 * request's handler, answer (the ch_frame hook).
 */
void	tpd_dispatch(struct tpd_conn *conn, const uint8_t *body, size_t len);

#endif /* TPD_DISPATCH_H */
