/*
 * Patients: the list of mine, and one patient with their liaison sheet.
 * Both are reads; the list writes one audit record per patient shown (it
 * shows names).
 */
#include <stdio.h>
#include <stdlib.h>

#include "api/dispatch.h"
#include "api/oncall.h"
#include "api/reply.h"
#include "api/wire.h"
#include "util/mem.h"
#include "util/text.h"

struct patients_req {
	struct api_req r;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1]; /* "" = list mine */
	struct care_patient *pts;
	size_t n;
	struct care_member *sheet;
	size_t nsheet;
	struct care_call *calls; /* get: the call order */
	size_t ncalls;
	struct care_rota_entry *duty; /* get: on duty now */
	size_t nduty;
};

static void
patients_fini(struct api_req *r)
{
	struct patients_req *q = (struct patients_req *)r;
	care_patients_free(q->pts, q->n ? q->n : (q->pts ? 1 : 0));
	free(q->sheet);
	free(q->calls);
	free(q->duty);
}

static int
list_run(struct store_conn *sc, struct store_op *op)
{
	struct patients_req *q = (struct patients_req *)op;
	int rc = care_patients_mine(sc, &q->who, rk_now_ms(), &q->pts, &q->n);

	if (rc != RK_OK)
		rk_fail(&q->r.st, rc, "temporarily unavailable", NULL);
	/* One record per patient shown: the list shows names. */
	for (size_t i = 0; i < q->n; i++) {
		struct audit_entry *e = audit_entry_new(&q->r.au->ev);
		e->outcome_from_op = true;
		audit_entry_set_patient(e, q->pts[i].code);
		audit_entries_append((struct audit_entry **)&q->r.op.journal, e);
	}
	return rc;
}

static void
list_ok(struct api_req *r, struct api_conn *c)
{
	struct patients_req *q = (struct patients_req *)r;
	Renkei__V1__ListPatientsResponse lr = RENKEI__V1__LIST_PATIENTS_RESPONSE__INIT;
	Renkei__V1__Patient *ws, **wp;

	ws = rk_calloc(q->n + 1, sizeof(*ws));
	wp = rk_calloc(q->n + 1, sizeof(*wp));
	for (size_t i = 0; i < q->n; i++) {
		api_patient_to_wire(&q->pts[i], &ws[i]);
		wp[i] = &ws[i];
	}
	lr.n_patients = q->n;
	lr.patients = wp;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_RESPONSE, &lr);
	free(ws);
	free(wp);
}

static int
get_run(struct store_conn *sc, struct store_op *op)
{
	struct patients_req *q = (struct patients_req *)op;
	int rc;

	q->pts = rk_calloc(1, sizeof(*q->pts));
	int64_t now = rk_now_ms();

	rc = care_patient_get(sc, &q->who, q->code, now, q->pts, &q->sheet,
	                      &q->nsheet, &q->r.st);
	if (rc == RK_OK)
		q->n = 1;
	if (rc == RK_OK &&
	    api_patient_oncall_load(sc, q->pts[0].id, now, q->sheet, q->nsheet,
	                            &q->calls, &q->ncalls, &q->duty,
	                            &q->nduty) != RK_OK)
		rc = rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return rc;
}

static void
get_ok(struct api_req *r, struct api_conn *c)
{
	struct patients_req *q = (struct patients_req *)r;
	Renkei__V1__GetPatientResponse gr = RENKEI__V1__GET_PATIENT_RESPONSE__INIT;
	Renkei__V1__Patient pw;
	struct api_sheet_wire w;
	struct api_calls_wire cw;
	struct api_rota_wire dw;

	api_patient_to_wire(&q->pts[0], &pw);
	api_sheet_to_wire(q->sheet, q->nsheet, &w);
	api_calls_to_wire(q->calls, q->ncalls, &cw);
	api_rota_to_wire(q->duty, q->nduty, &dw);
	gr.patient = &pw;
	gr.n_sheet = w.n;
	gr.sheet = w.ptrs;
	gr.n_call_order = cw.n;
	gr.call_order = cw.ptrs;
	gr.n_on_call = dw.n;
	gr.on_call = dw.ptrs;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_RESPONSE, &gr);
	api_sheet_wire_fini(&w);
	api_calls_wire_fini(&cw);
	api_rota_wire_fini(&dw);
}

static struct patients_req *
patients_req_new(const struct api_call *call)
{
	struct patients_req *q = api_req_new(sizeof(*q), call);

	q->who = api_req_actor(&q->r, call->c);
	q->r.fini = patients_fini;
	return q;
}

void
api_list_patients(const struct api_call *call, const void *msg)
{
	struct patients_req *q = patients_req_new(call);

	(void)msg;
	q->r.op.run = list_run;
	q->r.ok = list_ok;
	api_req_read(&q->r);
}

void
api_get_patient(const struct api_call *call, const void *msg)
{
	const Renkei__V1__GetPatientRequest *m = msg;
	struct patients_req *q;

	if (!api_patient_named(call, m->patient))
		return;
	q = patients_req_new(call);
	snprintf(q->code, sizeof(q->code), "%s", m->patient);
	audit_entry_set_patient(q->r.au, q->code);
	q->r.op.run = get_run;
	q->r.ok = get_ok;
	api_req_read(&q->r);
}
