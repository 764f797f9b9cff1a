/*
 * users.c -- throwaway accounts for the security suite (see users.h).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "users.h"

#define	TS_PREFIX	"tpsec-"
#define	TS_MAX_USERS	16

/* The accounts this process made, removed at its exit. */
static char	ts_made[TS_MAX_USERS][32];
static unsigned int ts_nmade;
static pid_t	ts_maker;	/* the process that made them */

bool
ts_need_root(void)
{
	if (geteuid() == 0)
		return true;
	(void)fprintf(stderr, "skipped: needs root to make throwaway users\n");
	return false;
}

/*
 * Run argv (useradd or userdel); its exit status, or -1.  Both take the
 * lock of /etc/passwd and fail when another holds it (tests may run in
 * parallel), so a lock failure (exit 1 for userdel... 10 for useradd's
 * "cannot lock") is retried for a while.
 */
static int
ts_run(char *const argv[])
{
	int status, tries;
	pid_t pid;

	for (tries = 0; tries < 50; tries++) {
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			(void)freopen("/dev/null", "w", stdout);
			execv(argv[0], argv);
			_exit(127);
		}
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				return -1;
		if (!WIFEXITED(status))
			return -1;
		/* useradd: 10 cannot lock / update the group file;
		 * userdel: 10 likewise; 1 cannot update the password file. */
		if (WEXITSTATUS(status) != 10 && WEXITSTATUS(status) != 1)
			return WEXITSTATUS(status);
		(void)usleep(100 * 1000);
	}
	return WEXITSTATUS(status);
}

static void
ts_userdel(const char *name)
{
	char *argv[] = { "/usr/sbin/userdel", (char *)name, NULL };

	(void)ts_run(argv);
}

static void
ts_remove_made(void)
{
	unsigned int i;

	if (getpid() != ts_maker)
		return;		/* a child of the test: not its accounts */
	for (i = 0; i < ts_nmade; i++)
		ts_userdel(ts_made[i]);
	ts_nmade = 0;
}

void
ts_users_sweep(void)
{
	char names[64][32];
	struct passwd *pw;
	unsigned int n = 0, i;

	if (geteuid() != 0)
		return;
	setpwent();
	while ((pw = getpwent()) != NULL && n < 64) {
		long pid;

		if (strncmp(pw->pw_name, TS_PREFIX, strlen(TS_PREFIX)) != 0)
			continue;
		/* Its maker still runs (tests run in parallel): not left. */
		pid = strtol(pw->pw_name + strlen(TS_PREFIX), NULL, 10);
		if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
			continue;
		(void)snprintf(names[n++], sizeof(names[0]), "%s",
		    pw->pw_name);
	}
	endpwent();
	for (i = 0; i < n; i++)
		ts_userdel(names[i]);
}

void
ts_user_make(struct ts_user *u)
{
	static unsigned int seq;
	struct passwd *pw;
	int rc;

	ck_assert_uint_lt(ts_nmade, TS_MAX_USERS);
	if (ts_nmade == 0 || ts_maker != getpid()) {
		ts_nmade = 0;
		ts_maker = getpid();
		(void)atexit(ts_remove_made);
	}
	(void)snprintf(u->tu_name, sizeof(u->tu_name), TS_PREFIX "%ld-%u",
	    (long)getpid(), seq++);
	{
		char *argv[] = { "/usr/sbin/useradd", "--system", "--user-group",
		    "--no-create-home", "--home-dir", "/nonexistent",
		    "--shell", "/usr/sbin/nologin", u->tu_name, NULL };

		rc = ts_run(argv);
	}
	ck_assert_msg(rc == 0, "useradd %s: exit %d", u->tu_name, rc);
	(void)snprintf(ts_made[ts_nmade++], sizeof(ts_made[0]), "%s", u->tu_name);
	pw = getpwnam(u->tu_name);
	ck_assert_msg(pw != NULL, "useradd made no %s", u->tu_name);
	u->tu_uid = pw->pw_uid;
	u->tu_gid = pw->pw_gid;
	u->tu_no_groups = false;
	ck_assert_uint_ne(u->tu_uid, 0);
}

pid_t
ts_as_user_start(const struct ts_user *u, int (*fn)(void *), void *arg)
{
	gid_t groups[64];
	int ngroups = 64;
	pid_t pid;

	/* Looked up before the fork: the child only sets them. */
	if (u->tu_no_groups)
		ngroups = 0;
	else
		ck_assert_msg(getgrouplist(u->tu_name, u->tu_gid, groups,
		    &ngroups) >= 0, "%s has over 64 groups", u->tu_name);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups((size_t)ngroups, groups) != 0 ||
		    setgid(u->tu_gid) != 0 || setuid(u->tu_uid) != 0)
			_exit(120);
		_exit(fn(arg));
	}
	return pid;
}

int
ts_wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	ck_assert_msg(WIFEXITED(status), "the attacker died of signal %d",
	    WTERMSIG(status));
	return WEXITSTATUS(status);
}

int
ts_as_user(const struct ts_user *u, int (*fn)(void *), void *arg)
{
	return ts_wait_child(ts_as_user_start(u, fn, arg));
}
