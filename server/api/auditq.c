/*
 * The auditors' interface: query the audit trail, export a range (JSON
 * Lines, verifiable offline; CSV for Excel), fetch the public key.
 *
 * Auditors only — and auditors see no clinical content here either: an
 * audit record names a patient by code and an object by id, never note
 * text. Every query and export is itself audited, and so is every
 * refusal.
 *
 * An export is made once, on a reader thread, into memory held by the
 * connection, and fetched in chunks by offset (a large range does not
 * need one huge message). It is dropped when fetched to the end, when a
 * new export starts, or when the connection closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/record.h"
#include "api/reply.h"
#include "util/mem.h"
#include "util/text.h"

#define QUERY_MAX 1000
#define EXPORT_CHUNK (256 * 1024)
#define EXPORT_MAX ((size_t)512 * 1024 * 1024)

struct query_req {
	struct api_req r;
	struct audit_query q;
	struct audit_record *recs;
	size_t n;
	bool more;
};

struct export_req {
	struct api_req r;
	int64_t since_ms, until_ms;
	enum audit_format fmt;
	char *buf;
	size_t len;
	int64_t records;
};

void
api_export_drop(struct api_conn *c)
{
	free(c->export_buf);
	c->export_buf = NULL;
	c->export_len = 0;
	c->export_records = 0;
}

/* Only auditors: anyone else is refused, with the refusal recorded before
 * it is sent. */
static bool
auditor_only(struct api_req *r, const struct api_call *call)
{
	if (call->c->sess->user.profession == PROF_AUDITOR)
		return true;
	rk_fail(&r->st, RK_ERR_DENIED, "only auditors may read the audit trail",
	        NULL);
	api_audit_then(r, RK_ERR_DENIED, api_req_finish);
	return false;
}

/* ------------------------------------------------------------------ query */

static void
query_fini(struct api_req *r)
{
	struct query_req *q = (struct query_req *)r;

	audit_records_free(q->recs, q->n);
}

static int
query_run(struct store_conn *sc, struct store_op *op)
{
	struct query_req *q = (struct query_req *)op;
	int rc = audit_query_run(sc, "audit", &q->q, &q->recs, &q->n, &q->more);

	if (rc != RK_OK)
		rk_fail(&q->r.st, rc,
		        rc == RK_ERR_INVALID ? "invalid query" : "temporarily unavailable",
		        NULL);
	return rc;
}

static const char *
or_empty(const char *s)
{
	return s ? s : "";
}

static void
record_to_wire(const struct audit_record *a, Renkei__V1__AuditRecord *w,
               char hex[65])
{
	renkei__v1__audit_record__init(w);
	w->id = (uint64_t)a->id;
	w->time_ms = a->ev.ts_ms;
	w->actor_login = (char *)or_empty(a->ev.actor_login);
	w->actor_profession = (Renkei__V1__Profession)a->ev.actor_profession;
	w->actor_org = (char *)or_empty(a->ev.actor_org);
	w->session_id = (uint64_t)a->ev.session_id;
	w->address = (char *)or_empty(a->ev.address);
	w->device = (char *)or_empty(a->ev.device);
	w->action = (char *)or_empty(a->ev.action);
	w->patient = (char *)or_empty(a->ev.patient);
	w->object = (char *)or_empty(a->ev.object);
	w->outcome = (Renkei__V1__Code)rk_err_grpc_code(a->ev.outcome);
	w->reason = (char *)or_empty(a->ev.reason);
	w->content_sha256 = (char *)or_empty(a->ev.content);
	rk_hex_encode(a->hash, 32, hex);
	w->hash = hex;
}

static void
query_ok(struct api_req *r, struct api_conn *c)
{
	struct query_req *q = (struct query_req *)r;
	Renkei__V1__AuditQueryResponse qr = RENKEI__V1__AUDIT_QUERY_RESPONSE__INIT;
	Renkei__V1__AuditRecord *ws, **wp;
	char(*hex)[65];

	ws = rk_calloc(q->n + 1, sizeof(*ws));
	wp = rk_calloc(q->n + 1, sizeof(*wp));
	hex = rk_calloc(q->n + 1, sizeof(*hex));
	for (size_t i = 0; i < q->n; i++) {
		record_to_wire(&q->recs[i], &ws[i], hex[i]);
		wp[i] = &ws[i];
	}
	qr.n_records = q->n;
	qr.records = wp;
	qr.more = q->more;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_RESPONSE, &qr);
	free(ws);
	free(wp);
	free(hex);
}

/* An optional filter: NULL when not given. */
static const char *
opt(struct api_req *r, const char *s)
{
	return s != NULL && s[0] != '\0' ? api_req_strdup(r, s) : NULL;
}

void
api_audit_query(const struct api_call *call, const void *msg)
{
	const Renkei__V1__AuditQueryRequest *m = msg;
	struct query_req *q = api_req_new(sizeof(*q), call);
	char detail[160];

	q->r.fini = query_fini;
	q->q.patient = opt(&q->r, m->patient);
	q->q.user = opt(&q->r, m->user);
	q->q.org = opt(&q->r, m->org);
	q->q.action = opt(&q->r, m->action);
	q->q.outcome =
		m->outcome == RENKEI__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_SUCCESS   ? 0
		: m->outcome == RENKEI__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_FAILURE ? 1
		                                                                 : -1;
	q->q.since_ms = m->since_ms;
	q->q.until_ms = m->until_ms;
	q->q.after_id = m->after_id > INT64_MAX ? INT64_MAX : (int64_t)m->after_id;
	q->q.limit = m->limit > QUERY_MAX ? QUERY_MAX : (int)m->limit;
	/* The query itself is recorded, with what it looked for. */
	snprintf(detail, sizeof(detail), "user=%s org=%s action=%s",
	         or_empty(q->q.user), or_empty(q->q.org), or_empty(q->q.action));
	audit_entry_set_patient(q->r.au, q->q.patient);
	audit_entry_set_reason(q->r.au, detail);
	if (!auditor_only(&q->r, call))
		return;
	q->r.op.run = query_run;
	q->r.ok = query_ok;
	api_req_read(&q->r);
}

/* ----------------------------------------------------------------- export */

static void
export_fini(struct api_req *r)
{
	free(((struct export_req *)r)->buf);
}

static int
export_run(struct store_conn *sc, struct store_op *op)
{
	struct export_req *q = (struct export_req *)op;
	FILE *f = open_memstream(&q->buf, &q->len);
	int64_t n;

	if (f == NULL)
		return rk_fail(&q->r.st, RK_ERR_INTERNAL, "could not make the export", NULL);
	n = audit_export(sc, "audit", q->since_ms, q->until_ms, q->fmt, f);
	if (fclose(f) != 0 || n < 0)
		return rk_fail(&q->r.st, RK_ERR_STORE, "could not make the export", NULL);
	if (q->len > EXPORT_MAX)
		return rk_fail(&q->r.st, RK_ERR_EXHAUSTED,
		               "the export is too large: choose a shorter time range",
		               "until_ms");
	q->records = n;
	return RK_OK;
}

static void
send_chunk(struct api *api, struct api_conn *c, uint64_t rid, uint64_t offset)
{
	Renkei__V1__AuditExportResponse er = RENKEI__V1__AUDIT_EXPORT_RESPONSE__INIT;
	size_t len = 0;

	if (offset > c->export_len)
		return api_reply_error(api, c, rid, RK_ERR_INVALID,
		                       "offset past the end of the export", "offset");
	len = c->export_len - offset;
	if (len > EXPORT_CHUNK)
		len = EXPORT_CHUNK;
	er.data.data = (uint8_t *)c->export_buf + offset;
	er.data.len = len;
	er.offset = offset;
	er.total = c->export_len;
	er.more = offset + len < c->export_len;
	er.records = c->export_records;
	api_reply(api, c, rid, RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_RESPONSE, &er);
	if (!er.more)
		api_export_drop(c);
}

/* Made: the connection holds it now; send the first chunk. */
static void
export_ok(struct api_req *r, struct api_conn *c)
{
	struct export_req *q = (struct export_req *)r;

	if (c == NULL)
		return;
	api_export_drop(c);
	c->export_buf = q->buf;
	c->export_len = q->len;
	c->export_records = q->records;
	q->buf = NULL;
	send_chunk(r->api, c, r->request_id, 0);
}

/* The export's record is committed, with a checkpoint signed right after
 * it, so that the export covers every record up to and including its own
 * and verifies offline. Now make it (no second record: done is the
 * write-side one, which answers without auditing again). */
static void
export_start(struct api_req *r, int rc)
{
	if (rc != RK_OK)
		return api_req_finish(r, rc);
	audit_entries_free(r->op.journal);
	r->op.journal = NULL;
	api_req_next(r, false, export_run, api_req_write_done);
}

void
api_audit_export(const struct api_call *call, const void *msg)
{
	const Renkei__V1__AuditExportRequest *m = msg;
	struct export_req *q;
	char detail[160];

	/* The next chunk of an export already made: no new record. */
	if (m->offset > 0) {
		if (call->c->export_buf == NULL)
			return api_refuse(call, RK_ERR_PRECONDITION,
			                  "no export in progress: start at offset 0",
			                  "offset");
		return send_chunk(call->api, call->c, call->rid, m->offset);
	}
	q = api_req_new(sizeof(*q), call);
	q->r.fini = export_fini;
	q->r.ok = export_ok;
	q->since_ms = m->since_ms;
	q->until_ms = m->until_ms;
	q->fmt = m->format == RENKEI__V1__AUDIT_FORMAT__AUDIT_FORMAT_CSV ? AUDIT_CSV
	                                                                : AUDIT_JSONL;
	snprintf(detail, sizeof(detail), "%s %lld..%lld",
	         q->fmt == AUDIT_CSV ? "csv" : "jsonl", (long long)m->since_ms,
	         (long long)m->until_ms);
	audit_entry_set_reason(q->r.au, detail);
	q->r.au->checkpoint_after = true;
	if (m->until_ms != 0 && m->until_ms <= m->since_ms) {
		rk_fail(&q->r.st, RK_ERR_INVALID, "until must come after since",
		        "until_ms");
		return api_audit_then(&q->r, RK_ERR_INVALID, api_req_finish);
	}
	if (auditor_only(&q->r, call))
		api_audit_then(&q->r, RK_OK, export_start);
}

void
api_audit_public_key(const struct api_call *call, const void *msg)
{
	Renkei__V1__AuditPublicKeyResponse pr = RENKEI__V1__AUDIT_PUBLIC_KEY_RESPONSE__INIT;

	/* Public: anyone logged in may check an export. */
	(void)msg;
	pr.pem = (char *)(call->api->audit_pubkey ? call->api->audit_pubkey : "");
	api_reply(call->api, call->c, call->rid,
	          RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_RESPONSE, &pr);
}
