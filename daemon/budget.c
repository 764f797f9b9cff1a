/*
 * budget.c -- the memory budget (see budget.h).
 *
 * A record per user with bytes charged, in a small hash of uids, freed
 * when it drops to zero; the sum in budget_used.  The default total reads
 * MemTotal from /proc/meminfo and the memory.max of the daemon's cgroup
 * (v2: /proc/self/cgroup's "0::" path under /sys/fs/cgroup; v1: the
 * memory controller's memory.limit_in_bytes), the lower of those, and
 * takes a quarter; 256 MiB when neither can be read.  A charge that meets
 * a limit first asks the reclaim hook (the job table: the user's oldest
 * finished job) to give back what it can, one thing at a time.
 *
 * Everything here is the loop thread's (l).
 */
#include "config.h"

#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "log.h"
#include "options.h"

#define	BUDGET_BUCKETS		256u
#define	BUDGET_FALLBACK		(256ull << 20)	/* memory unknown */
#define	BUDGET_MIN_USER		(1ull << 20)

struct budget_user {
	LIST_ENTRY(budget_user)	bu_entry;
	uid_t			bu_uid;
	uint64_t		bu_bytes;
};

static LIST_HEAD(, budget_user) budget_hash[BUDGET_BUCKETS];	/* l */
static uint64_t budget_used;					/* l */
static uint64_t budget_total;		/* l: set by tpd_budget_init() */
static uint64_t budget_per_user;	/* l: likewise */
static bool (*budget_reclaim)(uid_t);	/* l: tpd_budget_set_reclaim() */

/* A number from the first line of path ("max": UINT64_MAX); 0: none. */
static uint64_t
budget_read_number(const char *path)
{
	char line[64];
	uint64_t v;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) == NULL) {
		(void)fclose(f);
		return 0;
	}
	(void)fclose(f);
	if (strncmp(line, "max", 3) == 0)
		return UINT64_MAX;
	if (sscanf(line, "%" SCNu64, &v) != 1)
		return 0;
	return v;
}

/* MemTotal in bytes; 0: unknown. */
static uint64_t
budget_mem_total(void)
{
	char line[128];
	uint64_t kb = 0;
	FILE *f;

	if ((f = fopen("/proc/meminfo", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "MemTotal: %" SCNu64 " kB", &kb) == 1)
			break;
	(void)fclose(f);
	return kb * 1024;
}

/* The memory limit of our cgroup; UINT64_MAX: none, 0: unknown. */
static uint64_t
budget_cgroup_max(void)
{
	char line[512], path[640], *p;
	uint64_t v, lim = 0;
	FILE *f;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "0::", 3) == 0) {
			(void)snprintf(path, sizeof(path),
			    "/sys/fs/cgroup%s/memory.max", line + 3);
		} else if ((p = strstr(line, ":memory:")) != NULL) {
			(void)snprintf(path, sizeof(path),
			    "/sys/fs/cgroup/memory%s/memory.limit_in_bytes",
			    p + 8);
		} else
			continue;
		if ((v = budget_read_number(path)) != 0 &&
		    (lim == 0 || v < lim))
			lim = v;
	}
	(void)fclose(f);
	return lim;
}

void
tpd_budget_init(void)
{
	uint64_t mem = budget_mem_total(), cg = budget_cgroup_max();
	unsigned int i;

	for (i = 0; i < BUDGET_BUCKETS; i++)
		LIST_INIT(&budget_hash[i]);
	budget_used = 0;
	if (cg != 0 && cg != UINT64_MAX && (mem == 0 || cg < mem))
		mem = cg;
	budget_total = tpd_opt.o_memory_budget != 0 ?
	    tpd_opt.o_memory_budget :
	    mem != 0 ? mem / 4 : BUDGET_FALLBACK;
	budget_per_user = tpd_opt.o_memory_per_user != 0 ?
	    tpd_opt.o_memory_per_user : budget_total / 4;
	if (budget_per_user < BUDGET_MIN_USER)
		budget_per_user = BUDGET_MIN_USER;
	if (budget_per_user > budget_total)
		budget_per_user = budget_total;
	tpd_debug("memory budget: %" PRIu64 " bytes in all, %" PRIu64
	    " per user", budget_total, budget_per_user);
}

static struct budget_user *
budget_find(uid_t uid)
{
	struct budget_user *bu;

	LIST_FOREACH(bu, &budget_hash[uid % BUDGET_BUCKETS], bu_entry)
		if (bu->bu_uid == uid)
			return bu;
	return NULL;
}

enum tpd_budget_limit
tpd_budget_try(uid_t uid, size_t bytes)
{
	struct budget_user *bu = budget_find(uid);

	if ((bu != NULL ? bu->bu_bytes : 0) + bytes > budget_per_user)
		return TPD_BUDGET_USER;
	if (budget_used + bytes > budget_total)
		return TPD_BUDGET_TOTAL;
	if (bu == NULL) {
		if ((bu = calloc(1, sizeof(*bu))) == NULL)
			return TPD_BUDGET_TOTAL;	/* no memory at all */
		bu->bu_uid = uid;
		LIST_INSERT_HEAD(&budget_hash[uid % BUDGET_BUCKETS], bu,
		    bu_entry);
	}
	bu->bu_bytes += bytes;
	budget_used += bytes;
	return TPD_BUDGET_OK;
}

enum tpd_budget_limit
tpd_budget_charge(uid_t uid, size_t bytes)
{
	enum tpd_budget_limit lim;

	while ((lim = tpd_budget_try(uid, bytes)) != TPD_BUDGET_OK)
		if (budget_reclaim == NULL || !budget_reclaim(uid))
			break;
	return lim;
}

void
tpd_budget_set_reclaim(bool (*fn)(uid_t uid))
{
	budget_reclaim = fn;
}

void
tpd_budget_release(uid_t uid, size_t bytes)
{
	struct budget_user *bu = budget_find(uid);

	if (bu == NULL || bu->bu_bytes < bytes) {
		tpd_err("memory budget: uid %u gives back %zu bytes it does "
		    "not hold", (unsigned int)uid, bytes);
		abort();
	}
	bu->bu_bytes -= bytes;
	budget_used -= bytes;
	if (bu->bu_bytes == 0) {
		LIST_REMOVE(bu, bu_entry);
		free(bu);
	}
}

uint64_t
tpd_budget_used_by(uid_t uid)
{
	struct budget_user *bu = budget_find(uid);

	return bu != NULL ? bu->bu_bytes : 0;
}

uint64_t
tpd_budget_used(void)
{
	return budget_used;
}

uint64_t
tpd_budget_total(void)
{
	return budget_total;
}

uint64_t
tpd_budget_per_user(void)
{
	return budget_per_user;
}

const char *
tpd_budget_why(uid_t uid, enum tpd_budget_limit limit, size_t bytes,
    char *buf, size_t len)
{
	if (limit == TPD_BUDGET_USER)
		(void)snprintf(buf, len, "%zu more bytes would pass uid %u's "
		    "memory share: it holds %" PRIu64 " of %" PRIu64
		    " (--memory-per-user)", bytes, (unsigned int)uid,
		    tpd_budget_used_by(uid), budget_per_user);
	else
		(void)snprintf(buf, len, "%zu more bytes would pass the "
		    "daemon's memory budget: %" PRIu64 " of %" PRIu64
		    " held (--memory-budget)", bytes, budget_used,
		    budget_total);
	return buf;
}

void
tpd_budget_free_all(void)
{
	struct budget_user *bu;
	unsigned int i;

	for (i = 0; i < BUDGET_BUCKETS; i++)
		while ((bu = LIST_FIRST(&budget_hash[i])) != NULL) {
			LIST_REMOVE(bu, bu_entry);
			free(bu);
		}
	budget_used = 0;
	budget_reclaim = NULL;
}
