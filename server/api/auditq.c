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

#include "api/internal.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

#define EXPORT_CHUNK (256 * 1024)
#define EXPORT_MAX ((size_t)512 * 1024 * 1024)

struct auditq_req {
	struct api_req r;
	bool is_export;
	/* query */
	char *patient, *user, *org, *action;
	struct audit_query q;
	struct audit_record *recs;
	size_t n;
	bool more;
	/* export */
	int64_t since_ms, until_ms;
	enum audit_format fmt;
	char *buf;
	size_t len;
	int64_t records;
};

static void
auditq_free(struct auditq_req *q)
{
	free(q->patient);
	free(q->user);
	free(q->org);
	free(q->action);
	audit_records_free(q->recs, q->n);
	free(q->buf);
	api_req_fini(&q->r);
	free(q);
}

static char *
opt(const char *s)
{
	return s != NULL && s[0] != '\0' ? rk_strdup(s) : NULL;
}

static int
auditq_run(struct store_conn *sc, struct store_op *op)
{
	struct auditq_req *q = (struct auditq_req *)op;
	FILE *f;
	int64_t n;

	if (!q->is_export) {
		int rc = audit_query_run(sc, "audit", &q->q, &q->recs, &q->n, &q->more);
		if (rc != RK_OK)
			rk_fail(&q->r.st, rc,
			        rc == RK_ERR_INVALID ? "invalid query" : "temporarily unavailable",
			        NULL);
		return rc;
	}
	f = open_memstream(&q->buf, &q->len);
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
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AuditExportResponse er = RENKEI__V1__AUDIT_EXPORT_RESPONSE__INIT;
	size_t len = 0;

	if (offset > c->export_len)
		return api_send_error3(api, c, rid, RK_ERR_INVALID,
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
	env.request_id = rid;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_RESPONSE;
	env.audit_export_response = &er;
	api_send(api, c, &env);
	if (!er.more)
		api_export_drop(c);
}

static void
auditq_reply(struct api_req *r, int rc)
{
	struct auditq_req *q = (struct auditq_req *)r;
	struct api *api = q->r.api;
	struct api_conn *c = api_req_conn(&q->r);

	if (c == NULL)
		goto out;
	if (rc != RK_OK) {
		api_send_error(api, c, q->r.request_id, &q->r.st);
		goto out;
	}
	if (q->is_export) {
		api_export_drop(c);
		c->export_buf = q->buf;
		c->export_len = q->len;
		c->export_records = q->records;
		q->buf = NULL;
		send_chunk(api, c, q->r.request_id, 0);
		goto out;
	}
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AuditQueryResponse qr = RENKEI__V1__AUDIT_QUERY_RESPONSE__INIT;
	Renkei__V1__AuditRecord *ws = rk_calloc(q->n + 1, sizeof(*ws));
	Renkei__V1__AuditRecord **wp = rk_calloc(q->n + 1, sizeof(*wp));
	char (*hex)[65] = rk_calloc(q->n + 1, sizeof(*hex));

	for (size_t i = 0; i < q->n; i++) {
		const struct audit_record *a = &q->recs[i];
		renkei__v1__audit_record__init(&ws[i]);
		ws[i].id = (uint64_t)a->id;
		ws[i].time_ms = a->ev.ts_ms;
		ws[i].actor_login = (char *)(a->ev.actor_login ? a->ev.actor_login : "");
		ws[i].actor_profession = (Renkei__V1__Profession)a->ev.actor_profession;
		ws[i].actor_org = (char *)(a->ev.actor_org ? a->ev.actor_org : "");
		ws[i].session_id = (uint64_t)a->ev.session_id;
		ws[i].address = (char *)(a->ev.address ? a->ev.address : "");
		ws[i].device = (char *)(a->ev.device ? a->ev.device : "");
		ws[i].action = (char *)(a->ev.action ? a->ev.action : "");
		ws[i].patient = (char *)(a->ev.patient ? a->ev.patient : "");
		ws[i].object = (char *)(a->ev.object ? a->ev.object : "");
		ws[i].outcome = (Renkei__V1__Code)rk_err_grpc_code(a->ev.outcome);
		ws[i].reason = (char *)(a->ev.reason ? a->ev.reason : "");
		rk_hex_encode(a->hash, 32, hex[i]);
		ws[i].hash = hex[i];
		wp[i] = &ws[i];
	}
	qr.n_records = q->n;
	qr.records = wp;
	qr.more = q->more;
	env.request_id = q->r.request_id;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_RESPONSE;
	env.audit_query_response = &qr;
	api_send(api, c, &env);
	free(ws);
	free(wp);
	free(hex);
out:
	auditq_free(q);
}

static void
auditq_done(struct store_op *op, int rc)
{
	struct auditq_req *q = (struct auditq_req *)op;

	/* An export's record (and a checkpoint over it) was committed before
	 * the export was made; a query's record commits now, before the
	 * answer. */
	if (q->is_export)
		auditq_reply(&q->r, rc);
	else
		api_audit_then(&q->r, rc, auditq_reply);
}

/* The export's record is committed, with a checkpoint signed right after
 * it, so that the export covers every record up to and including its own
 * and verifies offline. Now make it. */
static void
export_start(struct api_req *r, int rc)
{
	struct auditq_req *q = (struct auditq_req *)r;

	if (rc != RK_OK)
		return auditq_reply(r, rc);
	api_req_fini(&q->r);
	memset(&q->r.op, 0, sizeof(q->r.op));
	q->r.op.run = auditq_run;
	q->r.op.done = auditq_done;
	if (store_submit_read(q->r.api->store, &q->r.op) != RK_OK) {
		rk_fail(&q->r.st, RK_ERR_UNAVAILABLE, "the server is shutting down", NULL);
		auditq_reply(r, RK_ERR_UNAVAILABLE);
	}
}

/* Refuse a non-auditor, with the refusal recorded before it is sent. */
static void
refuse(struct api_req *r, int rc)
{
	auditq_reply(r, rc);
}

void
api_export_drop(struct api_conn *c)
{
	free(c->export_buf);
	c->export_buf = NULL;
	c->export_len = 0;
	c->export_records = 0;
}

void
api_handle_audit(struct api *api, struct api_conn *c,
                 const Renkei__V1__Envelope *env)
{
	uint64_t rid = env->request_id;
	struct auditq_req *q;
	char detail[160];

	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_REQUEST) {
		Renkei__V1__Envelope out = RENKEI__V1__ENVELOPE__INIT;
		Renkei__V1__AuditPublicKeyResponse pr =
			RENKEI__V1__AUDIT_PUBLIC_KEY_RESPONSE__INIT;
		/* Public: anyone logged in may check an export. */
		pr.pem = (char *)(api->audit_pubkey ? api->audit_pubkey : "");
		out.request_id = rid;
		out.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_RESPONSE;
		out.audit_public_key_response = &pr;
		return api_send(api, c, &out);
	}
	/* The next chunk of an export already made: no new record. */
	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_REQUEST &&
	    env->audit_export_request->offset > 0) {
		if (c->export_buf == NULL)
			return api_send_error3(api, c, rid, RK_ERR_PRECONDITION,
			                       "no export in progress: start at offset 0",
			                       "offset");
		return send_chunk(api, c, rid, env->audit_export_request->offset);
	}

	q = rk_calloc(1, sizeof(*q));
	api_req_init(&q->r, api, c, rid);
	q->r.op.run = auditq_run;
	q->r.op.done = auditq_done;
	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_REQUEST) {
		const Renkei__V1__AuditQueryRequest *m = env->audit_query_request;
		q->patient = opt(m->patient);
		q->user = opt(m->user);
		q->org = opt(m->org);
		q->action = opt(m->action);
		q->q.patient = q->patient;
		q->q.user = q->user;
		q->q.org = q->org;
		q->q.action = q->action;
		q->q.outcome = m->outcome == RENKEI__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_SUCCESS
		                       ? 0
		               : m->outcome == RENKEI__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_FAILURE
		                       ? 1
		                       : -1;
		q->q.since_ms = m->since_ms;
		q->q.until_ms = m->until_ms;
		q->q.after_id = m->after_id > INT64_MAX ? INT64_MAX : (int64_t)m->after_id;
		q->q.limit = m->limit > 1000 ? 1000 : (int)m->limit;
		/* The query itself is recorded, with what it looked for. */
		snprintf(detail, sizeof(detail), "user=%s org=%s action=%s",
		         q->user ? q->user : "", q->org ? q->org : "",
		         q->action ? q->action : "");
		struct audit_entry *e = api_audit(&q->r, c, "audit.query", q->patient, NULL);
		audit_entry_set_reason(e, detail);
	} else {
		const Renkei__V1__AuditExportRequest *m = env->audit_export_request;
		q->is_export = true;
		q->since_ms = m->since_ms;
		q->until_ms = m->until_ms;
		q->fmt = m->format == RENKEI__V1__AUDIT_FORMAT__AUDIT_FORMAT_CSV ? AUDIT_CSV
		                                                                : AUDIT_JSONL;
		snprintf(detail, sizeof(detail), "%s %lld..%lld",
		         q->fmt == AUDIT_CSV ? "csv" : "jsonl", (long long)m->since_ms,
		         (long long)m->until_ms);
		struct audit_entry *e = api_audit(&q->r, c, "audit.export", NULL, NULL);
		audit_entry_set_reason(e, detail);
		e->checkpoint_after = true;
		if (m->until_ms != 0 && m->until_ms <= m->since_ms) {
			rk_fail(&q->r.st, RK_ERR_INVALID, "until must come after since",
			        "until_ms");
			return api_audit_then(&q->r, RK_ERR_INVALID, refuse);
		}
	}
	if (c->sess->user.profession != PROF_AUDITOR) {
		rk_fail(&q->r.st, RK_ERR_DENIED, "only auditors may read the audit trail",
		        NULL);
		return api_audit_then(&q->r, RK_ERR_DENIED, refuse);
	}
	if (q->is_export)
		return api_audit_then(&q->r, RK_OK, export_start);
	if (store_submit_read(api->store, &q->r.op) != RK_OK) {
		api_send_error3(api, c, rid, RK_ERR_UNAVAILABLE,
		                "the server is shutting down; try again shortly", NULL);
		auditq_free(q);
	}
}
