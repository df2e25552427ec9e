/*
 * Call order and on-call rota (oncall.h, docs/oncall.md); the escalation
 * that walks them is escalation.c.
 *
 * A member "in force" on a sheet, here: in its dates now and not
 * read-only. Only such members are called, and only their organisations
 * bring their on-call persons to a patient's board: a hospital whose team
 * is read-only after a hand-off is no longer the patient's team.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "care/care.h"
#include "care/internal.h"
#include "care/oncall.h"
#include "util/mem.h"

#define IN_FORCE(alias)                                                        \
	alias ".read_only = 0 AND " alias ".valid_from_ms <= ?3 AND (" alias     \
	".valid_until_ms = 0 OR " alias ".valid_until_ms > ?3)"

static int
store_fail(struct rk_status *st)
{
	return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
}

/* ------------------------------------------------------------ call order */

/* Messages name the slot; an rk_status holds static text only. */
#define SLOT_MSGS(text)                                                        \
	{"slot 1: " text, "slot 2: " text, "slot 3: " text, "slot 4: " text,   \
	 "slot 5: " text, "slot 6: " text, "slot 7: " text, "slot 8: " text}
static const char *const slot_msgs[][CARE_CALL_SLOTS_MAX] = {
	[CARE_CALL_EMPTY] = SLOT_MSGS("a call slot names no one"),
	[CARE_CALL_CROWDED] = SLOT_MSGS("at most 8 people in one call slot"),
	[CARE_CALL_UNKNOWN] = SLOT_MSGS("no such user"),
	[CARE_CALL_NOT_MEMBER] =
	    SLOT_MSGS("not an active member of this patient's sheet"),
	[CARE_CALL_TWICE] = SLOT_MSGS("this login is in the call order twice"),
	[CARE_CALL_FAMILY] = SLOT_MSGS("family members are not called"),
};

const char *
care_callorder_msg(enum care_call_fault f, size_t slot)
{
	if (slot < 1 || slot > CARE_CALL_SLOTS_MAX)
		slot = CARE_CALL_SLOTS_MAX;
	return slot_msgs[f][slot - 1];
}

int
care_callorder_check(const size_t *per_slot, size_t nslots,
                     const char *const *logins, struct rk_status *st)
{
	size_t k = 0;

	if (nslots > CARE_CALL_SLOTS_MAX)
		return rk_fail(st, RK_ERR_INVALID, "at most 8 call slots", "slots");
	for (size_t s = 0; s < nslots; s++) {
		if (per_slot[s] == 0)
			return rk_fail(st, RK_ERR_INVALID,
			               care_callorder_msg(CARE_CALL_EMPTY, s + 1), "slots");
		if (per_slot[s] > CARE_CALL_SLOT_PEOPLE_MAX)
			return rk_fail(st, RK_ERR_INVALID,
			               care_callorder_msg(CARE_CALL_CROWDED, s + 1), "slots");
		for (size_t i = 0; i < per_slot[s]; i++, k++) {
			if (!auth_login_valid(logins[k]))
				return rk_fail(st, RK_ERR_INVALID,
				               care_callorder_msg(CARE_CALL_UNKNOWN, s + 1),
				               "slots");
			for (size_t j = 0; j < k; j++)
				if (strcmp(logins[j], logins[k]) == 0)
					return rk_fail(st, RK_ERR_INVALID,
					               care_callorder_msg(CARE_CALL_TWICE, s + 1),
					               "slots");
		}
	}
	return RK_OK;
}

#define USER_COLS                                                              \
	"u.id, u.login, u.display_name, u.profession, coalesce(uo.code, ''), " \
	"coalesce(uo.name, '') "

static void
user_row(sqlite3_stmt *q, int col, struct care_member *m)
{
	memset(m, 0, sizeof(*m));
	m->user_id = sqlite3_column_int64(q, col);
	care_col(m->login, sizeof(m->login), q, col + 1);
	care_col(m->display_name, sizeof(m->display_name), q, col + 2);
	m->profession = sqlite3_column_int(q, col + 3);
	care_col(m->org_code, sizeof(m->org_code), q, col + 4);
	care_col(m->org_name, sizeof(m->org_name), q, col + 5);
}

int
care_callorder_load(struct store_conn *sc, int64_t patient_id,
                    struct care_call **out, size_t *n)
{
	sqlite3_stmt *q;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	q = store_stmt(sc, "SELECT c.slot, " USER_COLS "FROM call_order c "
	                   "JOIN users u ON u.id = c.user_id "
	                   "LEFT JOIN orgs uo ON uo.id = u.org_id "
	                   "WHERE c.patient_id = ? ORDER BY c.slot, c.pos");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, patient_id);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = rk_realloc(*out, cap * sizeof(**out));
		}
		(*out)[*n].slot = sqlite3_column_int(q, 0);
		user_row(q, 1, &(*out)[*n].m);
		(*n)++;
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

/* The user id of `login` if an active member of the sheet who may be
 * called; else a refusal naming the slot. */
static int
callable(struct store_conn *sc, int64_t pid, const char *login, size_t slot,
         int64_t now_ms, int64_t *user_id, struct rk_status *st)
{
	sqlite3_stmt *q;
	struct auth_user u;
	enum care_call_fault f;
	int rc, prof = 0;

	q = store_stmt(sc, "SELECT u.id, u.profession FROM sheet_members m JOIN users u "
	                   "ON u.id = m.user_id WHERE u.login = ?1 AND m.patient_id = ?2 "
	                   "AND u.disabled = 0 AND " IN_FORCE("m") " LIMIT 1");
	if (q == NULL)
		return store_fail(st);
	sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, pid);
	sqlite3_bind_int64(q, 3, now_ms);
	rc = store_step(sc, q);
	if (rc < 0)
		return store_fail(st);
	*user_id = 0;
	if (rc == SQLITE_ROW) {
		*user_id = sqlite3_column_int64(q, 0);
		prof = sqlite3_column_int(q, 1);
	}
	sqlite3_reset(q);
	if (*user_id != 0 && prof != PROF_FAMILY &&
	    policy_max_visibility(prof) != VIS_NONE)
		return RK_OK;
	if (*user_id != 0)
		f = CARE_CALL_FAMILY;
	else if (auth_user_load(sc, login, 0, &u) != RK_OK)
		f = CARE_CALL_UNKNOWN;
	else
		f = CARE_CALL_NOT_MEMBER;
	return rk_fail(st, RK_ERR_INVALID, care_callorder_msg(f, slot), "slots");
}

int
care_callorder_set(struct store_conn *sc, const struct policy_actor *who,
                   const char *code, const size_t *per_slot, size_t nslots,
                   const char *const *logins, int64_t now_ms,
                   struct care_call **out, size_t *n, int64_t *patient_id,
                   struct rk_status *st)
{
	sqlite3_stmt *q;
	char detail[256];
	size_t k = 0, len = 0;
	int64_t pid = care_patient_id(sc, code);
	int rc;

	*out = NULL;
	*n = 0;
	if (pid < 0)
		return store_fail(st);
	if (who == NULL && pid == 0) /* a trusted import names a patient it made */
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such patient", "patient");
	rc = who == NULL ? RK_OK
	                 : care_member_check(sc, who, pid, now_ms,
	                                     POLICY_CALLORDER_SET, 0, st);
	if (rc != RK_OK)
		return rc;
	rc = care_callorder_check(per_slot, nslots, logins, st);
	if (rc != RK_OK)
		return rc;
	/* Every login checked before anything changes. */
	size_t total = 0;
	for (size_t s = 0; s < nslots; s++)
		total += per_slot[s];
	int64_t *ids = rk_calloc(total ? total : 1, sizeof(*ids));
	for (size_t s = 0; s < nslots; s++)
		for (size_t i = 0; i < per_slot[s]; i++, k++)
			if ((rc = callable(sc, pid, logins[k], s + 1, now_ms, &ids[k], st)) !=
			    RK_OK) {
				free(ids);
				return rc;
			}
	q = store_stmt(sc, "DELETE FROM call_order WHERE patient_id = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, pid);
	if (store_step(sc, q) != SQLITE_DONE)
		goto fail;
	k = 0;
	detail[0] = '\0';
	for (size_t s = 0; s < nslots; s++) {
		if (len < sizeof(detail))
			len += (size_t)snprintf(detail + len, sizeof(detail) - len, "%s%zu:",
			                        s ? " " : "", s + 1);
		for (size_t i = 0; i < per_slot[s]; i++, k++) {
			q = store_stmt(sc, "INSERT INTO call_order(patient_id, slot, user_id, "
			                   "pos) VALUES (?,?,?,?)");
			if (q == NULL)
				goto fail;
			sqlite3_bind_int64(q, 1, pid);
			sqlite3_bind_int64(q, 2, (int64_t)s + 1);
			sqlite3_bind_int64(q, 3, ids[k]);
			sqlite3_bind_int64(q, 4, (int64_t)k);
			if (store_step(sc, q) != SQLITE_DONE)
				goto fail;
			if (len < sizeof(detail))
				len += (size_t)snprintf(detail + len, sizeof(detail) - len, "%s%s",
				                        i ? "+" : "", logins[k]);
		}
	}
	free(ids);
	ids = NULL;
	if (care_history_add(sc, pid, who != NULL ? who->user_id : 0, "callorder", 0,
	                     nslots ? detail : "cleared", now_ms) != RK_OK)
		goto fail;
	if (care_callorder_load(sc, pid, out, n) != RK_OK)
		goto fail;
	*patient_id = pid;
	return RK_OK;
fail:
	free(ids);
	return store_fail(st);
}

/* ------------------------------------------------------------------ rota */

#define ROTA_COLS                                                              \
	"r.id, o.code, " USER_COLS ", r.start_ms, r.end_ms, r.removed_ms, "      \
	"coalesce(s.login, '') FROM oncall_rota r JOIN orgs o ON o.id = r.org_id " \
	"JOIN users u ON u.id = r.user_id LEFT JOIN orgs uo ON uo.id = u.org_id " \
	"LEFT JOIN users s ON s.id = r.set_by "

static void
rota_row(sqlite3_stmt *q, struct care_rota_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(q, 0);
	care_col(e->org_code, sizeof(e->org_code), q, 1);
	user_row(q, 2, &e->user);
	e->start_ms = sqlite3_column_int64(q, 8);
	e->end_ms = sqlite3_column_int64(q, 9);
	e->removed_ms = sqlite3_column_int64(q, 10);
	care_col(e->set_by, sizeof(e->set_by), q, 11);
}

static int
rota_rows(struct store_conn *sc, sqlite3_stmt *q, struct care_rota_entry **out,
          size_t *n)
{
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = rk_realloc(*out, cap * sizeof(**out));
		}
		rota_row(q, &(*out)[(*n)++]);
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
care_oncall_for_patient(struct store_conn *sc, int64_t patient_id,
                        int64_t now_ms, struct care_rota_entry **out, size_t *n)
{
	sqlite3_stmt *q = store_stmt(
	    sc, "SELECT " ROTA_COLS "WHERE r.start_ms <= ?3 AND r.end_ms > ?3 AND "
	        "EXISTS (SELECT 1 FROM sheet_members m JOIN users mu ON mu.id = "
	        "m.user_id WHERE m.patient_id = ?1 AND mu.org_id = r.org_id AND "
	        "mu.disabled = 0 AND " IN_FORCE("m") ") AND u.disabled = 0 AND ?2 = ?2 "
	        "ORDER BY o.code, r.start_ms, r.id");

	*out = NULL;
	*n = 0;
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, patient_id);
	sqlite3_bind_int64(q, 2, 0);
	sqlite3_bind_int64(q, 3, now_ms);
	return rota_rows(sc, q, out, n);
}

/* The organisation's id (0: none), and whether the actor may `set` (or
 * else see) its rota. */
static int
rota_access(struct store_conn *sc, const struct policy_actor *who,
            const char *org_code, bool set, int64_t *org_id,
            struct rk_status *st)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT id FROM orgs WHERE code = ?");
	struct auth_user u;
	int rc;

	if (q == NULL)
		return store_fail(st);
	sqlite3_bind_text(q, 1, org_code, -1, SQLITE_STATIC);
	rc = store_step(sc, q);
	if (rc < 0)
		return store_fail(st);
	*org_id = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	if (who == NULL && *org_id != 0)
		return RK_OK; /* a trusted import */
	if (who != NULL && *org_id != 0) {
		if (who->profession == PROF_ADMIN)
			return RK_OK;
		if (auth_user_load(sc, NULL, who->user_id, &u) != RK_OK)
			return store_fail(st);
		if (u.org_id == *org_id && !u.disabled &&
		    (!set || u.profession == PROF_PHYSICIAN ||
		     u.profession == PROF_NURSE))
			return RK_OK;
	}
	/* An organisation that does not exist answers as one the actor may
	 * not touch: the answer tells nothing of which exist. */
	return rk_fail(st, RK_ERR_DENIED,
	               set ? "only an administrator or a physician or nurse of this "
	                     "organisation sets its on-call rota"
	                   : "only an administrator or a member of this organisation "
	                     "sees its on-call rota",
	               NULL);
}

int
care_rota_list(struct store_conn *sc, const struct policy_actor *who,
               const char *org_code, int64_t since_ms,
               struct care_rota_entry **out, size_t *n, struct rk_status *st)
{
	int64_t org_id;
	sqlite3_stmt *q;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = rota_access(sc, who, org_code, false, &org_id, st)) != RK_OK)
		return rc;
	q = store_stmt(sc, "SELECT " ROTA_COLS "WHERE r.org_id = ?1 AND r.end_ms > ?2 "
	                   "ORDER BY r.start_ms, r.id LIMIT ?3");
	if (q == NULL)
		return store_fail(st);
	sqlite3_bind_int64(q, 1, org_id);
	sqlite3_bind_int64(q, 2, since_ms);
	sqlite3_bind_int(q, 3, CARE_ROTA_LIST_MAX);
	if (rota_rows(sc, q, out, n) != RK_OK)
		return store_fail(st);
	return RK_OK;
}

static int
rota_load(struct store_conn *sc, int64_t id, int64_t org_id,
          struct care_rota_entry *out)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT " ROTA_COLS "WHERE r.id = ?1 AND "
	                                 "r.org_id = ?2");
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, org_id);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW)
		rota_row(q, out);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? RK_OK : rc < 0 ? RK_ERR_STORE : RK_ERR_NOT_FOUND;
}

static int
rota_remove(struct store_conn *sc, int64_t org_id, int64_t id, int64_t now_ms,
            struct care_rota_entry *out, struct rk_status *st)
{
	sqlite3_stmt *q;
	int rc = rota_load(sc, id, org_id, out);

	if (rc == RK_ERR_NOT_FOUND)
		return rk_fail(st, RK_ERR_INVALID, "no such entry in this organisation's rota",
		               "remove_id");
	if (rc != RK_OK)
		return store_fail(st);
	if (out->removed_ms != 0)
		return RK_OK; /* removed already: the same answer */
	q = store_stmt(sc, "UPDATE oncall_rota SET removed_ms = ?2, end_ms = CASE "
	                   "WHEN start_ms >= ?2 THEN start_ms WHEN end_ms > ?2 THEN ?2 "
	                   "ELSE end_ms END WHERE id = ?1");
	if (q == NULL)
		return store_fail(st);
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, now_ms);
	if (store_step(sc, q) != SQLITE_DONE)
		return store_fail(st);
	return rota_load(sc, id, org_id, out) == RK_OK ? RK_OK : store_fail(st);
}

int
care_rota_set(struct store_conn *sc, const struct policy_actor *who,
              const char *org_code, const char *login, int64_t start_ms,
              int64_t end_ms, int64_t remove_id, int64_t now_ms,
              struct care_rota_entry *out, struct rk_status *st)
{
	struct auth_user u;
	sqlite3_stmt *q;
	int64_t org_id;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = rota_access(sc, who, org_code, true, &org_id, st)) != RK_OK)
		return rc;
	if (remove_id != 0)
		return rota_remove(sc, org_id, remove_id, now_ms, out, st);
	if (!auth_login_valid(login) || auth_user_load(sc, login, 0, &u) != RK_OK ||
	    u.disabled || u.org_id != org_id)
		return rk_fail(st, RK_ERR_INVALID, "no such user in this organisation",
		               "login");
	if (u.profession == PROF_FAMILY || policy_max_visibility(u.profession) == VIS_NONE)
		return rk_fail(st, RK_ERR_INVALID, "this profession is not put on call",
		               "login");
	if (start_ms <= 0)
		return rk_fail(st, RK_ERR_INVALID, "give the start of the shift",
		               "start_at_ms");
	if (end_ms <= start_ms)
		return rk_fail(st, RK_ERR_INVALID, "the shift must end after it starts",
		               "end_at_ms");
	if (end_ms <= now_ms)
		return rk_fail(st, RK_ERR_INVALID, "the shift has ended already",
		               "end_at_ms");
	if (end_ms - start_ms > CARE_ROTA_SHIFT_MAX_MS)
		return rk_fail(st, RK_ERR_INVALID, "a shift lasts at most 7 days",
		               "end_at_ms");
	q = store_stmt(sc, "SELECT count(*) FROM oncall_rota WHERE org_id = ? AND "
	                   "end_ms > ?");
	if (q == NULL)
		return store_fail(st);
	sqlite3_bind_int64(q, 1, org_id);
	sqlite3_bind_int64(q, 2, now_ms);
	if (store_step(sc, q) != SQLITE_ROW)
		return store_fail(st);
	rc = sqlite3_column_int(q, 0) >= CARE_ROTA_PENDING_MAX;
	sqlite3_reset(q);
	if (rc)
		return rk_fail(st, RK_ERR_EXHAUSTED,
		               "this organisation has 1000 entries to come already", "org");
	q = store_stmt(sc, "INSERT INTO oncall_rota(org_id, user_id, start_ms, end_ms, "
	                   "set_by, created_ms) VALUES (?,?,?,?,?,?)");
	if (q == NULL)
		return store_fail(st);
	sqlite3_bind_int64(q, 1, org_id);
	sqlite3_bind_int64(q, 2, u.id);
	sqlite3_bind_int64(q, 3, start_ms);
	sqlite3_bind_int64(q, 4, end_ms);
	sqlite3_bind_int64(q, 5, who != NULL ? who->user_id : 0);
	sqlite3_bind_int64(q, 6, now_ms);
	if (store_step(sc, q) != SQLITE_DONE)
		return store_fail(st);
	return rota_load(sc, sqlite3_last_insert_rowid(store_conn_db(sc)), org_id,
	                 out) == RK_OK
	           ? RK_OK
	           : store_fail(st);
}

/* What user_id may see of patient_id's board now (VIS_NONE: nothing). */
static int
access_of(struct store_conn *sc, int64_t user_id, int profession,
          int64_t patient_id, int64_t now_ms, struct care_access_change *ch)
{
	struct policy_membership m;
	struct policy_actor a = {.user_id = user_id, .profession = profession};
	struct rk_status st = {0};

	*ch = (struct care_access_change){.user_id = user_id, .patient_id = patient_id};
	if (policy_membership_load(sc, user_id, patient_id, now_ms, &m) != RK_OK)
		return RK_ERR_STORE;
	if (policy_check(&a, &m, POLICY_READ, 0, &st) == RK_OK) {
		ch->max_visibility = policy_max_visibility(profession);
		ch->until_ms = policy_access_until(&m);
	}
	return RK_OK;
}

int
care_oncall_access_after_sheet(struct store_conn *sc, int64_t patient_id,
                               int64_t now_ms, struct care_access_change **out,
                               size_t *n)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT DISTINCT u.id, u.profession FROM "
	                                 "oncall_rota r JOIN users u ON u.id = "
	                                 "r.user_id WHERE r.start_ms <= ?1 AND "
	                                 "r.end_ms > ?1");
	int64_t ids[CARE_ROTA_LIST_MAX];
	int profs[CARE_ROTA_LIST_MAX];
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, now_ms);
	while ((rc = store_step(sc, q)) == SQLITE_ROW && k < CARE_ROTA_LIST_MAX) {
		ids[k] = sqlite3_column_int64(q, 0);
		profs[k++] = sqlite3_column_int(q, 1);
	}
	sqlite3_reset(q);
	if (rc < 0)
		return RK_ERR_STORE;
	*out = rk_calloc(k ? k : 1, sizeof(**out));
	for (size_t i = 0; i < k; i++)
		if (access_of(sc, ids[i], profs[i], patient_id, now_ms, &(*out)[i]) != RK_OK) {
			free(*out);
			*out = NULL;
			return RK_ERR_STORE;
		}
	*n = k;
	return RK_OK;
}

int
care_rota_access_changes(struct store_conn *sc, int64_t user_id,
                         const char *org_code, int64_t now_ms,
                         struct care_access_change **out, size_t *n)
{
	sqlite3_stmt *q = store_stmt(
	    sc, "SELECT DISTINCT m.patient_id FROM sheet_members m JOIN users mu ON "
	        "mu.id = m.user_id JOIN orgs o ON o.id = mu.org_id WHERE o.code = ?");
	struct auth_user u;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (q == NULL || auth_user_load(sc, NULL, user_id, &u) != RK_OK)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, org_code, -1, SQLITE_TRANSIENT);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = rk_realloc(*out, cap * sizeof(**out));
		}
		(*out)[(*n)++] = (struct care_access_change){
			.user_id = user_id, .patient_id = sqlite3_column_int64(q, 0)};
	}
	sqlite3_reset(q);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < *n; i++)
		if (access_of(sc, user_id, u.profession, (*out)[i].patient_id, now_ms,
		              &(*out)[i]) != RK_OK)
			goto fail;
	return RK_OK;
fail:
	free(*out);
	*out = NULL;
	*n = 0;
	return RK_ERR_STORE;
}
