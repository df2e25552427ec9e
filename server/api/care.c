/*
 * Care requests: patients, posts, timelines, sync, acknowledgements.
 *
 * Each handler checks the request's own fields here, on the service
 * thread (cheap, and bad input never reaches the store), then hands one
 * op to the store:
 *  - writes (post, amend, retract, ack) and sync pages go to the writer,
 *    so that their answers and events follow commit order;
 *  - plain reads (patients, timeline, ack lists) go to the readers.
 * The op's done() answers, then publishes events for what was committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

#define SYNC_DEFAULT 200
#define SYNC_MAX 1000
#define SYNC_BOARDS_MAX 1000

struct policy_actor
api_actor(const struct api_conn *c)
{
	struct policy_actor a = {c->sess->user.id, c->sess->user.profession};
	return a;
}

void
api_post_to_wire(const struct care_post *p, struct api_post_wire *w)
{
	renkei__v1__post__init(&w->post);
	renkei__v1__user__init(&w->author);
	renkei__v1__vitals__init(&w->vitals);
	w->author.login = (char *)p->author_login;
	w->author.display_name = (char *)p->author_name;
	w->author.profession = (Renkei__V1__Profession)p->author_profession;
	w->vitals.temperature_dc = p->vitals.temperature_dc;
	w->vitals.bp_systolic = p->vitals.bp_systolic;
	w->vitals.bp_diastolic = p->vitals.bp_diastolic;
	w->vitals.pulse = p->vitals.pulse;
	w->vitals.spo2 = p->vitals.spo2;
	w->vitals.respiration = p->vitals.respiration;
	w->post.id = (uint64_t)p->id;
	w->post.patient = (char *)p->patient_code;
	w->post.seq = (uint64_t)p->seq;
	w->post.author = &w->author;
	w->post.kind = (Renkei__V1__PostKind)p->kind;
	w->post.visibility = (Renkei__V1__Visibility)p->visibility;
	w->post.urgent = p->urgent;
	w->post.text = p->text ? p->text : (char *)"";
	if (memcmp(&p->vitals, &(struct care_vitals){0}, sizeof(p->vitals)) != 0)
		w->post.vitals = &w->vitals;
	w->post.client_id = (char *)p->client_id;
	w->post.created_at_ms = p->created_ms;
	w->post.amends_post_id = (uint64_t)p->amends_id;
	w->post.amended_by_post_id = (uint64_t)p->amended_by;
	w->post.retracts_post_id = (uint64_t)p->retracts_id;
	w->post.retracted_by_post_id = (uint64_t)p->retracted_by;
	for (size_t i = 0; i < p->natt && i < CARE_ATTACH_MAX; i++) {
		api_attachment_to_wire(&p->att[i], &w->att[i], w->sha_hex[i]);
		w->attp[i] = &w->att[i];
	}
	w->post.n_attachments = p->natt < CARE_ATTACH_MAX ? p->natt : CARE_ATTACH_MAX;
	w->post.attachments = w->attp;
}

/* Answer a page of posts: wire posts live on the heap for the pack. */
static Renkei__V1__Post **
posts_to_wire(const struct care_page *pg, struct api_post_wire **store)
{
	Renkei__V1__Post **v = rk_calloc(pg->n ? pg->n : 1, sizeof(*v));
	*store = rk_calloc(pg->n ? pg->n : 1, sizeof(**store));
	for (size_t i = 0; i < pg->n; i++) {
		api_post_to_wire(&pg->posts[i], &(*store)[i]);
		v[i] = &(*store)[i].post;
	}
	return v;
}

static void
vitals_in(const Renkei__V1__Vitals *w, struct care_vitals *v)
{
	memset(v, 0, sizeof(*v));
	if (w == NULL)
		return;
	v->temperature_dc = w->temperature_dc;
	v->bp_systolic = w->bp_systolic;
	v->bp_diastolic = w->bp_diastolic;
	v->pulse = w->pulse;
	v->spo2 = w->spo2;
	v->respiration = w->respiration;
}

static bool
code_ok(const char *code)
{
	size_t n = strlen(code);
	return n > 0 && n <= CARE_CODE_MAX;
}

static void
set_object_id(struct audit_entry *e, uint64_t id)
{
	char obj[24];
	snprintf(obj, sizeof(obj), "%llu", (unsigned long long)id);
	audit_entry_set_object(e, obj);
}

/* ------------------------------------------------------ posts (writes) */

enum post_op { OP_CREATE, OP_AMEND, OP_RETRACT };

struct post_req {
	struct api_req r;
	struct audit_entry *au;
	int64_t attach[CARE_ATTACH_MAX];
	enum post_op what;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1];
	int64_t post_id;
	char client_id[CARE_CODE_MAX + 1];
	char *text; /* or the retraction's reason */
	struct care_post_input in;
	struct care_post out;
	bool dup;
};

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
		char obj[24];
		snprintf(obj, sizeof(obj), "%lld", (long long)q->out.id);
		audit_entry_set_patient(q->au, q->out.patient_code);
		audit_entry_set_object(q->au, obj);
	}
	return rc;
}

static void
post_done(struct store_op *op, int rc)
{
	struct post_req *q = (struct post_req *)op;
	struct api *api = q->r.api;
	struct api_conn *c = api_req_conn(&q->r);

	if (rc != RK_OK) {
		if (c != NULL) {
			api_send_error(api, c, q->r.request_id, &q->r.st);
		}
		goto out;
	}
	/* Committed: answer the author (if still connected: otherwise a
	 * retry with the same client id finds the post), then publish. */
	if (c != NULL) {
		Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
		Renkei__V1__PostResponse pr = RENKEI__V1__POST_RESPONSE__INIT;
		struct api_post_wire w;
		api_post_to_wire(&q->out, &w);
		pr.post = &w.post;
		pr.duplicate = q->dup;
		env.request_id = q->r.request_id;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE;
		env.post_response = &pr;
		api_send(api, c, &env);
	}
	if (!q->dup) {
		api->stats.posts++;
		api_publish_post(api, &q->out);
	}
out:
	care_post_fini(&q->out);
	free(q->text);
	api_req_fini(&q->r);
	free(q);
}

static struct post_req *
post_req_new(struct api *api, struct api_conn *c, uint64_t rid,
             enum post_op what, const char *client_id, const char *text)
{
	struct post_req *q = rk_calloc(1, sizeof(*q));

	api_req_init(&q->r, api, c, rid);
	q->what = what;
	q->who = api_actor(c);
	snprintf(q->client_id, sizeof(q->client_id), "%s", client_id);
	q->text = rk_strdup(text);
	q->au = api_audit(&q->r, c,
	                  what == OP_CREATE  ? "post.create"
	                  : what == OP_AMEND ? "post.amend"
	                                     : "post.retract",
	                  NULL, NULL);
	q->in.client_id = q->client_id;
	q->in.text = q->text;
	/* Amend and retract check everything, then insert one row. */
	q->r.op.lean = what != OP_CREATE;
	q->r.op.run = post_run;
	q->r.op.done = post_done;
	return q;
}

static void
submit_write(struct api *api, struct api_conn *c, struct api_req *r,
             void (*release)(struct api_req *))
{
	if (store_submit_write(api->store, &r->op) != RK_OK) {
		api_send_error3(api, c, r->request_id, RK_ERR_UNAVAILABLE,
		                "the server is shutting down; try again shortly", NULL);
		release(r);
	}
}

static void
submit_read(struct api *api, struct api_conn *c, struct api_req *r,
            void (*release)(struct api_req *))
{
	if (store_submit_read(api->store, &r->op) != RK_OK) {
		api_send_error3(api, c, r->request_id, RK_ERR_UNAVAILABLE,
		                "the server is shutting down; try again shortly", NULL);
		release(r);
	}
}

static void
post_release(struct api_req *r)
{
	struct post_req *q = (struct post_req *)r;
	free(q->text);
	api_req_fini(r);
	free(q);
}

static void
handle_create(struct api *api, struct api_conn *c, uint64_t rid,
              const Renkei__V1__CreatePostRequest *m)
{
	struct rk_status st = {0};
	struct post_req *q;

	if (!code_ok(m->patient))
		return api_send_error3(api, c, rid, RK_ERR_INVALID,
		                       "name the patient (their code)", "patient");
	q = post_req_new(api, c, rid, OP_CREATE, m->client_id, m->text);
	snprintf(q->code, sizeof(q->code), "%s", m->patient);
	audit_entry_set_patient(q->au, q->code);
	q->in.kind = (int)m->kind;
	q->in.visibility = (int)m->visibility;
	q->in.urgent = m->urgent;
	vitals_in(m->vitals, &q->in.vitals);
	if (m->n_attachment_ids > CARE_ATTACH_MAX) {
		api_send_error3(api, c, rid, RK_ERR_INVALID, "at most 10 photos on one post",
		                "attachment_ids");
		return post_release(&q->r);
	}
	for (size_t i = 0; i < m->n_attachment_ids; i++) {
		if (m->attachment_ids[i] == 0 || m->attachment_ids[i] > INT64_MAX) {
			api_send_error3(api, c, rid, RK_ERR_INVALID, "bad photo id",
			                "attachment_ids");
			return post_release(&q->r);
		}
		q->attach[i] = (int64_t)m->attachment_ids[i];
	}
	q->in.attachments = q->attach;
	q->in.nattachments = m->n_attachment_ids;
	/* Without photos a post checks everything before its first write;
	 * attaching photos can still be refused after the insert. */
	q->r.op.lean = m->n_attachment_ids == 0;
	if (care_post_input_check(&q->in, &st) != RK_OK) {
		api_send_error(api, c, rid, &st);
		return post_release(&q->r);
	}
	submit_write(api, c, &q->r, post_release);
}

static void
handle_amend(struct api *api, struct api_conn *c, uint64_t rid,
             const Renkei__V1__AmendPostRequest *m)
{
	struct rk_status st = {0};
	struct post_req *q;

	if (m->post_id == 0 || m->post_id > INT64_MAX)
		return api_send_error3(api, c, rid, RK_ERR_INVALID, "name the post",
		                       "post_id");
	q = post_req_new(api, c, rid, OP_AMEND, m->client_id, m->text);
	q->post_id = (int64_t)m->post_id;
	set_object_id(q->au, m->post_id);
	/* kind and visibility come from the original; placeholders pass the
	 * input check. */
	q->in.kind = KIND_GENERAL;
	q->in.visibility = VIS_ALL;
	q->in.urgent = m->urgent;
	vitals_in(m->vitals, &q->in.vitals);
	if (care_post_input_check(&q->in, &st) != RK_OK) {
		api_send_error(api, c, rid, &st);
		return post_release(&q->r);
	}
	submit_write(api, c, &q->r, post_release);
}

static void
handle_retract(struct api *api, struct api_conn *c, uint64_t rid,
               const Renkei__V1__RetractPostRequest *m)
{
	struct post_req *q;
	size_t n = strlen(m->reason);

	if (m->post_id == 0 || m->post_id > INT64_MAX)
		return api_send_error3(api, c, rid, RK_ERR_INVALID, "name the post",
		                       "post_id");
	if (!care_client_id_valid(m->client_id))
		return api_send_error3(api, c, rid, RK_ERR_INVALID,
		                       "client_id must be 1-64 printable ASCII characters",
		                       "client_id");
	if (rk_utf8_len(m->reason, n) < CARE_REASON_MIN || n > CARE_TEXT_MAX)
		return api_send_error3(api, c, rid, RK_ERR_INVALID,
		                       "give a reason for the retraction", "reason");
	q = post_req_new(api, c, rid, OP_RETRACT, m->client_id, m->reason);
	q->post_id = (int64_t)m->post_id;
	set_object_id(q->au, m->post_id);
	submit_write(api, c, &q->r, post_release);
}

/* ------------------------------------------------------------------ acks */

struct ack_req {
	struct api_req r;
	struct audit_entry *au;
	struct policy_actor who;
	int64_t post_id;
	int64_t acked_ms;
	bool fresh;
	struct care_post post;
};

static int
ack_run(struct store_conn *sc, struct store_op *op)
{
	struct ack_req *q = (struct ack_req *)op;
	int rc = care_ack(sc, &q->who, q->post_id, rk_now_ms(), &q->acked_ms,
	                  &q->fresh, &q->post, &q->r.st);
	if (rc == RK_OK)
		audit_entry_set_patient(q->au, q->post.patient_code);
	return rc;
}

static void
ack_done(struct store_op *op, int rc)
{
	struct ack_req *q = (struct ack_req *)op;
	struct api *api = q->r.api;
	struct api_conn *c = api_req_conn(&q->r);

	if (rc != RK_OK) {
		if (c != NULL) {
			api_send_error(api, c, q->r.request_id, &q->r.st);
		}
		api_req_fini(&q->r);
		free(q);
		return;
	}
	if (c != NULL) {
		Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
		Renkei__V1__AckResponse ar = RENKEI__V1__ACK_RESPONSE__INIT;
		ar.acked_at_ms = q->acked_ms;
		env.request_id = q->r.request_id;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_ACK_RESPONSE;
		env.ack_response = &ar;
		api_send(api, c, &env);
		/* The team hears of a confirmation once. */
		if (q->fresh)
			api_publish_ack(api, &q->post, &c->sess->user, q->acked_ms);
	}
	care_post_fini(&q->post);
	api_req_fini(&q->r);
	free(q);
}

static void
ack_release(struct api_req *r)
{
	api_req_fini(r);
	free(r);
}

static void
handle_ack(struct api *api, struct api_conn *c, uint64_t rid, uint64_t post_id)
{
	struct ack_req *q;

	if (post_id == 0 || post_id > INT64_MAX)
		return api_send_error3(api, c, rid, RK_ERR_INVALID, "name the post",
		                       "post_id");
	q = rk_calloc(1, sizeof(*q));
	api_req_init(&q->r, api, c, rid);
	q->who = api_actor(c);
	q->post_id = (int64_t)post_id;
	q->au = api_audit(&q->r, c, "post.ack", NULL, NULL);
	set_object_id(q->au, post_id);
	q->r.op.lean = true; /* checks, then one INSERT OR IGNORE */
	q->r.op.run = ack_run;
	q->r.op.done = ack_done;
	submit_write(api, c, &q->r, ack_release);
}

/* ------------------------------------------------------------ ack lists */

struct acklist_req {
	struct api_req r;
	struct audit_entry *au;
	struct policy_actor who;
	int64_t post_id;
	char patient[CARE_CODE_MAX + 1];
	struct care_ack_entry *acked;
	size_t nacked;
	struct care_member *pending;
	size_t npending;
};

static int
acklist_run(struct store_conn *sc, struct store_op *op)
{
	struct acklist_req *q = (struct acklist_req *)op;
	int rc = care_ack_list(sc, &q->who, q->post_id, rk_now_ms(), &q->acked,
	                       &q->nacked, &q->pending, &q->npending, &q->r.st,
	                       q->patient, sizeof(q->patient));
	if (q->patient[0])
		audit_entry_set_patient(q->au, q->patient);
	return rc;
}

static void
member_user(const struct care_member *m, Renkei__V1__User *u,
            Renkei__V1__Organisation *o)
{
	renkei__v1__user__init(u);
	u->login = (char *)m->login;
	u->display_name = (char *)m->display_name;
	u->profession = (Renkei__V1__Profession)m->profession;
	if (m->org_code[0] != '\0') {
		renkei__v1__organisation__init(o);
		o->code = (char *)m->org_code;
		o->name = (char *)m->org_name;
		u->organisation = o;
	}
}

static void
acklist_reply(struct api_req *r, int rc)
{
	struct acklist_req *q = (struct acklist_req *)r;
	struct api *api = q->r.api;
	struct api_conn *c = api_req_conn(&q->r);

	if (c != NULL && rc != RK_OK) {
		api_send_error(api, c, q->r.request_id, &q->r.st);
	} else if (c != NULL) {
		Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
		Renkei__V1__AckListResponse lr = RENKEI__V1__ACK_LIST_RESPONSE__INIT;
		size_t na = q->nacked, np = q->npending;
		Renkei__V1__Ack *acks = rk_calloc(na + 1, sizeof(*acks));
		Renkei__V1__Ack **ackp = rk_calloc(na + 1, sizeof(*ackp));
		Renkei__V1__User *users = rk_calloc(na + np + 1, sizeof(*users));
		Renkei__V1__User **pendp = rk_calloc(np + 1, sizeof(*pendp));
		Renkei__V1__Organisation *orgs = rk_calloc(na + np + 1, sizeof(*orgs));

		for (size_t i = 0; i < na; i++) {
			renkei__v1__ack__init(&acks[i]);
			member_user(&q->acked[i].who, &users[i], &orgs[i]);
			acks[i].user = &users[i];
			acks[i].acked_at_ms = q->acked[i].acked_ms;
			ackp[i] = &acks[i];
		}
		for (size_t i = 0; i < np; i++) {
			member_user(&q->pending[i], &users[na + i], &orgs[na + i]);
			pendp[i] = &users[na + i];
		}
		lr.n_acked = na;
		lr.acked = ackp;
		lr.n_pending = np;
		lr.pending = pendp;
		env.request_id = q->r.request_id;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_ACK_LIST_RESPONSE;
		env.ack_list_response = &lr;
		api_send(api, c, &env);
		free(acks);
		free(ackp);
		free(users);
		free(pendp);
		free(orgs);
	}
	free(q->acked);
	free(q->pending);
	api_req_fini(&q->r);
	free(q);
}

static void
handle_ack_list(struct api *api, struct api_conn *c, uint64_t rid,
                uint64_t post_id)
{
	struct acklist_req *q;

	if (post_id == 0 || post_id > INT64_MAX)
		return api_send_error3(api, c, rid, RK_ERR_INVALID, "name the post",
		                       "post_id");
	q = rk_calloc(1, sizeof(*q));
	api_req_init(&q->r, api, c, rid);
	q->who = api_actor(c);
	q->post_id = (int64_t)post_id;
	{
		char obj[24];
		snprintf(obj, sizeof(obj), "%llu", (unsigned long long)post_id);
		q->au = api_audit(&q->r, c, "post.acks.read", NULL, obj);
	}
	q->r.op.run = acklist_run;
	q->r.reply = acklist_reply;
	q->r.op.done = api_read_done;
	submit_read(api, c, &q->r, ack_release);
}

/* ------------------------------------------------------------- timeline */

struct timeline_req {
	struct api_req r;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1];
	int64_t before, after;
	int limit;
	struct care_page page;
};

static int
timeline_run(struct store_conn *sc, struct store_op *op)
{
	struct timeline_req *q = (struct timeline_req *)op;
	return care_timeline(sc, &q->who, q->code, q->before, q->after, q->limit,
	                     rk_now_ms(), &q->page, &q->r.st);
}

static void
timeline_reply(struct api_req *r, int rc)
{
	struct timeline_req *q = (struct timeline_req *)r;
	struct api *api = q->r.api;
	struct api_conn *c = api_req_conn(&q->r);

	if (c != NULL && rc != RK_OK) {
		api_send_error(api, c, q->r.request_id, &q->r.st);
	} else if (c != NULL) {
		Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
		Renkei__V1__TimelineResponse tr = RENKEI__V1__TIMELINE_RESPONSE__INIT;
		struct api_post_wire *w;
		tr.posts = posts_to_wire(&q->page, &w);
		tr.n_posts = q->page.n;
		tr.more = q->page.more;
		tr.last_seq = (uint64_t)q->page.last_seq;
		env.request_id = q->r.request_id;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE;
		env.timeline_response = &tr;
		api_send(api, c, &env);
		free(tr.posts);
		free(w);
	}
	care_page_fini(&q->page);
	api_req_fini(&q->r);
	free(q);
}

static void
handle_timeline(struct api *api, struct api_conn *c, uint64_t rid,
                const Renkei__V1__TimelineRequest *m)
{
	struct timeline_req *q;

	if (!code_ok(m->patient))
		return api_send_error3(api, c, rid, RK_ERR_INVALID,
		                       "name the patient (their code)", "patient");
	if (m->before_seq > INT64_MAX || m->after_seq > INT64_MAX ||
	    (m->before_seq != 0 && m->after_seq != 0))
		return api_send_error3(api, c, rid, RK_ERR_INVALID,
		                       "give before_seq or after_seq, not both",
		                       "before_seq");
	q = rk_calloc(1, sizeof(*q));
	api_req_init(&q->r, api, c, rid);
	q->who = api_actor(c);
	snprintf(q->code, sizeof(q->code), "%s", m->patient);
	q->before = (int64_t)m->before_seq;
	q->after = (int64_t)m->after_seq;
	q->limit = m->limit > 1000 ? 1000 : (int)m->limit;
	api_audit(&q->r, c, "board.read", q->code, NULL);
	q->r.op.run = timeline_run;
	q->r.reply = timeline_reply;
	q->r.op.done = api_read_done;
	submit_read(api, c, &q->r, ack_release);
}

/* ------------------------------------------------------------- patients */

struct patients_req {
	struct api_req r;
	struct audit_entry *au;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1]; /* "" = list mine */
	struct care_patient *pts;
	size_t n;
	struct care_member *sheet;
	size_t nsheet;
};

static int
patients_run(struct store_conn *sc, struct store_op *op)
{
	struct patients_req *q = (struct patients_req *)op;
	int64_t now = rk_now_ms();

	if (q->code[0] == '\0') {
		int rc = care_patients_mine(sc, &q->who, now, &q->pts, &q->n);
		if (rc != RK_OK)
			rk_fail(&q->r.st, rc, "temporarily unavailable", NULL);
		/* One record per patient shown: the list shows names. */
		for (size_t i = 0; i < q->n; i++) {
			struct audit_entry *e = audit_entry_new(&q->au->ev);
			e->outcome_from_op = true;
			audit_entry_set_patient(e, q->pts[i].code);
			audit_entries_append((struct audit_entry **)&q->r.op.journal, e);
		}
		return rc;
	}
	q->pts = rk_calloc(1, sizeof(*q->pts));
	int rc = care_patient_get(sc, &q->who, q->code, now, q->pts, &q->sheet,
	                          &q->nsheet, &q->r.st);
	if (rc == RK_OK)
		q->n = 1;
	return rc;
}

static void
patient_wire(const struct care_patient *p, Renkei__V1__Patient *w)
{
	renkei__v1__patient__init(w);
	w->code = (char *)p->code;
	w->name = (char *)p->name;
	w->kana = (char *)p->kana;
	w->birth_date = (char *)p->birth_date;
	w->sex = (char *)p->sex;
	w->area = (char *)p->area;
	w->summary = p->summary;
	w->wishes = p->wishes;
	w->last_seq = (uint64_t)p->last_seq;
	w->my_role = (char *)p->my_role;
}

static void
patients_reply(struct api_req *r, int rc)
{
	struct patients_req *q = (struct patients_req *)r;
	struct api *api = q->r.api;
	struct api_conn *c = api_req_conn(&q->r);
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;

	if (c == NULL)
		goto out;
	if (rc != RK_OK) {
		api_send_error(api, c, q->r.request_id, &q->r.st);
		goto out;
	}
	env.request_id = q->r.request_id;
	if (q->code[0] == '\0') {
		Renkei__V1__ListPatientsResponse lr =
			RENKEI__V1__LIST_PATIENTS_RESPONSE__INIT;
		Renkei__V1__Patient *ws = rk_calloc(q->n + 1, sizeof(*ws));
		Renkei__V1__Patient **wp = rk_calloc(q->n + 1, sizeof(*wp));
		for (size_t i = 0; i < q->n; i++) {
			patient_wire(&q->pts[i], &ws[i]);
			wp[i] = &ws[i];
		}
		lr.n_patients = q->n;
		lr.patients = wp;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_RESPONSE;
		env.list_patients_response = &lr;
		api_send(api, c, &env);
		free(ws);
		free(wp);
	} else {
		Renkei__V1__GetPatientResponse gr = RENKEI__V1__GET_PATIENT_RESPONSE__INIT;
		Renkei__V1__Patient pw;
		struct api_sheet_wire w;

		patient_wire(&q->pts[0], &pw);
		api_sheet_to_wire(q->sheet, q->nsheet, &w);
		gr.patient = &pw;
		gr.n_sheet = w.n;
		gr.sheet = w.ptrs;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_RESPONSE;
		env.get_patient_response = &gr;
		api_send(api, c, &env);
		api_sheet_wire_fini(&w);
	}
out:
	care_patients_free(q->pts, q->n ? q->n : (q->pts ? 1 : 0));
	free(q->sheet);
	api_req_fini(&q->r);
	free(q);
}

static void
handle_patients(struct api *api, struct api_conn *c, uint64_t rid,
                const char *code)
{
	struct patients_req *q;

	if (code != NULL && !code_ok(code))
		return api_send_error3(api, c, rid, RK_ERR_INVALID,
		                       "name the patient (their code)", "patient");
	q = rk_calloc(1, sizeof(*q));
	api_req_init(&q->r, api, c, rid);
	q->who = api_actor(c);
	snprintf(q->code, sizeof(q->code), "%s", code ? code : "");
	q->au = api_audit(&q->r, c, code ? "patient.read" : "patient.list",
	                  code ? code : NULL, NULL);
	q->r.op.run = patients_run;
	q->r.reply = patients_reply;
	q->r.op.done = api_read_done;
	submit_read(api, c, &q->r, ack_release);
}

/* ------------------------------------------------------------------ sync */

struct sync_req {
	struct api_req r;
	struct audit_entry *au; /* the first record; a template for others */
	struct policy_actor who;
	char **codes;
	int64_t *since; /* per code: resume after this seq (0 = cursor only) */
	size_t ncodes;
	struct care_board *boards;
	size_t nboards;
	int64_t cursor;
	bool live_only;
	int limit;
	struct care_page page;
	int64_t next_cursor;
};

static int
sync_run(struct store_conn *sc, struct store_op *op)
{
	struct sync_req *q = (struct sync_req *)op;
	sqlite3_stmt *st;
	int64_t now = rk_now_ms(), head = 0;
	int rc;

	rc = care_sync_boards(sc, &q->who, (const char *const *)q->codes, q->ncodes,
	                      now, &q->boards, &q->nboards, &q->r.st);
	if (rc != RK_OK)
		return rc;
	/* "Every board I may read": one record per board, now that they are
	 * known. */
	if (q->ncodes == 0) {
		for (size_t b = 0; b < q->nboards; b++) {
			struct audit_entry *e = audit_entry_new(&q->au->ev);
			e->outcome_from_op = true;
			audit_entry_set_patient(e, q->boards[b].code);
			audit_entries_append((struct audit_entry **)&q->r.op.journal, e);
		}
	}
	/* Per-board resume points, now that the boards are resolved. */
	for (size_t b = 0; b < q->nboards; b++)
		for (size_t i = 0; i < q->ncodes; i++)
			if (q->since[i] > q->boards[b].since_seq &&
			    strcmp(q->codes[i], q->boards[b].code) == 0)
				q->boards[b].since_seq = q->since[i];
	st = store_stmt(sc, "SELECT coalesce(max(id), 0) FROM posts");
	if (st == NULL || store_step(sc, st) != SQLITE_ROW)
		return rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable", NULL);
	head = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (q->live_only) {
		q->next_cursor = head;
		return RK_OK;
	}
	rc = care_sync_page(sc, q->boards, q->nboards, q->cursor, q->limit, &q->page);
	if (rc != RK_OK)
		return rk_fail(&q->r.st, rc, "temporarily unavailable", NULL);
	/* Not more: everything up to the current head is delivered (what was
	 * skipped was not for this user), so resume from the head. */
	if (q->page.more)
		q->next_cursor = q->page.posts[q->page.n - 1].id;
	else
		q->next_cursor = head > q->cursor ? head : q->cursor;
	return RK_OK;
}

static void
sync_free(struct sync_req *q)
{
	for (size_t i = 0; i < q->ncodes; i++)
		free(q->codes[i]);
	free(q->codes);
	free(q->since);
	free(q->boards);
	care_page_fini(&q->page);
	api_req_fini(&q->r);
	free(q);
}

static void
sync_done(struct store_op *op, int rc)
{
	struct sync_req *q = (struct sync_req *)op;
	struct api *api = q->r.api;
	struct api_conn *c = api_req_conn(&q->r);

	if (c == NULL)
		goto out;
	c->syncing = false;
	if (rc != RK_OK) {
		api_send_error(api, c, q->r.request_id, &q->r.st);
		goto out;
	}
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SyncResponse sr = RENKEI__V1__SYNC_RESPONSE__INIT;
	struct api_post_wire *w;
	char **codes = rk_calloc(q->nboards + 1, sizeof(*codes));

	for (size_t i = 0; i < q->nboards; i++)
		codes[i] = q->boards[i].code;
	sr.posts = posts_to_wire(&q->page, &w);
	sr.n_posts = q->page.n;
	sr.cursor = (uint64_t)q->next_cursor;
	sr.more = q->page.more;
	sr.n_patients = q->nboards;
	sr.patients = codes;
	env.request_id = q->r.request_id;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE;
	env.sync_response = &sr;
	api_send(api, c, &env);
	free(sr.posts);
	free(w);
	free(codes);
	/* The last page makes the connection live: this done() runs after
	 * every commit the page saw and before every later one. */
	if (!q->page.more)
		api_sub_set(api, c, q->boards, q->nboards);
out:
	sync_free(q);
}

static void
sync_release(struct api_req *r)
{
	sync_free((struct sync_req *)r);
}

static void
handle_sync(struct api *api, struct api_conn *c, uint64_t rid,
            const Renkei__V1__SyncRequest *m)
{
	struct sync_req *q;

	if (m->n_patients > SYNC_BOARDS_MAX || m->n_boards > SYNC_BOARDS_MAX)
		return api_send_error3(api, c, rid, RK_ERR_INVALID,
		                       "too many boards in one request", "patients");
	if (m->cursor > INT64_MAX)
		return api_send_error3(api, c, rid, RK_ERR_INVALID, "bad cursor",
		                       "cursor");
	for (size_t i = 0; i < m->n_patients; i++)
		if (!code_ok(m->patients[i]))
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "name each patient by code", "patients");
	for (size_t i = 0; i < m->n_boards; i++)
		if (!code_ok(m->boards[i]->patient) ||
		    m->boards[i]->since_seq > INT64_MAX)
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "each board cursor names a patient",
			                       "boards");
	if (c->syncing)
		return api_send_error3(api, c, rid, RK_ERR_PRECONDITION,
		                       "a sync is already in progress on this connection",
		                       NULL);
	q = rk_calloc(1, sizeof(*q));
	api_req_init(&q->r, api, c, rid);
	q->who = api_actor(c);
	/* Boards named by a cursor are watched too. */
	q->codes = rk_calloc(m->n_patients + m->n_boards + 1, sizeof(*q->codes));
	q->since = rk_calloc(m->n_patients + m->n_boards + 1, sizeof(*q->since));
	for (size_t i = 0; i < m->n_patients; i++)
		q->codes[q->ncodes++] = rk_strdup(m->patients[i]);
	for (size_t i = 0; i < m->n_boards; i++) {
		q->since[q->ncodes] = (int64_t)m->boards[i]->since_seq;
		q->codes[q->ncodes++] = rk_strdup(m->boards[i]->patient);
	}
	/* One record per board named (or one for "all my boards", the
	 * template for those found then). */
	for (size_t i = 0; i < q->ncodes || (i == 0 && q->ncodes == 0); i++) {
		struct audit_entry *e =
			api_audit(&q->r, c, "board.sync", q->ncodes ? q->codes[i] : NULL,
			          NULL);
		if (i == 0)
			q->au = e;
	}
	q->cursor = (int64_t)m->cursor;
	q->live_only = m->live_only;
	q->limit = m->limit == 0 ? SYNC_DEFAULT
	                         : (m->limit > SYNC_MAX ? SYNC_MAX : (int)m->limit);
	q->r.op.lean = true; /* reads only */
	q->r.op.run = sync_run;
	q->r.op.done = sync_done;
	/* Stop live delivery while paging: the pages carry everything, and
	 * the last one switches the connection back to live. */
	api_sub_clear(api, c);
	c->syncing = true;
	if (store_submit_write(api->store, &q->r.op) != RK_OK) {
		c->syncing = false;
		api_send_error3(api, c, rid, RK_ERR_UNAVAILABLE,
		                "the server is shutting down; try again shortly", NULL);
		sync_release(&q->r);
	}
}

/* ------------------------------------------------------------ sheet wire */

void
api_sheet_to_wire(const struct care_member *m, size_t n,
                  struct api_sheet_wire *w)
{
	w->n = n;
	w->ms = rk_calloc(n + 1, sizeof(*w->ms));
	w->ptrs = rk_calloc(n + 1, sizeof(*w->ptrs));
	w->users = rk_calloc(n + 1, sizeof(*w->users));
	w->orgs = rk_calloc(n + 1, sizeof(*w->orgs));
	w->dates = rk_calloc(n + 1, sizeof(*w->dates));
	for (size_t i = 0; i < n; i++) {
		renkei__v1__sheet_member__init(&w->ms[i]);
		member_user(&m[i], &w->users[i], &w->orgs[i]);
		w->ms[i].user = &w->users[i];
		w->ms[i].team_role = (char *)m[i].team_role;
		w->ms[i].primary = m[i].primary;
		w->ms[i].read_only = m[i].read_only;
		w->ms[i].contact = (char *)m[i].contact;
		care_ms_to_date(m[i].valid_from_ms, w->dates[i][0]);
		care_ms_to_date(m[i].valid_until_ms ? m[i].valid_until_ms - 1 : 0,
		                w->dates[i][1]);
		w->ms[i].valid_from = w->dates[i][0];
		w->ms[i].valid_until = w->dates[i][1];
		w->ptrs[i] = &w->ms[i];
	}
}

void
api_sheet_wire_fini(struct api_sheet_wire *w)
{
	free(w->ms);
	free(w->ptrs);
	free(w->users);
	free(w->orgs);
	free(w->dates);
}

/* -------------------------------------------------------------- dispatch */

void
api_handle_care(struct api *api, struct api_conn *c,
                const Renkei__V1__Envelope *env)
{
	uint64_t rid = env->request_id;

	switch (env->body_case) {
	case RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_REQUEST:
		return handle_patients(api, c, rid, NULL);
	case RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_REQUEST:
		return handle_patients(api, c, rid, env->get_patient_request->patient);
	case RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST:
		return handle_create(api, c, rid, env->create_post_request);
	case RENKEI__V1__ENVELOPE__BODY_AMEND_POST_REQUEST:
		return handle_amend(api, c, rid, env->amend_post_request);
	case RENKEI__V1__ENVELOPE__BODY_RETRACT_POST_REQUEST:
		return handle_retract(api, c, rid, env->retract_post_request);
	case RENKEI__V1__ENVELOPE__BODY_TIMELINE_REQUEST:
		return handle_timeline(api, c, rid, env->timeline_request);
	case RENKEI__V1__ENVELOPE__BODY_SYNC_REQUEST:
		return handle_sync(api, c, rid, env->sync_request);
	case RENKEI__V1__ENVELOPE__BODY_ACK_REQUEST:
		return handle_ack(api, c, rid, env->ack_request->post_id);
	case RENKEI__V1__ENVELOPE__BODY_ACK_LIST_REQUEST:
		return handle_ack_list(api, c, rid, env->ack_list_request->post_id);
	case RENKEI__V1__ENVELOPE__BODY_UPLOAD_BEGIN_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_UPLOAD_CHUNK_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_ATTACHMENT_GET_REQUEST:
		return api_handle_attach(api, c, env);
	default:
		api_handle_sheet(api, c, env);
	}
}
