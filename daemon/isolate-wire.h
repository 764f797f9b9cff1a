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
 * reads end of file and its status.
 *
 * Started with -d instead of a plugin's name, the worker only reads the
 * plugin's declaration for the daemon (its constructors run there, not in
 * the daemon) and exits:
 *
 *	                          ◀──── ISO_DECL, or ISO_FAIL (not loadable)
 *
 * Both sides are the same build: no versioning, native byte order.
 */
#ifndef TPD_ISOLATE_WIRE_H
#define TPD_ISOLATE_WIRE_H

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
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
	ISO_DECL,		/* struct iso_decl, the name, the description */
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
	uint32_t	ij_flags;
#define	ISO_JOB_RSS	0x1u	/* say id_rss_kib, at times (else 0: not
				 * read this time; worker.c says when) */
	uint32_t	ij_attempt;	/* ctx_attempt */
	uint32_t	ij_pad;
};

struct iso_done {
	int32_t		id_ret;		/* tpp_run's */
	uint32_t	id_flags;
#define	ISO_DONE_PERMANENT 0x1u	/* tp_plugin_fail_permanently() */
	uint64_t	id_refused_len;	/* a result over ij_max_result */
	uint64_t	id_cpu_ns;	/* CPU time of the thread that ran it */
	uint64_t	id_rss_kib;	/* the worker's resident memory now */
};

/* A plugin's declaration (TP_PLUGIN_SYMBOL), as the worker read it. */
struct iso_decl {
	uint32_t	idl_flags;
#define	ISO_DECL_FOUND	0x1u	/* the symbol is there */
#define	ISO_DECL_RUN	0x2u	/* tpp_run is set */
	uint32_t	idl_abi_version;
	uint32_t	idl_name_len;	/* at most ISO_DECL_NAME_MAX */
	uint32_t	idl_desc_len;	/* at most ISO_DECL_DESC_MAX */
};
/* One over the longest valid name: a longer one arrives cut, and is
 * refused as too long. */
#define	ISO_DECL_NAME_MAX	65u
#define	ISO_DECL_DESC_MAX	1024u	/* a longer description is cut */

/* The worker's exit status after a system call its filter forbids (its
 * ISO_FAIL before it names the call). */
#define	ISO_EXIT_SYSCALL	72

/* Messages the worker sends are at most this long (a result: the
 * daemon's --max-result, which is below it). */
#define	ISO_MSG_MAX	4096u

/*
 * Write the iov[0..n) in as few system calls as the socket takes (one,
 * mostly): 0 or an errno, as iso_write_all().  iov is consumed.
 */
static inline int
iso_writev_all(int fd, struct iovec *iov, int n)
{
	struct msghdr mh;
	ssize_t w;

	/* never SIGPIPE: EPIPE when the other end is gone */
	while (n > 0 && iov[0].iov_len == 0) {
		iov++;
		n--;
	}
	while (n > 0) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)n;
		if ((w = sendmsg(fd, &mh, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		while (n > 0 && (size_t)w >= iov[0].iov_len) {
			w -= (ssize_t)iov[0].iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov[0].iov_base = (char *)iov[0].iov_base + w;
			iov[0].iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * A reader that takes what the socket has in one read and hands it out:
 * a job's messages (its result and ISO_DONE, say) cost one read, not one
 * per header and body.
 */
#define	ISO_RBUF	4096
struct iso_reader {
	int		ir_fd;
	size_t		ir_off;		/* next byte to hand out */
	size_t		ir_len;		/* bytes in ir_buf */
	unsigned char	ir_buf[ISO_RBUF];
};

/* Is a byte there already, without a system call? */
static inline int
iso_reader_has(const struct iso_reader *r)
{
	return r->ir_off < r->ir_len;
}

/*
 * Wait for bytes when r has none: 0 (there are), ETIMEDOUT (the socket's
 * receive timeout, SO_RCVTIMEO, passed), EPIPE (end of file, reset), or
 * an errno.  One read, no poll.
 */
static inline int
iso_reader_fill(struct iso_reader *r)
{
	ssize_t n;

	if (r->ir_off < r->ir_len)
		return 0;
	do
		n = read(r->ir_fd, r->ir_buf, sizeof(r->ir_buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? ETIMEDOUT : errno == ECONNRESET ?
		    EPIPE : errno;
	if (n == 0)
		return EPIPE;
	r->ir_off = 0;
	r->ir_len = (size_t)n;
	return 0;
}

/* Read exactly len bytes through r: 0, EPIPE at end of file (or reset),
 * or an errno.  Big reads past the buffer go straight to buf. */
static inline int
iso_reader_read(struct iso_reader *r, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t k;
	ssize_t n;

	while (len > 0) {
		if (r->ir_off < r->ir_len) {
			k = r->ir_len - r->ir_off < len ?
			    r->ir_len - r->ir_off :
			    len;
			memcpy(p, r->ir_buf + r->ir_off, k);
			r->ir_off += k;
			p += k;
			len -= k;
			continue;
		}
		if (len >= sizeof(r->ir_buf))
			n = read(r->ir_fd, p, len);
		else
			n = read(r->ir_fd, r->ir_buf, sizeof(r->ir_buf));
		/* EAGAIN: a receive timeout (SO_RCVTIMEO) within a message. */
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return errno == ECONNRESET ? EPIPE : errno;
		if (n == 0)
			return EPIPE;
		if (len >= sizeof(r->ir_buf)) {
			p += n;
			len -= (size_t)n;
		} else {
			r->ir_off = 0;
			r->ir_len = (size_t)n;
		}
	}
	return 0;
}

#endif /* TPD_ISOLATE_WIRE_H */
