/*
 * jobid.c -- job ids that are never reused, across restarts too.
 *
 * A client names jobs by id, so an id that comes back after a restart
 * would let a cancel meant for an old job hit someone's new one.  Each
 * run's first id is therefore above every id an earlier run can have
 * issued:
 *
 *	first = max(wall clock in microseconds since the epoch,
 *	            the high-water mark in --state-dir)
 *
 * and ids grow by one per job from there.  The clock alone suffices while
 * it only goes forward and the daemon issues fewer ids than a microsecond
 * passes (a submit costs more); it is about 1.8e15 now, below 2^53, so
 * JSON and scripting clients keep ids exact.  With --state-dir, ids are
 * reserved in blocks of JOBID_BLOCK: before issuing an id at or past the
 * mark, the mark is moved to that id + JOBID_BLOCK and written through
 * (a temporary file, fsync, rename over "job-id-mark", fsync of the
 * directory), so a clock set back cannot bring an id back either.
 *
 * The state directory is trusted as the plugin directory is (plugin.c:
 * owned by root or the daemon's euid, writable by nobody else, nor is
 * any folder above it); one that is not, or a mark that cannot be read or
 * written at start, stops the daemon from starting -- unless the folder
 * is read-only (EROFS, or EACCES: not writable by the daemon's user):
 * then no id is issued in this run (the job store serves its jobs read-
 * only and refuses submits, store.c) and tpd_jobid_read_only() says why.
 * A mark that cannot be written later is logged at err and ids go on from
 * the clock's floor: refusing every submit for a full disk would harm
 * every user.
 *
 * All of it is the loop's (l).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobid.h"
#include "log.h"
#include "options.h"
#include "safepath.h"

#define	JOBID_BLOCK	65536u
#define	JOBID_MAX	(1ull << 53)	/* exact in a double */
#define	JOBID_FILE	"job-id-mark"
#define	JOBID_TMP	"job-id-mark.tmp"

uint64_t tpd_jobid_testing_first;	/* testing.h */
static int jobid_dfd = -1;		/* --state-dir, or -1 */
static uint64_t jobid_mark;		/* ids below it are reserved */
static bool jobid_write_failed;		/* logged once */
static char jobid_ro_why[256];		/* the folder is read-only: why; "" */

/* Read the mark (0 when there is none yet).  0 or an errno; why[] says. */
static int
jobid_read(uint64_t *ret_mark, char *why, size_t whylen)
{
	char buf[32], *end;
	unsigned long long v;
	ssize_t n;
	int fd;

	if ((fd = openat(jobid_dfd, JOBID_FILE,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT) {
			*ret_mark = 0;
			return 0;
		}
		(void)snprintf(why, whylen, "%s", strerror(errno));
		return errno;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n < 0) {
		(void)snprintf(why, whylen, "%s", strerror(errno));
		return EIO;
	}
	buf[n] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (buf[0] < '0' || buf[0] > '9' || errno != 0 ||
	    (*end != '\n' && *end != '\0') || (*end == '\n' && end[1] != '\0')
	    || v > JOBID_MAX) {
		(void)snprintf(why, whylen,
		    "not one decimal number of at most 2^53");
		return EINVAL;
	}
	*ret_mark = v;
	return 0;
}

/* Write mark through to the disk.  0 or an errno; why[] says. */
static int
jobid_write(uint64_t mark, char *why, size_t whylen)
{
	char buf[32];
	int fd, len, error = 0;

	len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", mark);
	(void)unlinkat(jobid_dfd, JOBID_TMP, 0);
	if ((fd = openat(jobid_dfd, JOBID_TMP, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		error = errno;
		(void)snprintf(why, whylen, "%s: %s", JOBID_TMP,
		    strerror(error));
		return error;
	}
	if (write(fd, buf, (size_t)len) != len || fsync(fd) != 0) {
		error = errno != 0 ? errno : EIO;
		(void)snprintf(why, whylen, "%s: %s", JOBID_TMP,
		    strerror(error));
	}
	if (close(fd) != 0 && error == 0) {
		error = errno;
		(void)snprintf(why, whylen, "%s: %s", JOBID_TMP,
		    strerror(error));
	}
	if (error == 0 && renameat(jobid_dfd, JOBID_TMP, jobid_dfd,
	    JOBID_FILE) != 0) {
		error = errno;
		(void)snprintf(why, whylen, "rename: %s", strerror(error));
	}
	if (error == 0 && fsync(jobid_dfd) != 0) {
		error = errno;
		(void)snprintf(why, whylen, "fsync of the directory: %s",
		    strerror(error));
	}
	if (error != 0)
		(void)unlinkat(jobid_dfd, JOBID_TMP, 0);
	return error;
}

/*
 * Open and check --state-dir as the plugin directory is checked (a folder
 * only root or the daemon's user can change, no one else's links:
 * safepath.h); the files in it are reached through its descriptor only.
 * 0 or an errno (logged).
 */
static int
jobid_open_dir(const char *dir)
{
	char why[512];
	int error, pfd;

	if ((error = tpd_safepath_opendir(dir, &pfd, why, sizeof(why))) != 0) {
		tpd_err("state directory %s: %s; not using it", dir, why);
		return error;
	}
	/* O_PATH cannot be fsync'ed: the folder itself, opened through it. */
	jobid_dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	error = jobid_dfd < 0 ? errno : 0;
	(void)close(pfd);
	if (error != 0)
		tpd_err("state directory %s: %s", dir, strerror(error));
	return error;
}

int
tpd_jobid_open(uint64_t *ret_first)
{
	const char *dir = tpd_opt.o_state_dir;
	struct timespec ts;
	uint64_t first, mark = 0;
	char why[512];
	int error;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	first = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	if (first == 0)
		first = 1;
	jobid_write_failed = false;
	jobid_mark = 0;
	jobid_ro_why[0] = '\0';
	if (tpd_jobid_testing_first != 0) {
		*ret_first = tpd_jobid_testing_first;
		return 0;
	}
	if (dir == NULL) {
		*ret_first = first;
		return 0;
	}
	if ((error = jobid_open_dir(dir)) != 0) {
		tpd_jobid_close();
		return error;
	}
	if ((error = jobid_read(&mark, why, sizeof(why))) != 0) {
		tpd_err("state directory %s: %s: %s", dir, JOBID_FILE, why);
		tpd_jobid_close();
		return error;
	}
	if (mark > first) {
		tpd_info("job ids start at %" PRIu64 " (the mark in %s/%s), "
		    "above the clock's %" PRIu64, mark, dir, JOBID_FILE,
		    first);
		first = mark;
	}
	error = jobid_write(first + JOBID_BLOCK, why, sizeof(why));
	if (error == EROFS || error == EACCES) {
		/* Nothing will be issued: the mark stays where it is. */
		(void)snprintf(jobid_ro_why, sizeof(jobid_ro_why), "%s",
		    strerror(error));
		jobid_mark = UINT64_MAX;
		*ret_first = first;
		return 0;
	}
	if (error != 0) {
		tpd_err("state directory %s: cannot keep the job id mark: %s",
		    dir, why);
		tpd_jobid_close();
		return error;
	}
	jobid_mark = first + JOBID_BLOCK;
	*ret_first = first;
	return 0;
}

void
tpd_jobid_issue(uint64_t id)
{
	char why[512];
	int error;

	if (jobid_dfd < 0 || id < jobid_mark)
		return;
	if ((error = jobid_write(id + JOBID_BLOCK, why, sizeof(why))) != 0) {
		if (!jobid_write_failed)
			tpd_err("state directory %s: cannot move the job id "
			    "mark on: %s; ids go on from the clock's floor "
			    "only", tpd_opt.o_state_dir, why);
		jobid_write_failed = true;
		return;
	}
	jobid_write_failed = false;
	jobid_mark = id + JOBID_BLOCK;
}

const char *
tpd_jobid_read_only(void)
{
	return jobid_dfd >= 0 && jobid_ro_why[0] != '\0' ? jobid_ro_why : NULL;
}

int
tpd_jobid_dir_fd(void)
{
	return jobid_dfd;
}

void
tpd_jobid_close(void)
{
	if (jobid_dfd >= 0)
		(void)close(jobid_dfd);
	jobid_dfd = -1;
}
