/*
 * soak.c -- the soak test of tpoold: many clients for a bounded time, then
 * proof that nothing was lost, nothing answered falsely, nothing leaked.
 *
 *	start tpoold (daemon.c) with soakrec.so in its plugin folder, and
 *			soakcrash.so, run in worker processes (isolation
 *			process), one job in four of which crashes its worker:
 *			such a job must end failed, "plugin crashed"
 *	probe		the priorities it permits, its CPUs; touch every pool
 *	warm-up		clients as in the load, for a few seconds
 *	quiet		no client, no job, idle workers reaped, finished jobs
 *			forgotten (--idle-timeout, --finished-ttl): measure
 *			VmRSS, descriptors and threads (the baseline)
 *	load		--clients threads (client.c) for --duration seconds;
 *			half way, soakrec2.so is added (and, with
 *			--replace-plugin, soakrec.so replaced by a new copy
 *			while its jobs run) and SIGHUP sent: soakrec2 must
 *			appear, soakrec must stay
 *	quiet		as above; the daemon's totals must equal the ledger's;
 *			RSS within max(2 MiB, 10%) above the baseline (more
 *			room under a sanitizer, whose allocator keeps freed
 *			memory: see soak_rss_limit; its shadow is left out:
 *			soak_own_kb; not checked under TSan:
 *			soak_rss_checked), the same descriptors
 *			and threads; with --malloc-stats, malloc's bytes in
 *			use within max(1 MiB, 5%) of the baseline, and then
 *			RSS above its limit only says how much freed memory
 *			malloc keeps (a leak shows in the bytes in use)
 *	final		every client puts long jobs in flight, some watch,
 *			some leave; SIGTERM; every job whose client is still
 *			connected (as submitter or watcher) gets its final
 *			state before the daemon closes the connection; the
 *			daemon exits 0 within its grace period
 *	proof		ledger.c against the plugin's run ledger; the log
 *			has no sanitizer report and no error line
 *
 * The crash mode (--crash KILLS, crash.c) is another run: tpoold with a
 * job store, killed with SIGKILL at random moments under load and started
 * again KILLS times, then proof that every answered submit was found again
 * with one final state and that no final state a client saw was lost.
 *
 * The whole run is bounded by an alarm; the daemon dies with the soak.
 * The exit status is 0 when every promise was kept, 1 when one was broken
 * (each is printed as a VIOLATION line naming it), 99 when the soak could
 * not run.  The seed is printed first: --seed reruns the same choices
 * (threads interleave differently, so a rerun is close, not identical).
 *
 * (Over 800 lines: it is the run above, phase by phase, with its options,
 * signals and measures, driven from main(); what the phases lean on -- the
 * daemon, the clients, the ledger, the crash mode -- each has a file of
 * its own.)
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "soak.h"

#ifndef SOAK_BUILDDIR
#error "SOAK_BUILDDIR must name the build tree"
#endif

/* Which sanitizer this build has: the daemon beside it has the same. */
#if defined(__SANITIZE_THREAD__)
#define	SOAK_SANITIZER	"TSan"
#define	SOAK_SLOW	4u
#elif defined(__SANITIZE_ADDRESS__)
#define	SOAK_SANITIZER	"ASan"
#define	SOAK_SLOW	2u
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define	SOAK_SANITIZER	"TSan"
#define	SOAK_SLOW	4u
#elif __has_feature(address_sanitizer)
#define	SOAK_SANITIZER	"ASan"
#define	SOAK_SLOW	2u
#endif
#endif
#ifndef SOAK_SANITIZER
#define	SOAK_SANITIZER	"none"
#define	SOAK_SLOW	1u
#endif

#define	SOAK_SHORT_DURATION_S	10u
#define	SOAK_SHORT_CLIENTS	32u
#define	SOAK_LONG_CLIENTS	200u
#define	SOAK_CRASH_CLIENTS	6u
#define	SOAK_CRASH_TTL_MS	3600000u
#define	SOAK_IDLE_MS		1000u
#define	SOAK_TTL_MS		2000u
#define	SOAK_GRACE_MS		5000u
#define	SOAK_CALL_MS		30000u
#define	SOAK_REAP_MS		1000u	/* the daemon forgets jobs once a second */

struct soak_config soak_cfg;
int soak_phase;
int soak_stop;
int soak_hup;
int soak_term;

static uint64_t soak_t0;
static bool soak_daemon_crashed;
static char soak_alarm_msg[256];
static size_t soak_alarm_len;

/* ------------------------------------------------------------------ util */

int
soak_load(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

void
soak_store(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

void
soak_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

uint64_t
soak_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

unsigned int
soak_rand_below(uint64_t *state, unsigned int n)
{
	return n == 0 ? 0 : (unsigned int)((soak_rand(state) >> 32) % n);
}

static void
soak_vlog(const char *fmt, va_list ap)
{
	char buf[512];

	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	(void)fprintf(stderr, "soak [%6.1f s] %s\n", (double)(tu_now_ns() - soak_t0) / 1e9,
	    buf);
}

void
soak_log(const char *fmt, ...)
{
	va_list ap;

	if (!soak_cfg.sc_verbose)
		return;
	va_start(ap, fmt);
	soak_vlog(fmt, ap);
	va_end(ap);
}

void
soak_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	soak_vlog(fmt, ap);
	va_end(ap);
}

/* --------------------------------------------------------------- signals */

static void
soak_on_alarm(int sig)
{
	(void)sig;
	soak_daemon_kill();
	(void)write(STDERR_FILENO, soak_alarm_msg, soak_alarm_len);
	_exit(1);
}

static void
soak_on_signal(int sig)
{
	soak_daemon_kill();
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

/* What the alarm prints (again once the folder is known). */
static void
soak_alarm_message(unsigned int bound_s)
{
	(void)snprintf(soak_alarm_msg, sizeof(soak_alarm_msg),
	    "VIOLATION timeout: the soak did not end within %u s (a hung daemon or client); "
	    "seed %" PRIu64 "%s%s\n", bound_s, soak_cfg.sc_seed,
	    soak_daemon_dir()[0] != '\0' ? ", kept " : "", soak_daemon_dir());
	soak_alarm_len = strlen(soak_alarm_msg);
}

static void
soak_signals(unsigned int bound_s)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = soak_on_alarm;
	(void)sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = soak_on_signal;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	soak_alarm_message(bound_s);
	(void)alarm(bound_s);
}

/* --------------------------------------------------------------- options */

static void
soak_usage(FILE *f)
{
	(void)fprintf(f,
	    "usage: soak [--short | --duration SECONDS] [--clients N] [--seed N]\n"
	    "            [--warmup S] [--daemon PATH] [--plugins DIR] [--max-threads N]\n"
	    "            [--replace-plugin] [--allow KIND] [--malloc-stats] [--self-test]\n"
	    "            [--keep] [-v]\n"
	    "       soak --crash KILLS [--clients N] [--seed N] [--daemon PATH] [--keep] [-v]\n"
	    "\n"
	    "Soak test of tpoold: starts the daemon on a private socket, loads it with\n"
	    "many clients (all pool kinds and priorities, cancels, watches, status,\n"
	    "disconnects, a SIGHUP), stops it with SIGTERM, and proves that every\n"
	    "accepted job got exactly one final state, that every cancel answer was\n"
	    "true, and that its memory and descriptors came back (memory less a\n"
	    "sanitizer's shadow; not checked under TSan).\n"
	    "\n"
	    "The crash mode (--crash) runs it with a job store (--state-dir) under load\n"
	    "and kills it with SIGKILL KILLS times at random moments, starting it again\n"
	    "each time; then proves that every submit answered with a job id was found\n"
	    "again with one final state, that no final state a client saw was lost or\n"
	    "changed, and that no job ran after its end was seen.\n"
	    "\n"
	    "  --short            about 25 s: %u s of load, %u clients (the default;\n"
	    "                     fewer clients under a sanitizer)\n"
	    "  --duration S       load for S seconds (the long mode; %u clients)\n"
	    "  --clients N        client threads, each with its own connection\n"
	    "  --warmup S         seconds of load before the baseline is measured\n"
	    "  --seed N           the random seed (printed at the start)\n"
	    "  --daemon PATH      the tpoold to run (default: the build tree's)\n"
	    "  --plugins DIR      where soakrec.so and soakrec2.so are\n"
	    "  --max-threads N    tpoold --max-threads (default 4, so jobs queue; 0: none)\n"
	    "  --crash KILLS      the crash mode (%u clients unless --clients)\n"
	    "  --replace-plugin   at the SIGHUP also rename a new copy of soakrec.so over\n"
	    "                     the old one while its jobs run: soakrec must stay usable\n"
	    "  --allow KIND       report violations of KIND (e.g. event-after-final) but\n"
	    "                     do not fail for them: for a known daemon bug being fixed\n"
	    "  --malloc-stats     also measure the bytes tpoold's malloc has in use (glibc's\n"
	    "                     malloc_stats() called in it by gdb): when they came back,\n"
	    "                     VmRSS above its limit is malloc's cache, not a leak\n"
	    "  --self-test        before the proof, add to the run ledger the runs a broken\n"
	    "                     daemon would cause; pass only if the proof finds each\n"
	    "  --keep             keep the temporary folder (log, run ledger)\n"
	    "  -v, --verbose      say what happens as it happens\n"
	    "  -h, --help         this text\n"
	    "\n"
	    "Environment: SOAK_DURATION, SOAK_CLIENTS, SOAK_SEED (defaults for the\n"
	    "options), SOAK_SLOW (scale every wait: default 1, 2 under ASan, 4 under TSan).\n"
	    "Exit status: 0 all promises kept, 1 a violation (printed), 99 could not run.\n",
	    SOAK_SHORT_DURATION_S, SOAK_SHORT_CLIENTS, SOAK_LONG_CLIENTS, SOAK_CRASH_CLIENTS);
}

static unsigned long
soak_number(const char *opt, const char *s, unsigned long min, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		(void)fprintf(stderr, "soak: %s: '%s' is not a number from %lu to %lu\n", opt, s,
		    min, max);
		exit(99);
	}
	return v;
}

static void
soak_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "short", no_argument, NULL, 'S' },
		{ "duration", required_argument, NULL, 'd' },
		{ "clients", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 's' },
		{ "daemon", required_argument, NULL, 'D' },
		{ "plugins", required_argument, NULL, 'P' },
		{ "max-threads", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "allow", required_argument, NULL, 'a' },
		{ "replace-plugin", no_argument, NULL, 'R' },
		{ "crash", required_argument, NULL, 'K' },
		{ "self-test", no_argument, NULL, 'T' },
		{ "malloc-stats", no_argument, NULL, 'M' },
		{ "keep", no_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char daemon_path[PATH_MAX];
	const char *env;
	unsigned long clients = 0, duration = 0, warmup = 0;
	bool longmode = false;
	int ch;

	soak_cfg.sc_slow = SOAK_SLOW;
	soak_cfg.sc_sanitizer = SOAK_SANITIZER;
	soak_cfg.sc_max_threads = 4;
	soak_cfg.sc_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if ((env = getenv("SOAK_SLOW")) != NULL && *env != '\0')
		soak_cfg.sc_slow = (unsigned int)soak_number("SOAK_SLOW", env, 1, 100);
	if ((env = getenv("SOAK_SEED")) != NULL && *env != '\0')
		soak_cfg.sc_seed = soak_number("SOAK_SEED", env, 0, ULONG_MAX);
	if ((env = getenv("SOAK_CLIENTS")) != NULL && *env != '\0')
		clients = soak_number("SOAK_CLIENTS", env, 1, SOAK_MAX_CLIENTS);
	if ((env = getenv("SOAK_DURATION")) != NULL && *env != '\0') {
		duration = soak_number("SOAK_DURATION", env, 1, 7 * 86400);
		longmode = true;
	}

	while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			longmode = false;
			duration = 0;
			break;
		case 'd':
			duration = soak_number("--duration", optarg, 1, 7 * 86400);
			longmode = true;
			break;
		case 'c':
			clients = soak_number("--clients", optarg, 1, SOAK_MAX_CLIENTS);
			break;
		case 's':
			soak_cfg.sc_seed = soak_number("--seed", optarg, 0, ULONG_MAX);
			break;
		case 'D':
			soak_cfg.sc_daemon = optarg;
			break;
		case 'P':
			soak_cfg.sc_plugins = optarg;
			break;
		case 't':
			soak_cfg.sc_max_threads = (unsigned int)soak_number("--max-threads",
			    optarg, 0, 1u << 20);
			break;
		case 'a':
			if (soak_violation_allow(optarg) != 0) {
				(void)fprintf(stderr, "soak: too many --allow\n");
				exit(99);
			}
			break;
		case 'w':
			warmup = soak_number("--warmup", optarg, 1, 86400);
			break;
		case 'K':
			soak_cfg.sc_crash_kills = (unsigned int)soak_number("--crash", optarg,
			    1, 1000);
			break;
		case 'R':
			soak_cfg.sc_replace = true;
			break;
		case 'T':
			soak_cfg.sc_self_test = true;
			break;
		case 'M':
			soak_cfg.sc_malloc_stats = true;
			break;
		case 'k':
			soak_cfg.sc_keep = true;
			break;
		case 'v':
			soak_cfg.sc_verbose = true;
			break;
		case 'h':
			soak_usage(stdout);
			exit(0);
		default:
			soak_usage(stderr);
			exit(99);
		}
	}
	if (optind != argc) {
		soak_usage(stderr);
		exit(99);
	}

	soak_cfg.sc_duration_s = longmode ? (unsigned int)duration : SOAK_SHORT_DURATION_S;
	/* Half as many under a sanitizer: the daemon is slower there. */
	if (clients == 0 && soak_cfg.sc_crash_kills != 0)
		clients = SOAK_CRASH_CLIENTS;
	else if (clients == 0)
		clients = (longmode ? SOAK_LONG_CLIENTS : SOAK_SHORT_CLIENTS) /
		    (SOAK_SLOW > 1 ? 2 : 1);
	soak_cfg.sc_clients = (unsigned int)clients;
	/* Long enough for the warm-up to reach the load's steady state. */
	soak_cfg.sc_idle_ms = SOAK_IDLE_MS;
	/*
	 * A job left behind is asked about when its client connects again,
	 * and only while the daemon keeps it: --finished-ttl is that
	 * margin.  ThreadSanitizer's build, beside other tests on two
	 * vCPUs, has stalled client threads long enough to miss 4 s.
	 */
	soak_cfg.sc_ttl_ms = SOAK_TTL_MS * soak_cfg.sc_slow;
	/* The crash mode looks every job up at its end: none is forgotten. */
	if (soak_cfg.sc_crash_kills != 0)
		soak_cfg.sc_ttl_ms = SOAK_CRASH_TTL_MS;
	/*
	 * The baseline must be taken once the daemon has seen what the load
	 * will make it hold: finished jobs are kept --finished-ttl, so the
	 * warm-up lasts that and more (the memory malloc keeps after a peak
	 * is the daemon's high-water mark, not a leak).
	 */
	if (warmup != 0)
		soak_cfg.sc_warmup_s = (unsigned int)warmup;
	else
		soak_cfg.sc_warmup_s = soak_cfg.sc_ttl_ms / 1000 + (longmode ? 10 : 3);
	soak_cfg.sc_grace_ms = SOAK_GRACE_MS * soak_cfg.sc_slow;
	soak_cfg.sc_call_ms = SOAK_CALL_MS * soak_cfg.sc_slow;

	if (soak_cfg.sc_daemon == NULL) {
		/* The real binary, not libtool's wrapper: its pid is the daemon's. */
		(void)snprintf(daemon_path, sizeof(daemon_path), "%s/daemon/.libs/tpoold",
		    SOAK_BUILDDIR);
		if (access(daemon_path, X_OK) != 0)
			(void)snprintf(daemon_path, sizeof(daemon_path), "%s/daemon/tpoold",
			    SOAK_BUILDDIR);
		soak_cfg.sc_daemon = daemon_path;
	}
	if (soak_cfg.sc_plugins == NULL)
		soak_cfg.sc_plugins = SOAK_BUILDDIR "/tests/soak/.libs";
}

/* ---------------------------------------------------------------- phases */

static struct tpc *
soak_monitor(void)
{
	struct tpc *c = NULL;
	int error;

	if ((error = tpc_connect(soak_cfg.sc_sock, &c)) != 0) {
		soak_violation("connect", "monitor: connect: %s", tpc_strerror(error));
		return NULL;
	}
	(void)tpc_set_timeout(c, (int)soak_cfg.sc_call_ms);
	return c;
}

/* After the SIGHUP: soakrec2 must be listed (and soakrec still). */
static void
soak_confirm_hup(void)
{
	uint64_t end = tu_now_ns() + 10000000000ull * soak_cfg.sc_slow;
	Tpool__PluginList *pl;
	struct tpc *c = soak_monitor();
	bool have1, have2;
	size_t i;
	int error;

	if (c == NULL)
		return;
	for (;;) {
		have1 = have2 = false;
		if ((error = tpc_list_plugins(c, &pl)) != 0) {
			soak_violation("sighup", "listing plugins: %s", tpc_strerror(error));
			break;
		}
		for (i = 0; i < pl->n_plugins; i++) {
			have1 |= strcmp(pl->plugins[i]->name, SOAK_PLUGIN) == 0;
			have2 |= strcmp(pl->plugins[i]->name, SOAK_PLUGIN2) == 0;
		}
		tpool__plugin_list__free_unpacked(pl, NULL);
		if (!have1)
			soak_violation("sighup", "%s is not listed after its file was replaced",
			    SOAK_PLUGIN);
		if (have2 || !have1) {
			soak_store(&soak_hup, SOAK_HUP_DONE);
			break;
		}
		if (tu_now_ns() >= end) {
			soak_violation("sighup", "%s did not appear after SIGHUP", SOAK_PLUGIN2);
			break;
		}
		soak_sleep_ms(20);
	}
	tpc_free(c);
}

/* Sleep ms, watching the daemon: false (said as a violation) if it died. */
static bool
soak_watch_daemon(unsigned int ms)
{
	uint64_t end = tu_now_ns() + (uint64_t)ms * 1000000u;
	int status;

	while (tu_now_ns() < end) {
		if (soak_daemon_died(&status)) {
			soak_violation("crash", "tpoold ended during the %s with %s %d",
			    soak_load(&soak_phase) == SOAK_PHASE_LOAD ? "load" : "warm-up",
			    WIFSIGNALED(status) ? "signal" : "exit status",
			    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			soak_daemon_crashed = true;
			return false;
		}
		soak_sleep_ms(100);
	}
	return true;
}

/* The client threads of a phase. */
struct soak_clients {
	struct soak_client	**cs_clients;
	pthread_t		*cs_threads;
};

/* Start --clients threads for the current phase. */
static void
soak_clients_start(struct soak_clients *cs)
{
	unsigned int i, n = soak_cfg.sc_clients;
	int error;

	cs->cs_clients = calloc(n, sizeof(*cs->cs_clients));
	cs->cs_threads = calloc(n, sizeof(*cs->cs_threads));
	if (cs->cs_clients == NULL || cs->cs_threads == NULL) {
		(void)fprintf(stderr, "soak: no memory\n");
		soak_daemon_cleanup(true);
		exit(99);
	}
	for (i = 0; i < n; i++) {
		cs->cs_clients[i] = soak_client_new((int)i);
		error = pthread_create(&cs->cs_threads[i], NULL, soak_client_main,
		    cs->cs_clients[i]);
		if (error != 0) {
			(void)fprintf(stderr, "soak: pthread_create: %s\n", strerror(error));
			soak_daemon_cleanup(true);
			exit(99);
		}
	}
}

/* Wait for them to end their part of the phase, and free them. */
static void
soak_clients_join(struct soak_clients *cs)
{
	unsigned int i;

	for (i = 0; i < soak_cfg.sc_clients; i++) {
		(void)pthread_join(cs->cs_threads[i], NULL);
		soak_client_free(cs->cs_clients[i]);
	}
	free(cs->cs_clients);
	free(cs->cs_threads);
}

/* Run the client threads for seconds (with the SIGHUP half way if hup). */
static void
soak_run_clients(unsigned int seconds, bool hup)
{
	struct soak_clients cs;
	int error;

	soak_store(&soak_stop, 0);
	soak_clients_start(&cs);
	if (hup) {
		if (soak_watch_daemon(seconds * 500)) {
			soak_log("SIGHUP: %s added%s", SOAK_PLUGIN2, soak_cfg.sc_replace ?
			    ", " SOAK_PLUGIN " replaced" : "");
			soak_store(&soak_hup, SOAK_HUP_SENT);
			if ((error = soak_daemon_hup()) != 0)
				soak_violation("sighup", "could not send it: %s", strerror(error));
			else
				soak_confirm_hup();
			(void)soak_watch_daemon(seconds * 500);
		}
	} else {
		(void)soak_watch_daemon(seconds * 1000);
	}
	soak_store(&soak_stop, 1);
	soak_log("stopping %u clients", soak_cfg.sc_clients);
	soak_clients_join(&cs);
}

/*
 * Wait until the daemon is quiet: no job in flight, only our connection,
 * no worker thread left; optionally check its totals against the ledger.
 * Then wait for its finished jobs to be forgotten.
 */
static void
soak_quiesce(const char *when, bool totals)
{
	uint64_t end = tu_now_ns() + (uint64_t)(soak_cfg.sc_idle_ms + 30000u) *
	    soak_cfg.sc_slow * 1000000u;
	Tpool__StatsReply *st;
	struct tpc *c = soak_monitor();
	unsigned int workers;
	size_t i;
	int error;

	if (c == NULL)
		return;
	for (;;) {
		if ((error = tpc_stats(c, &st)) != 0) {
			soak_violation("quiesce", "%s: stats: %s", when, tpc_strerror(error));
			break;
		}
		for (workers = 0, i = 0; i < st->n_pools; i++)
			workers += st->pools[i]->threads;
		if (st->jobs_in_flight == 0 && st->connections == 1 && workers == 0) {
			if (totals)
				soak_ledger_check_totals(st);
			soak_log("%s: quiet: %" PRIu64 " jobs accepted, %u pools", when,
			    st->jobs_accepted, (unsigned int)st->n_pools);
			tpool__stats_reply__free_unpacked(st, NULL);
			break;
		}
		if (tu_now_ns() >= end) {
			soak_violation("quiesce", "%s: still %u jobs in flight, %u connections, "
			    "%u worker threads", when, st->jobs_in_flight, st->connections,
			    workers);
			tpool__stats_reply__free_unpacked(st, NULL);
			break;
		}
		tpool__stats_reply__free_unpacked(st, NULL);
		soak_sleep_ms(100);
	}
	tpc_free(c);
	/* Finished jobs are forgotten --finished-ttl after they became final. */
	soak_sleep_ms(soak_cfg.sc_ttl_ms + SOAK_REAP_MS + 500);
}

/*
 * The daemon's own resident memory, in kB: VmRSS less a sanitizer's shadow,
 * which mirrors every address the daemon ever touched and is never given
 * back, so that it follows the load's peak (finished jobs are kept
 * --finished-ttl: the peak follows the job rate), not what the daemon
 * holds.
 */
static long
soak_own_kb(const struct soak_usage *u)
{
	return u->su_rss_kb - u->su_shadow_kb;
}

/* How soak_own_kb's figure is named beside "VmRSS". */
#define	SOAK_LESS_SHADOW(u)	((u)->su_shadow_kb != 0 ? " less shadow" : "")

/*
 * Is the daemon's memory after the load checked against the baseline?
 * Not under TSan, where even the rest follows the peak: its runtime's own
 * state (sync objects, thread histories) is kept in anonymous mappings
 * beside the daemon's, and with no leak (the plain build's tight check
 * passing) VmRSS less shadow went from 43,304 to 80,020 kB over a load
 * that outran a short warm-up (--warmup 2), and VmRSS from 91,660 to
 * 143,308 kB in a run whose warm-up shared two vCPUs with other tests.
 * The check that can tell a leak from that is the plain build's; under
 * ASan, LeakSanitizer's at exit as well.  Descriptors and threads are
 * checked under every build.
 */
static bool
soak_rss_checked(void)
{
	return strcmp(soak_cfg.sc_sanitizer, "TSan") != 0;
}

/* How far above the baseline the daemon's own memory may end up, in kB. */
static long
soak_rss_limit(long before_kb)
{
	long slack = before_kb / 10;

	if (slack < 2048)
		slack = 2048;
	/*
	 * ASan's allocator keeps freed blocks back (its quarantine, cut to
	 * 4 MiB for the soak's tpoold: daemon.c): half again, and at least
	 * 16 MiB, under a sanitizer.
	 */
	if (soak_cfg.sc_slow > 1) {
		if (slack < before_kb / 2)
			slack = before_kb / 2;
		if (slack < 16384)
			slack = 16384;
	}
	return before_kb + slack;
}

/* How far above the baseline malloc's bytes in use may end up. */
static long long
soak_heap_limit(long long before)
{
	long long slack = before / 20;

	/* Tables that grew to the load's peak (the job hash) stay grown. */
	if (slack < 1024 * 1024)
		slack = 1024 * 1024;
	return before + slack;
}

static bool
soak_measure(struct soak_usage *u, const char *when, bool heap)
{
	int error;

	if ((error = soak_daemon_usage(u)) != 0) {
		soak_violation("usage", "%s: reading /proc of tpoold: %s", when, strerror(error));
		return false;
	}
	if (heap && soak_cfg.sc_malloc_stats &&
	    (u->su_heap = soak_daemon_heap_in_use()) < 0)
		soak_info("%s: no malloc_stats() from tpoold (gdb? ptrace? a sanitizer?)", when);
	soak_log("%s: VmRSS %ld kB (sanitizer's shadow %ld kB), %ld fds, %ld threads, "
	    "malloc in use %lld bytes", when, u->su_rss_kb, u->su_shadow_kb, u->su_fds,
	    u->su_threads, u->su_heap);
	return true;
}

/* After the load: back to the baseline, waiting a little for stragglers. */
static void
soak_measure_after(const struct soak_usage *before, struct soak_usage *after)
{
	uint64_t end = tu_now_ns() + 10000000000ull * soak_cfg.sc_slow;
	long limit = soak_rss_limit(soak_own_kb(before));
	/* One per plugin loaded: soakrec2 came at the SIGHUP; a replaced
	 * soakrec's old object, and its descriptor, went with its jobs. */
	long plugin_fds = before->su_plugin_fds +
	    (soak_load(&soak_hup) == SOAK_HUP_DONE ? 1 : 0);

	bool heap_back;

	for (;;) {
		if (!soak_measure(after, "after the load", false))
			return;
		if (((soak_own_kb(after) <= limit || !soak_rss_checked()) &&
		    after->su_fds - after->su_plugin_fds ==
		    before->su_fds - before->su_plugin_fds &&
		    after->su_plugin_fds == plugin_fds &&
		    after->su_threads == before->su_threads) || tu_now_ns() >= end)
			break;
		soak_sleep_ms(500);
	}
	if (before->su_heap >= 0 && !soak_measure(after, "after the load", true))
		return;
	heap_back = before->su_heap >= 0 && after->su_heap >= 0 &&
	    after->su_heap <= soak_heap_limit(before->su_heap);
	if (before->su_heap >= 0 && after->su_heap >= 0 && !heap_back)
		soak_violation("memory", "tpoold's malloc has %lld bytes in use after the load, "
		    "%lld before (limit %lld)", after->su_heap, before->su_heap,
		    soak_heap_limit(before->su_heap));
	if (soak_rss_checked() && soak_own_kb(after) > limit) {
		if (heap_back)
			soak_info("tpoold's VmRSS%s %ld kB after the load, %ld kB before "
			    "(limit %ld kB), but malloc's bytes in use came back (%lld, "
			    "%lld before): freed memory malloc keeps, not a leak",
			    SOAK_LESS_SHADOW(after), soak_own_kb(after),
			    soak_own_kb(before), limit, after->su_heap, before->su_heap);
		else
			soak_violation("memory", "tpoold's VmRSS%s %ld kB after the load, "
			    "%ld kB before (limit %ld kB)", SOAK_LESS_SHADOW(after),
			    soak_own_kb(after), soak_own_kb(before), limit);
	}
	if (after->su_fds - after->su_plugin_fds != before->su_fds - before->su_plugin_fds)
		soak_violation("descriptors", "tpoold has %ld open descriptors after the load, "
		    "%ld before (plugins' not counted)", after->su_fds - after->su_plugin_fds,
		    before->su_fds - before->su_plugin_fds);
	if (after->su_plugin_fds != plugin_fds)
		soak_violation("descriptors", "tpoold has %ld plugin descriptors after the load, "
		    "%ld expected (one per loaded plugin)", after->su_plugin_fds, plugin_fds);
	if (after->su_threads != before->su_threads)
		soak_violation("threads", "tpoold has %ld threads after the load, %ld before",
		    after->su_threads, before->su_threads);
}

/* Jobs in flight, some watched, some left behind; SIGTERM; the daemon's exit. */
static void
soak_final(void)
{
	struct soak_clients cs;
	int status;

	soak_client_final_setup(soak_cfg.sc_clients);
	soak_clients_start(&cs);
	soak_client_final_in_flight();
	soak_client_final_go();
	/* Let some of the queued jobs start. */
	soak_sleep_ms(50);
	soak_log("SIGTERM with jobs queued and running");
	soak_store(&soak_term, 1);
	if (kill(soak_daemon_pid(), SIGTERM) != 0)
		soak_violation("sigterm", "kill: %s", strerror(errno));
	status = soak_daemon_wait(soak_cfg.sc_grace_ms + 20000 * soak_cfg.sc_slow);
	if (status == -1)
		soak_violation("sigterm", "tpoold did not exit within %u ms of SIGTERM",
		    soak_cfg.sc_grace_ms + 20000 * soak_cfg.sc_slow);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		soak_violation("sigterm", "tpoold ended with %s %d after SIGTERM",
		    WIFSIGNALED(status) ? "signal" : "exit status",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	else
		soak_log("tpoold exited 0");
	if (status == -1)
		soak_daemon_kill();
	soak_clients_join(&cs);
	soak_client_final_done();
}

static void
soak_summary(const struct soak_usage *before, const struct soak_usage *after, double secs)
{
	char limit[64];

	printf("soak: seed %" PRIu64 ", %u clients, %u s of load after %u s of warm-up, "
	    "sanitizer %s, --max-threads %u, %.1f s in all\n", soak_cfg.sc_seed,
	    soak_cfg.sc_clients, soak_cfg.sc_duration_s, soak_cfg.sc_warmup_s,
	    soak_cfg.sc_sanitizer, soak_cfg.sc_max_threads, secs);
	printf("  jobs      submitted %" PRIu64 ", accepted %" PRIu64 ", refused %" PRIu64
	    " (unknown plugin %" PRIu64 ", invalid CPU %" PRIu64 ", shutting down %" PRIu64
	    ")\n", soak_counter(SOAK_C_SUBMITTED), soak_counter(SOAK_C_ACCEPTED),
	    soak_counter(SOAK_C_REJECTED), soak_counter(SOAK_C_REJ_UNKNOWN_PLUGIN),
	    soak_counter(SOAK_C_REJ_INVALID_CPU), soak_counter(SOAK_C_REJ_SHUTTING_DOWN));
	printf("  ended     succeeded %" PRIu64 ", failed %" PRIu64 " (%" PRIu64 " when "
	    "their worker process crashed), cancelled %" PRIu64
	    " (%" PRIu64 " never ran); unobserved (client left before SIGTERM) %" PRIu64 "\n",
	    soak_counter(SOAK_C_SUCCEEDED), soak_counter(SOAK_C_FAILED),
	    soak_counter(SOAK_C_CRASHED),
	    soak_counter(SOAK_C_CANCELLED), soak_counter(SOAK_C_NEVER_RAN),
	    soak_counter(SOAK_C_UNOBSERVED));
	printf("  cancels   %" PRIu64 " sent (%" PRIu64 " with --wait, %" PRIu64 " answer "
	    "dropped by disconnecting): before-run %" PRIu64 ", too-late %" PRIu64
	    ", already-finished %" PRIu64 "\n", soak_counter(SOAK_C_CANCELS),
	    soak_counter(SOAK_C_CANCELS_WAIT), soak_counter(SOAK_C_CANCELS_LOST),
	    soak_counter(SOAK_C_BEFORE_RUN), soak_counter(SOAK_C_TOO_LATE),
	    soak_counter(SOAK_C_ALREADY));
	printf("  clients   %" PRIu64 " connections, %" PRIu64 " disconnects with jobs in "
	    "flight (%" PRIu64 " jobs left behind), %" PRIu64 " watches, %" PRIu64
	    " status (%" PRIu64 " of all jobs), %" PRIu64 " stats, %" PRIu64 " events, %"
	    PRIu64 " answers of no such job\n", soak_counter(SOAK_C_CONNECTS),
	    soak_counter(SOAK_C_DISCONNECTS), soak_counter(SOAK_C_ORPHANS),
	    soak_counter(SOAK_C_WATCHES), soak_counter(SOAK_C_STATUS),
	    soak_counter(SOAK_C_STATUS_ALL), soak_counter(SOAK_C_STATS),
	    soak_counter(SOAK_C_EVENTS), soak_counter(SOAK_C_GONE));
	if (after->su_rss_kb == 0)
		printf("  tpoold    not measured after the load (see the violations)\n");
	else {
		if (soak_rss_checked())
			(void)snprintf(limit, sizeof(limit), "limit %ld kB",
			    soak_rss_limit(soak_own_kb(before)));
		else
			(void)snprintf(limit, sizeof(limit), "not checked under %s",
			    soak_cfg.sc_sanitizer);
		printf("  tpoold    VmRSS%s %ld kB before, %ld kB after (%s); fds %ld "
		    "before, %ld after; threads %ld before, %ld after\n",
		    SOAK_LESS_SHADOW(after), soak_own_kb(before), soak_own_kb(after), limit,
		    before->su_fds, after->su_fds, before->su_threads, after->su_threads);
	}
	if (after->su_rss_kb != 0 && after->su_shadow_kb != 0)
		printf("  shadow    the sanitizer's shadow: %ld kB before, %ld kB after\n",
		    before->su_shadow_kb, after->su_shadow_kb);
	if (before->su_heap >= 0 && after->su_heap >= 0)
		printf("  malloc    %lld bytes in use before, %lld after (limit %lld)\n",
		    before->su_heap, after->su_heap, soak_heap_limit(before->su_heap));
}

int
main(int argc, char **argv)
{
	struct soak_usage before = { 0, 0, 0, 0, 0, -1 }, after = { 0, 0, 0, 0, 0, -1 };
	const char *injected[8];
	size_t ninjected = 0;
	unsigned int bound_s, nviol;
	int error;

	soak_t0 = tu_now_ns();
	soak_options(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (soak_cfg.sc_crash_kills != 0) {
		/* Each kill waits at most 0.6 s, each start up to 30 s. */
		bound_s = soak_cfg.sc_slow * (120u + soak_cfg.sc_crash_kills * 3u);
		soak_signals(bound_s);
		printf("soak: seed %" PRIu64 " (rerun with --seed %" PRIu64 "), crash mode, "
		    "%u kills, %u clients, sanitizer %s, bound %u s\n", soak_cfg.sc_seed,
		    soak_cfg.sc_seed, soak_cfg.sc_crash_kills, soak_cfg.sc_clients,
		    soak_cfg.sc_sanitizer, bound_s);
		return soak_crash_main();
	}
	bound_s = soak_cfg.sc_warmup_s + soak_cfg.sc_duration_s + soak_cfg.sc_slow * (150u +
	    2 * (soak_cfg.sc_ttl_ms + soak_cfg.sc_idle_ms) / 1000 + soak_cfg.sc_grace_ms / 1000);
	soak_signals(bound_s);
	printf("soak: seed %" PRIu64 " (rerun with --seed %" PRIu64 "), %u clients, %u s of "
	    "load, sanitizer %s, bound %u s\n", soak_cfg.sc_seed, soak_cfg.sc_seed,
	    soak_cfg.sc_clients, soak_cfg.sc_duration_s, soak_cfg.sc_sanitizer, bound_s);

	if ((error = soak_daemon_start()) != 0) {
		(void)fprintf(stderr, "soak: could not start %s: %s\n", soak_cfg.sc_daemon,
		    strerror(error));
		soak_daemon_cleanup(true);
		return 99;
	}
	soak_alarm_message(bound_s);
	soak_info("tpoold %d on %s", (int)soak_daemon_pid(), soak_cfg.sc_sock);

	soak_store(&soak_phase, SOAK_PHASE_PROBE);
	if ((error = soak_client_probe()) != 0) {
		soak_violations_print();
		(void)fprintf(stderr, "soak: probing the daemon failed: %s\n", strerror(error));
		soak_daemon_cleanup(true);
		return 99;
	}
	soak_info("priorities %u, CPUs %u; warm-up %u s", soak_cfg.sc_npris, soak_cfg.sc_ncpus,
	    soak_cfg.sc_warmup_s);

	soak_store(&soak_phase, SOAK_PHASE_WARMUP);
	soak_run_clients(soak_cfg.sc_warmup_s, false);
	if (!soak_daemon_crashed) {
		soak_quiesce("after the warm-up", true);
		(void)soak_measure(&before, "baseline", true);
		soak_info("load: %u clients for %u s", soak_cfg.sc_clients,
		    soak_cfg.sc_duration_s);
		soak_store(&soak_phase, SOAK_PHASE_LOAD);
		soak_run_clients(soak_cfg.sc_duration_s, true);
	}
	if (!soak_daemon_crashed) {
		soak_info("load over: %zu jobs in the ledger; waiting for the daemon to be "
		    "quiet", soak_ledger_jobs());
		soak_quiesce("after the load", true);
		soak_measure_after(&before, &after);
		soak_info("final phase: jobs in flight, then SIGTERM");
		soak_store(&soak_phase, SOAK_PHASE_FINAL);
		soak_final();
	}

	soak_daemon_check_log();
	if (soak_cfg.sc_self_test) {
		ninjected = soak_ledger_inject(soak_daemon_run_ledger(), injected,
		    sizeof(injected) / sizeof(injected[0]));
		soak_self_test_allow(injected, ninjected);
	}
	soak_ledger_prove(soak_daemon_run_ledger());
	soak_self_test_check(injected, ninjected);
	soak_summary(&before, &after, (double)(tu_now_ns() - soak_t0) / 1e9);
	nviol = soak_violations();
	soak_violations_print();
	if (nviol != 0) {
		printf("soak: FAIL: %u violations (seed %" PRIu64 ")\n", nviol, soak_cfg.sc_seed);
	} else {
		printf("soak: PASS: every accepted job got exactly one final state, every "
		    "cancel answer was true, %s came back%s\n", soak_rss_checked() ?
		    "memory and descriptors" : "descriptors (memory not checked under TSan)",
		    soak_cfg.sc_self_test ? " (self-test: every injected fault found)" : "");
	}
	soak_daemon_cleanup(nviol != 0);
	return nviol != 0 ? 1 : 0;
}
