/*
 * req-hello.c -- Hello: the protocol version handshake.  A peer that
 * speaks another version (or none) is answered ERROR_VERSION and dropped,
 * as tmux does (the row's check, validate.c, and dispatch.c); the reply
 * tells the peer our version, our frame limit and the uid we saw for it.
 * Hello is optional: a client that knows it speaks version 1 may go
 * straight to its requests.
 */
#include "config.h"

#include "conn.h"
#include "options.h"
#include "req.h"

Tpool__ErrorCode
tpd_req_hello(struct tpd_req *r)
{
	const Tpool__Hello *h = r->r_req->hello;
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__HelloReply hr = TPOOL__HELLO_REPLY__INIT;

	if (h->client_name != NULL)
		tpd_conn_set_name(r->r_conn, h->client_name);
	hr.has_version = true;
	hr.version = TPOOL__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT;
	hr.server_version = (char *)PACKAGE_VERSION;
	hr.has_max_frame = true;
	hr.max_frame = tpd_opt.o_max_frame;
	hr.has_uid = true;
	hr.uid = (uint32_t)r->r_uid;
	resp.body_case = TPOOL__RESPONSE__BODY_HELLO;
	resp.hello = &hr;
	return tpd_req_reply(r, &resp);
}
