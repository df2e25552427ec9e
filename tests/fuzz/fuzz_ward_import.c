/*
 * Fuzz target: the ward file import (server/admin/import.c, ward.c: what
 * `renkei-server import FILE` does), against real encrypted databases.
 *
 * The databases are made once, in a scratch folder in memory, at the
 * newest schema and empty. Each input is parsed as the import parses its
 * file (jansson, duplicate keys refused), then imported inside BEGIN
 * IMMEDIATE exactly as admin_import does, and always rolled back, so that
 * every input starts from the same empty databases (and a duplicate
 * login in one input cannot make the next one fail). Passwords are
 * hashed at the cheapest argon2 cost.
 *
 * Invariants:
 *  - an import that succeeds counts what the file holds (every array
 *    entry, or none when the key is missing or not an array) and left
 *    exactly that many organisations, users and patients in the tables;
 *  - after the rollback nothing of it is left (all or nothing: no part
 *    of the import committed on its own).
 */
#include <string.h>

#include "admin/admin.h"
#include "fuzz.h"
#include "fuzz_store.h"
#include "util/conf.h"
#include "util/err.h"
#include "util/log.h"

static struct conf conf;
static struct store_conn *sc;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char care[128], audit[128];
	struct store_config cfg;
	char err[256];

	(void)argc, (void)argv;
	fuzz_keep_stderr();
	log_threshold = LOG_ERROR;
	conf_init(&conf);
	/* Below OWASP's floor: a test run only (util/conf.h). */
	setenv("RENKEI_ARGON2_TEST_COST", "1", 1);
	CHECK(conf_set(&conf, "argon2_t", "1", err, sizeof(err)) == 0);
	CHECK(conf_set(&conf, "argon2_m_kib", "8", err, sizeof(err)) == 0);
	fuzz_store_config(&cfg, fuzz_scratch("ward"), care, audit);
	if (store_conn_open(&sc, &cfg, 0, err, sizeof(err)) != RK_OK)
		dprintf(fuzz_report_fd, "fuzz_ward_import: %s\n", err);
	CHECK(sc != NULL);
	return 0;
}

static int64_t
count(const char *sql)
{
	sqlite3_stmt *st = store_stmt(sc, sql);
	int64_t n;

	CHECK(st != NULL);
	CHECK(store_step(sc, st) == SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

#define ORGS "SELECT count(*) FROM orgs"
#define USERS "SELECT count(*) FROM users"
#define PATIENTS "SELECT count(*) FROM patients"
#define ANYTHING                                                               \
	"SELECT (SELECT count(*) FROM orgs) + (SELECT count(*) FROM users) + "  \
	"(SELECT count(*) FROM patients) + (SELECT count(*) FROM sheet_members) " \
	"+ (SELECT count(*) FROM posts) + (SELECT count(*) FROM handoffs) + "     \
	"(SELECT count(*) FROM sheet_history)"

static int
entries(json_t *root, const char *key)
{
	return (int)json_array_size(json_object_get(root, key));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct admin_import_counts n;
	json_error_t jerr;
	json_t *root;

	root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return 0;
	CHECK(store_exec(sc, "BEGIN IMMEDIATE") == RK_OK);
	if (admin_import_json(sc, &conf, root, &n) == 0) {
		CHECK(n.orgs == entries(root, "organisations"));
		CHECK(n.users == entries(root, "users"));
		CHECK(n.patients == entries(root, "patients"));
		CHECK(count(ORGS) == n.orgs && count(USERS) == n.users);
		CHECK(count(PATIENTS) == n.patients);
	}
	CHECK(store_exec(sc, "ROLLBACK") == RK_OK);
	store_conn_release(sc);
	CHECK(count(ANYTHING) == 0);
	store_conn_release(sc);
	json_decref(root);
	return 0;
}
