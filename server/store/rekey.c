/*
 * One database file on its own: does a key open it, and replacing its
 * key (PRAGMA rekey) for the offline `renkei-server rekey`.
 *
 * Why the rekey runs in rollback-journal mode and not in WAL mode, as
 * the server does: SQLCipher's PRAGMA rekey rewrites every page in one
 * write transaction. In rollback-journal mode the journal keeps each
 * page as it was, encrypted under the OLD key (SQLCipher encrypts
 * journal pages with the read key), and the journal is what a crash
 * leaves behind: the next connection to open the file, whatever key it
 * holds, plays the journal back before it reads a page, so a rekey cut
 * short leaves exactly the old database; one that committed leaves the
 * new one. Nothing in between exists on disk. The file is switched back
 * to WAL once the rekey has committed (and the server sets WAL at every
 * open anyway).
 */
#include "store/store.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/err.h"

static void
key_pragma(char *out, size_t cap, const char *pragma,
           const struct store_key *k)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t n = (size_t)snprintf(out, cap, "PRAGMA %s = \"x'", pragma);

	for (int i = 0; i < 32 && n + 2 < cap; i++) {
		out[n++] = digits[k->bytes[i] >> 4];
		out[n++] = digits[k->bytes[i] & 15];
	}
	snprintf(out + n, cap - n, "'\"");
}

/* Open path keyed with k, as the store opens it (raw key, 4 KiB pages). */
static int
open_file(const char *path, const struct store_key *k, sqlite3 **out)
{
	char sql[120];
	sqlite3 *db = NULL;
	int rc;

	*out = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	key_pragma(sql, sizeof(sql), "key", k);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	OPENSSL_cleanse(sql, sizeof(sql));
	if (rc != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA cipher_page_size = 4096", NULL, NULL, NULL) !=
	        SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 10000);
	*out = db;
	return 0;
}

/* The first read decrypts page 1 (after any hot journal was played
 * back): SQLITE_NOTADB means "not this key". */
static int
probe(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1,
	                            &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_NOTADB ? 0 : -1;
}

int
store_file_opens(const char *path, const struct store_key *key, char *err,
                 size_t errlen)
{
	sqlite3 *db;
	int r;

	if (open_file(path, key, &db) != 0) {
		snprintf(err, errlen, "cannot open %s", path);
		return -1;
	}
	r = probe(db);
	if (r < 0)
		snprintf(err, errlen, "cannot read %s: %s", path, sqlite3_errmsg(db));
	sqlite3_close(db);
	return r;
}

static int
exec(sqlite3 *db, const char *sql, const char *path, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "%s: %s: %s", path, sql, msg ? msg : "?");
	sqlite3_free(msg);
	return -1;
}

/* PRAGMA journal_mode answers the mode it is in: it must be `want`. */
static int
journal_mode(sqlite3 *db, const char *want, const char *path, char *err,
             size_t errlen)
{
	char sql[48];
	sqlite3_stmt *st = NULL;
	int ok;

	snprintf(sql, sizeof(sql), "PRAGMA journal_mode = %s", want);
	ok = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	     sqlite3_step(st) == SQLITE_ROW &&
	     strcmp((const char *)sqlite3_column_text(st, 0), want) == 0;
	sqlite3_finalize(st);
	if (!ok)
		snprintf(err, errlen,
		         "%s: cannot switch to journal_mode %s (is another program "
		         "using it?): %s",
		         path, want, sqlite3_errmsg(db));
	return ok ? 0 : -1;
}

int
store_file_rekey(const char *path, const struct store_key *old,
                 const struct store_key *next, char *err, size_t errlen)
{
	char sql[120];
	sqlite3 *db;
	int rc = -1, r;

	if (open_file(path, old, &db) != 0) {
		snprintf(err, errlen, "cannot open %s", path);
		return -1;
	}
	if ((r = probe(db)) != 1) {
		snprintf(err, errlen, "%s: %s", path,
		         r == 0 ? "the current key does not open it"
		                : sqlite3_errmsg(db));
		goto out;
	}
	/* Leaving WAL checkpoints the log into the file and removes it, so
	 * every page is in the file, under the old key, before the rekey. */
	if (exec(db, "PRAGMA synchronous = FULL", path, err, errlen) != 0 ||
	    journal_mode(db, "delete", path, err, errlen) != 0)
		goto out;
	key_pragma(sql, sizeof(sql), "rekey", next);
	r = sqlite3_exec(db, sql, NULL, NULL, NULL);
	OPENSSL_cleanse(sql, sizeof(sql));
	if (r != SQLITE_OK) {
		snprintf(err, errlen, "%s: PRAGMA rekey failed: %s", path,
		         sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_close(db);
	db = NULL;
	/* SQLCipher 3's PRAGMA rekey does not report a failed rekey: what
	 * opens the file says whether it took. */
	if ((r = store_file_opens(path, next, err, errlen)) != 1) {
		if (r == 0)
			snprintf(err, errlen, "%s: PRAGMA rekey did not take (the new "
			                      "key does not open it)",
			         path);
		return -1;
	}
	/* From here the file is under the new key, committed. */
	rc = 0;
	if (open_file(path, next, &db) != 0 ||
	    journal_mode(db, "wal", path, err, errlen) != 0)
		rc = 1; /* harmless: the server sets WAL at open */
out:
	sqlite3_close(db);
	return rc;
}

int
store_file_integrity(const char *path, const struct store_key *key, char *err,
                     size_t errlen)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	int ok;

	if (open_file(path, key, &db) != 0) {
		snprintf(err, errlen, "cannot open %s", path);
		return -1;
	}
	ok = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) ==
	         SQLITE_OK &&
	     sqlite3_step(st) == SQLITE_ROW &&
	     strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	if (!ok)
		snprintf(err, errlen, "%s: integrity_check: %s", path,
		         st && sqlite3_column_text(st, 0)
		             ? (const char *)sqlite3_column_text(st, 0)
		             : sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok ? 0 : -1;
}
