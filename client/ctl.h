/*
 * ctl.h -- what tpctl's commands share: the command template, the global
 * options, exit codes, and the helpers of ctl-util.c (connecting, reporting
 * errors, printing jobs as text or JSON, the progress bar).
 *
 * A command is a template (as tmux's cmd_entry): one file, ctl-NAME.c,
 * exporting one const struct ctl_cmd that declares its options, whether it
 * needs the daemon, and three steps.  tpctl.c parses the options (the
 * command's and everyone's: --json, --help, and --raw where it applies),
 * hands the command its own options one by one and then its operands,
 * connects when it needs to, and runs it:
 *
 *	getopt_long -> cmd_option (each) -> cmd_operands -> connect -> cmd_exec
 *
 * A usage error stops it before any connection.  Adding a command touches
 * its file, the table in tpctl.c, client/local.mk and docs/man/tpctl.1.
 */
#ifndef TP_CTL_H
#define TP_CTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tpclient.h"

/* Exit status, as tpctl(1) documents. */
enum ctl_exit {
	CTL_EXIT_OK = 0,	/* done; the job (if waited for) succeeded */
	CTL_EXIT_JOB_FAILED = 1,	/* the job failed */
	CTL_EXIT_USAGE = 2,	/* bad command line */
	CTL_EXIT_CONN = 3,	/* cannot connect, connection lost, protocol */
	CTL_EXIT_CANCELLED = 4,	/* the job was cancelled */
	CTL_EXIT_DAEMON = 5,	/* the daemon answered an error */
	CTL_EXIT_EXPIRED = 6,	/* the job's deadline passed before it ran */
	CTL_EXIT_TIMED_OUT = 7,	/* the job ran past its time limit */
	CTL_EXIT_INTERRUPTED = 8,	/* the daemon stopped while it ran */
};

/* Global options, filled by tpctl.c before a command runs. */
struct ctl_ctx {
	const char	*cc_socket;	/* NULL: TPOOL_SOCKET, then default */
	bool		cc_json;	/* --json */
	bool		cc_raw;		/* --raw: results as raw bytes */
	const char	*cc_cmd;	/* the command's name, for messages */
	struct tpc	*cc_conn;	/* once connected */
	uint32_t	cc_max_frame;	/* the daemon's limit, after Hello */
	uint64_t	cc_job;		/* the JOBID operand; 0: none */
	uint64_t	cc_reconnect_ms; /* --reconnect: how long to keep
					 * trying to reach the daemon */
	const char	*cc_gearman;	/* --gearman: submit through these
					 * gearmand servers; NULL: no */
	const char	*cc_gearman_prefix; /* NULL: "tpool." */
};

/* cmd_flags */
#define	CTL_CMD_CONNECT	0x1	/* needs the daemon (connects first) */
#define	CTL_CMD_RAW	0x2	/* takes --raw */

struct ctl_cmd {
	const char	*cmd_name;
	const char	*cmd_args;	/* synopsis after the name */
	const char	*cmd_summary;	/* one line for tpctl --help */
	const char	*cmd_help;	/* its options, for COMMAND --help */
	/*
	 * Its own options, for getopt_long: short letters ("" for none) and
	 * the long table (NULL-terminated; NULL for none).  --json, --help
	 * and, with CTL_CMD_RAW, --raw are added by tpctl.c.
	 */
	const char	*cmd_shortopts;
	const struct option *cmd_longopts;
	unsigned int	cmd_flags;	/* CTL_CMD_* */
	/*
	 * Each of its own options, in the order given (NULL when it has
	 * none); then its operands.  Each returns CTL_EXIT_OK to go on or
	 * the status to exit with (a usage error).  No connection yet.
	 */
	int		(*cmd_option)(struct ctl_ctx *, int opt,
			    const char *arg);
	int		(*cmd_operands)(struct ctl_ctx *, int argc,
			    char **argv);
	/* Do it (connected with CTL_CMD_CONNECT); returns an enum ctl_exit. */
	int		(*cmd_exec)(struct ctl_ctx *);
};

extern const struct ctl_cmd ctl_cmd_submit;
extern const struct ctl_cmd ctl_cmd_cancel;
extern const struct ctl_cmd ctl_cmd_status;
extern const struct ctl_cmd ctl_cmd_watch;
extern const struct ctl_cmd ctl_cmd_plugins;
extern const struct ctl_cmd ctl_cmd_stats;
extern const struct ctl_cmd ctl_cmd_metrics;
extern const struct ctl_cmd ctl_cmd_top;

/* The options every command takes, as getopt_long returns them. */
#define	CTL_OPT_JSON	0x100
#define	CTL_OPT_RAW	0x101
#define	CTL_OPT_RECONNECT 0x102
#define	CTL_OPT_GEARMAN	0x103
#define	CTL_OPT_GM_PREFIX 0x104
#define	CTL_OPT_HELP	'h'

/* ---------------------------------------------------------- ctl-util.c */

/*
 * tpctl's own error codes in --json's {"error":{"code":...}}, beside the
 * daemon's (tp_error_name: "ERROR_UNKNOWN_PLUGIN", ...); tpctl(1) lists
 * them.
 */
#define	CTL_ERR_USAGE		"usage"		/* bad command line */
#define	CTL_ERR_CONNECT		"connect"	/* cannot reach the daemon */
#define	CTL_ERR_CONNECTION	"connection"	/* lost, or a protocol error */
#define	CTL_ERR_INPUT		"input"		/* --input-file unreadable */
#define	CTL_ERR_TOO_LARGE	"too_large"	/* input over the frame size */
#define	CTL_ERR_PROTOCOL	"protocol"	/* an answer that makes no sense */

/*
 * Report an error, the one way tpctl does: with --json one line
 * {"error":{"code":CODE,"message":...}} on stdout, else "tpctl CMD: "
 * and the message on stderr (CODE unused: NULL is fine there).
 */
void	ctl_error(const struct ctl_ctx *, const char *code, const char *fmt,
	    ...) __attribute__((__format__(__printf__, 3, 4)));

/*
 * A note that is not an error (tpctl goes on): "tpctl CMD: " + message on
 * stderr; nothing under --json, whose output is only JSON.
 */
void	ctl_warnx(const struct ctl_ctx *, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 2, 3)));

/* Is --json among the arguments (before any "--")? */
bool	ctl_json_wanted(int argc, char **argv);

/* A usage error: message, a pointer to --help; returns CTL_EXIT_USAGE. */
int	ctl_usage_error(const struct ctl_ctx *, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 2, 3)));

/* Print a command's --help to stdout; returns CTL_EXIT_OK. */
int	ctl_cmd_help(const struct ctl_cmd *);

/* The lines on exit status, shared by every --help. */
extern const char ctl_exit_help[];

/* Connect (Hello included); on failure report it and return CTL_EXIT_*. */
int	ctl_connect(struct ctl_ctx *);

/* Report a failed library call; returns the exit status it means. */
int	ctl_fail(const struct ctl_ctx *, int error, const char *what);

/* cmd_operands of a command that takes exactly one JOBID (ctx->cc_job). */
int	ctl_one_job_id(struct ctl_ctx *, int argc, char **argv);

/* cmd_operands of a command that takes none. */
int	ctl_no_operands(struct ctl_ctx *, int argc, char **argv);

/* Parse a job id (decimal, > 0); false if it is not one. */
bool	ctl_parse_job_id(const char *s, uint64_t *ret_id);

/* Parse a decimal int in [min, max]; false if it is not one. */
bool	ctl_parse_int(const char *s, long min, long max, int *ret_v);
/* A time: a number with ms, s, m or h (bare: seconds), in ms (at most
 * 30 days). */
bool	ctl_parse_ms(const char *s, uint64_t *ret_ms);
/*
 * A moment, as the ms from now to it (0 when it has passed): HH:MM[:SS]
 * (the next such time of day), "YYYY-MM-DD HH:MM[:SS]" (local time) or
 * @SECONDS since the epoch; false if it is none of them or more than 30
 * days away.
 */
bool	ctl_parse_at(const char *s, uint64_t *ret_ms);

const char *ctl_cancel_result_name(Tpool__CancelResult);

/* Bytes are printable text: valid UTF-8, no controls but \t \n \r. */
bool	ctl_is_text(const uint8_t *p, size_t n);

/* Print a result: text as is, else hex; raw with --raw.  Ends a line. */
void	ctl_print_result(const struct ctl_ctx *, FILE *,
	    const ProtobufCBinaryData *);

/* Print a nanosecond count for people: "812 ns", "2.5 ms", "3.25 s". */
void	ctl_print_ns(FILE *, uint64_t ns);

/* JSON: a string value (NULL: null), escaped; bytes as a string value. */
void	ctl_json_string(FILE *, const char *s);
void	ctl_json_bytes(FILE *, const uint8_t *p, size_t n);
void	ctl_json_base64(FILE *, const uint8_t *p, size_t n);

/* A job as one JSON object (no newline). */
void	ctl_json_job(FILE *, const Tpool__JobInfo *);

/*
 * label, then a wall-clock time (ms since the epoch) as local time in ISO
 * 8601 with ms and the offset, "2026-12-05T23:10:01.123+01:00", and a
 * newline (@SECONDS.MS when it cannot be shown so).
 */
void	ctl_print_unix_ms(FILE *, const char *label, uint64_t ms);

/* A job for people, "key: value" lines. */
void	ctl_text_job(const struct ctl_ctx *, FILE *, const Tpool__JobInfo *);

/*
 * tpctl --gearman submit (ctl-gearman.c): plugin's job through gearmand,
 * in the background (prints its handle) or, with wait, waited for
 * (progress, then the result).  unique may be NULL.  An enum ctl_exit.
 */
int	ctl_gearman_submit(struct ctl_ctx *, const char *plugin,
	    const void *input, size_t len, const char *unique, bool wait);

/*
 * A wait's progress bar on stderr (when it is a terminal), drawn at most
 * ten times a second: ctl_waiter_init, ctl_bar_update for each report,
 * ctl_bar_flush (the last report) and ctl_bar_clear at the end.
 */
#define	CTL_BAR_MSG_MAX	40
struct ctl_waiter {
	struct ctl_ctx	*w_ctx;
	bool		w_bar;		/* stderr is a terminal */
	bool		w_drawn;	/* a bar is on screen */
	bool		w_json;		/* print events as JSON lines */
	uint64_t	w_drawn_ms;	/* monotonic, the last draw; 0: none yet */
	bool		w_pending;	/* a report not drawn yet: */
	unsigned	w_pending_pct;
	char		w_pending_msg[CTL_BAR_MSG_MAX + 1];
};
void	ctl_waiter_init(struct ctl_waiter *, struct ctl_ctx *);
void	ctl_bar_update(struct ctl_waiter *, unsigned pct, const char *msg);
void	ctl_bar_flush(struct ctl_waiter *);
void	ctl_bar_clear(struct ctl_waiter *);

/*
 * Report a job's final state (result, failure, cancellation) the way
 * submit --wait and watch do; returns the exit status it means.
 */
int	ctl_report_final(const struct ctl_ctx *, const Tpool__JobInfo *);

/* The exit status a job's state means (0 for a job not finished). */
int	ctl_state_exit(Tpool__JobState);

/*
 * Wait for a job's end, drawing a progress bar on stderr when it is a
 * terminal and, with --json, printing every event as a JSON line (when
 * json_events).  *ret_final: free with tpool__job_info__free_unpacked.
 */
int	ctl_wait_job(struct ctl_ctx *, uint64_t job_id, bool json_events,
	    Tpool__JobInfo **ret_final);

/* Read a whole file ("-": stdin) of at most max bytes; malloc'd. */
int	ctl_read_file(const char *path, size_t max, uint8_t **ret_buf,
	    size_t *ret_len);

#endif /* TP_CTL_H */
