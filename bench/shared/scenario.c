/*
 * scenario.c -- one bench_shared scenario from start to end.
 *
 *  1. a fresh tpoold with the scenario's options; its limits from Stats;
 *  2. the victim's baseline on the quiet daemon (victim.c);
 *  3. VmRSS and threads "before";
 *  4. the attackers, each a uid of its own, until every one reports that
 *     it holds what it went for (or was refused trying);
 *  5. the victim again, while they hold; then, if the scenario lingers,
 *     up to that long for the attackers' own end (a drop, say);
 *  6. everyone told to stop, and reaped (SIGKILL past the limit);
 *  7. SIGTERM to tpoold, which must exit 0.
 * The daemon's /proc readings are sampled all along (every wait of
 * users.c) and their largest is the peak.  A failure anywhere stops the
 * scenario, stops what it started, and says what went wrong.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shared.h"

#define	SC_VICTIM_SLACK_MS	30000	/* past the victim's phase time */

void
result_figure(struct sh_result *r, const char *key, double value)
{
	if (r->sr_nfig == SH_MAX_FIGURES)
		return;
	r->sr_fig[r->sr_nfig].fg_key = key;
	r->sr_fig[r->sr_nfig].fg_value = value;
	r->sr_nfig++;
}

void
result_note(struct sh_result *r, const char *fmt, ...)
{
	size_t len = strlen(r->sr_notes);
	va_list ap;

	if (len >= sizeof(r->sr_notes) - 1)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(r->sr_notes + len, sizeof(r->sr_notes) - len, fmt, ap);
	va_end(ap);
}

/* The first failure of a report among ch[0..n), or NULL. */
static const struct sh_report *
scenario_failed(const struct sh_child *ch, unsigned int n, unsigned int which)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (ch[i].ch_nreports > which && ch[i].ch_rep[which].rp_error != 0)
			return &ch[i].ch_rep[which];
	return NULL;
}

static uint64_t
scenario_deadline(unsigned int ms)
{
	return tu_now_ns() + (uint64_t)ms * 1000000;
}

void
scenario_run(const struct sh_scenario *sn, struct sh_result *r)
{
	struct sh_child att[SH_MAX_ATTACKERS], victim;
	struct sh_victim_arg va;
	const struct sh_report *bad;
	unsigned int natt = 0, nvictim = 0;
	uint64_t start;
	char why[128];
	int error;

	memset(r, 0, sizeof(*r));
	r->sr_id = sn->sn_id;
	r->sr_name = sn->sn_name;
	r->sr_ran = true;
	start = tu_now_ns();
	bench_note("scenario %u, %s: starting tpoold", sn->sn_id, sn->sn_name);
	if ((error = daemon_start(sn->sn_daemon_args, &r->sr_limits)) != 0) {
		(void)snprintf(r->sr_error, sizeof(r->sr_error),
		    "tpoold did not start: %s", strerror(error));
		return;
	}

	va.va_baseline_ms = sh_config.sc_baseline_ms;
	va.va_hold_ms = sn->sn_victim_hold_ms != 0 ? sn->sn_victim_hold_ms :
	    sh_config.sc_hold_ms;
	va.va_hold_max = sn->sn_victim_hold_max;
	va.va_gap_us = sh_config.sc_gap_us;
	if ((error = users_start(SH_VICTIM_UID, 0, daemon_sock(), victim_part,
	    &va, &victim)) != 0) {
		(void)snprintf(r->sr_error, sizeof(r->sr_error),
		    "cannot start the victim: %s", strerror(error));
		goto out;
	}
	nvictim = 1;
	error = users_wait(&victim, 1, 0,
	    scenario_deadline(va.va_baseline_ms + SC_VICTIM_SLACK_MS));
	r->sr_base = victim.ch_rep[0];
	if (error != 0 || r->sr_base.rp_error != 0) {
		(void)snprintf(r->sr_error, sizeof(r->sr_error),
		    "the victim's baseline: %s", error != 0 ? strerror(error) :
		    r->sr_base.rp_text);
		goto out;
	}
	daemon_sample(&r->sr_before);

	bench_note("scenario %u, %s: %u attacker%s", sn->sn_id, sn->sn_name,
	    sn->sn_nattackers, sn->sn_nattackers == 1 ? "" : "s");
	for (natt = 0; natt < sn->sn_nattackers; natt++) {
		if ((error = users_start(SH_FIRST_UID + natt, natt, daemon_sock(),
		    sn->sn_attack, sn->sn_arg, &att[natt])) != 0) {
			(void)snprintf(r->sr_error, sizeof(r->sr_error),
			    "cannot start attacker %u: %s", natt, strerror(error));
			goto out;
		}
	}
	error = users_wait(att, natt, 0, scenario_deadline(SH_SETUP_LIMIT_MS));
	if ((bad = scenario_failed(att, natt, 0)) != NULL || error != 0) {
		(void)snprintf(r->sr_error, sizeof(r->sr_error),
		    "an attacker did not get to hold: %s", bad != NULL ?
		    bad->rp_text : strerror(error));
		goto out;
	}

	bench_note("scenario %u, %s: held; the victim again", sn->sn_id,
	    sn->sn_name);
	if ((error = users_go(&victim)) == 0)
		error = users_wait(&victim, 1, 1,
		    scenario_deadline(va.va_hold_ms + SC_VICTIM_SLACK_MS));
	r->sr_hold = victim.ch_rep[1];
	if (error != 0 || r->sr_hold.rp_error != 0) {
		(void)snprintf(r->sr_error, sizeof(r->sr_error),
		    "the victim during the hold: %s", error != 0 ?
		    strerror(error) : r->sr_hold.rp_text);
		goto out;
	}
	/* The pools as root sees them (root has 8 slots past
	 * --max-connections: served in scenario 1 too). */
	daemon_pools(&r->sr_pools);
	r->sr_probe_refused = r->sr_hold.rp_refused != 0;
	r->sr_probe_code = r->sr_hold.rp_refusal;
	if (sn->sn_linger_ms > 0) {
		bench_note("scenario %u, %s: up to %u ms for the attack's own "
		    "end", sn->sn_id, sn->sn_name, sn->sn_linger_ms);
		(void)users_wait(att, natt, 1, scenario_deadline(sn->sn_linger_ms));
	}

out:
	if (natt > 0 && users_stop(att, natt) > 0 && r->sr_error[0] == '\0')
		(void)snprintf(r->sr_error, sizeof(r->sr_error),
		    "an attacker did not end by itself");
	if (nvictim > 0)
		(void)users_stop(&victim, 1);
	if ((bad = scenario_failed(att, natt, 1)) != NULL &&
	    r->sr_error[0] == '\0')
		(void)snprintf(r->sr_error, sizeof(r->sr_error),
		    "an attacker: %s", bad->rp_text);
	daemon_peak(&r->sr_peak);
	if (r->sr_error[0] == '\0' && natt == sn->sn_nattackers)
		(*sn->sn_summary)(r, att, natt);
	if (daemon_stop(&r->sr_stop_secs, why, sizeof(why)) != 0) {
		daemon_show_log();
		if (r->sr_error[0] == '\0')
			(void)snprintf(r->sr_error, sizeof(r->sr_error),
			    "tpoold %s", why);
		else
			result_note(r, "tpoold %s. ", why);
	}
	r->sr_secs = (double)(tu_now_ns() - start) / 1e9;
	r->sr_ok = r->sr_error[0] == '\0';
}
