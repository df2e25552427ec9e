#include "util/err.h"

static const char *const err_text[RK_ERR__COUNT] = {
	[RK_OK] = "ok",
	[RK_ERR_INVALID] = "invalid argument",
	[RK_ERR_UNAUTHENTICATED] = "not authenticated",
	[RK_ERR_DENIED] = "permission denied",
	[RK_ERR_NOT_FOUND] = "not found",
	[RK_ERR_EXISTS] = "already exists",
	[RK_ERR_PRECONDITION] = "not allowed in the current state",
	[RK_ERR_EXHAUSTED] = "limit reached",
	[RK_ERR_UNAVAILABLE] = "unavailable",
	[RK_ERR_STORE] = "database error",
	[RK_ERR_IO] = "input/output error",
	[RK_ERR_CRYPTO] = "cryptographic error",
	[RK_ERR_CONFIG] = "configuration error",
	[RK_ERR_INTERNAL] = "internal error",
};

const char *
rk_strerror(int err)
{
	if (err < 0 || err >= RK_ERR__COUNT || err_text[err] == NULL)
		return "unknown error";
	return err_text[err];
}

/* gRPC canonical codes, by number. */
static const char *const grpc_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

static const int grpc_of[RK_ERR__COUNT] = {
	[RK_OK] = 0,
	[RK_ERR_INVALID] = 3,
	[RK_ERR_UNAUTHENTICATED] = 16,
	[RK_ERR_DENIED] = 7,
	[RK_ERR_NOT_FOUND] = 5,
	[RK_ERR_EXISTS] = 6,
	[RK_ERR_PRECONDITION] = 9,
	[RK_ERR_EXHAUSTED] = 8,
	[RK_ERR_UNAVAILABLE] = 14,
	[RK_ERR_STORE] = 13,
	[RK_ERR_IO] = 13,
	[RK_ERR_CRYPTO] = 13,
	[RK_ERR_CONFIG] = 13,
	[RK_ERR_INTERNAL] = 13,
};

int
rk_err_grpc_code(int err)
{
	if (err < 0 || err >= RK_ERR__COUNT)
		return 13;
	return grpc_of[err];
}

const char *
rk_err_grpc_name(int err)
{
	return grpc_names[rk_err_grpc_code(err)];
}

const char *
rk_err_grpc_name_of_code(int code)
{
	if (code < 0 || code > 16)
		return "UNKNOWN";
	return grpc_names[code];
}
