/*
 * req-hello.c -- Hello: the protocol version handshake.  A peer that speaks
 * another version (or none) is answered ERROR_VERSION and dropped, as tmux
 * does (validate.c and dispatch.c); the reply tells the peer our version, our frame limit and the uid
 * we saw for it.  Hello is optional: a client that knows it speaks version
 * 1 may go straight to its requests.
 */
#include "config.h"

#include <stdio.h>

#include "tpoold.h"

void
tpd_req_hello(struct tpd_conn *conn, const Tpool__Request *req)
{
	const Tpool__Hello *h = req->hello;
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__HelloReply hr = TPOOL__HELLO_REPLY__INIT;

	/* The version was checked by validate.c (another one is dropped). */
	if (h->client_name != NULL)
		(void)snprintf(conn->c_name, sizeof(conn->c_name), "%s", h->client_name);
	hr.has_version = true;
	hr.version = TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT;
	hr.server_version = (char *)PACKAGE_VERSION;
	hr.has_max_frame = true;
	hr.max_frame = tpd_opt.o_max_frame;
	hr.has_uid = true;
	hr.uid = (uint32_t)conn->c_uid;
	resp.body_case = TPOOL__RESPONSE__BODY_HELLO;
	resp.hello = &hr;
	tpd_reply(conn, req->request_id, &resp);
}
