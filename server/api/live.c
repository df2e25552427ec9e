/*
 * Live sessions (live.h).
 */
#include <stdlib.h>
#include <string.h>

#include "api/live.h"
#include "api/record.h"
#include "api/reply.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

/* How often a session's last use is written back (for the idle timeout
 * to survive restarts); the service thread tracks it exactly. */
#define TOUCH_EVERY_MS 60000

void
api_session_attach(struct api *api, struct api_conn *c,
                   const struct auth_session *s, int64_t now_ms)
{
	struct live_session *ls = idmap_get(&api->sessions, (uint64_t)s->id);

	api_session_detach(api, c);
	if (ls == NULL) {
		ls = rk_calloc(1, sizeof(*ls));
		ls->id = s->id;
		ls->expires_ms = s->expires_ms;
		ls->touched_ms = s->last_seen_ms;
		idmap_set(&api->sessions, (uint64_t)s->id, ls);
	}
	ls->user = s->user; /* freshest copy (a resume reloads it) */
	ls->last_use_ms = now_ms;
	ls->refs++;
	c->sess = ls;
}

void
api_session_detach(struct api *api, struct api_conn *c)
{
	struct live_session *ls = c->sess;

	if (ls == NULL)
		return;
	c->sess = NULL;
	if (--ls->refs == 0) {
		idmap_del(&api->sessions, (uint64_t)ls->id);
		free(ls);
	}
}

/* A store op that writes one session's end (or last use). Nobody waits
 * for it: the service thread's own view is already exact. */
struct session_op {
	struct store_op op;
	int64_t session_id;
	int64_t now_ms;
	const char *reason; /* NULL: a touch */
};

static int
session_op_run(struct store_conn *sc, struct store_op *op)
{
	struct session_op *s = (struct session_op *)op;

	if (s->reason == NULL)
		return auth_session_touch(sc, s->session_id, s->now_ms);
	return auth_session_end(sc, s->session_id, rk_now_ms(), s->reason);
}

static void
session_op_done(struct store_op *op, int rc)
{
	struct session_op *s = (struct session_op *)op;

	/* A touch is best effort; an end that failed is worth a line. */
	if (rc != RK_OK && s->reason != NULL)
		LOG_E("AUTH-SESSION-END-FAIL", "rc=%d", rc);
	audit_entries_free(op->journal);
	free(op);
}

static void
session_op_submit(struct api *api, struct session_op *s)
{
	s->op.run = session_op_run;
	s->op.done = session_op_done;
	if (store_submit_write(api->store, &s->op) != RK_OK) {
		audit_entries_free(s->op.journal);
		free(s);
	}
}

/* Any connection of the live session (for the record's actor). */
static struct api_conn *
conn_of(struct api *api, const struct live_session *ls)
{
	size_t pos = 0;
	uint64_t id;
	void *v;

	while (ls != NULL && idmap_next(&api->conns, &pos, &id, &v))
		if (((struct api_conn *)v)->sess == ls)
			return v;
	return NULL;
}

static void close_session(struct api *api, int64_t session_id,
                          const char *reason);

void
api_session_kill(struct api *api, int64_t session_id, const char *reason)
{
	struct live_session *ls = idmap_get(&api->sessions, (uint64_t)session_id);
	struct session_op *s = rk_calloc(1, sizeof(*s));
	struct api_conn *any = conn_of(api, ls);

	/* Record the end, whatever the connections do; the record names the
	 * session's user, from any of its connections. */
	s->session_id = session_id;
	s->reason = reason;
	if (any != NULL) {
		struct audit_entry *au = api_audit_to(&s->op.journal, any, "session.end",
		                                      NULL, NULL, NULL);
		audit_entry_set_reason(au, reason);
	}
	session_op_submit(api, s);
	close_session(api, session_id, reason);
}

void
api_session_revoked(struct api *api, int64_t session_id, const char *reason)
{
	struct live_session *ls = idmap_get(&api->sessions, (uint64_t)session_id);

	/* Ended elsewhere (and recorded there): only the connections. Not
	 * a logout of ours that is still on its way to logout_ok. */
	if (ls != NULL && !ls->ended && !ls->ending)
		close_session(api, session_id, reason);
}

/* Tell every connection of the session, close each with 4001, and mark
 * the live session ended. */
static void
close_session(struct api *api, int64_t session_id, const char *reason)
{
	Renkei__V1__Event ev = RENKEI__V1__EVENT__INIT;
	Renkei__V1__SessionEnded se = RENKEI__V1__SESSION_ENDED__INIT;
	struct live_session *ls = idmap_get(&api->sessions, (uint64_t)session_id);
	size_t pos = 0;
	uint64_t id;
	void *v;

	se.reason = (char *)reason;
	ev.kind_case = RENKEI__V1__EVENT__KIND_SESSION_ENDED;
	ev.session_ended = &se;
	while (idmap_next(&api->conns, &pos, &id, &v)) {
		struct api_conn *c = v;
		if (c->sess == NULL || c->sess->id != session_id)
			continue;
		if (!c->closing)
			api_reply(api, c, 0, RENKEI__V1__ENVELOPE__BODY_EVENT, &ev);
		api_conn_close(api, c, API_CLOSE_SESSION_ENDED, reason);
	}
	LOG_I("AUTH-SESSION-END", "session=%lld reason=\"%s\"",
	      (long long)session_id, reason);
	/* The live session is freed when its last connection closes. */
	if (ls != NULL)
		ls->ended = true;
}

void
api_session_used(struct api *api, struct api_conn *c, int64_t now_ms)
{
	struct live_session *ls = c->sess;
	struct session_op *s;

	ls->last_use_ms = now_ms;
	if (now_ms - ls->touched_ms < TOUCH_EVERY_MS)
		return;
	ls->touched_ms = now_ms;
	s = rk_calloc(1, sizeof(*s));
	s->session_id = ls->id;
	s->now_ms = now_ms;
	session_op_submit(api, s);
}
