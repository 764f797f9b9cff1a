/*
 * metrics.c -- the counters behind tpoold's metrics (tpoold(8) METRICS):
 *
 *	tpool_jobs_accepted_total{plugin}
 *	tpool_jobs_ended_total{plugin,state}
 *	tpool_job_queue_wait_seconds{plugin,pool}	histogram, jobs that
 *							started
 *	tpool_job_run_seconds{plugin,pool}		histogram, jobs that ran
 *	tpool_job_cpu_seconds_total{plugin}
 *	tpool_refusals_total{reason}			error answers by code
 *	tpool_store_write_seconds			histogram, and
 *	tpool_store_write_failures_total		the job store's
 *							transactions
 *
 * Plugins are kept by name in a table that only grows (a counter must not
 * go back), up to METRICS_MAX_PLUGINS names; the jobs of later names are
 * counted under plugin="_other", so a plugin folder whose names churn
 * cannot make the daemon hold more.  Everything is the loop's (l); the
 * costs on a job's path are a lookup among the plugins and a few adds.
 */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "names.h"

#define	METRICS_MAX_PLUGINS	256
#define	METRICS_OTHER		"_other"
#define	METRICS_NBUCKETS	19
#define	METRICS_NKINDS		2	/* unbound, per-CPU */
#define	METRICS_NSTATES		16	/* Tpool__JobState values */
#define	METRICS_NCODES		32	/* Tpool__ErrorCode values */

/* Upper bounds of the buckets, in seconds (and "+Inf" after them). */
static const double metrics_le[METRICS_NBUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
};
static const char *const metrics_kinds[METRICS_NKINDS] = {
	"unbound", "percpu"
};

/* One histogram: counts per bucket (not cumulative), the sum, the count. */
struct metrics_hist {
	uint64_t	mh_bucket[METRICS_NBUCKETS + 1];
	double		mh_sum;
	uint64_t	mh_count;
};

/* One plugin name's counters, l. */
struct metrics_plugin {
	char			*mp_name;	/* owned */
	uint64_t		mp_accepted;
	uint64_t		mp_ended[METRICS_NSTATES];
	double			mp_cpu_s;
	struct metrics_hist	mp_queue[METRICS_NKINDS];
	struct metrics_hist	mp_run[METRICS_NKINDS];
};

static struct metrics_plugin *metrics_plugins[METRICS_MAX_PLUGINS + 1];	/* l */
static struct metrics_plugin *metrics_last;	/* l: the last one found */
static size_t metrics_nplugins;						/* l */
static uint64_t metrics_refused[METRICS_NCODES];			/* l */
static struct metrics_hist metrics_store;				/* l */
static uint64_t metrics_store_failures;					/* l */

/* The Gearman worker's: atomics, any thread (tpd_gearman_counts). */
static _Atomic uint32_t metrics_gm_servers, metrics_gm_slots;
static _Atomic uint32_t metrics_gm_connected, metrics_gm_running;
static _Atomic uint64_t metrics_gm_taken, metrics_gm_completed;
static _Atomic uint64_t metrics_gm_failed, metrics_gm_returned;
static _Atomic uint64_t metrics_gm_connect_failures;

/* ---------------------------------------------------------------- buffer */

void
tpd_mbuf_printf(struct tpd_mbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *n;
	int len;

	if (b->mb_failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		len = vsnprintf(
		    b->mb_data != NULL ? b->mb_data + b->mb_len : NULL,
		    b->mb_data != NULL ? b->mb_cap - b->mb_len : 0, fmt, ap);
		va_end(ap);
		if (len < 0) {
			b->mb_failed = true;
			return;
		}
		if (b->mb_data != NULL && (size_t)len < b->mb_cap - b->mb_len) {
			b->mb_len += (size_t)len;
			return;
		}
		cap = b->mb_cap == 0 ? 4096 : b->mb_cap * 2;
		while (cap - b->mb_len <= (size_t)len)
			cap *= 2;
		if ((n = realloc(b->mb_data, cap)) == NULL) {
			b->mb_failed = true;
			return;
		}
		b->mb_data = n;
		b->mb_cap = cap;
	}
}

void
tpd_mbuf_label(struct tpd_mbuf *b, const char *value)
{
	const char *p;

	for (p = value; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			tpd_mbuf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			tpd_mbuf_printf(b, "\\n");
		else
			tpd_mbuf_printf(b, "%c", *p);
	}
}

/* -------------------------------------------------------------- counting */

void
tpd_metrics_reset(void)
{
	size_t i;

	for (i = 0; i < metrics_nplugins; i++) {
		free(metrics_plugins[i]->mp_name);
		free(metrics_plugins[i]);
		metrics_plugins[i] = NULL;
	}
	metrics_nplugins = 0;
	metrics_last = NULL;
	memset(metrics_refused, 0, sizeof(metrics_refused));
	memset(&metrics_store, 0, sizeof(metrics_store));
	metrics_store_failures = 0;
	tpd_metrics_gearman_start(0, 0);
}

void
tpd_metrics_gearman_start(uint32_t servers, uint32_t slots)
{
	atomic_store(&metrics_gm_servers, servers);
	atomic_store(&metrics_gm_slots, slots);
	atomic_store(&metrics_gm_connected, 0);
	atomic_store(&metrics_gm_running, 0);
	atomic_store(&metrics_gm_taken, 0);
	atomic_store(&metrics_gm_completed, 0);
	atomic_store(&metrics_gm_failed, 0);
	atomic_store(&metrics_gm_returned, 0);
	atomic_store(&metrics_gm_connect_failures, 0);
}

void
tpd_metrics_gearman_up(bool up)
{
	if (up)
		atomic_fetch_add(&metrics_gm_connected, 1);
	else
		atomic_fetch_sub(&metrics_gm_connected, 1);
}

void
tpd_metrics_gearman_connect_failed(void)
{
	atomic_fetch_add(&metrics_gm_connect_failures, 1);
}

void
tpd_metrics_gearman_taken(void)
{
	atomic_fetch_add(&metrics_gm_taken, 1);
	atomic_fetch_add(&metrics_gm_running, 1);
}

void
tpd_metrics_gearman_ended(enum tpd_gearman_end end)
{
	atomic_fetch_sub(&metrics_gm_running, 1);
	switch (end) {
	case TPD_GEARMAN_COMPLETED:
		atomic_fetch_add(&metrics_gm_completed, 1);
		break;
	case TPD_GEARMAN_FAILED:
		atomic_fetch_add(&metrics_gm_failed, 1);
		break;
	case TPD_GEARMAN_RETURNED:
		atomic_fetch_add(&metrics_gm_returned, 1);
		break;
	}
}

void
tpd_metrics_gearman_get(struct tpd_gearman_counts *ret)
{
	ret->gc_servers = atomic_load(&metrics_gm_servers);
	ret->gc_slots = atomic_load(&metrics_gm_slots);
	ret->gc_connected = atomic_load(&metrics_gm_connected);
	ret->gc_running = atomic_load(&metrics_gm_running);
	ret->gc_taken = atomic_load(&metrics_gm_taken);
	ret->gc_completed = atomic_load(&metrics_gm_completed);
	ret->gc_failed = atomic_load(&metrics_gm_failed);
	ret->gc_returned = atomic_load(&metrics_gm_returned);
	ret->gc_connect_failures = atomic_load(&metrics_gm_connect_failures);
}

/* The counters of plugin name, made when first seen; NULL: no memory. */
static struct metrics_plugin *
metrics_plugin(const char *name)
{
	struct metrics_plugin *mp;
	size_t i;

	if (name == NULL)
		name = METRICS_OTHER;
	/* A stream of one plugin's jobs asks for the same one each time. */
	if (metrics_last != NULL && strcmp(metrics_last->mp_name, name) == 0)
		return metrics_last;
	for (i = 0; i < metrics_nplugins; i++)
		if (strcmp(metrics_plugins[i]->mp_name, name) == 0)
			return metrics_last = metrics_plugins[i];
	/* The last slot is "_other"'s alone. */
	if (metrics_nplugins >= METRICS_MAX_PLUGINS &&
	    strcmp(name, METRICS_OTHER) != 0)
		return metrics_plugin(METRICS_OTHER);
	if ((mp = calloc(1, sizeof(*mp))) == NULL)
		return NULL;
	if ((mp->mp_name = strdup(name)) == NULL) {
		free(mp);
		return NULL;
	}
	metrics_plugins[metrics_nplugins++] = mp;
	return mp;
}

static void
metrics_observe(struct metrics_hist *h, uint64_t ns)
{
	double s = (double)ns / 1e9;
	size_t i;

	for (i = 0; i < METRICS_NBUCKETS && s > metrics_le[i]; i++)
		continue;
	h->mh_bucket[i]++;
	h->mh_sum += s;
	h->mh_count++;
}

void
tpd_metrics_job_accepted(const char *plugin)
{
	struct metrics_plugin *mp = metrics_plugin(plugin);

	if (mp != NULL)
		mp->mp_accepted++;
}

void
tpd_metrics_job_ended(const Tpool__JobInfo *info)
{
	struct metrics_plugin *mp = metrics_plugin(info->plugin);
	size_t kind = info->pool == TPOOL__POOL_KIND__POOL_PERCPU ? 1 : 0;
	bool ran = info->has_ran_on_cpu && info->ran_on_cpu >= 0;

	if (mp == NULL)
		return;
	if ((unsigned int)info->state < METRICS_NSTATES)
		mp->mp_ended[info->state]++;
	if (ran) {
		metrics_observe(&mp->mp_queue[kind], info->queue_ns);
		metrics_observe(&mp->mp_run[kind], info->run_ns);
		mp->mp_cpu_s += (double)info->cpu_ns / 1e9;
	}
}

void
tpd_metrics_refused(Tpool__ErrorCode code)
{
	if ((unsigned int)code < METRICS_NCODES)
		metrics_refused[code]++;
}

void
tpd_metrics_store_write(uint64_t ns, bool ok)
{
	metrics_observe(&metrics_store, ns);
	if (!ok)
		metrics_store_failures++;
}

/* ---------------------------------------------------------------- output */

static void
metrics_family(struct tpd_mbuf *b, const char *name, const char *type,
    const char *help)
{
	tpd_mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* One histogram's samples: name_bucket{labels,le=...}, _sum, _count;
 * labels is "" or 'k="v",' pairs, each ending in a comma. */
static void
metrics_hist_write(struct tpd_mbuf *b, const char *name, const char *labels,
    const struct metrics_hist *h)
{
	uint64_t cum = 0;
	size_t i, n;

	for (i = 0; i <= METRICS_NBUCKETS; i++) {
		cum += h->mh_bucket[i];
		if (i < METRICS_NBUCKETS)
			tpd_mbuf_printf(b,
			    "%s_bucket{%sle=\"%g\"} %llu\n", name,
			    labels, metrics_le[i], (unsigned long long)cum);
		else
			tpd_mbuf_printf(b,
			    "%s_bucket{%sle=\"+Inf\"} %llu\n", name,
			    labels, (unsigned long long)cum);
	}
	/* The labels without their last comma, for _sum and _count. */
	if ((n = strlen(labels)) == 0) {
		tpd_mbuf_printf(b, "%s_sum %.9f\n%s_count %llu\n", name,
		    h->mh_sum, name, (unsigned long long)h->mh_count);
		return;
	}
	tpd_mbuf_printf(b, "%s_sum{%.*s} %.9f\n%s_count{%.*s} %llu\n", name,
	    (int)n - 1, labels, h->mh_sum, name, (int)n - 1, labels,
	    (unsigned long long)h->mh_count);
}

/* 'plugin="NAME",pool="KIND",' into buf (KIND NULL: no pool). */
static void
metrics_labels(char *buf, size_t len, const char *plugin, const char *kind)
{
	struct tpd_mbuf lb = { NULL, 0, 0, false };

	tpd_mbuf_printf(&lb, "plugin=\"");
	tpd_mbuf_label(&lb, plugin);
	tpd_mbuf_printf(&lb, "\",");
	if (kind != NULL)
		tpd_mbuf_printf(&lb, "pool=\"%s\",", kind);
	(void)snprintf(buf, len, "%s", lb.mb_failed || lb.mb_data == NULL ? "" :
	    lb.mb_data);
	free(lb.mb_data);
}

/* src lowered, spaces as '_', into buf (for a label value). */
static void
metrics_lower(char *buf, size_t len, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < len && src[i] != '\0'; i++)
		buf[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ?
		    src[i] - 'A' + 'a' : src[i] == ' ' ? '_' : src[i]);
	buf[i] = '\0';
}

static void
metrics_write_hists(struct tpd_mbuf *b, const char *name, const char *help,
    bool queue)
{
	char labels[512];
	size_t i, k;

	metrics_family(b, name, "histogram", help);
	for (i = 0; i < metrics_nplugins; i++) {
		for (k = 0; k < METRICS_NKINDS; k++) {
			metrics_labels(labels, sizeof(labels),
			    metrics_plugins[i]->mp_name, metrics_kinds[k]);
			metrics_hist_write(b, name, labels, queue ?
			    &metrics_plugins[i]->mp_queue[k] :
			    &metrics_plugins[i]->mp_run[k]);
		}
	}
}

/* name{plugin="..."} value: a count, or (secs) seconds. */
static void
metrics_per_plugin(struct tpd_mbuf *b, const char *name,
    const struct metrics_plugin *mp, uint64_t count, double secs, bool is_secs)
{
	char labels[512];

	metrics_labels(labels, sizeof(labels), mp->mp_name, NULL);
	if (is_secs)
		tpd_mbuf_printf(b, "%s{%.*s} %.9f\n", name,
		    (int)strlen(labels) - 1, labels, secs);
	else
		tpd_mbuf_printf(b, "%s{%.*s} %llu\n", name,
		    (int)strlen(labels) - 1, labels, (unsigned long long)count);
}

/* The Gearman worker's counters, when it is configured (--gearman). */
static void
metrics_write_gearman(struct tpd_mbuf *b)
{
	struct tpd_gearman_counts gc;

	tpd_metrics_gearman_get(&gc);
	if (gc.gc_servers == 0)
		return;
	metrics_family(b, "tpool_gearman_slots", "gauge",
	    "Gearman jobs the daemon may hold at once (--gearman-jobs).");
	tpd_mbuf_printf(b, "tpool_gearman_slots %u\n", gc.gc_slots);
	metrics_family(b, "tpool_gearman_slots_connected", "gauge",
	    "Of them, those whose gearmand servers answer now.");
	tpd_mbuf_printf(b, "tpool_gearman_slots_connected %u\n",
	    gc.gc_connected);
	metrics_family(b, "tpool_gearman_jobs_running", "gauge",
	    "Gearman jobs held now.");
	tpd_mbuf_printf(b, "tpool_gearman_jobs_running %u\n", gc.gc_running);
	metrics_family(b, "tpool_gearman_jobs_total", "counter",
	    "Gearman jobs taken that ended, by how: completed (WORK_COMPLETE), "
	    "failed (WORK_FAIL) or returned (handed back to gearmand).");
	tpd_mbuf_printf(b, "tpool_gearman_jobs_total{result=\"completed\"} "
	    "%llu\n", (unsigned long long)gc.gc_completed);
	tpd_mbuf_printf(b, "tpool_gearman_jobs_total{result=\"failed\"} "
	    "%llu\n", (unsigned long long)gc.gc_failed);
	tpd_mbuf_printf(b, "tpool_gearman_jobs_total{result=\"returned\"} "
	    "%llu\n", (unsigned long long)gc.gc_returned);
	metrics_family(b, "tpool_gearman_connect_failures_total", "counter",
	    "Attempts to reach the gearmand servers that failed (each retried "
	    "with a backoff).");
	tpd_mbuf_printf(b, "tpool_gearman_connect_failures_total %llu\n",
	    (unsigned long long)gc.gc_connect_failures);
}

void
tpd_metrics_write(struct tpd_mbuf *b)
{
	const char *cname;
	char labels[512], state[32];
	size_t i, s;

	metrics_family(b, "tpool_jobs_accepted_total", "counter",
	    "Jobs accepted (their submit answered with a job id), by plugin.");
	for (i = 0; i < metrics_nplugins; i++)
		metrics_per_plugin(b, "tpool_jobs_accepted_total",
		    metrics_plugins[i], metrics_plugins[i]->mp_accepted, 0,
		    false);
	metrics_family(b, "tpool_jobs_ended_total", "counter",
	    "Jobs that reached a final state, by plugin and state.");
	for (i = 0; i < metrics_nplugins; i++) {
		metrics_labels(labels, sizeof(labels),
		    metrics_plugins[i]->mp_name,
		    NULL);
		for (s = 0; s < METRICS_NSTATES; s++) {
			if (!tp_state_is_final((Tpool__JobState)s))
				continue;
			metrics_lower(state, sizeof(state),
			    tp_state_name((Tpool__JobState)s));
			tpd_mbuf_printf(b,
			    "tpool_jobs_ended_total{%sstate=\"%s\"} "
			    "%llu\n", labels, state, (unsigned long long)
			    metrics_plugins[i]->mp_ended[s]);
		}
	}
	metrics_write_hists(b, "tpool_job_queue_wait_seconds", "Time from a "
	    "job's submit (or its delay's end) to its start, jobs that ran.",
	    true);
	metrics_write_hists(b, "tpool_job_run_seconds", "Time from a job's "
	    "start to its end, jobs that ran.", false);
	metrics_family(b, "tpool_job_cpu_seconds_total", "counter",
	    "CPU time of the jobs that ran, by plugin.");
	for (i = 0; i < metrics_nplugins; i++)
		metrics_per_plugin(b, "tpool_job_cpu_seconds_total",
		    metrics_plugins[i], 0, metrics_plugins[i]->mp_cpu_s, true);
	metrics_family(b, "tpool_refusals_total", "counter",
	    "Requests answered with an error, by its code (error_ lowered).");
	for (i = 1; i < METRICS_NCODES; i++) {
		cname = tp_error_name((Tpool__ErrorCode)i);
		if (strncmp(cname, "ERROR_", 6) != 0)
			continue;
		metrics_lower(state, sizeof(state), cname + 6);
		tpd_mbuf_printf(b, "tpool_refusals_total{reason=\"%s\"} %llu\n",
		    state, (unsigned long long)metrics_refused[i]);
	}
	metrics_family(b, "tpool_store_write_seconds", "histogram",
	    "Time the job store took to write one transaction (the changes of "
	    "one loop iteration), on the loop thread.");
	metrics_hist_write(b, "tpool_store_write_seconds", "", &metrics_store);
	metrics_family(b, "tpool_store_write_failures_total", "counter",
	    "Job store transactions that failed (their submits refused).");
	tpd_mbuf_printf(b, "tpool_store_write_failures_total %llu\n",
	    (unsigned long long)metrics_store_failures);
	metrics_write_gearman(b);
}
