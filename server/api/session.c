/*
 * Login, resume, logout, whoami — and the live sessions behind them.
 *
 * A login is two ops: the password check runs on a reader thread (argon2
 * is slow and must not hold up the writer's group commits, nor the
 * service thread), then a write op records the outcome (a failure counted
 * toward lockout, or a new session). The answer goes out after that
 * write commits, so a client never holds a token the database lacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/internal.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

#define PASSWORD_MAX 1024
#define DEVICE_MAX 128
/* How often a session's last use is written back (for the idle timeout
 * to survive restarts); the service thread tracks it exactly. */
#define TOUCH_EVERY_MS 60000

/* ------------------------------------------------------------ live sessions */

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

struct end_req {
	struct api_req r;
	int64_t session_id;
	const char *reason;
};

static int
end_run(struct store_conn *sc, struct store_op *op)
{
	struct end_req *e = (struct end_req *)op;
	return auth_session_end(sc, e->session_id, rk_now_ms(), e->reason);
}

static void
end_done(struct store_op *op, int rc)
{
	if (rc != RK_OK)
		LOG_E("AUTH-SESSION-END-FAIL", "rc=%d", rc);
	api_req_fini((struct api_req *)op);
	free(op);
}

void
api_session_kill(struct api *api, int64_t session_id, const char *reason)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__Event ev = RENKEI__V1__EVENT__INIT;
	Renkei__V1__SessionEnded se = RENKEI__V1__SESSION_ENDED__INIT;
	struct end_req *e;
	size_t pos = 0;
	uint64_t id;
	void *v;

	se.reason = (char *)reason;
	ev.kind_case = RENKEI__V1__EVENT__KIND_SESSION_ENDED;
	ev.session_ended = &se;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_EVENT;
	env.event = &ev;

	/* Record the end, whatever the connections do. */
	e = rk_calloc(1, sizeof(*e));
	e->r.api = api;
	e->r.op.run = end_run;
	e->r.op.done = end_done;
	e->session_id = session_id;
	e->reason = reason;
	/* The record names the session's user, from any of its connections. */
	struct live_session *who = idmap_get(&api->sessions, (uint64_t)session_id);
	struct api_conn *any = NULL;
	pos = 0;
	while (who != NULL && idmap_next(&api->conns, &pos, &id, &v))
		if (((struct api_conn *)v)->sess == who) {
			any = v;
			break;
		}
	if (any != NULL) {
		struct audit_entry *au = api_audit(&e->r, any, "session.end", NULL, NULL);
		audit_entry_set_reason(au, reason);
	}
	pos = 0;
	if (store_submit_write(api->store, &e->r.op) != RK_OK) {
		api_req_fini(&e->r);
		free(e);
	}

	while (idmap_next(&api->conns, &pos, &id, &v)) {
		struct api_conn *c = v;
		if (c->sess == NULL || c->sess->id != session_id)
			continue;
		if (!c->closing)
			api_send(api, c, &env);
		api_conn_close(api, c, API_CLOSE_SESSION_ENDED, reason);
	}
	LOG_I("AUTH-SESSION-END", "session=%lld reason=\"%s\"",
	      (long long)session_id, reason);
	/* The live session is freed when its last connection closes. */
	struct live_session *ls = idmap_get(&api->sessions, (uint64_t)session_id);
	if (ls != NULL)
		ls->ended = true;
}

struct touch_req {
	struct store_op op;
	int64_t session_id, now_ms;
};

static int
touch_run(struct store_conn *sc, struct store_op *op)
{
	struct touch_req *t = (struct touch_req *)op;
	return auth_session_touch(sc, t->session_id, t->now_ms);
}

static void
touch_done(struct store_op *op, int rc)
{
	(void)rc; /* best effort: the service thread's own record is exact */
	free(op);
}

void
api_session_used(struct api *api, struct api_conn *c, int64_t now_ms)
{
	struct live_session *ls = c->sess;
	struct touch_req *t;

	ls->last_use_ms = now_ms;
	if (now_ms - ls->touched_ms < TOUCH_EVERY_MS)
		return;
	ls->touched_ms = now_ms;
	t = rk_calloc(1, sizeof(*t));
	t->op.run = touch_run;
	t->op.done = touch_done;
	t->session_id = ls->id;
	t->now_ms = now_ms;
	if (store_submit_write(api->store, &t->op) != RK_OK)
		free(t);
}

static void
send_login_response(struct api *api, struct api_conn *c, uint64_t rid,
                    const char *token)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__LoginResponse lr = RENKEI__V1__LOGIN_RESPONSE__INIT;
	Renkei__V1__User u;
	Renkei__V1__Organisation org;

	api_user_to_wire(&c->sess->user, &u, &org);
	lr.token = (char *)(token ? token : "");
	lr.user = &u;
	lr.expires_at_ms = c->sess->expires_ms;
	lr.idle_timeout_s = (uint32_t)api->conf->session_idle_s;
	env.request_id = rid;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE;
	env.login_response = &lr;
	api_send(api, c, &env);
}

/* ------------------------------------------------------------------ login */

struct login_req {
	struct api_req r;
	struct audit_entry *au;
	int check_rc;
	char login[AUTH_LOGIN_MAX + 1];
	char *password; /* wiped and freed as soon as checked */
	char device[DEVICE_MAX + 1];
	char address[64];
	bool ok;
	struct auth_session s;
	char token[AUTH_TOKEN_LEN + 1];
};

static void
login_free(struct login_req *l)
{
	api_req_fini(&l->r);
	if (l->password)
		rk_free_secret(l->password, strlen(l->password));
	OPENSSL_cleanse(l->token, sizeof(l->token));
	free(l);
}

static int
login_record_run(struct store_conn *sc, struct store_op *op)
{
	struct login_req *l = (struct login_req *)op;
	int64_t now = rk_now_ms();

	int rc;

	/* Who it was, as far as the check found out (a wrong password for
	 * an existing user still names them). */
	if (l->s.user.id != 0)
		audit_entry_set_actor(l->au, l->s.user.id, l->login, l->s.user.profession,
		                      l->s.user.org_code, l->device);
	else
		audit_entry_set_actor(l->au, 0, l->login, 0, NULL, l->device);
	if (l->check_rc == RK_ERR_UNAUTHENTICATED) {
		/* Count the failure (committed: return OK) and record it as
		 * what it was. */
		audit_entry_set_outcome(l->au, RK_ERR_UNAUTHENTICATED);
		return auth_login_failed(sc, l->login, now, &l->r.api->limits);
	}
	if (l->check_rc != RK_OK)
		return l->check_rc; /* locked out, or the check failed */
	rc = auth_session_create(sc, l->s.user.id, l->device, l->address, now,
	                         &l->r.api->limits, l->token, &l->s.id,
	                         &l->s.expires_ms);
	if (rc == RK_OK)
		audit_entry_set_session(l->au, l->s.id, l->s.user.id);
	return rc;
}

static void
login_record_done(struct store_op *op, int rc)
{
	struct login_req *l = (struct login_req *)op;
	struct api *api = l->r.api;
	struct api_conn *c = api_req_conn(&l->r);

	if (c != NULL)
		c->login_busy = false;
	if (l->check_rc != RK_OK) {
		api->stats.logins_failed++;
		LOG_I("AUTH-LOGIN-FAIL", "login=%s conn=%llu", l->login,
		      (unsigned long long)l->r.conn_id);
		if (c == NULL) {
			/* gone: nobody to tell */
		} else if (rc == RK_ERR_STORE)
			api_send_error3(api, c, l->r.request_id, RK_ERR_UNAVAILABLE,
			                "temporarily unavailable; try again", NULL);
		else if (l->check_rc == RK_ERR_UNAUTHENTICATED ||
		         l->check_rc == RK_ERR_EXHAUSTED)
			api_send_error(api, c, l->r.request_id, &l->r.st);
		else
			api_send_error3(api, c, l->r.request_id, RK_ERR_UNAVAILABLE,
			                "temporarily unavailable; try again", NULL);
	} else if (rc != RK_OK) {
		api->stats.logins_failed++;
		if (c != NULL)
			api_send_error3(api, c, l->r.request_id,
			                rc == RK_ERR_UNAUTHENTICATED ? rc : RK_ERR_UNAVAILABLE,
			                rc == RK_ERR_UNAUTHENTICATED
			                        ? "wrong login or password"
			                        : "could not open a session; try again",
			                NULL);
	} else {
		api->stats.logins_ok++;
		LOG_I("AUTH-LOGIN-OK", "login=%s session=%lld conn=%llu", l->login,
		      (long long)l->s.id, (unsigned long long)l->r.conn_id);
		if (c != NULL) {
			l->s.last_seen_ms = rk_now_ms();
			api_session_attach(api, c, &l->s, rk_now_ms());
			snprintf(c->sess->device, sizeof(c->sess->device), "%s", l->device);
			send_login_response(api, c, l->r.request_id, l->token);
		}
	}
	login_free(l);
}

static int
login_check_run(struct store_conn *sc, struct store_op *op)
{
	struct login_req *l = (struct login_req *)op;
	int rc = auth_login_check(sc, l->login, l->password, rk_now_ms(),
	                          &l->s.user, &l->r.st);

	rk_free_secret(l->password, strlen(l->password));
	l->password = NULL;
	return rc;
}

static void
login_check_done(struct store_op *op, int rc)
{
	struct login_req *l = (struct login_req *)op;
	struct api *api = l->r.api;
	struct api_conn *c;
	void *journal = l->r.op.journal;

	/* Whatever the check found, the outcome is written (failure count,
	 * session) and recorded before the client hears it. */
	l->check_rc = rc;
	l->ok = rc == RK_OK;
	memset(&l->r.op, 0, sizeof(l->r.op));
	l->r.op.journal = journal;
	l->r.op.run = login_record_run;
	l->r.op.done = login_record_done;
	if (store_submit_write(api->store, &l->r.op) != RK_OK) {
		if ((c = api_req_conn(&l->r)) != NULL) {
			c->login_busy = false;
			api_send_error3(api, c, l->r.request_id, RK_ERR_UNAVAILABLE,
			                "the server is shutting down", NULL);
		}
		login_free(l);
	}
}

void
api_handle_login(struct api *api, struct api_conn *c, uint64_t rid,
                 const Renkei__V1__LoginRequest *req)
{
	struct login_req *l;
	size_t pwlen = strlen(req->password);

	if (c->sess != NULL)
		return api_send_error3(api, c, rid, RK_ERR_PRECONDITION,
		                       "already logged in on this connection", NULL);
	if (c->login_busy)
		return api_send_error3(api, c, rid, RK_ERR_PRECONDITION,
		                       "a login is already in progress", NULL);
	if (!auth_login_valid(req->login))
		return api_send_error3(api, c, rid, RK_ERR_UNAUTHENTICATED,
		                       "wrong login or password", NULL);
	if (pwlen == 0 || pwlen > PASSWORD_MAX)
		return api_send_error3(api, c, rid, RK_ERR_INVALID,
		                       "password must be 1 to 1024 bytes", "password");
	if (strlen(req->device) > DEVICE_MAX)
		return api_send_error3(api, c, rid, RK_ERR_INVALID,
		                       "device name is too long", "device");

	l = rk_calloc(1, sizeof(*l));
	api_req_init(&l->r, api, c, rid);
	snprintf(l->login, sizeof(l->login), "%s", req->login);
	l->password = rk_strndup(req->password, pwlen);
	snprintf(l->device, sizeof(l->device), "%s", req->device);
	snprintf(l->address, sizeof(l->address), "%s", c->address);
	l->au = api_audit_anon(&l->r, c, "login", l->login);
	l->r.op.run = login_check_run;
	l->r.op.done = login_check_done;
	if (store_submit_read(api->store, &l->r.op) != RK_OK) {
		login_free(l);
		return api_send_error3(api, c, rid, RK_ERR_UNAVAILABLE,
		                       "the server is shutting down", NULL);
	}
	c->login_busy = true;
}

/* ----------------------------------------------------------------- resume */

struct resume_req {
	struct api_req r;
	struct audit_entry *au;
	char device[129];
	char token[AUTH_TOKEN_LEN + 1];
	struct auth_session s;
};

static int
resume_run(struct store_conn *sc, struct store_op *op)
{
	struct resume_req *q = (struct resume_req *)op;
	int rc = auth_session_resume(sc, q->token, rk_now_ms(), &q->r.api->limits,
	                             &q->s);
	OPENSSL_cleanse(q->token, sizeof(q->token));
	return rc;
}

static void resume_reply(struct api_req *r, int rc);

static void
resume_done(struct store_op *op, int rc)
{
	struct resume_req *q = (struct resume_req *)op;

	if (rc == RK_OK) {
		audit_entry_set_actor(q->au, q->s.user.id, q->s.user.login,
		                      q->s.user.profession, q->s.user.org_code, q->device);
		audit_entry_set_session(q->au, q->s.id, q->s.user.id);
	}
	api_audit_then(&q->r, rc, resume_reply);
}

static void
resume_reply(struct api_req *r, int rc)
{
	struct resume_req *q = (struct resume_req *)r;
	struct api *api = q->r.api;
	struct api_conn *c = api_req_conn(&q->r);
	struct live_session *ls;

	if (c == NULL)
		goto out;
	c->login_busy = false;
	/* A session ended on this thread after the reader looked (logout,
	 * expiry) must not come back to life. */
	ls = idmap_get(&api->sessions, (uint64_t)q->s.id);
	if (rc == RK_OK && ls != NULL && ls->ended)
		rc = RK_ERR_UNAUTHENTICATED;
	if (rc == RK_ERR_UNAUTHENTICATED) {
		api_send_error3(api, c, q->r.request_id, rc,
		                "the session has ended or expired; log in again", NULL);
	} else if (rc != RK_OK) {
		api_send_error3(api, c, q->r.request_id, RK_ERR_UNAVAILABLE,
		                "temporarily unavailable; try again", NULL);
	} else {
		LOG_D("AUTH-RESUME", "session=%lld conn=%llu", (long long)q->s.id,
		      (unsigned long long)c->id);
		api_session_attach(api, c, &q->s, rk_now_ms());
		if (c->sess->device[0] == '\0')
			snprintf(c->sess->device, sizeof(c->sess->device), "%s", q->device);
		send_login_response(api, c, q->r.request_id, NULL);
	}
out:
	api_req_fini(&q->r);
	free(q);
}

void
api_handle_resume(struct api *api, struct api_conn *c, uint64_t rid,
                  const Renkei__V1__ResumeRequest *req)
{
	struct resume_req *q;

	if (c->sess != NULL)
		return api_send_error3(api, c, rid, RK_ERR_PRECONDITION,
		                       "already logged in on this connection", NULL);
	if (c->login_busy)
		return api_send_error3(api, c, rid, RK_ERR_PRECONDITION,
		                       "a login is already in progress", NULL);
	if (strlen(req->token) != AUTH_TOKEN_LEN)
		return api_send_error3(api, c, rid, RK_ERR_UNAUTHENTICATED,
		                       "the session has ended or expired; log in again",
		                       NULL);
	q = rk_calloc(1, sizeof(*q));
	api_req_init(&q->r, api, c, rid);
	memcpy(q->token, req->token, AUTH_TOKEN_LEN);
	snprintf(q->device, sizeof(q->device), "%s", req->device);
	q->au = api_audit_anon(&q->r, c, "session.resume", NULL);
	q->r.op.run = resume_run;
	q->r.op.done = resume_done;
	if (store_submit_read(api->store, &q->r.op) != RK_OK) {
		api_req_fini(&q->r);
		free(q);
		return api_send_error3(api, c, rid, RK_ERR_UNAVAILABLE,
		                       "the server is shutting down", NULL);
	}
	c->login_busy = true;
}

/* ----------------------------------------------------------------- logout */

struct logout_req {
	struct api_req r;
	int64_t session_id;
};

static int
logout_run(struct store_conn *sc, struct store_op *op)
{
	struct logout_req *q = (struct logout_req *)op;
	return auth_session_end(sc, q->session_id, rk_now_ms(), "logout");
}

static void
logout_done(struct store_op *op, int rc)
{
	struct logout_req *q = (struct logout_req *)op;
	struct api *api = q->r.api;
	struct api_conn *c = api_req_conn(&q->r);

	if (rc != RK_OK) {
		if (c != NULL)
			api_send_error3(api, c, q->r.request_id, RK_ERR_UNAVAILABLE,
			                "could not log out; try again", NULL);
		api_req_fini(&q->r);
		free(q);
		return;
	}
	if (c != NULL) {
		Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
		Renkei__V1__LogoutResponse lr = RENKEI__V1__LOGOUT_RESPONSE__INIT;
		env.request_id = q->r.request_id;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE;
		env.logout_response = &lr;
		api_send(api, c, &env);
		/* This connection stays open, logged out. */
		api_session_detach(api, c);
		c->prelogin_requests = 0;
		c->opened_ms = rk_mono_ms();
	}
	/* Every other connection of the session goes. */
	api_session_kill(api, q->session_id, "logged out");
	api_req_fini(&q->r);
	free(q);
}

void
api_handle_logout(struct api *api, struct api_conn *c, uint64_t rid)
{
	struct logout_req *q = rk_calloc(1, sizeof(*q));

	api_req_init(&q->r, api, c, rid);
	q->session_id = c->sess->id;
	api_audit(&q->r, c, "logout", NULL, NULL);
	q->r.op.run = logout_run;
	q->r.op.done = logout_done;
	if (store_submit_write(api->store, &q->r.op) != RK_OK) {
		api_req_fini(&q->r);
		free(q);
		api_send_error3(api, c, rid, RK_ERR_UNAVAILABLE,
		                "the server is shutting down", NULL);
	}
}

/* ----------------------------------------------------------------- whoami */

void
api_handle_whoami(struct api *api, struct api_conn *c, uint64_t rid)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__WhoAmIResponse w = RENKEI__V1__WHO_AM_IRESPONSE__INIT;
	Renkei__V1__User u;
	Renkei__V1__Organisation org;

	api_user_to_wire(&c->sess->user, &u, &org);
	w.user = &u;
	w.expires_at_ms = c->sess->expires_ms;
	w.idle_timeout_s = (uint32_t)api->conf->session_idle_s;
	env.request_id = rid;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE;
	env.whoami_response = &w;
	api_send(api, c, &env);
}
