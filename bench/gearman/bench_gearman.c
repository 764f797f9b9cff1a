/*
 * bench_gearman -- jobs through gearmand: tpoold instances serving it
 * (tpoold --gearman) against plain libgearman worker processes running
 * the same null job (the anchor), in one run on one gearmand.
 *
 *	bench_gearman [--seconds S] [--clients C] [--hosts N]
 *
 * It starts gearmand on a free loopback port, then for 1..N "hosts":
 *   - plain: 2 worker processes per host (a worker per CPU of a 2-CPU
 *     host), each registering "plain.echo" (returns its workload);
 *   - tpoold: one tpoold per host (its own socket, the build tree's
 *     plugins, --gearman-jobs 2), serving "tpool.echo";
 * and drives each with C client threads (each its own libgearman client,
 * one foreground job at a time, an a 1-byte workload) for S seconds: jobs
 * per second, and how the jobs split over the tpoold instances.  Then
 * the round trip of one client, one job at a time: through gearmand to a
 * plain worker, through gearmand to tpoold, and a local tpoold submit
 * and wait (libtpclient), medians over 2000 jobs.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libgearman-1.0/gearman.h>

#include "tpclient.h"

#define	MAX_HOSTS	8
#define	RT_JOBS		2000

static const char *builddir = TP_BENCH_BUILDDIR;
static char servers[64];
static char tmpdir[] = "/tmp/bench-gearman.XXXXXX";
static pid_t gearmand_pid;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
	(void)fprintf(stderr, "bench_gearman: %s\n", what);
	exit(1);
}

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd, port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		die("no free port");
	port = ntohs(a.sin_port);
	(void)close(fd);
	return port;
}

static pid_t
spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		(void)execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void
stop(pid_t pid)
{
	(void)kill(pid, SIGTERM);
	(void)waitpid(pid, NULL, 0);
}

/* ------------------------------------------------------ plain workers */

static void *
plain_echo(gearman_job_st *job, void *ctx, size_t *size, gearman_return_t *ret)
{
	size_t n = gearman_job_workload_size(job);
	void *r = NULL;

	(void)ctx;
	if (n > 0 && (r = malloc(n)) != NULL)
		memcpy(r, gearman_job_workload(job), n);
	*size = r != NULL ? n : 0;
	*ret = GEARMAN_SUCCESS;
	return r;
}

static pid_t
plain_worker(void)
{
	gearman_worker_st *w;
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if ((w = gearman_worker_create(NULL)) == NULL ||
	    gearman_worker_add_servers(w, servers) != GEARMAN_SUCCESS ||
	    gearman_worker_add_function(w, "plain.echo", 0, plain_echo,
	    NULL) != GEARMAN_SUCCESS)
		_exit(1);
	for (;;)
		(void)gearman_worker_work(w);
}

/* ------------------------------------------------------------- clients */

struct load {
	const char	*l_fn;
	uint64_t	l_end_ns;
	_Atomic uint64_t l_done;
	_Atomic uint64_t l_errors;
};

static void *
client_main(void *arg)
{
	struct load *l = arg;
	gearman_client_st *c;
	gearman_return_t rc;
	size_t size;
	void *r;

	if ((c = gearman_client_create(NULL)) == NULL ||
	    gearman_client_add_servers(c, servers) != GEARMAN_SUCCESS)
		die("gearman client");
	while (now_ns() < l->l_end_ns) {
		r = gearman_client_do(c, l->l_fn, NULL, "x", 1, &size, &rc);
		free(r);
		if (rc == GEARMAN_SUCCESS)
			atomic_fetch_add(&l->l_done, 1);
		else
			atomic_fetch_add(&l->l_errors, 1);
	}
	gearman_client_free(c);
	return NULL;
}

/* Jobs per second of C clients for S seconds on function fn. */
static double
drive(const char *fn, int clients, double seconds, uint64_t *ret_errors)
{
	pthread_t t[64];
	struct load l = { .l_fn = fn };
	uint64_t t0;
	int i;

	/* A warm-up job: every worker registered. */
	l.l_end_ns = 0;
	t0 = now_ns();
	l.l_end_ns = t0 + (uint64_t)(seconds * 1e9);
	for (i = 0; i < clients; i++)
		if (pthread_create(&t[i], NULL, client_main, &l) != 0)
			die("pthread_create");
	for (i = 0; i < clients; i++)
		(void)pthread_join(t[i], NULL);
	*ret_errors = atomic_load(&l.l_errors);
	return (double)atomic_load(&l.l_done) / ((double)(now_ns() - t0) /
	    1e9);
}

/* Wait until fn has want workers in gearmand's status (gearadmin). */
static void
wait_workers(const char *fn, int want)
{
	char cmd[256], line[256], name[128];
	int i, total, running, avail;
	FILE *f;

	(void)snprintf(cmd, sizeof(cmd), "gearadmin -h 127.0.0.1 -p %s "
	    "--status", strchr(servers, ':') + 1);
	for (i = 0; i < 200; i++) {
		if ((f = popen(cmd, "r")) == NULL)
			die("gearadmin");
		avail = -1;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "%127s %d %d %d", name, &total,
			    &running, &avail) == 4 && strcmp(name, fn) == 0)
				break;
			else
				avail = -1;
		(void)pclose(f);
		if (avail >= want)
			return;
		(void)usleep(50000);
	}
	die("workers did not register");
}

/* Median round trip of one client, one job at a time, in µs. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
median_us(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return (double)v[n / 2] / 1e3;
}

static double
rt_gearman(const char *fn)
{
	static uint64_t v[RT_JOBS];
	gearman_client_st *c;
	gearman_return_t rc;
	uint64_t t0;
	size_t size, i;

	if ((c = gearman_client_create(NULL)) == NULL ||
	    gearman_client_add_servers(c, servers) != GEARMAN_SUCCESS)
		die("gearman client");
	for (i = 0; i < RT_JOBS; i++) {
		t0 = now_ns();
		free(gearman_client_do(c, fn, NULL, "x", 1, &size, &rc));
		if (rc != GEARMAN_SUCCESS)
			die("a round-trip job failed");
		v[i] = now_ns() - t0;
	}
	gearman_client_free(c);
	return median_us(v, RT_JOBS);
}

static double
rt_local(const char *sock)
{
	static uint64_t v[RT_JOBS];
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__JobInfo *j;
	struct tpc *c;
	uint64_t t0, id;
	size_t i;

	a.tsa_plugin = "echo";
	a.tsa_input = "x";
	a.tsa_input_len = 1;
	if (tpc_connect(sock, &c) != 0)
		die("cannot reach the local tpoold");
	for (i = 0; i < RT_JOBS; i++) {
		t0 = now_ns();
		if (tpc_submit(c, &a, &id) != 0 ||
		    tpc_wait_job(c, id, &j, NULL, NULL) != 0)
			die("a local job failed");
		tpool__job_info__free_unpacked(j, NULL);
		v[i] = now_ns() - t0;
	}
	tpc_free(c);
	return median_us(v, RT_JOBS);
}

/* ------------------------------------------------------------- tpoold */

static pid_t
start_tpoold(int host)
{
	char sock[256], plugins[256], daemon[256], *argv[12];
	struct tpc *c;
	pid_t pid;
	int i;

	(void)snprintf(sock, sizeof(sock), "%s/h%d.sock", tmpdir, host);
	(void)snprintf(plugins, sizeof(plugins), "%s/plugins/.libs",
	    builddir);
	(void)snprintf(daemon, sizeof(daemon), "%s/daemon/tpoold", builddir);
	argv[0] = daemon;
	argv[1] = "-s";
	argv[2] = sock;
	argv[3] = "-p";
	argv[4] = plugins;
	argv[5] = "--gearman";
	argv[6] = servers;
	argv[7] = "--gearman-jobs";
	argv[8] = "2";
	argv[9] = NULL;
	pid = spawn(argv);
	for (i = 0; i < 200; i++) {
		if (tpc_connect(sock, &c) == 0) {
			tpc_free(c);
			return pid;
		}
		(void)usleep(50000);
	}
	die("tpoold did not start");
	return -1;
}

static uint64_t
completed_of(int host)
{
	char sock[256];
	Tpool__StatsReply *st;
	struct tpc *c;
	uint64_t n = 0;

	(void)snprintf(sock, sizeof(sock), "%s/h%d.sock", tmpdir, host);
	if (tpc_connect(sock, &c) != 0)
		return 0;
	if (tpc_stats(c, &st) == 0) {
		if (st->gearman != NULL)
			n = st->gearman->completed;
		tpool__stats_reply__free_unpacked(st, NULL);
	}
	tpc_free(c);
	return n;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "clients", required_argument, NULL, 'c' },
		{ "hosts", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	pid_t workers[2 * MAX_HOSTS], daemons[MAX_HOSTS];
	char port[16], *gargv[8], sock[256];
	double seconds = 3, rate, rt_plain, rt_tp, rt_loc;
	uint64_t errors, before[MAX_HOSTS];
	int clients = 8, hosts = 3, o, h, i;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			seconds = atof(optarg);
			break;
		case 'c':
			clients = atoi(optarg);
			break;
		case 'n':
			hosts = atoi(optarg);
			break;
		default:
			(void)fprintf(stderr, "usage: bench_gearman "
			    "[--seconds S] [--clients C] [--hosts N]\n");
			return 2;
		}
	}
	if (clients < 1 || clients > 64 || hosts < 1 || hosts > MAX_HOSTS ||
	    seconds <= 0)
		die("bad arguments");
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp");
	(void)snprintf(port, sizeof(port), "%d", free_port());
	(void)snprintf(servers, sizeof(servers), "127.0.0.1:%s", port);
	gargv[0] = "gearmand";
	gargv[1] = "--listen=127.0.0.1";
	gargv[2] = "--port";
	gargv[3] = port;
	gargv[4] = "--log-file=none";
	gargv[5] = NULL;
	gearmand_pid = spawn(gargv);
	(void)usleep(300000);

	(void)printf("gearmand on %s; %d clients, one foreground job at a "
	    "time each, a 1-byte workload; %.0f s per row\n\n", servers, clients,
	    seconds);
	(void)printf("%-6s %-28s %12s %8s  %s\n", "hosts", "workers",
	    "jobs/s", "errors", "jobs per tpoold instance");
	for (h = 1; h <= hosts; h++) {
		workers[2 * h - 2] = plain_worker();
		workers[2 * h - 1] = plain_worker();
		wait_workers("plain.echo", 2 * h);
		rate = drive("plain.echo", clients, seconds, &errors);
		(void)printf("%-6d %-28s %12.0f %8llu\n", h,
		    "plain libgearman workers", rate,
		    (unsigned long long)errors);
		(void)fflush(stdout);
	}
	for (i = 0; i < 2 * hosts; i++)
		stop(workers[i]);
	for (h = 1; h <= hosts; h++) {
		daemons[h - 1] = start_tpoold(h);
		wait_workers("tpool.echo", 2 * h);
		for (i = 0; i < h; i++)
			before[i] = completed_of(i + 1);
		rate = drive("tpool.echo", clients, seconds, &errors);
		(void)printf("%-6d %-28s %12.0f %8llu ", h,
		    "tpoold --gearman-jobs 2", rate,
		    (unsigned long long)errors);
		for (i = 0; i < h; i++)
			(void)printf(" %llu", (unsigned long long)
			    (completed_of(i + 1) - before[i]));
		(void)printf("\n");
		(void)fflush(stdout);
	}

	/* Round trips: one host of each kind. */
	for (h = 2; h <= hosts; h++)
		stop(daemons[h - 1]);
	workers[0] = plain_worker();
	wait_workers("plain.echo", 1);
	rt_plain = rt_gearman("plain.echo");
	stop(workers[0]);
	rt_tp = rt_gearman("tpool.echo");
	(void)snprintf(sock, sizeof(sock), "%s/h1.sock", tmpdir);
	rt_loc = rt_local(sock);
	(void)printf("\nround trip, one client, one job at a time (median of "
	    "%d):\n", RT_JOBS);
	(void)printf("  gearmand -> plain worker       %8.1f us\n", rt_plain);
	(void)printf("  gearmand -> tpoold             %8.1f us  (+%.1f us "
	    "per job)\n", rt_tp, rt_tp - rt_plain);
	(void)printf("  local tpoold submit + wait     %8.1f us\n", rt_loc);
	stop(daemons[0]);
	stop(gearmand_pid);
	(void)snprintf(sock, sizeof(sock), "rm -rf %s", tmpdir);
	(void)system(sock);
	return 0;
}
