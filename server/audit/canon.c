/*
 * The canonical encoding of an audit record, its hash, and what a
 * checkpoint signs.
 *
 * A record is encoded as
 *
 *   0x01                                  encoding version
 *   id, ts_ms, actor_user_id              each 8 bytes, big-endian,
 *                                         two's complement
 *   actor_login                           text field (below)
 *   actor_profession                      8 bytes
 *   actor_org                             text field
 *   session_id                            8 bytes
 *   address, device, action, patient,
 *   object                                text fields
 *   outcome                               8 bytes
 *   error_code, reason                    text fields
 *
 * A record that carries the SHA-256 of what it created or changed
 * (content_sha256, lower-case hex; see server/care/digest.c) is encoded
 * with version byte 0x02 instead, and that text field appended last.
 * Records without it keep version 0x01 and exactly the encoding above,
 * so that every record written before content digests existed still
 * verifies; the version byte keeps the two forms apart.
 *
 * where a text field is 0x00 when absent, or 0x01, its length in bytes
 * (4 bytes big-endian) and its UTF-8 bytes. Fixed widths and length
 * prefixes make the encoding injective: two different records (NULL and
 * '' included) never encode alike, so no field's bytes can be moved into
 * its neighbour without changing the hash. The record's hash is
 *
 *   hash = SHA-256(prev_hash || encoding)
 *
 * with prev_hash the previous record's hash (32 zero bytes before record
 * 1). The id is inside the encoding, so a record cannot be moved to
 * another place in the chain either.
 *
 * This file depends on OpenSSL and util/ only: it is part of the library
 * renkei_auditfmt, which the CLI links too (see canon.h).
 */
#include "audit/canon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

#include "util/err.h"
#include "util/mem.h"
#include "util/text.h"

const char *const audit_field_names[AF__COUNT] = {
	[AF_LOGIN] = "actor_login",     [AF_ORG] = "actor_org",
	[AF_ADDRESS] = "address",       [AF_DEVICE] = "device",
	[AF_ACTION] = "action",         [AF_PATIENT] = "patient",
	[AF_OBJECT] = "object",         [AF_ERROR_CODE] = "error_code",
	[AF_REASON] = "reason",         [AF_CONTENT] = "content_sha256",
};

static uint8_t *
put64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)(u & 0xff);
		u >>= 8;
	}
	return p + 8;
}

static uint8_t *
putstr(uint8_t *p, const struct audit_str *s)
{
	if (s->p == NULL) {
		*p++ = 0;
		return p;
	}
	*p++ = 1;
	p[0] = (uint8_t)(s->n >> 24);
	p[1] = (uint8_t)(s->n >> 16);
	p[2] = (uint8_t)(s->n >> 8);
	p[3] = (uint8_t)s->n;
	memcpy(p + 4, s->p, s->n);
	return p + 4 + s->n;
}

int
audit_hasher_init(struct audit_hasher *h)
{
	memset(h, 0, sizeof(*h));
	/* Fetch the implementation once: EVP_sha256() would look it up again
	 * at every EVP_DigestInit_ex. */
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->ctx = EVP_MD_CTX_new();
	if (h->md == NULL || h->ctx == NULL) {
		audit_hasher_fini(h);
		return RK_ERR_CRYPTO;
	}
	h->cap = 1024;
	h->buf = rk_malloc(h->cap);
	return RK_OK;
}

void
audit_hasher_fini(struct audit_hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h->buf);
	memset(h, 0, sizeof(*h));
}

int
audit_hash_record(struct audit_hasher *h, const uint8_t prev[32],
                  const struct audit_canon *r, uint8_t out[32])
{
	/* prev, version, 6 integers, 9 tags and lengths, the text */
	size_t need = 32 + 1 + 6 * 8 + AF__COUNT * 5;
	unsigned int outlen = 32;
	uint8_t *p;

	for (int i = 0; i < AF__COUNT; i++) {
		/* A length must fit its 4-byte prefix; records are bounded far
		 * below this at append, so only a damaged row gets here. */
		if (r->s[i].p != NULL && r->s[i].n > 0xffffffffu)
			return RK_ERR_INVALID;
		if (r->s[i].p != NULL)
			need += r->s[i].n;
	}
	if (need > h->cap) {
		while (h->cap < need)
			h->cap *= 2;
		h->buf = rk_realloc(h->buf, h->cap);
	}
	p = h->buf;
	memcpy(p, prev, 32);
	p += 32;
	*p++ = r->s[AF_CONTENT].p != NULL ? 2 : 1;
	p = put64(p, r->id);
	p = put64(p, r->ts_ms);
	p = put64(p, r->user_id);
	p = putstr(p, &r->s[AF_LOGIN]);
	p = put64(p, r->profession);
	p = putstr(p, &r->s[AF_ORG]);
	p = put64(p, r->session_id);
	p = putstr(p, &r->s[AF_ADDRESS]);
	p = putstr(p, &r->s[AF_DEVICE]);
	p = putstr(p, &r->s[AF_ACTION]);
	p = putstr(p, &r->s[AF_PATIENT]);
	p = putstr(p, &r->s[AF_OBJECT]);
	p = put64(p, r->outcome);
	p = putstr(p, &r->s[AF_ERROR_CODE]);
	p = putstr(p, &r->s[AF_REASON]);
	if (r->s[AF_CONTENT].p != NULL)
		p = putstr(p, &r->s[AF_CONTENT]);

	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, h->buf, (size_t)(p - h->buf)) != 1 ||
	    EVP_DigestFinal_ex(h->ctx, out, &outlen) != 1 || outlen != 32)
		return RK_ERR_CRYPTO;
	return RK_OK;
}

void
audit_cp_message(uint8_t out[AUDIT_CP_MSG_LEN], int64_t record_id,
                 const uint8_t hash[32], int64_t signed_ms)
{
	/* 15 characters and a zero byte: the domain separates these
	 * signatures from anything else the key might ever sign. */
	memcpy(out, "renkei-audit-v1", 16);
	put64(out + 16, record_id);
	memcpy(out + 24, hash, 32);
	put64(out + 56, signed_ms);
}

EVP_PKEY *
audit_pubkey_load(const char *path, uint8_t key_id[32], char *err,
                  size_t errlen)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *pkey = NULL;
	uint8_t raw[32];
	size_t rawlen = sizeof(raw);

	if (bio == NULL) {
		snprintf(err, errlen, "cannot read public key %s", path);
		return NULL;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1 ||
	    rawlen != 32) {
		snprintf(err, errlen, "%s is not an Ed25519 public key (PEM)", path);
		EVP_PKEY_free(pkey);
		return NULL;
	}
	rk_sha256(raw, rawlen, key_id);
	return pkey;
}

bool
audit_sig_ok(EVP_PKEY *pkey, const uint8_t *msg, size_t msglen,
             const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	bool ok;

	if (siglen != 64)
		return false;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return false;
	/* Ed25519 is one-shot: no digest, DigestVerify over the message. */
	ok = EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, pkey, NULL) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, msg, msglen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

void
audit_format_time(int64_t ms, int64_t offset_ms, bool iso, char *out,
                  size_t outlen)
{
	int64_t t = ms + offset_ms;
	int64_t secs = t / 1000, msec = t % 1000;
	time_t tt;
	struct tm tm;

	if (msec < 0) { /* floor, for times before 1970 */
		msec += 1000;
		secs--;
	}
	tt = (time_t)secs;
	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, outlen, "?");
		return;
	}
	snprintf(out, outlen, "%04d-%02d-%02d%c%02d:%02d:%02d.%03d%s",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, iso ? 'T' : ' ',
	         tm.tm_hour, tm.tm_min, tm.tm_sec, (int)msec, iso ? "Z" : "");
}
