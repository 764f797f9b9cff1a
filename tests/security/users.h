/*
 * users.h -- throwaway users for the security suite.
 *
 * The security suite plays local users attacking a tpoold that runs as
 * root.  Each attacker is a real account, made for the test with
 * useradd(8) (a system account with its own group, no home, no shell) and
 * removed with userdel(8) when the test's process exits; accounts left by
 * a run that was killed (their names start with "tpsec-") are removed by
 * the next run's ts_users_sweep().  Everything here needs root: without
 * it, ts_need_root() says "skipped" and the test returns.
 */
#ifndef TP_TESTS_SECURITY_USERS_H
#define TP_TESTS_SECURITY_USERS_H

#include <sys/types.h>

#include <stdbool.h>

struct ts_user {
	uid_t	tu_uid;
	gid_t	tu_gid;		/* the account's own group */
	bool	tu_no_groups;	/* its processes drop their supplementary
				 * groups (default: those of the account,
				 * as a login gives them) */
	char	tu_name[32];	/* tpsec-PID-N */
};

/* Root?  If not, print "skipped: ..." and return false. */
bool	ts_need_root(void);
/* Remove every tpsec-PID-N account whose process PID is gone (left by a
 * killed run; the accounts of tests running meanwhile are kept). */
void	ts_users_sweep(void);
/*
 * Make a new throwaway account; fails the test if useradd fails.  It is
 * removed at exit of the process that made it (and by ts_users_sweep()).
 */
void	ts_user_make(struct ts_user *u);
/*
 * Run fn(arg) in a child that has become u (its account's groups, as
 * initgroups(3) gives them; none with tu_no_groups);
 * the child's exit status.  fn must not use Check's asserts: it returns a
 * code (0: all went as expected) that the test checks.
 */
int	ts_as_user(const struct ts_user *u, int (*fn)(void *), void *arg);
/* Start fn(arg) as u in a child and return its pid (collect with
 * ts_wait_child()). */
pid_t	ts_as_user_start(const struct ts_user *u, int (*fn)(void *), void *arg);
/* Wait for a child of ts_as_user_start(); its exit status (fails the test
 * if it was killed by a signal). */
int	ts_wait_child(pid_t pid);

#endif /* TP_TESTS_SECURITY_USERS_H */
