/*
 * Appending records, and what reads them back: the chain head, rows,
 * auditors' queries.
 *
 * Appending. The writer thread is the only appender, and each append
 * runs inside the caller's transaction, so "read the head, hash, insert
 * head + 1" needs no lock: nothing else can move the head in between. The
 * head is read from the database every time rather than cached, because
 * the store rolls back a failed op's savepoint, and a cached head would
 * then point at a record that no longer exists.
 *
 * Text is stored as the chain hashes it. Fields are made well-formed
 * before hashing — "" becomes absent (NULL), bytes that are not UTF-8 and
 * control characters become U+FFFD, anything longer than AUDIT_FIELD_MAX
 * bytes is cut at a character boundary — so that the record is faithfully
 * exportable as JSON and CSV. A failed login's typed name is the one field
 * a stranger controls; it is recorded, defanged, rather than refused.
 */
#include "audit/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

int
audit_schema_ix(const char *schema)
{
	if (schema == NULL || strcmp(schema, "audit") == 0)
		return 0;
	if (strcmp(schema, "main") == 0)
		return 1;
	return -1;
}

static void
col_str(sqlite3_stmt *q, int col, struct audit_str *s)
{
	if (sqlite3_column_type(q, col) == SQLITE_NULL) {
		s->p = NULL;
		s->n = 0;
		return;
	}
	/* text first, then bytes: the order SQLite documents as safe */
	s->p = (const char *)sqlite3_column_text(q, col);
	s->n = (size_t)sqlite3_column_bytes(q, col);
	if (s->p == NULL) /* out of memory converting: treat as empty */
		s->p = "";
}

void
audit_row_canon(sqlite3_stmt *q, struct audit_canon *r)
{
	r->id = sqlite3_column_int64(q, 0);
	r->ts_ms = sqlite3_column_int64(q, 1);
	r->user_id = sqlite3_column_int64(q, 2);
	col_str(q, 3, &r->s[AF_LOGIN]);
	r->profession = sqlite3_column_int64(q, 4);
	col_str(q, 5, &r->s[AF_ORG]);
	r->session_id = sqlite3_column_int64(q, 6);
	col_str(q, 7, &r->s[AF_ADDRESS]);
	col_str(q, 8, &r->s[AF_DEVICE]);
	col_str(q, 9, &r->s[AF_ACTION]);
	col_str(q, 10, &r->s[AF_PATIENT]);
	col_str(q, 11, &r->s[AF_OBJECT]);
	r->outcome = sqlite3_column_int64(q, 12);
	col_str(q, 13, &r->s[AF_ERROR_CODE]);
	col_str(q, 14, &r->s[AF_REASON]);
	col_str(q, AUDIT_COL_CONTENT, &r->s[AF_CONTENT]);
}

#define Q_HEAD(S) "SELECT id, hash FROM " S "records ORDER BY id DESC LIMIT 1"
AUDIT_SQL(q_head, Q_HEAD);

int
audit_head(struct store_conn *sc, int ix, int64_t *id, uint8_t hash[32])
{
	sqlite3_stmt *q = store_stmt(sc, q_head[ix]);
	int rc;

	*id = 0;
	memset(hash, 0, 32);
	if (q == NULL || (rc = store_step(sc, q)) < 0)
		return RK_ERR_STORE;
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(q, 0);
		if (sqlite3_column_bytes(q, 1) != 32) {
			LOG_E("AUDIT-HEAD-CORRUPT", "record=%lld", (long long)*id);
			sqlite3_reset(q);
			return RK_ERR_STORE;
		}
		memcpy(hash, sqlite3_column_blob(q, 1), 32);
	}
	sqlite3_reset(q);
	return RK_OK;
}

/* ------------------------------------------------------------------ append */

/* Make one field well-formed (see the top of the file). Returns a heap
 * copy when the text had to change, NULL when it can be used as is. */
static char *
clean_field(const char *in, struct audit_str *out)
{
	size_t n, i = 0, o = 0;
	char *buf;

	if (in == NULL || in[0] == '\0') {
		out->p = NULL;
		out->n = 0;
		return NULL;
	}
	n = strlen(in);
	if (n <= AUDIT_FIELD_MAX && rk_utf8_valid(in, n)) {
		out->p = in;
		out->n = n;
		return NULL;
	}
	buf = rk_malloc(AUDIT_FIELD_MAX + 1);
	while (i < n) {
		unsigned c = (unsigned char)in[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2
		           : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
		const char *src = in + i;

		if (len > n - i || !rk_utf8_valid(src, len)) {
			src = "\xef\xbf\xbd"; /* U+FFFD for the one bad byte */
			len = 3;
			i++;
		} else {
			i += len;
		}
		if (o + len > AUDIT_FIELD_MAX)
			break;
		memcpy(buf + o, src, len);
		o += len;
	}
	buf[o] = '\0';
	out->p = o ? buf : NULL;
	out->n = o;
	return buf;
}

#define Q_INSERT(S)                                                            \
	"INSERT INTO " S "records(id, ts_ms, actor_user_id, actor_login, "     \
	"actor_profession, actor_org, session_id, address, device, action, "   \
	"patient, object, outcome, error_code, reason, prev_hash, hash, "      \
	"content_sha256) "                                                     \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, " \
	"?15, ?16, ?17, ?18)"
AUDIT_SQL(q_insert, Q_INSERT);

static int
bind_str(sqlite3_stmt *q, int col, const struct audit_str *s)
{
	if (s->p == NULL)
		return sqlite3_bind_null(q, col);
	return sqlite3_bind_text(q, col, s->p, (int)s->n, SQLITE_STATIC);
}

int
audit_append(struct store_conn *sc, const char *schema,
             const struct audit_event *ev)
{
	static const int text_col[AF__COUNT] = {
		[AF_LOGIN] = 4,  [AF_ORG] = 6,     [AF_ADDRESS] = 8,
		[AF_DEVICE] = 9, [AF_ACTION] = 10, [AF_PATIENT] = 11,
		[AF_OBJECT] = 12, [AF_ERROR_CODE] = 14, [AF_REASON] = 15,
		[AF_CONTENT] = 18,
	};
	const char *text[AF__COUNT] = {
		[AF_LOGIN] = ev->actor_login, [AF_ORG] = ev->actor_org,
		[AF_ADDRESS] = ev->address,   [AF_DEVICE] = ev->device,
		[AF_ACTION] = ev->action,     [AF_PATIENT] = ev->patient,
		[AF_OBJECT] = ev->object,     [AF_ERROR_CODE] = ev->error_code,
		[AF_REASON] = ev->reason,     [AF_CONTENT] = ev->content,
	};
	char *owned[AF__COUNT] = {0};
	struct audit_canon r;
	struct audit_hasher h;
	uint8_t prev[32], hash[32];
	sqlite3_stmt *q;
	int ix = audit_schema_ix(schema), rc, brc;

	if (ix < 0 || ev->action == NULL || ev->action[0] == '\0')
		return RK_ERR_INVALID;
	if ((rc = audit_head(sc, ix, &r.id, prev)) != RK_OK)
		return rc;
	r.id++;
	r.ts_ms = ev->ts_ms ? ev->ts_ms : rk_now_ms();
	r.user_id = ev->actor_user_id;
	r.profession = ev->actor_profession;
	r.session_id = ev->session_id;
	r.outcome = ev->outcome;
	for (int i = 0; i < AF__COUNT; i++)
		owned[i] = clean_field(text[i], &r.s[i]);

	/* One context per append: appends come one per request, and the
	 * writer's connection has nowhere to keep a hasher. */
	rc = audit_hasher_init(&h);
	if (rc == RK_OK) {
		rc = audit_hash_record(&h, prev, &r, hash);
		audit_hasher_fini(&h);
	}
	if (rc != RK_OK) {
		LOG_E("AUDIT-HASH-FAIL", "record=%lld", (long long)r.id);
		rc = RK_ERR_STORE;
		goto out;
	}

	q = store_stmt(sc, q_insert[ix]);
	if (q == NULL) {
		rc = RK_ERR_STORE;
		goto out;
	}
	brc = sqlite3_bind_int64(q, 1, r.id) | sqlite3_bind_int64(q, 2, r.ts_ms) |
	      sqlite3_bind_int64(q, 3, r.user_id) |
	      sqlite3_bind_int64(q, 5, r.profession) |
	      sqlite3_bind_int64(q, 7, r.session_id) |
	      sqlite3_bind_int64(q, 13, r.outcome) |
	      sqlite3_bind_blob(q, 16, prev, 32, SQLITE_STATIC) |
	      sqlite3_bind_blob(q, 17, hash, 32, SQLITE_STATIC);
	for (int i = 0; i < AF__COUNT; i++)
		brc |= bind_str(q, text_col[i], &r.s[i]);
	if (brc != SQLITE_OK || store_step(sc, q) != SQLITE_DONE) {
		LOG_E("AUDIT-APPEND-FAIL", "record=%lld", (long long)r.id);
		rc = RK_ERR_STORE;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q); /* it pointed at our stack */
out:
	for (int i = 0; i < AF__COUNT; i++)
		free(owned[i]);
	return rc;
}

/* ----------------------------------------------------------------- records */

void
audit_record_fini(struct audit_record *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

void
audit_records_free(struct audit_record *r, size_t n)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		audit_record_fini(&r[i]);
	free(r);
}

/* Copy the current row into r, its text into one allocation. */
static void
row_record(sqlite3_stmt *q, struct audit_record *r)
{
	struct audit_canon c;
	const char **dst[AF__COUNT] = {
		[AF_LOGIN] = &r->ev.actor_login, [AF_ORG] = &r->ev.actor_org,
		[AF_ADDRESS] = &r->ev.address,   [AF_DEVICE] = &r->ev.device,
		[AF_ACTION] = &r->ev.action,     [AF_PATIENT] = &r->ev.patient,
		[AF_OBJECT] = &r->ev.object,     [AF_ERROR_CODE] = &r->ev.error_code,
		[AF_REASON] = &r->ev.reason,     [AF_CONTENT] = &r->ev.content,
	};
	size_t total = 0, o = 0;

	memset(r, 0, sizeof(*r));
	audit_row_canon(q, &c);
	r->id = c.id;
	r->ev.ts_ms = c.ts_ms;
	r->ev.actor_user_id = c.user_id;
	r->ev.actor_profession = (int)c.profession;
	r->ev.session_id = c.session_id;
	r->ev.outcome = (int)c.outcome;
	for (int i = 0; i < AF__COUNT; i++)
		total += c.s[i].p ? c.s[i].n + 1 : 0;
	r->buf = rk_malloc(total ? total : 1);
	for (int i = 0; i < AF__COUNT; i++) {
		if (c.s[i].p == NULL)
			continue;
		memcpy(r->buf + o, c.s[i].p, c.s[i].n);
		r->buf[o + c.s[i].n] = '\0';
		*dst[i] = r->buf + o;
		o += c.s[i].n + 1;
	}
	if (sqlite3_column_bytes(q, AUDIT_COL_PREV) == 32)
		memcpy(r->prev_hash, sqlite3_column_blob(q, AUDIT_COL_PREV), 32);
	if (sqlite3_column_bytes(q, AUDIT_COL_HASH) == 32)
		memcpy(r->hash, sqlite3_column_blob(q, AUDIT_COL_HASH), 32);
}

/* ------------------------------------------------------------------- query */

/*
 * One statement per "driving" filter, so that SQLite walks the index of
 * the most selective filter given (patient, then user, organisation,
 * action) in id order and stops after limit + 1 rows. `+ts_ms` keeps the
 * planner off the time index here: it would have to sort. A time-only
 * query instead starts its id scan at the first record of its range.
 */
#define Q_FILTERS                                                              \
	" AND id > ?1"                                                         \
	" AND (?2 IS NULL OR patient = ?2)"                                    \
	" AND (?3 IS NULL OR actor_login = ?3)"                                \
	" AND (?4 IS NULL OR actor_org = ?4)"                                  \
	" AND (?5 IS NULL OR action = ?5)"                                     \
	" AND (?6 < 0 OR (?6 = 0) = (outcome = 0))"                            \
	" AND +ts_ms >= ?7 AND +ts_ms < ?8"                                    \
	" ORDER BY id LIMIT ?9"
#define Q_SELECT(S) "SELECT " AUDIT_REC_COLS "FROM " S "records WHERE "
#define Q_BY_PATIENT(S) Q_SELECT(S) "patient = ?2" Q_FILTERS
#define Q_BY_USER(S) Q_SELECT(S) "actor_login = ?3" Q_FILTERS
#define Q_BY_ORG(S) Q_SELECT(S) "actor_org = ?4" Q_FILTERS
#define Q_BY_ACTION(S) Q_SELECT(S) "action = ?5" Q_FILTERS
#define Q_BY_ID(S) Q_SELECT(S) "1" Q_FILTERS
AUDIT_SQL(q_by_patient, Q_BY_PATIENT);
AUDIT_SQL(q_by_user, Q_BY_USER);
AUDIT_SQL(q_by_org, Q_BY_ORG);
AUDIT_SQL(q_by_action, Q_BY_ACTION);
AUDIT_SQL(q_by_id, Q_BY_ID);

/* Through the time index: min(id) alone would walk the ids from 1 until
 * a recent enough record turns up, i.e. most of the table. */
#define Q_FIRST_SINCE(S)                                                       \
	"SELECT min(id) FROM " S "records INDEXED BY records_ts WHERE ts_ms >= ?1"
AUDIT_SQL(q_first_since, Q_FIRST_SINCE);

static int
bind_opt(sqlite3_stmt *q, int col, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return sqlite3_bind_null(q, col);
	return sqlite3_bind_text(q, col, s, -1, SQLITE_STATIC);
}

int
audit_query_run(struct store_conn *sc, const char *schema,
                const struct audit_query *qy, struct audit_record **out,
                size_t *n, bool *more)
{
	int ix = audit_schema_ix(schema), limit = qy->limit, rc, brc;
	int64_t after = qy->after_id;
	sqlite3_stmt *q;
	const char *sql;
	struct audit_record *recs;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	*more = false;
	if (ix < 0)
		return RK_ERR_INVALID;
	if (limit <= 0)
		limit = 100;
	if (limit > 1000)
		limit = 1000;

#define SET(x) ((x) != NULL && (x)[0] != '\0')
	if (SET(qy->patient))
		sql = q_by_patient[ix];
	else if (SET(qy->user))
		sql = q_by_user[ix];
	else if (SET(qy->org))
		sql = q_by_org[ix];
	else if (SET(qy->action))
		sql = q_by_action[ix];
	else
		sql = q_by_id[ix];
#undef SET

	if (sql == q_by_id[ix] && qy->since_ms != 0) {
		q = store_stmt(sc, q_first_since[ix]);
		if (q == NULL || sqlite3_bind_int64(q, 1, qy->since_ms) != SQLITE_OK ||
		    store_step(sc, q) != SQLITE_ROW)
			return RK_ERR_STORE;
		if (sqlite3_column_type(q, 0) == SQLITE_NULL) {
			sqlite3_reset(q);
			return RK_OK; /* nothing that recent */
		}
		if (sqlite3_column_int64(q, 0) - 1 > after)
			after = sqlite3_column_int64(q, 0) - 1;
		sqlite3_reset(q);
	}

	q = store_stmt(sc, sql);
	if (q == NULL)
		return RK_ERR_STORE;
	brc = sqlite3_bind_int64(q, 1, after) | bind_opt(q, 2, qy->patient) |
	      bind_opt(q, 3, qy->user) | bind_opt(q, 4, qy->org) |
	      bind_opt(q, 5, qy->action) |
	      sqlite3_bind_int(q, 6, qy->outcome < 0 ? -1 : qy->outcome ? 1 : 0) |
	      sqlite3_bind_int64(q, 7, qy->since_ms ? qy->since_ms : INT64_MIN) |
	      sqlite3_bind_int64(q, 8, qy->until_ms ? qy->until_ms : INT64_MAX) |
	      sqlite3_bind_int(q, 9, limit + 1);
	if (brc != SQLITE_OK)
		return RK_ERR_STORE;
	recs = rk_calloc((size_t)limit, sizeof(*recs));
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		if (count == (size_t)limit) {
			*more = true;
			break;
		}
		row_record(q, &recs[count++]);
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc < 0) {
		audit_records_free(recs, count);
		return RK_ERR_STORE;
	}
	*out = recs;
	*n = count;
	return RK_OK;
}
