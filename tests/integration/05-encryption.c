/*
 * 05-encryption: nothing readable at rest. A login stores a unique device
 * string in the sessions table; no file under the data folder may hold it
 * in clear — not while the server runs (WAL), not after it stopped — nor
 * the names, organisations or password hashes the import wrote. The
 * databases must not even look like SQLite to the stock sqlite3 tool.
 * As a control, the real key (sqlcipher CLI) does find the string, so
 * "not found" means "encrypted", not "never written".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/rand.h>

#include "harness.h"

struct state {
	struct h_server *s;
	char canary[64];
};

static int
setup(void **state)
{
	struct state *st = calloc(1, sizeof(*st));
	uint8_t raw[12];

	if (st == NULL || RAND_bytes(raw, sizeof(raw)) != 1) {
		free(st);
		return -1;
	}
	int n = snprintf(st->canary, sizeof(st->canary), "canary-");
	for (size_t i = 0; i < sizeof(raw); i++)
		n += snprintf(st->canary + n, sizeof(st->canary) - (size_t)n,
		              "%02x", raw[i]);
	if ((st->s = h_server_up(NULL)) == NULL) {
		free(st);
		return -1;
	}
	*state = st;
	return 0;
}

static int
teardown(void **state)
{
	struct state *st = *state;
	int rc = h_server_free(st->s);

	free(st);
	return rc;
}

/* No file under the data folder, nor under the key folder, holds `what`
 * in clear. */
static void
assert_nowhere(const struct h_server *s, const char *what, const char *label)
{
	char found[512] = "";
	int hits = h_dir_grep(s->dir, what, strlen(what), found, sizeof(found));

	assert_true(hits >= 0);
	if (hits == 0)
		hits = h_dir_grep(s->keys, what, strlen(what), found, sizeof(found));
	assert_true(hits >= 0);
	if (hits > 0)
		fail_msg("%s found in clear in %d file(s), first %s", label,
		         hits, found);
}

static void
assert_not_sqlite_header(const struct h_server *s, const char *name)
{
	char path[512], head[16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
	fclose(f);
	if (memcmp(head, "SQLite format 3", 15) == 0)
		fail_msg("%s starts with the plain SQLite header", name);
}

static void
assert_no_plaintext(const struct state *st)
{
	assert_nowhere(st->s, st->canary, "the device string");
	assert_nowhere(st->s, "田中 誠", "a user's display name");
	assert_nowhere(st->s, "光が丘みどり在宅クリニック",
	               "an organisation name");
	assert_nowhere(st->s, "$argon2id$", "a password hash");
	assert_nowhere(st->s, H_DEMO_PASSWORD, "a password");
	assert_nowhere(st->s, "CREATE TABLE", "the schema");
	assert_not_sqlite_header(st->s, "care.db");
	assert_not_sqlite_header(st->s, "audit.db");
}

static void
assert_private(const struct h_server *s, const char *name)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	if (stat(path, &sb) != 0)
		return; /* e.g. no WAL file at this moment */
	if ((sb.st_mode & 077) != 0)
		fail_msg("%s has mode %o: readable by others", name,
		         (unsigned)(sb.st_mode & 0777));
}

static void
test_nothing_in_clear(void **state)
{
	struct state *st = *state;
	struct rkc *c = h_connect(st->s);
	Renkei__V1__Envelope *r;

	assert_non_null(c);
	r = h_login_env(c, "dr.tanaka", H_DEMO_PASSWORD, st->canary);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);

	/* Running: the session row is committed, likely still in the WAL. */
	assert_no_plaintext(st);
	rkc_close(c);

	assert_true(h_exited_cleanly(h_server_stop(st->s, SIGTERM, 15000)));
	assert_no_plaintext(st);
}

static void
test_sqlite3_sees_no_database(void **state)
{
	struct state *st = *state;
	static const char *const dbs[] = {"care.db", "audit.db"};
	char cmd[600], *out = NULL;
	int rc;

	if (h_sh("command -v sqlite3", NULL) != 0) {
		fail_msg("no sqlite3 binary (scripts/install-deps.sh installs it)");
	}
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd),
		         "sqlite3 %s/%s 'select count(*) from sqlite_master'",
		         st->s->dir, dbs[i]);
		rc = h_sh(cmd, &out);
		assert_non_null(out);
		if (rc == 0 || strstr(out, "file is not a database") == NULL)
			fail_msg("sqlite3 on %s: exit %d, output: %s", dbs[i],
			         rc, out);
		free(out);
		out = NULL;
	}
}

static void
test_key_decrypts_control(void **state)
{
	struct state *st = *state;
	char cmd[1024], key[65], *out = NULL;
	int rc;

	if (h_sh("command -v sqlcipher", NULL) != 0) {
		fail_msg("no sqlcipher binary (scripts/install-deps.sh installs it)");
	}
	/* The care key, unwrapped with the KEK; opened as store/store.c
	 * does: raw key, 4096-byte pages. */
	assert_int_equal(h_key_hex(st->s, "care.key", key), 0);
	snprintf(cmd, sizeof(cmd),
	         "printf '%%s\\n' \"PRAGMA key = \\\"x'%s'\\\";\" "
	         "'PRAGMA cipher_page_size = 4096;' "
	         "'select device from sessions;' | sqlcipher %s/care.db",
	         key, st->s->dir);
	rc = h_sh(cmd, &out);
	assert_non_null(out);
	if (rc != 0 || strstr(out, st->canary) == NULL)
		fail_msg("with the key, the device string was not found (exit "
		         "%d): %s",
		         rc, out);
	free(out);
}

static void
test_files_are_private_and_still_open(void **state)
{
	struct state *st = *state;
	struct rkc *c;

	assert_private(st->s, "care.db");
	assert_private(st->s, "audit.db");

	/* The probes above changed nothing: the server starts and serves. */
	assert_int_equal(h_server_restart(st->s), 0);
	assert_private(st->s, "care.db-wal");
	assert_private(st->s, "audit.db-wal");
	c = h_connect_login(st->s, "dr.tanaka", NULL);
	assert_non_null(c);
	rkc_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nothing_in_clear),
	    cmocka_unit_test(test_sqlite3_sees_no_database),
	    cmocka_unit_test(test_key_decrypts_control),
	    cmocka_unit_test(test_files_are_private_and_still_open),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
