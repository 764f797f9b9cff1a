/*
 * victim.c -- the victim of every bench_shared scenario: a uid of its own
 * (SH_VICTIM_UID), one connection, kept from the baseline to the end.
 *
 * A round trip is tpc_submit() of the echo plugin with the input "x" on
 * the default pool (unbound, no priority) and tpc_wait_job() until its
 * end, which must be a success; between round trips the victim pauses
 * (--gap), as a user who is not itself a load.  Two phases: on the quiet
 * daemon (the baseline), and after the bench's go, while the attack
 * holds.  Each phase lasts its time or its number of round trips,
 * whichever comes first, and ends with a report: the median, p99 and
 * largest round trip.  A round trip that has not ended one second after
 * the phase's time (every call's timeout says so) ends the phase: the
 * victim is *stuck*, and the report says how long it had waited.
 *
 * Before its hold phase the victim also opens a second connection and
 * says Hello: whether another user can still connect while the attack
 * holds (the report's rp_refusal, rp_text).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "shared.h"

#define	VICTIM_SLACK_MS	1000	/* past the phase's time, for one job */
#define	VICTIM_WAIT_MS	600000	/* for the bench's next word */

/* The call timeout that ends at the phase's deadline plus the slack. */
static void
victim_timeout(struct tpc *c, uint64_t deadline_ns)
{
	uint64_t now = tu_now_ns();
	uint64_t left_ms = deadline_ns > now ? (deadline_ns - now) / 1000000 : 0;

	(void)tpc_set_timeout(c, (int)(left_ms + VICTIM_SLACK_MS));
}

/* One round trip; *ret_ns its time.  ETIMEDOUT: still waiting. */
static int
victim_round_trip(struct tpc *c, uint64_t deadline_ns, uint64_t *ret_ns,
    struct sh_report *rep)
{
	Tpool__JobInfo *fin;
	uint64_t start, job;
	int error;

	start = tu_now_ns();
	victim_timeout(c, deadline_ns);
	if ((error = tpc_submit(c, TPC_SUBMIT_ARGS("echo", "x", 1), &job)) != 0) {
		*ret_ns = tu_now_ns() - start;
		if (error != ETIMEDOUT)
			part_fail(rep, c, error, "victim: submit");
		return error;
	}
	victim_timeout(c, deadline_ns);
	if ((error = tpc_wait_job(c, job, &fin, NULL, NULL)) != 0) {
		*ret_ns = tu_now_ns() - start;
		if (error != ETIMEDOUT)
			part_fail(rep, c, error, "victim: wait for its job");
		return error;
	}
	*ret_ns = tu_now_ns() - start;
	if (fin->state != TPOOL__JOB_STATE__JOB_SUCCEEDED) {
		rep->rp_error = EPROTO;
		(void)snprintf(rep->rp_text, sizeof(rep->rp_text),
		    "victim: its echo job ended %s: %s", tp_state_name(fin->state),
		    fin->message != NULL ? fin->message : "");
		error = EPROTO;
	}
	tpool__job_info__free_unpacked(fin, NULL);
	return error;
}

/* One phase: round trips for ms milliseconds or max of them (0: any). */
static void
victim_phase(struct tpc *c, unsigned int ms, unsigned int max,
    unsigned int gap_us, struct sh_report *rep)
{
	struct timespec gap;
	struct samples s;
	uint64_t deadline, ns;
	int error;

	memset(&s, 0, sizeof(s));
	gap.tv_sec = gap_us / 1000000;
	gap.tv_nsec = (long)(gap_us % 1000000) * 1000;
	deadline = tu_now_ns() + (uint64_t)ms * 1000000;
	for (;;) {
		error = victim_round_trip(c, deadline, &ns, rep);
		if (error == ETIMEDOUT) {
			rep->rp_stuck = true;
			rep->rp_stuck_ms = (double)ns / 1e6;
			break;
		}
		if (error != 0 || samples_add(&s, ns) != 0)
			break;
		if ((max > 0 && s.s_n >= max) || tu_now_ns() >= deadline)
			break;
		if (gap.tv_sec > 0 || gap.tv_nsec > 0)
			(void)nanosleep(&gap, NULL);
	}
	samples_sort(&s);
	rep->rp_samples = s.s_n;
	rep->rp_median_us = (double)samples_pct(&s, 50) / 1e3;
	rep->rp_p99_us = (double)samples_pct(&s, 99) / 1e3;
	rep->rp_max_us = (double)samples_pct(&s, 100) / 1e3;
	samples_free(&s);
}

/* Can this uid open one more connection now?  The answer goes in rep. */
static void
victim_probe(struct sh_part *p, struct sh_report *rep)
{
	struct tpc *c;
	int error;

	if ((error = tpc_open(p->pt_sock, &c)) != 0) {
		rep->rp_refused = 1;
		(void)snprintf(rep->rp_text, sizeof(rep->rp_text),
		    "a new connection: %s", tpc_strerror(error));
		return;
	}
	(void)tpc_set_timeout(c, SH_CALL_TIMEOUT_MS);
	if ((error = tpc_hello(c, SH_NAME, NULL)) != 0) {
		rep->rp_refused = 1;
		part_fail(rep, c, error, "a new connection");
		rep->rp_error = 0;	/* a finding, not a failure */
	}
	tpc_free(c);
}

int
victim_part(struct sh_part *p)
{
	const struct sh_victim_arg *va = p->pt_arg;
	struct sh_report rep;
	struct tpc *c;
	int error;

	memset(&rep, 0, sizeof(rep));
	if ((error = part_connect(p, &c)) != 0) {
		part_fail(&rep, NULL, error, "victim: connect");
		part_report(p, &rep);
		return 1;
	}
	victim_phase(c, va->va_baseline_ms, 0, va->va_gap_us, &rep);
	part_report(p, &rep);
	if (rep.rp_error != 0 || part_word(p, VICTIM_WAIT_MS) != 1) {
		tpc_free(c);
		return rep.rp_error != 0 ? 1 : 0;
	}

	memset(&rep, 0, sizeof(rep));
	victim_probe(p, &rep);
	victim_phase(c, va->va_hold_ms, va->va_hold_max, va->va_gap_us, &rep);
	part_report(p, &rep);
	/* Until the bench says stop (EOF). */
	while (part_word(p, VICTIM_WAIT_MS) == 1)
		continue;
	tpc_free(c);
	return rep.rp_error != 0 ? 1 : 0;
}
