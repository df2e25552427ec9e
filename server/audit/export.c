/*
 * Export of a time range, as JSON Lines (for verification and tools) or
 * CSV (for people, in Japanese Excel).
 *
 * JSON Lines. A range can be verified offline only if the export holds
 * everything the proof needs: the hash before its first record (the
 * "anchor" in the header line), every record from there on, and a
 * checkpoint signing a record at or after the last one. So the export
 * runs from the first record of the range to the first checkpoint that
 * covers its last record; the records past the range that this adds are
 * marked "context": true. Each checkpoint line follows the record it
 * signs, so a verifier needs no memory per record. A last "end" line
 * counts the lines, which catches an export cut short by accident (not
 * by intent: it is not signed).
 *
 *   {"renkei_audit_export":2,"since_ms":..,"until_ms":..,"first_id":..,
 *    "last_id":..,"anchor_id":..,"anchor_hash":"<hex>","rotations":N}
 *   {"rotation":{"checkpoint_id":..,"record_id":..,"record_hash":"<hex>",
 *    "signed_ms":..,"key_id":"<hex>","next_key":"<hex>","sig":"<hex>"}}
 *   ... N rotation lines in all, then:
 *   {"id":1,"time":"...Z","ts_ms":..,"actor_user_id":..,...,
 *    "prev_hash":"<hex>","hash":"<hex>"}
 *   {"checkpoint":{"id":..,"record_id":..,"record_hash":"<hex>",
 *    "signed_ms":..,"time":"...Z","key_id":"<hex>","sig":"<hex>",
 *    "clock_sync":0|1|2}}
 *   {"end":{"records":..,"checkpoints":..,"last_id":..}}
 *
 * ("clock_sync", the state of the clock that gave signed_ms, signed with
 * it, is absent on checkpoints signed before it was recorded.)
 *
 * Absent text fields are null. "time" is derived from ts_ms and is not
 * part of what the chain hashes.
 *
 * Signing keys. A verifier is given the root public key (the first one)
 * and follows the rotations from it (audit/canon.h). So that it can
 * reach the key that signs the range, the header is followed by one
 * "rotation" line for every rotation checkpoint before the range's first
 * record, oldest first: the key that signed it (key_id), the key it
 * introduced (next_key, the raw 32-byte Ed25519 public key) and the
 * signature of the rotation statement (sig). A rotation checkpoint
 * inside the export is a checkpoint line with two more keys, "next_key"
 * and "rotate_sig". Version 1 (no "rotations", no rotation lines) is
 * what exports were before keys could rotate; the verifier reads both.
 *
 * docs/audit-export.md is this format's reference.
 *
 * CSV holds exactly the records of the range, then an empty row and the
 * checkpoints covering them (their last columns clock_sync, and next_key,
 * empty unless the checkpoint is a rotation): UTF-8 with a byte order mark (without it,
 * Japanese Excel reads the file as Shift_JIS), CRLF, RFC 4180 quoting.
 * A text cell that begins with = + - @ or a tab is prefixed with ' so
 * that Excel shows it instead of running it as a formula (a failed login
 * name is typed by a stranger). CSV is for reading; it is the JSON Lines
 * export that verifies.
 */
#include "audit/internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/mem.h"
#include "util/text.h"

#define JST_OFFSET_MS (9 * 3600 * 1000LL) /* Japan keeps no summer time */

/* ------------------------------------------------------------ line buffer */

struct obuf {
	char *p;
	size_t n, cap;
};

static void
ob_put(struct obuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		while (b->n + n + 1 > b->cap)
			b->cap = b->cap ? 2 * b->cap : 1024;
		b->p = rk_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void
ob_puts(struct obuf *b, const char *s)
{
	ob_put(b, s, strlen(s));
}

static void ob_printf(struct obuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
ob_printf(struct obuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		ob_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void
ob_hex(struct obuf *b, const void *bytes, size_t n)
{
	char hex[2 * 64 + 1];
	if (n > 64)
		n = 64;
	rk_hex_encode(bytes, n, hex);
	ob_put(b, hex, 2 * n);
}

/* A JSON string, or null. The text is UTF-8 as stored; only what JSON
 * requires is escaped, so that a verifier gets the very bytes back. */
static void
ob_json_str(struct obuf *b, const struct audit_str *s)
{
	static const char digits[] = "0123456789abcdef";
	size_t start = 0;

	if (s->p == NULL) {
		ob_puts(b, "null");
		return;
	}
	ob_put(b, "\"", 1);
	for (size_t i = 0; i < s->n; i++) {
		unsigned char c = (unsigned char)s->p[i];
		char esc[7];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		ob_put(b, s->p + start, i - start);
		start = i + 1;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			ob_put(b, esc, 2);
		} else if (c == '\n') {
			ob_put(b, "\\n", 2);
		} else if (c == '\r') {
			ob_put(b, "\\r", 2);
		} else if (c == '\t') {
			ob_put(b, "\\t", 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = digits[c >> 4];
			esc[5] = digits[c & 15];
			ob_put(b, esc, 6);
		}
	}
	ob_put(b, s->p + start, s->n - start);
	ob_put(b, "\"", 1);
}

static void
csv_text(struct obuf *b, const struct audit_str *s)
{
	bool quote = false;

	ob_put(b, ",", 1);
	if (s->p == NULL || s->n == 0)
		return;
	for (size_t i = 0; i < s->n && !quote; i++)
		quote = s->p[i] == ',' || s->p[i] == '"' || s->p[i] == '\r' ||
		        s->p[i] == '\n';
	if (quote)
		ob_put(b, "\"", 1);
	if (strchr("=+-@\t", s->p[0]) != NULL)
		ob_put(b, "'", 1);
	for (size_t i = 0; i < s->n; i++) {
		if (s->p[i] == '"')
			ob_put(b, "\"", 1);
		ob_put(b, s->p + i, 1);
	}
	if (quote)
		ob_put(b, "\"", 1);
}

/* ------------------------------------------------------------------ lines */

static void
json_record(struct obuf *b, const struct audit_canon *r, const void *prev,
            const void *hash, bool context)
{
	char when[40];

	audit_format_time(r->ts_ms, 0, true, when, sizeof(when));
	ob_printf(b, "{\"id\":%lld,\"time\":\"%s\",\"ts_ms\":%lld,"
	             "\"actor_user_id\":%lld,\"actor_login\":",
	          (long long)r->id, when, (long long)r->ts_ms,
	          (long long)r->user_id);
	ob_json_str(b, &r->s[AF_LOGIN]);
	ob_printf(b, ",\"actor_profession\":%lld,\"actor_org\":",
	          (long long)r->profession);
	ob_json_str(b, &r->s[AF_ORG]);
	ob_printf(b, ",\"session_id\":%lld", (long long)r->session_id);
	for (int i = AF_ADDRESS; i <= AF_OBJECT; i++) {
		ob_printf(b, ",\"%s\":", audit_field_names[i]);
		ob_json_str(b, &r->s[i]);
	}
	ob_printf(b, ",\"outcome\":%lld,\"error_code\":", (long long)r->outcome);
	ob_json_str(b, &r->s[AF_ERROR_CODE]);
	ob_puts(b, ",\"reason\":");
	ob_json_str(b, &r->s[AF_REASON]);
	ob_puts(b, ",\"content_sha256\":");
	ob_json_str(b, &r->s[AF_CONTENT]);
	ob_puts(b, ",\"prev_hash\":\"");
	ob_hex(b, prev, 32);
	ob_puts(b, "\",\"hash\":\"");
	ob_hex(b, hash, 32);
	ob_puts(b, context ? "\",\"context\":true}\n" : "\"}\n");
}

static void
csv_record(struct obuf *b, const struct audit_canon *r, const void *prev,
           const void *hash)
{
	char jst[40], utc[40];

	audit_format_time(r->ts_ms, JST_OFFSET_MS, false, jst, sizeof(jst));
	audit_format_time(r->ts_ms, 0, false, utc, sizeof(utc));
	ob_printf(b, "%lld,%s,%s,%lld,%lld", (long long)r->id, jst, utc,
	          (long long)r->ts_ms, (long long)r->user_id);
	csv_text(b, &r->s[AF_LOGIN]);
	ob_printf(b, ",%lld", (long long)r->profession);
	csv_text(b, &r->s[AF_ORG]);
	ob_printf(b, ",%lld", (long long)r->session_id);
	for (int i = AF_ADDRESS; i <= AF_OBJECT; i++)
		csv_text(b, &r->s[i]);
	ob_printf(b, ",%lld", (long long)r->outcome);
	csv_text(b, &r->s[AF_ERROR_CODE]);
	csv_text(b, &r->s[AF_REASON]);
	ob_put(b, ",", 1);
	ob_hex(b, prev, 32);
	ob_put(b, ",", 1);
	ob_hex(b, hash, 32);
	csv_text(b, &r->s[AF_CONTENT]);
	ob_put(b, "\r\n", 2);
}

static const char csv_header[] =
	"\xef\xbb\xbf"
	"id,time_jst,time_utc,ts_ms,actor_user_id,actor_login,actor_profession,"
	"actor_org,session_id,address,device,action,patient,object,outcome,"
	"error_code,reason,prev_hash,hash,content_sha256\r\n";
static const char csv_cp_header[] =
	"\r\ncheckpoint_id,record_id,record_hash,time_jst,time_utc,signed_ms,"
	"key_id,signature,clock_sync,next_key\r\n";

/* The current row of q_cps_range, as JSON (csv false) or a CSV row. */
static void
cp_line(struct obuf *b, sqlite3_stmt *q, bool csv)
{
	int64_t signed_ms = sqlite3_column_int64(q, 3);
	char utc[40], jst[40];

	if (csv) {
		audit_format_time(signed_ms, JST_OFFSET_MS, false, jst, sizeof(jst));
		audit_format_time(signed_ms, 0, false, utc, sizeof(utc));
		ob_printf(b, "%lld,%lld,", (long long)sqlite3_column_int64(q, 0),
		          (long long)sqlite3_column_int64(q, 1));
		ob_hex(b, sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2));
		ob_printf(b, ",%s,%s,%lld,", jst, utc, (long long)signed_ms);
		ob_hex(b, sqlite3_column_blob(q, 4), (size_t)sqlite3_column_bytes(q, 4));
		ob_put(b, ",", 1);
		ob_hex(b, sqlite3_column_blob(q, 5), (size_t)sqlite3_column_bytes(q, 5));
		ob_put(b, ",", 1);
		if (sqlite3_column_type(q, 6) != SQLITE_NULL)
			ob_printf(b, "%d", sqlite3_column_int(q, 6));
		ob_put(b, ",", 1);
		ob_hex(b, sqlite3_column_blob(q, 7), (size_t)sqlite3_column_bytes(q, 7));
		ob_put(b, "\r\n", 2);
		return;
	}
	audit_format_time(signed_ms, 0, true, utc, sizeof(utc));
	ob_printf(b, "{\"checkpoint\":{\"id\":%lld,\"record_id\":%lld,"
	             "\"record_hash\":\"",
	          (long long)sqlite3_column_int64(q, 0),
	          (long long)sqlite3_column_int64(q, 1));
	ob_hex(b, sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2));
	ob_printf(b, "\",\"signed_ms\":%lld,\"time\":\"%s\",\"key_id\":\"",
	          (long long)signed_ms, utc);
	ob_hex(b, sqlite3_column_blob(q, 4), (size_t)sqlite3_column_bytes(q, 4));
	ob_puts(b, "\",\"sig\":\"");
	ob_hex(b, sqlite3_column_blob(q, 5), (size_t)sqlite3_column_bytes(q, 5));
	ob_puts(b, "\"");
	/* Checkpoints signed since audit schema 3 say what the clock was. */
	if (sqlite3_column_type(q, 6) != SQLITE_NULL)
		ob_printf(b, ",\"clock_sync\":%d", sqlite3_column_int(q, 6));
	/* A rotation checkpoint names the next key (docs/audit-export.md). */
	if (sqlite3_column_type(q, 7) != SQLITE_NULL) {
		ob_puts(b, ",\"next_key\":\"");
		ob_hex(b, sqlite3_column_blob(q, 7), (size_t)sqlite3_column_bytes(q, 7));
		ob_puts(b, "\",\"rotate_sig\":\"");
		ob_hex(b, sqlite3_column_blob(q, 8), (size_t)sqlite3_column_bytes(q, 8));
		ob_puts(b, "\"");
	}
	ob_puts(b, "}}\n");
}

/* The current row of q_rots_before as a rotation line. */
static void
rot_line(struct obuf *b, sqlite3_stmt *q)
{
	ob_printf(b, "{\"rotation\":{\"checkpoint_id\":%lld,\"record_id\":%lld,"
	             "\"record_hash\":\"",
	          (long long)sqlite3_column_int64(q, 0),
	          (long long)sqlite3_column_int64(q, 1));
	ob_hex(b, sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2));
	ob_printf(b, "\",\"signed_ms\":%lld,\"key_id\":\"",
	          (long long)sqlite3_column_int64(q, 3));
	ob_hex(b, sqlite3_column_blob(q, 4), (size_t)sqlite3_column_bytes(q, 4));
	ob_puts(b, "\",\"next_key\":\"");
	ob_hex(b, sqlite3_column_blob(q, 7), (size_t)sqlite3_column_bytes(q, 7));
	ob_puts(b, "\",\"sig\":\"");
	ob_hex(b, sqlite3_column_blob(q, 8), (size_t)sqlite3_column_bytes(q, 8));
	ob_puts(b, "\"}}\n");
}

/* ----------------------------------------------------------------- export */

#define Q_RANGE(S)                                                             \
	"SELECT min(id), max(id) FROM " S "records "                           \
	"WHERE ts_ms >= ?1 AND ts_ms < ?2"
AUDIT_SQL(q_range, Q_RANGE);
#define Q_COVER(S)                                                             \
	"SELECT min(record_id) FROM " S "checkpoints WHERE record_id >= ?1"
AUDIT_SQL(q_cover, Q_COVER);
#define Q_ROWS(S)                                                              \
	"SELECT " AUDIT_REC_COLS "FROM " S "records "                          \
	"WHERE id >= ?1 AND id <= ?2 ORDER BY id"
AUDIT_SQL(q_rows, Q_ROWS);
#define Q_CPS_RANGE(S)                                                         \
	"SELECT id, record_id, record_hash, signed_ms, key_id, sig, "           \
	"clock_sync, next_key, rotate_sig FROM " S "checkpoints "              \
	"WHERE record_id >= ?1 AND record_id <= ?2 "                           \
	"ORDER BY record_id"
AUDIT_SQL(q_cps_range, Q_CPS_RANGE);
#define Q_ROTS_BEFORE(S)                                                       \
	"SELECT id, record_id, record_hash, signed_ms, key_id, sig, "           \
	"clock_sync, next_key, rotate_sig FROM " S "checkpoints WHERE "        \
	"next_key IS NOT NULL AND record_id < ?1 ORDER BY record_id"
AUDIT_SQL(q_rots_before, Q_ROTS_BEFORE);

struct export {
	struct store_conn *sc;
	int ix;
	bool csv;
	int64_t req_since, req_until; /* as asked: 0 = open */
	int64_t since, until;  /* bounds, open ends made explicit */
	int64_t first, last;   /* the range's first and last record (0: none) */
	int64_t end;           /* the first signed record at or after last */
	FILE *out;
	struct obuf b;
	struct obuf rots;      /* the rotation lines that follow the header */
	int64_t nrots;
	int64_t in_range, written, cps;
};

static int
flush_line(struct export *x)
{
	int ok = x->b.n == 0 || fwrite(x->b.p, 1, x->b.n, x->out) == x->b.n;
	x->b.n = 0;
	return ok ? RK_OK : RK_ERR_IO;
}

/* The first and last record of [since, until) and where the export ends. */
static int
find_range(struct export *x)
{
	sqlite3_stmt *q = store_stmt(x->sc, q_range[x->ix]);
	int rc;

	if (q == NULL || sqlite3_bind_int64(q, 1, x->since) != SQLITE_OK ||
	    sqlite3_bind_int64(q, 2, x->until) != SQLITE_OK ||
	    store_step(x->sc, q) != SQLITE_ROW)
		return RK_ERR_STORE;
	x->first = sqlite3_column_int64(q, 0); /* NULL reads as 0 */
	x->last = sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	x->end = x->last;
	if (x->first == 0)
		return RK_OK;
	/* The rotations before the range: how a verifier holding the root
	 * key reaches the key that signed it. */
	q = store_stmt(x->sc, q_rots_before[x->ix]);
	if (q == NULL || sqlite3_bind_int64(q, 1, x->first) != SQLITE_OK)
		return RK_ERR_STORE;
	while ((rc = store_step(x->sc, q)) == SQLITE_ROW) {
		rot_line(&x->rots, q);
		x->nrots++;
	}
	sqlite3_reset(q);
	if (rc < 0)
		return RK_ERR_STORE;
	q = store_stmt(x->sc, q_cover[x->ix]);
	if (q == NULL || sqlite3_bind_int64(q, 1, x->last) != SQLITE_OK ||
	    store_step(x->sc, q) != SQLITE_ROW)
		return RK_ERR_STORE;
	if (sqlite3_column_type(q, 0) != SQLITE_NULL)
		x->end = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return RK_OK;
}

static void
json_header(struct export *x, const void *anchor)
{
	static const uint8_t zero[32];

	ob_printf(&x->b, "{\"renkei_audit_export\":2,\"since_ms\":%lld,"
	                 "\"until_ms\":%lld,\"first_id\":%lld,\"last_id\":%lld,"
	                 "\"anchor_id\":%lld,\"anchor_hash\":\"",
	          (long long)x->req_since, (long long)x->req_until,
	          (long long)x->first,
	          (long long)x->end, (long long)(x->first ? x->first - 1 : 0));
	ob_hex(&x->b, anchor ? anchor : zero, 32);
	ob_printf(&x->b, "\",\"rotations\":%lld}\n", (long long)x->nrots);
	if (x->rots.n > 0)
		ob_put(&x->b, x->rots.p, x->rots.n);
}

static int
write_rows(struct export *x)
{
	sqlite3_stmt *q = store_stmt(x->sc, q_rows[x->ix]);
	sqlite3_stmt *c = store_stmt(x->sc, q_cps_range[x->ix]);
	int rc, crc = SQLITE_DONE, err = RK_OK;

	if (q == NULL || c == NULL ||
	    sqlite3_bind_int64(q, 1, x->first) != SQLITE_OK ||
	    sqlite3_bind_int64(q, 2, x->csv ? x->last : x->end) != SQLITE_OK ||
	    sqlite3_bind_int64(c, 1, x->first) != SQLITE_OK ||
	    sqlite3_bind_int64(c, 2, x->end) != SQLITE_OK)
		return RK_ERR_STORE;
	if (!x->csv)
		crc = store_step(x->sc, c);
	while (err == RK_OK && (rc = store_step(x->sc, q)) == SQLITE_ROW) {
		struct audit_canon r;
		const void *prev = sqlite3_column_blob(q, AUDIT_COL_PREV);
		const void *hash = sqlite3_column_blob(q, AUDIT_COL_HASH);
		bool in;

		audit_row_canon(q, &r);
		/* a damaged row still exports; verification will name it */
		if (sqlite3_column_bytes(q, AUDIT_COL_PREV) != 32 ||
		    sqlite3_column_bytes(q, AUDIT_COL_HASH) != 32)
			prev = hash = "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			              "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
		in = r.id <= x->last && r.ts_ms >= x->since && r.ts_ms < x->until;
		x->in_range += in;
		if (x->csv) {
			if (in)
				csv_record(&x->b, &r, prev, hash);
		} else {
			if (x->written == 0)
				json_header(x, prev);
			json_record(&x->b, &r, prev, hash, !in);
			for (; crc == SQLITE_ROW &&
			       sqlite3_column_int64(c, 1) <= r.id;
			     crc = store_step(x->sc, c)) {
				cp_line(&x->b, c, false);
				x->cps++;
			}
		}
		x->written++;
		err = flush_line(x);
	}
	if (err == RK_OK && (rc < 0 || crc < 0))
		err = RK_ERR_STORE;
	if (err == RK_OK && x->csv) {
		ob_puts(&x->b, csv_cp_header);
		while ((crc = store_step(x->sc, c)) == SQLITE_ROW) {
			cp_line(&x->b, c, true);
			x->cps++;
		}
		err = crc < 0 ? RK_ERR_STORE : flush_line(x);
	}
	sqlite3_reset(q);
	sqlite3_reset(c);
	return err;
}

int64_t
audit_export(struct store_conn *sc, const char *schema, int64_t since_ms,
             int64_t until_ms, enum audit_format fmt, FILE *out)
{
	struct export x = {
		.sc = sc,
		.ix = audit_schema_ix(schema),
		.csv = fmt == AUDIT_CSV,
		.req_since = since_ms,
		.req_until = until_ms,
		.since = since_ms ? since_ms : INT64_MIN,
		.until = until_ms ? until_ms : INT64_MAX,
		.out = out,
	};
	bool own_txn = false;
	int rc;

	if (x.ix < 0)
		return -1;
	if (sqlite3_get_autocommit(store_conn_db(sc))) {
		if (store_exec(sc, "BEGIN") != RK_OK)
			return -1;
		own_txn = true;
	}
	rc = find_range(&x);
	if (rc == RK_OK && x.csv)
		ob_puts(&x.b, csv_header);
	if (rc == RK_OK && x.first != 0)
		rc = write_rows(&x);
	if (rc == RK_OK && !x.csv) {
		if (x.written == 0)
			json_header(&x, NULL);
		ob_printf(&x.b, "{\"end\":{\"records\":%lld,\"checkpoints\":%lld,"
		                "\"last_id\":%lld}}\n",
		          (long long)x.written, (long long)x.cps,
		          (long long)(x.written ? x.end : 0));
	}
	if (rc == RK_OK && x.csv && x.first == 0)
		ob_puts(&x.b, csv_cp_header);
	if (rc == RK_OK)
		rc = flush_line(&x);
	if (rc == RK_OK && fflush(out) != 0)
		rc = RK_ERR_IO;
	if (own_txn)
		store_exec(sc, "COMMIT");
	free(x.b.p);
	free(x.rots.p);
	return rc == RK_OK ? x.in_range : -1;
}
