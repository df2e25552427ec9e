/*
 * policy — who may do what on a patient's board, decided in one place.
 *
 * Inputs: the actor (user, profession), their membership of this
 * patient's liaison sheet (on it at all, within its dates now, primary,
 * read-only after a hand-off), a break-glass grant, the patient's hand-off
 * state, and for reads and posts the post's visibility mark. Every read path
 * (timeline, live events, sync, acknowledgements, patient lists) and
 * every write asks here; nothing else decides access.
 *
 * The table (DESIGN.md, "Access follows the liaison sheet"):
 *   clinical professions (physician, dentist, nurse, pharmacist, rehab,
 *   MSW)                   see all/professional/clinical, may post
 *   care manager, community centre, care worker
 *                          see all/professional, may post
 *   family                 see all, may post marked all
 *   auditor, admin         no clinical content at all
 * Off the sheet, or outside its dates: nothing.
 * Sheet editors: the primary physician, care manager, community centre;
 * the hospital MSW while a hand-off is open. Hand-off: the MSW opens,
 * proposes and records the conference; the home primary physician or the
 * care manager accepts, after which hospital members are read-only.
 * Break-glass: a physician or nurse not on the sheet may read (only) for
 * a short while. Family invitations: primary physician or care manager.
 * On-call (docs/oncall.md): during a shift of an organisation's on-call
 * rota, the person on duty may read, confirm and post on the board of
 * every patient whose sheet has a member of that organisation in force
 * (not read-only), as a member of their profession would; they never
 * change the sheet, the call order or a hand-off. Which rota entry gave
 * (or, once ended, no longer gives) access is told to the caller through
 * policy_actor.use, for the "oncall" audit record.
 * The full table, cell by cell, is docs/policy.md; a test checks every
 * cell of it against the running server.
 *
 * Denials use one message for "not on the sheet" and "no such patient",
 * so that a denial does not tell which patients exist.
 */
#ifndef RK_CARE_POLICY_H
#define RK_CARE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

/* Numbered as renkei.v1.Visibility. */
enum visibility {
	VIS_NONE = 0,
	VIS_ALL = 1,
	VIS_PROFESSIONAL = 2,
	VIS_CLINICAL = 3,
};

/* What the policy says of on-call access while it decides, for the
 * caller's audit record (api: one "oncall" record per request). */
struct policy_oncall_use {
	int64_t entry_id; /* the rota entry; 0: on-call played no part */
	bool denied;      /* its shift has ended: access was refused */
};

struct policy_actor {
	int64_t user_id;
	int profession;
	/* NULL, or where policy_check notes the first on-call entry that
	 * decided a check (allowed, or refused because it has ended). */
	struct policy_oncall_use *use;
};

struct policy_membership {
	bool on_sheet;  /* a row exists for this user and patient */
	bool active;    /* ... and now is within its dates */
	bool primary;
	bool read_only; /* may read, not post (hospital after hand-off) */
	int64_t valid_from_ms, valid_until_ms;
	bool breakglass;          /* an unexpired break-glass grant */
	int64_t breakglass_until_ms;
	int handoff_state;        /* enum handoff_state of the patient */
	/* Not an active member, but on duty now for an organisation with a
	 * member on the sheet in force (not read-only): that rota entry. */
	bool oncall;
	int64_t oncall_entry_id, oncall_until_ms;
	/* Else the latest such entry that has ended (0: none): a refusal
	 * names it in the audit trail. */
	int64_t oncall_ended_id;
	bool patient_exists;
};

/* Numbered as renkei.v1.HandoffState. */
enum handoff_state {
	HANDOFF_NONE = 0,
	HANDOFF_OPEN = 1,
	HANDOFF_PROPOSED = 2,
	HANDOFF_CONFERENCE_SET = 3,
	HANDOFF_ACCEPTED = 4,
};

enum policy_op {
	POLICY_READ,       /* timeline, sync, live events, post, acks */
	POLICY_POST,       /* create, amend, retract (with a visibility) */
	POLICY_ACK,
	POLICY_SHEET_VIEW,
	POLICY_SHEET_EDIT,
	POLICY_HANDOFF_OPEN,
	POLICY_HANDOFF_PROPOSE,
	POLICY_HANDOFF_CONFERENCE,
	POLICY_HANDOFF_ACCEPT,
	POLICY_BREAKGLASS,
	POLICY_FAMILY_INVITE,
	POLICY_CALLORDER_SET, /* the sheet's editors */
};

/* Until when the actor's access lasts (membership end, on-call shift end
 * or break-glass expiry; 0 = open). Only meaningful when reads are
 * allowed. */
int64_t policy_access_until(const struct policy_membership *m);

#define POLICY_NO_ACCESS                                                      \
	"no access to this patient's board (not on the liaison sheet, or no "  \
	"such patient)"

/* The highest visibility mark this profession may see; VIS_NONE for
 * auditors, admins and unknown professions. */
int policy_max_visibility(int profession);

/* The actor's membership of patient_id's sheet at now_ms (with any
 * break-glass grant and on-call shift). A missing patient is simply "not
 * on the sheet". */
int policy_membership_load(struct store_conn *sc, int64_t user_id,
                           int64_t patient_id, int64_t now_ms,
                           struct policy_membership *m);

/* RK_OK if allowed, else RK_ERR_DENIED with a message in st.
 * `visibility` is the post's mark for POLICY_READ/POLICY_POST (0 to
 * check only access to the board). */
int policy_check(const struct policy_actor *who,
                 const struct policy_membership *m, enum policy_op op,
                 int visibility, struct rk_status *st);

#endif
