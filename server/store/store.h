/*
 * store — the encrypted databases and the threads that touch them.
 *
 * Two SQLCipher files: care.db (everything clinical and the accounts) and
 * audit.db (the audit trail), each opened with a raw 256-bit key (no
 * passphrase KDF), 4 KiB pages, WAL, synchronous=FULL, foreign keys on.
 * audit.db is ATTACHed to every connection as schema "audit". Schemas are
 * migrated forward at open, each numbered step in its own transaction.
 *
 * Threads. The lws service thread never touches SQLite. Work reaches the
 * database as a struct store_op:
 *  - write ops go to the one writer thread, which takes every op waiting
 *    (up to store_max_batch), runs each in its own SAVEPOINT inside one
 *    transaction, and commits once (group commit). An op's done() runs
 *    only after that COMMIT returned, i.e. after fsync. Write ops are also
 *    how a reader gets a view that is ordered with respect to commits: a
 *    write op that only reads sees exactly the commits before it, and its
 *    done() runs after theirs and before later ones.
 *  - read ops go to a pool of reader threads with their own read-only
 *    connections (WAL lets them read while the writer writes).
 * Journal (the audit trail): an op may carry journal entries (opaque to
 * the store), written whatever the op's outcome (denials are recorded
 * too: the op's rollback does not touch them). Where they go depends on
 * the batch (docs/audit-commit.md):
 *  - a batch that changed care.db hands them to journal->stage inside its
 *    own care.db transaction (the outbox), so they commit with what they
 *    record or not at all; after that COMMIT, journal->forward moves them
 *    into audit.db on a connection of its own. A forward that a crash cut
 *    short is finished at the next store_open.
 *  - a batch that changed nothing (reads, denials) hands them straight to
 *    journal->append on the journal connection, committed before the
 *    batch's ops are reported done.
 *  - a batch whose COMMIT failed: journal->append with the batch's error,
 *    so the trail shows attempts that did not happen as failed.
 * Fail closed: while anything staged cannot be moved into audit.db, or a
 * direct append fails, no op is reported done; each fails, and nothing of
 * its batch commits.
 *
 * Storage. Before each batch the writer looks at the free space of both
 * databases' filesystems. Below disk_reserve_mb, an op that would change
 * care.db is rolled back and fails with RK_ERR_EXHAUSTED (ops that only
 * read, and their records, still run in the reserve); a COMMIT that finds
 * the disk full fails its batch with RK_ERR_EXHAUSTED too. Either way
 * writes resume by themselves once there is room again.
 *
 * Completed ops are queued in completion order; the owner is woken through
 * the `wake` callback (it calls lws_cancel_service) and runs their done()
 * on its own thread with store_complete().
 *
 * Ownership: a store_op is owned by the caller, who embeds it in its own
 * request struct; the store borrows it from submit until done() runs.
 */
#ifndef RK_STORE_STORE_H
#define RK_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

struct store;
struct store_conn;

struct store_op {
	/* Worker thread. Returns RK_OK or an rk_err; for write ops a
	 * non-zero return rolls back this op's savepoint only. */
	int (*run)(struct store_conn *sc, struct store_op *op);
	/* Owner's thread, after commit. rc is run()'s return, or
	 * RK_ERR_STORE when the batch's commit failed. */
	void (*done)(struct store_op *op, int rc);
	void *journal;         /* the owner's journal entries, or NULL */
	/* The op checks everything before it writes anything, so it needs no
	 * savepoint of its own (SQLCipher encrypts every page a savepoint
	 * journals: per op, that is most of a post's cost). Should it fail
	 * after all with changes made, the whole batch fails, never half an
	 * op. */
	bool lean;
	struct store_op *next; /* the store's */
	int rc;                /* the store's */
	/* The store's: run() went well but the store rolled the op back
	 * (storage reserve), so whatever ids it handed out were never kept. */
	bool undone;
};

/* A database key: 32 raw bytes (unwrapped from the key folder by the
 * caller, keys/keys.h); wiped by whoever holds a copy. */
struct store_key {
	uint8_t bytes[32];
};

struct store_config {
	const char *care_path;
	const char *audit_path;
	struct store_key care_key;
	struct store_key audit_key;
	int readers;
	int hashers;  /* threads for password checks (argon2): 0 = 1 */
	int max_batch;
	int cache_mb; /* page cache per connection and database; 0 = 64 */
	/* The most ops waiting in the write queue, and in the read queue,
	 * before a submit is refused (RK_ERR_EXHAUSTED): a burst waits, a
	 * flood is turned away instead of growing memory. 0 = no limit. */
	int queue_max;
	/* The most password checks waiting for the hashers: a login beyond
	 * it is refused at once (RK_ERR_EXHAUSTED) rather than queued behind
	 * minutes of argon2. 0 = queue_max. */
	int hash_queue_max;
	void (*wake)(void *arg); /* any thread: "completions are waiting" */
	void *wake_arg;
	/* Free space each database's filesystem keeps for records of reads
	 * and for recovery: below it, changes are refused. 0 = none. */
	int disk_reserve_mb;
	const struct store_journal *journal; /* NULL: no journal */
	void *journal_arg;
};

/* Where a batch's journal entries go (see the top of this file). Each
 * runs on the writer thread, in a transaction the store opened, and
 * returns RK_OK or an error (which fails the batch). `batch` is linked by
 * ->next and each op's rc is set. */
struct store_journal {
	/* On the writer's connection, inside the batch's care.db
	 * transaction. */
	int (*stage)(struct store_conn *wc, struct store_op *batch, void *arg);
	/* On the journal connection: move everything staged into audit.db. */
	int (*forward)(struct store_conn *jc, void *arg);
	/* On the journal connection: write the batch's entries directly;
	 * batch_rc != RK_OK means the batch failed, and every record's
	 * outcome is then batch_rc. */
	int (*append)(struct store_conn *jc, struct store_op *batch,
	              int batch_rc, void *arg);
	/* At open, on the writer's connection, before anything is staged:
	 * make sure no staged record can take an id already forwarded. */
	int (*reconcile)(struct store_conn *wc, void *arg);
	/* On the writer thread, after each transaction on the journal
	 * connection (forward, append, the final one of store_close) has
	 * ended: committed, or rolled back. May be NULL. */
	void (*settled)(bool committed, void *arg);
};

/* ---- one database file on its own (rekey.c), for the offline rekey */

/* Does `key` open the file at path? 1 yes, 0 no (another key), -1 it
 * cannot be read (reason in err). A hot journal left by a crash is
 * played back first, whatever the key. */
int store_file_opens(const char *path, const struct store_key *key,
                     char *err, size_t errlen);
/* Replace the file's key (PRAGMA rekey), crash-safe: afterwards the file
 * opens with `next`; if the process dies meanwhile, it opens with
 * exactly one of the two (rekey.c says why). Needs the file to itself
 * (server stopped). 0 done; 1 done, but the file is left in rollback
 * mode (the next open sets WAL); -1 not done (the old key still opens
 * it, unless the reason in err says otherwise). */
int store_file_rekey(const char *path, const struct store_key *old,
                     const struct store_key *next, char *err, size_t errlen);
/* PRAGMA integrity_check with `key`: 0 "ok", -1 with what it said. */
int store_file_integrity(const char *path, const struct store_key *key,
                         char *err, size_t errlen);

/* ---- the data folder's lock (lock.c): held by the server while it runs
 * and by offline commands that need it stopped (`what` names the command
 * for the refusal). Returns the descriptor that holds it, or -1 with a
 * reason naming the holder's pid. Released by store_unlock_data or by
 * the process's death. */
int store_lock_data(const char *data_dir, const char *what, char *err,
                    size_t errlen);
void store_unlock_data(int fd);

/* Open both databases, migrate them, start the threads. The key bytes in
 * cfg are copied; the caller should wipe its own. Returns RK_OK or an
 * rk_err with a reason in err. */
int store_open(struct store **out, const struct store_config *cfg, char *err,
               size_t errlen);

/* Queue an op. Any thread. Returns RK_ERR_UNAVAILABLE once closing,
 * RK_ERR_EXHAUSTED while its queue holds queue_max ops. */
int store_submit_write(struct store *s, struct store_op *op);
int store_submit_read(struct store *s, struct store_op *op);
/* A read op that spends most of its time hashing a password: it runs on
 * the hashers, never on the readers, and the hashers run at a lower CPU
 * priority (nice 10), so that a flood of logins cannot slow down
 * everyone's reads. RK_ERR_EXHAUSTED while hash_queue_max wait. */
int store_submit_hash(struct store *s, struct store_op *op);

/* Run done() of every completed op, in completion order. Owner's thread. */
void store_complete(struct store *s);

/* Ops submitted whose done() has not run yet. Owner's thread. */
int store_pending(struct store *s);

/* Stop accepting ops, let the threads finish (and commit) everything
 * queued, join them, run the remaining done()s, close. NULL is fine.
 * `final_journal` (may be NULL) runs last on the journal connection, in
 * its own committed transaction (e.g. a closing checkpoint). */
void store_close(struct store *s,
                 int (*final_journal)(struct store_conn *jc, void *arg),
                 void *arg);

/* Counters for metrics. */
struct store_stats {
	uint64_t commits, ops_committed, batch_max, journal_failures;
	uint64_t refused_disk;     /* ops refused: storage full or in reserve */
	uint64_t refused_full;     /* submits refused: queue at queue_max */
	uint64_t refused_hash_full; /* ... password checks at hash_queue_max */
	uint64_t commit_us_total;  /* time spent committing */
	uint64_t batch_hist[8];    /* batch sizes: 1, 2-3, 4-15, 16-63, 64-255, 256-1023, 1024+ */
	uint64_t commit_hist[8];   /* commit time: <=1, 2, 5, 10, 25, 50, 100 ms, more */
	int write_queue;
};
void store_get_stats(struct store *s, struct store_stats *st);

/* ---- connections, for ops and for the offline admin commands ---- */

/* Open a connection of its own, migrated (if !readonly), for single-
 * threaded use by admin subcommands. Refused (RK_ERR_CONFIG) while
 * care_path + ".restoring" exists: a restore into the folder did not
 * finish (admin/restore.c). */
int store_conn_open(struct store_conn **out, const struct store_config *cfg,
                    int readonly, char *err, size_t errlen);
void store_conn_close(struct store_conn *sc);
/* Open one database file on a connection of its own, as "main" (no
 * ATTACH, no migration, journal mode left as the file has it), keyed
 * with `key`, 4 KiB pages: for copies of a database (store/backup.h)
 * and for an admin command that writes audit.db alone. A new file is
 * created unless readonly. RK_OK, or an rk_err with a reason in err
 * (RK_ERR_CONFIG: the key does not open it). */
int store_conn_open_one(struct store_conn **out, const char *path,
                        const struct store_key *key, int readonly, char *err,
                        size_t errlen);

sqlite3 *store_conn_db(struct store_conn *sc);

/* A prepared statement for `sql`, cached on this connection and reset,
 * bindings cleared. `sql` must be a string literal (the cache keys on
 * its address). Returns NULL (and logs) if it does not prepare. */
sqlite3_stmt *store_stmt(struct store_conn *sc, const char *sql);

/* Reset every cached statement, so that none holds a read snapshot open.
 * The store does this before each commit; admin code after a command. */
void store_conn_release(struct store_conn *sc);

/* Run SQL with no result rows. Returns RK_OK or RK_ERR_STORE (logged). */
int store_exec(struct store_conn *sc, const char *sql);

/* Wrap a step() result: SQLITE_ROW/SQLITE_DONE pass; else log, return -1. */
int store_step(struct store_conn *sc, sqlite3_stmt *st);

#endif
