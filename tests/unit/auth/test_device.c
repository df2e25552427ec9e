/* Unit tests: auth/device.c and auth/devcert.c — the resume message and
 * its Ed25519 signature (checked against the client library's signer,
 * rkc_device_sign_resume, which is built apart from the server's), my
 * sessions and revoking one, device certificates — on a real SQLCipher
 * store in a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "unit_store.h"

#include "auth/auth.h"
#include "rkc.h"
#include "store/store.h"
#include "util/text.h"

#define NOW   1767225600000LL /* 2026-01-01T00:00:00Z */
#define TOKEN "KJ0l7k0T7ntZbSe93VR5d1XF2QJTDzLk6CmytQhXZzI"

struct fx {
	char dir[64];
	char care[96], audit[96];
	struct store_config cfg;
	struct store_conn *sc;
	struct auth_limits lim;
	int64_t dr, ns;
};

static int64_t
add_user(struct fx *f, const char *login)
{
	char hash[160];
	struct rk_status st = {0};
	struct auth_user u;

	assert_int_equal(
	    auth_password_hash("pw-unit-1", 1, 8, hash, sizeof(hash)), RK_OK);
	assert_int_equal(
	    auth_user_add(f->sc, login, login, PROF_FAMILY, NULL, hash, &st),
	    RK_OK);
	assert_int_equal(auth_user_load(f->sc, login, 0, &u), RK_OK);
	return u.id;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	unit_tmpdir(f->dir, "device");
	unit_store_config(&f->cfg, f->dir, f->care, f->audit);
	assert_int_equal(store_conn_open(&f->sc, &f->cfg, 0, err, sizeof(err)),
	                 RK_OK);
	f->lim = (struct auth_limits){.session_max_s = 3600,
	                              .session_idle_s = 600,
	                              .argon2_t = 1,
	                              .argon2_m_kib = 8};
	f->dr = add_user(f, "dr.a");
	f->ns = add_user(f, "ns.a");
	store_conn_release(f->sc);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_conn_close(f->sc);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

static int64_t
session(struct fx *f, int64_t user, const char *device, int64_t at)
{
	char token[AUTH_TOKEN_LEN + 1];
	int64_t id, exp;

	assert_int_equal(auth_session_create(f->sc, user, device, "192.0.2.7",
	                                     at, &f->lim, token, &id, &exp),
	                 RK_OK);
	return id;
}

/* The 80 bytes, byte for byte as the proto documents them. */
static void
test_resume_message(void **state)
{
	uint8_t nonce[32], msg[AUTH_RESUME_MSG_LEN], h[32];

	(void)state;
	for (int i = 0; i < 32; i++)
		nonce[i] = (uint8_t)i;
	auth_resume_message(nonce, TOKEN, msg);
	assert_memory_equal(msg, "renkei-resume-v1", 16);
	assert_memory_equal(msg + 16, nonce, 32);
	rk_sha256(TOKEN, strlen(TOKEN), h);
	assert_memory_equal(msg + 48, h, 32);
}

/* The published test vector (docs/accounts.md): RFC 8032's first key,
 * nonce 00 01 .. 1f, token TOKEN. Ed25519 is deterministic, so the
 * signature is fixed; an independent implementation (Python's
 * cryptography) verified it when it was written down. */
static void
hex_to(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void
test_resume_vector(void **state)
{
	static const char pub_hex[] =
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
	static const char msg_hex[] =
	    "72656e6b65692d726573756d652d7631000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f36f4181907f33d42bf82711f0beec853"
	    "096d16a9a3b6f2e9ee158dec3ac31699";
	static const char sig_hex[] =
	    "611986dcfbb01040aaf6670afb4a8d01b86fb7faf7c37d159d12e995522a746d"
	    "2d27bc94e0b979729f82f6c3d2ff4236edba895818c2bcc088083e6017e62f0a";
	uint8_t pub[32], want[80], msg[AUTH_RESUME_MSG_LEN], sig[64], nonce[32];

	(void)state;
	for (int i = 0; i < 32; i++)
		nonce[i] = (uint8_t)i;
	hex_to(pub_hex, pub, 32);
	hex_to(msg_hex, want, 80);
	hex_to(sig_hex, sig, 64);
	auth_resume_message(nonce, TOKEN, msg);
	assert_memory_equal(msg, want, 80);
	assert_true(auth_resume_verify(pub, nonce, TOKEN, sig));
	sig[63] ^= 0x01;
	assert_false(auth_resume_verify(pub, nonce, TOKEN, sig));
}

/* What the client library signs, the server verifies; nothing else. */
static void
test_resume_signature(void **state)
{
	char err[200];
	struct rkc_device *d = rkc_device_generate(err, sizeof(err));
	struct rkc_device *other = rkc_device_generate(err, sizeof(err));
	uint8_t pub[32], nonce[32], sig[64], bad[64];

	(void)state;
	assert_non_null(d);
	assert_non_null(other);
	rkc_device_public_key(d, pub);
	rk_random(nonce, sizeof(nonce));
	assert_int_equal(rkc_device_sign_resume(d, nonce, 32, TOKEN, sig), 0);
	assert_true(auth_resume_verify(pub, nonce, TOKEN, sig));

	memcpy(bad, sig, 64);
	bad[10] ^= 0x01;
	assert_false(auth_resume_verify(pub, nonce, TOKEN, bad));
	nonce[0] ^= 0x80; /* another nonce */
	assert_false(auth_resume_verify(pub, nonce, TOKEN, sig));
	nonce[0] ^= 0x80;
	assert_false(auth_resume_verify(
	    pub, nonce, "KJ0l7k0T7ntZbSe93VR5d1XF2QJTDzLk6CmytQhXZzJ", sig));
	assert_int_equal(rkc_device_sign_resume(other, nonce, 32, TOKEN, bad),
	                 0);
	assert_false(auth_resume_verify(pub, nonce, TOKEN, bad));
	/* A "key" of zeros verifies nothing. */
	memset(pub, 0, sizeof(pub));
	assert_false(auth_resume_verify(pub, nonce, TOKEN, sig));
	assert_int_equal(rkc_device_sign_resume(d, nonce, 31, TOKEN, sig), -1);
	rkc_device_free(d);
	rkc_device_free(other);
}

static void
test_device_key_stored(void **state)
{
	struct fx *f = *state;
	uint8_t key[32] = {7, 7, 7}, got[32];
	int64_t s = session(f, f->dr, "phone", NOW);
	bool has = true;

	assert_int_equal(auth_session_device_key(f->sc, s, got, &has), RK_OK);
	assert_false(has);
	assert_int_equal(auth_session_set_device_key(f->sc, s, key), RK_OK);
	assert_int_equal(auth_session_device_key(f->sc, s, got, &has), RK_OK);
	assert_true(has);
	assert_memory_equal(got, key, 32);
	store_conn_release(f->sc);
}

static void
test_list_and_revoke(void **state)
{
	struct fx *f = *state;
	struct auth_session_info s[10];
	size_t n;
	int64_t a = session(f, f->dr, "phone", NOW);
	int64_t b = session(f, f->dr, "tablet", NOW + 1000);
	int64_t old = session(f, f->dr, "idle", NOW - 601 * 1000);
	int64_t theirs = session(f, f->ns, "pc", NOW);

	(void)old;
	assert_int_equal(
	    auth_sessions_list(f->sc, f->dr, NOW + 2000, &f->lim, s, 10, &n),
	    RK_OK);
	/* Newest first; not the idle one, not ns.a's. */
	assert_int_equal(n, 2);
	assert_int_equal(s[0].id, b);
	assert_string_equal(s[0].device, "tablet");
	assert_string_equal(s[0].address, "192.0.2.7");
	assert_int_equal(s[1].id, a);
	assert_false(s[1].has_device_key);
	/* At most max. */
	assert_int_equal(
	    auth_sessions_list(f->sc, f->dr, NOW + 2000, &f->lim, s, 1, &n),
	    RK_OK);
	assert_int_equal(n, 1);

	/* Someone else's, unknown, 0: not found, and nothing ends. */
	assert_int_equal(auth_session_revoke(f->sc, f->dr, theirs, NOW),
	                 RK_ERR_NOT_FOUND);
	assert_int_equal(auth_session_revoke(f->sc, f->dr, 999999, NOW),
	                 RK_ERR_NOT_FOUND);
	assert_int_equal(auth_session_revoke(f->sc, f->dr, 0, NOW),
	                 RK_ERR_NOT_FOUND);
	assert_int_equal(auth_session_live(f->sc, f->ns, theirs), RK_OK);
	/* Mine: ended, once. */
	assert_int_equal(auth_session_revoke(f->sc, f->dr, a, NOW + 3000),
	                 RK_OK);
	assert_int_equal(auth_session_live(f->sc, f->dr, a),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_session_revoke(f->sc, f->dr, a, NOW + 4000),
	                 RK_ERR_NOT_FOUND);
	assert_int_equal(
	    auth_sessions_list(f->sc, f->dr, NOW + 5000, &f->lim, s, 10, &n),
	    RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].id, b);
	store_conn_release(f->sc);
}

static int
count_cert(void *arg, const struct auth_cert *c)
{
	(*(int *)arg)++;
	assert_string_equal(c->login, "ns.a");
	return 0;
}

static void
test_device_certs(void **state)
{
	struct fx *f = *state;
	const char *fp =
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	char bound[AUTH_CERT_FP_LEN + 1];
	struct auth_cert c;
	int64_t s = session(f, f->ns, "phone", NOW);
	int64_t other = session(f, f->ns, "pc", NOW);
	int n = 0;

	assert_true(auth_cert_device_valid("phone-1.a_b"));
	assert_false(auth_cert_device_valid(""));
	assert_false(auth_cert_device_valid("a b"));
	assert_false(auth_cert_device_valid("../x"));

	assert_int_equal(auth_cert_check(f->sc, fp, f->ns, NOW),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_cert_register(f->sc, f->ns, "phone", fp, "0A",
	                                    NOW, NOW + 86400000),
	                 RK_OK);
	assert_int_equal(auth_cert_check(f->sc, fp, f->ns, NOW), RK_OK);
	/* Another user's, or expired: no. */
	assert_int_equal(auth_cert_check(f->sc, fp, f->dr, NOW),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_cert_check(f->sc, fp, f->ns, NOW + 86400000),
	                 RK_ERR_UNAUTHENTICATED);
	/* The same fingerprint twice: refused by the store. */
	assert_int_equal(
	    auth_cert_register(f->sc, f->ns, "phone", fp, "0A", NOW, NOW + 1),
	    RK_ERR_STORE);

	assert_int_equal(auth_session_set_cert(f->sc, s, fp), RK_OK);
	assert_int_equal(auth_session_cert(f->sc, s, bound), RK_OK);
	assert_string_equal(bound, fp);
	assert_int_equal(auth_session_cert(f->sc, other, bound), RK_OK);
	assert_string_equal(bound, "");
	assert_int_equal(auth_cert_list(f->sc, "ns.a", count_cert, &n), RK_OK);
	assert_int_equal(n, 1);

	/* Revoked: its session ends, the other one does not. */
	assert_int_equal(auth_cert_revoke(f->sc, fp, NOW + 10, &c), RK_OK);
	assert_string_equal(c.login, "ns.a");
	assert_string_equal(c.device, "phone");
	assert_int_equal(c.sessions_ended, 1);
	assert_int_equal(auth_session_live(f->sc, f->ns, s),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_session_live(f->sc, f->ns, other), RK_OK);
	assert_int_equal(auth_cert_check(f->sc, fp, f->ns, NOW + 20),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_cert_revoke(f->sc, fp, NOW + 30, &c),
	                 RK_ERR_NOT_FOUND);
	store_conn_release(f->sc);
}

/* A login signature: verifies as a login, never as a resume (and the
 * other way round: the labels keep them apart); known devices are those a
 * session with a second factor used; their throttle source. */
static void
test_login_signature_and_known_device(void **state)
{
	struct fx *f = *state;
	char err[200], src[64], src2[64];
	struct rkc_device *d = rkc_device_generate(err, sizeof(err));
	uint8_t pub[32], nonce[32], sig[64], rsig[64];
	int64_t s;
	bool known = true;

	assert_non_null(d);
	rkc_device_public_key(d, pub);
	rk_random(nonce, sizeof(nonce));
	assert_int_equal(rkc_device_sign_login(d, nonce, 32, "dr.a", sig), 0);
	assert_true(auth_login_verify(pub, nonce, "dr.a", sig));
	assert_false(auth_login_verify(pub, nonce, "dr.b", sig));
	assert_false(auth_resume_verify(pub, nonce, "dr.a", sig));
	assert_int_equal(rkc_device_sign_resume(d, nonce, 32, "dr.a", rsig), 0);
	assert_false(auth_login_verify(pub, nonce, "dr.a", rsig));

	/* Known: a session of the login bound to the key, with a factor. */
	assert_int_equal(auth_device_known(f->sc, "dr.a", pub, &known), RK_OK);
	assert_false(known);
	s = session(f, f->dr, "phone", NOW);
	assert_int_equal(auth_session_set_device_key(f->sc, s, pub), RK_OK);
	assert_int_equal(auth_device_known(f->sc, "dr.a", pub, &known), RK_OK);
	assert_false(known); /* password only */
	assert_int_equal(store_exec(f->sc, "UPDATE sessions SET second_factor = 1"),
	                 RK_OK);
	assert_int_equal(auth_device_known(f->sc, "dr.a", pub, &known), RK_OK);
	assert_true(known);
	assert_int_equal(auth_device_known(f->sc, "ns.a", pub, &known), RK_OK);
	assert_false(known); /* another login */

	auth_device_source(pub, src);
	assert_int_equal(strlen(src), 7 + 32);
	assert_int_equal(strncmp(src, "device:", 7), 0);
	pub[0] ^= 1;
	auth_device_source(pub, src2);
	assert_string_not_equal(src, src2);
	rkc_device_free(d);
	store_conn_release(f->sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resume_message),
	    cmocka_unit_test(test_resume_vector),
	    cmocka_unit_test(test_resume_signature),
	    cmocka_unit_test_setup_teardown(test_device_key_stored, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_list_and_revoke, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_device_certs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login_signature_and_known_device,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
