/*
 * err — the project's one error enum.
 *
 * Every module returns RK_OK (0) or one of these. Where a failure must be
 * explained to a client, the code travels with a static message (never
 * internal detail) in a struct rk_status; api/ maps each code to its wire
 * code in one table, so handlers never pick wire codes by hand.
 *
 * Out of memory is not an error value: util/mem.h aborts (as h2o does),
 * because a half-failed allocation in the middle of a commit is worse than
 * a restart that loses nothing acknowledged.
 */
#ifndef RK_UTIL_ERR_H
#define RK_UTIL_ERR_H

#include <stddef.h>
#include <stdint.h>

enum rk_err {
	RK_OK = 0,
	RK_ERR_INVALID,         /* bad input from the client */
	RK_ERR_UNAUTHENTICATED, /* no session, wrong password, expired */
	RK_ERR_DENIED,          /* authenticated but not allowed */
	RK_ERR_NOT_FOUND,
	RK_ERR_EXISTS,
	RK_ERR_PRECONDITION,    /* not allowed in the current state */
	RK_ERR_EXHAUSTED,       /* a limit or rate was hit; try later */
	RK_ERR_UNAVAILABLE,     /* shutting down, overloaded */
	RK_ERR_STORE,           /* database failure */
	RK_ERR_IO,              /* file or socket failure */
	RK_ERR_CRYPTO,          /* OpenSSL / argon2 failure */
	RK_ERR_CONFIG,          /* bad setting, missing key or certificate */
	RK_ERR_INTERNAL,        /* a bug */
	RK_ERR__COUNT
};

/* A short English description of `err`; never NULL, also for values out
 * of range ("unknown error"). */
const char *rk_strerror(int err);

/* The gRPC canonical status code (renkei.v1.Code) for an error, and its
 * name ("PERMISSION_DENIED"): the project's one mapping from our errors
 * to what clients and auditors see. RK_OK maps to 0, "OK". */
int rk_err_grpc_code(int err);
const char *rk_err_grpc_name(int err);
/* The name of a gRPC code number (0..16); "UNKNOWN" beyond. */
const char *rk_err_grpc_name_of_code(int code);

/* A failure to report: the code, a static message safe to show a client,
 * and the request field at fault (static, or NULL). */
struct rk_status {
	int err;
	const char *msg;
	const char *field;
	uint32_t retry_after_ms; /* Error.retry_after_ms; 0: none */
};

/* Set *st and return its code, so that `return rk_fail(st, ...)` reads
 * naturally. st may be NULL. */
static inline int
rk_fail(struct rk_status *st, int err, const char *msg, const char *field)
{
	if (st != NULL) {
		st->err = err;
		st->msg = msg;
		st->field = field;
		st->retry_after_ms = 0;
	}
	return err;
}

#endif
