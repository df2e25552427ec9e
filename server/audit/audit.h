/*
 * audit — the tamper-evident access log.
 *
 * Every access is one record (struct audit_event) in audit.db's table
 * `records`, ids 1, 2, 3, ... without gaps. Records are hash-chained:
 * each carries
 *   hash = SHA-256(prev_hash || canonical_encoding(record))
 * where canonical_encoding is defined in canon.c (version byte, fixed
 * field order, integers 8 bytes big-endian, text fields tagged absent or
 * length-prefixed, the id included, so that no two different records
 * encode alike), and prev_hash of the first record is 32 zero bytes.
 * Every N records or T ms the server signs a checkpoint: Ed25519 over
 * "renkei-audit-v1\0", the record id, its hash and the signing time,
 * with a key made at init; its public key (PEM, the root) can be handed
 * to anyone to verify the database or an export offline. The signing key
 * can be replaced (`renkei-server audit rotate-key`): a rotation
 * checkpoint, signed by the old key, names the new one, and verification
 * follows that chain of keys from the root (audit/canon.h).
 *
 * Normal operation only ever INSERTs into audit.db: no UPDATE, no DELETE,
 * no INSERT OR REPLACE (triggers refuse them).
 *
 * What verification guarantees, given that the signing key stayed
 * secret: every record up to the newest valid checkpoint is exactly as
 * written — no field changed, no record removed, inserted, moved or
 * swapped — and records removed from the tail are noticed as long as a
 * checkpoint names one of them. What it cannot see: changes to records
 * newer than the newest checkpoint by someone holding the database key
 * (at most N records or T ms of them while the server runs; an orderly
 * shutdown should sign a last checkpoint), and the removal of the newest
 * checkpoints together with the records they cover — for that, each
 * checkpoint is also written to the operational log (AUDIT-CHECKPOINT,
 * record id and hash) and, signed, to the anchor sink off the host
 * (audit/anchor.h), which `audit verify --anchors` compares the chain
 * with; that also catches a chain rewritten and signed again by someone
 * who took the signing key too, up to the newest anchor shipped. Each
 * checkpoint signs the state of the clock with its time.
 * docs/audit-fhir.md maps the fields onto FHIR AuditEvent.
 *
 * Thread rules: functions taking a store_conn run on whichever thread
 * owns it (the writer for appends and checkpoints, readers for queries
 * and exports, admin commands for verify). No globals; no function keeps
 * state between calls, but for the signer, which remembers the last
 * checkpoint it signed until it is taken (audit_signer_take).
 */
#ifndef RK_AUDIT_AUDIT_H
#define RK_AUDIT_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "audit/verify_export.h" /* struct audit_verify_result, audit_verify_export */
#include "store/store.h"

/* A text field longer than this many bytes is cut (at a character
 * boundary) when appended. */
#define AUDIT_FIELD_MAX 2000

/* One access, as the caller describes it. Strings are borrowed; NULL
 * and "" both mean "none" (stored as NULL). Maps onto FHIR AuditEvent
 * (see docs/audit-fhir.md). */
struct audit_event {
	int64_t ts_ms;             /* UTC ms; 0 = now */
	int64_t actor_user_id;     /* 0 = unknown (failed login of no user) */
	const char *actor_login;   /* as typed, for failed logins too */
	int actor_profession;
	const char *actor_org;     /* organisation code */
	int64_t session_id;
	const char *address;       /* source IP */
	const char *device;
	const char *action;        /* required; e.g. "login", "board.read" */
	const char *patient;       /* patient code */
	const char *object;        /* object id: post id, attachment id, ... */
	int outcome;               /* 0 = success, else an rk_err */
	const char *error_code;    /* wire code name when outcome != 0 */
	const char *reason;        /* break-glass reason, logout reason, ... */
	/* SHA-256 (lower-case hex) of the canonical content of what the
	 * action created or changed (server/care/digest.c), or NULL: what
	 * `renkei-server verify --content` holds the stored data against. */
	const char *content;
};

/* A stored record: the event plus its place in the chain. */
struct audit_record {
	int64_t id;
	struct audit_event ev; /* strings point into `buf`; NULL = none */
	uint8_t prev_hash[32];
	uint8_t hash[32];
	char *buf;             /* owned */
};
/* Free r's buffer and zero it. NULL is fine. */
void audit_record_fini(struct audit_record *r);

/* Append one record to the chain, in the caller's transaction on a
 * connection that has audit.db (schema "audit" attached, or "main";
 * NULL means "audit"). Text is made well-formed first: bytes that are
 * not UTF-8 and control characters other than tab, CR and LF become
 * U+FFFD, and fields are cut to AUDIT_FIELD_MAX bytes — so a record
 * always exports as valid JSON. ts_ms 0 means now. Only one thread may
 * append (the writer). Returns RK_OK, RK_ERR_INVALID (no action, unknown
 * schema) or RK_ERR_STORE — the caller must then refuse the action. */
int audit_append(struct store_conn *sc, const char *schema,
                 const struct audit_event *ev);

/* ---- the journal: audit records written by the store's writer thread */

/* One event waiting on a store op (store_op.journal is a list of these).
 * The entry owns copies of every string. If outcome_from_op is set, the
 * record's outcome and error code are the op's result, known only after
 * the op ran: that is how a denial is recorded by the very op that was
 * denied. */
struct audit_entry {
	struct audit_event ev;
	bool outcome_from_op;
	bool checkpoint_after; /* sign a checkpoint right after this batch */
	struct audit_entry *next;
	char *copies[12];
};

/* A deep copy of ev as a new entry. */
struct audit_entry *audit_entry_new(const struct audit_event *ev);
/* Replace the patient code / object id of an entry (e.g. once the op
 * that carries it has found out which patient a post belongs to). */
void audit_entry_set_patient(struct audit_entry *e, const char *patient);
void audit_entry_set_object(struct audit_entry *e, const char *object);
void audit_entry_set_session(struct audit_entry *e, int64_t session_id,
                             int64_t user_id);
void audit_entry_set_reason(struct audit_entry *e, const char *reason);
void audit_entry_set_content(struct audit_entry *e, const char *content);
/* Fill in the actor once known (a login learns who it was). */
void audit_entry_set_actor(struct audit_entry *e, int64_t user_id,
                           const char *login, int profession,
                           const char *org, const char *device);
/* Fix the outcome now (rc: an rk_err), instead of taking the op's. */
void audit_entry_set_outcome(struct audit_entry *e, int rc);
/* Free a list of entries. NULL is fine. */
void audit_entries_free(struct audit_entry *e);
/* Append entry list `more` to *list. */
void audit_entries_append(struct audit_entry **list, struct audit_entry *more);

struct audit_sink;
struct audit_journal {
	struct audit_signer *signer; /* NULL: no checkpoints */
	struct audit_sink *sink;     /* NULL: checkpoints are not anchored */
	int every_records;
	int64_t every_ms;
	uint64_t appended; /* records written (atomic: any thread may read) */
};

/* store_config.journal: where the store's writer puts each batch's
 * entries (store.h; docs/audit-commit.md). Entries are written in op
 * order, then a checkpoint is signed when due. journal_arg: struct
 * audit_journal. */
extern const struct store_journal audit_store_journal;
/* For commands that change care.db without a running server (import,
 * admin): stage one record in care.db's outbox, inside the caller's own
 * care.db transaction, so that it commits with the change it records or
 * not at all; the server moves it into the chain at its next start
 * (docs/audit-commit.md). ts_ms 0 means now. RK_OK or RK_ERR_STORE. */
int audit_stage(struct store_conn *wc, const struct audit_event *ev);

/* At shutdown: sign a checkpoint covering every record. */
int audit_journal_close(struct store_conn *jc, void *arg);

/* ---- snapshots (backups: admin/backup.h) */

/* Call first thing in a read transaction on sc (care.db as "main",
 * audit.db attached as "audit"): reads care.db (which fixes its
 * snapshot), then audit.db (which fixes audit.db's, a moment later),
 * and says whether the pair is a consistent backup: *covered is true
 * unless the audit snapshot holds records forwarded from outbox rows the
 * care snapshot has not got — records of changes made between the two
 * moments, which the care snapshot lacks. (Every change the care
 * snapshot has is covered anyway: its records are in the audit snapshot
 * or still in the care snapshot's outbox, see docs/audit-commit.md.)
 * *staged counts the care snapshot's outbox rows not yet in the audit
 * snapshot (forwarded when the copy is next opened by a store). RK_OK or
 * RK_ERR_STORE. */
int audit_snapshot_check(struct store_conn *sc, bool *covered,
                         int64_t *staged);

/* The newest record's id and hash in schema ("audit" or "main"); id 0
 * and a zero hash if there is none. RK_OK, RK_ERR_INVALID, RK_ERR_STORE. */
int audit_chain_head(struct store_conn *sc, const char *schema, int64_t *id,
                     uint8_t hash[32]);

/* ---- checkpoints and keys */

/* The signing key is 32 secret bytes (an Ed25519 seed), kept wrapped in
 * the key folder (keys/keys.h); its public half goes beside it as PEM,
 * and the very first one, the root an auditor trusts, as audit-root.pub.
 * The signer owns its key (wiped on free); the caller wipes the seed. */
struct audit_signer;
/* NULL with a reason in err. */
struct audit_signer *audit_signer_new(const uint8_t seed[32], char *err,
                                      size_t errlen);
/* NULL is fine. */
void audit_signer_free(struct audit_signer *s);
/* The raw public key (32 bytes) and, if key_id is not NULL, its id
 * (SHA-256 of those bytes, as checkpoints name it). RK_OK or
 * RK_ERR_CRYPTO. */
int audit_signer_pub(const struct audit_signer *s, uint8_t raw[32],
                     uint8_t key_id[32]);
/* Write the public key as PEM to path (mode 0644), replacing it
 * atomically. RK_OK or RK_ERR_IO with a reason. */
int audit_signer_write_pub(const struct audit_signer *s, const char *path,
                           char *err, size_t errlen);
/* The seed of an Ed25519 private key in a PEM file (the layout before
 * keys were wrapped: `renkei-server keys migrate`). RK_OK, RK_ERR_IO or
 * RK_ERR_CONFIG with a reason; seed wiped on failure. */
int audit_pem_seed(const char *path, uint8_t seed[32], char *err,
                   size_t errlen);
/* The id of the signer's key: SHA-256 of its raw public key, as in
 * checkpoints.key_id. */
void audit_signer_key_id(const struct audit_signer *s, uint8_t out[32]);
/* The checkpoint this signer signed last, if it has not been taken yet
 * (then it is, and true is returned): whoever committed the transaction
 * that stored it hands it to the anchor sink (audit/anchor.h); whoever
 * rolled it back drops it. The signer's one piece of state; the thread
 * that signs with it takes. */
struct audit_anchor;
bool audit_signer_take(struct audit_signer *s, struct audit_anchor *out);

/* Sign a checkpoint over the newest record if it is not yet covered and
 * either at least `every_records` records are unsigned or the oldest
 * unsigned record is at least `every_ms` old (a criterion <= 0 is off;
 * every_records = 1 signs now, e.g. at shutdown or before an export).
 * now_ms 0 means now. Before signing, the unsigned records are hashed
 * again from the last checkpoint: over a broken chain it signs nothing,
 * logs AUDIT-CHAIN-BROKEN and returns RK_ERR_STORE. In the caller's
 * transaction, on the writer. Best called last in an op (or in an op of
 * its own): the AUDIT-CHECKPOINT log line is written at once, even if the
 * op is later rolled back. Returns RK_OK (signed or not due),
 * RK_ERR_INVALID, RK_ERR_STORE or RK_ERR_CRYPTO. */
int audit_checkpoint_maybe(struct store_conn *sc, const char *schema,
                           struct audit_signer *s, int every_records,
                           int64_t every_ms, int64_t now_ms);

/* A rotation checkpoint (audit/canon.h, "the chain of signing keys"):
 * signed by `old`, the key in use, over the newest record, which must
 * not be covered yet (append the record of the rotation first, else
 * RK_ERR_PRECONDITION), naming next_pub (raw, 32 bytes) as the key
 * that signs every later checkpoint. In the caller's transaction.
 * RK_OK, RK_ERR_INVALID, RK_ERR_STORE or RK_ERR_CRYPTO. */
int audit_rotate_sign(struct store_conn *sc, const char *schema,
                      struct audit_signer *old, const uint8_t next_pub[32],
                      int64_t now_ms);

/* The public key (raw) that must sign the trail's next checkpoint: the
 * one its last rotation named, or the root key (PEM file) if there was
 * none. The server refuses to start with a signing key that is not this
 * one, since what it signed would not verify. RK_OK, RK_ERR_STORE or
 * RK_ERR_CONFIG with a reason. */
int audit_trail_key(struct store_conn *sc, const char *schema,
                    const char *root_pub_path, uint8_t pub[32], char *err,
                    size_t errlen);

/* ---- verification
 *
 * The verdict, struct audit_verify_result, and the offline check of an
 * export, audit_verify_export(), are in audit/verify_export.h (included
 * above): with canon.c they are the library renkei_auditfmt, which needs
 * no SQLite, so that the CLI links the very same verifier. */

/* Every record must be covered by a checkpoint (an unsigned tail fails).
 * Use it on a database whose server has stopped cleanly. */
#define AUDIT_VERIFY_STRICT 1u

/* Check the whole chain and every checkpoint's signature, following the
 * chain of signing keys from the trusted root public key (PEM file; a
 * checkpoint signed by any key other than the one valid at its place
 * fails), in one read transaction (its own unless the caller is
 * in one): one sequential scan, no allocation per record. Names the
 * first record that fails; when someone rewrote records and recomputed
 * every hash after them, only a checkpoint can tell, and the first bad
 * record is then named to within the checkpoint interval (the one after
 * the last checkpoint that still matches). Without AUDIT_VERIFY_STRICT,
 * records after the newest checkpoint that chain correctly pass and are
 * counted in unsigned_tail. Reports progress on `progress` (may be NULL)
 * every 100,000 records. Returns RK_OK when the check ran (its verdict
 * in *out), else RK_ERR_CONFIG (public key; reason in out->why),
 * RK_ERR_STORE, RK_ERR_CRYPTO or RK_ERR_INVALID. */
int audit_verify_db(struct store_conn *sc, const char *schema,
                    const char *pubkey_path, unsigned flags, FILE *progress,
                    struct audit_verify_result *out);

/* ---- queries and export (auditors) */

struct audit_query {
	const char *patient, *user, *org, *action; /* NULL = any */
	int outcome;            /* -1 = any, 0 = success, 1 = failure */
	int64_t since_ms, until_ms; /* 0 = open */
	int64_t after_id;       /* paging: records with id > after_id */
	int limit;              /* default 100, max 1000 */
};

/* Records matching q, oldest first. `user` is the actor's login (as
 * typed, so failed logins are found too); outcome 1 matches every
 * failure. since/until: since_ms <= ts_ms < until_ms. *out is malloc'ed
 * (free with audit_records_free, also when *n is 0); *more is set if
 * more remain after the last one (next page: after_id = last id).
 * RK_OK, RK_ERR_INVALID or RK_ERR_STORE. */
int audit_query_run(struct store_conn *sc, const char *schema,
                    const struct audit_query *q, struct audit_record **out,
                    size_t *n, bool *more);
void audit_records_free(struct audit_record *r, size_t n);

enum audit_format { AUDIT_JSONL, AUDIT_CSV };

/* Write the records with since_ms <= ts < until_ms (0 = open) to `out`,
 * in one read transaction (its own unless the caller is in one): JSON
 * Lines (a header line with the hash preceding the first record, one
 * record per line, each checkpoint line right after the record it signs,
 * an "end" line; so that the range verifies offline it runs on to the
 * first checkpoint covering its last record, those extra records marked
 * "context": true) or CSV for Japanese Excel (UTF-8 with BOM, CRLF, RFC
 * 4180 quoting, formula-like cells defanged with a leading '; exactly
 * the range's records, then the checkpoints that cover them in trailing
 * rows). Format details in export.c. For the newest records to verify,
 * sign a checkpoint first (audit_checkpoint_maybe with every_records 1).
 * Returns the number of records in the range, or -1 (store or I/O
 * error; `out` then holds a partial file). */
int64_t audit_export(struct store_conn *sc, const char *schema,
                     int64_t since_ms, int64_t until_ms,
                     enum audit_format fmt, FILE *out);

#endif
