/*
 * listen.c -- the listening socket: the one systemd passes (socket
 * activation, LISTEN_FDS), checked to be a listening Unix stream socket and
 * made non-blocking; else one bound at --socket with --socket-mode and
 * --socket-group.  The socket's folder must be one that nobody but root
 * and the daemon's user can change, and so every folder above it (sticky
 * ones excepted) and every symbolic link on the way (safepath.c); else
 * startup fails, naming the folder and the rule.  The folder is opened
 * once and everything after goes relative to its descriptor, not by path.
 * A stale socket file (nobody listening behind it) is removed; a live one
 * is left alone and startup fails; anything that is not a socket is never
 * removed.
 *
 * Accepting: up to ACCEPT_BATCH connections per wakeup, handed to
 * tpd_conn_accept().  When the process is out of file descriptors (EMFILE,
 * ENFILE) or memory, accept(2) fails and leaves the connection queued, so
 * the listening socket stays readable: rather than spin on it, the
 * listener's event is taken off the loop (as OpenSMTPD does) until a
 * connection closes (tpd_listen_fd_freed) or a timer fires, starting at
 * ACCEPT_PAUSE_MIN_MS and doubling up to ACCEPT_PAUSE_MAX_MS while
 * accept keeps failing.  Waiting clients stay in the kernel's backlog and
 * are served once descriptors are free.  One warning when a pause
 * begins, one notice when accepting works again.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "conn.h"
#include "listen.h"
#include "log.h"
#include "options.h"
#include "safepath.h"

#define	ACCEPT_BATCH		64
#define	ACCEPT_PAUSE_MIN_MS	100
#define	ACCEPT_PAUSE_MAX_MS	1000

static int listen_fd = -1;
static bool listen_activated;	/* from systemd: never unlink it */
static bool listen_bound;	/* we created the file at tpd_opt.o_socket */
static int listen_dirfd = -1;	/* its folder, checked (O_PATH) */
static const char *listen_name;	/* its name there (in tpd_opt.o_socket) */
static struct event *listen_ev;
static struct event *listen_pause_ev;
static bool listen_paused;		/* the listener is off the loop */
static unsigned int listen_pause_ms;	/* the next pause's length */
static uint64_t listen_trouble_ns;	/* accept failing since then, or 0 */
static int listen_metrics_fd = -1;	/* systemd's "metrics" socket,
					 *    untaken */
static char listen_activated_path[
    sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
static unsigned int listen_retries;	/* pauses since listen_trouble_ns */

bool
tpd_listen_activated(void)
{
	return listen_activated;
}

int
tpd_listen_take_metrics_fd(void)
{
	int fd = listen_metrics_fd;

	listen_metrics_fd = -1;
	return fd;
}

/*
 * A socket from systemd, if there is one: 1 taken, 0 none, -errno.  The
 * one named "metrics" (FileDescriptorName=, tpoold-metrics.socket) is kept
 * for the metrics endpoint; of the others the first is the socket.
 */
static int
listen_from_systemd(void)
{
	struct sockaddr_un sun;
	socklen_t sunlen;
	char **names = NULL;
	int n, i, fd = -1, r;

	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		tpd_err("sd_listen_fds: %s", strerror(-n));
		return n;
	}
	for (i = 0; i < n; i++) {
		if (names != NULL && names[i] != NULL &&
		    strcmp(names[i], "metrics") == 0 && listen_metrics_fd < 0) {
			r = sd_is_socket(SD_LISTEN_FDS_START + i, AF_UNSPEC,
			    SOCK_STREAM, 1);
			if (r <= 0 || fcntl(SD_LISTEN_FDS_START + i, F_SETFL,
			    O_NONBLOCK) != 0 || fcntl(SD_LISTEN_FDS_START + i,
			    F_SETFD, FD_CLOEXEC) != 0)
				tpd_warn("the metrics socket systemd passed is "
				    "not a listening stream socket; not used");
			else
				listen_metrics_fd = SD_LISTEN_FDS_START + i;
		} else if (fd < 0) {
			fd = SD_LISTEN_FDS_START + i;
		} else {
			tpd_warn("systemd passed another socket (%s); not used",
			    names != NULL && names[i] != NULL ? names[i] :
			    "unnamed");
		}
	}
	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
	if (fd < 0)
		return 0;
	r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);
	if (r <= 0) {
		tpd_err("the socket systemd passed is not a listening Unix "
		    "stream socket%s%s",
		    r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
		return r < 0 ? r : -ENOTSOCK;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		r = errno;
		tpd_err("socket from systemd: fcntl: %s", strerror(r));
		return -r;
	}
	listen_fd = fd;
	listen_activated = true;
	/* Its name, for the log (an abstract or unnamed one: none). */
	sunlen = sizeof(sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &sunlen) == 0 &&
	    sunlen > offsetof(struct sockaddr_un, sun_path) &&
	    sun.sun_path[0] != '\0')
		(void)snprintf(listen_activated_path,
		    sizeof(listen_activated_path), "%.*s",
		    (int)(sunlen - offsetof(struct sockaddr_un, sun_path)),
		    sun.sun_path);
	return 1;
}

const char *
tpd_listen_path(void)
{
	if (listen_activated)
		return listen_activated_path[0] != '\0' ?
		    listen_activated_path : "(unnamed)";
	return tpd_opt.o_socket;
}

/*
 * The address of the entry listen_name of the checked folder listen_dirfd:
 * "/proc/self/fd/D/NAME".  Binding or connecting there never goes by the
 * folder's path: the kernel takes /proc/self/fd/D to the very folder the
 * descriptor holds, and only root and the daemon's user can change the
 * entries in it (safepath checked), so NAME is what we saw with fstatat.
 * (The system's tables, ss -x, show the socket under this name.)
 * ENAMETOOLONG when it does not fit.
 */
static int
listen_addr(struct sockaddr_un *sun)
{
	int len;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	len = snprintf(sun->sun_path, sizeof(sun->sun_path),
	    "/proc/self/fd/%d/%s", listen_dirfd, listen_name);
	return len < 0 || (size_t)len >= sizeof(sun->sun_path) ?
	    ENAMETOOLONG : 0;
}

/* Is something listening at sun?  Then it is not ours to remove. */
static bool
listen_is_live(const struct sockaddr_un *sun)
{
	int fd;
	bool live;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;	/* cannot tell: be safe */
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ||
	    (errno != ECONNREFUSED && errno != ENOENT);
	(void)close(fd);
	return live;
}

/* Log why the socket's folder dir is refused; the errno to return. */
static int
listen_dir_refused(const char *dir, int error, const char *why)
{
	tpd_err("socket directory %s: %s; not starting (the socket's folder "
	    "must be owned by root or the daemon's user and writable by "
	    "nobody else, and so must every folder above it unless sticky; "
	    "a symbolic link on the way must be root's or the daemon's "
	    "user's)", dir, why);
	return error;
}

/*
 * Open the socket's folder dir, checked, into listen_dirfd; when only the
 * folder itself is missing (e.g. /run/tpool, run by hand), make it, 0755,
 * in its checked parent.
 */
static int
listen_open_dir(const char *dir)
{
	char why[512], *parent, *slash;
	int error, pfd;

	error = tpd_safepath_opendir(dir, &listen_dirfd, why, sizeof(why));
	if (error != ENOENT)
		return error == 0 ? 0 : listen_dir_refused(dir, error, why);
	if ((parent = strdup(dir)) == NULL)
		return ENOMEM;
	slash = strrchr(parent, '/');
	if (slash == NULL || slash[1] == '\0') {
		free(parent);
		return listen_dir_refused(dir, error, why);
	}
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	error = tpd_safepath_opendir(parent, &pfd, why, sizeof(why));
	if (error != 0) {
		error = listen_dir_refused(parent, error, why);
		free(parent);
		return error;
	}
	free(parent);
	if (mkdirat(pfd, strrchr(dir, '/') + 1, 0755) == 0)
		tpd_info("created %s", dir);
	(void)close(pfd);
	error = tpd_safepath_opendir(dir, &listen_dirfd, why, sizeof(why));
	return error == 0 ? 0 : listen_dir_refused(dir, error, why);
}

/*
 * Bind the socket at tpd_opt.o_socket.  Its folder is opened once and
 * checked (safepath: nobody but root and the daemon's user can change it
 * or any folder above it); everything after goes relative to that
 * descriptor, never by the path: an old entry is removed only if it is a
 * socket nobody listens on, the bind, the group and the mode.
 */
static int
listen_bind(void)
{
	const char *path = tpd_opt.o_socket;
	struct sockaddr_un sun;
	struct stat st;
	struct group *gr;
	char *dir, *slash;
	mode_t omask;
	int fd, error;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		tpd_err("socket path too long (%zu bytes, at most %zu): %s",
		    strlen(path),
		    sizeof(sun.sun_path) - 1, path);
		return ENAMETOOLONG;
	}
	slash = strrchr(path, '/');
	listen_name = slash != NULL ? slash + 1 : path;
	if (listen_name[0] == '\0' || strcmp(listen_name, ".") == 0 ||
	    strcmp(listen_name, "..") == 0) {
		tpd_err("socket path %s names no file", path);
		return EINVAL;
	}
	if (!tpd_safepath_proc_ok()) {
		tpd_err("socket %s: /proc is not mounted, and the socket is "
		    "made only through the descriptor of its checked folder "
		    "(/proc/self/fd/N); not starting", path);
		return ENOENT;
	}
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return ENOMEM;
	error = listen_open_dir(dir);
	free(dir);
	if (error != 0)
		return error;
	if ((error = listen_addr(&sun)) != 0) {
		tpd_err("socket name %s too long to bind through its folder's "
		    "descriptor (at most %d bytes)", listen_name,
		    (int)sizeof(sun.sun_path) - 1 -
		    snprintf(NULL, 0, "/proc/self/fd/%d/", listen_dirfd));
		return error;
	}

	if (fstatat(listen_dirfd, listen_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			tpd_err("%s exists and is not a socket; not touching "
			    "it", path);
			return EEXIST;
		}
		if (listen_is_live(&sun)) {
			tpd_err("%s: another daemon is listening there", path);
			return EADDRINUSE;
		}
		tpd_notice("removing stale socket %s", path);
		if (unlinkat(listen_dirfd, listen_name, 0) != 0 &&
		    errno != ENOENT) {
			error = errno;
			tpd_err("unlink %s: %s", path, strerror(error));
			return error;
		}
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		error = errno;
		tpd_err("socket: %s", strerror(error));
		return error;
	}
	/* Created private, opened up to --socket-mode once its group is set. */
	omask = umask(0177);
	error = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ? errno : 0;
	(void)umask(omask);
	if (error != 0) {
		tpd_err("bind %s: %s", path, strerror(error));
		(void)close(fd);
		return error;
	}
	listen_bound = true;
	listen_fd = fd;
	/*
	 * By name in the checked folder, which nobody else can write: the
	 * entry is the socket just bound.  AT_SYMLINK_NOFOLLOW all the same
	 * (fchmodat has no such flag on Linux).
	 */
	if (tpd_opt.o_socket_group != NULL) {
		if ((gr = getgrnam(tpd_opt.o_socket_group)) == NULL) {
			tpd_err("socket group '%s': no such group",
			    tpd_opt.o_socket_group);
			return ENOENT;
		}
		if (fchownat(listen_dirfd, listen_name, (uid_t)-1, gr->gr_gid,
		    AT_SYMLINK_NOFOLLOW) != 0) {
			error = errno;
			tpd_err("chown %s to group %s: %s", path,
			    tpd_opt.o_socket_group,
			    strerror(error));
			return error;
		}
	}
	if (fchmodat(listen_dirfd, listen_name, tpd_opt.o_socket_mode,
	    0) != 0) {
		error = errno;
		tpd_err("chmod %s: %s", path, strerror(error));
		return error;
	}
	if (listen(fd, SOMAXCONN) != 0) {
		error = errno;
		tpd_err("listen %s: %s", path, strerror(error));
		return error;
	}
	return 0;
}

static void
listen_resume(void)
{
	if (!listen_paused || listen_ev == NULL)
		return;
	listen_paused = false;
	(void)evtimer_del(listen_pause_ev);
	(void)event_add(listen_ev, NULL);
}

static void
listen_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	listen_resume();
}

void
tpd_listen_fd_freed(void)
{
	/* A descriptor is free now: try at once rather than at the timer. */
	listen_resume();
}

bool
tpd_listen_paused(void)
{
	return listen_paused;
}

/* accept failed with error, and will again: take the listener off the loop. */
static void
listen_pause(int error)
{
	struct timeval tv;

	if (listen_trouble_ns == 0) {
		listen_trouble_ns = tpd_now_ns();
		listen_retries = 0;
		listen_pause_ms = ACCEPT_PAUSE_MIN_MS;
		tpd_warn("accept: %s; not accepting until a connection closes "
		    "(retrying every %d to %d ms)", strerror(error),
		    ACCEPT_PAUSE_MIN_MS,
		    ACCEPT_PAUSE_MAX_MS);
	} else {
		tpd_debug("accept: %s again; pausing %u ms", strerror(error),
		    listen_pause_ms);
	}
	listen_retries++;
	tv.tv_sec = listen_pause_ms / 1000;
	tv.tv_usec = (suseconds_t)(listen_pause_ms % 1000) * 1000;
	listen_pause_ms = listen_pause_ms * 2 > ACCEPT_PAUSE_MAX_MS ?
	    ACCEPT_PAUSE_MAX_MS :
	    listen_pause_ms * 2;
	listen_paused = true;
	(void)event_del(listen_ev);
	(void)evtimer_add(listen_pause_ev, &tv);
}

static void
listen_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	int i, cfd, error;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			if (listen_trouble_ns != 0) {
				tpd_notice("accepting again after %llu ms (%u "
				    "pauses)",
				    (unsigned long long)((tpd_now_ns() -
				    listen_trouble_ns) / 1000000),
				    listen_retries);
				listen_trouble_ns = 0;
			}
			tpd_conn_accept(cfd);
			continue;
		}
		error = errno;
		if (error == EAGAIN || error == EWOULDBLOCK)
			break;
		if (error == EINTR || error == ECONNABORTED)
			continue;
		if (error != EMFILE && error != ENFILE && error != ENOBUFS &&
		    error != ENOMEM)
			tpd_err("accept: %s", strerror(error));
		/* Whatever it is, the connection is still queued: no spin. */
		listen_pause(error);
		break;
	}
}

int
tpd_listen_start(struct event_base *base)
{
	int r;

	r = listen_from_systemd();
	if (r < 0)
		return -r;
	if (r == 0 && (r = listen_bind()) != 0)
		return r;
	listen_ev = event_new(base, listen_fd, EV_READ | EV_PERSIST,
	    listen_accept_cb, NULL);
	listen_pause_ev = evtimer_new(base, listen_resume_cb, NULL);
	if (listen_ev == NULL || listen_pause_ev == NULL ||
	    event_add(listen_ev, NULL) != 0) {
		tpd_err("cannot watch the listening socket");
		return ENOMEM;
	}
	return 0;
}

void
tpd_listen_stop(void)
{
	if (listen_ev != NULL) {
		event_free(listen_ev);
		listen_ev = NULL;
	}
	if (listen_pause_ev != NULL) {
		event_free(listen_pause_ev);
		listen_pause_ev = NULL;
	}
	listen_paused = false;
	listen_trouble_ns = 0;
	if (listen_fd >= 0) {
		(void)close(listen_fd);
		listen_fd = -1;
	}
	/* A socket systemd made stays: it will start us again on it. */
	if (listen_bound) {
		(void)unlinkat(listen_dirfd, listen_name, 0);
		listen_bound = false;
	}
	if (listen_dirfd >= 0) {
		(void)close(listen_dirfd);
		listen_dirfd = -1;
	}
	if (listen_metrics_fd >= 0) {
		(void)close(listen_metrics_fd);
		listen_metrics_fd = -1;
	}
}
