/*
 * Posts: create, amend, retract, acknowledge (a post's row is read back
 * by rows.c, and loaded for a reader by access.c).
 *
 * Idempotency: (author, patient, client_id) is unique: a client id is the
 * author's key on one board. A retry with a client id the author already
 * used on the same board returns the first post, so that a retry after a
 * dropped connection gets the same answer — but only after the same
 * access check as the request itself: a repeat is never a way to learn of
 * a post, or of a patient, one may not see now. The same client id on
 * another board is another post.
 *
 * Sequence numbers: the board's counter (patients.last_seq) is bumped in
 * the same savepoint as the insert; a failed op rolls both back, so a
 * board's sequence has no gaps and no repeats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care/care.h"
#include "care/internal.h"
#include "util/mem.h"
#include "util/text.h"

static const char *const kind_names[KIND__COUNT] = {
	[KIND_NONE] = "", [KIND_VISIT_NOTE] = "visit_note",
	[KIND_VITALS] = "vitals", [KIND_MEDICATION] = "medication",
	[KIND_CARE] = "care", [KIND_HANDOFF] = "handoff",
	[KIND_GENERAL] = "general", [KIND_BREAK_GLASS] = "break_glass",
	[KIND_ESCALATION] = "escalation",
};

enum post_kind
care_kind_parse(const char *name)
{
	for (int i = 1; i < KIND__COUNT; i++)
		if (strcmp(kind_names[i], name) == 0)
			return (enum post_kind)i;
	return KIND_NONE;
}

bool
care_client_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > CARE_CODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (id[i] <= ' ' || id[i] > '~')
			return false;
	return true;
}

static int
range(uint32_t v, uint32_t lo, uint32_t hi, const char *field,
      struct rk_status *st)
{
	if (v != 0 && (v < lo || v > hi))
		return rk_fail(st, RK_ERR_INVALID, "vital sign out of range", field);
	return RK_OK;
}

int
care_vitals_check(const struct care_vitals *v, struct rk_status *st)
{
	if (range(v->temperature_dc, 300, 450, "vitals.temperature_dc", st) ||
	    range(v->bp_systolic, 40, 300, "vitals.bp_systolic", st) ||
	    range(v->bp_diastolic, 20, 200, "vitals.bp_diastolic", st) ||
	    range(v->pulse, 20, 250, "vitals.pulse", st) ||
	    range(v->spo2, 50, 100, "vitals.spo2", st) ||
	    range(v->respiration, 4, 80, "vitals.respiration", st))
		return st->err;
	if ((v->bp_systolic == 0) != (v->bp_diastolic == 0))
		return rk_fail(st, RK_ERR_INVALID,
		               "blood pressure needs both systolic and diastolic",
		               "vitals.bp_diastolic");
	if (v->bp_systolic != 0 && v->bp_diastolic >= v->bp_systolic)
		return rk_fail(st, RK_ERR_INVALID,
		               "diastolic pressure must be below systolic",
		               "vitals.bp_diastolic");
	return RK_OK;
}

int
care_post_input_check(const struct care_post_input *in, struct rk_status *st)
{
	size_t n = strlen(in->text);

	if (!care_client_id_valid(in->client_id))
		return rk_fail(st, RK_ERR_INVALID,
		               "client_id must be 1-64 printable ASCII characters",
		               "client_id");
	/* BREAK_GLASS and ESCALATION entries are the server's own, never a
	 * client's. */
	if (in->kind <= KIND_NONE || in->kind >= KIND_BREAK_GLASS)
		return rk_fail(st, RK_ERR_INVALID, "unknown post kind", "kind");
	if (in->visibility < VIS_ALL || in->visibility > VIS_CLINICAL)
		return rk_fail(st, RK_ERR_INVALID, "unknown visibility", "visibility");
	if (n == 0)
		return rk_fail(st, RK_ERR_INVALID, "the text is empty", "text");
	if (n > CARE_TEXT_MAX)
		return rk_fail(st, RK_ERR_INVALID, "the text is longer than 16384 bytes",
		               "text");
	if (!rk_utf8_valid(in->text, n))
		return rk_fail(st, RK_ERR_INVALID,
		               "text is not valid UTF-8 or holds control characters",
		               "text");
	int rc = care_vitals_check(&in->vitals, st);
	if (rc != RK_OK)
		return rc;
	return care_address_input_check(in, st);
}

/* ------------------------------------------------------------- row reading */

/* ------------------------------------------------------------------ writes */

/* The post this author already made on this board with this client id,
 * if any. */
static int
find_duplicate(struct store_conn *sc, int64_t author_id, int64_t patient_id,
               const char *client_id, struct care_post *out)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT id FROM posts WHERE author_id = ? "
	                                 "AND patient_id = ? AND client_id = ?");
	int64_t id;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, author_id);
	sqlite3_bind_int64(q, 2, patient_id);
	sqlite3_bind_text(q, 3, client_id, -1, SQLITE_STATIC);
	rc = store_step(sc, q);
	if (rc < 0)
		return RK_ERR_STORE;
	if (rc != SQLITE_ROW)
		return RK_ERR_NOT_FOUND;
	id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return care_post_load(sc, id, out);
}

/* The author's earlier post with this client id, as a repeat on
 * patient_id's board: RK_OK (a repeat: *out holds it), RK_ERR_NOT_FOUND
 * (no such client id yet), or a refusal in st. Callers have checked the
 * actor's access to the board already; this checks the post's mark. */
static int
repeat_of(struct store_conn *sc, const struct policy_actor *who,
          int64_t patient_id, const char *client_id, int64_t now_ms,
          struct care_post *out, struct rk_status *st)
{
	int rc = find_duplicate(sc, who->user_id, patient_id, client_id, out);

	if (rc == RK_ERR_NOT_FOUND)
		return rc;
	if (rc != RK_OK)
		return rk_fail(st, rc, "temporarily unavailable", NULL);
	rc = care_member_check(sc, who, patient_id, now_ms, POLICY_READ,
	                       out->visibility, st);
	if (rc != RK_OK)
		care_post_fini(out);
	return rc;
}

int
care_client_id_unused(struct store_conn *sc, int64_t author_id,
                      int64_t patient_id, const char *client_id,
                      struct rk_status *st)
{
	struct care_post p;
	int rc = find_duplicate(sc, author_id, patient_id, client_id, &p);

	if (rc == RK_ERR_NOT_FOUND)
		return RK_OK;
	if (rc != RK_OK)
		return rk_fail(st, rc, "temporarily unavailable", NULL);
	care_post_fini(&p);
	return rk_fail(st, RK_ERR_EXISTS, "this client id was used for another post",
	               "client_id");
}

int
care_insert_post(struct store_conn *sc, int64_t patient_id, int64_t author_id,
            const struct care_post_input *in, int64_t amends_id,
            int64_t retracts_id, int64_t now_ms, struct care_post *out,
            struct rk_status *st)
{
	sqlite3_stmt *q;
	int64_t seq;

	q = store_stmt(sc, "UPDATE patients SET last_seq = last_seq + 1 WHERE id = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, patient_id);
	if (store_step(sc, q) != SQLITE_DONE)
		goto fail;
	q = store_stmt(sc, "SELECT last_seq FROM patients WHERE id = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, patient_id);
	if (store_step(sc, q) != SQLITE_ROW)
		goto fail;
	seq = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);

	q = store_stmt(sc, "INSERT INTO posts(patient_id, seq, author_id, client_id, "
	                   "kind, visibility, urgent, body, temp_dc, bp_sys, bp_dia, "
	                   "pulse, spo2, resp, amends_id, retracts_id, created_ms) "
	                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, patient_id);
	sqlite3_bind_int64(q, 2, seq);
	sqlite3_bind_int64(q, 3, author_id);
	sqlite3_bind_text(q, 4, in->client_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 5, in->kind);
	sqlite3_bind_int(q, 6, in->visibility);
	sqlite3_bind_int(q, 7, in->urgent);
	sqlite3_bind_text(q, 8, in->text, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 9, (int)in->vitals.temperature_dc);
	sqlite3_bind_int(q, 10, (int)in->vitals.bp_systolic);
	sqlite3_bind_int(q, 11, (int)in->vitals.bp_diastolic);
	sqlite3_bind_int(q, 12, (int)in->vitals.pulse);
	sqlite3_bind_int(q, 13, (int)in->vitals.spo2);
	sqlite3_bind_int(q, 14, (int)in->vitals.respiration);
	if (amends_id)
		sqlite3_bind_int64(q, 15, amends_id);
	else
		sqlite3_bind_null(q, 15);
	if (retracts_id)
		sqlite3_bind_int64(q, 16, retracts_id);
	else
		sqlite3_bind_null(q, 16);
	sqlite3_bind_int64(q, 17, now_ms);
	if (store_step(sc, q) != SQLITE_DONE)
		goto fail;
	int64_t post_id = sqlite3_last_insert_rowid(store_conn_db(sc));
	if (in->nattachments > 0) {
		int rc = care_attach_to_post(sc, author_id, patient_id, post_id,
		                             in->attachments, in->nattachments, st);
		if (rc != RK_OK)
			return rc;
	}
	if (care_post_load(sc, post_id, out) != RK_OK)
		goto fail;
	return RK_OK;
fail:
	return rk_fail(st, RK_ERR_STORE, "could not store the post; try again", NULL);
}

int
care_post_create(struct store_conn *sc, const struct policy_actor *who,
                 const char *code, const struct care_post_input *in,
                 int64_t now_ms, struct care_post *out, bool *duplicate,
                 struct rk_status *st)
{
	int64_t pid;
	int rc;

	*duplicate = false;
	pid = care_patient_id(sc, code);
	if (pid < 0)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	/* pid 0 (no such patient) fails the membership check like any
	 * patient the actor is not on the sheet of. */
	rc = care_member_check(sc, who, pid, now_ms, POLICY_POST, in->visibility, st);
	if (rc != RK_OK)
		return rc;
	rc = repeat_of(sc, who, pid, in->client_id, now_ms, out, st);
	if (rc != RK_ERR_NOT_FOUND) {
		*duplicate = rc == RK_OK;
		return rc;
	}
	if (in->nto == 0)
		return care_insert_post(sc, pid, who->user_id, in, 0, 0, now_ms, out, st);
	/* Addressed: the addressees are checked against the sheet only now,
	 * after the author's own access (one who may not post here learns
	 * nothing of who is on the sheet). */
	int64_t ids[CARE_TO_MAX], owner_id = 0;
	rc = care_address_resolve(sc, who, pid, in, in->visibility, now_ms, ids,
	                          &owner_id, st);
	if (rc != RK_OK)
		return rc;
	rc = care_insert_post(sc, pid, who->user_id, in, 0, 0, now_ms, out, st);
	if (rc != RK_OK)
		return rc;
	int64_t post_id = out->id;
	care_post_fini(out);
	if (care_address_store(sc, post_id, ids, in->nto, in->request, owner_id,
	                       in->due_ms) != RK_OK ||
	    care_post_load(sc, post_id, out) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "could not store the post; try again",
		               NULL);
	return RK_OK;
}

/* May `who` change `orig` (loaded by care_post_readable, so it exists
 * and they may see it)? It must be theirs, on a board they may post to,
 * and not a retraction or retracted. */
static int
check_own(struct store_conn *sc, const struct policy_actor *who,
          const struct care_post *orig, int64_t now_ms, struct rk_status *st)
{
	int rc = care_member_check(sc, who, orig->patient_id, now_ms, POLICY_POST,
	                           orig->visibility, st);

	if (rc != RK_OK)
		return rc;
	if (orig->author_id != who->user_id)
		return rk_fail(st, RK_ERR_DENIED, "only the author may change a post",
		               "post_id");
	if (orig->retracts_id != 0)
		return rk_fail(st, RK_ERR_PRECONDITION, "a retraction cannot be changed",
		               "post_id");
	if (orig->retracted_by != 0)
		return rk_fail(st, RK_ERR_PRECONDITION, "this post has been retracted",
		               "post_id");
	return RK_OK;
}

/* The common start of amend and retract: load the post the change is
 * about (NOT_FOUND unless `who` may see it), then answer a repeat of the
 * change (same client id, same board) with the first answer. RK_OK with
 * *duplicate set means *out is the answer; RK_OK otherwise leaves the
 * loaded post in *orig for the caller (who must fini it). */
static int
change_start(struct store_conn *sc, const struct policy_actor *who,
             int64_t post_id, const char *client_id, int64_t now_ms,
             struct care_post *orig, struct care_post *out, bool *duplicate,
             struct rk_status *st)
{
	int rc = care_post_readable(sc, who, post_id, now_ms, POLICY_READ, orig, st);

	*duplicate = false;
	if (rc != RK_OK)
		return rc;
	rc = repeat_of(sc, who, orig->patient_id, client_id, now_ms, out, st);
	if (rc == RK_ERR_NOT_FOUND)
		rc = check_own(sc, who, orig, now_ms, st);
	else
		*duplicate = rc == RK_OK;
	if (rc != RK_OK || *duplicate)
		care_post_fini(orig);
	return rc;
}

int
care_post_amend(struct store_conn *sc, const struct policy_actor *who,
                int64_t post_id, const struct care_post_input *in,
                int64_t now_ms, struct care_post *out, bool *duplicate,
                struct rk_status *st)
{
	struct care_post orig;
	struct care_post_input x = *in;
	int rc;

	rc = change_start(sc, who, post_id, in->client_id, now_ms, &orig, out,
	                  duplicate, st);
	if (rc != RK_OK || *duplicate)
		return rc;
	if (orig.amended_by != 0) {
		care_post_fini(&orig);
		return rk_fail(st, RK_ERR_PRECONDITION,
		               "this post was already amended: amend its latest version",
		               "post_id");
	}
	x.kind = orig.kind;
	x.visibility = orig.visibility;
	rc = care_insert_post(sc, orig.patient_id, who->user_id, &x, orig.id, 0, now_ms,
	                 out, st);
	care_post_fini(&orig);
	return rc;
}

int
care_post_retract(struct store_conn *sc, const struct policy_actor *who,
                  int64_t post_id, const char *client_id, const char *reason,
                  int64_t now_ms, struct care_post *out, bool *duplicate,
                  struct rk_status *st)
{
	struct care_post orig;
	struct care_post_input x;
	int rc;

	rc = change_start(sc, who, post_id, client_id, now_ms, &orig, out,
	                  duplicate, st);
	if (rc != RK_OK || *duplicate)
		return rc;
	memset(&x, 0, sizeof(x));
	x.client_id = client_id;
	x.kind = orig.kind;
	x.visibility = orig.visibility;
	x.text = reason;
	rc = care_insert_post(sc, orig.patient_id, who->user_id, &x, 0, orig.id, now_ms,
	                 out, st);
	care_post_fini(&orig);
	return rc;
}

int
care_ack(struct store_conn *sc, const struct policy_actor *who, int64_t post_id,
         int64_t now_ms, int64_t *acked_ms, bool *fresh, struct care_post *post,
         struct rk_status *st)
{
	sqlite3_stmt *q;
	int rc = care_post_readable(sc, who, post_id, now_ms, POLICY_ACK, post, st);

	if (rc != RK_OK)
		return rc;
	q = store_stmt(sc, "INSERT OR IGNORE INTO acks(post_id, user_id, acked_ms) "
	                   "VALUES (?,?,?)");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, post_id);
	sqlite3_bind_int64(q, 2, who->user_id);
	sqlite3_bind_int64(q, 3, now_ms);
	if (store_step(sc, q) != SQLITE_DONE)
		goto fail;
	*fresh = sqlite3_changes(store_conn_db(sc)) == 1;
	q = store_stmt(sc, "SELECT acked_ms FROM acks WHERE post_id = ? AND user_id = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, post_id);
	sqlite3_bind_int64(q, 2, who->user_id);
	if (store_step(sc, q) != SQLITE_ROW)
		goto fail;
	*acked_ms = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return RK_OK;
fail:
	care_post_fini(post);
	return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
}

int
care_post_import(struct store_conn *sc, int64_t author_id, const char *code,
                 const struct care_post_input *in, int64_t now_ms,
                 struct care_post *out, struct rk_status *st)
{
	int64_t pid = care_patient_id(sc, code);
	int rc = care_post_input_check(in, st);

	if (rc != RK_OK)
		return rc;
	if (pid <= 0)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such patient", "patient");
	return care_insert_post(sc, pid, author_id, in, 0, 0, now_ms, out, st);
}
