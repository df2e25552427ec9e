/*
 * text — small byte and text helpers: time, UTF-8, hex, random bytes,
 * SHA-256. Pure functions, safe from any thread.
 */
#ifndef RK_UTIL_TEXT_H
#define RK_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wall clock, milliseconds since the Unix epoch (UTC). */
int64_t rk_now_ms(void);
/* Monotonic clock in milliseconds, for timeouts. */
int64_t rk_mono_ms(void);
/* Monotonic clock in microseconds, for measuring. */
int64_t rk_mono_us(void);

/* True if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, no
 * code points above U+10FFFF) and holds no NUL, no C0 control other than
 * tab, LF and CR, and no DEL (0x7f). */
bool rk_utf8_valid(const char *s, size_t n);

/* Number of code points in valid UTF-8 that are not white space (space,
 * tab, CR, LF, no-break space, ideographic space U+3000): how a written
 * reason is measured, so that ten spaces are not a reason. */
size_t rk_text_visible_len(const char *s, size_t n);

/* Number of code points in valid UTF-8. */
size_t rk_utf8_len(const char *s, size_t n);

/* Lowercase hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void rk_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode exactly 2n hex digits of `hex` into out[n]; -1 if malformed. */
int rk_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t n);

/* Fill buf with n bytes from the CSPRNG; aborts if it fails (no
 * security-relevant caller can go on without randomness). */
void rk_random(void *buf, size_t n);

/* SHA-256 of n bytes into out[32]. */
void rk_sha256(const void *in, size_t n, uint8_t out[32]);

/* Constant-time comparison of n bytes. */
bool rk_equal_ct(const void *a, const void *b, size_t n);

#endif
