/*
 * Shared by audit's own files; not part of its API.
 *
 * canon.c (the canonical encoding, the hasher, checkpoint messages and
 * key loading) and verify_export.c use only OpenSSL, jansson,
 * util/text.c and util/mem.c — no SQLite, no logging — so that the
 * command-line client can compile them to verify an export offline.
 */
#ifndef RK_AUDIT_INTERNAL_H
#define RK_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "audit/audit.h"

/* ---- the canonical encoding (canon.c) */

/* The text fields of a record, in canonical order. */
enum audit_field {
	AF_LOGIN,
	AF_ORG,
	AF_ADDRESS,
	AF_DEVICE,
	AF_ACTION,
	AF_PATIENT,
	AF_OBJECT,
	AF_ERROR_CODE,
	AF_REASON,
	AF__COUNT
};

/* Names used in the JSON export, the CSV header and the database. */
extern const char *const audit_field_names[AF__COUNT];

struct audit_str {
	const char *p; /* NULL: absent (SQL NULL, JSON null) */
	size_t n;
};

/* A record as the chain sees it: what is hashed, nothing else. */
struct audit_canon {
	int64_t id, ts_ms, user_id, profession, session_id, outcome;
	struct audit_str s[AF__COUNT];
};

/* SHA-256 with one digest context and one encoding buffer, reused for
 * every record: verifying a million records allocates nothing per row. */
struct audit_hasher {
	EVP_MD_CTX *ctx;
	EVP_MD *md;
	uint8_t *buf;
	size_t cap;
};

/* RK_OK or RK_ERR_CRYPTO. */
int audit_hasher_init(struct audit_hasher *h);
void audit_hasher_fini(struct audit_hasher *h);
/* out = SHA-256(prev || encoding(r)). RK_OK, RK_ERR_CRYPTO, or
 * RK_ERR_INVALID for a field too long to encode (a damaged row). */
int audit_hash_record(struct audit_hasher *h, const uint8_t prev[32],
                      const struct audit_canon *r, uint8_t out[32]);

/* The message a checkpoint signs: "renkei-audit-v1", a zero byte, the
 * record id (8 bytes big-endian), its hash, the signing time (8 bytes
 * big-endian ms). */
#define AUDIT_CP_MSG_LEN (16 + 8 + 32 + 8)
void audit_cp_message(uint8_t out[AUDIT_CP_MSG_LEN], int64_t record_id,
                      const uint8_t hash[32], int64_t signed_ms);

/* Load an Ed25519 public key (PEM) and its id, SHA-256 of the raw 32
 * key bytes. NULL with a reason in err. */
EVP_PKEY *audit_pubkey_load(const char *path, uint8_t key_id[32], char *err,
                            size_t errlen);
/* True if sig (siglen bytes) is pkey's signature of msg. */
bool audit_sig_ok(EVP_PKEY *pkey, const uint8_t *msg, size_t msglen,
                  const uint8_t *sig, size_t siglen);

/* "2026-11-22T03:51:38.123Z" (iso) or "2026-11-22 03:51:38.123" shifted
 * by offset_ms (for spreadsheets); out holds at least 32 bytes.
 * The export writes it and the offline verifier checks it. */
void audit_format_time(int64_t ms, int64_t offset_ms, bool iso, char *out,
                       size_t outlen);

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
	"error_code, reason, prev_hash, hash "
#define AUDIT_COL_PREV 15
#define AUDIT_COL_HASH 16

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
