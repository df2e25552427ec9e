/*
 * Escalation of urgent posts along the call order (oncall.h, "escalation";
 * docs/oncall.md): started with the post, advanced by the server's timer
 * (api/escalate.c) through care_escalation_advance, stopped by a
 * confirmation that counts. Every step is a row update and a post of
 * kind ESCALATION in the caller's transaction.
 *
 * A member "in force" on a sheet, here as in oncall.c: in its dates now
 * and not read-only.
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

/* ------------------------------------------------------------ escalation */

enum { ESC_RUNNING = 0, ESC_STOPPED = 1, ESC_FINISHED = 2 };

void
care_escalation_steps_free(struct care_escalation_step *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(s[i].user_ids);
		care_post_fini(&s[i].event);
	}
	free(s);
}

int
care_escalation_start(struct store_conn *sc, const struct care_post *p,
                      int64_t due_ms)
{
	sqlite3_stmt *q;

	if (!p->urgent || p->kind >= KIND_BREAK_GLASS || p->retracts_id != 0)
		return RK_OK;
	q = store_stmt(sc, "INSERT OR IGNORE INTO escalations(post_id, patient_id, step, "
	                   "due_ms) VALUES (?1, ?2, (SELECT CASE WHEN count(*) > 0 "
	                   "THEN 1 ELSE 0 END FROM call_order WHERE patient_id = ?2), ?3)");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, p->id);
	sqlite3_bind_int64(q, 2, p->patient_id);
	sqlite3_bind_int64(q, 3, due_ms);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

int
care_escalation_next_due(struct store_conn *sc, int64_t *due_ms)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT coalesce(min(due_ms), 0) FROM "
	                                 "escalations WHERE state = 0");

	*due_ms = 0;
	if (q == NULL || store_step(sc, q) != SQLITE_ROW)
		return RK_ERR_STORE;
	*due_ms = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return RK_OK;
}

static void
push_user(struct care_escalation_step *s, int64_t id, const char *login,
          const char *org)
{
	size_t len = strlen(s->detail);

	for (size_t i = 0; i < s->nusers; i++)
		if (s->user_ids[i] == id)
			return;
	s->user_ids = rk_realloc(s->user_ids, (s->nusers + 1) * sizeof(*s->user_ids));
	s->user_ids[s->nusers++] = id;
	if (len < sizeof(s->detail) - 1)
		snprintf(s->detail + len, sizeof(s->detail) - len, "%s%s%s%s%s",
		         s->nusers > 1 ? ", " : "", login, org ? " (" : "",
		         org ? org : "", org ? ")" : "");
}

/* Write the step's ESCALATION post, in the urgent post's author's name,
 * with the urgent post's mark (who may not see the post does not see
 * that it escalates). */
static int
step_post(struct store_conn *sc, const struct care_post *urgent,
          struct care_escalation_step *s, const char *what, const char *tag,
          int64_t now_ms)
{
	struct care_post_input in;
	char client_id[CARE_CODE_MAX + 1];
	char text[768];
	struct rk_status st = {0};

	snprintf(client_id, sizeof(client_id), "escalation %lld %s",
	         (long long)urgent->id, tag);
	snprintf(text, sizeof(text),
	         "エスカレーション / escalation of urgent post #%lld (seq %lld): %s",
	         (long long)urgent->id, (long long)urgent->seq, what);
	memset(&in, 0, sizeof(in));
	in.client_id = client_id;
	in.kind = KIND_ESCALATION;
	in.visibility = urgent->visibility;
	in.text = text;
	return care_insert_post(sc, urgent->patient_id, urgent->author_id, &in, 0, 0,
	                        now_ms, &s->event, &st);
}

/* Members of `slot` who are in force now and may see the post. */
static int
slot_users(struct store_conn *sc, int64_t pid, int slot, int visibility,
           int64_t now_ms, struct care_escalation_step *s)
{
	sqlite3_stmt *q = store_stmt(
	    sc, "SELECT u.id, u.login, u.profession FROM call_order c JOIN users u ON "
	        "u.id = c.user_id WHERE c.patient_id = ?1 AND c.slot = ?2 AND "
	        "u.disabled = 0 AND EXISTS (SELECT 1 FROM sheet_members m WHERE "
	        "m.patient_id = ?1 AND m.user_id = u.id AND " IN_FORCE("m") ") "
	        "ORDER BY c.pos");
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, pid);
	sqlite3_bind_int(q, 2, slot);
	sqlite3_bind_int64(q, 3, now_ms);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		char login[CARE_CODE_MAX + 1];
		if (policy_max_visibility(sqlite3_column_int(q, 2)) < visibility)
			continue;
		care_col(login, sizeof(login), q, 1);
		push_user(s, sqlite3_column_int64(q, 0), login, NULL);
	}
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

static int
oncall_users(struct store_conn *sc, int64_t pid, int visibility, int64_t now_ms,
             struct care_escalation_step *s)
{
	struct care_rota_entry *e;
	size_t n;

	if (care_oncall_for_patient(sc, pid, now_ms, &e, &n) != RK_OK)
		return RK_ERR_STORE;
	for (size_t i = 0; i < n; i++)
		if (policy_max_visibility(e[i].user.profession) >= visibility)
			push_user(s, e[i].user.user_id, e[i].user.login, e[i].org_code);
	free(e);
	return RK_OK;
}

static int
esc_update(struct store_conn *sc, int64_t post_id, int step, int64_t due_ms,
           int state)
{
	sqlite3_stmt *q = store_stmt(sc, "UPDATE escalations SET step = ?, due_ms = ?, "
	                                 "state = ? WHERE post_id = ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int(q, 1, step);
	sqlite3_bind_int64(q, 2, due_ms);
	sqlite3_bind_int(q, 3, state);
	sqlite3_bind_int64(q, 4, post_id);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

static int
max_slot(struct store_conn *sc, int64_t pid, int *nslots)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT coalesce(max(slot), 0) FROM call_order "
	                                 "WHERE patient_id = ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, pid);
	if (store_step(sc, q) != SQLITE_ROW)
		return RK_ERR_STORE;
	*nslots = sqlite3_column_int(q, 0);
	sqlite3_reset(q);
	return RK_OK;
}

/* One due escalation: its next step into *s. *none: it ended quietly (its
 * post was retracted), nothing to publish. */
static int
advance_one(struct store_conn *sc, int64_t post_id, int step, int64_t now_ms,
            int64_t after_ms, struct care_escalation_step *s, bool *none)
{
	struct care_post p;
	int nslots, next, rc;
	char what[640], tag[16];

	*none = false;
	if ((rc = care_post_load(sc, post_id, &p)) != RK_OK)
		return rc;
	if (p.retracted_by != 0) {
		care_post_fini(&p);
		*none = true;
		return esc_update(sc, post_id, step, now_ms, ESC_FINISHED);
	}
	s->post_id = p.id;
	s->patient_id = p.patient_id;
	memcpy(s->patient_code, p.patient_code, sizeof(s->patient_code));
	if ((rc = max_slot(sc, p.patient_id, &nslots)) != RK_OK)
		goto out;
	/* The next slot with someone in force who may see the post; the
	 * order may have changed since the last step. */
	for (next = step + 1; next <= nslots; next++) {
		if ((rc = slot_users(sc, p.patient_id, next, p.visibility, now_ms, s)) !=
		    RK_OK)
			goto out;
		if (s->nusers > 0)
			break;
	}
	if (s->nusers == 0 && step <= nslots) {
		next = nslots + 1;
		if ((rc = oncall_users(sc, p.patient_id, p.visibility, now_ms, s)) != RK_OK)
			goto out;
		s->oncall = true;
	}
	if (s->nusers == 0) {
		/* Nobody left to call: the board says so, and it ends. */
		s->step = step < nslots + 1 ? nslots + 1 : step;
		s->finished = true;
		s->oncall = false;
		snprintf(s->detail, sizeof(s->detail), "no one left to call");
		snprintf(what, sizeof(what),
		         "not confirmed, and no one is left to call (end of the call "
		         "order%s)",
		         step <= nslots ? ", no one on call" : "");
		snprintf(tag, sizeof(tag), "end");
		rc = esc_update(sc, post_id, s->step, now_ms, ESC_FINISHED);
	} else {
		char called[sizeof(s->detail)];
		memcpy(called, s->detail, sizeof(called));
		s->step = next;
		if (s->oncall)
			snprintf(s->detail, sizeof(s->detail), "on call: %.480s", called);
		else
			snprintf(s->detail, sizeof(s->detail), "slot %d: %.480s", next, called);
		snprintf(what, sizeof(what), "not confirmed within %lld s; calling %s",
		         (long long)(after_ms / 1000), s->detail);
		snprintf(tag, sizeof(tag), "%d", next);
		rc = esc_update(sc, post_id, next, now_ms + after_ms, ESC_RUNNING);
	}
	if (rc == RK_OK)
		rc = step_post(sc, &p, s, what, tag, now_ms);
out:
	care_post_fini(&p);
	return rc;
}

int
care_escalation_advance(struct store_conn *sc, int64_t now_ms, int64_t after_ms,
                        struct care_escalation_step **steps, size_t *n,
                        int64_t *next_due_ms)
{
	int64_t ids[CARE_ESCALATE_BATCH];
	int stepno[CARE_ESCALATE_BATCH];
	size_t due = 0;
	sqlite3_stmt *q;
	int rc;

	*steps = NULL;
	*n = 0;
	*next_due_ms = 0;
	q = store_stmt(sc, "SELECT post_id, step FROM escalations WHERE state = 0 AND "
	                   "due_ms <= ? ORDER BY due_ms, post_id LIMIT ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_int(q, 2, CARE_ESCALATE_BATCH);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		ids[due] = sqlite3_column_int64(q, 0);
		stepno[due++] = sqlite3_column_int(q, 1);
	}
	sqlite3_reset(q);
	if (rc < 0)
		return RK_ERR_STORE;
	*steps = rk_calloc(due ? due : 1, sizeof(**steps));
	for (size_t i = 0; i < due; i++) {
		bool none;
		rc = advance_one(sc, ids[i], stepno[i], now_ms, after_ms, &(*steps)[*n],
		                 &none);
		if (rc != RK_OK) {
			care_escalation_steps_free(*steps, *n + 1);
			*steps = NULL;
			*n = 0;
			return rc;
		}
		if (none) {
			free((*steps)[*n].user_ids);
			memset(&(*steps)[*n], 0, sizeof(**steps));
		} else {
			(*n)++;
		}
	}
	return care_escalation_next_due(sc, next_due_ms);
}

/* Does who's confirmation stop the escalation of post p? Someone in the
 * call order, an addressee of the post (docs/requests.md: they were
 * asked), or someone on duty for an organisation on the sheet; never the
 * author. */
static int
counts(struct store_conn *sc, const struct policy_actor *who,
       const struct care_post *p, int64_t now_ms, bool *yes)
{
	sqlite3_stmt *q;
	int nslots, rc;

	*yes = false;
	if (who->user_id == p->author_id)
		return RK_OK;
	if ((rc = max_slot(sc, p->patient_id, &nslots)) != RK_OK)
		return rc;
	if (nslots == 0) {
		*yes = true;
		return RK_OK;
	}
	q = store_stmt(sc, "SELECT (SELECT count(*) FROM call_order WHERE patient_id = ?2 "
	                   "AND user_id = ?1) + (SELECT count(*) FROM post_to WHERE "
	                   "post_id = ?4 AND user_id = ?1) + (SELECT count(*) FROM oncall_rota r "
	                   "WHERE r.user_id = ?1 AND r.start_ms <= ?3 AND r.end_ms > ?3 "
	                   "AND EXISTS (SELECT 1 FROM sheet_members m JOIN users mu ON "
	                   "mu.id = m.user_id WHERE m.patient_id = ?2 AND mu.org_id = "
	                   "r.org_id AND " IN_FORCE("m") "))");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, who->user_id);
	sqlite3_bind_int64(q, 2, p->patient_id);
	sqlite3_bind_int64(q, 3, now_ms);
	sqlite3_bind_int64(q, 4, p->id);
	if (store_step(sc, q) != SQLITE_ROW)
		return RK_ERR_STORE;
	*yes = sqlite3_column_int(q, 0) > 0;
	sqlite3_reset(q);
	return RK_OK;
}

int
care_escalation_ack(struct store_conn *sc, const struct policy_actor *who,
                    int64_t post_id, int64_t now_ms, bool *stopped,
                    struct care_escalation_step *out)
{
	sqlite3_stmt *q;
	struct care_post p;
	struct auth_user u;
	char what[256];
	bool yes;
	int rc, step;

	*stopped = false;
	memset(out, 0, sizeof(*out));
	/* The post confirmed, or the urgent post it corrects: a team reads
	 * and confirms the newest version. */
	q = store_stmt(sc, "WITH RECURSIVE chain(id) AS (SELECT ?1 UNION SELECT "
	                   "p.amends_id FROM posts p JOIN chain c ON p.id = c.id WHERE "
	                   "p.amends_id IS NOT NULL) SELECT post_id, step FROM "
	                   "escalations WHERE post_id IN chain AND state = 0 "
	                   "ORDER BY post_id LIMIT 1");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, post_id);
	rc = store_step(sc, q);
	if (rc < 0)
		return RK_ERR_STORE;
	if (rc != SQLITE_ROW)
		return RK_OK;
	post_id = sqlite3_column_int64(q, 0);
	step = sqlite3_column_int(q, 1);
	sqlite3_reset(q);
	if ((rc = care_post_load(sc, post_id, &p)) != RK_OK)
		return rc;
	if ((rc = counts(sc, who, &p, now_ms, &yes)) != RK_OK || !yes)
		goto out;
	if ((rc = auth_user_load(sc, NULL, who->user_id, &u)) != RK_OK)
		goto out;
	q = store_stmt(sc, "UPDATE escalations SET state = 1, stopped_by = ?, "
	                   "stopped_ms = ? WHERE post_id = ?");
	if (q == NULL) {
		rc = RK_ERR_STORE;
		goto out;
	}
	sqlite3_bind_int64(q, 1, who->user_id);
	sqlite3_bind_int64(q, 2, now_ms);
	sqlite3_bind_int64(q, 3, post_id);
	if (store_step(sc, q) != SQLITE_DONE) {
		rc = RK_ERR_STORE;
		goto out;
	}
	out->post_id = p.id;
	out->patient_id = p.patient_id;
	memcpy(out->patient_code, p.patient_code, sizeof(out->patient_code));
	out->step = 0;
	out->finished = true;
	snprintf(out->detail, sizeof(out->detail), "stopped at step %d: confirmed by %s",
	         step, u.login);
	snprintf(what, sizeof(what), "stopped: confirmed by %s", u.login);
	rc = step_post(sc, &p, out, what, "stop", now_ms);
	if (rc == RK_OK)
		*stopped = true;
out:
	care_post_fini(&p);
	return rc;
}
