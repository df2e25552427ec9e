/*
 * Posts: create, amend, retract.
 *
 * Each handler checks the request's own fields here, on the service
 * thread (cheap, and bad input never reaches the store), then hands one
 * write op to the store. Its answers and live events follow commit order:
 * the author hears first, then every watcher allowed to see the post.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/notice.h"
#include "api/oncall.h"
#include "api/record.h"
#include "api/reply.h"
#include "api/sub.h"
#include "api/wire.h"
#include "util/mem.h"
#include "util/text.h"

enum post_op { OP_CREATE, OP_AMEND, OP_RETRACT };

struct post_req {
	struct api_req r;
	enum post_op what;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1]; /* create */
	int64_t post_id;              /* amend, retract */
	char client_id[CARE_CODE_MAX + 1];
	const char *text; /* the text, or the retraction's reason */
	int64_t attach[CARE_ATTACH_MAX];
	char to[CARE_TO_MAX][CARE_CODE_MAX + 1]; /* create: the addressees */
	const char *top[CARE_TO_MAX];
	char owner[CARE_CODE_MAX + 1];
	struct care_post_input in;
	struct care_post out;
	bool dup;
};

static void
post_fini(struct api_req *r)
{
	struct post_req *q = (struct post_req *)r;
	care_post_fini(&q->out);
}

static int64_t
escalate_ms(const struct api *api)
{
	return (int64_t)api->conf->escalate_after_s * 1000;
}

static int
post_run(struct store_conn *sc, struct store_op *op)
{
	struct post_req *q = (struct post_req *)op;
	int64_t now = rk_now_ms();
	int rc = RK_ERR_INTERNAL;

	switch (q->what) {
	case OP_CREATE:
		rc = care_post_create(sc, &q->who, q->code, &q->in, now, &q->out,
		                      &q->dup, &q->r.st);
		break;
	case OP_AMEND:
		rc = care_post_amend(sc, &q->who, q->post_id, &q->in, now, &q->out,
		                     &q->dup, &q->r.st);
		break;
	case OP_RETRACT:
		rc = care_post_retract(sc, &q->who, q->post_id, q->client_id, q->text,
		                       now, &q->out, &q->dup, &q->r.st);
		break;
	}
	if (rc == RK_OK) {
		audit_entry_set_patient(q->r.au, q->out.patient_code);
		api_audit_object_id(q->r.au, (uint64_t)q->out.id);
		if (api_content_post(q->r.au, &q->out) != RK_OK)
			rc = rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable",
			             NULL);
	}
	/* A new urgent post starts its escalation in its own transaction
	 * (docs/oncall.md). */
	if (rc == RK_OK && q->what == OP_CREATE && !q->dup &&
	    care_escalation_start(sc, &q->out, now + escalate_ms(q->r.api)) != RK_OK)
		rc = rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return rc;
}

/* Committed: answer the author (if still connected: otherwise a retry
 * with the same client id finds the post), then publish. */
static void
post_ok(struct api_req *r, struct api_conn *c)
{
	struct post_req *q = (struct post_req *)r;

	if (c != NULL) {
		Renkei__V1__PostResponse pr = RENKEI__V1__POST_RESPONSE__INIT;
		struct api_post_wire w;
		api_post_to_wire(&q->out, &w);
		pr.post = &w.post;
		pr.duplicate = q->dup;
		api_reply(r->api, c, r->request_id,
		          RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE, &pr);
		api_post_wire_fini(&w);
	}
	if (!q->dup) {
		r->api->stats.posts++;
		api_publish_post(r->api, &q->out);
		if (q->out.nto > 0) {
			int64_t ids[CARE_TO_MAX];
			for (size_t i = 0; i < q->out.nto; i++)
				ids[i] = q->out.to[i].id;
			api_notice_users(r->api, q->out.patient_id, q->out.id, ids,
			                 q->out.nto, API_NOTICE_ADDRESSED, q->out.urgent);
			if (q->out.due_ms > 0)
				api_requests_due(r->api, q->out.due_ms);
		}
		if (q->what == OP_CREATE && q->out.urgent)
			api_escalate_wake(r->api, q->out.created_ms + escalate_ms(r->api));
	}
}

static struct post_req *
post_req_new(const struct api_call *call, enum post_op what,
             const char *client_id, const char *text)
{
	struct post_req *q = api_req_new(sizeof(*q), call);

	q->what = what;
	q->who = api_req_actor(&q->r, call->c);
	snprintf(q->client_id, sizeof(q->client_id), "%s", client_id);
	q->text = api_req_strdup(&q->r, text);
	q->in.client_id = q->client_id;
	q->in.text = q->text;
	/* Amend and retract check everything, then insert one row. */
	q->r.op.lean = what != OP_CREATE;
	q->r.op.run = post_run;
	q->r.ok = post_ok;
	q->r.fini = post_fini;
	return q;
}

/* Check the post's input as the domain will, then submit. */
static void
post_submit(const struct api_call *call, struct post_req *q)
{
	struct rk_status st = {0};

	if (care_post_input_check(&q->in, &st) != RK_OK) {
		api_reply_status(call->api, call->c, call->rid, &st, st.err);
		return api_req_release(&q->r);
	}
	api_req_write(&q->r);
}

void
api_create_post(const struct api_call *call, const void *msg)
{
	const Renkei__V1__CreatePostRequest *m = msg;
	struct post_req *q;

	if (!api_patient_named(call, m->patient))
		return;
	if (m->n_attachment_ids > CARE_ATTACH_MAX)
		return api_refuse(call, RK_ERR_INVALID, "at most 10 photos on one post",
		                  "attachment_ids");
	for (size_t i = 0; i < m->n_attachment_ids; i++)
		if (!api_id_ok(m->attachment_ids[i]))
			return api_refuse(call, RK_ERR_INVALID, "bad photo id",
			                  "attachment_ids");
	/* Lengths before copying (the rest: care_post_input_check). */
	if (m->n_to > CARE_TO_MAX)
		return api_refuse(call, RK_ERR_INVALID, "at most 20 addressees", "to");
	for (size_t i = 0; i < m->n_to; i++)
		if (m->to[i][0] == '\0' || strlen(m->to[i]) > CARE_CODE_MAX)
			return api_refuse(call, RK_ERR_INVALID,
			                  "an addressee's login must be 1-64 bytes", "to");
	if (strlen(m->owner) > CARE_CODE_MAX)
		return api_refuse(call, RK_ERR_INVALID,
		                  "the owner must be one of the addressees", "owner");
	q = post_req_new(call, OP_CREATE, m->client_id, m->text);
	snprintf(q->code, sizeof(q->code), "%s", m->patient);
	audit_entry_set_patient(q->r.au, q->code);
	q->in.kind = (int)m->kind;
	q->in.visibility = (int)m->visibility;
	q->in.urgent = m->urgent;
	api_vitals_from_wire(m->vitals, &q->in.vitals);
	for (size_t i = 0; i < m->n_attachment_ids; i++)
		q->attach[i] = (int64_t)m->attachment_ids[i];
	q->in.attachments = q->attach;
	q->in.nattachments = m->n_attachment_ids;
	for (size_t i = 0; i < m->n_to; i++) {
		snprintf(q->to[i], sizeof(q->to[i]), "%s", m->to[i]);
		q->top[i] = q->to[i];
	}
	q->in.to = q->top;
	q->in.nto = m->n_to;
	q->in.request = m->request;
	snprintf(q->owner, sizeof(q->owner), "%s", m->owner);
	q->in.owner = q->owner;
	q->in.due_ms = m->due_at_ms;
	/* Without photos or addressees a post checks everything before its
	 * first write; attaching photos can still be refused after the
	 * insert, and addressing is stored after it. */
	q->r.op.lean = m->n_attachment_ids == 0 && m->n_to == 0;
	post_submit(call, q);
}

void
api_amend_post(const struct api_call *call, const void *msg)
{
	const Renkei__V1__AmendPostRequest *m = msg;
	struct post_req *q;

	if (!api_id_ok(m->post_id))
		return api_refuse(call, RK_ERR_INVALID, "name the post", "post_id");
	q = post_req_new(call, OP_AMEND, m->client_id, m->text);
	q->post_id = (int64_t)m->post_id;
	api_audit_object_id(q->r.au, m->post_id);
	/* kind and visibility come from the original; placeholders pass the
	 * input check. */
	q->in.kind = KIND_GENERAL;
	q->in.visibility = VIS_ALL;
	q->in.urgent = m->urgent;
	api_vitals_from_wire(m->vitals, &q->in.vitals);
	post_submit(call, q);
}

void
api_retract_post(const struct api_call *call, const void *msg)
{
	const Renkei__V1__RetractPostRequest *m = msg;
	struct post_req *q;
	size_t n = strlen(m->reason);

	if (!api_id_ok(m->post_id))
		return api_refuse(call, RK_ERR_INVALID, "name the post", "post_id");
	if (!care_client_id_valid(m->client_id))
		return api_refuse(call, RK_ERR_INVALID,
		                  "client_id must be 1-64 printable ASCII characters",
		                  "client_id");
	if (rk_text_visible_len(m->reason, n) < CARE_REASON_MIN || n > CARE_TEXT_MAX)
		return api_refuse(call, RK_ERR_INVALID,
		                  "give a reason for the retraction", "reason");
	q = post_req_new(call, OP_RETRACT, m->client_id, m->reason);
	q->post_id = (int64_t)m->post_id;
	api_audit_object_id(q->r.au, m->post_id);
	api_req_write(&q->r);
}
