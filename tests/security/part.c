/*
 * part.c -- a throwaway user's part in an attack (see part.h).
 */
#include "config.h"

#include <check.h>
#include <unistd.h>

#include "harness.h"
#include "part.h"

/* As the user: exit 20..23 when its own part fails, else then's code. */
static int
part_run(void *arg)
{
	struct ts_part *p = arg;
	struct tpc *c;
	uint64_t mine = 0;
	char go;
	int rc = 0;

	if (tpc_connect(p->tp_sock, &c) != 0)
		return 20;
	(void)tpc_set_timeout(c, 20000);
	if (tpc_submit(c, TPC_SUBMIT_ARGS("sleep", "30000", 5), &mine) != 0)
		rc = 21;
	else if (write(p->tp_rep[1], &mine, sizeof(mine)) != sizeof(mine))
		rc = 22;
	else if (read(p->tp_go[0], &go, 1) != 1)
		rc = 23;
	else if (p->tp_then != NULL)
		rc = p->tp_then(c, mine, p->tp_go[0], p->tp_arg);
	tpc_free(c);
	return rc;
}

void
ts_part_start(struct ts_part *p, const struct ts_user *u, const char *sock,
    ts_part_fn *then, void *arg)
{
	p->tp_sock = sock;
	p->tp_then = then;
	p->tp_arg = arg;
	p->tp_job = 0;
	ck_assert_int_eq(pipe(p->tp_rep), 0);
	ck_assert_int_eq(pipe(p->tp_go), 0);
	p->tp_pid = ts_as_user_start(u, part_run, p);
	ck_assert_int_eq(read(p->tp_rep[0], &p->tp_job, sizeof(p->tp_job)),
	    sizeof(p->tp_job));
	ck_assert_uint_ne(p->tp_job, 0);
}

int
ts_part_finish(struct ts_part *p, const void *more, size_t len)
{
	int rc;

	ck_assert_int_eq(write(p->tp_go[1], "g", 1), 1);
	if (len > 0)
		ck_assert_int_eq(write(p->tp_go[1], more, len), (ssize_t)len);
	rc = ts_wait_child(p->tp_pid);
	(void)close(p->tp_rep[0]);
	(void)close(p->tp_rep[1]);
	(void)close(p->tp_go[0]);
	(void)close(p->tp_go[1]);
	return rc;
}

bool
ts_two_users_up(struct td_daemon *d, struct ts_user *a, struct ts_user *b,
    const char *const *args)
{
	if (!ts_need_root())
		return false;
	ts_user_make(a);
	ts_user_make(b);
	td_up(d, args);
	return true;
}

int
ts_main(const char *name, const TTest *const *tests)
{
	Suite *s = suite_create(name);
	TCase *tc;

	ts_users_sweep();
	tc = tcase_create(name);
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	for (; *tests != NULL; tests++)
		tcase_add_test(tc, *tests);
	suite_add_tcase(s, tc);
	return td_main(s);
}

int
ts_run_job(struct tpc *c, const struct tpc_submit_args *a, size_t *ret_len)
{
	Tpool__JobInfo *fin;
	uint64_t id;
	int rc = 0;

	if (tpc_submit(c, a, &id) != 0)
		return 1;
	if (tpc_wait_job(c, id, &fin, NULL, NULL) != 0)
		return 2;
	if (fin->state != TPOOL__JOB_STATE__JOB_SUCCEEDED)
		rc = 3;
	if (ret_len != NULL)
		*ret_len = fin->result.len;
	tpool__job_info__free_unpacked(fin, NULL);
	return rc;
}
