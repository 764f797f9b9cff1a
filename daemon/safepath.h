/*
 * safepath.h -- opening a directory that only root or tpoold's own user
 * can change, without following anyone else's symbolic links
 * (safepath.c).  Layer: below plugins and the listener, which both use it;
 * calls nothing of tpoold's.  Any thread; never logs (the caller does, with
 * the reason it is handed).
 */
#ifndef TPD_SAFEPATH_H
#define TPD_SAFEPATH_H

#include <sys/stat.h>

#include <stdbool.h>
#include <stddef.h>

/* Symbolic links followed in one walk, at most (as the kernel's 40). */
#define	TPD_SAFEPATH_MAXLINKS	40

/*
 * Open the directory path (absolute, or relative to the working
 * directory) component by component, each with O_PATH | O_NOFOLLOW, from
 * "/": every directory on the way must be owned by root or the daemon's
 * euid and writable by neither others nor a group that is not the owner's
 * own (tpd_safepath_writable_by); a folder above the last may be so
 * writable when it is sticky (as /tmp is).  A symbolic link is followed
 * only when root or the daemon's euid owns it, its target then walked the
 * same way; anyone else's link refuses the path.  On success 0 and
 * *ret_fd, an O_PATH | O_DIRECTORY | O_CLOEXEC descriptor of the checked
 * directory that the caller owns (close it).  Else an errno (EACCES for a
 * broken rule, ELOOP for too many links, or what the system said) and
 * why[] saying what and where; *ret_fd untouched.  The reason names the
 * failing folder unless it is the last one (the caller names that).
 */
int	tpd_safepath_opendir(const char *path, int *ret_fd, char *why,
	    size_t whylen);
/* Owned by root or by the daemon's euid? */
bool	tpd_safepath_owner_ok(uid_t uid);
/*
 * Who other than the owner may write st's file: "others", "its group" (a
 * group that is not the owner's own private group: its primary group with
 * no other member), or NULL: nobody.
 */
const char *tpd_safepath_writable_by(const struct stat *st);
/*
 * Is procfs mounted at /proc, so that "/proc/self/fd/N" names descriptor
 * N?  (tpoold reaches what it checked through such names.)
 */
bool	tpd_safepath_proc_ok(void);

#endif /* TPD_SAFEPATH_H */
