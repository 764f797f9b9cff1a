/*
 * names.h -- names and predicates of the protocol's enums, shared by tpoold,
 * the client library, tpctl and the tests, so that "is this state final?"
 * and "what is this error called?" are answered in one place.  Pure
 * functions over the generated tpool.pb-c.h enums; they never allocate and
 * return static strings.
 */
#ifndef TP_NAMES_H
#define TP_NAMES_H

#include <stdbool.h>

#include "tpool.pb-c.h"

/* True for the three final states: succeeded, failed, cancelled. */
bool	tp_state_is_final(Tpool__JobState state);

/* "queued", "running", "succeeded", "failed", "cancelled"; "unknown" else. */
const char *tp_state_name(Tpool__JobState state);

/* "unbound", "percpu"; "unknown" else. */
const char *tp_pool_name(Tpool__PoolKind kind);

/*
 * The .proto's own name of an error code ("ERROR_NOT_YOURS"), read from the
 * generated descriptor so it can never disagree with the wire;
 * "ERROR_UNKNOWN_CODE" for a code this build does not know.
 */
const char *tp_error_name(Tpool__ErrorCode code);

/* The .proto's name of a cancel result ("CANCEL_TOO_LATE"), likewise. */
const char *tp_cancel_result_name(Tpool__CancelResult result);

#endif /* TP_NAMES_H */
