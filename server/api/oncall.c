/*
 * On-call (docs/oncall.md): a patient's call order, an organisation's
 * on-call rota, and what GetPatientResponse tells of both.
 *
 * SetCallOrderRequest and OnCallSetRequest are writes; OnCallShowRequest
 * a read. Each checks its own fields here (shape, lengths), the domain
 * (care/oncall.c) decides who may and whether the logins fit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/oncall.h"
#include "api/record.h"
#include "api/reply.h"
#include "api/sub.h"
#include "api/wire.h"
#include "care/oncall.h"
#include "util/mem.h"
#include "util/text.h"

/* ------------------------------------------------------------------ wire */

void
api_calls_to_wire(const struct care_call *calls, size_t n,
                  struct api_calls_wire *w)
{
	size_t nslots = 0;

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < n; i++)
		if (i == 0 || calls[i].slot != calls[i - 1].slot)
			nslots++;
	w->slots = rk_calloc(nslots + 1, sizeof(*w->slots));
	w->ptrs = rk_calloc(nslots + 1, sizeof(*w->ptrs));
	w->users = rk_calloc(n + 1, sizeof(*w->users));
	w->orgs = rk_calloc(n + 1, sizeof(*w->orgs));
	w->uptrs = rk_calloc(n + 1, sizeof(*w->uptrs));
	for (size_t i = 0, s = 0; i < n; i++) {
		if (i == 0 || calls[i].slot != calls[i - 1].slot) {
			s = w->n++;
			renkei__v1__call_slot__init(&w->slots[s]);
			w->slots[s].slot = (uint32_t)calls[i].slot;
			w->slots[s].members = &w->uptrs[i];
			w->ptrs[s] = &w->slots[s];
		}
		api_member_to_wire(&calls[i].m, &w->users[i], &w->orgs[i], true);
		w->uptrs[i] = &w->users[i];
		w->slots[s].n_members++;
	}
}

void
api_calls_wire_fini(struct api_calls_wire *w)
{
	free(w->slots);
	free(w->ptrs);
	free(w->users);
	free(w->orgs);
	free(w->uptrs);
}

void
api_rota_to_wire(const struct care_rota_entry *e, size_t n,
                 struct api_rota_wire *w)
{
	w->n = n;
	w->es = rk_calloc(n + 1, sizeof(*w->es));
	w->ptrs = rk_calloc(n + 1, sizeof(*w->ptrs));
	w->users = rk_calloc(n + 1, sizeof(*w->users));
	w->orgs = rk_calloc(n + 1, sizeof(*w->orgs));
	for (size_t i = 0; i < n; i++) {
		renkei__v1__on_call_entry__init(&w->es[i]);
		w->es[i].id = (uint64_t)e[i].id;
		w->es[i].org = (char *)e[i].org_code;
		api_member_to_wire(&e[i].user, &w->users[i], &w->orgs[i], true);
		w->es[i].user = &w->users[i];
		w->es[i].start_at_ms = e[i].start_ms;
		w->es[i].end_at_ms = e[i].end_ms;
		w->es[i].set_by = (char *)e[i].set_by;
		w->es[i].removed_at_ms = e[i].removed_ms;
		w->ptrs[i] = &w->es[i];
	}
}

void
api_rota_wire_fini(struct api_rota_wire *w)
{
	free(w->es);
	free(w->ptrs);
	free(w->users);
	free(w->orgs);
}

int
api_patient_oncall_load(struct store_conn *sc, int64_t patient_id,
                        int64_t now_ms, struct care_member *sheet,
                        size_t nsheet, struct care_call **calls,
                        size_t *ncalls, struct care_rota_entry **duty,
                        size_t *nduty)
{
	if (care_callorder_load(sc, patient_id, calls, ncalls) != RK_OK)
		return RK_ERR_STORE;
	if (care_oncall_for_patient(sc, patient_id, now_ms, duty, nduty) != RK_OK) {
		free(*calls);
		*calls = NULL;
		*ncalls = 0;
		return RK_ERR_STORE;
	}
	for (size_t i = 0; i < nsheet; i++) {
		for (size_t k = 0; k < *ncalls; k++)
			if ((*calls)[k].m.user_id == sheet[i].user_id)
				sheet[i].call_slot = (*calls)[k].slot;
		for (size_t k = 0; k < *nduty; k++)
			if ((*duty)[k].user.user_id == sheet[i].user_id)
				sheet[i].on_call = true;
	}
	return RK_OK;
}

/* ------------------------------------------------------------ call order */

struct callorder_req {
	struct api_req r;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1];
	size_t nslots;
	size_t per_slot[CARE_CALL_SLOTS_MAX];
	const char *logins[CARE_CALL_SLOTS_MAX * CARE_CALL_SLOT_PEOPLE_MAX];
	struct care_call *out;
	size_t nout;
	int64_t patient_id;
};

static void
callorder_fini(struct api_req *r)
{
	free(((struct callorder_req *)r)->out);
}

static int
callorder_run(struct store_conn *sc, struct store_op *op)
{
	struct callorder_req *q = (struct callorder_req *)op;

	return care_callorder_set(sc, &q->who, q->code, q->per_slot, q->nslots,
	                          q->logins, rk_now_ms(), &q->out, &q->nout,
	                          &q->patient_id, &q->r.st);
}

static void
callorder_ok(struct api_req *r, struct api_conn *c)
{
	struct callorder_req *q = (struct callorder_req *)r;
	Renkei__V1__SetCallOrderResponse sr = RENKEI__V1__SET_CALL_ORDER_RESPONSE__INIT;
	struct api_calls_wire w;

	if (c == NULL)
		return;
	api_calls_to_wire(q->out, q->nout, &w);
	sr.n_call_order = w.n;
	sr.call_order = w.ptrs;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_SET_CALL_ORDER_RESPONSE, &sr);
	api_calls_wire_fini(&w);
}

void
api_set_call_order(const struct api_call *call, const void *msg)
{
	const Renkei__V1__SetCallOrderRequest *m = msg;
	struct callorder_req *q;
	size_t k = 0;

	if (!api_patient_named(call, m->patient))
		return;
	if (m->n_slots > CARE_CALL_SLOTS_MAX)
		return api_refuse(call, RK_ERR_INVALID, "at most 8 call slots", "slots");
	for (size_t s = 0; s < m->n_slots; s++) {
		if (m->slots[s]->n_logins == 0)
			return api_refuse(call, RK_ERR_INVALID,
			                  care_callorder_msg(CARE_CALL_EMPTY, s + 1), "slots");
		if (m->slots[s]->n_logins > CARE_CALL_SLOT_PEOPLE_MAX)
			return api_refuse(call, RK_ERR_INVALID,
			                  care_callorder_msg(CARE_CALL_CROWDED, s + 1),
			                  "slots");
	}
	q = api_req_new(sizeof(*q), call);
	q->who = api_req_actor(&q->r, call->c);
	snprintf(q->code, sizeof(q->code), "%s", m->patient);
	audit_entry_set_patient(q->r.au, q->code);
	q->nslots = m->n_slots;
	for (size_t s = 0; s < m->n_slots; s++) {
		q->per_slot[s] = m->slots[s]->n_logins;
		for (size_t i = 0; i < m->slots[s]->n_logins; i++)
			q->logins[k++] = api_req_strdup(&q->r, m->slots[s]->logins[i]);
	}
	q->r.op.run = callorder_run;
	q->r.ok = callorder_ok;
	q->r.fini = callorder_fini;
	api_req_write(&q->r);
}

/* ------------------------------------------------------------------ rota */

struct rota_req {
	struct api_req r;
	struct policy_actor who;
	char org[CARE_CODE_MAX + 1];
	bool set;
	const char *login;
	int64_t start_ms, end_ms, remove_id, since_ms;
	struct care_rota_entry *out;
	size_t nout;
	struct care_rota_entry one;
	struct care_access_change *changes; /* after a removal */
	size_t nchanges;
};

static void
rota_fini(struct api_req *r)
{
	free(((struct rota_req *)r)->out);
	free(((struct rota_req *)r)->changes);
}

static int
rota_run(struct store_conn *sc, struct store_op *op)
{
	struct rota_req *q = (struct rota_req *)op;
	int64_t now = rk_now_ms();
	int rc;

	if (!q->set)
		return care_rota_list(sc, &q->who, q->org, q->since_ms ? q->since_ms : now,
		                      &q->out, &q->nout, &q->r.st);
	rc = care_rota_set(sc, &q->who, q->org, q->login, q->start_ms, q->end_ms,
	                   q->remove_id, now, &q->one, &q->r.st);
	if (rc == RK_OK) {
		char why[200];
		api_audit_object_id(q->r.au, (uint64_t)q->one.id);
		/* Whose shift, for whom, when: what an auditor asks first. */
		snprintf(why, sizeof(why), "%s %s for %s %lld..%lld",
		         q->remove_id ? "removed" : "on call", q->one.user.login,
		         q->one.org_code, (long long)q->one.start_ms,
		         (long long)q->one.end_ms);
		audit_entry_set_reason(q->r.au, why);
	}
	/* A removed shift ends live delivery now, as a sheet change does. */
	if (rc == RK_OK && q->remove_id != 0 &&
	    care_rota_access_changes(sc, q->one.user.user_id, q->one.org_code, now,
	                             &q->changes, &q->nchanges) != RK_OK)
		rc = rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return rc;
}

static void
rota_ok(struct api_req *r, struct api_conn *c)
{
	struct rota_req *q = (struct rota_req *)r;
	struct api_rota_wire w;

	for (size_t i = 0; i < q->nchanges; i++)
		api_sub_access(r->api, &q->changes[i]);
	if (c == NULL)
		return;
	if (q->set) {
		Renkei__V1__OnCallSetResponse sr = RENKEI__V1__ON_CALL_SET_RESPONSE__INIT;
		api_rota_to_wire(&q->one, 1, &w);
		sr.entry = w.ptrs[0];
		api_reply(r->api, c, r->request_id,
		          RENKEI__V1__ENVELOPE__BODY_ON_CALL_SET_RESPONSE, &sr);
	} else {
		Renkei__V1__OnCallShowResponse sr = RENKEI__V1__ON_CALL_SHOW_RESPONSE__INIT;
		api_rota_to_wire(q->out, q->nout, &w);
		sr.n_entries = w.n;
		sr.entries = w.ptrs;
		api_reply(r->api, c, r->request_id,
		          RENKEI__V1__ENVELOPE__BODY_ON_CALL_SHOW_RESPONSE, &sr);
	}
	api_rota_wire_fini(&w);
}

static struct rota_req *
rota_req_new(const struct api_call *call, const char *org, bool set)
{
	struct rota_req *q;

	if (org[0] == '\0' || strlen(org) > CARE_CODE_MAX) {
		api_refuse(call, RK_ERR_INVALID, "name the organisation (its code)", "org");
		return NULL;
	}
	q = api_req_new(sizeof(*q), call);
	q->who = api_actor(call->c);
	q->set = set;
	snprintf(q->org, sizeof(q->org), "%s", org);
	q->r.op.run = rota_run;
	q->r.ok = rota_ok;
	q->r.fini = rota_fini;
	return q;
}

void
api_oncall_show(const struct api_call *call, const void *msg)
{
	const Renkei__V1__OnCallShowRequest *m = msg;
	struct rota_req *q;

	if (m->since_ms < 0)
		return api_refuse(call, RK_ERR_INVALID, "since_ms must not be negative",
		                  "since_ms");
	if ((q = rota_req_new(call, m->org, false)) == NULL)
		return;
	audit_entry_set_object(q->r.au, q->org);
	q->since_ms = m->since_ms;
	api_req_read(&q->r);
}

void
api_oncall_set(const struct api_call *call, const void *msg)
{
	const Renkei__V1__OnCallSetRequest *m = msg;
	struct rota_req *q;

	if (m->remove_id > INT64_MAX)
		return api_refuse(call, RK_ERR_INVALID,
		                  "no such entry in this organisation's rota", "remove_id");
	if (m->remove_id == 0 && m->login[0] == '\0')
		return api_refuse(call, RK_ERR_INVALID, "name who is on call (a login)",
		                  "login");
	if ((q = rota_req_new(call, m->org, true)) == NULL)
		return;
	q->login = api_req_strdup(&q->r, m->login);
	q->start_ms = m->start_at_ms;
	q->end_ms = m->end_at_ms;
	q->remove_id = (int64_t)m->remove_id;
	q->r.ok = rota_ok;
	api_req_write(&q->r);
}
