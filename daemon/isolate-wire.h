/*
 * isolate-wire.h -- what tpoold (isolate.c) and a plugin's worker process
 * (worker.c, the tpoold-worker program) say to each other.
 *
 * One stream socket (a socketpair) per worker, the worker's descriptor 3;
 * the plugin's file is its descriptor 4.  Each message is a struct
 * iso_hdr and ih_len bytes.  The worker runs one job at a time:
 *
 *	daemon                          worker
 *	──────                          ──────
 *	                          ◀──── ISO_READY (tpp_init done) or
 *	                                ISO_FAIL + exit (it failed)
 *	ISO_JOB ────────────────▶
 *	                          ◀──── ISO_PROGRESS, ISO_RESULT, ISO_FAIL
 *	                                (any number, in the order made)
 *	                          ◀──── ISO_DONE (tpp_run returned)
 *	SIGUSR1: the job's cancel request (ctx_cancel_requested turns true)
 *	end of file: the worker calls tpp_fini and exits
 *
 * A worker that dies instead (a signal, exit) ends its job: the daemon
 * reads end of file and its status.  Both sides are the same build: no
 * versioning, native byte order.
 */
#ifndef TPD_ISOLATE_WIRE_H
#define TPD_ISOLATE_WIRE_H

#include <sys/socket.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#define	ISO_FD_CHANNEL	3
#define	ISO_FD_PLUGIN	4

enum iso_type {
	ISO_READY = 1,		/* payload: none */
	ISO_JOB,		/* struct iso_job, the name, the input */
	ISO_PROGRESS,		/* uint32_t percent, the message */
	ISO_RESULT,		/* the result's bytes */
	ISO_FAIL,		/* the message (not NUL-terminated) */
	ISO_DONE,		/* struct iso_done */
};

struct iso_hdr {
	uint32_t	ih_type;	/* enum iso_type */
	uint32_t	ih_pad;
	uint64_t	ih_len;		/* bytes that follow */
};

struct iso_job {
	uint64_t	ij_id;
	uint64_t	ij_max_result;	/* bigger: ctx_set_result says EFBIG */
	uint32_t	ij_name_len;
	uint32_t	ij_pad;
};

struct iso_done {
	int32_t		id_ret;		/* tpp_run's */
	uint32_t	id_pad;
	uint64_t	id_refused_len;	/* a result over ij_max_result */
	uint64_t	id_cpu_ns;	/* the run's CPU time */
	uint64_t	id_rss_kib;	/* the worker's resident memory now */
};

/* The worker's exit status after a system call its filter forbids (its
 * ISO_FAIL before it names the call). */
#define	ISO_EXIT_SYSCALL	72

/* Messages the worker sends are at most this long (a result: the
 * daemon's --max-result, which is below it). */
#define	ISO_MSG_MAX	4096u

/* Write all of len bytes: 0 or an errno (EPIPE: the other end is gone;
 * never SIGPIPE). */
static inline int
iso_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes: 0, EPIPE at end of file (or reset), or an
 * errno. */
static inline int
iso_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ECONNRESET ? EPIPE : errno;
		if (n == 0)
			return EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif /* TPD_ISOLATE_WIRE_H */
