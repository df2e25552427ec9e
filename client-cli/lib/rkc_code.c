/* Names and human texts of the renkei.v1 status codes (gRPC canonical
 * codes); see rkc_code_name / rkc_code_text in rkc.h. */
#include "rkc.h"

struct code_info {
	const char *name;
	const char *text;
};

/* Indexed by code. Texts speak to the person at the keyboard: what
 * happened, in their terms, and where it helps what to do. */
static const struct code_info codes[] = {
	[RENKEI__V1__CODE__OK] = { "OK", "the request succeeded" },
	[RENKEI__V1__CODE__CANCELLED] = { "CANCELLED", "the request was cancelled" },
	[RENKEI__V1__CODE__UNKNOWN] = { "UNKNOWN", "the server reported an unknown error" },
	[RENKEI__V1__CODE__INVALID_ARGUMENT] = { "INVALID_ARGUMENT",
		"the request is not valid; check what you entered" },
	[RENKEI__V1__CODE__DEADLINE_EXCEEDED] = { "DEADLINE_EXCEEDED",
		"the server did not finish in time; try again" },
	[RENKEI__V1__CODE__NOT_FOUND] = { "NOT_FOUND", "that was not found" },
	[RENKEI__V1__CODE__ALREADY_EXISTS] = { "ALREADY_EXISTS", "that already exists" },
	[RENKEI__V1__CODE__PERMISSION_DENIED] = { "PERMISSION_DENIED",
		"you are not allowed to do that" },
	[RENKEI__V1__CODE__RESOURCE_EXHAUSTED] = { "RESOURCE_EXHAUSTED",
		"a limit was reached (too many attempts or too much data); wait and try again" },
	[RENKEI__V1__CODE__FAILED_PRECONDITION] = { "FAILED_PRECONDITION",
		"that cannot be done in the current state" },
	[RENKEI__V1__CODE__ABORTED] = { "ABORTED",
		"the operation was interrupted by a conflicting change; try again" },
	[RENKEI__V1__CODE__OUT_OF_RANGE] = { "OUT_OF_RANGE", "a value is out of the allowed range" },
	[RENKEI__V1__CODE__UNIMPLEMENTED] = { "UNIMPLEMENTED", "the server does not support that" },
	[RENKEI__V1__CODE__INTERNAL] = { "INTERNAL",
		"the server had an internal error; try again later or tell the administrator" },
	[RENKEI__V1__CODE__UNAVAILABLE] = { "UNAVAILABLE",
		"the service is unavailable right now; try again later" },
	[RENKEI__V1__CODE__DATA_LOSS] = { "DATA_LOSS",
		"stored data was lost or damaged; tell the administrator" },
	[RENKEI__V1__CODE__UNAUTHENTICATED] = { "UNAUTHENTICATED",
		"you are not logged in, or your session has ended" },
};

static const struct code_info *
info(Renkei__V1__Code code)
{
	unsigned int i = (unsigned int)code;

	if (i >= sizeof codes / sizeof codes[0] || codes[i].name == NULL)
		return NULL;
	return &codes[i];
}

const char *
rkc_code_text(Renkei__V1__Code code)
{
	const struct code_info *ci = info(code);

	return ci != NULL ? ci->text : "the server reported an error this client does not know";
}

const char *
rkc_code_name(Renkei__V1__Code code)
{
	const struct code_info *ci = info(code);

	return ci != NULL ? ci->name : "UNKNOWN_CODE";
}
