/*
 * test_security.c -- what tpoold refuses to trust, and what it refuses to
 * tell: plugins only from a directory that only root or the daemon's user
 * can change, only files (not links) owned by them and writable by no one
 * else, each refusal logged with its reason; the socket's mode and group
 * deciding who may connect; a user seeing, watching and cancelling only
 * their own jobs (root excepted); no error reply naming an internal path
 * or address.
 *
 * Another user is played by a forked child that becomes nobody (65534);
 * those cases need root and say "skipped" otherwise.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"

#define	UNBOUND	TPOOL__POOL_KIND__POOL_UNBOUND
#define	PERCPU	TPOOL__POOL_KIND__POOL_PERCPU
#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })
#define	NOBODY	65534

static struct td_daemon D;

static bool
need_root(void)
{
	if (geteuid() == 0)
		return true;
	(void)fprintf(stderr, "skipped: needs root to become another user\n");
	return false;
}

/*
 * Run fn(arg) in a child as uid/gid (no supplementary groups); its exit
 * status, or -1.  fn must not use Check's asserts: it returns a bit set.
 */
static int
as_user(uid_t uid, gid_t gid, int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
			_exit(120);
		_exit(fn(arg));
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "the child died of signal %d", WTERMSIG(status));
	return WEXITSTATUS(status);
}

static size_t
count_plugins(struct tpc *c, const char *name, bool *ret_found)
{
	Tpool__PluginList *pl;
	size_t i, n;

	ck_assert_int_eq(tpc_list_plugins(c, &pl), 0);
	n = pl->n_plugins;
	*ret_found = false;
	for (i = 0; i < n; i++)
		if (strcmp(pl->plugins[i]->name, name) == 0)
			*ret_found = true;
	tpool__plugin_list__free_unpacked(pl, NULL);
	return n;
}

static void
expect_log(const char *needle)
{
	td_expect_log(&D, needle);
}

/* ------------------------------------------------------------- plugins */

/*
 * A group of ours that is not our own private group: one of our
 * supplementary groups, or, as root, nogroup.  (The daemon lets the
 * owner's own group write.)
 */
static gid_t
other_gid(void)
{
	gid_t groups[64];
	int n, i;

	if (geteuid() == 0)
		return NOBODY;
	n = getgroups(64, groups);
	for (i = 0; i < n; i++)
		if (groups[i] != getegid())
			return groups[i];
	ck_abort_msg("needs root, or a supplementary group to give a file to");
	return 0;
}

/* The owner's own group may write: group-writable and still loaded. */
START_TEST(test_plugin_writable_by_owners_private_group)
{
	char path[PATH_MAX];
	struct passwd *pw = getpwuid(geteuid());
	struct group *gr;
	struct tpc *c;
	bool found;
	char **m;

	ck_assert_ptr_nonnull(pw);
	gr = getgrgid(pw->pw_gid);
	ck_assert_ptr_nonnull(gr);
	for (m = gr->gr_mem; *m != NULL; m++) {
		if (strcmp(*m, pw->pw_name) != 0) {
			(void)fprintf(stderr, "skipped: our primary group has other members\n");
			return;
		}
	}
	td_init(&D);
	td_add_plugin(&D, "echo", NULL);
	(void)snprintf(path, sizeof(path), "%s/echo.so", D.td_plugins);
	ck_assert_int_eq(chown(path, geteuid(), pw->pw_gid), 0);
	ck_assert_int_eq(chmod(path, 0775), 0);
	ck_assert_int_eq(chown(D.td_plugins, geteuid(), pw->pw_gid), 0);
	ck_assert_int_eq(chmod(D.td_plugins, 0775), 0);
	td_start(&D, NULL, NULL);
	c = td_connect(&D);
	ck_assert_uint_eq(count_plugins(c, "echo", &found), 1);
	ck_assert(found);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_plugin_files_refused_with_reason)
{
	char path[PATH_MAX], src[PATH_MAX];
	struct tpc *c;
	bool found;

	td_init(&D);
	/* One good plugin, and each refused kind under another plugin. */
	td_add_plugin(&D, "probe", "good");
	td_add_plugin(&D, "echo", "group-writable");
	(void)snprintf(path, sizeof(path), "%s/group-writable.so", D.td_plugins);
	ck_assert_int_eq(chmod(path, 0775), 0);
	/* A group that is not the owner's own (that one may write). */
	ck_assert_int_eq(chown(path, (uid_t)-1, other_gid()), 0);
	td_add_plugin(&D, "sleep", "other-writable");
	(void)snprintf(path, sizeof(path), "%s/other-writable.so", D.td_plugins);
	ck_assert_int_eq(chmod(path, 0757), 0);
	td_plugin_source("fail", src, sizeof(src));
	(void)snprintf(path, sizeof(path), "%s/symlink.so", D.td_plugins);
	ck_assert_int_eq(symlink(src, path), 0);
	if (geteuid() == 0) {
		td_add_plugin(&D, "sha256", "not-ours");
		(void)snprintf(path, sizeof(path), "%s/not-ours.so", D.td_plugins);
		ck_assert_int_eq(chown(path, NOBODY, NOBODY), 0);
	}
	td_start(&D, NULL, NULL);

	expect_log("plugin group-writable.so: writable by its group (mode 0775); skipped");
	expect_log("plugin other-writable.so: writable by others (mode 0757); skipped");
	expect_log("plugin symlink.so: a symbolic link (a plugin must be a file in the "
	    "plugin directory itself); skipped");
	if (geteuid() == 0)
		expect_log("plugin not-ours.so: owned by uid 65534, not root or the daemon's "
		    "uid 0; skipped");
	c = td_connect(&D);
	ck_assert_uint_eq(count_plugins(c, "probe", &found), 1);
	ck_assert(found);
	tpc_free(c);

	/* Made safe, they load on SIGHUP (the link stays refused). */
	(void)snprintf(path, sizeof(path), "%s/group-writable.so", D.td_plugins);
	ck_assert_int_eq(chmod(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/other-writable.so", D.td_plugins);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(kill(D.td_pid, SIGHUP), 0);
	ck_assert(td_wait_notify(&D, "READY=1", td_deadline_ms()));
	c = td_connect(&D);
	ck_assert_uint_eq(count_plugins(c, "echo", &found), 3);
	ck_assert(found);
	(void)count_plugins(c, "fail", &found);
	ck_assert(!found);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* A plugin that was fine when loaded and is made writable is retired. */
START_TEST(test_plugin_made_unsafe_is_retired)
{
	char path[PATH_MAX];
	struct tpc *c;
	bool found;

	td_up(&D, NULL);
	(void)snprintf(path, sizeof(path), "%s/echo.so", D.td_plugins);
	ck_assert_int_eq(chmod(path, 0666), 0);
	ck_assert_int_eq(kill(D.td_pid, SIGHUP), 0);
	ck_assert(td_wait_notify(&D, "READY=1", td_deadline_ms()));
	expect_log("plugin echo.so: writable by others (mode 0666); skipped");
	expect_log("plugin echo: its file is gone, was replaced or is refused now");
	c = td_connect(&D);
	ck_assert_uint_eq(count_plugins(c, "echo", &found), 3);
	ck_assert(!found);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* A plugin directory that is not safe stops the start, saying why. */
static void
expect_dir_refused(const char *why)
{
	ck_assert_int_eq(td_start_refused(&D, NULL), 1);
	expect_log(why);
	expect_log("; not starting");
}

START_TEST(test_plugin_dir_must_be_safe)
{
	char msg[512], up[80];
	struct tpc *c;
	bool found;

	/*
	 * The plugins in up/plugins: up is played with, not the test's
	 * folder, which holds the socket (a folder others may write refuses
	 * the socket, and tpoold would not start).
	 */
	td_init(&D);
	(void)snprintf(up, sizeof(up), "%s/up", D.td_dir);
	ck_assert_int_eq(mkdir(up, 0755), 0);
	ck_assert_int_eq(chmod(up, 0755), 0);
	(void)snprintf(D.td_plugins, sizeof(D.td_plugins), "%s/plugins", up);
	ck_assert_int_eq(mkdir(D.td_plugins, 0755), 0);
	ck_assert_int_eq(chmod(D.td_plugins, 0755), 0);
	td_add_example_plugins(&D);

	ck_assert_int_eq(chmod(D.td_plugins, 0775), 0);
	ck_assert_int_eq(chown(D.td_plugins, (uid_t)-1, other_gid()), 0);
	(void)snprintf(msg, sizeof(msg), "plugin directory %s: writable by its group "
	    "(mode 0775)", D.td_plugins);
	expect_dir_refused(msg);

	ck_assert_int_eq(chmod(D.td_plugins, 01777), 0);
	(void)snprintf(msg, sizeof(msg), "plugin directory %s: writable by others "
	    "(mode 1777)", D.td_plugins);
	expect_dir_refused(msg);

	/* A folder above it that anyone may change (not sticky). */
	ck_assert_int_eq(chmod(D.td_plugins, 0755), 0);
	ck_assert_int_eq(chmod(up, 0777), 0);
	(void)snprintf(msg, sizeof(msg), "plugin directory %s: %s is writable by others "
	    "(mode 0777)", D.td_plugins, up);
	expect_dir_refused(msg);

	if (geteuid() == 0) {
		ck_assert_int_eq(chmod(up, 0755), 0);
		ck_assert_int_eq(chown(D.td_plugins, NOBODY, NOBODY), 0);
		(void)snprintf(msg, sizeof(msg), "plugin directory %s: owned by uid 65534, "
		    "not root or the daemon's uid 0", D.td_plugins);
		expect_dir_refused(msg);
		ck_assert_int_eq(chown(D.td_plugins, 0, 0), 0);
	}

	/* Sticky and open to all above it is fine (as /tmp is). */
	ck_assert_int_eq(chmod(up, 01777), 0);
	td_start(&D, NULL, NULL);
	c = td_connect(&D);
	ck_assert_uint_eq(count_plugins(c, "echo", &found), 4);
	ck_assert(found);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* -------------------------------------------------------------- socket */

/* In the child: 1 if it could connect and say Hello, 0 if refused (EACCES). */
static int
try_connect(void *arg)
{
	struct tpc *c;
	int error;

	error = tpc_connect(D.td_sock, &c);
	if (error == 0) {
		tpc_free(c);
		return 1;
	}
	return error == EACCES ? 0 : 2;
}

START_TEST(test_socket_mode_decides_who_connects)
{
	struct stat st;

	if (!need_root())
		return;
	td_up(&D, ARGS("--socket-mode", "0600"));
	ck_assert_int_eq(stat(D.td_sock, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(as_user(NOBODY, NOBODY, try_connect, NULL), 0);
	td_down(&D);

	td_up(&D, ARGS("--socket-mode", "0666"));
	ck_assert_int_eq(stat(D.td_sock, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0666);
	ck_assert_int_eq(as_user(NOBODY, NOBODY, try_connect, NULL), 1);
	td_down(&D);
}
END_TEST

START_TEST(test_socket_group_decides_who_connects)
{
	struct group *gr = getgrnam("nogroup");
	struct stat st;

	if (!need_root())
		return;
	if (gr == NULL) {
		(void)fprintf(stderr, "skipped: no group 'nogroup'\n");
		return;
	}
	td_up(&D, ARGS("--socket-mode", "0660", "--socket-group", "nogroup"));
	ck_assert_int_eq(stat(D.td_sock, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0660);
	ck_assert_int_eq(st.st_gid, gr->gr_gid);
	/* nobody in the group may; nobody outside it may not. */
	ck_assert_int_eq(as_user(NOBODY, gr->gr_gid, try_connect, NULL), 1);
	ck_assert_int_ne(gr->gr_gid, 1);
	ck_assert_int_eq(as_user(NOBODY, 1, try_connect, NULL), 0);
	td_down(&D);

	/* A group that does not exist: the daemon does not start. */
	td_init(&D);
	td_add_example_plugins(&D);
	D.td_pid = td_spawn(&D, NULL, ARGS("--socket-group", "no-such-group-here"), true);
	ck_assert_int_eq(td_wait_exit(D.td_pid, td_deadline_ms()), 1 << 8);
	D.td_pid = 0;
	expect_log("socket group 'no-such-group-here': no such group");
	td_cleanup(&D);
}
END_TEST

/* --------------------------------------------------------- own jobs only */

struct nobody_run {
	uint64_t	nr_root_job;
	int		nr_pipe;	/* write: nobody's own job id */
	int		nr_go;		/* read: root is done with it */
};

/*
 * As nobody: each bit is a check that held.
 *	1 cancel, 2 status, 4 watch of root's job: ERROR_NO_SUCH_JOB, as
 *	  for a job that does not exist (another user's jobs are not told
 *	  apart from missing ones)
 *	8 its list holds only its own job, 16 which it could submit
 *	32 no event of root's job came (root cancels it meanwhile)
 *	64 its own job's events came (root cancelled it: finished event)
 */
static int
nobody_jobs(void *arg)
{
	struct nobody_run *nr = arg;
	Tpool__CancelReply *cr;
	Tpool__StatusReply *sr;
	Tpool__WatchReply *wr;
	Tpool__Event *ev;
	struct tpc *c;
	uint64_t mine = 0;
	int bits = 0, error;
	char go;

	if (tpc_connect(D.td_sock, &c) != 0)
		return 100;
	(void)tpc_set_timeout(c, 20000);
	if (tpc_submit(c, TPC_SUBMIT_ARGS("sleep", "30000", 5), &mine) == 0)
		bits |= 16;
	if (tpc_cancel(c, nr->nr_root_job, false, &cr) == TPC_EDAEMON &&
	    tpc_last_error(c, NULL) == TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB)
		bits |= 1;
	if (tpc_status(c, nr->nr_root_job, &sr) == TPC_EDAEMON &&
	    tpc_last_error(c, NULL) == TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB)
		bits |= 2;
	if (tpc_watch(c, nr->nr_root_job, &wr) == TPC_EDAEMON &&
	    tpc_last_error(c, NULL) == TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB)
		bits |= 4;
	if (tpc_status_all(c, &sr) == 0) {
		if (sr->n_jobs == 1 && sr->jobs[0]->job_id == mine && sr->jobs[0]->uid == NOBODY)
			bits |= 8;
		tpool__status_reply__free_unpacked(sr, NULL);
	}
	(void)!write(nr->nr_pipe, &mine, sizeof(mine));
	(void)!read(nr->nr_go, &go, 1);
	/* Root cancelled both jobs by now: only ours may have reached us. */
	(void)tpc_set_timeout(c, 1000);
	bits |= 32;
	while ((error = tpc_next_event(c, &ev)) == 0) {
		if (ev->job_id == nr->nr_root_job)
			bits &= ~32;
		if (ev->job_id == mine && ev->kind_case == TPOOL__EVENT__KIND_FINISHED &&
		    ev->finished->job->state == TPOOL__JOB_STATE__JOB_CANCELLED)
			bits |= 64;
		tpool__event__free_unpacked(ev, NULL);
	}
	tpc_free(c);
	return bits;
}

START_TEST(test_users_see_only_their_own_jobs)
{
	struct nobody_run nr;
	Tpool__CancelReply *cr;
	Tpool__StatusReply *sr;
	Tpool__WatchReply *wr;
	struct tpc *c;
	uint64_t nobody_job = 0;
	int rep[2], go[2], status;
	size_t i;
	pid_t pid;

	if (!need_root())
		return;
	td_up(&D, NULL);
	c = td_connect(&D);
	ck_assert_int_eq(tpc_submit(c, TPC_SUBMIT_ARGS("sleep", "30000", 5),
	    &nr.nr_root_job), 0);
	ck_assert_int_eq(pipe(rep), 0);
	ck_assert_int_eq(pipe(go), 0);
	nr.nr_pipe = rep[1];
	nr.nr_go = go[0];
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
			_exit(120);
		_exit(nobody_jobs(&nr));
	}
	ck_assert_int_eq(read(rep[0], &nobody_job, sizeof(nobody_job)), sizeof(nobody_job));
	ck_assert_uint_gt(nobody_job, 0);

	/* Root's own list has only root's jobs ... */
	ck_assert_int_eq(tpc_status_all(c, &sr), 0);
	for (i = 0; i < sr->n_jobs; i++)
		ck_assert_uint_eq(sr->jobs[i]->uid, 0);
	ck_assert_uint_eq(sr->n_jobs, 1);
	tpool__status_reply__free_unpacked(sr, NULL);
	/* ... but root may look at, watch and cancel anyone's job. */
	ck_assert_int_eq(tpc_status(c, nobody_job, &sr), 0);
	ck_assert_uint_eq(sr->jobs[0]->uid, NOBODY);
	tpool__status_reply__free_unpacked(sr, NULL);
	ck_assert_int_eq(tpc_watch(c, nobody_job, &wr), 0);
	tpool__watch_reply__free_unpacked(wr, NULL);
	ck_assert_int_eq(tpc_cancel(c, nobody_job, true, &cr), 0);
	ck_assert_int_eq(cr->job->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	tpool__cancel_reply__free_unpacked(cr, NULL);
	ck_assert_int_eq(tpc_cancel(c, nr.nr_root_job, true, &cr), 0);
	ck_assert_int_eq(cr->job->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	tpool__cancel_reply__free_unpacked(cr, NULL);

	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(WEXITSTATUS(status) == 127, "nobody's checks: %#x of 0x7f",
	    WEXITSTATUS(status));
	(void)close(rep[0]);
	(void)close(rep[1]);
	(void)close(go[0]);
	(void)close(go[1]);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* ------------------------------------------------ what errors may tell */

#define	MAX_MSGS	64

static char *err_msgs[MAX_MSGS];
static Tpool__ErrorCode err_codes[MAX_MSGS];
static size_t err_n;

static void
keep_error(Tpool__ErrorCode code, const char *msg)
{
	ck_assert_uint_lt(err_n, MAX_MSGS);
	err_codes[err_n] = code;
	err_msgs[err_n] = strdup(msg != NULL ? msg : "");
	ck_assert_ptr_nonnull(err_msgs[err_n]);
	err_n++;
}

/* Send one request on a raw connection and keep the Error it must get. */
static void
raw_error(int fd, const ProtobufCMessage *req, Tpool__ErrorCode code)
{
	Tpool__ServerMessage *sm;

	if (req != NULL)
		td_raw_send(fd, req);
	sm = td_raw_read(fd, td_deadline_ms(), NULL);
	ck_assert_ptr_nonnull(sm);
	ck_assert_int_eq(sm->msg_case, TPOOL__SERVER_MESSAGE__MSG_RESPONSE);
	ck_assert_int_eq(sm->response->body_case, TPOOL__RESPONSE__BODY_ERROR);
	ck_assert_msg(sm->response->error->code == code, "got %s, expected %s: %s",
	    tp_error_name(sm->response->error->code), tp_error_name(code),
	    sm->response->error->message);
	keep_error(code, sm->response->error->message);
	tpool__server_message__free_unpacked(sm, NULL);
}

/* Wait until the daemon counts n connections (closes reach it a bit later). */
static void
wait_connections(struct tpc *c, unsigned int n)
{
	Tpool__StatsReply *st;
	uint64_t end = tu_now_ms() + td_deadline_ms();
	unsigned int now;

	for (;;) {
		ck_assert_int_eq(tpc_stats(c, &st), 0);
		now = st->connections;
		tpool__stats_reply__free_unpacked(st, NULL);
		if (now == n)
			return;
		ck_assert_msg(tu_now_ms() < end, "%u connections, not %u", now, n);
		td_sleep_ms(10);
	}
}

static void
submit_error(struct tpc *c, const char *plugin, const char *input, const char *name,
    Tpool__PoolKind pool, int pri, int cpu, Tpool__ErrorCode code)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	const char *msg;
	uint64_t id;

	a.tsa_plugin = plugin;
	a.tsa_input = input;
	a.tsa_input_len = input != NULL ? strlen(input) : 0;
	a.tsa_name = name;
	a.tsa_pool = pool;
	a.tsa_priority = pri;
	a.tsa_cpu = cpu;
	ck_assert_int_eq(tpc_submit(c, &a, &id), TPC_EDAEMON);
	ck_assert_msg(tpc_last_error(c, &msg) == code, "got %s, expected %s: %s",
	    tp_error_name(tpc_last_error(c, NULL)), tp_error_name(code), msg);
	keep_error(code, msg);
}

/*
 * As nobody: root's job is ERROR_NO_SUCH_JOB with the message a missing
 * job gets ("no job N"), its message through the pipe.
 */
static int
nobody_not_found(void *arg)
{
	struct nobody_run *nr = arg;
	Tpool__StatusReply *sr;
	const char *msg;
	struct tpc *c;
	char buf[256];

	if (tpc_connect(D.td_sock, &c) != 0)
		return 100;
	(void)tpc_set_timeout(c, 20000);
	if (tpc_status(c, nr->nr_root_job, &sr) != TPC_EDAEMON ||
	    tpc_last_error(c, &msg) != TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB)
		return 101;
	(void)snprintf(buf, sizeof(buf), "no job %llu",
	    (unsigned long long)nr->nr_root_job);
	if (strcmp(msg, buf) != 0)
		return 102;
	(void)snprintf(buf, sizeof(buf), "%s", msg);
	(void)!write(nr->nr_pipe, buf, sizeof(buf));
	tpc_free(c);
	return 0;
}

START_TEST(test_errors_name_no_path_or_address)
{
	Tpool__Request req = TPOOL__REQUEST__INIT;
	Tpool__Hello hello = TPOOL__HELLO__INIT;
	Tpool__Cancel cancel = TPOOL__CANCEL__INIT;
	Tpool__Watch watch = TPOOL__WATCH__INIT;
	struct nobody_run nr;
	Tpool__StatusReply *sr;
	Tpool__CancelReply *cr;
	Tpool__ErrorCode code;
	struct tpc *c, *c2, *extra[3 + TD_ROOT_RESERVE];
	uint8_t hdr[TP_FRAME_HDR_LEN];
	char longname[300], buf[256], gate[128];
	const char *why;
	unsigned int logged;
	uint64_t sleeper;
	size_t i;
	int fd, p[2];

	/* The probe's gated job holds the one job slot and, deaf to the
	 * cancel a stop sends, the daemon in its grace period below. */
	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	td_start(&D, NULL, ARGS("--max-input", "64", "--max-jobs", "1",
	    "--max-connections", "4", "--max-frame", "4096",
	    "--read-timeout", "300ms", "--shutdown-grace", "120s"));
	c = td_connect(&D);
	submit_error(c, "nosuch", "x", NULL, UNBOUND, -1, -1,
	    TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN);
	/* A name that is a path is not echoed back. */
	submit_error(c, "../../../etc/passwd", "x", NULL, UNBOUND, -1, -1,
	    TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN);
	submit_error(c, "echo", "x", NULL, UNBOUND, 10000, -1,
	    TPOOL__ERROR_CODE__ERROR_INVALID_PRIORITY);
	submit_error(c, "echo", "x", NULL, PERCPU, -1, -5, TPOOL__ERROR_CODE__ERROR_INVALID_CPU);
	submit_error(c, "echo", "x", NULL, PERCPU, -1, 100000,
	    TPOOL__ERROR_CODE__ERROR_INVALID_CPU);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	submit_error(c, "echo", "x", longname, UNBOUND, -1, -1,
	    TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	memset(buf, 'i', 100);
	buf[100] = '\0';
	submit_error(c, "echo", buf, NULL, UNBOUND, -1, -1,
	    TPOOL__ERROR_CODE__ERROR_INPUT_TOO_LARGE);
	td_gate_input(&D, gate, sizeof(gate));
	ck_assert_int_eq(tpc_submit(c, TPC_SUBMIT_ARGS("probe", gate,
	    strlen(gate)), &sleeper), 0);
	submit_error(c, "echo", "x", NULL, UNBOUND, -1, -1,
	    TPOOL__ERROR_CODE__ERROR_TOO_MANY_JOBS);
	ck_assert_int_eq(tpc_status(c, 999999, &sr), TPC_EDAEMON);
	code = tpc_last_error(c, &why);
	keep_error(code, why);
	ck_assert_int_eq(tpc_cancel(c, 999999, false, &cr), TPC_EDAEMON);
	code = tpc_last_error(c, &why);
	keep_error(code, why);
	ck_assert_int_eq(err_codes[err_n - 1], TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB);

	/* Someone else's job. */
	if (geteuid() == 0) {
		nr.nr_root_job = sleeper;
		ck_assert_int_eq(pipe(p), 0);
		nr.nr_pipe = p[1];
		ck_assert_int_eq(as_user(NOBODY, NOBODY, nobody_not_found, &nr), 0);
		ck_assert_int_eq(read(p[0], buf, sizeof(buf)), sizeof(buf));
		buf[sizeof(buf) - 1] = '\0';
		keep_error(TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB, buf);
		(void)close(p[0]);
		(void)close(p[1]);
	}

	/* Raw frames: missing fields, no body, another version, garbage, too big. */
	fd = td_raw_connect(&D);
	req.has_request_id = true;
	req.request_id = 1;
	req.body_case = TPOOL__REQUEST__BODY_CANCEL;
	req.cancel = &cancel;
	raw_error(fd, &req.base, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	req.body_case = TPOOL__REQUEST__BODY_WATCH;
	req.watch = &watch;
	raw_error(fd, &req.base, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	req.body_case = TPOOL__REQUEST__BODY__NOT_SET;
	raw_error(fd, &req.base, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	req.body_case = TPOOL__REQUEST__BODY_HELLO;
	req.hello = &hello;
	hello.has_version = true;
	hello.version = 7;
	raw_error(fd, &req.base, TPOOL__ERROR_CODE__ERROR_VERSION);
	(void)close(fd);
	fd = td_raw_connect(&D);
	td_raw_write(fd, "\0\0\0\5\xff\xff\xff\xff\xff", 9);
	raw_error(fd, NULL, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	(void)close(fd);
	fd = td_raw_connect(&D);
	tp_frame_put_header(hdr, 1u << 20);
	td_raw_write(fd, hdr, sizeof(hdr));
	raw_error(fd, NULL, TPOOL__ERROR_CODE__ERROR_FRAME_TOO_LARGE);
	(void)close(fd);
	/* A frame left unfinished past --read-timeout. */
	fd = td_raw_connect(&D);
	td_raw_write(fd, "\0\0\0\x10\x08", 5);
	raw_error(fd, NULL, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	(void)close(fd);

	/* Too many connections (c is one of the 4; root has 8 more). */
	wait_connections(c, 1);
	for (i = 0; i < 3 + TD_ROOT_RESERVE; i++)
		extra[i] = td_connect(&D);
	fd = td_raw_connect(&D);
	raw_error(fd, NULL, TPOOL__ERROR_CODE__ERROR_TOO_MANY_CONNECTIONS);
	(void)close(fd);
	for (i = 0; i < 3 + TD_ROOT_RESERVE; i++)
		tpc_free(extra[i]);
	wait_connections(c, 1);

	/*
	 * Shutting down: the gated job holds the daemon in its grace period
	 * (a job that ends at the cancel would let the daemon drain and
	 * close c2 before its request arrives).
	 */
	c2 = td_connect(&D);
	ck_assert_int_eq(kill(D.td_pid, SIGTERM), 0);
	ck_assert(td_wait_notify(&D, "STOPPING=1", td_deadline_ms()));
	submit_error(c2, "echo", "x", NULL, UNBOUND, -1, -1,
	    TPOOL__ERROR_CODE__ERROR_SHUTTING_DOWN);
	td_gate_open(&D);	/* the job ends; the daemon drains and exits */
	tpc_free(c2);
	tpc_free(c);

	/* None of them names a path, a file, or an address. */
	for (i = 0; i < err_n; i++) {
		(void)fprintf(stderr, "%-28s %s\n", tp_error_name(err_codes[i]), err_msgs[i]);
		ck_assert_msg(strchr(err_msgs[i], '/') == NULL, "a '/' in: %s", err_msgs[i]);
		ck_assert_msg(!td_message_leaks(&D, err_msgs[i], &why), "names %s: %s", why,
		    err_msgs[i]);
		ck_assert_uint_gt(strlen(err_msgs[i]), 0);
	}
	ck_assert_uint_ge(err_n, 18);
	ck_assert_int_eq(td_wait_exit(D.td_pid, td_deadline_ms()), 0);
	D.td_pid = 0;
	/* The daemon's own record of every error it sent agrees. */
	logged = td_check_error_replies(&D);
	ck_assert_uint_ge(logged, err_n - 1);	/* the refused connection is not a request */
	for (i = 0; i < err_n; i++)
		free(err_msgs[i]);
	err_n = 0;
	td_cleanup(&D);
}
END_TEST

static Suite *
security_suite(void)
{
	Suite *s = suite_create("daemon-security");
	TCase *tc;

	tc = tcase_create("plugins");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_plugin_files_refused_with_reason);
	tcase_add_test(tc, test_plugin_made_unsafe_is_retired);
	tcase_add_test(tc, test_plugin_writable_by_owners_private_group);
	tcase_add_test(tc, test_plugin_dir_must_be_safe);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_socket_mode_decides_who_connects);
	tcase_add_test(tc, test_socket_group_decides_who_connects);
	suite_add_tcase(s, tc);

	tc = tcase_create("users");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_users_see_only_their_own_jobs);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_errors_name_no_path_or_address);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return td_main(security_suite());
}
