/*
 * test_cpuset.c -- Check runner for a per-CPU pool whose CPU really leaves
 * the process's cgroup cpuset (issue 7, "CPUs that go away"), where
 * test_edges.c simulates the loss with tp_test_cpu_unusable().
 *
 * Each case makes a cpuset group of its own (tpool-test-PID, beside the
 * process's: cgroup v1's cpuset hierarchy, or cgroup v2 with the cpuset
 * controller) holding every CPU of the process's mask and the parent's
 * memory nodes, and runs in a forked child that moves itself into it
 * before libtp makes a thread there, so that the test process is never
 * moved.  The child takes a per-CPU set, checks that a job of the last
 * CPU's pool runs there, takes that CPU out of the group: the pool's jobs
 * still run, elsewhere, and threadpool_stats shows the loss (tps_unpinned,
 * tps_cpu_lost once per loss, tps_jobs_unpinned for each run).  Then it
 * puts the CPU back: within a bound (the overseer tries every 100 ms) the
 * pool is pinned again and its jobs run on that CPU.  The child writes the
 * full list back and moves itself out before it exits, and the test
 * process removes the group whatever happened (and groups left behind by
 * test processes that no longer exist).
 *
 * Changing a cpuset needs root and a cpuset controller, and the loss needs
 * two CPUs: without them a case prints "SKIP: why" on stdout and passes.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <threadpool.h>

#include "util.h"

#define	CG_PREFIX	"tpool-test-"
#define	REPIN_MS	100	/* libtp's TP_REPIN_USEC */

struct cg {
	int		cg_version;		/* 1 or 2 */
	char		cg_mnt[PATH_MAX];	/* the hierarchy's mount */
	char		cg_parent[PATH_MAX];	/* the process's cpuset group */
	char		cg_dir[PATH_MAX];	/* ours */
	char		cg_mems[256];		/* the parent's memory nodes */
	cpu_set_t	cg_cpus;		/* the process's CPUs */
	bool		cg_enabled;		/* v2: we enabled +cpuset */
	unsigned int	cg_rounds;		/* losses to go through (1 or 2) */
	bool		cg_return;		/* put the CPU back and check */
};

/* ----------------------------------------------------------- files */

static int
write_file(const char *dir, const char *name, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));

/* Write one formatted line to dir/name; 0 or an errno value. */
static int
write_file(const char *dir, const char *name, const char *fmt, ...)
{
	char path[PATH_MAX + 64], buf[CPU_SETSIZE * 6 + 64];
	va_list ap;
	ssize_t n;
	size_t len;
	int fd, error = 0;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return errno;
	len = strlen(buf);
	n = write(fd, buf, len);
	if (n == -1)
		error = errno;
	else if ((size_t)n != len)
		error = EIO;
	if (close(fd) == -1 && error == 0)
		error = errno;
	return error;
}

/* Read dir/name (the first line, without its newline); 0 or an errno value. */
static int
read_file(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX + 64];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "re")) == NULL)
		return errno;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	(void)fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Is word one of the tokens of list (separated by any of seps)? */
static bool
has_token(const char *list, const char *seps, const char *word)
{
	size_t wlen = strlen(word), n;

	while (*list != '\0') {
		n = strcspn(list, seps);
		if (n == wlen && strncmp(list, word, n) == 0)
			return true;
		list += n;
		list += strspn(list, seps);
	}
	return false;
}

/* "0,1,5": the CPUs of set, but skip. */
static void
cpu_list(const cpu_set_t *set, int skip, char *buf, size_t len)
{
	size_t have = 0;
	int cpu;

	buf[0] = '\0';
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, set) || cpu == skip)
			continue;
		(void)snprintf(buf + have, len - have, "%s%d",
		    have > 0 ? "," : "", cpu);
		have = strlen(buf);
	}
}

/* The highest CPU of set. */
static int
last_cpu(const cpu_set_t *set)
{
	int cpu, last = -1;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, set))
			last = cpu;
	return last;
}

/* ------------------------------------------------- finding the cpuset */

/*
 * The process's cpuset group, in a cgroup v1 hierarchy with the cpuset
 * controller or the cgroup v2 one where cpuset is available.  NULL and
 * cg_parent set, or why not.
 */
static const char *
cg_find(struct cg *cg)
{
	static char why[PATH_MAX + 128];
	char line[PATH_MAX + 256], mnt[2][PATH_MAX], ctl[512], *p, *q;
	char dev[64], dir[PATH_MAX], type[64], opts[512];
	FILE *f;
	int v;

	mnt[0][0] = mnt[1][0] = '\0';
	if ((f = fopen("/proc/self/mounts", "re")) == NULL)
		return "no /proc/self/mounts";
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%63s %4095s %63s %511s", dev, dir, type, opts) != 4)
			continue;
		if (strcmp(type, "cgroup") == 0 && has_token(opts, ",", "cpuset") &&
		    mnt[0][0] == '\0')
			(void)snprintf(mnt[0], sizeof(mnt[0]), "%s", dir);
		else if (strcmp(type, "cgroup2") == 0 && mnt[1][0] == '\0' &&
		    read_file(dir, "cgroup.controllers", ctl, sizeof(ctl)) == 0 &&
		    has_token(ctl, " ", "cpuset"))
			(void)snprintf(mnt[1], sizeof(mnt[1]), "%s", dir);
	}
	(void)fclose(f);
	if (mnt[0][0] != '\0')
		cg->cg_version = 1;
	else if (mnt[1][0] != '\0')
		cg->cg_version = 2;
	else
		return "no cgroup hierarchy with the cpuset controller is mounted";
	v = cg->cg_version;
	(void)snprintf(cg->cg_mnt, sizeof(cg->cg_mnt), "%s", mnt[v - 1]);

	/* "ID:controllers:path" (v2: "0::path"). */
	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return "no /proc/self/cgroup";
	cg->cg_parent[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((p = strchr(line, ':')) == NULL || (q = strchr(p + 1, ':')) == NULL)
			continue;
		*q = '\0';
		if ((v == 1 && has_token(p + 1, ",", "cpuset")) ||
		    (v == 2 && strcmp(line, "0:") == 0 && p[1] == '\0'))
			(void)snprintf(cg->cg_parent, sizeof(cg->cg_parent), "%s%s",
			    mnt[v - 1], strcmp(q + 1, "/") == 0 ? "" : q + 1);
	}
	(void)fclose(f);
	if (cg->cg_parent[0] == '\0') {
		(void)snprintf(why, sizeof(why),
		    "the process's cpuset group is not in /proc/self/cgroup (v%d at %s)",
		    v, mnt[v - 1]);
		return why;
	}
	return NULL;
}

/* Remove groups of ours whose test process is gone (a killed run's). */
static void
cg_remove_stale(const struct cg *cg)
{
	char path[PATH_MAX + 256];
	struct dirent *de;
	DIR *dir;
	long pid;

	if ((dir = opendir(cg->cg_parent)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, CG_PREFIX, strlen(CG_PREFIX)) != 0)
			continue;
		pid = strtol(de->d_name + strlen(CG_PREFIX), NULL, 10);
		if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", cg->cg_parent, de->d_name);
		if (rmdir(path) == 0)
			(void)printf("removed %s, left by process %ld\n", path, pid);
	}
	(void)closedir(dir);
}

/*
 * Make our group: the process's CPUs, the parent's memory nodes.  NULL,
 * or why the case cannot run here (*skip) or failed.
 */
static const char *
cg_create(struct cg *cg, bool *skip)
{
	static char why[PATH_MAX + 256];
	char list[CPU_SETSIZE * 6], ctl[512];
	const char *mems_file;
	int error;

	*skip = false;
	if (cg->cg_version == 2) {
		/* Our group gets the cpuset files only if the parent hands it on. */
		if (read_file(cg->cg_parent, "cgroup.subtree_control", ctl,
		    sizeof(ctl)) != 0)
			ctl[0] = '\0';
		if (!has_token(ctl, " ", "cpuset")) {
			error = write_file(cg->cg_parent, "cgroup.subtree_control",
			    "+cpuset");
			if (error != 0) {
				(void)snprintf(why, sizeof(why),
				    "cannot enable cpuset in %s/cgroup.subtree_control: %s",
				    cg->cg_parent, strerror(error));
				*skip = true;
				return why;
			}
			cg->cg_enabled = true;
		}
	}
	mems_file = cg->cg_version == 1 ? "cpuset.mems" : "cpuset.mems.effective";
	if ((error = read_file(cg->cg_parent, mems_file, cg->cg_mems,
	    sizeof(cg->cg_mems))) != 0) {
		(void)snprintf(why, sizeof(why), "reading %s/%s: %s",
		    cg->cg_parent, mems_file, strerror(error));
		return why;
	}
	(void)snprintf(cg->cg_dir, sizeof(cg->cg_dir), "%s/%s%ld", cg->cg_parent,
	    CG_PREFIX, (long)getpid());
	if (mkdir(cg->cg_dir, 0755) == -1) {
		error = errno;
		(void)snprintf(why, sizeof(why), "cannot make %s: %s", cg->cg_dir,
		    strerror(error));
		*skip = error == EROFS || error == EACCES || error == EPERM;
		cg->cg_dir[0] = '\0';
		return why;
	}
	cpu_list(&cg->cg_cpus, -1, list, sizeof(list));
	if ((error = write_file(cg->cg_dir, "cpuset.cpus", "%s", list)) != 0 ||
	    (error = write_file(cg->cg_dir, "cpuset.mems", "%s", cg->cg_mems)) != 0) {
		(void)snprintf(why, sizeof(why), "setting up %s (cpus %.64s, mems %.64s): %s",
		    cg->cg_dir, list, cg->cg_mems, strerror(error));
		return why;
	}
	return NULL;
}

/* Remove our group (its last process may take a moment to leave). */
static int
cg_destroy(struct cg *cg)
{
	unsigned int tries;
	int error = 0;

	if (cg->cg_dir[0] != '\0') {
		for (tries = 0; tries < 200; tries++) {
			if (rmdir(cg->cg_dir) == 0 || errno == ENOENT) {
				error = 0;
				break;
			}
			error = errno;
			tpt_sleep_ms(10);
		}
	}
	if (cg->cg_enabled)
		(void)write_file(cg->cg_parent, "cgroup.subtree_control", "-cpuset");
	return error;
}

/* Is every thread of the process in group dir? */
static bool
all_tasks_in(const struct cg *cg, const char *dir)
{
	char line[PATH_MAX + 64], path[320], at[2 * PATH_MAX + 8], *p, *q;
	struct dirent *de;
	bool found, ok = true;
	DIR *tasks;
	FILE *f;

	if ((tasks = opendir("/proc/self/task")) == NULL)
		return false;
	while (ok && (de = readdir(tasks)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/self/task/%s/cgroup", de->d_name);
		if ((f = fopen(path, "re")) == NULL) {
			ok = false;
			break;
		}
		found = false;
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if ((p = strchr(line, ':')) == NULL ||
			    (q = strchr(p + 1, ':')) == NULL)
				continue;
			*q = '\0';
			if (!(cg->cg_version == 1 ? has_token(p + 1, ",", "cpuset") :
			    strcmp(line, "0:") == 0 && p[1] == '\0'))
				continue;
			(void)snprintf(at, sizeof(at), "%s%s", cg->cg_mnt,
			    strcmp(q + 1, "/") == 0 ? "" : q + 1);
			found = strcmp(at, dir) == 0;
		}
		(void)fclose(f);
		ok = found;
	}
	(void)closedir(tasks);
	return ok;
}

/* ------------------------------------------------------- the child */

#define	CHILD_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		(void)printf("%s:%d: check failed: %s: ", __FILE__,	\
		    __LINE__, #cond);					\
		(void)printf(__VA_ARGS__);				\
		(void)printf("\n");					\
		rc = 1;							\
		goto out;						\
	}								\
} while (0)

static unsigned int
bound_ms(unsigned int ms)
{

	return ms * tpt_time_mult();
}

/* Schedule tj on pool; its run number n must finish in time. */
static bool
run_once(struct tpt_job *tj, struct threadpool *pool, unsigned int n)
{

	tpt_job_schedule(tj, pool);
	return tpt_job_wait_finished(tj, n, bound_ms(TPT_DEADLINE_MS));
}

/* Poll the pool's stats until tps_unpinned == want or timeout_ms passed. */
static uint64_t
wait_unpinned(struct threadpool *pool, unsigned int want, unsigned int timeout_ms,
    struct threadpool_stats *st)
{
	uint64_t t0 = tpt_now_ns();

	for (;;) {
		threadpool_stats(pool, st);
		if (st->tps_unpinned == want || tpt_ms_since(t0) >= timeout_ms)
			return tpt_ms_since(t0);
		tpt_sleep_ms(2);
	}
}

static int
child_cpu_leaves(void *arg)
{
	struct cg *cg = arg;
	struct threadpool_percpu *pp = NULL;
	struct threadpool *pool, *other;
	struct threadpool_stats st;
	struct tpt_job tj, tj0;
	char full[CPU_SETSIZE * 6], less[CPU_SETSIZE * 6];
	unsigned int runs = 0, runs0 = 0, unpinned_runs = 0, round, i;
	uint64_t took;
	int cpu, cpu0, error, rc = 0;
	bool shrunk = false, moved = false, jobs = false;

	full[0] = less[0] = '\0';
	/* In before libtp makes a thread in this process (the spawner too). */
	error = write_file(cg->cg_dir, "cgroup.procs", "%ld", (long)getpid());
	CHILD_CHECK(error == 0, "moving into %s: %s", cg->cg_dir, strerror(error));
	moved = true;
	CHILD_CHECK(all_tasks_in(cg, cg->cg_dir), "a thread is not in %s", cg->cg_dir);

	error = threadpool_percpu_get(&pp, TP_PRI_NONE);
	CHILD_CHECK(error == 0, "threadpool_percpu_get: %s", strerror(error));
	CHILD_CHECK(all_tasks_in(cg, cg->cg_dir), "a libtp thread is not in %s",
	    cg->cg_dir);
	CHILD_CHECK(threadpool_percpu_ncpu(pp) == (unsigned int)CPU_COUNT(&cg->cg_cpus),
	    "a per-CPU set of %u pools for %d CPUs", threadpool_percpu_ncpu(pp),
	    CPU_COUNT(&cg->cg_cpus));
	cpu = (int)threadpool_percpu_cpu(pp, threadpool_percpu_ncpu(pp) - 1);
	cpu0 = (int)threadpool_percpu_cpu(pp, 0);
	CHILD_CHECK(cpu == last_cpu(&cg->cg_cpus), "the last pool is CPU %d's", cpu);
	pool = threadpool_percpu_ref_remote(pp, (unsigned int)cpu);
	other = threadpool_percpu_ref_remote(pp, (unsigned int)cpu0);
	tpt_job_init(&tj, "cpuset-lost");
	tpt_job_init(&tj0, "cpuset-stays");
	jobs = true;
	cpu_list(&cg->cg_cpus, -1, full, sizeof(full));
	cpu_list(&cg->cg_cpus, cpu, less, sizeof(less));

	/* Pinned first. */
	CHILD_CHECK(run_once(&tj, pool, ++runs), "CPU %d's first job never ran", cpu);
	CHILD_CHECK(tj.tj_cpu == cpu && CPU_COUNT(&tj.tj_affinity) == 1 &&
	    CPU_ISSET(cpu, &tj.tj_affinity),
	    "CPU %d's job ran on CPU %d with %d CPUs", cpu, tj.tj_cpu,
	    CPU_COUNT(&tj.tj_affinity));

	for (round = 1; round <= cg->cg_rounds; round++) {
		/* The CPU leaves the cpuset: the jobs still run, elsewhere. */
		error = write_file(cg->cg_dir, "cpuset.cpus", "%s", less);
		CHILD_CHECK(error == 0, "cpuset.cpus %s: %s", less, strerror(error));
		shrunk = true;
		for (i = 0; i < 3; i++) {
			CHILD_CHECK(run_once(&tj, pool, ++runs),
			    "a job of CPU %d's pool never ran while the CPU was "
			    "out of the cpuset (round %u)", cpu, round);
			unpinned_runs++;
			CHILD_CHECK(tj.tj_cpu != cpu && !CPU_ISSET(cpu, &tj.tj_affinity),
			    "a job ran on CPU %d out of the cpuset (on %d)", cpu,
			    tj.tj_cpu);
		}
		threadpool_stats(pool, &st);
		CHILD_CHECK(st.tps_unpinned == 1, "tps_unpinned %u", st.tps_unpinned);
		CHILD_CHECK(st.tps_cpu_lost == round, "tps_cpu_lost %ju, %u losses",
		    (uintmax_t)st.tps_cpu_lost, round);
		CHILD_CHECK(st.tps_jobs_unpinned == unpinned_runs,
		    "tps_jobs_unpinned %ju, %u runs while the CPU was gone",
		    (uintmax_t)st.tps_jobs_unpinned, unpinned_runs);
		(void)printf("round %u: CPU %d left the cpuset (%s): 3 jobs ran on "
		    "CPU %d; unpinned %u, cpu_lost %ju, jobs_unpinned %ju\n", round,
		    cpu, less, tj.tj_cpu, st.tps_unpinned, (uintmax_t)st.tps_cpu_lost,
		    (uintmax_t)st.tps_jobs_unpinned);

		/* The CPUs that stay keep their pinned pools. */
		CHILD_CHECK(run_once(&tj0, other, ++runs0), "CPU %d's job never ran",
		    cpu0);
		threadpool_stats(other, &st);
		CHILD_CHECK(tj0.tj_cpu == cpu0 && st.tps_unpinned == 0,
		    "CPU %d's job ran on CPU %d (unpinned %u)", cpu0, tj0.tj_cpu,
		    st.tps_unpinned);

		if (!cg->cg_return)
			break;

		/* It comes back: pinned again within a bound, and runs there. */
		error = write_file(cg->cg_dir, "cpuset.cpus", "%s", full);
		CHILD_CHECK(error == 0, "cpuset.cpus %s: %s", full, strerror(error));
		shrunk = false;
		took = wait_unpinned(pool, 0, bound_ms(REPIN_MS + 1900), &st);
		CHILD_CHECK(st.tps_unpinned == 0,
		    "CPU %d's pool not pinned again %ju ms after the CPU came back",
		    cpu, (uintmax_t)took);
		CHILD_CHECK(run_once(&tj, pool, ++runs),
		    "CPU %d's job never ran after the CPU came back", cpu);
		CHILD_CHECK(tj.tj_cpu == cpu && CPU_COUNT(&tj.tj_affinity) == 1 &&
		    CPU_ISSET(cpu, &tj.tj_affinity),
		    "back in the cpuset, CPU %d's job ran on CPU %d with %d CPUs",
		    cpu, tj.tj_cpu, CPU_COUNT(&tj.tj_affinity));
		threadpool_stats(pool, &st);
		CHILD_CHECK(st.tps_unpinned == 0 && st.tps_cpu_lost == round &&
		    st.tps_jobs_unpinned == unpinned_runs,
		    "back: unpinned %u, cpu_lost %ju, jobs_unpinned %ju",
		    st.tps_unpinned, (uintmax_t)st.tps_cpu_lost,
		    (uintmax_t)st.tps_jobs_unpinned);
		(void)printf("round %u: CPU %d back (%s): pinned again after %ju ms, "
		    "its job ran on CPU %d\n", round, cpu, full, (uintmax_t)took,
		    tj.tj_cpu);
	}
out:
	if (jobs) {
		tpt_job_fini(&tj);
		tpt_job_fini(&tj0);
	}
	if (pp != NULL)
		threadpool_percpu_put(pp, TP_PRI_NONE);
	if (shrunk && (error = write_file(cg->cg_dir, "cpuset.cpus", "%s", full)) != 0) {
		(void)printf("restoring %s/cpuset.cpus: %s\n", cg->cg_dir, strerror(error));
		rc = 1;
	}
	if (moved) {
		error = write_file(cg->cg_parent, "cgroup.procs", "%ld", (long)getpid());
		if (error != 0 || !all_tasks_in(cg, cg->cg_parent)) {
			(void)printf("moving back to %s: %s\n", cg->cg_parent,
			    error != 0 ? strerror(error) : "a thread stayed");
			rc = 1;
		}
	}
	(void)fflush(stdout);
	return rc;
}

/* ------------------------------------------------------ the cases */

/*
 * Run child_cpu_leaves in a group of its own, or print a SKIP line when
 * this machine cannot.
 */
static void
run_in_cpuset(unsigned int rounds, bool back)
{
	char out[8192];
	const char *why, *s;
	struct cg cg;
	bool skip;
	unsigned int ck_mult;
	int status, error, rmerror;

	memset(&cg, 0, sizeof(cg));
	cg.cg_rounds = rounds;
	cg.cg_return = back;
	if (geteuid() != 0) {
		(void)printf("SKIP: changing a cpuset needs root\n");
		return;
	}
	if ((why = cg_find(&cg)) != NULL) {
		(void)printf("SKIP: %s\n", why);
		return;
	}
	ck_assert_int_eq(sched_getaffinity(0, sizeof(cg.cg_cpus), &cg.cg_cpus), 0);
	if (CPU_COUNT(&cg.cg_cpus) < 2) {
		(void)printf("SKIP: the process may use %d CPU, a loss needs 2\n",
		    CPU_COUNT(&cg.cg_cpus));
		return;
	}
	cg_remove_stale(&cg);
	if ((why = cg_create(&cg, &skip)) != NULL) {
		rmerror = cg_destroy(&cg);
		if (skip) {
			(void)printf("SKIP: %s\n", why);
			return;
		}
		ck_abort_msg("%s (removing it: %s)", why, strerror(rmerror));
	}

	/* The child is killed before Check's timeout kills this process. */
	s = getenv("CK_TIMEOUT_MULTIPLIER");
	ck_mult = s != NULL && atoi(s) > 0 ? (unsigned int)atoi(s) : 1;
	error = tpt_fork_run(child_cpu_leaves, &cg, 90 * ck_mult, out, sizeof(out),
	    &status);
	rmerror = cg_destroy(&cg);
	ck_assert_msg(error == 0, "fork: %s", strerror(error));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child %s %d in %s (cgroup v%d), output:\n%s",
	    WIFEXITED(status) ? "exit" : "signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
	    cg.cg_dir, cg.cg_version, out);
	ck_assert_msg(rmerror == 0, "removing %s: %s", cg.cg_dir, strerror(rmerror));
	(void)printf("%s (cgroup v%d):\n%s", cg.cg_dir, cg.cg_version, out);
}

START_TEST(test_percpu_pool_runs_its_jobs_when_its_cpu_leaves_the_cpuset)
{

	run_in_cpuset(1, false);
}
END_TEST

START_TEST(test_percpu_pool_pins_again_when_its_cpu_returns_to_the_cpuset)
{

	/* Twice: each loss is counted once. */
	run_in_cpuset(2, true);
}
END_TEST

static Suite *
cpuset_suite(void)
{
	Suite *s = suite_create("libtp-cpuset");
	TCase *tc;

	tc = tcase_create("cpuset");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_percpu_pool_runs_its_jobs_when_its_cpu_leaves_the_cpuset);
	tcase_add_test(tc, test_percpu_pool_pins_again_when_its_cpu_returns_to_the_cpuset);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{

	return tpt_run_suite(cpuset_suite());
}
