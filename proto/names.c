/*
 * names.c -- names and predicates of the protocol's enums (see names.h).
 * Error and cancel-result names come from protoc-c's descriptors; job states
 * and pool kinds have the lowercase words tpctl prints and the docs use.
 */
#include "names.h"

bool
tp_state_is_final(Tpool__JobState state)
{
	switch (state) {
	case TPOOL__JOB_STATE__JOB_SUCCEEDED:
	case TPOOL__JOB_STATE__JOB_FAILED:
	case TPOOL__JOB_STATE__JOB_CANCELLED:
	case TPOOL__JOB_STATE__JOB_EXPIRED:
	case TPOOL__JOB_STATE__JOB_TIMED_OUT:
	case TPOOL__JOB_STATE__JOB_INTERRUPTED:
		return true;
	default:
		return false;
	}
}

const char *
tp_state_name(Tpool__JobState state)
{
	switch (state) {
	case TPOOL__JOB_STATE__JOB_QUEUED:	return "queued";
	case TPOOL__JOB_STATE__JOB_RUNNING:	return "running";
	case TPOOL__JOB_STATE__JOB_SUCCEEDED:	return "succeeded";
	case TPOOL__JOB_STATE__JOB_FAILED:	return "failed";
	case TPOOL__JOB_STATE__JOB_CANCELLED:	return "cancelled";
	case TPOOL__JOB_STATE__JOB_EXPIRED:	return "expired";
	case TPOOL__JOB_STATE__JOB_TIMED_OUT:	return "timed out";
	case TPOOL__JOB_STATE__JOB_INTERRUPTED:	return "interrupted";
	case TPOOL__JOB_STATE__JOB_SCHEDULED:	return "scheduled";
	default:				return "unknown";
	}
}

const char *
tp_pool_name(Tpool__PoolKind kind)
{
	switch (kind) {
	case TPOOL__POOL_KIND__POOL_UNBOUND:	return "unbound";
	case TPOOL__POOL_KIND__POOL_PERCPU:	return "percpu";
	default:				return "unknown";
	}
}

const char *
tp_error_name(Tpool__ErrorCode code)
{
	const ProtobufCEnumValue *v;

	v = protobuf_c_enum_descriptor_get_value(&tpool__error_code__descriptor,
	    (int)code);
	return v != NULL ? v->name : "ERROR_UNKNOWN_CODE";
}

const char *
tp_cancel_result_name(Tpool__CancelResult result)
{
	const ProtobufCEnumValue *v;

	v = protobuf_c_enum_descriptor_get_value(
	    &tpool__cancel_result__descriptor, (int)result);
	return v != NULL ? v->name : "CANCEL_RESULT_UNKNOWN";
}
