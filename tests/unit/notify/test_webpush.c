/*
 * Web Push cryptography (server/notify/webpush.c) against RFC 8291's
 * worked example (section 5 and Appendix A), and the checks a
 * subscription passes before it is stored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "notify/webpush.h"

/* RFC 8291 Appendix A, in its base64url. */
static const char PLAIN[] = "When I grow up, I want to be a watermelon";
static const char UA_PUBLIC[] = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-"
                                "AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
static const char UA_PRIVATE[] = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
static const char AS_PUBLIC[] = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3v"
                                "CYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
static const char AS_PRIVATE[] = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
static const char AUTH[] = "BTBZMqHH6r4Tts7J_aSIgg";
static const char SALT[] = "DGv6ra1nlYgDCS1FRnbzlw";
static const char BODY[] =
	"DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgD"
	"ll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt"
	"2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

static size_t
dec(const char *s, uint8_t *out, size_t cap)
{
	long n = webpush_b64url_decode(s, strlen(s), out, cap);
	assert_true(n >= 0);
	return (size_t)n;
}

static void
rfc8291_example_encrypts_to_the_rfc_body(void **state)
{
	uint8_t ua_pub[65], as_priv[32], as_pub[65], pub[65], auth[16], salt[16];
	uint8_t out[256], want[256];
	char b64[400];
	long n;

	(void)state;
	assert_int_equal(dec(UA_PUBLIC, ua_pub, sizeof(ua_pub)), 65);
	assert_int_equal(dec(AS_PRIVATE, as_priv, sizeof(as_priv)), 32);
	assert_int_equal(dec(AS_PUBLIC, as_pub, sizeof(as_pub)), 65);
	assert_int_equal(dec(AUTH, auth, sizeof(auth)), 16);
	assert_int_equal(dec(SALT, salt, sizeof(salt)), 16);
	/* Our point arithmetic gives the RFC's public key. */
	assert_int_equal(webpush_public_of(as_priv, pub), 0);
	assert_memory_equal(pub, as_pub, 65);
	n = webpush_encrypt(ua_pub, auth, (const uint8_t *)PLAIN, strlen(PLAIN),
	                    as_priv, salt, out, sizeof(out));
	assert_int_equal(n, (long)dec(BODY, want, sizeof(want)));
	assert_memory_equal(out, want, (size_t)n);
	webpush_b64url_encode(out, (size_t)n, b64);
	assert_string_equal(b64, BODY);
}

static void
rfc8291_example_decrypts(void **state)
{
	uint8_t ua_priv[32], auth[16], body[256], out[256];
	size_t len;
	long n;

	(void)state;
	dec(UA_PRIVATE, ua_priv, sizeof(ua_priv));
	dec(AUTH, auth, sizeof(auth));
	len = dec(BODY, body, sizeof(body));
	n = webpush_decrypt(ua_priv, auth, body, len, out, sizeof(out));
	assert_int_equal(n, (long)strlen(PLAIN));
	assert_memory_equal(out, PLAIN, (size_t)n);
	/* One flipped bit anywhere in the ciphertext fails the tag. */
	body[len - 20] ^= 1;
	assert_int_equal(webpush_decrypt(ua_priv, auth, body, len, out, sizeof(out)), -1);
	body[len - 20] ^= 1;
	/* So does the wrong auth secret. */
	auth[0] ^= 1;
	assert_int_equal(webpush_decrypt(ua_priv, auth, body, len, out, sizeof(out)), -1);
}

static void
fresh_keys_round_trip(void **state)
{
	uint8_t ua_priv[32], ua_pub[65], auth[16] = {1, 2, 3}, out[300], back[300];
	const char msg[] = "renkei: 3 new posts";
	long n, m;

	(void)state;
	webpush_new_private(ua_priv);
	assert_int_equal(webpush_public_of(ua_priv, ua_pub), 0);
	n = webpush_encrypt(ua_pub, auth, (const uint8_t *)msg, strlen(msg), NULL,
	                    NULL, out, sizeof(out));
	assert_int_equal(n, WEBPUSH_HEADER_LEN + (long)strlen(msg) + 17);
	m = webpush_decrypt(ua_priv, auth, out, (size_t)n, back, sizeof(back));
	assert_int_equal(m, (long)strlen(msg));
	assert_memory_equal(back, msg, strlen(msg));
	/* Too small a buffer, or a point off the curve: refused. */
	assert_int_equal(webpush_encrypt(ua_pub, auth, (const uint8_t *)msg,
	                                 strlen(msg), NULL, NULL, out, 50), -1);
	ua_pub[64] ^= 1;
	assert_int_equal(webpush_encrypt(ua_pub, auth, (const uint8_t *)msg,
	                                 strlen(msg), NULL, NULL, out, sizeof(out)), -1);
}

static void
points_are_checked(void **state)
{
	uint8_t p[65];

	(void)state;
	dec(UA_PUBLIC, p, sizeof(p));
	assert_true(webpush_point_ok(p, 65));
	assert_false(webpush_point_ok(p, 64));
	p[0] = 0x02; /* compressed form: not what a subscription carries */
	assert_false(webpush_point_ok(p, 65));
	p[0] = 0x04;
	p[40] ^= 0x10; /* off the curve */
	assert_false(webpush_point_ok(p, 65));
	memset(p, 0, sizeof(p));
	p[0] = 0x04;
	assert_false(webpush_point_ok(p, 65));
	/* Scalars 0 and >= n have no public key. */
	uint8_t zero[32] = {0}, big[32];
	memset(big, 0xff, sizeof(big));
	assert_int_equal(webpush_public_of(zero, p), -1);
	assert_int_equal(webpush_public_of(big, p), -1);
}

static void
vapid_jwt_verifies_and_names_the_origin(void **state)
{
	uint8_t priv[32], pub[65], other[32], opub[65];
	char hdr[1200], claims[600], jwt[1100], k[100], kb[100];
	uint8_t kraw[70];

	(void)state;
	webpush_new_private(priv);
	webpush_public_of(priv, pub);
	assert_int_equal(webpush_vapid_header(priv, "https://push.example.net",
	                                      1700000000, "mailto:ops@example.jp",
	                                      hdr, sizeof(hdr)),
	                 0);
	assert_int_equal(strncmp(hdr, "vapid t=", 8), 0);
	const char *kk = strstr(hdr, ", k=");
	assert_non_null(kk);
	memcpy(jwt, hdr + 8, (size_t)(kk - hdr - 8));
	jwt[kk - hdr - 8] = '\0';
	snprintf(k, sizeof(k), "%s", kk + 4);
	assert_int_equal(webpush_b64url_decode(k, strlen(k), kraw, sizeof(kraw)), 65);
	assert_memory_equal(kraw, pub, 65);
	webpush_b64url_encode(pub, 65, kb);
	assert_string_equal(k, kb);
	assert_int_equal(webpush_jwt_verify(jwt, pub, claims, sizeof(claims)), 0);
	assert_string_equal(claims, "{\"aud\":\"https://push.example.net\","
	                            "\"exp\":1700000000,\"sub\":\"mailto:ops@example.jp\"}");
	/* Another key does not verify it; nor does a changed claim. */
	webpush_new_private(other);
	webpush_public_of(other, opub);
	assert_int_equal(webpush_jwt_verify(jwt, opub, claims, sizeof(claims)), -1);
	char *dot = strchr(jwt, '.');
	dot[3] = dot[3] == 'A' ? 'B' : 'A';
	assert_int_equal(webpush_jwt_verify(jwt, pub, claims, sizeof(claims)), -1);
}

static void
endpoints_and_addresses(void **state)
{
	char origin[300], host[256];
	const char *why;

	(void)state;
	assert_int_equal(webpush_url_origin("https://Push.Example.net/wpush/v2/abc",
	                                    origin, sizeof(origin), host,
	                                    sizeof(host), &why),
	                 0);
	assert_string_equal(origin, "https://push.example.net");
	assert_string_equal(host, "push.example.net");
	assert_int_equal(webpush_url_origin("https://127.0.0.1:8443/x", origin,
	                                    sizeof(origin), host, sizeof(host), &why),
	                 0);
	assert_string_equal(origin, "https://127.0.0.1:8443");
	assert_int_equal(webpush_url_origin("https://[::1]:9/x", origin,
	                                    sizeof(origin), host, sizeof(host), &why),
	                 0);
	assert_string_equal(host, "::1");
	static const char *const bad[] = {
		"http://push.example.net/x", "https://", "https:///x",
		"https://user@push.example.net/x", "https://push.example.net:0/x",
		"https://push.example.net:99999/x", "https://push example/x",
		"https://push.example.net?x", "ftp://x/y", "https://[::1/x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(webpush_url_origin(bad[i], origin, sizeof(origin),
		                                    host, sizeof(host), &why),
		                 -1);
	static const char *const priv[] = {
		"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.1.1", "100.64.0.1", "0.0.0.0", "::1", "::", "fe80::1",
		"fd00::1", "::ffff:127.0.0.1", "localhost", "a.localhost", "127.1",
		"2130706433", "0x7f000001", "224.0.0.1",
	};
	for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		assert_true(webpush_host_private(priv[i]));
	static const char *const pub[] = {
		"8.8.8.8", "172.32.0.1", "2001:db8::1", "fcm.googleapis.com",
		"updates.push.services.mozilla.com",
	};
	for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++)
		assert_false(webpush_host_private(pub[i]));
}

static void
base64url_is_strict(void **state)
{
	uint8_t out[8];

	(void)state;
	assert_int_equal(webpush_b64url_decode("AQID", 4, out, sizeof(out)), 3);
	assert_int_equal(webpush_b64url_decode("AQI", 3, out, sizeof(out)), 2);
	assert_int_equal(webpush_b64url_decode("AQI=", 4, out, sizeof(out)), 2);
	assert_int_equal(webpush_b64url_decode("A", 1, out, sizeof(out)), -1);
	assert_int_equal(webpush_b64url_decode("AQ+D", 4, out, sizeof(out)), -1);
	assert_int_equal(webpush_b64url_decode("AQJ", 3, out, sizeof(out)), -1);
	assert_int_equal(webpush_b64url_decode("AQIDBAUGBwgJ", 12, out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc8291_example_encrypts_to_the_rfc_body),
		cmocka_unit_test(rfc8291_example_decrypts),
		cmocka_unit_test(fresh_keys_round_trip),
		cmocka_unit_test(points_are_checked),
		cmocka_unit_test(vapid_jwt_verifies_and_names_the_origin),
		cmocka_unit_test(endpoints_and_addresses),
		cmocka_unit_test(base64url_is_strict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
