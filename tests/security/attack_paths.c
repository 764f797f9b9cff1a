/*
 * attack_paths.c -- a local user attacks the paths tpoold (as root) goes
 * by: the plugin directory (finding 3 of the shared-service issue) and the
 * socket's folder (finding 4).
 *
 * Finding 3: the plugin directory was checked through realpath(3) and the
 * plugins then dlopen'ed by the original path, so a symbolic link of the
 * attacker's on that path, swapped between the check and the load, had
 * the attacker's shared object run as root.  Now every component is
 * opened without following anyone's links but root's and the daemon's,
 * and plugins are loaded from the descriptor checked.
 *
 * Finding 4: the socket's folder was never checked and chown/chmod went
 * by path, following links: in a folder another user can write, a
 * root-owned 0600 file could be made 0666 and the socket replaced.  Now
 * such a folder stops tpoold at start, and nothing follows links there.
 *
 * Each case makes its attacker with useradd (users.h) and starts the real
 * tpoold as root; the marker plugin (tests/daemon/badplugins.c, kind 8)
 * creates $TPOOL_TEST_MARKER from its constructor, so its file says
 * whether tpoold ever loaded it.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "users.h"

#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })
#define	STARTS		15	/* daemon starts against a racing attacker */

static struct td_daemon D;

/* snprintf, failing the test when it does not fit. */
static void __attribute__((__format__(__printf__, 3, 4)))
fmt(char *buf, size_t len, const char *format, ...)
{
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(buf, len, format, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < len, "too long: %s", buf);
}

static void
expect_log(const char *needle)
{
	td_expect_log(&D, needle);
}

/*
 * Root, an attacker and a fresh test folder?  Without root, "skipped" and
 * false.
 */
static bool
attack_begin(struct ts_user *u)
{
	if (!ts_need_root())
		return false;
	ts_user_make(u);
	td_init(&D);
	return true;
}

/* How many times needle is in the daemon's log. */
static unsigned int
log_count(const char *needle)
{
	char *log = td_log_read(&D), *p;
	unsigned int n = 0;

	for (p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(log);
	return n;
}

/* D.td_dir/name into buf. */
static void
in_dir(char *buf, size_t len, const char *name)
{
	fmt(buf, len, "%s/%s", D.td_dir, name);
}

static void
make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	ck_assert_msg(mkdir(path, 0700) == 0, "mkdir %s: %s", path,
	    strerror(errno));
	ck_assert_int_eq(chown(path, uid, gid), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* A root-owned file of mode 0600 holding "secret". */
static void
make_secret(const char *path)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "secret", 6), 6);
	ck_assert_int_eq(close(fd), 0);
}

/* The secret file is as made: root's, 0600, a regular file. */
static void
expect_secret_intact(const char *path)
{
	struct stat st;

	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_msg(S_ISREG(st.st_mode), "%s is no longer a file", path);
	ck_assert_msg((st.st_mode & 07777) == 0600,
	    "%s: mode %04o, was 0600", path, (unsigned int)(st.st_mode & 07777));
	ck_assert_msg(st.st_uid == 0 && st.st_gid == 0,
	    "%s: owner %u:%u, was 0:0", path, (unsigned int)st.st_uid,
	    (unsigned int)st.st_gid);
}

/* The marker plugin, as the attacker's file in the attacker's folder. */
static void
plant_marker_plugin(const struct ts_user *u, const char *dir,
    const char *file)
{
	char src[PATH_MAX], dst[PATH_MAX];

	td_plugin_source("marker", src, sizeof(src));
	fmt(dst, sizeof(dst), "%s/%s", dir, file);
	td_copy_file(src, dst, 0755);
	ck_assert_int_eq(chown(dst, u->tu_uid, u->tu_gid), 0);
}

/* Start tpoold with args, no socket arguments of the harness's; its exit
 * status (it must exit by itself). */
static int
start_expect_exit(const char *const *args)
{
	char buf[1024];
	int status;

	/*
	 * Nobody reads the notify socket of a daemon that does not start:
	 * empty it, or a full queue would block the next one's sd_notify.
	 */
	while (recv(D.td_notify_fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		continue;
	D.td_pid = td_spawn(&D, NULL, args, false);
	status = td_wait_exit(D.td_pid, td_deadline_ms());
	ck_assert_msg(status != -1, "tpoold did not exit");
	D.td_pid = 0;
	return status;
}

/* ---------------------------------------------------------- the attacker */

struct swap_arg {
	const char	*sa_link;	/* the attacker's link */
	const char	*sa_a;		/* it points here... */
	const char	*sa_b;		/* ...and here, in turn */
	const char	*sa_stop;	/* the test is done when this exists */
};

/*
 * As the attacker: point sa_link at sa_a and sa_b in turn, each time
 * atomically (a new link renamed over it), until sa_stop exists (at most
 * two minutes).  0 when it could swap at all.
 */
static int
swap_link(void *arg)
{
	const struct swap_arg *sa = arg;
	char tmp[PATH_MAX];
	time_t end = time(NULL) + 120;
	unsigned long n = 0;

	fmt(tmp, sizeof(tmp), "%s.new", sa->sa_link);
	while (access(sa->sa_stop, F_OK) != 0 && time(NULL) < end) {
		(void)unlink(tmp);
		if (symlink(n++ % 2 == 0 ? sa->sa_b : sa->sa_a, tmp) != 0 ||
		    rename(tmp, sa->sa_link) != 0)
			return 1;
	}
	return n > 0 ? 0 : 2;
}

struct plant_arg {
	const char	*pa_target;
	const char	*pa_link;
};

/* As the attacker: make the link pa_link -> pa_target. */
static int
plant_link(void *arg)
{
	const struct plant_arg *pa = arg;

	return symlink(pa->pa_target, pa->pa_link) == 0 ? 0 : 1;
}

/*
 * As the attacker: whenever a socket appears at pa_link, put a link to
 * pa_target in its place (the socket renamed away), until a file named
 * pa_link + ".stop" exists (at most two minutes).
 */
static int
replace_socket(void *arg)
{
	const struct plant_arg *pa = arg;
	char stop[PATH_MAX], away[PATH_MAX];
	time_t end = time(NULL) + 120;
	struct stat st;

	fmt(stop, sizeof(stop), "%s.stop", pa->pa_link);
	fmt(away, sizeof(away), "%s.away", pa->pa_link);
	while (access(stop, F_OK) != 0 && time(NULL) < end) {
		if (lstat(pa->pa_link, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    rename(pa->pa_link, away) == 0)
			(void)symlink(pa->pa_target, pa->pa_link);
	}
	return 0;
}

/* ------------------------------------------------------------- plugins */

/*
 * Finding 3.  The attacker owns a link in a sticky folder (as /tmp),
 * through which tpoold's plugin directory goes, and swaps it, all the
 * time, between root's real plugin folder and one of its own holding its
 * plugin under the same file name.  Over STARTS starts the attacker's
 * plugin never loads (no marker) and each start is refused, saying why:
 * the link is not root's or the daemon's.
 */
START_TEST(test_plugin_dir_via_attackers_link_never_loads)
{
	char safe[PATH_MAX], sticky[PATH_MAX], evil[PATH_MAX], link[PATH_MAX];
	char marker[PATH_MAX], stop[PATH_MAX], why[256];
	struct plant_arg pa;
	struct swap_arg sa;
	struct ts_user u;
	unsigned int i;
	pid_t pid;

	if (!attack_begin(&u))
		return;
	td_add_plugin(&D, "echo", NULL);
	fmt(safe, sizeof(safe), "%s", D.td_plugins);
	in_dir(sticky, sizeof(sticky), "sticky");
	make_dir(sticky, 01777, 0, 0);
	in_dir(evil, sizeof(evil), "evil");
	make_dir(evil, 0755, u.tu_uid, u.tu_gid);
	plant_marker_plugin(&u, evil, "echo.so");
	fmt(link, sizeof(link), "%s/plugins", sticky);
	in_dir(marker, sizeof(marker), "marker");
	in_dir(stop, sizeof(stop), "stop");
	ck_assert_int_eq(setenv("TPOOL_TEST_MARKER", marker, 1), 0);

	pa.pa_target = safe;
	pa.pa_link = link;
	ck_assert_int_eq(ts_as_user(&u, plant_link, &pa), 0);
	sa.sa_link = link;
	sa.sa_a = safe;
	sa.sa_b = evil;
	sa.sa_stop = stop;
	pid = ts_as_user_start(&u, swap_link, &sa);

	ck_assert_uint_lt(strlen(link), sizeof(D.td_plugins));
	fmt(D.td_plugins, sizeof(D.td_plugins), "%s", link);
	fmt(why, sizeof(why), "%s is a symbolic link owned by uid "
	    "%u, not root or the daemon's uid 0; not starting",
	    link, (unsigned int)u.tu_uid);
	for (i = 0; i < STARTS; i++) {
		ck_assert_int_eq(td_start_refused(&D, NULL), 1);
		ck_assert_msg(access(marker, F_OK) != 0,
		    "start %u: tpoold loaded the attacker's plugin", i + 1);
	}
	td_copy_file("/dev/null", stop, 0644);
	ck_assert_int_eq(ts_wait_child(pid), 0);
	ck_assert_uint_eq(log_count(why), STARTS);
	ck_assert_uint_eq(log_count("plugin echo loaded"), 0);
	td_cleanup(&D);
}
END_TEST

/*
 * Finding 3, what still works.  A link root owns is followed (here a
 * relative one), and its target checked the same way: to root's folder
 * the plugins load; to the attacker's folder nothing loads, and the log
 * names the rule; a loop of root's links ends at the limit, refused.
 */
START_TEST(test_plugin_dir_via_roots_link_is_followed_and_checked)
{
	char real[PATH_MAX], evil[PATH_MAX], link[PATH_MAX], marker[PATH_MAX];
	char why[256];
	struct ts_user u;
	struct tpc *c;
	Tpool__PluginList *pl;

	if (!attack_begin(&u))
		return;
	in_dir(real, sizeof(real), "real");
	make_dir(real, 0755, 0, 0);
	in_dir(link, sizeof(link), "real/echo.so");
	td_plugin_source("echo", evil, sizeof(evil));
	td_copy_file(evil, link, 0755);
	in_dir(link, sizeof(link), "rootlink");
	ck_assert_int_eq(symlink("./real/../real", link), 0);
	in_dir(marker, sizeof(marker), "marker");
	ck_assert_int_eq(setenv("TPOOL_TEST_MARKER", marker, 1), 0);

	fmt(D.td_plugins, sizeof(D.td_plugins), "%s", link);
	td_start(&D, NULL, NULL);
	expect_log("plugin echo loaded from echo.so");
	c = td_connect(&D);
	ck_assert_int_eq(tpc_list_plugins(c, &pl), 0);
	ck_assert_uint_eq(pl->n_plugins, 1);
	ck_assert_str_eq(pl->plugins[0]->name, "echo");
	tpool__plugin_list__free_unpacked(pl, NULL);
	tpc_free(c);
	td_stop(&D);

	/* Root's link into a folder the attacker owns: refused there. */
	in_dir(evil, sizeof(evil), "evil");
	make_dir(evil, 0755, u.tu_uid, u.tu_gid);
	plant_marker_plugin(&u, evil, "marker.so");
	in_dir(link, sizeof(link), "rootlink2");
	ck_assert_int_eq(symlink(evil, link), 0);
	fmt(D.td_plugins, sizeof(D.td_plugins), "%s", link);
	ck_assert_int_eq(td_start_refused(&D, NULL), 1);
	fmt(why, sizeof(why), "plugin directory %s: owned by uid "
	    "%u, not root or the daemon's uid 0; not starting",
	    link, (unsigned int)u.tu_uid);
	expect_log(why);
	ck_assert_msg(access(marker, F_OK) != 0,
	    "tpoold loaded the attacker's plugin");

	/* Root's links in a loop: followed no further than the limit. */
	in_dir(link, sizeof(link), "loop");
	ck_assert_int_eq(symlink("loop", link), 0);
	fmt(D.td_plugins, sizeof(D.td_plugins), "%s", link);
	ck_assert_int_eq(td_start_refused(&D, NULL), 1);
	fmt(why, sizeof(why), "plugin directory %s: more than 40 symbolic "
	    "links; not starting", link);
	expect_log(why);
	td_cleanup(&D);
}
END_TEST

/* -------------------------------------------------------------- socket */

/*
 * Finding 4.  The socket asked for in a folder the attacker can write
 * (its own; one of root's open to all, even sticky), where the attacker
 * has put a link to a root-owned 0600 file at the socket's name: tpoold
 * refuses to start, naming the folder and the rule, and the file keeps
 * its mode and owner.  Then the attacker lies in wait instead, replacing
 * the socket by such a link the moment it appears: tpoold still refuses,
 * every time, and the file is untouched.
 */
START_TEST(test_socket_in_folder_others_write_refused)
{
	char secret[PATH_MAX], dir[PATH_MAX], sock[PATH_MAX], stop[PATH_MAX];
	char why[512];
	struct plant_arg pa;
	struct ts_user u;
	struct stat st;
	unsigned int i;
	pid_t pid;

	if (!attack_begin(&u))
		return;
	in_dir(secret, sizeof(secret), "secret");
	make_secret(secret);

	/* The attacker's own folder. */
	in_dir(dir, sizeof(dir), "attacker");
	make_dir(dir, 0755, u.tu_uid, u.tu_gid);
	fmt(sock, sizeof(sock), "%s/tpoold.sock", dir);
	pa.pa_target = secret;
	pa.pa_link = sock;
	ck_assert_int_eq(ts_as_user(&u, plant_link, &pa), 0);
	ck_assert_int_ne(start_expect_exit(ARGS("-s", sock, "-p",
	    D.td_plugins, "-v")), 0);
	fmt(why, sizeof(why), "socket directory %s: owned by uid "
	    "%u, not root or the daemon's uid 0; not starting", dir,
	    (unsigned int)u.tu_uid);
	expect_log(why);
	expect_secret_intact(secret);
	ck_assert_int_eq(lstat(sock, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));

	/* Root's folder, open to all (sticky or not, it is the last). */
	in_dir(dir, sizeof(dir), "open");
	make_dir(dir, 01777, 0, 0);
	fmt(sock, sizeof(sock), "%s/tpoold.sock", dir);
	ck_assert_int_eq(ts_as_user(&u, plant_link, &pa), 0);
	ck_assert_int_ne(start_expect_exit(ARGS("-s", sock, "-p",
	    D.td_plugins, "-v")), 0);
	fmt(why, sizeof(why), "socket directory %s: writable by "
	    "others (mode 1777); not starting", dir);
	expect_log(why);
	expect_secret_intact(secret);

	/* Lying in wait in its own folder, the socket's name left free. */
	in_dir(dir, sizeof(dir), "attacker/tpoold.sock");
	ck_assert_int_eq(unlink(dir), 0);
	in_dir(sock, sizeof(sock), "attacker/tpoold.sock");
	fmt(stop, sizeof(stop), "%s.stop", sock);
	pid = ts_as_user_start(&u, replace_socket, &pa);
	for (i = 0; i < STARTS; i++) {
		ck_assert_int_ne(start_expect_exit(ARGS("-s", sock, "-p",
		    D.td_plugins, "-v")), 0);
		expect_secret_intact(secret);
	}
	td_copy_file("/dev/null", stop, 0644);
	ck_assert_int_eq(ts_wait_child(pid), 0);
	fmt(why, sizeof(why), "socket directory %s/attacker: "
	    "owned by uid %u", D.td_dir, (unsigned int)u.tu_uid);
	ck_assert_uint_eq(log_count(why), STARTS + 1);
	ck_assert_int_ne(lstat(sock, &st), 0);
	expect_secret_intact(secret);
	td_cleanup(&D);
}
END_TEST

/*
 * Finding 4.  Something that is not a socket at the socket's name, in a
 * folder only root can write (a file; a link of root's to a file): tpoold
 * refuses to start and leaves it as it was.
 */
START_TEST(test_socket_name_taken_by_non_socket_kept)
{
	char secret[PATH_MAX], path[PATH_MAX], msg[512];
	struct stat st, st2;

	if (!ts_need_root())
		return;
	td_init(&D);
	in_dir(secret, sizeof(secret), "secret");
	make_secret(secret);
	ck_assert_int_eq(stat(secret, &st), 0);

	ck_assert_int_ne(start_expect_exit(ARGS("-s", secret, "-p",
	    D.td_plugins, "-v")), 0);
	fmt(msg, sizeof(msg), "%s exists and is not a socket; "
	    "not touching it", secret);
	expect_log(msg);
	ck_assert_int_eq(stat(secret, &st2), 0);
	ck_assert_uint_eq(st.st_ino, st2.st_ino);
	expect_secret_intact(secret);

	in_dir(path, sizeof(path), "link.sock");
	ck_assert_int_eq(symlink(secret, path), 0);
	ck_assert_int_ne(start_expect_exit(ARGS("-s", path, "-p",
	    D.td_plugins, "-v")), 0);
	fmt(msg, sizeof(msg), "%s exists and is not a socket; "
	    "not touching it", path);
	expect_log(msg);
	ck_assert_int_eq(lstat(path, &st2), 0);
	ck_assert(S_ISLNK(st2.st_mode));
	expect_secret_intact(secret);
	td_cleanup(&D);
}
END_TEST

/*
 * Finding 4.  The socket's path goes through the attacker's link (in a
 * sticky folder) to a folder of root's: refused, nothing made there.
 * Through a link of root's to the same folder it starts, serves, and
 * removes its socket at exit.
 */
START_TEST(test_socket_via_attackers_link_refused)
{
	char safe[PATH_MAX], sticky[PATH_MAX], link[PATH_MAX], sock[PATH_MAX];
	char why[512];
	struct plant_arg pa;
	struct ts_user u;
	struct stat st;
	struct tpc *c;

	if (!attack_begin(&u))
		return;
	td_add_plugin(&D, "echo", NULL);
	in_dir(safe, sizeof(safe), "safe");
	make_dir(safe, 0755, 0, 0);
	in_dir(sticky, sizeof(sticky), "sticky");
	make_dir(sticky, 01777, 0, 0);
	fmt(link, sizeof(link), "%s/run", sticky);
	pa.pa_target = safe;
	pa.pa_link = link;
	ck_assert_int_eq(ts_as_user(&u, plant_link, &pa), 0);

	fmt(sock, sizeof(sock), "%s/tpoold.sock", link);
	ck_assert_int_ne(start_expect_exit(ARGS("-s", sock, "-p",
	    D.td_plugins, "-v")), 0);
	fmt(why, sizeof(why), "socket directory %s: %s is a "
	    "symbolic link owned by uid %u, not root or the daemon's uid 0",
	    link, link, (unsigned int)u.tu_uid);
	expect_log(why);
	fmt(sock, sizeof(sock), "%s/tpoold.sock", safe);
	ck_assert_int_ne(lstat(sock, &st), 0);

	in_dir(link, sizeof(link), "rootrun");
	ck_assert_int_eq(symlink(safe, link), 0);
	fmt(D.td_sock, sizeof(D.td_sock), "%s/tpoold.sock", link);
	td_start(&D, NULL, NULL);
	ck_assert_int_eq(lstat(sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0666);
	c = td_connect(&D);
	tpc_free(c);
	td_stop(&D);
	ck_assert_int_ne(lstat(sock, &st), 0);
	td_cleanup(&D);
}
END_TEST

static Suite *
paths_suite(void)
{
	Suite *s = suite_create("attack-paths");
	TCase *tc;

	tc = tcase_create("plugins");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT * 2);
	tcase_add_test(tc, test_plugin_dir_via_attackers_link_never_loads);
	tcase_add_test(tc,
	    test_plugin_dir_via_roots_link_is_followed_and_checked);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT * 2);
	tcase_add_test(tc, test_socket_in_folder_others_write_refused);
	tcase_add_test(tc, test_socket_name_taken_by_non_socket_kept);
	tcase_add_test(tc, test_socket_via_attackers_link_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	ts_users_sweep();
	return td_main(paths_suite());
}
