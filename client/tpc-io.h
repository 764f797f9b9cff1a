/*
 * tpc-io.h -- the client library's connection and its I/O engine
 * (tpc-io.c), shared by tpc-io.c and tpclient.c and by nothing else: not
 * installed (the installed header is tpclient.h, where struct tpc is
 * opaque).  The engine's calls are named tpcio_*; the libraries export
 * none of them (client/local.mk).
 */
#ifndef TPC_IO_H
#define TPC_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peek.h"
#include "tpclient.h"

#define	RBUF_MIN	(64u * 1024)	/* initial read buffer */
#define	WBUF_FLUSH	(64u * 1024)	/* pipelined sends flush past this */
#define	MAX_FRAME_MIN	64u		/* smallest receive limit accepted */

/*
 * One unread message from the daemon: its body as it came (tq_body, while
 * tq_msg is NULL), or unpacked on arrival (tq_msg) when the peek could not
 * read it; either way routed by tq_pk.
 */
struct tpc_qent {
	struct tpc_qent		*tq_next;
	struct tp_peek		tq_pk;
	Tpool__ServerMessage	*tq_msg;	/* owned; NULL: see tq_body */
	size_t			tq_len;		/* of tq_body */
	uint8_t			tq_body[];
};

/*
 * One connection.  Not locked: one thread at a time (tpclient.h).
 */
struct tpc {
	int			tpc_fd;		/* owned */
	int			tpc_timeout_ms;	/* -1: none */
	uint32_t		tpc_max_frame;	/* receive limit, body bytes */
	uint32_t		tpc_send_max;	/* the daemon's, from Hello */
	uint64_t		tpc_next_id;	/* next request_id */

	uint8_t			*tpc_rbuf;	/* [roff, rlen) unparsed */
	size_t			tpc_rcap;
	size_t			tpc_roff;
	size_t			tpc_rlen;
	bool			tpc_eof;	/* daemon closed its end */

	uint8_t			*tpc_wbuf;	/* [woff, wlen) unsent */
	size_t			tpc_wcap;
	size_t			tpc_woff;
	size_t			tpc_wlen;
	int			tpc_werr;	/* write side failed: errno */

	int			tpc_err;	/* fatal: EPROTO, ENOMEM, ... */

	struct tpc_qent		*tpc_qhead;	/* unread messages, in order */
	struct tpc_qent		**tpc_qtailp;
	size_t			tpc_qlen;

	uint64_t		*tpc_abandoned;	/* request ids given up on */
	size_t			tpc_nabandoned;
	size_t			tpc_abandoned_cap;

	Tpool__ErrorCode	tpc_errcode;	/* last Error from the daemon */
	char			*tpc_errmsg;	/* its message (owned), NULL */
};

/* What a wait is waiting for. */
enum take_kind {
	TAKE_ANY,		/* any message */
	TAKE_RESPONSE,		/* the response to tk_id */
	TAKE_EVENT,		/* any event */
	TAKE_JOB_EVENT,		/* an event of job tk_id */
};

/* The deadline of a call that starts now (milliseconds on the monotonic
 * clock): -1 for none. */
int64_t	tpcio_deadline(const struct tpc *c);

/* Queue one packed Request frame (a fresh request id, in *ret_id). */
int	tpcio_queue_request(struct tpc *c, Tpool__Request *req,
	    uint64_t *ret_id);
/* Write the queued frames, waiting until deadline for the socket. */
int	tpcio_flush(struct tpc *c, int64_t deadline);
/* tpcio_flush() before a wait: a daemon gone is no error yet. */
int	tpcio_flush_for_wait(struct tpc *c, int64_t deadline);

/*
 * Take the first queued entry that matches, pumping until one comes
 * (*ret_q: free it with tpcio_entry_free, or unpack it with
 * tpcio_entry_unpack); tpcio_take() hands over the message unpacked.
 */
int	tpcio_take_entry(struct tpc *c, enum take_kind kind, uint64_t id,
	    int64_t deadline, struct tpc_qent **ret_q);
int	tpcio_take(struct tpc *c, enum take_kind kind, uint64_t id,
	    int64_t deadline, Tpool__ServerMessage **ret_m);
void	tpcio_entry_free(struct tpc_qent *q);
int	tpcio_entry_unpack(struct tpc *c, struct tpc_qent *q,
	    Tpool__ServerMessage **ret_m);

/* Wait for the response to id, detached from its message. */
int	tpcio_wait_response(struct tpc *c, uint64_t id, int64_t deadline,
	    Tpool__Response **ret_resp);
/* Hand a response over, or free it when ret_resp is NULL; error passes. */
int	tpcio_hand_over(int error, Tpool__Response *resp,
	    Tpool__Response **ret_resp);

/* Send req and take its response's entry; or its response. */
int	tpcio_roundtrip_entry(struct tpc *c, Tpool__Request *req,
	    struct tpc_qent **ret_q);
int	tpcio_roundtrip(struct tpc *c, Tpool__Request *req,
	    Tpool__Response **ret_resp);

/*
 * The typed call under every blocking request, and its end from the
 * response's entry on (tpc-io.c says what each error means).
 */
int	tpcio_call(struct tpc *c, Tpool__Request *req,
	    ProtobufCMessage **ret_body);
int	tpcio_call_finish(struct tpc *c, Tpool__Request *req,
	    struct tpc_qent *q, ProtobufCMessage **ret_body);

#endif /* TPC_IO_H */
