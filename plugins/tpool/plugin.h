/*
 * tpool/plugin.h -- the ABI between tpoold and its plugins.
 *
 * A plugin is a shared object in tpoold's plugin directory that exports one
 * object, the descriptor, under the symbol TP_PLUGIN_SYMBOL ("tpool_plugin"):
 *
 *	#include <tpool/plugin.h>
 *
 *	static int
 *	upper_run(struct tp_plugin_ctx *ctx)
 *	{
 *		...	read ctx->ctx_input / ctx->ctx_input_len,
 *			call tp_plugin_set_result(ctx, buf, len), return 0
 *	}
 *
 *	TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
 *		.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
 *		.tpp_name = "upper",
 *		.tpp_description = "the input in upper case",
 *		.tpp_run = upper_run,
 *	};
 *
 * The daemon calls tpp_run on one of its worker threads (libtp pools), once
 * per job; runs of the same plugin happen concurrently on many threads, so
 * tpp_run must be thread-safe.  Everything a run needs from the daemon comes
 * through the context's function pointers, so a plugin links against
 * nothing of tpoold's (it may use any library it likes).
 *
 * How a run ends decides the job's final state:
 *	return 0		succeeded, with the result last set (empty if
 *				none), unless tp_plugin_fail() was called:
 *				then failed, with its message.
 *	return ECANCELED	cancelled (the plugin saw a cancel request and
 *				stopped early); a message set with
 *				tp_plugin_fail() is kept as the reason.
 *	return another errno	failed, with the message of tp_plugin_fail()
 *				or else strerror(errno).
 * A result larger than the daemon's --max-result fails the job.
 *
 * Build one with:  cc -shared -fPIC -o upper.so upper.c $(pkg-config
 * --cflags tpool-plugin)  (or just -I$(includedir)), and copy upper.so into
 * the plugin directory; tpoold loads it at start or on SIGHUP.  See
 * tpool-plugin(7) and docs/plugins.md.
 */
#ifndef TPOOL_PLUGIN_H
#define TPOOL_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The ABI version.  The daemon loads a plugin only when the descriptor's
 * tpp_abi_version equals its own.  Bumped on any incompatible change of
 * struct tp_plugin or struct tp_plugin_ctx; compatible additions go at the
 * end of struct tp_plugin_ctx and are announced by ctx_size.
 */
#define	TP_PLUGIN_ABI_VERSION	1u

/* The name of the descriptor's symbol, as dlsym() is asked for it. */
#define	TP_PLUGIN_SYMBOL	"tpool_plugin"

/* A plugin's name: 1 to TP_PLUGIN_NAME_MAX bytes of [A-Za-z0-9_.-]. */
#define	TP_PLUGIN_NAME_MAX	64

/* Keep the descriptor visible even under -fvisibility=hidden. */
#define	TP_PLUGIN_EXPORT	__attribute__((__visibility__("default")))

/*
 * What a run gets.  The daemon owns the context and everything it points
 * to; they are valid only during the call to tpp_run and only on the thread
 * that runs it.  The function pointers are always set.
 */
struct tp_plugin_ctx {
	/* sizeof(struct tp_plugin_ctx) of the daemon: fields past it are absent */
	size_t		ctx_size;

	/* The job's input bytes (borrowed; not NUL-terminated). */
	const uint8_t	*ctx_input;
	size_t		ctx_input_len;

	/* The job's id and name (for messages; the thread shows the name). */
	uint64_t	ctx_job_id;
	const char	*ctx_job_name;

	/* What tpp_init() stored in *ret_data, or NULL. */
	void		*ctx_plugin_data;

	/*
	 * Set the result: the daemon copies len bytes of buf.  Calling it
	 * again replaces the previous result.  0, or EFBIG when len is over
	 * the daemon's limit (the job will fail), or ENOMEM.
	 */
	int		(*ctx_set_result)(struct tp_plugin_ctx *ctx, const void *buf,
			    size_t len);

	/*
	 * Record why the job failed (printf-style, copied, truncated to a few
	 * KiB).  The job fails when tpp_run returns, whatever it returns,
	 * unless it returns ECANCELED.
	 */
	void		(*ctx_failv)(struct tp_plugin_ctx *ctx, const char *fmt,
			    va_list ap);

	/*
	 * Report progress: percent is clamped to 0..100; message may be NULL
	 * (copied, truncated to TP_PLUGIN_PROGRESS_MSG_MAX - 1 bytes).  Cheap:
	 * the daemon coalesces reports that come faster than it sends them,
	 * so the client sees the latest.
	 */
	void		(*ctx_progress)(struct tp_plugin_ctx *ctx, unsigned int percent,
			    const char *message);

	/*
	 * Has a client (or the daemon's shutdown) asked this job to stop?
	 * Cheap (one atomic load): poll it in long loops and return
	 * ECANCELED once it is true.
	 */
	bool		(*ctx_cancel_requested)(struct tp_plugin_ctx *ctx);

	/*
	 * Added in tpool 0.2 (present when ctx_size covers them: use
	 * tp_plugin_attempt() and tp_plugin_fail_permanently(), which check).
	 *
	 * Which run of the job this is: 1, then 2, ... when the daemon runs
	 * it again after a failure (Submit.retries, tpctl submit --retries).
	 */
	unsigned int	ctx_attempt;
	/*
	 * The job's failure is permanent: the daemon does not run it again,
	 * whatever retries it has left.  With ctx_failv, as
	 * tp_plugin_fail_permanently() calls them.
	 */
	void		(*ctx_fail_permanent)(struct tp_plugin_ctx *ctx);
};

/* Does ctx have field (a daemon older than the field does not)? */
#define	TP_PLUGIN_CTX_HAS(ctx, field)					\
	((ctx)->ctx_size >= offsetof(struct tp_plugin_ctx, field) +	\
	    sizeof((ctx)->field))

#define	TP_PLUGIN_PROGRESS_MSG_MAX	64

/*
 * The descriptor.  A plugin exports one, const, under TP_PLUGIN_SYMBOL.
 */
struct tp_plugin {
	uint32_t	tpp_abi_version;	/* TP_PLUGIN_ABI_VERSION */
	const char	*tpp_name;		/* what clients ask for */
	const char	*tpp_description;	/* one line, for `tpctl plugins` */

	/*
	 * Optional: called once when the plugin is loaded, before any run.
	 * Return 0 and set *ret_data (handed to each run as ctx_plugin_data
	 * and to tpp_fini), or an errno: the plugin is then not loaded.
	 */
	int		(*tpp_init)(void **ret_data);

	/* Optional: called once when the plugin is unloaded, after its last run. */
	void		(*tpp_fini)(void *data);

	/* Required: run one job.  See the top of this file for what it returns. */
	int		(*tpp_run)(struct tp_plugin_ctx *ctx);
};

/* Convenience wrappers over the context's function pointers. */

static inline int
tp_plugin_set_result(struct tp_plugin_ctx *ctx, const void *buf, size_t len)
{
	return ctx->ctx_set_result(ctx, buf, len);
}

static inline void tp_plugin_fail(struct tp_plugin_ctx *ctx, const char *fmt, ...)
	__attribute__((__format__(__printf__, 2, 3)));

static inline void
tp_plugin_fail(struct tp_plugin_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctx->ctx_failv(ctx, fmt, ap);
	va_end(ap);
}

static inline void
tp_plugin_progress(struct tp_plugin_ctx *ctx, unsigned int percent, const char *message)
{
	ctx->ctx_progress(ctx, percent, message);
}

static inline bool
tp_plugin_cancel_requested(struct tp_plugin_ctx *ctx)
{
	return ctx->ctx_cancel_requested(ctx);
}

/* Which run of the job this is (1 from a daemon that does not say). */
static inline unsigned int
tp_plugin_attempt(const struct tp_plugin_ctx *ctx)
{
	return TP_PLUGIN_CTX_HAS(ctx, ctx_attempt) ? ctx->ctx_attempt : 1;
}

static inline void tp_plugin_fail_permanently(struct tp_plugin_ctx *ctx,
    const char *fmt, ...) __attribute__((__format__(__printf__, 2, 3)));

/*
 * As tp_plugin_fail(), and the failure is permanent: no retry (a daemon
 * older than retries has none to skip).
 */
static inline void
tp_plugin_fail_permanently(struct tp_plugin_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (TP_PLUGIN_CTX_HAS(ctx, ctx_fail_permanent) &&
	    ctx->ctx_fail_permanent != NULL)
		ctx->ctx_fail_permanent(ctx);
	va_start(ap, fmt);
	ctx->ctx_failv(ctx, fmt, ap);
	va_end(ap);
}

#ifdef __cplusplus
}
#endif

#endif /* TPOOL_PLUGIN_H */
