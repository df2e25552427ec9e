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
 * new export starts, when the connection closes, or when it has not been
 * fetched from for export_idle_s.
 *
 * Bounds, since an export is memory and a reader's time: at most
 * export_max_mb of it (the memory file refuses to grow further, so a
 * range too large stops there rather than after the fact), at most
 * export_max_per_user per user and export_max_concurrent in all being
 * made or held at once. A refusal for the latter two is recorded like any
 * refusal. An export found too large is refused after its record (which
 * commits first, so that the export covers it) and a second record says
 * so.
 */
#define _GNU_SOURCE /* fopencookie */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/record.h"
#include "api/reply.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

#define QUERY_MAX 1000
#define EXPORT_CHUNK (256 * 1024)

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
	bool slot;      /* counted in api->exports while being made */
	bool too_large; /* stopped at export_max_mb */
	char msg[200];
};

void
api_export_drop(struct api *api, struct api_conn *c)
{
	/* One being made is counted by its request until it is handed over. */
	if (c->export_state == API_EXPORT_HELD)
		api->exports--;
	if (c->export_state != API_EXPORT_MAKING)
		c->export_state = API_EXPORT_NONE;
	free(c->export_buf);
	c->export_buf = NULL;
	c->export_len = 0;
	c->export_records = 0;
}

void
api_export_expire(struct api *api, struct api_conn *c, int64_t mono_ms)
{
	if (c->export_state != API_EXPORT_HELD ||
	    mono_ms - c->export_used_ms < (int64_t)api->conf->export_idle_s * 1000)
		return;
	api->stats.exports_expired++;
	LOG_I("AUDIT-EXPORT-EXPIRED", "conn=%llu bytes=%zu",
	      (unsigned long long)c->id, c->export_len);
	api_export_drop(api, c);
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
	struct export_req *q = (struct export_req *)r;
	struct api_conn *c;

	free(q->buf);
	if (!q->slot)
		return;
	r->api->exports--;
	c = api_req_conn(r);
	if (c != NULL && c->export_state == API_EXPORT_MAKING)
		c->export_state = API_EXPORT_NONE;
}

/* A memory file that will not grow past max: the export stops at its
 * first write beyond (open_memstream would grow without bound). */
struct capped {
	struct export_req *q;
	size_t cap, max;
};

static ssize_t
capped_write(void *cookie, const char *buf, size_t size)
{
	struct capped *m = cookie;
	struct export_req *q = m->q;

	if (size > m->max - q->len) {
		q->too_large = true;
		errno = EFBIG;
		return 0; /* fopencookie: 0 is the error */
	}
	if (q->len + size > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		while (cap < q->len + size)
			cap = cap > m->max / 2 ? m->max : cap * 2;
		q->buf = rk_realloc(q->buf, cap);
		m->cap = cap;
	}
	memcpy(q->buf + q->len, buf, size);
	q->len += size;
	return (ssize_t)size;
}

static int
export_run(struct store_conn *sc, struct store_op *op)
{
	struct export_req *q = (struct export_req *)op;
	const struct conf *conf = q->r.api->conf;
	struct capped m = {.q = q, .max = (size_t)conf->export_max_mb << 20};
	cookie_io_functions_t io = {.write = capped_write};
	FILE *f = fopencookie(&m, "w", io);
	int64_t n;

	if (f == NULL)
		return rk_fail(&q->r.st, RK_ERR_INTERNAL, "could not make the export", NULL);
	n = audit_export(sc, "audit", q->since_ms, q->until_ms, q->fmt, f);
	if (fclose(f) != 0 || n < 0) {
		if (!q->too_large)
			return rk_fail(&q->r.st, RK_ERR_STORE, "could not make the export",
			               NULL);
		free(q->buf);
		q->buf = NULL;
		q->len = 0;
		snprintf(q->msg, sizeof(q->msg),
		         "the export would be larger than %d MiB (export_max_mb): choose "
		         "a shorter time range",
		         conf->export_max_mb);
		return rk_fail(&q->r.st, RK_ERR_EXHAUSTED, q->msg, "until_ms");
	}
	q->records = n;
	return RK_OK;
}

/* Made, or refused: a refusal for size gets a record of its own (the
 * export's first record committed before it was made). */
static void
export_made(struct store_op *op, int rc)
{
	struct export_req *q = (struct export_req *)op;
	struct api_conn *c = api_req_conn(&q->r);

	if (rc != RK_ERR_EXHAUSTED || !q->too_large)
		return api_req_write_done(op, rc);
	q->r.api->stats.export_refused[API_EXPORT_LIMIT_SIZE]++;
	if (c == NULL)
		return api_req_finish(&q->r, rc);
	audit_entry_set_reason(api_audit(&q->r, c, "audit.export", NULL, NULL),
	                       "refused: larger than export_max_mb");
	api_audit_then(&q->r, rc, api_req_finish);
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
	c->export_used_ms = rk_mono_ms();
	api_reply(api, c, rid, RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_RESPONSE, &er);
	if (!er.more)
		api_export_drop(api, c);
}

/* Made: the connection holds it now; send the first chunk. */
static void
export_ok(struct api_req *r, struct api_conn *c)
{
	struct export_req *q = (struct export_req *)r;

	if (c == NULL)
		return;
	/* Hand the export, and its place in api->exports, to the connection. */
	q->slot = false;
	c->export_state = API_EXPORT_HELD;
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
	api_req_next(r, false, export_run, export_made);
}

/* May c's user start an export now? If not, the message (naming the
 * limit) goes to msg and the limit to *limit. c's own export, if it holds
 * one, does not count: a new one replaces it. */
static bool
export_allowed(struct api *api, const struct api_conn *c, char *msg, size_t cap,
               enum api_export_limit *limit)
{
	const struct conf *conf = api->conf;
	int mine = 0, all = api->exports;
	size_t pos = 0;
	uint64_t id;
	void *v;

	if (c->export_state == API_EXPORT_HELD)
		all--;
	while (idmap_next(&api->conns, &pos, &id, &v)) {
		const struct api_conn *o = v;
		if (o->export_state == API_EXPORT_NONE || o->sess == NULL ||
		    o->sess->user.id != c->sess->user.id)
			continue;
		if (o != c || o->export_state == API_EXPORT_MAKING)
			mine++;
	}
	if (mine >= conf->export_max_per_user) {
		*limit = API_EXPORT_LIMIT_PER_USER;
		snprintf(msg, cap,
		         "you have %d audit export%s in progress, the most allowed "
		         "(export_max_per_user): fetch %s to the end first",
		         mine, mine == 1 ? "" : "s", mine == 1 ? "it" : "one");
		return false;
	}
	if (all >= conf->export_max_concurrent) {
		*limit = API_EXPORT_LIMIT_CONCURRENT;
		snprintf(msg, cap,
		         "the server is making or holding %d audit exports, the most "
		         "allowed at once (export_max_concurrent): try again in a few "
		         "minutes",
		         all);
		return false;
	}
	return true;
}

/* After the step-up: within the limits, take a slot and go. */
static void
export_go(struct api_req *r)
{
	struct export_req *q = (struct export_req *)r;
	struct api_conn *c = api_req_conn(r);
	enum api_export_limit limit;

	if (c == NULL || c->sess == NULL) {
		rk_fail(&r->st, RK_ERR_UNAVAILABLE, "the connection has gone", NULL);
		return api_audit_then(r, RK_ERR_UNAVAILABLE, api_req_finish);
	}
	if (!export_allowed(r->api, c, q->msg, sizeof(q->msg), &limit)) {
		r->api->stats.export_refused[limit]++;
		rk_fail(&r->st, RK_ERR_EXHAUSTED, q->msg, NULL);
		return api_audit_then(r, RK_ERR_EXHAUSTED, api_req_finish);
	}
	/* A new export replaces the one this connection holds. */
	api_export_drop(r->api, c);
	c->export_state = API_EXPORT_MAKING;
	r->api->exports++;
	q->slot = true;
	api_audit_then(r, RK_OK, export_start);
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
			                  "no export in progress (fetched to the end, "
			                  "replaced, or not fetched from for "
			                  "export_idle_s): start at offset 0",
			                  "offset");
		return send_chunk(call->api, call->c, call->rid, m->offset);
	}
	if (!api_step_up_format_ok(call, m->totp_code))
		return;
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
	if (!auditor_only(&q->r, call))
		return;
	/* A fresh second-factor code (if the auditor has a factor), then
	 * the limits, as they are when the check is done. */
	api_step_up(&q->r, m->totp_code, export_go);
}

void
api_audit_public_key(const struct api_call *call, const void *msg)
{
	Renkei__V1__AuditPublicKeyResponse pr = RENKEI__V1__AUDIT_PUBLIC_KEY_RESPONSE__INIT;

	/* Public: anyone logged in may check an export. */
	(void)msg;
	pr.pem = (char *)(call->api->audit_pubkey ? call->api->audit_pubkey : "");
	pr.current_pem = (char *)(call->api->audit_pubkey_current
	                              ? call->api->audit_pubkey_current
	                              : "");
	api_reply(call->api, call->c, call->rid,
	          RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_RESPONSE, &pr);
}
