/*
 * Sessions and devices: the nonce a resume signs, my sessions, ending one
 * of them.
 *
 * The nonce lives on the connection that asked for it (api_conn.
 * resume_nonce), so a signature made for one connection is worthless on
 * any other, and the next ResumeRequest on it uses it up whatever its
 * outcome: a signature is never accepted twice. The signature itself is
 * checked on the reader that looks the token up (sessions.c), where the
 * session's key is known; at ~50 us it would not matter on either thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/devices.h"
#include "api/dispatch.h"
#include "api/live.h"
#include "api/reply.h"
#include "util/mem.h"
#include "util/text.h"

#define SESSIONS_LIST_MAX 100

/* ------------------------------------------------------------- the nonce */

void
api_resume_challenge(const struct api_call *call, const void *msg)
{
	Renkei__V1__ResumeChallengeResponse r =
	    RENKEI__V1__RESUME_CHALLENGE_RESPONSE__INIT;
	struct api_conn *c = call->c;

	(void)msg;
	/* Asking again replaces the nonce: only the newest one counts. */
	rk_random(c->resume_nonce, sizeof(c->resume_nonce));
	c->resume_nonce_ms = rk_mono_ms();
	if (c->resume_nonce_ms == 0)
		c->resume_nonce_ms = 1;
	r.nonce.data = c->resume_nonce;
	r.nonce.len = sizeof(c->resume_nonce);
	r.expires_in_s = (uint32_t)call->api->conf->resume_nonce_s;
	api_reply(call->api, c, call->rid,
	          RENKEI__V1__ENVELOPE__BODY_RESUME_CHALLENGE_RESPONSE, &r);
}

bool
api_resume_nonce_take(struct api *api, struct api_conn *c, int64_t mono_ms,
                      uint8_t out[AUTH_NONCE_LEN])
{
	bool fresh = c->resume_nonce_ms != 0 &&
	             mono_ms - c->resume_nonce_ms <=
	                 (int64_t)api->conf->resume_nonce_s * 1000;

	if (fresh)
		memcpy(out, c->resume_nonce, AUTH_NONCE_LEN);
	OPENSSL_cleanse(c->resume_nonce, sizeof(c->resume_nonce));
	c->resume_nonce_ms = 0;
	return fresh;
}

bool
api_session_here(struct api *api, const char *token, const char *address)
{
	uint8_t h[32];
	size_t pos = 0;
	uint64_t id;
	void *v;

	/* One pass over the connections: an HTTPS photo fetch is rare next
	 * to WebSocket traffic, and the pass is a few microseconds per
	 * thousand connections. */
	rk_sha256(token, strlen(token), h);
	while (idmap_next(&api->conns, &pos, &id, &v)) {
		const struct api_conn *c = v;
		if (c->sess != NULL && !c->sess->ended && !c->closing &&
		    strcmp(c->address, address) == 0 &&
		    CRYPTO_memcmp(c->sess->token_hash, h, sizeof(h)) == 0)
			return true;
	}
	return false;
}

void
api_conn_set_cert(struct api *api, struct api_conn *c, const char *fp)
{
	(void)api;
	if (strlen(fp) != AUTH_CERT_FP_LEN)
		return;
	memcpy(c->cert_fp, fp, AUTH_CERT_FP_LEN + 1);
	snprintf(c->cert_device, sizeof(c->cert_device), "cert sha256:%s", fp);
}

/* --------------------------------------------------------- my sessions */

struct list_req {
	struct api_req r;
	struct auth_session_info *s;
	size_t n;
};

static void
list_fini(struct api_req *r)
{
	free(((struct list_req *)r)->s);
}

static int
list_run(struct store_conn *sc, struct store_op *op)
{
	struct list_req *q = (struct list_req *)op;

	return auth_sessions_list(sc, q->r.sess_user_id, rk_now_ms(),
	                          &q->r.api->limits, q->s, SESSIONS_LIST_MAX,
	                          &q->n);
}

static void
list_ok(struct api_req *r, struct api_conn *c)
{
	struct list_req *q = (struct list_req *)r;
	Renkei__V1__ListSessionsResponse lr =
	    RENKEI__V1__LIST_SESSIONS_RESPONSE__INIT;
	Renkei__V1__SessionInfo *si = rk_calloc(q->n + 1, sizeof(*si));
	Renkei__V1__SessionInfo **sp = rk_calloc(q->n + 1, sizeof(*sp));

	for (size_t i = 0; i < q->n; i++) {
		renkei__v1__session_info__init(&si[i]);
		si[i].session_id = q->s[i].id;
		si[i].device = q->s[i].device;
		si[i].address = q->s[i].address;
		si[i].created_at_ms = q->s[i].created_ms;
		si[i].last_used_at_ms = q->s[i].last_seen_ms;
		/* The running server knows a fresher last use than the db. */
		if (c->sess != NULL && q->s[i].id == c->sess->id) {
			si[i].current = true;
			if (c->sess->last_use_ms > si[i].last_used_at_ms)
				si[i].last_used_at_ms = c->sess->last_use_ms;
		}
		si[i].device_key = q->s[i].has_device_key;
		sp[i] = &si[i];
	}
	lr.n_sessions = q->n;
	lr.sessions = sp;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_LIST_SESSIONS_RESPONSE, &lr);
	free(si);
	free(sp);
}

void
api_list_sessions(const struct api_call *call, const void *msg)
{
	struct list_req *q = api_req_new(sizeof(*q), call);

	(void)msg;
	q->s = rk_calloc(SESSIONS_LIST_MAX, sizeof(*q->s));
	q->r.op.run = list_run;
	q->r.ok = list_ok;
	q->r.fini = list_fini;
	api_req_read(&q->r);
}

/* ------------------------------------------------------- ending one */

struct revoke_req {
	struct api_req r;
	int64_t session_id;
	bool
	    held; /* we set the live session's `ending` (see api_revoke_session) */
};

/* Let the live session be closed by revoke_ok, or by the next look. */
static void
revoke_release(struct revoke_req *q)
{
	struct live_session *ls =
	    idmap_get(&q->r.api->sessions, (uint64_t)q->session_id);

	if (q->held && ls != NULL && !ls->ended)
		ls->ending = false;
	q->held = false;
}

/* Not committed (or committed: revoke_ok released it first). */
static void
revoke_fini(struct api_req *r)
{
	revoke_release((struct revoke_req *)r);
}

static int
revoke_run(struct store_conn *sc, struct store_op *op)
{
	struct revoke_req *q = (struct revoke_req *)op;
	int rc = auth_session_revoke(sc, q->r.sess_user_id, q->session_id,
	                             rk_now_ms());

	if (rc == RK_ERR_NOT_FOUND)
		return rk_fail(&q->r.st, RK_ERR_NOT_FOUND, "no such session",
		               "session_id");
	if (rc != RK_OK)
		return rk_fail(&q->r.st, RK_ERR_STORE,
		               "temporarily unavailable", NULL);
	return RK_OK;
}

/* After the commit, and before any event of a later commit is published
 * (the service thread runs the done()s in commit order): its
 * connections, this one too if it is this session, close at once. */
static void
revoke_ok(struct api_req *r, struct api_conn *c)
{
	struct revoke_req *q = (struct revoke_req *)r;

	if (c != NULL) {
		Renkei__V1__RevokeSessionResponse rr =
		    RENKEI__V1__REVOKE_SESSION_RESPONSE__INIT;
		rr.current = q->session_id == r->sess_id;
		api_reply(r->api, c, r->request_id,
		          RENKEI__V1__ENVELOPE__BODY_REVOKE_SESSION_RESPONSE,
		          &rr);
	}
	revoke_release(q);
	api_session_revoked(r->api, q->session_id, API_REASON_REVOKED);
}

void
api_revoke_session(const struct api_call *call, const void *msg)
{
	const Renkei__V1__RevokeSessionRequest *m = msg;
	struct revoke_req *q;

	/* 0 or a negative id names nobody: the store answers it as it
	 * answers another user's, and it is recorded the same way. */
	q = api_req_new(sizeof(*q), call);
	q->session_id = m->session_id;
	/* Between the commit and revoke_ok, the server's look for ended
	 * sessions (revoke.c) could close the session's connections first —
	 * this one too, before its answer. As a logout does, hold the live
	 * session for revoke_ok (a session not live here has nothing to
	 * hold; one being logged out is that logout's). */
	{
		struct live_session *ls =
		    idmap_get(&call->api->sessions, (uint64_t)m->session_id);
		if (ls != NULL && !ls->ended && !ls->ending &&
		    ls->user.id == call->c->sess->user.id) {
			ls->ending = true;
			q->held = true;
		}
	}
	q->r.fini = revoke_fini;
	api_audit_object_id(q->r.au, (uint64_t)m->session_id);
	audit_entry_set_reason(q->r.au, API_REASON_REVOKED);
	q->r.op.run = revoke_run;
	q->r.ok = revoke_ok;
	api_req_write(&q->r);
}
