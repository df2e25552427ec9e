/*
 * The journal: how audit records reach audit.db. Requests attach entries
 * to their store ops; the store's writer thread hands each batch to
 * audit_store_journal: a batch that changed care.db stages its records in
 * care.db's outbox, in its own transaction, and they are forwarded into
 * the chain after it commits; any other batch appends its records
 * straight to the chain. docs/audit-commit.md gives the reasons.
 */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

static const char *
copy(struct audit_entry *e, int slot, const char *s)
{
	if (s == NULL)
		return NULL;
	e->copies[slot] = rk_strdup(s);
	return e->copies[slot];
}

struct audit_entry *
audit_entry_new(const struct audit_event *ev)
{
	struct audit_entry *e = rk_calloc(1, sizeof(*e));

	e->ev = *ev;
	e->ev.actor_login = copy(e, 0, ev->actor_login);
	e->ev.actor_org = copy(e, 1, ev->actor_org);
	e->ev.address = copy(e, 2, ev->address);
	e->ev.device = copy(e, 3, ev->device);
	e->ev.action = copy(e, 4, ev->action);
	e->ev.patient = copy(e, 5, ev->patient);
	e->ev.object = copy(e, 6, ev->object);
	e->ev.error_code = copy(e, 7, ev->error_code);
	e->ev.reason = copy(e, 8, ev->reason);
	e->ev.content = copy(e, 9, ev->content);
	if (e->ev.ts_ms == 0)
		e->ev.ts_ms = rk_now_ms();
	return e;
}

void
audit_entry_set_patient(struct audit_entry *e, const char *patient)
{
	free(e->copies[5]);
	e->copies[5] = NULL;
	e->ev.patient = copy(e, 5, patient);
}

void
audit_entry_set_object(struct audit_entry *e, const char *object)
{
	free(e->copies[6]);
	e->copies[6] = NULL;
	e->ev.object = copy(e, 6, object);
}

void
audit_entry_set_session(struct audit_entry *e, int64_t session_id,
                        int64_t user_id)
{
	e->ev.session_id = session_id;
	if (user_id != 0)
		e->ev.actor_user_id = user_id;
}

void
audit_entry_set_actor(struct audit_entry *e, int64_t user_id, const char *login,
                      int profession, const char *org, const char *device)
{
	e->ev.actor_user_id = user_id;
	e->ev.actor_profession = profession;
	free(e->copies[0]);
	e->copies[0] = NULL;
	e->ev.actor_login = copy(e, 0, login);
	free(e->copies[1]);
	e->copies[1] = NULL;
	e->ev.actor_org = copy(e, 1, org != NULL && org[0] ? org : NULL);
	free(e->copies[3]);
	e->copies[3] = NULL;
	e->ev.device = copy(e, 3, device != NULL && device[0] ? device : NULL);
}

void
audit_entry_set_reason(struct audit_entry *e, const char *reason)
{
	free(e->copies[8]);
	e->copies[8] = NULL;
	e->ev.reason = copy(e, 8, reason);
}

void
audit_entry_set_content(struct audit_entry *e, const char *content)
{
	free(e->copies[9]);
	e->copies[9] = NULL;
	e->ev.content = copy(e, 9, content);
}

void
audit_entry_set_outcome(struct audit_entry *e, int rc)
{
	e->outcome_from_op = false;
	e->ev.outcome = rc;
	e->ev.error_code = rc ? rk_err_grpc_name(rc) : NULL; /* static */
}

void
audit_entries_free(struct audit_entry *e)
{
	while (e != NULL) {
		struct audit_entry *next = e->next;
		for (int i = 0; i < 12; i++)
			free(e->copies[i]);
		free(e);
		e = next;
	}
}

void
audit_entries_append(struct audit_entry **list, struct audit_entry *more)
{
	while (*list != NULL)
		list = &(*list)->next;
	*list = more;
}

/* The event as recorded: an entry that takes its op's outcome gets it
 * now; in a batch that failed as a whole (batch_rc), what would have
 * been a success is recorded as that failure. An op that was not kept
 * (its batch failed, or the store undid it) loses its object: an id it
 * was given was never stored, and may be given to something else. */
static struct audit_event
resolved(const struct audit_entry *e, const struct store_op *op, int batch_rc)
{
	struct audit_event ev = e->ev;

	if (e->outcome_from_op)
		ev.outcome = op->rc;
	if ((ev.outcome == RK_OK && batch_rc != RK_OK) ||
	    (e->outcome_from_op && op->undone)) {
		ev.object = NULL;
		ev.content = NULL;
	}
	if (ev.outcome == RK_OK && batch_rc != RK_OK)
		ev.outcome = batch_rc;
	if (e->outcome_from_op || batch_rc != RK_OK)
		ev.error_code = ev.outcome ? rk_err_grpc_name(ev.outcome) : NULL;
	return ev;
}

static int
sign_if_due(struct store_conn *jc, struct audit_journal *j, bool sign_now)
{
	if (j == NULL || j->signer == NULL)
		return RK_OK;
	return audit_checkpoint_maybe(jc, "audit", j->signer,
	                              sign_now ? 1 : j->every_records,
	                              sign_now ? 1 : j->every_ms, rk_now_ms());
}

static int
journal_append(struct store_conn *jc, struct store_op *batch, int batch_rc,
               void *arg)
{
	struct audit_journal *j = arg;
	bool sign_now = false;

	for (struct store_op *op = batch; op != NULL; op = op->next) {
		for (struct audit_entry *e = op->journal; e != NULL; e = e->next) {
			struct audit_event ev = resolved(e, op, batch_rc);
			sign_now |= e->checkpoint_after;
			if (audit_append(jc, "audit", &ev) != RK_OK)
				return RK_ERR_STORE;
			if (j != NULL)
				__atomic_fetch_add(&j->appended, 1, __ATOMIC_RELAXED);
		}
	}
	return sign_if_due(jc, j, sign_now);
}

/* ---- the outbox (care.db's audit_outbox, docs/audit-commit.md) */

#define OUTBOX_COLS                                                         \
	"ts_ms, actor_user_id, actor_login, actor_profession, actor_org,"   \
	" session_id, address, device, action, patient, object, outcome,"   \
	" error_code, reason, sign_after, content_sha256"

static const char q_upto[] =
	"SELECT coalesce((SELECT value FROM audit.meta"
	" WHERE name = 'outbox_upto'), 0)";
static const char q_upto_set[] =
	"INSERT OR REPLACE INTO audit.meta(name, value) VALUES ('outbox_upto', ?1)";
static const char q_clear[] =
	"DELETE FROM main.audit_outbox WHERE id <= coalesce((SELECT value FROM"
	" audit.meta WHERE name = 'outbox_upto'), 0)";
static const char q_put[] =
	"INSERT INTO main.audit_outbox(" OUTBOX_COLS ")"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
	" ?16)";
static const char q_take[] =
	"SELECT id, " OUTBOX_COLS " FROM main.audit_outbox WHERE id > ?1"
	" ORDER BY id";
/* An id is never used twice (AUTOINCREMENT), but a care.db restored
 * from an older copy would count again from its own past: never below
 * what audit.db has already taken. */
static const char q_seq_raise[] =
	"UPDATE main.sqlite_sequence SET seq = ?1"
	" WHERE name = 'audit_outbox' AND seq < ?1";
static const char q_seq_add[] =
	"INSERT INTO main.sqlite_sequence(name, seq) SELECT 'audit_outbox', ?1"
	" WHERE NOT EXISTS (SELECT 1 FROM main.sqlite_sequence"
	" WHERE name = 'audit_outbox')";

static int
step_done(sqlite3_stmt *q)
{
	int rc = q != NULL && sqlite3_step(q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
	if (q != NULL)
		sqlite3_reset(q);
	return rc;
}

static int64_t
outbox_upto(struct store_conn *sc, int *rc)
{
	sqlite3_stmt *q = store_stmt(sc, q_upto);
	int64_t v = 0;

	*rc = RK_ERR_STORE;
	if (q != NULL && sqlite3_step(q) == SQLITE_ROW) {
		v = sqlite3_column_int64(q, 0);
		*rc = RK_OK;
	}
	if (q != NULL)
		sqlite3_reset(q);
	return v;
}

static void
bind_text_or_null(sqlite3_stmt *q, int col, const char *s)
{
	if (s != NULL && s[0] != '\0')
		sqlite3_bind_text(q, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, col);
}

/* One outbox row, in the caller's care.db transaction. */
static int
put(struct store_conn *wc, const struct audit_event *ev, bool sign_after)
{
	sqlite3_stmt *q = store_stmt(wc, q_put);
	int rc;

	if (q == NULL || ev->action == NULL || ev->action[0] == '\0')
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, ev->ts_ms ? ev->ts_ms : rk_now_ms());
	sqlite3_bind_int64(q, 2, ev->actor_user_id);
	bind_text_or_null(q, 3, ev->actor_login);
	sqlite3_bind_int64(q, 4, ev->actor_profession);
	bind_text_or_null(q, 5, ev->actor_org);
	sqlite3_bind_int64(q, 6, ev->session_id);
	bind_text_or_null(q, 7, ev->address);
	bind_text_or_null(q, 8, ev->device);
	bind_text_or_null(q, 9, ev->action);
	bind_text_or_null(q, 10, ev->patient);
	bind_text_or_null(q, 11, ev->object);
	sqlite3_bind_int64(q, 12, ev->outcome);
	bind_text_or_null(q, 13, ev->error_code);
	bind_text_or_null(q, 14, ev->reason);
	sqlite3_bind_int(q, 15, sign_after);
	bind_text_or_null(q, 16, ev->content);
	rc = step_done(q);
	sqlite3_clear_bindings(q);
	return rc;
}

static int
journal_stage(struct store_conn *wc, struct store_op *batch, void *arg)
{
	(void)arg;
	/* What the trail already holds goes: the outbox stays small. */
	if (step_done(store_stmt(wc, q_clear)) != RK_OK)
		return RK_ERR_STORE;
	for (struct store_op *op = batch; op != NULL; op = op->next) {
		for (struct audit_entry *e = op->journal; e != NULL; e = e->next) {
			struct audit_event ev = resolved(e, op, RK_OK);
			int rc = put(wc, &ev, e->checkpoint_after);
			if (rc != RK_OK)
				return rc;
		}
	}
	return RK_OK;
}

int
audit_stage(struct store_conn *wc, const struct audit_event *ev)
{
	return put(wc, ev, false);
}

static const char *
col_text(sqlite3_stmt *q, int col)
{
	return sqlite3_column_type(q, col) == SQLITE_NULL
	               ? NULL
	               : (const char *)sqlite3_column_text(q, col);
}

static int
journal_forward(struct store_conn *jc, void *arg)
{
	struct audit_journal *j = arg;
	bool sign_now = false;
	int64_t upto, last;
	sqlite3_stmt *q;
	int rc, step;

	upto = outbox_upto(jc, &rc);
	if (rc != RK_OK || (q = store_stmt(jc, q_take)) == NULL)
		return RK_ERR_STORE;
	last = upto;
	sqlite3_bind_int64(q, 1, upto);
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		struct audit_event ev = {
			.ts_ms = sqlite3_column_int64(q, 1),
			.actor_user_id = sqlite3_column_int64(q, 2),
			.actor_login = col_text(q, 3),
			.actor_profession = sqlite3_column_int(q, 4),
			.actor_org = col_text(q, 5),
			.session_id = sqlite3_column_int64(q, 6),
			.address = col_text(q, 7),
			.device = col_text(q, 8),
			.action = col_text(q, 9),
			.patient = col_text(q, 10),
			.object = col_text(q, 11),
			.outcome = sqlite3_column_int(q, 12),
			.error_code = col_text(q, 13),
			.reason = col_text(q, 14),
			.content = col_text(q, 16),
		};
		sign_now |= sqlite3_column_int(q, 15) != 0;
		last = sqlite3_column_int64(q, 0);
		if (audit_append(jc, "audit", &ev) != RK_OK) {
			sqlite3_reset(q);
			return RK_ERR_STORE;
		}
		if (j != NULL)
			__atomic_fetch_add(&j->appended, 1, __ATOMIC_RELAXED);
	}
	sqlite3_reset(q);
	if (step != SQLITE_DONE)
		return RK_ERR_STORE;
	if (last == upto)
		return RK_OK; /* nothing staged */
	if ((q = store_stmt(jc, q_upto_set)) == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, last);
	if (step_done(q) != RK_OK)
		return RK_ERR_STORE;
	return sign_if_due(jc, j, sign_now);
}

static int
journal_reconcile(struct store_conn *wc, void *arg)
{
	int64_t upto;
	sqlite3_stmt *q;
	int rc;

	(void)arg;
	upto = outbox_upto(wc, &rc);
	if (rc != RK_OK)
		return rc;
	for (int i = 0; i < 2; i++) {
		q = store_stmt(wc, i == 0 ? q_seq_raise : q_seq_add);
		if (q == NULL)
			return RK_ERR_STORE;
		sqlite3_bind_int64(q, 1, upto);
		if (step_done(q) != RK_OK)
			return RK_ERR_STORE;
	}
	return RK_OK;
}

const struct store_journal audit_store_journal = {
	.stage = journal_stage,
	.forward = journal_forward,
	.append = journal_append,
	.reconcile = journal_reconcile,
};

int
audit_journal_close(struct store_conn *jc, void *arg)
{
	struct audit_journal *j = arg;

	if (j == NULL || j->signer == NULL)
		return RK_OK;
	return audit_checkpoint_maybe(jc, "audit", j->signer, 1, 1, rk_now_ms());
}
