/*
 * isolate.c -- a plugin's worker processes (isolate.h).
 *
 * Each worker is a tpoold-worker process with a stream socketpair to the
 * daemon (isolate-wire.h).  The idle ones wait on their plugin's list,
 * most recently used first; a libtp worker running a job of the plugin
 * takes one (or starts one), gives it the CPU affinity, scheduling policy
 * and nice value of its own thread (so the job runs on the pool's CPU at
 * the pool's priority, as a job of isolation "thread" would; an unbound
 * pool's job starts on the CPU the thread is on: iso_apply_sched()), sends
 * it the job, and reads its reports until ISO_DONE, polling the job's
 * cancel request every ISO_POLL_MS meanwhile (SIGUSR1 to the worker once
 * it is set).  Then the worker goes back on the list, unless it has run
 * --worker-jobs jobs or its resident memory grew by more than
 * --worker-memory-growth since its first job: then it is closed (it runs
 * the plugin's tpp_fini and exits).  Idle workers past --worker-warm are
 * closed once idle for --idle-timeout (tpd_iso_trim(), from the loop's
 * periodic reaping).
 *
 * A worker that dies with a job (end of file before ISO_DONE) fails the
 * job, saying how (its wait status); a replacement is started at once,
 * and loads the plugin while the next job is on its way.  A worker found
 * dead when a job is sent to it is replaced before the job starts: the
 * job is not lost.  Workers that were closed are reaped later (without
 * waiting: tpp_fini may take its time), and at tpd_iso_free() for good.
 *
 * A worker is started with posix_spawn: signal dispositions at their
 * defaults, no signal blocked (libtp's threads block them all), a session
 * of its own, the channel as descriptor 3 and the plugin's file as 4;
 * when the daemon runs as root, with the uid and gid of --worker-user.
 *
 * (Over 800 lines: spawning, the idle list, running a job over the
 * channel, reaping and quarantine all work on a plugin's worker set
 * (struct tpd_iso and its workers) under its one lock, is_lock, and no
 * other file may see them.)
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "isolate-wire.h"
#include "isolate.h"
#include "log.h"
#include "options.h"

#define	ISO_POLL_MS		20	/* a cancel request's way to a worker */
#define	ISO_READY_MS		(60 * 1000)	/* tpp_init's time */
#define	ISO_DECL_MS		(10 * 1000)	/* loading, to read the
						 * declaration */
#define	ISO_REAP_KILL_MS	(10 * 1000)	/* tpp_fini's, at free */

extern char **environ;

/*
 * The workers' environment: the daemon's.  In a sanitizer's build (the
 * worker and the plugins have its runtime too), with the runtime's own
 * signal handlers off, so that a crash ends the worker with its signal as
 * in a plain build, and no leak check at exit.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define	ISO_SAN_OPTIONS	"handle_segv=0:handle_sigbus=0:handle_sigfpe=0:" \
	"handle_abort=0:handle_sigill=0:detect_leaks=0:" \
	"allow_user_segv_handler=1"
static char **iso_env;
static pthread_once_t iso_env_once = PTHREAD_ONCE_INIT;

static void
iso_env_init(void)
{
	static const char *const vars[] = { "ASAN_OPTIONS", "TSAN_OPTIONS",
	    "UBSAN_OPTIONS" };
	size_t n = 0, i, k, len;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 4, sizeof(*env))) == NULL)
		return;
	for (i = 0, k = 0; i < n; i++) {
		len = strcspn(environ[i], "=");
		if ((len == 12 &&
		    strncmp(environ[i], "ASAN_OPTIONS", 12) == 0) ||
		    (len == 12 && strncmp(environ[i], "TSAN_OPTIONS", 12) ==
		    0) || (len == 13 && strncmp(environ[i], "UBSAN_OPTIONS",
		    13) == 0))
			continue;
		env[k++] = environ[i];
	}
	for (i = 0; i < 3; i++) {
		const char *old = getenv(vars[i]);
		size_t sz = strlen(vars[i]) + 2 + (old != NULL ? strlen(old) +
		    1 : 0) + sizeof(ISO_SAN_OPTIONS);

		if ((env[k] = malloc(sz)) == NULL)
			continue;
		(void)snprintf(env[k], sz, "%s=%s%s%s", vars[i],
		    old != NULL ? old : "", old != NULL ? ":" : "",
		    ISO_SAN_OPTIONS);
		k++;
	}
	env[k] = NULL;
	iso_env = env;
}

static char **
iso_environ(void)
{
	(void)pthread_once(&iso_env_once, iso_env_init);
	return iso_env != NULL ? iso_env : environ;
}
#else
static char **
iso_environ(void)
{
	return environ;
}
#endif

/* One worker process.  Owned by its set's idle list or by the thread
 * running a job on it. */
struct iso_worker {
	LIST_ENTRY(iso_worker)	iw_entry;	/* is_lock: on is_idle */
	pid_t			iw_pid;
	int			iw_fd;		/* the channel */
	struct iso_reader	iw_in;		/* what it sent, buffered */
	bool			iw_ready;	/* ISO_READY read */
	uint64_t		iw_idle_since;	/* is_lock: on is_idle since */
	unsigned int		iw_jobs;	/* run so far */
	uint64_t		iw_base_kib;	/* resident after its first */
	/* What it was given last (iw_applied), to give only changes. */
	bool			iw_applied;
	cpu_set_t		iw_cpus;
	int			iw_policy;
	struct sched_param	iw_param;
	int			iw_nice;
};

struct iso_pid {
	LIST_ENTRY(iso_pid)	ip_entry;
	pid_t			ip_pid;
	uint64_t		ip_closed_ns;	/* its channel closed then */
	bool			ip_killed;	/* past ISO_REAP_KILL_MS */
};

struct tpd_iso {
	pthread_mutex_t		is_lock;
	LIST_HEAD(, iso_worker)	is_idle;	/* is_lock: most recent first */
	LIST_HEAD(, iso_pid)	is_closed;	/* is_lock: to be reaped */
	unsigned int		is_alive;	/* is_lock: idle or running */
	uint64_t		is_started;	/* is_lock */
	uint64_t		is_crashed;	/* is_lock */
	unsigned int		is_in_a_row;	/* is_lock: crashes since the
						 *    last job that ended */
	uint64_t		is_quarantine_end; /* is_lock: ns, 0: none */
	char			is_last_crash[128]; /* is_lock */
	char			is_name[TP_PLUGIN_NAME_MAX + 1]; /* c */
	struct tpd_worker_conf	is_conf;	/* c: its settings */
	int			is_plugin_fd;	/* c: borrowed */
	bool			is_declare;	/* c: its workers only read the
						 *    declaration (-d) */
	bool			is_drop;	/* c: become is_uid/is_gid */
	uid_t			is_uid;		/* c */
	gid_t			is_gid;		/* c */
};

/* ------------------------------------------------------------ messages */

/* Wait up to ms for fd to be readable: 0, ETIMEDOUT or an errno. */
static int
iso_wait_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&pfd, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	return n == 0 ? ETIMEDOUT : 0;
}

/* How a worker ended, from its wait status, in why[]; last: the last
 * ISO_FAIL it sent ("" if none). */
static void
iso_describe_end(int status, const char *last, char *why, size_t len)
{
	const char *abbrev;

	if (WIFSIGNALED(status)) {
		abbrev = sigabbrev_np(WTERMSIG(status));
		(void)snprintf(why, len, "signal %d (SIG%s)",
		    WTERMSIG(status), abbrev != NULL ? abbrev : "?");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) ==
	    ISO_EXIT_SYSCALL && last[0] != '\0')
		(void)snprintf(why, len, "%s", last);	/* the filter's */
	else if (WIFEXITED(status))
		(void)snprintf(why, len, "it exited with status %d",
		    WEXITSTATUS(status));
	else
		(void)snprintf(why, len, "wait status %#x", status);
}

/* ------------------------------------------------------------ spawner */

/*
 * Workers are started by a thread of their own, the spawner, which lives
 * while any plugin has workers: a worker dies with the thread that
 * started it (PR_SET_PDEATHSIG follows the parent thread, not the
 * process), and the threads that need a worker (libtp's, the plugin
 * thread) come and go.  Requests queue on isp_reqs; the one who asked
 * waits for isr_done.
 */
struct iso_spawn_req {
	struct iso_spawn_req		*isr_next;
	const posix_spawn_file_actions_t *isr_fa;
	const posix_spawnattr_t		*isr_attr;
	char				**isr_argv;
	pid_t				isr_pid;	/* out */
	int				isr_error;	/* out */
	bool				isr_done;	/* isp_lock */
};

static struct {
	pthread_mutex_t		isp_lock;
	pthread_cond_t		isp_cv;		/* a request, or stop */
	pthread_cond_t		isp_done_cv;	/* a request done */
	struct iso_spawn_req	*isp_reqs;	/* isp_lock: first in first */
	struct iso_spawn_req	**isp_tail;	/* isp_lock */
	unsigned int		isp_users;	/* isp_lock: plugins' sets */
	bool			isp_stop;	/* isp_lock */
	bool			isp_running;	/* isp_lock */
	pthread_t		isp_thread;	/* isp_lock */
} isp = {
	.isp_lock = PTHREAD_MUTEX_INITIALIZER,
	.isp_cv = PTHREAD_COND_INITIALIZER,
	.isp_done_cv = PTHREAD_COND_INITIALIZER,
	.isp_tail = &isp.isp_reqs,
};

static void *
iso_spawner_main(void *arg)
{
	struct iso_spawn_req *r;

	(void)arg;
	(void)pthread_mutex_lock(&isp.isp_lock);
	for (;;) {
		while (isp.isp_reqs == NULL && !isp.isp_stop)
			(void)pthread_cond_wait(&isp.isp_cv, &isp.isp_lock);
		if ((r = isp.isp_reqs) == NULL)
			break;		/* stopping, nothing asked */
		if ((isp.isp_reqs = r->isr_next) == NULL)
			isp.isp_tail = &isp.isp_reqs;
		(void)pthread_mutex_unlock(&isp.isp_lock);
		r->isr_error = posix_spawn(&r->isr_pid,
		    tpd_opt.o_worker_program, r->isr_fa, r->isr_attr,
		    r->isr_argv, iso_environ());
		(void)pthread_mutex_lock(&isp.isp_lock);
		r->isr_done = true;
		(void)pthread_cond_broadcast(&isp.isp_done_cv);
	}
	(void)pthread_mutex_unlock(&isp.isp_lock);
	return NULL;
}

/* A plugin's set needs the spawner: started with its first user. */
static int
iso_spawner_hold(void)
{
	sigset_t all, old;
	int error = 0;

	(void)pthread_mutex_lock(&isp.isp_lock);
	if (!isp.isp_running) {
		/* Its signals blocked: the loop thread takes them. */
		(void)sigfillset(&all);
		(void)pthread_sigmask(SIG_BLOCK, &all, &old);
		isp.isp_stop = false;
		error = pthread_create(&isp.isp_thread, NULL, iso_spawner_main,
		    NULL);
		(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
		isp.isp_running = error == 0;
	}
	if (error == 0)
		isp.isp_users++;
	(void)pthread_mutex_unlock(&isp.isp_lock);
	return error;
}

/* A set is gone; with the last, the spawner stops and is joined. */
static void
iso_spawner_rele(void)
{
	pthread_t t;
	bool join = false;

	(void)pthread_mutex_lock(&isp.isp_lock);
	if (--isp.isp_users == 0) {
		isp.isp_stop = true;
		isp.isp_running = false;
		t = isp.isp_thread;
		join = true;
		(void)pthread_cond_signal(&isp.isp_cv);
	}
	(void)pthread_mutex_unlock(&isp.isp_lock);
	if (join)
		(void)pthread_join(t, NULL);
}

/* posix_spawn on the spawner: 0 (*ret_pid) or an errno. */
static int
iso_spawner_run(pid_t *ret_pid, const posix_spawn_file_actions_t *fa,
    const posix_spawnattr_t *attr, char **argv)
{
	struct iso_spawn_req r = { .isr_fa = fa, .isr_attr = attr,
	    .isr_argv = argv };

	(void)pthread_mutex_lock(&isp.isp_lock);
	*isp.isp_tail = &r;
	isp.isp_tail = &r.isr_next;
	(void)pthread_cond_signal(&isp.isp_cv);
	while (!r.isr_done)
		(void)pthread_cond_wait(&isp.isp_done_cv, &isp.isp_lock);
	(void)pthread_mutex_unlock(&isp.isp_lock);
	if (r.isr_error == 0)
		*ret_pid = r.isr_pid;
	return r.isr_error;
}

/* ------------------------------------------------------------ workers */

/*
 * Reap the closed workers that have exited, and kill those closed more
 * than ISO_REAP_KILL_MS ago (a tpp_fini that hangs); with wait, all of
 * them, sleeping until they have (up to ISO_REAP_KILL_MS more each).
 * Called without is_lock.
 */
static void
iso_reap(struct tpd_iso *iso, bool wait)
{
	struct iso_pid *ip, *next;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	unsigned int waited;
	pid_t r;

	(void)pthread_mutex_lock(&iso->is_lock);
	for (ip = LIST_FIRST(&iso->is_closed); ip != NULL; ip = next) {
		next = LIST_NEXT(ip, ip_entry);
		r = waitpid(ip->ip_pid, NULL, WNOHANG);
		/* A tpp_fini that never ends costs a process: not for long. */
		if (r == 0 && !ip->ip_killed && tpd_now_ns() -
		    ip->ip_closed_ns >= ISO_REAP_KILL_MS * 1000000ull) {
			tpd_warn("plugin %s: worker %d still runs tpp_fini "
			    "after %d s; killed", iso->is_name,
			    (int)ip->ip_pid, ISO_REAP_KILL_MS / 1000);
			(void)kill(ip->ip_pid, SIGKILL);
			ip->ip_killed = true;
		}
		for (waited = 0; r == 0 && wait; waited += 10) {
			if (waited == ISO_REAP_KILL_MS && !ip->ip_killed) {
				tpd_warn("plugin %s: worker %d still runs "
				    "tpp_fini after %d s; killed", iso->is_name,
				    (int)ip->ip_pid, ISO_REAP_KILL_MS / 1000);
				(void)kill(ip->ip_pid, SIGKILL);
			}
			(void)nanosleep(&ts, NULL);
			r = waitpid(ip->ip_pid, NULL, WNOHANG);
		}
		if (r != 0) {
			LIST_REMOVE(ip, ip_entry);
			free(ip);
		}
	}
	(void)pthread_mutex_unlock(&iso->is_lock);
}

/* Close w (it runs tpp_fini and exits; reaped later) and free it. */
static void
iso_close(struct tpd_iso *iso, struct iso_worker *w)
{
	struct iso_pid *ip = malloc(sizeof(*ip));

	(void)close(w->iw_fd);
	(void)pthread_mutex_lock(&iso->is_lock);
	iso->is_alive--;
	if (ip != NULL) {
		ip->ip_pid = w->iw_pid;
		ip->ip_closed_ns = tpd_now_ns();
		ip->ip_killed = false;
		LIST_INSERT_HEAD(&iso->is_closed, ip, ip_entry);
	}
	(void)pthread_mutex_unlock(&iso->is_lock);
	if (ip == NULL)		/* no record: reap it here */
		(void)waitpid(w->iw_pid, NULL, 0);
	free(w);
}

/* A worker that died (or failed): how in why[] (last: its last ISO_FAIL,
 * or ""); freed. */
static void
iso_dead(struct tpd_iso *iso, struct iso_worker *w, const char *last,
    char *why, size_t len)
{
	int status = 0;

	(void)close(w->iw_fd);
	(void)kill(w->iw_pid, SIGKILL);	/* if only its channel broke */
	while (waitpid(w->iw_pid, &status, 0) < 0 && errno == EINTR)
		;
	iso_describe_end(status, last, why, len);
	(void)pthread_mutex_lock(&iso->is_lock);
	iso->is_alive--;
	(void)pthread_mutex_unlock(&iso->is_lock);
	free(w);
}

static void
iso_arg_number(char *buf, size_t len, unsigned long long v)
{
	(void)snprintf(buf, len, "%llu", v);
}

/*
 * Start a worker (not waiting for it to load the plugin): 0, or an errno
 * with why[].  *ret is the caller's.
 */
static int
iso_spawn(struct tpd_iso *iso, struct iso_worker **ret, char *why,
    size_t whylen)
{
	char uid[24], gid[24], mem[24], files[24], procs[24];
	char *argv[16];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct iso_worker *w;
	int sv[2], chan = -1, plug = -1, error, argc = 0;
	struct timeval rcvtimeo = { 0, ISO_POLL_MS * 1000 };
	sigset_t none, all;
	pid_t pid;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		(void)snprintf(why, whylen, "out of memory");
		return ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		error = errno;
		(void)snprintf(why, whylen, "socketpair: %s", strerror(error));
		free(w);
		return error;
	}
	/* Copies above 4, so that placing them on 3 and 4 clobbers none. */
	if ((chan = fcntl(sv[1], F_DUPFD_CLOEXEC, ISO_FD_PLUGIN + 1)) < 0 ||
	    (plug = fcntl(iso->is_plugin_fd, F_DUPFD_CLOEXEC,
	    ISO_FD_PLUGIN + 1)) < 0) {
		error = errno;
		(void)snprintf(why, whylen, "descriptors: %s",
		    strerror(error));
		goto out;
	}

	argv[argc++] = (char *)"tpoold-worker";
	if (iso->is_drop) {
		iso_arg_number(uid, sizeof(uid), iso->is_uid);
		iso_arg_number(gid, sizeof(gid), iso->is_gid);
		argv[argc++] = (char *)"-u";
		argv[argc++] = uid;
		argv[argc++] = (char *)"-g";
		argv[argc++] = gid;
	}
	if (iso->is_conf.wc_memory != 0) {
		iso_arg_number(mem, sizeof(mem), iso->is_conf.wc_memory);
		argv[argc++] = (char *)"-m";
		argv[argc++] = mem;
	}
	if (iso->is_conf.wc_files != 0) {
		iso_arg_number(files, sizeof(files), iso->is_conf.wc_files);
		argv[argc++] = (char *)"-f";
		argv[argc++] = files;
	}
	if (iso->is_conf.wc_procs != 0) {
		iso_arg_number(procs, sizeof(procs), iso->is_conf.wc_procs);
		argv[argc++] = (char *)"-n";
		argv[argc++] = procs;
	}
	if (iso->is_declare)
		argv[argc++] = (char *)"-d";
	else
		argv[argc++] = iso->is_name;
	argv[argc] = NULL;

	(void)sigemptyset(&none);
	(void)sigfillset(&all);
	(void)posix_spawn_file_actions_init(&fa);
	(void)posix_spawn_file_actions_adddup2(&fa, chan, ISO_FD_CHANNEL);
	(void)posix_spawn_file_actions_adddup2(&fa, plug, ISO_FD_PLUGIN);
	(void)posix_spawnattr_init(&attr);
	(void)posix_spawnattr_setsigmask(&attr, &none);
	(void)posix_spawnattr_setsigdefault(&attr, &all);
	(void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
	error = iso_spawner_run(&pid, &fa, &attr, argv);
	(void)posix_spawnattr_destroy(&attr);
	(void)posix_spawn_file_actions_destroy(&fa);
	if (error != 0) {
		(void)snprintf(why, whylen, "cannot start %s: %s",
		    tpd_opt.o_worker_program, strerror(error));
		goto out;
	}
	w->iw_pid = pid;
	w->iw_fd = sv[0];
	w->iw_in.ir_fd = sv[0];
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rcvtimeo,
	    sizeof(rcvtimeo));
	sv[0] = -1;
	(void)pthread_mutex_lock(&iso->is_lock);
	iso->is_alive++;
	iso->is_started++;
	(void)pthread_mutex_unlock(&iso->is_lock);
	*ret = w;
	w = NULL;
out:
	if (chan >= 0)
		(void)close(chan);
	if (plug >= 0)
		(void)close(plug);
	if (sv[0] >= 0)
		(void)close(sv[0]);
	(void)close(sv[1]);
	free(w);
	return error;
}

/*
 * Wait up to ms for w's first message: 0 and *h (its body unread); EIO
 * when it is an ISO_FAIL, its text in msg[ISO_MSG_MAX + 1]; ETIMEDOUT,
 * EPIPE (it ended) or an errno.
 */
static int
iso_first(struct iso_worker *w, int ms, struct iso_hdr *h, char *msg)
{
	int error;

	msg[0] = '\0';
	if ((error = iso_wait_readable(w->iw_fd, ms)) != 0 ||
	    (error = iso_reader_read(&w->iw_in, h, sizeof(*h))) != 0)
		return error;
	if (h->ih_type != ISO_FAIL)
		return 0;
	if (h->ih_len <= ISO_MSG_MAX &&
	    iso_reader_read(&w->iw_in, msg, (size_t)h->ih_len) == 0)
		msg[h->ih_len] = '\0';
	return EIO;
}

/*
 * w did not do what it was started for (error, msg: iso_first()'s): end
 * it (freed), and say why in why[]: its message, else late (a time out),
 * else ended and how it ended.
 */
static void
iso_failed_start(struct tpd_iso *iso, struct iso_worker *w, int error,
    const char *msg, const char *late, const char *ended, char *why,
    size_t whylen)
{
	char end[128];

	iso_dead(iso, w, "", end, sizeof(end));
	if (msg[0] != '\0')
		(void)snprintf(why, whylen, "%s", msg);
	else if (error == ETIMEDOUT)
		(void)snprintf(why, whylen, "%s", late);
	else
		(void)snprintf(why, whylen, "%s: %s", ended, end);
}

/*
 * Wait for w's ISO_READY: 0; else w is dead and freed, and why[] says
 * what it said or how it ended (EIO).
 */
static int
iso_wait_ready(struct tpd_iso *iso, struct iso_worker *w, char *why,
    size_t whylen)
{
	char msg[ISO_MSG_MAX + 1], late[64];
	struct iso_hdr h;
	int error;

	if (w->iw_ready)
		return 0;
	if ((error = iso_first(w, ISO_READY_MS, &h, msg)) == 0 &&
	    h.ih_type == ISO_READY && h.ih_len == 0) {
		w->iw_ready = true;
		return 0;
	}
	(void)snprintf(late, sizeof(late), "it did not load the plugin "
	    "within %d s", ISO_READY_MS / 1000);
	iso_failed_start(iso, w, error, msg, late, "its worker ended before "
	    "it was ready", why, whylen);
	return EIO;
}

/* A worker for a job: an idle one, or a new one.  0, or an errno and
 * why[]. */
static int
iso_take(struct tpd_iso *iso, struct iso_worker **ret, char *why,
    size_t whylen)
{
	struct iso_worker *w;
	int error;

	(void)pthread_mutex_lock(&iso->is_lock);
	if ((w = LIST_FIRST(&iso->is_idle)) != NULL)
		LIST_REMOVE(w, iw_entry);
	(void)pthread_mutex_unlock(&iso->is_lock);
	if (w == NULL && (error = iso_spawn(iso, &w, why, whylen)) != 0)
		return error;
	if ((error = iso_wait_ready(iso, w, why, whylen)) != 0)
		return error;
	*ret = w;
	return 0;
}

static void
iso_put_idle(struct tpd_iso *iso, struct iso_worker *w)
{
	(void)pthread_mutex_lock(&iso->is_lock);
	w->iw_idle_since = tpd_now_ns();
	LIST_INSERT_HEAD(&iso->is_idle, w, iw_entry);
	(void)pthread_mutex_unlock(&iso->is_lock);
}

void
tpd_iso_trim(struct tpd_iso *iso, uint64_t idle_ns)
{
	LIST_HEAD(, iso_worker) gone = LIST_HEAD_INITIALIZER(gone);
	struct iso_worker *w, *next;
	uint64_t now = tpd_now_ns();
	unsigned int kept = 0;

	(void)pthread_mutex_lock(&iso->is_lock);
	/* Most recently used first: the first --worker-warm stay. */
	for (w = LIST_FIRST(&iso->is_idle); w != NULL; w = next) {
		next = LIST_NEXT(w, iw_entry);
		if (kept < iso->is_conf.wc_warm ||
		    now - w->iw_idle_since < idle_ns) {
			kept++;
			continue;
		}
		LIST_REMOVE(w, iw_entry);
		LIST_INSERT_HEAD(&gone, w, iw_entry);
	}
	(void)pthread_mutex_unlock(&iso->is_lock);
	while ((w = LIST_FIRST(&gone)) != NULL) {
		LIST_REMOVE(w, iw_entry);
		iso_close(iso, w);
	}
	iso_reap(iso, false);
}

/*
 * The calling thread's placement, read at most every ISO_SELF_TTL_NS: a
 * pool's thread keeps its own (a per-CPU pool's changes only when its
 * CPU goes and comes back), and reading it is four system calls a job.
 */
#define	ISO_SELF_TTL_NS	(100 * 1000 * 1000)
static __thread struct {
	uint64_t		at;	/* tpd_now_ns() when read; 0: never */
	bool			ok_cpus, ok_sched, ok_nice;
	cpu_set_t		cpus;
	int			policy;
	struct sched_param	param;
	int			nice;
} iso_self;

static void
iso_self_read(void)
{
	uint64_t now = tpd_now_ns();

	if (iso_self.at != 0 && now - iso_self.at < ISO_SELF_TTL_NS)
		return;
	iso_self.at = now;
	iso_self.ok_cpus = sched_getaffinity(0, sizeof(iso_self.cpus),
	    &iso_self.cpus) == 0;
	iso_self.ok_sched = (iso_self.policy = sched_getscheduler(0)) >= 0 &&
	    sched_getparam(0, &iso_self.param) == 0;
	errno = 0;
	iso_self.nice = getpriority(PRIO_PROCESS, 0);	/* this thread's */
	iso_self.ok_nice = errno == 0;
}

/* Have w run on the CPUs of set (a failure is logged: w keeps its own). */
static void
iso_give_cpus(struct iso_worker *w, const cpu_set_t *set)
{
	if (sched_setaffinity(w->iw_pid, sizeof(*set), set) != 0)
		tpd_debug("worker %d: affinity: %s", (int)w->iw_pid,
		    strerror(errno));
	w->iw_cpus = *set;
}

/*
 * Give w the calling thread's CPU affinity, policy and nice value.  A
 * thread that may run on several CPUs (the unbound pool's) gives w the
 * one it is on now: it sleeps until w's answer, so w runs in its place,
 * and the handoff both ways is a wakeup on this CPU, not an interrupt to
 * another one (bench_tpoold's part 5: 8 clients' null jobs ~15 % faster
 * on a 2-vCPU guest).  A job that runs past ISO_POLL_MS gets the whole
 * mask back (iso_widen()), so that the scheduler may move it.
 */
static void
iso_apply_sched(struct iso_worker *w)
{
	cpu_set_t want;
	int cpu;

	iso_self_read();
	if (iso_self.ok_cpus) {
		want = iso_self.cpus;
		if (CPU_COUNT(&want) > 1 && (cpu = sched_getcpu()) >= 0 &&
		    cpu < CPU_SETSIZE && CPU_ISSET(cpu, &want)) {
			CPU_ZERO(&want);
			CPU_SET(cpu, &want);
		}
		if (!w->iw_applied || !CPU_EQUAL(&want, &w->iw_cpus))
			iso_give_cpus(w, &want);
	}
	if (iso_self.ok_sched && (!w->iw_applied ||
	    iso_self.policy != w->iw_policy ||
	    iso_self.param.sched_priority != w->iw_param.sched_priority)) {
		if (sched_setscheduler(w->iw_pid, iso_self.policy,
		    &iso_self.param) != 0)
			tpd_debug("worker %d: scheduling policy: %s",
			    (int)w->iw_pid, strerror(errno));
		w->iw_policy = iso_self.policy;
		w->iw_param = iso_self.param;
	}
	if (iso_self.ok_nice && (!w->iw_applied ||
	    iso_self.nice != w->iw_nice)) {
		if (setpriority(PRIO_PROCESS, (id_t)w->iw_pid,
		    iso_self.nice) != 0)
			tpd_debug("worker %d: nice %d: %s", (int)w->iw_pid,
			    iso_self.nice, strerror(errno));
		w->iw_nice = iso_self.nice;
	}
	w->iw_applied = true;
}

/* A job that runs on: w may run on every CPU its thread may.  By the
 * thread that gave w the job with iso_apply_sched() (iso_self is its). */
static void
iso_widen(struct iso_worker *w)
{
	if (iso_self.ok_cpus && !CPU_EQUAL(&iso_self.cpus, &w->iw_cpus))
		iso_give_cpus(w, &iso_self.cpus);
}

/* ------------------------------------------------------------ the API */

/*
 * A set for plugin name's workers (no worker started yet), with its
 * settings and its user: 0, or an errno and why[].  *ret: the caller's
 * (tpd_iso_free()).
 */
static int
iso_alloc(const char *name, int plugin_fd, struct tpd_iso **ret, char *why,
    size_t whylen)
{
	struct tpd_iso *iso;
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	int error;

	if ((iso = calloc(1, sizeof(*iso))) == NULL) {
		(void)snprintf(why, whylen, "out of memory");
		return ENOMEM;
	}
	if ((error = iso_spawner_hold()) != 0) {
		(void)snprintf(why, whylen, "cannot start the spawner thread: "
		    "%s", strerror(error));
		free(iso);
		return error;
	}
	(void)pthread_mutex_init(&iso->is_lock, NULL);
	LIST_INIT(&iso->is_idle);
	LIST_INIT(&iso->is_closed);
	(void)snprintf(iso->is_name, sizeof(iso->is_name), "%s", name);
	iso->is_plugin_fd = plugin_fd;
	tpd_worker_conf_of(&tpd_opt, name, &iso->is_conf);
	if (geteuid() == 0 && tpd_opt.o_worker_user != NULL &&
	    tpd_opt.o_worker_user[0] != '\0') {
		error = getpwnam_r(tpd_opt.o_worker_user, &pw, buf, sizeof(buf),
		    &pwp);
		if (pwp == NULL) {
			(void)snprintf(why, whylen, "--worker-user %s: %s",
			    tpd_opt.o_worker_user, error != 0 ?
			    strerror(error) : "no such user");
			tpd_iso_free(iso);
			return error != 0 ? error : ENOENT;
		}
		if (pw.pw_uid == 0) {
			(void)snprintf(why, whylen, "--worker-user %s is root",
			    tpd_opt.o_worker_user);
			tpd_iso_free(iso);
			return EPERM;
		}
		iso->is_drop = true;
		iso->is_uid = pw.pw_uid;
		iso->is_gid = pw.pw_gid;
	}
	*ret = iso;
	return 0;
}

int
tpd_iso_new(const char *name, int plugin_fd, struct tpd_iso **ret,
    char *why, size_t whylen)
{
	struct iso_worker *w;
	struct tpd_iso *iso;
	unsigned int i;
	int error;

	if ((error = iso_alloc(name, plugin_fd, &iso, why, whylen)) != 0)
		return error;
	tpd_info("plugin %s: worker processes: %u warm; address space %zu, "
	    "CPU time per job %llu ms, files %u, processes %u (0: not set); "
	    "replaced after %u jobs or %zu bytes of growth; quarantined after "
	    "%u crashes in a row, for %llu s", name, iso->is_conf.wc_warm,
	    iso->is_conf.wc_memory,
	    (unsigned long long)(iso->is_conf.wc_cpu_ns / 1000000u),
	    iso->is_conf.wc_files, iso->is_conf.wc_procs, iso->is_conf.wc_jobs,
	    iso->is_conf.wc_growth, iso->is_conf.wc_quarantine_crashes,
	    (unsigned long long)(iso->is_conf.wc_quarantine_ns / 1000000000u));
	for (i = 0; i < (iso->is_conf.wc_warm > 0 ? iso->is_conf.wc_warm :
	    1); i++) {
		if ((error = iso_spawn(iso, &w, why, whylen)) != 0 ||
		    (i == 0 && (error = iso_wait_ready(iso, w, why,
		    whylen)) != 0)) {
			tpd_iso_free(iso);
			return error;
		}
		if (iso->is_conf.wc_warm == 0)
			iso_close(iso, w);	/* it loaded: enough */
		else
			iso_put_idle(iso, w);
	}
	*ret = iso;
	return 0;
}

_Static_assert(sizeof(((struct tpd_iso_decl *)0)->dcl_name) ==
    ISO_DECL_NAME_MAX + 1, "a declared name and its NUL");
_Static_assert(sizeof(((struct tpd_iso_decl *)0)->dcl_description) ==
    ISO_DECL_DESC_MAX + 1, "a declared description and its NUL");

int
tpd_iso_declaration(int plugin_fd, struct tpd_iso_decl *ret, char *why,
    size_t whylen)
{
	char msg[ISO_MSG_MAX + 1], late[64];
	struct iso_worker *w;
	struct tpd_iso *iso;
	struct iso_decl d;
	struct iso_hdr h;
	int error;

	memset(ret, 0, sizeof(*ret));
	/* The daemon-wide worker settings: the name is not known yet. */
	if ((error = iso_alloc("", plugin_fd, &iso, why, whylen)) != 0)
		return error;
	iso->is_declare = true;
	if ((error = iso_spawn(iso, &w, why, whylen)) != 0) {
		tpd_iso_free(iso);
		return error;
	}
	if ((error = iso_first(w, ISO_DECL_MS, &h, msg)) == 0 &&
	    h.ih_type == ISO_DECL && h.ih_len >= sizeof(d) &&
	    iso_reader_read(&w->iw_in, &d, sizeof(d)) == 0 &&
	    d.idl_name_len <= ISO_DECL_NAME_MAX &&
	    d.idl_desc_len <= ISO_DECL_DESC_MAX &&
	    h.ih_len == sizeof(d) + d.idl_name_len + d.idl_desc_len &&
	    iso_reader_read(&w->iw_in, ret->dcl_name, d.idl_name_len) == 0 &&
	    iso_reader_read(&w->iw_in, ret->dcl_description,
	    d.idl_desc_len) == 0) {
		ret->dcl_found = (d.idl_flags & ISO_DECL_FOUND) != 0;
		ret->dcl_has_run = (d.idl_flags & ISO_DECL_RUN) != 0;
		ret->dcl_abi_version = d.idl_abi_version;
		ret->dcl_name[d.idl_name_len] = '\0';
		ret->dcl_description[d.idl_desc_len] = '\0';
		iso_close(iso, w);	/* it exits by itself */
		tpd_iso_free(iso);
		return 0;
	}
	(void)snprintf(late, sizeof(late), "its worker did not load it "
	    "within %d s (killed)", ISO_DECL_MS / 1000);
	iso_failed_start(iso, w, error, msg, late, "loading it ended its "
	    "worker", why, whylen);
	tpd_iso_free(iso);
	return EIO;
}

void
tpd_iso_free(struct tpd_iso *iso)
{
	struct iso_worker *w;

	if (iso == NULL)
		return;
	for (;;) {
		(void)pthread_mutex_lock(&iso->is_lock);
		if ((w = LIST_FIRST(&iso->is_idle)) != NULL)
			LIST_REMOVE(w, iw_entry);
		(void)pthread_mutex_unlock(&iso->is_lock);
		if (w == NULL)
			break;
		iso_close(iso, w);
	}
	iso_reap(iso, true);
	(void)pthread_mutex_destroy(&iso->is_lock);
	free(iso);
	iso_spawner_rele();
}

void
tpd_iso_stats(struct tpd_iso *iso, struct tpd_iso_stats *ret)
{
	(void)pthread_mutex_lock(&iso->is_lock);
	ret->iss_alive = iso->is_alive;
	ret->iss_started = iso->is_started;
	ret->iss_crashed = iso->is_crashed;
	ret->iss_quarantine_end_ns = iso->is_quarantine_end;
	(void)pthread_mutex_unlock(&iso->is_lock);
}

/* A worker died with a job (why): counted; the plugin may be
 * quarantined. */
static void
iso_crashed(struct tpd_iso *iso, const char *why)
{
	(void)pthread_mutex_lock(&iso->is_lock);
	iso->is_crashed++;
	(void)snprintf(iso->is_last_crash, sizeof(iso->is_last_crash), "%s",
	    why);
	if (++iso->is_in_a_row >= iso->is_conf.wc_quarantine_crashes &&
	    iso->is_conf.wc_quarantine_crashes != 0 &&
	    iso->is_quarantine_end == 0) {
		iso->is_quarantine_end = tpd_now_ns() +
		    iso->is_conf.wc_quarantine_ns;
		tpd_warn("plugin %s: quarantined for %llu s: its workers "
		    "crashed %u times in a row (last: %s)", iso->is_name,
		    (unsigned long long)(iso->is_conf.wc_quarantine_ns /
		    1000000000u), iso->is_in_a_row, why);
	}
	(void)pthread_mutex_unlock(&iso->is_lock);
}

bool
tpd_iso_quarantined(struct tpd_iso *iso, uint64_t now, char *why,
    size_t whylen)
{
	uint64_t left;
	bool q;

	(void)pthread_mutex_lock(&iso->is_lock);
	if (iso->is_quarantine_end != 0 && now >= iso->is_quarantine_end) {
		tpd_info("plugin %s: its quarantine is over", iso->is_name);
		iso->is_quarantine_end = 0;
		iso->is_in_a_row = 0;
	}
	q = iso->is_quarantine_end != 0;
	if (q && why != NULL) {
		left = (iso->is_quarantine_end - now + 999999999u) /
		    1000000000u;
		(void)snprintf(why, whylen, "plugin %s is quarantined for "
		    "%llu s more: its worker processes crashed %u times in a "
		    "row (last: %s); a SIGHUP to tpoold lifts it",
		    iso->is_name, (unsigned long long)left, iso->is_in_a_row,
		    iso->is_last_crash);
	}
	(void)pthread_mutex_unlock(&iso->is_lock);
	return q;
}

void
tpd_iso_unquarantine(struct tpd_iso *iso)
{
	(void)pthread_mutex_lock(&iso->is_lock);
	if (iso->is_quarantine_end != 0)
		tpd_info("plugin %s: quarantine lifted", iso->is_name);
	iso->is_quarantine_end = 0;
	iso->is_in_a_row = 0;
	(void)pthread_mutex_unlock(&iso->is_lock);
}

/* Fail ctx's job with why (printf-style). */
static void
iso_fail(struct tp_plugin_ctx *ctx, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static void
iso_fail(struct tp_plugin_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctx->ctx_failv(ctx, fmt, ap);
	va_end(ap);
}

/* Send ctx's job to w: 0 or an errno (EPIPE: w is gone). */
static int
iso_send_job(const struct tpd_iso *iso, struct iso_worker *w,
    const struct tp_plugin_ctx *ctx, size_t max_result)
{
	size_t name_len = strlen(ctx->ctx_job_name);
	struct iso_job j = { .ij_id = ctx->ctx_job_id,
	    .ij_max_result = max_result, .ij_name_len = (uint32_t)name_len,
	    .ij_flags = iso->is_conf.wc_growth != 0 ? ISO_JOB_RSS : 0,
	    .ij_attempt = ctx->ctx_attempt };
	struct iso_hdr h = { .ih_type = ISO_JOB,
	    .ih_len = sizeof(j) + name_len + ctx->ctx_input_len };
	struct iovec iov[4] = { { &h, sizeof(h) }, { &j, sizeof(j) },
	    { (void *)ctx->ctx_job_name, name_len },
	    { (void *)ctx->ctx_input, ctx->ctx_input_len } };

	return iso_writev_all(w->iw_fd, iov, 4);
}

/* The CPU time w's process has used, in ns (0 if it cannot be read). */
static uint64_t
iso_cpu_ns(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Every ISO_POLL_MS while a job runs: let it run on every CPU of its pool
 * (iso_widen()), forward its cancel request once, and end the worker once
 * the job has used --worker-cpu-time (*ret_over).
 */
static void
iso_watch(const struct tpd_iso *iso, struct iso_worker *w,
    struct tp_plugin_ctx *ctx, bool *cancel_sent, bool have_clock,
    clockid_t clock, uint64_t cpu0, bool *ret_over,
    const atomic_bool *killreq, bool *ret_killed)
{
	iso_widen(w);
	if (!*cancel_sent && ctx->ctx_cancel_requested(ctx)) {
		(void)kill(w->iw_pid, SIGUSR1);
		*cancel_sent = true;
	}
	if (!*ret_killed && killreq != NULL && atomic_load(killreq)) {
		(void)kill(w->iw_pid, SIGKILL);
		*ret_killed = true;
	}
	if (have_clock && iso->is_conf.wc_cpu_ns != 0 && !*ret_over &&
	    iso_cpu_ns(clock) - cpu0 > iso->is_conf.wc_cpu_ns) {
		(void)kill(w->iw_pid, SIGKILL);
		*ret_over = true;
	}
}

/*
 * Read w's reports of the job until ISO_DONE (0, *done filled) or its end
 * (EPIPE) or nonsense from it (EPROTO).  last[ISO_MSG_MAX + 1]: the last
 * ISO_FAIL's text; *ret_over: the worker was ended for its CPU time.
 */
static int
iso_follow(const struct tpd_iso *iso, struct iso_worker *w,
    struct tp_plugin_ctx *ctx, size_t max_result, struct iso_done *done,
    char *last, bool *ret_over, const atomic_bool *killreq, bool *ret_killed)
{
	bool cancel_sent = false, have_clock;
	uint64_t cpu0 = 0, next, now;
	struct iso_hdr h;
	clockid_t clock;
	uint8_t *buf;
	uint32_t percent;
	size_t cap;
	int error;

	last[0] = '\0';
	*ret_over = false;
	*ret_killed = false;
	have_clock = iso->is_conf.wc_cpu_ns != 0 &&
	    clock_getcpuclockid(w->iw_pid, &clock) == 0;
	if (have_clock)
		cpu0 = iso_cpu_ns(clock);
	next = tpd_now_ns() + ISO_POLL_MS * 1000000ull;
	for (;;) {
		/* A read that gives up after ISO_POLL_MS (SO_RCVTIMEO). */
		error = iso_reader_fill(&w->iw_in);
		/* Also while reports keep coming. */
		if (error == ETIMEDOUT || (now = tpd_now_ns()) >= next) {
			iso_watch(iso, w, ctx, &cancel_sent,
			    have_clock, clock, cpu0,
			    ret_over, killreq, ret_killed);
			next = tpd_now_ns() + ISO_POLL_MS * 1000000ull;
		}
		if (error == ETIMEDOUT)
			continue;
		if (error != 0 || (error = iso_reader_read(&w->iw_in, &h,
		    sizeof(h))) != 0)
			return error;
		cap = h.ih_type == ISO_RESULT ? max_result : ISO_MSG_MAX;
		if (h.ih_type == ISO_DONE ? h.ih_len != sizeof(*done) :
		    h.ih_len > cap)
			return EPROTO;
		if (h.ih_type == ISO_DONE)
			return iso_reader_read(&w->iw_in, done, sizeof(*done));
		if ((buf = malloc((size_t)h.ih_len + 1)) == NULL)
			return ENOMEM;
		if ((error = iso_reader_read(&w->iw_in, buf,
		    (size_t)h.ih_len)) != 0) {
			free(buf);
			return error;
		}
		buf[h.ih_len] = '\0';
		switch (h.ih_type) {
		case ISO_PROGRESS:
			if (h.ih_len < sizeof(percent)) {
				error = EPROTO;
				break;
			}
			memcpy(&percent, buf, sizeof(percent));
			ctx->ctx_progress(ctx, percent, h.ih_len >
			    sizeof(percent) ? (char *)buf + sizeof(percent) :
			    NULL);
			break;
		case ISO_RESULT:
			(void)ctx->ctx_set_result(ctx, buf, (size_t)h.ih_len);
			break;
		case ISO_FAIL:
			iso_fail(ctx, "%s", (char *)buf);
			(void)snprintf(last, ISO_MSG_MAX + 1, "%s",
			    (char *)buf);
			break;
		default:
			error = EPROTO;
		}
		free(buf);
		if (error != 0)
			return error;
	}
}

int
tpd_iso_run(struct tpd_iso *iso, struct tp_plugin_ctx *ctx,
    size_t max_result, const atomic_bool *killreq, bool *ret_killed,
    size_t *ret_refused_len, uint64_t *ret_cpu_ns)
{
	struct iso_worker *w, *spare;
	struct iso_done done;
	char why[ISO_MSG_MAX], end[ISO_MSG_MAX + 160], last[ISO_MSG_MAX + 1];
	bool over;
	int error, tries;

	*ret_refused_len = 0;
	*ret_cpu_ns = 0;
	*ret_killed = false;
	iso_reap(iso, false);
	if (tpd_iso_quarantined(iso, tpd_now_ns(), why, sizeof(why))) {
		/* Queued before it was: it ends without running. */
		iso_fail(ctx, "%s", why);
		return EIO;
	}
	for (tries = 0;; tries++) {
		if ((error = iso_take(iso, &w, why, sizeof(why))) != 0) {
			iso_fail(ctx, "plugin %s: no worker process: %s",
			    iso->is_name, why);
			return EIO;
		}
		iso_apply_sched(w);
		if ((error = iso_send_job(iso, w, ctx, max_result)) == 0)
			break;
		/* Found dead before it had the job: the job goes to another. */
		iso_dead(iso, w, "", end, sizeof(end));
		tpd_info("plugin %s: an idle worker had ended (%s)",
		    iso->is_name, end);
		if (tries == 1) {
			iso_fail(ctx, "plugin %s: its worker processes end "
			    "before they take a job (%s)", iso->is_name, end);
			return EIO;
		}
	}

	memset(&done, 0, sizeof(done));
	if ((error = iso_follow(iso, w, ctx, max_result, &done, last,
	    &over, killreq, ret_killed)) != 0) {
		iso_dead(iso, w, last, end, sizeof(end));
		if (*ret_killed) {
			/* Its time and grace were over: no crash. */
			if (iso_spawn(iso, &spare, why, sizeof(why)) == 0)
				iso_put_idle(iso, spare);
			return EIO;
		}
		if (over)
			(void)snprintf(end + strlen(end), sizeof(end) -
			    strlen(end), ": ended by tpoold, its job used more "
			    "than --worker-cpu-time (%llu ms) of CPU time",
			    (unsigned long long)(iso->is_conf.wc_cpu_ns /
			    1000000u));
		if (error == EPROTO || error == ENOMEM)
			(void)snprintf(end + strlen(end), sizeof(end) -
			    strlen(end), " (ended by tpoold: %s)",
			    error == EPROTO ? "it broke the protocol" :
			    "out of memory");
		iso_crashed(iso, end);
		tpd_info("plugin %s: worker crashed running job %llu: %s",
		    iso->is_name, (unsigned long long)ctx->ctx_job_id, end);
		iso_fail(ctx, "plugin crashed: %s", end);
		/* Its replacement loads the plugin while the next job comes. */
		if (iso_spawn(iso, &spare, why, sizeof(why)) == 0)
			iso_put_idle(iso, spare);
		else
			tpd_warn("plugin %s: %s", iso->is_name, why);
		return EIO;
	}
	(void)pthread_mutex_lock(&iso->is_lock);
	iso->is_in_a_row = 0;
	(void)pthread_mutex_unlock(&iso->is_lock);
	*ret_refused_len = (size_t)done.id_refused_len;
	*ret_cpu_ns = done.id_cpu_ns;
	if ((done.id_flags & ISO_DONE_PERMANENT) &&
	    ctx->ctx_fail_permanent != NULL)
		ctx->ctx_fail_permanent(ctx);
	if (++w->iw_jobs == 1)
		w->iw_base_kib = done.id_rss_kib;
	if ((iso->is_conf.wc_jobs != 0 && w->iw_jobs >= iso->is_conf.wc_jobs) ||
	    (iso->is_conf.wc_growth != 0 && done.id_rss_kib >
	    w->iw_base_kib + iso->is_conf.wc_growth / 1024)) {
		tpd_debug("plugin %s: worker %d recycled after %u jobs "
		    "(%llu KiB resident, %llu after its first)", iso->is_name,
		    (int)w->iw_pid, w->iw_jobs,
		    (unsigned long long)done.id_rss_kib,
		    (unsigned long long)w->iw_base_kib);
		iso_close(iso, w);
	} else
		iso_put_idle(iso, w);
	return done.id_ret;
}
