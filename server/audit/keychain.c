/*
 * The chain of signing keys (canon.h): the one piece of logic that the
 * server's audit_verify_db and the offline export verifier share to
 * decide which key may sign which checkpoint.
 */
#include "audit/canon.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/mem.h"
#include "util/text.h"

static void
put64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 7; i >= 0; i--, u >>= 8)
		p[i] = (uint8_t)u;
}

void
audit_rot_message(uint8_t out[AUDIT_ROT_MSG_LEN], int64_t record_id,
                  const uint8_t hash[32], int64_t signed_ms,
                  const uint8_t key_id[32], const uint8_t next_pub[32])
{
	/* 22 characters and a zero byte: a statement no checkpoint message
	 * ("renkei-audit-v1\0...") can be mistaken for. */
	memcpy(out, "renkei-audit-rotate-v1", 23);
	put64(out + 23, record_id);
	memcpy(out + 31, hash, 32);
	put64(out + 63, signed_ms);
	memcpy(out + 71, key_id, 32);
	memcpy(out + 103, next_pub, 32);
}

EVP_PKEY *
audit_pubkey_raw(const uint8_t raw[32], uint8_t key_id[32])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);

	if (k != NULL)
		rk_sha256(raw, 32, key_id);
	return k;
}

void
audit_keychain_init(struct audit_keychain *kc, EVP_PKEY *root,
                    const uint8_t root_id[32])
{
	memset(kc, 0, sizeof(*kc));
	kc->key = root;
	memcpy(kc->key_id, root_id, 32);
}

void
audit_keychain_fini(struct audit_keychain *kc)
{
	EVP_PKEY_free(kc->key);
	free(kc->retired);
	memset(kc, 0, sizeof(*kc));
}

const char *
audit_keychain_key_fault(const struct audit_keychain *kc,
                         const uint8_t key_id[32])
{
	if (memcmp(key_id, kc->key_id, 32) == 0)
		return NULL;
	for (size_t i = 0; i < kc->nretired; i++)
		if (memcmp(key_id, kc->retired[i], 32) == 0)
			return "was signed by a key that a rotation had already "
			       "replaced";
	return "was signed by a key that no rotation introduced";
}

const char *
audit_keychain_check(struct audit_keychain *kc, const uint8_t key_id[32],
                     const uint8_t *msg, size_t msglen, const uint8_t *sig,
                     size_t siglen)
{
	const char *why = audit_keychain_key_fault(kc, key_id);

	if (why != NULL)
		return why;
	if (!audit_sig_ok(kc->key, msg, msglen, sig, siglen))
		return "has a signature that does not verify";
	return NULL;
}

const char *
audit_keychain_rotate(struct audit_keychain *kc, int64_t record_id,
                      const uint8_t hash[32], int64_t signed_ms,
                      const uint8_t next_pub[32], const uint8_t *sig,
                      size_t siglen)
{
	uint8_t msg[AUDIT_ROT_MSG_LEN], next_id[32];
	EVP_PKEY *next;

	audit_rot_message(msg, record_id, hash, signed_ms, kc->key_id, next_pub);
	if (!audit_sig_ok(kc->key, msg, sizeof(msg), sig, siglen))
		return "names a next key but its rotation statement does not "
		       "verify";
	next = audit_pubkey_raw(next_pub, next_id);
	if (next == NULL)
		return "names a next key that is not an Ed25519 public key";
	if (memcmp(next_id, kc->key_id, 32) == 0) {
		EVP_PKEY_free(next);
		return "rotates to the key it was signed by";
	}
	kc->retired = rk_realloc(kc->retired, (kc->nretired + 1) * 32);
	memcpy(kc->retired[kc->nretired++], kc->key_id, 32);
	EVP_PKEY_free(kc->key);
	kc->key = next;
	memcpy(kc->key_id, next_id, 32);
	return NULL;
}
