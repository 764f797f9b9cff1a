/*
 * part.h -- a throwaway user's part in an attack: as that user, connect
 * to the daemon, submit a long job (sleep 30 s), report its id to the
 * test, wait for the test's go, then run the test's next step as that
 * user and exit with its verdict.  The test meanwhile knows the job's id
 * and can act on it (restart the daemon, probe it as another user, list
 * it as root).
 */
#ifndef TP_TESTS_SECURITY_PART_H
#define TP_TESTS_SECURITY_PART_H

#include <sys/types.h>

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpclient.h"
#include "users.h"

/*
 * The next step, as the user, after the go: c is its connection, mine its
 * job, go_fd the pipe the test may send more on (what it passed to
 * ts_part_finish()).  Returns 0 when all held, else a code of its own
 * (not 20..29, which ts_part uses).  NULL: nothing more.
 */
typedef int ts_part_fn(struct tpc *c, uint64_t mine, int go_fd, void *arg);

struct ts_part {
	const char	*tp_sock;	/* the daemon's socket */
	ts_part_fn	*tp_then;
	void		*tp_arg;
	int		tp_rep[2];	/* user -> test: the job id */
	int		tp_go[2];	/* test -> user: go, then more */
	pid_t		tp_pid;
	uint64_t	tp_job;		/* the user's job, once started */
};

/*
 * Start u's part against the daemon at sock (borrowed until the end) and
 * wait until its job is submitted (tp_job).  Fails the test if it is not.
 */
void	ts_part_start(struct ts_part *p, const struct ts_user *u,
	    const char *sock, ts_part_fn *then, void *arg);
/*
 * Give the go, and then len bytes of more (may be 0), wait for the part's
 * end, and return its exit status (0: every check held).
 */
int	ts_part_finish(struct ts_part *p, const void *more, size_t len);

struct td_daemon;

/*
 * The usual opening of an attack: root or "skipped" (false: return), two
 * new throwaway users, and the daemon up (td_up(d, args)).
 */
bool	ts_two_users_up(struct td_daemon *d, struct ts_user *a,
	    struct ts_user *b, const char *const *args);

/*
 * A security runner's main: sweep accounts a killed run left, then run
 * tests (NULL-terminated) as one case of suite name, with the daemon
 * tests' timeout, honouring CK_FORK (td_main()).
 */
int	ts_main(const char *name, const TTest *const *tests);
/*
 * For a child (no Check asserts): submit a on c and wait for its end.  0
 * when it succeeded (*ret_len, may be NULL: its result's length), 1 when
 * the submit failed, 2 when the wait did, 3 when it ended otherwise.
 */
int	ts_run_job(struct tpc *c, const struct tpc_submit_args *a,
	    size_t *ret_len);

#endif /* TP_TESTS_SECURITY_PART_H */
