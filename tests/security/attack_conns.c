/*
 * attack_conns.c -- what a local user can make tpoold hold through its
 * connections: slots (one user may not take them all), output it never
 * reads (dropped after --write-timeout, its jobs kept), connections that
 * wait for nothing (closed after --connection-idle-timeout), and the same
 * Cancel{wait} sent again and again (answered at once, nothing held).
 * Findings 6 and 9 of the shared-service review, played by throwaway
 * users against a tpoold run as root.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "users.h"

#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })

static struct td_daemon D;

/* A plain connection as the calling user, no Hello; -1 on failure. */
static int
raw_connect(void)
{
	struct sockaddr_un sun;
	int fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", D.td_sock);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/*
 * Does the daemon close fd within ms?  With drain, what it sends is read
 * and thrown away; without, nothing is read (a peer's close shows as
 * POLLHUP on a Unix stream socket even with unread data).
 */
static bool
closed_within(int fd, unsigned int ms, bool drain)
{
	uint64_t end = tu_now_ms() + ms;
	char buf[65536];
	struct pollfd pfd;
	ssize_t n;

	for (;;) {
		uint64_t now = tu_now_ms();

		if (now >= end)
			return false;
		pfd.fd = fd;
		pfd.events = drain ? POLLIN : POLLRDHUP;
		if (poll(&pfd, 1, (int)(end - now)) <= 0)
			continue;
		if (!drain) {
			if ((pfd.revents & (POLLHUP | POLLRDHUP)) != 0)
				return true;
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return true;
	}
}

/* ------------------------------------------------- connection slots */

struct slots {
	int	s_ready[2];	/* the holder says it holds its slots */
	int	s_go[2];	/* the test lets it go */
	unsigned int s_limit;
};

/* Stats works on c (a served connection)? */
static bool
served(struct tpc *c)
{
	Tpool__StatsReply *st;

	if (tpc_stats(c, &st) != 0)
		return false;
	tpool__stats_reply__free_unpacked(st, NULL);
	return true;
}

/*
 * A new connection is refused with ERROR_TOO_MANY_CONNECTIONS and a
 * message naming the limit (needle): 0, else rc (no refusal) or rc + 1
 * (another message).
 */
static int
new_conn_refused(const char *needle, int rc)
{
	Tpool__StatsReply *st;
	const char *msg;
	struct tpc *c;
	int ret = 0;

	if (tpc_open(D.td_sock, &c) != 0)
		return rc;
	(void)tpc_set_timeout(c, 20000);
	if (tpc_stats(c, &st) != TPC_EDAEMON ||
	    tpc_last_error(c, &msg) !=
	    TPOOL__ERROR_CODE__ERROR_TOO_MANY_CONNECTIONS)
		ret = rc;
	else if (strstr(msg, needle) == NULL)
		ret = rc + 1;
	tpc_free(c);
	return ret;
}

/* As the first user: hold the limit's connections; one more is refused. */
static int
hold_slots(void *arg)
{
	struct slots *s = arg;
	struct tpc *c[16];
	unsigned int i;
	int rc;
	char b;

	for (i = 0; i < s->s_limit; i++)
		if (tpc_connect(D.td_sock, &c[i]) != 0 || !served(c[i]))
			return 10 + (int)i;
	rc = new_conn_refused("--max-connections-per-user", 31);
	(void)!write(s->s_ready[1], "r", 1);
	(void)!read(s->s_go[0], &b, 1);
	/* Still served, all of them. */
	for (i = 0; i < s->s_limit; i++) {
		if (rc == 0 && !served(c[i]))
			rc = 40 + (int)i;
		tpc_free(c[i]);
	}
	return rc;
}

/* As another user, while the first holds its slots: served. */
static int
other_user_served(void *arg)
{
	struct tpc *c;
	int rc;

	(void)arg;
	if (tpc_connect(D.td_sock, &c) != 0)
		return 50;
	rc = served(c) ? 0 : 51;
	tpc_free(c);
	return rc;
}

START_TEST(test_one_user_cannot_take_every_slot)
{
	struct ts_user a, b;
	struct slots s;
	struct tpc *root[4];
	unsigned int i;
	pid_t pid;
	char r;

	if (!ts_need_root())
		return;
	ts_user_make(&a);
	ts_user_make(&b);
	/* 8 slots in all, 3 per user: a takes 3, b and root still get in. */
	td_up(&D, ARGS("--max-connections", "8",
	    "--max-connections-per-user", "3"));
	s.s_limit = 3;
	ck_assert_int_eq(pipe(s.s_ready), 0);
	ck_assert_int_eq(pipe(s.s_go), 0);
	pid = ts_as_user_start(&a, hold_slots, &s);
	ck_assert_int_eq(read(s.s_ready[0], &r, 1), 1);
	ck_assert_int_eq(ts_as_user(&b, other_user_served, NULL), 0);
	/* Root is not counted per user. */
	for (i = 0; i < 4; i++) {
		root[i] = td_connect(&D);
		ck_assert(served(root[i]));
	}
	for (i = 0; i < 4; i++)
		tpc_free(root[i]);
	ck_assert_int_eq(write(s.s_go[1], "g", 1), 1);
	ck_assert_int_eq(ts_wait_child(pid), 0);
	ck_assert(td_log_contains(&D, "(--max-connections-per-user)"));
	td_down(&D);
}
END_TEST

/* As a user: hold s_limit served connections until let go. */
static int
hold_only(void *arg)
{
	struct slots *s = arg;
	struct tpc *c[16];
	unsigned int i;
	int rc = 0;
	char b;

	for (i = 0; i < s->s_limit; i++)
		if (tpc_connect(D.td_sock, &c[i]) != 0 || !served(c[i]))
			return 60 + (int)i;
	(void)!write(s->s_ready[1], "r", 1);
	(void)!read(s->s_go[0], &b, 1);
	for (i = 0; i < s->s_limit; i++)
		tpc_free(c[i]);
	return rc;
}

/* As a user while the daemon is full: refused, naming the daemon's limit. */
static int
refused_full(void *arg)
{
	(void)arg;
	return new_conn_refused("(the daemon's limit, --max-connections)", 71);
}

/*
 * Two users fill every slot of the daemon (--max-connections 6, 3 each):
 * a third user is refused, but root still gets in (a few slots past the
 * limit are root's, so that an operator can always look and cancel).
 */
START_TEST(test_root_gets_in_when_the_daemon_is_full)
{
	struct ts_user a, b, c;
	struct slots sa, sb;
	struct tpc *root[4];
	unsigned int i;
	pid_t pa, pb;
	char r;

	if (!ts_need_root())
		return;
	ts_user_make(&a);
	ts_user_make(&b);
	ts_user_make(&c);
	td_up(&D, ARGS("--max-connections", "6",
	    "--max-connections-per-user", "3"));
	sa.s_limit = sb.s_limit = 3;
	ck_assert_int_eq(pipe(sa.s_ready), 0);
	ck_assert_int_eq(pipe(sa.s_go), 0);
	ck_assert_int_eq(pipe(sb.s_ready), 0);
	ck_assert_int_eq(pipe(sb.s_go), 0);
	pa = ts_as_user_start(&a, hold_only, &sa);
	ck_assert_int_eq(read(sa.s_ready[0], &r, 1), 1);
	pb = ts_as_user_start(&b, hold_only, &sb);
	ck_assert_int_eq(read(sb.s_ready[0], &r, 1), 1);
	ck_assert_int_eq(ts_as_user(&c, refused_full, NULL), 0);
	for (i = 0; i < 4; i++) {
		root[i] = td_connect(&D);
		ck_assert(served(root[i]));
	}
	for (i = 0; i < 4; i++)
		tpc_free(root[i]);
	ck_assert_int_eq(write(sa.s_go[1], "g", 1), 1);
	ck_assert_int_eq(write(sb.s_go[1], "g", 1), 1);
	ck_assert_int_eq(ts_wait_child(pa), 0);
	ck_assert_int_eq(ts_wait_child(pb), 0);
	td_down(&D);
}
END_TEST

/* ----------------------------------------------------- unread output */

struct unread {
	int		u_pipe;		/* the held job's id goes here, then
					 * a byte once every request went */
	unsigned int	u_wait_ms;
};

/*
 * As a user: submit a job that holds until the gate opens, then 64 echo
 * jobs of 128 KiB each whose results come back as events, and read
 * nothing.  The daemon must drop the connection within the write timeout
 * (plus slack).  The echo jobs wait behind the held one (one thread)
 * until every request went out: the client library reads while it writes
 * (tpc_flush), and results that came meanwhile would be read, leaving the
 * daemon too little output to be stuck with.
 */
static int
never_read(void *arg)
{
	struct unread *u = arg;
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Submit sub = TPOOL__SUBMIT__INIT;
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	static char input[128 << 10];
	char gate[128];
	uint64_t held, rid;
	struct tpc *c;
	unsigned int i;

	if (tpc_connect(D.td_sock, &c) != 0)
		return 60;
	(void)tpc_set_timeout(c, 20000);
	td_gate_input(&D, gate, sizeof(gate));
	if (tpc_submit(c, TPC_SUBMIT_ARGS("probe", gate, strlen(gate)),
	    &held) != 0)
		return 61;
	(void)!write(u->u_pipe, &held, sizeof(held));
	memset(input, 'x', sizeof(input));
	a.tsa_plugin = "echo";
	a.tsa_input = input;
	a.tsa_input_len = sizeof(input);
	for (i = 0; i < 64; i++) {
		tpc_fill_submit(&req, &sub, &a);
		if (tpc_send_request(c, &req, &rid) != 0)
			return 62;
	}
	if (tpc_flush(c) != 0)
		return 63;
	(void)!write(u->u_pipe, "s", 1);	/* open the gate */
	/* Read nothing; the daemon gives up on us. */
	if (!closed_within(tpc_fd(c), u->u_wait_ms, false))
		return 64;
	tpc_free(c);
	return 0;
}

/* As the same user, on a new connection: the held job is still there. */
static int
job_kept(void *arg)
{
	uint64_t id = *(uint64_t *)arg;
	uint64_t end = tu_now_ms() + td_deadline_ms();
	Tpool__JobState state;
	Tpool__StatusReply *sr;
	struct tpc *c;
	int rc = 0;

	if (tpc_connect(D.td_sock, &c) != 0)
		return 70;
	(void)tpc_set_timeout(c, 20000);
	/* It may not have ended yet: ask until it has. */
	for (;;) {
		if (tpc_status(c, id, &sr) != 0 || sr->n_jobs != 1)
			return 71;
		state = sr->jobs[0]->state;
		tpool__status_reply__free_unpacked(sr, NULL);
		if (tp_state_is_final(state))
			break;
		if (tu_now_ms() > end)
			return 72;
		td_sleep_ms(50);
	}
	if (state != TPOOL__JOB_STATE__JOB_SUCCEEDED)
		rc = 74;
	tpc_free(c);
	return rc;
}

START_TEST(test_unread_output_is_dropped_jobs_kept)
{
	struct ts_user a;
	struct unread u;
	uint64_t held = 0;
	char sent;
	int p[2];
	pid_t pid;

	if (!ts_need_root())
		return;
	ts_user_make(&a);
	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	td_start(&D, NULL, ARGS("--write-timeout", "1s", "--max-threads", "1"));
	ck_assert_int_eq(pipe(p), 0);
	u.u_pipe = p[1];
	u.u_wait_ms = 1000 + td_deadline_ms();
	pid = ts_as_user_start(&a, never_read, &u);
	ck_assert_int_eq(read(p[0], &held, sizeof(held)), sizeof(held));
	ck_assert_int_eq(read(p[0], &sent, 1), 1);
	td_gate_open(&D);
	ck_assert_int_eq(ts_wait_child(pid), 0);
	ck_assert(td_log_wait(&D, "(--write-timeout)", td_deadline_ms()));
	/* The user's job outlived its connection and ends as usual. */
	ck_assert_int_eq(ts_as_user(&a, job_kept, &held), 0);
	(void)close(p[0]);
	(void)close(p[1]);
	td_down(&D);
}
END_TEST

/* ------------------------------------------------- idle connections */

struct idle {
	unsigned int	i_timeout_ms;
	unsigned int	i_slack_ms;
};

/*
 * As a user: a connection that says nothing is closed after the idle
 * timeout; one that waits for its job's end is not, however long the job
 * takes, and is closed once it waits for nothing.
 */
static int
idle_user(void *arg)
{
	struct idle *in = arg;
	Tpool__JobInfo *fin;
	Tpool__StatsReply *st;
	uint64_t t0, id;
	struct tpc *c;
	int fd, rc = 0;

	if ((fd = raw_connect()) < 0)
		return 80;
	t0 = tu_now_ms();
	if (!closed_within(fd, in->i_timeout_ms + in->i_slack_ms, true))
		return 81;
	if (tu_now_ms() - t0 + 50 < in->i_timeout_ms)
		return 82;	/* closed too early */
	(void)close(fd);

	if (tpc_connect(D.td_sock, &c) != 0)
		return 83;
	(void)tpc_set_timeout(c, 20000);
	/* The job holds three idle timeouts; we wait without a word. */
	{
		char cmd[32];

		(void)snprintf(cmd, sizeof(cmd), "hold:%u",
		    3 * in->i_timeout_ms);
		if (tpc_submit(c, TPC_SUBMIT_ARGS("probe", cmd, strlen(cmd)),
		    &id) != 0)
			return 84;
	}
	if (tpc_wait_job(c, id, &fin, NULL, NULL) != 0)
		return 85;
	if (fin->state != TPOOL__JOB_STATE__JOB_SUCCEEDED)
		rc = 86;
	tpool__job_info__free_unpacked(fin, NULL);
	/* Now it waits for nothing: closed after the timeout. */
	if (rc == 0 && !closed_within(tpc_fd(c),
	    in->i_timeout_ms + in->i_slack_ms, true))
		rc = 87;
	if (rc == 0 && tpc_stats(c, &st) == 0) {
		tpool__stats_reply__free_unpacked(st, NULL);
		rc = 88;
	}
	tpc_free(c);
	return rc;
}

START_TEST(test_idle_connections_expire)
{
	struct ts_user a;
	struct idle in;

	if (!ts_need_root())
		return;
	ts_user_make(&a);
	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	td_start(&D, NULL, ARGS("--connection-idle-timeout", "600ms"));
	in.i_timeout_ms = 600;
	in.i_slack_ms = td_deadline_ms();
	ck_assert_int_eq(ts_as_user(&a, idle_user, &in), 0);
	td_down(&D);
}
END_TEST

/* ------------------------------------------------ repeated cancel-wait */

#define	REPEATS	2000

START_TEST(test_repeated_cancel_wait_holds_nothing)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Cancel cancel = TPOOL__CANCEL__INIT;
	Tpool__ServerMessage *sm;
	Tpool__Response *r;
	struct tpc *c;
	uint64_t id;
	unsigned int i;
	char input[128];
	bool eof = false;
	int fd;

	/* No other user needed: the bound is per connection. */
	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	td_start(&D, NULL, NULL);
	c = td_connect(&D);
	/* A job that runs, deaf to cancels, until the gate opens. */
	td_gate_input(&D, input, sizeof(input));
	ck_assert_int_eq(tpc_submit(c, TPC_SUBMIT_ARGS("probe", input,
	    strlen(input)), &id), 0);
	tpool__event__free_unpacked(td_wait_event(c, id,
	    TPOOL__EVENT__KIND_STARTED), NULL);

	fd = td_raw_connect(&D);
	req.body_case = TPOOL__REQUEST__BODY_CANCEL;
	req.cancel = &cancel;
	req.has_request_id = true;
	cancel.has_job_id = cancel.has_wait = true;
	cancel.job_id = id;
	cancel.wait = true;
	for (i = 1; i <= REPEATS; i++) {
		req.request_id = i;
		td_raw_send(fd, &req.base);
	}
	/*
	 * Every repeat is answered at once (too late, the job as it is)
	 * while the job runs; the first waits for the end and carries the
	 * final state once the gate opens.
	 */
	for (i = 0; i < REPEATS; i++) {
		if (i == REPEATS - 1)
			td_gate_open(&D);
		sm = td_raw_read(fd, td_deadline_ms(), &eof);
		ck_assert_ptr_nonnull(sm);
		ck_assert_int_eq(sm->msg_case,
		    TPOOL__SERVER_MESSAGE__MSG_RESPONSE);
		r = sm->response;
		ck_assert_int_eq(r->body_case,
		    TPOOL__RESPONSE__BODY_CANCEL);
		ck_assert_int_eq(r->cancel->result,
		    TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE);
		if (i < REPEATS - 1) {
			ck_assert_uint_ne(r->request_id, 1);
			ck_assert_int_eq(r->cancel->job->state,
			    TPOOL__JOB_STATE__JOB_RUNNING);
		} else {
			/* The waiting one comes last, with the end. */
			ck_assert_uint_eq(r->request_id, 1);
			ck_assert(tp_state_is_final(
			    r->cancel->job->state));
		}
		tpool__server_message__free_unpacked(sm, NULL);
	}
	(void)close(fd);
	tpc_free(c);
	td_down(&D);
}
END_TEST

static Suite *
attack_conns_suite(void)
{
	Suite *s = suite_create("attack_conns");
	TCase *tc = tcase_create("connections");

	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_one_user_cannot_take_every_slot);
	tcase_add_test(tc, test_root_gets_in_when_the_daemon_is_full);
	tcase_add_test(tc, test_unread_output_is_dropped_jobs_kept);
	tcase_add_test(tc, test_idle_connections_expire);
	tcase_add_test(tc, test_repeated_cancel_wait_holds_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	ts_users_sweep();
	return td_main(attack_conns_suite());
}
