/* Unit tests: store/backup.h — a database copied page by page under
 * another key, while it is being written, holds exactly the moment of the
 * copy's read transaction; it opens with its own key only, is one file,
 * and passes integrity_check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit_store.h"

#include "store/backup.h"
#include "store/store.h"
#include "util/err.h"
#include "util/text.h"

struct fx {
	char dir[64];
	char care[96], audit[96];
	struct store_config cfg;
	struct store_conn *w; /* a writer, as the server's */
	struct store_key copy_key;
	long writes_during;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	unit_tmpdir(f->dir, "backup");
	unit_store_config(&f->cfg, f->dir, f->care, f->audit);
	rk_random(f->copy_key.bytes, 32);
	assert_int_equal(store_conn_open(&f->w, &f->cfg, 0, err, sizeof(err)), RK_OK);
	assert_int_equal(store_exec(f->w, "BEGIN"), RK_OK);
	/* Enough pages (~2.5 MiB) for many steps of 16 pages. */
	for (int i = 0; i < 2000; i++)
		assert_int_equal(store_exec(f->w, "INSERT INTO orgs(code, name) VALUES"
		                                  " (hex(randomblob(16)),"
		                                  " hex(randomblob(600)))"),
		                 RK_OK);
	assert_int_equal(store_exec(f->w, "COMMIT"), RK_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	store_conn_close(f->w);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

static int64_t
one_int(struct store_conn *sc, const char *sql)
{
	sqlite3_stmt *q = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(store_conn_db(sc), sql, -1, &q, NULL),
	                 SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* After every step the server's writer commits more. */
static void
write_meanwhile(const struct store_copy_progress *p, void *arg)
{
	struct fx *f = arg;
	(void)p;
	assert_int_equal(store_exec(f->w, "INSERT INTO orgs(code, name) VALUES"
	                                  " (hex(randomblob(16)), 'meanwhile')"),
	                 RK_OK);
	f->writes_during++;
}

static void
test_copy_holds_the_moment_of_its_snapshot(void **state)
{
	struct fx *f = *state;
	struct store_conn *src, *copy;
	char path[128], wal[140], err[256];
	struct store_key wrong;
	struct stat st;
	int64_t at_snapshot;

	assert_int_equal(store_conn_open(&src, &f->cfg, 1, err, sizeof(err)), RK_OK);
	assert_int_equal(store_exec(src, "BEGIN"), RK_OK);
	at_snapshot = one_int(src, "SELECT count(*) FROM main.orgs");
	assert_int_equal(at_snapshot, 2000);

	snprintf(path, sizeof(path), "%s/copy.db", f->dir);
	assert_int_equal(store_copy(src, "main", path, &f->copy_key, 16, "care.db",
	                            write_meanwhile, f, err, sizeof(err)),
	                 RK_OK);
	assert_true(f->writes_during > 10);
	/* The same copy again: never over an existing file. */
	assert_int_equal(store_copy(src, "main", path, &f->copy_key, 16, "care.db",
	                            NULL, NULL, err, sizeof(err)),
	                 RK_ERR_EXISTS);
	assert_int_equal(store_exec(src, "COMMIT"), RK_OK);
	store_conn_close(src);

	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_not_equal(stat(wal, &st), 0); /* one file */
	assert_int_equal(store_conn_open_one(&copy, path, &f->copy_key, 1, err,
	                                     sizeof(err)),
	                 RK_OK);
	assert_int_equal(one_int(copy, "SELECT count(*) FROM orgs"), at_snapshot);
	assert_int_equal(store_integrity(copy, "main", err, sizeof(err)), RK_OK);
	store_conn_close(copy);
	/* ... and with no other key: neither the live one nor a random one. */
	assert_int_equal(store_conn_open_one(&copy, path, &f->cfg.care_key, 1,
	                                     err, sizeof(err)),
	                 RK_ERR_CONFIG);
	rk_random(wrong.bytes, 32);
	assert_int_equal(store_conn_open_one(&copy, path, &wrong, 1, err,
	                                     sizeof(err)),
	                 RK_ERR_CONFIG);
	/* The live database went on meanwhile. */
	assert_int_equal(one_int(f->w, "SELECT count(*) FROM orgs"),
	                 2000 + f->writes_during);
}

/* The attached audit database copies the same way, and the copy of it
 * opens on its own. */
static void
test_copy_of_the_attached_schema(void **state)
{
	struct fx *f = *state;
	struct store_conn *src, *copy;
	char path[128], err[256];

	assert_int_equal(store_exec(f->w, "INSERT INTO audit.meta VALUES"
	                                  " ('probe', 42)"),
	                 RK_OK);
	assert_int_equal(store_conn_open(&src, &f->cfg, 1, err, sizeof(err)), RK_OK);
	snprintf(path, sizeof(path), "%s/audit-copy.db", f->dir);
	assert_int_equal(store_copy(src, "audit", path, &f->copy_key, 0, "audit.db",
	                            NULL, NULL, err, sizeof(err)),
	                 RK_OK);
	store_conn_close(src);
	assert_int_equal(store_conn_open_one(&copy, path, &f->copy_key, 1, err,
	                                     sizeof(err)),
	                 RK_OK);
	assert_int_equal(one_int(copy, "SELECT value FROM meta WHERE name = 'probe'"),
	                 42);
	assert_int_equal(one_int(copy, "PRAGMA user_version"),
	                 one_int(f->w, "PRAGMA audit.user_version"));
	store_conn_close(copy);
}

/* A half-finished restore (care.db.restoring beside care.db) stops every
 * open of the folder. */
static void
test_unfinished_restore_refuses_to_open(void **state)
{
	struct fx *f = *state;
	struct store_conn *sc;
	char marker[128], err[256];
	FILE *m;

	snprintf(marker, sizeof(marker), "%s.restoring", f->care);
	m = fopen(marker, "w");
	assert_non_null(m);
	fclose(m);
	assert_int_equal(store_conn_open(&sc, &f->cfg, 1, err, sizeof(err)),
	                 RK_ERR_CONFIG);
	assert_non_null(strstr(err, "restore"));
	unlink(marker);
	assert_int_equal(store_conn_open(&sc, &f->cfg, 1, err, sizeof(err)), RK_OK);
	store_conn_close(sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_holds_the_moment_of_its_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_of_the_attached_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unfinished_restore_refuses_to_open, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
