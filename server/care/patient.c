/*
 * Patients: the boards I may read, one patient with the sheet valid now,
 * who has confirmed a post, and adding a patient (ward import, hand-off).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "care/care.h"
#include "care/internal.h"
#include "util/mem.h"
#include "util/text.h"

static char *
col_dup(sqlite3_stmt *q, int col)
{
	const unsigned char *s = sqlite3_column_text(q, col);
	return rk_strdup(s ? (const char *)s : "");
}

void
care_patients_free(struct care_patient *p, size_t n)
{
	for (size_t i = 0; p != NULL && i < n; i++) {
		free(p[i].summary);
		free(p[i].wishes);
	}
	free(p);
}

#define PATIENT_COLS                                                           \
	"pt.id, pt.code, pt.name, pt.kana, pt.birth_date, pt.sex, pt.area, "   \
	"pt.summary, pt.wishes, pt.last_seq "

static void
patient_row(sqlite3_stmt *q, struct care_patient *p)
{
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(q, 0);
	care_col(p->code, sizeof(p->code), q, 1);
	care_col(p->name, sizeof(p->name), q, 2);
	care_col(p->kana, sizeof(p->kana), q, 3);
	care_col(p->birth_date, sizeof(p->birth_date), q, 4);
	care_col(p->sex, sizeof(p->sex), q, 5);
	care_col(p->area, sizeof(p->area), q, 6);
	p->summary = col_dup(q, 7);
	p->wishes = col_dup(q, 8);
	p->last_seq = sqlite3_column_int64(q, 9);
}

/* The boards the actor reads through an on-call shift running now
 * (policy.c's rule: a member of the rota entry's organisation in force on
 * the sheet, not read-only), after those of their own sheets, without
 * repeating one. SQLITE_DONE or a negative store error. */
static int
oncall_patients(struct store_conn *sc, const struct policy_actor *who,
                int64_t now_ms, struct care_patient **out, size_t *n,
                size_t *cap)
{
	size_t mine = *n;
	sqlite3_stmt *q = store_stmt(
	    sc, "SELECT " PATIENT_COLS ", min(r.id) FROM oncall_rota r "
	        "JOIN users mu ON mu.org_id = r.org_id AND mu.disabled = 0 "
	        "JOIN sheet_members m ON m.user_id = mu.id AND m.read_only = 0 AND "
	        "m.valid_from_ms <= ?2 AND (m.valid_until_ms = 0 OR "
	        "m.valid_until_ms > ?2) JOIN patients pt ON pt.id = m.patient_id "
	        "WHERE r.user_id = ?1 AND r.start_ms <= ?2 AND r.end_ms > ?2 "
	        "GROUP BY pt.id ORDER BY pt.kana, pt.code");
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, who->user_id);
	sqlite3_bind_int64(q, 2, now_ms);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		int64_t pid = sqlite3_column_int64(q, 0);
		bool seen = false;
		for (size_t i = 0; i < mine && !seen; i++)
			seen = (*out)[i].id == pid;
		if (seen)
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 8;
			*out = rk_realloc(*out, *cap * sizeof(**out));
		}
		patient_row(q, &(*out)[*n]);
		snprintf((*out)[*n].my_role, sizeof((*out)[*n].my_role),
		         "当番 (on call)");
		(*n)++;
		if (who->use != NULL && who->use->entry_id == 0)
			who->use->entry_id = sqlite3_column_int64(q, 10);
	}
	sqlite3_reset(q);
	return rc;
}

/* What on p's board waits for the actor's confirmation (Patient.
 * unconfirmed): the latest versions of posts marked urgent or addressed to
 * them, that they may see, not their own, not retracted, and not yet
 * confirmed by them. */
static int
unconfirmed(struct store_conn *sc, const struct policy_actor *who,
            struct care_patient *p)
{
	sqlite3_stmt *q = store_stmt(
	    sc, "SELECT count(*) FROM posts p WHERE p.patient_id = ?1 AND "
	        "p.visibility <= ?2 AND p.author_id <> ?3 AND p.retracts_id IS NULL "
	        "AND (p.urgent <> 0 OR EXISTS (SELECT 1 FROM post_to t WHERE "
	        "t.post_id = p.id AND t.user_id = ?3)) "
	        "AND NOT EXISTS (SELECT 1 FROM acks a WHERE a.post_id = p.id AND "
	        "a.user_id = ?3) "
	        "AND NOT EXISTS (SELECT 1 FROM posts r WHERE r.retracts_id = p.id) "
	        "AND NOT EXISTS (SELECT 1 FROM posts v WHERE v.amends_id = p.id)");
	int rc;

	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, p->id);
	sqlite3_bind_int(q, 2, policy_max_visibility(who->profession));
	sqlite3_bind_int64(q, 3, who->user_id);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW)
		p->unconfirmed = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
care_patients_mine(struct store_conn *sc, const struct policy_actor *who,
                   int64_t now_ms, struct care_patient **out, size_t *n)
{
	sqlite3_stmt *q;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (policy_max_visibility(who->profession) == VIS_NONE)
		return RK_OK; /* auditors and admins have no boards */
	q = store_stmt(sc, "SELECT " PATIENT_COLS ", m.team_role FROM sheet_members m "
	                   "JOIN patients pt ON pt.id = m.patient_id "
	                   "WHERE m.user_id = ?1 AND m.valid_from_ms <= ?2 AND "
	                   "(m.valid_until_ms = 0 OR m.valid_until_ms > ?2) "
	                   "GROUP BY pt.id ORDER BY pt.kana, pt.code");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, who->user_id);
	sqlite3_bind_int64(q, 2, now_ms);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = rk_realloc(*out, cap * sizeof(**out));
		}
		patient_row(q, &(*out)[*n]);
		care_col((*out)[*n].my_role, sizeof((*out)[*n].my_role), q, 10);
		(*n)++;
	}
	sqlite3_reset(q);
	if (rc >= 0)
		rc = oncall_patients(sc, who, now_ms, out, n, &cap);
	for (size_t i = 0; rc >= 0 && i < *n; i++)
		rc = unconfirmed(sc, who, &(*out)[i]);
	if (rc < 0) {
		care_patients_free(*out, *n);
		*out = NULL;
		*n = 0;
		return RK_ERR_STORE;
	}
	return RK_OK;
}

int
care_patient_get(struct store_conn *sc, const struct policy_actor *who,
                 const char *code, int64_t now_ms, struct care_patient *out,
                 struct care_member **sheet, size_t *nsheet,
                 struct rk_status *st)
{
	struct policy_membership m;
	sqlite3_stmt *q;
	int64_t pid = care_patient_id(sc, code);
	int rc;

	*sheet = NULL;
	*nsheet = 0;
	if (pid < 0 || policy_membership_load(sc, who->user_id, pid, now_ms, &m) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	rc = policy_check(who, &m, POLICY_SHEET_VIEW, 0, st);
	if (rc != RK_OK)
		return rc;
	q = store_stmt(sc, "SELECT " PATIENT_COLS "FROM patients pt WHERE pt.id = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, pid);
	if (store_step(sc, q) != SQLITE_ROW) {
		sqlite3_reset(q);
		goto fail;
	}
	patient_row(q, out);
	sqlite3_reset(q);
	if (care_sheet_rows(sc, pid, now_ms, false, sheet, nsheet) != RK_OK) {
		free(out->summary);
		free(out->wishes);
		out->summary = out->wishes = NULL;
		goto fail;
	}
	for (size_t i = 0; i < *nsheet; i++)
		if ((*sheet)[i].user_id == who->user_id)
			snprintf(out->my_role, sizeof(out->my_role), "%s",
			         (*sheet)[i].team_role);
	return RK_OK;
fail:
	return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
}

int
care_ack_list(struct store_conn *sc, const struct policy_actor *who,
              int64_t post_id, int64_t now_ms, struct care_ack_entry **acked,
              size_t *nacked, struct care_member **pending, size_t *npending,
              struct rk_status *st, char *patient, size_t patient_cap)
{
	struct care_post post;
	struct care_member *team = NULL;
	size_t nteam = 0, cap = 0;
	sqlite3_stmt *q;
	int rc;

	*acked = NULL;
	*pending = NULL;
	*nacked = *npending = 0;
	rc = care_post_readable(sc, who, post_id, now_ms, POLICY_READ, &post, st);
	if (rc != RK_OK)
		return rc;
	snprintf(patient, patient_cap, "%s", post.patient_code);
	q = store_stmt(sc, "SELECT u.id, u.login, u.display_name, u.profession, "
	                   "coalesce(o.code, ''), coalesce(o.name, ''), a.acked_ms "
	                   "FROM acks a JOIN users u ON u.id = a.user_id "
	                   "LEFT JOIN orgs o ON o.id = u.org_id "
	                   "WHERE a.post_id = ? ORDER BY a.acked_ms");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, post_id);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		struct care_ack_entry *e;
		if (*nacked == cap) {
			cap = cap ? cap * 2 : 8;
			*acked = rk_realloc(*acked, cap * sizeof(**acked));
		}
		e = &(*acked)[(*nacked)++];
		memset(e, 0, sizeof(*e));
		e->who.user_id = sqlite3_column_int64(q, 0);
		care_col(e->who.login, sizeof(e->who.login), q, 1);
		care_col(e->who.display_name, sizeof(e->who.display_name), q, 2);
		e->who.profession = sqlite3_column_int(q, 3);
		care_col(e->who.org_code, sizeof(e->who.org_code), q, 4);
		care_col(e->who.org_name, sizeof(e->who.org_name), q, 5);
		e->acked_ms = sqlite3_column_int64(q, 6);
	}
	sqlite3_reset(q);
	if (rc < 0)
		goto fail;
	/* Pending: today's team members who may see this post, minus the
	 * author and those who confirmed. */
	if (care_sheet_rows(sc, post.patient_id, now_ms, true, &team, &nteam) != RK_OK)
		goto fail;
	*pending = rk_calloc(nteam ? nteam : 1, sizeof(**pending));
	for (size_t i = 0; i < nteam; i++) {
		bool done = team[i].user_id == post.author_id;
		for (size_t k = 0; k < *nacked && !done; k++)
			done = (*acked)[k].who.user_id == team[i].user_id;
		for (size_t k = 0; k < *npending && !done; k++)
			done = (*pending)[k].user_id == team[i].user_id;
		if (done || policy_max_visibility(team[i].profession) < post.visibility)
			continue;
		(*pending)[(*npending)++] = team[i];
	}
	free(team);
	care_post_fini(&post);
	return RK_OK;
fail:
	free(team);
	free(*acked);
	free(*pending);
	*acked = NULL;
	*pending = NULL;
	*nacked = *npending = 0;
	care_post_fini(&post);
	return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
}

/* ------------------------------------------------------------------ import */

int
care_patient_add(struct store_conn *sc, const struct care_patient_input *in,
                 int64_t now_ms, int64_t *patient_id, struct rk_status *st)
{
	sqlite3_stmt *q;
	const char *opt[6] = {in->kana, in->birth_date, in->sex, in->area,
	                      in->summary, in->wishes};
	int rc;

	if (!auth_login_valid(in->code))
		return rk_fail(st, RK_ERR_INVALID, "patient code: 1-64 of a-z 0-9 . _ -",
		               "code");
	if (!care_text_ok(in->name, CARE_NAME_MAX) || in->name[0] == '\0')
		return rk_fail(st, RK_ERR_INVALID, "patient name is empty or invalid",
		               "name");
	for (int i = 0; i < 6; i++)
		if (opt[i] != NULL && !care_text_ok(opt[i], CARE_TEXT_MAX))
			return rk_fail(st, RK_ERR_INVALID, "a patient field is invalid", NULL);
	if (in->birth_date && in->birth_date[0] &&
	    care_date_to_ms(in->birth_date, false) == INT64_MIN)
		return rk_fail(st, RK_ERR_INVALID, "birth date must be YYYY-MM-DD",
		               "birth_date");
	q = store_stmt(sc, "INSERT INTO patients(code, name, kana, birth_date, sex, "
	                   "area, summary, wishes, created_ms) VALUES (?,?,?,?,?,?,?,?,?)");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	sqlite3_bind_text(q, 1, in->code, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, in->name, -1, SQLITE_STATIC);
	for (int i = 0; i < 6; i++)
		sqlite3_bind_text(q, 3 + i, opt[i] ? opt[i] : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 9, now_ms);
	rc = sqlite3_step(q);
	if (rc == SQLITE_CONSTRAINT)
		return rk_fail(st, RK_ERR_EXISTS, "a patient with this code exists", "code");
	if (rc != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	*patient_id = sqlite3_last_insert_rowid(store_conn_db(sc));
	return RK_OK;
}
