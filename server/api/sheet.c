/*
 * The liaison sheet (医療・介護連携シート): add, change and end a member,
 * and the sheet's history.
 *
 * All run on the writer (history too: it is answered with its record in
 * the same commit). Whatever a change does to someone's access is applied
 * to live subscriptions right after the commit: a member removed from a
 * sheet receives nothing from that board after the change is committed,
 * on connections already open. A change that leaves the member on no
 * sheet at all (now or from a later date) also ends their sessions: their
 * connections close with 4001 within a second (api/revoke.c's look).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "care/oncall.h"
#include "api/record.h"
#include "api/reply.h"
#include "api/sub.h"
#include "api/wire.h"
#include "util/mem.h"
#include "util/text.h"

enum member_op { MEMBER_ADD, MEMBER_CHANGE, MEMBER_END };

struct member_req {
	struct api_req r;
	enum member_op what;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1];
	const char *login, *team_role, *valid_from, *valid_until, *contact;
	const char *reason; /* end */
	bool set_primary, primary;
	struct care_access_change change;
	struct care_member *sheet; /* the sheet after the change */
	size_t nsheet;
	struct care_access_change *oncall; /* the people on duty now */
	size_t noncall;
};

static void
member_fini(struct api_req *r)
{
	struct member_req *q = (struct member_req *)r;

	free(q->sheet);
	free(q->oncall);
}

static int
member_run(struct store_conn *sc, struct store_op *op)
{
	struct member_req *q = (struct member_req *)op;
	struct rk_status *st = &q->r.st;
	int64_t now = rk_now_ms();
	struct care_sheet_input in = {
		.login = q->login, .team_role = q->team_role,
		.set_primary = q->set_primary, .primary = q->primary,
		.valid_from = q->valid_from, .valid_until = q->valid_until,
		.contact = q->contact,
	};
	int rc;

	if (q->what == MEMBER_ADD)
		rc = care_sheet_member_add(sc, &q->who, q->code, &in, now, &q->change,
		                           st);
	else if (q->what == MEMBER_CHANGE)
		rc = care_sheet_member_change(sc, &q->who, q->code, &in, now,
		                              &q->change, st);
	else
		rc = care_sheet_member_end(sc, &q->who, q->code, q->login, q->reason,
		                           now, &q->change, st);
	if (rc == RK_OK &&
	    (api_content_member(sc, q->r.au, &q->change) != RK_OK ||
	     care_sheet_list(sc, q->change.patient_id, &q->sheet, &q->nsheet) != RK_OK))
		rc = rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	/* Who is on call for an organisation on this sheet may have lost it
	 * (docs/oncall.md). */
	if (rc == RK_OK && q->what != MEMBER_ADD &&
	    care_oncall_access_after_sheet(sc, q->change.patient_id, now, &q->oncall,
	                                   &q->noncall) != RK_OK)
		rc = rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	if (rc == RK_OK && q->what != MEMBER_ADD) {
		bool on;
		if (care_user_on_a_sheet(sc, q->change.user_id, now, &on) != RK_OK ||
		    (!on && auth_sessions_end_user(sc, q->change.user_id, 0, now,
		                                   "no longer on any liaison sheet") !=
		                    RK_OK))
			rc = rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	}
	return rc;
}

static void
member_ok(struct api_req *r, struct api_conn *c)
{
	struct member_req *q = (struct member_req *)r;
	Renkei__V1__SheetResponse sr = RENKEI__V1__SHEET_RESPONSE__INIT;
	struct api_sheet_wire w;

	/* First make live delivery match the new sheet. */
	api_sub_access(r->api, &q->change);
	for (size_t i = 0; i < q->noncall; i++)
		api_sub_access(r->api, &q->oncall[i]);
	if (c == NULL)
		return;
	api_sheet_to_wire(q->sheet, q->nsheet, &w);
	sr.n_sheet = w.n;
	sr.sheet = w.ptrs;
	api_reply(r->api, c, r->request_id, RENKEI__V1__ENVELOPE__BODY_SHEET_RESPONSE,
	          &sr);
	api_sheet_wire_fini(&w);
}

static struct member_req *
member_req_new(const struct api_call *call, enum member_op what,
               const char *patient, const char *login)
{
	struct member_req *q = api_req_new(sizeof(*q), call);

	q->what = what;
	q->who = api_req_actor(&q->r, call->c);
	snprintf(q->code, sizeof(q->code), "%s", patient);
	audit_entry_set_patient(q->r.au, q->code);
	audit_entry_set_object(q->r.au, login);
	q->login = api_req_strdup(&q->r, login);
	q->r.op.run = member_run;
	q->r.ok = member_ok;
	q->r.fini = member_fini;
	return q;
}

static bool
short_ok(const char *s)
{
	return strlen(s) <= CARE_NAME_MAX;
}

/* What add and change share: the fields of a member. */
static void
member_fields(const struct api_call *call, enum member_op what,
              const char *patient, const char *login, const char *role,
              const char *from, const char *until, const char *contact,
              bool set_primary, bool primary)
{
	struct member_req *q;

	if (!api_patient_named(call, patient))
		return;
	if (what == MEMBER_ADD && role[0] == '\0')
		return api_refuse(call, RK_ERR_INVALID,
		                  "give the member's role on the team", "team_role");
	if (!short_ok(role) || !short_ok(contact))
		return api_refuse(call, RK_ERR_INVALID, "a field is too long", NULL);
	q = member_req_new(call, what, patient, login);
	q->team_role = api_req_strdup(&q->r, role);
	q->valid_from = api_req_strdup(&q->r, from);
	q->valid_until = api_req_strdup(&q->r, until);
	q->contact = api_req_strdup(&q->r, contact);
	q->set_primary = set_primary;
	q->primary = primary;
	api_req_write(&q->r);
}

void
api_sheet_add(const struct api_call *call, const void *msg)
{
	const Renkei__V1__SheetAddRequest *m = msg;

	member_fields(call, MEMBER_ADD, m->patient, m->login, m->team_role,
	              m->valid_from, m->valid_until, m->contact, true, m->primary);
}

void
api_sheet_change(const struct api_call *call, const void *msg)
{
	const Renkei__V1__SheetChangeRequest *m = msg;

	member_fields(call, MEMBER_CHANGE, m->patient, m->login, m->team_role,
	              m->valid_from, m->valid_until, m->contact, m->set_primary,
	              m->primary);
}

void
api_sheet_end(const struct api_call *call, const void *msg)
{
	const Renkei__V1__SheetEndRequest *m = msg;
	struct member_req *q;

	if (!api_patient_named(call, m->patient))
		return;
	if (strlen(m->reason) > CARE_NAME_MAX)
		return api_refuse(call, RK_ERR_INVALID, "the reason is too long",
		                  "reason");
	q = member_req_new(call, MEMBER_END, m->patient, m->login);
	q->reason = api_req_strdup(&q->r, m->reason[0] ? m->reason : "ended");
	api_req_write(&q->r);
}

/* ---------------------------------------------------------------- history */

struct history_req {
	struct api_req r;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1];
	struct care_history_entry *history;
	size_t n;
};

static void
history_fini(struct api_req *r)
{
	free(((struct history_req *)r)->history);
}

static int
history_run(struct store_conn *sc, struct store_op *op)
{
	struct history_req *q = (struct history_req *)op;
	return care_sheet_history(sc, &q->who, q->code, rk_now_ms(), &q->history,
	                          &q->n, &q->r.st);
}

static void
history_ok(struct api_req *r, struct api_conn *c)
{
	struct history_req *q = (struct history_req *)r;
	Renkei__V1__SheetHistoryResponse hr = RENKEI__V1__SHEET_HISTORY_RESPONSE__INIT;
	Renkei__V1__SheetChange *ch, **chp;
	Renkei__V1__User *us;
	size_t n = q->n;

	if (c == NULL)
		return;
	ch = rk_calloc(n + 1, sizeof(*ch));
	chp = rk_calloc(n + 1, sizeof(*chp));
	us = rk_calloc(2 * n + 1, sizeof(*us));
	for (size_t i = 0; i < n; i++) {
		const struct care_history_entry *h = &q->history[i];
		renkei__v1__sheet_change__init(&ch[i]);
		ch[i].at_ms = h->at_ms;
		ch[i].action = (char *)h->action;
		ch[i].detail = (char *)h->detail;
		if (h->by.user_id) {
			api_member_to_wire(&h->by, &us[2 * i], NULL, false);
			ch[i].by = &us[2 * i];
		}
		if (h->member.user_id) {
			api_member_to_wire(&h->member, &us[2 * i + 1], NULL, false);
			ch[i].member = &us[2 * i + 1];
		}
		chp[i] = &ch[i];
	}
	hr.n_changes = n;
	hr.changes = chp;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_SHEET_HISTORY_RESPONSE, &hr);
	free(ch);
	free(chp);
	free(us);
}

void
api_sheet_history(const struct api_call *call, const void *msg)
{
	const Renkei__V1__SheetHistoryRequest *m = msg;
	struct history_req *q;

	if (!api_patient_named(call, m->patient))
		return;
	q = api_req_new(sizeof(*q), call);
	q->who = api_req_actor(&q->r, call->c);
	snprintf(q->code, sizeof(q->code), "%s", m->patient);
	audit_entry_set_patient(q->r.au, q->code);
	q->r.op.run = history_run;
	q->r.ok = history_ok;
	q->r.fini = history_fini;
	api_req_write(&q->r);
}
