/*
 * main.c -- bench_shared: tpoold as a service shared by hostile local
 * users.  For each bound of the daemon (docs/reliability.md, "Bounds"),
 * throwaway uids hold it at its maximum, and the bench reports what that
 * costs the daemon (VmRSS and threads, before and at the peak), the
 * refusal they get at the bound, and what another user (the victim, a uid
 * of its own) sees meanwhile: its echo round trips, median and p99, beside
 * the same on the quiet daemon.  The scenarios are in attacks.c, the
 * course of each in scenario.c.
 *
 * It must run as root: its client processes setuid() to the uids
 * SH_FIRST_UID.. and SH_VICTIM_UID (no account needed: tpoold knows its
 * peers by SO_PEERCRED), and tpoold runs as root, as a system service
 * would.  Each scenario has a fresh tpoold of the build tree on a socket
 * in the bench's temporary folder (0755, root's), with the example
 * plugins copied into a root-owned folder; SIGTERM ends it, and it must
 * exit 0.
 *
 * Output: one table and the notes of each scenario, or --json.  How to
 * read them: docs/benchmarks.md (## Shared service: `bench_shared`).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/utsname.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared.h"

#ifndef TP_BENCH_BUILDDIR
#define	TP_BENCH_BUILDDIR	"."
#endif

/* proc.c's options: the daemon, its plugins, -v, the alarm. */
struct bench_config bench_config;
struct sh_config sh_config;

static struct sh_result main_results[SH_NSCENARIOS];
static char main_cmdline[1024];
static char main_cpu[128];
static char main_kernel[200];
static double main_load[3];
static long main_mem_mib;

void
bench_note(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (bench_config.bc_json && !bench_config.bc_verbose)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	(void)fprintf(stderr, SH_NAME ": %s\n", line);
}

/* ------------------------------------------------------------ machine */

/* The text after "key" and its colon in the file path, into buf. */
static void
main_proc_value(const char *path, const char *key, char *buf, size_t len)
{
	char text[8192], *p;
	ssize_t n;
	int fd;

	(void)snprintf(buf, len, "unknown");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, text, sizeof(text) - 1);
	(void)close(fd);
	if (n <= 0)
		return;
	text[n] = '\0';
	if ((p = strstr(text, key)) == NULL || (p = strchr(p, ':')) == NULL)
		return;
	p += 1 + strspn(p + 1, " \t");
	(void)snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
}

static void
main_machine(int argc, char **argv)
{
	char *p = main_cmdline, *end = main_cmdline + sizeof(main_cmdline);
	struct utsname u;
	char mem[64];
	int i, n;

	for (i = 0; i < argc; i++) {
		n = snprintf(p, (size_t)(end - p), "%s%s", i > 0 ? " " : "",
		    argv[i]);
		if (n < 0 || n >= end - p)
			break;		/* cut: the buffer is full */
		p += n;
	}
	main_proc_value("/proc/cpuinfo", "model name", main_cpu,
	    sizeof(main_cpu));
	main_proc_value("/proc/meminfo", "MemTotal", mem, sizeof(mem));
	main_mem_mib = strtol(mem, NULL, 10) / 1024;
	memset(&u, 0, sizeof(u));
	(void)uname(&u);
	(void)snprintf(main_kernel, sizeof(main_kernel), "%s %s %s", u.sysname,
	    u.release, u.machine);
	(void)getloadavg(main_load, 3);	/* zeros if it cannot */
}

/* The CPUs this process may use, into sh_config. */
static void
main_cpus(void)
{
	cpu_set_t set;
	int cpu;

	sh_config.sc_ncpus = 0;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		CPU_ZERO(&set);
	for (cpu = 0; cpu < CPU_SETSIZE && sh_config.sc_ncpus < SH_MAX_CPUS;
	    cpu++)
		if (CPU_ISSET(cpu, &set))
			sh_config.sc_cpus[sh_config.sc_ncpus++] = cpu;
}

/* -------------------------------------------------------------- table */

/* A duration of us microseconds, in the unit that suits it. */
static const char *
main_dur(double us, char *buf, size_t len)
{
	if (us < 1e3)
		(void)snprintf(buf, len, "%.0fus", us);
	else if (us < 1e6)
		(void)snprintf(buf, len, "%.1fms", us / 1e3);
	else
		(void)snprintf(buf, len, "%.2fs", us / 1e6);
	return buf;
}

/* The victim's median/p99 of a phase, or how long it was stuck. */
static const char *
main_victim(const struct sh_report *rep, char *buf, size_t len)
{
	char a[32], b[32];

	if (rep->rp_samples == 0 && rep->rp_stuck)
		(void)snprintf(buf, len, "stuck >%s",
		    main_dur(rep->rp_stuck_ms * 1e3, a, sizeof(a)));
	else
		(void)snprintf(buf, len, "%s/%s%s",
		    main_dur(rep->rp_median_us, a, sizeof(a)),
		    main_dur(rep->rp_p99_us, b, sizeof(b)),
		    rep->rp_stuck ? " +stuck" : "");
	return buf;
}

static void
main_table(void)
{
	const struct sh_result *r;
	char rss[40], thr[24], v[48], base[48];
	unsigned int i;

	(void)printf("\n%-2s %-15s %-36s %-28s %-15s %-9s %-20s %s\n", "#",
	    "scenario", "held", "refusal", "RSS MiB", "threads",
	    "victim med/p99", "baseline");
	for (i = 0; i < SH_NSCENARIOS; i++) {
		r = &main_results[i];
		if (!r->sr_ran)
			continue;
		if (!r->sr_ok && r->sr_held[0] == '\0') {
			(void)printf("%-2u %-15s FAILED: %s\n", r->sr_id, r->sr_name,
			    r->sr_error);
			continue;
		}
		(void)snprintf(rss, sizeof(rss), "%.1f->%.1f",
		    (double)r->sr_before.us_rss_kib / 1024.0,
		    (double)r->sr_peak.us_rss_kib / 1024.0);
		(void)snprintf(thr, sizeof(thr), "%ld->%ld",
		    r->sr_before.us_threads, r->sr_peak.us_threads);
		(void)printf("%-2u %-15s %-36s %-28s %-15s %-9s %-20s %s\n",
		    r->sr_id, r->sr_name, r->sr_held, r->sr_refusal, rss, thr,
		    main_victim(&r->sr_hold, v, sizeof(v)),
		    main_victim(&r->sr_base, base, sizeof(base)));
	}
	(void)printf("\n");
	for (i = 0; i < SH_NSCENARIOS; i++) {
		r = &main_results[i];
		if (!r->sr_ran)
			continue;
		(void)printf("%u %s: %s", r->sr_id, r->sr_name, r->sr_notes);
		if (r->sr_refusal_msg[0] != '\0')
			(void)printf("Refused with \"%s\". ", r->sr_refusal_msg);
		if (r->sr_probe_refused)
			(void)printf("Another uid's new connection during the "
			    "hold: refused (%s). ", r->sr_hold.rp_text);
		(void)printf("Victim: %llu round trips in the hold (max %s), %llu "
		    "in the baseline", (unsigned long long)r->sr_hold.rp_samples,
		    main_dur(r->sr_hold.rp_max_us, v, sizeof(v)),
		    (unsigned long long)r->sr_base.rp_samples);
		if (r->sr_hold.rp_stuck)
			(void)printf("; its last job had not ended %s after its "
			    "submit", main_dur(r->sr_hold.rp_stuck_ms * 1e3, v,
			    sizeof(v)));
		(void)printf(". ");
		if (r->sr_ok)
			(void)printf("tpoold exited 0 on SIGTERM in %.2f s; "
			    "%.1f s in all.\n", r->sr_stop_secs, r->sr_secs);
		else
			(void)printf("FAILED: %s\n", r->sr_error);
	}
}

/* ------------------------------------------------------------- --json */

/* s as a JSON string: the quote and the backslash escaped, controls as
 * \u00XX. */
static void
json_string(const char *s)
{
	size_t n;

	(void)putchar('"');
	while (*s != '\0') {
		n = strcspn(s, "\"\\\001\002\003\004\005\006\007\010\011\012"
		    "\013\014\015\016\017\020\021\022\023\024\025\026\027\030"
		    "\031\032\033\034\035\036\037");
		(void)fwrite(s, 1, n, stdout);
		s += n;
		if (*s == '\0')
			break;
		if (*s == '"' || *s == '\\')
			(void)printf("\\%c", *s);
		else
			(void)printf("\\u%04x", (unsigned int)(unsigned char)*s);
		s++;
	}
	(void)putchar('"');
}

static void
json_victim(const char *key, const struct sh_report *rep)
{
	(void)printf("\"%s\": {\"round_trips\": %llu, \"median_us\": %.1f, "
	    "\"p99_us\": %.1f, \"max_us\": %.1f, \"stuck\": %s, "
	    "\"stuck_ms\": %.1f}", key, (unsigned long long)rep->rp_samples,
	    rep->rp_median_us, rep->rp_p99_us, rep->rp_max_us,
	    rep->rp_stuck ? "true" : "false", rep->rp_stuck_ms);
}

static void
json_result(const struct sh_result *r)
{
	const struct sh_limits *lm = &r->sr_limits;
	unsigned int i;

	(void)printf("    {\"id\": %u, \"name\": ", r->sr_id);
	json_string(r->sr_name);
	(void)printf(", \"ok\": %s, \"held\": ", r->sr_ok ? "true" : "false");
	json_string(r->sr_held);
	(void)printf(", \"refusal\": ");
	json_string(r->sr_refusal);
	(void)printf(", \"refusal_message\": ");
	json_string(r->sr_refusal_msg);
	(void)printf(",\n     \"rss_kib_before\": %ld, \"rss_kib_peak\": %ld, "
	    "\"threads_before\": %ld, \"threads_peak\": %ld,\n     ",
	    r->sr_before.us_rss_kib, r->sr_peak.us_rss_kib,
	    r->sr_before.us_threads, r->sr_peak.us_threads);
	json_victim("victim_baseline", &r->sr_base);
	(void)printf(",\n     ");
	json_victim("victim_hold", &r->sr_hold);
	(void)printf(",\n     \"new_connection_refused\": %s, "
	    "\"new_connection_refusal\": ", r->sr_probe_refused ? "true" : "false");
	json_string(r->sr_probe_refused ? tp_error_name(r->sr_probe_code) : "");
	(void)printf(",\n     \"stats_at_hold\": ");
	if (r->sr_pools.pl_valid)
		(void)printf("{\"jobs_in_flight\": %u, \"jobs_waiting_turn\": %u, "
		    "\"pools_with_threads\": %u, \"pool_threads\": %u, "
		    "\"pool_threads_idle\": %u, \"pool_queued\": %u}",
		    r->sr_pools.pl_in_flight, r->sr_pools.pl_waiting_turn,
		    r->sr_pools.pl_pools, r->sr_pools.pl_threads,
		    r->sr_pools.pl_idle, r->sr_pools.pl_queued);
	else
		(void)printf("null");
	(void)printf(",\n     \"limits\": {\"max_running\": %llu, "
	    "\"max_threads\": %llu, \"max_jobs_per_client\": %llu, "
	    "\"max_connections\": %llu, \"max_connections_per_user\": %llu, "
	    "\"max_output\": %llu, \"memory_budget\": %llu, "
	    "\"memory_per_user\": %llu},\n     \"figures\": {",
	    (unsigned long long)lm->lm_max_running,
	    (unsigned long long)lm->lm_max_threads,
	    (unsigned long long)lm->lm_max_jobs_per_client,
	    (unsigned long long)lm->lm_max_connections,
	    (unsigned long long)lm->lm_max_connections_per_user,
	    (unsigned long long)lm->lm_max_output,
	    (unsigned long long)lm->lm_memory_budget,
	    (unsigned long long)lm->lm_memory_per_user);
	for (i = 0; i < r->sr_nfig; i++)
		(void)printf("%s\"%s\": %.3f", i > 0 ? ", " : "",
		    r->sr_fig[i].fg_key, r->sr_fig[i].fg_value);
	(void)printf("},\n     \"stop_s\": %.3f, \"seconds\": %.2f, \"notes\": ",
	    r->sr_stop_secs, r->sr_secs);
	json_string(r->sr_notes);
	(void)printf(", \"error\": ");
	if (r->sr_ok)
		(void)printf("null}");
	else
		json_string(r->sr_error);
}

static void
main_json(void)
{
	unsigned int i, n = 0;

	(void)printf("{\n  \"command\": ");
	json_string(main_cmdline);
	(void)printf(",\n  \"machine\": {\"cpus\": %u, \"cpu_model\": ",
	    sh_config.sc_ncpus);
	json_string(main_cpu);
	(void)printf(", \"mem_total_mib\": %ld, \"kernel\": ", main_mem_mib);
	json_string(main_kernel);
	(void)printf(", \"loadavg\": [%.2f, %.2f, %.2f]},\n  \"daemon\": ",
	    main_load[0], main_load[1], main_load[2]);
	json_string(bench_config.bc_daemon);
	(void)printf(",\n  \"victim\": {\"uid\": %u, \"baseline_ms\": %u, "
	    "\"hold_ms\": %u, \"gap_us\": %u},\n  \"scenarios\": [\n",
	    SH_VICTIM_UID, sh_config.sc_baseline_ms, sh_config.sc_hold_ms,
	    sh_config.sc_gap_us);
	for (i = 0; i < SH_NSCENARIOS; i++) {
		if (!main_results[i].sr_ran)
			continue;
		(void)printf("%s", n++ > 0 ? ",\n" : "");
		json_result(&main_results[i]);
	}
	(void)printf("\n  ]\n}\n");
}

/* ------------------------------------------------------------ options */

static void
usage(FILE *f)
{
	(void)fprintf(f,
"usage: bench_shared [-h] [--json] [-v] [--only LIST] [--daemon PATH]\n"
"                    [--plugins DIR] [--baseline MS] [--hold MS] [--gap US]\n"
"                    [--time-limit S]\n"
"\n"
"Measures tpoold as a service shared by hostile local users: for each of\n"
"its bounds, throwaway uids hold it at its maximum; the table gives the\n"
"daemon's VmRSS and threads before and at the peak, the refusal at the\n"
"bound, and another uid's echo round trips (median/p99) during the hold\n"
"beside the same on the quiet daemon.  Runs as root (its clients\n"
"setuid() to uids %d..%d and %d); a fresh tpoold per scenario, on a\n"
"private socket, stopped with SIGTERM (it must exit 0).\n"
"\n"
"scenarios: 1 connections, 2 queued jobs, 3 memory per user, 4 unread\n"
"output, 5 threads, 6 status list, 7 pipelining, 8 fair share\n"
"\n"
"  --only LIST         the scenarios to run, e.g. 1,3 (default: all)\n"
"  --daemon PATH       tpoold to run (default: the build tree's,\n"
"                      %s/daemon/tpoold)\n"
"  --plugins DIR       where the example plugins (echo, sleep, sha256,\n"
"                      fail) are copied from (default: the build tree's,\n"
"                      %s/plugins/.libs)\n"
"  --baseline MS       the victim's round trips on the quiet daemon\n"
"                      (default 1000)\n"
"  --hold MS           the victim's round trips during a hold (default 3000)\n"
"  --gap US            the victim's pause between round trips (default 1000)\n"
"  --time-limit S      stop the whole run after S seconds (default 600)\n"
"  --json              print the results as one JSON object\n"
"  -v                  say what is started, with --json too\n"
"  -h, --help          this help\n"
"\n"
"How to read the results: docs/benchmarks.md (## Shared service).\n",
	    SH_FIRST_UID, SH_FIRST_UID + SH_MAX_ATTACKERS - 1, SH_VICTIM_UID,
	    TP_BENCH_BUILDDIR, TP_BENCH_BUILDDIR);
}

/* A whole decimal number from lo to hi, or -1. */
static long
main_number(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < lo || v > hi)
		return -1;
	return v;
}

/* --only: a comma-separated list of scenario numbers. */
static bool
main_only(const char *s)
{
	const char *p;
	long v;

	sh_config.sc_only = 0;
	for (p = s; *p != '\0'; p++) {
		if (*p == ',')
			continue;
		if (p[1] != '\0' && p[1] != ',')
			return false;
		if ((v = (long)(*p - '0')) < 1 || v > SH_NSCENARIOS)
			return false;
		sh_config.sc_only |= 1u << (v - 1);
	}
	return sh_config.sc_only != 0;
}

/* What an option takes, and where it goes. */
enum main_kind { MO_HELP, MO_FLAG, MO_PATH, MO_LIST, MO_NUMBER };
struct main_opt {
	const char	*mo_name;
	enum main_kind	mo_kind;
	void		*mo_dst;	/* bool, const char *, unsigned int */
	long		mo_lo, mo_hi;	/* MO_NUMBER's range */
};
#define	MAIN_OPT_BASE	256	/* getopt_long's value of main_opts[0] */

static const char *main_plugins;	/* where the plugins are copied from */
static char main_default_daemon[PATH_MAX], main_default_plugins[PATH_MAX];

static const struct main_opt main_opts[] = {
	{ "help", MO_HELP, NULL, 0, 0 },
	{ "json", MO_FLAG, &bench_config.bc_json, 0, 0 },
	{ "only", MO_LIST, NULL, 0, 0 },
	{ "daemon", MO_PATH, &bench_config.bc_daemon, 0, 0 },
	{ "plugins", MO_PATH, &main_plugins, 0, 0 },
	{ "baseline", MO_NUMBER, &sh_config.sc_baseline_ms, 1, 600000 },
	{ "hold", MO_NUMBER, &sh_config.sc_hold_ms, 1, 600000 },
	{ "gap", MO_NUMBER, &sh_config.sc_gap_us, 0, 1000000 },
	{ "time-limit", MO_NUMBER, &bench_config.bc_total_limit_s, 0, 86400 },
};
#define	MAIN_NOPTS	(sizeof(main_opts) / sizeof(main_opts[0]))

/* 0: go on; -1: done (help); else the exit status of a usage error. */
static int
main_options(int argc, char **argv)
{
	struct option lo[MAIN_NOPTS + 1];
	const struct main_opt *o;
	size_t i;
	long v;
	int ch;

	(void)snprintf(main_default_daemon, sizeof(main_default_daemon),
	    "%s/daemon/tpoold", TP_BENCH_BUILDDIR);
	(void)snprintf(main_default_plugins, sizeof(main_default_plugins),
	    "%s/plugins/.libs", TP_BENCH_BUILDDIR);
	bench_config.bc_daemon = main_default_daemon;
	main_plugins = main_default_plugins;
	bench_config.bc_total_limit_s = 600;
	sh_config.sc_only = (1u << SH_NSCENARIOS) - 1;
	sh_config.sc_baseline_ms = 1000;
	sh_config.sc_hold_ms = 3000;
	sh_config.sc_gap_us = 1000;

	memset(lo, 0, sizeof(lo));
	for (i = 0; i < MAIN_NOPTS; i++) {
		lo[i].name = main_opts[i].mo_name;
		lo[i].has_arg = main_opts[i].mo_kind <= MO_FLAG ? no_argument :
		    required_argument;
		lo[i].val = MAIN_OPT_BASE + (int)i;
	}
	while ((ch = getopt_long(argc, argv, "hv", lo, NULL)) != -1) {
		if (ch == 'v') {
			bench_config.bc_verbose = true;
			continue;
		}
		if (ch == 'h')
			ch = MAIN_OPT_BASE;
		if (ch < MAIN_OPT_BASE || ch >= MAIN_OPT_BASE + (int)MAIN_NOPTS) {
			usage(stderr);
			return 2;
		}
		o = &main_opts[ch - MAIN_OPT_BASE];
		switch (o->mo_kind) {
		case MO_HELP:
			usage(stdout);
			return -1;
		case MO_FLAG:
			*(bool *)o->mo_dst = true;
			break;
		case MO_PATH:
			*(const char **)o->mo_dst = optarg;
			break;
		case MO_LIST:
			if (!main_only(optarg))
				goto bad;
			break;
		case MO_NUMBER:
			if ((v = main_number(optarg, o->mo_lo, o->mo_hi)) < 0)
				goto bad;
			*(unsigned int *)o->mo_dst = (unsigned int)v;
			break;
		}
	}
	if (optind == argc)
		return 0;
	(void)fprintf(stderr, SH_NAME ": what is '%s'? (no arguments, only "
	    "options)\n", argv[optind]);
	usage(stderr);
	return 2;

bad:
	(void)fprintf(stderr, SH_NAME ": bad value '%s' of --%s\n", optarg,
	    o->mo_name);
	usage(stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	unsigned int i;
	bool failed = false;
	int r, error;

	if ((r = main_options(argc, argv)) != 0)
		return r < 0 ? 0 : r;
	if (geteuid() != 0) {
		(void)fprintf(stderr, SH_NAME ": must run as root: tpoold runs "
		    "as root, as a system service would, and the clients "
		    "setuid() to the throwaway uids %d..%d and %d (try sudo)\n",
		    SH_FIRST_UID, SH_FIRST_UID + SH_MAX_ATTACKERS - 1,
		    SH_VICTIM_UID);
		return 2;
	}
	if (access(bench_config.bc_daemon, X_OK) != 0) {
		(void)fprintf(stderr, SH_NAME ": %s: %s (build it with make, or "
		    "name one with --daemon)\n", bench_config.bc_daemon,
		    strerror(errno));
		return 2;
	}
	main_machine(argc, argv);
	main_cpus();
	if ((error = proc_init()) != 0 || (error = users_init()) != 0) {
		(void)fprintf(stderr, SH_NAME ": cannot set up: %s\n",
		    strerror(error));
		return 1;
	}
	/* The throwaway uids must reach the socket in it. */
	if (chmod(bench_config.bc_tmpdir, 0755) != 0 ||
	    daemon_plugins_copy(main_plugins) != 0) {
		(void)fprintf(stderr, SH_NAME ": cannot set up %s: %s\n",
		    bench_config.bc_tmpdir, strerror(errno));
		return 1;
	}
	if (!bench_config.bc_json) {
		(void)printf(SH_NAME ": tpoold shared by hostile local users\n");
		(void)printf("machine: %u CPUs, %s, %ld MiB, %s, load average "
		    "%.2f %.2f %.2f at start\n", sh_config.sc_ncpus, main_cpu,
		    main_mem_mib, main_kernel, main_load[0], main_load[1],
		    main_load[2]);
		(void)printf("command: %s\n", main_cmdline);
		(void)printf("tpoold: %s; victim: uid %d, echo \"x\" round trips "
		    "%u ms quiet, %u ms held, %u us apart\n",
		    bench_config.bc_daemon, SH_VICTIM_UID,
		    sh_config.sc_baseline_ms, sh_config.sc_hold_ms,
		    sh_config.sc_gap_us);
		(void)fflush(stdout);
	}
	for (i = 0; i < SH_NSCENARIOS; i++) {
		if ((sh_config.sc_only & (1u << i)) == 0)
			continue;
		scenario_run(&sh_scenarios[i], &main_results[i]);
		if (!main_results[i].sr_ok) {
			failed = true;
			bench_note("scenario %u, %s: FAILED: %s", i + 1,
			    sh_scenarios[i].sn_name, main_results[i].sr_error);
		}
	}
	if (bench_config.bc_json)
		main_json();
	else
		main_table();
	return failed ? 1 : 0;
}
