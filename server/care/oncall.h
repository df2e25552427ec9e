/*
 * oncall — a patient's call order, an organisation's on-call rota, and
 * the escalation of urgent posts along them (docs/oncall.md).
 *
 * Call order: the ordered slots of a patient's sheet (1 = first call);
 * several members may share a slot and are called together. Kept in
 * call_order, replaced as a whole by its editors (policy: the sheet's).
 *
 * Rota: entries (organisation, member of it, start, end). Who is on duty
 * for an organisation with a member on a patient's sheet may read and
 * post there during the shift: that is decided by policy.c
 * (policy_membership.oncall); this file only keeps the entries.
 *
 * Escalation: an urgent post starts one (escalations row) in the
 * transaction of the post; a confirmation by someone who counts stops it
 * in the transaction of the ack; care_escalation_advance, on the writer,
 * moves every due one to its next step: the next slot, then the on-call
 * persons of the sheet's organisations, then done. Each step is a post of
 * kind ESCALATION on the board. The state is all in care.db, so a restart
 * resumes where it was (a step that fell due while the server was down
 * runs at the first advance).
 *
 * Everything runs on a store connection (writer for changes); nothing
 * here knows of connections or protobuf.
 */
#ifndef RK_CARE_ONCALL_H
#define RK_CARE_ONCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "care/care.h"

#define CARE_CALL_SLOTS_MAX 8        /* slots in one call order */
#define CARE_CALL_SLOT_PEOPLE_MAX 8  /* people in one slot */
#define CARE_ROTA_SHIFT_MAX_MS (7LL * 24 * 3600 * 1000) /* one entry */
#define CARE_ROTA_PENDING_MAX 1000   /* entries not yet ended, per org */
#define CARE_ROTA_LIST_MAX 500
#define CARE_ESCALATE_BATCH 32       /* steps per advance */

/* One member of a call order. */
struct care_call {
	int slot; /* 1 = first call */
	struct care_member m;
};

/* What can be wrong with a call order's slot, and its message ("slot 2:
 * no such user": static text; slot 1..8). */
enum care_call_fault {
	CARE_CALL_EMPTY,
	CARE_CALL_CROWDED,
	CARE_CALL_UNKNOWN,
	CARE_CALL_NOT_MEMBER,
	CARE_CALL_TWICE,
	CARE_CALL_FAMILY,
};
const char *care_callorder_msg(enum care_call_fault f, size_t slot);

/* Check a call order's shape (pure): nslots slots, per_slot[i] logins in
 * slot i+1, `logins` all of them in order. At most CARE_CALL_SLOTS_MAX
 * slots, each of 1..CARE_CALL_SLOT_PEOPLE_MAX logins, no login twice.
 * RK_OK or RK_ERR_INVALID (field "slots") with the slot in the message. */
int care_callorder_check(const size_t *per_slot, size_t nslots,
                         const char *const *logins, struct rk_status *st);

/* Replace patient `code`'s call order (policy: POLICY_CALLORDER_SET;
 * who NULL: a trusted ward import, no access check;
 * every login an active, not read-only, non-family member of the sheet).
 * On success *out (malloc'ed, n entries) is the order as stored and
 * *patient_id the patient. Written to the sheet's history. */
int care_callorder_set(struct store_conn *sc, const struct policy_actor *who,
                       const char *code, const size_t *per_slot,
                       size_t nslots, const char *const *logins,
                       int64_t now_ms, struct care_call **out, size_t *n,
                       int64_t *patient_id, struct rk_status *st);

/* The call order of patient_id, slot by slot (malloc'ed). */
int care_callorder_load(struct store_conn *sc, int64_t patient_id,
                        struct care_call **out, size_t *n);

/* One entry of an organisation's rota. */
struct care_rota_entry {
	int64_t id;
	char org_code[CARE_CODE_MAX + 1];
	struct care_member user; /* login, name, profession, organisation */
	int64_t start_ms, end_ms, removed_ms;
	char set_by[CARE_CODE_MAX + 1]; /* login; "" = an import */
};

/* Who is on duty at now_ms for an organisation with a member in force
 * (not read-only) on patient_id's sheet (malloc'ed). */
int care_oncall_for_patient(struct store_conn *sc, int64_t patient_id,
                            int64_t now_ms, struct care_rota_entry **out,
                            size_t *n);

/* The rota of org `org_code`: entries not ended by since_ms (at most
 * CARE_ROTA_LIST_MAX, by start). Allowed to administrators and members
 * of the organisation. */
int care_rota_list(struct store_conn *sc, const struct policy_actor *who,
                   const char *org_code, int64_t since_ms,
                   struct care_rota_entry **out, size_t *n,
                   struct rk_status *st);

/* Add an entry (start_ms..end_ms) for `login`, or remove entry remove_id
 * (a running one ends at now_ms, a future one never starts). Allowed to
 * administrators and the physicians and nurses of the organisation;
 * set_by 0 and who NULL: a trusted import. *out: the entry as stored. */
int care_rota_set(struct store_conn *sc, const struct policy_actor *who,
                  const char *org_code, const char *login, int64_t start_ms,
                  int64_t end_ms, int64_t remove_id, int64_t now_ms,
                  struct care_rota_entry *out, struct rk_status *st);

/* After an entry of user_id for org_code was removed: what the user may
 * now see of each board their organisation's members are on (for live
 * subscriptions, as a sheet change tells). *out malloc'ed. */
int care_rota_access_changes(struct store_conn *sc, int64_t user_id,
                             const char *org_code, int64_t now_ms,
                             struct care_access_change **out, size_t *n);

/* After a change of patient_id's sheet: what each person on duty now
 * may see of its board (an organisation may have lost its last member
 * there). *out malloc'ed. */
int care_oncall_access_after_sheet(struct store_conn *sc, int64_t patient_id,
                                   int64_t now_ms,
                                   struct care_access_change **out, size_t *n);

/* ---- escalation */

/* The post is urgent and new: start its escalation, the first slot
 * (or, without a call order, no one in particular) being called by the
 * post itself; due at due_ms. Does nothing for a post that is not
 * urgent, or of a kind the server writes. */
int care_escalation_start(struct store_conn *sc, const struct care_post *p,
                          int64_t due_ms);

/* A step taken (or a stop): what the caller publishes, notifies and
 * audits. */
struct care_escalation_step {
	int64_t post_id;          /* the urgent post */
	int64_t patient_id;
	char patient_code[CARE_CODE_MAX + 1];
	int step;                 /* the step now called; 0 for a stop */
	bool oncall;              /* this step called the on-call persons */
	bool finished;            /* nothing more will be called */
	int64_t *user_ids;        /* who is called now (malloc'ed) */
	size_t nusers;
	char detail[512];         /* "slot 2: dr.a, ns.b" (logins only) */
	struct care_post event;   /* the ESCALATION post written */
};
void care_escalation_steps_free(struct care_escalation_step *s, size_t n);

/* Advance every escalation due by now_ms (at most CARE_ESCALATE_BATCH):
 * call the next slot, or the on-call persons after the last, each step
 * due again after_ms later; after the on-call step it is finished.
 * *steps malloc'ed. *next_due_ms: the earliest due time left (0: none). */
int care_escalation_advance(struct store_conn *sc, int64_t now_ms,
                            int64_t after_ms,
                            struct care_escalation_step **steps, size_t *n,
                            int64_t *next_due_ms);

/* The actor confirmed post_id (care_ack said it was fresh): if its
 * call order or an addressee of the post, other than the author; anyone but the author when there is
 * no call order; or someone on duty now for an organisation on the
 * sheet), stop it: *stopped set and *out the stop (its ESCALATION post). */
int care_escalation_ack(struct store_conn *sc, const struct policy_actor *who,
                        int64_t post_id, int64_t now_ms, bool *stopped,
                        struct care_escalation_step *out);

/* The earliest due time of a running escalation (0: none). */
int care_escalation_next_due(struct store_conn *sc, int64_t *due_ms);

#endif
