/*
 * Sessions bound to devices (devices.c): the resume nonce of a
 * connection, for sessions.c.
 */
#ifndef RK_API_DEVICES_H
#define RK_API_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "api/internal.h"

/* The answer to a login or resume whose device certificate is not one
 * issued to this user and in force (or, for a resume, not the one its
 * session logged in with). */
#define API_MSG_CERT_REFUSED                                                   \
	"this device's certificate is not valid for this account; log in "     \
	"with the certificate issued to you for this device"
/* SessionEnded.reason and the record's reason for RevokeSessionRequest. */
#define API_REASON_REVOKED "session revoked"

/* Use up c's resume nonce: true and out filled if there was one made
 * within resume_nonce_s of mono_ms; c has none afterwards either way. */
bool api_resume_nonce_take(struct api *api, struct api_conn *c, int64_t mono_ms,
                           uint8_t out[AUTH_NONCE_LEN]);

/* True if a connection from `address` is logged in now, on a session not
 * ended, whose token is `token` (AUTH_TOKEN_LEN characters): the HTTPS
 * attachment path takes a bearer token only then, so a token copied
 * elsewhere is useless there too (the connection proved the device key
 * at its login or resume). Service thread. */
bool api_session_here(struct api *api, const char *token, const char *address);

#endif
