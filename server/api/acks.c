/*
 * Acknowledgements (確認): confirm a post, and who has and has not.
 *
 * An ack is a lean write (checks, then one INSERT OR IGNORE); the team
 * hears of a confirmation once, when it is fresh. The list is a read.
 */
#include <stdlib.h>

#include "api/dispatch.h"
#include "api/oncall.h"
#include "api/record.h"
#include "api/reply.h"
#include "api/sub.h"
#include "api/wire.h"
#include "util/mem.h"
#include "util/text.h"

/* What both verbs start with: the one post they name. */
struct on_post {
	struct api_req r;
	struct policy_actor who;
	int64_t post_id;
};

/* Check the post id and open a request of `size` bytes on it; NULL if
 * refused. */
static void *
on_post_new(const struct api_call *call, size_t size, uint64_t post_id)
{
	struct on_post *p;

	if (!api_id_ok(post_id)) {
		api_refuse(call, RK_ERR_INVALID, "name the post", "post_id");
		return NULL;
	}
	p = api_req_new(size, call);
	p->who = api_req_actor(&p->r, call->c);
	p->post_id = (int64_t)post_id;
	api_audit_object_id(p->r.au, post_id);
	return p;
}

struct ack_req {
	struct on_post p;
	int64_t acked_ms;
	bool fresh;
	struct care_post post;
	bool stopped; /* this confirmation stopped an escalation */
	struct care_escalation_step stop;
};

static void
ack_fini(struct api_req *r)
{
	struct ack_req *q = (struct ack_req *)r;

	care_post_fini(&q->post);
	free(q->stop.user_ids);
	care_post_fini(&q->stop.event);
}

static int
ack_run(struct store_conn *sc, struct store_op *op)
{
	struct ack_req *q = (struct ack_req *)op;
	int64_t now = rk_now_ms();
	int rc = care_ack(sc, &q->p.who, q->p.post_id, now, &q->acked_ms,
	                  &q->fresh, &q->post, &q->p.r.st);

	/* The first confirmation that counts stops the post's escalation,
	 * in the ack's own transaction (docs/oncall.md). */
	if (rc == RK_OK && q->fresh &&
	    (care_escalation_ack(sc, &q->p.who, q->p.post_id, now, &q->stopped,
	                         &q->stop) != RK_OK ||
	     (q->stopped && api_escalate_records(&op->journal, q->p.r.au,
	                                         &q->stop) != RK_OK)))
		rc = rk_fail(&q->p.r.st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return api_req_found(&q->p.r, rc, q->post.patient_code);
}

static void
ack_ok(struct api_req *r, struct api_conn *c)
{
	struct ack_req *q = (struct ack_req *)r;
	Renkei__V1__AckResponse ar = RENKEI__V1__ACK_RESPONSE__INIT;

	/* Committed: the board hears the escalation stopped, answer or not. */
	if (q->stopped)
		api_escalate_publish(r->api, &q->stop);
	if (c == NULL)
		return;
	ar.acked_at_ms = q->acked_ms;
	api_reply(r->api, c, r->request_id, RENKEI__V1__ENVELOPE__BODY_ACK_RESPONSE,
	          &ar);
	if (q->fresh)
		api_publish_ack(r->api, &q->post, &c->sess->user, q->acked_ms);
}

void
api_ack(const struct api_call *call, const void *msg)
{
	const Renkei__V1__AckRequest *m = msg;
	struct ack_req *q = on_post_new(call, sizeof(*q), m->post_id);

	if (q == NULL)
		return;
	q->p.r.op.lean = true; /* checks, then one INSERT OR IGNORE */
	q->p.r.op.run = ack_run;
	q->p.r.ok = ack_ok;
	q->p.r.fini = ack_fini;
	api_req_write(&q->p.r);
}

/* ------------------------------------------------------------ ack lists */

struct acklist_req {
	struct on_post p;
	char patient[CARE_CODE_MAX + 1];
	struct care_ack_entry *acked;
	size_t nacked;
	struct care_member *pending;
	size_t npending;
};

static void
acklist_fini(struct api_req *r)
{
	struct acklist_req *q = (struct acklist_req *)r;
	free(q->acked);
	free(q->pending);
}

static int
acklist_run(struct store_conn *sc, struct store_op *op)
{
	struct acklist_req *q = (struct acklist_req *)op;
	int rc = care_ack_list(sc, &q->p.who, q->p.post_id, rk_now_ms(), &q->acked,
	                       &q->nacked, &q->pending, &q->npending, &q->p.r.st,
	                       q->patient, sizeof(q->patient));
	/* Named even when refused, once the post's board is known. */
	if (q->patient[0])
		audit_entry_set_patient(q->p.r.au, q->patient);
	return rc;
}

static void
acklist_ok(struct api_req *r, struct api_conn *c)
{
	struct acklist_req *q = (struct acklist_req *)r;
	Renkei__V1__AckListResponse lr = RENKEI__V1__ACK_LIST_RESPONSE__INIT;
	size_t na = q->nacked, np = q->npending;
	Renkei__V1__Ack *acks, **ackp;
	Renkei__V1__User *users, **pendp;
	Renkei__V1__Organisation *orgs;

	acks = rk_calloc(na + 1, sizeof(*acks));
	ackp = rk_calloc(na + 1, sizeof(*ackp));
	users = rk_calloc(na + np + 1, sizeof(*users));
	pendp = rk_calloc(np + 1, sizeof(*pendp));
	orgs = rk_calloc(na + np + 1, sizeof(*orgs));
	for (size_t i = 0; i < na; i++) {
		renkei__v1__ack__init(&acks[i]);
		api_member_to_wire(&q->acked[i].who, &users[i], &orgs[i], true);
		acks[i].user = &users[i];
		acks[i].acked_at_ms = q->acked[i].acked_ms;
		ackp[i] = &acks[i];
	}
	for (size_t i = 0; i < np; i++) {
		api_member_to_wire(&q->pending[i], &users[na + i], &orgs[na + i], true);
		pendp[i] = &users[na + i];
	}
	lr.n_acked = na;
	lr.acked = ackp;
	lr.n_pending = np;
	lr.pending = pendp;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_ACK_LIST_RESPONSE, &lr);
	free(acks);
	free(ackp);
	free(users);
	free(pendp);
	free(orgs);
}

void
api_ack_list(const struct api_call *call, const void *msg)
{
	const Renkei__V1__AckListRequest *m = msg;
	struct acklist_req *q = on_post_new(call, sizeof(*q), m->post_id);

	if (q == NULL)
		return;
	q->p.r.op.run = acklist_run;
	q->p.r.ok = acklist_ok;
	q->p.r.fini = acklist_fini;
	api_req_read(&q->p.r);
}
