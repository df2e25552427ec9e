/*
 * Login, resume, logout, whoami.
 *
 * A login is two ops: the password check runs on a reader thread (argon2
 * is slow and must not hold up the writer's group commits, nor the
 * service thread), then a write op records the outcome (a failure counted
 * toward the login throttle, or a new session). The answer goes out after that
 * write commits, so a client never holds a token the database lacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/devices.h"
#include "api/dispatch.h"
#include "api/live.h"
#include "api/record.h"
#include "api/reply.h"
#include "api/wire.h"
#include "auth/totp.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

#define PASSWORD_MAX 1024
#define DEVICE_MAX 128

/* The session's pending sign-in steps as SignInStep values, in the order
 * they are to be done; returns how many (at most 2). */
static size_t
pending_to_wire(unsigned pending, Renkei__V1__SignInStep out[2])
{
	size_t n = 0;

	if (pending & API_PENDING_PASSWORD)
		out[n++] = RENKEI__V1__SIGN_IN_STEP__CHANGE_PASSWORD;
	if (pending & API_PENDING_TOTP)
		out[n++] = RENKEI__V1__SIGN_IN_STEP__ENROL_SECOND_FACTOR;
	return n;
}

/* The session's ENROL_SECOND_FACTOR bit, as worked out by its login or
 * resume (the other bits are other steps'). */
static void
pending_totp_set(struct live_session *ls, bool pending)
{
	ls->pending = (ls->pending & ~(unsigned)API_PENDING_TOTP) |
	              (pending ? (unsigned)API_PENDING_TOTP : 0u);
}

/* how: sessions.second_factor of a login (0 for a resume); recovery_left
 * is sent with a recovery-code login. */
static void
send_login_response(struct api *api, struct api_conn *c, uint64_t rid,
                    const char *token, int how, int recovery_left)
{
	Renkei__V1__LoginResponse lr = RENKEI__V1__LOGIN_RESPONSE__INIT;
	Renkei__V1__User u;
	Renkei__V1__Organisation org;
	Renkei__V1__SignInStep steps[2];

	api_user_to_wire(&c->sess->user, &u, &org);
	lr.token = (char *)(token ? token : "");
	lr.user = &u;
	lr.expires_at_ms = c->sess->expires_ms;
	lr.idle_timeout_s = (uint32_t)api->conf->session_idle_s;
	lr.n_pending = pending_to_wire(c->sess->pending, steps);
	lr.pending = steps;
	lr.second_factor = how == 2   ? RENKEI__V1__SECOND_FACTOR__SECOND_FACTOR_RECOVERY
	                   : how == 1 ? RENKEI__V1__SECOND_FACTOR__SECOND_FACTOR_TOTP
	                              : RENKEI__V1__SECOND_FACTOR__SECOND_FACTOR_NONE;
	if (how == 2)
		lr.recovery_codes_left = (uint32_t)recovery_left;
	api_reply(api, c, rid, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE, &lr);
}

/* The session's one-time password step, as the database says at login
 * or resume (users.must_change_password): set or lifted on the live
 * session, which another connection may share. */
static void
pending_password(struct live_session *ls, bool must_change)
{
	if (must_change)
		ls->pending |= API_PENDING_PASSWORD;
	else
		ls->pending &= ~(unsigned)API_PENDING_PASSWORD;
}

/* Login and resume are refused while another is running, or after one
 * succeeded, on the same connection. */
static bool
login_allowed(const struct api_call *call)
{
	if (call->c->sess != NULL) {
		api_refuse(call, RK_ERR_PRECONDITION,
		           "already logged in on this connection", NULL);
		return false;
	}
	if (call->c->login_busy) {
		api_refuse(call, RK_ERR_PRECONDITION, "a login is already in progress",
		           NULL);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ login */

struct login_req {
	struct api_req r;
	int check_rc;
	char login[AUTH_LOGIN_MAX + 1];
	char *password; /* wiped and freed as soon as checked */
	char device[DEVICE_MAX + 1];
	char address[64];
	/* Whose failures count, and whose waits apply: the address, or a
	 * known device's own source (auth.h, "Known devices"). */
	char source[64];
	uint8_t device_key[AUTH_DEVICE_KEY_LEN];
	bool has_device_key;
	uint8_t device_sig[AUTH_SIGNATURE_LEN]; /* LoginRequest.device_signature */
	uint8_t nonce[AUTH_NONCE_LEN];          /* the connection's, if fresh */
	bool has_sig, has_nonce;
	int64_t pw_stamp; /* auth_password_stamp before the password check */
	char cert_fp[AUTH_CERT_FP_LEN + 1];     /* the connection's, or "" */
	char cert_device[AUTH_CERT_FP_LEN + 16];
	bool cert_required;
	bool cert_refused; /* the password was right, the certificate not */
	struct auth_session s;
	char token[AUTH_TOKEN_LEN + 1];
	bool attack; /* this failure made the login look attacked */
	/* The second factor (auth/totp.h): what was sent, and the outcome. */
	char totp_code[TOTP_DIGITS + 1];
	char recovery[TOTP_RECOVERY_LEN + 1];
	int factor_rc;     /* RK_ERR_UNAUTHENTICATED: the factor refused it */
	int how;           /* sessions.second_factor of the new session */
	int recovery_left; /* after a recovery code */
	bool pending_totp; /* required, not enrolled: enrol before anything */
	bool must_change; /* a one-time password: CHANGE_PASSWORD pending */
};

static void
login_fini(struct api_req *r)
{
	struct login_req *l = (struct login_req *)r;

	if (l->password)
		rk_free_secret(l->password, strlen(l->password));
	OPENSSL_cleanse(l->token, sizeof(l->token));
	OPENSSL_cleanse(l->totp_code, sizeof(l->totp_code));
	OPENSSL_cleanse(l->recovery, sizeof(l->recovery));
}

/* The password was right: the second factor, if the user has one. On a
 * refusal (l->factor_rc) the failure is counted, unless nothing was sent
 * (the client did not know it was needed), and RK_OK is returned so that
 * the count commits. */
static int
login_factor(struct store_conn *sc, struct login_req *l, int64_t now)
{
	struct api *api = l->r.api;
	struct totp_state ts;
	int rc;

	if (totp_state_load(sc, l->s.user.id, &ts) != RK_OK)
		return RK_ERR_STORE;
	if (!ts.confirmed) {
		l->pending_totp = totp_required(api_totp_mode(api), l->s.user.profession,
		                                ts.opt_in);
		return RK_OK;
	}
	rc = totp_check(sc, l->s.user.id, l->totp_code, l->recovery, now, &l->how,
	                &l->r.st);
	if (rc == RK_OK) {
		if (l->how == 2) {
			audit_entry_set_reason(l->r.au, "signed in with a recovery code");
			if (totp_state_load(sc, l->s.user.id, &ts) != RK_OK)
				return RK_ERR_STORE;
			l->recovery_left = ts.recovery_left;
		}
		return RK_OK;
	}
	if (rc != RK_ERR_UNAUTHENTICATED)
		return rc;
	l->factor_rc = rc;
	audit_entry_set_outcome(l->r.au, RK_ERR_UNAUTHENTICATED);
	if (l->totp_code[0] == '\0' && l->recovery[0] == '\0') {
		audit_entry_set_reason(l->r.au, "second factor needed");
		return RK_OK;
	}
	audit_entry_set_reason(l->r.au, l->totp_code[0] != '\0'
	                                        ? "wrong second-factor code"
	                                        : "wrong recovery code");
	return auth_login_failed(sc, l->login, l->source, now, &api->limits,
	                         &l->attack);
}

/* A device certificate the connection presented must be one issued to
 * this user and still in force; with client_cert = required there is
 * always one (the handshake demands it). */
static int
login_cert_check(struct store_conn *sc, struct login_req *l, int64_t now)
{
	int rc = RK_ERR_UNAUTHENTICATED;

	if (l->cert_fp[0])
		rc = auth_cert_check(sc, l->cert_fp, l->s.user.id, now);
	else if (!l->cert_required)
		return RK_OK;
	if (rc == RK_ERR_UNAUTHENTICATED) {
		l->cert_refused = true;
		audit_entry_set_reason(l->r.au, "device certificate");
	}
	return rc;
}

static int
login_record_run(struct store_conn *sc, struct store_op *op)
{
	struct login_req *l = (struct login_req *)op;
	int64_t now = rk_now_ms();
	int rc;

	/* Who it was, as far as the check found out (a wrong password for
	 * an existing user still names them). */
	const char *device = l->cert_device[0] ? l->cert_device : l->device;

	if (l->s.user.id != 0)
		audit_entry_set_actor(l->r.au, l->s.user.id, l->login,
		                      l->s.user.profession, l->s.user.org_code,
		                      device);
	else
		audit_entry_set_actor(l->r.au, 0, l->login, 0, NULL, device);
	if (l->check_rc == RK_ERR_UNAUTHENTICATED) {
		/* Count the failure (committed: return OK) and record it as
		 * what it was. */
		audit_entry_set_outcome(l->r.au, RK_ERR_UNAUTHENTICATED);
		rc = auth_login_failed(sc, l->login, l->source, now,
		                       &l->r.api->limits, &l->attack);
		return rc;
	}
	if (l->check_rc != RK_OK)
		return l->check_rc; /* locked out, or the check failed */
	rc = login_factor(sc, l, now);
	if (rc != RK_OK || l->factor_rc != RK_OK)
		return rc;
	rc = login_cert_check(sc, l, now);
	if (rc != RK_OK)
		return rc;
	/* The password checked may have been replaced since (a change or a
	 * reset committed meanwhile ended every session but the changer's):
	 * it opens nothing now. */
	{
		int64_t stamp;
		if (auth_password_stamp(sc, NULL, l->s.user.id, &stamp) != RK_OK)
			return RK_ERR_STORE;
		if (stamp != l->pw_stamp) {
			audit_entry_set_reason(l->r.au, "password replaced meanwhile");
			return RK_ERR_UNAUTHENTICATED;
		}
	}
	rc = auth_session_open(sc, l->s.user.id, l->device, l->address, l->source,
	                       now, &l->r.api->limits, l->token, &l->s.id,
	                       &l->s.expires_ms);
	if (rc == RK_OK && l->how != 0)
		rc = totp_session_factor(sc, l->s.id, l->how);
	/* Bound to its device in the same transaction: never a moment
	 * when the token resumes without the key. */
	if (rc == RK_OK && l->has_device_key)
		rc = auth_session_set_device_key(sc, l->s.id, l->device_key);
	if (rc == RK_OK && l->cert_fp[0])
		rc = auth_session_set_cert(sc, l->s.id, l->cert_fp);
	if (rc == RK_OK)
		audit_entry_set_session(l->r.au, l->s.id, l->s.user.id);
	return rc;
}

void
api_auth_attacked(struct api *api, const char *login)
{
	/* Many failures for one login, from wherever: someone is guessing. */
	api->stats.auth_attacks++;
	LOG_W("AUTH-ATTACK", "login=%s", login);
}

/* The check failed (check_rc) and its outcome is recorded (rc). */
static void
login_refused(struct login_req *l, struct api_conn *c, int rc)
{
	struct api *api = l->r.api;

	if (l->factor_rc != RK_OK && l->totp_code[0] == '\0' &&
	    l->recovery[0] == '\0') {
		/* The right password, no code yet: the client asks for it and
		 * comes again. Not a failure to alert on. */
		LOG_D("AUTH-TOTP-NEEDED", "login=%s conn=%llu", l->login,
		      (unsigned long long)l->r.conn_id);
	} else {
		api->stats.logins_failed++;
		LOG_I("AUTH-LOGIN-FAIL", "login=%s conn=%llu%s", l->login,
		      (unsigned long long)l->r.conn_id,
		      l->factor_rc != RK_OK ? " second_factor=wrong" : "");
	}
	if (l->attack)
		api_auth_attacked(api, l->login);
	if (c == NULL)
		return; /* gone: nobody to tell */
	if (rc != RK_ERR_STORE && (l->check_rc == RK_ERR_UNAUTHENTICATED ||
	                           l->check_rc == RK_ERR_EXHAUSTED))
		api_reply_status(api, c, l->r.request_id, &l->r.st, rc);
	else
		api_reply_error(api, c, l->r.request_id, RK_ERR_UNAVAILABLE,
		                "temporarily unavailable; try again", NULL);
}

static void
login_record_done(struct store_op *op, int rc)
{
	struct login_req *l = (struct login_req *)op;
	struct api *api = l->r.api;
	struct api_conn *c = api_req_conn(&l->r);

	if (c != NULL)
		c->login_busy = false;
	if (l->check_rc == RK_OK && l->factor_rc != RK_OK && rc == RK_OK)
		l->check_rc = l->factor_rc; /* refused by the second factor */
	if (l->check_rc != RK_OK) {
		login_refused(l, c, rc);
	} else if (rc != RK_OK) {
		api->stats.logins_failed++;
		if (c != NULL)
			api_reply_error(api, c, l->r.request_id,
			                rc == RK_ERR_UNAUTHENTICATED ? rc : RK_ERR_UNAVAILABLE,
			                rc != RK_ERR_UNAUTHENTICATED ? "could not open a session; try again"
			                : l->cert_refused ? API_MSG_CERT_REFUSED
			                                  : "wrong login or password",
			                NULL);
	} else {
		api->stats.logins_ok++;
		LOG_I("AUTH-LOGIN-OK", "login=%s session=%lld conn=%llu", l->login,
		      (long long)l->s.id, (unsigned long long)l->r.conn_id);
		if (c != NULL) {
			l->s.last_seen_ms = rk_now_ms();
			api_session_attach(api, c, &l->s, rk_now_ms());
			snprintf(c->sess->device, sizeof(c->sess->device), "%s", l->device);
			rk_sha256(l->token, AUTH_TOKEN_LEN, c->sess->token_hash);
			pending_totp_set(c->sess, l->pending_totp);
			pending_password(c->sess, l->must_change);
			send_login_response(api, c, l->r.request_id, l->token, l->how,
			                    l->recovery_left);
		}
	}
	api_req_release(&l->r);
}

static int
login_check_run(struct store_conn *sc, struct store_op *op)
{
	struct login_req *l = (struct login_req *)op;
	bool known = false;
	int rc;

	/* Read before the hash (auth_password_stamp): a change committing
	 * in between shows in the write. */
	if (auth_password_stamp(sc, l->login, 0, &l->pw_stamp) == RK_ERR_STORE)
		l->pw_stamp = -1; /* never equal: the write refuses */

	/* A device that proves its key, and that has signed in to this login
	 * with a second factor before, is throttled as itself: others'
	 * failures at its address do not make it wait. */
	if (l->has_sig && l->has_nonce &&
	    auth_login_verify(l->device_key, l->nonce, l->login, l->device_sig) &&
	    auth_device_known(sc, l->login, l->device_key, &known) == RK_OK &&
	    known)
		auth_device_source(l->device_key, l->source);
	rc = auth_login_check(sc, l->login, l->source, l->password, rk_now_ms(),
	                      &l->r.api->limits, &l->s.user, &l->r.st);

	rk_free_secret(l->password, strlen(l->password));
	l->password = NULL;
	if (rc == RK_OK &&
	    auth_must_change_password(sc, l->s.user.id, &l->must_change) != RK_OK)
		rc = rk_fail(&l->r.st, RK_ERR_STORE, "temporarily unavailable", NULL);
	if (rc == RK_OK && l->must_change) {
		/* A one-time password is for a few days (one_time_password_days):
		 * one left lying in a mailbox or a drawer stops working. */
		bool expired = false;
		int64_t days = l->r.api->conf->one_time_password_days;
		if (auth_one_time_expired(sc, l->s.user.id, rk_now_ms(),
		                          days * 86400000, &expired) != RK_OK)
			rc = rk_fail(&l->r.st, RK_ERR_STORE, "temporarily unavailable",
			             NULL);
		else if (expired)
			rc = rk_fail(&l->r.st, RK_ERR_UNAUTHENTICATED,
			             API_MSG_ONE_TIME_EXPIRED, "password");
	}
	return rc;
}

static void
login_check_done(struct store_op *op, int rc)
{
	struct login_req *l = (struct login_req *)op;
	struct api_conn *c = api_req_conn(&l->r);

	/* Whatever the check found, the outcome is written (failure count,
	 * session) and recorded before the client hears it. */
	l->check_rc = rc;
	if (api_req_next(&l->r, true, login_record_run, login_record_done) !=
	            RK_OK &&
	    c != NULL)
		c->login_busy = false;
}

void
api_login(const struct api_call *call, const void *msg)
{
	const Renkei__V1__LoginRequest *m = msg;
	struct login_req *l;
	size_t pwlen = strlen(m->password);

	if (!login_allowed(call))
		return;
	if (!auth_login_valid(m->login))
		return api_refuse(call, RK_ERR_UNAUTHENTICATED,
		                  "wrong login or password", NULL);
	if (pwlen == 0 || pwlen > PASSWORD_MAX)
		return api_refuse(call, RK_ERR_INVALID,
		                  "password must be 1 to 1024 bytes", "password");
	if (strlen(m->device) > DEVICE_MAX)
		return api_refuse(call, RK_ERR_INVALID, "device name is too long",
		                  "device");
	if (m->device_key.len != 0 && m->device_key.len != AUTH_DEVICE_KEY_LEN)
		return api_refuse(call, RK_ERR_INVALID,
		                  "device_key must be a 32-byte Ed25519 public key",
		                  "device_key");
	if (m->device_signature.len != 0 &&
	    m->device_signature.len != AUTH_SIGNATURE_LEN)
		return api_refuse(call, RK_ERR_INVALID,
		                  "device_signature must be 64 bytes (Ed25519)",
		                  "device_signature");
	if (m->device_signature.len != 0 && m->device_key.len == 0)
		return api_refuse(call, RK_ERR_INVALID,
		                  "device_signature needs the device_key it is made with",
		                  "device_signature");
	/* The second factor's fields, before any work: a malformed one is
	 * the client's mistake, not a guess to count. */
	if (m->totp_code[0] != '\0' && !totp_code_format_ok(m->totp_code))
		return api_refuse(call, RK_ERR_INVALID, API_MSG_TOTP_FORMAT,
		                  "totp_code");
	if (m->recovery_code[0] != '\0' &&
	    !totp_recovery_format_ok(m->recovery_code, NULL))
		return api_refuse(call, RK_ERR_INVALID,
		                  "a recovery code looks like xxxxx-xxxxx",
		                  "recovery_code");
	if (m->totp_code[0] != '\0' && m->recovery_code[0] != '\0')
		return api_refuse(call, RK_ERR_INVALID,
		                  "send totp_code or recovery_code, not both",
		                  "recovery_code");

	l = api_req_new(sizeof(*l), call);
	if (m->device_key.len == AUTH_DEVICE_KEY_LEN) {
		memcpy(l->device_key, m->device_key.data, AUTH_DEVICE_KEY_LEN);
		l->has_device_key = true;
	}
	snprintf(l->totp_code, sizeof(l->totp_code), "%s", m->totp_code);
	snprintf(l->recovery, sizeof(l->recovery), "%s", m->recovery_code);
	snprintf(l->login, sizeof(l->login), "%s", m->login);
	l->password = rk_strndup(m->password, pwlen);
	snprintf(l->device, sizeof(l->device), "%s", m->device);
	snprintf(l->address, sizeof(l->address), "%s", call->c->address);
	snprintf(l->source, sizeof(l->source), "%s", call->c->address);
	if (m->device_signature.len == AUTH_SIGNATURE_LEN) {
		memcpy(l->device_sig, m->device_signature.data, AUTH_SIGNATURE_LEN);
		l->has_sig = true;
		/* Used up, as a resume uses it. */
		l->has_nonce = api_resume_nonce_take(call->api, call->c, rk_mono_ms(),
		                                     l->nonce);
	}
	memcpy(l->cert_fp, call->c->cert_fp, sizeof(l->cert_fp));
	memcpy(l->cert_device, call->c->cert_device, sizeof(l->cert_device));
	l->cert_required = strcmp(call->api->conf->client_cert, "required") == 0;
	audit_entry_set_actor(l->r.au, 0, l->login, 0, NULL, NULL);
	l->r.fini = login_fini;
	l->r.op.run = login_check_run;
	l->r.op.done = login_check_done;
	call->c->login_busy = api_req_hash(&l->r) == RK_OK;
}

/* ----------------------------------------------------------------- resume */

struct resume_req {
	struct api_req r;
	char device[DEVICE_MAX + 1];
	char token[AUTH_TOKEN_LEN + 1];
	uint8_t nonce[AUTH_NONCE_LEN];
	uint8_t sig[AUTH_SIGNATURE_LEN];
	uint8_t token_hash[32];
	bool has_nonce, has_sig;
	bool unproven; /* the token was live, the device proof was not */
	bool cert_refused; /* ... and it was the device certificate */
	bool cert_required;
	char cert_fp[AUTH_CERT_FP_LEN + 1];
	char cert_device[AUTH_CERT_FP_LEN + 16];
	struct auth_session s;
	bool pending_totp; /* worked out again from the database */
	bool must_change; /* a one-time password: CHANGE_PASSWORD pending */
};

/* The device certificate of a resume: a session that logged in with one
 * resumes only with the same one, still in force; a certificate sent to
 * a session without one must be its user's; with client_cert = required
 * there is always one. NULL if it holds, else why not. */
static const char *
resume_cert_unproven(struct store_conn *sc, struct resume_req *q, int *rc)
{
	char bound[AUTH_CERT_FP_LEN + 1];
	int crc;

	*rc = auth_session_cert(sc, q->s.id, bound);
	if (*rc != RK_OK)
		return NULL;
	if (bound[0] != '\0' && strcmp(bound, q->cert_fp) != 0) {
		q->cert_refused = true;
		return "not the session's device certificate";
	}
	if (q->cert_fp[0] == '\0') {
		if (!q->cert_required)
			return NULL;
		q->cert_refused = true;
		return "no device certificate";
	}
	crc = auth_cert_check(sc, q->cert_fp, q->s.user.id, rk_now_ms());
	if (crc == RK_ERR_UNAUTHENTICATED) {
		q->cert_refused = true;
		return "device certificate";
	}
	*rc = crc;
	return NULL;
}

/* The device's proof for a live session: NULL if it holds, else why not
 * (for the record). */
static const char *
resume_unproven(struct store_conn *sc, struct resume_req *q, int *rc)
{
	uint8_t key[AUTH_DEVICE_KEY_LEN];
	bool has;

	*rc = auth_session_device_key(sc, q->s.id, key, &has);
	if (*rc != RK_OK)
		return NULL;
	if (!has)
		return "no device key";
	if (!q->has_sig)
		return "no signature";
	if (!q->has_nonce)
		return "no valid nonce";
	if (!auth_resume_verify(key, q->nonce, q->token, q->sig))
		return "bad signature";
	return resume_cert_unproven(sc, q, rc);
}

static void
resume_fini(struct api_req *r)
{
	struct resume_req *q = (struct resume_req *)r;
	OPENSSL_cleanse(q->token, sizeof(q->token));
}

static int
resume_run(struct store_conn *sc, struct store_op *op)
{
	struct resume_req *q = (struct resume_req *)op;
	int rc = auth_session_resume(sc, q->token, rk_now_ms(), &q->r.api->limits,
	                             &q->s);
	const char *why = NULL;

	if (rc == RK_OK)
		why = resume_unproven(sc, q, &rc);
	OPENSSL_cleanse(q->token, sizeof(q->token));
	if (rc == RK_OK && why == NULL &&
	    auth_must_change_password(sc, q->s.user.id, &q->must_change) != RK_OK)
		rc = RK_ERR_STORE;
	if (rc == RK_OK || why != NULL) {
		/* A live token without its device's proof is recorded as the
		 * failed resume of that session: someone holds its token. */
		audit_entry_set_actor(q->r.au, q->s.user.id, q->s.user.login,
		                      q->s.user.profession, q->s.user.org_code,
		                      q->cert_device[0] ? q->cert_device : q->device);
		audit_entry_set_session(q->r.au, q->s.id, q->s.user.id);
	}
	if (rc == RK_OK && why == NULL) {
		/* Required and still not confirmed: still only enrolment. (A
		 * session that signed in without a factor is ended when one is
		 * confirmed, auth/totp.h: so "confirmed" is enough here.) */
		struct totp_state ts;
		if (totp_state_load(sc, q->s.user.id, &ts) != RK_OK)
			return RK_ERR_STORE;
		q->pending_totp = !ts.confirmed &&
		                  totp_required(api_totp_mode(q->r.api),
		                                q->s.user.profession, ts.opt_in);
	}
	if (why != NULL) {
		audit_entry_set_reason(q->r.au, why);
		q->unproven = true;
		rc = RK_ERR_UNAUTHENTICATED;
	}
	return rc;
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
	if (rc == RK_ERR_UNAUTHENTICATED && q->unproven) {
		LOG_W("AUTH-RESUME-UNPROVEN", "session=%lld conn=%llu cert=%d",
		      (long long)q->s.id, (unsigned long long)c->id, q->cert_refused);
		api_reply_error(api, c, q->r.request_id, rc,
		                q->cert_refused ? API_MSG_CERT_REFUSED
		                                : "the resume was not signed by this "
		                                  "session's device; log in again",
		                NULL);
	} else if (rc == RK_ERR_UNAUTHENTICATED) {
		api_reply_error(api, c, q->r.request_id, rc,
		                "the session has ended or expired; log in again", NULL);
	} else if (rc != RK_OK) {
		api_reply_error(api, c, q->r.request_id, RK_ERR_UNAVAILABLE,
		                "temporarily unavailable; try again", NULL);
	} else {
		LOG_D("AUTH-RESUME", "session=%lld conn=%llu", (long long)q->s.id,
		      (unsigned long long)c->id);
		bool fresh = ls == NULL;
		api_session_attach(api, c, &q->s, rk_now_ms());
		memcpy(c->sess->token_hash, q->token_hash, sizeof(q->token_hash));
		if (c->sess->device[0] == '\0')
			snprintf(c->sess->device, sizeof(c->sess->device), "%s", q->device);
		/* A session live on other connections here knows best (an
		 * enrolment or a password change committed since the reader
		 * looked). */
		if (fresh) {
			pending_totp_set(c->sess, q->pending_totp);
			pending_password(c->sess, q->must_change);
		}
		send_login_response(api, c, q->r.request_id, NULL, 0, 0);
	}
out:
	api_req_release(&q->r);
}

/* The record commits before the answer, as for any read. */
static void
resume_done(struct store_op *op, int rc)
{
	api_audit_then((struct api_req *)op, rc, resume_reply);
}

void
api_resume(const struct api_call *call, const void *msg)
{
	const Renkei__V1__ResumeRequest *m = msg;
	struct resume_req *q;

	if (!login_allowed(call))
		return;
	if (m->signature.len != 0 && m->signature.len != AUTH_SIGNATURE_LEN)
		return api_refuse(call, RK_ERR_INVALID,
		                  "signature must be 64 bytes (Ed25519)", "signature");
	if (strlen(m->token) != AUTH_TOKEN_LEN) {
		call->c->resume_nonce_ms = 0; /* used up all the same */
		return api_refuse(call, RK_ERR_UNAUTHENTICATED,
		                  "the session has ended or expired; log in again",
		                  NULL);
	}
	q = api_req_new(sizeof(*q), call);
	q->has_nonce = api_resume_nonce_take(call->api, call->c, rk_mono_ms(), q->nonce);
	if (m->signature.len == AUTH_SIGNATURE_LEN) {
		memcpy(q->sig, m->signature.data, AUTH_SIGNATURE_LEN);
		q->has_sig = true;
	}
	memcpy(q->token, m->token, AUTH_TOKEN_LEN);
	rk_sha256(q->token, AUTH_TOKEN_LEN, q->token_hash);
	memcpy(q->cert_fp, call->c->cert_fp, sizeof(q->cert_fp));
	memcpy(q->cert_device, call->c->cert_device, sizeof(q->cert_device));
	q->cert_required = strcmp(call->api->conf->client_cert, "required") == 0;
	snprintf(q->device, sizeof(q->device), "%s", m->device);
	q->r.fini = resume_fini;
	q->r.op.run = resume_run;
	q->r.op.done = resume_done;
	call->c->login_busy = api_req_read(&q->r) == RK_OK;
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

/* The logout did not commit: the session goes on as before. */
static void
logout_fini(struct api_req *r)
{
	struct logout_req *q = (struct logout_req *)r;
	struct live_session *ls = idmap_get(&r->api->sessions,
	                                    (uint64_t)q->session_id);

	if (ls != NULL && !ls->ended)
		ls->ending = false;
}

static void
logout_ok(struct api_req *r, struct api_conn *c)
{
	struct logout_req *q = (struct logout_req *)r;

	if (c != NULL) {
		Renkei__V1__LogoutResponse lr = RENKEI__V1__LOGOUT_RESPONSE__INIT;
		api_reply(r->api, c, r->request_id,
		          RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE, &lr);
		/* This connection stays open, logged out. */
		api_session_detach(r->api, c);
		c->prelogin_requests = 0;
		c->opened_ms = rk_mono_ms();
	}
	/* Every other connection of the session goes. */
	api_session_kill(r->api, q->session_id, "logged out");
}

void
api_logout(const struct api_call *call, const void *msg)
{
	struct logout_req *q = api_req_new(sizeof(*q), call);

	(void)msg;
	q->session_id = call->c->sess->id;
	/* The end commits before logout_ok runs: a look for sessions ended
	 * elsewhere must not take it for a revocation meanwhile. */
	call->c->sess->ending = true;
	q->r.fini = logout_fini;
	/* Whatever fails (the op or its commit), this is the answer. */
	rk_fail(&q->r.st, RK_ERR_UNAVAILABLE, "could not log out; try again", NULL);
	q->r.op.run = logout_run;
	q->r.ok = logout_ok;
	api_req_write(&q->r);
}

/* ----------------------------------------------------------------- whoami */

void
api_whoami(const struct api_call *call, const void *msg)
{
	Renkei__V1__WhoAmIResponse w = RENKEI__V1__WHO_AM_IRESPONSE__INIT;
	Renkei__V1__User u;
	Renkei__V1__Organisation org;
	Renkei__V1__SignInStep steps[2];
	const struct live_session *ls = call->c->sess;

	(void)msg;
	api_user_to_wire(&ls->user, &u, &org);
	w.user = &u;
	w.expires_at_ms = ls->expires_ms;
	w.idle_timeout_s = (uint32_t)call->api->conf->session_idle_s;
	w.n_pending = pending_to_wire(ls->pending, steps);
	w.pending = steps;
	api_reply(call->api, call->c, call->rid,
	          RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE, &w);
}
