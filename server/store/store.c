/*
 * The writer thread and group commit.
 *
 * Every write op waits in `wq`. The writer takes all of them at once (up
 * to max_batch) — it never sleeps to let a batch fill, so a lone write is
 * committed at once and a burst shares one fsync. Inside the batch each op
 * runs in its own SAVEPOINT, so one op's failure (a constraint, a denied
 * access) rolls back only that op. If COMMIT itself fails, every op of the
 * batch is told RK_ERR_STORE: none of them is reported done.
 *
 * Completions go to `cq` in the order the ops ran, which for write ops is
 * commit order; the owner drains `cq` on its own thread.
 */
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <openssl/crypto.h>

#include "store/schema.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

#define STMT_CACHE 96
#define HASHER_NICE 10 /* password hashers' CPU priority (nice) */

struct store_conn {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	int ncache;
};

struct opq {
	struct store_op *head, *tail;
	int len;
};

struct store {
	struct store_config cfg;
	pthread_mutex_t mu;
	pthread_cond_t wcond; /* writer: work or closing */
	pthread_cond_t rcond; /* readers: work or closing */
	pthread_cond_t hcond; /* password hashers: work or closing */
	struct opq wq, rq, hq, cq;
	int closing;
	int pending; /* owner's thread only */
	pthread_t writer;
	pthread_t *readers;
	int nreaders;
	pthread_t *hashers;
	int nhashers;
	struct store_conn **hconns;
	struct store_conn *wconn;
	struct store_conn *jconn; /* the journal's own connection */
	bool forward_due;         /* the outbox may hold staged records */
	char *care_dir, *audit_dir; /* where free space is looked at */
	struct store_conn **rconns;
	struct store_stats stats;
};

static void
opq_push(struct opq *q, struct store_op *op)
{
	op->next = NULL;
	if (q->tail)
		q->tail->next = op;
	else
		q->head = op;
	q->tail = op;
	q->len++;
}

static struct store_op *
opq_pop(struct opq *q)
{
	struct store_op *op = q->head;
	if (op) {
		q->head = op->next;
		if (!q->head)
			q->tail = NULL;
		q->len--;
		op->next = NULL;
	}
	return op;
}

/* ------------------------------------------------------------ connections */

sqlite3 *
store_conn_db(struct store_conn *sc)
{
	return sc->db;
}

int
store_exec(struct store_conn *sc, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(sc->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		LOG_E("STORE-EXEC-FAIL", "error=\"%s\"", msg ? msg : "?");
		sqlite3_free(msg);
		return RK_ERR_STORE;
	}
	return RK_OK;
}

sqlite3_stmt *
store_stmt(struct store_conn *sc, const char *sql)
{
	sqlite3_stmt *st = NULL;

	for (int i = 0; i < sc->ncache; i++) {
		if (sc->cache[i].sql == sql) {
			st = sc->cache[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	if (sqlite3_prepare_v2(sc->db, sql, -1, &st, NULL) != SQLITE_OK) {
		LOG_E("STORE-PREPARE-FAIL", "error=\"%s\"", sqlite3_errmsg(sc->db));
		return NULL;
	}
	if (sc->ncache < STMT_CACHE) {
		sc->cache[sc->ncache].sql = sql;
		sc->cache[sc->ncache].st = st;
		sc->ncache++;
	} else {
		/* Cache full: a bug (too many distinct statements). Keep
		 * working, but leak nothing: evict the oldest. */
		sqlite3_finalize(sc->cache[0].st);
		memmove(&sc->cache[0], &sc->cache[1],
		        sizeof(sc->cache[0]) * (STMT_CACHE - 1));
		sc->cache[STMT_CACHE - 1].sql = sql;
		sc->cache[STMT_CACHE - 1].st = st;
	}
	return st;
}

void
store_conn_release(struct store_conn *sc)
{
	for (int i = 0; i < sc->ncache; i++)
		sqlite3_reset(sc->cache[i].st);
}

int
store_step(struct store_conn *sc, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	LOG_E("STORE-STEP-FAIL", "rc=%d error=\"%s\"", rc, sqlite3_errmsg(sc->db));
	return -1;
}

static void
wipe(char *s)
{
	OPENSSL_cleanse(s, strlen(s));
}

static void
key_sql(char *out, size_t outlen, const char *prefix, const struct store_key *k,
        const char *suffix)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t n = (size_t)snprintf(out, outlen, "%s\"x'", prefix);
	for (int i = 0; i < 32 && n + 2 < outlen; i++) {
		out[n++] = digits[k->bytes[i] >> 4];
		out[n++] = digits[k->bytes[i] & 15];
	}
	snprintf(out + n, outlen - n, "'\"%s", suffix);
}

/* PRAGMA foreign_key_check finds no row that breaks a reference. */
static bool
foreign_keys_hold(struct store_conn *sc)
{
	sqlite3_stmt *st;
	bool ok;

	if (sqlite3_prepare_v2(sc->db, "PRAGMA foreign_key_check", -1, &st,
	                       NULL) != SQLITE_OK)
		return false;
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	return ok;
}

static int
migrate(struct store_conn *sc, const char *schema, char *err, size_t errlen)
{
	char sql[64];
	sqlite3_stmt *st;
	int version = 0, count;
	const struct schema_migration *m = schema_migrations(schema, &count);

	snprintf(sql, sizeof(sql), "PRAGMA %s.user_version", schema);
	if (sqlite3_prepare_v2(sc->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > m[count - 1].version) {
		snprintf(err, errlen,
		         "%s database is at schema %d, newer than this server (%d)",
		         schema, version, m[count - 1].version);
		return RK_ERR_CONFIG;
	}
	for (int i = 0; i < count; i++) {
		char *msg = NULL;
		if (m[i].version <= version)
			continue;
		/* Foreign keys can only be switched outside a transaction. */
		if (m[i].rebuild && store_exec(sc, "PRAGMA foreign_keys = OFF") != RK_OK)
			goto fail;
		if (store_exec(sc, "BEGIN IMMEDIATE") != RK_OK)
			goto fail;
		if (sqlite3_exec(sc->db, m[i].sql, NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "%s migration %d failed: %s", schema,
			         m[i].version, msg ? msg : "?");
			sqlite3_free(msg);
			store_exec(sc, "ROLLBACK");
			store_exec(sc, "PRAGMA foreign_keys = ON");
			return RK_ERR_STORE;
		}
		if (m[i].rebuild && !foreign_keys_hold(sc)) {
			snprintf(err, errlen, "%s migration %d: a reference no longer "
			         "holds (PRAGMA foreign_key_check)", schema, m[i].version);
			store_exec(sc, "ROLLBACK");
			store_exec(sc, "PRAGMA foreign_keys = ON");
			return RK_ERR_STORE;
		}
		snprintf(sql, sizeof(sql), "PRAGMA %s.user_version = %d", schema,
		         m[i].version);
		if (store_exec(sc, sql) != RK_OK || store_exec(sc, "COMMIT") != RK_OK) {
			store_exec(sc, "ROLLBACK");
			store_exec(sc, "PRAGMA foreign_keys = ON");
			goto fail;
		}
		if (m[i].rebuild && store_exec(sc, "PRAGMA foreign_keys = ON") != RK_OK)
			goto fail;
		LOG_I("STORE-MIGRATED", "schema=%s version=%d", schema, m[i].version);
	}
	return RK_OK;
fail:
	snprintf(err, errlen, "%s migration failed: %s", schema,
	         sqlite3_errmsg(sc->db));
	return RK_ERR_STORE;
}

/* Every page read from disk is decrypted and its MAC checked, so the
 * page cache is worth more here than with plain SQLite: size it for the
 * working set (the boards' index pages above all). */
static int
set_cache(struct store_conn *sc, int mb)
{
	char sql[80];

	if (mb <= 0)
		mb = 64;
	snprintf(sql, sizeof(sql), "PRAGMA main.cache_size = -%d", mb * 1024);
	if (store_exec(sc, sql) != RK_OK)
		return RK_ERR_STORE;
	snprintf(sql, sizeof(sql), "PRAGMA audit.cache_size = -%d", mb * 1024);
	return store_exec(sc, sql);
}

/* SQLCipher settings that must be in force before the first page is read.
 * cipher_default_page_size applies to the ATTACHed audit database too. */
static int
open_keyed(struct store_conn *sc, const struct store_config *cfg, int readonly,
           char *err, size_t errlen)
{
	char sql[160];
	sqlite3_stmt *st;
	int flags = (readonly ? SQLITE_OPEN_READONLY
	                      : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
	            SQLITE_OPEN_NOMUTEX;
	int rc;

	if (sqlite3_open_v2(cfg->care_path, &sc->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", cfg->care_path,
		         sc->db ? sqlite3_errmsg(sc->db) : "out of memory");
		return RK_ERR_STORE;
	}
	key_sql(sql, sizeof(sql), "PRAGMA key = ", &cfg->care_key, "");
	rc = sqlite3_exec(sc->db, sql, NULL, NULL, NULL);
	wipe(sql);
	if (rc != SQLITE_OK ||
	    store_exec(sc, "PRAGMA cipher_page_size = 4096") != RK_OK ||
	    store_exec(sc, "PRAGMA cipher_default_page_size = 4096") != RK_OK)
		goto fail;

	/* The first read proves the key: a wrong key reads as "not a
	 * database". */
	if (sqlite3_prepare_v2(sc->db, "SELECT count(*) FROM sqlite_master", -1,
	                       &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		snprintf(err, errlen,
		         "%s: the key does not open this database (wrong key, or "
		         "not a renkei database)",
		         cfg->care_path);
		return RK_ERR_CONFIG;
	}
	sqlite3_finalize(st);

	if (!readonly &&
	    (store_exec(sc, "PRAGMA journal_mode = WAL") != RK_OK))
		goto fail;

	/* ATTACH with a bound file name; the key goes in the SQL text since
	 * SQLCipher 3 takes it there. The text is wiped right after. */
	{
		char asql[200];
		key_sql(asql, sizeof(asql), "ATTACH DATABASE ?1 AS audit KEY ",
		        &cfg->audit_key, "");
		rc = sqlite3_prepare_v2(sc->db, asql, -1, &st, NULL);
		wipe(asql);
		if (rc != SQLITE_OK)
			goto fail;
		sqlite3_bind_text(st, 1, cfg->audit_path, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	if (sqlite3_prepare_v2(sc->db, "SELECT count(*) FROM audit.sqlite_master",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		snprintf(err, errlen, "%s: the key does not open this database",
		         cfg->audit_path);
		return RK_ERR_CONFIG;
	}
	sqlite3_finalize(st);
	if (!readonly && store_exec(sc, "PRAGMA audit.journal_mode = WAL") != RK_OK)
		goto fail;
	if (store_exec(sc, "PRAGMA main.synchronous = FULL") != RK_OK ||
	    store_exec(sc, "PRAGMA audit.synchronous = FULL") != RK_OK ||
	    store_exec(sc, "PRAGMA foreign_keys = ON") != RK_OK ||
	    /* Statement journals (one per savepoint, so one per op) and
	     * temporary tables stay in memory: no temporary file, and no
	     * page encryption for a journal that never outlives the
	     * transaction. */
	    store_exec(sc, "PRAGMA temp_store = MEMORY") != RK_OK ||
	    set_cache(sc, cfg->cache_mb) != RK_OK)
		goto fail;
	sqlite3_busy_timeout(sc->db, 10000);
	return RK_OK;
fail:
	snprintf(err, errlen, "cannot set up %s: %s", cfg->care_path,
	         sqlite3_errmsg(sc->db));
	return RK_ERR_STORE;
}

/* A restore writes care.db.restoring and renames it to care.db last
 * (admin/restore.c): while that file is there, the folder is half
 * restored, and nothing may open it. */
static int
restore_unfinished(const char *care_path, char *err, size_t errlen)
{
	char marker[4200];
	struct stat st;

	snprintf(marker, sizeof(marker), "%s.restoring", care_path);
	if (stat(marker, &st) != 0)
		return 0;
	snprintf(err, errlen,
	         "a restore into this folder did not finish (%s is there): "
	         "remove the folder's databases and run restore again",
	         marker);
	return 1;
}

int
store_conn_open(struct store_conn **out, const struct store_config *cfg,
                int readonly, char *err, size_t errlen)
{
	struct store_conn *sc;
	int rc;

	if (restore_unfinished(cfg->care_path, err, errlen))
		return RK_ERR_CONFIG;
	sc = rk_calloc(1, sizeof(*sc));
	rc = open_keyed(sc, cfg, readonly, err, errlen);

	if (rc == RK_OK && !readonly) {
		rc = migrate(sc, "main", err, errlen);
		if (rc == RK_OK)
			rc = migrate(sc, "audit", err, errlen);
	}
	if (rc != RK_OK) {
		store_conn_close(sc);
		return rc;
	}
	*out = sc;
	return RK_OK;
}

int
store_conn_open_one(struct store_conn **out, const char *path,
                    const struct store_key *key, int readonly, char *err,
                    size_t errlen)
{
	struct store_conn *sc = rk_calloc(1, sizeof(*sc));
	int flags = (readonly ? SQLITE_OPEN_READONLY
	                      : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
	            SQLITE_OPEN_NOMUTEX;
	char sql[160];
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_open_v2(path, &sc->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		         sc->db ? sqlite3_errmsg(sc->db) : "out of memory");
		store_conn_close(sc);
		return RK_ERR_STORE;
	}
	key_sql(sql, sizeof(sql), "PRAGMA key = ", key, "");
	rc = sqlite3_exec(sc->db, sql, NULL, NULL, NULL);
	wipe(sql);
	if (rc != SQLITE_OK ||
	    store_exec(sc, "PRAGMA cipher_page_size = 4096") != RK_OK) {
		snprintf(err, errlen, "cannot key %s: %s", path,
		         sqlite3_errmsg(sc->db));
		store_conn_close(sc);
		return RK_ERR_STORE;
	}
	if (sqlite3_prepare_v2(sc->db, "SELECT count(*) FROM sqlite_master", -1,
	                       &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		snprintf(err, errlen,
		         "%s: the key does not open this database (wrong key, or "
		         "not a renkei database)",
		         path);
		store_conn_close(sc);
		return RK_ERR_CONFIG;
	}
	sqlite3_finalize(st);
	if (store_exec(sc, "PRAGMA synchronous = FULL") != RK_OK ||
	    store_exec(sc, "PRAGMA temp_store = MEMORY") != RK_OK) {
		snprintf(err, errlen, "cannot set up %s: %s", path,
		         sqlite3_errmsg(sc->db));
		store_conn_close(sc);
		return RK_ERR_STORE;
	}
	sqlite3_busy_timeout(sc->db, 10000);
	*out = sc;
	return RK_OK;
}

void
store_conn_close(struct store_conn *sc)
{
	if (sc == NULL)
		return;
	for (int i = 0; i < sc->ncache; i++)
		sqlite3_finalize(sc->cache[i].st);
	sqlite3_close(sc->db);
	free(sc);
}

/* ----------------------------------------------------------------- threads */

static void
complete_locked(struct store *s, struct store_op *op, int rc)
{
	op->rc = rc;
	opq_push(&s->cq, op);
}

/* What a failed statement on db means for the ops it fails: no room
 * (RK_ERR_EXHAUSTED), or any other database failure (RK_ERR_STORE). */
static int
fail_class(sqlite3 *db)
{
	int se = sqlite3_system_errno(db);

	if ((sqlite3_extended_errcode(db) & 0xff) == SQLITE_FULL ||
	    se == ENOSPC || se == EDQUOT || se == EFBIG)
		return RK_ERR_EXHAUSTED;
	return RK_ERR_STORE;
}

/* One journal step on the journal connection, in a transaction of its
 * own (deferred: it writes only audit.* tables, so it takes only
 * audit.db's write lock, never care.db's). forward, or append `batch`
 * with batch_rc. RK_OK, RK_ERR_EXHAUSTED or RK_ERR_STORE. */
static int
journal_txn(struct store *s, struct store_op *batch, int batch_rc,
            bool forward)
{
	const struct store_journal *j = s->cfg.journal;
	struct store_conn *jc = s->jconn;
	int rc = store_exec(jc, "BEGIN");

	if (rc == RK_OK)
		rc = forward ? j->forward(jc, s->cfg.journal_arg)
		             : j->append(jc, batch, batch_rc, s->cfg.journal_arg);
	if (rc != RK_OK)
		rc = fail_class(jc->db);
	store_conn_release(jc);
	if (rc == RK_OK && store_exec(jc, "COMMIT") != RK_OK)
		rc = fail_class(jc->db);
	if (rc != RK_OK && !sqlite3_get_autocommit(jc->db))
		store_exec(jc, "ROLLBACK");
	if (j->settled != NULL)
		j->settled(rc == RK_OK, s->cfg.journal_arg);
	if (rc == RK_OK)
		return RK_OK;
	LOG_E("STORE-JOURNAL-FAIL", "step=%s full=%d error=\"%s\"",
	      forward ? "forward" : "append", rc == RK_ERR_EXHAUSTED,
	      sqlite3_errmsg(jc->db));
	return rc;
}

/* Move whatever is staged in the outbox into the trail. */
static int
forward_staged(struct store *s)
{
	int rc = journal_txn(s, NULL, RK_OK, true);

	s->forward_due = rc != RK_OK;
	return rc;
}

static int64_t
free_mb(const char *dir)
{
	struct statvfs v;

	if (statvfs(dir, &v) != 0)
		return INT64_MAX; /* cannot tell: let SQLite find out */
	return (int64_t)((uint64_t)v.f_bavail * v.f_frsize / (1024 * 1024));
}

/* Is either database's filesystem into its reserve? */
static bool
in_reserve(struct store *s)
{
	int64_t reserve = s->cfg.disk_reserve_mb;

	if (reserve <= 0)
		return false;
	return free_mb(s->care_dir) < reserve || free_mb(s->audit_dir) < reserve;
}

/* Run one op. In the reserve every op gets a savepoint, and one that
 * changed anything is rolled back: RK_ERR_EXHAUSTED. *kept is set when
 * the op changed care.db and its changes stay. Returns false if the
 * batch cannot go on. */
static bool
run_op(struct store *s, struct store_op *op, bool reserve, bool *kept)
{
	struct store_conn *sc = s->wconn;
	int before = sqlite3_total_changes(sc->db);
	bool changed;

	op->undone = false;
	if (op->lean && !reserve) {
		op->rc = op->run(sc, op);
		changed = sqlite3_total_changes(sc->db) != before;
		if (op->rc != RK_OK && changed) {
			LOG_E("STORE-LEAN-OP-DIRTY", "rc=%d", op->rc);
			return false; /* never commit half an op */
		}
		*kept |= changed;
		return true;
	}
	if (store_exec(sc, "SAVEPOINT op") != RK_OK)
		return false;
	op->rc = op->run(sc, op);
	changed = sqlite3_total_changes(sc->db) != before;
	if (op->rc == RK_OK && reserve && changed) {
		op->rc = RK_ERR_EXHAUSTED;
		op->undone = true;
		s->stats.refused_disk++;
	}
	if (op->rc != RK_OK && store_exec(sc, "ROLLBACK TO op") != RK_OK)
		return false;
	*kept |= op->rc == RK_OK && changed;
	return store_exec(sc, "RELEASE op") == RK_OK;
}

/* Run a batch and commit it (see store.h for where its journal goes).
 * Returns RK_OK, or what every op of the batch is to be told (nothing of
 * it was done): RK_ERR_EXHAUSTED when storage is full, else
 * RK_ERR_STORE. */
static int
run_batch(struct store *s, struct store_op *batch)
{
	const struct store_journal *j = s->cfg.journal;
	struct store_conn *sc = s->wconn;
	bool reserve = in_reserve(s), changed = false, appended = false;
	int rc = RK_OK;

	/* Records reach the trail in commit order, and nothing more is done
	 * while what is staged cannot be moved into it (fail closed). */
	if (j != NULL && s->forward_due && (rc = forward_staged(s)) != RK_OK) {
		s->stats.journal_failures++;
		return rc;
	}
	/* Deferred, not IMMEDIATE: IMMEDIATE would also take the write lock
	 * of the attached audit.db, which the journal connection needs. The
	 * writer thread is care.db's only writer, so nothing is gained by
	 * locking early. */
	if (store_exec(sc, "BEGIN") != RK_OK)
		return fail_class(sc->db);
	for (struct store_op *op = batch; rc == RK_OK && op; op = op->next)
		if (!run_op(s, op, reserve, &changed))
			rc = fail_class(sc->db);
	store_conn_release(sc);

	if (rc == RK_OK && j != NULL) {
		if (changed) {
			/* The records commit with what they record. */
			if (j->stage(sc, batch, s->cfg.journal_arg) != RK_OK)
				rc = fail_class(sc->db);
		} else {
			/* Nothing to commit but the records: they go first. */
			rc = journal_txn(s, batch, RK_OK, false);
			appended = true;
		}
		if (rc != RK_OK)
			s->stats.journal_failures++;
	}
	if (rc == RK_OK && store_exec(sc, "COMMIT") != RK_OK)
		rc = fail_class(sc->db);
	if (rc != RK_OK) {
		LOG_E("STORE-COMMIT-FAIL", "full=%d error=\"%s\"",
		      rc == RK_ERR_EXHAUSTED, sqlite3_errmsg(sc->db));
		if (!sqlite3_get_autocommit(sc->db))
			store_exec(sc, "ROLLBACK");
		/* Nothing of the batch happened: the trail says it failed
		 * (if the trail itself can still be written). */
		if (j != NULL && !appended)
			journal_txn(s, batch, rc, false);
		return rc;
	}
	/* Committed, records included. Should moving them into the trail
	 * fail, they wait in the outbox (and are moved at the next start if
	 * need be); meanwhile every batch is refused. */
	if (j != NULL && changed && forward_staged(s) != RK_OK)
		LOG_E("STORE-AUDIT-BEHIND", "records wait in care.db's outbox");
	return RK_OK;
}

static int
batch_bucket(int n)
{
	static const int bounds[] = {1, 3, 15, 63, 255, 1023};
	int b = 0;
	while (b < 6 && n > bounds[b])
		b++;
	return b;
}

static void *
writer_main(void *arg)
{
	struct store *s = arg;

	for (;;) {
		struct store_op *batch = NULL, *last = NULL, *op;
		int n = 0, rc;

		pthread_mutex_lock(&s->mu);
		while (s->wq.len == 0 && !s->closing)
			pthread_cond_wait(&s->wcond, &s->mu);
		if (s->wq.len == 0 && s->closing) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		while (n < s->cfg.max_batch && (op = opq_pop(&s->wq)) != NULL) {
			if (last)
				last->next = op;
			else
				batch = op;
			last = op;
			n++;
		}
		pthread_mutex_unlock(&s->mu);

		int64_t t0 = rk_mono_us();
		rc = run_batch(s, batch);
		int64_t dt = rk_mono_us() - t0;

		pthread_mutex_lock(&s->mu);
		if (rc == RK_ERR_EXHAUSTED)
			s->stats.refused_disk += (uint64_t)n;
		for (op = batch; op;) {
			struct store_op *next = op->next;
			complete_locked(s, op, rc == RK_OK ? op->rc : rc);
			op = next;
		}
		if (rc == RK_OK) {
			static const int64_t ms_bounds[] = {1000, 2000, 5000, 10000,
			                                    25000, 50000, 100000};
			int b = 0;
			while (b < 7 && dt > ms_bounds[b])
				b++;
			s->stats.commit_hist[b]++;
			s->stats.commit_us_total += (uint64_t)dt;
			s->stats.batch_hist[batch_bucket(n)]++;
			s->stats.commits++;
			s->stats.ops_committed += (uint64_t)n;
			if ((uint64_t)n > s->stats.batch_max)
				s->stats.batch_max = (uint64_t)n;
		}
		pthread_mutex_unlock(&s->mu);
		s->cfg.wake(s->cfg.wake_arg);
	}
	return NULL;
}

/* A reader thread serves one queue: the readers' (rq) or the password
 * hashers' (hq), so that argon2's long waits never hold up reads. */
struct reader_arg {
	struct store *s;
	struct store_conn *sc;
	struct opq *q;
	pthread_cond_t *cond;
};

static void *
reader_main(void *arg)
{
	struct reader_arg a = *(struct reader_arg *)arg;
	struct store *s = a.s;
	struct store_conn *sc = a.sc;

	free(arg);
	/* Password checks yield the CPU to everything else: on a small
	 * machine a flood of wrong passwords otherwise took a core from the
	 * readers and the service thread (a reader's p99 near 200 ms; with
	 * this, about 35 ms). A login waits a little longer instead. */
	if (a.q == &s->hq &&
	    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), HASHER_NICE) != 0)
		LOG_W("STORE-HASHER-NICE", "errno=%d", errno);
	for (;;) {
		struct store_op *op;
		int rc;

		pthread_mutex_lock(&s->mu);
		while (a.q->len == 0 && !s->closing)
			pthread_cond_wait(a.cond, &s->mu);
		op = opq_pop(a.q);
		pthread_mutex_unlock(&s->mu);
		if (op == NULL)
			break; /* closing and nothing left */

		/* A read op sees one snapshot: wrap it in a read transaction. */
		store_exec(sc, "BEGIN");
		rc = op->run(sc, op);
		store_conn_release(sc);
		store_exec(sc, "COMMIT");

		pthread_mutex_lock(&s->mu);
		complete_locked(s, op, rc);
		pthread_mutex_unlock(&s->mu);
		s->cfg.wake(s->cfg.wake_arg);
	}
	return NULL;
}

/* The folder a database really is in, for statvfs: a symbolic link is
 * followed, as SQLite follows it (its WAL lives beside the target). */
static char *
dir_of(const char *path)
{
	char *real = realpath(path, NULL);
	char *d = rk_strdup(real != NULL ? real : path);
	char *slash = strrchr(d, '/');

	free(real);
	if (slash == NULL) {
		free(d);
		return rk_strdup(".");
	}
	slash[slash == d ? 1 : 0] = '\0';
	return d;
}

/* At open: finish what a crash cut short. Records a batch staged in the
 * outbox, whose forward did not commit, go into the trail now; they
 * belong to ops that did commit. A trail that cannot be written now
 * (full disk) does not stop the start: every batch is refused until it
 * can (forward_due). */
static int
recover_journal(struct store *s, char *err, size_t errlen)
{
	const struct store_journal *j = s->cfg.journal;
	int rc = store_exec(s->wconn, "BEGIN IMMEDIATE");

	if (rc == RK_OK)
		rc = j->reconcile(s->wconn, s->cfg.journal_arg);
	store_conn_release(s->wconn);
	if (rc == RK_OK)
		rc = store_exec(s->wconn, "COMMIT");
	if (rc != RK_OK) {
		if (!sqlite3_get_autocommit(s->wconn->db))
			store_exec(s->wconn, "ROLLBACK");
		snprintf(err, errlen, "cannot check the audit outbox: %s",
		         sqlite3_errmsg(s->wconn->db));
		return RK_ERR_STORE;
	}
	if (forward_staged(s) != RK_OK)
		LOG_E("STORE-AUDIT-BEHIND", "at=open");
	return RK_OK;
}

int
store_open(struct store **out, const struct store_config *cfg, char *err,
           size_t errlen)
{
	struct store *s = rk_calloc(1, sizeof(*s));
	int rc;

	s->cfg = *cfg;
	if (s->cfg.max_batch < 1)
		s->cfg.max_batch = 1;
	if (s->cfg.readers < 1)
		s->cfg.readers = 1;
	if (s->cfg.hashers < 1)
		s->cfg.hashers = 1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->wcond, NULL);
	pthread_cond_init(&s->rcond, NULL);
	pthread_cond_init(&s->hcond, NULL);

	rc = store_conn_open(&s->wconn, cfg, 0, err, errlen);
	if (rc != RK_OK)
		goto fail;
	if (cfg->journal != NULL) {
		rc = store_conn_open(&s->jconn, cfg, 0, err, errlen);
		if (rc != RK_OK)
			goto fail;
		rc = recover_journal(s, err, errlen);
		if (rc != RK_OK)
			goto fail;
	}
	s->care_dir = dir_of(cfg->care_path);
	s->audit_dir = dir_of(cfg->audit_path);
	s->rconns = rk_calloc((size_t)s->cfg.readers, sizeof(*s->rconns));
	s->readers = rk_calloc((size_t)s->cfg.readers, sizeof(*s->readers));
	for (int i = 0; i < s->cfg.readers; i++) {
		rc = store_conn_open(&s->rconns[i], cfg, 1, err, errlen);
		if (rc != RK_OK)
			goto fail;
		store_exec(s->rconns[i], "PRAGMA query_only = 1");
	}
	s->hconns = rk_calloc((size_t)s->cfg.hashers, sizeof(*s->hconns));
	s->hashers = rk_calloc((size_t)s->cfg.hashers, sizeof(*s->hashers));
	for (int i = 0; i < s->cfg.hashers; i++) {
		rc = store_conn_open(&s->hconns[i], cfg, 1, err, errlen);
		if (rc != RK_OK)
			goto fail;
		store_exec(s->hconns[i], "PRAGMA query_only = 1");
	}
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		rc = RK_ERR_INTERNAL;
		goto fail;
	}
	for (int i = 0; i < s->cfg.readers + s->cfg.hashers; i++) {
		struct reader_arg *ra = rk_malloc(sizeof(*ra));
		bool hasher = i >= s->cfg.readers;
		ra->s = s;
		ra->sc = hasher ? s->hconns[i - s->cfg.readers] : s->rconns[i];
		ra->q = hasher ? &s->hq : &s->rq;
		ra->cond = hasher ? &s->hcond : &s->rcond;
		if (pthread_create(hasher ? &s->hashers[s->nhashers]
		                          : &s->readers[s->nreaders],
		                   NULL, reader_main, ra) != 0) {
			free(ra);
			snprintf(err, errlen, "cannot start a reader thread");
			store_close(s, NULL, NULL);
			return RK_ERR_INTERNAL;
		}
		if (hasher)
			s->nhashers++;
		else
			s->nreaders++;
	}
	OPENSSL_cleanse(&s->cfg.care_key, sizeof(s->cfg.care_key));
	OPENSSL_cleanse(&s->cfg.audit_key, sizeof(s->cfg.audit_key));
	*out = s;
	return RK_OK;
fail:
	for (int i = 0; s->rconns && i < s->cfg.readers; i++)
		store_conn_close(s->rconns[i]);
	for (int i = 0; s->hconns && i < s->cfg.hashers; i++)
		store_conn_close(s->hconns[i]);
	free(s->hconns);
	free(s->hashers);
	store_conn_close(s->wconn);
	store_conn_close(s->jconn);
	free(s->rconns);
	free(s->readers);
	free(s->care_dir);
	free(s->audit_dir);
	OPENSSL_cleanse(&s->cfg, sizeof(s->cfg));
	free(s);
	return rc;
}

static int
submit(struct store *s, struct opq *q, pthread_cond_t *cond, struct store_op *op)
{
	bool hash = q == &s->hq;
	int max = hash && s->cfg.hash_queue_max > 0 ? s->cfg.hash_queue_max
	                                            : s->cfg.queue_max;

	pthread_mutex_lock(&s->mu);
	if (s->closing) {
		pthread_mutex_unlock(&s->mu);
		return RK_ERR_UNAVAILABLE;
	}
	if (max > 0 && q->len >= max) {
		if (hash)
			s->stats.refused_hash_full++;
		else
			s->stats.refused_full++;
		pthread_mutex_unlock(&s->mu);
		return RK_ERR_EXHAUSTED;
	}
	opq_push(q, op);
	pthread_cond_signal(cond);
	pthread_mutex_unlock(&s->mu);
	s->pending++;
	return RK_OK;
}

int
store_submit_write(struct store *s, struct store_op *op)
{
	return submit(s, &s->wq, &s->wcond, op);
}

int
store_submit_read(struct store *s, struct store_op *op)
{
	return submit(s, &s->rq, &s->rcond, op);
}

int
store_submit_hash(struct store *s, struct store_op *op)
{
	return submit(s, &s->hq, &s->hcond, op);
}

void
store_complete(struct store *s)
{
	struct opq done;

	pthread_mutex_lock(&s->mu);
	done = s->cq;
	memset(&s->cq, 0, sizeof(s->cq));
	pthread_mutex_unlock(&s->mu);

	struct store_op *op;
	while ((op = opq_pop(&done)) != NULL) {
		s->pending--;
		op->done(op, op->rc);
	}
}

int
store_pending(struct store *s)
{
	return s->pending;
}

void
store_get_stats(struct store *s, struct store_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->stats;
	st->write_queue = s->wq.len;
	pthread_mutex_unlock(&s->mu);
}

void
store_close(struct store *s,
            int (*final_journal)(struct store_conn *jc, void *arg), void *arg)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->closing = 1;
	pthread_cond_broadcast(&s->wcond);
	pthread_cond_broadcast(&s->rcond);
	pthread_cond_broadcast(&s->hcond);
	pthread_mutex_unlock(&s->mu);

	pthread_join(s->writer, NULL);
	for (int i = 0; i < s->nreaders; i++)
		pthread_join(s->readers[i], NULL);
	for (int i = 0; i < s->nhashers; i++)
		pthread_join(s->hashers[i], NULL);
	store_complete(s);
	if (final_journal != NULL && s->jconn != NULL) {
		bool ok = true;
		if (store_exec(s->jconn, "BEGIN") != RK_OK ||
		    final_journal(s->jconn, arg) != RK_OK ||
		    (store_conn_release(s->jconn), store_exec(s->jconn, "COMMIT")) != RK_OK) {
			LOG_E("STORE-JOURNAL-FAIL", "at=close");
			ok = false;
			if (!sqlite3_get_autocommit(store_conn_db(s->jconn)))
				store_exec(s->jconn, "ROLLBACK");
		}
		if (s->cfg.journal != NULL && s->cfg.journal->settled != NULL)
			s->cfg.journal->settled(ok, s->cfg.journal_arg);
	}

	for (int i = 0; i < s->cfg.readers; i++)
		store_conn_close(s->rconns[i]);
	for (int i = 0; i < s->cfg.hashers; i++)
		store_conn_close(s->hconns[i]);
	store_conn_close(s->wconn);
	store_conn_close(s->jconn);
	free(s->rconns);
	free(s->readers);
	free(s->hconns);
	free(s->hashers);
	free(s->care_dir);
	free(s->audit_dir);
	pthread_cond_destroy(&s->wcond);
	pthread_cond_destroy(&s->rcond);
	pthread_cond_destroy(&s->hcond);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
