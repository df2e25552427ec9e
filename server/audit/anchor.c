/*
 * Anchors: the line a checkpoint is shipped as, and the check of the
 * chain against a file of them (audit/anchor.h). The sink that ships
 * them is in sink.c.
 *
 * The check walks the chain once, in stretches: from the previous
 * anchor's record (whose hash has just been found to match) to the next
 * anchor's, hashing every record as `audit verify` does
 * (audit_chain_scan), then compares the hash it reached with the
 * anchor's. So a stretch that someone rewrote and hashed again is named
 * by the first anchor after it, as "records P..R were rewritten".
 */
#include "audit/anchor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/internal.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/text.h"

#define ANCHOR_TAG "renkei-anchor/1 "

void
audit_anchor_format(const struct audit_anchor *a, char out[AUDIT_ANCHOR_LINE_MAX])
{
	char hash[65], key[65], sig[129], when[40], clock[12];

	rk_hex_encode(a->hash, 32, hash);
	rk_hex_encode(a->key_id, 32, key);
	rk_hex_encode(a->sig, 64, sig);
	audit_format_time(a->signed_ms, 0, true, when, sizeof(when));
	if (a->clock_sync < 0)
		snprintf(clock, sizeof(clock), "-");
	else
		snprintf(clock, sizeof(clock), "%d", a->clock_sync);
	snprintf(out, AUDIT_ANCHOR_LINE_MAX,
	         ANCHOR_TAG "cp=%lld record=%lld hash=%s signed_ms=%lld time=%s "
	                    "clock_sync=%s key=%s sig=%s",
	         (long long)a->cp_id, (long long)a->record_id, hash,
	         (long long)a->signed_ms, when, clock, key, sig);
}

static bool
parse_int(const char *v, size_t n, int64_t *out)
{
	char buf[24], *end;
	long long x;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	errno = 0;
	x = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0' || buf[0] == '+' || buf[0] == ' ')
		return false;
	*out = x;
	return true;
}

int
audit_anchor_parse(const char *line, struct audit_anchor *a)
{
	const char *p = strstr(line, ANCHOR_TAG);
	unsigned seen = 0;

	if (p == NULL)
		return 0;
	memset(a, 0, sizeof(*a));
	p += strlen(ANCHOR_TAG);
	while (*p != '\0' && *p != '\n' && *p != '\r') {
		const char *key = p, *eq, *val;
		size_t klen, vlen;
		bool ok;

		while (*p != '\0' && *p != ' ' && *p != '\n' && *p != '\r')
			p++;
		eq = memchr(key, '=', (size_t)(p - key));
		if (eq == NULL)
			return -1;
		klen = (size_t)(eq - key);
		val = eq + 1;
		vlen = (size_t)(p - val);
		if (klen == 2 && memcmp(key, "cp", 2) == 0) {
			ok = parse_int(val, vlen, &a->cp_id);
			seen |= 1;
		} else if (klen == 6 && memcmp(key, "record", 6) == 0) {
			ok = parse_int(val, vlen, &a->record_id);
			seen |= 2;
		} else if (klen == 4 && memcmp(key, "hash", 4) == 0) {
			ok = rk_hex_decode(val, vlen, a->hash, 32) == 0;
			seen |= 4;
		} else if (klen == 9 && memcmp(key, "signed_ms", 9) == 0) {
			ok = parse_int(val, vlen, &a->signed_ms);
			seen |= 8;
		} else if (klen == 10 && memcmp(key, "clock_sync", 10) == 0) {
			int64_t c = -1;
			ok = (vlen == 1 && val[0] == '-') ||
			     (parse_int(val, vlen, &c) && c >= 0 && c <= 2);
			a->clock_sync = (int)c;
			seen |= 16;
		} else if (klen == 3 && memcmp(key, "key", 3) == 0) {
			ok = rk_hex_decode(val, vlen, a->key_id, 32) == 0;
			seen |= 32;
		} else if (klen == 3 && memcmp(key, "sig", 3) == 0) {
			ok = rk_hex_decode(val, vlen, a->sig, 64) == 0;
			seen |= 64;
		} else {
			ok = true; /* "time", and words a later version may add */
		}
		if (!ok)
			return -1;
		while (*p == ' ')
			p++;
	}
	return seen == 127 && a->cp_id > 0 && a->record_id > 0 ? 1 : -1;
}

bool
audit_anchor_sig_ok(const struct audit_anchor *a, void *pkey,
                    const uint8_t key_id[32])
{
	uint8_t msg[AUDIT_CP_MSG_MAX];
	size_t len;

	if (memcmp(a->key_id, key_id, 32) != 0)
		return false;
	len = audit_cp_message_for(msg, a->record_id, a->hash, a->signed_ms,
	                           a->clock_sync);
	return audit_sig_ok(pkey, msg, len, a->sig, 64);
}

#define Q_LATEST(S)                                                            \
	"SELECT id, record_id, record_hash, signed_ms, key_id, sig, "          \
	"coalesce(clock_sync, -1) FROM " S "checkpoints ORDER BY id DESC LIMIT 1"
AUDIT_SQL(q_latest, Q_LATEST);

int
audit_anchor_latest(struct store_conn *sc, const char *schema,
                    struct audit_anchor *a)
{
	int ix = audit_schema_ix(schema), rc;
	sqlite3_stmt *q;

	memset(a, 0, sizeof(*a));
	if (ix < 0)
		return RK_ERR_INVALID;
	q = store_stmt(sc, q_latest[ix]);
	if (q == NULL || (rc = store_step(sc, q)) < 0)
		return RK_ERR_STORE;
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_bytes(q, 2) != 32 || sqlite3_column_bytes(q, 4) != 32 ||
		    sqlite3_column_bytes(q, 5) != 64) {
			sqlite3_reset(q);
			return RK_ERR_STORE;
		}
		a->cp_id = sqlite3_column_int64(q, 0);
		a->record_id = sqlite3_column_int64(q, 1);
		memcpy(a->hash, sqlite3_column_blob(q, 2), 32);
		a->signed_ms = sqlite3_column_int64(q, 3);
		memcpy(a->key_id, sqlite3_column_blob(q, 4), 32);
		memcpy(a->sig, sqlite3_column_blob(q, 5), 64);
		a->clock_sync = sqlite3_column_int(q, 6);
	}
	sqlite3_reset(q);
	return RK_OK;
}

/* ------------------------------------------------------------ verification */

struct line_anchor {
	struct audit_anchor a;
	int64_t line;
};

static int
by_record(const void *x, const void *y)
{
	const struct line_anchor *a = x, *b = y;
	if (a->a.record_id != b->a.record_id)
		return a->a.record_id < b->a.record_id ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

static void
fail(struct audit_anchor_result *out, int64_t record, int64_t line,
     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(struct audit_anchor_result *out, int64_t record, int64_t line,
     const char *fmt, ...)
{
	va_list ap;

	out->ok = false;
	out->bad_record = record;
	out->bad_line = line;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

/* Read and check every anchor line. RK_OK with the good ones in *out
 * (sorted by record) unless a line fails (then res says which); RK_ERR_IO
 * if the file cannot be read. */
/* The signing keys of the trail, from the root through its rotations:
 * key[0] the root, key[i] the one rotation i introduced, which signs the
 * checkpoints after record rot[i - 1] (audit/canon.h). */
struct keyset {
	EVP_PKEY **key;
	uint8_t (*id)[32];
	int64_t *rot; /* rot[i]: the record of rotation i + 1 */
	size_t n;
};

static void
keyset_free(struct keyset *k)
{
	for (size_t i = 0; i < k->n; i++)
		EVP_PKEY_free(k->key[i]);
	free(k->key);
	free(k->id);
	free(k->rot);
	memset(k, 0, sizeof(*k));
}

static void
keyset_add(struct keyset *k, EVP_PKEY *key, const uint8_t id[32], int64_t rot)
{
	k->key = rk_realloc(k->key, (k->n + 1) * sizeof(*k->key));
	k->id = rk_realloc(k->id, (k->n + 1) * sizeof(*k->id));
	k->rot = rk_realloc(k->rot, (k->n + 1) * sizeof(*k->rot));
	k->key[k->n] = key;
	memcpy(k->id[k->n], id, 32);
	k->rot[k->n] = rot; /* of the rotation that introduced the next */
	k->n++;
}

/* The key valid for a checkpoint over record `rec`. */
static size_t
keyset_for(const struct keyset *k, int64_t rec)
{
	size_t i = 0;

	while (i + 1 < k->n && k->rot[i] < rec)
		i++;
	return i;
}

#define Q_ROTS(S)                                                              \
	"SELECT record_id, next_key FROM " S "checkpoints WHERE next_key IS "  \
	"NOT NULL ORDER BY record_id"
AUDIT_SQL(q_rots, Q_ROTS);

static int
keyset_load(struct store_conn *sc, int ix, EVP_PKEY *root,
            const uint8_t root_id[32], struct keyset *k)
{
	sqlite3_stmt *q = store_stmt(sc, q_rots[ix]);
	int rc;

	keyset_add(k, root, root_id, INT64_MAX);
	if (q == NULL)
		return RK_ERR_STORE;
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		uint8_t id[32];
		EVP_PKEY *next;

		if (sqlite3_column_bytes(q, 1) != 32 ||
		    (next = audit_pubkey_raw(sqlite3_column_blob(q, 1), id)) == NULL)
			continue; /* audit verify says what is wrong with it */
		k->rot[k->n - 1] = sqlite3_column_int64(q, 0);
		keyset_add(k, next, id, INT64_MAX);
	}
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

static int
load(const char *path, const struct keyset *keys, struct line_anchor **out,
     size_t *n, struct audit_anchor_result *res)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	struct line_anchor *v = NULL;
	size_t cap = 0, count = 0;
	int64_t no = 0;

	if (f == NULL) {
		snprintf(res->why, sizeof(res->why), "cannot read %s: %s", path,
		         strerror(errno));
		return RK_ERR_IO;
	}
	while (res->ok && fgets(line, sizeof(line), f) != NULL) {
		struct audit_anchor a;
		int r;

		no++;
		r = audit_anchor_parse(line, &a);
		if (r == 0)
			continue;
		res->anchors++;
		if (r < 0) {
			fail(res, 0, no, "line %lld: a malformed anchor", (long long)no);
			break;
		}
		/* Signed by the key valid at its record: the root, or the
		 * one the last rotation before it named. */
		size_t ki = keyset_for(keys, a.record_id);
		if (!audit_anchor_sig_ok(&a, keys->key[ki], keys->id[ki])) {
			fail(res, 0, no,
			     "line %lld: the anchor of checkpoint %lld (record %lld) "
			     "%s",
			     (long long)no, (long long)a.cp_id, (long long)a.record_id,
			     memcmp(a.key_id, keys->id[ki], 32) != 0
			             ? "was signed by another key"
			             : "has a signature that does not verify");
			break;
		}
		if (count == cap) {
			cap = cap ? 2 * cap : 256;
			v = rk_realloc(v, cap * sizeof(*v));
		}
		v[count].a = a;
		v[count].line = no;
		count++;
	}
	fclose(f);
	if (res->ok && count > 0)
		qsort(v, count, sizeof(*v), by_record);
	*out = v;
	*n = count;
	return RK_OK;
}

/* Compare the chain with the sorted anchors v[0..n). */
static int
walk(struct store_conn *sc, int ix, const struct line_anchor *v, size_t n,
     struct audit_anchor_result *res)
{
	struct audit_hasher h;
	int64_t head, prev_id = 0;
	uint8_t head_hash[32], prev_hash[32] = {0};
	char want[65], got[65], when[40];
	int rc = audit_head(sc, ix, &head, head_hash);

	if (rc != RK_OK)
		return rc;
	if (audit_hasher_init(&h) != RK_OK)
		return RK_ERR_CRYPTO;
	for (size_t i = 0; i < n && res->ok; i++) {
		const struct line_anchor *x = &v[i];
		struct audit_scan scan;

		audit_format_time(x->a.signed_ms, 0, true, when, sizeof(when));
		if (x->a.record_id == prev_id) {
			/* The same record anchored twice: the same hash, or one
			 * of the two lies. */
			if (memcmp(x->a.hash, prev_hash, 32) != 0)
				fail(res, prev_id, x->line,
				     "line %lld: a second anchor for record %lld with "
				     "another hash",
				     (long long)x->line, (long long)prev_id);
			continue;
		}
		if (x->a.record_id > head) {
			fail(res, head + 1, x->line,
			     "the chain ends at record %lld, but the anchor of "
			     "checkpoint %lld (line %lld, signed %s) names record "
			     "%lld: records from %lld on were removed",
			     (long long)head, (long long)x->a.cp_id, (long long)x->line,
			     when, (long long)x->a.record_id, (long long)head + 1);
			break;
		}
		memset(&scan, 0, sizeof(scan));
		scan.from_id = prev_id + 1;
		scan.to_id = x->a.record_id;
		memcpy(scan.anchor, prev_hash, 32);
		rc = audit_chain_scan(sc, ix, &h, &scan);
		if (rc != RK_OK)
			break;
		if (scan.bad_id != 0) {
			fail(res, scan.bad_id, 0, "%s", scan.why);
			break;
		}
		if (scan.last_id != x->a.record_id) {
			fail(res, scan.last_id + 1, x->line,
			     "record %lld is missing (anchored by checkpoint %lld, "
			     "line %lld)",
			     (long long)scan.last_id + 1, (long long)x->a.cp_id,
			     (long long)x->line);
			break;
		}
		if (memcmp(scan.last_hash, x->a.hash, 32) != 0) {
			rk_hex_encode(x->a.hash, 32, want);
			rk_hex_encode(scan.last_hash, 32, got);
			fail(res, x->a.record_id, x->line,
			     "record %lld is not the record anchored: the anchor of "
			     "checkpoint %lld (line %lld, signed %s) has hash %.16s..., "
			     "the chain %.16s...: records %lld..%lld were rewritten",
			     (long long)x->a.record_id, (long long)x->a.cp_id,
			     (long long)x->line, when, want, got, (long long)prev_id + 1,
			     (long long)x->a.record_id);
			break;
		}
		res->matched++;
		res->newest_record = x->a.record_id;
		prev_id = x->a.record_id;
		memcpy(prev_hash, x->a.hash, 32);
	}
	audit_hasher_fini(&h);
	return rc;
}

int
audit_verify_anchors(struct store_conn *sc, const char *schema,
                     const char *pubkey_path, const char *anchors_path,
                     struct audit_anchor_result *out)
{
	int ix = audit_schema_ix(schema), rc;
	uint8_t key_id[32];
	EVP_PKEY *pkey;
	struct line_anchor *v = NULL;
	struct keyset keys = {0};
	size_t n = 0;
	bool own_txn = false;

	memset(out, 0, sizeof(*out));
	out->ok = true;
	if (ix < 0)
		return RK_ERR_INVALID;
	pkey = audit_pubkey_load(pubkey_path, key_id, out->why, sizeof(out->why));
	if (pkey == NULL)
		return RK_ERR_CONFIG;
	if (sqlite3_get_autocommit(store_conn_db(sc))) {
		if (store_exec(sc, "BEGIN") != RK_OK) {
			EVP_PKEY_free(pkey);
			return RK_ERR_STORE;
		}
		own_txn = true;
	}
	/* pkey is the root key: the keyset owns it from here. */
	rc = keyset_load(sc, ix, pkey, key_id, &keys);
	if (rc == RK_OK)
		rc = load(anchors_path, &keys, &v, &n, out);
	if (rc != RK_OK || !out->ok)
		goto done;
	if (n == 0) {
		fail(out, 0, 0, "%s holds no anchor", anchors_path);
		goto done;
	}
	rc = walk(sc, ix, v, n, out);
done:
	store_conn_release(sc);
	if (own_txn)
		store_exec(sc, "COMMIT");
	keyset_free(&keys);
	free(v);
	return rc;
}
