/*
 * admin/bundle — one backup folder: its key, its manifest, and the check
 * of everything in it (backup verify, and restore before it restores).
 * Shared by admin/backup.c and admin/restore.c; not an API of its own
 * (admin/backup.h describes the folder).
 *
 * The manifest is authenticated with HMAC-SHA256 under a key derived from
 * the backup key (HMAC-SHA256(backup key, "renkei-backup/1 manifest")),
 * so that no one without the backup key can change a byte of a backup
 * and give it a manifest that agrees; a key id derived the same way
 * ("renkei-backup/1 key id", 16 bytes) tells a wrong key from a damaged
 * backup. Neither reveals the key.
 */
#ifndef RK_ADMIN_BUNDLE_H
#define RK_ADMIN_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "audit/anchor.h"
#include "store/store.h"
#include "util/conf.h"

#define BUNDLE_PREFIX "renkei-backup-"
#define BUNDLE_FORMAT 1

/* The backup key: RENKEI_BACKUP_KEY (64 hex digits, e.g. for a restore
 * on another machine), else the file backup_key_file (default
 * KEYS/backup.key), checked as every key file is (keys/keys.h): wrapped
 * under the KEK as init makes it, or 64 hex digits (a copy kept off the
 * machine, `renkei-server keys backup-key`). */
struct admin;
int bundle_key_load(struct admin *a, struct store_key *key, char *err,
                    size_t errlen);

/* The key id (32 hex digits) of a backup key. */
void bundle_key_id(const struct store_key *key, char out[33]);

/* Size and SHA-256 of a file. 0 or -1 (errno). */
int bundle_file_hash(const char *path, int64_t *bytes, uint8_t sha[32]);

/* Add {"name", "bytes", "sha256"} of dir/name to the array `files`. */
int bundle_add_file(json_t *files, const char *dir, const char *name,
                    char *err, size_t errlen);

/* Write dir/manifest.json (m, as is) and dir/manifest.hmac, both flushed.
 * *digest (65 bytes) gets the manifest's SHA-256 in hex. */
int bundle_write_manifest(const char *dir, json_t *m, const struct store_key *key,
                          char digest[65], char *err, size_t errlen);

/* What a good backup says of itself. */
struct bundle_info {
	char name[128];
	int64_t created_ms;
	int64_t care_bytes, audit_bytes;
	int64_t head_id;
	uint8_t head_hash[32];
	struct audit_anchor last_cp; /* cp_id 0: the chain has no checkpoint */
	uint8_t signing_key_id[32];  /* of the public key in the backup */
	int64_t staged;              /* outbox rows the restored server forwards */
	int64_t records, checkpoints;
	char digest[65];             /* SHA-256 of manifest.json, hex */
};

/* Check the backup in dir with key (see admin_backup_verify); progress
 * lines go to `progress` (may be NULL). 0 with *info filled, or -1 with
 * the first fault in err. */
int bundle_check(const char *dir, const struct store_key *key, FILE *progress,
                 struct bundle_info *info, char *err, size_t errlen);

/* The backups in folder `parent` (complete ones: manifest.hmac present),
 * oldest first, as malloc'ed names in *names (free each and the array);
 * their number, or -1 if parent cannot be read. */
int bundle_list(const char *parent, char ***names);

/* Remove a folder and everything in it. 0 or -1. */
int bundle_rm_rf(const char *path);

/* Print "what: 12.0 / 48.0 MiB (25%)" for a copy in progress, at most
 * once a second unless done, and hold the copy to max_mb_s (store_copy_cb's
 * shape; arg: a struct bundle_progress). */
struct bundle_progress {
	const char *verb; /* "backup", "restore" */
	int max_mb_s;     /* 0: no limit */
	int64_t last_ms;
	int64_t start_ms; /* of this copy; 0 before its first step */
};
struct store_copy_progress;
void bundle_progress_cb(const struct store_copy_progress *p, void *arg);

#endif
