/*
 * attack_requests.c -- what a request may ask for: findings 2 and 5 of the
 * shared-service issue, played by throwaway users against a tpoold run as
 * root.
 *
 * Finding 2 (priorities): a user may ask only for what its own uid could
 * give itself, the default or nice 0 and weaker, unless --grant-priority
 * grants it more by user or by group.  A refusal is ERROR_PERMISSION,
 * saying the highest the caller may have and that the configuration can
 * grant more; a refused priority makes no pool and starts no thread,
 * which the cases check in the daemon's Stats and in
 * /proc/PID/task/TID/stat.  A granted one runs where asked: the probe
 * plugin (tests/daemon/probe.c) reports its worker's nice and policy.
 *
 * Finding 5 (request checks): a Hello version over 32 bits is seen whole
 * and refused (not cut to 1); a job name is UTF-8 text without control
 * characters, refused with the offset of the bad byte; a plugin or client
 * name with control bytes reaches neither a reply nor the log raw.
 *
 * Each attack runs in a child that has become the user (users.h): it
 * returns 0 when the daemon answered as it must, else a code saying what
 * differed.  Without root every case says "skipped".
 */
#include "config.h"

#include <dirent.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "users.h"

#define	UNBOUND	TPOOL__POOL_KIND__POOL_UNBOUND
#define	PERCPU	TPOOL__POOL_KIND__POOL_PERCPU
#define	OK	TPOOL__ERROR_CODE__ERROR_UNSPECIFIED
#define	PERM	TPOOL__ERROR_CODE__ERROR_PERMISSION
#define	BAD	TPOOL__ERROR_CODE__ERROR_BAD_REQUEST
#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })

/* What a child returns (0: as expected). */
enum {
	AT_CONNECT = 1,		/* cannot connect */
	AT_ANSWER,		/* accepted when refused, or another code */
	AT_MESSAGE,		/* the error message lacks what it must say */
	AT_WAIT,		/* no final state */
	AT_FAILED,		/* the job did not succeed */
	AT_SCHED,		/* the probe ran at other settings */
	AT_STATUS,		/* the job's status differs */
	AT_STILL_OPEN,		/* the connection survived a bad Hello */
};

static struct td_daemon D;

/* One submit by a user, and what must come of it. */
struct attempt {
	const char	*at_plugin;	/* NULL: "probe" */
	const char	*at_input;	/* NULL: "sched" */
	const char	*at_name;	/* the job's name (NULL: none) */
	Tpool__PoolKind	at_pool;
	int		at_pri;
	int		at_cpu;
	Tpool__ErrorCode at_code;	/* OK: accepted */
	const char	*at_msg;	/* in the error message (or NULL) */
	const char	*at_msg2;	/* and this too (or NULL) */
	bool		at_sched;	/* check the probe's nice and policy */
	int		at_nice;
	int		at_policy;
	int		at_rtprio;
};

/* The probe's "sched" result: nice, policy, rtprio as expected? */
static bool
attempt_sched_ok(const struct attempt *at, const Tpool__JobInfo *j)
{
	int cpu, nice, policy, rtprio;
	char buf[128];

	if (!j->has_result || j->result.len >= sizeof(buf))
		return false;
	memcpy(buf, j->result.data, j->result.len);
	buf[j->result.len] = '\0';
	if (sscanf(buf, "cpu=%d nice=%d policy=%d rtprio=%d", &cpu, &nice,
	    &policy, &rtprio) != 4) {
		(void)fprintf(stderr, "probe said '%s'\n", buf);
		return false;
	}
	if (nice != at->at_nice || policy != at->at_policy ||
	    rtprio != at->at_rtprio) {
		(void)fprintf(stderr, "priority %d ran at '%s'\n", at->at_pri,
		    buf);
		return false;
	}
	return true;
}

/* The child: submit as the user, check the answer.  0 or an AT_ code. */
static int
attempt_run(void *arg)
{
	const struct attempt *at = arg;
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__JobInfo *final = NULL;
	Tpool__StatusReply *sr;
	const char *msg = "";
	struct tpc *c;
	uint64_t id;
	int rc, ret = 0;

	if (tpc_connect(D.td_sock, &c) != 0)
		return AT_CONNECT;
	a.tsa_plugin = at->at_plugin != NULL ? at->at_plugin : "probe";
	a.tsa_input = at->at_input != NULL ? at->at_input : "sched";
	a.tsa_input_len = strlen(a.tsa_input);
	a.tsa_name = at->at_name;
	a.tsa_pool = at->at_pool;
	a.tsa_priority = at->at_pri;
	a.tsa_cpu = at->at_cpu;
	rc = tpc_submit(c, &a, &id);
	if (rc == TPC_EDAEMON)
		(void)tpc_last_error(c, &msg);
	if (at->at_code != OK) {
		if (rc != TPC_EDAEMON || tpc_last_error(c, NULL) != at->at_code) {
			(void)fprintf(stderr, "priority %d: rc %d, '%s'\n",
			    at->at_pri, rc, msg);
			ret = AT_ANSWER;
		} else if ((at->at_msg != NULL &&
		    strstr(msg, at->at_msg) == NULL) ||
		    (at->at_msg2 != NULL && strstr(msg, at->at_msg2) == NULL)) {
			(void)fprintf(stderr, "message: '%s'\n", msg);
			ret = AT_MESSAGE;
		}
		tpc_free(c);
		return ret;
	}
	if (rc != 0) {
		(void)fprintf(stderr, "refused: rc %d, '%s'\n", rc, msg);
		tpc_free(c);
		return AT_ANSWER;
	}
	if (tpc_wait_job(c, id, &final, NULL, NULL) != 0)
		ret = AT_WAIT;
	else if (final->state != TPOOL__JOB_STATE__JOB_SUCCEEDED)
		ret = AT_FAILED;
	else if (at->at_sched && !attempt_sched_ok(at, final))
		ret = AT_SCHED;
	else if (at->at_name != NULL) {
		if (tpc_status(c, id, &sr) != 0)
			ret = AT_STATUS;
		else {
			if (sr->n_jobs != 1 || sr->jobs[0]->name == NULL ||
			    strcmp(sr->jobs[0]->name, at->at_name) != 0)
				ret = AT_STATUS;
			tpool__status_reply__free_unpacked(sr, NULL);
		}
	}
	if (final != NULL)
		tpool__job_info__free_unpacked(final, NULL);
	tpc_free(c);
	return ret;
}

/* u submits as at says; fails the test, naming why, if it goes otherwise. */
static void
attempt(const struct ts_user *u, const struct attempt *at, const char *what)
{
	int rc;

	rc = ts_as_user(u, attempt_run, (void *)at);
	ck_assert_msg(rc == 0, "%s (uid %u, priority %d, %s pool, cpu %d): "
	    "child code %d", what, (unsigned int)u->tu_uid, at->at_pri,
	    at->at_pool == PERCPU ? "per-CPU" : "unbound", at->at_cpu, rc);
}

/*
 * u asks for each of pris[0..n) on the unbound pool, a per-CPU pool of
 * any CPU and that of CPU 0; at (its priority, pool and CPU are set here)
 * says what must come of it.
 */
static void
attempt_every_pool(const struct ts_user *u, struct attempt *at,
    const int *pris, size_t n, const char *what)
{
	char buf[96];
	size_t i;

	for (i = 0; i < n; i++) {
		at->at_pri = pris[i];
		at->at_pool = UNBOUND;
		at->at_cpu = -1;
		(void)snprintf(buf, sizeof(buf), "%s, unbound", what);
		attempt(u, at, buf);
		at->at_pool = PERCPU;
		(void)snprintf(buf, sizeof(buf), "%s, per-CPU, any CPU", what);
		attempt(u, at, buf);
		at->at_cpu = 0;
		(void)snprintf(buf, sizeof(buf), "%s, per-CPU, CPU 0", what);
		attempt(u, at, buf);
	}
}

/*
 * How many of the daemon's threads run above the default: nice below 0
 * or a policy other than SCHED_OTHER (/proc/PID/task/TID/stat).
 */
static unsigned int
daemon_raised_threads(pid_t pid)
{
	char path[300], buf[1024], *p;
	struct dirent *de;
	unsigned int n = 0, seen = 0;
	long nice, policy;
	FILE *f;
	DIR *dir;
	int i;

	(void)snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	ck_assert_ptr_nonnull(dir = opendir(path));
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%d/task/%s/stat",
		    (int)pid, de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;	/* the thread exited */
		p = fgets(buf, sizeof(buf), f);
		(void)fclose(f);
		if (p == NULL || (p = strrchr(buf, ')')) == NULL)
			continue;
		/* Field 3 follows ')'; nice is field 19, policy field 41. */
		nice = policy = 0;
		for (i = 3, p += 2; *p != '\0' && i <= 41; i++) {
			if (i == 19)
				nice = strtol(p, NULL, 10);
			if (i == 41)
				policy = strtol(p, NULL, 10);
			if ((p = strchr(p, ' ')) == NULL)
				break;
			p++;
		}
		seen++;
		if (nice < 0 || policy != 0)
			n++;
	}
	(void)closedir(dir);
	ck_assert_uint_gt(seen, 0);
	return n;
}

/* Does the daemon have a pool of a priority above TP_PRI_NONE's 19? */
static bool
daemon_has_raised_pool(void)
{
	Tpool__StatsReply *st;
	struct tpc *c = td_connect(&D);
	bool raised = false;
	size_t i;

	ck_assert_int_eq(tpc_stats(c, &st), 0);
	for (i = 0; i < st->n_pools; i++)
		if (st->pools[i]->priority > 19)
			raised = true;
	tpool__stats_reply__free_unpacked(st, NULL);
	tpc_free(c);
	return raised;
}

/* Fail the test if the daemon's log holds any of raw (NULL-ended). */
static void
log_lacks(const char *const *raw)
{
	char *log = td_log_read(&D);
	size_t i;

	for (i = 0; raw[i] != NULL; i++)
		ck_assert_msg(strstr(log, raw[i]) == NULL,
		    "the log holds raw bytes of a name (string %zu)", i);
	free(log);
}

/*
 * The daemon with the example plugins, the probe, a config file holding
 * conf (NULL: none) and args (NULL-ended, at most 6; may be NULL).
 */
static void
daemon_up(const char *conf, const char *const *args)
{
	const char *argv[9];
	char path[128];
	size_t n = 0;
	FILE *f;

	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	if (conf != NULL) {
		(void)snprintf(path, sizeof(path), "%s/tpoold.conf", D.td_dir);
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		ck_assert_int_ge(fputs(conf, f), 0);
		ck_assert_int_eq(fclose(f), 0);
		argv[n++] = "-c";
		argv[n++] = path;
	}
	for (; args != NULL && *args != NULL; args++) {
		ck_assert_uint_lt(n, 8);
		argv[n++] = *args;
	}
	argv[n] = NULL;
	td_start(&D, NULL, argv);
}

/* ------------------------------------------------------------ finding 2 */

/*
 * Can a granted priority run here at all (the daemon, as root, may raise
 * nice and use real time)?  If not, say "skipped".
 */
static bool
need_raise(void)
{
	bool nice_ok, rt_ok;

	td_may_raise(&nice_ok, &rt_ok);
	if (nice_ok && rt_ok)
		return true;
	(void)fprintf(stderr, "skipped: no process here may raise a "
	    "priority (nice < 0, real time)\n");
	return false;
}

START_TEST(test_user_asking_stronger_nice_is_refused)
{
	/* Finding 2: nice -1 and -20 on every kind of pool. */
	static const int pris[] = { 20, 30, 39 };
	struct attempt at = { .at_code = PERM, .at_cpu = -1,
	    .at_msg = "the highest it may ask for is 19 (nice 0)",
	    .at_msg2 = "--grant-priority" };
	struct ts_user u;

	if (!ts_need_root())
		return;
	ts_user_make(&u);
	daemon_up(NULL, NULL);
	attempt_every_pool(&u, &at, pris, sizeof(pris) / sizeof(pris[0]),
	    "stronger nice");
	ck_assert_msg(!daemon_has_raised_pool(),
	    "a refused priority made a pool");
	ck_assert_uint_eq(daemon_raised_threads(D.td_pid), 0);
	/* What any user may have still runs, where it says. */
	at = (struct attempt){ .at_pool = UNBOUND, .at_pri = 19, .at_cpu = -1,
	    .at_sched = true, .at_nice = 0, .at_policy = 0 };
	attempt(&u, &at, "nice 0");
	at = (struct attempt){ .at_pool = PERCPU, .at_pri = 0, .at_cpu = -1,
	    .at_sched = true, .at_nice = 19, .at_policy = 0 };
	attempt(&u, &at, "nice 19");
	ck_assert_uint_eq(daemon_raised_threads(D.td_pid), 0);
	td_down(&D);
}
END_TEST

START_TEST(test_user_asking_realtime_is_refused)
{
	/* Finding 2: SCHED_FIFO 1 and 99 on every kind of pool. */
	static const int pris[] = { 40, 100, 138 };
	struct attempt at = { .at_code = PERM,
	    .at_msg = "is not permitted to uid",
	    .at_msg2 = "the daemon's configuration can grant more" };
	struct ts_user u, other;
	char grant[64];

	if (!ts_need_root())
		return;
	ts_user_make(&u);
	ts_user_make(&other);
	/* A grant to someone else is no grant to u. */
	(void)snprintf(grant, sizeof(grant), "--grant-priority=%s:138",
	    other.tu_name);
	daemon_up(NULL, ARGS(grant));
	attempt_every_pool(&u, &at, pris, sizeof(pris) / sizeof(pris[0]),
	    "real time");
	ck_assert_msg(!daemon_has_raised_pool(),
	    "a refused priority made a pool");
	ck_assert_uint_eq(daemon_raised_threads(D.td_pid), 0);
	td_down(&D);
}
END_TEST

START_TEST(test_user_granted_by_name_and_uid_gets_it)
{
	/* Finding 2: --grant-priority USER:MAXPRI, by name and by uid. */
	struct attempt at;
	struct ts_user byname, byuid;
	char g1[80], g2[80];

	if (!ts_need_root() || !need_raise())
		return;
	ts_user_make(&byname);
	ts_user_make(&byuid);
	/* One from the config file, one from the command line: both apply. */
	(void)snprintf(g1, sizeof(g1), "grant-priority = %s:30\n",
	    byname.tu_name);
	(void)snprintf(g2, sizeof(g2), "--grant-priority=%u:41",
	    (unsigned int)byuid.tu_uid);
	daemon_up(g1, ARGS(g2));
	(void)snprintf(g2, sizeof(g2), "user %u may ask for job priorities "
	    "up to 41 (SCHED_FIFO 2)", (unsigned int)byuid.tu_uid);
	ck_assert(td_log_contains(&D, g2));
	/* Up to the grant, on both kinds of pool, where it asked ... */
	at = (struct attempt){ .at_pool = UNBOUND, .at_pri = 30,
	    .at_cpu = -1, .at_sched = true, .at_nice = -11, .at_policy = 0 };
	attempt(&byname, &at, "granted nice -11, unbound");
	at.at_pool = PERCPU;
	attempt(&byname, &at, "granted nice -11, per-CPU");
	at = (struct attempt){ .at_pool = PERCPU, .at_pri = 41, .at_cpu = 0,
	    .at_sched = true, .at_nice = 0, .at_policy = 1, .at_rtprio = 2 };
	attempt(&byuid, &at, "granted SCHED_FIFO 2, per-CPU");
	/* ... and not one step over it. */
	at = (struct attempt){ .at_pool = UNBOUND, .at_pri = 31,
	    .at_cpu = -1, .at_code = PERM,
	    .at_msg = "the highest it may ask for is 30 (nice -11)" };
	attempt(&byname, &at, "one over the grant");
	at = (struct attempt){ .at_pool = UNBOUND, .at_pri = 42,
	    .at_cpu = -1, .at_code = PERM,
	    .at_msg = "the highest it may ask for is 41 (SCHED_FIFO 2)" };
	attempt(&byuid, &at, "one over the real-time grant");
	td_down(&D);
}
END_TEST

/* Add u to group (usermod -a -G); fails the test if it cannot. */
static void
join_group(const struct ts_user *u, const char *group)
{
	char cmd[160];

	(void)snprintf(cmd, sizeof(cmd),
	    "/usr/sbin/usermod -a -G '%s' '%s' >/dev/null 2>&1", group,
	    u->tu_name);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

START_TEST(test_user_granted_through_group_gets_it)
{
	/*
	 * Finding 2: --grant-priority @GROUP:MAXPRI, for a member whose
	 * primary group it is (the peer's gid) and for one whose process has
	 * it as a supplementary group (SO_PEERGROUPS); not for a member
	 * whose process dropped it, nor for an outsider.
	 */
	struct ts_user owner, member, dropped, outsider;
	struct attempt at;
	char gname[64], grant[96];
	struct group *gr;

	if (!ts_need_root() || !need_raise())
		return;
	/* member first: removed first, it leaves owner's group empty. */
	ts_user_make(&member);
	ts_user_make(&owner);
	ts_user_make(&outsider);
	ck_assert_ptr_nonnull(gr = getgrgid(owner.tu_gid));
	(void)snprintf(gname, sizeof(gname), "%s", gr->gr_name);
	join_group(&member, gname);
	(void)snprintf(grant, sizeof(grant), "--grant-priority=@%s:45",
	    gname);
	daemon_up(NULL, ARGS(grant));
	at = (struct attempt){ .at_pool = UNBOUND, .at_pri = 45,
	    .at_cpu = -1, .at_sched = true, .at_nice = 0, .at_policy = 1,
	    .at_rtprio = 6 };
	attempt(&owner, &at, "group grant through the primary gid");
	at.at_pool = PERCPU;
	attempt(&member, &at, "group grant through a supplementary group");
	at = (struct attempt){ .at_pool = PERCPU, .at_pri = 45, .at_cpu = -1,
	    .at_code = PERM,
	    .at_msg = "the highest it may ask for is 19 (nice 0)" };
	attempt(&outsider, &at, "not a member");
	dropped = member;
	dropped.tu_no_groups = true;
	attempt(&dropped, &at, "a member whose process dropped the group");
	td_down(&D);
}
END_TEST

/* ------------------------------------------------------------ finding 5 */

struct hello_attack {
	uint64_t	ha_version;
	char		ha_text[24];	/* the number as the message gives it */
};

/* Hello of ha_version: ERROR_VERSION naming it, then closed. */
static int
hello_run(void *arg)
{
	const struct hello_attack *ha = arg;
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Hello h = TPOOL__HELLO__INIT;
	Tpool__Response *resp = NULL;
	Tpool__StatsReply *st;
	const char *msg = "";
	struct tpc *c;
	int rc, ret = 0;

	if (tpc_open(D.td_sock, &c) != 0)
		return AT_CONNECT;
	h.has_version = true;
	h.version = ha->ha_version;
	req.body_case = TPOOL__REQUEST__BODY_HELLO;
	req.hello = &h;
	rc = tpc_request(c, &req, &resp);
	if (rc != TPC_EDAEMON || resp == NULL ||
	    resp->body_case != TPOOL__RESPONSE__BODY_ERROR ||
	    resp->error->code != TPOOL__ERROR_CODE__ERROR_VERSION)
		ret = AT_ANSWER;
	else if ((msg = resp->error->message) == NULL ||
	    strstr(msg, ha->ha_text) == NULL) {
		(void)fprintf(stderr, "message: '%s'\n", msg ? msg : "");
		ret = AT_MESSAGE;
	} else if (tpc_stats(c, &st) == 0) {
		tpool__stats_reply__free_unpacked(st, NULL);
		ret = AT_STILL_OPEN;
	}
	if (resp != NULL)
		tpool__response__free_unpacked(resp, NULL);
	tpc_free(c);
	return ret;
}

START_TEST(test_hello_version_over_32_bits_is_refused)
{
	/* Finding 5a: 2^32 + 1 was read as 1 (the low 32 bits). */
	static const uint64_t versions[] = { (1ull << 32) + 1, 1ull << 32,
	    UINT64_MAX };
	struct hello_attack ha;
	struct ts_user u;
	size_t i;
	int rc;

	if (!ts_need_root())
		return;
	ts_user_make(&u);
	daemon_up(NULL, NULL);
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		ha.ha_version = versions[i];
		(void)snprintf(ha.ha_text, sizeof(ha.ha_text), "%llu",
		    (unsigned long long)versions[i]);
		rc = ts_as_user(&u, hello_run, &ha);
		ck_assert_msg(rc == 0, "Hello version %s: child code %d",
		    ha.ha_text, rc);
	}
	td_down(&D);
}
END_TEST

START_TEST(test_job_names_not_text_are_refused)
{
	/* Finding 5b: control characters, DEL, bad and overlong UTF-8. */
	static const struct {
		const char	*name;
		const char	*off;
	} bad[] = {
		{ "job\x01", "byte offset 3" },
		{ "a\nb", "byte offset 1" },
		{ "red\x1b[31m", "byte offset 3" },
		{ "del\x7f", "byte offset 3" },
		{ "c1\xc2\x85", "byte offset 2" },
		{ "\xff\xfe", "byte offset 0" },
		{ "x\xc0\xaf", "byte offset 1" },
		{ "xy\xe0\x80\xaf", "byte offset 2" },
		{ "\xf0\x80\x80\xaf", "byte offset 0" },
		{ "sur\xed\xa0\x80", "byte offset 3" },
		{ "big\xf4\x90\x80\x80", "byte offset 3" },
		{ "cut\xe6\x97", "byte offset 3" },
	};
	struct attempt at = { .at_plugin = "echo", .at_input = "x",
	    .at_pool = UNBOUND, .at_pri = -1, .at_cpu = -1, .at_code = BAD };
	struct ts_user u;
	size_t i;

	if (!ts_need_root())
		return;
	ts_user_make(&u);
	daemon_up(NULL, NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		at.at_name = bad[i].name;
		at.at_msg = bad[i].off;
		at.at_msg2 = "job name";
		attempt(&u, &at, bad[i].off);
	}
	/* None of it reached the log. */
	log_lacks(ARGS("\x1b", "\x7f", "\xc0\xaf", "\xed\xa0\x80"));
	td_down(&D);
}
END_TEST

START_TEST(test_job_name_in_utf8_is_accepted)
{
	/* Finding 5b: a name in UTF-8 that is text is taken and shown. */
	struct attempt at = { .at_plugin = "echo", .at_input = "x",
	    .at_name = "caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac",
	    .at_pool = UNBOUND, .at_pri = -1, .at_cpu = -1 };
	struct ts_user u;

	if (!ts_need_root())
		return;
	ts_user_make(&u);
	daemon_up(NULL, NULL);
	attempt(&u, &at, "UTF-8 job name");
	at.at_pool = PERCPU;
	at.at_name = "\xf0\x9f\x99\x82 U+10FFFF \xf4\x8f\xbf\xbf";
	attempt(&u, &at, "4-byte UTF-8 job name");
	td_down(&D);
}
END_TEST

/*
 * The name of a thread of the daemon that starts with prefix, into buf;
 * false when none has one (now).
 */
static bool
daemon_thread_named(const char *prefix, char *buf, size_t len)
{
	char path[300];
	struct dirent *de;
	bool found = false;
	FILE *f;
	DIR *dir;

	(void)snprintf(path, sizeof(path), "/proc/%d/task", (int)D.td_pid);
	ck_assert_ptr_nonnull(dir = opendir(path));
	while (!found && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%d/task/%s/comm",
		    (int)D.td_pid, de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, (int)len, f) != NULL) {
			buf[strcspn(buf, "\n")] = '\0';
			found = strncmp(buf, prefix, strlen(prefix)) == 0;
		}
		(void)fclose(f);
	}
	(void)closedir(dir);
	return found;
}

START_TEST(test_long_utf8_job_name_is_cut_at_a_character)
{
	/*
	 * Finding 5b: the worker's thread name shows the job's name in the
	 * 15 bytes Linux keeps; ten 2-byte characters are cut to seven,
	 * not to seven and a half.
	 */
	static const char e[] = "\xc3\xa9";
	struct attempt at = { .at_input = "hold:1500", .at_pool = UNBOUND,
	    .at_pri = -1, .at_cpu = -1 };
	char name[32] = "", want[32] = "", comm[64];
	struct ts_user u;
	uint64_t until;
	bool seen = false;
	pid_t pid;
	int i;

	if (!ts_need_root())
		return;
	for (i = 0; i < 10; i++)
		(void)strcat(name, e);
	for (i = 0; i < 7; i++)
		(void)strcat(want, e);
	at.at_name = name;
	ts_user_make(&u);
	daemon_up(NULL, NULL);
	pid = ts_as_user_start(&u, attempt_run, &at);
	until = tu_now_ms() + td_deadline_ms();
	while (!seen && tu_now_ms() < until) {
		seen = daemon_thread_named(e, comm, sizeof(comm));
		if (!seen)
			td_sleep_ms(10);
	}
	ck_assert_int_eq(ts_wait_child(pid), 0);
	ck_assert_msg(seen, "no worker thread took the job's name");
	ck_assert_str_eq(comm, want);
	td_down(&D);
}
END_TEST

/* Hello with a client name that forges a log line. */
static int
client_name_run(void *arg)
{
	struct tpc *c;
	int ret = 0;

	if (tpc_open(D.td_sock, &c) != 0)
		return AT_CONNECT;
	if (tpc_hello(c, (const char *)arg, NULL) != 0)
		ret = AT_ANSWER;
	tpc_free(c);
	return ret;
}

START_TEST(test_plugin_and_client_names_are_escaped)
{
	/*
	 * Finding 5b: an unknown plugin's name that is not a plugin name is
	 * not echoed in the reply (nor the log, which shows every error
	 * reply); a client's name reaches the log escaped.
	 */
	struct attempt at = { .at_plugin = "ec\nho\x1b[2J", .at_input = "x",
	    .at_pool = UNBOUND, .at_pri = -1, .at_cpu = -1,
	    .at_code = TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN,
	    .at_msg = "no plugin of that name" };
	struct ts_user u;
	int rc;

	if (!ts_need_root())
		return;
	ts_user_make(&u);
	daemon_up(NULL, NULL);
	attempt(&u, &at, "unknown plugin with control bytes");
	rc = ts_as_user(&u, client_name_run, "evil\nFORGED line\x1b[2J");
	ck_assert_int_eq(rc, 0);
	ck_assert(td_log_wait(&D, "evil\\x0aFORGED", td_deadline_ms()));
	log_lacks(ARGS("\x1b", "\nFORGED", "\nho"));
	td_down(&D);
}
END_TEST

static Suite *
attack_suite(void)
{
	Suite *s = suite_create("attack_requests");
	TCase *tc = tcase_create("requests");

	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_user_asking_stronger_nice_is_refused);
	tcase_add_test(tc, test_user_asking_realtime_is_refused);
	tcase_add_test(tc, test_user_granted_by_name_and_uid_gets_it);
	tcase_add_test(tc, test_user_granted_through_group_gets_it);
	tcase_add_test(tc, test_hello_version_over_32_bits_is_refused);
	tcase_add_test(tc, test_job_names_not_text_are_refused);
	tcase_add_test(tc, test_job_name_in_utf8_is_accepted);
	tcase_add_test(tc, test_long_utf8_job_name_is_cut_at_a_character);
	tcase_add_test(tc, test_plugin_and_client_names_are_escaped);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int nfailed;

	ts_users_sweep();
	sr = srunner_create(attack_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
