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
