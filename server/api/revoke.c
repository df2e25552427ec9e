/*
 * Revocation: sessions that end outside this process's view (live.h).
 *
 * Margin: the look asks for sessions ended at or after the start of the
 * previous look less REVOKE_MARGIN_MS, so that a clock step or a commit
 * that becomes visible a little late between two processes on this
 * machine is not missed; seeing a session twice is harmless (closing an
 * ended live session does nothing). SessionEnded carries the session's
 * own end_reason ("account disabled", "password reset", ...), as when the
 * change was made in this process.
 */
#include <stdlib.h>
#include <string.h>

#include "api/live.h"
#include "api/reply.h"
#include "auth/auth.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

#define REVOKE_MARGIN_MS 5000

struct look {
	struct store_op op;
	struct api *api;
	int64_t since_ms, started_ms;
	struct auth_ended *ids;
	size_t n;
};

static int
look_run(struct store_conn *sc, struct store_op *op)
{
	struct look *l = (struct look *)op;
	return auth_sessions_ended_since(sc, l->since_ms, &l->ids, &l->n);
}

static void
look_done(struct store_op *op, int rc)
{
	struct look *l = (struct look *)op;
	struct api *api = l->api;

	api->revoke_busy = false;
	if (rc == RK_OK) {
		for (size_t i = 0; i < l->n; i++)
			api_session_revoked(api, l->ids[i].id, l->ids[i].reason);
		api->revoke_since_ms = l->started_ms - REVOKE_MARGIN_MS;
	}
	free(l->ids);
	free(l);
}

void
api_revoke_poll(struct api *api, int64_t now_ms)
{
	struct look *l;

	if (api->revoke_busy || api->sessions.im_count == 0)
		return;
	if (api->revoke_since_ms == 0)
		api->revoke_since_ms = now_ms - REVOKE_MARGIN_MS;
	l = rk_calloc(1, sizeof(*l));
	l->api = api;
	l->since_ms = api->revoke_since_ms;
	l->started_ms = now_ms;
	l->op.run = look_run;
	l->op.done = look_done;
	if (store_submit_read(api->store, &l->op) != RK_OK) {
		free(l);
		return;
	}
	api->revoke_busy = true;
}

/* The write op, guarded: its actor first. */
static int
guard_run(struct store_conn *sc, struct store_op *op)
{
	struct api_req *r = (struct api_req *)op;
	int rc = auth_session_live(sc, r->sess_user_id, r->sess_id);

	if (rc == RK_ERR_UNAUTHENTICATED)
		return rk_fail(&r->st, RK_ERR_UNAUTHENTICATED,
		               "your session has ended; log in again", NULL);
	if (rc == RK_OK)
		rc = auth_sessions_ended_since(sc, r->revoke_since_ms, &r->revoked,
		                               &r->nrevoked);
	if (rc != RK_OK)
		return rk_fail(&r->st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return r->inner_run(sc, op);
}

bool
api_revoke_guarded(const struct api_req *r)
{
	return r->op.run == guard_run;
}

void
api_revoke_guard(struct api_req *r)
{
	if (r->sess_id == 0 || r->op.run == NULL || r->op.run == guard_run)
		return;
	/* Taken on the service thread now: the guard looks back at least as
	 * far as the last look that found everything before it. */
	if (r->api->revoke_since_ms == 0)
		r->api->revoke_since_ms = rk_now_ms() - REVOKE_MARGIN_MS;
	r->revoke_since_ms = r->api->revoke_since_ms;
	free(r->revoked);
	r->revoked = NULL;
	r->nrevoked = 0;
	r->inner_run = r->op.run;
	r->op.run = guard_run;
}

void
api_revoke_apply(struct api_req *r)
{
	for (size_t i = 0; i < r->nrevoked; i++)
		api_session_revoked(r->api, r->revoked[i].id, r->revoked[i].reason);
	free(r->revoked);
	r->revoked = NULL;
	r->nrevoked = 0;
}
