/*
 * Boards: the timeline (a page of one board), and sync (what I missed on
 * my boards since a cursor, then live events).
 *
 * A timeline is a plain read. A sync page runs on the writer (lean: it
 * only reads) so that it sits exactly between commits: the last page's
 * done() runs after every commit the page saw and before every later one,
 * and makes the connection live there, so nothing falls between the
 * pages and the live events.
 */
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/record.h"
#include "api/reply.h"
#include "api/sub.h"
#include "api/wire.h"
#include "util/mem.h"
#include "util/text.h"

#define TIMELINE_MAX 1000
#define SYNC_DEFAULT 200
#define SYNC_MAX 1000
#define SYNC_BOARDS_MAX 1000

/* ------------------------------------------------------------- timeline */

struct timeline_req {
	struct api_req r;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1];
	int64_t before, after;
	int limit;
	struct care_page page;
};

static int
timeline_run(struct store_conn *sc, struct store_op *op)
{
	struct timeline_req *q = (struct timeline_req *)op;
	return care_timeline(sc, &q->who, q->code, q->before, q->after, q->limit,
	                     rk_now_ms(), &q->page, &q->r.st);
}

static void
timeline_ok(struct api_req *r, struct api_conn *c)
{
	struct timeline_req *q = (struct timeline_req *)r;
	Renkei__V1__TimelineResponse tr = RENKEI__V1__TIMELINE_RESPONSE__INIT;
	struct api_posts_wire w;

	api_posts_to_wire(&q->page, &w);
	tr.posts = w.ptrs;
	tr.n_posts = w.n;
	tr.more = q->page.more;
	tr.last_seq = (uint64_t)q->page.last_seq;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE, &tr);
	api_posts_wire_fini(&w);
}

static void
timeline_fini(struct api_req *r)
{
	care_page_fini(&((struct timeline_req *)r)->page);
}

void
api_timeline(const struct api_call *call, const void *msg)
{
	const Renkei__V1__TimelineRequest *m = msg;
	struct timeline_req *q;

	if (!api_patient_named(call, m->patient))
		return;
	if (m->before_seq > INT64_MAX || m->after_seq > INT64_MAX ||
	    (m->before_seq != 0 && m->after_seq != 0))
		return api_refuse(call, RK_ERR_INVALID,
		                  "give before_seq or after_seq, not both", "before_seq");
	q = api_req_new(sizeof(*q), call);
	q->who = api_req_actor(&q->r, call->c);
	snprintf(q->code, sizeof(q->code), "%s", m->patient);
	audit_entry_set_patient(q->r.au, q->code);
	q->before = (int64_t)m->before_seq;
	q->after = (int64_t)m->after_seq;
	q->limit = m->limit > TIMELINE_MAX ? TIMELINE_MAX : (int)m->limit;
	q->r.op.run = timeline_run;
	q->r.ok = timeline_ok;
	q->r.fini = timeline_fini;
	api_req_read(&q->r);
}

/* ------------------------------------------------------------------ sync */

struct sync_req {
	struct api_req r; /* r.au: the first record; a template for others */
	struct policy_actor who;
	char **codes;
	int64_t *since; /* per code: resume after this seq (0 = cursor only) */
	size_t ncodes;
	struct care_board *boards;
	size_t nboards;
	int64_t cursor;
	bool live_only;
	int limit;
	struct care_page page;
	int64_t next_cursor;
};

static void
sync_fini(struct api_req *r)
{
	struct sync_req *q = (struct sync_req *)r;

	for (size_t i = 0; i < q->ncodes; i++)
		free(q->codes[i]);
	free(q->codes);
	free(q->since);
	free(q->boards);
	care_page_fini(&q->page);
}

/* "Every board I may read": one record per board, now that they are
 * known; and per-board resume points, now that the boards are resolved. */
static void
sync_resolve(struct sync_req *q)
{
	if (q->ncodes == 0) {
		for (size_t b = 0; b < q->nboards; b++) {
			struct audit_entry *e = audit_entry_new(&q->r.au->ev);
			e->outcome_from_op = true;
			audit_entry_set_patient(e, q->boards[b].code);
			audit_entries_append((struct audit_entry **)&q->r.op.journal, e);
		}
	}
	for (size_t b = 0; b < q->nboards; b++)
		for (size_t i = 0; i < q->ncodes; i++)
			if (q->since[i] > q->boards[b].since_seq &&
			    strcmp(q->codes[i], q->boards[b].code) == 0)
				q->boards[b].since_seq = q->since[i];
}

static int
sync_run(struct store_conn *sc, struct store_op *op)
{
	struct sync_req *q = (struct sync_req *)op;
	sqlite3_stmt *st;
	int64_t now = rk_now_ms(), head = 0;
	int rc;

	rc = care_sync_boards(sc, &q->who, (const char *const *)q->codes, q->ncodes,
	                      now, &q->boards, &q->nboards, &q->r.st);
	if (rc != RK_OK)
		return rc;
	sync_resolve(q);
	st = store_stmt(sc, "SELECT coalesce(max(id), 0) FROM posts");
	if (st == NULL || store_step(sc, st) != SQLITE_ROW)
		return rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable", NULL);
	head = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (q->live_only) {
		q->next_cursor = head;
		return RK_OK;
	}
	rc = care_sync_page(sc, q->boards, q->nboards, q->cursor, q->limit, &q->page);
	if (rc != RK_OK)
		return rk_fail(&q->r.st, rc, "temporarily unavailable", NULL);
	/* Not more: everything up to the current head is delivered (what was
	 * skipped was not for this user), so resume from the head. */
	if (q->page.more)
		q->next_cursor = q->page.posts[q->page.n - 1].id;
	else
		q->next_cursor = head > q->cursor ? head : q->cursor;
	return RK_OK;
}

static void
sync_ok(struct api_req *r, struct api_conn *c)
{
	struct sync_req *q = (struct sync_req *)r;
	Renkei__V1__SyncResponse sr = RENKEI__V1__SYNC_RESPONSE__INIT;
	struct api_posts_wire w;
	char **codes;

	if (c == NULL)
		return;
	codes = rk_calloc(q->nboards + 1, sizeof(*codes));
	for (size_t i = 0; i < q->nboards; i++)
		codes[i] = q->boards[i].code;
	api_posts_to_wire(&q->page, &w);
	sr.posts = w.ptrs;
	sr.n_posts = w.n;
	sr.cursor = (uint64_t)q->next_cursor;
	sr.more = q->page.more;
	sr.n_patients = q->nboards;
	sr.patients = codes;
	api_reply(r->api, c, r->request_id, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE,
	          &sr);
	api_posts_wire_fini(&w);
	free(codes);
	/* The last page makes the connection live. */
	if (!q->page.more)
		api_sub_set(r->api, c, q->boards, q->nboards);
}

static void
sync_done(struct store_op *op, int rc)
{
	struct api_conn *c = api_req_conn((struct api_req *)op);

	if (c != NULL)
		c->syncing = false;
	api_req_write_done(op, rc);
}

/* The request's own fields: true if they are fine, else refused. */
static bool
sync_valid(const struct api_call *call, const Renkei__V1__SyncRequest *m)
{
	const char *bad = NULL, *field = NULL;

	if (m->n_patients > SYNC_BOARDS_MAX || m->n_boards > SYNC_BOARDS_MAX)
		bad = "too many boards in one request", field = "patients";
	else if (m->cursor > INT64_MAX)
		bad = "bad cursor", field = "cursor";
	for (size_t i = 0; bad == NULL && i < m->n_patients; i++)
		if (!api_code_ok(m->patients[i]))
			bad = "name each patient by code", field = "patients";
	for (size_t i = 0; bad == NULL && i < m->n_boards; i++)
		if (!api_code_ok(m->boards[i]->patient) ||
		    m->boards[i]->since_seq > INT64_MAX)
			bad = "each board cursor names a patient", field = "boards";
	if (bad != NULL) {
		api_refuse(call, RK_ERR_INVALID, bad, field);
		return false;
	}
	if (call->c->syncing) {
		api_refuse(call, RK_ERR_PRECONDITION,
		           "a sync is already in progress on this connection", NULL);
		return false;
	}
	return true;
}

void
api_sync(const struct api_call *call, const void *msg)
{
	const Renkei__V1__SyncRequest *m = msg;
	struct api_conn *c = call->c;
	struct sync_req *q;
	size_t nmax = m->n_patients + m->n_boards + 1;

	if (!sync_valid(call, m))
		return;
	q = api_req_new(sizeof(*q), call);
	q->who = api_req_actor(&q->r, c);
	/* Boards named by a cursor are watched too. */
	q->codes = rk_calloc(nmax, sizeof(*q->codes));
	q->since = rk_calloc(nmax, sizeof(*q->since));
	for (size_t i = 0; i < m->n_patients; i++)
		q->codes[q->ncodes++] = rk_strdup(m->patients[i]);
	for (size_t i = 0; i < m->n_boards; i++) {
		q->since[q->ncodes] = (int64_t)m->boards[i]->since_seq;
		q->codes[q->ncodes++] = rk_strdup(m->boards[i]->patient);
	}
	/* One record per board named (r.au is the first; with no board
	 * named it is the template for those found then). */
	if (q->ncodes > 0)
		audit_entry_set_patient(q->r.au, q->codes[0]);
	for (size_t i = 1; i < q->ncodes; i++)
		api_audit(&q->r, c, call->verb->audit, q->codes[i], NULL);
	q->cursor = (int64_t)m->cursor;
	q->live_only = m->live_only;
	q->limit = m->limit == 0 ? SYNC_DEFAULT
	                         : (m->limit > SYNC_MAX ? SYNC_MAX : (int)m->limit);
	q->r.op.lean = true; /* reads only */
	q->r.op.run = sync_run;
	q->r.op.done = sync_done;
	q->r.ok = sync_ok;
	q->r.fini = sync_fini;
	/* Stop live delivery while paging: the pages carry everything, and
	 * the last one switches the connection back to live. */
	api_sub_clear(call->api, c);
	c->syncing = true;
	if (api_req_write(&q->r) != RK_OK)
		c->syncing = false;
}
