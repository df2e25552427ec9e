/*
 * Addressed posts and requests (宛先・依頼; docs/requests.md): the inbox,
 * marking a request done, and the scan that finds requests past due.
 *
 * Addressing itself is part of CreatePost (posts.c, care/request.c); a
 * confirmation (確認) is an ack (acks.c). The scan runs from api_tick
 * only when a due time has come: api->requests_due_ms is the earliest one
 * not yet found, learnt from each scan and from each new request, so
 * that an idle server writes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/notice.h"
#include "api/reply.h"
#include "api/sub.h"
#include "api/wire.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

#define INBOX_LIMIT_DEFAULT 100
#define INBOX_LIMIT_MAX 500
#define OVERDUE_SCAN_MAX 100 /* per scan; the next tick takes the rest */

/* ---------------------------------------------------------------- inbox */

struct inbox_req {
	struct api_req r;
	struct policy_actor who;
	int limit;
	struct care_inbox box;
};

static void
inbox_fini(struct api_req *r)
{
	care_inbox_fini(&((struct inbox_req *)r)->box);
}

/* One audit record per patient whose posts the inbox shows (as a patient
 * list has), beside the request's own. */
static void
inbox_records(struct inbox_req *q, const struct care_post *posts, size_t n,
              const char **seen, size_t *nseen)
{
	for (size_t i = 0; i < n; i++) {
		struct audit_entry *e;
		size_t j;
		for (j = 0; j < *nseen; j++)
			if (strcmp(seen[j], posts[i].patient_code) == 0)
				break;
		if (j < *nseen)
			continue;
		seen[(*nseen)++] = posts[i].patient_code;
		e = audit_entry_new(&q->r.au->ev);
		e->outcome_from_op = true;
		audit_entry_set_patient(e, posts[i].patient_code);
		audit_entries_append((struct audit_entry **)&q->r.op.journal, e);
	}
}

static int
inbox_run(struct store_conn *sc, struct store_op *op)
{
	struct inbox_req *q = (struct inbox_req *)op;
	struct care_inbox *b = &q->box;
	const char **seen;
	size_t nseen = 0;
	int rc = care_inbox(sc, &q->who, rk_now_ms(), q->limit, b, &q->r.st);

	if (rc != RK_OK)
		return rc;
	seen = rk_calloc(b->naddressed + b->nrequests + b->noverdue + 1, sizeof(*seen));
	inbox_records(q, b->addressed, b->naddressed, seen, &nseen);
	inbox_records(q, b->requests, b->nrequests, seen, &nseen);
	inbox_records(q, b->overdue, b->noverdue, seen, &nseen);
	free(seen);
	return RK_OK;
}

static void
inbox_ok(struct api_req *r, struct api_conn *c)
{
	struct inbox_req *q = (struct inbox_req *)r;
	Renkei__V1__InboxResponse ir = RENKEI__V1__INBOX_RESPONSE__INIT;
	struct care_page pa = {q->box.addressed, q->box.naddressed, false, 0};
	struct care_page pr = {q->box.requests, q->box.nrequests, false, 0};
	struct care_page po = {q->box.overdue, q->box.noverdue, false, 0};
	struct api_posts_wire wa, wr, wo;

	api_posts_to_wire(&pa, &wa);
	api_posts_to_wire(&pr, &wr);
	api_posts_to_wire(&po, &wo);
	ir.n_addressed = wa.n;
	ir.addressed = wa.ptrs;
	ir.n_requests = wr.n;
	ir.requests = wr.ptrs;
	ir.n_overdue = wo.n;
	ir.overdue = wo.ptrs;
	ir.more = q->box.more;
	api_reply(r->api, c, r->request_id, RENKEI__V1__ENVELOPE__BODY_INBOX_RESPONSE,
	          &ir);
	api_posts_wire_fini(&wa);
	api_posts_wire_fini(&wr);
	api_posts_wire_fini(&wo);
}

void
api_inbox(const struct api_call *call, const void *msg)
{
	const Renkei__V1__InboxRequest *m = msg;
	struct inbox_req *q;

	if (m->limit > INBOX_LIMIT_MAX)
		return api_refuse(call, RK_ERR_INVALID, "limit is at most 500", "limit");
	q = api_req_new(sizeof(*q), call);
	q->who = api_actor(call->c);
	q->limit = m->limit ? (int)m->limit : INBOX_LIMIT_DEFAULT;
	q->r.op.run = inbox_run;
	q->r.ok = inbox_ok;
	q->r.fini = inbox_fini;
	api_req_read(&q->r);
}

/* --------------------------------------------------------- request done */

struct done_req {
	struct api_req r;
	struct policy_actor who;
	int64_t post_id;
	int64_t done_ms;
	bool fresh;
	struct care_post post;
};

static void
done_fini(struct api_req *r)
{
	care_post_fini(&((struct done_req *)r)->post);
}

static int
done_run(struct store_conn *sc, struct store_op *op)
{
	struct done_req *q = (struct done_req *)op;
	int rc = care_request_done(sc, &q->who, q->post_id, rk_now_ms(), &q->done_ms,
	                           &q->fresh, &q->post, &q->r.st);
	return api_req_found(&q->r, rc, q->post.patient_code);
}

static void
done_ok(struct api_req *r, struct api_conn *c)
{
	struct done_req *q = (struct done_req *)r;
	Renkei__V1__RequestDoneResponse dr = RENKEI__V1__REQUEST_DONE_RESPONSE__INIT;

	if (c == NULL)
		return;
	dr.done_at_ms = q->done_ms;
	dr.already = !q->fresh;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_REQUEST_DONE_RESPONSE, &dr);
	if (q->fresh)
		api_publish_request(r->api, &q->post, &c->sess->user);
}

void
api_request_done(const struct api_call *call, const void *msg)
{
	const Renkei__V1__RequestDoneRequest *m = msg;
	struct done_req *q;

	if (!api_id_ok(m->post_id))
		return api_refuse(call, RK_ERR_INVALID, "name the post", "post_id");
	q = api_req_new(sizeof(*q), call);
	q->who = api_actor(call->c);
	q->post_id = (int64_t)m->post_id;
	api_audit_object_id(q->r.au, m->post_id);
	q->r.op.lean = true; /* checks, then one UPDATE */
	q->r.op.run = done_run;
	q->r.ok = done_ok;
	q->r.fini = done_fini;
	api_req_write(&q->r);
}

/* -------------------------------------------------------- overdue scan */

struct scan_op {
	struct store_op op;
	struct api *api;
	int64_t now_ms, next_ms;
	struct care_post *posts;
	size_t n;
	bool more;
};

static int
scan_run(struct store_conn *sc, struct store_op *op)
{
	struct scan_op *s = (struct scan_op *)op;
	return care_requests_overdue(sc, s->now_ms, OVERDUE_SCAN_MAX, &s->posts, &s->n,
	                             &s->more, &s->next_ms);
}

static void
scan_done(struct store_op *op, int rc)
{
	struct scan_op *s = (struct scan_op *)op;
	struct api *api = s->api;

	api->requests_busy = false;
	if (rc != RK_OK) {
		/* Try again at the next tick. */
		LOG_W("REQUESTS", "overdue scan failed: %s", rk_strerror(rc));
		api_requests_due(api, s->now_ms);
	} else {
		/* Requests stored meanwhile have said when they are due too. */
		if (s->more)
			api_requests_due(api, s->now_ms);
		else if (s->next_ms != 0)
			api_requests_due(api, s->next_ms);
		for (size_t i = 0; i < s->n; i++) {
			const struct care_post *p = &s->posts[i];
			api->stats.requests_overdue++;
			api_publish_request(api, p, NULL);
			api_notice_users(api, p->patient_id, p->id, &p->author_id, 1,
			                 API_NOTICE_OVERDUE, false);
		}
	}
	care_posts_free(s->posts, s->n);
	free(s);
}

void
api_requests_due(struct api *api, int64_t due_ms)
{
	if (api->requests_due_ms == 0 || due_ms < api->requests_due_ms)
		api->requests_due_ms = due_ms;
}

void
api_requests_tick(struct api *api, int64_t now_ms)
{
	struct scan_op *s;

	if (api->requests_busy || api->shutting_down || api->requests_due_ms == 0 ||
	    api->requests_due_ms > now_ms)
		return;
	s = rk_calloc(1, sizeof(*s));
	s->op.run = scan_run;
	s->op.done = scan_done;
	s->api = api;
	s->now_ms = now_ms;
	if (store_submit_write(api->store, &s->op) != RK_OK) {
		free(s);
		return; /* the queue is full: the next tick tries again */
	}
	api->requests_busy = true;
	/* Found by this scan or learnt again from its answer. */
	api->requests_due_ms = 0;
}
