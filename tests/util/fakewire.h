/*
 * fakewire.h -- the daemon's side of the wire, for tests that play tpoold
 * themselves: read a Request frame, answer with responses and events built
 * from a few arguments.  tests/proto/test_client (a fake server on a
 * socketpair) and tests/proto/test_tpctl (a fake daemon on a Unix socket)
 * are built on it.
 *
 * Blocking I/O on a connected stream socket the caller owns (borrowed);
 * every message passed in is borrowed.  Nothing here asserts or logs: each
 * function says how it went, and the test decides what that means (a
 * helper thread must not call Check's ck_assert).
 */
#ifndef TP_TESTS_FAKEWIRE_H
#define TP_TESTS_FAKEWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpool.pb-c.h"

/* Write or read exactly n bytes (EINTR retried); false on error or EOF. */
bool	tu_write_all(int fd, const void *p, size_t n);
bool	tu_read_all(int fd, void *p, size_t n);

/*
 * Read one Request frame of at most max body bytes.  0 and *ret_req (free
 * with tpool__request__free_unpacked(r, NULL)); ENODATA at the end of the
 * stream before a frame; EMSGSIZE over max; EIO cut off; EPROTO when the
 * body does not unpack; ENOMEM.
 */
int	tu_read_request(int fd, uint32_t max, Tpool__Request **ret_req);

/* Send one ServerMessage frame; false when it could not be written. */
bool	tu_send_message(int fd, const Tpool__ServerMessage *m);

/* Send r as the response to request_id (r's request_id is set). */
bool	tu_send_response(int fd, uint64_t request_id, Tpool__Response *r);

/* The responses the fakes give, and an Error (request_id 0: the connection's). */
bool	tu_send_hello_reply(int fd, uint64_t request_id, uint32_t version,
	    uint32_t max_frame);
bool	tu_send_submit_reply(int fd, uint64_t request_id, uint64_t job_id);
bool	tu_send_error(int fd, uint64_t request_id, Tpool__ErrorCode code,
	    const char *message);

/* Send ev as an event of job_id (ev's job_id is set). */
bool	tu_send_event(int fd, uint64_t job_id, Tpool__Event *ev);

/* JobStarted on cpu (queue_ns when not 0); JobProgress (message may be NULL). */
bool	tu_send_started(int fd, uint64_t job_id, int32_t cpu, uint64_t queue_ns);
bool	tu_send_progress(int fd, uint64_t job_id, uint32_t percent,
	    const char *message);

/* JobFinished carrying ji (its job_id is the event's). */
bool	tu_send_finished(int fd, const Tpool__JobInfo *ji);

#endif /* TP_TESTS_FAKEWIRE_H */
