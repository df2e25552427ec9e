/*
 * canon — the audit record's canonical encoding, its hash, what a
 * checkpoint signs, and the keys that sign it (canon.c; the encoding
 * itself is described at the top of canon.c).
 *
 * Part of the library renkei_auditfmt (see CMakeLists.txt), which the
 * server and the CLI's offline `renkei audit verify` both link, so that
 * they can never disagree on what a record hashes to. It depends on
 * OpenSSL and util/ only: no SQLite, no logging. Pure functions apart
 * from the hasher's own buffers; safe from any thread.
 */
#ifndef RK_AUDIT_CANON_H
#define RK_AUDIT_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

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
	AF_CONTENT, /* content_sha256: encoded only when present (version 2) */
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

/* ---- the chain of signing keys (keychain.c)
 *
 * The trail is signed first by the root key, made at init, whose public
 * half an auditor trusts. `renkei-server audit rotate-key` signs one more
 * checkpoint with the key in use that also carries the next public key
 * and a second signature, by the same key, over the rotation statement
 * below; from the next checkpoint on, only the new key is valid (a key
 * that was replaced signs nothing more, so a leaked old key cannot
 * extend the trail). A verifier starts from the trusted root key and
 * follows the rotations in order; a checkpoint signed by any key other
 * than the one valid at its place fails. */

/* The rotation statement: "renkei-audit-rotate-v1", a zero byte, the
 * record id (8 bytes big-endian), its hash, the signing time (8 bytes
 * big-endian ms), the id of the key that signs, the next raw public
 * key (32 bytes). */
#define AUDIT_ROT_MSG_LEN (23 + 8 + 32 + 8 + 32 + 32)
void audit_rot_message(uint8_t out[AUDIT_ROT_MSG_LEN], int64_t record_id,
                       const uint8_t hash[32], int64_t signed_ms,
                       const uint8_t key_id[32], const uint8_t next_pub[32]);

/* An Ed25519 public key from its 32 raw bytes, and its id; NULL if the
 * bytes are not a key. The caller owns it. */
EVP_PKEY *audit_pubkey_raw(const uint8_t raw[32], uint8_t key_id[32]);

struct audit_keychain {
	EVP_PKEY *key;         /* the key valid now (owned) */
	uint8_t key_id[32];
	uint8_t (*retired)[32]; /* ids of the keys rotations replaced */
	size_t nretired;
};

/* Start from the trusted root key (ownership of `root` passes). */
void audit_keychain_init(struct audit_keychain *kc, EVP_PKEY *root,
                         const uint8_t root_id[32]);
void audit_keychain_fini(struct audit_keychain *kc);
/* Is key_id the key valid now? NULL if so, else why not. */
const char *audit_keychain_key_fault(const struct audit_keychain *kc,
                                     const uint8_t key_id[32]);
/* Was msg (a checkpoint message) signed, as key_id says, by the key
 * valid now? NULL if so, else why not ("was signed by a key that no
 * rotation introduced", ...). */
const char *audit_keychain_check(struct audit_keychain *kc,
                                 const uint8_t key_id[32], const uint8_t *msg,
                                 size_t msglen, const uint8_t *sig,
                                 size_t siglen);
/* A rotation at the checkpoint just checked: its statement must be
 * signed by the key valid now; then next_pub is. NULL, or why not. */
const char *audit_keychain_rotate(struct audit_keychain *kc, int64_t record_id,
                                  const uint8_t hash[32], int64_t signed_ms,
                                  const uint8_t next_pub[32],
                                  const uint8_t *sig, size_t siglen);
/* Version 2 adds the state of the clock that gave signed_ms (one byte,
 * util/clock.h: 0 not synchronised, 1 synchronised, 2 unknown):
 * "renkei-audit-v2", a zero byte, id, hash, signed_ms as in version 1,
 * then the byte. Checkpoints signed before the clock was recorded have
 * none (clock_sync < 0) and keep the version 1 message, so that they
 * verify as they were signed. Writes the message for clock_sync (< 0:
 * version 1) and returns its length. */
#define AUDIT_CP_MSG_MAX (AUDIT_CP_MSG_LEN + 1)
size_t audit_cp_message_for(uint8_t out[AUDIT_CP_MSG_MAX], int64_t record_id,
                            const uint8_t hash[32], int64_t signed_ms,
                            int clock_sync);

/* Load an Ed25519 public key (PEM) and its id, SHA-256 of the raw 32
 * key bytes. NULL with a reason in err; the caller owns the key
 * (EVP_PKEY_free). */
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

#endif
