#include "care/policy.h"

#include "auth/auth.h"

int
policy_max_visibility(int profession)
{
	switch (profession) {
	case PROF_PHYSICIAN:
	case PROF_DENTIST:
	case PROF_NURSE:
	case PROF_PHARMACIST:
	case PROF_REHAB:
	case PROF_MSW:
		return VIS_CLINICAL;
	case PROF_CARE_MANAGER:
	case PROF_COMMUNITY_CENTER:
	case PROF_CARE_WORKER:
		return VIS_PROFESSIONAL;
	case PROF_FAMILY:
		return VIS_ALL;
	default:
		return VIS_NONE;
	}
}

/* The rota entries of user_id that make them on call for patient_id: a
 * member of the entry's organisation on the sheet, in its dates now and
 * not read-only (a hospital after hand-off is no longer the patient's
 * team). The running one ending last; else the one that ended last. */
static int
oncall_load(struct store_conn *sc, int64_t user_id, int64_t patient_id,
            int64_t now_ms, struct policy_membership *m)
{
	sqlite3_stmt *q;
	int rc;

	q = store_stmt(sc, "SELECT r.id, r.end_ms, r.start_ms <= ?3 AND r.end_ms > ?3 "
	                   "FROM oncall_rota r WHERE r.user_id = ?1 AND "
	                   "r.start_ms < r.end_ms AND r.start_ms <= ?3 AND "
	                   "EXISTS (SELECT 1 FROM sheet_members sm JOIN users u ON "
	                   "u.id = sm.user_id WHERE sm.patient_id = ?2 AND "
	                   "u.org_id = r.org_id AND u.disabled = 0 AND "
	                   "sm.read_only = 0 AND sm.valid_from_ms <= ?3 AND "
	                   "(sm.valid_until_ms = 0 OR sm.valid_until_ms > ?3)) "
	                   "ORDER BY 3 DESC, r.end_ms DESC, r.id DESC LIMIT 1");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, patient_id);
	sqlite3_bind_int64(q, 3, now_ms);
	rc = store_step(sc, q);
	if (rc < 0)
		return RK_ERR_STORE;
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_int(q, 2) != 0) {
			m->oncall = true;
			m->oncall_entry_id = sqlite3_column_int64(q, 0);
			m->oncall_until_ms = sqlite3_column_int64(q, 1);
		} else {
			m->oncall_ended_id = sqlite3_column_int64(q, 0);
		}
	}
	sqlite3_reset(q);
	return RK_OK;
}

int
policy_membership_load(struct store_conn *sc, int64_t user_id,
                       int64_t patient_id, int64_t now_ms,
                       struct policy_membership *m)
{
	sqlite3_stmt *q;
	int rc;

	*m = (struct policy_membership){0};
	if (patient_id <= 0)
		return RK_OK;
	/* A user may have several rows over time; prefer one valid now. */
	q = store_stmt(sc, "SELECT is_primary, valid_from_ms, valid_until_ms, "
	                   "read_only FROM sheet_members WHERE user_id = ?1 AND "
	                   "patient_id = ?2 ORDER BY (valid_from_ms <= ?3 AND "
	                   "(valid_until_ms = 0 OR valid_until_ms > ?3)) DESC, "
	                   "id DESC LIMIT 1");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, patient_id);
	sqlite3_bind_int64(q, 3, now_ms);
	rc = store_step(sc, q);
	if (rc < 0)
		return RK_ERR_STORE;
	if (rc == SQLITE_ROW) {
		m->on_sheet = true;
		m->primary = sqlite3_column_int(q, 0) != 0;
		m->valid_from_ms = sqlite3_column_int64(q, 1);
		m->valid_until_ms = sqlite3_column_int64(q, 2);
		m->read_only = sqlite3_column_int(q, 3) != 0;
		m->active = m->valid_from_ms <= now_ms &&
		            (m->valid_until_ms == 0 || m->valid_until_ms > now_ms);
	}
	sqlite3_reset(q);

	q = store_stmt(sc, "SELECT max(expires_ms) FROM breakglass WHERE user_id = ? "
	                   "AND patient_id = ? AND expires_ms > ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, patient_id);
	sqlite3_bind_int64(q, 3, now_ms);
	if (store_step(sc, q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
		m->breakglass = true;
		m->breakglass_until_ms = sqlite3_column_int64(q, 0);
	}
	sqlite3_reset(q);

	if (!m->active && oncall_load(sc, user_id, patient_id, now_ms, m) != RK_OK)
		return RK_ERR_STORE;

	q = store_stmt(sc, "SELECT p.id, coalesce(h.state, 0) FROM patients p "
	                   "LEFT JOIN handoffs h ON h.patient_id = p.id WHERE p.id = ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, patient_id);
	if (store_step(sc, q) == SQLITE_ROW) {
		m->patient_exists = true;
		m->handoff_state = sqlite3_column_int(q, 1);
	}
	sqlite3_reset(q);
	return RK_OK;
}

int64_t
policy_access_until(const struct policy_membership *m)
{
	int64_t until = 0;

	if (m->active)
		return m->valid_until_ms;
	if (m->oncall)
		until = m->oncall_until_ms;
	if (m->breakglass && m->breakglass_until_ms > until)
		until = m->breakglass_until_ms;
	return until;
}

/* The first entry that decided a check of this request is the one its
 * audit record names. */
static void
note_oncall(const struct policy_actor *who, int64_t entry_id, bool denied)
{
	if (who->use == NULL || who->use->entry_id != 0)
		return;
	who->use->entry_id = entry_id;
	who->use->denied = denied;
}

static int
deny(struct rk_status *st, const char *msg)
{
	return rk_fail(st, RK_ERR_DENIED, msg, NULL);
}

static int
state_fail(struct rk_status *st, const char *msg)
{
	return rk_fail(st, RK_ERR_PRECONDITION, msg, NULL);
}

int
policy_check(const struct policy_actor *who, const struct policy_membership *m,
             enum policy_op op, int visibility, struct rk_status *st)
{
	int maxvis = policy_max_visibility(who->profession);
	int p = who->profession;
	bool member = m->on_sheet && m->active;
	bool oncall = !member && m->oncall;
	bool read_only = member && m->read_only;
	bool primary_dr = p == PROF_PHYSICIAN && member && m->primary;
	int hs = m->handoff_state;

	/* Operations that do not need access to the board first. */
	switch (op) {
	case POLICY_BREAKGLASS:
		if (p != PROF_PHYSICIAN && p != PROF_NURSE)
			return deny(st, "only physicians and nurses may break the glass");
		if (!m->patient_exists)
			return rk_fail(st, RK_ERR_DENIED, POLICY_NO_ACCESS, "patient");
		if (member)
			return state_fail(st, "you are on this patient's liaison sheet "
			                      "already: no need to break the glass");
		return RK_OK;
	case POLICY_HANDOFF_OPEN:
		/* For an existing patient; a new patient is checked by the
		 * caller (MSW only). */
		if (p != PROF_MSW)
			return deny(st, "only the hospital discharge team opens a hand-off");
		if (!member)
			return rk_fail(st, RK_ERR_DENIED, POLICY_NO_ACCESS, "patient");
		if (hs != HANDOFF_NONE && hs != HANDOFF_ACCEPTED)
			return state_fail(st, "a hand-off is already in progress");
		return RK_OK;
	default:
		break;
	}

	if (maxvis == VIS_NONE)
		return deny(st, "your role has no access to clinical content");
	if (oncall && (op == POLICY_READ || op == POLICY_ACK ||
	               op == POLICY_POST || op == POLICY_SHEET_VIEW)) {
		note_oncall(who, m->oncall_entry_id, false);
	} else if (oncall) {
		return deny(st, "on-call access reads and posts on the board; it does "
		                "not change the sheet");
	} else if (!member && !(m->breakglass &&
	                        (op == POLICY_READ || op == POLICY_ACK ||
	                         op == POLICY_SHEET_VIEW))) {
		/* Not on the sheet, before one's start, after one's end (or
		 * one's on-call shift's): the same bytes as a patient that
		 * does not exist, so that no answer tells which patients
		 * exist. */
		if (m->oncall_ended_id != 0)
			note_oncall(who, m->oncall_ended_id, true);
		return rk_fail(st, RK_ERR_DENIED, POLICY_NO_ACCESS, "patient");
	}

	switch (op) {
	case POLICY_READ:
	case POLICY_ACK:
		/* A post above the actor's mark is, to them, not there. */
		if (visibility > maxvis)
			return rk_fail(st, RK_ERR_NOT_FOUND, "no such post", "post_id");
		return RK_OK;
	case POLICY_POST:
		if (read_only)
			return deny(st, "your access to this board is read-only now");
		if (visibility > maxvis)
			return rk_fail(st, RK_ERR_DENIED,
			               "your role may not post with this visibility",
			               "visibility");
		return RK_OK;
	case POLICY_SHEET_VIEW:
		return RK_OK;
	case POLICY_SHEET_EDIT:
	case POLICY_CALLORDER_SET:
		if (m->read_only)
			return deny(st, "your access to this board is read-only now");
		if (primary_dr || p == PROF_CARE_MANAGER || p == PROF_COMMUNITY_CENTER)
			return RK_OK;
		if (p == PROF_MSW && hs >= HANDOFF_OPEN && hs <= HANDOFF_CONFERENCE_SET)
			return RK_OK;
		return deny(st, "only the primary physician, the care manager or the "
		                "community centre may change the liaison sheet");
	case POLICY_HANDOFF_PROPOSE:
	case POLICY_HANDOFF_CONFERENCE:
		if (p != PROF_MSW)
			return deny(st, "only the hospital discharge team does this step");
		if (hs == HANDOFF_NONE || hs == HANDOFF_ACCEPTED)
			return state_fail(st, "no hand-off is in progress");
		if (op == POLICY_HANDOFF_CONFERENCE && hs == HANDOFF_OPEN)
			return state_fail(st, "propose the home team before the conference");
		if (m->read_only)
			return deny(st, "your access to this board is read-only now");
		return RK_OK;
	case POLICY_HANDOFF_ACCEPT:
		if (!(primary_dr || p == PROF_CARE_MANAGER) || m->read_only)
			return deny(st, "only the home primary physician or the care "
			                "manager accepts a hand-off");
		if (hs != HANDOFF_CONFERENCE_SET)
			return state_fail(st, hs == HANDOFF_ACCEPTED
			                          ? "the hand-off was accepted already"
			                          : "the hand-off is not ready: it needs a "
			                            "proposed team and a conference date");
		return RK_OK;
	case POLICY_FAMILY_INVITE:
		if (primary_dr || (p == PROF_CARE_MANAGER && !m->read_only))
			return RK_OK;
		return deny(st, "only the primary physician or the care manager invites "
		                "family");
	case POLICY_BREAKGLASS:
	case POLICY_HANDOFF_OPEN:
		break; /* handled above */
	}
	return deny(st, POLICY_NO_ACCESS);
}
