/*
 * attack_ids.c -- finding 5 of the shared-service issue, job ids and who
 * sees which job.  Ids must never come back after a restart (root
 * cancelling its old job 1 hit another user's new job 1), with or without
 * a state directory, even with the clock set back; a user probing ids
 * must not tell another user's job from a missing one (status, cancel
 * and watch answer both alike); and root, alone, sees every user's jobs
 * with status --all.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "part.h"
#include "users.h"

#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })
#define	ID_MAX		(1ull << 53)	/* exact in JSON's numbers */
#define	MARK_FILE	"job-id-mark"

static struct td_daemon D;

/* One probe: code and message of a request naming id. */
struct probe {
	Tpool__ErrorCode	p_code;
	char			p_msg[256];
};

/* status, cancel and watch of id: each must fail; 0 or 30 + n. */
static int
probe_id(struct tpc *c, uint64_t id, struct probe p[3])
{
	Tpool__StatusReply *sr;
	Tpool__CancelReply *cr;
	Tpool__WatchReply *wr;
	const char *msg;
	int i;

	for (i = 0; i < 3; i++) {
		int error;

		if (i == 0)
			error = tpc_status(c, id, &sr);
		else if (i == 1)
			error = tpc_cancel(c, id, false, &cr);
		else
			error = tpc_watch(c, id, &wr);
		if (error != TPC_EDAEMON)
			return 30 + i;
		p[i].p_code = tpc_last_error(c, &msg);
		(void)snprintf(p[i].p_msg, sizeof(p[i].p_msg), "%s",
		    msg != NULL ? msg : "");
	}
	return 0;
}

/*
 * Another user's job (theirs) and an id no job has (none): the answers
 * must be ERROR_NO_SUCH_JOB alike, the messages the same but for the id.
 */
static int
probe_compare(struct tpc *c, uint64_t theirs)
{
	struct probe pt[3], pn[3];
	uint64_t none = theirs + 1000000000ull;
	char want_t[64], want_n[64];
	int i, rc;

	if ((rc = probe_id(c, theirs, pt)) != 0 ||
	    (rc = probe_id(c, none, pn)) != 0)
		return rc;
	(void)snprintf(want_t, sizeof(want_t), "no job %" PRIu64, theirs);
	(void)snprintf(want_n, sizeof(want_n), "no job %" PRIu64, none);
	for (i = 0; i < 3; i++) {
		if (pt[i].p_code != TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB ||
		    pn[i].p_code != TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB)
			return 40 + i;
		if (strcmp(pt[i].p_msg, want_t) != 0 ||
		    strcmp(pn[i].p_msg, want_n) != 0)
			return 50 + i;
	}
	return 0;
}

/* After the go: read the id of another user's job and probe it. */
static int
then_probe(struct tpc *c, uint64_t mine, int go_fd, void *arg)
{
	uint64_t theirs;

	(void)mine;
	(void)arg;
	if (read(go_fd, &theirs, sizeof(theirs)) != sizeof(theirs))
		return 60;
	return probe_compare(c, theirs);
}

/* After the go: ask for every user's jobs: ERROR_PERMISSION, saying so. */
static int
then_ask_all(struct tpc *c, uint64_t mine, int go_fd, void *arg)
{
	Tpool__StatusReply *sr;
	const char *msg;

	(void)mine;
	(void)go_fd;
	(void)arg;
	if (tpc_status_all_users(c, &sr) != TPC_EDAEMON)
		return 61;
	if (tpc_last_error(c, &msg) != TPOOL__ERROR_CODE__ERROR_PERMISSION)
		return 62;
	if (msg == NULL || strstr(msg, "root") == NULL)
		return 63;
	return 0;
}

/* Root's job (echo), run to its end; its id. */
static uint64_t
root_job(void)
{
	Tpool__JobInfo *j;
	struct tpc *c;
	uint64_t id;

	c = td_connect(&D);
	j = td_run_job(c, "echo", "old", TPOOL__POOL_KIND__POOL_UNBOUND, -1, -1);
	id = j->job_id;
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	ck_assert_uint_lt(id, ID_MAX);
	return id;
}

/*
 * After a restart: a user's new job has an id above root's old one, and
 * root cancelling its old id hits nothing.
 */
static void
restart_check(uint64_t old, const struct ts_user *u, uint64_t floor,
    bool kept)
{
	Tpool__CancelReply *cr;
	Tpool__StatusReply *sr;
	struct ts_part pa;
	struct tpc *c;

	ts_part_start(&pa, u, D.td_sock, NULL, NULL);
	ck_assert_msg(pa.tp_job > old && pa.tp_job >= floor,
	    "a new run's job %" PRIu64 " is not above %" PRIu64 " (old job) "
	    "and %" PRIu64, pa.tp_job, old, floor);
	ck_assert_uint_lt(pa.tp_job, ID_MAX);
	c = td_connect(&D);
	if (kept) {
		/* The job store kept the old job: the cancel finds it. */
		ck_assert_int_eq(tpc_cancel(c, old, false, &cr), 0);
		ck_assert_int_eq(cr->result,
		    TPOOL__CANCEL_RESULT__CANCEL_ALREADY_FINISHED);
		ck_assert_uint_eq(cr->job->job_id, old);
		tpool__cancel_reply__free_unpacked(cr, NULL);
	} else {
		ck_assert_int_eq(tpc_cancel(c, old, false, &cr), TPC_EDAEMON);
		ck_assert_int_eq(tpc_last_error(c, NULL),
		    TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB);
	}
	/* The user's job was not hit. */
	ck_assert_int_eq(tpc_status(c, pa.tp_job, &sr), 0);
	ck_assert_uint_eq(sr->n_jobs, 1);
	ck_assert_uint_eq(sr->jobs[0]->uid, u->tu_uid);
	ck_assert(!sr->jobs[0]->cancel_requested &&
	    sr->jobs[0]->state != TPOOL__JOB_STATE__JOB_CANCELLED);
	tpool__status_reply__free_unpacked(sr, NULL);
	tpc_free(c);
	ck_assert_int_eq(ts_part_finish(&pa, NULL, 0), 0);
}

START_TEST(test_restart_ids_above_previous_run)
{
	struct ts_user u;
	uint64_t old;

	/* Finding 5: ids came back from 1 after a restart. */
	if (!ts_need_root())
		return;
	ts_user_make(&u);
	td_up(&D, NULL);
	old = root_job();
	td_stop(&D);
	td_start(&D, NULL, NULL);
	restart_check(old, &u, 0, false);
	td_down(&D);
}
END_TEST

static uint64_t
mark_read(const char *path)
{
	unsigned long long v = 0;
	FILE *f;

	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fscanf(f, "%llu", &v), 1);
	(void)fclose(f);
	return v;
}

START_TEST(test_restart_ids_state_dir_clock_set_back)
{
	char state[128], mark[160], arg[160];
	struct ts_user u;
	uint64_t old, far;
	FILE *f;

	/* Finding 5: with a state dir, even a clock set back. */
	if (!ts_need_root())
		return;
	ts_user_make(&u);
	td_init(&D);
	td_add_example_plugins(&D);
	(void)snprintf(state, sizeof(state), "%s/state", D.td_dir);
	(void)snprintf(mark, sizeof(mark), "%s/" MARK_FILE, state);
	(void)snprintf(arg, sizeof(arg), "--state-dir=%s", state);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	td_start(&D, NULL, ARGS(arg));
	old = root_job();
	ck_assert_uint_gt(mark_read(mark), old);
	td_stop(&D);

	/*
	 * As if the clock had been set back: the mark is far above it now.
	 * The next run's ids must start at the mark, not the clock.
	 */
	far = mark_read(mark) + 1000000000000ull;
	f = fopen(mark, "w");
	ck_assert_ptr_nonnull(f);
	(void)fprintf(f, "%" PRIu64 "\n", far);
	ck_assert_int_eq(fclose(f), 0);
	td_start(&D, NULL, ARGS(arg));
	restart_check(old, &u, far, true);
	/* The mark moved on past what this run issued. */
	ck_assert_uint_gt(mark_read(mark), far);
	td_down(&D);
}
END_TEST

START_TEST(test_state_dir_others_may_write_is_refused)
{
	char state[128], arg[160];
	int status;
	pid_t pid;

	/*
	 * Finding 5: a state directory others may write would let them set
	 * the mark (ids near 2^53, or back to an old run's).
	 */
	if (!ts_need_root())
		return;
	td_init(&D);
	td_add_example_plugins(&D);
	(void)snprintf(state, sizeof(state), "%s/state", D.td_dir);
	(void)snprintf(arg, sizeof(arg), "--state-dir=%s", state);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	ck_assert_int_eq(chmod(state, 0777), 0);
	pid = td_spawn(&D, NULL, ARGS(arg), true);
	status = td_wait_exit(pid, td_deadline_ms());
	ck_assert_msg(status != -1 && !(WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0), "tpoold ran with an unsafe state dir");
	ck_assert(td_log_contains(&D, "writable by others"));
	td_cleanup(&D);
}
END_TEST

START_TEST(test_probe_other_users_job_like_missing)
{
	struct ts_user victim, prober;
	struct ts_part pv, pp;

	/* Finding 5: NOT_YOURS against NO_SUCH_JOB counted others' jobs. */
	if (!ts_two_users_up(&D, &victim, &prober, NULL))
		return;
	ts_part_start(&pv, &victim, D.td_sock, NULL, NULL);
	ts_part_start(&pp, &prober, D.td_sock, then_probe, NULL);
	ck_assert_int_eq(ts_part_finish(&pp, &pv.tp_job, sizeof(pv.tp_job)),
	    0);
	ck_assert_int_eq(ts_part_finish(&pv, NULL, 0), 0);
	td_down(&D);
}
END_TEST

/* Does the reply list job id, owned by uid? */
static bool
reply_has(const Tpool__StatusReply *sr, uint64_t id, uid_t uid)
{
	size_t i;

	for (i = 0; i < sr->n_jobs; i++)
		if (sr->jobs[i]->job_id == id)
			return sr->jobs[i]->uid == uid;
	return false;
}

START_TEST(test_root_status_all_sees_every_user)
{
	struct ts_user u1, u2;
	Tpool__StatusReply *sr;
	struct ts_part p1, p2;
	struct tpc *c;
	char cmd[512], out[8192], needle[64];
	size_t n;
	FILE *f;

	/* Finding 5: root's status listed only root's own jobs. */
	if (!ts_two_users_up(&D, &u1, &u2, NULL))
		return;
	ts_part_start(&p1, &u1, D.td_sock, then_ask_all, NULL);
	ts_part_start(&p2, &u2, D.td_sock, NULL, NULL);

	c = td_connect(&D);
	ck_assert_int_eq(tpc_status_all_users(c, &sr), 0);
	ck_assert(reply_has(sr, p1.tp_job, u1.tu_uid));
	ck_assert(reply_has(sr, p2.tp_job, u2.tu_uid));
	tpool__status_reply__free_unpacked(sr, NULL);
	/* Without all, root's list is its own (none). */
	ck_assert_int_eq(tpc_status_all(c, &sr), 0);
	ck_assert(!reply_has(sr, p1.tp_job, u1.tu_uid));
	ck_assert(!reply_has(sr, p2.tp_job, u2.tu_uid));
	tpool__status_reply__free_unpacked(sr, NULL);
	tpc_free(c);

	/* tpctl status --all --json shows both. */
	(void)snprintf(cmd, sizeof(cmd), "%s -s %s status --all --json",
	    td_tpctl_path(), D.td_sock);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	(void)snprintf(needle, sizeof(needle), "\"job_id\":%" PRIu64,
	    p1.tp_job);
	ck_assert_msg(strstr(out, needle) != NULL, "no %s in %s", needle, out);
	(void)snprintf(needle, sizeof(needle), "\"job_id\":%" PRIu64,
	    p2.tp_job);
	ck_assert_msg(strstr(out, needle) != NULL, "no %s in %s", needle, out);

	/* A user asking for all is refused (its part checks). */
	ck_assert_int_eq(ts_part_finish(&p1, NULL, 0), 0);
	ck_assert_int_eq(ts_part_finish(&p2, NULL, 0), 0);
	td_down(&D);
}
END_TEST

/*
 * After the go (root's job id): submit with root's unique key; it must
 * make a job of this user's own, not answer root's.
 */
static int
then_same_key(struct tpc *c, uint64_t mine, int go_fd, void *arg)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__SubmitReply *sr;
	uint64_t theirs;
	int rc;

	(void)mine;
	(void)arg;
	if (read(go_fd, &theirs, sizeof(theirs)) != sizeof(theirs))
		return 64;
	a.tsa_plugin = "echo";
	a.tsa_input = "x";
	a.tsa_input_len = 1;
	a.tsa_unique_key = "shared";
	if (tpc_submit_reply(c, &a, &sr) != 0)
		return 65;
	rc = (sr->has_existing && sr->existing) || sr->job_id == theirs ?
	    66 : 0;
	tpool__submit_reply__free_unpacked(sr, NULL);
	return rc;
}

/* A unique key is the user's own: another user's key finds nothing. */
START_TEST(test_unique_key_is_per_user)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	struct ts_user u;
	struct ts_part pa;
	struct tpc *c;
	uint64_t rid;

	if (!ts_need_root())
		return;
	ts_user_make(&u);
	td_up(&D, NULL);
	c = td_connect(&D);
	a.tsa_plugin = "echo";
	a.tsa_input = "root's";
	a.tsa_input_len = 6;
	a.tsa_delay_ms = 60000;
	a.tsa_unique_key = "shared";
	ck_assert_int_eq(tpc_submit(c, &a, &rid), 0);
	ts_part_start(&pa, &u, D.td_sock, then_same_key, NULL);
	ck_assert_int_eq(ts_part_finish(&pa, &rid, sizeof(rid)), 0);
	tpc_free(c);
	td_down(&D);
}
END_TEST

int
main(void)
{
	const TTest *const tests[] = {
	    test_restart_ids_above_previous_run,
	    test_restart_ids_state_dir_clock_set_back,
	    test_state_dir_others_may_write_is_refused,
	    test_probe_other_users_job_like_missing,
	    test_root_status_all_sees_every_user,
	    test_unique_key_is_per_user,
	    NULL,
	};

	return ts_main("security-ids", tests);
}
