/*
 * Family invitations: the primary physician or care manager invites a
 * family member to the patient's board (posts marked "all" only).
 *
 * Two steps: a new account's one-time invitation code is made and
 * hashed on the password-hash lane (argon2 must not hold up the writer),
 * then the invitation is written, the account marked as one whose
 * password must be changed. The code is shown once, to the inviter, to
 * hand over in person: the family member logs in with it and must then
 * choose their own password (api/password.c), which the inviter never
 * learns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/dispatch.h"
#include "api/record.h"
#include "api/reply.h"
#include "api/sub.h"
#include "util/mem.h"
#include "util/text.h"

struct family_req {
	struct api_req r;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1];
	const char *login, *display_name, *relation;
	char code_otp[AUTH_ONE_TIME_LEN + 1]; /* the invitation code */
	char pw_hash[160];
	bool created; /* a new account (else an existing one was added) */
	struct care_access_change change;
};

static void
family_fini(struct api_req *r)
{
	struct family_req *q = (struct family_req *)r;

	OPENSSL_cleanse(q->code_otp, sizeof(q->code_otp));
	OPENSSL_cleanse(q->pw_hash, sizeof(q->pw_hash));
}

static int
invite_run(struct store_conn *sc, struct store_op *op)
{
	struct family_req *q = (struct family_req *)op;
	int rc = care_family_invite(sc, &q->who, q->code, q->login, q->display_name,
	                            q->relation, q->pw_hash, rk_now_ms(), &q->created,
	                            &q->change, &q->r.st);

	if (rc == RK_OK && q->created) {
		/* The code is a one-time password: CHANGE_PASSWORD at login. */
		struct auth_user u;
		if (auth_user_load(sc, q->login, 0, &u) != RK_OK ||
		    auth_password_must_change(sc, u.id) != RK_OK)
			rc = rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable",
			             NULL);
	}
	if (rc == RK_OK && api_content_member(sc, q->r.au, &q->change) != RK_OK)
		rc = rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return rc;
}

static void
invite_ok(struct api_req *r, struct api_conn *c)
{
	struct family_req *q = (struct family_req *)r;
	Renkei__V1__FamilyInviteResponse fr = RENKEI__V1__FAMILY_INVITE_RESPONSE__INIT;

	api_sub_access(r->api, &q->change);
	if (c == NULL)
		return;
	fr.login = (char *)q->login;
	fr.invitation_code = q->created ? q->code_otp : (char *)"";
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_FAMILY_INVITE_RESPONSE, &fr);
}

static int
hash_run(struct store_conn *sc, struct store_op *op)
{
	struct family_req *q = (struct family_req *)op;

	(void)sc;
	auth_one_time_password(q->code_otp);
	return auth_password_hash(q->code_otp, q->r.api->conf->argon2_t,
	                          q->r.api->conf->argon2_m_kib, q->pw_hash,
	                          sizeof(q->pw_hash));
}

static void
hash_done(struct store_op *op, int rc)
{
	struct family_req *q = (struct family_req *)op;
	struct api_conn *c = api_req_conn(&q->r);

	if (c == NULL || rc != RK_OK) {
		if (c != NULL)
			api_reply_error(q->r.api, c, q->r.request_id, RK_ERR_UNAVAILABLE,
			                "try again", NULL);
		return api_req_release(&q->r);
	}
	api_req_next(&q->r, true, invite_run, NULL);
}

void
api_family_invite(const struct api_call *call, const void *msg)
{
	const Renkei__V1__FamilyInviteRequest *m = msg;
	struct family_req *q;

	if (!api_patient_named(call, m->patient))
		return;
	if (!auth_login_valid(m->login))
		return api_refuse(call, RK_ERR_INVALID, "login: 1-64 of a-z 0-9 . _ -",
		                  "login");
	if (m->display_name[0] == '\0' || strlen(m->display_name) > CARE_NAME_MAX ||
	    m->relation[0] == '\0' || strlen(m->relation) > CARE_NAME_MAX)
		return api_refuse(call, RK_ERR_INVALID,
		                  "give the family member's name and relation",
		                  "display_name");
	q = api_req_new(sizeof(*q), call);
	q->who = api_actor(call->c);
	snprintf(q->code, sizeof(q->code), "%s", m->patient);
	audit_entry_set_patient(q->r.au, q->code);
	audit_entry_set_object(q->r.au, m->login);
	q->login = api_req_strdup(&q->r, m->login);
	q->display_name = api_req_strdup(&q->r, m->display_name);
	q->relation = api_req_strdup(&q->r, m->relation);
	q->r.op.run = hash_run;
	q->r.op.done = hash_done;
	q->r.ok = invite_ok;
	q->r.fini = family_fini;
	api_req_hash(&q->r);
}
