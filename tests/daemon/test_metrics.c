/*
 * test_metrics.c -- tpoold's metrics: the endpoint (--metrics-listen, or
 * the socket systemd passes named "metrics") answers GET /metrics with
 * the jobs and refusals counted, in a text Prometheus's own parser reads
 * (python3-prometheus-client's); the Metrics request answers the same
 * families, and tpctl metrics prints them; the endpoint's bounds hold (connections, request size,
 * methods, paths).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })
#define	PYTHON		"/usr/bin/python3"

static struct td_daemon D;

/* The port the daemon's log says its metrics are on. */
static int
metrics_port(void)
{
	const char *needle = "metrics at http://127.0.0.1:";
	char *log, *at;
	int port;

	ck_assert(td_log_wait(&D, needle, td_deadline_ms()));
	log = td_log_read(&D);
	at = strstr(log, needle);
	ck_assert_ptr_nonnull(at);
	port = atoi(at + strlen(needle));
	free(log);
	ck_assert_int_gt(port, 0);
	return port;
}

static int
http_connect(int port)
{
	struct sockaddr_in sin;
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "connect to port %d: %s", port, strerror(errno));
	return fd;
}

/* Everything the peer sends until it closes (malloc'ed, NUL-terminated). */
static char *
read_all(int fd)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	for (;;) {
		ck_assert_msg(poll(&pfd, 1, (int)td_deadline_ms()) == 1,
		    "no answer from the metrics endpoint");
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/* Send request, return the whole answer. */
static char *
http(int port, const char *request)
{
	int fd = http_connect(port);
	char *answer;

	ck_assert_int_eq(write(fd, request, strlen(request)),
	    (ssize_t)strlen(request));
	answer = read_all(fd);
	(void)close(fd);
	return answer;
}

/* As http, on a connection the daemon may close unanswered (at its
 * limit): then "" (malloc'ed too). */
static char *
http_may_refuse(int port, const char *request)
{
	int fd = http_connect(port);
	char *answer;

	if (send(fd, request, strlen(request), MSG_NOSIGNAL) !=
	    (ssize_t)strlen(request)) {
		(void)close(fd);
		answer = strdup("");
		ck_assert_ptr_nonnull(answer);
		return answer;
	}
	answer = read_all(fd);
	(void)close(fd);
	return answer;
}

/* Prometheus's parser (the Python client's) must read text whole: the
 * number of metric families it found, or -1. */
static int
python_families(const char *text)
{
	static const char prog[] =
	    "import sys\n"
	    "from prometheus_client.parser import text_string_to_metric_families\n"
	    "print(len(list(text_string_to_metric_families(sys.stdin.read()))))\n";
	char path[160], cmd[512], out[32] = "";
	FILE *f;
	int status;

	(void)snprintf(path, sizeof(path), "%s/metrics.txt", D.td_dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	(void)fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	(void)snprintf(cmd, sizeof(cmd), PYTHON " -c '%s' < %s 2>&1", prog, path);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	if (fgets(out, sizeof(out), f) == NULL)
		out[0] = '\0';
	status = pclose(f);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the Prometheus parser (" PYTHON ", python3-prometheus-client) "
	    "failed: %s", out);
	return atoi(out);
}

/* Does `tpctl metrics` print a line with needle (and exit 0)? */
static bool
tpctl_metrics_has(const char *needle)
{
	char cmd[512], line[1024];
	bool found = false;
	FILE *f;

	(void)snprintf(cmd, sizeof(cmd), TD_BUILDDIR "/client/tpctl -s %s metrics",
	    D.td_sock);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			found = true;
	ck_assert_int_eq(pclose(f), 0);
	return found;
}

START_TEST(test_metrics_endpoint_counts_jobs)
{
	Tpool__MetricsReply *mr;
	struct tpc *c;
	uint64_t id;
	char *answer, *body;
	int port;

	td_init(&D);
	td_add_example_plugins(&D);
	td_start(&D, NULL, ARGS("--metrics-listen", "127.0.0.1:0"));
	port = metrics_port();
	c = td_connect(&D);
	tpool__job_info__free_unpacked(td_wait_final(c, td_submit(c, "echo",
	    "counted")), NULL);
	ck_assert_int_eq(tpc_submit(c, TPC_SUBMIT_ARGS("nosuch", "x", 1), &id),
	    TPC_EDAEMON);

	answer = http(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
	ck_assert_msg(strncmp(answer, "HTTP/1.1 200 OK\r\n", 17) == 0, "%.80s",
	    answer);
	ck_assert(strstr(answer, "Content-Type: text/plain; version=0.0.4") != NULL);
	body = strstr(answer, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	body += 4;
	ck_assert(strstr(body, "tpool_jobs_accepted_total{plugin=\"echo\"} 1\n") != NULL);
	ck_assert(strstr(body, "tpool_jobs_ended_total{plugin=\"echo\","
	    "state=\"succeeded\"} 1\n") != NULL);
	ck_assert(strstr(body, "tpool_refusals_total{reason=\"unknown_plugin\"} 1\n")
	    != NULL);
	ck_assert(strstr(body, "tpool_job_run_seconds_count{plugin=\"echo\","
	    "pool=\"unbound\"} 1\n") != NULL);
	ck_assert(strstr(body, "tpool_pool_threads{pool=\"unbound\"") != NULL);
	ck_assert(strstr(body, "tpool_connections 1\n") != NULL);
	ck_assert_int_ge(python_families(body), 25);

	/* The Metrics request answers the same families. */
	ck_assert_int_eq(tpc_metrics(c, &mr), 0);
	ck_assert_ptr_nonnull(mr->text);
	ck_assert(strstr(mr->text, "tpool_jobs_ended_total{plugin=\"echo\","
	    "state=\"succeeded\"} 1\n") != NULL);
	ck_assert_int_eq(python_families(mr->text), python_families(body));
	tpool__metrics_reply__free_unpacked(mr, NULL);
	/* And tpctl metrics prints it. */
	ck_assert(tpctl_metrics_has("tpool_jobs_ended_total{plugin=\"echo\","
	    "state=\"succeeded\"} 1"));
	free(answer);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* At most 8 connections at once; one request of at most 8 KiB; GET and
 * HEAD of /metrics only. */
START_TEST(test_metrics_endpoint_bounds)
{
	char *answer, big[9000 + 32];
	int port, fds[8], extra, i;
	uint64_t end;

	td_init(&D);
	td_add_example_plugins(&D);
	td_start(&D, NULL, ARGS("--metrics-listen", "127.0.0.1:0"));
	port = metrics_port();
	for (i = 0; i < 8; i++)
		fds[i] = http_connect(port);
	/* The ninth is closed at once, without an answer. */
	extra = http_connect(port);
	answer = read_all(extra);
	ck_assert_str_eq(answer, "");
	free(answer);
	(void)close(extra);
	for (i = 0; i < 8; i++)
		(void)close(fds[i]);

	/* Answered again once the daemon has seen them go. */
	end = tu_now_ms() + td_deadline_ms();
	while (*(answer = http_may_refuse(port,
	    "POST /metrics HTTP/1.1\r\n\r\n")) == '\0' &&
	    tu_now_ms() < end) {
		free(answer);
		td_sleep_ms(20);
	}
	ck_assert_msg(strncmp(answer, "HTTP/1.1 405", 12) == 0, "%.40s", answer);
	free(answer);
	answer = http(port, "GET /etc/passwd HTTP/1.0\r\n\r\n");
	ck_assert_msg(strncmp(answer, "HTTP/1.1 404", 12) == 0, "%.40s", answer);
	free(answer);
	answer = http(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
	ck_assert_msg(strncmp(answer, "HTTP/1.1 200", 12) == 0, "%.40s", answer);
	ck_assert(strstr(answer, "tpool_") == NULL);	/* no body */
	free(answer);
	answer = http(port, "hello\r\n\r\n");
	ck_assert_msg(strncmp(answer, "HTTP/1.1 400", 12) == 0, "%.40s", answer);
	free(answer);
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	memset(big + 26, 'a', sizeof(big) - 27);
	big[sizeof(big) - 1] = '\0';
	answer = http(port, big);
	ck_assert_msg(strncmp(answer, "HTTP/1.1 431", 12) == 0, "%.40s", answer);
	free(answer);
	/* And it still serves. */
	answer = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	ck_assert_msg(strncmp(answer, "HTTP/1.1 200", 12) == 0, "%.40s", answer);
	free(answer);
	td_down(&D);
}
END_TEST

/* A free loopback port, for a socket systemd-socket-activate makes. */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	(void)close(fd);
	return port;
}

/* The socket systemd passes named "metrics" (tpoold-metrics.socket). */
START_TEST(test_metrics_socket_from_systemd)
{
	char listen_tcp[32];
	const char *prefix[] = { "systemd-socket-activate", "-l", NULL, "-l",
	    listen_tcp, "--fdname=tpoold:metrics", "-E", "LD_LIBRARY_PATH",
	    "-E", "NOTIFY_SOCKET", "-E", "PATH", NULL };
	char *answer;
	int port;

	if (!td_have_socket_activate())
		return;
	td_init(&D);
	td_add_example_plugins(&D);
	port = free_port();
	(void)snprintf(listen_tcp, sizeof(listen_tcp), "127.0.0.1:%d", port);
	prefix[2] = D.td_sock;
	D.td_pid = td_spawn(&D, prefix, ARGS("-p", D.td_plugins, "-v", "-s",
	    "/nonexistent/not-this.sock"), false);
	while (access(D.td_sock, F_OK) != 0)
		ck_assert_msg(td_wait_exit(D.td_pid, 10) == -1,
		    "systemd-socket-activate died");
	/* The scrape starts the daemon, which answers it. */
	answer = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	ck_assert_msg(strncmp(answer, "HTTP/1.1 200", 12) == 0, "%.40s", answer);
	ck_assert(strstr(answer, "tpool_uptime_seconds") != NULL);
	free(answer);
	ck_assert(td_wait_notify(&D, "READY=1", td_deadline_ms()));
	ck_assert(td_log_contains(&D, "on the socket systemd passed"));
	td_stop(&D);
	td_cleanup(&D);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("daemon-metrics");
	TCase *tc = tcase_create("endpoint");

	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_metrics_endpoint_counts_jobs);
	tcase_add_test(tc, test_metrics_endpoint_bounds);
	tcase_add_test(tc, test_metrics_socket_from_systemd);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return td_main(metrics_suite());
}
