/*
 * On-call and escalation inside api (docs/oncall.md): the wire form of
 * call orders and rota entries (oncall.c), and the escalation timer
 * (escalate.c) that api_tick drives on the service thread.
 */
#ifndef RK_API_ONCALL_H
#define RK_API_ONCALL_H

#include "api/internal.h"
#include "care/oncall.h"

/* A call order as CallSlot messages (borrowing from calls, which are in
 * slot order). Free with api_calls_wire_fini. */
struct api_calls_wire {
	size_t n; /* slots */
	Renkei__V1__CallSlot *slots, **ptrs;
	Renkei__V1__User *users, **uptrs;
	Renkei__V1__Organisation *orgs;
};
void api_calls_to_wire(const struct care_call *calls, size_t n,
                       struct api_calls_wire *w);
void api_calls_wire_fini(struct api_calls_wire *w);

/* Rota entries as OnCallEntry messages. */
struct api_rota_wire {
	size_t n;
	Renkei__V1__OnCallEntry *es, **ptrs;
	Renkei__V1__User *users;
	Renkei__V1__Organisation *orgs;
};
void api_rota_to_wire(const struct care_rota_entry *e, size_t n,
                      struct api_rota_wire *w);
void api_rota_wire_fini(struct api_rota_wire *w);

/* For GetPatientResponse: the call order and who is on duty now, with
 * each sheet row's call_slot and on_call filled in. Both arrays
 * malloc'ed. RK_OK or RK_ERR_STORE. */
int api_patient_oncall_load(struct store_conn *sc, int64_t patient_id,
                            int64_t now_ms, struct care_member *sheet,
                            size_t nsheet, struct care_call **calls,
                            size_t *ncalls, struct care_rota_entry **duty,
                            size_t *nduty);

/* ---- escalation (escalate.c) */

/* Once a second from api_tick: when an escalation may be due, one writer
 * op advances the due ones, then publishes each step's post, notifies
 * who is called (api_notice_users, API_NOTICE_ESCALATION) and keeps the
 * time of the next. At start the first tick looks at once: steps that
 * fell due while the server was down run then. */
void api_escalate_tick(struct api *api, int64_t now_ms);

/* A committed urgent post's escalation is due at due_ms: look then. */
void api_escalate_wake(struct api *api, int64_t due_ms);

/* On a writer op, after care_escalation_advance / _ack made `s`: its
 * audit records into *journal (an "escalation.step" or "escalation.stop"
 * record, and a "post.create" record with the digest of its post). like:
 * the confirming request's own record, whose actor, session and address
 * the records take; NULL for the server's own steps (no actor). RK_OK or
 * an error the op must fail with. */
int api_escalate_records(void **journal, const struct audit_entry *like,
                         const struct care_escalation_step *s);

/* After the commit: publish s's post and notify whom it calls. */
void api_escalate_publish(struct api *api, const struct care_escalation_step *s);

#endif
