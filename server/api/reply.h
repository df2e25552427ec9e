/*
 * Sending to a connection: answers, errors and closes. The lowest file of
 * api/: it calls nothing else in api/.
 *
 * Every request gets exactly one answer with its request_id: the response
 * body (api_reply) or an Error (api_reply_status / api_reply_error). The
 * error's wire code comes from the one mapping in util/err.c.
 */
#ifndef RK_API_REPLY_H
#define RK_API_REPLY_H

#include "api/internal.h"

/* The wire code for an rk_err (INTERNAL for RK_OK, which is a bug). */
Renkei__V1__Code api_code_of(int err);

/* Encode env once and queue it to c. A full queue marks c closing (the
 * transport culls it). */
void api_send(struct api *api, struct api_conn *c,
              const Renkei__V1__Envelope *env);

/* Answer request rid with one response: `body` names the Envelope field
 * and `msg` is that field's message (borrowed for the call). */
void api_reply(struct api *api, struct api_conn *c, uint64_t rid,
               Renkei__V1__Envelope__BodyCase body, const void *msg);

/* Answer rid with an Error: code err, message msg (NULL: the code's
 * standard text), field (NULL: none). */
void api_reply_error(struct api *api, struct api_conn *c, uint64_t rid,
                     int err, const char *msg, const char *field);
/* The same, with a retry hint (Error.retry_after_ms). */
void api_reply_error_retry(struct api *api, struct api_conn *c, uint64_t rid,
                           int err, const char *msg, uint32_t retry_after_ms);

/* Answer rid with the Error held in st. An unset st (err RK_OK) means the
 * op went well but its batch did not commit: rc says why — storage full
 * (RK_ERR_EXHAUSTED: RESOURCE_EXHAUSTED with API_RETRY_DISK_MS), else
 * UNAVAILABLE, try again. */
void api_reply_status(struct api *api, struct api_conn *c, uint64_t rid,
                      const struct rk_status *st, int rc);

/* The store's disk is full (or into its reserve): nothing was saved. */
#define API_MSG_DISK_FULL                                                   \
	"the server's storage is full: nothing was saved; try again later"
#define API_RETRY_DISK_MS 60000

/* The answer when the store no longer takes work. */
#define API_MSG_SHUTTING_DOWN "the server is shutting down; try again shortly"
#define API_MSG_BUSY "the server is busy; try again shortly"
/* A second-factor code sent but not 6 ASCII digits (login, step-up,
 * enrolment). */
#define API_MSG_TOTP_FORMAT "the code must be 6 digits"
#define API_MSG_ONE_TIME_EXPIRED                                                \
	"this one-time password or invitation code has expired: ask for a new one"
#define API_MSG_LOGINS_BUSY "too many logins are being checked; try again shortly"
#define API_RETRY_LOGINS_MS 1000

/* Close a connection (once) after what is queued, with a WebSocket close
 * code and reason. */
void api_conn_close(struct api *api, struct api_conn *c, int code,
                    const char *reason);

#endif
