/*
 * audit.c -- the audit log: one entry per job that reaches its final
 * state, saying whose job it was, what ran and how it ended.  Where it
 * goes is --audit-log:
 *
 *	journal	a structured journal entry (sd_journal_send): MESSAGE, and
 *		the fields TPOOL_JOB_ID, TPOOL_PLUGIN, TPOOL_JOB_NAME,
 *		TPOOL_UID, TPOOL_STATE, TPOOL_ATTEMPT, TPOOL_QUEUE_SECONDS,
 *		TPOOL_RUN_SECONDS, TPOOL_CPU_SECONDS and TPOOL_REASON (the
 *		message of a failed or cancelled job, else empty);
 *		MESSAGE_ID AUDIT_MESSAGE_ID
 *		for all of them (journalctl MESSAGE_ID=... lists them);
 *	stderr	the same as one info line of the log;
 *	off	nothing;
 *	auto	(the default) journal when stderr is the journal (a
 *		service), else off: a daemon started by hand does not fill
 *		its terminal with a line per job.
 *
 * The values come from the job's final JobInfo; the name and the reason
 * are text a client or a plugin chose (checked UTF-8 without control
 * characters by the daemon before they get here), so they go in fields
 * of their own, never into MESSAGE's format.  Loop thread (l).
 */
#include "config.h"

#include <stdio.h>

#include <systemd/sd-journal.h>

#include "audit.h"
#include "log.h"
#include "names.h"
#include "options.h"

#define	AUDIT_MESSAGE_ID	"70e49a14469f4a2485942e1fa8645448"

static int
audit_where(void)
{
	if (tpd_opt.o_audit_log != TPD_AUDIT_AUTO)
		return tpd_opt.o_audit_log;
	return tpd_log_to_journal() ? TPD_AUDIT_JOURNAL : TPD_AUDIT_OFF;
}

void
tpd_audit_job_ended(const Tpool__JobInfo *info)
{
	int where = audit_where();
	const char *state = tp_state_name(info->state);
	const char *plugin = info->plugin != NULL ? info->plugin : "";
	const char *reason = info->message != NULL ? info->message : "";
	double queue_s = (double)info->queue_ns / 1e9;
	double run_s = (double)info->run_ns / 1e9;
	double cpu_s = (double)info->cpu_ns / 1e9;

	if (where == TPD_AUDIT_OFF)
		return;
	if (where == TPD_AUDIT_STDERR) {
		tpd_info("job %llu ended %s: plugin %s, uid %u, attempt %u, "
		    "queued %.6f s, ran %.6f s, CPU %.6f s%s%s",
		    (unsigned long long)info->job_id, state, plugin,
		    (unsigned int)info->uid, (unsigned int)info->attempt,
		    queue_s, run_s, cpu_s, reason[0] != '\0' ? ": " : "",
		    reason);
		return;
	}
	(void)sd_journal_send(
	    "MESSAGE=job %llu of uid %u ended %s (plugin %s)",
	    (unsigned long long)info->job_id, (unsigned int)info->uid, state,
	    plugin,
	    "MESSAGE_ID=" AUDIT_MESSAGE_ID,
	    "PRIORITY=%d", LOG_INFO,
	    "SYSLOG_IDENTIFIER=tpoold",
	    "TPOOL_JOB_ID=%llu", (unsigned long long)info->job_id,
	    "TPOOL_PLUGIN=%s", plugin,
	    "TPOOL_JOB_NAME=%s", info->name != NULL ? info->name : "",
	    "TPOOL_UID=%u", (unsigned int)info->uid,
	    "TPOOL_STATE=%s", state,
	    "TPOOL_ATTEMPT=%u", (unsigned int)info->attempt,
	    "TPOOL_QUEUE_SECONDS=%.6f", queue_s,
	    "TPOOL_RUN_SECONDS=%.6f", run_s,
	    "TPOOL_CPU_SECONDS=%.6f", cpu_s,
	    "TPOOL_REASON=%s", reason,
	    NULL);
}
