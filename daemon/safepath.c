/*
 * safepath.c -- open a directory by path so that what is checked is what
 * is used: one component at a time, each opened relative to the descriptor
 * of the folder before it with O_NOFOLLOW, checked by fstat(2) on its own
 * descriptor, and the descriptor of the last one handed back.  The caller
 * then works relative to that descriptor (openat, fstatat, unlinkat, ...),
 * never by the path again, so nobody can swap a component between the
 * check and the use: the rules below make sure no one but root and the
 * daemon's own user can change any folder on the way, and a folder that
 * only they can change stays what was checked.
 *
 *	"/a/b/c":  fd("/") --openat "a"--> fd(a) --"b"--> fd(b) --"c"--> fd(c)
 *	                        check a         check b        check c (last)
 *	link "b" (root's, or the daemon's): its target spliced in front of
 *	what is left ("x/y" + "/c"), walked from fd(a), or from "/" when
 *	the target is absolute; ".." opens the parent of the current folder
 *
 * The rules, for the daemon's effective uid E: every folder is owned by
 * root or E and writable neither by others nor by a group, unless that
 * group is its owner's private group (the owner's primary group, with no
 * other member, as Debian's OpenSSH allows); a folder above the last may
 * break the writable rule when it is sticky (as /tmp is: nobody else can
 * rename or remove an entry of ours in it).  A symbolic link is followed
 * only when root or E owns it (others could point it anywhere at any
 * moment), at most TPD_SAFEPATH_MAXLINKS of them.
 *
 * Nothing here logs or keeps state; the caller logs the reason it gets.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statfs.h>

#include <linux/magic.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "safepath.h"

bool
tpd_safepath_owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/*
 * Is st's group its owner's own ("user private group": the owner's
 * primary group, with no member but the owner)?  Then nobody else is in
 * it.
 */
static bool
safepath_group_private(const struct stat *st)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char pwbuf[4096], grbuf[16384];
	char **m;

	if (getpwuid_r(st->st_uid, &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 ||
	    pwp == NULL || pw.pw_gid != st->st_gid)
		return false;
	if (getgrgid_r(st->st_gid, &gr, grbuf, sizeof(grbuf), &grp) != 0 ||
	    grp == NULL)
		return false;
	for (m = gr.gr_mem; *m != NULL; m++)
		if (strcmp(*m, pw.pw_name) != 0)
			return false;
	return true;
}

const char *
tpd_safepath_writable_by(const struct stat *st)
{
	if (st->st_mode & S_IWOTH)
		return "others";
	if ((st->st_mode & S_IWGRP) && !safepath_group_private(st))
		return "its group";
	return NULL;
}

bool
tpd_safepath_proc_ok(void)
{
	struct statfs sf;

	return statfs("/proc/self/fd", &sf) == 0 &&
	    sf.f_type == PROC_SUPER_MAGIC;
}

static int
safepath_why(char *why, size_t whylen, int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return error;
}

/*
 * The rules for the folder st, named name: last says whether it is the
 * one asked for (no sticky exception, and the reason does not name it).
 */
static int
safepath_check_dir(const struct stat *st, const char *name, bool last,
    char *why, size_t whylen)
{
	const char *by;

	if (!tpd_safepath_owner_ok(st->st_uid))
		return safepath_why(why, whylen, EACCES,
		    "%s%sowned by uid %u, not root or the daemon's uid %u",
		    last ? "" : name, last ? "" : " is ",
		    (unsigned int)st->st_uid, (unsigned int)geteuid());
	by = tpd_safepath_writable_by(st);
	if (by != NULL && (last || !(st->st_mode & S_ISVTX)))
		return safepath_why(why, whylen, EACCES,
		    "%s%swritable by %s (mode %04o)",
		    last ? "" : name, last ? "" : " is ", by,
		    (unsigned int)(st->st_mode & 07777));
	return 0;
}

/*
 * Take the first component of rest (skipping slashes) into name[]; false
 * when none is left.  ENAMETOOLONG in *error for one over NAME_MAX.
 */
static bool
safepath_next(char *rest, char *name, int *error)
{
	size_t skip, len;

	skip = strspn(rest, "/");
	len = strcspn(rest + skip, "/");
	if (len == 0) {
		rest[0] = '\0';
		return false;
	}
	if (len > NAME_MAX) {
		*error = ENAMETOOLONG;
		return false;
	}
	memcpy(name, rest + skip, len);
	name[len] = '\0';
	memmove(rest, rest + skip + len, strlen(rest + skip + len) + 1);
	return true;
}

/* Replace *fd by a new descriptor of "/", checked; cur becomes "/". */
static int
safepath_root(int *fd, char *cur, char *why, size_t whylen)
{
	struct stat st;
	int nfd, error;

	nfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (nfd < 0 || fstat(nfd, &st) != 0) {
		error = errno;
		if (nfd >= 0)
			(void)close(nfd);
		return safepath_why(why, whylen, error, "/: %s",
		    strerror(error));
	}
	if (*fd >= 0)
		(void)close(*fd);
	*fd = nfd;
	(void)strcpy(cur, "/");
	return safepath_check_dir(&st, "/", false, why, whylen);
}

/* cur + "/" + name into cur (of PATH_MAX bytes). */
static int
safepath_append(char *cur, const char *name, char *why, size_t whylen)
{
	size_t len = strlen(cur);

	if (len + 1 + strlen(name) >= PATH_MAX)
		return safepath_why(why, whylen, ENAMETOOLONG,
		    "%s/%s: longer than %d bytes", cur, name, PATH_MAX);
	(void)snprintf(cur + len, PATH_MAX - len, "%s%s",
	    strcmp(cur, "/") == 0 ? "" : "/", name);
	return 0;
}

/*
 * The symbolic link lfd (named cur/name, borrowed): if its owner may
 * decide, splice its target in front of rest (of 2 * PATH_MAX bytes) and
 * restart at "/" for an absolute one.
 */
static int
safepath_link(int lfd, const struct stat *st, const char *name, int *fd,
    char *cur, char *rest, char *why, size_t whylen)
{
	char target[PATH_MAX];
	ssize_t n;

	if (!tpd_safepath_owner_ok(st->st_uid))
		return safepath_why(why, whylen, EACCES,
		    "%s%s%s is a symbolic link owned by uid %u, not root or "
		    "the daemon's uid %u", cur,
		    strcmp(cur, "/") == 0 ? "" : "/", name,
		    (unsigned int)st->st_uid, (unsigned int)geteuid());
	n = readlinkat(lfd, "", target, sizeof(target));
	if (n < 0 || n == 0 || (size_t)n >= sizeof(target))
		return safepath_why(why, whylen, n < 0 ? errno : ENOENT,
		    "%s%s%s: cannot read the link: %s", cur,
		    strcmp(cur, "/") == 0 ? "" : "/", name,
		    n < 0 ? strerror(errno) : "empty or too long");
	target[n] = '\0';
	if (strlen(rest) + (size_t)n + 2 > 2 * PATH_MAX)
		return safepath_why(why, whylen, ENAMETOOLONG,
		    "%s: the path through the link is too long", name);
	memmove(rest + n + 1, rest, strlen(rest) + 1);
	memcpy(rest, target, (size_t)n);
	rest[n] = '/';
	if (target[0] == '/')
		return safepath_root(fd, cur, why, whylen);
	return 0;
}

int
tpd_safepath_opendir(const char *path, int *ret_fd, char *why,
    size_t whylen)
{
	char rest[2 * PATH_MAX], cur[PATH_MAX], name[NAME_MAX + 1];
	struct stat st;
	unsigned int links = 0;
	int fd = -1, nfd, error = 0;
	char *slash;

	if (path[0] == '\0')
		return safepath_why(why, whylen, ENOENT, "an empty path");
	if (path[0] == '/') {
		if (strlen(path) >= sizeof(rest))
			return safepath_why(why, whylen, ENAMETOOLONG,
			    "longer than %zu bytes", sizeof(rest) - 1);
		(void)strcpy(rest, path);
	} else {
		/* The working directory as the kernel knows it: no links. */
		if (getcwd(rest, PATH_MAX) == NULL)
			return safepath_why(why, whylen, errno,
			    "the working directory: %s", strerror(errno));
		if (strlen(rest) + 1 + strlen(path) >= sizeof(rest))
			return safepath_why(why, whylen, ENAMETOOLONG,
			    "longer than %zu bytes", sizeof(rest) - 1);
		(void)strcat(rest, "/");
		(void)strcat(rest, path);
	}
	if ((error = safepath_root(&fd, cur, why, whylen)) != 0)
		goto out;

	while (safepath_next(rest, name, &error)) {
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			nfd = openat(fd, "..",
			    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (nfd < 0 || fstat(nfd, &st) != 0) {
				error = errno;
				if (nfd >= 0)
					(void)close(nfd);
				(void)safepath_why(why, whylen, error,
				    "%s/..: %s", cur, strerror(error));
				goto out;
			}
			(void)close(fd);
			fd = nfd;
			if ((slash = strrchr(cur, '/')) != NULL)
				slash[slash == cur ? 1 : 0] = '\0';
			goto enter;
		}
		nfd = openat(fd, name,
		    O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		if (nfd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
			/* A link (or no folder): look at the entry itself. */
			nfd = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (nfd >= 0 && fstat(nfd, &st) == 0 &&
			    S_ISLNK(st.st_mode)) {
				if (++links > TPD_SAFEPATH_MAXLINKS)
					error = safepath_why(why, whylen, ELOOP,
					    "more than %d symbolic links",
					    TPD_SAFEPATH_MAXLINKS);
				else
					error = safepath_link(nfd, &st, name,
					    &fd, cur, rest, why, whylen);
				(void)close(nfd);
				if (error != 0)
					goto out;
				continue;
			}
			if (nfd >= 0)
				(void)close(nfd);
			errno = ENOTDIR;
			nfd = -1;
		}
		if (nfd < 0 || fstat(nfd, &st) != 0) {
			error = errno;
			if (nfd >= 0)
				(void)close(nfd);
			(void)safepath_why(why, whylen, error, "%s%s%s: %s",
			    cur, strcmp(cur, "/") == 0 ? "" : "/", name,
			    strerror(error));
			goto out;
		}
		(void)close(fd);
		fd = nfd;
		if ((error = safepath_append(cur, name, why, whylen)) != 0)
			goto out;
enter:
		/* The last folder is checked below, by the stricter rule. */
		if (strspn(rest, "/") != strlen(rest) &&
		    (error = safepath_check_dir(&st, cur, false, why,
		    whylen)) != 0)
			goto out;
	}
	if (error == ENAMETOOLONG) {
		(void)safepath_why(why, whylen, error,
		    "a component is longer than %d bytes", NAME_MAX);
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		error = safepath_why(why, whylen, errno, "%s", strerror(errno));
		goto out;
	}
	if ((error = safepath_check_dir(&st, cur, true, why, whylen)) != 0)
		goto out;
	*ret_fd = fd;
	return 0;

out:
	if (fd >= 0)
		(void)close(fd);
	return error;
}
