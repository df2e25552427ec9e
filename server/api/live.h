/*
 * Live sessions: a session as the service thread sees it, shared by the
 * connections that use it. Ending one (logout, expiry) tells and closes
 * every one of its connections at once.
 */
#ifndef RK_API_LIVE_H
#define RK_API_LIVE_H

#include "api/internal.h"
#include "api/req.h"

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
/* A session ended elsewhere (an admin command, another process): its
 * end is recorded already; send SessionEnded and close its connections
 * with 4001. Unknown or already ended sessions are ignored. */
void api_session_revoked(struct api *api, int64_t session_id,
                         const char *reason);

/* ---- revocation (revoke.c)
 *
 * A session can end outside this process's view: `renkei-server user
 * disable` beside the running server ends every session of the user in
 * care.db. Twice it is looked for:
 *  - every tick (api_revoke_poll), sessions ended since the last look are
 *    closed on their connections;
 *  - every write op first checks, in its own transaction, that its
 *    actor's account is enabled and its session not ended (else
 *    UNAUTHENTICATED, nothing done), and collects the sessions ended
 *    since the last look, which are closed before the op's events are
 *    published: no event committed after a revocation reaches it. */
void api_revoke_poll(struct api *api, int64_t now_ms);
/* For api_req_write: wrap r's op so that it checks its actor first. */
void api_revoke_guard(struct api_req *r);
/* r's op runs behind the guard already. */
bool api_revoke_guarded(const struct api_req *r);
/* Service thread, before r's ok: close what the guard found ended. */
void api_revoke_apply(struct api_req *r);

#endif
