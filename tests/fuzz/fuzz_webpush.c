/*
 * Fuzz target: what the notice code reads from outside (server/notify/
 * webpush.c) — a push subscription's endpoint (webpush_url_origin,
 * webpush_host_private), base64url (webpush_b64url_decode), a public key
 * (webpush_point_ok), and an aes128gcm body as a receiver decrypts it
 * (webpush_decrypt, with a fixed subscription key).
 *
 * The first byte picks the parser; the rest is its input. Invariants:
 *  - an accepted endpoint's origin is "https://" + a non-empty host of
 *    letters, digits, '-', '.', (':' in brackets) and an optional port,
 *    a prefix of the input (case aside), and parsing the origin again
 *    gives the same origin and host;
 *  - base64url: what decodes encodes back to the same text (less any
 *    '=' padding), and the decoded length is at most 3/4 of the input;
 *  - decryption never writes past its buffer and never accepts a body
 *    whose tag it did not check (a body encrypted here round-trips).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "notify/webpush.h"

static uint8_t ua_priv[32], ua_pub[65];
static const uint8_t auth[16] = {5, 48, 89, 50, 161, 199, 234, 190,
                                 19, 182, 206, 201, 253, 164, 136, 130};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_keep_stderr();
	memset(ua_priv, 0x11, sizeof(ua_priv));
	CHECK(webpush_public_of(ua_priv, ua_pub) == 0);
	return 0;
}

static void
endpoint(const char *s)
{
	char origin[WEBPUSH_ENDPOINT_MAX + 1], host[256], o2[WEBPUSH_ENDPOINT_MAX + 1],
		h2[256];
	const char *why = NULL;

	if (webpush_url_origin(s, origin, sizeof(origin), host, sizeof(host), &why) != 0) {
		CHECK(why != NULL);
		return;
	}
	CHECK(strncmp(origin, "https://", 8) == 0 && host[0] != '\0');
	CHECK(strncasecmp(origin, s, strlen(origin)) == 0);
	for (const char *p = host; *p; p++)
		CHECK(isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == ':');
	CHECK(webpush_url_origin(origin, o2, sizeof(o2), h2, sizeof(h2), &why) == 0);
	CHECK(strcmp(origin, o2) == 0 && strcmp(host, h2) == 0);
	(void)webpush_host_private(host);
}

static void
b64(const char *s, size_t n)
{
	uint8_t out[4096];
	char back[4096 * 4 / 3 + 8];
	long k = webpush_b64url_decode(s, n, out, sizeof(out));
	size_t m = n;

	if (k < 0)
		return;
	CHECK((size_t)k <= n * 3 / 4 + 1);
	webpush_b64url_encode(out, (size_t)k, back);
	while (m > 0 && s[m - 1] == '=')
		m--;
	CHECK(strlen(back) == m && memcmp(back, s, m) == 0);
}

static void
body(const uint8_t *d, size_t n)
{
	uint8_t out[8192], enc[8192];
	long k;

	if (n > 4096)
		n = 4096;
	(void)webpush_point_ok(d, n);
	k = webpush_decrypt(ua_priv, auth, d, n, out, sizeof(out));
	CHECK(k < 0 || (size_t)k < n);
	/* What we encrypt, we decrypt, whatever the plaintext. */
	if (n <= WEBPUSH_PLAIN_MAX) {
		long e = webpush_encrypt(ua_pub, auth, d, n, NULL, NULL, enc, sizeof(enc));
		CHECK(e == (long)(WEBPUSH_HEADER_LEN + n + 17));
		k = webpush_decrypt(ua_priv, auth, enc, (size_t)e, out, sizeof(out));
		/* Trailing zeros of the plaintext read as padding: by design of
		 * RFC 8188; ours end with a JSON brace. */
		size_t want = n;
		while (want > 0 && d[want - 1] == 0)
			want--;
		if (want == n) {
			CHECK(k == (long)n && memcmp(out, d, n) == 0);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size == 0)
		return 0;
	s = fuzz_cstr(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		endpoint(s);
		break;
	case 1:
		b64(s, strlen(s));
		break;
	default:
		body(data + 1, size - 1);
		break;
	}
	free(s);
	return 0;
}
