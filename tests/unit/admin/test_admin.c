/* Unit tests: admin/ — the offline subcommands (init, import, org add,
 * user add, user disable, audit verify/pubkey/bench) and their exit
 * codes (0 done, 1 refused, 2 usage), against a real data folder in a
 * fresh temporary directory per test. What they wrote is checked by
 * opening the databases again with the keys init made. */
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

#include <openssl/crypto.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "admin/admin.h"
#include "auth/auth.h"
#include "store/store.h"
#include "util/conf.h"
#include "util/err.h"
#include "util/text.h"

struct fx {
	char tmp[64];       /* the mkdtemp folder, removed at teardown */
	char data[96];      /* tmp/data: the data folder admin_init makes */
	char keys[112];     /* tmp/data-keys: the key folder beside it */
	char path[160];     /* scratch path for ward files, stdin, stdout */
	struct conf conf;
	struct admin adm;
};

/* KEYS/name into the fixture's scratch path. */
static const char *
key_file(struct fx *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->keys, name);
	return f->path;
}

static void
set(struct fx *f, const char *name, const char *value)
{
	char err[160];
	if (conf_set(&f->conf, name, value, err, sizeof(err)) != 0)
		fail_msg("conf_set %s: %s", name, err);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	unit_tmpdir(f->tmp, "admin");
	snprintf(f->data, sizeof(f->data), "%s/data", f->tmp);
	conf_init(&f->conf);
	set(f, "data_dir", f->data);
	/* Cheap hashes below OWASP's floor: a test run only (util/conf.h). */
	setenv("RENKEI_ARGON2_TEST_COST", "1", 1);
	set(f, "argon2_t", "1");
	set(f, "argon2_m_kib", "8");
	set(f, "store_readers", "1");
	set(f, "store_cache_mb", "2");
	conf_resolve_paths(&f->conf);
	snprintf(f->keys, sizeof(f->keys), "%s-keys", f->data);
	assert_string_equal(f->conf.keys_dir, f->keys);
	/* The development KEK: read once per struct admin, then wiped from
	 * the environment, so set again for every test. */
	setenv("RENKEI_KEK",
	       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	       1);
	admin_begin(&f->adm, &f->conf);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	admin_end(&f->adm);
	conf_fini(&f->conf);
	unit_rm_rf(f->tmp);
	free(f);
	return 0;
}

/* An admin_init that must succeed, for tests about something else. */
static void
init_ok(struct fx *f)
{
	assert_int_equal(admin_init(&f->adm), 0);
}

static const char *
scratch(struct fx *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->tmp, name);
	return f->path;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static char *
read_all(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

static int
mode_of(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	return (int)(st.st_mode & 07777);
}

static int
exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* What `user add --password-stdin` reads. */
static void
stdin_from(struct fx *f, const char *text)
{
	const char *p = scratch(f, "stdin.txt");
	write_file(p, text);
	assert_non_null(freopen(p, "r", stdin));
}

/* Run fn with stdout going to a file; return what it printed. */
static char *
capture_stdout(struct fx *f, int (*fn)(struct admin *, bool), int *rc)
{
	char path[160];
	int saved, fd;

	snprintf(path, sizeof(path), "%s/stdout.txt", f->tmp);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_non_null(freopen(path, "w", stdout));
	*rc = fn(&f->adm, false);
	fflush(stdout);
	fd = dup2(saved, STDOUT_FILENO);
	assert_int_equal(fd, STDOUT_FILENO);
	close(saved);
	/* stdout's FILE now writes to the restored descriptor again. */
	clearerr(stdout);
	return read_all(path);
}

/* ------------------------------------------------- looking at the results */

static struct store_conn *
open_store(struct fx *f)
{
	struct store_config cfg;
	struct store_conn *sc = NULL;
	char err[512];

	if (admin_store_config(&f->adm, &cfg, err, sizeof(err)) != 0)
		fail_msg("admin_store_config: %s", err);
	int rc = store_conn_open(&sc, &cfg, 0, err, sizeof(err));
	OPENSSL_cleanse(&cfg, sizeof(cfg));
	if (rc != RK_OK)
		fail_msg("store_conn_open: %s", err);
	return sc;
}

static int64_t
sql_int(struct store_conn *sc, const char *text)
{
	sqlite3_stmt *q;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(store_conn_db(sc), text, -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

static int64_t
count(struct fx *f, const char *table)
{
	char text[128];
	struct store_conn *sc = open_store(f);
	int64_t n;

	snprintf(text, sizeof(text), "SELECT count(*) FROM %s", table);
	n = sql_int(sc, text);
	store_conn_close(sc);
	return n;
}

struct counts {
	int64_t orgs, users, patients, sheet, posts;
};

static struct counts
all_counts(struct fx *f)
{
	struct counts c = {
		count(f, "orgs"), count(f, "users"), count(f, "patients"),
		count(f, "sheet_members"), count(f, "posts"),
	};
	return c;
}

static void
assert_counts(struct fx *f, int64_t orgs, int64_t users, int64_t patients,
              int64_t sheet, int64_t posts)
{
	struct counts c = all_counts(f);
	assert_int_equal(c.orgs, orgs);
	assert_int_equal(c.users, users);
	assert_int_equal(c.patients, patients);
	assert_int_equal(c.sheet, sheet);
	assert_int_equal(c.posts, posts);
}

static struct auth_user
load_user(struct fx *f, const char *login)
{
	struct store_conn *sc = open_store(f);
	struct auth_user u;
	int rc = auth_user_load(sc, login, 0, &u);
	store_conn_close(sc);
	assert_int_equal(rc, RK_OK);
	return u;
}

static int
user_exists(struct fx *f, const char *login)
{
	struct store_conn *sc = open_store(f);
	struct auth_user u;
	int rc = auth_user_load(sc, login, 0, &u);
	store_conn_close(sc);
	return rc == RK_OK;
}

static char *
pw_hash_of(struct fx *f, const char *login)
{
	struct store_conn *sc = open_store(f);
	sqlite3_stmt *q;
	char *hash;

	assert_int_equal(sqlite3_prepare_v2(store_conn_db(sc),
	                                    "SELECT pw_hash FROM users WHERE login = ?",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	hash = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	store_conn_close(sc);
	return hash;
}

/* ------------------------------------------------------------ ward files */

/* Two organisations, three users (one family, no organisation), one
 * patient with a sheet of three and two posts. */
static const char ward_ok[] =
	"{\n"
	"  \"ward\": \"unit test\",\n"
	"  \"organisations\": [\n"
	"    {\"id\": \"org-clinic\", \"name\": \"テスト診療所\", \"kind\": \"clinic\", \"area\": \"北\"},\n"
	"    {\"id\": \"org-vn\", \"name\": \"テスト訪問看護\", \"kind\": \"visiting_nurse\", \"area\": \"南\"}\n"
	"  ],\n"
	"  \"users\": [\n"
	"    {\"login\": \"dr.a\", \"name\": \"医師 A\", \"profession\": \"physician\", \"org\": \"org-clinic\", \"demo_password\": \"unit-pass-1\"},\n"
	"    {\"login\": \"ns.b\", \"name\": \"看護 B\", \"profession\": \"nurse\", \"org\": \"org-vn\", \"demo_password\": \"unit-pass-2\"},\n"
	"    {\"login\": \"fam.c\", \"name\": \"家族 C\", \"profession\": \"family\", \"org\": null, \"demo_password\": \"unit-pass-3\"}\n"
	"  ],\n"
	"  \"patients\": [\n"
	"    {\n"
	"      \"id\": \"pt-one\", \"name\": \"患者 一\", \"kana\": \"カンジャ イチ\", \"birth\": \"1940-01-02\", \"sex\": \"F\", \"area\": \"北\",\n"
	"      \"summary\": \"要約\", \"wishes\": \"自宅で\",\n"
	"      \"sheet\": [\n"
	"        {\"login\": \"dr.a\", \"team_role\": \"主治医\", \"primary\": true},\n"
	"        {\"login\": \"ns.b\", \"team_role\": \"訪問看護\", \"from\": \"2026-01-01\"},\n"
	"        {\"login\": \"fam.c\", \"team_role\": \"家族\"}\n"
	"      ],\n"
	"      \"posts\": [\n"
	"        {\"author\": \"dr.a\", \"kind\": \"visit_note\", \"visibility\": \"clinical\", \"text\": \"初回訪問\"},\n"
	"        {\"author\": \"fam.c\", \"kind\": \"general\", \"visibility\": \"all\", \"text\": \"よく眠れました\"}\n"
	"      ]\n"
	"    }\n"
	"  ]\n"
	"}\n";

static const char *
ward_file(struct fx *f, const char *name, const char *text)
{
	const char *p = scratch(f, name);
	write_file(p, text);
	return p;
}

/* ward_ok with one substring replaced: a file that goes wrong late. */
static char *
ward_with(const char *from, const char *to)
{
	const char *at = strstr(ward_ok, from);
	size_t head, n;
	char *out;

	assert_non_null(at);
	head = (size_t)(at - ward_ok);
	n = sizeof(ward_ok) - strlen(from) + strlen(to);
	out = calloc(1, n);
	memcpy(out, ward_ok, head);
	strcpy(out + head, to);
	strcat(out, at + strlen(from));
	return out;
}

/* ------------------------------------------------------------------- init */

static void
test_init_creates_private_folder(void **state)
{
	struct fx *f = *state;
	char p[200];

	assert_false(exists(f->data));
	assert_int_equal(admin_init(&f->adm), 0);
	assert_int_equal(mode_of(f->data), 0700);
	/* No key in the data folder; a key folder of its own beside it. */
	snprintf(p, sizeof(p), "%s/keys", f->data);
	assert_false(exists(p));
	assert_int_equal(mode_of(f->keys), 0700);
	assert_int_equal(mode_of(key_file(f, "care.key")), 0600);
	assert_int_equal(mode_of(key_file(f, "audit.key")), 0600);
	assert_int_equal(mode_of(key_file(f, "audit-signing.key")), 0600);
	assert_int_equal(mode_of(key_file(f, "audit-signing.pub")), 0644);
	assert_int_equal(mode_of(key_file(f, "audit-root.pub")), 0644);
	snprintf(p, sizeof(p), "%s/care.db", f->data);
	assert_true(exists(p));
	snprintf(p, sizeof(p), "%s/audit.db", f->data);
	assert_true(exists(p));
	/* The database keys are stored wrapped, each under its name. */
	char *care = read_all(key_file(f, "care.key"));
	char *audit = read_all(key_file(f, "audit.key"));
	assert_true(strncmp(care, "renkei-key 1 care aes-256-gcm ", 30) == 0);
	assert_true(strncmp(audit, "renkei-key 1 audit aes-256-gcm ", 31) == 0);
	free(care);
	free(audit);
	/* The databases open with those keys and are empty. */
	assert_counts(f, 0, 0, 0, 0, 0);
}

static void
test_init_twice_keeps_keys(void **state)
{
	struct fx *f = *state;
	char pub[200];

	init_ok(f);
	char *care = read_all(key_file(f, "care.key"));
	char *audit = read_all(key_file(f, "audit.key"));
	char *sign = read_all(key_file(f, "audit-signing.key"));
	snprintf(pub, sizeof(pub), "%s", key_file(f, "audit-root.pub"));
	char *pubkey = read_all(pub);
	/* Something in the databases that a second init must not lose. */
	char *argv[] = {"org-x", "X", "--reason", "r"};
	assert_int_equal(admin_org_add(&f->adm, 4, argv), 0);

	assert_int_equal(admin_init(&f->adm), 0);
	char *care2 = read_all(key_file(f, "care.key"));
	char *audit2 = read_all(key_file(f, "audit.key"));
	char *sign2 = read_all(key_file(f, "audit-signing.key"));
	char *pubkey2 = read_all(pub);
	assert_string_equal(care, care2);
	assert_string_equal(audit, audit2);
	assert_string_equal(sign, sign2);
	assert_string_equal(pubkey, pubkey2);
	assert_int_equal(count(f, "orgs"), 1);
	free(care);
	free(audit);
	free(sign);
	free(pubkey);
	free(care2);
	free(audit2);
	free(sign2);
	free(pubkey2);
}

static void
test_init_tightens_existing_folder(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mkdir(f->data, 0755), 0);
	assert_int_equal(chmod(f->data, 0755), 0);
	assert_int_equal(admin_init(&f->adm), 0);
	assert_int_equal(mode_of(f->data), 0700);
}

static void
test_init_refuses_new_key_for_old_database(void **state)
{
	struct fx *f = *state;

	init_ok(f);
	assert_int_equal(unlink(key_file(f, "care.key")), 0);
	/* A new key would make care.db unreadable for good: refused. */
	assert_int_equal(admin_init(&f->adm), 1);
	assert_false(exists(key_file(f, "care.key")));
}

static void
test_store_config_needs_keys(void **state)
{
	struct fx *f = *state;
	struct store_config cfg;
	char err[512] = "";

	assert_int_equal(admin_store_config(&f->adm, &cfg, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	init_ok(f);
	assert_int_equal(admin_store_config(&f->adm, &cfg, err, sizeof(err)), 0);
	assert_non_null(strstr(cfg.care_path, "/care.db"));
	assert_non_null(strstr(cfg.audit_path, "/audit.db"));
	assert_int_equal(cfg.readers, 1);
	assert_memory_not_equal(cfg.care_key.bytes, cfg.audit_key.bytes,
	                        sizeof(cfg.care_key.bytes));
	OPENSSL_cleanse(&cfg, sizeof(cfg));
}

/* ----------------------------------------------------------------- import */

static void
test_import_ward(void **state)
{
	struct fx *f = *state;

	init_ok(f);
	assert_int_equal(admin_import(&f->adm, ward_file(f, "ward.json", ward_ok)), 0);
	assert_counts(f, 2, 3, 1, 3, 2);
	struct auth_user u = load_user(f, "dr.a");
	assert_int_equal(u.profession, PROF_PHYSICIAN);
	assert_false(u.disabled);
	u = load_user(f, "fam.c");
	assert_int_equal(u.profession, PROF_FAMILY);
	/* The demo password was hashed, not stored. */
	char *hash = pw_hash_of(f, "ns.b");
	assert_null(strstr(hash, "unit-pass-2"));
	assert_true(auth_password_verify(hash, "unit-pass-2"));
	assert_false(auth_password_verify(hash, "unit-pass-1"));
	free(hash);
	struct store_conn *sc = open_store(f);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM patients WHERE code = "
	                             "'pt-one' AND kana = 'カンジャ イチ' AND "
	                             "birth_date = '1940-01-02' AND last_seq = 2"),
	                 1);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM sheet_members s JOIN "
	                             "users u ON u.id = s.user_id WHERE u.login = "
	                             "'dr.a' AND s.is_primary = 1"),
	                 1);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM orgs WHERE code = "
	                             "'org-vn' AND kind = 'visiting_nurse'"),
	                 1);
	store_conn_close(sc);
}

static void
test_import_twice_refused(void **state)
{
	struct fx *f = *state;
	const char *path = ward_file(f, "ward.json", ward_ok);

	init_ok(f);
	assert_int_equal(admin_import(&f->adm, path), 0);
	assert_int_equal(admin_import(&f->adm, path), 1);
	assert_counts(f, 2, 3, 1, 3, 2);
}

static void
test_import_malformed_json(void **state)
{
	struct fx *f = *state;
	char *bad = strdup(ward_ok);

	init_ok(f);
	bad[strlen(bad) / 2] = '\0'; /* cut in the middle */
	assert_int_equal(admin_import(&f->adm, ward_file(f, "cut.json", bad)), 1);
	assert_int_equal(admin_import(&f->adm, ward_file(f, "dup.json",
	                                                  "{\"users\": [], \"users\": []}")),
	                 1);
	assert_int_equal(admin_import(&f->adm, scratch(f, "no-such-file.json")), 1);
	assert_counts(f, 0, 0, 0, 0, 0);
	free(bad);
}

/* Each file fails at a different step: nothing of the steps before it
 * may stay behind. */
static void
test_import_all_or_nothing(void **state)
{
	struct fx *f = *state;
	static const char *const swaps[][2] = {
		/* the second organisation */
		{"{\"id\": \"org-vn\", \"name\": \"テスト訪問看護\"", "{\"id\": \"org-vn\""},
		/* the last user */
		{"\"profession\": \"family\"", "\"profession\": \"wizard\""},
		/* a user with no password */
		{", \"demo_password\": \"unit-pass-3\"", ""},
		/* a user of an organisation that does not exist */
		{"\"org\": \"org-vn\"", "\"org\": \"org-none\""},
		/* a sheet member who is not a user */
		{"{\"login\": \"fam.c\", \"team_role\"", "{\"login\": \"nobody\", \"team_role\""},
		/* a bad date on the sheet */
		{"\"from\": \"2026-01-01\"", "\"from\": \"2026/01/01\""},
		/* the very last post: an unknown author */
		{"{\"author\": \"fam.c\"", "{\"author\": \"nobody\""},
		/* the very last post: empty text */
		{"\"text\": \"よく眠れました\"", "\"text\": \"\""},
	};

	init_ok(f);
	for (size_t i = 0; i < sizeof(swaps) / sizeof(swaps[0]); i++) {
		char *text = ward_with(swaps[i][0], swaps[i][1]);
		int rc = admin_import(&f->adm, ward_file(f, "bad.json", text));
		free(text);
		if (rc != 1)
			fail_msg("swap %zu: import returned %d, expected 1", i, rc);
		assert_counts(f, 0, 0, 0, 0, 0);
	}
	/* And the good file still goes in afterwards. */
	assert_int_equal(admin_import(&f->adm, ward_file(f, "ward.json", ward_ok)), 0);
	assert_counts(f, 2, 3, 1, 3, 2);
}

/* An imported password_hash is argon2id at OWASP's floor (m >= 19456
 * KiB, t >= 2) or the file is refused; RENKEI_ARGON2_TEST_COST=1 (this
 * fixture's) lowers the floor for a test run only. */
static void
test_import_hash_floor(void **state)
{
	struct fx *f = *state;
	static const char *const refused[] = {
		"$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgni9fVmwMtEMUdxlpUqY5SGAGE",
		"$argon2id$v=19$m=19456,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgni9fVmwMtEMUdxlpUqY5SGAGE",
		"$argon2id$v=19$m=19455,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgni9fVmwMtEMUdxlpUqY5SGAGE",
		"$argon2i$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgni9fVmwMtEMUdxlpUqY5SGAGE",
		"$2b$12$abcdefghijklmnopqrstuuN0tAnArgon2HashAtAllxxxxxxxxxxx",
	};
	char hash[300], *text;

	init_ok(f);
	unsetenv("RENKEI_ARGON2_TEST_COST");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(hash, sizeof(hash), "\"password_hash\": \"%s\"", refused[i]);
		text = ward_with("\"demo_password\": \"unit-pass-3\"", hash);
		if (admin_import(&f->adm, ward_file(f, "weak.json", text)) != 1)
			fail_msg("imported %s", refused[i]);
		free(text);
		assert_counts(f, 0, 0, 0, 0, 0);
	}
	/* At the floor: imported. */
	text = ward_with("\"demo_password\": \"unit-pass-3\"",
	                 "\"password_hash\": \"$argon2id$v=19$m=19456,t=2,p=1$"
	                 "c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgni9fVmwMtEMUdxlpUqY5SGAGE\"");
	assert_int_equal(admin_import(&f->adm, ward_file(f, "floor.json", text)), 0);
	free(text);
	assert_counts(f, 2, 3, 1, 3, 2);
	setenv("RENKEI_ARGON2_TEST_COST", "1", 1);
}

static void
test_import_needs_init(void **state)
{
	struct fx *f = *state;

	assert_int_equal(admin_import(&f->adm, ward_file(f, "ward.json", ward_ok)), 1);
	assert_false(exists(f->data));
}

/* ---------------------------------------------------------------- org add */

static void
test_org_add(void **state)
{
	struct fx *f = *state;
	char *none[] = {NULL};
	char *one[] = {"org-x"};
	char *three[] = {"org-x", "X", "extra"};
	char *dangling[] = {"org-x", "X", "--kind"};
	char *ok[] = {"org-x", "エックス診療所", "--kind", "clinic", "--area", "練馬",
	              "--reason", "new clinic joins"};
	char *no_reason[] = {"org-x", "X"};
	char *bad_code[] = {"Org X", "X", "--reason", "r"};
	char *empty_name[] = {"org-y", "", "--reason", "r"};

	init_ok(f);
	assert_int_equal(admin_org_add(&f->adm, 0, none), 2);
	assert_int_equal(admin_org_add(&f->adm, 1, one), 2);
	assert_int_equal(admin_org_add(&f->adm, 3, three), 2);
	/* "--kind" without its value is a third word. */
	assert_int_equal(admin_org_add(&f->adm, 3, dangling), 2);
	/* No reason: refused before anything is done. */
	assert_int_equal(admin_org_add(&f->adm, 2, no_reason), 2);
	assert_int_equal(count(f, "orgs"), 0);

	assert_int_equal(admin_org_add(&f->adm, 8, ok), 0);
	struct store_conn *sc = open_store(f);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM orgs WHERE code = 'org-x' "
	                             "AND name = 'エックス診療所' AND kind = 'clinic' "
	                             "AND area = '練馬'"),
	                 1);
	store_conn_close(sc);

	assert_int_equal(admin_org_add(&f->adm, 8, ok), 1); /* duplicate */
	assert_int_equal(admin_org_add(&f->adm, 4, bad_code), 1);
	assert_int_equal(admin_org_add(&f->adm, 4, empty_name), 1);
	assert_int_equal(count(f, "orgs"), 1);
}

static void
test_org_add_needs_init(void **state)
{
	struct fx *f = *state;
	char *ok[] = {"org-x", "X", "--reason", "r"};

	assert_int_equal(admin_org_add(&f->adm, 4, ok), 1);
}

/* --------------------------------------------------------------- user add */

static void
test_user_add(void **state)
{
	struct fx *f = *state;
	char *org[] = {"org-a", "A", "--reason", "r"};
	char *ok[] = {"dr.new", "--name", "新 医師", "--profession", "physician",
	              "--org", "org-a", "--password-stdin", "--reason", "r"};
	char *fam[] = {"fam.new", "--name", "家族", "--profession", "family",
	               "--password-stdin", "--reason", "r"};
	struct store_conn *sc;

	init_ok(f);
	assert_int_equal(admin_org_add(&f->adm, 4, org), 0);
	stdin_from(f, "correct horse battery\n");
	assert_int_equal(admin_user_add(&f->adm, 10, ok), 0);
	struct auth_user u = load_user(f, "dr.new");
	assert_int_equal(u.profession, PROF_PHYSICIAN);
	assert_string_equal(u.display_name, "新 医師");
	assert_false(u.disabled);
	char *hash = pw_hash_of(f, "dr.new");
	/* The line end is not part of the password. */
	assert_true(auth_password_verify(hash, "correct horse battery"));
	assert_false(auth_password_verify(hash, "correct horse battery\n"));
	free(hash);
	/* The admin knows it: changed at first login. The record committed
	 * with the account, is in the chain (out of the outbox) and covered
	 * by a checkpoint; it names the operator, the login and the reason. */
	sc = open_store(f);
	assert_int_equal(sql_int(sc, "SELECT must_change_password FROM users "
	                             "WHERE login = 'dr.new'"),
	                 1);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM audit.records WHERE "
	                             "action = 'user.create' AND object = 'dr.new' "
	                             "AND reason = 'r' AND outcome = 0 AND "
	                             "actor_user_id = 0 AND device = "
	                             "'renkei-server user add'"),
	                 1);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM audit.checkpoints WHERE "
	                             "record_id = (SELECT max(id) FROM "
	                             "audit.records)"),
	                 1);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM main.audit_outbox WHERE "
	                             "id > (SELECT value FROM audit.meta WHERE "
	                             "name = 'outbox_upto')"),
	                 0);
	store_conn_close(sc);

	/* Family members need no organisation. */
	stdin_from(f, "family-pass\n");
	assert_int_equal(admin_user_add(&f->adm, 8, fam), 0);
	assert_int_equal(load_user(f, "fam.new").profession, PROF_FAMILY);

	/* The same login again. */
	stdin_from(f, "another-pass\n");
	assert_int_equal(admin_user_add(&f->adm, 10, ok), 1);
	assert_int_equal(count(f, "users"), 2);
}

static void
test_user_add_usage(void **state)
{
	struct fx *f = *state;
	char *none[] = {NULL};
	char *no_name[] = {"u1", "--profession", "nurse", "--password-stdin", "--reason", "r"};
	char *no_prof[] = {"u1", "--name", "U", "--password-stdin", "--reason", "r"};
	char *two_logins[] = {"u1", "u2", "--name", "U", "--profession", "nurse"};
	char *dangling[] = {"u1", "--profession", "nurse", "--name"};
	char *bad_prof[] = {"u1", "--name", "U", "--profession", "wizard",
	                    "--password-stdin", "--reason", "r"};

	init_ok(f);
	stdin_from(f, "long-enough-pass\n");
	assert_int_equal(admin_user_add(&f->adm, 0, none), 2);
	assert_int_equal(admin_user_add(&f->adm, 6, no_name), 2);
	assert_int_equal(admin_user_add(&f->adm, 6, no_prof), 2);
	assert_int_equal(admin_user_add(&f->adm, 6, two_logins), 2);
	assert_int_equal(admin_user_add(&f->adm, 4, dangling), 2);
	assert_int_equal(admin_user_add(&f->adm, 8, bad_prof), 2);
	assert_int_equal(count(f, "users"), 0);
}

static void
test_user_add_refused(void **state)
{
	struct fx *f = *state;
	char *org[] = {"org-a", "A", "--reason", "r"};
	char *no_org[] = {"ns.x", "--name", "N", "--profession", "nurse",
	                  "--password-stdin", "--reason", "r"};
	char *unknown_org[] = {"ns.x", "--name", "N", "--profession", "nurse",
	                       "--org", "org-zz", "--password-stdin", "--reason", "r"};
	char *bad_login[] = {"NS X", "--name", "N", "--profession", "nurse",
	                     "--org", "org-a", "--password-stdin", "--reason", "r"};
	char *ok[] = {"ns.x", "--name", "N", "--profession", "nurse",
	              "--org", "org-a", "--password-stdin", "--reason", "r"};

	init_ok(f);
	assert_int_equal(admin_org_add(&f->adm, 4, org), 0);
	stdin_from(f, "long-enough-pass\n");
	assert_int_equal(admin_user_add(&f->adm, 8, no_org), 1);
	stdin_from(f, "long-enough-pass\n");
	assert_int_equal(admin_user_add(&f->adm, 10, unknown_org), 1);
	stdin_from(f, "long-enough-pass\n");
	assert_int_equal(admin_user_add(&f->adm, 10, bad_login), 1);
	/* Passwords under 8 characters, and no password at all. */
	stdin_from(f, "short\n");
	assert_int_equal(admin_user_add(&f->adm, 10, ok), 1);
	stdin_from(f, "");
	assert_int_equal(admin_user_add(&f->adm, 10, ok), 1);
	assert_int_equal(count(f, "users"), 0);
	/* Exactly 8 is enough. */
	stdin_from(f, "12345678\n");
	assert_int_equal(admin_user_add(&f->adm, 10, ok), 0);
	assert_true(user_exists(f, "ns.x"));
}

/* ----------------------------------------------------------- user disable */

static void
test_user_disable(void **state)
{
	struct fx *f = *state;
	char *none[] = {NULL};
	char *two[] = {"dr.a", "ns.b"};
	char *unknown[] = {"nobody", "--reason", "r"};
	char *dr[] = {"dr.a", "--reason", "left the clinic"};
	char *no_reason[] = {"dr.a"};
	struct store_conn *sc;

	init_ok(f);
	assert_int_equal(admin_import(&f->adm, ward_file(f, "ward.json", ward_ok)), 0);
	/* Two live sessions for dr.a, one for ns.b. */
	sc = open_store(f);
	assert_int_equal(sqlite3_exec(store_conn_db(sc),
	                              "INSERT INTO sessions(token_hash, user_id, "
	                              "created_ms, expires_ms, last_seen_ms) SELECT "
	                              "randomblob(32), id, 1, 9000000000000000, 1 FROM "
	                              "users WHERE login IN ('dr.a', 'ns.b');"
	                              "INSERT INTO sessions(token_hash, user_id, "
	                              "created_ms, expires_ms, last_seen_ms) SELECT "
	                              "randomblob(32), id, 1, 9000000000000000, 1 FROM "
	                              "users WHERE login = 'dr.a'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	store_conn_close(sc);

	assert_int_equal(admin_user_disable(&f->adm, 0, none), 2);
	assert_int_equal(admin_user_disable(&f->adm, 2, two), 2);
	assert_int_equal(admin_user_disable(&f->adm, 3, unknown), 1);
	assert_int_equal(admin_user_disable(&f->adm, 1, no_reason), 2);
	assert_false(load_user(f, "dr.a").disabled);

	assert_int_equal(admin_user_disable(&f->adm, 3, dr), 0);
	assert_true(load_user(f, "dr.a").disabled);
	assert_false(load_user(f, "ns.b").disabled);
	sc = open_store(f);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM sessions s JOIN users u ON "
	                             "u.id = s.user_id WHERE u.login = 'dr.a' AND "
	                             "s.ended_ms IS NOT NULL AND s.end_reason = "
	                             "'account disabled'"),
	                 2);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM sessions s JOIN users u ON "
	                             "u.id = s.user_id WHERE u.login = 'ns.b' AND "
	                             "s.ended_ms IS NULL"),
	                 1);
	store_conn_close(sc);
	/* Each attempt is in the trail: the refused one as NOT_FOUND. */
	sc = open_store(f);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM audit.records WHERE "
	                             "action = 'user.disable' AND object = 'dr.a' "
	                             "AND reason = 'left the clinic' AND outcome = 0"),
	                 1);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM audit.records WHERE "
	                             "action = 'user.disable' AND object = 'nobody' "
	                             "AND outcome = 4"),
	                 1);
	store_conn_close(sc);
	/* Disabling again is harmless. */
	assert_int_equal(admin_user_disable(&f->adm, 3, dr), 0);
	assert_true(load_user(f, "dr.a").disabled);
}

/* ------------------------------------------------------------------ audit */

static void
test_audit_verify_fresh(void **state)
{
	struct fx *f = *state;

	assert_int_equal(admin_audit_verify(&f->adm), 1); /* no folder yet */
	init_ok(f);
	assert_int_equal(admin_audit_verify(&f->adm), 0);
}

static void
test_audit_pubkey(void **state)
{
	struct fx *f = *state;
	char pub[200];
	int rc;

	char *out = capture_stdout(f, admin_audit_pubkey, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(out, "");
	free(out);
	init_ok(f);
	out = capture_stdout(f, admin_audit_pubkey, &rc);
	assert_int_equal(rc, 0);
	snprintf(pub, sizeof(pub), "%s", key_file(f, "audit-root.pub"));
	char *want = read_all(pub);
	assert_non_null(strstr(want, "BEGIN PUBLIC KEY"));
	assert_string_equal(out, want);
	free(want);
	free(out);
}

static void
test_audit_bench(void **state)
{
	struct fx *f = *state;

	assert_int_equal(admin_audit_bench(&f->adm, 0), 2);
	assert_int_equal(admin_audit_bench(&f->adm, 100000001), 2);
	/* A new folder: made, filled, verified. */
	assert_int_equal(admin_audit_bench(&f->adm, 1500), 0);
	assert_int_equal(count(f, "audit.records"), 1500);
	assert_true(count(f, "audit.checkpoints") >= 2);
	assert_int_equal(admin_audit_verify(&f->adm), 0);
	/* Not again: the folder holds audit records now. */
	assert_int_equal(admin_audit_bench(&f->adm, 10), 1);
	assert_int_equal(count(f, "audit.records"), 1500);
}

static void
test_audit_bench_refuses_real_data(void **state)
{
	struct fx *f = *state;

	init_ok(f);
	assert_int_equal(admin_import(&f->adm, ward_file(f, "ward.json", ward_ok)), 0);
	/* The import's records are in the chain already (forwarded and
	 * signed by the import itself), its own among them. */
	int64_t n = count(f, "audit.records");
	assert_true(n > 0);
	struct store_conn *sc = open_store(f);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM audit.records WHERE "
	                             "action = 'ward.import' AND object = "
	                             "'ward.json' AND actor_user_id = 0"),
	                 1);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM audit.checkpoints WHERE "
	                             "record_id = (SELECT max(id) FROM "
	                             "audit.records)"),
	                 1);
	store_conn_close(sc);
	assert_int_equal(admin_audit_bench(&f->adm, 10), 1);
	assert_int_equal(count(f, "audit.records"), n);
}

/* ------------------------------------------------------- keys, offline */

/* rekey, rotate-key and keys check on a stopped folder: each audited
 * once, the databases open with the new keys, the chain verifies; none
 * runs while the data folder's lock is held (a server). */
static void
test_rekey_rotate_and_check(void **state)
{
	struct fx *f = *state;
	char *before_care, *before_audit, *after, *sign;
	char err[512];
	int lock;

	init_ok(f);
	char *argv[] = {"org-x", "X", "--reason", "r"};
	assert_int_equal(admin_org_add(&f->adm, 4, argv), 0);
	before_care = read_all(key_file(f, "care.key"));
	before_audit = read_all(key_file(f, "audit.key"));
	sign = read_all(key_file(f, "audit-signing.key"));

	lock = store_lock_data(f->data, "the test", err, sizeof(err));
	assert_true(lock >= 0);
	assert_int_equal(admin_rekey(&f->adm, "care"), 1);
	assert_int_equal(admin_audit_rotate_key(&f->adm), 1);
	assert_int_equal(admin_keys_check(&f->adm), 1);
	store_unlock_data(lock);

	assert_int_equal(admin_rekey(&f->adm, "both"), 2);
	assert_int_equal(admin_rekey(&f->adm, "care"), 0);
	after = read_all(key_file(f, "care.key"));
	assert_string_not_equal(before_care, after);
	free(after);
	assert_int_equal(admin_rekey(&f->adm, "audit"), 0);
	after = read_all(key_file(f, "audit.key"));
	assert_string_not_equal(before_audit, after);
	free(after);
	assert_int_equal(admin_audit_rotate_key(&f->adm), 0);
	after = read_all(key_file(f, "audit-signing.key"));
	assert_string_not_equal(sign, after);
	free(after);
	assert_false(exists(key_file(f, "care.key.new")));
	assert_int_equal(admin_keys_check(&f->adm), 0);
	assert_int_equal(admin_audit_verify(&f->adm), 0);
	assert_int_equal(count(f, "orgs"), 1);
	struct store_conn *sc = open_store(f);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM audit.records WHERE "
	                             "action = 'key.rekey' AND outcome = 0 AND "
	                             "actor_user_id = 0 AND device = "
	                             "'renkei-server rekey' AND object LIKE "
	                             "'care.db:%'"),
	                 1);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM audit.records WHERE "
	                             "action = 'key.rekey' AND object LIKE "
	                             "'audit.db:%'"),
	                 1);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM audit.records WHERE "
	                             "action = 'audit.key.rotate' AND outcome = 0"),
	                 1);
	assert_int_equal(sql_int(sc, "SELECT count(*) FROM audit.checkpoints "
	                             "WHERE next_key IS NOT NULL"),
	                 1);
	store_conn_close(sc);
	free(before_care);
	free(before_audit);
	free(sign);
}

/* A folder of the layout before keys_dir (DATA/keys/ with the raw keys
 * and a PEM signing key) is refused, then migrated: the keys move into
 * the key folder, wrapped; the old files are gone; nothing is lost. */
static void
test_keys_migrate(void **state)
{
	struct fx *f = *state;
	struct store_config cfg;
	char err[2048], hex[65], old[200], cmd[400];
	uint8_t seed[32];
	FILE *fp;

	init_ok(f);
	char *argv[] = {"org-x", "X", "--reason", "r"};
	assert_int_equal(admin_org_add(&f->adm, 4, argv), 0);
	assert_int_equal(admin_store_config(&f->adm, &cfg, err, sizeof(err)), 0);
	assert_int_equal(keys_unwrap_file(key_file(f, "audit-signing.key"),
	                                  "audit-signing", f->data, &f->adm.kek,
	                                  seed, err, sizeof(err)),
	                 0);
	snprintf(old, sizeof(old), "%s/keys", f->data);
	assert_int_equal(mkdir(old, 0700), 0);
	const struct store_key *k[2] = {&cfg.care_key, &cfg.audit_key};
	const char *names[2] = {"care.key", "audit.key"};
	for (int i = 0; i < 2; i++) {
		snprintf(old, sizeof(old), "%s/keys/%s", f->data, names[i]);
		rk_hex_encode(k[i]->bytes, 32, hex);
		write_file(old, hex);
	}
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_non_null(pk);
	snprintf(old, sizeof(old), "%s/keys/audit-signing.pem", f->data);
	fp = fopen(old, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(fp);
	EVP_PKEY_free(pk);
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(&cfg, sizeof(cfg));
	snprintf(cmd, sizeof(cmd), "rm -r %s", f->keys);
	assert_int_equal(system(cmd), 0);

	assert_int_equal(admin_store_config(&f->adm, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "keys migrate"));
	assert_int_equal(admin_keys_migrate(&f->adm), 0);
	snprintf(old, sizeof(old), "%s/keys", f->data);
	assert_false(exists(old));
	char *wrapped = read_all(key_file(f, "care.key"));
	assert_true(strncmp(wrapped, "renkei-key 1 care ", 18) == 0);
	free(wrapped);
	assert_true(exists(key_file(f, "audit-root.pub")));
	assert_int_equal(count(f, "orgs"), 1);
	assert_int_equal(admin_audit_verify(&f->adm), 0);
	/* Nothing left to do the second time. */
	assert_int_equal(admin_keys_migrate(&f->adm), 0);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_init_creates_private_folder),
		T(test_init_twice_keeps_keys),
		T(test_init_tightens_existing_folder),
		T(test_init_refuses_new_key_for_old_database),
		T(test_store_config_needs_keys),
		T(test_import_ward),
		T(test_import_twice_refused),
		T(test_import_malformed_json),
		T(test_import_all_or_nothing),
		T(test_import_hash_floor),
		T(test_import_needs_init),
		T(test_org_add),
		T(test_org_add_needs_init),
		T(test_user_add),
		T(test_user_add_usage),
		T(test_user_add_refused),
		T(test_user_disable),
		T(test_audit_verify_fresh),
		T(test_audit_pubkey),
		T(test_audit_bench),
		T(test_audit_bench_refuses_real_data),
		T(test_rekey_rotate_and_check),
		T(test_keys_migrate),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
