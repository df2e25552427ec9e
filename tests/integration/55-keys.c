/*
 * 55-keys: keys apart from the data, wrapped under a key-encryption key
 * (issue 12, item 1).
 *
 *  - The server starts with its keys wrapped in the key folder beside
 *    the data folder and the right KEK, and serves; the key files hold
 *    no key in the clear; the running server's environment no longer
 *    holds the KEK; it may leave no core file.
 *  - It refuses to start, each time with a one-line reason that names
 *    the file and says why, when: the key folder is inside the data
 *    folder (also through a symbolic link), a key file is a symbolic link
 *    into the data folder, a key file has a second name (hard link)
 *    inside the data folder, a key file is readable by others or by the
 *    group, a key file is owned by another user (chown to uid 4242; the
 *    tests run as root), the KEK is wrong (the GCM tag fails), there is
 *    no KEK, the retired RENKEI_CARE_KEY is set, a rekey was left half
 *    done, unwrapped keys lie in DATA/keys/ (the layout before keys_dir).
 *    After each, the fault is undone and the server starts again.
 *  - The KEK also comes from a systemd credential
 *    ($CREDENTIALS_DIRECTORY/renkei-kek) and from a passphrase (argon2id;
 *    --kek-passphrase-fd), and a wrong passphrase is refused.
 *  - the backup key's copy for offline media is the key, and recorded.
 */
#define _GNU_SOURCE /* memmem */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static struct h_server *srv;

static int
setup(void **state)
{
	(void)state;
	srv = h_server_up(NULL);
	return srv != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return h_server_free(srv);
}

static void
sh_ok(const char *cmd)
{
	char *out = NULL;
	int rc = h_sh(cmd, &out);

	if (rc != 0)
		fail_msg("%s: exit %d: %s", cmd, rc, out ? out : "");
	free(out);
}

/* Run `serve` on the stopped test server's folders with `env` before it
 * and `extra` after it; it must exit 1 at once (not start), and its
 * reason — the line starting "renkei-server: " — must hold every one of
 * want[]. Prints the reason. */
static void
assert_refused(const char *env, const char *extra, const char *const *want)
{
	char cmd[2000], *out = NULL, *line, *end;
	int rc;

	snprintf(cmd, sizeof(cmd),
	         "%s timeout 30 %s serve --data %s --port %d %s", env ? env : "",
	         h_server_bin(), srv->dir, srv->port, extra ? extra : "");
	rc = h_sh(cmd, &out);
	assert_non_null(out);
	if (rc != 1)
		fail_msg("want exit 1 (refused), got %d: %s", rc, out);
	line = strstr(out, "renkei-server: ");
	if (line == NULL)
		fail_msg("no reason given: %s", out);
	end = strchr(line, '\n');
	if (end != NULL)
		*end = '\0';
	print_message("refused: %s\n", line);
	for (int i = 0; want[i] != NULL; i++)
		if (strstr(line, want[i]) == NULL)
			fail_msg("the reason lacks \"%s\": %s", want[i], line);
	/* one reason, one line: nothing else on stderr but the log line */
	if (end != NULL && strstr(end + 1, "renkei-server: ") != NULL)
		fail_msg("more than one reason: %s", end + 1);
	free(out);
}

static void
path_in(char *out, size_t cap, const char *dir, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static void
assert_starts_again(void)
{
	struct rkc *c;

	assert_int_equal(h_server_restart(srv), 0);
	c = h_connect_login(srv, "ns.kobayashi", NULL);
	assert_non_null(c);
	rkc_close(c);
	assert_true(h_exited_cleanly(h_server_stop(srv, SIGTERM, 15000)));
}

/* --------------------------------------------------------------- tests */

static void
test_starts_with_wrapped_keys_and_the_right_kek(void **state)
{
	static const char *const files[] = {"care.key", "audit.key",
	                                    "audit-signing.key"};
	char path[600], proc[64], hex[65], *text, *env;
	size_t len;
	struct stat st;
	struct rkc *c;

	(void)state;
	c = h_connect_login(srv, "dr.tanaka", NULL);
	assert_non_null(c);
	rkc_close(c);
	/* No key in the data folder; each key wrapped, none in the clear. */
	path_in(path, sizeof(path), srv->dir, "keys");
	assert_int_not_equal(stat(path, &st), 0);
	for (size_t i = 0; i < 3; i++) {
		path_in(path, sizeof(path), srv->keys, files[i]);
		text = h_read_file(path, &len);
		assert_non_null(text);
		assert_true(strncmp(text, "renkei-key 1 ", 13) == 0);
		assert_non_null(strstr(text, " aes-256-gcm "));
		assert_int_equal(h_key_hex(srv, files[i], hex), 0);
		assert_null(strstr(text, hex));
		assert_int_equal(h_dir_grep(srv->dir, hex, 64, NULL, 0), 0);
		assert_int_equal(h_dir_grep(srv->keys, hex, 64, NULL, 0), 0);
		free(text);
	}
	/* The KEK was wiped from the server's environment once read. */
	snprintf(proc, sizeof(proc), "/proc/%d/environ", (int)srv->pid);
	env = h_read_file(proc, &len);
	assert_non_null(env);
	assert_null(memmem(env, len, h_kek_hex(), 64));
	assert_null(memmem(env, len, "RENKEI_KEK=", 11));
	free(env);
	/* No core file can hold a key. */
	snprintf(proc, sizeof(proc), "/proc/%d/limits", (int)srv->pid);
	env = h_read_file(proc, &len);
	assert_non_null(env);
	char *core = strstr(env, "Max core file size");
	assert_non_null(core);
	unsigned long soft = 99, hard = 99;
	assert_int_equal(sscanf(core, "Max core file size %lu %lu", &soft, &hard), 2);
	assert_int_equal(soft, 0);
	assert_int_equal(hard, 0);
	free(env);
	assert_true(h_exited_cleanly(h_server_stop(srv, SIGTERM, 15000)));
}

static void
test_refuses_keys_inside_the_data_folder(void **state)
{
	char cmd[3000], extra[700], in_data[600], key[600], link[600];

	(void)state;
	/* The whole key folder copied into the data folder. */
	path_in(in_data, sizeof(in_data), srv->dir, "keys-copy");
	snprintf(cmd, sizeof(cmd), "cp -a %s %s", srv->keys, in_data);
	sh_ok(cmd);
	snprintf(extra, sizeof(extra), "--keys-dir %s", in_data);
	assert_refused(NULL, extra,
	               (const char *const[]){in_data, "is inside the data folder",
	                                     NULL});
	/* ... or reached through a symbolic link from outside. */
	snprintf(link, sizeof(link), "%s-link", srv->keys);
	assert_int_equal(symlink(in_data, link), 0);
	snprintf(extra, sizeof(extra), "--keys-dir %s", link);
	assert_refused(NULL, extra,
	               (const char *const[]){link, "is inside the data folder",
	                                     NULL});
	unlink(link);
	/* One key file a symbolic link to a key kept in the data folder. */
	path_in(key, sizeof(key), srv->keys, "care.key");
	snprintf(cmd, sizeof(cmd), "mv %s %s/care.key && ln -s %s/care.key %s",
	         key, srv->dir, srv->dir, key);
	sh_ok(cmd);
	assert_refused(NULL, NULL,
	               (const char *const[]){key, "not a regular file",
	                                     "symbolic link", NULL});
	snprintf(cmd, sizeof(cmd), "rm %s && mv %s/care.key %s", key, srv->dir, key);
	sh_ok(cmd);
	/* A second name for it inside the data folder (a hard link). */
	snprintf(cmd, sizeof(cmd), "ln %s %s/care.key.bak", key, srv->dir);
	sh_ok(cmd);
	assert_refused(NULL, NULL,
	               (const char *const[]){key, "2 names", "hard link", NULL});
	snprintf(cmd, sizeof(cmd), "rm %s/care.key.bak && rm -r %s", srv->dir,
	         in_data);
	sh_ok(cmd);
	assert_starts_again();
}

static void
test_refuses_a_key_others_can_read(void **state)
{
	char key[600];

	(void)state;
	path_in(key, sizeof(key), srv->keys, "care.key");
	assert_int_equal(chmod(key, 0644), 0);
	assert_refused(NULL, NULL,
	               (const char *const[]){key, "readable or writable by group or "
	                                          "others",
	                                     "0644", "chmod 600", NULL});
	assert_int_equal(chmod(key, 0640), 0);
	assert_refused(NULL, NULL, (const char *const[]){key, "0640", NULL});
	assert_int_equal(chmod(key, 0600), 0);
	path_in(key, sizeof(key), srv->keys, "audit-signing.key");
	assert_int_equal(chmod(key, 0604), 0);
	assert_refused(NULL, NULL, (const char *const[]){key, "0604", NULL});
	assert_int_equal(chmod(key, 0600), 0);
	assert_starts_again();
}

static void
test_refuses_a_key_of_another_user(void **state)
{
	char key[600];

	(void)state;
	if (geteuid() != 0) {
		print_message("note: not root; chown to another user skipped\n");
		skip();
	}
	path_in(key, sizeof(key), srv->keys, "audit.key");
	assert_int_equal(chown(key, 4242, 4242), 0);
	assert_refused(NULL, NULL,
	               (const char *const[]){key, "owned by uid 4242",
	                                     "not by the server's user (uid 0)",
	                                     NULL});
	assert_int_equal(chown(key, 0, 0), 0);
	assert_starts_again();
}

static void
test_refuses_a_wrong_or_missing_kek(void **state)
{
	char env[200], key[600];

	(void)state;
	path_in(key, sizeof(key), srv->keys, "care.key");
	snprintf(env, sizeof(env), "RENKEI_KEK=%064d", 7);
	assert_refused(env, NULL,
	               (const char *const[]){key, "key-encryption key",
	                                     "is wrong", "GCM tag check failed",
	                                     NULL});
	assert_refused("RENKEI_KEK=12345", NULL,
	               (const char *const[]){"RENKEI_KEK must hold 64 hex digits",
	                                     NULL});
	assert_refused("env -u RENKEI_KEK", NULL,
	               (const char *const[]){"no key-encryption key",
	                                     "renkei-kek", "RENKEI_KEK", NULL});
	assert_refused("RENKEI_CARE_KEY=00", NULL,
	               (const char *const[]){"RENKEI_CARE_KEY",
	                                     "no longer read", NULL});
	assert_starts_again();
}

static void
test_refuses_a_half_done_rekey_and_old_keys(void **state)
{
	char cmd[2000], key[600];

	(void)state;
	path_in(key, sizeof(key), srv->keys, "care.key");
	snprintf(cmd, sizeof(cmd), "cp -p %s %s.new", key, key);
	sh_ok(cmd);
	assert_refused(NULL, NULL,
	               (const char *const[]){"care.key.new", "rekey was interrupted",
	                                     "keys check", NULL});
	/* keys check resolves it (the database opens with the old key). */
	snprintf(cmd, sizeof(cmd), "%s keys check --data %s", h_server_bin(),
	         srv->dir);
	char *out = NULL;
	assert_int_equal(h_sh(cmd, &out), 0);
	assert_non_null(strstr(out, "opens with the OLD key"));
	free(out);
	/* Unwrapped keys in the data folder, as before keys_dir. */
	snprintf(cmd, sizeof(cmd), "mkdir %s/keys && echo 00 > %s/keys/care.key",
	         srv->dir, srv->dir);
	sh_ok(cmd);
	assert_refused(NULL, NULL,
	               (const char *const[]){"/keys/care.key", "inside the data folder",
	                                     "keys migrate", NULL});
	snprintf(cmd, sizeof(cmd), "rm -r %s/keys", srv->dir);
	sh_ok(cmd);
	assert_starts_again();
}

/* The KEK from where a system install keeps it: systemd puts the
 * decrypted credential in $CREDENTIALS_DIRECTORY. */
static void
test_kek_from_a_systemd_credential(void **state)
{
	char cmd[2000], cred[600], *out = NULL;
	int rc;

	(void)state;
	snprintf(cred, sizeof(cred), "%s-cred", srv->dir);
	snprintf(cmd, sizeof(cmd),
	         "mkdir -m 700 %s && printf '%%s\\n' %s > %s/renkei-kek", cred,
	         h_kek_hex(), cred);
	sh_ok(cmd);
	snprintf(cmd, sizeof(cmd),
	         "env -u RENKEI_KEK CREDENTIALS_DIRECTORY=%s %s keys check --data "
	         "%s --kek-source credential",
	         cred, h_server_bin(), srv->dir);
	rc = h_sh(cmd, &out);
	if (rc != 0 || strstr(out, "care.db: opens with the key") == NULL)
		fail_msg("keys check with the credential: exit %d: %s", rc, out);
	free(out);
	/* A wrong credential is refused like a wrong KEK. */
	snprintf(cmd, sizeof(cmd), "printf '%%064d' 3 > %s/renkei-kek", cred);
	sh_ok(cmd);
	snprintf(cmd, sizeof(cmd),
	         "env -u RENKEI_KEK CREDENTIALS_DIRECTORY=%s %s keys check --data %s",
	         cred, h_server_bin(), srv->dir);
	rc = h_sh(cmd, &out);
	if (rc != 1 || strstr(out, "systemd credential renkei-kek") == NULL ||
	    strstr(out, "GCM tag check failed") == NULL)
		fail_msg("a wrong credential: exit %d: %s", rc, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "rm -r %s", cred);
	sh_ok(cmd);
}

/* A folder made with a passphrase: the right one opens it, a wrong one
 * is refused, and the KEK is nowhere on disk. */
static void
test_kek_from_a_passphrase(void **state)
{
	char cmd[3000], dir[600], *out = NULL;
	int rc;

	(void)state;
	snprintf(dir, sizeof(dir), "%s-pp", srv->dir);
	snprintf(cmd, sizeof(cmd),
	         "printf 'correct horse battery staple\\n' | env -u RENKEI_KEK "
	         "%s init --data %s --kek-source passphrase "
	         "--kek-passphrase-fd 0 --kek-argon2-m-kib 4096 --kek-argon2-t 1",
	         h_server_bin(), dir);
	rc = h_sh(cmd, &out);
	if (rc != 0 || strstr(out, "passphrase, argon2id") == NULL)
		fail_msg("init with a passphrase: exit %d: %s", rc, out);
	free(out);
	snprintf(cmd, sizeof(cmd),
	         "printf 'correct horse battery staple\\n' | env -u RENKEI_KEK "
	         "%s keys check --data %s --kek-passphrase-fd 0",
	         h_server_bin(), dir);
	rc = h_sh(cmd, &out);
	if (rc != 0 || strstr(out, "audit.db: opens with the key") == NULL)
		fail_msg("keys check with the passphrase: exit %d: %s", rc, out);
	free(out);
	snprintf(cmd, sizeof(cmd),
	         "printf 'incorrect horse battery staple\\n' | env -u RENKEI_KEK "
	         "%s keys check --data %s --kek-passphrase-fd 0",
	         h_server_bin(), dir);
	rc = h_sh(cmd, &out);
	if (rc != 1 || strstr(out, "GCM tag check failed") == NULL)
		fail_msg("a wrong passphrase: exit %d: %s", rc, out);
	free(out);
	snprintf(cmd, sizeof(cmd),
	         "printf 'short\\n' | env -u RENKEI_KEK %s keys check --data %s "
	         "--kek-passphrase-fd 0",
	         h_server_bin(), dir);
	rc = h_sh(cmd, &out);
	if (rc != 1 || strstr(out, "at least 12 characters") == NULL)
		fail_msg("a short passphrase: exit %d: %s", rc, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "grep -q 'renkei-kek 1 argon2id t=1 m=4096' "
	                           "%s-keys/kek.params && rm -r %s %s-keys",
	         dir, dir, dir);
	sh_ok(cmd);
}

/* The backup key's copy for offline media: the key itself (64 hex
 * digits), and a record in the trail that it was handed out. */
static void
test_backup_key_copy(void **state)
{
	char cmd[2000], path[600], hex[65], *text;
	sqlite3 *db;

	(void)state;
	snprintf(path, sizeof(path), "%s-backup.key", srv->dir);
	snprintf(cmd, sizeof(cmd),
	         "umask 077 && %s keys backup-key --data %s > %s", h_server_bin(),
	         srv->dir, path);
	sh_ok(cmd);
	text = h_read_file(path, NULL);
	assert_non_null(text);
	assert_int_equal(h_key_hex(srv, "backup.key", hex), 0);
	assert_int_equal(strlen(text), 65);
	assert_memory_equal(text, hex, 64);
	free(text);
	unlink(path);
	db = h_db_open(srv);
	assert_non_null(db);
	assert_int_equal(h_db_int(db, "SELECT count(*) FROM audit.records WHERE "
	                              "action = 'key.export' AND outcome = 0 AND "
	                              "object LIKE 'backup.key:%'"),
	                 1);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_starts_with_wrapped_keys_and_the_right_kek),
	    cmocka_unit_test(test_refuses_keys_inside_the_data_folder),
	    cmocka_unit_test(test_refuses_a_key_others_can_read),
	    cmocka_unit_test(test_refuses_a_key_of_another_user),
	    cmocka_unit_test(test_refuses_a_wrong_or_missing_kek),
	    cmocka_unit_test(test_refuses_a_half_done_rekey_and_old_keys),
	    cmocka_unit_test(test_kek_from_a_systemd_credential),
	    cmocka_unit_test(test_kek_from_a_passphrase),
	    cmocka_unit_test(test_backup_key_copy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
