/*
 * Reading a test server's databases directly (harness.h, "databases"):
 * opened as store/store.c opens them — raw 256-bit key, 4096-byte pages —
 * with the keys of the key folder, unwrapped under the test KEK by the
 * server's own keys module (renkei_keys).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "harness.h"
#include "keys/keys.h"
#include "util/text.h"

/* KEYS/file unwrapped with the test KEK (checked against data_dir). */
static int
key_hex_in(const char *keys, const char *data, const char *file, char hex[65])
{
	struct keys_kek kek = {.source = "the test KEK"};
	char path[600], err[1400], name[32];
	uint8_t raw[KEYS_LEN];
	size_t n = strcspn(file, ".");
	int rc;

	if (rk_hex_decode(h_kek_hex(), 64, kek.bytes, KEYS_LEN) != 0)
		return -1;
	snprintf(name, sizeof(name), "%.*s", (int)n, file);
	snprintf(path, sizeof(path), "%s/%s", keys, file);
	rc = keys_unwrap_file(path, name, data, &kek, raw, err, sizeof(err));
	keys_kek_wipe(&kek);
	if (rc != 0) {
		fprintf(stderr, "harness: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < KEYS_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int
h_key_hex(const struct h_server *s, const char *file, char hex[65])
{
	return key_hex_in(s->keys, s->dir, file, hex);
}

/* Key the connection with the key in KEYS/NAME. */
static int
key_with(sqlite3 *db, const char *keys, const char *data, const char *keyname,
         const char *schema, const char *attach_path)
{
	char sql[700], key[65];
	int rc;

	if (key_hex_in(keys, data, keyname, key) != 0)
		return -1;
	if (attach_path != NULL)
		snprintf(sql, sizeof(sql), "ATTACH DATABASE '%s' AS %s KEY \"x'%s'\"",
		         attach_path, schema, key);
	else
		snprintf(sql, sizeof(sql),
		         "PRAGMA key = \"x'%s'\"; PRAGMA cipher_page_size = 4096;",
		         key);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	OPENSSL_cleanse(sql, sizeof(sql));
	OPENSSL_cleanse(key, sizeof(key));
	return rc == SQLITE_OK ? 0 : -1;
}

sqlite3 *
h_db_open(const struct h_server *s)
{
	char care[512], audit[512];
	sqlite3 *db = NULL;

	snprintf(care, sizeof(care), "%s/care.db", s->dir);
	snprintf(audit, sizeof(audit), "%s/audit.db", s->dir);
	if (sqlite3_open_v2(care, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    key_with(db, s->keys, s->dir, "care.key", "main", NULL) != 0 ||
	    sqlite3_exec(db, "PRAGMA cipher_default_page_size = 4096", NULL, NULL,
	                 NULL) != SQLITE_OK ||
	    key_with(db, s->keys, s->dir, "audit.key", "audit", audit) != 0 ||
	    sqlite3_exec(db, "SELECT count(*) FROM sqlite_master; SELECT count(*)"
	                     " FROM audit.sqlite_master",
	                 NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "harness: cannot open %s: %s\n", care,
		        db != NULL ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 10000);
	return db;
}

sqlite3 *
h_db_open_care(const char *dir)
{
	char care[512], keys[512];
	sqlite3 *db = NULL;

	snprintf(care, sizeof(care), "%s/care.db", dir);
	snprintf(keys, sizeof(keys), "%s-keys", dir);
	if (sqlite3_open_v2(care, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    key_with(db, keys, dir, "care.key", "main", NULL) != 0 ||
	    sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL,
	                 NULL) != SQLITE_OK) {
		fprintf(stderr, "harness: cannot open %s: %s\n", care,
		        db != NULL ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

int64_t
h_db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "harness: %s: %s\n", sql, sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

int
h_db_integrity_ok(sqlite3 *db, const char *schema)
{
	char sql[64];
	sqlite3_stmt *q = NULL;
	int ok = 0;

	snprintf(sql, sizeof(sql), "PRAGMA %s.integrity_check", schema);
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(q) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(q, 0);
		ok = t != NULL && strcmp(t, "ok") == 0;
		if (!ok)
			fprintf(stderr, "harness: %s.integrity_check: %s\n", schema,
			        t != NULL ? t : "(null)");
	}
	sqlite3_finalize(q);
	return ok;
}

/* An ok record of a change to a post must name the post stored under
 * its id: its author and its patient. */
int64_t
h_db_false_post_records(sqlite3 *db)
{
	return h_db_int(
	    db, "SELECT count(*) FROM audit.records r"
	        " WHERE r.action IN ('post.create', 'post.amend', 'post.retract')"
	        " AND r.outcome = 0 AND NOT EXISTS (SELECT 1 FROM posts p"
	        " JOIN patients pt ON pt.id = p.patient_id"
	        " WHERE p.id = CAST(r.object AS INTEGER)"
	        " AND p.author_id = r.actor_user_id AND pt.code = r.patient)");
}
