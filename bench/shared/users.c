/*
 * users.c -- bench_shared's client processes, each a throwaway uid, and
 * the end of everything the bench started, on every exit path.
 *
 * A client process is forked by the bench (root) and becomes a uid that
 * no account needs to exist for (group the same number, no supplementary
 * groups): tpoold tells its peers apart by SO_PEERCRED alone.  It then
 * asks for SIGKILL at its parent's death (after setuid, which clears that
 * setting), closes every descriptor but its two pipes, and runs its part.
 * Over one pipe it sends the bench fixed-size reports; over the other the
 * bench sends it a "go" byte, and EOF to stop.
 *
 * The pids of the client processes are in a table that the signal
 * handlers (SIGINT, SIGTERM, SIGHUP, and SIGALRM for the alarm on the
 * whole run) and the exit path read to SIGKILL what is left; then the
 * plugin copies are removed, and proc.c's cleanup kills tpoold and
 * removes the temporary folder.  Client processes never call exit(3), so
 * the bench's atexit cleanup runs in the bench only.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shared.h"

#define	USERS_MAX	64	/* client processes alive at once */
#define	USERS_POLL_MS	10	/* between samples of the daemon */

/* Read by the signal handlers: 0, or a live client process's pid. */
static volatile sig_atomic_t users_pids[USERS_MAX];
static pid_t users_main_pid;

/* The signals that end the bench (0-terminated). */
static const int users_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM, 0 };

/* Async-signal-safe: SIGKILL every client process, then reap them. */
static void
users_kill_all(void)
{
	int i;

	for (i = 0; i < USERS_MAX; i++)
		if (users_pids[i] != 0)
			(void)kill(users_pids[i], SIGKILL);
	for (i = 0; i < USERS_MAX; i++) {
		if (users_pids[i] == 0)
			continue;
		(void)waitpid(users_pids[i], NULL, 0);
		users_pids[i] = 0;
	}
}

static void
users_atexit(void)
{
	if (getpid() != users_main_pid)
		return;
	users_kill_all();
	daemon_plugins_remove();
}

static void
users_signal(int sig)
{
	const char *msg = sig == SIGALRM ?
	    SH_NAME ": time limit of the whole run reached; stopping\n" :
	    SH_NAME ": interrupted; stopping\n";

	/* A client process between its fork and its own handlers. */
	if (getpid() != users_main_pid)
		_exit(128 + sig);
	(void)!write(STDERR_FILENO, msg, strlen(msg));
	users_kill_all();
	daemon_plugins_remove();
	proc_cleanup();
	_exit(sig == SIGALRM ? 3 : 128 + sig);
}

int
users_init(void)
{
	struct sigaction sa = { .sa_handler = users_signal };
	const int *sig;

	users_main_pid = getpid();
	/* After proc_init()'s: ours runs first, proc.c's then. */
	if (atexit(users_atexit) != 0)
		return ENOMEM;
	/* In place of proc.c's handlers, which would leave our children. */
	(void)sigfillset(&sa.sa_mask);
	for (sig = users_sigs; *sig != 0; sig++)
		if (sigaction(*sig, &sa, NULL) != 0)
			return errno;
	return 0;
}

/*
 * In the new client process: default signals, no descriptors but its
 * pipes, then uid; die with the bench.  Never returns.
 */
static void
users_become(uid_t uid, pid_t parent, struct sh_part *p, sh_part_fn *fn)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	unsigned int lo, hi;
	const int *sig;

	(void)alarm(0);
	for (sig = users_sigs; *sig != 0; sig++)
		(void)sigaction(*sig, &sa, NULL);
	/* Other children's pipes too: their EOF must not wait for us. */
	lo = (unsigned int)(p->pt_rep_fd < p->pt_go_fd ? p->pt_rep_fd : p->pt_go_fd);
	hi = (unsigned int)(p->pt_rep_fd < p->pt_go_fd ? p->pt_go_fd : p->pt_rep_fd);
	if (lo > 3)
		(void)close_range(3, lo - 1, 0);
	if (hi > lo + 1)
		(void)close_range(lo + 1, hi - 1, 0);
	(void)close_range(hi + 1, ~0u, 0);

	if (setgroups(0, NULL) != 0 || setgid((gid_t)uid) != 0 ||
	    setuid(uid) != 0)
		_exit(120);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(121);
	_exit((*fn)(p));
}

int
users_start(uid_t uid, unsigned int index, const char *sock, sh_part_fn *fn,
    const void *arg, struct sh_child *ch)
{
	struct sh_part part;
	int rep[2], go[2], error, i;
	pid_t parent, pid;

	for (i = 0; i < USERS_MAX && users_pids[i] != 0; i++)
		continue;
	if (i == USERS_MAX)
		return EAGAIN;
	if (pipe2(rep, O_CLOEXEC) != 0)
		return errno;
	if (pipe2(go, O_CLOEXEC) != 0) {
		error = errno;
		(void)close(rep[0]);
		(void)close(rep[1]);
		return error;
	}
	(void)fflush(NULL);
	parent = getpid();
	if ((pid = fork()) < 0) {
		error = errno;
		(void)close(rep[0]);
		(void)close(rep[1]);
		(void)close(go[0]);
		(void)close(go[1]);
		return error;
	}
	if (pid == 0) {
		part.pt_sock = sock;
		part.pt_index = index;
		part.pt_uid = uid;
		part.pt_rep_fd = rep[1];
		part.pt_go_fd = go[0];
		part.pt_arg = arg;
		users_become(uid, parent, &part, fn);
	}
	users_pids[i] = pid;
	(void)close(rep[1]);
	(void)close(go[0]);
	memset(ch, 0, sizeof(*ch));
	ch->ch_slot = i;
	ch->ch_pid = pid;
	ch->ch_rep_fd = rep[0];
	ch->ch_go_fd = go[1];
	return 0;
}

/* Read the next report of ch; ECHILD at EOF (it ended without one). */
static int
users_read(struct sh_child *ch)
{
	struct sh_report rep;
	ssize_t n;

	do
		n = read(ch->ch_rep_fd, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rep)) {
		(void)close(ch->ch_rep_fd);
		ch->ch_rep_fd = -1;
		return n < 0 ? errno : ECHILD;
	}
	if (ch->ch_nreports < 2)
		ch->ch_rep[ch->ch_nreports] = rep;
	ch->ch_nreports++;
	return 0;
}

int
users_wait(struct sh_child *ch, unsigned int n, unsigned int which,
    uint64_t deadline_ns)
{
	struct pollfd pfd[USERS_MAX];
	unsigned int idx[USERS_MAX], i, k;
	int error, first = 0;

	for (;;) {
		for (i = k = 0; i < n && k < USERS_MAX; i++) {
			if (ch[i].ch_nreports > which || ch[i].ch_rep_fd < 0)
				continue;
			pfd[k].fd = ch[i].ch_rep_fd;
			pfd[k].events = POLLIN;
			idx[k++] = i;
		}
		if (k == 0)
			break;
		if (tu_now_ns() > deadline_ns)
			return ETIMEDOUT;
		daemon_sample(NULL);
		if (poll(pfd, k, USERS_POLL_MS) < 0 && errno != EINTR)
			return errno;
		for (i = 0; i < k; i++) {
			if (pfd[i].revents == 0)
				continue;
			if ((error = users_read(&ch[idx[i]])) != 0 && first == 0)
				first = error;
		}
	}
	for (i = 0; i < n && first == 0; i++)
		if (ch[i].ch_nreports <= which)
			first = ECHILD;
	return first;
}

int
users_go(struct sh_child *ch)
{
	if (write(ch->ch_go_fd, "g", 1) != 1)
		return errno;
	return 0;
}

/* Reap pid by deadline_ns, else SIGKILL it; true when it exited 0. */
static bool
users_reap(pid_t pid, uint64_t deadline_ns)
{
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return false;
		if (tu_now_ns() > deadline_ns) {
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			return false;
		}
		daemon_sample(NULL);
		(void)nanosleep(&pause, NULL);
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

unsigned int
users_stop(struct sh_child *ch, unsigned int n)
{
	uint64_t deadline;
	unsigned int i, bad = 0;

	deadline = tu_now_ns() + (uint64_t)SH_STOP_LIMIT_MS * 1000000;
	for (i = 0; i < n; i++) {
		if (ch[i].ch_go_fd >= 0)
			(void)close(ch[i].ch_go_fd);
		ch[i].ch_go_fd = -1;
	}
	(void)users_wait(ch, n, 1, deadline);
	for (i = 0; i < n; i++) {
		if (ch[i].ch_pid > 0) {
			if (!users_reap(ch[i].ch_pid, deadline))
				bad++;
			users_pids[ch[i].ch_slot] = 0;
			ch[i].ch_pid = 0;
		}
		if (ch[i].ch_rep_fd >= 0)
			(void)close(ch[i].ch_rep_fd);
		ch[i].ch_rep_fd = -1;
	}
	return bad;
}

/* ------------------------------------------------ in a client process */

void
part_report(struct sh_part *p, const struct sh_report *rep)
{
	(void)!write(p->pt_rep_fd, rep, sizeof(*rep));
}

int
part_word(struct sh_part *p, int timeout_ms)
{
	struct pollfd pfd;
	char b;
	int r;

	pfd.fd = p->pt_go_fd;
	pfd.events = POLLIN;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r < 0 || read(p->pt_go_fd, &b, 1) != 1)
		return -1;
	return 1;
}

int
part_connect(struct sh_part *p, struct tpc **ret_c)
{
	struct tpc *c;
	int error;

	if ((error = tpc_connect(p->pt_sock, &c)) != 0)
		return error;
	(void)tpc_set_timeout(c, SH_CALL_TIMEOUT_MS);
	*ret_c = c;
	return 0;
}

void
part_fail(struct sh_report *rep, struct tpc *c, int error, const char *what)
{
	Tpool__ErrorCode code;
	const char *msg;

	rep->rp_error = error;
	if (error == TPC_EDAEMON && c != NULL) {
		code = tpc_last_error(c, &msg);
		rep->rp_refusal = (int)code;
		(void)snprintf(rep->rp_text, sizeof(rep->rp_text), "%s: %s: %s",
		    what, tp_error_name(code), msg);
	} else
		(void)snprintf(rep->rp_text, sizeof(rep->rp_text), "%s: %s",
		    what, tpc_strerror(error));
}
