/*
 * Family invitations: the primary physician or care manager invites a
 * family member to the patient's board (posts marked "all" only).
 *
 * Two steps: the new account's password is made and hashed on a reader
 * thread (argon2 must not hold up the writer), then the invitation is
 * written. The initial password is shown once, to the inviter.
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

#define PASSWORD_CHARS 12

struct family_req {
	struct api_req r;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1];
	const char *login, *display_name, *relation;
	char password[PASSWORD_CHARS + 1];
	char pw_hash[160];
	bool created; /* a new account (else an existing one was added) */
	struct care_access_change change;
};

static void
family_fini(struct api_req *r)
{
	struct family_req *q = (struct family_req *)r;

	OPENSSL_cleanse(q->password, sizeof(q->password));
	OPENSSL_cleanse(q->pw_hash, sizeof(q->pw_hash));
}

static int
invite_run(struct store_conn *sc, struct store_op *op)
{
	struct family_req *q = (struct family_req *)op;
	int rc = care_family_invite(sc, &q->who, q->code, q->login, q->display_name,
	                            q->relation, q->pw_hash, rk_now_ms(), &q->created,
	                            &q->change, &q->r.st);

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
	fr.initial_password = q->created ? q->password : (char *)"";
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_FAMILY_INVITE_RESPONSE, &fr);
}

static int
hash_run(struct store_conn *sc, struct store_op *op)
{
	struct family_req *q = (struct family_req *)op;
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
	uint8_t raw[PASSWORD_CHARS];

	(void)sc;
	rk_random(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		q->password[i] = alphabet[raw[i] % 32];
	q->password[sizeof(raw)] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return auth_password_hash(q->password, q->r.api->conf->argon2_t,
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
