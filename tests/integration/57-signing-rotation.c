/*
 * 57-signing-rotation: `renkei-server audit rotate-key` (issue 12,
 * item 2). The server records, stops, the signing key is rotated
 * offline (refused while the server runs), the server records more and
 * stops, and then:
 *  - `renkei-server audit verify` follows the keys from audit-root.pub
 *    (unchanged by the rotation) across it: OK;
 *  - the auditor's export of everything verifies offline with the root
 *    key alone — the server's verifier and `renkei audit verify` — and a
 *    range after the rotation too (it carries the rotation); the root key
 *    the server hands out is the trust anchor, the current key another;
 *  - a checkpoint signed by a key that no rotation introduced fails, in
 *    an export (offline) and in a copy of audit.db (on the server); so
 *    does one signed by the key the rotation replaced;
 *  - the server refuses to start with the replaced key.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "harness.h"
#include "audit/canon.h"
#include "audit/verify_export.h"
#include "keys/keys.h"
#include "util/err.h"
#include "util/text.h"

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

static char *
run(const char *cmd, int want_rc)
{
	char *out = NULL;
	int rc = h_sh(cmd, &out);

	if (rc != want_rc)
		fail_msg("%s: exit %d (want %d): %s", cmd, rc, want_rc,
		         out ? out : "");
	return out;
}

/* A few audited requests: a login and a board read. */
static void
some_records(void)
{
	struct rkc *c = h_connect_login(srv, "ns.kobayashi", NULL);
	Renkei__V1__Envelope *r;

	assert_non_null(c);
	r = h_timeline_env(c, "pt-yamada");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	h_env_free(r);
	rkc_close(c);
}

/* The auditor's export of [since, 0) into path; the root and current
 * public keys into root_pem / cur_pem (malloc'ed). */
static void
export_all(int64_t since, const char *path, char **root_pem, char **cur_pem)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *e;
	Renkei__V1__AuditExportRequest q = RENKEI__V1__AUDIT_EXPORT_REQUEST__INIT;
	Renkei__V1__AuditPublicKeyRequest pk =
	    RENKEI__V1__AUDIT_PUBLIC_KEY_REQUEST__INIT;
	struct rkc *c = h_connect_login(srv, "audit.inoue", NULL);
	uint8_t *file = NULL;
	uint64_t at = 0;
	int more;

	assert_non_null(c);
	if (root_pem != NULL) {
		req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_REQUEST;
		req.audit_public_key_request = &pk;
		e = h_call(c, &req);
		h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_RESPONSE);
		*root_pem = strdup(e->audit_public_key_response->pem);
		*cur_pem = strdup(e->audit_public_key_response->current_pem);
		h_env_free(e);
	}
	q.since_ms = since;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_REQUEST;
	req.audit_export_request = &q;
	do {
		q.offset = at;
		e = h_call(c, &req);
		h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_RESPONSE);
		file = realloc(file, at + e->audit_export_response->data.len + 1);
		assert_non_null(file);
		memcpy(file + at, e->audit_export_response->data.data,
		       e->audit_export_response->data.len);
		at += e->audit_export_response->data.len;
		more = e->audit_export_response->more;
		h_env_free(e);
	} while (more);
	assert_int_equal(h_write_file(path, file, at), 0);
	free(file);
	rkc_close(c);
}

/* An Ed25519 signer from a 32-byte seed (NULL: a fresh one). */
static EVP_PKEY *
ed25519(const uint8_t *seed)
{
	uint8_t fresh[32];

	if (seed == NULL) {
		rk_random(fresh, sizeof(fresh));
		seed = fresh;
	}
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
}

/* Sign the checkpoint (record_id, hash, signed_ms) with key: its key_id
 * and sig. */
static void
sign_cp(EVP_PKEY *key, int64_t rec, const uint8_t hash[32], int64_t signed_ms,
        uint8_t key_id[32], uint8_t sig[64])
{
	uint8_t msg[AUDIT_CP_MSG_LEN], pub[32];
	size_t len = 32, siglen = 64;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	audit_cp_message(msg, rec, hash, signed_ms);
	assert_int_equal(EVP_PKEY_get_raw_public_key(key, pub, &len), 1);
	rk_sha256(pub, 32, key_id);
	assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, key,
	                                       NULL),
	                 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(ctx);
}

/* The export at `from` with its last checkpoint line re-signed by key,
 * written to `to`. */
static void
resign_last_checkpoint(const char *from, const char *to, EVP_PKEY *key)
{
	size_t len;
	char *text = h_read_file(from, &len), *line, *last = NULL, *eol;
	char hex_id[65], hex_sig[129], *dumped;
	uint8_t hash[32], key_id[32], sig[64];
	json_t *o, *cp;
	FILE *f;

	assert_non_null(text);
	for (line = text; (line = strstr(line, "{\"checkpoint\":")) != NULL; line++)
		last = line;
	assert_non_null(last);
	eol = strchr(last, '\n');
	assert_non_null(eol);
	o = json_loadb(last, (size_t)(eol - last), 0, NULL);
	assert_non_null(o);
	cp = json_object_get(o, "checkpoint");
	assert_int_equal(rk_hex_decode(json_string_value(json_object_get(cp, "record_hash")),
	                               64, hash, 32),
	                 0);
	sign_cp(key, json_integer_value(json_object_get(cp, "record_id")), hash,
	        json_integer_value(json_object_get(cp, "signed_ms")), key_id, sig);
	rk_hex_encode(key_id, 32, hex_id);
	rk_hex_encode(sig, 64, hex_sig);
	json_object_set_new(cp, "key_id", json_string(hex_id));
	json_object_set_new(cp, "sig", json_string(hex_sig));
	dumped = json_dumps(o, JSON_COMPACT);
	f = fopen(to, "w");
	assert_non_null(f);
	fwrite(text, 1, (size_t)(last - text), f);
	fprintf(f, "%s", dumped);
	fwrite(eol, 1, len - (size_t)(eol - text), f);
	fclose(f);
	free(dumped);
	json_decref(o);
	free(text);
}

/* A copy of the stopped server's folders at DIR/NAME and DIR/NAME-keys,
 * as a struct h_server for h_db_open. */
static struct h_server
copy_of(const char *name)
{
	struct h_server c = {0};
	char cmd[2000];

	int n = snprintf(c.dir, sizeof(c.dir), "%s/%s", srv->dir, name);

	assert_true(n > 0 && (size_t)n + sizeof("-keys") <= sizeof(c.keys));
	memcpy(c.keys, c.dir, (size_t)n);
	memcpy(c.keys + n, "-keys", sizeof("-keys"));
	snprintf(cmd, sizeof(cmd),
	         "mkdir %s && cp -a %s/audit.db* %s/care.db* %s/ && cp -a %s %s",
	         c.dir, srv->dir, srv->dir, c.dir, srv->keys, c.keys);
	free(run(cmd, 0));
	return c;
}

/* In the copy, the newest checkpoint replaced by one over the same
 * record signed by key (as someone holding the database key and that
 * signing key could). */
static void
forge_newest_checkpoint(const struct h_server *c, EVP_PKEY *key)
{
	sqlite3 *db = h_db_open(c);
	sqlite3_stmt *q;
	uint8_t hash[32], key_id[32], sig[64];
	int64_t id, rec, signed_ms;

	assert_non_null(db);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT id, record_id, record_hash, "
	                                    "signed_ms FROM audit.checkpoints ORDER "
	                                    "BY id DESC LIMIT 1",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	id = sqlite3_column_int64(q, 0);
	rec = sqlite3_column_int64(q, 1);
	memcpy(hash, sqlite3_column_blob(q, 2), 32);
	signed_ms = sqlite3_column_int64(q, 3);
	sqlite3_finalize(q);
	sign_cp(key, rec, hash, signed_ms, key_id, sig);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER audit.checkpoints_no_delete",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "DELETE FROM audit.checkpoints WHERE id = ?1",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(q, 1, id);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "INSERT INTO audit.checkpoints(id, "
	                                    "record_id, record_hash, signed_ms, "
	                                    "key_id, sig) VALUES (?1, ?2, ?3, ?4, "
	                                    "?5, ?6)",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, rec);
	sqlite3_bind_blob(q, 3, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, signed_ms);
	sqlite3_bind_blob(q, 5, key_id, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 6, sig, 64, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* ---------------------------------------------------------------- test */

static void
test_rotated_key_verifies_and_strangers_fail(void **state)
{
	char cmd[2000], path[600], root[600], cur[600], pem[600], forged[600];
	char old_hex[65], *out, *root_before, *root_pem = NULL, *cur_pem = NULL;
	uint8_t old_seed[32];
	struct audit_verify_result res;
	EVP_PKEY *stranger, *old;
	int64_t after_ms;

	(void)state;
	some_records();
	snprintf(root, sizeof(root), "%s/audit-root.pub", srv->keys);
	snprintf(cur, sizeof(cur), "%s/audit-signing.pub", srv->keys);
	root_before = h_read_file(root, NULL);
	assert_non_null(root_before);
	assert_int_equal(h_key_hex(srv, "audit-signing.key", old_hex), 0);
	assert_int_equal(rk_hex_decode(old_hex, 64, old_seed, 32), 0);

	/* Not while the server runs. */
	snprintf(cmd, sizeof(cmd), "%s audit rotate-key --data %s", h_server_bin(),
	         srv->dir);
	out = run(cmd, 1);
	assert_non_null(strstr(out, "cannot run beside it"));
	free(out);
	assert_true(h_exited_cleanly(h_server_stop(srv, SIGTERM, 15000)));
	out = run(cmd, 0);
	print_message("%s", out);
	assert_non_null(strstr(out, "audit signing key rotated"));
	free(out);
	/* The trust anchor stays; the key in use changed. */
	char *root_after = h_read_file(root, NULL), *cur_after = h_read_file(cur, NULL);
	assert_string_equal(root_before, root_after);
	assert_string_not_equal(root_before, cur_after);
	free(root_after);

	/* More records, signed by the new key; a clean stop signs the last. */
	assert_int_equal(h_server_restart(srv), 0);
	after_ms = h_now_ms();
	some_records();
	snprintf(path, sizeof(path), "%s/all.jsonl", srv->dir);
	export_all(0, path, &root_pem, &cur_pem);
	assert_string_equal(root_pem, root_before);
	assert_string_equal(cur_pem, cur_after);
	free(cur_after);
	snprintf(forged, sizeof(forged), "%s/after.jsonl", srv->dir);
	export_all(after_ms, forged, NULL, NULL);
	assert_true(h_exited_cleanly(h_server_stop(srv, SIGTERM, 15000)));

	/* On the server: the whole chain, across the rotation. */
	snprintf(cmd, sizeof(cmd), "%s audit verify --data %s", h_server_bin(),
	         srv->dir);
	out = run(cmd, 0);
	print_message("%s", out);
	assert_non_null(strstr(out, "OK:"));
	free(out);

	/* Offline, with the root key alone: everything, and a range after
	 * the rotation. */
	snprintf(pem, sizeof(pem), "%s/root.pem", srv->dir);
	assert_int_equal(h_write_file(pem, root_pem, strlen(root_pem)), 0);
	assert_int_equal(audit_verify_export(path, pem, &res), RK_OK);
	if (!res.ok)
		fail_msg("the export does not verify: %s", res.why);
	assert_int_equal(audit_verify_export(forged, pem, &res), RK_OK);
	if (!res.ok)
		fail_msg("the range after the rotation does not verify: %s", res.why);
	out = h_read_file(forged, NULL);
	assert_non_null(strstr(out, "\"rotations\":1}\n{\"rotation\":"));
	free(out);
#ifdef RENKEI_CLI_BIN
	snprintf(cmd, sizeof(cmd), "%s audit verify %s --pubkey %s", RENKEI_CLI_BIN,
	         path, pem);
	free(run(cmd, 0));
	/* Trusting the current key instead of the root: the root's
	 * checkpoints are then strangers'. */
	snprintf(cmd, sizeof(cmd), "%s audit verify %s --pubkey %s", RENKEI_CLI_BIN,
	         path, cur);
	out = run(cmd, 1);
	assert_non_null(strstr(out, "no rotation introduced"));
	free(out);
#endif

	/* Offline: the newest checkpoint re-signed by a stranger, then by
	 * the replaced key. */
	stranger = ed25519(NULL);
	old = ed25519(old_seed);
	OPENSSL_cleanse(old_seed, sizeof(old_seed));
	assert_non_null(stranger);
	assert_non_null(old);
	snprintf(forged, sizeof(forged), "%s/forged.jsonl", srv->dir);
	resign_last_checkpoint(path, forged, stranger);
	assert_int_equal(audit_verify_export(forged, pem, &res), RK_OK);
	assert_false(res.ok);
	print_message("a stranger's checkpoint, offline: %s\n", res.why);
	assert_non_null(strstr(res.why, "a key that no rotation introduced"));
#ifdef RENKEI_CLI_BIN
	snprintf(cmd, sizeof(cmd), "%s audit verify %s --pubkey %s", RENKEI_CLI_BIN,
	         forged, pem);
	out = run(cmd, 1);
	assert_non_null(strstr(out, "no rotation introduced"));
	free(out);
#endif
	resign_last_checkpoint(path, forged, old);
	assert_int_equal(audit_verify_export(forged, pem, &res), RK_OK);
	assert_false(res.ok);
	assert_non_null(strstr(res.why, "a rotation had already replaced"));

	/* On the server: the same forgeries in copies of audit.db. */
	struct h_server c1 = copy_of("forged-stranger");
	forge_newest_checkpoint(&c1, stranger);
	snprintf(cmd, sizeof(cmd), "%s audit verify --data %s", h_server_bin(),
	         c1.dir);
	out = run(cmd, 1);
	print_message("a stranger's checkpoint, on the server: %s", out);
	assert_non_null(strstr(out, "FAILED"));
	assert_non_null(strstr(out, "a key that no rotation introduced"));
	free(out);
	struct h_server c2 = copy_of("forged-old");
	forge_newest_checkpoint(&c2, old);
	snprintf(cmd, sizeof(cmd), "%s audit verify --data %s", h_server_bin(),
	         c2.dir);
	out = run(cmd, 1);
	assert_non_null(strstr(out, "a rotation had already replaced"));
	free(out);

	/* The replaced key put back in place: the server will not sign with
	 * it. */
	struct h_server c3 = copy_of("old-key");
	struct keys_kek kek = {.source = "the test KEK"};
	char key_path[600], err[2000];
	uint8_t seed[32];
	assert_int_equal(rk_hex_decode(h_kek_hex(), 64, kek.bytes, 32), 0);
	assert_int_equal(rk_hex_decode(old_hex, 64, seed, 32), 0);
	snprintf(key_path, sizeof(key_path), "%s/audit-signing.key", c3.keys);
	assert_int_equal(keys_wrap_file(key_path, "audit-signing", &kek, seed, true,
	                                err, sizeof(err)),
	                 0);
	OPENSSL_cleanse(seed, sizeof(seed));
	keys_kek_wipe(&kek);
	snprintf(cmd, sizeof(cmd), "timeout 30 %s serve --data %s --port %d",
	         h_server_bin(), c3.dir, srv->port);
	out = run(cmd, 1);
	assert_non_null(strstr(out, "is not the key the audit trail expects"));
	free(out);

	EVP_PKEY_free(stranger);
	EVP_PKEY_free(old);
	free(root_before);
	free(root_pem);
	free(cur_pem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rotated_key_verifies_and_strangers_fail),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
