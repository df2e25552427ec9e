/*
 * Live sessions: a session as the service thread sees it, shared by the
 * connections that use it. Ending one (logout, expiry) tells and closes
 * every one of its connections at once.
 */
#ifndef RK_API_LIVE_H
#define RK_API_LIVE_H

#include "api/internal.h"

/* Attach / detach a connection to a live session. */
void api_session_attach(struct api *api, struct api_conn *c,
                        const struct auth_session *s, int64_t now_ms);
void api_session_detach(struct api *api, struct api_conn *c);
/* A request arrived on c's session: note the use, and write it back to
 * the database now and then. */
void api_session_used(struct api *api, struct api_conn *c, int64_t now_ms);
/* End a session on every connection using it: record the end, send
 * SessionEnded, close with 4001. */
void api_session_kill(struct api *api, int64_t session_id, const char *reason);

#endif
