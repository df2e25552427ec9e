/*
 * admin — the offline subcommands of renkei-server, and the keys every
 * command (serve included) reads from the key folder.
 *
 * Commands: init, import, org add, user add, user disable, audit
 * verify / pubkey / bench / rotate-key, rekey, keys check, keys migrate,
 * kek new. Most open the databases directly (no network; SQLite's
 * locking makes them safe beside a running server); rekey, audit
 * rotate-key and keys check need the server stopped and take the data
 * folder's lock (store_lock_data) to make sure. Each returns a process
 * exit code: 0 done, 1 refused (with a message on stderr), 2 usage.
 *
 * Keys. struct admin carries the settings and the key-encryption key,
 * read once per process (a passphrase is asked once, RENKEI_KEK is wiped
 * from the environment once read) and wiped by admin_end. The key
 * folder's files (keys/keys.h):
 *
 *   KEYS/care.key, audit.key   database keys, wrapped under the KEK
 *   KEYS/audit-signing.key     the audit signing key (Ed25519), wrapped
 *   KEYS/audit-signing.pub     its public key (PEM)
 *   KEYS/audit-root.pub        the first signing key's public key: the
 *                              trust anchor of `audit verify`
 *   KEYS/kek.params            salt and costs of a passphrase KEK
 *   KEYS/NAME.new              a key being replaced (rekey.c, rotate.c)
 *
 * Single-threaded (the main thread, before the server's threads start).
 */
#ifndef RK_ADMIN_ADMIN_H
#define RK_ADMIN_ADMIN_H

#include <stdbool.h>

#include "audit/audit.h"
#include "keys/keys.h"
#include <jansson.h>

#include "store/store.h"
#include "util/conf.h"

/* Room for a one-line reason that may name two paths of up to 4 KiB. */
#define ADMIN_ERR 10240

struct admin {
	const struct conf *conf; /* borrowed */
	struct keys_kek kek;
	bool have_kek;
};

void admin_begin(struct admin *a, const struct conf *conf);
/* Wipe the KEK. */
void admin_end(struct admin *a);

/* KEYS/file into out[cap]. */
void admin_key_path(const struct admin *a, const char *file, char *out,
                    size_t cap);

/* The KEK, read the first time (create: init may make kek.params).
 * 0, or -1 with a reason. */
int admin_kek(struct admin *a, bool create, char *err, size_t errlen);

/* The checks of admin_keys_ready but the last (a key being replaced is
 * what rekey and keys check resolve). */
int admin_keys_sane(struct admin *a, char *err, size_t errlen);

/* Refuse what must never be started on: the retired RENKEI_CARE_KEY /
 * RENKEI_AUDIT_KEY variables, unwrapped keys in DATA/keys/ (from before
 * keys_dir), a key folder inside the data folder, and a rekey or a
 * rotation left half done (KEYS/NAME.new: `keys check` finishes or undoes
 * it). 0, or -1 with a one-line reason. */
int admin_keys_ready(struct admin *a, char *err, size_t errlen);

/* The database paths and store settings of cfg, no keys. */
void admin_store_paths(struct admin *a, struct store_config *cfg);

/* admin_keys_ready, then unwrap both database keys into cfg and fill
 * the database paths. 0, or -1 with a reason; cfg is wiped on failure
 * (and the caller wipes it after store_open). */
int admin_store_config(struct admin *a, struct store_config *cfg, char *err,
                       size_t errlen);

/* Unwrap the audit signing key. NULL with a reason. */
struct audit_signer *admin_signer(struct admin *a, char *err, size_t errlen);
/* The VAPID private key (KEYS/vapid.key, a P-256 scalar wrapped under
 * the KEK) into out; made if there is none yet (at init, or at the first
 * start of a key folder made before notices). 0, or -1 with a reason.
 * The caller wipes out. */
int admin_vapid_key(struct admin *a, uint8_t out[32], char *err, size_t errlen);

/* The signer must be the key the trail expects next (audit_trail_key):
 * 0, or -1 with a reason. sc: a connection with audit.db attached. */
int admin_signer_matches(struct admin *a, struct store_conn *sc,
                         const struct audit_signer *signer, char *err,
                         size_t errlen);

/* Open a migrated connection to both databases (keys as above). 0, or
 * -1 after printing why. */
int admin_open(struct admin *a, struct store_conn **sc);

/* Append one record of an offline command to the chain, in the caller's
 * transaction: the actor is the operating-system user, user id 0, the
 * device "renkei-server COMMAND" (admin_trail_actor). 0 or -1. */
int admin_append(struct store_conn *sc, const char *command,
                 const char *action, const char *object, int outcome,
                 const char *reason);
/* admin_append and a checkpoint signed over it, in one audit.db
 * transaction of its own; once committed, the checkpoint goes to the
 * checkpoint_sink (admin_anchor). 0 or -1 (printed). */
int admin_record(struct admin *a, struct store_conn *sc,
                 struct audit_signer *signer, const char *command,
                 const char *action, const char *object, int outcome,
                 const char *reason);
/* Hand the checkpoint the signer signed last, if any, to the anchor
 * sink (audit/anchor.h): after its transaction committed. */
void admin_anchor(struct admin *a, struct audit_signer *signer);
/* Is there a record of `action` naming `object`? 1, 0, -1 (error). */
int admin_recorded(struct store_conn *sc, const char *action,
                   const char *object);

/* Create the data folder (mode 0700), the key folder beside it (0700),
 * fresh random keys wrapped under the KEK where none exist, the signing
 * key and its public keys, and the databases at the newest schema.
 * Safe to run twice. */
int admin_init(struct admin *a);

/* Import a ward file (the JSON shape of data/demo-ward.json): its
 * organisations, users (passwords hashed with the configured argon2
 * cost), patients, liaison sheets and posts, all in one transaction. */
int admin_import(struct admin *a, const char *path);

/* accounts.c: org add, user add | disable | enable | unlock |
 * reset-password | reset-2fa. Each needs --reason. Through the running
 * server's local channel (net/local.h) when one runs on the data folder
 * (it records the change, with the operating-system user as actor, and
 * closes the target's sessions at once); else offline, with the record
 * staged in care.db's outbox in the change's own transaction, then
 * forwarded into the chain and signed (admin_forward_sign). user add
 * --password-stdin always runs offline. */
int admin_org_add(struct admin *a, int argc, char **argv);
int admin_user_add(struct admin *a, int argc, char **argv);
int admin_user_disable(struct admin *a, int argc, char **argv);
/* device issue LOGIN DEVICE [--out DIR] [--days N] [--ca-key FILE] |
 * device revoke FINGERPRINT | device list [LOGIN] (device.c): TLS client
 * certificates of devices, from the server's CA. */
int admin_device(struct admin *a, int argc, char **argv);
int admin_user_enable(struct admin *a, int argc, char **argv);
int admin_user_reset_password(struct admin *a, int argc, char **argv);
int admin_user_reset_2fa(struct admin *a, int argc, char **argv);
/* After an offline change committed with its record staged in care.db's
 * outbox (sc: admin_open's connection): move the outbox into the chain
 * and sign a checkpoint over it, in one audit.db transaction, then anchor
 * it. 0, or -1 (printed; the record then waits in the outbox for the
 * server's next start). */
int admin_forward_sign(struct admin *a, struct store_conn *sc);
/* What admin_import does with the parsed file (root: a JSON object, or
 * anything, which then imports nothing), through sc inside the caller's
 * transaction: the caller commits on 0 and rolls back on -1 (after a
 * message on stderr), as admin_import does. Fills *n with what it read. */
struct admin_import_counts {
	int orgs, users, patients;
};
int admin_import_json(struct store_conn *sc, const struct conf *conf,
                      json_t *root, struct admin_import_counts *n);

/* Forget a login's failed attempts from every address (it waits no
 * more): accounts.c, as above. */
int admin_user_unlock(struct admin *a, int argc, char **argv);

/* Verify the whole audit chain and every checkpoint, following the
 * signing keys from KEYS/audit-root.pub; name the first record that
 * fails. 0 clean, 1 tampered/failed. */
int admin_audit_verify(struct admin *a);
/* Measure verification: fill a NEW, empty data folder with `records`
 * synthetic audit records (signed checkpoints every 1000), then verify
 * them all and print records/s. Refuses a folder that holds real data. */
int admin_audit_bench(struct admin *a, long records);
/* Print the root public key (PEM), or with `current` the key signing
 * now, to stdout. */
int admin_audit_pubkey(struct admin *a, bool current);

/* rekey.c: `rekey care|audit` replaces a database key (crash-safe; the
 * state machine is at the top of rekey.c); `keys check` finishes or
 * undoes what a crash left half done and says which key opens each
 * database. Both need the server stopped. */
int admin_rekey(struct admin *a, const char *which);
int admin_keys_check(struct admin *a);
/* What those start with: the data folder's lock (the descriptor, or -1
 * after printing why; `what` names the command), the key folder's
 * checks and the KEK. Then admin_offline_recover resolves whatever a
 * crash left half done (0, or -1 after printing why). */
int admin_offline_begin(struct admin *a, const char *what);
int admin_offline_recover(struct admin *a);

/* rotate.c: `audit rotate-key` replaces the audit signing key with a
 * rotation checkpoint signed by the old one. Server stopped. */
int admin_audit_rotate_key(struct admin *a);
/* Finish or undo a rotation a crash cut short (called by keys check and
 * by rekey before they start). 0 nothing left / done, -1 refused. */
int admin_rotation_recover(struct admin *a, struct store_conn *sc,
                           bool *changed);

/* migrate.c: `keys migrate` moves the unwrapped keys of DATA/keys/
 * (before keys_dir) into the key folder, wrapped, and wipes the old
 * files. */
int admin_keys_migrate(struct admin *a);

/* `keys backup-key`: print the backup key (64 hex digits) for a copy
 * kept off the machine, recorded in the trail first (key.export);
 * refuses a terminal as stdout. */
int admin_keys_backup_key(struct admin *a);

/* `kek new`: print 32 fresh random bytes as 64 hex digits. */
int admin_kek_new(void);

/* Hash every post, sheet row, hand-off and photo again and compare each
 * with the digest its latest audit record holds (verify_content.c);
 * print each one that differs or has none. 0 clean, 1 otherwise. */
int admin_verify_content(struct admin *a);

#endif
