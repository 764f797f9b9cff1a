/*
 * conn.c -- one client connection: its credentials, reading frames, queuing
 * and writing replies and events, its limits, closing it.  (Over 800
 * lines: reading, writing and the limits all work on the connection's
 * insides, which no other file may see; split, they would need a private
 * header for one struct.)
 *
 * Reading: one read(2) of up to CONN_READ_CHUNK bytes per wakeup, into a
 * buffer shared by all connections; every complete frame in it is handled
 * right there (the ch_frame hook), and only the bytes of a last, partial frame
 * are copied into the connection's own buffer (c_in), which grows to that
 * frame's size and no further.  A frame's header is judged as soon as its 4
 * bytes are in: a length over --max-frame is answered ERROR_FRAME_TOO_LARGE
 * and the connection closed, without buffering the body.
 *
 * Turns: one wakeup handles at most CONN_TURN_FRAMES frames, or as many as
 * fit in CONN_TURN_NS, of one connection; the rest of what it read waits
 * in c_in (c_backlog) and a timer of no delay (c_turn_ev) brings the
 * connection back in the next loop iteration, after the loop has polled
 * for what else is ready and every connection ready then has had its
 * turn.  A client that pipelines thousands of requests cannot hold the
 * loop.
 *
 * Frames go up through the hooks handed to tpd_conn_init(): each body to
 * ch_frame (dispatch.c), each reason to refuse a peer to ch_refuse
 * (msg.c frames it); conn.c never looks inside a message.
 *
 * Writing: replies and events are encoded straight into the connection's
 * output buffer (c_out, through tpd_conn_out_reserve/commit); the
 * connection goes on the write list, and the first connection on it makes
 * the write event active.  libevent runs an event made active during a
 * loop iteration after every callback already active in it, so the write
 * event runs once at the end of each iteration that queued output: it
 * first calls ch_before_write (the job table takes in the ends its
 * workers posted meanwhile, so a job that ended at once leaves with its
 * reply), then writes each listed connection once: many replies of one
 * read cost one send(2).  Between two connections' writes it calls
 * ch_between_writes, which takes in the ends posted while the last send
 * ran: a send that wakes its peer often hands this CPU to it for a
 * while, and a job that ended meanwhile then leaves with its reply when
 * its connection comes later in the list.  Nothing is held back: a reply
 * leaves in the iteration that read its request.  Output that cannot be
 * written waits for EV_WRITE.  When more than CONN_OUT_HIGH bytes wait,
 * the connection is not read (the client must read before it may ask for
 * more); past --max-output (events pile up even then) it is
 * dropped: its unread output is thrown away and it is closed, and nothing
 * else changes (its jobs go on and end as usual, reported to nobody but
 * their watchers; status still finds them; jobs.c).  Output is charged to
 * the user's memory share.  A message that would pass --max-output or the
 * share first writes what waits ahead of it (tpd_conn_out_reserve and
 * _commit: the one write outside the iteration's end; not with a job
 * store, ch_may_write_early), so that only output the socket refused is
 * judged unread.
 *
 * Slow peers: a frame must arrive whole within --read-timeout of its first
 * byte (default 30 s), or the connection is answered ERROR_BAD_REQUEST and
 * closed; so a peer that sends a byte a second (slowloris) cannot hold a
 * connection and its buffer for ever.  The timer is armed when a partial
 * frame begins and, when it fires, looks at the partial frame of that
 * moment: none, or a younger one, and it goes back to sleep; nothing is
 * done per frame that completes.  Time the daemon itself does not read the
 * connection (its output backlog, above) does not count against it; that
 * time is bounded by the write timeout instead.
 *
 * Connections that hold without using: one sweep timer (conn_sweep_cb,
 * pending only while connections are open) closes
 *   - a connection whose output has waited --write-timeout (default 30 s)
 *     without a byte of it being taken: its output is thrown away, and its
 *     jobs go on as for any closed connection;
 *   - a connection idle for --connection-idle-timeout (default 5 min):
 *     nothing read from it or written to it for that long, no partial
 *     frame, no output waiting, and nothing it waits for (the layer above
 *     says so through ch_busy: jobs it submitted still in flight, watches,
 *     cancel waits).
 * And at accept, one user may hold at most --max-connections-per-user
 * connections (default 64), so that one user cannot take every slot of
 * --max-connections.  Root and the daemon's own user are not counted per
 * user: both can stop the daemon anyway, and the daemon's Gearman slots
 * (gearman.c) connect as its own user, one connection each.
 *
 * Closing frees nothing at once: a closed connection is marked dead,
 * unlinked from everything (ch_closed), and freed by the write event at
 * the end of the iteration, so code further up the stack may still look
 * at it.
 *
 * Everything here is the loop thread's (l).
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "budget.h"
#include "conn.h"
#include "frame.h"
#include "log.h"
#include "options.h"
#include "utf8.h"

#define	CONN_READ_CHUNK		(64u << 10)
#define	CONN_OUT_HIGH		(1u << 20)	/* stop reading above this */
#define	CONN_OUT_LOW		(256u << 10)	/* resume below this */
#define	CONN_OUT_KEEP		(64u << 10)	/* an empty buffer kept */
#define	CONN_ROOT_RESERVE	8u		/* root's past
						 *    --max-connections */
#define	CONN_OUT_SMALL		4096u		/* goes out over the budget
						 *    when nothing waits */
#define	CONN_EXT_ALIGN		16u
#define	CONN_TURN_FRAMES	64u		/* frames handled per turn */
#define	CONN_TURN_NS		1000000u	/* or this long, then the
						 * next connection's turn */

/*
 * One client connection.  All fields l.  The input buffer holds at most
 * one partial frame (complete frames are handled as soon as they are
 * read); the output buffer holds encoded frames not yet written.
 */
struct tpd_conn {
	TAILQ_ENTRY(tpd_conn)	c_entry;	/* on conn_list or conn_dead */
	TAILQ_ENTRY(tpd_conn)	c_writeent;	/* on conn_writeq */
	int			c_fd;
	struct event		*c_rev;		/* readable */
	struct event		*c_wev;		/* writable (output waits) */
	uint64_t		c_id;		/* for logs */
	uid_t			c_uid;		/* SO_PEERCRED at accept */
	gid_t			c_gid;
	pid_t			c_pid;
	char			c_name[32];	/* Hello's client_name */
	void			*c_ext;		/* the layer above's bytes */

	uint8_t			*c_in;		/* partial frame; with
						 *    c_backlog, whole frames
						 *    too */
	bool			c_backlog;	/* c_in holds whole frames
						 *    left from a turn */
	bool			c_drain_backlog; /* draining: answer the
						 *    frames of the backlog,
						 *    then close */
	struct event		*c_turn_ev;	/* its next turn (made on
						 *    first use) */
	size_t			c_in_len;
	size_t			c_in_cap;	/* charged to c_uid's memory
						 *    share (budget.h), but: */
	size_t			c_in_uncharged;	/* bytes of it over the share
						 *    (c_in_over) */
	bool			c_in_over;	/* the one frame of its user
						 *    read in over the share */
	uint64_t		c_in_since_ns;	/* when it began */
	struct event		*c_rto_ev;	/* --read-timeout (made on
						 *    first use) */
	bool			c_rto_on;	/* c_rto_ev is pending */

	uint8_t			*c_out;		/* to write: [off, len),
						 *    charged to c_uid's memory
						 *    share (budget.h) */
	size_t			c_out_off;
	size_t			c_out_len;
	size_t			c_out_uncharged; /* the first bytes of
						 *    [off, len): a small
						 *    message over the share */
	size_t			c_out_cap;

	bool			c_writeq;	/* on conn_writeq */
	bool			c_closing;	/* close once it is written */
	bool			c_broken;	/* output dropped; close */
	bool			c_dead;		/* closed; freed at the end of
						 *    the iteration */
	bool			c_read_paused;	/* too much output waiting */
	bool			c_wev_on;
	uint64_t		c_active_ns;	/* last byte read or written */
	uint64_t		c_stuck_ns;	/* output waits (c_wev_on) and
						 *    none was taken since */
};

static TAILQ_HEAD(, tpd_conn) conn_list = TAILQ_HEAD_INITIALIZER(conn_list);
static TAILQ_HEAD(, tpd_conn) conn_writeq =
    TAILQ_HEAD_INITIALIZER(conn_writeq);
static TAILQ_HEAD(, tpd_conn) conn_dead = TAILQ_HEAD_INITIALIZER(conn_dead);
static unsigned int conn_n;
static uint64_t conn_next_id = 1;
static uint8_t conn_scratch[CONN_READ_CHUNK];
static bool conn_draining;
static void (*conn_drain_done)(void);
static struct event_base *conn_base;
static const struct tpd_conn_hooks *conn_hooks;
static size_t conn_ext_size;			/* rounded up */
static struct event *conn_end_ev;		/* the end of an iteration */
static bool conn_end_armed;			/* conn_end_ev is active */
static struct event *conn_sweep_ev;		/* the timeouts' sweep */
static bool conn_sweep_on;			/* conn_sweep_ev is pending */
static bool conn_folding;			/* other users fold into */
static uid_t conn_overflow_uid;			/*    this uid */

static void conn_read(struct tpd_conn *);
static void conn_backlog_later(struct tpd_conn *);
static void conn_read_cb(evutil_socket_t, short, void *);
static void conn_write_later(struct tpd_conn *);
static void conn_write_cb(evutil_socket_t, short, void *);
static int conn_send_out(struct tpd_conn *);
static void conn_write(struct tpd_conn *);
static void conn_end_cb(evutil_socket_t, short, void *);
static unsigned int conn_user_count(uid_t);
static void conn_sweep_cb(evutil_socket_t, short, void *);
int	tpd_conn_attach(int, uid_t, gid_t, pid_t, struct tpd_conn **);
void	tpd_conn_flush_all(void);

/*
 * Can the daemon tell every peer uid apart?  Only when its user namespace
 * maps the whole range onto itself (uid_map "0 0 4294967295", the initial
 * namespace).  In any other namespace (systemd's PrivateUsers=, unshare
 * --user, a container) every uid it does not map reads as the overflow uid
 * in SO_PEERCRED, so all those users would look like one, share one quota
 * and see each other's jobs.  Then peers of the overflow uid are refused
 * (tpd_conn_accept()), and this says so once, at start.
 */
static void
conn_check_userns(void)
{
	unsigned long long in, out, count;
	unsigned int overflow = 65534;
	char line[128];
	int nlines = 0;
	bool identity = false;
	FILE *f;

	conn_folding = true;
	if ((f = fopen("/proc/self/uid_map", "re")) == NULL) {
		tpd_warn("cannot read /proc/self/uid_map (%s): assuming a user "
		    "namespace", strerror(errno));
	} else {
		while (fgets(line, sizeof(line), f) != NULL) {
			nlines++;
			if (sscanf(line, "%llu %llu %llu", &in, &out,
			    &count) == 3 && in == 0 && out == 0 &&
			    count == 4294967295ull)
				identity = true;
		}
		(void)fclose(f);
		if (identity && nlines == 1) {
			conn_folding = false;
			return;
		}
	}
	if ((f = fopen("/proc/sys/kernel/overflowuid", "re")) != NULL) {
		if (fscanf(f, "%u", &overflow) != 1)
			overflow = 65534;
		(void)fclose(f);
	}
	conn_overflow_uid = (uid_t)overflow;
	tpd_warn("tpoold runs in a user namespace that does not map every "
	    "uid: the peers it does not map all read as uid %u, so it cannot "
	    "tell those users apart; connections of uid %u are refused "
	    "(run tpoold outside a user namespace: no PrivateUsers= in its "
	    "unit)", overflow, overflow);
}

int
tpd_conn_init(struct event_base *base, const struct tpd_conn_hooks *hooks)
{
	conn_check_userns();
	conn_base = base;
	conn_hooks = hooks;
	conn_ext_size = (hooks->ch_ext_size + CONN_EXT_ALIGN - 1) &
	    ~(size_t)(CONN_EXT_ALIGN - 1);
	conn_end_armed = false;
	conn_sweep_on = false;
	if ((conn_end_ev = event_new(base, -1, 0, conn_end_cb, NULL)) == NULL ||
	    (conn_sweep_ev = event_new(base, -1, EV_PERSIST, conn_sweep_cb,
	    NULL)) == NULL)
		return ENOMEM;
	return 0;
}

/*
 * The sweep's period: half the shortest of the two timeouts, between
 * 50 ms and 1 s (so a timeout is kept within half its length, at most
 * 1 s late); 0 when neither is set.
 */
static uint64_t
conn_sweep_period_ns(void)
{
	uint64_t t = tpd_opt.o_write_timeout_ns;

	if (tpd_opt.o_conn_idle_timeout_ns != 0 &&
	    (t == 0 || tpd_opt.o_conn_idle_timeout_ns < t))
		t = tpd_opt.o_conn_idle_timeout_ns;
	if (t == 0)
		return 0;
	t /= 2;
	if (t < 50000000u)
		t = 50000000u;
	if (t > 1000000000u)
		t = 1000000000u;
	return t;
}

/* Keep the sweep pending while connections are open, and only then. */
static void
conn_sweep_update(void)
{
	uint64_t period;
	struct timeval tv;

	if (conn_sweep_ev == NULL)
		return;
	if (conn_n == 0 || (period = conn_sweep_period_ns()) == 0) {
		if (conn_sweep_on) {
			(void)event_del(conn_sweep_ev);
			conn_sweep_on = false;
		}
		return;
	}
	if (conn_sweep_on)
		return;
	tv.tv_sec = (time_t)(period / 1000000000u);
	tv.tv_usec = (suseconds_t)(period % 1000000000u / 1000);
	if (event_add(conn_sweep_ev, &tv) == 0)
		conn_sweep_on = true;
}

/* Run conn_end_cb at the end of this loop iteration (or the next one,
 * outside the loop). */
static void
conn_arm_end(void)
{
	if (conn_end_armed || conn_end_ev == NULL)
		return;
	conn_end_armed = true;
	event_active(conn_end_ev, EV_TIMEOUT, 0);
}

unsigned int
tpd_conn_count(void)
{
	return conn_n;
}

bool
tpd_conn_is_open(const struct tpd_conn *conn)
{
	return !conn->c_dead;
}

void
tpd_conn_flush_soon(void)
{
	conn_arm_end();
}

uid_t
tpd_conn_uid(const struct tpd_conn *conn)
{
	return conn->c_uid;
}

gid_t
tpd_conn_gid(const struct tpd_conn *conn)
{
	return conn->c_gid;
}

int
tpd_conn_fd(const struct tpd_conn *conn)
{
	return conn->c_fd;
}

uint64_t
tpd_conn_id(const struct tpd_conn *conn)
{
	return conn->c_id;
}

void
tpd_conn_set_name(struct tpd_conn *conn, const char *name)
{
	/* The log shows it: control bytes and bad UTF-8 escaped. */
	(void)tp_name_escape(conn->c_name, sizeof(conn->c_name), name);
}

void *
tpd_conn_ext(struct tpd_conn *conn)
{
	return conn->c_ext;
}

/* Output of conn written or thrown away: its charge goes (the first
 * c_out_uncharged bytes of it were not charged). */
static void
conn_out_release(struct tpd_conn *conn, size_t len)
{
	size_t free_part = len < conn->c_out_uncharged ? len :
	    conn->c_out_uncharged;

	conn->c_out_uncharged -= free_part;
	if (len > free_part)
		tpd_budget_release(conn->c_uid, len - free_part);
}

/* Free c_in and give back its charge. */
static void
conn_in_free(struct tpd_conn *conn)
{
	if (conn->c_in_cap > conn->c_in_uncharged)
		tpd_budget_release(conn->c_uid,
		    conn->c_in_cap - conn->c_in_uncharged);
	free(conn->c_in);
	conn->c_in = NULL;
	conn->c_in_len = conn->c_in_cap = conn->c_in_uncharged = 0;
	conn->c_in_over = false;
}

static void
conn_close(struct tpd_conn *conn, const char *why)
{
	if (conn->c_dead)
		return;
	conn->c_dead = true;
	tpd_debug("connection %llu (uid %u pid %d%s%s) closed: %s",
	    (unsigned long long)conn->c_id, (unsigned int)conn->c_uid,
	    (int)conn->c_pid, conn->c_name[0] != '\0' ? " " : "",
	    conn->c_name, why);
	event_free(conn->c_rev);
	event_free(conn->c_wev);
	conn->c_rev = conn->c_wev = NULL;
	if (conn->c_rto_ev != NULL) {
		event_free(conn->c_rto_ev);
		conn->c_rto_ev = NULL;
		conn->c_rto_on = false;
	}
	if (conn->c_turn_ev != NULL) {
		event_free(conn->c_turn_ev);
		conn->c_turn_ev = NULL;
	}
	(void)close(conn->c_fd);
	conn->c_fd = -1;
	conn_in_free(conn);
	free(conn->c_out);
	conn->c_out = NULL;
	conn_out_release(conn, conn->c_out_len - conn->c_out_off);
	conn->c_out_off = conn->c_out_len = conn->c_out_cap = 0;
	if (conn->c_writeq) {
		TAILQ_REMOVE(&conn_writeq, conn, c_writeent);
		conn->c_writeq = false;
	}
	TAILQ_REMOVE(&conn_list, conn, c_entry);
	TAILQ_INSERT_TAIL(&conn_dead, conn, c_entry);
	conn_n--;
	conn_hooks->ch_closed(conn);
	conn_sweep_update();
	conn_arm_end();
}

/*
 * Give up on a connection from inside a send or a handler: drop its output
 * and close it at the end of the iteration, not now, so that nobody up the
 * stack (a loop over a job's watchers) sees its links vanish.
 */
static void
conn_fail(struct tpd_conn *conn)
{
	if (conn->c_dead || conn->c_broken)
		return;
	conn->c_broken = true;
	conn->c_closing = true;
	conn_out_release(conn, conn->c_out_len - conn->c_out_off);
	conn->c_out_off = conn->c_out_len = 0;
	if (!conn->c_read_paused) {
		conn->c_read_paused = true;
		(void)event_del(conn->c_rev);
	}
	conn_write_later(conn);
}

void
tpd_conn_accept(int fd)
{
	struct tpd_conn *conn;
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	unsigned int user_n;
	char why[160];
	bool refuse, folded;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) != 0) {
		tpd_warn("SO_PEERCRED: %s; dropping the connection",
		    strerror(errno));
		(void)close(fd);
		return;
	}
	folded = conn_folding && cred.uid == conn_overflow_uid;
	/* A few slots past the limit are root's: an operator gets in. */
	refuse = conn_n >= tpd_opt.o_max_connections + (cred.uid == 0 ?
	    CONN_ROOT_RESERVE : 0);
	user_n = refuse || folded ? 0 : conn_user_count(cred.uid);
	if (tpd_conn_attach(fd, cred.uid, cred.gid, cred.pid, &conn) != 0)
		return;
	/* A refusal is one Error, then the connection is closed. */
	if (folded) {
		tpd_debug("refusing connection %llu: uid %u is the user "
		    "namespace's overflow uid", (unsigned long long)conn->c_id,
		    (unsigned int)cred.uid);
		conn_hooks->ch_refuse(conn, TPOOL__ERROR_CODE__ERROR_PERMISSION,
		    "the daemon runs in a user namespace that folds other "
		    "users into one uid, so it cannot tell them apart and "
		    "serves only the uids it maps; its operator must run it "
		    "outside a user namespace (no PrivateUsers= in its "
		    "systemd unit)");
		tpd_conn_close_after_write(conn);
	} else if (refuse) {
		tpd_info("refusing a connection of uid %u: %u connections "
		    "open (--max-connections)", (unsigned int)cred.uid,
		    conn_n - 1);
		conn_hooks->ch_refuse(conn,
		    TPOOL__ERROR_CODE__ERROR_TOO_MANY_CONNECTIONS,
		    "too many connections (the daemon's limit, "
		    "--max-connections)");
		tpd_conn_close_after_write(conn);
	} else if (cred.uid != 0 && cred.uid != geteuid() &&
	    user_n >= tpd_opt.o_max_connections_per_user) {
		(void)snprintf(why, sizeof(why), "too many connections of "
		    "uid %u: %u open, the limit per user is %u "
		    "(--max-connections-per-user)", (unsigned int)cred.uid,
		    user_n, tpd_opt.o_max_connections_per_user);
		tpd_info("refusing a connection: %s", why);
		conn_hooks->ch_refuse(conn,
		    TPOOL__ERROR_CODE__ERROR_TOO_MANY_CONNECTIONS, why);
		tpd_conn_close_after_write(conn);
	}
}

/* How many connections uid has open (a walk: accepts are rare). */
static unsigned int
conn_user_count(uid_t uid)
{
	struct tpd_conn *conn;
	unsigned int n = 0;

	TAILQ_FOREACH(conn, &conn_list, c_entry)
		if (conn->c_uid == uid && !conn->c_closing)
			n++;
	return n;
}

/*
 * Serve fd (consumed, even on failure) as a client with these credentials
 * (tpd_conn_accept passes SO_PEERCRED's).  *ret_conn (may be NULL) is
 * valid until the connection closes.  0 or ENOMEM.  Tests call it.
 */
int
tpd_conn_attach(int fd, uid_t uid, gid_t gid, pid_t pid,
    struct tpd_conn **ret_conn)
{
	struct tpd_conn *conn;

	if ((conn = calloc(1, sizeof(*conn) + conn_ext_size)) == NULL)
		goto nomem;
	conn->c_fd = fd;
	conn->c_uid = uid;
	conn->c_gid = gid;
	conn->c_pid = pid;
	conn->c_ext = conn + 1;
	conn->c_rev = event_new(conn_base, fd, EV_READ | EV_PERSIST,
	    conn_read_cb, conn);
	conn->c_wev = event_new(conn_base, fd, EV_WRITE | EV_PERSIST,
	    conn_write_cb, conn);
	if (conn->c_rev == NULL || conn->c_wev == NULL ||
	    event_add(conn->c_rev, NULL) != 0)
		goto nomem;
	conn->c_id = conn_next_id++;
	conn->c_active_ns = tpd_now_ns();
	TAILQ_INSERT_TAIL(&conn_list, conn, c_entry);
	conn_n++;
	conn_sweep_update();
	tpd_debug("connection %llu: uid %u gid %u pid %d",
	    (unsigned long long)conn->c_id, (unsigned int)uid,
	    (unsigned int)gid, (int)pid);
	if (ret_conn != NULL)
		*ret_conn = conn;
	return 0;

nomem:
	tpd_err("out of memory accepting a connection");
	if (conn != NULL) {
		if (conn->c_rev != NULL)
			event_free(conn->c_rev);
		if (conn->c_wev != NULL)
			event_free(conn->c_wev);
		free(conn);
	}
	/* Nothing to tell it with. */
	(void)close(fd);
	return ENOMEM;
}

static void
conn_write_later(struct tpd_conn *conn)
{
	if (!conn->c_writeq) {
		TAILQ_INSERT_TAIL(&conn_writeq, conn, c_writeent);
		conn->c_writeq = true;
	}
	conn_arm_end();
}

/* An early write found the peer gone (error, the send's errno): close it
 * as gone, not as a client that does not read. */
static void
conn_fail_gone(struct tpd_conn *conn, int error)
{
	tpd_debug("connection %llu (uid %u) closed: %s",
	    (unsigned long long)conn->c_id, (unsigned int)conn->c_uid,
	    strerror(error));
	conn_fail(conn);
}

/* May output be written before the iteration's end (conn_hooks)? */
static bool
conn_may_write_early(void)
{
	return conn_hooks->ch_may_write_early == NULL ||
	    conn_hooks->ch_may_write_early();
}

uint8_t *
tpd_conn_out_reserve(struct tpd_conn *conn, size_t len)
{
	size_t pending, cap;
	uint8_t *p;
	int error;

	if (conn->c_dead || conn->c_broken)
		return NULL;
	pending = conn->c_out_len - conn->c_out_off;
	if (pending > 0 && pending + len > tpd_opt.o_max_output &&
	    conn_may_write_early()) {
		/* What the socket takes now is not unread: write it first. */
		if ((error = conn_send_out(conn)) != 0 && error != EAGAIN) {
			conn_fail_gone(conn, error);
			return NULL;
		}
		pending = conn->c_out_len - conn->c_out_off;
	}
	if (pending > 0 && pending + len > tpd_opt.o_max_output) {
		tpd_info("connection %llu (uid %u) is not reading: %zu bytes "
		    "waiting; closing it", (unsigned long long)conn->c_id,
		    (unsigned int)conn->c_uid, pending);
		conn_fail(conn);
		return NULL;
	}
	if (conn->c_out_len + len <= conn->c_out_cap)
		return conn->c_out + conn->c_out_len;
	if (conn->c_out_off > 0) {
		memmove(conn->c_out, conn->c_out + conn->c_out_off, pending);
		conn->c_out_off = 0;
		conn->c_out_len = pending;
		if (pending + len <= conn->c_out_cap)
			return conn->c_out + conn->c_out_len;
	}
	cap = conn->c_out_cap < 4096 ? 4096 : conn->c_out_cap;
	while (cap < pending + len)
		cap *= 2;
	if ((p = realloc(conn->c_out, cap)) == NULL) {
		tpd_err("out of memory queuing %zu bytes for connection %llu",
		    len, (unsigned long long)conn->c_id);
		conn_fail(conn);
		return NULL;
	}
	conn->c_out = p;
	conn->c_out_cap = cap;
	return conn->c_out + conn->c_out_len;
}

/*
 * A message of len bytes just built behind output of conn that waits does
 * not fit the user's share or the daemon's total: write what waits now,
 * as the end of the iteration would, so that only output the socket does
 * not take counts as unread (a reading client that is sent two events in
 * one iteration is not dropped for them), and before the charge makes
 * room by forgetting the user's finished jobs.  Not with a job store
 * (ch_may_write_early), which records at the iteration's end the ends
 * this output may tell: the message is then judged with that output still
 * waiting.  0 when all of it went (the message is then at the buffer's
 * front, with nothing ahead of it); EAGAIN when some still waits (the
 * socket is full, or a job store is open); else the send's errno (the
 * peer is gone).
 */
static int
conn_out_write_ahead(struct tpd_conn *conn, size_t len)
{
	int error;

	if (!conn_may_write_early())
		return EAGAIN;
	if ((error = conn_send_out(conn)) != 0)
		return error;
	memmove(conn->c_out, conn->c_out + conn->c_out_len, len);
	conn->c_out_off = conn->c_out_len = 0;
	return 0;
}

void
tpd_conn_out_commit(struct tpd_conn *conn, size_t len)
{
	enum tpd_budget_limit lim;
	char why[256];
	int error;

	if ((lim = tpd_budget_try(conn->c_uid, len)) != TPD_BUDGET_OK) {
		if (conn->c_out_len > conn->c_out_off &&
		    (error = conn_out_write_ahead(conn, len)) != 0 &&
		    error != EAGAIN) {
			conn_fail_gone(conn, error);
			return;
		}
		lim = tpd_budget_charge(conn->c_uid, len);
	}
	if (lim != TPD_BUDGET_OK) {
		if (len <= CONN_OUT_SMALL &&
		    conn->c_out_len == conn->c_out_off) {
			/* Nothing waits: a small message (an error, a
			 * reply) goes uncharged, so that a user at its share
			 * still hears why. */
			conn->c_out_uncharged = len;
		} else {
			tpd_info("connection %llu (uid %u) is not reading: "
			    "%s; closing it", (unsigned long long)conn->c_id,
			    (unsigned int)conn->c_uid, tpd_budget_why(
			    conn->c_uid, lim, len, why, sizeof(why)));
			conn_fail(conn);
			return;
		}
	}
	conn->c_out_len += len;
	conn_write_later(conn);
	if (!conn->c_read_paused &&
	    conn->c_out_len - conn->c_out_off > CONN_OUT_HIGH) {
		conn->c_read_paused = true;
		(void)event_del(conn->c_rev);
	}
}

void
tpd_conn_close_after_write(struct tpd_conn *conn)
{
	if (conn->c_dead || conn->c_closing)
		return;
	conn->c_closing = true;
	if (!conn->c_read_paused) {
		conn->c_read_paused = true;
		(void)event_del(conn->c_rev);
	}
	conn_write_later(conn);
}

/*
 * Send [c_out_off, c_out_len) as far as the socket takes it, giving back
 * the charge of what went.  0: all of it went; EAGAIN: the socket is full;
 * else the send's errno (the peer is gone).
 */
static int
conn_send_out(struct tpd_conn *conn)
{
	size_t pending;
	ssize_t n;

	while ((pending = conn->c_out_len - conn->c_out_off) > 0) {
		n = send(conn->c_fd, conn->c_out + conn->c_out_off, pending,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			conn->c_out_off += (size_t)n;
			conn_out_release(conn, (size_t)n);
			conn->c_active_ns = tpd_now_ns();
			conn->c_stuck_ns = conn->c_active_ns;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return EAGAIN;
		return n < 0 ? errno : EPIPE;	/* 0 of pending: gone */
	}
	return 0;
}

static void
conn_write(struct tpd_conn *conn)
{
	int error;

	if ((error = conn_send_out(conn)) == EAGAIN) {
		if (!conn->c_wev_on) {
			conn->c_wev_on = true;
			conn->c_stuck_ns = tpd_now_ns();
			(void)event_add(conn->c_wev, NULL);
		}
	} else if (error != 0) {
		conn_close(conn, strerror(error));
		return;
	} else {
		conn->c_out_off = conn->c_out_len = 0;
		if (conn->c_out_cap > CONN_OUT_KEEP) {
			free(conn->c_out);
			conn->c_out = NULL;
			conn->c_out_cap = 0;
		}
		if (conn->c_wev_on) {
			conn->c_wev_on = false;
			(void)event_del(conn->c_wev);
		}
		if (conn->c_closing) {
			conn_close(conn, conn->c_broken ?
			    "dropped (not reading, or no memory)" :
			    "closed by the daemon");
			return;
		}
	}
	if (conn->c_read_paused && !conn->c_closing &&
	    (!conn_draining || conn->c_drain_backlog) &&
	    conn->c_out_len - conn->c_out_off < CONN_OUT_LOW) {
		conn->c_read_paused = false;
		if (!conn_draining)
			(void)event_add(conn->c_rev, NULL);
		if (conn->c_backlog)
			conn_backlog_later(conn);
	}
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_write(arg);
}

/*
 * The end of a loop iteration: take in what is ready, write every listed
 * connection once, free the connections closed, and tell a drain that it
 * is over.  The one place output is written (but for EV_WRITE, above,
 * and output at a limit: tpd_conn_out_reserve and _commit).
 */
void
tpd_conn_flush_all(void)
{
	struct tpd_conn *conn;

	if (conn_hooks != NULL && conn_hooks->ch_before_write != NULL)
		conn_hooks->ch_before_write();
	/* Not empty: conn_hooks is set (output is queued only then). */
	while ((conn = TAILQ_FIRST(&conn_writeq)) != NULL) {
		TAILQ_REMOVE(&conn_writeq, conn, c_writeent);
		conn->c_writeq = false;
		conn_write(conn);
		if (!TAILQ_EMPTY(&conn_writeq) &&
		    conn_hooks->ch_between_writes != NULL)
			conn_hooks->ch_between_writes();
	}
	while ((conn = TAILQ_FIRST(&conn_dead)) != NULL) {
		TAILQ_REMOVE(&conn_dead, conn, c_entry);
		free(conn);
	}
	if (conn_draining && conn_n == 0 && conn_drain_done != NULL) {
		void (*done)(void) = conn_drain_done;

		conn_drain_done = NULL;
		done();
	}
}

static void
conn_end_cb(evutil_socket_t fd, short what, void *arg)
{
	/* Output queued from here on arms the event again. */
	conn_end_armed = false;
	tpd_conn_flush_all();
}

/* A frame of body_len bytes is over --max-frame: say so and close. */
static void
conn_refuse_frame(struct tpd_conn *conn, size_t body_len)
{
	char why[128];

	(void)snprintf(why, sizeof(why), "frame of %zu bytes is over the "
	    "limit of %u bytes", body_len, tpd_opt.o_max_frame);
	conn_hooks->ch_refuse(conn, TPOOL__ERROR_CODE__ERROR_FRAME_TOO_LARGE,
	    why);
	tpd_conn_close_after_write(conn);
}

/* A turn's budget: frames left, and when it ends. */
struct conn_turn {
	unsigned int	ct_frames;
	uint64_t	ct_end_ns;
};

/* When the frame being handled began: the turn's clock reads. */
static uint64_t conn_frame_ns;		/* l */

static void
conn_turn_start(struct conn_turn *t)
{
	t->ct_frames = CONN_TURN_FRAMES;
	conn_frame_ns = tpd_now_ns();
	t->ct_end_ns = conn_frame_ns + CONN_TURN_NS;
}

/* Is the turn over?  (Counts the frame just handled.) */
static bool
conn_turn_over(struct conn_turn *t)
{
	conn_frame_ns = tpd_now_ns();
	return --t->ct_frames == 0 || conn_frame_ns >= t->ct_end_ns;
}

uint64_t
tpd_conn_frame_ns(void)
{
	return conn_frame_ns;
}

/*
 * Handle the complete frames of data[0..len) while the turn lasts (turn
 * NULL: all of them); returns how many bytes were used.  Stops early when
 * the connection is to be closed.
 */
static size_t
conn_frames(struct tpd_conn *conn, const uint8_t *data, size_t len,
    struct conn_turn *turn)
{
	const uint8_t *body = NULL;
	size_t off = 0, body_len = 0, frame_len = 0;

	while (!conn->c_closing && !conn->c_dead) {
		switch (tp_frame_parse(data + off, len - off,
		    tpd_opt.o_max_frame, &body,
		    &body_len, &frame_len)) {
		case TP_FRAME_NEED_MORE:
			return off;
		case TP_FRAME_TOO_LARGE:
			conn_refuse_frame(conn, body_len);
			return len;
		case TP_FRAME_OK:
			conn_hooks->ch_frame(conn, body, body_len);
			off += frame_len;
			if (turn != NULL && conn_turn_over(turn))
				return off;
			break;
		}
	}
	return len;
}

/* Is a connection of uid other than conn reading a frame over budget? */
static bool
conn_user_over(const struct tpd_conn *conn)
{
	const struct tpd_conn *c;

	TAILQ_FOREACH(c, &conn_list, c_entry)
		if (c != conn && c->c_uid == conn->c_uid && c->c_in_over)
			return true;
	return false;
}

/*
 * Charge c_in's growth by bytes to the user.  Past its share (or the
 * daemon's budget) one connection of the user may still take one frame
 * in, uncharged, so that a request that does not fit gets its own
 * ERROR_OVER_BUDGET; a second connection is refused with
 * ERROR_OVER_BUDGET and closed.  false: refused (closing).
 */
static bool
conn_in_charge(struct tpd_conn *conn, size_t bytes)
{
	enum tpd_budget_limit lim;
	char why[256];

	if (conn->c_in_over) {
		conn->c_in_uncharged += bytes;
		return true;
	}
	if ((lim = tpd_budget_charge(conn->c_uid, bytes)) == TPD_BUDGET_OK)
		return true;
	if (!conn_user_over(conn)) {
		conn->c_in_over = true;
		conn->c_in_uncharged += bytes;
		return true;
	}
	tpd_info("connection %llu (uid %u): %s, and another connection of "
	    "the user is reading a frame over it; closing it",
	    (unsigned long long)conn->c_id, (unsigned int)conn->c_uid,
	    tpd_budget_why(conn->c_uid, lim, bytes, why, sizeof(why)));
	conn_hooks->ch_refuse(conn, TPOOL__ERROR_CODE__ERROR_OVER_BUDGET, why);
	tpd_conn_close_after_write(conn);
	return false;
}

/* Give back a charge of conn_in_charge() (a failed realloc). */
static void
conn_in_uncharge(struct tpd_conn *conn, size_t bytes)
{
	size_t charged = bytes;

	if (conn->c_in_uncharged >= bytes) {
		conn->c_in_uncharged -= bytes;
		charged = 0;
	} else if (conn->c_in_uncharged > 0) {
		charged -= conn->c_in_uncharged;
		conn->c_in_uncharged = 0;
	}
	if (charged > 0)
		tpd_budget_release(conn->c_uid, charged);
}

/* Keep the first bytes of a partial frame in c_in (at most one frame). */
static bool
conn_in_append(struct tpd_conn *conn, const uint8_t *data, size_t len)
{
	size_t need = conn->c_in_len + len, cap;
	uint8_t *p;

	if (need > conn->c_in_cap) {
		cap = conn->c_in_cap < 256 ? 256 : conn->c_in_cap;
		while (cap < need)
			cap *= 2;
		/* A frame of --max-frame bytes takes no more than its size. */
		if (cap > TP_FRAME_HDR_LEN + (size_t)tpd_opt.o_max_frame &&
		    need <= TP_FRAME_HDR_LEN + (size_t)tpd_opt.o_max_frame)
			cap = TP_FRAME_HDR_LEN + (size_t)tpd_opt.o_max_frame;
		if (!conn_in_charge(conn, cap - conn->c_in_cap))
			return false;
		if ((p = realloc(conn->c_in, cap)) == NULL) {
			conn_in_uncharge(conn, cap - conn->c_in_cap);
			tpd_err("out of memory reading from connection %llu",
			    (unsigned long long)conn->c_id);
			conn_fail(conn);
			return false;
		}
		conn->c_in = p;
		conn->c_in_cap = cap;
	}
	memcpy(conn->c_in + conn->c_in_len, data, len);
	conn->c_in_len += len;
	return true;
}

/*
 * Move bytes from *data into c_in until it holds want bytes: 1 once it
 * does, 0 when *data ran out first, -1 when the connection failed.
 */
static int
conn_in_fill(struct tpd_conn *conn, const uint8_t **data, size_t *len,
    size_t want)
{
	size_t take;

	if (conn->c_in_len >= want)
		return 1;
	take = want - conn->c_in_len;
	if (take > *len)
		take = *len;
	if (!conn_in_append(conn, *data, take))
		return -1;
	*data += take;
	*len -= take;
	return conn->c_in_len >= want ? 1 : 0;
}

static void
conn_rto_arm(struct tpd_conn *conn, uint64_t after_ns)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(after_ns / 1000000000u);
	tv.tv_usec = (suseconds_t)(after_ns % 1000000000u / 1000);
	if (evtimer_add(conn->c_rto_ev, &tv) == 0)
		conn->c_rto_on = true;
}

static void
conn_rto_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tpd_conn *conn = arg;
	uint64_t age, limit = tpd_opt.o_read_timeout_ns;
	char why[128];

	conn->c_rto_on = false;
	if (conn->c_dead || conn->c_closing || conn->c_in_len == 0)
		return;
	if (conn->c_read_paused || conn->c_backlog) {
		/* We stopped reading it (its output waits, or its frames
		 * wait their turn): not its delay. */
		conn->c_in_since_ns = tpd_now_ns();
		conn_rto_arm(conn, limit);
		return;
	}
	age = tpd_now_ns() - conn->c_in_since_ns;
	if (age < limit) {
		/* A newer partial frame than the one the timer was set for. */
		conn_rto_arm(conn, limit - age);
		return;
	}
	tpd_info("connection %llu (uid %u): a frame did not arrive whole "
	    "within %llu ms "
	    "(%zu bytes of it came); closing", (unsigned long long)conn->c_id,
	    (unsigned int)conn->c_uid, (unsigned long long)(limit / 1000000),
	    conn->c_in_len);
	(void)snprintf(why, sizeof(why), "a request frame did not arrive "
	    "whole within %llu ms", (unsigned long long)(limit / 1000000));
	conn_hooks->ch_refuse(conn, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST, why);
	/* Try to tell it, but a slow peer gets no time to read it. */
	conn_write(conn);
	conn_close(conn, "read timeout");
}

/* A partial frame was just kept in c_in: note when it began. */
static void
conn_partial_began(struct tpd_conn *conn)
{
	uint64_t limit = tpd_opt.o_read_timeout_ns;

	conn->c_in_since_ns = tpd_now_ns();
	if (limit == 0 || conn->c_rto_on)
		return;
	if (conn->c_rto_ev == NULL &&
	    (conn->c_rto_ev = evtimer_new(conn_base, conn_rto_cb,
	    conn)) == NULL) {
		tpd_err("out of memory arming the read timeout of connection "
		    "%llu",
		    (unsigned long long)conn->c_id);
		conn_fail(conn);
		return;
	}
	conn_rto_arm(conn, limit);
}

/* Does c_in begin with a frame to handle (whole, or refused from its
 * header)? */
static bool
conn_in_has_frame(const struct tpd_conn *conn)
{
	uint32_t body_len;

	if (conn->c_in_len < TP_FRAME_HDR_LEN)
		return false;
	body_len = tp_frame_get_header(conn->c_in);
	return body_len > tpd_opt.o_max_frame ||
	    conn->c_in_len >= TP_FRAME_HDR_LEN + (size_t)body_len;
}

static void
conn_turn_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_read(arg);
}

/* Come back to this connection in the next loop iteration. */
static void
conn_backlog_later(struct tpd_conn *conn)
{
	static const struct timeval now = { 0, 0 };

	conn->c_backlog = true;
	if (conn->c_turn_ev == NULL &&
	    (conn->c_turn_ev = evtimer_new(conn_base, conn_turn_cb,
	    conn)) == NULL) {
		tpd_err("out of memory queuing the turn of connection %llu",
		    (unsigned long long)conn->c_id);
		conn_fail(conn);
		return;
	}
	(void)evtimer_add(conn->c_turn_ev, &now);
}

/* A turn on the frames left in c_in (the socket is not read meanwhile). */
static void
conn_backlog(struct tpd_conn *conn, struct conn_turn *turn)
{
	size_t used;

	if (conn->c_read_paused)
		return;		/* conn_write() brings it back */
	used = conn_frames(conn, conn->c_in, conn->c_in_len, turn);
	if (conn->c_dead)
		return;
	if (conn->c_closing) {
		conn->c_in_len = 0;
		conn->c_backlog = conn->c_drain_backlog = false;
		return;
	}
	memmove(conn->c_in, conn->c_in + used, conn->c_in_len - used);
	conn->c_in_len -= used;
	if (conn_in_has_frame(conn)) {
		conn_backlog_later(conn);
		return;
	}
	conn->c_backlog = false;
	if (conn->c_drain_backlog) {
		/* Every request it sent whole before the drain is answered;
		 * a partial frame is dropped, as an unread one is. */
		conn->c_drain_backlog = false;
		tpd_conn_close_after_write(conn);
		return;
	}
	if (conn->c_in_len > 0)
		conn_partial_began(conn);
}

static void
conn_read(struct tpd_conn *conn)
{
	const uint8_t *data = conn_scratch;
	struct conn_turn turn;
	size_t len, take, total;
	uint32_t body_len;
	ssize_t n;

	conn_turn_start(&turn);
	if (conn->c_backlog) {
		conn_backlog(conn, &turn);
		return;
	}
	n = read(conn->c_fd, conn_scratch, sizeof(conn_scratch));
	if (n == 0) {
		/*
		 * The peer is done sending (it may have only half-closed):
		 * it still gets every reply queued for it, and then the
		 * connection is closed; a Cancel with wait still pending and
		 * events of jobs that end later are not sent (protocol.md).
		 * A partial frame is dropped.
		 */
		if (conn->c_in_len > 0)
			tpd_debug("connection %llu: end of file in the middle "
			    "of a "
			    "frame", (unsigned long long)conn->c_id);
		tpd_conn_close_after_write(conn);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(conn, strerror(errno));
		return;
	}
	len = (size_t)n;
	conn->c_active_ns = tpd_now_ns();

	/* First complete the partial frame kept from the last read. */
	if (conn->c_in_len > 0) {
		if (conn_in_fill(conn, &data, &len, TP_FRAME_HDR_LEN) <= 0)
			return;
		body_len = tp_frame_get_header(conn->c_in);
		if (body_len > tpd_opt.o_max_frame) {
			/* Refused from its header: conn_frames says so. */
			(void)conn_frames(conn, conn->c_in, conn->c_in_len,
			    NULL);
			conn->c_in_len = 0;
			return;
		}
		total = TP_FRAME_HDR_LEN + (size_t)body_len;
		if (conn_in_fill(conn, &data, &len, total) <= 0)
			return;
		(void)conn_frames(conn, conn->c_in, conn->c_in_len, NULL);
		if (conn->c_dead)
			return;
		conn->c_in_len = 0;
		if (conn->c_in_cap > CONN_READ_CHUNK || conn->c_in_over)
			conn_in_free(conn);
		if (conn_turn_over(&turn) && len > 0) {
			/* The rest of this read waits for the next turn. */
			if (!conn->c_closing &&
			    conn_in_append(conn, data, len))
				conn_backlog_later(conn);
			return;
		}
	}

	take = conn_frames(conn, data, len, &turn);
	if (conn->c_dead || conn->c_closing || take == len ||
	    !conn_in_append(conn, data + take, len - take))
		return;
	if (conn_in_has_frame(conn))
		conn_backlog_later(conn);
	else
		conn_partial_began(conn);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_read(arg);
}

/* Close the connections that hold without using (the file's comment). */
static void
conn_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = tpd_now_ns(), wto = tpd_opt.o_write_timeout_ns;
	uint64_t ito = tpd_opt.o_conn_idle_timeout_ns;
	struct tpd_conn *conn, *next;

	for (conn = TAILQ_FIRST(&conn_list); conn != NULL; conn = next) {
		next = TAILQ_NEXT(conn, c_entry);
		if (conn->c_dead)
			continue;
		if (conn->c_wev_on && wto != 0 &&
		    now - conn->c_stuck_ns >= wto) {
			tpd_info("connection %llu (uid %u) took none of its "
			    "%zu bytes of output in %llu ms (--write-timeout); "
			    "closing it", (unsigned long long)conn->c_id,
			    (unsigned int)conn->c_uid,
			    conn->c_out_len - conn->c_out_off,
			    (unsigned long long)(wto / 1000000));
			conn_close(conn, "write timeout");
			continue;
		}
		if (ito != 0 && !conn->c_closing && conn->c_in_len == 0 &&
		    conn->c_out_len == conn->c_out_off &&
		    now - conn->c_active_ns >= ito &&
		    (conn_hooks->ch_busy == NULL ||
		    !conn_hooks->ch_busy(conn))) {
			tpd_debug("connection %llu (uid %u) idle for %llu ms "
			    "(--connection-idle-timeout)",
			    (unsigned long long)conn->c_id,
			    (unsigned int)conn->c_uid,
			    (unsigned long long)(ito / 1000000));
			conn_close(conn, "idle");
		}
	}
}

void
tpd_conn_drain_all(void (*done)(void))
{
	struct tpd_conn *conn;

	conn_draining = true;
	conn_drain_done = done;
	TAILQ_FOREACH(conn, &conn_list, c_entry) {
		if (conn->c_backlog && !conn->c_closing && !conn->c_dead) {
			/* Frames it read but did not handle yet get their
			 * turns (and answers); then it closes. */
			conn->c_drain_backlog = true;
			(void)event_del(conn->c_rev);
			continue;
		}
		tpd_conn_close_after_write(conn);
	}
	conn_arm_end();
}

void
tpd_conn_free_all(void)
{
	struct tpd_conn *conn;

	while ((conn = TAILQ_FIRST(&conn_list)) != NULL)
		conn_close(conn, "the daemon is exiting");
	conn_drain_done = NULL;
	tpd_conn_flush_all();
	conn_draining = false;
	if (conn_end_ev != NULL) {
		event_free(conn_end_ev);
		conn_end_ev = NULL;
	}
	conn_end_armed = false;
	if (conn_sweep_ev != NULL) {
		event_free(conn_sweep_ev);
		conn_sweep_ev = NULL;
	}
	conn_sweep_on = false;
}
