/*
 * attack_identity.c -- finding 1 of the shared-service issue: users must
 * stay distinct.  tpoold tells users apart by the uid SO_PEERCRED gives;
 * in a user namespace that does not map them (systemd's PrivateUsers=,
 * unshare --user) every other user reads as the overflow uid, so all
 * would share one job list and one quota.  tpoold must notice at start
 * and refuse those peers; outside a namespace every user is served and
 * sees only its own jobs.
 */
#include "config.h"

#include <sys/types.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "part.h"
#include "users.h"

static struct td_daemon D;

/* What a refused peer must hear: the code, and a message that says why. */
#define	FOLD_WORDS	"user namespace"

/*
 * As a user the namespace folds: connecting and saying Hello must give
 * ERROR_PERMISSION naming the user namespace.  0: refused as expected;
 * 10 + n: something else happened.
 */
static int
folded_user_refused(void *arg)
{
	const char *msg = NULL;
	struct tpc *c;
	int error, rc = 0;

	(void)arg;
	if (tpc_open(D.td_sock, &c) != 0)
		return 10;
	error = tpc_hello(c, "attack-identity", NULL);
	if (error != TPC_EDAEMON)
		rc = 11;
	else if (tpc_last_error(c, &msg) != TPOOL__ERROR_CODE__ERROR_PERMISSION)
		rc = 12;
	else if (msg == NULL || strstr(msg, FOLD_WORDS) == NULL)
		rc = 13;
	tpc_free(c);
	return rc;
}

START_TEST(test_userns_refuses_folded_users)
{
	static const char *const prefix[] = { "unshare", "--user",
	    "--map-root-user", NULL };
	struct ts_user u1, u2;
	Tpool__JobInfo *j;
	struct tpc *c;

	/* Finding 1: a namespace that folds users into one uid. */
	if (!ts_need_root())
		return;
	if (access("/usr/bin/unshare", X_OK) != 0) {
		(void)fprintf(stderr, "skipped: no unshare(1)\n");
		return;
	}
	ts_user_make(&u1);
	ts_user_make(&u2);
	td_init(&D);
	td_add_example_plugins(&D);
	td_start(&D, prefix, NULL);
	ck_assert_msg(td_log_contains(&D, FOLD_WORDS),
	    "no warning at start about the user namespace");

	/* Each user the namespace does not map is refused ... */
	ck_assert_int_eq(ts_as_user(&u1, folded_user_refused, NULL), 0);
	ck_assert_int_eq(ts_as_user(&u2, folded_user_refused, NULL), 0);

	/* ... while root, which it maps, is served. */
	c = td_connect(&D);
	j = td_run_job(c, "echo", "mapped", TPOOL__POOL_KIND__POOL_UNBOUND,
	    -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_eq(j->uid, 0);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * As a user outside a namespace, after both users have submitted: its
 * list holds exactly its own job, owned by its uid.  0, or 30.
 */
static int
user_sees_own(struct tpc *c, uint64_t mine, int go_fd, void *arg)
{
	Tpool__StatusReply *sr;
	int rc = 0;

	(void)go_fd;
	(void)arg;
	if (tpc_status_all(c, &sr) != 0)
		return 30;
	if (sr->n_jobs != 1 || sr->jobs[0]->job_id != mine ||
	    sr->jobs[0]->uid != getuid())
		rc = 31;
	tpool__status_reply__free_unpacked(sr, NULL);
	return rc;
}

START_TEST(test_no_namespace_users_served_apart)
{
	struct ts_user u1, u2;
	struct ts_part p1, p2;

	/* Finding 1, the other side: no namespace, users stay distinct. */
	if (!ts_two_users_up(&D, &u1, &u2, NULL))
		return;
	ck_assert_msg(!td_log_contains(&D, FOLD_WORDS),
	    "a warning about a user namespace outside one");
	ts_part_start(&p1, &u1, D.td_sock, user_sees_own, NULL);
	ts_part_start(&p2, &u2, D.td_sock, user_sees_own, NULL);
	ck_assert(p1.tp_job != p2.tp_job);
	/* Both have submitted: now each lists its jobs. */
	ck_assert_int_eq(ts_part_finish(&p1, NULL, 0), 0);
	ck_assert_int_eq(ts_part_finish(&p2, NULL, 0), 0);
	td_down(&D);
}
END_TEST

int
main(void)
{
	const TTest *const tests[] = {
	    test_userns_refuses_folded_users,
	    test_no_namespace_users_served_apart,
	    NULL,
	};

	return ts_main("security-identity", tests);
}
