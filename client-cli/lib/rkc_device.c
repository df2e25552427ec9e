/*
 * Device keys (rkc.h): an Ed25519 key pair per device, kept in a PEM file
 * (PKCS#8) that only its owner may read, whose public half goes with a
 * login and whose private half signs each resume. OpenSSL does the crypto.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "rkc.h"
#include "rkc_util.h"

#define RESUME_LABEL "renkei-resume-v1"
#define LOGIN_LABEL "renkei-login-v1\0" /* 16 bytes, as the resume's */
#define KEY_FILE_MAX 4096

struct rkc_device {
	EVP_PKEY *pk;
};

struct rkc_device *
rkc_device_generate(char *err, size_t errlen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *pk = NULL;
	struct rkc_device *d;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_keygen(ctx, &pk) != 1) {
		EVP_PKEY_CTX_free(ctx);
		rkc_seterr(err, errlen, "cannot make a device key");
		return NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	d = rkc_xcalloc(1, sizeof(*d));
	d->pk = pk;
	return d;
}

struct rkc_device *
rkc_device_load(const char *path, char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX];
	struct rkc_device *d;
	struct stat st;
	EVP_PKEY *pk;
	ssize_t n;
	BIO *b;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		rkc_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rkc_seterr(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	/* A private key others can read (or change) is no longer this
	 * device's alone: refuse it rather than sign with it. */
	if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
		rkc_seterr(
		    err, errlen,
		    "%s: the device key is readable or writable by others "
		    "(mode %03o); it must be mode 0600 and yours",
		    path, (unsigned)(st.st_mode & 0777));
		close(fd);
		return NULL;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || (size_t)n >= sizeof(buf)) {
		rkc_seterr(err, errlen, "%s: not a device key", path);
		OPENSSL_cleanse(buf, sizeof(buf));
		return NULL;
	}
	b = BIO_new_mem_buf(buf, (int)n);
	pk = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (pk == NULL || EVP_PKEY_get_id(pk) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pk);
		rkc_seterr(err, errlen, "%s: not an Ed25519 device key", path);
		return NULL;
	}
	d = rkc_xcalloc(1, sizeof(*d));
	d->pk = pk;
	return d;
}

int
rkc_device_save(const struct rkc_device *d, const char *path, char *err,
                size_t errlen)
{
	char tmp[4200];
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long len;
	int fd, rc = -1;

	if (b == NULL || PEM_write_bio_PrivateKey(b, d->pk, NULL, NULL, 0, NULL,
	                                          NULL) != 1) {
		BIO_free(b);
		rkc_seterr(err, errlen, "cannot encode the device key");
		return -1;
	}
	len = BIO_get_mem_data(b, &pem);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	(void)unlink(tmp);
	/* Mode 0600 from its creation: never a moment it is readable. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	          0600);
	if (fd < 0) {
		rkc_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write(fd, pem, (size_t)len) != (ssize_t)len || fsync(fd) != 0) {
		rkc_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		(void)unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		rkc_seterr(err, errlen, "%s: %s", path, strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(pem, (size_t)len);
	BIO_free(b);
	return rc;
}

void
rkc_device_free(struct rkc_device *d)
{
	if (d == NULL)
		return;
	EVP_PKEY_free(d->pk);
	free(d);
}

void
rkc_device_public_key(const struct rkc_device *d,
                      uint8_t out[RKC_DEVICE_KEY_LEN])
{
	size_t n = RKC_DEVICE_KEY_LEN;

	if (EVP_PKEY_get_raw_public_key(d->pk, out, &n) != 1 ||
	    n != RKC_DEVICE_KEY_LEN)
		abort(); /* an Ed25519 key always has one */
}

/* label (16 bytes) || nonce || SHA-256(text), signed. */
static int
sign_labelled(const struct rkc_device *d, const char *label,
              const uint8_t *nonce, size_t nonce_len, const char *text,
              uint8_t sig[RKC_SIGNATURE_LEN])
{
	uint8_t msg[16 + 32 + 32];
	size_t siglen = RKC_SIGNATURE_LEN;
	EVP_MD_CTX *md;
	unsigned int hl = 0;
	int ok;

	if (nonce_len != 32)
		return -1;
	memcpy(msg, label, 16);
	memcpy(msg + 16, nonce, 32);
	if (EVP_Digest(text, strlen(text), msg + 16 + 32, &hl, EVP_sha256(),
	               NULL) != 1 ||
	    hl != 32)
		return -1;
	md = EVP_MD_CTX_new();
	ok = md != NULL &&
	     EVP_DigestSignInit(md, NULL, NULL, NULL, d->pk) == 1 &&
	     EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) == 1 &&
	     siglen == RKC_SIGNATURE_LEN;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

int
rkc_device_sign_resume(const struct rkc_device *d, const uint8_t *nonce,
                       size_t nonce_len, const char *token,
                       uint8_t sig[RKC_SIGNATURE_LEN])
{
	_Static_assert(sizeof(RESUME_LABEL) - 1 == 16, "the resume label");
	return sign_labelled(d, RESUME_LABEL, nonce, nonce_len, token, sig);
}

int
rkc_device_sign_login(const struct rkc_device *d, const uint8_t *nonce,
                      size_t nonce_len, const char *login,
                      uint8_t sig[RKC_SIGNATURE_LEN])
{
	return sign_labelled(d, LOGIN_LABEL, nonce, nonce_len, login, sig);
}

int
rkc_resume_challenge(struct rkc *c, int timeout_ms, uint8_t nonce[32],
                     Renkei__V1__Envelope **resp)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__ResumeChallengeRequest cr =
	    RENKEI__V1__RESUME_CHALLENGE_REQUEST__INIT;
	Renkei__V1__Envelope *r = NULL;

	*resp = NULL;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_RESUME_CHALLENGE_REQUEST;
	env.resume_challenge_request = &cr;
	if (rkc_call(c, &env, timeout_ms, &r) != 0)
		return -1;
	if (r->body_case ==
	        RENKEI__V1__ENVELOPE__BODY_RESUME_CHALLENGE_RESPONSE &&
	    r->resume_challenge_response->nonce.len == 32) {
		memcpy(nonce, r->resume_challenge_response->nonce.data, 32);
		renkei__v1__envelope__free_unpacked(r, NULL);
		return 0;
	}
	*resp = r; /* an Error, or something unexpected: the caller's */
	return 1;
}

int
rkc_resume(struct rkc *c, const struct rkc_device *d, const char *token,
           const char *device, int timeout_ms, Renkei__V1__Envelope **resp)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__ResumeRequest rr = RENKEI__V1__RESUME_REQUEST__INIT;
	uint8_t nonce[32], sig[RKC_SIGNATURE_LEN];
	int rc;

	*resp = NULL;
	if (d != NULL) {
		rc = rkc_resume_challenge(c, timeout_ms, nonce, resp);
		if (rc != 0)
			return rc < 0 ? -1
			              : 0; /* the challenge's answer is *resp */
		if (rkc_device_sign_resume(d, nonce, sizeof(nonce), token,
		                           sig) != 0)
			return -1;
		rr.signature.data = sig;
		rr.signature.len = sizeof(sig);
	}
	rr.token = (char *)token;
	rr.device = (char *)(device != NULL ? device : "");
	env.body_case = RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST;
	env.resume_request = &rr;
	return rkc_call(c, &env, timeout_ms, resp);
}
