/*
 * test_store.c -- the job store (tpoold --state-dir): jobs survive a stop
 * and a SIGKILL of the daemon (queued ones run after the restart with
 * their ids, a running one ends interrupted, finished ones keep their
 * results, new ids are above the old), the file is private and readable
 * with SQLite, a store that cannot be written refuses submits and serves
 * reads (and takes them again once it can), a read-only state directory
 * serves its jobs without running them and refuses submits and cancels,
 * and a file that is not a job store, or of a newer schema, stops the
 * start saying what to do.
 */
#include "config.h"

#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"

#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })

static struct td_daemon D;
static char state[128], state_arg[160], db[160];

/* A daemon with a state directory, one thread per pool so that jobs
 * queue, not started yet. */
static void
store_init(void)
{
	td_init(&D);
	td_add_example_plugins(&D);
	(void)snprintf(state, sizeof(state), "%s/state", D.td_dir);
	(void)snprintf(state_arg, sizeof(state_arg), "--state-dir=%s", state);
	(void)snprintf(db, sizeof(db), "%s/jobs.db", state);
	ck_assert_int_eq(mkdir(state, 0700), 0);
}

static void
store_start_sync(const char *sync)
{
	td_start(&D, NULL, ARGS(state_arg, "--max-threads", "1",
	    "--max-running", "1", "--shutdown-grace", "5s", "--sync", sync));
}

static void
store_start(void)
{
	store_start_sync("normal");
}

/* The job's state and, when it has one, its result, as status says. */
static Tpool__JobInfo *
status_of(struct tpc *c, uint64_t id)
{
	Tpool__StatusReply *sr;
	Tpool__JobInfo *j;
	uint8_t *buf;
	size_t len;

	ck_assert_int_eq(tpc_status(c, id, &sr), 0);
	ck_assert_uint_eq(sr->n_jobs, 1);
	/* A copy that outlives the reply. */
	len = tpool__job_info__get_packed_size(sr->jobs[0]);
	buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	(void)tpool__job_info__pack(sr->jobs[0], buf);
	tpool__status_reply__free_unpacked(sr, NULL);
	j = tpool__job_info__unpack(NULL, len, buf);
	free(buf);
	ck_assert_ptr_nonnull(j);
	return j;
}

static void
expect_result(Tpool__JobInfo *j, const char *want)
{
	ck_assert_msg(j->state == TPOOL__JOB_STATE__JOB_SUCCEEDED,
	    "job %llu: state %d ('%s')", (unsigned long long)j->job_id,
	    j->state, j->message != NULL ? j->message : "");
	ck_assert(j->has_result);
	ck_assert_uint_eq(j->result.len, strlen(want));
	ck_assert(memcmp(j->result.data, want, j->result.len) == 0);
	tpool__job_info__free_unpacked(j, NULL);
}

/* Wait until the job runs (it has a worker). */
static void
wait_running(struct tpc *c, uint64_t id)
{
	Tpool__JobInfo *j;
	unsigned int i;

	for (i = 0; i < td_deadline_ms() / 10; i++) {
		j = status_of(c, id);
		if (j->state == TPOOL__JOB_STATE__JOB_RUNNING) {
			tpool__job_info__free_unpacked(j, NULL);
			return;
		}
		tpool__job_info__free_unpacked(j, NULL);
		td_sleep_ms(10);
	}
	ck_abort_msg("job %llu never ran", (unsigned long long)id);
}

/*
 * The jobs of one life of the daemon: a finished echo, a long sleep that
 * runs, and three echoes queued behind it (one thread).
 */
struct life {
	uint64_t	l_done, l_sleep, l_queued[3];
};

static void
life_submit(struct tpc *c, struct life *l)
{
	char in[16];
	int i;

	l->l_done = td_submit(c, "echo", "kept");
	tpool__job_info__free_unpacked(td_wait_final(c, l->l_done), NULL);
	l->l_sleep = td_submit(c, "sleep", "60000");
	wait_running(c, l->l_sleep);
	for (i = 0; i < 3; i++) {
		(void)snprintf(in, sizeof(in), "queued %d", i);
		l->l_queued[i] = td_submit(c, "echo", in);
	}
}

/* A daemon with a store, and the jobs of its life submitted. */
static void
life_begin(struct life *l)
{
	struct tpc *c;

	store_init();
	store_start();
	c = td_connect(&D);
	life_submit(c, l);
	tpc_free(c);
}

/* After the restart: everything found again, as it should be. */
static void
life_check(struct tpc *c, const struct life *l, const char *why)
{
	Tpool__JobInfo *j;
	uint64_t id;
	char in[16];
	int i;

	expect_result(status_of(c, l->l_done), "kept");
	j = td_wait_final(c, l->l_sleep);
	ck_assert_msg(j->state == TPOOL__JOB_STATE__JOB_INTERRUPTED,
	    "the running job: state %d ('%s')", j->state,
	    j->message != NULL ? j->message : "");
	ck_assert_msg(j->message != NULL && strstr(j->message, why) != NULL,
	    "message '%s', not '%s'", j->message != NULL ? j->message : "",
	    why);
	tpool__job_info__free_unpacked(j, NULL);
	for (i = 0; i < 3; i++) {
		(void)snprintf(in, sizeof(in), "queued %d", i);
		expect_result(td_wait_final(c, l->l_queued[i]), in);
	}
	/* A new job's id is above every old one. */
	id = td_submit(c, "echo", "new");
	ck_assert_uint_gt(id, l->l_queued[2]);
	expect_result(td_wait_final(c, id), "new");
}

START_TEST(test_jobs_survive_a_stop)
{
	struct life l;
	struct stat st;
	struct tpc *c;

	life_begin(&l);
	/* SIGTERM: the queued jobs stay queued, the running one is asked
	 * to stop and ends interrupted. */
	td_stop(&D);
	td_expect_log(&D, "job store");
	ck_assert_int_eq(stat(db, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);

	store_start();
	td_expect_log(&D, "3 jobs queued or scheduled again");
	c = td_connect(&D);
	life_check(c, &l, "the daemon stopped while it ran");
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_jobs_survive_a_kill)
{
	struct life l;
	struct tpc *c;

	life_begin(&l);
	/* No chance to write anything more. */
	ck_assert_int_eq(kill(D.td_pid, SIGKILL), 0);
	ck_assert_int_ne(td_wait_exit(D.td_pid, td_deadline_ms()), -1);
	D.td_pid = 0;

	store_start();
	td_expect_log(&D, "1 interrupted");
	c = td_connect(&D);
	life_check(c, &l, "the daemon ended while it ran");
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * Kill -9 at moments chosen here, many times, while a client pipelines
 * submits: every job whose SubmitReply reached the client is found after
 * the restarts, succeeded with its own input as its result (or, had it
 * been running at a kill, interrupted).
 */
#define	KILL_ROUNDS	6
#define	KILL_SUBMITS	400

/* Every finished job kept (not forgotten by --finished-keep). */
static void
kill_start(void)
{
	td_start(&D, NULL, ARGS(state_arg, "--finished-keep", "100000"));
}

struct answered {
	uint64_t	a_id;
	unsigned int	a_round, a_i;
};

START_TEST(test_answered_jobs_survive_kills)
{
	static struct answered ans[KILL_ROUNDS * KILL_SUBMITS];
	static uint64_t rid_of[KILL_SUBMITS];
	Tpool__ServerMessage *m;
	Tpool__JobInfo *j;
	struct tpc *c;
	unsigned int round, i, n = 0, replies, kill_at, interrupted = 0;
	char in[32];
	size_t k;

	srand((unsigned int)getpid());
	store_init();
	for (round = 0; round < KILL_ROUNDS; round++) {
		kill_start();
		c = td_connect(&D);
		for (i = 0; i < KILL_SUBMITS; i++) {
			(void)snprintf(in, sizeof(in), "r%u-%u", round, i);
			ck_assert_int_eq(tpc_send_submit(c, TPC_SUBMIT_ARGS(
			    "echo", in, strlen(in)), &rid_of[i]), 0);
		}
		ck_assert_int_eq(tpc_flush(c), 0);
		/* Killed after 1 to KILL_SUBMITS / 2 answers. */
		kill_at = 1 + (unsigned int)rand() % (KILL_SUBMITS / 2);
		replies = 0;
		while (tpc_read_message(c, &m) == 0) {
			if (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE &&
			    m->response->body_case ==
			    TPOOL__RESPONSE__BODY_SUBMIT) {
				for (i = 0; i < KILL_SUBMITS; i++)
					if (rid_of[i] == m->response->request_id)
						break;
				ck_assert_uint_lt(i, KILL_SUBMITS);
				ans[n].a_id = m->response->submit->job_id;
				ans[n].a_round = round;
				ans[n].a_i = i;
				n++;
				if (++replies == kill_at && D.td_pid > 0) {
					ck_assert_int_eq(kill(D.td_pid,
					    SIGKILL), 0);
					ck_assert_int_ne(td_wait_exit(D.td_pid,
					    td_deadline_ms()), -1);
					D.td_pid = 0;
				}
			}
			tpool__server_message__free_unpacked(m, NULL);
		}
		tpc_free(c);
		if (D.td_pid > 0) {
			/* Every answer came before the kill did. */
			ck_assert_int_eq(kill(D.td_pid, SIGKILL), 0);
			(void)td_wait_exit(D.td_pid, td_deadline_ms());
			D.td_pid = 0;
		}
	}
	kill_start();
	c = td_connect(&D);
	for (k = 0; k < n; k++) {
		j = td_wait_final(c, ans[k].a_id);
		(void)snprintf(in, sizeof(in), "r%u-%u", ans[k].a_round,
		    ans[k].a_i);
		if (j->state == TPOOL__JOB_STATE__JOB_INTERRUPTED) {
			interrupted++;
			tpool__job_info__free_unpacked(j, NULL);
			continue;
		}
		expect_result(j, in);
	}
	(void)printf("kills: %u rounds, %u answered submits found again "
	    "(%u interrupted)\n", KILL_ROUNDS, n, interrupted);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* Count the rows of the store in each state, with SQLite (as an operator
 * would with the sqlite3 shell). */
static int
rows_in_state(const char *state_name)
{
	sqlite3_stmt *st;
	sqlite3 *h;
	int n = -1;

	ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM "
	    "jobs_readable WHERE state = ?1", -1, &st, NULL), SQLITE_OK);
	(void)sqlite3_bind_text(st, 1, state_name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	(void)sqlite3_finalize(st);
	(void)sqlite3_close(h);
	return n;
}

/* A delayed job is kept scheduled across a stop and runs after its delay,
 * counted from its submit, not from the restart; a unique key still finds
 * its job after the restart. */
START_TEST(test_delayed_job_survives_a_stop)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__SubmitReply *sr;
	Tpool__JobInfo *j;
	struct tpc *c;
	uint64_t id, far;

	store_init();
	store_start();
	c = td_connect(&D);
	a.tsa_plugin = "echo";
	a.tsa_input = "delayed";
	a.tsa_input_len = 7;
	a.tsa_delay_ms = 2000;
	ck_assert_int_eq(tpc_submit(c, &a, &id), 0);
	j = status_of(c, id);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SCHEDULED);
	tpool__job_info__free_unpacked(j, NULL);
	/* One far off, with a unique key. */
	a.tsa_delay_ms = 60000;
	a.tsa_unique_key = "nightly";
	ck_assert_int_eq(tpc_submit(c, &a, &far), 0);
	tpc_free(c);
	td_stop(&D);
	ck_assert_int_eq(rows_in_state("scheduled"), 2);

	store_start();
	c = td_connect(&D);
	/* Its key still finds it. */
	ck_assert_int_eq(tpc_submit_reply(c, &a, &sr), 0);
	ck_assert(sr->has_existing && sr->existing);
	ck_assert_uint_eq(sr->job_id, far);
	tpool__submit_reply__free_unpacked(sr, NULL);
	j = td_wait_final(c, id);
	ck_assert_uint_ge(j->queue_ns, 1999000000u);
	expect_result(j, "delayed");
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* --sync full: the same, synced at each commit. */
START_TEST(test_store_is_readable_with_sqlite)
{
	struct tpc *c;
	uint64_t id;

	store_init();
	store_start_sync("full");
	td_expect_log(&D, "survives a power loss (--sync full)");
	c = td_connect(&D);
	id = td_submit(c, "echo", "one");
	tpool__job_info__free_unpacked(td_wait_final(c, id), NULL);
	id = td_submit(c, "fail", NULL);
	tpool__job_info__free_unpacked(td_wait_final(c, id), NULL);
	tpc_free(c);
	td_stop(&D);
	ck_assert_int_eq(rows_in_state("succeeded"), 1);
	ck_assert_int_eq(rows_in_state("failed"), 1);
	td_cleanup(&D);
}
END_TEST

/* Set the daemon's RLIMIT_FSIZE, the soft one (the tests run as root;
 * the hard one stays, so that it can be raised again). */
static void
daemon_fsize(rlim_t lim)
{
	struct rlimit rl;

	ck_assert_int_eq(prlimit(D.td_pid, RLIMIT_FSIZE, NULL, &rl), 0);
	rl.rlim_cur = lim;
	ck_assert_msg(prlimit(D.td_pid, RLIMIT_FSIZE, &rl, NULL) == 0,
	    "prlimit: %s", strerror(errno));
}

/* The size of the largest of the store's files and the daemon's log. */
static rlim_t
largest_file(void)
{
	const char *sfx[] = { "", "-wal", "-shm" };
	char path[200];
	struct stat st;
	rlim_t max = 0;
	size_t i;

	for (i = 0; i < 3; i++) {
		(void)snprintf(path, sizeof(path), "%s%s", db, sfx[i]);
		if (stat(path, &st) == 0 && (rlim_t)st.st_size > max)
			max = (rlim_t)st.st_size;
	}
	if (stat(D.td_log, &st) == 0 && (rlim_t)st.st_size > max)
		max = (rlim_t)st.st_size;
	return max;
}

START_TEST(test_store_that_cannot_write_refuses_submits)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__ErrorCode code;
	const char *msg;
	struct tpc *c;
	uint64_t id, before;
	char *big;
	int rc;

	store_init();
	store_start();
	c = td_connect(&D);
	before = td_submit(c, "echo", "before");
	expect_result(td_wait_final(c, before), "before");
	/*
	 * No file may grow past 64 KiB more than the largest of the store's
	 * and the log's now (the log needs room to say what happened): a
	 * job of 512 KiB cannot be recorded.
	 */
	daemon_fsize(largest_file() + 64 * 1024);
	big = malloc(512 * 1024);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 512 * 1024);
	a.tsa_plugin = "echo";
	a.tsa_input = big;
	a.tsa_input_len = 512 * 1024;
	rc = tpc_submit(c, &a, &id);
	ck_assert_int_eq(rc, TPC_EDAEMON);
	code = tpc_last_error(c, &msg);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_STORE);
	ck_assert_msg(strstr(msg, "not accepted") != NULL, "'%s'", msg);
	td_expect_log(&D, "submits are refused until it can");
	/* Reads are served. */
	expect_result(status_of(c, before), "before");
	/* Room again: submits are taken again. */
	daemon_fsize(RLIM_INFINITY);
	ck_assert_int_eq(tpc_submit(c, &a, &id), 0);
	tpool__job_info__free_unpacked(td_wait_final(c, id), NULL);
	td_expect_log(&D, "written again");
	free(big);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * Make the state directory read-only for the daemon, or writable again:
 * as root, a read-only bind mount of it over itself in a mount namespace
 * of this test process's own (root writes through any mode bits), then
 * unmounted; as anyone else, mode 0500.  The daemons started afterwards
 * see it so.
 */
static void
state_read_only(bool ro)
{
	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(state, ro ? 0500 : 0700), 0);
		return;
	}
	if (!ro) {
		ck_assert_msg(umount2(state, MNT_DETACH) == 0, "umount: %s",
		    strerror(errno));
		return;
	}
	/* Once per test process: Check runs each in a child of its own. */
	(void)unshare(CLONE_NEWNS);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_msg(mount(state, state, NULL, MS_BIND, NULL) == 0,
	    "bind mount: %s", strerror(errno));
	ck_assert_msg(mount(NULL, state, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY,
	    NULL) == 0, "remount: %s", strerror(errno));
}

/*
 * A state directory that cannot be written at start: the daemon starts,
 * shows the jobs of its store (a finished one with its result, a
 * scheduled one) but runs none, refuses submits and the cancel of a job
 * not finished with ERROR_STORE, and says so in its stats; started again
 * with the directory writable, the held job is still there to cancel.
 */
START_TEST(test_read_only_state_dir_serves_its_jobs)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__StatsReply *st;
	Tpool__CancelReply *cr;
	Tpool__JobInfo *j;
	Tpool__ErrorCode code;
	const char *msg;
	struct tpc *c;
	uint64_t done, held, id;

	store_init();
	store_start();
	c = td_connect(&D);
	done = td_submit(c, "echo", "done");
	expect_result(td_wait_final(c, done), "done");
	a.tsa_plugin = "echo";
	a.tsa_input = "held";
	a.tsa_input_len = 4;
	a.tsa_delay_ms = 1500;
	ck_assert_int_eq(tpc_submit(c, &a, &held), 0);
	tpc_free(c);
	td_stop(&D);

	state_read_only(true);
	store_start();
	td_expect_log(&D, "its state directory is read-only");
	c = td_connect(&D);
	expect_result(status_of(c, done), "done");
	/*
	 * Past its delay, it is held, scheduled (or queued, when its delay
	 * ended before the first daemon stopped, as under valgrind): its run
	 * could not be recorded.
	 */
	td_sleep_ms(2000);
	j = status_of(c, held);
	ck_assert_msg(j->state == TPOOL__JOB_STATE__JOB_SCHEDULED ||
	    j->state == TPOOL__JOB_STATE__JOB_QUEUED, "held job in state %d",
	    (int)j->state);
	tpool__job_info__free_unpacked(j, NULL);
	ck_assert_int_eq(tpc_submit(c, TPC_SUBMIT_ARGS("echo", "no", 2), &id),
	    TPC_EDAEMON);
	code = tpc_last_error(c, &msg);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_STORE);
	ck_assert_msg(strstr(msg, "read-only") != NULL, "'%s'", msg);
	ck_assert_int_eq(tpc_cancel(c, held, false, &cr), TPC_EDAEMON);
	ck_assert_int_eq(tpc_last_error(c, &msg), TPOOL__ERROR_CODE__ERROR_STORE);
	/* A finished job's cancel changes nothing: answered. */
	ck_assert_int_eq(tpc_cancel(c, done, false, &cr), 0);
	ck_assert_int_eq(cr->result,
	    TPOOL__CANCEL_RESULT__CANCEL_ALREADY_FINISHED);
	tpool__cancel_reply__free_unpacked(cr, NULL);
	ck_assert_int_eq(tpc_stats(c, &st), 0);
	ck_assert(st->store);
	ck_assert(st->has_store_writable && !st->store_writable);
	tpool__stats_reply__free_unpacked(st, NULL);
	tpc_free(c);
	td_stop(&D);

	state_read_only(false);
	store_start();
	c = td_connect(&D);
	ck_assert_int_eq(tpc_stats(c, &st), 0);
	ck_assert(st->store && st->store_writable);
	tpool__stats_reply__free_unpacked(st, NULL);
	j = td_wait_final(c, held);
	expect_result(j, "held");
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* A read-only state directory without a store: nothing to serve, the
 * start stops, saying so. */
START_TEST(test_read_only_state_dir_without_store_stops_the_start)
{
	int status;
	pid_t pid;

	store_init();
	state_read_only(true);
	pid = td_spawn(&D, NULL, ARGS(state_arg), true);
	status = td_wait_exit(pid, td_deadline_ms());
	D.td_pid = 0;
	ck_assert_msg(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) != 0, "tpoold started without a store");
	td_expect_log(&D, "is read-only");
	td_expect_log(&D, "has no job store");
	state_read_only(false);
	td_cleanup(&D);
}
END_TEST

/* Start on a state directory whose jobs.db is what make() left: the
 * start must fail, and the log say needle. */
static void
refused_start(void (*make)(void), const char *needle)
{
	int status;
	pid_t pid;

	store_init();
	make();
	pid = td_spawn(&D, NULL, ARGS(state_arg), true);
	status = td_wait_exit(pid, td_deadline_ms());
	D.td_pid = 0;
	ck_assert_msg(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) != 0, "tpoold started on a bad store");
	td_expect_log(&D, needle);
	td_cleanup(&D);
}

static void
make_garbage(void)
{
	FILE *f = fopen(db, "w");

	ck_assert_ptr_nonnull(f);
	(void)fputs("these are not the jobs you are looking for\n", f);
	ck_assert_int_eq(fclose(f), 0);
}

static void
make_db(const char *sql)
{
	sqlite3 *h;

	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	(void)sqlite3_close(h);
}

static void
make_foreign(void)
{
	make_db("CREATE TABLE recipes (name TEXT)");
}

static void
make_newer(void)
{
	make_db("CREATE TABLE jobs (id INTEGER PRIMARY KEY);"
	    "PRAGMA application_id = 1953525615; PRAGMA user_version = 99");
}

/* A store of schema 1 (the first: no delays, keys or retries), one job
 * queued in it. */
static void
make_schema_1(void)
{
	make_db("CREATE TABLE jobs (id INTEGER PRIMARY KEY,"
	    " uid INTEGER NOT NULL, plugin TEXT NOT NULL, name TEXT NOT NULL,"
	    " input BLOB NOT NULL, pool INTEGER NOT NULL,"
	    " priority INTEGER NOT NULL, cpu INTEGER NOT NULL,"
	    " timeout_ns INTEGER NOT NULL, deadline_us INTEGER NOT NULL,"
	    " submitted_us INTEGER NOT NULL, state INTEGER NOT NULL,"
	    " started_us INTEGER NOT NULL, ended_us INTEGER NOT NULL,"
	    " cpu_ns INTEGER NOT NULL, ran_on_cpu INTEGER NOT NULL,"
	    " result BLOB, message TEXT);"
	    "CREATE VIEW jobs_readable AS SELECT id, state FROM jobs;"
	    "INSERT INTO jobs VALUES (1000, 0, 'echo', 'old', "
	    "CAST('from schema 1' AS BLOB), 0, -1, -1, 0, 0, "
	    "1700000000000000, 1, 0, 0, 0, -1, NULL, NULL);"
	    "PRAGMA application_id = 1953525615; PRAGMA user_version = 1");
	ck_assert_int_eq(chmod(db, 0600), 0);
}

/* A store of schema 1 is upgraded, and its queued job runs. */
START_TEST(test_schema_1_store_is_upgraded)
{
	struct tpc *c;

	store_init();
	make_schema_1();
	store_start();
	td_expect_log(&D, "upgraded from schema 1 to 2");
	td_expect_log(&D, "1 jobs queued or scheduled again");
	c = td_connect(&D);
	expect_result(td_wait_final(c, 1000), "from schema 1");
	tpc_free(c);
	td_stop(&D);
	ck_assert_int_eq(rows_in_state("succeeded"), 1);
	td_cleanup(&D);
}
END_TEST

START_TEST(test_damaged_store_stops_the_start)
{
	refused_start(make_garbage, "move it away to start with an empty "
	    "store");
}
END_TEST

START_TEST(test_foreign_database_stops_the_start)
{
	refused_start(make_foreign, "is not a tpoold job store");
}
END_TEST

START_TEST(test_newer_schema_stops_the_start)
{
	refused_start(make_newer, "has schema 99, written by a newer tpoold");
}
END_TEST

START_TEST(test_without_state_dir_says_memory_only)
{
	td_up(&D, NULL);
	td_expect_log(&D, "jobs are kept in memory only");
	td_down(&D);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("daemon-store");
	TCase *tc;

	tc = tcase_create("restart");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_jobs_survive_a_stop);
	tcase_add_test(tc, test_jobs_survive_a_kill);
	tcase_add_test(tc, test_answered_jobs_survive_kills);
	tcase_add_test(tc, test_store_is_readable_with_sqlite);
	tcase_add_test(tc, test_delayed_job_survives_a_stop);
	tcase_add_test(tc, test_without_state_dir_says_memory_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("faults");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_store_that_cannot_write_refuses_submits);
	tcase_add_test(tc, test_read_only_state_dir_serves_its_jobs);
	tcase_add_test(tc, test_read_only_state_dir_without_store_stops_the_start);
	tcase_add_test(tc, test_damaged_store_stops_the_start);
	tcase_add_test(tc, test_foreign_database_stops_the_start);
	tcase_add_test(tc, test_newer_schema_stops_the_start);
	tcase_add_test(tc, test_schema_1_store_is_upgraded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return td_main(store_suite());
}
