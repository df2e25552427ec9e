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

int
policy_membership_load(struct store_conn *sc, int64_t user_id,
                       int64_t patient_id, int64_t now_ms,
                       struct policy_membership *m)
{
	/* A user may have several rows over time; prefer one valid now. */
	sqlite3_stmt *q = store_stmt(
		sc, "SELECT is_primary, valid_from_ms, valid_until_ms FROM "
		    "sheet_members WHERE user_id = ?1 AND patient_id = ?2 ORDER BY "
		    "(valid_from_ms <= ?3 AND (valid_until_ms = 0 OR "
		    "valid_until_ms > ?3)) DESC, id DESC LIMIT 1");
	int rc;

	m->on_sheet = m->active = m->primary = false;
	m->valid_from_ms = m->valid_until_ms = 0;
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
		m->active = m->valid_from_ms <= now_ms &&
		            (m->valid_until_ms == 0 || m->valid_until_ms > now_ms);
	}
	sqlite3_reset(q);
	return RK_OK;
}

int
policy_check(const struct policy_actor *who, const struct policy_membership *m,
             enum policy_op op, int visibility, struct rk_status *st)
{
	int maxvis = policy_max_visibility(who->profession);

	if (maxvis == VIS_NONE)
		return rk_fail(st, RK_ERR_DENIED,
		               "your role has no access to clinical content", NULL);
	if (!m->on_sheet)
		return rk_fail(st, RK_ERR_DENIED, POLICY_NO_ACCESS, "patient");
	if (!m->active)
		return rk_fail(st, RK_ERR_DENIED,
		               "your place on this patient's liaison sheet is not "
		               "valid at this time",
		               "patient");
	switch (op) {
	case POLICY_READ:
	case POLICY_ACK:
		/* A post above the actor's mark is, to them, not there. */
		if (visibility > maxvis)
			return rk_fail(st, RK_ERR_NOT_FOUND, "no such post", "post_id");
		return RK_OK;
	case POLICY_POST:
		if (visibility > maxvis)
			return rk_fail(st, RK_ERR_DENIED,
			               "your role may not post with this visibility",
			               "visibility");
		return RK_OK;
	case POLICY_SHEET_VIEW:
		return RK_OK;
	}
	return rk_fail(st, RK_ERR_DENIED, POLICY_NO_ACCESS, NULL);
}
