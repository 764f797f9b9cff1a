/*
 * main.c -- bench_sha256: the sha256 plugin's run function against
 * `openssl dgst -sha256`, on the same bytes, in one run.
 *
 * It makes -m MiB (64) of pseudo-random bytes, writes them to a file in a
 * fresh temporary folder, loads the plugin (the build tree's
 * plugins/.libs/sha256.so, or --plugin PATH) with dlopen as tpoold does,
 * calls its tpp_init, then -r times (5), interleaved:
 *  - the plugin's tpp_run on the bytes in memory, through a context of
 *    its own (the result kept, progress and cancel answered as tpoold
 *    would: never cancelled), timed around the call;
 *  - `openssl dgst -sha256 FILE` (--openssl names another binary), its
 *    output read from a pipe, timed from fork to its exit: the process's
 *    start and its reading of the file (from the page cache, after the
 *    first round) are in its figure, as they are in anybody's use of it.
 * Both digests must agree on every round, or the run fails.  It prints the
 * medians and minimums side by side and the ratio of the medians, plugin
 * over openssl, next to the target (1.2).  The folder is removed at the end.
 * How to read it: docs/benchmarks.md (## sha256).
 */
#include "config.h"

#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tpool/plugin.h>

#ifndef TP_BENCH_BUILDDIR
#define	TP_BENCH_BUILDDIR	"."
#endif

#define	TARGET_RATIO	1.2	/* plugin / openssl, medians, at most */
#define	HEX_LEN		64
#define	ROUNDS_MAX	1000

/* The context handed to tpp_run: the plugin's result lands in bc_result. */
struct bench_ctx {
	struct tp_plugin_ctx	bc_ctx;		/* first: the plugin sees this */
	char			bc_result[HEX_LEN + 1];
	bool			bc_have_result;
	char			bc_error[256];
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
ctx_set_result(struct tp_plugin_ctx *ctx, const void *buf, size_t len)
{
	struct bench_ctx *bc = (struct bench_ctx *)ctx;

	if (len != HEX_LEN)
		return EINVAL;
	memcpy(bc->bc_result, buf, len);
	bc->bc_result[len] = '\0';
	bc->bc_have_result = true;
	return 0;
}

static void
ctx_failv(struct tp_plugin_ctx *ctx, const char *fmt, va_list ap)
{
	struct bench_ctx *bc = (struct bench_ctx *)ctx;

	(void)vsnprintf(bc->bc_error, sizeof(bc->bc_error), fmt, ap);
}

static void
ctx_progress(struct tp_plugin_ctx *ctx, unsigned int percent, const char *message)
{
	(void)ctx;
	(void)percent;
	(void)message;
}

static bool
ctx_cancel_requested(struct tp_plugin_ctx *ctx)
{
	(void)ctx;
	return false;
}

/* One run of the plugin on buf; its hex digest into ret_hex. */
static int
run_plugin(const struct tp_plugin *p, void *data, const uint8_t *buf, size_t len,
    char ret_hex[HEX_LEN + 1], uint64_t *ret_ns)
{
	struct bench_ctx bc;
	uint64_t t0;
	int rc;

	memset(&bc, 0, sizeof(bc));
	bc.bc_ctx.ctx_size = sizeof(bc.bc_ctx);
	bc.bc_ctx.ctx_input = buf;
	bc.bc_ctx.ctx_input_len = len;
	bc.bc_ctx.ctx_job_id = 1;
	bc.bc_ctx.ctx_job_name = "bench";
	bc.bc_ctx.ctx_plugin_data = data;
	bc.bc_ctx.ctx_set_result = ctx_set_result;
	bc.bc_ctx.ctx_failv = ctx_failv;
	bc.bc_ctx.ctx_progress = ctx_progress;
	bc.bc_ctx.ctx_cancel_requested = ctx_cancel_requested;
	bc.bc_ctx.ctx_attempt = 1;
	t0 = now_ns();
	rc = p->tpp_run(&bc.bc_ctx);
	*ret_ns = now_ns() - t0;
	if (rc != 0 || !bc.bc_have_result) {
		(void)fprintf(stderr, "bench_sha256: the plugin failed (%d): %s\n",
		    rc, bc.bc_error);
		return rc != 0 ? rc : EIO;
	}
	memcpy(ret_hex, bc.bc_result, HEX_LEN + 1);
	return 0;
}

/* One `openssl dgst -sha256 path`; the digest it printed into ret_hex. */
static int
run_openssl(const char *openssl, const char *path, char ret_hex[HEX_LEN + 1],
    uint64_t *ret_ns)
{
	char out[PATH_MAX + 128], *eq;
	size_t got = 0;
	ssize_t n;
	uint64_t t0;
	int fds[2], status;
	pid_t pid;

	if (pipe(fds) != 0)
		return errno;
	t0 = now_ns();
	if ((pid = fork()) < 0) {
		(void)close(fds[0]);
		(void)close(fds[1]);
		return errno;
	}
	if (pid == 0) {
		(void)dup2(fds[1], STDOUT_FILENO);
		(void)close(fds[0]);
		(void)close(fds[1]);
		(void)execlp(openssl, openssl, "dgst", "-sha256", path, (char *)NULL);
		_exit(127);
	}
	(void)close(fds[1]);
	while (got < sizeof(out) - 1 &&
	    ((n = read(fds[0], out + got, sizeof(out) - 1 - got)) > 0 ||
	    (n < 0 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	(void)close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*ret_ns = now_ns() - t0;
	out[got] = '\0';
	/* "SHA2-256(path)= hex" (3.x) or "SHA256(path)= hex" (1.1). */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    (eq = strstr(out, "= ")) == NULL || strlen(eq + 2) < HEX_LEN) {
		(void)fprintf(stderr, "bench_sha256: %s dgst failed: %s\n", openssl, out);
		return EIO;
	}
	memcpy(ret_hex, eq + 2, HEX_LEN);
	ret_hex[HEX_LEN] = '\0';
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
usage(FILE *f)
{
	(void)fprintf(f,
	    "usage: bench_sha256 [-m MIB] [-r ROUNDS] [--plugin PATH] [--openssl BIN]\n"
	    "  -m, --mib MIB     bytes to hash, in MiB (64)\n"
	    "  -r, --rounds N    runs of each, interleaved (5)\n"
	    "  --plugin PATH     the sha256 plugin (the build tree's)\n"
	    "  --openssl BIN     the openssl binary (openssl, from PATH)\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "plugin", required_argument, NULL, 'p' },
		{ "openssl", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *plugin = TP_BENCH_BUILDDIR "/plugins/.libs/sha256.so";
	const char *openssl = "openssl";
	char dir[] = "/tmp/bench_sha256.XXXXXX", path[sizeof(dir) + 16];
	char hex_p[HEX_LEN + 1], hex_o[HEX_LEN + 1];
	uint64_t *t_p = NULL, *t_o = NULL, x = 0x9e3779b97f4a7c15ull;
	unsigned long mib = 64, rounds = 5, r;
	const struct tp_plugin *p = NULL;
	uint8_t *buf = NULL;		/* ours: the bytes hashed */
	void *dl = NULL, *data = NULL;
	size_t len, i;
	double med_p, med_o;
	FILE *f;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "m:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			mib = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rounds = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			plugin = optarg;
			break;
		case 'o':
			openssl = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || mib == 0 || mib > 4096 || rounds == 0 ||
	    rounds > ROUNDS_MAX) {
		usage(stderr);
		return 2;
	}
	len = (size_t)mib << 20;
	if ((buf = malloc(len)) == NULL || (t_p = calloc(rounds, sizeof(*t_p))) == NULL ||
	    (t_o = calloc(rounds, sizeof(*t_o))) == NULL) {
		(void)fprintf(stderr, "bench_sha256: out of memory\n");
		goto out;
	}
	/* xorshift64: bytes no compressor or cache line pattern helps with. */
	for (i = 0; i + 8 <= len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
	if (mkdtemp(dir) == NULL) {
		(void)fprintf(stderr, "bench_sha256: mkdtemp: %s\n", strerror(errno));
		goto out;
	}
	(void)snprintf(path, sizeof(path), "%s/input", dir);
	if ((f = fopen(path, "wb")) == NULL || fwrite(buf, 1, len, f) != len ||
	    fclose(f) != 0) {
		(void)fprintf(stderr, "bench_sha256: writing %s failed\n", path);
		goto out_dir;
	}
	if ((dl = dlopen(plugin, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (p = dlsym(dl, TP_PLUGIN_SYMBOL)) == NULL) {
		(void)fprintf(stderr, "bench_sha256: %s: %s\n", plugin, dlerror());
		goto out_dir;
	}
	if (p->tpp_abi_version != TP_PLUGIN_ABI_VERSION ||
	    (p->tpp_init != NULL && p->tpp_init(&data) != 0)) {
		(void)fprintf(stderr, "bench_sha256: %s would not load\n", plugin);
		goto out_dir;
	}
	for (r = 0; r < rounds; r++) {
		if (run_plugin(p, data, buf, len, hex_p, &t_p[r]) != 0 ||
		    run_openssl(openssl, path, hex_o, &t_o[r]) != 0)
			goto out_fini;
		if (strcmp(hex_p, hex_o) != 0) {
			(void)fprintf(stderr, "bench_sha256: digests differ: plugin %s, "
			    "openssl %s\n", hex_p, hex_o);
			goto out_fini;
		}
	}
	qsort(t_p, rounds, sizeof(*t_p), cmp_u64);
	qsort(t_o, rounds, sizeof(*t_o), cmp_u64);
	med_p = (double)t_p[rounds / 2] / 1e6;
	med_o = (double)t_o[rounds / 2] / 1e6;
	(void)printf("sha256 of %lu MiB, %lu rounds, digest %.16s..., plugin %s\n", mib,
	    rounds, hex_p, plugin);
	(void)printf("%-28s %10s %10s %10s\n", "", "median ms", "min ms", "MB/s");
	(void)printf("%-28s %10.1f %10.1f %10.0f\n", "sha256.so tpp_run",
	    med_p, (double)t_p[0] / 1e6, (double)len / 1e3 / med_p);
	(void)printf("%-28s %10.1f %10.1f %10.0f\n", "openssl dgst -sha256 FILE",
	    med_o, (double)t_o[0] / 1e6, (double)len / 1e3 / med_o);
	(void)printf("ratio plugin / openssl (medians): %.2f (target: at most %.1f) %s\n",
	    med_p / med_o, TARGET_RATIO, med_p / med_o <= TARGET_RATIO ? "met" : "MISSED");
	rc = 0;
out_fini:
	if (p != NULL && p->tpp_fini != NULL)
		p->tpp_fini(data);
out_dir:
	(void)unlink(path);
	(void)rmdir(dir);
out:
	if (dl != NULL)
		(void)dlclose(dl);
	free(t_p);
	free(t_o);
	free(buf);
	return rc;
}
