/*
 * The liaison sheet (連携シート): adding, changing and ending members,
 * its history, break-glass grants and family invitations, and reading
 * and adding its rows.
 *
 * A member has at most one row valid at a time. Ending a member sets the
 * row's end to now (rows are kept: they are the record of who had access
 * when); every change also appends to sheet_history, which, like posts,
 * refuses UPDATE and DELETE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "care/care.h"
#include "care/internal.h"
#include "util/mem.h"
#include "util/text.h"

#define BREAKGLASS_REASON_MIN 10 /* characters other than spaces */

int
care_history_add(struct store_conn *sc, int64_t patient_id, int64_t by_user_id,
                 const char *action, int64_t member_user_id, const char *detail,
                 int64_t now_ms)
{
	sqlite3_stmt *q = store_stmt(sc, "INSERT INTO sheet_history(patient_id, "
	                                 "at_ms, by_user_id, action, member_user_id, "
	                                 "detail) VALUES (?,?,?,?,?,?)");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, patient_id);
	sqlite3_bind_int64(q, 2, now_ms);
	if (by_user_id)
		sqlite3_bind_int64(q, 3, by_user_id);
	else
		sqlite3_bind_null(q, 3);
	sqlite3_bind_text(q, 4, action, -1, SQLITE_STATIC);
	if (member_user_id)
		sqlite3_bind_int64(q, 5, member_user_id);
	else
		sqlite3_bind_null(q, 5);
	sqlite3_bind_text(q, 6, detail ? detail : "", -1, SQLITE_STATIC);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

/* What `user_id` may see on the board now, for live subscriptions. */
static int
access_now(struct store_conn *sc, int64_t user_id, int64_t patient_id,
           int64_t now_ms, struct care_access_change *ch)
{
	struct policy_membership m;
	struct auth_user u;
	struct policy_actor a;
	struct rk_status ignore;

	ch->user_id = user_id;
	ch->patient_id = patient_id;
	ch->max_visibility = VIS_NONE;
	ch->until_ms = 0;
	if (auth_user_load(sc, NULL, user_id, &u) != RK_OK ||
	    policy_membership_load(sc, user_id, patient_id, now_ms, &m) != RK_OK)
		return RK_ERR_STORE;
	a.user_id = user_id;
	a.profession = u.profession;
	if (policy_check(&a, &m, POLICY_READ, 0, &ignore) == RK_OK) {
		ch->max_visibility = policy_max_visibility(u.profession);
		ch->until_ms = policy_access_until(&m);
	}
	return RK_OK;
}

/* The patient and the actor's right to edit its sheet. */
static int
editable(struct store_conn *sc, const struct policy_actor *who, const char *code,
         int64_t now_ms, int64_t *pid, struct rk_status *st)
{
	*pid = care_patient_id(sc, code);
	if (*pid < 0)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return care_member_check(sc, who, *pid, now_ms, POLICY_SHEET_EDIT, 0, st);
}

static int
date_arg(const char *s, bool end, int64_t *ms, const char *field,
         struct rk_status *st)
{
	if (s == NULL || s[0] == '\0')
		return RK_OK;
	*ms = care_date_to_ms(s, end);
	if (*ms == INT64_MIN)
		return rk_fail(st, RK_ERR_INVALID, "dates are YYYY-MM-DD", field);
	return RK_OK;
}

/* The member's row valid now (or starting later), id 0 if none. */
static int64_t
current_row(struct store_conn *sc, int64_t pid, int64_t uid, int64_t now_ms)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT id FROM sheet_members WHERE "
	                                 "patient_id = ?1 AND user_id = ?2 AND "
	                                 "(valid_until_ms = 0 OR valid_until_ms > ?3) "
	                                 "ORDER BY id DESC LIMIT 1");
	int64_t id = 0;

	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, pid);
	sqlite3_bind_int64(q, 2, uid);
	sqlite3_bind_int64(q, 3, now_ms);
	if (sqlite3_step(q) == SQLITE_ROW)
		id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return id;
}

int
care_sheet_member_add(struct store_conn *sc, const struct policy_actor *who,
                      const char *code, const struct care_sheet_input *in,
                      int64_t now_ms, struct care_access_change *change,
                      struct rk_status *st)
{
	struct auth_user u;
	int64_t pid, from = now_ms, until = 0;
	char detail[256];
	int rc;

	rc = editable(sc, who, code, now_ms, &pid, st);
	if (rc != RK_OK)
		return rc;
	if (date_arg(in->valid_from, false, &from, "valid_from", st) ||
	    date_arg(in->valid_until, true, &until, "valid_until", st))
		return st->err;
	if (in->login == NULL || auth_user_load(sc, in->login, 0, &u) != RK_OK)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such user", "login");
	if (u.disabled)
		return rk_fail(st, RK_ERR_PRECONDITION, "this account is disabled", "login");
	if (policy_max_visibility(u.profession) == VIS_NONE)
		return rk_fail(st, RK_ERR_INVALID,
		               "auditors and administrators are never on a sheet", "login");
	if (current_row(sc, pid, u.id, now_ms) != 0)
		return rk_fail(st, RK_ERR_EXISTS, "already on this patient's sheet",
		               "login");
	rc = care_sheet_add(sc, pid, in->login, in->team_role ? in->team_role : "",
	                    in->primary, from, until, who->user_id, now_ms, st);
	if (rc != RK_OK)
		return rc;
	if (in->contact && in->contact[0]) {
		sqlite3_stmt *q = store_stmt(sc, "UPDATE sheet_members SET contact = ? "
		                                 "WHERE id = last_insert_rowid()");
		if (q == NULL)
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
		sqlite3_bind_text(q, 1, in->contact, -1, SQLITE_STATIC);
		if (store_step(sc, q) != SQLITE_DONE)
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	}
	snprintf(detail, sizeof(detail), "role=%s primary=%d from=%s until=%s",
	         in->team_role ? in->team_role : "", in->primary,
	         in->valid_from ? in->valid_from : "",
	         in->valid_until ? in->valid_until : "");
	if (care_history_add(sc, pid, who->user_id, "add", u.id, detail, now_ms) ||
	    access_now(sc, u.id, pid, now_ms, change))
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return RK_OK;
}

int
care_sheet_member_change(struct store_conn *sc, const struct policy_actor *who,
                         const char *code, const struct care_sheet_input *in,
                         int64_t now_ms, struct care_access_change *change,
                         struct rk_status *st)
{
	struct auth_user u;
	int64_t pid, row, from = -1, until = -1;
	char detail[256];
	sqlite3_stmt *q;
	int rc;

	rc = editable(sc, who, code, now_ms, &pid, st);
	if (rc != RK_OK)
		return rc;
	if (date_arg(in->valid_from, false, &from, "valid_from", st) ||
	    date_arg(in->valid_until, true, &until, "valid_until", st))
		return st->err;
	if (in->login == NULL || auth_user_load(sc, in->login, 0, &u) != RK_OK)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such user", "login");
	row = current_row(sc, pid, u.id, now_ms);
	if (row <= 0)
		return rk_fail(st, RK_ERR_NOT_FOUND, "not on this patient's sheet", "login");
	if (in->team_role && in->team_role[0] &&
	    (strlen(in->team_role) > CARE_NAME_MAX))
		return rk_fail(st, RK_ERR_INVALID, "team role is too long", "team_role");
	q = store_stmt(sc, "UPDATE sheet_members SET "
	                   "team_role = CASE WHEN ?1 = '' THEN team_role ELSE ?1 END, "
	                   "is_primary = CASE WHEN ?2 THEN ?3 ELSE is_primary END, "
	                   "valid_from_ms = CASE WHEN ?4 < 0 THEN valid_from_ms ELSE ?4 END, "
	                   "valid_until_ms = CASE WHEN ?5 < 0 THEN valid_until_ms ELSE ?5 END, "
	                   "contact = CASE WHEN ?6 = '' THEN contact ELSE ?6 END "
	                   "WHERE id = ?7");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_text(q, 1, in->team_role ? in->team_role : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, in->set_primary);
	sqlite3_bind_int(q, 3, in->primary);
	sqlite3_bind_int64(q, 4, from);
	sqlite3_bind_int64(q, 5, until);
	sqlite3_bind_text(q, 6, in->contact ? in->contact : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, row);
	if (store_step(sc, q) != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	/* The end may not come before the start. */
	q = store_stmt(sc, "SELECT valid_until_ms = 0 OR valid_until_ms > "
	                   "valid_from_ms FROM sheet_members WHERE id = ?");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_int64(q, 1, row);
	if (store_step(sc, q) != SQLITE_ROW || sqlite3_column_int(q, 0) == 0) {
		sqlite3_reset(q);
		return rk_fail(st, RK_ERR_INVALID, "the end must come after the start",
		               "valid_until");
	}
	sqlite3_reset(q);
	snprintf(detail, sizeof(detail), "role=%s primary=%s from=%s until=%s",
	         in->team_role ? in->team_role : "",
	         in->set_primary ? (in->primary ? "1" : "0") : "",
	         in->valid_from ? in->valid_from : "",
	         in->valid_until ? in->valid_until : "");
	if (care_history_add(sc, pid, who->user_id, "change", u.id, detail, now_ms) ||
	    access_now(sc, u.id, pid, now_ms, change))
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return RK_OK;
}

int
care_sheet_member_end(struct store_conn *sc, const struct policy_actor *who,
                      const char *code, const char *login, const char *reason,
                      int64_t now_ms, struct care_access_change *change,
                      struct rk_status *st)
{
	struct auth_user u;
	int64_t pid, row;
	sqlite3_stmt *q;
	int rc;

	rc = editable(sc, who, code, now_ms, &pid, st);
	if (rc != RK_OK)
		return rc;
	if (login == NULL || auth_user_load(sc, login, 0, &u) != RK_OK)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such user", "login");
	row = current_row(sc, pid, u.id, now_ms);
	if (row <= 0)
		return rk_fail(st, RK_ERR_NOT_FOUND, "not on this patient's sheet", "login");
	/* A row that had not started yet ends before it starts: make it an
	 * empty interval that is still kept. */
	q = store_stmt(sc, "UPDATE sheet_members SET valid_until_ms = max(?1, "
	                   "valid_from_ms + 1) WHERE id = ?2");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_int64(q, 2, row);
	if (store_step(sc, q) != SQLITE_DONE ||
	    care_history_add(sc, pid, who->user_id, "end", u.id, reason, now_ms) ||
	    access_now(sc, u.id, pid, now_ms + 1, change))
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return RK_OK;
}

int
care_sheet_history(struct store_conn *sc, const struct policy_actor *who,
                   const char *code, int64_t now_ms,
                   struct care_history_entry **out, size_t *n,
                   struct rk_status *st)
{
	sqlite3_stmt *q;
	int64_t pid = care_patient_id(sc, code);
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (pid < 0)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	rc = care_member_check(sc, who, pid, now_ms, POLICY_SHEET_VIEW, 0, st);
	if (rc != RK_OK)
		return rc;
	q = store_stmt(sc, "SELECT h.at_ms, h.action, h.detail, coalesce(b.id, 0), "
	                   "coalesce(b.login, ''), coalesce(b.display_name, ''), "
	                   "coalesce(b.profession, 0), coalesce(m.id, 0), "
	                   "coalesce(m.login, ''), coalesce(m.display_name, ''), "
	                   "coalesce(m.profession, 0) FROM sheet_history h "
	                   "LEFT JOIN users b ON b.id = h.by_user_id "
	                   "LEFT JOIN users m ON m.id = h.member_user_id "
	                   "WHERE h.patient_id = ? ORDER BY h.id");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_int64(q, 1, pid);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		struct care_history_entry *e;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = rk_realloc(*out, cap * sizeof(**out));
		}
		e = &(*out)[(*n)++];
		memset(e, 0, sizeof(*e));
		e->at_ms = sqlite3_column_int64(q, 0);
		care_col(e->action, sizeof(e->action), q, 1);
		care_col(e->detail, sizeof(e->detail), q, 2);
		e->by.user_id = sqlite3_column_int64(q, 3);
		care_col(e->by.login, sizeof(e->by.login), q, 4);
		care_col(e->by.display_name, sizeof(e->by.display_name), q, 5);
		e->by.profession = sqlite3_column_int(q, 6);
		e->member.user_id = sqlite3_column_int64(q, 7);
		care_col(e->member.login, sizeof(e->member.login), q, 8);
		care_col(e->member.display_name, sizeof(e->member.display_name), q, 9);
		e->member.profession = sqlite3_column_int(q, 10);
	}
	sqlite3_reset(q);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	}
	return RK_OK;
}

int
care_breakglass(struct store_conn *sc, const struct policy_actor *who,
                const char *code, const char *reason, int64_t now_ms,
                int64_t breakglass_ms, int64_t *expires_ms,
                struct care_post *post, struct rk_status *st)
{
	struct care_post_input in;
	sqlite3_stmt *q;
	int64_t pid;
	char client_id[CARE_CODE_MAX + 1];
	char *text;
	size_t tlen;
	int rc;

	if (rk_text_visible_len(reason, strlen(reason)) < BREAKGLASS_REASON_MIN)
		return rk_fail(st, RK_ERR_INVALID,
		               "give the emergency reason (at least 10 characters other than "
		               "spaces)",
		               "reason");
	pid = care_patient_id(sc, code);
	if (pid < 0)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	rc = care_member_check(sc, who, pid, now_ms, POLICY_BREAKGLASS, 0, st);
	if (rc != RK_OK)
		return rc;
	*expires_ms = now_ms + breakglass_ms;
	q = store_stmt(sc, "INSERT INTO breakglass(user_id, patient_id, reason, "
	                   "granted_ms, expires_ms) VALUES (?,?,?,?,?)");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_int64(q, 1, who->user_id);
	sqlite3_bind_int64(q, 2, pid);
	sqlite3_bind_text(q, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, now_ms);
	sqlite3_bind_int64(q, 5, *expires_ms);
	if (store_step(sc, q) != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);

	/* The team sees it on the board: a post in the break-glass user's
	 * name that everyone on the team may read. */
	tlen = strlen(reason) + 128;
	text = rk_malloc(tlen);
	snprintf(text, tlen, "緊急アクセス (break-glass) — 理由 / reason: %s", reason);
	/* A client id with a space: never one a client can send (see
	 * care_client_id_valid), so it cannot collide with the user's own. */
	snprintf(client_id, sizeof(client_id), "breakglass %lld",
	         (long long)sqlite3_last_insert_rowid(store_conn_db(sc)));
	memset(&in, 0, sizeof(in));
	in.client_id = client_id;
	in.kind = KIND_BREAK_GLASS;
	in.visibility = VIS_ALL;
	in.urgent = true;
	in.text = text;
	rc = care_insert_post(sc, pid, who->user_id, &in, 0, 0, now_ms, post, st);
	free(text);
	if (rc != RK_OK)
		return rc;
	if (care_history_add(sc, pid, who->user_id, "breakglass", who->user_id,
	                     "read-only emergency access", now_ms) != RK_OK) {
		care_post_fini(post);
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	}
	return RK_OK;
}

int
care_family_invite(struct store_conn *sc, const struct policy_actor *who,
                   const char *code, const char *login,
                   const char *display_name, const char *relation,
                   const char *pw_hash, int64_t now_ms, bool *created,
                   struct care_access_change *change, struct rk_status *st)
{
	struct auth_user u;
	int64_t pid;
	int rc;

	*created = false;
	pid = care_patient_id(sc, code);
	if (pid < 0)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	rc = care_member_check(sc, who, pid, now_ms, POLICY_FAMILY_INVITE, 0, st);
	if (rc != RK_OK)
		return rc;
	if (auth_user_load(sc, login, 0, &u) == RK_OK) {
		if (u.profession != PROF_FAMILY)
			return rk_fail(st, RK_ERR_EXISTS,
			               "this login belongs to a professional", "login");
	} else {
		rc = auth_user_add(sc, login, display_name, PROF_FAMILY, NULL, pw_hash, st);
		if (rc != RK_OK)
			return rc;
		if (auth_user_load(sc, login, 0, &u) != RK_OK)
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
		*created = true;
	}
	if (current_row(sc, pid, u.id, now_ms) != 0)
		return rk_fail(st, RK_ERR_EXISTS, "already on this patient's sheet",
		               "login");
	rc = care_sheet_add(sc, pid, login, relation, false, now_ms, 0, who->user_id,
	                    now_ms, st);
	if (rc != RK_OK)
		return rc;
	if (care_history_add(sc, pid, who->user_id, "family", u.id, relation,
	                     now_ms) != RK_OK ||
	    access_now(sc, u.id, pid, now_ms, change) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return RK_OK;
}

/* ------------------------------------------------------------ sheet rows */

#define MEMBER_COLS                                                            \
	"u.id, u.login, u.display_name, u.profession, coalesce(o.code, ''), "  \
	"coalesce(o.name, ''), m.team_role, m.is_primary, m.valid_from_ms, "   \
	"m.valid_until_ms, m.read_only, m.contact FROM sheet_members m "        \
	"JOIN users u ON u.id = m.user_id "                                   \
	"LEFT JOIN orgs o ON o.id = u.org_id "

static void
member_row(sqlite3_stmt *q, struct care_member *m)
{
	memset(m, 0, sizeof(*m));
	m->user_id = sqlite3_column_int64(q, 0);
	care_col(m->login, sizeof(m->login), q, 1);
	care_col(m->display_name, sizeof(m->display_name), q, 2);
	m->profession = sqlite3_column_int(q, 3);
	care_col(m->org_code, sizeof(m->org_code), q, 4);
	care_col(m->org_name, sizeof(m->org_name), q, 5);
	care_col(m->team_role, sizeof(m->team_role), q, 6);
	m->primary = sqlite3_column_int(q, 7) != 0;
	m->valid_from_ms = sqlite3_column_int64(q, 8);
	m->valid_until_ms = sqlite3_column_int64(q, 9);
	m->read_only = sqlite3_column_int(q, 10) != 0;
	care_col(m->contact, sizeof(m->contact), q, 11);
}

int
care_sheet_list(struct store_conn *sc, int64_t patient_id,
                struct care_member **out, size_t *n)
{
	return care_sheet_rows(sc, patient_id, 0, false, out, n);
}

int
care_sheet_rows(struct store_conn *sc, int64_t patient_id, int64_t now_ms,
              bool only_active, struct care_member **out, size_t *n)
{
	sqlite3_stmt *q;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	q = store_stmt(sc, "SELECT " MEMBER_COLS "WHERE m.patient_id = ?1 AND (?3 = 0 "
	                   "OR (m.valid_from_ms <= ?2 AND (m.valid_until_ms = 0 OR "
	                   "m.valid_until_ms > ?2))) ORDER BY m.is_primary DESC, m.id");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, patient_id);
	sqlite3_bind_int64(q, 2, now_ms);
	sqlite3_bind_int(q, 3, only_active);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = rk_realloc(*out, cap * sizeof(**out));
		}
		member_row(q, &(*out)[(*n)++]);
	}
	sqlite3_reset(q);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
		return RK_ERR_STORE;
	}
	return RK_OK;
}

int
care_sheet_add(struct store_conn *sc, int64_t patient_id, const char *login,
               const char *team_role, bool primary, int64_t valid_from_ms,
               int64_t valid_until_ms, int64_t added_by, int64_t now_ms,
               struct rk_status *st)
{
	struct auth_user u;
	sqlite3_stmt *q;

	if (auth_user_load(sc, login, 0, &u) != RK_OK)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such user", "login");
	if (!care_text_ok(team_role, CARE_NAME_MAX) || team_role[0] == '\0')
		return rk_fail(st, RK_ERR_INVALID, "team role is empty or invalid",
		               "team_role");
	if (valid_until_ms != 0 && valid_until_ms <= valid_from_ms)
		return rk_fail(st, RK_ERR_INVALID, "the end must come after the start",
		               "valid_until");
	q = store_stmt(sc, "INSERT INTO sheet_members(patient_id, user_id, team_role, "
	                   "is_primary, valid_from_ms, valid_until_ms, added_by, "
	                   "added_ms) VALUES (?,?,?,?,?,?,?,?)");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	sqlite3_bind_int64(q, 1, patient_id);
	sqlite3_bind_int64(q, 2, u.id);
	sqlite3_bind_text(q, 3, team_role, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 4, primary);
	sqlite3_bind_int64(q, 5, valid_from_ms);
	sqlite3_bind_int64(q, 6, valid_until_ms);
	if (added_by)
		sqlite3_bind_int64(q, 7, added_by);
	else
		sqlite3_bind_null(q, 7);
	sqlite3_bind_int64(q, 8, now_ms);
	if (store_step(sc, q) != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	return RK_OK;
}

int
care_user_on_a_sheet(struct store_conn *sc, int64_t user_id, int64_t now_ms,
                     bool *on)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT EXISTS (SELECT 1 FROM"
	                                 " sheet_members WHERE user_id = ? AND"
	                                 " (valid_until_ms = 0 OR"
	                                 " valid_until_ms > ?))");
	int rc;

	*on = true;
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, now_ms);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW)
		*on = sqlite3_column_int(q, 0) != 0;
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? RK_OK : RK_ERR_STORE;
}
