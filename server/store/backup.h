/*
 * store/backup — a copy of one database, page by page, into a new file
 * under another key (SQLite's online backup API), and the check of a
 * database's pages.
 *
 * SQLCipher 3.4 copies between two databases keyed differently: the
 * backup reads each page through the source's codec (decrypted) and
 * writes it through the destination's (encrypted under its own key),
 * given the same page size and reserve (both 4 KiB pages and SQLCipher's
 * own HMAC here). It refuses only a copy between an encrypted and a
 * plain database.
 *
 * Consistency. The copy reads the source inside a read transaction: the
 * caller's own if one is open on the source connection (then several
 * copies see one moment, and the server's writer carries on meanwhile,
 * as WAL lets it), else one of its own for the whole copy. Either way
 * the copy never restarts, however much is written meanwhile.
 *
 * Thread rules: the caller's connections, on the caller's thread; no
 * globals.
 */
#ifndef RK_STORE_BACKUP_H
#define RK_STORE_BACKUP_H

#include <stdint.h>

#include "store/store.h"

/* How far a copy has come, for the caller to show. */
struct store_copy_progress {
	const char *what;     /* the caller's name for it */
	int64_t pages_done, pages_total;
	int64_t page_size;
};

typedef void (*store_copy_cb)(const struct store_copy_progress *p, void *arg);

/* Copy schema `schema` of connection src ("main", "audit") into a new
 * file dst_path (it must not exist), keyed with dst_key, 4 KiB pages,
 * `pages_per_step` pages at a time (<= 0: 256), calling cb (may be NULL)
 * after every step. The copy ends in rollback-journal mode: one file
 * that holds everything (no -wal beside it), flushed to disk with
 * fsync. On failure the partial file is removed. RK_OK, or an rk_err
 * with a reason in err. */
int store_copy(struct store_conn *src, const char *schema,
               const char *dst_path, const struct store_key *dst_key,
               int pages_per_step, const char *what, store_copy_cb cb,
               void *cb_arg, char *err, size_t errlen);

/* PRAGMA schema.integrity_check: RK_OK if it says "ok", else
 * RK_ERR_STORE with its first complaint in why. */
int store_integrity(struct store_conn *sc, const char *schema, char *why,
                    size_t whylen);

/* fsync a file (or, with a folder's path, the folder: a rename or a new
 * file in it becomes durable). 0, or -1 with errno set. */
int store_fsync_path(const char *path);

#endif
