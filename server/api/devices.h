/*
 * Sessions bound to devices (devices.c): the resume nonce of a
 * connection, for sessions.c.
 */
#ifndef RK_API_DEVICES_H
#define RK_API_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "api/internal.h"

/* How long a ResumeChallengeResponse's nonce is good for. */
#define API_NONCE_TTL_MS 60000
/* SessionEnded.reason and the record's reason for RevokeSessionRequest. */
#define API_REASON_REVOKED "session revoked"

/* Use up c's resume nonce: true and out filled if there was one made
 * within API_NONCE_TTL_MS of mono_ms; c has none afterwards either way. */
bool api_resume_nonce_take(struct api_conn *c, int64_t mono_ms,
                           uint8_t out[AUTH_NONCE_LEN]);

#endif
