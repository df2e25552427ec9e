/*
 * Web Push cryptography (webpush.h): RFC 8291 with RFC 8188's aes128gcm,
 * and RFC 8292's VAPID JWT. The key schedule, in the RFC's names:
 *
 *   ecdh_secret = ECDH(as_private, ua_public)
 *   PRK_key     = HMAC-SHA-256(auth_secret, ecdh_secret)
 *   IKM         = HMAC-SHA-256(PRK_key, "WebPush: info" 0x00 ua_public
 *                                      as_public 0x01)
 *   PRK         = HMAC-SHA-256(salt, IKM)
 *   CEK         = HMAC-SHA-256(PRK, "Content-Encoding: aes128gcm" 0x00 0x01)[0..16)
 *   NONCE       = HMAC-SHA-256(PRK, "Content-Encoding: nonce" 0x00 0x01)[0..12)
 *   body        = salt || rs (4, big-endian) || 65 || as_public ||
 *                 AES-128-GCM(CEK, NONCE, plaintext || 0x02) || tag
 *
 * (Each expand is one HKDF block: every output is at most 32 bytes.)
 */
#include "notify/webpush.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

/* ------------------------------------------------------------ base64url */

static const char b64u[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
webpush_b64url_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0, i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64u[v >> 18];
		out[o++] = b64u[(v >> 12) & 63];
		out[o++] = b64u[(v >> 6) & 63];
		out[o++] = b64u[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64u[v >> 18];
		out[o++] = b64u[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64u[v >> 18];
		out[o++] = b64u[(v >> 12) & 63];
		out[o++] = b64u[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64u_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
webpush_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64u_val(in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero (a canonical encoding). */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

/* ------------------------------------------------------------ P-256 keys */

bool
webpush_point_ok(const uint8_t *pub, size_t len)
{
	EC_GROUP *g;
	EC_POINT *p;
	bool ok = false;

	if (len != WEBPUSH_PUB_LEN || pub[0] != 0x04)
		return false;
	g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	p = g ? EC_POINT_new(g) : NULL;
	/* oct2point checks that the point is on the curve. */
	if (p != NULL && EC_POINT_oct2point(g, p, pub, len, NULL) == 1 &&
	    !EC_POINT_is_at_infinity(g, p) && EC_POINT_is_on_curve(g, p, NULL) == 1)
		ok = true;
	EC_POINT_free(p);
	EC_GROUP_free(g);
	return ok;
}

int
webpush_public_of(const uint8_t priv[WEBPUSH_PRIV_LEN],
                  uint8_t pub[WEBPUSH_PUB_LEN])
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *p = g ? EC_POINT_new(g) : NULL;
	BIGNUM *d = BN_bin2bn(priv, WEBPUSH_PRIV_LEN, NULL);
	int rc = -1;

	if (p == NULL || d == NULL || BN_is_zero(d) ||
	    BN_cmp(d, EC_GROUP_get0_order(g)) >= 0)
		goto out;
	if (EC_POINT_mul(g, p, d, NULL, NULL, NULL) != 1 ||
	    EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, pub,
	                       WEBPUSH_PUB_LEN, NULL) != WEBPUSH_PUB_LEN)
		goto out;
	rc = 0;
out:
	BN_clear_free(d);
	EC_POINT_free(p);
	EC_GROUP_free(g);
	return rc;
}

void
webpush_new_private(uint8_t priv[WEBPUSH_PRIV_LEN])
{
	uint8_t pub[WEBPUSH_PUB_LEN];

	/* A scalar at or above the order comes up with probability ~2^-32. */
	do {
		if (RAND_bytes(priv, WEBPUSH_PRIV_LEN) != 1)
			abort(); /* no randomness: nothing safe to do */
	} while (webpush_public_of(priv, pub) != 0);
}

/* An EVP_PKEY for a private scalar (and its public point), or for a
 * public point alone (priv NULL). */
static EVP_PKEY *
pkey_of(const uint8_t *priv, const uint8_t pub[WEBPUSH_PUB_LEN])
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	BIGNUM *d = NULL;

	if (b == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
	                                     "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub,
	                                      WEBPUSH_PUB_LEN))
		goto out;
	if (priv != NULL) {
		d = BN_secure_new();
		if (d == NULL || BN_bin2bn(priv, WEBPUSH_PRIV_LEN, d) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d))
			goto out;
	}
	params = OSSL_PARAM_BLD_to_param(b);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k,
	                      priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
	                      params) != 1)
		k = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	BN_clear_free(d);
	return k;
}

static int
ecdh(const uint8_t priv[WEBPUSH_PRIV_LEN], const uint8_t mypub[WEBPUSH_PUB_LEN],
     const uint8_t peer[WEBPUSH_PUB_LEN], uint8_t secret[32])
{
	EVP_PKEY *me = pkey_of(priv, mypub), *them = pkey_of(NULL, peer);
	EVP_PKEY_CTX *ctx = me ? EVP_PKEY_CTX_new(me, NULL) : NULL;
	size_t n = 32;
	int rc = -1;

	if (ctx != NULL && them != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer(ctx, them) == 1 &&
	    EVP_PKEY_derive(ctx, secret, &n) == 1 && n == 32)
		rc = 0;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(me);
	EVP_PKEY_free(them);
	return rc;
}

/* ------------------------------------------------------------ RFC 8291 */

static int
hmac(const uint8_t *key, size_t klen, const uint8_t *msg, size_t n,
     uint8_t out[32])
{
	unsigned int len = 32;
	return HMAC(EVP_sha256(), key, (int)klen, msg, n, out, &len) ? 0 : -1;
}

/* CEK and NONCE from the ECDH secret (the schedule at the top). */
static int
derive(const uint8_t secret[32], const uint8_t auth[WEBPUSH_AUTH_LEN],
       const uint8_t ua_pub[WEBPUSH_PUB_LEN],
       const uint8_t as_pub[WEBPUSH_PUB_LEN], const uint8_t salt[WEBPUSH_SALT_LEN],
       uint8_t cek[16], uint8_t nonce[12])
{
	static const char info[] = "WebPush: info";
	static const char cek_info[] = "Content-Encoding: aes128gcm";
	static const char nonce_info[] = "Content-Encoding: nonce";
	uint8_t prk_key[32], ikm[32], prk[32], t[32];
	uint8_t buf[sizeof(info) + 2 * WEBPUSH_PUB_LEN + 1];
	size_t n = 0;
	int rc = -1;

	memcpy(buf, info, sizeof(info)); /* with its NUL: the 0x00 */
	n = sizeof(info);
	memcpy(buf + n, ua_pub, WEBPUSH_PUB_LEN);
	n += WEBPUSH_PUB_LEN;
	memcpy(buf + n, as_pub, WEBPUSH_PUB_LEN);
	n += WEBPUSH_PUB_LEN;
	buf[n++] = 0x01;
	if (hmac(auth, WEBPUSH_AUTH_LEN, secret, 32, prk_key) != 0 ||
	    hmac(prk_key, 32, buf, n, ikm) != 0 ||
	    hmac(salt, WEBPUSH_SALT_LEN, ikm, 32, prk) != 0)
		goto out;
	memcpy(buf, cek_info, sizeof(cek_info));
	buf[sizeof(cek_info)] = 0x01;
	if (hmac(prk, 32, buf, sizeof(cek_info) + 1, t) != 0)
		goto out;
	memcpy(cek, t, 16);
	memcpy(buf, nonce_info, sizeof(nonce_info));
	buf[sizeof(nonce_info)] = 0x01;
	if (hmac(prk, 32, buf, sizeof(nonce_info) + 1, t) != 0)
		goto out;
	memcpy(nonce, t, 12);
	rc = 0;
out:
	OPENSSL_cleanse(prk_key, sizeof(prk_key));
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(prk, sizeof(prk));
	OPENSSL_cleanse(t, sizeof(t));
	return rc;
}

/* AES-128-GCM one shot; enc 1 encrypt (tag appended), 0 decrypt (tag
 * at the end of in, checked). Returns the output length or -1. */
static long
gcm(int enc, const uint8_t key[16], const uint8_t nonce[12], const uint8_t *in,
    size_t n, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;
	long rc = -1;

	if (c == NULL)
		return -1;
	if (!enc && n < 16)
		goto out;
	if (EVP_CipherInit_ex(c, EVP_aes_128_gcm(), NULL, key, nonce, enc) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
	                                (void *)(in + n - 16)) != 1)
		goto out;
	if (EVP_CipherUpdate(c, out, &l1, in, (int)(enc ? n : n - 16)) != 1 ||
	    EVP_CipherFinal_ex(c, out + l1, &l2) != 1)
		goto out;
	if (enc) {
		if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + l1 + l2) != 1)
			goto out;
		rc = l1 + l2 + 16;
	} else
		rc = l1 + l2;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

long
webpush_encrypt(const uint8_t ua_pub[WEBPUSH_PUB_LEN],
                const uint8_t auth[WEBPUSH_AUTH_LEN], const uint8_t *plain,
                size_t n, const uint8_t *as_priv_in, const uint8_t *salt_in,
                uint8_t *out, size_t cap)
{
	uint8_t as_priv[WEBPUSH_PRIV_LEN], as_pub[WEBPUSH_PUB_LEN], salt[16];
	uint8_t secret[32], cek[16], nonce[12], *rec = NULL;
	long rc = -1, clen;
	size_t need = WEBPUSH_HEADER_LEN + n + 1 + 16;

	if (n > WEBPUSH_PLAIN_MAX || cap < need || !webpush_point_ok(ua_pub, WEBPUSH_PUB_LEN))
		return -1;
	if (as_priv_in != NULL)
		memcpy(as_priv, as_priv_in, sizeof(as_priv));
	else
		webpush_new_private(as_priv);
	if (salt_in != NULL)
		memcpy(salt, salt_in, sizeof(salt));
	else if (RAND_bytes(salt, sizeof(salt)) != 1)
		goto out;
	if (webpush_public_of(as_priv, as_pub) != 0 ||
	    ecdh(as_priv, as_pub, ua_pub, secret) != 0 ||
	    derive(secret, auth, ua_pub, as_pub, salt, cek, nonce) != 0)
		goto out;
	rec = malloc(n + 1);
	if (rec == NULL)
		goto out;
	memcpy(rec, plain, n);
	rec[n] = 0x02; /* the last (and only) record's delimiter, no padding */
	memcpy(out, salt, 16);
	out[16] = (uint8_t)(WEBPUSH_RS >> 24);
	out[17] = (uint8_t)(WEBPUSH_RS >> 16);
	out[18] = (uint8_t)(WEBPUSH_RS >> 8);
	out[19] = (uint8_t)WEBPUSH_RS;
	out[20] = WEBPUSH_PUB_LEN;
	memcpy(out + 21, as_pub, WEBPUSH_PUB_LEN);
	clen = gcm(1, cek, nonce, rec, n + 1, out + WEBPUSH_HEADER_LEN);
	if (clen < 0)
		goto out;
	rc = WEBPUSH_HEADER_LEN + clen;
out:
	if (rec != NULL) {
		OPENSSL_cleanse(rec, n + 1);
		free(rec);
	}
	OPENSSL_cleanse(as_priv, sizeof(as_priv));
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(cek, sizeof(cek));
	OPENSSL_cleanse(nonce, sizeof(nonce));
	return rc;
}

long
webpush_decrypt(const uint8_t ua_priv[WEBPUSH_PRIV_LEN],
                const uint8_t auth[WEBPUSH_AUTH_LEN], const uint8_t *body,
                size_t len, uint8_t *out, size_t cap)
{
	uint8_t ua_pub[WEBPUSH_PUB_LEN], secret[32], cek[16], nonce[12];
	const uint8_t *as_pub;
	uint32_t rs;
	long n = -1;

	if (len < WEBPUSH_HEADER_LEN + 17 || body[20] != WEBPUSH_PUB_LEN)
		return -1;
	rs = (uint32_t)body[16] << 24 | (uint32_t)body[17] << 16 |
	     (uint32_t)body[18] << 8 | body[19];
	/* One record only: it must fit the record size. */
	if (rs < 18 || len - WEBPUSH_HEADER_LEN > rs || cap < len)
		return -1;
	as_pub = body + 21;
	if (!webpush_point_ok(as_pub, WEBPUSH_PUB_LEN) ||
	    webpush_public_of(ua_priv, ua_pub) != 0 ||
	    ecdh(ua_priv, ua_pub, as_pub, secret) != 0 ||
	    derive(secret, auth, ua_pub, as_pub, body, cek, nonce) != 0)
		goto out;
	n = gcm(0, cek, nonce, body + WEBPUSH_HEADER_LEN, len - WEBPUSH_HEADER_LEN,
	        out);
	if (n < 0)
		goto out;
	/* Strip the padding (zeros) back to the delimiter, which must be
	 * 0x02: the last record. */
	while (n > 0 && out[n - 1] == 0)
		n--;
	if (n == 0 || out[n - 1] != 0x02)
		n = -1;
	else
		n--;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(cek, sizeof(cek));
	OPENSSL_cleanse(nonce, sizeof(nonce));
	return n;
}

/* ------------------------------------------------------------ endpoints */

int
webpush_url_origin(const char *url, char *out, size_t cap, char *host,
                   size_t hostcap, const char **why)
{
	const char *p, *h, *end;
	size_t hl, len = strlen(url);
	bool bracket = false;

	if (len > WEBPUSH_ENDPOINT_MAX) {
		*why = "the endpoint is longer than 1024 bytes";
		return -1;
	}
	if (strncmp(url, "https://", 8) != 0) {
		*why = "the endpoint must be an https:// URL";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f) {
			*why = "the endpoint holds a space, control or non-ASCII "
			       "character";
			return -1;
		}
	h = url + 8;
	if (*h == '[') {
		bracket = true;
		end = strchr(h, ']');
		if (end == NULL) {
			*why = "the endpoint's IPv6 address has no closing ]";
			return -1;
		}
		p = end + 1;
		h++;
		hl = (size_t)(end - h);
	} else {
		p = h + strcspn(h, ":/?#");
		hl = (size_t)(p - h);
	}
	if (hl == 0 || hl >= hostcap) {
		*why = "the endpoint has no host, or one too long";
		return -1;
	}
	for (size_t i = 0; i < hl; i++) {
		char c = h[i];
		if (!(isalnum((unsigned char)c) || c == '-' || c == '.' ||
		      (bracket && c == ':'))) {
			*why = "the endpoint's host holds a character a host name "
			       "may not (userinfo is not allowed)";
			return -1;
		}
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (*p == ':') {
		const char *q = p + 1;
		long port = 0;
		while (isdigit((unsigned char)*q) && port <= 65535)
			port = port * 10 + (*q++ - '0');
		if (q == p + 1 || port < 1 || port > 65535 ||
		    (*q != '\0' && *q != '/')) {
			*why = "the endpoint's port is not a number from 1 to 65535";
			return -1;
		}
		p = q;
	}
	if (*p != '\0' && *p != '/') {
		*why = "the endpoint's host must be followed by a path";
		return -1;
	}
	if ((size_t)(p - url) >= cap) {
		*why = "the endpoint's origin is too long";
		return -1;
	}
	memcpy(out, url, (size_t)(p - url));
	out[p - url] = '\0';
	for (char *c = out + 8; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (char *c = host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return 0;
}

static bool
v4_private(const uint8_t a[4])
{
	return a[0] == 0 || a[0] == 10 || a[0] == 127 ||
	       (a[0] == 169 && a[1] == 254) || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	       (a[0] == 192 && a[1] == 168) || (a[0] == 100 && (a[1] & 0xc0) == 64) ||
	       (a[0] == 192 && a[1] == 0 && a[2] == 0) || a[0] >= 224 ||
	       (a[0] == 198 && (a[1] & 0xfe) == 18);
}

bool
webpush_addr_private(const char *addr)
{
	uint8_t a[16];
	static const uint8_t zero[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		return v4_private(a);
	if (inet_pton(AF_INET6, addr, a) != 1)
		return true; /* not an address: not trusted */
	if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
		return true; /* :: and ::1 */
	if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
	    a[0] == 0xff)
		return true; /* unique-local, link-local, multicast */
	if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff)
		return v4_private(a + 12); /* IPv4-mapped */
	return false;
}

bool
webpush_host_private(const char *host)
{
	uint8_t a[16];
	size_t n = strlen(host);

	if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1)
		return webpush_addr_private(host);
	if (strcmp(host, "localhost") == 0 ||
	    (n > 10 && strcmp(host + n - 10, ".localhost") == 0))
		return true;
	/* A name of digits and dots that inet_pton refused ("127.1",
	 * "2130706433") may still be read as an address by a resolver. */
	if (strspn(host, "0123456789.") == n ||
	    (n > 2 && host[0] == '0' && (host[1] == 'x' || host[1] == 'X')))
		return true;
	return false;
}

/* ------------------------------------------------------------ VAPID */

static int
es256_sign(const uint8_t priv[WEBPUSH_PRIV_LEN], const uint8_t *msg, size_t n,
           uint8_t sig[64])
{
	uint8_t pub[WEBPUSH_PUB_LEN], der[80];
	const unsigned char *dp = der;
	size_t dlen = sizeof(der);
	EVP_PKEY *k;
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *s = NULL;
	int rc = -1;

	if (webpush_public_of(priv, pub) != 0 || (k = pkey_of(priv, pub)) == NULL)
		return -1;
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, der, &dlen, msg, n) != 1)
		goto out;
	/* JWS wants r || s, 32 bytes each, not DER. */
	s = d2i_ECDSA_SIG(NULL, &dp, (long)dlen);
	if (s == NULL || BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32) != 32)
		goto out;
	rc = 0;
out:
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return rc;
}

int
webpush_vapid_header(const uint8_t priv[WEBPUSH_PRIV_LEN], const char *origin,
                     int64_t exp_s, const char *sub, char *out, size_t cap)
{
	static const char hdr[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\"}";
	char claims[1400], jwt[2400], k[90];
	uint8_t sig[64], pub[WEBPUSH_PUB_LEN];
	size_t n;
	int cl;

	/* origin and sub are checked ASCII without quotes or backslashes:
	 * the JSON needs no escaping. */
	if (strpbrk(origin, "\"\\") != NULL || strpbrk(sub, "\"\\") != NULL)
		return -1;
	if (sub[0] != '\0')
		cl = snprintf(claims, sizeof(claims),
		              "{\"aud\":\"%s\",\"exp\":%lld,\"sub\":\"%s\"}", origin,
		              (long long)exp_s, sub);
	else
		cl = snprintf(claims, sizeof(claims), "{\"aud\":\"%s\",\"exp\":%lld}",
		              origin, (long long)exp_s);
	if (cl < 0 || (size_t)cl >= sizeof(claims))
		return -1;
	n = webpush_b64url_encode((const uint8_t *)hdr, sizeof(hdr) - 1, jwt);
	jwt[n++] = '.';
	n += webpush_b64url_encode((const uint8_t *)claims, (size_t)cl, jwt + n);
	if (es256_sign(priv, (const uint8_t *)jwt, n, sig) != 0 ||
	    webpush_public_of(priv, pub) != 0)
		return -1;
	jwt[n++] = '.';
	webpush_b64url_encode(sig, 64, jwt + n);
	webpush_b64url_encode(pub, WEBPUSH_PUB_LEN, k);
	cl = snprintf(out, cap, "vapid t=%s, k=%s", jwt, k);
	return cl < 0 || (size_t)cl >= cap ? -1 : 0;
}

int
webpush_jwt_verify(const char *jwt, const uint8_t pub[WEBPUSH_PUB_LEN],
                   char *claims, size_t cap)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	uint8_t sig[64], der[80], *dp = der;
	EVP_PKEY *k = NULL;
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *s = NULL;
	BIGNUM *r = NULL, *sv = NULL;
	long n;
	int dlen, rc = -1;

	if (d2 == NULL || strchr(d2 + 1, '.') != NULL)
		return -1;
	if (webpush_b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof(sig)) != 64)
		return -1;
	n = webpush_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), (uint8_t *)claims,
	                          cap - 1);
	if (n < 0)
		return -1;
	claims[n] = '\0';
	s = ECDSA_SIG_new();
	r = BN_bin2bn(sig, 32, NULL);
	sv = BN_bin2bn(sig + 32, 32, NULL);
	if (s == NULL || r == NULL || sv == NULL || ECDSA_SIG_set0(s, r, sv) != 1)
		goto out;
	r = sv = NULL; /* owned by s */
	dlen = i2d_ECDSA_SIG(s, &dp);
	k = pkey_of(NULL, pub);
	md = EVP_MD_CTX_new();
	if (dlen <= 0 || k == NULL || md == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestVerify(md, der, (size_t)dlen, (const uint8_t *)jwt,
	                     (size_t)(d2 - jwt)) != 1)
		goto out;
	rc = 0;
out:
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return rc;
}
