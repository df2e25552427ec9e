/*
 * Changing my password (PasswordChangeRequest), and the sign-in step of
 * a one-time password (CHANGE_PASSWORD).
 *
 * Two ops, as a login: on the password-hash lane the current password is
 * verified (argon2, through the login throttle: a wrong one counts as a
 * failed login of my login from this address), the new one is judged by
 * the rules (auth/pwrule.h) and hashed; then a write op either counts the
 * failure or stores the new hash and ends my other sessions. Their
 * connections close at once, on this thread, after the commit; this
 * session's CHANGE_PASSWORD step is lifted then too. Neither password is
 * ever logged or recorded; both are wiped as soon as they are used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/dispatch.h"
#include "api/live.h"
#include "api/record.h"
#include "api/reply.h"
#include "auth/pwrule.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

struct pwchange_req {
	struct api_req r;
	char *old_pw, *new_pw; /* wiped and freed once used */
	char login[AUTH_LOGIN_MAX + 1];
	char name[AUTH_NAME_MAX + 1];
	char address[64];
	int64_t user_id;
	char why[256];  /* a rule's explanation: st.msg points here */
	char hash[160]; /* the new password's argon2id hash */
	bool attack;    /* the failure made the login look attacked */
	int64_t *ended; /* my other sessions, ended by the commit */
	size_t nended;
};

static void
drop_passwords(struct pwchange_req *q)
{
	if (q->old_pw != NULL)
		rk_free_secret(q->old_pw, strlen(q->old_pw));
	if (q->new_pw != NULL)
		rk_free_secret(q->new_pw, strlen(q->new_pw));
	q->old_pw = q->new_pw = NULL;
}

static void
pwchange_fini(struct api_req *r)
{
	struct pwchange_req *q = (struct pwchange_req *)r;

	drop_passwords(q);
	OPENSSL_cleanse(q->hash, sizeof(q->hash));
	free(q->ended);
}

/* ---- step 2, on the writer */

static int
commit_run(struct store_conn *sc, struct store_op *op)
{
	struct pwchange_req *q = (struct pwchange_req *)op;
	int rc = auth_password_set(sc, q->user_id, q->hash, q->r.sess_id,
	                           rk_now_ms(), &q->ended, &q->nended);

	OPENSSL_cleanse(q->hash, sizeof(q->hash));
	if (rc != RK_OK)
		return rk_fail(&q->r.st, RK_ERR_UNAVAILABLE,
		               "temporarily unavailable; try again", NULL);
	if (q->nended > 0) {
		/* The ends are in sessions.end_reason; the record says how many. */
		char reason[64];
		snprintf(reason, sizeof(reason), "other sessions ended: %zu",
		         q->nended);
		audit_entry_set_reason(q->r.au, reason);
	}
	return RK_OK;
}

static void
commit_ok(struct api_req *r, struct api_conn *c)
{
	struct pwchange_req *q = (struct pwchange_req *)r;
	struct live_session *ls =
	    idmap_get(&r->api->sessions, (uint64_t)r->sess_id);
	Renkei__V1__PasswordChangeResponse pr =
	    RENKEI__V1__PASSWORD_CHANGE_RESPONSE__INIT;

	LOG_I("AUTH-PASSWORD-CHANGED",
	      "login=%s session=%lld sessions_ended=%zu", q->login,
	      (long long)r->sess_id, q->nended);
	/* The password is mine now: the sign-in step is done. */
	if (ls != NULL)
		ls->pending &= ~(unsigned)API_PENDING_PASSWORD;
	/* Their ends are committed: close them now, not at the next look. */
	for (size_t i = 0; i < q->nended; i++)
		api_session_revoked(r->api, q->ended[i], "password changed");
	if (c == NULL)
		return;
	pr.sessions_ended = (uint32_t)q->nended;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_PASSWORD_CHANGE_RESPONSE, &pr);
}

/* A wrong current password: counted as a failed login (committed: the
 * op succeeds) and recorded as what it was. */
static int
failed_run(struct store_conn *sc, struct store_op *op)
{
	struct pwchange_req *q = (struct pwchange_req *)op;

	audit_entry_set_outcome(q->r.au, RK_ERR_UNAUTHENTICATED);
	return auth_login_failed(sc, q->login, q->address, rk_now_ms(),
	                         &q->r.api->limits, &q->attack);
}

static void
failed_done(struct store_op *op, int rc)
{
	struct pwchange_req *q = (struct pwchange_req *)op;
	struct api *api = q->r.api;
	struct api_conn *c;

	api->stats.logins_failed++;
	LOG_I("AUTH-PASSWORD-CHANGE-FAIL", "login=%s conn=%llu", q->login,
	      (unsigned long long)q->r.conn_id);
	if (q->attack)
		api_auth_attacked(api, q->login);
	api_revoke_apply(&q->r);
	c = api_req_conn(&q->r);
	if (c != NULL && rc == RK_OK)
		api_reply_status(api, c, q->r.request_id, &q->r.st,
		                 RK_ERR_UNAUTHENTICATED);
	else if (c != NULL)
		api_reply_error(api, c, q->r.request_id, RK_ERR_UNAVAILABLE,
		                "temporarily unavailable; try again", NULL);
	api_req_release(&q->r);
}

/* ---- step 1, on the password-hash lane */

/* The current password is right: judge the new one and hash it. */
static int
judge_and_hash(struct store_conn *sc, struct pwchange_req *q,
               const struct auth_user *u)
{
	const struct conf *conf = q->r.api->conf;
	bool second_factor = auth_account_has_second_factor(sc, u, (int)api_totp_mode(q->r.api));

	if (!pwrule_check(q->new_pw, q->old_pw, q->login, q->name,
	                  second_factor, q->why, sizeof(q->why)))
		return rk_fail(&q->r.st, RK_ERR_INVALID, q->why,
		               "new_password");
	if (auth_password_hash(q->new_pw, conf->argon2_t, conf->argon2_m_kib,
	                       q->hash, sizeof(q->hash)) != RK_OK)
		return rk_fail(&q->r.st, RK_ERR_UNAVAILABLE,
		               "temporarily unavailable; try again", NULL);
	return RK_OK;
}

static int
check_run(struct store_conn *sc, struct store_op *op)
{
	struct pwchange_req *q = (struct pwchange_req *)op;
	struct auth_user u;
	int rc;

	rc = auth_login_check(sc, q->login, q->address, q->old_pw, rk_now_ms(),
	                      &q->r.api->limits, &u, &q->r.st);
	/* The login now names another account: not mine to change. */
	if (rc == RK_OK && u.id != q->user_id)
		rc = RK_ERR_UNAUTHENTICATED;
	if (rc == RK_OK)
		rc = judge_and_hash(sc, q, &u);
	else if (rc == RK_ERR_UNAUTHENTICATED)
		rc = rk_fail(&q->r.st, RK_ERR_UNAUTHENTICATED,
		             "the current password is wrong", "old_password");
	else if (rc != RK_ERR_EXHAUSTED) /* the wait, with its retry_after */
		rc = rk_fail(&q->r.st, RK_ERR_UNAVAILABLE,
		             "temporarily unavailable; try again", NULL);
	drop_passwords(q);
	return rc;
}

static void
check_done(struct store_op *op, int rc)
{
	struct pwchange_req *q = (struct pwchange_req *)op;

	if (rc == RK_OK) {
		api_req_next(&q->r, true, commit_run, NULL);
	} else if (rc == RK_ERR_UNAUTHENTICATED) {
		api_req_next(&q->r, true, failed_run, failed_done);
	} else {
		/* Refused before any change: the record commits, then the
		 * answer (as for a read). */
		api_req_read_done(op, rc);
	}
}

static bool
has_tab_or_break(const char *s)
{
	return strpbrk(s, "\t\r\n") != NULL;
}

void
api_password_change(const struct api_call *call, const void *msg)
{
	const Renkei__V1__PasswordChangeRequest *m = msg;
	const struct live_session *ls = call->c->sess;
	struct pwchange_req *q;

	/* Only the one-time password comes before enrolment. */
	if ((ls->pending & API_PENDING_TOTP) &&
	    !(ls->pending & API_PENDING_PASSWORD))
		return api_refuse(call, RK_ERR_PRECONDITION,
		                  "enrol a second factor first", "totp");
	if (m->old_password[0] == '\0')
		return api_refuse(call, RK_ERR_INVALID,
		                  "give your current password", "old_password");
	if (m->new_password[0] == '\0')
		return api_refuse(call, RK_ERR_INVALID, "choose a new password",
		                  "new_password");
	/* wirecheck bounds both at 1024 bytes; a line break could never be
	 * typed at a login prompt. */
	if (strlen(m->old_password) > PWRULE_MAX_BYTES)
		return api_refuse(call, RK_ERR_INVALID,
		                  "old_password is longer than 1024 bytes",
		                  "old_password");
	if (strlen(m->new_password) > PWRULE_MAX_BYTES)
		return api_refuse(call, RK_ERR_INVALID,
		                  "new_password is longer than 1024 bytes",
		                  "new_password");
	if (has_tab_or_break(m->new_password))
		return api_refuse(
		    call, RK_ERR_INVALID,
		    "the password must not contain tabs or line breaks",
		    "new_password");

	q = api_req_new(sizeof(*q), call);
	q->old_pw = rk_strdup(m->old_password);
	q->new_pw = rk_strdup(m->new_password);
	q->user_id = ls->user.id;
	snprintf(q->login, sizeof(q->login), "%s", ls->user.login);
	snprintf(q->name, sizeof(q->name), "%s", ls->user.display_name);
	snprintf(q->address, sizeof(q->address), "%s", call->c->address);
	audit_entry_set_object(q->r.au, q->login);
	q->r.fini = pwchange_fini;
	q->r.ok = commit_ok;
	q->r.op.run = check_run;
	q->r.op.done = check_done;
	api_req_hash(&q->r);
}
