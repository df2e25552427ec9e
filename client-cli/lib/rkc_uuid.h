/*
 * rkc_uuid — random (version 4) UUIDs in their text form,
 * "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" (lower case, y in 8..b): the
 * idempotency keys (client_id) the CLI sends with every write, so that a
 * retried post is stored once.
 *
 * Internal to client-cli (the CLI and the unit tests).
 */
#ifndef RKC_UUID_H
#define RKC_UUID_H

#include <stdint.h>

#define RKC_UUID_LEN 36 /* characters, without the terminating NUL */

/* Set the version (4) and variant (RFC 4122) bits of the 16 random bytes
 * b and write their text form into out. Pure. */
void rkc_uuid_v4_format(uint8_t b[16], char out[RKC_UUID_LEN + 1]);

/* A fresh UUIDv4 from OpenSSL's CSPRNG (RAND_bytes) into out. Returns 0,
 * or -1 if the generator failed (out is then ""). */
int rkc_uuid_v4(char out[RKC_UUID_LEN + 1]);

/* 1 if s is a valid client_id for the server (1..64 printable ASCII
 * characters, no spaces: renkei.proto), else 0. Pure. */
int rkc_client_id_valid(const char *s);

#endif
