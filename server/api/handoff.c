/*
 * Discharge hand-off (退院連携): open (with the discharge summary, and
 * the patient's record when the hospital starts the board), propose the
 * home team, set the conference, accept, and read the state.
 *
 * All are writes. A proposal or an acceptance changes people's access:
 * live subscriptions follow right after the commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/record.h"
#include "api/reply.h"
#include "api/sub.h"
#include "api/wire.h"
#include "util/mem.h"
#include "util/text.h"

#define PROPOSE_MAX 50

enum handoff_step { HO_OPEN, HO_PROPOSE, HO_CONFERENCE, HO_ACCEPT, HO_GET };

struct handoff_req {
	struct api_req r;
	enum handoff_step step;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1];
	/* open */
	const char *discharge_date, *summary, *client_id;
	struct care_new_patient np;
	/* propose */
	struct care_proposed *proposed;
	size_t nproposed;
	/* conference */
	const char *conference_at;
	/* what it did */
	struct care_handoff handoff;
	struct care_post post; /* the summary, posted on open */
	struct care_access_change *changes;
	size_t nchanges;
};

static void
handoff_fini(struct api_req *r)
{
	struct handoff_req *q = (struct handoff_req *)r;

	free(q->proposed);
	free(q->changes);
	care_post_fini(&q->post);
}

/* A step changed the hand-off and perhaps the sheet (and open wrote the
 * summary post): the records carry the digests of each (record.h). */
static int
handoff_content(struct store_conn *sc, struct handoff_req *q)
{
	int64_t pid = q->handoff.patient_id;

	if (api_content_handoff(sc, q->r.au, pid) != RK_OK ||
	    (q->step != HO_CONFERENCE &&
	     api_content_sheet_rows(sc, &q->r, pid) != RK_OK) ||
	    (q->post.id != 0 && api_content_extra_post(&q->r, &q->post) != RK_OK))
		return rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable",
		               NULL);
	return RK_OK;
}

static int
handoff_run(struct store_conn *sc, struct store_op *op)
{
	struct handoff_req *q = (struct handoff_req *)op;
	struct rk_status *st = &q->r.st;
	int64_t now = rk_now_ms();
	int rc = RK_ERR_INTERNAL;

	switch (q->step) {
	case HO_OPEN:
		rc = care_handoff_open(sc, &q->who, q->code, &q->np, q->discharge_date,
		                       q->summary, q->client_id, now, &q->handoff,
		                       &q->post, st);
		break;
	case HO_PROPOSE:
		q->changes = rk_calloc(q->nproposed + 1, sizeof(*q->changes));
		q->nchanges = q->nproposed;
		rc = care_handoff_propose(sc, &q->who, q->code, q->proposed,
		                          q->nproposed, now, &q->handoff, q->changes, st);
		break;
	case HO_CONFERENCE:
		rc = care_handoff_conference(sc, &q->who, q->code, q->conference_at,
		                             now, &q->handoff, st);
		break;
	case HO_ACCEPT:
		rc = care_handoff_accept(
			sc, &q->who, q->code, now,
			(int64_t)q->r.api->conf->handoff_readonly_s * 1000, &q->handoff,
			&q->changes, &q->nchanges, st);
		break;
	case HO_GET:
		return care_handoff_get(sc, &q->who, q->code, now, &q->handoff, st);
	}
	return rc == RK_OK ? handoff_content(sc, q) : rc;
}

static void
handoff_ok(struct api_req *r, struct api_conn *c)
{
	struct handoff_req *q = (struct handoff_req *)r;
	const struct care_handoff *h = &q->handoff;
	Renkei__V1__HandoffResponse hr = RENKEI__V1__HANDOFF_RESPONSE__INIT;
	Renkei__V1__Handoff w = RENKEI__V1__HANDOFF__INIT;
	Renkei__V1__User ob, ab;

	/* Committed: first make live delivery match the new sheet. */
	for (size_t i = 0; i < q->nchanges; i++)
		api_sub_access(r->api, &q->changes[i]);
	if (q->post.id != 0) {
		r->api->stats.posts++;
		api_publish_post(r->api, &q->post);
	}
	if (c == NULL)
		return;
	w.patient = (char *)h->patient_code;
	w.state = (Renkei__V1__HandoffState)h->state;
	w.from_org = (char *)h->from_org;
	w.discharge_date = (char *)h->discharge_date;
	w.conference_at = (char *)h->conference_at;
	if (h->opened_by.login[0]) {
		api_member_to_wire(&h->opened_by, &ob, NULL, false);
		w.opened_by = &ob;
	}
	if (h->accepted_by.login[0]) {
		api_member_to_wire(&h->accepted_by, &ab, NULL, false);
		w.accepted_by = &ab;
	}
	w.accepted_at_ms = h->accepted_ms;
	w.hospital_until_ms = h->hospital_until_ms;
	hr.handoff = &w;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_HANDOFF_RESPONSE, &hr);
}

/* A hand-off request for `patient` (a valid code). */
static struct handoff_req *
handoff_req_new(const struct api_call *call, enum handoff_step step,
                const char *patient)
{
	struct handoff_req *q = api_req_new(sizeof(*q), call);

	q->step = step;
	q->who = api_req_actor(&q->r, call->c);
	snprintf(q->code, sizeof(q->code), "%s", patient);
	audit_entry_set_patient(q->r.au, q->code);
	q->r.op.run = handoff_run;
	q->r.ok = handoff_ok;
	q->r.fini = handoff_fini;
	return q;
}

/* Keep owned copies of the new patient's record. */
static void
new_patient_in(struct handoff_req *q, const Renkei__V1__Patient *p)
{
	q->np.present = true;
	q->np.in.name = api_req_strdup(&q->r, p->name);
	q->np.in.kana = api_req_strdup(&q->r, p->kana);
	q->np.in.birth_date = api_req_strdup(&q->r, p->birth_date);
	q->np.in.sex = api_req_strdup(&q->r, p->sex);
	q->np.in.area = api_req_strdup(&q->r, p->area);
	q->np.in.summary = api_req_strdup(&q->r, p->summary);
	q->np.in.wishes = api_req_strdup(&q->r, p->wishes);
}

void
api_handoff_open(const struct api_call *call, const void *msg)
{
	const Renkei__V1__HandoffOpenRequest *m = msg;
	struct handoff_req *q;

	if (!api_patient_named(call, m->patient))
		return;
	if (m->summary[0] && !care_client_id_valid(m->client_id))
		return api_refuse(call, RK_ERR_INVALID,
		                  "client_id must be 1-64 printable ASCII characters",
		                  "client_id");
	if (strlen(m->summary) > CARE_TEXT_MAX)
		return api_refuse(call, RK_ERR_INVALID,
		                  "the summary is longer than 16384 bytes", "summary");
	q = handoff_req_new(call, HO_OPEN, m->patient);
	q->discharge_date = api_req_strdup(&q->r, m->discharge_date);
	q->summary = api_req_strdup(&q->r, m->summary);
	q->client_id = api_req_strdup(&q->r, m->client_id);
	if (m->new_patient != NULL)
		new_patient_in(q, m->new_patient);
	api_req_write(&q->r);
}

void
api_handoff_propose(const struct api_call *call, const void *msg)
{
	const Renkei__V1__HandoffProposeRequest *m = msg;
	struct handoff_req *q;

	if (!api_patient_named(call, m->patient))
		return;
	if (m->n_members == 0 || m->n_members > PROPOSE_MAX)
		return api_refuse(call, RK_ERR_INVALID, "propose 1 to 50 members",
		                  "members");
	for (size_t i = 0; i < m->n_members; i++)
		if (m->members[i]->team_role[0] == '\0' ||
		    strlen(m->members[i]->team_role) > CARE_NAME_MAX)
			return api_refuse(call, RK_ERR_INVALID,
			                  "each member needs a team role",
			                  "members.team_role");
	q = handoff_req_new(call, HO_PROPOSE, m->patient);
	q->proposed = rk_calloc(m->n_members, sizeof(*q->proposed));
	for (size_t i = 0; i < m->n_members; i++) {
		q->proposed[i].login = api_req_strdup(&q->r, m->members[i]->login);
		q->proposed[i].team_role =
			api_req_strdup(&q->r, m->members[i]->team_role);
		q->proposed[i].primary = m->members[i]->primary;
		q->nproposed++;
	}
	api_req_write(&q->r);
}

void
api_handoff_conference(const struct api_call *call, const void *msg)
{
	const Renkei__V1__HandoffConferenceRequest *m = msg;
	struct handoff_req *q;

	if (!api_patient_named(call, m->patient))
		return;
	q = handoff_req_new(call, HO_CONFERENCE, m->patient);
	q->conference_at = api_req_strdup(&q->r, m->conference_at);
	api_req_write(&q->r);
}

/* Accept and get carry nothing but the patient. */
static void
handoff_step(const struct api_call *call, enum handoff_step step,
             const char *patient)
{
	if (api_patient_named(call, patient))
		api_req_write(&handoff_req_new(call, step, patient)->r);
}

void
api_handoff_accept(const struct api_call *call, const void *msg)
{
	handoff_step(call, HO_ACCEPT,
	             ((const Renkei__V1__HandoffAcceptRequest *)msg)->patient);
}

void
api_handoff_get(const struct api_call *call, const void *msg)
{
	handoff_step(call, HO_GET,
	             ((const Renkei__V1__HandoffGetRequest *)msg)->patient);
}
