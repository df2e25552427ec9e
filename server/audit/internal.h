/*
 * Shared by audit's own files over the store; not part of its API.
 *
 * The canonical encoding, the hasher, checkpoint messages and key
 * loading are in audit/canon.h (canon.c), which with verify_export.c is
 * the library renkei_auditfmt: OpenSSL, jansson and util/ only, no
 * SQLite, so that the CLI links it to verify an export offline. This
 * header adds what needs the store.
 */
#ifndef RK_AUDIT_INTERNAL_H
#define RK_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "audit/canon.h"

/* ---- statements (audit.c) */

/* audit.db is attached as "audit" on every store connection, or could
 * be "main" on a connection of its own. store_stmt() caches on the
 * address of a literal, so each statement exists once per schema:
 * [0] for "audit", [1] for "main". */
#define AUDIT_SQL(name, Q)                                                     \
	static const char *const name[2] = {Q("audit."), Q("main.")}

/* 0 for "audit", 1 for "main", -1 for anything else. */
int audit_schema_ix(const char *schema);

/* The columns audit_row_canon() reads, in order. */
#define AUDIT_REC_COLS                                                         \
	"id, ts_ms, actor_user_id, actor_login, actor_profession, actor_org, " \
	"session_id, address, device, action, patient, object, outcome, "     \
	"error_code, reason, prev_hash, hash, content_sha256 "
#define AUDIT_COL_PREV 15
#define AUDIT_COL_HASH 16
#define AUDIT_COL_CONTENT 17

/* Point r at the current row of a statement selecting AUDIT_REC_COLS
 * (valid until the statement moves). */
void audit_row_canon(sqlite3_stmt *q, struct audit_canon *r);

/* The newest record's id and hash; id 0 and zero hash if none.
 * RK_OK or RK_ERR_STORE. */
int audit_head(struct store_conn *sc, int ix, int64_t *id, uint8_t hash[32]);

/* ---- scanning the chain (verify.c) */

/* One checkpoint whose signature has been checked. */
struct audit_cp {
	int64_t id, record_id, signed_ms;
	uint8_t hash[32];
};

struct audit_scan {
	/* in */
	int64_t from_id;        /* first record; its prev_hash must be anchor */
	int64_t to_id;          /* last record to read (INT64_MAX: all) */
	uint8_t anchor[32];
	const struct audit_cp *cps; /* by record_id; each hash is compared */
	size_t ncp;
	FILE *progress;         /* may be NULL */
	/* out */
	int64_t count;          /* records read and found good */
	int64_t last_id;        /* last good record (from_id - 1 if none) */
	uint8_t last_hash[32];
	size_t cps_seen;        /* checkpoints whose record was reached */
	int64_t bad_id;         /* 0 if the range is intact */
	char why[200];
};

/* Read records from_id..to_id in order, recompute the chain and compare
 * it with the stored hashes and with the checkpoints. Stops at the first
 * fault (bad_id, why). RK_OK if the scan ran (whatever it found),
 * RK_ERR_STORE or RK_ERR_CRYPTO if it could not. */
int audit_chain_scan(struct store_conn *sc, int ix, struct audit_hasher *h,
                     struct audit_scan *s);

#endif
