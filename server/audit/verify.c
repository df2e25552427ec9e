/*
 * Verifying audit.db: the whole chain and every checkpoint.
 *
 * The checkpoints are read and their signatures checked first (there is
 * one per N records, so they fit in memory); then one sequential scan of
 * the records, in id order, recomputes every hash with one reused digest
 * context and one reused buffer and no allocation per row, comparing:
 *
 *  - the id with the expected one (1, 2, 3, ...): a gap is a deletion;
 *  - prev_hash with the hash just computed: a record removed, moved or
 *    swapped breaks this link;
 *  - the stored hash with the computed one: any changed field breaks it;
 *  - at each checkpoint's record, the computed hash with the signed one:
 *    this is what catches someone who rewrote fields AND recomputed every
 *    hash after them, which the chain alone cannot;
 *  - after the scan, that no checkpoint names a record beyond the last
 *    one: that is how a truncated tail shows.
 *
 * Checkpoints are checked against the chain of signing keys, from the
 * trusted root public key through every rotation (audit/canon.h): each
 * must be signed by the key valid at its place.
 *
 * A chain rewritten by someone without the signing key can only be
 * located to within a checkpoint interval: the first record that may be
 * bad is then the one after the last checkpoint that still matches.
 */
#include "audit/internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/err.h"
#include "util/mem.h"

#define Q_SCAN(S)                                                              \
	"SELECT " AUDIT_REC_COLS "FROM " S "records "                          \
	"WHERE id >= ?1 AND id <= ?2 ORDER BY id"
AUDIT_SQL(q_scan, Q_SCAN);

#define PROGRESS_EVERY 100000

static void fault(struct audit_scan *s, int64_t id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
fault(struct audit_scan *s, int64_t id, const char *fmt, ...)
{
	va_list ap;

	s->bad_id = id;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

int
audit_chain_scan(struct store_conn *sc, int ix, struct audit_hasher *h,
                 struct audit_scan *s)
{
	sqlite3_stmt *q = store_stmt(sc, q_scan[ix]);
	uint8_t hash[32];
	int64_t expect = s->from_id;
	size_t k = 0;
	int rc;

	s->count = 0;
	s->last_id = s->from_id - 1;
	memcpy(s->last_hash, s->anchor, 32);
	s->cps_seen = 0;
	s->bad_id = 0;
	s->why[0] = '\0';
	if (q == NULL || sqlite3_bind_int64(q, 1, s->from_id) != SQLITE_OK ||
	    sqlite3_bind_int64(q, 2, s->to_id) != SQLITE_OK)
		return RK_ERR_STORE;
	/* checkpoints at or before the anchor are not this scan's business */
	while (k < s->ncp && s->cps[k].record_id < s->from_id)
		k++;

	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		struct audit_canon r;

		audit_row_canon(q, &r);
		if (r.id != expect) {
			fault(s, expect,
			      "record %lld is missing (the next record is %lld)",
			      (long long)expect, (long long)r.id);
			break;
		}
		if (sqlite3_column_bytes(q, AUDIT_COL_PREV) != 32 ||
		    memcmp(sqlite3_column_blob(q, AUDIT_COL_PREV), s->last_hash,
		           32) != 0) {
			fault(s, r.id,
			      "record %lld does not follow record %lld (prev_hash "
			      "differs: removed, moved or swapped records)",
			      (long long)r.id, (long long)r.id - 1);
			break;
		}
		rc = audit_hash_record(h, s->last_hash, &r, hash);
		if (rc != RK_OK) {
			if (rc != RK_ERR_INVALID) {
				sqlite3_reset(q);
				return rc;
			}
			fault(s, r.id, "record %lld cannot be encoded",
			      (long long)r.id);
			break;
		}
		if (sqlite3_column_bytes(q, AUDIT_COL_HASH) != 32 ||
		    memcmp(sqlite3_column_blob(q, AUDIT_COL_HASH), hash, 32) != 0) {
			fault(s, r.id,
			      "record %lld was altered: its contents do not hash to "
			      "its stored hash",
			      (long long)r.id);
			break;
		}
		for (; k < s->ncp && s->cps[k].record_id == r.id; k++) {
			if (memcmp(s->cps[k].hash, hash, 32) != 0) {
				/* The chain is self-consistent but not the one
				 * that was signed: rewritten after the previous
				 * checkpoint that still matched. */
				int64_t from = k > 0 ? s->cps[k - 1].record_id + 1 : 1;
				if (from < s->from_id)
					from = s->from_id;
				fault(s, from,
				      "checkpoint %lld signed record %lld with another "
				      "hash: records from the one named on were "
				      "rewritten",
				      (long long)s->cps[k].id,
				      (long long)s->cps[k].record_id);
				goto stop;
			}
			s->cps_seen++;
		}
		memcpy(s->last_hash, hash, 32);
		s->last_id = r.id;
		s->count++;
		expect++;
		if (s->progress != NULL && s->count % PROGRESS_EVERY == 0) {
			fprintf(s->progress, "audit verify: %lld records\n",
			        (long long)s->count);
			fflush(s->progress);
		}
	}
stop:
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

#define Q_CPS(S)                                                               \
	"SELECT id, record_id, record_hash, signed_ms, key_id, sig, "           \
	"coalesce(clock_sync, -1), next_key, rotate_sig FROM " S "checkpoints " \
	"ORDER BY id"
AUDIT_SQL(q_cps, Q_CPS);

/* Read and check every checkpoint, following the chain of signing keys
 * from the root (kc). Keeps in *out the good ones before the first bad
 * one; on a bad one sets res (first record it leaves unproven, the
 * checkpoint, why). */
static int
load_cps(struct store_conn *sc, int ix, struct audit_keychain *kc,
         struct audit_cp **out, size_t *n, struct audit_verify_result *res)
{
	sqlite3_stmt *q = store_stmt(sc, q_cps[ix]);
	struct audit_cp *cps = NULL;
	size_t cap = 0, count = 0;
	uint8_t msg[AUDIT_CP_MSG_MAX];
	size_t msglen;
	int64_t prev_rec = 0;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		struct audit_cp cp;
		const char *bad = NULL;
		int clock = -1;

		cp.id = sqlite3_column_int64(q, 0);
		cp.record_id = sqlite3_column_int64(q, 1);
		cp.signed_ms = sqlite3_column_int64(q, 3);
		bool rot = sqlite3_column_type(q, 7) != SQLITE_NULL;
		if (sqlite3_column_bytes(q, 2) != 32 ||
		    sqlite3_column_bytes(q, 4) != 32 ||
		    sqlite3_column_int(q, 6) < -1 || sqlite3_column_int(q, 6) > 2 ||
		    (rot && sqlite3_column_bytes(q, 7) != 32)) {
			bad = "is malformed";
		} else if (cp.record_id <= prev_rec) {
			bad = "is out of order";
		} else {
			clock = sqlite3_column_int(q, 6);
			memcpy(cp.hash, sqlite3_column_blob(q, 2), 32);
			msglen = audit_cp_message_for(msg, cp.record_id, cp.hash,
			                              cp.signed_ms, clock);
			bad = audit_keychain_check(
			    kc, sqlite3_column_blob(q, 4), msg, msglen,
			    sqlite3_column_blob(q, 5),
			    (size_t)sqlite3_column_bytes(q, 5));
			if (bad == NULL && rot)
				bad = audit_keychain_rotate(
				    kc, cp.record_id, cp.hash, cp.signed_ms,
				    sqlite3_column_blob(q, 7),
				    sqlite3_column_blob(q, 8),
				    (size_t)sqlite3_column_bytes(q, 8));
		}
		if (bad != NULL) {
			res->bad_checkpoint_id = cp.id;
			res->first_bad_id = prev_rec + 1;
			snprintf(res->why, sizeof(res->why),
			         "checkpoint %lld (record %lld) %s; records from %lld "
			         "on are not proven",
			         (long long)cp.id, (long long)cp.record_id, bad,
			         (long long)prev_rec + 1);
			break;
		}
		if (clock == RK_CLOCK_UNSYNCED || clock == RK_CLOCK_UNKNOWN)
			res->unsynced_checkpoints++;
		if (count == cap) {
			cap = cap ? 2 * cap : 64;
			cps = rk_realloc(cps, cap * sizeof(*cps));
		}
		cps[count++] = cp;
		prev_rec = cp.record_id;
	}
	sqlite3_reset(q);
	if (rc < 0) {
		free(cps);
		return RK_ERR_STORE;
	}
	*out = cps;
	*n = count;
	return RK_OK;
}

int
audit_verify_db(struct store_conn *sc, const char *schema,
                const char *pubkey_path, unsigned flags, FILE *progress,
                struct audit_verify_result *out)
{
	int ix = audit_schema_ix(schema), rc;
	bool own_txn = false;
	uint8_t key_id[32];
	EVP_PKEY *pkey;
	struct audit_keychain kc;
	struct audit_cp *cps = NULL;
	size_t ncp = 0;
	struct audit_hasher h;
	struct audit_scan scan;

	memset(out, 0, sizeof(*out));
	if (ix < 0)
		return RK_ERR_INVALID;
	pkey = audit_pubkey_load(pubkey_path, key_id, out->why, sizeof(out->why));
	if (pkey == NULL)
		return RK_ERR_CONFIG;
	audit_keychain_init(&kc, pkey, key_id);
	if (audit_hasher_init(&h) != RK_OK) {
		audit_keychain_fini(&kc);
		return RK_ERR_CRYPTO;
	}
	/* Checkpoints and records from one snapshot, unless the caller
	 * already holds a transaction. */
	if (sqlite3_get_autocommit(store_conn_db(sc))) {
		if (store_exec(sc, "BEGIN") != RK_OK) {
			rc = RK_ERR_STORE;
			goto done;
		}
		own_txn = true;
	}

	rc = load_cps(sc, ix, &kc, &cps, &ncp, out);
	if (rc != RK_OK)
		goto done;

	memset(&scan, 0, sizeof(scan));
	scan.from_id = 1;
	scan.to_id = INT64_MAX;
	scan.cps = cps;
	scan.ncp = ncp;
	scan.progress = progress;
	rc = audit_chain_scan(sc, ix, &h, &scan);
	if (rc != RK_OK)
		goto done;

	out->records = scan.count;
	out->checkpoints = (int64_t)scan.cps_seen;
	/* Of a chain fault and a bad checkpoint, name the earlier record. */
	if (scan.bad_id != 0 &&
	    (out->first_bad_id == 0 || scan.bad_id <= out->first_bad_id)) {
		out->first_bad_id = scan.bad_id;
		out->bad_checkpoint_id = 0;
		memcpy(out->why, scan.why, sizeof(out->why));
	} else if (scan.bad_id == 0 && scan.cps_seen < ncp &&
	           (out->first_bad_id == 0 ||
	            scan.last_id + 1 <= out->first_bad_id)) {
		const struct audit_cp *cp = &cps[scan.cps_seen];
		out->first_bad_id = scan.last_id + 1;
		out->bad_checkpoint_id = cp->id;
		snprintf(out->why, sizeof(out->why),
		         "checkpoint %lld signed record %lld but the chain ends at "
		         "record %lld: records from %lld on were removed",
		         (long long)cp->id, (long long)cp->record_id,
		         (long long)scan.last_id, (long long)scan.last_id + 1);
	}
	if (scan.cps_seen > 0) {
		out->last_signed_id = cps[scan.cps_seen - 1].record_id;
		out->last_signed_ms = cps[scan.cps_seen - 1].signed_ms;
	}
	if (out->first_bad_id == 0) {
		out->unsigned_tail = scan.last_id - out->last_signed_id;
		if ((flags & AUDIT_VERIFY_STRICT) && out->unsigned_tail > 0) {
			out->first_bad_id = out->last_signed_id + 1;
			snprintf(out->why, sizeof(out->why),
			         "records %lld..%lld are not covered by any signed "
			         "checkpoint",
			         (long long)out->first_bad_id, (long long)scan.last_id);
		}
	}
	out->ok = out->first_bad_id == 0;
done:
	if (own_txn)
		store_exec(sc, "COMMIT");
	free(cps);
	audit_hasher_fini(&h);
	audit_keychain_fini(&kc);
	return rc;
}
