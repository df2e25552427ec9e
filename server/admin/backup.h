/*
 * admin/backup — what an operator runs to keep the records safe off the
 * host: online backups, their check, restore into a new folder, and the
 * check of the audit chain against anchors shipped off the host.
 *
 * How the backup and the running server cooperate. The backup command
 * opens both databases itself, read-only through WAL, with the keys an
 * admin command gets (admin_store_config); it never talks to the server
 * and never holds a lock the server waits on: WAL lets the server's
 * writer go on while the copy reads its snapshot. The snapshot is taken
 * care.db first, then audit.db, in one read transaction, and is kept
 * only if the audit snapshot names no change the care snapshot lacks
 * (else it is taken again; see audit_snapshot_check): so
 *   - every change in the care snapshot has its audit records either in
 *     the audit snapshot or in the care snapshot's outbox, which the
 *     restored server forwards into the chain at its first start
 *     (docs/audit-commit.md), and
 *   - every ok record of a change in the audit snapshot names what the
 *     care snapshot holds, so that every post acknowledged up to the
 *     backup's audit head is in the backup.
 * The one thing the backup writes into the live folder is its audit
 * record ("backup", straight into the chain as for a read: it changes
 * nothing in care.db), in a transaction of its own that takes audit.db's
 * write lock first; the server's journal waits for that lock, it does
 * not fail (audit/journal.c).
 *
 * A backup is a folder NAME = renkei-backup-YYYYMMDDTHHMMSSZ under the
 * folder given to --to, holding
 *   care.db, audit.db    SQLCipher copies under the backup key
 *                        (backup_key_file), which opens nothing live;
 *   audit-signing.pub    the public key that verifies the chain (a
 *                        public key: nothing secret);
 *   manifest.json        sizes and SHA-256 of the files, the audit head
 *                        (id, hash), the last checkpoint, the outbox;
 *   manifest.hmac        HMAC-SHA256 of manifest.json under a key
 *                        derived from the backup key.
 * No key that opens or signs anything is ever written into it. The
 * newest backup_keep backups are kept; older ones are removed.
 *
 * Each returns a process exit code: 0 done, 1 refused or failed (with a
 * message on stderr), 2 usage. Progress (bytes copied) goes to stderr.
 */
#ifndef RK_ADMIN_BACKUP_H
#define RK_ADMIN_BACKUP_H

#include "util/conf.h"

/* renkei-server backup --to DIR */
struct admin;
int admin_backup(struct admin *a, const char *to_dir);

/* renkei-server backup verify DIR: a backup (or every backup in a
 * folder of them) checked without restoring it: manifest MAC, sizes and
 * hashes, both databases opened with the backup key, integrity_check,
 * the audit chain verified with the backup's public key, and the
 * manifest's head and checkpoint found in the chain. */
int admin_backup_verify(struct admin *a, const char *dir);

/* renkei-server restore --from DIR --data NEWDIR: DIR is a backup (or a
 * folder of them: the newest is taken). NEWDIR must hold no database;
 * it gets keys as init makes them, the databases under its own keys,
 * and a "restore" record in its trail. Needs the backup key and the
 * audit signing key that signed the backup's checkpoints. */
int admin_restore(struct admin *a, const char *from_dir);

/* renkei-server audit verify --anchors FILE: the chain against every
 * anchor in FILE (audit/anchor.h). */
int admin_audit_anchors(struct admin *a, const char *anchors_path);

#endif
