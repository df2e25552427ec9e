/*
 * The second factor on the wire: enrolment (begin, confirm), status, and
 * the step-up check that break-glass and audit export run before their
 * own op. The TOTP itself is auth/totp.c; the login's use of it is in
 * sessions.c.
 *
 * Enrolment is allowed while ENROL_SECOND_FACTOR is pending (that is
 * what the step is for) and to anyone not required to (family opting
 * in). Confirming clears the pending bit of the live session, which all
 * of its connections share: every connection of the session may work at
 * once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/dispatch.h"
#include "api/live.h"
#include "api/record.h"
#include "api/reply.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

enum totp_mode
api_totp_mode(const struct api *api)
{
	int m =
	    api->conf != NULL ? totp_mode_parse(api->conf->totp_required) : -1;
	return m < 0 ? TOTP_OFF : (enum totp_mode)m;
}

/* ------------------------------------------------------------ enrol begin */

struct begin_req {
	struct api_req r;
	char b32[TOTP_B32_MAX + 1];
	char login[AUTH_LOGIN_MAX + 1];
};

static void
begin_fini(struct api_req *r)
{
	struct begin_req *q = (struct begin_req *)r;
	OPENSSL_cleanse(q->b32, sizeof(q->b32));
}

static int
begin_run(struct store_conn *sc, struct store_op *op)
{
	struct begin_req *q = (struct begin_req *)op;
	return totp_enrol_begin(sc, q->r.sess_user_id, rk_now_ms(), q->b32,
	                        &q->r.st);
}

static void
begin_ok(struct api_req *r, struct api_conn *c)
{
	struct begin_req *q = (struct begin_req *)r;
	Renkei__V1__TotpEnrolBeginResponse br =
	    RENKEI__V1__TOTP_ENROL_BEGIN_RESPONSE__INIT;
	char uri[TOTP_URI_MAX];

	if (c == NULL)
		return;
	totp_uri(q->login, q->b32, uri);
	br.otpauth_uri = uri;
	br.secret = q->b32;
	LOG_I("AUTH-TOTP-BEGIN", "login=%s", q->login);
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_TOTP_ENROL_BEGIN_RESPONSE, &br);
	OPENSSL_cleanse(uri, sizeof(uri));
}

void
api_totp_enrol_begin(const struct api_call *call, const void *msg)
{
	struct begin_req *q = api_req_new(sizeof(*q), call);

	(void)msg;
	snprintf(q->login, sizeof(q->login), "%s", call->c->sess->user.login);
	audit_entry_set_object(q->r.au, q->login);
	q->r.op.run = begin_run;
	q->r.ok = begin_ok;
	q->r.fini = begin_fini;
	api_req_write(&q->r);
}

/* ---------------------------------------------------------- enrol confirm */

struct confirm_req {
	struct api_req r;
	char code[TOTP_DIGITS + 1];
	char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_LEN + 1];
	char login[AUTH_LOGIN_MAX + 1];
};

static void
confirm_fini(struct api_req *r)
{
	struct confirm_req *q = (struct confirm_req *)r;
	OPENSSL_cleanse(q->codes, sizeof(q->codes));
	OPENSSL_cleanse(q->code, sizeof(q->code));
}

static int
confirm_run(struct store_conn *sc, struct store_op *op)
{
	struct confirm_req *q = (struct confirm_req *)op;
	return totp_enrol_confirm(sc, q->r.sess_user_id, q->r.sess_id, q->code,
	                          rk_now_ms(), q->codes, &q->r.st);
}

static void
confirm_ok(struct api_req *r, struct api_conn *c)
{
	struct confirm_req *q = (struct confirm_req *)r;
	struct live_session *ls =
	    idmap_get(&r->api->sessions, (uint64_t)r->sess_id);
	Renkei__V1__TotpEnrolConfirmResponse cr =
	    RENKEI__V1__TOTP_ENROL_CONFIRM_RESPONSE__INIT;
	char *list[TOTP_RECOVERY_COUNT];

	/* Committed: the session may work now, on every connection. */
	if (ls != NULL)
		ls->pending &= ~(unsigned)API_PENDING_TOTP;
	LOG_I("AUTH-TOTP-ENROLLED", "login=%s session=%lld", q->login,
	      (long long)r->sess_id);
	if (c == NULL)
		return;
	for (int i = 0; i < TOTP_RECOVERY_COUNT; i++)
		list[i] = q->codes[i];
	cr.n_recovery_codes = TOTP_RECOVERY_COUNT;
	cr.recovery_codes = list;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_TOTP_ENROL_CONFIRM_RESPONSE, &cr);
}

void
api_totp_enrol_confirm(const struct api_call *call, const void *msg)
{
	const Renkei__V1__TotpEnrolConfirmRequest *m = msg;
	struct confirm_req *q;

	if (!totp_code_format_ok(m->code))
		return api_refuse(call, RK_ERR_INVALID, API_MSG_TOTP_FORMAT,
		                  "code");
	q = api_req_new(sizeof(*q), call);
	snprintf(q->code, sizeof(q->code), "%s", m->code);
	snprintf(q->login, sizeof(q->login), "%s", call->c->sess->user.login);
	audit_entry_set_object(q->r.au, q->login);
	q->r.op.run = confirm_run;
	q->r.ok = confirm_ok;
	q->r.fini = confirm_fini;
	api_req_write(&q->r);
}

/* ----------------------------------------------------------------- status */

struct status_req {
	struct api_req r;
	int profession;
	struct totp_state ts;
};

static int
status_run(struct store_conn *sc, struct store_op *op)
{
	struct status_req *q = (struct status_req *)op;

	if (totp_state_load(sc, q->r.sess_user_id, &q->ts) != RK_OK)
		return rk_fail(&q->r.st, RK_ERR_STORE,
		               "temporarily unavailable", NULL);
	return RK_OK;
}

static void
status_ok(struct api_req *r, struct api_conn *c)
{
	struct status_req *q = (struct status_req *)r;
	Renkei__V1__TotpStatusResponse sr =
	    RENKEI__V1__TOTP_STATUS_RESPONSE__INIT;

	sr.enrolled = q->ts.confirmed;
	sr.enrolled_at_ms = q->ts.confirmed ? q->ts.confirmed_ms : 0;
	sr.recovery_codes_left =
	    q->ts.confirmed ? (uint32_t)q->ts.recovery_left : 0;
	sr.required =
	    totp_required(api_totp_mode(r->api), q->profession, q->ts.opt_in);
	sr.enrolment_begun = q->ts.has_secret && !q->ts.confirmed;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_TOTP_STATUS_RESPONSE, &sr);
}

void
api_totp_status(const struct api_call *call, const void *msg)
{
	struct status_req *q = api_req_new(sizeof(*q), call);

	(void)msg;
	q->profession = call->c->sess->user.profession;
	q->r.op.run = status_run;
	q->r.ok = status_ok;
	api_req_read(&q->r);
}

/* ---------------------------------------------------------------- step-up */

struct api_stepup {
	char code[TOTP_DIGITS + 1];
	char login[AUTH_LOGIN_MAX + 1];
	char address[64];
	void *journal; /* r's records, set aside while the check runs */
	void (*then)(struct api_req *r);
	int rc; /* the check's answer */
	bool attack;
};

bool
api_step_up_format_ok(const struct api_call *call, const char *code)
{
	if (code[0] == '\0' || totp_code_format_ok(code))
		return true;
	api_refuse(call, RK_ERR_INVALID, API_MSG_TOTP_FORMAT, "totp_code");
	return false;
}

void
api_step_up_free(struct api_req *r)
{
	if (r->stepup == NULL)
		return;
	audit_entries_free(r->stepup->journal);
	OPENSSL_cleanse(r->stepup, sizeof(*r->stepup));
	free(r->stepup);
	r->stepup = NULL;
}

/* On the writer. Returns RK_OK whenever what it did should commit (a
 * used-up step, a counted failure); the answer is su->rc. */
static int
stepup_run(struct store_conn *sc, struct store_op *op)
{
	struct api_req *r = (struct api_req *)op;
	struct api_stepup *su = r->stepup;
	struct totp_state ts;
	int64_t now = rk_now_ms();
	int how, rc;

	if (totp_state_load(sc, r->sess_user_id, &ts) != RK_OK)
		return rk_fail(&r->st, RK_ERR_STORE, "temporarily unavailable",
		               NULL);
	if (!ts.confirmed)
		return su->rc = RK_OK; /* no factor to step up with */
	if (su->code[0] == '\0') {
		su->rc =
		    rk_fail(&r->st, RK_ERR_UNAUTHENTICATED,
		            "a fresh second-factor code is needed for this: "
		            "send the current code of your authenticator app",
		            "totp_code");
		return RK_OK;
	}
	/* A wrong code here is a guess like a wrong password: the same
	 * throttle counts it and makes it wait. */
	rc = auth_login_wait(sc, su->login, su->address, now, &r->st);
	if (rc == RK_ERR_EXHAUSTED) {
		su->rc = rc;
		return RK_OK;
	}
	if (rc != RK_OK)
		return rc;
	rc = totp_check(sc, r->sess_user_id, su->code, "", now, &how, &r->st);
	su->rc = rc;
	if (rc == RK_ERR_UNAUTHENTICATED)
		return auth_login_failed(sc, su->login, su->address, now,
		                         &r->api->limits, &su->attack);
	return rc;
}

static void
stepup_done(struct store_op *op, int rc)
{
	struct api_req *r = (struct api_req *)op;
	struct api_stepup *su = r->stepup;

	api_revoke_apply(r);
	r->op.journal = su->journal;
	su->journal = NULL;
	if (rc == RK_OK && su->rc == RK_OK)
		return su->then(r);
	if (rc == RK_OK)
		rc = su->rc;
	if (rc == RK_ERR_UNAUTHENTICATED && r->st.field != NULL &&
	    strcmp(r->st.field, "totp_code") == 0) {
		r->api->stats.logins_failed++;
		LOG_I("AUTH-STEPUP-FAIL", "login=%s conn=%llu", su->login,
		      (unsigned long long)r->conn_id);
	}
	if (su->attack)
		api_auth_attacked(r->api, su->login);
	/* The refusal is what the records say happened. */
	api_audit_then(r, rc, api_req_finish);
}

void
api_step_up(struct api_req *r, const char *code,
            void (*then)(struct api_req *r))
{
	struct api_stepup *su = rk_calloc(1, sizeof(*su));
	struct api_conn *c = api_req_conn(r);

	snprintf(su->code, sizeof(su->code), "%s", code);
	if (c != NULL && c->sess != NULL) {
		snprintf(su->login, sizeof(su->login), "%s",
		         c->sess->user.login);
		snprintf(su->address, sizeof(su->address), "%s", c->address);
	}
	su->then = then;
	su->journal = r->op.journal;
	r->op.journal = NULL;
	r->stepup = su;
	if (api_req_next(r, true, stepup_run, stepup_done) != RK_OK)
		return; /* answered UNAVAILABLE and released */
}
