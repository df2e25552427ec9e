/*
 * webpush — the cryptography and the pure checks of Web Push, without
 * any I/O: what the notify thread uses to send, what api uses to check a
 * subscription before it is stored, and what the tests use to receive.
 *
 *   RFC 8291  message encryption: the "aes128gcm" content coding (RFC
 *             8188) with a key agreed by ECDH P-256 between a fresh
 *             key pair of ours and the browser's subscription key
 *             (p256dh), mixed with its 16-byte auth secret (HKDF-SHA-256),
 *             one record, AES-128-GCM.
 *   RFC 8292  VAPID: an ES256 JWT {aud: origin of the endpoint, exp, sub}
 *             signed with the server's P-256 key, sent as
 *             `Authorization: vapid t=JWT, k=PUBLIC` (base64url, the
 *             uncompressed point).
 *
 * Keys: a P-256 private key is its 32-byte scalar, a public key the
 * 65-byte uncompressed point (0x04 || X || Y), as both RFCs write them.
 * Every buffer that held a private scalar or a derived secret is wiped
 * with OPENSSL_cleanse. OpenSSL 3 EVP (and EC_POINT for the point
 * arithmetic); no globals; any thread.
 */
#ifndef RK_NOTIFY_WEBPUSH_H
#define RK_NOTIFY_WEBPUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBPUSH_PUB_LEN 65   /* uncompressed P-256 point */
#define WEBPUSH_PRIV_LEN 32  /* P-256 scalar */
#define WEBPUSH_AUTH_LEN 16  /* the subscription's auth secret */
#define WEBPUSH_SALT_LEN 16
/* The aes128gcm header with our key as keyid: salt, rs, idlen, key. */
#define WEBPUSH_HEADER_LEN (WEBPUSH_SALT_LEN + 4 + 1 + WEBPUSH_PUB_LEN)
/* The record size we announce (RFC 8291: a single record of at most
 * 4096 bytes); a payload must fit in it with the delimiter and tag. */
#define WEBPUSH_RS 4096
#define WEBPUSH_PLAIN_MAX (WEBPUSH_RS - 16 - 1)
#define WEBPUSH_ENDPOINT_MAX 1024

/* base64url without padding (RFC 4648 §5). encode: out needs
 * 4*ceil(n/3)+1 bytes; returns the length written (NUL-terminated).
 * decode: -1 if `in` is not base64url (padding '=' accepted at the end)
 * or does not fit in cap; else the byte count. */
size_t webpush_b64url_encode(const uint8_t *in, size_t n, char *out);
long webpush_b64url_decode(const char *in, size_t len, uint8_t *out,
                           size_t cap);

/* True if pub[0..len) is an uncompressed point on P-256 (not infinity). */
bool webpush_point_ok(const uint8_t *pub, size_t len);

/* The public key of a private scalar; -1 if priv is 0 or not below the
 * group order. */
int webpush_public_of(const uint8_t priv[WEBPUSH_PRIV_LEN],
                      uint8_t pub[WEBPUSH_PUB_LEN]);

/* A fresh private scalar (valid for webpush_public_of). */
void webpush_new_private(uint8_t priv[WEBPUSH_PRIV_LEN]);

/* Encrypt plain[0..n) for the subscription (ua_pub, auth) into out:
 * WEBPUSH_HEADER_LEN + n + 1 + 16 bytes (the caller's buffer; returns
 * the length, or -1 on a bad key or n > WEBPUSH_PLAIN_MAX). as_priv and
 * salt: NULL for fresh ones (always, but for the RFC's worked example). */
long webpush_encrypt(const uint8_t ua_pub[WEBPUSH_PUB_LEN],
                     const uint8_t auth[WEBPUSH_AUTH_LEN],
                     const uint8_t *plain, size_t n,
                     const uint8_t *as_priv, const uint8_t *salt,
                     uint8_t *out, size_t cap);

/* The receiving side (tests, and a check of the sender): decrypt an
 * aes128gcm body with the subscription's private key and auth secret.
 * Returns the plaintext length in out (padding and delimiter removed),
 * or -1 (malformed, or the tag does not verify). */
long webpush_decrypt(const uint8_t ua_priv[WEBPUSH_PRIV_LEN],
                     const uint8_t auth[WEBPUSH_AUTH_LEN],
                     const uint8_t *body, size_t len, uint8_t *out,
                     size_t cap);

/* The origin of an https:// URL ("https://host[:port]") into out[cap],
 * and its host (no brackets, no port) into host[hostcap]. 0, or -1 with
 * a static reason in *why: not https, no host, bad characters, bad
 * port, too long. */
int webpush_url_origin(const char *url, char *out, size_t cap, char *host,
                       size_t hostcap, const char **why);

/* True if the host (name or literal address) is or may be private:
 * "localhost" / "*.localhost", loopback, RFC 1918, link-local, CGNAT,
 * unique-local, unspecified, multicast, IPv4-mapped of those. A host
 * name other than localhost is not resolved here (the sender checks the
 * address it actually connects to: webpush_addr_private). */
bool webpush_host_private(const char *host);
/* The same for a numeric address (dotted quad or IPv6). */
bool webpush_addr_private(const char *addr);

/* The VAPID Authorization header value for `origin` (the endpoint's
 * origin), expiring at exp_s (Unix seconds, at most 24 h ahead), with
 * `sub` ("mailto:..." or "https://...", or "" for none), signed with
 * priv: "vapid t=JWT, k=KEY" into out[cap]. 0 or -1. */
int webpush_vapid_header(const uint8_t priv[WEBPUSH_PRIV_LEN],
                         const char *origin, int64_t exp_s, const char *sub,
                         char *out, size_t cap);

/* Verify an ES256 JWT with the public key (the test receiver): 0 and
 * the claims JSON (NUL-terminated) in claims[cap], or -1. */
int webpush_jwt_verify(const char *jwt, const uint8_t pub[WEBPUSH_PUB_LEN],
                       char *claims, size_t cap);

#endif
