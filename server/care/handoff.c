/*
 * Discharge hand-off (退院連携): a state machine per patient.
 *
 *   NONE ──open──▶ OPEN ──propose──▶ PROPOSED ──conference──▶ CONFERENCE_SET
 *                    ▲                  │  ▲                      │  │
 *                    │                  └──┘ propose again        │  │ propose /
 *                    │                                            │  │ conference again
 *   ACCEPTED ◀──────────────────────────accept────────────────────┘◀─┘
 *      └──open (a later admission)──▶ OPEN
 *
 * Who may take each step is policy (policy.c); this file enforces the
 * states. On accept, every sheet member from the hospital (the hand-off's
 * organisation) becomes read-only, and their place on the sheet ends
 * after the configured period.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "care/care.h"
#include "care/internal.h"
#include "util/mem.h"
#include "util/text.h"

static int
handoff_load(struct store_conn *sc, int64_t pid, struct care_handoff *h)
{
	sqlite3_stmt *q = store_stmt(
		sc, "SELECT h.state, coalesce(o.code, ''), h.discharge_date, "
		    "h.conference_at, coalesce(a.login, ''), coalesce(a.display_name, ''), "
		    "coalesce(a.profession, 0), coalesce(b.login, ''), "
		    "coalesce(b.display_name, ''), coalesce(b.profession, 0), "
		    "h.accepted_ms, h.hospital_until_ms, p.code FROM handoffs h "
		    "JOIN patients p ON p.id = h.patient_id "
		    "LEFT JOIN orgs o ON o.id = h.from_org_id "
		    "LEFT JOIN users a ON a.id = h.opened_by "
		    "LEFT JOIN users b ON b.id = h.accepted_by WHERE h.patient_id = ?");
	int rc;

	memset(h, 0, sizeof(*h));
	h->patient_id = pid;
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, pid);
	rc = store_step(sc, q);
	if (rc < 0)
		return RK_ERR_STORE;
	if (rc == SQLITE_ROW) {
		h->state = sqlite3_column_int(q, 0);
		care_col(h->from_org, sizeof(h->from_org), q, 1);
		care_col(h->discharge_date, sizeof(h->discharge_date), q, 2);
		care_col(h->conference_at, sizeof(h->conference_at), q, 3);
		care_col(h->opened_by.login, sizeof(h->opened_by.login), q, 4);
		care_col(h->opened_by.display_name, sizeof(h->opened_by.display_name), q, 5);
		h->opened_by.profession = sqlite3_column_int(q, 6);
		care_col(h->accepted_by.login, sizeof(h->accepted_by.login), q, 7);
		care_col(h->accepted_by.display_name, sizeof(h->accepted_by.display_name),
		         q, 8);
		h->accepted_by.profession = sqlite3_column_int(q, 9);
		h->accepted_ms = sqlite3_column_int64(q, 10);
		h->hospital_until_ms = sqlite3_column_int64(q, 11);
		care_col(h->patient_code, sizeof(h->patient_code), q, 12);
	}
	sqlite3_reset(q);
	return RK_OK;
}

static int
set_state(struct store_conn *sc, int64_t pid, int state)
{
	sqlite3_stmt *q = store_stmt(sc, "UPDATE handoffs SET state = ? WHERE "
	                                 "patient_id = ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int(q, 1, state);
	sqlite3_bind_int64(q, 2, pid);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

/* Resolve the patient and ask the policy for `op`. */
static int
step_check(struct store_conn *sc, const struct policy_actor *who,
           const char *code, int64_t now_ms, enum policy_op op, int64_t *pid,
           struct rk_status *st)
{
	*pid = care_patient_id(sc, code);
	if (*pid < 0)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return care_member_check(sc, who, *pid, now_ms, op, 0, st);
}

static bool
date_ok(const char *d)
{
	return d == NULL || d[0] == '\0' || care_date_to_ms(d, false) != INT64_MIN;
}

int
care_handoff_open(struct store_conn *sc, const struct policy_actor *who,
                  const char *code, const struct care_new_patient *np,
                  const char *discharge_date, const char *summary,
                  const char *client_id, int64_t now_ms,
                  struct care_handoff *out, struct care_post *post,
                  struct rk_status *st)
{
	struct auth_user me;
	sqlite3_stmt *q;
	int64_t pid;
	int rc;

	memset(post, 0, sizeof(*post));
	if (!date_ok(discharge_date))
		return rk_fail(st, RK_ERR_INVALID, "dates are YYYY-MM-DD", "discharge_date");
	if (auth_user_load(sc, NULL, who->user_id, &me) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	pid = care_patient_id(sc, code);
	if (pid < 0)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	if (pid == 0 && np != NULL && np->present) {
		/* A new patient: the hospital creates the board. */
		struct care_patient_input in = np->in;
		if (who->profession != PROF_MSW)
			return rk_fail(st, RK_ERR_DENIED,
			               "only the hospital discharge team opens a hand-off",
			               NULL);
		in.code = code;
		rc = care_patient_add(sc, &in, now_ms, &pid, st);
		if (rc != RK_OK)
			return rc;
		rc = care_sheet_add(sc, pid, me.login, "病院 医療連携室（退院調整）", false,
		                    now_ms, 0, who->user_id, now_ms, st);
		if (rc != RK_OK)
			return rc;
		if (care_history_add(sc, pid, who->user_id, "add", who->user_id,
		                     "hand-off: hospital opened the board", now_ms))
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	} else {
		rc = care_member_check(sc, who, pid, now_ms, POLICY_HANDOFF_OPEN, 0, st);
		if (rc != RK_OK)
			return rc;
	}
	/* The summary is a post: its client id must be new on this board,
	 * checked before the hand-off is written (a board just made has no
	 * posts yet). */
	if (summary != NULL && summary[0] != '\0') {
		rc = care_client_id_unused(sc, who->user_id, pid, client_id, st);
		if (rc != RK_OK)
			return rc;
	}
	q = store_stmt(sc, "INSERT OR REPLACE INTO handoffs(patient_id, state, "
	                   "from_org_id, discharge_date, conference_at, opened_by, "
	                   "opened_ms) VALUES (?,?,?,?,'',?,?)");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_int64(q, 1, pid);
	sqlite3_bind_int(q, 2, HANDOFF_OPEN);
	if (me.org_id)
		sqlite3_bind_int64(q, 3, me.org_id);
	else
		sqlite3_bind_null(q, 3);
	sqlite3_bind_text(q, 4, discharge_date ? discharge_date : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, who->user_id);
	sqlite3_bind_int64(q, 6, now_ms);
	if (store_step(sc, q) != SQLITE_DONE ||
	    care_history_add(sc, pid, who->user_id, "handoff", 0, "opened", now_ms))
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	if (summary != NULL && summary[0] != '\0') {
		struct care_post_input in = {
			.client_id = client_id, .kind = KIND_HANDOFF,
			.visibility = VIS_CLINICAL, .text = summary,
		};
		rc = care_post_input_check(&in, st);
		if (rc != RK_OK)
			return rc;
		rc = care_insert_post(sc, pid, who->user_id, &in, 0, 0, now_ms, post, st);
		if (rc != RK_OK)
			return rc;
	}
	if (handoff_load(sc, pid, out) != RK_OK) {
		care_post_fini(post);
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	}
	return RK_OK;
}

int
care_handoff_propose(struct store_conn *sc, const struct policy_actor *who,
                     const char *code, const struct care_proposed *members,
                     size_t n, int64_t now_ms, struct care_handoff *out,
                     struct care_access_change *changes, struct rk_status *st)
{
	int64_t pid;
	int rc = step_check(sc, who, code, now_ms, POLICY_HANDOFF_PROPOSE, &pid, st);

	if (rc != RK_OK)
		return rc;
	if (n == 0)
		return rk_fail(st, RK_ERR_INVALID, "propose at least one member",
		               "members");
	for (size_t i = 0; i < n; i++) {
		struct care_sheet_input in = {
			.login = members[i].login,
			.team_role = members[i].team_role,
			.set_primary = true,
			.primary = members[i].primary,
		};
		struct auth_user u;
		if (auth_user_load(sc, members[i].login, 0, &u) != RK_OK)
			return rk_fail(st, RK_ERR_NOT_FOUND, "no such user", "members.login");
		/* Already on the sheet: update the role; else add. */
		struct policy_membership m;
		if (policy_membership_load(sc, u.id, pid, now_ms, &m) != RK_OK)
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
		if (m.on_sheet && m.active)
			rc = care_sheet_member_change(sc, who, code, &in, now_ms, &changes[i], st);
		else
			rc = care_sheet_member_add(sc, who, code, &in, now_ms, &changes[i], st);
		if (rc != RK_OK)
			return rc;
	}
	if (set_state(sc, pid, HANDOFF_PROPOSED) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	/* Proposing again after the conference keeps the conference. */
	{
		sqlite3_stmt *q = store_stmt(sc, "UPDATE handoffs SET state = ? WHERE "
		                                 "patient_id = ? AND conference_at != ''");
		if (q == NULL)
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
		sqlite3_bind_int(q, 1, HANDOFF_CONFERENCE_SET);
		sqlite3_bind_int64(q, 2, pid);
		if (store_step(sc, q) != SQLITE_DONE)
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	}
	if (care_history_add(sc, pid, who->user_id, "handoff", 0, "home team proposed",
	                     now_ms) != RK_OK ||
	    handoff_load(sc, pid, out) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return RK_OK;
}

int
care_handoff_conference(struct store_conn *sc, const struct policy_actor *who,
                        const char *code, const char *conference_at,
                        int64_t now_ms, struct care_handoff *out,
                        struct rk_status *st)
{
	int64_t pid;
	sqlite3_stmt *q;
	int y, mo, d;
	int rc = step_check(sc, who, code, now_ms, POLICY_HANDOFF_CONFERENCE, &pid, st);

	if (rc != RK_OK)
		return rc;
	if (conference_at == NULL || strlen(conference_at) < 10 ||
	    strlen(conference_at) > 35 ||
	    sscanf(conference_at, "%4d-%2d-%2d", &y, &mo, &d) != 3 || mo < 1 ||
	    mo > 12 || d < 1 || d > 31)
		return rk_fail(st, RK_ERR_INVALID,
		               "the conference time is ISO 8601, e.g. "
		               "2026-11-21T14:00:00+09:00",
		               "conference_at");
	q = store_stmt(sc, "UPDATE handoffs SET state = ?, conference_at = ? WHERE "
	                   "patient_id = ?");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_int(q, 1, HANDOFF_CONFERENCE_SET);
	sqlite3_bind_text(q, 2, conference_at, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, pid);
	if (store_step(sc, q) != SQLITE_DONE ||
	    care_history_add(sc, pid, who->user_id, "handoff", 0,
	                     "discharge conference recorded", now_ms) != RK_OK ||
	    handoff_load(sc, pid, out) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return RK_OK;
}

int
care_handoff_accept(struct store_conn *sc, const struct policy_actor *who,
                    const char *code, int64_t now_ms, int64_t readonly_ms,
                    struct care_handoff *out,
                    struct care_access_change **changes, size_t *nchanges,
                    struct rk_status *st)
{
	int64_t pid, until = now_ms + readonly_ms;
	sqlite3_stmt *q;
	size_t cap = 0;
	int rc = step_check(sc, who, code, now_ms, POLICY_HANDOFF_ACCEPT, &pid, st);

	*changes = NULL;
	*nchanges = 0;
	if (rc != RK_OK)
		return rc;
	/* Hospital members: valid now, of the hand-off's organisation. */
	q = store_stmt(sc, "SELECT m.id, m.user_id FROM sheet_members m "
	                   "JOIN users u ON u.id = m.user_id "
	                   "JOIN handoffs h ON h.patient_id = m.patient_id "
	                   "WHERE m.patient_id = ?1 AND u.org_id = h.from_org_id AND "
	                   "m.valid_from_ms <= ?2 AND (m.valid_until_ms = 0 OR "
	                   "m.valid_until_ms > ?2)");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_int64(q, 1, pid);
	sqlite3_bind_int64(q, 2, now_ms);
	int64_t (*rows)[2] = NULL;
	size_t nrows = 0;
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		if (nrows == cap) {
			cap = cap ? cap * 2 : 4;
			rows = rk_realloc(rows, cap * sizeof(*rows));
		}
		rows[nrows][0] = sqlite3_column_int64(q, 0);
		rows[nrows][1] = sqlite3_column_int64(q, 1);
		nrows++;
	}
	sqlite3_reset(q);
	if (rc < 0)
		goto fail;
	*changes = rk_calloc(nrows + 1, sizeof(**changes));
	for (size_t i = 0; i < nrows; i++) {
		q = store_stmt(sc, "UPDATE sheet_members SET read_only = 1, "
		                   "valid_until_ms = CASE WHEN valid_until_ms = 0 OR "
		                   "valid_until_ms > ?1 THEN ?1 ELSE valid_until_ms END "
		                   "WHERE id = ?2");
		if (q == NULL)
			goto fail;
		sqlite3_bind_int64(q, 1, until);
		sqlite3_bind_int64(q, 2, rows[i][0]);
		if (store_step(sc, q) != SQLITE_DONE ||
		    care_history_add(sc, pid, who->user_id, "handoff", rows[i][1],
		                     "hand-off accepted: read-only", now_ms) != RK_OK)
			goto fail;
		/* Read-only members still see what they saw, until the end. */
		struct auth_user u;
		if (auth_user_load(sc, NULL, rows[i][1], &u) != RK_OK)
			goto fail;
		(*changes)[i].user_id = rows[i][1];
		(*changes)[i].patient_id = pid;
		(*changes)[i].max_visibility = policy_max_visibility(u.profession);
		(*changes)[i].until_ms = until;
	}
	*nchanges = nrows;
	q = store_stmt(sc, "UPDATE handoffs SET state = ?, accepted_by = ?, "
	                   "accepted_ms = ?, hospital_until_ms = ? WHERE patient_id = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int(q, 1, HANDOFF_ACCEPTED);
	sqlite3_bind_int64(q, 2, who->user_id);
	sqlite3_bind_int64(q, 3, now_ms);
	sqlite3_bind_int64(q, 4, until);
	sqlite3_bind_int64(q, 5, pid);
	if (store_step(sc, q) != SQLITE_DONE ||
	    care_history_add(sc, pid, who->user_id, "handoff", 0, "accepted",
	                     now_ms) != RK_OK ||
	    handoff_load(sc, pid, out) != RK_OK)
		goto fail;
	free(rows);
	return RK_OK;
fail:
	free(rows);
	free(*changes);
	*changes = NULL;
	*nchanges = 0;
	return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
}

int
care_handoff_get(struct store_conn *sc, const struct policy_actor *who,
                 const char *code, int64_t now_ms, struct care_handoff *out,
                 struct rk_status *st)
{
	int64_t pid;
	int rc = step_check(sc, who, code, now_ms, POLICY_SHEET_VIEW, &pid, st);

	if (rc != RK_OK)
		return rc;
	if (handoff_load(sc, pid, out) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	snprintf(out->patient_code, sizeof(out->patient_code), "%s", code);
	return RK_OK;
}

int
care_handoff_import(struct store_conn *sc, int64_t patient_id, int state,
                    const char *opened_by, const char *discharge_date,
                    const char *conference_at, int64_t now_ms,
                    struct rk_status *st)
{
	struct auth_user u;
	sqlite3_stmt *q;

	if (state < HANDOFF_OPEN || state > HANDOFF_CONFERENCE_SET)
		return rk_fail(st, RK_ERR_INVALID, "hand-off state: open, proposed or "
		                                   "conference", "state");
	if (opened_by == NULL || auth_user_load(sc, opened_by, 0, &u) != RK_OK ||
	    u.profession != PROF_MSW)
		return rk_fail(st, RK_ERR_INVALID, "opened_by must be an MSW", "opened_by");
	if (!date_ok(discharge_date))
		return rk_fail(st, RK_ERR_INVALID, "dates are YYYY-MM-DD", "discharge_date");
	q = store_stmt(sc, "INSERT INTO handoffs(patient_id, state, from_org_id, "
	                   "discharge_date, conference_at, opened_by, opened_ms) "
	                   "VALUES (?,?,?,?,?,?,?)");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	sqlite3_bind_int64(q, 1, patient_id);
	sqlite3_bind_int(q, 2, state);
	sqlite3_bind_int64(q, 3, u.org_id);
	sqlite3_bind_text(q, 4, discharge_date ? discharge_date : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, conference_at ? conference_at : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, u.id);
	sqlite3_bind_int64(q, 7, now_ms);
	if (store_step(sc, q) != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	return RK_OK;
}
